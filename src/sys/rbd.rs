//! librados and librbd (Ceph's block device library), the few calls the rbd store uses:
//! a cluster handle, a pool's I/O context, an image with blocking and asynchronous I/O,
//! and a header watch that reports resizes.
//!
//! Hand-written against Debian's `librbd-dev`/`librados-dev` 16.2 headers
//! (`rbd/librbd.h`, `rados/librados.h`); linked with `-lrbd -lrados`. Errors are librados'
//! negative errno values, returned here as positive errno numbers.
//!
//! Asynchronous calls: the caller's buffer and continuation are boxed and passed as the
//! completion's argument; librbd calls [`complete`] on one of its own threads, which takes
//! the box back, reads the result, releases the completion and runs the continuation.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

pub use super::rbd_op::RbdOp;

type RadosT = *mut c_void;
type IoCtxT = *mut c_void;
type ImageT = *mut c_void;
type CompletionT = *mut c_void;
type Callback = extern "C" fn(CompletionT, *mut c_void);
type UpdateCallback = extern "C" fn(*mut c_void);

/// `RBD_MAX_BLOCK_NAME_SIZE`
const BLOCK_NAME: usize = 24;
/// `RBD_MAX_IMAGE_NAME_SIZE`
const IMAGE_NAME: usize = 96;

/// `rbd_image_info_t`.
#[repr(C)]
struct ImageInfo {
    size: u64,
    obj_size: u64,
    num_objs: u64,
    order: c_int,
    block_name_prefix: [c_char; BLOCK_NAME],
    parent_pool: i64,
    parent_name: [c_char; IMAGE_NAME],
}

#[link(name = "rados")]
extern "C" {
    fn rados_create(cluster: *mut RadosT, id: *const c_char) -> c_int;
    fn rados_create2(
        cluster: *mut RadosT,
        clustername: *const c_char,
        name: *const c_char,
        flags: u64,
    ) -> c_int;
    fn rados_conf_parse_env(cluster: RadosT, var: *const c_char) -> c_int;
    fn rados_conf_read_file(cluster: RadosT, path: *const c_char) -> c_int;
    fn rados_conf_set(cluster: RadosT, option: *const c_char, value: *const c_char) -> c_int;
    fn rados_conf_get(
        cluster: RadosT,
        option: *const c_char,
        buf: *mut c_char,
        len: usize,
    ) -> c_int;
    fn rados_connect(cluster: RadosT) -> c_int;
    fn rados_shutdown(cluster: RadosT);
    fn rados_ioctx_create(cluster: RadosT, pool: *const c_char, ioctx: *mut IoCtxT) -> c_int;
    fn rados_ioctx_destroy(io: IoCtxT);
}

#[link(name = "rbd")]
extern "C" {
    fn rbd_open(io: IoCtxT, name: *const c_char, image: *mut ImageT, snap: *const c_char) -> c_int;
    fn rbd_close(image: ImageT) -> c_int;
    fn rbd_stat(image: ImageT, info: *mut ImageInfo, infosize: usize) -> c_int;
    fn rbd_get_size(image: ImageT, size: *mut u64) -> c_int;
    fn rbd_read(image: ImageT, ofs: u64, len: usize, buf: *mut c_char) -> isize;
    fn rbd_write(image: ImageT, ofs: u64, len: usize, buf: *const c_char) -> isize;
    fn rbd_discard(image: ImageT, ofs: u64, len: u64) -> c_int;
    fn rbd_flush(image: ImageT) -> c_int;
    fn rbd_aio_create_completion(arg: *mut c_void, cb: Callback, c: *mut CompletionT) -> c_int;
    fn rbd_aio_read(image: ImageT, off: u64, len: usize, buf: *mut c_char, c: CompletionT)
        -> c_int;
    fn rbd_aio_write(
        image: ImageT,
        off: u64,
        len: usize,
        buf: *const c_char,
        c: CompletionT,
    ) -> c_int;
    fn rbd_aio_discard(image: ImageT, off: u64, len: u64, c: CompletionT) -> c_int;
    fn rbd_aio_flush(image: ImageT, c: CompletionT) -> c_int;
    fn rbd_aio_get_return_value(c: CompletionT) -> isize;
    fn rbd_aio_release(c: CompletionT);
    fn rbd_update_watch(
        image: ImageT,
        handle: *mut u64,
        cb: UpdateCallback,
        arg: *mut c_void,
    ) -> c_int;
    fn rbd_update_unwatch(image: ImageT, handle: u64) -> c_int;
}

