//! O_DIRECT support: buffers whose data starts at a page boundary, and the offset and
//! length alignment a file opened with O_DIRECT demands (statx `STATX_DIOALIGN`).
//!
//! [`AlignedBuf`] is plain safe code, but [`super::aio`] relies on its invariant: the data
//! never moves while the buffer exists (the heap block of its `Vec` is never reallocated
//! by a method that keeps the buffer alive), so a pointer taken for a kernel request stays
//! valid for as long as the request owns the buffer. statx(2), Linux 6.1 for
//! `STATX_DIOALIGN`.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Memory alignment of every [`AlignedBuf`]: a page. statx's `stx_dio_mem_align` is at
/// most the logical block size, which never exceeds a page on Linux.
pub const MEM_ALIGN: usize = 4096;

/// Offset and length alignment assumed when the kernel does not report one: the smallest
/// logical block size of Linux block devices.
pub const FALLBACK_ALIGN: u32 = 512;

/// An owned, zero-initialised byte buffer whose data starts at a [`MEM_ALIGN`] boundary.
#[derive(Debug)]
pub struct AlignedBuf {
    /// Backing storage, `MEM_ALIGN` bytes longer than needed unless it came aligned.
    raw: Vec<u8>,
    /// Where the data starts in `raw` (the first aligned byte).
    start: usize,
    /// Length of the data.
    len: usize,
}

/// Bytes from `addr` to the next `MEM_ALIGN` boundary.
fn misalignment(ptr: *const u8) -> usize {
    let addr = ptr as usize;
    (MEM_ALIGN - addr % MEM_ALIGN) % MEM_ALIGN
}

impl AlignedBuf {
    /// `len` zero bytes. Panics only if `len + MEM_ALIGN` overflows `usize`, which no
    /// allocation could satisfy anyway.
    pub fn zeroed(len: usize) -> Self {
        let raw = vec![0u8; len.saturating_add(MEM_ALIGN)];
        let start = misalignment(raw.as_ptr());
        Self { raw, start, len }
    }

    /// Takes `data` as it is when it already starts at a page boundary; copies it into a
    /// new aligned buffer otherwise.
    pub fn from_vec(data: Vec<u8>) -> Self {
        if misalignment(data.as_ptr()) == 0 {
            let len = data.len();
            return Self {
                raw: data,
                start: 0,
                len,
            };
        }
        let mut buf = Self::zeroed(data.len());
        buf.as_mut_slice().copy_from_slice(&data);
        buf
    }

    /// Length of the data.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the data is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The data.
    pub fn as_slice(&self) -> &[u8] {
        &self.raw[self.start..self.start + self.len]
    }

    /// The data, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.raw[self.start..self.start + self.len]
    }

    /// The whole data as a `Vec`.
    pub fn into_vec(self) -> Vec<u8> {
        let len = self.len;
        self.into_range(0, len)
    }

    /// `len` bytes of the data from `offset` (clamped to the data) as a `Vec`. Moves the
    /// bytes down when they do not start the allocation.
    pub fn into_range(mut self, offset: usize, len: usize) -> Vec<u8> {
        let from = self.start + offset.min(self.len);
        let to = (from + len).min(self.start + self.len);
        self.raw.truncate(to);
        if from > 0 {
            self.raw.drain(..from);
        }
        self.raw
    }
}

/// The alignment O_DIRECT transfers on a file need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DioAlign {
    /// Buffer address alignment (`stx_dio_mem_align`).
    pub mem: u32,
    /// File offset and length alignment (`stx_dio_offset_align`).
    pub offset: u32,
}

/// What the kernel reports for `fd` (statx `STATX_DIOALIGN`, Linux 6.1). `None` when it
/// reports nothing: an older kernel, or a file system (tmpfs) that either takes any
/// alignment or does not say.
pub fn dio_align(fd: BorrowedFd<'_>) -> io::Result<Option<DioAlign>> {
    let mut stx = MaybeUninit::<libc::statx>::zeroed();
    // SAFETY: `fd` is open for the borrow; the path is a NUL-terminated empty string that
    // AT_EMPTY_PATH makes statx ignore; `stx` points to a `statx` buffer of the right size
    // that lives across this synchronous call.
    let rc = unsafe {
        libc::statx(
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            libc::STATX_DIOALIGN,
            stx.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `statx` is plain integers, for which all-zero bytes (from `zeroed`) are a
    // valid value; the kernel overwrote them with a complete structure.
    let stx = unsafe { stx.assume_init() };
    if stx.stx_mask & libc::STATX_DIOALIGN == 0 || stx.stx_dio_offset_align == 0 {
        return Ok(None);
    }
    Ok(Some(DioAlign {
        mem: stx.stx_dio_mem_align,
        offset: stx.stx_dio_offset_align,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    fn aligned(s: &[u8]) -> bool {
        (s.as_ptr() as usize) % MEM_ALIGN == 0
    }

    #[test]
    fn zeroed_buffers_start_on_a_page() {
        for len in [0, 1, 511, 512, 4096, 4097, 1 << 20] {
            let mut b = AlignedBuf::zeroed(len);
            assert_eq!(b.len(), len);
            assert!(aligned(b.as_slice()), "len {len}");
            assert!(b.as_slice().iter().all(|&x| x == 0));
            b.as_mut_slice().fill(7);
            assert_eq!(b.into_vec(), vec![7u8; len]);
        }
    }

    #[test]
    fn from_vec_copies_unaligned_data_and_keeps_it() {
        let data: Vec<u8> = (0..=255).cycle().take(10_000).collect();
        // A sub-vector copy is almost never page-aligned; either way the bytes survive.
        let b = AlignedBuf::from_vec(data[1..].to_vec());
        assert!(aligned(b.as_slice()));
        assert_eq!(b.as_slice(), &data[1..]);
    }

    #[test]
    fn into_range_cuts_and_clamps() {
        let mut b = AlignedBuf::zeroed(8);
        b.as_mut_slice().copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(b.into_range(2, 3), vec![3, 4, 5]);
        let mut b = AlignedBuf::zeroed(4);
        b.as_mut_slice().copy_from_slice(&[1, 2, 3, 4]);
        assert_eq!(b.into_range(3, 10), vec![4]);
        let b = AlignedBuf::zeroed(4);
        assert_eq!(b.into_range(9, 1), Vec::<u8>::new());
    }

    #[test]
    fn dio_align_of_a_file_in_var_tmp() {
        // ext4 here reports 512/512; other file systems may report nothing. Either way the
        // call must succeed on a regular file.
        let p = std::path::Path::new("/var/tmp").join(format!("tgt-dio-{}", std::process::id()));
        let f = std::fs::File::create(&p).unwrap();
        let got = dio_align(f.as_fd()).unwrap();
        if let Some(a) = got {
            assert!(a.offset.is_power_of_two() && a.mem.is_power_of_two());
            assert!(usize::try_from(a.mem).unwrap() <= MEM_ALIGN);
        }
        std::fs::remove_file(p).unwrap();
    }
}
