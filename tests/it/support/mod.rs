//! Helpers shared by the integration tests.

pub(crate) mod db;
pub(crate) mod large;
pub(crate) mod pg;
pub(crate) mod proxy;
pub(crate) mod serving;
pub(crate) mod xml;

use std::path::Path;
use switchboard::compile::{self, Compiled};
use switchboard::diagnostic::{self, Style};
use switchboard::flow::{self, FlowSet};

/// Load and compile a directory (relative to the crate root).
pub(crate) fn check_dir(dir: &Path) -> (FlowSet, Compiled) {
    let set = flow::load_dir(dir).unwrap_or_else(|e| panic!("{e}"));
    let compiled = compile::compile(&set);
    (set, compiled)
}

/// The diagnostics as an admin sees them (no colour), for snapshots.
pub(crate) fn rendered(set: &FlowSet, compiled: &Compiled) -> String {
    diagnostic::render_text(&compiled.diagnostics, &set.sources, Style::Plain)
}

/// The tests' data key (`SWITCHBOARD_DATA_KEY`), fixed so stores opened
/// twice share it.
pub(crate) const DATA_KEY: &str = "c3dpdGNoYm9hcmQgdGVzdCBkYXRhIGtleSAzMiBieXQ=";

/// [`DATA_KEY`] as the store takes it.
pub(crate) fn data_key() -> switchboard::privacy::DataKeys {
    switchboard::privacy::DataKeys::parse(Some(DATA_KEY)).expect("the test key is a key")
}

/// The shipped demo flows, compiled.
pub(crate) fn demo() -> switchboard::program::Program {
    let set = switchboard::flow::load_dir(Path::new("flows")).unwrap();
    switchboard::compile::compile(&set).program.unwrap()
}

/// Monday 10:00 in New York: the demo's groups are open.
pub(crate) fn open_hours() -> switchboard::server::Clock {
    let at: jiff::Timestamp = "2026-03-02T15:00:00Z".parse().unwrap();
    std::sync::Arc::new(move || at)
}

/// Run the `switchboard` binary with `args`, without colour and with the
/// tests' data key.
pub(crate) fn switchboard(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("SWITCHBOARD_DATA_KEY", DATA_KEY)
        .output()
        .unwrap()
}
