//! The SQLite store: WAL, one writer with group commit, a small pool of readers.
//!
//! Every write goes to a single writer task that owns the only writing
//! connection. It takes the first waiting commit, drains whatever else is
//! already queued (up to [`BATCH`]), and writes them all in one transaction —
//! many callbacks per fsync — then answers each caller only after that
//! transaction has committed. If a batch fails, its commits are retried one
//! by one, so one bad write cannot fail its neighbours. Reads use a separate
//! pool, which WAL lets run beside the writer.

use super::{Commit, StoreError};
use crate::engine::{CallState, PastCall};
use jiff::Timestamp;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, SqliteConnection};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinHandle;

/// Most commits written in one transaction.
pub const BATCH: usize = 512;

enum Job {
    Write(Box<Commit>, oneshot::Sender<Result<(), StoreError>>),
    Close(oneshot::Sender<()>),
}

/// A cheap-clone handle to the SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    jobs: mpsc::Sender<Job>,
    readers: SqlitePool,
    writer: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

impl SqliteStore {
    /// Open `sqlite://FILE`, creating and migrating it.
    pub async fn open(url: &str) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5));
        let mut writer = SqliteConnection::connect_with(&options).await?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&mut writer)
            .await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        let (jobs, rx) = mpsc::channel(4 * BATCH);
        let handle = tokio::spawn(write_loop(writer, rx));
        Ok(SqliteStore {
            jobs,
            readers,
            writer: Arc::new(Mutex::new(Some(handle))),
        })
    }

    /// Write a step; returns once its transaction has committed.
    pub async fn commit(&self, c: Commit) -> Result<(), StoreError> {
        let (done, wait) = oneshot::channel();
        self.jobs
            .send(Job::Write(Box::new(c), done))
            .await
            .map_err(|_| StoreError::Closed)?;
        wait.await.map_err(|_| StoreError::Closed)?
    }

    /// A call's state.
    pub async fn load(&self, call_sid: &str) -> Result<Option<CallState>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT state FROM calls WHERE call_sid = ?")
            .bind(call_sid)
            .fetch_optional(&self.readers)
            .await?;
        Ok(match row {
            Some((json,)) => Some(serde_json::from_str(&json)?),
            None => None,
        })
    }

    /// The voice XML answered for a call's step.
    pub async fn response(&self, call_sid: &str, step: u64) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT body FROM responses WHERE call_sid = ? AND step = ?")
                .bind(call_sid)
                .bind(step as i64)
                .fetch_optional(&self.readers)
                .await?;
        Ok(row.map(|(b,)| b))
    }

    /// Earlier calls from `caller` since `since`, newest first.
    pub async fn history(
        &self,
        caller: &str,
        since: Timestamp,
    ) -> Result<Vec<PastCall>, StoreError> {
        let rows: Vec<(i64, Option<String>)> = sqlx::query_as(
            "SELECT started_at, outcome_group FROM calls WHERE caller = ? AND started_at >= ? ORDER BY started_at DESC LIMIT 50",
        )
        .bind(caller)
        .bind(since.as_millisecond())
        .fetch_all(&self.readers)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(ms, group)| {
                Timestamp::from_millisecond(ms)
                    .ok()
                    .map(|at| PastCall { at, group })
            })
            .collect())
    }

    /// How many event-log rows a call has.
    pub async fn event_count(&self, call_sid: &str) -> Result<u64, StoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM events WHERE call_sid = ?")
            .bind(call_sid)
            .fetch_one(&self.readers)
            .await?;
        Ok(n as u64)
    }

    /// Write everything queued, stop the writer, close the readers.
    pub async fn close(&self) {
        let (done, wait) = oneshot::channel();
        if self.jobs.send(Job::Close(done)).await.is_ok() {
            let _ = wait.await;
        }
        if let Some(h) = self.writer.lock().await.take() {
            let _ = h.await;
        }
        self.readers.close().await;
    }
}

async fn write_loop(mut conn: SqliteConnection, mut rx: mpsc::Receiver<Job>) {
    let mut closing = None;
    while closing.is_none() {
        let Some(first) = rx.recv().await else { break };
        let mut batch = Vec::new();
        for job in std::iter::once(first)
            .chain(std::iter::from_fn(|| rx.try_recv().ok()))
            .take(BATCH)
        {
            match job {
                Job::Write(c, done) => batch.push((c, done)),
                Job::Close(done) => {
                    closing = Some(done);
                    break;
                }
            }
        }
        if batch.is_empty() {
            continue;
        }
        let commits: Vec<&Commit> = batch.iter().map(|(c, _)| c.as_ref()).collect();
        if write(&mut conn, &commits).await.is_ok() {
            for (_, done) in batch {
                let _ = done.send(Ok(()));
            }
            continue;
        }
        // The batch failed: give each commit its own transaction and its own answer.
        for (c, done) in batch {
            let _ = done.send(write(&mut conn, &[c.as_ref()]).await.map_err(store_error));
        }
    }
    rx.close();
    let _ = conn.close().await;
    if let Some(done) = closing {
        let _ = done.send(());
    }
}

