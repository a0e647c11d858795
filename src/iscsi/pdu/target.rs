//! The PDUs a target sends, with encoders to 48 bytes. RFC 7143 §11.4, §11.6, §11.7, §11.8,
//! §11.9, §11.11, §11.13, §11.15, §11.17, §11.19.
//!
//! `encode` fills DataSegmentLength from the length of the data that goes with the header
//! ([`super::TxFrame::new`] checks that they agree) and leaves reserved bytes zero. `decode`
//! exists for tests and for tools that play the initiator.

use super::initiator::Stage;
use super::{
    expect_opcode, off, Bhs, BhsBuilder, Isid, Itt, LunField, Opcode, PduError, RejectReason, Ttt,
    BHS_LEN, FLAG_FINAL, RESERVED_TAG,
};

/// The Response field of a SCSI Response (iSCSI service response). RFC 7143 §11.4.3
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScsiResponseCode(pub u8);

impl ScsiResponseCode {
    /// 0x00 Command Completed at Target (the Status field is valid).
    pub const COMPLETED: Self = Self(0x00);
    /// 0x01 Target Failure.
    pub const TARGET_FAILURE: Self = Self(0x01);
}

/// Task management response codes. RFC 7143 §11.6.1
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TmfResponse(pub u8);

impl TmfResponse {
    /// 0 Function complete.
    pub const COMPLETE: Self = Self(0);
    /// 1 Task does not exist.
    pub const NO_TASK: Self = Self(1);
    /// 2 LUN does not exist.
    pub const NO_LUN: Self = Self(2);
    /// 3 Task still allegiant.
    pub const TASK_ALLEGIANT: Self = Self(3);
    /// 4 Task allegiance reassignment not supported.
    pub const NO_REASSIGNMENT: Self = Self(4);
    /// 5 Task management function not supported.
    pub const NOT_SUPPORTED: Self = Self(5);
    /// 6 Function authorization failed.
    pub const AUTHORIZATION_FAILED: Self = Self(6);
    /// 255 Function rejected.
    pub const REJECTED: Self = Self(255);
}

/// Logout Response codes. RFC 7143 §11.15.1
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LogoutResponseCode(pub u8);

impl LogoutResponseCode {
    /// 0 Connection or session closed successfully.
    pub const SUCCESS: Self = Self(0);
    /// 1 CID not found.
    pub const CID_NOT_FOUND: Self = Self(1);
    /// 2 Connection recovery is not supported.
    pub const RECOVERY_NOT_SUPPORTED: Self = Self(2);
    /// 3 Cleanup failed for various reasons.
    pub const CLEANUP_FAILED: Self = Self(3);
}

/// AsyncEvent codes. RFC 7143 §11.9.1
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AsyncEvent(pub u8);

impl AsyncEvent {
    /// 0 A SCSI asynchronous event is reported in the sense data.
    pub const SCSI: Self = Self(0);
    /// 1 The target requests a Logout.
    pub const REQUEST_LOGOUT: Self = Self(1);
    /// 2 The target will drop the connection.
    pub const DROPPING_CONNECTION: Self = Self(2);
    /// 3 The target will drop all connections of the session.
    pub const DROPPING_ALL_CONNECTIONS: Self = Self(3);
    /// 4 The target requests parameter negotiation.
    pub const REQUEST_NEGOTIATION: Self = Self(4);
    /// 255 Vendor-specific.
    pub const VENDOR_SPECIFIC: Self = Self(255);
}

/// Status-Class and Status-Detail of a Login Response. RFC 7143 §11.13.5
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LoginStatus {
    /// Status-Class: 0 success, 1 redirection, 2 initiator error, 3 target error.
    pub class: u8,
    /// Status-Detail, meaningful within the class.
    pub detail: u8,
}

impl LoginStatus {
    const fn new(class: u8, detail: u8) -> Self {
        Self { class, detail }
    }
    /// 0/0 Success.
    pub const SUCCESS: Self = Self::new(0, 0);
    /// 1/1 Target moved temporarily (TargetAddress follows).
    pub const TARGET_MOVED_TEMPORARILY: Self = Self::new(1, 1);
    /// 1/2 Target moved permanently (TargetAddress follows).
    pub const TARGET_MOVED_PERMANENTLY: Self = Self::new(1, 2);
    /// 2/0 Initiator error (miscellaneous).
    pub const INITIATOR_ERROR: Self = Self::new(2, 0);
    /// 2/1 Authentication failure.
    pub const AUTHENTICATION_FAILURE: Self = Self::new(2, 1);
    /// 2/2 Authorization failure.
    pub const AUTHORIZATION_FAILURE: Self = Self::new(2, 2);
    /// 2/3 Not found.
    pub const NOT_FOUND: Self = Self::new(2, 3);
    /// 2/4 Target removed.
    pub const TARGET_REMOVED: Self = Self::new(2, 4);
    /// 2/5 Unsupported version.
    pub const UNSUPPORTED_VERSION: Self = Self::new(2, 5);
    /// 2/6 Too many connections.
    pub const TOO_MANY_CONNECTIONS: Self = Self::new(2, 6);
    /// 2/7 Missing parameter.
    pub const MISSING_PARAMETER: Self = Self::new(2, 7);
    /// 2/8 Can't include in session.
    pub const CANT_INCLUDE_IN_SESSION: Self = Self::new(2, 8);
    /// 2/9 Session type not supported.
    pub const SESSION_TYPE_NOT_SUPPORTED: Self = Self::new(2, 9);
    /// 2/10 Session does not exist.
    pub const SESSION_DOES_NOT_EXIST: Self = Self::new(2, 0x0a);
    /// 2/11 Invalid request during login.
    pub const INVALID_DURING_LOGIN: Self = Self::new(2, 0x0b);
    /// 3/0 Target error (miscellaneous).
    pub const TARGET_ERROR: Self = Self::new(3, 0);
    /// 3/1 Service unavailable.
    pub const SERVICE_UNAVAILABLE: Self = Self::new(3, 1);
    /// 3/2 Out of resources.
    pub const OUT_OF_RESOURCES: Self = Self::new(3, 2);
}

/// Byte order of the TSIH field in Login Responses.
///
/// COMPAT: C tgt stores the TSIH into the Login Response without `htons`, so on x86 it goes
/// out little-endian (captured: session 23 as bytes `17 00`, reference §7.2). Initiators
/// echo the field opaquely, so both work; [`TsihOrder::BigEndian`] is RFC 7143 §11.13.3 and
/// the default. A session layer that chooses [`TsihOrder::Host`] for byte-identical
/// responses must read the TSIH of later Login Requests back through
/// [`TsihOrder::from_wire`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TsihOrder {
    /// Network byte order, as the RFC says.
    #[default]
    BigEndian,
    /// The host's byte order, as C tgt writes it.
    Host,
}

impl TsihOrder {
    fn to_wire(self, tsih: u16) -> [u8; 2] {
        match self {
            Self::BigEndian => tsih.to_be_bytes(),
            Self::Host => tsih.to_ne_bytes(),
        }
    }

    /// The session's TSIH from a Login Request field decoded big-endian
    /// ([`super::LoginRequest::tsih`]), for a target that sent it in this order.
    pub fn from_wire(self, be_decoded: u16) -> u16 {
        match self {
            Self::BigEndian => be_decoded,
            Self::Host => u16::from_ne_bytes(be_decoded.to_be_bytes()),
        }
    }
}

/// Byte-1 bits of the target PDUs.
mod bit {
    /// Login T. RFC 7143 §11.13.6
    pub const TRANSIT: u8 = 0x80;
    /// Login and Text C. RFC 7143 §11.13.7, §11.11.2
    pub const CONTINUE: u8 = 0x40;
    /// Login CSG shift.
    pub const CSG_SHIFT: u8 = 2;
    /// Two-bit stage mask.
    pub const STAGE: u8 = 0x03;
    /// SCSI Response o: bidirectional read residual overflow. RFC 7143 §11.4.1
    pub const BIDI_OVERFLOW: u8 = 0x10;
    /// SCSI Response u: bidirectional read residual underflow.
    pub const BIDI_UNDERFLOW: u8 = 0x08;
    /// SCSI Response O / Data-In O: residual overflow. RFC 7143 §11.4.1, §11.7.3
    pub const OVERFLOW: u8 = 0x04;
    /// SCSI Response U / Data-In U: residual underflow.
    pub const UNDERFLOW: u8 = 0x02;
    /// Data-In A: acknowledge. RFC 7143 §11.7.2
    pub const ACK: u8 = 0x40;
    /// Data-In S: status present. RFC 7143 §11.7.3
    pub const STATUS: u8 = 0x01;
}

