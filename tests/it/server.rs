//! The webhook server as Twilio meets it: a real server on 127.0.0.1:0 with
//! a SQLite file (or two instances over one PostgreSQL database), signed
//! form posts, and our own TwiML's action URLs followed as Twilio would
//! follow them.

use crate::support::db::{Database, TestDb};
use crate::support::xml::{El, Node, tree};
use std::net::SocketAddr;
use std::path::Path;
use switchboard::loadtest::Targets;
use switchboard::provider::twilio::signature::{Algorithm, sign};
use switchboard::server::{AppState, Limits, run, serve};
use switchboard::store::Store;

pub(crate) const TOKEN: &str = "12345";

pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    pub(crate) state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// A server's state over `program` and a database, signed with [`TOKEN`].
pub(crate) async fn state(
    program: switchboard::program::Program,
    db: &(impl Database + ?Sized),
    recordings: std::path::PathBuf,
    clock: Option<switchboard::server::Clock>,
) -> AppState {
    let store = Store::open(&db.url())
        .await
        .unwrap()
        .with_keys(crate::support::data_key());
    let state = AppState::new(program, store, recordings, Some(TOKEN.into()), None)
        .with_uploads(std::env::temp_dir().join("switchboard-test-uploads"));
    match clock {
        Some(c) => state.with_clock(c),
        None => state,
    }
}

impl Server {
    /// The demo flows, a SQLite file, the real clock.
    pub(crate) async fn start(db: &(impl Database + ?Sized)) -> Server {
        let set = switchboard::flow::load_dir(Path::new("flows")).unwrap();
        let program = switchboard::compile::compile(&set).program.unwrap();
        Server::with(program, db, None).await
    }

    /// A server on 127.0.0.1:0 over `program` and `db`, with a clock of the test's choosing.
    pub(crate) async fn with(
        program: switchboard::program::Program,
        db: &(impl Database + ?Sized),
        clock: Option<switchboard::server::Clock>,
    ) -> Server {
        let state = state(program, db, "recordings".into(), clock).await;
        Server::launch(state, None).await
    }

    /// The demo flows over the database at `url` (any backend), their
    /// version stored first as `switchboard serve` does: one of several
    /// instances when they share the database.
    pub(crate) async fn on_database(url: &str) -> Server {
        Server::serving(Path::new("flows"), url, None).await
    }

    /// The demo flows and a SQLite file, served with `limits` on connections.
    pub(crate) async fn with_limits(db: &(impl Database + ?Sized), limits: Limits) -> Server {
        let set = switchboard::flow::load_dir(Path::new("flows")).unwrap();
        let program = switchboard::compile::compile(&set).program.unwrap();
        let state = state(program, db, "recordings".into(), None).await;
        Server::launch(state, Some(limits)).await
    }

    /// A server as `switchboard serve` starts one: on the flow directory
    /// `flows`, its version stored before the first call.
    pub(crate) async fn serving(
        flows: &Path,
        db: &(impl Database + ?Sized),
        clock: Option<switchboard::server::Clock>,
    ) -> Server {
        Server::serving_with(flows, db, clock, |s| s).await
    }

    /// [`Server::serving`], with the state changed by `configure` first.
    pub(crate) async fn serving_with(
        flows: &Path,
        db: &(impl Database + ?Sized),
        clock: Option<switchboard::server::Clock>,
        configure: impl FnOnce(AppState) -> AppState,
    ) -> Server {
        let set = switchboard::flow::load_dir(flows).unwrap();
        let program = switchboard::compile::compile(&set).program.unwrap();
        let state = configure(state(program, db, set.recordings.root.clone(), clock).await);
        state.save_current(&set).await.unwrap();
        Server::launch(state, None).await
    }

    /// Serve `state` on 127.0.0.1:0: by `run` (the default limits), or by
    /// `serve` with `limits`.
    pub(crate) async fn launch(state: AppState, limits: Option<Limits>) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let handle = state.clone();
        let stopped = async move {
            let _ = stopped.await;
        };
        let task = match limits {
            None => tokio::spawn(run(listener, state, stopped)),
            Some(limits) => tokio::spawn(serve(listener, state, limits, stopped)),
        };
        Server {
            addr,
            state: handle,
            stop: Some(stop),
            task,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.task.await.unwrap().unwrap();
    }
}

