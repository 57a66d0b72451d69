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
