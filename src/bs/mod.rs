//! Backing stores: the registry of `--bstype` names and opening the media behind a LU.
//!
//! Owns what a store accepts (`bsoflags`), how its media is opened and sized, and the
//! I/O engines: blocking operations on the shared worker pool ([`rdwr_io`], [`pool`]),
//! Linux native AIO for the aio store ([`aio`]), and the LU's media access gate
//! ([`gate`]), and Ceph RBD images through librbd ([`rbd`], cargo feature `rbd`). It must
//! not know about targets, SCSI or transports. Sources: tgt `usr/bs.c`, `usr/bs_rdwr.c`,
//! `usr/bs_aio.c`, `usr/bs_null.c`, `usr/bs_rbd.c`, `usr/util.c` `backed_file_open()`.

pub mod aio;
pub mod gate;
pub mod null;
pub mod pool;
pub mod rbd;
pub mod rdwr;
pub mod rdwr_io;
pub mod sg;

use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::Arc;

/// `bsoflags`: the open(2) flags a LU's media is opened with. tgt: usr/util.c
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenFlags {
    /// `O_SYNC`
    pub sync: bool,
    /// `O_DIRECT`
    pub direct: bool,
}

impl OpenFlags {
    /// Both flags, as rdwr supports.
    pub const SYNC_DIRECT: Self = Self {
        sync: true,
        direct: true,
    };
    /// Neither flag.
    pub const NONE: Self = Self {
        sync: false,
        direct: false,
    };

    /// Parses a `bsoflags=` value: `:`-separated words, each starting with `sync` or `direct`
    /// after leading spaces (tgt compares prefixes). `None` for any other word.
    /// tgt: usr/util.c `str_to_open_flags()`
    pub fn parse(s: &str) -> Option<Self> {
        let mut f = Self::NONE;
        for word in s.split(':').filter(|w| !w.is_empty()) {
            let word = word.trim_start_matches(' ');
            if word.starts_with("sync") {
                f.sync = true;
            } else if word.starts_with("direct") {
                f.direct = true;
            } else {
                return None;
            }
        }
        Some(f)
    }

    /// `sync`, `direct`, `sync:direct` or the empty string. tgt: `open_flags_to_str()`
    pub fn render(self) -> &'static str {
        match (self.sync, self.direct) {
            (true, true) => "sync:direct",
            (true, false) => "sync",
            (false, true) => "direct",
            (false, false) => "",
        }
    }

    /// True when no flag is set.
    pub fn is_empty(self) -> bool {
        self == Self::NONE
    }

    /// True when every flag of `self` is also in `supported`.
    pub fn is_subset_of(self, supported: Self) -> bool {
        (!self.sync || supported.sync) && (!self.direct || supported.direct)
    }
}

/// A `--bstype` name with what it accepts.
#[derive(Debug, PartialEq, Eq)]
pub struct BsTemplate {
    /// The `--bstype` string, shown as `Backing store type:`.
    pub name: &'static str,
    /// Flags accepted in `bsoflags`.
    pub oflags_supported: OpenFlags,
    /// How this store opens its media.
    pub kind: BsKind,
}

/// The implementation behind a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BsKind {
    /// pread/pwrite on a file or block device.
    Rdwr,
    /// No media: every command succeeds, reads return zeros.
    Null,
    /// Like rdwr, but always O_DIRECT, and READ/WRITE through Linux native AIO.
    Aio,
    /// A Linux SCSI device (`/dev/sgN`, or `/dev/bsg/...` for `bsg`) that every command
    /// of a passthrough LU goes to.
    Sg,
    /// A Ceph RBD image through librbd (only with the `rbd` feature).
    Rbd,
}

const NULL: BsTemplate = BsTemplate {
    name: "null",
    oflags_supported: OpenFlags::NONE,
    kind: BsKind::Null,
};
const RDWR: BsTemplate = BsTemplate {
    name: "rdwr",
    oflags_supported: OpenFlags::SYNC_DIRECT,
    kind: BsKind::Rdwr,
};
// tgt: usr/bs_aio.c registers no `bs_oflags_supported`: `--bsoflags` is refused, and
// the media is always opened O_DIRECT.
const AIO: BsTemplate = BsTemplate {
    name: "aio",
    oflags_supported: OpenFlags::NONE,
    kind: BsKind::Aio,
};
// tgt: usr/bs_sg.c registers sg then bsg, with no `bs_oflags_supported`. Both take
// device type pt only (checked at LU creation).
const SG: BsTemplate = BsTemplate {
    name: "sg",
    oflags_supported: OpenFlags::NONE,
    kind: BsKind::Sg,
};
const BSG: BsTemplate = BsTemplate {
    name: "bsg",
    oflags_supported: OpenFlags::NONE,
    kind: BsKind::Sg,
};

