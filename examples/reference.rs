//! The issue's reference servers, to calibrate a machine before reading
//! `switchboard loadtest` figures: the same load against a server that does
//! (almost) nothing tells how fast this machine's loopback, scheduler and
//! disk are today, so figures from different machines can be compared.
//!
//! - `--mode constant`: a minimal axum server answering every POST with one
//!   constant TwiML `<Gather>` (no state, no signature check);
//! - `--mode upsert`: the same plus one SQLite upsert per request (WAL,
//!   `synchronous=NORMAL`, a pool of `--pool` connections).
//!
//! The `<Gather>` points back at this server, so `switchboard loadtest`
//! walks each call for `--max-steps` callbacks, as it does against
//! `switchboard serve`:
//!
//! ```sh
//! cargo build --release --examples
//! taskset -c 0 target/release/examples/reference --mode constant --listen 127.0.0.1:18081 &
//! taskset -c 1 target/release/switchboard loadtest --target http://127.0.0.1:18081 \
//!     --calls 5000 --concurrency 64 --token 12345
//! ```
//!
//! The figures for this project's machines are in `docs/performance.md`.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::serve::ListenerExt;
use clap::{Parser, ValueEnum};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::net::SocketAddr;
use std::sync::Arc;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Mode {
    /// Constant TwiML, nothing else.
    Constant,
    /// Constant TwiML after one SQLite upsert keyed by the CallSid.
    Upsert,
}

/// A reference server for calibrating load-test figures.
#[derive(Parser, Debug)]
struct Args {
    /// What each request does.
    #[arg(long, value_enum, default_value_t = Mode::Constant)]
    mode: Mode,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:18081")]
    listen: SocketAddr,
    /// SQLite database for `--mode upsert` (created; delete it between runs).
    #[arg(long, default_value = "sqlite:///tmp/reference.db")]
    database: String,
    /// Connections in the pool for `--mode upsert`.
    #[arg(long, default_value_t = 1)]
    pool: u32,
}

struct App {
    twiml: String,
    pool: Option<sqlx::SqlitePool>,
}

async fn answer(State(app): State<Arc<App>>, body: axum::body::Bytes) -> impl IntoResponse {
    if let Some(pool) = &app.pool {
        let sid = form_urlencoded::parse(&body)
            .find(|(k, _)| k == "CallSid")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let upsert = sqlx::query(
            "INSERT INTO hits (call_sid, n) VALUES (?1, 1)
             ON CONFLICT (call_sid) DO UPDATE SET n = n + 1",
        )
        .bind(sid)
        .execute(pool)
        .await;
        if let Err(e) = upsert {
            return (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain")],
                e.to_string(),
            );
        }
    }
    (
        axum::http::StatusCode::OK,
        [(header::CONTENT_TYPE, "text/xml")],
        app.twiml.clone(),
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let pool = match args.mode {
        Mode::Constant => None,
        Mode::Upsert => {
            let options = args
                .database
                .parse::<SqliteConnectOptions>()?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal);
            let pool = SqlitePoolOptions::new()
                .max_connections(args.pool)
                .connect_with(options)
                .await?;
            sqlx::query(
                "CREATE TABLE IF NOT EXISTS hits (call_sid TEXT PRIMARY KEY, n INTEGER NOT NULL)",
            )
            .execute(&pool)
            .await?;
            Some(pool)
        }
    };
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    let twiml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="http://{addr}/step" numDigits="1"><Say>Press a key.</Say></Gather></Response>"#
    );
    let app = Router::new()
        .fallback(answer)
        .with_state(Arc::new(App { twiml, pool }));
    println!("reference server ({:?}) on http://{addr}", args.mode);
    // As `switchboard serve` does, so the two differ only in their work.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}