/// Byte offsets of the opcode-specific fields (the common ones are in [`super::off`]).
/// RFC 7143 §11
pub mod layout {
    /// Login Response. RFC 7143 §11.13
    pub mod login_rsp {
        /// Version-max.
        pub const VERSION_MAX: usize = 2;
        /// Version-active.
        pub const VERSION_ACTIVE: usize = 3;
        /// ISID (6 bytes).
        pub const ISID: usize = 8;
        /// TSIH (2 bytes).
        pub const TSIH: usize = 14;
        /// StatSN.
        pub const STAT_SN: usize = 24;
        /// ExpCmdSN.
        pub const EXP_CMD_SN: usize = 28;
        /// MaxCmdSN.
        pub const MAX_CMD_SN: usize = 32;
        /// Status-Class.
        pub const STATUS_CLASS: usize = 36;
        /// Status-Detail.
        pub const STATUS_DETAIL: usize = 37;
    }
    /// SCSI Response. RFC 7143 §11.4
    pub mod scsi_rsp {
        /// Response.
        pub const RESPONSE: usize = 2;
        /// Status.
        pub const STATUS: usize = 3;
        /// SNACK Tag.
        pub const SNACK_TAG: usize = 20;
        /// StatSN.
        pub const STAT_SN: usize = 24;
        /// ExpCmdSN.
        pub const EXP_CMD_SN: usize = 28;
        /// MaxCmdSN.
        pub const MAX_CMD_SN: usize = 32;
        /// ExpDataSN.
        pub const EXP_DATA_SN: usize = 36;
        /// Bidirectional Read Residual Count.
        pub const BIDI_RESIDUAL: usize = 40;
        /// Residual Count.
        pub const RESIDUAL: usize = 44;
    }
    /// SCSI Data-In. RFC 7143 §11.7
    pub mod data_in {
        /// Status.
        pub const STATUS: usize = 3;
        /// Target Transfer Tag.
        pub const TTT: usize = 20;
        /// StatSN.
        pub const STAT_SN: usize = 24;
        /// ExpCmdSN.
        pub const EXP_CMD_SN: usize = 28;
        /// MaxCmdSN.
        pub const MAX_CMD_SN: usize = 32;
        /// DataSN.
        pub const DATA_SN: usize = 36;
        /// Buffer Offset.
        pub const BUFFER_OFFSET: usize = 40;
        /// Residual Count.
        pub const RESIDUAL: usize = 44;
    }
    /// R2T. RFC 7143 §11.8
    pub mod r2t {
        /// Target Transfer Tag.
        pub const TTT: usize = 20;
        /// StatSN.
        pub const STAT_SN: usize = 24;
        /// ExpCmdSN.
        pub const EXP_CMD_SN: usize = 28;
        /// MaxCmdSN.
        pub const MAX_CMD_SN: usize = 32;
        /// R2TSN.
        pub const R2T_SN: usize = 36;
        /// Buffer Offset.
        pub const BUFFER_OFFSET: usize = 40;
        /// Desired Data Transfer Length.
        pub const DESIRED_LENGTH: usize = 44;
    }
    /// NOP-In. RFC 7143 §11.19
    pub mod nop_in {
        /// Target Transfer Tag.
        pub const TTT: usize = 20;
        /// StatSN.
        pub const STAT_SN: usize = 24;
        /// ExpCmdSN.
        pub const EXP_CMD_SN: usize = 28;
        /// MaxCmdSN.
        pub const MAX_CMD_SN: usize = 32;
    }
    /// Task Management Function Response. RFC 7143 §11.6
    pub mod task_mgmt_rsp {
        /// Response.
        pub const RESPONSE: usize = 2;
        /// StatSN.
        pub const STAT_SN: usize = 24;
        /// ExpCmdSN.
        pub const EXP_CMD_SN: usize = 28;
        /// MaxCmdSN.
        pub const MAX_CMD_SN: usize = 32;
    }
    /// Text Response. RFC 7143 §11.11
    pub mod text_rsp {
        /// Target Transfer Tag.
        pub const TTT: usize = 20;
        /// StatSN.
        pub const STAT_SN: usize = 24;
        /// ExpCmdSN.
        pub const EXP_CMD_SN: usize = 28;
        /// MaxCmdSN.
        pub const MAX_CMD_SN: usize = 32;
    }
    /// Logout Response. RFC 7143 §11.15
    pub mod logout_rsp {
        /// Response.
        pub const RESPONSE: usize = 2;
        /// StatSN.
        pub const STAT_SN: usize = 24;
        /// ExpCmdSN.
        pub const EXP_CMD_SN: usize = 28;
        /// MaxCmdSN.
        pub const MAX_CMD_SN: usize = 32;
        /// Time2Wait (2 bytes).
        pub const TIME2WAIT: usize = 40;
        /// Time2Retain (2 bytes).
        pub const TIME2RETAIN: usize = 42;
    }
    /// Reject. RFC 7143 §11.17
    pub mod reject {
        /// Reason.
        pub const REASON: usize = 2;
        /// StatSN.
        pub const STAT_SN: usize = 24;
        /// ExpCmdSN.
        pub const EXP_CMD_SN: usize = 28;
        /// MaxCmdSN.
        pub const MAX_CMD_SN: usize = 32;
        /// DataSN/R2TSN.
        pub const DATA_SN_OR_R2T_SN: usize = 36;
    }
    /// Asynchronous Message. RFC 7143 §11.9
    pub mod async_msg {
        /// StatSN.
        pub const STAT_SN: usize = 24;
        /// ExpCmdSN.
        pub const EXP_CMD_SN: usize = 28;
        /// MaxCmdSN.
        pub const MAX_CMD_SN: usize = 32;
        /// AsyncEvent.
        pub const EVENT: usize = 36;
        /// AsyncVCode.
        pub const VCODE: usize = 37;
        /// Parameter1 (2 bytes).
        pub const PARAMETER1: usize = 38;
        /// Parameter2 (2 bytes).
        pub const PARAMETER2: usize = 40;
        /// Parameter3 (2 bytes).
        pub const PARAMETER3: usize = 42;
    }
}

/// Login Response. RFC 7143 §11.13
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginResponse {
    /// T: the target agrees to move to `nsg`. RFC 7143 §11.13.6
    pub transit: bool,
    /// C: the text continues in the next PDU. RFC 7143 §11.13.7
    pub cont: bool,
    /// CSG. RFC 7143 §11.12.3
    pub csg: Stage,
    /// NSG. RFC 7143 §11.12.3
    pub nsg: Stage,
    /// Version-max (tgt: 0x00). RFC 7143 §11.13.1
    pub version_max: u8,
    /// Version-active (tgt: 0x00). RFC 7143 §11.13.2
    pub version_active: u8,
    /// ISID, echoed. RFC 7143 §11.12.5
    pub isid: Isid,
    /// TSIH: the session's handle, in the final response. RFC 7143 §11.13.3
    pub tsih: u16,
    /// Initiator Task Tag, echoed. RFC 7143 §11.2.1.8
    pub itt: Itt,
    /// StatSN. RFC 7143 §11.13.4
    pub stat_sn: u32,
    /// ExpCmdSN. RFC 7143 §11.13
    pub exp_cmd_sn: u32,
    /// MaxCmdSN. RFC 7143 §11.13
    pub max_cmd_sn: u32,
    /// Status-Class and Status-Detail. RFC 7143 §11.13.5
    pub status: LoginStatus,
}

impl LoginResponse {
    /// Encodes with `data_len` bytes of login parameters and the TSIH big-endian.
    pub fn encode(&self, data_len: usize) -> [u8; BHS_LEN] {
        self.encode_with_tsih_order(TsihOrder::BigEndian, data_len)
    }

    /// Encodes with the TSIH in the given byte order (see [`TsihOrder`]).
    pub fn encode_with_tsih_order(&self, order: TsihOrder, data_len: usize) -> [u8; BHS_LEN] {
        let flags = flag(self.transit, bit::TRANSIT)
            | flag(self.cont, bit::CONTINUE)
            | ((self.csg.0 & bit::STAGE) << bit::CSG_SHIFT)
            | (self.nsg.0 & bit::STAGE);
        BhsBuilder::new(Opcode::LOGIN_RSP, false, flags, data_len)
            .byte(layout::login_rsp::VERSION_MAX, self.version_max)
            .byte(layout::login_rsp::VERSION_ACTIVE, self.version_active)
            .bytes(layout::login_rsp::ISID, &self.isid.0)
            .bytes(layout::login_rsp::TSIH, &order.to_wire(self.tsih))
            .u32(off::ITT, self.itt.0)
            .u32(layout::login_rsp::STAT_SN, self.stat_sn)
            .u32(layout::login_rsp::EXP_CMD_SN, self.exp_cmd_sn)
            .u32(layout::login_rsp::MAX_CMD_SN, self.max_cmd_sn)
            .byte(layout::login_rsp::STATUS_CLASS, self.status.class)
            .byte(layout::login_rsp::STATUS_DETAIL, self.status.detail)
            .finish()
    }

