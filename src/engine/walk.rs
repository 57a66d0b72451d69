//! Walking the program: entering nodes until the call must wait for the
//! caller or the provider, and emitting what the caller hears on the way.

use super::{
    CallState, MAX_WALK, MenuVisit, Moment, Outcome, Record, RecordKind, Secrets, Step, Wait,
};
use crate::action::{Action, InputModes, Speech};
use crate::program::{Exit, GroupId, NodeKind, Program, Prompt, Utterance};
use crate::routing::{Closures, GroupTarget, HoursStatus};
use jiff::Timestamp;
use petgraph::graph::NodeIndex;
use sha2::{Digest, Sha256};
use std::time::Duration;

pub(super) struct Walker<'p> {
    pub(super) p: &'p Program,
    pub(super) s: CallState,
    pub(super) now: Timestamp,
    /// Groups an admin has closed.
    pub(super) closures: &'p Closures,
    pub(super) actions: Vec<Action>,
    records: Vec<Record>,
    visits: usize,
    /// The state moved: the step number goes up.
    pub(super) advanced: bool,
}

impl<'p> Walker<'p> {
    pub(super) fn new(p: &'p Program, s: CallState, at: Moment<'p>) -> Self {
        Walker {
            p,
            s,
            now: at.now,
            closures: at.closures,
            actions: Vec::new(),
            records: Vec::new(),
            visits: 0,
            advanced: false,
        }
    }

    pub(super) fn finish(mut self) -> Step {
        if self.advanced {
            self.s.step += 1;
        }
        let mut erased = Secrets::default();
        if self.s.wait == Wait::Ended && !self.s.secrets.is_empty() {
            erased = std::mem::take(&mut self.s.secrets);
            self.here(RecordKind::Erased {
                values: erased.len() as u32,
            });
        }
        Step {
            state: self.s,
            actions: self.actions,
            records: self.records,
            erased,
        }
    }

    pub(super) fn record(&mut self, node: Option<NodeIndex>, kind: RecordKind) {
        self.records.push(Record { node, kind });
    }

    pub(super) fn here(&mut self, kind: RecordKind) {
        let at = self.s.at;
        self.record(Some(at), kind);
    }

    pub(super) fn decided(&mut self, why: impl Into<String>) {
        self.here(RecordKind::Decided { why: why.into() });
    }

    /// How a prompt sounds in the call's language.
    pub(super) fn speech(&self, prompt: &Prompt) -> Option<Speech> {
        speech_for(self.p, prompt, &self.s.language)
    }

    /// Speak a prompt now, recording what was heard.
    pub(super) fn say(&mut self, prompt: &Prompt) {
        if let Some(sp) = self.speech(prompt) {
            self.heard(&sp);
            self.actions.push(Action::Speak(sp));
        }
    }

    fn heard(&mut self, sp: &Speech) {
        let said = match sp {
            Speech::Say { text, .. } => text.clone(),
            Speech::Play { file } => format!("[audio {file}]"),
            Speech::Pause { seconds } => format!("[pause {seconds}s]"),
        };
        self.here(RecordKind::Heard { said });
    }

    /// A gather around a prompt (recorded as heard).
    fn gather(
        &mut self,
        prompt: Option<&Prompt>,
        input: InputModes,
        num_digits: Option<u32>,
        timeout: Duration,
    ) -> Action {
        let prompts: Vec<Speech> = prompt.and_then(|p| self.speech(p)).into_iter().collect();
        for sp in &prompts {
            self.heard(sp);
        }
        Action::Gather {
            prompts,
            input,
            num_digits,
            timeout,
            finish_on_key: None,
            keys: Vec::new(),
            hints: Vec::new(),
            language: self.s.language.clone(),
        }
    }

