//! The management IPC wire format shared by `tgtd`, `tgtadm` and `tgt-admin`.
//!
//! Owns the byte layout of `struct tgtadm_req` (120 bytes) and `struct tgtadm_rsp` (8 bytes),
//! the mode/op/error code spaces and the socket path rules. It knows nothing about targets,
//! sockets or text: it only turns fixed byte arrays into typed values and back.
//!
//! Source: tgt `usr/tgtadm.h`, `usr/tgtadm_error.h`, `usr/mgmt.c`; facts in
//! `shared/reference/mgmt-protocol.md` §2–§6. All integers are in host byte order, as tgt
//! writes the C structs straight onto the socket.

use std::fmt;
use std::path::PathBuf;

/// Size of `struct tgtadm_req` on the wire. tgt: usr/tgtadm.h
pub const REQ_LEN: usize = 120;
/// Size of `struct tgtadm_rsp` on the wire. tgt: usr/tgtadm.h
pub const RSP_LEN: usize = 8;
/// Largest request body tgtd accepts; longer requests are dropped without an answer.
/// tgt: usr/mgmt.c `MAX_MGT_BUFSIZE`
pub const MGMT_MAX_BODY: usize = 8192;
/// Length of the `lld` field. tgt: usr/tgtadm.h `TGT_LLD_NAME_LEN`
pub const LLD_NAME_LEN: usize = 64;

/// Byte offsets of `struct tgtadm_req` fields (x86_64 gcc layout, no padding).
pub mod req_off {
    /// `enum tgtadm_mode mode`
    pub const MODE: usize = 0;
    /// `enum tgtadm_op op`
    pub const OP: usize = 4;
    /// `char lld[64]`
    pub const LLD: usize = 8;
    /// `uint32_t len`: header plus body
    pub const LEN: usize = 72;
    /// `int32_t tid`
    pub const TID: usize = 76;
    /// `uint64_t sid`
    pub const SID: usize = 80;
    /// `uint64_t lun`
    pub const LUN: usize = 88;
    /// `uint32_t cid`
    pub const CID: usize = 96;
    /// `uint32_t host_no`
    pub const HOST_NO: usize = 100;
    /// `uint32_t device_type`
    pub const DEVICE_TYPE: usize = 104;
    /// `uint32_t ac_dir`
    pub const AC_DIR: usize = 108;
    /// `uint32_t pack`
    pub const PACK: usize = 112;
    /// `uint32_t force`
    pub const FORCE: usize = 116;
}

/// Byte offsets of `struct tgtadm_rsp` fields.
pub mod rsp_off {
    /// `uint32_t err`
    pub const ERR: usize = 0;
    /// `uint32_t len`: header plus body
    pub const LEN: usize = 4;
}

/// `enum tgtadm_mode`. Open: unknown values survive decoding (tgtd answers them).
/// tgt: usr/tgtadm.h
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mode(pub i32);

impl Mode {
    /// `MODE_SYSTEM`
    pub const SYSTEM: Self = Self(0);
    /// `MODE_TARGET`
    pub const TARGET: Self = Self(1);
    /// `MODE_DEVICE` (`logicalunit`)
    pub const DEVICE: Self = Self(2);
    /// `MODE_PORTAL`
    pub const PORTAL: Self = Self(3);
    /// `MODE_LLD`
    pub const LLD: Self = Self(4);
    /// `MODE_SESSION`
    pub const SESSION: Self = Self(5);
    /// `MODE_CONNECTION`
    pub const CONNECTION: Self = Self(6);
    /// `MODE_ACCOUNT`
    pub const ACCOUNT: Self = Self(7);

    /// The name tgtadm prints in its messages for this mode, if it is known.
    pub fn name(self) -> Option<&'static str> {
        MODE_NAMES.iter().find(|(_, m)| *m == self).map(|(n, _)| *n)
    }

    /// Parses a `--mode` argument as tgtadm does (full names and aliases, exact match).
    pub fn parse(s: &str) -> Option<Self> {
        MODE_NAMES
            .iter()
            .chain(MODE_ALIASES)
            .find(|(n, _)| *n == s)
            .map(|(_, m)| *m)
    }
}

