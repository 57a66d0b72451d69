//! The flow file format and loading a directory of flow files.
//!
//! [`parse_file`] is pure: text in, a [`RawFile`] plus diagnostics out. Each
//! node, group and schedule is deserialized on its own, so one broken node
//! does not hide the problems of the next. [`load_dir`] is the thin IO wrapper:
//! it reads every `*.toml` in a directory and indexes the recordings folder.
//! Nothing here knows about HTTP, XML or the call engine.

pub mod prompt;
pub mod raw;
pub mod snapshot;
pub mod spanned;

use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::source::{FileId, Sources, Span};
use raw::{RawFlowHeader, RawGroup, RawList, RawNodeKind, RawSchedule, RawSettings, SECTIONS};
use serde::Deserialize;
use spanned::{Sp, StringOr};
use std::collections::BTreeSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::de::{DeTable, DeValue, ValueDeserializer};

/// One node as written: its id, its type and fields, and the span of its table.
#[derive(Clone, Debug)]
pub struct RawNode {
    /// The node id (the key after the type: `[menu.<id>]`).
    pub id: Sp<String>,
    /// Type and fields.
    pub kind: RawNodeKind,
    /// Span of the node's table.
    pub span: Range<usize>,
}

/// A named definition (group, schedule, list) and its span.
#[derive(Clone, Debug)]
pub struct Named<T> {
    /// The name (the key: `[groups.<name>]`).
    pub name: Sp<String>,
    /// The definition.
    pub value: T,
    /// Span of the definition's table.
    pub span: Range<usize>,
}

/// A `[numbers]` entry: the number, its flow, and the provider that carries it if said.
pub type NumberEntry = (Sp<String>, Sp<String>, Option<Sp<String>>);

/// One parsed flow file.
#[derive(Clone, Debug)]
pub struct RawFile {
    /// Where the text lives in [`Sources`].
    pub file: FileId,
    /// The file stem: the flow's name if the file has a `[flow]` table.
    pub name: String,
    /// `[flow]`, which makes the file a flow.
    pub flow: Option<Sp<RawFlowHeader>>,
    /// Every node, in file order.
    pub nodes: Vec<RawNode>,
    /// `[groups.*]`.
    pub groups: Vec<Named<RawGroup>>,
    /// `[schedules.*]`.
    pub schedules: Vec<Named<RawSchedule>>,
    /// `[lists.*]`.
    pub lists: Vec<Named<RawList>>,
    /// `[numbers]`: called number → flow, and the provider that carries it if said.
    pub numbers: Vec<NumberEntry>,
    /// `[settings]`.
    pub settings: Option<Sp<RawSettings>>,
    /// Names (nodes, groups, schedules, lists) whose definitions failed to parse:
    /// references to them are not reported again as unknown.
    pub failed: BTreeSet<String>,
    /// The file is not valid TOML, so nothing in it is known.
    pub unparsed: bool,
}

/// The recordings folder: which files exist (paths relative to it, `/`-separated).
#[derive(Clone, Debug, Default)]
pub struct Recordings {
    /// The folder, as shown to admins.
    pub root: PathBuf,
    /// Relative paths of every file, e.g. `greeting.wav`, `zh-CN/greeting.wav`.
    pub files: BTreeSet<String>,
}

/// Everything read from a flow directory, ready for `compile`.
#[derive(Clone, Debug, Default)]
pub struct FlowSet {
    /// Every file's text.
    pub sources: Sources,
    /// Every file that parsed (possibly partly).
    pub files: Vec<RawFile>,
    /// The recordings folder's contents.
    pub recordings: Recordings,
    /// Problems found while reading and parsing.
    pub diagnostics: Vec<Diagnostic>,
}

/// Why a flow directory could not be loaded at all (as opposed to diagnostics in its files).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The directory itself cannot be listed.
    #[error("cannot read flow directory {path}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Is `name` usable as a node, flow, group or variable name?
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn name_hint() -> &'static str {
    "names may use letters, digits, `_` and `-` (no dots or spaces: `flow.node` is how other flows are referenced)"
}

