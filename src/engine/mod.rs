//! The call engine: pure, synchronous, no IO, no clock, no logging.
//!
//! [`start`] begins a call and [`step`] advances it by one provider event:
//! `(Program, CallState, Event, now) -> (CallState, Vec<Action>, Vec<Record>)`.
//! The caller's time (`now`) is passed in, so schedules, history windows and
//! tests are deterministic; `split` nodes are seeded by the call id.
//!
//! Events that do not fit where the call is (a late dial result at a menu, a
//! duplicate) never move the call: the engine records them as ignored and
//! repeats the current step's actions. A walk that visits more than
//! [`MAX_WALK`] nodes without waiting for the caller is cut short with an
//! apology and the fallback route, though `check` already proves that no
//! such loop exists.

mod conditions;
mod fits;
mod hold;
mod input;
mod secrets;
mod tally;
mod walk;

pub use fits::{Misfit, fits};
pub use hold::{Place, Waiting, hold, queue_place};
pub use secrets::{Sealed, Secrets};
pub use tally::{AtNode, Missed, QueueWait, Tally, TopicHeard};

use crate::action::Action;
use crate::program::{FlowId, GroupId, Lang, Program};
use crate::routing::{Closures, NO_CLOSURES};
use jiff::Timestamp;
use petgraph::graph::NodeIndex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The world outside the call when a step happens: the time, and the
/// groups an admin has closed. A bare [`Timestamp`] is a moment with no
/// group closed (`simulate`, `test`, benches).
#[derive(Clone, Copy, Debug)]
pub struct Moment<'a> {
    /// The caller's time.
    pub now: Timestamp,
    /// Groups closed by hand.
    pub closures: &'a Closures,
}

impl From<Timestamp> for Moment<'static> {
    fn from(now: Timestamp) -> Moment<'static> {
        Moment {
            now,
            closures: &NO_CLOSURES,
        }
    }
}

/// Most nodes one step may pass through before the step guard ends the walk.
pub const MAX_WALK: usize = 200;

/// An earlier call of the same caller, for `called_before` conditions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastCall {
    /// When it started.
    pub at: Timestamp,
    /// The agent group it reached, by name.
    pub group: Option<String>,
}

/// What a new call brings.
#[derive(Clone, Debug)]
pub struct Start {
    /// Provider call id (also seeds `split` nodes).
    pub call_id: String,
    /// Caller ID.
    pub caller: String,
    /// The dialled number.
    pub called: String,
    /// Earlier calls of this caller.
    pub history: Vec<PastCall>,
    /// Language to start in, instead of the flow set's default.
    pub language: Option<Lang>,
}

/// What the call is waiting for at its current node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Wait {
    /// A menu choice.
    Choice,
    /// Digits for an `input` node.
    Digits,
    /// A number for a callback.
    CallbackNumber,
    /// A survey rating.
    Rating,
    /// The result of queueing for a group.
    Queue,
    /// The result of a transfer.
    Dial,
    /// A voicemail recording.
    Recording,
    /// The fallback route's queue.
    Fallback,
    /// Nothing: the call is over.
    Ended,
}

/// How a call ended up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Spoke with an agent of a group.
    Group(GroupId),
    /// Connected by a transfer.
    Transfer,
    /// Left a voicemail for a group.
    Voicemail(GroupId),
    /// Was promised a callback by a group.
    Callback(GroupId),
    /// Hung up by the flow (a `hangup` node or an ending without a next step).
    Hangup,
    /// The caller hung up before any of the above.
    Abandoned,
    /// An internal failure sent the call to the fallback route.
    Fallback,
}

/// The stable machine form of an outcome: `group:NAME`, `voicemail:NAME`, `callback:NAME`, `transfer`, `hangup`, `abandoned`, `fallback`.
pub fn outcome_code(p: &Program, outcome: Outcome) -> String {
    let name = |g: GroupId| {
        p.groups
            .get(g.index())
            .map_or_else(String::new, |g| g.name.clone())
    };
    match outcome {
        Outcome::Group(g) => format!("group:{}", name(g)),
        Outcome::Voicemail(g) => format!("voicemail:{}", name(g)),
        Outcome::Callback(g) => format!("callback:{}", name(g)),
        Outcome::Transfer => "transfer".into(),
        Outcome::Hangup => "hangup".into(),
        Outcome::Abandoned => "abandoned".into(),
        Outcome::Fallback => "fallback".into(),
    }
}

