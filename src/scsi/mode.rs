//! MODE SENSE and MODE SELECT over the LU's mode pages.
//!
//! The pages themselves (current values and changeable masks) live in
//! [`LogicalUnit::mode_pages`]; a few bits are facts kept elsewhere and are shown from
//! there: SWP (`attrs.swp`) and D_SENSE (`attrs.sense_format`) in the control page, WP
//! (read-only or SWP) and DPOFUA in the header. Sources: SPC-4 §6.11–6.14 (MODE SELECT/
//! SENSE), §7.5 (mode parameters), SBC-3 §6.4; tgt: usr/spc.c `spc_mode_sense()`,
//! `spc_mode_select()`, usr/sbc.c `sbc_mode_sense()`, `sbc_mode_page_update()`.
//!
//! COMPAT: the block descriptor states the real number of blocks (C tgt computes it before
//! the medium is opened and always says 0), MODE SENSE(10) honours LLBAA, a page code with
//! subpage 0xFF returns all its subpages, the control page shows D_SENSE when the LU uses
//! descriptor sense (libiscsi ModeSense6.ControlDSense), and MODE SELECT validates every
//! page before changing any, accepts subpage format, and refuses a block descriptor that
//! would change the block length.

use std::ops::ControlFlow;

use super::cdb::Opcode;
use super::exec::{cut, done, ensure, fail, Outcome, Reply, Req, Step};
use super::lu::{LogicalUnit, ModePage};
use super::sense::{asc, Sense, SenseKey};

/// Page control field. SPC-4 §6.11 Table 99
const PC_CHANGEABLE: u8 = 1;
const PC_SAVED: u8 = 3;
/// Page code meaning "all pages".
const ALL_PAGES: u8 = 0x3f;
/// Subpage code meaning "all subpages".
const ALL_SUBPAGES: u8 = 0xff;

/// Control mode page byte offsets within the page data (after the 2-byte header).
/// SPC-4 §7.5.8
const CONTROL_D_SENSE: (usize, u8) = (0, 0x04);
const CONTROL_SWP: (usize, u8) = (2, 0x08);

/// The current values of `pg` as the initiator sees them (live bits applied).
fn current(lu: &LogicalUnit, pg: &ModePage) -> Vec<u8> {
    let mut d = pg.data.clone();
    if pg.pcode == 0x0a && pg.subpcode == 0 {
        let mut set = |(i, bit): (usize, u8), on: bool| {
            if let Some(b) = d.get_mut(i) {
                *b = if on { *b | bit } else { *b & !bit };
            }
        };
        set(CONTROL_D_SENSE, lu.attrs.sense_format != 0);
        set(CONTROL_SWP, lu.attrs.swp != 0);
    }
    d
}

/// One page with its header: page_0 (2 bytes) or sub_page (4 bytes) format.
fn page_bytes(lu: &LogicalUnit, pg: &ModePage, pc: u8) -> Vec<u8> {
    let body = if pc == PC_CHANGEABLE {
        pg.mask.clone()
    } else {
        current(lu, pg)
    };
    let mut d = if pg.subpcode == 0 {
        vec![pg.pcode, u8::try_from(body.len()).unwrap_or(u8::MAX)]
    } else {
        let [hi, lo] = u16::try_from(body.len()).unwrap_or(u16::MAX).to_be_bytes();
        vec![pg.pcode | 0x40, pg.subpcode, hi, lo]
    };
    d.extend_from_slice(&body);
    d
}

