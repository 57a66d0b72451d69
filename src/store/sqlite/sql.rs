//! The SQL the SQLite writer runs: a batch of commits written table by
//! table in one transaction ([`write`]), a flow version inserted once
//! ([`save_version`]), and which failures mean a lost race
//! ([`store_error`]). Statements are prepared once per connection and
//! cached (`prepare_cached`); the reads live beside their readers
//! ([`super::readers`]).

use super::writer::SavedVersion;
use crate::store::batch::{self, Row, summaries};
use crate::store::{Commit, StoreError};

/// Insert a version unless it is there; is what is stored now `v`'s snapshot?
pub(super) fn save_version(
    db: &rusqlite::Connection,
    v: &SavedVersion,
) -> Result<bool, rusqlite::Error> {
    use rusqlite::params;
    if !db.is_autocommit() {
        db.execute_batch("ROLLBACK")?;
    }
    db.execute(
        "INSERT INTO flow_versions (version, saved_at, snapshot) VALUES (?1, ?2, ?3)
         ON CONFLICT (version) DO NOTHING",
        params![v.version, v.at, v.snapshot],
    )?;
    db.query_row(
        "SELECT snapshot = ?2 FROM flow_versions WHERE version = ?1",
        params![v.version, v.snapshot],
        |r| r.get(0),
    )
}

/// A lost race or a duplicate: a row that must be new already exists.
pub(super) fn store_error(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error() {
        Some(f)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            StoreError::Conflict
        }
        _ => StoreError::from(e),
    }
}

const NEW_CALL: &str = "INSERT INTO calls (call_sid, flow, version, caller, called, started_at,
        node, updated_at, ended_at, final_status, outcome, outcome_group, class, kind, grp,
        provider)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)";