    /// Decodes the view (TSIH read big-endian).
    pub fn decode(bhs: &Bhs) -> Result<Self, PduError> {
        expect_opcode(bhs, Opcode::LOGIN_RSP, "Login Response")?;
        let f = bhs.flags();
        let b = bhs.as_bytes();
        Ok(Self {
            transit: f & bit::TRANSIT != 0,
            cont: f & bit::CONTINUE != 0,
            csg: Stage((f >> bit::CSG_SHIFT) & bit::STAGE),
            nsg: Stage(f & bit::STAGE),
            version_max: b[layout::login_rsp::VERSION_MAX],
            version_active: b[layout::login_rsp::VERSION_ACTIVE],
            isid: Isid(
                b[layout::login_rsp::ISID..layout::login_rsp::ISID + 6]
                    .try_into()
                    .expect("6-byte ISID field"),
            ),
            tsih: bhs.u16_at(layout::login_rsp::TSIH),
            itt: bhs.itt(),
            stat_sn: bhs.u32_at(layout::login_rsp::STAT_SN),
            exp_cmd_sn: bhs.u32_at(layout::login_rsp::EXP_CMD_SN),
            max_cmd_sn: bhs.u32_at(layout::login_rsp::MAX_CMD_SN),
            status: LoginStatus::new(
                b[layout::login_rsp::STATUS_CLASS],
                b[layout::login_rsp::STATUS_DETAIL],
            ),
        })
    }
}

/// SCSI Response. The data segment, when present, is the 2-byte SenseLength and the sense
/// data (tgt: always so). RFC 7143 §11.4
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScsiResponse {
    /// o: bidirectional read residual overflow. RFC 7143 §11.4.1
    pub bidi_overflow: bool,
    /// u: bidirectional read residual underflow. RFC 7143 §11.4.1
    pub bidi_underflow: bool,
    /// O: residual overflow. RFC 7143 §11.4.1
    pub overflow: bool,
    /// U: residual underflow. RFC 7143 §11.4.1
    pub underflow: bool,
    /// Response (iSCSI service response). RFC 7143 §11.4.3
    pub response: ScsiResponseCode,
    /// SCSI status (valid when `response` is COMPLETED). RFC 7143 §11.4.2
    pub status: u8,
    /// Initiator Task Tag. RFC 7143 §11.2.1.8
    pub itt: Itt,
    /// SNACK Tag (0 unless answering an R-Data SNACK). RFC 7143 §11.4.4
    pub snack_tag: u32,
    /// StatSN. RFC 7143 §11.4.9
    pub stat_sn: u32,
    /// ExpCmdSN. RFC 7143 §11.4.10
    pub exp_cmd_sn: u32,
    /// MaxCmdSN. RFC 7143 §11.4.11
    pub max_cmd_sn: u32,
    /// ExpDataSN: Data-In PDUs sent (0 when none). RFC 7143 §11.4.8
    pub exp_data_sn: u32,
    /// Bidirectional Read Residual Count. RFC 7143 §11.4.6
    pub bidi_read_residual: u32,
    /// Residual Count. RFC 7143 §11.4.5
    pub residual_count: u32,
}

impl ScsiResponse {
    /// Encodes with `data_len` bytes of sense or response data.
    pub fn encode(&self, data_len: usize) -> [u8; BHS_LEN] {
        let flags = FLAG_FINAL
            | flag(self.bidi_overflow, bit::BIDI_OVERFLOW)
            | flag(self.bidi_underflow, bit::BIDI_UNDERFLOW)
            | flag(self.overflow, bit::OVERFLOW)
            | flag(self.underflow, bit::UNDERFLOW);
        BhsBuilder::new(Opcode::SCSI_RSP, false, flags, data_len)
            .byte(layout::scsi_rsp::RESPONSE, self.response.0)
            .byte(layout::scsi_rsp::STATUS, self.status)
            .u32(off::ITT, self.itt.0)
            .u32(layout::scsi_rsp::SNACK_TAG, self.snack_tag)
            .u32(layout::scsi_rsp::STAT_SN, self.stat_sn)
            .u32(layout::scsi_rsp::EXP_CMD_SN, self.exp_cmd_sn)
            .u32(layout::scsi_rsp::MAX_CMD_SN, self.max_cmd_sn)
            .u32(layout::scsi_rsp::EXP_DATA_SN, self.exp_data_sn)
            .u32(layout::scsi_rsp::BIDI_RESIDUAL, self.bidi_read_residual)
            .u32(layout::scsi_rsp::RESIDUAL, self.residual_count)
            .finish()
    }

    /// Decodes the view.
    pub fn decode(bhs: &Bhs) -> Result<Self, PduError> {
        expect_opcode(bhs, Opcode::SCSI_RSP, "SCSI Response")?;
        let f = bhs.flags();
        Ok(Self {
            bidi_overflow: f & bit::BIDI_OVERFLOW != 0,
            bidi_underflow: f & bit::BIDI_UNDERFLOW != 0,
            overflow: f & bit::OVERFLOW != 0,
            underflow: f & bit::UNDERFLOW != 0,
            response: ScsiResponseCode(bhs.byte(layout::scsi_rsp::RESPONSE)),
            status: bhs.byte(layout::scsi_rsp::STATUS),
            itt: bhs.itt(),
            snack_tag: bhs.u32_at(layout::scsi_rsp::SNACK_TAG),
            stat_sn: bhs.u32_at(layout::scsi_rsp::STAT_SN),
            exp_cmd_sn: bhs.u32_at(layout::scsi_rsp::EXP_CMD_SN),
            max_cmd_sn: bhs.u32_at(layout::scsi_rsp::MAX_CMD_SN),
            exp_data_sn: bhs.u32_at(layout::scsi_rsp::EXP_DATA_SN),
            bidi_read_residual: bhs.u32_at(layout::scsi_rsp::BIDI_RESIDUAL),
            residual_count: bhs.u32_at(layout::scsi_rsp::RESIDUAL),
        })
    }
}

/// SCSI Data-In. RFC 7143 §11.7
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataIn {
    /// F: last PDU of the sequence. RFC 7143 §11.7.1
    pub final_pdu: bool,
    /// A: the target asks for a DataACK SNACK (ErrorRecoveryLevel > 0). RFC 7143 §11.7.2
    pub ack: bool,
    /// O: residual overflow (valid with S). RFC 7143 §11.7.3
    pub overflow: bool,
    /// U: residual underflow (valid with S). RFC 7143 §11.7.3
    pub underflow: bool,
    /// S: status is carried here, no SCSI Response follows (requires F). RFC 7143 §11.7.3
    pub status_present: bool,
    /// SCSI status (valid with S). RFC 7143 §11.7.3
    pub status: u8,
    /// LUN (with A set), else reserved. RFC 7143 §11.7.4
    pub lun: LunField,
    /// Initiator Task Tag. RFC 7143 §11.2.1.8
    pub itt: Itt,
    /// Target Transfer Tag (with A set), else reserved. RFC 7143 §11.7.4
    pub ttt: Ttt,
    /// StatSN (valid with S). RFC 7143 §11.7
    pub stat_sn: u32,
    /// ExpCmdSN. RFC 7143 §11.7
    pub exp_cmd_sn: u32,
    /// MaxCmdSN. RFC 7143 §11.7
    pub max_cmd_sn: u32,
    /// DataSN. RFC 7143 §11.7.5
    pub data_sn: u32,
    /// Buffer Offset. RFC 7143 §11.7.6
    pub buffer_offset: u32,
    /// Residual Count (valid with S). RFC 7143 §11.7
    pub residual_count: u32,
}

impl DataIn {
    /// Encodes with `data_len` bytes of read data.
    pub fn encode(&self, data_len: usize) -> [u8; BHS_LEN] {
        let flags = flag(self.final_pdu, FLAG_FINAL)
            | flag(self.ack, bit::ACK)
            | flag(self.overflow, bit::OVERFLOW)
            | flag(self.underflow, bit::UNDERFLOW)
            | flag(self.status_present, bit::STATUS);
        BhsBuilder::new(Opcode::DATA_IN, false, flags, data_len)
            .byte(layout::data_in::STATUS, self.status)
            .bytes(off::LUN, &self.lun)
            .u32(off::ITT, self.itt.0)
            .u32(layout::data_in::TTT, self.ttt.0)
            .u32(layout::data_in::STAT_SN, self.stat_sn)
            .u32(layout::data_in::EXP_CMD_SN, self.exp_cmd_sn)
            .u32(layout::data_in::MAX_CMD_SN, self.max_cmd_sn)
            .u32(layout::data_in::DATA_SN, self.data_sn)
            .u32(layout::data_in::BUFFER_OFFSET, self.buffer_offset)
            .u32(layout::data_in::RESIDUAL, self.residual_count)
            .finish()
    }

