//! The PostgreSQL writers: group commit over a few connections of their
//! own. Each writer takes the first waiting commit, drains whatever else is
//! queued (up to [`BATCH`]), and writes them all in one statement — one
//! data-modifying `WITH` part per table, the rows passed as arrays
//! (`UNNEST`), so a batch is one round trip and one WAL flush whatever its
//! size, and atomic as any statement is — then answers each caller only
//! after it has committed. While one writer waits for its commit, the next
//! batch gathers for another. A writer's connection is its own
//! ([`super::conns::Conn`]); one that lost the server is dropped and opened
//! again for the next batch.
//!
//! A batch that fails on a statement (a step already taken: a duplicated
//! or racing callback, on this instance or another) is retried commit by
//! commit, so only the loser hears [`StoreError::Conflict`]. A batch that
//! fails for want of the server fails as a whole, at once.

use super::Health;
use super::conns::Conn;
use crate::store::batch::{self, Row, Write, annotations, drop_abandoned, summaries};
use crate::store::{Commit, StoreError};
use sqlx::postgres::{PgConnectOptions, PgConnection};
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
    options: PgConnectOptions,
    health: Arc<Health>,
) {
    let mut conn = Conn::new(options);
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
        write_batch(&mut conn, batch, &health).await;
        if closing {
            break;
        }
    }
    conn.close().await;
}

/// A unique key already taken: a lost race.
fn lost_race(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

/// The error a caller hears for a failed write: a lost race is a conflict,
/// and a step whose call is not stored (its call id is null) says so.
fn store_error(e: sqlx::Error) -> StoreError {
    if lost_race(&e) {
        return StoreError::Conflict;
    }
    if e.as_database_error()
        .is_some_and(|d| d.code().as_deref() == Some("23502"))
    {
        return StoreError::Database(
            "a step arrived for a call that is not stored; nothing was written".into(),
        );
    }
    StoreError::from(e)
}

/// Which commits of a batch lost their race: a new call already stored, a
/// step already taken, or a step a commit before it in the batch also
/// takes (a duplicated callback twice in one batch).
const TAKEN: &str = "SELECT EXISTS (SELECT 1 FROM calls c WHERE c.call_sid = u.call_sid
            AND (u.new OR EXISTS (SELECT 1 FROM steps s
                WHERE s.call_id = c.id AND s.step = u.step)))
    FROM UNNEST($1::text[], $2::int8[], $3::bool[]) WITH ORDINALITY AS u(call_sid, step, new, n)
    ORDER BY u.n";

/// For each of `commits`: did it lose its race (see [`TAKEN`])?
async fn taken(conn: &mut PgConnection, commits: &[&Commit]) -> Result<Vec<bool>, sqlx::Error> {
    let rows: Vec<(bool,)> = sqlx::query_as(TAKEN)
        .bind(column(commits, |c| c.state.call_id.as_str()))
        .bind(column(commits, |c| c.state.step as i64))
        .bind(column(commits, |c| c.moved() && c.expected_step.is_none()))
        .fetch_all(conn)
        .await?;
    let mut seen = std::collections::HashSet::new();
    Ok(commits
        .iter()
        .zip(rows)
        .map(|(c, (stored,))| {
            let first = !c.moved() || seen.insert((c.state.call_id.as_str(), c.state.step));
            (c.moved() && stored) || !first
        })
        .collect())
}

