//! A report's figures, added up from the store's rows
//! ([`crate::store::reports::ReportRows`]): calls by how they ended,
//! overall, per group and per kind; each group's queue (answered,
//! abandoned and the time to abandon, average speed of answer, service
//! level, where it overflowed); escalations between tiers; first-contact
//! resolution (calls not called again about within a window); self-service
//! containment and the topics callers chose; CSAT per group and per kind;
//! and per node, the funnel of what callers did there.
//! Pure: the same rows give the same report whichever backend they came
//! from.

use super::facts::{self, Class};
use crate::store::reports::{REPEAT_WINDOW, ReportRows, hour_of};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use std::collections::BTreeMap;

/// Answered within this many seconds counts toward a group's service level.
pub const SERVICE_LEVEL_SECS: u32 = 20;

/// What a report covers and which calls it counts.
#[derive(Clone, Debug)]
pub struct Scope {
    /// Calls started at or after this.
    pub since: Timestamp,
    /// Calls started before this.
    pub until: Timestamp,
    /// Only this group's figures.
    pub group: Option<String>,
    /// Only this kind's (`service` or `support`).
    pub kind: Option<String>,
    /// Calls started before this were purged.
    pub purged_before: Option<Timestamp>,
    /// A call called again about within this long was not resolved at
    /// the first contact.
    pub repeat_window: SignedDuration,
}

impl Scope {
    /// Calls started in `[since, until)`, every group, the default window.
    pub fn new(since: Timestamp, until: Timestamp) -> Scope {
        Scope {
            since,
            until,
            group: None,
            kind: None,
            purged_before: None,
            repeat_window: REPEAT_WINDOW,
        }
    }
}

/// Calls that ended one way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClassCount {
    /// The class's code (`agent`, `queue-abandon`, …).
    pub outcome: &'static str,
    /// In words.
    pub words: &'static str,
    /// Calls.
    pub calls: u64,
}

/// Calls by how they ended, for the whole report, a group or a kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outcomes {
    /// The group's or kind's name; `all` for everything.
    pub name: String,
    /// The group's kind, for a group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Ended calls.
    pub calls: u64,
    /// Each class with any call, in [`Class::ALL`]'s order.
    pub outcomes: Vec<ClassCount>,
}

/// One group's queue.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Queue {
    /// The group.
    pub group: String,
    /// Its kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Waits that began in the period.
    pub entered: u64,
    /// Answered by an agent.
    pub answered: u64,
    /// The caller hung up waiting.
    pub abandoned: u64,
    /// Left for no agent within the group's longest wait.
    pub timed_out: u64,
    /// Refused: the queue was full.
    pub full: u64,
    /// The provider could not queue the call.
    pub errors: u64,
    /// Abandoned ÷ (answered + abandoned).
    pub abandonment: Option<f64>,
    /// Mean seconds waited by the answered (average speed of answer).
    pub speed_of_answer_s: Option<f64>,
    /// Mean seconds waited by those who hung up.
    pub time_to_abandon_s: Option<f64>,
    /// Answered within [`Queue::threshold_s`] ÷ (answered + abandoned).
    pub service_level: Option<f64>,
    /// The service level's threshold.
    pub threshold_s: u32,
    /// Where the waits that did not end in an answer went next.
    pub overflowed_to: Vec<Moved>,
}

/// Waits followed by a wait for another group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Moved {
    /// From.
    pub from: String,
    /// To.
    pub to: String,
    /// How many.
    pub calls: u64,
}

/// CSAT for a group or a kind.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Csat {
    /// The group's or kind's name.
    pub name: String,
    /// Answers.
    pub answers: u64,
    /// Mean rating, on a 1–5 scale.
    pub mean: Option<f64>,
    /// Answers per rating 1–5 (ratings on other scales scaled to 5).
    pub distribution: [u64; 5],
    /// Answers ÷ calls that reached an agent there.
    pub response_rate: Option<f64>,
}

/// A self-service answer's figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Topic {
    /// The node's `topic`.
    pub topic: String,
    /// Times heard.
    pub heard: u64,
    /// Times the caller went on to an agent after it: it did not solve it.
    pub then_agent: u64,
}

/// Self-service containment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Containment {
    /// Calls that heard at least one answer.
    pub calls: u64,
    /// Of them, calls that did not go on to an agent.
    pub contained: u64,
    /// Of them, calls that went on to an agent.
    pub then_agent: u64,
    /// Contained ÷ calls.
    pub rate: Option<f64>,
}