    /// Decodes the view.
    pub fn decode(bhs: &Bhs) -> Result<Self, PduError> {
        expect_opcode(bhs, Opcode::DATA_IN, "SCSI Data-In")?;
        let f = bhs.flags();
        Ok(Self {
            final_pdu: f & FLAG_FINAL != 0,
            ack: f & bit::ACK != 0,
            overflow: f & bit::OVERFLOW != 0,
            underflow: f & bit::UNDERFLOW != 0,
            status_present: f & bit::STATUS != 0,
            status: bhs.byte(layout::data_in::STATUS),
            lun: bhs.lun(),
            itt: bhs.itt(),
            ttt: Ttt(bhs.u32_at(layout::data_in::TTT)),
            stat_sn: bhs.u32_at(layout::data_in::STAT_SN),
            exp_cmd_sn: bhs.u32_at(layout::data_in::EXP_CMD_SN),
            max_cmd_sn: bhs.u32_at(layout::data_in::MAX_CMD_SN),
            data_sn: bhs.u32_at(layout::data_in::DATA_SN),
            buffer_offset: bhs.u32_at(layout::data_in::BUFFER_OFFSET),
            residual_count: bhs.u32_at(layout::data_in::RESIDUAL),
        })
    }
}

/// Ready To Transfer. RFC 7143 §11.8
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct R2t {
    /// LUN. RFC 7143 §11.8
    pub lun: LunField,
    /// Initiator Task Tag. RFC 7143 §11.2.1.8
    pub itt: Itt,
    /// Target Transfer Tag the Data-Out PDUs must carry. RFC 7143 §11.8.5
    pub ttt: Ttt,
    /// StatSN (the next one; not incremented). RFC 7143 §11.8.3
    pub stat_sn: u32,
    /// ExpCmdSN. RFC 7143 §11.8
    pub exp_cmd_sn: u32,
    /// MaxCmdSN. RFC 7143 §11.8
    pub max_cmd_sn: u32,
    /// R2TSN. RFC 7143 §11.8.2
    pub r2t_sn: u32,
    /// Buffer Offset. RFC 7143 §11.8.4
    pub buffer_offset: u32,
    /// Desired Data Transfer Length (≤ MaxBurstLength). RFC 7143 §11.8.4
    pub desired_length: u32,
}

impl R2t {
    /// Encodes (an R2T has no data segment, RFC 7143 §11.8.1).
    pub fn encode(&self) -> [u8; BHS_LEN] {
        BhsBuilder::new(Opcode::R2T, false, FLAG_FINAL, 0)
            .bytes(off::LUN, &self.lun)
            .u32(off::ITT, self.itt.0)
            .u32(layout::r2t::TTT, self.ttt.0)
            .u32(layout::r2t::STAT_SN, self.stat_sn)
            .u32(layout::r2t::EXP_CMD_SN, self.exp_cmd_sn)
            .u32(layout::r2t::MAX_CMD_SN, self.max_cmd_sn)
            .u32(layout::r2t::R2T_SN, self.r2t_sn)
            .u32(layout::r2t::BUFFER_OFFSET, self.buffer_offset)
            .u32(layout::r2t::DESIRED_LENGTH, self.desired_length)
            .finish()
    }

    /// Decodes the view.
    pub fn decode(bhs: &Bhs) -> Result<Self, PduError> {
        expect_opcode(bhs, Opcode::R2T, "R2T")?;
        Ok(Self {
            lun: bhs.lun(),
            itt: bhs.itt(),
            ttt: Ttt(bhs.u32_at(layout::r2t::TTT)),
            stat_sn: bhs.u32_at(layout::r2t::STAT_SN),
            exp_cmd_sn: bhs.u32_at(layout::r2t::EXP_CMD_SN),
            max_cmd_sn: bhs.u32_at(layout::r2t::MAX_CMD_SN),
            r2t_sn: bhs.u32_at(layout::r2t::R2T_SN),
            buffer_offset: bhs.u32_at(layout::r2t::BUFFER_OFFSET),
            desired_length: bhs.u32_at(layout::r2t::DESIRED_LENGTH),
        })
    }
}

/// NOP-In: the answer to a NOP-Out, or the target's own ping. RFC 7143 §11.19
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NopIn {
    /// LUN (echoed, or chosen for a target ping). RFC 7143 §11.19.3
    pub lun: LunField,
    /// Initiator Task Tag: echoed, or reserved for a target ping. RFC 7143 §11.2.1.8
    pub itt: Itt,
    /// Target Transfer Tag: the ping's tag, or reserved when answering. RFC 7143 §11.19.1
    pub ttt: Ttt,
    /// StatSN. RFC 7143 §11.19.2
    pub stat_sn: u32,
    /// ExpCmdSN. RFC 7143 §11.19
    pub exp_cmd_sn: u32,
    /// MaxCmdSN. RFC 7143 §11.19
    pub max_cmd_sn: u32,
}

impl NopIn {
    /// Encodes with `data_len` bytes of ping data.
    pub fn encode(&self, data_len: usize) -> [u8; BHS_LEN] {
        BhsBuilder::new(Opcode::NOP_IN, false, FLAG_FINAL, data_len)
            .bytes(off::LUN, &self.lun)
            .u32(off::ITT, self.itt.0)
            .u32(layout::nop_in::TTT, self.ttt.0)
            .u32(layout::nop_in::STAT_SN, self.stat_sn)
            .u32(layout::nop_in::EXP_CMD_SN, self.exp_cmd_sn)
            .u32(layout::nop_in::MAX_CMD_SN, self.max_cmd_sn)
            .finish()
    }

    /// Decodes the view.
    pub fn decode(bhs: &Bhs) -> Result<Self, PduError> {
        expect_opcode(bhs, Opcode::NOP_IN, "NOP-In")?;
        Ok(Self {
            lun: bhs.lun(),
            itt: bhs.itt(),
            ttt: Ttt(bhs.u32_at(layout::nop_in::TTT)),
            stat_sn: bhs.u32_at(layout::nop_in::STAT_SN),
            exp_cmd_sn: bhs.u32_at(layout::nop_in::EXP_CMD_SN),
            max_cmd_sn: bhs.u32_at(layout::nop_in::MAX_CMD_SN),
        })
    }
}

/// SCSI Task Management Function Response. RFC 7143 §11.6
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskMgmtResponse {
    /// Response. RFC 7143 §11.6.1
    pub response: TmfResponse,
    /// Initiator Task Tag of the request. RFC 7143 §11.2.1.8
    pub itt: Itt,
    /// StatSN. RFC 7143 §11.6
    pub stat_sn: u32,
    /// ExpCmdSN. RFC 7143 §11.6
    pub exp_cmd_sn: u32,
    /// MaxCmdSN. RFC 7143 §11.6
    pub max_cmd_sn: u32,
}

impl TaskMgmtResponse {
    /// Encodes (no data segment, RFC 7143 §11.6).
    pub fn encode(&self) -> [u8; BHS_LEN] {
        BhsBuilder::new(Opcode::TASK_MGMT_RSP, false, FLAG_FINAL, 0)
            .byte(layout::task_mgmt_rsp::RESPONSE, self.response.0)
            .u32(off::ITT, self.itt.0)
            .u32(layout::task_mgmt_rsp::STAT_SN, self.stat_sn)
            .u32(layout::task_mgmt_rsp::EXP_CMD_SN, self.exp_cmd_sn)
            .u32(layout::task_mgmt_rsp::MAX_CMD_SN, self.max_cmd_sn)
            .finish()
    }

    /// Decodes the view.
    pub fn decode(bhs: &Bhs) -> Result<Self, PduError> {
        expect_opcode(bhs, Opcode::TASK_MGMT_RSP, "Task Management Response")?;
        Ok(Self {
            response: TmfResponse(bhs.byte(layout::task_mgmt_rsp::RESPONSE)),
            itt: bhs.itt(),
            stat_sn: bhs.u32_at(layout::task_mgmt_rsp::STAT_SN),
            exp_cmd_sn: bhs.u32_at(layout::task_mgmt_rsp::EXP_CMD_SN),
            max_cmd_sn: bhs.u32_at(layout::task_mgmt_rsp::MAX_CMD_SN),
        })
    }
}

