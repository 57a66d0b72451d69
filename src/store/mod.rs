//! Persistence: calls, their append-only event log, the voice XML each step
//! answered, voicemails, callback requests and survey answers.
//!
//! [`Store`] is the one interface handlers use: a [`Backend`] chosen once
//! from the database URL — SQLite ([`sqlite`], the embedded default) or
//! PostgreSQL ([`postgres`], for several instances) — behind the cache of
//! live calls ([`live`]), which belongs to neither. No SQL leaves this
//! module. [`Commit`] is built purely from an engine step, so what is stored
//! is exactly what the engine decided.

pub mod admin;
mod batch;
pub mod callers;
pub mod live;
pub mod postgres;
pub mod reports;
pub mod retention;
pub mod sqlite;
pub mod versions;

use crate::engine::{CallState, PastCall, RecordKind, Step, Wait, outcome_code};
use crate::flow::snapshot::Snapshot;
use crate::privacy::DataKeys;
use crate::program::Program;
use crate::report::CallFacts;
use crate::routing::{Closure, Closures};
use callers::{CallerRows, Erasure};
use jiff::Timestamp;
use retention::Removed;
use std::sync::Arc;

/// Why the store failed. No backend's own error type appears here: a
/// backend's failure is boxed ([`StoreError::Database`]) or put in words.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed. (Its message is shown in full here,
    /// so it is not chained as a source too, which would print it twice.)
    #[error("database error: {0}")]
    Database(Box<dyn std::error::Error + Send + Sync>),
    /// The database file could not be opened.
    #[error(
        "cannot open the SQLite database {path}: {why}. Check that the file and its folder exist and are writable by this user: a read-only filesystem or a full disk stops it too"
    )]
    Open {
        /// The file.
        path: String,
        /// What SQLite said.
        why: String,
    },
    /// A database server could not be reached or refused us.
    #[error(
        "cannot connect to PostgreSQL at {server}: {why}. Check that the server runs and lets this user in, or point --database (or SWITCHBOARD_DATABASE) at another: postgres://USER@HOST:PORT/DATABASE"
    )]
    Connect {
        /// `host:port, database D, user U` (never the password).
        server: String,
        /// What went wrong.
        why: String,
    },
    /// Migrations could not run.
    #[error(
        "database migration failed: {0}. The failed migration was rolled back. If you added views, triggers or indexes of your own on Switchboard's tables, drop them, start again and recreate them; a step whose call is missing (`steps` rows with no `calls` row) must be removed or given its call first"
    )]
    Migrate(String),
    /// The database was made by a pre-release build whose schema has changed.
    #[error(
        "the database was created by an earlier pre-release Switchboard whose schema has changed ({0}): move the database file aside (e.g. `mv switchboard.db switchboard.db.old`) and start again"
    )]
    Outdated(String),
    /// The database was migrated by a newer Switchboard.
    #[error(
        "the database was migrated by a newer Switchboard (its migration {0} is unknown to this one): run that newer version, or restore a backup taken before the upgrade; this one will not write to a schema it does not know"
    )]
    Newer(i64),
    /// Stored state could not be read back.
    #[error("stored call state is unreadable: {0}")]
    State(#[from] serde_json::Error),
    /// The URL names no supported database.
    #[error(
        "unsupported database URL `{0}`: use sqlite://FILE (embedded) or postgres://USER@HOST:PORT/DATABASE"
    )]
    Url(String),
    /// The store has been closed (shutdown), or its writer failed to start.
    #[error("the store is closed")]
    Closed,
    /// The call moved on since it was loaded (a duplicate callback won the race).
    #[error("the call has already moved past this step")]
    Conflict,
    /// The database's files changed under the server: writes are refused
    /// (the reason says what happened and what to do).
    #[error("the store refuses writes: {0}")]
    Tripped(String),
    /// Another flow set is stored under the same version hash.
    #[error(
        "a different flow set is already stored as version {0}: two flow sets share a version hash. Change any flow file (a comment will do) so the set gets a new version, and reload"
    )]
    VersionClash(String),
    /// A call's sealed sensitive values cannot be opened with the
    /// configured data keys (the message names key ids, never keys or values).
    #[error("this call's sensitive values cannot be opened: {0}")]
    DataKey(#[from] crate::privacy::KeyError),
}

