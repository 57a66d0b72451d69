//! The flow file format as serde types, exactly as an admin writes it.
//!
//! Nothing here is checked beyond its TOML shape: names, durations, times and
//! references stay strings with their spans, and `compile` turns them into a
//! `Program` or into diagnostics. The doc comments double as the JSON Schema
//! descriptions editors show on hover (`switchboard schema`).

use super::prompt::{RawPrompt, RawText};
use super::spanned::{Sp, StringOr};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// A reference to a node: `node` in the same flow, or `flow.node` in another.
pub type Target = Sp<String>;

/// `[flow]`: makes a file a flow, named after the file.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFlowHeader {
    /// The node a call of this flow starts at.
    pub start: Target,
    /// What the flow is for (shown in `graph` and reports).
    pub description: Option<String>,
    /// Languages this flow speaks; defaults to `[settings] languages`.
    pub languages: Option<Vec<Sp<String>>>,
    /// Node the operator key leads to from every menu of this flow (e.g. a queue for a person).
    pub operator: Option<Target>,
    /// Global keys active in every menu of this flow.
    pub keys: Option<Sp<RawKeys>>,
}

/// `[flow.keys]`: keys that work in every menu without being wired by hand.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawKeys {
    /// Key for a person; needs `[flow] operator`. Default `"0"` when `operator` is set.
    pub operator: Option<Sp<String>>,
    /// Key that repeats the current menu. Default `"*"`.
    pub repeat: Option<Sp<String>>,
    /// Key that goes back to the previous menu. No default.
    pub back: Option<Sp<String>>,
    /// Key that goes back to the flow's start. No default.
    pub top: Option<Sp<String>>,
}

/// `[say.<id>]`: speak a prompt, then continue.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSay {
    /// What the caller hears.
    pub prompt: Sp<RawPrompt>,
    /// The self-service answer this node gives, e.g. `"hub setup"`: reports
    /// count the callers who heard it and how many went on to an agent
    /// after it (self-service containment, support topics).
    pub topic: Option<Sp<String>>,
    /// Node to continue at.
    pub next: Target,
}

/// `[play.<id>]`: play a recording from `recordings/`, then continue.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPlay {
    /// Recording name under `recordings/<lang>/` or `recordings/`.
    pub recording: Sp<String>,
    /// TTS text used where the recording is missing.
    pub text: Option<Sp<RawText>>,
    /// The self-service answer this node gives, e.g. `"hub setup"`: reports
    /// count the callers who heard it and how many went on to an agent
    /// after it (self-service containment, support topics).
    pub topic: Option<Sp<String>>,
    /// Node to continue at.
    pub next: Target,
}

/// A menu option in full: `{ goto = "billing", speech = ["billing", "bill"] }`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOptionTable {
    /// Node this option leads to.
    pub goto: Target,
    /// Words a caller may say instead of pressing the key.
    #[serde(default)]
    pub speech: Vec<Sp<String>>,
    /// Short name shown on the option's edge in diagrams.
    pub label: Option<String>,
}

/// A menu option: the target node, or a table with speech words.
pub type RawOption = StringOr<RawOptionTable>;

/// `[menu.<id>]`: a prompt and a single-key (or spoken) choice.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMenu {
    /// What the caller hears, listing the options.
    pub prompt: Sp<RawPrompt>,
    /// Key (`"1"`…`"9"`, `"0"`, `"*"`, `"#"`) → target node, or `{ goto, speech, label }`.
    pub options: Sp<BTreeMap<Sp<String>, Sp<RawOption>>>,
    /// How long to wait for a key, e.g. `"5s"`. Default 5s.
    pub timeout: Option<Sp<String>>,
    /// Tries before `on_failure`. Default 3.
    pub attempts: Option<Sp<u32>>,
    /// Said when the caller presses nothing.
    pub no_input_prompt: Option<Sp<RawPrompt>>,
    /// Said when the caller presses a key that is not an option.
    pub invalid_prompt: Option<Sp<RawPrompt>>,
    /// Node for callers who never make a valid choice.
    pub on_failure: Option<Target>,
}

