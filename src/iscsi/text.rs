//! Text in Login and Text PDUs: `key=value` pairs, each followed by one NUL. RFC 7143 §6.1
//! (format and value types), §6.2 (negotiation) for what the pairs mean is the login and
//! session code's business, not this module's.
//!
//! Owns the byte format and its limits, the continuation (C bit) bookkeeping on both sides,
//! and the value encodings of §6.1: numbers (decimal, `0x` hex, `0b` base64), binary values
//! (CHAP), booleans, lists and ranges. It must not know any key's meaning.
//!
//! Limits (RFC 7143 §6.1): a key name is at most 63 bytes; a simple value at most 255 bytes
//! "not its encoded representation", which for binary values means the decoded length, and
//! CHAP values may be up to 1024 bytes (§12.1.3), so a binary value (`0x…`/`0b…`) may be
//! as long as 1024 bytes hex-encoded. A list's elements are simple values each.
//! tgt checks none of these (usr/iscsi/iscsid.c `next_key()`); we refuse what the RFC does.

use std::fmt::Write as _;

/// Longest key name. RFC 7143 §6.1 (standard-label)
pub const MAX_KEY_LEN: usize = 63;
/// Longest simple value, decoded. RFC 7143 §6.1
pub const MAX_VALUE_LEN: usize = 255;
/// Longest binary value, decoded (CHAP_C, CHAP_R, CHAP_I). RFC 7143 §12.1.3
pub const MAX_BINARY_LEN: usize = 1024;
/// Most pairs in one text. tgt: `MAX_KEY_VALUE_PAIRS` (usr/iscsi/iscsi_proto.h)
pub const MAX_PAIRS: usize = 8192;
/// Longest text (all PDUs of one continued request) a [`TextCollector`] accepts by default:
/// RFC 7143 §6.1 asks for at least 8192 bytes, and 64 KiB where long authentication items
/// are negotiated.
pub const MAX_TEXT_LEN: usize = 65536;

/// Longest encoded binary element: `0x` and two hex digits per byte.
const MAX_ENCODED_BINARY: usize = 2 + 2 * MAX_BINARY_LEN;

/// Why text or a value was refused. In a Login this is an initiator error (the login layer
/// answers with a Login Response); in a Text Request a protocol error (Reject).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// The last pair is not followed by a NUL.
    #[error("text does not end with a NUL")]
    NotTerminated,
    /// An item has no `=`.
    #[error("item {index} has no '='")]
    MissingEquals {
        /// Position of the item (0-based).
        index: usize,
    },
    /// An item starts with `=`.
    #[error("item {index} has an empty key")]
    EmptyKey {
        /// Position of the item.
        index: usize,
    },
    /// A key name over [`MAX_KEY_LEN`] bytes.
    #[error("key of {len} bytes exceeds {MAX_KEY_LEN}")]
    KeyTooLong {
        /// Bytes in the key.
        len: usize,
    },
    /// A value (or one element of a list) over its limit.
    #[error("value of {key} has an element of {len} bytes, over the limit")]
    ValueTooLong {
        /// The key.
        key: String,
        /// Bytes in the element.
        len: usize,
    },
    /// An item is not UTF-8.
    #[error("item {index} is not UTF-8")]
    NotUtf8 {
        /// Position of the item.
        index: usize,
    },
    /// More than [`MAX_PAIRS`] pairs.
    #[error("more than {MAX_PAIRS} key=value pairs")]
    TooManyPairs,
    /// Continued text grew past the collector's limit.
    #[error("text of {len} bytes exceeds {max}")]
    TooLong {
        /// Bytes it would have had.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not a numerical value (decimal, `0x` hex or `0b` base64 below 2^64). RFC 7143 §6.1
    #[error("{0:?} is not a number")]
    BadNumber(String),
    /// Not a binary value (`0x` hex or `0b` base64). RFC 7143 §6.1
    #[error("{0:?} is not a binary value")]
    BadBinary(String),
}

