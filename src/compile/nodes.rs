//! Compiling nodes: every field checked, every reference resolved to a
//! `NodeIndex`, `GroupId` or `ScheduleId`, and the per-node lints
//! (`missing-failure-exit`, `shadowed-global-key`, `duplicate-option`,
//! `invalid-key`, `split-weights`, `queue-without-closed-route`,
//! `prompt-option-mismatch`).

use super::prompts;
use super::{Builder, DefKind, Settings};
use crate::diagnostic::{Code, Diagnostic};
use crate::flow::RawNode;
use crate::flow::prompt::RawPrompt;
use crate::flow::raw::*;
use crate::flow::spanned::{Sp, StringOr};
use crate::program::*;
use crate::routing::{Endpoint, Group, Schedule};
use crate::source::{FileId, Span};
use std::collections::BTreeSet;
use std::time::Duration;

const SEC: Duration = Duration::from_secs(1);

// Placeholders for references that did not resolve. They only ever appear in a
// program that also has errors, which `compile` never hands out; the graph
// checks look ids up with `get` and skip them.
const UNRESOLVED_FLOW: FlowId = FlowId(u32::MAX);
const UNRESOLVED_GROUP: GroupId = GroupId(u32::MAX);
const UNRESOLVED_SCHEDULE: ScheduleId = ScheduleId(u32::MAX);

/// Everything a node's compilation needs about where it sits.
struct At<'f> {
    flow: FlowId,
    file: FileId,
    id: &'f Sp<String>,
    keys: &'f GlobalKeys,
    /// Languages this flow's prompts must exist in.
    languages: &'f [Lang],
    /// Every language of the flow set (what a call may switch to or test for).
    declared: &'f [Lang],
}

impl<'a> Builder<'a> {
    /// Compile every node, in index order.
    pub(super) fn nodes(
        &mut self,
        settings: &Settings,
        flows: &[Flow],
        groups: &[Group],
        schedules: &[Schedule],
    ) -> Vec<Node> {
        let mut out = Vec::new();
        for (i, flow) in flows.iter().enumerate() {
            let fid = FlowId(i as u32);
            let file = self.flow_srcs[i].file;
            for node in &file.nodes {
                let expected = self.node_ix.get(&(fid, node.id.value.clone())).copied();
                if expected != Some(petgraph::graph::NodeIndex::new(out.len())) {
                    continue; // a duplicate, already reported
                }
                let at = At {
                    flow: fid,
                    file: file.file,
                    id: &node.id,
                    keys: &flow.keys,
                    languages: &flow.languages,
                    declared: &settings.languages,
                };
                let kind = self.node(settings, groups, schedules, &at, node);
                let topic = match &node.kind {
                    RawNodeKind::Say(s) => s.topic.as_ref(),
                    RawNodeKind::Play(p) => p.topic.as_ref(),
                    _ => None,
                };
                out.push(Node {
                    id: node.id.value.clone(),
                    flow: fid,
                    kind,
                    topic: topic
                        .map(|t| t.value.trim().to_owned())
                        .filter(|t| !t.is_empty()),
                    span: Span::new(file.file, node.id.range()),
                });
            }
        }
        out
    }

