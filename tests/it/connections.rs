//! Connections as a careless or hostile client holds them, on a real server
//! on 127.0.0.1:0 spoken to over raw sockets: connections waiting for a
//! request are closed after the idle timeout, stalled headers after the
//! header timeout; at the cap the idlest connection makes room for a new
//! signed call while a request in flight is never cut; shutting down lets a
//! request in flight finish; `switchboard serve` raises its open-file limit
//! and takes the limits from its flags.

use crate::server::{Server, TOKEN, call, encode, post};
use crate::support::serving::Serving;
use std::time::Duration;
use switchboard::provider::twilio::signature::{Algorithm, sign};
use switchboard::server::Limits;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long "closed" may take on a loaded machine: far more than any
/// timeout these tests set, far less than forever.
const WITHIN: Duration = Duration::from_secs(10);

/// A server whose connections get these timeouts (in milliseconds) and
/// cap, over a SQLite file in the directory returned with it.
async fn start(header_ms: u64, idle_ms: u64, max_connections: usize) -> (TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        header_timeout: Duration::from_millis(header_ms),
        idle_timeout: Duration::from_millis(idle_ms),
        max_connections,
    };
    let server = Server::with_limits(&dir.path().join("calls.db"), limits).await;
    (dir, server)
}

async fn connect(server: &Server) -> TcpStream {
    TcpStream::connect(server.addr).await.unwrap()
}

/// Read one response: its status line and its (`Content-Length`) body.
async fn response(s: &mut TcpStream) -> (String, String) {
    let mut got = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).into_owned();
            let length = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if got.len() >= end + 4 + length {
                let body = String::from_utf8_lossy(&got[end + 4..end + 4 + length]).into_owned();
                let status = head.lines().next().unwrap_or("").to_owned();
                return (status, body);
            }
        }
        let n = tokio::time::timeout(WITHIN, s.read(&mut chunk))
            .await
            .expect("an answer in time")
            .unwrap();
        assert!(
            n > 0,
            "closed before answering: {:?}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&chunk[..n]);
    }
}

/// `GET /healthz` on `s`, kept alive; it must answer.
async fn healthz(s: &mut TcpStream) {
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let (status, body) = response(s).await;
    assert_eq!(
        (status.as_str(), body.as_str()),
        ("HTTP/1.1 200 OK", "ok\n")
    );
}

/// The server closes `s` (end of stream, or a reset) within [`WITHIN`].
async fn assert_closed(s: &mut TcpStream, what: &str) {
    let mut buf = [0u8; 256];
    match tokio::time::timeout(WITHIN, s.read(&mut buf)).await {
        Ok(Ok(0) | Err(_)) => {}
        Ok(Ok(n)) => panic!(
            "{what}: {:?} instead of closing",
            String::from_utf8_lossy(&buf[..n])
        ),
        Err(_) => panic!("{what}: still open after {WITHIN:?}"),
    }
}

/// A signed new call whose headers and half its body have been sent, and
/// which the server is serving (it asked for the rest: `100 Continue`):
/// the connection and the rest of the body.
async fn call_in_flight(server: &Server, sid: &str) -> (TcpStream, Vec<u8>) {
    let url = server.url("/twilio/voice");
    let params = call(sid);
    let pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    let body = encode(&params).into_bytes();
    let head = format!(
        "POST /twilio/voice HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: {}\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        server.addr,
        sign(Algorithm::Sha1, TOKEN, &url, &pairs),
        body.len()
    );
    let mut s = connect(server).await;
    s.write_all(head.as_bytes()).await.unwrap();
    let (status, _) = response(&mut s).await;
    assert_eq!(status, "HTTP/1.1 100 Continue");
    let (sent, rest) = body.split_at(body.len() / 2);
    s.write_all(sent).await.unwrap();
    (s, rest.to_vec())
}

/// Send the rest of a call in flight: it must be answered with TwiML.
async fn finish(mut s: TcpStream, rest: &[u8]) {
    s.write_all(rest).await.unwrap();
    let (status, doc) = response(&mut s).await;
    assert_eq!(status, "HTTP/1.1 200 OK", "{doc}");
    assert!(doc.contains("<Response>"), "{doc}");
}

/// On a server with these timeouts, a new connection and one kept alive
/// after a request are each sent `sent` (perhaps nothing), then nothing
/// more: the server must close both.
async fn assert_closes_both(header_ms: u64, idle_ms: u64, sent: &[u8]) {
    let (_dir, server) = start(header_ms, idle_ms, 64).await;
    let mut new = connect(&server).await;
    new.write_all(sent).await.unwrap();
    let mut kept_alive = connect(&server).await;
    healthz(&mut kept_alive).await;
    kept_alive.write_all(sent).await.unwrap();
    let sent = String::from_utf8_lossy(sent);
    assert_closed(&mut new, &format!("a new connection sent {sent:?}")).await;
    assert_closed(&mut kept_alive, &format!("a kept-alive one sent {sent:?}")).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_waiting_for_a_request_are_closed_after_the_idle_timeout() {
    assert_closes_both(60_000, 300, b"").await;
}

/// Half a request line, then nothing (slowloris).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_whose_headers_stall_are_closed_after_the_header_timeout() {
    assert_closes_both(300, 60_000, b"POST /twilio/vo").await;
}

