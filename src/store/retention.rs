//! How long stored calls are kept: the rows a purge removes ([`Removed`]),
//! how a purge paces its batches beside live calls ([`Pace`]), and the
//! background task that purges calls older than the retention period
//! ([`keep_for`]).

use super::{Store, StoreError};
use jiff::Timestamp;
use std::time::{Duration, Instant};

/// Most calls removed in one batch (one transaction).
pub const MOST: u32 = 500;

/// Fewest calls a paced batch shrinks to.
pub const FEWEST: u32 = 10;

/// Calls in a paced purge's first batch, before it has timed one.
pub const FIRST: u32 = 50;

/// How long a paced batch aims to hold the store's writer: a callback's
/// commit that arrives meanwhile waits at most about this long.
pub const TARGET: Duration = Duration::from_millis(4);

/// The shortest rest between two paced batches, for the callbacks' commits
/// to go first; a batch that took longer rests as long as it took.
pub const REST: Duration = Duration::from_millis(20);

/// How often the background task looks for calls past their retention.
pub const EVERY: Duration = Duration::from_secs(3600);

/// What a purge of the calls started before `$1` (Unix milliseconds)
/// would remove, the same SQL on both backends.
pub(super) const PURGEABLE_SQL: &str = "SELECT
    (SELECT COUNT(*) FROM calls WHERE started_at < $1),
    (SELECT COUNT(*) FROM steps WHERE call_id IN (SELECT id FROM calls WHERE started_at < $1)),
    (SELECT COUNT(*) FROM voicemails WHERE call_sid IN (SELECT call_sid FROM calls WHERE started_at < $1)),
    (SELECT COUNT(*) FROM callbacks WHERE call_sid IN (SELECT call_sid FROM calls WHERE started_at < $1)),
    (SELECT COUNT(*) FROM surveys WHERE call_sid IN (SELECT call_sid FROM calls WHERE started_at < $1)),
    (SELECT COUNT(*) FROM queue_waits WHERE call_id IN (SELECT id FROM calls WHERE started_at < $1)),
    (SELECT COUNT(*) FROM topics_heard WHERE call_id IN (SELECT id FROM calls WHERE started_at < $1))";

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
    /// `queue_waits` rows (what reports count of each queue wait).
    pub queue_waits: u64,
    /// `topics_heard` rows (the self-service answers heard).
    pub topics_heard: u64,
}

/// A backend's row of counts, in [`Removed`]'s field order.
pub(super) type Counts = (i64, i64, i64, i64, i64, i64, i64);

impl Removed {
    /// A backend's row of counts, in field order.
    pub(super) fn of_row(
        (calls, steps, voicemails, callbacks, surveys, queue_waits, topics_heard): Counts,
    ) -> Removed {
        let n = |v: i64| v.max(0) as u64;
        Removed {
            calls: n(calls),
            steps: n(steps),
            voicemails: n(voicemails),
            callbacks: n(callbacks),
            surveys: n(surveys),
            queue_waits: n(queue_waits),
            topics_heard: n(topics_heard),
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
            queue_waits: self.queue_waits + o.queue_waits,
            topics_heard: self.topics_heard + o.topics_heard,
        }
    }

    /// Nothing at all?
    pub fn is_empty(&self) -> bool {
        *self == Removed::default()
    }

    /// Each table with its count, in the order the tables are listed.
    pub fn tables(&self) -> [(&'static str, u64); 7] {
        [
            ("calls", self.calls),
            ("steps", self.steps),
            ("voicemails", self.voicemails),
            ("callbacks", self.callbacks),
            ("surveys", self.surveys),
            ("queue_waits", self.queue_waits),
            ("topics_heard", self.topics_heard),
        ]
    }
}

/// How a purge goes through its batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// Beside live calls (the background task, and `switchboard purge`,
    /// which may run beside a server): each batch sized from the last one's
    /// time to take about [`TARGET`], and a rest after it of at least
    /// [`REST`] and at least as long as it took, so a purge never has more
    /// than half the writer's time and a callback's commit never waits
    /// behind more than one short batch.
    Gentle,
    /// As fast as the store goes: [`MOST`] calls a batch, no rest (tests,
    /// and a store nothing else writes to).
    Full,
}

