//! Command descriptor blocks: operation codes, lengths and the fields every handler reads.
//!
//! Owns the byte layout of CDBs (SPC-4 §4.2, SBC-3 §5) and nothing else: what a command
//! *does* lives in `spc`, `sbc`, `pr` and `mode`; which commands exist lives in
//! [`super::opcodes`]. tgt: usr/scsi.c `scsi_rw_offset()`, `scsi_rw_count()`, `CDB_CONTROL`.

/// A SCSI operation code. Open: any byte survives decoding. SPC-4 §4.2.5.1
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Opcode(pub u8);

impl Opcode {
    /// TEST UNIT READY. SPC-4 §6.47
    pub const TEST_UNIT_READY: Self = Self(0x00);
    /// REQUEST SENSE. SPC-4 §6.39
    pub const REQUEST_SENSE: Self = Self(0x03);
    /// FORMAT UNIT. SBC-3 §5.2
    pub const FORMAT_UNIT: Self = Self(0x04);
    /// READ(6). SBC-3 §5.13
    pub const READ_6: Self = Self(0x08);
    /// WRITE(6). SBC-3 §5.34
    pub const WRITE_6: Self = Self(0x0a);
    /// INQUIRY. SPC-4 §6.6
    pub const INQUIRY: Self = Self(0x12);
    /// MODE SELECT(6). SPC-4 §6.13
    pub const MODE_SELECT_6: Self = Self(0x15);
    /// RESERVE(6). SPC-2 §7.21
    pub const RESERVE_6: Self = Self(0x16);
    /// RELEASE(6). SPC-2 §7.17
    pub const RELEASE_6: Self = Self(0x17);
    /// MODE SENSE(6). SPC-4 §6.15
    pub const MODE_SENSE_6: Self = Self(0x1a);
    /// START STOP UNIT. SBC-3 §5.25
    pub const START_STOP_UNIT: Self = Self(0x1b);
    /// SEND DIAGNOSTIC. SPC-4 §6.42
    pub const SEND_DIAGNOSTIC: Self = Self(0x1d);
    /// PREVENT ALLOW MEDIUM REMOVAL. SPC-4 §6.17
    pub const PREVENT_ALLOW_MEDIUM_REMOVAL: Self = Self(0x1e);
    /// READ CAPACITY(10). SBC-3 §5.15
    pub const READ_CAPACITY_10: Self = Self(0x25);
    /// READ(10). SBC-3 §5.11
    pub const READ_10: Self = Self(0x28);
    /// WRITE(10). SBC-3 §5.35
    pub const WRITE_10: Self = Self(0x2a);
    /// WRITE AND VERIFY(10). SBC-3 §5.38
    pub const WRITE_AND_VERIFY_10: Self = Self(0x2e);
    /// VERIFY(10). SBC-3 §5.31
    pub const VERIFY_10: Self = Self(0x2f);
    /// PRE-FETCH(10). SBC-3 §5.9
    pub const PRE_FETCH_10: Self = Self(0x34);
    /// SYNCHRONIZE CACHE(10). SBC-3 §5.27
    pub const SYNCHRONIZE_CACHE_10: Self = Self(0x35);
    /// WRITE SAME(10). SBC-3 §5.41
    pub const WRITE_SAME_10: Self = Self(0x41);
    /// UNMAP. SBC-3 §5.28
    pub const UNMAP: Self = Self(0x42);
    /// MODE SELECT(10). SPC-4 §6.14
    pub const MODE_SELECT_10: Self = Self(0x55);
    /// RESERVE(10). SPC-2 §7.22
    pub const RESERVE_10: Self = Self(0x56);
    /// RELEASE(10). SPC-2 §7.18
    pub const RELEASE_10: Self = Self(0x57);
    /// MODE SENSE(10). SPC-4 §6.16
    pub const MODE_SENSE_10: Self = Self(0x5a);
    /// PERSISTENT RESERVE IN. SPC-4 §6.15
    pub const PERSISTENT_RESERVE_IN: Self = Self(0x5e);
    /// PERSISTENT RESERVE OUT. SPC-4 §6.16
    pub const PERSISTENT_RESERVE_OUT: Self = Self(0x5f);
    /// Variable-length CDB. SPC-4 §4.2.3
    pub const VARIABLE_LENGTH: Self = Self(0x7f);
    /// READ(16). SBC-3 §5.12
    pub const READ_16: Self = Self(0x88);
    /// COMPARE AND WRITE. SBC-3 §5.2
    pub const COMPARE_AND_WRITE: Self = Self(0x89);
    /// WRITE(16). SBC-3 §5.37
    pub const WRITE_16: Self = Self(0x8a);
    /// ORWRITE(16). SBC-3 §5.8
    pub const ORWRITE_16: Self = Self(0x8b);
    /// WRITE AND VERIFY(16). SBC-3 §5.40
    pub const WRITE_AND_VERIFY_16: Self = Self(0x8e);
    /// VERIFY(16). SBC-3 §5.33
    pub const VERIFY_16: Self = Self(0x8f);
    /// PRE-FETCH(16). SBC-3 §5.10
    pub const PRE_FETCH_16: Self = Self(0x90);
    /// SYNCHRONIZE CACHE(16). SBC-3 §5.28
    pub const SYNCHRONIZE_CACHE_16: Self = Self(0x91);
    /// WRITE SAME(16). SBC-3 §5.42
    pub const WRITE_SAME_16: Self = Self(0x93);
    /// SERVICE ACTION IN(16): READ CAPACITY(16), GET LBA STATUS. SBC-3 §5.16, §5.7
    pub const SERVICE_ACTION_IN_16: Self = Self(0x9e);
    /// REPORT LUNS. SPC-4 §6.33
    pub const REPORT_LUNS: Self = Self(0xa0);
    /// MAINTENANCE IN: REPORT SUPPORTED OPERATION CODES. SPC-4 §6.35
    pub const MAINTENANCE_IN: Self = Self(0xa3);
    /// READ(12). SBC-3 §5.11
    pub const READ_12: Self = Self(0xa8);
    /// WRITE(12). SBC-3 §5.36
    pub const WRITE_12: Self = Self(0xaa);
    /// WRITE AND VERIFY(12). SBC-3 §5.39
    pub const WRITE_AND_VERIFY_12: Self = Self(0xae);
    /// VERIFY(12). SBC-3 §5.32
    pub const VERIFY_12: Self = Self(0xaf);
}

