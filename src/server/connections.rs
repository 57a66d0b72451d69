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
//! told to close once its answer is sent (hyper's graceful shutdown). hyper
//! has a header read timeout, but (in hyper 1.12) it also runs while a
//! keep-alive connection waits for its next request, so it cannot tell idle
//! from slow; it is switched off and both are timed here.
//!
//! Owns: accepting, per-connection timeouts, the cap, the process's
//! open-file limit. Must not: know about routes, providers or the store.

use axum::Router;
use axum::body::Body;
use hyper::body::{Bytes, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::*};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tracing::{debug, error, info, warn};

/// How long a request's headers may take from their first byte.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a connection may wait for a request. Twilio reuses its
/// connections between a call's callbacks, seconds apart.
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
const DRAIN: Duration = super::REQUEST_TIMEOUT.saturating_add(Duration::from_secs(2));

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
    let mut failing = Burst::default();
    let mut shedding = Burst::default();
    let mut refusing = Burst::default();
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
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
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
                if failing.hit() {
                    warn!(
                        "cannot accept connections: {e}; closing idle ones ({shed} now) and retrying, waiting up to {} between tries",
                        humantime::format_duration(LONGEST_PAUSE)
                    );
                }
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(LONGEST_PAUSE);
                continue;
            }
        };
        pause = FIRST_PAUSE;
        if let Some((times, over)) = failing.end() {
            info!("accepting connections again, after {times} failed tries over {over:.1?}");
        }
        // One answer per request, written whole: send it at once rather than
        // let Nagle's algorithm hold it back waiting for an acknowledgement.
        if let Err(e) = tcp.set_nodelay(true) {
            debug!("could not set TCP_NODELAY on a connection: {e}");
        }
        let (record, shed) = match registry.admit() {
            Some(admitted) => admitted,
            None => {
                if refusing.hit() {
                    warn!(
                        "{} connections open, every one with a request in flight: refusing new ones",
                        limits.max_connections
                    );
                }
                continue;
            }
        };
        if let Some((times, over)) = refusing.end() {
            info!("admitting connections again, after refusing {times} over {over:.1?}");
        }
        if shed {
            if shedding.hit() {
                warn!(
                    "{} connections open (the cap): closing the longest idle for each new one",
                    limits.max_connections
                );
            }
        } else if let Some((times, over)) = shedding.end() {
            info!("below the cap again, after closing {times} idle connections over {over:.1?}");
        }
        let conn = connection(
            tcp,
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
    };
    let mut conn = pin!(http.serve_connection(io, service));
    let mut expiry = Expiry::new(record.clone(), limits);
    // `biased`: the connection first, so that `expiry` sees the bytes it
    // has just read and the request it has just finished.
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

/// "No request is reading its headers."
const NOT_READING: u64 = u64::MAX;

/// What the server knows of one connection. Times are milliseconds since
/// the registry's start. The values are read by this connection's timer
/// and by the registry choosing whom to shed; nothing else is published
/// through them.
#[derive(Debug)]
struct Record {
    id: u64,
    epoch: Instant,
    /// Requests whose headers have arrived and whose response body has
    /// not yet been dropped.
    in_flight: AtomicU32,
    /// Since when it has been waiting for a request (its start, or the end
    /// of its last request).
    idle_since: AtomicU64,
    /// When the first byte of the request being read arrived, or
    /// [`NOT_READING`].
    reading_since: AtomicU64,
    /// Whether it has been asked to close.
    closing: AtomicBool,
    close: Notify,
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

