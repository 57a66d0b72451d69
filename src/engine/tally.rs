//! What a call did that reports add up, kept in its state as it goes: the
//! queues it waited in (for how long, how each wait ended) and the
//! self-service answers (nodes with a `topic`) it heard, with whether the
//! caller went on to an agent after each. The store keeps an ended call's
//! tally as rows that reports aggregate without reading event logs.

use super::QueueResult;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A call's queue waits and answers heard, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Every queue the call joined (an overflow is a second wait).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queues: Vec<QueueWait>,
    /// Every self-service answer heard, by topic.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<TopicHeard>,
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
        self.queues.is_empty() && self.topics.is_empty()
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
}
