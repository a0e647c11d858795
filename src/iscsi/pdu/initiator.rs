//! The PDUs an initiator sends, as typed views of a [`Bhs`]. RFC 7143 §11.3, §11.5, §11.7,
//! §11.10, §11.12, §11.14, §11.16, §11.18.
//!
//! `decode` checks the opcode and the few field values the RFC forbids outright (lengths
//! that must be zero); everything else is decoded as sent, and the state machines judge it.
//! `encode` exists for tests and for tools that play the initiator.

use super::{
    expect_no_segments, expect_opcode, off, Bhs, BhsBuilder, Isid, Itt, LunField, Opcode, PduError,
    Ttt, BHS_LEN, FLAG_FINAL,
};

/// Task attributes of a SCSI Command (ATTR, 3 bits). RFC 7143 §11.3.1, SAM
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskAttr(pub u8);

impl TaskAttr {
    /// 0 Untagged.
    pub const UNTAGGED: Self = Self(0);
    /// 1 Simple.
    pub const SIMPLE: Self = Self(1);
    /// 2 Ordered.
    pub const ORDERED: Self = Self(2);
    /// 3 Head of queue.
    pub const HEAD_OF_QUEUE: Self = Self(3);
    /// 4 ACA.
    pub const ACA: Self = Self(4);
}

/// Task management function codes. RFC 7143 §11.5.1
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TmfFunction(pub u8);

impl TmfFunction {
    /// 1 ABORT TASK.
    pub const ABORT_TASK: Self = Self(1);
    /// 2 ABORT TASK SET.
    pub const ABORT_TASK_SET: Self = Self(2);
    /// 3 CLEAR ACA.
    pub const CLEAR_ACA: Self = Self(3);
    /// 4 CLEAR TASK SET.
    pub const CLEAR_TASK_SET: Self = Self(4);
    /// 5 LOGICAL UNIT RESET.
    pub const LOGICAL_UNIT_RESET: Self = Self(5);
    /// 6 TARGET WARM RESET.
    pub const TARGET_WARM_RESET: Self = Self(6);
    /// 7 TARGET COLD RESET.
    pub const TARGET_COLD_RESET: Self = Self(7);
    /// 8 TASK REASSIGN.
    pub const TASK_REASSIGN: Self = Self(8);
}

/// A login stage (CSG/NSG, 2 bits). Value 2 is reserved; tgt answers it with a Login
/// Response (initiator error), so it is kept rather than refused here. RFC 7143 §11.12.3
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stage(pub u8);

impl Stage {
    /// 0 SecurityNegotiation.
    pub const SECURITY: Self = Self(0);
    /// 1 LoginOperationalNegotiation.
    pub const OPERATIONAL: Self = Self(1);
    /// 3 FullFeaturePhase.
    pub const FULL_FEATURE: Self = Self(3);

    /// Whether the RFC defines this stage (0, 1 or 3).
    pub fn is_valid(self) -> bool {
        matches!(self.0, 0 | 1 | 3)
    }
}

/// Logout reason codes. RFC 7143 §11.14.1
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LogoutReason(pub u8);

impl LogoutReason {
    /// 0 Close the session.
    pub const CLOSE_SESSION: Self = Self(0);
    /// 1 Close the connection.
    pub const CLOSE_CONNECTION: Self = Self(1);
    /// 2 Remove the connection for recovery.
    pub const REMOVE_FOR_RECOVERY: Self = Self(2);
}

/// SNACK types (4 bits). RFC 7143 §11.16.1
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SnackType(pub u8);

impl SnackType {
    /// 0 Data/R2T SNACK.
    pub const DATA_R2T: Self = Self(0);
    /// 1 Status SNACK.
    pub const STATUS: Self = Self(1);
    /// 2 DataACK.
    pub const DATA_ACK: Self = Self(2);
    /// 3 R-Data SNACK.
    pub const R_DATA: Self = Self(3);
}

/// Byte-1 bits of the initiator PDUs.
mod bit {
    /// SCSI Command R. RFC 7143 §11.3.1
    pub const READ: u8 = 0x40;
    /// SCSI Command W.
    pub const WRITE: u8 = 0x20;
    /// SCSI Command ATTR.
    pub const ATTR: u8 = 0x07;
    /// Login T (transit). RFC 7143 §11.12.1
    pub const TRANSIT: u8 = 0x80;
    /// Login and Text C (continue). RFC 7143 §11.12.2, §11.10.2
    pub const CONTINUE: u8 = 0x40;
    /// Login CSG.
    pub const CSG_SHIFT: u8 = 2;
    /// Two-bit stage mask.
    pub const STAGE: u8 = 0x03;
    /// Task management function / logout reason: the seven bits under F.
    pub const LOW7: u8 = 0x7f;
    /// SNACK type.
    pub const SNACK_TYPE: u8 = 0x0f;
}

