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
