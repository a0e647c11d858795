//! iSCSI session keys: names, defaults, ranges and how tgt converts them to and from text.
//!
//! One table drives `tgtadm --mode target --op update/show` now and login negotiation
//! later. Sources: RFC 7143 §13, tgt `usr/iscsi/param.c` `session_keys[]`,
//! `usr/iscsi/target.c` `iscsi_target_create()` (per-target defaults).

use crate::mgmt::params::{strtol, truncate_to_u32};

/// `DIGEST_NONE` bit. tgt: usr/iscsi/iscsid.h
pub const DIGEST_NONE: u32 = 1 << 0;
/// `DIGEST_CRC32C` bit.
pub const DIGEST_CRC32C: u32 = 1 << 1;
/// Both digests.
pub const DIGEST_ALL: u32 = DIGEST_NONE | DIGEST_CRC32C;

/// How a key's value is converted, checked and negotiated. tgt: `struct iscsi_key_ops`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Number; result is the minimum of both offers.
    Minimum,
    /// Number; 0 means "no limit"; result is the minimum of the non-zero offers.
    MinOrZero,
    /// Number; result is the maximum.
    Maximum,
    /// `Yes`/`No`; result is the OR.
    Or,
    /// `Yes`/`No`; result is the AND.
    And,
    /// `None`/`CRC32C` lists.
    Digest,
    /// Marker interval: no text parser in tgt.
    Marker,
}

/// One session key. tgt: `struct iscsi_key`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// Key name as sent on the wire and shown by tgtadm.
    pub name: &'static str,
    /// RFC default (used when neither side states the key).
    pub rfc_default: u32,
    /// Smallest allowed value.
    pub min: u32,
    /// Largest allowed value.
    pub max: u32,
    /// Conversion and negotiation rule.
    pub kind: KeyKind,
    /// A target's default offer (what `target show --tid` prints for a fresh target).
    pub target_default: u32,
}

/// Index of each key in [`KEYS`]; same order as tgt's `enum iscsi_param`.
pub mod idx {
    /// MaxRecvDataSegmentLength
    pub const MAX_RECV_DLENGTH: usize = 0;
    /// HeaderDigest
    pub const HDRDGST: usize = 1;
    /// DataDigest
    pub const DATADGST: usize = 2;
    /// InitialR2T
    pub const INITIAL_R2T: usize = 3;
    /// MaxOutstandingR2T
    pub const MAX_R2T: usize = 4;
    /// ImmediateData
    pub const IMM_DATA: usize = 5;
    /// FirstBurstLength
    pub const FIRST_BURST: usize = 6;
    /// MaxBurstLength
    pub const MAX_BURST: usize = 7;
    /// DataPDUInOrder
    pub const PDU_INORDER: usize = 8;
    /// DataSequenceInOrder
    pub const DATASEQ_INORDER: usize = 9;
    /// ErrorRecoveryLevel
    pub const ERL: usize = 10;
    /// IFMarker
    pub const IFMARKER: usize = 11;
    /// OFMarker
    pub const OFMARKER: usize = 12;
    /// DefaultTime2Wait
    pub const TIME2WAIT: usize = 13;
    /// DefaultTime2Retain
    pub const TIME2RETAIN: usize = 14;
    /// OFMarkInt
    pub const OFMARKINT: usize = 15;
    /// IFMarkInt
    pub const IFMARKINT: usize = 16;
    /// MaxConnections
    pub const MAX_CONNECTIONS: usize = 17;
    /// RDMAExtensions
    pub const RDMA_EXTENSIONS: usize = 18;
    /// TargetRecvDataSegmentLength
    pub const TARGET_RDSL: usize = 19;
    /// InitiatorRecvDataSegmentLength
    pub const INITIATOR_RDSL: usize = 20;
    /// MaxOutstandingUnexpectedPDUs
    pub const MAX_OUTST_PDU: usize = 21;
    /// MaxXmitDataSegmentLength (local)
    pub const MAX_XMIT_DLENGTH: usize = 22;
    /// MaxQueueCmd (local)
    pub const MAX_QUEUE_CMD: usize = 23;
}

/// Number of session keys.
pub const NR_KEYS: usize = 24;

