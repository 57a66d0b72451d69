//! Reports: what the stored calls say, for `switchboard report`, the admin
//! page and the metrics. [`facts`] works out, as each call ends, the
//! figures the store keeps for them.

pub mod facts;

pub use facts::{CallFacts, Class, QueueFact, facts};
