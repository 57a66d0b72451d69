//! Every provider as it meets the server: its own routes, signatures,
//! callbacks and documents, over one call service. Requests are signed the
//! way each provider's official SDK signs them (the vectors in
//! `tests/data/` come from those SDKs, see `scripts/provider-oracle.py`).

use crate::server::{Server, action, call, find, no_input_url, post, text};
use crate::support::db::{Database, TestDb};
use crate::support::xml::tree;
use crate::support::{demo, open_hours};
use std::path::Path;
use std::sync::Arc;
use switchboard::engine::{Event, QueueResult};
use switchboard::server::AppState;

/// A Chinese-speaking caller, at the operator queue of the demo, on Twilio.
async fn queued_in_chinese(server: &Server, sid: &str) -> String {
    let (code, doc) = post(&server.url("/twilio/voice"), &call(sid), None).await;
    assert_eq!(code, 200, "{doc}");
    let (_, menu) = post(&action(&doc), &[("CallSid", sid), ("Digits", "2")], None).await;
    let (_, queued) = post(&action(&menu), &[("CallSid", sid), ("Digits", "0")], None).await;
    let root = tree(&queued);
    find(&root, "Enqueue")
        .and_then(|e| e.attrs.get("waitUrl").cloned())
        .unwrap_or_else(|| panic!("not queued: {queued}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_caller_hears_the_flow_files_sentences_in_their_language() {
    let db = TestDb::sqlite();
    let server = Server::with(demo(), &db, Some(open_hours())).await;
    let wait = queued_in_chinese(&server, "CA-wait").await;
    let (code, doc) = post(
        &wait,
        &[
            ("CallSid", "CA-wait"),
            ("QueuePosition", "3"),
            ("QueueTime", "0"),
            ("AvgQueueTime", "230"),
        ],
        None,
    )
    .await;
    assert_eq!(code, 200, "{doc}");
    let root = tree(&doc);
    let said: Vec<String> = root
        .children
        .iter()
        .filter_map(|c| match c {
            crate::support::xml::Node::El(e) if e.name == "Say" => Some(text(e)),
            _ => None,
        })
        .collect();
    // The demo's `[settings]` sentences, in Chinese: two callers ahead, four minutes.
    assert_eq!(
        said,
        ["您前面还有2位来电者。", "预计等待约4分钟。"],
        "{doc}"
    );
    assert!(find(&root, "Play").is_some(), "hold music after: {doc}");
    // Between announcements, the music alone; at the group's max_wait (8m), leave.
    let (_, doc) = post(
        &wait,
        &[
            ("CallSid", "CA-wait"),
            ("QueuePosition", "2"),
            ("QueueTime", "40"),
        ],
        None,
    )
    .await;
    assert!(find(&tree(&doc), "Say").is_none(), "{doc}");
    let (_, doc) = post(
        &wait,
        &[
            ("CallSid", "CA-wait"),
            ("QueuePosition", "2"),
            ("QueueTime", "480"),
        ],
        None,
    )
    .await;
    assert!(find(&tree(&doc), "Leave").is_some(), "{doc}");
    // A malformed position: 400 naming it.
    let (code, body) = post(
        &wait,
        &[("CallSid", "CA-wait"), ("QueuePosition", "two")],
        None,
    )
    .await;
    assert_eq!(
        (code, body.contains("QueuePosition")),
        (400, true),
        "{body}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_is_not_configured_answers_404_saying_which_are() {
    let db = TestDb::sqlite();
    let server = Server::with(demo(), &db, Some(open_hours())).await;
    for path in ["/plivo/voice", "/telnyx/step?call=x&s=1", "/vxml/voice"] {
        let res = reqwest::Client::new()
            .post(server.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("CallUUID=u1&From=1&To=2")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 404, "{path}");
        let body = res.text().await.unwrap();
        assert!(
            body.contains("not configured") && body.contains("mounted: twilio"),
            "{body}"
        );
    }
    server.stop().await;
}

/// What playing the demo scenarios sent the server that is a caller's own.
#[derive(Default)]
pub(crate) struct Played {
    pub(crate) scenarios: usize,
    /// The numbers the calls came from.
    pub(crate) callers: Vec<String>,
    /// The keys pressed (every `Digits` value).
    pub(crate) entries: Vec<String>,
    /// What callers said.
    pub(crate) speech: Vec<String>,
}

pub(crate) type Params = Vec<(String, String)>;

pub(crate) fn owned(pairs: &[(&str, &str)]) -> Params {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A provider as a test plays it: how it signs, what it posts for a new
/// call and for each engine event, and how it reads our documents.
pub(crate) trait Dialect: Sync {
    /// Its route prefix.
    fn prefix(&self) -> &'static str;
    /// The server's state serving this provider, signed.
    fn mount(&self, state: AppState) -> AppState;
    /// A call id as this provider makes them.
    fn call_id(&self, seed: &str) -> String;
    /// The new-call request's parameters.
    fn new_call(&self, sid: &str, from: &str, to: &str) -> Params;
    /// Where the provider posts `e`, having received `doc`, and with what.
    fn event(&self, server: &Server, doc: &str, sid: &str, e: &Event) -> (String, Params);
    /// Post `params` to `url`, signed as this provider signs; the status and body.
    fn post(
        &self,
        url: &str,
        params: &Params,
    ) -> impl std::future::Future<Output = (u16, String)> + Send;
    /// Check a document the server answered (beyond being what the walk expects).
    fn check(&self, _doc: &str) {}
}

/// A Twilio-style result for `e` (Twilio, Telnyx and SignalWire share them).
fn twilio_event(
    server: &Server,
    prefix: &str,
    doc: &str,
    sid: &str,
    e: &Event,
) -> (String, Params) {
    let cs = ("CallSid".to_owned(), sid.to_owned());
    let kv = |k: &str, v: String| (k.to_owned(), v);
    match e {
        Event::NoInput => (no_input_url(doc), vec![cs]),
        Event::NoMatch => panic!("{prefix} has no grammar of its own to miss"),
        Event::Claimed { .. } => panic!("{prefix} queues callers itself"),
        Event::Digits(d) => (action(doc), vec![cs, kv("Digits", d.clone())]),
        Event::Speech { text, .. } => (
            action(doc),
            vec![
                cs,
                kv("Digits", String::new()),
                kv("SpeechResult", text.clone()),
                kv("Confidence", "0.9".into()),
            ],
        ),
        Event::Dial(st) => (
            action(doc),
            vec![cs, kv("DialCallStatus", st.word().into())],
        ),
        Event::Queue { result, .. } => {
            let word = match result {
                QueueResult::Bridged => "bridged",
                QueueResult::Full => "queue-full",
                QueueResult::Timeout => "leave",
                QueueResult::Hangup => "hangup",
                QueueResult::Error => "error",
            };
            (action(doc), vec![cs, kv("QueueResult", word.into())])
        }
        Event::Recording { url, seconds } => (
            action(doc),
            vec![
                cs,
                kv("RecordingUrl", url.clone()),
                kv("RecordingDuration", seconds.to_string()),
            ],
        ),
        Event::Status(st) => (
            server.url(&format!("/{prefix}/status")),
            vec![cs, kv("CallStatus", st.word().into())],
        ),
    }
}

/// Twilio.
pub(crate) struct Twilio;

impl Dialect for Twilio {
    fn prefix(&self) -> &'static str {
        "twilio"
    }
    fn mount(&self, state: AppState) -> AppState {
        state
    }
    fn call_id(&self, seed: &str) -> String {
        format!("CA{seed}")
    }
    fn new_call(&self, sid: &str, from: &str, to: &str) -> Params {
        owned(&[("CallSid", sid), ("From", from), ("To", to)])
    }
    fn event(&self, server: &Server, doc: &str, sid: &str, e: &Event) -> (String, Params) {
        twilio_event(server, "twilio", doc, sid, e)
    }
    async fn post(&self, url: &str, params: &Params) -> (u16, String) {
        let pairs: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        post(url, &pairs, None).await
    }
}

/// Send a form body with `headers`.
pub(crate) async fn send_form(
    url: &str,
    params: &Params,
    headers: &[(&str, String)],
) -> (u16, String) {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    send(url, "application/x-www-form-urlencoded", body, headers).await
}

pub(crate) async fn send(
    url: &str,
    content_type: &str,
    body: String,
    headers: &[(&str, String)],
) -> (u16, String) {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

pub(crate) const PLIVO_TOKEN: &str = "MAXXXXXXXXXXXXXXXXXX_token_abc123";

/// Plivo.
pub(crate) struct PlivoDialect;

/// Plivo's signature headers for a POST of `params` to `url`.
pub(crate) fn plivo_headers(
    token: &str,
    url: &str,
    params: &Params,
) -> Vec<(&'static str, String)> {
    use switchboard::provider::plivo::signature::{sign, signed_string};
    let nonce = format!("{:020}", fastrand::u64(..));
    let sig = sign(token, &signed_string(false, url, params), &nonce);
    vec![
        ("x-plivo-signature-v3", sig),
        ("x-plivo-signature-v3-nonce", nonce),
    ]
}

/// The URL of a Plivo document's waiting element (`GetDigits`, `GetInput`, `Dial`, `Record`).
fn plivo_action(doc: &str) -> String {
    let root = tree(doc);
    ["GetDigits", "GetInput", "Dial", "Record"]
        .iter()
        .find_map(|v| find(&root, v).and_then(|e| e.attrs.get("action").cloned()))
        .unwrap_or_else(|| panic!("no action in {doc}"))
}

/// Our hold loop's URL in a Plivo document.
fn plivo_wait(doc: &str) -> Option<String> {
    let root = tree(doc);
    root.children.iter().find_map(|c| match c {
        crate::support::xml::Node::El(e)
            if e.name == "Redirect" && text(e).contains("/plivo/wait?") =>
        {
            Some(text(e))
        }
        _ => None,
    })
}

impl Dialect for PlivoDialect {
    fn prefix(&self) -> &'static str {
        "plivo"
    }
    fn mount(&self, state: AppState) -> AppState {
        use switchboard::provider::plivo::Plivo;
        state.with_providers(vec![Arc::new(Plivo::new(Some(PLIVO_TOKEN.into()), None))])
    }
    fn call_id(&self, seed: &str) -> String {
        format!("b4d3a1c2-{seed}")
    }
    fn new_call(&self, sid: &str, from: &str, to: &str) -> Params {
        owned(&[
            ("CallUUID", sid),
            ("From", from.trim_start_matches('+')),
            ("To", to.trim_start_matches('+')),
            ("CallStatus", "ringing"),
            ("Direction", "inbound"),
            ("Event", "StartApp"),
        ])
    }
    fn event(&self, server: &Server, doc: &str, sid: &str, e: &Event) -> (String, Params) {
        let cs = ("CallUUID".to_owned(), sid.to_owned());
        let kv = |k: &str, v: String| (k.to_owned(), v);
        match e {
            Event::NoInput => (no_input_url(doc), vec![cs]),
            Event::NoMatch => panic!("Plivo has no grammar of its own to miss"),
            Event::Claimed { .. } => panic!("agents claim callers at /plivo/agent, not callers"),
            Event::Digits(d) => {
                let mut p = vec![cs, kv("Digits", d.clone())];
                if doc.contains("<GetInput") {
                    p.push(kv("InputType", "dtmf".into()));
                }
                (plivo_action(doc), p)
            }
            Event::Speech { text, .. } => (
                plivo_action(doc),
                vec![
                    cs,
                    kv("InputType", "speech".into()),
                    kv("Speech", text.clone()),
                    kv("SpeechConfidenceScore", "0.9".into()),
                ],
            ),
            Event::Dial(st) => {
                let word = match st {
                    switchboard::engine::DialStatus::NoAnswer => "no-answer",
                    other => other.word(),
                };
                (plivo_action(doc), vec![cs, kv("DialStatus", word.into())])
            }
            Event::Queue { result, .. } => {
                // Our hold loop reports its own results at the step it waits at.
                let wait = plivo_wait(doc).unwrap_or_else(|| panic!("not in our hold loop: {doc}"));
                let ev = match result {
                    QueueResult::Bridged => "bridged",
                    QueueResult::Full => "full",
                    QueueResult::Timeout => "leave",
                    QueueResult::Hangup | QueueResult::Error => {
                        return (
                            server.url("/plivo/status"),
                            vec![cs, kv("CallStatus", "completed".into())],
                        );
                    }
                };
                let query: Vec<(String, String)> =
                    form_urlencoded::parse(wait.split_once('?').unwrap().1.as_bytes())
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect();
                let s = &query.iter().find(|(k, _)| k == "s").unwrap().1;
                (
                    server.url(&format!("/plivo/step?call={sid}&s={s}&ev={ev}")),
                    vec![cs],
                )
            }
            Event::Recording { url, seconds } => (
                plivo_action(doc),
                vec![
                    cs,
                    kv("RecordUrl", url.clone()),
                    kv("RecordingDuration", seconds.to_string()),
                    kv("RecordingID", "r-1".into()),
                ],
            ),
            Event::Status(st) => {
                let word = match st {
                    switchboard::engine::CallStatus::Canceled => "cancel",
                    other => other.word(),
                };
                (
                    server.url("/plivo/status"),
                    vec![
                        cs,
                        kv("CallStatus", word.into()),
                        kv("HangupCause", "NORMAL_CLEARING".into()),
                    ],
                )
            }
        }
    }
    async fn post(&self, url: &str, params: &Params) -> (u16, String) {
        send_form(url, params, &plivo_headers(PLIVO_TOKEN, url, params)).await
    }
}

/// The test key pair of PROTOCOLS.md (seed bytes 00..1f), not Telnyx's.
pub(crate) fn telnyx_key() -> ed25519_dalek::SigningKey {
    let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
    ed25519_dalek::SigningKey::from_bytes(&seed)
}

pub(crate) const TELNYX_PUBLIC_KEY: &str = "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=";

/// Telnyx's signature headers for `body` sent at `ts`.
pub(crate) fn telnyx_headers(body: &str, ts: i64) -> Vec<(&'static str, String)> {
    use base64::Engine;
    use ed25519_dalek::Signer;
    let sig = telnyx_key().sign(format!("{ts}|{body}").as_bytes());
    vec![
        (
            "telnyx-signature-ed25519",
            base64::engine::general_purpose::STANDARD.encode(sig.to_bytes()),
        ),
        ("telnyx-timestamp", ts.to_string()),
    ]
}

/// Telnyx: TwiML's parameters, `v3:` call ids, Ed25519 signatures.
pub(crate) struct TelnyxDialect;

impl Dialect for TelnyxDialect {
    fn prefix(&self) -> &'static str {
        "telnyx"
    }
    fn mount(&self, state: AppState) -> AppState {
        use switchboard::provider::telnyx::Telnyx;
        let t = Telnyx::new(Some(TELNYX_PUBLIC_KEY)).unwrap();
        state.with_providers(vec![Arc::new(t)])
    }
    fn call_id(&self, seed: &str) -> String {
        format!("v3:{seed}")
    }
    fn new_call(&self, sid: &str, from: &str, to: &str) -> Params {
        owned(&[
            ("AccountSid", "f5586561-8ff0-4291-a51b-c7dfe4139ff9"),
            ("CallSid", sid),
            ("CallSidLegacy", sid),
            ("ConnectionId", "1234567890"),
            ("From", from),
            ("To", to),
            ("CallStatus", "ringing"),
            ("Direction", "inbound"),
        ])
    }
    fn event(&self, server: &Server, doc: &str, sid: &str, e: &Event) -> (String, Params) {
        twilio_event(server, "telnyx", doc, sid, e)
    }
    async fn post(&self, url: &str, params: &Params) -> (u16, String) {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        // The server's clock is the scenario's; Telnyx stamps with it too.
        let ts = TELNYX_NOW.with(|n| n.get());
        let headers = telnyx_headers(&body, ts);
        send(url, "application/x-www-form-urlencoded", body, &headers).await
    }
}

thread_local! {
    /// What Telnyx's clock says while a scenario plays (the server's clock).
    static TELNYX_NOW: std::cell::Cell<i64> = const { std::cell::Cell::new(0) };
}

pub(crate) const SIGNALWIRE_KEY: &str = "PSK_0123456789abcdef0123456789abcdef";

/// SignalWire: TwiML's parameters, UUID call ids, form and JSON bodies
/// signed with the project's signing key.
pub(crate) struct SignalWireDialect;

impl Dialect for SignalWireDialect {
    fn prefix(&self) -> &'static str {
        "signalwire"
    }
    fn mount(&self, state: AppState) -> AppState {
        use switchboard::provider::signalwire::SignalWire;
        state.with_providers(vec![Arc::new(SignalWire::new(Some(SIGNALWIRE_KEY.into())))])
    }
    fn call_id(&self, seed: &str) -> String {
        format!("5b0a3d2c-{seed}")
    }
    fn new_call(&self, sid: &str, from: &str, to: &str) -> Params {
        owned(&[
            ("AccountSid", "a1b2c3d4-0000-4000-8000-000000000000"),
            ("CallSid", sid),
            ("From", from),
            ("To", to),
            ("CallStatus", "ringing"),
        ])
    }
    fn event(&self, server: &Server, doc: &str, sid: &str, e: &Event) -> (String, Params) {
        twilio_event(server, "signalwire", doc, sid, e)
    }
    async fn post(&self, url: &str, params: &Params) -> (u16, String) {
        // Every other request as JSON, signed over the URL and the raw body.
        if fastrand::bool() {
            let map: serde_json::Map<String, serde_json::Value> = params
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            let body = serde_json::Value::Object(map).to_string();
            let sig = switchboard::provider::signalwire::json_signature(
                SIGNALWIRE_KEY,
                url,
                body.as_bytes(),
            );
            send(
                url,
                "application/json",
                body,
                &[("x-signalwire-signature", sig)],
            )
            .await
        } else {
            use switchboard::provider::twilio::signature::{Algorithm, sign};
            let sig = sign(Algorithm::Sha1, SIGNALWIRE_KEY, url, params);
            send_form(url, params, &[("x-signalwire-signature", sig)]).await
        }
    }
}

/// Play every demo scenario through the real server over HTTP as
/// `dialect`'s provider would, each on a fresh database of `db`'s kind,
/// checking each one's outcome and end node against the scenario's (the
/// engine's) expectations.
pub(crate) async fn play_demo_scenarios_as(db: &TestDb, dialect: &impl Dialect) -> Played {
    use switchboard::simulate::{Move, outcome_code};
    let set = switchboard::flow::load_dir(Path::new("flows")).unwrap();
    let program = switchboard::compile::compile(&set).program.unwrap();
    let clock = Arc::new(std::sync::Mutex::new(jiff::Timestamp::UNIX_EPOCH));
    let prefix = dialect.prefix();
    // Each scenario gets its own database: the server takes caller history from
    // its store, and scenarios must not become each other's earlier calls.
    let mut played = Played::default();
    let mut files: Vec<_> = std::fs::read_dir("flows/tests")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files {
        let mut sources = switchboard::source::Sources::new();
        let id = sources.add(
            path.display().to_string(),
            std::fs::read_to_string(&path).unwrap(),
        );
        let (scenarios, diags) = switchboard::scenario::parse(&program, id, &sources.get(id).text);
        assert!(diags.is_empty(), "{diags:?}");
        for (n, s) in scenarios.iter().enumerate() {
            let sid = dialect.call_id(&format!(
                "{}-{n}",
                path.file_stem().unwrap().to_string_lossy()
            ));
            let read = clock.clone();
            let now: switchboard::server::Clock = Arc::new(move || *read.lock().unwrap());
            let db = db.fresh().await;
            let state =
                crate::server::state(program.clone(), &db, "recordings".into(), Some(now)).await;
            let server = Server::launch(dialect.mount(state), None).await;
            // The scenario's earlier calls, stored as calls that reached their group.
            for (i, past) in s.setup.history.iter().enumerate() {
                let call = switchboard::engine::Start {
                    call_id: format!("{sid}-earlier{i}"),
                    caller: s.setup.from.clone(),
                    called: s.setup.to.clone(),
                    history: vec![],
                    language: None,
                };
                let mut earlier = switchboard::engine::start(&program, call, past.at);
                let group = past.group.as_deref().and_then(|g| program.group_by_name(g));
                earlier.state.outcome = group.map(switchboard::engine::Outcome::Group);
                let commit = switchboard::store::Commit::from_step(
                    &program, None, &earlier, past.at, None, None,
                );
                server.state.store().commit(commit).await.unwrap();
            }
            // The groups an admin closed, as `switchboard close` stores them.
            for g in &s.setup.closed {
                let closure = switchboard::routing::Closure {
                    group: g.clone(),
                    until: jiff::Timestamp::MAX,
                    message: Default::default(),
                    closed_at: s.setup.at,
                };
                server.state.store().close_group(&closure).await.unwrap();
            }
            *clock.lock().unwrap() = s.setup.at;
            server.state.refresh_closures().await;
            played.callers.push(s.setup.from.clone());
            let stamp = || TELNYX_NOW.with(|t| t.set(clock.lock().unwrap().as_second()));
            stamp();
            let new_call = dialect.new_call(&sid, &s.setup.from, &s.setup.to);
            let (code, mut doc) = dialect
                .post(&server.url(&format!("/{prefix}/voice")), &new_call)
                .await;
            assert_eq!(code, 200, "{}: {doc}", s.name);
            dialect.check(&doc);
            for (token, m) in &s.moves {
                let e = match m {
                    Move::Wait(d) => {
                        let mut c = clock.lock().unwrap();
                        *c = c
                            .checked_add(jiff::SignedDuration::try_from(*d).unwrap())
                            .unwrap();
                        continue;
                    }
                    Move::Event(e) => e.clone(),
                };
                match &e {
                    Event::Digits(d) => played.entries.push(d.clone()),
                    Event::Speech { text, .. } => played.speech.push(text.clone()),
                    _ => {}
                }
                stamp();
                let (url, params) = dialect.event(&server, &doc, &sid, &e);
                let (code, body) = dialect.post(&url, &params).await;
                assert!(
                    code == 200 || code == 204,
                    "{} at `{token}` on {prefix}: {code} {body}",
                    s.name
                );
                if std::env::var("REPLAY_DEBUG").is_ok_and(|n| s.name.contains(&n)) {
                    eprintln!("--- {token} -> {url}\n{body}");
                }
                if code == 200 {
                    dialect.check(&body);
                }
                doc = body;
            }
            let state = server.state.store().load(&sid).await.unwrap().unwrap();
            let got = state
                .outcome
                .map_or_else(|| "none".to_owned(), |o| outcome_code(&program, o));
            if let Some(want) = &s.outcome {
                assert_eq!(&got, want, "{} on {prefix}", s.name);
            }
            if let Some(end) = s.ends_at {
                assert_eq!(
                    program.qualified_name(state.at),
                    program.qualified_name(end),
                    "{} on {prefix}",
                    s.name
                );
            }
            played.scenarios += 1;
            server.stop().await;
        }
    }
    played
}

/// Two providers at once on one flow set and one database: each call's
/// record says which provider carried it.
async fn one_server_answers_several_providers_and_records_which(db: TestDb) {
    use switchboard::provider::plivo::Plivo;
    use switchboard::provider::twilio::Twilio;
    let state = crate::server::state(demo(), &db, "recordings".into(), Some(open_hours())).await;
    let state = state.with_providers(vec![
        Arc::new(Twilio::new(Some(crate::server::TOKEN.into()))),
        Arc::new(Plivo::new(Some(PLIVO_TOKEN.into()), None)),
    ]);
    let server = Server::launch(state, None).await;
    let caller = "+15550007777";
    let (code, _) = Twilio
        .post(
            &server.url("/twilio/voice"),
            &Twilio.new_call("CA-both", caller, "+18005550100"),
        )
        .await;
    assert_eq!(code, 200);
    let (code, _) = PlivoDialect
        .post(
            &server.url("/plivo/voice"),
            &PlivoDialect.new_call("u-both", caller, "+18005550100"),
        )
        .await;
    assert_eq!(code, 200);
    // A Plivo-signed request to Twilio's routes is not Twilio's.
    let url = server.url("/twilio/voice");
    let params = Twilio.new_call("CA-cross", caller, "+18005550100");
    assert_eq!(
        send_form(&url, &params, &plivo_headers(PLIVO_TOKEN, &url, &params))
            .await
            .0,
        403
    );
    server.stop().await;
    let store = switchboard::store::Store::open(&db.url()).await.unwrap();
    let export = store
        .export_caller(caller)
        .await
        .unwrap()
        .expect("the caller's calls");
    let carried: Vec<(&str, &str)> = export["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["call"].as_str().unwrap(), c["provider"].as_str().unwrap()))
        .collect();
    assert_eq!(carried.len(), 2, "{export}");
    assert!(
        carried.contains(&("CA-both", "twilio")) && carried.contains(&("u-both", "plivo")),
        "{carried:?}"
    );
    store.close().await;
}

async fn every_demo_scenario_plays_through_plivo(db: TestDb) {
    let played = play_demo_scenarios_as(&db, &PlivoDialect).await;
    assert!(played.scenarios >= 38, "{} played", played.scenarios);
}

async fn every_demo_scenario_plays_through_telnyx(db: TestDb) {
    let played = play_demo_scenarios_as(&db, &TelnyxDialect).await;
    assert!(played.scenarios >= 38, "{} played", played.scenarios);
}

async fn every_demo_scenario_plays_through_signalwire(db: TestDb) {
    let played = play_demo_scenarios_as(&db, &SignalWireDialect).await;
    assert!(played.scenarios >= 38, "{} played", played.scenarios);
}

crate::on_both! {
    one_server_answers_several_providers_and_records_which,
    every_demo_scenario_plays_through_plivo,
    every_demo_scenario_plays_through_telnyx,
    every_demo_scenario_plays_through_signalwire,
}

/// A request as a provider's verifier sees it.
fn verify_with(
    provider: &dyn switchboard::provider::Provider,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    content_type: &str,
    body: &[u8],
    now: jiff::Timestamp,
) -> Result<(), switchboard::provider::Refused> {
    use switchboard::provider::callback::{body_params, form_pairs};
    let mut map = axum::http::HeaderMap::new();
    for (k, v) in headers {
        map.insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            axum::http::HeaderValue::from_str(v).unwrap(),
        );
    }
    map.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_str(content_type).unwrap(),
    );
    let method: axum::http::Method = method.parse().unwrap();
    let query = form_pairs(url.split_once('?').map_or("", |(_, q)| q).as_bytes());
    let params = body_params(Some(content_type), body, provider.accepts_json()).unwrap();
    provider.verify(&switchboard::provider::Request {
        method: &method,
        url,
        headers: &map,
        body,
        query: &query,
        params: &params,
        now,
    })
}

