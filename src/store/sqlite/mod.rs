//! The SQLite store: WAL, one writer with group commit, two readers, a checkpointer.
//!
//! Every write goes to a single writer task that owns the only writing
//! connection. It takes the first waiting commit, drains whatever else is
//! already queued (up to [`BATCH`]), and writes them all in one transaction —
//! many callbacks per fsync — then answers each caller only after that
//! transaction has committed. If a batch fails, its commits are retried one
//! by one, so one bad write cannot fail its neighbours. The writer runs its
//! statements on its own task's thread rather than sqlx's (see [`Writer`]).
//! Reads use two connections of their own, which WAL lets run beside the
//! writer, and a checkpointer copies the WAL into the database beside both.

pub mod files;

use super::live::LiveCalls;
use super::{Commit, StoreError};
use crate::engine::{CallState, PastCall};
use jiff::Timestamp;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, SqliteConnection};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard, mpsc, oneshot};
use tokio::task::JoinHandle;

/// Most commits written in one transaction.
pub const BATCH: usize = 512;

/// A commit and where its answer goes.
type Write = (Box<Commit>, oneshot::Sender<Result<(), StoreError>>);

enum Job {
    Write(Box<Commit>, oneshot::Sender<Result<(), StoreError>>),
    /// The database's files changed under the server: copy what the WAL
    /// holds into the database, where that can still save it.
    Rescue,
    /// Store a flow version (between two batches: versions are rare).
    SaveVersion(SavedVersion, oneshot::Sender<Result<(), StoreError>>),
    /// Checkpoint on the writer's own connection, between two batches, so
    /// that its next transaction starts the WAL over (see [`checkpoints`]).
    Checkpoint(oneshot::Sender<Result<Wal, StoreError>>),
    Close(oneshot::Sender<()>),
}

/// How to stop the background checkpointer, and its task, which hands back
/// the database file when it ends.
type Background = (oneshot::Sender<()>, JoinHandle<Option<tokio::fs::File>>);

/// A cheap-clone handle to the SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    jobs: mpsc::Sender<Job>,
    readers: Arc<Readers>,
    writer: Arc<Mutex<Option<JoinHandle<()>>>>,
    /// How to stop the checkpointer, and its task (which hands back the
    /// database file, to be closed after every connection).
    checkpointer: Arc<Mutex<Option<Background>>>,
    /// The database's files, watched (none for an in-memory database).
    files: Option<Arc<files::Files>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

impl SqliteStore {
    /// Open `sqlite://FILE`, creating and migrating it. Committed states are put into `live`.
    pub async fn open(url: &str, live: Arc<LiveCalls>) -> Result<SqliteStore, StoreError> {
        SqliteStore::start(url, live, true).await
    }

    /// [`SqliteStore::open`], with or without the background checkpointer.
    async fn start(
        url: &str,
        live: Arc<LiveCalls>,
        checkpoints_in_background: bool,
    ) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_FOR)
            // Statement journals (a statement that fails midway) stay in memory.
            .pragma("temp_store", "memory");
        // Checkpoints run beside the writer (see `checkpoints`), so its own
        // automatic checkpoint is only a backstop that keeps the WAL bounded.
        let mut writer = SqliteConnection::connect_with(
            &options
                .clone()
                .pragma("wal_autocheckpoint", WAL_BACKSTOP.to_string()),
        )
        .await
        .map_err(|e| StoreError::Open {
            path: options.get_filename().display().to_string(),
            why: match &e {
                sqlx::Error::Database(d) => d.message().to_owned(),
                e => e.to_string(),
            },
        })?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&mut writer)
            .await
            .map_err(|e| match e {
                sqlx::migrate::MigrateError::VersionMismatch(_) => {
                    StoreError::Outdated(e.to_string())
                }
                e => StoreError::Migrate(e),
            })?;
        // Reads are few (caller history, calls not in memory): two readers
        // with a small page cache each.
        let reader = options.clone().pragma("cache_size", "-1024");
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            readers.push(Mutex::new(Some(
                SqliteConnection::connect_with(&reader).await?,
            )));
        }
        let readers = Arc::new(Readers {
            conns: readers,
            next: AtomicUsize::new(0),
            options: reader,
        });
        let (jobs, rx) = mpsc::channel(4 * BATCH);
        let path = options.get_filename();
        let files = path.exists().then(|| Arc::new(files::Files::new(path)));
        if let Some(f) = &files {
            // Files already unfit for writing (made immutable, say) stop the
            // server at start, with what to do.
            if let Some(t) = f.check() {
                return Err(StoreError::Tripped(t.why.clone()));
            }
            tokio::spawn(watch_files(f.clone(), jobs.downgrade()));
        }
        let checkpointer = if checkpoints_in_background {
            let mut conn = SqliteConnection::connect_with(&options).await?;
            lower_priority(&mut conn).await;
            let file = database_file(options.get_filename()).await;
            let c = Checkpointer::new(conn, file, jobs.downgrade(), RESTART_AFTER);
            let (stop, stopped) = oneshot::channel();
            Some((stop, tokio::spawn(checkpoints(c, stopped))))
        } else {
            None
        };
        let (ready, started) = oneshot::channel();
        let handle = tokio::spawn(write_loop(writer, rx, live, files.clone(), ready));
        started.await.map_err(|_| StoreError::Closed)??;
        Ok(SqliteStore {
            jobs,
            readers,
            writer: Arc::new(Mutex::new(Some(handle))),
            checkpointer: Arc::new(Mutex::new(checkpointer)),
            files,
        })
    }

    /// Why the store refuses writes, if it does (its files changed under it).
    pub fn trouble(&self) -> Option<String> {
        self.files
            .as_ref()
            .and_then(|f| f.tripped())
            .map(|t| t.why.clone())
    }

    /// Write a step; returns once its transaction has committed.
    pub async fn commit(&self, c: Commit) -> Result<(), StoreError> {
        self.ask(|done| Job::Write(Box::new(c), done)).await
    }

    /// Hand the writer a job and wait for its answer.
    async fn ask(
        &self,
        job: impl FnOnce(oneshot::Sender<Result<(), StoreError>>) -> Job,
    ) -> Result<(), StoreError> {
        let (done, wait) = oneshot::channel();
        self.jobs
            .send(job(done))
            .await
            .map_err(|_| StoreError::Closed)?;
        wait.await.map_err(|_| StoreError::Closed)?
    }

    /// The one text column `sql` selects for `key`, if a row has it.
    async fn text_by(&self, sql: &'static str, key: &str) -> Result<Option<String>, StoreError> {
        let mut r = self.readers.get().await?;
        let row = sqlx::query_as(sql).bind(key).fetch_optional(r.conn()).await;
        let row: Option<(String,)> = r.done(row).await?;
        Ok(row.map(|(s,)| s))
    }

    /// Store a flow version's snapshot (JSON) under its version, once: a
    /// version already stored with the same snapshot is left as it is; one
    /// stored with another is an error (two flow sets with one hash).
    pub async fn save_version(
        &self,
        version: &str,
        snapshot: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let v = SavedVersion {
            version: version.to_owned(),
            snapshot: snapshot.to_owned(),
            at: at.as_millisecond(),
        };
        self.ask(|done| Job::SaveVersion(v, done)).await
    }

    /// A stored flow version's snapshot (JSON).
    pub async fn load_version(&self, version: &str) -> Result<Option<String>, StoreError> {
        self.text_by(
            "SELECT snapshot FROM flow_versions WHERE version = ?",
            version,
        )
        .await
    }

    /// A call's state.
    pub async fn load(&self, call_sid: &str) -> Result<Option<CallState>, StoreError> {
        let json = self.text_by("SELECT state FROM steps WHERE call_id = (SELECT id FROM calls WHERE call_sid = ?) ORDER BY step DESC LIMIT 1", call_sid).await?;
        Ok(match json {
            Some(json) => Some(serde_json::from_str(&json)?),
            None => None,
        })
    }

    /// The voice XML answered for a call's step.
    pub async fn response(&self, call_sid: &str, step: u64) -> Result<Option<String>, StoreError> {
        let mut r = self.readers.get().await?;
        let row = sqlx::query_as("SELECT response FROM steps WHERE call_id = (SELECT id FROM calls WHERE call_sid = ?) AND step = ?")
            .bind(call_sid)
            .bind(step as i64)
            .fetch_optional(r.conn())
            .await;
        let row: Option<(Option<String>,)> = r.done(row).await?;
        Ok(row.and_then(|(b,)| b))
    }

    /// Earlier calls from `caller` since `since`, newest first.
    pub async fn history(
        &self,
        caller: &str,
        since: Timestamp,
    ) -> Result<Vec<PastCall>, StoreError> {
        let mut r = self.readers.get().await?;
        let rows = sqlx::query_as(
            "SELECT started_at, outcome_group FROM calls WHERE caller = ? AND started_at >= ? ORDER BY started_at DESC LIMIT 50",
        )
        .bind(caller)
        .bind(since.as_millisecond())
        .fetch_all(r.conn())
        .await;
        let rows: Vec<(i64, Option<String>)> = r.done(rows).await?;
        Ok(rows
            .into_iter()
            .filter_map(|(ms, group)| {
                Timestamp::from_millisecond(ms)
                    .ok()
                    .map(|at| PastCall { at, group })
            })
            .collect())
    }

    /// How many records a call's event log holds.
    pub async fn event_count(&self, call_sid: &str) -> Result<u64, StoreError> {
        let mut r = self.readers.get().await?;
        let n = sqlx::query_as(
            "SELECT COALESCE(SUM(json_array_length(events)), 0) FROM steps WHERE call_id = (SELECT id FROM calls WHERE call_sid = ?)",
        )
        .bind(call_sid)
        .fetch_one(r.conn())
        .await;
        let (n,): (i64,) = r.done(n).await?;
        Ok(n as u64)
    }

    /// Has the call ended with its final status and every step from 1 to
    /// its last stored?
    pub async fn log_complete(&self, call_sid: &str) -> Result<bool, StoreError> {
        let mut r = self.readers.get().await?;
        let row = sqlx::query_as(
            "SELECT COUNT(*), MAX(step),
                    (SELECT ended_at FROM calls WHERE call_sid = ?1 AND final_status IS NOT NULL)
             FROM steps WHERE call_id = (SELECT id FROM calls WHERE call_sid = ?1)",
        )
        .bind(call_sid)
        .fetch_one(r.conn())
        .await;
        let (steps, last, ended): (i64, Option<i64>, Option<i64>) = r.done(row).await?;
        Ok(ended.is_some() && last == Some(steps) && steps > 0)
    }

    /// Write everything queued, stop the writer, close the readers.
    pub async fn close(&self) {
        let (done, wait) = oneshot::channel();
        if self.jobs.send(Job::Close(done)).await.is_ok() {
            let _ = wait.await;
        }
        if let Some(h) = self.writer.lock().await.take() {
            let _ = h.await;
        }
        let mut file = None;
        if let Some((stop, task)) = self.checkpointer.lock().await.take() {
            let _ = stop.send(());
            file = task.await.ok().flatten();
        }
        self.readers.close().await;
        // Last, once no connection to the file is left (see `Checkpointer`).
        drop(file);
    }
}

