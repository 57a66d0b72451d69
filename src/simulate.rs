//! Rehearsing calls without a phone: caller moves written as a script
//! (`"1 2 t say:billing dial:no-answer hangup"`), a [`Session`] that drives
//! the engine exactly as a provider would, and transcripts for terminals and
//! tools. Shared by `switchboard simulate` and `switchboard test`.

pub use crate::engine::outcome_code;
use crate::engine::{
    self, CallState, CallStatus, DialStatus, Event, Moment, Outcome, PastCall, QueueResult, Record,
    RecordKind, Secrets, Start, Wait,
};
use crate::program::{FlowId, Lang, NodeKind, Program};
use crate::routing::{Closure, Closures};
use anstyle::{AnsiColor, Style};
use jiff::Timestamp;
use serde_json::{Value, json};
use std::fmt::Write;

/// What the script syntax accepts, for error messages and `--help`.
pub const MOVES_HELP: &str = "keys like `1` or `12345678#`, `t` (no input), `say:words` (or `say:\"two words\"`), \
`dial:completed|busy|no-answer|failed|canceled`, `queue:bridged|full|timeout|hangup|error`, \
`record:SECONDS` (a voicemail of that length; `record:0` for none), `wait:DURATION` (time passes, e.g. `wait:5m`), \
`hangup` (the caller hangs up)";

/// One caller move: an event for the engine, or time passing.
#[derive(Clone, Debug, PartialEq)]
pub enum Move {
    /// Something the caller or the provider does.
    Event(Event),
    /// The clock moves on (the caller spends time in prompts or on hold).
    Wait(std::time::Duration),
}

/// Parse one caller move.
pub fn parse_move(token: &str) -> Result<Move, String> {
    if let Some(d) = token.strip_prefix("wait:") {
        return humantime::parse_duration(d)
            .map(Move::Wait)
            .map_err(|_| format!("`{token}` is not a wait: write e.g. `wait:90s` or `wait:5m`"));
    }
    parse_event(token).map(Move::Event)
}

fn parse_event(token: &str) -> Result<Event, String> {
    let bad = || format!("`{token}` is not a caller move; moves are {MOVES_HELP}");
    if token == "t" || token == "timeout" {
        return Ok(Event::NoInput);
    }
    if token == "hangup" {
        return Ok(Event::Status(CallStatus::Completed));
    }
    if !token.is_empty()
        && token
            .chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
    {
        return Ok(Event::Digits(token.to_owned()));
    }
    let (kind, arg) = token.split_once(':').ok_or_else(bad)?;
    match kind {
        "say" => Ok(Event::Speech {
            text: arg.trim_matches('"').to_owned(),
            confidence: 0.9,
        }),
        "dial" => Ok(Event::Dial(match arg {
            "completed" | "answered" => DialStatus::Completed,
            "busy" => DialStatus::Busy,
            "no-answer" => DialStatus::NoAnswer,
            "failed" => DialStatus::Failed,
            "canceled" => DialStatus::Canceled,
            _ => return Err(bad()),
        })),
        "queue" => Ok(Event::queue(match arg {
            "bridged" => QueueResult::Bridged,
            "full" => QueueResult::Full,
            "timeout" | "leave" => QueueResult::Timeout,
            "hangup" => QueueResult::Hangup,
            "error" => QueueResult::Error,
            _ => return Err(bad()),
        })),
        "record" => match arg.parse::<u32>() {
            Ok(0) => Ok(Event::NoInput),
            Ok(seconds) => Ok(Event::Recording {
                url: "simulated://recording".into(),
                seconds,
            }),
            Err(_) => Err(bad()),
        },
        _ => Err(bad()),
    }
}

/// Split a script into moves; double quotes group words (`say:"sales please"`).
pub fn parse_moves(script: &str) -> Result<Vec<(String, Move)>, String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in script.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if quoted {
        return Err("a quote is not closed".into());
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
        .into_iter()
        .map(|t| parse_move(&t).map(|e| (t, e)))
        .collect()
}

/// Parse a time: RFC 3339 (`2026-03-07T14:05:00-05:00`), or a local time in a
/// zone (`2026-03-07T14:05[America/New_York]` or `2026-03-07 14:05 America/New_York`).
pub fn parse_time(s: &str) -> Result<Timestamp, String> {
    let s = s.trim();
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    let bracketed = match s.rsplit_once(' ') {
        Some((dt, zone)) if zone.contains('/') || zone == "UTC" => {
            format!("{}[{zone}]", dt.replace(' ', "T"))
        }
        _ => s.to_owned(),
    };
    bracketed.parse::<jiff::ZonedDateTime>().map(|z| z.timestamp()).map_err(|_| {
        format!("`{s}` is not a time: write `2026-03-07T14:05:00-05:00` or `2026-03-07 14:05 America/New_York`")
    })
}

