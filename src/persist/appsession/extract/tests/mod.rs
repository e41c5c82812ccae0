//! Tests of the id extraction: one file per function family, plus `clean()` and the
//! random-input properties here.

use super::*;

mod cookie;
mod other;
mod property;
mod set_cookie;
mod url;

pub(super) fn cookie_spec(name: CookieName, len: usize) -> IdSpec {
    IdSpec {
        source: IdSource::Cookie(name),
        len,
        url_mode: UrlMode::PathParameters,
    }
}

/// `appsession JSESSIONID len 52 timeout 3h` (HAProxy's documentation example).
pub(super) fn jsessionid() -> IdSpec {
    cookie_spec(CookieName::Exact(b"JSESSIONID".to_vec()), 52)
}

/// `appsession ASPSESSIONID len 64 timeout 3h prefix`.
pub(super) fn aspsessionid() -> IdSpec {
    cookie_spec(CookieName::Prefix(b"ASPSESSIONID".to_vec()), 64)
}

pub(super) fn any_cookie() -> IdSpec {
    cookie_spec(CookieName::Any, 52)
}

pub(super) fn with_len(mut spec: IdSpec, len: usize) -> IdSpec {
    spec.len = len;
    spec
}

#[test]
fn clean_refuses_empty() {
    assert_eq!(clean(b"", 52), None);
}

#[test]
fn clean_accepts_4096_bytes_and_refuses_4097() {
    let raw = vec![b'a'; 4097];
    assert_eq!(clean(&raw[..4096], 5000), Some(&raw[..4096]));
    assert_eq!(clean(&raw[..4096], 52), Some(&raw[..52]));
    assert_eq!(clean(&raw, 5000), None);
    assert_eq!(clean(&raw, 52), None);
}

#[test]
fn clean_refuses_control_bytes_anywhere() {
    for c in [0x00u8, 0x09, 0x0A, 0x0D, 0x1F, 0x7F] {
        assert_eq!(clean(&[b'a', c], 52), None, "byte {c:#x}");
        // Even past the kept length: the whole raw id is checked.
        assert_eq!(clean(&[b'a', b'b', c], 1), None, "byte {c:#x}");
    }
    assert_eq!(clean(b" ~", 52), Some(&b" ~"[..]));
}

#[test]
fn clean_keeps_bytes_above_ascii() {
    assert_eq!(clean(&[0x80, 0xFF], 52), Some(&[0x80u8, 0xFF][..]));
}

#[test]
fn clean_truncates_to_len_on_a_byte_boundary() {
    assert_eq!(clean(b"ABCDEF", 3), Some(&b"ABC"[..]));
    assert_eq!(clean(b"ABC", 3), Some(&b"ABC"[..]));
    assert_eq!(clean(b"AB", 3), Some(&b"AB"[..]));
    // "é" is C3 A9: truncation may split a UTF-8 sequence (ids are bytes).
    assert_eq!(clean("é".as_bytes(), 1), Some(&[0xC3u8][..]));
}

#[test]
fn clean_with_len_zero_finds_nothing() {
    assert_eq!(clean(b"abc", 0), None);
}
