//! The `rbd` store: LUs on Ceph RBD images through librbd (cargo feature `rbd`; Debian
//! ships C tgt's as the separate package `tgt-rbd`).
//!
//! The backing path is `[pool/]image[@snap]` (pool `rbd` by default; a snapshot is
//! read-only), `bsopts` are `;`-separated `conf=`, `id=`, `cluster=`, `cephx_key=`,
//! `virsecretuuid=`, and the Ceph configuration is found as C tgt finds it: `CEPH_ARGS`,
//! then `conf=` or librados' default search ($CEPH_CONF, /etc/ceph/$cluster.conf, ...).
//! READ, WRITE, SYNCHRONIZE CACHE and single-range deallocations go through librbd's
//! asynchronous calls ([`RbdMedia::submit`]): librbd runs the continuation on its own
//! thread, which hands the response to the submitting loop's completer. Composite
//! commands (VERIFY, COMPARE AND WRITE, ORWRITE, WRITE SAME, multi-range UNMAP) run on
//! the shared worker pool with blocking calls ([`RbdMedia::run`]). Knows nothing of SCSI.
//! tgt: usr/bs_rbd.c.
//!
//! COMPAT: C tgt runs 16 threads per rbd LU with blocking librbd calls. Beyond C, these
//! librados options are set unless the configuration sets them: `rados_osd_op_timeout`,
//! `rados_mon_op_timeout` 30 s and `client_mount_timeout` 30 s, so a silent cluster
//! fails I/O (MEDIUM ERROR) in bounded time instead of hanging it; and always
//! `rbd_cache = false` (an acknowledged write is in the cluster, so killing tgtd loses
//! nothing, as with rdwr's page cache) and `rbd_skip_partial_discard = false` (a
//! deallocated block reads as zeros, as READ CAPACITY's LBPRZ promises).

use std::path::PathBuf;

use super::rdwr_io::{IoDone, IoError, IoOp};
#[cfg(feature = "rbd")]
use super::{Access, BsError, Media, OpenFlags};

/// The pool when the path names none. tgt: `parse_imagepath()`
pub const DEFAULT_POOL: &str = "rbd";

/// Where libvirt keeps secrets named by `virsecretuuid=`.
const LIBVIRT_SECRETS: &str = "/etc/libvirt/secrets/";

/// A backing path `[pool/]image[@snap]`, split as tgt splits it: at the first `/`, then
/// at the first `@` after it. tgt: usr/bs_rbd.c `parse_imagepath()`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagePath {
    /// Pool name.
    pub pool: String,
    /// Image name.
    pub image: String,
    /// Snapshot name (`None` also for an empty one, as tgt passes "" to rbd_open).
    pub snap: Option<String>,
}

impl ImagePath {
    /// Splits `path`.
    pub fn parse(path: &str) -> Self {
        let (pool, rest) = match path.split_once('/') {
            Some((p, r)) => (p, r),
            None => (DEFAULT_POOL, path),
        };
        let (image, snap) = match rest.split_once('@') {
            Some((i, s)) => (i, (!s.is_empty()).then(|| s.to_owned())),
            None => (rest, None),
        };
        Self {
            pool: pool.to_owned(),
            image: image.to_owned(),
            snap,
        }
    }
}

/// `bsopts` of an rbd LU. tgt: usr/bs_rbd.c `bs_rbd_init()`
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RbdOpts {
    /// `conf=`: the ceph.conf to read.
    pub conf: Option<String>,
    /// `id=`: the client id (`client.ID`).
    pub id: Option<String>,
    /// `cluster=`: the cluster name (`/etc/ceph/NAME.conf`).
    pub cluster: Option<String>,
    /// `virsecretuuid=`: the cephx key from /etc/libvirt/secrets/UUID.base64.
    pub virsecretuuid: Option<String>,
    /// `cephx_key=`: the cephx key itself.
    pub cephx_key: Option<String>,
    /// The first unknown option; tgt ignores it and everything after it.
    pub ignored: Option<String>,
}