/// Parses a whole text (a data segment, or continued segments joined): pairs in order.
///
/// Each `key=value` must end with a NUL; the value is everything after the first `=` (it
/// may contain more). Empty items (two NULs in a row) are skipped: some initiators pad the
/// text with NULs, and tgt ignores them too.
// COMPAT: tgt's `next_key()` checks nothing: a last pair without its NUL is silently
// dropped, an item without `=` swallows the next one, and no length is limited. We refuse
// such text (the login layer answers it as an initiator error).
pub fn parse(data: &[u8]) -> Result<Vec<(String, String)>, TextError> {
    let Some(body) = data.strip_suffix(&[0]) else {
        return if data.is_empty() {
            Ok(Vec::new())
        } else {
            Err(TextError::NotTerminated)
        };
    };
    let mut pairs = Vec::new();
    for (index, item) in body.split(|&b| b == 0).enumerate() {
        if item.is_empty() {
            continue;
        }
        if pairs.len() == MAX_PAIRS {
            return Err(TextError::TooManyPairs);
        }
        let item = std::str::from_utf8(item).map_err(|_| TextError::NotUtf8 { index })?;
        let (key, value) = item
            .split_once('=')
            .ok_or(TextError::MissingEquals { index })?;
        if key.is_empty() {
            return Err(TextError::EmptyKey { index });
        }
        if key.len() > MAX_KEY_LEN {
            return Err(TextError::KeyTooLong { len: key.len() });
        }
        if let Some(len) = value.split(',').map(str::len).find(|&l| l > MAX_VALUE_LEN) {
            let binary = is_binary(value) && value.len() <= MAX_ENCODED_BINARY;
            if !binary {
                return Err(TextError::ValueTooLong {
                    key: key.to_owned(),
                    len,
                });
            }
        }
        pairs.push((key.to_owned(), value.to_owned()));
    }
    Ok(pairs)
}

/// The first value of `key`.
pub fn find<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Appends `key=value` and its NUL.
pub fn render_into(out: &mut Vec<u8>, key: &str, value: &str) {
    out.reserve(key.len() + value.len() + 2);
    out.extend_from_slice(key.as_bytes());
    out.push(b'=');
    out.extend_from_slice(value.as_bytes());
    out.push(0);
}

/// Renders pairs in order, each followed by a NUL.
pub fn render<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in pairs {
        render_into(&mut out, k.as_ref(), v.as_ref());
    }
    out
}

/// Splits rendered text into data segments of at most `max` bytes (the peer's
/// MaxRecvDataSegmentLength) for the continuation mechanism: every piece but the last goes
/// out with C=1 (and F=0 in a Text Response). Pairs may straddle pieces (RFC 7143 §6.1).
/// Empty text gives one empty piece; a `max` of 0 is taken as 1.
pub fn chunks(text: &[u8], max: usize) -> impl Iterator<Item = (&[u8], bool)> {
    let max = max.max(1);
    let count = text.len().div_ceil(max).max(1);
    (0..count).map(move |i| {
        let start = i * max;
        let end = (start + max).min(text.len());
        (&text[start..end], i + 1 < count)
    })
}

/// Joins the data segments of a continued request (C=1 … C=0) into one text, refusing to
/// grow past a limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextCollector {
    buf: Vec<u8>,
    max: usize,
}

impl TextCollector {
    /// A collector that holds at most `max` bytes ([`MAX_TEXT_LEN`] is a good default).
    pub fn new(max: usize) -> Self {
        Self {
            buf: Vec::new(),
            max,
        }
    }

    /// Appends one PDU's data segment.
    pub fn push(&mut self, segment: &[u8]) -> Result<(), TextError> {
        let len = self.buf.len().saturating_add(segment.len());
        if len > self.max {
            return Err(TextError::TooLong { len, max: self.max });
        }
        self.buf.extend_from_slice(segment);
        Ok(())
    }

    /// Bytes collected so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing was collected.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The joined text; the collector is empty afterwards.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }
}

