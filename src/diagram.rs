//! Diagrams of a compiled program: Mermaid (paste into a pull request) and
//! Graphviz DOT. Both render one [`Diagram`] model, so they always agree:
//! nodes grouped by flow, edges labelled with keys, speech words and exits,
//! agent groups drawn as distinct nodes styled by kind (service or support),
//! terminal nodes distinct, global keys noted once per flow.

use crate::program::{FlowId, NodeKind, Program};
use crate::routing::{GroupKind, GroupTarget};
use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;
use std::collections::BTreeSet;
use std::fmt::Write;

/// How a node is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// say, play, set.
    Step,
    /// menu, input, survey: waits for the caller.
    Choice,
    /// branch, hours, split: decided without the caller.
    Decision,
    /// queue, transfer: a person.
    Human,
    /// voicemail, callback.
    Message,
    /// sub-flow call.
    Call,
    /// hangup, return.
    Terminal,
    /// A node of another flow, when drawing one flow.
    External,
    /// An agent group.
    Group(GroupKind),
    /// The flow's global keys.
    Note,
}

/// Edge styles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Line {
    Normal,
    /// To an agent group.
    Thick,
    /// Sub-flow calls, returns, overflow.
    Dotted,
}

struct DNode {
    id: String,
    label: String,
    shape: Shape,
    flow: Option<FlowId>,
}

struct DEdge {
    from: String,
    to: String,
    label: String,
    line: Line,
}

struct Diagram {
    nodes: Vec<DNode>,
    edges: Vec<DEdge>,
    flows: Vec<(FlowId, String)>,
}

fn node_id(ix: NodeIndex) -> String {
    format!("n{}", ix.index())
}

fn shape_of(kind: &NodeKind) -> Shape {
    match kind {
        NodeKind::Say { .. } | NodeKind::Set { .. } => Shape::Step,
        NodeKind::Menu(_) | NodeKind::Input(_) | NodeKind::Survey { .. } => Shape::Choice,
        NodeKind::Branch { .. } | NodeKind::Hours { .. } | NodeKind::Split { .. } => {
            Shape::Decision
        }
        NodeKind::Queue(_) | NodeKind::Transfer(_) => Shape::Human,
        NodeKind::Voicemail { .. } | NodeKind::Callback { .. } => Shape::Message,
        NodeKind::Subflow { .. } => Shape::Call,
        NodeKind::Hangup { .. } | NodeKind::Return => Shape::Terminal,
    }
}

fn detail(p: &Program, kind: &NodeKind) -> Option<String> {
    match kind {
        NodeKind::Transfer(t) => Some(format!("dial {}", t.to.as_str())),
        NodeKind::Hours { schedule, .. } => p
            .schedules
            .get(schedule.index())
            .map(|s| format!("{} ({})", s.name, s.tz_name)),
        NodeKind::Input(i) => Some(format!("→ {}", i.variable)),
        NodeKind::Survey { scale, .. } => Some(format!("rate 1–{scale}")),
        NodeKind::Subflow { flow, .. } => {
            p.flows.get(flow.index()).map(|f| format!("run {}", f.name))
        }
        NodeKind::Set { vars, language, .. } => {
            let mut parts: Vec<String> = vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
            parts.extend(language.as_ref().map(|l| format!("language={l}")));
            Some(parts.join(", "))
        }
        _ => None,
    }
}

