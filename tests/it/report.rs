//! What reports count, as calls played through the server leave it in the
//! store: each ended call's class, group and kind, its queue waits (with
//! the provider's wait times, overflows and escalations) and the
//! self-service answers it heard, the same on both backends.

use crate::server::{Server, action, post};
use crate::support::db::{Database, TestDb};
use crate::support::{demo, open_hours, switchboard};

/// A call to the support line answering each document with `moves`
/// (parameter, value), then ending with its status callback.
async fn support_call(server: &Server, sid: &str, moves: &[(&str, &str)]) {
    call_from(server, "+15550007777", sid, moves).await;
}

/// [`support_call`] from the number `from`.
async fn call_from(server: &Server, from: &str, sid: &str, moves: &[(&str, &str)]) {
    let base = format!("http://{}", server.addr);
    let on = |url: String| format!("{base}{}", &url[url.find("/twilio").unwrap()..]);
    let new = [("CallSid", sid), ("From", from), ("To", "+18005550199")];
    let (_, mut doc) = post(&server.url("/twilio/voice"), &new, None).await;
    for (key, value) in moves {
        let mut params = vec![("CallSid", sid)];
        for (k, v) in key.split('&').zip(value.split('&')) {
            params.push((k, v));
        }
        let (code, next) = post(&on(action(&doc)), &params, None).await;
        assert_eq!(code, 200, "{sid} {key}={value}: {next}");
        doc = next;
    }
    let status = [("CallSid", sid), ("CallStatus", "completed")];
    assert_eq!(
        post(&server.url("/twilio/status"), &status, None).await.0,
        204
    );
}

/// `switchboard report --format json` on the store at `url`, which must succeed.
fn report_json(url: &str) -> serde_json::Value {
    let report = switchboard(&["report", "--database", url, "--format", "json"]);
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    serde_json::from_slice(&report.stdout).unwrap()
}

