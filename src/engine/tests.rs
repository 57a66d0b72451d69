//! Transitions of every node type, driven through `start` and `step`.

use super::*;
use crate::action::Speech;
use crate::compile::compile_texts;
use crate::program::NodeKind;

const GROUPS: &str = r##"
[groups.desk]
kind = "service"
overflow = "backup"
max_wait = "2m"

[groups.backup]
kind = "service"

[groups.agents]
kind = "support"
agents = ["+15551230001", "sip:t2@pbx.example.com"]

[groups.office]
kind = "service"
schedule = "office"

[schedules.office]
timezone = "America/New_York"
weekly = { "mon-fri" = "09:00-17:00" }
holidays = [{ date = "12-25" }]

[lists.vip]
numbers = ["+15550009999"]
"##;

fn program(flow: &str) -> Program {
    let settings = "[settings]\nlanguages = [\"en-US\", \"zh-CN\"]\ndefault_flow = \"main\"\nfallback = { group = \"desk\" }\n";
    compiled([("main", flow), ("groups", GROUPS), ("settings", settings)])
}

/// The program of these files, which must have no errors.
pub(super) fn compiled<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Program {
    let (set, c) = compile_texts(files);
    c.program.unwrap_or_else(|| {
        panic!(
            "{}",
            crate::diagnostic::render_text(
                &c.diagnostics,
                &set.sources,
                crate::diagnostic::Style::Plain
            )
        )
    })
}

/// Monday 2026-03-02 10:00 in New York.
fn monday() -> Timestamp {
    "2026-03-02T15:00:00Z".parse().unwrap()
}

fn call_at(
    p: &Program,
    call_id: &str,
    caller: &str,
    history: Vec<PastCall>,
    at: Timestamp,
) -> Step {
    let call = Start {
        call_id: call_id.into(),
        caller: caller.into(),
        called: "+18005550100".into(),
        history,
        language: None,
    };
    start(p, call, at)
}

fn begin(p: &Program, caller: &str) -> Step {
    call_at(p, "CA1", caller, vec![], monday())
}

fn feed(p: &Program, s: &Step, e: Event) -> Step {
    step(p, &s.state, e, monday())
}

fn at(p: &Program, s: &Step) -> String {
    p.graph[s.state.at].id.clone()
}

fn said(s: &Step) -> Vec<String> {
    s.records
        .iter()
        .filter_map(|r| match &r.kind {
            RecordKind::Heard { said } => Some(said.clone()),
            _ => None,
        })
        .collect()
}

fn why(s: &Step) -> Vec<String> {
    s.records
        .iter()
        .filter_map(|r| match &r.kind {
            RecordKind::Decided { why } => Some(why.clone()),
            _ => None,
        })
        .collect()
}

fn digits(d: &str) -> Event {
    Event::Digits(d.into())
}

const MENU: &str = r##"
[flow]
start = "hello"
operator = "op"
keys = { operator = "0", repeat = "*", back = "#", top = "9" }

[say.hello]
prompt = { en-US = "Hello.", zh-CN = "你好。" }
next = "main"

[menu.main]
prompt = { en-US = "For sales, press 1. For more, press 2.", zh-CN = "销售请按1。更多请按2。" }
options = { 1 = { goto = "sales", speech = ["sales"] }, 2 = "more" }
attempts = 2
invalid_prompt = { en-US = "Sorry.", zh-CN = "抱歉。" }
on_failure = "op"

[menu.more]
prompt = { en-US = "For Chinese, press 1.", zh-CN = "中文请按1。" }
options = { 1 = "chinese" }

[set.chinese]
language = "zh-CN"
vars = { lang_choice = "zh" }
next = "main"

[queue.sales]
group = "desk"
on_no_answer = "bye"
on_full = "bye"
next = "bye"

[queue.op]
group = "desk"

[hangup.bye]
prompt = { en-US = "Goodbye.", zh-CN = "再见。" }
"##;

#[test]
fn a_call_walks_to_the_first_menu_and_waits() {
    let p = program(MENU);
    let s = begin(&p, "+15550001111");
    assert_eq!(at(&p, &s), "main");
    assert_eq!(s.state.wait, Wait::Choice);
    assert_eq!(s.state.step, 1);
    assert_eq!(
        said(&s),
        ["Hello.", "For sales, press 1. For more, press 2."]
    );
    assert!(matches!(
        &s.actions[..],
        [
            Action::Speak(Speech::Say { .. }),
            Action::Gather {
                num_digits: Some(1),
                ..
            }
        ]
    ));
    let Action::Gather { hints, input, .. } = &s.actions[1] else {
        unreachable!()
    };
    assert_eq!(hints, &["sales"]);
    assert!(input.dtmf && input.speech);
}