/// How a call is placed.
#[derive(Clone, Debug)]
pub struct Setup {
    /// Flow to start in; default: the one the called number maps to.
    pub flow: Option<FlowId>,
    /// Caller ID.
    pub from: String,
    /// Dialled number.
    pub to: String,
    /// The caller's time.
    pub at: Timestamp,
    /// Language to start in.
    pub language: Option<Lang>,
    /// Earlier calls.
    pub history: Vec<PastCall>,
    /// The provider's call id; it also picks the route through `split` nodes.
    pub call_id: String,
    /// Groups an admin has closed for the whole call (`switchboard close`),
    /// by name; unknown names are refused before a session starts.
    pub closed: Vec<String>,
}

impl Setup {
    /// The closures of [`Setup::closed`]: until the end of time, no message.
    fn closures(&self) -> Closures {
        Closures::new(self.closed.iter().map(|g| Closure {
            group: g.clone(),
            until: Timestamp::MAX,
            message: Default::default(),
            closed_at: self.at,
        }))
    }
}

/// One step of a session: the move that caused it and what happened.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The move as written (`None` for the call's start).
    pub input: Option<String>,
    /// What happened.
    pub records: Vec<Record>,
    /// What the call waits for afterwards.
    pub wait: Wait,
}

/// A call in progress, driven move by move.
pub struct Session<'p> {
    program: &'p Program,
    /// The call's state now.
    pub state: CallState,
    now: Timestamp,
    /// Groups closed by an admin.
    closures: Closures,
    /// Every step so far.
    pub log: Vec<Entry>,
    /// Every sensitive value the call held, last values: for scenario
    /// expectations, never printed.
    pub secrets: Secrets,
}

impl<'p> Session<'p> {
    /// Place the call.
    pub fn start(program: &'p Program, setup: &Setup) -> Self {
        let start = Start {
            call_id: setup.call_id.clone(),
            caller: setup.from.clone(),
            called: setup.to.clone(),
            history: setup.history.clone(),
            language: setup.language.clone(),
        };
        let closures = setup.closures();
        let at = Moment {
            now: setup.at,
            closures: &closures,
        };
        let step = match setup.flow {
            Some(f) => engine::start_in(program, f, start, at),
            None => engine::start(program, start, at),
        };
        let log = vec![Entry {
            input: None,
            records: step.records,
            wait: step.state.wait,
        }];
        let mut secrets = step.erased;
        secrets.absorb(&step.state.secrets);
        Session {
            program,
            state: step.state,
            now: setup.at,
            closures,
            log,
            secrets,
        }
    }

    /// Apply one move; time passing leaves no entry.
    pub fn play(&mut self, input: &str, m: Move) -> Option<&Entry> {
        match m {
            Move::Event(e) => Some(self.feed(input, e)),
            Move::Wait(d) => {
                let d = jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::ZERO);
                self.now = self.now.checked_add(d).unwrap_or(self.now);
                None
            }
        }
    }

    /// Apply one event.
    pub fn feed(&mut self, input: &str, event: Event) -> &Entry {
        // What the caller typed or said at a sensitive entry is not kept.
        let input = match &self.program.graph[self.state.at].kind {
            NodeKind::Input(i) if i.sensitive && self.state.wait == Wait::Digits => {
                "(sensitive entry)"
            }
            _ => input,
        };
        let at = Moment {
            now: self.now,
            closures: &self.closures,
        };
        let step = engine::step(self.program, &self.state, event, at);
        self.state = step.state;
        self.secrets.absorb(&self.state.secrets);
        self.secrets.absorb(&step.erased);
        self.log.push(Entry {
            input: Some(input.to_owned()),
            records: step.records,
            wait: self.state.wait,
        });
        let last = self.log.len() - 1;
        &self.log[last]
    }

    /// Is the call over?
    pub fn ended(&self) -> bool {
        self.state.wait == Wait::Ended
    }

    /// What the call waits for, in words.
    pub fn waiting_for(&self) -> &'static str {
        match self.state.wait {
            Wait::Choice => "a menu choice",
            Wait::Digits => "digits",
            Wait::CallbackNumber => "a callback number",
            Wait::Rating => "a rating",
            Wait::Queue => "the queue result (queue:bridged, queue:timeout, …)",
            Wait::Dial => "the transfer result (dial:completed, dial:busy, …)",
            Wait::Recording => "a recording (record:SECONDS)",
            Wait::Fallback => "the fallback queue",
            Wait::Ended => "nothing: the call has ended",
        }
    }
}

