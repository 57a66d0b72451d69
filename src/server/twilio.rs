//! Twilio's routes: `POST /twilio/voice` (a new call), `/twilio/step` (the
//! callbacks our TwiML points at), `/twilio/status`, `/twilio/wait` (queue
//! hold music and position), `/twilio/done` (where the fallback route ends).
//!
//! Every route takes [`Verified`], which checks `X-Twilio-Signature` before
//! a handler runs: a bad or missing signature is 403 and touches nothing.
//! Internal failures still answer valid TwiML that apologises and routes the
//! caller to the fallback group; details go to the log, never to Twilio.

use super::{AppState, BODY_LIMIT, Now};
use crate::action::{Action, Speech};
use crate::engine::{self, Event, Start};
use crate::program::{Lang, Program};
use crate::provider::twilio::{self as tw, callback, signature};
use crate::provider::{BaseUrls, Urls};
use crate::store::versions::VersionError;
use crate::store::{Commit, StoreError};
use axum::Router;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use std::sync::Arc;
use std::time::Duration;
use tracing::{error, warn};

/// How far back caller history goes for `called_before` conditions.
const HISTORY: jiff::SignedDuration = jiff::SignedDuration::from_hours(24 * 90);

pub(super) fn routes(state: &AppState) -> Router<AppState> {
    use super::guard::{Answer, guard};
    use axum::middleware::from_fn_with_state;
    let voice_routes = Router::new()
        .route("/twilio/voice", post(voice))
        .route("/twilio/step", post(step))
        .route("/twilio/done", post(done))
        .route_layer(from_fn_with_state((state.clone(), Answer::Voice), guard));
    let wait_route = Router::new()
        .route("/twilio/wait", post(wait))
        .route_layer(from_fn_with_state((state.clone(), Answer::Hold), guard));
    let status_route = Router::new()
        .route("/twilio/status", post(status))
        .route_layer(from_fn_with_state((state.clone(), Answer::Status), guard));
    voice_routes
        .merge(wait_route)
        .merge(status_route)
        .route_layer(axum::middleware::from_fn(super::metrics::track))
}

/// A pause in a queue's hold music, for a wait URL that could not be
/// answered: the provider asks the wait URL again after it.
pub(super) fn hold(st: &AppState, base: &str) -> Response {
    let p = st.program();
    let pause = [Action::Speak(Speech::Pause { seconds: 10 })];
    twiml(tw::render(&pause, &p, "", 0, &urls(base)))
}

/// The call id our own URLs carry (`?call=…`), if any.
pub(super) fn call_in_query(query: Option<&str>) -> Option<String> {
    let pairs = signature::form_pairs(query.unwrap_or("").as_bytes());
    callback::param(&pairs, "call").map(str::to_owned)
}

/// The apology and the fallback route for a call the server could not
/// serve (by the current program, in the call's language if it is known
/// here), logged with the call id and `why`.
pub(super) fn apology_for(st: &AppState, call: Option<&str>, base: &str, why: &str) -> Response {
    let p = st.program();
    let language = call
        .and_then(|c| st.store().cached(c))
        .map_or_else(|| p.default_language.clone(), |s| s.language);
    match call {
        Some(call) => apology(&p, &language, base, call, why),
        None => {
            // The request's span names the call, if the handler read it.
            error!("answering with the fallback route: {why}");
            apology_twiml(&p, &language, base, "")
        }
    }
}

/// A request whose signature checked out: its query and form parameters.
pub struct Verified {
    /// The URL's query parameters (ours: `call`, `s`, `ev`, `group`).
    pub query: Vec<(String, String)>,
    /// The form body's parameters (Twilio's).
    pub params: Vec<(String, String)>,
    /// The base URL callbacks should use.
    pub base: String,
}

pub(super) fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    match &state.inner.public_url {
        Some(u) => u.clone(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            format!("http://{host}")
        }
    }
}

