//! INQUIRY data: the standard page and the vital product data pages, built from the LU's
//! attributes each time they are asked for (so `--params` changes show at once).
//!
//! The VPD page list is one table (`PAGES`); page 0x00 is computed from it.
//! Sources: SPC-4 §6.6 (INQUIRY), §7.8 (VPD pages), SBC-3 §6.5 (B0/B1/B2);
//! tgt: usr/spc.c `spc_inquiry()`, `update_vpd_*()`; reference §4 (captured bytes).

use super::lu::LogicalUnit;

/// Peripheral qualifier 011b + type 1Fh: no logical unit at this LUN. SPC-4 §6.6.2
pub const PERIPHERAL_NO_LUN: u8 = 0x7f;

/// Field widths of the standard INQUIRY data. SPC-4 §6.6.2
const VENDOR_LEN: usize = 8;
const PRODUCT_LEN: usize = 16;
const REVISION_LEN: usize = 4;
/// tgt answers 66 bytes of standard INQUIRY data (additional length 61).
const STANDARD_LEN: usize = 66;
/// VPD 0x80/0x83 T10 vendor ID widths. tgt: `SCSI_SN_LEN`, `SCSI_ID_LEN`
const SERIAL_LEN: usize = 36;
const SCSI_ID_LEN: usize = 36;

/// MAXIMUM COMPARE AND WRITE LENGTH in blocks (VPD B0 byte 5). tgt: `update_vpd_b0()`
pub const MAX_COMPARE_AND_WRITE_BLOCKS: u8 = 128;
/// MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT: as many 16-byte descriptors as a 16-bit UNMAP
/// parameter list can carry.
// COMPAT: C tgt advertises 0xffffffff, which libiscsi's Unmap.ZeroBlocks turns into a
// negative descriptor count and fails on; the real limit of the CDB is stated instead.
pub const MAX_UNMAP_DESCRIPTORS: u32 = (0xffff - 8) / 16;

/// Byte 0 of every INQUIRY page: qualifier 0 and the device type.
pub fn peripheral(lu: &LogicalUnit) -> u8 {
    u8::try_from(lu.device_type.0 & 0x1f).unwrap_or(0x1f)
}

/// Copies `s` into a space-padded field of `width` bytes, truncating. tgt: `scsi_sprintf`
fn padded(dst: &mut [u8], s: &str) {
    dst.fill(b' ');
    let src = s.as_bytes();
    let n = src.len().min(dst.len());
    dst[..n].copy_from_slice(&src[..n]);
}

/// Standard INQUIRY data, 66 bytes. SPC-4 §6.6.2; reference §4.1
pub fn standard(lu: &LogicalUnit) -> Vec<u8> {
    let mut d = vec![0u8; STANDARD_LEN];
    d[0] = peripheral(lu);
    d[1] = if lu.attrs.removable != 0 { 0x80 } else { 0 };
    d[2] = 0x05; // SPC-3
    d[3] = 0x12; // HISUP, RESPONSE DATA FORMAT 2
    d[4] = u8::try_from(STANDARD_LEN - 5).unwrap_or(0);
    d[7] = 0x02; // CMDQUE
    padded(&mut d[8..8 + VENDOR_LEN], &lu.attrs.vendor_id);
    padded(&mut d[16..16 + PRODUCT_LEN], &lu.attrs.product_id);
    padded(&mut d[32..32 + REVISION_LEN], &lu.attrs.product_rev);
    for (i, v) in lu.attrs.version_desc.iter().enumerate() {
        d[58 + 2 * i..60 + 2 * i].copy_from_slice(&v.to_be_bytes());
    }
    d
}

/// A VPD page: its code and the builder of its body (after the 4-byte header).
struct VpdPage {
    code: u8,
    body: fn(&LogicalUnit) -> Vec<u8>,
}

/// Every VPD page a LU has, in ascending order. Others are INVALID FIELD IN CDB.
static PAGES: &[VpdPage] = &[
    VpdPage {
        code: 0x00,
        body: supported_pages,
    },
    VpdPage {
        code: 0x80,
        body: unit_serial_number,
    },
    VpdPage {
        code: 0x83,
        body: device_identification,
    },
    VpdPage {
        code: 0xb0,
        body: block_limits,
    },
    VpdPage {
        code: 0xb1,
        body: block_device_characteristics,
    },
    VpdPage {
        code: 0xb2,
        body: logical_block_provisioning,
    },
];

/// VPD page `code` with its header, or `None` when the LU has no such page.
pub fn page(lu: &LogicalUnit, code: u8) -> Option<Vec<u8>> {
    let p = PAGES.iter().find(|p| p.code == code)?;
    let body = (p.body)(lu);
    let len = u16::try_from(body.len()).unwrap_or(u16::MAX).to_be_bytes();
    let mut d = vec![peripheral(lu), code, len[0], len[1]];
    d.extend_from_slice(&body);
    Some(d)
}

