//! The SQLite store with real files: whole calls survive a restart, the
//! group-commit writer loses nothing under concurrency, caller history; and
//! the PostgreSQL store's optimistic check across two instances.

use switchboard::engine::{self, Event, QueueResult, Start};
use switchboard::program::Program;
use switchboard::provider::{BaseUrls, twilio};
use switchboard::store::{Commit, Store, StoreError};

fn demo() -> Program {
    let set = switchboard::flow::load_dir(std::path::Path::new("flows")).unwrap();
    switchboard::compile::compile(&set).program.unwrap()
}

async fn count(db: &std::path::Path, table: &str) -> i64 {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
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

/// A fresh store with one call (CA1) started on the demo, Monday 10:00 in
/// New York: the directory (keep it alive), the URL, the store, the
/// program, the time and the first step.
async fn one_call() -> (
    tempfile::TempDir,
    String,
    Store,
    Program,
    jiff::Timestamp,
    engine::Step,
) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("calls.db").display());
    let store = Store::open(&url).await.unwrap();
    let p = demo();
    let now: jiff::Timestamp = "2026-03-02T15:00:00Z".parse().unwrap();
    let first = engine::start(&p, start("CA1", "+1"), now);
    store
        .commit(Commit::from_step(&p, None, &first, now, None, None))
        .await
        .unwrap();
    (dir, url, store, p, now, first)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_call_is_stored_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("calls.db");
    let url = format!("sqlite://{}", db.display());
    let p = demo();
    let urls = BaseUrls::new("https://ivr.example.com", "twilio");
    let now: jiff::Timestamp = "2026-03-02T15:00:00Z".parse().unwrap();

    let store = Store::open(&url).await.unwrap();
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

    let store = Store::open(&url).await.unwrap();
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
        Event::Queue(QueueResult::Bridged),
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
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let (steps, node, wait): (i64, String, String) =
        sqlx::query_as("SELECT step, node, wait FROM calls_now WHERE call_sid = 'CA1'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (steps as u64, node.as_str(), wait.as_str()),
        (
            step.state.step,
            p.qualified_name(step.state.at).as_str(),
            "Ended"
        ),
        "calls_now shows the call as of its latest step"
    );
    let (outcome, group, ended, status): (String, String, Option<i64>, Option<String>) =
        sqlx::query_as(
            "SELECT outcome, outcome_group, ended_at, final_status FROM calls WHERE call_sid = 'CA1'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        (
            outcome.as_str(),
            group.as_str(),
            ended.is_some(),
            status.as_deref()
        ),
        ("group:billing", "billing", true, Some("completed"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commits_are_grouped_and_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("calls.db");
    let store = Store::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
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
        count(&db, "steps, json_each(steps.events)").await as u64,
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

#[tokio::test]
async fn history_lists_a_callers_earlier_calls() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("h.db").display()))
        .await
        .unwrap();
    let p = demo();
    let t0: jiff::Timestamp = "2026-03-02T15:00:00Z".parse().unwrap();
    let step = engine::start(&p, start("CA1", "+15550002222"), t0);
    let step = engine::step(&p, &step.state, Event::Digits("1".into()), t0);
    let step = engine::step(&p, &step.state, Event::Digits("0".into()), t0);
    let step = engine::step(&p, &step.state, Event::Queue(QueueResult::Bridged), t0);
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
}

#[tokio::test]
async fn a_stale_or_duplicate_write_is_a_conflict_and_changes_nothing() {
    let (_dir, url, store, p, now, first) = one_call().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_in_one_batch_lose_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("d.db").display()))
        .await
        .unwrap();
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

#[tokio::test]
async fn an_event_that_moves_nothing_is_logged_at_its_step() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let store = Store::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
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
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let (at,): (i64,) = sqlx::query_as(
        "SELECT key FROM steps, json_each(steps.events) WHERE value ->> '$.type' = 'ignored'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
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

// One thread: the writer cannot answer before the caller gives up.
#[tokio::test(flavor = "current_thread")]
async fn a_commit_whose_caller_went_away_before_it_was_written_is_not_stored() {
    let (_dir, url, store, p, now, first) = one_call().await;
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
