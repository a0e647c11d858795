//! CRC32C (Castagnoli), the iSCSI header and data digest. RFC 7143 §13.1 (generator
//! 0x11EDC6F41), test vectors from RFC 3720 Appendix B.4.
//!
//! On x86-64 CPUs with SSE4.2 (checked once at run time) the `crc32` instruction runs three
//! independent streams at a time and the partial results are combined with a precomputed
//! "append zero bytes" table; elsewhere a portable slicing-by-8 table does the work. Both
//! paths give identical results, which the tests check.
//!
//! The values here are the finished CRC (initial value all ones, final complement), the
//! form RFC 3720 B.4 lists and `crc32c_append` chains. How the 32 bits go on the wire is
//! the caller's business (iSCSI: least significant byte first, `iscsi::pdu::digest`).

/// The reflected Castagnoli polynomial (0x1EDC6F41 bit-reversed).
const POLY: u32 = 0x82f6_3b78;

/// Bytes per stream in one round of the three-stream hardware loop. The combine costs about
/// as much as hashing a few dozen bytes, so blocks of 1 KiB keep it below 3%.
const BLOCK: usize = 1024;

/// The CRC32C of `data`.
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c_append(0, data)
}

/// Continues a CRC: `crc32c_append(crc32c(a), b) == crc32c(a ++ b)`.
pub fn crc32c_append(crc: u32, data: &[u8]) -> u32 {
    !update(!crc, data)
}

/// Runs the raw CRC register (no complements) over `data`.
fn update(reg: u32, data: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if let Some(hw) = hw::Sse42::detect() {
        return hw.update(reg, data);
    }
    update_portable(reg, data)
}

/// Slicing-by-8 tables: `TABLES[0]` is the classic byte table, `TABLES[k][b]` advances the
/// contribution of byte `b` by `k` more bytes.
static TABLES: [[u32; 256]; 8] = make_tables();

const fn make_tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    // Counters are u32 because const fn has no `From`; widening to usize never truncates.
    let mut i: u32 = 0;
    while i < 256 {
        let mut crc = i;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
            bit += 1;
        }
        t[0][i as usize] = crc;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            i += 1;
        }
        k += 1;
    }
    t
}

/// The portable path: eight bytes per step through the slicing tables.
fn update_portable(mut reg: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let lo = (reg ^ u32::from_le_bytes([c[0], c[1], c[2], c[3]])).to_le_bytes();
        reg = TABLES[7][usize::from(lo[0])]
            ^ TABLES[6][usize::from(lo[1])]
            ^ TABLES[5][usize::from(lo[2])]
            ^ TABLES[4][usize::from(lo[3])]
            ^ TABLES[3][usize::from(c[4])]
            ^ TABLES[2][usize::from(c[5])]
            ^ TABLES[1][usize::from(c[6])]
            ^ TABLES[0][usize::from(c[7])];
    }
    for &b in chunks.remainder() {
        reg = update_byte(reg, b);
    }
    reg
}

fn update_byte(reg: u32, b: u8) -> u32 {
    let idx = (reg ^ u32::from(b)).to_le_bytes()[0];
    TABLES[0][usize::from(idx)] ^ (reg >> 8)
}

/// `SHIFT[k][b]`: the register after [`BLOCK`] zero bytes, starting from `b << 8k`. XOR-ing
/// the four lookups of a register's bytes advances it past a block of zeros, which is how
/// the three hardware streams are stitched back together.
#[cfg(any(target_arch = "x86_64", test))]
static SHIFT: [[u32; 256]; 4] = make_shift_table(BLOCK);

/// A linear map on the 32-bit register as the images of its 32 unit vectors.
type Gf2Matrix = [u32; 32];

const fn gf2_apply(m: &Gf2Matrix, v: u32) -> u32 {
    let mut out = 0;
    let mut i = 0;
    while i < 32 {
        if v & (1 << i) != 0 {
            out ^= m[i];
        }
        i += 1;
    }
    out
}

/// `a ∘ b`: first `b`, then `a`.
const fn gf2_compose(a: &Gf2Matrix, b: &Gf2Matrix) -> Gf2Matrix {
    let mut out = [0u32; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = gf2_apply(a, b[i]);
        i += 1;
    }
    out
}