/// Byte offsets of the opcode-specific fields (the common ones are in [`super::off`]).
/// RFC 7143 §11
pub mod layout {
    /// SCSI Command. RFC 7143 §11.3
    pub mod scsi_cmd {
        /// Expected Data Transfer Length.
        pub const EDTL: usize = 20;
        /// CmdSN.
        pub const CMD_SN: usize = 24;
        /// ExpStatSN.
        pub const EXP_STAT_SN: usize = 28;
        /// CDB (16 bytes).
        pub const CDB: usize = 32;
    }
    /// SCSI Data-Out. RFC 7143 §11.7
    pub mod data_out {
        /// Target Transfer Tag.
        pub const TTT: usize = 20;
        /// ExpStatSN.
        pub const EXP_STAT_SN: usize = 28;
        /// DataSN.
        pub const DATA_SN: usize = 36;
        /// Buffer Offset.
        pub const BUFFER_OFFSET: usize = 40;
    }
    /// NOP-Out. RFC 7143 §11.18
    pub mod nop_out {
        /// Target Transfer Tag.
        pub const TTT: usize = 20;
        /// CmdSN.
        pub const CMD_SN: usize = 24;
        /// ExpStatSN.
        pub const EXP_STAT_SN: usize = 28;
    }
    /// Task Management Function Request. RFC 7143 §11.5
    pub mod task_mgmt {
        /// Referenced Task Tag.
        pub const REF_TASK_TAG: usize = 20;
        /// CmdSN.
        pub const CMD_SN: usize = 24;
        /// ExpStatSN.
        pub const EXP_STAT_SN: usize = 28;
        /// RefCmdSN.
        pub const REF_CMD_SN: usize = 32;
        /// ExpDataSN.
        pub const EXP_DATA_SN: usize = 36;
    }
    /// Login Request. RFC 7143 §11.12
    pub mod login {
        /// Version-max.
        pub const VERSION_MAX: usize = 2;
        /// Version-min.
        pub const VERSION_MIN: usize = 3;
        /// ISID (6 bytes).
        pub const ISID: usize = 8;
        /// TSIH (2 bytes).
        pub const TSIH: usize = 14;
        /// CID (2 bytes).
        pub const CID: usize = 20;
        /// CmdSN.
        pub const CMD_SN: usize = 24;
        /// ExpStatSN.
        pub const EXP_STAT_SN: usize = 28;
    }
    /// Text Request. RFC 7143 §11.10
    pub mod text {
        /// Target Transfer Tag.
        pub const TTT: usize = 20;
        /// CmdSN.
        pub const CMD_SN: usize = 24;
        /// ExpStatSN.
        pub const EXP_STAT_SN: usize = 28;
    }
    /// Logout Request. RFC 7143 §11.14
    pub mod logout {
        /// CID (2 bytes).
        pub const CID: usize = 20;
        /// CmdSN.
        pub const CMD_SN: usize = 24;
        /// ExpStatSN.
        pub const EXP_STAT_SN: usize = 28;
    }
    /// SNACK Request. RFC 7143 §11.16
    pub mod snack {
        /// Target Transfer Tag or SNACK Tag.
        pub const TTT_OR_SNACK_TAG: usize = 20;
        /// ExpStatSN.
        pub const EXP_STAT_SN: usize = 28;
        /// BegRun.
        pub const BEG_RUN: usize = 40;
        /// RunLength.
        pub const RUN_LENGTH: usize = 44;
    }
}

/// SCSI Command. RFC 7143 §11.3
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScsiCommand {
    /// I: immediate delivery. RFC 7143 §11.2.1.1
    pub immediate: bool,
    /// F: no unsolicited Data-Out follows. RFC 7143 §11.3.1
    pub final_pdu: bool,
    /// R: data will be read from the target. RFC 7143 §11.3.1
    pub read: bool,
    /// W: data will be written to the target. RFC 7143 §11.3.1
    pub write: bool,
    /// ATTR: task attribute. RFC 7143 §11.3.1
    pub attr: TaskAttr,
    /// LUN. RFC 7143 §11.2.1.7
    pub lun: LunField,
    /// Initiator Task Tag. RFC 7143 §11.2.1.8
    pub itt: Itt,
    /// Expected Data Transfer Length. RFC 7143 §11.3.4
    pub edtl: u32,
    /// CmdSN. RFC 7143 §11.3.2
    pub cmd_sn: u32,
    /// ExpStatSN. RFC 7143 §11.3.3
    pub exp_stat_sn: u32,
    /// The first 16 CDB bytes (more in an extended CDB AHS). RFC 7143 §11.3.5
    pub cdb: [u8; 16],
}

impl ScsiCommand {
    /// Decodes the view. RFC 7143 §11.3
    pub fn decode(bhs: &Bhs) -> Result<Self, PduError> {
        expect_opcode(bhs, Opcode::SCSI_CMD, "SCSI Command")?;
        let f = bhs.flags();
        let b = bhs.as_bytes();
        Ok(Self {
            immediate: bhs.immediate(),
            final_pdu: f & FLAG_FINAL != 0,
            read: f & bit::READ != 0,
            write: f & bit::WRITE != 0,
            attr: TaskAttr(f & bit::ATTR),
            lun: bhs.lun(),
            itt: bhs.itt(),
            edtl: bhs.u32_at(layout::scsi_cmd::EDTL),
            cmd_sn: bhs.u32_at(layout::scsi_cmd::CMD_SN),
            exp_stat_sn: bhs.u32_at(layout::scsi_cmd::EXP_STAT_SN),
            cdb: b[layout::scsi_cmd::CDB..layout::scsi_cmd::CDB + 16]
                .try_into()
                .expect("16-byte CDB field"),
        })
    }

    /// Encodes with no AHS and a data segment (immediate data) of `data_len` bytes.
    pub fn encode(&self, data_len: usize) -> [u8; BHS_LEN] {
        self.encode_with_ahs(0, data_len)
    }

    /// Encodes with `ahs_words` 4-byte words of AHS.
    pub fn encode_with_ahs(&self, ahs_words: u8, data_len: usize) -> [u8; BHS_LEN] {
        let flags = flag(self.final_pdu, FLAG_FINAL)
            | flag(self.read, bit::READ)
            | flag(self.write, bit::WRITE)
            | (self.attr.0 & bit::ATTR);
        BhsBuilder::new(Opcode::SCSI_CMD, self.immediate, flags, data_len)
            .ahs_words(ahs_words)
            .bytes(off::LUN, &self.lun)
            .u32(off::ITT, self.itt.0)
            .u32(layout::scsi_cmd::EDTL, self.edtl)
            .u32(layout::scsi_cmd::CMD_SN, self.cmd_sn)
            .u32(layout::scsi_cmd::EXP_STAT_SN, self.exp_stat_sn)
            .bytes(layout::scsi_cmd::CDB, &self.cdb)
            .finish()
    }
}

/// SCSI Data-Out. RFC 7143 §11.7
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataOut {
    /// F: last PDU of the unsolicited burst or of the R2T's sequence. RFC 7143 §11.7.1
    pub final_pdu: bool,
    /// LUN (echoed from the R2T, or the command's for unsolicited data). RFC 7143 §11.7.4
    pub lun: LunField,
    /// Initiator Task Tag. RFC 7143 §11.2.1.8
    pub itt: Itt,
    /// Target Transfer Tag from the R2T, or reserved for unsolicited data. RFC 7143 §11.7.4
    pub ttt: Ttt,
    /// ExpStatSN. RFC 7143 §11.7
    pub exp_stat_sn: u32,
    /// DataSN within the sequence. RFC 7143 §11.7.5
    pub data_sn: u32,
    /// Buffer Offset of this segment in the command's data. RFC 7143 §11.7.6
    pub buffer_offset: u32,
}

