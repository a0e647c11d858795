//! Sense data: keys, additional sense codes and the fixed/descriptor formats.
//! SPC-4 §4.5; tgt: usr/scsi.c `sense_data_build()`.

/// Sense key. SPC-4 §4.5.6
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenseKey(pub u8);

impl SenseKey {
    /// NO SENSE
    pub const NO_SENSE: Self = Self(0x00);
    /// RECOVERED ERROR
    pub const RECOVERED_ERROR: Self = Self(0x01);
    /// NOT READY
    pub const NOT_READY: Self = Self(0x02);
    /// MEDIUM ERROR
    pub const MEDIUM_ERROR: Self = Self(0x03);
    /// HARDWARE ERROR
    pub const HARDWARE_ERROR: Self = Self(0x04);
    /// ILLEGAL REQUEST
    pub const ILLEGAL_REQUEST: Self = Self(0x05);
    /// UNIT ATTENTION
    pub const UNIT_ATTENTION: Self = Self(0x06);
    /// DATA PROTECT
    pub const DATA_PROTECT: Self = Self(0x07);
    /// ABORTED COMMAND
    pub const ABORTED_COMMAND: Self = Self(0x0b);
    /// MISCOMPARE
    pub const MISCOMPARE: Self = Self(0x0e);
}

/// Additional sense code and qualifier, as one 16-bit value `ASC << 8 | ASCQ`. SPC-4 Annex D
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Asc(pub u16);

/// The ASC/ASCQ values tgt uses.
pub mod asc {
    use super::Asc;
    /// 00/00 NO ADDITIONAL SENSE INFORMATION
    pub const NO_ADDITIONAL_SENSE: Asc = Asc(0x0000);
    /// 04/01 LOGICAL UNIT IS IN PROCESS OF BECOMING READY
    pub const BECOMING_READY: Asc = Asc(0x0401);
    /// 11/00 UNRECOVERED READ ERROR
    pub const READ_ERROR: Asc = Asc(0x1100);
    /// 0C/00 WRITE ERROR
    pub const WRITE_ERROR: Asc = Asc(0x0c00);
    /// 1A/00 PARAMETER LIST LENGTH ERROR
    pub const PARAMETER_LIST_LENGTH_ERR: Asc = Asc(0x1a00);
    /// 1D/00 MISCOMPARE DURING VERIFY OPERATION
    pub const MISCOMPARE_DURING_VERIFY: Asc = Asc(0x1d00);
    /// 20/00 INVALID COMMAND OPERATION CODE
    pub const INVALID_OP_CODE: Asc = Asc(0x2000);
    /// 21/00 LOGICAL BLOCK ADDRESS OUT OF RANGE
    pub const LBA_OUT_OF_RANGE: Asc = Asc(0x2100);
    /// 24/00 INVALID FIELD IN CDB
    pub const INVALID_FIELD_IN_CDB: Asc = Asc(0x2400);
    /// 25/00 LOGICAL UNIT NOT SUPPORTED
    pub const LUN_NOT_SUPPORTED: Asc = Asc(0x2500);
    /// 26/00 INVALID FIELD IN PARAMETER LIST
    pub const INVALID_FIELD_IN_PARMS: Asc = Asc(0x2600);
    /// 26/04 INVALID RELEASE OF PERSISTENT RESERVATION
    pub const INVALID_RELEASE_OF_PR: Asc = Asc(0x2604);
    /// 27/00 WRITE PROTECTED
    pub const WRITE_PROTECT: Asc = Asc(0x2700);
    /// 27/07 SPACE ALLOCATION FAILED WRITE PROTECT (thin-provisioned media is full)
    pub const SPACE_ALLOCATION_FAILED: Asc = Asc(0x2707);
    /// 29/00 POWER ON, RESET, OR BUS DEVICE RESET OCCURRED
    pub const POWERON_RESET: Asc = Asc(0x2900);
    /// 29/03 BUS DEVICE RESET FUNCTION OCCURRED
    pub const BUS_DEVICE_RESET: Asc = Asc(0x2903);
    /// 2A/01 MODE PARAMETERS CHANGED
    pub const MODE_PARAMETERS_CHANGED: Asc = Asc(0x2a01);
    /// 2A/03 RESERVATIONS PREEMPTED
    pub const RESERVATIONS_PREEMPTED: Asc = Asc(0x2a03);
    /// 2A/04 RESERVATIONS RELEASED
    pub const RESERVATIONS_RELEASED: Asc = Asc(0x2a04);
    /// 2A/05 REGISTRATIONS PREEMPTED
    pub const REGISTRATIONS_PREEMPTED: Asc = Asc(0x2a05);
    /// 2A/09 CAPACITY DATA HAS CHANGED
    pub const CAPACITY_DATA_HAS_CHANGED: Asc = Asc(0x2a09);
    /// 2F/00 COMMANDS CLEARED BY ANOTHER INITIATOR
    pub const COMMANDS_CLEARED_BY_ANOTHER_INITIATOR: Asc = Asc(0x2f00);
    /// 39/00 SAVING PARAMETERS NOT SUPPORTED
    pub const SAVING_PARMS_UNSUP: Asc = Asc(0x3900);
    /// 3A/00 MEDIUM NOT PRESENT
    pub const MEDIUM_NOT_PRESENT: Asc = Asc(0x3a00);
    /// 3F/0E REPORTED LUNS DATA HAS CHANGED
    pub const REPORTED_LUNS_DATA_HAS_CHANGED: Asc = Asc(0x3f0e);
    /// 44/00 INTERNAL TARGET FAILURE
    pub const INTERNAL_TGT_FAILURE: Asc = Asc(0x4400);
    /// 53/02 MEDIUM REMOVAL PREVENTED
    pub const MEDIUM_REMOVAL_PREVENTED: Asc = Asc(0x5302);
    /// 55/03 INSUFFICIENT RESOURCES
    pub const INSUFFICIENT_RESOURCES: Asc = Asc(0x5503);
    /// 55/04 INSUFFICIENT REGISTRATION RESOURCES
    pub const INSUFFICIENT_REGISTRATION_RESOURCES: Asc = Asc(0x5504);
}