pub(crate) fn encode(params: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

/// POST as Twilio does: form body, signed with the auth token.
pub(crate) async fn post(
    url: &str,
    params: &[(&str, &str)],
    signature: Option<String>,
) -> (u16, String) {
    let pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    let sig = signature.unwrap_or_else(|| sign(Algorithm::Sha1, TOKEN, url, &pairs));
    let res = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", sig)
        .body(encode(params))
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

pub(crate) fn find<'a>(el: &'a El, name: &str) -> Option<&'a El> {
    if el.name == name {
        return Some(el);
    }
    el.children.iter().find_map(|c| match c {
        Node::El(e) => find(e, name),
        Node::Text(_) => None,
    })
}

pub(crate) fn text(el: &El) -> String {
    el.children
        .iter()
        .map(|c| {
            if let Node::Text(t) = c {
                t.clone()
            } else {
                String::new()
            }
        })
        .collect()
}

/// Where Twilio posts the result of this document's waiting verb.
pub(crate) fn action(doc: &str) -> String {
    let root = tree(doc);
    ["Gather", "Enqueue", "Dial", "Record"]
        .iter()
        .find_map(|v| find(&root, v).and_then(|e| e.attrs.get("action").cloned()))
        .unwrap_or_else(|| panic!("no action in {doc}"))
}

pub(crate) fn call(sid: &str) -> Vec<(&str, &str)> {
    vec![
        ("CallSid", sid),
        ("AccountSid", "AC1"),
        ("From", "+15550001111"),
        ("To", "+18005550100"),
        ("CallStatus", "ringing"),
    ]
}

/// Answer `doc` as Twilio does: post the call's sid and `params` to the
/// action it names, on the server at `base`; the status and the next document.
pub(crate) async fn answer(
    base: &str,
    sid: &str,
    doc: &str,
    params: &[(&str, &str)],
) -> (u16, String) {
    let url = action(doc);
    let path = &url[url.find("/twilio").unwrap()..];
    let mut all = vec![("CallSid", sid)];
    all.extend_from_slice(params);
    post(&format!("{base}{path}"), &all, None).await
}

/// A new call answered in English, up to the main menu, on the server at
/// `base` (`http://host:port`): the menu's document.
pub(crate) async fn to_the_menu(base: &str, sid: &str) -> String {
    let (code, first) = post(&format!("{base}/twilio/voice"), &call(sid), None).await;
    assert_eq!(code, 200, "{first}");
    let url = action(&first);
    let path = &url[url.find("/twilio").unwrap()..];
    let (code, menu) = post(
        &format!("{base}{path}"),
        &[("CallSid", sid), ("Digits", "1")],
        None,
    )
    .await;
    assert_eq!(code, 200, "{menu}");
    menu
}

/// Twilio's status callback for a call that ended `completed` after
/// `seconds`; the HTTP status it got.
pub(crate) async fn completed(server: &Server, sid: &str, seconds: &str) -> u16 {
    let params = [
        ("CallSid", sid),
        ("CallStatus", "completed"),
        ("CallDuration", seconds),
    ];
    post(&server.url("/twilio/status"), &params, None).await.0
}

