//! The whole-graph guarantees, checked with petgraph over every flow at once:
//!
//! - `trapped-caller`: every node reaches an end (BFS on the reversed graph);
//! - `silent-loop`: no cycle without caller input (Tarjan SCCs of input-free edges);
//! - `unreachable-node`: every node is reachable from an entry flow (BFS);
//! - `no-path-to-human`: every menu can reach a queue or transfer;
//! - `deep-tree` and the depth report: fewest key presses to each group (Dijkstra, 0/1 weights);
//! - `overflow-cycle`;
//! - and, in `subflows`, `recursive-subflow`, `return-outside-subflow` and `unmatched-return`.
//!
//! Global keys count as edges here (operator and top from every menu), as do
//! sub-flow calls; the program graph itself holds only explicit exits.

use super::Usage;
use crate::diagnostic::{Code, Diagnostic};
use crate::flow::RawFile;
use crate::program::{Exit, FlowId, NodeKind, Program};
use crate::routing::GroupKind;
use crate::source::Span;
use fixedbitset::FixedBitSet;
use petgraph::Direction;
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::graphmap::DiGraphMap;
use petgraph::visit::{EdgeFiltered, EdgeRef};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

/// Fewest key presses from a flow's start to each agent group it can reach.
#[derive(Clone, Debug, Serialize)]
pub struct FlowDepth {
    /// The flow.
    pub flow: String,
    /// Whether callers dial straight into it.
    pub entry: bool,
    /// Groups, nearest first.
    pub groups: Vec<GroupDepth>,
}

/// One group's distance.
#[derive(Clone, Debug, Serialize)]
pub struct GroupDepth {
    /// Group name.
    pub group: String,
    /// Service or support.
    pub kind: GroupKind,
    /// Fewest key presses (an `input` entry counts as one).
    pub presses: u32,
    /// The keys of one such shortest path, e.g. `["1", "2"]`.
    pub keys: Vec<String>,
}

#[derive(Clone)]
struct Step {
    /// Taking this edge needs the caller to press or say something.
    input: bool,
    /// A detour rather than a path a caller navigates: a timeout or invalid
    /// input, or a queue or transfer that was not answered, was full, was
    /// closed or has ended. The depth report does not follow these.
    detour: bool,
    /// What the caller presses, for the depth report.
    keys: Option<String>,
}

impl Step {
    fn silent() -> Self {
        Step {
            input: false,
            detour: false,
            keys: None,
        }
    }
    fn detour() -> Self {
        Step {
            detour: true,
            ..Step::silent()
        }
    }
    fn press(keys: String) -> Self {
        Step {
            input: true,
            detour: false,
            keys: Some(keys),
        }
    }
}

/// The analysis graph: program edges plus sub-flow calls and global keys.
fn analysis_graph(p: &Program) -> DiGraph<(), Step> {
    let mut g: DiGraph<(), Step> =
        DiGraph::with_capacity(p.graph.node_count(), p.graph.edge_count() * 2);
    for _ in p.graph.node_indices() {
        g.add_node(());
    }
    for e in p.graph.edge_references() {
        let step = match e.weight() {
            // A call continues at `next` only through the callee's `return`
            // nodes, which are wired below; the direct edge would skip the callee.
            Exit::Returned => continue,
            Exit::Option { key, .. } => Step::press(key.to_string()),
            Exit::Entered => Step::press("<digits>".into()),
            Exit::Failure | Exit::NoAnswer | Exit::Full | Exit::AfterCall => Step::detour(),
            Exit::Closed if p.graph[e.source()].kind.reaches_human() => Step::detour(),
            _ => Step::silent(),
        };
        g.add_edge(e.source(), e.target(), step);
    }
    // Each flow's `return` nodes, so that returns can lead back to every caller's `next`.
    let mut returns: HashMap<FlowId, Vec<NodeIndex>> = HashMap::new();
    for ix in p.graph.node_indices() {
        if matches!(p.graph[ix].kind, NodeKind::Return) {
            returns.entry(p.graph[ix].flow).or_default().push(ix);
        }
    }
    for ix in p.graph.node_indices() {
        // Without an `on_failure` of their own, menus and inputs fail over to
        // the flow's operator (or the fallback route, an end: see `run`).
        let own_failure = match &p.graph[ix].kind {
            NodeKind::Menu(m) => m.on_failure.is_some(),
            NodeKind::Input(i) => i.on_failure.is_some(),
            _ => true,
        };
        if let Some(t) = p.failure_route(ix).filter(|_| !own_failure) {
            g.add_edge(ix, t, Step::detour());
        }
        match &p.graph[ix].kind {
            NodeKind::Subflow { flow, next } => {
                if let Some(f) = p.flows.get(flow.index()) {
                    g.add_edge(ix, f.start, Step::silent());
                    for &r in returns.get(flow).into_iter().flatten() {
                        g.add_edge(r, *next, Step::silent());
                    }
                }
            }
            NodeKind::Menu(_) => {
                if let Some(flow) = p.flows.get(p.graph[ix].flow.index()) {
                    if let Some((key, op)) = flow.keys.operator {
                        g.add_edge(ix, op, Step::press(key.to_string()));
                    }
                    if let Some(key) = flow.keys.top {
                        g.add_edge(ix, flow.start, Step::press(key.to_string()));
                    }
                }
            }
            _ => {}
        }
    }
    g
}