impl StoreError {
    /// What a migration failure means, whichever backend ran it.
    fn migration(e: sqlx::migrate::MigrateError) -> StoreError {
        use sqlx::migrate::MigrateError;
        match e {
            MigrateError::VersionMissing(v) => StoreError::Newer(v),
            e @ MigrateError::VersionMismatch(_) => StoreError::Outdated(e.to_string()),
            e => StoreError::Migrate(e.to_string()),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        StoreError::Database(Box::new(e))
    }
}

/// Everything one step writes, in one transaction.
#[derive(Clone, Debug)]
pub struct Commit {
    /// The call's state after the step.
    pub state: CallState,
    /// The step the call was at when loaded: the write only happens if it
    /// still is (`None` for a new call, which must not exist yet).
    pub expected_step: Option<u64>,
    /// Entry flow name.
    pub flow: String,
    /// Node the call is at (`flow.node`).
    pub node: String,
    /// When the step happened.
    pub at: Timestamp,
    /// The step's records for the event log: a JSON array of objects with
    /// `type`, `node` and the record's fields.
    pub events: String,
    /// The voice XML answered for the step the call now waits at.
    pub response: Option<String>,
    /// The provider's final call status, from a status callback.
    pub final_status: Option<String>,
    /// The call's outcome, once it has one.
    pub outcome: Option<CallOutcome>,
    /// Voicemails left in the step.
    pub voicemails: Vec<Voicemail>,
    /// Callbacks promised in the step.
    pub callbacks: Vec<CallbackRequest>,
    /// Survey answers given in the step.
    pub surveys: Vec<SurveyAnswer>,
    /// The call ended holding sensitive values: the sealed forms its earlier
    /// steps' states keep are removed with this write.
    pub erase_secrets: bool,
    /// The step ended the call: what it adds to reports.
    pub facts: Option<CallFacts>,
    /// The provider that carried the call (kept with a new call's row).
    pub provider: Option<&'static str>,
}

/// How a call ended up, as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallOutcome {
    /// [`crate::engine::outcome_code`]: `group:orders`, `abandoned`, …
    pub code: String,
    /// The group it went to, if any.
    pub group: Option<String>,
}

/// A voicemail a caller left for a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Voicemail {
    /// The group it is for.
    pub group: String,
    /// Where the provider keeps the recording.
    pub url: String,
    /// Its length.
    pub seconds: u32,
}

/// A callback a caller was promised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackRequest {
    /// The group that calls back.
    pub group: String,
    /// The number to call.
    pub number: String,
}

/// A caller's answer to a survey question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SurveyAnswer {
    /// The survey node (`flow.node`).
    pub node: String,
    /// The group the call reached, if it reached one.
    pub group: Option<String>,
    /// The rating given.
    pub rating: u32,
    /// Out of how many.
    pub scale: u32,
}

/// A record as the event log stores it: its node beside its fields.
#[derive(serde::Serialize)]
struct Logged<'a> {
    node: Option<String>,
    #[serde(flatten)]
    kind: &'a RecordKind,
}

