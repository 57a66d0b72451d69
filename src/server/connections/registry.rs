//! The open connections and what is known of each: requests in flight,
//! since when it has waited for a request, since when a request's headers
//! have been arriving. From that follow when each connection expires and,
//! at the cap, which to close first. It must not do IO beyond its timer.

use super::Limits;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::*};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};

/// "No request is reading its headers."
const NOT_READING: u64 = u64::MAX;

/// What the server knows of one connection. Times are milliseconds since
/// the registry's start. The values are read by this connection's timer
/// and by the registry choosing whom to shed; nothing else is published
/// through them.
#[derive(Debug)]
pub(super) struct Record {
    pub(super) id: u64,
    epoch: Instant,
    /// Requests whose headers have arrived and whose response body has
    /// not yet been dropped.
    pub(super) in_flight: AtomicU32,
    /// Since when it has been waiting for a request (its start, or the end
    /// of its last request).
    idle_since: AtomicU64,
    /// When the first byte of the request being read arrived, or
    /// [`NOT_READING`].
    reading_since: AtomicU64,
    /// Whether it has been asked to close.
    closing: AtomicBool,
    /// Wakes its task when it is asked to close.
    pub(super) close: Notify,
}

impl Record {
    fn new(id: u64, epoch: Instant) -> Self {
        Record {
            id,
            epoch,
            in_flight: AtomicU32::new(0),
            idle_since: AtomicU64::new(millis(epoch, Instant::now())),
            reading_since: AtomicU64::new(NOT_READING),
            closing: AtomicBool::new(false),
            close: Notify::new(),
        }
    }

    fn now(&self) -> u64 {
        millis(self.epoch, Instant::now())
    }

    /// The instant `at` milliseconds after the registry's start.
    fn instant(&self, at: u64) -> Instant {
        self.epoch + Duration::from_millis(at)
    }

    /// Bytes arrived: if no request is being read or served, one begins.
    pub(super) fn bytes_arrived(&self) {
        if self.reading_since.load(Relaxed) == NOT_READING && self.in_flight.load(Acquire) == 0 {
            let _ = self
                .reading_since
                .compare_exchange(NOT_READING, self.now(), Relaxed, Relaxed);
        }
    }

    /// When this connection expires and why, as things stand (`None` while
    /// a request is in flight).
    fn deadline(&self, limits: &Limits) -> Option<(u64, &'static str)> {
        if self.in_flight.load(Acquire) > 0 {
            return None;
        }
        match self.reading_since.load(Relaxed) {
            NOT_READING => Some((
                self.idle_since
                    .load(Relaxed)
                    .saturating_add(as_millis(limits.idle_timeout)),
                "idle for the idle timeout",
            )),
            since => Some((
                since.saturating_add(as_millis(limits.header_timeout)),
                "headers not complete within the header timeout",
            )),
        }
    }

    /// Ask the connection's task to close it; whether this was news.
    fn ask_to_close(&self) -> bool {
        let news = !self.closing.swap(true, Relaxed);
        if news {
            self.close.notify_one();
        }
        news
    }
}

fn millis(epoch: Instant, at: Instant) -> u64 {
    as_millis(at.saturating_duration_since(epoch))
}

fn as_millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// One request in flight on a connection, from its headers until its
/// response body is dropped (sent whole, or the connection gone).
pub(super) struct InFlight(Arc<Record>);

impl InFlight {
    pub(super) fn begin(record: &Arc<Record>) -> Self {
        record.in_flight.fetch_add(1, Relaxed);
        InFlight(record.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let r = &self.0;
        r.idle_since.store(r.now(), Relaxed);
        r.reading_since.store(NOT_READING, Relaxed);
        // Release: whoever sees the connection idle sees when it became so.
        r.in_flight.fetch_sub(1, Release);
    }
}

/// Resolves when a connection has expired, with why.
///
/// Its timer is never set later than a header timeout ahead, so no
/// deadline that arises meanwhile can come before it: a request's end
/// only moves the idle deadline later, and a request's first byte sets a
/// header deadline a full header timeout away. So no request ever moves
/// the timer (that would cost the hot path a timer-wheel update or two);
/// when it fires, this reads the record again and either resolves or sets
/// it for the next deadline, at most a header timeout ahead.
pub(super) struct Expiry {
    record: Arc<Record>,
    limits: Limits,
    sleep: Pin<Box<Sleep>>,
}

impl Expiry {
    pub(super) fn new(record: Arc<Record>, limits: Limits) -> Self {
        let at = next_wake(&record, &limits, record.now());
        Expiry {
            sleep: Box::pin(tokio::time::sleep_until(record.instant(at))),
            record,
            limits,
        }
    }
}

/// When to look again: the connection's deadline, but no later than a
/// header timeout from `now` (see [`Expiry`]).
fn next_wake(record: &Record, limits: &Limits, now: u64) -> u64 {
    let soonest = now.saturating_add(as_millis(limits.header_timeout).max(1));
    record
        .deadline(limits)
        .map_or(soonest, |(at, _)| at.min(soonest))
}

impl Future for Expiry {
    type Output = &'static str;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        let this = self.get_mut();
        loop {
            ready!(this.sleep.as_mut().poll(cx));
            let now = this.record.now();
            if let Some((at, why)) = this.record.deadline(&this.limits)
                && at <= now
            {
                return Poll::Ready(why);
            }
            let at = next_wake(&this.record, &this.limits, now);
            this.sleep.as_mut().reset(this.record.instant(at));
        }
    }
}

