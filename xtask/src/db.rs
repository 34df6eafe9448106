//! `cargo xtask db`: a PostgreSQL cluster for developers that outlives the command.

use clap::Subcommand;

use crate::postgres::{self, Cluster, DEV_CLUSTER, PgBinaries};
use crate::{Result, Workspace};

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Start a fresh cluster in target/xtask-pg (replacing an old one) and print its URL.
    /// `cargo xtask test` uses it while it runs (unless $DATABASE_URL is set).
    Start,
    /// Stop the cluster started by `cargo xtask db start`.
    Stop,
    /// Print the admin URL `cargo xtask test` would use; fails if it would need a throwaway cluster.
    Url,
}

pub fn run(ws: &Workspace, command: &DbCommand) -> Result<()> {
    let dir = postgres::cluster_dir(ws, DEV_CLUSTER);
    match command {
        DbCommand::Start => {
            if let Some(port) = postgres::running_port(&dir) {
                eprintln!("xtask: the cluster in {} is already running", dir.display());
                println!("postgres://postgres@127.0.0.1:{port}/postgres");
                return Ok(());
            }
            let bins = PgBinaries::find().ok_or_else(postgres::no_postgres_help)?;
            let cluster = Cluster::create(bins, &dir)?;
            eprintln!(
                "xtask: PostgreSQL is running in {dir} (log: {dir}/log); stop it with `cargo xtask db stop`",
                dir = cluster.dir.display()
            );
            println!("{}", cluster.url());
            Ok(())
        }
        DbCommand::Stop => {
            if !dir.join("postmaster.pid").exists() {
                eprintln!("xtask: no cluster is running in {}", dir.display());
                return Ok(());
            }
            let bins = PgBinaries::find().ok_or_else(postgres::no_postgres_help)?;
            postgres::stop(&bins, &dir, "fast")?;
            eprintln!("xtask: stopped the cluster in {}", dir.display());
            Ok(())
        }
        DbCommand::Url => match postgres::find_running(ws) {
            Some(found) => {
                eprintln!("xtask: {}", found.describe());
                println!("{}", found.url());
                Ok(())
            }
            None => Err(format!(
                "no running PostgreSQL found; `cargo xtask test` would start a throwaway cluster. \
                 Run `cargo xtask db start` for one that stays up.\n{}",
                if PgBinaries::find().is_some() { String::new() } else { postgres::no_postgres_help() }
            )),
        },
    }
}
