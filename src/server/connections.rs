//! Connections: the accept loop under the router, and what keeps the server
//! reachable when clients hold connections they do not use.
//!
//! Every connection is a file descriptor and a task. Left alone, idle
//! keep-alive connections and half-sent requests stay open for as long as
//! the client likes, and enough of them (a thousand, at the usual limit of
//! 1,024 descriptors) leave none for Twilio's next callback. So each
//! connection has a [`Record`] in a shared [`Registry`], kept by a wrapper
//! around its socket (a request's first byte) and one around the service
//! (a request in flight, from its headers until its response body is
//! dropped), and its task closes it:
//!
//! - when it has waited [`Limits::idle_timeout`] for a request, new or kept
//!   alive, without a byte of one arriving;
//! - when a request's headers are not complete [`Limits::header_timeout`]
//!   after its first byte (slowloris);
//! - when the registry sheds it: at [`Limits::max_connections`] each new
//!   connection closes the one idle longest, and when accepting fails for
//!   want of descriptors a batch of the idlest go while accepting backs off.
//!
//! A connection with a request in flight is never shed nor timed out: it is
//! told to close once its answer is sent (hyper's graceful shutdown). That
//! also waits for the rest of a first request's headers, so a connection
//! asked to close that has not within [`CLOSE_GRACE`], with no request in
//! flight, is dropped. hyper
//! has a header read timeout, but (in hyper 1.12) it also runs while a
//! keep-alive connection waits for its next request, so it cannot tell idle
//! from slow; it is switched off and both are timed here.
//!
//! Owns: accepting, per-connection timeouts, the cap, the process's
//! open-file limit. Must not: know about routes, providers or the store.

mod registry;

use axum::Router;
use axum::body::Body;
use hyper::body::{Bytes, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use registry::{Expiry, InFlight, Record, Registered, Registry};
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::Ordering::Acquire;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

/// How long a request's headers may take from their first byte.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a connection may wait for a request: well above the seconds
/// between a call's callbacks, so that a provider keeping its connections
/// alive can use them again.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The default cap's ceiling, however many descriptors the process may
/// have: every connection costs memory too (buffers, a task).
pub const MOST_CONNECTIONS: usize = 65_536;

/// After a connection is asked to close with no request in flight, how long
/// hyper gets to close it before it is dropped (it waits for the rest of a
/// first request's headers).
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// How long requests in flight may take to finish once the server shuts
/// down: the longest a handler runs, and a little more to send the answer.
const DRAIN: Duration = super::guard::LONGEST_ANSWER_WITHIN.saturating_add(Duration::from_secs(2));

/// The first and the longest pause after accepting fails.
const FIRST_PAUSE: Duration = Duration::from_millis(10);
const LONGEST_PAUSE: Duration = Duration::from_secs(1);

/// How the server treats its connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// How long a request's headers may take from the request's first byte.
    pub header_timeout: Duration,
    /// How long a connection, new or kept alive, may wait for a request.
    pub idle_timeout: Duration,
    /// Most connections open at once; at the cap each new connection
    /// closes the one idle longest (or is refused if every one is busy).
    pub max_connections: usize,
}

impl Default for Limits {
    /// The default timeouts, and a cap that follows the open-file limit.
    fn default() -> Self {
        Limits {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: default_max_connections(),
        }
    }
}

/// The default cap: three quarters of the process's open-file limit, at
/// most [`MOST_CONNECTIONS`]. The other quarter is for the database and its
/// journal, the flow-directory watcher, recordings being sent and the
/// runtime.
pub fn default_max_connections() -> usize {
    cap_for(open_file_limit())
}

fn cap_for(limit: Option<u64>) -> usize {
    let three_quarters = limit.map_or(u64::MAX, |l| l / 4 * 3);
    usize::try_from(three_quarters).map_or(MOST_CONNECTIONS, |c| c.clamp(1, MOST_CONNECTIONS))
}

/// The soft limit on open files (`None`: unlimited).
#[cfg(target_os = "linux")]
fn open_file_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

/// The soft limit on open files: the common default where we cannot ask.
#[cfg(not(target_os = "linux"))]
fn open_file_limit() -> Option<u64> {
    Some(1024)
}

/// Raise the process's soft limit on open files to its hard limit, and log
/// both: each connection takes a descriptor, and the usual soft limit
/// (1,024) is far below what the hard limit allows.
pub fn raise_open_file_limit() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let Rlimit { current, maximum } = getrlimit(Resource::Nofile);
        let shown = |l: Option<u64>| l.map_or_else(|| "unlimited".to_owned(), |l| l.to_string());
        match (current, maximum) {
            (Some(soft), Some(hard)) if soft < hard => {
                let raised = Rlimit {
                    current: Some(hard),
                    maximum: Some(hard),
                };
                match setrlimit(Resource::Nofile, raised) {
                    Ok(()) => info!("open-file limit raised from {soft} to the hard limit, {hard}"),
                    Err(e) => warn!(
                        "open-file limit stays {soft}: cannot raise it to the hard limit, {hard}: {e}"
                    ),
                }
            }
            _ => info!(
                "open-file limit {} (the hard limit is {})",
                shown(current),
                shown(maximum)
            ),
        }
    }
}

