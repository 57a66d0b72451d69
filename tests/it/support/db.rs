//! The database a server test runs on: a SQLite file or a PostgreSQL
//! database of the test's own, and [`on_both!`](crate::on_both), which runs
//! a test once on each.

use super::pg::PgDb;
use std::path::{Path, PathBuf};

/// Anything a test names a database by.
pub(crate) trait Database {
    /// Its URL.
    fn url(&self) -> String;
}

/// A URL as is.
impl Database for str {
    fn url(&self) -> String {
        self.to_owned()
    }
}

impl Database for Path {
    fn url(&self) -> String {
        format!("sqlite://{}", self.display())
    }
}

impl Database for PathBuf {
    fn url(&self) -> String {
        self.as_path().url()
    }
}

/// A fresh database for one test.
pub(crate) enum TestDb {
    /// A file in a temporary directory.
    Sqlite(
        /* kept for its lifetime */ #[allow(dead_code)] tempfile::TempDir,
        PathBuf,
    ),
    /// A database of its own on the test server.
    Postgres(PgDb),
}

impl Database for TestDb {
    fn url(&self) -> String {
        match self {
            TestDb::Sqlite(_, path) => path.url(),
            TestDb::Postgres(pg) => pg.url.clone(),
        }
    }
}

impl TestDb {
    pub(crate) fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calls.db");
        TestDb::Sqlite(dir, path)
    }

    /// `None` only when PostgreSQL tests are skipped explicitly.
    pub(crate) async fn postgres() -> Option<TestDb> {
        PgDb::create().await.map(TestDb::Postgres)
    }

    /// Another fresh database of the same kind.
    pub(crate) async fn fresh(&self) -> TestDb {
        match self {
            TestDb::Sqlite(..) => TestDb::sqlite(),
            TestDb::Postgres(_) => TestDb::postgres()
                .await
                .expect("PostgreSQL tests are not skipped: this one runs"),
        }
    }

    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self, TestDb::Postgres(_))
    }

    /// Run statements as another client would (an admin, another writer):
    /// `sqlite` on SQLite, `postgres` on PostgreSQL.
    pub(crate) async fn execute(&self, sqlite: &str, postgres: &str) {
        match self {
            TestDb::Sqlite(..) => {
                let pool = sqlx::SqlitePool::connect(&self.url()).await.unwrap();
                sqlx::raw_sql(sqlite).execute(&pool).await.unwrap();
                pool.close().await;
            }
            TestDb::Postgres(pg) => {
                let pool = sqlx::PgPool::connect(&pg.url).await.unwrap();
                sqlx::raw_sql(postgres).execute(&pool).await.unwrap();
                pool.close().await;
            }
        }
    }

    /// One row of two columns, by the same SQL on both (an integer, then
    /// an optional text).
    pub(crate) async fn row(&self, sql: &str) -> (i64, Option<String>) {
        match self {
            TestDb::Sqlite(..) => {
                let pool = sqlx::SqlitePool::connect(&self.url()).await.unwrap();
                let row = sqlx::query_as(sql).fetch_one(&pool).await.unwrap();
                pool.close().await;
                row
            }
            TestDb::Postgres(pg) => {
                let pool = sqlx::PgPool::connect(&pg.url).await.unwrap();
                let row = sqlx::query_as(sql).fetch_one(&pool).await.unwrap();
                pool.close().await;
                row
            }
        }
    }

    /// The one integer `sql` selects, by the same SQL on both.
    pub(crate) async fn count(&self, sql: &str) -> i64 {
        let wrapped = format!("SELECT ({sql}), CAST(NULL AS TEXT)");
        self.row(&wrapped).await.0
    }
}

/// Run each `async fn name(db: TestDb)` twice, as `name::sqlite` and
/// `name::postgres`, each on a fresh database of its own.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::support::db::TestDb::sqlite()).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(db) = $crate::support::db::TestDb::postgres().await {
                        super::$name(db).await
                    }
                }
            }
        )+
    };
}
