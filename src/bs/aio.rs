//! The `aio` store's engine: Linux native AIO on media opened with O_DIRECT, one
//! [`AioQueue`] per I/O loop, which submits from that loop and reaps there when the
//! queue's eventfd (registered in the loop's `Poll`) is readable.
//!
//! Only READ and WRITE reach this queue; every other command of an aio LU runs on the
//! backing-store workers with [`rdwr_io`], like rdwr's, so the two stores
//! answer every command alike. The queue keeps tgt's limits (128 requests in flight per
//! context, a FIFO wait list behind them) and widens reads to the O_DIRECT alignment;
//! writes must arrive aligned ([`Access::is_aligned`]): a partial-block write is a
//! read-modify-write, which the caller runs on a worker under the LU's exclusive gate.
//! A short transfer continues where it stopped, as pread/pwrite loops do; end of file
//! before the bytes asked for is a read error. Knows nothing of SCSI: results are
//! [`IoDone`]/[`IoError`], as from `rdwr_io`.
//! tgt: usr/bs_aio.c (`AIO_MAX_IODEPTH`, `bs_aio_submit_dev_batch()`,
//! `bs_aio_get_completions()`).
//!
//! COMPAT: tgt has one AIO context and eventfd per LU and completes every command but
//! READ and WRITE at once without doing it (SYNCHRONIZE CACHE, VERIFY, WRITE SAME, UNMAP,
//! ...), fails unaligned transfers with MEDIUM ERROR, and reports a short transfer as
//! MEDIUM ERROR with ASC 0; here a context per I/O loop serves every aio LU the loop's
//! connections use, and results equal rdwr's.

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use super::rdwr_io::{self, IoDone, IoError, IoOp};
use super::Access;
use crate::sys::aio::{AioCompletion, AioContext, AioOp, AioRequest};
use crate::sys::dio::AlignedBuf;

/// Requests in flight per queue. tgt: usr/bs_aio.c `AIO_MAX_IODEPTH`
pub const DEPTH: u32 = 128;

/// A transfer for the queue. Offsets and lengths in bytes.
#[derive(Debug)]
pub enum AioIo {
    /// Read `len` bytes at `offset`.
    Read {
        /// Byte offset.
        offset: u64,
        /// Length.
        len: usize,
    },
    /// Write `data` at `offset`; `dsync`: durable before completion (FUA, or the write
    /// cache disabled), as rdwr's pwrite then fdatasync.
    Write {
        /// Byte offset.
        offset: u64,
        /// The data.
        data: Vec<u8>,
        /// Flush before completing.
        dsync: bool,
    },
}

impl AioIo {
    /// The same transfer as a blocking operation.
    fn into_op(self) -> IoOp {
        match self {
            AioIo::Read { offset, len } => IoOp::Read {
                offset,
                len,
                dpo: false,
            },
            AioIo::Write {
                offset,
                data,
                dsync,
            } => IoOp::Write {
                offset,
                data,
                sync: dsync,
                dpo: false,
                verify: false,
            },
        }
    }
}

/// A write the queue does not take: its offset or length is not aligned for O_DIRECT.
/// Everything comes back to the caller.
#[derive(Debug)]
pub struct Rejected<T> {
    /// The caller's tag.
    pub tag: T,
    /// The media.
    pub file: Arc<File>,
    /// The transfer.
    pub io: AioIo,
}

/// What the queue remembers of a request besides the kernel's part.
#[derive(Debug)]
struct Entry<T> {
    /// Keeps the file open; its descriptor goes into the iocb.
    file: Arc<File>,
    tag: T,
    /// What the caller asked for, for the error and the data returned.
    offset: u64,
    len: usize,
    /// For reads: where the bytes asked for start in the (widened) buffer.
    skip: usize,
}

impl<T> AsFd for Entry<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