impl RbdOpts {
    /// Parses `;`-separated `key=value` items as tgt does: a known key takes the text up to
    /// the next `;` (a repeated key: the last wins); at the first unknown item parsing
    /// stops, and the rest is ignored.
    pub fn parse(s: &str) -> Self {
        let mut o = Self::default();
        let mut rest = s;
        while !rest.is_empty() {
            let (item, next) = rest.split_once(';').unwrap_or((rest, ""));
            let slot = match item.split_once('=') {
                Some(("conf", _)) => &mut o.conf,
                Some(("id", _)) => &mut o.id,
                Some(("cluster", _)) => &mut o.cluster,
                Some(("virsecretuuid", _)) => &mut o.virsecretuuid,
                Some(("cephx_key", _)) => &mut o.cephx_key,
                _ => {
                    o.ignored = Some(item.to_owned());
                    break;
                }
            };
            *slot = item.split_once('=').map(|(_, v)| v.to_owned());
            rest = next;
        }
        o
    }

    /// The librados client name `rados_create2` wants with `cluster=`.
    pub fn client_name(&self) -> String {
        format!("client.{}", self.id.as_deref().unwrap_or("admin"))
    }

    /// The file `virsecretuuid=` names.
    pub fn secret_file(&self) -> Option<PathBuf> {
        self.virsecretuuid
            .as_ref()
            .map(|u| PathBuf::from(format!("{LIBVIRT_SECRETS}{u}.base64")))
    }
}

/// The first line of a libvirt secret file (tgt reads at most 255 bytes of it).
pub fn secret_key(text: &str) -> &str {
    let line = text.split('\n').next().unwrap_or("");
    let mut end = line.len().min(255);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    &line[..end]
}

/// Why an rbd LU could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum RbdError {
    /// Options that cannot go together, or a secret that cannot be read.
    #[error("rbd options: {0}")]
    Options(String),
    /// A librados step before the pool is opened failed (configuration, connection).
    #[error("rbd: {step} failed: {}", errno_text(*.errno))]
    Cluster {
        /// The librados call.
        step: &'static str,
        /// Its errno.
        errno: i32,
    },
    /// The pool, image or snapshot could not be opened.
    #[error("rbd: cannot open {step} (pool {pool}, image {image}{}): {}",
        snap.as_ref().map(|s| format!(", snapshot {s}")).unwrap_or_default(), errno_text(*.errno))]
    Open {
        /// `pool` or `image`.
        step: &'static str,
        /// Pool name.
        pool: String,
        /// Image name.
        image: String,
        /// Snapshot name.
        snap: Option<String>,
        /// The errno.
        errno: i32,
    },
}

impl RbdError {
    /// True for failures tgt reports from `bs_init` (`unknown error`) rather than from
    /// `bs_open` (`invalid request`).
    pub fn is_setup(&self) -> bool {
        !matches!(self, RbdError::Open { .. })
    }
}

fn errno_text(errno: i32) -> String {
    std::io::Error::from_raw_os_error(errno).to_string()
}

#[cfg(feature = "rbd")]
fn os(errno: i32) -> std::io::Error {
    std::io::Error::from_raw_os_error(errno)
}

/// A transfer librbd does asynchronously.
pub use crate::sys::rbd_op::RbdOp as RbdIo;

impl RbdIo {
    /// The asynchronous form of `op`, when librbd has one; otherwise `op` comes back.
    pub fn of(op: IoOp) -> Result<Self, IoOp> {
        match op {
            IoOp::Read { offset, len, .. } => Ok(RbdIo::Read { offset, len }),
            // Without librbd's cache an acknowledged write is in the cluster: `sync` (FUA,
            // write cache off) needs no flush.
            IoOp::Write {
                offset,
                data,
                verify: false,
                ..
            } => Ok(RbdIo::Write { offset, data }),
            IoOp::Sync => Ok(RbdIo::Flush),
            IoOp::Deallocate { ranges } if ranges.len() == 1 => {
                let (offset, len) = ranges[0];
                Ok(RbdIo::Discard { offset, len })
            }
            other => Err(other),
        }
    }
}

/// A transfer without its data, to name it in an error.
#[cfg(feature = "rbd")]
#[derive(Debug, Clone, Copy)]
enum Shape {
    Read(u64, usize),
    Write(u64, usize),
    Discard(u64, u64),
    Flush,
}

