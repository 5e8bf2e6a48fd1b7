//! `perimeter account credentials ACCOUNT_ID`: the root credentials of an account that
//! Organizations `CreateAccount` made, for the operator.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum AccountCommand {
    /// Print the root credentials of an account created with Organizations `CreateAccount`
    /// as shell exports.
    Credentials {
        /// The account id (12 digits).
        #[arg(value_name = "ACCOUNT_ID")]
        account_id: String,
        /// The data dir `perimeter serve` used.
        #[arg(long, value_name = "DIR", default_value = "perimeter-data")]
        data_dir: PathBuf,
    },
}

pub fn run(cmd: AccountCommand) -> ExitCode {
    match cmd {
        AccountCommand::Credentials {
            account_id,
            data_dir,
        } => credentials(&account_id, &data_dir),
    }
}

fn credentials(account_id: &str, data_dir: &std::path::Path) -> ExitCode {
    if account_id.len() != 12 || !account_id.chars().all(|c| c.is_ascii_digit()) {
        eprintln!("perimeter: `{account_id}` is not an account id (12 digits)");
        return ExitCode::FAILURE;
    }
    let store = match storage::Store::open_read_only(data_dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("perimeter: cannot open {}: {e}", data_dir.display());
            return ExitCode::FAILURE;
        }
    };
    match organizations::stored_root_credentials(&store, account_id) {
        Ok(Some((access_key_id, secret))) => {
            println!("export AWS_ACCESS_KEY_ID={access_key_id}");
            println!("export AWS_SECRET_ACCESS_KEY={secret}");
            ExitCode::SUCCESS
        }
        Ok(None) => {
            eprintln!(
                "perimeter: no account {account_id} created by Organizations in {}",
                data_dir.display()
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("perimeter: {e}");
            ExitCode::FAILURE
        }
    }
}
