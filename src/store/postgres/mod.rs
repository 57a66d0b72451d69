//! The PostgreSQL store, for several instances over one database: read
//! connections lent one statement at a time ([`conns`]), writers with group
//! commit ([`writer`]), and the same tables as SQLite's
//! (`migrations/postgres`).
//!
//! Nothing here is kept between calls but connections: every instance
//! reads and writes the same rows, and the optimistic step check (a unique
//! `(call_id, step)`) is the database's, so it holds across instances.
//! Commits are durable as the server is configured (`synchronous_commit`
//! is left as it is). Connections are opened lazily and opened again after
//! the server went away; while it is unreachable, [`Backend::trouble`] says
//! so (for `/healthz`) until a probe gets through.

mod conns;
mod writer;

use super::admin::{self, Marked, OpenCallback, OpenVoicemail, Tray};
use super::callers::{self, CallerRows, Erasure};
use super::reports::{self, ReportRows};
use super::retention::{self, Removed};
use super::{Backend, Commit, StoreError, StoredVersion};
use crate::engine::{CallState, PastCall};
use crate::routing::Closure;
use jiff::Timestamp;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use writer::Job;

/// Read connections per instance: reads are a new call's caller history,
/// and a call another instance moved (or this one does not hold).
const READERS: usize = 8;

/// Writer connections per instance, each writing one batch at a time:
/// while one commits (waiting for the server's WAL flush), the next batch
/// gathers for another.
const WRITERS: usize = 2;

/// How long a request waits for a connection, or a connection for the
/// server, before it fails (and the caller hears the apology).
pub(super) const CONNECT_WITHIN: Duration = Duration::from_secs(3);

/// How long the first connection may take at start.
const OPEN_WITHIN: Duration = Duration::from_secs(10);

/// How long a statement waits for a row lock held elsewhere (an admin's
/// open transaction, say) before it fails: SQLite's busy timeout, here.
const LOCK_TIMEOUT: &str = "5s";

/// How often an unreachable database is probed until it answers.
const PROBE_EVERY: Duration = Duration::from_millis(500);

/// A cheap-clone handle to the PostgreSQL store.
#[derive(Clone)]
pub struct PgStore {
    jobs: mpsc::Sender<Job>,
    reads: Arc<conns::Readers>,
    writers: Arc<tokio::sync::Mutex<Vec<JoinHandle<()>>>>,
    health: Arc<Health>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("server", &self.health.server)
            .finish_non_exhaustive()
    }
}

/// Whether the server is reachable, as the last statement found it.
#[derive(Debug)]
pub(super) struct Health {
    /// `host:port, database D, user U`, for messages.
    server: String,
    /// Why the server cannot be reached, while it cannot.
    down: Mutex<Option<String>>,
    /// How to reach it, to probe it.
    options: PgConnectOptions,
    /// Set once the store closes (probing stops).
    closed: std::sync::atomic::AtomicBool,
}

impl Health {
    /// Note a statement's result: a failure to reach the server marks it
    /// down (and starts probing it), anything else marks it up.
    fn saw<T>(self: &Arc<Self>, result: &Result<T, sqlx::Error>) {
        match result {
            Err(e) => self.failed(e),
            Ok(_) => self.came_back(),
        }
    }

    /// Note a failure: the server is down if it was not reached.
    fn failed(self: &Arc<Self>, e: &sqlx::Error) {
        if unreachable(e) {
            self.went_down(e.to_string());
        } else {
            self.came_back();
        }
    }

    fn went_down(self: &Arc<Self>, why: String) {
        let mut down = self.down.lock().unwrap_or_else(|e| e.into_inner());
        if down.is_none() {
            tracing::error!(
                "PostgreSQL at {} is unreachable: {why}. Calls hear the apology and the fallback route until it answers again",
                self.server
            );
            let health = self.clone();
            tokio::spawn(async move { health.probe().await });
        }
        *down = Some(why);
    }

    fn came_back(&self) {
        let mut down = self.down.lock().unwrap_or_else(|e| e.into_inner());
        if down.take().is_some() {
            tracing::info!("PostgreSQL at {} answers again", self.server);
        }
    }

