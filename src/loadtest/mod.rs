//! `switchboard loadtest`: capacity planning before go-live. Plays N calls at
//! concurrency C against a running server exactly as a provider would
//! (Twilio by default, or any other with `--provider`) — signed form posts,
//! following the action URLs in the documents we answer with, random keys,
//! queue and dial results — then reports throughput and latency, and checks
//! in the store that every call ended with its event log written.
//!
//! Against several instances sharing one database ([`Targets`]), each call's
//! requests go to them in turn, the action URLs of each answer moved onto
//! the next instance: every callback reaches an instance whose memory of
//! the call is behind, so what is exercised is reading the call afresh and
//! the database's optimistic step check, not one instance's cache.
//!
//! Only ever point it at your own servers (loopback or a test network).

mod dialect;

use crate::provider::capability::Kind;
#[cfg(test)]
use dialect::Wait;
pub use dialect::key_problem;
use dialect::{Post, next_wait};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The servers under test: one base URL, or several instances over one
/// database. Never empty; each URL is an `http://` or `https://` base with
/// a host and no query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Targets {
    /// Each server's base URL as given, without a trailing `/`.
    bases: Vec<String>,
}

/// Why a list of targets was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    /// No URL at all.
    #[error(
        "no target given: name the server's base URL, e.g. http://127.0.0.1:8080 (several instances: separate them with commas)"
    )]
    Empty,
    /// Not a base URL this can post to.
    #[error("`{url}` is not a server's base URL ({why}): write one like http://127.0.0.1:8080")]
    NotBase {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        why: String,
    },
}

impl Targets {
    /// The servers at `bases` (each like `http://127.0.0.1:8080`).
    pub fn new<S: AsRef<str>>(bases: impl IntoIterator<Item = S>) -> Result<Targets, TargetError> {
        let bases = bases
            .into_iter()
            .map(|b| {
                let b = b.as_ref().trim();
                check_base(b)?;
                Ok(b.trim_end_matches('/').to_owned())
            })
            .collect::<Result<Vec<_>, _>>()?;
        if bases.is_empty() {
            return Err(TargetError::Empty);
        }
        Ok(Targets { bases })
    }

    /// The base URLs, in the order their turns come.
    pub fn bases(&self) -> &[String] {
        &self.bases
    }

    /// The targets that are not on this machine (loopback or `localhost`),
    /// as given.
    pub fn not_local(&self) -> Vec<&str> {
        self.bases
            .iter()
            .map(String::as_str)
            .filter(|b| !is_local(b))
            .collect()
    }

    /// Where call `k`'s requests go: its first to server `k mod n`, each
    /// next one to the next server (round robin within the call).
    fn route(&self, k: usize) -> Route<'_> {
        Route {
            bases: &self.bases,
            next: k % self.bases.len(),
        }
    }
}

/// A comma-separated list, as `--target` takes it (empty entries, as a
/// trailing comma makes, are skipped).
impl std::str::FromStr for Targets {
    type Err = TargetError;

    fn from_str(list: &str) -> Result<Targets, TargetError> {
        Targets::new(list.split(',').filter(|b| !b.trim().is_empty()))
    }
}

impl std::fmt::Display for Targets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.bases.join(","))
    }
}

/// Can `base` be posted to, with paths put after it?
fn check_base(base: &str) -> Result<(), TargetError> {
    let refuse = |why: &str| TargetError::NotBase {
        url: base.to_owned(),
        why: why.to_owned(),
    };
    let url = reqwest::Url::parse(base).map_err(|e| refuse(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refuse("only http:// and https:// are spoken"));
    }
    if url.host().is_none() {
        return Err(refuse("it names no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(refuse("a base URL has no query or fragment"));
    }
    Ok(())
}

/// Is `base` (checked by [`check_base`]) on this machine: `localhost` or
/// a loopback address? (The host as the URL parser reads it: `127.1` is
/// 127.0.0.1, and `127.evil.example` is a name, not an address.)
fn is_local(base: &str) -> bool {
    let Some(host) = reqwest::Url::parse(base)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
    else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// One call's turns over the servers: an endless round robin.
#[derive(Debug)]
struct Route<'a> {
    bases: &'a [String],
    next: usize,
}

impl<'a> Iterator for Route<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let base = self.bases.get(self.next % self.bases.len().max(1))?;
        self.next = self.next.wrapping_add(1);
        Some(base)
    }
}