/// Text Response. RFC 7143 §11.11
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextResponse {
    /// F: the last response of the exchange. RFC 7143 §11.11.1
    pub final_pdu: bool,
    /// C: the text continues in the next response (then F is 0). RFC 7143 §11.11.2
    pub cont: bool,
    /// LUN or reserved. RFC 7143 §11.11
    pub lun: LunField,
    /// Initiator Task Tag, echoed. RFC 7143 §11.11.3
    pub itt: Itt,
    /// Target Transfer Tag: a tag while more follows, reserved on the final response.
    /// RFC 7143 §11.11.4
    pub ttt: Ttt,
    /// StatSN. RFC 7143 §11.11.5
    pub stat_sn: u32,
    /// ExpCmdSN. RFC 7143 §11.11
    pub exp_cmd_sn: u32,
    /// MaxCmdSN. RFC 7143 §11.11
    pub max_cmd_sn: u32,
}

impl TextResponse {
    /// Encodes with `data_len` bytes of text.
    pub fn encode(&self, data_len: usize) -> [u8; BHS_LEN] {
        let flags = flag(self.final_pdu, FLAG_FINAL) | flag(self.cont, bit::CONTINUE);
        BhsBuilder::new(Opcode::TEXT_RSP, false, flags, data_len)
            .bytes(off::LUN, &self.lun)
            .u32(off::ITT, self.itt.0)
            .u32(layout::text_rsp::TTT, self.ttt.0)
            .u32(layout::text_rsp::STAT_SN, self.stat_sn)
            .u32(layout::text_rsp::EXP_CMD_SN, self.exp_cmd_sn)
            .u32(layout::text_rsp::MAX_CMD_SN, self.max_cmd_sn)
            .finish()
    }

    /// Decodes the view.
    pub fn decode(bhs: &Bhs) -> Result<Self, PduError> {
        expect_opcode(bhs, Opcode::TEXT_RSP, "Text Response")?;
        let f = bhs.flags();
        Ok(Self {
            final_pdu: f & FLAG_FINAL != 0,
            cont: f & bit::CONTINUE != 0,
            lun: bhs.lun(),
            itt: bhs.itt(),
            ttt: Ttt(bhs.u32_at(layout::text_rsp::TTT)),
            stat_sn: bhs.u32_at(layout::text_rsp::STAT_SN),
            exp_cmd_sn: bhs.u32_at(layout::text_rsp::EXP_CMD_SN),
            max_cmd_sn: bhs.u32_at(layout::text_rsp::MAX_CMD_SN),
        })
    }
}

/// Logout Response. RFC 7143 §11.15
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogoutResponse {
    /// Response. RFC 7143 §11.15.1
    pub response: LogoutResponseCode,
    /// Initiator Task Tag of the request. RFC 7143 §11.2.1.8
    pub itt: Itt,
    /// StatSN. RFC 7143 §11.15
    pub stat_sn: u32,
    /// ExpCmdSN. RFC 7143 §11.15
    pub exp_cmd_sn: u32,
    /// MaxCmdSN. RFC 7143 §11.15
    pub max_cmd_sn: u32,
    /// Time2Wait in seconds. RFC 7143 §11.15.3
    pub time2wait: u16,
    /// Time2Retain in seconds. RFC 7143 §11.15.4
    pub time2retain: u16,
}

impl LogoutResponse {
    /// Encodes (no data segment, RFC 7143 §11.15.2).
    pub fn encode(&self) -> [u8; BHS_LEN] {
        BhsBuilder::new(Opcode::LOGOUT_RSP, false, FLAG_FINAL, 0)
            .byte(layout::logout_rsp::RESPONSE, self.response.0)
            .u32(off::ITT, self.itt.0)
            .u32(layout::logout_rsp::STAT_SN, self.stat_sn)
            .u32(layout::logout_rsp::EXP_CMD_SN, self.exp_cmd_sn)
            .u32(layout::logout_rsp::MAX_CMD_SN, self.max_cmd_sn)
            .u16(layout::logout_rsp::TIME2WAIT, self.time2wait)
            .u16(layout::logout_rsp::TIME2RETAIN, self.time2retain)
            .finish()
    }

    /// Decodes the view.
    pub fn decode(bhs: &Bhs) -> Result<Self, PduError> {
        expect_opcode(bhs, Opcode::LOGOUT_RSP, "Logout Response")?;
        Ok(Self {
            response: LogoutResponseCode(bhs.byte(layout::logout_rsp::RESPONSE)),
            itt: bhs.itt(),
            stat_sn: bhs.u32_at(layout::logout_rsp::STAT_SN),
            exp_cmd_sn: bhs.u32_at(layout::logout_rsp::EXP_CMD_SN),
            max_cmd_sn: bhs.u32_at(layout::logout_rsp::MAX_CMD_SN),
            time2wait: bhs.u16_at(layout::logout_rsp::TIME2WAIT),
            time2retain: bhs.u16_at(layout::logout_rsp::TIME2RETAIN),
        })
    }
}

/// Reject. Its data segment is the complete header of the rejected PDU (48 bytes,
/// `bhs.as_bytes()`); the ITT field is always 0xffffffff. RFC 7143 §11.17
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reject {
    /// Reason. RFC 7143 §11.17.1
    pub reason: RejectReason,
    /// StatSN. RFC 7143 §11.17.3
    pub stat_sn: u32,
    /// ExpCmdSN. RFC 7143 §11.17.3
    pub exp_cmd_sn: u32,
    /// MaxCmdSN. RFC 7143 §11.17.3
    pub max_cmd_sn: u32,
    /// DataSN/R2TSN of a rejected SNACK's run, else 0. RFC 7143 §11.17.2
    pub data_sn_or_r2t_sn: u32,
}

/// Length of the Reject data segment: the rejected header.
pub const REJECT_DATA_LEN: usize = BHS_LEN;

impl Reject {
    /// Encodes with DataSegmentLength 48 (the rejected header follows as data).
    pub fn encode(&self) -> [u8; BHS_LEN] {
        BhsBuilder::new(Opcode::REJECT, false, FLAG_FINAL, REJECT_DATA_LEN)
            .byte(layout::reject::REASON, self.reason.0)
            .u32(off::ITT, RESERVED_TAG)
            .u32(layout::reject::STAT_SN, self.stat_sn)
            .u32(layout::reject::EXP_CMD_SN, self.exp_cmd_sn)
            .u32(layout::reject::MAX_CMD_SN, self.max_cmd_sn)
            .u32(layout::reject::DATA_SN_OR_R2T_SN, self.data_sn_or_r2t_sn)
            .finish()
    }

    /// Decodes the view.
    pub fn decode(bhs: &Bhs) -> Result<Self, PduError> {
        expect_opcode(bhs, Opcode::REJECT, "Reject")?;
        Ok(Self {
            reason: RejectReason(bhs.byte(layout::reject::REASON)),
            stat_sn: bhs.u32_at(layout::reject::STAT_SN),
            exp_cmd_sn: bhs.u32_at(layout::reject::EXP_CMD_SN),
            max_cmd_sn: bhs.u32_at(layout::reject::MAX_CMD_SN),
            data_sn_or_r2t_sn: bhs.u32_at(layout::reject::DATA_SN_OR_R2T_SN),
        })
    }
}

/// Asynchronous Message; for a SCSI event the data segment is SenseLength and sense data.
/// The ITT field is always 0xffffffff. RFC 7143 §11.9
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsyncMessage {
    /// LUN (for a SCSI event). RFC 7143 §11.9.3
    pub lun: LunField,
    /// StatSN. RFC 7143 §11.9
    pub stat_sn: u32,
    /// ExpCmdSN. RFC 7143 §11.9
    pub exp_cmd_sn: u32,
    /// MaxCmdSN. RFC 7143 §11.9
    pub max_cmd_sn: u32,
    /// AsyncEvent. RFC 7143 §11.9.1
    pub event: AsyncEvent,
    /// AsyncVCode (vendor code). RFC 7143 §11.9.2
    pub vcode: u8,
    /// Parameter1 (event-specific: CID, or seconds to logout). RFC 7143 §11.9.1
    pub parameter1: u16,
    /// Parameter2 (Time2Wait). RFC 7143 §11.9.1
    pub parameter2: u16,
    /// Parameter3 (Time2Retain). RFC 7143 §11.9.1
    pub parameter3: u16,
}

