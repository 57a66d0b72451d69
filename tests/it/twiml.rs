//! TwiML: our renderer against documents built by Twilio's official SDK
//! (`scripts/twiml-oracle.py`, stored in tests/data/twiml), compared as XML
//! trees; and snapshots of whole demo calls as Twilio would receive them.

use crate::support::xml::tree;
use std::time::Duration;
use switchboard::action::{Action, InputModes, Speech};
use switchboard::engine::{self, Event, Start};
use switchboard::program::{Key, Lang, Program};
use switchboard::provider::{BaseUrls, twilio};
use switchboard::routing::Endpoint;

fn demo() -> Program {
    let set = switchboard::flow::load_dir(std::path::Path::new("flows")).expect("flows");
    switchboard::compile::compile(&set)
        .program
        .expect("the demo compiles")
}

fn lang(s: &str) -> Lang {
    Lang::parse(s).unwrap()
}

fn say(text: &str, l: &str, voice: Option<&str>) -> Speech {
    Speech::Say {
        text: text.into(),
        language: lang(l),
        voice: voice.map(str::to_owned),
    }
}

fn render(p: &Program, actions: &[Action]) -> String {
    twilio::render(
        actions,
        p,
        "CA123",
        4,
        &BaseUrls::new("https://ivr.example.com", "twilio"),
    )
}

pub(crate) fn cases(p: &Program) -> Vec<(&'static str, Vec<Action>)> {
    let dtmf = InputModes {
        dtmf: true,
        speech: false,
    };
    vec![
        (
            "menu",
            vec![Action::Gather {
                prompts: vec![say(
                    "For orders, press 1 & <more>.",
                    "en-US",
                    Some("Polly.Joanna"),
                )],
                input: InputModes {
                    dtmf: true,
                    speech: true,
                },
                num_digits: Some(1),
                timeout: Duration::from_secs(5),
                finish_on_key: None,
                keys: vec![],
                hints: vec!["orders".into(), "billing".into()],
                language: lang("en-US"),
            }],
        ),
        (
            "input_digits",
            vec![Action::Gather {
                prompts: vec![Speech::Play {
                    file: "en-US/greeting.wav".into(),
                }],
                input: dtmf,
                num_digits: Some(8),
                timeout: Duration::from_secs(8),
                finish_on_key: Key::parse("#"),
                keys: vec![],
                hints: vec![],
                language: lang("en-US"),
            }],
        ),
        (
            "survey_without_prompt",
            vec![Action::Gather {
                prompts: vec![],
                input: dtmf,
                num_digits: Some(1),
                timeout: Duration::from_secs(5),
                finish_on_key: None,
                keys: vec![],
                hints: vec![],
                language: lang("en-US"),
            }],
        ),
        (
            "queue",
            vec![
                Action::Speak(say("Connecting you to billing.", "en-US", None)),
                Action::Enqueue {
                    queue: "billing".into(),
                    group: p.group_by_name("billing").unwrap(),
                    priority: 5,
                },
            ],
        ),
        (
            "transfer",
            vec![Action::Dial {
                to: vec![
                    Endpoint::Number("+15557654321".into()),
                    Endpoint::Sip("sip:desk@pbx.example.com".into()),
                ],
                timeout: Duration::from_secs(30),
                caller_id: Some("+18005550100".into()),
            }],
        ),
        (
            "voicemail",
            vec![
                Action::Speak(say("Leave a message after the tone.", "en-US", None)),
                Action::Record {
                    max_length: Duration::from_secs(120),
                    beep: true,
                },
            ],
        ),
        (
            "goodbye",
            vec![
                Action::Speak(say("感谢您致电Acme。再见。", "zh-CN", Some("Polly.Zhiyu"))),
                Action::Speak(Speech::Pause { seconds: 1 }),
                Action::Hangup,
            ],
        ),
        (
            "wait_then_leave",
            vec![
                Action::Speak(say("You are number 3 in line.", "en-US", None)),
                Action::Speak(Speech::Play {
                    file: "hold.wav".into(),
                }),
                Action::Leave { full: false },
            ],
        ),
        (
            "redirect",
            vec![
                Action::Speak(Speech::Pause { seconds: 2 }),
                Action::Redirect,
            ],
        ),
    ]
}

#[test]
fn every_verb_matches_what_the_official_sdk_builds() {
    let p = demo();
    for (name, actions) in cases(&p) {
        let ours = render(&p, &actions);
        assert!(
            ours.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#),
            "{ours}"
        );
        let path = format!("tests/data/twiml/{name}.xml");
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(
            tree(&ours),
            tree(&expected),
            "\nours: {ours}\nsdk:  {expected}"
        );
        insta::assert_snapshot!(format!("twiml_{name}"), ours);
    }
}

/// A call through the demo as Twilio sees it: every document we answer with.
fn call(p: &Program, caller: &str, at: &str, events: Vec<Event>) -> String {
    let now: jiff::Timestamp = at.parse().unwrap();
    let urls = BaseUrls::new("https://ivr.example.com", "twilio");
    let start = Start {
        call_id: "CA123".into(),
        caller: caller.into(),
        called: "+18005550100".into(),
        history: vec![],
        language: None,
    };
    let mut step = engine::start(p, start, now);
    let mut out = format!(
        "-- call from {caller} at {at}\n{}\n",
        twilio::render(&step.actions, p, "CA123", step.state.step, &urls)
    );
    for e in events {
        out.push_str(&format!("-- {e:?}\n"));
        step = engine::step(p, &step.state, e, now);
        out.push_str(&twilio::render(
            &step.actions,
            p,
            "CA123",
            step.state.step,
            &urls,
        ));
        out.push('\n');
    }
    out
}

#[test]
fn demo_calls_as_twilio_receives_them() {
    let p = demo();
    let d = |s: &str| Event::Digits(s.into());
    // Monday 10:00 in New York: English, billing, account number, queued, served, rated.
    insta::assert_snapshot!(
        "demo_billing_call",
        call(
            &p,
            "+15550001111",
            "2026-03-02T15:00:00Z",
            vec![
                d("1"),
                d("2"),
                d("12345678#"),
                Event::queue(engine::QueueResult::Bridged),
                d("5")
            ]
        )
    );
    // Saturday 20:00: Chinese, closed, leave a message.
    insta::assert_snapshot!(
        "demo_after_hours_call",
        call(
            &p,
            "+15550001111",
            "2026-03-08T01:00:00Z",
            vec![
                d("2"),
                d("1"),
                Event::Recording {
                    url: "https://api.twilio.com/rec/RE1".into(),
                    seconds: 14
                }
            ]
        )
    );
}