/// Canonical mode names. tgt: usr/tgtadm.c `str_to_mode()`
const MODE_NAMES: &[(&str, Mode)] = &[
    ("system", Mode::SYSTEM),
    ("target", Mode::TARGET),
    ("logicalunit", Mode::DEVICE),
    ("portal", Mode::PORTAL),
    ("lld", Mode::LLD),
    ("session", Mode::SESSION),
    ("connection", Mode::CONNECTION),
    ("account", Mode::ACCOUNT),
];

/// Short mode aliases accepted by tgtadm.
const MODE_ALIASES: &[(&str, Mode)] = &[
    ("sys", Mode::SYSTEM),
    ("tgt", Mode::TARGET),
    ("lu", Mode::DEVICE),
    ("pt", Mode::PORTAL),
    ("sess", Mode::SESSION),
    ("conn", Mode::CONNECTION),
];

impl fmt::Debug for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "Mode({})", self.0),
        }
    }
}

/// `enum tgtadm_op`. Open: unknown values survive decoding. tgt: usr/tgtadm.h
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Op(pub i32);

impl Op {
    /// `OP_NEW`
    pub const NEW: Self = Self(0);
    /// `OP_DELETE`
    pub const DELETE: Self = Self(1);
    /// `OP_SHOW`
    pub const SHOW: Self = Self(2);
    /// `OP_BIND`
    pub const BIND: Self = Self(3);
    /// `OP_UNBIND`
    pub const UNBIND: Self = Self(4);
    /// `OP_UPDATE`
    pub const UPDATE: Self = Self(5);
    /// `OP_STATS` (`--op stat`)
    pub const STATS: Self = Self(6);
    /// `OP_START`
    pub const START: Self = Self(7);
    /// `OP_STOP`
    pub const STOP: Self = Self(8);

    /// The `--op` name of this operation, if it is known.
    pub fn name(self) -> Option<&'static str> {
        OP_NAMES.iter().find(|(_, o)| *o == self).map(|(n, _)| *n)
    }

    /// Parses an `--op` argument as tgtadm does (exact match).
    pub fn parse(s: &str) -> Option<Self> {
        OP_NAMES.iter().find(|(n, _)| *n == s).map(|(_, o)| *o)
    }
}

/// tgt: usr/tgtadm.c `str_to_op()`
const OP_NAMES: &[(&str, Op)] = &[
    ("new", Op::NEW),
    ("delete", Op::DELETE),
    ("show", Op::SHOW),
    ("bind", Op::BIND),
    ("unbind", Op::UNBIND),
    ("update", Op::UPDATE),
    ("stat", Op::STATS),
    ("start", Op::START),
    ("stop", Op::STOP),
];

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "Op({})", self.0),
        }
    }
}

/// `enum tgtadm_errno`: the result code in `tgtadm_rsp.err`. tgt: usr/tgtadm_error.h
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrCode(pub u32);