async fn a_signed_call_walks_the_demo_and_survives_a_restart(db: TestDb) {
    let server = Server::start(&db).await;
    let (code, doc) = post(&server.url("/twilio/voice"), &call("CA1"), None).await;
    assert_eq!(code, 200, "{doc}");
    assert!(doc.contains("language_menu.wav"), "{doc}");
    // English.
    let (_, doc) = post(&action(&doc), &[("CallSid", "CA1"), ("Digits", "1")], None).await;
    let hours_open = doc.contains("For orders, press 1");
    let next = action(&doc);
    // The server restarts mid-call; the call continues where it was.
    server.stop().await;
    let server = Server::start(&db).await;
    let next = next.replace(
        &next[7..next.find("/twilio").unwrap()],
        &server.addr.to_string(),
    );
    let (code, doc) = post(&next, &[("CallSid", "CA1"), ("Digits", "")], None).await;
    assert_eq!(code, 200);
    let said = text(find(&tree(&doc), "Say").unwrap());
    if hours_open {
        assert_eq!(said, "Sorry, I didn't hear a choice.", "{doc}");
    } else {
        assert!(
            said.contains("Our customer service team is available"),
            "{doc}"
        );
    }
    assert_eq!(completed(&server, "CA1", "40").await, 204);
    server.stop().await;
    let store = Store::open(&db.url()).await.unwrap();
    let state = store.load("CA1").await.unwrap().unwrap();
    assert_eq!(state.wait, switchboard::engine::Wait::Ended);
    assert_eq!(state.outcome, Some(switchboard::engine::Outcome::Abandoned));
    store.close().await;
}

