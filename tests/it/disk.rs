//! The disk under the store: full while calls are in progress, and
//! read-only at start. Needs a small filesystem of the test's own: a tmpfs
//! it mounts, which takes root; elsewhere these tests say so and pass
//! without running (CI runs as root).

use crate::server::{Server, action, call, post, to_the_menu};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs of `size` mounted for one test, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipped: cannot mount a tmpfs here (this test needs root)");
            return None;
        }
        Some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn remount(&self, how: &str) -> bool {
        Command::new("mount")
            .args(["-o", &format!("remount,{how}")])
            .arg(self.path())
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Fill the filesystem at `dir` to the last byte; the file that did it.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    let small = [0u8; 512];
    while f.write_all(&small).is_ok() {}
    let _ = f.sync_all();
    path
}

async fn press(server: &Server, doc: &str, sid: &str, digits: &str) -> (u16, String) {
    let url = action(doc);
    let path = &url[url.find("/twilio").unwrap()..];
    post(
        &server.url(path),
        &[("CallSid", sid), ("Digits", digits)],
        None,
    )
    .await
}

async fn status(server: &Server, sid: &str) -> u16 {
    let params = [
        ("CallSid", sid),
        ("CallStatus", "completed"),
        ("CallDuration", "30"),
    ];
    post(&server.url("/twilio/status"), &params, None).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_gets_callers_the_apology_and_nothing_acknowledged_is_lost() {
    let Some(fs) = Tmpfs::mount("6m") else { return };
    let db = fs.path().join("calls.db");
    let at: jiff::Timestamp = "2026-12-02T15:00:00Z".parse().unwrap();
    let clock: switchboard::server::Clock = std::sync::Arc::new(move || at);
    let set = switchboard::flow::load_dir(Path::new("flows")).unwrap();
    let program = switchboard::compile::compile(&set).program.unwrap();
    let server = Server::with(program, &db, Some(clock)).await;
    let menu0 = to_the_menu(&server.url(""), "CA-disk0").await;
    let _menu1 = to_the_menu(&server.url(""), "CA-disk1").await;
    let filler = fill(fs.path());
    // New callers while nothing more fits. SQLite may still fit a write in
    // the log's free pages now and then: whatever it acknowledged must be
    // stored, whatever it could not store must get the apology.
    let mut acknowledged = Vec::new();
    let mut apologies = 0;
    for i in 0..40 {
        let sid = format!("CA-full{i}");
        let (code, doc) = post(&server.url("/twilio/voice"), &call(&sid), None).await;
        assert_eq!(code, 200, "never a 5xx on a voice route: {doc}");
        if doc.contains("/twilio/done") {
            apologies += 1;
        } else {
            acknowledged.push(sid);
        }
    }
    assert!(
        apologies > 0,
        "a new call that cannot be stored gets the apology"
    );
    let first = status(&server, "CA-disk1").await;
    assert!(
        matches!(first, 204 | 503),
        "stored, or not acknowledged: {first}"
    );
    // The admin frees space: the callbacks, retried, go through.
    std::fs::remove_file(filler).unwrap();
    let (code, doc) = press(&server, &menu0, "CA-disk0", "2").await;
    assert_eq!(code, 200, "{doc}");
    assert!(doc.contains("account number"), "the call goes on: {doc}");
    assert_eq!(status(&server, "CA-disk1").await, 204);
    server.stop().await;
    let store = switchboard::store::Store::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let s0 = store.load("CA-disk0").await.unwrap().unwrap();
    assert_eq!(
        s0.wait,
        switchboard::engine::Wait::Digits,
        "at the account number"
    );
    let s1 = store.load("CA-disk1").await.unwrap().unwrap();
    assert_eq!(s1.wait, switchboard::engine::Wait::Ended);
    for sid in acknowledged {
        assert!(
            store.load(&sid).await.unwrap().is_some(),
            "{sid} was acknowledged"
        );
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_database_stops_the_server_at_start_with_what_to_do() {
    let Some(fs) = Tmpfs::mount("8m") else { return };
    let db = fs.path().join("calls.db");
    let url = format!("sqlite://{}", db.display());
    let store = switchboard::store::Store::open(&url).await.unwrap();
    store.close().await;
    assert!(fs.remount("ro"), "remount read-only");
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &url])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot open the SQLite database"),
        "{stderr}"
    );
    assert!(stderr.contains("read-only filesystem"), "{stderr}");
    assert_eq!(
        stderr.matches("unable to open database file").count(),
        1,
        "said once: {stderr}"
    );
    fs.remount("rw");
}
