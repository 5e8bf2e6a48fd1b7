//! Writing a large blob's file on its own thread.
//!
//! A blob that outgrows its first write buffer hands its sealed buffers to a thread that writes them,
//! so that receiving and sealing the next megabyte overlaps with the disk. Where the filesystem allows,
//! the thread writes with `O_DIRECT`: the bytes go from its buffer to the device, with no page-cache copy
//! to make and no dirty pages for the kernel to write back later, which on a small machine is most of
//! the CPU a large upload costs besides the network. Direct writes need an aligned buffer, offset and
//! length, so the thread writes whole blocks and carries the remainder into the next write; at the end it
//! writes the last block padded with zeros (the caller truncates the file to its length) and rewrites
//! the first block with the final header. Without `O_DIRECT` (tmpfs, or a filesystem that refuses an
//! aligned write) it writes through the page cache and flushes every few megabytes, so that the final
//! `fdatasync` waits for a short stretch only.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::mpsc;
use std::thread::JoinHandle;

/// Alignment of direct writes (buffer address, file offset and length): the largest logical block
/// size in use, so it suits any device.
const ALIGN: usize = 4096;

/// Sealed buffers queued for the thread; a full queue makes the sender wait for the disk.
const QUEUE: usize = 2;

/// Bytes gathered for one write: on the devices measured, 4 MiB direct writes ran 10–25% faster
/// than 1 MiB ones, and larger ones no faster.
const WRITE_SIZE: usize = 4 << 20;

/// Preallocation ahead of the write position.
const PREALLOCATE_STEP: u64 = 64 << 20;

/// Without `O_DIRECT`, the file is flushed every this many bytes.
const SYNC_STEP: u64 = 16 << 20;

enum Job {
    Data(Vec<u8>),
    /// The first `HEADER_LEN` bytes of the file, final: write them and what is left, then stop.
    End(Vec<u8>),
}

/// The writing thread of one blob file.
pub(crate) struct LargeWriter {
    jobs: Option<mpsc::SyncSender<Job>>,
    spare: mpsc::Receiver<Vec<u8>>,
    thread: Option<JoinHandle<io::Result<u64>>>,
}

impl LargeWriter {
    /// Starts the thread on `file`, whose first `allocated` bytes are preallocated. `largest` bounds the
    /// length of one buffer passed to [`LargeWriter::write`].
    pub(crate) fn start(file: &File, allocated: u64, largest: usize) -> io::Result<LargeWriter> {
        let file = file.try_clone()?;
        let (jobs, queued) = mpsc::sync_channel(QUEUE);
        let (returned, spare) = mpsc::sync_channel(QUEUE + 1);
        let thread = std::thread::Builder::new()
            .name("blob-write".into())
            .spawn(move || {
                let mut w = Thread::new(file, allocated, largest);
                w.run(queued, returned)
            })?;
        Ok(LargeWriter {
            jobs: Some(jobs),
            spare,
            thread: Some(thread),
        })
    }

    /// Queues `data` (the file's next bytes) and returns an empty buffer to fill next, one the thread
    /// is done with when there is one. Waits while the queue is full.
    pub(crate) fn write(&mut self, data: Vec<u8>, capacity: usize) -> io::Result<Vec<u8>> {
        let sent = match &self.jobs {
            Some(jobs) => jobs.send(Job::Data(data)).is_ok(),
            None => false,
        };
        if !sent {
            // The thread stopped on an error: report it.
            return Err(self.stop().err().unwrap_or_else(stopped));
        }
        Ok(match self.spare.try_recv() {
            Ok(mut v) => {
                v.clear();
                v
            }
            Err(_) => Vec::with_capacity(capacity),
        })
    }

    /// Writes the final header over the file's first bytes, waits for every write, and returns the
    /// file's length. The file may extend past it (padding): truncate it to that length.
    pub(crate) fn finish(mut self, header: &[u8]) -> io::Result<u64> {
        if let Some(jobs) = self.jobs.take()
            && jobs.send(Job::End(header.to_vec())).is_err()
        {
            return Err(self.stop().err().unwrap_or_else(stopped));
        }
        self.stop()
    }

    fn stop(&mut self) -> io::Result<u64> {
        self.jobs = None;
        match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the blob write thread panicked"))),
            None => Err(stopped()),
        }
    }
}

fn stopped() -> io::Error {
    io::Error::other("the blob write thread stopped")
}

/// The thread's side.
struct Thread {
    file: File,
    direct: bool,
    buf: Aligned,
    /// File offset of `buf`'s first byte.
    pos: u64,
    allocated: u64,
    synced_at: u64,
    /// A copy of the file's first block, to rewrite with the final header.
    first: Vec<u8>,
}

impl Thread {
    fn new(file: File, allocated: u64, largest: usize) -> Thread {
        let buf = Aligned::new(WRITE_SIZE + largest + ALIGN);
        let direct = buf.is_aligned() && set_direct(&file, true).is_ok();
        Thread {
            file,
            direct,
            buf,
            pos: 0,
            allocated,
            synced_at: 0,
            first: Vec::new(),
        }
    }