/// Write a batch and answer each commit.
async fn write_batch(conn: &mut Conn, mut batch: Vec<Write>, health: &Arc<Health>) {
    drop_abandoned(&mut batch);
    if batch.is_empty() {
        return;
    }
    tracing::trace!(commits = batch.len(), "writing a batch");
    crate::server::metrics::batch("postgres", batch.len());
    let commits: Vec<&Commit> = batch.iter().map(|(c, _)| c.as_ref()).collect();
    let failed = match written(conn, &commits, health).await {
        Ok(()) => {
            for (_, done) in batch {
                let _ = done.send(Ok(()));
            }
            return;
        }
        Err(f) => f,
    };
    // Alone in its batch, a commit hears its own error as it is: a lost race
    // must stay a conflict (a status then reads the call again).
    if batch.len() == 1 {
        if let Some((_, done)) = batch.pop() {
            let _ = done.send(Err(store_error(failed)));
        }
        return;
    }
    // Without the server every commit would fail the same way: at once.
    if super::unreachable(&failed) {
        let why = store_error(failed).to_string();
        for (_, done) in batch {
            let _ = done.send(Err(StoreError::Database(why.clone().into())));
        }
        return;
    }
    // Lost races (a step another instance took, a duplicate callback): find
    // the losers with one read, answer them, and write the rest together
    // again, rather than one statement each. Should that fail too (a race
    // lost in between, or some other failure), each commit gets its own.
    if lost_race(&failed) {
        let lost = match conn.get().await {
            Ok(c) => taken(c, &commits).await.ok(),
            Err(_) => None,
        };
        if let Some(lost) = lost.filter(|l| l.iter().any(|&x| x)) {
            let mut rest = Vec::with_capacity(batch.len());
            for (write, lost) in batch.into_iter().zip(lost) {
                if lost {
                    let _ = write.1.send(Err(StoreError::Conflict));
                } else {
                    rest.push(write);
                }
            }
            let commits: Vec<&Commit> = rest.iter().map(|(c, _)| c.as_ref()).collect();
            if written(conn, &commits, health).await.is_ok() {
                for (_, done) in rest {
                    let _ = done.send(Ok(()));
                }
                return;
            }
            batch = rest;
        }
    }
    // The batch failed: give each commit its own transaction and its own answer.
    for write in batch {
        let mut one = vec![write];
        drop_abandoned(&mut one);
        let Some((c, done)) = one.pop() else { continue };
        let result = written(conn, &[c.as_ref()], health)
            .await
            .map_err(store_error);
        let _ = done.send(result);
    }
}

/// [`write`] on the writer's connection: one that failed to reach the
/// server is dropped, so the next batch opens a fresh one.
async fn written(
    conn: &mut Conn,
    commits: &[&Commit],
    health: &Arc<Health>,
) -> Result<(), sqlx::Error> {
    let shard = conn.shard;
    let result = match conn.get().await {
        Ok(c) => write(c, commits, shard).await,
        Err(e) => Err(e),
    };
    match &result {
        Err(e) if super::unreachable(e) => {
            health.failed(e);
            conn.live = None;
        }
        _ => health.came_back(),
    }
    result
}