/// CDB length implied by the opcode's group code (bits 7–5). SPC-4 §4.2.5.1;
/// tgt: usr/scsi.c `scsi_command_size` (groups 3, 6 and 7 as tgt sizes them).
pub const fn group_len(op: u8) -> usize {
    const SIZES: [usize; 8] = [6, 10, 10, 12, 16, 12, 10, 10];
    SIZES[(op >> 5) as usize]
}

/// The largest CDB this layer decodes; longer CDBs (extended CDB AHS) only matter for
/// VARIABLE LENGTH commands, which no emulated device type supports.
pub const MAX_CDB: usize = 16;

/// A CDB as received, zero-padded to 16 bytes so that every fixed-offset read is in bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cdb {
    bytes: [u8; MAX_CDB],
    /// Bytes actually received (before padding), at most 16.
    received: usize,
}

impl Cdb {
    /// Copies up to 16 bytes of `raw`; missing bytes read as zero.
    pub fn new(raw: &[u8]) -> Self {
        let mut bytes = [0u8; MAX_CDB];
        let received = raw.len().min(MAX_CDB);
        bytes[..received].copy_from_slice(&raw[..received]);
        Self { bytes, received }
    }

    /// The operation code (byte 0).
    pub fn opcode(&self) -> Opcode {
        Opcode(self.bytes[0])
    }

    /// The service action (byte 1, bits 4–0) of service-action commands.
    pub fn service_action(&self) -> u8 {
        self.bytes[1] & 0x1f
    }

    /// The CONTROL byte: the last byte of a fixed-length CDB, byte 1 of a variable-length
    /// one. SPC-4 §4.2.5.6; tgt: `CDB_CONTROL`
    pub fn control(&self) -> u8 {
        if self.opcode() == Opcode::VARIABLE_LENGTH {
            self.bytes[1]
        } else {
            self.bytes[group_len(self.bytes[0]) - 1]
        }
    }

    /// Byte `i` (0 beyond the CDB).
    pub fn byte(&self, i: usize) -> u8 {
        self.bytes.get(i).copied().unwrap_or(0)
    }

    /// Big-endian 16-bit field at `off`.
    pub fn be16(&self, off: usize) -> u16 {
        u16::from_be_bytes([self.byte(off), self.byte(off + 1)])
    }

    /// Big-endian 32-bit field at `off`.
    pub fn be32(&self, off: usize) -> u32 {
        u32::from_be_bytes([
            self.byte(off),
            self.byte(off + 1),
            self.byte(off + 2),
            self.byte(off + 3),
        ])
    }

    /// Big-endian 64-bit field at `off`.
    pub fn be64(&self, off: usize) -> u64 {
        (u64::from(self.be32(off)) << 32) | u64::from(self.be32(off + 4))
    }

    /// The raw (padded) bytes.
    pub fn as_bytes(&self) -> &[u8; MAX_CDB] {
        &self.bytes
    }

    /// Number of bytes the initiator sent (at most 16).
    pub fn received(&self) -> usize {
        self.received
    }