fn bfs_from(
    g: &DiGraph<(), Step>,
    starts: impl IntoIterator<Item = NodeIndex>,
    reverse: bool,
) -> FixedBitSet {
    let mut seen = FixedBitSet::with_capacity(g.node_count());
    let mut queue: VecDeque<NodeIndex> = VecDeque::new();
    for s in starts {
        if !seen.put(s.index()) {
            queue.push_back(s);
        }
    }
    let dir = if reverse {
        Direction::Incoming
    } else {
        Direction::Outgoing
    };
    while let Some(n) = queue.pop_front() {
        for m in g.neighbors_directed(n, dir) {
            if !seen.put(m.index()) {
                queue.push_back(m);
            }
        }
    }
    seen
}

fn name(p: &Program, ix: NodeIndex) -> String {
    format!("`{}`", p.graph[ix].id)
}

pub(super) fn run(
    p: &Program,
    usage: &Usage,
    files: &[RawFile],
    warnings: bool,
    diags: &mut Vec<Diagnostic>,
) -> Vec<FlowDepth> {
    let g = analysis_graph(p);
    let real = |ix: NodeIndex| p.graph[ix].id != "<unresolved>";

    // trapped-caller
    // A menu or input without a failure route of its own or its flow's sends
    // its last failures to the fallback route, which ends the call.
    let to_fallback = |ix: NodeIndex| {
        matches!(p.graph[ix].kind, NodeKind::Menu(_) | NodeKind::Input(_))
            && p.failure_route(ix).is_none()
    };
    let ends = p
        .graph
        .node_indices()
        .filter(|&ix| p.graph[ix].kind.can_end() || to_fallback(ix));
    let can_end = bfs_from(&g, ends, true);
    let mut trapped: BTreeMap<FlowId, Vec<NodeIndex>> = BTreeMap::new();
    for ix in p
        .graph
        .node_indices()
        .filter(|ix| !can_end.contains(ix.index()) && real(*ix))
    {
        trapped.entry(p.graph[ix].flow).or_default().push(ix);
    }
    for nodes in trapped.values() {
        let names: Vec<_> = nodes.iter().take(8).map(|&ix| name(p, ix)).collect();
        let more = if nodes.len() > 8 {
            format!(" and {} more", nodes.len() - 8)
        } else {
            String::new()
        };
        diags.push(
            Diagnostic::new(
                Code::TrappedCaller,
                format!("a caller at {}{more} can never reach an end: every path loops back", names.join(", ")),
            )
            .labelled(p.graph[nodes[0]].span, "no way out from here")
            .hint("give these nodes a way out: an exit that leads to a person (queue or transfer), a voicemail, a callback or a `hangup`"),
        );
    }

    // silent-loop
    let silent = EdgeFiltered::from_fn(&g, |e| !e.weight().input);
    for scc in tarjan_scc(&silent) {
        let cyclic = scc.len() > 1
            || g.edges_connecting(scc[0], scc[0])
                .any(|e| !e.weight().input);
        if !cyclic || !scc.iter().all(|&ix| real(ix)) {
            continue;
        }
        let start = *scc.iter().min().unwrap_or(&scc[0]);
        let cycle = cycle_path(&g, start, &scc.iter().copied().collect());
        let path: Vec<_> = cycle.iter().map(|&ix| name(p, ix)).collect();
        diags.push(
            Diagnostic::new(
                Code::SilentLoop,
                format!("calls can go round {} forever without the caller doing anything", path.join(" → ")),
            )
            .labelled(p.graph[start].span, "loop starts here")
            .hint("break the loop: send an `on_failure` or no-answer exit to a person, a voicemail or a goodbye instead of back into the loop"),
        );
    }

    if warnings {
        reachability_warnings(p, &g, usage, diags);
    }
    super::subflows::run(p, diags);
    overflow_cycles(p, files, diags);
    depths(p, &g, warnings, diags)
}