/// A step's call by its id: its row is new in this batch or older. A
/// missing call gives a NULL id, which the table refuses.
const STEP: &str = "INSERT INTO steps (call_id, step, at, node, wait, state, response, events)
    VALUES ((SELECT id FROM calls WHERE call_sid = ?1), ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

const SUMMARY: &str = "UPDATE calls SET
        node = ?2, updated_at = ?3,
        ended_at = COALESCE(ended_at, ?4),
        final_status = COALESCE(?5, final_status),
        outcome = ?6, outcome_group = ?7,
        class = COALESCE(?8, class), kind = COALESCE(?9, kind), grp = COALESCE(?10, grp),
        again_ms = COALESCE(again_ms, ?11)
    WHERE call_sid = ?1";

/// An ended call (`?1`) with a group (`?2`) marks its caller's previous
/// call about that group (stored before it) as called again, this long
/// after it started (the sooner of two such calls, whichever ends first).
const CALLED_AGAIN: &str = "UPDATE calls
    SET again_ms = MIN(COALESCE(again_ms, n.later - calls.started_at), n.later - calls.started_at)
    FROM (SELECT id, caller, started_at AS later FROM calls WHERE call_sid = ?1) AS n
    WHERE calls.id = (SELECT p.id FROM calls p
        WHERE p.caller = n.caller AND p.grp = ?2 AND p.started_at <= n.later AND p.id < n.id
        ORDER BY p.started_at DESC, p.id DESC LIMIT 1)";

/// Add to the funnel's count at `?2` of `?3` in hour `?1`.
const FUNNEL: &str = "INSERT INTO node_hours (hour, node, what, n) VALUES (?1, ?2, ?3, ?4)
    ON CONFLICT (hour, node, what) DO UPDATE SET n = node_hours.n + excluded.n";

/// One queue wait of an ended call.
const QUEUE_WAIT: &str = "INSERT INTO queue_waits
        (call_id, seq, grp, kind, tier, joined_at, result, waited, next_grp, sl_secs)
    VALUES ((SELECT id FROM calls WHERE call_sid = ?1), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

/// One self-service answer an ended call heard.
const TOPIC: &str = "INSERT INTO topics_heard (call_id, seq, topic, then_agent, at)
    VALUES ((SELECT id FROM calls WHERE call_sid = ?1), ?2, ?3, ?4, ?5)";

const VOICEMAIL: &str =
    "INSERT INTO voicemails (call_sid, grp, url, seconds, at) VALUES (?1, ?2, ?3, ?4, ?5)";

const CALLBACK: &str = "INSERT INTO callbacks (call_sid, grp, number, at) VALUES (?1, ?2, ?3, ?4)";

const SURVEY: &str = "INSERT INTO surveys (call_sid, node, grp, rating, scale, at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// Records of an event that moved nothing, appended to the step it came at.
const ANNOTATE: &str = "UPDATE steps SET events = (
        SELECT json_group_array(json(value) ORDER BY part, key) FROM (
            SELECT 0 AS part, key, value FROM json_each(steps.events)
            UNION ALL SELECT 1, key, value FROM json_each(?1)))
    WHERE call_id = (SELECT id FROM calls WHERE call_sid = ?2) AND step = ?3";

/// The sealed sensitive values of an ended call's earlier steps, removed.
const ERASE_SECRETS: &str = "UPDATE steps SET state = json_remove(state, '$.secrets')
    WHERE call_id = (SELECT id FROM calls WHERE call_sid = ?1)
      AND json_type(state, '$.secrets') IS NOT NULL";

/// Write `commits` in one transaction. A new call's row and every step's
/// row must be new (that is the optimistic check: a duplicate callback
/// computes a step that already exists), or the whole transaction fails
/// and the caller retries commit by commit to learn which one lost.
pub(super) fn write(
    db: &mut rusqlite::Connection,
    commits: &[&Commit],
) -> Result<(), rusqlite::Error> {
    let rows = commits
        .iter()
        .map(|c| Row::of(c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    if !db.is_autocommit() {
        // Whatever left a transaction open, this batch must not join it.
        db.execute_batch("ROLLBACK")?;
    }
    db.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    let result = write_rows(db, &rows).and_then(|()| {
        db.prepare_cached("COMMIT")?.execute([])?;
        Ok(())
    });
    if result.is_err() && !db.is_autocommit() {
        // Leave no transaction open behind a failed statement.
        let _ = db.execute_batch("ROLLBACK");
    }
    result
}

/// Each table's rows, table by table: new calls first (their steps find
/// them by id), then steps, call summaries, what the steps collected, and
/// the records of events that moved nothing.
fn write_rows(db: &rusqlite::Connection, rows: &[Row<'_>]) -> Result<(), rusqlite::Error> {
    use rusqlite::params;
    let mut new_call = db.prepare_cached(NEW_CALL)?;
    for r in rows.iter().filter(|r| r.new_call()) {
        let s = &r.c.state;
        let (class, kind, grp) = batch::report_columns(r.c.facts.as_ref());
        new_call.execute(params![
            s.call_id,
            r.c.flow,
            s.version,
            s.caller,
            s.called,
            r.at,
            r.c.node,
            r.at,
            r.ended_at,
            r.c.final_status,
            r.outcome,
            r.outcome_group,
            class,
            kind,
            grp,
            r.c.provider,
        ])?;
    }
    let mut step = db.prepare_cached(STEP)?;
    for r in rows.iter().filter(|r| r.c.moved()) {
        let s = &r.c.state;
        step.execute(params![
            s.call_id,
            s.step as i64,
            r.at,
            r.c.node,
            r.wait,
            r.state,
            r.c.response,
            r.c.events,
        ])?;
    }
    let mut summary = db.prepare_cached(SUMMARY)?;
    for s in summaries(rows) {
        let r = s.row;
        let (class, kind, grp) = s.report();
        summary.execute(params![
            r.c.state.call_id,
            r.c.node,
            r.at,
            s.ended_at,
            s.final_status,
            r.outcome,
            r.outcome_group,
            class,
            kind,
            grp,
            batch::withheld_mark(s.facts),
        ])?;
    }
    for (call, group) in batch::called_again(rows) {
        db.prepare_cached(CALLED_AGAIN)?
            .execute(params![call, group])?;
    }
    for (call, seq, q) in batch::queue_waits(rows) {
        db.prepare_cached(QUEUE_WAIT)?.execute(params![
            call, seq, q.group, q.kind, q.tier, q.joined, q.result, q.waited, q.next, q.sl_secs
        ])?;
    }
    for (call, seq, topic, agent, at) in batch::topics_heard(rows) {
        db.prepare_cached(TOPIC)?
            .execute(params![call, seq, topic, agent, at])?;
    }
    for r in rows.iter().filter(|r| !r.c.voicemails.is_empty()) {
        let mut voicemail = db.prepare_cached(VOICEMAIL)?;
        for v in &r.c.voicemails {
            voicemail.execute(params![r.c.state.call_id, v.group, v.url, v.seconds, r.at])?;
        }
    }
    for r in rows.iter().filter(|r| !r.c.callbacks.is_empty()) {
        let mut callback = db.prepare_cached(CALLBACK)?;
        for b in &r.c.callbacks {
            callback.execute(params![r.c.state.call_id, b.group, b.number, r.at])?;
        }
    }
    for r in rows.iter().filter(|r| !r.c.surveys.is_empty()) {
        let mut survey = db.prepare_cached(SURVEY)?;
        for a in &r.c.surveys {
            survey.execute(params![
                r.c.state.call_id,
                a.node,
                a.group,
                a.rating,
                a.scale,
                r.at
            ])?;
        }
    }
    for r in rows.iter().filter(|r| !r.c.moved()) {
        db.prepare_cached(ANNOTATE)?.execute(params![
            r.c.events,
            r.c.state.call_id,
            r.c.state.step as i64,
        ])?;
    }
    for r in rows.iter().filter(|r| r.c.erase_secrets) {
        db.prepare_cached(ERASE_SECRETS)?
            .execute(params![r.c.state.call_id])?;
    }
    // Last, so the rows every call adds to are held the shortest time.
    for (hour, node, what, n) in batch::funnel(rows) {
        db.prepare_cached(FUNNEL)?
            .execute(params![hour, node, what, n])?;
    }
    Ok(())
}

/// Every stored version, oldest first: when first seen, its calls, and
/// those not ended that started since `?1` (Unix milliseconds).
pub(super) const VERSIONS: &str = "SELECT v.version, v.saved_at,
        (SELECT COUNT(*) FROM calls c WHERE c.version = v.version),
        (SELECT COUNT(*) FROM calls c WHERE c.version = v.version
            AND c.ended_at IS NULL AND c.started_at >= ?1)
    FROM flow_versions v ORDER BY v.saved_at, v.version";

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::writer::Writer;
    use super::*;
    use crate::engine::{self, CallStatus, Event};
    use jiff::Timestamp;
    use sqlx::SqliteConnection;

    /// A batch whose lists differ in length: more final statuses (for calls
    /// already over) than moved steps. Every row lands where it belongs.
    #[tokio::test]
    async fn a_batch_of_mixed_commits_binds_every_row_to_its_own_table() {
        let p = demo();
        let mut conn = migrated().await;
        let now = Timestamp::UNIX_EPOCH;
        let mut ended = Vec::new();
        for i in 0..3 {
            let first = start(&p, &format!("CA{i}"));
            let hung_up = engine::step(&p, &first.state, Event::Status(CallStatus::Completed), now);
            let c1 = Commit::from_step(&p, None, &first, now, None, None);
            let c2 = Commit::from_step(&p, Some(1), &hung_up, now, None, None);
            written(&mut conn, &[&c1]).await.expect("a new call");
            written(&mut conn, &[&c2]).await.expect("its hang-up");
            ended.push(hung_up);
        }
        // Three final statuses after the end (they move nothing) and one new call.
        let statuses: Vec<Commit> = ended
            .iter()
            .map(|s| {
                let late = engine::step(&p, &s.state, Event::Status(CallStatus::Completed), now);
                assert_eq!(
                    late.state.step, s.state.step,
                    "a status after the end moves nothing"
                );
                Commit::from_step(
                    &p,
                    Some(s.state.step),
                    &late,
                    now,
                    None,
                    Some("completed".into()),
                )
            })
            .collect();
        let fresh = Commit::from_step(&p, None, &start(&p, "CA9"), now, None, None);
        let mut batch: Vec<&Commit> = statuses.iter().collect();
        batch.push(&fresh);
        written(&mut conn, &batch).await.expect("the batch lands");
        assert_eq!(
            scalar(
                &mut conn,
                "SELECT COUNT(*) FROM calls WHERE final_status = 'completed'"
            )
            .await,
            3
        );
        assert_eq!(scalar(&mut conn, "SELECT COUNT(*) FROM calls").await, 4);
        assert_eq!(
            scalar(&mut conn, "SELECT COUNT(*) FROM voicemails").await,
            0
        );
        assert_eq!(scalar(&mut conn, "SELECT COUNT(*) FROM callbacks").await, 0);
        assert_eq!(scalar(&mut conn, "SELECT COUNT(*) FROM surveys").await, 0);
        assert_eq!(scalar(&mut conn, "SELECT COUNT(*) FROM steps").await, 7);

        // A hang-up and a late result with a final status for the same call,
        // both from step 1, in one batch: one call row, with both facts.
        let first = start(&p, "CA20");
        let c1 = Commit::from_step(&p, None, &first, now, None, None);
        written(&mut conn, &[&c1]).await.expect("a new call");
        let hung_up = engine::step(&p, &first.state, Event::Status(CallStatus::Completed), now);
        let late = engine::step(
            &p,
            &first.state,
            Event::Dial(engine::DialStatus::Completed),
            now,
        );
        let a = Commit::from_step(&p, Some(1), &hung_up, now, None, None);
        let b = Commit::from_step(&p, Some(1), &late, now, None, Some("completed".into()));
        assert!(a.moved() && !b.moved());
        written(&mut conn, &[&b, &a])
            .await
            .expect("the batch lands");
        let (ended, status, outcome): (Option<i64>, Option<String>, Option<String>) =
            sqlx::query_as(
                "SELECT ended_at, final_status, outcome FROM calls WHERE call_sid = 'CA20'",
            )
            .fetch_one(&mut conn)
            .await
            .expect("the call row");
        assert!(ended.is_some(), "the hang-up's end");
        assert_eq!(
            status.as_deref(),
            Some("completed"),
            "the other's final status"
        );
        assert_eq!(outcome.as_deref(), Some("abandoned"));
    }

    /// Write `commits` in one transaction through the writer's code, on
    /// `conn`, which is free again after.
    async fn written(
        conn: &mut SqliteConnection,
        commits: &[&Commit],
    ) -> Result<(), rusqlite::Error> {
        let mut writer = Writer::lock(conn).await.expect("the connection's handle");
        writer.write_waiting(commits).await
    }

    fn event(n: u8) -> Event {
        match n % 12 {
            0 => Event::Digits("1".into()),
            1 => Event::Digits("2".into()),
            2 => Event::Digits("3".into()),
            3 => Event::Digits("0".into()),
            4 => Event::Digits("12345678#".into()),
            5 => Event::NoInput,
            6 => Event::queue(engine::QueueResult::Bridged),
            7 => Event::queue(engine::QueueResult::Hangup),
            8 => Event::Dial(engine::DialStatus::NoAnswer),
            9 => Event::Recording {
                url: "https://api.twilio.com/r".into(),
                seconds: 9,
            },
            10 => Event::Digits("5".into()),
            _ => Event::Status(CallStatus::Completed),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        /// Random calls, their commits cut into random batches (at most one
        /// commit per call in a batch, as callbacks arrive), leave exactly
        /// the rows that writing every commit alone leaves.
        #[test]
        fn batches_store_exactly_what_single_commits_store(
            calls in proptest::collection::vec(proptest::collection::vec(0u8..12, 0..10), 1..12),
            cuts in proptest::collection::vec(1usize..6, 1..40),
            late in proptest::collection::vec(proptest::bool::ANY, 12),
        ) {
            let p = demo();
            // Saturday night and Monday morning alternate, for both hours' paths.
            let times: [Timestamp; 2] = [
                "2026-03-08T01:00:00Z".parse().expect("a time"),
                "2026-03-02T15:00:00Z".parse().expect("a time"),
            ];
            let mut chains: Vec<Vec<Commit>> = Vec::new();
            for (i, events) in calls.iter().enumerate() {
                let now = times[i % 2];
                let mut step = start(&p, &format!("CA{i:02}"));
                let mut chain = vec![Commit::from_step(&p, None, &step, now, Some(format!("<r{i}/>")), None)];
                for &e in events {
                    if step.state.wait == engine::Wait::Ended {
                        break;
                    }
                    let at = step.state.step;
                    step = engine::step(&p, &step.state, event(e), now);
                    chain.push(Commit::from_step(&p, Some(at), &step, now, Some(format!("<r{i}-{e}/>")), None));
                }
                if late.get(i).copied().unwrap_or(false) {
                    // Twilio's final status, after or in the middle of the call.
                    let at = step.state.step;
                    let status = engine::step(&p, &step.state, Event::Status(CallStatus::Completed), now);
                    chain.push(Commit::from_step(&p, Some(at), &status, now, None, Some("completed".into())));
                }
                chains.push(chain);
            }
            // Interleave the calls' commits in rounds, then cut into batches
            // that never hold two commits of one call.
            let mut order: Vec<&Commit> = Vec::new();
            let longest = chains.iter().map(Vec::len).max().unwrap_or(0);
            for k in 0..longest {
                order.extend(chains.iter().filter_map(|c| c.get(k)));
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a runtime");
            let (batched, single) = runtime.block_on(async {
                        let (mut a, mut b) = (migrated().await, migrated().await);
                let mut rest = &order[..];
                let mut cut = cuts.iter().cycle();
                while !rest.is_empty() {
                    let mut n = (*cut.next().unwrap_or(&1)).min(rest.len());
                    let mut seen = std::collections::HashSet::new();
                    for (j, c) in rest.iter().enumerate().take(n) {
                        if !seen.insert(c.state.call_id.as_str()) {
                            n = j;
                            break;
                        }
                    }
                    let (batch, after) = rest.split_at(n);
                    written(&mut a, batch).await.expect("a batch lands");
                    rest = after;
                }
                for c in &order {
                    written(&mut b, &[*c]).await.expect("a commit lands");
                }
                (contents(&mut a).await, contents(&mut b).await)
            });
            proptest::prop_assert_eq!(batched, single);
        }
    }
}
