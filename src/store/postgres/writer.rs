//! The PostgreSQL writers: group commit over a few connections. Each
//! writer takes the first waiting commit, drains whatever else is queued
//! (up to [`BATCH`]), and writes them all in one transaction — one
//! statement per table, the rows passed as arrays (`UNNEST`), so a batch
//! costs the same few round trips and one WAL flush whatever its size —
//! then answers each caller only after that transaction has committed.
//! While one writer waits for its commit, the next batch gathers for
//! another.
//!
//! A batch that fails on a statement (a step already taken: a duplicated
//! or racing callback, on this instance or another) is retried commit by
//! commit, so only the loser hears [`StoreError::Conflict`]. A batch that
//! fails for want of the server fails as a whole, at once.

use super::Health;
use crate::store::batch::{Row, Write, annotations, drop_abandoned, summaries};
use crate::store::{Commit, StoreError};
use sqlx::postgres::PgPool;
use sqlx::{Acquire, PgConnection};
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc};

/// Most commits written in one transaction.
pub(super) const BATCH: usize = 512;

pub(super) enum Job {
    Write(
        Box<Commit>,
        tokio::sync::oneshot::Sender<Result<(), StoreError>>,
    ),
    /// Stop once the writes queued before this are done.
    Close,
}

/// Write batches from the shared queue until a [`Job::Close`] reaches this writer.
pub(super) async fn write_loop(
    rx: Arc<Mutex<mpsc::Receiver<Job>>>,
    pool: PgPool,
    health: Arc<Health>,
) {
    loop {
        let mut batch = Vec::new();
        let mut closing = false;
        {
            let mut rx = rx.lock().await;
            let Some(first) = rx.recv().await else { break };
            // Let the callbacks that are ready queue their commits too, so
            // they share this transaction rather than wait for the next.
            tokio::task::yield_now().await;
            for job in std::iter::once(first)
                .chain(std::iter::from_fn(|| rx.try_recv().ok()))
                .take(BATCH)
            {
                match job {
                    Job::Write(c, done) => batch.push((c, done)),
                    Job::Close => {
                        closing = true;
                        break;
                    }
                }
            }
        }
        write_batch(&pool, batch, &health).await;
        if closing {
            break;
        }
    }
}

/// Why a write failed.
enum Failed {
    /// A statement failed, or the server could not be reached.
    Sql(sqlx::Error),
    /// A step's call is not stored (the step was not written).
    NoCall,
}

impl From<sqlx::Error> for Failed {
    fn from(e: sqlx::Error) -> Failed {
        Failed::Sql(e)
    }
}

impl Failed {
    /// The error a caller hears: a unique key already taken is a lost race.
    fn into_store_error(self) -> StoreError {
        match self {
            Failed::Sql(e)
                if e.as_database_error()
                    .is_some_and(|d| d.is_unique_violation()) =>
            {
                StoreError::Conflict
            }
            Failed::Sql(e) => StoreError::from(e),
            Failed::NoCall => StoreError::Database(
                "a step arrived for a call that is not stored; nothing was written".into(),
            ),
        }
    }

    fn unreachable(&self) -> bool {
        matches!(self, Failed::Sql(e) if super::unreachable(e))
    }
}

/// Write a batch and answer each commit.
async fn write_batch(pool: &PgPool, mut batch: Vec<Write>, health: &Arc<Health>) {
    drop_abandoned(&mut batch);
    if batch.is_empty() {
        return;
    }
    tracing::trace!(commits = batch.len(), "writing a batch");
    let commits: Vec<&Commit> = batch.iter().map(|(c, _)| c.as_ref()).collect();
    let failed = match written(pool, &commits, health).await {
        Ok(()) => {
            for (_, done) in batch {
                let _ = done.send(Ok(()));
            }
            return;
        }
        Err(f) => f,
    };
    // Without the server every commit would fail the same way: at once.
    if failed.unreachable() {
        let why = failed.into_store_error().to_string();
        for (_, done) in batch {
            let _ = done.send(Err(StoreError::Database(why.clone().into())));
        }
        return;
    }
    // Alone in its batch, a commit hears its own error as it is: a lost race
    // must stay a conflict (a status then reads the call again), not become
    // a database error.
    if batch.len() == 1 {
        if let Some((_, done)) = batch.pop() {
            let _ = done.send(Err(failed.into_store_error()));
        }
        return;
    }
    // The batch failed: give each commit its own transaction and its own answer.
    for write in batch {
        let mut one = vec![write];
        drop_abandoned(&mut one);
        let Some((c, done)) = one.pop() else { continue };
        let result = written(pool, &[c.as_ref()], health)
            .await
            .map_err(Failed::into_store_error);
        let _ = done.send(result);
    }
}