/// Read connections.
const READERS: usize = 2;

/// The read connections, each used by one query at a time. Not sqlx's
/// pool: that pings a connection each time it is given back, one more
/// round trip to the connection's thread for every read, which a local
/// file never needs (a read that was cancelled leaves nothing open: reads
/// are single statements, and the connection's thread finishes or resets
/// each before taking the next).
struct Readers {
    /// `None` once closed.
    conns: Vec<Mutex<Option<SqliteConnection>>>,
    /// Whose queue to join when every reader is busy.
    next: AtomicUsize,
    /// How to open a reader again should its thread stop.
    options: SqliteConnectOptions,
}

/// One reader, lent for one query: pass the query's result to
/// [`Reader::done`].
struct Reader<'a> {
    conn: MappedMutexGuard<'a, SqliteConnection>,
    options: &'a SqliteConnectOptions,
}

impl Readers {
    /// A free reader, else the next one in turn once it is free.
    async fn get(&self) -> Result<Reader<'_>, StoreError> {
        let free = self.conns.iter().find_map(|c| c.try_lock().ok());
        let guard = match free {
            Some(g) => g,
            None => {
                let i = self.next.fetch_add(1, Ordering::Relaxed) % self.conns.len();
                self.conns[i].lock().await
            }
        };
        let conn = MutexGuard::try_map(guard, Option::as_mut).map_err(|_| StoreError::Closed)?;
        Ok(Reader {
            conn,
            options: &self.options,
        })
    }

    /// Close every reader once its query is done; reads after this fail
    /// with [`StoreError::Closed`].
    async fn close(&self) {
        for c in &self.conns {
            if let Some(conn) = c.lock().await.take() {
                let _ = conn.close().await;
            }
        }
    }
}

impl Reader<'_> {
    fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }

    /// Give the reader back with its query's result. A reader whose thread
    /// has stopped is opened again in its place (sqlx's pool did that by
    /// pinging every connection it got back), so one crash does not fail
    /// every later read that lands on it.
    async fn done<T>(mut self, result: Result<T, sqlx::Error>) -> Result<T, StoreError> {
        if matches!(result, Err(sqlx::Error::WorkerCrashed)) {
            match SqliteConnection::connect_with(self.options).await {
                Ok(fresh) => *self.conn = fresh,
                Err(e) => {
                    tracing::warn!("a read connection stopped and could not be opened again: {e}")
                }
            }
        }
        Ok(result?)
    }
}

/// WAL pages after which the writer checkpoints by itself (≈ 160 MB), should
/// the checkpointer fall behind.
const WAL_BACKSTOP: u32 = 40_000;

/// How often the checkpointer copies the WAL back into the database. Often
/// and small beats seldom and large: each checkpoint syncs the WAL, copies
/// and syncs the database, and callbacks answered meanwhile are slower. With
/// 10,000 callbacks/s the p99 was 3.4–3.7 ms at 100 ms, 2.1–2.3 ms at 40 ms
/// and 1.8–2.1 ms at 20 ms, for 5% less closed-loop throughput and a third
/// more pages copied (docs/performance.md). An idle WAL costs a tick little:
/// a checkpoint with nothing to copy neither copies nor syncs.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(20);

/// WAL pages (≈ 64 MB) after which the writer finishes a checkpoint itself,
/// so that the WAL starts over from its beginning.
const RESTART_AFTER: i64 = 16_384;

/// A `PASSIVE` checkpoint: copies what it can without waiting for anyone.
/// Run on the checkpointer's connection and on the writer's; its row is
/// read by [`Wal::of`].
const CHECKPOINT: &str = "PRAGMA wal_checkpoint(PASSIVE)";

impl Wal {
    /// What [`CHECKPOINT`]'s row says: busy (0 or 1), frames, copied.
    fn of((busy, frames, copied): (i64, i64, i64)) -> Wal {
        Wal {
            busy: busy != 0,
            frames,
            copied,
        }
    }

    /// Whether this checkpoint has copied pages since `then`'s: SQLite
    /// counts pages copied since the WAL last started over, so a WAL
    /// shorter than `then`'s has started over and counts from zero again.
    fn copied_since(self, then: Wal) -> bool {
        let restarted = self.frames < then.frames;
        self.copied > if restarted { 0 } else { then.copied }
    }
}

/// The database file, opened for the checkpointer to sync; none for an
/// in-memory database.
async fn database_file(path: &std::path::Path) -> Option<tokio::fs::File> {
    if !path.exists() {
        return None;
    }
    // Writable: some systems sync only files opened for writing.
    match tokio::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .await
    {
        Ok(file) => Some(file),
        Err(e) => {
            tracing::warn!(
                "could not open {} to sync it after checkpoints (the writer's checkpoints will sync it, with longer pauses): {e}",
                path.display()
            );
            None
        }
    }
}

/// What `PRAGMA wal_checkpoint` reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Wal {
    /// A reader or another checkpoint kept it from finishing.
    busy: bool,
    /// Pages in the WAL since it last started over.
    frames: i64,
    /// How many of them are now in the database.
    copied: i64,
}

/// The checkpointer thread's nice value: low enough that it yields to the
/// threads answering callbacks, high enough that it keeps up on a saturated
/// core (at 19 it starved, and the writer was left to copy the whole WAL).
#[cfg(target_os = "linux")]
const CHECKPOINTER_NICE: i32 = 10;

/// Run a connection's database thread at a lower CPU priority. Copying
/// the WAL into the database is background work: on a busy core it should
/// wait for callbacks, not delay them for the milliseconds a checkpoint
/// takes. sqlx runs each SQLite connection on a thread of its own, and its
/// progress handler is the one hook that runs there; on Linux a nice value
/// belongs to a thread, so setting it from the handler lowers that thread
/// alone. Failing that, the checkpointer merely competes with the rest.
#[cfg(target_os = "linux")]
async fn lower_priority(conn: &mut SqliteConnection) {
    let outcome = Arc::new(std::sync::OnceLock::new());
    let set = outcome.clone();
    match conn.lock_handle().await {
        Ok(mut handle) => handle.set_progress_handler(1, move || {
            // Lower, never raise: a server started niced stays as nice.
            set.get_or_init(|| {
                let now = rustix::process::getpriority_process(None)?;
                rustix::process::setpriority_process(None, now.max(CHECKPOINTER_NICE))
            });
            true
        }),
        Err(e) => {
            tracing::warn!("could not lower the WAL checkpointer's priority: {e}");
            return;
        }
    }
    let ran = sqlx::query("SELECT 1").execute(&mut *conn).await;
    if let Ok(mut handle) = conn.lock_handle().await {
        handle.remove_progress_handler();
    }
    match (ran, outcome.get()) {
        (Ok(_), Some(Ok(()))) => {}
        (Err(e), _) => tracing::warn!("could not lower the WAL checkpointer's priority: {e}"),
        (_, Some(Err(e))) => {
            tracing::warn!("could not lower the WAL checkpointer's priority: {e}")
        }
        (Ok(_), None) => tracing::warn!(
            "could not lower the WAL checkpointer's priority: its thread never ran the hook"
        ),
    }
}

