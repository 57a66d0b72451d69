//! Integration tests, gathered into one test binary: lint fixtures, the
//! command line as an admin uses it, properties over arbitrary input, and the
//! large generated flow set.

mod cli;
mod docs;
mod large;
mod lints;
mod properties;
mod support;
