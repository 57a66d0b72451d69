//! The admin page in a real browser: Debian's headless Chromium driven
//! through ChromeDriver (WebDriver, fantoccini) on 127.0.0.1, at a phone's
//! size and a desk's: sign in, read the day, work through a voicemail and a
//! callback, close and reopen a group, see the flow diagram drawn. Screenshots
//! go to `$CARGO_TARGET_DIR/browser-screenshots/` (never committed).
//!
//! Needs `chromium` and `chromedriver` (`bash .ci/run` installs Debian's
//! `chromium` and `chromium-driver`). Without them the test says so and
//! passes, except with `CI=true`, where it fails.

use crate::admin_page::{PASSWORD, leave_work, with_admin};
use crate::support::db::TestDb;
use fantoccini::{Client, ClientBuilder, Locator};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";

/// ChromeDriver on a port of its own, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tools() -> Option<(String, String)> {
    let find = |name: &str| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(name))
                .find(|p| p.is_file())
                .map(|p| p.display().to_string())
        })
    };
    let chromium = find("chromium").or_else(|| {
        std::path::Path::new(CHROMIUM)
            .is_file()
            .then(|| CHROMIUM.to_owned())
    });
    match (chromium, find("chromedriver")) {
        (Some(c), Some(d)) => Some((c, d)),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
            "the browser tests need chromium and chromedriver (Debian: apt-get install chromium chromium-driver); with CI=true they fail rather than skip"
        ),
        _ => {
            eprintln!(
                "skipped: chromium or chromedriver is not installed (apt-get install chromium chromium-driver)"
            );
            None
        }
    }
}