/// Elsewhere a nice value may belong to the whole process: leave it be.
#[cfg(not(target_os = "linux"))]
async fn lower_priority(_: &mut SqliteConnection) {}

/// [`CHECKPOINT`] on the checkpointer's connection.
async fn checkpoint(conn: &mut SqliteConnection) -> Result<Wal, sqlx::Error> {
    Ok(Wal::of(sqlx::query_as(CHECKPOINT).fetch_one(conn).await?))
}

/// Logs a failure that recurs every tick once (and its end), not every tick.
#[derive(Default)]
struct Trouble(Option<String>);

impl Trouble {
    fn failed(&mut self, what: &str, e: impl std::fmt::Display) {
        let message = format!("{what}: {e}");
        if self.0.as_ref() != Some(&message) {
            tracing::warn!("{message}");
            self.0 = Some(message);
        }
    }

    fn ok(&mut self) {
        if let Some(message) = self.0.take() {
            tracing::info!("recovered from: {message}");
        }
    }

    fn report(&mut self, what: &str, result: Result<(), impl std::fmt::Display>) {
        match result {
            Err(e) => self.failed(what, e),
            Ok(()) => self.ok(),
        }
    }
}

/// The background checkpointer: its own connection, and a handle on the
/// database file to sync. The handle must outlive every connection to the
/// file: closing any descriptor of a file drops the process's POSIX locks
/// on it, SQLite's included, so [`SqliteStore::close`] drops it last.
struct Checkpointer {
    conn: SqliteConnection,
    file: Option<tokio::fs::File>,
    writer: mpsc::WeakSender<Job>,
    /// WAL pages after which the writer is asked to finish a checkpoint.
    restart_after: i64,
    /// The WAL as of the last sync of the database file.
    synced: Wal,
    checkpoint_trouble: Trouble,
    sync_trouble: Trouble,
    writer_trouble: Trouble,
}

impl Checkpointer {
    fn new(
        conn: SqliteConnection,
        file: Option<tokio::fs::File>,
        writer: mpsc::WeakSender<Job>,
        restart_after: i64,
    ) -> Checkpointer {
        Checkpointer {
            conn,
            file,
            writer,
            restart_after,
            synced: Wal::default(),
            checkpoint_trouble: Trouble::default(),
            sync_trouble: Trouble::default(),
            writer_trouble: Trouble::default(),
        }
    }

    /// A checkpoint, then a sync of the database file if it copied pages.
    /// SQLite syncs the file only after a checkpoint that copied
    /// everything, which under load is only ever the writer's: syncing the
    /// pages copied so far here leaves few for the writer's sync.
    async fn copy_and_sync(&mut self) -> Option<Wal> {
        let wal = match checkpoint(&mut self.conn).await {
            Ok(wal) => wal,
            Err(e) => {
                self.checkpoint_trouble.failed("WAL checkpoint failed", e);
                return None;
            }
        };
        self.checkpoint_trouble.ok();
        // A busy checkpoint reports no pages at all.
        if wal.busy && wal.frames < 0 {
            return Some(wal);
        }
        if let Some(file) = self.file.as_ref().filter(|_| wal.copied_since(self.synced)) {
            let synced = file.sync_data().await;
            self.sync_trouble.report(
                "syncing the database file after a WAL checkpoint failed",
                synced,
            );
        }
        self.synced = wal;
        Some(wal)
    }

    /// Ask the writer to checkpoint between two batches; false once the
    /// writer is gone.
    async fn hand_to_writer(&mut self) -> bool {
        let Some(jobs) = self.writer.upgrade() else {
            return false;
        };
        let (done, wait) = oneshot::channel();
        if jobs.send(Job::Checkpoint(done)).await.is_err() {
            return false;
        }
        drop(jobs);
        match wait.await {
            Ok(result) => {
                self.writer_trouble.report(
                    "the writer's WAL checkpoint failed (SQLite's own checkpoint takes over)",
                    result.map(|_| ()),
                );
                true
            }
            Err(_) => false,
        }
    }
}

/// Copy the WAL into the database now and then, on a connection of its own,
/// so the writer does not stop for it and a page written many times in
/// between is copied once. `PASSIVE` never blocks the writer or the readers.
///
/// A WAL only starts over when a write begins with every page already
/// copied, which under steady load never happens by itself: pages keep
/// arriving while a checkpoint runs. So once the WAL is long, the writer is
/// asked to checkpoint between two batches: the few pages written since
/// this checkpoint began are copied, and its next transaction starts the WAL
/// over. Left to SQLite, that happens only at the backstop, in the middle of
/// a commit and with every page still to copy and sync — a stall of tens of
/// milliseconds for every caller waiting on that commit.
///
/// Runs until `stop` fires or the writer is gone, then closes its
/// connection and hands back the database file for the caller to close last.
async fn checkpoints(
    mut c: Checkpointer,
    mut stop: oneshot::Receiver<()>,
) -> Option<tokio::fs::File> {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = tick.tick() => {}
        }
        let Some(wal) = c.copy_and_sync().await else {
            continue;
        };
        // Until the WAL has grown long enough that starting it over beats
        // appending to it, the checkpointer copies alone.
        if wal.frames < c.restart_after {
            continue;
        }
        // Catch up with the pages written during that checkpoint and its
        // sync, so the writer has only a few left to copy. If none were
        // written, the WAL is idle and fully copied: the next commit,
        // whenever it comes, starts it over by itself.
        let busy = c
            .copy_and_sync()
            .await
            .is_some_and(|caught| caught.frames > wal.frames);
        if busy && !c.hand_to_writer().await {
            break;
        }
    }
    let _ = c.conn.close().await;
    c.file
}

/// The writer's connection, used on whichever runtime thread runs the
/// writer task, not on a connection thread of sqlx's.
///
/// sqlx runs every SQLite connection on a thread of its own and hands each
/// statement there and back. For the writer that hand-off was the hot
/// path's largest cost: on one core the writer's thread and the runtime's
/// preempted each other in the middle of batches, and the p99 at 10,000
/// callbacks/s was mostly that (see docs/performance.md). So the writer
/// takes sqlx's connection out of its thread's hands for good
/// ([`SqliteConnection::lock_handle`]) and runs its statements through
/// rusqlite right where the batch is built.
///
/// The writer therefore holds a runtime thread while it works. A batch is CPU
/// work and writes to the page cache (`synchronous=NORMAL` syncs nothing on
/// commit; the checkpointer syncs, on its own thread), tens to hundreds of
/// microseconds. Longer, and with syncs: about once a second under load,
/// the checkpoint the checkpointer hands over and the next commit, which
/// starts the WAL over (0.7–2.4 ms measured); and SQLite's own backstop
/// checkpoint inside a commit, should the checkpointer fall far behind.
/// Where SQLite would wait for another process's write lock, the writer
/// waits asynchronously instead (see [`Writer::write_waiting`]).
/// (SQLite may still sleep briefly in a read-lock retry it does not leave
/// to the busy handler; that is rare and short.)
struct Writer<'c> {
    /// Declared first, so it is dropped (its cached statements finalised)
    /// before the lock is given back.
    db: rusqlite::Connection,
    _locked: sqlx::sqlite::LockedSqliteHandle<'c>,
}

/// How long a batch waits for another process's write lock before it
/// fails (the busy timeout the other connections have; shorter in unit
/// tests, which wait it out).
const BUSY_FOR: Duration = if cfg!(test) {
    Duration::from_millis(250)
} else {
    Duration::from_secs(5)
};

/// Longest pause between two tries for a write lock held elsewhere.
const BUSY_PAUSE: Duration = Duration::from_millis(20);