/// A batch in one statement: new calls first (their steps take their ids
/// from what the insert returns; the statement's other parts see the
/// database as it was before it), then steps, call summaries, what the
/// steps collected, and the records of events that moved nothing. A new
/// call's row and every step's row must be new (the optimistic check: a
/// unique key), and a step's call must exist (its id may not be null), or
/// the whole statement fails and writes nothing.
const BATCH_SQL: &str = "WITH
new_calls AS (
    INSERT INTO calls (call_sid, flow, version, caller, called,
        started_at, node, updated_at, ended_at, final_status, outcome, outcome_group,
        class, kind, grp, provider)
    SELECT u.call_sid, u.flow, u.version, u.caller, u.called, u.at, u.node, u.at,
        u.ended_at, u.final_status, u.outcome, u.outcome_group, u.class, u.kind, u.grp,
        u.provider
    FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[],
        $7::text[], $8::int8[], $9::text[], $10::text[], $11::text[], $46::text[],
        $47::text[], $48::text[], $75::text[])
        WITH ORDINALITY AS u(call_sid, flow, version, caller, called, at, node, ended_at,
        final_status, outcome, outcome_group, class, kind, grp, provider, n)
    ORDER BY u.n
    RETURNING id, call_sid
),
new_steps AS (
    INSERT INTO steps (call_id, step, at, node, wait, state, response, events)
    SELECT COALESCE(n.id, c.id), u.step, u.at, u.node, u.wait, u.state::jsonb, u.response,
        u.events::jsonb
    FROM UNNEST($12::text[], $13::int8[], $14::int8[], $15::text[], $16::text[], $17::text[],
        $18::text[], $19::text[]) AS u(call_sid, step, at, node, wait, state, response, events)
    LEFT JOIN new_calls n ON n.call_sid = u.call_sid
    LEFT JOIN calls c ON c.call_sid = u.call_sid
),
summaries AS (
    UPDATE calls SET
        node = u.node, updated_at = u.at,
        ended_at = COALESCE(calls.ended_at, u.ended_at),
        final_status = COALESCE(u.final_status, calls.final_status),
        outcome = u.outcome, outcome_group = u.outcome_group,
        class = COALESCE(u.class, calls.class), kind = COALESCE(u.kind, calls.kind),
        grp = COALESCE(u.grp, calls.grp), again_ms = COALESCE(calls.again_ms, u.again_ms)
    FROM UNNEST($20::text[], $21::text[], $22::int8[], $23::int8[], $24::text[], $25::text[],
        $26::text[], $49::text[], $50::text[], $51::text[], $67::int8[])
        AS u(call_sid, node, at, ended_at, final_status, outcome, outcome_group, class, kind, grp,
        again_ms)
    WHERE calls.call_sid = u.call_sid
),
-- Each ended call with a group marks its caller's previous call about that
-- group as called again (see the SQLite writer's CALLED_AGAIN). A previous
-- call whose own row this statement changes is left (a statement may change
-- a row only once): the mark is lost, its call's end is not.
called_again AS (
    UPDATE calls SET again_ms = LEAST(COALESCE(calls.again_ms, x.gap), x.gap)
    FROM (SELECT prev.id, c.started_at - prev.started_at AS gap
          FROM UNNEST($68::text[], $69::text[]) AS u(call_sid, grp)
          JOIN calls c ON c.call_sid = u.call_sid
          CROSS JOIN LATERAL (SELECT p.id, p.started_at FROM calls p
              WHERE p.caller = c.caller AND p.grp = u.grp AND p.started_at <= c.started_at
                AND p.id < c.id
              ORDER BY p.started_at DESC, p.id DESC LIMIT 1) AS prev) AS x
    WHERE calls.id = x.id AND calls.call_sid <> ALL($20::text[])
),
-- The funnel's counts, added up per hour, node and count in Rust (one row
-- each), in this writer's own rows (`$74`, see migrations/postgres/0007).
funnel_counted AS (
    INSERT INTO node_hours (hour, node, what, shard, n)
    SELECT u.hour, u.node, u.what, $74, u.n
    FROM UNNEST($70::int8[], $71::text[], $72::text[], $73::int8[]) AS u(hour, node, what, n)
    ON CONFLICT (hour, node, what, shard) DO UPDATE SET n = node_hours.n + excluded.n
),
queue_waited AS (
    INSERT INTO queue_waits
        (call_id, seq, grp, kind, tier, joined_at, result, waited, next_grp, sl_secs)
    SELECT COALESCE(n.id, c.id), u.seq, u.grp, u.kind, u.tier, u.joined_at, u.result,
        u.waited, u.next_grp, u.sl_secs
    FROM UNNEST($52::text[], $53::int4[], $54::text[], $55::text[], $56::int4[], $57::int8[],
        $58::text[], $59::int4[], $60::text[], $66::int4[])
        AS u(call_sid, seq, grp, kind, tier, joined_at, result, waited, next_grp, sl_secs)
    LEFT JOIN new_calls n ON n.call_sid = u.call_sid
    LEFT JOIN calls c ON c.call_sid = u.call_sid
),
topics AS (
    INSERT INTO topics_heard (call_id, seq, topic, then_agent, at)
    SELECT COALESCE(n.id, c.id), u.seq, u.topic, u.then_agent, u.at
    FROM UNNEST($61::text[], $62::int4[], $63::text[], $64::bool[], $65::int8[])
        AS u(call_sid, seq, topic, then_agent, at)
    LEFT JOIN new_calls n ON n.call_sid = u.call_sid
    LEFT JOIN calls c ON c.call_sid = u.call_sid
),
voicemails_left AS (
    INSERT INTO voicemails (call_sid, grp, url, seconds, at)
    SELECT * FROM UNNEST($27::text[], $28::text[], $29::text[], $30::int4[], $31::int8[])
),
callbacks_promised AS (
    INSERT INTO callbacks (call_sid, grp, number, at)
    SELECT * FROM UNNEST($32::text[], $33::text[], $34::text[], $35::int8[])
),
surveys_answered AS (
    INSERT INTO surveys (call_sid, node, grp, rating, scale, at)
    SELECT * FROM UNNEST($36::text[], $37::text[], $38::text[], $39::int4[], $40::int4[],
        $41::int8[])
),
annotated AS (
    UPDATE steps SET events = steps.events || u.events::jsonb
    FROM UNNEST($42::text[], $43::int8[], $44::text[]) AS u(call_sid, step, events), calls c
    WHERE c.call_sid = u.call_sid AND steps.call_id = c.id AND steps.step = u.step
),
-- An ended call's earlier steps lose their sealed sensitive values. A row
-- that `annotated` changes in this statement is left as it is (a statement
-- may change a row only once): the retention purge removes it with its call.
secrets_erased AS (
    UPDATE steps SET state = steps.state - 'secrets'
    FROM UNNEST($45::text[]) AS u(call_sid), calls c
    WHERE c.call_sid = u.call_sid AND steps.call_id = c.id AND steps.state ? 'secrets'
      AND NOT EXISTS (SELECT 1 FROM UNNEST($42::text[], $43::int8[]) AS a(call_sid, step)
                      WHERE a.call_sid = u.call_sid AND a.step = steps.step)
)
SELECT 1";