    /// Enter `ix` and walk on until the call must wait.
    pub(super) fn go(&mut self, mut ix: NodeIndex) {
        self.advanced = true;
        let p = self.p;
        loop {
            self.visits += 1;
            if self.visits > MAX_WALK {
                self.fallback(format!(
                    "the call passed {MAX_WALK} nodes without waiting for the caller"
                ));
                return;
            }
            self.s.at = ix;
            self.s.attempts = 0;
            self.here(RecordKind::Entered);
            let node = &p.graph[ix];
            if let Some(topic) = &node.topic {
                self.s.tally.heard(topic);
            }
            match &node.kind {
                NodeKind::Say { prompt, next } => {
                    self.say(prompt);
                    self.took(Exit::Next);
                    ix = *next;
                }
                NodeKind::Menu(_) => {
                    let visit = MenuVisit {
                        menu: ix,
                        returns: Some(self.s.returns.clone()),
                    };
                    // Entering the menu again keeps one entry, with the stack of the latest visit.
                    match self.s.menus.last_mut() {
                        Some(last) if last.menu == ix => *last = visit,
                        _ => self.s.menus.push(visit),
                    }
                    self.wait(Wait::Choice);
                    return;
                }
                NodeKind::Input(_) => {
                    self.wait(Wait::Digits);
                    return;
                }
                NodeKind::Branch { cases, default } => {
                    let (target, exit) = self.branch(cases, *default);
                    self.took(exit);
                    ix = target;
                }
                NodeKind::Hours {
                    schedule,
                    open,
                    closed,
                    holiday,
                } => {
                    let Some(s) = p.schedules.get(schedule.index()) else {
                        self.fallback("the node's schedule is missing".into());
                        return;
                    };
                    let status = s.status_at(self.now);
                    let local = s.tz.to_datetime(self.now).strftime("%a %H:%M").to_string();
                    let (word, target, exit) = match status {
                        HoursStatus::Open => ("open", *open, Exit::Open),
                        HoursStatus::Closed => ("closed", *closed, Exit::Closed),
                        HoursStatus::Holiday => ("holiday", *holiday, Exit::Holiday),
                    };
                    self.decided(format!("hours: {word} ({local} {})", s.tz_name));
                    self.took(exit);
                    ix = target;
                }
                NodeKind::Split { routes, variable } => {
                    let roll = split_roll(&self.s.call_id, &node.id);
                    let mut acc = 0;
                    let (i, target) = routes
                        .iter()
                        .enumerate()
                        .find(|(_, (w, _))| {
                            acc += w;
                            roll < acc
                        })
                        .map_or(
                            (routes.len() - 1, routes[routes.len() - 1].1),
                            |(i, (_, t))| (i, *t),
                        );
                    self.decided(format!(
                        "split: route {} of {} (roll {roll} of 100)",
                        i + 1,
                        routes.len()
                    ));
                    if let Some(v) = variable {
                        self.set_var(v, &(i + 1).to_string());
                    }
                    self.took(Exit::Weight(routes[i].0));
                    ix = target;
                }
                NodeKind::Queue(q) => {
                    let Some(g) = p.groups.get(q.group.index()) else {
                        self.fallback("the node's group is missing".into());
                        return;
                    };
                    if let Some(c) = self.closures.closing(&g.name, self.now) {
                        let until = if c.until == Timestamp::MAX {
                            String::new()
                        } else {
                            format!(" until {}", c.until.strftime("%Y-%m-%d %H:%M UTC"))
                        };
                        self.decided(format!("group {} is closed by an admin{until}", g.name));
                        if !c.message.is_empty() {
                            self.say(&Prompt {
                                text: c.message.clone(),
                                audio: Default::default(),
                                audio_default: None,
                            });
                        }
                        match (q.on_closed, q.on_no_answer) {
                            (Some(t), _) => {
                                self.took(Exit::Closed);
                                ix = t;
                                continue;
                            }
                            (None, Some(t)) => {
                                self.took(Exit::NoAnswer);
                                ix = t;
                                continue;
                            }
                            (None, None) => {
                                self.fallback(format!(
                                    "group {} is closed by an admin and the queue has neither on_closed nor on_no_answer",
                                    g.name
                                ));
                                return;
                            }
                        }
                    }
                    if let Some(s) = g.schedule.and_then(|s| p.schedules.get(s.index())) {
                        let status = s.status_at(self.now);
                        if status != HoursStatus::Open {
                            let local = s.tz.to_datetime(self.now).strftime("%a %H:%M").to_string();
                            self.decided(format!(
                                "group {} is closed ({local} {})",
                                g.name, s.tz_name
                            ));
                            match q.on_closed {
                                Some(t) => {
                                    self.took(Exit::Closed);
                                    ix = t;
                                    continue;
                                }
                                None => {
                                    self.fallback(format!(
                                        "group {} is closed and the queue has no on_closed route",
                                        g.name
                                    ));
                                    return;
                                }
                            }
                        }
                    }
                    if let Some(pr) = &q.prompt {
                        self.say(pr);
                    }
                    self.s.tried = vec![q.group];
                    self.wait(Wait::Queue);
                    return;
                }
                NodeKind::Transfer(t) => {
                    if let Some(pr) = &t.prompt {
                        self.say(pr);
                    }
                    self.wait(Wait::Dial);
                    return;
                }
                NodeKind::Voicemail { prompt, .. } => {
                    self.say(prompt);
                    self.wait(Wait::Recording);
                    return;
                }
                NodeKind::Callback {
                    number_prompt: Some(_),
                    ..
                } => {
                    self.wait(Wait::CallbackNumber);
                    return;
                }
                NodeKind::Callback {
                    number_prompt: None,
                    ..
                } => {
                    let caller = self.s.caller.clone();
                    self.callback_promised(caller);
                    return;
                }
                NodeKind::Set {
                    vars,
                    language,
                    next,
                    ..
                } => {
                    for (k, v) in vars {
                        self.set_var(k, v);
                    }
                    if let Some(l) = language {
                        self.s.language = l.clone();
                        self.here(RecordKind::Language {
                            language: l.to_string(),
                        });
                    }
                    self.took(Exit::Next);
                    ix = *next;
                }
                NodeKind::Survey { .. } => {
                    self.wait(Wait::Rating);
                    return;
                }
                NodeKind::Hangup { prompt } => {
                    if let Some(pr) = prompt {
                        self.say(pr);
                    }
                    self.end(Outcome::Hangup);
                    return;
                }
                NodeKind::Subflow { flow, next } => {
                    self.s.returns.push(*next);
                    match p.flows.get(flow.index()) {
                        Some(f) => ix = f.start,
                        None => {
                            self.fallback("the sub-flow is missing".into());
                            return;
                        }
                    }
                }
                NodeKind::Return => match self.s.returns.pop() {
                    Some(n) => ix = n,
                    None => {
                        // `check` proves no call gets here (`unmatched-return`),
                        // but a state stored by an older version may: the
                        // caller still deserves a person, not a bare hang-up.
                        self.fallback(
                            "a `return` node was reached outside any sub-flow call: there is nothing to return to".into(),
                        );
                        return;
                    }
                },
            }
        }
    }

