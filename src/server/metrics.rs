//! What the server tells a monitoring system, in Prometheus' text format at
//! `/metrics` (on the server's port, or on `--metrics-listen` instead):
//! callbacks by provider, route and result with their latency, signature
//! failures, store commits and batch sizes, live calls by flow and node,
//! queue entries, waits and abandons by group, reloads and the version
//! serving new calls. `docs/grafana-dashboard.json` is built on them.
//!
//! Labels name providers, routes, flows, nodes, groups and versions: never a
//! caller's number, a call id or anything a caller entered, so a scrape
//! holds nothing about any one caller.
//!
//! The recorder is process-wide (the `metrics` crate's global one), set up
//! once by [`handle`]; counters are written where things happen, and the
//! live-call gauges are computed from this instance's live calls at each
//! scrape.

use super::AppState;
use crate::engine::{CallState, QueueResult};
use crate::program::Program;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Callback requests answered: `provider`, `route`, `result`.
pub const CALLBACKS: &str = "switchboard_callbacks_total";
/// Seconds to answer a callback: `provider`, `route`.
pub const REQUEST_SECONDS: &str = "switchboard_request_duration_seconds";
/// Requests refused for a missing or wrong signature: `provider`.
pub const SIGNATURE_FAILURES: &str = "switchboard_signature_failures_total";
/// Seconds a step's commit took, `backend`, `result` (`ok`, `conflict`, `error`).
pub const COMMIT_SECONDS: &str = "switchboard_store_commit_duration_seconds";
/// Commits written together in one transaction: `backend`.
pub const BATCH_SIZE: &str = "switchboard_store_batch_size";
/// Calls live on this instance now: `flow`, `node`.
pub const LIVE_CALLS: &str = "switchboard_live_calls";
/// Calls started: `flow`.
pub const CALLS_STARTED: &str = "switchboard_calls_started_total";
/// Calls ended: `flow`, `class` (as reports class them).
pub const CALLS_ENDED: &str = "switchboard_calls_ended_total";
/// Callers who joined a group's queue: `group`.
pub const QUEUE_ENTRIES: &str = "switchboard_queue_entries_total";
/// Seconds a queue wait lasted, once over: `group`, `result`.
pub const QUEUE_WAIT_SECONDS: &str = "switchboard_queue_wait_seconds";
/// Callers who hung up waiting in a group's queue: `group`.
pub const QUEUE_ABANDONS: &str = "switchboard_queue_abandons_total";
/// Flow reloads: `result` (`installed`, `unchanged`, `refused`, `failed`).
pub const RELOADS: &str = "switchboard_reloads_total";
/// 1 for the flow version serving new calls, 0 for those it replaced: `version`.
pub const VERSION: &str = "switchboard_flow_version";

/// Every metric, for the docs and the dashboard's test.
pub const ALL: &[&str] = &[
    CALLBACKS,
    REQUEST_SECONDS,
    SIGNATURE_FAILURES,
    COMMIT_SECONDS,
    BATCH_SIZE,
    LIVE_CALLS,
    CALLS_STARTED,
    CALLS_ENDED,
    QUEUE_ENTRIES,
    QUEUE_WAIT_SECONDS,
    QUEUE_ABANDONS,
    RELOADS,
    VERSION,
];