impl FromRequest<AppState> for Verified {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
            Ok(b) => b,
            Err(_) => {
                return Err(
                    (StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n").into_response()
                );
            }
        };
        let form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|c| c.to_str().ok())
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
        if !form && !bytes.is_empty() {
            return Err((StatusCode::BAD_REQUEST, "expected a form-encoded body\n").into_response());
        }
        let query = signature::form_pairs(parts.uri.query().unwrap_or("").as_bytes());
        let params = signature::form_pairs(&bytes);
        let base = base_url(state, &parts.headers);
        if let Some(token) = &state.inner.twilio_token {
            let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let url = format!("{base}{path_and_query}");
            let header = |name: &str| parts.headers.get(name).and_then(|h| h.to_str().ok());
            let algorithm =
                signature::Algorithm::from_settings(header("x-twilio-webhooks-signature-settings"));
            if let Err(e) = signature::verify(
                algorithm,
                token,
                &url,
                &params,
                None,
                header("x-twilio-signature"),
            ) {
                warn!(%url, "refused a request: {e}");
                super::metrics::signature_failed("twilio");
                return Err((StatusCode::FORBIDDEN, "signature check failed\n").into_response());
            }
        }
        Ok(Verified {
            query,
            params,
            base,
        })
    }
}

fn twiml(body: String) -> Response {
    ([(header::CONTENT_TYPE, tw::CONTENT_TYPE)], body).into_response()
}

fn bad_request(e: callback::BadCallback) -> Response {
    warn!("bad callback: {e}");
    (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response()
}

/// URLs for TwiML served when the call itself cannot continue: every action
/// ends at `/twilio/done`, so a fallback queue's result hangs up instead of
/// re-entering a call the server could not handle.
struct DoneUrls<'a>(&'a BaseUrls, String);

impl Urls for DoneUrls<'_> {
    fn step(&self, _: &str, _: u64) -> String {
        self.1.clone()
    }
    fn no_input(&self, _: &str, _: u64) -> String {
        self.1.clone()
    }
    fn wait(&self, call: &str, group: &str) -> String {
        self.0.wait(call, group)
    }
    fn media(&self, file: &str) -> String {
        self.0.media(file)
    }
}

/// Valid TwiML that apologises and takes the fallback route, for failures.
fn apology(p: &Program, language: &Lang, base: &str, call: &str, why: &str) -> Response {
    error!("answering with the fallback route for call {call}: {why}");
    apology_twiml(p, language, base, call)
}

/// The apology's TwiML (see [`apology`]), unlogged.
fn apology_twiml(p: &Program, language: &Lang, base: &str, call: &str) -> Response {
    let urls = BaseUrls::new(base, "twilio");
    let done = DoneUrls(&urls, format!("{base}/twilio/done"));
    let mut response = twiml(tw::render(&engine::apology(p, language), p, call, 0, &done));
    response
        .extensions_mut()
        .insert(super::metrics::Answered("apology"));
    response
}

/// Put the call, its flow and its node on the request's span.
/// (Handlers record the call id themselves, as soon as they know it.)
fn note(p: &Program, state: &engine::CallState) {
    let span = tracing::Span::current();
    if let Some(f) = p.flows.get(state.flow.index()) {
        span.record("flow", tracing::field::display(&f.name));
    }
    span.record("node", tracing::field::display(p.qualified_name(state.at)));
}

/// The program of the version `state` started on, with `state` checked
/// against it; else why the call cannot go on (for the log).
async fn program_of(st: &AppState, state: &engine::CallState) -> Result<Arc<Program>, Unfit> {
    let p = st.program_for(&state.version).await.map_err(|e| Unfit {
        passing: matches!(e, VersionError::Store { .. }),
        why: e.to_string(),
    })?;
    engine::fits(&p, state).map_err(|e| Unfit {
        passing: false,
        why: e.to_string(),
    })?;
    Ok(p)
}