/// [`write`] on a connection from `pool`: one that failed to reach the
/// server is closed rather than given back, so the next batch opens a
/// fresh one.
async fn written(pool: &PgPool, commits: &[&Commit], health: &Arc<Health>) -> Result<(), Failed> {
    let mut conn = match pool.acquire().await {
        Ok(conn) => conn,
        Err(e) => {
            health.failed(&e);
            return Err(Failed::Sql(e));
        }
    };
    let result = write(&mut conn, commits).await;
    match &result {
        Err(Failed::Sql(e)) if super::unreachable(e) => {
            health.failed(e);
            let _ = conn.close().await;
        }
        _ => health.came_back(),
    }
    result
}

const NEW_CALLS: &str = "INSERT INTO calls (call_sid, flow, version, caller, called,
        started_at, node, updated_at, ended_at, final_status, outcome, outcome_group)
    SELECT u.call_sid, u.flow, u.version, u.caller, u.called, u.at, u.node, u.at,
        u.ended_at, u.final_status, u.outcome, u.outcome_group
    FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[],
        $7::text[], $8::int8[], $9::text[], $10::text[], $11::text[])
        WITH ORDINALITY AS u(call_sid, flow, version, caller, called, at, node, ended_at,
        final_status, outcome, outcome_group, n)
    ORDER BY u.n";

/// A step's call by its id: its row is new in this batch or older. A
/// missing call inserts nothing for its step, which the count tells.
const STEPS: &str = "INSERT INTO steps (call_id, step, at, node, wait, state, response, events)
    SELECT c.id, u.step, u.at, u.node, u.wait, u.state::jsonb, u.response, u.events::jsonb
    FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::text[], $5::text[], $6::text[],
        $7::text[], $8::text[]) AS u(call_sid, step, at, node, wait, state, response, events)
    JOIN calls c ON c.call_sid = u.call_sid";

const SUMMARIES: &str = "UPDATE calls SET
        node = u.node, updated_at = u.at,
        ended_at = COALESCE(calls.ended_at, u.ended_at),
        final_status = COALESCE(u.final_status, calls.final_status),
        outcome = u.outcome, outcome_group = u.outcome_group
    FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::int8[], $5::text[], $6::text[],
        $7::text[]) AS u(call_sid, node, at, ended_at, final_status, outcome, outcome_group)
    WHERE calls.call_sid = u.call_sid";

const VOICEMAILS: &str = "INSERT INTO voicemails (call_sid, grp, url, seconds, at)
    SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int4[], $5::int8[])";

const CALLBACKS: &str = "INSERT INTO callbacks (call_sid, grp, number, at)
    SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[])";

const SURVEYS: &str = "INSERT INTO surveys (call_sid, node, grp, rating, scale, at)
    SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int4[], $5::int4[],
        $6::int8[])";

/// Records of events that moved nothing, appended to the steps they came at.
const ANNOTATE: &str = "UPDATE steps SET events = steps.events || u.events::jsonb
    FROM UNNEST($1::text[], $2::int8[], $3::text[]) AS u(call_sid, step, events), calls c
    WHERE c.call_sid = u.call_sid AND steps.call_id = c.id AND steps.step = u.step";

