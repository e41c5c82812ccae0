//! The 5-character dates of `maxidle` / `maxlife` cookies (`SRV|LLLLL|FFFFF`,
//! docs/haproxy-compatibility.md §6); HAProxy `src/base64.c` `s30tob64()` / `b64tos30()`.
//!
//! A date is a 30-bit count of 4-second units, rounded up, written as five 6-bit digits of
//! the standard base64 alphabet, most significant first, without padding.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Encodes a unix time as written in a cookie: `s30tob64((t + 3) >> 2)`.
pub fn encode_date(unix_secs: u32) -> [u8; 5] {
    encode_units(((u64::from(unix_secs) + 3) >> 2) as u32)
}

/// `s30tob64()`: the low 30 bits of `units`, as five base64 digits.
pub(crate) fn encode_units(units: u32) -> [u8; 5] {
    let mut out = [0u8; 5];
    for (i, c) in out.iter_mut().enumerate() {
        *c = ALPHABET[((units >> (24 - 6 * i)) & 63) as usize];
    }
    out
}

/// Decodes the first 5 bytes of `s` into a unix time (`b64tos30() << 2`). None when there
/// are fewer than 5 bytes, on any byte outside the alphabet (including `=`), or when the
/// value is 0 (HAProxy keeps a date only `if (val > 0)`). The result keeps the 32 bits of
/// HAProxy's `int` date: units of 2^29 and above decode to values above `i32::MAX`.
pub fn decode_date(s: &[u8]) -> Option<u32> {
    let digits = s.get(..5)?;
    let mut units: u32 = 0;
    for &c in digits {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        units = (units << 6) | u32::from(v);
    }
    if units == 0 {
        None
    } else {
        Some(units << 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obs2_worked_example_1795288301_is_awhs8() {
        assert_eq!((1_795_288_301u32 + 3) >> 2, 448_822_076);
        assert_eq!(&encode_date(1_795_288_301), b"awHs8");
        assert_eq!(decode_date(b"awHs8"), Some(448_822_076 << 2));
    }

    #[test]
    fn encoding_rounds_up_to_4_second_quantum() {
        // 1795288301..=1795288304 share a quantum whose end is 1795288304.
        for t in 1_795_288_301..=1_795_288_304 {
            assert_eq!(&encode_date(t), b"awHs8");
            assert_eq!(decode_date(&encode_date(t)), Some(1_795_288_304));
        }
        assert_eq!(&encode_date(1_795_288_305), b"awHs9");
    }

    #[test]
    fn encode_edges() {
        assert_eq!(&encode_date(0), b"AAAAA");
        assert_eq!(&encode_date(1), b"AAAAB");
        assert_eq!(&encode_date(u32::MAX), b"AAAAA"); // 2^30 units wrap to 0 in 30 bits
        assert_eq!(&encode_units(0x3FFF_FFFF), b"/////");
    }

    #[test]
    fn decode_uses_first_five_bytes_only() {
        assert_eq!(decode_date(b"awHs8XYZ"), Some(1_795_288_304));
        assert_eq!(decode_date(b"AAAAB"), Some(4));
    }

    #[test]
    fn decode_rejects_short_invalid_padding_and_zero() {
        assert_eq!(decode_date(b"awHs"), None);
        assert_eq!(decode_date(b""), None);
        assert_eq!(decode_date(b"awHs="), None);
        assert_eq!(decode_date(b"!!!!!"), None);
        assert_eq!(decode_date(b"@@@@@"), None);
        assert_eq!(decode_date(b"aw-s8"), None);
        assert_eq!(decode_date(b"aw_s8"), None);
        assert_eq!(decode_date(b"aw|s8"), None);
        assert_eq!(decode_date(&[0xff, b'A', b'A', b'A', b'A']), None);
        assert_eq!(decode_date(b"AAAAA"), None);
    }

    #[test]
    fn decode_high_units_keep_32_bits() {
        assert_eq!(decode_date(b"/////"), Some(0xFFFF_FFFC));
    }

    #[test]
    fn roundtrip_every_alphabet_digit() {
        for (i, &c) in ALPHABET.iter().enumerate() {
            let s = [b'A', b'A', b'A', b'B', c];
            assert_eq!(decode_date(&s), Some((64 + i as u32) << 2));
            assert_eq!(encode_units(64 + i as u32), s);
        }
    }
}
