//! Names and references: which flows and nodes exist, resolving `node` and
//! `flow.node` targets and group/schedule/list names, with "did you mean"
//! hints, and reporting duplicate definitions.

use super::{Builder, DefKind, FlowSrc};
use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::flow::spanned::Sp;
use crate::flow::{Named, RawFile};
use crate::program::{FlowId, GroupId, ListId, ScheduleId};
use crate::source::{FileId, Span};
use petgraph::graph::NodeIndex;
use std::collections::HashMap;

impl<'a> Builder<'a> {
    /// Gather flows and their node names; report duplicates and stray nodes.
    pub(super) fn collect_flows(&mut self) {
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