/// `[input.<id>]`: collect several digits (account number, extension) into a variable.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawInput {
    /// What the caller hears.
    pub prompt: Sp<RawPrompt>,
    /// Variable the digits are stored in.
    pub variable: Sp<String>,
    /// Fewest digits accepted. Default 1.
    pub min_digits: Option<Sp<u32>>,
    /// Most digits accepted.
    pub max_digits: Sp<u32>,
    /// Key that ends entry early. Default `"#"`.
    pub finish_key: Option<Sp<String>>,
    /// Regular expression the digits must match, e.g. `"^[0-9]{8}$"`.
    pub pattern: Option<Sp<String>>,
    /// How long to wait, e.g. `"8s"`. Default 5s.
    pub timeout: Option<Sp<String>>,
    /// Tries before `on_failure`. Default 3.
    pub attempts: Option<Sp<u32>>,
    /// Said when the caller enters nothing.
    pub no_input_prompt: Option<Sp<RawPrompt>>,
    /// Said when the entry is too short, too long or does not match `pattern`.
    pub invalid_prompt: Option<Sp<RawPrompt>>,
    /// Node to continue at with a valid entry.
    pub next: Target,
    /// Node for callers who never enter a valid value.
    pub on_failure: Option<Target>,
    /// The entry is a card number, PIN, date of birth or other personal
    /// or payment data: it is never stored, logged or shown in clear, only
    /// its length and validity (docs/privacy.md). Default false.
    pub sensitive: Option<Sp<bool>>,
}

/// One case of a `branch`: every condition given must hold.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCase {
    /// Node to go to when the case matches.
    pub goto: Target,
    /// Caller ID is one of these numbers.
    pub caller: Option<Vec<Sp<String>>>,
    /// Caller ID is in this caller list (`[lists.<name>]`).
    pub caller_in: Option<Sp<String>>,
    /// Caller ID starts with this prefix, e.g. `"+86"`.
    pub caller_prefix: Option<Sp<String>>,
    /// The dialled number is one of these.
    pub called: Option<Vec<Sp<String>>>,
    /// The call's language is this tag.
    pub language: Option<Sp<String>>,
    /// Variable to test (with `equals`, `one_of` or `is_set`).
    pub var: Option<Sp<String>>,
    /// The variable equals this value.
    pub equals: Option<Sp<String>>,
    /// The variable is one of these values.
    pub one_of: Option<Vec<Sp<String>>>,
    /// The variable is set (true) or unset (false).
    pub is_set: Option<Sp<bool>>,
    /// The caller called before, within a time window, optionally reaching a given group.
    pub called_before: Option<Sp<RawHistory>>,
}

/// Caller history condition: `{ within = "7d", group = "support_tier1" }`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHistory {
    /// How far back to look, e.g. `"24h"` or `"7d"`.
    pub within: Sp<String>,
    /// Only count earlier calls that reached this group.
    pub group: Option<Sp<String>>,
}

/// `[branch.<id>]`: choose a path by conditions; first matching case wins.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBranch {
    /// Cases tried in order.
    pub cases: Vec<Sp<RawCase>>,
    /// Node when no case matches.
    pub default: Target,
}

/// `[hours.<id>]`: open, closed or holiday by a named schedule.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHours {
    /// Schedule name (`[schedules.<name>]`).
    pub schedule: Sp<String>,
    /// Node while open.
    pub open: Target,
    /// Node while closed.
    pub closed: Target,
    /// Node on a holiday; defaults to `closed`.
    pub holiday: Option<Target>,
}

/// One weighted route of a `split`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    /// Share of calls in percent.
    pub weight: Sp<u32>,
    /// Node these calls go to.
    pub goto: Target,
}

/// `[split.<id>]`: send a percentage of calls each way (A/B tests).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSplit {
    /// Routes; weights must add up to 100.
    pub routes: Vec<Sp<RawRoute>>,
    /// Variable that records which route a call took (for reports).
    pub variable: Option<Sp<String>>,
}

/// `[queue.<id>]`: hand the caller to an agent group.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawQueue {
    /// Agent group (`[groups.<name>]`).
    pub group: Sp<String>,
    /// Said before the caller is queued.
    pub prompt: Option<Sp<RawPrompt>>,
    /// Queue priority, higher first (1–10). Default 5.
    pub priority: Option<Sp<u32>>,
    /// Node when no agent answered within the group's `max_wait`.
    pub on_no_answer: Option<Target>,
    /// Node when the queue is full.
    pub on_full: Option<Target>,
    /// Node when the group's schedule is closed.
    pub on_closed: Option<Target>,
    /// Node after the conversation with the agent ends (e.g. a survey). Default: hang up.
    pub next: Option<Target>,
}

