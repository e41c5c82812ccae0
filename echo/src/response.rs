//! Assembling a response into one buffer so it leaves in one write.
//!
//! Header order (fixed, so tests can rely on it): status line, `x-server`,
//! `content-type` (when there is a body kind), `content-length` (except 204
//! and 304), the behaviour's `extra_headers`, the session `set-cookie`,
//! `x-echo-header` lines, `x-seen-cookie` lines, `x-seen-cookie-count`, then
//! `connection` when it differs from the version's default.

use std::sync::atomic::{AtomicU64, Ordering};

use super::head::{Head, Scratch};
use super::{Behaviour, SESSION_ID_LEN};

/// Filler byte of `x-echo-body-bytes` bodies.
pub(super) const FILLER_BYTE: u8 = b'x';
/// Filler bytes put in the response buffer itself; the rest is streamed.
pub(super) const INLINE_FILLER: u64 = 16 * 1024;

/// Writes the response for `head` into `out` (cleared first). `scratch.json`
/// gets its final `body_bytes` appended. Returns how many filler bytes the
/// caller must still send after `out`.
pub(super) fn write(
    out: &mut Vec<u8>,
    server_name: &str,
    behaviour: &Behaviour,
    head: &Head,
    scratch: &mut Scratch,
    request_body_bytes: u64,
) -> u64 {
    out.clear();
    let status = match head.directives.status {
        Some(status) => status,
        None if head.health_check => health_status(behaviour),
        None => 200,
    };
    // RFC 9110 §15.3.5, §15.4.5: 204 and 304 never carry a body.
    let body_allowed = status != 204 && status != 304;
    let body = match (body_allowed, head.directives.body_bytes) {
        (false, _) => Body::Empty,
        (true, Some(filler)) => Body::Filler(filler),
        (true, None) if head.json => {
            push_u64(&mut scratch.json, request_body_bytes);
            scratch.json.extend_from_slice(b"}\n");
            Body::Json(scratch.json.len() as u64)
        }
        (true, None) => Body::Empty,
    };

    push_status_line(out, status);
    push_header(out, b"x-server", server_name.as_bytes());
    match body {
        Body::Json(_) => push_header(out, b"content-type", b"application/json"),
        Body::Filler(_) => push_header(out, b"content-type", b"application/octet-stream"),
        Body::Empty => {}
    }
    if status != 204 && status != 304 {
        out.extend_from_slice(b"content-length: ");
        push_u64(out, body.len());
        out.extend_from_slice(b"\r\n");
    }
    for (name, value) in &behaviour.extra_headers {
        push_header(out, name.as_bytes(), value.as_bytes());
    }
    if let Some(cookie) = &behaviour.set_cookie_once {
        if !head.carries_session_cookie {
            out.extend_from_slice(b"set-cookie: ");
            out.extend_from_slice(cookie.as_bytes());
            out.push(b'=');
            out.extend_from_slice(&new_session_id());
            out.extend_from_slice(b"; path=/\r\n");
        }
    }
    out.extend_from_slice(&scratch.echo_headers);
    out.extend_from_slice(&scratch.seen_cookies);
    out.extend_from_slice(b"x-seen-cookie-count: ");
    push_u64(out, head.cookie_count);
    out.extend_from_slice(b"\r\n");
    match (head.http10, head.keep_alive) {
        (false, false) => push_header(out, b"connection", b"close"),
        (true, true) => push_header(out, b"connection", b"keep-alive"),
        _ => {}
    }
    out.extend_from_slice(b"\r\n");

    if head.is_head_method {
        return 0;
    }
    match body {
        Body::Json(_) => {
            out.extend_from_slice(&scratch.json);
            0
        }
        Body::Filler(total) => {
            let inline = total.min(INLINE_FILLER);
            out.resize(out.len() + inline as usize, FILLER_BYTE);
            total - inline
        }
        Body::Empty => 0,
    }
}

/// A response the server sends on its own for an unusable request: only
/// `x-server` is echoed; the connection is closed after it.
pub(super) fn write_error(out: &mut Vec<u8>, server_name: &str, status: u16, message: &str) {
    out.clear();
    push_status_line(out, status);
    push_header(out, b"x-server", server_name.as_bytes());
    push_header(out, b"content-type", b"text/plain");
    out.extend_from_slice(b"content-length: ");
    push_u64(out, message.len() as u64 + 1);
    out.extend_from_slice(b"\r\nconnection: close\r\n\r\n");
    out.extend_from_slice(message.as_bytes());
    out.push(b'\n');
}

#[derive(Debug, Clone, Copy)]
enum Body {
    Empty,
    Json(u64),
    Filler(u64),
}

impl Body {
    fn len(self) -> u64 {
        match self {
            Body::Empty => 0,
            Body::Json(len) | Body::Filler(len) => len,
        }
    }
}

/// The behaviour's health status; anything that is not a final status a
/// body may follow (200..=599) is answered as 500.
fn health_status(behaviour: &Behaviour) -> u16 {
    let status = behaviour.health();
    if (200..=599).contains(&status) {
        status
    } else {
        500
    }
}

fn push_status_line(out: &mut Vec<u8>, status: u16) {
    out.extend_from_slice(b"HTTP/1.1 ");
    push_u64(out, u64::from(status));
    out.push(b' ');
    out.extend_from_slice(reason_phrase(status).as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn push_header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Decimal digits of `n`, without going through `fmt`.
pub(super) fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

/// RFC 9110 reason phrases for the statuses tests are likely to script.
pub(super) fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        413 => "Content Too Large",
        414 => "URI Too Long",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// A fresh PHP-style session id: 26 characters of `[0-9a-v]`, i.e. PHP's
/// default `session.sid_length=26` with 5 bits per character.
fn new_session_id() -> [u8; SESSION_ID_LEN] {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    let mut id = [0u8; SESSION_ID_LEN];
    let mut bits = 0u64;
    for (index, slot) in id.iter_mut().enumerate() {
        // 12 characters per 64-bit draw (60 bits).
        if index % 12 == 0 {
            bits = next_random();
        }
        *slot = ALPHABET[(bits & 31) as usize];
        bits >>= 5;
    }
    id
}

/// splitmix64 over a process-wide counter seeded from std's per-process
/// random hasher keys: unique and unpredictable enough for test sessions,
/// lock-free, no extra dependency.
fn next_random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static STATE: AtomicU64 = AtomicU64::new(0);
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let seed = *SEED.get_or_init(|| {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        hasher.finish()
    });
    let mut z = seed.wrapping_add(
        STATE
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15),
    );
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