    fn node(
        &mut self,
        settings: &Settings,
        groups: &[Group],
        schedules: &[Schedule],
        at: &At<'_>,
        node: &RawNode,
    ) -> NodeKind {
        let what = |field: &str| {
            format!(
                "the {field} of {} `{}`",
                node.kind.type_name(),
                node.id.value
            )
        };
        let cx = self.prompts(at.file, at.languages, settings);
        let mut pd = Vec::new();
        let mut prompt = |raw: &Sp<crate::flow::prompt::RawPrompt>, field: &str| {
            cx.prompt(raw, &what(field), &mut pd)
        };
        let kind = match &node.kind {
            RawNodeKind::Say(s) => {
                let p = prompt(&s.prompt, "prompt").prompt;
                NodeKind::Say {
                    prompt: p,
                    next: self.target(at.flow, at.file, &s.next),
                }
            }
            RawNodeKind::Play(p) => {
                // A play node is a say node whose prompt is a recording.
                let raw = Sp::new(
                    RawPrompt::Recorded {
                        recording: p.recording.clone(),
                        text: p.text.clone(),
                    },
                    p.recording.range(),
                );
                let c = cx.prompt(&raw, &format!("play `{}`", node.id.value), &mut pd);
                NodeKind::Say {
                    prompt: c.prompt,
                    next: self.target(at.flow, at.file, &p.next),
                }
            }
            RawNodeKind::Menu(m) => {
                let compiled = prompt(&m.prompt, "prompt");
                let no_input = m
                    .no_input_prompt
                    .as_ref()
                    .map(|p| prompt(p, "no_input_prompt").prompt);
                let invalid = m
                    .invalid_prompt
                    .as_ref()
                    .map(|p| prompt(p, "invalid_prompt").prompt);
                NodeKind::Menu(self.menu(at, m, compiled, no_input, invalid))
            }
            RawNodeKind::Input(i) => {
                let p = prompt(&i.prompt, "prompt").prompt;
                let no_input = i
                    .no_input_prompt
                    .as_ref()
                    .map(|p| prompt(p, "no_input_prompt").prompt);
                let invalid = i
                    .invalid_prompt
                    .as_ref()
                    .map(|p| prompt(p, "invalid_prompt").prompt);
                NodeKind::Input(self.input(at, i, p, no_input, invalid))
            }
            RawNodeKind::Branch(b) => self.branch(at, b),
            RawNodeKind::Hours(h) => {
                let schedule = self.def_ref::<ScheduleId>(DefKind::Schedule, at.file, &h.schedule);
                let open = self.target(at.flow, at.file, &h.open);
                let closed = self.target(at.flow, at.file, &h.closed);
                let holiday = h
                    .holiday
                    .as_ref()
                    .map_or(closed, |t| self.target(at.flow, at.file, t));
                NodeKind::Hours {
                    schedule: schedule.unwrap_or(UNRESOLVED_SCHEDULE),
                    open,
                    closed,
                    holiday,
                }
            }
            RawNodeKind::Split(s) => self.split(at, s),
            RawNodeKind::Queue(q) => {
                let p = q.prompt.as_ref().map(|p| prompt(p, "prompt").prompt);
                NodeKind::Queue(self.queue(at, groups, schedules, q, p))
            }
            RawNodeKind::Transfer(t) => {
                let p = t.prompt.as_ref().map(|p| prompt(p, "prompt").prompt);
                NodeKind::Transfer(self.transfer(at, t, p))
            }
            RawNodeKind::Voicemail(v) => {
                let p = prompt(&v.prompt, "prompt").prompt;
                let group = self
                    .def_ref::<GroupId>(DefKind::Group, at.file, &v.group)
                    .unwrap_or(UNRESOLVED_GROUP);
                let max_length = self.duration(
                    at.file,
                    v.max_length.as_ref(),
                    120 * SEC,
                    5 * SEC,
                    3600 * SEC,
                );
                let next = self.opt_target(at, v.next.as_ref());
                NodeKind::Voicemail {
                    group,
                    prompt: p,
                    max_length,
                    beep: v.beep.unwrap_or(true),
                    next,
                }
            }
            RawNodeKind::Callback(c) => {
                let p = prompt(&c.prompt, "prompt").prompt;
                let np = c
                    .number_prompt
                    .as_ref()
                    .map(|p| prompt(p, "number_prompt").prompt);
                let group = self
                    .def_ref::<GroupId>(DefKind::Group, at.file, &c.group)
                    .unwrap_or(UNRESOLVED_GROUP);
                let next = self.opt_target(at, c.next.as_ref());
                NodeKind::Callback {
                    group,
                    prompt: p,
                    number_prompt: np,
                    next,
                }
            }
            RawNodeKind::Set(s) => {
                let vars = s
                    .vars
                    .iter()
                    .map(|(k, v)| (self.var_name(at.file, k), v.value.clone()))
                    .collect();
                let language = s
                    .language
                    .as_ref()
                    .and_then(|l| self.declared_lang(at.file, l, at.declared));
                if s.vars.is_empty() && s.language.is_none() {
                    self.push(
                        Diagnostic::new(Code::MissingField, format!("set `{}` sets nothing", node.id.value))
                            .labelled(Span::new(at.file, node.id.range()), "empty set node")
                            .hint("add `vars = { name = \"value\" }` or `language = \"…\"`, or remove the node"),
                    );
                }
                NodeKind::Set {
                    vars,
                    sensitive: s.sensitive.as_ref().is_some_and(|v| v.value),
                    language,
                    next: self.target(at.flow, at.file, &s.next),
                }
            }
            RawNodeKind::Survey(s) => {
                let p = prompt(&s.prompt, "prompt").prompt;
                let thanks = s.thanks.as_ref().map(|p| prompt(p, "thanks").prompt);
                let scale = self.bounded(at.file, s.scale.as_ref(), 5, 2, 9, "`scale`");
                let timeout = self.duration(at.file, s.timeout.as_ref(), 5 * SEC, SEC, 60 * SEC);
                let next = self.opt_target(at, s.next.as_ref());
                NodeKind::Survey {
                    prompt: p,
                    scale,
                    thanks,
                    timeout,
                    next,
                }
            }
            RawNodeKind::Hangup(h) => NodeKind::Hangup {
                prompt: h.prompt.as_ref().map(|p| prompt(p, "prompt").prompt),
            },
            RawNodeKind::Subflow(s) => {
                let flow = match self.flow_ref(at.file, &s.flow) {
                    Some(f) => {
                        self.usage.flows.insert(f);
                        f
                    }
                    None => UNRESOLVED_FLOW,
                };
                NodeKind::Subflow {
                    flow,
                    next: self.target(at.flow, at.file, &s.next),
                }
            }
            RawNodeKind::Return(_) => NodeKind::Return,
        };
        self.diags.extend(pd);
        kind
    }

