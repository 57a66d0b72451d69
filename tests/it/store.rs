//! The store on both backends, a SQLite file and a PostgreSQL database:
//! whole calls survive a restart, the group-commit writers lose nothing
//! under concurrency, caller history, the optimistic step check.

use crate::support::db::{Database, TestDb};
use switchboard::engine::{self, Event, QueueResult, Start};
use switchboard::program::Program;
use switchboard::provider::{BaseUrls, twilio};
use switchboard::store::{Commit, Store, StoreError};

fn demo() -> Program {
    let set = switchboard::flow::load_dir(std::path::Path::new("flows")).unwrap();
    switchboard::compile::compile(&set).program.unwrap()
}

async fn count(db: &TestDb, table: &str) -> i64 {
    db.count(&format!("SELECT COUNT(*) FROM {table}")).await
}

/// Every record in every step's event log, as a table to count.
fn records(db: &TestDb) -> &'static str {
    if db.is_postgres() {
        "steps, jsonb_array_elements(steps.events)"
    } else {
        "steps, json_each(steps.events)"
    }
}

/// Step a call through `events`, committing each step as the server does;
/// returns how many records were written.
async fn play(
    store: &Store,
    p: &Program,
    step: &mut engine::Step,
    render: &dyn Fn(&engine::Step) -> String,
    events: Vec<Event>,
    now: jiff::Timestamp,
) -> u64 {
    let mut records = 0;
    for e in events {
        let at = step.state.step;
        *step = engine::step(p, &step.state, e, now);
        records += step.records.len() as u64;
        store
            .commit(Commit::from_step(
                p,
                Some(at),
                step,
                now,
                Some(render(step)),
                None,
            ))
            .await
            .unwrap();
    }
    records
}

/// Feed an event that moves nothing (the call stays at its step) and commit it.
async fn unmoved(
    store: &Store,
    p: &Program,
    at: &engine::Step,
    event: Event,
    now: jiff::Timestamp,
    response: Option<String>,
    final_status: Option<String>,
) -> engine::Step {
    let step = engine::step(p, &at.state, event, now);
    assert_eq!(step.state.step, at.state.step, "nothing moved");
    store
        .commit(Commit::from_step(
            p,
            Some(at.state.step),
            &step,
            now,
            response,
            final_status,
        ))
        .await
        .unwrap();
    step
}

/// A store on `db` with one call (CA1) started on the demo, Monday 10:00
/// in New York: the URL, the store, the program, the time and the first step.
async fn one_call(db: &TestDb) -> (String, Store, Program, jiff::Timestamp, engine::Step) {
    let url = db.url();
    let store = Store::open(&url).await.unwrap();
    let p = demo();
    let now: jiff::Timestamp = "2026-03-02T15:00:00Z".parse().unwrap();
    let first = engine::start(&p, start("CA1", "+1"), now);
    store
        .commit(Commit::from_step(&p, None, &first, now, None, None))
        .await
        .unwrap();
    (url, store, p, now, first)
}

fn start(call: &str, caller: &str) -> Start {
    Start {
        call_id: call.into(),
        caller: caller.into(),
        called: "+18005550100".into(),
        history: vec![],
        language: None,
    }
}

