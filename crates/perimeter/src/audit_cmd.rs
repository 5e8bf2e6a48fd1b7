//! `perimeter audit verify|tail|export`: the tamper-evident trail, read from a data dir.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain and signed digests; report the first altered, removed or reordered record.
    Verify {
        /// The data dir of `perimeter serve`.
        #[arg(long, value_name = "DIR", default_value = "perimeter-data")]
        data_dir: PathBuf,
    },
    /// Print the newest events as JSON lines, and with --follow keep printing new ones.
    Tail {
        /// The data dir of `perimeter serve`.
        #[arg(long, value_name = "DIR", default_value = "perimeter-data")]
        data_dir: PathBuf,
        /// How many of the newest events to print first.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: u64,
        /// Keep waiting for new events.
        #[arg(short, long)]
        follow: bool,
    },
    /// Print every event (or those from --from on) as JSON lines.
    Export {
        /// The data dir of `perimeter serve`.
        #[arg(long, value_name = "DIR", default_value = "perimeter-data")]
        data_dir: PathBuf,
        /// The first sequence number to print.
        #[arg(long, default_value_t = 1)]
        from: u64,
    },
}

fn open(dir: &Path) -> Result<storage::Store, ExitCode> {
    storage::Store::open_read_only(dir).map_err(|e| {
        eprintln!("perimeter: cannot open {}: {e}", dir.display());
        ExitCode::from(2)
    })
}

pub fn run(cmd: AuditCommand) -> ExitCode {
    match cmd {
        AuditCommand::Verify { data_dir } => verify(&data_dir),
        AuditCommand::Tail {
            data_dir,
            lines,
            follow,
        } => tail(&data_dir, lines, follow),
        AuditCommand::Export { data_dir, from } => export(&data_dir, from),
    }
}

fn verify(dir: &Path) -> ExitCode {
    let store = match open(dir) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match store.audit().verify() {
        Ok(report) => match &report.problem {
            None => {
                println!(
                    "ok: {} events, {} signed digests cover events 1..={}, {} newer events chained but not yet signed",
                    report.events, report.digests, report.signed_through, report.unsigned_tail
                );
                ExitCode::SUCCESS
            }
            Some(problem) => {
                println!("TAMPERED at event {}: {problem}", problem.seq());
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("perimeter: cannot read the audit trail: {e}");
            ExitCode::from(2)
        }
    }
}

fn print_events(events: &[storage::StoredEvent]) -> bool {
    let mut out = std::io::stdout().lock();
    for e in events {
        if out.write_all(&e.event.body).is_err() || out.write_all(b"\n").is_err() {
            return false;
        }
    }
    out.flush().is_ok()
}

fn export(dir: &Path, from: u64) -> ExitCode {
    let store = match open(dir) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let audit = store.audit();
    let mut next = from.max(1);
    loop {
        match audit.read_from(next, 1000) {
            Ok(events) if events.is_empty() => return ExitCode::SUCCESS,
            Ok(events) => {
                next = events.last().map(|e| e.seq + 1).unwrap_or(next);
                if !print_events(&events) {
                    return ExitCode::SUCCESS;
                }
            }
            Err(e) => {
                eprintln!("perimeter: cannot read the audit trail: {e}");
                return ExitCode::from(2);
            }
        }
    }
}

fn tail(dir: &Path, lines: u64, follow: bool) -> ExitCode {
    let store = match open(dir) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let audit = store.audit();
    let last = audit.last_seq().unwrap_or(0);
    let mut next = last.saturating_sub(lines) + 1;
    loop {
        match audit.read_from(next, 1000) {
            Ok(events) => {
                if let Some(e) = events.last() {
                    next = e.seq + 1;
                }
                if !print_events(&events) {
                    return ExitCode::SUCCESS;
                }
                if events.is_empty() {
                    if !follow {
                        return ExitCode::SUCCESS;
                    }
                    std::thread::sleep(Duration::from_millis(250));
                }
            }
            Err(e) => {
                eprintln!("perimeter: cannot read the audit trail: {e}");
                return ExitCode::from(2);
            }
        }
    }
}