    fn run(
        &mut self,
        queued: mpsc::Receiver<Job>,
        returned: mpsc::SyncSender<Vec<u8>>,
    ) -> io::Result<u64> {
        for job in queued {
            match job {
                Job::Data(data) => {
                    let mut rest = &data[..];
                    while !rest.is_empty() {
                        let n = self.buf.append(rest);
                        rest = &rest[n..];
                        if self.buf.len() >= WRITE_SIZE || !rest.is_empty() {
                            self.write_blocks()?;
                        }
                    }
                    let _ = returned.try_send(data);
                }
                Job::End(header) => return self.end(&header),
            }
        }
        // The blob was dropped unfinished.
        Ok(self.pos)
    }

    /// Writes the whole blocks in the buffer and keeps the remainder.
    fn write_blocks(&mut self) -> io::Result<()> {
        let n = self.buf.len() / ALIGN * ALIGN;
        if n == 0 {
            return Ok(());
        }
        self.write_out(n)?;
        self.buf.consume(n);
        Ok(())
    }

    /// Writes the buffer's first `n` bytes (a multiple of `ALIGN`) at `pos`.
    fn write_out(&mut self, n: usize) -> io::Result<()> {
        let end = self.pos + n as u64;
        if end > self.allocated {
            let target = end.saturating_add(self.pos.min(PREALLOCATE_STEP));
            self.allocated = preallocate(&self.file, self.allocated, target);
        }
        if self.pos == 0 {
            self.first = self.buf.bytes()[..ALIGN.min(n)].to_vec();
        }
        self.write_at_pos(n)?;
        self.pos = end;
        if !self.direct && self.pos - self.synced_at >= SYNC_STEP {
            self.file.sync_data()?;
            self.synced_at = self.pos;
        }
        Ok(())
    }

    fn write_at_pos(&mut self, n: usize) -> io::Result<()> {
        let data = &self.buf.bytes()[..n];
        match self.file.write_all_at(data, self.pos) {
            Err(e)
                if self.direct
                    && e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error()) =>
            {
                // The filesystem takes O_DIRECT but not this alignment: go through the page cache.
                self.direct = false;
                set_direct(&self.file, false)?;
                self.file.write_all_at(data, self.pos)
            }
            r => r,
        }
    }

    /// Writes what is left, padded to a whole block, and the header; returns the file's length.
    fn end(&mut self, header: &[u8]) -> io::Result<u64> {
        let tail = self.buf.len();
        let len = self.pos + tail as u64;
        if tail > 0 {
            let padded = tail.div_ceil(ALIGN) * ALIGN;
            self.buf.pad_to(padded);
            self.write_out(padded)?;
            self.buf.consume(padded);
        }
        if self.first.len() < header.len() {
            // Shorter than a block: the blob never got here; nothing sensible to patch.
            return Err(io::Error::other(
                "a large blob ended before its first block",
            ));
        }
        let mut first = std::mem::take(&mut self.first);
        first[..header.len()].copy_from_slice(header);
        self.pos = 0;
        self.buf.append(&first);
        let n = self.buf.len();
        self.write_at_pos(n)?;
        self.buf.consume(n);
        Ok(len)
    }
}

fn set_direct(file: &File, on: bool) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::OFlags;
        let flags = rustix::fs::fcntl_getfl(file)?;
        let flags = if on {
            flags | OFlags::DIRECT
        } else {
            flags - OFlags::DIRECT
        };
        rustix::fs::fcntl_setfl(file, flags)?;
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (file, on);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// Best effort: extends the file's allocation from `allocated` to `target` bytes without changing its
/// size. Returns the new allocation (`u64::MAX` when the filesystem does not do it: the writes will tell
/// whether there is room).
pub(crate) fn preallocate(file: &File, allocated: u64, target: u64) -> u64 {
    if target <= allocated {
        return allocated;
    }
    #[cfg(target_os = "linux")]
    {
        let flags = rustix::fs::FallocateFlags::KEEP_SIZE;
        if rustix::fs::fallocate(file, flags, allocated, target - allocated).is_err() {
            return u64::MAX;
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
    target
}

/// A byte buffer whose start is aligned to `ALIGN`, as direct writes need. It never reallocates, so the
/// alignment holds for its life.
struct Aligned {
    mem: Vec<u8>,
    start: usize,
    len: usize,
}

impl Aligned {
    fn new(capacity: usize) -> Aligned {
        let mem = vec![0u8; capacity + ALIGN];
        let start = mem.as_ptr().align_offset(ALIGN);
        Aligned { mem, start, len: 0 }
    }

    fn is_aligned(&self) -> bool {
        self.start < ALIGN
    }

    fn room(&self) -> usize {
        self.mem.len().saturating_sub(self.start + self.len)
    }

    fn len(&self) -> usize {
        self.len
    }

    fn bytes(&self) -> &[u8] {
        &self.mem[self.start..self.start + self.len]
    }

    /// Appends as much of `data` as fits; returns how much.
    fn append(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.room());
        let at = self.start + self.len;
        self.mem[at..at + n].copy_from_slice(&data[..n]);
        self.len += n;
        n
    }

    /// Zero-fills up to `len` bytes.
    fn pad_to(&mut self, len: usize) {
        let from = self.start + self.len;
        let to = (self.start + len).min(self.mem.len());
        if to > from {
            self.mem[from..to].fill(0);
            self.len = to - self.start;
        }
    }

    /// Drops the first `n` bytes, moving the rest to the front.
    fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        self.mem
            .copy_within(self.start + n..self.start + self.len, self.start);
        self.len -= n;
    }
}