/// Parse an earlier call, `AGO` or `AGO:GROUP` (e.g. `3h:support_tier1`), relative to `now`.
pub fn parse_history(p: &Program, s: &str, now: Timestamp) -> Result<PastCall, String> {
    let (ago, group) = s.split_once(':').map_or((s, None), |(a, g)| (a, Some(g)));
    let ago = humantime::parse_duration(ago)
        .ok()
        .and_then(|d| jiff::SignedDuration::try_from(d).ok())
        .ok_or_else(|| {
            format!(
                "`{s}` is not an earlier call: write AGO or AGO:GROUP, e.g. \"3h:support_tier1\""
            )
        })?;
    if let Some(g) = group
        && p.group_by_name(g).is_none()
    {
        let names: Vec<_> = p.groups.iter().map(|g| g.name.as_str()).collect();
        let hint = crate::diagnostic::did_you_mean(g, names.iter().copied())
            .unwrap_or_else(|| format!("groups: {}", names.join(", ")));
        return Err(format!("there is no group `{g}` in `{s}`; {hint}"));
    }
    let at = now
        .checked_sub(ago)
        .map_err(|_| format!("`{s}` reaches too far back"))?;
    Ok(PastCall {
        at,
        group: group.map(str::to_owned),
    })
}

/// How an outcome reads.
pub fn outcome_text(p: &Program, outcome: Outcome) -> String {
    let group = |g: crate::program::GroupId| {
        p.groups
            .get(g.index())
            .map_or_else(|| "?".into(), |g| format!("{} ({})", g.name, g.kind))
    };
    match outcome {
        Outcome::Group(g) => format!("agent group {}", group(g)),
        Outcome::Transfer => "transferred".into(),
        Outcome::Voicemail(g) => format!("voicemail for {}", group(g)),
        Outcome::Callback(g) => format!("callback promised by {}", group(g)),
        Outcome::Hangup => "hung up by the flow".into(),
        Outcome::Abandoned => "abandoned by the caller".into(),
        Outcome::Fallback => "fallback route".into(),
    }
}

#[derive(Clone, Copy)]
enum Tone {
    Heard,
    Caller,
    Why,
    Note,
    Alarm,
    End,
}

fn tone(t: Tone) -> Style {
    match t {
        Tone::Heard => Style::new().fg_color(Some(AnsiColor::Cyan.into())),
        Tone::Caller => Style::new().bold().fg_color(Some(AnsiColor::Green.into())),
        Tone::Why => Style::new().fg_color(Some(AnsiColor::Yellow.into())),
        Tone::Note => Style::new().dimmed(),
        Tone::Alarm => Style::new().bold().fg_color(Some(AnsiColor::Red.into())),
        Tone::End => Style::new().bold(),
    }
}

fn describe(p: &Program, r: &Record) -> Option<(Tone, String)> {
    Some(match &r.kind {
        RecordKind::Started { flow } => (Tone::Note, format!("call starts in flow {flow}")),
        RecordKind::Entered | RecordKind::Took { .. } => return None,
        RecordKind::Heard { said } => (Tone::Heard, format!("🔊 {said}")),
        RecordKind::Keys { digits } => (Tone::Caller, format!("☎ caller presses {digits}")),
        RecordKind::Spoke { text } => (Tone::Caller, format!("☎ caller says \"{text}\"")),
        RecordKind::Entry { digits, valid } => (
            Tone::Caller,
            format!(
                "☎ caller enters {digits} digit{} (sensitive: not shown), {}",
                if *digits == 1 { "" } else { "s" },
                if *valid { "valid" } else { "not valid" }
            ),
        ),
        RecordKind::Secret { name } => (Tone::Note, format!("{name} = ••• (sensitive)")),
        RecordKind::Erased { values } => (
            Tone::Note,
            format!(
                "{values} sensitive value{} erased",
                if *values == 1 { "" } else { "s" }
            ),
        ),
        RecordKind::NoInput { attempt } => (
            Tone::Caller,
            format!("☎ caller enters nothing (try {attempt})"),
        ),
        RecordKind::Invalid { attempt } => (Tone::Why, format!("not valid here (try {attempt})")),
        RecordKind::Decided { why } => (Tone::Why, why.clone()),
        RecordKind::Variable { name, value } => (Tone::Note, format!("{name} = {value}")),
        RecordKind::Language { language } => (Tone::Note, format!("language is now {language}")),
        RecordKind::Queued { group } => (Tone::Why, format!("queued for group {group}")),
        RecordKind::Dialed { to } => (Tone::Why, format!("dialing {to}")),
        RecordKind::Result { result } => (Tone::Caller, format!("☎ {result}")),
        RecordKind::Voicemail { group, seconds, .. } => {
            (Tone::Why, format!("voicemail for {group} ({seconds}s)"))
        }
        RecordKind::CallbackRequested { group, number } => {
            (Tone::Why, format!("callback by {group} to {number}"))
        }
        RecordKind::Rating { value, scale } => (Tone::Why, format!("rating {value} of {scale}")),
        RecordKind::Ignored { event } => (
            Tone::Alarm,
            format!("ignored {event}: the step is repeated"),
        ),
        RecordKind::Fallback { reason } => (Tone::Alarm, format!("FALLBACK: {reason}")),
        RecordKind::Ended { outcome } => (
            Tone::End,
            format!("call ends: {}", outcome_text(p, *outcome)),
        ),
    })
}

