//! The command line as an admin and a CI job use it: exit codes, output
//! streams, JSON for tools, diagrams and the schema.

use std::process::{Command, Output};

fn switchboard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run switchboard")
}

/// `switchboard test flows` on a fixture directory of scenarios that fail
/// (exit code 1).
fn failing_scenarios(dir: &str) -> Output {
    let dir = format!("tests/fixtures/scenarios/{dir}");
    let out = switchboard(&["test", "flows", "--scenarios", &dir]);
    assert_eq!(out.status.code(), Some(1));
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_shipped_demo_is_clean_even_with_warnings_denied() {
    let out = switchboard(&["check", "--deny-warnings", "flows"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.starts_with("check ok: 6 flows"), "{stderr}");
    assert!(stderr.contains("0 errors, 0 warnings"), "{stderr}");
    insta::assert_snapshot!("demo_depth_report", stdout);
}

#[test]
fn every_file_of_a_broken_set_is_reported_and_the_exit_code_is_1() {
    let out = switchboard(&["check", "tests/fixtures/broken"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    for expected in [
        "tests/fixtures/broken/support.toml:1:6",
        "tests/fixtures/broken/billing.toml:6:1",
        "tests/fixtures/broken/main.toml:11:38",
        "tests/fixtures/broken/main.toml:16:9",
        "tests/fixtures/broken/groups.toml:9:12",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected} in:\n{stderr}"
        );
    }
    // No program, so no depth report on stdout.
    assert_eq!(text(&out.stdout), "");
    insta::assert_snapshot!("broken_set", stderr);
}

#[test]
fn json_output_is_for_tools() {
    let out = switchboard(&["check", "--format", "json", "tests/fixtures/broken"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(v["ok"], false);
    let diags = v["diagnostics"].as_array().expect("diagnostics");
    assert!(diags.len() >= 6, "{v:#}");
    let first_with_file = diags
        .iter()
        .find(|d| d["file"].is_string())
        .expect("a located diagnostic");
    assert!(first_with_file["start"]["line"].as_u64().is_some());
    assert!(first_with_file["start"]["column"].as_u64().is_some());
    assert!(diags.iter().any(|d| {
        d["code"] == "unknown-reference"
            && d["hint"]
                .as_str()
                .is_some_and(|h| h.contains("did you mean `support`?"))
    }));
    assert_eq!(
        v["summary"]["errors"].as_u64(),
        Some(diags.iter().filter(|d| d["severity"] == "error").count() as u64)
    );

    let ok = switchboard(&["check", "--format", "json", "flows"]);
    assert!(ok.status.success());
    let v: serde_json::Value = serde_json::from_slice(&ok.stdout).expect("valid JSON");
    assert_eq!(v["ok"], true);
    assert!(v["depths"].as_array().is_some_and(|d| !d.is_empty()));
}

#[test]
fn warnings_fail_only_when_denied() {
    let dir = "tests/fixtures/lints/unreachable-node/fail";
    assert_eq!(switchboard(&["check", dir]).status.code(), Some(0));
    let denied = switchboard(&["check", "--deny-warnings", dir]);
    assert_eq!(denied.status.code(), Some(1));
    assert!(text(&denied.stderr).contains("failed (warnings denied)"));
}

#[test]
fn usage_and_io_trouble_exit_2() {
    let missing = switchboard(&["check", "no/such/dir"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("cannot read flow directory no/such/dir"));
    assert_eq!(
        switchboard(&["check", "--format", "yaml", "flows"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(switchboard(&["frobnicate"]).status.code(), Some(2));
    let unknown_flow = switchboard(&["graph", "flows", "--flow", "mian"]);
    assert_eq!(unknown_flow.status.code(), Some(2));
    assert!(text(&unknown_flow.stderr).contains("there is no flow `mian`"));
}

#[test]
fn graph_draws_the_demo_in_mermaid_and_dot() {
    let mermaid = switchboard(&["graph", "flows"]);
    assert!(mermaid.status.success());
    let m = text(&mermaid.stdout);
    assert!(m.starts_with("flowchart TD\n"));
    assert!(m.contains(":::service") && m.contains(":::support") && m.contains(":::terminal"));
    insta::assert_snapshot!("demo_mermaid", m);

    let dot = switchboard(&["graph", "flows", "--format", "dot", "--flow", "support"]);
    assert!(dot.status.success());
    insta::assert_snapshot!("support_dot", text(&dot.stdout));

    let broken = switchboard(&["graph", "tests/fixtures/broken"]);
    assert_eq!(broken.status.code(), Some(1));
    assert!(text(&broken.stderr).contains("check failed"));
}

#[test]
fn the_committed_schema_is_current_and_describes_the_format() {
    let out = switchboard(&["schema"]);
    assert!(out.status.success());
    let generated: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("docs/flow-schema.json").expect("docs/flow-schema.json"),
    )
    .expect("committed schema is JSON");
    assert_eq!(
        generated, committed,
        "run `switchboard schema > docs/flow-schema.json`"
    );
    let menu = &generated["$defs"]["RawMenu"];
    assert_eq!(menu["additionalProperties"], false);
    assert!(menu["properties"]["options"]["description"].is_string());
}

#[test]
fn the_demo_scenarios_pass_and_cover_every_node_and_exit() {
    let out = switchboard(&["test", "flows", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(out.status.success(), "{v:#}");
    assert_eq!(v["failed"], 0);
    assert!(v["passed"].as_u64().unwrap() >= 30);
    for flow in v["coverage"].as_array().unwrap() {
        assert_eq!(flow["nodes_reached"], flow["nodes"], "{flow:#}");
        assert_eq!(flow["exits_taken"], flow["exits"], "{flow:#}");
    }
    let plain = switchboard(&["test", "flows"]);
    assert!(plain.status.success());
    assert!(text(&plain.stdout).trim_end().ends_with("0 failed"));
}

#[test]
fn a_failing_scenario_shows_what_differed_and_the_path() {
    let out = failing_scenarios("failing");
    let stdout = text(&out.stdout);
    assert!(stdout.contains("test expects the wrong group ... FAILED"));
    assert!(stdout.contains("test this one is right ... ok"));
    assert!(stdout.contains("outcome: expected group:orders, got group:billing"));
    assert!(stdout.contains("never heard \"Welcome to the moon\""));
    assert!(stdout.contains("path: main.welcome → main.language → main.english"));
    assert!(stdout.trim_end().ends_with("1 passed, 1 failed"));
}

#[test]
fn scenario_files_with_mistakes_get_diagnostics() {
    let out = failing_scenarios("broken");
    let stderr = text(&out.stderr);
    for expected in [
        "tests/fixtures/scenarios/broken/bad.toml:3:6",
        "tests/fixtures/scenarios/broken/bad.toml:4:9",
        "did you mean `main.menu`?",
        "unknown key `expcet` in a scenario",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected} in:\n{stderr}"
        );
    }
    insta::assert_snapshot!("scenario_diagnostics", stderr);
}

#[test]
fn simulate_tells_the_callers_story() {
    let out = switchboard(&[
        "simulate",
        "flows",
        "--at",
        "2026-03-07 20:00 America/New_York",
        "--input",
        "2 1 record:14",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("hours: closed (Sat 20:00 America/New_York)"));
    insta::assert_snapshot!("simulate_after_hours_voicemail", stdout);

    let vip = switchboard(&[
        "simulate",
        "flows",
        "--from",
        "+14155550123",
        "--at",
        "2026-03-02 10:00 America/New_York",
        "--input",
        "1 dial:no-answer 2 t",
    ]);
    insta::assert_snapshot!("simulate_vip_busy", text(&vip.stdout));

    let json = switchboard(&[
        "simulate",
        "flows",
        "--flow",
        "support",
        "--at",
        "2026-03-02 10:00 America/New_York",
        "--input",
        "0 queue:bridged 2 5",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(v["ended"], true);
    assert_eq!(v["outcome"], "group:support_tier1");
    assert_eq!(v["at"], "csat.goodbye");
}

#[test]
fn simulate_reads_moves_from_standard_input_and_rejects_bad_ones() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args([
            "simulate",
            "flows",
            "--at",
            "2026-03-02 10:00 America/New_York",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    child.stdin.take().unwrap().write_all(b"1 5\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        text(&out.stdout).contains("kb.topics"),
        "{}",
        text(&out.stdout)
    );

    let bad = switchboard(&["simulate", "flows", "--input", "1 dial:maybe"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("`dial:maybe` is not a caller move"));
    let lang = switchboard(&["simulate", "flows", "--lang", "fr-FR", "--input", "1"]);
    assert_eq!(lang.status.code(), Some(2));
    assert!(text(&lang.stderr).contains("not one of the flow set's languages (en-US, zh-CN)"));
}

#[test]
fn simulate_is_interactive_on_a_terminal() {
    // `script` (util-linux) runs the command on a pseudo-terminal fed from our pipe.
    use std::io::Write;
    let cmd = format!(
        "NO_COLOR=1 {} simulate flows --at '2026-03-02 10:00 America/New_York'",
        env!("CARGO_BIN_EXE_switchboard")
    );
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("`script` from util-linux is needed for this test");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"1\n?\n2\nq\n")
        .unwrap();
    let out = text(&child.wait_with_output().unwrap().stdout).replace('\r', "");
    assert!(
        out.contains("waiting for a menu choice — move (t = no input, q = quit, ? = help)>"),
        "{out}"
    );
    assert!(out.contains("moves: keys like `1`"), "{out}");
    assert!(out.contains("pressed 2 → billing"), "{out}");
    assert!(out.contains("waiting for digits"), "{out}");
}

#[test]
fn the_call_id_picks_the_route_through_a_split() {
    let route = |id: &str| {
        let out = switchboard(&[
            "simulate",
            "tests/fixtures/lints/split-weights/pass",
            "--call-id",
            id,
            "--input",
            "",
        ]);
        text(&out.stdout)
            .lines()
            .find(|l| l.contains("split:"))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(route("CA1").contains("route 1 of 2"));
    assert!(route("CA3").contains("route 2 of 2"));
    assert_eq!(route("CA3"), route("CA3"));
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    use std::io::BufRead;
    // Pressing `*` (repeat) 600 times prints far more than a pipe holds (64 KiB),
    // so the writer must meet the closed pipe.
    let script = format!("1{}", " *".repeat(600));
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args([
            "simulate",
            "flows",
            "--at",
            "2026-03-02 10:00 America/New_York",
            "--input",
            &script,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is dropped here, closing the pipe like `| head -1`.
    let out = child.wait_with_output().unwrap();
    assert!(first.contains("call starts in flow main"), "{first}");
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        text(&out.stderr)
    );
    assert!(out.status.success());
}

#[test]
fn coverage_counts_the_exit_taken_not_every_exit_to_the_same_node() {
    let out = switchboard(&["test", "tests/fixtures/coverage", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let main = &v["coverage"][0];
    assert_eq!(
        (main["exits_taken"].as_u64(), main["exits"].as_u64()),
        (Some(1), Some(3)),
        "{main:#}"
    );
    let missing: Vec<&str> = main["missing"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    assert_eq!(
        missing,
        [
            "exit main.m --press 2--> main.q",
            "exit main.m --no input / invalid--> main.q"
        ]
    );
}

/// `tests/fixtures/impossible`: an `hours` node on a schedule without
/// holidays (its implicit `holiday` exit), and a queue with `on_closed` for a
/// group that keeps no hours, which only an admin's closure takes.
const IMPOSSIBLE: &str = "tests/fixtures/impossible";

#[test]
fn coverage_does_not_demand_exits_no_call_can_take_and_says_why() {
    let out = switchboard(&["test", IMPOSSIBLE]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("5/5   exits"), "{stdout}");
    assert!(!stdout.contains("not reached"), "{stdout}");
    insta::assert_snapshot!("impossible_coverage", stdout);

    let json = switchboard(&["test", IMPOSSIBLE, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let main = &v["coverage"][0];
    assert_eq!(main["exits_taken"], main["exits"], "{main:#}");
    assert_eq!(main["missing"], serde_json::json!([]), "{main:#}");
    assert_eq!(
        main["impossible"],
        serde_json::json!([
            {
                "exit": "exit main.hours --holiday--> main.closed",
                "reason": "the schedule `weekdays` declares no holidays"
            }
        ])
    );
}

#[test]
fn graph_does_not_draw_exits_no_call_can_take() {
    let mermaid = switchboard(&["graph", IMPOSSIBLE]);
    assert!(mermaid.status.success());
    let m = text(&mermaid.stdout);
    assert!(!m.contains("holiday"), "{m}");
    insta::assert_snapshot!("impossible_mermaid", m);

    let dot = switchboard(&["graph", IMPOSSIBLE, "--format", "dot"]);
    assert!(dot.status.success());
    let d = text(&dot.stdout);
    assert!(!d.contains("holiday"), "{d}");
    insta::assert_snapshot!("impossible_dot", d);
}

#[test]
fn serve_refuses_to_listen_publicly_without_a_token() {
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args([
            "serve",
            "--listen",
            "0.0.0.0:0",
            "--database",
            "sqlite::memory:",
        ])
        .env_remove("TWILIO_AUTH_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("refusing to listen on 0.0.0.0:0 without TWILIO_AUTH_TOKEN")
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.path().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn serve_reloads_on_sighup_keeps_the_last_good_set_and_stops_on_sigterm() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    copy_dir(std::path::Path::new("flows"), &dir.path().join("flows"));
    copy_dir(
        std::path::Path::new("recordings"),
        &dir.path().join("recordings"),
    );
    let flows = dir.path().join("flows");
    let db = format!("sqlite://{}", dir.path().join("s.db").display());
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    command
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            &db,
            "--flows",
        ])
        .arg(&flows)
        .env("TWILIO_AUTH_TOKEN", "12345");
    let server = crate::support::serving::Serving::start(command);
    let addr = server.addr.clone();
    let health = || {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        std::io::Write::write_all(
            &mut s,
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        let mut r = String::new();
        s.read_to_string(&mut r).unwrap();
        r
    };
    assert!(health().starts_with("HTTP/1.1 200"));
    let main = flows.join("main.toml");
    let good = std::fs::read_to_string(&main).unwrap();
    std::fs::write(
        &main,
        good.replace("next = \"language\"", "next = \"languag\""),
    )
    .unwrap();
    server.signal("-HUP");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        health().starts_with("HTTP/1.1 200"),
        "the last good flow set keeps serving"
    );
    std::fs::write(
        &main,
        good.replace("Thank you for calling Acme.", "Thanks for calling Acme."),
    )
    .unwrap();
    // Fixing the file is enough: the directory is watched.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // A step for a call nobody knows: the fallback route, logged with its call id.
    let body = "CallSid=CA404&Digits=1";
    let params = [
        ("CallSid".to_owned(), "CA404".to_owned()),
        ("Digits".to_owned(), "1".to_owned()),
    ];
    let sig = switchboard::provider::twilio::signature::sign(
        switchboard::provider::twilio::signature::Algorithm::Sha1,
        "12345",
        "http://x/twilio/step?call=CA404&s=1",
        &params,
    );
    let req = format!(
        "POST /twilio/step?call=CA404&s=1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: {sig}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    std::io::Write::write_all(&mut s, req.as_bytes()).unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    assert!(
        reply.starts_with("HTTP/1.1 200") && reply.contains("<Enqueue"),
        "{reply}"
    );
    let (status, logs) = server.stop();
    assert!(status.success(), "{logs}");
    assert!(
        logs.contains("reload refused, the last good flow set keeps serving"),
        "{logs}"
    );
    assert!(logs.contains("there is no node `languag`"), "{logs}");
    assert!(logs.contains("a flow file changed: reloaded"), "{logs}");
    assert!(
        logs.contains("call=CA404")
            && logs.contains("answering with the fallback route for call CA404"),
        "{logs}"
    );
    assert!(logs.contains("shutting down"), "{logs}");
}

#[test]
fn the_readme_diagram_is_what_graph_draws_today() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let start = readme
        .find("```mermaid\n")
        .expect("a mermaid block in the README")
        + "```mermaid\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let out = switchboard(&["graph", "flows", "--flow", "main"]);
    assert_eq!(
        &readme[start..end],
        text(&out.stdout),
        "update the README: switchboard graph flows --flow main"
    );
}

#[test]
fn a_loadtest_rate_that_is_not_one_is_refused_before_any_request() {
    for rate in ["0", "-5", "NaN", "0.001", "fast"] {
        let flag = format!("--rate={rate}");
        let out = switchboard(&["loadtest", "--target", "http://127.0.0.1:9", &flag]);
        assert_eq!(out.status.code(), Some(2), "--rate {rate}");
        let err = text(&out.stderr);
        assert!(err.contains("is not a rate"), "--rate {rate}: {err}");
    }
}

#[test]
fn a_loadtest_checks_every_target_is_local_before_any_request() {
    let out = switchboard(&[
        "loadtest",
        "--target",
        "http://127.0.0.1:9,http://loadtest.invalid:9,http://[::1]:9",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("refusing to load-test http://loadtest.invalid:9:"),
        "{err}"
    );
    assert!(
        !err.contains("127.0.0.1"),
        "only the remote one is named: {err}"
    );
    let out = switchboard(&["loadtest", "--target", "http://127.0.0.1:9,127.0.0.1:10"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("`127.0.0.1:10` is not a server's base URL"),
        "{err}"
    );
}