/// A librados result: `Ok(n)` for `n >= 0`, else the errno.
fn check(r: c_int) -> Result<c_int, i32> {
    if r < 0 {
        Err(-r)
    } else {
        Ok(r)
    }
}

fn cstr(s: &str) -> Result<CString, i32> {
    CString::new(s).map_err(|_| libc::EINVAL)
}

/// A cluster handle (`rados_t`): configured, then connected. Shut down on drop.
#[derive(Debug)]
pub struct Cluster {
    raw: RadosT,
    connected: bool,
}

// SAFETY: librados handles may be used from any thread; librados locks internally.
unsafe impl Send for Cluster {}
// SAFETY: as above: every librados call on a handle is thread-safe.
unsafe impl Sync for Cluster {}

impl Cluster {
    /// `rados_create2(cluster, name)` when `cluster` is given (`name` is the full
    /// `client.ID`), else `rados_create(id)`.
    pub fn create(cluster: Option<&str>, name: &str, id: Option<&str>) -> Result<Self, i32> {
        let mut raw: RadosT = ptr::null_mut();
        let r = match cluster {
            Some(c) => {
                let (c, n) = (cstr(c)?, cstr(name)?);
                // SAFETY: `raw` is a valid out-pointer; both strings are NUL-terminated and
                // outlive the call.
                unsafe { rados_create2(&mut raw, c.as_ptr(), n.as_ptr(), 0) }
            }
            None => {
                let id = id.map(cstr).transpose()?;
                let p = id.as_ref().map_or(ptr::null(), |s| s.as_ptr());
                // SAFETY: `raw` is a valid out-pointer; `p` is NULL (librados' default id) or
                // a NUL-terminated string that outlives the call.
                unsafe { rados_create(&mut raw, p) }
            }
        };
        check(r)?;
        Ok(Self {
            raw,
            connected: false,
        })
    }

    /// Applies `CEPH_ARGS` from the environment. `rados_conf_parse_env(NULL)`
    pub fn parse_env(&self) -> Result<(), i32> {
        // SAFETY: `raw` is a live handle; NULL selects CEPH_ARGS.
        check(unsafe { rados_conf_parse_env(self.raw, ptr::null()) }).map(drop)
    }

    /// Reads `path`, or the default search list ($CEPH_CONF, /etc/ceph/$cluster.conf,
    /// ~/.ceph/$cluster.conf, ./$cluster.conf) when `None`.
    pub fn read_file(&self, path: Option<&str>) -> Result<(), i32> {
        let path = path.map(cstr).transpose()?;
        let p = path.as_ref().map_or(ptr::null(), |s| s.as_ptr());
        // SAFETY: `raw` is live; `p` is NULL or a NUL-terminated string outliving the call.
        check(unsafe { rados_conf_read_file(self.raw, p) }).map(drop)
    }

    /// Sets a configuration option.
    pub fn set(&self, option: &str, value: &str) -> Result<(), i32> {
        let (o, v) = (cstr(option)?, cstr(value)?);
        // SAFETY: `raw` is live; both strings are NUL-terminated and outlive the call.
        check(unsafe { rados_conf_set(self.raw, o.as_ptr(), v.as_ptr()) }).map(drop)
    }

    /// Reads a configuration option as text.
    pub fn get(&self, option: &str) -> Result<String, i32> {
        let o = cstr(option)?;
        let mut buf = vec![0 as c_char; 256];
        // SAFETY: `raw` is live; `buf` is writable for its whole length, which is passed.
        check(unsafe { rados_conf_get(self.raw, o.as_ptr(), buf.as_mut_ptr(), buf.len()) })?;
        // SAFETY: librados NUL-terminated the value within `buf` (it returns -ENAMETOOLONG
        // otherwise, handled above).
        let s = unsafe { CStr::from_ptr(buf.as_ptr()) };
        Ok(s.to_string_lossy().into_owned())
    }