    fn opt_target(
        &mut self,
        at: &At<'_>,
        t: Option<&Sp<String>>,
    ) -> Option<petgraph::graph::NodeIndex> {
        t.map(|t| self.target(at.flow, at.file, t))
    }

    fn key(&mut self, file: FileId, raw: &Sp<String>, hint: &str) -> Option<Key> {
        let k = Key::parse(raw);
        if k.is_none() {
            self.push(
                Diagnostic::new(
                    Code::InvalidKey,
                    format!("`{}` is not a phone key", raw.value),
                )
                .labelled(Span::new(file, raw.range()), "not a single key")
                .hint(hint.to_owned()),
            );
        }
        k
    }

    fn missing_failure(&mut self, at: &At<'_>, ty: &str) {
        self.push(
            Diagnostic::new(
                Code::MissingFailureExit,
                format!("{ty} `{}` has no `on_failure` exit for callers who never get it right", at.id.value),
            )
            .labelled(Span::new(at.file, at.id.range()), "no on_failure")
            .hint("add `on_failure = \"<node>\"` (a person, or a goodbye); without it such callers go to the flow's operator node, else the fallback route"),
        );
    }

    fn menu(
        &mut self,
        at: &At<'_>,
        m: &RawMenu,
        compiled: prompts::Compiled,
        no_input_prompt: Option<Prompt>,
        invalid_prompt: Option<Prompt>,
    ) -> Menu {
        let mut entries: Vec<_> = m.options.value.iter().collect();
        entries.sort_by_key(|(k, _)| k.start);
        let mut options = Vec::new();
        let mut words_seen: Vec<(String, std::ops::Range<usize>)> = Vec::new();
        for (k, opt) in entries {
            let key = self.key(
                at.file,
                k,
                "menu options are single phone keys: \"1\"…\"9\", \"0\", \"*\" or \"#\"; for longer entries use an `input` node",
            );
            let (target, words, label) = match &opt.value {
                StringOr::String(t) => (
                    self.target(at.flow, at.file, &Sp::new(t.clone(), opt.range())),
                    Vec::new(),
                    None,
                ),
                StringOr::Table(t) => {
                    let mut words = Vec::new();
                    for w in &t.speech {
                        let lw = w.trim().to_lowercase();
                        if lw.is_empty() {
                            self.push(
                                Diagnostic::new(Code::InvalidValue, "an empty speech word")
                                    .labelled(Span::new(at.file, w.range()), "empty")
                                    .hint("remove it, or write the word callers say"),
                            );
                            continue;
                        }
                        if let Some((_, first)) = words_seen.iter().find(|(x, _)| *x == lw) {
                            let first = first.clone();
                            self.push(
                                Diagnostic::new(
                                    Code::DuplicateOption,
                                    format!("the speech word \"{lw}\" leads to two options"),
                                )
                                .labelled(Span::new(at.file, w.range()), "second use")
                                .note(Span::new(at.file, first), "first use")
                                .hint("each spoken word may select one option only"),
                            );
                            continue;
                        }
                        words_seen.push((lw.clone(), w.range()));
                        words.push(lw);
                    }
                    (
                        self.target(at.flow, at.file, &t.goto),
                        words,
                        t.label.clone(),
                    )
                }
            };
            let Some(key) = key else { continue };
            let globals = [
                ("operator", at.keys.operator.map(|o| o.0)),
                ("repeat", at.keys.repeat),
                ("back", at.keys.back),
                ("top", at.keys.top),
            ];
            if let Some((name, _)) = globals.iter().find(|(_, g)| *g == Some(key)) {
                self.push(
                    Diagnostic::new(Code::ShadowedGlobalKey, format!("option `{key}` hides the flow's {name} key in menu `{}`", at.id.value))
                        .labelled(Span::new(at.file, k.range()), format!("also the {name} key"))
                        .hint(format!("in this menu `{key}` now selects the option, not {name}; pick another key, or change `[flow.keys] {name}`")),
                );
            }
            options.push(MenuOption {
                key,
                words,
                label,
                target,
            });
        }
        if m.options.value.is_empty() {
            self.push(
                Diagnostic::new(Code::MissingField, format!("menu `{}` has no options", at.id.value))
                    .labelled(Span::new(at.file, m.options.range()), "empty")
                    .hint("add options such as `options = { 1 = \"orders\", 2 = \"billing\" }`, or use a `say` node"),
            );
        }
        self.prompt_options(at, &compiled, &options);
        let on_failure = self.opt_target(at, m.on_failure.as_ref());
        if on_failure.is_none() {
            self.missing_failure(at, "menu");
        }
        Menu {
            prompt: compiled.prompt,
            options,
            timeout: self.duration(at.file, m.timeout.as_ref(), 5 * SEC, SEC, 60 * SEC),
            attempts: self.bounded(at.file, m.attempts.as_ref(), 3, 1, 10, "`attempts`"),
            no_input_prompt,
            invalid_prompt,
            on_failure,
        }
    }