/// Latency buckets (seconds): a callback is answered in milliseconds; the
/// answer deadline is seconds.
const LATENCY: &[f64] = &[
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Queue wait buckets (seconds), around the 20 s service level.
const WAITS: &[f64] = &[
    5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0,
];
/// Batch size buckets (commits per transaction).
const BATCHES: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's Prometheus recorder, installed on first use. If another
/// recorder was installed first (a test harness), this one renders what it
/// records itself: nothing, and says so once in the log.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = || {
            let b = PrometheusBuilder::new();
            b.set_buckets_for_metric(Matcher::Suffix("_duration_seconds".into()), LATENCY)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(QUEUE_WAIT_SECONDS.into()), WAITS)
                })
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full(BATCH_SIZE.into()), BATCHES))
                .unwrap_or_else(|_| PrometheusBuilder::new())
        };
        match builder().install_recorder() {
            Ok(h) => {
                describe();
                h
            }
            Err(e) => {
                tracing::warn!(
                    "metrics: another recorder is installed, /metrics shows none of ours: {e}"
                );
                builder().build_recorder().handle()
            }
        }
    })
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        CALLBACKS,
        "Callback requests answered, by provider, route and result"
    );
    describe_histogram!(REQUEST_SECONDS, Unit::Seconds, "Time to answer a callback");
    describe_counter!(
        SIGNATURE_FAILURES,
        "Requests refused for a missing or wrong signature"
    );
    describe_histogram!(
        COMMIT_SECONDS,
        Unit::Seconds,
        "Time to commit a step to the store"
    );
    describe_histogram!(
        BATCH_SIZE,
        Unit::Count,
        "Commits written in one transaction"
    );
    describe_gauge!(LIVE_CALLS, "Calls live on this instance, by flow and node");
    describe_counter!(CALLS_STARTED, "Calls started, by flow");
    describe_counter!(CALLS_ENDED, "Calls ended, by flow and class");
    describe_counter!(QUEUE_ENTRIES, "Callers who joined a group's queue");
    describe_histogram!(
        QUEUE_WAIT_SECONDS,
        Unit::Seconds,
        "Queue waits, once over, by group and result"
    );
    describe_counter!(
        QUEUE_ABANDONS,
        "Callers who hung up waiting in a group's queue"
    );
    describe_counter!(RELOADS, "Flow reloads, by result");
    describe_gauge!(VERSION, "1 for the flow version serving new calls");
}