/// The marker error of a lost race; mapped to [`StoreError::Conflict`].
fn conflict() -> sqlx::Error {
    sqlx::Error::RowNotFound
}

fn store_error(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::RowNotFound => StoreError::Conflict,
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict,
        e => StoreError::Database(e),
    }
}

async fn write(conn: &mut SqliteConnection, commits: &[&Commit]) -> Result<(), sqlx::Error> {
    let mut tx = conn.begin().await?;
    for c in commits {
        write_one(&mut tx, c).await?;
    }
    tx.commit().await
}

async fn write_one(tx: &mut SqliteConnection, c: &Commit) -> Result<(), sqlx::Error> {
    let s = &c.state;
    let at = c.at.as_millisecond();
    let state = serde_json::to_string(s).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let (outcome, outcome_group) = c
        .outcome
        .clone()
        .map_or((None, None), |(o, g)| (Some(o), g));
    // A new call must not exist yet; an existing one must still be at the
    // step it was loaded at, so a duplicate callback can never advance it twice.
    let upsert = match c.expected_step {
        None => {
            "INSERT INTO calls (call_sid, flow, version, caller, called, step, node, wait, state, started_at, updated_at, ended_at, final_status, outcome, outcome_group)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        }
        Some(_) => {
            "INSERT INTO calls (call_sid, flow, version, caller, called, step, node, wait, state, started_at, updated_at, ended_at, final_status, outcome, outcome_group)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (call_sid) DO UPDATE SET
               step = excluded.step, node = excluded.node, wait = excluded.wait, state = excluded.state,
               updated_at = excluded.updated_at,
               ended_at = COALESCE(calls.ended_at, excluded.ended_at),
               final_status = COALESCE(excluded.final_status, calls.final_status),
               outcome = excluded.outcome, outcome_group = excluded.outcome_group
             WHERE calls.step = ?"
        }
    };
    let mut query = sqlx::query(upsert)
        .bind(&s.call_id)
        .bind(&c.flow)
        .bind(&s.version)
        .bind(&s.caller)
        .bind(&s.called)
        .bind(s.step as i64)
        .bind(&c.node)
        .bind(format!("{:?}", s.wait))
        .bind(state)
        .bind(at)
        .bind(at)
        .bind(c.ended().then_some(at))
        .bind(&c.final_status)
        .bind(outcome)
        .bind(outcome_group);
    if let Some(expected) = c.expected_step {
        query = query.bind(expected as i64);
    }
    let done = query.execute(&mut *tx).await?;
    if done.rows_affected() == 0 {
        return Err(conflict());
    }
    if let Some(body) = &c.response {
        sqlx::query("INSERT OR REPLACE INTO responses (call_sid, step, body) VALUES (?, ?, ?)")
            .bind(&s.call_id)
            .bind(s.step as i64)
            .bind(body)
            .execute(&mut *tx)
            .await?;
    }
    for e in &c.events {
        sqlx::query(
            "INSERT INTO events (call_sid, step, at, node, kind, data) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&s.call_id)
        .bind(s.step as i64)
        .bind(at)
        .bind(&e.node)
        .bind(&e.kind)
        .bind(&e.data)
        .execute(&mut *tx)
        .await?;
    }
    for (group, url, seconds) in &c.voicemails {
        sqlx::query(
            "INSERT INTO voicemails (call_sid, grp, url, seconds, at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&s.call_id)
        .bind(group)
        .bind(url)
        .bind(i64::from(*seconds))
        .bind(at)
        .execute(&mut *tx)
        .await?;
    }
    for (group, number) in &c.callbacks {
        sqlx::query("INSERT INTO callbacks (call_sid, grp, number, at) VALUES (?, ?, ?, ?)")
            .bind(&s.call_id)
            .bind(group)
            .bind(number)
            .bind(at)
            .execute(&mut *tx)
            .await?;
    }
    for (node, group, rating, scale) in &c.surveys {
        sqlx::query("INSERT INTO surveys (call_sid, node, grp, rating, scale, at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(&s.call_id)
            .bind(node)
            .bind(group)
            .bind(i64::from(*rating))
            .bind(i64::from(*scale))
            .bind(at)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}
