//! The call service: one protocol for every provider. Each configured
//! provider is mounted at `/{name}/voice` (a new call), `/{name}/step` (the
//! callbacks its documents point at), `/{name}/status`, `/{name}/wait`
//! (what a caller waiting in a queue hears next) and `/{name}/done` (where
//! the fallback route ends); a known provider that is not configured
//! answers 404 saying which are.
//!
//! A request is: read → verify (the provider's signature; 403 and nothing
//! touched when it fails) → parse (the provider's callback into a neutral
//! [`Callback`]; 400 naming the field) → load → `engine::step` → render (the
//! provider's document) → commit, with the same conflict handling for every
//! provider. Internal failures still answer a valid document that
//! apologises and routes the caller to the fallback group; details go to
//! the log, never to the provider ([`CallError`]).

use super::{AppState, BODY_LIMIT, Now};
use crate::action::{Action, Speech};
use crate::engine::{self, Event, Start};
use crate::program::{Lang, Program};
use crate::provider::callback::{
    BadCallback, Incoming, QueueWait, StatusCallback, StepCallback, body_params, form_pairs, param,
};
use crate::provider::{BaseUrls, Callback, Document, Provider, Request, Route, Urls};
use crate::store::versions::VersionError;
use crate::store::{Commit, StoreError};
use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tracing::{error, warn};

/// How far back caller history goes for `called_before` conditions.
const HISTORY: jiff::SignedDuration = jiff::SignedDuration::from_hours(24 * 90);

/// How often a status callback that lost a race is applied again.
const STATUS_TRIES: usize = 3;

/// The routes of every configured provider, and a 404 for the known rest.
pub(super) fn routes(state: &AppState) -> Router<AppState> {
    use super::guard::{Answer, guard};
    use axum::middleware::from_fn_with_state;
    let mut router = Router::new();
    let providers = state.providers();
    for provider in providers.iter() {
        for (route, segment) in Route::ALL {
            if route == Route::Agent && !provider.agents() {
                continue;
            }
            let answer = match route {
                Route::Voice | Route::Step | Route::Done | Route::Agent => Answer::Voice,
                Route::Wait => Answer::Hold,
                Route::Status => Answer::Status,
            };
            let p = provider.clone();
            let handler = move |axum::extract::State(st): axum::extract::State<AppState>,
                                req: axum::extract::Request| {
                let p = p.clone();
                async move { handle(st, p, route, req).await }
            };
            let one = Router::new()
                .route(
                    &format!("/{}/{segment}", provider.name()),
                    axum::routing::post(handler.clone()).get(handler),
                )
                .route_layer(from_fn_with_state(
                    (state.clone(), answer, provider.clone()),
                    guard,
                ));
            router = router.merge(one);
        }
    }
    let mounted: Vec<&str> = providers.iter().map(|p| p.name()).collect();
    let listed = if mounted.is_empty() {
        "none".to_owned()
    } else {
        mounted.join(", ")
    };
    // Every provider this build speaks: a callback to one that is not
    // configured gets a 404 that says which are.
    let known = crate::provider::capability::Kind::ALL.map(|k| k.name());
    for name in known.iter().filter(|n| !mounted.contains(n)) {
        let body = format!(
            "the {name} provider is not configured on this server; mounted: {listed} (see `switchboard serve --help`)\n"
        );
        router = router.route(
            &format!("/{name}/{{*rest}}"),
            axum::routing::any(move || {
                let body = body.clone();
                async move { (StatusCode::NOT_FOUND, body) }
            }),
        );
    }
    router.route_layer(axum::middleware::from_fn(super::metrics::track))
}

/// Why a callback could not be served as asked. Each renders what its
/// provider should get: a bare 4xx for a request we refuse, the apology and
/// the fallback route in the provider's own document for a call we could
/// not serve, a 503 for a status to be sent again.
#[derive(Debug)]
pub enum CallError {
    /// The callback is missing or has a malformed field: 400.
    Bad(BadCallback),
    /// The body is larger than [`BODY_LIMIT`]: 413.
    TooLarge,
    /// The call cannot go on: the apology, in the call's language.
    Apology {
        /// The call, if known.
        call: Option<String>,
        /// The call's language, if known (else the one it is cached with, or the default).
        language: Option<Lang>,
        /// For the log.
        why: String,
    },
    /// A status that was not stored: 503, the provider sends it again.
    RetryLater(String),
}