/// How a handler answered, when its status code alone does not say
/// (an apology is a 200 with valid voice XML).
#[derive(Clone, Copy, Debug)]
pub(super) struct Answered(pub(super) &'static str);

/// Count and time every provider request (a route layer: the matched path
/// names provider and route).
pub(super) async fn track(req: Request, next: Next) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let (provider, route) = provider_route(&path);
    let started = Instant::now();
    let response = next.run(req).await;
    let result = match response.extensions().get::<Answered>() {
        Some(a) => a.0,
        None => result_of(response.status()),
    };
    metrics::counter!(CALLBACKS, "provider" => provider.clone(), "route" => route.clone(), "result" => result)
        .increment(1);
    metrics::histogram!(REQUEST_SECONDS, "provider" => provider, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// `/twilio/step` → (`twilio`, `step`).
fn provider_route(path: &str) -> (String, String) {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let provider = parts.next().filter(|p| !p.is_empty()).unwrap_or("none");
    let route = parts.next().unwrap_or("none");
    (provider.to_owned(), route.to_owned())
}

fn result_of(status: axum::http::StatusCode) -> &'static str {
    match status.as_u16() {
        200..=299 => "ok",
        400 => "bad_request",
        401 | 403 => "forbidden",
        413 => "too_large",
        429 | 503 => "retry_later",
        402 | 404..=412 | 414..=428 | 430..=499 => "rejected",
        _ => "error",
    }
}

/// A request refused for its signature.
pub(super) fn signature_failed(provider: &'static str) {
    metrics::counter!(SIGNATURE_FAILURES, "provider" => provider).increment(1);
}

/// A step's commit, timed.
pub(crate) fn committed(backend: &'static str, took: Duration, result: &'static str) {
    metrics::histogram!(COMMIT_SECONDS, "backend" => backend, "result" => result)
        .record(took.as_secs_f64());
}

/// A batch of commits written in one transaction.
pub(crate) fn batch(backend: &'static str, commits: usize) {
    metrics::histogram!(BATCH_SIZE, "backend" => backend).record(commits as f64);
}

/// A committed step of a call, from `before` (`None`: a new call) to
/// `after`: calls started and ended (`ended`: the class the commit's report
/// facts gave, when the step ended the call), queue entries, waits and
/// abandons.
pub(super) fn stepped(
    p: &Program,
    before: Option<&CallState>,
    after: &CallState,
    ended: Option<crate::report::Class>,
) {
    let flow = || {
        p.flows
            .get(after.flow.index())
            .map_or_else(String::new, |f| f.name.clone())
    };
    if before.is_none() {
        metrics::counter!(CALLS_STARTED, "flow" => flow()).increment(1);
    }
    let old = before.map_or(&[][..], |b| &b.tally.queues[..]);
    for (i, wait) in after.tally.queues.iter().enumerate() {
        let was = old.get(i);
        if was.is_none() {
            metrics::counter!(QUEUE_ENTRIES, "group" => wait.group.clone()).increment(1);
        }
        let (Some(result), None) = (wait.result, was.and_then(|w| w.result)) else {
            continue;
        };
        let word = crate::report::facts::result_code(result);
        metrics::histogram!(QUEUE_WAIT_SECONDS, "group" => wait.group.clone(), "result" => word)
            .record(f64::from(wait.waited.unwrap_or(0)));
        if result == QueueResult::Hangup {
            metrics::counter!(QUEUE_ABANDONS, "group" => wait.group.clone()).increment(1);
        }
    }
    if let Some(class) = ended {
        metrics::counter!(CALLS_ENDED, "flow" => flow(), "class" => class.code()).increment(1);
    }
}

/// A reload's result.
pub(super) fn reloaded(result: &'static str) {
    metrics::counter!(RELOADS, "result" => result).increment(1);
}

/// The versions this process has served new calls with (to set the
/// replaced ones to 0).
static VERSIONS: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// The flow version serving new calls is now `version`.
pub(super) fn serving(version: &str) {
    let mut seen = VERSIONS.lock().unwrap_or_else(|e| e.into_inner());
    for v in seen.iter().filter(|v| *v != version) {
        metrics::gauge!(VERSION, "version" => v.clone()).set(0.0);
    }
    seen.insert(version.to_owned());
    metrics::gauge!(VERSION, "version" => version.to_owned()).set(1.0);
}

/// The (flow, node) pairs given a live-calls gauge so far, to zero the ones
/// no call is at any more.
static PLACES: Mutex<BTreeSet<(String, String)>> = Mutex::new(BTreeSet::new());

/// `/metrics`: the live-call gauges set from this instance's live calls,
/// then everything recorded.
pub(super) async fn scrape(State(st): State<AppState>) -> Response {
    let handle = handle();
    let mut here: std::collections::BTreeMap<(String, String), u64> = Default::default();
    for state in st.store().live_states() {
        let Ok(p) = st.program_for(&state.version).await else {
            continue;
        };
        let flow = p
            .flows
            .get(state.flow.index())
            .map_or_else(String::new, |f| f.name.clone());
        let node = if state.at.index() < p.graph.node_count() {
            p.qualified_name(state.at)
        } else {
            String::new()
        };
        *here.entry((flow, node)).or_default() += 1;
    }
    {
        let mut places = PLACES.lock().unwrap_or_else(|e| e.into_inner());
        for place in places.iter().filter(|p| !here.contains_key(*p)) {
            metrics::gauge!(LIVE_CALLS, "flow" => place.0.clone(), "node" => place.1.clone())
                .set(0.0);
        }
        for ((flow, node), n) in &here {
            metrics::gauge!(LIVE_CALLS, "flow" => flow.clone(), "node" => node.clone())
                .set(*n as f64);
            places.insert((flow.clone(), node.clone()));
        }
    }
    handle.run_upkeep();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_names_its_provider_and_route() {
        assert_eq!(
            provider_route("/twilio/step"),
            ("twilio".to_owned(), "step".to_owned())
        );
        assert_eq!(provider_route(""), ("none".to_owned(), "none".to_owned()));
    }

    #[test]
    fn statuses_read_as_results() {
        use axum::http::StatusCode;
        assert_eq!(result_of(StatusCode::OK), "ok");
        assert_eq!(result_of(StatusCode::NO_CONTENT), "ok");
        assert_eq!(result_of(StatusCode::FORBIDDEN), "forbidden");
        assert_eq!(result_of(StatusCode::SERVICE_UNAVAILABLE), "retry_later");
        assert_eq!(result_of(StatusCode::NOT_FOUND), "rejected");
        assert_eq!(result_of(StatusCode::INTERNAL_SERVER_ERROR), "error");
    }
}
