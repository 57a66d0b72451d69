//! Group commit, whichever database takes it: the writes queued for a
//! writer ([`Write`]), the ones whose callers stopped waiting
//! ([`drop_abandoned`]), and a batch of commits as the rows it writes —
//! each commit's values computed once ([`Row`]), the one summary row per
//! call ([`summaries`]) and the records appended to steps
//! ([`annotations`]). The backends bind these to their own SQL.

use super::reports::hour_of;
use super::{Commit, StoreError};
use crate::report::{CallFacts, QueueFact};
use tokio::sync::oneshot;

/// A commit queued for a writer, and where its answer goes.
pub(super) type Write = (Box<Commit>, oneshot::Sender<Result<(), StoreError>>);

/// Take out the commits whose callers stopped waiting: a request whose
/// deadline passed answered the apology instead, and the store must hold
/// what the caller heard, not a step nobody heard.
pub(super) fn drop_abandoned(batch: &mut Vec<Write>) {
    let before = batch.len();
    batch.retain(|(_, done)| !done.is_closed());
    if batch.len() < before {
        tracing::warn!(
            commits = before - batch.len(),
            "dropped steps whose callers stopped waiting before they could be written"
        );
    }
}

/// A commit with the values its rows need, computed once.
pub(super) struct Row<'a> {
    pub(super) c: &'a Commit,
    /// The engine's state after the step (JSON).
    pub(super) state: String,
    /// What the call waits for, as the `wait` column names it.
    pub(super) wait: String,
    /// When the step happened (Unix milliseconds).
    pub(super) at: i64,
    /// `at`, if the step ended the call.
    pub(super) ended_at: Option<i64>,
    pub(super) outcome: Option<&'a str>,
    pub(super) outcome_group: Option<&'a str>,
}

impl<'a> Row<'a> {
    pub(super) fn of(c: &'a Commit) -> Result<Row<'a>, serde_json::Error> {
        let at = c.at.as_millisecond();
        let (outcome, outcome_group) = c.outcome.as_ref().map_or((None, None), |o| {
            (Some(o.code.as_str()), o.group.as_deref())
        });
        Ok(Row {
            c,
            state: serde_json::to_string(&c.state)?,
            wait: format!("{:?}", c.state.wait),
            at,
            ended_at: c.ended().then_some(at),
            outcome,
            outcome_group,
        })
    }

    /// Does this commit start a call (its `calls` row is new)?
    pub(super) fn new_call(&self) -> bool {
        self.c.moved() && self.c.expected_step.is_none()
    }
}

/// One call's summary row as a batch leaves it.
pub(super) struct Summary<'r, 'a> {
    /// The commit whose node and outcome the row takes.
    pub(super) row: &'r Row<'a>,
    /// The final status of any of the call's commits in the batch.
    pub(super) final_status: Option<&'a str>,
    /// The end of any of them.
    pub(super) ended_at: Option<i64>,
    /// What the call adds to reports, from the commit that ended it.
    pub(super) facts: Option<&'a CallFacts>,
}

impl Summary<'_, '_> {
    /// The report columns of the call's row: class, kind, group.
    pub(super) fn report(&self) -> (Option<&'static str>, Option<&'static str>, Option<&str>) {
        report_columns(self.facts)
    }
}

/// The report columns of a call's row (class, kind, group) from its facts.
pub(super) fn report_columns(
    facts: Option<&CallFacts>,
) -> (Option<&'static str>, Option<&'static str>, Option<&str>) {
    facts.map_or((None, None, None), |f| {
        (Some(f.class.code()), f.kind, f.group.as_deref())
    })
}

/// Every queue wait of the calls that end in `rows`: the call, its number
/// among the call's waits (from 1), and the wait.
pub(super) fn queue_waits<'r>(rows: &'r [Row<'_>]) -> Vec<(&'r str, i64, &'r QueueFact)> {
    rows.iter()
        .filter_map(|r| r.c.facts.as_ref().map(|f| (r, f)))
        .flat_map(|(r, f)| {
            f.queues
                .iter()
                .zip(1..)
                .map(move |(q, seq)| (r.c.state.call_id.as_str(), seq, q))
        })
        .collect()
}

/// The funnel's counts of the calls that end in `rows`, added up by the
/// hour each call ended in, node and what happened (the order rows are
/// locked in, so two writers adding to the same rows never deadlock).
pub(super) fn funnel<'r>(rows: &'r [Row<'_>]) -> Vec<(i64, &'r str, &'r str, i64)> {
    let mut sums: std::collections::BTreeMap<(i64, &str, &str), i64> = Default::default();
    for (r, f) in rows
        .iter()
        .filter_map(|r| r.c.facts.as_ref().map(|f| (r, f)))
    {
        let hour = hour_of(r.at);
        for m in &f.funnel {
            *sums
                .entry((hour, m.node.as_str(), m.what.as_str()))
                .or_default() += i64::from(m.n);
        }
    }
    sums.into_iter()
        .map(|((hour, node, what), n)| (hour, node, what, n))
        .collect()
}

/// The calls that end in `rows` with a group, from a known number: each
/// marks its caller's previous call about that group as called again
/// (`calls.again_ms`). The call and the group.
pub(super) fn called_again<'r>(rows: &'r [Row<'_>]) -> Vec<(&'r str, &'r str)> {
    rows.iter()
        .filter_map(|r| {
            let f = r.c.facts.as_ref().filter(|f| f.caller_known)?;
            Some((r.c.state.call_id.as_str(), f.group.as_deref()?))
        })
        .collect()
}

/// A call's `again_ms` as its end leaves it: -1 for a call with a group
/// from a withheld number (it can never count as called again), else
/// unchanged (NULL).
pub(super) fn withheld_mark(facts: Option<&CallFacts>) -> Option<i64> {
    facts
        .filter(|f| !f.caller_known && f.group.is_some())
        .map(|_| -1)
}

/// Every self-service answer heard by the calls that end in `rows`: the
/// call, its number among the call's answers (from 1), the topic, whether
/// the caller went on to an agent after it, and when the call ended.
pub(super) fn topics_heard<'r>(rows: &'r [Row<'_>]) -> Vec<(&'r str, i64, &'r str, bool, i64)> {
    rows.iter()
        .filter_map(|r| r.c.facts.as_ref().map(|f| (r, f)))
        .flat_map(|(r, f)| {
            f.topics.iter().zip(1..).map(move |((topic, agent), seq)| {
                (
                    r.c.state.call_id.as_str(),
                    seq,
                    topic.as_str(),
                    *agent,
                    r.at,
                )
            })
        })
        .collect()
}

/// The call rows a batch changes, one per call: an existing call's summary
/// changes with a known outcome, an end or a final status, including from
/// steps that moved nothing (the final status arrives after the end). Two
/// commits for one call in a batch (a late result beside the step it came
/// at) become one row: the later step's, with the final status and end of
/// either.
pub(super) fn summaries<'r, 'a>(rows: &'r [Row<'a>]) -> Vec<Summary<'r, 'a>> {
    let mut out: Vec<Summary<'r, 'a>> = Vec::new();
    for r in rows
        .iter()
        .filter(|r| r.c.expected_step.is_some() && r.c.changes_summary())
    {
        let status = r.c.final_status.as_deref();
        match out
            .iter_mut()
            .find(|o| o.row.c.state.call_id == r.c.state.call_id)
        {
            Some(o) => {
                let later = (r.c.state.step, r.c.moved()) > (o.row.c.state.step, o.row.c.moved());
                if later {
                    o.row = r;
                }
                o.final_status = o.final_status.or(status);
                o.ended_at = o.ended_at.or(r.ended_at);
                o.facts = o.facts.or(r.c.facts.as_ref());
            }
            None => out.push(Summary {
                row: r,
                final_status: status,
                ended_at: r.ended_at,
                facts: r.c.facts.as_ref(),
            }),
        }
    }
    out
}

