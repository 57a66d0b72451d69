//! How long stored calls are kept: the rows a purge removes ([`Removed`]),
//! and the background task that purges calls older than the retention
//! period in small batches, pausing between them so callbacks are never
//! held up behind it ([`keep_for`]).

use super::{Store, StoreError};
use jiff::Timestamp;
use std::time::Duration;

/// Calls removed per batch: one short transaction each.
pub const BATCH: u32 = 500;

/// The pause between two batches of a background purge, for the callbacks'
/// commits to go first.
pub const PAUSE: Duration = Duration::from_millis(20);

/// How often the background task looks for calls past their retention.
pub const EVERY: Duration = Duration::from_secs(3600);

/// What a purge of the calls started before `$1` (Unix milliseconds)
/// would remove, the same SQL on both backends.
pub(super) const PURGEABLE_SQL: &str = "SELECT
    (SELECT COUNT(*) FROM calls WHERE started_at < $1),
    (SELECT COUNT(*) FROM steps WHERE call_id IN (SELECT id FROM calls WHERE started_at < $1)),
    (SELECT COUNT(*) FROM voicemails WHERE call_sid IN (SELECT call_sid FROM calls WHERE started_at < $1)),
    (SELECT COUNT(*) FROM callbacks WHERE call_sid IN (SELECT call_sid FROM calls WHERE started_at < $1)),
    (SELECT COUNT(*) FROM surveys WHERE call_sid IN (SELECT call_sid FROM calls WHERE started_at < $1))";

/// A finished purge: before, at, calls.
pub(super) const RECORD_SQL: &str =
    "INSERT INTO purges (purged_before, at, calls) VALUES ($1, $2, $3)";

/// The latest purge's cut-off.
pub(super) const PURGED_BEFORE_SQL: &str = "SELECT MAX(purged_before) FROM purges";

/// Rows removed (or that would be), table by table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Removed {
    /// `calls` rows.
    pub calls: u64,
    /// `steps` rows (each call's event log and states).
    pub steps: u64,
    /// `voicemails` rows.
    pub voicemails: u64,
    /// `callbacks` rows.
    pub callbacks: u64,
    /// `surveys` rows.
    pub surveys: u64,
}

impl Removed {
    /// A backend's row of counts, in field order.
    pub(super) fn of_row(
        (calls, steps, voicemails, callbacks, surveys): (i64, i64, i64, i64, i64),
    ) -> Removed {
        let n = |v: i64| v.max(0) as u64;
        Removed {
            calls: n(calls),
            steps: n(steps),
            voicemails: n(voicemails),
            callbacks: n(callbacks),
            surveys: n(surveys),
        }
    }

    /// Both counts added.
    pub fn plus(self, o: Removed) -> Removed {
        Removed {
            calls: self.calls + o.calls,
            steps: self.steps + o.steps,
            voicemails: self.voicemails + o.voicemails,
            callbacks: self.callbacks + o.callbacks,
            surveys: self.surveys + o.surveys,
        }
    }

    /// Nothing at all?
    pub fn is_empty(&self) -> bool {
        *self == Removed::default()
    }

    /// Each table with its count, in the order the tables are listed.
    pub fn tables(&self) -> [(&'static str, u64); 5] {
        [
            ("calls", self.calls),
            ("steps", self.steps),
            ("voicemails", self.voicemails),
            ("callbacks", self.callbacks),
            ("surveys", self.surveys),
        ]
    }
}

/// Remove every call that started before `before`, batch by batch with
/// `pause` between batches, and remember that calls before it are gone.
pub async fn purge(
    store: &Store,
    before: Timestamp,
    pause: Duration,
) -> Result<Removed, StoreError> {
    let mut total = Removed::default();
    loop {
        let removed = store.purge_batch(before, BATCH).await?;
        total = total.plus(removed);
        if removed.calls == 0 {
            break;
        }
        tokio::time::sleep(pause).await;
    }
    if !total.is_empty() {
        store
            .record_purge(before, Timestamp::now(), total.calls)
            .await?;
    }
    Ok(total)
}

/// The cut-off for a retention period at `now`.
pub fn cutoff(now: Timestamp, retention: Duration) -> Timestamp {
    let keep = jiff::SignedDuration::try_from(retention).unwrap_or(jiff::SignedDuration::MAX);
    now.checked_sub(keep).unwrap_or(Timestamp::MIN)
}

/// Purge calls older than `retention` now and every [`EVERY`] after,
/// until the store closes. Runs as a background task of `serve`.
pub async fn keep_for(store: Store, retention: impl Fn() -> Option<Duration> + Send) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(keep) = retention() else { continue };
        let before = cutoff(Timestamp::now(), keep);
        match purge(&store, before, PAUSE).await {
            Ok(r) if r.is_empty() => {
                tracing::debug!(%before, "no call is past its retention period")
            }
            Ok(r) => tracing::info!(
                %before,
                calls = r.calls,
                steps = r.steps,
                voicemails = r.voicemails,
                callbacks = r.callbacks,
                surveys = r.surveys,
                "purged the calls past their retention period"
            ),
            Err(StoreError::Closed) => return,
            Err(e) => tracing::error!(
                "could not purge the calls past their retention period (tried again in an hour): {e}"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoff_is_the_retention_before_now() {
        let now: Timestamp = "2026-12-02T00:00:00Z".parse().expect("a time");
        let cut = cutoff(now, Duration::from_secs(90 * 86400));
        assert_eq!(cut.to_string(), "2026-09-03T00:00:00Z");
        assert_eq!(cutoff(now, Duration::MAX), Timestamp::MIN);
    }

    #[test]
    fn removed_rows_add_up_table_by_table() {
        let a = Removed::of_row((1, 5, 0, 1, 1));
        let b = Removed::of_row((2, 9, 1, 0, 2));
        let sum = a.plus(b);
        assert_eq!(sum.tables()[0], ("calls", 3));
        assert_eq!(sum.tables()[1], ("steps", 14));
        assert!(!sum.is_empty() && Removed::default().is_empty());
    }
}
