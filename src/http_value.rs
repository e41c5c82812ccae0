//! HTTP header values scanned the way HAProxy 2.6 does: its white-space classes, and
//! where an element of a value ends
//! (`src/http.c` `http_find_hdr_value_end()` and `http_find_cookie_value_end()`): at the
//! first separator outside double quotes, a backslash escaping the next byte inside them.
//! Shared by the persistence core and the balancer's key extraction.

/// `HTTP_IS_SPHT`: space or horizontal tab.
#[inline]
pub fn is_spht(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// `HTTP_IS_LWS`: space, tab, CR or LF.
#[inline]
pub fn is_lws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// The first unquoted `,` or `;` at or after `s`, else `b.len()`.
pub fn find_cookie_value_end(b: &[u8], s: usize) -> usize {
    value_end(b, s, |c| c == b',' || c == b';')
}

/// The first unquoted `,` at or after `s`, else `b.len()` (list-valued headers such as
/// `Cache-Control`).
pub fn find_hdr_value_end(b: &[u8], s: usize) -> usize {
    value_end(b, s, |c| c == b',')
}

fn value_end(b: &[u8], s: usize, is_delim: impl Fn(u8) -> bool) -> usize {
    let (mut quoted, mut qdpair) = (false, false);
    for (i, &c) in b.iter().enumerate().skip(s) {
        if qdpair {
            qdpair = false;
        } else if quoted {
            if c == b'\\' {
                qdpair = true;
            } else if c == b'"' {
                quoted = false;
            }
        } else if c == b'"' {
            quoted = true;
        } else if is_delim(c) {
            return i;
        }
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_value_end_respects_quotes_and_escapes() {
        assert_eq!(find_cookie_value_end(b"abc;d", 0), 3);
        assert_eq!(find_cookie_value_end(b"abc,d", 0), 3);
        assert_eq!(find_cookie_value_end(b"\"a;b\";c", 0), 5);
        assert_eq!(find_cookie_value_end(b"\"a\\\";b\";c", 0), 7);
        assert_eq!(find_cookie_value_end(b"\"unterminated;", 0), 14);
        assert_eq!(find_cookie_value_end(b"abc", 5), 3);
    }

    #[test]
    fn hdr_value_end_splits_on_unquoted_comma_only() {
        assert_eq!(find_hdr_value_end(b"a;b,c", 0), 3);
        assert_eq!(find_hdr_value_end(b"\"a,b\",c", 0), 5);
        assert_eq!(find_hdr_value_end(b"abc", 0), 3);
    }
}