impl ErrCode {
    /// `TGTADM_SUCCESS`
    pub const SUCCESS: Self = Self(0);
    /// `TGTADM_UNKNOWN_ERR`
    pub const UNKNOWN_ERR: Self = Self(1);
    /// `TGTADM_NOMEM`
    pub const NOMEM: Self = Self(2);
    /// `TGTADM_NO_DRIVER`
    pub const NO_DRIVER: Self = Self(3);
    /// `TGTADM_NO_TARGET`
    pub const NO_TARGET: Self = Self(4);
    /// `TGTADM_NO_LUN`
    pub const NO_LUN: Self = Self(5);
    /// `TGTADM_NO_SESSION`
    pub const NO_SESSION: Self = Self(6);
    /// `TGTADM_NO_CONNECTION`
    pub const NO_CONNECTION: Self = Self(7);
    /// `TGTADM_NO_BINDING`
    pub const NO_BINDING: Self = Self(8);
    /// `TGTADM_TARGET_EXIST`
    pub const TARGET_EXIST: Self = Self(9);
    /// `TGTADM_LUN_EXIST`
    pub const LUN_EXIST: Self = Self(10);
    /// `TGTADM_BINDING_EXIST`
    pub const BINDING_EXIST: Self = Self(11);
    /// `TGTADM_ACL_EXIST`
    pub const ACL_EXIST: Self = Self(12);
    /// `TGTADM_ACL_NOEXIST`
    pub const ACL_NOEXIST: Self = Self(13);
    /// `TGTADM_USER_EXIST`
    pub const USER_EXIST: Self = Self(14);
    /// `TGTADM_NO_USER`
    pub const NO_USER: Self = Self(15);
    /// `TGTADM_TOO_MANY_USER`
    pub const TOO_MANY_USER: Self = Self(16);
    /// `TGTADM_INVALID_REQUEST`
    pub const INVALID_REQUEST: Self = Self(17);
    /// `TGTADM_OUTACCOUNT_EXIST`
    pub const OUTACCOUNT_EXIST: Self = Self(18);
    /// `TGTADM_TARGET_ACTIVE`
    pub const TARGET_ACTIVE: Self = Self(19);
    /// `TGTADM_LUN_ACTIVE`
    pub const LUN_ACTIVE: Self = Self(20);
    /// `TGTADM_DRIVER_ACTIVE`
    pub const DRIVER_ACTIVE: Self = Self(21);
    /// `TGTADM_UNSUPPORTED_OPERATION`
    pub const UNSUPPORTED_OPERATION: Self = Self(22);
    /// `TGTADM_UNKNOWN_PARAM`
    pub const UNKNOWN_PARAM: Self = Self(23);
    /// `TGTADM_PREVENT_REMOVAL`
    pub const PREVENT_REMOVAL: Self = Self(24);

    /// The text tgtadm prints after `tgtadm: ` for this code. tgt: usr/tgtadm.c `tgtadm_strerror()`
    pub fn message(self) -> &'static str {
        const MSGS: [&str; 25] = [
            "success",
            "unknown error",
            "out of memory",
            "can't find the driver",
            "can't find the target",
            "can't find the logical unit",
            "can't find the session",
            "can't find the connection",
            "can't find the binding",
            "this target already exists",
            "this logical unit number already exists",
            "this binding already exists",
            "this access control rule already exists",
            "this access control rule does not exist",
            "this account already exists",
            "can't find the account",
            "too many accounts",
            "invalid request",
            "this target already has an outgoing account",
            "this target is still active",
            "this logical unit is still active",
            "this driver is busy",
            "this operation isn't supported",
            "unknown parameter",
            "this device has Prevent Removal set",
        ];
        usize::try_from(self.0)
            .ok()
            .and_then(|i| MSGS.get(i))
            .copied()
            .unwrap_or("(unknown tgtadm_errno)")
    }

    /// True for `TGTADM_SUCCESS`.
    pub fn is_success(self) -> bool {
        self == Self::SUCCESS
    }
}

impl fmt::Debug for ErrCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ErrCode({}: {})", self.0, self.message())
    }
}

impl fmt::Display for ErrCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// `tid` value meaning "no tid given" (tgtadm's default) and, for account bind/unbind, the
/// global (discovery) target `GLOBAL_TID = ~0U`. Both are all-ones on the wire.
pub const TID_NONE: i32 = -1;
/// `lun` value meaning "no lun given".
pub const LUN_NONE: u64 = u64::MAX;
/// `ac_dir` for incoming (initiator-authenticating) accounts.
pub const AC_DIR_INCOMING: u32 = 0;
/// `ac_dir` for outgoing (mutual CHAP) accounts.
pub const AC_DIR_OUTGOING: u32 = 1;

