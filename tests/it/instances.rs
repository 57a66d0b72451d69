//! Several stateless instances on one PostgreSQL database, as a contact
//! center runs them behind a load balancer: any callback of any call on any
//! instance, in any order; an instance killed mid-call; a rolling restart
//! onto edited flows while calls are in progress; the database going away
//! mid-call and coming back.

use crate::server::{Server, TOKEN, action, call, post};
use crate::support::db::TestDb;
use crate::support::pg::PgDb;
use crate::support::proxy::Proxy;
use crate::support::serving::Serving;
use crate::versions::demo_copy;
use std::path::Path;
use switchboard::store::Store;

/// `url` (any instance's) aimed at the instance at `base` (`http://host:port`).
fn at(base: &str, url: &str) -> String {
    let path = &url[url.find("/twilio").unwrap_or(0)..];
    format!("{base}{path}")
}

/// The answer to the waiting verb of `doc`, as a caller and Twilio give it
/// (`n` picks the key pressed); `None` once the call has nothing left to wait for.
fn answer(doc: &str, sid: &str, n: usize) -> Option<(String, Vec<(String, String)>)> {
    let cs = ("CallSid".to_owned(), sid.to_owned());
    let kind = ["Gather", "Enqueue", "Dial", "Record"]
        .into_iter()
        .find(|v| doc.contains(&format!("<{v} ")))?;
    let params = match kind {
        "Gather" => vec![cs, ("Digits".into(), ["1", "0", "5"][n % 3].into())],
        "Enqueue" => vec![cs, ("QueueResult".into(), "bridged".into())],
        "Dial" => vec![cs, ("DialCallStatus".into(), "completed".into())],
        _ => vec![
            cs,
            ("RecordingUrl".into(), "https://api.twilio.com/r1".into()),
            ("RecordingDuration".into(), "4".into()),
        ],
    };
    Some((action(doc), params))
}

/// Post `params` to `url` as Twilio does: the status and body.
async fn send(url: &str, params: &[(String, String)]) -> (u16, String) {
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    post(url, &pairs, None).await
}

/// One step of call `sid` on the instance at `base`, from the document it
/// waits at: the next document, or `None` once it waits for nothing.
async fn step(base: &str, doc: &str, sid: &str, n: usize) -> Option<String> {
    let (url, params) = answer(doc, sid, n)?;
    let (code, next) = send(&at(base, &url), &params).await;
    assert_eq!(code, 200, "{sid} step {n} on {base}: {next}");
    Some(next)
}

/// Twilio's final status for `sid`, on the instance at `base`.
async fn hang_up(base: &str, sid: &str) {
    let params = [
        ("CallSid", sid),
        ("CallStatus", "completed"),
        ("CallDuration", "30"),
    ];
    let (code, body) = post(&format!("{base}/twilio/status"), &params, None).await;
    assert_eq!(code, 204, "{sid}: {body}");
}

/// A new call `sid` on the instance at `base`: its first document.
async fn dial(base: &str, sid: &str) -> String {
    let (code, doc) = post(&format!("{base}/twilio/voice"), &call(sid), None).await;
    assert_eq!(code, 200, "{doc}");
    doc
}

/// Play call `sid` to its end, its callbacks going round `bases` in turn
/// (the new call to the first); the documents, with hosts taken out.
async fn alternating(bases: &[String], sid: &str) -> Vec<String> {
    let plain = |d: &str| {
        bases
            .iter()
            .fold(d.to_owned(), |d, b| d.replace(b.as_str(), "SERVER"))
    };
    let mut doc = dial(&bases[0], sid).await;
    let mut docs = vec![plain(&doc)];
    for n in 0..12 {
        match step(&bases[(n + 1) % bases.len()], &doc, sid, n).await {
            Some(next) => doc = next,
            None => break,
        }
        docs.push(plain(&doc));
    }
    hang_up(&bases[(docs.len() + 1) % bases.len()], sid).await;
    docs
}

/// A Wednesday, 10:00 in New York: the demo's service hours are open.
fn open_hours() -> Option<switchboard::server::Clock> {
    let at: jiff::Timestamp = "2026-03-04T15:00:00Z".parse().unwrap();
    Some(std::sync::Arc::new(move || at))
}