async fn a_whole_call_is_stored_and_survives_a_restart(db: TestDb) {
    let url = db.url();
    let p = demo();
    let urls = BaseUrls::new("https://ivr.example.com", "twilio");
    let now: jiff::Timestamp = "2026-03-02T15:00:00Z".parse().unwrap();

    // With a data key, the sealed account number survives too.
    let store = Store::open(&url)
        .await
        .unwrap()
        .with_keys(crate::support::data_key());
    let mut step = engine::start(&p, start("CA1", "+15550001111"), now);
    let mut records = step.records.len() as u64;
    let render = |s: &engine::Step| twilio::render(&s.actions, &p, "CA1", s.state.step, &urls);
    store
        .commit(Commit::from_step(
            &p,
            None,
            &step,
            now,
            Some(render(&step)),
            None,
        ))
        .await
        .unwrap();
    // English, billing, account number: then the server restarts mid-call.
    let events = vec![
        Event::Digits("1".into()),
        Event::Digits("2".into()),
        Event::Digits("12345678#".into()),
    ];
    records += play(&store, &p, &mut step, &render, events, now).await;
    let queued_twiml = render(&step);
    store.close().await;

    let store = Store::open(&url)
        .await
        .unwrap()
        .with_keys(crate::support::data_key());
    let state = store
        .load("CA1")
        .await
        .unwrap()
        .expect("the call survives the restart");
    assert_eq!(state, step.state);
    assert_eq!(
        store.response("CA1", state.step).await.unwrap(),
        Some(queued_twiml),
        "a retried callback gets the same TwiML"
    );
    // The call continues where it was: served by billing, rates the call 5.
    let events = vec![
        Event::queue(QueueResult::Bridged),
        Event::Digits("5".into()),
    ];
    records += play(&store, &p, &mut step, &render, events, now).await;
    assert_eq!(
        store.event_count("CA1").await.unwrap(),
        records,
        "every record is in the event log"
    );
    assert!(
        !store.log_complete("CA1").await.unwrap(),
        "ended, but no final status yet"
    );
    // Twilio's status callback comes after the end: it moves nothing but
    // records the final status.
    unmoved(
        &store,
        &p,
        &step,
        Event::Status(engine::CallStatus::Completed),
        now,
        None,
        Some("completed".into()),
    )
    .await;
    assert!(
        store.log_complete("CA1").await.unwrap(),
        "ended, final status in, every step from the first to the last"
    );
    store.close().await;
    assert_eq!(count(&db, "surveys").await, 1);
    let (steps, node) = db
        .row("SELECT step, node FROM calls_now WHERE call_sid = 'CA1'")
        .await;
    let (ended, wait) = db
        .row("SELECT COUNT(*), MAX(wait) FROM calls_now WHERE call_sid = 'CA1' AND ended_at IS NOT NULL")
        .await;
    assert_eq!(
        (steps as u64, node.as_deref(), ended, wait.as_deref()),
        (
            step.state.step,
            Some(p.qualified_name(step.state.at).as_str()),
            1,
            Some("Ended")
        ),
        "calls_now shows the call as of its latest step"
    );
    let (_, summary) = db
        .row(
            "SELECT CAST(0 AS BIGINT), outcome || ' ' || outcome_group || ' ' || final_status FROM calls
             WHERE call_sid = 'CA1' AND ended_at IS NOT NULL",
        )
        .await;
    assert_eq!(summary.as_deref(), Some("group:billing billing completed"));
}

async fn concurrent_commits_are_grouped_and_all_land(db: TestDb) {
    let store = Store::open(&db.url()).await.unwrap();
    let p = std::sync::Arc::new(demo());
    let now: jiff::Timestamp = "2026-03-08T01:00:00Z".parse().unwrap(); // Saturday 20:00 in New York
    let mut tasks = Vec::new();
    for i in 0..500 {
        let (store, p) = (store.clone(), p.clone());
        tasks.push(tokio::spawn(async move {
            let call = format!("CA{i:04}");
            let step = engine::start(&p, start(&call, "+15550001111"), now);
            let step = engine::step(&p, &step.state, Event::Digits("1".into()), now);
            let step = engine::step(&p, &step.state, Event::Digits("2".into()), now);
            store
                .commit(Commit::from_step(&p, None, &step, now, None, None))
                .await
                .map(|()| step.records.len() as u64)
        }));
    }
    let mut expected = 0;
    for t in tasks {
        expected += t.await.unwrap().unwrap();
    }
    assert_eq!(count(&db, "calls").await, 500);
    assert_eq!(count(&db, "steps").await, 500);
    assert_eq!(
        count(&db, records(&db)).await as u64,
        expected,
        "every record in the event log"
    );
    assert_eq!(
        count(&db, "callbacks").await,
        500,
        "Saturday night: closed, callbacks promised"
    );
    store.close().await;
    assert!(matches!(
        store
            .commit(Commit::from_step(
                &p,
                None,
                &engine::start(&p, start("CAX", "+1"), now),
                now,
                None,
                None
            ))
            .await,
        Err(StoreError::Closed)
    ));
}

