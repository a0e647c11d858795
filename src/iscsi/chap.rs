//! CHAP authentication for the login security stage. RFC 7143 §12.1.3, RFC 1994.
//!
//! The target challenges the initiator (one-way) and, when the initiator sends its own
//! CHAP_I/CHAP_C, answers with the outgoing account (mutual). Challenges are 50 bytes from
//! the kernel's CSPRNG, as Debian's tgt 1.0.85+deb12u1 (CVE-2024-45751) and upstream ≥ 1.0.93.
//! tgt: usr/iscsi/chap.c.

use std::io::Read;

use md5::{Digest, Md5};
use sha1::Sha1;

/// `CHAP_A` algorithm numbers tgt accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChapAlg {
    /// 5: MD5.
    Md5,
    /// 7: SHA-1.
    Sha1,
}

impl ChapAlg {
    /// The first supported algorithm of the initiator's `CHAP_A` list.
    pub fn choose(list: &str) -> Option<Self> {
        list.split(',').find_map(|a| match a {
            "5" => Some(ChapAlg::Md5),
            "7" => Some(ChapAlg::Sha1),
            _ => None,
        })
    }

    /// The `CHAP_A` value.
    pub fn number(self) -> &'static str {
        match self {
            ChapAlg::Md5 => "5",
            ChapAlg::Sha1 => "7",
        }
    }

    /// `H(id || secret || challenge)`.
    pub fn digest(self, id: u8, secret: &[u8], challenge: &[u8]) -> Vec<u8> {
        match self {
            ChapAlg::Md5 => {
                let mut h = Md5::new();
                h.update([id]);
                h.update(secret);
                h.update(challenge);
                h.finalize().to_vec()
            }
            ChapAlg::Sha1 => {
                let mut h = Sha1::new();
                h.update([id]);
                h.update(secret);
                h.update(challenge);
                h.finalize().to_vec()
            }
        }
    }
}

/// Length of the target's challenge. tgt: `CHAP_CHALLENGE_MAX`
pub const CHALLENGE_LEN: usize = 50;
/// Longest challenge accepted from the initiator (RFC 7143 §12.1.3).
pub const MAX_INITIATOR_CHALLENGE: usize = 1024;

/// Fresh challenge bytes from the kernel CSPRNG.
pub fn random_challenge() -> std::io::Result<[u8; CHALLENGE_LEN]> {
    let mut b = [0u8; CHALLENGE_LEN];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(b)
}

/// How a binary CHAP value was written, so the answer uses the same form.
pub use super::text::BinaryEncoding as Encoding;

/// Decodes a `0x…` or `0b…` binary value. RFC 7143 §6.1
pub fn decode(value: &str) -> Option<(Vec<u8>, Encoding)> {
    super::text::parse_binary(value).ok()
}

/// Encodes bytes in the given form with its prefix.
pub fn encode(bytes: &[u8], enc: Encoding) -> String {
    super::text::render_binary(bytes, enc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chap_responses_match_independent_digests() {
        // Expected values computed with Python's hashlib over id || secret || challenge.
        let challenge: Vec<u8> = (0u8..16).collect();
        let d = ChapAlg::Md5.digest(1, b"secret", &challenge);
        assert_eq!(
            encode(&d, Encoding::Hex),
            "0x740e86463bda3a4d7017d6e0fba0699d"
        );
        let d = ChapAlg::Sha1.digest(7, b"secretsecret", &[0xaa; 20]);
        assert_eq!(
            encode(&d, Encoding::Hex),
            "0xab0a4e58ef828d89da73b9beee333a49eac42f46"
        );
    }

    #[test]
    fn algorithm_choice() {
        assert_eq!(ChapAlg::choose("7,5"), Some(ChapAlg::Sha1));
        assert_eq!(ChapAlg::choose("6,5"), Some(ChapAlg::Md5));
        assert_eq!(ChapAlg::choose("1,2"), None);
    }

    #[test]
    fn binary_values() {
        assert_eq!(decode("0x0a0B"), Some((vec![0x0a, 0x0b], Encoding::Hex)));
        assert_eq!(decode("0xabc"), Some((vec![0x0a, 0xbc], Encoding::Hex)));
        assert_eq!(decode("0b/w=="), Some((vec![0xff], Encoding::Base64)));
        assert_eq!(decode("0bAAEC"), Some((vec![0, 1, 2], Encoding::Base64)));
        assert_eq!(decode("abc"), None);
        assert_eq!(decode("0xzz"), None);
        assert_eq!(encode(&[0xff], Encoding::Base64), "0b/w==");
        assert_eq!(encode(&[0, 1, 2], Encoding::Base64), "0bAAEC");
        assert_eq!(encode(&[1, 2], Encoding::Base64), "0bAQI=");
    }

    #[test]
    fn challenge_is_random() {
        assert_ne!(random_challenge().unwrap(), random_challenge().unwrap());
    }
}