const fn key(
    name: &'static str,
    rfc_default: u32,
    min: u32,
    max: u32,
    kind: KeyKind,
    target_default: u32,
) -> Key {
    Key {
        name,
        rfc_default,
        min,
        max,
        kind,
        target_default,
    }
}

/// The session keys in tgt's order (the order `target show --tid` prints them).
pub const KEYS: [Key; NR_KEYS] = [
    key(
        "MaxRecvDataSegmentLength",
        8192,
        512,
        16_777_215,
        KeyKind::Minimum,
        8192,
    ),
    key(
        "HeaderDigest",
        DIGEST_NONE,
        DIGEST_NONE,
        DIGEST_ALL,
        KeyKind::Digest,
        DIGEST_NONE,
    ),
    key(
        "DataDigest",
        DIGEST_NONE,
        DIGEST_NONE,
        DIGEST_ALL,
        KeyKind::Digest,
        DIGEST_NONE,
    ),
    key("InitialR2T", 1, 0, 1, KeyKind::Or, 1),
    key("MaxOutstandingR2T", 1, 1, 65535, KeyKind::Minimum, 1),
    key("ImmediateData", 1, 0, 1, KeyKind::And, 1),
    key(
        "FirstBurstLength",
        65536,
        512,
        16_777_215,
        KeyKind::Minimum,
        65536,
    ),
    key(
        "MaxBurstLength",
        262_144,
        512,
        16_777_215,
        KeyKind::Minimum,
        262_144,
    ),
    key("DataPDUInOrder", 1, 0, 1, KeyKind::Or, 1),
    key("DataSequenceInOrder", 1, 0, 1, KeyKind::Or, 1),
    key("ErrorRecoveryLevel", 0, 0, 2, KeyKind::Minimum, 0),
    key("IFMarker", 0, 0, 1, KeyKind::And, 0),
    key("OFMarker", 0, 0, 1, KeyKind::And, 0),
    key("DefaultTime2Wait", 2, 0, 3600, KeyKind::Maximum, 2),
    key("DefaultTime2Retain", 20, 0, 3600, KeyKind::Minimum, 20),
    key("OFMarkInt", 2048, 1, 65535, KeyKind::Marker, 2048),
    key("IFMarkInt", 2048, 1, 65535, KeyKind::Marker, 2048),
    key("MaxConnections", 1, 1, 65535, KeyKind::Minimum, 1),
    key("RDMAExtensions", 0, 0, 1, KeyKind::And, 1),
    key(
        "TargetRecvDataSegmentLength",
        8192,
        512,
        16_777_215,
        KeyKind::Minimum,
        262_144,
    ),
    key(
        "InitiatorRecvDataSegmentLength",
        8192,
        512,
        16_777_215,
        KeyKind::Minimum,
        262_144,
    ),
    key(
        "MaxOutstandingUnexpectedPDUs",
        0,
        2,
        u32::MAX,
        KeyKind::MinOrZero,
        0,
    ),
    key(
        "MaxXmitDataSegmentLength",
        8192,
        512,
        16_777_215,
        KeyKind::Minimum,
        8192,
    ),
    key("MaxQueueCmd", 128, 1, 512, KeyKind::Minimum, 128),
];

/// Finds a key by name, ignoring case as tgt's `strcasecmp` lookup does.
pub fn index_by_name(name: &str) -> Option<usize> {
    KEYS.iter().position(|k| k.name.eq_ignore_ascii_case(name))
}

/// A target's default session parameters.
pub fn target_defaults() -> [u32; NR_KEYS] {
    KEYS.map(|k| k.target_default)
}

/// Converts and range-checks a value from `tgtadm --name K --value V`.
/// `None` means `invalid request`. `Some(None)` means accepted without a value to store
/// (the marker intervals, which tgt cannot parse).
/// tgt: usr/iscsi/target.c `iscsi_session_param_update()`
pub fn parse_value(i: usize, s: &str) -> Option<Option<u32>> {
    let k = KEYS.get(i)?;
    if k.kind == KeyKind::Marker {
        // COMPAT: tgt has no parser for the marker intervals and stores an uninitialised
        // value; we accept the request and keep the current value.
        return Some(None);
    }
    let mut v = text_to_value(i, s)?;
    in_range(i, &mut v).then_some(Some(v))
}

