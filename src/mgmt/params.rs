//! The text after a management request header: comma-separated `key=value` items.
//!
//! tgtd parses this text with a handful of C idioms (`strsep`, the kernel-style
//! `match_token` patterns `k=%s` / `k=%d`, `strstr`, `atoi`, `strtol`). Their exact edge
//! cases decide which requests succeed, so they are reproduced here once, with tests, and
//! every handler uses these functions instead of ad-hoc splitting.
//! Sources: tgt `usr/parser.c`, `usr/mgmt.c`, glibc `strtol(3)`.

/// The request body as tgtd sees it: the bytes up to the first NUL (a missing body is the
/// empty string; tgt dereferences NULL there, we do not). Non-UTF-8 bytes are replaced,
/// which only matters for names that are then rejected anyway.
pub fn body_text(body: &[u8]) -> String {
    let end = body.iter().position(|&c| c == 0).unwrap_or(body.len());
    String::from_utf8_lossy(&body[..end]).into_owned()
}

/// `strsep(&s, ",")` over the whole string, skipping empty items, as tgt's parsers do.
pub fn items(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').filter(|p| !p.is_empty())
}

/// tgt's `match_token(p, "key=%s")`: `p` starts with `key=` and a non-empty value follows.
/// Returns the value.
pub fn match_str<'a>(item: &'a str, key: &str) -> Option<&'a str> {
    let v = item.strip_prefix(key)?.strip_prefix('=')?;
    (!v.is_empty()).then_some(v)
}

/// tgt's `match_token(p, "key=%d")`: a number (`strtol` base 0) that consumes the whole
/// rest of the item. Returns the value truncated to `int` as `match_int` does.
pub fn match_int(item: &str, key: &str) -> Option<i32> {
    let v = item.strip_prefix(key)?.strip_prefix('=')?;
    let (n, used) = strtol(v, 0);
    (used > 0 && used == v.len()).then_some(truncate_to_i32(n))
}

/// `int` truncation of a C `long`, as an implicit conversion does on x86_64.
pub fn truncate_to_i32(n: i64) -> i32 {
    i32::from_ne_bytes(n.to_ne_bytes()[..4].try_into().expect("4 of 8 bytes"))
}

/// `unsigned int` truncation of a C `long`.
pub fn truncate_to_u32(n: i64) -> u32 {
    u32::from_ne_bytes(n.to_ne_bytes()[..4].try_into().expect("4 of 8 bytes"))
}

/// glibc `strtol(s, &end, base)` for base 0 or 10: leading white space, sign, `0x`/`0`
/// prefixes for base 0, saturation at `LONG_MIN`/`LONG_MAX`. Returns the value and the
/// number of bytes consumed (0 when no digits were found, as `end == s`).
pub fn strtol(s: &str, base: u32) -> (i64, usize) {
    let (mag, neg, used) = strtoul_parts(s, base);
    if used == 0 {
        return (0, 0);
    }
    let v = match (neg, mag) {
        (false, Some(m)) => i64::try_from(m).unwrap_or(i64::MAX),
        (true, Some(m)) => {
            if m > i64::MAX.unsigned_abs() {
                i64::MIN
            } else {
                0i64.checked_sub_unsigned(m).unwrap_or(i64::MIN)
            }
        }
        (false, None) => i64::MAX,
        (true, None) => i64::MIN,
    };
    (v, used)
}

/// glibc `strtoul`: like [`strtol`] but a leading `-` negates modulo 2^64 and overflow
/// saturates at `ULONG_MAX`.
pub fn strtoul(s: &str, base: u32) -> (u64, usize) {
    let (mag, neg, used) = strtoul_parts(s, base);
    if used == 0 {
        return (0, 0);
    }
    match mag {
        None => (u64::MAX, used),
        Some(m) if neg => (m.wrapping_neg(), used),
        Some(m) => (m, used),
    }
}