/// MODE SENSE(6) and MODE SENSE(10). SPC-4 §6.11, §6.12
pub(crate) fn mode_sense(req: &mut Req<'_>) -> Step<Reply> {
    let six = req.cdb.opcode() == Opcode::MODE_SENSE_6;
    let b1 = req.cdb.byte(1);
    let dbd = b1 & 0x08 != 0;
    let llbaa = !six && b1 & 0x10 != 0;
    let pc = req.cdb.byte(2) >> 6;
    let pcode = req.cdb.byte(2) & 0x3f;
    let subpage = req.cdb.byte(3);
    let alloc = if six {
        u32::from(req.cdb.byte(4))
    } else {
        u32::from(req.cdb.be16(7))
    };
    if pc == PC_SAVED {
        return fail(SenseKey::ILLEGAL_REQUEST, asc::SAVING_PARMS_UNSUP);
    }
    let lu = req.lu.config();
    // tgt: page 0x3F returns every page, subpages included, whatever the subpage code.
    let pages: Vec<&ModePage> = lu
        .mode_pages
        .iter()
        .filter(|p| {
            pcode == ALL_PAGES
                || (p.pcode == pcode && (subpage == ALL_SUBPAGES || p.subpcode == subpage))
        })
        .collect();
    ensure(!pages.is_empty(), asc::INVALID_FIELD_IN_CDB)?;
    let blocks = lu.size.checked_shr(lu.blk_shift).unwrap_or(0);
    let block_len = 1u32.checked_shl(lu.blk_shift).unwrap_or(0);
    let descriptor: Vec<u8> = match (dbd, llbaa) {
        (true, _) => Vec::new(),
        (false, false) => {
            let n = u32::try_from(blocks).unwrap_or(u32::MAX);
            let mut d = n.to_be_bytes().to_vec();
            d.extend_from_slice(&block_len.to_be_bytes());
            d
        }
        (false, true) => {
            let mut d = blocks.to_be_bytes().to_vec();
            d.extend_from_slice(&[0; 4]);
            d.extend_from_slice(&block_len.to_be_bytes());
            d
        }
    };
    // DPOFUA; WP on a read-only or software-write-protected LU. SBC-3 §6.4.1
    let mut device_specific = 0x10;
    if lu.attrs.readonly != 0 || lu.attrs.swp != 0 {
        device_specific |= 0x80;
    }
    let mut body = descriptor.clone();
    for p in pages {
        body.extend_from_slice(&page_bytes(&lu, p, pc));
    }
    drop(lu);
    let mut d = if six {
        let total = body.len() + 4;
        vec![
            u8::try_from((total - 1) & 0xff).unwrap_or(0),
            0,
            device_specific,
            u8::try_from(descriptor.len()).unwrap_or(0),
        ]
    } else {
        let total = body.len() + 8;
        let [mh, ml] = u16::try_from((total - 2) & 0xffff)
            .unwrap_or(0)
            .to_be_bytes();
        let [bh, bl] = u16::try_from(descriptor.len()).unwrap_or(0).to_be_bytes();
        vec![
            mh,
            ml,
            0,
            device_specific,
            u8::from(llbaa && !dbd),
            0,
            bh,
            bl,
        ]
    };
    d.extend_from_slice(&body);
    done(Outcome::data(cut(d, alloc)))
}

