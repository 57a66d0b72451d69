//! Retention as an admin meets it: `[settings] retention` checked with its
//! position, `switchboard purge` deleting (or counting, with `--dry-run`)
//! the calls before a date table by table on both backends, the newer calls
//! untouched, and the cut-off remembered for reports.

use crate::support::db::{Database, TestDb};
use crate::support::{demo, switchboard};
use switchboard::engine::{self, Event, QueueResult, Start};
use switchboard::store::retention::{self, Removed};
use switchboard::store::{Commit, Store};

/// A whole billing call at `at` (a Monday 10:00 in New York, or a day
/// after), ending with a rating and a final status: six steps, a survey
/// answer.
async fn billing_call(
    store: &Store,
    p: &switchboard::program::Program,
    sid: &str,
    at: jiff::Timestamp,
) {
    let start = Start {
        call_id: sid.into(),
        caller: "+15550002222".into(),
        called: "+18005550100".into(),
        history: vec![],
        language: None,
    };
    let mut step = engine::start(p, start, at);
    store
        .commit(Commit::from_step(p, None, &step, at, None, None))
        .await
        .unwrap();
    for e in [
        Event::Digits("1".into()),
        Event::Digits("2".into()),
        Event::Digits("12345678#".into()),
        Event::queue(QueueResult::Bridged),
        Event::Digits("5".into()),
    ] {
        let was = step.state.step;
        step = engine::step(p, &step.state, e, at);
        store
            .commit(Commit::from_step(p, Some(was), &step, at, None, None))
            .await
            .unwrap();
    }
}

async fn a_purge_removes_old_calls_with_all_their_rows_and_keeps_the_rest(db: TestDb) {
    let store = Store::open(&db.url()).await.unwrap();
    let p = demo();
    let old: jiff::Timestamp = "2026-03-02T15:00:00Z".parse().unwrap();
    let new: jiff::Timestamp = "2026-06-01T14:00:00Z".parse().unwrap();
    for i in 0..7 {
        billing_call(&store, &p, &format!("CAold{i}"), old).await;
    }
    billing_call(&store, &p, "CAnew", new).await;
    // A voicemail and a callback of an old call, as the writers store them.
    db.execute(
        "INSERT INTO voicemails (call_sid, grp, url, seconds, at) VALUES ('CAold0', 'billing', 'https://example.com/r', 12, 1);
         INSERT INTO callbacks (call_sid, grp, number, at) VALUES ('CAold1', 'billing', '+15550002222', 1);",
        "INSERT INTO voicemails (call_sid, grp, url, seconds, at) VALUES ('CAold0', 'billing', 'https://example.com/r', 12, 1);
         INSERT INTO callbacks (call_sid, grp, number, at) VALUES ('CAold1', 'billing', '+15550002222', 1);",
    )
    .await;
    let cut: jiff::Timestamp = "2026-04-01T00:00:00Z".parse().unwrap();
    let hours = "SELECT COUNT(DISTINCT hour) FROM node_hours";
    assert_eq!(db.count(hours).await, 2, "the funnel of both hours");
    let would = store.purgeable(cut).await.unwrap();
    assert_eq!(
        would,
        Removed {
            calls: 7,
            steps: 42,
            voicemails: 1,
            callbacks: 1,
            surveys: 7,
            queue_waits: 7,
            topics_heard: 0,
        },
        "the dry run counts each table"
    );
    assert_eq!(store.purged_before().await.unwrap(), None);
    // Batches of 500 calls: force several with a small store of 7 by
    // purging batch by batch as the task does.
    let mut removed = Removed::default();
    loop {
        let r = store.purge_batch(cut, 3).await.unwrap();
        removed = removed.plus(r);
        if r.calls == 0 {
            break;
        }
    }
    assert_eq!(removed, would, "the purge removes what the dry run counted");
    assert_eq!(
        retention::purge(&store, cut, retention::Pace::Full)
            .await
            .unwrap(),
        Removed::default()
    );
    assert_eq!(
        db.count(hours).await,
        1,
        "the old calls' funnel goes with them"
    );
    for table in ["calls", "steps", "surveys", "node_hours"] {
        let n = db.count(&format!("SELECT COUNT(*) FROM {table}")).await;
        assert!(n > 0, "the new call's {table} rows stay");
    }
    let left = db
        .texts("SELECT call_sid FROM calls", "SELECT call_sid FROM calls")
        .await;
    assert_eq!(left, vec!["CAnew".to_owned()]);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM voicemails").await
            + db.count("SELECT COUNT(*) FROM callbacks").await,
        0
    );
    // A purge through the task remembers its cut-off for reports.
    billing_call(&store, &p, "CAold-again", old).await;
    let r = retention::purge(&store, cut, retention::Pace::Gentle)
        .await
        .unwrap();
    assert_eq!(r.calls, 1);
    assert_eq!(store.purged_before().await.unwrap(), Some(cut));
    store.close().await;
}

