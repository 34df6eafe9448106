//! `cargo xtask <task>`: project chores (tests with PostgreSQL, CI, a developer database).
//!
//! Each task lives in its own module; to add one, add a variant to [`Task`] and a match arm in
//! [`run`]. Status messages go to stderr; stdout is reserved for machine-readable output such as
//! `cargo xtask db url`.
#![allow(clippy::print_stdout)]

mod bench;
mod browser;
mod ci;
mod db;
mod postgres;
mod test_task;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::{env, thread};

use clap::{Parser, Subcommand};

/// Errors are plain messages: this is a CLI and every error ends up printed for a human.
pub type Result<T, E = String> = std::result::Result<T, E>;

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", about = "Roster project chores", version)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Run every test of the workspace (nextest or cargo test, then doctests) against PostgreSQL.
    ///
    /// PostgreSQL is chosen in this order: $DATABASE_URL (if it is a postgres:// URL); the cluster
    /// of `cargo xtask db start`; a server on 127.0.0.1:5432 that accepts user `postgres` without
    /// a password; otherwise a throwaway cluster in target/xtask-pg-test, stopped afterwards. The
    /// admin URL is exported to the tests as $ROSTER_TEST_DATABASE_URL.
    Test(test_task::TestArgs),
    /// What CI runs: `cargo fmt --check`, clippy with -D warnings, then `cargo xtask test`.
    Ci(ci::CiArgs),
    /// Manage a developer PostgreSQL cluster in target/xtask-pg.
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Benchmark GET user over REST and gRPC against `pgbench -S` on the same PostgreSQL.
    ///
    /// Builds the release binaries, seeds one organization with --users users, serves it with
    /// `target/release/roster serve`, drives each API with --connections keep-alive connections
    /// for --duration-secs, then runs `pgbench -S -M prepared` at the same concurrency. Prints
    /// requests/s, p50/p99 latency and the ratio to pgbench's tps; writes target/bench/results.json.
    /// PostgreSQL is found as for `cargo xtask test` (throwaway cluster: target/xtask-pg-bench).
    Bench(bench::BenchArgs),
    /// The work of `cargo xtask bench`, run from the release build of xtask.
    #[command(hide = true)]
    BenchRun(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    install_interrupt_handler();
    let workspace = Workspace::detect();
    match run(&workspace, cli.task) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(workspace: &Workspace, task: Task) -> Result<()> {
    match task {
        Task::Test(args) => test_task::run(workspace, &args),
        Task::Ci(args) => ci::run(workspace, &args),
        Task::Db(command) => db::run(workspace, &command),
        Task::Bench(args) => bench::run(workspace, &args),
        Task::BenchRun(args) => bench::run_measurements(workspace, &args),
    }
}

/// Paths and tools of the workspace xtask belongs to.
#[derive(Debug)]
pub struct Workspace {
    pub root: PathBuf,
    pub target: PathBuf,
    cargo: OsString,
}

impl Workspace {
    fn detect() -> Self {
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf();
        let target = match env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => {
                let dir = PathBuf::from(dir);
                if dir.is_absolute() { dir } else { env::current_dir().unwrap_or_else(|_| root.clone()).join(dir) }
            }
            _ => root.join("target"),
        };
        // `cargo run` tells us which cargo (and so which toolchain) is driving; reuse it.
        let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        Workspace { root, target, cargo }
    }

    /// A `cargo` command run from the workspace root.
    pub fn cargo(&self) -> Command {
        let mut command = Command::new(&self.cargo);
        command.current_dir(&self.root);
        command
    }
}

/// Runs `command` with inherited stdio after echoing it; `Ok(false)` when it exits unsuccessfully.
pub fn run_step(command: &mut Command) -> Result<bool> {
    eprintln!("==> {}", display_command(command));
    let status = command.status().map_err(|err| format!("cannot run `{}`: {err}", display_command(command)))?;
    Ok(status.success())
}

/// `program arg...` for messages, quoting arguments that need it.
pub fn display_command(command: &Command) -> String {
    let program = Path::new(command.get_program());
    let program = program.file_name().unwrap_or(program.as_os_str()).to_string_lossy();
    let mut text = program.into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&shell_quote(&arg.to_string_lossy()));
    }
    text
}

/// Quotes `word` for a POSIX shell (only when needed).
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':' | '=' | '@' | ','));
    if plain { word.to_owned() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether Ctrl-C was pressed. Child processes receive the SIGINT themselves (same process
/// group) and exit; xtask survives it so that it can stop the PostgreSQL it started.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

fn install_interrupt_handler() {
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let spawned = thread::Builder::new().name("xtask-sigint".into()).spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
            return;
        };
        runtime.block_on(async move {
            let Ok(mut sigint) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()) else {
                return;
            };
            let _ = ready_tx.send(());
            while sigint.recv().await.is_some() {
                INTERRUPTED.store(true, Ordering::SeqCst);
                eprintln!("\nxtask: interrupted; waiting for running commands to exit, then cleaning up");
            }
        });
    });
    if spawned.is_ok() {
        // Returns once the handler is registered, or at once if registration failed.
        let _ = ready_rx.recv();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quote_leaves_plain_words_alone() {
        assert_eq!(shell_quote("--all-targets"), "--all-targets");
        assert_eq!(
            shell_quote("postgres://postgres@127.0.0.1:5432/postgres"),
            "postgres://postgres@127.0.0.1:5432/postgres"
        );
    }

    #[test]
    fn shell_quote_quotes_spaces_quotes_and_empty() {
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn test_passes_unknown_flags_through() {
        let cli = Cli::try_parse_from(["cargo xtask", "test", "--no-doc", "-p", "xtask", "--", "--nocapture"]).unwrap();
        let Task::Test(args) = cli.task else { panic!("expected the test task") };
        assert!(args.no_doc);
        assert_eq!(args.args, ["-p", "xtask", "--", "--nocapture"]);
    }
}