/// `unreachable-node` and `no-path-to-human`.
fn reachability_warnings(
    p: &Program,
    g: &DiGraph<(), Step>,
    usage: &Usage,
    diags: &mut Vec<Diagnostic>,
) {
    let real = |ix: NodeIndex| p.graph[ix].id != "<unresolved>";
    let entry_starts: Vec<NodeIndex> = p
        .flows
        .iter()
        .filter(|f| f.entry)
        .map(|f| f.start)
        .collect();
    if !entry_starts.is_empty() {
        let reached = bfs_from(g, entry_starts, false);
        for ix in p
            .graph
            .node_indices()
            .filter(|ix| !reached.contains(ix.index()) && real(*ix))
        {
            let flow_id = p.graph[ix].flow;
            let Some(flow) = p.flows.get(flow_id.index()) else {
                continue;
            };
            if !flow.entry && !usage.flows.contains(&flow_id) {
                continue; // the whole flow is reported as unused
            }
            diags.push(
                Diagnostic::new(
                    Code::UnreachableNode,
                    format!(
                        "no call can reach node `{}` of flow `{}`",
                        p.graph[ix].id, flow.name
                    ),
                )
                .labelled(p.graph[ix].span, "unreachable")
                .hint("point an exit at it (e.g. a menu option), or delete it"),
            );
        }
    }

    // no-path-to-human
    let humans = p
        .graph
        .node_indices()
        .filter(|&ix| p.graph[ix].kind.reaches_human());
    let to_human = bfs_from(g, humans, true);
    for ix in p.graph.node_indices() {
        if matches!(p.graph[ix].kind, NodeKind::Menu(_)) && !to_human.contains(ix.index()) {
            diags.push(
                Diagnostic::new(Code::NoPathToHuman, format!("no path from menu `{}` leads to a person", p.graph[ix].id))
                    .labelled(p.graph[ix].span, "no way to an agent")
                    .hint("set `operator = \"<queue node>\"` in [flow] so \"0\" reaches a person from every menu, or add an option to a queue"),
            );
        }
    }
}

/// A cycle through `start` inside `scc` along input-free edges, start first and last.
fn cycle_path(g: &DiGraph<(), Step>, start: NodeIndex, scc: &HashSet<NodeIndex>) -> Vec<NodeIndex> {
    let mut parent: HashMap<NodeIndex, NodeIndex> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        for e in g
            .edges(n)
            .filter(|e| !e.weight().input && scc.contains(&e.target()))
        {
            let m = e.target();
            if m == start {
                let mut back = Vec::new();
                let mut cur = n;
                while cur != start {
                    back.push(cur);
                    cur = parent[&cur];
                }
                back.reverse();
                let mut path = vec![start];
                path.extend(back);
                path.push(start);
                return path;
            }
            if let std::collections::hash_map::Entry::Vacant(v) = parent.entry(m) {
                v.insert(n);
                queue.push_back(m);
            }
        }
    }
    vec![start, start]
}

/// The members of every cycle (strongly connected component with an edge
/// back into itself), each sorted, for messages that name them.
pub(super) fn cycles<E>(g: &DiGraphMap<u32, E>) -> Vec<Vec<u32>> {
    tarjan_scc(g)
        .into_iter()
        .filter(|scc| scc.len() > 1 || g.contains_edge(scc[0], scc[0]))
        .map(|mut scc| {
            scc.sort_unstable();
            scc
        })
        .collect()
}

fn overflow_cycles(p: &Program, files: &[RawFile], diags: &mut Vec<Diagnostic>) {
    let mut g: DiGraphMap<u32, ()> = DiGraphMap::new();
    for (i, grp) in p.groups.iter().enumerate() {
        g.add_node(i as u32);
        if let Some(o) = grp.overflow {
            g.add_edge(i as u32, o.0, ());
        }
    }
    for members in cycles(&g) {
        let names: Vec<_> = members
            .iter()
            .map(|i| format!("`{}`", p.groups[*i as usize].name))
            .collect();
        let first = &p.groups[members[0] as usize].name;
        let span = files.iter().find_map(|f| {
            f.groups.iter().find(|g| &g.name.value == first).map(|g| {
                let r = g
                    .value
                    .overflow
                    .as_ref()
                    .map_or(g.name.range(), |o| o.range());
                Span::new(f.file, r)
            })
        });
        let mut d = Diagnostic::new(Code::OverflowCycle, format!("groups {} overflow into each other in a circle", names.join(", ")))
            .hint("end the chain: the last group's callers should go to the queue node's `on_no_answer` exit");
        if let Some(s) = span {
            d = d.labelled(s, "overflow starts the circle");
        }
        diags.push(d);
    }
}