/// 0x00 SUPPORTED VPD PAGES. SPC-4 §7.8.16
fn supported_pages(_: &LogicalUnit) -> Vec<u8> {
    PAGES.iter().map(|p| p.code).collect()
}

/// 0x80 UNIT SERIAL NUMBER: `scsi_sn` right-justified in 36 space-padded bytes.
/// SPC-4 §7.8.18; tgt: `update_vpd_80()`
fn unit_serial_number(lu: &LogicalUnit) -> Vec<u8> {
    let mut d = vec![b' '; SERIAL_LEN];
    let sn = lu.attrs.scsi_sn.as_bytes();
    let sn = &sn[sn.len().saturating_sub(SERIAL_LEN)..];
    d[SERIAL_LEN - sn.len()..].copy_from_slice(sn);
    d
}

/// 0x83 DEVICE IDENTIFICATION: T10 vendor ID (`scsi_id`), NAA locally assigned
/// (`tid << 32 | lun`), NAA IEEE registered extended (the hex digits of `scsi_id`).
/// SPC-4 §7.8.6; tgt: `update_vpd_83()`
fn device_identification(lu: &LogicalUnit) -> Vec<u8> {
    let mut d = Vec::with_capacity(4 + SCSI_ID_LEN + 4 + 8 + 4 + 16);
    // T10 vendor ID, ASCII code set, associated with the LU.
    d.extend_from_slice(&[0x02, 0x01, 0x00, 36]);
    let mut id = [0u8; SCSI_ID_LEN];
    let src = lu.attrs.scsi_id.as_bytes();
    let n = src.len().min(SCSI_ID_LEN);
    id[..n].copy_from_slice(&src[..n]);
    d.extend_from_slice(&id);
    // NAA, binary: NAA 3 (locally assigned) in the top nibble.
    d.extend_from_slice(&[0x01, 0x03, 0x00, 8]);
    let mut naa = lu.numeric_id.to_be_bytes();
    naa[0] |= 0x30;
    d.extend_from_slice(&naa);
    // NAA 6 (IEEE registered extended): every character of scsi_id read as one hex digit
    // (anything else counts as 0), right-aligned in 128 bits.
    d.extend_from_slice(&[0x01, 0x03, 0x00, 16]);
    let v = src.iter().take_while(|&&c| c != 0).fold(0u128, |v, &c| {
        let digit = char::from(c).to_digit(16).map_or(0, u128::from);
        (v << 4) | digit
    });
    let mut ext = v.to_be_bytes();
    ext[0] = (ext[0] & 0x0f) | 0x60;
    d.extend_from_slice(&ext);
    d
}

/// 0xB0 BLOCK LIMITS, 60 bytes. SBC-3 §6.5.3; tgt: `update_vpd_b0()`
fn block_limits(lu: &LogicalUnit) -> Vec<u8> {
    let mut d = vec![0u8; 0x3c];
    d[1] = MAX_COMPARE_AND_WRITE_BLOCKS;
    d[2..4].copy_from_slice(&lu.attrs.optimal_xfer_gran.to_be_bytes());
    d[8..12].copy_from_slice(&lu.attrs.optimal_xfer_len.to_be_bytes());
    if lu.attrs.thin_provisioning != 0 {
        d[16..20].copy_from_slice(&u32::MAX.to_be_bytes());
        d[20..24].copy_from_slice(&MAX_UNMAP_DESCRIPTORS.to_be_bytes());
    }
    d
}

/// 0xB1 BLOCK DEVICE CHARACTERISTICS, 64 bytes: MEDIUM ROTATION RATE.
/// SBC-3 §6.5.2; tgt: `update_vpd_b1()`
fn block_device_characteristics(lu: &LogicalUnit) -> Vec<u8> {
    let mut d = vec![0u8; 0x40];
    d[0..2].copy_from_slice(&lu.attrs.rotation_rate.to_be_bytes());
    d
}