async fn duplicates_forgeries_and_oversized_bodies_change_nothing(db: TestDb) {
    let server = Server::start(&db).await;
    let (_, first) = post(&server.url("/twilio/voice"), &call("CA2"), None).await;
    // Twilio retries the new-call request: the same document.
    let (_, again) = post(&server.url("/twilio/voice"), &call("CA2"), None).await;
    assert_eq!(again, first);
    let step_url = action(&first);
    let (_, a) = post(&step_url, &[("CallSid", "CA2"), ("Digits", "2")], None).await;
    let (_, b) = post(&step_url, &[("CallSid", "CA2"), ("Digits", "2")], None).await;
    assert_eq!(a, b, "a duplicated callback gets the same TwiML");
    assert!(a.contains("s=2"), "{a}");
    // Forged, missing and cross-call signatures: 403, nothing stored.
    let (code, _) = post(
        &action(&a),
        &[("CallSid", "CA2"), ("Digits", "1")],
        Some("Zm9yZ2Vk".into()),
    )
    .await;
    assert_eq!(code, 403);
    let res = reqwest::Client::new()
        .post(action(&a))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("CallSid=CA2&Digits=1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    let (code, _) = post(&action(&a), &[("CallSid", "CA9"), ("Digits", "1")], None).await;
    assert_eq!(code, 400, "a CallSid that is not the URL's call");
    // A 1 MiB body: 413.
    let big = "x".repeat(1 << 20);
    let (code, _) = post(
        &server.url("/twilio/voice"),
        &[("CallSid", "CA3"), ("To", "+1"), ("Pad", &big)],
        None,
    )
    .await;
    assert_eq!(code, 413);
    server.stop().await;
    let store = Store::open(&db.url()).await.unwrap();
    assert_eq!(
        store.load("CA2").await.unwrap().unwrap().step,
        2,
        "advanced exactly once"
    );
    assert!(store.load("CA3").await.unwrap().is_none());
    store.close().await;
}

async fn an_unknown_call_gets_the_fallback_route_not_an_error(db: TestDb) {
    let server = Server::start(&db).await;
    let url = server.url("/twilio/step?call=CA404&s=3");
    let (code, doc) = post(&url, &[("CallSid", "CA404"), ("Digits", "1")], None).await;
    assert_eq!(code, 200);
    let root = tree(&doc);
    assert!(
        text(find(&root, "Say").unwrap()).contains("something went wrong"),
        "{doc}"
    );
    let enqueue = find(&root, "Enqueue").expect("queued for the fallback group");
    assert_eq!(text(enqueue), "general");
    assert_eq!(enqueue.attrs["action"], server.url("/twilio/done"));
    let (code, done) = post(
        &server.url("/twilio/done"),
        &[("CallSid", "CA404"), ("QueueResult", "bridged")],
        None,
    )
    .await;
    assert_eq!((code, done.contains("<Hangup/>")), (200, true));
    let (code, health) = (
        reqwest::get(server.url("/healthz"))
            .await
            .unwrap()
            .status()
            .as_u16(),
        (),
    );
    assert_eq!((code, health), (200, ()));
    let wav = reqwest::get(server.url("/recordings/en-US/greeting.wav"))
        .await
        .unwrap();
    assert_eq!(wav.status().as_u16(), 200);
    assert_eq!(wav.headers()["content-type"], "audio/wav");
    assert!(
        wav.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    server.stop().await;
}

async fn loadtest_random_walks_complete_every_call(db: TestDb) {
    let server = Server::start(&db).await;
    let plan = switchboard::loadtest::Plan {
        targets: Targets::new([server.url("")]).unwrap(),
        calls: 40,
        concurrency: 8,
        provider: switchboard::provider::capability::Kind::Twilio,
        token: Some(TOKEN.into()),
        to: "+18005550100".into(),
        max_steps: 10,
        seed: 7,
        think: std::time::Duration::from_millis(2),
        rate: None,
        connections: 4,
    };
    let report = switchboard::loadtest::run(plan).await;
    assert_eq!(report.errors, 0, "{report:?}");
    assert!(report.requests >= 40 * 3, "{report:?}");
    assert!(report.p99_ms >= report.p50_ms);
    server.stop().await;
    let store = Store::open(&db.url()).await.unwrap();
    for id in &report.call_ids {
        let state = store
            .load(id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{id} not stored"));
        assert_eq!(state.wait, switchboard::engine::Wait::Ended, "{id}");
        assert!(store.event_count(id).await.unwrap() > 0);
        assert!(
            store.log_complete(id).await.unwrap(),
            "{id}: final status and every step stored"
        );
    }
    store.close().await;
}

/// Two instances over one PostgreSQL database, every call's callbacks
/// alternating between them: neither instance's memory of a call is ever
/// up to date when its next callback comes, and every call still ends with
/// its whole log stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loadtest_across_two_instances_on_postgres_completes_every_call() {
    let Some(db) = crate::support::pg::PgDb::create().await else {
        return;
    };
    let (a, b) = (
        Server::on_database(&db.url).await,
        Server::on_database(&db.url).await,
    );
    let plan = switchboard::loadtest::Plan {
        targets: Targets::new([a.url(""), b.url("")]).unwrap(),
        calls: 40,
        concurrency: 8,
        provider: switchboard::provider::capability::Kind::Twilio,
        token: Some(TOKEN.into()),
        to: "+18005550100".into(),
        max_steps: 10,
        seed: 11,
        think: std::time::Duration::from_millis(2),
        rate: None,
        connections: 4,
    };
    let report = switchboard::loadtest::run(plan).await;
    assert_eq!(report.errors, 0, "{report:?}");
    assert_eq!(report.call_ids.len(), 40, "{report:?}");
    assert!(report.requests >= 40 * 3, "{report:?}");
    // Every call (a new call and its status at least) reached both: each
    // instance answered one of its requests and so holds it in memory.
    for id in &report.call_ids {
        for (name, server) in [("first", &a), ("second", &b)] {
            assert!(
                server.state.store().cached(id).is_some(),
                "{id} never reached the {name} instance"
            );
        }
    }
    a.stop().await;
    b.stop().await;
    // As `loadtest --database` checks it.
    let store = Store::open(&db.url).await.unwrap();
    for id in &report.call_ids {
        assert!(
            store.log_complete(id).await.unwrap(),
            "{id}: final status and every step stored"
        );
    }
    store.close().await;
}

async fn loadtest_at_a_rate_holds_requests_to_it(db: TestDb) {
    let server = Server::start(&db).await;
    // Far below what 8 callers listening 1 ms ask for unpaced (thousands a
    // second, even in a debug build): an ignored rate shows.
    let rate = 200.0;
    let plan = switchboard::loadtest::Plan {
        targets: Targets::new([server.url("")]).unwrap(),
        calls: 20,
        concurrency: 8,
        provider: switchboard::provider::capability::Kind::Twilio,
        token: Some(TOKEN.into()),
        to: "+18005550100".into(),
        max_steps: 10,
        seed: 3,
        think: std::time::Duration::from_millis(1),
        rate: Some(rate),
        connections: 4,
    };
    let report = switchboard::loadtest::run(plan).await;
    assert_eq!(report.errors, 0, "{report:?}");
    assert!(report.requests >= 20 * 3, "{report:?}");
    // Start times are spaced by the pacer whatever the machine's speed, so
    // a slow machine can only lower the rate: ~150 exponential gaps sum to
    // within about 10% of their mean.
    assert!(report.per_second < rate * 1.3, "{report:?}");
    server.stop().await;
    let store = Store::open(&db.url()).await.unwrap();
    for id in &report.call_ids {
        assert!(store.log_complete(id).await.unwrap(), "{id}");
    }
    store.close().await;
}

/// A status callback that loses the race for the call's next step (here to
/// a step another writer stored behind the server's back, so its memory of
/// the call is stale) reads the call again and lands after it: the final
/// status is never lost.
async fn a_status_that_loses_the_race_for_its_step_is_applied_again(db: TestDb) {
    let server = Server::start(&db).await;
    let (code, _) = post(&server.url("/twilio/voice"), &call("CA9"), None).await;
    assert_eq!(code, 200);
    // Step 2 is taken: a copy of step 1 moved on by one.
    let copy = |set_step: &str| {
        format!(
            "INSERT INTO steps (call_id, step, at, node, wait, state, response, events)
             SELECT call_id, 2, at + 1, node, wait, {set_step}, response, '[]'
             FROM steps WHERE call_id = (SELECT id FROM calls WHERE call_sid = 'CA9') AND step = 1"
        )
    };
    db.execute(
        &copy("json_set(state, '$.step', 2)"),
        &copy("jsonb_set(state, '{step}', '2')"),
    )
    .await;
    assert_eq!(completed(&server, "CA9", "7").await, 204);
    let (last, status) = db
        .row(
            "SELECT (SELECT MAX(step) FROM steps JOIN calls ON calls.id = steps.call_id
                     WHERE call_sid = 'CA9'),
                    (SELECT final_status FROM calls WHERE call_sid = 'CA9')",
        )
        .await;
    assert_eq!(
        (last, status.as_deref()),
        (3, Some("completed")),
        "the status landed after the step that won"
    );
    server.stop().await;
}

async fn a_store_failure_mid_call_still_answers_twiml_with_the_fallback_route(db: TestDb) {
    let server = Server::start(&db).await;
    let (_, first) = post(&server.url("/twilio/voice"), &call("CA5"), None).await;
    let next = action(&first);
    // The database goes away mid-call.
    server.state.store().close().await;
    let (code, doc) = post(&next, &[("CallSid", "CA5"), ("Digits", "1")], None).await;
    assert_eq!(code, 200, "never a bare 500 on a voice route");
    assert_apologises_and_queues_for_the_fallback(&doc);
    let (code, doc) = post(&server.url("/twilio/voice"), &call("CA6"), None).await;
    assert_eq!(code, 200);
    assert!(doc.contains("<Enqueue"), "{doc}");
    server.stop().await;
}

async fn a_database_that_refuses_writes_mid_call_still_gets_twiml_and_moves_nothing(db: TestDb) {
    let server = Server::start(&db).await;
    let (_, first) = post(&server.url("/twilio/voice"), &call("CA7"), None).await;
    let next = action(&first);
    // Another process makes the database refuse every new step.
    db.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON steps
         BEGIN SELECT RAISE(ABORT, 'disk I/O error (simulated)'); END",
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'disk I/O error (simulated)'; END $$;
         CREATE TRIGGER refuse BEFORE INSERT ON steps FOR EACH ROW EXECUTE FUNCTION refuse();",
    )
    .await;
    let (code, doc) = post(&next, &[("CallSid", "CA7"), ("Digits", "1")], None).await;
    assert_eq!(code, 200, "never a bare 500 on a voice route");
    assert_apologises_and_queues_for_the_fallback(&doc);
    let steps = db
        .count(
            "SELECT COUNT(*) FROM steps JOIN calls ON calls.id = steps.call_id WHERE call_sid = 'CA7'",
        )
        .await;
    assert_eq!(steps, 1, "the refused step left nothing behind");
    // The database recovers: the same callback, retried, moves the call on.
    db.execute("DROP TRIGGER refuse", "DROP TRIGGER refuse ON steps")
        .await;
    let (code, doc) = post(&next, &[("CallSid", "CA7"), ("Digits", "1")], None).await;
    assert_eq!(code, 200);
    assert!(doc.contains("<Gather"), "English main menu: {doc}");
    let state = server.state.store().load("CA7").await.unwrap().unwrap();
    assert_eq!(state.step, 2);
    server.stop().await;
}