fn build(p: &Program, only: Option<FlowId>) -> Diagram {
    let mut d = Diagram {
        nodes: Vec::new(),
        edges: Vec::new(),
        flows: Vec::new(),
    };
    let inside = |ix: NodeIndex| only.is_none_or(|f| p.graph[ix].flow == f);
    let mut external: BTreeSet<NodeIndex> = BTreeSet::new();
    let mut groups: BTreeSet<usize> = BTreeSet::new();

    for (i, flow) in p.flows.iter().enumerate() {
        let fid = FlowId(i as u32);
        if only.is_some_and(|o| o != fid) {
            continue;
        }
        let title = match &flow.description {
            Some(desc) => format!("{} — {desc}", flow.name),
            None => flow.name.clone(),
        };
        d.flows.push((fid, title));
        let mut keys = Vec::new();
        if let Some((k, t)) = flow.keys.operator {
            keys.push(format!("{k}: person ({})", p.graph[t].id));
        }
        keys.extend(flow.keys.repeat.map(|k| format!("{k}: repeat")));
        keys.extend(flow.keys.back.map(|k| format!("{k}: back")));
        keys.extend(flow.keys.top.map(|k| format!("{k}: top")));
        let has_menu = p
            .graph
            .node_weights()
            .any(|n| n.flow == fid && matches!(n.kind, NodeKind::Menu(_)));
        if has_menu && !keys.is_empty() {
            d.nodes.push(DNode {
                id: format!("keys{i}"),
                label: format!("in every menu\n{}", keys.join("\n")),
                shape: Shape::Note,
                flow: Some(fid),
            });
        }
    }

    for ix in p.graph.node_indices().filter(|&ix| inside(ix)) {
        let n = &p.graph[ix];
        let flow = &p.flows[n.flow.index()];
        let mut label = format!(
            "{}{}\n{}",
            if flow.start == ix { "▶ " } else { "" },
            n.id,
            n.kind.type_name()
        );
        if let Some(x) = detail(p, &n.kind).filter(|x| !x.is_empty()) {
            label.push_str(&format!(": {x}"));
        }
        d.nodes.push(DNode {
            id: node_id(ix),
            label,
            shape: shape_of(&n.kind),
            flow: Some(n.flow),
        });

        // petgraph lists a node's edges newest first; draw them in the order written.
        let mut out_edges: Vec<_> = p.graph.edges(ix).collect();
        out_edges.reverse();
        for e in out_edges {
            let t = e.target();
            if !inside(t) {
                external.insert(t);
            }
            d.edges.push(DEdge {
                from: node_id(ix),
                to: node_id(t),
                label: e.weight().label(),
                line: Line::Normal,
            });
        }
        match &n.kind {
            NodeKind::Queue(q) => {
                if let Some(g) = p.groups.get(q.group.index()) {
                    groups.insert(q.group.index());
                    let label = match &g.target {
                        GroupTarget::Queue(_) => "enqueue".to_owned(),
                        GroupTarget::Agents(_) => "dial agents".to_owned(),
                    };
                    d.edges.push(DEdge {
                        from: node_id(ix),
                        to: format!("g{}", q.group.index()),
                        label,
                        line: Line::Thick,
                    });
                }
            }
            NodeKind::Subflow { flow, .. } => {
                if let Some(f) = p.flows.get(flow.index()) {
                    if !inside(f.start) {
                        external.insert(f.start);
                    }
                    d.edges.push(DEdge {
                        from: node_id(ix),
                        to: node_id(f.start),
                        label: "call".into(),
                        line: Line::Dotted,
                    });
                }
            }
            _ => {}
        }
    }

    for ix in external {
        d.nodes.push(DNode {
            id: node_id(ix),
            label: format!("{} ↗", p.qualified_name(ix)),
            shape: Shape::External,
            flow: None,
        });
    }
    // Overflow targets are drawn too, so a chain can be followed.
    let mut pending: Vec<usize> = groups.iter().copied().collect();
    while let Some(gi) = pending.pop() {
        if let Some(o) = p.groups[gi].overflow {
            d.edges.push(DEdge {
                from: format!("g{gi}"),
                to: format!("g{}", o.index()),
                label: "overflow".into(),
                line: Line::Dotted,
            });
            if groups.insert(o.index()) {
                pending.push(o.index());
            }
        }
    }
    for gi in groups {
        let g = &p.groups[gi];
        let tier = g.tier.map(|t| format!(", tier {t}")).unwrap_or_default();
        d.nodes.push(DNode {
            id: format!("g{gi}"),
            label: format!("{}\n{} group ({}){tier}", g.display_name, g.kind, g.name),
            shape: Shape::Group(g.kind),
            flow: None,
        });
    }
    d
}

/// Escape text for a quoted Mermaid label.
fn mm(s: &str) -> String {
    s.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
        .replace('\n', "<br/>")
}