/// First-contact resolution of the calls that reached an agent, for a
/// group, a kind, or every call.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Resolution {
    /// The group's or kind's name; `all` for everything.
    pub name: String,
    /// The group's kind, for a group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Calls from known numbers that reached an agent.
    pub reached: u64,
    /// Of them, calls their caller called again about (the same group)
    /// within the window.
    pub called_again: u64,
    /// Not called again ÷ reached.
    pub first_contact_resolution: Option<f64>,
    /// Of those not called again, calls whose window is not over yet: they
    /// count as resolved for now.
    pub window_open: u64,
    /// Calls from withheld numbers, not counted above.
    pub withheld: u64,
}

/// A choice callers made at a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Chosen {
    /// What was chosen: an option as diagrams label it, or `operator`,
    /// `repeat`, `back`, `top`.
    pub what: String,
    /// How often.
    pub times: u64,
}

/// What callers did at one node.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeFunnel {
    /// The node's qualified name.
    pub node: String,
    /// Calls that reached it.
    pub reached: u64,
    /// The choices made there, most made first.
    pub chose: Vec<Chosen>,
    /// Prompts there that timed out with nothing entered.
    pub timeouts: u64,
    /// Answers there that were not valid.
    pub invalid: u64,
    /// Times callers ran out of tries there.
    pub gave_up: u64,
    /// Calls that hung up there (in a menu, or waiting in a queue).
    pub hung_up: u64,
    /// (Timeouts + invalid + hung up) ÷ reached: how often each caller
    /// who reached the node stumbled there — a count per call, so it
    /// can be above 1.
    pub stumbles: Option<f64>,
}

impl NodeFunnel {
    /// Did callers do anything there but pass through?
    pub fn asked(&self) -> bool {
        !self.chose.is_empty() || self.timeouts + self.invalid + self.gave_up + self.hung_up > 0
    }
}

/// Everything a report says.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// Calls started at or after this…
    pub since: Timestamp,
    /// …and before this.
    pub until: Timestamp,
    /// Calls started before this were purged: the report covers only
    /// from here on, if that is after `since`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub covers_from: Option<Timestamp>,
    /// Only this group, if asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Only this kind, if asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Calls in progress (not counted below).
    pub in_progress: u64,
    /// Every ended call.
    pub overall: Outcomes,
    /// Per kind: service, support.
    pub kinds: Vec<Outcomes>,
    /// Per group.
    pub groups: Vec<Outcomes>,
    /// Per group's queue.
    pub queues: Vec<Queue>,
    /// Tier to tier: calls answered at one tier that then waited for a
    /// higher one.
    pub escalations: Vec<Moved>,
    /// Self-service containment.
    pub containment: Containment,
    /// The answers callers heard, the ones that failed them most first.
    pub topics: Vec<Topic>,
    /// The first-contact resolution window, in seconds.
    pub repeat_window_s: i64,
    /// First-contact resolution over every group.
    pub resolution_overall: Resolution,
    /// Per kind.
    pub resolution_by_kind: Vec<Resolution>,
    /// Per group.
    pub resolution_by_group: Vec<Resolution>,
    /// The funnel counts calls that ended from this hour on (it is kept by
    /// the hour).
    pub funnel_from: Timestamp,
    /// Per node, the ones callers stumble on most first.
    pub funnel: Vec<NodeFunnel>,
    /// CSAT over every answer (after self-service too).
    pub csat_overall: Csat,
    /// CSAT per kind.
    pub csat_by_kind: Vec<Csat>,
    /// CSAT per group.
    pub csat_by_group: Vec<Csat>,
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

fn n(v: i64) -> u64 {
    v.max(0) as u64
}

/// A queue's running sums while rows are added up.
#[derive(Default)]
struct QueueSums {
    kind: Option<String>,
    entered: u64,
    answered: u64,
    abandoned: u64,
    timed_out: u64,
    full: u64,
    errors: u64,
    answered_secs: u64,
    abandoned_secs: u64,
    within: u64,
    threshold: u32,
}

/// CSAT's running sums: answers per rating 1–5.
type Ratings = [u64; 5];

fn add_rating(r: &mut Ratings, rating: i64, scale: i64, count: u64) {
    if scale <= 0 || rating <= 0 {
        return;
    }
    let on5 = ((rating as f64) * 5.0 / scale as f64)
        .round()
        .clamp(1.0, 5.0) as usize;
    r[on5 - 1] += count;
}

