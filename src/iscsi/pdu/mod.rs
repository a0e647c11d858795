//! iSCSI PDUs on the wire, sans IO: the 48-byte Basic Header Segment, the additional header
//! segments, digests, framing of a byte stream into PDUs and of PDUs into `writev` pieces.
//!
//! Owns the byte layout of every PDU of RFC 7143 §11 and nothing about what a PDU means: no
//! sequence numbers are tracked, no session state is kept, no socket is touched. The login
//! and full-feature state machines decode requests with [`Request::decode`], build answers
//! with the encoders in [`target`] and hand the bytes to `iscsi::tcp`.
//!
//! - [`Bhs`], [`Opcode`]: RFC 7143 §11.2 (the header template), §11.2.1.2 (opcodes).
//! - [`initiator`]: the PDUs a target receives (§11.3, 11.5, 11.7.1, 11.10, 11.12, 11.14,
//!   11.16, 11.18) as typed views, decoded from a [`Bhs`] and encodable for tests and tools.
//! - [`target`]: the PDUs a target sends (§11.4, 11.6, 11.7.2, 11.8, 11.9, 11.11, 11.13, 11.15,
//!   11.17, 11.19), encoded to 48 bytes and decodable for tests and tools.
//! - [`ahs`]: §11.2.2 additional header segments (extended CDB, bidirectional read length).
//! - [`digest`]: §11.2.3 header and data digests (CRC32C, §13.1).
//! - [`frame`]: §11.1 lengths and padding: [`PduReader`] (receive) and [`TxFrame`] (send).
//!
//! Decoding is strict on lengths (checked before anything is allocated) and liberal on
//! field values where the RFC leaves room; field values the state machines must answer with
//! a particular response (for example a reserved login stage, which tgt answers with a Login
//! Response rather than a Reject) are kept as open newtypes for them to judge.

pub mod ahs;
pub mod digest;
pub mod frame;
pub mod initiator;
pub mod target;

use std::fmt;

pub use ahs::Ahs;
pub use frame::{Pdu, PduReader, TxFrame};
pub use initiator::{
    DataOut, LoginRequest, LogoutRequest, NopOut, Request, ScsiCommand, Snack, TaskMgmt,
    TextRequest,
};
pub use target::{
    AsyncMessage, DataIn, LoginResponse, LogoutResponse, NopIn, R2t, Reject, Response,
    ScsiResponse, TaskMgmtResponse, TextResponse, TsihOrder,
};

/// Length of the Basic Header Segment. RFC 7143 §11.2.1
pub const BHS_LEN: usize = 48;
/// Largest DataSegmentLength the 24-bit field can carry. RFC 7143 §11.2.1.6
pub const MAX_DSL: u32 = 0x00ff_ffff;
/// Largest TotalAHSLength accepted, in bytes. The field counts 4-byte words (up to 1020
/// bytes), but the AHS types RFC 7143 §11.2.2 defines add up to 256: an extended CDB for the
/// longest (260-byte) CDB takes 248 bytes and the bidirectional read length 8.
// COMPAT: tgt reads up to 1020 bytes of AHS in the full feature phase; nothing valid is
// longer than 256, so more is refused (fatal, as for a length over its limit).
pub const MAX_AHS_LEN: usize = 256;
/// The reserved tag value (ITT or TTT "no tag"). RFC 7143 §11.2.1.8, §11.7.4
pub const RESERVED_TAG: u32 = 0xffff_ffff;

/// Byte offsets in the BHS that every PDU shares. RFC 7143 §11.2.1
pub mod off {
    /// Byte 0: reserved bit, I bit, opcode.
    pub const OPCODE: usize = 0;
    /// Byte 1: F bit and opcode-specific flags.
    pub const FLAGS: usize = 1;
    /// Byte 4: TotalAHSLength in 4-byte words.
    pub const TOTAL_AHS_LEN: usize = 4;
    /// Bytes 5-7: DataSegmentLength.
    pub const DSL: usize = 5;
    /// Bytes 8-15: LUN or opcode-specific.
    pub const LUN: usize = 8;
    /// Bytes 16-19: Initiator Task Tag.
    pub const ITT: usize = 16;
}

/// Bits of byte 0. RFC 7143 §11.2.1.1, §11.2.1.2
mod byte0 {
    /// I: immediate delivery (initiator PDUs only).
    pub const IMMEDIATE: u8 = 0x40;
    /// The six opcode bits.
    pub const OPCODE_MASK: u8 = 0x3f;
}