#[test]
fn menu_options_by_key_or_speech() {
    let p = program(MENU);
    let s = begin(&p, "+15550001111");
    let k = feed(&p, &s, digits("1"));
    assert_eq!(at(&p, &k), "sales");
    assert_eq!(k.state.wait, Wait::Queue);
    assert!(matches!(&k.actions[..], [Action::Enqueue { queue, .. }] if queue == "desk"));
    let v = feed(
        &p,
        &s,
        Event::Speech {
            text: "Sales please".into(),
            confidence: 0.9,
        },
    );
    assert_eq!(at(&p, &v), "sales");
    assert_eq!(why(&v), ["said \"Sales please\" → sales"]);
}

#[test]
fn invalid_and_missing_input_retry_then_fail_over() {
    let p = program(MENU);
    let s = begin(&p, "+15550001111");
    let a = feed(&p, &s, digits("7"));
    assert_eq!((at(&p, &a), a.state.attempts), ("main".into(), 1));
    assert_eq!(
        said(&a),
        ["Sorry.", "For sales, press 1. For more, press 2."]
    );
    let b = feed(&p, &a, Event::NoInput);
    assert_eq!(at(&p, &b), "op", "two tries, then on_failure");
    assert_eq!(why(&b), ["no valid answer after 2 tries → op"]);
}

#[test]
fn a_menu_without_on_failure_fails_over_to_the_operator() {
    let p = program(MENU);
    let s = feed(&p, &begin(&p, "+15550001111"), digits("2"));
    assert_eq!(at(&p, &s), "more");
    let s = feed(
        &p,
        &feed(&p, &feed(&p, &s, Event::NoInput), Event::NoInput),
        Event::NoInput,
    );
    assert_eq!(at(&p, &s), "op");
}

#[test]
fn global_keys_operator_repeat_back_top() {
    let p = program(MENU);
    let s = begin(&p, "+15550001111");
    assert_eq!(at(&p, &feed(&p, &s, digits("0"))), "op");
    let r = feed(&p, &s, digits("*"));
    assert_eq!(
        (at(&p, &r), r.state.attempts, r.state.step),
        ("main".into(), 0, 2)
    );
    let more = feed(&p, &s, digits("2"));
    let back = feed(&p, &more, digits("#"));
    assert_eq!(at(&p, &back), "main");
    let first_back = feed(&p, &s, digits("#"));
    assert_eq!(
        at(&p, &first_back),
        "main",
        "back from the first menu repeats it"
    );
    let top = feed(&p, &more, digits("9"));
    assert_eq!(at(&p, &top), "main");
    assert_eq!(said(&top)[0], "Hello.", "top goes to the flow's start");
}

#[test]
fn set_switches_language_and_variables() {
    let p = program(MENU);
    let s = feed(
        &p,
        &feed(&p, &begin(&p, "+15550001111"), digits("2")),
        digits("1"),
    );
    assert_eq!(s.state.language.as_str(), "zh-CN");
    assert_eq!(
        s.state.vars.get("lang_choice").map(String::as_str),
        Some("zh")
    );
    assert_eq!(said(&s), ["销售请按1。更多请按2。"]);
    let Action::Gather {
        language, prompts, ..
    } = &s.actions[0]
    else {
        panic!("{:?}", s.actions)
    };
    assert_eq!(language.as_str(), "zh-CN");
    assert!(matches!(&prompts[0], Speech::Say { language, .. } if language.as_str() == "zh-CN"));
}