/// A call's state between provider callbacks: everything needed to continue
/// on any instance, after any restart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallState {
    /// Provider call id.
    pub call_id: String,
    /// The program version the call started with.
    pub version: String,
    /// Caller ID.
    pub caller: String,
    /// The dialled number.
    pub called: String,
    /// The flow the call entered.
    pub flow: FlowId,
    /// The call's language.
    pub language: Lang,
    /// The node the call waits at (or ended at).
    pub at: NodeIndex,
    /// What it waits for.
    pub wait: Wait,
    /// Step sequence number, one more after every step; callbacks carry it.
    pub step: u64,
    /// Failed tries at the current node.
    pub attempts: u32,
    /// Variables.
    pub vars: BTreeMap<String, String>,
    /// Sensitive variables ([`Program::sensitive`]): in clear only in
    /// memory, sealed or left out when stored, dropped when the call ends.
    #[serde(default, skip_serializing_if = "Secrets::is_empty")]
    pub secrets: Secrets,
    /// Where each active sub-flow returns to.
    pub returns: Vec<NodeIndex>,
    /// Menus visited, for the back key, each with the sub-flow stack the call
    /// had there.
    pub menus: Vec<MenuVisit>,
    /// Groups tried for the current queue (overflow never revisits one).
    pub tried: Vec<GroupId>,
    /// Earlier calls of this caller.
    pub history: Vec<PastCall>,
    /// How the call ended up, once known.
    pub outcome: Option<Outcome>,
    /// Its queue waits and the answers it heard, for reports.
    #[serde(default, skip_serializing_if = "Tally::is_empty")]
    pub tally: Tally,
    /// The room an agent took the call into from Switchboard's own queue
    /// (providers without queues of their own), once one has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
}

/// A menu in the back key's history.
///
/// The back key takes the caller to the menu they heard before, and the call
/// continues there as it did then: with the sub-flow stack it had at that
/// menu. So going back from a menu reached after a sub-flow returned, into
/// that sub-flow's last menu, runs the sub-flow's rest again and returns to
/// the same caller, as the caller expects, instead of reaching its `return`
/// with nothing to return to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredVisit")]
pub struct MenuVisit {
    /// The menu.
    pub menu: NodeIndex,
    /// [`CallState::returns`] when the call was at the menu. `None` for a
    /// visit stored before the history carried it: going back to such a menu
    /// keeps the current stack, as those versions did.
    pub returns: Option<Vec<NodeIndex>>,
}

/// How a [`MenuVisit`] may be stored: as now, or as the bare menu index that
/// states stored by earlier versions hold.
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredVisit {
    Visit {
        menu: NodeIndex,
        #[serde(default)]
        returns: Option<Vec<NodeIndex>>,
    },
    Bare(NodeIndex),
}

impl From<StoredVisit> for MenuVisit {
    fn from(v: StoredVisit) -> Self {
        match v {
            StoredVisit::Visit { menu, returns } => MenuVisit { menu, returns },
            StoredVisit::Bare(menu) => MenuVisit {
                menu,
                returns: None,
            },
        }
    }
}

/// A provider event, already parsed and verified.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// Keys pressed (without the finish key).
    Digits(String),
    /// Words spoken.
    Speech {
        /// The transcript.
        text: String,
        /// Recognition confidence 0–1.
        confidence: f32,
    },
    /// A prompt timed out with nothing entered (or an empty recording).
    NoInput,
    /// Input the provider's own grammar rejected, unheard by us (a
    /// VoiceXML `nomatch`): an answer that is not valid here.
    NoMatch,
    /// A transfer or agent dial finished.
    Dial(DialStatus),
    /// The caller left a queue.
    Queue {
        /// How.
        result: QueueResult,
        /// Seconds spent waiting, where the provider says.
        waited: Option<u32>,
    },
    /// A recording is ready.
    Recording {
        /// Where the provider stored it.
        url: String,
        /// Its length in seconds.
        seconds: u32,
    },
    /// The call ended (status callback).
    Status(CallStatus),
    /// An agent took the caller from Switchboard's own queue, into `room`.
    Claimed {
        /// The conference room agent and caller meet in.
        room: String,
    },
}

