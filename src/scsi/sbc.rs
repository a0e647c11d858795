//! Block commands of disk LUs (SBC-3): reads, writes, verifies, COMPARE AND WRITE, WRITE
//! SAME, UNMAP, caches, capacity, provisioning status, FORMAT UNIT.
//!
//! Each handler validates the CDB against the LU (fields, write protection, LBA range) on
//! the caller's thread and hands the media work to a backing-store worker as an
//! [`IoOp`]; the null store finishes at once (reads return zeros). Must not know about
//! transports. Sources: SBC-3 §5; tgt: usr/sbc.c `sbc_rw()`, `sbc_verify()`,
//! `sbc_unmap()`, `sbc_read_capacity()`, `sbc_readcapacity16()`, `sbc_getlbastatus()`,
//! `sbc_sync_cache()`, `sbc_format_unit()`, usr/bs_rdwr.c `bs_rdwr_request()`.
//!
//! COMPAT: where C tgt 1.0.85 differs: COMPARE AND WRITE is served; UNMAP answers GOOD
//! without sense; SYNCHRONIZE CACHE accepts IMMED and checks its LBA range; PRE-FETCH is
//! allowed on read-only LUs; VERIFY checks its range even with BYTCHK 0 and supports
//! BYTCHK 11b; WRITE SAME with UNMAP only deallocates when the block is zeros (unmapped
//! blocks read as zeros, LBPRZ) and stamps LBDATA/PBDATA with the LBA, not the byte offset;
//! I/O failures are MEDIUM ERROR with READ ERROR or WRITE ERROR, and a full thin-provisioned
//! file system is DATA PROTECT / SPACE ALLOCATION FAILED.

use std::fs::File;
use std::ops::ControlFlow;
use std::sync::Arc;

use crate::bs::aio::AioIo;
use crate::bs::gate::IoGate;
use crate::bs::rbd::{RbdIo, RbdMedia};
use crate::bs::rdwr_io::{self, IoDone, IoError, IoOp, Stamp};
use crate::bs::{Access, BsKind};

use super::cdb::Opcode;
use super::exec::{cut, done, ensure, fail, illegal, Outcome, Reply, Req, Step};
use super::sense::{asc, Sense, SenseKey};
use super::vpd::{MAX_COMPARE_AND_WRITE_BLOCKS, MAX_UNMAP_DESCRIPTORS};

/// SERVICE ACTION IN(16) service actions. SBC-3 §5.16, §5.7
pub const SAI_READ_CAPACITY_16: u8 = 0x10;
/// GET LBA STATUS
pub const SAI_GET_LBA_STATUS: u8 = 0x12;

/// Most LBA status descriptors one GET LBA STATUS reports.
const MAX_LBA_STATUS_DESCRIPTORS: usize = 1024;
/// Largest data-in one READ may ask for: the buffer is allocated before the read, and the
/// expected length comes from the wire. Initiators stay far below (Linux: 32 MiB).
pub const MAX_READ_BYTES: usize = 64 << 20;

/// What a handler needs to know about the disk, taken under the configuration lock.
struct Disk {
    shift: u32,
    blocks: u64,
    readonly: bool,
    thin: bool,
    /// Caching mode page WCE bit: 0 means every write is flushed.
    wce: bool,
    lbppbe: u8,
    la_lba: u16,
    /// `None` for the null and rbd stores.
    file: Option<Arc<File>>,
    /// The image of an rbd LU.
    rbd: Option<Arc<RbdMedia>>,
    /// Buffered or O_DIRECT (with its alignment).
    access: Access,
    gate: Arc<IoGate>,
    /// READ and WRITE go to the submitting loop's native AIO queue.
    aio: bool,
}

impl Disk {
    fn of(req: &Req<'_>) -> Self {
        let gate = Arc::clone(&req.lu.state().io_gate);
        let c = req.lu.config();
        let wce = c
            .mode_pages
            .iter()
            .find(|p| p.pcode == 0x08 && p.subpcode == 0)
            .and_then(|p| p.data.first())
            .is_some_and(|b| b & 0x04 != 0);
        let file = match c.bst.kind {
            BsKind::Null | BsKind::Sg | BsKind::Rbd => None,
            BsKind::Rdwr | BsKind::Aio => c.media.as_ref().and_then(|m| m.file.clone()),
        };
        let rbd = match c.bst.kind {
            BsKind::Rbd => c.media.as_ref().and_then(|m| m.rbd.clone()),
            _ => None,
        };
        if let Some(r) = &rbd {
            r.watch_once(|| resize_watch(req));
        }
        Self {
            shift: c.blk_shift,
            blocks: c.size.checked_shr(c.blk_shift).unwrap_or(0),
            readonly: c.attrs.readonly != 0 || c.attrs.swp != 0,
            thin: c.attrs.thin_provisioning != 0,
            wce,
            lbppbe: c.attrs.lbppbe,
            la_lba: c.attrs.la_lba,
            file,
            rbd,
            access: c.media.as_ref().map_or(Access::Buffered, |m| m.access),
            gate,
            aio: c.bst.kind == BsKind::Aio,
        }
    }

    /// No media to do I/O on (the null store, or media that is not open): commands
    /// finish at once.
    fn null(&self) -> bool {
        self.file.is_none() && self.rbd.is_none()
    }

    fn bytes(&self, blocks: u64) -> u64 {
        blocks.checked_shl(self.shift).unwrap_or(u64::MAX)
    }

    /// DATA PROTECT / WRITE PROTECTED on a read-only or software-write-protected LU.
    fn writable(&self) -> Step<()> {
        if self.readonly {
            fail(SenseKey::DATA_PROTECT, asc::WRITE_PROTECT)
        } else {
            ControlFlow::Continue(())
        }
    }

    /// LBA range check: `blocks` 0 only requires `lba` to exist. tgt: `sbc_rw()`
    fn in_range(&self, lba: u64, blocks: u64) -> Step<()> {
        let ok = if blocks == 0 {
            lba < self.blocks
        } else {
            lba.checked_add(blocks)
                .is_some_and(|end| end <= self.blocks)
        };
        ensure(ok, asc::LBA_OUT_OF_RANGE)
    }

    /// Hands `op` to a worker. `exclusive`: no other media access of this LU runs meanwhile
    /// (read-modify-write commands). `finish` turns the result into the outcome.
    fn submit(
        &self,
        req: &Req<'_>,
        op: IoOp,
        exclusive: bool,
        finish: impl FnOnce(IoDone) -> Outcome + Send + 'static,
    ) -> Step<Reply> {
        if let Some(rbd) = &self.rbd {
            return self.submit_rbd(req, rbd, op, exclusive, finish);
        }
        let Some(file) = self.file.clone() else {
            return fail(SenseKey::NOT_READY, asc::MEDIUM_NOT_PRESENT);
        };
        let gate = Arc::clone(&self.gate);
        let access = self.access;
        let lun = req.lu.lun;
        req.spawn(move || {
            let result = if exclusive {
                let _held = gate.exclusive();
                rdwr_io::run(&file, access, op)
            } else {
                let _held = gate.shared();
                rdwr_io::run(&file, access, op)
            };
            outcome(lun, result, finish)
        })
    }

    /// An rbd LU's `op`: READ, WRITE, SYNCHRONIZE CACHE and one-range deallocations go to
    /// librbd asynchronously, holding the gate shared until they complete, when the gate
    /// is free now; everything else (and those when it is not) runs on a worker with
    /// blocking librbd calls, as [`Disk::submit`] runs rdwr's.
    fn submit_rbd(
        &self,
        req: &Req<'_>,
        rbd: &Arc<RbdMedia>,
        op: IoOp,
        exclusive: bool,
        finish: impl FnOnce(IoDone) -> Outcome + Send + 'static,
    ) -> Step<Reply> {
        let lun = req.lu.lun;
        let hold = if exclusive {
            None
        } else {
            self.gate.try_shared()
        };
        let op = match hold {
            Some(hold) => match RbdIo::of(op) {
                Ok(io) => {
                    return req.spawn_rbd(rbd, io, move |result| {
                        drop(hold);
                        outcome(lun, result, finish)
                    })
                }
                Err(op) => op,
            },
            None => op,
        };
        let gate = Arc::clone(&self.gate);
        let rbd = Arc::clone(rbd);
        req.spawn(move || {
            let result = if exclusive {
                let _held = gate.exclusive();
                rbd.run(op)
            } else {
                let _held = gate.shared();
                rbd.run(op)
            };
            outcome(lun, result, finish)
        })
    }

    /// READ or WRITE: an aio LU hands it to the native AIO queue of the loop that
    /// submitted the command, unless it is exclusive (a partial-block write with
    /// O_DIRECT), verifies, or the gate is not free now (a read-modify-write holds or
    /// waits for it); everything else, and every other store, goes to a worker as
    /// [`Disk::submit`] does. The outcome is the same either way.
    fn transfer(
        &self,
        req: &Req<'_>,
        op: IoOp,
        exclusive: bool,
        finish: impl FnOnce(IoDone) -> Outcome + Send + 'static,
    ) -> Step<Reply> {
        if self.rbd.is_some() {
            return self.submit(req, op, exclusive, finish);
        }
        let eligible = self.aio
            && !exclusive
            && matches!(op, IoOp::Read { .. } | IoOp::Write { verify: false, .. });
        let hold = if eligible {
            self.gate.try_shared()
        } else {
            None
        };
        let (Some(hold), Some(file)) = (hold, self.file.clone()) else {
            return self.submit(req, op, exclusive, finish);
        };
        let io = match op {
            // DPO only advises the page cache, which O_DIRECT bypasses.
            IoOp::Read { offset, len, .. } => AioIo::Read { offset, len },
            IoOp::Write {
                offset, data, sync, ..
            } => AioIo::Write {
                offset,
                data,
                dsync: sync,
            },
            other => {
                drop(hold);
                return self.submit(req, other, exclusive, finish);
            }
        };
        let lun = req.lu.lun;
        req.spawn_aio(file, self.access, io, move |result| {
            drop(hold);
            outcome(lun, result, finish)
        })
    }
}

