//! The rdwr store's blocking operations: positioned reads and writes, compares, flushes,
//! hole punching and hole finding on the LU's file or block device.
//!
//! Runs only on backing-store workers ([`super::pool::WorkerPool`]), never on a loop thread.
//! Knows nothing of SCSI: callers describe an [`IoOp`] in byte offsets and get an [`IoDone`]
//! or an [`IoError`]; turning those into sense data is the SCSI layer's job.
//! tgt: usr/bs_rdwr.c `bs_rdwr_request()`, usr/util.c `unmap_file_region()`.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;

use nix::errno::Errno;
use nix::fcntl::{fallocate, posix_fadvise, FallocateFlags, PosixFadviseAdvice};
use nix::unistd::{lseek, Whence};

use super::Access;
use crate::sys::dio::{AlignedBuf, MEM_ALIGN};
/// Largest buffer a WRITE SAME or zero-fill builds at once.
pub(crate) const CHUNK: usize = 1 << 20;

/// What to stamp into each block a WRITE SAME writes. SBC-2 §5.41 (LBDATA/PBDATA)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// The block as given.
    None,
    /// LBDATA: the block's LBA as 32 bits (big-endian) in its first 4 bytes.
    Lba32,
    /// PBDATA: the block's LBA as 64 bits (big-endian) in its first 8 bytes.
    Lba64,
}

/// One blocking operation. Offsets and lengths are in bytes.
#[derive(Debug)]
pub enum IoOp {
    /// Read `len` bytes. `dpo`: advise the kernel not to keep them cached.
    Read {
        /// Byte offset.
        offset: u64,
        /// Length.
        len: usize,
        /// DPO bit.
        dpo: bool,
    },
    /// Write `data`; `sync` flushes afterwards (FUA, or write cache disabled); `verify`
    /// reads it back and compares (WRITE AND VERIFY).
    Write {
        /// Byte offset.
        offset: u64,
        /// The data.
        data: Vec<u8>,
        /// fdatasync after writing.
        sync: bool,
        /// DPO bit.
        dpo: bool,
        /// Read back and compare.
        verify: bool,
    },
    /// Compare the medium with `expected` (VERIFY with BYTCHK 01b).
    Compare {
        /// Byte offset.
        offset: u64,
        /// Data-out to compare with.
        expected: Vec<u8>,
        /// DPO bit.
        dpo: bool,
    },
    /// Compare each of `blocks` blocks with `block` (VERIFY with BYTCHK 11b).
    CompareEach {
        /// Byte offset.
        offset: u64,
        /// The single block of data-out.
        block: Vec<u8>,
        /// Number of blocks.
        blocks: u64,
    },
    /// Read, OR with `data`, write back (ORWRITE).
    OrWrite {
        /// Byte offset.
        offset: u64,
        /// Data-out.
        data: Vec<u8>,
        /// fdatasync after writing.
        sync: bool,
    },
    /// Compare with `compare`; if equal write `write` (COMPARE AND WRITE).
    CompareAndWrite {
        /// Byte offset.
        offset: u64,
        /// Verify instance.
        compare: Vec<u8>,
        /// Write instance.
        write: Vec<u8>,
        /// fdatasync after writing.
        sync: bool,
    },
    /// fdatasync the whole file.
    Sync,
    /// Advise the kernel to read ahead (`len` 0: to the end of the file).
    Prefetch {
        /// Byte offset.
        offset: u64,
        /// Length.
        len: u64,
    },
    /// Write `block` to `blocks` consecutive blocks starting at block `lba`.
    WriteSame {
        /// First block.
        lba: u64,
        /// Block size shift.
        shift: u32,
        /// Number of blocks.
        blocks: u64,
        /// The pattern block (exactly one block).
        block: Vec<u8>,
        /// LBA stamping.
        stamp: Stamp,
        /// fdatasync after writing.
        sync: bool,
    },
    /// Deallocate byte ranges `(offset, len)`: punch holes; where the file system cannot,
    /// write zeros (unmapped blocks read as zeros: LBPRZ).
    Deallocate {
        /// The ranges.
        ranges: Vec<(u64, u64)>,
    },
    /// Mapped/deallocated extents from block `lba` to block `end` (exclusive), at most
    /// `max` extents.
    LbaStatus {
        /// First block.
        lba: u64,
        /// End block (the LU's capacity).
        end: u64,
        /// Block size shift.
        shift: u32,
        /// Most extents to report.
        max: usize,
    },
}

