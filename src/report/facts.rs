//! What an ended call adds to reports, worked out once from its final state
//! and written with its end: how it ended as reports class it, the kind of
//! group it reached, each queue wait (with where the call went next: an
//! overflow or an escalation), each self-service answer it heard, what the
//! caller did at each node it reached (the funnel's [`Mark`]s), and whether
//! its caller is known (a withheld number never counts as calling again).

use crate::engine::{CallState, Outcome, QueueResult, QueueWait};
use crate::flow::raw::GroupKind;
use crate::program::{Exit, NodeKind, Program};
use petgraph::graph::NodeIndex;

/// How a call ended, as reports count it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// Spoke with an agent of a group.
    Agent,
    /// Transferred to a number.
    Transfer,
    /// Left a voicemail.
    Voicemail,
    /// Was promised a callback.
    Callback,
    /// Heard a self-service answer and ended without asking for an agent.
    SelfService,
    /// Ended by the flow otherwise (a goodbye, a closed message).
    Ended,
    /// Hung up in the menus, before reaching any of the above.
    MenuHangup,
    /// Hung up waiting in a queue.
    QueueAbandon,
    /// Sent to the failure route.
    Failure,
}

impl Class {
    /// Every class, in the order reports list them.
    pub const ALL: [Class; 9] = [
        Class::Agent,
        Class::Transfer,
        Class::Voicemail,
        Class::Callback,
        Class::SelfService,
        Class::Ended,
        Class::MenuHangup,
        Class::QueueAbandon,
        Class::Failure,
    ];

    /// The stored and machine-readable name.
    pub fn code(self) -> &'static str {
        match self {
            Class::Agent => "agent",
            Class::Transfer => "transfer",
            Class::Voicemail => "voicemail",
            Class::Callback => "callback",
            Class::SelfService => "self-service",
            Class::Ended => "ended",
            Class::MenuHangup => "menu-hangup",
            Class::QueueAbandon => "queue-abandon",
            Class::Failure => "failure",
        }
    }

    /// The class a stored name stands for.
    pub fn from_code(code: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.code() == code)
    }

    /// Words for a report.
    pub fn words(self) -> &'static str {
        match self {
            Class::Agent => "reached an agent",
            Class::Transfer => "transferred",
            Class::Voicemail => "left a voicemail",
            Class::Callback => "callback promised",
            Class::SelfService => "self-service resolved",
            Class::Ended => "ended by the flow",
            Class::MenuHangup => "hung up in a menu",
            Class::QueueAbandon => "abandoned in a queue",
            Class::Failure => "failure route",
        }
    }
}

/// A group kind's stored name.
pub fn kind_code(kind: GroupKind) -> &'static str {
    match kind {
        GroupKind::Service => "service",
        GroupKind::Support => "support",
    }
}

/// A queue result's stored name.
pub fn result_code(result: QueueResult) -> &'static str {
    match result {
        QueueResult::Bridged => "answered",
        QueueResult::Full => "full",
        QueueResult::Timeout => "timeout",
        QueueResult::Hangup => "abandoned",
        QueueResult::Error => "error",
    }
}

/// An ended call's figures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallFacts {
    /// How it ended.
    pub class: Class,
    /// The group it ended with (reached, left a voicemail or callback
    /// for), else the last it waited for.
    pub group: Option<String>,
    /// That group's kind: `service` or `support`.
    pub kind: Option<&'static str>,
    /// Its queue waits, in order.
    pub queues: Vec<QueueFact>,
    /// The answers it heard, in order: topic, and whether the caller went
    /// on to an agent after it.
    pub topics: Vec<(String, bool)>,
    /// What the caller did at each node the call reached, node by node.
    pub funnel: Vec<Mark>,
    /// The caller's number is known (not withheld): a later call from it
    /// about the same group counts as calling again.
    pub caller_known: bool,
}

/// One of the funnel's counts for one call: at `node` (qualified name),
/// `what` happened `n` times. `what` is [`REACHED`], [`TIMEOUT`],
/// [`INVALID`], [`GAVE_UP`], [`HUNG_UP`], or [`CHOSE`] followed by what was
/// chosen (an option as diagrams label it, e.g. `press 2: billing`, or
/// `operator`, `repeat`, `back`, `top`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mark {
    /// The node.
    pub node: String,
    /// What happened there.
    pub what: String,
    /// How often.
    pub n: u32,
}

/// The call reached the node (once per call).
pub const REACHED: &str = "reached";
/// A prompt there timed out with nothing entered.
pub const TIMEOUT: &str = "timeout";
/// The caller entered something not valid there.
pub const INVALID: &str = "invalid";
/// The caller ran out of tries there.
pub const GAVE_UP: &str = "gave-up";
/// The caller hung up there (in a menu, or waiting in a queue).
pub const HUNG_UP: &str = "hung-up";
/// The prefix of a choice made there.
pub const CHOSE: &str = "chose:";

/// Caller IDs that stand for a withheld number rather than a caller
/// (compared without case).
const WITHHELD: [&str; 8] = [
    "",
    "anonymous",
    "restricted",
    "unknown",
    "unavailable",
    "private",
    "blocked",
    "withheld",
];

/// Is `caller` a withheld number (so its calls cannot be told apart)?
/// The same rule as the migrations' `lower(caller) IN (…)`.
pub fn withheld(caller: &str) -> bool {
    let c = caller.trim().to_lowercase();
    WITHHELD.contains(&c.as_str())
}