/// `[transfer.<id>]`: dial an external number or SIP URI.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTransfer {
    /// E.164 number (`"+15551234567"`) or SIP URI (`"sip:desk@pbx.example.com"`).
    pub to: Sp<String>,
    /// Said before dialling.
    pub prompt: Option<Sp<RawPrompt>>,
    /// How long to ring, e.g. `"30s"`. Default 30s.
    pub timeout: Option<Sp<String>>,
    /// Caller ID to present (E.164); default: the caller's own.
    pub caller_id: Option<Sp<String>>,
    /// Node when nobody answers, or the line is busy or fails.
    pub on_no_answer: Option<Target>,
    /// Node after the transferred conversation ends. Default: hang up.
    pub next: Option<Target>,
}

/// `[voicemail.<id>]`: record a message for a group.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawVoicemail {
    /// Group whose mailbox receives the message.
    pub group: Sp<String>,
    /// Said before the beep.
    pub prompt: Sp<RawPrompt>,
    /// Longest message, e.g. `"2m"`. Default 2m.
    pub max_length: Option<Sp<String>>,
    /// Beep before recording. Default true.
    pub beep: Option<bool>,
    /// Node after recording. Default: hang up.
    pub next: Option<Target>,
}

/// `[callback.<id>]`: promise a call back from a group.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCallback {
    /// Group that will call back.
    pub group: Sp<String>,
    /// Confirmation said to the caller (e.g. "we will call you back on this number").
    pub prompt: Sp<RawPrompt>,
    /// If set, asks the caller to key in a number instead of using caller ID.
    pub number_prompt: Option<Sp<RawPrompt>>,
    /// Node afterwards. Default: hang up.
    pub next: Option<Target>,
}

/// `[set.<id>]`: set variables (language, priority, tags), then continue.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSet {
    /// Variables to set: name = value.
    #[serde(default)]
    pub vars: BTreeMap<Sp<String>, Sp<String>>,
    /// Switch the call's language to this tag.
    pub language: Option<Sp<String>>,
    /// The variables set hold personal or payment data: kept like a
    /// sensitive `input` entry, never stored or shown in clear. Default false.
    pub sensitive: Option<Sp<bool>>,
    /// Node to continue at.
    pub next: Target,
}

/// `[survey.<id>]`: ask for a CSAT rating.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSurvey {
    /// The question, naming the scale ("press 1 to 5").
    pub prompt: Sp<RawPrompt>,
    /// Highest rating (keys 1…scale). Default 5.
    pub scale: Option<Sp<u32>>,
    /// Said after a rating.
    pub thanks: Option<Sp<RawPrompt>>,
    /// How long to wait for a rating. Default 5s.
    pub timeout: Option<Sp<String>>,
    /// Node afterwards. Default: hang up.
    pub next: Option<Target>,
}

/// `[hangup.<id>]`: optional goodbye, then end the call.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHangup {
    /// Goodbye said before hanging up.
    pub prompt: Option<Sp<RawPrompt>>,
}

/// `[subflow.<id>]`: run another flow from its start; its `return` nodes come back to `next`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSubflow {
    /// The flow to run.
    pub flow: Sp<String>,
    /// Node to continue at when the sub-flow returns.
    pub next: Target,
}

/// `[return.<id>]`: end a sub-flow and go back to the node that called it.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawReturn {}

/// Whether a group serves customers broadly or supports a product technically.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupKind {
    /// Customer service: orders, billing, returns, account, general questions.
    Service,
    /// Customer support: technical help and troubleshooting, often tiered.
    Support,
}

/// `[groups.<name>]`: an agent group.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    /// `"service"` or `"support"`.
    pub kind: Sp<GroupKind>,
    /// Display name.
    pub name: Option<String>,
    /// Support tier (1, 2, …) for tiered support groups.
    pub tier: Option<Sp<u32>>,
    /// Provider queue name; default the group's name. Cannot be combined with `agents`.
    pub queue: Option<Sp<String>>,
    /// Agent endpoints to dial (E.164 numbers or SIP URIs) instead of a provider queue.
    pub agents: Option<Vec<Sp<String>>>,
    /// Schedule (`[schedules.<name>]`) outside which the group is closed.
    pub schedule: Option<Sp<String>>,
    /// Longest wait before overflow or `on_no_answer`, e.g. `"10m"`.
    pub max_wait: Option<Sp<String>>,
    /// Callers answered within this count toward the group's service level
    /// in reports, e.g. `"30s"`. Default 20s.
    pub service_level: Option<Sp<String>>,
    /// Most callers waiting; more get `on_full`.
    pub max_queue: Option<Sp<u32>>,
    /// Recording played while waiting.
    pub hold_music: Option<Sp<String>>,
    /// Announce the caller's position and expected wait. Default: true
    /// when a `position_prompt` is declared (here or in `[settings]`).
    pub announce_position: Option<Sp<bool>>,
    /// This group's own sentence for what a waiting caller hears as their place in line, e.g.
    /// `{ en-US = "You are number {position} in line." }`; `{position}` and
    /// `{ahead}` (callers before them) are filled in.
    pub position_prompt: Option<Sp<RawPrompt>>,
    /// The expected wait, e.g. `"The expected wait is about {minutes} minutes."`.
    pub wait_prompt: Option<Sp<RawPrompt>>,
    /// The expected wait when it is a minute or less, e.g. `"The expected wait is about a minute."`
    /// (default: `wait_prompt` with `{minutes}` = 1).
    pub short_wait_prompt: Option<Sp<RawPrompt>>,

    /// How often to announce, e.g. `"60s"`. Default 60s.
    pub announce_every: Option<Sp<String>>,
    /// Group that takes callers after `max_wait` (before the queue node's `on_no_answer`).
    pub overflow: Option<Sp<String>>,
    /// Languages agents of this group speak.
    pub languages: Option<Vec<Sp<String>>>,
}

