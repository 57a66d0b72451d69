//! The SQLite writer: one task owning the only writing connection, with
//! group commit. It takes the first waiting job, drains whatever else is
//! already queued (up to [`BATCH`] commits), and writes the commits in one
//! transaction — many callbacks per commit — then answers each caller only
//! after that transaction has committed. A batch that fails is retried
//! commit by commit, so one bad write cannot fail its neighbours. Between
//! batches it stores flow versions and runs the checkpoints handed to it,
//! and once the files trip it refuses writes and rescues the WAL.

use super::checkpointer::{CHECKPOINT, Wal};
use super::files;
use super::sql::{save_version, store_error, write};
use crate::store::batch::{Write, drop_abandoned};
use crate::store::{Commit, StoreError};
use sqlx::{Connection, SqliteConnection};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Most commits written in one transaction.
pub(super) const BATCH: usize = 512;

pub(super) enum Job {
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
    /// Maintenance on the writer's connection, between two batches (a
    /// purge batch, an erasure); it sends its own answer.
    Run(Maintenance),
}

/// What maintenance does on the writer's connection.
pub(super) type Work = dyn FnMut(&mut rusqlite::Connection) -> rusqlite::Result<()> + Send;

/// Work for the writer's connection: tried again while another process
/// holds the write lock (as commits are, see [`Writer::waiting`]), so it
/// must be safe to repeat; then its answer, or why the writer refused it.
pub(super) struct Maintenance {
    pub(super) work: Box<Work>,
    pub(super) done: Box<dyn FnOnce(Result<(), StoreError>) + Send>,
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
pub(super) struct Writer<'c> {
    /// Declared first, so it is dropped (its cached statements finalised)
    /// before the lock is given back.
    db: rusqlite::Connection,
    _locked: sqlx::sqlite::LockedSqliteHandle<'c>,
}

/// How long a batch waits for another process's write lock before it
/// fails (the busy timeout the other connections have; shorter in unit
/// tests, which wait it out).
pub(super) const BUSY_FOR: Duration = if cfg!(test) {
    Duration::from_millis(250)
} else {
    Duration::from_secs(5)
};

/// Longest pause between two tries for a write lock held elsewhere.
const BUSY_PAUSE: Duration = Duration::from_millis(20);

impl<'c> Writer<'c> {
    /// Take `conn` over until the writer is dropped.
    pub(super) async fn lock(conn: &'c mut SqliteConnection) -> Result<Writer<'c>, StoreError> {
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
    pub(super) async fn write_waiting(
        &mut self,
        commits: &[&Commit],
    ) -> Result<(), rusqlite::Error> {
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
pub(super) async fn watch_files(files: Arc<files::Files>, jobs: mpsc::WeakSender<Job>) {
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

pub(super) async fn write_loop(
    mut conn: SqliteConnection,
    mut rx: mpsc::Receiver<Job>,
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
    let mut running: Vec<Maintenance> = Vec::new();
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
                Job::Run(f) => running.push(f),
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
                for m in running.drain(..) {
                    (m.done)(Err(StoreError::Tripped(t.why.clone())));
                }
                // Until every page is saved, each refused batch tries again.
                if std::mem::take(&mut rescue) || (t.rescue && !rescued) {
                    rescued = !t.rescue || writer.rescue();
                }
            }
            None => {
                let failed = write_batch(&mut writer, batch).await;
                for (v, done) in saving.drain(..) {
                    let _ = done.send(writer.save_version(&v).await);
                }
                for mut m in running.drain(..) {
                    let result = writer.waiting(&mut m.work).await;
                    (m.done)(result.map_err(super::sql::store_error));
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

/// Write a batch of commits and answer each; whether any failed for a
/// reason other than a lost race or a lock.
async fn write_batch(writer: &mut Writer<'_>, mut batch: Vec<Write>) -> bool {
    if batch.is_empty() {
        return false;
    }
    tracing::trace!(commits = batch.len(), "writing a batch");
    crate::server::metrics::batch("sqlite", batch.len());
    let busy = match writer.write_wanted(&mut batch).await {
        Ok(()) => {
            for (_, done) in batch {
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
        let Some((_, done)) = one.pop() else { continue };
        if matches!(result, Err(ref e) if !matches!(e, StoreError::Conflict)) {
            failed = true;
        }
        let _ = done.send(result);
    }
    failed
}

/// A flow version on its way to the writer.
pub(super) struct SavedVersion {
    pub(super) version: String,
    pub(super) snapshot: String,
    pub(super) at: i64,
}

#[cfg(test)]
mod tests {
    use super::super::SqliteStore;
    use super::super::testing::*;
    use super::*;
    use crate::store::Backend;
    use sqlx::{Connection, SqliteConnection};

    /// A store on a fresh file, and another connection holding the
    /// database's write lock (`COMMIT` on it to let go).
    async fn locked_out(dir: &tempfile::TempDir) -> (SqliteStore, SqliteConnection) {
        let (store, url) = on_file(dir).await;
        let mut other = SqliteConnection::connect(&url).await.expect("it connects");
        run_sql(&mut other, "BEGIN IMMEDIATE").await;
        (store, other)
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
}