impl<'c> Writer<'c> {
    /// Take `conn` over until the writer is dropped.
    async fn lock(conn: &'c mut SqliteConnection) -> Result<Writer<'c>, StoreError> {
        let mut locked = conn.lock_handle().await?;
        let raw = locked.as_raw_handle();
        // SAFETY: `raw` is an open connection, and it stays open and ours
        // alone while `locked` lives: sqlx's thread for it waits on the
        // lock, and the connection is closed only through `conn`, which
        // `locked` borrows. `db` is dropped before `locked` (field order),
        // and a connection made by `from_handle` never closes the handle
        // (nor, with rusqlite's `hooks` features off, touches its hooks).
        // There is one SQLite: `libsqlite3-sys` links it once for both.
        // Extended result codes tell a lost race (a unique key) from other
        // constraint failures; sqlx turns them on too, this does not rely on it.
        let db = unsafe {
            rusqlite::ffi::sqlite3_extended_result_codes(raw.as_ptr(), 1);
            rusqlite::Connection::from_handle(raw.as_ptr())
        }?;
        // Waiting for a lock is done here, without blocking the runtime.
        db.busy_timeout(Duration::ZERO)?;
        Ok(Writer {
            db,
            _locked: locked,
        })
    }

    /// Run `attempt` until it is not refused for another process's write
    /// lock, waiting (asynchronously) for up to [`BUSY_FOR`] in all.
    async fn waiting<T>(
        &mut self,
        mut attempt: impl FnMut(&mut rusqlite::Connection) -> Result<T, rusqlite::Error>,
    ) -> Result<T, rusqlite::Error> {
        let deadline = tokio::time::Instant::now() + BUSY_FOR;
        let mut pause = Duration::from_millis(1);
        loop {
            match attempt(&mut self.db) {
                Err(e)
                    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                        && tokio::time::Instant::now() + pause < deadline =>
                {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(BUSY_PAUSE);
                }
                result => return result,
            }
        }
    }

    /// [`write`], waiting for a write lock held elsewhere (see [`Writer::waiting`]).
    #[cfg(test)]
    async fn write_waiting(&mut self, commits: &[&Commit]) -> Result<(), rusqlite::Error> {
        self.waiting(|db| write(db, commits)).await
    }

    /// Write the commits of `batch` whose callers still wait, in one
    /// transaction, waiting for a write lock held elsewhere; a caller that
    /// stops waiting meanwhile has its commit taken out before the next try.
    async fn write_wanted(&mut self, batch: &mut Vec<Write>) -> Result<(), rusqlite::Error> {
        self.waiting(|db| {
            drop_abandoned(batch);
            if batch.is_empty() {
                return Ok(());
            }
            let commits: Vec<&Commit> = batch.iter().map(|(c, _)| c.as_ref()).collect();
            write(db, &commits)
        })
        .await
    }

    /// Store a flow version in its own transaction (waiting, like commits,
    /// for a write lock held elsewhere).
    async fn save_version(&mut self, v: &SavedVersion) -> Result<(), StoreError> {
        let stored = self.waiting(|db| save_version(db, v)).await?;
        if stored {
            Ok(())
        } else {
            Err(StoreError::VersionClash(v.version.clone()))
        }
    }

    /// Copy everything the WAL holds into the database and sync it (the
    /// files changed under the server: a deleted log's pages survive only
    /// this way).
    fn rescue(&mut self) -> bool {
        match self.db.query_row("PRAGMA wal_checkpoint(FULL)", [], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        }) {
            Ok((0, frames, copied)) if frames == copied => {
                tracing::warn!(
                    frames,
                    "copied every page of the write-ahead log into the database"
                );
                return true;
            }
            Ok((busy, frames, copied)) => tracing::error!(
                busy,
                frames,
                copied,
                "could not copy the whole write-ahead log into the database (a reader held it): the pages not copied are only in the server's open log; leave the server running and stop other programs reading the database: it is tried again with every refused write"
            ),
            Err(e) => tracing::error!("could not copy the write-ahead log into the database: {e}"),
        }
        false
    }

    /// [`CHECKPOINT`] on the writer's connection.
    fn checkpoint(&mut self) -> Result<Wal, rusqlite::Error> {
        let row = self
            .db
            .query_row(CHECKPOINT, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(Wal::of(row))
    }
}

/// Check the database's files every [`files::CHECK_EVERY`] until the store
/// closes; once they trip, have the writer save what the WAL holds.
async fn watch_files(files: Arc<files::Files>, jobs: mpsc::WeakSender<Job>) {
    let mut tick = tokio::time::interval(files::CHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(jobs) = jobs.upgrade().filter(|j| !j.is_closed()) else {
            return;
        };
        if files.check().is_some() {
            let _ = jobs.send(Job::Rescue).await;
            return;
        }
    }
}

async fn write_loop(
    mut conn: SqliteConnection,
    mut rx: mpsc::Receiver<Job>,
    live: Arc<LiveCalls>,
    files: Option<Arc<files::Files>>,
    ready: oneshot::Sender<Result<(), StoreError>>,
) {
    let mut writer = match Writer::lock(&mut conn).await {
        Ok(writer) => {
            let _ = ready.send(Ok(()));
            writer
        }
        Err(e) => {
            // The connection is dropped, which stops its thread.
            let _ = ready.send(Err(e));
            return;
        }
    };
    let mut closing = None;
    let mut checkpointing = None;
    let mut saving = Vec::new();
    let mut rescue = false;
    let mut rescued = false;
    while closing.is_none() {
        let Some(first) = rx.recv().await else { break };
        // Let the callbacks that are ready queue their commits too, so they
        // share this transaction rather than wait for the next.
        tokio::task::yield_now().await;
        let mut batch = Vec::new();
        for job in std::iter::once(first)
            .chain(std::iter::from_fn(|| rx.try_recv().ok()))
            .take(BATCH)
        {
            match job {
                Job::Write(c, done) => batch.push((c, done)),
                Job::SaveVersion(v, done) => saving.push((v, done)),
                Job::Rescue => rescue = true,
                Job::Checkpoint(done) => {
                    checkpointing = Some(done);
                    break;
                }
                Job::Close(done) => {
                    closing = Some(done);
                    break;
                }
            }
        }
        let tripped = files.as_deref().and_then(|f| f.tripped()).cloned();
        match tripped {
            Some(t) => {
                let refused = || Err(StoreError::Tripped(t.why.clone()));
                for (_, done) in batch {
                    let _ = done.send(refused());
                }
                for (_, done) in saving.drain(..) {
                    let _ = done.send(refused());
                }
                // Until every page is saved, each refused batch tries again.
                if std::mem::take(&mut rescue) || (t.rescue && !rescued) {
                    rescued = !t.rescue || writer.rescue();
                }
            }
            None => {
                let failed = write_batch(&mut writer, batch, &live).await;
                for (v, done) in saving.drain(..) {
                    let _ = done.send(writer.save_version(&v).await);
                }
                // A write that failed for a reason of its own may be the
                // first sign of the files changing: look now, not later.
                if failed && let Some(t) = files.as_deref().and_then(|f| f.check()) {
                    rescued = !t.rescue || writer.rescue();
                }
            }
        }
        if let Some(done) = checkpointing.take() {
            let _ = done.send(writer.checkpoint().map_err(StoreError::from));
        }
    }
    rx.close();
    drop(writer);
    let _ = conn.close().await;
    if let Some(done) = closing {
        let _ = done.send(());
    }
}

/// Write a batch of commits and answer each, updating the live calls;
/// whether any failed for a reason other than a lost race or a lock.
async fn write_batch(writer: &mut Writer<'_>, mut batch: Vec<Write>, live: &LiveCalls) -> bool {
    if batch.is_empty() {
        return false;
    }
    tracing::trace!(commits = batch.len(), "writing a batch");
    // The cache of live calls follows the commits here, not in the callers.
    let busy = match writer.write_wanted(&mut batch).await {
        Ok(()) => {
            for (c, done) in batch {
                live.put(&c.state);
                let _ = done.send(Ok(()));
            }
            return false;
        }
        Err(e) => e
            .sqlite_error()
            .copied()
            .filter(|f| f.code == rusqlite::ErrorCode::DatabaseBusy),
    };
    // Another process held the lock for the whole wait: each commit would
    // wait as long again. They fail together.
    if let Some(f) = busy {
        for (_, done) in batch {
            let _ = done.send(Err(StoreError::from(rusqlite::Error::SqliteFailure(
                f, None,
            ))));
        }
        return false;
    }
    // The batch failed: give each commit its own transaction and its own answer.
    let mut failed = false;
    for write in batch {
        // Like the batch: a caller that stops waiting, even while this
        // waits for a lock, has its commit taken out before it is written.
        let mut one = vec![write];
        let result = writer.write_wanted(&mut one).await.map_err(store_error);
        let Some((c, done)) = one.pop() else { continue };
        match &result {
            Ok(()) => live.put(&c.state),
            // Someone else moved the call: read it afresh next time.
            Err(StoreError::Conflict) => live.forget(&c.state.call_id),
            Err(_) => failed = true,
        }
        let _ = done.send(result);
    }
    failed
}

/// Take out the commits whose callers stopped waiting: a request whose
/// deadline passed answered the apology instead, and the store must hold
/// what the caller heard, not a step nobody heard.
fn drop_abandoned(batch: &mut Vec<Write>) {
    let before = batch.len();
    batch.retain(|(_, done)| !done.is_closed());
    if batch.len() < before {
        tracing::warn!(
            commits = before - batch.len(),
            "dropped steps whose callers stopped waiting before they could be written"
        );
    }
}

/// A flow version on its way to the writer.
struct SavedVersion {
    version: String,
    snapshot: String,
    at: i64,
}

/// Insert a version unless it is there; is what is stored now `v`'s snapshot?
fn save_version(db: &rusqlite::Connection, v: &SavedVersion) -> Result<bool, rusqlite::Error> {
    use rusqlite::params;
    if !db.is_autocommit() {
        db.execute_batch("ROLLBACK")?;
    }
    db.execute(
        "INSERT INTO flow_versions (version, saved_at, snapshot) VALUES (?1, ?2, ?3)
         ON CONFLICT (version) DO NOTHING",
        params![v.version, v.at, v.snapshot],
    )?;
    db.query_row(
        "SELECT snapshot = ?2 FROM flow_versions WHERE version = ?1",
        params![v.version, v.snapshot],
        |r| r.get(0),
    )
}

/// A lost race or a duplicate: a row that must be new already exists.
fn store_error(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error() {
        Some(f)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            StoreError::Conflict
        }
        _ => StoreError::from(e),
    }
}