/// What runs, on a librbd thread, when an rbd LU's image header changes: a worker reads
/// the image's size and, if it changed, the LU takes it and queues CAPACITY DATA HAS
/// CHANGED for every nexus.
fn resize_watch(req: &Req<'_>) -> Box<dyn Fn() + Send + Sync> {
    let lu = Arc::downgrade(req.lu);
    let pool = Arc::clone(req.ctx.pool);
    Box::new(move || {
        let lu = lu.clone();
        let job = move || {
            let Some(lu) = lu.upgrade() else {
                return;
            };
            let rbd = lu.config().media.as_ref().and_then(|m| m.rbd.clone());
            match rbd.map(|r| r.size()) {
                Some(Ok(size)) => lu.media_resized(size),
                Some(Err(e)) => {
                    tracing::warn!(lun = lu.lun, error = %e, "rbd: cannot read the image size");
                }
                None => {}
            }
        };
        if let Err(e) = pool.submit(Box::new(job)) {
            tracing::warn!(error = %e, "rbd: cannot check the image size");
        }
    })
}

/// The outcome of a finished media operation: MISCOMPARE with the offset of the first
/// difference, `finish` on success, the sense of the failure otherwise.
fn outcome(
    lun: u64,
    result: Result<IoDone, IoError>,
    finish: impl FnOnce(IoDone) -> Outcome,
) -> Outcome {
    match result {
        Ok(IoDone::Miscompare { offset }) => Outcome::check(Sense::with_info(
            SenseKey::MISCOMPARE,
            asc::MISCOMPARE_DURING_VERIFY,
            offset,
        )),
        Ok(d) => finish(d),
        Err(e) => {
            let cause = std::error::Error::source(&e).map(ToString::to_string);
            tracing::warn!(lun, error = %e, cause = cause.as_deref().unwrap_or(""), "backing-store i/o failed");
            Outcome::check(io_failure(&e))
        }
    }
}

/// The sense of a failed media operation.
fn io_failure(e: &IoError) -> Sense {
    match e {
        IoError::Write { .. } if e.raw_os_error() == Some(libc::ENOSPC) => {
            Sense::new(SenseKey::DATA_PROTECT, asc::SPACE_ALLOCATION_FAILED)
        }
        IoError::Write { .. } | IoError::Sync(_) => {
            Sense::new(SenseKey::MEDIUM_ERROR, asc::WRITE_ERROR)
        }
        IoError::Read { .. } | IoError::Seek { .. } => {
            Sense::new(SenseKey::MEDIUM_ERROR, asc::READ_ERROR)
        }
        IoError::Deallocate { .. } => {
            Sense::new(SenseKey::HARDWARE_ERROR, asc::INTERNAL_TGT_FAILURE)
        }
    }
}

/// GOOD with the data-out length the command consumed.
fn consumed(out_len: u64) -> impl FnOnce(IoDone) -> Outcome + Send + 'static {
    move |_| Outcome::good().with_out_len(out_len)
}

fn is_6_byte(op: Opcode) -> bool {
    op == Opcode::READ_6 || op == Opcode::WRITE_6
}

/// READ(6/10/12/16). Reads only as much as the initiator expects; the residual reflects
/// the transfer length. SBC-3 §5.11–5.13
pub(crate) fn read(req: &mut Req<'_>) -> Step<Reply> {
    let op = req.cdb.opcode();
    let b1 = req.cdb.byte(1);
    let (lba, tl) = req.cdb.lba_and_blocks();
    // RDPROTECT: protection information is not supported.
    ensure(is_6_byte(op) || b1 & 0xe0 == 0, asc::INVALID_FIELD_IN_CDB)?;
    let d = Disk::of(req);
    d.in_range(lba, u64::from(tl))?;
    let bytes = d.bytes(u64::from(tl));
    let want = usize::try_from(bytes.min(u64::from(req.cmd.expected_in))).unwrap_or(0);
    ensure(want <= MAX_READ_BYTES, asc::INVALID_FIELD_IN_CDB)?;
    if want == 0 || d.null() {
        return done(Outcome::data(vec![0; want]).with_in_len(bytes));
    }
    let dpo = !is_6_byte(op) && b1 & 0x10 != 0;
    let offset = d.bytes(lba);
    d.transfer(
        req,
        IoOp::Read {
            offset,
            len: want,
            dpo,
        },
        false,
        move |r| match r {
            IoDone::Data(data) => Outcome::data(data).with_in_len(bytes),
            _ => Outcome::good().with_in_len(bytes),
        },
    )
}

/// WRITE(6/10/12/16) and WRITE AND VERIFY(10/12/16). Writes what the initiator sent, at
/// most the transfer length; flushes on FUA or with the write cache disabled.
/// SBC-3 §5.34–5.40
pub(crate) fn write(req: &mut Req<'_>) -> Step<Reply> {
    let op = req.cdb.opcode();
    let b1 = req.cdb.byte(1);
    let (lba, tl) = req.cdb.lba_and_blocks();
    // WRPROTECT: protection information is not supported.
    ensure(is_6_byte(op) || b1 & 0xe0 == 0, asc::INVALID_FIELD_IN_CDB)?;
    let d = Disk::of(req);
    d.writable()?;
    d.in_range(lba, u64::from(tl))?;
    let bytes = d.bytes(u64::from(tl));
    let mut data = std::mem::take(&mut req.cmd.data_out);
    data.truncate(usize::try_from(bytes).unwrap_or(usize::MAX));
    if data.is_empty() || d.null() {
        return done(Outcome::good().with_out_len(bytes));
    }
    let verify = matches!(
        op,
        Opcode::WRITE_AND_VERIFY_10 | Opcode::WRITE_AND_VERIFY_12 | Opcode::WRITE_AND_VERIFY_16
    );
    let fua = !is_6_byte(op) && !verify && b1 & 0x08 != 0;
    let offset = d.bytes(lba);
    // With O_DIRECT a partial block (fewer bytes sent than the transfer length) is a
    // read-modify-write, which must not interleave with other writes.
    let rmw = !d.access.is_aligned(offset, data.len());
    let io = IoOp::Write {
        offset,
        data,
        sync: fua || !d.wce,
        dpo: !is_6_byte(op) && b1 & 0x10 != 0,
        verify,
    };
    d.transfer(req, io, rmw, consumed(bytes))
}

/// VERIFY(10/12/16): BYTCHK 00b checks the range only, 01b compares the data-out with the
/// medium, 11b compares every block with one block of data-out. SBC-3 §5.31–5.33
pub(crate) fn verify(req: &mut Req<'_>) -> Step<Reply> {
    let b1 = req.cdb.byte(1);
    let (lba, tl) = req.cdb.lba_and_blocks();
    ensure(b1 & 0xe0 == 0, asc::INVALID_FIELD_IN_CDB)?;
    let bytchk = (b1 >> 1) & 0x03;
    ensure(bytchk != 0x02, asc::INVALID_FIELD_IN_CDB)?;
    let d = Disk::of(req);
    d.in_range(lba, u64::from(tl))?;
    let bytes = d.bytes(u64::from(tl));
    if bytchk == 0 || tl == 0 || d.null() {
        return done(Outcome::good());
    }
    let offset = d.bytes(lba);
    let mut data = std::mem::take(&mut req.cmd.data_out);
    if bytchk == 0x01 {
        data.truncate(usize::try_from(bytes).unwrap_or(usize::MAX));
        let io = IoOp::Compare {
            offset,
            expected: data,
            dpo: b1 & 0x10 != 0,
        };
        return d.submit(req, io, false, consumed(bytes));
    }
    let block = usize::try_from(d.bytes(1)).unwrap_or(usize::MAX);
    ensure(data.len() >= block, asc::PARAMETER_LIST_LENGTH_ERR)?;
    data.truncate(block);
    let io = IoOp::CompareEach {
        offset,
        block: data,
        blocks: u64::from(tl),
    };
    d.submit(req, io, false, consumed(d.bytes(1)))
}

