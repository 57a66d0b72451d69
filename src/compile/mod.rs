//! The flow compiler: a [`FlowSet`] of raw files in, a checked [`Program`]
//! and every [`Diagnostic`] out.
//!
//! Compilation never stops at the first problem. Names are gathered first
//! (flows, nodes, groups, schedules, lists), then every value is checked and
//! every reference resolved, then the whole call graph is checked with
//! petgraph (`checks`). A `Program` is returned only when there are no
//! errors. No IO happens here: the recordings folder was indexed by `flow`.

mod checks;
mod defs;
mod impossible;
mod nodes;
mod prompts;
mod resolve;
mod subflows;
mod values;

pub use checks::{FlowDepth, GroupDepth};

use crate::diagnostic::{self, Code, Counts, Diagnostic};
use crate::flow::{FlowSet, Named, RawFile};
use crate::program::{FlowId, GroupId, Lang, ListId, Node, NodeKind, Program, ScheduleId};
use crate::source::{FileId, Span};
use petgraph::graph::{DiGraph, NodeIndex};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The result of compiling a flow set.
#[derive(Debug)]
pub struct Compiled {
    /// The program, when there were no errors.
    pub program: Option<Program>,
    /// Every diagnostic, sorted by place.
    pub diagnostics: Vec<Diagnostic>,
    /// Sizes and counts for the summary line.
    pub summary: Summary,
    /// Fewest key presses from each flow's start to each agent group.
    pub depths: Vec<FlowDepth>,
}

/// What `check` prints on its summary line.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Summary {
    /// Flows.
    pub flows: usize,
    /// Nodes.
    pub nodes: usize,
    /// Agent groups.
    pub groups: usize,
    /// Errors and warnings.
    #[serde(flatten)]
    pub counts: Counts,
}

/// Compile a loaded flow set. Pure and deterministic.
pub fn compile(set: &FlowSet) -> Compiled {
    compile_for(set, &[])
}

/// [`compile`], proving also that every flow callers enter suits each of
/// `providers` (`check --provider`), as `[numbers]`' `provider` keys do
/// for their numbers' flows.
pub fn compile_for(set: &FlowSet, providers: &[crate::provider::capability::Kind]) -> Compiled {
    let mut b = Builder::new(set);
    b.diags.extend(set.diagnostics.iter().cloned());
    b.collect_flows();
    let settings = b.settings();
    b.collect_definitions();
    let schedules = b.schedules();
    let lists = b.lists();
    let groups = b.groups(&settings);
    let flows = b.flows(&settings);
    let nodes = b.nodes(&settings, &flows, &groups, &schedules);
    let (numbers, default_flow, fallback, mut targets) = b.routing(&settings);
    let impossible = impossible::find(&nodes, &schedules);
    b.impossible_exits(&impossible, &nodes);
    let impossible: Vec<_> = impossible.into_iter().map(|f| f.exit).collect();

    let mut graph: DiGraph<Node, crate::program::Exit> =
        DiGraph::with_capacity(nodes.len() + 1, nodes.len() * 2);
    for n in nodes {
        graph.add_node(n);
    }
    if b.needs_sink {
        // Unresolved references point here; it exists only so that the graph
        // checks can still run and report everything else. No program is built.
        graph.add_node(Node {
            id: "<unresolved>".into(),
            flow: FlowId(0),
            kind: NodeKind::Hangup { prompt: None },
            topic: None,
            span: Span::new(FileId(0), 0..0),
        });
    }
    // Exits no call can take are not edges: nothing should count on them.
    let mut dead: HashMap<NodeIndex, Vec<&crate::program::Exit>> = HashMap::new();
    for i in &impossible {
        dead.entry(i.node).or_default().push(&i.exit);
    }
    let possible = |ix: NodeIndex, e: &crate::program::Exit| {
        dead.get(&ix).is_none_or(|exits| !exits.contains(&e))
    };
    let edges: Vec<_> = graph
        .node_indices()
        .flat_map(|ix| {
            graph[ix]
                .kind
                .exits()
                .into_iter()
                .filter(move |(e, _)| possible(ix, e))
                .map(move |(e, t)| (ix, t, e))
        })
        .collect();
    for (a, t, e) in edges {
        graph.add_edge(a, t, e);
    }

    let mut flows = flows;
    for f in &mut flows {
        f.entry = false;
    }
    let entries: BTreeSet<FlowId> = numbers.values().copied().chain(default_flow).collect();
    for id in &entries {
        if let Some(f) = flows.get_mut(id.index()) {
            f.entry = true;
        }
    }
    let summary_base = Summary {
        flows: flows.len(),
        nodes: graph.node_count() - usize::from(b.needs_sink),
        groups: groups.len(),
        counts: Counts::default(),
    };
    let sensitive = sensitive_variables(&graph);
    let program = Program {
        version: version(set),
        graph,
        impossible,
        flows,
        groups,
        schedules,
        lists,
        numbers,
        default_flow: default_flow.unwrap_or(FlowId(0)),
        fallback,
        languages: settings.languages.clone(),
        default_language: settings.default_language.clone(),
        voices: settings.voices.clone(),
        max_key_presses: settings.max_key_presses,
        sensitive,
        retention: settings.retention,
    };
    // Warnings derived from the whole graph (unreachable, unused, no path to a
    // person, depth) would only echo earlier errors: a node that failed to
    // parse leaves the nodes after it "unreachable". Errors are still checked.
    let earlier_errors = b
        .diags
        .iter()
        .any(|d| d.severity == crate::diagnostic::Severity::Error);
    let depths = if program.flows.is_empty() {
        Vec::new()
    } else {
        checks::run(
            &program,
            &b.usage,
            &b.set.files,
            !earlier_errors,
            &mut b.diags,
        )
    };
    if !earlier_errors {
        b.unused(&program);
        for &provider in providers {
            targets.extend(
                entries
                    .iter()
                    .map(|&flow| crate::provider::capability::Target {
                        flow,
                        provider,
                        why: format!("--provider {}", provider.name()),
                        span: None,
                    }),
            );
        }
        b.diags
            .extend(crate::provider::capability::check(&program, &targets));
    }

    let mut diagnostics = b.diags;
    diagnostic::sort(&mut diagnostics);
    diagnostics.dedup();
    let counts = Counts::of(&diagnostics);
    let ok = counts.errors == 0 && default_flow.is_some();
    Compiled {
        program: ok.then_some(program),
        diagnostics,
        summary: Summary {
            counts,
            ..summary_base
        },
        depths,
    }
}

