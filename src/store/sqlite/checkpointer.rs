//! The background checkpointer: a connection of its own that copies the
//! WAL back into the database every [`CHECKPOINT_EVERY`] (`PASSIVE`: it
//! never blocks the writer or the readers), syncs the database file after
//! copies, and hands a long WAL to the writer to start over. Its thread
//! runs at a lower priority than the threads answering callbacks.

use super::writer::Job;
use sqlx::{Connection, SqliteConnection};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// WAL pages after which the writer checkpoints by itself (≈ 160 MB), should
/// the checkpointer fall behind.
pub(super) const WAL_BACKSTOP: u32 = 40_000;

/// How often the checkpointer copies the WAL back into the database. Often
/// and small beats seldom and large: each checkpoint syncs the WAL, copies
/// and syncs the database, and callbacks answered meanwhile are slower. With
/// 10,000 callbacks/s the p99 was 3.4–3.7 ms at 100 ms, 2.1–2.3 ms at 40 ms
/// and 1.8–2.1 ms at 20 ms, for 5% less closed-loop throughput and a third
/// more pages copied (docs/performance.md). An idle WAL costs a tick little:
/// a checkpoint with nothing to copy neither copies nor syncs.
pub(super) const CHECKPOINT_EVERY: Duration = Duration::from_millis(20);

/// WAL pages (≈ 64 MB) after which the writer finishes a checkpoint itself,
/// so that the WAL starts over from its beginning.
pub(super) const RESTART_AFTER: i64 = 16_384;

/// A `PASSIVE` checkpoint: copies what it can without waiting for anyone.
/// Run on the checkpointer's connection and on the writer's; its row is
/// read by [`Wal::of`].
pub(super) const CHECKPOINT: &str = "PRAGMA wal_checkpoint(PASSIVE)";

impl Wal {
    /// What [`CHECKPOINT`]'s row says: busy (0 or 1), frames, copied.
    pub(super) fn of((busy, frames, copied): (i64, i64, i64)) -> Wal {
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
pub(super) async fn database_file(path: &std::path::Path) -> Option<tokio::fs::File> {
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
pub(super) struct Wal {
    /// A reader or another checkpoint kept it from finishing.
    pub(super) busy: bool,
    /// Pages in the WAL since it last started over.
    pub(super) frames: i64,
    /// How many of them are now in the database.
    pub(super) copied: i64,
}

/// The checkpointer thread's nice value: low enough that it yields to the
/// threads answering callbacks, high enough that it keeps up on a saturated
/// core (at 19 it starved, and the writer was left to copy the whole WAL).
#[cfg(target_os = "linux")]
pub(super) const CHECKPOINTER_NICE: i32 = 10;

/// Run a connection's database thread at a lower CPU priority. Copying
/// the WAL into the database is background work: on a busy core it should
/// wait for callbacks, not delay them for the milliseconds a checkpoint
/// takes. sqlx runs each SQLite connection on a thread of its own, and its
/// progress handler is the one hook that runs there; on Linux a nice value
/// belongs to a thread, so setting it from the handler lowers that thread
/// alone. Failing that, the checkpointer merely competes with the rest.
#[cfg(target_os = "linux")]
pub(super) async fn lower_priority(conn: &mut SqliteConnection) {
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
pub(super) async fn lower_priority(_: &mut SqliteConnection) {}

/// [`CHECKPOINT`] on the checkpointer's connection.
pub(super) async fn checkpoint(conn: &mut SqliteConnection) -> Result<Wal, sqlx::Error> {
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
pub(super) struct Checkpointer {
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
    pub(super) fn new(
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
pub(super) async fn checkpoints(
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

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::store::Backend;
    use sqlx::Connection;

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
}