#[test]
fn queue_results_bridged_overflow_no_answer_full_hangup() {
    let p = program(MENU);
    let q = feed(&p, &begin(&p, "+15550001111"), digits("1"));
    let done = feed(&p, &q, Event::queue(QueueResult::Bridged));
    assert_eq!(at(&p, &done), "bye");
    assert_eq!(
        done.state.outcome,
        Some(Outcome::Group(p.group_by_name("desk").unwrap()))
    );
    assert_eq!(done.state.wait, Wait::Ended);

    let over = feed(&p, &q, Event::queue(QueueResult::Timeout));
    assert_eq!(at(&p, &over), "sales");
    assert!(matches!(&over.actions[..], [Action::Enqueue { queue, .. }] if queue == "backup"));
    assert_eq!(why(&over), ["no answer: overflow to backup"]);
    let gone = feed(&p, &over, Event::queue(QueueResult::Timeout));
    assert_eq!(at(&p, &gone), "bye");
    let bridged = feed(&p, &over, Event::queue(QueueResult::Bridged));
    assert_eq!(
        bridged.state.outcome,
        Some(Outcome::Group(p.group_by_name("backup").unwrap()))
    );

    assert_eq!(
        at(&p, &feed(&p, &q, Event::queue(QueueResult::Full))),
        "bye"
    );
    let hung = feed(&p, &q, Event::queue(QueueResult::Hangup));
    assert_eq!(hung.state.outcome, Some(Outcome::Abandoned));
    let err = feed(&p, &q, Event::queue(QueueResult::Error));
    assert_eq!(err.state.wait, Wait::Fallback);
    assert_eq!(err.state.outcome, Some(Outcome::Fallback));
}

#[test]
fn events_that_do_not_fit_repeat_the_step() {
    let p = program(MENU);
    let s = begin(&p, "+15550001111");
    let late = feed(&p, &s, Event::Dial(DialStatus::Completed));
    assert_eq!(
        late.state, s.state,
        "nothing moves, not even the step number"
    );
    assert!(matches!(&late.actions[..], [Action::Gather { .. }]));
    assert!(matches!(&late.records[0].kind, RecordKind::Ignored { .. }));
    assert_eq!(repeat(&p, &s.state, monday()), late.actions);
}

#[test]
fn a_status_callback_ends_the_call_as_abandoned_where_it_was() {
    let p = program(MENU);
    let s = begin(&p, "+15550001111");
    let end = feed(&p, &s, Event::Status(CallStatus::Completed));
    assert_eq!(
        (end.state.wait, end.state.outcome),
        (Wait::Ended, Some(Outcome::Abandoned))
    );
    assert_eq!(at(&p, &end), "main");
    assert!(end.actions.is_empty());
}

const ROUTES: &str = r##"
[flow]
start = "b"

[branch.b]
cases = [
  { caller_in = "vip", goto = "vip" },
  { called_before = { within = "24h", group = "desk" }, goto = "back" },
  { var = "x", equals = "1", goto = "back" },
]
default = "h"

[hours.h]
schedule = "office"
open = "ab"
closed = "closed"
holiday = "holiday"

[split.ab]
routes = [{ weight = 30, goto = "a" }, { weight = 70, goto = "bb" }]
variable = "variant"

[say.a]
prompt = "A."
next = "t"

[say.bb]
prompt = "B."
next = "t"

[transfer.t]
to = "+15557654321"
on_no_answer = "vm"
next = "survey"

[voicemail.vm]
group = "office"
prompt = "Leave a message."
next = "cb"

[callback.cb]
group = "office"
prompt = "We will call you back."
number_prompt = "Enter your number."

[survey.survey]
prompt = "Rate us 1 to 5."
thanks = "Thanks."

[say.vip]
prompt = "VIP."
next = "agents"

[queue.agents]
group = "agents"
on_no_answer = "vm"

[say.back]
prompt = "Welcome back."
next = "office_q"

[queue.office_q]
group = "office"
on_closed = "closed"

[say.closed]
prompt = "We are closed."
next = "vm"

[say.holiday]
prompt = "Happy holidays."
next = "vm"
"##;

#[test]
fn branch_conditions_pick_the_first_matching_case() {
    let p = program(ROUTES);
    let vip = begin(&p, "+15550009999");
    assert_eq!(at(&p, &vip), "agents");
    assert_eq!(
        why(&vip)[0],
        "branch: case 1 (caller +15550009999 is in list vip)"
    );
    assert!(matches!(&vip.actions[1], Action::Dial { to, .. } if to.len() == 2));

    let history = vec![PastCall {
        at: "2026-03-02T03:00:00Z".parse().unwrap(),
        group: Some("desk".into()),
    }];
    let s = call_at(&p, "CA2", "+15550001111", history, monday());
    assert_eq!(
        why(&s)[0],
        "branch: case 2 (called 12h ago and reached desk)"
    );
    let old = vec![PastCall {
        at: "2026-02-27T03:00:00Z".parse().unwrap(),
        group: Some("desk".into()),
    }];
    let s = call_at(&p, "CA2", "+15550001111", old, monday());
    assert_eq!(why(&s)[0], "branch: default (no case matched)");
}

