//! The read connections: two SQLite connections beside the writer (WAL
//! lets reads run while it writes), each lent to one query at a time.

use crate::store::StoreError;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};
use std::sync::atomic::AtomicUsize;
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

/// Read connections.
pub(super) const READERS: usize = 2;

/// The read connections, each used by one query at a time. Not sqlx's
/// pool: that pings a connection each time it is given back, one more
/// round trip to the connection's thread for every read, which a local
/// file never needs (a read that was cancelled leaves nothing open: reads
/// are single statements, and the connection's thread finishes or resets
/// each before taking the next).
pub(super) struct Readers {
    /// `None` once closed.
    pub(super) conns: Vec<Mutex<Option<SqliteConnection>>>,
    /// Whose queue to join when every reader is busy.
    pub(super) next: AtomicUsize,
    /// How to open a reader again should its thread stop.
    pub(super) options: SqliteConnectOptions,
}

/// One reader, lent for one query: pass the query's result to
/// [`Reader::done`].
pub(super) struct Reader<'a> {
    conn: MappedMutexGuard<'a, SqliteConnection>,
    options: &'a SqliteConnectOptions,
}

impl Readers {
    /// A free reader, else the next one in turn once it is free.
    pub(super) async fn get(&self) -> Result<Reader<'_>, StoreError> {
        let guard = crate::store::lend(&self.conns, &self.next).await;
        let conn = MutexGuard::try_map(guard, Option::as_mut).map_err(|_| StoreError::Closed)?;
        Ok(Reader {
            conn,
            options: &self.options,
        })
    }

    /// Close every reader once its query is done; reads after this fail
    /// with [`StoreError::Closed`].
    pub(super) async fn close(&self) {
        for c in &self.conns {
            if let Some(conn) = c.lock().await.take() {
                let _ = conn.close().await;
            }
        }
    }
}

impl Reader<'_> {
    pub(super) fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }

    /// Give the reader back with its query's result. A reader whose thread
    /// has stopped is opened again in its place (sqlx's pool did that by
    /// pinging every connection it got back), so one crash does not fail
    /// every later read that lands on it.
    pub(super) async fn done<T>(mut self, result: Result<T, sqlx::Error>) -> Result<T, StoreError> {
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

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::store::Backend;
    use std::time::Duration;

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
}