/// Each request starts the idle timeout again: a connection in use is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_in_use_outlives_its_idle_timeout() {
    let (_dir, server) = start(60_000, 3_000, 64).await;
    let mut s = connect(&server).await;
    // Ten requests half a second apart: five seconds, on one connection.
    for _ in 0..10 {
        healthz(&mut s).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_the_idlest_connection_makes_room_for_a_call_and_none_in_flight_is_cut() {
    let (_dir, server) = start(60_000, 60_000, 8).await;
    // The oldest connection, busy with a call whose body is slow to come.
    let (busy, rest) = call_in_flight(&server, "CA-slow").await;
    // Seven more, idle after a request each, oldest first: eight, the cap.
    let mut idle = Vec::new();
    for _ in 0..7 {
        let mut s = connect(&server).await;
        healthz(&mut s).await;
        idle.push(s);
    }
    // A new signed call on a ninth connection is answered.
    let (code, doc) = post(&server.url("/twilio/voice"), &call("CA-new"), None).await;
    assert_eq!(code, 200, "{doc}");
    assert!(doc.contains("<Response>"), "{doc}");
    // The connection idle longest made room; the others still answer.
    assert_closed(&mut idle[0], "the connection idle longest").await;
    for s in &mut idle[1..] {
        healthz(s).await;
    }
    // The busy one was not cut: its call is answered once its body is in.
    finish(busy, &rest).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_closes_idle_connections_and_finishes_a_request_in_flight() {
    let (_dir, server) = start(60_000, 60_000, 64).await;
    let (busy, rest) = call_in_flight(&server, "CA-last").await;
    let mut idle = connect(&server).await;
    healthz(&mut idle).await;
    // Half a first request, given time to be read: hyper's own graceful
    // shutdown waits for the rest of it (for ever, before this fix).
    let mut half = connect(&server).await;
    half.write_all(b"GET /heal").await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopping = tokio::spawn(server.stop());
    assert_closed(&mut idle, "an idle connection at shutdown").await;
    assert_closed(&mut half, "half a request at shutdown").await;
    finish(busy, &rest).await;
    tokio::time::timeout(WITHIN, stopping)
        .await
        .expect("the server stops once the call is answered")
        .unwrap();
}

/// `switchboard serve` as an admin starts it, from a shell whose soft
/// open-file limit is the usual 1,024: it raises the limit to the hard one
/// and logs both, and its connections follow `--idle-timeout` and
/// `SWITCHBOARD_MAX_CONNECTIONS`.
#[test]
fn serve_raises_the_open_file_limit_and_takes_its_connection_limits_from_flags() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("s.db").display());
    let mut command = std::process::Command::new("bash");
    command
        .arg("-c")
        .arg(r#"ulimit -Sn 1024 && exec "$0" serve --listen 127.0.0.1:0 --database "$1" --idle-timeout 300ms"#)
        .arg(env!("CARGO_BIN_EXE_switchboard"))
        .arg(&db)
        .env("TWILIO_AUTH_TOKEN", TOKEN)
        .env("SWITCHBOARD_MAX_CONNECTIONS", "3");
    let server = Serving::start(command);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.pid())).unwrap();
    let open_files: Vec<&str> = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap()
        .split_whitespace()
        .skip(3)
        .take(2)
        .collect();
    assert_eq!(
        open_files[0], open_files[1],
        "soft raised to hard: {limits}"
    );
    // An idle connection is closed after the flag's 300 ms.
    let mut s = std::net::TcpStream::connect(&server.addr).unwrap();
    s.set_read_timeout(Some(WITHIN)).unwrap();
    match s.read(&mut [0u8; 16]) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("an idle connection, after {WITHIN:?}: {other:?}"),
    }
    let (status, logs) = server.stop();
    assert!(status.success(), "{logs}");
    let hard = open_files[1];
    let told = if hard == "1024" {
        "open-file limit 1024 (the hard limit is 1024)".to_owned()
    } else {
        format!("open-file limit raised from 1024 to the hard limit, {hard}")
    };
    assert!(logs.contains(&told), "{logs}");
    assert!(
        logs.contains("headers within 10s, idle ones closed after 300ms, at most 3 open"),
        "{logs}"
    );
}

#[test]
fn serve_refuses_connection_limits_that_are_not_ones() {
    for (flag, value) in [
        ("--idle-timeout", "0s"),
        ("--header-timeout", "soon"),
        ("--max-connections", "0"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["serve", flag, value])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(flag) && err.contains(value),
            "{flag} {value}: {err}"
        );
    }
}
