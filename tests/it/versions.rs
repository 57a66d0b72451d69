//! Calls keep their flow version across restarts onto edited flows: each
//! installed flow set is stored under its version, and a callback for a
//! version the server does not hold compiles it again from the store.

use crate::server::{Server, action, call, completed, post};
use crate::support::db::{Database, TestDb};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A Wednesday, 10:00 in New York: the demo's service hours are open.
fn open_hours() -> switchboard::server::Clock {
    let at: jiff::Timestamp = "2026-12-02T15:00:00Z".parse().unwrap();
    Arc::new(move || at)
}

/// A copy of the demo flows (and their recordings) that a test may edit.
pub(crate) fn demo_copy(root: &Path) -> PathBuf {
    let flows = root.join("flows");
    std::fs::create_dir(&flows).unwrap();
    for e in std::fs::read_dir("flows").unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            std::fs::copy(&p, flows.join(p.file_name().unwrap())).unwrap();
        }
    }
    std::os::unix::fs::symlink(
        std::fs::canonicalize("recordings").unwrap(),
        root.join("recordings"),
    )
    .unwrap();
    flows
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} has no `{from}`", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// What a caller does after the main menu: billing, an account number, an
/// agent answers, then the CSAT survey gets a 5.
const AFTER_MENU: [&[(&str, &str)]; 3] = [
    &[("Digits", "2")],
    &[("Digits", "12345678")],
    &[("QueueResult", "bridged"), ("QueueTime", "30")],
];

/// Our documents with the server's address taken out, to compare servers.
fn plain(doc: &str, server: &Server) -> String {
    doc.replace(&server.addr.to_string(), "SERVER")
}

/// Post `params` to where `doc` points, on `server`.
async fn answer(server: &Server, doc: &str, params: &[(&str, &str)]) -> String {
    let url = action(doc);
    let path = &url[url.find("/twilio").unwrap()..];
    let mut all = vec![("CallSid", "CA-pinned")];
    all.extend_from_slice(params);
    let (code, doc) = post(&server.url(path), &all, None).await;
    assert_eq!(code, 200, "{doc}");
    doc
}

/// A call up to the main menu on `server`: the documents it was answered.
async fn to_the_menu(server: &Server) -> Vec<String> {
    let (code, first) = post(&server.url("/twilio/voice"), &call("CA-pinned"), None).await;
    assert_eq!(code, 200, "{first}");
    let menu = answer(server, &first, &[("Digits", "1")]).await;
    assert!(menu.contains("For orders, press 1"), "{menu}");
    vec![plain(&first, server), plain(&menu, server)]
}

/// The rest of the call, from the main menu, on `server`.
async fn after_the_menu(server: &Server, menu: &str) -> Vec<String> {
    let mut doc = menu.replace("SERVER", &server.addr.to_string());
    let mut docs = Vec::new();
    for params in AFTER_MENU {
        doc = answer(server, &doc, params).await;
        docs.push(plain(&doc, server));
    }
    assert_eq!(completed(server, "CA-pinned", "95").await, 204);
    docs
}

/// The whole call on one server that never restarts, on the demo flows.
async fn reference() -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let flows = demo_copy(dir.path());
    let server = Server::serving(&flows, &dir.path().join("calls.db"), Some(open_hours())).await;
    let mut docs = to_the_menu(&server).await;
    let menu = docs[1].clone();
    docs.extend(after_the_menu(&server, &menu).await);
    server.stop().await;
    docs
}

/// The call waits at the main menu, the server stops, `change` edits the
/// flow directory, the server starts on the edited set, and the call goes on.
async fn across_a_restart(db: TestDb, change: impl FnOnce(&Path)) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let flows = demo_copy(dir.path());
    let server = Server::serving(&flows, &db, Some(open_hours())).await;
    let before = server.state.program().version.clone();
    let mut docs = to_the_menu(&server).await;
    server.stop().await;
    change(&flows);
    let server = Server::serving(&flows, &db, Some(open_hours())).await;
    assert_ne!(
        server.state.program().version,
        before,
        "the edit makes a new version"
    );
    let menu = docs[1].clone();
    docs.extend(after_the_menu(&server, &menu).await);
    server.stop().await;
    let store = switchboard::store::Store::open(&db.url()).await.unwrap();
    let end = store.load("CA-pinned").await.unwrap().unwrap();
    assert_eq!(end.version, before, "the call stayed on its version");
    assert_eq!(end.wait, switchboard::engine::Wait::Ended);
    store.close().await;
    docs
}

