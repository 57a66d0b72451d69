//! The compiled, immutable program a call walks: every reference resolved to
//! an index, every duration a [`Duration`], every choice an enum.
//!
//! A `Program` is only ever built by `compile`, which has already proven that
//! every node exists, every exit leads somewhere and no silent loop is possible.
//! The call engine and the providers read it; nothing mutates it.

use crate::routing::{Endpoint, Group, Schedule};
use crate::source::Span;
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u32);
        impl $name {
            /// Position in the program's list.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}
id_type!(
    /// Index of a flow in [`Program::flows`].
    FlowId
);
id_type!(
    /// Index of a group in [`Program::groups`].
    GroupId
);
id_type!(
    /// Index of a schedule in [`Program::schedules`].
    ScheduleId
);
id_type!(
    /// Index of a caller list in [`Program::lists`].
    ListId
);

/// A phone key: `0`–`9`, `*` or `#`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Key(char);

impl Key {
    /// Parse a single phone key.
    pub fn parse(s: &str) -> Option<Key> {
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if c.is_ascii_digit() || c == '*' || c == '#' => Some(Key(c)),
            _ => None,
        }
    }

    /// The key's character.
    pub fn as_char(self) -> char {
        self.0
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A BCP 47 language tag such as `en-US` or `zh-CN`.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Lang(String);

impl TryFrom<String> for Lang {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Lang::parse(&s).ok_or_else(|| format!("`{s}` is not a language tag"))
    }
}

impl From<Lang> for String {
    fn from(l: Lang) -> String {
        l.0
    }
}

impl Lang {
    /// Parse a language tag: a 2–3 letter language, then `-`-separated subtags of 2–8 letters or digits.
    pub fn parse(s: &str) -> Option<Lang> {
        let mut parts = s.split('-');
        let first = parts.next()?;
        let ok_first =
            (2..=3).contains(&first.len()) && first.chars().all(|c| c.is_ascii_alphabetic());
        let ok_rest = parts
            .all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
        (ok_first && ok_rest).then(|| Lang(s.to_owned()))
    }

    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A queue node's priority when it declares none.
pub const DEFAULT_PRIORITY: u32 = 5;

/// What a caller hears: text per language and/or audio per language.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prompt {
    /// TTS text by language.
    pub text: BTreeMap<Lang, String>,
    /// Audio file (relative to the recordings folder) by language.
    pub audio: BTreeMap<Lang, String>,
    /// Audio file for languages without their own.
    pub audio_default: Option<String>,
}

/// One way of rendering a prompt for a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Utterance<'a> {
    /// Play this file (relative to the recordings folder).
    Audio(&'a str),
    /// Speak this text in this language.
    Text(&'a Lang, &'a str),
}

impl Prompt {
    /// What to play or say to a caller speaking `lang`: that language's
    /// recording, else the shared recording, else that language's text, else
    /// the default language's text. `None` only for a prompt with nothing at all.
    pub fn for_language<'a>(&'a self, lang: &Lang, default: &'a Lang) -> Option<Utterance<'a>> {
        if let Some(a) = self.audio.get(lang).or(self.audio_default.as_ref()) {
            return Some(Utterance::Audio(a));
        }
        self.text
            .get_key_value(lang)
            .or_else(|| self.text.get_key_value(default))
            .or_else(|| self.text.iter().next())
            .map(|(l, t)| Utterance::Text(l, t))
    }
}

/// Keys that work in every menu of a flow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GlobalKeys {
    /// Key and node for a person.
    pub operator: Option<(Key, NodeIndex)>,
    /// Repeat the current menu.
    pub repeat: Option<Key>,
    /// Back to the previous menu.
    pub back: Option<Key>,
    /// Back to the flow's start.
    pub top: Option<Key>,
}