async fn history_lists_a_callers_earlier_calls(db: TestDb) {
    let store = Store::open(&db.url()).await.unwrap();
    let p = demo();
    let t0: jiff::Timestamp = "2026-03-02T15:00:00Z".parse().unwrap();
    let step = engine::start(&p, start("CA1", "+15550002222"), t0);
    let step = engine::step(&p, &step.state, Event::Digits("1".into()), t0);
    let step = engine::step(&p, &step.state, Event::Digits("0".into()), t0);
    let step = engine::step(&p, &step.state, Event::queue(QueueResult::Bridged), t0);
    store
        .commit(Commit::from_step(&p, None, &step, t0, None, None))
        .await
        .unwrap();
    let since = t0.checked_sub(jiff::SignedDuration::from_hours(1)).unwrap();
    let h = store.history("+15550002222", since).await.unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!((h[0].at, h[0].group.as_deref()), (t0, Some("general")));
    assert!(
        store
            .history("+15550009999", since)
            .await
            .unwrap()
            .is_empty()
    );
    let later = t0.checked_add(jiff::SignedDuration::from_hours(1)).unwrap();
    assert!(
        store
            .history("+15550002222", later)
            .await
            .unwrap()
            .is_empty()
    );
    store.close().await;
}

#[tokio::test]
async fn unsupported_urls_are_refused_with_a_hint() {
    let e = Store::open("mysql://localhost/x").await.unwrap_err();
    assert!(e.to_string().contains("use sqlite://FILE"), "{e}");
    assert!(e.to_string().contains("postgres://"), "{e}");
}

async fn a_stale_or_duplicate_write_is_a_conflict_and_changes_nothing(db: TestDb) {
    let (url, store, p, now, first) = one_call(&db).await;
    // The same new call again (a retried voice request): refused.
    let again = store
        .commit(Commit::from_step(&p, None, &first, now, None, None))
        .await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    // Two callbacks answering step 1: the first wins, the second conflicts.
    let a = engine::step(&p, &first.state, Event::Digits("1".into()), now);
    let b = engine::step(&p, &first.state, Event::Digits("2".into()), now);
    store
        .commit(Commit::from_step(
            &p,
            Some(first.state.step),
            &a,
            now,
            None,
            None,
        ))
        .await
        .unwrap();
    let lost = store
        .commit(Commit::from_step(
            &p,
            Some(first.state.step),
            &b,
            now,
            None,
            None,
        ))
        .await;
    assert!(matches!(lost, Err(StoreError::Conflict)), "{lost:?}");
    assert_eq!(store.load("CA1").await.unwrap(), Some(a.state.clone()));
    assert_eq!(
        store.event_count("CA1").await.unwrap(),
        (first.records.len() + a.records.len()) as u64
    );
    store.close().await;
    // The database agrees with the cache of live calls.
    let store = Store::open(&url).await.unwrap();
    assert_eq!(store.load("CA1").await.unwrap(), Some(a.state.clone()));
    store.close().await;
}