async fn a_callback_ahead_of_memory_is_served_from_the_database(db: TestDb) {
    let server = Server::start(&db).await;
    let (_, _first) = post(&server.url("/twilio/voice"), &call("CA8"), None).await;
    let at_start = server.state.store().load("CA8").await.unwrap().unwrap();
    // Another writer (a second instance) moves the call on: English.
    let other = Store::open(&db.url()).await.unwrap();
    let p = server.state.program();
    let now = server.state.now();
    let english = switchboard::engine::step(
        &p,
        &at_start,
        switchboard::engine::Event::Digits("1".into()),
        now,
    );
    other
        .commit(switchboard::store::Commit::from_step(
            &p,
            Some(at_start.step),
            &english,
            now,
            None,
            None,
        ))
        .await
        .unwrap();
    other.close().await;
    // Twilio answers the step this server has not seen: it reads the call
    // from the database and moves it on rather than repeating the old step.
    let url = server.url(&format!("/twilio/step?call=CA8&s={}", english.state.step));
    let (code, _) = post(&url, &[("CallSid", "CA8"), ("Digits", "2")], None).await;
    assert_eq!(code, 200);
    let now_at = server.state.store().load("CA8").await.unwrap().unwrap();
    assert_eq!(now_at.step, english.state.step + 1);
    server.stop().await;
}

