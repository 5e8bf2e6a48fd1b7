//! The `perimeter` command: thin glue over the workspace crates.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

// Request handling allocates many small, short-lived objects across threads.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod account_cmd;
mod audit_cmd;
mod policy_cmd;
mod serve;
mod stack;
mod up;

/// A secure data-science environment on the AWS model, on one machine.
#[derive(Parser)]
#[command(name = "perimeter", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the AWS APIs (IAM, STS, ...) on one endpoint, with every call authorized and audited.
    ///
    /// Root credentials come from PERIMETER_ROOT_ACCESS_KEY_ID and PERIMETER_ROOT_SECRET_ACCESS_KEY
    /// when set; otherwise they are generated once and kept (wrapped) in the data dir, and
    /// `perimeter credentials` prints them. Point clients at the endpoint with
    /// AWS_ENDPOINT_URL=http://127.0.0.1:4566 or --endpoint-url.
    Serve(serve::ServeArgs),
    /// Serve, with the reference environment deployed: the templates in `templates/` become
    /// CloudFormation stacks (persona roles, private VPC with endpoints and flow logs, KMS
    /// keys, data buckets, a VpcOnly Studio domain), made once and kept in the data dir.
    ///
    /// Takes `perimeter serve`'s flags. A second `up` on the same data dir finds the stacks
    /// and leaves them; `--no-deploy` only serves.
    Up(up::UpArgs),
    /// Print the generated root credentials of a data dir as shell exports.
    Credentials {
        /// The data dir `perimeter serve` used.
        #[arg(long, value_name = "DIR", default_value = "perimeter-data")]
        data_dir: PathBuf,
        /// The account.
        #[arg(long, value_name = "ID", default_value = "000000000000")]
        account_id: String,
    },
    /// Verify, tail or export the audit trail of a data dir.
    #[command(subcommand)]
    Audit(audit_cmd::AuditCommand),
    /// Validate and simulate IAM policies.
    #[command(subcommand)]
    Policy(policy_cmd::PolicyCommand),
    /// Accounts created with Organizations: print their root credentials.
    #[command(subcommand)]
    Account(account_cmd::AccountCommand),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PERIMETER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Up(args) => up::run(args),
        Command::Credentials {
            data_dir,
            account_id,
        } => serve::print_credentials(&data_dir, &account_id),
        Command::Audit(cmd) => audit_cmd::run(cmd),
        Command::Policy(cmd) => policy_cmd::run(cmd),
        Command::Account(cmd) => account_cmd::run(cmd),
    }
}
