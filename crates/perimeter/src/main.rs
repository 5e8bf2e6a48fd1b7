//! The `perimeter` command: thin glue over the workspace crates.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod policy_cmd;

/// A secure data-science environment on the AWS model, on one machine.
#[derive(Parser)]
#[command(name = "perimeter", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate and simulate IAM policies.
    #[command(subcommand)]
    Policy(policy_cmd::PolicyCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Policy(cmd) => policy_cmd::run(cmd),
    }
}