/// Parse one flow file's text. Never panics; every problem becomes a diagnostic.
pub fn parse_file(file: FileId, name: &str, text: &str) -> (RawFile, Vec<Diagnostic>) {
    let mut raw = RawFile {
        file,
        name: name.to_owned(),
        flow: None,
        nodes: Vec::new(),
        groups: Vec::new(),
        schedules: Vec::new(),
        lists: Vec::new(),
        numbers: Vec::new(),
        settings: None,
        failed: BTreeSet::new(),
        unparsed: false,
    };
    let mut diags = Vec::new();
    let span = |r: Range<usize>| Span::new(file, r);

    let (root, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        raw.unparsed = true;
        for e in errors {
            let r = e.span().unwrap_or(0..0);
            diags.push(
                Diagnostic::new(Code::TomlSyntax, format!("TOML syntax error: {}", e.message().trim()))
                    .labelled(span(r), "here")
                    .hint("fix the TOML syntax; `switchboard check` reports the rest once the file parses"),
            );
        }
        return (raw, diags);
    }

    for (key, value) in root.into_inner() {
        let key_span = key.span();
        let key = key.into_inner();
        let section = key.as_ref();
        let value_span = value.span();
        match section {
            "flow" => {
                if let Some(v) = de::<RawFlowHeader>(file, value, "the [flow] table", &mut diags) {
                    raw.flow = Some(Sp::new(v, value_span));
                }
            }
            "settings" => {
                if let Some(v) = de::<RawSettings>(file, value, "[settings]", &mut diags) {
                    raw.settings = Some(Sp::new(v, value_span));
                }
            }
            "numbers" => {
                for (k, v, at) in entries(file, section, value, &mut diags) {
                    let what = format!("number `{}`", k.value);
                    if let Some(n) = de::<raw::RawNumber>(file, v, &what, &mut diags) {
                        let (flow, provider) = match n {
                            StringOr::String(f) => (Sp::new(f, at), None),
                            StringOr::Table(t) => (t.flow, t.provider),
                        };
                        raw.numbers
                            .push((Sp::new(k.to_string(), k.range()), flow, provider));
                    }
                }
            }
            "groups" | "schedules" | "lists" => {
                for (k, v, s) in entries(file, section, value, &mut diags) {
                    check_name(file, &k, section, &mut diags);
                    let name = Sp::new(k.value.to_string(), k.range());
                    raw.failed.insert(k.value.to_string());
                    match section {
                        "groups" => {
                            let ctx = format!("group `{}`", k.value);
                            if let Some(value) = de::<RawGroup>(file, v, &ctx, &mut diags) {
                                raw.failed.remove(&name.value);
                                raw.groups.push(Named {
                                    name,
                                    value,
                                    span: s,
                                });
                            }
                        }
                        "schedules" => {
                            let ctx = format!("schedule `{}`", k.value);
                            if let Some(value) = de::<RawSchedule>(file, v, &ctx, &mut diags) {
                                raw.failed.remove(&name.value);
                                raw.schedules.push(Named {
                                    name,
                                    value,
                                    span: s,
                                });
                            }
                        }
                        _ => {
                            let ctx = format!("list `{}`", k.value);
                            if let Some(value) = de::<RawList>(file, v, &ctx, &mut diags) {
                                raw.failed.remove(&name.value);
                                raw.lists.push(Named {
                                    name,
                                    value,
                                    span: s,
                                });
                            }
                        }
                    }
                }
            }
            ty if RawNodeKind::TYPES.contains(&ty) => {
                for (id, v, s) in entries(file, section, value, &mut diags) {
                    check_name(file, &id, "node", &mut diags);
                    let ctx = format!("{ty} node `{}`", id.value);
                    let de_result = RawNodeKind::deserialize_as(ty, ValueDeserializer::from(v));
                    match de_result {
                        Some(Ok(kind)) => raw.nodes.push(RawNode {
                            id: Sp::new(id.value.to_string(), id.range()),
                            kind,
                            span: s,
                        }),
                        Some(Err(e)) => {
                            raw.failed.insert(id.value.to_string());
                            diags.push(toml_error(file, &e, &ctx, s.clone()));
                        }
                        None => {}
                    }
                }
            }
            other => {
                let allowed = RawNodeKind::TYPES.iter().chain(SECTIONS).copied();
                let mut list: Vec<_> = allowed.clone().map(|a| format!("`{a}`")).collect();
                list.sort();
                diags.push(
                    Diagnostic::new(
                        Code::UnknownField,
                        format!("unknown node type or section `{other}`"),
                    )
                    .labelled(span(key_span), "not a node type or section")
                    .hint(match did_you_mean(other, allowed) {
                        Some(dym) => format!("{dym} Allowed here: {}", list.join(", ")),
                        None => format!("allowed here: {}", list.join(", ")),
                    }),
                );
            }
        }
    }
    raw.nodes.sort_by_key(|n| n.span.start);
    raw.groups.sort_by_key(|g| g.span.start);
    raw.schedules.sort_by_key(|g| g.span.start);
    raw.lists.sort_by_key(|g| g.span.start);
    raw.numbers.sort_by_key(|n| n.0.start);
    crate::diagnostic::sort(&mut diags);
    (raw, diags)
}

