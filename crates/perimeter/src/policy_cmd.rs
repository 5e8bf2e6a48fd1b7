//! `perimeter policy validate|simulate`.

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum PolicyCommand {}

pub fn run(cmd: PolicyCommand) -> ExitCode {
    match cmd {}
}
