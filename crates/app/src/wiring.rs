//! Builds the storage adapter and the use cases from the configuration.

use std::path::Path;
use std::sync::Arc;

use roster_domain::StoreError;
use roster_domain::clock::SystemClock;
use roster_domain::outbox::RetryPolicy;
use roster_domain::ports::{Outbox, Storage};
use roster_domain::service::{Roster, Settings};
use roster_domain::values::PasswordPolicy;
use roster_mail::{Mailbox, SmtpConfigError, SmtpSettings, SmtpTransport, Transport, Worker, WorkerConfig};
use roster_postgres::{PostgresStorage, ReadClients};
use roster_sqlite::SqliteStorage;
use secrecy::ExposeSecret as _;

use crate::config::{Config, Database};
use crate::hasher::BlockingHasher;

/// The storage adapter chosen by the configuration.
#[derive(Debug, Clone)]
pub enum Backend {
    /// SQLite: the embedded default.
    Sqlite(SqliteStorage),
    /// PostgreSQL: production.
    Postgres(PostgresStorage),
}

impl Backend {
    /// Connects to the configured database (creating the SQLite file and data directory
    /// when needed). Does not migrate.
    ///
    /// # Errors
    /// [`StoreError`] when the database cannot be reached or created.
    pub async fn connect(config: &Config) -> Result<Self, StoreError> {
        match config.database() {
            Database::Sqlite(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(StoreError::other)?;
                }
                Ok(Self::Sqlite(SqliteStorage::open(&path).await?))
            }
            Database::Postgres(url) => {
                let read_clients = match config.db_read_clients {
                    Some(0) => ReadClients::Off,
                    Some(n) => ReadClients::Pipelined(n),
                    None => ReadClients::from_env(),
                };
                let storage =
                    PostgresStorage::connect_with_read_clients(url, config.db_max_connections, read_clients).await?;
                Ok(Self::Postgres(storage))
            }
        }
    }

    /// Opens a SQLite file (tests and embedded use).
    ///
    /// # Errors
    /// [`StoreError`] when the file cannot be opened.
    pub async fn sqlite(path: &Path) -> Result<Self, StoreError> {
        Ok(Self::Sqlite(SqliteStorage::open(path).await?))
    }

    /// Applies pending migrations.
    ///
    /// # Errors
    /// [`StoreError`] when a migration fails.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(s) => s.migrate().await,
            Self::Postgres(p) => p.migrate().await,
        }
    }

    /// `"sqlite"` or `"postgres"`, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// The storage port.
    pub fn storage(&self) -> Arc<dyn Storage> {
        match self {
            Self::Sqlite(s) => Arc::new(s.clone()),
            Self::Postgres(p) => Arc::new(p.clone()),
        }
    }

    /// The outbox, as the mail worker and `roster mail` see it.
    pub fn outbox(&self) -> Arc<dyn Outbox> {
        match self {
            Self::Sqlite(s) => Arc::new(s.clone()),
            Self::Postgres(p) => Arc::new(p.clone()),
        }
    }

    /// Publishes connection-pool gauges (called before each metrics scrape).
    pub fn record_pool_metrics(&self) {
        let (size, idle) = match self {
            Self::Sqlite(s) => (s.pool().size(), s.pool().num_idle()),
            Self::Postgres(p) => (p.pool().size(), p.pool().num_idle()),
        };
        let idle = u32::try_from(idle).unwrap_or(u32::MAX);
        metrics::gauge!("roster_db_pool_connections", "state" => "idle").set(f64::from(idle));
        metrics::gauge!("roster_db_pool_connections", "state" => "in_use").set(f64::from(size.saturating_sub(idle)));
    }
}

/// The use cases over `backend`, with the configured policies.
pub fn roster(backend: &Backend, config: &Config) -> Roster {
    let settings = Settings {
        password_policy: PasswordPolicy::with_min_chars(config.password_min_length),
        key_cache_ttl: chrono::Duration::seconds(i64::from(config.key_cache_ttl_seconds)),
        session_ttl: chrono::Duration::seconds(i64::from(config.session_ttl_seconds)),
        ..Settings::default()
    };
    Roster::new(backend.storage(), Arc::new(BlockingHasher::per_cpu()), settings)
}

/// Where email goes: the configured SMTP server, else the dev mailbox (the outbox itself,
/// read with `roster mail list` / `roster mail show`).
///
/// # Errors
/// [`SmtpConfigError`] when `smtp_url` or `mail_from` is unusable.
pub fn mail_transport(config: &Config) -> Result<Arc<dyn Transport>, SmtpConfigError> {
    match config.smtp_url.as_ref().filter(|url| !url.expose_secret().trim().is_empty()) {
        Some(url) => Ok(Arc::new(SmtpTransport::new(&SmtpSettings {
            url: url.clone(),
            from: config.mail_from.clone(),
            timeout: std::time::Duration::from_secs(20),
        })?)),
        None => Ok(Arc::new(Mailbox)),
    }
}

/// The outbox delivery worker with the configured pace and retries.
///
/// # Errors
/// [`SmtpConfigError`] when the SMTP settings are unusable.
pub fn mail_worker(backend: &Backend, config: &Config) -> Result<Worker, SmtpConfigError> {
    let retry = RetryPolicy {
        base: chrono::Duration::milliseconds(i64::try_from(config.mail_retry_base_ms).unwrap_or(i64::MAX)),
        max: chrono::Duration::hours(1),
        max_attempts: config.mail_max_attempts,
    };
    let worker_config = WorkerConfig {
        poll_interval: std::time::Duration::from_millis(config.mail_poll_ms),
        lease: std::time::Duration::from_secs(config.mail_lease_seconds),
        retry,
        ..WorkerConfig::default()
    };
    Ok(Worker::new(backend.outbox(), mail_transport(config)?, Arc::new(SystemClock), worker_config))
}