/// The open connections, by id (ids count up: the smaller, the older).
#[derive(Debug)]
pub(super) struct Registry {
    epoch: Instant,
    cap: usize,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    next: u64,
    conns: HashMap<u64, Arc<Record>>,
    /// How many of `conns` have been asked to close.
    closing: usize,
}

impl Open {
    fn close(&mut self, ids: &[u64]) -> usize {
        let mut closed = 0;
        for id in ids {
            if self.conns.get(id).is_some_and(|r| r.ask_to_close()) {
                self.closing += 1;
                closed += 1;
            }
        }
        closed
    }
}

impl Registry {
    pub(super) fn new(cap: usize) -> Self {
        Registry {
            epoch: Instant::now(),
            cap: cap.max(1),
            open: Mutex::new(Open::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Open> {
        // Nothing panics while holding it; if something did, the map is
        // still whole.
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Register a new connection, closing the idlest to stay under the cap:
    /// the new one's record and whether one was shed; `None` when the cap
    /// is reached and every connection is busy.
    pub(super) fn admit(&self) -> Option<(Arc<Record>, bool)> {
        let mut open = self.lock();
        let mut shed = false;
        if open.conns.len().saturating_sub(open.closing) >= self.cap {
            let victims = idlest(&open.conns, 1);
            if open.close(&victims) == 0 {
                return None;
            }
            shed = true;
        }
        let id = open.next;
        open.next += 1;
        let record = Arc::new(Record::new(id, self.epoch));
        open.conns.insert(id, record.clone());
        Some((record, shed))
    }

    /// Close up to `n` of the idlest connections; how many.
    pub(super) fn shed(&self, n: usize) -> usize {
        let mut open = self.lock();
        let victims = idlest(&open.conns, n);
        open.close(&victims)
    }

    /// Ask every connection to close (idle ones at once, busy ones after
    /// their answer); how many are open.
    pub(super) fn close_all(&self) -> usize {
        let mut open = self.lock();
        let ids: Vec<u64> = open.conns.keys().copied().collect();
        open.close(&ids);
        open.conns.len()
    }

    pub(super) fn open(&self) -> usize {
        self.lock().conns.len()
    }

    fn remove(&self, id: u64) {
        let mut open = self.lock();
        if let Some(r) = open.conns.remove(&id)
            && r.closing.load(Relaxed)
        {
            open.closing = open.closing.saturating_sub(1);
        }
    }
}

/// The `n` connections to close first: those with no request in flight and
/// not already closing, the longest idle first (the oldest of equals).
fn idlest(conns: &HashMap<u64, Arc<Record>>, n: usize) -> Vec<u64> {
    let candidates = conns
        .values()
        .filter(|r| r.in_flight.load(Acquire) == 0 && !r.closing.load(Relaxed))
        .map(|r| (r.idle_since.load(Relaxed), r.id));
    if n == 1 {
        return candidates.min().map(|(_, id)| id).into_iter().collect();
    }
    let mut all: Vec<_> = candidates.collect();
    if all.len() > n {
        all.select_nth_unstable(n);
        all.truncate(n);
    }
    all.into_iter().map(|(_, id)| id).collect()
}

/// Takes a connection out of the registry when its task ends, however.
pub(super) struct Registered {
    pub(super) registry: Arc<Registry>,
    pub(super) id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.registry.remove(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        header_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(30),
        max_connections: 4,
    };

    /// A record idle since `idle_since` ms, with `in_flight` requests.
    fn record(id: u64, idle_since: u64, in_flight: u32) -> Arc<Record> {
        let r = Record::new(id, Instant::now());
        r.idle_since.store(idle_since, Relaxed);
        r.in_flight.store(in_flight, Relaxed);
        Arc::new(r)
    }

    fn conns(records: &[Arc<Record>]) -> HashMap<u64, Arc<Record>> {
        records.iter().map(|r| (r.id, r.clone())).collect()
    }

    #[test]
    fn the_longest_idle_connection_is_shed_first_and_one_in_flight_never() {
        let all = conns(&[
            record(0, 100, 1), // the longest without a request, but busy
            record(1, 500, 0),
            record(2, 300, 0),
            record(3, 300, 0),
            record(4, 200, 0),
        ]);
        assert_eq!(idlest(&all, 1), [4]);
        let mut three = idlest(&all, 3);
        three.sort_unstable();
        assert_eq!(three, [2, 3, 4], "the three idlest, equals by age");
        assert_eq!(idlest(&all, 9).len(), 4, "every idle one, and only those");
        all[&4].ask_to_close();
        assert_eq!(
            idlest(&all, 1),
            [2],
            "not one already closing; of equals the older"
        );
    }

    #[test]
    fn when_every_connection_is_busy_none_is_shed_and_a_new_one_is_refused() {
        let registry = Registry::new(2);
        let (a, shed) = registry.admit().unwrap();
        assert!(!shed);
        let (b, _) = registry.admit().unwrap();
        let _busy = (InFlight::begin(&a), InFlight::begin(&b));
        assert_eq!(idlest(&registry.lock().conns, 1), Vec::<u64>::new());
        assert!(registry.admit().is_none(), "refused, nobody cut");
        assert!(!a.closing.load(Relaxed) && !b.closing.load(Relaxed));
    }

    #[test]
    fn at_the_cap_each_new_connection_sheds_one_and_closing_ones_do_not_count() {
        let registry = Registry::new(2);
        let (a, _) = registry.admit().unwrap();
        let (b, _) = registry.admit().unwrap();
        // Idle since the same millisecond as the newcomers: by age.
        for r in [&a, &b] {
            r.idle_since.store(0, Relaxed);
        }
        let (c, shed) = registry.admit().unwrap();
        c.idle_since.store(0, Relaxed);
        assert!(shed && a.closing.load(Relaxed) && !b.closing.load(Relaxed));
        // `a` is still open until its task ends, but it is on its way out.
        let (_, shed) = registry.admit().unwrap();
        assert!(shed && b.closing.load(Relaxed) && !c.closing.load(Relaxed));
        registry.remove(a.id);
        registry.remove(b.id);
        assert_eq!(registry.lock().closing, 0);
        assert_eq!(registry.open(), 2);
    }

    #[test]
    fn a_connection_expires_idle_or_slow_but_never_with_a_request_in_flight() {
        let r = record(0, 1_000, 0);
        assert_eq!(r.deadline(&LIMITS).map(|d| d.0), Some(31_000));
        r.reading_since.store(2_000, Relaxed);
        assert_eq!(r.deadline(&LIMITS).map(|d| d.0), Some(12_000), "headers");
        let request = InFlight::begin(&r);
        assert_eq!(r.deadline(&LIMITS), None);
        r.bytes_arrived();
        drop(request);
        let (at, why) = r.deadline(&LIMITS).unwrap();
        assert!(at >= 30_000 && why.starts_with("idle"), "{at} {why}");
        r.bytes_arrived();
        assert!(r.deadline(&LIMITS).unwrap().1.starts_with("headers"));
    }

    /// Await `expiry` (in paused time): how long after `start` it
    /// resolved, and why.
    async fn expires(expiry: &mut Expiry, start: Instant) -> (Duration, &'static str) {
        let why = tokio::time::timeout(Duration::from_secs(3600), expiry)
            .await
            .expect("expires within the hour");
        (start.elapsed(), why)
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_expires_exactly_at_its_deadline_whatever_happened_meanwhile() {
        let registry = Registry::new(4);
        let start = Instant::now();
        // Nothing at all: the idle timeout.
        let (quiet, _) = registry.admit().unwrap();
        let (after, why) = expires(&mut Expiry::new(quiet, LIMITS), start).await;
        assert_eq!(after, Duration::from_secs(30));
        assert!(why.starts_with("idle"), "{why}");
        // A first byte 5 s in: the header timeout from then, not the idle
        // timeout, though the timer was set before the byte came.
        let start = Instant::now();
        let (slow, _) = registry.admit().unwrap();
        let mut expiry = Expiry::new(slow.clone(), LIMITS);
        let waited = tokio::time::timeout(Duration::from_secs(5), &mut expiry).await;
        assert!(waited.is_err(), "not before its deadline");
        slow.bytes_arrived();
        let (after, why) = expires(&mut expiry, start).await;
        assert_eq!(after, Duration::from_secs(15));
        assert!(why.starts_with("headers"), "{why}");
        // A request in flight for an hour, then the idle timeout from its end.
        let start = Instant::now();
        let (busy, _) = registry.admit().unwrap();
        let mut expiry = Expiry::new(busy.clone(), LIMITS);
        let request = InFlight::begin(&busy);
        let waited = tokio::time::timeout(Duration::from_secs(3600), &mut expiry).await;
        assert!(waited.is_err(), "never while in flight");
        drop(request);
        let (after, why) = expires(&mut expiry, start).await;
        assert_eq!(after, Duration::from_secs(3630));
        assert!(why.starts_with("idle"), "{why}");
    }
}