/// One entry as transcript lines (`flow.node  what happened`).
pub fn render_entry(p: &Program, entry: &Entry, color: bool) -> String {
    let mut out = String::new();
    for r in &entry.records {
        let Some((t, text)) = describe(p, r) else {
            continue;
        };
        let node = r.node.map_or_else(String::new, |n| p.qualified_name(n));
        let (on, off) = if color {
            (
                tone(t).render().to_string(),
                tone(t).render_reset().to_string(),
            )
        } else {
            (String::new(), String::new())
        };
        let (don, doff) = if color {
            (
                tone(Tone::Note).render().to_string(),
                tone(Tone::Note).render_reset().to_string(),
            )
        } else {
            (String::new(), String::new())
        };
        let _ = writeln!(out, "{don}{node:<26}{doff} {on}{text}{off}");
    }
    out
}

/// A whole session as a transcript.
pub fn render_text(p: &Program, session: &Session<'_>, color: bool) -> String {
    let mut out = String::new();
    for e in &session.log {
        out.push_str(&render_entry(p, e, color));
    }
    if !session.ended() {
        let at = p.qualified_name(session.state.at);
        let _ = writeln!(
            out,
            "{at:<26} … the script ends while the call waits for {}",
            session.waiting_for()
        );
    }
    out
}

/// A whole session as JSON for tools.
pub fn to_json(p: &Program, session: &Session<'_>) -> Value {
    let steps: Vec<Value> = session
        .log
        .iter()
        .map(|e| {
            let records: Vec<Value> = e
                .records
                .iter()
                .map(|r| {
                    let mut v = serde_json::to_value(&r.kind).unwrap_or(Value::Null);
                    if let (Value::Object(m), Some(n)) = (&mut v, r.node) {
                        m.insert("node".into(), Value::String(p.qualified_name(n)));
                    }
                    if let RecordKind::Ended { outcome } = r.kind
                        && let Value::Object(m) = &mut v
                    {
                        m.insert("outcome".into(), Value::String(outcome_code(p, outcome)));
                    }
                    v
                })
                .collect();
            json!({ "input": e.input, "records": records, "wait": format!("{:?}", e.wait) })
        })
        .collect();
    json!({
        "ended": session.ended(),
        "at": p.qualified_name(session.state.at),
        "outcome": session.state.outcome.map(|o| outcome_code(p, o)),
        "language": session.state.language.as_str(),
        "variables": session.state.vars,
        "steps": steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_parse_into_moves() {
        let moves = parse_moves(r#"1 12345678# t say:"sales please" dial:no-answer queue:bridged record:12 record:0 hangup"#).unwrap();
        let events: Vec<Event> = moves
            .into_iter()
            .map(|(_, m)| match m {
                Move::Event(e) => e,
                Move::Wait(_) => unreachable!(),
            })
            .collect();
        assert_eq!(
            parse_moves("wait:5m").unwrap()[0].1,
            Move::Wait(std::time::Duration::from_secs(300))
        );
        assert_eq!(
            events,
            vec![
                Event::Digits("1".into()),
                Event::Digits("12345678#".into()),
                Event::NoInput,
                Event::Speech {
                    text: "sales please".into(),
                    confidence: 0.9
                },
                Event::Dial(DialStatus::NoAnswer),
                Event::queue(QueueResult::Bridged),
                Event::Recording {
                    url: "simulated://recording".into(),
                    seconds: 12
                },
                Event::NoInput,
                Event::Status(CallStatus::Completed),
            ]
        );
        assert!(
            parse_moves("dial:maybe")
                .unwrap_err()
                .contains("not a caller move")
        );
        assert!(parse_moves("say:\"open").is_err());
    }

    #[test]
    fn times_parse_with_offsets_or_zones() {
        let t = parse_time("2026-03-07T14:05:00-05:00").unwrap();
        assert_eq!(parse_time("2026-03-07T14:05[America/New_York]").unwrap(), t);
        assert_eq!(parse_time("2026-03-07 14:05 America/New_York").unwrap(), t);
        assert!(parse_time("next tuesday").is_err());
    }
}
