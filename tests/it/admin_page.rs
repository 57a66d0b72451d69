//! The admin page as a browser and an attacker reach it over HTTP: no route
//! without a session, the login form's CSRF token and slowdown, every form's
//! CSRF token, closures that reach new calls, the voicemail inbox and the
//! callback queue, the flow diagram, a caller's export and erasure behind a
//! confirmation, and pages that hold nothing from the internet and no
//! sensitive value.

use crate::server::{Server, answer, to_the_menu};
use crate::support::db::TestDb;
use crate::support::open_hours;
use std::collections::BTreeMap;
use switchboard::server::admin::auth::AdminAuth;

pub(crate) const PASSWORD: &str = "correct horse battery";

pub(crate) async fn with_admin(db: &TestDb) -> Server {
    Server::serving_with(std::path::Path::new("flows"), db, Some(open_hours()), |s| {
        s.with_admin(AdminAuth::from_setting(PASSWORD).unwrap())
    })
    .await
}

/// A browser: its cookies, no redirects followed.
pub(crate) struct Browser {
    base: String,
    client: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

pub(crate) struct Page {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: String,
}

impl Page {
    pub(crate) fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a form with a CSRF token");
        let rest = &self.body[at + 19..];
        rest[..rest.find('"').unwrap()].to_owned()
    }

    fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or("")
    }
}