#[cfg(any(target_arch = "x86_64", test))]
const fn make_shift_table(zero_bytes: usize) -> [[u32; 256]; 4] {
    // One zero byte: eight register steps of the bitwise CRC.
    let mut one = [0u32; 32];
    let mut i = 0;
    while i < 32 {
        let mut r = 1u32 << i;
        let mut bit = 0;
        while bit < 8 {
            r = if r & 1 == 1 { (r >> 1) ^ POLY } else { r >> 1 };
            bit += 1;
        }
        one[i] = r;
        i += 1;
    }
    // `zero_bytes` of them, by square and multiply.
    let mut result = [0u32; 32];
    let mut i = 0;
    while i < 32 {
        result[i] = 1 << i;
        i += 1;
    }
    let mut base = one;
    let mut n = zero_bytes;
    while n > 0 {
        if n & 1 == 1 {
            result = gf2_compose(&base, &result);
        }
        base = gf2_compose(&base, &base);
        n >>= 1;
    }
    let mut t = [[0u32; 256]; 4];
    let mut k = 0;
    while k < 4 {
        let mut b: u32 = 0;
        while b < 256 {
            t[k][b as usize] = gf2_apply(&result, b << (8 * k));
            b += 1;
        }
        k += 1;
    }
    t
}

/// Advances a register past [`BLOCK`] zero bytes.
#[cfg(any(target_arch = "x86_64", test))]
fn shift_block(reg: u32) -> u32 {
    let b = reg.to_le_bytes();
    SHIFT[0][usize::from(b[0])]
        ^ SHIFT[1][usize::from(b[1])]
        ^ SHIFT[2][usize::from(b[2])]
        ^ SHIFT[3][usize::from(b[3])]
}

#[cfg(target_arch = "x86_64")]
mod hw {
    use super::{shift_block, BLOCK};
    use std::arch::asm;

    /// Proof that this CPU has SSE4.2: only [`Sse42::detect`] makes one.
    #[derive(Debug, Clone, Copy)]
    pub(super) struct Sse42(());

    impl Sse42 {
        /// The capability, when the CPU has it (std caches the CPUID answer).
        pub(super) fn detect() -> Option<Self> {
            std::is_x86_feature_detected!("sse4.2").then_some(Self(()))
        }

        fn crc_u64(self, reg: u64, word: u64) -> u64 {
            let mut reg = reg;
            // SAFETY: `self` exists only after `detect` saw SSE4.2, so `crc32` is defined on
            // this CPU; it reads and writes only the two registers named, no memory or stack.
            unsafe {
                asm!("crc32 {r}, {w}", r = inout(reg) reg, w = in(reg) word,
                     options(pure, nomem, nostack, preserves_flags));
            }
            reg
        }

        fn crc_u8(self, reg: u32, byte: u8) -> u32 {
            let mut reg = reg;
            // SAFETY: as in `crc_u64`: SSE4.2 is present, registers only.
            unsafe {
                asm!("crc32 {r:e}, {b}", r = inout(reg) reg, b = in(reg_byte) byte,
                     options(pure, nomem, nostack, preserves_flags));
            }
            reg
        }

        /// One stream, eight bytes per instruction.
        fn update_serial(self, reg: u32, data: &[u8]) -> u32 {
            let mut r = u64::from(reg);
            let mut words = data.chunks_exact(8);
            for w in &mut words {
                r = self.crc_u64(r, u64::from_le_bytes(word(w)));
            }
            // `crc32` with a 64-bit operand leaves the CRC in the low 32 bits, zero above.
            let mut reg = u32::try_from(r).unwrap_or_default();
            for &b in words.remainder() {
                reg = self.crc_u8(reg, b);
            }
            reg
        }

