//! The transfers librbd runs asynchronously, as plain data: the rbd store builds them in
//! every build, and the librbd binding (`sys::rbd`, cargo feature `rbd`) runs them.

/// An asynchronous librbd operation on an image.
#[derive(Debug)]
pub enum RbdOp {
    /// Read `len` bytes at `offset`.
    Read {
        /// Byte offset.
        offset: u64,
        /// Length.
        len: usize,
    },
    /// Write `data` at `offset`.
    Write {
        /// Byte offset.
        offset: u64,
        /// The data.
        data: Vec<u8>,
    },
    /// Deallocate `len` bytes at `offset`.
    Discard {
        /// Byte offset.
        offset: u64,
        /// Length.
        len: u64,
    },
    /// Flush (SYNCHRONIZE CACHE).
    Flush,
}