/// MODE SELECT(6) and MODE SELECT(10): only changeable bits may differ from the current
/// values (caching WCE, control SWP); an effective change queues MODE PARAMETERS CHANGED
/// for the other I_T nexuses. SPC-4 §6.13, §6.14; tgt: `spc_mode_select()`
pub(crate) fn mode_select(req: &mut Req<'_>) -> Step<Reply> {
    let six = req.cdb.opcode() == Opcode::MODE_SELECT_6;
    let b1 = req.cdb.byte(1);
    // PF must be set; saving pages is not supported.
    ensure(b1 & 0x10 != 0 && b1 & 0x01 == 0, asc::INVALID_FIELD_IN_CDB)?;
    let plen = if six {
        usize::from(req.cdb.byte(4))
    } else {
        usize::from(req.cdb.be16(7))
    };
    let data = &req.cmd.data_out[..plen.min(req.cmd.data_out.len())];
    let out_len = u64::try_from(plen).unwrap_or(0);
    if plen == 0 {
        return done(Outcome::good());
    }
    let header = if six { 4 } else { 8 };
    ensure(data.len() >= header, asc::PARAMETER_LIST_LENGTH_ERR)?;
    let (bd_len, long) = if six {
        (usize::from(data[3]), false)
    } else {
        (
            usize::from(u16::from_be_bytes([data[6], data[7]])),
            data[4] & 0x01 != 0,
        )
    };
    let mut lu = req.lu.config_mut();
    let block_len = 1u32.checked_shl(lu.blk_shift).unwrap_or(0);
    if bd_len != 0 {
        let want = if long { 16 } else { 8 };
        ensure(bd_len == want, asc::INVALID_FIELD_IN_PARMS)?;
        ensure(
            data.len() >= header + bd_len,
            asc::PARAMETER_LIST_LENGTH_ERR,
        )?;
        let bd = &data[header..header + bd_len];
        let len = u32::from_be_bytes([0, bd[bd_len - 3], bd[bd_len - 2], bd[bd_len - 1]]);
        ensure(len == block_len, asc::INVALID_FIELD_IN_PARMS)?;
    }
    // Validate every page first, then apply: a bad page changes nothing.
    let mut updates: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut off = header + bd_len;
    while off < data.len() {
        ensure(data.len() - off >= 2, asc::PARAMETER_LIST_LENGTH_ERR)?;
        let b0 = data[off];
        ensure(b0 & 0x80 == 0, asc::INVALID_FIELD_IN_PARMS)?;
        let pcode = b0 & 0x3f;
        let (subpcode, len, hdr) = if b0 & 0x40 != 0 {
            ensure(data.len() - off >= 4, asc::PARAMETER_LIST_LENGTH_ERR)?;
            let len = usize::from(u16::from_be_bytes([data[off + 2], data[off + 3]]));
            (data[off + 1], len, 4)
        } else {
            (0, usize::from(data[off + 1]), 2)
        };
        let Some(idx) = lu
            .mode_pages
            .iter()
            .position(|p| p.pcode == pcode && p.subpcode == subpcode)
        else {
            return fail(SenseKey::ILLEGAL_REQUEST, asc::INVALID_FIELD_IN_PARMS);
        };
        let pg = &lu.mode_pages[idx];
        ensure(len == pg.data.len(), asc::INVALID_FIELD_IN_PARMS)?;
        ensure(
            data.len() - off - hdr >= len,
            asc::PARAMETER_LIST_LENGTH_ERR,
        )?;
        let new = &data[off + hdr..off + hdr + len];
        let cur = current(&lu, pg);
        let bad = new
            .iter()
            .zip(&cur)
            .zip(&pg.mask)
            .any(|((n, c), m)| (n ^ c) & !m != 0);
        ensure(!bad, asc::INVALID_FIELD_IN_PARMS)?;
        updates.push((idx, new.to_vec()));
        off += hdr + len;
    }
    let mut changed = false;
    for (idx, new) in updates {
        let cur = current(&lu, &lu.mode_pages[idx]);
        changed |= cur != new;
        let pg = &mut lu.mode_pages[idx];
        for ((d, n), m) in pg.data.iter_mut().zip(&new).zip(&pg.mask) {
            *d = (*d & !m) | (n & m);
        }
        if pg.pcode == 0x0a && pg.subpcode == 0 {
            let (i, bit) = CONTROL_SWP;
            if let Some(b) = new.get(i) {
                lu.attrs.swp = i8::from(b & bit != 0);
            }
        }
    }
    drop(lu);
    if changed {
        req.lu.state().ua_others(
            req.nexus,
            Sense::new(SenseKey::UNIT_ATTENTION, asc::MODE_PARAMETERS_CHANGED),
        );
    }
    ControlFlow::Continue(Reply::Done(Outcome::good().with_out_len(out_len)))
}

#[cfg(test)]
mod tests {
    use crate::scsi::exec::testutil::*;

    const MB: u64 = 1 << 20;

