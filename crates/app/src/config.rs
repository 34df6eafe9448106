//! Typed configuration: defaults, then an optional TOML file, then `ROSTER_*` environment
//! variables (and `DATABASE_URL`), loaded once in `main` and passed down.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// How logs are written.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Everything the service can be configured with.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the SQLite database and the bootstrap key file live (`ROSTER_DATA_DIR`).
    #[serde(default = "defaults::data_dir")]
    pub data_dir: PathBuf,
    /// REST listen address (`ROSTER_HTTP_ADDR`).
    #[serde(default = "defaults::http_addr")]
    pub http_addr: SocketAddr,
    /// gRPC listen address (`ROSTER_GRPC_ADDR`).
    #[serde(default = "defaults::grpc_addr")]
    pub grpc_addr: SocketAddr,
    /// `postgres://…` to use PostgreSQL; unset means SQLite in the data directory
    /// (`DATABASE_URL` or `ROSTER_DATABASE_URL`).
    #[serde(default)]
    pub database_url: Option<SecretString>,
    /// Most database connections per instance (`ROSTER_DB_MAX_CONNECTIONS`).
    #[serde(default = "defaults::db_max_connections")]
    pub db_max_connections: u32,
    /// Pipelined PostgreSQL connections serving the hot reads (`ROSTER_DB_READ_CLIENTS`;
    /// `0` turns pipelining off; unset: one per two CPUs, 1 to 4).
    #[serde(default)]
    pub db_read_clients: Option<usize>,
    /// Minimum password length (`ROSTER_PASSWORD_MIN_LENGTH`, 8..=256, default 12).
    #[serde(default = "defaults::password_min_length")]
    pub password_min_length: usize,
    /// How long a verified API key or session is trusted before storage is asked again
    /// (`ROSTER_KEY_CACHE_TTL_SECONDS`, 0..=60, default 5): the longest a revocation, a
    /// suspension or a role change made through another instance takes to apply here.
    #[serde(default = "defaults::key_cache_ttl_seconds")]
    pub key_cache_ttl_seconds: u32,
    /// How long a login session lasts (`ROSTER_SESSION_TTL_SECONDS`, 300..=2592000,
    /// default 43200 = 12 hours).
    #[serde(default = "defaults::session_ttl_seconds")]
    pub session_ttl_seconds: u32,
    /// The address people and emails reach the service at (`ROSTER_PUBLIC_URL`, e.g.
    /// `https://id.example.com`); invitation links are `{public_url}/invite/{token}`.
    /// Default: `http://` + the REST listen address.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Where email goes (`ROSTER_SMTP_URL`): `smtp://[user:pass@]host:port` (plain, or
    /// STARTTLS with `?tls=required` / `?tls=opportunistic`), `smtps://…` (TLS from the
    /// first byte). A secret: never logged. Unset: the dev mailbox (`roster mail list`).
    #[serde(default)]
    pub smtp_url: Option<SecretString>,
    /// The sender of every email (`ROSTER_MAIL_FROM`).
    #[serde(default = "defaults::mail_from")]
    pub mail_from: String,
    /// How often the delivery worker looks for due email when nothing woke it
    /// (`ROSTER_MAIL_POLL_MS`, 10..=60000, default 1000).
    #[serde(default = "defaults::mail_poll_ms")]
    pub mail_poll_ms: u64,
    /// The wait after a failed delivery, doubled at each further failure up to an hour
    /// (`ROSTER_MAIL_RETRY_BASE_MS`, 10..=3600000, default 5000).
    #[serde(default = "defaults::mail_retry_base_ms")]
    pub mail_retry_base_ms: u64,
    /// How long a delivery attempt keeps a message from other instances' workers
    /// (`ROSTER_MAIL_LEASE_SECONDS`, 2..=3600, default 60); each send gets half of it. A
    /// message whose instance died mid-send is retried once the lease runs out.
    #[serde(default = "defaults::mail_lease_seconds")]
    pub mail_lease_seconds: u64,
    /// Delivery attempts before a message is marked failed (`ROSTER_MAIL_MAX_ATTEMPTS`,
    /// 1..=100, default 12).
    #[serde(default = "defaults::mail_max_attempts")]
    pub mail_max_attempts: u32,
    /// Log filter in `tracing` syntax (`ROSTER_LOG`, default `info`).
    #[serde(default = "defaults::log")]
    pub log: String,
    /// `text` or `json` (`ROSTER_LOG_FORMAT`).
    #[serde(default)]
    pub log_format: LogFormat,
}

mod defaults {
    use std::net::SocketAddr;
    use std::path::PathBuf;

    pub fn data_dir() -> PathBuf {
        PathBuf::from("data")
    }
    pub fn http_addr() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 8080))
    }
    pub fn grpc_addr() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 50051))
    }
    pub fn db_max_connections() -> u32 {
        32
    }
    pub fn password_min_length() -> usize {
        12
    }
    pub fn key_cache_ttl_seconds() -> u32 {
        5
    }
    pub fn session_ttl_seconds() -> u32 {
        12 * 3600
    }
    pub fn log() -> String {
        "info".to_owned()
    }
    pub fn mail_from() -> String {
        "Roster <roster@localhost>".to_owned()
    }
    pub fn mail_poll_ms() -> u64 {
        1000
    }
    pub fn mail_retry_base_ms() -> u64 {
        5000
    }
    pub fn mail_lease_seconds() -> u64 {
        60
    }
    pub fn mail_max_attempts() -> u32 {
        12
    }
}

