//! What only PostgreSQL has: TLS, a server that cannot be reached, a
//! database another Switchboard migrated, and the admin commands on it.

use crate::support::pg::PgDb;
use std::process::Command;
use switchboard::store::{Store, StoreError};

fn switchboard(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("SWITCHBOARD_DATABASE")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `url` with `param` added to its query.
fn with_param(url: &str, param: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{param}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_require_connects_over_tls() {
    let Some(pg) = PgDb::create().await else {
        return;
    };
    let store = Store::open(&with_param(&pg.url, "sslmode=require"))
        .await
        .unwrap();
    store.versions(jiff::Timestamp::now()).await.unwrap();
    let admin = sqlx::PgPool::connect(&pg.url).await.unwrap();
    let (ours, over_tls): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE s.ssl)
         FROM pg_stat_activity a JOIN pg_stat_ssl s ON s.pid = a.pid
         WHERE a.application_name = 'switchboard' AND a.datname = $1",
    )
    .bind(&pg.name)
    .fetch_one(&admin)
    .await
    .unwrap();
    assert!(ours > 0, "the store holds connections");
    assert_eq!(over_tls, ours, "every one of them over TLS");
    admin.close().await;
    store.close().await;
}

#[tokio::test]
async fn an_unreachable_server_is_named_without_its_password() {
    // A port nothing listens on.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let url = format!("postgres://app:hunter2@127.0.0.1:{port}/calls");
    let e = Store::open(&url).await.unwrap_err();
    assert!(matches!(e, StoreError::Connect { .. }), "{e:?}");
    let message = e.to_string();
    for part in [
        &format!("127.0.0.1:{port}"),
        "database calls",
        "user app",
        "--database",
        "SWITCHBOARD_DATABASE",
    ] {
        assert!(message.contains(part), "{part}: {message}");
    }
    assert!(!message.contains("hunter2"), "{message}");
    let (code, out, err) = switchboard(&["migrate", "--database", &url]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("Connection refused"), "{err}");
    assert!(!format!("{out}{err}").contains("hunter2"), "{out}{err}");
    let (code, out, err) = switchboard(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database",
        &url,
        "--allow-unsigned",
    ]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(!format!("{out}{err}").contains("hunter2"), "{out}{err}");
}

#[tokio::test]
async fn a_database_a_newer_switchboard_migrated_is_refused_with_a_hint() {
    let Some(pg) = PgDb::create().await else {
        return;
    };
    Store::open(&pg.url).await.unwrap().close().await;
    let admin = sqlx::PgPool::connect(&pg.url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (9999, 'from the future', true, '\\x00', 1)",
    )
    .execute(&admin)
    .await
    .unwrap();
    admin.close().await;
    let e = Store::open(&pg.url).await.unwrap_err();
    assert!(matches!(e, StoreError::Newer(9999)), "{e:?}");
    assert!(e.to_string().contains("newer Switchboard"), "{e}");
    let (code, _, err) = switchboard(&["migrate", "--database", &pg.url]);
    assert_eq!(code, 2);
    assert!(err.contains("restore a backup"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_then_versions_list_what_serve_stored() {
    let Some(pg) = PgDb::create().await else {
        return;
    };
    let (code, out, err) = switchboard(&["migrate", "--database", &pg.url]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("the schema is up to date"), "{out}");
    let (code, out, _) = switchboard(&["versions", "--database", &pg.url]);
    assert_eq!(code, 0);
    assert!(out.contains("no flow version stored yet"), "{out}");
    // A server stores its version as it starts; one call on it, still live.
    let mut serving = crate::support::serving::Serving::on(
        std::path::Path::new("flows"),
        pg.url.as_str(),
        crate::server::TOKEN,
        true,
    );
    let base = serving.url("");
    let (code, _) = crate::server::post(
        &format!("{base}/twilio/voice"),
        &crate::server::call("CA-v1"),
        None,
    )
    .await;
    assert_eq!(code, 200);
    serving.kill();
    let (code, out, _) = switchboard(&["versions", "--database", &pg.url, "--format", "json"]);
    assert_eq!(code, 0);
    let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
    let set = switchboard::flow::load_dir(std::path::Path::new("flows")).unwrap();
    let version = switchboard::compile::compile(&set).program.unwrap().version;
    assert_eq!(listed[0]["version"], version.as_str(), "{out}");
    assert_eq!(
        (listed[0]["calls"].as_u64(), listed[0]["live"].as_u64()),
        (Some(1), Some(1))
    );
    let (_, text, _) = switchboard(&["versions", "--database", &pg.url]);
    assert!(text.contains(&version), "{text}");
}

/// A password in `--database` never reaches the banner or the log.
#[tokio::test]
async fn the_banner_and_log_never_show_the_password() {
    use std::io::{BufRead, BufReader, Read};
    let Some(pg) = PgDb::create().await else {
        return;
    };
    // This machine's server trusts local users, so any password connects.
    let url = pg
        .url
        .replacen("postgres://postgres@", "postgres://postgres:hunter2@", 1);
    assert!(url.contains("hunter2"), "{url}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &url])
        .env("TWILIO_AUTH_TOKEN", "12345")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    while !banner.contains("database") {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        banner.push_str(&line);
    }
    let _ = child.kill();
    let _ = child.wait();
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(banner.contains("postgres://postgres:***@"), "{banner}");
    assert!(
        !format!("{banner}{log}").contains("hunter2"),
        "{banner}{log}"
    );
}