#[cfg(feature = "rbd")]
impl Shape {
    fn of(io: &RbdIo) -> Self {
        match *io {
            RbdIo::Read { offset, len } => Shape::Read(offset, len),
            RbdIo::Write { offset, ref data } => Shape::Write(offset, data.len()),
            RbdIo::Discard { offset, len } => Shape::Discard(offset, len),
            RbdIo::Flush => Shape::Flush,
        }
    }

    fn error(self, errno: i32) -> IoError {
        let err = os(errno);
        match self {
            Shape::Read(offset, len) => IoError::Read { offset, len, err },
            Shape::Write(offset, len) => IoError::Write { offset, len, err },
            Shape::Discard(offset, len) => IoError::Deallocate { offset, len, err },
            Shape::Flush => IoError::Sync(err),
        }
    }
}

/// The continuation of an asynchronous transfer; runs on a librbd thread.
pub type RbdDone = Box<dyn FnOnce(Result<IoDone, IoError>) + Send>;

/// The open image of an rbd LU.
#[cfg(feature = "rbd")]
#[derive(Debug)]
pub struct RbdMedia {
    image: crate::sys::rbd::Image,
    path: ImagePath,
    /// The resize watch is connected to its LU.
    armed: std::sync::OnceLock<()>,
}

/// The open image of an rbd LU: none exists in a build without the `rbd` feature.
#[cfg(not(feature = "rbd"))]
#[derive(Debug)]
pub enum RbdMedia {}

#[cfg(not(feature = "rbd"))]
impl RbdMedia {
    /// See the `rbd` build.
    pub fn submit(&self, _io: RbdIo, _done: RbdDone) {
        match *self {}
    }
    /// See the `rbd` build.
    pub fn run(&self, _op: IoOp) -> Result<IoDone, IoError> {
        match *self {}
    }
    /// See the `rbd` build.
    pub fn size(&self) -> Result<u64, std::io::Error> {
        match *self {}
    }
    /// See the `rbd` build.
    pub fn watch_once(&self, _make: impl FnOnce() -> Box<dyn Fn() + Send + Sync>) {
        match *self {}
    }
}

#[cfg(feature = "rbd")]
impl RbdMedia {
    /// Starts `io`; `done` receives the result on a librbd thread (or on this one when
    /// librbd refuses the submission).
    pub fn submit(&self, io: RbdIo, done: RbdDone) {
        let shape = Shape::of(&io);
        let is_read = matches!(io, RbdIo::Read { .. });
        let cont: crate::sys::rbd::AioDone = Box::new(move |r| {
            let result = match r {
                Ok(buf) if is_read => Ok(IoDone::Data(buf)),
                Ok(_) => Ok(IoDone::Done),
                Err(errno) => Err(shape.error(errno)),
            };
            done(result);
        });
        if let Err((errno, cont)) = self.image.aio(io, cont) {
            tracing::warn!(pool = %self.path.pool, image = %self.path.image, errno, "rbd: cannot submit i/o");
            cont(Err(errno));
        }
    }