impl AsyncMessage {
    /// Encodes with `data_len` bytes of sense or event data.
    pub fn encode(&self, data_len: usize) -> [u8; BHS_LEN] {
        BhsBuilder::new(Opcode::ASYNC_MSG, false, FLAG_FINAL, data_len)
            .bytes(off::LUN, &self.lun)
            .u32(off::ITT, RESERVED_TAG)
            .u32(layout::async_msg::STAT_SN, self.stat_sn)
            .u32(layout::async_msg::EXP_CMD_SN, self.exp_cmd_sn)
            .u32(layout::async_msg::MAX_CMD_SN, self.max_cmd_sn)
            .byte(layout::async_msg::EVENT, self.event.0)
            .byte(layout::async_msg::VCODE, self.vcode)
            .u16(layout::async_msg::PARAMETER1, self.parameter1)
            .u16(layout::async_msg::PARAMETER2, self.parameter2)
            .u16(layout::async_msg::PARAMETER3, self.parameter3)
            .finish()
    }

    /// Decodes the view.
    pub fn decode(bhs: &Bhs) -> Result<Self, PduError> {
        expect_opcode(bhs, Opcode::ASYNC_MSG, "Asynchronous Message")?;
        Ok(Self {
            lun: bhs.lun(),
            stat_sn: bhs.u32_at(layout::async_msg::STAT_SN),
            exp_cmd_sn: bhs.u32_at(layout::async_msg::EXP_CMD_SN),
            max_cmd_sn: bhs.u32_at(layout::async_msg::MAX_CMD_SN),
            event: AsyncEvent(bhs.byte(layout::async_msg::EVENT)),
            vcode: bhs.byte(layout::async_msg::VCODE),
            parameter1: bhs.u16_at(layout::async_msg::PARAMETER1),
            parameter2: bhs.u16_at(layout::async_msg::PARAMETER2),
            parameter3: bhs.u16_at(layout::async_msg::PARAMETER3),
        })
    }
}

/// Any PDU a target may send, decoded by opcode (for tests and initiator-side tools).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    /// 0x20. RFC 7143 §11.19
    NopIn(NopIn),
    /// 0x21. RFC 7143 §11.4
    ScsiResponse(ScsiResponse),
    /// 0x22. RFC 7143 §11.6
    TaskMgmtResponse(TaskMgmtResponse),
    /// 0x23. RFC 7143 §11.13
    Login(LoginResponse),
    /// 0x24. RFC 7143 §11.11
    Text(TextResponse),
    /// 0x25. RFC 7143 §11.7
    DataIn(DataIn),
    /// 0x26. RFC 7143 §11.15
    Logout(LogoutResponse),
    /// 0x31. RFC 7143 §11.8
    R2t(R2t),
    /// 0x32. RFC 7143 §11.9
    Async(AsyncMessage),
    /// 0x3f. RFC 7143 §11.17
    Reject(Reject),
}

impl Response {
    /// Decodes the typed view of a target PDU.
    pub fn decode(bhs: &Bhs) -> Result<Self, PduError> {
        Ok(match bhs.opcode() {
            Opcode::NOP_IN => Self::NopIn(NopIn::decode(bhs)?),
            Opcode::SCSI_RSP => Self::ScsiResponse(ScsiResponse::decode(bhs)?),
            Opcode::TASK_MGMT_RSP => Self::TaskMgmtResponse(TaskMgmtResponse::decode(bhs)?),
            Opcode::LOGIN_RSP => Self::Login(LoginResponse::decode(bhs)?),
            Opcode::TEXT_RSP => Self::Text(TextResponse::decode(bhs)?),
            Opcode::DATA_IN => Self::DataIn(DataIn::decode(bhs)?),
            Opcode::LOGOUT_RSP => Self::Logout(LogoutResponse::decode(bhs)?),
            Opcode::R2T => Self::R2t(R2t::decode(bhs)?),
            Opcode::ASYNC_MSG => Self::Async(AsyncMessage::decode(bhs)?),
            Opcode::REJECT => Self::Reject(Reject::decode(bhs)?),
            op if op.is_known() => {
                return Err(PduError::UnexpectedOpcode {
                    got: op,
                    expected: "a target PDU",
                })
            }
            op => return Err(PduError::UnknownOpcode(op)),
        })
    }
}

