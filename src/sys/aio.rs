//! Linux native AIO through the raw system calls `io_setup`, `io_submit`, `io_getevents`
//! and `io_destroy`, with completions signalled on an eventfd (`IOCB_FLAG_RESFD`).
//!
//! [`AioContext`] owns every buffer the kernel may read or write: a request hands its
//! [`AlignedBuf`] over at submission and gets it back from [`AioContext::reap`]. Dropping
//! the context first destroys the kernel context, which waits until every request in
//! flight has finished, and only then frees the buffers. Knows nothing of SCSI or of
//! backing-store policy (alignment, in-flight limits beyond the context's depth, retries).
//! Sources: <linux/aio_abi.h>, io_setup(2), io_submit(2), io_getevents(2),
//! io_destroy(2), linux fs/aio.c.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::eventfd::{EfdFlags, EventFd};

use super::dio::AlignedBuf;

/// <linux/aio_abi.h> `IOCB_CMD_PREAD`.
const IOCB_CMD_PREAD: u16 = 0;
/// <linux/aio_abi.h> `IOCB_CMD_PWRITE`.
const IOCB_CMD_PWRITE: u16 = 1;
/// <linux/aio_abi.h> `IOCB_FLAG_RESFD`: signal completion on `aio_resfd` (an eventfd).
const IOCB_FLAG_RESFD: u32 = 1 << 0;

/// <linux/aio_abi.h> `struct iocb`: 64 bytes; `aio_key` and `aio_rw_flags` swap places on
/// big-endian machines (`PADDED`).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
struct Iocb {
    /// Returned in `io_event.data`.
    aio_data: u64,
    #[cfg(target_endian = "little")]
    aio_key: u32,
    /// RWF_* flags (Linux 4.13).
    aio_rw_flags: i32,
    #[cfg(target_endian = "big")]
    aio_key: u32,
    aio_lio_opcode: u16,
    aio_reqprio: i16,
    aio_fildes: u32,
    aio_buf: u64,
    aio_nbytes: u64,
    aio_offset: i64,
    aio_reserved2: u64,
    aio_flags: u32,
    aio_resfd: u32,
}

/// <linux/aio_abi.h> `struct io_event`: 32 bytes.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
struct IoEvent {
    /// The iocb's `aio_data`.
    data: u64,
    /// Address of the user iocb (not used: it was a temporary).
    obj: u64,
    /// Bytes transferred, or a negative errno.
    res: i64,
    /// Secondary result.
    res2: i64,
}

/// `aio_context_t`.
type RawCtx = libc::c_ulong;

/// What a request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AioOp {
    /// pread into the buffer.
    Read,
    /// pwrite from the buffer; `dsync` makes it durable before it completes (`RWF_DSYNC`,
    /// the per-write O_DSYNC: the same guarantee as pwrite then fdatasync).
    Write {
        /// Use RWF_DSYNC.
        dsync: bool,
    },
}

/// One transfer: `buf[pos..]` to or from the file `tag` names, at `offset`.
#[derive(Debug)]
pub struct AioRequest<T> {
    /// Read or write.
    pub op: AioOp,
    /// File offset of `buf[pos]`.
    pub offset: u64,
    /// The buffer; the kernel owns it from submission to completion.
    pub buf: AlignedBuf,
    /// Start of the transfer in `buf`.
    pub pos: usize,
    /// The caller's identity for the request; its file descriptor is the file used.
    pub tag: T,
}

/// A finished request and its result: bytes transferred (possibly short) or the error.
#[derive(Debug)]
pub struct AioCompletion<T> {
    /// The request, buffer included.
    pub req: AioRequest<T>,
    /// `io_event.res`.
    pub result: io::Result<usize>,
}

/// The kernel side of an AIO context: created by io_setup, destroyed by io_destroy.
#[derive(Debug)]
struct Ring {
    ctx: RawCtx,
    live: bool,
}