async fn driver(chromedriver: &str) -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..100 {
        if reqwest::get(format!("{}/status", driver.url)).await.is_ok() {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start on {}", driver.url);
}

async fn browser(driver: &Driver, chromium: &str, profile: &std::path::Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

fn shots() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("target"));
    let dir = target.join("browser-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(shots().join(format!("{name}.png")), png).unwrap();
}

/// Click what `locator` finds and wait for the page it leads to (the old
/// page's root goes stale, the new one finishes loading).
async fn click_through(c: &Client, locator: Locator<'_>) {
    let old = c.find(Locator::Css("html")).await.unwrap();
    c.find(locator).await.unwrap().click().await.unwrap();
    for _ in 0..200 {
        if old.is_displayed().await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for _ in 0..200 {
        let ready = c
            .execute("return document.readyState;", vec![])
            .await
            .unwrap();
        if ready == "complete" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the page did not load");
}

async fn text_of(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Does the page fit the window's width (no sideways scrolling of the page)?
async fn fits(c: &Client) -> bool {
    c.execute(
        "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
        vec![],
    )
    .await
    .unwrap()
        == serde_json::Value::Bool(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_uses_the_admin_page_in_a_real_browser() {
    let Some((chromium, chromedriver)) = tools() else {
        return;
    };
    let db = TestDb::sqlite();
    let server = with_admin(&db).await;
    leave_work(&server, "CA-browser-1").await;
    server
        .state
        .store()
        .commit({
            let p = server.state.program();
            let call = switchboard::engine::Start {
                call_id: "CA-browser-2".into(),
                caller: "+15550003333".into(),
                called: "+18005550100".into(),
                history: vec![],
                language: None,
            };
            let now = server.state.now();
            let first = switchboard::engine::start(&p, call, now);
            let mut c = switchboard::store::Commit::from_step(&p, None, &first, now, None, None);
            c.callbacks.push(switchboard::store::CallbackRequest {
                group: "orders".into(),
                number: "+15550003333".into(),
            });
            c
        })
        .await
        .unwrap();
    let driver = driver(&chromedriver).await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, &chromium, profile.path()).await;
    let base = format!("http://{}", server.addr);

    let outcome = {
        let c = c.clone();
        let state = server.state.clone();
        let base = base.clone();
        async move {
            // A phone-sized window.
            c.set_window_size(390, 844).await.unwrap();
            c.goto(&format!("{base}/admin/voicemails")).await.unwrap();
            assert!(
                c.current_url()
                    .await
                    .unwrap()
                    .path()
                    .ends_with("/admin/login"),
                "asked to sign in"
            );
            shot(&c, "login-phone").await;
            let password = c.find(Locator::Css("#password")).await.unwrap();
            password.send_keys("not the password").await.unwrap();
            click_through(&c, Locator::Css("main button[type=submit]")).await;
            assert!(text_of(&c, "[role=alert]").await.contains("not right"));
            let password = c.find(Locator::Css("#password")).await.unwrap();
            password.send_keys(PASSWORD).await.unwrap();
            click_through(&c, Locator::Css("main button[type=submit]")).await;
            assert_eq!(
                c.current_url().await.unwrap().path(),
                "/admin/voicemails",
                "back where it was going"
            );

            // The voicemail inbox: a player, then mark it handled.
            assert!(
                c.find(Locator::Css("audio[src='https://api.twilio.com/rec/RE1']"))
                    .await
                    .is_ok()
            );
            assert!(fits(&c).await, "the inbox fits a phone");
            shot(&c, "voicemails-phone").await;
            click_through(&c, Locator::XPath("//button[text()='Mark handled']")).await;
            assert!(text_of(&c, "main").await.contains("No voicemail to handle"));

            // The callback queue.
            c.goto(&format!("{base}/admin/callbacks")).await.unwrap();
            assert!(text_of(&c, "main table").await.contains("+15550003333"));
            assert!(fits(&c).await, "the callback queue fits a phone");
            click_through(&c, Locator::XPath("//button[text()='Mark called back']")).await;
            assert!(
                text_of(&c, "main")
                    .await
                    .contains("No callback request is open")
            );

            // Today, then close a group and open it again.
            c.goto(&format!("{base}/admin")).await.unwrap();
            assert!(text_of(&c, ".figures").await.contains("live calls now"));
            assert!(fits(&c).await, "today fits a phone");
            shot(&c, "today-phone").await;
            c.find(Locator::Css("#group option[value=general]"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            c.find(Locator::Css("#until"))
                .await
                .unwrap()
                .send_keys("2h")
                .await
                .unwrap();
            c.find(Locator::Css("input[name='message:en-US']"))
                .await
                .unwrap()
                .send_keys("Closed for a team meeting.")
                .await
                .unwrap();
            click_through(&c, Locator::XPath("//button[text()='Close the group']")).await;
            let closures = text_of(&c, "#closures + .scroll table").await;
            assert!(
                closures.contains("general") && closures.contains("Closed for a team meeting."),
                "{closures}"
            );
            let now = state.now();
            assert!(
                state
                    .store()
                    .closures(now)
                    .await
                    .unwrap()
                    .closing("general", now)
                    .is_some()
            );
            click_through(&c, Locator::XPath("//button[text()='Open general again']")).await;
            assert!(
                text_of(&c, "main")
                    .await
                    .contains("No group is closed by hand.")
            );

            // The flow diagram, drawn, on a desk-sized window too.
            c.set_window_size(1280, 900).await.unwrap();
            c.goto(&format!("{base}/admin/flow?flow=service&period=week"))
                .await
                .unwrap();
            let drawn = c
            .execute("const i = document.querySelector('.diagram img'); return i.complete && i.naturalWidth > 0;", vec![])
            .await
            .unwrap();
            assert_eq!(drawn, serde_json::Value::Bool(true), "the diagram loaded");
            assert!(text_of(&c, "main table").await.contains("service.billing"));
            shot(&c, "flow-desk").await;

            // Signing out ends the session in this browser.
            click_through(&c, Locator::XPath("//button[text()='Sign out']")).await;
            c.goto(&format!("{base}/admin")).await.unwrap();
            assert!(
                c.current_url()
                    .await
                    .unwrap()
                    .path()
                    .ends_with("/admin/login")
            );
        }
    };
    // Close the browser even when an assertion failed.
    let result = tokio::spawn(outcome).await;
    let _ = c.close().await;
    server.stop().await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}