/// COMPARE AND WRITE: atomically compares NUMBER OF LOGICAL BLOCKS blocks with the first
/// half of the data-out and, if equal, writes the second half; a difference is MISCOMPARE
/// with the offset of the first differing byte in INFORMATION. SBC-3 §5.2
// COMPAT: C tgt disables this command (05/20/00) although VPD B0 advertises it.
pub(crate) fn compare_and_write(req: &mut Req<'_>) -> Step<Reply> {
    let b1 = req.cdb.byte(1);
    let (lba, nlb) = req.cdb.lba_and_blocks();
    ensure(b1 & 0xe0 == 0, asc::INVALID_FIELD_IN_CDB)?;
    let d = Disk::of(req);
    d.writable()?;
    ensure(
        nlb <= u32::from(MAX_COMPARE_AND_WRITE_BLOCKS),
        asc::INVALID_FIELD_IN_CDB,
    )?;
    d.in_range(lba, u64::from(nlb))?;
    let half = d.bytes(u64::from(nlb));
    let both = half.saturating_mul(2);
    let got = u64::try_from(req.cmd.data_out.len()).unwrap_or(u64::MAX);
    ensure(
        got == both && u64::from(req.cmd.expected_out) == both,
        asc::INVALID_FIELD_IN_CDB,
    )?;
    if nlb == 0 || d.null() {
        return done(Outcome::good().with_out_len(both));
    }
    let mut compare = std::mem::take(&mut req.cmd.data_out);
    let write = compare.split_off(usize::try_from(half).unwrap_or(0));
    let io = IoOp::CompareAndWrite {
        offset: d.bytes(lba),
        compare,
        write,
        sync: b1 & 0x08 != 0 || !d.wce,
    };
    d.submit(req, io, true, consumed(both))
}

/// ORWRITE(16): ORs the data-out into the medium, atomically. SBC-3 §5.8
pub(crate) fn orwrite(req: &mut Req<'_>) -> Step<Reply> {
    let b1 = req.cdb.byte(1);
    let (lba, tl) = req.cdb.lba_and_blocks();
    ensure(b1 & 0xe0 == 0, asc::INVALID_FIELD_IN_CDB)?;
    let d = Disk::of(req);
    d.writable()?;
    d.in_range(lba, u64::from(tl))?;
    let bytes = d.bytes(u64::from(tl));
    let mut data = std::mem::take(&mut req.cmd.data_out);
    data.truncate(usize::try_from(bytes).unwrap_or(usize::MAX));
    if data.is_empty() || d.null() {
        return done(Outcome::good().with_out_len(bytes));
    }
    let io = IoOp::OrWrite {
        offset: d.bytes(lba),
        data,
        sync: b1 & 0x08 != 0 || !d.wce,
    };
    d.submit(req, io, true, consumed(bytes))
}

/// PRE-FETCH(10/16): read-ahead advice; 0 blocks means to the end. SBC-3 §5.9
pub(crate) fn pre_fetch(req: &mut Req<'_>) -> Step<Reply> {
    let (lba, tl) = req.cdb.lba_and_blocks();
    let d = Disk::of(req);
    d.in_range(lba, u64::from(tl))?;
    if d.null() {
        return done(Outcome::good());
    }
    let io = IoOp::Prefetch {
        offset: d.bytes(lba),
        len: d.bytes(u64::from(tl)),
    };
    d.submit(req, io, false, consumed(0))
}

/// SYNCHRONIZE CACHE(10/16): fdatasync of the whole file (IMMED accepted; the flush
/// completes before the response either way). SBC-3 §5.27
pub(crate) fn synchronize_cache(req: &mut Req<'_>) -> Step<Reply> {
    let (lba, tl) = req.cdb.lba_and_blocks();
    let d = Disk::of(req);
    d.in_range(lba, u64::from(tl))?;
    if d.null() {
        return done(Outcome::good());
    }
    d.submit(req, IoOp::Sync, false, consumed(0))
}

/// WRITE SAME(10/16): one block of data-out to every block of the range (0 blocks: to the
/// end of the LU); with UNMAP on a thin LU, deallocates instead.
/// SBC-3 §5.41–5.42
pub(crate) fn write_same(req: &mut Req<'_>) -> Step<Reply> {
    let op = req.cdb.opcode();
    let b1 = req.cdb.byte(1);
    let (lba, tl) = req.cdb.lba_and_blocks();
    let unmap = b1 & 0x08 != 0;
    let ndob = op == Opcode::WRITE_SAME_16 && b1 & 0x01 != 0;
    let d = Disk::of(req);
    // Write protection first: libiscsi ReadOnly.ReadOnlySBC expects it for WRITE SAME with
    // UNMAP on a LU that is not thin-provisioned too.
    d.writable()?;
    // ANCHOR is not supported (VPD B2 ANC_SUP 0); nor is protection information.
    ensure(b1 & 0x10 == 0, asc::INVALID_FIELD_IN_CDB)?;
    ensure(!unmap || d.thin, asc::INVALID_FIELD_IN_CDB)?;
    ensure(b1 & 0xe0 == 0, asc::INVALID_FIELD_IN_CDB)?;
    ensure(b1 & 0x06 != 0x06, asc::INVALID_FIELD_IN_CDB)?;
    let block = usize::try_from(d.bytes(1)).unwrap_or(usize::MAX);
    let expected = if ndob { 0 } else { block };
    ensure(
        req.cmd.data_out.len() == expected,
        asc::PARAMETER_LIST_LENGTH_ERR,
    )?;
    let blocks = if tl == 0 {
        ensure(lba < d.blocks, asc::LBA_OUT_OF_RANGE)?;
        d.blocks - lba
    } else {
        u64::from(tl)
    };
    d.in_range(lba, blocks)?;
    let out_len = u64::try_from(expected).unwrap_or(0);
    if d.null() {
        return done(Outcome::good().with_out_len(out_len));
    }
    let pattern = if ndob {
        vec![0; block]
    } else {
        std::mem::take(&mut req.cmd.data_out)
    };
    // LBDATA (bit 1) stamps the 32-bit LBA, PBDATA (bit 2) a 64-bit address.
    let stamp = match b1 & 0x06 {
        0x02 => Stamp::Lba32,
        0x04 => Stamp::Lba64,
        _ => Stamp::None,
    };
    // tgt (and libiscsi WriteSame10.UnmapUntilEnd, which sends a non-zero block) deallocate
    // whatever the data: unmapped blocks then read as zeros (LBPRZ).
    let io = if unmap {
        IoOp::Deallocate {
            ranges: vec![(d.bytes(lba), d.bytes(blocks))],
        }
    } else {
        IoOp::WriteSame {
            lba,
            shift: d.shift,
            blocks,
            block: pattern,
            stamp,
            sync: !d.wce,
        }
    };
    d.submit(req, io, false, consumed(out_len))
}

/// UNMAP: deallocates the blocks of every descriptor (thin-provisioned LUs only).
/// SBC-3 §5.28
// COMPAT: C tgt completes UNMAP with GOOD but attaches 05/25/00 sense and a residual.
pub(crate) fn unmap(req: &mut Req<'_>) -> Step<Reply> {
    ensure(req.cdb.byte(1) & 0x01 == 0, asc::INVALID_FIELD_IN_CDB)?;
    let d = Disk::of(req);
    if !d.thin {
        return illegal(asc::INVALID_OP_CODE);
    }
    d.writable()?;
    let plen = usize::from(req.cdb.be16(7));
    let p = &req.cmd.data_out[..plen.min(req.cmd.data_out.len())];
    if plen == 0 {
        return done(Outcome::good());
    }
    ensure(p.len() >= 8, asc::PARAMETER_LIST_LENGTH_ERR)?;
    let bd_len = usize::from(u16::from_be_bytes([p[2], p[3]]));
    let descs = &p[8..8 + bd_len.min(p.len() - 8) / 16 * 16];
    let count = descs.len() / 16;
    ensure(
        u32::try_from(count).is_ok_and(|c| c <= MAX_UNMAP_DESCRIPTORS),
        asc::INVALID_FIELD_IN_PARMS,
    )?;
    let mut ranges = Vec::with_capacity(count);
    let mut total = 0u64;
    for desc in descs.chunks_exact(16) {
        let mut l = [0u8; 8];
        l.copy_from_slice(&desc[..8]);
        let lba = u64::from_be_bytes(l);
        let n = u64::from(u32::from_be_bytes([desc[8], desc[9], desc[10], desc[11]]));
        let fits = lba.checked_add(n).is_some_and(|end| end <= d.blocks);
        ensure(fits, asc::LBA_OUT_OF_RANGE)?;
        total += n;
        if n > 0 {
            ranges.push((d.bytes(lba), d.bytes(n)));
        }
    }
    // MAXIMUM UNMAP LBA COUNT (VPD B0) is 0xffffffff.
    ensure(total <= u64::from(u32::MAX), asc::INVALID_FIELD_IN_PARMS)?;
    let out_len = u64::try_from(p.len()).unwrap_or(0);
    if ranges.is_empty() || d.null() {
        return done(Outcome::good().with_out_len(out_len));
    }
    d.submit(req, IoOp::Deallocate { ranges }, false, consumed(out_len))
}

/// READ CAPACITY(10): last LBA (0xFFFFFFFF when it does not fit) and block length; PMI 0
/// requires LBA 0. SBC-3 §5.15; tgt: `sbc_read_capacity()`
pub(crate) fn read_capacity_10(req: &mut Req<'_>) -> Step<Reply> {
    ensure(
        req.cdb.byte(8) & 0x01 != 0 || req.cdb.be32(2) == 0,
        asc::INVALID_FIELD_IN_CDB,
    )?;
    let d = Disk::of(req);
    let last = if d.blocks >> 32 != 0 {
        u32::MAX
    } else {
        u32::try_from(d.blocks).unwrap_or(u32::MAX).wrapping_sub(1)
    };
    let len = u32::try_from(d.bytes(1)).unwrap_or(u32::MAX);
    let mut data = last.to_be_bytes().to_vec();
    data.extend_from_slice(&len.to_be_bytes());
    done(Outcome::data(data))
}

