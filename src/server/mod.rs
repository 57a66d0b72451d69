//! The webhook server: an axum router of thin handlers over the store, the
//! compiled programs and the engine.
//!
//! A handler is: verify → parse → load state → `engine::step` → save →
//! render. Signature checks live in an extractor every provider route takes,
//! so no handler can skip them. Programs are kept per version, so a call
//! keeps the flow version it started with while new calls get the latest.

pub mod admin;
pub mod calls;
pub mod closures;
pub mod connections;
pub mod guard;
pub mod metrics;
mod recordings;
pub mod reload;
pub mod uploads;

pub use connections::Limits;

use crate::flow::FlowSet;
use crate::program::Program;
use crate::provider::Provider;
use crate::store::versions::{VersionError, Versions};
use crate::store::{Store, StoreError};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tower_http::trace::TraceLayer;

/// Largest request body accepted (Twilio's are a few kilobytes); larger gets 413.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Shared state of every handler: cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
    clock: Clock,
    answer_within: Duration,
    fault: Option<FaultHook>,
    /// `/metrics` on the server's own port (not when `--metrics-listen`
    /// serves it elsewhere).
    metrics_here: bool,
    /// The admin page's password and sessions; `None`: no admin page.
    admin: Option<Arc<admin::auth::AdminAuth>>,
    /// The providers whose routes are mounted.
    providers: Arc<[Arc<dyn Provider>]>,
    /// Where uploaded recordings are kept.
    uploads: Arc<PathBuf>,
}

/// A test's hook into the handlers: called with the route's name (`voice`,
/// `step`, `status`, `wait`, `done`) as each handler starts, so a test can
/// make one panic or stall. Never set by `switchboard serve`.
pub type FaultHook = Arc<dyn Fn(&str) + Send + Sync>;

/// Where a server gets the time (the real clock, or a test's).
pub type Clock = Arc<dyn Fn() -> jiff::Timestamp + Send + Sync>;

struct Inner {
    store: Store,
    versions: Versions,
    public_url: Option<String>,
    recordings: PathBuf,
    closures: closures::Followed,
    last_reload: std::sync::Mutex<Option<LastReload>>,
}

/// The last reload this instance tried, for the admin page.
#[derive(Clone, Debug)]
pub struct LastReload {
    /// When.
    pub at: jiff::Timestamp,
    /// What asked for it (`SIGHUP`, a file change).
    pub why: String,
    /// What it did.
    pub outcome: reload::Reloaded,
}

impl AppState {
    /// State over a compiled program, a store and Twilio's auth token
    /// (`None`: unsigned), serving Twilio alone until [`AppState::with_providers`].
    /// `public_url` is how providers reach us (behind a proxy or tunnel);
    /// without it the request's `Host` is used.
    pub fn new(
        program: Program,
        store: Store,
        recordings: PathBuf,
        twilio_token: Option<String>,
        public_url: Option<String>,
    ) -> Self {
        let uploads = Arc::new(
            recordings
                .parent()
                .unwrap_or(std::path::Path::new("."))
                .join("uploads"),
        );
        let inner = Arc::new(Inner {
            versions: Versions::new(store.clone(), program),
            store,
            public_url: public_url.map(|u| u.trim_end_matches('/').to_owned()),
            recordings,
            closures: Default::default(),
            last_reload: std::sync::Mutex::new(None),
        });
        AppState {
            inner,
            clock: Arc::new(jiff::Timestamp::now),
            answer_within: guard::ANSWER_WITHIN,
            fault: None,
            metrics_here: true,
            admin: None,
            uploads,
            providers: Arc::new([
                Arc::new(crate::provider::twilio::Twilio::new(twilio_token)) as Arc<dyn Provider>
            ]),
        }
    }

    /// The same state serving exactly `providers` (each at `/{name}/…`).
    pub fn with_providers(self, providers: Vec<Arc<dyn Provider>>) -> Self {
        AppState {
            providers: providers.into(),
            ..self
        }
    }

    /// The providers whose routes are mounted.
    pub fn providers(&self) -> &[Arc<dyn Provider>] {
        &self.providers
    }

    /// The same state answering voice requests within `deadline` (the
    /// apology and the fallback route when a step could not be stored by then).
    pub fn answering_within(self, deadline: Duration) -> Self {
        AppState {
            answer_within: deadline,
            ..self
        }
    }

    /// How long a voice request may take before the caller gets the apology.
    pub fn answer_within(&self) -> Duration {
        self.answer_within
    }

    /// The same state without `/metrics` on the server's port: it is served
    /// by [`metrics_app`] on another address instead.
    pub fn with_metrics_elsewhere(self) -> Self {
        AppState {
            metrics_here: false,
            ..self
        }
    }

    /// The same state with the admin page at `/admin`, behind `auth`.
    pub fn with_admin(self, auth: admin::auth::AdminAuth) -> Self {
        AppState {
            admin: Some(Arc::new(auth)),
            ..self
        }
    }

    /// Remember a reload for the admin page.
    pub fn note_reload(&self, why: &str, outcome: &reload::Reloaded) {
        let mut last = self
            .inner
            .last_reload
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *last = Some(LastReload {
            at: self.now(),
            why: why.to_owned(),
            outcome: outcome.clone(),
        });
    }