/// Serve `router` on `listener` until `shutdown` resolves; then stop
/// accepting, close idle connections, and give requests in flight up to
/// [`DRAIN`] to finish.
pub(super) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    info!(
        "connections: headers within {}, idle ones closed after {}, at most {} open",
        humantime::format_duration(limits.header_timeout),
        humantime::format_duration(limits.idle_timeout),
        limits.max_connections
    );
    let registry = Arc::new(Registry::new(limits.max_connections));
    let mut http = hyper::server::conn::http1::Builder::new();
    // Headers are timed by `Expiry`; hyper's timeout would also close
    // keep-alive connections after it.
    http.header_read_timeout(None);
    let mut tasks = JoinSet::new();
    let mut told = Told::default();
    let mut pause = FIRST_PAUSE;
    let mut shutdown = pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            Some(done) = tasks.join_next() => {
                if let Err(e) = done {
                    error!("a connection's task failed: {e}");
                }
                continue;
            }
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            // The client gave up before we took its connection.
            Err(e) if is_the_clients(&e) => {
                debug!("a connection was lost before it was accepted: {e}");
                continue;
            }
            Err(e) => {
                let shed = if wants_descriptors(&e) {
                    registry.shed(registry.open() / 32 + 1)
                } else {
                    0
                };
                told.accept_failed(&e, shed);
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(LONGEST_PAUSE);
                continue;
            }
        };
        // Pauses start over after each accept: a try that follows freeing
        // descriptors is not a spin.
        pause = FIRST_PAUSE;
        let now = Instant::now();
        told.accepted(now);
        // One answer per request, written whole: send it at once rather than
        // let Nagle's algorithm hold it back waiting for an acknowledgement.
        if let Err(e) = tcp.set_nodelay(true) {
            debug!("could not set TCP_NODELAY on a connection: {e}");
        }
        let (record, shed) = match registry.admit() {
            Some(admitted) => admitted,
            None => {
                told.refused(now, limits.max_connections);
                continue;
            }
        };
        told.admitted(now, shed, limits.max_connections);
        let conn = connection(
            tcp,
            peer,
            router.clone(),
            http.clone(),
            record,
            registry.clone(),
            limits,
        );
        tasks.spawn(conn);
    }
    drop(listener);
    let open = registry.close_all();
    if open > 0 {
        info!("closing {open} connections; requests in flight get up to {DRAIN:?}");
    }
    let drained =
        tokio::time::timeout(DRAIN, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        warn!(
            "{} connections still busy after {DRAIN:?}: dropping them",
            tasks.len()
        );
        tasks.shutdown().await;
    }
    Ok(())
}

/// An accept error about one connection only (reset before we took it).
fn is_the_clients(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused
    )
}

/// An accept error that closing connections can cure: out of descriptors
/// (the process's or the system's) or of socket memory.
#[cfg(target_os = "linux")]
fn wants_descriptors(e: &io::Error) -> bool {
    use rustix::io::Errno;
    Errno::from_io_error(e)
        .is_some_and(|n| [Errno::MFILE, Errno::NFILE, Errno::NOBUFS, Errno::NOMEM].contains(&n))
}

/// An accept error that closing connections can cure: where errno values
/// are not at hand, any that is not about one connection.
#[cfg(not(target_os = "linux"))]
fn wants_descriptors(_: &io::Error) -> bool {
    true
}

/// Serve one connection until it ends, or until it expires, is shed or the
/// server shuts down; then close it without cutting a request in flight.
async fn connection(
    tcp: TcpStream,
    peer: std::net::SocketAddr,
    router: Router,
    http: hyper::server::conn::http1::Builder,
    record: Arc<Record>,
    registry: Arc<Registry>,
    limits: Limits,
) {
    let _registered = Registered {
        registry,
        id: record.id,
    };
    let io = TokioIo::new(Watched {
        tcp,
        record: record.clone(),
    });
    let service = Tracked {
        router,
        record: record.clone(),
        peer,
    };
    let mut conn = pin!(http.serve_connection(io, service));
    let mut expiry = Expiry::new(record.clone(), limits);
    // `biased`: a connection that has ended is done with, whatever else
    // woke at the same time.
    let why = tokio::select! {
        biased;
        done = conn.as_mut() => return ended(done),
        why = &mut expiry => why,
        () = record.close.notified() => "asked to",
    };
    debug!(id = record.id, "closing a connection: {why}");
    conn.as_mut().graceful_shutdown();
    loop {
        tokio::select! {
            done = conn.as_mut() => return ended(done),
            () = tokio::time::sleep(CLOSE_GRACE) => {
                if record.in_flight.load(Acquire) == 0 {
                    debug!(id = record.id, "dropping a connection that did not close");
                    return;
                }
            }
        }
    }
}

