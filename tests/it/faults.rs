//! Faults as operators meet them: the database locked by another program
//! past the answer deadline, a handler that panics. A voice route always
//! answers valid TwiML in time (never 5xx); a status that could not be
//! stored is never acknowledged; and the store holds what callers heard.

use crate::server::{Server, TOKEN, action, call, post, to_the_menu};
use crate::support::xml::tree;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use switchboard::server::FaultHook;

/// A server on the demo flows and `db`, answering within `deadline`.
async fn server(db: &Path, deadline: Duration, hook: Option<FaultHook>) -> Server {
    let at: jiff::Timestamp = "2026-12-02T15:00:00Z".parse().unwrap();
    let clock: switchboard::server::Clock = Arc::new(move || at);
    Server::serving_with(Path::new("flows"), db, Some(clock), |state| {
        let state = state.answering_within(deadline);
        match hook {
            Some(h) => state.with_fault_hook(h),
            None => state,
        }
    })
    .await
}

/// A hook that panics in the handler of `route`.
fn panics_in(route: &'static str) -> FaultHook {
    Arc::new(move |r| {
        if r == route {
            panic!("injected by the test");
        }
    })
}

/// The apology: valid TwiML queueing for the fallback group, ending at
/// `/twilio/done` rather than back in the call.
fn is_apology(doc: &str) -> bool {
    let root = tree(doc);
    root.name == "Response" && doc.contains("<Enqueue") && doc.contains("/twilio/done")
}

/// Post to one of our own URLs on `server`.
async fn post_path(server: &Server, url: &str, params: &[(&str, &str)]) -> (u16, String) {
    let path = &url[url.find("/twilio").unwrap()..];
    post(&server.url(path), params, None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_held_past_the_deadline_gets_every_caller_the_apology_and_no_5xx() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("calls.db");
    let server = server(&db, Duration::from_millis(800), None).await;
    let mut menus = Vec::new();
    for i in 0..10 {
        menus.push(to_the_menu(&server.url(""), &format!("CA-lock{i}")).await);
    }
    // Another program takes the database's write lock and keeps it.
    use sqlx::Connection;
    let mut other = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    let server = Arc::new(server);
    let mut requests = tokio::task::JoinSet::new();
    for (i, menu) in menus.iter().take(5).enumerate() {
        let s = server.clone();
        requests.spawn(async move {
            let sid = format!("CA-new{i}");
            let (code, doc) = post(&s.url("/twilio/voice"), &call(&sid), None).await;
            ("voice", code, doc)
        });
        let (s, menu) = (server.clone(), menu.clone());
        requests.spawn(async move {
            let sid = format!("CA-lock{i}");
            let (code, doc) =
                post_path(&s, &action(&menu), &[("CallSid", &sid), ("Digits", "2")]).await;
            ("step", code, doc)
        });
        let s = server.clone();
        requests.spawn(async move {
            let sid = format!("CA-lock{}", i + 5);
            let params = [
                ("CallSid", sid.as_str()),
                ("CallStatus", "completed"),
                ("CallDuration", "9"),
            ];
            let body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params)
                .finish();
            let res = reqwest::Client::new()
                .post(s.url("/twilio/status"))
                .header("content-type", "application/x-www-form-urlencoded")
                .header(
                    "x-twilio-signature",
                    switchboard::provider::twilio::signature::sign(
                        switchboard::provider::twilio::signature::Algorithm::Sha1,
                        TOKEN,
                        &s.url("/twilio/status"),
                        &params
                            .iter()
                            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                            .collect::<Vec<_>>(),
                    ),
                )
                .body(body)
                .send()
                .await
                .unwrap();
            let retry = res
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            ("status", res.status().as_u16(), retry.unwrap_or_default())
        });
    }
    // Every answer arrives while the lock is still held.
    let answers = tokio::time::timeout(Duration::from_secs(30), requests.join_all())
        .await
        .expect("every request is answered while the database stays locked");
    for (route, code, doc) in &answers {
        match *route {
            "status" => {
                assert_eq!(*code, 503, "a status not stored is not acknowledged");
                assert_eq!(doc, "5", "with Retry-After");
            }
            _ => {
                assert_eq!(*code, 200, "{route}: {doc}");
                assert!(is_apology(doc), "{route}: {doc}");
            }
        }
    }
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    other.close().await.unwrap();
    // One more call through the writer: whatever it still held from the
    // locked time has been written (or dropped) before this is answered.
    to_the_menu(&server.url(""), "CA-sentinel").await;
    // What the store holds is what the callers heard: the steps answered
    // with the apology were never stored, nor the calls that got it at once.
    for i in 0..5 {
        let state = server
            .state
            .store()
            .load_stored(&format!("CA-lock{i}"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            state.wait,
            switchboard::engine::Wait::Choice,
            "still at the menu"
        );
        assert!(
            server
                .state
                .store()
                .load_stored(&format!("CA-new{i}"))
                .await
                .unwrap()
                .is_none()
        );
    }
    // Twilio retries the status once the database is free: now it is stored.
    let sid = "CA-lock5";
    let params = [
        ("CallSid", sid),
        ("CallStatus", "completed"),
        ("CallDuration", "9"),
    ];
    assert_eq!(
        post(&server.url("/twilio/status"), &params, None).await.0,
        204
    );
    let state = server
        .state
        .store()
        .load_stored(sid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.wait, switchboard::engine::Wait::Ended);
    let server = Arc::into_inner(server).expect("no request holds the server");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_a_handler_answers_the_apology_and_the_server_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("calls.db");
    let server = server(&db, Duration::from_secs(5), Some(panics_in("step"))).await;
    let (code, first) = post(&server.url("/twilio/voice"), &call("CA-panic"), None).await;
    assert_eq!(code, 200, "{first}");
    let (code, doc) = post_path(
        &server,
        &action(&first),
        &[("CallSid", "CA-panic"), ("Digits", "1")],
    )
    .await;
    assert_eq!(code, 200, "never a 500: {doc}");
    assert!(is_apology(&doc), "{doc}");
    // The server still answers other calls.
    let (code, again) = post(&server.url("/twilio/voice"), &call("CA-after"), None).await;
    assert_eq!(code, 200, "{again}");
    assert!(again.contains("language_menu.wav"), "{again}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_the_status_callback_asks_the_provider_to_retry() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("calls.db");
    let server = server(&db, Duration::from_secs(5), Some(panics_in("status"))).await;
    let (code, _) = post(&server.url("/twilio/voice"), &call("CA-st"), None).await;
    assert_eq!(code, 200);
    let params = [
        ("CallSid", "CA-st"),
        ("CallStatus", "completed"),
        ("CallDuration", "3"),
    ];
    let (code, _) = post(&server.url("/twilio/status"), &params, None).await;
    assert_eq!(code, 503);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_url_that_fails_keeps_the_hold_music_going() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("calls.db");
    let server = server(&db, Duration::from_secs(5), Some(panics_in("wait"))).await;
    let params = [("QueuePosition", "2"), ("QueueTime", "30")];
    let (code, doc) = post(
        &server.url("/twilio/wait?call=CA-hold&group=general"),
        &params,
        None,
    )
    .await;
    assert_eq!(code, 200, "{doc}");
    let root = tree(&doc);
    assert_eq!(root.name, "Response", "{doc}");
    assert!(doc.contains("<Pause"), "{doc}");
    assert!(
        !doc.contains("<Enqueue"),
        "a wait URL may not enqueue: {doc}"
    );
    server.stop().await;
}