    /// Runs `op` with blocking librbd calls (on a backing-store worker).
    pub fn run(&self, op: IoOp) -> Result<IoDone, IoError> {
        let img = &self.image;
        let read = |offset: u64, len: usize| {
            let mut buf = vec![0u8; len];
            img.read(offset, &mut buf).map_err(|e| IoError::Read {
                offset,
                len,
                err: os(e),
            })?;
            Ok::<_, IoError>(buf)
        };
        let write = |offset: u64, data: &[u8]| {
            img.write(offset, data).map_err(|e| IoError::Write {
                offset,
                len: data.len(),
                err: os(e),
            })
        };
        match op {
            IoOp::Read { offset, len, .. } => read(offset, len).map(IoDone::Data),
            IoOp::Write {
                offset,
                data,
                verify,
                ..
            } => {
                write(offset, &data)?;
                if verify {
                    return Ok(super::rdwr_io::compare(&data, &read(offset, data.len())?));
                }
                Ok(IoDone::Done)
            }
            IoOp::Compare {
                offset, expected, ..
            } => Ok(super::rdwr_io::compare(
                &expected,
                &read(offset, expected.len())?,
            )),
            IoOp::CompareEach {
                offset,
                block,
                blocks,
            } => super::rdwr_io::compare_each(read, offset, &block, blocks),
            IoOp::OrWrite { offset, data, .. } => {
                let mut cur = read(offset, data.len())?;
                cur.iter_mut().zip(&data).for_each(|(c, d)| *c |= d);
                write(offset, &cur)?;
                Ok(IoDone::Done)
            }
            IoOp::CompareAndWrite {
                offset,
                compare: expected,
                write: new,
                ..
            } => {
                let cur = read(offset, expected.len())?;
                if let miss @ IoDone::Miscompare { .. } = super::rdwr_io::compare(&expected, &cur) {
                    return Ok(miss);
                }
                write(offset, &new)?;
                Ok(IoDone::Done)
            }
            IoOp::Sync => {
                img.flush().map_err(|e| IoError::Sync(os(e)))?;
                Ok(IoDone::Done)
            }
            // Read-ahead advice: librbd has none to take.
            IoOp::Prefetch { .. } => Ok(IoDone::Done),
            IoOp::WriteSame {
                lba,
                shift,
                blocks,
                block,
                stamp,
                ..
            } => {
                let bs = block.len().max(1);
                let fill = usize::try_from(blocks)
                    .unwrap_or(usize::MAX)
                    .min((super::rdwr_io::CHUNK / bs).max(1));
                let mut buf = vec![0u8; fill * bs];
                super::rdwr_io::write_same_with(
                    &mut buf, write, lba, shift, blocks, &block, stamp,
                )?;
                Ok(IoDone::Done)
            }
            IoOp::Deallocate { ranges } => {
                for (offset, len) in ranges {
                    if len > 0 {
                        img.discard(offset, len).map_err(|e| IoError::Deallocate {
                            offset,
                            len,
                            err: os(e),
                        })?;
                    }
                }
                Ok(IoDone::Done)
            }
            // COMPAT: every block is reported mapped (tgt answers GET LBA STATUS from the
            // file's holes; an RBD image has none to seek).
            IoOp::LbaStatus { lba, end, .. } => Ok(IoDone::Extents(vec![super::rdwr_io::Extent {
                lba,
                blocks: end.saturating_sub(lba),
                mapped: true,
            }])),
        }
    }

    /// The image's current size.
    pub fn size(&self) -> Result<u64, std::io::Error> {
        self.image.size().map_err(os)
    }

    /// Once per image: `make` builds what runs (on a librbd thread; it must not block)
    /// when the image header changes, e.g. on a resize.
    pub fn watch_once(&self, make: impl FnOnce() -> Box<dyn Fn() + Send + Sync>) {
        if self.armed.set(()).is_ok() {
            self.image.on_change(make());
            // A change before the watch was connected to the LU.
            if self.image.take_changed() {
                tracing::debug!(image = %self.path.image, "rbd: header changed before the LU watched it");
            }
        }
    }
}

/// Sets `option` to `value` unless the configuration gave it a value other than `default`.
#[cfg(feature = "rbd")]
fn default_option(c: &crate::sys::rbd::Cluster, option: &str, default: f64, value: &str) {
    let current = c.get(option).ok();
    let unset = current
        .as_deref()
        .and_then(|v| v.trim().trim_end_matches('s').parse::<f64>().ok())
        .map_or(true, |v| (v - default).abs() < f64::EPSILON);
    if unset {
        if let Err(e) = c.set(option, value) {
            tracing::warn!(option, errno = e, "rbd: cannot set a librados option");
        }
    }
}