fn ended(done: hyper::Result<()>) {
    if let Err(e) = done {
        debug!("a connection ended: {e}");
    }
}

/// The router as hyper calls it, counting each request in flight.
#[derive(Clone)]
struct Tracked {
    router: Router,
    record: Arc<Record>,
    /// The client's address, given to handlers as `ConnectInfo` (the
    /// admin login's slowdown is per client).
    peer: std::net::SocketAddr,
}

type Answer = Pin<Box<dyn Future<Output = Result<hyper::Response<Counted>, Infallible>> + Send>>;

impl hyper::service::Service<hyper::Request<Incoming>> for Tracked {
    type Response = hyper::Response<Counted>;
    type Error = Infallible;
    type Future = Answer;

    fn call(&self, mut req: hyper::Request<Incoming>) -> Answer {
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(self.peer));
        let in_flight = InFlight::begin(&self.record);
        let answer = tower::Service::call(&mut self.router.clone(), req);
        Box::pin(async move {
            let res = answer.await?;
            Ok(res.map(|body| Counted {
                body,
                _in_flight: in_flight,
            }))
        })
    }
}

/// A response body that keeps its request in flight until it is dropped.
struct Counted {
    body: Body,
    _in_flight: InFlight,
}

impl hyper::body::Body for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A connection's socket, noting when bytes arrive.
struct Watched {
    tcp: TcpStream,
    record: Arc<Record>,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.tcp).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            this.record.bytes_arrived();
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

/// The accept loop's troubles, each told once when it starts and once
/// when it is over.
#[derive(Debug, Default)]
struct Told {
    failing: Burst,
    refusing: Burst,
    shedding: Burst,
}

impl Told {
    fn accept_failed(&mut self, e: &io::Error, shed: usize) {
        if self.failing.hit(Instant::now()) {
            warn!(
                "cannot accept connections: {e}; closing idle ones ({shed} now) and retrying, waiting up to {} between tries",
                humantime::format_duration(LONGEST_PAUSE)
            );
        }
    }

    fn accepted(&mut self, now: Instant) {
        if let Some((times, over)) = self.failing.end(now) {
            info!("accepting connections again, after {times} failed tries over {over:.1?}");
        }
    }

    fn refused(&mut self, now: Instant, cap: usize) {
        if self.refusing.hit(now) {
            warn!("{cap} connections open, every one with a request in flight: refusing new ones");
        }
    }

    fn admitted(&mut self, now: Instant, shed: bool, cap: usize) {
        if let Some((times, over)) = self.refusing.end(now) {
            info!("admitting connections again, after refusing {times} over {over:.1?}");
        }
        if shed {
            if self.shedding.hit(now) {
                warn!(
                    "{cap} connections open (the cap): closing the longest idle for each new one"
                );
            }
        } else if let Some((times, over)) = self.shedding.end(now) {
            info!("below the cap again, after closing {times} idle connections over {over:.1?}");
        }
    }
}

/// A run of the same trouble, logged when it starts and when it is over
/// rather than each time: it is over at the first good news [`QUIET`]
/// after its last occurrence.
#[derive(Debug, Default)]
struct Burst {
    times: u64,
    /// Its first and its last occurrence.
    span: Option<(Instant, Instant)>,
}

/// How long a trouble must stay away for its burst to be over.
const QUIET: Duration = Duration::from_secs(5);

impl Burst {
    /// It happened again; whether this starts a burst.
    fn hit(&mut self, now: Instant) -> bool {
        self.times += 1;
        match &mut self.span {
            Some((_, last)) => {
                *last = now;
                false
            }
            None => {
                self.span = Some((now, now));
                true
            }
        }
    }

    /// Good news: if that ends the burst, how many times it happened and
    /// over how long.
    fn end(&mut self, now: Instant) -> Option<(u64, Duration)> {
        let (first, last) = self.span?;
        if now.saturating_duration_since(last) < QUIET {
            return None;
        }
        self.span = None;
        Some((std::mem::take(&mut self.times), last - first))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_leaves_a_quarter_of_the_descriptors() {
        assert_eq!(cap_for(Some(1024)), 768);
        assert_eq!(cap_for(Some(2)), 1);
        assert_eq!(cap_for(Some(1 << 20)), MOST_CONNECTIONS);
        assert_eq!(cap_for(None), MOST_CONNECTIONS);
    }

    #[test]
    fn a_burst_is_told_once_at_its_start_and_over_once_it_has_kept_quiet() {
        let t = Instant::now();
        let mut b = Burst::default();
        assert_eq!(b.end(t), None, "no burst");
        assert!(b.hit(t));
        assert!(!b.hit(t + Duration::from_secs(1)));
        assert_eq!(b.end(t + Duration::from_secs(2)), None, "not quiet yet");
        assert!(!b.hit(t + Duration::from_secs(3)), "the same burst");
        let over = t + Duration::from_secs(3) + QUIET;
        assert_eq!(b.end(over), Some((3, Duration::from_secs(3))));
        assert_eq!(b.end(over), None);
        assert!(b.hit(over), "a new burst");
    }
}