const NEW_CALL: &str = "INSERT INTO calls (call_sid, flow, version, caller, called, started_at,
        node, updated_at, ended_at, final_status, outcome, outcome_group)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

/// A step's call by its id: its row is new in this batch or older. A
/// missing call gives a NULL id, which the table refuses.
const STEP: &str = "INSERT INTO steps (call_id, step, at, node, wait, state, response, events)
    VALUES ((SELECT id FROM calls WHERE call_sid = ?1), ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

const SUMMARY: &str = "UPDATE calls SET
        node = ?2, updated_at = ?3,
        ended_at = COALESCE(ended_at, ?4),
        final_status = COALESCE(?5, final_status),
        outcome = ?6, outcome_group = ?7
    WHERE call_sid = ?1";

const VOICEMAIL: &str =
    "INSERT INTO voicemails (call_sid, grp, url, seconds, at) VALUES (?1, ?2, ?3, ?4, ?5)";

const CALLBACK: &str = "INSERT INTO callbacks (call_sid, grp, number, at) VALUES (?1, ?2, ?3, ?4)";

const SURVEY: &str = "INSERT INTO surveys (call_sid, node, grp, rating, scale, at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// Records of an event that moved nothing, appended to the step it came at.
const ANNOTATE: &str = "UPDATE steps SET events = (
        SELECT json_group_array(json(value) ORDER BY part, key) FROM (
            SELECT 0 AS part, key, value FROM json_each(steps.events)
            UNION ALL SELECT 1, key, value FROM json_each(?1)))
    WHERE call_id = (SELECT id FROM calls WHERE call_sid = ?2) AND step = ?3";

/// Write `commits` in one transaction. A new call's row and every step's
/// row must be new (that is the optimistic check: a duplicate callback
/// computes a step that already exists), or the whole transaction fails
/// and the caller retries commit by commit to learn which one lost.
fn write(db: &mut rusqlite::Connection, commits: &[&Commit]) -> Result<(), rusqlite::Error> {
    let rows = commits
        .iter()
        .map(|c| Row::of(c))
        .collect::<Result<Vec<_>, _>>()?;
    if !db.is_autocommit() {
        // Whatever left a transaction open, this batch must not join it.
        db.execute_batch("ROLLBACK")?;
    }
    db.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    let result = write_rows(db, &rows).and_then(|()| {
        db.prepare_cached("COMMIT")?.execute([])?;
        Ok(())
    });
    if result.is_err() && !db.is_autocommit() {
        // Leave no transaction open behind a failed statement.
        let _ = db.execute_batch("ROLLBACK");
    }
    result
}

/// Each table's rows, table by table: new calls first (their steps find
/// them by id), then steps, call summaries, what the steps collected, and
/// the records of events that moved nothing.
fn write_rows(db: &rusqlite::Connection, rows: &[Row<'_>]) -> Result<(), rusqlite::Error> {
    use rusqlite::params;
    let mut new_call = db.prepare_cached(NEW_CALL)?;
    for r in rows
        .iter()
        .filter(|r| r.c.moved() && r.c.expected_step.is_none())
    {
        let s = &r.c.state;
        new_call.execute(params![
            s.call_id,
            r.c.flow,
            s.version,
            s.caller,
            s.called,
            r.at,
            r.c.node,
            r.at,
            r.ended_at,
            r.c.final_status,
            r.outcome,
            r.outcome_group,
        ])?;
    }
    let mut step = db.prepare_cached(STEP)?;
    for r in rows.iter().filter(|r| r.c.moved()) {
        let s = &r.c.state;
        step.execute(params![
            s.call_id,
            s.step as i64,
            r.at,
            r.c.node,
            r.wait,
            r.state,
            r.c.response,
            r.c.events,
        ])?;
    }
    let mut summary = db.prepare_cached(SUMMARY)?;
    for (r, final_status, ended_at) in summaries(rows) {
        summary.execute(params![
            r.c.state.call_id,
            r.c.node,
            r.at,
            ended_at,
            final_status,
            r.outcome,
            r.outcome_group,
        ])?;
    }
    for r in rows.iter().filter(|r| !r.c.voicemails.is_empty()) {
        let mut voicemail = db.prepare_cached(VOICEMAIL)?;
        for (group, url, seconds) in &r.c.voicemails {
            voicemail.execute(params![r.c.state.call_id, group, url, seconds, r.at])?;
        }
    }
    for r in rows.iter().filter(|r| !r.c.callbacks.is_empty()) {
        let mut callback = db.prepare_cached(CALLBACK)?;
        for (group, number) in &r.c.callbacks {
            callback.execute(params![r.c.state.call_id, group, number, r.at])?;
        }
    }
    for r in rows.iter().filter(|r| !r.c.surveys.is_empty()) {
        let mut survey = db.prepare_cached(SURVEY)?;
        for (node, group, rating, scale) in &r.c.surveys {
            survey.execute(params![r.c.state.call_id, node, group, rating, scale, r.at])?;
        }
    }
    for r in rows.iter().filter(|r| !r.c.moved()) {
        db.prepare_cached(ANNOTATE)?.execute(params![
            r.c.events,
            r.c.state.call_id,
            r.c.state.step as i64,
        ])?;
    }
    Ok(())
}

/// The call rows a batch changes, one per call: an existing call's summary
/// changes with a known outcome, an end or a final status, including from
/// steps that moved nothing (the final status arrives after the end). Two
/// commits for one call in a batch (a late result beside the step it came
/// at) become one row: the later step's, with the final status and end of
/// either.
fn summaries<'r, 'a>(rows: &'r [Row<'a>]) -> Vec<(&'r Row<'a>, Option<&'a str>, Option<i64>)> {
    let mut out: Vec<(&Row, Option<&str>, Option<i64>)> = Vec::new();
    for r in rows
        .iter()
        .filter(|r| r.c.expected_step.is_some() && r.c.changes_summary())
    {
        let status = r.c.final_status.as_deref();
        match out
            .iter_mut()
            .find(|(o, _, _)| o.c.state.call_id == r.c.state.call_id)
        {
            Some(o) => {
                let later = (r.c.state.step, r.c.moved()) > (o.0.c.state.step, o.0.c.moved());
                let (status, ended) = (o.1.or(status), o.2.or(r.ended_at));
                if later {
                    o.0 = r;
                }
                o.1 = status;
                o.2 = ended;
            }
            None => out.push((r, status, r.ended_at)),
        }
    }
    out
}

/// A commit with the values its rows need, computed once.
struct Row<'a> {
    c: &'a Commit,
    state: String,
    wait: String,
    at: i64,
    ended_at: Option<i64>,
    outcome: Option<&'a str>,
    outcome_group: Option<&'a str>,
}