/// The F (final) bit in byte 1, common to most PDUs. RFC 7143 §11.2.1.3
pub const FLAG_FINAL: u8 = 0x80;

/// An iSCSI opcode (the low six bits of byte 0). Unknown values survive decoding and print
/// as hex. RFC 7143 §11.2.1.2
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Opcode(pub u8);

impl Opcode {
    /// NOP-Out. RFC 7143 §11.18
    pub const NOP_OUT: Self = Self(0x00);
    /// SCSI Command (encapsulates a SCSI CDB). RFC 7143 §11.3
    pub const SCSI_CMD: Self = Self(0x01);
    /// SCSI Task Management Function Request. RFC 7143 §11.5
    pub const TASK_MGMT: Self = Self(0x02);
    /// Login Request. RFC 7143 §11.12
    pub const LOGIN: Self = Self(0x03);
    /// Text Request. RFC 7143 §11.10
    pub const TEXT: Self = Self(0x04);
    /// SCSI Data-Out (for write operations). RFC 7143 §11.7
    pub const DATA_OUT: Self = Self(0x05);
    /// Logout Request. RFC 7143 §11.14
    pub const LOGOUT: Self = Self(0x06);
    /// SNACK Request. RFC 7143 §11.16
    pub const SNACK: Self = Self(0x10);
    /// NOP-In. RFC 7143 §11.19
    pub const NOP_IN: Self = Self(0x20);
    /// SCSI Response. RFC 7143 §11.4
    pub const SCSI_RSP: Self = Self(0x21);
    /// SCSI Task Management Function Response. RFC 7143 §11.6
    pub const TASK_MGMT_RSP: Self = Self(0x22);
    /// Login Response. RFC 7143 §11.13
    pub const LOGIN_RSP: Self = Self(0x23);
    /// Text Response. RFC 7143 §11.11
    pub const TEXT_RSP: Self = Self(0x24);
    /// SCSI Data-In (for read operations). RFC 7143 §11.7
    pub const DATA_IN: Self = Self(0x25);
    /// Logout Response. RFC 7143 §11.15
    pub const LOGOUT_RSP: Self = Self(0x26);
    /// Ready To Transfer. RFC 7143 §11.8
    pub const R2T: Self = Self(0x31);
    /// Asynchronous Message. RFC 7143 §11.9
    pub const ASYNC_MSG: Self = Self(0x32);
    /// Reject. RFC 7143 §11.17
    pub const REJECT: Self = Self(0x3f);

    /// The PDU's name as the RFC writes it, or `None` for values the RFC does not define
    /// (reserved, and the vendor-specific 0x1c-0x1f and 0x3c-0x3e).
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::NOP_OUT => "NOP-Out",
            Self::SCSI_CMD => "SCSI Command",
            Self::TASK_MGMT => "Task Management Request",
            Self::LOGIN => "Login Request",
            Self::TEXT => "Text Request",
            Self::DATA_OUT => "SCSI Data-Out",
            Self::LOGOUT => "Logout Request",
            Self::SNACK => "SNACK Request",
            Self::NOP_IN => "NOP-In",
            Self::SCSI_RSP => "SCSI Response",
            Self::TASK_MGMT_RSP => "Task Management Response",
            Self::LOGIN_RSP => "Login Response",
            Self::TEXT_RSP => "Text Response",
            Self::DATA_IN => "SCSI Data-In",
            Self::LOGOUT_RSP => "Logout Response",
            Self::R2T => "R2T",
            Self::ASYNC_MSG => "Asynchronous Message",
            Self::REJECT => "Reject",
            _ => return None,
        })
    }

    /// Whether the RFC defines this opcode (initiator or target).
    pub fn is_known(self) -> bool {
        self.name().is_some()
    }

    /// Whether this is a PDU an initiator sends (bit 5 clear). RFC 7143 §11.2.1.2
    pub fn is_initiator(self) -> bool {
        self.0 & 0x20 == 0
    }
}

impl fmt::Debug for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}"),
            None => write!(f, "Opcode({:#04x})", self.0),
        }
    }
}

impl fmt::Display for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Initiator Task Tag: the initiator's handle for a task. RFC 7143 §11.2.1.8
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Itt(pub u32);

impl Itt {
    /// 0xffffffff: no task (unsolicited NOP-In, Reject, Async Message).
    pub const RESERVED: Self = Self(RESERVED_TAG);
}

