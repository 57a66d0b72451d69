//! Switchboard: an IVR and phone-tree call router.
//!
//! Flow files (`flows/*.toml`) are parsed by [`flow`], checked and compiled by
//! [`compile`] into an immutable [`program::Program`], and drawn by
//! [`diagram`]. Problems are collected as [`diagnostic::Diagnostic`]s with
//! stable codes and rendered once, for terminals or as JSON.
//!
//! The core (`flow`, `compile`, `program`, `routing`) does no IO beyond
//! `flow::load_dir`, which reads the directory it is given.

pub mod action;
pub mod compile;
pub mod diagnostic;
pub mod diagram;
pub mod engine;
pub mod flow;
pub mod loadtest;
pub mod privacy;
pub mod program;
pub mod provider;
pub mod report;
pub mod routing;
pub mod scenario;
pub mod schema;
pub mod server;
pub mod simulate;
pub mod source;
pub mod store;
