//! Reloading the flow directory as an admin meets it: reading or touching a
//! flow file reloads nothing, a write reloads once, an unchanged set is not
//! installed again, and a broken set is refused (and logged) once.

use crate::versions::demo_copy;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use switchboard::server::AppState;
use switchboard::server::reload::{Reloaded, Reloader, watch};
use switchboard::store::Store;

async fn state(flows: &Path, db: &Path) -> AppState {
    let set = switchboard::flow::load_dir(flows).unwrap();
    let program = switchboard::compile::compile(&set).program.unwrap();
    let store = Store::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let state = AppState::new(program, store, set.recordings.root.clone(), None, None);
    state.save_current(&set).await.unwrap();
    state
}

fn flow_files(flows: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(flows)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

/// Wait (up to 5 s) for `reloader` to have reloaded `n` times.
async fn reloaded(reloader: &Reloader, n: u64) {
    for _ in 0..100 {
        if reloader.reloads() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} reloads, expected {n}", reloader.reloads());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_flow_files_reloads_nothing_and_a_write_reloads_once() {
    let dir = tempfile::tempdir().unwrap();
    let flows = demo_copy(dir.path());
    let state = state(&flows, &dir.path().join("calls.db")).await;
    let before = state.program().version.clone();
    let reloader = Arc::new(Reloader::new(state.clone(), flows.clone()));
    let _watcher = watch(reloader.clone()).unwrap();
    // What `cat flows/*.toml` and `touch flows/*.toml` do.
    for f in flow_files(&flows) {
        std::fs::read_to_string(&f).unwrap();
        let touched = std::process::Command::new("touch")
            .arg(&f)
            .status()
            .unwrap();
        assert!(touched.success());
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(reloader.reloads(), 0, "reading or touching is not a change");
    // An admin saves an edit.
    let main = flows.join("main.toml");
    let mut text = std::fs::read_to_string(&main).unwrap();
    text.push_str("\n# edited\n");
    std::fs::write(&main, text).unwrap();
    reloaded(&reloader, 1).await;
    // The reload read every file again: that must not start another.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(reloader.reloads(), 1, "one write, one reload");
    assert_ne!(state.program().version, before, "the edit serves new calls");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_set_is_skipped_and_a_broken_one_refused_once() {
    let dir = tempfile::tempdir().unwrap();
    let flows = demo_copy(dir.path());
    let state = state(&flows, &dir.path().join("calls.db")).await;
    let reloader = Reloader::new(state.clone(), flows.clone());
    let version = state.program().version.clone();
    assert_eq!(
        reloader.reload().await,
        Reloaded::Unchanged(version.clone())
    );
    std::fs::write(flows.join("main.toml"), "[flow]\nstart = \"nowhere\"\n").unwrap();
    let first = reloader.reload().await;
    let Reloaded::Refused {
        version: broken,
        diagnostics,
        again: false,
    } = first
    else {
        panic!("refused the first time: {first:?}");
    };
    assert!(diagnostics.contains("nowhere"), "{diagnostics}");
    let second = reloader.reload().await;
    assert!(
        matches!(&second, Reloaded::Refused { version, again: true, .. } if *version == broken),
        "the same broken set is known: {second:?}"
    );
    assert_eq!(
        state.program().version,
        version,
        "the good set keeps serving"
    );
}