/// On PostgreSQL, the race is between instances: each commit is alone in
/// its batch, and the loser still hears a conflict (not a database error),
/// so a status callback reads the call again rather than asking for a retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_or_duplicate_write_from_another_instance_is_a_conflict() {
    let Some(db) = crate::support::pg::PgDb::create().await else {
        return;
    };
    let (one, other) = (
        Store::open(&db.url).await.unwrap(),
        Store::open(&db.url).await.unwrap(),
    );
    let p = demo();
    let now: jiff::Timestamp = "2026-03-02T15:00:00Z".parse().unwrap();
    let first = engine::start(&p, start("CA1", "+1"), now);
    one.commit(Commit::from_step(&p, None, &first, now, None, None))
        .await
        .unwrap();
    let again = other
        .commit(Commit::from_step(&p, None, &first, now, None, None))
        .await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    // Both know the call at its first step; the first instance moves it on.
    assert_eq!(other.load("CA1").await.unwrap(), Some(first.state.clone()));
    let a = engine::step(&p, &first.state, Event::Digits("1".into()), now);
    let b = engine::step(&p, &first.state, Event::Digits("2".into()), now);
    let at = Some(first.state.step);
    one.commit(Commit::from_step(&p, at, &a, now, None, None))
        .await
        .unwrap();
    let lost = other
        .commit(Commit::from_step(&p, at, &b, now, None, None))
        .await;
    assert!(matches!(lost, Err(StoreError::Conflict)), "{lost:?}");
    // The loser forgot its stale memory of the call and reads the winner's.
    assert_eq!(other.load("CA1").await.unwrap(), Some(a.state.clone()));
    one.close().await;
    other.close().await;
}

async fn duplicates_in_one_batch_lose_alone(db: TestDb) {
    let store = Store::open(&db.url()).await.unwrap();
    let p = std::sync::Arc::new(demo());
    let now: jiff::Timestamp = "2026-03-02T15:00:00Z".parse().unwrap();
    // Every new call sent twice at once: the pairs land in the same batches.
    let mut tasks = Vec::new();
    for i in 0..200 {
        let step = engine::start(&p, start(&format!("CA{i:03}"), "+1"), now);
        for _ in 0..2 {
            let (store, p, step) = (store.clone(), p.clone(), step.clone());
            tasks.push(tokio::spawn(async move {
                store
                    .commit(Commit::from_step(&p, None, &step, now, None, None))
                    .await
            }));
        }
    }
    let (mut won, mut lost) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => won += 1,
            Err(StoreError::Conflict) => lost += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(
        (won, lost),
        (200, 200),
        "one of each pair lands, the other conflicts"
    );
    for i in 0..200 {
        assert!(store.load(&format!("CA{i:03}")).await.unwrap().is_some());
    }
    store.close().await;
}

async fn an_event_that_moves_nothing_is_logged_at_its_step(db: TestDb) {
    let store = Store::open(&db.url()).await.unwrap();
    let p = demo();
    let now: jiff::Timestamp = "2026-03-02T15:00:00Z".parse().unwrap();
    let first = engine::start(&p, start("CA1", "+1"), now);
    store
        .commit(Commit::from_step(
            &p,
            None,
            &first,
            now,
            Some("<Response/>".into()),
            None,
        ))
        .await
        .unwrap();
    // A dial result at the language menu: ignored, the call stays at step 1.
    let late = unmoved(
        &store,
        &p,
        &first,
        Event::Dial(engine::DialStatus::Completed),
        now,
        Some("<Response>repeat</Response>".into()),
        None,
    )
    .await;
    assert_eq!(
        store.event_count("CA1").await.unwrap(),
        (first.records.len() + late.records.len()) as u64,
        "the ignored event is in the log"
    );
    assert_eq!(count(&db, "steps").await, 1, "no new step");
    assert_eq!(
        store.response("CA1", 1).await.unwrap().as_deref(),
        Some("<Response/>"),
        "a retry of step 1 still gets the first answer"
    );
    let (at, _) = db
        .row(if db.is_postgres() {
            "SELECT (e.n - 1)::int8, NULL::text FROM steps,
                 jsonb_array_elements(steps.events) WITH ORDINALITY AS e(value, n)
             WHERE e.value ->> 'type' = 'ignored'"
        } else {
            "SELECT key, NULL FROM steps, json_each(steps.events)
             WHERE value ->> '$.type' = 'ignored'"
        })
        .await;
    assert_eq!(
        at as usize,
        first.records.len(),
        "appended after the step's own records"
    );
    store.close().await;
}