impl<'a> Row<'a> {
    fn of(c: &'a Commit) -> Result<Row<'a>, rusqlite::Error> {
        let at = c.at.as_millisecond();
        let (outcome, outcome_group) = c
            .outcome
            .as_ref()
            .map_or((None, None), |(o, g)| (Some(o.as_str()), g.as_deref()));
        Ok(Row {
            c,
            state: serde_json::to_string(&c.state)
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
            wait: format!("{:?}", c.state.wait),
            at,
            ended_at: c.ended().then_some(at),
            outcome,
            outcome_group,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{self, CallStatus, Event, Start};
    use crate::program::Program;

    fn demo() -> Program {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("flows");
        let set = crate::flow::load_dir(&dir).expect("the demo flows load");
        crate::compile::compile(&set)
            .program
            .expect("the demo compiles")
    }

    fn start(p: &Program, id: &str) -> engine::Step {
        let start = Start {
            call_id: id.into(),
            caller: "+15550001111".into(),
            called: "+18005550100".into(),
            history: Vec::new(),
            language: None,
        };
        engine::start(p, start, Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn the_database_is_synced_only_after_new_copies() {
        let wal = |frames, copied| Wal {
            busy: false,
            frames,
            copied,
        };
        assert!(wal(100, 40).copied_since(Wal::default()));
        assert!(wal(120, 90).copied_since(wal(100, 40)), "more copied");
        assert!(
            !wal(100, 40).copied_since(wal(100, 40)),
            "an idle WAL: nothing new"
        );
        assert!(
            !wal(150, 40).copied_since(wal(100, 40)),
            "grown, none copied"
        );
        assert!(
            wal(30, 10).copied_since(wal(16_500, 16_500)),
            "started over"
        );
        assert!(
            !wal(30, 0).copied_since(wal(16_500, 16_500)),
            "started over, none copied"
        );
    }

    /// A store on a fresh database file (WAL needs a file), and its URL. No
    /// checkpointer runs in the background: the tests run their own.
    async fn on_file(dir: &tempfile::TempDir) -> (SqliteStore, String) {
        let url = format!("sqlite://{}", dir.path().join("calls.db").display());
        let store = SqliteStore::start(&url, Arc::new(LiveCalls::default()), false)
            .await
            .expect("the store opens");
        (store, url)
    }

    /// A store on a file of its own holding `n` new calls named `prefix0`,
    /// `prefix1`, …; the directory lives as long as it is kept.
    async fn with_calls(prefix: &str, n: usize) -> (tempfile::TempDir, SqliteStore, String) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (store, url) = on_file(&dir).await;
        new_calls(&store, prefix, n).await;
        (dir, store, url)
    }

    /// Commit `n` new calls named `prefix0`, `prefix1`, ….
    async fn new_calls(store: &SqliteStore, prefix: &str, n: usize) {
        let p = demo();
        for i in 0..n {
            store
                .commit(new_call(&p, &format!("{prefix}{i}")))
                .await
                .expect("a new call");
        }
    }

    /// The commit of a new call `id` on the demo.
    fn new_call(p: &Program, id: &str) -> Commit {
        Commit::from_step(p, None, &start(p, id), Timestamp::UNIX_EPOCH, None, None)
    }

    /// A store on a fresh file, and another connection holding the
    /// database's write lock (`COMMIT` on it to let go).
    async fn locked_out(dir: &tempfile::TempDir) -> (SqliteStore, SqliteConnection) {
        let (store, url) = on_file(dir).await;
        let mut other = SqliteConnection::connect(&url).await.expect("it connects");
        run_sql(&mut other, "BEGIN IMMEDIATE").await;
        (store, other)
    }

    #[tokio::test]
    async fn more_reads_than_readers_all_answer_and_reads_after_close_fail() {
        let (_dir, store, _) = with_calls("CAr", 8).await;
        // Four times as many reads as readers at once: each waits its turn.
        let reads: Vec<_> = (0..4 * READERS * 2)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move { store.load(&format!("CAr{}", i % 8)).await })
            })
            .collect();
        for (i, read) in reads.into_iter().enumerate() {
            let state = read
                .await
                .expect("the read runs")
                .expect("the read answers")
                .expect("the call is stored");
            assert_eq!(state.call_id, format!("CAr{}", i % 8));
        }
        store.close().await;
        assert!(
            matches!(store.load("CAr0").await, Err(StoreError::Closed)),
            "a read after close says the store is closed"
        );
    }

    #[tokio::test]
    async fn a_read_dropped_midway_leaves_its_reader_fit_for_the_next() {
        let (_dir, store, url) = with_calls("CAd", 2).await;
        // A long read, dropped after a millisecond as a timed-out request's is.
        for _ in 0..READERS {
            let long = async {
                let mut r = store.readers.get().await.expect("a reader");
                let n = sqlx::query_as::<_, (i64,)>(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000000)
                     SELECT COUNT(*) FROM n, calls",
                )
                .fetch_one(r.conn())
                .await;
                r.done(n).await
            };
            assert!(
                tokio::time::timeout(Duration::from_millis(1), long)
                    .await
                    .is_err(),
                "the read was still running when dropped"
            );
        }
        let state = store.load("CAd1").await.expect("the next read answers");
        assert!(state.is_some());
        // No read transaction was left open: the WAL can start over.
        let mut other = SqliteConnection::connect(&url).await.expect("a connection");
        let (busy,): (i64,) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&mut other)
            .await
            .expect("the checkpoint runs");
        assert_eq!(busy, 0, "nothing holds the WAL");
        store.close().await;
    }

    /// The WAL now, as another connection's checkpoint sees it.
    async fn wal(url: &str) -> Wal {
        let mut conn = SqliteConnection::connect(url).await.expect("it connects");
        let wal = checkpoint(&mut conn).await.expect("a checkpoint");
        assert!(!wal.busy, "no other checkpoint runs: {wal:?}");
        wal
    }

    /// A checkpointer on its own connection, handing over to `writer`.
    async fn checkpointer(
        url: &str,
        writer: &mpsc::Sender<Job>,
        restart_after: i64,
    ) -> Checkpointer {
        let conn = SqliteConnection::connect(url).await.expect("it connects");
        Checkpointer::new(conn, None, writer.downgrade(), restart_after)
    }

    /// Answer the checkpoint jobs that arrive within `within`; how many.
    async fn answer_jobs(writer: &mut mpsc::Receiver<Job>, within: Duration) -> usize {
        let mut answered = 0;
        let until = tokio::time::Instant::now() + within;
        while let Ok(Some(job)) = tokio::time::timeout_at(until, writer.recv()).await {
            if let Job::Checkpoint(done) = job {
                let _ = done.send(Ok(Wal::default()));
                answered += 1;
            }
        }
        answered
    }

    /// Once the WAL is long and pages keep arriving, the checkpointer asks
    /// the writer to finish; while it is short, or once writes stop, it
    /// works alone.
    #[tokio::test]
    async fn the_checkpointer_hands_a_long_busy_wal_to_the_writer() {
        let (_dir, store, url) = with_calls("CA", 20).await;
        let frames = wal(&url).await.frames;
        let (jobs, mut writer) = mpsc::channel(4);
        let writing = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let writes = tokio::spawn({
            let (store, writing) = (store.clone(), writing.clone());
            async move {
                let mut n = 0;
                while writing.load(std::sync::atomic::Ordering::Relaxed) {
                    new_calls(&store, &format!("CB{n}-"), 1).await;
                    n += 1;
                }
            }
        });
        // Short: no job for the writer, however busy.
        let (stop, stopped) = oneshot::channel();
        let patient = tokio::spawn(checkpoints(
            checkpointer(&url, &jobs, frames + 1_000_000).await,
            stopped,
        ));
        assert_eq!(answer_jobs(&mut writer, 3 * CHECKPOINT_EVERY).await, 0);
        let _ = stop.send(());
        let _ = patient.await;
        // Long and busy: the writer is asked.
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(checkpoints(checkpointer(&url, &jobs, 1).await, stopped));
        let mut asked = 0;
        for _ in 0..100 {
            asked += answer_jobs(&mut writer, Duration::from_millis(100)).await;
            if asked > 0 {
                break;
            }
        }
        assert!(asked > 0, "the writer is asked while pages keep arriving");
        // Idle: once the writes stop, nobody is asked any more.
        writing.store(false, std::sync::atomic::Ordering::Relaxed);
        writes.await.expect("the writes end");
        answer_jobs(&mut writer, 2 * CHECKPOINT_EVERY).await;
        assert_eq!(
            answer_jobs(&mut writer, 4 * CHECKPOINT_EVERY).await,
            0,
            "an idle WAL needs no writer"
        );
        let _ = stop.send(());
        let _ = task.await;
        store.close().await;
    }

    /// Queue a checkpoint for the store's writer; its answer comes on the receiver.
    async fn ask_checkpoint(store: &SqliteStore) -> oneshot::Receiver<Result<Wal, StoreError>> {
        let (done, wait) = oneshot::channel();
        store
            .jobs
            .send(Job::Checkpoint(done))
            .await
            .expect("the writer takes jobs");
        wait
    }

    /// The writer's own checkpoint copies everything, so its next commit
    /// starts the WAL over.
    #[tokio::test]
    async fn the_writers_checkpoint_copies_every_page() {
        let (_dir, store, url) = with_calls("CA", 50).await;
        let wal_then = ask_checkpoint(&store)
            .await
            .await
            .expect("an answer")
            .expect("a checkpoint");
        assert!(!wal_then.busy && wal_then.frames > 0, "{wal_then:?}");
        assert_eq!(
            wal_then.copied, wal_then.frames,
            "every page copied: {wal_then:?}"
        );
        new_calls(&store, "CB", 1).await;
        let after = wal(&url).await;
        assert!(
            after.frames < wal_then.frames,
            "the WAL started over: {after:?}, from {wal_then:?}"
        );
        store.close().await;
    }

    /// A checkpoint asked for amid commits is answered, and neither the
    /// commits before it nor those after it are lost when the store closes.
    #[tokio::test]
    async fn a_checkpoint_between_commits_keeps_their_order_and_all_of_them() {
        let p = demo();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (store, url) = on_file(&dir).await;
        let mut answers = Vec::new();
        let mut checkpointed = None;
        for i in 0..6 {
            if i == 3 {
                checkpointed = Some(ask_checkpoint(&store).await);
            }
            let c = new_call(&p, &format!("CA{i}"));
            let (done, wait) = oneshot::channel();
            store
                .jobs
                .send(Job::Write(Box::new(c), done))
                .await
                .expect("queued");
            answers.push(wait);
        }
        store.close().await;
        for answer in answers {
            answer.await.expect("answered").expect("committed");
        }
        let wal = checkpointed
            .expect("asked")
            .await
            .expect("answered")
            .expect("a checkpoint");
        assert!(wal.frames > 0 && wal.copied == wal.frames, "{wal:?}");
        let mut conn = SqliteConnection::connect(&url).await.expect("it connects");
        assert_eq!(scalar(&mut conn, "SELECT count(*) FROM calls").await, 6);
    }