/// Native AIO for the LUs of one I/O loop: submission, in-flight limit, wait list,
/// completion.
#[derive(Debug)]
pub struct AioQueue<T> {
    /// The kernel context; owns the buffers in flight (and waits for them on drop).
    ctx: AioContext<Entry<T>>,
    /// Requests beyond the in-flight limit, oldest first; they own their buffers.
    waiting: VecDeque<AioRequest<Entry<T>>>,
    /// Scratch for reaped completions.
    reaped: Vec<AioCompletion<Entry<T>>>,
    /// Finished without the kernel (empty transfers).
    ready: Vec<(T, Result<IoDone, IoError>)>,
}

impl<T> AioQueue<T> {
    /// A queue with an AIO context of [`DEPTH`] and its eventfd.
    pub fn new() -> io::Result<Self> {
        Self::with_depth(DEPTH)
    }

    /// A queue whose context holds `depth` requests in flight.
    pub fn with_depth(depth: u32) -> io::Result<Self> {
        Ok(Self {
            ctx: AioContext::new(depth)?,
            waiting: VecDeque::new(),
            reaped: Vec::new(),
            ready: Vec::new(),
        })
    }

    /// Requests the kernel holds.
    pub fn in_flight(&self) -> usize {
        self.ctx.in_flight()
    }

    /// Requests waiting for room in the context.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// True when nothing is in flight, waiting or ready.
    pub fn is_idle(&self) -> bool {
        self.in_flight() == 0 && self.waiting.is_empty() && self.ready.is_empty()
    }

    /// Queues a transfer on `file` (opened as `access` says), to be submitted by the next
    /// [`flush`](Self::flush). A read is widened to the aligned span around it; a write
    /// that is not aligned comes back.
    pub fn push(
        &mut self,
        tag: T,
        file: Arc<File>,
        access: Access,
        io: AioIo,
    ) -> Result<(), Rejected<T>> {
        let (op, offset, buf, entry) = match io {
            AioIo::Read { offset, len } => {
                let (start, span) = access.span(offset, len);
                let skip = usize::try_from(offset - start).unwrap_or(0);
                let entry = Entry {
                    file,
                    tag,
                    offset,
                    len,
                    skip,
                };
                (AioOp::Read, start, AlignedBuf::zeroed(span), entry)
            }
            AioIo::Write {
                offset,
                data,
                dsync,
            } => {
                if !access.is_aligned(offset, data.len()) {
                    return Err(Rejected {
                        tag,
                        file,
                        io: AioIo::Write {
                            offset,
                            data,
                            dsync,
                        },
                    });
                }
                let entry = Entry {
                    file,
                    tag,
                    offset,
                    len: data.len(),
                    skip: 0,
                };
                let op = AioOp::Write { dsync };
                (op, offset, AlignedBuf::from_vec(data), entry)
            }
        };
        if entry.len == 0 {
            let done = match op {
                AioOp::Read => IoDone::Data(Vec::new()),
                AioOp::Write { .. } => IoDone::Done,
            };
            self.ready.push((entry.tag, Ok(done)));
            return Ok(());
        }
        self.waiting.push_back(AioRequest {
            op,
            offset,
            buf,
            pos: 0,
            tag: entry,
        });
        Ok(())
    }

    /// Submits waiting requests while there is room in flight, oldest first, in one
    /// io_submit. Returns how many went to the kernel.
    pub fn flush(&mut self) -> usize {
        if self.waiting.is_empty() {
            return 0;
        }
        self.ctx.submit(&mut self.waiting)
    }

    /// Collects finished transfers into `out` without blocking (call when the eventfd is
    /// readable), continues short ones, and submits what was waiting.
    pub fn reap(&mut self, out: &mut Vec<(T, Result<IoDone, IoError>)>) -> io::Result<()> {
        let mut reaped = std::mem::take(&mut self.reaped);
        let r = self.ctx.reap(&mut reaped);
        self.finish(&mut reaped, out);
        self.reaped = reaped;
        self.flush();
        r
    }