/// Target Transfer Tag: the target's handle for a transfer or a ping. RFC 7143 §11.7.4
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ttt(pub u32);

impl Ttt {
    /// 0xffffffff: no transfer tag (unsolicited data, a NOP-Out that wants no answer).
    pub const RESERVED: Self = Self(RESERVED_TAG);
}

/// Initiator Session ID: 6 bytes (T, A, B, C, D fields), echoed opaquely. RFC 7143 §11.12.5
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Isid(pub [u8; 6]);

/// The 8-byte LUN field as sent; the SCSI layer decodes the addressing (SAM). RFC 7143
/// §11.2.1.7
pub type LunField = [u8; 8];

/// Reason codes of the Reject PDU. RFC 7143 §11.17.1
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RejectReason(pub u8);

impl RejectReason {
    /// 0x02 Data (payload) digest error; the original PDU may be resent.
    pub const DATA_DIGEST_ERROR: Self = Self(0x02);
    /// 0x03 SNACK Reject; the original PDU may be resent.
    pub const SNACK_REJECT: Self = Self(0x03);
    /// 0x04 Protocol Error (e.g. SNACK Request for a status already acknowledged).
    pub const PROTOCOL_ERROR: Self = Self(0x04);
    /// 0x05 Command not supported.
    pub const COMMAND_NOT_SUPPORTED: Self = Self(0x05);
    /// 0x06 Immediate command reject: too many immediate commands.
    pub const IMMEDIATE_COMMAND_REJECT: Self = Self(0x06);
    /// 0x07 Task in progress.
    pub const TASK_IN_PROGRESS: Self = Self(0x07);
    /// 0x08 Invalid data ack.
    pub const INVALID_DATA_ACK: Self = Self(0x08);
    /// 0x09 Invalid PDU field.
    pub const INVALID_PDU_FIELD: Self = Self(0x09);
    /// 0x0a Long op reject: cannot generate a Target Transfer Tag, out of resources.
    pub const OUT_OF_RESOURCES: Self = Self(0x0a);
    /// 0x0b Deprecated (was "Negotiation Reset" in RFC 3720).
    pub const NEGOTIATION_RESET: Self = Self(0x0b);
    /// 0x0c Waiting for Logout.
    pub const WAITING_FOR_LOGOUT: Self = Self(0x0c);
}

impl fmt::Debug for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match *self {
            Self::DATA_DIGEST_ERROR => "DATA_DIGEST_ERROR",
            Self::SNACK_REJECT => "SNACK_REJECT",
            Self::PROTOCOL_ERROR => "PROTOCOL_ERROR",
            Self::COMMAND_NOT_SUPPORTED => "COMMAND_NOT_SUPPORTED",
            Self::IMMEDIATE_COMMAND_REJECT => "IMMEDIATE_COMMAND_REJECT",
            Self::TASK_IN_PROGRESS => "TASK_IN_PROGRESS",
            Self::INVALID_DATA_ACK => "INVALID_DATA_ACK",
            Self::INVALID_PDU_FIELD => "INVALID_PDU_FIELD",
            Self::OUT_OF_RESOURCES => "OUT_OF_RESOURCES",
            Self::NEGOTIATION_RESET => "NEGOTIATION_RESET",
            Self::WAITING_FOR_LOGOUT => "WAITING_FOR_LOGOUT",
            _ => return write!(f, "RejectReason({:#04x})", self.0),
        };
        f.write_str(name)
    }
}