#[tokio::test]
async fn a_database_from_an_older_schema_is_refused_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("old.db").display());
    Store::open(&url).await.unwrap().close().await;
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("UPDATE _sqlx_migrations SET checksum = x'00'")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let e = Store::open(&url).await.unwrap_err();
    assert!(
        e.to_string().contains("move the database file aside"),
        "{e}"
    );
}

async fn a_commit_whose_caller_went_away_before_it_was_written_is_not_stored(db: TestDb) {
    let (url, store, p, now, first) = one_call(&db).await;
    // The handler is dropped (its deadline passed: the caller heard the
    // apology instead) after its commit was queued.
    let next = engine::step(&p, &first.state, Event::Digits("1".into()), now);
    let commit = Commit::from_step(&p, Some(first.state.step), &next, now, None, None);
    let mut pending = Box::pin(store.commit(commit));
    let first_poll =
        std::future::poll_fn(|cx| std::task::Poll::Ready(pending.as_mut().poll(cx))).await;
    assert!(first_poll.is_pending(), "queued, not yet written");
    drop(pending);
    // A later commit of another call goes through the writer after it.
    let other = engine::start(&p, start("CA2", "+15550002222"), now);
    let commit = Commit::from_step(&p, None, &other, now, None, None);
    store.commit(commit).await.unwrap();
    assert_eq!(
        store.load("CA1").await.unwrap().map(|s| s.step),
        Some(first.state.step),
        "memory holds what the caller heard"
    );
    store.close().await;
    let store = Store::open(&url).await.unwrap();
    assert_eq!(
        store.load("CA1").await.unwrap().map(|s| s.step),
        Some(first.state.step),
        "and so does the database"
    );
    store.close().await;
}

/// A step of a call that was never stored (its new-call commit lost): refused,
/// and nothing written, alone or in a batch beside other commits.
async fn a_step_of_a_call_that_is_not_stored_is_refused_and_writes_nothing(db: TestDb) {
    let store = Store::open(&db.url()).await.unwrap();
    let p = std::sync::Arc::new(demo());
    let now: jiff::Timestamp = "2026-03-02T15:00:00Z".parse().unwrap();
    let ghost = engine::start(&p, start("CA-ghost", "+1"), now);
    let next = engine::step(&p, &ghost.state, Event::Digits("1".into()), now);
    let orphan = Commit::from_step(&p, Some(1), &next, now, None, None);
    let refused = store.commit(orphan.clone()).await;
    assert!(
        matches!(refused, Err(StoreError::Database(_))),
        "{refused:?}"
    );
    // Beside new calls in the same batches: only the orphan fails.
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (store, p) = (store.clone(), p.clone());
        tasks.push(tokio::spawn(async move {
            let first = engine::start(&p, start(&format!("CA-n{i}"), "+1"), now);
            store
                .commit(Commit::from_step(&p, None, &first, now, None, None))
                .await
        }));
    }
    let lone = store.commit(orphan).await;
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert!(lone.is_err());
    assert_eq!(count(&db, "calls").await, 50);
    assert_eq!(count(&db, "steps").await, 50);
    store.close().await;
}

crate::on_both! {
    a_step_of_a_call_that_is_not_stored_is_refused_and_writes_nothing,
    a_whole_call_is_stored_and_survives_a_restart,
    concurrent_commits_are_grouped_and_all_land,
    history_lists_a_callers_earlier_calls,
    a_stale_or_duplicate_write_is_a_conflict_and_changes_nothing,
    duplicates_in_one_batch_lose_alone,
    an_event_that_moves_nothing_is_logged_at_its_step,
}

// One thread: the writer cannot answer before the caller gives up.
mod a_commit_whose_caller_went_away_before_it_was_written_is_not_stored {
    use crate::support::db::TestDb;

    #[tokio::test(flavor = "current_thread")]
    async fn sqlite() {
        super::a_commit_whose_caller_went_away_before_it_was_written_is_not_stored(TestDb::sqlite())
            .await
    }