    /// LOGICAL BLOCK ADDRESS and TRANSFER LENGTH (in blocks) of a block command, as the
    /// CDB states them. READ(6)/WRITE(6): 21-bit LBA, length 0 means 256. COMPARE AND
    /// WRITE: NUMBER OF LOGICAL BLOCKS in byte 13. Other opcodes: `(0, 0)`.
    /// SBC-3 §5; tgt: usr/scsi.c `scsi_rw_offset()`, `scsi_rw_count()`
    pub fn lba_and_blocks(&self) -> (u64, u32) {
        let b = &self.bytes;
        match self.opcode() {
            Opcode::READ_6 | Opcode::WRITE_6 => {
                let lba = u32::from_be_bytes([0, b[1] & 0x1f, b[2], b[3]]);
                let n = if b[4] == 0 { 256 } else { u32::from(b[4]) };
                (u64::from(lba), n)
            }
            Opcode::READ_10
            | Opcode::WRITE_10
            | Opcode::WRITE_AND_VERIFY_10
            | Opcode::VERIFY_10
            | Opcode::PRE_FETCH_10
            | Opcode::SYNCHRONIZE_CACHE_10
            | Opcode::WRITE_SAME_10 => (u64::from(self.be32(2)), u32::from(self.be16(7))),
            Opcode::READ_12
            | Opcode::WRITE_12
            | Opcode::WRITE_AND_VERIFY_12
            | Opcode::VERIFY_12 => (u64::from(self.be32(2)), self.be32(6)),
            Opcode::READ_16
            | Opcode::WRITE_16
            | Opcode::ORWRITE_16
            | Opcode::WRITE_AND_VERIFY_16
            | Opcode::VERIFY_16
            | Opcode::PRE_FETCH_16
            | Opcode::SYNCHRONIZE_CACHE_16
            | Opcode::WRITE_SAME_16 => (self.be64(2), self.be32(10)),
            Opcode::COMPARE_AND_WRITE => (self.be64(2), u32::from(b[13])),
            _ => (0, 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_lengths_follow_spc() {
        assert_eq!(group_len(0x00), 6);
        assert_eq!(group_len(0x28), 10);
        assert_eq!(group_len(0x5a), 10);
        assert_eq!(group_len(0x88), 16);
        assert_eq!(group_len(0xa0), 12);
    }

    #[test]
    fn short_cdb_is_zero_padded() {
        let c = Cdb::new(&[0x28, 0x00, 0x01]);
        assert_eq!(c.received(), 3);
        assert_eq!(c.be32(2), 0x0100_0000);
        assert_eq!(c.lba_and_blocks(), (0x0100_0000, 0));
        assert_eq!(c.byte(40), 0);
    }

    #[test]
    fn long_cdb_is_cut_at_sixteen() {
        let c = Cdb::new(&[0x7f; 40]);
        assert_eq!(c.received(), 16);
        assert_eq!(c.control(), 0x7f);
    }

    #[test]
    fn read6_length_zero_means_256() {
        let c = Cdb::new(&[0x08, 0xff, 0x12, 0x34, 0x00, 0x00]);
        assert_eq!(c.lba_and_blocks(), (0x1f_1234, 256));
        let c = Cdb::new(&[0x0a, 0x00, 0x00, 0x07, 0x09, 0x00]);
        assert_eq!(c.lba_and_blocks(), (7, 9));
    }

    #[test]
    fn lba_and_length_of_each_size() {
        let c = Cdb::new(&[0x2a, 0, 0xde, 0xad, 0xbe, 0xef, 0, 0x12, 0x34, 0]);
        assert_eq!(c.lba_and_blocks(), (0xdead_beef, 0x1234));
        let c = Cdb::new(&[0xa8, 0, 0, 0, 0, 9, 0, 1, 0, 0, 0, 0]);
        assert_eq!(c.lba_and_blocks(), (9, 0x1_0000));
        let c = Cdb::new(&[
            0x88, 0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0, 0, 0x01, 0x00, 0, 0,
        ]);
        assert_eq!(c.lba_and_blocks(), (0x0102_0304_0506_0708, 256));
        let c = Cdb::new(&[0x89, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 3, 0, 0]);
        assert_eq!(c.lba_and_blocks(), (5, 3));
    }

    #[test]
    fn control_byte_is_last_byte_of_group_length() {
        assert_eq!(Cdb::new(&[0, 0, 0, 0, 0, 0x04]).control(), 0x04);
        let mut ten = [0u8; 16];
        ten[0] = 0x28;
        ten[9] = 0x01;
        ten[15] = 0xff;
        assert_eq!(Cdb::new(&ten).control(), 0x01);
    }
}