    /// Like [`reap`](Self::reap), waiting up to `timeout` for a completion while
    /// requests are in flight: for draining at shutdown, and tests.
    pub fn wait(
        &mut self,
        out: &mut Vec<(T, Result<IoDone, IoError>)>,
        timeout: Duration,
    ) -> io::Result<()> {
        self.flush();
        let mut reaped = std::mem::take(&mut self.reaped);
        let r = self.ctx.wait(&mut reaped, timeout);
        self.finish(&mut reaped, out);
        self.reaped = reaped;
        self.flush();
        r
    }

    /// Turns completions into results; a short transfer goes back to the front of the
    /// wait list for the rest.
    fn finish(
        &mut self,
        reaped: &mut Vec<AioCompletion<Entry<T>>>,
        out: &mut Vec<(T, Result<IoDone, IoError>)>,
    ) {
        out.append(&mut self.ready);
        let mut again = Vec::new();
        for AioCompletion { mut req, result } in reaped.drain(..) {
            let e = &req.tag;
            let fail = |err: io::Error| match req.op {
                AioOp::Read => IoError::Read {
                    offset: e.offset,
                    len: e.len,
                    err,
                },
                AioOp::Write { .. } => IoError::Write {
                    offset: e.offset,
                    len: e.len,
                    err,
                },
            };
            let n = match result {
                Ok(n) => n,
                Err(err) => {
                    let err = fail(err);
                    out.push((req.tag.tag, Err(err)));
                    continue;
                }
            };
            let filled = req.pos + n;
            let needed = match req.op {
                AioOp::Read => e.skip + e.len,
                AioOp::Write { .. } => req.buf.len(),
            };
            if filled >= needed {
                let Entry { tag, skip, len, .. } = req.tag;
                let done = match req.op {
                    AioOp::Read => IoDone::Data(req.buf.into_range(skip, len)),
                    AioOp::Write { .. } => IoDone::Done,
                };
                out.push((tag, Ok(done)));
            } else if n == 0 {
                // End of file (or of the device) before the bytes asked for.
                let kind = match req.op {
                    AioOp::Read => io::ErrorKind::UnexpectedEof,
                    AioOp::Write { .. } => io::ErrorKind::WriteZero,
                };
                let err = fail(kind.into());
                out.push((req.tag.tag, Err(err)));
            } else {
                req.pos = filled;
                req.offset += u64::try_from(n).unwrap_or(0);
                again.push(req);
            }
        }
        for req in again.into_iter().rev() {
            self.waiting.push_front(req);
        }
    }
}

impl<T> AsFd for AioQueue<T> {
    /// The eventfd to watch for readability.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.ctx.as_fd()
    }
}

impl<T> AsRawFd for AioQueue<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.ctx.as_raw_fd()
    }
}

/// A READ or WRITE of an aio LU on its way to the loop that submitted the command:
/// the transfer and what to do with its result.
pub struct AioJob {
    /// The media (opened with O_DIRECT).
    pub file: Arc<File>,
    /// How the media is opened, for the alignment.
    pub access: Access,
    /// The transfer.
    pub io: AioIo,
    /// Receives the result, on the thread that reaps it.
    pub done: Box<dyn FnOnce(Result<IoDone, IoError>) + Send>,
}

impl std::fmt::Debug for AioJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AioJob")
            .field("access", &self.access)
            .field("io", &self.io)
            .finish_non_exhaustive()
    }
}

