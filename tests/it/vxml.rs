//! W3C VoiceXML 2.1 as a VoiceXML browser meets the server: every demo
//! scenario walked through `/vxml/…`, and every document the tests produce
//! validated by a real schema validator (`xmllint --relaxng`, Debian's
//! libxml2-utils) against `tests/data/vxml/voicexml21.rng`, a strict schema
//! of the VoiceXML 2.1 and SRGS 1.0 elements we emit, itself tested with
//! documents that must fail. With CI=true a missing xmllint fails the
//! tests instead of skipping them.

use crate::providers::{Dialect, Params, owned, play_demo_scenarios_as, send};
use crate::server::{Server, find, text};
use crate::support::db::TestDb;
use crate::support::xml::{El, Node, tree};
use crate::support::{demo, open_hours};
use std::sync::Arc;
use switchboard::engine::{Event, QueueResult};
use switchboard::server::AppState;

const SCHEMA: &str = "tests/data/vxml/voicexml21.rng";
const TOKEN: &str = "vxml-test-token";

/// Is xmllint here? Without it: with CI=true a failure, else a skip (false).
fn xmllint() -> bool {
    let here = std::process::Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !here && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "the VoiceXML tests need xmllint (Debian: apt-get install libxml2-utils); with CI=true they fail rather than skip"
        );
    }
    if !here {
        eprintln!("skipped: xmllint is not installed (apt-get install libxml2-utils)");
    }
    here
}

/// Validate `docs` against the schema: `Err` with xmllint's complaints.
fn validate(docs: &[String]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        let f = dir.path().join(format!("doc{i}.vxml"));
        std::fs::write(&f, d).unwrap();
        files.push(f);
    }
    let out = std::process::Command::new("xmllint")
        .args(["--noout", "--relaxng", SCHEMA])
        .args(&files)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn valid(doc: &str) {
    if let Err(e) = validate(&[doc.to_owned()]) {
        panic!("not valid VoiceXML 2.1: {e}\n{doc}");
    }
}

fn basic() -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("cvp:{TOKEN}"))
    )
}

/// Every `<submit>` of a document, with the element it sits in.
fn submits(el: &El, parent: &str, out: &mut Vec<(String, String, Option<String>)>) {
    for c in &el.children {
        if let Node::El(e) = c {
            if e.name == "submit" {
                out.push((
                    parent.to_owned(),
                    e.attrs.get("next").cloned().unwrap_or_default(),
                    e.attrs.get("namelist").cloned(),
                ));
            }
            submits(e, &e.name, out);
        }
    }
}

fn submit_in(doc: &str, parent: &str) -> String {
    let mut all = Vec::new();
    submits(&tree(doc), "vxml", &mut all);
    all.into_iter()
        .find(|(p, next, _)| p == parent && !next.contains("ev=hangup"))
        .map(|(_, next, _)| next)
        .unwrap_or_else(|| panic!("no <submit> in a <{parent}>: {doc}"))
}

/// The submit to our hold loop.
fn hold_submit(doc: &str) -> Option<String> {
    let mut all = Vec::new();
    submits(&tree(doc), "vxml", &mut all);
    all.into_iter()
        .map(|(_, n, _)| n)
        .find(|n| n.contains("/vxml/wait?"))
}

/// A VoiceXML browser.
pub(crate) struct Browser;