type Entry<'i> = (
    Sp<std::borrow::Cow<'i, str>>,
    toml::Spanned<DeValue<'i>>,
    Range<usize>,
);

/// The entries of a table-of-tables section such as `[menu.*]` or `[groups.*]`.
fn entries<'i>(
    file: FileId,
    section: &str,
    value: toml::Spanned<DeValue<'i>>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Entry<'i>> {
    let span = value.span();
    match value.into_inner() {
        DeValue::Table(t) => t
            .into_iter()
            .map(|(k, v)| {
                let ks = k.span();
                let vs = v.span();
                (Sp::new(k.into_inner(), ks), v, vs)
            })
            .collect(),
        other => {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("`{section}` must be a table, found {}", other.type_str()),
                )
                .labelled(Span::new(file, span), "expected a table")
                .hint(format!("write entries as `[{section}.<name>]` tables")),
            );
            Vec::new()
        }
    }
}

fn check_name(
    file: FileId,
    name: &Sp<std::borrow::Cow<'_, str>>,
    what: &str,
    diags: &mut Vec<Diagnostic>,
) {
    if !is_valid_name(&name.value) {
        let what = what.trim_end_matches('s');
        diags.push(
            Diagnostic::new(
                Code::InvalidValue,
                format!("`{}` is not a valid {what} name", name.value),
            )
            .labelled(Span::new(file, name.range()), "invalid name")
            .hint(name_hint()),
        );
    }
}

fn de<T: for<'de> Deserialize<'de>>(
    file: FileId,
    value: toml::Spanned<DeValue<'_>>,
    ctx: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<T> {
    let span = value.span();
    match T::deserialize(ValueDeserializer::from(value)) {
        Ok(v) => Some(v),
        Err(e) => {
            diags.push(toml_error(file, &e, ctx, span));
            None
        }
    }
}

/// Turn a serde/TOML error into a diagnostic with a code and a hint.
pub(crate) fn toml_error(
    file: FileId,
    e: &toml::de::Error,
    ctx: &str,
    fallback: Range<usize>,
) -> Diagnostic {
    let msg = e.message().trim();
    let span = Span::new(file, e.span().unwrap_or(fallback));
    let quoted =
        |s: &str| -> Vec<String> { s.split('`').skip(1).step_by(2).map(str::to_owned).collect() };
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        let names = quoted(rest);
        let (bad, allowed) = names
            .split_first()
            .map_or(("?", &[][..]), |(b, a)| (b.as_str(), a));
        let list: Vec<_> = allowed.iter().map(|a| format!("`{a}`")).collect();
        let dym = did_you_mean(bad, allowed.iter().map(String::as_str));
        let hint = match dym {
            Some(d) => format!("{d} Allowed keys: {}", list.join(", ")),
            None if list.is_empty() => "this table takes no keys".to_owned(),
            None => format!("allowed keys: {}", list.join(", ")),
        };
        return Diagnostic::new(Code::UnknownField, format!("unknown key `{bad}` in {ctx}"))
            .labelled(span, "unknown key")
            .hint(hint);
    }
    if let Some(rest) = msg.strip_prefix("missing field ") {
        let field = quoted(rest).into_iter().next().unwrap_or_default();
        return Diagnostic::new(Code::MissingField, format!("{ctx} is missing `{field}`"))
            .labelled(span, format!("needs `{field}`"))
            .hint(format!(
                "add `{field} = …`; docs/flows.md describes every key"
            ));
    }
    if let Some(rest) = msg.strip_prefix("unknown variant ") {
        let names = quoted(rest);
        let (bad, allowed) = names
            .split_first()
            .map_or(("?", &[][..]), |(b, a)| (b.as_str(), a));
        let list: Vec<_> = allowed.iter().map(|a| format!("`{a}`")).collect();
        return Diagnostic::new(
            Code::InvalidValue,
            format!("`{bad}` is not allowed in {ctx}"),
        )
        .labelled(span, "unknown value")
        .hint(
            match did_you_mean(bad, allowed.iter().map(String::as_str)) {
                Some(d) => format!("{d} Allowed: {}", list.join(", ")),
                None => format!("allowed: {}", list.join(", ")),
            },
        );
    }
    let hint = if msg.starts_with("invalid type") {
        "check the value's type: text needs quotes (\"5s\", \"1\"), numbers and true/false do not"
    } else {
        "see docs/flows.md for the expected form"
    };
    Diagnostic::new(Code::InvalidValue, format!("{msg} (in {ctx})"))
        .labelled(span, "invalid value")
        .hint(hint)
}