/// A compiled flow.
#[derive(Clone, Debug)]
pub struct Flow {
    /// Name (the file stem).
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// Start node.
    pub start: NodeIndex,
    /// Languages its prompts exist in.
    pub languages: Vec<Lang>,
    /// Global keys.
    pub keys: GlobalKeys,
    /// Callers dial into it (mapped to a number, or the default flow).
    pub entry: bool,
    /// Where `[flow]` was written.
    pub span: Span,
}

/// One menu option.
#[derive(Clone, Debug)]
pub struct MenuOption {
    /// The key.
    pub key: Key,
    /// Spoken alternatives, lower case.
    pub words: Vec<String>,
    /// Short name for diagrams and reports.
    pub label: Option<String>,
    /// Where it leads.
    pub target: NodeIndex,
}

/// A `menu` node.
#[derive(Clone, Debug)]
pub struct Menu {
    /// Prompt listing the options.
    pub prompt: Prompt,
    /// Options in key order.
    pub options: Vec<MenuOption>,
    /// Wait for a key.
    pub timeout: Duration,
    /// Tries before `on_failure`.
    pub attempts: u32,
    /// Said on silence.
    pub no_input_prompt: Option<Prompt>,
    /// Said on a wrong key.
    pub invalid_prompt: Option<Prompt>,
    /// After the last failed try.
    pub on_failure: Option<NodeIndex>,
}

/// An `input` node.
#[derive(Clone, Debug)]
pub struct Input {
    /// What the caller hears.
    pub prompt: Prompt,
    /// Variable the digits go into.
    pub variable: String,
    /// The entry is never stored or shown in clear.
    pub sensitive: bool,
    /// Fewest digits.
    pub min_digits: u32,
    /// Most digits.
    pub max_digits: u32,
    /// Key that ends entry.
    pub finish_key: Option<Key>,
    /// Pattern the digits must match.
    pub pattern: Option<regex_lite::Regex>,
    /// Wait per try.
    pub timeout: Duration,
    /// Tries before `on_failure`.
    pub attempts: u32,
    /// Said on silence.
    pub no_input_prompt: Option<Prompt>,
    /// Said on an invalid entry.
    pub invalid_prompt: Option<Prompt>,
    /// After a valid entry.
    pub next: NodeIndex,
    /// After the last failed try.
    pub on_failure: Option<NodeIndex>,
}

/// One condition of a branch case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// Caller ID is one of these.
    CallerIs(Vec<String>),
    /// Caller ID is in this list.
    CallerInList(ListId),
    /// Caller ID starts with this.
    CallerPrefix(String),
    /// Dialled number is one of these.
    CalledIs(Vec<String>),
    /// The call's language.
    Language(Lang),
    /// Variable equals a value.
    VarEquals(String, String),
    /// Variable is one of values.
    VarOneOf(String, Vec<String>),
    /// Variable is set (or not).
    VarIsSet(String, bool),
    /// The caller called within this window (optionally reaching a group).
    CalledBefore {
        /// Window.
        within: Duration,
        /// Group the earlier call reached.
        group: Option<GroupId>,
    },
}

/// A branch case: all conditions hold → target.
#[derive(Clone, Debug)]
pub struct Case {
    /// Conditions (all must hold).
    pub conditions: Vec<Condition>,
    /// Where it leads.
    pub target: NodeIndex,
}

/// A `queue` node.
#[derive(Clone, Debug)]
pub struct Queue {
    /// The group.
    pub group: GroupId,
    /// Said before queueing.
    pub prompt: Option<Prompt>,
    /// Priority 1–10.
    pub priority: u32,
    /// Nobody answered within max_wait.
    pub on_no_answer: Option<NodeIndex>,
    /// Queue full.
    pub on_full: Option<NodeIndex>,
    /// Group closed by schedule.
    pub on_closed: Option<NodeIndex>,
    /// After the conversation.
    pub next: Option<NodeIndex>,
}