#[test]
fn hours_are_judged_at_the_injected_time_in_the_schedule_zone() {
    let p = program(ROUTES);
    let open = begin(&p, "+15550001111");
    assert!(why(&open).contains(&"hours: open (Mon 10:00 America/New_York)".to_owned()));
    let sat: Timestamp = "2026-03-07T19:05:00Z".parse().unwrap();
    let closed = call_at(&p, "C", "+1", vec![], sat);
    assert!(why(&closed).contains(&"hours: closed (Sat 14:05 America/New_York)".to_owned()));
    let xmas: Timestamp = "2026-12-25T15:00:00Z".parse().unwrap();
    let h = call_at(&p, "C", "+1", vec![], xmas);
    assert!(said(&h).contains(&"Happy holidays.".to_owned()));
}

#[test]
fn splits_are_stable_per_call_and_follow_the_weights() {
    let p = program(ROUTES);
    let route = |id: &str| {
        let s = call_at(&p, id, "+1", vec![], monday());
        s.state.vars.get("variant").cloned().unwrap()
    };
    assert_eq!(route("CA-same"), route("CA-same"));
    let a = (0..2000)
        .filter(|i| route(&format!("CA{i}")) == "1")
        .count();
    assert!((500..700).contains(&a), "30% of 2000 is 600, got {a}");
}

#[test]
fn transfer_voicemail_callback_and_survey() {
    let p = program(ROUTES);
    let t = begin(&p, "+15550001111");
    assert_eq!(at(&p, &t), "t");
    assert!(matches!(t.actions.last(), Some(Action::Dial { to, .. }) if to.len() == 1));
    let answered = feed(&p, &t, Event::Dial(DialStatus::Completed));
    assert_eq!(
        (at(&p, &answered), answered.state.outcome),
        ("survey".into(), Some(Outcome::Transfer))
    );
    let rated = feed(&p, &answered, digits("4"));
    assert!(
        rated
            .records
            .iter()
            .any(|r| r.kind == RecordKind::Rating { value: 4, scale: 5 })
    );
    assert_eq!(said(&rated), ["Thanks."]);
    assert_eq!(rated.state.wait, Wait::Ended);
    let bad = feed(&p, &answered, digits("9"));
    assert!(
        bad.records
            .iter()
            .all(|r| !matches!(r.kind, RecordKind::Rating { .. }))
    );

    let busy = feed(&p, &t, Event::Dial(DialStatus::Busy));
    assert_eq!(at(&p, &busy), "vm");
    assert!(matches!(
        busy.actions.last(),
        Some(Action::Record { beep: true, .. })
    ));
    let msg = feed(
        &p,
        &busy,
        Event::Recording {
            url: "https://x/r.wav".into(),
            seconds: 12,
        },
    );
    assert_eq!(at(&p, &msg), "cb");
    let office = p.group_by_name("office").unwrap();
    assert_eq!(msg.state.outcome, Some(Outcome::Voicemail(office)));
    let number = feed(&p, &msg, digits("4155550123#"));
    assert!(number.records.iter().any(|r| matches!(&r.kind, RecordKind::CallbackRequested { number, .. } if number == "+4155550123")));
    assert_eq!(
        number.state.outcome,
        Some(Outcome::Voicemail(office)),
        "the first outcome stays"
    );
    let none = feed(&p, &msg, Event::NoInput);
    assert!(none.records.iter().any(|r| matches!(&r.kind, RecordKind::CallbackRequested { number, .. } if number == "+15550001111")));
    let empty = feed(&p, &busy, Event::NoInput);
    assert_eq!(at(&p, &empty), "cb");
}

#[test]
fn queue_closed_by_schedule_takes_on_closed() {
    let p = program(ROUTES);
    let history = vec![PastCall {
        at: "2026-03-07T18:00:00Z".parse().unwrap(),
        group: Some("desk".into()),
    }];
    let sat: Timestamp = "2026-03-07T19:05:00Z".parse().unwrap();
    let s = call_at(&p, "C", "+1", history, sat);
    assert!(why(&s).contains(&"group office is closed (Sat 14:05 America/New_York)".to_owned()));
    assert_eq!(at(&p, &s), "vm");
}

