//! Writing and reading a large blob's file on threads of its own.
//!
//! A blob that outgrows its first write buffer hands its sealed buffers to a thread that writes them,
//! so that receiving and sealing the next megabytes overlaps with the disk. Where the filesystem
//! allows, the thread writes with `O_DIRECT`: the bytes go from the buffer to the device, with no
//! page-cache copy to make and no dirty pages for the kernel to write back later. A large GET reads the
//! same way ([`LargeReader`]). Besides the CPU, this keeps a large object from growing the page cache:
//! on the 2-core VM of docs/benchmarks.md, the first touch of memory the machine has not used lately
//! costs ~3 s per GiB, and a buffered 1 GiB write or read paid it.
//!
//! Direct writes need an aligned buffer, offset and length: the writer seals into an [`OutBuf`], whose
//! data starts at an aligned address, and hands over whole blocks, carrying the rest into the next
//! buffer. The last buffer is padded with zeros to a whole block (the caller truncates the file to its
//! length) and the first block is rewritten with the final header. Without `O_DIRECT` (a filesystem that
//! refuses it, a buffer that lost its alignment, or direct I/O turned off for the store) the thread
//! writes through the page cache and flushes every few megabytes, so that the final `fdatasync` waits
//! for a short stretch only.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::mpsc;
use std::thread::JoinHandle;

/// Alignment of direct writes (buffer address, file offset and length): the largest logical block
/// size in use, so it suits any device.
pub(crate) const ALIGN: usize = 4096;

/// Bytes handed to the thread at a time once it runs: on the devices measured, 4 MiB direct writes
/// ran 10–25% faster than 1 MiB ones, and larger ones no faster.
pub(crate) const WRITE_SIZE: usize = 4 << 20;

/// Buffers queued for the thread; a full queue makes the sender wait for the disk. One is enough for
/// the thread to find the next buffer ready when a write ends, while the next one is being sealed: 3
/// buffers (12 MiB) per upload in all.
const QUEUE: usize = 1;

/// Preallocation ahead of the write position.
const PREALLOCATE_STEP: u64 = 64 << 20;

/// Without `O_DIRECT`, the file is flushed every this many bytes.
const SYNC_STEP: u64 = 16 << 20;

/// Capacity of the buffers large transfers share: a write buffer (`WRITE_SIZE` with a carried block,
/// the segment that crosses it and padding) or a read window (64 segments), and room to align either.
const BUFFER: usize = WRITE_SIZE + (128 << 10);

/// Buffers kept for the next large transfer: an upload or a download uses three at a time. Reusing them
/// bounds the memory large transfers take together, and spares each one the first touch of new memory.
const POOL_MAX: usize = 4;

static POOL: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());

fn take_buffer() -> Vec<u8> {
    let pooled = POOL.lock().ok().and_then(|mut p| p.pop());
    pooled.unwrap_or_else(|| Vec::with_capacity(BUFFER))
}

fn give_buffer(buf: Vec<u8>) {
    if buf.capacity() >= BUFFER
        && let Ok(mut pool) = POOL.lock()
        && pool.len() < POOL_MAX
    {
        pool.push(buf);
    }
}

/// A write buffer whose data starts at an aligned address. Its `Vec` must not grow past the capacity
/// it was made with, or the alignment is lost (the writer then falls back to the page cache).
pub(crate) struct OutBuf {
    vec: Vec<u8>,
    base: usize,
}

impl OutBuf {
    pub(crate) fn with_capacity(capacity: usize) -> OutBuf {
        OutBuf::from_vec(Vec::with_capacity(capacity + ALIGN))
    }

    fn from_vec(mut vec: Vec<u8>) -> OutBuf {
        vec.clear();
        let base = vec.as_ptr().align_offset(ALIGN).min(ALIGN);
        vec.resize(base, 0);
        OutBuf { vec, base }
    }

    pub(crate) fn extend_from_slice(&mut self, data: &[u8]) {
        self.vec.extend_from_slice(data);
    }

    pub(crate) fn truncate(&mut self, len: usize) {
        self.vec.truncate(self.base + len);
    }

    pub(crate) fn clear(&mut self) {
        self.truncate(0);
    }

    /// Room left before the buffer would move.
    fn room(&self) -> usize {
        self.vec.capacity() - self.vec.len()
    }

    fn is_aligned(&self) -> bool {
        self.vec
            .as_ptr()
            .wrapping_add(self.base)
            .align_offset(ALIGN)
            == 0
    }
}

impl std::ops::Deref for OutBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.vec[self.base..]
    }
}

impl std::ops::DerefMut for OutBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.vec[self.base..]
    }
}

