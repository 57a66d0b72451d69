//! Integration tests, gathered into one test binary: lint fixtures, the
//! command line as an admin uses it, connections as clients hold them,
//! properties over arbitrary input, what the fuzz targets found, the
//! recordings folder as clients reach it, and the large generated flow set.

// Helpers outside #[test] functions may unwrap too: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod admin_page;
mod browser;
mod callers;
mod cli;
mod connections;
mod crash;
mod disk;
mod docs;
mod faults;
mod files;
mod fuzzed;
mod instances;
mod large;
mod lints;
mod logs;
mod metrics;
mod postgres;
mod properties;
mod providers;
mod recordings;
mod reload;
mod report;
mod retention;
mod sensitive;
mod server;
mod store;
mod support;
mod twiml;
mod versions;
mod vxml;