/// Render the program (or one flow) as a Mermaid flowchart.
pub fn mermaid(p: &Program, only: Option<FlowId>) -> String {
    let d = build(p, only);
    let mut out = String::from("flowchart TD\n");
    let node_line = |n: &DNode| {
        let l = mm(&n.label);
        let (open, close) = match n.shape {
            Shape::Step => ("[\"", "\"]"),
            Shape::Choice => ("{\"", "\"}"),
            Shape::Decision => ("{{\"", "\"}}"),
            Shape::Human => ("([\"", "\"])"),
            Shape::Message => ("[/\"", "\"/]"),
            Shape::Call => ("[[\"", "\"]]"),
            Shape::Terminal => ("((\"", "\"))"),
            Shape::External => ("[\"", "\"]"),
            Shape::Group(_) => ("[[\"", "\"]]"),
            Shape::Note => (">\"", "\"]"),
        };
        let class = match n.shape {
            Shape::Group(GroupKind::Service) => ":::service",
            Shape::Group(GroupKind::Support) => ":::support",
            Shape::Terminal => ":::terminal",
            Shape::Human => ":::human",
            Shape::External => ":::external",
            Shape::Note => ":::note",
            _ => "",
        };
        format!("{}{open}{l}{close}{class}", n.id)
    };
    for (fid, title) in &d.flows {
        let _ = writeln!(out, "  subgraph f{}[\"{}\"]", fid.0, mm(title));
        for n in d.nodes.iter().filter(|n| n.flow == Some(*fid)) {
            let _ = writeln!(out, "    {}", node_line(n));
        }
        out.push_str("  end\n");
    }
    for n in d.nodes.iter().filter(|n| n.flow.is_none()) {
        let _ = writeln!(out, "  {}", node_line(n));
    }
    for e in &d.edges {
        let arrow = match e.line {
            Line::Normal => "-->",
            Line::Thick => "==>",
            Line::Dotted => "-.->",
        };
        if e.label.is_empty() {
            let _ = writeln!(out, "  {} {arrow} {}", e.from, e.to);
        } else {
            let _ = writeln!(out, "  {} {arrow}|\"{}\"| {}", e.from, mm(&e.label), e.to);
        }
    }
    out.push_str(concat!(
        "  classDef service fill:#e3f2fd,stroke:#1565c0,color:#0d47a1\n",
        "  classDef support fill:#fff3e0,stroke:#e65100,color:#bf360c\n",
        "  classDef human fill:#e8f5e9,stroke:#2e7d32\n",
        "  classDef terminal fill:#eeeeee,stroke:#616161\n",
        "  classDef external fill:#ffffff,stroke:#9e9e9e,stroke-dasharray:4 3\n",
        "  classDef note fill:#fffde7,stroke:#f9a825\n",
    ));
    out
}

/// Escape text for a quoted DOT string.
fn dq(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Render the program (or one flow) as a Graphviz DOT digraph.
pub fn dot(p: &Program, only: Option<FlowId>) -> String {
    let d = build(p, only);
    let mut out = String::from(concat!(
        "digraph switchboard {\n",
        "  rankdir=TB;\n",
        "  node [fontname=\"Helvetica\", fontsize=10];\n",
        "  edge [fontname=\"Helvetica\", fontsize=9];\n",
    ));
    let node_line = |n: &DNode| {
        let attrs = match n.shape {
            Shape::Step => "shape=box",
            Shape::Choice => "shape=diamond, style=filled, fillcolor=\"#ffffff\"",
            Shape::Decision => "shape=hexagon",
            Shape::Human => "shape=box, style=\"rounded,filled\", fillcolor=\"#e8f5e9\"",
            Shape::Message => "shape=parallelogram",
            Shape::Call => "shape=box, peripheries=2",
            Shape::Terminal => "shape=doublecircle, style=filled, fillcolor=\"#eeeeee\"",
            Shape::External => "shape=box, style=dashed",
            Shape::Group(GroupKind::Service) => {
                "shape=component, style=filled, fillcolor=\"#e3f2fd\", color=\"#1565c0\""
            }
            Shape::Group(GroupKind::Support) => {
                "shape=component, style=filled, fillcolor=\"#fff3e0\", color=\"#e65100\""
            }
            Shape::Note => "shape=note, style=filled, fillcolor=\"#fffde7\"",
        };
        format!("{} [label=\"{}\", {attrs}];", n.id, dq(&n.label))
    };
    for (fid, title) in &d.flows {
        let _ = writeln!(
            out,
            "  subgraph cluster_f{} {{\n    label=\"{}\";",
            fid.0,
            dq(title)
        );
        for n in d.nodes.iter().filter(|n| n.flow == Some(*fid)) {
            let _ = writeln!(out, "    {}", node_line(n));
        }
        out.push_str("  }\n");
    }
    for n in d.nodes.iter().filter(|n| n.flow.is_none()) {
        let _ = writeln!(out, "  {}", node_line(n));
    }
    for e in &d.edges {
        let style = match e.line {
            Line::Normal => "",
            Line::Thick => ", penwidth=2.5",
            Line::Dotted => ", style=dashed",
        };
        let _ = writeln!(
            out,
            "  {} -> {} [label=\"{}\"{style}];",
            e.from,
            e.to,
            dq(&e.label)
        );
    }
    out.push_str("}\n");
    out
}

/// What callers did at a node in a period, for [`traffic_svg`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeTraffic {
    /// Calls that reached it.
    pub reached: u64,
    /// Calls that ended there by hanging up or abandoning (drop-off).
    pub left: u64,
}

/// Drop-off above which a node is marked (with enough callers to matter).
pub const HIGH_DROP_OFF: f64 = 0.2;

