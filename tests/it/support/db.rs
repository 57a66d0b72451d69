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

    /// The one text column `sqlite` (on SQLite) or `postgres` selects, row by row.
    pub(crate) async fn texts(&self, sqlite: &str, postgres: &str) -> Vec<String> {
        let rows: Vec<(String,)> = match self {
            TestDb::Sqlite(..) => {
                let pool = sqlx::SqlitePool::connect(&self.url()).await.unwrap();
                let rows = sqlx::query_as(sqlite).fetch_all(&pool).await.unwrap();
                pool.close().await;
                rows
            }
            TestDb::Postgres(pg) => {
                let pool = sqlx::PgPool::connect(&pg.url).await.unwrap();
                let rows = sqlx::query_as(postgres).fetch_all(&pool).await.unwrap();
                pool.close().await;
                rows
            }
        };
        rows.into_iter().map(|(t,)| t).collect()
    }

    /// Every row the store wrote, without row ids, as JSON values in a
    /// fixed order: the same on both backends for the same commits.
    pub(crate) async fn contents(&self) -> Vec<serde_json::Value> {
        let tables = [
            (
                "json_array(call_sid, flow, version, caller, called, started_at, node, updated_at, ended_at, final_status, outcome, outcome_group, class, kind, grp)",
                "calls ORDER BY call_sid",
            ),
            (
                "json_array(c.call_sid, s.step, s.at, s.node, s.wait, json(s.state), s.response, json(s.events))",
                "steps s JOIN calls c ON c.id = s.call_id ORDER BY c.call_sid, s.step",
            ),
            (
                "json_array(call_sid, grp, url, seconds, at)",
                "voicemails ORDER BY call_sid, at, url",
            ),
            (
                "json_array(call_sid, grp, number, at, done)",
                "callbacks ORDER BY call_sid, at, number",
            ),
            (
                "json_array(call_sid, node, grp, rating, scale, at)",
                "surveys ORDER BY call_sid, at, node, rating",
            ),
            (
                "json_array(c.call_sid, w.seq, w.grp, w.kind, w.tier, w.joined_at, w.result, w.waited, w.next_grp)",
                "queue_waits w JOIN calls c ON c.id = w.call_id ORDER BY c.call_sid, w.seq",
            ),
            (
                "json_array(c.call_sid, t.seq, t.topic, CASE WHEN t.then_agent THEN 1 ELSE 0 END, t.at)",
                "topics_heard t JOIN calls c ON c.id = t.call_id ORDER BY c.call_sid, t.seq",
            ),
        ];
        let mut out = Vec::new();
        for (row, from) in tables {
            let pg_row = row
                .replace("json_array(", "json_build_array(")
                .replace("json(s.state)", "s.state")
                .replace("json(s.events)", "s.events");
            let texts = self
                .texts(
                    &format!("SELECT {row} FROM {from}"),
                    &format!("SELECT ({pg_row})::text FROM {from}"),
                )
                .await;
            out.extend(texts.iter().map(|t| serde_json::from_str(t).unwrap()));
        }
        out
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