    /// Until the server answers (or the store closes).
    async fn probe(self: Arc<Self>) {
        loop {
            tokio::time::sleep(PROBE_EVERY).await;
            if self.closed.load(std::sync::atomic::Ordering::Relaxed) {
                return;
            }
            let mut probe = conns::Conn::new(self.options.clone());
            let ping = match probe.get().await {
                Ok(c) => sqlx::query("SELECT 1").execute(c).await.map(|_| ()),
                Err(e) => Err(e),
            };
            probe.close().await;
            if ping.is_ok() {
                self.came_back();
                return;
            }
        }
    }
}

/// Did `e` come from not reaching the server (rather than from a statement)?
pub(super) fn unreachable(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed
    ) || e.as_database_error().is_some_and(|d| {
        // admin_shutdown, crash_shutdown, cannot_connect_now
        matches!(d.code().as_deref(), Some("57P01" | "57P02" | "57P03"))
    })
}

/// `host:port, database D, user U` of `options`: never the password.
fn server_of(options: &PgConnectOptions) -> String {
    format!(
        "{}:{}, database {}, user {}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or(options.get_username()),
        options.get_username()
    )
}

impl PgStore {
    /// Connect to `postgres://…` and migrate it; fails with where it tried
    /// and why, never with the password.
    pub async fn open(url: &str) -> Result<PgStore, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Url(format!("{} ({e})", super::redacted(url))))?
            .application_name("switchboard")
            .options([
                ("lock_timeout", LOCK_TIMEOUT),
                // Every statement of ours finds its rows by an index. Left
                // to choose, the planner scanned `calls` whole to join a
                // batch of a few dozen steps to their calls while the table
                // was small, kept that plan (prepared statements) as it
                // grew, and each batch got slower with every call stored.
                ("enable_seqscan", "off"),
            ]);
        let server = server_of(&options);
        let connect_error = |e: sqlx::Error| StoreError::Connect {
            server: server.clone(),
            why: match &e {
                sqlx::Error::Database(d) => d.message().to_owned(),
                e => e.to_string(),
            },
        };
        // One connection first, to say why the server cannot be reached
        // (a pool only says that it timed out), and to migrate.
        let mut first = tokio::time::timeout(OPEN_WITHIN, PgConnection::connect_with(&options))
            .await
            .map_err(|_| StoreError::Connect {
                server: server.clone(),
                why: format!("no answer within {}s", OPEN_WITHIN.as_secs()),
            })?
            .map_err(connect_error)?;
        sqlx::migrate!("./migrations/postgres")
            .run(&mut first)
            .await
            .map_err(StoreError::migration)?;
        let _ = first.close().await;
        let reads = Arc::new(conns::Readers::new(READERS, &options));
        let health = Arc::new(Health {
            server,
            down: Mutex::new(None),
            options: options.clone(),
            closed: std::sync::atomic::AtomicBool::new(false),
        });
        let (jobs, rx) = mpsc::channel(4 * writer::BATCH);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let writers = (0..WRITERS)
            .map(|_| {
                tokio::spawn(writer::write_loop(
                    rx.clone(),
                    options.clone(),
                    health.clone(),
                ))
            })
            .collect();
        Ok(PgStore {
            jobs,
            reads,
            writers: Arc::new(tokio::sync::Mutex::new(writers)),
            health,
        })
    }
}

/// A call's latest step.
const LOAD: &str = "SELECT state::text FROM steps
    WHERE call_id = (SELECT id FROM calls WHERE call_sid = $1) ORDER BY step DESC LIMIT 1";

const RESPONSE: &str = "SELECT response FROM steps
    WHERE call_id = (SELECT id FROM calls WHERE call_sid = $1) AND step = $2";

const HISTORY: &str = "SELECT started_at, outcome_group FROM calls
    WHERE caller = $1 AND started_at >= $2 ORDER BY started_at DESC LIMIT 50";

const EVENT_COUNT: &str = "SELECT COALESCE(SUM(jsonb_array_length(events)), 0)::int8 FROM steps
    WHERE call_id = (SELECT id FROM calls WHERE call_sid = $1)";

const LOG_COMPLETE: &str = "SELECT COUNT(*), MAX(step),
        (SELECT ended_at FROM calls WHERE call_sid = $1 AND final_status IS NOT NULL)
    FROM steps WHERE call_id = (SELECT id FROM calls WHERE call_sid = $1)";