/// One sense condition, rendered in the LU's format when sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sense {
    /// Sense key.
    pub key: SenseKey,
    /// ASC/ASCQ.
    pub asc: Asc,
    /// INFORMATION field (VALID bit set when present).
    pub info: Option<u64>,
}

impl Sense {
    /// A condition without INFORMATION.
    pub const fn new(key: SenseKey, asc: Asc) -> Self {
        Self {
            key,
            asc,
            info: None,
        }
    }

    /// Fixed format (0x70), 18 bytes; INFORMATION in bytes 3–6 with VALID when it fits.
    /// SPC-4 §4.5.3
    pub fn fixed(&self) -> Vec<u8> {
        let [asc, ascq] = self.asc.0.to_be_bytes();
        let mut b = vec![0u8; 18];
        b[0] = 0x70;
        b[2] = self.key.0 & 0x0f;
        b[7] = 0x0a;
        b[12] = asc;
        b[13] = ascq;
        if let Some(info) = self.info.and_then(|i| u32::try_from(i).ok()) {
            b[0] |= 0x80;
            b[3..7].copy_from_slice(&info.to_be_bytes());
        }
        b
    }

    /// Descriptor format (0x72): 8-byte header plus an information descriptor when
    /// INFORMATION is present. SPC-4 §4.5.2
    pub fn descriptor(&self) -> Vec<u8> {
        let [asc, ascq] = self.asc.0.to_be_bytes();
        let mut b = vec![0x72, self.key.0 & 0x0f, asc, ascq, 0, 0, 0, 0];
        if let Some(info) = self.info {
            b[7] = 12;
            b.extend_from_slice(&[0x00, 0x0a, 0x80, 0]);
            b.extend_from_slice(&info.to_be_bytes());
        }
        b
    }

    /// A condition with INFORMATION (e.g. the miscompare offset).
    pub const fn with_info(key: SenseKey, asc: Asc, info: u64) -> Self {
        Self {
            key,
            asc,
            info: Some(info),
        }
    }

    /// Renders in the LU's `sense_format` (0 fixed, otherwise descriptor).
    pub fn render(&self, descriptor: bool) -> Vec<u8> {
        if descriptor {
            self.descriptor()
        } else {
            self.fixed()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_sense_matches_tgt_capture() {
        let s = Sense::new(SenseKey::ILLEGAL_REQUEST, asc::LUN_NOT_SUPPORTED);
        assert_eq!(
            s.fixed(),
            [0x70, 0, 0x05, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x25, 0x00, 0, 0, 0, 0]
        );
    }

    #[test]
    fn descriptor_sense_is_eight_bytes() {
        let s = Sense::new(SenseKey::UNIT_ATTENTION, asc::POWERON_RESET);
        assert_eq!(s.descriptor(), [0x72, 0x06, 0x29, 0x00, 0, 0, 0, 0]);
    }

    #[test]
    fn information_field() {
        let s = Sense {
            key: SenseKey::MISCOMPARE,
            asc: asc::MISCOMPARE_DURING_VERIFY,
            info: Some(5),
        };
        assert_eq!(&s.fixed()[..7], [0xf0, 0, 0x0e, 0, 0, 0, 5]);
        assert_eq!(s.descriptor().len(), 20);
    }
}
