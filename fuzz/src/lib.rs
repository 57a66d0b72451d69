//! What the fuzz targets share: the shipped demo flow set compiled once
//! (embedded, so no target depends on the working directory), the pure
//! steps a loaded flow set goes through after compiling (diagnostics,
//! diagrams, a few engine steps rendered as TwiML), and the engine driven by
//! fuzzer bytes.
//!
//! Nothing here may panic on its own: every panic a target reports must be
//! Switchboard's.

use arbitrary::Unstructured;
use jiff::Timestamp;
use std::sync::OnceLock;
use switchboard::compile::{self, Compiled};
use switchboard::diagnostic::{self, Style};
use switchboard::engine::{self, CallStatus, DialStatus, Event, QueueResult, Start, Step, Wait};
use switchboard::flow::{self, FlowSet};
use switchboard::program::Program;
use switchboard::provider::BaseUrls;
use switchboard::provider::twilio;

/// The shipped demo flows (`flows/*.toml`), as `load_dir` would name them.
pub const DEMO_FLOWS: &[(&str, &str)] = &[
    ("after_hours", include_str!("../../flows/after_hours.toml")),
    ("csat", include_str!("../../flows/csat.toml")),
    ("groups", include_str!("../../flows/groups.toml")),
    ("kb", include_str!("../../flows/kb.toml")),
    ("main", include_str!("../../flows/main.toml")),
    ("service", include_str!("../../flows/service.toml")),
    ("support", include_str!("../../flows/support.toml")),
    ("switchboard", include_str!("../../flows/switchboard.toml")),
];

/// The files of the shipped `recordings/` folder, so that prompts naming
/// them compile as they do from disk.
pub const RECORDINGS: &[&str] = &[
    "en-US/greeting.wav",
    "hold.wav",
    "language_menu.wav",
    "zh-CN/greeting.wav",
];

/// Parse in-memory files `(stem, text)` as `load_dir` parses a directory of them.
pub fn parse_files<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> FlowSet {
    let mut set = flow::parse_texts(files.into_iter().map(|(name, text)| {
        (
            format!("flows/{name}.toml"),
            name.to_owned(),
            text.to_owned(),
        )
    }));
    set.recordings.root = "recordings".into();
    set.recordings.files = RECORDINGS.iter().map(|r| (*r).to_owned()).collect();
    set
}

/// The demo program, compiled once per process.
pub fn demo() -> &'static Program {
    static DEMO: OnceLock<Program> = OnceLock::new();
    DEMO.get_or_init(|| {
        let set = parse_files(DEMO_FLOWS.iter().copied());
        let compiled = compile::compile(&set);
        match compiled.program {
            Some(p) => p,
            None => {
                let text =
                    diagnostic::render_text(&compiled.diagnostics, &set.sources, Style::Plain);
                panic!("the demo flows do not compile (a fuzz setup bug, not a finding):\n{text}")
            }
        }
    })
}

/// Where TwiML sends callbacks, as the server's default setup writes them.
pub fn urls() -> BaseUrls {
    BaseUrls::new("https://ivr.example.com", "twilio")
}

/// 2026-03-02 10:00 UTC: a Monday, so schedules see office hours near it.
const BASE_SECOND: i64 = 1_772_445_600;