/// The records of the commits in `rows` that moved nothing, one entry per
/// step they came at, each step's records joined in batch order into one
/// JSON array (for a database that appends them in one statement).
pub(super) fn annotations<'r>(rows: &'r [Row<'_>]) -> Vec<(&'r str, u64, String)> {
    let mut out: Vec<(&str, u64, String)> = Vec::new();
    for r in rows.iter().filter(|r| !r.c.moved()) {
        let (id, step) = (r.c.state.call_id.as_str(), r.c.state.step);
        match out.iter_mut().find(|(i, s, _)| *i == id && *s == step) {
            Some((_, _, events)) => *events = joined(events, &r.c.events),
            None => out.push((id, step, r.c.events.clone())),
        }
    }
    out
}

/// Two JSON arrays as one: `[a,b]` and `[c]` make `[a,b,c]`.
fn joined(first: &str, second: &str) -> String {
    let inside = |a: &'_ str| -> String {
        let a = a.trim();
        let a = a.strip_prefix('[').unwrap_or(a);
        a.strip_suffix(']').unwrap_or(a).trim().to_owned()
    };
    let (a, b) = (inside(first), inside(second));
    match (a.is_empty(), b.is_empty()) {
        (true, _) => format!("[{b}]"),
        (_, true) => format!("[{a}]"),
        _ => format!("[{a},{b}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_arrays_join_in_order() {
        assert_eq!(joined("[1,2]", "[3]"), "[1,2,3]");
        assert_eq!(joined("[]", "[3]"), "[3]");
        assert_eq!(joined("[{\"a\":[1]}]", "[]"), "[{\"a\":[1]}]");
        assert_eq!(joined("[]", "[]"), "[]");
        assert_eq!(joined("[[1]]", "[[2]]"), "[[1],[2]]");
        let both: serde_json::Value =
            serde_json::from_str(&joined("[{\"x\":\"]\"}]", "[{\"y\":\"[\"}]")).unwrap_or_default();
        assert_eq!(both, serde_json::json!([{"x": "]"}, {"y": "["}]));
    }
}