/// `Yes` or `No`. RFC 7143 §6.1 (boolean-value)
pub fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "Yes" => Some(true),
        "No" => Some(false),
        _ => None,
    }
}

/// The values of a list-of-values, in order. RFC 7143 §6.1
pub fn split_list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',')
}

/// A numerical value: decimal, `0x` hexadecimal or `0b` base64, below 2^64. RFC 7143 §6.1
///
/// Note tgt reads operational numbers with `strtol(s, NULL, 0)` (a leading 0 means octal,
/// trailing garbage is ignored); a login layer matching tgt byte for byte uses that instead.
pub fn parse_number(value: &str) -> Result<u64, TextError> {
    let bad = || TextError::BadNumber(value.to_owned());
    if let Some(hex) = strip_prefix2(value, "0x", "0X") {
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let digits = hex.trim_start_matches('0');
        if digits.len() > 16 {
            return Err(bad());
        }
        return if digits.is_empty() {
            Ok(0)
        } else {
            u64::from_str_radix(digits, 16).map_err(|_| bad())
        };
    }
    if let Some(b64) = strip_prefix2(value, "0b", "0B") {
        let bytes = base64_decode(b64).ok_or_else(bad)?;
        let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
        let significant = &bytes[first..];
        if significant.len() > 8 {
            return Err(bad());
        }
        let mut be = [0u8; 8];
        be[8 - significant.len()..].copy_from_slice(significant);
        return Ok(u64::from_be_bytes(be));
    }
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    value.parse().map_err(|_| bad())
}

/// A numeric range `low~high` with `low <= high`. RFC 7143 §6.1 (numeric-range)
pub fn parse_range(value: &str) -> Result<(u64, u64), TextError> {
    let (lo, hi) = value
        .split_once('~')
        .ok_or_else(|| TextError::BadNumber(value.to_owned()))?;
    let (lo, hi) = (parse_number(lo)?, parse_number(hi)?);
    if lo > hi {
        return Err(TextError::BadNumber(value.to_owned()));
    }
    Ok((lo, hi))
}

/// How a binary value was written; an answer uses the same form (tgt: CHAP_R).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryEncoding {
    /// `0x` hexadecimal.
    Hex,
    /// `0b` base64.
    Base64,
}

/// A binary value: `0x`/`0X` hex (an odd digit count has an implied leading 0, RFC 7143
/// §6.1 "(n+1)/2" bytes) or `0b`/`0B` base64 (RFC 4648). At most [`MAX_BINARY_LEN`] bytes.
pub fn parse_binary(value: &str) -> Result<(Vec<u8>, BinaryEncoding), TextError> {
    let bad = || TextError::BadBinary(value.to_owned());
    let (bytes, enc) = if let Some(hex) = strip_prefix2(value, "0x", "0X") {
        (hex_decode(hex).ok_or_else(bad)?, BinaryEncoding::Hex)
    } else if let Some(b64) = strip_prefix2(value, "0b", "0B") {
        (base64_decode(b64).ok_or_else(bad)?, BinaryEncoding::Base64)
    } else {
        return Err(bad());
    };
    if bytes.is_empty() || bytes.len() > MAX_BINARY_LEN {
        return Err(bad());
    }
    Ok((bytes, enc))
}

/// Renders a binary value with its prefix: `0x` and lowercase hex, or `0b` and padded base64.
pub fn render_binary(bytes: &[u8], enc: BinaryEncoding) -> String {
    match enc {
        BinaryEncoding::Hex => {
            let mut s = String::with_capacity(2 + 2 * bytes.len());
            s.push_str("0x");
            for b in bytes {
                // Writing to a String cannot fail.
                let _ = write!(s, "{b:02x}");
            }
            s
        }
        BinaryEncoding::Base64 => {
            let mut s = String::from("0b");
            s.push_str(&base64_encode(bytes));
            s
        }
    }
}

fn is_binary(value: &str) -> bool {
    ["0x", "0X", "0b", "0B"]
        .iter()
        .any(|p| value.starts_with(p))
}