#[test]
fn input_stores_valid_digits_and_rejects_the_rest() {
    let flow = r##"
[flow]
start = "acct"

[input.acct]
prompt = "Enter your account number."
variable = "account"
min_digits = 4
max_digits = 6
pattern = "^[1-9]"
attempts = 2
next = "bye"
on_failure = "bye"

[hangup.bye]
"##;
    let p = program(flow);
    let s = begin(&p, "+1");
    assert!(matches!(
        &s.actions[..],
        [Action::Gather {
            num_digits: Some(6),
            finish_on_key: Some(_),
            ..
        }]
    ));
    let ok = feed(&p, &s, digits("12345#"));
    assert_eq!(
        ok.state.vars.get("account").map(String::as_str),
        Some("12345")
    );
    let spoken = feed(
        &p,
        &s,
        Event::Speech {
            text: "one two 3 4 5 6".into(),
            confidence: 0.8,
        },
    );
    assert_eq!(
        spoken.state.vars.get("account").map(String::as_str),
        Some("3456"),
        "only digits count"
    );
    for bad in ["12", "0123", "1234567"] {
        let b = feed(&p, &s, digits(bad));
        assert_eq!(
            (b.state.attempts, b.state.vars.get("account")),
            (1, None),
            "{bad}"
        );
    }
}

#[test]
fn sub_flows_return_to_their_caller() {
    let main = r##"
[flow]
start = "call"

[subflow.call]
flow = "kb"
next = "after"

[say.after]
prompt = "Back in main."
next = "bye"

[hangup.bye]
"##;
    let kb = "[flow]\nstart = \"tip\"\n\n[say.tip]\nprompt = \"A tip.\"\nnext = \"done\"\n\n[return.done]\n";
    let settings = "[settings]\ndefault_flow = \"main\"\n";
    let (_, c) = compile_texts([("main", main), ("kb", kb), ("settings", settings)]);
    let p = c.program.unwrap();
    let s = begin(&p, "+1");
    assert_eq!(said(&s), ["A tip.", "Back in main."]);
    assert_eq!(s.state.outcome, Some(Outcome::Hangup));
    assert!(s.state.returns.is_empty());
}

#[test]
fn the_step_guard_ends_a_runaway_walk_on_the_fallback_route() {
    let mut p = program(MENU);
    // `check` rejects silent loops; force one to prove the guard holds anyway.
    let hello = p.node_by_name("main", "hello").unwrap();
    if let NodeKind::Say { next, .. } = &mut p.graph[hello].kind {
        *next = hello;
    }
    let s = begin(&p, "+1");
    assert_eq!(s.state.wait, Wait::Fallback);
    assert!(s.records.iter().any(
        |r| matches!(&r.kind, RecordKind::Fallback { reason } if reason.contains("200 nodes"))
    ));
    assert!(matches!(s.actions.last(), Some(Action::Enqueue { queue, .. }) if queue == "desk"));
    let over = feed(&p, &s, Event::queue(QueueResult::Bridged));
    assert_eq!(
        (over.state.wait, over.actions.clone()),
        (Wait::Ended, vec![Action::Hangup])
    );
}

#[test]
fn speech_words_match_whole_words_or_cjk_anywhere() {
    assert!(says("the app crashes", "app"));
    assert!(!says("i am not happy", "app"));
    assert!(says("order status please", "order status"));
    assert!(!says("order", "order status"));
    assert!(says("我要中文服务", "中文"));
}

/// A main line with a knowledge-base sub-flow whose answer returns to a
/// "did that help?" menu, and a back key in both flows.
const BACK_MAIN: &str = r##"
[flow]
start = "m"
keys = { back = "#" }

[menu.m]
prompt = "For answers, press 1."
options = { 1 = "help" }
on_failure = "bye"

[subflow.help]
flow = "kb"
next = "after"

[menu.after]
prompt = "Did that help? Press 1 for yes, 2 for no."
options = { 1 = "bye", 2 = "desk" }
on_failure = "desk"

[queue.desk]
group = "desk"

[hangup.bye]
prompt = "Goodbye."
"##;

const BACK_KB: &str = r##"
[flow]
start = "topics"
keys = { back = "#" }