/// Why a header, a PDU or a byte stream was refused. Each variant says which Reject reason
/// (if any) answers it and whether the stream is still in step ([`PduError::is_fatal`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PduError {
    /// Fewer than 48 bytes where a BHS was expected.
    #[error("header of {len} bytes is shorter than the 48-byte BHS")]
    ShortHeader {
        /// Bytes available.
        len: usize,
    },
    /// An opcode RFC 7143 does not define (reserved or vendor-specific).
    #[error("unknown opcode {0:?}")]
    UnknownOpcode(Opcode),
    /// A defined opcode in the wrong place: a target PDU sent to the target, or a typed view
    /// decoded from a header of another type.
    #[error("unexpected {got:?} where {expected} was expected")]
    UnexpectedOpcode {
        /// The opcode found.
        got: Opcode,
        /// What the decoder wanted.
        expected: &'static str,
    },
    /// TotalAHSLength above [`MAX_AHS_LEN`].
    #[error("TotalAHSLength of {len} bytes exceeds {max}")]
    AhsTooLong {
        /// TotalAHSLength in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// DataSegmentLength above the negotiated MaxRecvDataSegmentLength.
    #[error("DataSegmentLength {dsl} exceeds MaxRecvDataSegmentLength {max}")]
    SegmentTooLong {
        /// DataSegmentLength.
        dsl: u32,
        /// The limit in force.
        max: u32,
    },
    /// A field holds a value the RFC forbids for this PDU.
    #[error("invalid {field} in {opcode:?}")]
    InvalidField {
        /// The PDU type.
        opcode: Opcode,
        /// The field, as the RFC names it.
        field: &'static str,
    },
    /// The additional header segments do not parse.
    #[error("malformed AHS: {reason}")]
    BadAhs {
        /// What is wrong.
        reason: &'static str,
    },
    /// The header digest does not match: the lengths in the header cannot be trusted.
    #[error("header digest {received:#010x} does not match computed {computed:#010x}")]
    HeaderDigest {
        /// The digest sent.
        received: u32,
        /// The digest of the bytes received.
        computed: u32,
    },
    /// The data digest does not match; the PDU is dropped but the stream is in step.
    #[error("data digest {received:#010x} does not match computed {computed:#010x}")]
    DataDigest {
        /// The header of the damaged PDU, for the Reject's data segment.
        bhs: Bhs,
        /// The digest sent.
        received: u32,
        /// The digest of the bytes received.
        computed: u32,
    },
    /// An outgoing header's DataSegmentLength differs from the data handed with it.
    #[error("header says {dsl} data bytes but {len} were given")]
    LengthMismatch {
        /// DataSegmentLength in the header.
        dsl: u32,
        /// Bytes of data given.
        len: usize,
    },
    /// The reader already failed; the connection must be closed.
    #[error("receive stream is out of step after an earlier error")]
    Failed,
}

impl PduError {
    /// The Reject reason that answers this error (RFC 7143 §11.17.1), or `None` when no Reject
    /// may be sent: after a header digest error the header itself is suspect, and the RFC
    /// (§7, "Digest Errors") says to discard or close (tgt closes); errors of our own sending
    /// side have no peer to tell.
    pub fn reject_reason(&self) -> Option<RejectReason> {
        match self {
            Self::UnknownOpcode(_) => Some(RejectReason::COMMAND_NOT_SUPPORTED),
            Self::ShortHeader { .. }
            | Self::UnexpectedOpcode { .. }
            | Self::AhsTooLong { .. }
            | Self::SegmentTooLong { .. } => Some(RejectReason::PROTOCOL_ERROR),
            Self::InvalidField { .. } | Self::BadAhs { .. } => {
                Some(RejectReason::INVALID_PDU_FIELD)
            }
            Self::DataDigest { .. } => Some(RejectReason::DATA_DIGEST_ERROR),
            Self::HeaderDigest { .. } | Self::LengthMismatch { .. } | Self::Failed => None,
        }
    }

    /// Whether the byte stream is out of step (or the header untrustworthy), so the connection
    /// must be closed after any Reject. Errors in a decoded PDU's fields are not fatal: the
    /// framing around them was sound.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            Self::ShortHeader { .. }
                | Self::AhsTooLong { .. }
                | Self::SegmentTooLong { .. }
                | Self::HeaderDigest { .. }
                | Self::Failed
        )
    }
}

/// A Basic Header Segment: the first 48 bytes of every PDU. RFC 7143 §11.2.1
///
/// It keeps the bytes as received (a Reject returns them verbatim) and decodes fields on
/// access. Typed views come from [`Request::decode`], [`Response::decode`] or each PDU
/// type's `decode`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Bhs([u8; BHS_LEN]);

impl Bhs {
    /// Wraps 48 bytes without checking anything; [`Bhs::check_lengths`] and the typed
    /// decoders do the checking.
    pub const fn from_bytes(raw: [u8; BHS_LEN]) -> Self {
        Self(raw)
    }

    /// Decodes a header: the opcode must be one RFC 7143 defines, TotalAHSLength at most
    /// [`MAX_AHS_LEN`] and DataSegmentLength at most `max_recv_dsl`.
    pub fn decode(raw: &[u8; BHS_LEN], max_recv_dsl: u32) -> Result<Self, PduError> {
        let bhs = Self(*raw);
        bhs.check_lengths(max_recv_dsl)?;
        if !bhs.opcode().is_known() {
            return Err(PduError::UnknownOpcode(bhs.opcode()));
        }
        Ok(bhs)
    }