/// A mapped or deallocated run of blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    /// First block.
    pub lba: u64,
    /// Number of blocks.
    pub blocks: u64,
    /// Mapped (data) or deallocated (hole).
    pub mapped: bool,
}

/// A finished operation.
#[derive(Debug, PartialEq, Eq)]
pub enum IoDone {
    /// Done, nothing to return.
    Done,
    /// Data read.
    Data(Vec<u8>),
    /// A compare found a difference at this byte offset into the compared data.
    Miscompare {
        /// Offset of the first differing byte.
        offset: u64,
    },
    /// Extents for GET LBA STATUS.
    Extents(Vec<Extent>),
}

/// A local failure of the medium.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// pread failed or hit end of file.
    #[error("read of {len} bytes at {offset} failed")]
    Read {
        /// Byte offset.
        offset: u64,
        /// Length.
        len: usize,
        /// The cause.
        #[source]
        err: io::Error,
    },
    /// pwrite failed or wrote short.
    #[error("write of {len} bytes at {offset} failed")]
    Write {
        /// Byte offset.
        offset: u64,
        /// Length.
        len: usize,
        /// The cause.
        #[source]
        err: io::Error,
    },
    /// fdatasync failed.
    #[error("fdatasync failed")]
    Sync(#[source] io::Error),
    /// Punching a hole failed.
    #[error("deallocating {len} bytes at {offset} failed")]
    Deallocate {
        /// Byte offset.
        offset: u64,
        /// Length.
        len: u64,
        /// The cause.
        #[source]
        err: io::Error,
    },
    /// lseek(SEEK_DATA/SEEK_HOLE) or posix_fadvise failed.
    #[error("seek to {offset} failed")]
    Seek {
        /// Byte offset.
        offset: u64,
        /// The cause.
        #[source]
        err: io::Error,
    },
}

impl IoError {
    /// The OS error number behind this failure, if any.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            IoError::Read { err, .. }
            | IoError::Write { err, .. }
            | IoError::Sync(err)
            | IoError::Deallocate { err, .. }
            | IoError::Seek { err, .. } => err.raw_os_error(),
        }
    }
}