async fn pg() -> Option<PgDb> {
    PgDb::create().await
}

/// A call whose callbacks alternate between two instances (one of which
/// never saw the call start, nor loaded its version) hears exactly what
/// one instance alone answers, and its whole log is stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calls_callbacks_alternating_between_two_instances_play_as_on_one() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let flows = demo_copy(dir.path());
    let one = Server::serving(&flows, &db, open_hours()).await;
    let alone = alternating(&[one.url("")], "CA-alone").await;
    // The second instance starts on other flow files (a deploy in
    // progress): calls keep the version they started on regardless.
    let other_dir = tempfile::tempdir().unwrap();
    let other_flows = demo_copy(other_dir.path());
    std::fs::write(
        other_flows.join("aaa.toml"),
        "[flow]\nstart = \"desk\"\n\n[queue.desk]\ngroup = \"general\"\n",
    )
    .unwrap();
    let two = Server::serving(&other_flows, &db, open_hours()).await;
    assert_ne!(one.state.program().version, two.state.program().version);
    let both = alternating(&[one.url(""), two.url("")], "CA-both").await;
    let both = both
        .iter()
        .map(|d| d.replace("CA-both", "CA-alone"))
        .collect::<Vec<_>>();
    assert_eq!(both, alone, "the same call, whichever instance answers");
    let store = Store::open(&crate::support::db::Database::url(&db))
        .await
        .unwrap();
    for sid in ["CA-alone", "CA-both"] {
        assert!(store.log_complete(sid).await.unwrap(), "{sid}");
        let state = store.load(sid).await.unwrap().unwrap();
        assert_eq!(state.version, one.state.program().version, "{sid}");
    }
    store.close().await;
    one.stop().await;
    two.stop().await;
}

/// The same callback delivered to two instances at once (a provider's
/// retry racing the original): the call moves once, and both answers
/// are the document of that one step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_racing_itself_on_two_instances_moves_the_call_once() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let flows = demo_copy(dir.path());
    let a = Server::serving(&flows, &db, open_hours()).await;
    let b = Server::serving(&flows, &db, open_hours()).await;
    for i in 0..20 {
        let sid = format!("CA-race{i}");
        let doc = dial(&a.url(""), &sid).await;
        let (url, params) = answer(&doc, &sid, 0).unwrap();
        let (ua, ub) = (at(&a.url(""), &url), at(&b.url(""), &url));
        let ((ca, da), (cb, db_doc)) = tokio::join!(send(&ua, &params), send(&ub, &params));
        assert_eq!((ca, cb), (200, 200));
        let plain = |d: &str| d.replace(&a.url(""), "S").replace(&b.url(""), "S");
        assert_eq!(plain(&da), plain(&db_doc), "{sid}: one step, one answer");
        let state = a.state.store().load_stored(&sid).await.unwrap().unwrap();
        assert_eq!(state.step, 2, "{sid} moved exactly once");
    }
    a.stop().await;
    b.stop().await;
}

/// Two `switchboard serve` processes; one is killed with SIGKILL while
/// calls wait on it, and the other finishes every one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_on_an_instance_killed_mid_call_finish_on_the_other() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let mut a = Serving::demo(&db, TOKEN, true);
    let b = Serving::demo(&db, TOKEN, false);
    let (ua, ub) = (a.url(""), b.url(""));
    let mut waiting = Vec::new();
    for i in 0..10 {
        let sid = format!("CA-kill{i}");
        let doc = dial(&ua, &sid).await;
        let doc = step(&ua, &doc, &sid, 0).await.unwrap();
        waiting.push((sid, doc));
    }
    a.kill();
    for (sid, mut doc) in waiting {
        for n in 1..12 {
            match step(&ub, &doc, &sid, n).await {
                Some(next) => doc = next,
                None => break,
            }
        }
        hang_up(&ub, &sid).await;
    }
    let store = Store::open(&crate::support::db::Database::url(&db))
        .await
        .unwrap();
    for i in 0..10 {
        let sid = format!("CA-kill{i}");
        assert!(store.log_complete(&sid).await.unwrap(), "{sid}");
    }
    store.close().await;
    let log = b.log();
    assert!(!log.contains(" ERROR "), "{log}");
}

