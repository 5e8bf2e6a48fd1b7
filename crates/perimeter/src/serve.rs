//! `perimeter serve`: the AWS-compatible server on one machine.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use serde::{Deserialize, Serialize};

/// Where the server listens and keeps its state.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Directory for the database, the root key and object bodies (created if missing).
    #[arg(
        long,
        value_name = "DIR",
        default_value = "perimeter-data",
        conflicts_with = "ephemeral"
    )]
    pub data_dir: PathBuf,
    /// Keep everything in memory; nothing survives the process.
    #[arg(long)]
    pub ephemeral: bool,
    /// Address of the public endpoint.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4566")]
    pub listen: SocketAddr,
    /// The region served.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// The account the root credentials belong to.
    #[arg(long, value_name = "ID", default_value = "000000000000")]
    pub account_id: String,
}

/// The root credentials of the default account, as kept in the store (secret wrapped).
#[derive(Serialize, Deserialize)]
struct RootCredentials {
    account_id: String,
    access_key_id: String,
    wrapped_secret: String,
}

impl storage::Record for RootCredentials {
    const TABLE: &'static str = "perimeter.root_credentials";
    fn key(&self) -> String {
        self.account_id.clone()
    }
}

const ROOT_AAD: &[u8] = b"perimeter root credentials";

fn random_token(len: usize, alphabet: &[u8]) -> String {
    let mut bytes = vec![0u8; len];
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    bytes
        .iter()
        .map(|b| alphabet[*b as usize % alphabet.len()] as char)
        .collect()
}