    /// Another connection's write transaction makes a commit wait, not
    /// fail, and the wait does not hold up the runtime: on this test's
    /// one-thread runtime, the test's own task runs meanwhile and ends that
    /// transaction. (Waiting inside SQLite would block the thread until the
    /// busy timeout, and the commit would fail.)
    #[tokio::test]
    async fn a_commit_waits_for_another_writers_lock_without_blocking_the_runtime() {
        let p = demo();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (store, mut other) = locked_out(&dir).await;
        let c = new_call(&p, "CAwait");
        let commit = tokio::spawn({
            let store = store.clone();
            async move { store.commit(c).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!commit.is_finished(), "the commit waits for the lock");
        run_sql(&mut other, "COMMIT").await;
        commit
            .await
            .expect("the task ends")
            .expect("the commit lands once the lock is free");
        assert_eq!(
            scalar(
                &mut other,
                "SELECT count(*) FROM calls WHERE call_sid = 'CAwait'"
            )
            .await,
            1
        );
        store.close().await;
    }

    /// A write lock held elsewhere for longer than the writer waits fails
    /// the whole batch once, not each commit after another full wait; the
    /// next commit after the lock is freed lands.
    #[tokio::test]
    async fn a_batch_that_waits_out_a_foreign_lock_fails_at_once() {
        let p = demo();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (store, mut other) = locked_out(&dir).await;
        let began = tokio::time::Instant::now();
        let commits: Vec<_> = (0..4)
            .map(|i| {
                let c = new_call(&p, &format!("CA{i}"));
                let store = store.clone();
                tokio::spawn(async move { store.commit(c).await })
            })
            .collect();
        for commit in commits {
            let failed = commit.await.expect("the task ends");
            assert!(
                matches!(&failed, Err(StoreError::Database(e)) if e.to_string().contains("locked")),
                "{failed:?}"
            );
        }
        // One by one, four commits would have waited five times as long.
        assert!(began.elapsed() < 4 * BUSY_FOR, "{:?}", began.elapsed());
        run_sql(&mut other, "COMMIT").await;
        new_calls(&store, "CB", 1).await;
        store.close().await;
    }

    /// The checkpointer's database thread runs at a lower priority than
    /// every other thread, which keep the priority they started with.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn only_the_checkpointers_thread_runs_at_a_lower_priority() {
        async fn nice(conn: &mut SqliteConnection) -> i32 {
            let seen = Arc::new(std::sync::OnceLock::new());
            let set = seen.clone();
            conn.lock_handle()
                .await
                .expect("the handle")
                .set_progress_handler(1, move || {
                    set.get_or_init(|| rustix::process::getpriority_process(None));
                    true
                });
            sqlx::query("SELECT 1")
                .execute(&mut *conn)
                .await
                .expect("it runs");
            *seen
                .get()
                .expect("the hook ran")
                .as_ref()
                .expect("the priority reads")
        }
        let ours = rustix::process::getpriority_process(None).expect("our priority");
        let mut lowered = SqliteConnection::connect("sqlite::memory:")
            .await
            .expect("it connects");
        let mut other = SqliteConnection::connect("sqlite::memory:")
            .await
            .expect("it connects");
        lower_priority(&mut lowered).await;
        assert_eq!(nice(&mut lowered).await, CHECKPOINTER_NICE.max(ours));
        assert_eq!(nice(&mut other).await, ours);
        assert_eq!(
            rustix::process::getpriority_process(None).expect("our priority"),
            ours,
            "the test's own thread keeps its priority"
        );
    }

    async fn scalar(conn: &mut SqliteConnection, sql: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(sql)
            .fetch_one(&mut *conn)
            .await
            .expect("the query runs");
        n
    }

    /// A batch whose lists differ in length: more final statuses (for calls
    /// already over) than moved steps. Every row lands where it belongs.
    #[tokio::test]
    async fn a_batch_of_mixed_commits_binds_every_row_to_its_own_table() {
        let p = demo();
        let mut conn = migrated().await;
        let now = Timestamp::UNIX_EPOCH;
        let mut ended = Vec::new();
        for i in 0..3 {
            let first = start(&p, &format!("CA{i}"));
            let hung_up = engine::step(&p, &first.state, Event::Status(CallStatus::Completed), now);
            let c1 = Commit::from_step(&p, None, &first, now, None, None);
            let c2 = Commit::from_step(&p, Some(1), &hung_up, now, None, None);
            written(&mut conn, &[&c1]).await.expect("a new call");
            written(&mut conn, &[&c2]).await.expect("its hang-up");
            ended.push(hung_up);
        }
        // Three final statuses after the end (they move nothing) and one new call.
        let statuses: Vec<Commit> = ended
            .iter()
            .map(|s| {
                let late = engine::step(&p, &s.state, Event::Status(CallStatus::Completed), now);
                assert_eq!(
                    late.state.step, s.state.step,
                    "a status after the end moves nothing"
                );
                Commit::from_step(
                    &p,
                    Some(s.state.step),
                    &late,
                    now,
                    None,
                    Some("completed".into()),
                )
            })
            .collect();
        let fresh = Commit::from_step(&p, None, &start(&p, "CA9"), now, None, None);
        let mut batch: Vec<&Commit> = statuses.iter().collect();
        batch.push(&fresh);
        written(&mut conn, &batch).await.expect("the batch lands");
        assert_eq!(
            scalar(
                &mut conn,
                "SELECT COUNT(*) FROM calls WHERE final_status = 'completed'"
            )
            .await,
            3
        );
        assert_eq!(scalar(&mut conn, "SELECT COUNT(*) FROM calls").await, 4);
        assert_eq!(
            scalar(&mut conn, "SELECT COUNT(*) FROM voicemails").await,
            0
        );
        assert_eq!(scalar(&mut conn, "SELECT COUNT(*) FROM callbacks").await, 0);
        assert_eq!(scalar(&mut conn, "SELECT COUNT(*) FROM surveys").await, 0);
        assert_eq!(scalar(&mut conn, "SELECT COUNT(*) FROM steps").await, 7);

        // A hang-up and a late result with a final status for the same call,
        // both from step 1, in one batch: one call row, with both facts.
        let first = start(&p, "CA20");
        let c1 = Commit::from_step(&p, None, &first, now, None, None);
        written(&mut conn, &[&c1]).await.expect("a new call");
        let hung_up = engine::step(&p, &first.state, Event::Status(CallStatus::Completed), now);
        let late = engine::step(
            &p,
            &first.state,
            Event::Dial(engine::DialStatus::Completed),
            now,
        );
        let a = Commit::from_step(&p, Some(1), &hung_up, now, None, None);
        let b = Commit::from_step(&p, Some(1), &late, now, None, Some("completed".into()));
        assert!(a.moved() && !b.moved());
        written(&mut conn, &[&b, &a])
            .await
            .expect("the batch lands");
        let (ended, status, outcome): (Option<i64>, Option<String>, Option<String>) =
            sqlx::query_as(
                "SELECT ended_at, final_status, outcome FROM calls WHERE call_sid = 'CA20'",
            )
            .fetch_one(&mut conn)
            .await
            .expect("the call row");
        assert!(ended.is_some(), "the hang-up's end");
        assert_eq!(
            status.as_deref(),
            Some("completed"),
            "the other's final status"
        );
        assert_eq!(outcome.as_deref(), Some("abandoned"));
    }

    /// Every row the database holds, without row ids, in a fixed order.
    async fn contents(conn: &mut SqliteConnection) -> Vec<String> {
        let mut out = Vec::new();
        for sql in [
            "SELECT json_array(call_sid, flow, version, caller, called, started_at, node, updated_at, ended_at, final_status, outcome, outcome_group) FROM calls ORDER BY call_sid",
            "SELECT json_array(call_sid, step, at, s.node, wait, state, response, events) FROM steps s LEFT JOIN calls ON calls.id = s.call_id ORDER BY call_sid, step",
            "SELECT json_array(call_sid, grp, url, seconds, at) AS r FROM voicemails ORDER BY r",
            "SELECT json_array(call_sid, grp, number, at) AS r FROM callbacks ORDER BY r",
            "SELECT json_array(call_sid, node, grp, rating, scale, at) AS r FROM surveys ORDER BY r",
        ] {
            let rows: Vec<(String,)> = sqlx::query_as(sql)
                .fetch_all(&mut *conn)
                .await
                .expect("the query runs");
            out.extend(rows.into_iter().map(|(r,)| r));
        }
        out
    }

    /// Write `commits` in one transaction through the writer's code, on
    /// `conn`, which is free again after.
    async fn written(
        conn: &mut SqliteConnection,
        commits: &[&Commit],
    ) -> Result<(), rusqlite::Error> {
        let mut writer = Writer::lock(conn).await.expect("the connection's handle");
        writer.write_waiting(commits).await
    }

    async fn migrated() -> SqliteConnection {
        let mut conn = SqliteConnection::connect("sqlite::memory:")
            .await
            .expect("in-memory SQLite");
        sqlx::migrate!("./migrations/sqlite")
            .run(&mut conn)
            .await
            .expect("migrations run");
        conn
    }

    /// A database with only the first migration applied, as a build from
    /// before steps were keyed by call id left it.
    async fn at_first_migration() -> (SqliteConnection, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let first = "0001_calls.sql";
        std::fs::copy(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations/sqlite")
                .join(first),
            dir.path().join(first),
        )
        .expect("the first migration copies");
        let mut conn = SqliteConnection::connect("sqlite::memory:")
            .await
            .expect("in-memory SQLite");
        sqlx::migrate::Migrator::new(dir.path())
            .await
            .expect("the first migration reads")
            .run(&mut conn)
            .await
            .expect("the first migration runs");
        (conn, dir)
    }

    async fn run_sql(conn: &mut SqliteConnection, sql: &str) {
        sqlx::raw_sql(sql)
            .execute(&mut *conn)
            .await
            .expect("the statements run");
    }

    const OLD_CALL: &str =
        "INSERT INTO calls (call_sid, flow, version, caller, called, started_at, node, updated_at)";

    #[tokio::test]
    async fn the_call_id_migration_keeps_every_call_and_step() {
        let (mut conn, _dir) = at_first_migration().await;
        run_sql(
            &mut conn,
            &format!(
                "{OLD_CALL} VALUES ('CAb', 'main', 'v1', '+1555', '+1800', 10, 'main.menu', 20);
                 {OLD_CALL} VALUES ('CAa', 'main', 'v1', '+1556', '+1800', 11, 'main.start', 11);
                 INSERT INTO steps (call_sid, step, at, node, wait, state, response, events) VALUES
                   ('CAb', 1, 10, 'main.start', 'Choice', '{{}}', '<Response/>', '[1]'),
                   ('CAa', 1, 11, 'main.start', 'Choice', '{{}}', NULL, '[2]'),
                   ('CAb', 2, 20, 'main.menu', 'Choice', '[2]', '<Response/>', '[3]');"
            ),
        )
        .await;
        // What `contents` reads, through the old schema.
        let mut before = Vec::new();
        for sql in [
            "SELECT json_array(call_sid, flow, version, caller, called, started_at, node, updated_at, ended_at, final_status, outcome, outcome_group) FROM calls ORDER BY call_sid",
            "SELECT json_array(call_sid, step, at, node, wait, state, response, events) FROM steps ORDER BY call_sid, step",
        ] {
            let rows: Vec<(String,)> = sqlx::query_as(sql)
                .fetch_all(&mut conn)
                .await
                .expect("the old schema reads");
            before.extend(rows.into_iter().map(|(r,)| r));
        }
        sqlx::migrate!("./migrations/sqlite")
            .run(&mut conn)
            .await
            .expect("the second migration runs");
        assert_eq!(contents(&mut conn).await, before, "nothing lost or changed");
        let ids: Vec<(String, i64)> = sqlx::query_as("SELECT call_sid, id FROM calls ORDER BY id")
            .fetch_all(&mut conn)
            .await
            .expect("ids read");
        assert_eq!(
            ids,
            [("CAb".to_owned(), 1), ("CAa".to_owned(), 2)],
            "ids follow the order calls started in"
        );
        let latest: Vec<(String, i64, String)> =
            sqlx::query_as("SELECT call_sid, step, node FROM calls_now ORDER BY call_sid")
                .fetch_all(&mut conn)
                .await
                .expect("the view reads");
        assert_eq!(
            latest,
            [
                ("CAa".to_owned(), 1, "main.start".to_owned()),
                ("CAb".to_owned(), 2, "main.menu".to_owned())
            ]
        );
        let duplicate = sqlx::query(
            "INSERT INTO steps (call_id, step, at, node, wait, state, events) VALUES (1, 2, 30, 'x', 'Choice', '{}', '[]')",
        )
        .execute(&mut conn)
        .await;
        assert!(
            duplicate.is_err_and(|e| e
                .as_database_error()
                .is_some_and(|d| d.is_unique_violation())),
            "a step number is still taken once per call"
        );
    }

    #[tokio::test]
    async fn the_call_id_migration_stops_at_a_view_of_an_admins_own() {
        let (mut conn, _dir) = at_first_migration().await;
        run_sql(
            &mut conn,
            &format!(
                "{OLD_CALL} VALUES ('CAb', 'main', 'v1', '+1555', '+1800', 10, 'main.menu', 20);
                 CREATE VIEW my_report AS SELECT call_sid, node FROM steps;"
            ),
        )
        .await;
        let refused = sqlx::migrate!("./migrations/sqlite").run(&mut conn).await;
        let message =
            StoreError::from(refused.expect_err("the view names a column that goes")).to_string();
        assert!(
            message.contains("views, triggers or indexes of your own"),
            "{message}"
        );
        let (kept,): (String,) = sqlx::query_as("SELECT call_sid FROM calls")
            .fetch_one(&mut conn)
            .await
            .expect("the old table is still there");
        assert_eq!(kept, "CAb");
    }

    #[tokio::test]
    async fn the_call_id_migration_stops_at_a_step_without_its_call() {
        let (mut conn, _dir) = at_first_migration().await;
        run_sql(
            &mut conn,
            "INSERT INTO steps (call_sid, step, at, node, wait, state, events)
             VALUES ('CAgone', 1, 10, 'main.start', 'Choice', '{}', '[]')",
        )
        .await;
        let refused = sqlx::migrate!("./migrations/sqlite").run(&mut conn).await;
        assert!(refused.is_err(), "a step without its call is not dropped");
        let (kept,): (String,) = sqlx::query_as("SELECT call_sid FROM steps")
            .fetch_one(&mut conn)
            .await
            .expect("the old table is still there");
        assert_eq!(kept, "CAgone", "the failed migration changed nothing");
    }

    fn event(n: u8) -> Event {
        match n % 12 {
            0 => Event::Digits("1".into()),
            1 => Event::Digits("2".into()),
            2 => Event::Digits("3".into()),
            3 => Event::Digits("0".into()),
            4 => Event::Digits("12345678#".into()),
            5 => Event::NoInput,
            6 => Event::Queue(engine::QueueResult::Bridged),
            7 => Event::Queue(engine::QueueResult::Hangup),
            8 => Event::Dial(engine::DialStatus::NoAnswer),
            9 => Event::Recording {
                url: "https://api.twilio.com/r".into(),
                seconds: 9,
            },
            10 => Event::Digits("5".into()),
            _ => Event::Status(CallStatus::Completed),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        /// Random calls, their commits cut into random batches (at most one
        /// commit per call in a batch, as callbacks arrive), leave exactly
        /// the rows that writing every commit alone leaves.
        #[test]
        fn batches_store_exactly_what_single_commits_store(
            calls in proptest::collection::vec(proptest::collection::vec(0u8..12, 0..10), 1..12),
            cuts in proptest::collection::vec(1usize..6, 1..40),
            late in proptest::collection::vec(proptest::bool::ANY, 12),
        ) {
            let p = demo();
            // Saturday night and Monday morning alternate, for both hours' paths.
            let times: [Timestamp; 2] = [
                "2026-03-08T01:00:00Z".parse().expect("a time"),
                "2026-03-02T15:00:00Z".parse().expect("a time"),
            ];
            let mut chains: Vec<Vec<Commit>> = Vec::new();
            for (i, events) in calls.iter().enumerate() {
                let now = times[i % 2];
                let mut step = start(&p, &format!("CA{i:02}"));
                let mut chain = vec![Commit::from_step(&p, None, &step, now, Some(format!("<r{i}/>")), None)];
                for &e in events {
                    if step.state.wait == engine::Wait::Ended {
                        break;
                    }
                    let at = step.state.step;
                    step = engine::step(&p, &step.state, event(e), now);
                    chain.push(Commit::from_step(&p, Some(at), &step, now, Some(format!("<r{i}-{e}/>")), None));
                }
                if late.get(i).copied().unwrap_or(false) {
                    // Twilio's final status, after or in the middle of the call.
                    let at = step.state.step;
                    let status = engine::step(&p, &step.state, Event::Status(CallStatus::Completed), now);
                    chain.push(Commit::from_step(&p, Some(at), &status, now, None, Some("completed".into())));
                }
                chains.push(chain);
            }
            // Interleave the calls' commits in rounds, then cut into batches
            // that never hold two commits of one call.
            let mut order: Vec<&Commit> = Vec::new();
            let longest = chains.iter().map(Vec::len).max().unwrap_or(0);
            for k in 0..longest {
                order.extend(chains.iter().filter_map(|c| c.get(k)));
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a runtime");
            let (batched, single) = runtime.block_on(async {
                        let (mut a, mut b) = (migrated().await, migrated().await);
                let mut rest = &order[..];
                let mut cut = cuts.iter().cycle();
                while !rest.is_empty() {
                    let mut n = (*cut.next().unwrap_or(&1)).min(rest.len());
                    let mut seen = std::collections::HashSet::new();
                    for (j, c) in rest.iter().enumerate().take(n) {
                        if !seen.insert(c.state.call_id.as_str()) {
                            n = j;
                            break;
                        }
                    }
                    let (batch, after) = rest.split_at(n);
                    written(&mut a, batch).await.expect("a batch lands");
                    rest = after;
                }
                for c in &order {
                    written(&mut b, &[*c]).await.expect("a commit lands");
                }
                (contents(&mut a).await, contents(&mut b).await)
            });
            proptest::prop_assert_eq!(batched, single);
        }
    }
}
