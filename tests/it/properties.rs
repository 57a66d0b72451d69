//! Properties over open-ended input: the loader and compiler never panic on
//! arbitrary text or on arbitrary (often broken) flow files, and any program
//! they do produce is internally consistent.

use proptest::prelude::*;
use switchboard::compile::compile;
use switchboard::diagnostic::Severity;
use switchboard::flow::parse_texts;
use switchboard::program::{NodeKind, Program};

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

/// A well-formed flow set with an arbitrary graph shape: menus, says, branches
/// and queues wired to random targets.
fn graph_shape() -> impl Strategy<Value = Vec<(String, String)>> {
    let node = (
        0u8..4,
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
                _ => {
                    s.push_str(&format!("[queue.n{i}]\ngroup = \"g\"\n"));
                    if *fail {
                        s.push_str(&format!("on_no_answer = \"{}\"\n", t(0)));
                    }
                }
            }
            s.push('\n');
        }
        s.push_str("[groups.g]\nkind = \"support\"\n");
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