/// Why a call cannot go on: for the log, and whether trying again later
/// may help (the store could not be read) or never will.
struct Unfit {
    why: String,
    passing: bool,
}

impl std::fmt::Display for Unfit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.why)
    }
}

fn urls(base: &str) -> BaseUrls {
    BaseUrls::new(base, "twilio")
}

async fn voice(State(st): State<AppState>, v: Verified) -> Response {
    st.fault_point("voice");
    let incoming = match callback::incoming(&v.params) {
        Ok(i) => i,
        Err(e) => return bad_request(e),
    };
    let sid = incoming.call_sid.clone();
    tracing::Span::current().record("call", tracing::field::display(&sid));
    tracing::debug!(
        caller = %crate::privacy::masked_number(&incoming.from),
        "a new call"
    );
    let p = st.program();
    let moment = st.moment();
    let now = moment.now;
    let history = match now.checked_sub(HISTORY) {
        Ok(since) => st
            .store()
            .history(&incoming.from, since)
            .await
            .unwrap_or_else(|e| {
                warn!(call = %sid, "caller history unavailable: {e}");
                Vec::new()
            }),
        Err(_) => Vec::new(),
    };
    let start = Start {
        call_id: sid.clone(),
        caller: incoming.from,
        called: incoming.to,
        history,
        language: None,
    };
    let step = engine::start(&p, start, moment.at());
    note(&p, &step.state);
    let body = tw::render(&step.actions, &p, &sid, step.state.step, &urls(&v.base));
    let commit = Commit::from_step(&p, None, &step, now, Some(body.clone()), None);
    let ended = commit.facts.as_ref().map(|f| f.class);
    match st.store().commit(commit).await {
        Ok(()) => {
            super::metrics::stepped(&p, None, &step.state, ended);
            twiml(body)
        }
        // Twilio retried the new-call request: answer what the first one got.
        Err(StoreError::Conflict) => match st.store().response(&sid, 1).await {
            Ok(Some(first)) => twiml(first),
            _ => apology(
                &p,
                &p.default_language,
                &v.base,
                &sid,
                "a retried new call whose first answer is gone",
            ),
        },
        Err(e) => apology(
            &p,
            &p.default_language,
            &v.base,
            &sid,
            &format!("could not store the new call: {e}"),
        ),
    }
}

async fn step(State(st): State<AppState>, v: Verified) -> Response {
    st.fault_point("step");
    let cb = match callback::step(&v.query, &v.params) {
        Ok(c) => c,
        Err(e) => return bad_request(e),
    };
    let sid = cb.call_sid.clone();
    tracing::Span::current().record("call", tracing::field::display(&sid));
    let current = st.program();
    // At least the callback's step: memory behind it (another instance
    // moved the call on) is read afresh from the database.
    let state = match st.store().load_at_least(&sid, cb.step).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return apology(
                &current,
                &current.default_language,
                &v.base,
                &sid,
                "a step for an unknown call",
            );
        }
        Err(e) => {
            return apology(
                &current,
                &current.default_language,
                &v.base,
                &sid,
                &format!("could not load the call: {e}"),
            );
        }
    };
    let p = match program_of(&st, &state).await {
        Ok(p) => p,
        Err(why) => return apology(&current, &state.language, &v.base, &sid, &why.why),
    };
    let moment = st.moment();
    let urls = urls(&v.base);
    if cb.step != state.step {
        // A retried or out-of-order callback: answer what that step was
        // answered with, else repeat where the call is. Nothing moves.
        if cb.step < state.step
            && let Ok(Some(body)) = st.store().response(&sid, cb.step + 1).await
        {
            return twiml(body);
        }
        let actions = engine::repeat(&p, &state, moment.at());
        return twiml(tw::render(&actions, &p, &sid, state.step, &urls));
    }
    advance(&st, &p, &state, cb.event, &moment, &v.base).await
}