impl DataOut {
    /// Decodes the view. RFC 7143 §11.7
    pub fn decode(bhs: &Bhs) -> Result<Self, PduError> {
        expect_opcode(bhs, Opcode::DATA_OUT, "SCSI Data-Out")?;
        Ok(Self {
            final_pdu: bhs.is_final(),
            lun: bhs.lun(),
            itt: bhs.itt(),
            ttt: Ttt(bhs.u32_at(layout::data_out::TTT)),
            exp_stat_sn: bhs.u32_at(layout::data_out::EXP_STAT_SN),
            data_sn: bhs.u32_at(layout::data_out::DATA_SN),
            buffer_offset: bhs.u32_at(layout::data_out::BUFFER_OFFSET),
        })
    }

    /// Encodes with a data segment of `data_len` bytes.
    pub fn encode(&self, data_len: usize) -> [u8; BHS_LEN] {
        BhsBuilder::new(
            Opcode::DATA_OUT,
            false,
            flag(self.final_pdu, FLAG_FINAL),
            data_len,
        )
        .bytes(off::LUN, &self.lun)
        .u32(off::ITT, self.itt.0)
        .u32(layout::data_out::TTT, self.ttt.0)
        .u32(layout::data_out::EXP_STAT_SN, self.exp_stat_sn)
        .u32(layout::data_out::DATA_SN, self.data_sn)
        .u32(layout::data_out::BUFFER_OFFSET, self.buffer_offset)
        .finish()
    }
}

/// NOP-Out: a ping, or the answer to a target's NOP-In. RFC 7143 §11.18
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NopOut {
    /// I: immediate delivery. RFC 7143 §11.2.1.1
    pub immediate: bool,
    /// LUN (echoed from the NOP-In it answers). RFC 7143 §11.18
    pub lun: LunField,
    /// Initiator Task Tag; reserved when answering a NOP-In. RFC 7143 §11.18.1
    pub itt: Itt,
    /// Target Transfer Tag of the NOP-In answered, else reserved. RFC 7143 §11.18.2
    pub ttt: Ttt,
    /// CmdSN. RFC 7143 §11.18
    pub cmd_sn: u32,
    /// ExpStatSN. RFC 7143 §11.18
    pub exp_stat_sn: u32,
}

impl NopOut {
    /// Decodes the view. RFC 7143 §11.18
    pub fn decode(bhs: &Bhs) -> Result<Self, PduError> {
        expect_opcode(bhs, Opcode::NOP_OUT, "NOP-Out")?;
        Ok(Self {
            immediate: bhs.immediate(),
            lun: bhs.lun(),
            itt: bhs.itt(),
            ttt: Ttt(bhs.u32_at(layout::nop_out::TTT)),
            cmd_sn: bhs.u32_at(layout::nop_out::CMD_SN),
            exp_stat_sn: bhs.u32_at(layout::nop_out::EXP_STAT_SN),
        })
    }

    /// Encodes with `data_len` bytes of ping data (F is always 1).
    pub fn encode(&self, data_len: usize) -> [u8; BHS_LEN] {
        BhsBuilder::new(Opcode::NOP_OUT, self.immediate, FLAG_FINAL, data_len)
            .bytes(off::LUN, &self.lun)
            .u32(off::ITT, self.itt.0)
            .u32(layout::nop_out::TTT, self.ttt.0)
            .u32(layout::nop_out::CMD_SN, self.cmd_sn)
            .u32(layout::nop_out::EXP_STAT_SN, self.exp_stat_sn)
            .finish()
    }
}

/// SCSI Task Management Function Request. RFC 7143 §11.5
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskMgmt {
    /// I: immediate delivery. RFC 7143 §11.2.1.1
    pub immediate: bool,
    /// Function. RFC 7143 §11.5.1
    pub function: TmfFunction,
    /// LUN. RFC 7143 §11.5.3
    pub lun: LunField,
    /// Initiator Task Tag of this request. RFC 7143 §11.2.1.8
    pub itt: Itt,
    /// Referenced Task Tag: the task to abort (ABORT TASK). RFC 7143 §11.5.4
    pub ref_task_tag: Itt,
    /// CmdSN. RFC 7143 §11.5
    pub cmd_sn: u32,
    /// ExpStatSN. RFC 7143 §11.5
    pub exp_stat_sn: u32,
    /// RefCmdSN: CmdSN of the referenced task. RFC 7143 §11.5.5
    pub ref_cmd_sn: u32,
    /// ExpDataSN (TASK REASSIGN). RFC 7143 §11.5.6
    pub exp_data_sn: u32,
}

impl TaskMgmt {
    /// Decodes the view; TotalAHSLength and DataSegmentLength must be 0. RFC 7143 §11.5.2
    pub fn decode(bhs: &Bhs) -> Result<Self, PduError> {
        expect_opcode(bhs, Opcode::TASK_MGMT, "Task Management Request")?;
        expect_no_segments(bhs)?;
        Ok(Self {
            immediate: bhs.immediate(),
            function: TmfFunction(bhs.flags() & bit::LOW7),
            lun: bhs.lun(),
            itt: bhs.itt(),
            ref_task_tag: Itt(bhs.u32_at(layout::task_mgmt::REF_TASK_TAG)),
            cmd_sn: bhs.u32_at(layout::task_mgmt::CMD_SN),
            exp_stat_sn: bhs.u32_at(layout::task_mgmt::EXP_STAT_SN),
            ref_cmd_sn: bhs.u32_at(layout::task_mgmt::REF_CMD_SN),
            exp_data_sn: bhs.u32_at(layout::task_mgmt::EXP_DATA_SN),
        })
    }

    /// Encodes (no data segment).
    pub fn encode(&self) -> [u8; BHS_LEN] {
        BhsBuilder::new(
            Opcode::TASK_MGMT,
            self.immediate,
            FLAG_FINAL | (self.function.0 & bit::LOW7),
            0,
        )
        .bytes(off::LUN, &self.lun)
        .u32(off::ITT, self.itt.0)
        .u32(layout::task_mgmt::REF_TASK_TAG, self.ref_task_tag.0)
        .u32(layout::task_mgmt::CMD_SN, self.cmd_sn)
        .u32(layout::task_mgmt::EXP_STAT_SN, self.exp_stat_sn)
        .u32(layout::task_mgmt::REF_CMD_SN, self.ref_cmd_sn)
        .u32(layout::task_mgmt::EXP_DATA_SN, self.exp_data_sn)
        .finish()
    }
}