async fn calls_leave_the_figures_reports_count(db: TestDb) {
    let server = Server::with(demo(), &db, Some(open_hours())).await;
    // The power answer does not help: tier 1 answers after 42 s; rated 4.
    support_call(
        &server,
        "CAR1",
        &[
            ("Digits", "2"),
            ("Digits", "2"),
            ("QueueResult&QueueTime", "bridged&42"),
            ("Digits", "2"),
            ("Digits", "4"),
        ],
    )
    .await;
    // The setup answer solves it; rated 5.
    support_call(
        &server,
        "CAR2",
        &[("Digits", "1"), ("Digits", "1"), ("Digits", "5")],
    )
    .await;
    // Straight to tier 1, which leaves the caller waiting 60 s and
    // overflows to tier 2, where the caller hangs up.
    support_call(
        &server,
        "CAR3",
        &[("Digits", "0"), ("QueueResult&QueueTime", "leave&60")],
    )
    .await;
    let calls = db
        .texts(
            "SELECT call_sid || ' ' || class || ' ' || COALESCE(grp, '-') || ' ' || COALESCE(kind, '-') FROM calls ORDER BY call_sid",
            "SELECT call_sid || ' ' || class || ' ' || COALESCE(grp, '-') || ' ' || COALESCE(kind, '-') FROM calls ORDER BY call_sid",
        )
        .await;
    assert_eq!(
        calls,
        [
            "CAR1 agent support_tier1 support",
            "CAR2 self-service - -",
            "CAR3 queue-abandon support_tier2 support",
        ]
    );
    let row = "c.call_sid || ' ' || w.seq || ' ' || w.grp || ' ' || w.kind || ' ' || w.tier || ' ' || w.result || ' ' || w.waited || ' ' || COALESCE(w.next_grp, '-')";
    let from = "FROM queue_waits w JOIN calls c ON c.id = w.call_id ORDER BY c.call_sid, w.seq";
    let waits = db
        .texts(
            &format!("SELECT {row} {from}"),
            &format!("SELECT {row} {from}"),
        )
        .await;
    assert_eq!(
        waits,
        [
            "CAR1 1 support_tier1 support 1 answered 42 -",
            "CAR3 1 support_tier1 support 1 timeout 60 support_tier2",
            // Hung up with no queue result: measured on the server's
            // clock, which stands still in this test.
            "CAR3 2 support_tier2 support 2 abandoned 0 -",
        ]
    );
    let row = "c.call_sid || ' ' || t.topic || ' ' || CASE WHEN t.then_agent THEN 'then an agent' ELSE 'contained' END";
    let from = "FROM topics_heard t JOIN calls c ON c.id = t.call_id ORDER BY c.call_sid, t.seq";
    let topics = db
        .texts(
            &format!("SELECT {row} {from}"),
            &format!("SELECT {row} {from}"),
        )
        .await;
    assert_eq!(
        topics,
        [
            "CAR1 power and Wi-Fi then an agent",
            "CAR2 hub setup contained"
        ]
    );
    server.stop().await;

    // The report on them, the same on both backends.
    let r = report_json(&db.url());
    let classes = |o: &serde_json::Value| -> Vec<(String, u64)> {
        o["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["outcome"].as_str().unwrap().to_owned(),
                    c["calls"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(r["overall"]["calls"], 3);
    assert_eq!(
        classes(&r["overall"]),
        [
            ("agent".to_owned(), 1),
            ("self-service".to_owned(), 1),
            ("queue-abandon".to_owned(), 1)
        ]
    );
    assert_eq!(r["kinds"][0]["name"], "support");
    assert_eq!(
        r["kinds"][0]["calls"], 2,
        "the self-service call has no group"
    );
    let queues = r["queues"].as_array().unwrap();
    let tier1 = &queues[0];
    assert_eq!(
        (
            tier1["group"].as_str(),
            tier1["entered"].as_u64(),
            tier1["answered"].as_u64(),
            tier1["timed_out"].as_u64()
        ),
        (Some("support_tier1"), Some(2), Some(1), Some(1))
    );
    assert_eq!(tier1["speed_of_answer_s"], 42.0);
    assert_eq!(
        tier1["service_level"], 0.0,
        "answered after 42 s, over 20 s"
    );
    assert_eq!(tier1["overflowed_to"][0]["to"], "support_tier2");
    let tier2 = &queues[1];
    assert_eq!(
        (tier2["abandoned"].as_u64(), tier2["abandonment"].as_f64()),
        (Some(1), Some(1.0))
    );
    assert_eq!(r["containment"]["calls"], 2);
    assert_eq!(r["containment"]["contained"], 1);
    assert_eq!(
        r["topics"][0]["topic"], "power and Wi-Fi",
        "the answer that failed comes first"
    );
    assert_eq!(r["csat_by_group"][0]["name"], "support_tier1");
    assert_eq!(r["csat_by_group"][0]["mean"], 4.0);
    assert_eq!(r["csat_by_group"][0]["response_rate"], 1.0);
    assert_eq!(
        r["csat_by_kind"][0]["distribution"],
        serde_json::json!([0, 0, 0, 1, 0])
    );

    // Only service groups: none of these calls.
    let service = switchboard(&["report", "--database", &db.url(), "--kind", "service"]);
    let text = String::from_utf8(service.stdout).unwrap();
    assert!(text.contains("No calls in this period"), "{text}");

    // CSV: a table per section, each row naming its section.
    let csv = switchboard(&["report", "--database", &db.url(), "--format", "csv"]);
    let csv = String::from_utf8(csv.stdout).unwrap();
    let tables: Vec<&str> = csv.split("\n\n").collect();
    assert_eq!(tables.len(), 9, "{csv}");
    assert!(
        tables[1]
            .lines()
            .any(|l| l == "outcomes,group,support_tier1,support,agent,1"),
        "{csv}"
    );
    assert!(
        tables[2].starts_with("section,group,kind,entered,answered"),
        "{csv}"
    );
}

#[test]
fn an_empty_store_reports_zeros_and_a_backwards_period_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("empty.db").display());
    let out = switchboard(&["report", "--database", &url]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("No calls in this period: every figure is zero"),
        "{text}"
    );
    assert!(
        text.starts_with("Every call started before ") && !text.contains("1970"),
        "without --since the period is every stored call: {text}"
    );
    let out = switchboard(&[
        "report",
        "--database",
        &url,
        "--since",
        "2026-09-02",
        "--until",
        "2026-09-01",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("is not before --until"), "{err}");
    let out = switchboard(&["report", "--database", &url, "--since", "yesterdayish"]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("is not a date, a time or a time ago"), "{err}");
}

crate::on_both!(calls_leave_the_figures_reports_count);

/// First-contact resolution and the funnel, from calls played through the
/// server: a caller reaches tier 1 and calls again about it; another
/// reaches it once; a withheld number reaches it; a fourth presses a key
/// that is no option, lets the menu time out, and hangs up.
async fn repeat_calls_and_stumbles_reach_the_report(db: TestDb) {
    let server = Server::with(demo(), &db, Some(open_hours())).await;
    let answered: &[(&str, &str)] = &[("Digits", "0"), ("QueueResult&QueueTime", "bridged&10")];
    call_from(&server, "+15550001111", "CAF1", answered).await;
    let hung_up: &[(&str, &str)] = &[("Digits", "0"), ("QueueResult&QueueTime", "hangup&5")];
    call_from(&server, "+15550001111", "CAF2", hung_up).await;
    call_from(&server, "anonymous", "CAF3", answered).await;
    call_from(&server, "+15550002222", "CAF4", answered).await;
    call_from(
        &server,
        "+15550003333",
        "CAF5",
        &[("Digits", "7"), ("Digits", "")],
    )
    .await;
    let again = db
        .texts(
            "SELECT call_sid || ' ' || COALESCE(CAST(again_ms AS TEXT), '-') FROM calls ORDER BY call_sid",
            "SELECT call_sid || ' ' || COALESCE(CAST(again_ms AS TEXT), '-') FROM calls ORDER BY call_sid",
        )
        .await;
    assert_eq!(
        again,
        // The server's clock stands still: called again 0 ms later.
        ["CAF1 0", "CAF2 -", "CAF3 -1", "CAF4 -", "CAF5 -"]
    );
    server.stop().await;

    let r = report_json(&db.url());
    let tier1 = &r["resolution_by_group"][0];
    assert_eq!(tier1["name"], "support_tier1");
    assert_eq!(
        (
            tier1["reached"].as_u64(),
            tier1["called_again"].as_u64(),
            tier1["withheld"].as_u64(),
            tier1["first_contact_resolution"].as_f64(),
        ),
        (Some(2), Some(1), Some(1), Some(0.5)),
        "{tier1}"
    );
    assert_eq!(tier1["window_open"], 0, "their week is long over");
    // A day after the calls, the caller who called once may still call again.
    let store = switchboard::store::Store::open(&db.url()).await.unwrap();
    let at: jiff::Timestamp = "2026-03-02T15:00:00Z".parse().unwrap();
    let day = jiff::SignedDuration::from_hours(24);
    let rows = store
        .report_rows(&switchboard::store::reports::Period {
            now: at + day,
            ..switchboard::store::reports::Period::new(at - day, at + day)
        })
        .await
        .unwrap();
    store.close().await;
    assert_eq!(
        rows.repeats,
        [(
            "support_tier1".to_owned(),
            Some("support".to_owned()),
            3,
            1,
            1,
            1
        )]
    );
    assert_eq!(r["resolution_by_kind"][0]["name"], "support");
    assert_eq!(r["repeat_window_s"], 7 * 86_400);

    // The node the fifth caller stumbled on comes first.
    let first = &r["funnel"][0];
    assert_eq!(
        (
            first["reached"].as_u64(),
            first["invalid"].as_u64(),
            first["timeouts"].as_u64(),
            first["hung_up"].as_u64()
        ),
        (Some(5), Some(1), Some(1), Some(1)),
        "{first}"
    );
    let chose: Vec<(&str, u64)> = first["chose"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["what"].as_str().unwrap(), c["times"].as_u64().unwrap()))
        .collect();
    assert_eq!(chose, [("operator", 4)], "{first}");
    let queue = r["funnel"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["node"] == "support.tier1")
        .expect("the tier 1 queue in the funnel");
    assert_eq!(
        (queue["reached"].as_u64(), queue["hung_up"].as_u64()),
        (Some(4), Some(1))
    );

    assert!(
        !r["funnel"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["node"] == "support.start"),
        "a node calls only pass through is not in the funnel"
    );

    // A narrower window: called again 0 ms later is still within an hour.
    let hour = switchboard(&[
        "report",
        "--database",
        &db.url(),
        "--repeat-window",
        "1h",
        "--format",
        "csv",
    ]);
    let csv = String::from_utf8(hour.stdout).unwrap();
    assert!(
        csv.lines()
            .any(|l| l == "resolution,group,support_tier1,support,3600,2,1,0.5000,0,1"),
        "{csv}"
    );
    let text = switchboard(&["report", "--database", &db.url()]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("First-contact resolution (reached an agent, and not called again about the same group within 7 days)"), "{text}");
    assert!(text.contains("Where callers stumble"), "{text}");
    let refused = switchboard(&["report", "--database", &db.url(), "--repeat-window", "5m"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("give a window from 1h to 366d"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

crate::on_both!(repeat_calls_and_stumbles_reach_the_report);

/// The demo with `service_level = "45s"` on support tier 1, in `dir/flows`
/// beside the demo's recordings.
fn demo_with_tier1_service_level(root: &std::path::Path) -> switchboard::program::Program {
    let dir = root.join("flows");
    std::fs::create_dir(&dir).unwrap();
    std::os::unix::fs::symlink(
        std::fs::canonicalize("recordings").unwrap(),
        root.join("recordings"),
    )
    .unwrap();
    for entry in std::fs::read_dir("flows").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let mut text = std::fs::read_to_string(&path).unwrap();
            if path.file_name().is_some_and(|n| n == "groups.toml") {
                text = text.replacen(
                    "[groups.support_tier1]\n",
                    "[groups.support_tier1]\nservice_level = \"45s\"\n",
                    1,
                );
            }
            std::fs::write(dir.join(path.file_name().unwrap()), text).unwrap();
        }
    }
    let set = switchboard::flow::load_dir(&dir).unwrap();
    let c = switchboard::compile::compile(&set);
    c.program.expect("the edited demo compiles")
}

async fn a_wait_counts_against_its_groups_declared_threshold(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with(
        demo_with_tier1_service_level(dir.path()),
        &db,
        Some(open_hours()),
    )
    .await;
    support_call(
        &server,
        "CAS1",
        &[
            ("Digits", "2"),
            ("Digits", "2"),
            ("QueueResult&QueueTime", "bridged&42"),
            ("Digits", "2"),
            ("Digits", "4"),
        ],
    )
    .await;
    server.stop().await;
    let r = report_json(&db.url());
    let tier1 = &r["queues"][0];
    assert_eq!(tier1["group"], "support_tier1");
    assert_eq!(tier1["threshold_s"], 45);
    assert_eq!(
        tier1["service_level"], 1.0,
        "answered after 42 s, within 45 s"
    );
}

crate::on_both!(a_wait_counts_against_its_groups_declared_threshold);

#[test]
fn a_service_level_outside_its_range_is_an_error() {
    let (_, c) = switchboard::compile::compile_texts([(
        "main",
        "[flow]\nstart = \"q\"\n\n[queue.q]\ngroup = \"g\"\n\n[groups.g]\nkind = \"service\"\nservice_level = \"0s\"\n",
    )]);
    assert!(
        c.diagnostics
            .iter()
            .any(|d| d.message.contains("service_level") || d.message.contains("0s")),
        "{:?}",
        c.diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>()
    );
}