impl Commit {
    /// What a step writes: its state, its records for the event log, and
    /// the voicemails, callbacks and survey answers among them.
    pub fn from_step(
        p: &Program,
        expected_step: Option<u64>,
        step: &Step,
        at: Timestamp,
        response: Option<String>,
        final_status: Option<String>,
    ) -> Commit {
        let state = step.state.clone();
        let group_name =
            |g: crate::program::GroupId| p.groups.get(g.index()).map(|g| g.name.clone());
        let outcome = state.outcome.map(|o| {
            let group = match o {
                crate::engine::Outcome::Group(g)
                | crate::engine::Outcome::Voicemail(g)
                | crate::engine::Outcome::Callback(g) => group_name(g),
                _ => None,
            };
            CallOutcome {
                code: outcome_code(p, o),
                group,
            }
        });
        let call_group = match state.outcome {
            Some(crate::engine::Outcome::Group(g)) => group_name(g),
            _ => None,
        };
        let mut voicemails = Vec::new();
        let mut callbacks = Vec::new();
        let mut surveys = Vec::new();
        let mut logged = Vec::with_capacity(step.records.len());
        let mut erase_secrets = false;
        let mut ended = false;
        for r in &step.records {
            let node = r.node.map(|n| p.qualified_name(n));
            match &r.kind {
                RecordKind::Voicemail {
                    group,
                    url,
                    seconds,
                } => voicemails.push(Voicemail {
                    group: group.clone(),
                    url: url.clone(),
                    seconds: *seconds,
                }),
                RecordKind::CallbackRequested { group, number } => {
                    callbacks.push(CallbackRequest {
                        group: group.clone(),
                        number: number.clone(),
                    })
                }
                RecordKind::Rating { value, scale } => surveys.push(SurveyAnswer {
                    node: node.clone().unwrap_or_default(),
                    group: call_group.clone(),
                    rating: *value,
                    scale: *scale,
                }),
                RecordKind::Erased { .. } => erase_secrets = true,
                RecordKind::Ended { .. } => ended = true,
                _ => {}
            }
            logged.push(Logged {
                node,
                kind: &r.kind,
            });
        }
        Commit {
            expected_step,
            flow: p
                .flows
                .get(state.flow.index())
                .map_or_else(String::new, |f| f.name.clone()),
            node: p.qualified_name(state.at),
            at,
            // Records are plain data: serializing them cannot fail.
            events: serde_json::to_string(&logged).unwrap_or_else(|_| "[]".to_owned()),
            response,
            final_status,
            outcome,
            voicemails,
            callbacks,
            surveys,
            erase_secrets,
            facts: ended.then(|| crate::report::facts(p, &state)),
            state,
            provider: None,
        }
    }

    /// The same commit, of a call carried by `provider` (its route prefix).
    pub fn carried_by(self, provider: &'static str) -> Commit {
        Commit {
            provider: Some(provider),
            ..self
        }
    }

    /// Has the call ended?
    pub fn ended(&self) -> bool {
        self.state.wait == Wait::Ended
    }

    /// Did the step move the call? An event that did not fit (a late or
    /// duplicate result) leaves it at the same step.
    pub fn moved(&self) -> bool {
        self.expected_step != Some(self.state.step)
    }

    /// Does the call's summary row change: a new call, a known outcome, an
    /// end or a final status? (Other steps only append to the log.)
    pub fn changes_summary(&self) -> bool {
        self.expected_step.is_none()
            || self.outcome.is_some()
            || self.ended()
            || self.final_status.is_some()
    }
}

/// A flow version as the store knows it, for `switchboard versions`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StoredVersion {
    /// The version hash.
    pub version: String,
    /// When it was first stored.
    pub first_seen: Timestamp,
    /// Calls that started on it.
    pub calls: u64,
    /// Of those, how many have not ended and started less than a call's
    /// longest life ago ([`live::IDLE`]).
    pub live: u64,
}

impl StoredVersion {
    /// A row of the backends' version listing: version, first seen (Unix
    /// milliseconds), calls, live calls.
    fn of_row((version, saved_at, calls, live): (String, i64, i64, i64)) -> StoredVersion {
        StoredVersion {
            version,
            first_seen: Timestamp::from_millisecond(saved_at).unwrap_or(Timestamp::UNIX_EPOCH),
            calls: calls.max(0) as u64,
            live: live.max(0) as u64,
        }
    }
}

/// One of `conns` for one statement: a free one, else the next in turn
/// (counted by `next`) once it is free. Both backends lend their read
/// connections so.
async fn lend<'a, T>(
    conns: &'a [tokio::sync::Mutex<T>],
    next: &std::sync::atomic::AtomicUsize,
) -> tokio::sync::MutexGuard<'a, T> {
    if let Some(free) = conns.iter().find_map(|c| c.try_lock().ok()) {
        return free;
    }
    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % conns.len().max(1);
    conns[i].lock().await
}