/// An action URL that the server at `from` answered with (it points at
/// whichever instance answered, by the Host it was sent), moved onto the
/// server at `to`: what follows `from` in it, or else its path and query,
/// put after `to`. With `from` and `to` the same server, it is followed as
/// written, so one target follows the TwiML exactly (a `--public-url`
/// elsewhere included).
fn rebase(action: &str, from: &str, to: &str) -> String {
    if from == to {
        return action.to_owned();
    }
    let rest = match action.strip_prefix(from) {
        Some(r) if r.is_empty() || r.starts_with(['/', '?', '#']) => r,
        // Another spelling of the same server (`http://127.0.0.1/…` for
        // `http://127.0.0.1:80`), or its public URL: keep the path on.
        _ => match action.split_once("://") {
            Some((_, rest)) => rest.find(['/', '?', '#']).map_or("", |i| &rest[i..]),
            None => action,
        },
    };
    format!("{to}{rest}")
}

/// What to run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The servers: one base URL, e.g. `http://127.0.0.1:8080`, or several
    /// instances over one database, each call's requests going to them in
    /// turn.
    pub targets: Targets,
    /// Calls to place.
    pub calls: usize,
    /// Calls in flight at once.
    pub concurrency: usize,
    /// The provider to play (its routes, callbacks and signatures).
    pub provider: Kind,
    /// The provider's credential to sign with (none: unsigned): Twilio's
    /// auth token, Plivo's, SignalWire's signing key, the VoiceXML token,
    /// or for Telnyx the base64 seed of a test key pair ([`key_problem`]).
    pub token: Option<String>,
    /// The dialled number.
    pub to: String,
    /// Most callbacks per call before the caller hangs up.
    pub max_steps: usize,
    /// Seed for the random walks (and call ids).
    pub seed: u64,
    /// Most requests in flight at once, i.e. HTTP connections (0: one per
    /// call in flight).
    pub connections: usize,
    /// How long a caller listens before each answer (jittered by ±50%; the
    /// first call of each worker also starts at a random point within it).
    pub think: Duration,
    /// Requests per second to send at, as a Poisson process (none: each
    /// caller answers as soon as it has listened; a rate below
    /// [`MIN_RATE`] or not finite is ignored likewise, and the CLI refuses
    /// it).
    /// Callers that are ready wait for the next start time; latency then
    /// counts the wait for a connection.
    pub rate: Option<f64>,
}

/// What happened.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Report {
    /// Calls placed.
    pub calls: usize,
    /// HTTP requests sent (new calls, callbacks, status callbacks).
    pub requests: usize,
    /// Requests that failed (transport error or a non-2xx status).
    pub errors: usize,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Requests per second.
    pub per_second: f64,
    /// Latency percentiles in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
    /// With a rate: requests sent more than 2 ms after their start time,
    /// timed from when they were sent (the schedule then moves on from
    /// there rather than catching up). No caller was ready in time:
    /// too few callers for the rate (more `concurrency` or less `think`),
    /// calls ramping up or draining at the start and end of a run, callers
    /// tied up by a server too slow for the rate, or this end running
    /// behind. Latency figures understate the server's when this is more
    /// than a percent or so of the requests.
    pub late: usize,
    /// Call ids placed, to check in the store.
    #[serde(skip)]
    pub call_ids: Vec<String>,
}

struct Tally {
    latencies: Mutex<Vec<Duration>>,
    errors: AtomicUsize,
    connections: Option<tokio::sync::Semaphore>,
    pacer: Option<Pacer>,
    late: AtomicUsize,
}

/// Start times at a fixed mean rate: a Poisson process, as many independent
/// callers make, rather than evenly spaced requests, which would hide the
/// bursts a server must absorb.
struct Pacer {
    start: Instant,
    rate: f64,
    /// Seconds from `start` to the next start time, and the gaps' source.
    next: std::sync::Mutex<(f64, fastrand::Rng)>,
}

/// The lowest `Plan::rate`: one request every 100 s.
pub const MIN_RATE: f64 = 0.01;

/// Sent later than this after its start time, a request counts as late
/// (the timer alone wakes up to a millisecond late).
const SLACK: Duration = Duration::from_millis(2);

impl Pacer {
    fn new(rate: f64, seed: u64) -> Pacer {
        Pacer {
            start: Instant::now(),
            rate,
            next: std::sync::Mutex::new((0.0, fastrand::Rng::with_seed(seed))),
        }
    }