/// The TwiML of an internal failure: an apology, then the fallback group.
fn assert_apologises_and_queues_for_the_fallback(doc: &str) {
    let root = tree(doc);
    assert!(
        text(find(&root, "Say").unwrap()).contains("something went wrong"),
        "{doc}"
    );
    assert_eq!(
        find(&root, "Enqueue").map(text).as_deref(),
        Some("general"),
        "{doc}"
    );
}

/// The Redirect a Gather or Record falls through to when nothing is entered.
pub(crate) fn no_input_url(doc: &str) -> String {
    find(&tree(doc), "Redirect")
        .map(text)
        .unwrap_or_else(|| panic!("no fall-through Redirect in {doc}"))
}

/// Every demo scenario played through the real server over HTTP as Twilio
/// would, with the scenario's clock (and its earlier calls in the server's
/// store); the stored outcome and end node must be the scenario's.
async fn every_demo_scenario_plays_through_the_server_as_twilio_would(db: TestDb) {
    let played = play_demo_scenarios(&db).await;
    assert!(
        played.scenarios >= 38,
        "every demo scenario, {} played",
        played.scenarios
    );
}

pub(crate) use crate::providers::Played;

/// Play every demo scenario through the real server over HTTP as Twilio
/// would, each on a fresh database of `db`'s kind, checking each one's
/// outcome and end node.
pub(crate) async fn play_demo_scenarios(db: &TestDb) -> Played {
    crate::providers::play_demo_scenarios_as(db, &crate::providers::Twilio).await
}

crate::on_both! {
    a_signed_call_walks_the_demo_and_survives_a_restart,
    duplicates_forgeries_and_oversized_bodies_change_nothing,
    an_unknown_call_gets_the_fallback_route_not_an_error,
    loadtest_random_walks_complete_every_call,
    loadtest_at_a_rate_holds_requests_to_it,
    a_status_that_loses_the_race_for_its_step_is_applied_again,
    a_store_failure_mid_call_still_answers_twiml_with_the_fallback_route,
    a_database_that_refuses_writes_mid_call_still_gets_twiml_and_moves_nothing,
    a_callback_ahead_of_memory_is_served_from_the_database,
    every_demo_scenario_plays_through_the_server_as_twilio_would,
}