/// Write `commits` in one statement ([`BATCH_SQL`]).
async fn write(
    conn: &mut PgConnection,
    commits: &[&Commit],
    shard: i32,
) -> Result<(), sqlx::Error> {
    let rows = commits
        .iter()
        .map(|c| Row::of(c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let new: Vec<&Row> = rows.iter().filter(|r| r.new_call()).collect();
    let moved: Vec<&Row> = rows.iter().filter(|r| r.c.moved()).collect();
    let changed = summaries(&rows);
    let voicemails: Vec<_> = rows
        .iter()
        .flat_map(|r| r.c.voicemails.iter().map(move |v| (r, v)))
        .collect();
    let callbacks: Vec<_> = rows
        .iter()
        .flat_map(|r| r.c.callbacks.iter().map(move |b| (r, b)))
        .collect();
    let surveys: Vec<_> = rows
        .iter()
        .flat_map(|r| r.c.surveys.iter().map(move |a| (r, a)))
        .collect();
    let notes = annotations(&rows);
    let erased: Vec<&Row> = rows.iter().filter(|r| r.c.erase_secrets).collect();
    let new_report: Vec<_> = new
        .iter()
        .map(|r| batch::report_columns(r.c.facts.as_ref()))
        .collect();
    let changed_report: Vec<_> = changed.iter().map(|s| s.report()).collect();
    let waits = batch::queue_waits(&rows);
    let topics = batch::topics_heard(&rows);
    let again = batch::called_again(&rows);
    let funnel = batch::funnel(&rows);
    let small = |n: u32| n.min(i32::MAX as u32) as i32;
    let seq = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
    sqlx::query(BATCH_SQL)
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
        .bind(column(&moved, |r| r.c.state.call_id.as_str()))
        .bind(column(&moved, |r| r.c.state.step as i64))
        .bind(column(&moved, |r| r.at))
        .bind(column(&moved, |r| r.c.node.as_str()))
        .bind(column(&moved, |r| r.wait.as_str()))
        .bind(column(&moved, |r| r.state.as_str()))
        .bind(column(&moved, |r| r.c.response.as_deref()))
        .bind(column(&moved, |r| r.c.events.as_str()))
        .bind(column(&changed, |s| s.row.c.state.call_id.as_str()))
        .bind(column(&changed, |s| s.row.c.node.as_str()))
        .bind(column(&changed, |s| s.row.at))
        .bind(column(&changed, |s| s.ended_at))
        .bind(column(&changed, |s| s.final_status))
        .bind(column(&changed, |s| s.row.outcome))
        .bind(column(&changed, |s| s.row.outcome_group))
        .bind(column(&voicemails, |(r, _)| r.c.state.call_id.as_str()))
        .bind(column(&voicemails, |(_, v)| v.group.as_str()))
        .bind(column(&voicemails, |(_, v)| v.url.as_str()))
        .bind(column(&voicemails, |(_, v)| small(v.seconds)))
        .bind(column(&voicemails, |(r, _)| r.at))
        .bind(column(&callbacks, |(r, _)| r.c.state.call_id.as_str()))
        .bind(column(&callbacks, |(_, b)| b.group.as_str()))
        .bind(column(&callbacks, |(_, b)| b.number.as_str()))
        .bind(column(&callbacks, |(r, _)| r.at))
        .bind(column(&surveys, |(r, _)| r.c.state.call_id.as_str()))
        .bind(column(&surveys, |(_, a)| a.node.as_str()))
        .bind(column(&surveys, |(_, a)| a.group.as_deref()))
        .bind(column(&surveys, |(_, a)| small(a.rating)))
        .bind(column(&surveys, |(_, a)| small(a.scale)))
        .bind(column(&surveys, |(r, _)| r.at))
        .bind(column(&notes, |(id, _, _)| *id))
        .bind(column(&notes, |(_, step, _)| *step as i64))
        .bind(column(&notes, |(_, _, events)| events.as_str()))
        .bind(column(&erased, |r| r.c.state.call_id.as_str()))
        .bind(column(&new_report, |r| r.0))
        .bind(column(&new_report, |r| r.1))
        .bind(column(&new_report, |r| r.2))
        .bind(column(&changed_report, |r| r.0))
        .bind(column(&changed_report, |r| r.1))
        .bind(column(&changed_report, |r| r.2))
        .bind(column(&waits, |(call, _, _)| *call))
        .bind(column(&waits, |(_, n, _)| seq(*n)))
        .bind(column(&waits, |(_, _, q)| q.group.as_str()))
        .bind(column(&waits, |(_, _, q)| q.kind))
        .bind(column(&waits, |(_, _, q)| q.tier.map(small)))
        .bind(column(&waits, |(_, _, q)| q.joined))
        .bind(column(&waits, |(_, _, q)| q.result))
        .bind(column(&waits, |(_, _, q)| small(q.waited)))
        .bind(column(&waits, |(_, _, q)| q.next.as_deref()))
        .bind(column(&topics, |t| t.0))
        .bind(column(&topics, |t| seq(t.1)))
        .bind(column(&topics, |t| t.2))
        .bind(column(&topics, |t| t.3))
        .bind(column(&topics, |t| t.4))
        .bind(column(&waits, |(_, _, q)| small(q.sl_secs)))
        .bind(column(&changed, |s| batch::withheld_mark(s.facts)))
        .bind(column(&again, |a| a.0))
        .bind(column(&again, |a| a.1))
        .bind(column(&funnel, |f| f.0))
        .bind(column(&funnel, |f| f.1))
        .bind(column(&funnel, |f| f.2))
        .bind(column(&funnel, |f| f.3))
        .bind(shard)
        .bind(column(&new, |r| r.c.provider))
        .execute(conn)
        .await?;
    Ok(())
}

/// One column of `rows`, for binding as an array.
fn column<'r, T, V>(rows: &'r [T], value: impl Fn(&'r T) -> V) -> Vec<V> {
    rows.iter().map(value).collect()
}