/// A dated closure or holiday.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHoliday {
    /// `"YYYY-MM-DD"`, or `"MM-DD"` for every year.
    pub date: Sp<String>,
    /// Last day of a multi-day holiday (same form as `date`).
    pub until: Option<Sp<String>>,
    /// Name, e.g. "Christmas Day".
    pub name: Option<String>,
}

/// Special hours or a closure on one date.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawException {
    /// `"YYYY-MM-DD"`, or `"MM-DD"` for every year.
    pub date: Sp<String>,
    /// Hours that day, `"09:00-13:00"` (several comma-separated), or `"closed"`.
    pub hours: Sp<String>,
    /// Why, e.g. "Christmas Eve".
    pub name: Option<String>,
}

/// `[schedules.<name>]`: opening hours in a time zone.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    /// IANA time zone, e.g. `"America/New_York"`.
    pub timezone: Sp<String>,
    /// Day or day range (`"mon-fri"`, `"sat"`, `"sat,sun"`) → hours (`"08:00-20:00"`, several comma-separated, or `"closed"`).
    pub weekly: Sp<BTreeMap<Sp<String>, Sp<String>>>,
    /// Days the `holiday` exit is taken.
    #[serde(default)]
    pub holidays: Vec<Sp<RawHoliday>>,
    /// Dates with special hours or closures (the `closed` exit).
    #[serde(default)]
    pub exceptions: Vec<Sp<RawException>>,
}

/// A `[numbers]` entry: the flow's name, or the flow and the provider
/// that carries the number, `{ flow = "main", provider = "plivo" }`
/// (`check` then proves the flow suits that provider).
pub type RawNumber = StringOr<RawNumberTable>;

/// The table form of a `[numbers]` entry.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNumberTable {
    /// The flow calls to the number enter.
    pub flow: Sp<String>,
    /// The provider that carries the number: twilio, plivo, telnyx, signalwire or vxml.
    pub provider: Option<Sp<String>>,
}

/// `[lists.<name>]`: a named list of caller numbers (VIPs, blocked callers…).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawList {
    /// What the list is for.
    pub description: Option<String>,
    /// E.164 numbers.
    pub numbers: Vec<Sp<String>>,
}

/// Where calls go when something fails inside Switchboard.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFallback {
    /// Group callers are queued for; without it they hear `message` and the call ends.
    pub group: Option<Sp<String>>,
    /// Apology said first.
    pub message: Option<Sp<RawPrompt>>,
}

/// `[settings]`: options for the whole flow set (one file holds them).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    /// Flow for calls to numbers not in `[numbers]`; may be omitted when there is one flow.
    pub default_flow: Option<Sp<String>>,
    /// Languages every prompt must exist in. Default `["en-US"]`.
    pub languages: Option<Vec<Sp<String>>>,
    /// Language of plain-string prompts and of new calls. Default: the first of `languages`.
    pub default_language: Option<Sp<String>>,
    /// TTS voice per language, e.g. `{ en-US = "Polly.Joanna" }`.
    pub voices: Option<BTreeMap<Sp<String>, Sp<String>>>,
    /// Most key presses from a flow's start to any agent group before `deep-tree` warns. Default 5.
    pub max_key_presses: Option<Sp<u32>>,
    /// Directory of prompt audio, relative to the flow directory. Default `"../recordings"`.
    pub recordings: Option<Sp<String>>,
    /// Route for calls that hit an internal failure.
    pub fallback: Option<Sp<RawFallback>>,
    /// How long stored calls are kept, at least a day, e.g. `"90d"`: older
    /// calls, their steps, voicemails, callbacks and survey answers are
    /// deleted by the server (docs/privacy.md). Default: kept until purged.
    pub retention: Option<Sp<String>>,
    /// What a waiting caller hears as their place in line, e.g.
    /// `{ en-US = "You are number {position} in line." }`; `{position}` and
    /// `{ahead}` (callers before them) are filled in.
    pub position_prompt: Option<Sp<RawPrompt>>,
    /// The expected wait, e.g. `"The expected wait is about {minutes} minutes."`.
    pub wait_prompt: Option<Sp<RawPrompt>>,
    /// The expected wait when it is a minute or less, e.g. `"The expected wait is about a minute."`
    /// (default: `wait_prompt` with `{minutes}` = 1).
    pub short_wait_prompt: Option<Sp<RawPrompt>>,
}