const SAVE_VERSION: &str = "INSERT INTO flow_versions (version, saved_at, snapshot)
    VALUES ($1, $2, $3) ON CONFLICT (version) DO NOTHING";

const VERSION_MATCHES: &str = "SELECT snapshot = $2 FROM flow_versions WHERE version = $1";

const LOAD_VERSION: &str = "SELECT snapshot FROM flow_versions WHERE version = $1";

const VERSIONS: &str = "SELECT v.version, v.saved_at,
        (SELECT COUNT(*) FROM calls c WHERE c.version = v.version),
        (SELECT COUNT(*) FROM calls c WHERE c.version = v.version
            AND c.ended_at IS NULL AND c.started_at >= $1)
    FROM flow_versions v ORDER BY v.saved_at, v.version";

/// One batch of a purge: the oldest calls before `$1`, at most `$2`, and
/// their rows, in one statement.
const PURGE_BATCH: &str = "WITH doomed AS (
    SELECT id, call_sid FROM calls WHERE started_at < $1 ORDER BY started_at LIMIT $2
),
s AS (DELETE FROM steps WHERE call_id IN (SELECT id FROM doomed) RETURNING 1),
v AS (DELETE FROM voicemails WHERE call_sid IN (SELECT call_sid FROM doomed) RETURNING 1),
b AS (DELETE FROM callbacks WHERE call_sid IN (SELECT call_sid FROM doomed) RETURNING 1),
q AS (DELETE FROM surveys WHERE call_sid IN (SELECT call_sid FROM doomed) RETURNING 1),
w AS (DELETE FROM queue_waits WHERE call_id IN (SELECT id FROM doomed) RETURNING 1),
t AS (DELETE FROM topics_heard WHERE call_id IN (SELECT id FROM doomed) RETURNING 1),
c AS (DELETE FROM calls WHERE id IN (SELECT id FROM doomed) RETURNING 1),
-- The funnel's hours wholly before the cutoff go with their calls.
h AS (DELETE FROM node_hours WHERE hour + 3600000 <= $1)
SELECT (SELECT COUNT(*) FROM c), (SELECT COUNT(*) FROM s), (SELECT COUNT(*) FROM v),
    (SELECT COUNT(*) FROM b), (SELECT COUNT(*) FROM q), (SELECT COUNT(*) FROM w),
    (SELECT COUNT(*) FROM t)";

/// A caller's erasure (see `store::callers`): `$1` the number, `$2` the
/// start since which a call not ended is live, `$3` the hash.
const ERASE_CALLER: &str = "WITH erasing AS (
    SELECT id, call_sid FROM calls
    WHERE caller = $1 AND NOT (ended_at IS NULL AND started_at >= $2)
),
rec AS (DELETE FROM voicemails WHERE call_sid IN (SELECT call_sid FROM erasing) RETURNING id, url),
s AS (DELETE FROM steps WHERE call_id IN (SELECT id FROM erasing) RETURNING 1),
b AS (DELETE FROM callbacks WHERE call_sid IN (SELECT call_sid FROM erasing) OR number = $1 RETURNING 1),
c AS (UPDATE calls SET caller = $3 WHERE id IN (SELECT id FROM erasing) RETURNING 1)
SELECT (SELECT COUNT(*) FROM c), (SELECT COUNT(*) FROM s), (SELECT COUNT(*) FROM rec),
    (SELECT COUNT(*) FROM b),
    (SELECT COUNT(*) FROM calls WHERE caller = $1 AND ended_at IS NULL AND started_at >= $2),
    COALESCE((SELECT array_agg(url ORDER BY id) FROM rec), '{}')";