/// Two instances, each with its own copy of the flows; calls in progress
/// on both. Each in turn is stopped, its flows edited, and started again,
/// the calls going on meanwhile on whichever instance is up. Every call
/// ends on the version it started on, with its whole log; calls started
/// after the deploy run on the new version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_onto_edited_flows_keeps_every_call_on_its_version() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let flows: Vec<_> = dirs.iter().map(|d| demo_copy(d.path())).collect();
    let start = |f: &Path| Serving::on(f, &db, TOKEN, false);
    let mut up = [Some(start(&flows[0])), Some(start(&flows[1]))];
    let base = |up: &[Option<Serving>; 2], k: usize| {
        up[k % 2]
            .as_ref()
            .or(up[(k + 1) % 2].as_ref())
            .unwrap()
            .url("")
    };
    let edit = |f: &Path| {
        std::fs::write(
            f.join("aaa.toml"),
            "[flow]\nstart = \"desk\"\n\n[queue.desk]\ngroup = \"general\"\n",
        )
        .unwrap()
    };
    // Calls in progress: each has taken a step or two.
    let mut calls: Vec<(String, Option<String>, usize)> = Vec::new();
    for i in 0..12 {
        let sid = format!("CA-roll{i}");
        let doc = dial(&base(&up, i), &sid).await;
        let doc = step(&base(&up, i + 1), &doc, &sid, 0).await;
        calls.push((sid, doc, 1));
    }
    let store = Store::open(&crate::support::db::Database::url(&db))
        .await
        .unwrap();
    let old = store.load("CA-roll0").await.unwrap().unwrap().version;
    // Move every call one step on whichever instance `k` lands on.
    async fn advance(calls: &mut [(String, Option<String>, usize)], bases: &[String]) {
        for (k, (sid, doc, n)) in calls.iter_mut().enumerate() {
            if let Some(d) = doc.as_deref() {
                *doc = step(&bases[(k + *n) % bases.len()], d, sid, *n).await;
                *n += 1;
            }
        }
    }
    let mut logs = Vec::new();
    for k in 0..2 {
        let stopping = up[k].take().unwrap();
        let (status, log) = stopping.stop();
        assert!(status.success(), "{log}");
        logs.push(log);
        // While it is down, the other carries every call.
        let bases = vec![base(&up, k + 1)];
        advance(&mut calls, &bases).await;
        edit(&flows[k]);
        up[k] = Some(start(&flows[k]));
        let bases = vec![base(&up, 0), base(&up, 1)];
        advance(&mut calls, &bases).await;
    }
    let bases = [base(&up, 0), base(&up, 1)];
    for (k, (sid, doc, n)) in calls.iter_mut().enumerate() {
        while let Some(d) = doc.clone() {
            *doc = step(&bases[(k + *n) % 2], &d, sid, *n).await;
            *n += 1;
            if *n > 14 {
                break;
            }
        }
        hang_up(&bases[k % 2], sid).await;
    }
    for (sid, _, _) in &calls {
        let state = store.load_stored(sid).await.unwrap().unwrap();
        assert_eq!(state.version, old, "{sid} stayed on its version");
        assert!(store.log_complete(sid).await.unwrap(), "{sid}");
    }
    // A call after the deploy starts on the new version, on either instance.
    for (k, sid) in ["CA-new0", "CA-new1"].into_iter().enumerate() {
        dial(&bases[k], sid).await;
        let state = store.load_stored(sid).await.unwrap().unwrap();
        assert_ne!(state.version, old, "{sid}");
    }
    let versions = store.versions(jiff::Timestamp::now()).await.unwrap();
    assert_eq!(versions.len(), 2, "{versions:?}");
    assert_eq!(versions[0].version, old);
    assert_eq!(versions[0].calls, 12);
    assert_eq!((versions[1].calls, versions[1].live), (2, 2));
    store.close().await;
    for s in up.into_iter().flatten() {
        let (status, log) = s.stop();
        assert!(status.success(), "{log}");
        logs.push(log);
    }
    for log in logs {
        assert!(!log.contains(" ERROR "), "{log}");
    }
}