/// Declares, in one place, every node type: its TOML table name, the
/// [`RawNodeKind`] variant and the raw type. The loader's dispatch, the list
/// of allowed table names and the JSON Schema all come from this list.
macro_rules! node_types {
    ($( $(#[$doc:meta])* $key:literal => $variant:ident($ty:ty), $field:ident; )*) => {
        /// A node as written, by type.
        #[derive(Clone, Debug)]
        pub enum RawNodeKind { $( $(#[$doc])* $variant($ty), )* }

        impl RawNodeKind {
            /// Table names of every node type, in documentation order.
            pub const TYPES: &'static [&'static str] = &[$($key),*];

            /// The table name of this node's type.
            pub fn type_name(&self) -> &'static str {
                match self { $(RawNodeKind::$variant(_) => $key,)* }
            }

            /// Deserialize a node of the type named `key`; `None` if no such type.
            pub(crate) fn deserialize_as<'de, D: serde::Deserializer<'de>>(
                key: &str,
                de: D,
            ) -> Option<Result<Self, D::Error>> {
                match key {
                    $($key => Some(<$ty as Deserialize>::deserialize(de).map(RawNodeKind::$variant)),)*
                    _ => None,
                }
            }
        }

        /// The whole shape of one flow file, for JSON Schema generation.
        #[derive(JsonSchema)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        pub struct SchemaFile {
            /// Makes this file a flow named after the file.
            flow: Option<RawFlowHeader>,
            $( $(#[$doc])* #[serde(rename = $key)] $field: Option<BTreeMap<String, $ty>>, )*
            /// Agent groups.
            groups: Option<BTreeMap<String, RawGroup>>,
            /// Opening-hours schedules.
            schedules: Option<BTreeMap<String, RawSchedule>>,
            /// Named caller lists.
            lists: Option<BTreeMap<String, RawList>>,
            /// Called number (E.164) → flow name, or `{ flow, provider }`.
            numbers: Option<BTreeMap<String, RawNumber>>,
            /// Options for the whole flow set.
            settings: Option<RawSettings>,
        }
    };
}

node_types! {
    /// Speak a prompt.
    "say" => Say(RawSay), say;
    /// Play a recording.
    "play" => Play(RawPlay), play;
    /// Single-key or spoken choice.
    "menu" => Menu(RawMenu), menu;
    /// Multi-digit entry into a variable.
    "input" => Input(RawInput), input;
    /// Conditions on caller, number, variables, language, history.
    "branch" => Branch(RawBranch), branch;
    /// Open / closed / holiday by schedule.
    "hours" => Hours(RawHours), hours;
    /// Percentage split.
    "split" => Split(RawSplit), split;
    /// Hand the caller to an agent group.
    "queue" => Queue(RawQueue), queue;
    /// Dial an external number.
    "transfer" => Transfer(RawTransfer), transfer;
    /// Record a message.
    "voicemail" => Voicemail(RawVoicemail), voicemail;
    /// Promise a callback.
    "callback" => Callback(RawCallback), callback;
    /// Set variables.
    "set" => Set(RawSet), set;
    /// CSAT rating.
    "survey" => Survey(RawSurvey), survey;
    /// End the call.
    "hangup" => Hangup(RawHangup), hangup;
    /// Run another flow and come back.
    "subflow" => Subflow(RawSubflow), subflow;
    /// Return from a sub-flow.
    "return" => Return(RawReturn), r#return;
}

/// Top-level tables that are not node types.
pub const SECTIONS: &[&str] = &[
    "flow",
    "groups",
    "schedules",
    "lists",
    "numbers",
    "settings",
];