impl CallError {
    fn apology(call: &str, language: Option<&Lang>, why: impl Into<String>) -> Self {
        CallError::Apology {
            call: Some(call.to_owned()),
            language: language.cloned(),
            why: why.into(),
        }
    }

    /// What the provider gets.
    pub fn respond(self, st: &AppState, provider: &dyn Provider, base: &str) -> Response {
        match self {
            CallError::Bad(e) => {
                warn!("bad callback: {e}");
                (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response()
            }
            CallError::TooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n").into_response()
            }
            CallError::Apology {
                call,
                language,
                why,
            } => apology_for(st, provider, call.as_deref(), language, base, &why),
            CallError::RetryLater(why) => {
                error!("{why}; the provider is asked to retry");
                super::guard::retry_later()
            }
        }
    }
}

/// The base URL callbacks should use: the configured public URL, else the request's Host.
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

/// Our URLs' query parameter `name` (`call`, `group`), if any.
pub(super) fn in_query(query: Option<&str>, name: &str) -> Option<String> {
    let pairs = form_pairs(query.unwrap_or("").as_bytes());
    param(&pairs, name).map(str::to_owned)
}

/// The apology and the fallback route for a call the server could not
/// serve (by the current program, in the call's language where it is
/// known), logged with the call id and `why`.
pub(super) fn apology_for(
    st: &AppState,
    provider: &dyn Provider,
    call: Option<&str>,
    language: Option<Lang>,
    base: &str,
    why: &str,
) -> Response {
    let p = st.program();
    let language = language
        .or_else(|| call.and_then(|c| st.store().cached(c)).map(|s| s.language))
        .unwrap_or_else(|| p.default_language.clone());
    match call {
        Some(call) => error!("answering with the fallback route for call {call}: {why}"),
        // The request's span names the call, if the handler read it.
        None => error!("answering with the fallback route: {why}"),
    }
    let urls = BaseUrls::new(base, provider.name());
    let done = DoneUrls(&urls, format!("{base}/{}/done", provider.name()));
    let actions = engine::apology(&p, &language);
    let mut response = document(
        provider,
        provider.render(&Document {
            actions: &actions,
            program: &p,
            call_id: call.unwrap_or(""),
            step: 0,
            urls: &done,
            hold: None,
        }),
    );
    response
        .extensions_mut()
        .insert(super::metrics::Answered("apology"));
    response
}

/// A pause in a queue's hold music, for a wait request that could not be
/// answered: the provider (or our hold loop) asks the wait URL again after it.
pub(super) fn hold_pause(
    st: &AppState,
    provider: &dyn Provider,
    call: Option<&str>,
    group: Option<&str>,
    base: &str,
) -> Response {
    let p = st.program();
    let pause = [Action::Speak(Speech::Pause { seconds: 10 })];
    let urls = BaseUrls::new(base, provider.name());
    document(
        provider,
        provider.render(&Document {
            actions: &pause,
            program: &p,
            call_id: call.unwrap_or(""),
            step: 0,
            urls: &urls,
            hold: Some(group.unwrap_or("")),
        }),
    )
}

fn document(provider: &dyn Provider, body: String) -> Response {
    ([(header::CONTENT_TYPE, provider.content_type())], body).into_response()
}

/// URLs for a document served when the call itself cannot continue: every
/// action ends at `/{provider}/done`, so a fallback queue's result hangs up
/// instead of re-entering a call the server could not handle.
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
    fn agent(&self, group: &str) -> String {
        self.0.agent(group)
    }
    fn leave(&self, _: &str, _: u64, _: bool) -> String {
        self.1.clone()
    }
}