/// A `transfer` node.
#[derive(Clone, Debug)]
pub struct Transfer {
    /// Who to dial.
    pub to: Endpoint,
    /// Said before dialling.
    pub prompt: Option<Prompt>,
    /// Ring time.
    pub timeout: Duration,
    /// Caller ID to present.
    pub caller_id: Option<String>,
    /// No answer, busy or failed.
    pub on_no_answer: Option<NodeIndex>,
    /// After the conversation.
    pub next: Option<NodeIndex>,
}

/// Node behaviour and exits.
#[derive(Clone, Debug)]
pub enum NodeKind {
    /// Speak or play a prompt.
    Say {
        /// The prompt.
        prompt: Prompt,
        /// Next node.
        next: NodeIndex,
    },
    /// A menu.
    Menu(Menu),
    /// Multi-digit input.
    Input(Input),
    /// Conditions.
    Branch {
        /// Cases in order.
        cases: Vec<Case>,
        /// No case matched.
        default: NodeIndex,
    },
    /// Schedule check.
    Hours {
        /// The schedule.
        schedule: ScheduleId,
        /// Open.
        open: NodeIndex,
        /// Closed.
        closed: NodeIndex,
        /// Holiday.
        holiday: NodeIndex,
    },
    /// Weighted split.
    Split {
        /// (weight in percent, target).
        routes: Vec<(u32, NodeIndex)>,
        /// Variable recording the route index.
        variable: Option<String>,
    },
    /// Agent group.
    Queue(Queue),
    /// External transfer.
    Transfer(Transfer),
    /// Voicemail.
    Voicemail {
        /// Mailbox group.
        group: GroupId,
        /// Said before the beep.
        prompt: Prompt,
        /// Longest message.
        max_length: Duration,
        /// Beep first.
        beep: bool,
        /// Afterwards (None: hang up).
        next: Option<NodeIndex>,
    },
    /// Callback promise.
    Callback {
        /// Group that calls back.
        group: GroupId,
        /// Confirmation.
        prompt: Prompt,
        /// Ask for a number instead of using caller ID.
        number_prompt: Option<Prompt>,
        /// Afterwards (None: hang up).
        next: Option<NodeIndex>,
    },
    /// Set variables.
    Set {
        /// name → value.
        vars: Vec<(String, String)>,
        /// The values are sensitive.
        sensitive: bool,
        /// New call language.
        language: Option<Lang>,
        /// Next node.
        next: NodeIndex,
    },
    /// CSAT survey.
    Survey {
        /// Question.
        prompt: Prompt,
        /// Highest rating.
        scale: u32,
        /// Said after a rating.
        thanks: Option<Prompt>,
        /// Wait.
        timeout: Duration,
        /// Afterwards (None: hang up).
        next: Option<NodeIndex>,
    },
    /// End the call.
    Hangup {
        /// Goodbye.
        prompt: Option<Prompt>,
    },
    /// Run a flow and come back.
    Subflow {
        /// The flow.
        flow: FlowId,
        /// After it returns.
        next: NodeIndex,
    },
    /// Return to the calling flow.
    Return,
}

/// A node.
#[derive(Clone, Debug)]
pub struct Node {
    /// Id within its flow.
    pub id: String,
    /// The flow it belongs to.
    pub flow: FlowId,
    /// Behaviour and exits.
    pub kind: NodeKind,
    /// The self-service answer it gives, for reports.
    pub topic: Option<String>,
    /// Where its id was written.
    pub span: Span,
}