/// The configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A source is malformed or a value has the wrong type.
    #[error("invalid configuration: {0}")]
    Invalid(#[from] Box<figment::Error>),
    /// A value is out of range.
    #[error("invalid configuration: {0}")]
    OutOfRange(&'static str),
}

/// Which database the service uses.
#[derive(Debug)]
pub enum Database<'a> {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL.
    Postgres(&'a str),
}

impl Config {
    /// Loads defaults → `file` (when given and present) → environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the bad value.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::from_figment(Self::figment(file))
    }

    /// The sources, in order of precedence (later wins).
    pub fn figment(file: Option<&Path>) -> Figment {
        let mut figment = Figment::new();
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment.merge(Env::prefixed("ROSTER_").ignore(&["config"])).merge(Env::raw().only(&["DATABASE_URL"]))
    }

    /// Extracts and checks the configuration.
    ///
    /// # Errors
    /// [`ConfigError`] naming the bad value.
    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let config: Self = figment.extract().map_err(Box::new)?;
        if !(8..=256).contains(&config.password_min_length) {
            return Err(ConfigError::OutOfRange("password_min_length must be between 8 and 256"));
        }
        if config.key_cache_ttl_seconds > 60 {
            return Err(ConfigError::OutOfRange("key_cache_ttl_seconds must be at most 60"));
        }
        if !(300..=30 * 24 * 3600).contains(&config.session_ttl_seconds) {
            return Err(ConfigError::OutOfRange("session_ttl_seconds must be between 300 and 2592000 (30 days)"));
        }
        if !(10..=60_000).contains(&config.mail_poll_ms) {
            return Err(ConfigError::OutOfRange("mail_poll_ms must be between 10 and 60000"));
        }
        if !(10..=3_600_000).contains(&config.mail_retry_base_ms) {
            return Err(ConfigError::OutOfRange("mail_retry_base_ms must be between 10 and 3600000"));
        }
        if !(2..=3600).contains(&config.mail_lease_seconds) {
            return Err(ConfigError::OutOfRange("mail_lease_seconds must be between 2 and 3600"));
        }
        if !(1..=100).contains(&config.mail_max_attempts) {
            return Err(ConfigError::OutOfRange("mail_max_attempts must be between 1 and 100"));
        }
        if let Some(url) = &config.public_url
            && roster_domain::values::HttpUrl::parse(url).is_err()
        {
            return Err(ConfigError::OutOfRange("public_url must be an absolute http(s) URL"));
        }
        if config.db_max_connections == 0 {
            return Err(ConfigError::OutOfRange("db_max_connections must be at least 1"));
        }
        Ok(config)
    }

    /// The database to use.
    pub fn database(&self) -> Database<'_> {
        match &self.database_url {
            Some(url) if !url.expose_secret().is_empty() => Database::Postgres(url.expose_secret()),
            _ => Database::Sqlite(self.data_dir.join("roster.db")),
        }
    }

    /// Where the first platform key is written.
    pub fn bootstrap_key_path(&self) -> PathBuf {
        self.data_dir.join("bootstrap-platform-key")
    }
}

#[cfg(test)]
// figment's `Jail` closures must return its (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use figment::Jail;

    use super::*;

    #[test]
    fn defaults_then_file_then_environment() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(config.http_addr.to_string(), "127.0.0.1:8080");
            assert!(matches!(config.database(), Database::Sqlite(p) if p.ends_with("data/roster.db")));

            jail.create_file("roster.toml", "http_addr = \"127.0.0.1:9000\"\ngrpc_addr = \"127.0.0.1:9001\"")?;
            jail.set_env("ROSTER_GRPC_ADDR", "127.0.0.1:9100");
            jail.set_env("DATABASE_URL", "postgres://db/roster");
            let config = Config::load(Some(Path::new("roster.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(config.http_addr.to_string(), "127.0.0.1:9000");
            assert_eq!(config.grpc_addr.to_string(), "127.0.0.1:9100");
            assert!(matches!(config.database(), Database::Postgres("postgres://db/roster")));
            Ok(())
        });
    }

    #[test]
    fn bad_values_are_named() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("ROSTER_HTTP_ADDR", "not an address");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.to_lowercase().contains("http_addr"), "{err}");
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("ROSTER_PASSWORD_MIN_LENGTH", "4");
            assert!(Config::load(None).unwrap_err().to_string().contains("password_min_length"));
            Ok(())
        });
        for (name, value, field) in [
            ("ROSTER_MAIL_POLL_MS", "0", "mail_poll_ms"),
            ("ROSTER_MAIL_RETRY_BASE_MS", "1", "mail_retry_base_ms"),
            ("ROSTER_MAIL_LEASE_SECONDS", "1", "mail_lease_seconds"),
            ("ROSTER_MAIL_MAX_ATTEMPTS", "0", "mail_max_attempts"),
            ("ROSTER_PUBLIC_URL", "id.example.com", "public_url"),
        ] {
            Jail::expect_with(|jail| {
                jail.clear_env();
                jail.set_env(name, value);
                let err = Config::load(None).unwrap_err().to_string();
                assert!(err.contains(field), "{name}={value}: {err}");
                Ok(())
            });
        }
    }

    #[test]
    fn the_smtp_url_is_a_secret() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("ROSTER_SMTP_URL", "smtps://roster:hunter2@mail.example.com:465");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert!(!format!("{config:?}").contains("hunter2"));
            assert_eq!(
                config.smtp_url.as_ref().map(ExposeSecret::expose_secret),
                Some("smtps://roster:hunter2@mail.example.com:465")
            );
            Ok(())
        });
    }
}
