//! The `null` store: no media, a fixed 1 TiB size. tgt: usr/bs_null.c

use super::Media;

/// Size every null LU reports. tgt: `NULL_BS_DEV_SIZE` (1 << 40)
pub const NULL_SIZE: u64 = 1 << 40;

/// "Opens" a null LU: nothing is touched; the path is only remembered by the LU.
pub fn open() -> Media {
    Media {
        file: None,
        size: NULL_SIZE,
        preferred_blksize: None,
        read_only_fallback: false,
        access: super::Access::Buffered,
        passthrough: None,
        rbd: None,
    }
}