    /// Bytes arrived: if no request is being read or served, one begins.
    fn bytes_arrived(&self) {
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
struct InFlight(Arc<Record>);

impl InFlight {
    fn begin(record: &Arc<Record>) -> Self {
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

/// The router as hyper calls it, counting each request in flight.
#[derive(Clone)]
struct Tracked {
    router: Router,
    record: Arc<Record>,
}

type Answer = Pin<Box<dyn Future<Output = Result<hyper::Response<Counted>, Infallible>> + Send>>;

impl hyper::service::Service<hyper::Request<Incoming>> for Tracked {
    type Response = hyper::Response<Counted>;
    type Error = Infallible;
    type Future = Answer;

    fn call(&self, req: hyper::Request<Incoming>) -> Answer {
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

/// Resolves when a connection has expired, with why. It reads the
/// connection's record each time it is polled, which is each time the
/// connection's task wakes (a byte, a finished request), and sleeps until
/// the deadline that follows from it.
struct Expiry {
    record: Arc<Record>,
    limits: Limits,
    sleep: Pin<Box<Sleep>>,
    wakes_at: u64,
}

impl Expiry {
    fn new(record: Arc<Record>, limits: Limits) -> Self {
        let now = Instant::now();
        Expiry {
            wakes_at: millis(record.epoch, now),
            sleep: Box::pin(tokio::time::sleep_until(now)),
            record,
            limits,
        }
    }
}

impl Future for Expiry {
    type Output = &'static str;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        let this = self.get_mut();
        loop {
            let now = this.record.now();
            let at = match this.record.deadline(&this.limits) {
                Some((at, why)) if at <= now => return Poll::Ready(why),
                Some((at, _)) => at,
                // A request in flight: look again an idle timeout from now,
                // unless a wake is already due.
                None if this.wakes_at > now => this.wakes_at,
                None => now.saturating_add(as_millis(this.limits.idle_timeout).max(1)),
            };
            if at != this.wakes_at {
                this.wakes_at = at;
                let when = this.record.epoch + Duration::from_millis(at);
                this.sleep.as_mut().reset(when);
            }
            ready!(this.sleep.as_mut().poll(cx));
        }
    }
}

/// The open connections, oldest first by id.
#[derive(Debug)]
struct Registry {
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
    fn new(cap: usize) -> Self {
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
    fn admit(&self) -> Option<(Arc<Record>, bool)> {
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
    fn shed(&self, n: usize) -> usize {
        let mut open = self.lock();
        let victims = idlest(&open.conns, n);
        open.close(&victims)
    }

    /// Ask every connection to close (idle ones at once, busy ones after
    /// their answer); how many are open.
    fn close_all(&self) -> usize {
        let mut open = self.lock();
        let ids: Vec<u64> = open.conns.keys().copied().collect();
        open.close(&ids);
        open.conns.len()
    }

    fn open(&self) -> usize {
        self.lock().conns.len()
    }

    fn remove(&self, id: u64) {
        let mut open = self.lock();
        if let Some(r) = open.conns.remove(&id)
            && r.closing.load(Relaxed)
        {
            open.closing -= 1;
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
struct Registered {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.registry.remove(self.id);
    }
}

/// A run of the same trouble, logged when it starts and when it ends
/// rather than each time.
#[derive(Debug, Default)]
struct Burst {
    times: u64,
    since: Option<Instant>,
}

impl Burst {
    /// Once more; whether this starts a burst.
    fn hit(&mut self) -> bool {
        self.times += 1;
        self.since.get_or_insert_with(Instant::now);
        self.times == 1
    }

    /// The burst is over: how many times, over how long.
    fn end(&mut self) -> Option<(u64, Duration)> {
        let since = self.since.take()?;
        Some((std::mem::take(&mut self.times), since.elapsed()))
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

    #[test]
    fn the_default_cap_leaves_a_quarter_of_the_descriptors() {
        assert_eq!(cap_for(Some(1024)), 768);
        assert_eq!(cap_for(Some(2)), 1);
        assert_eq!(cap_for(Some(1 << 20)), MOST_CONNECTIONS);
        assert_eq!(cap_for(None), MOST_CONNECTIONS);
    }

    #[test]
    fn a_burst_is_told_once_at_its_start_and_counted_at_its_end() {
        let mut b = Burst::default();
        assert_eq!(b.end(), None);
        assert!(b.hit());
        assert!(!b.hit());
        assert_eq!(b.end().map(|(n, _)| n), Some(2));
        assert!(b.hit(), "a new burst");
    }
}
