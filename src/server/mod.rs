//! The webhook server: an axum router of thin handlers over the store, the
//! compiled programs and the engine.
//!
//! A handler is: verify → parse → load state → `engine::step` → save →
//! render. Signature checks live in an extractor every provider route takes,
//! so no handler can skip them. Programs are kept per version, so a call
//! keeps the flow version it started with while new calls get the latest.

pub mod connections;
mod recordings;
pub mod twilio;

pub use connections::Limits;

use crate::program::Program;
use crate::store::Store;
use arc_swap::ArcSwap;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::get;
use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Largest request body accepted (Twilio's are a few kilobytes); larger gets 413.
pub const BODY_LIMIT: usize = 64 * 1024;

/// How long a request may take before it is answered 503, well under Twilio's 15 s.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(8);

/// The programs a server answers with.
struct Programs {
    current: Arc<Program>,
    by_version: HashMap<String, Arc<Program>>,
}

/// Shared state of every handler: cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
    clock: Clock,
}

/// Where a server gets the time (the real clock, or a test's).
pub type Clock = Arc<dyn Fn() -> jiff::Timestamp + Send + Sync>;

struct Inner {
    store: Store,
    programs: ArcSwap<Programs>,
    twilio_token: Option<String>,
    public_url: Option<String>,
    recordings: PathBuf,
}

impl AppState {
    /// State over a compiled program, a store and the provider secrets.
    /// `public_url` is how providers reach us (behind a proxy or tunnel);
    /// without it the request's `Host` is used.
    pub fn new(
        program: Program,
        store: Store,
        recordings: PathBuf,
        twilio_token: Option<String>,
        public_url: Option<String>,
    ) -> Self {
        let program = Arc::new(program);
        let by_version = HashMap::from([(program.version.clone(), program.clone())]);
        let inner = Arc::new(Inner {
            store,
            programs: ArcSwap::from_pointee(Programs {
                current: program,
                by_version,
            }),
            twilio_token,
            public_url: public_url.map(|u| u.trim_end_matches('/').to_owned()),
            recordings,
        });
        AppState {
            inner,
            clock: Arc::new(jiff::Timestamp::now),
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
        self.inner.programs.load().current.clone()
    }

    /// The program a call started on (the current one if that version is gone).
    pub fn program_for(&self, version: &str) -> Arc<Program> {
        let programs = self.inner.programs.load();
        programs
            .by_version
            .get(version)
            .cloned()
            .unwrap_or_else(|| programs.current.clone())
    }

    /// Serve new calls with `program`; calls in progress keep theirs.
    pub fn install(&self, program: Program) {
        let program = Arc::new(program);
        self.inner.programs.rcu(|old| {
            let mut by_version = old.by_version.clone();
            by_version.insert(program.version.clone(), program.clone());
            Programs {
                current: program.clone(),
                by_version,
            }
        });
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }
}

/// Load and compile `dir`; if it compiles, serve new calls with it (calls in
/// progress keep their version) and return its version; if not, keep the
/// current program and return the rendered diagnostics.
pub fn reload(state: &AppState, dir: &std::path::Path) -> Result<String, String> {
    let set = crate::flow::load_dir(dir).map_err(|e| e.to_string())?;
    let compiled = crate::compile::compile(&set);
    match compiled.program {
        Some(p) => {
            let version = p.version.clone();
            state.install(p);
            Ok(version)
        }
        None => Err(crate::diagnostic::render_text(
            &compiled.diagnostics,
            &set.sources,
            crate::diagnostic::Style::Plain,
        )),
    }
}

/// The whole application: provider routes, recordings, health.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .nest_service(
            "/recordings",
            recordings::Recordings::new(&state.inner.recordings),
        )
        .merge(twilio::routes())
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
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
    let result = connections::serve(listener, app(state), limits, shutdown).await;
    store.close().await;
    result
}
