//! Purging and erasing on SQLite: the writes run on the writer's own
//! connection, between two batches of commits (`Job::Run`), each purge
//! batch one short transaction, so a callback's commit waits at most for
//! one of them.

use crate::store::callers::Erasure;
use crate::store::retention::Removed;
use rusqlite::{Connection, TransactionBehavior, params};

/// Delete up to `limit` calls started before `before` (Unix milliseconds)
/// with their rows.
pub(super) fn purge_batch(
    db: &mut Connection,
    before: i64,
    limit: u32,
) -> rusqlite::Result<Removed> {
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "CREATE TEMP TABLE IF NOT EXISTS doomed (id INTEGER PRIMARY KEY, call_sid TEXT NOT NULL)",
        [],
    )?;
    tx.execute("DELETE FROM doomed", [])?;
    let calls = tx.execute(
        "INSERT INTO doomed SELECT id, call_sid FROM calls WHERE started_at < ?1 ORDER BY started_at LIMIT ?2",
        params![before, limit],
    )?;
    let by_id = |table: &str| {
        tx.execute(
            &format!("DELETE FROM {table} WHERE call_id IN (SELECT id FROM doomed)"),
            [],
        )
    };
    let steps = by_id("steps")?;
    let by_call = |table: &str| {
        tx.execute(
            &format!("DELETE FROM {table} WHERE call_sid IN (SELECT call_sid FROM doomed)"),
            [],
        )
    };
    let voicemails = by_call("voicemails")?;
    let callbacks = by_call("callbacks")?;
    let surveys = by_call("surveys")?;
    let queue_waits = by_id("queue_waits")?;
    let topics_heard = by_id("topics_heard")?;
    tx.execute("DELETE FROM calls WHERE id IN (SELECT id FROM doomed)", [])?;
    // The funnel's hours wholly before the cutoff go with their calls.
    tx.execute(
        "DELETE FROM node_hours WHERE hour + ?1 <= ?2",
        params![crate::store::reports::HOUR_MS, before],
    )?;
    tx.commit()?;
    let n = |v: usize| v as i64;
    Ok(Removed::of_row((
        n(calls),
        n(steps),
        n(voicemails),
        n(callbacks),
        n(surveys),
        n(queue_waits),
        n(topics_heard),
    )))
}

/// Erase `number` (see `store::callers`), deleted content zeroed
/// (`secure_delete`); [`empty_wal`] then takes what the erasure changed out
/// of the write-ahead log.
pub(super) fn erase_caller(
    db: &mut Connection,
    number: &str,
    hash: &str,
    live_since: i64,
) -> rusqlite::Result<Erasure> {
    db.execute_batch("PRAGMA secure_delete = ON")?;
    let erased = erase_rows(db, number, hash, live_since);
    db.execute_batch("PRAGMA secure_delete = FAST")?;
    erased
}

/// Copy every page of the write-ahead log into the database and empty the
/// log, so no older copy of a page is left in the `-wal` file. Busy while
/// another connection reads or writes the log: tried again, and an error
/// once the wait is over (the erasure is committed, but may remain in the
/// `-wal` file until the next checkpoint).
pub(super) fn empty_wal(db: &mut Connection) -> rusqlite::Result<()> {
    let busy: i64 = db.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
    if busy == 0 {
        Ok(())
    } else {
        Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            Some("the erasure is committed, but other connections kept the write-ahead log busy, so the erased rows may remain in the -wal file until the next checkpoint: run the erasure again (it finds nothing more to erase, and empties the log)".into()),
        ))
    }
}

fn erase_rows(
    db: &mut Connection,
    number: &str,
    hash: &str,
    live_since: i64,
) -> rusqlite::Result<Erasure> {
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "CREATE TEMP TABLE IF NOT EXISTS erasing (id INTEGER PRIMARY KEY, call_sid TEXT NOT NULL)",
        [],
    )?;
    tx.execute("DELETE FROM erasing", [])?;
    tx.execute(
        "INSERT INTO erasing SELECT id, call_sid FROM calls
         WHERE caller = ?1 AND NOT (ended_at IS NULL AND started_at >= ?2)",
        params![number, live_since],
    )?;
    let live: i64 = tx.query_row(
        "SELECT COUNT(*) FROM calls WHERE caller = ?1 AND ended_at IS NULL AND started_at >= ?2",
        params![number, live_since],
        |r| r.get(0),
    )?;
    let recordings = {
        let mut q = tx.prepare(
            "SELECT url FROM voicemails WHERE call_sid IN (SELECT call_sid FROM erasing) ORDER BY id",
        )?;
        q.query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?
    };
    let steps = tx.execute(
        "DELETE FROM steps WHERE call_id IN (SELECT id FROM erasing)",
        [],
    )?;
    let voicemails = tx.execute(
        "DELETE FROM voicemails WHERE call_sid IN (SELECT call_sid FROM erasing)",
        [],
    )?;
    let callbacks = tx.execute(
        "DELETE FROM callbacks WHERE call_sid IN (SELECT call_sid FROM erasing) OR number = ?1",
        params![number],
    )?;
    let calls = tx.execute(
        "UPDATE calls SET caller = ?1 WHERE id IN (SELECT id FROM erasing)",
        params![hash],
    )?;
    tx.execute("DELETE FROM erasing", [])?;
    tx.commit()?;
    Ok(Erasure {
        calls: calls as u64,
        steps: steps as u64,
        voicemails: voicemails as u64,
        callbacks: callbacks as u64,
        live: live.max(0) as u64,
        recordings,
        hash: String::new(),
    })
}