macro_rules! words {
    ($t:ty { $($v:ident => $w:literal),* $(,)? }) => {
        impl $t {
            /// The result as a provider writes it, e.g. `no-answer`.
            pub fn word(self) -> &'static str {
                match self { $(Self::$v => $w),* }
            }
        }
    };
}
words!(DialStatus { Completed => "completed", Busy => "busy", NoAnswer => "no-answer", Failed => "failed", Canceled => "canceled" });
words!(QueueResult { Bridged => "bridged", Full => "full", Timeout => "timeout", Hangup => "hangup", Error => "error" });
words!(CallStatus { Completed => "completed", Busy => "busy", NoAnswer => "no-answer", Failed => "failed", Canceled => "canceled" });

impl Event {
    /// The caller left a queue with `result`, its wait not reported.
    pub fn queue(result: QueueResult) -> Event {
        Event::Queue {
            result,
            waited: None,
        }
    }

    /// The event in words, for transcripts and logs.
    pub fn describe(&self) -> String {
        match self {
            Event::Digits(d) => format!("keys {d}"),
            Event::Speech { text, .. } => format!("speech \"{text}\""),
            Event::NoInput => "no input".into(),
            Event::NoMatch => "input that matched nothing".into(),
            Event::Dial(d) => format!("dial result {}", d.word()),
            Event::Queue { result, .. } => format!("queue result {}", result.word()),
            Event::Recording { seconds, .. } => format!("a {seconds}s recording"),
            Event::Status(c) => format!("call status {}", c.word()),
            Event::Claimed { .. } => "taken by an agent".into(),
        }
    }
}

/// Does what a caller said contain `word`? Words in scripts written with
/// spaces must match whole words ("app" is not in "happy"); others (Chinese,
/// Japanese) match anywhere. Both sides are lower case.
pub fn says(said: &str, word: &str) -> bool {
    if !word.is_ascii() {
        return said.contains(word);
    }
    let tokens: Vec<&str> = said
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    let wanted: Vec<&str> = word
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    !wanted.is_empty() && tokens.windows(wanted.len()).any(|w| w == wanted.as_slice())
}

/// How a dial ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DialStatus {
    /// Answered and finished.
    Completed,
    /// Busy.
    Busy,
    /// Not answered in time.
    NoAnswer,
    /// Could not be placed.
    Failed,
    /// Cancelled before answer.
    Canceled,
}

/// How a caller left a queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueueResult {
    /// Connected to an agent; the conversation is over.
    Bridged,
    /// The queue was full.
    Full,
    /// Left unanswered (waited the group's `max_wait`).
    Timeout,
    /// The caller hung up while waiting.
    Hangup,
    /// The provider failed.
    Error,
}

/// Final call status from the provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallStatus {
    /// Ended normally.
    Completed,
    /// Busy.
    Busy,
    /// Not answered.
    NoAnswer,
    /// Failed.
    Failed,
    /// Cancelled.
    Canceled,
}

/// One thing that happened, for the event log, reports and `simulate`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Record {
    /// Where it happened.
    pub node: Option<NodeIndex>,
    /// What happened.
    pub kind: RecordKind,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RecordKind {
    /// The call began.
    Started {
        /// Entry flow.
        flow: String,
    },
    /// A node was entered.
    Entered,
    /// The caller heard this (text, or `[audio file]`).
    Heard {
        /// What was said or played.
        said: String,
    },
    /// Keys pressed.
    Keys {
        /// The digits.
        digits: String,
    },
    /// Words spoken.
    Spoke {
        /// The transcript.
        text: String,
    },
    /// An entry at a sensitive `input` node: only its length and whether
    /// it was valid, never the digits.
    Entry {
        /// How many digits were entered.
        digits: u32,
        /// Whether the node accepted them.
        valid: bool,
    },
    /// Nothing entered in time.
    NoInput {
        /// The try this was (1-based).
        attempt: u32,
    },
    /// Input that was not valid here.
    Invalid {
        /// The try this was (1-based).
        attempt: u32,
    },
    /// A choice, branch or schedule decided the path.
    Decided {
        /// Which exit and why, e.g. `hours: closed (Sat 14:05 America/New_York)`.
        why: String,
    },
    /// A variable was set.
    Variable {
        /// Name.
        name: String,
        /// Value.
        value: String,
    },
    /// A sensitive variable was set (its value is not recorded).
    Secret {
        /// Name.
        name: String,
    },
    /// The call ended and its sensitive values were dropped.
    Erased {
        /// How many.
        values: u32,
    },
    /// The call's language changed.
    Language {
        /// The new language.
        language: String,
    },
    /// The caller was queued for a group.
    Queued {
        /// Group name.
        group: String,
    },
    /// A dial was placed.
    Dialed {
        /// Who.
        to: String,
    },
    /// A provider result arrived.
    Result {
        /// What it said.
        result: String,
    },
    /// A voicemail was left.
    Voicemail {
        /// Mailbox group.
        group: String,
        /// Recording URL.
        url: String,
        /// Length in seconds.
        seconds: u32,
    },
    /// A callback was promised.
    CallbackRequested {
        /// Group that calls back.
        group: String,
        /// Number to call.
        number: String,
    },
    /// A survey rating.
    Rating {
        /// The rating.
        value: u32,
        /// Out of.
        scale: u32,
    },
    /// An event that does not fit the call's position; the step was repeated.
    Ignored {
        /// The event.
        event: String,
    },
    /// The call went to the fallback route.
    Fallback {
        /// Why.
        reason: String,
    },
    /// The call left the node by this exit (what coverage counts).
    Took {
        /// The exit, as in the program graph.
        exit: crate::program::Exit,
    },
    /// The call ended.
    Ended {
        /// How.
        outcome: Outcome,
    },
}