/// Login Request. RFC 7143 §11.12
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginRequest {
    /// I: always 1 for a Login Request (tgt Rejects it otherwise). RFC 7143 §11.12
    pub immediate: bool,
    /// T: the initiator is ready to move to `nsg`. RFC 7143 §11.12.1
    pub transit: bool,
    /// C: the text continues in the next PDU. RFC 7143 §11.12.2
    pub cont: bool,
    /// CSG: current stage. RFC 7143 §11.12.3
    pub csg: Stage,
    /// NSG: next stage (meaningful only with T). RFC 7143 §11.12.3
    pub nsg: Stage,
    /// Version-max. RFC 7143 §11.12.4
    pub version_max: u8,
    /// Version-min. RFC 7143 §11.12.4
    pub version_min: u8,
    /// ISID. RFC 7143 §11.12.5
    pub isid: Isid,
    /// TSIH: 0 for a new session, the session's handle to add a connection. RFC 7143
    /// §11.12.6
    pub tsih: u16,
    /// Initiator Task Tag. RFC 7143 §11.2.1.8
    pub itt: Itt,
    /// CID: connection ID. RFC 7143 §11.12.7
    pub cid: u16,
    /// CmdSN. RFC 7143 §11.12.8
    pub cmd_sn: u32,
    /// ExpStatSN. RFC 7143 §11.12.9
    pub exp_stat_sn: u32,
}

impl LoginRequest {
    /// Decodes the view. RFC 7143 §11.12
    pub fn decode(bhs: &Bhs) -> Result<Self, PduError> {
        expect_opcode(bhs, Opcode::LOGIN, "Login Request")?;
        let f = bhs.flags();
        let b = bhs.as_bytes();
        Ok(Self {
            immediate: bhs.immediate(),
            transit: f & bit::TRANSIT != 0,
            cont: f & bit::CONTINUE != 0,
            csg: Stage((f >> bit::CSG_SHIFT) & bit::STAGE),
            nsg: Stage(f & bit::STAGE),
            version_max: b[layout::login::VERSION_MAX],
            version_min: b[layout::login::VERSION_MIN],
            isid: Isid(
                b[layout::login::ISID..layout::login::ISID + 6]
                    .try_into()
                    .expect("6-byte ISID field"),
            ),
            tsih: bhs.u16_at(layout::login::TSIH),
            itt: bhs.itt(),
            cid: bhs.u16_at(layout::login::CID),
            cmd_sn: bhs.u32_at(layout::login::CMD_SN),
            exp_stat_sn: bhs.u32_at(layout::login::EXP_STAT_SN),
        })
    }

    /// Encodes with `data_len` bytes of login parameters.
    pub fn encode(&self, data_len: usize) -> [u8; BHS_LEN] {
        let flags = flag(self.transit, bit::TRANSIT)
            | flag(self.cont, bit::CONTINUE)
            | ((self.csg.0 & bit::STAGE) << bit::CSG_SHIFT)
            | (self.nsg.0 & bit::STAGE);
        BhsBuilder::new(Opcode::LOGIN, self.immediate, flags, data_len)
            .byte(layout::login::VERSION_MAX, self.version_max)
            .byte(layout::login::VERSION_MIN, self.version_min)
            .bytes(layout::login::ISID, &self.isid.0)
            .u16(layout::login::TSIH, self.tsih)
            .u32(off::ITT, self.itt.0)
            .u16(layout::login::CID, self.cid)
            .u32(layout::login::CMD_SN, self.cmd_sn)
            .u32(layout::login::EXP_STAT_SN, self.exp_stat_sn)
            .finish()
    }
}

/// Text Request. RFC 7143 §11.10
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRequest {
    /// I: immediate delivery. RFC 7143 §11.2.1.1
    pub immediate: bool,
    /// F: the last PDU of the request. RFC 7143 §11.10.1
    pub final_pdu: bool,
    /// C: the text continues in the next PDU. RFC 7143 §11.10.2
    pub cont: bool,
    /// LUN or reserved. RFC 7143 §11.10
    pub lun: LunField,
    /// Initiator Task Tag. RFC 7143 §11.10.3
    pub itt: Itt,
    /// Target Transfer Tag: reserved to start, or the target's tag to continue. RFC 7143
    /// §11.10.4
    pub ttt: Ttt,
    /// CmdSN. RFC 7143 §11.10
    pub cmd_sn: u32,
    /// ExpStatSN. RFC 7143 §11.10
    pub exp_stat_sn: u32,
}

impl TextRequest {
    /// Decodes the view. RFC 7143 §11.10
    pub fn decode(bhs: &Bhs) -> Result<Self, PduError> {
        expect_opcode(bhs, Opcode::TEXT, "Text Request")?;
        let f = bhs.flags();
        Ok(Self {
            immediate: bhs.immediate(),
            final_pdu: f & FLAG_FINAL != 0,
            cont: f & bit::CONTINUE != 0,
            lun: bhs.lun(),
            itt: bhs.itt(),
            ttt: Ttt(bhs.u32_at(layout::text::TTT)),
            cmd_sn: bhs.u32_at(layout::text::CMD_SN),
            exp_stat_sn: bhs.u32_at(layout::text::EXP_STAT_SN),
        })
    }

    /// Encodes with `data_len` bytes of text.
    pub fn encode(&self, data_len: usize) -> [u8; BHS_LEN] {
        let flags = flag(self.final_pdu, FLAG_FINAL) | flag(self.cont, bit::CONTINUE);
        BhsBuilder::new(Opcode::TEXT, self.immediate, flags, data_len)
            .bytes(off::LUN, &self.lun)
            .u32(off::ITT, self.itt.0)
            .u32(layout::text::TTT, self.ttt.0)
            .u32(layout::text::CMD_SN, self.cmd_sn)
            .u32(layout::text::EXP_STAT_SN, self.exp_stat_sn)
            .finish()
    }
}

