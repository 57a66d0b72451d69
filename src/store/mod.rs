//! Persistence: calls, their append-only event log, the voice XML each step
//! answered, voicemails, callback requests and survey answers.
//!
//! [`Store`] is the one interface handlers use; SQLite ([`sqlite`]) is the
//! embedded default, and a PostgreSQL implementation will sit beside it. No
//! SQL leaves this module. [`Commit`] is built purely from an engine step, so
//! what is stored is exactly what the engine decided.

pub mod sqlite;

use crate::engine::{CallState, PastCall, RecordKind, Step, Wait};
use crate::program::Program;
use crate::simulate::outcome_code;
use jiff::Timestamp;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations could not run.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Stored state could not be read back.
    #[error("stored call state is unreadable: {0}")]
    State(#[from] serde_json::Error),
    /// The URL names no supported database.
    #[error(
        "unsupported database URL `{0}`: use sqlite://FILE (PostgreSQL support comes with the scale-out store)"
    )]
    Url(String),
    /// The writer has stopped (shutdown, or it failed to start).
    #[error("the store is closed")]
    Closed,
    /// The call moved on since it was loaded (a duplicate callback won the race).
    #[error("the call has already moved past this step")]
    Conflict,
}

/// One row of the event log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRow {
    /// Node (`flow.node`), if the record has one.
    pub node: Option<String>,
    /// Record kind, e.g. `heard`, `keys`, `decided`.
    pub kind: String,
    /// The record as JSON.
    pub data: String,
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
    /// The event log rows of the step.
    pub events: Vec<EventRow>,
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

impl Commit {
    /// What a step writes: its state, its records as event rows, and the
    /// voicemails, callbacks and survey answers among them.
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
        let mut c = Commit {
            expected_step,
            flow: p
                .flows
                .get(state.flow.index())
                .map_or_else(String::new, |f| f.name.clone()),
            node: p.qualified_name(state.at),
            at,
            events: Vec::with_capacity(step.records.len()),
            response,
            final_status,
            outcome,
            voicemails: Vec::new(),
            callbacks: Vec::new(),
            surveys: Vec::new(),
            state,
        };
        for r in &step.records {
            let node = r.node.map(|n| p.qualified_name(n));
            match &r.kind {
                RecordKind::Voicemail {
                    group,
                    url,
                    seconds,
                } => c.voicemails.push((group.clone(), url.clone(), *seconds)),
                RecordKind::CallbackRequested { group, number } => {
                    c.callbacks.push((group.clone(), number.clone()))
                }
                RecordKind::Rating { value, scale } => c.surveys.push((
                    node.clone().unwrap_or_default(),
                    call_group.clone(),
                    *value,
                    *scale,
                )),
                _ => {}
            }
            let data = serde_json::to_value(&r.kind).unwrap_or(serde_json::Value::Null);
            let kind = data
                .get("type")
                .and_then(|t| t.as_str())
                .unwrap_or("unknown")
                .to_owned();
            c.events.push(EventRow {
                node,
                kind,
                data: data.to_string(),
            });
        }
        c
    }

    /// Has the call ended?
    pub fn ended(&self) -> bool {
        self.state.wait == Wait::Ended
    }
}

/// The store, chosen once at start from the database URL.
#[derive(Clone, Debug)]
pub enum Store {
    /// The embedded default.
    Sqlite(sqlite::SqliteStore),
}

impl Store {
    /// Open (creating and migrating) the database at `url`, e.g. `sqlite://switchboard.db`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        if url.starts_with("sqlite:") {
            return Ok(Store::Sqlite(sqlite::SqliteStore::open(url).await?));
        }
        Err(StoreError::Url(url.to_owned()))
    }

    /// Write a step; returns once it is committed.
    pub async fn commit(&self, c: Commit) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.commit(c).await,
        }
    }

    /// A call's state.
    pub async fn load(&self, call_sid: &str) -> Result<Option<CallState>, StoreError> {
        match self {
            Store::Sqlite(s) => s.load(call_sid).await,
        }
    }

    /// The voice XML a call's step answered (for retried callbacks).
    pub async fn response(&self, call_sid: &str, step: u64) -> Result<Option<String>, StoreError> {
        match self {
            Store::Sqlite(s) => s.response(call_sid, step).await,
        }
    }

    /// Earlier calls from `caller` since `since`.
    pub async fn history(
        &self,
        caller: &str,
        since: Timestamp,
    ) -> Result<Vec<PastCall>, StoreError> {
        match self {
            Store::Sqlite(s) => s.history(caller, since).await,
        }
    }

    /// How many event-log rows a call has.
    pub async fn event_count(&self, call_sid: &str) -> Result<u64, StoreError> {
        match self {
            Store::Sqlite(s) => s.event_count(call_sid).await,
        }
    }

    /// Finish pending writes and close.
    pub async fn close(&self) {
        match self {
            Store::Sqlite(s) => s.close().await,
        }
    }
}
