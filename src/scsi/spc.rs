//! Primary commands every LU answers (SPC-4): TEST UNIT READY, REQUEST SENSE, INQUIRY,
//! REPORT LUNS, REPORT SUPPORTED OPERATION CODES, and for disks RESERVE/RELEASE, START STOP
//! UNIT, PREVENT ALLOW MEDIUM REMOVAL, SEND DIAGNOSTIC.
//!
//! Must not know about transports or backing stores. Sources: SPC-4 §6, SPC-2 §7.17–7.22
//! (RESERVE/RELEASE), SBC-3 §5.25 (START STOP UNIT); tgt: usr/spc.c, usr/sbc.c
//! `sbc_reserve()`/`sbc_release()`, usr/target.c `device_reserve()`/`device_release()`.
//!
//! COMPAT: differences from C tgt 1.0.85 — REQUEST SENSE returns (and clears) a pending
//! unit attention as its parameter data and honours the DESC bit (SPC-4 §6.39; C leaves the
//! UA pending and always uses the LU's format); an allocation length larger than the
//! transport's expected length is not refused (the data is cut and the overflow reported,
//! RFC 7143 §11.4.5.1); RESERVE conflicts while a persistent reservation exists (SPC-3
//! §5.6.3, CRH); LOEJ with medium removal prevented is refused for loading too, as
//! ILLEGAL REQUEST (libiscsi PreventAllow.Eject); REPORT SUPPORTED OPERATION CODES reports
//! an unsupported opcode as SUPPORT 001b instead of failing.

use std::ops::ControlFlow;

use super::cdb::Opcode;
use super::exec::{cut, done, encode_lun, ensure, fail, medium_present, Outcome, Reply, Req, Step};
use super::opcodes::{self, Lookup, OpInfo};
use super::sense::{asc, Sense, SenseKey};
use super::vpd;

/// MAINTENANCE IN service action: REPORT SUPPORTED OPERATION CODES. SPC-4 §6.35
pub const MI_REPORT_SUPPORTED_OPCODES: u8 = 0x0c;

/// TEST UNIT READY. SPC-4 §6.47; tgt: `spc_test_unit()`
pub(crate) fn test_unit_ready(req: &mut Req<'_>) -> Step<Reply> {
    medium_present(req)?;
    done(Outcome::good())
}

/// REQUEST SENSE: the oldest pending unit attention (consumed), else NO SENSE, in the
/// format the DESC bit asks for. SPC-4 §6.39
pub(crate) fn request_sense(req: &mut Req<'_>) -> Step<Reply> {
    let desc = req.cdb.byte(1) & 0x01 != 0;
    let alloc = u32::from(req.cdb.byte(4));
    let pending = req
        .lu
        .state()
        .ua
        .get_mut(&req.nexus)
        .and_then(|q| q.pop_front());
    let sense = pending.unwrap_or_else(|| Sense::new(SenseKey::NO_SENSE, asc::NO_ADDITIONAL_SENSE));
    done(Outcome::data(cut(sense.render(desc), alloc)))
}

/// INQUIRY: standard data or a VPD page; an absent LUN answers with LUN 0's data and
/// peripheral 0x7F. SPC-4 §6.6; tgt: `spc_inquiry()`
pub(crate) fn inquiry(req: &mut Req<'_>) -> Step<Reply> {
    let evpd = req.cdb.byte(1) & 0x01 != 0;
    let code = req.cdb.byte(2);
    let alloc = u32::from(req.cdb.be16(3));
    ensure(evpd || code == 0, asc::INVALID_FIELD_IN_CDB)?;
    let lu = req.lu.config();
    let data = if evpd {
        vpd::page(&lu, code)
    } else {
        Some(vpd::standard(&lu))
    };
    drop(lu);
    let Some(mut data) = data else {
        return fail(SenseKey::ILLEGAL_REQUEST, asc::INVALID_FIELD_IN_CDB);
    };
    if req.absent {
        data[0] = vpd::PERIPHERAL_NO_LUN;
    }
    done(Outcome::data(cut(data, alloc)))
}

