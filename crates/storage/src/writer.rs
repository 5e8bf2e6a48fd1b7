//! The writer thread: owns the write connection and commits every queued batch of a round in one
//! transaction (one `fsync` for all of them).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::watch;

use crate::audit;
use crate::completion::Notifier;
use crate::error::{Error, Result};
use crate::keyring::Keyring;
use crate::store::{Batch, StoreOptions};

/// Most batches committed in one transaction.
const MAX_GROUP: usize = 4096;
/// While batches keep arriving this close together, the writer waits for more before committing...
const LINGER_GAP: Duration = Duration::from_micros(50);
/// ...but never longer than this.
const MAX_LINGER: Duration = Duration::from_micros(1000);
/// A group of audit records alone (read-only calls, which nobody waits for) collects for this long
/// before it commits: every commit rewrites the tail pages of the trail's table and indexes, so a
/// larger group writes far fewer pages per record.
const AUDIT_LINGER: Duration = Duration::from_millis(2);
/// How long the writer sleeps when no digest is due.
const IDLE_WAIT: Duration = Duration::from_secs(3600);

pub(crate) enum Job {
    Commit { batch: Batch, notifier: Notifier },
    SealDigest { notifier: Notifier },
}

/// The head of the audit chain and of the digest chain, as committed.
#[derive(Clone, Debug)]
pub(crate) struct ChainState {
    pub(crate) seq: u64,
    pub(crate) hash: [u8; 32],
    pub(crate) digest_id: u64,
    pub(crate) digest_last_seq: u64,
    pub(crate) digest_signature: Vec<u8>,
}

impl ChainState {
    pub(crate) fn load(conn: &Connection) -> Result<ChainState> {
        let head: Option<(i64, Vec<u8>)> = conn
            .query_row(
                "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let digest: Option<(i64, i64, Vec<u8>)> = conn
            .query_row(
                "SELECT id, last_seq, signature FROM audit_digests ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let (seq, hash) = match head {
            Some((seq, h)) => (seq as u64, to_hash(&h)),
            None => (0, [0u8; 32]),
        };
        let (digest_id, digest_last_seq, digest_signature) = match digest {
            Some((id, last, sig)) => (id as u64, last as u64, sig),
            None => (0, 0, Vec::new()),
        };
        Ok(ChainState {
            seq,
            hash,
            digest_id,
            digest_last_seq,
            digest_signature,
        })
    }
}

fn to_hash(bytes: &[u8]) -> [u8; 32] {
    let mut h = [0u8; 32];
    if bytes.len() == 32 {
        h.copy_from_slice(bytes);
    }
    h
}

pub(crate) struct Writer {
    conn: Connection,
    rx: Receiver<Job>,
    keyring: Keyring,
    chain: ChainState,
    head: Arc<watch::Sender<u64>>,
    digest_every: u64,
    digest_interval: Duration,
    /// When the oldest event not covered by a digest was committed.
    undigested_since: Option<Instant>,
    /// Batches of the previous group that changed records: more than one means several callers are
    /// committing state concurrently (and waiting for it).
    last_group: usize,
    /// Set by the background checkpointer when the WAL should be checkpointed between two groups.
    reset_wanted: Option<Arc<AtomicBool>>,
    /// The audit lookup block being filled.
    blocks: audit::BlockState,
}

impl Writer {
    pub(crate) fn new(
        conn: Connection,
        rx: mpsc::Receiver<Job>,
        keyring: Keyring,
        chain: ChainState,
        head: Arc<watch::Sender<u64>>,
        reset_wanted: Option<Arc<AtomicBool>>,
        options: &StoreOptions,
    ) -> Writer {
        let undigested_since = (chain.seq > chain.digest_last_seq).then(Instant::now);
        Writer {
            conn,
            rx,
            keyring,
            chain,
            head,
            digest_every: options.audit_digest_every.max(1),
            digest_interval: options.audit_digest_interval,
            undigested_since,
            last_group: 0,
            reset_wanted,
            blocks: audit::BlockState::default(),
        }
    }

