//! The baseline: `pgbench -S -M prepared` (one indexed primary-key SELECT per transaction,
//! as prepared statements) against the same PostgreSQL server, at the same concurrency.

use std::path::Path;
use std::process::{Command, Stdio};

use super::cpu::CpuUsage;
use crate::{Result, display_command, postgres};

/// The name of this phase in `--only` and in the results.
pub const NAME: &str = "pgbench";
/// The name of the single-row INSERT phase.
pub const INSERT_NAME: &str = "pgbench_insert";

/// pgbench's threads: one per core of the 2-core target machine.
const THREADS: u32 = 2;

/// pgbench on one database.
#[derive(Debug)]
pub struct Pgbench<'a> {
    pub program: &'a Path,
    /// The database, as a URL (pgbench takes a connection string where the name goes).
    pub url: &'a str,
}

/// What pgbench reported.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PgbenchResult {
    /// Transactions per second, without the initial connection time.
    pub tps: f64,
    /// Average latency, in milliseconds.
    pub latency_avg_ms: Option<f64>,
    /// Transactions processed.
    pub transactions: Option<u64>,
    /// Where the CPU went (filled in by the caller).
    pub cpu: Option<CpuUsage>,
}

impl Pgbench<'_> {
    fn command(&self) -> Command {
        let mut command = Command::new(self.program);
        command.env("PGCONNECT_TIMEOUT", "10").stdin(Stdio::null());
        command
    }

    /// `pgbench -i -s <scale> -q`: creates and fills the pgbench tables.
    pub fn init(&self, scale: u32) -> Result<()> {
        let mut command = self.command();
        command.args(["-i", "-q", "-s", &scale.to_string()]).arg(self.url);
        let output = command.output().map_err(|err| format!("cannot run pgbench: {err}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "`{}` failed ({}):\n{}",
                redacted(&command, self.url),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    }

    /// `pgbench -S -M prepared -c <clients> -j 2 -T <seconds>`.
    pub fn select_only(&self, clients: u32, seconds: u64) -> Result<PgbenchResult> {
        let mut command = self.command();
        command
            .args(["-S", "-M", "prepared", "-n"])
            .args(["-c", &clients.to_string(), "-j", &THREADS.min(clients).to_string()])
            .args(["-T", &seconds.to_string()])
            .arg(self.url);
        self.measure(&mut command)
    }
}

/// The users-like table the insert baseline writes: a UUID key, the organization, a
/// unique (organization, email) index as Roster's users have, and the usual columns.
pub const INSERT_TABLE_SQL: &str = "DROP TABLE IF EXISTS bench_users; DROP SEQUENCE IF EXISTS bench_users_seq; \
     CREATE SEQUENCE bench_users_seq; \
     CREATE TABLE bench_users (id uuid PRIMARY KEY, org_id uuid NOT NULL, email text NOT NULL, \
     username text NOT NULL, name text NOT NULL, status text NOT NULL, role_ids uuid[] NOT NULL, \
     created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, version bigint NOT NULL, \
     UNIQUE (org_id, email))";

/// One single-row INSERT per transaction, each with a new email.
const INSERT_SCRIPT: &str = "INSERT INTO bench_users (id, org_id, email, username, name, status, role_ids, \
     created_at, updated_at, version) SELECT gen_random_uuid(), '00000000-0000-7000-8000-000000000001', \
     'user' || n || '@load.example', 'user' || n, 'Load User', 'invited', \
     ARRAY['00000000-0000-7000-8000-000000000002'::uuid], now(), now(), 1 \
     FROM nextval('bench_users_seq') AS n;\n";

impl Pgbench<'_> {
    /// `pgbench -f <one INSERT> -M prepared -c <clients> -j 2 -T <seconds>` into
    /// [`INSERT_TABLE_SQL`]'s table, which the caller creates.
    pub fn insert_only(&self, clients: u32, seconds: u64, script_dir: &Path) -> Result<PgbenchResult> {
        let script = script_dir.join("insert-user.sql");
        std::fs::write(&script, INSERT_SCRIPT).map_err(|err| format!("cannot write {}: {err}", script.display()))?;
        let mut command = self.command();
        command
            .args(["-M", "prepared", "-n", "-f"])
            .arg(&script)
            .args(["-c", &clients.to_string(), "-j", &THREADS.min(clients).to_string()])
            .args(["-T", &seconds.to_string()])
            .arg(self.url);
        self.measure(&mut command)
    }

    fn measure(&self, command: &mut Command) -> Result<PgbenchResult> {
        let output = command.output().map_err(|err| format!("cannot run pgbench: {err}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(format!(
                "`{}` failed ({}):\n{stdout}{}",
                redacted(command, self.url),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        parse(&stdout).ok_or_else(|| format!("cannot find the tps in pgbench's output:\n{stdout}"))
    }
}

fn redacted(command: &Command, url: &str) -> String {
    display_command(command).replace(url, &postgres::redact_password(url))
}

/// Reads pgbench's summary. Newer versions print `tps = N (without initial connection
/// time)`; older ones two lines, `including` and `excluding connections establishing`.
fn parse(output: &str) -> Option<PgbenchResult> {
    let number_after = |line: &str, prefix: &str| -> Option<f64> {
        line.trim().strip_prefix(prefix)?.split_whitespace().next()?.parse().ok()
    };
    let mut result = PgbenchResult::default();
    let mut tps = None;
    for line in output.lines() {
        if let Some(value) = number_after(line, "tps =") {
            let preferred = line.contains("without initial connection time") || line.contains("excluding");
            if preferred || tps.is_none() {
                tps = Some(value);
            }
        } else if let Some(value) = number_after(line, "latency average =") {
            result.latency_avg_ms = Some(value);
        } else if let Some(value) = number_after(line, "number of transactions actually processed:") {
            result.transactions = Some(value as u64);
        }
    }
    result.tps = tps?;
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pgbench_15_output() {
        let output = "pgbench (15.20 (Debian 15.20-0+deb12u1))\ntransaction type: <builtin: select only>\n\
                      scaling factor: 10\nquery mode: prepared\nnumber of clients: 32\nnumber of threads: 2\n\
                      maximum number of tries: 1\nduration: 10 s\n\
                      number of transactions actually processed: 251234\n\
                      number of failed transactions: 0 (0.000%)\nlatency average = 1.271 ms\n\
                      initial connection time = 61.003 ms\ntps = 25180.468085 (without initial connection time)\n";
        let result = parse(output).unwrap();
        assert!((result.tps - 25180.468085).abs() < 1e-6);
        assert_eq!(result.latency_avg_ms, Some(1.271));
        assert_eq!(result.transactions, Some(251_234));
    }

    #[test]
    fn prefers_tps_excluding_connections() {
        let output = "tps = 100.5 (including connections establishing)\n\
                      tps = 120.25 (excluding connections establishing)\n";
        assert_eq!(parse(output).unwrap().tps, 120.25);
        assert_eq!(parse("no numbers here"), None);
    }
}