impl Dialect for Browser {
    fn prefix(&self) -> &'static str {
        "vxml"
    }
    fn mount(&self, state: AppState) -> AppState {
        use switchboard::provider::vxml::VoiceXml;
        state.with_providers(vec![Arc::new(VoiceXml::new(Some(TOKEN.into())))])
    }
    fn call_id(&self, seed: &str) -> String {
        format!("vx-{seed}")
    }
    fn new_call(&self, sid: &str, from: &str, to: &str) -> Params {
        owned(&[
            ("call", sid),
            ("from", &format!("tel:{from}")),
            ("to", &format!("tel:{to}")),
        ])
    }
    fn event(&self, server: &Server, doc: &str, _sid: &str, e: &Event) -> (String, Params) {
        let kv = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        match e {
            Event::NoInput => (submit_in(doc, "noinput"), vec![]),
            Event::NoMatch => (submit_in(doc, "nomatch"), vec![]),
            Event::Claimed { .. } => panic!("no agent can take a VoiceXML caller"),
            Event::Digits(d) => {
                let spaced: Vec<String> = d.chars().map(|c| c.to_string()).collect();
                (
                    submit_in(doc, "filled"),
                    vec![
                        kv("answer", &spaced.join(" ")),
                        kv("mode", "dtmf"),
                        kv("confidence", "1"),
                    ],
                )
            }
            Event::Speech { text, .. } => (
                submit_in(doc, "filled"),
                vec![
                    kv("answer", text),
                    kv("mode", "voice"),
                    kv("confidence", "0.9"),
                ],
            ),
            Event::Dial(st) => {
                let t = match st {
                    switchboard::engine::DialStatus::Completed => "far_end_disconnect",
                    switchboard::engine::DialStatus::Busy => "busy",
                    switchboard::engine::DialStatus::NoAnswer => "noanswer",
                    _ => "unknown",
                };
                (submit_in(doc, "filled"), vec![kv("t", t)])
            }
            Event::Queue { result, .. } => {
                let wait =
                    hold_submit(doc).unwrap_or_else(|| panic!("not in our hold loop: {doc}"));
                let ev = match result {
                    QueueResult::Bridged => "bridged",
                    QueueResult::Full => "full",
                    QueueResult::Timeout => "leave",
                    QueueResult::Hangup | QueueResult::Error => {
                        let mut all = Vec::new();
                        submits(&tree(doc), "vxml", &mut all);
                        let hangup = all
                            .into_iter()
                            .map(|(_, n, _)| n)
                            .find(|n| n.contains("ev=hangup"))
                            .unwrap();
                        return (hangup, vec![]);
                    }
                };
                let query = wait.split_once('?').unwrap().1;
                let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                let get = |k: &str| pairs.iter().find(|(n, _)| n == k).unwrap().1.clone();
                (
                    server.url(&format!(
                        "/vxml/step?call={}&s={}&ev={ev}",
                        get("call"),
                        get("s")
                    )),
                    vec![],
                )
            }
            Event::Recording { seconds, .. } => (
                submit_in(doc, "filled"),
                vec![
                    kv("msg", "RIFF-fake-audio"),
                    kv("msg_seconds", &seconds.to_string()),
                ],
            ),
            Event::Status(_) => {
                let mut all = Vec::new();
                submits(&tree(doc), "vxml", &mut all);
                let hangup = all
                    .into_iter()
                    .map(|(_, n, _)| n)
                    .find(|n| n.contains("ev=hangup"))
                    .unwrap_or_else(|| panic!("no hang-up catch: {doc}"));
                (hangup, vec![])
            }
        }
    }
    async fn post(&self, url: &str, params: &Params) -> (u16, String) {
        let auth = [("authorization", basic())];
        if let Some((_, audio)) = params.iter().find(|(k, _)| k == "msg") {
            // A <record>'s submit: multipart, the audio as a file.
            let mut body = String::new();
            for (k, v) in params.iter().filter(|(k, _)| k != "msg") {
                body.push_str(&format!(
                    "--B\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                ));
            }
            body.push_str(&format!(
                "--B\r\nContent-Disposition: form-data; name=\"msg\"; filename=\"msg.wav\"\r\nContent-Type: audio/x-wav\r\n\r\n{audio}\r\n--B--\r\n"
            ));
            return send(url, "multipart/form-data; boundary=B", body, &auth).await;
        }
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        send(url, "application/x-www-form-urlencoded", body, &auth).await
    }
    fn check(&self, doc: &str) {
        if xmllint() {
            valid(doc);
        }
    }
}

async fn every_demo_scenario_plays_through_a_voicexml_browser(db: TestDb) {
    let played = play_demo_scenarios_as(&db, &Browser).await;
    assert!(played.scenarios >= 38, "{} played", played.scenarios);
}

crate::on_both! {
    every_demo_scenario_plays_through_a_voicexml_browser,
}

#[test]
fn every_verb_renders_as_valid_voicexml() {
    use switchboard::provider::{BaseUrls, Document, Provider};
    let p = demo();
    let vxml = switchboard::provider::vxml::VoiceXml::new(None);
    let mut docs = Vec::new();
    let mut cases = crate::twiml::cases(&p);
    cases.push((
        "hold",
        cases
            .iter()
            .find(|(n, _)| *n == "wait_then_leave")
            .unwrap()
            .1[..2]
            .to_vec(),
    ));
    for (name, actions) in &cases {
        let urls = BaseUrls::new("https://ivr.example.com", "vxml");
        let ours = vxml.render(&Document {
            actions,
            program: &p,
            call_id: "vx123",
            step: 4,
            urls: &urls,
            hold: (*name == "hold").then_some("billing"),
        });
        insta::assert_snapshot!(format!("vxml_{name}"), ours);
        docs.push(ours);
    }
    if xmllint() {
        validate(&docs).unwrap();
    }
}

/// Documents that break one rule each: the schema must refuse every one.
#[test]
fn the_schema_refuses_what_voicexml_does_not_allow() {
    if !xmllint() {
        return;
    }
    let wrap = |form: &str| {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><vxml version="2.1" xmlns="http://www.w3.org/2001/vxml" xml:lang="en-US"><form id="f">{form}</form></vxml>"#
        )
    };
    let good = wrap(
        r#"<block><prompt xml:lang="en-US">Hi</prompt><submit next="https://x/s" method="post"/></block>"#,
    );
    validate(&[good]).expect("a valid document passes");
    // The shape of PROTOCOLS.md's menu step passes too.
    let menu = r#"<?xml version="1.0" encoding="UTF-8"?>
<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml" xml:lang="en-US">
 <property name="inputmodes" value="dtmf"/><property name="timeout" value="5s"/>
 <form id="menu"><field name="choice">
  <grammar mode="dtmf" version="1.0" root="r" xmlns="http://www.w3.org/2001/06/grammar">
   <rule id="r" scope="public"><one-of><item>1</item><item>2</item></one-of></rule></grammar>
  <prompt>Press 1 for orders, 2 for support.</prompt>
  <noinput count="1"><reprompt/></noinput><nomatch count="1"><reprompt/></nomatch>
  <noinput count="3"><submit next="https://ivr.example.com/vxml/step?s=menu&amp;ev=noinput" method="post"/></noinput>
  <filled><submit next="https://ivr.example.com/vxml/step?s=menu" method="post" namelist="choice"/></filled>
 </field></form></vxml>"#;
    validate(&[menu.to_owned()]).expect("the protocol's example passes");
    let bad = [
        ("an unknown element", wrap("<block><blink/></block>")),
        (
            "an unknown attribute",
            wrap(r#"<block><submit next="https://x/s" colour="red"/></block>"#),
        ),
        (
            "a <filled> in a <block>",
            wrap(r#"<block><filled><submit next="https://x/s"/></filled></block>"#),
        ),
        (
            "a <filled> at the top",
            r#"<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml"><filled/></vxml>"#
                .to_owned(),
        ),
        (
            "a <submit> without next",
            wrap(r#"<block><submit method="post"/></block>"#),
        ),
        (
            "a <field> in a <block>",
            wrap(r#"<block><field name="x"/></block>"#),
        ),
        (
            "a prompt outside any form item",
            r#"<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml"><prompt>x</prompt></vxml>"#
                .to_owned(),
        ),
        (
            "version 3.0",
            r#"<vxml version="3.0" xmlns="http://www.w3.org/2001/vxml"><form/></vxml>"#.to_owned(),
        ),
        (
            "the wrong namespace",
            r#"<vxml version="2.1" xmlns="http://example.com/ns"><form/></vxml>"#.to_owned(),
        ),
        (
            "an empty <one-of>",
            wrap(
                r#"<field name="a"><grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" mode="dtmf" root="r"><rule id="r"><one-of/></rule></grammar></field>"#,
            ),
        ),
        (
            "a grammar mode that is not voice or dtmf",
            wrap(
                r#"<field name="a"><grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" mode="keys" root="r"><rule id="r">1</rule></grammar></field>"#,
            ),
        ),
        (
            "a transfer without a destination",
            wrap(r#"<transfer name="t" type="bridge"/>"#),
        ),
        (
            "a duration without a unit",
            wrap(
                r#"<field name="a"><property name="timeout" value="5s"/></field><record name="m" maxtime="120"/>"#,
            ),
        ),
        (
            "a submit method that is not get or post",
            wrap(r#"<block><submit next="https://x/s" method="put"/></block>"#),
        ),
    ];
    for (why, doc) in bad {
        assert!(
            validate(std::slice::from_ref(&doc)).is_err(),
            "the schema let {why} through:\n{doc}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_bootstraps_presses_a_wrong_key_and_leaves_a_voicemail_kept_for_supervisors() {
    let db = TestDb::sqlite();
    let uploads = tempfile::tempdir().unwrap();
    let state = crate::server::state(demo(), &db, "recordings".into(), Some(open_hours())).await;
    let state = Browser.mount(state).with_uploads(uploads.path().to_owned());
    let server = Server::launch(state, None).await;
    let auth = [("authorization", basic())];
    // The application URL without parameters: the bootstrap document.
    let res = reqwest::Client::new()
        .get(server.url("/vxml/voice"))
        .header("authorization", basic())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/voicexml+xml")
    );
    let boot = res.text().await.unwrap();
    assert!(boot.contains("session.connection.remote.uri"), "{boot}");
    if xmllint() {
        valid(&boot);
    }
    // Without credentials, or with wrong ones: 403, nothing stored.
    let params = Browser.new_call("vx-1", "+15550001111", "+18005550100");
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish();
    let (code, _) = send(
        &server.url("/vxml/voice"),
        "application/x-www-form-urlencoded",
        body.clone(),
        &[],
    )
    .await;
    assert_eq!(code, 403);
    let wrong = [("authorization", "Basic Y3ZwOndyb25n".to_owned())];
    let (code, _) = send(
        &server.url("/vxml/voice"),
        "application/x-www-form-urlencoded",
        body.clone(),
        &wrong,
    )
    .await;
    assert_eq!(code, 403);
    assert!(server.state.store().load("vx-1").await.unwrap().is_none());
    // The call: English, then a key the menu does not have (the browser's nomatch).
    let (code, doc) = send(
        &server.url("/vxml/voice"),
        "application/x-www-form-urlencoded",
        body,
        &auth,
    )
    .await;
    assert_eq!(code, 200, "{doc}");
    let (url, p) = Browser.event(&server, &doc, "vx-1", &Event::Digits("1".into()));
    let (_, menu) = Browser.post(&url, &p).await;
    let root = tree(&menu);
    let dtmf = find(&root, "one-of").map(|o| o.children.len()).unwrap_or(0);
    assert!(dtmf >= 6, "the menu's keys are the DTMF grammar: {menu}");
    let (url, p) = Browser.event(&server, &menu, "vx-1", &Event::NoMatch);
    let (_, again) = Browser.post(&url, &p).await;
    let said = find(&tree(&again), "prompt").map(text).unwrap_or_default();
    assert_eq!(said, "Sorry, that is not one of the options.", "{again}");
    // An invalid `ev`: 400, the call does not move.
    let step = submit_in(&again, "filled");
    let (code, _) = Browser.post(&format!("{step}&ev=sideways"), &vec![]).await;
    assert_eq!(code, 400);
    let state = server.state.store().load("vx-1").await.unwrap().unwrap();
    assert_eq!(state.wait, switchboard::engine::Wait::Choice);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voicemail_recorded_by_a_browser_is_kept_for_signed_in_supervisors_only() {
    use switchboard::server::admin::auth::AdminAuth;
    let db = TestDb::sqlite();
    let uploads = tempfile::tempdir().unwrap();
    // Saturday 20:00 in New York: closed, so the caller can leave a message.
    let at: jiff::Timestamp = "2026-03-08T01:00:00Z".parse().unwrap();
    let state =
        crate::server::state(demo(), &db, "recordings".into(), Some(Arc::new(move || at))).await;
    let state = Browser
        .mount(state)
        .with_uploads(uploads.path().to_owned())
        .with_admin(AdminAuth::from_setting(crate::admin_page::PASSWORD).unwrap());
    let server = Server::launch(state, None).await;
    let (_, mut doc) = Browser
        .post(
            &server.url("/vxml/voice"),
            &Browser.new_call("vx-vm", "+15550002222", "+18005550100"),
        )
        .await;
    for e in [Event::Digits("1".into()), Event::Digits("1".into())] {
        let (url, p) = Browser.event(&server, &doc, "vx-vm", &e);
        doc = Browser.post(&url, &p).await.1;
    }
    assert!(doc.contains("<record"), "at the voicemail: {doc}");
    let (url, p) = Browser.event(
        &server,
        &doc,
        "vx-vm",
        &Event::Recording {
            url: String::new(),
            seconds: 9,
        },
    );
    let (code, after) = Browser.post(&url, &p).await;
    assert_eq!(code, 200, "{after}");
    let vm = server
        .state
        .store()
        .open_voicemails(None, 10)
        .await
        .unwrap();
    assert_eq!(vm.len(), 1, "{vm:?}");
    assert_eq!(vm[0].seconds, 9);
    let path = vm[0]
        .url
        .split("/admin/recordings/")
        .nth(1)
        .expect("our own URL")
        .to_owned();
    assert_eq!(
        std::fs::read(uploads.path().join(&path)).unwrap(),
        b"RIFF-fake-audio"
    );
    // Not without a session; served with one; nothing outside the folder.
    let mut b = crate::admin_page::Browser::new(&server);
    assert_eq!(
        b.get(&format!("/admin/recordings/{path}")).await.status,
        303
    );
    b.sign_in(crate::admin_page::PASSWORD).await;
    let page = b.get(&format!("/admin/recordings/{path}")).await;
    assert_eq!((page.status, page.body.as_str()), (200, "RIFF-fake-audio"));
    assert_eq!(
        b.get("/admin/recordings/..%2F..%2Fetc%2Fpasswd")
            .await
            .status,
        404
    );
    assert_eq!(
        b.get("/admin/recordings/nothing-here.wav").await.status,
        404
    );
    // Erasing the caller deletes the recording we kept (the call has ended).
    let (code, _) = Browser
        .post(&server.url("/vxml/status?call=vx-vm"), &vec![])
        .await;
    assert_eq!(code, 204);
    let page = b.get("/admin/callers?number=%2B15550002222").await;
    let csrf = page.csrf();
    let erased = b
        .post(
            "/admin/callers/erase",
            &[
                ("csrf", csrf.as_str()),
                ("number", "+15550002222"),
                ("confirm", "+15550002222"),
            ],
        )
        .await;
    assert_eq!(erased.status, 200, "{}", erased.body);
    assert!(
        !uploads.path().join(&path).exists(),
        "the recording is gone"
    );
    assert!(
        !erased.body.contains("/admin/recordings/"),
        "not listed as kept elsewhere: {}",
        erased.body
    );
    server.stop().await;
}

/// `switchboard caller erase --uploads DIR` deletes the caller's VoiceXML
/// recordings kept there, as the admin page's erasure does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_erasure_deletes_kept_recordings_given_the_uploads_folder() {
    use crate::support::db::Database;
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::sqlite();
    let url = db.url();
    let uploads = dir.path().join("uploads");
    let at: jiff::Timestamp = "2026-03-08T01:00:00Z".parse().unwrap();
    let state =
        crate::server::state(demo(), &db, "recordings".into(), Some(Arc::new(move || at))).await;
    let server = Server::launch(Browser.mount(state).with_uploads(uploads.clone()), None).await;
    let (_, mut doc) = Browser
        .post(
            &server.url("/vxml/voice"),
            &Browser.new_call("vx-cli", "+15550004444", "+18005550100"),
        )
        .await;
    for e in [
        Event::Digits("1".into()),
        Event::Digits("1".into()),
        Event::Recording {
            url: String::new(),
            seconds: 5,
        },
    ] {
        let (u, p) = Browser.event(&server, &doc, "vx-cli", &e);
        doc = Browser.post(&u, &p).await.1;
    }
    let (code, _) = Browser
        .post(&server.url("/vxml/status?call=vx-cli"), &vec![])
        .await;
    assert_eq!(code, 204);
    server.stop().await;
    let kept: Vec<_> = std::fs::read_dir(&uploads).unwrap().collect();
    assert_eq!(kept.len(), 1, "one recording kept");
    let out = crate::support::switchboard(&[
        "caller",
        "erase",
        "+15550004444",
        "--database",
        &url,
        "--uploads",
        uploads.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_dir(&uploads).unwrap().count(),
        0,
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
