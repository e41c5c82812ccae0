//! Dynamic cookie values for servers without an explicit `cookie` (docs/haproxy-compatibility.md
//! §9; HAProxy `src/server.c` `srv_set_dyncookie()`).

use std::net::{IpAddr, SocketAddr};
use xxhash_rust::xxh64::Xxh64;

/// `%016llx` of XXH64 (seed 0) over `key || IP address bytes (network order: 4 bytes for
/// IPv4, 16 for IPv6) || port as a 4-byte big-endian integer` (`htonl(svc_port)`).
///
/// It changes with the server address, so the caller recomputes it when the address
/// changes. Servers with an explicit cookie keep theirs.
pub fn dynamic_cookie(key: &[u8], addr: SocketAddr) -> String {
    let mut h = Xxh64::new(0);
    h.update(key);
    match addr.ip() {
        IpAddr::V4(ip) => h.update(&ip.octets()),
        IpAddr::V6(ip) => h.update(&ip.octets()),
    }
    h.update(&u32::from(addr.port()).to_be_bytes());
    format!("{:016x}", h.digest())
}

#[cfg(test)]
mod tests {
    use super::*;
    use xxhash_rust::xxh64::xxh64;

    #[test]
    fn obs11_values_match_haproxy_2_6_12() {
        let a: SocketAddr = "127.0.0.1:19101".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:19102".parse().unwrap();
        assert_eq!(dynamic_cookie(b"mysecret", a), "4cb10c58513135c9");
        assert_eq!(dynamic_cookie(b"mysecret", b), "71b5e08b6e82eb13");
    }

    #[test]
    fn buffer_layout_is_key_ip_port_be32() {
        let a: SocketAddr = "127.0.0.1:19101".parse().unwrap();
        let mut buf = b"mysecret".to_vec();
        buf.extend_from_slice(&[0x7f, 0, 0, 1, 0, 0, 0x4a, 0x9d]);
        assert_eq!(
            dynamic_cookie(b"mysecret", a),
            format!("{:016x}", xxh64(&buf, 0))
        );
    }

    #[test]
    fn ipv6_uses_16_address_bytes() {
        let a: SocketAddr = "[2001:db8::1]:80".parse().unwrap();
        let mut buf = b"k".to_vec();
        buf.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        buf.extend_from_slice(&[0; 11]);
        buf.push(1);
        buf.extend_from_slice(&[0, 0, 0, 80]);
        assert_eq!(dynamic_cookie(b"k", a), format!("{:016x}", xxh64(&buf, 0)));
    }

    #[test]
    fn always_16_lowercase_hex_digits() {
        for port in [0u16, 1, 80, 65535] {
            let v = dynamic_cookie(b"", SocketAddr::from(([10, 0, 0, 1], port)));
            assert_eq!(v.len(), 16);
            assert!(v
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
        }
    }
}
