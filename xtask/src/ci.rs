//! `cargo xtask ci`: the checks CI runs, stopping at the first failure.

use clap::Args;

use crate::test_task::{self, PostgresArgs, TestArgs};
use crate::{Result, Workspace, run_step};

#[derive(Debug, Args)]
pub struct CiArgs {
    #[command(flatten)]
    pub postgres: PostgresArgs,
}

pub fn run(ws: &Workspace, args: &CiArgs) -> Result<()> {
    eprintln!("xtask ci: [1/3] formatting");
    if !run_step(ws.cargo().args(["fmt", "--all", "--", "--check"]))? {
        return Err("ci: formatting differs (see the diff above); run `cargo fmt --all`".to_owned());
    }
    eprintln!("xtask ci: [2/3] clippy");
    if !run_step(ws.cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))? {
        return Err("ci: clippy reported problems (see above)".to_owned());
    }
    eprintln!("xtask ci: [3/3] tests");
    let test_args = TestArgs { postgres: args.postgres, no_doc: false, cargo_test: false, args: Vec::new() };
    test_task::run(ws, &test_args).map_err(|err| format!("ci: tests: {err}"))?;
    eprintln!("xtask ci: all checks passed");
    Ok(())
}