    /// The next start time, for a caller ready at `now`: the previous one
    /// plus an exponential gap, and whether that had passed by more than
    /// [`SLACK`]. Then no caller was ready for it, and the schedule moves
    /// on from `now`: independent callers do not make up for the calls
    /// nobody made, and sending the missed ones at once would be a burst
    /// of this end's making.
    fn next(&self, now: Instant) -> (Instant, bool) {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let (at, rng) = &mut *next;
        let now = now.saturating_duration_since(self.start).as_secs_f64();
        let missed = *at + SLACK.as_secs_f64() < now;
        if missed {
            *at = now;
        }
        let due = *at;
        // 1 - [0, 1) is in (0, 1], so the logarithm is finite.
        *at += -(1.0 - rng.f64()).ln() / self.rate;
        (self.start + Duration::from_secs_f64(due), missed)
    }
}

async fn post(client: &reqwest::Client, plan: &Plan, req: Post, tally: &Tally) -> Option<String> {
    let Post { url, params } = req;
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish();
    let headers = match &plan.token {
        Some(t) => dialect::sign_headers(
            plan.provider,
            t,
            &url,
            &params,
            &body,
            jiff::Timestamp::now().as_second(),
        ),
        None => Vec::new(),
    };
    let mut req = client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    // At a rate, wait for the request's start time, then start the clock
    // before taking a connection: a server that falls behind keeps the
    // connections busy and is charged for the wait. (Not at `due` itself:
    // the timer wakes on whole milliseconds, this end's delay.) A start
    // time missed by more than the slack — no caller was ready for it, or
    // this end woke late — is counted as late: the request goes out at
    // once and is timed from then, so the report's latencies hold only
    // while few requests are late (see `Report::late`).
    let paced = match &tally.pacer {
        Some(p) => {
            let (due, missed) = p.next(Instant::now());
            if Instant::now() < due {
                tokio::time::sleep_until(due.into()).await;
            }
            let now = Instant::now();
            if missed || now > due + SLACK {
                tally.late.fetch_add(1, Ordering::Relaxed);
            }
            Some(now)
        }
        None => None,
    };
    // Without a rate, wait for a free connection before the clock starts:
    // the latency is the server's, not the queue's at this end.
    let _slot = match &tally.connections {
        Some(c) => c.acquire().await.ok(),
        None => None,
    };
    let start = paced.unwrap_or_else(Instant::now);
    let result = match req.send().await {
        Ok(r) if r.status().is_success() => r.text().await.ok(),
        _ => None,
    };
    let took = start.elapsed();
    tally.latencies.lock().await.push(took);
    if result.is_none() {
        tally.errors.fetch_add(1, Ordering::Relaxed);
    }
    result
}

async fn one_call(client: &reqwest::Client, plan: &Plan, i: usize, tally: &Tally) -> String {
    // Runs with other seeds place other calls (call i of seed s is not call
    // i + 1 of seed s - 1), so runs against one database never collide.
    let mut rng = fastrand::Rng::with_seed(
        plan.seed
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .wrapping_add(i as u64),
    );
    // Shaped like the provider's, in no particular order.
    let kind = plan.provider;
    let sid = dialect::call_id(kind, rng.u64(..), rng.u64(..));
    let from = format!("+1555{:07}", rng.u32(0..10_000_000));
    let mut route = plan.targets.route(i);
    let mut next_base = || route.next().unwrap_or_default();
    // The server that answered the last request, whose action URLs point at it.
    let mut answered = next_base();
    let mut doc = post(
        client,
        plan,
        dialect::new_call(kind, answered, &sid, &from, &plan.to),
        tally,
    )
    .await;
    for _ in 0..plan.max_steps {
        let Some(d) = doc.take() else { break };
        think(plan.think, &mut rng, 0.5).await;
        let mut pick = |n: usize| rng.usize(0..n.max(1));
        let Some(mut next) = dialect::answer(kind, &sid, next_wait(kind, &d), &mut pick) else {
            break;
        };
        let to = next_base();
        next.url = rebase(&next.url, answered, to);
        answered = to;
        doc = post(client, plan, next, tally).await;
    }
    let _ = post(
        client,
        plan,
        dialect::status(kind, next_base(), &sid),
        tally,
    )
    .await;
    sid
}

/// Wait `think` × a random factor in `[1 - jitter, 1 + jitter)`.
async fn think(think: Duration, rng: &mut fastrand::Rng, jitter: f64) {
    if !think.is_zero() {
        let factor = 1.0 - jitter + 2.0 * jitter * rng.f64();
        tokio::time::sleep(think.mul_f64(factor)).await;
    }
}

