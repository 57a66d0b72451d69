//! What the store holds about one caller, for the rights of access and
//! erasure: the rows of a number's calls as the backends read them
//! ([`CallerRows`]), assembled into one export document ([`export`]), and
//! what an erasure did ([`Erasure`]).
//!
//! Erasure deletes what describes the caller (each call's steps, with its
//! states, event log and voice XML; its voicemails; every callback request
//! of the call or to the number) and keeps each `calls` row and its survey
//! answers for the aggregate reports, the number replaced by a one-way keyed
//! hash ([`crate::privacy::DataKeys::caller_hash`]). Caller-history
//! conditions look calls up by number, so they stop matching the caller.

use serde_json::{Value, json};

/// A `calls` row: call_sid, flow, version, called, started_at, ended_at,
/// final_status, outcome, outcome_group, node, provider.
pub type CallRow = (
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
);

/// A `steps` row: call_sid, step, at, node, wait, state (JSON), events (JSON).
pub type StepRow = (String, i64, i64, String, String, String, String);

/// A `voicemails` row: call_sid, group, url, seconds, at.
pub type VoicemailRow = (String, String, String, i64, i64);

/// A `callbacks` row: id, call_sid, group, number, at, done.
pub type CallbackRow = (i64, String, String, String, i64, i64);

/// A `surveys` row: call_sid, node, group, rating, scale, at.
pub type SurveyRow = (String, String, Option<String>, i64, i64, i64);

/// Every row stored about a number, each table in time order.
#[derive(Debug, Default)]
pub struct CallerRows {
    /// Its calls.
    pub calls: Vec<CallRow>,
    /// Their steps.
    pub steps: Vec<StepRow>,
    /// Their voicemails.
    pub voicemails: Vec<VoicemailRow>,
    /// Callback requests of its calls, or to the number.
    pub callbacks: Vec<CallbackRow>,
    /// Their survey answers.
    pub surveys: Vec<SurveyRow>,
}

impl CallerRows {
    /// Nothing stored?
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty() && self.callbacks.is_empty()
    }
}

/// What an erasure did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Erasure {
    /// Calls whose number was replaced by the hash (their rows stay for reports).
    pub calls: u64,
    /// `steps` rows deleted.
    pub steps: u64,
    /// `voicemails` rows deleted.
    pub voicemails: u64,
    /// `callbacks` rows deleted.
    pub callbacks: u64,
    /// Calls left because they are still in progress.
    pub live: u64,
    /// The recordings of the deleted voicemails, which the provider keeps:
    /// delete them there.
    pub recordings: Vec<String>,
    /// The hash that now stands for the number.
    pub hash: String,
}

impl Erasure {
    /// Was anything stored about the number?
    pub fn found_anything(&self) -> bool {
        self.calls + self.steps + self.voicemails + self.callbacks + self.live > 0
    }
}

/// The reads of [`CallerRows`], one per table, the same SQL on both
/// backends (`$1` is the number).
pub(super) const CALLS_SQL: &str = "SELECT call_sid, flow, version, called, started_at, ended_at,
        final_status, outcome, outcome_group, node, COALESCE(provider, 'twilio')
    FROM calls WHERE caller = $1 ORDER BY started_at, call_sid";
pub(super) const STEPS_SQL: &str = "SELECT c.call_sid, s.step, s.at, s.node, s.wait,
        CAST(s.state AS TEXT), CAST(s.events AS TEXT)
    FROM calls c JOIN steps s ON s.call_id = c.id
    WHERE c.caller = $1 ORDER BY c.started_at, c.call_sid, s.step";
pub(super) const VOICEMAILS_SQL: &str =
    "SELECT v.call_sid, v.grp, v.url, CAST(v.seconds AS BIGINT), v.at
    FROM voicemails v JOIN calls c ON c.call_sid = v.call_sid
    WHERE c.caller = $1 ORDER BY v.at, v.id";
pub(super) const CALLBACKS_SQL: &str =
    "SELECT b.id, b.call_sid, b.grp, b.number, b.at, CAST(b.done AS BIGINT)
    FROM callbacks b
    WHERE b.number = $1 OR b.call_sid IN (SELECT call_sid FROM calls WHERE caller = $1)
    ORDER BY b.at, b.id";
pub(super) const SURVEYS_SQL: &str = "SELECT a.call_sid, a.node, a.grp, CAST(a.rating AS BIGINT),
        CAST(a.scale AS BIGINT), a.at
    FROM surveys a JOIN calls c ON c.call_sid = a.call_sid
    WHERE c.caller = $1 ORDER BY a.at, a.id";

