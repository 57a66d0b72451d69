//! The group closures every instance follows: read from the store when the
//! server starts and every [`EVERY`] after, so `switchboard close` (or the
//! admin page) on any instance, or from a terminal, reaches new calls on
//! all of them within a second, without a reload.
//!
//! A read that fails keeps the closures last read (a closure ends by its
//! own time whatever happens) and is logged once until reads succeed again.

use super::AppState;
use crate::routing::Closures;
use arc_swap::ArcSwap;
use std::sync::Arc;
use std::time::Duration;

/// How often the closures are read again.
pub const EVERY: Duration = Duration::from_millis(500);

/// The closures as last read.
#[derive(Debug, Default)]
pub(super) struct Followed {
    current: ArcSwap<Closures>,
    /// The last read failed (so the next failure is not logged again).
    failing: std::sync::atomic::AtomicBool,
    /// Held through a read and its store, so an older read never replaces
    /// a newer one (a refresh right after an admin's change would otherwise
    /// lose to a background read begun before it).
    reading: tokio::sync::Mutex<()>,
}

impl Followed {
    /// The closures as last read.
    pub(super) fn current(&self) -> Arc<Closures> {
        self.current.load_full()
    }
}

impl AppState {
    /// Read the closures from the store now (at start, and right after an
    /// admin changed one here).
    pub async fn refresh_closures(&self) {
        let followed = &self.inner.closures;
        let _one_at_a_time = followed.reading.lock().await;
        match self.store().closures(self.now()).await {
            Ok(c) => {
                if followed
                    .failing
                    .swap(false, std::sync::atomic::Ordering::Relaxed)
                {
                    tracing::info!("group closures are read from the store again");
                }
                followed.current.store(Arc::new(c));
            }
            Err(e) => {
                if !followed
                    .failing
                    .swap(true, std::sync::atomic::Ordering::Relaxed)
                {
                    tracing::warn!(
                        "cannot read group closures from the store, the ones last read stay in force until it answers again: {e}"
                    );
                }
            }
        }
    }

    /// Read the closures again every [`EVERY`], for as long as the server runs.
    pub(super) async fn follow_closures(self) {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.refresh_closures().await;
        }
    }
}