    pub(super) fn set_var(&mut self, name: &str, value: &str) {
        if self.p.sensitive.contains(name) {
            self.s.secrets.set(name, value);
            self.here(RecordKind::Secret {
                name: name.to_owned(),
            });
            return;
        }
        self.s.vars.insert(name.to_owned(), value.to_owned());
        self.here(RecordKind::Variable {
            name: name.to_owned(),
            value: value.to_owned(),
        });
    }

    /// A variable's value, sensitive or not.
    pub(super) fn var(&self, name: &str) -> Option<&str> {
        if self.p.sensitive.contains(name) {
            self.s.secrets.get(name)
        } else {
            self.s.vars.get(name).map(String::as_str)
        }
    }

    /// Start waiting at the current node and emit what that takes.
    pub(super) fn wait(&mut self, wait: Wait) {
        self.s.wait = wait;
        self.reached_here();
        self.emit_wait();
    }

    /// The funnel counts the nodes a call stops at: where it waits for the
    /// caller or the provider, and where the flow ends it (the nodes it
    /// only passes through would grow every stored state for nothing).
    fn reached_here(&mut self) {
        let at = self.s.at.index() as u32;
        self.s.tally.reached(at);
    }

    /// The actions of the current wait (also used to repeat a step).
    pub(super) fn emit_wait(&mut self) {
        let p = self.p;
        let node = &p.graph[self.s.at];
        let dtmf = InputModes {
            dtmf: true,
            speech: false,
        };
        let action = match (self.s.wait, &node.kind) {
            (Wait::Choice, NodeKind::Menu(m)) => {
                let hints: Vec<String> = m
                    .options
                    .iter()
                    .flat_map(|o| o.words.iter().cloned())
                    .collect();
                let input = InputModes {
                    dtmf: true,
                    speech: !hints.is_empty(),
                };
                let mut g = self.gather(Some(&m.prompt), input, Some(1), m.timeout);
                let flow_keys = &p.flows[node.flow.index()].keys;
                let mut answers: Vec<crate::program::Key> =
                    m.options.iter().map(|o| o.key).collect();
                answers.extend(
                    [
                        flow_keys.operator.map(|(k, _)| k),
                        flow_keys.repeat,
                        flow_keys.back,
                        flow_keys.top,
                    ]
                    .into_iter()
                    .flatten(),
                );
                answers.sort_unstable_by_key(|k| k.as_char());
                answers.dedup();
                if let Action::Gather { hints: h, keys, .. } = &mut g {
                    *h = hints;
                    *keys = answers;
                }
                g
            }
            (Wait::Digits, NodeKind::Input(i)) => {
                let mut g = self.gather(Some(&i.prompt), dtmf, Some(i.max_digits), i.timeout);
                if let Action::Gather { finish_on_key, .. } = &mut g {
                    *finish_on_key = i.finish_key;
                }
                g
            }
            (Wait::CallbackNumber, NodeKind::Callback { number_prompt, .. }) => {
                let mut g = self.gather(
                    number_prompt.as_ref(),
                    dtmf,
                    Some(15),
                    Duration::from_secs(10),
                );
                if let Action::Gather { finish_on_key, .. } = &mut g {
                    *finish_on_key = crate::program::Key::parse("#");
                }
                g
            }
            (
                Wait::Rating,
                NodeKind::Survey {
                    prompt, timeout, ..
                },
            ) => {
                let scale = match &node.kind {
                    NodeKind::Survey { scale, .. } => *scale,
                    _ => 0,
                };
                let mut g = self.gather(Some(prompt), dtmf, Some(1), *timeout);
                if let Action::Gather { keys, .. } = &mut g {
                    *keys = (1..=scale.min(9))
                        .filter_map(|n| crate::program::Key::parse(&n.to_string()))
                        .collect();
                }
                g
            }
            (Wait::Queue, NodeKind::Queue(q)) => {
                let g = self.s.tried.last().copied().unwrap_or(q.group);
                self.group_action(g, q.priority)
            }
            (Wait::Dial, NodeKind::Transfer(t)) => {
                self.here(RecordKind::Dialed {
                    to: t.to.as_str().to_owned(),
                });
                Action::Dial {
                    to: vec![t.to.clone()],
                    timeout: t.timeout,
                    caller_id: t.caller_id.clone(),
                }
            }
            (
                Wait::Recording,
                NodeKind::Voicemail {
                    max_length, beep, ..
                },
            ) => Action::Record {
                max_length: *max_length,
                beep: *beep,
            },
            (Wait::Fallback, _) => match p.fallback.group {
                Some(g) => self.group_action(g, 10),
                None => Action::Hangup,
            },
            _ => Action::Hangup,
        };
        self.actions.push(action);
    }

