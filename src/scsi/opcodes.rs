//! The one table of SCSI commands this target serves.
//!
//! Each row is one fact: opcode, service action, name, CDB usage data (whose length is the
//! CDB length), the device types that serve it, how it conflicts with reservations, whether
//! it needs the medium, and its handler. Dispatch ([`lookup`]), REPORT SUPPORTED OPERATION
//! CODES ([`rows_for`]) and the rdwr store's opcode map ([`rdwr_opcodes`]) are all computed
//! from it. Sources: SPC-4 §6, SBC-3 §5, SPC-4 Table 62 and SBC-3 Table 13 (persistent
//! reservation conflicts), SPC-2 §5.5.1 (RESERVE(6) conflicts); tgt: usr/sbc.c and usr/scc.c
//! `ops[]`, usr/bs_rdwr.c `sbc_opcodes[]`, usr/scsi.c `get_scsi_cdb_usage_data()`.

use super::cdb::Opcode;
use super::exec::{Reply, Req, Step};
use super::{mode, pr, sbc, spc, DeviceType};

/// How a command fares against a persistent reservation held by another I_T nexus.
/// SPC-4 §5.12.1 Table 62, SBC-3 Table 13.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrClass {
    /// Never conflicts (INQUIRY, REPORT LUNS, PERSISTENT RESERVE IN/OUT, ...).
    Allowed,
    /// Conflicts under the Exclusive Access types only (reads, MODE SENSE, VERIFY).
    Read,
    /// Conflicts under every type (writes, MODE SELECT, SYNCHRONIZE CACHE, ...).
    Write,
}

/// The device types that serve a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Types(u8);

impl Types {
    /// Direct-access block devices (SBC).
    pub const DISK: Self = Self(1);
    /// The storage array controller at LUN 0 (SCC).
    pub const CONTROLLER: Self = Self(2);
    /// Both.
    pub const ALL: Self = Self(3);

    /// Whether a LU of `dev` serves this row.
    pub fn serves(self, dev: DeviceType) -> bool {
        match dev {
            DeviceType::DISK => self.0 & Self::DISK.0 != 0,
            DeviceType::RAID => self.0 & Self::CONTROLLER.0 != 0,
            _ => false,
        }
    }
}