    /// `prompt-option-mismatch`: compare the keys each language's text announces with the options.
    fn prompt_options(
        &mut self,
        at: &At<'_>,
        compiled: &prompts::Compiled,
        options: &[MenuOption],
    ) {
        let option_keys: BTreeSet<Key> = options.iter().map(|o| o.key).collect();
        let mut valid = option_keys.clone();
        valid.extend(at.keys.operator.map(|o| o.0));
        valid.extend(at.keys.repeat);
        valid.extend(at.keys.back);
        valid.extend(at.keys.top);
        for (lang, text, range) in &compiled.texts {
            let Some(announced) = prompts::announced_keys(text) else {
                continue;
            };
            let spoken_only: Vec<_> = announced
                .difference(&valid)
                .map(|k| k.to_string())
                .collect();
            let unspoken: Vec<_> = option_keys
                .difference(&announced)
                .map(|k| k.to_string())
                .collect();
            let sp = Span::new(at.file, range.clone());
            if !spoken_only.is_empty() {
                self.push(
                    Diagnostic::new(
                        Code::PromptOptionMismatch,
                        format!("the {lang} prompt of menu `{}` offers {} but the menu has no such option", at.id.value, list(&spoken_only)),
                    )
                    .labelled(sp, format!("says {}", list(&spoken_only)))
                    .hint("add the option, or fix the prompt: callers who press it hear \"invalid choice\""),
                );
            }
            if !unspoken.is_empty() {
                self.push(
                    Diagnostic::new(
                        Code::PromptOptionMismatch,
                        format!("the {lang} prompt of menu `{}` never mentions option {}", at.id.value, list(&unspoken)),
                    )
                    .labelled(sp, format!("{} not announced", list(&unspoken)))
                    .hint("callers cannot choose what they are not told about: mention the key in the prompt, or remove the option"),
                );
            }
        }
    }