/// An SVG of the program (or one flow) laid out here, by `layout-rs`, each
/// node shaded by its share of the busiest node's traffic and labelled with
/// its figures, and nodes callers leave from often drawn with a thick
/// border and marked "high drop-off": readable without colour. `traffic`
/// is by qualified node name (`flow.node`).
pub fn traffic_svg(
    p: &Program,
    only: Option<FlowId>,
    traffic: &std::collections::BTreeMap<String, NodeTraffic>,
) -> Result<String, String> {
    let d = build(p, only);
    let busiest = traffic
        .values()
        .map(|t| t.reached)
        .max()
        .unwrap_or(0)
        .max(1);
    let mut out = String::from("digraph traffic {\n");
    for n in d.nodes.iter().filter(|n| n.shape != Shape::Note) {
        let name =
            n.id.strip_prefix('n')
                .and_then(|i| i.parse::<usize>().ok())
                .filter(|i| *i < p.graph.node_count())
                .map(|i| p.qualified_name(NodeIndex::new(i)));
        let t = name
            .as_ref()
            .and_then(|q| traffic.get(q))
            .copied()
            .unwrap_or_default();
        let title = n
            .label
            .lines()
            .next()
            .unwrap_or("")
            .trim_start_matches("▶ ");
        let mut label = match &name {
            Some(q) if n.shape != Shape::External => q.clone(),
            _ => title.to_owned(),
        };
        let mut attrs = String::from("shape=box");
        if name.is_some() && n.shape != Shape::External {
            let _ = write!(label, "\n{} reached", t.reached);
            let drop = (t.reached > 0).then(|| t.left as f64 / t.reached as f64);
            if t.left > 0 {
                let _ = write!(
                    label,
                    "\n{} left here ({:.0}%)",
                    t.left,
                    drop.unwrap_or(0.0) * 100.0
                );
            }
            let share = t.reached as f64 / busiest as f64;
            let grey = ["#ffffff", "#eeeeee", "#d9d9d9", "#bdbdbd", "#9e9e9e"]
                [((share * 4.0).round() as usize).min(4)];
            let _ = write!(attrs, ", style=filled, fillcolor=\"{grey}\"");
            if drop.is_some_and(|d| d >= HIGH_DROP_OFF) && t.reached >= 5 {
                label.push_str("\nhigh drop-off");
                attrs.push_str(", penwidth=4");
            }
        } else if n.shape == Shape::External {
            attrs.push_str(", style=dashed");
        }
        let _ = writeln!(out, "  {} [label=\"{}\", {attrs}];", n.id, dq(&label));
    }
    for e in &d.edges {
        if e.from.starts_with("keys") || e.to.starts_with("keys") {
            continue;
        }
        let label: String = e.label.chars().take(24).collect();
        let style = if e.line == Line::Dotted {
            ", style=dashed"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {} -> {} [label=\"{}\"{style}];",
            e.from,
            e.to,
            dq(&label)
        );
    }
    out.push_str("}\n");
    let rendered = std::panic::catch_unwind(|| {
        let mut parser = layout::gv::DotParser::new(&out);
        let graph = parser.process().map_err(|e| e.to_string())?;
        let mut builder = layout::gv::GraphBuilder::new();
        builder.visit_graph(&graph);
        let mut visual = builder.get();
        let mut svg = layout::backends::svg::SVGWriter::new();
        visual.do_it(false, false, false, &mut svg);
        Ok::<_, String>(svg.finalize())
    });
    rendered.unwrap_or_else(|_| Err("the layout failed".to_owned()))
}

#[cfg(test)]
mod traffic_tests {
    use super::*;

    #[test]
    fn the_traffic_diagram_labels_figures_and_marks_drop_off_without_colour() {
        let set = crate::flow::load_dir(std::path::Path::new("flows")).unwrap();
        let p = crate::compile::compile(&set).program.unwrap();
        let service = p.flow_by_name("service");
        let mut t = std::collections::BTreeMap::new();
        t.insert(
            "service.orders".to_owned(),
            NodeTraffic {
                reached: 40,
                left: 12,
            },
        );
        t.insert(
            "service.billing".to_owned(),
            NodeTraffic {
                reached: 10,
                left: 0,
            },
        );
        let svg = traffic_svg(&p, service, &t).unwrap();
        if let Ok(out) = std::env::var("TRAFFIC_SVG") {
            std::fs::write(out, &svg).unwrap();
        }
        assert!(svg.contains("<svg"), "{}", &svg[..200.min(svg.len())]);
        assert!(
            svg.contains("40 reached") && svg.contains("12 left here (30%)"),
            "figures in text"
        );
        assert!(svg.contains("high drop-off"));
        assert!(svg.contains("10 reached"));
        let all = traffic_svg(&p, None, &t).unwrap();
        assert!(all.contains("main.menu"));
    }
}