/// Logout Request. RFC 7143 §11.14
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogoutRequest {
    /// I: immediate delivery. RFC 7143 §11.2.1.1
    pub immediate: bool,
    /// Reason Code. RFC 7143 §11.14.1
    pub reason: LogoutReason,
    /// Initiator Task Tag. RFC 7143 §11.2.1.8
    pub itt: Itt,
    /// CID of the connection to close (reserved when closing the session). RFC 7143 §11.14.3
    pub cid: u16,
    /// CmdSN. RFC 7143 §11.14
    pub cmd_sn: u32,
    /// ExpStatSN. RFC 7143 §11.14.4
    pub exp_stat_sn: u32,
}

impl LogoutRequest {
    /// Decodes the view; TotalAHSLength and DataSegmentLength must be 0. RFC 7143 §11.14.2
    pub fn decode(bhs: &Bhs) -> Result<Self, PduError> {
        expect_opcode(bhs, Opcode::LOGOUT, "Logout Request")?;
        expect_no_segments(bhs)?;
        Ok(Self {
            immediate: bhs.immediate(),
            reason: LogoutReason(bhs.flags() & bit::LOW7),
            itt: bhs.itt(),
            cid: bhs.u16_at(layout::logout::CID),
            cmd_sn: bhs.u32_at(layout::logout::CMD_SN),
            exp_stat_sn: bhs.u32_at(layout::logout::EXP_STAT_SN),
        })
    }

    /// Encodes (no data segment).
    pub fn encode(&self) -> [u8; BHS_LEN] {
        BhsBuilder::new(
            Opcode::LOGOUT,
            self.immediate,
            FLAG_FINAL | (self.reason.0 & bit::LOW7),
            0,
        )
        .u32(off::ITT, self.itt.0)
        .u16(layout::logout::CID, self.cid)
        .u32(layout::logout::CMD_SN, self.cmd_sn)
        .u32(layout::logout::EXP_STAT_SN, self.exp_stat_sn)
        .finish()
    }
}

/// SNACK Request (tgt ignores these: error recovery level 0). RFC 7143 §11.16
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snack {
    /// Type. RFC 7143 §11.16.1
    pub snack_type: SnackType,
    /// LUN or reserved. RFC 7143 §11.16
    pub lun: LunField,
    /// Initiator Task Tag, or reserved for a Status SNACK. RFC 7143 §11.16.4
    pub itt: Itt,
    /// Target Transfer Tag (DataACK) or SNACK Tag (R-Data), else reserved. RFC 7143 §11.16.5
    pub ttt_or_snack_tag: u32,
    /// ExpStatSN. RFC 7143 §11.16
    pub exp_stat_sn: u32,
    /// BegRun: first DataSN, R2TSN or StatSN asked for. RFC 7143 §11.16.6
    pub beg_run: u32,
    /// RunLength: how many (0 = all from BegRun). RFC 7143 §11.16.7
    pub run_length: u32,
}

impl Snack {
    /// Decodes the view. RFC 7143 §11.16
    pub fn decode(bhs: &Bhs) -> Result<Self, PduError> {
        expect_opcode(bhs, Opcode::SNACK, "SNACK Request")?;
        Ok(Self {
            snack_type: SnackType(bhs.flags() & bit::SNACK_TYPE),
            lun: bhs.lun(),
            itt: bhs.itt(),
            ttt_or_snack_tag: bhs.u32_at(layout::snack::TTT_OR_SNACK_TAG),
            exp_stat_sn: bhs.u32_at(layout::snack::EXP_STAT_SN),
            beg_run: bhs.u32_at(layout::snack::BEG_RUN),
            run_length: bhs.u32_at(layout::snack::RUN_LENGTH),
        })
    }

    /// Encodes (no data segment).
    pub fn encode(&self) -> [u8; BHS_LEN] {
        BhsBuilder::new(
            Opcode::SNACK,
            false,
            FLAG_FINAL | (self.snack_type.0 & bit::SNACK_TYPE),
            0,
        )
        .bytes(off::LUN, &self.lun)
        .u32(off::ITT, self.itt.0)
        .u32(layout::snack::TTT_OR_SNACK_TAG, self.ttt_or_snack_tag)
        .u32(layout::snack::EXP_STAT_SN, self.exp_stat_sn)
        .u32(layout::snack::BEG_RUN, self.beg_run)
        .u32(layout::snack::RUN_LENGTH, self.run_length)
        .finish()
    }
}

/// Any PDU an initiator may send, decoded by opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// 0x00. RFC 7143 §11.18
    NopOut(NopOut),
    /// 0x01. RFC 7143 §11.3
    ScsiCommand(ScsiCommand),
    /// 0x02. RFC 7143 §11.5
    TaskMgmt(TaskMgmt),
    /// 0x03. RFC 7143 §11.12
    Login(LoginRequest),
    /// 0x04. RFC 7143 §11.10
    Text(TextRequest),
    /// 0x05. RFC 7143 §11.7
    DataOut(DataOut),
    /// 0x06. RFC 7143 §11.14
    Logout(LogoutRequest),
    /// 0x10. RFC 7143 §11.16
    Snack(Snack),
}

impl Request {
    /// Decodes the typed view of an initiator PDU. A target opcode is a protocol error; an
    /// opcode the RFC does not define is "command not supported" (RFC 7143 §11.17.1).
    pub fn decode(bhs: &Bhs) -> Result<Self, PduError> {
        Ok(match bhs.opcode() {
            Opcode::NOP_OUT => Self::NopOut(NopOut::decode(bhs)?),
            Opcode::SCSI_CMD => Self::ScsiCommand(ScsiCommand::decode(bhs)?),
            Opcode::TASK_MGMT => Self::TaskMgmt(TaskMgmt::decode(bhs)?),
            Opcode::LOGIN => Self::Login(LoginRequest::decode(bhs)?),
            Opcode::TEXT => Self::Text(TextRequest::decode(bhs)?),
            Opcode::DATA_OUT => Self::DataOut(DataOut::decode(bhs)?),
            Opcode::LOGOUT => Self::Logout(LogoutRequest::decode(bhs)?),
            Opcode::SNACK => Self::Snack(Snack::decode(bhs)?),
            op if op.is_known() => {
                return Err(PduError::UnexpectedOpcode {
                    got: op,
                    expected: "an initiator PDU",
                })
            }
            op => return Err(PduError::UnknownOpcode(op)),
        })
    }