/// Decoded `struct tgtadm_req`. tgt: usr/tgtadm.h
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    /// Management mode.
    pub mode: Mode,
    /// Operation in that mode.
    pub op: Op,
    /// Low-level driver name, NUL padded; may lack a NUL when 64 bytes long.
    pub lld: [u8; LLD_NAME_LEN],
    /// Header plus body length in bytes.
    pub len: u32,
    /// Target id, [`TID_NONE`] when absent.
    pub tid: i32,
    /// Session id (iSCSI TSIH).
    pub sid: u64,
    /// Logical unit number, [`LUN_NONE`] when absent.
    pub lun: u64,
    /// Connection id.
    pub cid: u32,
    /// SCSI host number for host bindings.
    pub host_no: u32,
    /// SCSI peripheral device type for `logicalunit new`.
    pub device_type: u32,
    /// Account direction: [`AC_DIR_INCOMING`] or [`AC_DIR_OUTGOING`].
    pub ac_dir: u32,
    /// Unused by both sides; carried for byte fidelity.
    pub pack: u32,
    /// Non-zero for `--force`.
    pub force: u32,
}

impl Default for Request {
    /// The header tgtadm starts from: no tid, no lun, everything else zero.
    fn default() -> Self {
        Self {
            mode: Mode::SYSTEM,
            op: Op::NEW,
            lld: [0; LLD_NAME_LEN],
            len: REQ_LEN_U32,
            tid: TID_NONE,
            sid: 0,
            lun: LUN_NONE,
            cid: 0,
            host_no: 0,
            device_type: 0,
            ac_dir: 0,
            pack: 0,
            force: 0,
        }
    }
}

/// [`REQ_LEN`] as the wire's `u32`.
pub const REQ_LEN_U32: u32 = 120;
/// [`RSP_LEN`] as the wire's `u32`.
pub const RSP_LEN_U32: u32 = 8;

fn u32_at<const N: usize>(b: &[u8; N], off: usize) -> u32 {
    u32::from_ne_bytes(
        b[off..off + 4]
            .try_into()
            .expect("const offset inside the fixed header"),
    )
}

fn i32_at<const N: usize>(b: &[u8; N], off: usize) -> i32 {
    i32::from_ne_bytes(
        b[off..off + 4]
            .try_into()
            .expect("const offset inside the fixed header"),
    )
}

fn u64_at<const N: usize>(b: &[u8; N], off: usize) -> u64 {
    u64::from_ne_bytes(
        b[off..off + 8]
            .try_into()
            .expect("const offset inside the fixed header"),
    )
}

fn put<const N: usize>(b: &mut [u8; N], off: usize, v: &[u8]) {
    b[off..off + v.len()].copy_from_slice(v);
}

/// Why a request header cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// `len` is smaller than the header itself.
    #[error("request length {len} is shorter than the {REQ_LEN}-byte header")]
    LenTooShort {
        /// The `len` field.
        len: u32,
    },
    /// The body would exceed [`MGMT_MAX_BODY`].
    #[error("request body of {body} bytes exceeds the {MGMT_MAX_BODY}-byte limit")]
    BodyTooLong {
        /// Body length derived from `len`.
        body: usize,
    },
}

impl Request {
    /// Decodes a header from its 120 wire bytes. Every bit pattern decodes.
    pub fn decode(b: &[u8; REQ_LEN]) -> Self {
        let mut lld = [0u8; LLD_NAME_LEN];
        lld.copy_from_slice(&b[req_off::LLD..req_off::LLD + LLD_NAME_LEN]);
        Self {
            mode: Mode(i32_at(b, req_off::MODE)),
            op: Op(i32_at(b, req_off::OP)),
            lld,
            len: u32_at(b, req_off::LEN),
            tid: i32_at(b, req_off::TID),
            sid: u64_at(b, req_off::SID),
            lun: u64_at(b, req_off::LUN),
            cid: u32_at(b, req_off::CID),
            host_no: u32_at(b, req_off::HOST_NO),
            device_type: u32_at(b, req_off::DEVICE_TYPE),
            ac_dir: u32_at(b, req_off::AC_DIR),
            pack: u32_at(b, req_off::PACK),
            force: u32_at(b, req_off::FORCE),
        }
    }