    /// [`Bhs::decode`] from the start of a slice (fewer than 48 bytes is an error).
    pub fn decode_prefix(buf: &[u8], max_recv_dsl: u32) -> Result<Self, PduError> {
        let raw: &[u8; BHS_LEN] = buf
            .get(..BHS_LEN)
            .and_then(|b| b.try_into().ok())
            .ok_or(PduError::ShortHeader { len: buf.len() })?;
        Self::decode(raw, max_recv_dsl)
    }

    /// Checks the two lengths against their limits before anything is allocated for them.
    // COMPAT: tgt bounds DataSegmentLength only during login (8192 bytes with the AHS); in
    // the full feature phase it allocates whatever the header says, up to 16 MiB. We hold
    // every PDU to the MaxRecvDataSegmentLength we declared (RFC 7143 §13.12).
    pub fn check_lengths(&self, max_recv_dsl: u32) -> Result<(), PduError> {
        let ahs = self.total_ahs_len();
        if ahs > MAX_AHS_LEN {
            return Err(PduError::AhsTooLong {
                len: ahs,
                max: MAX_AHS_LEN,
            });
        }
        let dsl = self.data_segment_len();
        if dsl > max_recv_dsl {
            return Err(PduError::SegmentTooLong {
                dsl,
                max: max_recv_dsl,
            });
        }
        Ok(())
    }

    /// The 48 bytes.
    pub fn as_bytes(&self) -> &[u8; BHS_LEN] {
        &self.0
    }

    /// The opcode. RFC 7143 §11.2.1.2
    pub fn opcode(&self) -> Opcode {
        Opcode(self.0[off::OPCODE] & byte0::OPCODE_MASK)
    }

    /// The I (immediate delivery) bit. RFC 7143 §11.2.1.1
    pub fn immediate(&self) -> bool {
        self.0[off::OPCODE] & byte0::IMMEDIATE != 0
    }

    /// Byte 1: the F bit and the opcode-specific flags. RFC 7143 §11.2.1.3
    pub fn flags(&self) -> u8 {
        self.0[off::FLAGS]
    }

    /// The F (final) bit. RFC 7143 §11.2.1.3
    pub fn is_final(&self) -> bool {
        self.flags() & FLAG_FINAL != 0
    }

    /// TotalAHSLength in bytes (the field counts 4-byte words). RFC 7143 §11.2.1.5
    pub fn total_ahs_len(&self) -> usize {
        usize::from(self.0[off::TOTAL_AHS_LEN]) * 4
    }

    /// DataSegmentLength: payload bytes, excluding padding. RFC 7143 §11.2.1.6
    pub fn data_segment_len(&self) -> u32 {
        u32::from_be_bytes([
            0,
            self.0[off::DSL],
            self.0[off::DSL + 1],
            self.0[off::DSL + 2],
        ])
    }

    /// DataSegmentLength rounded up to the 4-byte boundary: bytes on the wire. RFC 7143 §11.1
    pub fn padded_data_len(&self) -> usize {
        padded(self.data_segment_len())
    }

    /// The LUN field (bytes 8-15), raw. RFC 7143 §11.2.1.7
    pub fn lun(&self) -> LunField {
        array_at(&self.0, off::LUN)
    }

    /// The Initiator Task Tag. RFC 7143 §11.2.1.8
    pub fn itt(&self) -> Itt {
        Itt(u32_at(&self.0, off::ITT))
    }

    /// The big-endian u32 at `off` (opcode-specific fields).
    pub fn u32_at(&self, off: usize) -> u32 {
        u32_at(&self.0, off)
    }

    /// The big-endian u16 at `off` (opcode-specific fields).
    pub fn u16_at(&self, off: usize) -> u16 {
        u16_at(&self.0, off)
    }

    /// The byte at `off`.
    pub fn byte(&self, off: usize) -> u8 {
        self.0[off]
    }
}

impl fmt::Debug for Bhs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bhs")
            .field("opcode", &self.opcode())
            .field("immediate", &self.immediate())
            .field("flags", &format_args!("{:#04x}", self.flags()))
            .field("ahs_len", &self.total_ahs_len())
            .field("dsl", &self.data_segment_len())
            .field("itt", &format_args!("{:#010x}", self.itt().0))
            .finish_non_exhaustive()
    }
}