/// REPORT LUNS: every LU of the target, ascending. SPC-4 §6.33; tgt: `spc_report_luns()`
pub(crate) fn report_luns(req: &mut Req<'_>) -> Step<Reply> {
    let select = req.cdb.byte(2);
    let alloc = req.cdb.be32(6);
    ensure(alloc >= 16, asc::INVALID_FIELD_IN_CDB)?;
    // SELECT REPORT 01h asks for well-known LUs only: we have none.
    ensure(matches!(select, 0x00..=0x02), asc::INVALID_FIELD_IN_CDB)?;
    let luns: Vec<u64> = if select == 0x01 {
        Vec::new()
    } else {
        req.ctx.luns.keys().copied().collect()
    };
    let len = u32::try_from(luns.len() * 8).unwrap_or(u32::MAX);
    let mut d = Vec::with_capacity(8 + luns.len() * 8);
    d.extend_from_slice(&len.to_be_bytes());
    d.extend_from_slice(&[0; 4]);
    for l in luns {
        d.extend_from_slice(&encode_lun(l));
    }
    done(Outcome::data(cut(d, alloc)))
}

/// RESERVE(6) and RESERVE(10): SCSI-2 reservation of the whole LU by this nexus.
/// SPC-2 §7.21; tgt: `device_reserve()`
pub(crate) fn reserve(req: &mut Req<'_>) -> Step<Reply> {
    if req.cdb.opcode() == Opcode::RESERVE_10 {
        // Third-party reservations are not supported.
        ensure(req.cdb.byte(1) & 0x12 == 0, asc::INVALID_FIELD_IN_CDB)?;
    }
    let mut st = req.lu.state();
    let held_by_other = st.reserved_by.is_some_and(|h| h != req.nexus);
    if held_by_other || st.pr.reservation.is_some() {
        return ControlFlow::Break(Outcome::conflict());
    }
    st.reserved_by = Some(req.nexus);
    done(Outcome::good())
}

/// RELEASE(6) and RELEASE(10): releases this nexus's reservation; from anyone else it is a
/// no-op. SPC-2 §7.17; tgt: `device_release()`
pub(crate) fn release(req: &mut Req<'_>) -> Step<Reply> {
    if req.cdb.opcode() == Opcode::RELEASE_10 {
        ensure(req.cdb.byte(1) & 0x12 == 0, asc::INVALID_FIELD_IN_CDB)?;
    }
    let mut st = req.lu.state();
    if st.reserved_by == Some(req.nexus) {
        st.reserved_by = None;
    }
    done(Outcome::good())
}

/// START STOP UNIT: a power condition is accepted and ignored; LOEJ on a removable LU
/// ejects (START 0) or loads (START 1) the medium, unless removal is prevented.
/// SBC-3 §5.25; tgt: `spc_start_stop()`
pub(crate) fn start_stop_unit(req: &mut Req<'_>) -> Step<Reply> {
    let b4 = req.cdb.byte(4);
    let power_condition = b4 >> 4;
    let loej = b4 & 0x02 != 0;
    let start = b4 & 0x01 != 0;
    if power_condition != 0 || !loej {
        return done(Outcome::good());
    }
    let prevented = !req.lu.state().prevent.is_empty();
    let mut lu = req.lu.config_mut();
    if lu.attrs.removable == 0 {
        return done(Outcome::good());
    }
    if prevented {
        return fail(SenseKey::ILLEGAL_REQUEST, asc::MEDIUM_REMOVAL_PREVENTED);
    }
    if start {
        if lu.media.is_none() {
            return fail(SenseKey::NOT_READY, asc::MEDIUM_NOT_PRESENT);
        }
        lu.go_online();
    } else {
        lu.attrs.online = 0;
    }
    done(Outcome::good())
}