/// Feed `event` to the call at `state`, render the answer, and commit the
/// step (with the provider's final status, if this is a status callback).
async fn step_and_commit(
    st: &AppState,
    p: &Program,
    state: &engine::CallState,
    event: Event,
    at: &Now,
    base: &str,
    final_status: Option<String>,
) -> (String, Result<(), StoreError>) {
    let step = engine::step(p, state, event, at.at());
    note(p, &step.state);
    let body = tw::render(
        &step.actions,
        p,
        &state.call_id,
        step.state.step,
        &urls(base),
    );
    let commit = Commit::from_step(
        p,
        Some(state.step),
        &step,
        at.now,
        Some(body.clone()),
        final_status,
    );
    let ended = commit.facts.as_ref().map(|f| f.class);
    let stored = st.store().commit(commit).await;
    if stored.is_ok() {
        super::metrics::stepped(p, Some(state), &step.state, ended);
    }
    (body, stored)
}

async fn advance(
    st: &AppState,
    p: &Program,
    state: &engine::CallState,
    event: Event,
    at: &Now,
    base: &str,
) -> Response {
    let sid = &state.call_id;
    let (body, stored) = step_and_commit(st, p, state, event, at, base, None).await;
    match stored {
        Ok(()) => twiml(body),
        Err(StoreError::Conflict) => match st.store().response(sid, state.step + 1).await {
            Ok(Some(first)) => twiml(first),
            _ => twiml(tw::render(
                &engine::repeat(p, state, at.at()),
                p,
                sid,
                state.step,
                &urls(base),
            )),
        },
        Err(e) => apology(
            p,
            &state.language,
            base,
            sid,
            &format!("could not store the step: {e}"),
        ),
    }
}

async fn status(State(st): State<AppState>, v: Verified) -> Response {
    st.fault_point("status");
    let cb = match callback::status(&v.params) {
        Ok(c) => c,
        Err(e) => return bad_request(e),
    };
    tracing::Span::current().record("call", tracing::field::display(&cb.call_sid));
    let word = cb.status.word().to_owned();
    // A status can race the call's last action callback (a caller hanging
    // up in a queue): the loser reads the call again and applies the status
    // to where the call now is, so the final status is never lost.
    for _ in 0..STATUS_TRIES {
        let state = match st.store().load_to_end(&cb.call_sid).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                warn!(call = %cb.call_sid, "status for an unknown call");
                return StatusCode::NO_CONTENT.into_response();
            }
            Err(e) => {
                error!(call = %cb.call_sid, "could not load the call for its status, the provider is asked to retry: {e}");
                return super::guard::retry_later();
            }
        };
        let p = match program_of(&st, &state).await {
            Ok(p) => p,
            // The version could not be read now: the provider may try again.
            Err(why) if why.passing => {
                error!(call = %cb.call_sid, "the call's status {word} cannot be applied yet, the provider is asked to retry: {why}");
                return super::guard::retry_later();
            }
            // It never will be: acknowledged, so the provider stops, and
            // logged, since the call keeps no final status.
            Err(why) => {
                error!(call = %cb.call_sid, "the call's status {word} cannot be applied, and never will be (the call's last step stays stored, without its final status): {why}");
                return StatusCode::NO_CONTENT.into_response();
            }
        };
        let event = Event::Status(cb.status);
        let (_, stored) = step_and_commit(
            &st,
            &p,
            &state,
            event,
            &st.moment(),
            &v.base,
            Some(word.clone()),
        )
        .await;
        match stored {
            Err(StoreError::Conflict) => continue,
            Err(e) => {
                error!(call = %cb.call_sid, "could not store the call's status, the provider is asked to retry: {e}");
                return super::guard::retry_later();
            }
            Ok(()) => return StatusCode::NO_CONTENT.into_response(),
        }
    }
    // Lost every race: other callbacks keep moving the call. It has not
    // been stored, so the provider should send it again.
    warn!(call = %cb.call_sid, "the status lost {STATUS_TRIES} races for the call's step, the provider is asked to retry");
    super::guard::retry_later()
}

