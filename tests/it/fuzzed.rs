//! What the fuzz targets (`fuzz/`) found, kept as plain tests that run
//! under `cargo test`.

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