impl zeroize::Zeroize for OutBuf {
    /// Zeroes the bytes the buffer holds and empties it. A writer's plaintext is only ever there (the
    /// segment being filled; sealing turns it into ciphertext in place), so the rest of the capacity,
    /// a megabyte or more, is not written over on every blob.
    fn zeroize(&mut self) {
        self.vec[self.base..].zeroize();
        self.clear();
    }
}

enum Job {
    /// The file's next bytes, a whole number of blocks.
    Data(OutBuf),
    /// The last bytes, any length, and the final header for the file's first bytes.
    Last(OutBuf, Vec<u8>),
}

/// The writing thread of one blob file.
pub(crate) struct LargeWriter {
    jobs: Option<mpsc::SyncSender<Job>>,
    thread: Option<JoinHandle<io::Result<u64>>>,
}

impl LargeWriter {
    /// Starts the thread on `file`, whose first `allocated` bytes are preallocated; with `O_DIRECT`
    /// when `direct` and the filesystem allows it.
    pub(crate) fn start(file: &File, allocated: u64, direct: bool) -> io::Result<LargeWriter> {
        let file = file.try_clone()?;
        let (jobs, queued) = mpsc::sync_channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("blob-write".into())
            .spawn(move || Thread::new(file, allocated, direct).run(queued))?;
        Ok(LargeWriter {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// An empty buffer to fill next, room for [`WRITE_SIZE`] and what a write carries.
    pub(crate) fn next_buffer(&mut self) -> OutBuf {
        OutBuf::from_vec(take_buffer())
    }

    /// Queues `data`, the file's next bytes (a whole number of blocks). Waits while the queue is full.
    pub(crate) fn write(&mut self, data: OutBuf) -> io::Result<()> {
        self.send(Job::Data(data))
    }

    /// Queues the last bytes and the final header for the file's first bytes, waits for every write,
    /// and returns the file's length. The file may extend past it (padding, preallocation): truncate it
    /// to that length.
    pub(crate) fn finish(mut self, last: OutBuf, header: &[u8]) -> io::Result<u64> {
        self.send(Job::Last(last, header.to_vec()))?;
        self.stop()
    }

    fn send(&mut self, job: Job) -> io::Result<()> {
        let sent = match &self.jobs {
            Some(jobs) => jobs.send(job).is_ok(),
            None => false,
        };
        if sent {
            Ok(())
        } else {
            // The thread stopped on an error: report it.
            Err(self.stop().err().unwrap_or_else(stopped))
        }
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
    /// File offset of the next write.
    pos: u64,
    allocated: u64,
    synced_at: u64,
    /// A copy of the file's first block, to rewrite with the final header.
    first: Vec<u8>,
}

impl Thread {
    fn new(file: File, allocated: u64, direct: bool) -> Thread {
        let direct = direct && set_direct(&file, true).is_ok();
        Thread {
            file,
            direct,
            pos: 0,
            allocated,
            synced_at: 0,
            first: Vec::new(),
        }
    }

    fn run(&mut self, queued: mpsc::Receiver<Job>) -> io::Result<u64> {
        for job in queued {
            match job {
                Job::Data(data) => {
                    self.write(&data)?;
                    give_buffer(data.vec);
                }
                Job::Last(mut data, header) => {
                    let len = self.pos + data.len() as u64;
                    // Zeros up to a whole block, past the blob's end.
                    let padded = data.len().div_ceil(ALIGN) * ALIGN;
                    if padded > data.len() {
                        let zeros = padded - data.len();
                        if data.room() < zeros {
                            self.buffered()?;
                        }
                        data.extend_from_slice(&vec![0u8; zeros]);
                    }
                    self.write(&data)?;
                    give_buffer(data.vec);
                    self.rewrite_header(&header)?;
                    return Ok(len);
                }
            }
        }
        // The blob was dropped unfinished.
        Ok(self.pos)
    }

    /// From now on through the page cache.
    fn buffered(&mut self) -> io::Result<()> {
        if self.direct {
            self.direct = false;
            set_direct(&self.file, false)?;
        }
        Ok(())
    }

    /// Writes `data` at `pos`.
    fn write(&mut self, data: &OutBuf) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        let end = self.pos + data.len() as u64;
        if end > self.allocated {
            let target = end.saturating_add(self.pos.min(PREALLOCATE_STEP));
            self.allocated = preallocate(&self.file, self.allocated, target);
        }
        if self.pos == 0 {
            self.first = data[..ALIGN.min(data.len())].to_vec();
        }
        self.write_at(data, self.pos)?;
        self.pos = end;
        if !self.direct && self.pos - self.synced_at >= SYNC_STEP {
            self.file.sync_data()?;
            self.synced_at = self.pos;
        }
        Ok(())
    }

    /// Writes the file's first block again, with the final header.
    fn rewrite_header(&mut self, header: &[u8]) -> io::Result<()> {
        if self.first.len() < header.len() {
            return Err(io::Error::other(
                "a large blob ended before its header was written",
            ));
        }
        let mut block = OutBuf::with_capacity(ALIGN);
        block.extend_from_slice(header);
        block.extend_from_slice(&self.first[header.len()..]);
        self.write_at(&block, 0)
    }

    /// Writes `data` at `offset`, directly when it can be: through the page cache from the first
    /// buffer that is not whole aligned blocks, or that the filesystem refuses.
    fn write_at(&mut self, data: &OutBuf, offset: u64) -> io::Result<()> {
        if self.direct && (!data.is_aligned() || !data.len().is_multiple_of(ALIGN)) {
            self.buffered()?;
        }
        match self.file.write_all_at(data, offset) {
            Err(e)
                if self.direct
                    && e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error()) =>
            {
                self.buffered()?;
                self.file.write_all_at(data, offset)
            }
            r => r,
        }
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

/// Windows queued ahead of the one being consumed (and the one being read): 3 windows (12 MiB) per
/// download in all.
const READ_AHEAD: usize = 1;

/// Reads a long run of a blob file on its own thread, directly from the device (`O_DIRECT`) so that a
/// large GET neither fills the page cache nor waits for it: the next windows are read while the
/// current one is decrypted and sent.
pub(crate) struct LargeReader {
    /// In a mutex only so that readers are `Sync`, as response bodies must be; reached with `get_mut`.
    windows: std::sync::Mutex<mpsc::Receiver<io::Result<Window>>>,
}

/// Bytes of the file read by a [`LargeReader`]: file offset `offset` is at `buf[start]`. Its buffer
/// goes back to the pool when it is dropped.
pub(crate) struct Window {
    buf: Vec<u8>,
    start: usize,
    offset: u64,
    len: usize,
}

impl Drop for Window {
    fn drop(&mut self) {
        give_buffer(std::mem::take(&mut self.buf));
    }
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
    /// Fails where the file cannot be opened that way (a filesystem that refuses it, other systems):
    /// read it the usual way.
    pub(crate) fn start(file: &File, ranges: Vec<std::ops::Range<u64>>) -> io::Result<LargeReader> {
        let file = reopen_direct(file)?;
        let largest = ranges
            .iter()
            .map(|r| align_up(r.end) - align_down(r.start))
            .max()
            .unwrap_or(0);
        let capacity = usize::try_from(largest).map_err(io::Error::other)? + ALIGN;
        let (sender, windows) = mpsc::sync_channel(READ_AHEAD);
        std::thread::Builder::new()
            .name("blob-read".into())
            .spawn(move || {
                for range in ranges {
                    let mut buf = take_buffer();
                    if buf.len() < capacity {
                        buf.resize(capacity, 0);
                    }
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
        })
    }

    /// The next window, waiting for it; `None` once every range was delivered.
    pub(crate) fn next(&mut self) -> Option<io::Result<Window>> {
        match self.windows.get_mut() {
            Ok(w) => w.recv().ok(),
            Err(poisoned) => poisoned.into_inner().recv().ok(),
        }
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
        let n = match file.read_at(&mut buf[start + len..start + want], offset + len as u64) {
            // A filesystem that took the flag but not this read (or a short read left the offset
            // unaligned): read through the page cache from here on.
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error()) => {
                set_direct(file, false)?;
                file.read_at(&mut buf[start + len..start + want], offset + len as u64)?
            }
            r => r?,
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn buf(bytes: &[u8]) -> OutBuf {
        let mut b = OutBuf::with_capacity(bytes.len() + ALIGN);
        b.extend_from_slice(bytes);
        b
    }

    #[test]
    fn a_write_that_is_not_whole_blocks_goes_through_the_page_cache_and_lands_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = File::create(&path).unwrap();
        let mut t = Thread::new(file.try_clone().unwrap(), 0, true);
        let blocks: Vec<u8> = (0..2 * ALIGN).map(|i| (i % 251) as u8).collect();
        t.write(&buf(&blocks)).unwrap();
        // 100 bytes: not a whole block, so the thread leaves O_DIRECT for the rest of the file.
        t.write(&buf(&[9u8; 100])).unwrap();
        assert!(!t.direct);
        t.rewrite_header(b"HEADER").unwrap();
        let got = std::fs::read(&path).unwrap();
        assert_eq!(got.len(), 2 * ALIGN + 100);
        assert_eq!(&got[..6], b"HEADER");
        assert_eq!(got[6..2 * ALIGN], blocks[6..]);
        assert!(got[2 * ALIGN..].iter().all(|&b| b == 9));
    }
}
