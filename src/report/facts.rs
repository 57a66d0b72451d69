//! What an ended call adds to reports, worked out once from its final state
//! and written with its end: how it ended as reports class it, the kind of
//! group it reached, each queue wait (with where the call went next: an
//! overflow or an escalation), and each self-service answer it heard.

use crate::engine::{CallState, Outcome, QueueResult, QueueWait};
use crate::flow::raw::GroupKind;
use crate::program::Program;

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
    CallFacts {
        class,
        group,
        kind,
        queues,
        topics,
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
}