    /// MODE SENSE(6) of all pages: 106 bytes as captured from tgt, except the block count.
    #[test]
    fn mode_sense6_all_pages() {
        let mut h = Harness::disk(MB);
        let r = h.run(&[0x1a, 0, 0x3f, 0, 255, 0], &[], 255);
        assert_good(&r);
        let mut want = vec![105, 0, 0x10, 8, 0, 0, 0x08, 0x00, 0, 0, 0x02, 0x00];
        want.extend_from_slice(&[0x00, 0x00]);
        want.extend_from_slice(&[
            0x02, 0x0e, 0x80, 0x80, 0, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ]);
        want.extend_from_slice(&[
            0x08, 0x12, 0x14, 0, 0xff, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x80, 0x14, 0, 0, 0, 0,
            0, 0,
        ]);
        want.extend_from_slice(&[0x0a, 0x0a, 0x02, 0x10, 0, 0, 0, 0, 0, 0, 0x02, 0]);
        let mut ext = vec![0x4a, 0x01, 0x00, 0x1c, 0x04];
        ext.resize(4 + 28, 0);
        want.extend_from_slice(&ext);
        want.extend_from_slice(&[0x1c, 0x0a, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(r.data_in.len(), 106);
        assert_eq!(r.data_in, want);
        assert_eq!(r.in_residual, 255 - 106);
    }

    #[test]
    fn mode_sense_truncates_without_overflow_residual() {
        let mut h = Harness::disk(MB);
        let r = h.run(&[0x1a, 0, 0x3f, 0, 4, 0], &[], 4);
        assert_eq!(r.data_in, [105, 0, 0x10, 8]);
        assert_eq!(r.in_residual, 0);
    }

    #[test]
    fn mode_sense_single_page_changeable_and_saved() {
        let mut h = Harness::disk(MB);
        let r = h.run(&[0x1a, 0x08, 0x08, 0, 255, 0], &[], 255);
        assert_eq!(r.data_in[..6], [23, 0, 0x10, 0, 0x08, 0x12]);
        let r = h.run(&[0x1a, 0x08, 0x48, 0, 255, 0], &[], 255);
        let mut mask = vec![23, 0, 0x10, 0, 0x08, 0x12, 0x04];
        mask.resize(24, 0);
        assert_eq!(r.data_in, mask);
        let r = h.run(&[0x1a, 0x08, 0x4a, 0, 255, 0], &[], 255);
        assert_eq!(&r.data_in[4..9], &[0x0a, 0x0a, 0, 0, 0x08]);
        assert_check(
            &h.run(&[0x1a, 0, 0xc8, 0, 255, 0], &[], 255),
            0x05,
            0x39,
            0x00,
        );
        assert_check(
            &h.run(&[0x1a, 0, 0x19, 0, 255, 0], &[], 255),
            0x05,
            0x24,
            0x00,
        );
        // Subpage 1 of the control page; 0xFF = all subpages of page 0x0A.
        let r = h.run(&[0x1a, 0x08, 0x0a, 0x01, 255, 0], &[], 255);
        assert_eq!(&r.data_in[4..8], &[0x4a, 0x01, 0x00, 0x1c]);
        let r = h.run(&[0x1a, 0x08, 0x0a, 0xff, 255, 0], &[], 255);
        assert_eq!(r.data_in.len(), 4 + 12 + 32);
    }

    #[test]
    fn mode_sense10_with_long_lba_descriptor() {
        let mut h = Harness::disk(MB);
        let r = h.run(&[0x5a, 0x10, 0x08, 0, 0, 0, 0, 0, 255, 0], &[], 255);
        assert_eq!(&r.data_in[..8], &[0, 42, 0, 0x10, 1, 0, 0, 16]);
        assert_eq!(
            &r.data_in[8..24],
            &[0, 0, 0, 0, 0, 0, 0x08, 0, 0, 0, 0, 0, 0, 0, 2, 0]
        );
        assert_eq!(&r.data_in[24..26], &[0x08, 0x12]);
    }

    #[test]
    fn readonly_sets_write_protect_and_dsense_follows_sense_format() {
        let mut h = Harness::disk_with(MB, |lu| {
            lu.attrs.readonly = 1;
            lu.attrs.sense_format = 1;
        });
        let r = h.run(&[0x1a, 0x08, 0x0a, 0, 255, 0], &[], 255);
        assert_eq!(&r.data_in[..7], &[15, 0, 0x90, 0, 0x0a, 0x0a, 0x06]);
    }

    fn control_page(swp: bool) -> Vec<u8> {
        let mut p = vec![
            0, 0, 0, 0, 0x0a, 0x0a, 0x02, 0x10, 0, 0, 0, 0, 0, 0, 0x02, 0,
        ];
        if swp {
            p[8] |= 0x08;
        }
        p
    }

    /// libiscsi set_swp/clear_swp, and test_modesense6_control_swp.
    #[test]
    fn mode_select_sets_swp_and_tells_other_nexuses() {
        let mut h = Harness::disk(MB);
        let p = control_page(true);
        let r = h.run(&[0x15, 0x10, 0, 0, 16, 0], &p, 0);
        assert_good(&r);
        assert_eq!(h.lu().config().attrs.swp, 1);
        let r = h.run(&[0x1a, 0x08, 0x0a, 0, 255, 0], &[], 255);
        assert_eq!(r.data_in[2], 0x90);
        assert_eq!(r.data_in[8], 0x08);
        assert_check(
            &h.run(&[0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0], &[0; 512], 0),
            0x07,
            0x27,
            0x00,
        );
        // The selecting nexus gets no unit attention, the other one does.
        assert_good(&h.run(&[0, 0, 0, 0, 0, 0], &[], 0));
        assert_check(
            &h.run_on(I2, 1, &[0, 0, 0, 0, 0, 0], &[], 0),
            0x06,
            0x2a,
            0x01,
        );
        assert_good(&h.run(&[0x15, 0x10, 0, 0, 16, 0], &control_page(false), 0));
        assert_eq!(h.lu().config().attrs.swp, 0);
        assert_good(&h.run(&[0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0], &[0; 512], 0));
    }

    #[test]
    fn mode_select_wce_changes_caching_page() {
        let mut h = Harness::disk(MB);
        let mut p = vec![0, 0, 0, 0, 0x08, 0x12, 0x10, 0, 0xff, 0xff, 0, 0];
        p.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x80, 0x14, 0, 0, 0, 0, 0, 0]);
        // MODE SELECT(10) with an 8-byte block descriptor of the right block length.
        let mut p10 = vec![0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 2, 0];
        p10.extend_from_slice(&p[4..]);
        let l = u8::try_from(p10.len()).unwrap();
        assert_good(&h.run(&[0x55, 0x10, 0, 0, 0, 0, 0, 0, l, 0], &p10, 0));
        let r = h.run(&[0x1a, 0x08, 0x08, 0, 255, 0], &[], 255);
        assert_eq!(r.data_in[6], 0x10);
    }

