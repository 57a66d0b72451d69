//! Exits the compiled program proves no call can take, decided once, here:
//!
//! - an `hours` node's `holiday` exit when its schedule declares no holidays
//!   (also the implicit one, which defaults to `closed`);
//! - its `closed` exit when the schedule is open around the clock every day,
//!   and its `open` exit when the schedule has no opening hours at all.
//!
//! A queue's `on_closed` is never among them, even for a group that keeps
//! no hours: an admin can close any group by hand (`switchboard close`).
//!
//! Only reasons the program itself proves count. A queue's `on_full`, for
//! one, is not among them even without `max_queue`: the provider's queue has
//! a size limit of its own and can report it full.
//!
//! The compiler leaves these exits out of the program graph and keeps them in
//! [`Program::impossible`](crate::program::Program::impossible), with the
//! reason; the `impossible-exit` warning is raised where the admin wrote one.

use super::Builder;
use crate::diagnostic::{Code, Diagnostic};
use crate::flow::raw::RawNodeKind;
use crate::program::{Exit, FlowId, ImpossibleExit, Node, NodeKind};
use crate::routing::{HoursStatus, Schedule};
use crate::source::Span;
use petgraph::graph::NodeIndex;
use std::collections::HashMap;

/// An impossible exit, and what the admin can do about it.
pub(super) struct Found {
    pub(super) exit: ImpossibleExit,
    pub(super) hint: String,
}

/// Every impossible exit of `nodes` (indexed by position), in node order.
pub(super) fn find(nodes: &[Node], schedules: &[Schedule]) -> Vec<Found> {
    let mut out = Vec::new();
    let id = |ix: NodeIndex| nodes.get(ix.index()).map_or("", |n| n.id.as_str());
    for (i, node) in nodes.iter().enumerate() {
        let ix = NodeIndex::new(i);
        let mut found = |exit: Exit, target: NodeIndex, reason: String, hint: String| {
            out.push(Found {
                exit: ImpossibleExit {
                    node: ix,
                    exit,
                    target,
                    reason,
                },
                hint,
            })
        };
        let NodeKind::Hours { schedule, .. } = &node.kind else {
            continue;
        };
        let Some(s) = schedules.get(schedule.index()) else {
            continue;
        };
        let exits = node.kind.exits();
        let to = |want: Exit| {
            exits
                .iter()
                .find(|(e, _)| *e == want)
                .map_or("", |(_, t)| id(*t))
        };
        for (exit, target) in &exits {
            let (status, reason, hint) = match exit {
                Exit::Open => (
                    HoursStatus::Open,
                    format!("the schedule `{}` is never open", s.name),
                    format!(
                        "give the schedule `{}` opening hours, or send callers straight to `{}` instead of through this `hours` node",
                        s.name,
                        to(Exit::Closed)
                    ),
                ),
                Exit::Closed => (
                    HoursStatus::Closed,
                    format!(
                        "the schedule `{}` is open around the clock every day",
                        s.name
                    ),
                    format!(
                        "send callers straight to `{}` instead of through this `hours` node, or give the schedule `{}` closing hours",
                        to(Exit::Open),
                        s.name
                    ),
                ),
                Exit::Holiday => (
                    HoursStatus::Holiday,
                    format!("the schedule `{}` declares no holidays", s.name),
                    format!(
                        "remove `holiday`, or declare the holidays in the schedule `{}`: `holidays = [{{ date = \"12-25\", name = \"Christmas Day\" }}]`",
                        s.name
                    ),
                ),
                _ => continue,
            };
            if !s.can_be(status) {
                found(exit.clone(), *target, reason, hint);
            }
        }
    }
    out
}

impl Builder<'_> {
    /// `impossible-exit`, at each impossible exit the admin wrote (an implicit
    /// `holiday` exit is only listed by `test`).
    pub(super) fn impossible_exits(&mut self, found: &[Found], nodes: &[Node]) {
        let by_node: HashMap<NodeIndex, Vec<&Found>> =
            found.iter().fold(HashMap::new(), |mut m, f| {
                m.entry(f.exit.node).or_default().push(f);
                m
            });
        let mut diags = Vec::new();
        for (i, src) in self.flow_srcs.iter().enumerate() {
            for raw in &src.file.nodes {
                let key = (FlowId(i as u32), raw.id.value.clone());
                let Some(&ix) = self.node_ix.get(&key) else {
                    continue;
                };
                // A duplicate id shares the first definition's index: skip it.
                let first = nodes
                    .get(ix.index())
                    .is_some_and(|n| Span::new(src.file.file, raw.id.range()) == n.span);
                for f in by_node.get(&ix).into_iter().flatten().filter(|_| first) {
                    let written = match (&raw.kind, &f.exit.exit) {
                        (RawNodeKind::Hours(h), Exit::Open) => Some(("open", &h.open)),
                        (RawNodeKind::Hours(h), Exit::Closed) => Some(("closed", &h.closed)),
                        (RawNodeKind::Hours(h), Exit::Holiday) => {
                            h.holiday.as_ref().map(|t| ("holiday", t))
                        }
                        _ => None,
                    };
                    let Some((key, target)) = written else {
                        continue;
                    };
                    diags.push(
                        Diagnostic::new(
                            Code::ImpossibleExit,
                            format!(
                                "{}: the `{key}` exit of {} `{}` can never be taken",
                                f.exit.reason,
                                raw.kind.type_name(),
                                raw.id.value
                            ),
                        )
                        .labelled(
                            Span::new(src.file.file, target.range()),
                            "no call takes this exit",
                        )
                        .hint(f.hint.clone()),
                    );
                }
            }
        }
        self.diags.extend(diags);
    }
}