crate::on_both!(a_purge_removes_old_calls_with_all_their_rows_and_keeps_the_rest);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_on_the_command_line_counts_deletes_and_refuses_recent_dates() {
    let db = TestDb::sqlite();
    let store = Store::open(&db.url()).await.unwrap();
    let p = demo();
    let old: jiff::Timestamp = "2026-03-02T15:00:00Z".parse().unwrap();
    billing_call(&store, &p, "CA1", old).await;
    billing_call(&store, &p, "CA2", old).await;
    store.close().await;
    let url = db.url();

    let dry = switchboard(&[
        "purge",
        "--before",
        "2026-04-01",
        "--database",
        &url,
        "--dry-run",
    ]);
    let text = String::from_utf8_lossy(&dry.stdout);
    assert!(
        dry.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert!(text.contains("dry run: nothing deleted"), "{text}");
    assert!(text.contains("calls                2 rows"), "{text}");
    assert!(text.contains("steps               12 rows"), "{text}");
    assert_eq!(
        db.count("SELECT COUNT(*) FROM calls").await,
        2,
        "a dry run deletes nothing"
    );

    let done = switchboard(&[
        "purge",
        "--before",
        "2026-04-01",
        "--database",
        &url,
        "--format",
        "json",
    ]);
    assert!(done.status.success());
    let json: serde_json::Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(json["removed"]["calls"], 2);
    assert_eq!(json["removed"]["surveys"], 2);
    assert_eq!(json["before"], "2026-04-01T00:00:00Z");
    assert_eq!(db.count("SELECT COUNT(*) FROM steps").await, 0);

    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    for (before, says) in [
        (today.as_str(), "less than a day ago"),
        ("next tuesday", "is not a date, a time or a time ago"),
    ] {
        let out = switchboard(&["purge", "--before", before, "--database", &url]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(says), "{err}");
    }
}

#[test]
fn a_retention_shorter_than_a_day_or_unreadable_is_an_error_at_its_position() {
    for (value, says) in [
        ("12h", "is shorter than a day (12h)"),
        ("ninety days", "is not a duration"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("main.toml"),
            format!(
                "[flow]\nstart = \"bye\"\n\n[hangup.bye]\nprompt = \"Goodbye.\"\n\n[settings]\nretention = \"{value}\"\n"
            ),
        )
        .unwrap();
        let (set, compiled) = crate::support::check_dir(dir.path());
        let shown = crate::support::rendered(&set, &compiled);
        assert!(compiled.program.is_none(), "{shown}");
        assert!(shown.contains(says), "{shown}");
        assert!(
            shown.contains("main.toml:8:13"),
            "the position of the value: {shown}"
        );
        assert!(shown.contains("at least a day"), "the hint: {shown}");
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.toml"),
        "[flow]\nstart = \"bye\"\n\n[hangup.bye]\nprompt = \"Goodbye.\"\n\n[settings]\nretention = \"90d\"\n",
    )
    .unwrap();
    let (_, compiled) = crate::support::check_dir(dir.path());
    let p = compiled.program.expect("90d is a retention");
    assert_eq!(
        p.retention,
        Some(std::time::Duration::from_secs(90 * 86400))
    );
}

#[test]
fn serve_refuses_a_retention_shorter_than_a_day() {
    let out = switchboard(&["serve", "--listen", "127.0.0.1:0", "--retention", "1h"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("shorter than a day"), "{err}");
}