    /// Connects to the monitors (blocks up to `client_mount_timeout`).
    pub fn connect(&mut self) -> Result<(), i32> {
        // SAFETY: `raw` is a live, configured handle.
        check(unsafe { rados_connect(self.raw) })?;
        self.connected = true;
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // SAFETY: `raw` came from rados_create and every I/O context made from it is gone
        // (they hold an `Arc<Cluster>`). rados_shutdown also frees an unconnected handle.
        unsafe { rados_shutdown(self.raw) };
    }
}

/// A pool's I/O context. Destroyed on drop.
#[derive(Debug)]
pub struct IoCtx {
    raw: IoCtxT,
    _cluster: Arc<Cluster>,
}

// SAFETY: librados I/O contexts are thread-safe.
unsafe impl Send for IoCtx {}
// SAFETY: as above.
unsafe impl Sync for IoCtx {}

impl IoCtx {
    /// Opens `pool` on a connected cluster.
    pub fn create(cluster: Arc<Cluster>, pool: &str) -> Result<Self, i32> {
        if !cluster.connected {
            return Err(libc::ENOTCONN);
        }
        let p = cstr(pool)?;
        let mut raw: IoCtxT = ptr::null_mut();
        // SAFETY: the cluster is connected and kept alive by `_cluster`; `p` is
        // NUL-terminated; `raw` is a valid out-pointer.
        check(unsafe { rados_ioctx_create(cluster.raw, p.as_ptr(), &mut raw) })?;
        Ok(Self {
            raw,
            _cluster: cluster,
        })
    }
}

impl Drop for IoCtx {
    fn drop(&mut self) {
        // SAFETY: `raw` came from rados_ioctx_create; images opened on it hold an
        // `Arc<IoCtx>`, so none is left.
        unsafe { rados_ioctx_destroy(self.raw) };
    }
}

/// What the header watch shares with librbd's callback.
struct Watch {
    changed: AtomicBool,
    notify: Mutex<Option<Box<dyn Fn() + Send + Sync>>>,
}

/// Size and object size of an image. `rbd_stat`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Bytes.
    pub size: u64,
    /// Bytes per RADOS object (4 MiB by default).
    pub obj_size: u64,
}

/// An open image (or snapshot, read-only). Closed on drop, after its watch ends.
pub struct Image {
    raw: ImageT,
    watch_handle: Option<u64>,
    watch: Box<Watch>,
    _ioctx: Arc<IoCtx>,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image")
            .field("watching", &self.watch_handle.is_some())
            .finish_non_exhaustive()
    }
}

// SAFETY: librbd image handles are thread-safe: any call may come from any thread.
unsafe impl Send for Image {}
// SAFETY: as above.
unsafe impl Sync for Image {}

/// A failed call's errno, or the bytes it moved.
fn len_result(r: isize) -> Result<usize, i32> {
    usize::try_from(r).map_err(|_| i32::try_from(-r).unwrap_or(libc::EIO))
}

extern "C" fn on_update(arg: *mut c_void) {
    // SAFETY: `arg` is the `Watch` box of a live `Image`: the watch is removed
    // (rbd_update_unwatch waits for running callbacks) before the box is freed.
    let w = unsafe { &*arg.cast::<Watch>() };
    w.changed.store(true, Ordering::Release);
    if let Some(f) = w
        .notify
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
    {
        f();
    }
}

impl Image {
    /// Opens `name` (at snapshot `snap`, read-only, when given) and watches its header.
    pub fn open(ioctx: Arc<IoCtx>, name: &str, snap: Option<&str>) -> Result<Self, i32> {
        let n = cstr(name)?;
        let s = snap.map(cstr).transpose()?;
        let sp = s.as_ref().map_or(ptr::null(), |s| s.as_ptr());
        let mut raw: ImageT = ptr::null_mut();
        // SAFETY: `ioctx` is live (kept by `_ioctx`); the strings are NUL-terminated (or
        // NULL for no snapshot) and outlive the call; `raw` is a valid out-pointer.
        check(unsafe { rbd_open(ioctx.raw, n.as_ptr(), &mut raw, sp) })?;
        let mut image = Self {
            raw,
            watch_handle: None,
            watch: Box::new(Watch {
                changed: AtomicBool::new(false),
                notify: Mutex::new(None),
            }),
            _ioctx: ioctx,
        };
        let mut handle = 0u64;
        let arg: *mut Watch = &mut *image.watch;
        // SAFETY: the image is open; `arg` points into a box that lives as long as the
        // image and is unwatched in Drop before it is freed.
        let r = unsafe { rbd_update_watch(image.raw, &mut handle, on_update, arg.cast()) };
        match check(r) {
            Ok(_) => image.watch_handle = Some(handle),
            Err(e) => tracing::warn!(
                errno = e,
                "rbd: cannot watch the image header; resizes go unnoticed"
            ),
        }
        Ok(image)
    }