/// How often a status callback that lost a race is applied again.
const STATUS_TRIES: usize = 3;

/// The queue's wait URL: the caller's position and expected wait now and
/// then, hold music in between, and `<Leave>` once the group's `max_wait` is up.
async fn wait(State(st): State<AppState>, v: Verified) -> Response {
    st.fault_point("wait");
    let call = callback::param(&v.query, "call")
        .unwrap_or_default()
        .to_owned();
    tracing::Span::current().record("call", tracing::field::display(&call));
    let group_name = callback::param(&v.query, "group").unwrap_or_default();
    // Hold music moves nothing: should the call's own version be
    // unavailable, the current program's group of that name still plays it.
    let (p, language) = match st.store().load(&call).await {
        Ok(Some(s)) => match program_of(&st, &s).await {
            Ok(p) => (p, s.language),
            Err(why) => {
                warn!(%call, "hold music from the current flow version: {why}");
                (st.program(), s.language)
            }
        },
        _ => {
            let p = st.program();
            let l = p.default_language.clone();
            (p, l)
        }
    };
    // The fallback route queues by the current program's group, which the
    // call's own version may not have: look there too before refusing.
    let current = st.program();
    let (p, group) = match (
        p.group_by_name(group_name),
        current.group_by_name(group_name),
    ) {
        (Some(g), _) => (p.clone(), g),
        (None, Some(g)) => (current, g),
        (None, None) => {
            warn!(%call, "a wait for a group no flow version has: {group_name}");
            return hold(&st, &v.base);
        }
    };
    let Some(group) = p.groups.get(group.index()) else {
        return hold(&st, &v.base);
    };
    let secs = |name| callback::param(&v.params, name).and_then(|x| x.parse::<u64>().ok());
    let waited = Duration::from_secs(secs("QueueTime").unwrap_or(0));
    let mut actions = Vec::new();
    if group.max_wait.is_some_and(|m| waited >= m) {
        actions.push(Action::Leave);
    } else {
        let every = group.announce_every.as_secs().max(1);
        let due = waited.as_secs() < 15 || waited.as_secs() % every < 15;
        if group.announce_position
            && due
            && let Some(position) = secs("QueuePosition")
        {
            let minutes = secs("AvgQueueTime").map(|s| s.div_ceil(60).max(1));
            actions.push(Action::Speak(Speech::Say {
                text: position_text(&language, position, minutes),
                language: language.clone(),
                voice: p.voices.get(&language).cloned(),
            }));
        }
        actions.push(Action::Speak(match &group.hold_music {
            Some(file) => Speech::Play { file: file.clone() },
            None => Speech::Pause { seconds: 10 },
        }));
    }
    twiml(tw::render(&actions, &p, &call, 0, &urls(&v.base)))
}

fn position_text(language: &Lang, position: u64, minutes: Option<u64>) -> String {
    if language.as_str().starts_with("zh") {
        let ahead = position.saturating_sub(1);
        match minutes {
            Some(m) => format!("您前面还有{ahead}位来电者，预计等待约{m}分钟。"),
            None => format!("您前面还有{ahead}位来电者。"),
        }
    } else {
        match minutes {
            Some(1) => {
                format!("You are number {position} in line. The expected wait is about a minute.")
            }
            Some(m) => format!(
                "You are number {position} in line. The expected wait is about {m} minutes."
            ),
            None => format!("You are number {position} in line."),
        }
    }
}

/// Where the fallback route's queue ends: hang up.
async fn done(State(st): State<AppState>, v: Verified) -> Response {
    st.fault_point("done");
    let p = st.program();
    twiml(tw::render(&[Action::Hangup], &p, "", 0, &urls(&v.base)))
}