async fn a_new_flow_file_that_sorts_first_does_not_move_calls_in_progress(db: TestDb) {
    let expected = reference().await;
    let got = across_a_restart(db, |flows| {
        std::fs::write(
            flows.join("aaa.toml"),
            "[flow]\nstart = \"desk\"\n\n[queue.desk]\ngroup = \"general\"\n",
        )
        .unwrap();
    })
    .await;
    assert_eq!(got, expected);
}

async fn removing_a_node_the_call_is_not_at_does_not_move_it(db: TestDb) {
    let expected = reference().await;
    let got = across_a_restart(db, |flows| {
        let main = flows.join("main.toml");
        edit(&main, "holiday = \"holiday\"", "holiday = \"after_hours.closed_menu\"");
        edit(
            &main,
            "[say.holiday]\nprompt = { en-US = \"Acme customer service is closed today for the holiday.\", zh-CN = \"Acme客户服务今天因节假日休息。\" }\nnext = \"after_hours.closed_menu\"\n",
            "",
        );
    })
    .await;
    assert_eq!(got, expected);
}

async fn renaming_the_node_the_call_is_at_does_not_strand_it(db: TestDb) {
    let expected = reference().await;
    let got = across_a_restart(db, |flows| {
        let main = flows.join("main.toml");
        edit(&main, "open = \"menu\"", "open = \"main_menu\"");
        edit(&main, "[menu.menu]", "[menu.main_menu]");
    })
    .await;
    assert_eq!(got, expected);
}

/// Post a step and expect the apology with the fallback route.
async fn expect_apology(server: &Server, menu: &str) {
    let doc = menu.replace("SERVER", &server.addr.to_string());
    let doc = answer(server, &doc, &[("Digits", "2")]).await;
    assert!(doc.contains("<Enqueue"), "the fallback queue: {doc}");
    assert!(
        doc.contains("/twilio/done"),
        "the fallback route ends there, never back in the call: {doc}"
    );
    assert!(!doc.contains("account number"), "{doc}");
}

async fn a_version_that_is_not_stored_gets_the_apology_not_another_graph(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let flows = demo_copy(dir.path());
    // `with` does not store its program's version (as a database from
    // before versions were stored did not).
    let set = switchboard::flow::load_dir(&flows).unwrap();
    let program = switchboard::compile::compile(&set).program.unwrap();
    let server = Server::with(program, &db, Some(open_hours())).await;
    let docs = to_the_menu(&server).await;
    server.stop().await;
    edit(&flows.join("main.toml"), "[menu.menu]", "[menu.main_menu]");
    edit(
        &flows.join("main.toml"),
        "open = \"menu\"",
        "open = \"main_menu\"",
    );
    let server = Server::serving(&flows, &db, Some(open_hours())).await;
    expect_apology(&server, &docs[1]).await;
    // Again: the missing version is remembered, and the answer the same.
    expect_apology(&server, &docs[1]).await;
    // Its status can never be applied: acknowledged, so Twilio stops.
    assert_eq!(completed(&server, "CA-pinned", "20").await, 204);
    server.stop().await;
}

async fn a_stored_state_that_does_not_fit_its_program_gets_the_apology(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let flows = demo_copy(dir.path());
    let server = Server::serving(&flows, &db, Some(open_hours())).await;
    let docs = to_the_menu(&server).await;
    server.stop().await;
    // Someone edits the stored state by hand: the call is at a node its
    // program does not have.
    db.execute(
        "UPDATE steps SET state = json_set(state, '$.at', 9999)",
        "UPDATE steps SET state = jsonb_set(state, '{at}', '9999')",
    )
    .await;
    let server = Server::serving(&flows, &db, Some(open_hours())).await;
    expect_apology(&server, &docs[1]).await;
    server.stop().await;
}

crate::on_both! {
    a_new_flow_file_that_sorts_first_does_not_move_calls_in_progress,
    removing_a_node_the_call_is_not_at_does_not_move_it,
    renaming_the_node_the_call_is_at_does_not_strand_it,
    a_version_that_is_not_stored_gets_the_apology_not_another_graph,
    a_stored_state_that_does_not_fit_its_program_gets_the_apology,
}