/// PREVENT ALLOW MEDIUM REMOVAL: records this nexus's PREVENT bit. SPC-4 §6.17
pub(crate) fn prevent_allow_medium_removal(req: &mut Req<'_>) -> Step<Reply> {
    let prevent = req.cdb.byte(4) & 0x01 != 0;
    let mut st = req.lu.state();
    if prevent {
        st.prevent.insert(req.nexus);
    } else {
        st.prevent.remove(&req.nexus);
    }
    done(Outcome::good())
}

/// SEND DIAGNOSTIC: only the default self-test (SELFTEST 1) is supported.
/// SPC-4 §6.42; tgt: `spc_send_diagnostics()`
pub(crate) fn send_diagnostic(req: &mut Req<'_>) -> Step<Reply> {
    ensure(req.cdb.byte(1) & 0x04 != 0, asc::INVALID_FIELD_IN_CDB)?;
    done(Outcome::good())
}

/// The 12-byte command timeouts descriptor: length 0x0A, no timeouts stated. SPC-4 §6.35.4
const TIMEOUTS: [u8; 12] = [0x00, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/// REPORT SUPPORTED OPERATION CODES, reporting options 000b (all), 001b (one opcode without
/// service actions), 010b (one opcode and service action); RCTD adds timeout descriptors.
/// Computed from the opcode table. SPC-4 §6.35; tgt: `spc_report_supported_opcodes()`
pub(crate) fn report_supported_opcodes(req: &mut Req<'_>) -> Step<Reply> {
    let rctd = req.cdb.byte(2) & 0x80 != 0;
    let options = req.cdb.byte(2) & 0x07;
    let op = Opcode(req.cdb.byte(3));
    let sa = req.cdb.be16(4);
    let alloc = req.cdb.be32(6);
    let data = match options {
        0x00 => all_commands(req, rctd),
        0x01 => {
            ensure(
                !opcodes::has_service_actions(req.dev, op),
                asc::INVALID_FIELD_IN_CDB,
            )?;
            one_command(opcodes::lookup(req.dev, op, 0), rctd)
        }
        0x02 => {
            ensure(
                opcodes::has_service_actions(req.dev, op),
                asc::INVALID_FIELD_IN_CDB,
            )?;
            let found = match u8::try_from(sa) {
                Ok(s) => opcodes::lookup(req.dev, op, s),
                Err(_) => Lookup::NoServiceAction,
            };
            one_command(found, rctd)
        }
        _ => return fail(SenseKey::ILLEGAL_REQUEST, asc::INVALID_FIELD_IN_CDB),
    };
    done(Outcome::data(cut(data, alloc)))
}

/// All-commands parameter data: 8-byte descriptors (+ timeouts). SPC-4 §6.35.2
fn all_commands(req: &Req<'_>, rctd: bool) -> Vec<u8> {
    let mut descs = Vec::new();
    for r in opcodes::rows_for(req.dev) {
        let sa = r.sa.map_or(0u16, u16::from).to_be_bytes();
        let flags = u8::from(rctd) << 1 | u8::from(r.sa.is_some());
        let len = u16::try_from(r.cdb_len()).unwrap_or(0).to_be_bytes();
        descs.extend_from_slice(&[r.op.0, 0, sa[0], sa[1], 0, flags, len[0], len[1]]);
        if rctd {
            descs.extend_from_slice(&TIMEOUTS);
        }
    }
    let mut d = u32::try_from(descs.len())
        .unwrap_or(u32::MAX)
        .to_be_bytes()
        .to_vec();
    d.extend_from_slice(&descs);
    d
}

/// One-command parameter data: SUPPORT 011b with the CDB usage data, or 001b.
/// SPC-4 §6.35.3
fn one_command(found: Lookup, rctd: bool) -> Vec<u8> {
    match found {
        Lookup::Found(r) => one_supported(r, rctd),
        Lookup::NoOpcode | Lookup::NoServiceAction => vec![0, 0x01, 0, 0],
    }
}

fn one_supported(r: &OpInfo, rctd: bool) -> Vec<u8> {
    let len = u16::try_from(r.cdb_len()).unwrap_or(0).to_be_bytes();
    let mut d = vec![0, u8::from(rctd) << 7 | 0x03, len[0], len[1]];
    d.extend_from_slice(r.usage);
    if rctd {
        d.extend_from_slice(&TIMEOUTS);
    }
    d
}

#[cfg(test)]
mod tests {
    use crate::scsi::exec::testutil::*;

    const MB: u64 = 1 << 20;
    const TUR: [u8; 6] = [0, 0, 0, 0, 0, 0];

    #[test]
    fn test_unit_ready_online_and_offline() {
        let mut h = Harness::disk(MB);
        assert_good(&h.run(&TUR, &[], 0));
        h.lu().config_mut().attrs.online = 0;
        assert_check(&h.run(&TUR, &[], 0), 0x02, 0x04, 0x01);
        h.lu().config_mut().attrs.removable = 1;
        assert_check(&h.run(&TUR, &[], 0), 0x02, 0x3a, 0x00);
        // The controller is always ready; VERIFY there is TEST UNIT READY.
        assert_good(&h.run_on(I1, 0, &TUR, &[], 0));
        assert_good(&h.run_on(I1, 0, &[0x2f, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[], 0));
        assert_good(&h.run_on(I1, 0, &[0xaf, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[], 0));
    }

    #[test]
    fn request_sense_no_sense_fixed_and_descriptor() {
        let mut h = Harness::disk(MB);
        let r = h.run(&[0x03, 0, 0, 0, 252, 0], &[], 252);
        assert_good(&r);
        assert_eq!(r.data_in, fixed(0, 0, 0));
        let r = h.run(&[0x03, 0x01, 0, 0, 252, 0], &[], 252);
        assert_eq!(r.data_in, [0x72, 0, 0, 0, 0, 0, 0, 0]);
        let r = h.run(&[0x03, 0, 0, 0, 8, 0], &[], 8);
        assert_eq!(r.data_in, [0x70, 0, 0, 0, 0, 0, 0, 0x0a]);
    }

    #[test]
    fn request_sense_returns_and_clears_pending_unit_attention() {
        let mut h = Harness::disk(MB);
        h.lu().nexus_added(I1);
        let r = h.run(&[0x03, 0, 0, 0, 18, 0], &[], 18);
        assert_good(&r);
        assert_eq!(r.data_in, fixed(0x06, 0x29, 0x00));
        assert_good(&h.run(&TUR, &[], 0));
    }

    #[test]
    fn inquiry_standard_and_errors() {
        let mut h = Harness::disk(MB);
        let r = h.run(&[0x12, 0, 0, 0, 255, 0], &[], 255);
        assert_good(&r);
        assert_eq!(r.data_in.len(), 66);
        assert_eq!(&r.data_in[..8], &[0, 0, 5, 0x12, 0x3d, 0, 0, 2]);
        assert_eq!(&r.data_in[8..36], b"IET     VIRTUAL-DISK    0001");
        // EVPD 0 with a page code: captured 05/24/00.
        assert_check(
            &h.run(&[0x12, 0, 0x80, 0, 255, 0], &[], 255),
            0x05,
            0x24,
            0x00,
        );
        // Unknown VPD page 0x86: captured 05/24/00.
        assert_check(
            &h.run(&[0x12, 1, 0x86, 0, 255, 0], &[], 255),
            0x05,
            0x24,
            0x00,
        );
        // 16-bit allocation lengths (libiscsi Inquiry.AllocLength).
        let a = h.run(&[0x12, 0, 0, 0x01, 0xff, 0], &[], 511);
        let b = h.run(&[0x12, 0, 0, 0x02, 0x00, 0], &[], 512);
        assert_eq!(a.data_in, b.data_in);
        let r = h.run(&[0x12, 0, 0, 0, 5, 0], &[], 5);
        assert_eq!(r.data_in, [0, 0, 5, 0x12, 0x3d]);
    }

    #[test]
    fn inquiry_every_supported_vpd_page_answers() {
        let mut h = Harness::disk(MB);
        let r = h.run(&[0x12, 1, 0, 0, 255, 0], &[], 255);
        assert_eq!(r.data_in, [0, 0, 0, 6, 0, 0x80, 0x83, 0xb0, 0xb1, 0xb2]);
        let pages = r.data_in[4..].to_owned();
        for p in pages {
            let r = h.run(&[0x12, 1, p, 0, 255, 0], &[], 255);
            assert_good(&r);
            assert_eq!(r.data_in[1], p);
            assert_eq!(r.data_in.len(), usize::from(r.data_in[3]) + 4);
        }
    }

    #[test]
    fn report_luns_lists_every_lu() {
        let mut h = Harness::disk(MB);
        let r = h.run(&[0xa0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0], &[], 4096);
        assert_good(&r);
        // Captured: 00 00 00 10 00 00 00 00 | LUN 0 | LUN 1.
        assert_eq!(
            r.data_in,
            [0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
        );
        let r = h.run(&[0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0], &[], 16);
        assert_eq!(r.data_in.len(), 16);
        assert_eq!(&r.data_in[..4], &[0, 0, 0, 0x10]);
        assert_check(
            &h.run(&[0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 0, 0], &[], 15),
            0x05,
            0x24,
            0x00,
        );
        let r = h.run(&[0xa0, 0, 1, 0, 0, 0, 0, 0, 0, 16, 0, 0], &[], 16);
        assert_eq!(r.data_in, [0; 8]);
        assert_check(
            &h.run(&[0xa0, 0, 9, 0, 0, 0, 0, 0, 0, 16, 0, 0], &[], 16),
            0x05,
            0x24,
            0x00,
        );
        // From the controller too.
        let r = h.run_on(I1, 0, &[0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0], &[], 64);
        assert_eq!(r.data_in.len(), 24);
    }

    /// libiscsi test_reserve6_2initiators.
    #[test]
    fn reserve6_between_two_initiators() {
        let mut h = Harness::disk(MB);
        let reserve = [0x16, 0, 0, 0, 0, 0];
        let release = [0x17, 0, 0, 0, 0, 0];
        let ms = [0x1a, 0, 0x3f, 0, 255, 0];
        assert_good(&h.run(&reserve, &[], 0));
        assert_good(&h.run(&reserve, &[], 0));
        assert_eq!(h.run_on(I2, 1, &reserve, &[], 0).status.0, 0x18);
        assert_good(&h.run_on(I2, 1, &release, &[], 0));
        assert_good(&h.run(&ms, &[], 255));
        assert_eq!(h.run_on(I2, 1, &ms, &[], 255).status.0, 0x18);
        assert_eq!(h.run_on(I2, 1, &TUR, &[], 0).status.0, 0x18);
        assert_eq!(
            h.run_on(I2, 1, &[0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], &[], 512)
                .status
                .0,
            0x18
        );
        // INQUIRY, REPORT LUNS, REQUEST SENSE are allowed.
        assert_good(&h.run_on(I2, 1, &[0x12, 0, 0, 0, 36, 0], &[], 36));
        assert_good(&h.run_on(I2, 1, &[0x03, 0, 0, 0, 18, 0], &[], 18));
        assert_good(&h.run_on(I2, 1, &[0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0], &[], 16));
        assert_eq!(h.run_on(I2, 1, &reserve, &[], 0).status.0, 0x18);
        assert_good(&h.run(&release, &[], 0));
        assert_good(&h.run_on(I2, 1, &reserve, &[], 0));
        assert_good(&h.run_on(I2, 1, &release, &[], 0));
        // RESERVE(10) and RELEASE(10); third-party refused.
        assert_good(&h.run(&[0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[], 0));
        assert_eq!(
            h.run_on(I2, 1, &[0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[], 0)
                .status
                .0,
            0x18
        );
        assert_good(&h.run(&[0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[], 0));
        assert_check(
            &h.run(&[0x56, 0x10, 0, 0, 0, 0, 0, 0, 0, 0], &[], 0),
            0x05,
            0x24,
            0x00,
        );
    }

    #[test]
    fn nexus_loss_releases_the_reservation() {
        let mut h = Harness::disk(MB);
        assert_good(&h.run(&[0x16, 0, 0, 0, 0, 0], &[], 0));
        h.lu().nexus_removed(I1);
        assert_good(&h.run_on(I2, 1, &[0x16, 0, 0, 0, 0, 0], &[], 0));
    }

    fn removable() -> Harness {
        Harness::disk_with(MB, |lu| lu.attrs.removable = 1)
    }

    /// libiscsi test_startstopunit_simple / noloej / pwrcnd.
    #[test]
    fn start_stop_unit_ejects_and_loads() {
        let mut h = removable();
        assert_good(&h.run(&[0x1b, 1, 0, 0, 0x02, 0], &[], 0));
        assert_check(&h.run(&TUR, &[], 0), 0x02, 0x3a, 0x00);
        assert_good(&h.run(&[0x1b, 1, 0, 0, 0x03, 0], &[], 0));
        assert_good(&h.run(&TUR, &[], 0));
        // Without LOEJ nothing changes; a power condition is ignored.
        assert_good(&h.run(&[0x1b, 0, 0, 0, 0x00, 0], &[], 0));
        assert_good(&h.run(&TUR, &[], 0));
        assert_good(&h.run(&[0x1b, 1, 0, 0, 0x12, 0], &[], 0));
        assert_good(&h.run(&TUR, &[], 0));
        // Non-removable LUs ignore LOEJ.
        let mut h = Harness::disk(MB);
        assert_good(&h.run(&[0x1b, 0, 0, 0, 0x02, 0], &[], 0));
        assert_good(&h.run(&TUR, &[], 0));
    }

    /// libiscsi test_preventallow_eject and test_preventallow_2_itnexuses.
    #[test]
    fn prevent_allow_blocks_eject_from_every_nexus() {
        let mut h = removable();
        assert_good(&h.run(&[0x1e, 0, 0, 0, 1, 0], &[], 0));
        assert!(h.lu().prevents_removal());
        assert_check(&h.run(&[0x1b, 0, 0, 0, 0x02, 0], &[], 0), 0x05, 0x53, 0x02);
        assert_good(&h.run(&TUR, &[], 0));
        assert_check(
            &h.run_on(I2, 1, &[0x1b, 0, 0, 0, 0x02, 0], &[], 0),
            0x05,
            0x53,
            0x02,
        );
        assert_good(&h.run(&[0x1e, 0, 0, 0, 0, 0], &[], 0));
        assert_good(&h.run(&[0x1b, 0, 0, 0, 0x02, 0], &[], 0));
        assert_check(&h.run(&TUR, &[], 0), 0x02, 0x3a, 0x00);
        assert_good(&h.run(&[0x1e, 0, 0, 0, 1, 0], &[], 0));
        assert_check(&h.run(&[0x1b, 0, 0, 0, 0x03, 0], &[], 0), 0x05, 0x53, 0x02);
        assert_good(&h.run(&[0x1e, 0, 0, 0, 0, 0], &[], 0));
        assert_good(&h.run(&[0x1b, 0, 0, 0, 0x03, 0], &[], 0));
        assert_good(&h.run(&TUR, &[], 0));
        // Nexus loss drops its prevent.
        assert_good(&h.run(&[0x1e, 0, 0, 0, 1, 0], &[], 0));
        h.lu().nexus_removed(I1);
        assert!(!h.lu().prevents_removal());
    }

    #[test]
    fn send_diagnostic_selftest_only() {
        let mut h = Harness::disk(MB);
        assert_good(&h.run(&[0x1d, 0x04, 0, 0, 0, 0], &[], 0));
        assert_check(&h.run(&[0x1d, 0, 0, 0, 0, 0], &[], 0), 0x05, 0x24, 0x00);
    }

    fn rsoc(options: u8, op: u8, sa: u16, alloc: u32) -> Vec<u8> {
        let s = sa.to_be_bytes();
        let a = alloc.to_be_bytes();
        vec![
            0xa3, 0x0c, options, op, s[0], s[1], a[0], a[1], a[2], a[3], 0, 0,
        ]
    }

    #[test]
    fn report_supported_opcodes_all() {
        let mut h = Harness::disk(MB);
        let r = h.run(&rsoc(0, 0, 0, 65535), &[], 65535);
        assert_good(&r);
        let d = &r.data_in;
        let len = usize::try_from(u32::from_be_bytes([d[0], d[1], d[2], d[3]])).unwrap();
        assert_eq!(d.len(), len + 4);
        let descs: Vec<&[u8]> = d[4..].chunks(8).collect();
        assert_eq!(descs[0], &[0x00, 0, 0, 0, 0, 0, 0, 6]);
        // PERSISTENT RESERVE IN READ KEYS: SERVACTV set.
        assert!(descs.contains(&&[0x5e, 0, 0, 0, 0, 0x01, 0, 10][..]));
        assert!(descs.contains(&&[0x89, 0, 0, 0, 0, 0, 0, 16][..]));
        assert!(descs.contains(&&[0x9e, 0, 0, 0x12, 0, 0x01, 0, 16][..]));
        // No service action without SERVACTV (libiscsi ReportSupportedOpcodes.ServActV).
        assert!(descs.iter().all(|x| x[5] & 1 == 1 || x[2..4] == [0, 0]));
        // RCTD: every descriptor has CTDP and a 0x0A timeouts descriptor.
        let mut c = rsoc(0, 0, 0, 65535);
        c[2] = 0x80;
        let r = h.run(&c, &[], 65535);
        for x in r.data_in[4..].chunks(20) {
            assert_eq!(x[5] & 0x02, 0x02);
            assert_eq!(&x[8..10], &[0x00, 0x0a]);
        }
        // The controller reports its own set.
        let r = h.run_on(I1, 0, &rsoc(0, 0, 0, 65535), &[], 65535);
        assert_eq!(r.data_in.len(), 4 + 8 * 8);
    }

    #[test]
    fn report_supported_opcodes_one() {
        let mut h = Harness::disk(MB);
        let r = h.run(&rsoc(1, 0x28, 0, 512), &[], 512);
        assert_eq!(
            r.data_in,
            [0, 0x03, 0, 10, 0x28, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0x07]
        );
        // CAW usage shows DPO and FUA (libiscsi CompareAndWrite.DpoFua).
        let r = h.run(&rsoc(1, 0x89, 0, 512), &[], 512);
        assert_eq!(r.data_in[5] & 0x18, 0x18);
        let r = h.run(&rsoc(2, 0x9e, 0x10, 512), &[], 512);
        assert_eq!(&r.data_in[..6], &[0, 0x03, 0, 16, 0x9e, 0x1f]);
        // Mismatched options.
        assert_check(&h.run(&rsoc(1, 0x9e, 0, 512), &[], 512), 0x05, 0x24, 0x00);
        assert_check(&h.run(&rsoc(2, 0x28, 0, 512), &[], 512), 0x05, 0x24, 0x00);
        assert_check(&h.run(&rsoc(3, 0x28, 0, 512), &[], 512), 0x05, 0x24, 0x00);
        // Not supported: SUPPORT 001b.
        assert_eq!(
            h.run(&rsoc(1, 0x4d, 0, 512), &[], 512).data_in,
            [0, 1, 0, 0]
        );
        assert_eq!(
            h.run(&rsoc(2, 0x9e, 0x11, 512), &[], 512).data_in,
            [0, 1, 0, 0]
        );
        // RCTD.
        let mut c = rsoc(1, 0x00, 0, 512);
        c[2] |= 0x80;
        let r = h.run(&c, &[], 512);
        assert_eq!(r.data_in.len(), 4 + 6 + 12);
        assert_eq!(r.data_in[1], 0x83);
    }
}
