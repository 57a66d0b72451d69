//! Reports: what the stored calls say, for `switchboard report`, the admin
//! page and the metrics. [`facts`] works out, as each call ends, the
//! figures the store keeps for it; [`figures`] adds up the store's rows
//! for a period into a [`Report`]; [`render`] prints it.

pub mod facts;
pub mod figures;
pub mod render;

pub use facts::{CallFacts, Class, QueueFact, facts};
pub use figures::{Report, Scope};