/// Every variable a sensitive `input` or `set` node writes: wherever else
/// it is written, it is kept as sensitive.
fn sensitive_variables(graph: &DiGraph<Node, crate::program::Exit>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for n in graph.node_weights() {
        match &n.kind {
            NodeKind::Input(i) if i.sensitive => {
                out.insert(i.variable.clone());
            }
            NodeKind::Set {
                vars,
                sensitive: true,
                ..
            } => out.extend(vars.iter().map(|(k, _)| k.clone())),
            _ => {}
        }
    }
    out
}

/// The layout of compiled programs (how nodes are numbered, what a stored
/// call state's indices mean). Part of every version: raise it when a
/// compiler change gives the same flow files other indices, so calls in
/// progress on a stored version are never read against a differently
/// numbered program (they get the apology and the fallback route instead).
pub const PROGRAM_FORMAT: u32 = 1;

/// A hash of everything a program is compiled from — every source file and
/// the recordings folder's index — so a call can keep the version it started
/// with, and a set that did not change is known without compiling it.
pub fn version(set: &FlowSet) -> String {
    let mut h = Sha256::new();
    h.update(PROGRAM_FORMAT.to_le_bytes());
    // A file by its name, not where its folder is: instances with the
    // same files in different places serve the same version.
    for (_, f) in set.sources.iter() {
        h.update(crate::flow::snapshot::file_name(&f.path).as_bytes());
        h.update([0]);
        h.update(f.text.as_bytes());
        h.update([0]);
    }
    // Which recordings exist decides which file a prompt plays.
    h.update([1]);
    for r in &set.recordings.files {
        h.update(r.as_bytes());
        h.update([0]);
    }
    let digest = h.finalize();
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// Set-wide options after checking.
pub(crate) struct Settings {
    pub(crate) languages: Vec<Lang>,
    pub(crate) default_language: Lang,
    pub(crate) voices: BTreeMap<Lang, String>,
    pub(crate) max_key_presses: u32,
    pub(crate) retention: Option<std::time::Duration>,
    pub(crate) announcements: crate::routing::Announcements,
}

/// What references what, for `unused-definition`.
#[derive(Default)]
pub(crate) struct Usage {
    pub(crate) groups: BTreeSet<GroupId>,
    pub(crate) schedules: BTreeSet<ScheduleId>,
    pub(crate) lists: BTreeSet<ListId>,
    /// Flows entered by a cross-flow jump or a sub-flow call.
    pub(crate) flows: BTreeSet<FlowId>,
}

/// A flow file and its place in the program.
pub(crate) struct FlowSrc<'a> {
    pub(crate) name: String,
    pub(crate) file: &'a RawFile,
}