impl NodeKind {
    /// The node type's name, as in flow files.
    pub fn type_name(&self) -> &'static str {
        match self {
            NodeKind::Say { .. } => "say",
            NodeKind::Menu(_) => "menu",
            NodeKind::Input(_) => "input",
            NodeKind::Branch { .. } => "branch",
            NodeKind::Hours { .. } => "hours",
            NodeKind::Split { .. } => "split",
            NodeKind::Queue(_) => "queue",
            NodeKind::Transfer(_) => "transfer",
            NodeKind::Voicemail { .. } => "voicemail",
            NodeKind::Callback { .. } => "callback",
            NodeKind::Set { .. } => "set",
            NodeKind::Survey { .. } => "survey",
            NodeKind::Hangup { .. } => "hangup",
            NodeKind::Subflow { .. } => "subflow",
            NodeKind::Return => "return",
        }
    }

    /// Every explicit exit of the node, labelled. The program graph's edges
    /// are these, less the ones in [`Program::impossible`].
    pub fn exits(&self) -> Vec<(Exit, NodeIndex)> {
        use Exit as E;
        let mut v = Vec::new();
        let mut opt = |e: Exit, t: &Option<NodeIndex>| {
            if let Some(t) = t {
                v.push((e, *t));
            }
        };
        match self {
            NodeKind::Say { next, .. } | NodeKind::Set { next, .. } => {
                return vec![(E::Next, *next)];
            }
            NodeKind::Menu(m) => {
                let mut out: Vec<_> = m
                    .options
                    .iter()
                    .map(|o| {
                        (
                            E::Option {
                                key: o.key,
                                words: o.words.clone(),
                                label: o.label.clone(),
                            },
                            o.target,
                        )
                    })
                    .collect();
                out.extend(m.on_failure.map(|t| (E::Failure, t)));
                return out;
            }
            NodeKind::Input(i) => {
                let mut out = vec![(E::Entered, i.next)];
                out.extend(i.on_failure.map(|t| (E::Failure, t)));
                return out;
            }
            NodeKind::Branch { cases, default } => {
                let mut out: Vec<_> = cases
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (E::Case(i), c.target))
                    .collect();
                out.push((E::Default, *default));
                return out;
            }
            NodeKind::Hours {
                open,
                closed,
                holiday,
                ..
            } => {
                return vec![
                    (E::Open, *open),
                    (E::Closed, *closed),
                    (E::Holiday, *holiday),
                ];
            }
            NodeKind::Split { routes, .. } => {
                return routes.iter().map(|(w, t)| (E::Weight(*w), *t)).collect();
            }
            NodeKind::Queue(q) => {
                opt(E::NoAnswer, &q.on_no_answer);
                opt(E::Full, &q.on_full);
                opt(E::Closed, &q.on_closed);
                opt(E::AfterCall, &q.next);
            }
            NodeKind::Transfer(t) => {
                opt(E::NoAnswer, &t.on_no_answer);
                opt(E::AfterCall, &t.next);
            }
            NodeKind::Voicemail { next, .. }
            | NodeKind::Callback { next, .. }
            | NodeKind::Survey { next, .. } => {
                opt(E::Next, next);
            }
            NodeKind::Subflow { next, .. } => return vec![(E::Returned, *next)],
            NodeKind::Hangup { .. } | NodeKind::Return => {}
        }
        v
    }

    /// Can the call end here (hang up, reach a person, or return to a caller flow)?
    pub fn can_end(&self) -> bool {
        match self {
            NodeKind::Hangup { .. }
            | NodeKind::Return
            | NodeKind::Queue(_)
            | NodeKind::Transfer(_) => true,
            NodeKind::Voicemail { next, .. }
            | NodeKind::Callback { next, .. }
            | NodeKind::Survey { next, .. } => next.is_none(),
            _ => false,
        }
    }

    /// Does this node put the caller through to a person?
    pub fn reaches_human(&self) -> bool {
        matches!(self, NodeKind::Queue(_) | NodeKind::Transfer(_))
    }
}

/// The label of an edge in the program graph.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exit {
    /// Unconditional continuation.
    Next,
    /// A menu option.
    Option {
        /// Its key.
        key: Key,
        /// Its speech words.
        words: Vec<String>,
        /// Its short name, if given.
        label: Option<String>,
    },
    /// Valid input entered.
    Entered,
    /// Attempts exhausted.
    Failure,
    /// Branch case number.
    Case(usize),
    /// Branch default.
    Default,
    /// Schedule open.
    Open,
    /// Schedule closed (or queue closed).
    Closed,
    /// Holiday.
    Holiday,
    /// Split share in percent.
    Weight(u32),
    /// Queue or transfer not answered.
    NoAnswer,
    /// Queue full.
    Full,
    /// After a conversation with a person.
    AfterCall,
    /// Sub-flow returned.
    Returned,
}

