//! Scenario files (`flows/tests/*.toml`): recorded caller journeys with the
//! end they must reach, run by `switchboard test` as regression tests for a
//! flow set, plus coverage of which nodes and exits no scenario reached.
//!
//! ```toml
//! [[scenario]]
//! name = "billing during office hours"
//! at = "2026-03-02 10:00 America/New_York"
//! moves = "1 2 12345678# queue:bridged 5"
//! expect = { outcome = "group:billing", ends_at = "csat.goodbye", heard = ["Connecting you to billing"] }
//! ```
//!
//! Loading is pure (text in, scenarios and diagnostics out); mistakes get the
//! same file:line:column diagnostics as flow files.

use crate::diagnostic::{Code, Diagnostic};
use crate::engine::RecordKind;
use crate::flow::spanned::Sp;
use crate::program::{Exit, Lang, Program};
use crate::simulate::{self, Move, Session, Setup};
use crate::source::{FileId, Span};
use petgraph::graph::{EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use toml::de::{DeTable, DeValue, ValueDeserializer};

/// A scenario as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Sp<String>,
    at: Sp<String>,
    moves: Sp<String>,
    from: Option<Sp<String>>,
    to: Option<Sp<String>>,
    flow: Option<Sp<String>>,
    language: Option<Sp<String>>,
    #[serde(default)]
    history: Vec<Sp<String>>,
    call_id: Option<Sp<String>>,
    /// Groups an admin has closed for the whole call.
    #[serde(default)]
    closed: Vec<Sp<String>>,
    expect: Sp<RawExpect>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    outcome: Option<Sp<String>>,
    ends_at: Option<Sp<String>>,
    #[serde(default)]
    heard: Vec<Sp<String>>,
    #[serde(default)]
    passes: Vec<Sp<String>>,
    #[serde(default)]
    vars: BTreeMap<String, Sp<String>>,
    language: Option<Sp<String>>,
}

/// A checked scenario, ready to run.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Its name.
    pub name: String,
    /// Where it is written.
    pub span: Span,
    /// How the call is placed.
    pub setup: Setup,
    /// The caller's moves.
    pub moves: Vec<(String, Move)>,
    /// `outcome_code` the call must end with.
    pub outcome: Option<String>,
    /// Node the call must end (or wait) at.
    pub ends_at: Option<NodeIndex>,
    /// Texts (or audio file names) the caller must hear.
    pub heard: Vec<String>,
    /// Nodes the call must pass.
    pub passes: Vec<NodeIndex>,
    /// Variables and their final values.
    pub vars: BTreeMap<String, String>,
    /// The call's final language.
    pub language: Option<Lang>,
}

fn err(
    file: FileId,
    code: Code,
    msg: impl Into<String>,
    r: std::ops::Range<usize>,
    hint: &str,
) -> Diagnostic {
    Diagnostic::new(code, msg)
        .labelled(Span::new(file, r), "here")
        .hint(hint.to_owned())
}

/// Load one scenario file. Every problem becomes a diagnostic.
pub fn parse(p: &Program, file: FileId, text: &str) -> (Vec<Scenario>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut diags = Vec::new();
    let (root, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        for e in errors {
            diags.push(err(
                file,
                Code::TomlSyntax,
                format!("TOML syntax error: {}", e.message().trim()),
                e.span().unwrap_or(0..0),
                "fix the TOML syntax",
            ));
        }
        return (out, diags);
    }
    for (key, value) in root.into_inner() {
        if key.get_ref().as_ref() != "scenario" {
            diags.push(err(
                file,
                Code::UnknownField,
                format!("unknown key `{}` in a scenario file", key.get_ref()),
                key.span(),
                "a scenario file holds `[[scenario]]` tables only",
            ));
            continue;
        }
        let span = value.span();
        let DeValue::Array(items) = value.into_inner() else {
            diags.push(err(
                file,
                Code::InvalidValue,
                "`scenario` must be an array of tables",
                span,
                "write each scenario as `[[scenario]]`",
            ));
            continue;
        };
        for item in items {
            let item_span = item.span();
            match RawScenario::deserialize(ValueDeserializer::from(item)) {
                Ok(raw) => {
                    if let Some(s) = check(p, file, raw, item_span, &mut diags) {
                        out.push(s);
                    }
                }
                Err(e) => diags.push(crate::flow::toml_error(file, &e, "a scenario", item_span)),
            }
        }
    }
    (out, diags)
}