pub(crate) struct Builder<'a> {
    pub(crate) set: &'a FlowSet,
    pub(crate) diags: Vec<Diagnostic>,
    pub(crate) flow_srcs: Vec<FlowSrc<'a>>,
    pub(crate) flow_ids: HashMap<String, FlowId>,
    /// (flow, node id) → index; indices follow flow order, then file order.
    pub(crate) node_ix: HashMap<(FlowId, String), NodeIndex>,
    pub(crate) group_ids: HashMap<String, GroupId>,
    pub(crate) schedule_ids: HashMap<String, ScheduleId>,
    pub(crate) list_ids: HashMap<String, ListId>,
    /// Index of the sink node used for unresolved references.
    pub(crate) sink: NodeIndex,
    pub(crate) needs_sink: bool,
    pub(crate) usage: Usage,
}

/// Kinds of named definition, for messages.
#[derive(Clone, Copy)]
pub(crate) enum DefKind {
    Group,
    Schedule,
    List,
}

impl DefKind {
    fn noun(self) -> &'static str {
        match self {
            DefKind::Group => "group",
            DefKind::Schedule => "schedule",
            DefKind::List => "caller list",
        }
    }
    fn section(self) -> &'static str {
        match self {
            DefKind::Group => "groups",
            DefKind::Schedule => "schedules",
            DefKind::List => "lists",
        }
    }
}

impl<'a> Builder<'a> {
    fn new(set: &'a FlowSet) -> Self {
        Builder {
            set,
            diags: Vec::new(),
            flow_srcs: Vec::new(),
            flow_ids: HashMap::new(),
            node_ix: HashMap::new(),
            group_ids: HashMap::new(),
            schedule_ids: HashMap::new(),
            list_ids: HashMap::new(),
            sink: NodeIndex::new(0),
            needs_sink: false,
            usage: Usage::default(),
        }
    }

    pub(crate) fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// `unused-definition` for one kind of definition.
    fn unused_of<T>(
        &self,
        kind: DefKind,
        section: fn(&'a RawFile) -> &'a [Named<T>],
        used: impl Fn(u32) -> bool,
    ) -> Vec<Diagnostic> {
        let defs = self.definitions(kind, section).into_iter().enumerate();
        defs.filter(|(i, _)| !used(*i as u32))
            .map(|(_, (file, n))| {
                Diagnostic::new(
                    Code::UnusedDefinition,
                    format!("{} `{}` is never used", kind.noun(), n.name.value),
                )
                .labelled(Span::new(file, n.name.range()), "unused")
                .hint("use it from a node, or delete it to keep the flow set honest")
            })
            .collect()
    }

    /// Report groups, schedules, lists and flows nothing uses.
    fn unused(&mut self, program: &Program) {
        let u = &self.usage;
        let mut found = self.unused_of(
            DefKind::Group,
            |f| &f.groups,
            |i| u.groups.contains(&GroupId(i)),
        );
        found.extend(self.unused_of(
            DefKind::Schedule,
            |f| &f.schedules,
            |i| u.schedules.contains(&ScheduleId(i)),
        ));
        found.extend(self.unused_of(
            DefKind::List,
            |f| &f.lists,
            |i| u.lists.contains(&ListId(i)),
        ));
        self.diags.extend(found);
        for (i, f) in program.flows.iter().enumerate() {
            let id = FlowId(i as u32);
            if !f.entry && !self.usage.flows.contains(&id) {
                self.push(
                    Diagnostic::new(Code::UnusedDefinition, format!("flow `{}` is never entered", f.name))
                        .labelled(f.span, "unused flow")
                        .hint(format!(
                            "map a number to it in `[numbers]`, make it `default_flow`, or call it with `[subflow.x] flow = \"{}\"`",
                            f.name
                        )),
                );
            }
        }
    }

    /// A prompt compiler for `file`, speaking `languages`. It borrows the flow
    /// set, not the builder, so diagnostics can still be pushed meanwhile.
    pub(crate) fn prompts<'c>(
        &self,
        file: FileId,
        languages: &'c [Lang],
        settings: &'c Settings,
    ) -> prompts::PromptCx<'c>
    where
        'a: 'c,
    {
        let set: &'a FlowSet = self.set;
        prompts::PromptCx {
            file,
            languages,
            default_language: &settings.default_language,
            recordings: &set.recordings,
        }
    }
}

/// Compile in-memory files `(name, text)`: a convenience for tests and benchmarks.
pub fn compile_texts<'a>(
    files: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> (FlowSet, Compiled) {
    let set = crate::flow::parse_texts(
        files
            .into_iter()
            .map(|(name, text)| (format!("{name}.toml"), name.to_owned(), text.to_owned())),
    );
    let compiled = compile(&set);
    (set, compiled)
}

/// The one-line summary `check` ends with.
pub fn summary_line(s: &Summary, deny_warnings: bool) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let verdict = if s.counts.errors > 0 {
        "failed"
    } else if deny_warnings && s.counts.warnings > 0 {
        "failed (warnings denied)"
    } else {
        "ok"
    };
    format!(
        "check {verdict}: {}, {}, {}; {}, {}",
        plural(s.flows, "flow"),
        plural(s.nodes, "node"),
        plural(s.groups, "group"),
        plural(s.counts.errors, "error"),
        plural(s.counts.warnings, "warning"),
    )
}

