//! Persistence: calls, their append-only event log, the voice XML each step
//! answered, voicemails, callback requests and survey answers.
//!
//! [`Store`] is the one interface handlers use; SQLite ([`sqlite`]) is the
//! embedded default, and a PostgreSQL implementation will sit beside it. No
//! SQL leaves this module. [`Commit`] is built purely from an engine step, so
//! what is stored is exactly what the engine decided.

pub mod live;
pub mod sqlite;
pub mod versions;

use crate::engine::{CallState, PastCall, RecordKind, Step, Wait};
use crate::flow::snapshot::Snapshot;
use crate::program::Program;
use crate::simulate::outcome_code;
use jiff::Timestamp;
use std::sync::Arc;

/// Why the store failed.
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
    /// Migrations could not run.
    #[error(
        "database migration failed: {0}. The failed migration was rolled back. If you added views, triggers or indexes of your own on Switchboard's tables, drop them, start again and recreate them; a step whose call is missing (`steps` rows with no `calls` row) must be removed or given its call first"
    )]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database was made by a pre-release build whose schema has changed.
    #[error(
        "the database was created by an earlier pre-release Switchboard whose schema has changed ({0}): move the database file aside (e.g. `mv switchboard.db switchboard.db.old`) and start again"
    )]
    Outdated(String),
    /// Stored state could not be read back.
    #[error("stored call state is unreadable: {0}")]
    State(#[from] serde_json::Error),
    /// The URL names no supported database.
    #[error(
        "unsupported database URL `{0}`: use sqlite://FILE (PostgreSQL support comes with the scale-out store)"
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
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        StoreError::Database(Box::new(e))
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
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
    /// `outcome_code` and the group name, once the call has an outcome.
    pub outcome: Option<(String, Option<String>)>,
    /// Voicemails left: (group, url, seconds).
    pub voicemails: Vec<(String, String, u32)>,
    /// Callbacks promised: (group, number).
    pub callbacks: Vec<(String, String)>,
    /// Survey answers: (node, group of the call, rating, scale).
    pub surveys: Vec<(String, Option<String>, u32, u32)>,
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
            (outcome_code(p, o), group)
        });
        let call_group = match state.outcome {
            Some(crate::engine::Outcome::Group(g)) => group_name(g),
            _ => None,
        };
        let mut voicemails = Vec::new();
        let mut callbacks = Vec::new();
        let mut surveys = Vec::new();
        let mut logged = Vec::with_capacity(step.records.len());
        for r in &step.records {
            let node = r.node.map(|n| p.qualified_name(n));
            match &r.kind {
                RecordKind::Voicemail {
                    group,
                    url,
                    seconds,
                } => voicemails.push((group.clone(), url.clone(), *seconds)),
                RecordKind::CallbackRequested { group, number } => {
                    callbacks.push((group.clone(), number.clone()))
                }
                RecordKind::Rating { value, scale } => surveys.push((
                    node.clone().unwrap_or_default(),
                    call_group.clone(),
                    *value,
                    *scale,
                )),
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
            state,
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

/// The store: a database chosen once at start from its URL, and the calls in
/// progress kept in memory beside it ([`live::LiveCalls`]).
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
    live: Arc<live::LiveCalls>,
}

#[derive(Clone, Debug)]
enum Db {
    /// The embedded default.
    Sqlite(sqlite::SqliteStore),
}

impl Store {
    /// Open (creating and migrating) the database at `url`, e.g. `sqlite://switchboard.db`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let live = Arc::new(live::LiveCalls::default());
        let db = if url.starts_with("sqlite:") {
            Db::Sqlite(sqlite::SqliteStore::open(url, live.clone()).await?)
        } else {
            return Err(StoreError::Url(url.to_owned()));
        };
        Ok(Store { db, live })
    }

    /// Write a step; returns once it is committed (and the call's state in
    /// memory follows it).
    pub async fn commit(&self, c: Commit) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite(s) => s.commit(c).await,
        }
    }

    /// A call's state: from memory while it is live, else from the database.
    pub async fn load(&self, call_sid: &str) -> Result<Option<CallState>, StoreError> {
        if let Some(s) = self.live.get(call_sid) {
            return Ok(Some(s));
        }
        self.load_stored(call_sid).await
    }

    /// A call's state if it is in memory (no read): for the apology's language.
    pub fn cached(&self, call_sid: &str) -> Option<CallState> {
        self.live.get(call_sid)
    }

    /// A call's state as the database has it (memory is refreshed from it):
    /// for a callback that is ahead of the state in memory.
    pub async fn load_stored(&self, call_sid: &str) -> Result<Option<CallState>, StoreError> {
        self.live.forget(call_sid);
        let state = match &self.db {
            Db::Sqlite(s) => s.load(call_sid).await?,
        };
        if let Some(s) = &state {
            self.live.put(s);
        }
        Ok(state)
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
        match &self.db {
            Db::Sqlite(s) => s.save_version(version, &json, at).await,
        }
    }

    /// The snapshot stored under a flow version, if any.
    pub async fn load_version(&self, version: &str) -> Result<Option<Snapshot>, StoreError> {
        let json = match &self.db {
            Db::Sqlite(s) => s.load_version(version).await?,
        };
        Ok(match json {
            Some(j) => Some(serde_json::from_str(&j)?),
            None => None,
        })
    }

    /// The voice XML a call's step answered (for retried callbacks).
    pub async fn response(&self, call_sid: &str, step: u64) -> Result<Option<String>, StoreError> {
        match &self.db {
            Db::Sqlite(s) => s.response(call_sid, step).await,
        }
    }

    /// Earlier calls from `caller` since `since`.
    pub async fn history(
        &self,
        caller: &str,
        since: Timestamp,
    ) -> Result<Vec<PastCall>, StoreError> {
        match &self.db {
            Db::Sqlite(s) => s.history(caller, since).await,
        }
    }

    /// How many records a call's event log holds.
    pub async fn event_count(&self, call_sid: &str) -> Result<u64, StoreError> {
        match &self.db {
            Db::Sqlite(s) => s.event_count(call_sid).await,
        }
    }

    /// Is a call over with its whole log stored: it has ended, its final
    /// status is recorded, and every step from the first to the last has
    /// its row?
    pub async fn log_complete(&self, call_sid: &str) -> Result<bool, StoreError> {
        match &self.db {
            Db::Sqlite(s) => s.log_complete(call_sid).await,
        }
    }

    /// Why the store refuses writes, if it does: what happened to its
    /// files and what to do (for health checks).
    pub fn trouble(&self) -> Option<String> {
        match &self.db {
            Db::Sqlite(s) => s.trouble(),
        }
    }

    /// Finish pending writes and close.
    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite(s) => s.close().await,
        }
    }
}
