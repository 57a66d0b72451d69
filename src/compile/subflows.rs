//! Sub-flow calls and returns, checked over the whole program:
//!
//! - `recursive-subflow`: no flow calls itself, directly or through others
//!   (Tarjan SCCs of the graph of flows calling flows);
//! - `return-outside-subflow`: no `return` node in a flow callers dial into;
//! - `unmatched-return`: no `return` node runs with an empty sub-flow stack.
//!
//! For the last, a call starts with an empty stack, and keeps its stack along
//! every exit, cross-flow jump and global key: only a `subflow` node pushes,
//! and only a `return` pops. So the nodes a call can be at with an empty stack
//! are those reachable from an entry flow's start over *same-level* edges, on
//! which a `subflow` node leads straight to its `next` (the whole call, into
//! the sub-flow and back out) when the called flow can return at all. Which
//! flows can return is itself a reachability question over the same edges,
//! answered as a least fixed point, so nested sub-flows are followed exactly.

use super::checks::cycles;
use crate::diagnostic::{Code, Diagnostic};
use crate::program::{NodeKind, Program};
use fixedbitset::FixedBitSet;
use petgraph::graph::NodeIndex;
use petgraph::graphmap::DiGraphMap;
use std::collections::{BTreeSet, VecDeque};

pub(super) fn run(p: &Program, diags: &mut Vec<Diagnostic>) {
    recursion_and_entry_returns(p, diags);
    unmatched_returns(p, diags);
}

fn recursion_and_entry_returns(p: &Program, diags: &mut Vec<Diagnostic>) {
    let mut calls: DiGraphMap<u32, NodeIndex> = DiGraphMap::new();
    for ix in p.graph.node_indices() {
        let node = &p.graph[ix];
        match &node.kind {
            NodeKind::Subflow { flow, .. } if flow.index() < p.flows.len() => {
                calls.add_edge(node.flow.0, flow.0, ix);
            }
            NodeKind::Return => {
                if let Some(f) = p.flows.get(node.flow.index()).filter(|f| f.entry) {
                    diags.push(
                        Diagnostic::new(Code::ReturnOutsideSubflow, format!("flow `{}` is entered by callers directly, so `{}` has nothing to return to", f.name, node.id))
                            .labelled(node.span, "return in an entry flow")
                            .hint("use `hangup` here, or stop mapping numbers to this flow and call it with a `subflow` node"),
                    );
                }
            }
            _ => {}
        }
    }
    for members in cycles(&calls) {
        let self_call = members.len() == 1;
        let names: Vec<_> = members
            .iter()
            .map(|f| format!("`{}`", p.flows[*f as usize].name))
            .collect();
        let first = members[0];
        let at = calls
            .edges(first)
            .find(|(_, to, _)| members.contains(to))
            .map(|(_, _, ix)| *ix);
        if let Some(ix) = at {
            diags.push(
                Diagnostic::new(
                    Code::RecursiveSubflow,
                    if self_call {
                        format!("flow {} calls itself as a sub-flow", names[0])
                    } else {
                        format!("flows {} call each other as sub-flows", names.join(", "))
                    },
                )
                .labelled(p.graph[ix].span, "recursive call")
                .hint("a sub-flow cannot call itself, even through others; jump to another flow's node with a `flow.node` reference instead"),
            );
        }
    }
}

/// Where a call at `n` can go next with its sub-flow stack as it is.
/// `can_return[f]`: a call of flow `f` as a sub-flow can come back.
fn same_level(p: &Program, n: NodeIndex, can_return: &[bool]) -> Vec<NodeIndex> {
    let node = &p.graph[n];
    let mut out = Vec::new();
    match &node.kind {
        // A return pops the stack: where it leads belongs to the caller's level.
        NodeKind::Return => return out,
        NodeKind::Subflow { flow, next } => {
            if can_return.get(flow.index()).copied().unwrap_or(false) {
                out.push(*next);
            }
            return out;
        }
        // The operator and top keys keep the stack. The back key is not
        // followed: it goes back to a menu the call was at, with the stack it
        // had there (see `engine::MenuVisit`), so it reaches nothing new.
        NodeKind::Menu(_) => {
            if let Some(f) = p.flows.get(node.flow.index()) {
                out.extend(f.keys.operator.map(|(_, t)| t));
                if f.keys.top.is_some() {
                    out.push(f.start);
                }
            }
        }
        _ => {}
    }
    out.extend(p.graph.neighbors(n));
    // A menu or input without `on_failure` fails over to its flow's operator.
    out.extend(p.failure_route(n));
    out
}

