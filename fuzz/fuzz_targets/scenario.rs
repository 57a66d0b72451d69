//! Scenario files (`flows/tests/*.toml`) against the shipped demo flows:
//! arbitrary bytes parsed as one scenario file, its diagnostics rendered,
//! and every scenario that checks out run, with its coverage report.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::diagnostic;
use switchboard::scenario::{self, Coverage};
use switchboard::source::Sources;
use switchboard_fuzz::{demo, render_some};

fuzz_target!(|data: &[u8]| {
    let p = demo();
    let text = String::from_utf8_lossy(data);
    let mut sources = Sources::new();
    let file = sources.add("flows/tests/fuzz.toml", text.as_ref());
    let (scenarios, diags) = scenario::parse(p, file, &sources.get(file).text);
    render_some(&diags, &sources);
    let _ = diagnostic::to_json(&diags, &sources);
    let mut coverage = Coverage::default();
    for s in scenarios.iter().take(16) {
        let location = sources.location(s.span);
        let _ = scenario::run(p, s, location, &mut coverage);
    }
    let _ = coverage.report(p);
});