    /// Queue for a group, or dial its agents.
    fn group_action(&mut self, g: GroupId, priority: u32) -> Action {
        if let Some(group) = self.p.groups.get(g.index()) {
            self.s.tally.joined(&group.name, self.now);
            self.here(RecordKind::Queued {
                group: group.name.clone(),
            });
        }
        group_action(self.p, g, priority)
    }

    /// Record the exit the call leaves the current node by (for coverage).
    pub(super) fn took(&mut self, exit: Exit) {
        self.here(RecordKind::Took { exit });
    }

    /// Go to `target` (by `exit`, if it is one of the node's own exits), or to
    /// the fallback route if there is none.
    pub(super) fn route(&mut self, target: Option<NodeIndex>, why: &str, exit: Option<Exit>) {
        match target {
            Some(t) => {
                let name = self.p.graph[t].id.clone();
                self.decided(format!("{why} → {name}"));
                if let Some(e) = exit {
                    self.took(e);
                }
                self.go(t);
            }
            None => self.fallback(format!("{why}, and the node has no exit for it")),
        }
    }

    /// Continue at `next` (left by `exit`), or hang up.
    pub(super) fn continue_or_end(&mut self, next: Option<NodeIndex>, exit: Exit) {
        match next {
            Some(n) => {
                self.took(exit);
                self.go(n)
            }
            None => self.end(Outcome::Hangup),
        }
    }

