//! The rights of access and erasure as an admin exercises them:
//! `switchboard caller export` prints everything stored about a number,
//! `caller erase` deletes it (the call rows kept for reports under a keyed
//! hash), caller history stops matching it, and on SQLite the number is
//! gone from the database files themselves.

use crate::server::{Server, TOKEN, action, post};
use crate::support::db::{Database, TestDb};
use crate::support::{demo, open_hours, switchboard};

const CALLER: &str = "+15550003333";
const OTHER: &str = "+15550004444";

/// A whole billing call from `from` through the server, rated 4.
async fn billing_call(server: &Server, sid: &str, from: &str) {
    let base = format!("http://{}", server.addr);
    let on = |url: String| format!("{base}{}", &url[url.find("/twilio").unwrap()..]);
    let new = [("CallSid", sid), ("From", from), ("To", "+18005550100")];
    let (_, mut doc) = post(&server.url("/twilio/voice"), &new, None).await;
    for (key, value) in [
        ("Digits", "1"),
        ("Digits", "2"),
        ("Digits", "12345678#"),
        ("QueueResult", "bridged"),
        ("Digits", "4"),
    ] {
        let (code, next) = post(&on(action(&doc)), &[("CallSid", sid), (key, value)], None).await;
        assert_eq!(code, 200, "{next}");
        doc = next;
    }
    let status = [("CallSid", sid), ("CallStatus", "completed")];
    assert_eq!(
        post(&server.url("/twilio/status"), &status, None).await.0,
        204
    );
}

fn bytes_contain(path: &str, needle: &str) -> bool {
    std::fs::read(path).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
}

async fn a_caller_is_exported_then_erased_and_history_stops_matching(db: TestDb) {
    let server = Server::with(demo(), &db, Some(open_hours())).await;
    billing_call(&server, "CAX1", CALLER).await;
    billing_call(&server, "CAX2", CALLER).await;
    billing_call(&server, "CAY1", OTHER).await;
    db.execute(
        &format!("INSERT INTO callbacks (call_sid, grp, number, at) VALUES ('CAY1', 'billing', '{CALLER}', 1); INSERT INTO voicemails (call_sid, grp, url, seconds, at) VALUES ('CAX1', 'billing', 'https://api.example.com/rec/RE1', 9, 1);"),
        &format!("INSERT INTO callbacks (call_sid, grp, number, at) VALUES ('CAY1', 'billing', '{CALLER}', 1); INSERT INTO voicemails (call_sid, grp, url, seconds, at) VALUES ('CAX1', 'billing', 'https://api.example.com/rec/RE1', 9, 1);"),
    )
    .await;
    let since: jiff::Timestamp = "2026-03-01T00:00:00Z".parse().unwrap();
    let store = server.state.store().clone();
    assert_eq!(store.history(CALLER, since).await.unwrap().len(), 2);
    server.stop().await;
    let url = db.url();

    let out = switchboard(&["caller", "export", CALLER, "--database", &url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let calls = doc["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2, "{doc:#}");
    assert_eq!(calls[0]["outcome"], "group:billing");
    assert_eq!(calls[0]["steps"].as_array().unwrap().len(), 6);
    assert_eq!(calls[0]["survey_answers"][0]["rating"], 4);
    assert_eq!(calls[0]["voicemails"][0]["seconds"], 9);
    assert_eq!(doc["callbacks_to_this_number"][0]["call"], "CAY1");
    let text = doc.to_string();
    assert!(
        !text.contains("12345678"),
        "no sensitive entry in the export"
    );
    assert!(!text.contains(OTHER), "nothing of another caller");

    let out = switchboard(&[
        "caller",
        "erase",
        CALLER,
        "--database",
        &url,
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let erased: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(erased["calls"], 2);
    assert_eq!(erased["steps"], 12);
    assert_eq!(erased["voicemails"], 1);
    assert_eq!(erased["callbacks"], 1);
    assert_eq!(erased["recordings"][0], "https://api.example.com/rec/RE1");
    let hash = erased["hash"].as_str().unwrap().to_owned();
    assert!(hash.starts_with("erased:"));

    // What stays: the two call rows (for reports) and their survey answers.
    let callers = db
        .texts(
            "SELECT caller FROM calls ORDER BY call_sid",
            "SELECT caller FROM calls ORDER BY call_sid",
        )
        .await;
    assert_eq!(callers, vec![hash.clone(), hash, OTHER.to_owned()]);
    assert_eq!(db.count("SELECT COUNT(*) FROM surveys").await, 3);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM steps").await,
        6,
        "the other caller's steps stay"
    );
    let store = switchboard::store::Store::open(&url).await.unwrap();
    assert!(
        store.history(CALLER, since).await.unwrap().is_empty(),
        "history no longer matches"
    );
    assert_eq!(store.history(OTHER, since).await.unwrap().len(), 1);
    assert_eq!(store.export_caller(CALLER).await.unwrap(), None);
    store.close().await;

    if let TestDb::Sqlite(_, path) = &db {
        for suffix in ["", "-wal", "-shm"] {
            let file = format!("{}{suffix}", path.display());
            assert!(!bytes_contain(&file, CALLER), "{CALLER} left in {file}");
            assert!(
                !bytes_contain(&file, "api.example.com/rec/RE1"),
                "the recording URL left in {file}"
            );
        }
        assert!(
            bytes_contain(&path.display().to_string(), OTHER)
                || bytes_contain(&format!("{}-wal", path.display()), OTHER),
            "the search would find a number that is there"
        );
    }

    // Again: nothing left to erase, said so, exit 0.
    let out = switchboard(&["caller", "erase", CALLER, "--database", &url]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("nothing is stored about"), "{text}");
}

crate::on_both!(a_caller_is_exported_then_erased_and_history_stops_matching);

#[test]
fn export_of_an_unknown_number_says_so_and_prints_an_empty_document() {
    let db = TestDb::sqlite();
    let out = switchboard(&["caller", "export", "+19999999999", "--database", &db.url()]);
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["calls"].as_array().map(Vec::len), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing is stored about +19999999999"));
    let _ = TOKEN;
}