/// 0xB2 LOGICAL BLOCK PROVISIONING: thin → LBPU, LBPWS, LBPWS10, LBPRZ, provisioning
/// type 2 (thin). SBC-3 §6.5.4; tgt: `update_vpd_b2()`
fn logical_block_provisioning(lu: &LogicalUnit) -> Vec<u8> {
    if lu.attrs.thin_provisioning != 0 {
        vec![0x00, 0xe4, 0x02, 0x00]
    } else {
        vec![0; 4]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bs::{self, OpenFlags};
    use crate::scsi::lu::null_template;
    use crate::scsi::DeviceType;

    fn disk() -> LogicalUnit {
        LogicalUnit::new(
            2,
            1,
            DeviceType::DISK,
            bs::lookup("rdwr").unwrap(),
            OpenFlags::NONE,
            None,
        )
    }

    #[test]
    fn standard_inquiry_matches_capture() {
        let d = standard(&disk());
        let mut want = vec![0x00, 0x00, 0x05, 0x12, 0x3d, 0x00, 0x00, 0x02];
        want.extend_from_slice(b"IET     VIRTUAL-DISK    0001");
        want.extend_from_slice(&[0; 22]);
        want.extend_from_slice(&[0x04, 0xc0, 0x09, 0x60, 0x03, 0x00, 0x00, 0x00]);
        assert_eq!(d, want);
    }

    #[test]
    fn controller_inquiry() {
        let lu = LogicalUnit::new(
            1,
            0,
            DeviceType::RAID,
            null_template(),
            OpenFlags::NONE,
            None,
        );
        let d = standard(&lu);
        assert_eq!(d[0], 0x0c);
        assert_eq!(&d[16..32], b"Controller      ");
        assert_eq!(&d[58..64], &[0x04, 0xc0, 0x09, 0x60, 0x01, 0xfb]);
    }

    #[test]
    fn long_vendor_is_truncated() {
        let mut lu = disk();
        lu.attrs.vendor_id = "ABCDEFGHIJ".into();
        lu.attrs.product_rev = "12".into();
        let d = standard(&lu);
        assert_eq!(&d[8..16], b"ABCDEFGH");
        assert_eq!(&d[32..36], b"12  ");
    }

    #[test]
    fn supported_pages_match_capture() {
        assert_eq!(
            page(&disk(), 0).unwrap(),
            [0x00, 0x00, 0x00, 0x06, 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2]
        );
        assert!(page(&disk(), 0x86).is_none());
        assert!(page(&disk(), 0x03).is_none());
    }

    #[test]
    fn serial_number_is_right_justified() {
        let p = page(&disk(), 0x80).unwrap();
        assert_eq!(&p[..4], &[0x00, 0x80, 0x00, 36]);
        let mut want = vec![b' '; 30];
        want.extend_from_slice(b"beaf21");
        assert_eq!(&p[4..], &want[..]);
    }

    #[test]
    fn device_identification_matches_capture() {
        let p = page(&disk(), 0x83).unwrap();
        assert_eq!(&p[..4], &[0x00, 0x83, 0x00, 0x48]);
        assert_eq!(&p[4..8], &[0x02, 0x01, 0x00, 0x24]);
        let mut id = b"IET     00020001".to_vec();
        id.resize(36, 0);
        assert_eq!(&p[8..44], &id[..]);
        assert_eq!(
            &p[44..56],
            &[0x01, 0x03, 0x00, 0x08, 0x30, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01]
        );
        assert_eq!(
            &p[56..],
            &[
                0x01, 0x03, 0x00, 0x10, 0x60, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0e, 0x00,
                0x00, 0x00, 0x00, 0x02, 0x00, 0x01
            ]
        );
    }

    #[test]
    fn block_limits_thin_and_optimal_transfer() {
        let mut lu = disk();
        lu.attrs.thin_provisioning = 1;
        lu.attrs.optimal_xfer_gran = 8;
        lu.attrs.optimal_xfer_len = 0x100;
        let p = page(&lu, 0xb0).unwrap();
        assert_eq!(&p[..8], &[0x00, 0xb0, 0x00, 0x3c, 0x00, 0x80, 0x00, 0x08]);
        assert_eq!(&p[12..16], &[0, 0, 1, 0]);
        assert_eq!(
            &p[20..28],
            &[0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x0f, 0xff]
        );
        assert_eq!(p.len(), 64);
        lu.attrs.thin_provisioning = 0;
        assert_eq!(&page(&lu, 0xb0).unwrap()[20..28], &[0; 8]);
    }

    #[test]
    fn characteristics_and_provisioning() {
        let mut lu = disk();
        lu.attrs.rotation_rate = 1;
        let p = page(&lu, 0xb1).unwrap();
        assert_eq!(&p[..6], &[0x00, 0xb1, 0x00, 0x40, 0x00, 0x01]);
        assert_eq!(p.len(), 68);
        assert_eq!(
            page(&lu, 0xb2).unwrap(),
            [0x00, 0xb2, 0x00, 0x04, 0, 0, 0, 0]
        );
        lu.attrs.thin_provisioning = 1;
        assert_eq!(
            page(&lu, 0xb2).unwrap(),
            [0x00, 0xb2, 0x00, 0x04, 0x00, 0xe4, 0x02, 0x00]
        );
    }
}
