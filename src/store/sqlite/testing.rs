//! What the SQLite store's unit tests share: the demo program, new calls,
//! stores on fresh files, and plain SQL on a connection of the test's own.

use super::SqliteStore;
use super::checkpointer::{Wal, checkpoint};
use crate::engine::{self, Start};
use crate::program::Program;
use crate::store::{Backend, Commit};
use jiff::Timestamp;
use sqlx::{Connection, SqliteConnection};

pub(super) fn demo() -> Program {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("flows");
    let set = crate::flow::load_dir(&dir).expect("the demo flows load");
    crate::compile::compile(&set)
        .program
        .expect("the demo compiles")
}

pub(super) fn start(p: &Program, id: &str) -> engine::Step {
    let start = Start {
        call_id: id.into(),
        caller: "+15550001111".into(),
        called: "+18005550100".into(),
        history: Vec::new(),
        language: None,
    };
    engine::start(p, start, Timestamp::UNIX_EPOCH)
}

/// A store on a fresh database file (WAL needs a file), and its URL. No
/// checkpointer runs in the background: the tests run their own.
pub(super) async fn on_file(dir: &tempfile::TempDir) -> (SqliteStore, String) {
    let url = format!("sqlite://{}", dir.path().join("calls.db").display());
    let store = SqliteStore::start(&url, false)
        .await
        .expect("the store opens");
    (store, url)
}

/// A store on a file of its own holding `n` new calls named `prefix0`,
/// `prefix1`, …; the directory lives as long as it is kept.
pub(super) async fn with_calls(prefix: &str, n: usize) -> (tempfile::TempDir, SqliteStore, String) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (store, url) = on_file(&dir).await;
    new_calls(&store, prefix, n).await;
    (dir, store, url)
}

/// Commit `n` new calls named `prefix0`, `prefix1`, ….
pub(super) async fn new_calls(store: &SqliteStore, prefix: &str, n: usize) {
    let p = demo();
    for i in 0..n {
        store
            .commit(new_call(&p, &format!("{prefix}{i}")))
            .await
            .expect("a new call");
    }
}

/// The commit of a new call `id` on the demo.
pub(super) fn new_call(p: &Program, id: &str) -> Commit {
    Commit::from_step(p, None, &start(p, id), Timestamp::UNIX_EPOCH, None, None)
}

pub(super) async fn scalar(conn: &mut SqliteConnection, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql)
        .fetch_one(&mut *conn)
        .await
        .expect("the query runs");
    n
}

pub(super) async fn migrated() -> SqliteConnection {
    let mut conn = SqliteConnection::connect("sqlite::memory:")
        .await
        .expect("in-memory SQLite");
    sqlx::migrate!("./migrations/sqlite")
        .run(&mut conn)
        .await
        .expect("migrations run");
    conn
}

pub(super) async fn run_sql(conn: &mut SqliteConnection, sql: &str) {
    sqlx::raw_sql(sql)
        .execute(&mut *conn)
        .await
        .expect("the statements run");
}

/// The WAL now, as another connection's checkpoint sees it.
pub(super) async fn wal(url: &str) -> Wal {
    let mut conn = SqliteConnection::connect(url).await.expect("it connects");
    let wal = checkpoint(&mut conn).await.expect("a checkpoint");
    assert!(!wal.busy, "no other checkpoint runs: {wal:?}");
    wal
}

/// Every row the database holds, without row ids, in a fixed order.
pub(super) async fn contents(conn: &mut SqliteConnection) -> Vec<String> {
    let mut out = Vec::new();
    for sql in [
        "SELECT json_array(call_sid, flow, version, caller, called, started_at, node, updated_at, ended_at, final_status, outcome, outcome_group) FROM calls ORDER BY call_sid",
        "SELECT json_array(call_sid, step, at, s.node, wait, state, response, events) FROM steps s LEFT JOIN calls ON calls.id = s.call_id ORDER BY call_sid, step",
        "SELECT json_array(call_sid, grp, url, seconds, at) AS r FROM voicemails ORDER BY r",
        "SELECT json_array(call_sid, grp, number, at) AS r FROM callbacks ORDER BY r",
        "SELECT json_array(call_sid, node, grp, rating, scale, at) AS r FROM surveys ORDER BY r",
    ] {
        let rows: Vec<(String,)> = sqlx::query_as(sql)
            .fetch_all(&mut *conn)
            .await
            .expect("the query runs");
        out.extend(rows.into_iter().map(|(r,)| r));
    }
    out
}