    /// Size and object size. `rbd_stat`
    pub fn stat(&self) -> Result<Stat, i32> {
        // SAFETY: ImageInfo is plain old data; all zeros is a valid value.
        let mut info: ImageInfo = unsafe { std::mem::zeroed() };
        // SAFETY: the image is open; `info` is writable and its size is passed.
        check(unsafe { rbd_stat(self.raw, &mut info, std::mem::size_of::<ImageInfo>()) })?;
        Ok(Stat {
            size: info.size,
            obj_size: info.obj_size,
        })
    }

    /// The current size (refreshes the header if it changed). `rbd_get_size`
    pub fn size(&self) -> Result<u64, i32> {
        let mut size = 0u64;
        // SAFETY: the image is open; `size` is a valid out-pointer.
        check(unsafe { rbd_get_size(self.raw, &mut size) })?;
        Ok(size)
    }

    /// True once since the header changed (resize, snapshot...).
    pub fn take_changed(&self) -> bool {
        self.watch.changed.swap(false, Ordering::AcqRel)
    }

    /// Calls `f` on a librbd thread whenever the header changes. `f` must not block nor
    /// call into this image.
    pub fn on_change(&self, f: Box<dyn Fn() + Send + Sync>) {
        *self
            .watch
            .notify
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(f);
    }

