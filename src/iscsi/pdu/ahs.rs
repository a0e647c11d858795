//! Additional Header Segments: the extended CDB and the bidirectional read length that may
//! follow a SCSI Command's BHS. RFC 7143 §11.2.2
//!
//! Each AHS is AHSLength (2 bytes), AHSType (1 byte) and AHSLength bytes of AHS-specific
//! data, padded to a 4-byte boundary. AHSLength counts the specific data including the
//! reserved byte that starts it, so an extended CDB of N spill-over bytes has AHSLength
//! N + 1. tgt: usr/iscsi/iscsid.c `iscsi_target_cmd_queue()`.

use super::PduError;

/// AHSType codes (low 6 bits; the top 2 are reserved). RFC 7143 §11.2.2.1
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AhsType(pub u8);

impl AhsType {
    /// 1 Extended CDB. RFC 7143 §11.2.2.3
    pub const EXTENDED_CDB: Self = Self(1);
    /// 2 Bidirectional Read Expected Data Transfer Length. RFC 7143 §11.2.2.4
    pub const BIDI_READ_LENGTH: Self = Self(2);
    // 3-59 are reserved; 60-63 are for non-iSCSI extensions.
}

/// Longest CDB an extended CDB AHS can complete (SPC: 260 bytes), so at most 244 bytes
/// follow the 16 in the BHS. tgt refuses longer ones the same way.
pub const MAX_CDB_LEN: usize = 260;
/// The 3 bytes of AHSLength and AHSType before the specific data.
const AHS_HEADER: usize = 3;
/// Mask of the AHS code in the AHSType byte.
const TYPE_MASK: u8 = 0x3f;

/// The AHS of one SCSI Command, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ahs<'a> {
    /// CDB bytes beyond the first 16 (the extended CDB, without its reserved byte). RFC 7143
    /// §11.2.2.3
    pub extended_cdb: Option<&'a [u8]>,
    /// Bidirectional Read Expected Data Transfer Length. RFC 7143 §11.2.2.4
    pub bidi_read_edtl: Option<u32>,
}

impl<'a> Ahs<'a> {
    /// Parses the AHS bytes that followed a BHS (TotalAHSLength × 4 of them). Each type may
    /// appear once. Reserved types are refused, since an AHS changes how the command is to be
    /// executed; the non-iSCSI extension types (60-63) belong to other layers and are
    /// skipped.
    // COMPAT: tgt looks for an extended CDB only as the first AHS, steps over it without its
    // padding (so a bidirectional length after an odd-sized one is misread), and ignores
    // every other type. We follow the RFC layout and refuse reserved types.
    pub fn decode(mut ahs: &'a [u8]) -> Result<Self, PduError> {
        let mut out = Self::default();
        while !ahs.is_empty() {
            let [l0, l1, ty, ..] = *ahs else {
                return Err(bad("truncated AHS header"));
            };
            let len = usize::from(u16::from_be_bytes([l0, l1]));
            let total = (AHS_HEADER + len + 3) & !3;
            let item = ahs
                .get(AHS_HEADER..AHS_HEADER + len)
                .ok_or(bad("AHSLength overruns TotalAHSLength"))?;
            if total > ahs.len() {
                return Err(bad("AHS padding overruns TotalAHSLength"));
            }
            match AhsType(ty & TYPE_MASK) {
                AhsType::EXTENDED_CDB => {
                    if out.extended_cdb.is_some() {
                        return Err(bad("two extended CDB AHS"));
                    }
                    // item = reserved byte + the CDB bytes after the 16th.
                    let ecdb = item
                        .get(1..)
                        .filter(|e| !e.is_empty())
                        .ok_or(bad("empty extended CDB"))?;
                    if 16 + ecdb.len() > MAX_CDB_LEN {
                        return Err(bad("extended CDB longer than 260 bytes"));
                    }
                    out.extended_cdb = Some(ecdb);
                }
                AhsType::BIDI_READ_LENGTH => {
                    if out.bidi_read_edtl.is_some() {
                        return Err(bad("two bidirectional read length AHS"));
                    }
                    // Reserved byte + the 4-byte length: AHSLength 5.
                    let [_, a, b, c, d] = *item else {
                        return Err(bad("bidirectional read length AHS is not 5 bytes"));
                    };
                    out.bidi_read_edtl = Some(u32::from_be_bytes([a, b, c, d]));
                }
                AhsType(60..=63) => {}
                _ => return Err(bad("reserved AHSType")),
            }
            ahs = &ahs[total..];
        }
        Ok(out)
    }

    /// The whole CDB: the 16 bytes from the BHS followed by the extended part.
    pub fn full_cdb(&self, bhs_cdb: &[u8; 16]) -> Vec<u8> {
        let mut cdb = bhs_cdb.to_vec();
        if let Some(e) = self.extended_cdb {
            cdb.extend_from_slice(e);
        }
        cdb
    }