    #[test]
    fn mode_select_errors() {
        let mut h = Harness::disk(MB);
        let p = control_page(false);
        // PF clear, SP set.
        assert_check(&h.run(&[0x15, 0x00, 0, 0, 16, 0], &p, 0), 0x05, 0x24, 0x00);
        assert_check(&h.run(&[0x15, 0x11, 0, 0, 16, 0], &p, 0), 0x05, 0x24, 0x00);
        // Changing an unchangeable bit (GLTSD).
        let mut bad = p.clone();
        bad[6] = 0;
        assert_check(
            &h.run(&[0x15, 0x10, 0, 0, 16, 0], &bad, 0),
            0x05,
            0x26,
            0x00,
        );
        // PS bit, unknown page, short page.
        let mut ps = p.clone();
        ps[4] |= 0x80;
        assert_check(&h.run(&[0x15, 0x10, 0, 0, 16, 0], &ps, 0), 0x05, 0x26, 0x00);
        let mut unknown = p.clone();
        unknown[4] = 0x19;
        assert_check(
            &h.run(&[0x15, 0x10, 0, 0, 16, 0], &unknown, 0),
            0x05,
            0x26,
            0x00,
        );
        assert_check(
            &h.run(&[0x15, 0x10, 0, 0, 14, 0], &p[..14], 0),
            0x05,
            0x1a,
            0x00,
        );
        // Header only, and nothing at all, are fine.
        assert_good(&h.run(&[0x15, 0x10, 0, 0, 4, 0], &p[..4], 0));
        assert_good(&h.run(&[0x15, 0x10, 0, 0, 0, 0], &[], 0));
        // A block descriptor with another block length.
        let mut bd = vec![0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0x10, 0];
        bd.extend_from_slice(&p[4..]);
        assert_check(&h.run(&[0x15, 0x10, 0, 0, 24, 0], &bd, 0), 0x05, 0x26, 0x00);
        // Nothing changed through all of this.
        assert_good(&h.run_on(I2, 1, &[0, 0, 0, 0, 0, 0], &[], 0));
    }
}