    /// Encodes the header into its 120 wire bytes.
    pub fn encode(&self) -> [u8; REQ_LEN] {
        let mut b = [0u8; REQ_LEN];
        put(&mut b, req_off::MODE, &self.mode.0.to_ne_bytes());
        put(&mut b, req_off::OP, &self.op.0.to_ne_bytes());
        put(&mut b, req_off::LLD, &self.lld);
        put(&mut b, req_off::LEN, &self.len.to_ne_bytes());
        put(&mut b, req_off::TID, &self.tid.to_ne_bytes());
        put(&mut b, req_off::SID, &self.sid.to_ne_bytes());
        put(&mut b, req_off::LUN, &self.lun.to_ne_bytes());
        put(&mut b, req_off::CID, &self.cid.to_ne_bytes());
        put(&mut b, req_off::HOST_NO, &self.host_no.to_ne_bytes());
        put(
            &mut b,
            req_off::DEVICE_TYPE,
            &self.device_type.to_ne_bytes(),
        );
        put(&mut b, req_off::AC_DIR, &self.ac_dir.to_ne_bytes());
        put(&mut b, req_off::PACK, &self.pack.to_ne_bytes());
        put(&mut b, req_off::FORCE, &self.force.to_ne_bytes());
        b
    }

    /// The body length announced by `len`, bounded by [`MGMT_MAX_BODY`].
    pub fn body_len(&self) -> Result<usize, WireError> {
        let body = self
            .len
            .checked_sub(REQ_LEN_U32)
            .ok_or(WireError::LenTooShort { len: self.len })?;
        let body =
            usize::try_from(body).map_err(|_| WireError::BodyTooLong { body: usize::MAX })?;
        if body > MGMT_MAX_BODY {
            return Err(WireError::BodyTooLong { body });
        }
        Ok(body)
    }

    /// The driver name: bytes up to the first NUL, at most 63 (tgtd forces `lld[63] = 0`).
    pub fn lld_name(&self) -> &[u8] {
        let field = &self.lld[..LLD_NAME_LEN - 1];
        let end = field.iter().position(|&c| c == 0).unwrap_or(field.len());
        &field[..end]
    }

    /// Sets the `lld` field like tgtadm's `strncpy(req->lld, name, 64)`.
    pub fn set_lld(&mut self, name: &[u8]) {
        self.lld = [0; LLD_NAME_LEN];
        let n = name.len().min(LLD_NAME_LEN);
        self.lld[..n].copy_from_slice(&name[..n]);
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("mode", &self.mode)
            .field("op", &self.op)
            .field("lld", &String::from_utf8_lossy(self.lld_name()))
            .field("len", &self.len)
            .field("tid", &self.tid)
            .field("sid", &self.sid)
            .field("lun", &self.lun)
            .field("cid", &self.cid)
            .field("host_no", &self.host_no)
            .field("device_type", &self.device_type)
            .field("ac_dir", &self.ac_dir)
            .field("force", &self.force)
            .finish()
    }
}

/// Decoded `struct tgtadm_rsp`. tgt: usr/tgtadm.h
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response {
    /// Result code.
    pub err: ErrCode,
    /// Header plus body length.
    pub len: u32,
}

impl Response {
    /// Decodes the 8 response bytes.
    pub fn decode(b: &[u8; RSP_LEN]) -> Self {
        Self {
            err: ErrCode(u32_at(b, rsp_off::ERR)),
            len: u32_at(b, rsp_off::LEN),
        }
    }

    /// Encodes the 8 response bytes.
    pub fn encode(&self) -> [u8; RSP_LEN] {
        let mut b = [0u8; RSP_LEN];
        put(&mut b, rsp_off::ERR, &self.err.0.to_ne_bytes());
        put(&mut b, rsp_off::LEN, &self.len.to_ne_bytes());
        b
    }
}