    fn input(
        &mut self,
        at: &At<'_>,
        i: &RawInput,
        prompt: Prompt,
        no_input_prompt: Option<Prompt>,
        invalid_prompt: Option<Prompt>,
    ) -> Input {
        let min_digits = self.bounded(at.file, i.min_digits.as_ref(), 1, 1, 64, "`min_digits`");
        let max_digits = self
            .number_opt(at.file, &i.max_digits, 1, 64, "`max_digits`")
            .unwrap_or(64);
        if max_digits < min_digits {
            self.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("`max_digits` ({max_digits}) is less than `min_digits` ({min_digits})"),
                )
                .labelled(Span::new(at.file, i.max_digits.range()), "too small")
                .hint("make max_digits at least min_digits"),
            );
        }
        let finish_key = match &i.finish_key {
            Some(k) if k.is_empty() => None,
            Some(k) => self.key(
                at.file,
                k,
                "the finish key is one phone key, usually \"#\"; write \"\" for none",
            ),
            None => Key::parse("#"),
        };
        if let Some(k) = finish_key.filter(|k| k.as_char().is_ascii_digit()) {
            let r = i.finish_key.as_ref().map_or(at.id.range(), |f| f.range());
            self.push(
                Diagnostic::new(
                    Code::InvalidKey,
                    format!("the finish key `{k}` is a digit, so callers could never enter it"),
                )
                .labelled(Span::new(at.file, r), "a digit")
                .hint("use \"#\" or \"*\""),
            );
        }
        let pattern = i
            .pattern
            .as_ref()
            .and_then(|p| match regex_lite::Regex::new(p) {
                Ok(r) => Some(r),
                Err(e) => {
                    self.push(
                        Diagnostic::new(
                            Code::InvalidValue,
                            format!("`{}` is not a valid pattern: {e}", p.value),
                        )
                        .labelled(Span::new(at.file, p.range()), "invalid regular expression")
                        .hint(
                            "patterns are regular expressions over the digits, e.g. \"^[0-9]{8}$\"",
                        ),
                    );
                    None
                }
            });
        let on_failure = self.opt_target(at, i.on_failure.as_ref());
        if on_failure.is_none() {
            self.missing_failure(at, "input");
        }
        let sensitive = i.sensitive.as_ref().is_some_and(|v| v.value);
        if !sensitive {
            let prompts = [
                Some(&prompt),
                no_input_prompt.as_ref(),
                invalid_prompt.as_ref(),
            ];
            let suggested = std::iter::once(i.variable.value.as_str())
                .chain(
                    prompts
                        .into_iter()
                        .flatten()
                        .flat_map(|p| p.text.values().map(String::as_str)),
                )
                .find_map(crate::privacy::suggests_sensitive);
            if let Some(what) = suggested {
                self.push(
                    Diagnostic::new(
                        Code::UnmarkedSensitiveEntry,
                        format!(
                            "input `{}` looks like it asks for {what}, but is not marked sensitive: the digits would be stored and shown in clear",
                            at.id.value
                        ),
                    )
                    .labelled(Span::new(at.file, at.id.range()), format!("asks for {what}"))
                    .hint("add `sensitive = true` to the node: the entry is then kept only sealed, and logged by its length"),
                );
            }
        }
        Input {
            prompt,
            variable: self.var_name(at.file, &i.variable),
            sensitive,
            min_digits,
            max_digits,
            finish_key,
            pattern,
            timeout: self.duration(at.file, i.timeout.as_ref(), 5 * SEC, SEC, 60 * SEC),
            attempts: self.bounded(at.file, i.attempts.as_ref(), 3, 1, 10, "`attempts`"),
            no_input_prompt,
            invalid_prompt,
            next: self.target(at.flow, at.file, &i.next),
            on_failure,
        }
    }

    fn branch(&mut self, at: &At<'_>, b: &RawBranch) -> NodeKind {
        let mut cases = Vec::new();
        for c in &b.cases {
            let mut conds = Vec::new();
            let sp = |r| Span::new(at.file, r);
            if let Some(nums) = &c.caller {
                let ok: Vec<_> = nums
                    .iter()
                    .filter(|n| self.e164(at.file, n, "caller numbers"))
                    .map(|n| n.value.clone())
                    .collect();
                conds.push(Condition::CallerIs(ok));
            }
            if let Some(l) = &c.caller_in
                && let Some(id) = self.def_ref::<ListId>(DefKind::List, at.file, l)
            {
                conds.push(Condition::CallerInList(id));
            }
            if let Some(p) = &c.caller_prefix {
                conds.push(Condition::CallerPrefix(p.value.clone()));
            }
            if let Some(nums) = &c.called {
                let ok: Vec<_> = nums
                    .iter()
                    .filter(|n| self.e164(at.file, n, "called numbers"))
                    .map(|n| n.value.clone())
                    .collect();
                conds.push(Condition::CalledIs(ok));
            }
            if let Some(l) = &c.language
                && let Some(l) = self.declared_lang(at.file, l, at.declared)
            {
                conds.push(Condition::Language(l));
            }
            let tests = [c.equals.is_some(), c.one_of.is_some(), c.is_set.is_some()]
                .iter()
                .filter(|x| **x)
                .count();
            match (&c.var, tests) {
                (Some(v), 1) => {
                    let name = self.var_name(at.file, v);
                    if let Some(e) = &c.equals {
                        conds.push(Condition::VarEquals(name, e.value.clone()));
                    } else if let Some(vals) = &c.one_of {
                        conds.push(Condition::VarOneOf(name, vals.iter().map(|x| x.value.clone()).collect()));
                    } else if let Some(s) = &c.is_set {
                        conds.push(Condition::VarIsSet(name, s.value));
                    }
                }
                (Some(v), 0) => self.push(
                    Diagnostic::new(Code::MissingField, format!("the case tests variable `{}` but says nothing about it", v.value))
                        .labelled(sp(v.range()), "no test")
                        .hint("add `equals = \"…\"`, `one_of = [\"…\"]` or `is_set = true`"),
                ),
                (Some(v), _) => self.push(
                    Diagnostic::new(Code::InvalidValue, format!("the case tests variable `{}` in more than one way", v.value))
                        .labelled(sp(v.range()), "ambiguous test")
                        .hint("use one of `equals`, `one_of` or `is_set` per case; add another case for the other test"),
                ),
                (None, 0) => {}
                (None, _) => self.push(
                    Diagnostic::new(Code::MissingField, "`equals`, `one_of` and `is_set` need `var`")
                        .labelled(sp(c.range()), "which variable?")
                        .hint("add `var = \"<name>\"`"),
                ),
            }
            if let Some(h) = &c.called_before {
                let within = self.duration_opt(
                    at.file,
                    &h.within,
                    60 * SEC,
                    Duration::from_secs(90 * 86_400),
                );
                let group = h
                    .group
                    .as_ref()
                    .and_then(|g| self.def_ref::<GroupId>(DefKind::Group, at.file, g));
                if let Some(within) = within {
                    conds.push(Condition::CalledBefore { within, group });
                }
            }
            let has_any = c.caller.is_some()
                || c.caller_in.is_some()
                || c.caller_prefix.is_some()
                || c.called.is_some()
                || c.language.is_some()
                || c.var.is_some()
                || c.called_before.is_some();
            if !has_any {
                self.push(
                    Diagnostic::new(Code::MissingField, "a branch case with no condition always matches")
                        .labelled(sp(c.range()), "no condition")
                        .hint("add a condition (caller, caller_in, caller_prefix, called, language, var, called_before) or use `default`"),
                );
            }
            cases.push(Case {
                conditions: conds,
                target: self.target(at.flow, at.file, &c.goto),
            });
        }
        NodeKind::Branch {
            cases,
            default: self.target(at.flow, at.file, &b.default),
        }
    }

    fn split(&mut self, at: &At<'_>, s: &RawSplit) -> NodeKind {
        let mut routes = Vec::new();
        for r in &s.routes {
            if r.weight.value == 0 {
                self.push(
                    Diagnostic::new(
                        Code::SplitWeights,
                        "a route with weight 0 never gets a call",
                    )
                    .labelled(Span::new(at.file, r.weight.range()), "zero")
                    .hint("remove the route, or give it a share"),
                );
            }
            routes.push((r.weight.value, self.target(at.flow, at.file, &r.goto)));
        }
        let total: u64 = s.routes.iter().map(|r| u64::from(r.weight.value)).sum();
        if total != 100 {
            self.push(
                Diagnostic::new(
                    Code::SplitWeights,
                    format!(
                        "the weights of split `{}` add up to {total}, not 100",
                        at.id.value
                    ),
                )
                .labelled(Span::new(at.file, at.id.range()), format!("total {total}%"))
                .hint("weights are percentages of calls; make them add up to exactly 100"),
            );
        }
        let variable = s.variable.as_ref().map(|v| self.var_name(at.file, v));
        NodeKind::Split { routes, variable }
    }

    fn queue(
        &mut self,
        at: &At<'_>,
        groups: &[Group],
        schedules: &[Schedule],
        q: &RawQueue,
        prompt: Option<Prompt>,
    ) -> Queue {
        let group = self.def_ref::<GroupId>(DefKind::Group, at.file, &q.group);
        let on_closed = self.opt_target(at, q.on_closed.as_ref());
        if let Some(g) = group.and_then(|g| groups.get(g.index()))
            && g.can_close(schedules)
            && on_closed.is_none()
        {
            self.push(
                    Diagnostic::new(
                        Code::QueueWithoutClosedRoute,
                        format!("group `{}` keeps hours, but queue `{}` has no `on_closed` route", g.name, at.id.value),
                    )
                    .labelled(Span::new(at.file, at.id.range()), "no on_closed")
                    .hint("add `on_closed = \"<node>\"` (voicemail, callback or goodbye); otherwise after-hours callers are sent to the fallback route"),
                );
        }
        Queue {
            group: group.unwrap_or(UNRESOLVED_GROUP),
            prompt,
            priority: self.bounded(
                at.file,
                q.priority.as_ref(),
                crate::program::DEFAULT_PRIORITY,
                1,
                10,
                "`priority`",
            ),
            on_no_answer: self.opt_target(at, q.on_no_answer.as_ref()),
            on_full: self.opt_target(at, q.on_full.as_ref()),
            on_closed,
            next: self.opt_target(at, q.next.as_ref()),
        }
    }

    fn transfer(&mut self, at: &At<'_>, t: &RawTransfer, prompt: Option<Prompt>) -> Transfer {
        let to = match Endpoint::parse(t.to.trim()) {
            Ok(e) => e,
            Err(e) => {
                self.push(
                    Diagnostic::new(Code::InvalidValue, e)
                        .labelled(Span::new(at.file, t.to.range()), "cannot dial this")
                        .hint("write an E.164 number like \"+15551234567\" or a SIP URI like \"sip:desk@pbx.example.com\""),
                );
                Endpoint::Number(String::new())
            }
        };
        let caller_id = t
            .caller_id
            .as_ref()
            .filter(|c| self.e164(at.file, c, "caller IDs"))
            .map(|c| c.value.clone());
        Transfer {
            to,
            prompt,
            timeout: self.duration(at.file, t.timeout.as_ref(), 30 * SEC, 5 * SEC, 600 * SEC),
            caller_id,
            on_no_answer: self.opt_target(at, t.on_no_answer.as_ref()),
            next: self.opt_target(at, t.next.as_ref()),
        }
    }
}

fn list(keys: &[String]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