/// The nodes reachable from `starts` at the starts' level, each with the node
/// it was first reached from (none for a start).
struct Reach {
    seen: FixedBitSet,
    from: Vec<Option<NodeIndex>>,
}

impl Reach {
    fn new(p: &Program, starts: impl IntoIterator<Item = NodeIndex>, can_return: &[bool]) -> Self {
        let n = p.graph.node_count();
        let mut r = Reach {
            seen: FixedBitSet::with_capacity(n),
            from: vec![None; n],
        };
        let mut queue = VecDeque::new();
        for s in starts {
            if !r.seen.put(s.index()) {
                queue.push_back(s);
            }
        }
        while let Some(a) = queue.pop_front() {
            for b in same_level(p, a, can_return) {
                if !r.seen.put(b.index()) {
                    r.from[b.index()] = Some(a);
                    queue.push_back(b);
                }
            }
        }
        r
    }

    fn reaches_a_return(&self, p: &Program) -> bool {
        self.seen
            .ones()
            .any(|i| matches!(p.graph[NodeIndex::new(i)].kind, NodeKind::Return))
    }

    /// A shortest path from a start to `to`, start first.
    fn path(&self, to: NodeIndex) -> Vec<NodeIndex> {
        let mut path = vec![to];
        let mut cur = to;
        while let Some(prev) = self.from[cur.index()] {
            path.push(prev);
            cur = prev;
        }
        path.reverse();
        path
    }
}

/// Which flows, run as a sub-flow, can come back (the least fixed point: a
/// flow returns if a `return` is reachable from its start at its level,
/// passing only through sub-flow calls that return).
fn returning_flows(p: &Program) -> Vec<bool> {
    let called: BTreeSet<usize> = p
        .graph
        .node_weights()
        .filter_map(|n| match n.kind {
            NodeKind::Subflow { flow, .. } if flow.index() < p.flows.len() => Some(flow.index()),
            _ => None,
        })
        .collect();
    let mut can = vec![false; p.flows.len()];
    loop {
        let mut changed = false;
        for &f in &called {
            if !can[f] && Reach::new(p, [p.flows[f].start], &can).reaches_a_return(p) {
                can[f] = true;
                changed = true;
            }
        }
        if !changed {
            return can;
        }
    }
}

/// `unmatched-return`: a `return` that a call reaches with an empty stack,
/// through a cross-flow jump rather than a sub-flow call. Returns in entry
/// flows are left to `return-outside-subflow`, which says it better.
fn unmatched_returns(p: &Program, diags: &mut Vec<Diagnostic>) {
    let is_return = |ix: NodeIndex| matches!(p.graph[ix].kind, NodeKind::Return);
    if !p.graph.node_indices().any(is_return) {
        return;
    }
    let can_return = returning_flows(p);
    let entries = p.flows.iter().filter(|f| f.entry).map(|f| f.start);
    let reach = Reach::new(p, entries, &can_return);
    for ix in p.graph.node_indices().filter(|&ix| is_return(ix)) {
        let node = &p.graph[ix];
        let Some(flow) = p.flows.get(node.flow.index()) else {
            continue;
        };
        if flow.entry || !reach.seen.contains(ix.index()) {
            continue;
        }
        let path = reach.path(ix);
        let names: Vec<String> = path.iter().map(|&n| p.qualified_name(n)).collect();
        let mut d = Diagnostic::new(
            Code::UnmatchedReturn,
            format!(
                "calls can reach `return` node `{}` of flow `{}` without a `subflow` node calling `{}`, so it would have nothing to return to: {}",
                node.id,
                flow.name,
                flow.name,
                names.join(" → ")
            ),
        )
        .labelled(node.span, "nothing to return to");
        // Where the path last came into the return's flow: a jump, not a call.
        let jump = path
            .windows(2)
            .rev()
            .find(|w| p.graph[w[0]].flow != node.flow && p.graph[w[1]].flow == node.flow);
        let hint = match jump {
            Some(w) => {
                d = d.note(
                    p.graph[w[0]].span,
                    format!(
                        "the call enters flow `{}` here, at `{}`, without a sub-flow call",
                        flow.name, p.graph[w[1]].id
                    ),
                );
                format!(
                    "to run `{0}` and come back, call it with a `subflow` node (`flow = \"{0}\"`) instead of going to `{1}`; if these calls should end in `{0}`, use `hangup` instead of `return`",
                    flow.name,
                    p.qualified_name(w[1])
                )
            }
            None => format!(
                "call `{}` only through `subflow` nodes, or use `hangup` instead of `return`",
                flow.name
            ),
        };
        diags.push(d.hint(hint));
    }
}