    #[tokio::test(flavor = "current_thread")]
    async fn postgres() {
        if let Some(db) = TestDb::postgres().await {
            super::a_commit_whose_caller_went_away_before_it_was_written_is_not_stored(db).await
        }
    }
}

/// A random event for a walk through the demo.
fn event(n: u8) -> Event {
    match n % 12 {
        0 => Event::Digits("1".into()),
        1 => Event::Digits("2".into()),
        2 => Event::Digits("3".into()),
        3 => Event::Digits("0".into()),
        4 => Event::Digits("12345678#".into()),
        5 => Event::NoInput,
        6 => Event::queue(QueueResult::Bridged),
        7 => Event::queue(QueueResult::Hangup),
        8 => Event::Dial(engine::DialStatus::NoAnswer),
        9 => Event::Recording {
            url: "https://api.twilio.com/r".into(),
            seconds: 9,
        },
        10 => Event::Digits("5".into()),
        _ => Event::Status(engine::CallStatus::Completed),
    }
}

/// Each call's commits, in order, for random walks through the demo (with
/// a final status after or in the middle of some calls).
fn chains(p: &Program, calls: &[Vec<u8>], late: &[bool]) -> Vec<Vec<Commit>> {
    let times: [jiff::Timestamp; 2] = [
        "2026-03-08T01:00:00Z".parse().unwrap(),
        "2026-03-02T15:00:00Z".parse().unwrap(),
    ];
    let mut chains = Vec::new();
    for (i, events) in calls.iter().enumerate() {
        let now = times[i % 2];
        let mut step = engine::start(p, start(&format!("CA{i:02}"), "+15550001111"), now);
        let mut chain = vec![Commit::from_step(
            p,
            None,
            &step,
            now,
            Some(format!("<r{i}/>")),
            None,
        )];
        for &e in events {
            if step.state.wait == engine::Wait::Ended {
                break;
            }
            let at = step.state.step;
            step = engine::step(p, &step.state, event(e), now);
            chain.push(Commit::from_step(
                p,
                Some(at),
                &step,
                now,
                Some(format!("<r{i}-{e}/>")),
                None,
            ));
        }
        if late.get(i).copied().unwrap_or(false) {
            let at = step.state.step;
            let status = engine::step(
                p,
                &step.state,
                Event::Status(engine::CallStatus::Completed),
                now,
            );
            chain.push(Commit::from_step(
                p,
                Some(at),
                &status,
                now,
                None,
                Some("completed".into()),
            ));
        }
        chains.push(chain);
    }
    chains
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(8))]
    /// Random calls committed all at once on PostgreSQL (each call's
    /// commits in order, the calls side by side, so the writers batch them
    /// as they come) leave exactly the rows that SQLite holds after the
    /// same commits one at a time: one meaning, whichever backend.
    #[test]
    fn postgres_batches_store_what_sqlite_stores_one_by_one(
        calls in proptest::collection::vec(proptest::collection::vec(0u8..12, 0..10), 1..16),
        late in proptest::collection::vec(proptest::bool::ANY, 16),
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let compared = runtime.block_on(async {
            let pg = TestDb::postgres().await?;
            let p = std::sync::Arc::new(demo());
            let chains = chains(&p, &calls, &late);
            let sqlite = TestDb::sqlite();
            let one = Store::open(&sqlite.url()).await.unwrap();
            for chain in &chains {
                for c in chain {
                    one.commit(c.clone()).await.unwrap();
                }
            }
            one.close().await;
            let many = Store::open(&pg.url()).await.unwrap();
            let tasks: Vec<_> = chains
                .into_iter()
                .map(|chain| {
                    let many = many.clone();
                    tokio::spawn(async move {
                        for c in chain {
                            many.commit(c).await.unwrap();
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            many.close().await;
            Some((pg.contents().await, sqlite.contents().await))
        });
        if let Some((batched, single)) = compared {
            proptest::prop_assert_eq!(batched, single);
        }
    }
}