/// Read, verify and parse a request to `route` of `provider`, then serve it.
async fn handle(
    st: AppState,
    provider: Arc<dyn Provider>,
    route: Route,
    req: axum::extract::Request,
) -> Response {
    st.fault_point(match route {
        Route::Voice => "voice",
        Route::Step => "step",
        Route::Status => "status",
        Route::Wait => "wait",
        Route::Done => "done",
        Route::Agent => "agent",
    });
    let (parts, body) = req.into_parts();
    let base = base_url(&st, &parts.headers);
    let cx = Service {
        st: &st,
        provider: &*provider,
        base: &base,
    };
    let limit = if provider.accepts_uploads() {
        super::uploads::UPLOAD_LIMIT
    } else {
        BODY_LIMIT
    };
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return CallError::TooLarge.respond(&st, &*provider, &base);
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|c| c.to_str().ok());
    let read = match content_type {
        Some(ct) if provider.accepts_uploads() && super::uploads::is_multipart(Some(ct)) => {
            super::uploads::read(ct, bytes.clone())
                .await
                .map(|p| (p.fields, p.files))
        }
        _ => body_params(content_type, &bytes, provider.accepts_json()).map(|p| (p, Vec::new())),
    };
    let (mut params, files) = match read {
        Ok(p) => p,
        Err(e) => return CallError::Bad(e).respond(&st, &*provider, &base),
    };
    let query = form_pairs(parts.uri.query().unwrap_or("").as_bytes());
    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let url = format!("{base}{path_and_query}");
    let now = st.now();
    let base_req = Request {
        method: &parts.method,
        url: &url,
        headers: &parts.headers,
        body: &bytes,
        query: &query,
        params: &[],
        now,
    };
    fn with<'a>(r: Request<'a>, params: &'a [(String, String)]) -> Request<'a> {
        Request { params, ..r }
    }
    if provider.signed()
        && let Err(e) = provider.verify(&with(base_req, &params))
    {
        warn!(%url, provider = provider.name(), "refused a request: {e}");
        super::metrics::signature_failed(provider.name());
        return (StatusCode::FORBIDDEN, "signature check failed\n").into_response();
    }
    // Uploaded files are kept (only for a verified request), and the
    // parser sees each as its URL for supervisors.
    let mut kept = Vec::new();
    for (field, data) in files {
        let name = super::uploads::file_name(param(&query, "call").unwrap_or("call"));
        match super::uploads::keep(st.uploads(), &name, &data).await {
            Ok(path) => kept.push(path),
            Err(e) => {
                let call = param(&query, "call").map(str::to_owned);
                let why = format!(
                    "could not keep an uploaded recording in {}: {e}",
                    st.uploads().display()
                );
                return CallError::Apology {
                    call,
                    language: None,
                    why,
                }
                .respond(&st, &*provider, &base);
            }
        }
        params.push((field, format!("{base}/admin/recordings/{name}")));
    }
    let callback = match provider.parse(route, &with(base_req, &params)) {
        Ok(c) => c,
        Err(e) => {
            for path in kept {
                let _ = tokio::fs::remove_file(path).await;
            }
            return CallError::Bad(e).respond(&st, &*provider, &base);
        }
    };
    let served = match callback {
        Callback::NewCall(i) => cx.new_call(i).await,
        Callback::Step(s) => cx.step(s).await,
        Callback::Status(s) => cx.status(s).await,
        Callback::Wait(w) => cx.wait(w).await,
        Callback::Done => Ok(cx.render(&[Action::Hangup], &st.program(), "", 0, None)),
        Callback::Answer(doc) => Ok(document(&*provider, doc)),
        Callback::Agent { call_sid, group } => cx.agent(&call_sid, &group).await,
    };
    served.unwrap_or_else(|e| e.respond(&st, &*provider, &base))
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

fn note_call(call: &str) {
    tracing::Span::current().record("call", tracing::field::display(call));
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

/// One request's view of the service: the state, the provider, the base URL.
struct Service<'a> {
    st: &'a AppState,
    provider: &'a dyn Provider,
    base: &'a str,
}