    /// End the call here; the first outcome a call reaches is the one it keeps.
    pub(super) fn end(&mut self, outcome: Outcome) {
        self.advanced = true;
        let outcome = *self.s.outcome.get_or_insert(outcome);
        self.s.wait = Wait::Ended;
        self.reached_here();
        self.actions.push(Action::Hangup);
        self.here(RecordKind::Ended { outcome });
    }

    /// Apologise and take the fallback route: the flow set's fallback group, or goodbye.
    pub(super) fn fallback(&mut self, reason: String) {
        self.advanced = true;
        self.here(RecordKind::Fallback { reason });
        let message = self.p.fallback.message.clone();
        self.say(&message);
        self.s.outcome.get_or_insert(Outcome::Fallback);
        if self.p.fallback.group.is_some() {
            self.wait(Wait::Fallback);
        } else {
            self.end(Outcome::Fallback);
        }
    }

    /// Record a callback promise for `number`, confirm it, and move on.
    pub(super) fn callback_promised(&mut self, number: String) {
        let p = self.p;
        let NodeKind::Callback {
            group,
            prompt,
            next,
            ..
        } = &p.graph[self.s.at].kind
        else {
            return;
        };
        let name = p
            .groups
            .get(group.index())
            .map_or_else(String::new, |g| g.name.clone());
        self.here(RecordKind::CallbackRequested {
            group: name,
            number,
        });
        self.s.outcome.get_or_insert(Outcome::Callback(*group));
        self.say(prompt);
        self.continue_or_end(*next, Exit::Next);
    }

    /// Repeat the current step's actions unchanged.
    pub(super) fn repeat(&mut self) {
        if self.s.wait == Wait::Ended {
            self.actions.push(Action::Hangup);
        } else {
            self.emit_wait();
        }
    }
}

/// A number 0–99 fixed by the call id and the node: a call always takes the
/// same route through a split, and calls spread evenly.
pub(super) fn split_roll(call_id: &str, node: &str) -> u32 {
    let digest = Sha256::new()
        .chain_update(call_id)
        .chain_update([0])
        .chain_update(node)
        .finalize();
    let n = u64::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
    ]);
    (n % 100) as u32
}

/// Queue for a group (Enqueue), or dial its agents (Dial); hang up if there is no such group.
pub(super) fn group_action(p: &Program, g: GroupId, priority: u32) -> Action {
    let Some(group) = p.groups.get(g.index()) else {
        return Action::Hangup;
    };
    match &group.target {
        GroupTarget::Queue(name) => Action::Enqueue {
            queue: name.clone(),
            group: g,
            priority,
        },
        GroupTarget::Agents(to) => Action::Dial {
            to: to.clone(),
            // Providers ring for at most ten minutes.
            timeout: group
                .max_wait
                .unwrap_or(Duration::from_secs(30))
                .min(Duration::from_secs(600)),
            caller_id: None,
        },
    }
}

/// How a prompt sounds to a caller speaking `language`.
pub(super) fn speech_for(
    p: &Program,
    prompt: &Prompt,
    language: &crate::program::Lang,
) -> Option<Speech> {
    match prompt.for_language(language, &p.default_language)? {
        Utterance::Audio(file) => Some(Speech::Play {
            file: file.to_owned(),
        }),
        Utterance::Text(lang, text) => Some(Speech::Say {
            text: text.to_owned(),
            language: lang.clone(),
            voice: p.voices.get(lang).cloned(),
        }),
    }
}