fn flag(set: bool, bit: u8) -> u8 {
    if set {
        bit
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iscsi::pdu::MAX_DSL;

    fn round_trip<T: PartialEq + std::fmt::Debug>(
        raw: [u8; BHS_LEN],
        decode: fn(&Bhs) -> Result<T, PduError>,
    ) -> T {
        let bhs = Bhs::decode(&raw, MAX_DSL).unwrap();
        let v = decode(&bhs).unwrap();
        assert_eq!(Response::decode(&bhs).map(|_| ()), Ok(()));
        v
    }

    #[test]
    fn login_response_bytes() {
        let rsp = LoginResponse {
            transit: true,
            cont: false,
            csg: Stage::OPERATIONAL,
            nsg: Stage::FULL_FEATURE,
            version_max: 0,
            version_active: 0,
            isid: Isid([0x80, 0x12, 0x34, 0x56, 0x00, 0x01]),
            tsih: 0x0017,
            itt: Itt(0x0102_0304),
            stat_sn: 5,
            exp_cmd_sn: 6,
            max_cmd_sn: 7,
            status: LoginStatus::SUCCESS,
        };
        let mut want = [0u8; BHS_LEN];
        want[..8].copy_from_slice(&[0x23, 0x87, 0, 0, 0, 0, 0x01, 0x00]);
        want[8..16].copy_from_slice(&[0x80, 0x12, 0x34, 0x56, 0x00, 0x01, 0x00, 0x17]);
        want[16..20].copy_from_slice(&[1, 2, 3, 4]);
        want[24..36].copy_from_slice(&[0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7]);
        assert_eq!(rsp.encode(256), want);
        assert_eq!(round_trip(want, LoginResponse::decode), rsp);

        // A failed login: class 2 detail 3, T=0, CSG=0.
        let fail = LoginResponse {
            transit: false,
            csg: Stage::SECURITY,
            nsg: Stage::SECURITY,
            status: LoginStatus::NOT_FOUND,
            ..rsp
        };
        let b = fail.encode(0);
        assert_eq!((b[1], b[36], b[37]), (0x00, 0x02, 0x03));
    }

    #[test]
    fn login_response_tsih_in_host_order_matches_c_tgt_on_this_host() {
        let rsp = LoginResponse {
            transit: true,
            cont: false,
            csg: Stage::OPERATIONAL,
            nsg: Stage::FULL_FEATURE,
            version_max: 0,
            version_active: 0,
            isid: Isid::default(),
            tsih: 23,
            itt: Itt(0),
            stat_sn: 0,
            exp_cmd_sn: 0,
            max_cmd_sn: 0,
            status: LoginStatus::SUCCESS,
        };
        let host = rsp.encode_with_tsih_order(TsihOrder::Host, 0);
        if cfg!(target_endian = "little") {
            // Captured from C tgt on x86: `Session: 23` went out as `17 00`.
            assert_eq!(&host[14..16], &[0x17, 0x00]);
        } else {
            assert_eq!(&host[14..16], &[0x00, 0x17]);
        }
        assert_eq!(&rsp.encode(0)[14..16], &[0x00, 0x17]);
        // An initiator echoes the field; reading it back through the same order gives 23.
        let echoed = u16::from_be_bytes([host[14], host[15]]);
        assert_eq!(TsihOrder::Host.from_wire(echoed), 23);
        assert_eq!(TsihOrder::BigEndian.from_wire(23), 23);
    }

    #[test]
    fn scsi_response_bytes() {
        let rsp = ScsiResponse {
            bidi_overflow: false,
            bidi_underflow: false,
            overflow: false,
            underflow: true,
            response: ScsiResponseCode::COMPLETED,
            status: 0x02,
            itt: Itt(0x10),
            snack_tag: 0,
            stat_sn: 0x20,
            exp_cmd_sn: 0x21,
            max_cmd_sn: 0xa0,
            exp_data_sn: 0,
            bidi_read_residual: 0,
            residual_count: 0x200,
        };
        let want: [u8; BHS_LEN] = [
            0x21, 0x82, 0x00, 0x02, 0, 0, 0, 0x14, // U, CHECK CONDITION, DSL 20
            0, 0, 0, 0, 0, 0, 0, 0, // reserved
            0, 0, 0, 0x10, // ITT
            0, 0, 0, 0, // SNACK tag
            0, 0, 0, 0x20, 0, 0, 0, 0x21, 0, 0, 0, 0xa0, // StatSN ExpCmdSN MaxCmdSN
            0, 0, 0, 0, 0, 0, 0, 0, // ExpDataSN, bidi residual
            0, 0, 0x02, 0, // residual
        ];
        assert_eq!(rsp.encode(20), want);
        assert_eq!(round_trip(want, ScsiResponse::decode), rsp);
        let all = ScsiResponse {
            bidi_overflow: true,
            bidi_underflow: true,
            overflow: true,
            response: ScsiResponseCode::TARGET_FAILURE,
            ..rsp
        };
        let b = all.encode(0);
        assert_eq!((b[1], b[2]), (0x9e, 0x01));
    }

    #[test]
    fn data_in_bytes() {
        let d = DataIn {
            final_pdu: true,
            ack: false,
            overflow: false,
            underflow: false,
            status_present: true,
            status: 0,
            lun: [0; 8],
            itt: Itt(3),
            ttt: Ttt::RESERVED,
            stat_sn: 9,
            exp_cmd_sn: 10,
            max_cmd_sn: 11,
            data_sn: 1,
            buffer_offset: 0x2000,
            residual_count: 0,
        };
        let want: [u8; BHS_LEN] = [
            0x25, 0x81, 0, 0, 0, 0, 0x20, 0, // F S, DSL 8192
            0, 0, 0, 0, 0, 0, 0, 0, // LUN
            0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, // ITT TTT
            0, 0, 0, 9, 0, 0, 0, 10, 0, 0, 0, 11, // StatSN ExpCmdSN MaxCmdSN
            0, 0, 0, 1, 0, 0, 0x20, 0, 0, 0, 0, 0, // DataSN offset residual
        ];
        assert_eq!(d.encode(8192), want);
        assert_eq!(round_trip(want, DataIn::decode), d);
        let bits = DataIn {
            final_pdu: false,
            ack: true,
            overflow: true,
            underflow: true,
            status_present: false,
            status: 0x02,
            ..d
        };
        let b = bits.encode(0);
        assert_eq!((b[1], b[3]), (0x46, 0x02));
    }

    #[test]
    fn r2t_bytes() {
        let r = R2t {
            lun: [0, 1, 0, 0, 0, 0, 0, 0],
            itt: Itt(0x44),
            ttt: Ttt(0x55),
            stat_sn: 1,
            exp_cmd_sn: 2,
            max_cmd_sn: 3,
            r2t_sn: 4,
            buffer_offset: 0x1_0000,
            desired_length: 0x4_0000,
        };
        let want: [u8; BHS_LEN] = [
            0x31, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x44, 0, 0, 0, 0x55, 0,
            0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 1, 0, 0, 0, 4, 0, 0,
        ];
        assert_eq!(r.encode(), want);
        assert_eq!(round_trip(want, R2t::decode), r);
    }

    #[test]
    fn nop_in_bytes() {
        let n = NopIn {
            lun: [0; 8],
            itt: Itt::RESERVED,
            ttt: Ttt(1),
            stat_sn: 7,
            exp_cmd_sn: 8,
            max_cmd_sn: 9,
        };
        let mut want = [0u8; BHS_LEN];
        want[..2].copy_from_slice(&[0x20, 0x80]);
        want[16..36].copy_from_slice(&[
            0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 8, 0, 0, 0, 9,
        ]);
        assert_eq!(n.encode(0), want);
        assert_eq!(round_trip(want, NopIn::decode), n);
    }

    #[test]
    fn task_mgmt_response_bytes() {
        let t = TaskMgmtResponse {
            response: TmfResponse::NOT_SUPPORTED,
            itt: Itt(0x99),
            stat_sn: 1,
            exp_cmd_sn: 2,
            max_cmd_sn: 3,
        };
        let mut want = [0u8; BHS_LEN];
        want[..3].copy_from_slice(&[0x22, 0x80, 0x05]);
        want[16..36].copy_from_slice(&[
            0, 0, 0, 0x99, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3,
        ]);
        assert_eq!(t.encode(), want);
        assert_eq!(round_trip(want, TaskMgmtResponse::decode), t);
    }

    #[test]
    fn text_response_bytes() {
        let t = TextResponse {
            final_pdu: false,
            cont: true,
            lun: [0; 8],
            itt: Itt(5),
            ttt: Ttt(0x100),
            stat_sn: 1,
            exp_cmd_sn: 2,
            max_cmd_sn: 3,
        };
        let mut want = [0u8; BHS_LEN];
        want[..8].copy_from_slice(&[0x24, 0x40, 0, 0, 0, 0, 0x20, 0]);
        want[16..36].copy_from_slice(&[0, 0, 0, 5, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]);
        assert_eq!(t.encode(8192), want);
        assert_eq!(round_trip(want, TextResponse::decode), t);
    }

    #[test]
    fn logout_response_bytes() {
        let l = LogoutResponse {
            response: LogoutResponseCode::SUCCESS,
            itt: Itt(0x77),
            stat_sn: 1,
            exp_cmd_sn: 2,
            max_cmd_sn: 3,
            time2wait: 2,
            time2retain: 20,
        };
        let mut want = [0u8; BHS_LEN];
        want[..2].copy_from_slice(&[0x26, 0x80]);
        want[16..20].copy_from_slice(&[0, 0, 0, 0x77]);
        want[24..36].copy_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]);
        want[40..44].copy_from_slice(&[0, 2, 0, 20]);
        assert_eq!(l.encode(), want);
        assert_eq!(round_trip(want, LogoutResponse::decode), l);
    }

    #[test]
    fn reject_bytes() {
        let r = Reject {
            reason: RejectReason::INVALID_PDU_FIELD,
            stat_sn: 4,
            exp_cmd_sn: 5,
            max_cmd_sn: 6,
            data_sn_or_r2t_sn: 0,
        };
        let mut want = [0u8; BHS_LEN];
        want[..8].copy_from_slice(&[0x3f, 0x80, 0x09, 0, 0, 0, 0, 0x30]);
        want[16..20].copy_from_slice(&[0xff; 4]);
        want[24..36].copy_from_slice(&[0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6]);
        assert_eq!(r.encode(), want);
        assert_eq!(round_trip(want, Reject::decode), r);
    }

    #[test]
    fn async_message_bytes() {
        let a = AsyncMessage {
            lun: [0; 8],
            stat_sn: 1,
            exp_cmd_sn: 2,
            max_cmd_sn: 3,
            event: AsyncEvent::REQUEST_LOGOUT,
            vcode: 0,
            parameter1: 10,
            parameter2: 0,
            parameter3: 0,
        };
        let mut want = [0u8; BHS_LEN];
        want[..2].copy_from_slice(&[0x32, 0x80]);
        want[16..20].copy_from_slice(&[0xff; 4]);
        want[24..44].copy_from_slice(&[
            0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0x01, 0, 0, 10, 0, 0, 0, 0,
        ]);
        assert_eq!(a.encode(0), want);
        assert_eq!(round_trip(want, AsyncMessage::decode), a);
    }

    #[test]
    fn response_dispatch_refuses_initiator_opcodes() {
        let mut raw = [0u8; BHS_LEN];
        raw[0] = 0x01;
        assert!(matches!(
            Response::decode(&Bhs::from_bytes(raw)),
            Err(PduError::UnexpectedOpcode { .. })
        ));
        raw[0] = 0x3e;
        assert_eq!(
            Response::decode(&Bhs::from_bytes(raw)),
            Err(PduError::UnknownOpcode(Opcode(0x3e)))
        );
        raw[0] = 0x20;
        assert!(ScsiResponse::decode(&Bhs::from_bytes(raw)).is_err());
    }

    /// The offsets against a `#[repr(C)]` mirror of each RFC 7143 §11 figure, field by field
    /// in wire order (byte arrays only, so there is no padding). Names follow tgt's
    /// usr/iscsi/iscsi_proto.h.
    #[test]
    fn offsets_match_repr_c_mirrors_of_the_rfc_figures() {
        use crate::iscsi::pdu::off;
        use std::mem::{offset_of, size_of};
        macro_rules! mirror {
            ($name:ident { $($f:ident: $n:expr),* $(,)? }) => {
                #[allow(dead_code)]
                #[repr(C)]
                struct $name { $($f: [u8; $n]),* }
                assert_eq!(size_of::<$name>(), BHS_LEN);
            };
        }
        macro_rules! seq {
            ($name:ident, $m:ident) => {
                assert_eq!(offset_of!($name, statsn), layout::$m::STAT_SN);
                assert_eq!(offset_of!($name, exp_cmdsn), layout::$m::EXP_CMD_SN);
                assert_eq!(offset_of!($name, max_cmdsn), layout::$m::MAX_CMD_SN);
            };
        }
        mirror!(IscsiLoginRsp {
            opcode: 1,
            flags: 1,
            max_version: 1,
            active_version: 1,
            hlength: 1,
            dlength: 3,
            isid: 6,
            tsih: 2,
            itt: 4,
            rsvd3: 4,
            statsn: 4,
            exp_cmdsn: 4,
            max_cmdsn: 4,
            status_class: 1,
            status_detail: 1,
            rsvd4: 10
        });
        assert_eq!(
            offset_of!(IscsiLoginRsp, max_version),
            layout::login_rsp::VERSION_MAX
        );
        assert_eq!(
            offset_of!(IscsiLoginRsp, active_version),
            layout::login_rsp::VERSION_ACTIVE
        );
        assert_eq!(offset_of!(IscsiLoginRsp, isid), layout::login_rsp::ISID);
        assert_eq!(offset_of!(IscsiLoginRsp, tsih), layout::login_rsp::TSIH);
        assert_eq!(offset_of!(IscsiLoginRsp, itt), off::ITT);
        seq!(IscsiLoginRsp, login_rsp);
        assert_eq!(
            offset_of!(IscsiLoginRsp, status_class),
            layout::login_rsp::STATUS_CLASS
        );
        assert_eq!(
            offset_of!(IscsiLoginRsp, status_detail),
            layout::login_rsp::STATUS_DETAIL
        );

        mirror!(IscsiCmdRsp {
            opcode: 1,
            flags: 1,
            response: 1,
            cmd_status: 1,
            hlength: 1,
            dlength: 3,
            rsvd: 8,
            itt: 4,
            snack_tag: 4,
            statsn: 4,
            exp_cmdsn: 4,
            max_cmdsn: 4,
            exp_datasn: 4,
            bi_residual_count: 4,
            residual_count: 4
        });
        assert_eq!(
            offset_of!(IscsiCmdRsp, response),
            layout::scsi_rsp::RESPONSE
        );
        assert_eq!(
            offset_of!(IscsiCmdRsp, cmd_status),
            layout::scsi_rsp::STATUS
        );
        assert_eq!(
            offset_of!(IscsiCmdRsp, snack_tag),
            layout::scsi_rsp::SNACK_TAG
        );
        seq!(IscsiCmdRsp, scsi_rsp);
        assert_eq!(
            offset_of!(IscsiCmdRsp, exp_datasn),
            layout::scsi_rsp::EXP_DATA_SN
        );
        assert_eq!(
            offset_of!(IscsiCmdRsp, bi_residual_count),
            layout::scsi_rsp::BIDI_RESIDUAL
        );
        assert_eq!(
            offset_of!(IscsiCmdRsp, residual_count),
            layout::scsi_rsp::RESIDUAL
        );

        mirror!(IscsiDataRsp {
            opcode: 1,
            flags: 1,
            rsvd2: 1,
            cmd_status: 1,
            hlength: 1,
            dlength: 3,
            lun: 8,
            itt: 4,
            ttt: 4,
            statsn: 4,
            exp_cmdsn: 4,
            max_cmdsn: 4,
            datasn: 4,
            offset: 4,
            residual_count: 4
        });
        assert_eq!(
            offset_of!(IscsiDataRsp, cmd_status),
            layout::data_in::STATUS
        );
        assert_eq!(offset_of!(IscsiDataRsp, lun), off::LUN);
        assert_eq!(offset_of!(IscsiDataRsp, ttt), layout::data_in::TTT);
        seq!(IscsiDataRsp, data_in);
        assert_eq!(offset_of!(IscsiDataRsp, datasn), layout::data_in::DATA_SN);
        assert_eq!(
            offset_of!(IscsiDataRsp, offset),
            layout::data_in::BUFFER_OFFSET
        );
        assert_eq!(
            offset_of!(IscsiDataRsp, residual_count),
            layout::data_in::RESIDUAL
        );

        mirror!(IscsiR2tRsp {
            opcode: 1,
            flags: 1,
            rsvd2: 2,
            hlength: 1,
            dlength: 3,
            lun: 8,
            itt: 4,
            ttt: 4,
            statsn: 4,
            exp_cmdsn: 4,
            max_cmdsn: 4,
            r2tsn: 4,
            data_offset: 4,
            data_length: 4
        });
        assert_eq!(offset_of!(IscsiR2tRsp, ttt), layout::r2t::TTT);
        seq!(IscsiR2tRsp, r2t);
        assert_eq!(offset_of!(IscsiR2tRsp, r2tsn), layout::r2t::R2T_SN);
        assert_eq!(
            offset_of!(IscsiR2tRsp, data_offset),
            layout::r2t::BUFFER_OFFSET
        );
        assert_eq!(
            offset_of!(IscsiR2tRsp, data_length),
            layout::r2t::DESIRED_LENGTH
        );

        mirror!(IscsiNopin {
            opcode: 1,
            flags: 1,
            rsvd2: 2,
            rsvd3: 1,
            dlength: 3,
            lun: 8,
            itt: 4,
            ttt: 4,
            statsn: 4,
            exp_cmdsn: 4,
            max_cmdsn: 4,
            rsvd4: 12
        });
        assert_eq!(offset_of!(IscsiNopin, ttt), layout::nop_in::TTT);
        seq!(IscsiNopin, nop_in);

        mirror!(IscsiTmRsp {
            opcode: 1,
            flags: 1,
            response: 1,
            qualifier: 1,
            hlength: 1,
            dlength: 3,
            rsvd2: 8,
            itt: 4,
            rtt: 4,
            statsn: 4,
            exp_cmdsn: 4,
            max_cmdsn: 4,
            rsvd3: 12
        });
        assert_eq!(
            offset_of!(IscsiTmRsp, response),
            layout::task_mgmt_rsp::RESPONSE
        );
        seq!(IscsiTmRsp, task_mgmt_rsp);

        mirror!(IscsiTextRsp {
            opcode: 1,
            flags: 1,
            rsvd2: 2,
            hlength: 1,
            dlength: 3,
            rsvd4: 8,
            itt: 4,
            ttt: 4,
            statsn: 4,
            exp_cmdsn: 4,
            max_cmdsn: 4,
            rsvd5: 12
        });
        assert_eq!(offset_of!(IscsiTextRsp, ttt), layout::text_rsp::TTT);
        seq!(IscsiTextRsp, text_rsp);

        mirror!(IscsiLogoutRsp {
            opcode: 1,
            flags: 1,
            response: 1,
            rsvd2: 1,
            hlength: 1,
            dlength: 3,
            rsvd3: 8,
            itt: 4,
            rsvd4: 4,
            statsn: 4,
            exp_cmdsn: 4,
            max_cmdsn: 4,
            rsvd5: 4,
            t2wait: 2,
            t2retain: 2,
            rsvd6: 4
        });
        assert_eq!(
            offset_of!(IscsiLogoutRsp, response),
            layout::logout_rsp::RESPONSE
        );
        seq!(IscsiLogoutRsp, logout_rsp);
        assert_eq!(
            offset_of!(IscsiLogoutRsp, t2wait),
            layout::logout_rsp::TIME2WAIT
        );
        assert_eq!(
            offset_of!(IscsiLogoutRsp, t2retain),
            layout::logout_rsp::TIME2RETAIN
        );

        mirror!(IscsiReject {
            opcode: 1,
            flags: 1,
            reason: 1,
            rsvd2: 1,
            hlength: 1,
            dlength: 3,
            rsvd3: 8,
            ffffffff: 4,
            rsvd4: 4,
            statsn: 4,
            exp_cmdsn: 4,
            max_cmdsn: 4,
            datasn: 4,
            rsvd5: 8
        });
        assert_eq!(offset_of!(IscsiReject, reason), layout::reject::REASON);
        assert_eq!(offset_of!(IscsiReject, ffffffff), off::ITT);
        seq!(IscsiReject, reject);
        assert_eq!(
            offset_of!(IscsiReject, datasn),
            layout::reject::DATA_SN_OR_R2T_SN
        );

        mirror!(IscsiAsync {
            opcode: 1,
            flags: 1,
            rsvd2: 2,
            rsvd3: 1,
            dlength: 3,
            lun: 8,
            rsvd4: 8,
            statsn: 4,
            exp_cmdsn: 4,
            max_cmdsn: 4,
            async_event: 1,
            async_vcode: 1,
            param1: 2,
            param2: 2,
            param3: 2,
            rsvd5: 4
        });
        seq!(IscsiAsync, async_msg);
        assert_eq!(
            offset_of!(IscsiAsync, async_event),
            layout::async_msg::EVENT
        );
        assert_eq!(
            offset_of!(IscsiAsync, async_vcode),
            layout::async_msg::VCODE
        );
        assert_eq!(
            offset_of!(IscsiAsync, param1),
            layout::async_msg::PARAMETER1
        );
        assert_eq!(
            offset_of!(IscsiAsync, param2),
            layout::async_msg::PARAMETER2
        );
        assert_eq!(
            offset_of!(IscsiAsync, param3),
            layout::async_msg::PARAMETER3
        );
    }
}