impl Ring {
    fn setup(depth: u32) -> io::Result<Self> {
        let mut ctx: RawCtx = 0;
        // SAFETY: io_setup writes one aio_context_t through the pointer, which points to
        // `ctx`, initialised to 0 as the call requires and alive across this synchronous call.
        let rc = unsafe { libc::syscall(libc::SYS_io_setup, depth, &mut ctx as *mut RawCtx) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Self { ctx, live: true })
    }

    /// io_destroy: cancels what it can and waits until every request in flight has
    /// completed (fs/aio.c `io_destroy`). Idempotent.
    fn destroy(&mut self) -> io::Result<()> {
        if !self.live {
            return Ok(());
        }
        self.live = false;
        // SAFETY: `ctx` came from a successful io_setup and is destroyed at most once
        // (`live`); the call takes no pointers.
        let rc = unsafe { libc::syscall(libc::SYS_io_destroy, self.ctx) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        let _ = self.destroy();
    }
}

/// An AIO context of fixed depth with its eventfd, and the requests it holds.
///
/// `T` identifies a request and names its file (`AsFd`): the descriptor is read at
/// submission only; the kernel holds its own reference to the file until completion.
#[derive(Debug)]
pub struct AioContext<T> {
    // Field order is deliberate (STYLE §5): `ring` is dropped first, and io_destroy waits
    // for the requests in flight, so `slots` never frees a buffer the kernel may still
    // write. `Drop` also destroys it explicitly, and leaks the buffers if that fails.
    /// The kernel context.
    ring: Ring,
    /// Requests the kernel holds, indexed by `aio_data`.
    slots: Vec<Option<AioRequest<T>>>,
    /// Free indices of `slots`.
    free: Vec<usize>,
    /// Requests the kernel refused at submission, reported by the next reap.
    refused: Vec<AioCompletion<T>>,
    /// Signalled by the kernel for every completion.
    eventfd: EventFd,
    /// io_getevents output.
    events: Vec<IoEvent>,
}

impl<T> Drop for AioContext<T> {
    fn drop(&mut self) {
        if let Err(e) = self.ring.destroy() {
            // The kernel may still own the buffers: never free them.
            tracing::error!(error = %e, "io_destroy failed; leaking the AIO buffers");
            std::mem::forget(std::mem::take(&mut self.slots));
        }
    }
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl<T: AsFd> AioContext<T> {
    /// io_setup with room for `depth` requests in flight, and a non-blocking eventfd.
    pub fn new(depth: u32) -> io::Result<Self> {
        let eventfd =
            EventFd::from_value_and_flags(0, EfdFlags::EFD_NONBLOCK | EfdFlags::EFD_CLOEXEC)?;
        let ring = Ring::setup(depth)?;
        let depth = usize::try_from(depth).unwrap_or(usize::MAX);
        Ok(Self {
            ring,
            slots: (0..depth).map(|_| None).collect(),
            free: (0..depth).rev().collect(),
            refused: Vec::new(),
            eventfd,
            events: vec![IoEvent::default(); depth],
        })
    }

    /// Most requests in flight at once.
    pub fn depth(&self) -> usize {
        self.slots.len()
    }

    /// Requests the kernel holds now.
    pub fn in_flight(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// Builds the iocb of `req`, to be stored at slot `slot`. The buffer pointer stays
    /// valid while `req` owns the buffer: its heap data does not move with the struct.
    fn iocb(&self, slot: usize, req: &mut AioRequest<T>) -> Result<Iocb, io::Error> {
        let fd = u32::try_from(req.tag.as_fd().as_raw_fd())
            .map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
        let offset =
            i64::try_from(req.offset).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let resfd = u32::try_from(self.eventfd.as_fd().as_raw_fd())
            .map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
        let data = req
            .buf
            .as_mut_slice()
            .get_mut(req.pos..)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
        let (opcode, rw_flags) = match req.op {
            AioOp::Read => (IOCB_CMD_PREAD, 0),
            AioOp::Write { dsync } => (IOCB_CMD_PWRITE, if dsync { libc::RWF_DSYNC } else { 0 }),
        };
        Ok(Iocb {
            aio_data: to_u64(slot),
            aio_rw_flags: rw_flags,
            aio_lio_opcode: opcode,
            aio_fildes: fd,
            aio_buf: to_u64(data.as_mut_ptr() as usize),
            aio_nbytes: to_u64(data.len()),
            aio_offset: offset,
            aio_flags: IOCB_FLAG_RESFD,
            aio_resfd: resfd,
            ..Iocb::default()
        })
    }

    /// Hands requests from the front of `queue` to the kernel, as many as there is room
    /// for, in one io_submit where possible. Returns how many the kernel took. When the
    /// kernel is out of resources (EAGAIN) the rest stay at the front of `queue`, in
    /// order; a request it refuses for another reason completes with that error at the
    /// next [`reap`](Self::reap).
    pub fn submit(&mut self, queue: &mut VecDeque<AioRequest<T>>) -> usize {
        let n = queue.len().min(self.free.len());
        let mut batch: Vec<(usize, Iocb)> = Vec::with_capacity(n);
        for _ in 0..n {
            let Some(slot) = self.free.pop() else { break };
            let Some(mut req) = queue.pop_front() else {
                self.free.push(slot);
                break;
            };
            match self.iocb(slot, &mut req) {
                Ok(iocb) => {
                    self.slots[slot] = Some(req);
                    batch.push((slot, iocb));
                }
                Err(e) => {
                    self.free.push(slot);
                    self.refused.push(AioCompletion {
                        req,
                        result: Err(e),
                    });
                }
            }
        }
        let mut iocbs: Vec<Iocb> = batch.iter().map(|(_, i)| *i).collect();
        let mut ptrs: Vec<*mut Iocb> = iocbs.iter_mut().map(|i| i as *mut Iocb).collect();
        let mut done = 0;
        let mut taken = 0;
        while done < ptrs.len() {
            let rest = &mut ptrs[done..];
            let nr = libc::c_long::try_from(rest.len()).unwrap_or(libc::c_long::MAX);
            // SAFETY: `rest` holds `nr` pointers to initialised iocbs in `iocbs`, which
            // outlives this synchronous call (the kernel copies them); every `aio_buf`
            // points into a buffer now owned by `self.slots`, which keeps it until the
            // request is reaped or io_destroy has waited for it.
            let rc =
                unsafe { libc::syscall(libc::SYS_io_submit, self.ring.ctx, nr, rest.as_mut_ptr()) };
            if rc > 0 {
                let k = usize::try_from(rc).unwrap_or(0);
                done += k;
                taken += k;
                continue;
            }
            let err = io::Error::last_os_error();
            let (slot, _) = batch[done];
            let Some(req) = self.slots[slot].take() else {
                break;
            };
            self.free.push(slot);
            if rc == 0 || matches!(err.raw_os_error(), Some(libc::EAGAIN | libc::EINTR)) {
                // Out of kernel resources: everything not taken goes back, in order.
                let mut back = vec![req];
                for (slot, _) in &batch[done + 1..] {
                    if let Some(r) = self.slots[*slot].take() {
                        self.free.push(*slot);
                        back.push(r);
                    }
                }
                for r in back.into_iter().rev() {
                    queue.push_front(r);
                }
                break;
            }
            self.refused.push(AioCompletion {
                req,
                result: Err(err),
            });
            done += 1;
        }
        taken
    }

    /// Collects every finished request without blocking: refused ones first, then what
    /// io_getevents returns. Clears the eventfd first, so a completion that arrives
    /// meanwhile signals it again.
    pub fn reap(&mut self, out: &mut Vec<AioCompletion<T>>) -> io::Result<()> {
        loop {
            match self.eventfd.read() {
                Ok(_) | Err(Errno::EAGAIN) => break,
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        self.collect(out, 0, Duration::ZERO)
    }

    /// Like [`reap`](Self::reap), but waits up to `timeout` for at least one completion
    /// when requests are in flight and none has finished. For draining and tests; an
    /// event loop waits on the eventfd instead.
    pub fn wait(&mut self, out: &mut Vec<AioCompletion<T>>, timeout: Duration) -> io::Result<()> {
        let _ = self.eventfd.read();
        self.collect(out, 1, timeout)
    }

    fn collect(
        &mut self,
        out: &mut Vec<AioCompletion<T>>,
        min: usize,
        timeout: Duration,
    ) -> io::Result<()> {
        let before = out.len();
        out.append(&mut self.refused);
        let mut min = if out.len() > before { 0 } else { min };
        while self.in_flight() > 0 {
            let got = self.getevents(min, timeout)?;
            min = 0;
            for ev in &self.events[..got] {
                let slot = usize::try_from(ev.data).unwrap_or(usize::MAX);
                let Some(req) = self.slots.get_mut(slot).and_then(Option::take) else {
                    tracing::error!(data = ev.data, "AIO completion for an unknown request");
                    continue;
                };
                self.free.push(slot);
                let result = if ev.res < 0 {
                    let errno = i32::try_from(-ev.res).unwrap_or(libc::EIO);
                    Err(io::Error::from_raw_os_error(errno))
                } else {
                    Ok(usize::try_from(ev.res).unwrap_or(usize::MAX))
                };
                out.push(AioCompletion { req, result });
            }
            if got < self.events.len() {
                break;
            }
        }
        Ok(())
    }

    /// io_getevents: at least `min` (0 or 1) events, at most `events.len()`.
    fn getevents(&mut self, min: usize, timeout: Duration) -> io::Result<usize> {
        // c_long is 32 bits wide on 32-bit targets, where the conversion can fail.
        #[allow(clippy::unnecessary_fallible_conversions)]
        let mut ts = libc::timespec {
            tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_nsec: libc::c_long::try_from(timeout.subsec_nanos()).unwrap_or(0),
        };
        let min = libc::c_long::try_from(min).unwrap_or(0);
        let nr = libc::c_long::try_from(self.events.len()).unwrap_or(libc::c_long::MAX);
        loop {
            // SAFETY: `events` has room for `nr` io_events and `ts` is a valid timespec;
            // both outlive this synchronous call.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_io_getevents,
                    self.ring.ctx,
                    min,
                    nr,
                    self.events.as_mut_ptr(),
                    &mut ts as *mut libc::timespec,
                )
            };
            if rc >= 0 {
                return Ok(usize::try_from(rc).unwrap_or(0));
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }
}

impl<T> AsFd for AioContext<T> {
    /// The eventfd: readable when requests have completed.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.eventfd.as_fd()
    }
}

impl<T> AsRawFd for AioContext<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.eventfd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::mem::{offset_of, size_of};
    use std::os::unix::fs::OpenOptionsExt;
    use std::path::PathBuf;

    #[test]
    fn iocb_layout_is_aio_abi_h() {
        // Offsets from <linux/aio_abi.h> on a little-endian 64-bit machine.
        assert_eq!(size_of::<Iocb>(), 64);
        assert_eq!(offset_of!(Iocb, aio_data), 0);
        #[cfg(target_endian = "little")]
        {
            assert_eq!(offset_of!(Iocb, aio_key), 8);
            assert_eq!(offset_of!(Iocb, aio_rw_flags), 12);
        }
        assert_eq!(offset_of!(Iocb, aio_lio_opcode), 16);
        assert_eq!(offset_of!(Iocb, aio_reqprio), 18);
        assert_eq!(offset_of!(Iocb, aio_fildes), 20);
        assert_eq!(offset_of!(Iocb, aio_buf), 24);
        assert_eq!(offset_of!(Iocb, aio_nbytes), 32);
        assert_eq!(offset_of!(Iocb, aio_offset), 40);
        assert_eq!(offset_of!(Iocb, aio_reserved2), 48);
        assert_eq!(offset_of!(Iocb, aio_flags), 56);
        assert_eq!(offset_of!(Iocb, aio_resfd), 60);
        assert_eq!(size_of::<IoEvent>(), 32);
        assert_eq!(offset_of!(IoEvent, data), 0);
        assert_eq!(offset_of!(IoEvent, obj), 8);
        assert_eq!(offset_of!(IoEvent, res), 16);
        assert_eq!(offset_of!(IoEvent, res2), 24);
    }

    /// A temporary file of `len` bytes of `fill` in `dir`, opened O_DIRECT when `direct`.
    struct Tmp(PathBuf, File);
    impl Tmp {
        fn new(dir: &str, name: &str, len: usize, fill: u8, direct: bool) -> Option<Self> {
            let p = PathBuf::from(dir).join(format!("tgt-sys-aio-{}-{name}", std::process::id()));
            std::fs::write(&p, vec![fill; len]).unwrap();
            let flags = if direct { libc::O_DIRECT } else { 0 };
            match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(flags)
                .open(&p)
            {
                Ok(f) => Some(Self(p, f)),
                Err(e) => {
                    eprintln!("skipped: {dir} refuses O_DIRECT: {e}");
                    let _ = std::fs::remove_file(&p);
                    None
                }
            }
        }
    }
    impl Drop for Tmp {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn req(f: &File, op: AioOp, offset: u64, buf: AlignedBuf) -> AioRequest<&File> {
        AioRequest {
            op,
            offset,
            buf,
            pos: 0,
            tag: f,
        }
    }

    fn wait_all<T: AsFd>(ctx: &mut AioContext<T>, n: usize) -> Vec<AioCompletion<T>> {
        let mut out = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while out.len() < n {
            assert!(std::time::Instant::now() < deadline, "AIO did not complete");
            ctx.wait(&mut out, Duration::from_millis(100)).unwrap();
        }
        out
    }

    fn round_trip(dir: &str) {
        let Some(t) = Tmp::new(dir, "rt", 64 * 1024, 0x11, true) else {
            return;
        };
        let mut ctx: AioContext<&File> = AioContext::new(8).unwrap();
        let mut q = VecDeque::new();
        let mut w = AlignedBuf::zeroed(8192);
        w.as_mut_slice().fill(0xab);
        q.push_back(req(&t.1, AioOp::Write { dsync: true }, 4096, w));
        assert_eq!(ctx.submit(&mut q), 1);
        let done = wait_all(&mut ctx, 1);
        assert_eq!(done[0].result.as_ref().unwrap(), &8192);
        // Twelve reads through a context of depth 8: the rest waits in the queue.
        for i in 0..12u64 {
            q.push_back(req(&t.1, AioOp::Read, i * 4096, AlignedBuf::zeroed(4096)));
        }
        assert_eq!(ctx.submit(&mut q), 8);
        assert_eq!(q.len(), 4);
        assert_eq!(ctx.in_flight(), 8);
        let mut got = wait_all(&mut ctx, 8);
        assert_eq!(ctx.submit(&mut q), 4);
        got.extend(wait_all(&mut ctx, 4));
        assert_eq!(ctx.in_flight(), 0);
        for c in got {
            assert_eq!(*c.result.as_ref().unwrap(), 4096);
            let want = if (1..3).contains(&(c.req.offset / 4096)) {
                0xab
            } else {
                0x11
            };
            assert!(
                c.req.buf.as_slice().iter().all(|&b| b == want),
                "offset {}",
                c.req.offset
            );
        }
    }

    #[test]
    fn round_trip_on_ext4_with_o_direct() {
        round_trip("/var/tmp");
    }

    #[test]
    fn round_trip_on_tmpfs() {
        round_trip("/dev/shm");
    }

    #[test]
    fn eventfd_signals_completions() {
        let Some(t) = Tmp::new("/var/tmp", "efd", 4096, 5, true) else {
            return;
        };
        let mut ctx: AioContext<&File> = AioContext::new(4).unwrap();
        let mut q = VecDeque::from([req(&t.1, AioOp::Read, 0, AlignedBuf::zeroed(4096))]);
        assert_eq!(ctx.submit(&mut q), 1);
        let mut poll = mio::Poll::new().unwrap();
        let raw = ctx.as_raw_fd();
        poll.registry()
            .register(
                &mut mio::unix::SourceFd(&raw),
                mio::Token(7),
                mio::Interest::READABLE,
            )
            .unwrap();
        let mut events = mio::Events::with_capacity(4);
        poll.poll(&mut events, Some(Duration::from_secs(20)))
            .unwrap();
        assert_eq!(events.iter().next().map(|e| e.token()), Some(mio::Token(7)));
        let mut out = Vec::new();
        ctx.reap(&mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(*out[0].result.as_ref().unwrap(), 4096);
        assert!(out[0].req.buf.as_slice().iter().all(|&b| b == 5));
        // The counter was cleared: a further read finds nothing.
        assert_eq!(ctx.eventfd.read(), Err(Errno::EAGAIN));
    }

    #[test]
    fn misaligned_o_direct_read_fails_with_einval_and_short_read_at_eof() {
        let Some(t) = Tmp::new("/var/tmp", "bad", 4096, 9, true) else {
            return;
        };
        let mut ctx: AioContext<&File> = AioContext::new(4).unwrap();
        let mut q = VecDeque::new();
        let mut r = req(&t.1, AioOp::Read, 0, AlignedBuf::zeroed(1000));
        r.pos = 0;
        q.push_back(r);
        q.push_back(req(&t.1, AioOp::Read, 3584, AlignedBuf::zeroed(1024)));
        ctx.submit(&mut q);
        let mut got = wait_all(&mut ctx, 2);
        got.sort_by_key(|c| c.req.offset);
        let e = got[0].result.as_ref().unwrap_err();
        if e.raw_os_error() != Some(libc::EINVAL) {
            panic!("unexpected {e}");
        }
        // 512 bytes remain before the end of the file.
        assert_eq!(*got[1].result.as_ref().unwrap(), 512);
    }

    #[test]
    fn bad_descriptor_is_refused_and_reported_by_reap() {
        let Some(t) = Tmp::new("/dev/shm", "ro", 4096, 1, false) else {
            return;
        };
        let ro = File::open(&t.0).unwrap();
        let mut ctx: AioContext<&File> = AioContext::new(4).unwrap();
        // Writing to a read-only descriptor: EBADF at submission.
        let mut q = VecDeque::from([
            req(
                &ro,
                AioOp::Write { dsync: false },
                0,
                AlignedBuf::zeroed(512),
            ),
            req(&ro, AioOp::Read, 0, AlignedBuf::zeroed(512)),
        ]);
        assert_eq!(ctx.submit(&mut q), 1);
        assert!(q.is_empty());
        let got = wait_all(&mut ctx, 2);
        let refused = got.iter().find(|c| c.req.op != AioOp::Read).unwrap();
        assert_eq!(
            refused.result.as_ref().unwrap_err().raw_os_error(),
            Some(libc::EBADF)
        );
        let read = got.iter().find(|c| c.req.op == AioOp::Read).unwrap();
        assert_eq!(*read.result.as_ref().unwrap(), 512);
    }

    #[test]
    fn dropping_with_requests_in_flight_waits_for_them() {
        let Some(t) = Tmp::new("/var/tmp", "drop", 1 << 20, 3, true) else {
            return;
        };
        let mut ctx: AioContext<&File> = AioContext::new(16).unwrap();
        let mut q: VecDeque<_> = (0..16u64)
            .map(|i| req(&t.1, AioOp::Read, i * 65536, AlignedBuf::zeroed(65536)))
            .collect();
        assert_eq!(ctx.submit(&mut q), 16);
        drop(ctx);
    }
}
