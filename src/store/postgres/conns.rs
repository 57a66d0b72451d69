//! The PostgreSQL store's connections, its own rather than a pool's: a
//! [`Conn`] is opened when first needed and again after it lost the server,
//! and [`Readers`] lends a few of them to one read at a time. (sqlx's pool
//! pings every connection it is given back, one more round trip of the
//! server's work for every read and every batch.)

use super::{CONNECT_WITHIN, Health};
use crate::store::StoreError;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use tokio::sync::{Mutex, MutexGuard};

/// One connection, opened on demand.
pub(super) struct Conn {
    pub(super) live: Option<PgConnection>,
    options: PgConnectOptions,
    /// The funnel rows a writer on this connection adds to
    /// (`node_hours.shard`): its own, so writers never wait for each other.
    pub(super) shard: i32,
}

impl Conn {
    pub(super) fn new(options: PgConnectOptions) -> Conn {
        Conn {
            live: None,
            options,
            shard: fastrand::i32(0..i32::MAX),
        }
    }

    /// The connection, opened first if need be (within [`CONNECT_WITHIN`]).
    pub(super) async fn get(&mut self) -> Result<&mut PgConnection, sqlx::Error> {
        let conn = match self.live.take() {
            Some(c) => c,
            None => tokio::time::timeout(CONNECT_WITHIN, PgConnection::connect_with(&self.options))
                .await
                .map_err(|_| sqlx::Error::PoolTimedOut)??,
        };
        Ok(self.live.insert(conn))
    }

    /// Close it, if it is open.
    pub(super) async fn close(&mut self) {
        if let Some(c) = self.live.take() {
            let _ = c.close().await;
        }
    }
}

/// The read connections, each lent to one read at a time.
pub(super) struct Readers {
    conns: Vec<Mutex<Conn>>,
    /// Whose queue to join when every reader is busy.
    next: AtomicUsize,
}

/// One reader, lent for one statement: pass its result to [`Reader::done`].
/// A reader dropped before that (its request gave up mid-statement) drops
/// its connection, which may be left mid-reply.
pub(super) struct Reader<'a> {
    conn: MutexGuard<'a, Conn>,
    health: &'a Arc<Health>,
    finished: bool,
}

impl Readers {
    pub(super) fn new(n: usize, options: &PgConnectOptions) -> Readers {
        Readers {
            conns: (0..n.max(1))
                .map(|_| Mutex::new(Conn::new(options.clone())))
                .collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// A free reader, else the next one in turn once it is free.
    pub(super) async fn get<'a>(&'a self, health: &'a Arc<Health>) -> Reader<'a> {
        let conn = crate::store::lend(&self.conns, &self.next).await;
        Reader {
            conn,
            health,
            finished: false,
        }
    }

    pub(super) async fn close(&self) {
        for c in &self.conns {
            c.lock().await.close().await;
        }
    }
}

impl Reader<'_> {
    /// Its connection, opened if need be.
    pub(super) async fn conn(&mut self) -> Result<&mut PgConnection, StoreError> {
        let health = self.health;
        match self.conn.get().await {
            Ok(c) => Ok(c),
            Err(e) => {
                health.failed(&e);
                self.finished = true;
                Err(StoreError::from(e))
            }
        }
    }

    /// Give the reader back with its statement's result; a connection that
    /// lost the server is dropped, to be opened again by the next read.
    pub(super) fn done<T>(mut self, result: Result<T, sqlx::Error>) -> Result<T, StoreError> {
        self.finished = true;
        if let Err(e) = &result
            && super::unreachable(e)
        {
            self.conn.live = None;
        }
        self.health.saw(&result);
        Ok(result?)
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.conn.live = None;
        }
    }
}
