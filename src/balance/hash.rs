//! HAProxy's hash functions for the hash-based algorithms (docs/haproxy-compatibility.md §13.3).
//!
//! Ported from HAProxy v2.6.0 `src/hash.c` (sdbm, djb2, wt6, crc32) and
//! `include/haproxy/intops.h` (`full_hash`, the `avalanche` modifier). All arithmetic is
//! unsigned 32-bit and wraps, as in C.

/// The `hash-type ... <function>` argument (`gen_hash()` in `src/backend.c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HashFunction {
    /// HAProxy's default function.
    #[default]
    Sdbm,
    Djb2,
    Wt6,
    Crc32,
}

impl HashFunction {
    /// Hashes `key` with this function (`gen_hash()`).
    pub fn hash(self, key: &[u8]) -> u32 {
        match self {
            Self::Sdbm => sdbm(key),
            Self::Djb2 => djb2(key),
            Self::Wt6 => wt6(key),
            Self::Crc32 => crc32(key),
        }
    }
}

/// `hash_sdbm()`: `h = c + (h << 6) + (h << 16) - h`, starting at 0.
pub fn sdbm(key: &[u8]) -> u32 {
    key.iter().fold(0u32, |h, &c| {
        u32::from(c)
            .wrapping_add(h << 6)
            .wrapping_add(h << 16)
            .wrapping_sub(h)
    })
}

/// `hash_djb2()`: `h = h * 33 + c`, starting at 5381.
pub fn djb2(key: &[u8]) -> u32 {
    key.iter().fold(5381u32, |h, &c| {
        (h << 5).wrapping_add(h).wrapping_add(u32::from(c))
    })
}

/// `hash_wt6()`: Willy Tarreau's 6-step hash.
pub fn wt6(key: &[u8]) -> u32 {
    let mut h0: u32 = 0xa53c_965a;
    let mut h1: u32 = 0x5ca6_953a;
    let mut step0: u32 = 6;
    let mut step1: u32 = 18;
    for &c in key {
        let t = u32::from(c);
        h0 = !(h0 ^ t);
        h1 = !(h1.wrapping_add(t));
        // C: `(h1 << step0) | (h1 >> (32 - step0))`. step0 and step1 stay in 0..=31, and a
        // shift by 32 is undefined in C but yields the rotation x86 computes (shift count
        // masked to 5 bits), which is exactly `rotate_left`.
        let t = h1.rotate_left(step0);
        h1 = h0.rotate_left(step1);
        h0 = t;
        let t = ((h0 >> 16) ^ h1) & 0xffff;
        step0 = t & 0x1f;
        step1 = t >> 11;
    }
    h0 ^ h1
}

/// `hash_crc32()`: bitwise CRC-32 (IEEE polynomial 0xedb88320, reflected).
pub fn crc32(key: &[u8]) -> u32 {
    let mut hash = !0u32;
    for &c in key {
        hash ^= u32::from(c);
        for _ in 0..8 {
            hash = (hash >> 1) ^ if hash & 1 != 0 { 0xedb8_8320 } else { 0 };
        }
    }
    !hash
}

/// `full_hash()`: Bob Jenkins' full-avalanche integer hash, then a multiplication by a
/// large prime. Used as the `avalanche` modifier and for the consistent-hash ring points.
/// It is a bijection on `u32` (every step is invertible).
pub fn full_hash(a: u32) -> u32 {
    let mut a = a;
    a = a.wrapping_add(0x7ed5_5d16).wrapping_add(a << 12);
    a = (a ^ 0xc761_c23c) ^ (a >> 19);
    a = a.wrapping_add(0x1656_67b1).wrapping_add(a << 5);
    a = a.wrapping_add(0xd3a2_646c) ^ (a << 9);
    a = a.wrapping_add(0xfd70_46c5).wrapping_add(a << 3);
    a = (a ^ 0xb55a_4f09) ^ (a >> 16);
    a.wrapping_mul(3_221_225_473)
}

/// What a hash algorithm applies to its key: the function and the optional avalanche.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashSpec {
    pub function: HashFunction,
    pub avalanche: bool,
}

impl HashSpec {
    /// HAProxy's defaults (`hash-type` parser, `src/cfgparse-listen.c`): sdbm for map-based,
    /// and sdbm + avalanche for `consistent` given without a function argument.
    pub fn default_for(hash_type: super::algorithm::HashType) -> Self {
        Self {
            function: HashFunction::Sdbm,
            avalanche: hash_type == super::algorithm::HashType::Consistent,
        }
    }

    /// The hash of a byte key (`gen_hash()` then `full_hash()` if `avalanche`).
    pub fn hash_bytes(self, key: &[u8]) -> u32 {
        self.finish(self.function.hash(key))
    }

    /// Applies the avalanche modifier when configured.
    pub fn finish(self, h: u32) -> u32 {
        if self.avalanche {
            full_hash(h)
        } else {
            h
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdbm_matches_balance_uri_vtc_value() {
        // sdbm("/url1") = 4103199409 (reg-tests/balance/balance-uri.vtc).
        assert_eq!(sdbm(b"/url1"), 4_103_199_409);
        assert_eq!(sdbm(b""), 0);
        assert_eq!(sdbm(b"a"), 97);
        // 98 + (97 << 6) + (97 << 16) - 97
        assert_eq!(sdbm(b"ab"), 6_363_201);
    }

    #[test]
    fn djb2_known_values() {
        assert_eq!(djb2(b""), 5381);
        assert_eq!(djb2(b"a"), 177_670);
        assert_eq!(djb2(b"/url1"), 194_222_904);
        assert_eq!(djb2(b"123456789"), 902_675_330);
        // Unrolled-by-8 loop in C must equal the plain loop: check a 9-byte key.
        let plain = b"abcdefghi".iter().fold(5381u32, |h, &c| {
            h.wrapping_mul(33).wrapping_add(u32::from(c))
        });
        assert_eq!(djb2(b"abcdefghi"), plain);
    }

    #[test]
    fn crc32_is_the_ieee_crc() {
        // The standard CRC-32 check value.
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"/url1"), 0x16b1_87c9);
    }

    #[test]
    fn wt6_known_values() {
        // Empty input returns h0 ^ h1 of the seeds.
        assert_eq!(wt6(b""), 0xa53c_965a ^ 0x5ca6_953a);
        // Values computed by compiling HAProxy v2.6.0 src/hash.c hash_wt6().
        assert_eq!(wt6(b"a"), 0x714b_f225);
        assert_eq!(wt6(b"/url1"), 0x92d1_9ced);
        assert_eq!(wt6(b"123456789"), 0x84a1_6c1d);
    }

    #[test]
    fn full_hash_known_values() {
        // Values computed by compiling HAProxy v2.6.0 include/haproxy/intops.h __full_hash().
        assert_eq!(full_hash(0), 0xab4e_d927);
        assert_eq!(full_hash(4096), 0x49c2_008b);
        assert_eq!(full_hash(0x7f00_0001), 0x8a1b_584b);
    }

    #[test]
    fn default_hash_specs_follow_hash_type() {
        use crate::balance::algorithm::HashType;
        let map = HashSpec::default_for(HashType::MapBased);
        assert_eq!(map.hash_bytes(b"/url1"), 4_103_199_409);
        let ch = HashSpec::default_for(HashType::Consistent);
        assert_eq!(ch.hash_bytes(b"/url1"), full_hash(4_103_199_409));
    }
}
