//! The `roster` command line.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::server::{Server, shutdown_signal};
use crate::wiring::{Backend, mail_worker, roster};
use crate::{keyfile, telemetry};

/// Roster: multi-tenant users, roles and API keys over REST and gRPC.
#[derive(Debug, Parser)]
#[command(name = "roster", version, about)]
pub struct Cli {
    /// A TOML configuration file (values in the environment win over it).
    #[arg(long, global = true, env = "ROSTER_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Migrate the database and serve REST and gRPC until Ctrl-C or SIGTERM. On an empty
    /// database, first writes a platform key to `<data dir>/bootstrap-platform-key`.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Make a new platform key (all organizations) and print its secret once.
    CreatePlatformKey {
        /// A label for the key.
        #[arg(long, default_value = "operator")]
        name: String,
    },
    /// Read the outbox: every email Roster queued, delivered or not. With no SMTP server
    /// configured this is the dev mailbox.
    #[command(subcommand)]
    Mail(MailCommand),
}

#[derive(Debug, Subcommand)]
enum MailCommand {
    /// One line per message, oldest first: id, recipient, subject, status.
    List,
    /// One message: its delivery record and its text (links included; use --html for the
    /// HTML part).
    Show {
        /// The message's id, from `roster mail list`.
        id: String,
        /// Print the HTML part instead of the text.
        #[arg(long)]
        html: bool,
    },
}

/// Parses the command line and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("roster: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init_logging(&config.log, config.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("roster: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut chain = e.to_string();
            let mut source = e.source();
            while let Some(cause) = source {
                chain.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            tracing::error!(error = %chain, "roster failed");
            eprintln!("roster: {chain}");
            ExitCode::FAILURE
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn run(command: Command, config: Config) -> Result<(), BoxError> {
    let backend = Backend::connect(&config).await?;
    backend.migrate().await?;
    match command {
        Command::Migrate => {
            tracing::info!(database = backend.name(), "migrations applied");
            Ok(())
        }
        Command::CreatePlatformKey { name } => {
            let (key, secret) = roster(&backend, &config).create_platform_key(&name).await?;
            tracing::info!(key_id = %key.id, prefix = %key.prefix, "platform key created");
            // The secret goes to stdout, once, for the operator; never to the logs.
            writeln!(std::io::stdout(), "{}", secret.expose())?;
            Ok(())
        }
        Command::Serve => serve(config, backend).await,
        Command::Mail(command) => crate::mailbox::run(&backend, command_of(command)).await,
    }
}

fn command_of(command: MailCommand) -> crate::mailbox::Command {
    match command {
        MailCommand::List => crate::mailbox::Command::List,
        MailCommand::Show { id, html } => crate::mailbox::Command::Show { id, html },
    }
}

async fn serve(config: Config, backend: Backend) -> Result<(), BoxError> {
    let worker = mail_worker(&backend, &config)?;
    let metrics = telemetry::metrics_handle();
    let server = Server::bind(config.http_addr, config.grpc_addr, backend.clone(), metrics).await?;
    // Links in emails lead to this server unless a public URL is configured.
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", server.http_addr().unwrap_or(config.http_addr)));
    let roster =
        Arc::new(roster(&backend, &config).with_public_url(public_url.clone()).with_mail_signal(worker.mail_signal()));
    if let Some((key, secret)) = roster.bootstrap_platform_key().await? {
        let path = config.bootstrap_key_path();
        keyfile::write_secret(&path, secret.expose())?;
        tracing::warn!(
            key_id = %key.id,
            path = %absolute(&path),
            "no platform key existed: created one and wrote its secret to this file (mode 0600); \
             use it as `Authorization: Bearer <key>`, then store it safely and delete the file"
        );
    }
    tracing::info!(
        http = %server.http_addr()?,
        grpc = %server.grpc_addr()?,
        database = backend.name(),
        public_url = %public_url,
        mail = worker.transport_name(),
        "roster is serving"
    );
    let (stop_mail, mail_stopped) = tokio::sync::oneshot::channel::<()>();
    let mail = tokio::spawn(async move {
        worker
            .run(async {
                let _ = mail_stopped.await;
            })
            .await;
    });
    let served = server.run(roster, shutdown_signal()).await;
    // The worker finishes the pass under way (each send is bounded); what it does not
    // send stays in the outbox for the next start.
    let _ = stop_mail.send(());
    let _ = mail.await;
    served?;
    tracing::info!("roster stopped");
    Ok(())
}

fn absolute(path: &Path) -> String {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned()).display().to_string()
}