/// Text to value with tgt's converters (numbers `strtol` base 0 truncated to 32 bits,
/// `Yes`/`No`, digest lists); `None` when the text is no value of the key. The marker
/// intervals have no converter in tgt and read as 0. tgt: `param_str_to_val()`
pub fn text_to_value(i: usize, s: &str) -> Option<u32> {
    match KEYS.get(i)?.kind {
        KeyKind::Minimum | KeyKind::Maximum | KeyKind::MinOrZero => {
            Some(truncate_to_u32(strtol(s, 0).0))
        }
        KeyKind::Or | KeyKind::And => match s {
            "Yes" => Some(1),
            "No" => Some(0),
            _ => None,
        },
        KeyKind::Digest => parse_digest(s),
        KeyKind::Marker => Some(0),
    }
}

/// The range check of numeric keys; `false` means the value is refused.
/// tgt: `param_check_val()`
pub fn in_range(i: usize, v: &mut u32) -> bool {
    let Some(k) = KEYS.get(i) else { return false };
    match k.kind {
        KeyKind::Minimum | KeyKind::Maximum => (k.min..=k.max).contains(v),
        KeyKind::MinOrZero => *v == 0 || (k.min..=k.max).contains(v),
        _ => true,
    }
}

/// `None`/`CRC32C` list; each item is prefix-compared, as tgt's `digest_str_to_val()`.
fn parse_digest(s: &str) -> Option<u32> {
    let mut v = DIGEST_NONE;
    for item in s.split(',') {
        if item.starts_with("None") {
            v |= DIGEST_NONE;
        } else if item.starts_with("CRC32C") {
            v |= DIGEST_CRC32C;
        } else {
            return None;
        }
    }
    Some(v)
}

/// Renders a value as `tgtadm --op show` and login responses print it.
/// tgt: `param_val_to_str()`
pub fn render_value(i: usize, v: u32) -> String {
    match KEYS[i].kind {
        KeyKind::Minimum | KeyKind::Maximum | KeyKind::MinOrZero => v.to_string(),
        KeyKind::Or | KeyKind::And => match v {
            0 => "No".into(),
            1 => "Yes".into(),
            _ => String::new(),
        },
        KeyKind::Digest => {
            if v & DIGEST_CRC32C != 0 {
                "CRC32C".into()
            } else if v & DIGEST_NONE != 0 {
                "None".into()
            } else {
                String::new()
            }
        }
        KeyKind::Marker => if v == 0 { "Irrelevant" } else { "Reject" }.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_ignores_case() {
        assert_eq!(index_by_name("maxrecvdatasegmentlength"), Some(0));
        assert_eq!(index_by_name("MaxQueueCmd"), Some(idx::MAX_QUEUE_CMD));
        assert_eq!(index_by_name("Bogus"), None);
    }

    #[test]
    fn numbers_are_range_checked_after_c_truncation() {
        assert_eq!(parse_value(0, "65536"), Some(Some(65536)));
        assert_eq!(parse_value(0, "100"), None);
        assert_eq!(parse_value(0, "0x1000"), Some(Some(4096)));
        assert_eq!(parse_value(0, "abc"), None);
        assert_eq!(parse_value(0, "4294967808"), Some(Some(512)));
        assert_eq!(parse_value(idx::MAX_OUTST_PDU, "0"), Some(Some(0)));
        assert_eq!(parse_value(idx::MAX_OUTST_PDU, "1"), None);
        assert_eq!(parse_value(idx::MAX_OUTST_PDU, "-1"), Some(Some(u32::MAX)));
        assert_eq!(parse_value(idx::MAX_QUEUE_CMD, "513"), None);
    }

    #[test]
    fn booleans_and_digests() {
        assert_eq!(parse_value(idx::INITIAL_R2T, "No"), Some(Some(0)));
        assert_eq!(parse_value(idx::INITIAL_R2T, "no"), None);
        assert_eq!(
            parse_value(idx::HDRDGST, "None,CRC32C"),
            Some(Some(DIGEST_ALL))
        );
        assert_eq!(parse_value(idx::HDRDGST, "CRC32"), None);
        assert_eq!(render_value(idx::HDRDGST, DIGEST_ALL), "CRC32C");
        assert_eq!(render_value(idx::OFMARKINT, 2048), "Reject");
    }
}