/// How a node was reached on a shortest path: the previous node and the keys pressed.
type Via = Option<(NodeIndex, Option<String>)>;

/// Fewest key presses from `start` to every node (indexed by node), by 0-1 BFS
/// (presses cost 1, silent exits 0, failure exits are not followed), with the
/// edge each node was reached by so that [`keys_to`] can rebuild the path.
fn presses_from(g: &DiGraph<(), Step>, start: NodeIndex) -> Vec<Option<(u32, Via)>> {
    let mut best: Vec<Option<(u32, Via)>> = vec![None; g.node_count()];
    let mut done = vec![false; g.node_count()];
    best[start.index()] = Some((0, None));
    let mut deque = VecDeque::from([start]);
    while let Some(n) = deque.pop_front() {
        if std::mem::replace(&mut done[n.index()], true) {
            continue;
        }
        let d = best[n.index()].as_ref().map_or(0, |b| b.0);
        let mut edges: Vec<_> = g.edges(n).filter(|e| !e.weight().detour).collect();
        // Prefer silent exits, then lower keys, so the reported path is the obvious one.
        edges.sort_by(|a, b| {
            (a.weight().input, &a.weight().keys).cmp(&(b.weight().input, &b.weight().keys))
        });
        for e in edges {
            let w = u32::from(e.weight().input);
            let m = e.target();
            if best[m.index()].as_ref().is_none_or(|(old, _)| d + w < *old) {
                best[m.index()] = Some((d + w, Some((n, e.weight().keys.clone()))));
                if w == 0 {
                    deque.push_front(m)
                } else {
                    deque.push_back(m)
                }
            }
        }
    }
    best
}

/// The keys pressed on the shortest path to `node`.
fn keys_to(best: &[Option<(u32, Via)>], node: NodeIndex) -> Vec<String> {
    let mut keys = Vec::new();
    let mut cur = node;
    while let Some(Some((_, Some((prev, k))))) = best.get(cur.index()) {
        keys.extend(k.clone());
        cur = *prev;
    }
    keys.reverse();
    keys
}

fn depths(
    p: &Program,
    g: &DiGraph<(), Step>,
    warnings: bool,
    diags: &mut Vec<Diagnostic>,
) -> Vec<FlowDepth> {
    let mut out = Vec::new();
    for flow in &p.flows {
        let dist = presses_from(g, flow.start);
        let mut best: BTreeMap<usize, (u32, NodeIndex)> = BTreeMap::new();
        let reached = dist
            .iter()
            .enumerate()
            .filter_map(|(i, b)| b.as_ref().map(|b| (NodeIndex::new(i), b.0)));
        for (ix, d) in reached {
            if let NodeKind::Queue(q) = &p.graph[ix].kind
                && q.group.index() < p.groups.len()
            {
                let e = best.entry(q.group.index()).or_insert((d, ix));
                if (d, ix) < *e {
                    *e = (d, ix);
                }
            }
        }
        let mut groups: Vec<_> = best
            .into_iter()
            .map(|(gi, (presses, ix))| (presses, gi, ix, keys_to(&dist, ix)))
            .collect();
        groups.sort();
        if flow.entry && warnings {
            for (presses, gi, ix, keys) in &groups {
                if *presses > p.max_key_presses {
                    diags.push(
                        Diagnostic::new(
                            Code::DeepTree,
                            format!(
                                "callers of flow `{}` need {presses} key presses ({}) to reach group `{}` (limit {})",
                                flow.name,
                                keys.join(", "),
                                p.groups[*gi].name,
                                p.max_key_presses
                            ),
                        )
                        .labelled(p.graph[*ix].span, format!("{presses} presses from the start"))
                        .hint("flatten the tree (fewer nested menus), offer a shortcut option, or raise `[settings] max_key_presses`"),
                    );
                }
            }
        }
        out.push(FlowDepth {
            flow: flow.name.clone(),
            entry: flow.entry,
            groups: groups
                .into_iter()
                .map(|(presses, gi, _, keys)| GroupDepth {
                    group: p.groups[gi].name.clone(),
                    kind: p.groups[gi].kind,
                    presses,
                    keys,
                })
                .collect(),
        });
    }
    out
}
