//! Sensitive entries as callers, admins and the database see them: the
//! demo's account number is never stored in clear (the raw SQLite files are
//! searched for it), only sealed while the call needs it and gone from every
//! step once the call ends; a server with another data key, or none, sends
//! the call down the failure route and says why, never the value.

use crate::server::{Server, TOKEN, action, call, post};
use crate::support::db::{Database, TestDb};
use crate::support::serving::Serving;
use crate::support::{demo, open_hours};
use std::path::Path;

const ACCOUNT: &str = "12345678";
const OTHER_ACCOUNT: &str = "87654321";

/// `path` of an action URL, on `base`.
fn on(base: &str, url: &str) -> String {
    format!("{base}{}", &url[url.find("/twilio").unwrap()..])
}

/// A call (from `+15550001111`) answered in English, choosing billing and
/// entering `account`: the queue's document.
async fn to_billing_queue(base: &str, sid: &str, account: &str) -> String {
    let (code, doc) = post(&format!("{base}/twilio/voice"), &call(sid), None).await;
    assert_eq!(code, 200, "{doc}");
    let mut doc = doc;
    for digits in ["1", "2"] {
        let (code, next) = post(
            &on(base, &action(&doc)),
            &[("CallSid", sid), ("Digits", digits)],
            None,
        )
        .await;
        assert_eq!(code, 200, "{next}");
        doc = next;
    }
    assert!(
        doc.contains("account number"),
        "at the billing entry: {doc}"
    );
    let entry = format!("{account}#");
    let (code, doc) = post(
        &on(base, &action(&doc)),
        &[("CallSid", sid), ("Digits", &entry)],
        None,
    )
    .await;
    assert_eq!(code, 200, "{doc}");
    assert!(doc.contains("<Enqueue"), "queued for billing: {doc}");
    doc
}

/// Every text the store holds about calls: states, event logs, answers.
async fn stored_texts(db: &TestDb) -> String {
    db.texts(
        "SELECT state || events || COALESCE(response, '') FROM steps",
        "SELECT state::text || events::text || COALESCE(response, '') FROM steps",
    )
    .await
    .join("\n")
}

