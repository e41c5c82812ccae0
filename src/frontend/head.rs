//! Finding the end of an HTTP/1 request head while it arrives, within tether's limits
//! (docs/configuration.md §5.3, `max_headers`, `max_header_bytes`, `timeout_http_request`).
//!
//! Pure: bytes in, verdict out. The scan only looks for the empty line that ends the head
//! and counts the lines before it; parsing stays Pingora's job. It resumes where the
//! previous call stopped, so a head that trickles in byte by byte costs linear time.

use std::time::Duration;

/// How much of a request head tether accepts, and how long it waits for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadLimits {
    /// Header lines (the request line excluded). HAProxy `tune.http.maxhdr`, 101.
    pub max_headers: usize,
    /// Request line plus headers plus the empty line. HAProxy `tune.bufsize`, 16384.
    pub max_bytes: usize,
    /// From the first byte of a request to the end of its head. HAProxy
    /// `timeout http-request`.
    pub timeout: Duration,
}

impl Default for HeadLimits {
    fn default() -> Self {
        HeadLimits {
            max_headers: 101,
            max_bytes: 16_384,
            timeout: Duration::from_secs(10),
        }
    }
}

/// What the bytes received so far amount to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// The head ends after this many bytes (what follows is body or a next request).
    Complete(usize),
    /// The head is not complete yet and within the limits: read more.
    Partial,
    /// More header lines than `max_headers`.
    TooManyHeaders,
    /// The head is, or will be, longer than `max_bytes`.
    TooLarge,
    /// Not an HTTP request: the method is not a token (RFC 9110 §9.1). A TLS handshake
    /// sent to a plain HTTP port, say; answered 400 at once rather than waited for.
    NotHttp,
}

/// The state of the scan of one request head.
#[derive(Debug, Default, Clone)]
pub struct HeadScanner {
    /// Bytes already scanned: no line feed before this offset is looked at again.
    scanned: usize,
    /// Line feeds followed by a non-empty line so far: the header lines seen.
    lines: usize,
    /// Offset of the first byte of the request line (leading blank lines are skipped,
    /// RFC 9112 §2.2).
    start: Option<usize>,
    /// The method and the space after it have arrived and are valid.
    method_checked: bool,
    /// Bytes of the method already found to be token bytes.
    method_len: usize,
}

/// Longer than any method in use (the longest registered ones have 16 characters): what is
/// not a space by then is not an HTTP request line.
const MAX_METHOD_LEN: usize = 32;

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

impl HeadScanner {
    pub fn new() -> Self {
        Self::default()
    }

    /// Scans `buf`, the bytes received so far (the same buffer, grown, on every call).
    pub fn scan(&mut self, buf: &[u8], limits: &HeadLimits) -> Scan {
        let start = match self.start {
            Some(s) => s,
            None => {
                let from = self.scanned;
                let rest = buf.get(from..).unwrap_or_default();
                match rest.iter().position(|&b| b != b'\r' && b != b'\n') {
                    Some(offset) => {
                        self.start = Some(from + offset);
                        self.scanned = from + offset;
                        from + offset
                    }
                    // Only blank lines so far: nothing to count yet, but they use the
                    // buffer.
                    None => {
                        self.scanned = buf.len();
                        return self.partial(buf.len(), limits);
                    }
                }
            }
        };
        if !self.method_checked {
            let line = buf.get(start..).unwrap_or_default();
            let unchecked = line.get(self.method_len..).unwrap_or_default();
            match unchecked.iter().position(|&b| !is_tchar(b)) {
                Some(i) => {
                    let end = self.method_len + i;
                    if end == 0 || line[end] != b' ' {
                        return Scan::NotHttp;
                    }
                    self.method_checked = true;
                }
                // Only token bytes so far: the method may go on, within reason.
                None => {
                    self.method_len = line.len();
                    if self.method_len > MAX_METHOD_LEN {
                        return Scan::NotHttp;
                    }
                }
            }
        }
        let mut from = self.scanned;
        while let Some(offset) = memchr::memchr(b'\n', buf.get(from..).unwrap_or_default()) {
            let lf = from + offset;
            // The head ends at an empty line: LF directly after the previous LF, or CR LF.
            let rest = buf.get(lf + 1..).unwrap_or_default();
            match rest {
                [b'\n', ..] => return self.finish(lf + 2, limits),
                [b'\r', b'\n', ..] => return self.finish(lf + 3, limits),
                // The line after this one could still be empty: look again next time.
                [] | [b'\r'] => {
                    self.scanned = lf;
                    return self.partial(buf.len(), limits);
                }
                _ => {}
            }
            // A line follows this one: one more header line (the first is the request
            // line's line feed, which starts the first header).
            self.lines += 1;
            if self.lines > limits.max_headers {
                return Scan::TooManyHeaders;
            }
            from = lf + 1;
        }
        self.scanned = buf.len();
        self.partial(buf.len(), limits)
    }