fn json(path: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn pairs(v: &serde_json::Value) -> Params {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_owned(),
                p[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn every_sdk_signature_verifies_and_changed_requests_do_not() {
    use switchboard::provider::plivo::{Plivo, signature};
    let now = jiff::Timestamp::UNIX_EPOCH;
    // Plivo: the account's and the main account's headers, GET and POST.
    for v in json("tests/data/providers/plivo_signatures.json")
        .as_array()
        .unwrap()
    {
        let (url, nonce, token, sig) = (
            v["url"].as_str().unwrap(),
            v["nonce"].as_str().unwrap(),
            v["token"].as_str().unwrap(),
            v["signature"].as_str().unwrap(),
        );
        let get = v["method"] == "GET";
        let params = pairs(&v["params"]);
        assert_eq!(
            signature::signed_string(get, url, &params),
            v["signed"].as_str().unwrap()
        );
        let main = v["header"] == "x-plivo-signature-ma-v3";
        let plivo = if main {
            Plivo::new(Some("another-subaccount-token".into()), Some(token.into()))
        } else {
            Plivo::new(Some(token.into()), None)
        };
        let (url_sent, body) = if get {
            let mut all = url.to_owned();
            for (k, v) in &params {
                all.push_str(&format!("&{k}={v}"));
            }
            (all, String::new())
        } else {
            (
                url.to_owned(),
                form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&params)
                    .finish(),
            )
        };
        let header = v["header"].as_str().unwrap();
        let ok = verify_with(
            &plivo,
            v["method"].as_str().unwrap(),
            &url_sent,
            &[(header, sig), ("x-plivo-signature-v3-nonce", nonce)],
            "application/x-www-form-urlencoded",
            body.as_bytes(),
            now,
        );
        if get {
            // A GET's parameters are in its query: signed over the SDK's merged, sorted query.
            assert_eq!(
                signature::sign(token, &signature::signed_string(true, url, &params), nonce),
                sig
            );
        } else {
            assert_eq!(ok, Ok(()), "{v}");
            let forged = verify_with(
                &plivo,
                "POST",
                &url_sent,
                &[
                    (header, sig),
                    ("x-plivo-signature-v3-nonce", "another-nonce"),
                ],
                "application/x-www-form-urlencoded",
                body.as_bytes(),
                now,
            );
            assert!(forged.is_err(), "{v}");
        }
    }
    // Telnyx: within 300 s of the timestamp only.
    let t = json("tests/data/providers/telnyx_signatures.json");
    let telnyx = switchboard::provider::telnyx::Telnyx::new(t["public_key"].as_str()).unwrap();
    for v in t["vectors"].as_array().unwrap() {
        let ts = v["timestamp"].as_str().unwrap();
        let at = |s: i64| jiff::Timestamp::from_second(ts.parse::<i64>().unwrap() + s).unwrap();
        let headers = [
            ("telnyx-signature-ed25519", v["signature"].as_str().unwrap()),
            ("telnyx-timestamp", ts),
        ];
        let body = v["body"].as_str().unwrap().as_bytes();
        let check = |s| {
            verify_with(
                &telnyx,
                "POST",
                "https://ivr.example.com/telnyx/voice",
                &headers,
                "application/x-www-form-urlencoded",
                body,
                at(s),
            )
        };
        assert_eq!(check(0), Ok(()), "{v}");
        assert_eq!(check(299), Ok(()), "{v}");
        assert!(check(301).is_err(), "stale: {v}");
    }
    // SignalWire: form (Twilio's algorithm) and JSON (hex over URL and body), under either header.
    let s = json("tests/data/providers/signalwire_signatures.json");
    let key = s["key"].as_str().unwrap();
    let sw = switchboard::provider::signalwire::SignalWire::new(Some(key.into()));
    for v in s["vectors"].as_array().unwrap() {
        let url = v["url"].as_str().unwrap();
        let sig = v["signature"].as_str().unwrap();
        let (ct, body) = if v["kind"] == "json" {
            ("application/json", v["body"].as_str().unwrap().to_owned())
        } else {
            (
                "application/x-www-form-urlencoded",
                form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(pairs(&v["params"]))
                    .finish(),
            )
        };
        for header in ["x-signalwire-signature", "x-twilio-signature"] {
            assert_eq!(
                verify_with(&sw, "POST", url, &[(header, sig)], ct, body.as_bytes(), now),
                Ok(()),
                "{v}"
            );
        }
        let changed = body.replacen('5', "6", 1);
        assert!(
            verify_with(
                &sw,
                "POST",
                url,
                &[("x-signalwire-signature", sig)],
                ct,
                changed.as_bytes(),
                now
            )
            .is_err()
        );
    }
}

#[test]
fn plivo_and_cxml_documents_match_what_the_official_sdks_build() {
    use switchboard::provider::{BaseUrls, Document, Provider};
    let p = demo();
    let plivo = switchboard::provider::plivo::Plivo::new(None, None);
    let sw = switchboard::provider::signalwire::SignalWire::new(None);
    let mut cases = crate::twiml::cases(&p);
    cases.push((
        "hold",
        cases
            .iter()
            .find(|(n, _)| *n == "wait_then_leave")
            .unwrap()
            .1[..2]
            .to_vec(),
    ));
    let mut plivo_cases = cases.clone();
    plivo_cases.push((
        "conference",
        vec![switchboard::action::Action::Conference {
            room: "general-u123".into(),
            agent: false,
        }],
    ));
    plivo_cases.push((
        "agent_waits",
        vec![
            switchboard::action::Action::Speak(switchboard::action::Speech::Play {
                file: "hold.wav".into(),
            }),
            switchboard::action::Action::AwaitCaller {
                group: "general".into(),
            },
        ],
    ));
    for (name, actions) in &plivo_cases {
        let urls = BaseUrls::new("https://ivr.example.com", "plivo");
        let ours = plivo.render(&Document {
            actions,
            program: &p,
            call_id: "u123",
            step: 4,
            urls: &urls,
            hold: (*name == "hold").then_some("billing"),
        });
        let path = format!("tests/data/plivo/{name}.xml");
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(
            tree(&ours),
            tree(&expected),
            "\nours: {ours}\nsdk:  {expected}"
        );
        insta::assert_snapshot!(format!("plivo_{name}"), ours);
    }
    for (name, actions) in cases
        .iter()
        .filter(|(n, _)| ["menu", "queue", "transfer"].contains(n))
    {
        let urls = BaseUrls::new("https://ivr.example.com", "signalwire");
        let ours = sw.render(&Document {
            actions,
            program: &p,
            call_id: "CA123",
            step: 4,
            urls: &urls,
            hold: None,
        });
        let expected = std::fs::read_to_string(format!("tests/data/cxml/{name}.xml")).unwrap();
        assert_eq!(
            tree(&ours),
            tree(&expected),
            "\nours: {ours}\nsdk:  {expected}"
        );
    }
}

#[test]
fn a_plivo_document_over_100_kb_keeps_its_control_elements() {
    use switchboard::action::{Action, InputModes, Speech};
    use switchboard::provider::{BaseUrls, Document, Provider};
    let p = demo();
    let long = Speech::Say {
        text: "a very long prompt ".repeat(8_000),
        language: p.default_language.clone(),
        voice: None,
    };
    let actions = [
        Action::Speak(long.clone()),
        Action::Gather {
            prompts: vec![long],
            input: InputModes {
                dtmf: true,
                speech: false,
            },
            num_digits: Some(1),
            timeout: std::time::Duration::from_secs(5),
            finish_on_key: None,
            keys: vec![],
            hints: vec![],
            language: p.default_language.clone(),
        },
    ];
    let urls = BaseUrls::new("https://ivr.example.com", "plivo");
    let doc = switchboard::provider::plivo::Plivo::new(None, None).render(&Document {
        actions: &actions,
        program: &p,
        call_id: "u1",
        step: 2,
        urls: &urls,
        hold: None,
    });
    assert!(
        doc.len() <= switchboard::provider::plivo::MAX_DOCUMENT,
        "{}",
        doc.len()
    );
    let root = tree(&doc);
    assert!(
        find(&root, "GetDigits").is_some() && find(&root, "Redirect").is_some(),
        "{doc}"
    );
}

/// A server on the demo at open hours, serving `dialect`'s provider.
pub(crate) async fn serving(dialect: &impl Dialect, db: &TestDb) -> Server {
    let state = crate::server::state(demo(), db, "recordings".into(), Some(open_hours())).await;
    Server::launch(dialect.mount(state), None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_stale_missing_and_malformed_signatures_get_403_and_store_nothing() {
    let db = TestDb::sqlite();
    // Plivo.
    let server = serving(&PlivoDialect, &db).await;
    let url = server.url("/plivo/voice");
    let params = PlivoDialect.new_call("u-forged", "+15550001111", "+18005550100");
    let mut headers = plivo_headers(PLIVO_TOKEN, &url, &params);
    headers[0].1 = plivo_headers("not-the-token", &url, &params)[0].1.clone();
    assert_eq!(send_form(&url, &params, &headers).await.0, 403, "forged");
    assert_eq!(send_form(&url, &params, &[]).await.0, 403, "missing");
    let nonce_only = vec![plivo_headers(PLIVO_TOKEN, &url, &params).remove(1)];
    assert_eq!(
        send_form(&url, &params, &nonce_only).await.0,
        403,
        "no signature"
    );
    let garbage = vec![
        ("x-plivo-signature-v3", "%%%,,,".to_owned()),
        ("x-plivo-signature-v3-nonce", "1".to_owned()),
    ];
    assert_eq!(
        send_form(&url, &params, &garbage).await.0,
        403,
        "wrong format"
    );
    assert!(
        server
            .state
            .store()
            .load("u-forged")
            .await
            .unwrap()
            .is_none()
    );
    // Signed, but missing its CallUUID: 400 naming it, nothing stored.
    let no_id = owned(&[("From", "14155551234"), ("To", "18005550100")]);
    let (code, body) = PlivoDialect.post(&url, &no_id).await;
    assert_eq!((code, body.contains("CallUUID")), (400, true), "{body}");
    let (code, _) = PlivoDialect.post(&url, &params).await;
    assert_eq!(code, 200);
    assert!(
        server
            .state
            .store()
            .load("u-forged")
            .await
            .unwrap()
            .is_some(),
        "the signed one is stored"
    );
    server.stop().await;

    // Telnyx: stale, from the future, forged, missing, malformed.
    let db = TestDb::sqlite();
    let server = serving(&TelnyxDialect, &db).await;
    let url = server.url("/telnyx/voice");
    let params = TelnyxDialect.new_call("v3:forged", "+15550001111", "+18005550100");
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish();
    let now = open_hours()().as_second();
    for (why, headers) in [
        ("stale", telnyx_headers(&body, now - 301)),
        ("future", telnyx_headers(&body, now + 301)),
        ("forged", telnyx_headers("another body", now)),
        ("missing", vec![]),
        (
            "malformed",
            vec![
                ("telnyx-signature-ed25519", "not base64".to_owned()),
                ("telnyx-timestamp", "soon".to_owned()),
            ],
        ),
    ] {
        let (code, _) = send(
            &url,
            "application/x-www-form-urlencoded",
            body.clone(),
            &headers,
        )
        .await;
        assert_eq!(code, 403, "{why}");
    }
    assert!(
        server
            .state
            .store()
            .load("v3:forged")
            .await
            .unwrap()
            .is_none()
    );
    let (code, doc) = send(
        &url,
        "application/x-www-form-urlencoded",
        body.clone(),
        &telnyx_headers(&body, now - 200),
    )
    .await;
    assert_eq!(code, 200, "{doc}");
    server.stop().await;

    // SignalWire: a form signed with another key, a JSON body changed after signing.
    let db = TestDb::sqlite();
    let server = serving(&SignalWireDialect, &db).await;
    let url = server.url("/signalwire/voice");
    let params = SignalWireDialect.new_call("5b0a-forged", "+15550001111", "+18005550100");
    use switchboard::provider::twilio::signature::{Algorithm, sign};
    let wrong = sign(Algorithm::Sha1, "another key", &url, &params);
    assert_eq!(
        send_form(&url, &params, &[("x-signalwire-signature", wrong)])
            .await
            .0,
        403
    );
    let body = r#"{"CallSid":"5b0a-forged","From":"+15550001111","To":"+18005550100"}"#;
    let sig =
        switchboard::provider::signalwire::json_signature(SIGNALWIRE_KEY, &url, body.as_bytes());
    let changed = body.replace("+1555", "+1666");
    assert_eq!(
        send(
            &url,
            "application/json",
            changed,
            &[("x-signalwire-signature", sig.clone())]
        )
        .await
        .0,
        403
    );
    assert_eq!(
        send(
            &url,
            "application/json",
            "{not json".into(),
            &[("x-signalwire-signature", sig.clone())]
        )
        .await
        .0,
        400
    );
    assert!(
        server
            .state
            .store()
            .load("5b0a-forged")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        send(
            &url,
            "application/json",
            body.into(),
            &[("x-twilio-signature", sig)]
        )
        .await
        .0,
        200
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plivo_callers_wait_in_our_own_queue_and_leave_it_at_max_wait() {
    let db = TestDb::sqlite();
    let clock = Arc::new(std::sync::Mutex::new(open_hours()()));
    let read = clock.clone();
    let now: switchboard::server::Clock = Arc::new(move || *read.lock().unwrap());
    let state = crate::server::state(demo(), &db, "recordings".into(), Some(now)).await;
    let server = Server::launch(PlivoDialect.mount(state), None).await;
    // Two callers, in Chinese, press 0 for a person one minute apart.
    let mut waits = Vec::new();
    for sid in ["u-first", "u-second"] {
        let (_, doc) = PlivoDialect
            .post(
                &server.url("/plivo/voice"),
                &PlivoDialect.new_call(sid, "+15550001111", "+18005550100"),
            )
            .await;
        let (url, params) = PlivoDialect.event(&server, &doc, sid, &Event::Digits("2".into()));
        let (_, menu) = PlivoDialect.post(&url, &params).await;
        let (url, params) = PlivoDialect.event(&server, &menu, sid, &Event::Digits("0".into()));
        let (code, queued) = PlivoDialect.post(&url, &params).await;
        assert_eq!(code, 200, "{queued}");
        waits.push(plivo_wait(&queued).unwrap_or_else(|| panic!("not in our hold loop: {queued}")));
        let mut c = clock.lock().unwrap();
        *c = c.checked_add(jiff::SignedDuration::from_secs(60)).unwrap();
    }
    // The second caller, at the first turn of their loop: one caller ahead, by our own queue.
    let cs = |sid: &str| owned(&[("CallUUID", sid)]);
    let (code, hold) = PlivoDialect.post(&waits[1], &cs("u-second")).await;
    assert_eq!(code, 200, "{hold}");
    let root = tree(&hold);
    assert_eq!(
        find(&root, "Speak").map(text).as_deref(),
        Some("您前面还有1位来电者。"),
        "{hold}"
    );
    assert!(find(&root, "Play").is_some(), "{hold}");
    assert_eq!(
        plivo_wait(&hold).as_ref(),
        Some(&waits[1]),
        "the loop goes on: {hold}"
    );
    // The first caller hangs up: the second is next.
    let (code, _) = PlivoDialect
        .post(
            &server.url("/plivo/status"),
            &owned(&[("CallUUID", "u-first"), ("CallStatus", "completed")]),
        )
        .await;
    assert_eq!(code, 204);
    {
        let mut c = clock.lock().unwrap();
        *c = c.checked_add(jiff::SignedDuration::from_secs(60)).unwrap();
    }
    let (_, hold) = PlivoDialect.post(&waits[1], &cs("u-second")).await;
    assert_eq!(
        find(&tree(&hold), "Speak").map(text).as_deref(),
        Some("您前面还有0位来电者。"),
        "{hold}"
    );
    // At the general group's max_wait (8m): out of the queue, to the step it waits at.
    {
        let mut c = clock.lock().unwrap();
        *c = c.checked_add(jiff::SignedDuration::from_mins(8)).unwrap();
    }
    let (_, hold) = PlivoDialect.post(&waits[1], &cs("u-second")).await;
    let root = tree(&hold);
    let leave = find(&root, "Redirect").map(text).unwrap_or_default();
    assert!(
        leave.contains("/plivo/step?") && leave.ends_with("&ev=leave"),
        "{hold}"
    );
    let (code, next) = PlivoDialect.post(&leave, &cs("u-second")).await;
    assert_eq!(code, 200, "{next}");
    let state = server
        .state
        .store()
        .load("u-second")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(
        state.wait,
        switchboard::engine::Wait::Queue,
        "left the queue: {next}"
    );
    // A wait for another call than Plivo's: 400.
    let (code, _) = PlivoDialect.post(&waits[1], &cs("u-first")).await;
    assert_eq!(code, 400);
    server.stop().await;
}

#[test]
fn the_capability_table_in_the_docs_is_what_the_code_says() {
    let out = crate::support::switchboard(&["providers"]);
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    let doc = std::fs::read_to_string("docs/providers.md").unwrap();
    let start = "<!-- capability table: switchboard providers -->\n";
    let at = doc.find(start).expect("the table's start marker") + start.len();
    let end = doc[at..]
        .find("<!-- end of capability table -->")
        .expect("its end marker");
    assert_eq!(
        &doc[at..at + end],
        table,
        "docs/providers.md's table is stale: paste `switchboard providers` between its markers"
    );
    assert!(
        table.contains("| several endpoints rung at once (`agents`) |"),
        "{table}"
    );
}

#[test]
fn check_proves_a_flow_suits_the_provider_named() {
    use crate::support::switchboard;
    let text = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();
    for ok in ["twilio", "plivo", "telnyx", "signalwire", "twilio,plivo"] {
        let out = switchboard(&["check", "--provider", ok, "flows"]);
        assert!(out.status.success(), "{ok}: {}", text(&out));
    }
    // VoiceXML cannot join a caller to an agent: the demo's queue groups are refused.
    let out = switchboard(&["check", "--provider", "vxml", "flows"]);
    let err = text(&out);
    assert!(
        err.contains("queue `main.operator`") && err.contains("which vxml cannot do"),
        "{err}"
    );
    // The demo's priority desk rings a number and a SIP desk at once: not on VoiceXML.
    let out = switchboard(&["check", "--provider", "vxml", "flows"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out);
    assert!(
        err.contains("error[provider-unsupported]")
            && err.contains("queue `main.vip_desk`")
            && err.contains("flows/main.toml:"),
        "{err}"
    );
    let out = switchboard(&["check", "--provider", "pliv", "flows"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "clap refuses an unknown provider"
    );
    assert!(text(&out).contains("plivo"), "{}", text(&out));
    // A `[numbers]` entry naming a provider that does not exist.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.toml"),
        "[flow]\nstart = \"bye\"\n\n[numbers]\n\"+18005550100\" = { flow = \"main\", provider = \"plivio\" }\n\n[hangup.bye]\nprompt = \"Goodbye.\"\n",
    )
    .unwrap();
    let out = switchboard(&["check", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out);
    assert!(
        err.contains("unknown-reference") && err.contains("did you mean `plivo`"),
        "{err}"
    );
}

/// `loadtest --provider NAME` against one server mounting all five
/// providers, each signed: every call ends with its whole log stored.
async fn loadtest_drives_every_provider(db: TestDb) {
    use switchboard::provider::capability::Kind;
    use switchboard::provider::{
        plivo::Plivo, signalwire::SignalWire, telnyx::Telnyx, twilio::Twilio, vxml::VoiceXml,
    };
    let state = crate::server::state(demo(), &db, "recordings".into(), None).await;
    let state = state.with_providers(vec![
        Arc::new(Twilio::new(Some(crate::server::TOKEN.into()))),
        Arc::new(Plivo::new(Some(PLIVO_TOKEN.into()), None)),
        Arc::new(Telnyx::new(Some(TELNYX_PUBLIC_KEY)).unwrap()),
        Arc::new(SignalWire::new(Some(SIGNALWIRE_KEY.into()))),
        Arc::new(VoiceXml::new(Some("vxml-load".into()))),
    ]);
    let server = Server::launch(state, None).await;
    use base64::Engine;
    let seed = base64::engine::general_purpose::STANDARD.encode(telnyx_key().to_bytes());
    for (n, (kind, token)) in [
        (Kind::Twilio, crate::server::TOKEN.to_owned()),
        (Kind::Plivo, PLIVO_TOKEN.to_owned()),
        (Kind::Telnyx, seed),
        (Kind::SignalWire, SIGNALWIRE_KEY.to_owned()),
        (Kind::Vxml, "vxml-load".to_owned()),
    ]
    .into_iter()
    .enumerate()
    {
        let plan = switchboard::loadtest::Plan {
            targets: switchboard::loadtest::Targets::new([server.url("")]).unwrap(),
            calls: 16,
            concurrency: 4,
            provider: kind,
            token: Some(token),
            to: "+18005550100".into(),
            max_steps: 8,
            // Plivo's and SignalWire's ids are both UUIDs: other seeds, other calls.
            seed: 11 + n as u64,
            think: std::time::Duration::from_millis(1),
            rate: None,
            connections: 4,
        };
        let report = switchboard::loadtest::run(plan).await;
        assert_eq!(report.errors, 0, "{kind:?}: {report:?}");
        assert!(report.requests >= 16 * 3, "{kind:?}: {report:?}");
        for id in &report.call_ids {
            let state = server.state.store().load_stored(id).await.unwrap();
            let state = state.unwrap_or_else(|| panic!("{kind:?}: {id} not stored"));
            assert_eq!(
                state.wait,
                switchboard::engine::Wait::Ended,
                "{kind:?} {id}"
            );
        }
    }
    server.stop().await;
}

crate::on_both! {
    loadtest_drives_every_provider,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plivo_agents_take_callers_from_our_own_queue_into_a_room_of_their_own() {
    let db = TestDb::sqlite();
    let clock = Arc::new(std::sync::Mutex::new(open_hours()()));
    let read = clock.clone();
    let now: switchboard::server::Clock = Arc::new(move || *read.lock().unwrap());
    let state = crate::server::state(demo(), &db, "recordings".into(), Some(now)).await;
    let server = Server::launch(PlivoDialect.mount(state), None).await;
    let mut waits = Vec::new();
    for sid in ["u-one", "u-two"] {
        let new = PlivoDialect.new_call(sid, "+15550001111", "+18005550100");
        let (_, doc) = PlivoDialect.post(&server.url("/plivo/voice"), &new).await;
        let (url, p) = PlivoDialect.event(&server, &doc, sid, &Event::Digits("1".into()));
        let (_, menu) = PlivoDialect.post(&url, &p).await;
        let (url, p) = PlivoDialect.event(&server, &menu, sid, &Event::Digits("0".into()));
        let (_, queued) = PlivoDialect.post(&url, &p).await;
        waits.push(plivo_wait(&queued).unwrap());
        let mut c = clock.lock().unwrap();
        *c = c.checked_add(jiff::SignedDuration::from_secs(30)).unwrap();
    }
    let agent = |id: &str| {
        owned(&[
            ("CallUUID", id),
            ("From", "14155550900"),
            ("To", "18005550999"),
        ])
    };
    let room_of = |doc: &str| find(&tree(doc), "Conference").map(text);
    let agent_url = server.url("/plivo/agent?group=general");
    // The first agent gets the caller who waited longest, the second the next.
    let (code, a1) = PlivoDialect.post(&agent_url, &agent("agent-1")).await;
    assert_eq!(code, 200, "{a1}");
    assert_eq!(room_of(&a1).as_deref(), Some("general-u-one"), "{a1}");
    let (_, a2) = PlivoDialect.post(&agent_url, &agent("agent-2")).await;
    assert_eq!(room_of(&a2).as_deref(), Some("general-u-two"), "{a2}");
    // A third finds no one: hold music, then the agent URL again.
    let (_, a3) = PlivoDialect.post(&agent_url, &agent("agent-3")).await;
    assert!(room_of(&a3).is_none(), "{a3}");
    let again = find(&tree(&a3), "Redirect").map(text).unwrap_or_default();
    assert!(again.contains("/plivo/agent?group=general"), "{a3}");
    // The first caller's next hold-loop turn joins the room; the talk's end
    // is the queue's `bridged`.
    let (_, hold) = PlivoDialect
        .post(&waits[0], &owned(&[("CallUUID", "u-one")]))
        .await;
    let root = tree(&hold);
    let conf = find(&root, "Conference").unwrap_or_else(|| panic!("not joined: {hold}"));
    assert_eq!(text(conf), "general-u-one");
    let action = conf.attrs.get("action").cloned().unwrap();
    assert!(action.ends_with("&ev=bridged"), "{action}");
    let (code, after) = PlivoDialect
        .post(&action, &owned(&[("CallUUID", "u-one")]))
        .await;
    assert_eq!(code, 200, "{after}");
    let state = server.state.store().load("u-one").await.unwrap().unwrap();
    let outcome = state
        .outcome
        .map(|o| switchboard::engine::outcome_code(&demo(), o));
    assert_eq!(outcome.as_deref(), Some("group:general"));
    // An unknown group: 400 naming it; Twilio mounts no agent route.
    let (code, body) = PlivoDialect
        .post(&server.url("/plivo/agent?group=nope"), &agent("agent-4"))
        .await;
    assert_eq!((code, body.contains("group")), (400, true), "{body}");
    server.stop().await;
}

/// Two instances over one PostgreSQL database: an agent whose call reaches
/// the other instance still takes the caller queued through the first, and
/// a waiting caller's place counts callers queued on either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_own_queue_is_the_databases_not_one_instances() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let launch = || async {
        let state =
            crate::server::state(demo(), &db, "recordings".into(), Some(open_hours())).await;
        Server::launch(PlivoDialect.mount(state), None).await
    };
    let (a, b) = (launch().await, launch().await);
    let mut waits = Vec::new();
    for (server, sid) in [(&a, "u-on-a"), (&b, "u-on-b")] {
        let new = PlivoDialect.new_call(sid, "+15550003333", "+18005550100");
        let (_, doc) = PlivoDialect.post(&server.url("/plivo/voice"), &new).await;
        let (url, p) = PlivoDialect.event(server, &doc, sid, &Event::Digits("1".into()));
        let (_, menu) = PlivoDialect.post(&url, &p).await;
        let (url, p) = PlivoDialect.event(server, &menu, sid, &Event::Digits("0".into()));
        let (_, queued) = PlivoDialect.post(&url, &p).await;
        waits.push(plivo_wait(&queued).unwrap_or_else(|| panic!("{queued}")));
    }
    // B's caller, asking B: one caller ahead, queued on A (the order of two
    // callers who joined in the same millisecond is by call id).
    let (_, hold) = PlivoDialect
        .post(&waits[1], &owned(&[("CallUUID", "u-on-b")]))
        .await;
    let said = find(&tree(&hold), "Speak").map(text).unwrap_or_default();
    assert_eq!(said, "You are number 2 in line.", "{hold}");
    // An agent on B takes A's caller or B's, whichever waited longest; a
    // second agent on A takes the other.
    let agent = |id: &str| {
        owned(&[
            ("CallUUID", id),
            ("From", "14155550900"),
            ("To", "18005550999"),
        ])
    };
    let (_, first) = PlivoDialect
        .post(&b.url("/plivo/agent?group=general"), &agent("ag-1"))
        .await;
    let (_, second) = PlivoDialect
        .post(&a.url("/plivo/agent?group=general"), &agent("ag-2"))
        .await;
    let mut rooms: Vec<String> = [first, second]
        .iter()
        .map(|d| {
            find(&tree(d), "Conference")
                .map(text)
                .unwrap_or_else(|| panic!("no room: {d}"))
        })
        .collect();
    rooms.sort();
    assert_eq!(rooms, ["general-u-on-a", "general-u-on-b"]);
    a.stop().await;
    b.stop().await;
}