#[cfg(test)]
mod tests {
    use crate::compile::compile_texts;
    use crate::diagnostic::Code;
    use crate::program::Program;
    use petgraph::visit::EdgeRef;

    /// An `hours` node and a queue, both on the schedule `s`.
    const FLOW: &str = r#"
[groups.g]
kind = "service"
schedule = "s"

[flow]
start = "h"

[hours.h]
schedule = "s"
open = "q"
closed = "bye"

[queue.q]
group = "g"
on_closed = "bye"

[hangup.bye]
"#;

    /// The program of `flow` with `schedule`: its impossible exits as
    /// `node exit: reason`, and its `impossible-exit` warnings.
    fn compiled(flow: &str, schedule: &str) -> (Program, Vec<String>, Vec<String>) {
        let (_, c) = compile_texts([("main", flow), ("s", schedule)]);
        let warnings = c
            .diagnostics
            .iter()
            .filter(|d| d.code == Code::ImpossibleExit)
            .map(|d| d.message.clone())
            .collect();
        let p = c.program.expect("no errors");
        let found = p
            .impossible
            .iter()
            .map(|i| format!("{} {}: {}", p.graph[i.node].id, i.exit.label(), i.reason))
            .collect();
        (p, found, warnings)
    }

    /// Is `exit` of `node` an edge of the program graph (drawn and counted)?
    fn drawn(p: &Program, node: &str, exit: &str) -> bool {
        p.graph
            .edge_references()
            .any(|e| p.graph[e.source()].id == node && e.weight().label() == exit)
    }

    #[test]
    fn a_schedule_without_holidays_has_no_holiday_exit() {
        let (p, found, warnings) = compiled(
            FLOW,
            "[schedules.s]\ntimezone = \"America/New_York\"\nweekly = { \"mon-fri\" = \"09:00-17:00\" }\n",
        );
        assert_eq!(found, ["h holiday: the schedule `s` declares no holidays"]);
        assert!(!drawn(&p, "h", "holiday"));
        assert!(drawn(&p, "h", "closed") && drawn(&p, "h", "open"));
        assert!(drawn(&p, "q", "closed"), "the group closes every evening");
        assert_eq!(
            warnings,
            Vec::<String>::new(),
            "the `holiday` exit was implicit: there is nothing to remove"
        );
    }

    #[test]
    fn a_schedule_open_around_the_clock_or_never_open_rules_out_closed_or_open() {
        let always =
            "[schedules.s]\ntimezone = \"UTC\"\nweekly = { \"mon-sun\" = \"00:00-24:00\" }\n";
        let (p, found, warnings) = compiled(FLOW, always);
        assert_eq!(
            found,
            [
                "h closed: the schedule `s` is open around the clock every day",
                "h holiday: the schedule `s` declares no holidays",
            ]
        );
        assert!(
            drawn(&p, "h", "open") && drawn(&p, "q", "closed"),
            "an admin may still close the group"
        );
        assert_eq!(warnings.len(), 1, "`closed` was written: {warnings:?}");

        let (_, found, _) = compiled(
            FLOW,
            &format!("{always}holidays = [{{ date = \"12-25\" }}]\n"),
        );
        assert_eq!(
            found,
            ["h closed: the schedule `s` is open around the clock every day"],
            "on holidays the group is closed"
        );
        let (_, found, _) = compiled(
            FLOW,
            &format!("{always}exceptions = [{{ date = \"12-24\", hours = \"08:00-12:00\" }}]\n"),
        );
        assert_eq!(
            found,
            ["h holiday: the schedule `s` declares no holidays"],
            "closed on the afternoon of 12-24"
        );

        // And the other way round: a schedule with no hours is never open.
        let (p, found, warnings) = compiled(
            FLOW,
            "[schedules.s]\ntimezone = \"UTC\"\nweekly = {}\nholidays = [{ date = \"12-25\" }]\n",
        );
        assert_eq!(found, ["h open: the schedule `s` is never open"]);
        assert!(!drawn(&p, "h", "open"));
        assert_eq!(
            warnings,
            ["the schedule `s` is never open: the `open` exit of hours `h` can never be taken"]
        );
    }

    #[test]
    fn a_group_without_hours_can_still_be_closed_by_an_admin() {
        let flow = FLOW.replace("kind = \"service\"\nschedule = \"s\"", "kind = \"service\"");
        let (p, found, warnings) = compiled(
            &flow,
            "[schedules.s]\ntimezone = \"UTC\"\nweekly = { \"mon-fri\" = \"09:00-17:00\" }\nholidays = [{ date = \"12-25\" }]\n",
        );
        assert!(found.is_empty(), "{found:?}");
        assert!(drawn(&p, "q", "closed") && drawn(&p, "h", "holiday"));
        assert!(warnings.is_empty(), "{warnings:?}");
    }
}