/// READ CAPACITY(16): 32 bytes — last LBA, block length, LBPPBE, LBPME/LBPRZ when thin,
/// lowest aligned LBA. SBC-3 §5.16; tgt: `sbc_readcapacity16()`
pub(crate) fn read_capacity_16(req: &mut Req<'_>) -> Step<Reply> {
    let alloc = req.cdb.be32(10);
    let d = Disk::of(req);
    let mut data = vec![0u8; 32];
    data[..8].copy_from_slice(&d.blocks.wrapping_sub(1).to_be_bytes());
    let len = u32::try_from(d.bytes(1)).unwrap_or(u32::MAX);
    data[8..12].copy_from_slice(&len.to_be_bytes());
    data[13] = d.lbppbe;
    let lbp: u16 = if d.thin { 0xc000 } else { 0 };
    data[14..16].copy_from_slice(&(lbp | (d.la_lba & 0x3fff)).to_be_bytes());
    done(Outcome::data(cut(data, alloc)))
}

/// GET LBA STATUS: mapped/deallocated extents from the starting LBA, from the file's holes.
/// SBC-3 §5.7; tgt: `sbc_getlbastatus()`
pub(crate) fn get_lba_status(req: &mut Req<'_>) -> Step<Reply> {
    let lba = req.cdb.be64(2);
    let alloc = req.cdb.be32(10);
    let d = Disk::of(req);
    ensure(lba < d.blocks, asc::LBA_OUT_OF_RANGE)?;
    let fit = usize::try_from(alloc.saturating_sub(8) / 16).unwrap_or(usize::MAX);
    let max = fit.clamp(1, MAX_LBA_STATUS_DESCRIPTORS);
    if d.null() {
        let extents = vec![rdwr_io::Extent {
            lba,
            blocks: d.blocks - lba,
            mapped: true,
        }];
        return done(Outcome::data(cut(lba_status_data(&extents, max), alloc)));
    }
    let io = IoOp::LbaStatus {
        lba,
        end: d.blocks,
        shift: d.shift,
        max,
    };
    d.submit(req, io, false, move |r| match r {
        IoDone::Extents(e) => Outcome::data(cut(lba_status_data(&e, max), alloc)),
        _ => Outcome::good(),
    })
}

/// GET LBA STATUS parameter data; extents longer than a descriptor can say are split.
/// SBC-3 §5.7.2: PARAMETER DATA LENGTH, reserved, then 16-byte descriptors.
fn lba_status_data(extents: &[rdwr_io::Extent], max: usize) -> Vec<u8> {
    let mut descs: Vec<u8> = Vec::new();
    let mut n = 0;
    'all: for e in extents {
        let mut lba = e.lba;
        let mut left = e.blocks;
        while left > 0 {
            if n == max {
                break 'all;
            }
            let take = left.min(u64::from(u32::MAX));
            descs.extend_from_slice(&lba.to_be_bytes());
            descs.extend_from_slice(&u32::try_from(take).unwrap_or(u32::MAX).to_be_bytes());
            descs.extend_from_slice(&[if e.mapped { 0 } else { 1 }, 0, 0, 0]);
            lba += take;
            left -= take;
            n += 1;
        }
    }
    let pdl = u32::try_from(descs.len() + 4).unwrap_or(u32::MAX);
    let mut d = pdl.to_be_bytes().to_vec();
    d.extend_from_slice(&[0; 4]);
    d.extend_from_slice(&descs);
    d
}

/// FORMAT UNIT: nothing to format; protection information, FMTDATA and defect list
/// formats are refused. SBC-3 §5.3; tgt: `sbc_format_unit()`
pub(crate) fn format_unit(req: &mut Req<'_>) -> Step<Reply> {
    let d = Disk::of(req);
    d.writable()?;
    let b1 = req.cdb.byte(1);
    ensure(b1 & 0x80 == 0, asc::INVALID_FIELD_IN_CDB)?;
    ensure(b1 & 0x10 == 0, asc::INVALID_FIELD_IN_CDB)?;
    ensure(b1 & 0x07 == 0, asc::INVALID_FIELD_IN_CDB)?;
    done(Outcome::good())
}

#[cfg(test)]
mod tests {
    use crate::scsi::exec::testutil::*;

    const MB: u64 = 1 << 20;
    /// 2048 blocks of 512 bytes.
    const BLOCKS: u64 = MB / 512;

    fn read10(lba: u32, n: u16) -> Vec<u8> {
        let l = lba.to_be_bytes();
        let c = n.to_be_bytes();
        vec![0x28, 0, l[0], l[1], l[2], l[3], 0, c[0], c[1], 0]
    }

    fn write10(lba: u32, n: u16) -> Vec<u8> {
        let mut c = read10(lba, n);
        c[0] = 0x2a;
        c
    }

    fn cdb16(op: u8, b1: u8, lba: u64, n: u32) -> Vec<u8> {
        let mut c = vec![op, b1];
        c.extend_from_slice(&lba.to_be_bytes());
        c.extend_from_slice(&n.to_be_bytes());
        c.extend_from_slice(&[0, 0]);
        c
    }

    fn patterned(from: u64, len: u64) -> Vec<u8> {
        (from..from + len).map(pattern).collect()
    }

    #[test]
    fn read_returns_the_addressed_sectors() {
        let mut h = Harness::disk(MB);
        let r = h.run(&read10(3, 2), &[], 1024);
        assert_good(&r);
        assert_eq!(r.data_in, patterned(3 * 512, 1024));
        assert_eq!(r.in_residual, 0);
        let r = h.run(&[0x08, 0x00, 0x00, 0x07, 0x01, 0x00], &[], 512);
        assert_eq!(r.data_in, patterned(7 * 512, 512));
        let r = h.run(&[0xa8, 0, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0], &[], 512);
        assert_eq!(r.data_in, patterned(9 * 512, 512));
        let r = h.run(&cdb16(0x88, 0x10, BLOCKS - 1, 1), &[], 512);
        assert_good(&r);
        assert_eq!(r.data_in, patterned((BLOCKS - 1) * 512, 512));
    }

    #[test]
    fn read_residuals_follow_the_expected_length() {
        let mut h = Harness::disk(MB);
        // libiscsi test_read10_invalid: EDTL 0, 10000, 200 for one block.
        let r = h.run(&read10(0, 1), &[], 0);
        assert_good(&r);
        assert_eq!((r.data_in.len(), r.in_residual), (0, -512));
        let r = h.run(&read10(0, 1), &[], 10000);
        assert_eq!((r.data_in.len(), r.in_residual), (512, 10000 - 512));
        let r = h.run(&read10(0, 1), &[], 200);
        assert_eq!(r.data_in, patterned(0, 200));
        assert_eq!(r.in_residual, -312);
        let r = h.run(&read10(0, 2), &[], 512);
        assert_eq!((r.data_in.len(), r.in_residual), (512, -512));
    }

    #[test]
    fn read_larger_than_64_mib_is_refused_before_allocating() {
        let mut h = Harness::null_disk();
        let r = h.run(&read10(0, 0xffff), &[], 0xffff * 512);
        assert_good(&r);
        let c = cdb16(0x88, 0, 0, 0x2_0001);
        assert_check(&h.run(&c, &[], u32::MAX), 0x05, 0x24, 0x00);
    }

    #[test]
    fn read_errors() {
        let mut h = Harness::disk(MB);
        assert_check(&h.run(&read10(2048, 1), &[], 512), 0x05, 0x21, 0x00);
        assert_check(&h.run(&read10(2047, 2), &[], 1024), 0x05, 0x21, 0x00);
        assert_check(&h.run(&read10(2048, 0), &[], 0), 0x05, 0x21, 0x00);
        assert_good(&h.run(&read10(2047, 0), &[], 0));
        assert_check(
            &h.run(&cdb16(0x88, 0, u64::MAX, 2), &[], 1024),
            0x05,
            0x21,
            0x00,
        );
        let mut c = read10(0, 1);
        c[1] = 0x20; // RDPROTECT
        assert_check(&h.run(&c, &[], 512), 0x05, 0x24, 0x00);
    }

    #[test]
    fn write_then_read_back_and_neighbours_untouched() {
        let mut h = Harness::disk(MB);
        assert_good(&h.run(&write10(5, 2), &[0xab; 1024], 0));
        let f = h.file.as_ref().unwrap().contents();
        assert_eq!(&f[5 * 512..7 * 512], &[0xab; 1024][..]);
        assert_eq!(&f[4 * 512..5 * 512], &patterned(4 * 512, 512)[..]);
        assert_eq!(&f[7 * 512..8 * 512], &patterned(7 * 512, 512)[..]);
        // FUA + DPO, WRITE(6), WRITE(12), WRITE(16).
        let mut c = write10(1, 1);
        c[1] = 0x18;
        assert_good(&h.run(&c, &[1; 512], 0));
        assert_good(&h.run(&[0x0a, 0, 0, 2, 1, 0], &[2; 512], 0));
        assert_good(&h.run(&[0xaa, 0x08, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0], &[3; 512], 0));
        assert_good(&h.run(&cdb16(0x8a, 0x08, 4, 1), &[4; 512], 0));
        let f = h.file.as_ref().unwrap().contents();
        for b in 1..=4u8 {
            assert_eq!(f[usize::from(b) * 512], b);
        }
    }