/// The funnel counts of a call on `p` from its tally, with where it hung up.
fn funnel(p: &Program, s: &CallState, hung_up: bool) -> Vec<Mark> {
    let mut marks = Vec::new();
    for (&node, at) in &s.tally.nodes {
        let ix = NodeIndex::new(node as usize);
        let Some(n) = p.graph.node_weight(ix) else {
            continue;
        };
        let name = p.qualified_name(ix);
        let mut mark = |what: String, n: u32| {
            if n > 0 {
                marks.push(Mark {
                    node: name.clone(),
                    what,
                    n,
                });
            }
        };
        mark(REACHED.into(), 1);
        mark(TIMEOUT.into(), at.timeouts);
        mark(INVALID.into(), at.invalid);
        mark(GAVE_UP.into(), at.gave_up);
        for (what, count) in &at.chose {
            let option = match &n.kind {
                NodeKind::Menu(m) => m.options.iter().find(|o| o.key.to_string() == *what),
                _ => None,
            };
            let label = option.map_or_else(
                || what.clone(),
                |o| {
                    Exit::Option {
                        key: o.key,
                        words: o.words.clone(),
                        label: o.label.clone(),
                    }
                    .label()
                },
            );
            mark(format!("{CHOSE}{label}"), *count);
        }
        if hung_up && ix == s.at {
            mark(HUNG_UP.into(), 1);
        }
    }
    marks
}

/// One queue wait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueFact {
    /// The group.
    pub group: String,
    /// Its kind.
    pub kind: Option<&'static str>,
    /// Its tier, if it declares one.
    pub tier: Option<u32>,
    /// When the call joined (Unix milliseconds).
    pub joined: i64,
    /// How the wait ended ([`result_code`]); `abandoned` for a wait the
    /// call ended in without a result.
    pub result: &'static str,
    /// Seconds waited.
    pub waited: u32,
    /// The group the call waited for next, if any (an overflow, or an
    /// escalation to a higher tier).
    pub next: Option<String>,
    /// The group's service-level threshold then, in seconds.
    pub sl_secs: u32,
}

/// The figures of a call whose state is `s` as it ended, on `p` (the
/// program it ran on).
pub fn facts(p: &Program, s: &CallState) -> CallFacts {
    let group_of = |name: &str| p.group_by_name(name).and_then(|g| p.groups.get(g.index()));
    let queues: Vec<QueueFact> = s
        .tally
        .queues
        .iter()
        .enumerate()
        .map(|(i, q): (usize, &QueueWait)| {
            let g = group_of(&q.group);
            QueueFact {
                group: q.group.clone(),
                kind: g.map(|g| kind_code(g.kind)),
                tier: g.and_then(|g| g.tier),
                joined: q.joined,
                result: q.result.map_or("abandoned", result_code),
                waited: q.waited.unwrap_or(0),
                next: s.tally.queues.get(i + 1).map(|n| n.group.clone()),
                sl_secs: g.map_or(super::figures::SERVICE_LEVEL_SECS, |g| {
                    u32::try_from(g.service_level.as_secs()).unwrap_or(u32::MAX)
                }),
            }
        })
        .collect();
    let topics: Vec<(String, bool)> = s
        .tally
        .topics
        .iter()
        .map(|t| (t.topic.clone(), t.then_agent))
        .collect();
    let name = |g: crate::program::GroupId| p.groups.get(g.index()).map(|g| g.name.clone());
    let abandoned_waiting = queues.last().is_some_and(|q| q.result == "abandoned");
    let (class, group) = match s.outcome {
        Some(Outcome::Group(g)) => (Class::Agent, name(g)),
        Some(Outcome::Voicemail(g)) => (Class::Voicemail, name(g)),
        Some(Outcome::Callback(g)) => (Class::Callback, name(g)),
        Some(Outcome::Transfer) => (Class::Transfer, None),
        Some(Outcome::Fallback) => (Class::Failure, None),
        Some(Outcome::Abandoned) if abandoned_waiting => (Class::QueueAbandon, None),
        Some(Outcome::Abandoned) | None => (Class::MenuHangup, None),
        Some(Outcome::Hangup) if topics.iter().any(|(_, agent)| !agent) => {
            (Class::SelfService, None)
        }
        Some(Outcome::Hangup) => (Class::Ended, None),
    };
    let group = group.or_else(|| queues.last().map(|q| q.group.clone()));
    let kind = group
        .as_deref()
        .and_then(group_of)
        .map(|g| kind_code(g.kind));
    let hung_up = matches!(class, Class::MenuHangup | Class::QueueAbandon);
    CallFacts {
        class,
        group,
        kind,
        queues,
        topics,
        funnel: funnel(p, s, hung_up),
        caller_known: !withheld(&s.caller),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_has_a_code_that_reads_back() {
        for c in Class::ALL {
            assert_eq!(Class::from_code(c.code()), Some(c));
        }
        assert_eq!(Class::from_code("nonsense"), None);
    }

    #[test]
    fn withheld_numbers_are_told_from_callers() {
        for c in [
            "anonymous",
            "Anonymous",
            " RESTRICTED ",
            "",
            "unknown",
            "Private",
        ] {
            assert!(withheld(c), "{c:?}");
        }
        for c in [
            "+15551234567",
            "client:alice",
            "sip:alice@example.com",
            "266696687",
        ] {
            assert!(!withheld(c), "{c:?}");
        }
    }
}