/// Shared scanner: magnitude (`None` on overflow), sign, bytes consumed.
fn strtoul_parts(s: &str, base: u32) -> (Option<u64>, bool, usize) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let mut neg = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        neg = b[i] == b'-';
        i += 1;
    }
    let mut radix = base;
    let has_hex_prefix = |i: usize| {
        i + 1 < b.len()
            && b[i] == b'0'
            && (b[i + 1] == b'x' || b[i + 1] == b'X')
            && i + 2 < b.len()
            && b[i + 2].is_ascii_hexdigit()
    };
    if (radix == 0 || radix == 16) && has_hex_prefix(i) {
        i += 2;
        radix = 16;
    } else if radix == 0 {
        radix = if i < b.len() && b[i] == b'0' { 8 } else { 10 };
    }
    let start = i;
    let mut mag: Option<u64> = Some(0);
    while i < b.len() {
        let Some(d) = char::from(b[i]).to_digit(radix) else {
            break;
        };
        mag = mag
            .and_then(|m| m.checked_mul(u64::from(radix)))
            .and_then(|m| m.checked_add(u64::from(d)));
        i += 1;
    }
    if i == start {
        // "0x" with no hex digit after it still parses the "0" in glibc; handled by the
        // prefix check above requiring a hex digit. No digits at all: nothing consumed.
        return (Some(0), false, 0);
    }
    (mag, neg, i)
}

/// What fits in a C buffer of `buf` bytes: at most `buf - 1` characters, as
/// `snprintf(dst, buf, "%s", src)` copies (tgt's `match_strncpy()`).
pub fn c_buf(s: &str, buf: usize) -> String {
    match s.char_indices().nth(buf.saturating_sub(1)) {
        Some((i, _)) => s[..i].to_owned(),
        None => s.to_owned(),
    }
}

/// glibc `atoi`: `(int) strtol(s, NULL, 10)`.
pub fn atoi(s: &str) -> i32 {
    truncate_to_i32(strtol(s, 10).0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_stops_at_first_nul() {
        assert_eq!(body_text(b"a=b\0c=d"), "a=b");
        assert_eq!(body_text(b"a=b"), "a=b");
        assert_eq!(body_text(b""), "");
    }

    #[test]
    fn items_skip_empty() {
        let v: Vec<_> = items("targetOps a=1,,b=2,").collect();
        assert_eq!(v, ["targetOps a=1", "b=2"]);
    }

    #[test]
    fn match_str_needs_nonempty_value() {
        assert_eq!(match_str("path=/x", "path"), Some("/x"));
        assert_eq!(match_str("path=", "path"), None);
        assert_eq!(match_str("pathx=/x", "path"), None);
        assert_eq!(match_str("path", "path"), None);
        assert_eq!(match_str("path=a=b", "path"), Some("a=b"));
    }

    #[test]
    fn match_int_needs_whole_number() {
        assert_eq!(
            match_int("iSNSServerPort=3205", "iSNSServerPort"),
            Some(3205)
        );
        assert_eq!(match_int("iSNSServerPort=0x10", "iSNSServerPort"), Some(16));
        assert_eq!(match_int("iSNSServerPort=12ab", "iSNSServerPort"), None);
        assert_eq!(match_int("iSNSServerPort=", "iSNSServerPort"), None);
        assert_eq!(match_int("iSNSServerPort=abc", "iSNSServerPort"), None);
        assert_eq!(match_int("iSNSServerPort=-5", "iSNSServerPort"), Some(-5));
    }

    #[test]
    fn strtol_matches_glibc() {
        assert_eq!(strtol("42", 0), (42, 2));
        assert_eq!(strtol("  -42x", 0), (-42, 5));
        assert_eq!(strtol("0x1f", 0), (31, 4));
        assert_eq!(strtol("010", 0), (8, 3));
        assert_eq!(strtol("09", 0), (0, 1));
        assert_eq!(strtol("0x", 0), (0, 1));
        assert_eq!(strtol("abc", 0), (0, 0));
        assert_eq!(strtol("", 0), (0, 0));
        assert_eq!(strtol("-", 0), (0, 0));
        assert_eq!(strtol("99999999999999999999", 0).0, i64::MAX);
        assert_eq!(strtol("-99999999999999999999", 0).0, i64::MIN);
        assert_eq!(strtol("-9223372036854775808", 10).0, i64::MIN);
    }

    #[test]
    fn strtoul_matches_glibc() {
        assert_eq!(strtoul("-1", 0), (u64::MAX, 2));
        assert_eq!(strtoul("18446744073709551616", 0), (u64::MAX, 20));
        assert_eq!(strtoul("4096", 0), (4096, 4));
    }

    #[test]
    fn c_buf_keeps_one_byte_for_the_nul() {
        assert_eq!(c_buf("ABCDEFGHIJ", 9), "ABCDEFGH");
        assert_eq!(c_buf("abc", 9), "abc");
        assert_eq!(c_buf("abc", 0), "");
    }

    #[test]
    fn atoi_truncates_like_c() {
        assert_eq!(atoi("5"), 5);
        assert_eq!(atoi("x"), 0);
        assert_eq!(atoi("4294967297"), 1);
        assert_eq!(atoi("-3"), -3);
    }
}