/// Windows read ahead of the one being consumed.
const READ_AHEAD: usize = 2;

/// Reads a long run of a blob file on its own thread, directly from the device (`O_DIRECT`) so that a
/// large GET neither fills the page cache nor waits for it: the next windows are read while the
/// current one is decrypted and sent.
pub(crate) struct LargeReader {
    /// In a mutex only so that readers are `Sync`, as response bodies must be; reached with `get_mut`.
    windows: std::sync::Mutex<mpsc::Receiver<io::Result<Window>>>,
    returned: mpsc::SyncSender<Vec<u8>>,
}

/// Bytes of the file read by a [`LargeReader`]: file offset `offset` is at `buf[start]`.
pub(crate) struct Window {
    buf: Vec<u8>,
    start: usize,
    offset: u64,
    len: usize,
}

impl Window {
    /// The bytes at file range `range`, when this window holds all of them.
    pub(crate) fn get_mut(&mut self, range: std::ops::Range<u64>) -> Option<&mut [u8]> {
        let from = usize::try_from(range.start.checked_sub(self.offset)?).ok()?;
        let to = usize::try_from(range.end.checked_sub(self.offset)?).ok()?;
        if from > to || to > self.len {
            return None;
        }
        self.buf.get_mut(self.start + from..self.start + to)
    }
}

impl LargeReader {
    /// Starts reading the file ranges `ranges`, in order, on a new open of `file` with `O_DIRECT`.
    /// Fails where the file cannot be opened that way (tmpfs, other systems): read it the usual way.
    pub(crate) fn start(file: &File, ranges: Vec<std::ops::Range<u64>>) -> io::Result<LargeReader> {
        let file = reopen_direct(file)?;
        let largest = ranges
            .iter()
            .map(|r| align_up(r.end) - align_down(r.start))
            .max()
            .unwrap_or(0);
        let capacity = usize::try_from(largest).map_err(io::Error::other)? + ALIGN;
        let (sender, windows) = mpsc::sync_channel(READ_AHEAD);
        let (returned, pool) = mpsc::sync_channel::<Vec<u8>>(READ_AHEAD + 2);
        std::thread::Builder::new()
            .name("blob-read".into())
            .spawn(move || {
                for range in ranges {
                    let buf = pool.try_recv().unwrap_or_else(|_| vec![0u8; capacity]);
                    let window = read_window(&file, buf, range);
                    let failed = window.is_err();
                    if sender.send(window).is_err() || failed {
                        // Dropped by the reader, or the error was delivered.
                        return;
                    }
                }
            })?;
        Ok(LargeReader {
            windows: std::sync::Mutex::new(windows),
            returned,
        })
    }

    /// The next window, waiting for it; `None` once every range was delivered.
    pub(crate) fn next(&mut self) -> Option<io::Result<Window>> {
        match self.windows.get_mut() {
            Ok(w) => w.recv().ok(),
            Err(poisoned) => poisoned.into_inner().recv().ok(),
        }
    }

    /// Gives a window's buffer back for reuse.
    pub(crate) fn recycle(&mut self, window: Window) {
        let _ = self.returned.try_send(window.buf);
    }
}

fn read_window(file: &File, mut buf: Vec<u8>, range: std::ops::Range<u64>) -> io::Result<Window> {
    let offset = align_down(range.start);
    let want = usize::try_from(align_up(range.end) - offset).map_err(io::Error::other)?;
    let need = usize::try_from(range.end - offset).map_err(io::Error::other)?;
    let start = buf.as_ptr().align_offset(ALIGN);
    if start >= ALIGN || start + want > buf.len() {
        return Err(io::Error::other(
            "blob read buffer is not aligned or too small",
        ));
    }
    let mut len = 0;
    while len < need {
        // Past the end of the file a direct read comes back short: the last block is partial.
        let n = file.read_at(&mut buf[start + len..start + want], offset + len as u64)?;
        if n == 0 {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
        }
        len += n;
    }
    Ok(Window {
        buf,
        start,
        offset,
        len,
    })
}

#[cfg(target_os = "linux")]
fn reopen_direct(file: &File) -> io::Result<File> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    // A new open file description of the same inode (renamed or deleted since, too): the flag must not
    // reach the shared handle, whose small unaligned reads it would break.
    let flags = rustix::fs::OFlags::DIRECT.bits();
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags as i32)
        .open(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

#[cfg(not(target_os = "linux"))]
fn reopen_direct(_file: &File) -> io::Result<File> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

fn align_down(n: u64) -> u64 {
    n / ALIGN as u64 * ALIGN as u64
}

fn align_up(n: u64) -> u64 {
    n.div_ceil(ALIGN as u64) * ALIGN as u64
}