    /// The head ends after `end` bytes (leading blank lines included: they took room too).
    fn finish(&mut self, end: usize, limits: &HeadLimits) -> Scan {
        if end > limits.max_bytes {
            Scan::TooLarge
        } else if self.lines > limits.max_headers {
            Scan::TooManyHeaders
        } else {
            Scan::Complete(end)
        }
    }

    fn partial(&self, len: usize, limits: &HeadLimits) -> Scan {
        if len >= limits.max_bytes {
            Scan::TooLarge
        } else {
            Scan::Partial
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_headers: usize, max_bytes: usize) -> HeadLimits {
        HeadLimits {
            max_headers,
            max_bytes,
            ..HeadLimits::default()
        }
    }

    fn request(headers: usize) -> Vec<u8> {
        let mut r = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..headers {
            r.extend_from_slice(format!("x-h{i}: v\r\n").as_bytes());
        }
        r.extend_from_slice(b"\r\n");
        r
    }

    fn scan_all(buf: &[u8], l: &HeadLimits) -> Scan {
        HeadScanner::new().scan(buf, l)
    }

    /// Feeds `buf` in pieces of `step` bytes, as a slow client would.
    fn scan_in_steps(buf: &[u8], step: usize, l: &HeadLimits) -> Scan {
        let mut s = HeadScanner::new();
        let mut verdict = Scan::Partial;
        for end in (step..buf.len() + step).step_by(step) {
            verdict = s.scan(&buf[..end.min(buf.len())], l);
            if verdict != Scan::Partial {
                break;
            }
        }
        verdict
    }

    #[test]
    fn complete_head_ends_after_the_empty_line() {
        let mut r = request(2);
        let len = r.len();
        r.extend_from_slice(b"body bytes");
        assert_eq!(scan_all(&r, &HeadLimits::default()), Scan::Complete(len));
    }

    #[test]
    fn bare_line_feeds_end_a_head_too() {
        let r = b"GET / HTTP/1.1\nHost: a\n\nrest";
        assert_eq!(scan_all(r, &HeadLimits::default()), Scan::Complete(24));
    }

    #[test]
    fn request_line_alone_is_a_head() {
        let r = b"GET / HTTP/1.0\r\n\r\n";
        assert_eq!(scan_all(r, &HeadLimits::default()), Scan::Complete(r.len()));
    }

    #[test]
    fn incomplete_heads_ask_for_more() {
        let r = request(3);
        for end in 0..r.len() {
            assert_eq!(
                scan_all(&r[..end], &HeadLimits::default()),
                Scan::Partial,
                "{end}"
            );
        }
    }

    /// Byte by byte, or in any other piece size, the verdict is the same as in one go.
    #[test]
    fn verdict_does_not_depend_on_how_the_bytes_arrive() {
        let l = limits(5, 200);
        for headers in [0, 1, 5, 6, 9] {
            let mut r = request(headers);
            r.extend_from_slice(b"GET /next HTTP/1.1\r\n\r\n");
            let whole = scan_all(&r, &l);
            for step in [1, 2, 3, 7, 64] {
                assert_eq!(scan_in_steps(&r, step, &l), whole, "{headers} {step}");
            }
        }
    }

    #[test]
    fn header_count_limit_is_inclusive() {
        let l = limits(101, 1 << 20);
        let ok = request(101);
        assert_eq!(scan_all(&ok, &l), Scan::Complete(ok.len()));
        assert_eq!(scan_all(&request(102), &l), Scan::TooManyHeaders);
        assert_eq!(scan_all(&request(200), &l), Scan::TooManyHeaders);
    }

    /// A client that keeps sending header lines is stopped without waiting for the end.
    #[test]
    fn too_many_headers_is_seen_before_the_head_ends() {
        let l = limits(3, 1 << 20);
        let r = request(10);
        let unterminated = &r[..r.len() - 2];
        assert_eq!(scan_all(unterminated, &l), Scan::TooManyHeaders);
    }

    #[test]
    fn size_limit_is_inclusive() {
        let r = request(3);
        assert_eq!(scan_all(&r, &limits(101, r.len())), Scan::Complete(r.len()));
        assert_eq!(scan_all(&r, &limits(101, r.len() - 1)), Scan::TooLarge);
    }

    /// One endless header line is refused once the buffer reaches the limit, not when the
    /// (never coming) end arrives.
    #[test]
    fn endless_line_is_too_large_at_the_limit() {
        let mut r = b"GET / HTTP/1.1\r\nCookie: ".to_vec();
        r.resize(100, b'a');
        assert_eq!(scan_all(&r[..99], &limits(101, 100)), Scan::Partial);
        assert_eq!(scan_all(&r, &limits(101, 100)), Scan::TooLarge);
    }

    /// Blank lines before the request line are skipped (RFC 9112 §2.2): they are not
    /// header lines, but they count toward the size.
    #[test]
    fn leading_blank_lines() {
        let mut r = b"\r\n\r\n".to_vec();
        r.extend_from_slice(&request(1));
        assert_eq!(
            scan_all(&r, &HeadLimits::default()),
            Scan::Complete(r.len())
        );
        let blanks = b"\r\n".repeat(50);
        assert_eq!(scan_all(&blanks, &limits(101, 101)), Scan::Partial);
        assert_eq!(scan_all(&blanks, &limits(101, 100)), Scan::TooLarge);
        assert_eq!(scan_in_steps(&blanks, 1, &limits(101, 100)), Scan::TooLarge);
    }

    /// Bytes that cannot start an HTTP request are refused at once, whatever follows.
    #[test]
    fn a_request_line_without_a_token_method_is_not_http() {
        let l = HeadLimits::default();
        let tls_client_hello = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
        assert_eq!(scan_all(tls_client_hello, &l), Scan::NotHttp);
        assert_eq!(scan_all(b"GE(T / HTTP/1.1\r\n", &l), Scan::NotHttp);
        assert_eq!(scan_all(b"GET\t/ HTTP/1.1\r\n", &l), Scan::NotHttp);
        assert_eq!(scan_all(b" GET / HTTP/1.1\r\n", &l), Scan::NotHttp);
        let endless_method = vec![b'A'; 40];
        assert_eq!(scan_in_steps(&endless_method, 1, &l), Scan::NotHttp);
        // A method still arriving, or any token method, is fine.
        assert_eq!(scan_all(b"PROPF", &l), Scan::Partial);
        assert_eq!(scan_all(b"M-SEARCH * HTTP/1.1\r\n", &l), Scan::Partial);
        assert_eq!(
            scan_in_steps(b"GET / HTTP/1.1\r\n\r\n", 1, &l),
            Scan::Complete(18)
        );
    }

    #[test]
    fn carriage_return_split_from_its_line_feed() {
        let r = request(1);
        let l = HeadLimits::default();
        let mut s = HeadScanner::new();
        assert_eq!(s.scan(&r[..r.len() - 1], &l), Scan::Partial);
        assert_eq!(s.scan(&r, &l), Scan::Complete(r.len()));
    }
}