fn csat(name: String, r: &Ratings, reached: u64) -> Csat {
    let answers: u64 = r.iter().sum();
    let total: u64 = r.iter().zip(1..).map(|(c, v)| c * v).sum();
    Csat {
        name,
        answers,
        mean: ratio(total, answers),
        distribution: *r,
        response_rate: ratio(answers, reached),
    }
}

impl Report {
    /// Nothing at all in the period.
    pub fn is_empty(&self) -> bool {
        self.overall.calls == 0 && self.in_progress == 0
    }

    /// Add up `rows` for `scope`.
    pub fn of(rows: &ReportRows, scope: &Scope) -> Report {
        let wanted = |group: Option<&str>, kind: Option<&str>| {
            scope.group.as_deref().is_none_or(|g| group == Some(g))
                && scope.kind.as_deref().is_none_or(|k| kind == Some(k))
        };
        let mut in_progress = 0;
        let mut overall = BTreeMap::new();
        let mut kinds: BTreeMap<String, BTreeMap<Class, u64>> = BTreeMap::new();
        let mut groups: BTreeMap<String, (Option<String>, BTreeMap<Class, u64>)> = BTreeMap::new();
        for (class, group, kind, calls) in &rows.classes {
            let Some(class) = class.as_deref().and_then(Class::from_code) else {
                if scope.group.is_none() && scope.kind.is_none() {
                    in_progress += n(*calls);
                }
                continue;
            };
            if !wanted(group.as_deref(), kind.as_deref()) {
                continue;
            }
            *overall.entry(class).or_default() += n(*calls);
            if let Some(k) = kind {
                *kinds
                    .entry(k.clone())
                    .or_default()
                    .entry(class)
                    .or_default() += n(*calls);
            }
            if let Some(g) = group {
                let e = groups.entry(g.clone()).or_default();
                if e.0.is_none() {
                    e.0.clone_from(kind);
                }
                *e.1.entry(class).or_default() += n(*calls);
            }
        }
        let outcomes = |name: String, kind: Option<String>, by: &BTreeMap<Class, u64>| Outcomes {
            name,
            kind,
            calls: by.values().sum(),
            outcomes: Class::ALL
                .into_iter()
                .filter_map(|c| {
                    by.get(&c).map(|&calls| ClassCount {
                        outcome: c.code(),
                        words: c.words(),
                        calls,
                    })
                })
                .collect(),
        };
        let reached = |by: &BTreeMap<Class, u64>| by.get(&Class::Agent).copied().unwrap_or(0);

        let mut sums: BTreeMap<String, QueueSums> = BTreeMap::new();
        for (group, kind, result, count, waited, within, threshold) in &rows.waits {
            if !wanted(Some(group), kind.as_deref()) {
                continue;
            }
            let q = sums.entry(group.clone()).or_default();
            if q.kind.is_none() {
                q.kind.clone_from(kind);
            }
            let (count, waited) = (n(*count), n(*waited));
            q.entered += count;
            q.threshold = q
                .threshold
                .max(u32::try_from(*threshold).unwrap_or(SERVICE_LEVEL_SECS));
            match result.as_str() {
                "answered" => {
                    q.answered += count;
                    q.answered_secs += waited;
                    q.within += n(*within);
                }
                "abandoned" => {
                    q.abandoned += count;
                    q.abandoned_secs += waited;
                }
                "timeout" => q.timed_out += count,
                "full" => q.full += count,
                _ => q.errors += count,
            }
        }
        let mut overflows: BTreeMap<(String, String), u64> = BTreeMap::new();
        let mut escalations: BTreeMap<(String, String), u64> = BTreeMap::new();
        for (group, result, next, tier, next_tier, count) in &rows.moves {
            if scope
                .group
                .as_deref()
                .is_some_and(|g| g != group && g != next)
            {
                continue;
            }
            let key = (group.clone(), next.clone());
            if result == "answered" {
                if matches!((tier, next_tier), (Some(a), Some(b)) if b > a) {
                    *escalations.entry(key).or_default() += n(*count);
                }
            } else {
                *overflows.entry(key).or_default() += n(*count);
            }
        }
        let moved = |m: &BTreeMap<(String, String), u64>, from: Option<&str>| -> Vec<Moved> {
            m.iter()
                .filter(|((f, _), _)| from.is_none_or(|x| x == f))
                .map(|((from, to), &calls)| Moved {
                    from: from.clone(),
                    to: to.clone(),
                    calls,
                })
                .collect()
        };
        let queues = sums
            .into_iter()
            .map(|(group, q)| {
                let offered = q.answered + q.abandoned;
                Queue {
                    overflowed_to: moved(&overflows, Some(&group)),
                    kind: q.kind,
                    entered: q.entered,
                    answered: q.answered,
                    abandoned: q.abandoned,
                    timed_out: q.timed_out,
                    full: q.full,
                    errors: q.errors,
                    abandonment: ratio(q.abandoned, offered),
                    speed_of_answer_s: ratio(q.answered_secs, q.answered),
                    time_to_abandon_s: ratio(q.abandoned_secs, q.abandoned),
                    service_level: ratio(q.within, offered),
                    threshold_s: if q.threshold == 0 {
                        SERVICE_LEVEL_SECS
                    } else {
                        q.threshold
                    },
                    group,
                }
            })
            .collect();

        // A group's kind, from its calls and waits.
        let kind_of: BTreeMap<&str, &str> = rows
            .classes
            .iter()
            .filter_map(|(_, g, k, _)| Some((g.as_deref()?, k.as_deref()?)))
            .chain(
                rows.waits
                    .iter()
                    .filter_map(|(g, k, ..)| Some((g.as_str(), k.as_deref()?))),
            )
            .collect();
        let mut all = Ratings::default();
        let mut by_group: BTreeMap<String, Ratings> = BTreeMap::new();
        let mut by_kind: BTreeMap<String, Ratings> = BTreeMap::new();
        for (group, rating, scale, count) in &rows.ratings {
            let kind = group.as_deref().and_then(|g| kind_of.get(g).copied());
            if !wanted(group.as_deref(), kind) {
                continue;
            }
            let (rating, scale, count) = (*rating, *scale, n(*count));
            add_rating(&mut all, rating, scale, count);
            if let Some(g) = group {
                add_rating(by_group.entry(g.clone()).or_default(), rating, scale, count);
            }
            if let Some(k) = kind {
                add_rating(
                    by_kind.entry(k.to_owned()).or_default(),
                    rating,
                    scale,
                    count,
                );
            }
        }
        let csat_overall = csat("all".into(), &all, reached(&overall));
        let csat_by_group = by_group
            .iter()
            .map(|(g, r)| {
                let agent = groups.get(g).map_or(0, |(_, by)| reached(by));
                csat(g.clone(), r, agent)
            })
            .collect();
        let csat_by_kind = by_kind
            .iter()
            .map(|(k, r)| csat(k.clone(), r, kinds.get(k).map_or(0, reached)))
            .collect();

        // Answers belong to no group: a report for one group leaves them out.
        let self_service = scope.group.is_none() && scope.kind.as_deref() != Some("service");
        let mut topics: Vec<Topic> = if self_service {
            rows.topics
                .iter()
                .map(|(topic, heard, agent)| Topic {
                    topic: topic.clone(),
                    heard: n(*heard),
                    then_agent: n(*agent),
                })
                .collect()
        } else {
            Vec::new()
        };
        topics.sort_by(|a, b| {
            let failed = |t: &Topic| t.then_agent as f64 / t.heard.max(1) as f64;
            failed(b)
                .total_cmp(&failed(a))
                .then(b.heard.cmp(&a.heard))
                .then(a.topic.cmp(&b.topic))
        });
        let (heard, agent) = if self_service {
            (n(rows.containment.0), n(rows.containment.1))
        } else {
            (0, 0)
        };
        let contained = heard.saturating_sub(agent);
        let (resolution_overall, resolution_by_kind, resolution_by_group) =
            resolutions(rows, &wanted);
        let funnel = if scope.group.is_none() && scope.kind.is_none() {
            funnel(rows)
        } else {
            Vec::new()
        };
        let hour = hour_of(scope.since.as_millisecond());
        Report {
            repeat_window_s: scope.repeat_window.as_secs(),
            resolution_overall,
            resolution_by_kind,
            resolution_by_group,
            funnel_from: Timestamp::from_millisecond(hour).unwrap_or(scope.since),
            funnel,
            since: scope.since,
            until: scope.until,
            covers_from: scope.purged_before.filter(|p| *p > scope.since),
            group: scope.group.clone(),
            kind: scope.kind.clone(),
            in_progress,
            overall: outcomes("all".into(), None, &overall),
            kinds: kinds
                .iter()
                .map(|(k, by)| outcomes(k.clone(), None, by))
                .collect(),
            groups: groups
                .iter()
                .map(|(g, (kind, by))| outcomes(g.clone(), kind.clone(), by))
                .collect(),
            queues,
            escalations: moved(&escalations, None),
            containment: Containment {
                calls: heard,
                contained,
                then_agent: agent,
                rate: ratio(contained, heard),
            },
            topics,
            csat_overall,
            csat_by_kind,
            csat_by_group,
        }
    }
}