/// `len` rounded up to a multiple of 4. RFC 7143 §11.1
pub fn padded(len: u32) -> usize {
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    len.saturating_add(3) & !3
}

fn u32_at(b: &[u8; BHS_LEN], off: usize) -> u32 {
    u32::from_be_bytes(array_at(b, off))
}

fn u16_at(b: &[u8; BHS_LEN], off: usize) -> u16 {
    u16::from_be_bytes(array_at(b, off))
}

fn array_at<const N: usize>(b: &[u8; BHS_LEN], off: usize) -> [u8; N] {
    b[off..off + N]
        .try_into()
        .expect("const field offsets lie inside the 48-byte BHS")
}

/// Builds a BHS field by field; every encoder starts here so reserved bytes stay zero.
#[derive(Debug, Clone, Copy)]
struct BhsBuilder([u8; BHS_LEN]);

impl BhsBuilder {
    /// Opcode, I bit and flags byte, with DataSegmentLength from `data_len` (clamped to
    /// the 24-bit field; [`TxFrame::new`] refuses a header whose length disagrees with its
    /// data, so a clamped length can never reach the wire).
    fn new(opcode: Opcode, immediate: bool, flags: u8, data_len: usize) -> Self {
        let mut b = [0u8; BHS_LEN];
        b[off::OPCODE] =
            (opcode.0 & byte0::OPCODE_MASK) | if immediate { byte0::IMMEDIATE } else { 0 };
        b[off::FLAGS] = flags;
        let dsl = u32::try_from(data_len).unwrap_or(MAX_DSL).min(MAX_DSL);
        let d = dsl.to_be_bytes();
        b[off::DSL..off::DSL + 3].copy_from_slice(&d[1..]);
        Self(b)
    }

    fn byte(mut self, off: usize, v: u8) -> Self {
        self.0[off] = v;
        self
    }

    fn u16(mut self, off: usize, v: u16) -> Self {
        self.0[off..off + 2].copy_from_slice(&v.to_be_bytes());
        self
    }

    fn u32(mut self, off: usize, v: u32) -> Self {
        self.0[off..off + 4].copy_from_slice(&v.to_be_bytes());
        self
    }

    fn bytes(mut self, off: usize, v: &[u8]) -> Self {
        self.0[off..off + v.len()].copy_from_slice(v);
        self
    }

    /// TotalAHSLength in 4-byte words.
    fn ahs_words(self, words: u8) -> Self {
        self.byte(off::TOTAL_AHS_LEN, words)
    }

    fn finish(self) -> [u8; BHS_LEN] {
        self.0
    }
}

/// Checks the opcode for a typed view.
fn expect_opcode(bhs: &Bhs, want: Opcode, expected: &'static str) -> Result<(), PduError> {
    if bhs.opcode() == want {
        Ok(())
    } else {
        Err(PduError::UnexpectedOpcode {
            got: bhs.opcode(),
            expected,
        })
    }
}