/// The size of a purge's next batch and the rest before it.
#[derive(Clone, Copy, Debug)]
struct Pacer {
    pace: Pace,
    limit: u32,
}

impl Pacer {
    fn new(pace: Pace) -> Pacer {
        let limit = match pace {
            Pace::Gentle => FIRST,
            Pace::Full => MOST,
        };
        Pacer { pace, limit }
    }

    /// After a batch of `calls` that took `took`: the rest before the
    /// next, whose size becomes `self.limit` (scaled toward [`TARGET`], at
    /// most doubled or halved at a time; a short last batch says nothing).
    fn after(&mut self, calls: u64, took: Duration) -> Duration {
        if self.pace == Pace::Full {
            return Duration::ZERO;
        }
        if calls >= u64::from(self.limit) || took > TARGET {
            let ratio = TARGET.as_secs_f64() / took.as_secs_f64().max(1e-6);
            let next = (f64::from(self.limit) * ratio.clamp(0.5, 2.0)).round();
            self.limit = (next as u32).clamp(FEWEST, MOST);
        }
        REST.max(took)
    }
}

/// Remove every call that started before `before`, batch by batch at
/// `pace`, and remember that calls before it are gone.
pub async fn purge(store: &Store, before: Timestamp, pace: Pace) -> Result<Removed, StoreError> {
    let mut total = Removed::default();
    let mut pacer = Pacer::new(pace);
    loop {
        let started = Instant::now();
        let removed = store.purge_batch(before, pacer.limit).await?;
        total = total.plus(removed);
        if removed.calls == 0 {
            break;
        }
        let rest = pacer.after(removed.calls, started.elapsed());
        if !rest.is_zero() {
            tokio::time::sleep(rest).await;
        }
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
        match purge(&store, before, Pace::Gentle).await {
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
    fn a_gentle_purge_sizes_its_batches_toward_the_target_and_rests_at_least_as_long() {
        let mut p = Pacer::new(Pace::Gentle);
        assert_eq!(p.limit, FIRST);
        // Quick batches grow, at most doubling.
        assert_eq!(p.after(50, Duration::from_millis(1)), REST);
        assert_eq!(p.limit, 100);
        // A batch at twice the target halves the next.
        assert_eq!(p.after(100, TARGET * 2), REST);
        assert_eq!(p.limit, 50);
        // A very slow batch halves it (no more), and the rest matches it.
        let slow = Duration::from_millis(300);
        assert_eq!(p.after(50, slow), slow);
        assert_eq!(p.limit, 25);
        for _ in 0..10 {
            p.after(u64::from(p.limit), slow);
        }
        assert_eq!(p.limit, FEWEST);
        for _ in 0..20 {
            p.after(u64::from(p.limit), Duration::ZERO);
        }
        assert_eq!(p.limit, MOST);
        // A short last batch that was quick says nothing about the size.
        p.after(3, Duration::ZERO);
        assert_eq!(p.limit, MOST);
    }

    #[test]
    fn a_full_purge_takes_the_most_every_time_without_rest() {
        let mut p = Pacer::new(Pace::Full);
        assert_eq!(p.after(500, Duration::from_secs(1)), Duration::ZERO);
        assert_eq!(p.limit, MOST);
    }

    #[test]
    fn removed_rows_add_up_table_by_table() {
        let a = Removed::of_row((1, 5, 0, 1, 1, 2, 0));
        let b = Removed::of_row((2, 9, 1, 0, 2, 1, 3));
        let sum = a.plus(b);
        assert_eq!(sum.tables()[0], ("calls", 3));
        assert_eq!(sum.tables()[1], ("steps", 14));
        assert!(!sum.is_empty() && Removed::default().is_empty());
    }
}
