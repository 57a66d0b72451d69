//! Every provider as it meets the server: its own routes, signatures,
//! callbacks and documents, over one call service. Requests are signed the
//! way each provider's official SDK signs them (the vectors in
//! `tests/data/` come from those SDKs, see `scripts/provider-oracle.py`).

use crate::server::{Server, action, call, find, post, text};
use crate::support::db::TestDb;
use crate::support::xml::tree;
use crate::support::{demo, open_hours};

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