[return.done]

[say.tip]
prompt = "Plug it in."
next = "done"

[menu.topics]
prompt = "For setup, press 1."
options = { 1 = "tip" }
on_failure = "done"
"##;

fn back_program() -> Program {
    let settings = "[settings]\ndefault_flow = \"main\"\nfallback = { group = \"desk\", message = \"Sorry, something went wrong.\" }\n";
    compiled([
        ("main", BACK_MAIN),
        ("kb", BACK_KB),
        ("groups", GROUPS),
        ("settings", settings),
    ])
}

#[test]
fn back_into_a_finished_sub_flow_runs_it_again_and_returns_to_its_caller() {
    let p = back_program();
    let s = feed(&p, &begin(&p, "+1"), digits("1"));
    assert_eq!(at(&p, &s), "topics");
    let s = feed(&p, &s, digits("1"));
    assert_eq!(at(&p, &s), "after", "the sub-flow returned");
    assert!(s.state.returns.is_empty());

    let back = feed(&p, &s, digits("#"));
    assert_eq!(at(&p, &back), "topics", "back to the sub-flow's menu");
    let again = feed(&p, &back, digits("1"));
    assert_eq!(
        (at(&p, &again), again.state.wait, again.state.outcome),
        ("after".into(), Wait::Choice, None),
        "the answer returns to the caller's menu instead of hanging up"
    );
    assert_eq!(
        said(&again),
        ["Plug it in.", "Did that help? Press 1 for yes, 2 for no."]
    );
    assert_eq!(
        back.state.returns,
        [p.node_by_name("main", "after").unwrap()],
        "back restored the sub-flow stack the call had at that menu"
    );

    // Back again from there, and back once more, leaves the sub-flow for the first menu.
    let back = feed(&p, &again, digits("#"));
    let first = feed(&p, &back, digits("#"));
    assert_eq!(at(&p, &first), "m");
    assert!(first.state.returns.is_empty());
}

#[test]
fn a_return_with_nothing_to_return_to_takes_the_fallback_route() {
    let p = back_program();
    let topics = feed(&p, &begin(&p, "+1"), digits("1"));
    // A state from before the back history carried the sub-flow stack (or any
    // other way of losing it): `check` cannot rule it out, the engine must cope.
    let mut lost = topics.state.clone();
    lost.returns.clear();
    let s = step(&p, &lost, digits("1"), monday());
    assert_eq!(at(&p, &s), "done");
    assert_eq!(
        (s.state.wait, s.state.outcome),
        (Wait::Fallback, Some(Outcome::Fallback)),
        "not a bare hang-up"
    );
    assert!(s.records.iter().any(|r| matches!(
        &r.kind,
        RecordKind::Fallback { reason } if reason.contains("`return`")
    )));
    assert_eq!(said(&s), ["Plug it in.", "Sorry, something went wrong."]);
    assert!(matches!(
        &s.actions[..],
        [Action::Speak(_), Action::Speak(_), Action::Enqueue { queue, .. }] if queue == "desk"
    ));
}

#[test]
fn a_back_history_stored_by_an_older_version_still_loads() {
    let p = back_program();
    let s = feed(&p, &begin(&p, "+1"), digits("1"));
    let mut json = serde_json::to_value(&s.state).unwrap();
    let m = p.node_by_name("main", "m").unwrap().index();
    let topics = s.state.at.index();
    // Before the history carried the sub-flow stack, a visit was the menu's index.
    json["menus"] = serde_json::json!([m, topics]);
    let old: CallState = serde_json::from_value(json).unwrap();
    assert_eq!(
        old.menus
            .iter()
            .map(|v| (v.menu, v.returns.clone()))
            .collect::<Vec<_>>(),
        [(NodeIndex::new(m), None), (s.state.at, None)]
    );
    let back = step(&p, &old, digits("#"), monday());
    assert_eq!(at(&p, &back), "m");
    let again: CallState =
        serde_json::from_str(&serde_json::to_string(&back.state).unwrap()).unwrap();
    assert_eq!(again, back.state, "a state stored now reads back the same");
}

fn closed(group: &str, until: &str, message: &[(&str, &str)]) -> Closures {
    Closures::new([crate::routing::Closure {
        group: group.into(),
        until: until.parse().unwrap(),
        message: message
            .iter()
            .map(|(l, t)| (Lang::parse(l).unwrap(), (*t).to_owned()))
            .collect(),
        closed_at: "2026-03-02T14:00:00Z".parse().unwrap(),
    }])
}

