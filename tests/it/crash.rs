//! `kill -9` at random moments while callers walk the demo (the real
//! binary, on 127.0.0.1): every step the server acknowledged is stored
//! afterwards, and callers that retry as Twilio does finish their calls
//! with complete logs.

use crate::server::{TOKEN, call};
use crate::support::serving::Serving;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard::provider::twilio::signature::{Algorithm, sign};

/// Post `params` to `path` on whichever server is running, as Twilio
/// retries: until an answer comes (bounded).
async fn post_retrying(
    running: &Mutex<String>,
    path: &str,
    params: &[(&str, &str)],
) -> (u16, String) {
    let pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    for _ in 0..400 {
        let addr = running.lock().unwrap().clone();
        let url = format!("http://{addr}{path}");
        let sig = sign(Algorithm::Sha1, TOKEN, &url, &pairs);
        let sent = client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", sig)
            .body(body.clone())
            .send()
            .await;
        if let Ok(res) = sent {
            let code = res.status().as_u16();
            if let Ok(text) = res.text().await {
                return (code, text);
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no server answered {path}");
}

/// The path and step number of where a document sends its next callback.
fn next(doc: &str) -> Option<(String, u64)> {
    let at = doc.find("/twilio/step?")?;
    let rest = &doc[at..];
    let end = rest.find('"')?;
    let path = rest[..end].replace("&amp;", "&");
    let step = path
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("s="))?
        .parse()
        .ok()?;
    Some((path, step))
}

/// One caller: the demo to billing, an account number, an agent, the
/// survey; then the status. Returns the highest step acknowledged.
async fn caller(running: Arc<Mutex<String>>, sid: String) -> u64 {
    let answers: [&[(&str, &str)]; 5] = [
        &[("Digits", "1")],
        &[("Digits", "2")],
        &[("Digits", "12345678")],
        &[("QueueResult", "bridged"), ("QueueTime", "20")],
        &[("Digits", "5")],
    ];
    let (code, mut doc) = post_retrying(&running, "/twilio/voice", &call(&sid)).await;
    assert_eq!(code, 200, "{doc}");
    let mut acknowledged = 0;
    for params in answers {
        let Some((path, step)) = next(&doc) else {
            break;
        };
        acknowledged = acknowledged.max(step);
        let mut all = vec![("CallSid", sid.as_str())];
        all.extend_from_slice(params);
        let (code, answer) = post_retrying(&running, &path, &all).await;
        assert_eq!(code, 200, "{answer}");
        doc = answer;
    }
    if let Some((_, step)) = next(&doc) {
        acknowledged = acknowledged.max(step);
    }
    let status = [
        ("CallSid", sid.as_str()),
        ("CallStatus", "completed"),
        ("CallDuration", "60"),
    ];
    let (code, _) = post_retrying(&running, "/twilio/status", &status).await;
    assert_eq!(code, 204);
    acknowledged
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_step_survives_kill_9_at_random_moments() {
    let dir = tempfile::tempdir().unwrap();
    let db: PathBuf = dir.path().join("calls.db");
    let server = Serving::demo(&db, TOKEN, true);
    let running = Arc::new(Mutex::new(server.addr.clone()));
    let server = Arc::new(Mutex::new(server));
    let calls = 120;
    let mut callers = tokio::task::JoinSet::new();
    for i in 0..calls {
        let r = running.clone();
        callers.spawn(async move {
            // Callers arrive over about a second and a half.
            tokio::time::sleep(Duration::from_millis(fastrand::u64(0..1500))).await;
            let sid = format!("CA-kill{i}");
            let acked = caller(r, sid.clone()).await;
            (sid, acked)
        });
    }
    // The killer: three kill -9s at random moments, a restart after each.
    let killer = {
        let (server, running, db) = (server.clone(), running.clone(), db.clone());
        tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(11);
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_millis(rng.u64(150..500))).await;
                let mut s = server.lock().unwrap();
                s.kill();
                *s = Serving::demo(&db, TOKEN, true);
                *running.lock().unwrap() = s.addr.clone();
            }
        })
    };
    let results = tokio::time::timeout(Duration::from_secs(120), callers.join_all())
        .await
        .expect("every caller finishes");
    killer.await.unwrap();
    {
        server.lock().unwrap().kill();
    }
    let store = switchboard::store::Store::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    for (sid, acked) in results {
        let state = store
            .load(&sid)
            .await
            .unwrap()
            .expect("every call is stored");
        assert!(
            state.step >= acked,
            "{sid}: step {acked} was acknowledged, the store has {}",
            state.step
        );
        assert!(
            store.log_complete(&sid).await.unwrap(),
            "{sid} ended with every step and its final status"
        );
    }
    store.close().await;
}