/// A time near [`BASE_SECOND`] (up to about two weeks later).
pub fn time(u: &mut Unstructured<'_>) -> Timestamp {
    let offset = u.int_in_range(0..=14 * 24 * 3600).unwrap_or(0);
    Timestamp::from_second(BASE_SECOND + i64::from(offset)).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Everything after compiling that `check`, `diagram` and the server do with
/// a flow set: render the diagnostics (terminal and JSON), the summary and
/// depth table, and when a program came out, its diagrams and a call through it.
pub fn after_compile(set: &FlowSet, compiled: &Compiled, u: &mut Unstructured<'_>) {
    render_some(&compiled.diagnostics, &set.sources);
    let json = diagnostic::to_json(&compiled.diagnostics, &set.sources);
    assert_eq!(json.len(), compiled.diagnostics.len());
    let _ = serde_json::to_string(&json);
    let _ = compile::summary_line(&compiled.summary, true);
    let _ = compile::depth_report(&compiled.depths);
    if let Some(p) = &compiled.program {
        let _ = switchboard::diagram::mermaid(p, None);
        let _ = switchboard::diagram::dot(p, None);
        call(p, u);
    }
}

/// How many diagnostics of one input are drawn for the terminal. Drawing is
/// most of a run's time (miette wraps and lays out every message), so only
/// the first few are drawn; every diagnostic still goes through the JSON
/// renderer, and the fuzzer finds inputs that put any kind of diagnostic first.
pub const RENDERED: usize = 4;

/// Draw the first [`RENDERED`] diagnostics as `check` does on a terminal.
pub fn render_some(diags: &[diagnostic::Diagnostic], sources: &switchboard::source::Sources) {
    let some = &diags[..diags.len().min(RENDERED)];
    let text = diagnostic::render_text(some, sources, Style::Plain);
    assert!(some.is_empty() || !text.is_empty());
}

/// A caller's event, chosen by the fuzzer.
pub fn event(u: &mut Unstructured<'_>) -> Event {
    let digits = |u: &mut Unstructured<'_>| -> String {
        let n = u.int_in_range(0..=12).unwrap_or(0);
        (0..n)
            .map(|_| *u.choose(b"0123456789*#").unwrap_or(&b'1') as char)
            .collect()
    };
    match u.int_in_range(0..=9).unwrap_or(0) {
        0..=3 => Event::Digits(digits(u)),
        4 => Event::Speech {
            text: u.arbitrary().unwrap_or_default(),
            confidence: u.arbitrary().unwrap_or(0.5),
        },
        5 => Event::NoInput,
        6 => Event::Dial(
            *u.choose(&[
                DialStatus::Completed,
                DialStatus::Busy,
                DialStatus::NoAnswer,
                DialStatus::Failed,
                DialStatus::Canceled,
            ])
            .unwrap_or(&DialStatus::Busy),
        ),
        7 => Event::Queue(
            *u.choose(&[
                QueueResult::Bridged,
                QueueResult::Full,
                QueueResult::Timeout,
                QueueResult::Hangup,
                QueueResult::Error,
            ])
            .unwrap_or(&QueueResult::Timeout),
        ),
        8 => Event::Recording {
            url: "https://api.twilio.com/recording".into(),
            seconds: u.arbitrary().unwrap_or(5),
        },
        _ => Event::Status(
            *u.choose(&[
                CallStatus::Completed,
                CallStatus::Busy,
                CallStatus::NoAnswer,
                CallStatus::Failed,
                CallStatus::Canceled,
            ])
            .unwrap_or(&CallStatus::Completed),
        ),
    }
}

/// Start a call on `p` and feed it a few events, rendering each step's TwiML
/// as the server would.
pub fn call(p: &Program, u: &mut Unstructured<'_>) {
    let numbers: Vec<&String> = p.numbers.keys().collect();
    let called = match u.choose(&numbers) {
        Ok(n) if u.arbitrary().unwrap_or(true) => (*n).clone(),
        _ => u.arbitrary().unwrap_or_default(),
    };
    let language = if u.arbitrary().unwrap_or(false) {
        u.choose(&p.languages).ok().cloned()
    } else {
        None
    };
    let now = time(u);
    let start = Start {
        call_id: u.arbitrary().unwrap_or_else(|_| "CA-fuzz".into()),
        caller: u.arbitrary().unwrap_or_else(|_| "+15555550123".into()),
        called,
        history: Vec::new(),
        language,
    };
    let first = engine::start(p, start, now);
    let mut state = render(p, first);
    let steps = u.int_in_range(0..=8).unwrap_or(0);
    for _ in 0..steps {
        let ev = event(u);
        let later = time(u).max(now);
        let was_ended = state.wait == Wait::Ended;
        let step = engine::step(p, &state, ev, later);
        assert!(
            !was_ended || step.state.wait == Wait::Ended,
            "an ended call came back"
        );
        let _ = engine::repeat(p, &step.state, later);
        state = render(p, step);
    }
    let _ = engine::apology(p, &state.language);
}

/// Render a step's TwiML, and check that its state is one the store can
/// keep and the engine accepts again.
fn render(p: &Program, step: Step) -> engine::CallState {
    let doc = twilio::render(
        &step.actions,
        p,
        &step.state.call_id,
        step.state.step,
        &urls(),
    );
    assert!(doc.starts_with("<?xml"));
    if let Err(e) = engine::fits(p, &step.state) {
        panic!("the engine made a state that does not fit its own program: {e}");
    }
    let stored = serde_json::to_string(&step.state).expect("a call state serializes");
    let back: engine::CallState = serde_json::from_str(&stored).expect("a stored state reads back");
    assert_eq!(back, step.state);
    step.state
}
