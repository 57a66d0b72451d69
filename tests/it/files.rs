//! The database's files pulled from under a running server (the real
//! binary): a deleted write-ahead log stops the server acknowledging steps
//! — new callers get the apology, `/healthz` says why — and every step it
//! did acknowledge survives a `kill -9`; an `-shm` made immutable stops it
//! with a message saying what happened and what to do.

use crate::server::{TOKEN, call, post, to_the_menu};
use crate::support::serving::Serving;
use std::process::{Command, Stdio};
use std::time::Duration;

async fn health(server: &Serving) -> (u16, String) {
    let res = reqwest::get(server.url("/healthz")).await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_wal_stops_acknowledging_and_loses_nothing_acknowledged_at_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("calls.db");
    let server = Serving::demo(&db, TOKEN, false);
    for i in 0..20 {
        to_the_menu(&server.url(""), &format!("CA-kept{i}")).await;
    }
    assert_eq!(health(&server).await.0, 200);
    std::fs::remove_file(format!("{}-wal", db.display())).unwrap();
    let mut said = (0, String::new());
    for _ in 0..100 {
        said = health(&server).await;
        if said.0 == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(said.0, 503, "{}", said.1);
    assert!(said.1.contains("was deleted"), "{}", said.1);
    // A new caller is not acknowledged: the apology, nothing stored.
    let (code, doc) = post(&server.url("/twilio/voice"), &call("CA-after"), None).await;
    assert_eq!(code, 200, "{doc}");
    assert!(doc.contains("/twilio/done"), "the apology: {doc}");
    // The crash.
    let pid = server.pid().to_string();
    assert!(
        Command::new("kill")
            .args(["-9", &pid])
            .status()
            .unwrap()
            .success()
    );
    let log = server.log();
    assert!(
        log.contains("copied every page of the write-ahead log"),
        "{log}"
    );
    let store = switchboard::store::Store::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    for i in 0..20 {
        let state = store.load(&format!("CA-kept{i}")).await.unwrap();
        assert_eq!(
            state.map(|s| s.wait),
            Some(switchboard::engine::Wait::Choice),
            "CA-kept{i} is where its last acknowledged step left it"
        );
    }
    assert!(store.load("CA-after").await.unwrap().is_none());
    store.close().await;
}

/// Run `chattr`; false where the filesystem has no such attributes.
fn chattr(flag: &str, path: &str) -> bool {
    Command::new("chattr")
        .args([flag, path])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_immutable_shm_stops_the_server_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("calls.db");
    let shm = format!("{}-shm", db.display());
    let server = Serving::demo(&db, TOKEN, false);
    to_the_menu(&server.url(""), "CA-shm0").await;
    if !chattr("+i", &shm) {
        eprintln!(
            "skipped: chattr +i is not available here (not root, or a filesystem without it)"
        );
        drop(server.log());
        return;
    }
    // Whichever comes first: the check trips the store, or the next write
    // to the memory map is a SIGBUS. Either way the admin is told.
    for i in 1..40 {
        let sid = format!("CA-shm{i}");
        let res = reqwest::Client::new()
            .post(server.url("/twilio/voice"))
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        drop((sid, res));
        // 503 (tripped), or no answer at all (the SIGBUS ended it).
        match reqwest::get(server.url("/healthz")).await {
            Ok(r) if r.status().as_u16() == 503 => break,
            Ok(_) => {}
            Err(_) => break,
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let exited = server.pid();
    let log = server.log();
    chattr("-i", &shm);
    assert!(
        log.contains("was made immutable") || log.contains("SIGBUS"),
        "process {exited}: {log}"
    );
    assert!(log.contains("chattr -i"), "{log}");
}
