//! `cargo xtask test`: every test of the workspace, against PostgreSQL.

use std::collections::BTreeSet;
use std::process::Stdio;

use clap::Args;
use clap::builder::BoolishValueParser;

use crate::{Result, Workspace, browser, interrupted, postgres, run_step};

/// Environment variable carrying the admin URL to the tests; they create their own databases
/// (named `roster_t_*`) from it.
pub const TEST_DATABASE_URL_ENV: &str = "ROSTER_TEST_DATABASE_URL";

#[derive(Debug, Clone, Copy, Args)]
pub struct PostgresArgs {
    /// Always start a throwaway PostgreSQL cluster (in target/xtask-pg-test, or
    /// target/xtask-pg-bench for the bench), ignoring $DATABASE_URL, the `cargo xtask db start`
    /// cluster and 127.0.0.1:5432.
    #[arg(long, env = "XTASK_THROWAWAY_POSTGRES", value_parser = BoolishValueParser::new())]
    pub throwaway_postgres: bool,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    #[command(flatten)]
    pub postgres: PostgresArgs,
    /// Skip the doctests (`cargo test --doc`).
    #[arg(long)]
    pub no_doc: bool,
    /// Use `cargo test` even when cargo-nextest is installed.
    #[arg(long)]
    pub cargo_test: bool,
    /// Passed on to `cargo nextest run` (or `cargo test`), e.g. `-p roster-domain`, a test name
    /// filter, or `-- --nocapture`. `-p`/`--package` replaces the default `--workspace`; package
    /// and feature selections also apply to the doctests (test name filters do not).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

impl TestArgs {
    /// Picks xtask's own flags out of the passthrough arguments (clap stops looking for them at
    /// the first unknown argument): `test -p foo --no-doc` works like `test --no-doc -p foo`.
    fn normalized(&self) -> TestArgs {
        let mut args = TestArgs { args: Vec::new(), ..*self };
        let mut rest = self.args.iter();
        for arg in rest.by_ref() {
            match arg.as_str() {
                "--no-doc" => args.no_doc = true,
                "--cargo-test" => args.cargo_test = true,
                "--throwaway-postgres" => args.postgres.throwaway_postgres = true,
                "--" => {
                    args.args.push(arg.clone());
                    break;
                }
                _ => args.args.push(arg.clone()),
            }
        }
        args.args.extend(rest.cloned());
        args
    }
}

pub fn run(ws: &Workspace, args: &TestArgs) -> Result<()> {
    let args = &args.normalized();
    let database = postgres::for_tests(ws, args.postgres.throwaway_postgres)?;
    eprintln!("xtask: PostgreSQL: {}", database.description);
    eprintln!("xtask: exporting {TEST_DATABASE_URL_ENV}={}", database.url);
    if !database.fresh {
        postgres::drop_leftover_databases(&database.url);
    }

    let browser = browser::ensure()?;
    eprintln!("xtask: browser tests use {} and {}", browser.chromium.display(), browser.chromedriver.display());

    let selection = Selection::parse(&args.args);
    let mut failed = Vec::new();

    let nextest = !args.cargo_test && nextest_available(ws);
    if !nextest && !args.cargo_test {
        eprintln!("xtask: note: cargo-nextest not found (`cargo install cargo-nextest`); using `cargo test`");
    }
    let mut tests = ws.cargo();
    if nextest {
        tests.args(["nextest", "run"]);
    } else {
        tests.arg("test");
    }
    if selection.packages.is_empty() {
        tests.arg("--workspace");
    }
    tests.args(["--all-targets", "--no-fail-fast"]).args(&args.args).env(TEST_DATABASE_URL_ENV, &database.url);
    browser.export(&mut tests);
    if !run_step(&mut tests)? {
        failed.push(if nextest { "tests (cargo nextest run)" } else { "tests (cargo test)" });
    }

    if args.no_doc || interrupted() {
        eprintln!("xtask: skipping doctests");
    } else if let Some(doc_args) = selection.doctest_args(&packages_without_doctests(ws)) {
        let mut doctests = ws.cargo();
        doctests.args(["test", "--doc"]).args(doc_args).env(TEST_DATABASE_URL_ENV, &database.url);
        if !run_step(&mut doctests)? {
            failed.push("doctests (cargo test --doc)");
        }
    } else {
        eprintln!("xtask: no doctests in the selected packages");
    }

    drop(database); // stop a throwaway cluster before the verdict
    if interrupted() {
        return Err("interrupted".to_owned());
    }
    if failed.is_empty() {
        eprintln!("xtask: all tests passed");
        Ok(())
    } else {
        Err(format!("failed: {}", failed.join(", ")))
    }
}

fn nextest_available(ws: &Workspace) -> bool {
    ws.cargo()
        .args(["nextest", "--version"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Workspace packages without any doctest target (e.g. binary-only crates such as xtask):
/// `cargo test --doc -p <them>` would be an error.
fn packages_without_doctests(ws: &Workspace) -> BTreeSet<String> {
    let Ok(output) = ws.cargo().args(["metadata", "--no-deps", "--format-version", "1"]).stderr(Stdio::null()).output()
    else {
        return BTreeSet::new();
    };
    let Ok(metadata) = serde_json::from_slice::<serde_json::Value>(&output.stdout) else {
        return BTreeSet::new();
    };
    let packages = metadata["packages"].as_array().map(Vec::as_slice).unwrap_or_default();
    packages
        .iter()
        .filter(|package| {
            let targets = package["targets"].as_array().map(Vec::as_slice).unwrap_or_default();
            !targets.iter().any(|target| target["doctest"].as_bool() == Some(true))
        })
        .filter_map(|package| package["name"].as_str().map(str::to_owned))
        .collect()
}

/// Package and feature selection found among the passthrough arguments (before any `--`).
#[derive(Debug, Default, PartialEq, Eq)]
struct Selection {
    packages: Vec<String>,
    /// `--exclude`, `--features`, ... as given, to be repeated for the doctests.
    others: Vec<String>,
}

impl Selection {
    fn parse(args: &[String]) -> Self {
        let mut selection = Selection::default();
        let mut args = args.iter().take_while(|arg| *arg != "--");
        while let Some(arg) = args.next() {
            let arg = arg.as_str();
            match arg {
                "-p" | "--package" => selection.packages.extend(args.next().cloned()),
                "--exclude" | "-F" | "--features" => {
                    selection.others.push(arg.to_owned());
                    selection.others.extend(args.next().cloned());
                }
                "--workspace" | "--all-features" | "--no-default-features" => selection.others.push(arg.to_owned()),
                _ => {
                    if let Some(package) = arg.strip_prefix("--package=").or_else(|| arg.strip_prefix("-p")) {
                        selection.packages.push(package.to_owned());
                    } else if arg.starts_with("--exclude=") || arg.starts_with("--features=") || arg.starts_with("-F") {
                        selection.others.push(arg.to_owned());
                    }
                }
            }
        }
        selection
    }

    /// Arguments for `cargo test --doc`, or `None` if every selected package lacks doctests.
    fn doctest_args(&self, without_doctests: &BTreeSet<String>) -> Option<Vec<String>> {
        let mut args = Vec::new();
        if self.packages.is_empty() {
            if !self.others.iter().any(|arg| arg == "--workspace") {
                args.push("--workspace".to_owned());
            }
        } else {
            for package in self.packages.iter().filter(|package| !without_doctests.contains(*package)) {
                args.extend(["-p".to_owned(), package.clone()]);
            }
            if args.is_empty() {
                return None;
            }
        }
        args.extend(self.others.iter().cloned());
        Some(args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|arg| (*arg).to_owned()).collect()
    }

    #[test]
    fn selection_finds_packages_and_features_before_double_dash() {
        let args = strings(&["-p", "a", "--package=b", "-pc", "my_test", "-F", "x", "--exclude", "d", "--", "-p", "e"]);
        let selection = Selection::parse(&args);
        assert_eq!(selection.packages, ["a", "b", "c"]);
        assert_eq!(selection.others, ["-F", "x", "--exclude", "d"]);
    }

    #[test]
    fn doctests_cover_the_workspace_by_default() {
        let selection = Selection::parse(&strings(&["some_filter", "--", "--nocapture"]));
        assert_eq!(selection, Selection::default());
        assert_eq!(selection.doctest_args(&BTreeSet::new()), Some(strings(&["--workspace"])));
    }

    #[test]
    fn own_flags_are_picked_out_of_the_passthrough_arguments() {
        let args = TestArgs {
            postgres: PostgresArgs { throwaway_postgres: false },
            no_doc: false,
            cargo_test: false,
            args: strings(&["-p", "a", "--no-doc", "--throwaway-postgres", "--", "--cargo-test"]),
        };
        let args = args.normalized();
        assert!(args.no_doc && args.postgres.throwaway_postgres && !args.cargo_test);
        assert_eq!(args.args, ["-p", "a", "--", "--cargo-test"]);
    }

    #[test]
    fn doctests_skip_packages_without_libraries() {
        let without: BTreeSet<String> = ["xtask".to_owned()].into();
        let only_xtask = Selection::parse(&strings(&["-p", "xtask"]));
        assert_eq!(only_xtask.doctest_args(&without), None);
        let mixed = Selection::parse(&strings(&["-p", "xtask", "-p", "roster-domain", "--all-features"]));
        assert_eq!(mixed.doctest_args(&without), Some(strings(&["-p", "roster-domain", "--all-features"])));
    }
}