fn strip_prefix2<'a>(value: &'a str, a: &str, b: &str) -> Option<&'a str> {
    value.strip_prefix(a).or_else(|| value.strip_prefix(b))
}

fn hex_decode(hex: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = hex
        .bytes()
        .map(|c| {
            char::from(c)
                .to_digit(16)
                .and_then(|d| u8::try_from(d).ok())
        })
        .collect::<Option<_>>()?;
    if digits.is_empty() {
        return None;
    }
    // An odd count has an implied leading zero digit.
    let lead = digits.len() % 2;
    let mut out = Vec::with_capacity(digits.len().div_ceil(2));
    if lead == 1 {
        out.push(digits[0]);
    }
    out.extend(digits[lead..].chunks_exact(2).map(|p| (p[0] << 4) | p[1]));
    Some(out)
}

/// RFC 4648 §4 alphabet.
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// RFC 4648 base64 with `=` padding.
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let sextets = [
            b[0] >> 2,
            ((b[0] & 0x03) << 4) | (b[1] >> 4),
            ((b[1] & 0x0f) << 2) | (b[2] >> 6),
            b[2] & 0x3f,
        ];
        // 1 input byte gives 2 characters, 2 give 3, 3 give 4; `=` fills the quad.
        for (i, s) in sextets.iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(B64[usize::from(*s)]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// RFC 4648 base64: the standard alphabet, with or without `=` padding (at most two, only
/// at the end). `None` for anything else, or an empty string.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let body = s.trim_end_matches('=');
    let pad = s.len() - body.len();
    if body.is_empty() || pad > 2 || (pad > 0 && s.len() % 4 != 0) || body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for c in body.bytes() {
        let v = B64.iter().position(|&x| x == c)?;
        acc = (acc << 6) | u32::try_from(v).ok()?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits).to_be_bytes()[3]);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn parses_a_login_text() {
        let data = b"InitiatorName=iqn.1993-08.org.debian:01:abc\0SessionType=Normal\0\
                     HeaderDigest=None,CRC32C\0X-com.example.x=a=b\0";
        let p = parse(data).unwrap();
        assert_eq!(
            p,
            pairs(&[
                ("InitiatorName", "iqn.1993-08.org.debian:01:abc"),
                ("SessionType", "Normal"),
                ("HeaderDigest", "None,CRC32C"),
                ("X-com.example.x", "a=b"),
            ])
        );
        assert_eq!(find(&p, "SessionType"), Some("Normal"));
        assert_eq!(find(&p, "TargetName"), None);
        // Empty values are values.
        assert_eq!(
            parse(b"TargetAlias=\0").unwrap(),
            pairs(&[("TargetAlias", "")])
        );
    }

    #[test]
    fn empty_text_and_padding_nuls() {
        assert_eq!(parse(b""), Ok(Vec::new()));
        assert_eq!(parse(b"\0\0\0"), Ok(Vec::new()));
        assert_eq!(parse(b"A=1\0\0\0"), Ok(pairs(&[("A", "1")])));
        assert_eq!(parse(b"A=1\0\0B=2\0"), Ok(pairs(&[("A", "1"), ("B", "2")])));
    }

    #[test]
    fn malformed_text_is_refused() {
        assert_eq!(parse(b"A=1"), Err(TextError::NotTerminated));
        assert_eq!(parse(b"A=1\0B"), Err(TextError::NotTerminated));
        assert_eq!(
            parse(b"A=1\0NoEquals\0"),
            Err(TextError::MissingEquals { index: 1 })
        );
        assert_eq!(parse(b"=v\0"), Err(TextError::EmptyKey { index: 0 }));
        assert_eq!(parse(b"A=\xff\xfe\0"), Err(TextError::NotUtf8 { index: 0 }));
    }

    #[test]
    fn key_limit_is_63_bytes() {
        let ok = format!("{}=v\0", "K".repeat(63));
        assert!(parse(ok.as_bytes()).is_ok());
        let long = format!("{}=v\0", "K".repeat(64));
        assert_eq!(
            parse(long.as_bytes()),
            Err(TextError::KeyTooLong { len: 64 })
        );
    }

    #[test]
    fn value_limit_is_255_bytes_per_element() {
        let ok = format!("TargetAlias={}\0", "a".repeat(255));
        assert!(parse(ok.as_bytes()).is_ok());
        let long = format!("TargetAlias={}\0", "a".repeat(256));
        assert_eq!(
            parse(long.as_bytes()),
            Err(TextError::ValueTooLong {
                key: "TargetAlias".into(),
                len: 256
            })
        );
        // A list may be longer than 255 as long as each element fits.
        let list = format!("K={},{}\0", "a".repeat(200), "b".repeat(200));
        assert!(parse(list.as_bytes()).is_ok());
        // Binary values: 1024 bytes hex-encoded is the most.
        let chap = format!("CHAP_C=0x{}\0", "ab".repeat(1024));
        assert!(parse(chap.as_bytes()).is_ok());
        let chap = format!("CHAP_C=0x{}\0", "ab".repeat(1025));
        assert!(matches!(
            parse(chap.as_bytes()),
            Err(TextError::ValueTooLong { .. })
        ));
    }

    #[test]
    fn pair_count_is_bounded() {
        let many = b"A=1\0".repeat(MAX_PAIRS);
        assert_eq!(parse(&many).unwrap().len(), MAX_PAIRS);
        let more = b"A=1\0".repeat(MAX_PAIRS + 1);
        assert_eq!(parse(&more), Err(TextError::TooManyPairs));
    }

    #[test]
    fn render_writes_nul_terminated_pairs() {
        assert_eq!(
            render(&[
                ("TargetName", "iqn.x"),
                ("TargetAddress", "10.0.0.1:3260,1")
            ]),
            b"TargetName=iqn.x\0TargetAddress=10.0.0.1:3260,1\0"
        );
        assert_eq!(render::<&str, &str>(&[]), b"");
        let mut out = b"A=1\0".to_vec();
        render_into(&mut out, "B", "");
        assert_eq!(out, b"A=1\0B=\0");
        let p = pairs(&[("K", "v=w"), ("L", "")]);
        assert_eq!(parse(&render(&p)).unwrap(), p);
    }

    #[test]
    fn chunks_mark_all_but_the_last_as_continued() {
        let text = b"TargetName=iqn.a\0TargetName=iqn.b\0"; // 34 bytes
        let c: Vec<_> = chunks(text, 16).collect();
        assert_eq!(
            c,
            vec![
                (&b"TargetName=iqn.a"[..], true),
                (&b"\0TargetName=iqn."[..], true),
                (&b"b\0"[..], false),
            ]
        );
        assert_eq!(
            chunks(text, 34).collect::<Vec<_>>(),
            vec![(&text[..], false)]
        );
        assert_eq!(chunks(text, 17).count(), 2);
        assert_eq!(
            chunks(b"", 8192).collect::<Vec<_>>(),
            vec![(&b""[..], false)]
        );
        assert_eq!(chunks(b"ab", 0).count(), 2);
    }

    #[test]
    fn collector_joins_continued_segments_within_a_limit() {
        let mut c = TextCollector::new(16);
        assert!(c.is_empty());
        c.push(b"Send").unwrap();
        c.push(b"Targets=").unwrap();
        c.push(b"All\0").unwrap();
        assert_eq!(c.len(), 16);
        assert_eq!(c.push(b"x"), Err(TextError::TooLong { len: 17, max: 16 }));
        assert_eq!(c.take(), b"SendTargets=All\0");
        let mut c = TextCollector::new(MAX_TEXT_LEN);
        for seg in chunks(b"SendTargets=All\0", 5) {
            c.push(seg.0).unwrap();
        }
        assert_eq!(parse(&c.take()).unwrap(), pairs(&[("SendTargets", "All")]));
        assert!(c.is_empty());
    }

    #[test]
    fn numbers_in_every_encoding() {
        assert_eq!(parse_number("0"), Ok(0));
        assert_eq!(parse_number("8192"), Ok(8192));
        assert_eq!(parse_number("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_number("0x2000"), Ok(8192));
        assert_eq!(parse_number("0X00ff"), Ok(255));
        assert_eq!(
            parse_number("0x0000000000000000ffffffffffffffff"),
            Ok(u64::MAX)
        );
        assert_eq!(parse_number("0x0"), Ok(0));
        assert_eq!(parse_number("0bIAA="), Ok(8192)); // 0x20 0x00
        assert_eq!(parse_number("0BAAAB"), Ok(1));
        for bad in [
            "",
            "-1",
            "+1",
            "12a",
            " 1",
            "18446744073709551616",
            "0x",
            "0x1g",
            "0x10000000000000000",
            "0b",
            "0b*",
            "0bAQIDBAUGBwgJ", // 9 bytes
            "Yes",
        ] {
            assert!(parse_number(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_range("1~0x10"), Ok((1, 16)));
        assert!(parse_range("5~1").is_err());
        assert!(parse_range("5").is_err());
    }

    #[test]
    fn booleans_and_lists() {
        assert_eq!(parse_bool("Yes"), Some(true));
        assert_eq!(parse_bool("No"), Some(false));
        assert_eq!(parse_bool("yes"), None);
        assert_eq!(
            split_list("CRC32C,None").collect::<Vec<_>>(),
            ["CRC32C", "None"]
        );
    }

    // RFC 4648 §10 test vectors.
    #[test]
    fn base64_rfc4648_vectors() {
        let v: [(&[u8], &str); 7] = [
            (b"", ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"fooba", "Zm9vYmE="),
            (b"foobar", "Zm9vYmFy"),
        ];
        for (plain, enc) in v {
            assert_eq!(base64_encode(plain), enc);
            if !plain.is_empty() {
                assert_eq!(base64_decode(enc).as_deref(), Some(plain));
                // Unpadded input is accepted too.
                assert_eq!(
                    base64_decode(enc.trim_end_matches('=')).as_deref(),
                    Some(plain)
                );
            }
        }
        assert_eq!(base64_encode(&[0xfb, 0xff]), "+/8=");
        assert_eq!(base64_decode("+/8="), Some(vec![0xfb, 0xff]));
        for bad in ["", "=", "Z", "Zg===", "Z=g=", "Zm9v!", "Zg=", "Zm9vY"] {
            assert_eq!(base64_decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn binary_values_round_trip_in_both_encodings() {
        assert_eq!(
            parse_binary("0x0a0B"),
            Ok((vec![0x0a, 0x0b], BinaryEncoding::Hex))
        );
        assert_eq!(
            parse_binary("0Xabc"),
            Ok((vec![0x0a, 0xbc], BinaryEncoding::Hex))
        );
        assert_eq!(
            parse_binary("0bAAEC"),
            Ok((vec![0, 1, 2], BinaryEncoding::Base64))
        );
        for bad in ["", "0x", "0b", "abc", "0xzz", "0b!!!!", "1234"] {
            assert!(parse_binary(bad).is_err(), "{bad:?}");
        }
        let max = format!("0x{}", "00".repeat(MAX_BINARY_LEN));
        assert_eq!(parse_binary(&max).unwrap().0.len(), 1024);
        let over = format!("0x{}", "00".repeat(MAX_BINARY_LEN + 1));
        assert!(parse_binary(&over).is_err());

        assert_eq!(
            render_binary(&[0xde, 0xad, 0x01], BinaryEncoding::Hex),
            "0xdead01"
        );
        assert_eq!(render_binary(&[0xff], BinaryEncoding::Base64), "0b/w==");
        let bytes: Vec<u8> = (0u8..=255).collect();
        for enc in [BinaryEncoding::Hex, BinaryEncoding::Base64] {
            let s = render_binary(&bytes, enc);
            assert_eq!(parse_binary(&s), Ok((bytes.clone(), enc)));
        }
    }
}