fn node_ref(
    p: &Program,
    file: FileId,
    raw: &Sp<String>,
    diags: &mut Vec<Diagnostic>,
) -> Option<NodeIndex> {
    let found = raw.split_once('.').and_then(|(f, n)| p.node_by_name(f, n));
    if found.is_none() {
        let names = p
            .graph
            .node_indices()
            .map(|ix| p.qualified_name(ix))
            .collect::<Vec<_>>();
        let hint = crate::diagnostic::did_you_mean(raw, names.iter().map(String::as_str))
            .unwrap_or_else(|| "name nodes as `flow.node`, e.g. `main.menu`".into());
        diags.push(err(
            file,
            Code::UnknownReference,
            format!("there is no node `{}`", raw.value),
            raw.range(),
            &hint,
        ));
    }
    found
}

fn check(
    p: &Program,
    file: FileId,
    raw: RawScenario,
    span: std::ops::Range<usize>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Scenario> {
    let before = diags.len();
    let at = simulate::parse_time(&raw.at)
        .map_err(|e| {
            diags.push(err(
                file,
                Code::InvalidValue,
                e,
                raw.at.range(),
                "scenarios fix the caller's time so that hours are tested deterministically",
            ))
        })
        .ok();
    let moves = simulate::parse_moves(&raw.moves)
        .map_err(|e| {
            diags.push(err(
                file,
                Code::InvalidValue,
                e,
                raw.moves.range(),
                "separate moves with spaces",
            ))
        })
        .unwrap_or_default();
    let flow = raw.flow.as_ref().and_then(|f| {
        let id = p.flow_by_name(f);
        if id.is_none() {
            diags.push(err(
                file,
                Code::UnknownReference,
                format!("there is no flow `{}`", f.value),
                f.range(),
                "name one of the flows in the directory",
            ));
        }
        id
    });
    let lang = |l: &Sp<String>, diags: &mut Vec<Diagnostic>| {
        let found = Lang::parse(l).filter(|l| p.languages.contains(l));
        if found.is_none() {
            let langs: Vec<_> = p.languages.iter().map(Lang::as_str).collect();
            diags.push(err(
                file,
                Code::UnknownReference,
                format!("`{}` is not one of the flow set's languages", l.value),
                l.range(),
                &format!("languages: {}", langs.join(", ")),
            ));
        }
        found
    };
    let language = raw.language.as_ref().and_then(|l| lang(l, diags));
    let mut history = Vec::new();
    for h in &raw.history {
        if let Some(at) = at {
            match simulate::parse_history(p, h, at) {
                Ok(c) => history.push(c),
                Err(e) => diags.push(err(
                    file,
                    Code::InvalidValue,
                    e,
                    h.range(),
                    "earlier calls are AGO or AGO:GROUP, e.g. \"3h:support_tier1\"",
                )),
            }
        }
    }
    let mut closed = Vec::new();
    for g in &raw.closed {
        if p.group_by_name(g).is_some() {
            closed.push(g.value.clone());
        } else {
            let names: Vec<&str> = p.groups.iter().map(|g| g.name.as_str()).collect();
            let hint = crate::diagnostic::did_you_mean(g, names.iter().copied())
                .unwrap_or_else(|| format!("groups: {}", names.join(", ")));
            diags.push(err(
                file,
                Code::UnknownReference,
                format!("there is no group `{}` to close", g.value),
                g.range(),
                &hint,
            ));
        }
    }
    let e = &raw.expect.value;
    if let Some(o) = &e.outcome {
        let valid = match o.split_once(':') {
            Some(("group" | "voicemail" | "callback", g)) => p.group_by_name(g).is_some(),
            None => matches!(
                o.as_str(),
                "transfer" | "hangup" | "abandoned" | "fallback" | "none"
            ),
            _ => false,
        };
        if !valid {
            diags.push(err(file, Code::InvalidValue, format!("`{}` is not an outcome", o.value), o.range(), "outcomes: group:NAME, voicemail:NAME, callback:NAME, transfer, hangup, abandoned, fallback, none"));
        }
    }
    let ends_at = e.ends_at.as_ref().and_then(|n| node_ref(p, file, n, diags));
    let passes: Vec<_> = e
        .passes
        .iter()
        .filter_map(|n| node_ref(p, file, n, diags))
        .collect();
    let final_language = e.language.as_ref().and_then(|l| lang(l, diags));
    if e.outcome.is_none() && e.ends_at.is_none() {
        diags.push(err(
            file,
            Code::MissingField,
            format!(
                "scenario `{}` expects nothing about how the call ends",
                raw.name.value
            ),
            raw.expect.range(),
            "add `outcome = \"…\"` or `ends_at = \"flow.node\"` to `expect`",
        ));
    }
    if diags.len() > before {
        return None;
    }
    let to = raw.to.map(|t| t.value).unwrap_or_else(|| {
        let target = flow.unwrap_or(p.default_flow);
        p.numbers
            .iter()
            .find(|(_, f)| **f == target)
            .map_or_else(|| "+15555550100".to_owned(), |(n, _)| n.clone())
    });
    Some(Scenario {
        name: raw.name.value.clone(),
        span: Span::new(file, span),
        setup: Setup {
            flow,
            from: raw
                .from
                .map_or_else(|| "+15555550123".to_owned(), |f| f.value),
            to,
            at: at?,
            language,
            history,
            call_id: raw
                .call_id
                .map_or_else(|| "CA-scenario".to_owned(), |c| c.value),
            closed,
        },
        moves,
        outcome: e.outcome.as_ref().map(|o| o.value.clone()),
        ends_at,
        heard: e.heard.iter().map(|h| h.value.clone()).collect(),
        passes,
        vars: e
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect(),
        language: final_language,
    })
}

/// The result of running one scenario.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// Scenario name.
    pub name: String,
    /// Where it is written (`file:line:column`).
    pub location: String,
    /// Every expectation that did not hold.
    pub failures: Vec<String>,
    /// The nodes the call passed, in order.
    pub path: Vec<String>,
    /// The transcript, for failures.
    #[serde(skip)]
    pub transcript: String,
}