/// Runs `op` on `file`, opened as `access` says. Blocks.
///
/// With O_DIRECT, every transfer is widened to the file's alignment: a read reads the
/// aligned span around the bytes asked for, a write whose offset or length is not aligned
/// reads, patches and writes back the aligned span. Such a read-modify-write is only
/// atomic if no other write to the LU runs meanwhile: callers run it exclusively (see
/// [`Access::is_aligned`]).
pub fn run(file: &File, access: Access, op: IoOp) -> Result<IoDone, IoError> {
    match op {
        IoOp::Read { offset, len, dpo } => {
            let data = read(file, access, offset, len)?;
            if dpo {
                advise(
                    file,
                    offset,
                    to_u64(len),
                    PosixFadviseAdvice::POSIX_FADV_NOREUSE,
                );
            }
            Ok(IoDone::Data(data))
        }
        IoOp::Write {
            offset,
            data,
            sync,
            dpo,
            verify,
        } => {
            write(file, access, offset, &data)?;
            if sync {
                file.sync_data().map_err(IoError::Sync)?;
            }
            if dpo {
                advise(
                    file,
                    offset,
                    to_u64(data.len()),
                    PosixFadviseAdvice::POSIX_FADV_NOREUSE,
                );
            }
            if verify {
                let back = read(file, access, offset, data.len())?;
                return Ok(compare(&data, &back));
            }
            Ok(IoDone::Done)
        }
        IoOp::Compare {
            offset,
            expected,
            dpo,
        } => {
            let back = read(file, access, offset, expected.len())?;
            if dpo {
                advise(
                    file,
                    offset,
                    to_u64(expected.len()),
                    PosixFadviseAdvice::POSIX_FADV_NOREUSE,
                );
            }
            Ok(compare(&expected, &back))
        }
        IoOp::CompareEach {
            offset,
            block,
            blocks,
        } => compare_each(
            |at, len| read(file, access, at, len),
            offset,
            &block,
            blocks,
        ),
        IoOp::OrWrite { offset, data, sync } => {
            let mut cur = read(file, access, offset, data.len())?;
            cur.iter_mut().zip(&data).for_each(|(c, d)| *c |= d);
            write(file, access, offset, &cur)?;
            if sync {
                file.sync_data().map_err(IoError::Sync)?;
            }
            Ok(IoDone::Done)
        }
        IoOp::CompareAndWrite {
            offset,
            compare: expected,
            write: new,
            sync,
        } => {
            let cur = read(file, access, offset, expected.len())?;
            if let miss @ IoDone::Miscompare { .. } = compare(&expected, &cur) {
                return Ok(miss);
            }
            write(file, access, offset, &new)?;
            if sync {
                file.sync_data().map_err(IoError::Sync)?;
            }
            Ok(IoDone::Done)
        }
        IoOp::Sync => {
            file.sync_data().map_err(IoError::Sync)?;
            Ok(IoDone::Done)
        }
        IoOp::Prefetch { offset, len } => {
            let fd = file.as_raw_fd();
            posix_fadvise(
                fd,
                to_off(offset),
                to_off(len),
                PosixFadviseAdvice::POSIX_FADV_WILLNEED,
            )
            .map_err(|e| IoError::Seek {
                offset,
                err: e.into(),
            })?;
            Ok(IoDone::Done)
        }
        IoOp::WriteSame {
            lba,
            shift,
            blocks,
            block,
            stamp,
            sync,
        } => {
            write_same(file, access, lba, shift, blocks, &block, stamp)?;
            if sync {
                file.sync_data().map_err(IoError::Sync)?;
            }
            Ok(IoDone::Done)
        }
        IoOp::Deallocate { ranges } => {
            for (offset, len) in ranges {
                deallocate(file, access, offset, len)?;
            }
            Ok(IoDone::Done)
        }
        IoOp::LbaStatus {
            lba,
            end,
            shift,
            max,
        } => lba_status(file, lba, end, shift, max).map(IoDone::Extents),
    }
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn to_off(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The first differing byte, if any.
pub(crate) fn compare(expected: &[u8], got: &[u8]) -> IoDone {
    match expected.iter().zip(got).position(|(a, b)| a != b) {
        Some(i) => IoDone::Miscompare { offset: to_u64(i) },
        None if expected.len() != got.len() => IoDone::Miscompare {
            offset: to_u64(expected.len().min(got.len())),
        },
        None => IoDone::Done,
    }
}

/// Advisory only: a failing posix_fadvise changes nothing the initiator can see.
fn advise(file: &File, offset: u64, len: u64, advice: PosixFadviseAdvice) {
    let _ = posix_fadvise(file.as_raw_fd(), to_off(offset), to_off(len), advice);
}

/// `len` zero bytes, page-aligned when the file is opened with O_DIRECT.
fn buffer(len: usize, access: Access) -> Buf {
    match access {
        Access::Buffered => Buf::Plain(vec![0; len]),
        Access::Direct { .. } => Buf::Aligned(AlignedBuf::zeroed(len)),
    }
}

/// A transfer buffer: a plain vector, or page-aligned storage for O_DIRECT.
enum Buf {
    Plain(Vec<u8>),
    Aligned(AlignedBuf),
}

impl Buf {
    fn as_mut_slice(&mut self) -> &mut [u8] {
        match self {
            Buf::Plain(v) => v,
            Buf::Aligned(a) => a.as_mut_slice(),
        }
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            Buf::Plain(v) => v,
            Buf::Aligned(a) => a.as_slice(),
        }
    }

    /// `len` bytes from `offset` as a vector.
    fn into_range(self, offset: usize, len: usize) -> Vec<u8> {
        match self {
            Buf::Plain(mut v) => {
                v.truncate(offset + len);
                v.drain(..offset.min(v.len()));
                v
            }
            Buf::Aligned(a) => a.into_range(offset, len),
        }
    }
}

/// Reads into `buf` from `offset` until at least `need` bytes are in; end of file before
/// that is an error. More may arrive: the aligned tail of an O_DIRECT span.
fn read_at_least(file: &File, buf: &mut [u8], offset: u64, need: usize) -> Result<(), io::Error> {
    let mut got = 0;
    while got < need {
        match file.read_at(&mut buf[got..], offset + to_u64(got)) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// pread of exactly `len` bytes; end of file is a read error. With O_DIRECT the aligned
/// span around them is read.
fn read(file: &File, access: Access, offset: u64, len: usize) -> Result<Vec<u8>, IoError> {
    let (start, span) = access.span(offset, len);
    let skip = usize::try_from(offset - start).unwrap_or(0);
    let mut buf = buffer(span, access);
    read_at_least(file, buf.as_mut_slice(), start, skip + len).map_err(|err| IoError::Read {
        offset,
        len,
        err,
    })?;
    Ok(buf.into_range(skip, len))
}

/// pwrite of all of `data`. With O_DIRECT: from a page-aligned copy when `data` is not
/// page-aligned, and as a read-modify-write of the aligned span when the offset or length
/// is not aligned.
fn write(file: &File, access: Access, offset: u64, data: &[u8]) -> Result<(), IoError> {
    let err = |err| IoError::Write {
        offset,
        len: data.len(),
        err,
    };
    if !access.is_aligned(offset, data.len()) {
        let (start, span) = access.span(offset, data.len());
        let skip = usize::try_from(offset - start).unwrap_or(0);
        let mut buf = buffer(span, access);
        // Past the end of the file the span reads as zeros, as a buffered write leaves a
        // gap; the write-back then extends the file to the aligned end.
        pread_fill(file, buf.as_mut_slice(), start).map_err(err)?;
        buf.as_mut_slice()[skip..skip + data.len()].copy_from_slice(data);
        return file.write_all_at(buf.as_slice(), start).map_err(err);
    }
    if matches!(access, Access::Direct { .. }) && data.as_ptr().align_offset(MEM_ALIGN) != 0 {
        let buf = AlignedBuf::from_vec(data.to_vec());
        file.write_all_at(buf.as_slice(), offset).map_err(err)
    } else {
        file.write_all_at(data, offset).map_err(err)
    }
}

/// Reads as much of `buf` as the file holds from `offset`; what lies past the end of the
/// file stays as it is (zeros).
fn pread_fill(file: &File, buf: &mut [u8], offset: u64) -> Result<(), io::Error> {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], offset + to_u64(got)) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // An O_DIRECT read resumed at an unaligned end of file.
            Err(e) if got > 0 && e.raw_os_error() == Some(libc::EINVAL) => break,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes `block` to `blocks` blocks from `lba`, a chunk of blocks per pwrite.
fn write_same(
    file: &File,
    access: Access,
    lba: u64,
    shift: u32,
    blocks: u64,
    block: &[u8],
    stamp: Stamp,
) -> Result<(), IoError> {
    let bs = block.len().max(1);
    let per_chunk = (CHUNK / bs).max(1);
    let fill = usize::try_from(blocks).unwrap_or(usize::MAX).min(per_chunk);
    let mut buf = buffer(fill * bs, access);
    write_same_with(
        buf.as_mut_slice(),
        |offset, data| write(file, access, offset, data),
        lba,
        shift,
        blocks,
        block,
        stamp,
    )
}

/// Compares `blocks` copies of `block` with the medium from byte `offset`, a chunk at a
/// time through `read`: MISCOMPARE at the first differing byte (counted from `offset`).
/// Shared by the stores whose media take positioned reads (rdwr, aio, rbd).
pub(crate) fn compare_each(
    mut read: impl FnMut(u64, usize) -> Result<Vec<u8>, IoError>,
    offset: u64,
    block: &[u8],
    blocks: u64,
) -> Result<IoDone, IoError> {
    let bs = block.len().max(1);
    let per_chunk = (CHUNK / bs).max(1);
    let mut done = 0u64;
    while done < blocks {
        let n = usize::try_from(blocks - done)
            .unwrap_or(usize::MAX)
            .min(per_chunk);
        let back = read(offset + done * to_u64(bs), n * bs)?;
        for (i, got) in back.chunks(bs).enumerate() {
            if let IoDone::Miscompare { offset: o } = compare(block, got) {
                return Ok(IoDone::Miscompare {
                    offset: (done + to_u64(i)) * to_u64(bs) + o,
                });
            }
        }
        done += to_u64(n);
    }
    Ok(IoDone::Done)
}

/// WRITE SAME through `write`: `buf` (a whole number of blocks, at most `blocks`) is
/// filled with `block`, stamped per `stamp` and written a chunk at a time from `lba`.
pub(crate) fn write_same_with(
    buf: &mut [u8],
    mut write: impl FnMut(u64, &[u8]) -> Result<(), IoError>,
    lba: u64,
    shift: u32,
    blocks: u64,
    block: &[u8],
    stamp: Stamp,
) -> Result<(), IoError> {
    let bs = block.len().max(1);
    let fill = buf.len() / bs;
    for b in buf.chunks_mut(bs) {
        b.copy_from_slice(block);
    }
    let mut done = 0u64;
    while done < blocks {
        let n = usize::try_from(blocks - done)
            .unwrap_or(usize::MAX)
            .min(fill);
        let chunk = &mut buf[..n * bs];
        for (i, b) in chunk.chunks_mut(bs).enumerate() {
            let this = lba + done + to_u64(i);
            match stamp {
                Stamp::None => {}
                // LBDATA stores the low 32 bits of the LBA.
                Stamp::Lba32 => b[..4].copy_from_slice(&this.to_be_bytes()[4..]),
                Stamp::Lba64 => b[..8].copy_from_slice(&this.to_be_bytes()),
            }
        }
        write((lba + done) << shift, chunk)?;
        done += to_u64(n);
    }
    Ok(())
}

/// Punches a hole; where punching is not supported, writes zeros instead.
/// tgt: usr/util.c `unmap_file_region()`
fn deallocate(file: &File, access: Access, offset: u64, len: u64) -> Result<(), IoError> {
    if len == 0 {
        return Ok(());
    }
    let flags = FallocateFlags::FALLOC_FL_PUNCH_HOLE | FallocateFlags::FALLOC_FL_KEEP_SIZE;
    match fallocate(file.as_raw_fd(), flags, to_off(offset), to_off(len)) {
        Ok(()) => Ok(()),
        Err(Errno::EOPNOTSUPP | Errno::ENOSYS | Errno::EINVAL | Errno::ENODEV) => {
            zero_fill(file, access, offset, len)
        }
        Err(e) => Err(IoError::Deallocate {
            offset,
            len,
            err: e.into(),
        }),
    }
}

fn zero_fill(file: &File, access: Access, offset: u64, len: u64) -> Result<(), IoError> {
    let size = usize::try_from(len).unwrap_or(usize::MAX).min(CHUNK);
    let buf = buffer(size, access);
    let mut done = 0u64;
    while done < len {
        let n = usize::try_from(len - done).unwrap_or(usize::MAX).min(size);
        write(file, access, offset + done, &buf.as_slice()[..n])?;
        done += to_u64(n);
    }
    Ok(())
}

/// lseek(SEEK_DATA/SEEK_HOLE) from `offset`; `None` when there is no such offset before
/// the end of the file (ENXIO).
fn seek(file: &File, offset: u64, whence: Whence) -> Result<Option<u64>, IoError> {
    match lseek(file.as_raw_fd(), to_off(offset), whence) {
        Ok(o) => Ok(Some(u64::try_from(o).unwrap_or(0))),
        Err(Errno::ENXIO) => Ok(None),
        Err(e) => Err(IoError::Seek {
            offset,
            err: e.into(),
        }),
    }
}

/// Mapped and deallocated runs of whole blocks from `lba` up to `end`: a block with any
/// data in it is mapped. SBC-3 §5.7; tgt: usr/sbc.c `sbc_getlbastatus()`
fn lba_status(
    file: &File,
    lba: u64,
    end: u64,
    shift: u32,
    max: usize,
) -> Result<Vec<Extent>, IoError> {
    let bs = 1u64 << shift;
    let size = end.checked_shl(shift).unwrap_or(u64::MAX);
    let mut out: Vec<Extent> = Vec::new();
    let push = |out: &mut Vec<Extent>, lba: u64, blocks: u64, mapped: bool| match out.last_mut() {
        Some(last) if last.mapped == mapped && last.lba + last.blocks == lba => {
            last.blocks += blocks
        }
        _ => out.push(Extent {
            lba,
            blocks,
            mapped,
        }),
    };
    let mut blk = lba;
    while blk < end && out.len() < max.max(1) {
        let pos = blk << shift;
        let data = match seek(file, pos, Whence::SeekData) {
            Ok(d) => d.unwrap_or(size).min(size),
            // No SEEK_DATA support: everything is data.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => pos,
            Err(e) => return Err(e),
        };
        let hole_end = data >> shift;
        if hole_end > blk {
            push(&mut out, blk, hole_end - blk, false);
            blk = hole_end;
            continue;
        }
        let hole = match seek(file, data.max(pos), Whence::SeekHole) {
            Ok(h) => h.unwrap_or(size).min(size),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => size,
            Err(e) => return Err(e),
        };
        let mapped_end = hole.div_ceil(bs).clamp(blk + 1, end);
        push(&mut out, blk, mapped_end - blk, true);
        blk = mapped_end;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIRECT: Access = Access::Direct { align: 512 };
    use std::io::Write as _;

    fn temp(data: &[u8]) -> (File, std::path::PathBuf) {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            std::path::PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let p = dir.join(format!(
            "tgt-rdwr-io-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let mut f = File::create(&p).unwrap();
        f.write_all(data).unwrap();
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&p)
            .unwrap();
        (f, p)
    }

    #[test]
    fn read_write_and_short_read() {
        let (f, p) = temp(&[1u8; 4096]);
        assert_eq!(
            run(
                &f,
                Access::Buffered,
                IoOp::Read {
                    offset: 10,
                    len: 3,
                    dpo: true
                }
            )
            .unwrap(),
            IoDone::Data(vec![1, 1, 1])
        );
        run(
            &f,
            Access::Buffered,
            IoOp::Write {
                offset: 100,
                data: vec![9; 4],
                sync: true,
                dpo: false,
                verify: true,
            },
        )
        .unwrap();
        assert_eq!(std::fs::read(&p).unwrap()[99..105], [1, 9, 9, 9, 9, 1]);
        let e = run(
            &f,
            Access::Buffered,
            IoOp::Read {
                offset: 4000,
                len: 512,
                dpo: false,
            },
        )
        .unwrap_err();
        assert!(matches!(e, IoError::Read { .. }));
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn compare_and_write_reports_first_difference() {
        let (f, p) = temp(&[5u8; 1024]);
        let mut cmp = vec![5u8; 512];
        cmp[300] = 6;
        let r = run(
            &f,
            Access::Buffered,
            IoOp::CompareAndWrite {
                offset: 512,
                compare: cmp,
                write: vec![7; 512],
                sync: false,
            },
        )
        .unwrap();
        assert_eq!(r, IoDone::Miscompare { offset: 300 });
        assert_eq!(std::fs::read(&p).unwrap(), vec![5u8; 1024]);
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn write_same_stamps_lba() {
        let (f, p) = temp(&[0u8; 4096]);
        run(
            &f,
            Access::Buffered,
            IoOp::WriteSame {
                lba: 2,
                shift: 9,
                blocks: 3,
                block: vec![0xee; 512],
                stamp: Stamp::Lba32,
                sync: false,
            },
        )
        .unwrap();
        let d = std::fs::read(&p).unwrap();
        assert_eq!(&d[1024..1032], &[0, 0, 0, 2, 0xee, 0xee, 0xee, 0xee]);
        assert_eq!(&d[2048..2052], &[0, 0, 0, 4]);
        assert_eq!(d[2560], 0);
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn direct_io_uses_aligned_buffers() {
        use std::os::unix::fs::OpenOptionsExt;
        // tmpfs refuses O_DIRECT; use the temporary directory, when it allows it.
        let p = std::env::temp_dir().join(format!("tgt-rdwr-io-direct-{}", std::process::id()));
        std::fs::write(&p, vec![3u8; 8192]).unwrap();
        let f = match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_DIRECT)
            .open(&p)
        {
            Ok(f) => f,
            Err(e) => {
                eprintln!("skipped: {} does not support O_DIRECT: {e}", p.display());
                let _ = std::fs::remove_file(&p);
                return;
            }
        };
        // An unaligned source buffer: a sub-slice one byte in.
        let data = vec![7u8; 4097];
        let io = IoOp::Write {
            offset: 4096,
            data: data[1..].to_vec(),
            sync: true,
            dpo: false,
            verify: true,
        };
        assert_eq!(run(&f, DIRECT, io).unwrap(), IoDone::Done);
        let r = run(
            &f,
            DIRECT,
            IoOp::Read {
                offset: 0,
                len: 8192,
                dpo: false,
            },
        )
        .unwrap();
        let mut want = vec![3u8; 4096];
        want.extend_from_slice(&[7u8; 4096]);
        assert_eq!(r, IoDone::Data(want));
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn direct_io_widens_unaligned_transfers_to_the_span() {
        use std::os::unix::fs::OpenOptionsExt;
        // ext4 here: O_DIRECT demands 512-byte offsets and lengths.
        let p = std::path::Path::new("/var/tmp")
            .join(format!("tgt-rdwr-io-span-{}", std::process::id()));
        let orig: Vec<u8> = (0..8192u32)
            .map(|i| u8::try_from(i % 251).unwrap())
            .collect();
        std::fs::write(&p, &orig).unwrap();
        let Ok(f) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_DIRECT)
            .open(&p)
        else {
            eprintln!("skipped: /var/tmp does not support O_DIRECT");
            let _ = std::fs::remove_file(&p);
            return;
        };
        let read = |offset: u64, len: usize| {
            run(
                &f,
                DIRECT,
                IoOp::Read {
                    offset,
                    len,
                    dpo: false,
                },
            )
            .unwrap()
        };
        assert_eq!(read(10, 100), IoDone::Data(orig[10..110].to_vec()));
        assert_eq!(read(500, 1000), IoDone::Data(orig[500..1500].to_vec()));
        // A partial block, as a WRITE whose data-out is shorter than its transfer length.
        let io = IoOp::Write {
            offset: 1024,
            data: vec![0xee; 200],
            sync: false,
            dpo: false,
            verify: true,
        };
        assert_eq!(run(&f, DIRECT, io).unwrap(), IoDone::Done);
        let mut want = orig.clone();
        want[1024..1224].fill(0xee);
        assert_eq!(std::fs::read(&p).unwrap(), want);
        let io = IoOp::Compare {
            offset: 1000,
            expected: want[1000..1300].to_vec(),
            dpo: false,
        };
        assert_eq!(run(&f, DIRECT, io).unwrap(), IoDone::Done);
        // Reading past the end is still an error.
        let e = run(
            &f,
            DIRECT,
            IoOp::Read {
                offset: 8000,
                len: 300,
                dpo: false,
            },
        )
        .unwrap_err();
        assert!(matches!(e, IoError::Read { .. }));
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn holes_are_reported_per_block() {
        let (f, p) = temp(&[0xaau8; 64 * 1024]);
        run(
            &f,
            Access::Buffered,
            IoOp::Deallocate {
                ranges: vec![(16384, 8192)],
            },
        )
        .unwrap();
        let back = run(
            &f,
            Access::Buffered,
            IoOp::Read {
                offset: 16384,
                len: 8192,
                dpo: false,
            },
        )
        .unwrap();
        assert_eq!(back, IoDone::Data(vec![0; 8192]));
        let IoDone::Extents(e) = run(
            &f,
            Access::Buffered,
            IoOp::LbaStatus {
                lba: 0,
                end: 128,
                shift: 9,
                max: 100,
            },
        )
        .unwrap() else {
            panic!()
        };
        // tmpfs punches whole pages: blocks 32..48 are deallocated.
        assert_eq!(
            e,
            [
                Extent {
                    lba: 0,
                    blocks: 32,
                    mapped: true
                },
                Extent {
                    lba: 32,
                    blocks: 16,
                    mapped: false
                },
                Extent {
                    lba: 48,
                    blocks: 80,
                    mapped: true
                },
            ]
        );
        std::fs::remove_file(p).unwrap();
    }
}
