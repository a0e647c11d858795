//! Header and data digests. RFC 7143 §11.2.3 (where they sit), §13.1 (CRC32C).
//!
//! The header digest covers the BHS and the AHS; the data digest covers the data segment
//! and its padding (§13.1: "padding bytes ... are included in the CRC"). The 32-bit CRC goes
//! on the wire least significant byte first: RFC 3720 B.4 lists the example CRCs that way,
//! and Linux, libiscsi and tgt (`*(uint32_t *)digest = crc` on x86) all send it so.

use crate::sys::crc32c::{crc32c, crc32c_append};

use super::BHS_LEN;

/// Bytes of one digest on the wire.
pub const DIGEST_LEN: usize = 4;

/// Which digests are in force on a connection (negotiated HeaderDigest/DataDigest; both
/// off during login). RFC 7143 §13.1
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Digests {
    /// HeaderDigest=CRC32C.
    pub header: bool,
    /// DataDigest=CRC32C.
    pub data: bool,
}

/// The header digest of a BHS and its AHS.
pub fn header_digest(bhs: &[u8; BHS_LEN], ahs: &[u8]) -> u32 {
    crc32c_append(crc32c(bhs), ahs)
}

/// The data digest of a data segment followed by `pad` zero bytes (0 to 3).
pub fn data_digest(data: &[u8], pad: usize) -> u32 {
    const ZEROS: [u8; 3] = [0; 3];
    crc32c_append(crc32c(data), &ZEROS[..pad.min(3)])
}

/// A digest as it goes on the wire.
pub fn to_wire(crc: u32) -> [u8; DIGEST_LEN] {
    crc.to_le_bytes()
}

/// A digest as read from the wire.
pub fn from_wire(b: [u8; DIGEST_LEN]) -> u32 {
    u32::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_read10_header_digest_on_the_wire() {
        // RFC 3720 B.4 "iSCSI - SCSI Read (10) Command PDU", CRC bytes 56 3a 96 d9.
        let read10: [u8; 48] = [
            0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14,
            0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        let crc = header_digest(&read10, &[]);
        assert_eq!(to_wire(crc), [0x56, 0x3a, 0x96, 0xd9]);
        assert_eq!(from_wire([0x56, 0x3a, 0x96, 0xd9]), crc);
    }

    #[test]
    fn data_digest_includes_the_padding() {
        // 29 bytes of 0xff + 3 zero pad bytes is not 32 bytes of 0xff ...
        assert_ne!(data_digest(&[0xff; 29], 3), 0x62a8_ab43);
        // ... while 30 zero bytes + 2 pad bytes is RFC 3720 B.4's 32 bytes of zeros.
        assert_eq!(data_digest(&[0; 30], 2), 0x8a91_36aa);
        assert_eq!(data_digest(&[0xff; 32], 0), 0x62a8_ab43);
    }
}