    #[test]
    fn write_residuals_like_libiscsi_expects() {
        let mut h = Harness::disk(MB);
        // EDTL 0 for one block: GOOD, overflow 512, nothing written.
        let r = h.run(&write10(0, 1), &[], 0);
        assert_good(&r);
        assert_eq!(r.out_residual, -512);
        // Two blocks but only one sent: the first is written, the second untouched.
        let r = h.run(&write10(0, 2), &[b'b'; 512], 0);
        assert_good(&r);
        assert_eq!(r.out_residual, -512);
        let f = h.file.as_ref().unwrap().contents();
        assert_eq!(&f[..512], &[b'b'; 512][..]);
        assert_eq!(&f[512..1024], &patterned(512, 512)[..]);
        // More sent than the CDB says: only one block written, underflow.
        let r = h.run(&write10(0, 1), &[b'c'; 1024], 0);
        assert_eq!(r.out_residual, 512);
        let f = h.file.as_ref().unwrap().contents();
        assert_eq!(&f[512..1024], &patterned(512, 512)[..]);
    }

    #[test]
    fn write_protection_and_range() {
        let mut h = Harness::disk_with(MB, |lu| lu.attrs.readonly = 1);
        assert_check(&h.run(&write10(0, 1), &[0; 512], 0), 0x07, 0x27, 0x00);
        assert_check(
            &h.run(&cdb16(0x93, 0, 0, 1), &[0; 512], 0),
            0x07,
            0x27,
            0x00,
        );
        assert_check(
            &h.run(&cdb16(0x8b, 0, 0, 1), &[0; 512], 0),
            0x07,
            0x27,
            0x00,
        );
        assert_check(&h.run(&[0x04, 0, 0, 0, 0, 0], &[], 0), 0x07, 0x27, 0x00);
        let ws_unmap = [0x41, 0x08, 0, 0, 0, 0, 0, 0, 1, 0];
        assert_check(&h.run(&ws_unmap, &[0; 512], 0), 0x07, 0x27, 0x00);
        // Reads and PRE-FETCH still work.
        assert_good(&h.run(&read10(0, 1), &[], 512));
        assert_good(&h.run(&[0x34, 0, 0, 0, 0, 0, 0, 0, 1, 0], &[], 0));
        let mut h = Harness::disk_with(MB, |lu| lu.attrs.swp = 1);
        assert_check(&h.run(&write10(0, 1), &[0; 512], 0), 0x07, 0x27, 0x00);
        let mut h = Harness::disk(MB);
        assert_check(&h.run(&write10(2047, 2), &[0; 1024], 0), 0x05, 0x21, 0x00);
        let mut c = write10(0, 1);
        c[1] = 0x40; // WRPROTECT
        assert_check(&h.run(&c, &[0; 512], 0), 0x05, 0x24, 0x00);
    }

    #[test]
    fn write_and_verify_and_verify() {
        let mut h = Harness::disk(MB);
        assert_good(&h.run(&[0x2e, 0x02, 0, 0, 0, 1, 0, 0, 1, 0], &[9; 512], 0));
        // VERIFY BYTCHK=1 equal, then different.
        assert_good(&h.run(&[0x2f, 0x02, 0, 0, 0, 1, 0, 0, 1, 0], &[9; 512], 0));
        let mut other = vec![9u8; 512];
        other[77] = 8;
        let r = h.run(&[0x2f, 0x02, 0, 0, 0, 1, 0, 0, 1, 0], &other, 0);
        assert_eq!(r.status.0, 2);
        assert_eq!(
            r.sense,
            [0xf0, 0, 0x0e, 0, 0, 0, 77, 0x0a, 0, 0, 0, 0, 0x1d, 0, 0, 0, 0, 0]
        );
        // BYTCHK=0: no compare, but the range is checked.
        assert_good(&h.run(&[0x2f, 0, 0, 0, 0, 1, 0, 0, 1, 0], &other, 0));
        assert_check(
            &h.run(&[0x2f, 0, 0, 0, 0x08, 0, 0, 0, 1, 0], &[], 0),
            0x05,
            0x21,
            0x00,
        );
        // VRPROTECT.
        assert_check(
            &h.run(&[0x2f, 0x22, 0, 0, 0, 1, 0, 0, 1, 0], &[9; 512], 0),
            0x05,
            0x24,
            0x00,
        );
        // BYTCHK=11b: one block against each block.
        assert_good(&h.run(&write10(10, 3), &[6; 1536], 0));
        assert_good(&h.run(&cdb16(0x8f, 0x06, 10, 3), &[6; 512], 0));
        let r = h.run(&cdb16(0x8f, 0x06, 10, 4), &[6; 512], 0);
        assert_eq!(r.sense[2], 0x0e);
        assert_eq!(&r.sense[3..7], &1536u32.to_be_bytes());
    }

    #[test]
    fn twelve_and_sixteen_byte_verify_family() {
        let mut h = Harness::disk(MB);
        // WRITE AND VERIFY(12) and (16), VERIFY(12).
        let wv12 = [0xae, 0x02, 0, 0, 0, 20, 0, 0, 0, 2, 0, 0];
        assert_good(&h.run(&wv12, &[0x31; 1024], 0));
        assert_good(&h.run(&cdb16(0x8e, 0x02, 22, 1), &[0x32; 512], 0));
        let v12 = [0xaf, 0x02, 0, 0, 0, 20, 0, 0, 0, 3, 0, 0];
        let mut want = vec![0x31; 1024];
        want.extend_from_slice(&[0x32; 512]);
        assert_good(&h.run(&v12, &want, 0));
        want[1100] = 0;
        let r = h.run(&v12, &want, 0);
        assert_eq!(&r.sense[..3], &[0xf0, 0, 0x0e]);
        assert_eq!(&r.sense[12..14], &[0x1d, 0x00]);
        // Errors: beyond the end, protection fields, write protection.
        let end = [0xae, 0, 0, 0, 0x08, 0, 0, 0, 0, 1, 0, 0];
        assert_check(&h.run(&end, &[0; 512], 0), 0x05, 0x21, 0x00);
        let prot = [0xaf, 0x20, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0];
        assert_check(&h.run(&prot, &[0; 512], 0), 0x05, 0x24, 0x00);
        assert_check(
            &h.run(&cdb16(0x8e, 0x20, 0, 1), &[0; 512], 0),
            0x05,
            0x24,
            0x00,
        );
        let mut h = Harness::disk_with(MB, |lu| lu.attrs.readonly = 1);
        assert_check(&h.run(&wv12, &[0; 1024], 0), 0x07, 0x27, 0x00);
        assert_check(
            &h.run(&cdb16(0x8e, 0, 0, 1), &[0; 512], 0),
            0x07,
            0x27,
            0x00,
        );
        // VERIFY on a read-only LU is fine.
        assert_good(&h.run(
            &[0xaf, 0x02, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0],
            &patterned(0, 512),
            0,
        ));
    }

    #[test]
    fn compare_and_write_swaps_atomically() {
        let mut h = Harness::disk(MB);
        let mut d = patterned(2 * 512, 1024);
        d.extend_from_slice(&[b'B'; 1024]);
        let c = cdb16(0x89, 0, 2, 0);
        let mut c = c;
        c[13] = 2;
        c[10..13].copy_from_slice(&[0, 0, 0]);
        assert_good(&h.run(&c, &d, 0));
        let f = h.file.as_ref().unwrap().contents();
        assert_eq!(&f[1024..2048], &[b'B'; 1024][..]);
        // Miscompare: nothing written, INFORMATION = offset of the first difference.
        let mut d = vec![b'B'; 1024];
        d[700] = b'C';
        d.extend_from_slice(&[b'X'; 1024]);
        let r = h.run(&c, &d, 0);
        assert_eq!(r.status.0, 2);
        assert_eq!(
            r.sense,
            [0xf0, 0, 0x0e, 0, 0, 0x02, 0xbc, 0x0a, 0, 0, 0, 0, 0x1d, 0, 0, 0, 0, 0]
        );
        let f = h.file.as_ref().unwrap().contents();
        assert_eq!(&f[1024..2048], &[b'B'; 1024][..]);
    }

