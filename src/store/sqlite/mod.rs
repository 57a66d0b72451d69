//! The SQLite store, the embedded default: WAL, one writer with group
//! commit ([`writer`]), two readers ([`readers`]) and a checkpointer
//! ([`checkpointer`]), over the SQL in [`sql`]; [`files`] watches the
//! database's files and refuses writes once they change under the server.
//!
//! Every write goes to the single writer task that owns the only writing
//! connection, and its statements run on that task's thread rather than
//! sqlx's (see [`writer::Writer`]). Reads use two connections of their own,
//! which WAL lets run beside the writer, and the checkpointer copies the WAL
//! into the database beside both.

mod checkpointer;
pub mod files;
mod maintenance;
mod readers;
mod sql;
#[cfg(test)]
mod testing;
mod writer;

use super::admin::{self, Marked, OpenCallback, OpenVoicemail, Tray};
use super::callers::{self, CallerRows, Erasure};
use super::reports::{self, ReportRows};
use super::retention::{self, Removed};
use super::{Backend, Commit, StoreError, StoredVersion};
use crate::engine::{CallState, PastCall};
use crate::routing::Closure;
use checkpointer::{
    Checkpointer, RESTART_AFTER, WAL_BACKSTOP, checkpoints, database_file, lower_priority,
};
use jiff::Timestamp;
use readers::{READERS, Readers};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, SqliteConnection};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinHandle;
use writer::{BATCH, BUSY_FOR, Job, SavedVersion, watch_files, write_loop};

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Database(Box::new(e))
    }
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
    /// Open `sqlite://FILE`, creating and migrating it.
    pub async fn open(url: &str) -> Result<SqliteStore, StoreError> {
        SqliteStore::start(url, true).await
    }

    /// [`SqliteStore::open`], with or without the background checkpointer.
    async fn start(url: &str, checkpoints_in_background: bool) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_FOR)
            // Statement journals (a statement that fails midway) stay in memory.
            .pragma("temp_store", "memory")
            // Deleted and overwritten content is zeroed where that costs no
            // extra write (an erasure turns it fully on for itself).
            .pragma("secure_delete", "FAST");
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
            .map_err(StoreError::migration)?;
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
        let handle = tokio::spawn(write_loop(writer, rx, files.clone(), ready));
        started.await.map_err(|_| StoreError::Closed)??;
        Ok(SqliteStore {
            jobs,
            readers,
            writer: Arc::new(Mutex::new(Some(handle))),
            checkpointer: Arc::new(Mutex::new(checkpointer)),
            files,
        })
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

    /// Run `work` on the writer's connection, between two batches (again,
    /// while another process holds the write lock).
    async fn maintain<T: Send + 'static>(
        &self,
        mut work: impl FnMut(&mut rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let out = Arc::new(std::sync::Mutex::new(None));
        let slot = out.clone();
        let (done, wait) = oneshot::channel();
        let job = writer::Maintenance {
            work: Box::new(move |db| {
                let value = work(db)?;
                if let Ok(mut s) = slot.lock() {
                    *s = Some(value);
                }
                Ok(())
            }),
            done: Box::new(move |r| {
                let _ = done.send(r);
            }),
        };
        self.jobs
            .send(Job::Run(job))
            .await
            .map_err(|_| StoreError::Closed)?;
        wait.await.map_err(|_| StoreError::Closed)??;
        let value = out.lock().ok().and_then(|mut s| s.take());
        value.ok_or(StoreError::Closed)
    }

    /// The rows `sql` selects for a caller's number.
    async fn by_number<T>(&self, sql: &'static str, number: &str) -> Result<Vec<T>, StoreError>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
    {
        let mut r = self.readers.get().await?;
        let rows = sqlx::query_as(sql).bind(number).fetch_all(r.conn()).await;
        r.done(rows).await
    }

    /// The rows `sql` selects with `binds` as `$1`, `$2`, … (a period and
    /// what else its section needs), wherever they appear.
    async fn in_period<T>(&self, sql: &'static str, binds: &[i64]) -> Result<Vec<T>, StoreError>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
    {
        let mut r = self.readers.get().await?;
        // `?N` binds parameter N wherever it appears, as `$N` does on
        // PostgreSQL (SQLite numbers `$N` in the order they first appear).
        let sql = super::reports::numbered(sql);
        let mut query = sqlx::query_as(&sql);
        for b in binds {
            query = query.bind(*b);
        }
        let rows = query.fetch_all(r.conn()).await;
        r.done(rows).await
    }

    /// The one text column `sql` selects for `key`, if a row has it.
    async fn text_by(&self, sql: &'static str, key: &str) -> Result<Option<String>, StoreError> {
        let mut r = self.readers.get().await?;
        let row = sqlx::query_as(sql).bind(key).fetch_optional(r.conn()).await;
        let row: Option<(String,)> = r.done(row).await?;
        Ok(row.map(|(s,)| s))
    }
}

#[async_trait::async_trait]
impl Backend for SqliteStore {
    /// Why the store refuses writes, if it does (its files changed under it).
    fn trouble(&self) -> Option<String> {
        self.files
            .as_ref()
            .and_then(|f| f.tripped())
            .map(|t| t.why.clone())
    }

    /// Write a step; returns once its transaction has committed.
    async fn commit(&self, c: Commit) -> Result<(), StoreError> {
        self.ask(|done| Job::Write(Box::new(c), done)).await
    }

    /// Store a flow version's snapshot (JSON) under its version, once: a
    /// version already stored with the same snapshot is left as it is; one
    /// stored with another is an error (two flow sets with one hash).
    async fn save_version(
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
    async fn load_version(&self, version: &str) -> Result<Option<String>, StoreError> {
        self.text_by(
            "SELECT snapshot FROM flow_versions WHERE version = ?",
            version,
        )
        .await
    }

    /// A call's state.
    async fn load(&self, call_sid: &str) -> Result<Option<CallState>, StoreError> {
        let json = self.text_by("SELECT state FROM steps WHERE call_id = (SELECT id FROM calls WHERE call_sid = ?) ORDER BY step DESC LIMIT 1", call_sid).await?;
        Ok(match json {
            Some(json) => Some(serde_json::from_str(&json)?),
            None => None,
        })
    }

    async fn versions(&self, live_since: Timestamp) -> Result<Vec<StoredVersion>, StoreError> {
        let mut r = self.readers.get().await?;
        let rows = sqlx::query_as(sql::VERSIONS)
            .bind(live_since.as_millisecond())
            .fetch_all(r.conn())
            .await;
        let rows: Vec<(String, i64, i64, i64)> = r.done(rows).await?;
        Ok(rows.into_iter().map(StoredVersion::of_row).collect())
    }

    async fn waiting(&self, live_since: Timestamp) -> Result<Vec<String>, StoreError> {
        let mut r = self.readers.get().await?;
        let rows = sqlx::query_as(super::admin::WAITING_SQL)
            .bind(live_since.as_millisecond())
            .fetch_all(r.conn())
            .await;
        let rows: Vec<(String,)> = r.done(rows).await?;
        Ok(rows.into_iter().map(|(s,)| s).collect())
    }

    /// The voice XML answered for a call's step.
    async fn response(&self, call_sid: &str, step: u64) -> Result<Option<String>, StoreError> {
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
    async fn history(&self, caller: &str, since: Timestamp) -> Result<Vec<PastCall>, StoreError> {
        let mut r = self.readers.get().await?;
        let rows = sqlx::query_as(
            "SELECT started_at, outcome_group FROM calls WHERE caller = ? AND started_at >= ? ORDER BY started_at DESC LIMIT 50",
        )
        .bind(caller)
        .bind(since.as_millisecond())
        .fetch_all(r.conn())
        .await;
        let rows: Vec<(i64, Option<String>)> = r.done(rows).await?;
        Ok(super::past_calls(rows))
    }

    /// How many records a call's event log holds.
    async fn event_count(&self, call_sid: &str) -> Result<u64, StoreError> {
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
    async fn log_complete(&self, call_sid: &str) -> Result<bool, StoreError> {
        let mut r = self.readers.get().await?;
        let row = sqlx::query_as(
            "SELECT COUNT(*), MAX(step),
                    (SELECT ended_at FROM calls WHERE call_sid = ?1 AND final_status IS NOT NULL)
             FROM steps WHERE call_id = (SELECT id FROM calls WHERE call_sid = ?1)",
        )
        .bind(call_sid)
        .fetch_one(r.conn())
        .await;
        Ok(super::log_complete(r.done(row).await?))
    }

    async fn purge_batch(&self, before: Timestamp, limit: u32) -> Result<Removed, StoreError> {
        let before = before.as_millisecond();
        self.maintain(move |db| maintenance::purge_batch(db, before, limit))
            .await
    }

    async fn purgeable(&self, before: Timestamp) -> Result<Removed, StoreError> {
        let mut r = self.readers.get().await?;
        let row = sqlx::query_as(retention::PURGEABLE_SQL)
            .bind(before.as_millisecond())
            .fetch_one(r.conn())
            .await;
        Ok(Removed::of_row(r.done(row).await?))
    }

    async fn record_purge(
        &self,
        before: Timestamp,
        at: Timestamp,
        calls: u64,
    ) -> Result<(), StoreError> {
        let (before, at) = (before.as_millisecond(), at.as_millisecond());
        self.maintain(move |db| {
            db.execute(
                retention::RECORD_SQL,
                rusqlite::params![before, at, calls as i64],
            )
            .map(|_| ())
        })
        .await
    }

    async fn purged_before(&self) -> Result<Option<Timestamp>, StoreError> {
        let mut r = self.readers.get().await?;
        let row = sqlx::query_as(retention::PURGED_BEFORE_SQL)
            .fetch_one(r.conn())
            .await;
        let (ms,): (Option<i64>,) = r.done(row).await?;
        Ok(ms.and_then(|ms| Timestamp::from_millisecond(ms).ok()))
    }

    async fn report_rows(&self, period: &reports::Period) -> Result<ReportRows, StoreError> {
        let (classes, at, hours) = (period.classes(), period.bounds(), period.hours());
        // One section per read connection, at once.
        let (classes, waits, moves, ratings, topics, containment, funnel) = tokio::try_join!(
            self.in_period(reports::CLASSES_SQL, &classes),
            self.in_period(reports::WAITS_SQL, &at),
            self.in_period(reports::MOVES_SQL, &at),
            self.in_period(reports::RATINGS_SQL, &at),
            self.in_period(reports::TOPICS_SQL, &at),
            self.in_period::<(i64, i64)>(reports::CONTAINMENT_SQL, &at),
            self.in_period(reports::FUNNEL_SQL, &hours),
        )?;
        Ok(reports::rows(
            classes,
            waits,
            moves,
            ratings,
            topics,
            containment,
            funnel,
        ))
    }

    fn kind(&self) -> &'static str {
        "sqlite"
    }

    async fn funnel(
        &self,
        since: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<reports::FunnelRow>, StoreError> {
        self.in_period(reports::FUNNEL_SQL, &reports::hours(since, until))
            .await
    }

    async fn closures(&self, now: Timestamp) -> Result<Vec<Closure>, StoreError> {
        let mut r = self.readers.get().await?;
        let rows = sqlx::query_as(admin::CLOSURES_SQL)
            .bind(now.as_millisecond())
            .fetch_all(r.conn())
            .await;
        let rows: Vec<admin::ClosureRow> = r.done(rows).await?;
        rows.into_iter().map(admin::closure).collect()
    }

    async fn close_group(&self, c: &Closure) -> Result<(), StoreError> {
        let (group, until, message, at) = admin::closure_params(c)?;
        self.maintain(move |db| {
            db.execute(
                admin::CLOSE_SQL,
                rusqlite::params![group, until, message, at],
            )
            .map(|_| ())
        })
        .await
    }

    async fn open_group(&self, group: &str) -> Result<bool, StoreError> {
        let group = group.to_owned();
        self.maintain(move |db| db.execute(admin::OPEN_SQL, [&group]).map(|n| n > 0))
            .await
    }

    async fn open_voicemails(
        &self,
        group: Option<&str>,
        limit: u32,
    ) -> Result<Vec<OpenVoicemail>, StoreError> {
        let mut r = self.readers.get().await?;
        let rows = sqlx::query_as(admin::VOICEMAILS_SQL)
            .bind(group)
            .bind(i64::from(limit))
            .fetch_all(r.conn())
            .await;
        let rows: Vec<admin::VoicemailRow> = r.done(rows).await?;
        Ok(rows.into_iter().map(admin::voicemail).collect())
    }

    async fn open_callbacks(
        &self,
        group: Option<&str>,
        limit: u32,
    ) -> Result<Vec<OpenCallback>, StoreError> {
        let mut r = self.readers.get().await?;
        let rows = sqlx::query_as(admin::CALLBACKS_SQL)
            .bind(group)
            .bind(i64::from(limit))
            .fetch_all(r.conn())
            .await;
        let rows: Vec<admin::CallbackRow> = r.done(rows).await?;
        Ok(rows.into_iter().map(admin::callback).collect())
    }

    async fn mark(&self, tray: Tray, id: i64, at: Timestamp) -> Result<Marked, StoreError> {
        let at = at.as_millisecond();
        self.maintain(move |db| {
            let changed = db.execute(tray.mark_sql(), rusqlite::params![at, id])?;
            let before = match changed {
                0 => {
                    use rusqlite::OptionalExtension;
                    db.query_row(tray.state_sql(), [id], |r| r.get::<_, Option<i64>>(0))
                        .optional()?
                }
                _ => Some(None),
            };
            Ok(Marked::of(changed as u64, before))
        })
        .await
    }

    async fn caller(&self, number: &str) -> Result<CallerRows, StoreError> {
        Ok(CallerRows {
            calls: self.by_number(callers::CALLS_SQL, number).await?,
            steps: self.by_number(callers::STEPS_SQL, number).await?,
            voicemails: self.by_number(callers::VOICEMAILS_SQL, number).await?,
            callbacks: self.by_number(callers::CALLBACKS_SQL, number).await?,
            surveys: self.by_number(callers::SURVEYS_SQL, number).await?,
        })
    }

    async fn erase_caller(
        &self,
        number: &str,
        hash: &str,
        live_since: Timestamp,
    ) -> Result<Erasure, StoreError> {
        let (number, hash) = (number.to_owned(), hash.to_owned());
        let since = live_since.as_millisecond();
        let erased = self
            .maintain(move |db| maintenance::erase_caller(db, &number, &hash, since))
            .await?;
        self.maintain(maintenance::empty_wal).await?;
        Ok(erased)
    }

    /// Write everything queued, stop the writer, close the readers.
    async fn close(&self) {
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

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    const OLD_CALL: &str =
        "INSERT INTO calls (call_sid, flow, version, caller, called, started_at, node, updated_at)";

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
            StoreError::migration(refused.expect_err("the view names a column that goes"))
                .to_string();
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
}
