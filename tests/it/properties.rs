//! Properties over open-ended input: the loader and compiler never panic on
//! arbitrary text or on arbitrary (often broken) flow files, and any program
//! they do produce is internally consistent.

use petgraph::visit::EdgeRef;
use proptest::prelude::*;
use switchboard::compile::compile;
use switchboard::diagnostic::Severity;
use switchboard::flow::parse_texts;
use switchboard::program::{Exit, NodeKind, Program};

fn compile_files(files: Vec<(String, String)>) -> switchboard::compile::Compiled {
    compile(&parse_texts(
        files.into_iter().map(|(n, t)| (format!("{n}.toml"), n, t)),
    ))
}

/// Every index a program holds points inside it.
fn assert_consistent(p: &Program) {
    let n = p.graph.node_count();
    for f in &p.flows {
        assert!(f.start.index() < n);
        if let Some((_, op)) = f.keys.operator {
            assert!(op.index() < n);
        }
    }
    for ix in p.graph.node_indices() {
        let node = &p.graph[ix];
        assert!(node.flow.index() < p.flows.len());
        for (_, t) in node.kind.exits() {
            assert!(t.index() < n);
        }
        // The graph's edges are the node's exits, less the impossible ones.
        let mut edges: Vec<_> = p
            .graph
            .edges(ix)
            .map(|e| (e.weight().clone(), e.target()))
            .collect();
        edges.extend(
            p.impossible
                .iter()
                .filter(|i| i.node == ix)
                .map(|i| (i.exit.clone(), i.target)),
        );
        let mut exits = node.kind.exits();
        let key = |(e, t): &(Exit, petgraph::graph::NodeIndex)| (format!("{e:?}"), *t);
        edges.sort_by_key(key);
        exits.sort_by_key(key);
        assert_eq!(edges, exits, "exits of {}", node.id);
        match &node.kind {
            NodeKind::Queue(q) => assert!(q.group.index() < p.groups.len()),
            NodeKind::Voicemail { group, .. } | NodeKind::Callback { group, .. } => {
                assert!(group.index() < p.groups.len())
            }
            NodeKind::Hours { schedule, .. } => assert!(schedule.index() < p.schedules.len()),
            NodeKind::Subflow { flow, .. } => assert!(flow.index() < p.flows.len()),
            _ => {}
        }
    }
    assert!(p.default_flow.index() < p.flows.len());
    for g in &p.groups {
        assert!(g.overflow.is_none_or(|o| o.index() < p.groups.len()));
    }
}

/// Values of every shape, so that wrong types and bad values are exercised too.
fn value() -> impl Strategy<Value = String> {
    let ids = prop::sample::select(vec![
        "a", "b", "c", "d", "main.a", "other.b", "nope", "q", "g", "s",
    ]);
    prop_oneof![
        ids.prop_map(|s| format!("\"{s}\"")),
        prop::sample::select(vec![
            "\"5s\"",
            "\"two\"",
            "3",
            "-1",
            "0",
            "true",
            "[]",
            "{}",
            "\"1\"",
            "\"#\"",
            "\"12\"",
            "\"+15551230000\"",
            "\"sip:x@y\"",
            "\"mon-fri\"",
            "\"08:00-17:00\"",
            "\"25:00-26:00\"",
            "\"America/Chicago\"",
            "\"Nowhere/City\"",
            "{ en-US = \"Press 1.\" }",
            "{ recording = \"greeting\" }",
            "{ zz = \"x\" }",
            "\"service\"",
            "\"support\"",
            "[\"a\", \"b\"]",
            "[{ weight = 50, goto = \"a\" }, { weight = 60, goto = \"b\" }]",
            "[{ caller_in = \"vip\", goto = \"a\" }]",
            "{ 1 = \"a\", 2 = { goto = \"b\", speech = [\"x\"] } }",
        ])
        .prop_map(str::to_owned),
    ]
}

fn key() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "prompt",
        "next",
        "options",
        "on_failure",
        "timeout",
        "attempts",
        "goto",
        "group",
        "schedule",
        "open",
        "closed",
        "holiday",
        "routes",
        "cases",
        "default",
        "variable",
        "max_digits",
        "min_digits",
        "flow",
        "to",
        "vars",
        "language",
        "scale",
        "kind",
        "timezone",
        "weekly",
        "overflow",
        "recording",
        "start",
        "operator",
        "bogus",
    ])
}