/// Connects to the cluster as `bsopts` say. tgt: `bs_rbd_init()`
#[cfg(feature = "rbd")]
fn connect(opts: &RbdOpts) -> Result<crate::sys::rbd::Cluster, RbdError> {
    use crate::sys::rbd::Cluster;
    let cluster_err = |step| move |errno| RbdError::Cluster { step, errno };
    if opts.virsecretuuid.is_some() && opts.cephx_key.is_some() {
        return Err(RbdError::Options(
            "virsecretuuid= and cephx_key= conflict".to_owned(),
        ));
    }
    let key = match opts.secret_file() {
        Some(f) => {
            let text = std::fs::read_to_string(&f)
                .map_err(|e| RbdError::Options(format!("unable to read {}: {e}", f.display())))?;
            Some(secret_key(&text).to_owned())
        }
        None => opts.cephx_key.clone(),
    };
    let mut c = match &opts.cluster {
        Some(name) => Cluster::create(Some(name), &opts.client_name(), None),
        None => Cluster::create(None, "", opts.id.as_deref()),
    }
    .map_err(cluster_err("rados_create"))?;
    c.parse_env().map_err(cluster_err("rados_conf_parse_env"))?;
    c.read_file(opts.conf.as_deref())
        .map_err(cluster_err("rados_conf_read_file"))?;
    if let Some(k) = key {
        c.set("key", &k)
            .map_err(cluster_err("setting the cephx key"))?;
    }
    default_option(&c, "rados_osd_op_timeout", 0.0, "30");
    default_option(&c, "rados_mon_op_timeout", 0.0, "30");
    default_option(&c, "client_mount_timeout", 300.0, "30");
    for (o, v) in [
        ("rbd_cache", "false"),
        ("rbd_skip_partial_discard", "false"),
    ] {
        if let Err(e) = c.set(o, v) {
            tracing::warn!(option = o, errno = e, "rbd: cannot set a librbd option");
        }
    }
    c.connect().map_err(cluster_err("rados_connect"))?;
    Ok(c)
}