impl Browser {
    pub(crate) fn new(server: &Server) -> Browser {
        Browser {
            base: format!("http://{}", server.addr),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let res = req
            .header("cookie", cookie.join("; "))
            .send()
            .await
            .unwrap();
        for c in res.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap();
            let (kv, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            if v.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        Page {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: res.text().await.unwrap(),
        }
    }

    pub(crate) async fn get(&mut self, path: &str) -> Page {
        let req = self.client.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    pub(crate) async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(req).await
    }

    pub(crate) async fn sign_in(&mut self, password: &str) -> Page {
        let form = self.get("/admin/login").await;
        let csrf = form.csrf();
        self.post(
            "/admin/login",
            &[("csrf", &csrf), ("password", password), ("next", "/admin")],
        )
        .await
    }
}

const PRIVATE_GETS: &[&str] = &[
    "/admin",
    "/admin/flow",
    "/admin/flow.svg",
    "/admin/voicemails",
    "/admin/callbacks",
    "/admin/callers?number=%2B15550001111",
];

const PRIVATE_POSTS: &[&str] = &[
    "/admin/voicemails/1/done",
    "/admin/callbacks/1/done",
    "/admin/closures",
    "/admin/closures/general/open",
    "/admin/callers/export",
    "/admin/callers/erase",
    "/admin/logout",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_admin_route_is_reachable_without_a_session() {
    let db = TestDb::sqlite();
    let server = with_admin(&db).await;
    let mut b = Browser::new(&server);
    for path in PRIVATE_GETS {
        let p = b.get(path).await;
        assert_eq!(p.status, 303, "{path}");
        assert!(
            p.location().starts_with("/admin/login?next="),
            "{path}: {}",
            p.location()
        );
    }
    for path in PRIVATE_POSTS {
        let p = b
            .post(
                path,
                &[
                    ("csrf", "00"),
                    ("number", "+15550001111"),
                    ("confirm", "+15550001111"),
                ],
            )
            .await;
        assert_eq!(p.status, 401, "{path}");
    }
    // A forged session cookie is no session.
    b.cookies
        .insert("switchboard_admin".into(), "99999999999.00.00".into());
    assert_eq!(b.get("/admin").await.status, 303);
    server.stop().await;

    let plain = Server::serving(std::path::Path::new("flows"), &db.fresh().await, None).await;
    let mut b = Browser::new(&plain);
    let p = b.get("/admin").await;
    assert_eq!(p.status, 404);
    assert!(p.body.contains("SWITCHBOARD_ADMIN_PASSWORD"), "{}", p.body);
    assert_eq!(b.get("/admin/login").await.status, 404);
    plain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_takes_the_forms_token_the_password_and_slows_down_guessing() {
    let db = TestDb::sqlite();
    let server = with_admin(&db).await;
    let mut b = Browser::new(&server);
    let form = b.get("/admin/login").await;
    assert_eq!(form.status, 200);
    let login_cookie = form
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        login_cookie.contains("HttpOnly") && login_cookie.contains("SameSite=Strict"),
        "{login_cookie}"
    );
    let csrf = form.csrf();

    // A login form posted from elsewhere (no token bound to our cookie).
    let mut stranger = Browser::new(&server);
    let p = stranger
        .post("/admin/login", &[("csrf", &csrf), ("password", PASSWORD)])
        .await;
    assert_eq!(p.status, 403);

    for i in 0..5 {
        let p = b
            .post("/admin/login", &[("csrf", &csrf), ("password", "guess")])
            .await;
        assert_eq!(p.status, 401, "try {i}");
        assert!(p.body.contains("not right"));
    }
    let p = b
        .post("/admin/login", &[("csrf", &csrf), ("password", PASSWORD)])
        .await;
    assert_eq!(
        p.status, 429,
        "after five failures, even the right password waits"
    );
    assert!(p.headers.get("retry-after").is_some());
    assert!(!b.cookies.contains_key("switchboard_admin"));

    // Another client is not slowed down by them.
    let server2 = with_admin(&db.fresh().await).await;
    let mut fresh = Browser::new(&server2);
    let p = fresh.sign_in(PASSWORD).await;
    assert_eq!((p.status, p.location()), (303, "/admin"));
    let session = p
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        session.starts_with("switchboard_admin=")
            && session.contains("HttpOnly")
            && session.contains("SameSite=Strict")
            && session.contains("Path=/admin"),
        "{session}"
    );
    let home = fresh.get("/admin").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("live calls now"));
    for (h, want) in [
        ("cache-control", "no-store"),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
    ] {
        assert_eq!(home.headers.get(h).unwrap(), want);
    }
    assert!(
        home.headers
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let out = fresh.post("/admin/logout", &[("csrf", &home.csrf())]).await;
    assert_eq!(out.status, 303);
    assert_eq!(fresh.get("/admin").await.status, 303, "signed out");
    server.stop().await;
    server2.stop().await;
}

/// A demo call that leaves a voicemail and asks for a callback, after
/// entering an account number (a sensitive entry): the number entered.
pub(crate) async fn leave_work(server: &Server, sid: &str) -> &'static str {
    let base = format!("http://{}", server.addr);
    let mut doc = to_the_menu(&base, sid).await;
    // Billing: 2, the account number; no answer in billing, then none in
    // general, where it overflowed; the busy menu's 1 leaves a voicemail.
    for params in [
        &[("Digits", "2")][..],
        &[("Digits", "48213377#")],
        &[("QueueResult", "leave")],
        &[("QueueResult", "leave")],
        &[("Digits", "1")],
        &[
            ("RecordingUrl", "https://api.twilio.com/rec/RE1"),
            ("RecordingDuration", "9"),
        ],
    ] {
        doc = answer(&base, sid, &doc, params).await.1;
    }
    "48213377"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_works_through_voicemails_callbacks_closures_and_callers() {
    let db = TestDb::sqlite();
    let server = with_admin(&db).await;
    let secret = leave_work(&server, "CA-admin-1").await;
    let store = server.state.store();
    store
        .commit({
            let p = server.state.program();
            let call = switchboard::engine::Start {
                call_id: "CA-admin-2".into(),
                caller: "+15550002222".into(),
                called: "+18005550100".into(),
                history: vec![],
                language: None,
            };
            let now = jiff::Timestamp::now();
            let first = switchboard::engine::start(&p, call, now);
            let mut c = switchboard::store::Commit::from_step(&p, None, &first, now, None, None);
            c.callbacks.push(switchboard::store::CallbackRequest {
                group: "billing".into(),
                number: "+15550002222".into(),
            });
            c
        })
        .await
        .unwrap();
    let mut b = Browser::new(&server);
    assert_eq!(b.sign_in(PASSWORD).await.status, 303);

    let inbox = b.get("/admin/voicemails").await;
    assert!(
        inbox.body.contains("https://api.twilio.com/rec/RE1"),
        "{}",
        inbox.body
    );
    assert!(inbox.body.contains("<audio"));
    let id = store.open_voicemails(None, 10).await.unwrap()[0].id;
    let path = format!("/admin/voicemails/{id}/done");
    let refused = b.post(&path, &[("csrf", "not-the-token")]).await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        store.open_voicemails(None, 10).await.unwrap().len(),
        1,
        "a forged form changes nothing"
    );
    let done = b.post(&path, &[("csrf", &inbox.csrf())]).await;
    assert_eq!((done.status, done.location()), (303, "/admin/voicemails"));
    assert!(store.open_voicemails(None, 10).await.unwrap().is_empty());
    assert!(
        b.get("/admin/voicemails")
            .await
            .body
            .contains("No voicemail to handle")
    );

    let queue = b.get("/admin/callbacks?group=billing").await;
    assert!(queue.body.contains("+15550002222"), "{}", queue.body);
    let id = store.open_callbacks(Some("billing"), 10).await.unwrap()[0].id;
    b.post(
        &format!("/admin/callbacks/{id}/done"),
        &[("csrf", &queue.csrf())],
    )
    .await;
    assert!(
        store
            .open_callbacks(Some("billing"), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let unknown = b
        .post("/admin/callbacks/99999/done", &[("csrf", &queue.csrf())])
        .await;
    assert_eq!(unknown.status, 404);

    let home = b.get("/admin").await;
    let csrf = home.csrf();
    let bad = b
        .post(
            "/admin/closures",
            &[
                ("csrf", &csrf),
                ("group", "general"),
                ("until", "yesterday"),
            ],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("is not a time"));
    // Every field's problem beside its field, what was typed kept, nothing stored.
    let bad = b
        .post(
            "/admin/closures",
            &[
                ("csrf", &csrf),
                ("group", "genral"),
                ("until", "2020-01-01T00:00:00Z"),
                ("message:en-US", "Back after the drill."),
                ("message:zh-CN", " "),
            ],
        )
        .await;
    assert_eq!(bad.status, 400);
    let beside = |id: &str, words: &str| {
        let at = bad
            .body
            .find(&format!("id=\"{id}-problem\""))
            .is_some_and(|i| {
                bad.body[i..]
                    .split("</p>")
                    .next()
                    .is_some_and(|p| p.contains(words))
            });
        assert!(at, "no {words:?} beside {id}: {}", bad.body);
    };
    beside("group", "did you mean `general`?");
    beside("until", "not in the future");
    assert!(bad.body.contains(r#"value="2020-01-01T00:00:00Z""#));
    assert!(bad.body.contains(r#"value="Back after the drill.""#));
    assert!(bad.body.contains(r#"aria-invalid="true""#));
    assert!(store.closures(server.state.now()).await.unwrap().is_empty());
    let not_closed = b
        .post("/admin/closures/general/open", &[("csrf", &csrf)])
        .await;
    assert_eq!(not_closed.status, 404, "{}", not_closed.body);
    let closed = b
        .post(
            "/admin/closures",
            &[
                ("csrf", &csrf),
                ("group", "general"),
                ("until", "2h"),
                ("message:en-US", "Closed for a fire drill."),
            ],
        )
        .await;
    assert_eq!(closed.status, 303, "{}", closed.body);
    let now = server.state.now();
    assert!(
        store
            .closures(now)
            .await
            .unwrap()
            .closing("general", now)
            .is_some()
    );
    // The page refreshed this instance's closures at once.
    let base = format!("http://{}", server.addr);
    let menu = to_the_menu(&base, "CA-admin-3").await;
    let doc = answer(&base, "CA-admin-3", &menu, &[("Digits", "0")])
        .await
        .1;
    assert!(
        doc.contains("Closed for a fire drill.") && !doc.contains("<Enqueue"),
        "{doc}"
    );
    let home = b.get("/admin").await;
    assert!(home.body.contains("Closed for a fire drill."));
    b.post("/admin/closures/general/open", &[("csrf", &csrf)])
        .await;
    assert!(store.closures(now).await.unwrap().is_empty());

    let flow = b.get("/admin/flow?flow=service&period=week").await;
    assert_eq!(flow.status, 200);
    assert!(
        flow.body.contains("service.billing"),
        "the funnel lists the node callers reached"
    );
    let svg = b.get("/admin/flow.svg?flow=service&period=week").await;
    assert_eq!(svg.headers.get("content-type").unwrap(), "image/svg+xml");
    assert!(svg.body.contains("<svg") && svg.body.contains("reached"));

    let lookup = b.get("/admin/callers?number=%2B15550001111").await;
    assert!(
        lookup.body.contains("Erase +15550001111"),
        "{}",
        lookup.body
    );
    let csrf = lookup.csrf();
    let export = b
        .post(
            "/admin/callers/export",
            &[("csrf", &csrf), ("number", "+15550001111")],
        )
        .await;
    assert_eq!(export.status, 200);
    assert!(
        export
            .headers
            .get("content-disposition")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let doc: serde_json::Value = serde_json::from_str(&export.body).unwrap();
    assert_eq!(doc["number"], "+15550001111");
    let unconfirmed = b
        .post(
            "/admin/callers/erase",
            &[
                ("csrf", &csrf),
                ("number", "+15550001111"),
                ("confirm", "+1555000111"),
            ],
        )
        .await;
    assert_eq!(unconfirmed.status, 400);
    let beside = unconfirmed
        .body
        .split(r#"id="confirm-problem""#)
        .nth(1)
        .and_then(|rest| rest.split("</p>").next());
    assert!(
        beside.is_some_and(|p| p.contains("not the same number")),
        "the problem sits beside the confirmation box: {}",
        unconfirmed.body
    );
    assert!(
        store.export_caller("+15550001111").await.unwrap().is_some(),
        "nothing erased"
    );
    let nothing = b
        .post(
            "/admin/callers/erase",
            &[("csrf", &csrf), ("number", " "), ("confirm", " ")],
        )
        .await;
    assert_eq!(nothing.status, 400);
    assert!(
        nothing.body.contains("No number to erase"),
        "{}",
        nothing.body
    );
    let erased = b
        .post(
            "/admin/callers/erase",
            &[
                ("csrf", &csrf),
                ("number", "+15550001111"),
                ("confirm", "+15550001111"),
            ],
        )
        .await;
    assert_eq!(erased.status, 200, "{}", erased.body);
    assert!(erased.body.contains("Erased +15550001111"));

    // Nothing from the internet, and no sensitive value, on any page.
    for path in [
        "/admin",
        "/admin/flow",
        "/admin/voicemails",
        "/admin/callbacks",
        "/admin/callers",
        "/admin/login",
    ] {
        let p = b.get(path).await;
        assert!(!p.body.contains("<script"), "{path}");
        for (i, _) in p.body.match_indices("http") {
            let url = &p.body[i..p.body.len().min(i + 40)];
            assert!(
                url.starts_with("https://api.twilio.com/rec/") || url.starts_with("http-equiv"),
                "{path} loads {url}"
            );
        }
        assert!(!p.body.contains(secret), "{path} shows the account number");
    }
    server.stop().await;
}