impl AioJob {
    /// Does the transfer with blocking pread/pwrite instead (on a backing-store worker)
    /// and hands over the result: the same outcome, for when no AIO queue can take it.
    pub fn run_blocking(self) {
        let result = rdwr_io::run(&self.file, self.access, self.io.into_op());
        (self.done)(result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::OpenOptionsExt;
    use std::path::PathBuf;

    /// A pattern file in `dir`, opened O_DIRECT, removed on drop.
    struct Media {
        path: PathBuf,
        file: Arc<File>,
        access: Access,
    }

    fn byte(i: usize) -> u8 {
        u8::try_from((i / 512 * 7 + i % 512 / 2 + 1) % 251).unwrap()
    }

    impl Media {
        fn new(dir: &str, name: &str, len: usize) -> Option<Self> {
            let path = PathBuf::from(dir).join(format!("tgt-bs-aio-{}-{name}", std::process::id()));
            std::fs::write(&path, (0..len).map(byte).collect::<Vec<_>>()).unwrap();
            let file = match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(libc::O_DIRECT)
                .open(&path)
            {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("skipped: {dir} refuses O_DIRECT: {e}");
                    let _ = std::fs::remove_file(&path);
                    return None;
                }
            };
            let access = Access::of(&file, true);
            Some(Self {
                path,
                file: Arc::new(file),
                access,
            })
        }
        fn contents(&self) -> Vec<u8> {
            std::fs::read(&self.path).unwrap()
        }
    }

    impl Drop for Media {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    type Out = Vec<(u32, Result<IoDone, IoError>)>;

    fn drain(q: &mut AioQueue<u32>, n: usize) -> Out {
        let mut out = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while out.len() < n {
            assert!(std::time::Instant::now() < deadline, "AIO did not complete");
            q.wait(&mut out, Duration::from_millis(100)).unwrap();
        }
        assert!(q.is_idle());
        out.sort_by_key(|(t, _)| *t);
        out
    }

    fn read(offset: u64, len: usize) -> AioIo {
        AioIo::Read { offset, len }
    }

    fn reads_widen_and_the_wait_list_keeps_order(dir: &str) {
        let Some(m) = Media::new(dir, "rd", 1 << 20) else {
            return;
        };
        let mut q = AioQueue::with_depth(4).unwrap();
        // Ten reads through four slots, some not aligned (a READ with a smaller expected
        // data transfer length reads only that many bytes).
        let asks: Vec<(u64, usize)> = (0..10u64)
            .map(|i| {
                (
                    i * 4096 + (i % 3) * 100,
                    512 * (1 + usize::try_from(i).unwrap()) - 7 * usize::try_from(i % 2).unwrap(),
                )
            })
            .collect();
        for (i, (offset, len)) in asks.iter().enumerate() {
            q.push(
                u32::try_from(i).unwrap(),
                Arc::clone(&m.file),
                m.access,
                read(*offset, *len),
            )
            .unwrap();
        }
        assert_eq!(q.waiting(), 10);
        assert_eq!(q.flush(), 4);
        assert_eq!((q.in_flight(), q.waiting()), (4, 6));
        let out = drain(&mut q, 10);
        for ((tag, r), (offset, len)) in out.into_iter().zip(asks) {
            let o = usize::try_from(offset).unwrap();
            let want: Vec<u8> = (o..o + len).map(byte).collect();
            assert_eq!(r.unwrap(), IoDone::Data(want), "request {tag}");
        }
    }

    #[test]
    fn reads_on_ext4() {
        reads_widen_and_the_wait_list_keeps_order("/var/tmp");
    }

    #[test]
    fn reads_on_tmpfs() {
        reads_widen_and_the_wait_list_keeps_order("/dev/shm");
    }

    fn writes(dir: &str) {
        let Some(m) = Media::new(dir, "wr", 64 * 1024) else {
            return;
        };
        let mut q = AioQueue::new().unwrap();
        let w = |offset, fill, len, dsync| AioIo::Write {
            offset,
            data: vec![fill; len],
            dsync,
        };
        q.push(1, Arc::clone(&m.file), m.access, w(4096, 0xa1, 8192, false))
            .unwrap();
        q.push(2, Arc::clone(&m.file), m.access, w(20480, 0xb2, 512, true))
            .unwrap();
        q.flush();
        let out = drain(&mut q, 2);
        assert!(out.iter().all(|(_, r)| matches!(r, Ok(IoDone::Done))));
        let mut want: Vec<u8> = (0..64 * 1024).map(byte).collect();
        want[4096..12288].fill(0xa1);
        want[20480..20992].fill(0xb2);
        assert_eq!(m.contents(), want);
        // A partial block does not go to the kernel when O_DIRECT needs alignment.
        let r = q.push(3, Arc::clone(&m.file), m.access, w(512, 1, 100, false));
        match m.access {
            Access::Direct { align } if align > 1 => {
                let back = r.unwrap_err();
                assert_eq!(back.tag, 3);
                assert!(matches!(back.io, AioIo::Write { offset: 512, .. }));
            }
            _ => {
                r.unwrap();
                q.flush();
                drain(&mut q, 1);
            }
        }
    }

    #[test]
    fn writes_on_ext4() {
        writes("/var/tmp");
    }

    #[test]
    fn writes_on_tmpfs() {
        writes("/dev/shm");
    }

    #[test]
    fn read_past_a_truncated_end_is_a_read_error() {
        let Some(m) = Media::new("/var/tmp", "trunc", 64 * 1024) else {
            return;
        };
        // The file shrinks under the LU: the tail of the read is gone.
        m.file.set_len(6000).unwrap();
        let mut q = AioQueue::new().unwrap();
        q.push(1, Arc::clone(&m.file), m.access, read(4096, 4096))
            .unwrap();
        // Still inside what is left: fine, even though the aligned span runs past the end.
        q.push(2, Arc::clone(&m.file), m.access, read(4096, 1000))
            .unwrap();
        q.push(3, Arc::clone(&m.file), m.access, read(32768, 512))
            .unwrap();
        q.flush();
        let out = drain(&mut q, 3);
        let e = out[0].1.as_ref().unwrap_err();
        assert!(
            matches!(
                e,
                IoError::Read {
                    offset: 4096,
                    len: 4096,
                    ..
                }
            ),
            "{e:?}"
        );
        let want: Vec<u8> = (4096..5096).map(byte).collect();
        assert_eq!(out[1].1.as_ref().unwrap(), &IoDone::Data(want));
        assert!(matches!(out[2].1, Err(IoError::Read { .. })));
    }

    #[test]
    fn write_to_a_read_only_file_is_a_write_error() {
        let Some(m) = Media::new("/var/tmp", "ro", 8192) else {
            return;
        };
        let ro = Arc::new(
            std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_DIRECT)
                .open(&m.path)
                .unwrap(),
        );
        let mut q = AioQueue::new().unwrap();
        let io = AioIo::Write {
            offset: 0,
            data: vec![1; 512],
            dsync: false,
        };
        q.push(9, ro, m.access, io).unwrap();
        q.flush();
        let out = drain(&mut q, 1);
        let e = out[0].1.as_ref().unwrap_err();
        assert!(matches!(e, IoError::Write { .. }));
        assert_eq!(e.raw_os_error(), Some(libc::EBADF));
    }

    #[test]
    fn empty_transfers_complete_without_the_kernel() {
        let Some(m) = Media::new("/dev/shm", "empty", 4096) else {
            return;
        };
        let mut q = AioQueue::new().unwrap();
        q.push(1, Arc::clone(&m.file), m.access, read(0, 0))
            .unwrap();
        assert_eq!(q.flush(), 0);
        let out = drain(&mut q, 1);
        assert_eq!(out[0].1.as_ref().unwrap(), &IoDone::Data(Vec::new()));
    }

    #[test]
    fn a_job_runs_blocking_with_the_same_result() {
        let Some(m) = Media::new("/var/tmp", "job", 8192) else {
            return;
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let job = AioJob {
            file: Arc::clone(&m.file),
            access: m.access,
            io: read(100, 50),
            done: Box::new(move |r| tx.send(r).unwrap()),
        };
        job.run_blocking();
        let want: Vec<u8> = (100..150).map(byte).collect();
        assert_eq!(rx.recv().unwrap().unwrap(), IoDone::Data(want));
    }
}