/// Run the plan.
pub async fn run(plan: Plan) -> Report {
    let connections = match plan.connections {
        0 => plan.concurrency,
        n => n.min(plan.concurrency),
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .unwrap_or_default();
    let tally = Arc::new(Tally {
        latencies: Mutex::new(Vec::with_capacity(plan.calls * 6)),
        errors: AtomicUsize::new(0),
        connections: (connections < plan.concurrency)
            .then(|| tokio::sync::Semaphore::new(connections)),
        pacer: plan
            .rate
            .filter(|r| r.is_finite() && *r >= MIN_RATE)
            // Not call 0's seed: the gaps would replay its random walk.
            .map(|r| Pacer::new(r, plan.seed ^ 0x9e37_79b9_7f4a_7c15)),
        late: AtomicUsize::new(0),
    });
    let next = Arc::new(AtomicUsize::new(0));
    let plan = Arc::new(plan);
    let started = Instant::now();
    let workers: Vec<_> = (0..plan.concurrency.max(1))
        .map(|w| {
            let (client, tally, next, plan) =
                (client.clone(), tally.clone(), next.clone(), plan.clone());
            tokio::spawn(async move {
                // Spread the first calls over one think time, not all at once.
                let mut rng = fastrand::Rng::with_seed(plan.seed ^ (w as u64).rotate_left(32));
                think(plan.think, &mut rng, 1.0).await;
                let mut ids = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= plan.calls {
                        return ids;
                    }
                    ids.push(one_call(&client, &plan, i, &tally).await);
                }
            })
        })
        .collect();
    let mut call_ids = Vec::with_capacity(plan.calls);
    for w in workers {
        call_ids.extend(w.await.unwrap_or_default());
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut latencies = std::mem::take(&mut *tally.latencies.lock().await);
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Report {
        calls: plan.calls,
        requests: latencies.len(),
        errors: tally.errors.load(Ordering::Relaxed),
        seconds,
        per_second: latencies.len() as f64 / seconds.max(1e-9),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        late: tally.late.load(Ordering::Relaxed),
        call_ids,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paced_start_times_form_a_poisson_process_at_the_rate() {
        let rate = 10_000.0;
        let pacer = Pacer::new(rate, 42);
        // Callers always ready early: no start time is missed.
        let offsets: Vec<f64> = (0..20_000)
            .map(|_| {
                let (due, missed) = pacer.next(pacer.start);
                assert!(!missed);
                (due - pacer.start).as_secs_f64()
            })
            .collect();
        let gaps: Vec<f64> = offsets.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|g| *g >= 0.0), "start times never go back");
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        assert!((mean * rate - 1.0).abs() < 0.03, "mean gap {mean}");
        // Exponential gaps, not even ones: 1 - 1/e of them are shorter than
        // the mean, and one in e^3 (5%) longer than three times it.
        let share = |f: &dyn Fn(f64) -> bool| {
            gaps.iter().filter(|g| f(**g)).count() as f64 / gaps.len() as f64
        };
        let shorter = share(&|g| g < mean);
        assert!(
            (shorter - (1.0 - (-1.0f64).exp())).abs() < 0.02,
            "{shorter}"
        );
        let long = share(&|g| g > 3.0 * mean);
        assert!((long - (-3.0f64).exp()).abs() < 0.01, "{long}");
    }

    #[test]
    fn missed_start_times_are_skipped_not_made_up() {
        let pacer = Pacer::new(1000.0, 7);
        let (first, missed) = pacer.next(pacer.start);
        assert_eq!((first, missed), (pacer.start, false));
        // Nobody was ready for a second: the next start time is now, and
        // the one after follows it by a gap, not a backlog sent at once.
        let late = pacer.start + Duration::from_secs(1);
        let (due, missed) = pacer.next(late);
        assert!(missed);
        assert_eq!(due, late);
        let (after, missed) = pacer.next(late);
        assert!(!missed, "the schedule is on time again");
        assert!(after >= late, "{after:?} before {late:?}");
    }

    #[test]
    fn each_call_starts_on_its_own_instance_and_takes_them_in_turn() {
        let targets: Targets = "http://127.0.0.1:1/,http://127.0.0.1:2,http://localhost:3"
            .parse()
            .unwrap();
        let (a, b, c) = (
            "http://127.0.0.1:1",
            "http://127.0.0.1:2",
            "http://localhost:3",
        );
        assert_eq!(targets.bases(), [a, b, c], "trailing slashes dropped");
        assert_eq!(targets.route(0).take(4).collect::<Vec<_>>(), [a, b, c, a]);
        assert_eq!(targets.route(4).take(4).collect::<Vec<_>>(), [b, c, a, b]);
        let one = Targets::new(["http://127.0.0.1:8080"]).unwrap();
        assert!(one.route(7).take(3).all(|t| t == "http://127.0.0.1:8080"));
        assert_eq!(targets.to_string(), format!("{a},{b},{c}"));
    }

    #[test]
    fn action_urls_move_onto_the_next_instance() {
        let (a, b) = ("http://127.0.0.1:18080", "http://127.0.0.1:18090");
        let step = "/twilio/step?call=CA1&s=2";
        assert_eq!(rebase(&format!("{a}{step}"), a, b), format!("{b}{step}"));
        // The Host an instance was reached by, spelled without its default
        // port, or a public URL elsewhere: the path and query move on.
        assert_eq!(
            rebase(&format!("http://127.0.0.1{step}"), "http://127.0.0.1:80", b),
            format!("{b}{step}")
        );
        assert_eq!(
            rebase(&format!("https://ivr.example.com{step}"), a, b),
            format!("{b}{step}")
        );
        // A base with a path: what follows it moves.
        assert_eq!(
            rebase(
                "http://h:1/ivr/twilio/step?s=1",
                "http://h:1/ivr",
                "http://h:2/ivr"
            ),
            "http://h:2/ivr/twilio/step?s=1"
        );
        assert_eq!(
            rebase("http://h:10/twilio/step", "http://h:1", "http://h:2"),
            "http://h:2/twilio/step",
            "h:10 is not under h:1"
        );
        // The same instance (one target): followed exactly as written.
        let elsewhere = format!("https://ivr.example.com{step}");
        assert_eq!(rebase(&elsewhere, a, a), elsewhere);
    }

    #[test]
    fn only_targets_on_this_machine_are_local_and_every_one_is_checked() {
        let t: Targets = "http://127.0.0.1:1,http://[::1]:2,http://LOCALHOST:3,http://127.1:4"
            .parse()
            .unwrap();
        assert!(t.not_local().is_empty(), "{:?}", t.not_local());
        let t: Targets =
            "http://127.0.0.1:1,http://127.evil.example:2,https://10.0.0.5,http://localhost.example"
                .parse()
                .unwrap();
        assert_eq!(
            t.not_local(),
            [
                "http://127.evil.example:2",
                "https://10.0.0.5",
                "http://localhost.example"
            ]
        );
    }

    #[test]
    fn a_target_that_is_no_base_url_says_what_to_write() {
        assert_eq!("".parse::<Targets>(), Err(TargetError::Empty));
        assert_eq!(" , ".parse::<Targets>(), Err(TargetError::Empty));
        for bad in [
            "127.0.0.1:8080",
            "ftp://127.0.0.1",
            "http://127.0.0.1:1,nonsense",
            "http://127.0.0.1:1/?x=1",
        ] {
            let e = bad.parse::<Targets>().unwrap_err().to_string();
            assert!(e.contains("like http://127.0.0.1:8080"), "{bad}: {e}");
        }
        let e = "http://127.0.0.1:1,nonsense"
            .parse::<Targets>()
            .unwrap_err();
        assert!(e.to_string().contains("`nonsense`"), "{e}");
    }

    #[test]
    fn finds_the_waiting_verb_and_its_action() {
        let gather = r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say>Hi</Say><Gather action="http://x/twilio/step?call=C&amp;s=1"><Say>Press 1</Say></Gather><Redirect>http://x/n</Redirect></Response>"#;
        assert_eq!(
            next_wait(Kind::Twilio, gather),
            Wait::Gather("http://x/twilio/step?call=C&s=1".into())
        );
        assert_eq!(
            next_wait(
                Kind::Twilio,
                r#"<Response><Enqueue action="a" waitUrl="w">q</Enqueue></Response>"#
            ),
            Wait::Enqueue("a".into())
        );
        assert_eq!(
            next_wait(Kind::Twilio, "<Response><Say>Bye</Say><Hangup/></Response>"),
            Wait::Hangup
        );
        assert_eq!(next_wait(Kind::Twilio, "not xml <"), Wait::Hangup);
    }
}