/// Opens `path` (`[pool/]image[@snap]`) on the cluster `bsopts` describe. A snapshot
/// opens read-only. `oflags` (sync, direct) are accepted as tgt accepts them and change
/// nothing: without librbd's cache every write is durable when acknowledged.
/// tgt: `bs_rbd_init()`, `bs_rbd_open()`
#[cfg(feature = "rbd")]
pub fn open(path: &str, _oflags: OpenFlags, bsopts: Option<&str>) -> Result<Media, BsError> {
    use crate::sys::rbd::{Image, IoCtx};
    use std::sync::Arc;
    let opts = RbdOpts::parse(bsopts.unwrap_or(""));
    if let Some(i) = &opts.ignored {
        tracing::warn!(option = %i, "rbd: ignoring unknown option and the rest of bsopts");
    }
    let p = ImagePath::parse(path);
    tracing::info!(pool = %p.pool, image = %p.image, snap = p.snap.as_deref().unwrap_or(""),
        conf = opts.conf.as_deref().unwrap_or("(default)"), id = opts.id.as_deref().unwrap_or("(default)"),
        cluster = opts.cluster.as_deref().unwrap_or("(default)"), "rbd: opening image");
    let cluster = Arc::new(connect(&opts)?);
    let open_err = |step, errno| RbdError::Open {
        step,
        pool: p.pool.clone(),
        image: p.image.clone(),
        snap: p.snap.clone(),
        errno,
    };
    let ioctx = IoCtx::create(cluster, &p.pool).map_err(|e| open_err("pool", e))?;
    let image = Image::open(Arc::new(ioctx), &p.image, p.snap.as_deref())
        .map_err(|e| open_err("image", e))?;
    let stat = image.stat().map_err(|e| open_err("image", e))?;
    let read_only = p.snap.is_some();
    Ok(Media {
        file: None,
        size: stat.size,
        preferred_blksize: u32::try_from(stat.obj_size).ok(),
        read_only_fallback: read_only,
        access: Access::Buffered,
        passthrough: None,
        rbd: Some(Arc::new(RbdMedia {
            image,
            path: p,
            armed: std::sync::OnceLock::new(),
        })),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(pool: &str, image: &str, snap: Option<&str>) -> ImagePath {
        ImagePath {
            pool: pool.to_owned(),
            image: image.to_owned(),
            snap: snap.map(str::to_owned),
        }
    }

    #[test]
    fn paths_split_like_tgt() {
        assert_eq!(ImagePath::parse("img"), path("rbd", "img", None));
        assert_eq!(ImagePath::parse("p/img"), path("p", "img", None));
        assert_eq!(ImagePath::parse("p/img@s1"), path("p", "img", Some("s1")));
        assert_eq!(ImagePath::parse("img@s1"), path("rbd", "img", Some("s1")));
        // Only the first '/' separates the pool; only the first '@' the snapshot.
        assert_eq!(ImagePath::parse("p/a/b"), path("p", "a/b", None));
        assert_eq!(ImagePath::parse("p/a@b@c"), path("p", "a", Some("b@c")));
        // An '@' before the '/' belongs to the pool name.
        assert_eq!(ImagePath::parse("p@x/img"), path("p@x", "img", None));
        // An empty snapshot name is no snapshot, as tgt passes "" to rbd_open.
        assert_eq!(ImagePath::parse("p/img@"), path("p", "img", None));
        assert_eq!(ImagePath::parse("/img"), path("", "img", None));
    }

    #[test]
    fn bsopts_parse_like_tgt() {
        let o = RbdOpts::parse("conf=/etc/ceph/x.conf;id=tgt;cluster=ceph2");
        assert_eq!(o.conf.as_deref(), Some("/etc/ceph/x.conf"));
        assert_eq!(o.id.as_deref(), Some("tgt"));
        assert_eq!(o.cluster.as_deref(), Some("ceph2"));
        assert_eq!(o.client_name(), "client.tgt");
        assert_eq!(o.ignored, None);
        let o = RbdOpts::parse("cephx_key=AQB==;virsecretuuid=u-1");
        assert_eq!(o.cephx_key.as_deref(), Some("AQB=="));
        assert_eq!(
            o.secret_file(),
            Some(PathBuf::from("/etc/libvirt/secrets/u-1.base64"))
        );
        // An unknown key stops parsing: what follows is ignored too.
        let o = RbdOpts::parse("conf=a;bogus=1;id=nobody");
        assert_eq!(o.conf.as_deref(), Some("a"));
        assert_eq!(o.id, None);
        assert_eq!(o.ignored.as_deref(), Some("bogus=1"));
        // Prefixes and missing '=' are unknown.
        assert_eq!(
            RbdOpts::parse("config=x").ignored.as_deref(),
            Some("config=x")
        );
        assert_eq!(RbdOpts::parse("conf").ignored.as_deref(), Some("conf"));
        // The last of a repeated key wins; empty values and items are kept as given.
        assert_eq!(RbdOpts::parse("id=a;id=b").id.as_deref(), Some("b"));
        assert_eq!(RbdOpts::parse("id=").id.as_deref(), Some(""));
        let o = RbdOpts::parse("id=a;;conf=x");
        assert_eq!((o.id.as_deref(), o.conf), (Some("a"), None));
        assert_eq!(o.ignored.as_deref(), Some(""));
        assert_eq!(RbdOpts::parse(""), RbdOpts::default());
        // Values may hold '=' (base64 keys).
        assert_eq!(
            RbdOpts::parse("cephx_key=a=b=").cephx_key.as_deref(),
            Some("a=b=")
        );
        assert_eq!(RbdOpts::default().client_name(), "client.admin");
    }

    #[test]
    fn secret_is_the_first_line() {
        assert_eq!(secret_key("AQBk==\nsecond\n"), "AQBk==");
        assert_eq!(secret_key("AQBk=="), "AQBk==");
        assert_eq!(secret_key(&"k".repeat(300)).len(), 255);
    }

    #[test]
    fn transfers_librbd_does_asynchronously() {
        let r = RbdIo::of(IoOp::Read {
            offset: 512,
            len: 4096,
            dpo: true,
        });
        assert!(matches!(
            r,
            Ok(RbdIo::Read {
                offset: 512,
                len: 4096
            })
        ));
        let w = |verify| IoOp::Write {
            offset: 0,
            data: vec![1; 512],
            sync: true,
            dpo: false,
            verify,
        };
        assert!(matches!(RbdIo::of(w(false)), Ok(RbdIo::Write { .. })));
        assert!(matches!(RbdIo::of(w(true)), Err(IoOp::Write { .. })));
        assert!(matches!(RbdIo::of(IoOp::Sync), Ok(RbdIo::Flush)));
        let d = |n: u64| IoOp::Deallocate {
            ranges: (0..n).map(|i| (i * 4096, 4096)).collect(),
        };
        assert!(matches!(
            RbdIo::of(d(1)),
            Ok(RbdIo::Discard {
                offset: 0,
                len: 4096
            })
        ));
        assert!(matches!(RbdIo::of(d(2)), Err(IoOp::Deallocate { .. })));
    }
}