        /// Three streams of [`BLOCK`] bytes per round, so the instruction's three-cycle
        /// latency overlaps; the tail goes through the serial loop.
        pub(super) fn update(self, reg: u32, data: &[u8]) -> u32 {
            let mut reg = reg;
            let mut rounds = data.chunks_exact(3 * BLOCK);
            for round in &mut rounds {
                let (a, rest) = round.split_at(BLOCK);
                let (b, c) = rest.split_at(BLOCK);
                let (mut ra, mut rb, mut rc) = (u64::from(reg), 0u64, 0u64);
                for ((wa, wb), wc) in a
                    .chunks_exact(8)
                    .zip(b.chunks_exact(8))
                    .zip(c.chunks_exact(8))
                {
                    ra = self.crc_u64(ra, u64::from_le_bytes(word(wa)));
                    rb = self.crc_u64(rb, u64::from_le_bytes(word(wb)));
                    rc = self.crc_u64(rc, u64::from_le_bytes(word(wc)));
                }
                let low = |r: u64| u32::try_from(r).unwrap_or_default();
                // reg(A ++ B ++ C) = shift(shift(reg(A)) ^ reg0(B)) ^ reg0(C): the CRC
                // register is linear, so streams started from zero are shifted into place.
                reg = shift_block(shift_block(low(ra)) ^ low(rb)) ^ low(rc);
            }
            self.update_serial(reg, rounds.remainder())
        }
    }

    fn word(w: &[u8]) -> [u8; 8] {
        w.try_into().expect("chunks_exact(8) yields 8-byte slices")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 3720 Appendix B.4, "CRC Examples".
    #[test]
    fn rfc3720_b4_vectors() {
        assert_eq!(crc32c(&[0u8; 32]), 0x8a91_36aa);
        assert_eq!(crc32c(&[0xffu8; 32]), 0x62a8_ab43);
        let inc: Vec<u8> = (0u8..32).collect();
        assert_eq!(crc32c(&inc), 0x46dd_794e);
        let dec: Vec<u8> = (0u8..32).rev().collect();
        assert_eq!(crc32c(&dec), 0x113f_db5c);
        // "An iSCSI - SCSI Read (10) Command PDU".
        let read10: [u8; 48] = [
            0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14,
            0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        assert_eq!(crc32c(&read10), 0xd996_3a56);
    }

    #[test]
    fn catalogue_check_value_and_empty_input() {
        // The "check" value of CRC-32C in CRC catalogues: the CRC of ASCII "123456789".
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(crc32c(b""), 0);
    }

    /// Bitwise reference, one polynomial step per bit, nothing shared with the fast paths.
    fn reference(data: &[u8]) -> u32 {
        let mut reg = !0u32;
        for &b in data {
            reg ^= u32::from(b);
            for _ in 0..8 {
                reg = if reg & 1 == 1 {
                    (reg >> 1) ^ 0x82f6_3b78
                } else {
                    reg >> 1
                };
            }
        }
        !reg
    }

    fn pattern(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x.to_le_bytes()[0]
            })
            .collect()
    }

    #[test]
    fn every_path_matches_the_bitwise_reference() {
        let lens = [
            0,
            1,
            7,
            8,
            9,
            63,
            3 * BLOCK - 1,
            3 * BLOCK,
            3 * BLOCK + 5,
            7 * BLOCK + 13,
        ];
        for (i, &len) in lens.iter().enumerate() {
            let data = pattern(len, u64::try_from(i).unwrap() + 11);
            let want = reference(&data);
            assert_eq!(crc32c(&data), want, "dispatching path, len {len}");
            assert_eq!(!update_portable(!0, &data), want, "portable, len {len}");
            #[cfg(target_arch = "x86_64")]
            if let Some(hw) = hw::Sse42::detect() {
                assert_eq!(!hw.update(!0, &data), want, "sse4.2, len {len}");
            }
        }
    }

    #[test]
    fn append_chains_at_any_split() {
        let data = pattern(5000, 3);
        let whole = crc32c(&data);
        for split in [0, 1, 8, 1000, 3072, 4999, 5000] {
            let (a, b) = data.split_at(split);
            assert_eq!(crc32c_append(crc32c(a), b), whole, "split at {split}");
        }
    }

    #[test]
    fn shift_table_equals_hashing_zero_bytes() {
        let zeros = vec![0u8; BLOCK];
        for reg in [1u32, 0x8000_0000, 0xdead_beef, 0x1234_5678] {
            assert_eq!(shift_block(reg), update_portable(reg, &zeros));
        }
    }
}