/// A command handler: runs after the common checks of `exec` passed.
pub(crate) type Handler = fn(&mut Req<'_>) -> Step<Reply>;

/// One served command.
#[derive(Debug)]
pub struct OpInfo {
    /// Operation code.
    pub op: Opcode,
    /// Service action (byte 1, bits 4–0) for service-action commands.
    pub sa: Option<u8>,
    /// Name as in SPC/SBC.
    pub name: &'static str,
    /// CDB USAGE DATA for REPORT SUPPORTED OPERATION CODES; its length is the CDB length.
    /// SPC-4 §6.35.3
    pub usage: &'static [u8],
    /// Device types that serve it.
    pub types: Types,
    /// Conflict class under a persistent reservation.
    pub pr: PrClass,
    /// Conflicts with a SCSI-2 RESERVE held by another I_T nexus. SPC-2 §5.5.1
    pub scsi2: bool,
    /// Needs the medium: NOT READY while the LU is offline.
    pub media: bool,
    /// The handler.
    pub(crate) handler: Handler,
}

/// Shorthand for table rows.
#[allow(clippy::too_many_arguments)]
const fn row(
    op: Opcode,
    sa: Option<u8>,
    name: &'static str,
    usage: &'static [u8],
    types: Types,
    pr: PrClass,
    scsi2: bool,
    media: bool,
    handler: Handler,
) -> OpInfo {
    OpInfo {
        op,
        sa,
        name,
        usage,
        types,
        pr,
        scsi2,
        media,
        handler,
    }
}

use PrClass::{Allowed, Read, Write};
const D: Types = Types::DISK;
const C: Types = Types::CONTROLLER;
const A: Types = Types::ALL;

const U_TUR: &[u8] = &[0x00, 0x00, 0x00, 0x00, 0x00, 0x07];
const U_REQUEST_SENSE: &[u8] = &[0x03, 0x01, 0x00, 0x00, 0xff, 0x07];
const U_FORMAT_UNIT: &[u8] = &[0x04, 0xff, 0x00, 0x00, 0x00, 0x07];
const U_READ_6: &[u8] = &[0x08, 0x1f, 0xff, 0xff, 0xff, 0x07];
const U_WRITE_6: &[u8] = &[0x0a, 0x1f, 0xff, 0xff, 0xff, 0x07];
const U_INQUIRY: &[u8] = &[0x12, 0x01, 0xff, 0xff, 0xff, 0x07];
const U_MODE_SELECT_6: &[u8] = &[0x15, 0x11, 0x00, 0x00, 0xff, 0x07];
const U_RESERVE_6: &[u8] = &[0x16, 0x00, 0x00, 0x00, 0x00, 0x07];
const U_RELEASE_6: &[u8] = &[0x17, 0x00, 0x00, 0x00, 0x00, 0x07];
const U_MODE_SENSE_6: &[u8] = &[0x1a, 0x08, 0xff, 0xff, 0xff, 0x07];
const U_START_STOP: &[u8] = &[0x1b, 0x01, 0x00, 0x0f, 0xf7, 0x07];
const U_SEND_DIAG: &[u8] = &[0x1d, 0xff, 0x00, 0xff, 0xff, 0x07];
const U_PREVENT: &[u8] = &[0x1e, 0x00, 0x00, 0x00, 0x03, 0x07];
const U_READ_CAPACITY_10: &[u8] = &[0x25, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x01, 0x07];
const U_READ_10: &[u8] = &[0x28, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0x07];
const U_WRITE_10: &[u8] = &[0x2a, 0xfa, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0x07];
const U_WRITE_VERIFY_10: &[u8] = &[0x2e, 0xf2, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0x07];
const U_VERIFY_10: &[u8] = &[0x2f, 0xf6, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0x07];
const U_PRE_FETCH_10: &[u8] = &[0x34, 0x02, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0x07];
const U_SYNC_CACHE_10: &[u8] = &[0x35, 0x06, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0x07];
const U_WRITE_SAME_10: &[u8] = &[0x41, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0x07];
const U_UNMAP: &[u8] = &[0x42, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x07];
const U_MODE_SELECT_10: &[u8] = &[0x55, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x07];
const U_RESERVE_10: &[u8] = &[0x56, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07];
const U_RELEASE_10: &[u8] = &[0x57, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07];
const U_MODE_SENSE_10: &[u8] = &[0x5a, 0x18, 0xff, 0xff, 0x00, 0x00, 0x00, 0xff, 0xff, 0x07];
const U_PR_IN: &[u8] = &[0x5e, 0x1f, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x07];
const U_PR_OUT: &[u8] = &[0x5f, 0x1f, 0xff, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x07];
const U_READ_16: &[u8] = &[
    0x88, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07,
];
const U_COMPARE_AND_WRITE: &[u8] = &[
    0x89, 0xfa, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0xff, 0x00, 0x07,
];
const U_WRITE_16: &[u8] = &[
    0x8a, 0xfa, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07,
];
const U_ORWRITE_16: &[u8] = &[
    0x8b, 0xfa, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07,
];
const U_WRITE_VERIFY_16: &[u8] = &[
    0x8e, 0xf2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07,
];
const U_VERIFY_16: &[u8] = &[
    0x8f, 0xf6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07,
];
const U_PRE_FETCH_16: &[u8] = &[
    0x90, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07,
];
const U_SYNC_CACHE_16: &[u8] = &[
    0x91, 0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07,
];
const U_WRITE_SAME_16: &[u8] = &[
    0x93, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07,
];
const U_READ_CAPACITY_16: &[u8] = &[
    0x9e, 0x1f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07,
];
const U_GET_LBA_STATUS: &[u8] = &[
    0x9e, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07,
];
const U_REPORT_LUNS: &[u8] = &[
    0xa0, 0x00, 0xff, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07,
];
const U_RSOC: &[u8] = &[
    0xa3, 0x1f, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07,
];
const U_READ_12: &[u8] = &[
    0xa8, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07,
];
const U_WRITE_12: &[u8] = &[
    0xaa, 0xfa, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07,
];
const U_WRITE_VERIFY_12: &[u8] = &[
    0xae, 0xf2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07,
];
const U_VERIFY_12: &[u8] = &[
    0xaf, 0xf6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07,
];

/// Every served command, ascending by opcode and service action (REPORT SUPPORTED
/// OPERATION CODES lists them in this order).
// COMPAT: beyond C tgt 1.0.85 this serves COMPARE AND WRITE (C advertises it in VPD B0 and
// its rdwr map but rejects it), READ FULL STATUS, PREEMPT AND ABORT and RESERVE/RELEASE(10);
// VERIFY and MODE SENSE now honour a SCSI-2 reservation (C lets them through, failing
// libiscsi Reserve6.2Initiators); MODE SENSE only conflicts under Exclusive Access types
// and WRITE SAME/UNMAP/ORWRITE/WRITE AND VERIFY conflict under every type (SPC-4 Table 62).
#[rustfmt::skip]
pub static TABLE: &[OpInfo] = &[
    row(Opcode::TEST_UNIT_READY, None, "TEST UNIT READY", U_TUR, A, Allowed, true, false, spc::test_unit_ready),
    row(Opcode::REQUEST_SENSE, None, "REQUEST SENSE", U_REQUEST_SENSE, A, Allowed, false, false, spc::request_sense),
    row(Opcode::FORMAT_UNIT, None, "FORMAT UNIT", U_FORMAT_UNIT, D, Write, true, true, sbc::format_unit),
    row(Opcode::READ_6, None, "READ(6)", U_READ_6, D, Read, true, true, sbc::read),
    row(Opcode::WRITE_6, None, "WRITE(6)", U_WRITE_6, D, Write, true, true, sbc::write),
    row(Opcode::INQUIRY, None, "INQUIRY", U_INQUIRY, A, Allowed, false, false, spc::inquiry),
    row(Opcode::MODE_SELECT_6, None, "MODE SELECT(6)", U_MODE_SELECT_6, D, Write, true, false, mode::mode_select),
    row(Opcode::RESERVE_6, None, "RESERVE(6)", U_RESERVE_6, D, Allowed, false, false, spc::reserve),
    row(Opcode::RELEASE_6, None, "RELEASE(6)", U_RELEASE_6, D, Allowed, false, false, spc::release),
    row(Opcode::MODE_SENSE_6, None, "MODE SENSE(6)", U_MODE_SENSE_6, D, Read, true, false, mode::mode_sense),
    row(Opcode::START_STOP_UNIT, None, "START STOP UNIT", U_START_STOP, D, Write, true, false, spc::start_stop_unit),
    row(Opcode::SEND_DIAGNOSTIC, None, "SEND DIAGNOSTIC", U_SEND_DIAG, D, Write, true, false, spc::send_diagnostic),
    row(Opcode::PREVENT_ALLOW_MEDIUM_REMOVAL, None, "PREVENT ALLOW MEDIUM REMOVAL", U_PREVENT, D, Write, true, false, spc::prevent_allow_medium_removal),
    row(Opcode::READ_CAPACITY_10, None, "READ CAPACITY(10)", U_READ_CAPACITY_10, D, Allowed, false, true, sbc::read_capacity_10),
    row(Opcode::READ_10, None, "READ(10)", U_READ_10, D, Read, true, true, sbc::read),
    row(Opcode::WRITE_10, None, "WRITE(10)", U_WRITE_10, D, Write, true, true, sbc::write),
    row(Opcode::WRITE_AND_VERIFY_10, None, "WRITE AND VERIFY(10)", U_WRITE_VERIFY_10, D, Write, true, true, sbc::write),
    row(Opcode::VERIFY_10, None, "VERIFY(10)", U_VERIFY_10, D, Read, true, true, sbc::verify),
    // tgt: usr/scc.c answers VERIFY on the controller as TEST UNIT READY.
    row(Opcode::VERIFY_10, None, "VERIFY(10)", U_VERIFY_10, C, Allowed, true, false, spc::test_unit_ready),
    row(Opcode::PRE_FETCH_10, None, "PRE-FETCH(10)", U_PRE_FETCH_10, D, Read, true, true, sbc::pre_fetch),
    row(Opcode::SYNCHRONIZE_CACHE_10, None, "SYNCHRONIZE CACHE(10)", U_SYNC_CACHE_10, D, Write, true, true, sbc::synchronize_cache),
    row(Opcode::WRITE_SAME_10, None, "WRITE SAME(10)", U_WRITE_SAME_10, D, Write, true, true, sbc::write_same),
    row(Opcode::UNMAP, None, "UNMAP", U_UNMAP, D, Write, true, true, sbc::unmap),
    row(Opcode::MODE_SELECT_10, None, "MODE SELECT(10)", U_MODE_SELECT_10, D, Write, true, false, mode::mode_select),
    row(Opcode::RESERVE_10, None, "RESERVE(10)", U_RESERVE_10, D, Allowed, false, false, spc::reserve),
    row(Opcode::RELEASE_10, None, "RELEASE(10)", U_RELEASE_10, D, Allowed, false, false, spc::release),
    row(Opcode::MODE_SENSE_10, None, "MODE SENSE(10)", U_MODE_SENSE_10, D, Read, true, false, mode::mode_sense),
    row(Opcode::PERSISTENT_RESERVE_IN, Some(pr::IN_READ_KEYS), "PERSISTENT RESERVE IN READ KEYS", U_PR_IN, D, Allowed, true, false, pr::read_keys),
    row(Opcode::PERSISTENT_RESERVE_IN, Some(pr::IN_READ_RESERVATION), "PERSISTENT RESERVE IN READ RESERVATION", U_PR_IN, D, Allowed, true, false, pr::read_reservation),
    row(Opcode::PERSISTENT_RESERVE_IN, Some(pr::IN_REPORT_CAPABILITIES), "PERSISTENT RESERVE IN REPORT CAPABILITIES", U_PR_IN, D, Allowed, true, false, pr::report_capabilities),
    row(Opcode::PERSISTENT_RESERVE_IN, Some(pr::IN_READ_FULL_STATUS), "PERSISTENT RESERVE IN READ FULL STATUS", U_PR_IN, D, Allowed, true, false, pr::read_full_status),
    row(Opcode::PERSISTENT_RESERVE_OUT, Some(pr::OUT_REGISTER), "PERSISTENT RESERVE OUT REGISTER", U_PR_OUT, D, Allowed, true, false, pr::register),
    row(Opcode::PERSISTENT_RESERVE_OUT, Some(pr::OUT_RESERVE), "PERSISTENT RESERVE OUT RESERVE", U_PR_OUT, D, Allowed, true, false, pr::reserve),
    row(Opcode::PERSISTENT_RESERVE_OUT, Some(pr::OUT_RELEASE), "PERSISTENT RESERVE OUT RELEASE", U_PR_OUT, D, Allowed, true, false, pr::release),
    row(Opcode::PERSISTENT_RESERVE_OUT, Some(pr::OUT_CLEAR), "PERSISTENT RESERVE OUT CLEAR", U_PR_OUT, D, Allowed, true, false, pr::clear),
    row(Opcode::PERSISTENT_RESERVE_OUT, Some(pr::OUT_PREEMPT), "PERSISTENT RESERVE OUT PREEMPT", U_PR_OUT, D, Allowed, true, false, pr::preempt),
    row(Opcode::PERSISTENT_RESERVE_OUT, Some(pr::OUT_PREEMPT_AND_ABORT), "PERSISTENT RESERVE OUT PREEMPT AND ABORT", U_PR_OUT, D, Allowed, true, false, pr::preempt),
    row(Opcode::PERSISTENT_RESERVE_OUT, Some(pr::OUT_REGISTER_AND_IGNORE), "PERSISTENT RESERVE OUT REGISTER AND IGNORE EXISTING KEY", U_PR_OUT, D, Allowed, true, false, pr::register),
    row(Opcode::PERSISTENT_RESERVE_OUT, Some(pr::OUT_REGISTER_AND_MOVE), "PERSISTENT RESERVE OUT REGISTER AND MOVE", U_PR_OUT, D, Allowed, true, false, pr::register_and_move),
    row(Opcode::READ_16, None, "READ(16)", U_READ_16, D, Read, true, true, sbc::read),
    row(Opcode::COMPARE_AND_WRITE, None, "COMPARE AND WRITE", U_COMPARE_AND_WRITE, D, Write, true, true, sbc::compare_and_write),
    row(Opcode::WRITE_16, None, "WRITE(16)", U_WRITE_16, D, Write, true, true, sbc::write),
    row(Opcode::ORWRITE_16, None, "ORWRITE(16)", U_ORWRITE_16, D, Write, true, true, sbc::orwrite),
    row(Opcode::WRITE_AND_VERIFY_16, None, "WRITE AND VERIFY(16)", U_WRITE_VERIFY_16, D, Write, true, true, sbc::write),
    row(Opcode::VERIFY_16, None, "VERIFY(16)", U_VERIFY_16, D, Read, true, true, sbc::verify),
    row(Opcode::VERIFY_16, None, "VERIFY(16)", U_VERIFY_16, C, Allowed, true, false, spc::test_unit_ready),
    row(Opcode::PRE_FETCH_16, None, "PRE-FETCH(16)", U_PRE_FETCH_16, D, Read, true, true, sbc::pre_fetch),
    row(Opcode::SYNCHRONIZE_CACHE_16, None, "SYNCHRONIZE CACHE(16)", U_SYNC_CACHE_16, D, Write, true, true, sbc::synchronize_cache),
    row(Opcode::WRITE_SAME_16, None, "WRITE SAME(16)", U_WRITE_SAME_16, D, Write, true, true, sbc::write_same),
    row(Opcode::SERVICE_ACTION_IN_16, Some(sbc::SAI_READ_CAPACITY_16), "READ CAPACITY(16)", U_READ_CAPACITY_16, D, Allowed, false, true, sbc::read_capacity_16),
    row(Opcode::SERVICE_ACTION_IN_16, Some(sbc::SAI_GET_LBA_STATUS), "GET LBA STATUS", U_GET_LBA_STATUS, D, Read, true, true, sbc::get_lba_status),
    row(Opcode::REPORT_LUNS, None, "REPORT LUNS", U_REPORT_LUNS, A, Allowed, false, false, spc::report_luns),
    row(Opcode::MAINTENANCE_IN, Some(spc::MI_REPORT_SUPPORTED_OPCODES), "REPORT SUPPORTED OPERATION CODES", U_RSOC, A, Allowed, false, false, spc::report_supported_opcodes),
    row(Opcode::READ_12, None, "READ(12)", U_READ_12, D, Read, true, true, sbc::read),
    row(Opcode::WRITE_12, None, "WRITE(12)", U_WRITE_12, D, Write, true, true, sbc::write),
    row(Opcode::WRITE_AND_VERIFY_12, None, "WRITE AND VERIFY(12)", U_WRITE_VERIFY_12, D, Write, true, true, sbc::write),
    row(Opcode::VERIFY_12, None, "VERIFY(12)", U_VERIFY_12, D, Read, true, true, sbc::verify),
    row(Opcode::VERIFY_12, None, "VERIFY(12)", U_VERIFY_12, C, Allowed, true, false, spc::test_unit_ready),
];

impl OpInfo {
    /// CDB length of this command.
    pub fn cdb_len(&self) -> usize {
        self.usage.len()
    }
}

/// What dispatch found for an opcode.
#[derive(Debug, Clone, Copy)]
pub enum Lookup {
    /// The command.
    Found(&'static OpInfo),
    /// No such opcode for this device type: INVALID COMMAND OPERATION CODE.
    NoOpcode,
    /// The opcode takes service actions and this one is not served: INVALID FIELD IN CDB.
    NoServiceAction,
}

/// The rows a LU of type `dev` serves, in table order.
pub fn rows_for(dev: DeviceType) -> impl Iterator<Item = &'static OpInfo> {
    TABLE.iter().filter(move |r| r.types.serves(dev))
}

/// Finds the row for `op` (and, for service-action opcodes, `sa`) on a LU of type `dev`.
pub fn lookup(dev: DeviceType, op: Opcode, sa: u8) -> Lookup {
    let mut has_sa = false;
    for r in rows_for(dev).filter(|r| r.op == op) {
        match r.sa {
            None => return Lookup::Found(r),
            Some(s) if s == sa => return Lookup::Found(r),
            Some(_) => has_sa = true,
        }
    }
    if has_sa {
        Lookup::NoServiceAction
    } else {
        Lookup::NoOpcode
    }
}

/// Whether `op` takes service actions on a LU of type `dev`.
pub fn has_service_actions(dev: DeviceType, op: Opcode) -> bool {
    rows_for(dev).any(|r| r.op == op && r.sa.is_some())
}

/// The rdwr store's opcode map: every opcode a disk serves. tgt: usr/bs_rdwr.c
/// `sbc_opcodes[]` (the null store, like tgt's, has no map: all opcodes pass).
pub fn rdwr_opcodes() -> [bool; 256] {
    let mut map = [false; 256];
    for r in rows_for(DeviceType::DISK) {
        map[usize::from(r.op.0)] = true;
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scsi::cdb::group_len;

    #[test]
    fn usage_data_length_is_the_group_length_and_starts_with_the_opcode() {
        for r in TABLE {
            assert_eq!(r.cdb_len(), group_len(r.op.0), "{}", r.name);
            assert_eq!(r.usage[0], r.op.0, "{}", r.name);
            assert_eq!(*r.usage.last().unwrap(), 0x07, "{}: CONTROL usage", r.name);
        }
    }

    #[test]
    fn table_is_sorted_and_has_no_duplicate_per_type() {
        for w in TABLE.windows(2) {
            assert!(
                (w[0].op, w[0].sa) <= (w[1].op, w[1].sa),
                "{} before {}",
                w[0].name,
                w[1].name
            );
        }
        for dev in [DeviceType::DISK, DeviceType::RAID] {
            let keys: Vec<_> = rows_for(dev).map(|r| (r.op, r.sa)).collect();
            let mut dedup = keys.clone();
            dedup.dedup();
            assert_eq!(keys, dedup);
        }
    }

    #[test]
    fn controller_serves_exactly_what_tgt_scc_serves() {
        let ops: Vec<u8> = rows_for(DeviceType::RAID).map(|r| r.op.0).collect();
        assert_eq!(ops, [0x00, 0x03, 0x12, 0x2f, 0x8f, 0xa0, 0xa3, 0xaf]);
    }

    #[test]
    fn rdwr_map_is_tgts_captured_list_plus_what_we_add() {
        // Captured from C tgt 1.0.85 REPORT SUPPORTED OPERATION CODES (reference §3),
        // plus COMPARE AND WRITE (0x89) and RESERVE/RELEASE(10) (0x56, 0x57).
        let expected: &[u8] = &[
            0x00, 0x03, 0x04, 0x08, 0x0a, 0x12, 0x15, 0x16, 0x17, 0x1a, 0x1b, 0x1d, 0x1e, 0x25,
            0x28, 0x2a, 0x2e, 0x2f, 0x34, 0x35, 0x41, 0x42, 0x55, 0x56, 0x57, 0x5a, 0x5e, 0x5f,
            0x88, 0x89, 0x8a, 0x8b, 0x8e, 0x8f, 0x90, 0x91, 0x93, 0x9e, 0xa0, 0xa3, 0xa8, 0xaa,
            0xae, 0xaf,
        ];
        let map = rdwr_opcodes();
        let got: Vec<u8> = (0..=255u8).filter(|&o| map[usize::from(o)]).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn lookup_distinguishes_unknown_opcode_and_service_action() {
        assert!(matches!(
            lookup(DeviceType::DISK, Opcode(0x4d), 0),
            Lookup::NoOpcode
        ));
        assert!(matches!(
            lookup(DeviceType::DISK, Opcode(0x5e), 0x04),
            Lookup::NoServiceAction
        ));
        assert!(matches!(
            lookup(DeviceType::RAID, Opcode(0x28), 0),
            Lookup::NoOpcode
        ));
        match lookup(DeviceType::RAID, Opcode(0x2f), 0) {
            Lookup::Found(r) => assert_eq!(r.types, Types::CONTROLLER),
            other => panic!("{other:?}"),
        }
    }
}