/// Coverage accumulated over scenarios.
#[derive(Clone, Debug, Default)]
pub struct Coverage {
    nodes: BTreeSet<NodeIndex>,
    edges: BTreeSet<EdgeIndex>,
}

/// Run one scenario, adding what it reached to `coverage`.
pub fn run(p: &Program, s: &Scenario, location: String, coverage: &mut Coverage) -> Verdict {
    let mut session = Session::start(p, &s.setup);
    let mut failures = Vec::new();
    for (i, (token, m)) in s.moves.iter().enumerate() {
        if session.ended() {
            failures.push(format!("the call ended before move {} (`{token}`)", i + 1));
            break;
        }
        session.play(token, m.clone());
    }
    // Nodes in the order the call entered them; the exits the engine took.
    let mut path = Vec::new();
    let mut heard = Vec::new();
    let mut took: Option<(NodeIndex, Exit)> = None;
    for entry in &session.log {
        for r in &entry.records {
            match &r.kind {
                RecordKind::Entered => {
                    if let Some(b) = r.node {
                        match took.take() {
                            Some((a, exit)) => coverage.took(p, a, &exit, b),
                            None => {
                                if let Some(&a) = path.last() {
                                    coverage.returned(p, a, b);
                                }
                            }
                        }
                        path.push(b);
                    }
                }
                RecordKind::Took { exit } => took = r.node.map(|a| (a, exit.clone())),
                RecordKind::Heard { said } => heard.push(said.clone()),
                _ => {}
            }
        }
    }
    coverage.nodes.extend(path.iter().copied());
    let names: Vec<String> = path.iter().map(|&n| p.qualified_name(n)).collect();

    let got = session
        .state
        .outcome
        .map_or_else(|| "none".to_owned(), |o| simulate::outcome_code(p, o));
    if let Some(want) = &s.outcome
        && *want != got
    {
        failures.push(format!("outcome: expected {want}, got {got}"));
    }
    if let Some(want) = s.ends_at
        && want != session.state.at
    {
        failures.push(format!(
            "ends at: expected {}, got {}",
            p.qualified_name(want),
            p.qualified_name(session.state.at)
        ));
    }
    for h in &s.heard {
        if !heard.iter().any(|x| x.contains(h.as_str())) {
            failures.push(format!("never heard \"{h}\""));
        }
    }
    for n in &s.passes {
        if !path.contains(n) {
            failures.push(format!("never passed {}", p.qualified_name(*n)));
        }
    }
    for (k, v) in &s.vars {
        if p.sensitive.contains(k) {
            // Checked against the last value the call held; never shown.
            match session.secrets.get(k) {
                Some(got) if got == v => {}
                Some(_) => failures.push(format!(
                    "sensitive variable {k}: not the expected value (values are not shown)"
                )),
                None => failures.push(format!("sensitive variable {k}: never set")),
            }
            continue;
        }
        let got = session.state.vars.get(k);
        if got != Some(v) {
            let got = got.map_or_else(|| "unset".to_owned(), |g| format!("\"{g}\""));
            failures.push(format!("variable {k}: expected \"{v}\", got {got}"));
        }
    }
    if let Some(l) = &s.language
        && *l != session.state.language
    {
        failures.push(format!(
            "language: expected {l}, got {}",
            session.state.language
        ));
    }
    Verdict {
        name: s.name.clone(),
        location,
        failures,
        path: names,
        transcript: simulate::render_text(p, &session, false),
    }
}