async fn sensitive_digits_are_never_stored_in_clear(db: TestDb) {
    let server = Server::with(demo(), &db, Some(open_hours())).await;
    let base = format!("http://{}", server.addr);
    // One call runs to its end; another waits in the queue.
    let queued = to_billing_queue(&base, "CAS1", ACCOUNT).await;
    let (_, csat) = post(
        &on(&base, &action(&queued)),
        &[("CallSid", "CAS1"), ("QueueResult", "bridged")],
        None,
    )
    .await;
    let (_, bye) = post(
        &on(&base, &action(&csat)),
        &[("CallSid", "CAS1"), ("Digits", "5")],
        None,
    )
    .await;
    assert!(bye.contains("<Hangup"), "{bye}");
    let status = [("CallSid", "CAS1"), ("CallStatus", "completed")];
    assert_eq!(
        post(&server.url("/twilio/status"), &status, None).await.0,
        204
    );
    to_billing_queue(&base, "CAS2", OTHER_ACCOUNT).await;

    let texts = stored_texts(&db).await;
    for digits in [ACCOUNT, OTHER_ACCOUNT] {
        assert!(
            !texts.contains(digits),
            "{digits} stored in clear:\n{texts}"
        );
    }
    // What the log says instead: an entry of 8 digits, valid, and a
    // sensitive variable set.
    assert!(
        texts.contains(r#""type":"entry""#) || texts.contains(r#""type": "entry""#),
        "{texts}"
    );
    assert!(texts.contains(r#""digits": 8"#) || texts.contains(r#""digits":8"#));
    // The live call keeps its entry sealed; the ended one keeps it nowhere.
    let live = db
        .texts(
            "SELECT s.state FROM steps s JOIN calls c ON c.id = s.call_id WHERE c.call_sid = 'CAS2' AND json_type(s.state, '$.secrets') IS NOT NULL",
            "SELECT s.state::text FROM steps s JOIN calls c ON c.id = s.call_id WHERE c.call_sid = 'CAS2' AND s.state ? 'secrets'",
        )
        .await;
    assert!(
        !live.is_empty(),
        "the queued call's entry is sealed in its state"
    );
    assert!(live.iter().all(|s| s.contains(r#""box""#)), "{live:?}");
    let ended = db
        .texts(
            "SELECT s.state FROM steps s JOIN calls c ON c.id = s.call_id WHERE c.call_sid = 'CAS1' AND json_type(s.state, '$.secrets') IS NOT NULL",
            "SELECT s.state::text FROM steps s JOIN calls c ON c.id = s.call_id WHERE c.call_sid = 'CAS1' AND s.state ? 'secrets'",
        )
        .await;
    assert!(
        ended.is_empty(),
        "an ended call keeps sealed values: {ended:?}"
    );
    server.stop().await;

    // In SQLite's files themselves, not only in what SQL reads back.
    if let TestDb::Sqlite(_, path) = &db {
        for file in ["", "-wal", "-shm"] {
            let file = format!("{}{file}", path.display());
            let Ok(bytes) = std::fs::read(&file) else {
                continue;
            };
            for digits in [ACCOUNT, OTHER_ACCOUNT] {
                assert!(
                    !bytes.windows(digits.len()).any(|w| w == digits.as_bytes()),
                    "{digits} in {file}"
                );
            }
        }
    }
}

async fn a_server_restarted_with_the_same_key_continues_the_call_with_its_entry(db: TestDb) {
    let server = Server::with(demo(), &db, Some(open_hours())).await;
    let base = format!("http://{}", server.addr);
    let queued = to_billing_queue(&base, "CAS3", ACCOUNT).await;
    server.stop().await;
    // Another process (same key) reads the sealed entry back: the call
    // goes on to the survey as if nothing happened.
    let server = Server::with(demo(), &db, Some(open_hours())).await;
    let base = format!("http://{}", server.addr);
    let (code, csat) = post(
        &on(&base, &action(&queued)),
        &[("CallSid", "CAS3"), ("QueueResult", "bridged")],
        None,
    )
    .await;
    assert_eq!(code, 200);
    assert!(!csat.contains("sorry"), "{csat}");
    let state = server.state.store().load("CAS3").await.unwrap().unwrap();
    assert_eq!(state.secrets.get("account_number"), Some(ACCOUNT));
    server.stop().await;
}

crate::on_both!(
    sensitive_digits_are_never_stored_in_clear,
    a_server_restarted_with_the_same_key_continues_the_call_with_its_entry,
);

/// A flow set whose every call asks for a sensitive PIN, then queues:
/// open around the clock, so the test does not depend on the hour.
const PIN_FLOW: &str = r#"
[flow]
start = "pin"

[input.pin]
prompt = "Please enter your PIN, then press pound."
variable = "pin"
min_digits = 4
max_digits = 4
next = "q"
on_failure = "q"
sensitive = true

[queue.q]
group = "g"
next = "bye"

[hangup.bye]
prompt = "Goodbye."

[groups.g]
kind = "support"

[settings.fallback]
group = "g"
message = "We're sorry, something went wrong on our side."
"#;

const PIN: &str = "2468";

/// `switchboard serve` on `flows` with `key` as its data key (`None`: unset).
fn serve_with_key(flows: &Path, db: &TestDb, key: Option<&str>) -> Serving {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--flows"])
        .arg(flows)
        .arg("--database")
        .arg(db.url())
        .env("TWILIO_AUTH_TOKEN", TOKEN)
        .env("SWITCHBOARD_LOG", "info");
    match key {
        Some(k) => command.env("SWITCHBOARD_DATA_KEY", k),
        None => command.env_remove("SWITCHBOARD_DATA_KEY"),
    };
    Serving::start(command)
}

/// A call queued after its PIN by a server with the tests' key, continued
/// by one with `key`, then ended by its status callback: what the caller
/// heard, that server's log, and the sealed values left in the database.
async fn continued_with(key: Option<&str>) -> (String, String) {
    let flows = tempfile::tempdir().unwrap();
    std::fs::write(flows.path().join("main.toml"), PIN_FLOW).unwrap();
    let db = TestDb::sqlite();
    let first = serve_with_key(flows.path(), &db, Some(crate::support::DATA_KEY));
    let base = first.url("");
    let (code, doc) = post(&format!("{base}/twilio/voice"), &call("CAK"), None).await;
    assert_eq!(code, 200, "{doc}");
    let entry = format!("{PIN}#");
    let (_, queued) = post(
        &on(&base, &action(&doc)),
        &[("CallSid", "CAK"), ("Digits", &entry)],
        None,
    )
    .await;
    assert!(queued.contains("<Enqueue"), "{queued}");
    let _ = first.log();
    let second = serve_with_key(flows.path(), &db, key);
    let base = second.url("");
    let (code, heard) = post(
        &on(&base, &action(&queued)),
        &[("CallSid", "CAK"), ("QueueResult", "bridged")],
        None,
    )
    .await;
    assert_eq!(code, 200, "{heard}");
    // The call's end is still recorded, and its sealed values go unread.
    let status = [("CallSid", "CAK"), ("CallStatus", "completed")];
    let (code, _) = post(&format!("{base}/twilio/status"), &status, None).await;
    assert_eq!(code, 204);
    let sealed = db
        .texts(
            "SELECT state FROM steps WHERE json_type(state, '$.secrets') IS NOT NULL",
            "",
        )
        .await;
    assert!(
        sealed.is_empty(),
        "sealed values left after the end: {sealed:?}"
    );
    let ended = db
        .count("SELECT COUNT(*) FROM calls WHERE ended_at IS NOT NULL")
        .await;
    assert_eq!(ended, 1, "the call's end is stored");
    (heard, second.log())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_data_key_takes_the_failure_route_and_the_log_says_the_key_does_not_match() {
    let other = switchboard::privacy::DataKeys::generate();
    let (heard, log) = continued_with(Some(&other)).await;
    assert!(heard.contains("sorry"), "the apology: {heard}");
    assert!(log.contains("the data key does not match"), "{log}");
    let sealed_with = crate::support::data_key().ids()[0].to_owned();
    assert!(log.contains(&sealed_with), "names the key id: {log}");
    for secret in [PIN, other.as_str(), crate::support::DATA_KEY] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_data_key_for_sealed_values_takes_the_failure_route_and_says_so() {
    let (heard, log) = continued_with(None).await;
    assert!(heard.contains("sorry"), "the apology: {heard}");
    assert!(log.contains("SWITCHBOARD_DATA_KEY is not set"), "{log}");
    assert!(!log.contains(PIN), "{log}");
}

#[test]
fn a_data_key_that_is_not_one_stops_serve_with_what_to_do() {
    let db = TestDb::sqlite();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database"])
        .arg(db.url())
        .env("SWITCHBOARD_DATA_KEY", "hunter2")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a data key"), "{err}");
    assert!(err.contains("switchboard data-key new"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn data_key_new_prints_a_key_serve_accepts() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["data-key", "new"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let key = String::from_utf8(out.stdout).unwrap();
    let keys = switchboard::privacy::DataKeys::parse(Some(key.trim())).unwrap();
    assert_eq!(keys.ids().len(), 1);
}