    /// Encodes AHS bytes (padded) for tests and initiator-side tools; `None` when the extended
    /// CDB is too long for the 260-byte CDB limit.
    pub fn encode(&self) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        if let Some(e) = self.extended_cdb {
            if e.is_empty() || 16 + e.len() > MAX_CDB_LEN {
                return None;
            }
            let len = u16::try_from(e.len() + 1).ok()?;
            out.extend_from_slice(&len.to_be_bytes());
            out.push(AhsType::EXTENDED_CDB.0);
            out.push(0);
            out.extend_from_slice(e);
            out.resize((out.len() + 3) & !3, 0);
        }
        if let Some(l) = self.bidi_read_edtl {
            out.extend_from_slice(&[0, 5, AhsType::BIDI_READ_LENGTH.0, 0]);
            out.extend_from_slice(&l.to_be_bytes());
        }
        Some(out)
    }
}

fn bad(reason: &'static str) -> PduError {
    PduError::BadAhs { reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iscsi::pdu::RejectReason;

    #[test]
    fn empty_ahs_is_nothing() {
        assert_eq!(Ahs::decode(&[]), Ok(Ahs::default()));
    }

    #[test]
    fn extended_cdb_for_a_32_byte_cdb() {
        // AHSLength 17 (reserved + 16 bytes), type 1, reserved, bytes 16..32, 3 bytes pad.
        // 3 + 17 = 20 bytes: already a multiple of 4, no padding.
        let mut raw = vec![0x00, 0x11, 0x01, 0x00];
        raw.extend(16u8..32);
        let a = Ahs::decode(&raw).unwrap();
        let want: Vec<u8> = (16u8..32).collect();
        assert_eq!(a.extended_cdb, Some(&want[..]));
        assert_eq!(a.bidi_read_edtl, None);
        let base: [u8; 16] = std::array::from_fn(|i| u8::try_from(i).unwrap());
        assert_eq!(a.full_cdb(&base), (0u8..32).collect::<Vec<_>>());
        assert_eq!(a.encode().unwrap(), raw);
    }

    #[test]
    fn extended_cdb_with_padding_and_bidi_length() {
        // 2 spill-over bytes: AHSLength 3, item 6 bytes -> 8 with padding; then bidi.
        let raw = [
            0x00, 0x03, 0x01, 0x00, 0xaa, 0xbb, 0x00, 0x00, // ECDB
            0x00, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00, 0x00, // bidi 65536
        ];
        let a = Ahs::decode(&raw).unwrap();
        assert_eq!(a.extended_cdb, Some(&[0xaa, 0xbb][..]));
        assert_eq!(a.bidi_read_edtl, Some(65536));
        assert_eq!(a.encode().unwrap(), raw);
    }

    #[test]
    fn malformed_ahs_is_refused() {
        let cases: &[&[u8]] = &[
            &[0x00, 0x05, 0x02, 0x00],                         // truncated item
            &[0x00, 0x05],                                     // truncated header
            &[0x00, 0x03, 0x01, 0x00, 0xaa, 0xbb],             // padding overruns
            &[0x00, 0x01, 0x01, 0x00],                         // empty extended CDB
            &[0x00, 0x03, 0x09, 0x00, 0, 0, 0, 0],             // reserved type
            &[0x00, 0x00, 0x00, 0x00],                         // type 0 is reserved
            &[0x00, 0x01, 0x02, 0x00],                         // bidi length too short
            &[0x00, 0x05, 0x02, 0x00, 0, 0, 0, 1, 0, 0, 0, 0], // bidi with garbage after
        ];
        for raw in cases {
            let err = Ahs::decode(raw).unwrap_err();
            assert!(matches!(err, PduError::BadAhs { .. }), "{raw:?}: {err:?}");
            assert_eq!(err.reject_reason(), Some(RejectReason(0x09)));
        }
        // Two bidi AHS.
        let twice = [
            0x00, 0x05, 0x02, 0x00, 0, 0, 0, 1, 0, 0, 0, 0, //
            0x00, 0x05, 0x02, 0x00, 0, 0, 0, 1, 0, 0, 0, 0,
        ];
        assert!(Ahs::decode(&twice[..12]).is_err());
        let ok = [0x00, 0x05, 0x02, 0x00, 0, 0, 0, 1];
        assert!(Ahs::decode(&ok).is_ok());
        let mut dup = ok.to_vec();
        dup.extend_from_slice(&ok);
        assert!(Ahs::decode(&dup).is_err());
    }

    #[test]
    fn non_iscsi_extension_types_are_skipped() {
        let raw = [
            0x00, 0x02, 0x3c, 0x00, 0xee, 0x00, 0x00, 0x00, // type 60, 2 bytes
            0x00, 0x05, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, // bidi 512
        ];
        let a = Ahs::decode(&raw).unwrap();
        assert_eq!(a.bidi_read_edtl, Some(512));
        assert_eq!(a.extended_cdb, None);
    }

    #[test]
    fn extended_cdb_limit_is_260_bytes() {
        let make = |n: usize| {
            let mut raw = u16::try_from(n + 1).unwrap().to_be_bytes().to_vec();
            raw.extend([1, 0]);
            raw.extend(std::iter::repeat(0x55).take(n));
            raw.resize((raw.len() + 3) & !3, 0);
            raw
        };
        assert!(Ahs::decode(&make(244)).is_ok());
        assert!(Ahs::decode(&make(245)).is_err());
    }
}