/// The database goes away mid-call (a proxy in front of it drops every
/// connection and refuses new ones): callers hear the apology and the
/// fallback route, statuses are asked to retry, `/healthz` says why,
/// nothing that was answered is lost; once it is back, the call goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_going_away_mid_call_apologises_loses_nothing_and_recovers() {
    let Some(pg) = pg().await else {
        return;
    };
    let proxy = Proxy::to(pg.server()).await;
    let url = pg.via(proxy.addr);
    let dir = tempfile::tempdir().unwrap();
    let flows = demo_copy(dir.path());
    let server = Server::serving(&flows, url.as_str(), open_hours()).await;
    let base = server.url("");
    let doc = dial(&base, "CA-down").await;
    let menu = step(&base, &doc, "CA-down", 0).await.unwrap();
    proxy.cut();
    let (next_url, params) = answer(&menu, "CA-down", 1).unwrap();
    let (code, apology) = send(&at(&base, &next_url), &params).await;
    assert_eq!(code, 200);
    assert!(apology.contains("something went wrong"), "{apology}");
    assert!(
        apology.contains("<Enqueue"),
        "the fallback route: {apology}"
    );
    let fresh = dial(&base, "CA-during").await;
    assert!(fresh.contains("<Enqueue"), "{fresh}");
    let status = [("CallSid", "CA-down"), ("CallStatus", "completed")];
    let (code, _) = post(&format!("{base}/twilio/status"), &status, None).await;
    assert_eq!(code, 503, "the provider retries the status later");
    let health = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(health.status().as_u16(), 503);
    let why = health.text().await.unwrap();
    assert!(why.contains("unreachable"), "{why}");
    proxy.restore();
    let mut healthy = false;
    for _ in 0..100 {
        let h = reqwest::get(server.url("/healthz")).await.unwrap();
        if h.status().as_u16() == 200 {
            healthy = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(healthy, "healthy again once the database answers");
    // Twilio retries the step the apology answered: the call goes on.
    let (code, after) = send(&at(&base, &next_url), &params).await;
    assert_eq!(code, 200);
    assert!(!after.contains("something went wrong"), "{after}");
    let mut doc = after;
    for n in 2..12 {
        match step(&base, &doc, "CA-down", n).await {
            Some(next) => doc = next,
            None => break,
        }
    }
    hang_up(&base, "CA-down").await;
    server.stop().await;
    let store = Store::open(&pg.url).await.unwrap();
    assert!(store.log_complete("CA-down").await.unwrap());
    assert!(
        store.load("CA-during").await.unwrap().is_none(),
        "a call answered only by the apology was never stored"
    );
    store.close().await;
}

/// A reload on one instance stores its new version; another instance, still
/// on its own files, keeps starting new calls on its own version and serves
/// the calls that started on the new one from the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_on_one_instance_is_served_by_the_other_from_the_store() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let flows: Vec<_> = dirs.iter().map(|d| demo_copy(d.path())).collect();
    let a = Server::serving(&flows[0], &db, open_hours()).await;
    let b = Server::serving(&flows[1], &db, open_hours()).await;
    let old = b.state.program().version.clone();
    std::fs::write(
        flows[0].join("aaa.toml"),
        "[flow]\nstart = \"desk\"\n\n[queue.desk]\ngroup = \"general\"\n",
    )
    .unwrap();
    let reloader = switchboard::server::reload::Reloader::new(a.state.clone(), flows[0].clone());
    let reloaded = reloader.reload().await;
    let new = a.state.program().version.clone();
    assert_ne!(new, old, "{reloaded:?}");
    // A call starts on the reloaded instance, and goes on on the other.
    let docs = alternating(&[a.url(""), b.url("")], "CA-reloaded").await;
    assert!(docs.len() > 2, "{docs:?}");
    assert_eq!(
        b.state.program().version,
        old,
        "the other keeps its own files"
    );
    let other = dial(&b.url(""), "CA-other").await;
    assert!(other.contains("<Gather"), "{other}");
    let store = a.state.store();
    let reloaded_call = store.load_stored("CA-reloaded").await.unwrap().unwrap();
    assert_eq!(reloaded_call.version, new);
    assert!(store.log_complete("CA-reloaded").await.unwrap());
    let other_call = store.load_stored("CA-other").await.unwrap().unwrap();
    assert_eq!(other_call.version, old);
    a.stop().await;
    b.stop().await;
}