/// Every store this daemon provides, in the order `sys show` lists them: tgt lists
/// aio last (it registers first) and rbd first (its module loads last).
/// COMPAT: C tgt also lists ssc, smc, mmc and sheepdog; we list what we run.
#[cfg(feature = "rbd")]
pub const TEMPLATES: &[BsTemplate] = &[
    BsTemplate {
        name: "rbd",
        oflags_supported: OpenFlags::SYNC_DIRECT,
        kind: BsKind::Rbd,
    },
    BSG,
    SG,
    NULL,
    RDWR,
    AIO,
];

/// Every store this daemon provides, in `sys show` order (no rbd: built without the
/// `rbd` feature, as tgt without Debian's `tgt-rbd`).
#[cfg(not(feature = "rbd"))]
pub const TEMPLATES: &[BsTemplate] = &[BSG, SG, NULL, RDWR, AIO];

/// Names of stores tgt can have that this build leaves out, with why: `--bstype` of one
/// of them is refused with that reason in the log.
pub fn not_built(name: &str) -> Option<&'static str> {
    match name {
        "rbd" if cfg!(not(feature = "rbd")) => {
            Some("tgtd was built without the rbd backing store (cargo feature \"rbd\")")
        }
        _ => None,
    }
}

/// Finds a template by its exact name. tgt: usr/bs.c `get_backingstore_template()`
pub fn lookup(name: &str) -> Option<&'static BsTemplate> {
    TEMPLATES.iter().find(|t| t.name == name)
}

/// The store a disk LU gets without `--bstype`: the iSCSI driver's default.
pub const DEFAULT_BSTYPE: &str = "rdwr";

/// How positioned I/O reaches a LU's media: through the page cache, or with O_DIRECT,
/// which demands aligned buffers, offsets and lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Any buffer, offset and length.
    Buffered,
    /// O_DIRECT: buffers at [`crate::sys::dio::MEM_ALIGN`], offsets and lengths multiples
    /// of `align`, a power of two.
    Direct {
        /// Offset and length alignment (statx `stx_dio_offset_align`, else 512).
        align: u32,
    },
}

impl Access {
    /// The alignment of offsets and lengths (1 when buffered).
    pub fn align(self) -> u64 {
        match self {
            Access::Buffered => 1,
            Access::Direct { align } => u64::from(align.max(1)),
        }
    }

    /// True when `len` bytes at `offset` need no widening: a write of them needs no
    /// read-modify-write.
    pub fn is_aligned(self, offset: u64, len: usize) -> bool {
        let a = self.align();
        offset % a == 0 && u64::try_from(len).is_ok_and(|l| l % a == 0)
    }

    /// The aligned span around `len` bytes at `offset`: its start and length.
    pub fn span(self, offset: u64, len: usize) -> (u64, usize) {
        let a = self.align();
        let start = offset - offset % a;
        let end = offset.saturating_add(u64::try_from(len).unwrap_or(u64::MAX));
        let end = end.div_ceil(a).saturating_mul(a);
        (start, usize::try_from(end - start).unwrap_or(usize::MAX))
    }

    /// What the kernel asks of `file` opened with O_DIRECT (when `direct`), else buffered.
    fn of(file: &File, direct: bool) -> Self {
        if !direct {
            return Access::Buffered;
        }
        let align = crate::sys::dio::dio_align(file.as_fd())
            .ok()
            .flatten()
            .map(|a| a.offset)
            .filter(|a| a.is_power_of_two())
            .unwrap_or(crate::sys::dio::FALLBACK_ALIGN);
        Access::Direct { align }
    }
}

/// Opened media of a LU.
#[derive(Debug)]
pub struct Media {
    /// The open file or block device; `None` for stores without media. Shared with
    /// backing-store workers, which use positioned I/O only.
    pub file: Option<Arc<File>>,
    /// Size in bytes, taken at open time.
    pub size: u64,
    /// `st_blksize` of a regular file (for the automatic lbppbe), if known.
    pub preferred_blksize: Option<u32>,
    /// The media could only be opened read-only; the LU becomes readonly.
    pub read_only_fallback: bool,
    /// Buffered or O_DIRECT, with the alignment O_DIRECT needs.
    pub access: Access,
    /// For a passthrough device: how commands reach it.
    pub passthrough: Option<sg::Passthrough>,
    /// The open RBD image of an rbd LU.
    pub rbd: Option<Arc<rbd::RbdMedia>>,
}

