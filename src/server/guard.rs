//! The guard around every provider route: whatever happens inside a
//! handler — a store stuck behind another process's lock, a request queued
//! behind a blocked batch, a panic — the provider gets an answer in time,
//! and a voice route's answer is always valid voice XML.
//!
//! A voice route (one whose answer the caller hears) that is not answered
//! within [`AppState::answer_within`] (default [`ANSWER_WITHIN`], well below
//! Twilio's 15 s webhook timeout) or that panics answers the apology and the
//! fallback route instead, logged with the call id; its unfinished step is
//! dropped before it is written, where it has not been written yet, so what
//! the store holds is what the caller heard. A status callback, which no
//! caller hears, answers 503 with `Retry-After` instead: it was not stored,
//! and the provider may try it again (see `docs/calls.md`).

use super::{AppState, calls};
use crate::provider::Provider;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use tracing::error;

/// How long a voice request may take before the caller gets the apology.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// The longest answer deadline allowed: below Twilio's 15 s webhook timeout.
pub const LONGEST_ANSWER_WITHIN: Duration = Duration::from_secs(14);

/// How long a provider is asked to wait before retrying a status callback
/// that could not be stored.
pub const RETRY_AFTER: &str = "5";

/// What a route's answer is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The caller hears it: valid voice XML, always.
    Voice,
    /// What a caller waiting in a queue hears next (a queue's wait URL,
    /// where only prompts, pauses and `<Leave>` are allowed): on failure,
    /// a pause, after which the provider asks again.
    Hold,
    /// Only the provider reads it (status callbacks).
    Status,
}

/// A status callback that was not stored: the provider should send it again.
pub fn retry_later() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER))],
        "not stored; send it again\n",
    )
        .into_response()
}

/// Run the route within the deadline, catching panics; `answer` says what
/// to answer when it cannot.
pub async fn guard(
    State((st, answer, provider)): State<(AppState, Answer, Arc<dyn Provider>)>,
    req: Request,
    next: Next,
) -> Response {
    // Kept (cheap clones) for a failure only: the happy path parses nothing twice.
    let uri = req.uri().clone();
    let host = req.headers().get(header::HOST).cloned();
    let route = AssertUnwindSafe(next.run(req)).catch_unwind();
    let why = match tokio::time::timeout(st.answer_within(), route).await {
        Ok(Ok(response)) => return response,
        Ok(Err(panic)) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_owned());
            format!("the handler panicked: {what}")
        }
        Err(_) => format!(
            "not answered within {} (is the database locked or slow?)",
            humantime::format_duration(st.answer_within())
        ),
    };
    let call = calls::in_query(uri.query(), "call");
    let mut headers = axum::http::HeaderMap::new();
    if let Some(h) = host {
        headers.insert(header::HOST, h);
    }
    let base = calls::base_url(&st, &headers);
    match answer {
        Answer::Voice => calls::apology_for(&st, &*provider, call.as_deref(), None, &base, &why),
        Answer::Hold => {
            error!("hold music instead: {why}");
            let group = calls::in_query(uri.query(), "group");
            calls::hold_pause(&st, &*provider, call.as_deref(), group.as_deref(), &base)
        }
        Answer::Status => {
            // The request's span carries the call id, once the handler read it.
            error!("a status callback was not stored, the provider is asked to retry: {why}");
            retry_later()
        }
    }
}