impl Service<'_> {
    fn urls(&self) -> BaseUrls {
        BaseUrls::new(self.base, self.provider.name())
    }

    /// The provider's document for `actions`, as a response.
    fn render(
        &self,
        actions: &[Action],
        p: &Program,
        call: &str,
        step: u64,
        hold: Option<&str>,
    ) -> Response {
        document(self.provider, self.body(actions, p, call, step, hold))
    }

    fn body(
        &self,
        actions: &[Action],
        p: &Program,
        call: &str,
        step: u64,
        hold: Option<&str>,
    ) -> String {
        self.provider.render(&Document {
            actions,
            program: p,
            call_id: call,
            step,
            urls: &self.urls(),
            hold,
        })
    }

    /// The program of the version `state` started on, with `state` checked
    /// against it; else why the call cannot go on (for the log).
    async fn program_of(&self, state: &engine::CallState) -> Result<Arc<Program>, Unfit> {
        let p = self
            .st
            .program_for(&state.version)
            .await
            .map_err(|e| Unfit {
                passing: matches!(e, VersionError::Store { .. }),
                why: e.to_string(),
            })?;
        engine::fits(&p, state).map_err(|e| Unfit {
            passing: false,
            why: e.to_string(),
        })?;
        Ok(p)
    }

    async fn new_call(&self, incoming: Incoming) -> Result<Response, CallError> {
        let sid = incoming.call_sid.clone();
        note_call(&sid);
        tracing::debug!(
            caller = %crate::privacy::masked_number(&incoming.from),
            provider = self.provider.name(),
            "a new call"
        );
        let p = self.st.program();
        let moment = self.st.moment();
        let now = moment.now;
        let history = match now.checked_sub(HISTORY) {
            Ok(since) => self
                .st
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
        let body = self.body(&step.actions, &p, &sid, step.state.step, None);
        let commit = Commit::from_step(&p, None, &step, now, Some(body.clone()), None)
            .carried_by(self.provider.name());
        let ended = commit.facts.as_ref().map(|f| f.class);
        match self.st.store().commit(commit).await {
            Ok(()) => {
                super::metrics::stepped(&p, None, &step.state, ended);
                Ok(document(self.provider, body))
            }
            // The provider retried the new-call request: answer what the first one got.
            Err(StoreError::Conflict) => match self.st.store().response(&sid, 1).await {
                Ok(Some(first)) => Ok(document(self.provider, first)),
                _ => Err(CallError::apology(
                    &sid,
                    Some(&p.default_language),
                    "a retried new call whose first answer is gone",
                )),
            },
            Err(e) => Err(CallError::apology(
                &sid,
                Some(&p.default_language),
                format!("could not store the new call: {e}"),
            )),
        }
    }

    async fn step(&self, cb: StepCallback) -> Result<Response, CallError> {
        let sid = cb.call_sid.clone();
        note_call(&sid);
        let current = self.st.program();
        let fallback = Some(&current.default_language);
        // At least the callback's step: memory behind it (another instance
        // moved the call on) is read afresh from the database.
        let state = match self.st.store().load_at_least(&sid, cb.step).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                return Err(CallError::apology(
                    &sid,
                    fallback,
                    "a step for an unknown call",
                ));
            }
            Err(e) => {
                return Err(CallError::apology(
                    &sid,
                    fallback,
                    format!("could not load the call: {e}"),
                ));
            }
        };
        let p = self
            .program_of(&state)
            .await
            .map_err(|why| CallError::apology(&sid, Some(&state.language), why.why))?;
        let moment = self.st.moment();
        if cb.step != state.step {
            // A retried or out-of-order callback: answer what that step was
            // answered with, else repeat where the call is. Nothing moves.
            if cb.step < state.step
                && let Ok(Some(body)) = self.st.store().response(&sid, cb.step + 1).await
            {
                return Ok(document(self.provider, body));
            }
            let actions = engine::repeat(&p, &state, moment.at());
            return Ok(self.render(&actions, &p, &sid, state.step, None));
        }
        self.advance(&p, &state, cb.event, &moment).await
    }

    /// Feed `event` to the call at `state`, render the answer, and commit
    /// the step (with the provider's final status, if this is a status callback).
    async fn step_and_commit(
        &self,
        p: &Program,
        state: &engine::CallState,
        event: Event,
        at: &Now,
        final_status: Option<String>,
    ) -> (String, Result<(), StoreError>) {
        let step = engine::step(p, state, event, at.at());
        note(p, &step.state);
        let body = self.body(&step.actions, p, &state.call_id, step.state.step, None);
        let commit = Commit::from_step(
            p,
            Some(state.step),
            &step,
            at.now,
            Some(body.clone()),
            final_status,
        );
        let ended = commit.facts.as_ref().map(|f| f.class);
        let stored = self.st.store().commit(commit).await;
        if stored.is_ok() {
            super::metrics::stepped(p, Some(state), &step.state, ended);
        }
        (body, stored)
    }

    async fn advance(
        &self,
        p: &Program,
        state: &engine::CallState,
        event: Event,
        at: &Now,
    ) -> Result<Response, CallError> {
        let sid = &state.call_id;
        let (body, stored) = self.step_and_commit(p, state, event, at, None).await;
        match stored {
            Ok(()) => Ok(document(self.provider, body)),
            Err(StoreError::Conflict) => {
                match self.st.store().response(sid, state.step + 1).await {
                    Ok(Some(first)) => Ok(document(self.provider, first)),
                    _ => Ok(self.render(
                        &engine::repeat(p, state, at.at()),
                        p,
                        sid,
                        state.step,
                        None,
                    )),
                }
            }
            Err(e) => Err(CallError::apology(
                sid,
                Some(&state.language),
                format!("could not store the step: {e}"),
            )),
        }
    }

    async fn status(&self, cb: StatusCallback) -> Result<Response, CallError> {
        note_call(&cb.call_sid);
        let word = cb.status.word().to_owned();
        let call = &cb.call_sid;
        // A status can race the call's last action callback (a caller hanging
        // up in a queue): the loser reads the call again and applies the status
        // to where the call now is, so the final status is never lost.
        for _ in 0..STATUS_TRIES {
            let state = match self.st.store().load_to_end(call).await {
                Ok(Some(s)) => s,
                Ok(None) => {
                    warn!(%call, "status for an unknown call");
                    return Ok(StatusCode::NO_CONTENT.into_response());
                }
                Err(e) => {
                    return Err(CallError::RetryLater(format!(
                        "could not load call {call} for its status: {e}"
                    )));
                }
            };
            let p = match self.program_of(&state).await {
                Ok(p) => p,
                // The version could not be read now: the provider may try again.
                Err(why) if why.passing => {
                    return Err(CallError::RetryLater(format!(
                        "call {call}'s status {word} cannot be applied yet: {why}"
                    )));
                }
                // It never will be: acknowledged, so the provider stops, and
                // logged, since the call keeps no final status.
                Err(why) => {
                    error!(%call, "the call's status {word} cannot be applied, and never will be (the call's last step stays stored, without its final status): {why}");
                    return Ok(StatusCode::NO_CONTENT.into_response());
                }
            };
            let event = Event::Status(cb.status);
            let (_, stored) = self
                .step_and_commit(&p, &state, event, &self.st.moment(), Some(word.clone()))
                .await;
            match stored {
                Err(StoreError::Conflict) => continue,
                Err(e) => {
                    return Err(CallError::RetryLater(format!(
                        "could not store call {call}'s status: {e}"
                    )));
                }
                Ok(()) => return Ok(StatusCode::NO_CONTENT.into_response()),
            }
        }
        // Lost every race: other callbacks keep moving the call. It has not
        // been stored, so the provider should send it again.
        Err(CallError::RetryLater(format!(
            "call {call}'s status lost {STATUS_TRIES} races for the call's step"
        )))
    }

    /// The calls waiting in Switchboard's own queue, on every instance (as
    /// the database has them); if it cannot be read, this instance's memory.
    async fn queue(&self, now: jiff::Timestamp) -> Vec<engine::CallState> {
        match self.st.store().waiting(now).await {
            Ok(calls) => calls,
            Err(e) => {
                warn!(
                    "the queue is read from this instance's memory, the store did not answer: {e}"
                );
                self.st.store().live_states()
            }
        }
    }

    /// An agent's call takes the caller who has waited longest for `group`
    /// in Switchboard's own queue: the caller's call is moved on (claimed,
    /// optimistically: of two agents racing for one caller, the second
    /// takes the next), and agent and caller meet in a room of their own.
    /// With no one waiting the agent hears the group's hold music and asks again.
    async fn agent(&self, agent_call: &str, group_name: &str) -> Result<Response, CallError> {
        note_call(agent_call);
        let current = self.st.program();
        let Some(gid) = current.group_by_name(group_name) else {
            return Err(CallError::Bad(BadCallback::Invalid(
                "group",
                group_name.to_owned(),
            )));
        };
        let now = self.st.now();
        for _ in 0..STATUS_TRIES {
            let live = self.queue(now).await;
            let mut waiting: Vec<(engine::Place, &engine::CallState)> = live
                .iter()
                .filter(|s| s.wait == engine::Wait::Queue && s.room.is_none())
                .map(|s| (engine::queue_place(s, group_name, now, &live), s))
                .filter(|(_, s)| {
                    s.tally
                        .queues
                        .last()
                        .is_some_and(|q| q.group == group_name && q.result.is_none())
                })
                .collect();
            waiting.sort_by_key(|(place, s)| (place.position, s.call_id.clone()));
            let Some((_, caller)) = waiting.first() else {
                break;
            };
            let caller = (*caller).clone();
            let p = self
                .program_of(&caller)
                .await
                .map_err(|why| CallError::apology(agent_call, None, why.why))?;
            let room: String = format!("{group_name}-{}", caller.call_id)
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let moment = self.st.moment();
            let (_, stored) = self
                .step_and_commit(
                    &p,
                    &caller,
                    Event::Claimed { room: room.clone() },
                    &moment,
                    None,
                )
                .await;
            match stored {
                Ok(()) => {
                    tracing::info!(agent = agent_call, caller = %caller.call_id, %room, "an agent took a caller");
                    let join = [Action::Conference { room, agent: true }];
                    return Ok(self.render(&join, &current, agent_call, 0, None));
                }
                // Another agent, or the caller's own callback, moved it first: the next.
                Err(StoreError::Conflict) => continue,
                Err(e) => {
                    return Err(CallError::apology(
                        agent_call,
                        None,
                        format!("could not hand a caller to an agent: {e}"),
                    ));
                }
            }
        }
        let g = current.groups.get(gid.index());
        let music = match g.and_then(|g| g.hold_music.clone()) {
            Some(file) => Speech::Play { file },
            None => Speech::Pause { seconds: 10 },
        };
        let wait = [
            Action::Speak(music),
            Action::AwaitCaller {
                group: group_name.to_owned(),
            },
        ];
        Ok(self.render(&wait, &current, agent_call, 0, None))
    }

    /// What a caller waiting in a queue hears next ([`engine::hold`]): the
    /// position and wait the provider reports, or else our own queue's.
    async fn wait(&self, w: QueueWait) -> Result<Response, CallError> {
        let call = w.call_sid.as_str();
        note_call(call);
        let current = self.st.program();
        // Hold music moves nothing: should the call's own version be
        // unavailable, the current program's group of that name still plays it.
        let state = self.st.store().load(call).await.ok().flatten();
        if state.is_none() && w.position.is_none() {
            // Our own hold loop for a call we do not know: nothing to hold
            // it for, so the caller gets the apology and the fallback route.
            return Err(CallError::apology(
                call,
                None,
                "a hold-loop turn for an unknown call",
            ));
        }
        let (p, language, step) = match &state {
            Some(s) => match self.program_of(s).await {
                Ok(p) => (p, s.language.clone(), s.step),
                Err(why) => {
                    warn!(%call, "hold music from the current flow version: {why}");
                    (current.clone(), s.language.clone(), s.step)
                }
            },
            None => (current.clone(), current.default_language.clone(), 0),
        };
        // The fallback route queues by the current program's group, which the
        // call's own version may not have: look there too before refusing.
        let (p, group) = match (p.group_by_name(&w.group), current.group_by_name(&w.group)) {
            (Some(g), _) => (p, g),
            (None, Some(g)) => (current, g),
            (None, None) => {
                warn!(%call, "a wait for a group no flow version has: {}", w.group);
                return Ok(hold_pause(
                    self.st,
                    self.provider,
                    Some(call),
                    Some(&w.group),
                    self.base,
                ));
            }
        };
        if let Some(s) = state.as_ref()
            && let Some(room) = &s.room
            && s.wait == engine::Wait::Queue
        {
            // An agent took this caller: into their room, the queue's
            // `bridged` reported at the step it waits at when the talk ends.
            let join = [Action::Conference {
                room: room.clone(),
                agent: false,
            }];
            return Ok(self.render(&join, &p, call, s.step, Some(&w.group)));
        }
        let now = self.st.now();
        // Only providers without queues of their own need ours (they report no position).
        let ours = match (&state, w.position) {
            (Some(s), None) => {
                let queue = self.queue(now).await;
                Some(engine::queue_place(s, &w.group, now, &queue))
            }
            _ => None,
        };
        let waiting = engine::Waiting {
            waited: w
                .waited
                .or_else(|| ours.as_ref().map(|o| o.waited))
                .unwrap_or_default(),
            position: w.position.or_else(|| ours.as_ref().map(|o| o.position)),
            expected: w.average,
            ours: w.position.is_none(),
        };
        let actions = engine::hold(&p, group, &language, &waiting);
        Ok(self.render(&actions, &p, call, step, Some(&w.group)))
    }
}