    /// Eight initiators increment a counter in block 0 with COMPARE AND WRITE: no update
    /// is lost, so the swap is atomic against the others' writes.
    #[test]
    fn compare_and_write_is_atomic_under_concurrency() {
        use crate::scsi::cmd::{Command, CompleterRef, NexusId, TaskAttr};
        use crate::scsi::exec::{encode_lun, execute, ExecContext};
        use std::sync::{mpsc, Arc, Mutex};

        const THREADS: u64 = 8;
        const PER_THREAD: u64 = 150;
        let h = Harness::disk(MB);
        let mut f = h.file.as_ref().unwrap().contents();
        f[..512].fill(0);
        std::fs::write(&h.file.as_ref().unwrap().0, f).unwrap();
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let (luns, pool) = (&h.luns, &h.pool);
                s.spawn(move || {
                    let (tx, rx) = mpsc::channel();
                    let completer: CompleterRef = Arc::new(ChannelCompleter(Mutex::new(tx)));
                    let ctx = ExecContext {
                        luns,
                        pool,
                        completer: &completer,
                    };
                    let mut tag = t << 32;
                    let mut run = |cdb: Vec<u8>, out: Vec<u8>, exp_in: u32| {
                        tag += 1;
                        let cmd = Command {
                            cdb,
                            lun: encode_lun(1),
                            attr: TaskAttr::Simple,
                            nexus: NexusId(1),
                            tag,
                            expected_in: exp_in,
                            expected_out: u32::try_from(out.len()).unwrap(),
                            data_out: out,
                        };
                        execute(&ctx, cmd).unwrap_or_else(|| rx.recv().unwrap().1)
                    };
                    let caw = vec![0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0];
                    let mut cur = run(read10(0, 1), Vec::new(), 512).data_in;
                    let mut done = 0;
                    while done < PER_THREAD {
                        let n = u64::from_be_bytes(cur[..8].try_into().unwrap());
                        let mut next = cur.clone();
                        next[..8].copy_from_slice(&(n + 1).to_be_bytes());
                        let mut out = cur.clone();
                        out.extend_from_slice(&next);
                        let r = run(caw.clone(), out, 0);
                        if r.status.0 == 0 {
                            done += 1;
                            cur = next;
                        } else {
                            assert_eq!(r.sense[2], 0x0e, "only miscompares may fail");
                            cur = run(read10(0, 1), Vec::new(), 512).data_in;
                        }
                    }
                });
            }
        });
        let f = h.file.as_ref().unwrap().contents();
        let n = u64::from_be_bytes(f[..8].try_into().unwrap());
        assert_eq!(n, THREADS * PER_THREAD);
    }

    #[test]
    fn compare_and_write_errors() {
        let mut h = Harness::disk(MB);
        let mut c = vec![0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0];
        // Data-out of 4 blocks for 1 block.
        assert_check(&h.run(&c, &[0; 2048], 0), 0x05, 0x24, 0x00);
        // More than 128 blocks.
        c[13] = 129;
        assert_check(&h.run(&c, &vec![0; 129 * 1024], 0), 0x05, 0x24, 0x00);
        // Beyond the end.
        c[13] = 2;
        c[2..10].copy_from_slice(&(BLOCKS - 1).to_be_bytes());
        assert_check(&h.run(&c, &[0; 2048], 0), 0x05, 0x21, 0x00);
        // DPO/FUA accepted; WRPROTECT not.
        c[2..10].copy_from_slice(&0u64.to_be_bytes());
        c[13] = 1;
        c[1] = 0x18;
        let mut d = patterned(0, 512);
        d.extend_from_slice(&patterned(0, 512));
        assert_good(&h.run(&c, &d, 0));
        c[1] = 0x20;
        assert_check(&h.run(&c, &d, 0), 0x05, 0x24, 0x00);
    }

    #[test]
    fn orwrite_ors_into_the_medium() {
        let mut h = Harness::disk(MB);
        assert_good(&h.run(&write10(0, 1), &[0x0f; 512], 0));
        assert_good(&h.run(&cdb16(0x8b, 0, 0, 1), &[0xa0; 512], 0));
        assert_eq!(h.file.as_ref().unwrap().contents()[..512], [0xaf; 512]);
        assert_check(
            &h.run(&cdb16(0x8b, 0, BLOCKS, 1), &[0; 512], 0),
            0x05,
            0x21,
            0x00,
        );
    }

    #[test]
    fn sync_cache_and_prefetch() {
        let mut h = Harness::disk(MB);
        assert_good(&h.run(&[0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[], 0));
        // IMMED accepted.
        assert_good(&h.run(&[0x35, 0x02, 0, 0, 0, 0, 0, 0, 0, 0], &[], 0));
        assert_good(&h.run(&cdb16(0x91, 0, 5, 5), &[], 0));
        assert_check(&h.run(&cdb16(0x91, 0, BLOCKS, 1), &[], 0), 0x05, 0x21, 0x00);
        assert_good(&h.run(&[0x34, 0x02, 0, 0, 0, 0, 0, 0, 0, 0], &[], 0));
        assert_good(&h.run(&cdb16(0x90, 0, BLOCKS - 1, 1), &[], 0));
        assert_check(&h.run(&cdb16(0x90, 0, BLOCKS, 1), &[], 0), 0x05, 0x21, 0x00);
    }

    #[test]
    fn write_same_pattern_lbdata_and_to_end() {
        let mut h = Harness::disk(MB);
        assert_good(&h.run(&[0x41, 0, 0, 0, 0, 4, 0, 0, 3, 0], &[0x5a; 512], 0));
        let f = h.file.as_ref().unwrap().contents();
        assert_eq!(&f[4 * 512..7 * 512], &[0x5a; 1536][..]);
        assert_eq!(&f[7 * 512..8 * 512], &patterned(7 * 512, 512)[..]);
        // LBDATA: the LBA in the first four bytes of each block.
        assert_good(&h.run(&[0x41, 0x02, 0, 0, 0, 8, 0, 0, 2, 0], &[0x11; 512], 0));
        let f = h.file.as_ref().unwrap().contents();
        assert_eq!(&f[8 * 512..8 * 512 + 5], &[0, 0, 0, 8, 0x11]);
        assert_eq!(&f[9 * 512..9 * 512 + 5], &[0, 0, 0, 9, 0x11]);
        // 0 blocks: to the end of the LU.
        assert_good(&h.run(&cdb16(0x93, 0, BLOCKS - 2, 0), &[0x77; 512], 0));
        let f = h.file.as_ref().unwrap().contents();
        assert_eq!(&f[f.len() - 1024..], &[0x77; 1024][..]);
        assert_eq!(
            &f[f.len() - 1536..f.len() - 1024],
            &patterned(MB - 1536, 512)[..]
        );
    }

    #[test]
    fn write_same_errors() {
        let mut h = Harness::disk(MB);
        let ws = [0x41, 0, 0, 0, 0, 0, 0, 0, 1, 0];
        assert_check(&h.run(&ws, &[0; 256], 0), 0x05, 0x1a, 0x00);
        assert_check(&h.run(&ws, &[0; 1024], 0), 0x05, 0x1a, 0x00);
        let mut c = ws;
        c[1] = 0x08; // UNMAP without thin provisioning
        assert_check(&h.run(&c, &[0; 512], 0), 0x05, 0x24, 0x00);
        c[1] = 0x10; // ANCHOR
        assert_check(&h.run(&c, &[0; 512], 0), 0x05, 0x24, 0x00);
        c[1] = 0x06; // LBDATA + PBDATA
        assert_check(&h.run(&c, &[0; 512], 0), 0x05, 0x24, 0x00);
        assert_check(
            &h.run(&cdb16(0x93, 0, BLOCKS, 0), &[0; 512], 0),
            0x05,
            0x21,
            0x00,
        );
        assert_check(
            &h.run(&cdb16(0x93, 0, BLOCKS + 1, 0), &[0; 512], 0),
            0x05,
            0x21,
            0x00,
        );
        assert_check(
            &h.run(&cdb16(0x93, 0, BLOCKS - 1, 2), &[0; 512], 0),
            0x05,
            0x21,
            0x00,
        );
        // NDOB: no data-out, zeros written.
        assert_good(&h.run(&cdb16(0x93, 0x01, 3, 1), &[], 0));
        assert_eq!(
            h.file.as_ref().unwrap().contents()[3 * 512..4 * 512],
            [0; 512]
        );
        assert_check(
            &h.run(&cdb16(0x93, 0x01, 3, 1), &[0; 512], 0),
            0x05,
            0x1a,
            0x00,
        );
    }

    fn thin() -> Harness {
        Harness::disk_with(MB, |lu| lu.attrs.thin_provisioning = 1)
    }

    fn unmap_list(descs: &[(u64, u32)]) -> Vec<u8> {
        let bd = u16::try_from(descs.len() * 16).unwrap();
        let mut p = (bd + 6).to_be_bytes().to_vec();
        p.extend_from_slice(&bd.to_be_bytes());
        p.extend_from_slice(&[0; 4]);
        for &(lba, n) in descs {
            p.extend_from_slice(&lba.to_be_bytes());
            p.extend_from_slice(&n.to_be_bytes());
            p.extend_from_slice(&[0; 4]);
        }
        p
    }

    fn unmap_cdb(len: usize) -> Vec<u8> {
        let l = u16::try_from(len).unwrap().to_be_bytes();
        vec![0x42, 0, 0, 0, 0, 0, 0, l[0], l[1], 0]
    }

    fn get_lba_status(h: &mut Harness, lba: u64) -> Vec<u8> {
        let mut c = vec![0x9e, 0x12];
        c.extend_from_slice(&lba.to_be_bytes());
        c.extend_from_slice(&[0, 0, 0, 64, 0, 0]);
        let r = h.run(&c, &[], 64);
        assert_good(&r);
        r.data_in
    }

    #[test]
    fn unmap_punches_holes_reads_zero_and_sends_no_sense() {
        let mut h = thin();
        let p = unmap_list(&[(8, 8), (32, 16)]);
        let r = h.run(&unmap_cdb(p.len()), &p, 0);
        assert_good(&r);
        assert_eq!(r.out_residual, 0);
        let f = h.file.as_ref().unwrap().contents();
        assert_eq!(&f[8 * 512..16 * 512], &[0; 4096][..]);
        assert_eq!(&f[16 * 512..17 * 512], &patterned(16 * 512, 512)[..]);
        assert_eq!(&f[32 * 512..48 * 512], &vec![0; 8192][..]);
        // GET LBA STATUS at 8: deallocated 8..16, then mapped 16..32.
        let d = get_lba_status(&mut h, 8);
        assert_eq!(&d[..8], &[0, 0, 0, 0x34, 0, 0, 0, 0]);
        assert_eq!(&d[8..24], &[0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 8, 1, 0, 0, 0]);
        assert_eq!(
            &d[24..40],
            &[0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 16, 0, 0, 0, 0]
        );
        assert_eq!(
            &d[40..56],
            &[0, 0, 0, 0, 0, 0, 0, 32, 0, 0, 0, 16, 1, 0, 0, 0]
        );
    }

    #[test]
    fn unmap_errors() {
        let mut h = thin();
        let p = unmap_list(&[(BLOCKS - 1, 2)]);
        assert_check(&h.run(&unmap_cdb(p.len()), &p, 0), 0x05, 0x21, 0x00);
        let p = unmap_list(&[(u64::MAX, 2)]);
        assert_check(&h.run(&unmap_cdb(p.len()), &p, 0), 0x05, 0x21, 0x00);
        // 0 blocks at the end, and no descriptors: GOOD (libiscsi Unmap.ZeroBlocks).
        let p = unmap_list(&[(BLOCKS, 0)]);
        assert_good(&h.run(&unmap_cdb(p.len()), &p, 0));
        let p = unmap_list(&[]);
        assert_good(&h.run(&unmap_cdb(p.len()), &p, 0));
        assert_good(&h.run(&unmap_cdb(0), &[], 0));
        assert_check(&h.run(&unmap_cdb(4), &[0; 4], 0), 0x05, 0x1a, 0x00);
        let mut c = unmap_cdb(p.len());
        c[1] = 0x01; // ANCHOR
        assert_check(&h.run(&c, &p, 0), 0x05, 0x24, 0x00);
        let mut h = Harness::disk(MB);
        assert_check(&h.run(&unmap_cdb(p.len()), &p, 0), 0x05, 0x20, 0x00);
        let mut h = Harness::disk_with(MB, |lu| {
            lu.attrs.thin_provisioning = 1;
            lu.attrs.readonly = 1;
        });
        assert_check(&h.run(&unmap_cdb(p.len()), &p, 0), 0x07, 0x27, 0x00);
    }

    #[test]
    fn write_same_unmap_deallocates() {
        let mut h = thin();
        assert_good(&h.run(&cdb16(0x93, 0x08, 64, 8), &[0; 512], 0));
        let d = get_lba_status(&mut h, 64);
        assert_eq!(
            &d[8..24],
            &[0, 0, 0, 0, 0, 0, 0, 64, 0, 0, 0, 8, 1, 0, 0, 0]
        );
        // Whatever the block holds (libiscsi WriteSame10.UnmapUntilEnd): reads back zeros.
        let last = [0x41, 0x08, 0, 0, 0x07, 0xf8, 0, 0, 0, 0];
        assert_good(&h.run(&last, &[0xff; 512], 0));
        let f = h.file.as_ref().unwrap().contents();
        assert_eq!(&f[f.len() - 4096..], &[0; 4096][..]);
    }

    #[test]
    fn get_lba_status_range_and_mapped_file() {
        let mut h = Harness::disk(MB);
        let d = get_lba_status(&mut h, 5);
        assert_eq!(
            d,
            [0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0x07, 0xfb, 0, 0, 0, 0]
        );
        let mut c = vec![0x9e, 0x12];
        c.extend_from_slice(&BLOCKS.to_be_bytes());
        c.extend_from_slice(&[0, 0, 0, 24, 0, 0]);
        assert_check(&h.run(&c, &[], 24), 0x05, 0x21, 0x00);
        c[2..10].copy_from_slice(&u64::MAX.to_be_bytes());
        assert_check(&h.run(&c, &[], 24), 0x05, 0x21, 0x00);
    }

    #[test]
    fn read_capacity_10_and_16() {
        let mut h = Harness::disk(MB);
        let r = h.run(&[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[], 8);
        assert_eq!(r.data_in, [0, 0, 0x07, 0xff, 0, 0, 0x02, 0]);
        assert_check(
            &h.run(&[0x25, 0, 0, 0, 0, 1, 0, 0, 0, 0], &[], 8),
            0x05,
            0x24,
            0x00,
        );
        assert_good(&h.run(&[0x25, 0, 0, 0, 0, 1, 0, 0, 1, 0], &[], 8));
        let r = h.run(
            &[0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0],
            &[],
            32,
        );
        let mut want = vec![0, 0, 0, 0, 0, 0, 0x07, 0xff, 0, 0, 0x02, 0, 0, 3, 0, 0];
        want.resize(32, 0);
        assert_eq!(r.data_in, want, "lbppbe 3 from the 4096-byte st_blksize");
        // Allocation lengths 0..15 are not errors (libiscsi ReadCapacity16.Alloclen).
        for a in 0..16u8 {
            let r = h.run(
                &[0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, a, 0, 0],
                &[],
                u32::from(a),
            );
            assert_good(&r);
            assert_eq!(r.data_in.len(), usize::from(a));
        }
        let mut h = thin();
        let r = h.run(
            &[0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0],
            &[],
            32,
        );
        assert_eq!(&r.data_in[12..16], &[0, 3, 0xc0, 0]);
    }

    #[test]
    fn null_store_reads_zeros_and_accepts_everything() {
        let mut h = Harness::null_disk();
        let r = h.run(&read10(100, 2), &[], 1024);
        assert_good(&r);
        assert_eq!(r.data_in, vec![0; 1024]);
        assert_good(&h.run(&write10(100, 2), &[1; 1024], 0));
        assert_good(&h.run(&[0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[], 0));
        let r = h.run(
            &[0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0],
            &[],
            32,
        );
        // 1 TiB of 512-byte blocks.
        assert_eq!(
            &r.data_in[..12],
            &[0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0, 2, 0]
        );
        let mut caw = vec![0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0];
        assert_good(&h.run(&caw, &[5; 1024], 0));
        caw[1] = 0xe0;
        assert_check(&h.run(&caw, &[5; 1024], 0), 0x05, 0x24, 0x00);
    }

    #[test]
    fn format_unit_fields() {
        let mut h = Harness::disk(MB);
        assert_good(&h.run(&[0x04, 0, 0, 0, 0, 0], &[], 0));
        for b1 in [0x80, 0x10, 0x01] {
            assert_check(&h.run(&[0x04, b1, 0, 0, 0, 0], &[], 0), 0x05, 0x24, 0x00);
        }
    }

    #[test]
    fn offline_removable_lu_has_no_medium() {
        let mut h = Harness::disk_with(MB, |lu| {
            lu.attrs.removable = 1;
            lu.attrs.online = 0;
        });
        assert_check(&h.run(&read10(0, 1), &[], 512), 0x02, 0x3a, 0x00);
        assert_check(
            &h.run(&[0x35, 0x02, 0, 0, 0, 0, 0, 0, 1, 0], &[], 0),
            0x02,
            0x3a,
            0x00,
        );
        assert_check(
            &h.run(&[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[], 8),
            0x02,
            0x3a,
            0x00,
        );
        assert_check(&h.run(&[0, 0, 0, 0, 0, 0], &[], 0), 0x02, 0x3a, 0x00);
        // INQUIRY and MODE SENSE still answer.
        assert_good(&h.run(&[0x12, 0, 0, 0, 36, 0], &[], 36));
        assert_good(&h.run(&[0x1a, 0, 0x3f, 0, 255, 0], &[], 255));
    }

    #[test]
    fn io_failure_is_medium_error_not_panic() {
        let mut h = Harness::disk(MB);
        // The file shrinks under the LU: reads past its end fail.
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&h.file.as_ref().unwrap().0)
            .unwrap();
        f.set_len(4096).unwrap();
        assert_check(&h.run(&read10(100, 1), &[], 512), 0x03, 0x11, 0x00);
        assert_good(&h.run(&read10(1, 1), &[], 512));
    }

    #[test]
    fn write_cache_disabled_flushes_every_write() {
        // WCE=0: still writes correctly (the flush itself is not observable here).
        let mut h = Harness::disk_with(MB, |lu| {
            lu.add_mode_page(
                "8:0:18:0x10:0:0xff:0xff:0:0:0xff:0xff:0xff:0xff:0x80:0x14:0:0:0:0:0:0",
            )
            .unwrap();
        });
        assert_good(&h.run(&write10(0, 1), &[4; 512], 0));
        assert_eq!(h.file.as_ref().unwrap().contents()[0], 4);
    }

    /// An aio LU answers every command as an rdwr LU does, with READ and WRITE through
    /// a real native AIO queue (reaped on a thread of its own, like an I/O loop), on a
    /// file system that demands O_DIRECT alignment (ext4 in /var/tmp) and on tmpfs.
    mod aio_equals_rdwr {
        use super::*;
        use crate::bs::aio::{AioJob, AioQueue};
        use crate::bs::rdwr_io::{IoDone, IoError};
        use crate::bs::{self, OpenFlags};
        use crate::scsi::cmd::{Completer, CompleterRef, Response};
        use crate::scsi::lu::LogicalUnit;
        use crate::scsi::DeviceType;
        use std::path::PathBuf;
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        use std::sync::mpsc::{self, Sender};
        use std::sync::{Arc, Mutex};
        use std::time::Duration;

        struct Done(Box<dyn FnOnce(Result<IoDone, IoError>) + Send>);
        impl std::fmt::Debug for Done {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("Done")
            }
        }

        /// A completer with an AIO queue served by a reaper thread.
        #[derive(Debug)]
        struct AioLoop {
            tx: Mutex<Sender<(u64, Response)>>,
            jobs: Arc<Mutex<Vec<AioJob>>>,
            stop: Arc<AtomicBool>,
        }

        impl Completer for AioLoop {
            fn complete(&self, tag: u64, response: Response) {
                let _ = self.tx.lock().unwrap().send((tag, response));
            }
            fn submit_aio(&self, job: AioJob) -> Result<(), AioJob> {
                self.jobs.lock().unwrap().push(job);
                Ok(())
            }
        }

        impl Drop for AioLoop {
            fn drop(&mut self) {
                self.stop.store(true, Ordering::SeqCst);
            }
        }

        fn reaper(
            jobs: Arc<Mutex<Vec<AioJob>>>,
            submitted: Arc<AtomicUsize>,
            stop: Arc<AtomicBool>,
        ) {
            let mut q: AioQueue<Done> = AioQueue::new().unwrap();
            let mut out = Vec::new();
            while !stop.load(Ordering::SeqCst) || !q.is_idle() {
                for j in std::mem::take(&mut *jobs.lock().unwrap()) {
                    submitted.fetch_add(1, Ordering::SeqCst);
                    q.push(Done(j.done), j.file, j.access, j.io).unwrap();
                }
                q.wait(&mut out, Duration::from_millis(2)).unwrap();
                for (done, r) in out.drain(..) {
                    (done.0)(r);
                }
            }
        }

        /// LUN 1 of `bstype` on a pattern file of `size` bytes in `dir`.
        fn harness(
            bstype: &str,
            oflags: OpenFlags,
            dir: &str,
            size: u64,
        ) -> (Harness, Arc<AtomicUsize>) {
            static N: AtomicUsize = AtomicUsize::new(0);
            let path = PathBuf::from(dir).join(format!(
                "tgt-sbc-aio-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::write(&path, (0..size).map(pattern).collect::<Vec<_>>()).unwrap();
            let file = TempFile(path);
            let mut lu = LogicalUnit::new(
                1,
                1,
                DeviceType::DISK,
                bs::lookup(bstype).unwrap(),
                oflags,
                None,
            );
            lu.set_path(file.path()).unwrap();
            lu.attrs.thin_provisioning = 1;
            let mut h = Harness::with_lu(lu);
            h.file = Some(file);
            let submitted = Arc::new(AtomicUsize::new(0));
            if bstype == "aio" {
                let (tx, rx) = mpsc::channel();
                let jobs = Arc::new(Mutex::new(Vec::new()));
                let stop = Arc::new(AtomicBool::new(false));
                let (j, n, s) = (Arc::clone(&jobs), Arc::clone(&submitted), Arc::clone(&stop));
                std::thread::spawn(move || reaper(j, n, s));
                let completer: CompleterRef = Arc::new(AioLoop {
                    tx: Mutex::new(tx),
                    jobs,
                    stop,
                });
                h.completer = completer;
                h.rx = rx;
            }
            (h, submitted)
        }

        /// Runs the same commands on a buffered rdwr LU and on `bstype` opened with
        /// `oflags`, both on pattern files in `dir`; responses and files must be equal.
        fn same_results(dir: &str, bstype: &str, oflags: OpenFlags) {
            let (mut rdwr, _) = harness("rdwr", OpenFlags::NONE, dir, MB);
            let (mut aio, submitted) = harness(bstype, oflags, dir, MB);
            let blk = |n: u8| vec![n; 512];
            let mut caw = blk(0);
            caw.extend(blk(0x5a));
            let mut caw_match = blk(0xb2);
            caw_match.extend(blk(0x5a));
            let mut verify = vec![0x2f, 0x02, 0, 0, 0, 9, 0, 0, 1, 0];
            let script: Vec<(Vec<u8>, Vec<u8>, u32)> = vec![
                (read10(3, 2), vec![], 1024),
                // Residuals: the expected length differs from the transfer length.
                (read10(0, 1), vec![], 0),
                (read10(0, 1), vec![], 200),
                (read10(5, 1), vec![], 10000),
                (read10(7, 3), vec![], 700),
                (write10(10, 2), vec![0xa1; 1024], 0),
                (write10(20, 1), vec![0xa2; 200], 0),
                (write10(30, 1), vec![0xa3; 700], 0),
                (write10(40, 2), vec![0xa4; 700], 0),
                (cdb16(0x8a, 0x08, 50, 4), vec![0xa5; 2048], 0),
                (vec![0x0a, 0, 0, 60, 1, 0], vec![0xa6; 512], 0),
                (vec![0x2e, 0, 0, 0, 0, 70, 0, 0, 2, 0], vec![0xa7; 1024], 0),
                (read10(10, 40), vec![], 20480),
                // VERIFY with BYTCHK: a match, then a miscompare.
                (verify.clone(), blk(0xa1), 0),
                (
                    {
                        verify[5] = 10;
                        verify.clone()
                    },
                    blk(0xa1),
                    0,
                ),
                (
                    {
                        verify[5] = 11;
                        verify.clone()
                    },
                    blk(0xa0),
                    0,
                ),
                // WRITE SAME(10) with LBDATA, WRITE SAME(16).
                (vec![0x41, 0x02, 0, 0, 0, 80, 0, 0, 4, 0], blk(0xb1), 0),
                (cdb16(0x93, 0, 90, 3), blk(0xb2), 0),
                // COMPARE AND WRITE: a miscompare, then a match.
                (
                    vec![0x89, 0, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 1, 0, 0],
                    caw.clone(),
                    0,
                ),
                (
                    vec![0x89, 0, 0, 0, 0, 0, 0, 0, 0, 90, 0, 0, 0, 1, 0, 0],
                    caw_match,
                    0,
                ),
                // ORWRITE(16), SYNCHRONIZE CACHE, PRE-FETCH, UNMAP.
                (cdb16(0x8b, 0, 110, 1), blk(0x0f), 0),
                (vec![0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0], vec![], 0),
                (vec![0x34, 0, 0, 0, 0, 0, 0, 0, 8, 0], vec![], 0),
                (
                    vec![0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0],
                    // One descriptor: LBA 120, 8 blocks.
                    vec![
                        0, 22, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 120, 0, 0, 0, 8, 0, 0, 0, 0,
                    ],
                    0,
                ),
                (read10(75, 60), vec![], 30720),
                // Out of range.
                (read10(u32::try_from(BLOCKS).unwrap(), 1), vec![], 512),
                (
                    write10(u32::try_from(BLOCKS).unwrap() - 1, 2),
                    vec![1; 1024],
                    0,
                ),
            ];
            let mut got = Vec::new();
            for (i, (cdb, out, exp_in)) in script.into_iter().enumerate() {
                let want = rdwr.run(&cdb, &out, exp_in);
                got.push(aio.run(&cdb, &out, exp_in));
                assert_eq!(got[i], want, "step {i}: cdb {cdb:02x?}");
            }
            // A few landmarks, so that equal results are also the right ones.
            assert_eq!(got[0].data_in, patterned(3 * 512, 1024));
            assert_eq!(got[2].data_in, patterned(0, 200));
            assert_good(&got[14]);
            assert_eq!(got[15].sense[2], 0x0e);
            assert_good(&got[19]);
            assert_check(&got[25], 0x05, 0x21, 0x00);
            let f = aio.file.as_ref().unwrap().contents();
            assert!(f[120 * 512..128 * 512].iter().all(|&b| b == 0));
            assert_eq!(
                aio.file.as_ref().unwrap().contents(),
                rdwr.file.as_ref().unwrap().contents()
            );
            // READ and WRITE went through the AIO queue (not the fallback).
            if bstype == "aio" {
                assert!(submitted.load(Ordering::SeqCst) >= 10);
            }

            // The file shrinks under both LUs: reads of what is gone fail alike, and the
            // session goes on.
            for h in [&rdwr, &aio] {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&h.file.as_ref().unwrap().0)
                    .unwrap();
                f.set_len(MB / 2).unwrap();
            }
            let last = u32::try_from(BLOCKS).unwrap() - 4;
            for (cdb, exp_in) in [(read10(last, 2), 1024), (read10(0, 1), 512)] {
                let want = rdwr.run(&cdb, &[], exp_in);
                let got = aio.run(&cdb, &[], exp_in);
                assert_eq!(got, want, "cdb {cdb:02x?}");
            }
            assert_check(&aio.run(&read10(last, 2), &[], 1024), 0x03, 0x11, 0x00);
        }

        #[test]
        fn on_ext4_with_o_direct_alignment() {
            same_results("/var/tmp", "aio", OpenFlags::NONE);
        }

        #[test]
        fn on_tmpfs() {
            same_results("/dev/shm", "aio", OpenFlags::NONE);
        }

        /// rdwr with `bsoflags` direct and sync:direct answers as buffered rdwr does.
        #[test]
        fn rdwr_with_bsoflags_direct_and_sync_on_ext4() {
            let direct = OpenFlags {
                sync: false,
                direct: true,
            };
            same_results("/var/tmp", "rdwr", direct);
            same_results("/var/tmp", "rdwr", OpenFlags::SYNC_DIRECT);
            same_results(
                "/var/tmp",
                "rdwr",
                OpenFlags {
                    sync: true,
                    direct: false,
                },
            );
        }
    }
}