impl Coverage {
    /// Mark the exit `exit` from `a` (which led to `b`) as taken.
    fn took(&mut self, p: &Program, a: NodeIndex, exit: &Exit, b: NodeIndex) {
        let edge = p.graph.edges_connecting(a, b).find(|e| e.weight() == exit);
        self.edges.extend(edge.map(|e| e.id()));
    }

    /// A `return` node leads back through the calling sub-flow node's
    /// `returned` exit (the return has no exit of its own).
    fn returned(&mut self, p: &Program, a: NodeIndex, b: NodeIndex) {
        if matches!(p.graph[a].kind, crate::program::NodeKind::Return) {
            let returned = p
                .graph
                .edge_references()
                .filter(|e| e.target() == b && *e.weight() == Exit::Returned);
            self.edges.extend(returned.map(|e| e.id()));
        }
    }

    /// What no scenario reached, per flow: (flow, nodes reached, nodes, exits
    /// taken, exits, missing lines), and the exits no call can take. Those are
    /// not in the program graph, so they are never counted as missing.
    pub fn report(&self, p: &Program) -> Vec<FlowCoverage> {
        p.flows
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let in_flow = |ix: NodeIndex| p.graph[ix].flow.index() == i;
                let nodes: Vec<_> = p.graph.node_indices().filter(|&ix| in_flow(ix)).collect();
                let edges: Vec<_> = p
                    .graph
                    .edge_references()
                    .filter(|e| in_flow(e.source()))
                    .collect();
                let mut missing = Vec::new();
                for &n in nodes.iter().filter(|n| !self.nodes.contains(n)) {
                    missing.push(format!("node {}", p.qualified_name(n)));
                }
                for e in edges.iter().filter(|e| !self.edges.contains(&e.id())) {
                    missing.push(exit_line(p, e.source(), e.weight(), e.target()));
                }
                let impossible = p
                    .impossible
                    .iter()
                    .filter(|i| in_flow(i.node))
                    .map(|i| Impossible {
                        exit: exit_line(p, i.node, &i.exit, i.target),
                        reason: i.reason.clone(),
                    })
                    .collect();
                FlowCoverage {
                    flow: f.name.clone(),
                    nodes_reached: nodes.iter().filter(|n| self.nodes.contains(n)).count(),
                    nodes: nodes.len(),
                    exits_taken: edges
                        .iter()
                        .filter(|e| self.edges.contains(&e.id()))
                        .count(),
                    exits: edges.len(),
                    missing,
                    impossible,
                }
            })
            .collect()
    }
}

/// Coverage of one flow.
#[derive(Clone, Debug, Serialize)]
pub struct FlowCoverage {
    /// Flow name.
    pub flow: String,
    /// Nodes some scenario entered.
    pub nodes_reached: usize,
    /// All nodes.
    pub nodes: usize,
    /// Exits some scenario took.
    pub exits_taken: usize,
    /// All exits.
    pub exits: usize,
    /// What no scenario reached.
    pub missing: Vec<String>,
    /// Exits no call can take, which coverage does not count.
    pub impossible: Vec<Impossible>,
}

/// An exit of the flow that no call can take, and why (see
/// [`Program::impossible`]).
#[derive(Clone, Debug, Serialize)]
pub struct Impossible {
    /// The exit, as `exit main.hours --holiday--> main.closed`.
    pub exit: String,
    /// Why no call can take it.
    pub reason: String,
}

/// An exit as the report names it: `exit main.menu --press 1--> main.sales`.
fn exit_line(p: &Program, from: NodeIndex, exit: &Exit, to: NodeIndex) -> String {
    let label = exit.label();
    let label = if label.is_empty() { "next" } else { &label };
    format!(
        "exit {} --{label}--> {}",
        p.qualified_name(from),
        p.qualified_name(to)
    )
}