/// Builds the complete answer tgtd sends: header, then the text and one NUL when the request
/// succeeded with text; an error or empty text gives the bare 8-byte header.
/// tgt: usr/mgmt.c `tgt_mgmt()`
pub fn encode_reply(err: ErrCode, text: &str) -> Vec<u8> {
    if !err.is_success() || text.is_empty() {
        return Response {
            err,
            len: RSP_LEN_U32,
        }
        .encode()
        .to_vec();
    }
    let body = text.len() + 1;
    let len = u32::try_from(RSP_LEN + body).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(RSP_LEN + body);
    out.extend_from_slice(&Response { err, len }.encode());
    out.extend_from_slice(text.as_bytes());
    out.push(0);
    out
}

/// Default socket path prefix. tgt: usr/tgtadm.h `TGT_IPC_NAMESPACE`
pub const DEFAULT_IPC_PREFIX: &str = "/var/run/tgtd/socket";
/// Directory tgtd creates when `TGT_IPC_SOCKET` is unset. tgt: usr/tgtadm.h `TGT_IPC_DIR`
pub const DEFAULT_IPC_DIR: &str = "/var/run/tgtd";
/// Environment variable overriding [`DEFAULT_IPC_PREFIX`].
pub const IPC_ENV: &str = "TGT_IPC_SOCKET";
/// Longest socket path that fits `sun_path` with its NUL.
pub const SUN_PATH_MAX: usize = 107;

/// The socket path prefix: `$TGT_IPC_SOCKET` when set (even empty), else the default.
/// Returns whether the default was used (tgtd then creates [`DEFAULT_IPC_DIR`]).
pub fn ipc_prefix() -> (std::ffi::OsString, bool) {
    match std::env::var_os(IPC_ENV) {
        Some(p) => (p, false),
        None => (DEFAULT_IPC_PREFIX.into(), true),
    }
}

/// `<prefix>.<port>`: the management socket path.
pub fn socket_path(prefix: &std::ffi::OsStr, port: i16) -> PathBuf {
    let mut p = prefix.to_os_string();
    p.push(format!(".{port}"));
    PathBuf::from(p)
}

