//! A lean connection pool for the hot single-statement reads (get user, get organization,
//! find API key, find session, user access) when they are not pipelined (see
//! [`crate::pipeline`]): with [`crate::ReadClients::Off`], a URL asking for TLS, or
//! [`crate::PostgresStorage::from_pool`].
//!
//! sqlx's pool pings a connection every time it goes back into the pool, an extra round
//! trip per query that cannot be turned off in sqlx 0.8 and that doubled the cost of a GET
//! in the benchmark. This pool returns a connection as-is after a query that completed,
//! and discards one whose query failed or was cancelled half-way (its protocol state is
//! unknown), so no liveness ping is needed.

use std::fmt;
use std::sync::{Mutex, PoisonError};

use roster_domain::StoreError;
use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use tokio::sync::Semaphore;

use crate::error::store_error;

/// At most `size` connections, opened lazily, kept idle in a stack (most recently used
/// first, so a quiet service keeps few hot connections).
pub(crate) struct ReadPool {
    options: PgConnectOptions,
    idle: Mutex<Vec<PgConnection>>,
    permits: Semaphore,
}

impl fmt::Debug for ReadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadPool").field("available", &self.permits.available_permits()).finish_non_exhaustive()
    }
}

impl ReadPool {
    pub(crate) fn new(options: PgConnectOptions, size: u32) -> Self {
        let size = usize::try_from(size.max(1)).unwrap_or(1);
        Self { options, idle: Mutex::new(Vec::with_capacity(size)), permits: Semaphore::new(size) }
    }

    /// Runs one read on a pooled connection. The connection goes back only when `read`
    /// completed successfully; if it failed, or the caller's future is dropped mid-query,
    /// the connection is closed instead.
    pub(crate) async fn run<T, F>(&self, read: F) -> Result<T, StoreError>
    where
        F: AsyncFnOnce(&mut PgConnection) -> Result<T, sqlx::Error>,
    {
        let _permit = self.permits.acquire().await.map_err(StoreError::other)?;
        let mut conn = match self.idle_connection() {
            Some(conn) => conn,
            None => PgConnection::connect_with(&self.options).await.map_err(store_error)?,
        };
        let value = read(&mut conn).await.map_err(store_error)?;
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).push(conn);
        Ok(value)
    }

    fn idle_connection(&self) -> Option<PgConnection> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop()
    }

    /// Connections currently idle in the pool.
    pub(crate) fn idle_count(&self) -> usize {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}