impl PgStore {
    /// A read connection, lent for one statement.
    async fn reader(&self) -> conns::Reader<'_> {
        self.reads.get(&self.health).await
    }

    /// The rows `sql` selects with `binds` as `$1`, `$2`, … (a period and
    /// what else its section needs), wherever they appear.
    async fn in_period<T>(&self, sql: &'static str, binds: &[i64]) -> Result<Vec<T>, StoreError>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
    {
        let mut r = self.reader().await;
        let mut query = sqlx::query_as(sql);
        for b in binds {
            query = query.bind(*b);
        }
        let rows = query.fetch_all(r.conn().await?).await;
        r.done(rows)
    }

    /// The rows `sql` selects for a caller's number.
    async fn by_number<T>(&self, sql: &'static str, number: &str) -> Result<Vec<T>, StoreError>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
    {
        let mut r = self.reader().await;
        let rows = sqlx::query_as(sql)
            .bind(number)
            .fetch_all(r.conn().await?)
            .await;
        r.done(rows)
    }
}

#[async_trait::async_trait]
impl Backend for PgStore {
    async fn purge_batch(&self, before: Timestamp, limit: u32) -> Result<Removed, StoreError> {
        let mut r = self.reader().await;
        let row = sqlx::query_as(PURGE_BATCH)
            .bind(before.as_millisecond())
            .bind(i64::from(limit))
            .fetch_one(r.conn().await?)
            .await;
        Ok(Removed::of_row(r.done(row)?))
    }

    async fn purgeable(&self, before: Timestamp) -> Result<Removed, StoreError> {
        let mut r = self.reader().await;
        let row = sqlx::query_as(retention::PURGEABLE_SQL)
            .bind(before.as_millisecond())
            .fetch_one(r.conn().await?)
            .await;
        Ok(Removed::of_row(r.done(row)?))
    }

    async fn record_purge(
        &self,
        before: Timestamp,
        at: Timestamp,
        calls: u64,
    ) -> Result<(), StoreError> {
        let mut r = self.reader().await;
        let done = sqlx::query(retention::RECORD_SQL)
            .bind(before.as_millisecond())
            .bind(at.as_millisecond())
            .bind(calls as i64)
            .execute(r.conn().await?)
            .await;
        r.done(done)?;
        Ok(())
    }

    async fn purged_before(&self) -> Result<Option<Timestamp>, StoreError> {
        let mut r = self.reader().await;
        let row = sqlx::query_as(retention::PURGED_BEFORE_SQL)
            .fetch_one(r.conn().await?)
            .await;
        let (ms,): (Option<i64>,) = r.done(row)?;
        Ok(ms.and_then(|ms| Timestamp::from_millisecond(ms).ok()))
    }

    async fn report_rows(&self, period: &reports::Period) -> Result<ReportRows, StoreError> {
        let (classes, at, hours) = (period.classes(), period.bounds(), period.hours());
        // One section per read connection, at once.
        let (classes, waits, moves, ratings, topics, containment, funnel) = tokio::try_join!(
            self.in_period(reports::CLASSES_SQL, &classes),
            self.in_period(reports::WAITS_SQL, &at),
            self.in_period(reports::MOVES_SQL, &at),
            self.in_period(reports::RATINGS_SQL, &at),
            self.in_period(reports::TOPICS_SQL, &at),
            self.in_period::<(i64, i64)>(reports::CONTAINMENT_SQL, &at),
            self.in_period(reports::FUNNEL_SQL, &hours),
        )?;
        Ok(reports::rows(
            classes,
            waits,
            moves,
            ratings,
            topics,
            containment,
            funnel,
        ))
    }

    fn kind(&self) -> &'static str {
        "postgres"
    }

    async fn funnel(
        &self,
        since: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<reports::FunnelRow>, StoreError> {
        self.in_period(reports::FUNNEL_SQL, &reports::hours(since, until))
            .await
    }

    async fn closures(&self, now: Timestamp) -> Result<Vec<Closure>, StoreError> {
        let mut r = self.reader().await;
        let rows = sqlx::query_as(admin::CLOSURES_SQL)
            .bind(now.as_millisecond())
            .fetch_all(r.conn().await?)
            .await;
        let rows: Vec<admin::ClosureRow> = r.done(rows)?;
        rows.into_iter().map(admin::closure).collect()
    }

    async fn close_group(&self, c: &Closure) -> Result<(), StoreError> {
        let (group, until, message, at) = admin::closure_params(c)?;
        let mut r = self.reader().await;
        let done = sqlx::query(admin::CLOSE_SQL)
            .bind(group)
            .bind(until)
            .bind(message)
            .bind(at)
            .execute(r.conn().await?)
            .await;
        r.done(done)?;
        Ok(())
    }

    async fn open_group(&self, group: &str) -> Result<bool, StoreError> {
        let mut r = self.reader().await;
        let done = sqlx::query(admin::OPEN_SQL)
            .bind(group)
            .execute(r.conn().await?)
            .await;
        Ok(r.done(done)?.rows_affected() > 0)
    }

    async fn open_voicemails(
        &self,
        group: Option<&str>,
        limit: u32,
    ) -> Result<Vec<OpenVoicemail>, StoreError> {
        let mut r = self.reader().await;
        let rows = sqlx::query_as(admin::VOICEMAILS_SQL)
            .bind(group)
            .bind(i64::from(limit))
            .fetch_all(r.conn().await?)
            .await;
        let rows: Vec<admin::VoicemailRow> = r.done(rows)?;
        Ok(rows.into_iter().map(admin::voicemail).collect())
    }

    async fn open_callbacks(
        &self,
        group: Option<&str>,
        limit: u32,
    ) -> Result<Vec<OpenCallback>, StoreError> {
        let mut r = self.reader().await;
        let rows = sqlx::query_as(admin::CALLBACKS_SQL)
            .bind(group)
            .bind(i64::from(limit))
            .fetch_all(r.conn().await?)
            .await;
        let rows: Vec<admin::CallbackRow> = r.done(rows)?;
        Ok(rows.into_iter().map(admin::callback).collect())
    }

    async fn mark(&self, tray: Tray, id: i64, at: Timestamp) -> Result<Marked, StoreError> {
        let mut r = self.reader().await;
        let changed = sqlx::query(tray.mark_sql())
            .bind(at.as_millisecond())
            .bind(id)
            .execute(r.conn().await?)
            .await;
        let changed = r.done(changed)?.rows_affected();
        let before = if changed == 0 {
            let mut r = self.reader().await;
            let row = sqlx::query_as(tray.state_sql())
                .bind(id)
                .fetch_optional(r.conn().await?)
                .await;
            let row: Option<(Option<i64>,)> = r.done(row)?;
            row.map(|(at,)| at)
        } else {
            Some(None)
        };
        Ok(Marked::of(changed, before))
    }

    async fn caller(&self, number: &str) -> Result<CallerRows, StoreError> {
        Ok(CallerRows {
            calls: self.by_number(callers::CALLS_SQL, number).await?,
            steps: self.by_number(callers::STEPS_SQL, number).await?,
            voicemails: self.by_number(callers::VOICEMAILS_SQL, number).await?,
            callbacks: self.by_number(callers::CALLBACKS_SQL, number).await?,
            surveys: self.by_number(callers::SURVEYS_SQL, number).await?,
        })
    }

    async fn erase_caller(
        &self,
        number: &str,
        hash: &str,
        live_since: Timestamp,
    ) -> Result<Erasure, StoreError> {
        let mut r = self.reader().await;
        let row = sqlx::query_as(ERASE_CALLER)
            .bind(number)
            .bind(live_since.as_millisecond())
            .bind(hash)
            .fetch_one(r.conn().await?)
            .await;
        let (calls, steps, voicemails, callbacks, live, recordings): (
            i64,
            i64,
            i64,
            i64,
            i64,
            Vec<String>,
        ) = r.done(row)?;
        let n = |v: i64| v.max(0) as u64;
        Ok(Erasure {
            calls: n(calls),
            steps: n(steps),
            voicemails: n(voicemails),
            callbacks: n(callbacks),
            live: n(live),
            recordings,
            hash: String::new(),
        })
    }

    async fn commit(&self, c: Commit) -> Result<(), StoreError> {
        let (done, wait) = oneshot::channel();
        self.jobs
            .send(Job::Write(Box::new(c), done))
            .await
            .map_err(|_| StoreError::Closed)?;
        wait.await.map_err(|_| StoreError::Closed)?
    }

    async fn load(&self, call_sid: &str) -> Result<Option<CallState>, StoreError> {
        let mut r = self.reader().await;
        let row = sqlx::query_as(LOAD)
            .bind(call_sid)
            .fetch_optional(r.conn().await?)
            .await;
        let row: Option<(String,)> = r.done(row)?;
        Ok(match row {
            Some((json,)) => Some(serde_json::from_str(&json)?),
            None => None,
        })
    }

    async fn response(&self, call_sid: &str, step: u64) -> Result<Option<String>, StoreError> {
        let mut r = self.reader().await;
        let row = sqlx::query_as(RESPONSE)
            .bind(call_sid)
            .bind(step as i64)
            .fetch_optional(r.conn().await?)
            .await;
        let row: Option<(Option<String>,)> = r.done(row)?;
        Ok(row.and_then(|(b,)| b))
    }

    async fn history(&self, caller: &str, since: Timestamp) -> Result<Vec<PastCall>, StoreError> {
        let mut r = self.reader().await;
        let rows = sqlx::query_as(HISTORY)
            .bind(caller)
            .bind(since.as_millisecond())
            .fetch_all(r.conn().await?)
            .await;
        let rows: Vec<(i64, Option<String>)> = r.done(rows)?;
        Ok(super::past_calls(rows))
    }

    async fn save_version(
        &self,
        version: &str,
        snapshot: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut r = self.reader().await;
        let saved = sqlx::query(SAVE_VERSION)
            .bind(version)
            .bind(at.as_millisecond())
            .bind(snapshot)
            .execute(r.conn().await?)
            .await;
        r.done(saved)?;
        let mut r = self.reader().await;
        let row = sqlx::query_as(VERSION_MATCHES)
            .bind(version)
            .bind(snapshot)
            .fetch_one(r.conn().await?)
            .await;
        let (same,): (bool,) = r.done(row)?;
        if same {
            Ok(())
        } else {
            Err(StoreError::VersionClash(version.to_owned()))
        }
    }

    async fn load_version(&self, version: &str) -> Result<Option<String>, StoreError> {
        let mut r = self.reader().await;
        let row = sqlx::query_as(LOAD_VERSION)
            .bind(version)
            .fetch_optional(r.conn().await?)
            .await;
        let row: Option<(String,)> = r.done(row)?;
        Ok(row.map(|(s,)| s))
    }

    async fn versions(&self, live_since: Timestamp) -> Result<Vec<StoredVersion>, StoreError> {
        let mut r = self.reader().await;
        let rows = sqlx::query_as(VERSIONS)
            .bind(live_since.as_millisecond())
            .fetch_all(r.conn().await?)
            .await;
        let rows: Vec<(String, i64, i64, i64)> = r.done(rows)?;
        Ok(rows.into_iter().map(StoredVersion::of_row).collect())
    }

    async fn waiting(&self, live_since: Timestamp) -> Result<Vec<String>, StoreError> {
        let mut r = self.reader().await;
        let rows = sqlx::query_as(super::admin::WAITING_SQL)
            .bind(live_since.as_millisecond())
            .fetch_all(r.conn().await?)
            .await;
        let rows: Vec<(String,)> = r.done(rows)?;
        Ok(rows.into_iter().map(|(s,)| s).collect())
    }

    async fn event_count(&self, call_sid: &str) -> Result<u64, StoreError> {
        let mut r = self.reader().await;
        let row = sqlx::query_as(EVENT_COUNT)
            .bind(call_sid)
            .fetch_one(r.conn().await?)
            .await;
        let (n,): (i64,) = r.done(row)?;
        Ok(n.max(0) as u64)
    }

    async fn log_complete(&self, call_sid: &str) -> Result<bool, StoreError> {
        let mut r = self.reader().await;
        let row = sqlx::query_as(LOG_COMPLETE)
            .bind(call_sid)
            .fetch_one(r.conn().await?)
            .await;
        Ok(super::log_complete(r.done(row)?))
    }

    fn trouble(&self) -> Option<String> {
        let down = self.health.down.lock().unwrap_or_else(|e| e.into_inner());
        down.as_ref()
            .map(|why| format!("PostgreSQL at {} is unreachable: {why}", self.health.server))
    }

    async fn close(&self) {
        // One stop for each writer, behind every write queued before it.
        for _ in 0..WRITERS {
            if self.jobs.send(Job::Close).await.is_err() {
                break;
            }
        }
        for w in self.writers.lock().await.drain(..) {
            let _ = w.await;
        }
        self.health
            .closed
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.reads.close().await;
    }
}