fn time(ms: i64) -> Value {
    jiff::Timestamp::from_millisecond(ms).map_or(Value::Null, |t| Value::String(t.to_string()))
}

fn parsed(json: &str) -> Value {
    serde_json::from_str(json).unwrap_or(Value::Null)
}

/// The export document of `number`: its calls, each with its steps,
/// outcome, voicemails, callbacks and survey answers, and callbacks to the
/// number from other calls. A step's sealed sensitive values are left out
/// (they are no one's to read without the call).
pub fn export(number: &str, rows: &CallerRows) -> Value {
    let calls: Vec<Value> = rows
        .calls
        .iter()
        .map(|(sid, flow, version, called, started, ended, status, outcome, group, node, provider)| {
            let steps: Vec<Value> = rows
                .steps
                .iter()
                .filter(|s| &s.0 == sid)
                .map(|(_, step, at, node, wait, state, events)| {
                    let state = parsed(state);
                    json!({
                        "step": step,
                        "at": time(*at),
                        "node": node,
                        "waiting_for": wait,
                        "language": state.get("language"),
                        "variables": state.get("vars"),
                        "events": parsed(events),
                    })
                })
                .collect();
            let voicemails: Vec<Value> = rows
                .voicemails
                .iter()
                .filter(|v| &v.0 == sid)
                .map(|(_, group, url, seconds, at)| {
                    json!({ "group": group, "recording": url, "seconds": seconds, "at": time(*at) })
                })
                .collect();
            let callbacks: Vec<Value> = rows
                .callbacks
                .iter()
                .filter(|b| &b.1 == sid)
                .map(callback)
                .collect();
            let surveys: Vec<Value> = rows
                .surveys
                .iter()
                .filter(|a| &a.0 == sid)
                .map(|(_, node, group, rating, scale, at)| {
                    json!({ "node": node, "group": group, "rating": rating, "scale": scale, "at": time(*at) })
                })
                .collect();
            json!({
                "call": sid,
                "flow": flow,
                "flow_version": version,
                "called": called,
                "provider": provider,
                "started_at": time(*started),
                "ended_at": ended.map(time),
                "final_status": status,
                "outcome": outcome,
                "group": group,
                "last_node": node,
                "steps": steps,
                "voicemails": voicemails,
                "callbacks": callbacks,
                "survey_answers": surveys,
            })
        })
        .collect();
    let own: std::collections::BTreeSet<&str> = rows.calls.iter().map(|c| c.0.as_str()).collect();
    let others: Vec<Value> = rows
        .callbacks
        .iter()
        .filter(|b| !own.contains(b.1.as_str()))
        .map(callback)
        .collect();
    json!({
        "number": number,
        "exported_at": jiff::Timestamp::now().to_string(),
        "calls": calls,
        "callbacks_to_this_number": others,
    })
}

fn callback((id, sid, group, number, at, done): &CallbackRow) -> Value {
    json!({ "id": id, "call": sid, "group": group, "number": number, "at": time(*at), "done": *done != 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_nests_each_calls_rows_and_leaves_sealed_values_out() {
        let rows = CallerRows {
            calls: vec![(
                "CA1".into(),
                "main".into(),
                "v1".into(),
                "+18005550100".into(),
                0,
                Some(60_000),
                Some("completed".into()),
                Some("group:billing".into()),
                Some("billing".into()),
                "csat.goodbye".into(),
                "plivo".into(),
            )],
            steps: vec![(
                "CA1".into(),
                1,
                1000,
                "main.menu".into(),
                "Choice".into(),
                r#"{"language":"en-US","vars":{"tier":"1"},"secrets":{"pin":{"key":"k","nonce":"n","box":"b"}}}"#.into(),
                r#"[{"type":"keys","digits":"2"}]"#.into(),
            )],
            voicemails: vec![],
            callbacks: vec![(7, "CA9".into(), "orders".into(), "+15550001111".into(), 5, 0)],
            surveys: vec![("CA1".into(), "csat.rate".into(), Some("billing".into()), 5, 5, 50_000)],
        };
        let doc = export("+15550001111", &rows);
        let text = doc.to_string();
        assert!(
            !text.contains("secrets") && !text.contains("\"box\""),
            "{text}"
        );
        assert_eq!(doc["calls"][0]["steps"][0]["variables"]["tier"], "1");
        assert_eq!(doc["calls"][0]["survey_answers"][0]["rating"], 5);
        assert_eq!(doc["calls"][0]["ended_at"], "1970-01-01T00:01:00Z");
        assert_eq!(doc["calls"][0]["provider"], "plivo");
        assert_eq!(doc["callbacks_to_this_number"][0]["call"], "CA9");
    }
}