/// Read every `*.toml` file in `dir` (not recursing: `tests/` holds scenarios)
/// and index the recordings folder named by `[settings] recordings`.
pub fn load_dir(dir: &Path) -> Result<FlowSet, LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|source| LoadError::Dir {
        path: dir.to_owned(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
        .collect();
    paths.sort();

    let mut texts = Vec::new();
    let mut read_errors = Vec::new();
    for path in paths {
        let display = path.display().to_string();
        match std::fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => texts.push((display, stem(&path), text)),
                Err(e) => read_errors.push((
                    display,
                    format!("not valid UTF-8 (byte {})", e.utf8_error().valid_up_to()),
                )),
            },
            Err(e) => read_errors.push((display, e.to_string())),
        }
    }
    let mut set = parse_texts(texts);
    for (path, why) in read_errors {
        let id = set.sources.add(path.clone(), String::new());
        set.diagnostics.push(
            Diagnostic::new(Code::ReadError, format!("cannot read {path}: {why}"))
                .at(Span::new(id, 0..0))
                .hint("check the file's permissions and that it is UTF-8 text"),
        );
    }
    let rel = set
        .files
        .iter()
        .find_map(|f| {
            f.settings
                .as_ref()
                .and_then(|s| s.value.recordings.as_ref())
        })
        .map_or_else(|| "../recordings".to_owned(), |r| r.value.clone());
    let root = dir.join(rel);
    set.recordings = index_recordings(&root);
    Ok(set)
}

/// Parse in-memory files: `(display path, flow name, text)`. Pure; used by
/// [`load_dir`], tests and benchmarks.
pub fn parse_texts(texts: impl IntoIterator<Item = (String, String, String)>) -> FlowSet {
    let mut set = FlowSet::default();
    for (path, name, text) in texts {
        let id = set.sources.add(path, text);
        let (raw, diags) = parse_file(id, &name, &set.sources.get(id).text);
        set.files.push(raw);
        set.diagnostics.extend(diags);
    }
    set
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// List the recordings folder: its files and those one level down (per language).
fn index_recordings(root: &Path) -> Recordings {
    let mut files = BTreeSet::new();
    if let Ok(entries) = std::fs::read_dir(root) {
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                if let Ok(sub) = std::fs::read_dir(&p) {
                    for s in sub.filter_map(Result::ok) {
                        if s.path().is_file() {
                            files.insert(format!("{name}/{}", s.file_name().to_string_lossy()));
                        }
                    }
                }
            } else {
                files.insert(name);
            }
        }
    }
    Recordings {
        root: root.to_owned(),
        files,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (RawFile, Vec<Diagnostic>) {
        let mut s = Sources::new();
        let id = s.add("t.toml", text);
        parse_file(id, "t", text)
    }

    #[test]
    fn parses_nodes_in_file_order_with_spans() {
        let src = "[flow]\nstart = \"a\"\n[say.a]\nprompt = \"hi\"\nnext = \"b\"\n[hangup.b]\n";
        let (raw, diags) = parse(src);
        assert!(diags.is_empty(), "{diags:?}");
        let ids: Vec<_> = raw.nodes.iter().map(|n| n.id.value.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(&src[raw.nodes[0].id.range()], "a");
        assert_eq!(raw.flow.map(|f| f.value.start.value), Some("a".to_owned()));
    }

    #[test]
    fn one_bad_node_does_not_hide_the_next() {
        let src =
            "[say.a]\nprompt = 3\nnext = \"b\"\n[say.b]\nprompt = \"x\"\nnxt = \"a\"\n[mneu.c]\n";
        let (raw, diags) = parse(src);
        let codes: Vec<_> = diags.iter().map(|d| d.code).collect();
        assert_eq!(
            codes,
            [Code::InvalidValue, Code::UnknownField, Code::UnknownField]
        );
        assert!(raw.nodes.is_empty());
        assert_eq!(
            diags[2]
                .hint
                .as_deref()
                .map(|h| h.starts_with("did you mean `menu`?")),
            Some(true)
        );
        assert!(
            diags[1]
                .hint
                .as_deref()
                .unwrap_or("")
                .contains("did you mean `next`?")
        );
    }

    #[test]
    fn syntax_errors_are_reported_with_positions() {
        let (_, diags) = parse("[flow\nstart = 1");
        assert!(!diags.is_empty());
        assert!(
            diags
                .iter()
                .all(|d| d.code == Code::TomlSyntax && d.span.is_some())
        );
    }

    #[test]
    fn names_are_checked() {
        assert!(is_valid_name("tier_1-support"));
        assert!(!is_valid_name("a.b"));
        assert!(!is_valid_name(""));
        let (_, diags) = parse("[hangup.\"bad name\"]\n");
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code, Code::InvalidValue);
    }
}
