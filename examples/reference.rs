//! The issue's reference servers, to calibrate a machine before reading
//! `switchboard loadtest` figures: the same load against a server that does
//! (almost) nothing tells how fast this machine's loopback, scheduler and
//! disk are today, so figures from different machines can be compared.
//!
//! - `--mode constant`: a minimal axum server answering every POST with one
//!   constant TwiML `<Gather>` (no state, no signature check);
//! - `--mode upsert`: the same plus one SQLite upsert per request (WAL,
//!   `synchronous=NORMAL`, a pool of `--pool` connections, default 1);
//! - `--mode pg-upsert`: the same plus one PostgreSQL `INSERT … ON CONFLICT
//!   (call_sid) DO UPDATE` per request through a pool of `--pool`
//!   connections (default 8), durable as the server is configured
//!   (`synchronous_commit` left as it is, as `switchboard serve` leaves it).
//!   `--database postgres://USER@HOST:PORT/DB` is required; the database
//!   must exist, its one table (`hits`) is created if missing.
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
//! `scripts/compare.sh` runs `--mode upsert` beside `switchboard serve` on
//! SQLite, `scripts/compare-pg.sh` `--mode pg-upsert` beside it on
//! PostgreSQL (one instance and two). The figures for this project's
//! machines are in `docs/performance.md`.

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::serve::ListenerExt;
use clap::{Parser, ValueEnum};
use sqlx::postgres::PgPoolOptions;
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
    /// Constant TwiML after one PostgreSQL upsert keyed by the CallSid.
    PgUpsert,
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
    /// The database: for `--mode upsert` a SQLite file (created; delete it
    /// between runs; default sqlite:///tmp/reference.db), for `--mode
    /// pg-upsert` postgres://USER@HOST:PORT/DB (required; use a fresh
    /// database for each run).
    #[arg(long)]
    database: Option<String>,
    /// Connections in the pool (default: 1 for `--mode upsert`, 8 for
    /// `--mode pg-upsert`).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pool: Option<u32>,
}

/// The database each request upserts into, if any.
enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

struct App {
    twiml: String,
    db: Option<Db>,
}

async fn answer(State(app): State<Arc<App>>, body: axum::body::Bytes) -> impl IntoResponse {
    if let Some(db) = &app.db {
        let sid = form_urlencoded::parse(&body)
            .find(|(k, _)| k == "CallSid")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let upsert = match db {
            Db::Sqlite(pool) => sqlx::query(
                "INSERT INTO hits (call_sid, n) VALUES (?1, 1)
                 ON CONFLICT (call_sid) DO UPDATE SET n = n + 1",
            )
            .bind(sid)
            .execute(pool)
            .await
            .map(drop),
            Db::Postgres(pool) => sqlx::query(
                "INSERT INTO hits (call_sid, n) VALUES ($1, 1)
                 ON CONFLICT (call_sid) DO UPDATE SET n = hits.n + 1",
            )
            .bind(sid)
            .execute(pool)
            .await
            .map(drop),
        };
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
async fn main() -> std::process::ExitCode {
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let db = match args.mode {
        Mode::Constant => None,
        Mode::Upsert => {
            let url = args
                .database
                .as_deref()
                .unwrap_or("sqlite:///tmp/reference.db");
            let options = url
                .parse::<SqliteConnectOptions>()
                .with_context(|| format!("`{url}` is not a SQLite URL: give sqlite://FILE"))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal);
            let pool = SqlitePoolOptions::new()
                .max_connections(args.pool.unwrap_or(1))
                .connect_with(options)
                .await
                .with_context(|| format!("cannot open {url}"))?;
            sqlx::query(
                "CREATE TABLE IF NOT EXISTS hits (call_sid TEXT PRIMARY KEY, n INTEGER NOT NULL)",
            )
            .execute(&pool)
            .await?;
            Some(Db::Sqlite(pool))
        }
        Mode::PgUpsert => {
            let url = args
                .database
                .as_deref()
                .filter(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
                .context(
                    "--mode pg-upsert needs --database postgres://USER@HOST:PORT/DB (an existing database; a fresh one per run)",
                )?;
            let pool = PgPoolOptions::new()
                .max_connections(args.pool.unwrap_or(8))
                .connect(url)
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "cannot connect to {}: {e}. Check that PostgreSQL runs there and that the database exists (CREATE DATABASE …)",
                        switchboard::store::redacted(url)
                    )
                })?;
            sqlx::query(
                "CREATE TABLE IF NOT EXISTS hits (call_sid TEXT PRIMARY KEY, n BIGINT NOT NULL)",
            )
            .execute(&pool)
            .await?;
            Some(Db::Postgres(pool))
        }
    };
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    let twiml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="http://{addr}/step" numDigits="1"><Say>Press a key.</Say></Gather></Response>"#
    );
    let app = Router::new()
        .fallback(answer)
        .with_state(Arc::new(App { twiml, db }));
    println!("reference server ({:?}) on http://{addr}", args.mode);
    // As `switchboard serve` does, so the two differ only in their work.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}
