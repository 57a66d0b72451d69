//! A PostgreSQL database of a test's own, on the server
//! `SWITCHBOARD_TEST_POSTGRES` names (default: this machine's,
//! `postgres://postgres@127.0.0.1:5432/test`), created fresh and dropped
//! when the test ends, so runs never collide. Set
//! `SWITCHBOARD_TEST_POSTGRES=skip` to skip the PostgreSQL tests (CI never does).

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The server the tests use unless told otherwise.
pub(crate) const DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database made for one test.
pub(crate) struct PgDb {
    /// Its URL.
    pub(crate) url: String,
    /// Its name.
    pub(crate) name: String,
    /// The server's URL, for creating and dropping it.
    pub(crate) admin: String,
}

static MADE: AtomicUsize = AtomicUsize::new(0);

impl PgDb {
    /// A fresh database; `None` only when `SWITCHBOARD_TEST_POSTGRES=skip`.
    pub(crate) async fn create() -> Option<PgDb> {
        let admin = std::env::var("SWITCHBOARD_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT.into());
        if admin == "skip" {
            eprintln!("skipped: SWITCHBOARD_TEST_POSTGRES=skip");
            return None;
        }
        let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|e| {
            panic!(
                "the PostgreSQL tests need a server: {admin} (SWITCHBOARD_TEST_POSTGRES, default {DEFAULT}) is unreachable: {e}. \
                 Start one, point SWITCHBOARD_TEST_POSTGRES at another (postgres://USER@HOST:PORT/DB, a user that may CREATE DATABASE), \
                 or set SWITCHBOARD_TEST_POSTGRES=skip to skip these tests"
            )
        });
        let name = format!(
            "sb_test_{}_{}_{}",
            std::process::id(),
            MADE.fetch_add(1, Ordering::Relaxed),
            fastrand::u32(..)
        );
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("cannot create the test database {name} on {admin}: {e}"));
        let _ = conn.close().await;
        let url = match admin.rsplit_once('/') {
            Some((server, last)) if !server.ends_with('/') => {
                let query = last
                    .split_once('?')
                    .map(|(_, q)| format!("?{q}"))
                    .unwrap_or_default();
                format!("{server}/{name}{query}")
            }
            _ => format!("{}/{name}", admin.trim_end_matches('/')),
        };
        Some(PgDb { url, name, admin })
    }
}

impl PgDb {
    /// The server's address (to put a proxy in front of it).
    pub(crate) fn server(&self) -> std::net::SocketAddr {
        use std::net::ToSocketAddrs;
        let options: sqlx::postgres::PgConnectOptions = self.url.parse().unwrap();
        (options.get_host(), options.get_port())
            .to_socket_addrs()
            .unwrap()
            .next()
            .unwrap()
    }

    /// This database's URL with the server at `addr` instead.
    pub(crate) fn via(&self, addr: std::net::SocketAddr) -> String {
        let (scheme, rest) = self.url.split_once("://").unwrap();
        let end = rest.find('/').unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let user = authority.rsplit_once('@').map(|(u, _)| format!("{u}@"));
        format!("{scheme}://{}{addr}{tail}", user.unwrap_or_default())
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // On a thread of its own: a test's runtime may be shutting down.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&admin).await.ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok()
            })
        });
        let _ = dropped.join();
    }
}