#[cfg(test)]
mod tests {
    use crate::compile::compile_texts;
    use crate::diagnostic::Code;

    const SETTINGS: &str = "[settings]\ndefault_flow = \"main\"\n";
    const KB: &str = "[flow]\nstart = \"tip\"\n\n[say.tip]\nprompt = \"A tip.\"\nnext = \"done\"\n\n[return.done]\n";
    const GROUPS: &str = "[groups.g]\nkind = \"service\"\n";

    /// The `unmatched-return` messages of `main`, `kb` and `others`.
    fn unmatched(main: &str, others: &[(&str, &str)]) -> Vec<String> {
        let mut files = vec![
            ("main", main),
            ("kb", KB),
            ("groups", GROUPS),
            ("settings", SETTINGS),
        ];
        files.extend_from_slice(others);
        let (_, c) = compile_texts(files);
        c.diagnostics
            .iter()
            .filter(|d| d.code == Code::UnmatchedReturn)
            .map(|d| d.message.clone())
            .collect()
    }

    #[test]
    fn a_jump_made_inside_a_sub_flow_still_has_a_caller_to_return_to() {
        // main calls `outer`, which jumps into `kb`: kb's return pops outer's call.
        let main = "[flow]\nstart = \"call\"\n\n[subflow.call]\nflow = \"outer\"\nnext = \"q\"\n\n[queue.q]\ngroup = \"g\"\n";
        let outer = "[flow]\nstart = \"hi\"\n\n[say.hi]\nprompt = \"Hi.\"\nnext = \"kb.tip\"\n";
        assert_eq!(unmatched(main, &[("outer", outer)]), Vec::<String>::new());
    }

    #[test]
    fn after_a_sub_flow_returns_the_stack_is_empty_again() {
        // main calls kb, and when it comes back jumps into kb: that return is unmatched.
        let main = "[flow]\nstart = \"call\"\n\n[subflow.call]\nflow = \"kb\"\nnext = \"again\"\n\n[say.again]\nprompt = \"Once more.\"\nnext = \"kb.tip\"\n";
        let found = unmatched(main, &[]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].ends_with("main.call → main.again → kb.tip → kb.done"),
            "{}",
            found[0]
        );
    }

    #[test]
    fn what_follows_a_sub_flow_that_never_returns_is_not_reached() {
        // `stuck` always hangs up, so `after` (which jumps into kb) is never run.
        let main = "[flow]\nstart = \"call\"\n\n[subflow.call]\nflow = \"stuck\"\nnext = \"after\"\n\n[say.after]\nprompt = \"Back.\"\nnext = \"kb.tip\"\n";
        let stuck = "[flow]\nstart = \"bye\"\n\n[hangup.bye]\n";
        assert_eq!(unmatched(main, &[("stuck", stuck)]), Vec::<String>::new());
    }
}