    /// The last reload this instance tried, if any.
    pub fn last_reload(&self) -> Option<LastReload> {
        self.inner
            .last_reload
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The same state with a test's [`FaultHook`].
    #[doc(hidden)]
    pub fn with_fault_hook(self, hook: FaultHook) -> Self {
        AppState {
            fault: Some(hook),
            ..self
        }
    }

    /// Where a test's fault hook may strike.
    pub(crate) fn fault_point(&self, route: &str) {
        if let Some(hook) = &self.fault {
            hook(route);
        }
    }

    /// The same state with another clock (schedules, history windows and
    /// timestamps all follow it): for rehearsals and tests at a fixed time.
    pub fn with_clock(self, clock: Clock) -> Self {
        AppState { clock, ..self }
    }

    /// The time now, by the server's clock.
    pub fn now(&self) -> jiff::Timestamp {
        (self.clock)()
    }

    /// The program for new calls.
    pub fn program(&self) -> Arc<Program> {
        self.inner.versions.current()
    }

    /// The program of the version a call started on: in memory, or compiled
    /// again from the store. Never another version's.
    pub async fn program_for(&self, version: &str) -> Result<Arc<Program>, VersionError> {
        self.inner.versions.get(version).await
    }

    /// Store `set` (compiled into `program`) under its version, then serve
    /// new calls with it; calls in progress keep theirs.
    pub async fn install(&self, set: &FlowSet, program: Program) -> Result<(), StoreError> {
        let installed = self
            .inner
            .versions
            .install(set, program, self.now())
            .await?;
        metrics::serving(&installed.version);
        Ok(())
    }

    /// Store the flow set of the program serving new calls (at start, before
    /// the first call), so calls on it survive a restart onto other flows.
    pub async fn save_current(&self, set: &FlowSet) -> Result<(), StoreError> {
        self.inner.versions.save_current(set, self.now()).await
    }

    /// The time now and the group closures as last read: what the engine
    /// is given for a step.
    pub fn moment(&self) -> Now {
        Now {
            now: self.now(),
            closures: self.inner.closures.current(),
        }
    }

    /// The same state keeping uploaded recordings in `dir`.
    pub fn with_uploads(self, dir: PathBuf) -> Self {
        AppState {
            uploads: Arc::new(dir),
            ..self
        }
    }

    /// Where uploaded recordings are kept (see [`uploads`]).
    pub fn uploads(&self) -> &std::path::Path {
        &self.uploads
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }
}

/// The time a step happens at and the group closures then, owned (see
/// [`AppState::moment`]); [`Now::at`] lends them to the engine.
#[derive(Clone, Debug)]
pub struct Now {
    /// The time.
    pub now: jiff::Timestamp,
    /// Groups closed by an admin.
    pub closures: Arc<crate::routing::Closures>,
}

impl Now {
    /// As the engine takes it.
    pub fn at(&self) -> crate::engine::Moment<'_> {
        crate::engine::Moment {
            now: self.now,
            closures: &self.closures,
        }
    }
}

/// The whole application: provider routes, recordings, health.
pub fn app(state: AppState) -> Router {
    let metrics_here = state.metrics_here;
    let router = Router::new().route("/healthz", get(health));
    let router = if metrics_here {
        router.route("/metrics", get(metrics::scrape))
    } else {
        router
    };
    router
        .nest_service(
            "/recordings",
            recordings::Recordings::new(&state.inner.recordings),
        )
        .merge(calls::routes(&state))
        .merge(admin::routes(&state))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TraceLayer::new_for_http().make_span_with(
            |req: &axum::http::Request<axum::body::Body>| {
                // Handlers fill in the call, its flow and its node once they know them.
                tracing::info_span!(
                    "request",
                    method = %req.method(),
                    path = %req.uri().path(),
                    call = tracing::field::Empty,
                    flow = tracing::field::Empty,
                    node = tracing::field::Empty,
                )
            },
        ))
        .with_state(state)
}

/// `/metrics` alone, for `--metrics-listen`: a monitoring network reaches
/// it there, and the provider-facing port does not serve it.
pub fn metrics_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics::scrape))
        .with_state(state)
}

/// `/healthz`: 200 while the store takes writes; 503 with the reason once
/// it refuses them, so a load balancer sends calls elsewhere.
async fn health(
    axum::extract::State(st): axum::extract::State<AppState>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match st.store().trouble() {
        None => "ok\n".into_response(),
        Some(why) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            format!("the store refuses writes: {why}\n"),
        )
            .into_response(),
    }
}

/// Serve on `listener` until `shutdown` resolves, then finish in-flight
/// requests and flush the store; connections get the default [`Limits`].
pub async fn run(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve(listener, state, Limits::default(), shutdown).await
}

/// Serve on `listener` with `limits` on its connections until `shutdown`
/// resolves; then stop accepting, let requests in flight finish (for a
/// bounded time) and flush the store.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let store = state.store().clone();
    metrics::handle();
    metrics::serving(&state.program().version);
    state.refresh_closures().await;
    let following = tokio::spawn(state.clone().follow_closures());
    let result = connections::serve(listener, app(state), limits, shutdown).await;
    following.abort();
    store.close().await;
    result
}