/// Why media could not be opened. Every variant answers `invalid request` to tgtadm.
#[derive(Debug, thiserror::Error)]
pub enum BsError {
    /// open(2) failed.
    #[error("could not open {path}")]
    Open {
        /// The backing path.
        path: PathBuf,
        /// The cause.
        #[source]
        err: io::Error,
    },
    /// fstat or size query failed.
    #[error("cannot get the size of {path}")]
    Size {
        /// The backing path.
        path: PathBuf,
        /// The cause.
        #[source]
        err: io::Error,
    },
    /// An RBD image could not be opened (the cause names pool, image and librados'
    /// error).
    #[error(transparent)]
    Rbd(#[from] rbd::RbdError),
    /// The store is not in this build.
    #[error("{0}")]
    NotBuilt(&'static str),
    /// Neither a regular file nor a block device.
    #[error("cannot use {path}: mode {mode:o} is neither a regular file nor a block device")]
    BadFileType {
        /// The backing path.
        path: PathBuf,
        /// `st_mode`.
        mode: u32,
    },
}

impl BsError {
    /// True for failures tgt reports from `bs_init` (tgtadm's `unknown error`: a wrong
    /// configuration, the cluster unreachable) rather than from `bs_open` (`invalid
    /// request`).
    pub fn is_setup(&self) -> bool {
        matches!(self, BsError::Rbd(e) if e.is_setup())
    }
}

impl BsTemplate {
    /// Opens `path` for a LU of this store, which reads its `bsopts` (rbd only).
    /// tgt: `bs_init`, `bs_open`
    pub fn open(
        &self,
        path: &str,
        oflags: OpenFlags,
        bsopts: Option<&str>,
    ) -> Result<Media, BsError> {
        match self.kind {
            #[cfg(feature = "rbd")]
            BsKind::Rbd => rbd::open(path, oflags, bsopts),
            #[cfg(not(feature = "rbd"))]
            BsKind::Rbd => {
                let _ = bsopts;
                Err(BsError::NotBuilt("rbd"))
            }
            BsKind::Rdwr => rdwr::open(path, oflags),
            BsKind::Null => Ok(null::open()),
            // tgt tells sg from bsg by the node, not by the name the LU was created with.
            BsKind::Sg => sg::open(path),
            // tgt: `bs_aio_open()`: O_RDWR|O_DIRECT, read-only on EACCES/EROFS. Where the
            // file system refuses O_DIRECT (tmpfs before Linux 6.6) the open fails and so
            // does the LU creation, as in tgt.
            BsKind::Aio => rdwr::open(
                path,
                OpenFlags {
                    direct: true,
                    ..oflags
                },
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oflags_parse_like_tgt() {
        assert_eq!(
            OpenFlags::parse("sync"),
            Some(OpenFlags {
                sync: true,
                direct: false
            })
        );
        assert_eq!(
            OpenFlags::parse("direct"),
            Some(OpenFlags {
                sync: false,
                direct: true
            })
        );
        assert_eq!(
            OpenFlags::parse("sync:direct"),
            Some(OpenFlags::SYNC_DIRECT)
        );
        assert_eq!(
            OpenFlags::parse(" syncx: direct"),
            Some(OpenFlags::SYNC_DIRECT)
        );
        assert_eq!(OpenFlags::parse("bogus"), None);
        assert_eq!(OpenFlags::parse("sync:bogus"), None);
        assert_eq!(OpenFlags::parse(""), Some(OpenFlags::NONE));
    }

    #[test]
    fn oflags_render() {
        assert_eq!(OpenFlags::SYNC_DIRECT.render(), "sync:direct");
        assert_eq!(OpenFlags::NONE.render(), "");
    }

    #[test]
    fn lookup_is_exact() {
        assert!(lookup("rdwr").is_some());
        assert!(lookup("rdw").is_none());
        assert!(lookup("RDWR").is_none());
    }

    #[test]
    fn rbd_only_with_its_feature() {
        assert_eq!(lookup("rbd").is_some(), cfg!(feature = "rbd"));
        assert_eq!(not_built("rbd").is_some(), cfg!(not(feature = "rbd")));
        assert_eq!(not_built("rdwr"), None);
        let names: Vec<_> = TEMPLATES.iter().map(|t| t.name).collect();
        if cfg!(feature = "rbd") {
            assert_eq!(names, ["rbd", "bsg", "sg", "null", "rdwr", "aio"]);
        } else {
            assert_eq!(names, ["bsg", "sg", "null", "rdwr", "aio"]);
        }
    }
}