    /// The Initiator Task Tag.
    pub fn itt(&self) -> Itt {
        match self {
            Self::NopOut(p) => p.itt,
            Self::ScsiCommand(p) => p.itt,
            Self::TaskMgmt(p) => p.itt,
            Self::Login(p) => p.itt,
            Self::Text(p) => p.itt,
            Self::DataOut(p) => p.itt,
            Self::Logout(p) => p.itt,
            Self::Snack(p) => p.itt,
        }
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
    use crate::iscsi::pdu::{RejectReason, MAX_DSL};

    fn bhs(raw: [u8; BHS_LEN]) -> Bhs {
        Bhs::decode(&raw, MAX_DSL).unwrap()
    }

    /// RFC 3720 Appendix B.4's "iSCSI - SCSI Read (10) Command PDU".
    const READ10: [u8; BHS_LEN] = [
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00,
        0x00, 0x18, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00,
    ];

    #[test]
    fn scsi_command_from_the_rfc_read10_example() {
        let cmd = ScsiCommand::decode(&bhs(READ10)).unwrap();
        assert!(!cmd.immediate);
        assert!(cmd.final_pdu && cmd.read && !cmd.write);
        assert_eq!(cmd.attr, TaskAttr::UNTAGGED);
        assert_eq!(cmd.lun, [0; 8]);
        assert_eq!(cmd.itt, Itt(0x1400_0000));
        assert_eq!(cmd.edtl, 0x400);
        assert_eq!(cmd.cmd_sn, 0x14);
        assert_eq!(cmd.exp_stat_sn, 0x18);
        assert_eq!(
            cmd.cdb,
            [0x28, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(cmd.encode(0), READ10);
    }

    #[test]
    fn scsi_command_write_with_attr_ahs_and_immediate_data() {
        let mut raw = [0u8; BHS_LEN];
        raw[..8].copy_from_slice(&[0x41, 0xa1, 0, 0, 0x02, 0, 0x02, 0x00]);
        raw[9] = 0x03; // LUN 3
        raw[16..20].copy_from_slice(&[0, 0, 0, 7]);
        raw[20..24].copy_from_slice(&[0, 0, 0x10, 0]);
        raw[32] = 0x2a;
        let cmd = ScsiCommand::decode(&bhs(raw)).unwrap();
        assert!(cmd.immediate && cmd.final_pdu && cmd.write && !cmd.read);
        assert_eq!(cmd.attr, TaskAttr::SIMPLE);
        assert_eq!(cmd.edtl, 4096);
        assert_eq!(cmd.encode_with_ahs(2, 512), raw);
        // R and W together (bidirectional) decode as sent.
        raw[1] = 0xe2;
        let cmd = ScsiCommand::decode(&bhs(raw)).unwrap();
        assert!(cmd.read && cmd.write);
        assert_eq!(cmd.attr, TaskAttr::ORDERED);
    }

    #[test]
    fn data_out_round_trip() {
        let raw: [u8; BHS_LEN] = [
            0x05, 0x80, 0, 0, 0, 0x00, 0x20, 0x00, // F, DSL 8192
            0, 1, 0, 0, 0, 0, 0, 0, // LUN 1
            0, 0, 0, 9, // ITT
            0, 0, 0, 0x33, // TTT
            0, 0, 0, 0, // reserved
            0, 0, 0, 5, // ExpStatSN
            0, 0, 0, 0, // reserved
            0, 0, 0, 2, // DataSN
            0, 0, 0x40, 0, // BufferOffset 16384
            0, 0, 0, 0,
        ];
        let d = DataOut::decode(&bhs(raw)).unwrap();
        assert_eq!(
            d,
            DataOut {
                final_pdu: true,
                lun: [0, 1, 0, 0, 0, 0, 0, 0],
                itt: Itt(9),
                ttt: Ttt(0x33),
                exp_stat_sn: 5,
                data_sn: 2,
                buffer_offset: 16384,
            }
        );
        assert_eq!(d.encode(8192), raw);
    }

    #[test]
    fn nop_out_round_trip() {
        let mut raw = [0u8; BHS_LEN];
        raw[..8].copy_from_slice(&[0x40, 0x80, 0, 0, 0, 0, 0, 4]);
        raw[16..32].copy_from_slice(&[
            0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0x2a, 0, 0, 0, 3, 0, 0, 0, 4,
        ]);
        let n = NopOut::decode(&bhs(raw)).unwrap();
        assert!(n.immediate);
        assert_eq!(n.itt, Itt::RESERVED);
        assert_eq!(n.ttt, Ttt(0x2a));
        assert_eq!((n.cmd_sn, n.exp_stat_sn), (3, 4));
        assert_eq!(n.encode(4), raw);
    }

    #[test]
    fn task_mgmt_round_trip_and_segments_must_be_empty() {
        let mut raw = [0u8; BHS_LEN];
        raw[..2].copy_from_slice(&[0x42, 0x81]); // immediate, ABORT TASK
        raw[9] = 2;
        raw[16..40].copy_from_slice(&[
            0, 0, 0, 0x10, 0, 0, 0, 0x0f, 0, 0, 0, 7, 0, 0, 0, 8, 0, 0, 0, 6, 0, 0, 0, 1,
        ]);
        let t = TaskMgmt::decode(&bhs(raw)).unwrap();
        assert_eq!(t.function, TmfFunction::ABORT_TASK);
        assert_eq!(t.ref_task_tag, Itt(0x0f));
        assert_eq!(
            (t.cmd_sn, t.exp_stat_sn, t.ref_cmd_sn, t.exp_data_sn),
            (7, 8, 6, 1)
        );
        assert_eq!(t.encode(), raw);

        let mut with_data = raw;
        with_data[7] = 4;
        let err = TaskMgmt::decode(&bhs(with_data)).unwrap_err();
        assert_eq!(
            err,
            PduError::InvalidField {
                opcode: Opcode::TASK_MGMT,
                field: "DataSegmentLength"
            }
        );
        assert_eq!(err.reject_reason(), Some(RejectReason(0x09)));
        let mut with_ahs = raw;
        with_ahs[4] = 1;
        assert!(TaskMgmt::decode(&bhs(with_ahs)).is_err());
    }

    #[test]
    fn login_request_round_trip() {
        // Immediate Login, T=1 CSG=1 NSG=3, version 0/0, ISID 80 12 34 56 00 01, TSIH 0,
        // ITT 1, CID 0, CmdSN 1, ExpStatSN 0, 0x30 bytes of text.
        let mut raw = [0u8; BHS_LEN];
        raw[..8].copy_from_slice(&[0x43, 0x87, 0, 0, 0, 0, 0, 0x30]);
        raw[8..14].copy_from_slice(&[0x80, 0x12, 0x34, 0x56, 0x00, 0x01]);
        raw[16..20].copy_from_slice(&[0, 0, 0, 1]);
        raw[24..28].copy_from_slice(&[0, 0, 0, 1]);
        let l = LoginRequest::decode(&bhs(raw)).unwrap();
        assert!(l.immediate && l.transit && !l.cont);
        assert_eq!(l.csg, Stage::OPERATIONAL);
        assert_eq!(l.nsg, Stage::FULL_FEATURE);
        assert_eq!(l.isid, Isid([0x80, 0x12, 0x34, 0x56, 0x00, 0x01]));
        assert_eq!((l.tsih, l.cid, l.cmd_sn), (0, 0, 1));
        assert_eq!(l.encode(0x30), raw);

        // C=1, CSG=2 (reserved), TSIH 0x1234, CID 0x0102, versions 2/1: kept as sent.
        raw[1] = 0x48;
        raw[2] = 2;
        raw[3] = 1;
        raw[14..16].copy_from_slice(&[0x12, 0x34]);
        raw[20..22].copy_from_slice(&[0x01, 0x02]);
        let l = LoginRequest::decode(&bhs(raw)).unwrap();
        assert!(!l.transit && l.cont);
        assert_eq!(l.csg, Stage(2));
        assert!(!l.csg.is_valid());
        assert_eq!((l.version_max, l.version_min), (2, 1));
        assert_eq!((l.tsih, l.cid), (0x1234, 0x0102));
        assert_eq!(l.encode(0x30), raw);
    }

    #[test]
    fn text_request_round_trip() {
        let mut raw = [0u8; BHS_LEN];
        raw[..8].copy_from_slice(&[0x44, 0x80, 0, 0, 0, 0, 0, 0x10]);
        raw[16..32].copy_from_slice(&[0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2, 0, 0, 0, 3]);
        let t = TextRequest::decode(&bhs(raw)).unwrap();
        assert!(t.immediate && t.final_pdu && !t.cont);
        assert_eq!(t.ttt, Ttt::RESERVED);
        assert_eq!(t.encode(16), raw);
        raw[1] = 0x40;
        let t = TextRequest::decode(&bhs(raw)).unwrap();
        assert!(!t.final_pdu && t.cont);
        assert_eq!(t.encode(16), raw);
    }

    #[test]
    fn logout_request_round_trip_and_segments_must_be_empty() {
        let mut raw = [0u8; BHS_LEN];
        raw[..2].copy_from_slice(&[0x46, 0x81]); // close connection
        raw[16..32].copy_from_slice(&[0, 0, 0, 0x77, 0, 3, 0, 0, 0, 0, 0, 9, 0, 0, 0, 10]);
        let l = LogoutRequest::decode(&bhs(raw)).unwrap();
        assert_eq!(l.reason, LogoutReason::CLOSE_CONNECTION);
        assert_eq!(
            (l.itt, l.cid, l.cmd_sn, l.exp_stat_sn),
            (Itt(0x77), 3, 9, 10)
        );
        assert_eq!(l.encode(), raw);
        raw[7] = 1;
        assert!(LogoutRequest::decode(&bhs(raw)).is_err());
    }

    #[test]
    fn snack_round_trip() {
        let mut raw = [0u8; BHS_LEN];
        raw[..2].copy_from_slice(&[0x10, 0x81]); // Status SNACK
        raw[16..20].copy_from_slice(&[0xff; 4]);
        raw[28..32].copy_from_slice(&[0, 0, 0, 4]);
        raw[40..48].copy_from_slice(&[0, 0, 0, 2, 0, 0, 0, 0]);
        let s = Snack::decode(&bhs(raw)).unwrap();
        assert_eq!(s.snack_type, SnackType::STATUS);
        assert_eq!((s.exp_stat_sn, s.beg_run, s.run_length), (4, 2, 0));
        assert_eq!(s.encode(), raw);
    }

    #[test]
    fn request_dispatch_refuses_target_and_unknown_opcodes() {
        assert!(matches!(
            Request::decode(&bhs(READ10)),
            Ok(Request::ScsiCommand(_))
        ));
        let mut raw = [0u8; BHS_LEN];
        raw[0] = 0x21; // SCSI Response sent to a target
        let err = Request::decode(&Bhs::from_bytes(raw)).unwrap_err();
        assert!(matches!(err, PduError::UnexpectedOpcode { got, .. } if got == Opcode(0x21)));
        assert_eq!(err.reject_reason(), Some(RejectReason(0x04)));
        raw[0] = 0x1c; // vendor-specific
        assert_eq!(
            Request::decode(&Bhs::from_bytes(raw)).unwrap_err(),
            PduError::UnknownOpcode(Opcode(0x1c))
        );
    }

    #[test]
    fn typed_views_check_their_opcode() {
        let raw = READ10;
        let b = bhs(raw);
        assert!(DataOut::decode(&b).is_err());
        assert!(NopOut::decode(&b).is_err());
        assert!(TaskMgmt::decode(&b).is_err());
        assert!(LoginRequest::decode(&b).is_err());
        assert!(TextRequest::decode(&b).is_err());
        assert!(LogoutRequest::decode(&b).is_err());
        assert!(Snack::decode(&b).is_err());
    }

    /// The offsets against a `#[repr(C)]` mirror of each RFC 7143 §11 figure, field by field
    /// in wire order (byte arrays only, so there is no padding). Names follow tgt's
    /// usr/iscsi/iscsi_proto.h; its `struct iscsi_snack` predates RFC 3720, so the SNACK
    /// mirror follows the RFC figure instead.
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
        mirror!(IscsiCmd {
            opcode: 1,
            flags: 1,
            rsvd2: 2,
            hlength: 1,
            dlength: 3,
            lun: 8,
            itt: 4,
            data_length: 4,
            cmdsn: 4,
            exp_statsn: 4,
            cdb: 16
        });
        assert_eq!(offset_of!(IscsiCmd, lun), off::LUN);
        assert_eq!(offset_of!(IscsiCmd, itt), off::ITT);
        assert_eq!(offset_of!(IscsiCmd, hlength), off::TOTAL_AHS_LEN);
        assert_eq!(offset_of!(IscsiCmd, dlength), off::DSL);
        assert_eq!(offset_of!(IscsiCmd, data_length), layout::scsi_cmd::EDTL);
        assert_eq!(offset_of!(IscsiCmd, cmdsn), layout::scsi_cmd::CMD_SN);
        assert_eq!(
            offset_of!(IscsiCmd, exp_statsn),
            layout::scsi_cmd::EXP_STAT_SN
        );
        assert_eq!(offset_of!(IscsiCmd, cdb), layout::scsi_cmd::CDB);

        mirror!(IscsiData {
            opcode: 1,
            flags: 1,
            rsvd2: 2,
            rsvd3: 1,
            dlength: 3,
            lun: 8,
            itt: 4,
            ttt: 4,
            rsvd4: 4,
            exp_statsn: 4,
            rsvd5: 4,
            datasn: 4,
            offset: 4,
            rsvd6: 4
        });
        assert_eq!(offset_of!(IscsiData, ttt), layout::data_out::TTT);
        assert_eq!(
            offset_of!(IscsiData, exp_statsn),
            layout::data_out::EXP_STAT_SN
        );
        assert_eq!(offset_of!(IscsiData, datasn), layout::data_out::DATA_SN);
        assert_eq!(
            offset_of!(IscsiData, offset),
            layout::data_out::BUFFER_OFFSET
        );

        mirror!(IscsiNopout {
            opcode: 1,
            flags: 1,
            rsvd2: 2,
            rsvd3: 1,
            dlength: 3,
            lun: 8,
            itt: 4,
            ttt: 4,
            cmdsn: 4,
            exp_statsn: 4,
            rsvd4: 16
        });
        assert_eq!(offset_of!(IscsiNopout, ttt), layout::nop_out::TTT);
        assert_eq!(offset_of!(IscsiNopout, cmdsn), layout::nop_out::CMD_SN);
        assert_eq!(
            offset_of!(IscsiNopout, exp_statsn),
            layout::nop_out::EXP_STAT_SN
        );

        mirror!(IscsiTm {
            opcode: 1,
            flags: 1,
            rsvd1: 2,
            hlength: 1,
            dlength: 3,
            lun: 8,
            itt: 4,
            rtt: 4,
            cmdsn: 4,
            exp_statsn: 4,
            refcmdsn: 4,
            exp_datasn: 4,
            rsvd2: 8
        });
        assert_eq!(offset_of!(IscsiTm, rtt), layout::task_mgmt::REF_TASK_TAG);
        assert_eq!(offset_of!(IscsiTm, cmdsn), layout::task_mgmt::CMD_SN);
        assert_eq!(
            offset_of!(IscsiTm, exp_statsn),
            layout::task_mgmt::EXP_STAT_SN
        );
        assert_eq!(offset_of!(IscsiTm, refcmdsn), layout::task_mgmt::REF_CMD_SN);
        assert_eq!(
            offset_of!(IscsiTm, exp_datasn),
            layout::task_mgmt::EXP_DATA_SN
        );

        mirror!(IscsiLogin {
            opcode: 1,
            flags: 1,
            max_version: 1,
            min_version: 1,
            hlength: 1,
            dlength: 3,
            isid: 6,
            tsih: 2,
            itt: 4,
            cid: 2,
            rsvd3: 2,
            cmdsn: 4,
            exp_statsn: 4,
            rsvd5: 16
        });
        assert_eq!(
            offset_of!(IscsiLogin, max_version),
            layout::login::VERSION_MAX
        );
        assert_eq!(
            offset_of!(IscsiLogin, min_version),
            layout::login::VERSION_MIN
        );
        assert_eq!(offset_of!(IscsiLogin, isid), layout::login::ISID);
        assert_eq!(offset_of!(IscsiLogin, tsih), layout::login::TSIH);
        assert_eq!(offset_of!(IscsiLogin, itt), off::ITT);
        assert_eq!(offset_of!(IscsiLogin, cid), layout::login::CID);
        assert_eq!(offset_of!(IscsiLogin, cmdsn), layout::login::CMD_SN);
        assert_eq!(
            offset_of!(IscsiLogin, exp_statsn),
            layout::login::EXP_STAT_SN
        );

        mirror!(IscsiText {
            opcode: 1,
            flags: 1,
            rsvd2: 2,
            hlength: 1,
            dlength: 3,
            rsvd4: 8,
            itt: 4,
            ttt: 4,
            cmdsn: 4,
            exp_statsn: 4,
            rsvd5: 16
        });
        assert_eq!(offset_of!(IscsiText, ttt), layout::text::TTT);
        assert_eq!(offset_of!(IscsiText, cmdsn), layout::text::CMD_SN);
        assert_eq!(offset_of!(IscsiText, exp_statsn), layout::text::EXP_STAT_SN);

        mirror!(IscsiLogout {
            opcode: 1,
            flags: 1,
            rsvd1: 2,
            hlength: 1,
            dlength: 3,
            rsvd2: 8,
            itt: 4,
            cid: 2,
            rsvd3: 2,
            cmdsn: 4,
            exp_statsn: 4,
            rsvd4: 16
        });
        assert_eq!(offset_of!(IscsiLogout, cid), layout::logout::CID);
        assert_eq!(offset_of!(IscsiLogout, cmdsn), layout::logout::CMD_SN);
        assert_eq!(
            offset_of!(IscsiLogout, exp_statsn),
            layout::logout::EXP_STAT_SN
        );

        mirror!(RfcSnack {
            opcode: 1,
            flags: 1,
            rsvd2: 2,
            hlength: 1,
            dlength: 3,
            lun: 8,
            itt: 4,
            ttt: 4,
            rsvd3: 4,
            exp_statsn: 4,
            rsvd4: 8,
            begrun: 4,
            runlength: 4
        });
        assert_eq!(offset_of!(RfcSnack, ttt), layout::snack::TTT_OR_SNACK_TAG);
        assert_eq!(offset_of!(RfcSnack, exp_statsn), layout::snack::EXP_STAT_SN);
        assert_eq!(offset_of!(RfcSnack, begrun), layout::snack::BEG_RUN);
        assert_eq!(offset_of!(RfcSnack, runlength), layout::snack::RUN_LENGTH);
    }
}