/// First-contact resolution overall, per kind and per group, of the rows a
/// report `wanted`.
fn resolutions(
    rows: &ReportRows,
    wanted: &dyn Fn(Option<&str>, Option<&str>) -> bool,
) -> (Resolution, Vec<Resolution>, Vec<Resolution>) {
    #[derive(Default, Clone, Copy)]
    struct Sums {
        calls: u64,
        again: u64,
        withheld: u64,
        open: u64,
    }
    let add = |a: &mut Sums, b: Sums| {
        a.calls += b.calls;
        a.again += b.again;
        a.withheld += b.withheld;
        a.open += b.open;
    };
    let mut all = Sums::default();
    let mut kinds: BTreeMap<String, Sums> = BTreeMap::new();
    let mut groups: BTreeMap<String, (Option<String>, Sums)> = BTreeMap::new();
    for (group, kind, calls, again, withheld, open) in &rows.repeats {
        if !wanted(Some(group), kind.as_deref()) {
            continue;
        }
        let sums = Sums {
            calls: n(*calls),
            again: n(*again),
            withheld: n(*withheld),
            open: n(*open),
        };
        add(&mut all, sums);
        if let Some(k) = kind {
            add(kinds.entry(k.clone()).or_default(), sums);
        }
        let g = groups.entry(group.clone()).or_default();
        if g.0.is_none() {
            g.0.clone_from(kind);
        }
        add(&mut g.1, sums);
    }
    let resolution = |name: String, kind: Option<String>, s: Sums| {
        let reached = s.calls.saturating_sub(s.withheld);
        Resolution {
            name,
            kind,
            reached,
            called_again: s.again,
            first_contact_resolution: ratio(reached.saturating_sub(s.again), reached),
            window_open: s.open.min(reached),
            withheld: s.withheld,
        }
    };
    (
        resolution("all".into(), None, all),
        kinds
            .into_iter()
            .map(|(k, s)| resolution(k, None, s))
            .collect(),
        groups
            .into_iter()
            .map(|(g, (k, s))| resolution(g, k, s))
            .collect(),
    )
}