/// RFC 7143 requires TotalAHSLength and DataSegmentLength to be 0 for some PDU types
/// (Task Management Request §11.5.2, Logout Request §11.14.2).
// COMPAT: tgt ignores a data segment on these; we answer with a Reject (invalid PDU field)
// rather than act on a malformed request.
fn expect_no_segments(bhs: &Bhs) -> Result<(), PduError> {
    if bhs.total_ahs_len() != 0 {
        return Err(PduError::InvalidField {
            opcode: bhs.opcode(),
            field: "TotalAHSLength",
        });
    }
    if bhs.data_segment_len() != 0 {
        return Err(PduError::InvalidField {
            opcode: bhs.opcode(),
            field: "DataSegmentLength",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(bytes: &[(usize, u8)]) -> [u8; BHS_LEN] {
        let mut b = [0u8; BHS_LEN];
        for &(i, v) in bytes {
            b[i] = v;
        }
        b
    }

    #[test]
    fn common_fields_decode_from_their_rfc_offsets() {
        // NOP-Out, immediate, F, TotalAHSLength 2 words, DSL 0x010203, LUN 1, ITT 0x0a0b0c0d.
        let raw = hdr(&[
            (0, 0x40),
            (1, 0x80),
            (4, 0x02),
            (5, 0x01),
            (6, 0x02),
            (7, 0x03),
            (9, 0x01),
            (16, 0x0a),
            (17, 0x0b),
            (18, 0x0c),
            (19, 0x0d),
        ]);
        let bhs = Bhs::decode(&raw, MAX_DSL).unwrap();
        assert_eq!(bhs.opcode(), Opcode::NOP_OUT);
        assert!(bhs.immediate());
        assert!(bhs.is_final());
        assert_eq!(bhs.total_ahs_len(), 8);
        assert_eq!(bhs.data_segment_len(), 0x0001_0203);
        assert_eq!(bhs.padded_data_len(), 0x0001_0204);
        assert_eq!(bhs.lun(), [0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(bhs.itt(), Itt(0x0a0b_0c0d));
        assert_eq!(bhs.as_bytes(), &raw);
    }

    #[test]
    fn unknown_and_vendor_opcodes_are_refused_but_kept() {
        for op in [0x07u8, 0x1c, 0x1f, 0x27, 0x3c] {
            let err = Bhs::decode(&hdr(&[(0, op)]), 8192).unwrap_err();
            assert_eq!(err, PduError::UnknownOpcode(Opcode(op)));
            assert_eq!(err.reject_reason(), Some(RejectReason(0x05)));
            assert!(!err.is_fatal());
        }
        // The reserved top bit of byte 0 is ignored, as tgt masks it off.
        assert_eq!(
            Bhs::decode(&hdr(&[(0, 0x81)]), 8192).unwrap().opcode(),
            Opcode(0x01)
        );
        assert_eq!(format!("{:?}", Opcode(0x1d)), "Opcode(0x1d)");
        assert_eq!(format!("{:?}", Opcode(0x21)), "SCSI Response");
    }

    #[test]
    fn lengths_are_bounded_before_anything_else() {
        // DSL 8193 against a limit of 8192.
        let raw = hdr(&[(0, 0x01), (6, 0x20), (7, 0x01)]);
        let err = Bhs::decode(&raw, 8192).unwrap_err();
        assert_eq!(
            err,
            PduError::SegmentTooLong {
                dsl: 8193,
                max: 8192
            }
        );
        assert!(err.is_fatal());
        assert_eq!(err.reject_reason(), Some(RejectReason(0x04)));
        assert!(Bhs::decode(&hdr(&[(0, 0x01), (6, 0x20)]), 8192).is_ok());
        // TotalAHSLength 65 words = 260 bytes > 256; 64 words pass.
        let err = Bhs::decode(&hdr(&[(0, 0x01), (4, 65)]), 8192).unwrap_err();
        assert_eq!(err, PduError::AhsTooLong { len: 260, max: 256 });
        assert!(Bhs::decode(&hdr(&[(0, 0x01), (4, 64)]), 8192).is_ok());
        // An unknown opcode with a bad length reports the length first: it is fatal.
        assert!(Bhs::decode(&hdr(&[(0, 0x07), (5, 1)]), 8192)
            .unwrap_err()
            .is_fatal());
    }

    #[test]
    fn short_input_is_refused() {
        assert_eq!(
            Bhs::decode_prefix(&[0u8; 47], 8192),
            Err(PduError::ShortHeader { len: 47 })
        );
        assert_eq!(
            Bhs::decode_prefix(&[], 8192),
            Err(PduError::ShortHeader { len: 0 })
        );
        let mut long = vec![0u8; 60];
        long[0] = 0x20;
        assert_eq!(
            Bhs::decode_prefix(&long, 8192).unwrap().opcode(),
            Opcode::NOP_IN
        );
    }

    #[test]
    fn padding_rounds_up_to_words() {
        assert_eq!(padded(0), 0);
        assert_eq!(padded(1), 4);
        assert_eq!(padded(4), 4);
        assert_eq!(padded(5), 8);
        assert_eq!(padded(MAX_DSL), 0x0100_0000);
    }

    #[test]
    fn builder_clamps_oversized_lengths() {
        let b = BhsBuilder::new(Opcode::DATA_IN, false, 0, 0x0100_0000).finish();
        assert_eq!(&b[5..8], &[0xff, 0xff, 0xff]);
    }

    #[test]
    fn opcode_classes() {
        assert!(Opcode::SNACK.is_initiator());
        assert!(!Opcode::REJECT.is_initiator());
        assert!(Opcode::R2T.is_known());
        assert!(!Opcode(0x30).is_known());
    }
}