    /// Blocking read of exactly `buf.len()` bytes at `offset`.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), i32> {
        // librbd 16 aborts the process on an empty read (C tgt + tgt-rbd dies on
        // libiscsi's Read10.ZeroBlocks that way); nothing to do anyway.
        if buf.is_empty() {
            return Ok(());
        }
        // SAFETY: the image is open; `buf` is writable for the length passed.
        let r = unsafe { rbd_read(self.raw, offset, buf.len(), buf.as_mut_ptr().cast()) };
        match len_result(r)? {
            n if n == buf.len() => Ok(()),
            _ => Err(libc::EIO),
        }
    }

    /// Blocking write of all of `data` at `offset`.
    pub fn write(&self, offset: u64, data: &[u8]) -> Result<(), i32> {
        if data.is_empty() {
            return Ok(());
        }
        // SAFETY: the image is open; `data` is readable for the length passed.
        let r = unsafe { rbd_write(self.raw, offset, data.len(), data.as_ptr().cast()) };
        match len_result(r)? {
            n if n == data.len() => Ok(()),
            _ => Err(libc::EIO),
        }
    }

    /// Blocking discard.
    pub fn discard(&self, offset: u64, len: u64) -> Result<(), i32> {
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the image is open.
        check(unsafe { rbd_discard(self.raw, offset, len) }).map(drop)
    }

    /// Blocking flush of librbd's cache.
    pub fn flush(&self) -> Result<(), i32> {
        // SAFETY: the image is open.
        check(unsafe { rbd_flush(self.raw) }).map(drop)
    }

    /// Starts an asynchronous operation; `done` runs on a librbd thread with the result:
    /// the bytes read for a read, an empty vector otherwise. On a submission error
    /// `done` comes back with the errno.
    pub fn aio(&self, op: RbdOp, done: AioDone) -> Result<(), (i32, AioDone)> {
        // Empty transfers finish here: librbd aborts on an empty read.
        let empty = match &op {
            RbdOp::Read { len, .. } => *len == 0,
            RbdOp::Write { data, .. } => data.is_empty(),
            RbdOp::Discard { len, .. } => *len == 0,
            RbdOp::Flush => false,
        };
        if empty {
            done(Ok(Vec::new()));
            return Ok(());
        }
        let (buf, expect) = match &op {
            RbdOp::Read { len, .. } => (vec![0u8; *len], Some(*len)),
            // An asynchronous write completes with 0, not its length.
            RbdOp::Write { .. } => (Vec::new(), None),
            RbdOp::Discard { .. } | RbdOp::Flush => (Vec::new(), None),
        };
        let pending = Box::into_raw(Box::new(Pending {
            buf,
            op,
            expect,
            done,
        }));
        let mut c: CompletionT = ptr::null_mut();
        // SAFETY: `pending` is a leaked box that `complete` takes back exactly once (or
        // this function on failure); `c` is a valid out-pointer.
        let r = unsafe { rbd_aio_create_completion(pending.cast(), complete, &mut c) };
        if let Err(e) = check(r) {
            // SAFETY: the completion was not created: the box is still ours.
            let p = unsafe { Box::from_raw(pending) };
            return Err((e, p.done));
        }
        // What to submit, as plain values: once submitted, `complete` may free the box on
        // another thread at any moment, so no reference into it may be held across the call.
        let (kind, offset, len, discard_len, ptr) = {
            // SAFETY: `pending` is valid and not shared yet (nothing is submitted).
            let p = unsafe { &mut *pending };
            match &mut p.op {
                RbdOp::Read { offset, len } => (0, *offset, *len, 0, p.buf.as_mut_ptr()),
                RbdOp::Write { offset, data } => (1, *offset, data.len(), 0, data.as_mut_ptr()),
                RbdOp::Discard { offset, len } => (2, *offset, 0, *len, ptr::null_mut()),
                RbdOp::Flush => (3, 0, 0, 0, ptr::null_mut()),
            }
        };
        let r = match kind {
            // SAFETY: the image is open; `ptr` addresses `len` writable bytes of the boxed
            // buffer, which is neither moved nor reallocated until the completion has run.
            0 => unsafe { rbd_aio_read(self.raw, offset, len, ptr.cast(), c) },
            // SAFETY: the image is open; `ptr` addresses the `len` bytes of the boxed data,
            // unchanged until the completion has run.
            1 => unsafe { rbd_aio_write(self.raw, offset, len, ptr.cast_const().cast(), c) },
            // SAFETY: the image is open; `c` is a fresh completion.
            2 => unsafe { rbd_aio_discard(self.raw, offset, discard_len, c) },
            // SAFETY: the image is open; `c` is a fresh completion.
            _ => unsafe { rbd_aio_flush(self.raw, c) },
        };
        if let Err(e) = check(r) {
            // SAFETY: librbd did not take the operation: the completion will never fire,
            // so it and the box are still ours.
            unsafe { rbd_aio_release(c) };
            // SAFETY: as above; `p` is not used after this.
            let p = unsafe { Box::from_raw(pending) };
            return Err((e, p.done));
        }
        Ok(())
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        if let Some(h) = self.watch_handle.take() {
            // SAFETY: the image is open and `h` is its watch; this waits for a running
            // callback, after which `watch` is no longer referenced by librbd.
            unsafe { rbd_update_unwatch(self.raw, h) };
        }
        // SAFETY: the image is open and nothing uses it after this (we are its only
        // owner); rbd_close waits for asynchronous operations in flight.
        unsafe { rbd_close(self.raw) };
    }
}

/// The continuation of an asynchronous operation: the bytes read (reads) or an empty
/// vector, else the errno; runs on a librbd thread.
pub type AioDone = Box<dyn FnOnce(Result<Vec<u8>, i32>) + Send>;

/// An operation in flight: its buffers and continuation.
struct Pending {
    buf: Vec<u8>,
    op: RbdOp,
    /// Bytes a complete transfer returns.
    expect: Option<usize>,
    done: AioDone,
}

extern "C" fn complete(c: CompletionT, arg: *mut c_void) {
    // SAFETY: `arg` is the box leaked by `Image::aio` for this completion, which fires once.
    let p = unsafe { Box::from_raw(arg.cast::<Pending>()) };
    // SAFETY: `c` is the finished completion librbd passed in.
    let r = unsafe { rbd_aio_get_return_value(c) };
    // SAFETY: `c` is not used after this.
    unsafe { rbd_aio_release(c) };
    let Pending {
        buf, expect, done, ..
    } = *p;
    let result = match (len_result(r), expect) {
        (Err(e), _) => Err(e),
        (Ok(n), Some(want)) if n != want => Err(libc::EIO),
        (Ok(_), _) => Ok(buf),
    };
    done(result);
}
