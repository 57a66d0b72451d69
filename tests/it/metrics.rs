//! `/metrics` as Prometheus scrapes it: callbacks by route and result,
//! signature failures, store commits, live calls by node, queue entries,
//! waits and abandons by group, the version serving; never a caller's number
//! or a call id; on another address with `--metrics-listen`; and the Grafana
//! dashboard in docs/ queries only metrics the server exports.

use crate::server::{Server, TOKEN, answer, call, post, to_the_menu};
use crate::support::db::TestDb;
use crate::support::open_hours;

async fn scrape(url: &str) -> (u16, String) {
    let res = reqwest::get(url).await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// Press 0 at the main menu of call `sid`, then the queue reports `result`
/// after `seconds`.
async fn queue_then(server: &Server, sid: &str, result: &str, seconds: &str) {
    let base = format!("http://{}", server.addr);
    let menu = to_the_menu(&base, sid).await;
    let (code, queued) = answer(&base, sid, &menu, &[("Digits", "0")]).await;
    assert!(code == 200 && queued.contains("<Enqueue"), "{queued}");
    let (code, _) = answer(
        &base,
        sid,
        &queued,
        &[("QueueResult", result), ("QueueTime", seconds)],
    )
    .await;
    assert_eq!(code, 200);
}

/// The value of the first sample line starting with `prefix`.
fn sample(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no sample {prefix} in\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_counts_what_happened_and_names_no_caller() {
    let db = TestDb::sqlite();
    let server = Server::serving(std::path::Path::new("flows"), &db, Some(open_hours())).await;
    queue_then(&server, "CA-metrics-answered", "bridged", "12").await;
    queue_then(&server, "CA-metrics-abandoned", "hangup", "40").await;
    let forged = post(
        &server.url("/twilio/voice"),
        &call("CA-metrics-forged"),
        Some("bm90IGEgc2lnbmF0dXJl".into()),
    )
    .await;
    assert_eq!(forged.0, 403);

    let (code, text) = scrape(&server.url("/metrics")).await;
    assert_eq!(code, 200);
    // Other tests in this process count too: at least ours.
    assert!(
        sample(
            &text,
            "switchboard_callbacks_total{provider=\"twilio\",route=\"voice\",result=\"ok\"}"
        ) >= 2.0
    );
    assert!(
        sample(
            &text,
            "switchboard_callbacks_total{provider=\"twilio\",route=\"voice\",result=\"forbidden\"}"
        ) >= 1.0
    );
    assert!(
        sample(
            &text,
            "switchboard_signature_failures_total{provider=\"twilio\"}"
        ) >= 1.0
    );
    assert!(sample(&text, "switchboard_queue_entries_total{group=\"general\"}") >= 2.0);
    assert!(sample(&text, "switchboard_queue_abandons_total{group=\"general\"}") >= 1.0);
    assert!(
        sample(
            &text,
            "switchboard_queue_wait_seconds_bucket{group=\"general\",result=\"answered\",le=\"20\"}"
        ) >= 1.0,
        "the 12 s answered wait is within 20 s"
    );
    assert!(
        sample(
            &text,
            "switchboard_store_commit_duration_seconds_count{backend=\"sqlite\",result=\"ok\"}"
        ) >= 6.0
    );
    assert!(sample(&text, "switchboard_calls_started_total{flow=\"main\"}") >= 2.0);
    let version = server.state.program().version.clone();
    assert_eq!(
        sample(
            &text,
            &format!("switchboard_flow_version{{version=\"{version}\"}}")
        ),
        1.0
    );
    // The answered caller was asked to rate the call afterwards: live there.
    assert!(
        sample(
            &text,
            "switchboard_live_calls{flow=\"main\",node=\"csat.rate\"}"
        ) >= 1.0
    );
    for secret in ["+15550001111", "CA-metrics", "15550001111"] {
        assert!(!text.contains(secret), "{secret} in the scrape");
    }
    server.stop().await;
}

#[test]
fn metrics_listen_moves_metrics_off_the_providers_port() {
    use crate::support::serving::Serving;
    let dir = tempfile::tempdir().unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"));
    command
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--database",
        ])
        .arg(format!("sqlite://{}", dir.path().join("m.db").display()))
        .env("TWILIO_AUTH_TOKEN", TOKEN)
        .env("SWITCHBOARD_LOG", "warn");
    let mut server = Serving::start(command);
    let metrics = loop {
        let line = server.banner_line();
        assert!(!line.is_empty(), "no metrics line in the banner");
        if let Some(at) = line.trim().strip_prefix("metrics") {
            break at.trim().split(' ').next().unwrap().to_owned();
        }
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        // The server sets its version's gauge as it starts serving, just
        // after the banner: a scrape before that has no sample yet.
        let mut text = String::new();
        for _ in 0..50 {
            let (code, body) = scrape(&metrics).await;
            assert_eq!(code, 200, "{body}");
            text = body;
            if text.contains("switchboard_flow_version{version=") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(text.contains("switchboard_flow_version{version="), "{text}");
        let (code, _) = scrape(&server.url("/metrics")).await;
        assert_eq!(code, 404, "not on the server's port");
    });
    let (status, log) = server.stop();
    assert!(status.success(), "{log}");
}

#[test]
fn the_dashboard_queries_only_exported_metrics_and_the_docs_name_them_all() {
    let dashboard = std::fs::read_to_string("docs/grafana-dashboard.json").unwrap();
    let json: serde_json::Value = serde_json::from_str(&dashboard).unwrap();
    let exported = switchboard::server::metrics::ALL;
    let mut used = std::collections::BTreeSet::new();
    for panel in json["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            for (i, _) in expr.match_indices("switchboard_") {
                let name: String = expr[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let base = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s))
                    .unwrap_or(&name)
                    .to_owned();
                assert!(
                    exported.contains(&base.as_str()),
                    "{base} in the dashboard is not exported"
                );
                used.insert(base);
            }
        }
    }
    let docs = std::fs::read_to_string("docs/metrics.md").unwrap();
    for name in exported {
        assert!(
            docs.contains(name),
            "docs/metrics.md does not describe {name}"
        );
        assert!(used.contains(*name), "{name} is on no dashboard panel");
    }
}
