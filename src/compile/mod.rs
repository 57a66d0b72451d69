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
mod nodes;
mod prompts;

pub use checks::{FlowDepth, GroupDepth};

use crate::diagnostic::{self, Code, Counts, Diagnostic, did_you_mean};
use crate::flow::spanned::Sp;
use crate::flow::{FlowSet, Named, RawFile};
use crate::program::{FlowId, GroupId, Lang, ListId, Node, NodeKind, Program, ScheduleId};
use crate::source::{FileId, Span};
use petgraph::graph::{DiGraph, NodeIndex};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

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
    let mut b = Builder::new(set);
    b.diags.extend(set.diagnostics.iter().cloned());
    b.collect_flows();
    let settings = b.settings();
    b.collect_definitions();
    let schedules = b.schedules();
    let lists = b.lists();
    let groups = b.groups(&settings);
    let flows = b.flows(&settings);
    let nodes = b.nodes(&settings, &flows, &groups);
    let (numbers, default_flow, fallback) = b.routing(&settings);

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
            span: Span::new(FileId(0), 0..0),
        });
    }
    let edges: Vec<_> = graph
        .node_indices()
        .flat_map(|ix| {
            graph[ix]
                .kind
                .exits()
                .into_iter()
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
    let program = Program {
        version: version(set),
        graph,
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

/// A hash of every source file, so a call can keep the version it started with.
fn version(set: &FlowSet) -> String {
    let mut h = Sha256::new();
    for (_, f) in set.sources.iter() {
        h.update(f.path.as_bytes());
        h.update([0]);
        h.update(f.text.as_bytes());
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

    /// Gather flows and their node names; report duplicates and stray nodes.
    fn collect_flows(&mut self) {
        let mut count = 0usize;
        for file in &self.set.files {
            match &file.flow {
                Some(header) => {
                    if !crate::flow::is_valid_name(&file.name) {
                        self.push(
                            Diagnostic::new(
                                Code::InvalidValue,
                                format!("`{}` is not a valid flow name", file.name),
                            )
                            .labelled(Span::new(file.file, header.range()), "this file is a flow")
                            .hint(
                                "rename the file: flow names may use letters, digits, `_` and `-`",
                            ),
                        );
                    }
                    let id = FlowId(self.flow_srcs.len() as u32);
                    self.flow_ids.insert(file.name.clone(), id);
                    let mut seen: HashMap<&str, &Sp<String>> = HashMap::new();
                    for node in &file.nodes {
                        if let Some(first) = seen.get(node.id.as_str()) {
                            self.diags.push(
                                Diagnostic::new(
                                    Code::DuplicateDefinition,
                                    format!("node `{}` is defined twice in flow `{}`", node.id.value, file.name),
                                )
                                .labelled(Span::new(file.file, node.id.range()), "second definition")
                                .note(Span::new(file.file, first.range()), "first defined here")
                                .hint("node ids are shared by every node type of a flow; rename one of them"),
                            );
                            continue;
                        }
                        seen.insert(&node.id.value, &node.id);
                        self.node_ix
                            .insert((id, node.id.value.clone()), NodeIndex::new(count));
                        count += 1;
                    }
                    self.flow_srcs.push(FlowSrc {
                        name: file.name.clone(),
                        file,
                    });
                }
                None => {
                    if let Some(first) = file.nodes.first() {
                        self.push(
                            Diagnostic::new(
                                Code::MissingField,
                                format!("{} declares nodes but has no [flow] table", self.set.sources.get(file.file).path),
                            )
                            .labelled(Span::new(file.file, first.span.clone()), "a node outside any flow")
                            .hint(format!("add `[flow]` with `start = \"{}\"` to make this file the flow `{}`", first.id.value, file.name)),
                        );
                    }
                }
            }
        }
        self.sink = NodeIndex::new(count);
        if self.flow_srcs.is_empty() && !self.set.files.iter().any(|f| f.unparsed) {
            self.push(Diagnostic::new(Code::NoFlows, "no flow found: no file has a [flow] table").hint(
                "a flow is a file `<name>.toml` with `[flow] start = \"…\"` and nodes; see docs/flows.md",
            ));
        }
    }

    /// The flow a node belongs to is needed for resolution; nodes are visited flow by flow.
    pub(crate) fn target(&mut self, flow: FlowId, file: FileId, t: &Sp<String>) -> NodeIndex {
        let (fid, node) = match t.split_once('.') {
            Some((f, n)) => match self.flow_ids.get(f) {
                Some(&fid) => {
                    if fid != flow {
                        self.usage.flows.insert(fid);
                    }
                    (fid, n)
                }
                None => {
                    if !self.set.files.iter().any(|x| x.name == f && x.unparsed) {
                        let d = self.unknown_flow(file, f, t.range());
                        self.push(d);
                    }
                    self.needs_sink = true;
                    return self.sink;
                }
            },
            None => (flow, t.as_str()),
        };
        if let Some(&ix) = self.node_ix.get(&(fid, node.to_owned())) {
            return ix;
        }
        self.needs_sink = true;
        let src = &self.flow_srcs[fid.index()];
        if !src.file.failed.contains(node) {
            let candidates: Vec<&str> = src.file.nodes.iter().map(|n| n.id.as_str()).collect();
            let where_ = if fid == flow {
                String::new()
            } else {
                format!(" in flow `{}`", src.name)
            };
            let d = Diagnostic::new(
                Code::UnknownReference,
                format!("there is no node `{node}`{where_}"),
            )
            .labelled(Span::new(file, t.range()), "unknown node")
            .hint(
                did_you_mean(node, candidates.iter().copied()).unwrap_or_else(|| {
                    format!(
                        "define it, e.g. `[say.{node}]`, or point at an existing node ({} in `{}`)",
                        candidates.len(),
                        src.name
                    )
                }),
            );
            self.push(d);
        }
        self.sink
    }

    /// "there is no flow `x`", suggesting flows that exist or whose file did not parse.
    pub(crate) fn unknown_flow(
        &self,
        file: FileId,
        name: &str,
        range: std::ops::Range<usize>,
    ) -> Diagnostic {
        let names: Vec<&str> = self.flow_srcs.iter().map(|s| s.name.as_str()).collect();
        let unparsed: Vec<&str> = self
            .set
            .files
            .iter()
            .filter(|f| f.unparsed)
            .map(|f| f.name.as_str())
            .collect();
        let hint = match did_you_mean(name, names.iter().chain(&unparsed).copied()) {
            Some(d) if unparsed.iter().any(|u| d.contains(&format!("`{u}`"))) => {
                format!("{d} (that file has syntax errors, so its flow is not known yet)")
            }
            Some(d) => d,
            None => format!(
                "flows: {}; other flows' nodes are written `flow.node`",
                names.join(", ")
            ),
        };
        Diagnostic::new(Code::UnknownReference, format!("there is no flow `{name}`"))
            .labelled(Span::new(file, range), "unknown flow")
            .hint(hint)
    }

    /// Resolve a group, schedule or list name.
    pub(crate) fn def_ref<T: Copy>(
        &mut self,
        kind: DefKind,
        file: FileId,
        name: &Sp<String>,
    ) -> Option<T>
    where
        Builder<'a>: DefTable<T>,
    {
        if let Some(id) = <Self as DefTable<T>>::table(self)
            .get(name.as_str())
            .copied()
        {
            <Self as DefTable<T>>::used(self, id);
            return Some(id);
        }
        let any_unparsed = self.set.files.iter().any(|f| f.unparsed);
        let failed = self
            .set
            .files
            .iter()
            .any(|f| f.failed.contains(name.as_str()));
        let mut names: Vec<&str> = <Self as DefTable<T>>::table(self)
            .keys()
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        let dym = did_you_mean(name, names.iter().copied());
        // While some file does not parse, an unknown name may be defined there:
        // report it only when it looks like a typo of a known one.
        if !failed && (!any_unparsed || dym.is_some()) {
            let hint = dym.unwrap_or_else(|| {
                if names.is_empty() {
                    format!("declare it as `[{}.{}]`", kind.section(), name.value)
                } else {
                    format!("known {}s: {}", kind.noun(), names.join(", "))
                }
            });
            self.push(
                Diagnostic::new(
                    Code::UnknownReference,
                    format!("there is no {} `{}`", kind.noun(), name.value),
                )
                .labelled(
                    Span::new(file, name.range()),
                    format!("unknown {}", kind.noun()),
                )
                .hint(hint),
            );
        }
        None
    }

    /// Parse a duration such as `"5s"` or `"2m 30s"` within bounds; `None` (and a diagnostic) if it is not one.
    pub(crate) fn duration_opt(
        &mut self,
        file: FileId,
        raw: &Sp<String>,
        min: Duration,
        max: Duration,
    ) -> Option<Duration> {
        self.check_duration(file, raw, min, max, None)
    }

    /// A duration with a default for when the key is absent (or wrong).
    pub(crate) fn duration(
        &mut self,
        file: FileId,
        raw: Option<&Sp<String>>,
        default: Duration,
        min: Duration,
        max: Duration,
    ) -> Duration {
        raw.and_then(|r| self.check_duration(file, r, min, max, Some(default)))
            .unwrap_or(default)
    }

    fn check_duration(
        &mut self,
        file: FileId,
        raw: &Sp<String>,
        min: Duration,
        max: Duration,
        default: Option<Duration>,
    ) -> Option<Duration> {
        let fmt = humantime::format_duration;
        let range = format!("allowed: {} to {}", fmt(min), fmt(max));
        let range = match default {
            Some(d) => format!("{range}; leave the key out for the default, {}", fmt(d)),
            None => range,
        };
        match humantime::parse_duration(raw.trim()) {
            Ok(d) if d >= min && d <= max => Some(d),
            Ok(_) => {
                self.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        format!("`{}` is out of range", raw.value),
                    )
                    .labelled(Span::new(file, raw.range()), "out of range")
                    .hint(range),
                );
                None
            }
            Err(_) => {
                self.push(
                    Diagnostic::new(Code::InvalidValue, format!("`{}` is not a duration", raw.value))
                        .labelled(Span::new(file, raw.range()), "expected a duration")
                        .hint(format!("write a number with a unit: \"5s\", \"90s\", \"2m\", \"1h 30m\", \"7d\" ({range})")),
                );
                None
            }
        }
    }

    /// Check a number within bounds; `None` (and a diagnostic) if outside them.
    pub(crate) fn number_opt(
        &mut self,
        file: FileId,
        raw: &Sp<u32>,
        min: u32,
        max: u32,
        what: &str,
    ) -> Option<u32> {
        self.check_number(file, raw, min, max, what, None)
    }

    /// A number with a default for when the key is absent (or wrong).
    pub(crate) fn bounded(
        &mut self,
        file: FileId,
        raw: Option<&Sp<u32>>,
        default: u32,
        min: u32,
        max: u32,
        what: &str,
    ) -> u32 {
        raw.and_then(|r| self.check_number(file, r, min, max, what, Some(default)))
            .unwrap_or(default)
    }

    fn check_number(
        &mut self,
        file: FileId,
        raw: &Sp<u32>,
        min: u32,
        max: u32,
        what: &str,
        default: Option<u32>,
    ) -> Option<u32> {
        if (min..=max).contains(&raw.value) {
            return Some(raw.value);
        }
        let hint = match default {
            Some(d) => format!("leave the key out for the default, {d}"),
            None => format!("use a number from {min} to {max}"),
        };
        self.push(
            Diagnostic::new(
                Code::InvalidValue,
                format!("{what} must be between {min} and {max}, not {}", raw.value),
            )
            .labelled(Span::new(file, raw.range()), "out of range")
            .hint(hint),
        );
        None
    }

    /// Check a variable name.
    pub(crate) fn var_name(&mut self, file: FileId, name: &Sp<String>) -> String {
        if !crate::flow::is_valid_name(name) {
            self.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("`{}` is not a valid variable name", name.value),
                )
                .labelled(Span::new(file, name.range()), "invalid name")
                .hint("variable names may use letters, digits, `_` and `-`"),
            );
        }
        name.value.clone()
    }

    /// Check a language tag that must be one of the declared ones.
    pub(crate) fn declared_lang(
        &mut self,
        file: FileId,
        tag: &Sp<String>,
        declared: &[Lang],
    ) -> Option<Lang> {
        let Some(lang) = Lang::parse(tag) else {
            self.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("`{}` is not a language tag", tag.value),
                )
                .labelled(Span::new(file, tag.range()), "expected a tag like en-US")
                .hint("language tags look like `en-US`, `zh-CN`, `es-MX`"),
            );
            return None;
        };
        if !declared.contains(&lang) {
            let names: Vec<_> = declared.iter().map(Lang::as_str).collect();
            self.push(
                Diagnostic::new(
                    Code::UnknownReference,
                    format!("language `{lang}` is not declared"),
                )
                .labelled(Span::new(file, tag.range()), "undeclared language")
                .hint(did_you_mean(tag, names.iter().copied()).unwrap_or_else(|| {
                    format!(
                        "declared: {}; add it to `[settings] languages`",
                        names.join(", ")
                    )
                })),
            );
            return None;
        }
        Some(lang)
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

    /// The first definition of each group, schedule or list name, in id order
    /// (later duplicates were reported by `collect_definitions`).
    pub(crate) fn definitions<T>(
        &self,
        kind: DefKind,
        section: fn(&'a RawFile) -> &'a [Named<T>],
    ) -> Vec<(FileId, &'a Named<T>)> {
        let ids = match kind {
            DefKind::Group => self
                .group_ids
                .iter()
                .map(|(k, v)| (k, v.0))
                .collect::<HashMap<_, _>>(),
            DefKind::Schedule => self.schedule_ids.iter().map(|(k, v)| (k, v.0)).collect(),
            DefKind::List => self.list_ids.iter().map(|(k, v)| (k, v.0)).collect(),
        };
        let mut out: Vec<Option<(FileId, &'a Named<T>)>> = vec![None; ids.len()];
        let files: &'a [RawFile] = &self.set.files;
        for f in files {
            for n in section(f) {
                if let Some(&i) = ids.get(&n.name.value) {
                    out[i as usize].get_or_insert((f.file, n));
                }
            }
        }
        out.into_iter().flatten().collect()
    }

    /// Error out on two definitions with one name across files.
    pub(crate) fn duplicate(&mut self, what: &str, name: &str, second: Span, first: Span) {
        self.push(
            Diagnostic::new(
                Code::DuplicateDefinition,
                format!("{what} `{name}` is defined twice"),
            )
            .labelled(second, "second definition")
            .note(first, "first defined here")
            .hint("names are shared by every file in the directory; rename or delete one"),
        );
    }
}

/// Name tables for groups, schedules and lists, so one resolver serves all three.
pub(crate) trait DefTable<T> {
    fn table(&self) -> &HashMap<String, T>;
    fn used(&mut self, id: T);
}

impl DefTable<GroupId> for Builder<'_> {
    fn table(&self) -> &HashMap<String, GroupId> {
        &self.group_ids
    }
    fn used(&mut self, id: GroupId) {
        self.usage.groups.insert(id);
    }
}
impl DefTable<ScheduleId> for Builder<'_> {
    fn table(&self) -> &HashMap<String, ScheduleId> {
        &self.schedule_ids
    }
    fn used(&mut self, id: ScheduleId) {
        self.usage.schedules.insert(id);
    }
}
impl DefTable<ListId> for Builder<'_> {
    fn table(&self) -> &HashMap<String, ListId> {
        &self.list_ids
    }
    fn used(&mut self, id: ListId) {
        self.usage.lists.insert(id);
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