/// The result of a step.
#[derive(Clone, Debug)]
pub struct Step {
    /// The call's new state.
    pub state: CallState,
    /// What the provider should do now.
    pub actions: Vec<Action>,
    /// What happened, in order.
    pub records: Vec<Record>,
    /// The sensitive values the call held when this step ended it, taken
    /// out of its state (for `test` to check; the server only drops them).
    pub erased: Secrets,
}

/// Begin a call in the flow its dialled number maps to.
pub fn start<'a>(program: &Program, call: Start, now: impl Into<Moment<'a>>) -> Step {
    let flow = program.flow_for_number(&call.called);
    start_in(program, flow, call, now)
}

/// Begin a call in a given flow (e.g. `simulate --flow`).
pub fn start_in<'a>(
    program: &Program,
    flow: FlowId,
    call: Start,
    now: impl Into<Moment<'a>>,
) -> Step {
    let start = program.flows[flow.index()].start;
    let state = CallState {
        call_id: call.call_id,
        version: program.version.clone(),
        caller: call.caller,
        called: call.called,
        flow,
        language: call
            .language
            .unwrap_or_else(|| program.default_language.clone()),
        at: start,
        wait: Wait::Ended,
        step: 0,
        attempts: 0,
        vars: BTreeMap::new(),
        secrets: Secrets::default(),
        returns: Vec::new(),
        menus: Vec::new(),
        tried: Vec::new(),
        history: call.history,
        outcome: None,
        tally: Tally::default(),
        room: None,
    };
    let mut w = walk::Walker::new(program, state, now.into());
    w.record(
        None,
        RecordKind::Started {
            flow: program.flows[flow.index()].name.clone(),
        },
    );
    w.go(start);
    w.finish()
}

/// Advance a call by one event.
pub fn step<'a>(
    program: &Program,
    state: &CallState,
    event: Event,
    now: impl Into<Moment<'a>>,
) -> Step {
    let mut w = walk::Walker::new(program, state.clone(), now.into());
    w.handle(event);
    w.finish()
}

/// What a caller hears when Switchboard itself fails (database down, unknown
/// call): the fallback message in `language`, then the fallback group, or
/// goodbye if there is none.
pub fn apology(program: &Program, language: &Lang) -> Vec<Action> {
    let mut actions: Vec<Action> = walk::speech_for(program, &program.fallback.message, language)
        .map(Action::Speak)
        .into_iter()
        .collect();
    actions.push(match program.fallback.group {
        Some(g) => walk::group_action(program, g, 10),
        None => Action::Hangup,
    });
    actions
}

/// The actions of the step the call is at, again (for retried callbacks and
/// events that do not fit).
pub fn repeat<'a>(program: &Program, state: &CallState, now: impl Into<Moment<'a>>) -> Vec<Action> {
    let mut w = walk::Walker::new(program, state.clone(), now.into());
    w.repeat();
    w.finish().actions
}

#[cfg(test)]
mod tests;
