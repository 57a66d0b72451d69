//! The server's log as an operator reads it, at `debug`: it carries call
//! ids, flows and nodes, and a caller's number only masked — never a number
//! in clear, a typed entry or what a caller said.

use crate::server::play_demo_scenarios;
use crate::support::db::TestDb;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Everything logged, in one buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

/// One thread for the test, the server and the store, so the subscriber
/// set for this thread sees everything they log.
#[tokio::test(flavor = "current_thread")]
async fn a_debug_log_of_every_demo_scenario_holds_no_caller_data_in_clear() {
    let log = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
        .with_writer(log.clone())
        .with_ansi(false)
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);
    // Other tests' threads may have registered a callsite (as "never
    // interested", there being no subscriber then) while this one was being
    // set: have every callsite ask again, this subscriber included.
    tracing::callsite::rebuild_interest_cache();
    let played = play_demo_scenarios(&TestDb::sqlite()).await;
    drop(_logging);
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(played.scenarios >= 38, "{} played", played.scenarios);
    assert!(text.contains("a new call"), "the log was captured");
    for caller in &played.callers {
        assert!(
            !text.contains(caller.as_str()),
            "{caller} in clear in the log"
        );
        let masked = switchboard::privacy::masked_number(caller);
        assert!(
            text.contains(&masked),
            "{masked}: the masked number is logged"
        );
    }
    // Single keys are menu choices; longer entries are a caller's own.
    for entry in played
        .entries
        .iter()
        .filter(|e| e.trim_end_matches('#').len() >= 4)
    {
        let digits = entry.trim_end_matches('#');
        assert!(!text.contains(digits), "the entry {entry} in the log");
    }
    for said in &played.speech {
        assert!(!text.contains(said.as_str()), "speech {said:?} in the log");
    }
    assert!(
        !played.speech.is_empty() && played.entries.iter().any(|e| e.len() >= 4),
        "the scenarios do type entries and speak"
    );
}
