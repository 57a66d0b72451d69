//! A throwaway PostgreSQL database per test: created through the admin URL
//! in `SWITCHBOARD_TEST_POSTGRES` (default [`ADMIN`]), dropped when the
//! handle is. Set the variable to `skip` to skip the tests that need one.

use sqlx::Connection;
use sqlx::postgres::PgConnection;

/// The admin URL when `SWITCHBOARD_TEST_POSTGRES` is not set: the local
/// server, trust auth, the `test` database to connect through.
pub(crate) const ADMIN: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A fresh database, dropped (with any connections still open to it) when
/// this is dropped.
pub(crate) struct PgDb {
    /// The database's URL, for `Store::open`.
    pub(crate) url: String,
    /// Its name.
    pub(crate) name: String,
    /// The admin URL it was created through.
    pub(crate) admin: String,
}

impl PgDb {
    /// Create a database with a name of its own; `None` (after saying so)
    /// when `SWITCHBOARD_TEST_POSTGRES=skip`. Panics, saying what to do,
    /// when the server cannot be reached or refuses.
    pub(crate) async fn create() -> Option<PgDb> {
        let admin = std::env::var("SWITCHBOARD_TEST_POSTGRES").unwrap_or_else(|_| ADMIN.into());
        if admin == "skip" {
            eprintln!("skipped: SWITCHBOARD_TEST_POSTGRES=skip");
            return None;
        }
        let shown = switchboard::store::redacted(&admin);
        let hint = "Start PostgreSQL there, point SWITCHBOARD_TEST_POSTGRES at another server's admin URL (postgres://USER@HOST:PORT/DATABASE, a user who may CREATE DATABASE), or set SWITCHBOARD_TEST_POSTGRES=skip to skip the PostgreSQL tests";
        let mut conn = PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {shown}: {e}. {hint}"));
        let name = format!(
            "switchboard_test_{}_{:016x}",
            std::process::id(),
            fastrand::u64(..)
        );
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("cannot create database {name} at {shown}: {e}. {hint}"));
        let _ = conn.close().await;
        let mut url = reqwest::Url::parse(&admin)
            .unwrap_or_else(|e| panic!("SWITCHBOARD_TEST_POSTGRES={shown} is not a URL: {e}"));
        url.set_path(&format!("/{name}"));
        Some(PgDb {
            url: url.into(),
            name,
            admin,
        })
    }
}

impl Drop for PgDb {
    /// Drop the database on a thread with its own runtime: a test's runtime
    /// may be shutting down, or be the current-thread one this would block.
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&admin)
                    .await
                    .map_err(|e| e.to_string())?;
                let dropped =
                    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                let _ = conn.close().await;
                dropped.map(|_| ()).map_err(|e| e.to_string())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!(
                "could not drop the test database {}: {e} (drop it by hand: DROP DATABASE \"{}\")",
                self.name, self.name
            ),
            Err(_) => eprintln!("dropping the test database {} panicked", self.name),
        }
    }
}