impl Exit {
    /// Does taking this exit need the caller to do something?
    pub fn needs_input(&self) -> bool {
        matches!(self, Exit::Option { .. } | Exit::Entered)
    }

    /// Short label for diagrams.
    pub fn label(&self) -> String {
        match self {
            Exit::Next => String::new(),
            Exit::Option { key, words, label } => match (label, words.as_slice()) {
                // Diagrams stay readable: a label wins over the word list, which is capped at two.
                (Some(name), _) => format!("press {key}: {name}"),
                (None, []) => format!("press {key}"),
                (None, [w]) => format!("press {key} / say \"{w}\""),
                (None, [a, b]) => format!("press {key} / say \"{a}\", \"{b}\""),
                (None, [a, b, ..]) => format!("press {key} / say \"{a}\", \"{b}\"…"),
            },
            Exit::Entered => "entered".into(),
            Exit::Failure => "no input / invalid".into(),
            Exit::Case(i) => format!("case {}", i + 1),
            Exit::Default => "default".into(),
            Exit::Open => "open".into(),
            Exit::Closed => "closed".into(),
            Exit::Holiday => "holiday".into(),
            Exit::Weight(w) => format!("{w}%"),
            Exit::NoAnswer => "no answer".into(),
            Exit::Full => "queue full".into(),
            Exit::AfterCall => "after call".into(),
            Exit::Returned => "returned".into(),
        }
    }
}

/// An exit of a node that the program proves no call can take, such as the
/// `holiday` exit of an `hours` node whose schedule declares no holidays.
/// The compiler leaves it out of [`Program::graph`], so the checks, the
/// diagrams and scenario coverage never count on it; `check` warns about it
/// where it is written (`impossible-exit`), and `test` lists it with its reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImpossibleExit {
    /// The node it leaves.
    pub node: NodeIndex,
    /// Which exit.
    pub exit: Exit,
    /// Where it would lead.
    pub target: NodeIndex,
    /// Why no call can take it, e.g. "the schedule `office` declares no holidays".
    pub reason: String,
}

/// What happens to calls that hit an internal failure.
#[derive(Clone, Debug, Default)]
pub struct Fallback {
    /// Group to queue them for; `None` means say the message and hang up.
    pub group: Option<GroupId>,
    /// Apology.
    pub message: Prompt,
}

/// A compiled flow set.
#[derive(Clone, Debug)]
pub struct Program {
    /// Content hash of every source file: a call keeps the version it started with.
    pub version: String,
    /// Every node of every flow; edges are the nodes' explicit exits that
    /// some call can take.
    pub graph: DiGraph<Node, Exit>,
    /// The nodes' explicit exits that no call can take, in node order.
    pub impossible: Vec<ImpossibleExit>,
    /// Flows by [`FlowId`].
    pub flows: Vec<Flow>,
    /// Groups by [`GroupId`].
    pub groups: Vec<Group>,
    /// Schedules by [`ScheduleId`].
    pub schedules: Vec<Schedule>,
    /// Caller lists by [`ListId`]: (name, sorted numbers).
    pub lists: Vec<(String, Vec<String>)>,
    /// Called number → flow.
    pub numbers: BTreeMap<String, FlowId>,
    /// Flow for unmapped numbers.
    pub default_flow: FlowId,
    /// Route after internal failures.
    pub fallback: Fallback,
    /// Declared languages.
    pub languages: Vec<Lang>,
    /// Language of new calls and plain-string prompts.
    pub default_language: Lang,
    /// TTS voice per language.
    pub voices: BTreeMap<Lang, String>,
    /// `deep-tree` limit.
    pub max_key_presses: u32,
    /// Variables that sensitive nodes set: kept in [`crate::engine::Secrets`].
    pub sensitive: BTreeSet<String>,
    /// How long stored calls are kept (`[settings] retention`).
    pub retention: Option<Duration>,
}