/// The backends' caller-history rows (started at in Unix milliseconds,
/// the group reached) as past calls; a time out of range is skipped.
fn past_calls(rows: Vec<(i64, Option<String>)>) -> Vec<PastCall> {
    rows.into_iter()
        .filter_map(|(ms, group)| {
            Timestamp::from_millisecond(ms)
                .ok()
                .map(|at| PastCall { at, group })
        })
        .collect()
}

/// The backends' log-completeness row (steps stored, the last step, the
/// end if the final status is in) read as: is the whole log stored?
fn log_complete((steps, last, ended): (i64, Option<i64>, Option<i64>)) -> bool {
    ended.is_some() && last == Some(steps) && steps > 0
}

/// What a database backend does: the one interface the store needs of
/// SQLite and PostgreSQL alike. Handlers never see it; they use [`Store`],
/// which wraps it with the cache of live calls.
///
/// Every write is durable when its future resolves `Ok`, and a commit whose
/// `expected_step` is no longer the call's step (or a new call that already
/// exists) fails with [`StoreError::Conflict`] having written nothing: the
/// optimistic check that keeps a duplicated or racing callback from moving
/// a call twice, whichever instance it reached.
#[async_trait::async_trait]
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// Write a step; resolves once it is committed.
    async fn commit(&self, c: Commit) -> Result<(), StoreError>;
    /// A call's latest stored state.
    async fn load(&self, call_sid: &str) -> Result<Option<CallState>, StoreError>;
    /// The voice XML a call's step answered.
    async fn response(&self, call_sid: &str, step: u64) -> Result<Option<String>, StoreError>;
    /// Earlier calls from `caller` since `since`, newest first (at most 50).
    async fn history(&self, caller: &str, since: Timestamp) -> Result<Vec<PastCall>, StoreError>;
    /// Store a version's snapshot (JSON) once; the same again is a no-op,
    /// another under the same version is [`StoreError::VersionClash`].
    async fn save_version(
        &self,
        version: &str,
        snapshot: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// A stored version's snapshot (JSON).
    async fn load_version(&self, version: &str) -> Result<Option<String>, StoreError>;
    /// Every stored version with its calls, oldest first; calls started
    /// since `live_since` and not ended count as live.
    async fn versions(&self, live_since: Timestamp) -> Result<Vec<StoredVersion>, StoreError>;
    /// The stored states (JSON) of live calls waiting for a queue's result
    /// ([`admin::WAITING_SQL`]).
    async fn waiting(&self, live_since: Timestamp) -> Result<Vec<String>, StoreError>;
    /// How many records a call's event log holds.
    async fn event_count(&self, call_sid: &str) -> Result<u64, StoreError>;
    /// Has the call ended with its final status and every step from 1 to
    /// its last stored?
    async fn log_complete(&self, call_sid: &str) -> Result<bool, StoreError>;
    /// Delete up to `limit` of the calls started before `before`, oldest
    /// first, with their steps, voicemails, callbacks and survey answers,
    /// in one short transaction.
    async fn purge_batch(&self, before: Timestamp, limit: u32) -> Result<Removed, StoreError>;
    /// What deleting every call started before `before` would remove.
    async fn purgeable(&self, before: Timestamp) -> Result<Removed, StoreError>;
    /// Remember that calls started before `before` are gone (`calls` of them, now).
    async fn record_purge(
        &self,
        before: Timestamp,
        at: Timestamp,
        calls: u64,
    ) -> Result<(), StoreError>;
    /// The latest time before which calls have been purged.
    async fn purged_before(&self) -> Result<Option<Timestamp>, StoreError>;
    /// The rows of a report on `period`.
    async fn report_rows(
        &self,
        period: &reports::Period,
    ) -> Result<reports::ReportRows, StoreError>;
    /// Every row stored about a caller's number.
    async fn caller(&self, number: &str) -> Result<CallerRows, StoreError>;
    /// Erase a number (see [`callers`]): calls started since `live_since`
    /// and not ended are left. On SQLite the freed space is zeroed and the
    /// WAL checkpointed before this returns.
    async fn erase_caller(
        &self,
        number: &str,
        hash: &str,
        live_since: Timestamp,
    ) -> Result<Erasure, StoreError>;
    /// The group closures in force at `now`, by group.
    async fn closures(&self, now: Timestamp) -> Result<Vec<Closure>, StoreError>;
    /// Close a group (replacing its earlier closure).
    async fn close_group(&self, c: &Closure) -> Result<(), StoreError>;
    /// Reopen a group; `false` if it had no closure stored.
    async fn open_group(&self, group: &str) -> Result<bool, StoreError>;
    /// Voicemails not yet handled, oldest first (of `group`), at most `limit`.
    async fn open_voicemails(
        &self,
        group: Option<&str>,
        limit: u32,
    ) -> Result<Vec<admin::OpenVoicemail>, StoreError>;
    /// Callback requests not yet done, oldest first (of `group`), at most `limit`.
    async fn open_callbacks(
        &self,
        group: Option<&str>,
        limit: u32,
    ) -> Result<Vec<admin::OpenCallback>, StoreError>;
    /// Mark a voicemail handled or a callback request done, at `at`.
    async fn mark(
        &self,
        tray: admin::Tray,
        id: i64,
        at: Timestamp,
    ) -> Result<admin::Marked, StoreError>;
    /// The funnel's counts in the hours from the one `since` falls in to
    /// the one before `until`.
    async fn funnel(
        &self,
        since: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<reports::FunnelRow>, StoreError>;
    /// `sqlite` or `postgres` (for metrics).
    fn kind(&self) -> &'static str;
    /// Why the store refuses writes, if it knows it does (for health checks).
    fn trouble(&self) -> Option<String>;
    /// Finish pending writes and close.
    async fn close(&self);
}

/// The store: a database chosen once at start from its URL, and the calls in
/// progress kept in memory in front of it ([`live::LiveCalls`]).
///
/// The memory is a cache, never the truth: it is filled only from commits
/// and reads of this process, and another instance may have moved a call
/// since. Callers that must not act on an older step say which step they
/// need ([`Store::load_at_least`]); a commit made from an older step fails
/// the database's optimistic check, and the call is forgotten here so the
/// next load reads it afresh.
#[derive(Clone, Debug)]
pub struct Store {
    db: Arc<dyn Backend>,
    live: Arc<live::LiveCalls>,
    /// Seal sensitive values on every write and open them on every read.
    keys: Arc<DataKeys>,
}

/// Which database a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `sqlite://FILE` (or `sqlite:FILE`).
    Sqlite,
    /// `postgres://…` or `postgresql://…`.
    Postgres,
}

