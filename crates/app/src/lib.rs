//! The `roster` binary's library: configuration, wiring, the CLI and the server, kept in
//! a library so black-box tests build the service exactly as `roster serve` does.

pub mod cli;
pub mod config;
pub mod hasher;
pub mod keyfile;
pub mod mailbox;
pub mod server;
pub mod telemetry;
pub mod wiring;