fn moment(closures: &Closures) -> Moment<'_> {
    Moment {
        now: monday(),
        closures,
    }
}

const CLOSABLE: &str = r##"
[flow]
start = "main"

[menu.main]
prompt = "Press 1, 2 or 3."
options = { 1 = "office_q", 2 = "agents_q", 3 = "desk_q" }

[queue.office_q]
group = "office"
on_closed = "closed"

[queue.agents_q]
group = "agents"
on_no_answer = "vm"

[queue.desk_q]
group = "desk"

[say.closed]
prompt = "We are closed."
next = "vm"

[voicemail.vm]
group = "office"
prompt = "Leave a message."
next = "bye"

[hangup.bye]
"##;

#[test]
fn a_group_closed_by_an_admin_routes_like_closing_hours_with_its_message_first() {
    let p = program(CLOSABLE);
    let c = closed(
        "office",
        "2026-03-02T18:00:00Z",
        &[("en-US", "Closed for training."), ("zh-CN", "培训中。")],
    );
    let menu = begin(&p, "+15550001111");
    let s = step(&p, &menu.state, digits("1"), moment(&c));
    assert_eq!(at(&p, &s), "vm");
    assert_eq!(
        said(&s),
        ["Closed for training.", "We are closed.", "Leave a message."]
    );
    assert_eq!(
        why(&s)[1],
        "group office is closed by an admin until 2026-03-02 18:00 UTC"
    );

    let open = step(&p, &menu.state, digits("1"), monday());
    assert_eq!(at(&p, &open), "office_q", "without the closure it is open");
    let later = Moment {
        now: "2026-03-02T18:00:00Z".parse().unwrap(),
        closures: &c,
    };
    let expired = step(&p, &menu.state, digits("1"), later);
    assert_eq!(at(&p, &expired), "office_q", "a closure ends at its time");
    let other = step(&p, &menu.state, digits("3"), moment(&c));
    assert_eq!(at(&p, &other), "desk_q", "other groups are untouched");
}

#[test]
fn a_closure_message_is_spoken_in_the_callers_language() {
    let p = program(CLOSABLE);
    let c = closed(
        "office",
        "2026-03-02T18:00:00Z",
        &[("en-US", "Closed for training."), ("zh-CN", "培训中。")],
    );
    let mut state = begin(&p, "+15550001111").state;
    state.language = Lang::parse("zh-CN").unwrap();
    let s = step(&p, &state, digits("1"), moment(&c));
    assert_eq!(said(&s)[0], "培训中。");
    let only_english = closed("office", "2026-03-02T18:00:00Z", &[("en-US", "Closed.")]);
    let s = step(&p, &state, digits("1"), moment(&only_english));
    assert_eq!(said(&s)[0], "Closed.", "the default language stands in");
    let silent = closed("office", "2026-03-02T18:00:00Z", &[]);
    let s = step(&p, &state, digits("1"), moment(&silent));
    assert_eq!(said(&s)[0], "We are closed.", "no message, nothing extra");
}

#[test]
fn a_closed_queue_without_on_closed_takes_on_no_answer_else_the_fallback() {
    let p = program(CLOSABLE);
    let menu = begin(&p, "+15550001111");
    let c = closed("agents", "2026-03-02T18:00:00Z", &[]);
    let s = step(&p, &menu.state, digits("2"), moment(&c));
    assert_eq!(at(&p, &s), "vm");
    let c = closed("desk", "2026-03-02T18:00:00Z", &[]);
    let s = step(&p, &menu.state, digits("3"), moment(&c));
    assert_eq!(s.state.wait, Wait::Fallback);
}

#[test]
fn overflow_skips_a_group_an_admin_closed() {
    let p = program(MENU);
    let q = feed(&p, &begin(&p, "+15550001111"), digits("1"));
    let c = closed("backup", "2026-03-02T18:00:00Z", &[]);
    let over = step(&p, &q.state, Event::queue(QueueResult::Timeout), moment(&c));
    assert!(
        !over
            .actions
            .iter()
            .any(|a| matches!(a, Action::Enqueue { queue, .. } if queue == "backup")),
        "{:?}",
        over.actions
    );
    assert_ne!(at(&p, &over), "sales");
}