/// Write `commits` in one transaction, table by table: new calls first
/// (their steps find them by id), then steps, call summaries, what the
/// steps collected, and the records of events that moved nothing. A new
/// call's row and every step's row must be new (the optimistic check), or
/// the whole transaction fails.
async fn write(conn: &mut PgConnection, commits: &[&Commit]) -> Result<(), Failed> {
    let rows = commits
        .iter()
        .map(|c| Row::of(c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Failed::Sql(sqlx::Error::Encode(Box::new(e))))?;
    let mut tx = conn.begin().await?;
    let new: Vec<&Row> = rows.iter().filter(|r| r.new_call()).collect();
    if !new.is_empty() {
        sqlx::query(NEW_CALLS)
            .bind(column(&new, |r| r.c.state.call_id.as_str()))
            .bind(column(&new, |r| r.c.flow.as_str()))
            .bind(column(&new, |r| r.c.state.version.as_str()))
            .bind(column(&new, |r| r.c.state.caller.as_str()))
            .bind(column(&new, |r| r.c.state.called.as_str()))
            .bind(column(&new, |r| r.at))
            .bind(column(&new, |r| r.c.node.as_str()))
            .bind(column(&new, |r| r.ended_at))
            .bind(column(&new, |r| r.c.final_status.as_deref()))
            .bind(column(&new, |r| r.outcome))
            .bind(column(&new, |r| r.outcome_group))
            .execute(&mut *tx)
            .await?;
    }
    let moved: Vec<&Row> = rows.iter().filter(|r| r.c.moved()).collect();
    if !moved.is_empty() {
        let done = sqlx::query(STEPS)
            .bind(column(&moved, |r| r.c.state.call_id.as_str()))
            .bind(column(&moved, |r| r.c.state.step as i64))
            .bind(column(&moved, |r| r.at))
            .bind(column(&moved, |r| r.c.node.as_str()))
            .bind(column(&moved, |r| r.wait.as_str()))
            .bind(column(&moved, |r| r.state.as_str()))
            .bind(column(&moved, |r| r.c.response.as_deref()))
            .bind(column(&moved, |r| r.c.events.as_str()))
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != moved.len() as u64 {
            return Err(Failed::NoCall);
        }
    }
    let changed = summaries(&rows);
    if !changed.is_empty() {
        sqlx::query(SUMMARIES)
            .bind(column(&changed, |s| s.row.c.state.call_id.as_str()))
            .bind(column(&changed, |s| s.row.c.node.as_str()))
            .bind(column(&changed, |s| s.row.at))
            .bind(column(&changed, |s| s.ended_at))
            .bind(column(&changed, |s| s.final_status))
            .bind(column(&changed, |s| s.row.outcome))
            .bind(column(&changed, |s| s.row.outcome_group))
            .execute(&mut *tx)
            .await?;
    }
    let voicemails: Vec<_> = rows
        .iter()
        .flat_map(|r| r.c.voicemails.iter().map(move |v| (r, v)))
        .collect();
    if !voicemails.is_empty() {
        sqlx::query(VOICEMAILS)
            .bind(column(&voicemails, |(r, _)| r.c.state.call_id.as_str()))
            .bind(column(&voicemails, |(_, v)| v.group.as_str()))
            .bind(column(&voicemails, |(_, v)| v.url.as_str()))
            .bind(column(&voicemails, |(_, v)| {
                v.seconds.min(i32::MAX as u32) as i32
            }))
            .bind(column(&voicemails, |(r, _)| r.at))
            .execute(&mut *tx)
            .await?;
    }
    let callbacks: Vec<_> = rows
        .iter()
        .flat_map(|r| r.c.callbacks.iter().map(move |b| (r, b)))
        .collect();
    if !callbacks.is_empty() {
        sqlx::query(CALLBACKS)
            .bind(column(&callbacks, |(r, _)| r.c.state.call_id.as_str()))
            .bind(column(&callbacks, |(_, b)| b.group.as_str()))
            .bind(column(&callbacks, |(_, b)| b.number.as_str()))
            .bind(column(&callbacks, |(r, _)| r.at))
            .execute(&mut *tx)
            .await?;
    }
    let surveys: Vec<_> = rows
        .iter()
        .flat_map(|r| r.c.surveys.iter().map(move |a| (r, a)))
        .collect();
    if !surveys.is_empty() {
        sqlx::query(SURVEYS)
            .bind(column(&surveys, |(r, _)| r.c.state.call_id.as_str()))
            .bind(column(&surveys, |(_, a)| a.node.as_str()))
            .bind(column(&surveys, |(_, a)| a.group.as_deref()))
            .bind(column(&surveys, |(_, a)| {
                a.rating.min(i32::MAX as u32) as i32
            }))
            .bind(column(&surveys, |(_, a)| {
                a.scale.min(i32::MAX as u32) as i32
            }))
            .bind(column(&surveys, |(r, _)| r.at))
            .execute(&mut *tx)
            .await?;
    }
    let notes = annotations(&rows);
    if !notes.is_empty() {
        sqlx::query(ANNOTATE)
            .bind(column(&notes, |(id, _, _)| *id))
            .bind(column(&notes, |(_, step, _)| *step as i64))
            .bind(column(&notes, |(_, _, events)| events.as_str()))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// One column of `rows`, for binding as an array.
fn column<'r, T, V>(rows: &'r [T], value: impl Fn(&'r T) -> V) -> Vec<V> {
    rows.iter().map(value).collect()
}