/// The "how deep is my tree" table: fewest key presses from each flow's start to each group.
pub fn depth_report(depths: &[FlowDepth]) -> String {
    let mut out = String::new();
    for d in depths.iter().filter(|d| !d.groups.is_empty()) {
        let role = if d.entry {
            "entry flow"
        } else {
            "sub-flow / jump target"
        };
        out.push_str(&format!(
            "{} ({role}): fewest key presses from the start\n",
            d.flow
        ));
        let width = d.groups.iter().map(|g| g.group.len()).max().unwrap_or(0);
        for g in &d.groups {
            let keys = if g.keys.is_empty() {
                "no keys".to_owned()
            } else {
                format!("keys {}", g.keys.join(" "))
            };
            out.push_str(&format!(
                "  {:<width$}  {:<7}  {:>2}  ({keys})\n",
                g.group,
                g.kind.to_string(),
                g.presses
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::Key;

    fn ok(files: &[(&str, &str)]) -> Program {
        let (set, c) = compile_texts(files.iter().copied());
        c.program.unwrap_or_else(|| {
            panic!(
                "{}",
                diagnostic::render_text(&c.diagnostics, &set.sources, diagnostic::Style::Plain)
            )
        })
    }

    const MAIN: &str = r#"
[flow]
start = "m"
operator = "desk"

[menu.m]
prompt = "For help, press 1. For sales, press 2."
options = { 1 = "help.start", 2 = "sales" }

[queue.sales]
group = "sales"

[queue.desk]
group = "sales"

[groups.sales]
kind = "service"
"#;
    const HELP: &str = r#"
[flow]
start = "start"

[input.start]
prompt = "Enter your order number."
variable = "order"
max_digits = 6
next = "bye"

[hangup.bye]
"#;

    #[test]
    fn resolves_cross_flow_targets_and_defaults_global_keys() {
        let p = ok(&[
            ("main", MAIN),
            ("help", HELP),
            ("settings", "[settings]\ndefault_flow = \"main\"\n"),
        ]);
        let m = p.node_by_name("main", "m").unwrap();
        let NodeKind::Menu(menu) = &p.node(m).kind else {
            panic!("menu")
        };
        assert_eq!(p.qualified_name(menu.options[0].target), "help.start");
        let main = &p.flows[p.flow_by_name("main").unwrap().index()];
        assert_eq!(
            main.keys.operator.map(|(k, t)| (k, p.qualified_name(t))),
            Some((Key::parse("0").unwrap(), "main.desk".into()))
        );
        assert_eq!(main.keys.repeat, Key::parse("*"));
        assert!(main.entry);
        assert!(!p.flows[p.flow_by_name("help").unwrap().index()].entry);
    }

    #[test]
    fn failure_route_is_on_failure_then_operator_then_fallback() {
        let p = ok(&[
            ("main", MAIN),
            ("help", HELP),
            ("settings", "[settings]\ndefault_flow = \"main\"\n"),
        ]);
        let m = p.node_by_name("main", "m").unwrap();
        assert_eq!(
            p.failure_route(m).map(|t| p.qualified_name(t)).as_deref(),
            Some("main.desk")
        );
        let input = p.node_by_name("help", "start").unwrap();
        assert_eq!(
            p.failure_route(input),
            None,
            "no on_failure and no operator: the fallback route"
        );
    }

    #[test]
    fn depth_report_follows_the_keys_a_caller_presses() {
        let (_, c) = compile_texts([
            ("main", MAIN),
            ("help", HELP),
            ("settings", "[settings]\ndefault_flow = \"main\"\n"),
        ]);
        let main = c.depths.iter().find(|d| d.flow == "main").unwrap();
        let sales = main.groups.iter().find(|g| g.group == "sales").unwrap();
        assert_eq!(
            (sales.presses, sales.keys.clone()),
            (1, vec!["2".to_owned()])
        );
        assert!(depth_report(&c.depths).contains("sales  service   1  (keys 2)"));
    }

    #[test]
    fn version_follows_the_text() {
        let (a, _) = compile_texts([("main", MAIN)]);
        let (b, _) = compile_texts([("main", MAIN)]);
        let (c, _) = compile_texts([("main", &*MAIN.replace("For sales", "For Sales"))]);
        assert_eq!(version(&a), version(&b));
        assert_ne!(version(&a), version(&c));
        let mut d = a.clone();
        d.recordings.files.insert("zh-CN/greeting.wav".into());
        assert_ne!(
            version(&a),
            version(&d),
            "a new recording can change what a prompt plays"
        );
    }
}