impl Program {
    /// The node at an index.
    pub fn node(&self, ix: NodeIndex) -> &Node {
        &self.graph[ix]
    }

    /// The flow with this name.
    pub fn flow_by_name(&self, name: &str) -> Option<FlowId> {
        self.flows
            .iter()
            .position(|f| f.name == name)
            .map(|i| FlowId(i as u32))
    }

    /// The flow a call to `called` starts in.
    pub fn flow_for_number(&self, called: &str) -> FlowId {
        self.numbers
            .get(called)
            .copied()
            .unwrap_or(self.default_flow)
    }

    /// The group with this name.
    pub fn group_by_name(&self, name: &str) -> Option<GroupId> {
        self.groups
            .iter()
            .position(|g| g.name == name)
            .map(|i| GroupId(i as u32))
    }

    /// The node `flow.node`, if it exists.
    pub fn node_by_name(&self, flow: &str, node: &str) -> Option<NodeIndex> {
        let f = self.flow_by_name(flow)?;
        self.graph
            .node_indices()
            .find(|&ix| self.graph[ix].flow == f && self.graph[ix].id == node)
    }

    /// Where a menu or input sends callers after their last failed try: its
    /// `on_failure`, else its flow's operator node. `None` means the flow
    /// set's fallback route (also for nodes that are not menus or inputs).
    pub fn failure_route(&self, ix: NodeIndex) -> Option<NodeIndex> {
        let node = &self.graph[ix];
        let explicit = match &node.kind {
            NodeKind::Menu(m) => m.on_failure,
            NodeKind::Input(i) => i.on_failure,
            _ => return None,
        };
        explicit.or_else(|| {
            self.flows
                .get(node.flow.index())
                .and_then(|f| f.keys.operator.map(|(_, t)| t))
        })
    }

    /// `flow.node` of a node, for messages.
    pub fn qualified_name(&self, ix: NodeIndex) -> String {
        let n = &self.graph[ix];
        format!("{}.{}", self.flows[n.flow.index()].name, n.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_single_phone_keys() {
        for ok in ["0", "9", "*", "#"] {
            assert!(Key::parse(ok).is_some(), "{ok}");
        }
        for bad in ["", "10", "a", " 1", "１"] {
            assert!(Key::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn language_tags() {
        for ok in ["en", "en-US", "zh-CN", "zh-Hans-CN", "yue"] {
            assert!(Lang::parse(ok).is_some(), "{ok}");
        }
        for bad in ["", "e", "english", "en_US", "en-", "zh-中文"] {
            assert!(Lang::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn prompt_prefers_audio_then_text() {
        let en = Lang::parse("en-US").unwrap();
        let zh = Lang::parse("zh-CN").unwrap();
        let mut p = Prompt::default();
        p.text.insert(en.clone(), "Hello".into());
        assert_eq!(
            p.for_language(&zh, &en),
            Some(Utterance::Text(&en, "Hello"))
        );
        p.audio_default = Some("hello.wav".into());
        assert_eq!(
            p.for_language(&zh, &en),
            Some(Utterance::Audio("hello.wav"))
        );
        assert_eq!(
            p.for_language(&en, &en),
            Some(Utterance::Audio("hello.wav"))
        );
        p.audio.insert(en.clone(), "en-US/hello.wav".into());
        assert_eq!(
            p.for_language(&en, &en),
            Some(Utterance::Audio("en-US/hello.wav"))
        );
        assert_eq!(
            p.for_language(&zh, &en),
            Some(Utterance::Audio("hello.wav"))
        );
        assert_eq!(Prompt::default().for_language(&en, &en), None);
    }
}
