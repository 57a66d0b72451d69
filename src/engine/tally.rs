//! What a call did that reports add up, kept in its state as it goes: the
//! queues it waited in (for how long, how each wait ended), the
//! self-service answers (nodes with a `topic`) it heard, with whether the
//! caller went on to an agent after each, and what the caller did at each
//! node reached (the options chosen, the timeouts and invalid answers, the
//! tries given up), for the per-node funnel. The store keeps an ended
//! call's tally as rows that reports aggregate without reading event logs.

use super::QueueResult;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A call's queue waits and answers heard, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Every queue the call joined (an overflow is a second wait).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queues: Vec<QueueWait>,
    /// Every self-service answer heard, by topic.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<TopicHeard>,
    /// Every node reached, by its index in the call's program, with what
    /// the caller did there (a node reached twice counts once as reached).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub nodes: BTreeMap<u32, AtNode>,
}

/// What a caller did at one node, over all their visits to it. Short
/// field names: the tally is stored with every step of the call.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtNode {
    /// Prompts that timed out with nothing entered.
    #[serde(rename = "t", default, skip_serializing_if = "is_zero")]
    pub timeouts: u32,
    /// Answers that were not valid there.
    #[serde(rename = "i", default, skip_serializing_if = "is_zero")]
    pub invalid: u32,
    /// Visits that ran out of tries (and took the failure route).
    #[serde(rename = "g", default, skip_serializing_if = "is_zero")]
    pub gave_up: u32,
    /// Choices made there, by what was chosen: an option's key, or
    /// `operator`, `repeat`, `back`, `top`.
    #[serde(rename = "o", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub chose: BTreeMap<String, u32>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// How a caller missed at a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missed {
    /// Nothing entered in time.
    Timeout,
    /// Something not valid there.
    Invalid,
}

/// One wait in one group's queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueWait {
    /// The group, by name.
    pub group: String,
    /// When the call joined it (Unix milliseconds).
    pub joined: i64,
    /// How the wait ended, once it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<QueueResult>,
    /// How long the caller waited, in seconds: as the provider reports it,
    /// or else from when the call joined to when the wait ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waited: Option<u32>,
}

/// A self-service answer a caller heard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicHeard {
    /// The node's `topic`.
    pub topic: String,
    /// Did the caller join a queue after hearing it (the answer did not
    /// solve it)?
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub then_agent: bool,
}

impl Tally {
    /// Nothing counted yet?
    pub fn is_empty(&self) -> bool {
        self.queues.is_empty() && self.topics.is_empty() && self.nodes.is_empty()
    }

    /// The call reached node `node`.
    pub fn reached(&mut self, node: u32) {
        self.nodes.entry(node).or_default();
    }

    /// The caller chose `what` at `node`.
    pub fn chose(&mut self, node: u32, what: &str) {
        let at = self.nodes.entry(node).or_default();
        match at.chose.get_mut(what) {
            Some(n) => *n = n.saturating_add(1),
            None => {
                at.chose.insert(what.to_owned(), 1);
            }
        }
    }

    /// The caller missed at `node`; `gave_up` if that was the last try.
    pub fn missed(&mut self, node: u32, how: Missed, gave_up: bool) {
        let at = self.nodes.entry(node).or_default();
        let n = match how {
            Missed::Timeout => &mut at.timeouts,
            Missed::Invalid => &mut at.invalid,
        };
        *n = n.saturating_add(1);
        if gave_up {
            at.gave_up = at.gave_up.saturating_add(1);
        }
    }

    /// The call heard the answer on `topic` (twice in a row counts once).
    pub fn heard(&mut self, topic: &str) {
        if self
            .topics
            .last()
            .is_some_and(|t| t.topic == topic && !t.then_agent)
        {
            return;
        }
        self.topics.push(TopicHeard {
            topic: topic.to_owned(),
            then_agent: false,
        });
    }

    /// The call joins `group`'s queue at `now`, unless it already waits in
    /// it (a repeated document asks again for the same wait). Every answer
    /// heard before it did not solve the caller's problem.
    pub fn joined(&mut self, group: &str, now: Timestamp) {
        if self
            .queues
            .last()
            .is_some_and(|q| q.group == group && q.result.is_none())
        {
            return;
        }
        for t in &mut self.topics {
            t.then_agent = true;
        }
        self.queues.push(QueueWait {
            group: group.to_owned(),
            joined: now.as_millisecond(),
            result: None,
            waited: None,
        });
    }

    /// The current wait ended at `now` with `result`, after `waited` seconds
    /// as the provider counts them (else measured from when it began).
    pub fn left(&mut self, result: QueueResult, waited: Option<u32>, now: Timestamp) {
        let Some(q) = self.queues.last_mut().filter(|q| q.result.is_none()) else {
            return;
        };
        q.result = Some(result);
        let measured = (now.as_millisecond() - q.joined).max(0) / 1000;
        q.waited = Some(waited.unwrap_or(u32::try_from(measured).unwrap_or(u32::MAX)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_790_000_000 + s).expect("a time")
    }

    #[test]
    fn a_wait_ends_with_the_providers_time_or_the_measured_one() {
        let mut tally = Tally::default();
        tally.joined("orders", t(0));
        tally.joined("orders", t(5));
        assert_eq!(tally.queues.len(), 1, "asking again is the same wait");
        tally.left(QueueResult::Timeout, None, t(42));
        assert_eq!(tally.queues[0].waited, Some(42));
        tally.joined("general", t(42));
        tally.left(QueueResult::Bridged, Some(17), t(900));
        assert_eq!(
            (tally.queues[1].result, tally.queues[1].waited),
            (Some(QueueResult::Bridged), Some(17))
        );
        // A result with no wait open changes nothing.
        tally.left(QueueResult::Hangup, None, t(950));
        assert_eq!(tally.queues.len(), 2);
        assert_eq!(tally.queues[1].result, Some(QueueResult::Bridged));
    }

    #[test]
    fn answers_heard_before_a_queue_did_not_solve_it() {
        let mut tally = Tally::default();
        assert!(tally.is_empty());
        tally.heard("hub setup");
        tally.heard("hub setup");
        tally.heard("wifi");
        assert_eq!(tally.topics.len(), 2);
        tally.joined("support_tier1", t(0));
        tally.heard("app");
        let then: Vec<bool> = tally.topics.iter().map(|t| t.then_agent).collect();
        assert_eq!(then, [true, true, false]);
        let json = serde_json::to_string(&tally).expect("json");
        assert_eq!(serde_json::from_str::<Tally>(&json).expect("back"), tally);
        assert_eq!(
            serde_json::to_string(&Tally::default()).expect("json"),
            "{}"
        );
    }

    #[test]
    fn what_callers_did_at_a_node_adds_up_and_stays_short() {
        let mut tally = Tally::default();
        tally.reached(3);
        tally.reached(3);
        tally.missed(3, Missed::Timeout, false);
        tally.missed(3, Missed::Invalid, true);
        tally.chose(3, "2");
        tally.chose(3, "2");
        tally.chose(3, "operator");
        tally.reached(7);
        let at = &tally.nodes[&3];
        assert_eq!((at.timeouts, at.invalid, at.gave_up), (1, 1, 1));
        assert_eq!(at.chose["2"], 2);
        let json = serde_json::to_string(&tally).expect("json");
        assert_eq!(
            json,
            r#"{"nodes":{"3":{"t":1,"i":1,"g":1,"o":{"2":2,"operator":1}},"7":{}}}"#
        );
        assert_eq!(serde_json::from_str::<Tally>(&json).expect("back"), tally);
    }
}