/// The funnel's rows by node, the nodes callers stumble on most first.
fn funnel(rows: &ReportRows) -> Vec<NodeFunnel> {
    let mut nodes: BTreeMap<&str, NodeFunnel> = BTreeMap::new();
    for (node, what, count) in &rows.funnel {
        let f = nodes.entry(node.as_str()).or_insert_with(|| NodeFunnel {
            node: node.clone(),
            reached: 0,
            chose: Vec::new(),
            timeouts: 0,
            invalid: 0,
            gave_up: 0,
            hung_up: 0,
            stumbles: None,
        });
        let count = n(*count);
        match what.as_str() {
            facts::REACHED => f.reached += count,
            facts::TIMEOUT => f.timeouts += count,
            facts::INVALID => f.invalid += count,
            facts::GAVE_UP => f.gave_up += count,
            facts::HUNG_UP => f.hung_up += count,
            other => {
                if let Some(choice) = other.strip_prefix(facts::CHOSE) {
                    f.chose.push(Chosen {
                        what: choice.to_owned(),
                        times: count,
                    });
                }
            }
        }
    }
    let mut out: Vec<NodeFunnel> = nodes
        .into_values()
        .map(|mut f| {
            f.reached = f.reached.max(f.hung_up);
            f.chose
                .sort_by(|a, b| b.times.cmp(&a.times).then(a.what.cmp(&b.what)));
            f.stumbles = ratio(f.timeouts + f.invalid + f.hung_up, f.reached);
            f
        })
        .collect();
    out.sort_by(|a, b| {
        let s = |f: &NodeFunnel| f.stumbles.unwrap_or(0.0);
        s(b).total_cmp(&s(a))
            .then(b.reached.cmp(&a.reached))
            .then(a.node.cmp(&b.node))
    });
    out
}