/// `<prefix>.<port>.lock`: the lock file path.
pub fn lock_path(prefix: &std::ffi::OsStr, port: i16) -> PathBuf {
    let mut p = prefix.to_os_string();
    p.push(format!(".{port}.lock"));
    PathBuf::from(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    /// Mirror of tgt's C struct, used only to check the named offsets.
    #[repr(C)]
    struct CReq {
        mode: i32,
        op: i32,
        lld: [u8; 64],
        len: u32,
        tid: i32,
        sid: u64,
        lun: u64,
        cid: u32,
        host_no: u32,
        device_type: u32,
        ac_dir: u32,
        pack: u32,
        force: u32,
    }

    #[repr(C)]
    struct CRsp {
        err: u32,
        len: u32,
    }

    #[test]
    fn offsets_match_c_layout() {
        assert_eq!(size_of::<CReq>(), REQ_LEN);
        assert_eq!(size_of::<CRsp>(), RSP_LEN);
        assert_eq!(offset_of!(CReq, mode), req_off::MODE);
        assert_eq!(offset_of!(CReq, op), req_off::OP);
        assert_eq!(offset_of!(CReq, lld), req_off::LLD);
        assert_eq!(offset_of!(CReq, len), req_off::LEN);
        assert_eq!(offset_of!(CReq, tid), req_off::TID);
        assert_eq!(offset_of!(CReq, sid), req_off::SID);
        assert_eq!(offset_of!(CReq, lun), req_off::LUN);
        assert_eq!(offset_of!(CReq, cid), req_off::CID);
        assert_eq!(offset_of!(CReq, host_no), req_off::HOST_NO);
        assert_eq!(offset_of!(CReq, device_type), req_off::DEVICE_TYPE);
        assert_eq!(offset_of!(CReq, ac_dir), req_off::AC_DIR);
        assert_eq!(offset_of!(CReq, pack), req_off::PACK);
        assert_eq!(offset_of!(CReq, force), req_off::FORCE);
        assert_eq!(offset_of!(CRsp, err), rsp_off::ERR);
        assert_eq!(offset_of!(CRsp, len), rsp_off::LEN);
    }

    /// Bytes of `tgtadm -C 21 --lld iscsi --mode target --op new --tid 1 --targetname
    /// iqn.2001-04.com.example:facts.t1` (mgmt-protocol.md §14.1), header only.
    const TARGET_NEW_HDR: [u8; REQ_LEN] = {
        let mut b = [0u8; REQ_LEN];
        b[0] = 0x01;
        b[8] = b'i';
        b[9] = b's';
        b[10] = b'c';
        b[11] = b's';
        b[12] = b'i';
        b[72] = 0xa4;
        b[76] = 0x01;
        let mut i = 88;
        while i < 96 {
            b[i] = 0xff;
            i += 1;
        }
        b
    };

    #[test]
    fn decodes_captured_target_new() {
        let r = Request::decode(&TARGET_NEW_HDR);
        assert_eq!(r.mode, Mode::TARGET);
        assert_eq!(r.op, Op::NEW);
        assert_eq!(r.lld_name(), b"iscsi");
        assert_eq!(r.len, 164);
        assert_eq!(r.tid, 1);
        assert_eq!(r.sid, 0);
        assert_eq!(r.lun, u64::MAX);
        assert_eq!(r.body_len(), Ok(44));
        assert_eq!(r.encode(), TARGET_NEW_HDR);
    }

    #[test]
    fn short_len_is_rejected() {
        let mut r = Request::decode(&TARGET_NEW_HDR);
        r.len = 119;
        assert_eq!(r.body_len(), Err(WireError::LenTooShort { len: 119 }));
        r.len = 0;
        assert_eq!(r.body_len(), Err(WireError::LenTooShort { len: 0 }));
    }

    #[test]
    fn oversized_body_is_rejected() {
        let mut r = Request::decode(&TARGET_NEW_HDR);
        r.len = 120 + 8192;
        assert_eq!(r.body_len(), Ok(8192));
        r.len = 120 + 8193;
        assert_eq!(r.body_len(), Err(WireError::BodyTooLong { body: 8193 }));
        r.len = u32::MAX;
        assert!(r.body_len().is_err());
    }

    #[test]
    fn lld_without_nul_is_cut_at_63() {
        let mut r = Request::default();
        r.set_lld(&[b'x'; 70]);
        assert_eq!(r.lld, [b'x'; 64]);
        assert_eq!(r.lld_name().len(), 63);
    }

    #[test]
    fn error_messages_match_tgtadm() {
        assert_eq!(ErrCode(17).message(), "invalid request");
        assert_eq!(ErrCode(24).message(), "this device has Prevent Removal set");
        assert_eq!(ErrCode(25).message(), "(unknown tgtadm_errno)");
        assert_eq!(ErrCode(u32::MAX).message(), "(unknown tgtadm_errno)");
    }

    #[test]
    fn reply_framing() {
        assert_eq!(encode_reply(ErrCode(17), "x"), [17, 0, 0, 0, 8, 0, 0, 0]);
        assert_eq!(encode_reply(ErrCode(0), ""), [0, 0, 0, 0, 8, 0, 0, 0]);
        assert_eq!(
            encode_reply(ErrCode(0), "ab\n"),
            [0, 0, 0, 0, 12, 0, 0, 0, b'a', b'b', b'\n', 0]
        );
    }

    #[test]
    fn mode_and_op_names() {
        assert_eq!(Mode::parse("lu"), Some(Mode::DEVICE));
        assert_eq!(Mode::parse("logicalunit"), Some(Mode::DEVICE));
        assert_eq!(Mode::parse("Target"), None);
        assert_eq!(Op::parse("stat"), Some(Op::STATS));
        assert_eq!(Op::parse("stats"), None);
    }
}