    pub(crate) fn run(mut self) {
        loop {
            let wait = match self.undigested_since {
                Some(since) => self.digest_interval.saturating_sub(since.elapsed()),
                None => IDLE_WAIT,
            };
            let first = match self.rx.recv_timeout(wait) {
                Ok(job) => job,
                Err(RecvTimeoutError::Timeout) => {
                    if self.digest_due() {
                        self.process(Vec::new(), true);
                        if self.digest_due() {
                            // Sealing failed (logged): try again after another interval, not in a loop.
                            self.undigested_since = Some(Instant::now());
                        }
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let mut jobs = Vec::with_capacity(64);
            jobs.push(first);
            self.drain(&mut jobs);
            if self.last_group > 1 {
                // Several callers are committing: the ones acknowledged by the previous group are about to
                // submit again. Let the group fill while they keep arriving, so one fsync serves them all.
                let deadline = Instant::now() + MAX_LINGER;
                while jobs.len() < MAX_GROUP {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    match self.rx.recv_timeout(LINGER_GAP.min(deadline - now)) {
                        Ok(job) => {
                            jobs.push(job);
                            self.drain(&mut jobs);
                        }
                        Err(_) => break,
                    }
                }
            } else if !jobs.iter().any(awaited) {
                self.collect_audit(&mut jobs);
            }
            self.last_group = jobs.iter().filter(|j| changes_records(j)).count();
            let force = self.digest_due();
            self.process(jobs, force);
        }
        // Clean shutdown: sign whatever the last digest does not cover.
        if self.chain.seq > self.chain.digest_last_seq {
            self.process(Vec::new(), true);
        }
    }

    /// After acknowledging a group: a checkpoint covering the whole WAL, so the next transaction restarts
    /// it from the beginning.
    fn checkpoint_if_wanted(&self) {
        let Some(flag) = &self.reset_wanted else {
            return;
        };
        if flag.swap(false, Ordering::Relaxed) {
            match crate::checkpoint::passive_checkpoint(&self.conn) {
                Ok(_) => {}
                // The background checkpointer is busy: try again after the next group.
                Err(_) => flag.store(true, Ordering::Relaxed),
            }
        }
    }

    /// Lets a group of audit records alone collect for [`AUDIT_LINGER`]; stops early when the group is
    /// full or a job somebody waits for arrives. The writer parks rather than waiting on the queue:
    /// records arrive without waking it, and only the submitter of a job somebody waits for unparks it
    /// ([`crate::Store::submit`]), so a group costs one wake-up, not one per record.
    fn collect_audit(&self, jobs: &mut Vec<Job>) {
        let deadline = Instant::now() + AUDIT_LINGER;
        while jobs.len() < MAX_GROUP {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            std::thread::park_timeout(deadline - now);
            let seen = jobs.len();
            self.drain(jobs);
            if jobs[seen..].iter().any(awaited) {
                break;
            }
        }
    }

    fn drain(&self, jobs: &mut Vec<Job>) {
        while jobs.len() < MAX_GROUP {
            match self.rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
    }

    fn digest_due(&self) -> bool {
        self.undigested_since
            .is_some_and(|since| since.elapsed() >= self.digest_interval)
    }

    /// Commits `jobs` in one transaction; on failure, retries each job alone so one bad batch fails only
    /// itself, and a failing disk fails every batch.
    fn process(&mut self, jobs: Vec<Job>, force_digest: bool) {
        let saved = self.chain.clone();
        match self.apply(&jobs, force_digest) {
            Ok(()) => {
                self.after_commit(&saved);
                for job in jobs {
                    notifier(job).complete(Ok(()));
                }
                self.checkpoint_if_wanted();
            }
            Err(e) => {
                self.chain = saved;
                self.blocks.reset();
                if jobs.len() <= 1 {
                    tracing::error!(error = %e, "storage commit failed");
                    let e = Arc::new(e);
                    for job in jobs {
                        notifier(job).complete(Err(Error::Commit(e.clone())));
                    }
                } else {
                    tracing::warn!(error = %e, batches = jobs.len(), "group commit failed; retrying batches one by one");
                    for job in jobs {
                        self.process(vec![job], false);
                    }
                }
            }
        }
    }

    fn after_commit(&mut self, before: &ChainState) {
        if self.chain.digest_last_seq != before.digest_last_seq
            || self.chain.seq == self.chain.digest_last_seq
        {
            self.undigested_since = None;
        }
        if self.chain.seq > self.chain.digest_last_seq && self.undigested_since.is_none() {
            self.undigested_since = Some(Instant::now());
        }
        if self.chain.seq != before.seq {
            self.head.send_replace(self.chain.seq);
        }
    }

    fn apply(&mut self, jobs: &[Job], force_digest: bool) -> Result<()> {
        let tx = self.conn.transaction()?;
        let mut seal = force_digest;
        {
            let mut put = tx.prepare_cached(
                "INSERT OR REPLACE INTO records (ns, key, value) VALUES (?1, ?2, ?3)",
            )?;
            let mut del = tx.prepare_cached("DELETE FROM records WHERE ns = ?1 AND key = ?2")?;
            let mut appender = audit::Appender::new(&tx)?;
            for job in jobs {
                match job {
                    Job::Commit { batch, .. } => {
                        for op in &batch.ops {
                            match &op.value {
                                Some(v) => put.execute(params![op.table, op.key.as_bytes(), v])?,
                                None => del.execute(params![op.table, op.key.as_bytes()])?,
                            };
                        }
                        for queued in &batch.audit {
                            appender.append(&mut self.chain, &mut self.blocks, queued)?;
                        }
                    }
                    Job::SealDigest { .. } => seal = true,
                }
            }
            appender.finish(&mut self.blocks)?;
        }
        let undigested = self.chain.seq - self.chain.digest_last_seq;
        if undigested > 0 && (seal || undigested >= self.digest_every) {
            audit::seal_digest(&tx, &mut self.chain, &self.keyring, audit::now_millis())?;
        }
        tx.commit()?;
        Ok(())
    }
}

fn changes_records(job: &Job) -> bool {
    matches!(job, Job::Commit { batch, .. } if !batch.ops.is_empty())
}

/// Whether somebody waits for the job: state changes and digest seals (audit records of read-only
/// calls are not waited for).
fn awaited(job: &Job) -> bool {
    changes_records(job) || matches!(job, Job::SealDigest { .. })
}

fn notifier(job: Job) -> Notifier {
    match job {
        Job::Commit { notifier, .. } | Job::SealDigest { notifier } => notifier,
    }
}