/// The root credentials: from the environment, else the store, else generated once and stored.
fn root_credentials(
    store: &storage::Store,
    account: &str,
) -> Result<(String, String, &'static str), String> {
    if let (Ok(id), Ok(secret)) = (
        std::env::var("PERIMETER_ROOT_ACCESS_KEY_ID"),
        std::env::var("PERIMETER_ROOT_SECRET_ACCESS_KEY"),
    ) {
        return Ok((id, secret, "environment"));
    }
    let table = store.table::<RootCredentials>();
    if let Some(found) = table.get(account).map_err(|e| e.to_string())? {
        let secret = unwrap_secret(store, &found)?;
        return Ok((found.access_key_id, secret, "store"));
    }
    let id = format!(
        "AKIA{}",
        random_token(16, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    );
    let secret = random_token(
        40,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    );
    let wrapped = store
        .keyring()
        .wrap(secret.as_bytes(), ROOT_AAD)
        .map_err(|e| e.to_string())?;
    let record = RootCredentials {
        account_id: account.to_string(),
        access_key_id: id.clone(),
        wrapped_secret: base64_encode(&wrapped),
    };
    let mut batch = storage::Batch::new();
    batch.put(&record);
    store.commit_blocking(batch).map_err(|e| e.to_string())?;
    Ok((id, secret, "generated"))
}

fn unwrap_secret(store: &storage::Store, found: &RootCredentials) -> Result<String, String> {
    let wrapped =
        base64_decode(&found.wrapped_secret).ok_or("stored root credentials are corrupt")?;
    let plain = store
        .keyring()
        .unwrap(&wrapped, ROOT_AAD)
        .map_err(|e| e.to_string())?;
    String::from_utf8(plain.to_vec()).map_err(|e| e.to_string())
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// Prints the stored root credentials of a data dir as shell exports.
pub fn print_credentials(data_dir: &std::path::Path, account: &str) -> ExitCode {
    let store = match storage::Store::open_read_only(data_dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("perimeter: cannot open {}: {e}", data_dir.display());
            return ExitCode::FAILURE;
        }
    };
    match store.table::<RootCredentials>().get(account) {
        Ok(Some(found)) => match unwrap_secret(&store, &found) {
            Ok(secret) => {
                println!("export AWS_ACCESS_KEY_ID={}", found.access_key_id);
                println!("export AWS_SECRET_ACCESS_KEY={secret}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("perimeter: {e}");
                ExitCode::FAILURE
            }
        },
        Ok(None) => {
            eprintln!(
                "perimeter: no generated root credentials for account {account} in {}",
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

/// A started server: the store, the services, the gateway and its public listener.
pub struct Running {
    /// How it was started.
    pub args: ServeArgs,
    /// Every service.
    pub stack: crate::stack::Stack,
    /// The gateway serving them.
    pub gateway: gateway::Gateway,
    /// The public endpoint's address.
    pub addr: SocketAddr,
    /// The root access key id.
    pub access_key: String,
    /// The root secret access key.
    pub secret: String,
    /// Where the root credentials came from: `environment`, `store` or `generated`.
    pub source: &'static str,
}

/// A multi-threaded runtime, or a message saying why there is none.
pub fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("perimeter: cannot start the runtime: {e}");
            ExitCode::FAILURE
        })
}

/// Opens the store, builds the services, ensures the root account and listens: everything
/// `perimeter serve` and `perimeter up` share.
pub async fn start(args: &ServeArgs) -> Result<Running, String> {
    let store = if args.ephemeral {
        storage::Store::ephemeral()
    } else {
        storage::Store::open(&args.data_dir)
            .map_err(|e| format!("cannot open {}: {e}", args.data_dir.display()))?
    };
    let config = gateway::Config {
        region: args.region.clone(),
        account_id: args.account_id.clone(),
        ..gateway::Config::default()
    };
    let (access_key, secret, source) = root_credentials(&store, &args.account_id)?;
    let stack = crate::stack::Stack::open(&store, &config).map_err(|e| e.to_string())?;
    stack
        .iam
        .ensure_account(&args.account_id, &access_key, &secret)
        .map_err(|e| e.to_string())?;
    let gateway = stack.gateway(store.clone(), config);
    let addr = gateway
        .listen("public", args.listen, gateway::Location::Public)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    stack.start(&gateway).await.map_err(|e| e.to_string())?;
    Ok(Running {
        args: args.clone(),
        stack,
        gateway,
        addr,
        access_key,
        secret,
        source,
    })
}

impl Running {
    /// Prints where the server is and how to use it (everything but the `ready` line).
    pub fn print_banner(&self) {
        let args = &self.args;
        let addr = self.addr;
        let access_key = &self.access_key;
        println!("perimeter {}", env!("CARGO_PKG_VERSION"));
        println!("endpoint  http://{addr}");
        println!("region    {}", args.region);
        println!("account   {}", args.account_id);
        if args.ephemeral {
            println!("data      in memory (--ephemeral): nothing is kept");
        } else {
            println!("data      {}", args.data_dir.display());
        }
        match self.source {
            "environment" => {
                println!("root      access key {access_key} (from PERIMETER_ROOT_ACCESS_KEY_ID)")
            }
            _ if args.ephemeral => {
                println!(
                    "root      export AWS_ACCESS_KEY_ID={access_key} AWS_SECRET_ACCESS_KEY={}",
                    self.secret
                );
            }
            _ => println!(
                "root      access key {access_key}; print both keys with `perimeter credentials --data-dir {}`",
                args.data_dir.display()
            ),
        }
        flush();
    }

    /// Prints `ready <endpoint>` (what scripts wait for) and serves until interrupted.
    pub async fn serve_until_interrupted(self) {
        println!("ready http://{}", self.addr);
        flush();
        shutdown_signal().await;
        self.stack.stop().await;
        drop(Arc::new(self.gateway));
    }
}

fn flush() {
    use std::io::Write;
    let _ = std::io::stdout().flush();
}

/// Opens the store, builds the services, serves until interrupted.
pub fn run(args: ServeArgs) -> ExitCode {
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result = runtime.block_on(async move {
        let running = start(&args).await?;
        running.print_banner();
        running.serve_until_interrupted().await;
        Ok::<(), String>(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("perimeter: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