fn table() -> impl Strategy<Value = String> {
    let header = prop::sample::select(vec![
        "flow",
        "say.a",
        "say.b",
        "menu.a",
        "menu.c",
        "input.d",
        "branch.b",
        "hours.c",
        "split.d",
        "queue.q",
        "transfer.d",
        "voicemail.c",
        "callback.b",
        "set.a",
        "survey.b",
        "hangup.c",
        "subflow.s",
        "return.d",
        "groups.g",
        "schedules.s",
        "lists.vip",
        "settings",
        "numbers",
        "mneu.x",
    ]);
    (header, prop::collection::vec((key(), value()), 0..6)).prop_map(|(h, kvs)| {
        let mut seen = std::collections::HashSet::new();
        let mut s = format!("[{h}]\n");
        for (k, v) in kvs {
            if seen.insert(k) {
                s.push_str(&format!("{k} = {v}\n"));
            }
        }
        s
    })
}

fn flow_file() -> impl Strategy<Value = String> {
    prop::collection::vec(table(), 0..10).prop_map(|tables| {
        let mut seen = std::collections::HashSet::new();
        tables
            .into_iter()
            .filter(|t| seen.insert(t.lines().next().unwrap_or("").to_owned()))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// A well-formed flow set with an arbitrary graph shape: menus, says, branches,
/// hours (on a schedule without holidays, so their `holiday` exits are
/// impossible) and queues wired to random targets.
fn graph_shape() -> impl Strategy<Value = Vec<(String, String)>> {
    let node = (
        0u8..5,
        prop::collection::vec(0usize..12, 1..4),
        any::<bool>(),
    );
    prop::collection::vec(node, 1..12).prop_map(|nodes| {
        let n = nodes.len();
        let mut s = String::from("[flow]\nstart = \"n0\"\n\n");
        for (i, (kind, targets, fail)) in nodes.iter().enumerate() {
            let t = |j: usize| format!("n{}", targets[j % targets.len()] % n);
            match kind {
                0 => {
                    let opts: Vec<_> = (0..targets.len()).map(|j| format!("{} = \"{}\"", j + 1, t(j))).collect();
                    let keys: Vec<_> = (1..=targets.len()).map(|k| format!("press {k}")).collect();
                    s.push_str(&format!("[menu.n{i}]\nprompt = \"{}.\"\noptions = {{ {} }}\n", keys.join(", "), opts.join(", ")));
                    if *fail {
                        s.push_str(&format!("on_failure = \"{}\"\n", t(1)));
                    }
                }
                1 => s.push_str(&format!("[say.n{i}]\nprompt = \"Hello.\"\nnext = \"{}\"\n", t(0))),
                2 => s.push_str(&format!(
                    "[branch.n{i}]\ncases = [{{ var = \"x\", equals = \"1\", goto = \"{}\" }}]\ndefault = \"{}\"\n",
                    t(0),
                    t(1)
                )),
                3 => {
                    s.push_str(&format!(
                        "[hours.n{i}]\nschedule = \"s\"\nopen = \"{}\"\nclosed = \"{}\"\n",
                        t(0),
                        t(1)
                    ));
                    if *fail {
                        s.push_str(&format!("holiday = \"{}\"\n", t(2)));
                    }
                }
                _ => {
                    s.push_str(&format!("[queue.n{i}]\ngroup = \"g\"\n"));
                    if *fail {
                        s.push_str(&format!("on_no_answer = \"{}\"\n", t(0)));
                    }
                }
            }
            s.push('\n');
        }
        s.push_str("[groups.g]\nkind = \"support\"\n\n");
        s.push_str("[schedules.s]\ntimezone = \"UTC\"\nweekly = { \"mon-fri\" = \"09:00-17:00\" }\n");
        vec![("main".to_owned(), s)]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let c = compile_files(vec![("main".into(), text)]);
        if let Some(p) = &c.program { assert_consistent(p); }
    }

    #[test]
    fn arbitrary_flow_files_never_panic(a in flow_file(), b in flow_file()) {
        let c = compile_files(vec![("main".into(), a), ("other".into(), b)]);
        if let Some(p) = &c.program { assert_consistent(p); }
        // A program exists exactly when there are no errors.
        let errors = c.diagnostics.iter().any(|d| d.severity == Severity::Error);
        prop_assert_eq!(c.program.is_some(), !errors);
    }

    #[test]
    fn arbitrary_graph_shapes_compile_or_explain(files in graph_shape()) {
        let c = compile_files(files);
        if let Some(p) = &c.program {
            assert_consistent(p);
        }
        // Every diagnostic of a one-file set points into that file.
        for d in &c.diagnostics {
            prop_assert!(d.span.is_some(), "{:?}", d);
        }
    }
}

mod walks {
    use crate::support::xml::tree;
    use proptest::prelude::*;
    use switchboard::engine::{
        self, CallStatus, DialStatus, Event, PastCall, QueueResult, RecordKind, Start, Wait,
    };
    use switchboard::program::Program;
    use switchboard::provider::{BaseUrls, twilio};

    fn demo() -> &'static Program {
        static DEMO: std::sync::OnceLock<Program> = std::sync::OnceLock::new();
        DEMO.get_or_init(|| {
            let set = switchboard::flow::load_dir(std::path::Path::new("flows")).unwrap();
            switchboard::compile::compile(&set).program.unwrap()
        })
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            4 => "[0-9*#]{1,3}".prop_map(Event::Digits),
            1 => "[0-9]{6,12}#?".prop_map(Event::Digits),
            1 => prop::sample::select(vec!["orders", "billing", "中文", "yes", "agent", "gibberish", ""])
                .prop_map(|t| Event::Speech { text: t.into(), confidence: 0.7 }),
            2 => Just(Event::NoInput),
            1 => prop::sample::select(vec![
                QueueResult::Bridged, QueueResult::Full, QueueResult::Timeout, QueueResult::Hangup, QueueResult::Error,
            ]).prop_map(Event::queue),
            1 => prop::sample::select(vec![DialStatus::Completed, DialStatus::Busy, DialStatus::NoAnswer, DialStatus::Failed])
                .prop_map(Event::Dial),
            1 => (0u32..200).prop_map(|s| Event::Recording { url: "https://x/r".into(), seconds: s }),
            1 => Just(Event::Status(CallStatus::Completed)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        /// A random walk of random events over the demo never panics, never
        /// leaves the program, never trips the step guard, and always answers
        /// with well-formed TwiML.
        #[test]
        fn random_walks_over_the_demo_stay_inside_the_program(
            vip in any::<bool>(),
            returning in any::<bool>(),
            secs in 1_767_225_600i64..1_798_761_600, // all of 2026
            events in prop::collection::vec(event(), 0..40),
        ) {
            let p = demo();
            let now = jiff::Timestamp::from_second(secs).unwrap();
            let history = if returning {
                vec![PastCall { at: jiff::Timestamp::from_second(secs - 3600).unwrap(), group: Some("support_tier1".into()) }]
            } else {
                vec![]
            };
            let caller = if vip { "+14155550123" } else { "+15550001111" };
            let urls = BaseUrls::new("https://ivr.example.com", "twilio");
            let mut step = engine::start(p, Start { call_id: format!("CA{secs}"), caller: caller.into(), called: "+18005550100".into(), history, language: None }, now);
            for e in events {
                prop_assert!(step.state.at.index() < p.graph.node_count());
                let guard = step.records.iter().any(|r| matches!(&r.kind, RecordKind::Fallback { reason } if reason.contains("nodes without waiting")));
                prop_assert!(!guard, "the step guard fired on the demo");
                let doc = twilio::render(&step.actions, p, &step.state.call_id, step.state.step, &urls);
                tree(&doc);
                let before = step.state.step;
                let ended = step.state.wait == Wait::Ended;
                step = engine::step(p, &step.state, e, now);
                prop_assert!(step.state.step == before || step.state.step == before + 1);
                if ended {
                    prop_assert_eq!(step.state.wait, Wait::Ended, "an ended call stays ended");
                }
                if step.state.wait == Wait::Ended {
                    prop_assert!(step.state.outcome.is_some(), "an ended call has an outcome");
                }
            }
        }
    }
}

mod callbacks {
    use proptest::prelude::*;
    use switchboard::provider::twilio::{callback, signature};

    proptest! {
        /// Arbitrary callback bodies and query strings never panic the
        /// parsers: they are events or a reason to answer 400.
        #[test]
        fn arbitrary_bodies_parse_or_are_refused(
            body in prop::collection::vec(any::<u8>(), 0..300),
            query in "[a-zA-Z0-9=&%+._-]{0,80}",
            known in prop::sample::select(vec![
                "CallSid=CA1&Digits=1", "CallSid=CA1&QueueResult=leave", "CallSid=CA1&DialCallStatus=busy",
                "CallSid=CA1&RecordingUrl=x&RecordingDuration=-1", "CallSid=CA1&SpeechResult=%00%FF",
                "CallSid=CA1&CallStatus=completed&CallDuration=abc",
            ]),
        ) {
            for b in [body.as_slice(), known.as_bytes()] {
                let params = signature::form_pairs(b);
                let q = signature::form_pairs(query.as_bytes());
                let _ = callback::incoming(&params);
                let _ = callback::status(&params);
                let _ = callback::step(&q, &params);
                let with_call = signature::form_pairs(b"call=CA1&s=2");
                if let Ok(s) = callback::step(&with_call, &params) {
                    prop_assert_eq!(s.step, 2);
                }
                let _ = signature::verify(signature::Algorithm::Sha1, "t", "https://x/y", &params, Some(b), Some("AAAA"));
            }
        }
    }

    /// Every provider, with its credential, and a request as it arrived.
    fn providers() -> Vec<Box<dyn switchboard::provider::Provider>> {
        use switchboard::provider::{plivo, signalwire, telnyx, twilio, vxml};
        vec![
            Box::new(twilio::Twilio::new(Some("t".into()))),
            Box::new(plivo::Plivo::new(Some("t".into()), Some("m".into()))),
            Box::new(
                telnyx::Telnyx::new(Some("A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=")).unwrap(),
            ),
            Box::new(signalwire::SignalWire::new(Some("t".into()))),
            Box::new(vxml::VoiceXml::new(Some("t".into()))),
        ]
    }

    proptest! {
        /// Arbitrary bodies, queries, content types and signature headers
        /// never panic any provider's verifier or parser, on any route: a
        /// request is refused (403), malformed (400) or a callback.
        #[test]
        fn every_provider_verifies_and_parses_anything_without_panicking(
            body in prop::collection::vec(any::<u8>(), 0..300),
            query in "[a-zA-Z0-9=&%+._:-]{0,80}",
            header in "[ -~]{0,120}",
            json in any::<bool>(),
            get in any::<bool>(),
            known in prop::sample::select(vec![
                "CallUUID=u1&Digits=1", "CallUUID=u1&DialStatus=timeout", "CallUUID=u1&RecordUrl=x&RecordingDurationMs=-5",
                "CallUUID=u1&CallStatus=cancel&Duration=x", "answer=1+2&mode=dtmf", "t=near_end_disconnect", "msg=x&msg_seconds=NaN",
                "call=vx1&from=tel%3A%2B1555&to=sip%3A%2B1800%40h", "CallSid=v3%3Aa&Digits=%23",
            ]),
        ) {
            use switchboard::provider::{Request, Route};
            use switchboard::provider::callback::{body_params, form_pairs};
            let ct = if json { "application/json" } else { "application/x-www-form-urlencoded" };
            let mut headers = axum::http::HeaderMap::new();
            headers.insert("content-type", axum::http::HeaderValue::from_static(ct));
            if let Ok(v) = axum::http::HeaderValue::from_str(&header) {
                for name in ["x-twilio-signature", "x-plivo-signature-v3", "x-plivo-signature-v3-nonce",
                    "x-plivo-signature-ma-v3", "telnyx-signature-ed25519", "telnyx-timestamp",
                    "x-signalwire-signature", "authorization"] {
                    headers.insert(name, v.clone());
                }
            }
            let method = if get { axum::http::Method::GET } else { axum::http::Method::POST };
            let url = format!("https://ivr.example.com/p/step?{query}");
            let q = form_pairs(query.as_bytes());
            for p in providers() {
                for b in [body.as_slice(), known.as_bytes()] {
                    let Ok(params) = body_params(Some(ct), b, p.accepts_json()) else { continue };
                    let req = Request {
                        method: &method,
                        url: &url,
                        headers: &headers,
                        body: b,
                        query: &q,
                        params: &params,
                        now: jiff::Timestamp::UNIX_EPOCH,
                    };
                    let _ = p.verify(&req);
                    for (route, _) in Route::ALL {
                        let _ = p.parse(route, &req);
                    }
                }
            }
        }
    }
}
