//! What the fuzz targets (`fuzz/`) found, kept as plain tests that run
//! under `cargo test`: the slow case they led to, and the corpus they kept
//! for the flow loader and the scenario parser, replayed.

use std::time::{Duration, Instant};
use switchboard::diagnostic::{Code, Diagnostic, Style, render_text};
use switchboard::source::{Sources, Span};

/// Drawing diagnostics near the end of a large file took time in the file's
/// size times the number of diagnostics: miette's reader scans the text
/// from its first byte on every read, several times per diagnostic (a
/// 64 KiB file of broken nodes took seconds, a megabyte minutes). With the
/// windowed reader it takes as long as for a small file.
#[test]
fn drawing_diagnostics_at_the_end_of_a_large_file_is_fast() {
    let mut text = "# padding\n".repeat(1_600_000);
    let first = text.len();
    for i in 0..50 {
        text.push_str(&format!("[say.n{i}]\nprompt = 3\n"));
    }
    let mut sources = Sources::new();
    let id = sources.add("flows/main.toml", text.clone());
    let diags: Vec<Diagnostic> = text[first..]
        .match_indices("prompt")
        .map(|(at, _)| {
            Diagnostic::new(Code::InvalidValue, "invalid type: integer `3`")
                .labelled(Span::new(id, first + at..first + at + 10), "invalid value")
                .hint("text needs quotes")
        })
        .collect();
    assert_eq!(diags.len(), 50);
    let started = Instant::now();
    let out = render_text(&diags, &sources, Style::Plain);
    let took = started.elapsed();
    // The old reader needed well over half a minute here, unoptimised.
    assert!(
        took < Duration::from_secs(5),
        "drawing 50 diagnostics took {took:?}"
    );
    assert!(out.contains("flows/main.toml:1600002:1"), "{out}");
    assert!(out.contains("prompt = 3"), "{out}");
}

/// Every file of a kept fuzz corpus (`fuzz/corpus/<target>/`), by name.
fn corpus(target: &str) -> Vec<(String, String)> {
    let dir = std::path::Path::new("fuzz/corpus").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .map(|p| {
            let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
            (p.display().to_string(), text)
        })
        .collect();
    files.sort();
    assert!(
        files.len() > 10,
        "{} holds only {} files",
        dir.display(),
        files.len()
    );
    files
}

/// The flow files the fuzzer kept (the shapes that reach every part of the
/// loader and compiler) load, compile and draw without a panic, and each
/// comes out as a program or with an error that says why.
#[test]
fn the_kept_flow_corpus_loads_and_compiles() {
    for (path, text) in corpus("flow_file") {
        let (set, compiled) = switchboard::compile::compile_texts([("main", text.as_str())]);
        let shown = render_text(&compiled.diagnostics, &set.sources, Style::Plain);
        assert!(
            compiled.program.is_some() || compiled.summary.counts.errors > 0,
            "{path}: no program, yet no error says why:\n{shown}"
        );
        assert_eq!(
            compiled.summary.counts.errors + compiled.summary.counts.warnings,
            compiled.diagnostics.len(),
            "{path}"
        );
    }
}

/// The scenario files the fuzzer kept parse against the demo flows without a
/// panic, and those that check out run.
#[test]
fn the_kept_scenario_corpus_parses_and_runs() {
    let demo = switchboard::compile::compile(
        &switchboard::flow::load_dir(std::path::Path::new("flows")).unwrap(),
    )
    .program
    .unwrap();
    for (path, text) in corpus("scenario") {
        let mut sources = Sources::new();
        let file = sources.add(path.clone(), text.clone());
        let (scenarios, diags) = switchboard::scenario::parse(&demo, file, &text);
        render_text(&diags, &sources, Style::Plain);
        let mut coverage = switchboard::scenario::Coverage::default();
        for s in scenarios.iter().take(16) {
            switchboard::scenario::run(&demo, s, path.clone(), &mut coverage);
        }
    }
}