impl Kind {
    /// The backend `url` names.
    pub fn of(url: &str) -> Result<Kind, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Kind::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Kind::Postgres)
        } else {
            Err(StoreError::Url(redacted(url)))
        }
    }
}

/// `url` with any password replaced by `***`: fit for banners, logs and errors.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => {
            // A password may also come as a query parameter.
            let mut out = format!("{scheme}://{authority}");
            match tail.split_once('?') {
                Some((path, query)) => {
                    out.push_str(path);
                    out.push('?');
                    let pairs: Vec<String> = query
                        .split('&')
                        .map(|kv| match kv.split_once('=') {
                            Some((k, _)) if k.eq_ignore_ascii_case("password") => {
                                format!("{k}=***")
                            }
                            _ => kv.to_owned(),
                        })
                        .collect();
                    out.push_str(&pairs.join("&"));
                }
                None => out.push_str(tail),
            }
            out
        }
    }
}

impl Store {
    /// Open (creating and migrating) the database at `url`:
    /// `sqlite://switchboard.db` or `postgres://user@host:port/db`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let db: Arc<dyn Backend> = match Kind::of(url)? {
            Kind::Sqlite => Arc::new(sqlite::SqliteStore::open(url).await?),
            Kind::Postgres => Arc::new(postgres::PgStore::open(url).await?),
        };
        Ok(Store::over(db))
    }

    /// A store over an opened backend.
    pub fn over(db: Arc<dyn Backend>) -> Store {
        Store {
            db,
            live: Arc::new(live::LiveCalls::default()),
            keys: Arc::new(DataKeys::none()),
        }
    }

    /// This store, sealing and opening calls' sensitive values with `keys`
    /// (without, they stay in this process's memory only).
    pub fn with_keys(mut self, keys: DataKeys) -> Store {
        self.keys = Arc::new(keys);
        self
    }

    /// Write a step; returns once it is committed (and the call's state in
    /// memory follows it). A failed write forgets the call here: whatever
    /// the database now holds, the next load reads it.
    pub async fn commit(&self, mut c: Commit) -> Result<(), StoreError> {
        self.keys.seal(&c.state.call_id, &mut c.state.secrets);
        let state = c.state.clone();
        let started = std::time::Instant::now();
        let result = self.db.commit(c).await;
        let word = match &result {
            Ok(()) => "ok",
            Err(StoreError::Conflict) => "conflict",
            Err(_) => "error",
        };
        crate::server::metrics::committed(self.db.kind(), started.elapsed(), word);
        match &result {
            Ok(()) => self.live.put_owned(state),
            Err(_) => self.live.forget(&state.call_id),
        }
        result
    }

    /// A call's state: from memory while it is live here, else from the database.
    pub async fn load(&self, call_sid: &str) -> Result<Option<CallState>, StoreError> {
        self.load_at_least(call_sid, 0).await
    }

    /// A call's state at step `step` or later: from memory if it is that
    /// far there, else from the database (another instance may have moved
    /// the call on; memory is refreshed from what is read).
    pub async fn load_at_least(
        &self,
        call_sid: &str,
        step: u64,
    ) -> Result<Option<CallState>, StoreError> {
        match self.live.get(call_sid) {
            Some(s) if s.step >= step => Ok(Some(s)),
            _ => self.load_stored(call_sid).await,
        }
    }

    /// The calls live in this process's memory (for metrics).
    pub fn live_states(&self) -> Vec<CallState> {
        self.live.live_states()
    }

    /// A call's state if it is in memory (no read): for the apology's language.
    pub fn cached(&self, call_sid: &str) -> Option<CallState> {
        self.live.get(call_sid)
    }

    /// A call's state as the database has it (memory is refreshed from it).
    pub async fn load_stored(&self, call_sid: &str) -> Result<Option<CallState>, StoreError> {
        self.live.forget(call_sid);
        let Some(mut state) = self.db.load(call_sid).await? else {
            return Ok(None);
        };
        let lost = self.keys.open(call_sid, &mut state.secrets)?;
        if !lost.is_empty() {
            tracing::warn!(
                call = %call_sid,
                variables = %lost.join(", "),
                "sensitive values held only in the memory of the instance that served this call before are lost: the call goes on without them (set {} on every instance to keep them across instances and restarts)",
                crate::privacy::DATA_KEY_VAR
            );
        }
        self.live.put(&state);
        Ok(Some(state))
    }

    /// A call's state to end it by (a status callback): as [`Store::load`],
    /// but sealed sensitive values that cannot be opened are kept sealed
    /// rather than failing, since ending the call erases them unread.
    pub async fn load_to_end(&self, call_sid: &str) -> Result<Option<CallState>, StoreError> {
        match self.load(call_sid).await {
            Err(StoreError::DataKey(e)) => {
                tracing::error!(call = %call_sid, "ending the call without opening its sensitive values, which are erased: {e}");
                self.db.load(call_sid).await
            }
            other => other,
        }
    }

    /// Store a flow set's snapshot under its version (once; storing the
    /// same again is a no-op), before any call starts on it.
    pub async fn save_version(
        &self,
        version: &str,
        snapshot: &Snapshot,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(snapshot)?;
        self.db.save_version(version, &json, at).await
    }

    /// The snapshot stored under a flow version, if any.
    pub async fn load_version(&self, version: &str) -> Result<Option<Snapshot>, StoreError> {
        Ok(match self.db.load_version(version).await? {
            Some(j) => Some(serde_json::from_str(&j)?),
            None => None,
        })
    }

    /// Every stored flow version, oldest first, with the calls on it as of `now`.
    pub async fn versions(&self, now: Timestamp) -> Result<Vec<StoredVersion>, StoreError> {
        let idle = jiff::SignedDuration::try_from(live::IDLE).unwrap_or(jiff::SignedDuration::MAX);
        let since = now.checked_sub(idle).unwrap_or(Timestamp::MIN);
        self.db.versions(since).await
    }

    /// The calls waiting for a queue's result now, on every instance
    /// sharing the database: Switchboard's own queue. Their sealed
    /// sensitive values stay sealed (the queue needs none of them).
    pub async fn waiting(&self, now: Timestamp) -> Result<Vec<CallState>, StoreError> {
        let idle = jiff::SignedDuration::try_from(live::IDLE).unwrap_or(jiff::SignedDuration::MAX);
        let since = now.checked_sub(idle).unwrap_or(Timestamp::MIN);
        let rows = self.db.waiting(since).await?;
        Ok(rows
            .iter()
            .filter_map(|json| serde_json::from_str::<CallState>(json).ok())
            .collect())
    }

    /// The voice XML a call's step answered (for retried callbacks).
    pub async fn response(&self, call_sid: &str, step: u64) -> Result<Option<String>, StoreError> {
        self.db.response(call_sid, step).await
    }

    /// Earlier calls from `caller` since `since`.
    pub async fn history(
        &self,
        caller: &str,
        since: Timestamp,
    ) -> Result<Vec<PastCall>, StoreError> {
        self.db.history(caller, since).await
    }

    /// How many records a call's event log holds.
    pub async fn event_count(&self, call_sid: &str) -> Result<u64, StoreError> {
        self.db.event_count(call_sid).await
    }

    /// Is a call over with its whole log stored: it has ended, its final
    /// status is recorded, and every step from the first to the last has
    /// its row?
    pub async fn log_complete(&self, call_sid: &str) -> Result<bool, StoreError> {
        self.db.log_complete(call_sid).await
    }

    /// One batch of a purge ([`retention::purge`]).
    pub async fn purge_batch(&self, before: Timestamp, limit: u32) -> Result<Removed, StoreError> {
        self.db.purge_batch(before, limit).await
    }

    /// What a purge of the calls started before `before` would remove.
    pub async fn purgeable(&self, before: Timestamp) -> Result<Removed, StoreError> {
        self.db.purgeable(before).await
    }

    /// Remember a finished purge.
    pub async fn record_purge(
        &self,
        before: Timestamp,
        at: Timestamp,
        calls: u64,
    ) -> Result<(), StoreError> {
        self.db.record_purge(before, at, calls).await
    }

    /// Calls started before this time have been purged: reports cover
    /// only the time since.
    pub async fn purged_before(&self) -> Result<Option<Timestamp>, StoreError> {
        self.db.purged_before().await
    }

    /// The rows of a report on `period`.
    pub async fn report_rows(
        &self,
        period: &reports::Period,
    ) -> Result<reports::ReportRows, StoreError> {
        self.db.report_rows(period).await
    }

    /// Everything stored about `number`, as one JSON document.
    pub async fn export_caller(
        &self,
        number: &str,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let rows = self.db.caller(number).await?;
        Ok((!rows.is_empty()).then(|| callers::export(number, &rows)))
    }

    /// Erase `number` (see [`callers`]), its hash keyed by this store's data key.
    pub async fn erase_caller(&self, number: &str, now: Timestamp) -> Result<Erasure, StoreError> {
        let idle = jiff::SignedDuration::try_from(live::IDLE).unwrap_or(jiff::SignedDuration::MAX);
        let since = now.checked_sub(idle).unwrap_or(Timestamp::MIN);
        let hash = self.keys.caller_hash(number);
        let mut erased = self.db.erase_caller(number, &hash, since).await?;
        erased.hash = hash;
        Ok(erased)
    }

    /// The group closures in force at `now`.
    pub async fn closures(&self, now: Timestamp) -> Result<Closures, StoreError> {
        Ok(Closures::new(self.db.closures(now).await?))
    }

    /// Close a group until a time (see [`admin`]).
    pub async fn close_group(&self, c: &Closure) -> Result<(), StoreError> {
        self.db.close_group(c).await
    }

    /// Reopen a group; `false` if it had no closure stored.
    pub async fn open_group(&self, group: &str) -> Result<bool, StoreError> {
        self.db.open_group(group).await
    }

    /// Voicemails not yet handled, oldest first.
    pub async fn open_voicemails(
        &self,
        group: Option<&str>,
        limit: u32,
    ) -> Result<Vec<admin::OpenVoicemail>, StoreError> {
        self.db.open_voicemails(group, limit).await
    }

    /// Callback requests not yet done, oldest first.
    pub async fn open_callbacks(
        &self,
        group: Option<&str>,
        limit: u32,
    ) -> Result<Vec<admin::OpenCallback>, StoreError> {
        self.db.open_callbacks(group, limit).await
    }

    /// Calls ended in the hours from the one `since` falls in to the one
    /// before `until` that reached each node and that hung up there.
    pub async fn node_traffic(
        &self,
        since: Timestamp,
        until: Timestamp,
    ) -> Result<std::collections::BTreeMap<String, crate::diagram::NodeTraffic>, StoreError> {
        Ok(admin::node_traffic(self.db.funnel(since, until).await?))
    }

    /// Calls live now on any instance sharing the database: not ended, and
    /// started less than a call's longest life ago.
    pub async fn live_calls(&self, now: Timestamp) -> Result<u64, StoreError> {
        Ok(self.versions(now).await?.iter().map(|v| v.live).sum())
    }

    /// Mark a voicemail handled or a callback request done.
    pub async fn mark(
        &self,
        tray: admin::Tray,
        id: i64,
        at: Timestamp,
    ) -> Result<admin::Marked, StoreError> {
        self.db.mark(tray, id, at).await
    }

    /// Why the store refuses writes, if it does: what happened to its
    /// files and what to do (for health checks).
    pub fn trouble(&self) -> Option<String> {
        self.db.trouble()
    }

    /// Finish pending writes and close.
    pub async fn close(&self) {
        self.db.close().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_statements_name_parameters_in_order_for_sqlites_positional_binding() {
        // (The report's statements are read with `reports::numbered`.)
        use admin::*;
        for sql in [
            CLOSURES_SQL,
            CLOSE_SQL,
            OPEN_SQL,
            VOICEMAILS_SQL,
            CALLBACKS_SQL,
            VOICEMAIL_HANDLED_SQL,
            CALLBACK_DONE_SQL,
        ] {
            let mut seen = 0;
            for (i, _) in sql.match_indices('$') {
                let n: u32 = sql[i + 1..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
                    .parse()
                    .unwrap();
                assert!(n <= seen + 1, "${n} before ${} in {sql}", seen + 1);
                seen = seen.max(n);
            }
        }
    }

    #[test]
    fn a_url_shown_anywhere_hides_its_password() {
        for (url, shown) in [
            (
                "postgres://app:s3cret@db.example:5432/calls",
                "postgres://app:***@db.example:5432/calls",
            ),
            (
                "postgres://app:p%40ss@db/calls?sslmode=require",
                "postgres://app:***@db/calls?sslmode=require",
            ),
            (
                "postgresql://db/calls?user=app&password=hunter2&sslmode=require",
                "postgresql://db/calls?user=app&password=***&sslmode=require",
            ),
            ("postgres://app@db/calls", "postgres://app@db/calls"),
            ("sqlite://switchboard.db", "sqlite://switchboard.db"),
        ] {
            assert_eq!(redacted(url), shown);
        }
    }

    #[test]
    fn a_url_picks_its_backend_or_says_which_it_takes() {
        assert_eq!(Kind::of("sqlite://x.db").ok(), Some(Kind::Sqlite));
        assert_eq!(Kind::of("sqlite::memory:").ok(), Some(Kind::Sqlite));
        assert_eq!(Kind::of("postgres://h/db").ok(), Some(Kind::Postgres));
        assert_eq!(Kind::of("postgresql://h/db").ok(), Some(Kind::Postgres));
        let e = Kind::of("mysql://root:pw@h/db")
            .err()
            .map(|e| e.to_string());
        let e = e.unwrap_or_default();
        assert!(e.contains("postgres://") && e.contains("sqlite://"), "{e}");
        assert!(!e.contains("pw"), "{e}");
    }
}
