//! Byte-level scanning of one `Cookie` / `Set-Cookie` header value, ported from HAProxy 2.6
//! (`src/http.c` `http_find_cookie_value_end()`, `http_find_hdr_value_end()`, and the token
//! loop shared by `http_manage_client_side_cookies()` / `http_manage_server_side_cookies()`
//! in `src/http_ana.c`). Positions are indices into the current header bytes, exactly where
//! the C code keeps pointers.

use crate::http_value::is_lws;
pub(crate) use crate::http_value::{find_cookie_value_end, find_hdr_value_end, is_spht};

/// The header value as HAProxy's HTX holds it: the H1 parser strips leading and trailing
/// linear white space, and `http_find_header()` trims it again.
pub(crate) fn trim_lws(v: &[u8]) -> &[u8] {
    let start = v.iter().position(|&c| !is_lws(c)).unwrap_or(v.len());
    let end = v.iter().rposition(|&c| !is_lws(c)).map_or(start, |p| p + 1);
    v.get(start..end).unwrap_or(&[])
}

/// The pointers HAProxy keeps on one `NAME = VALUE` item (see the diagram above
/// `http_manage_client_side_cookies()`): `att_beg..att_end` is the name, `equal` the `=` (or
/// the delimiter / end when there is none), `val_beg..val_end` the value without
/// surrounding blanks, `next` the delimiter ending the item (or the end of the header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Item {
    pub att_beg: usize,
    pub att_end: usize,
    pub equal: usize,
    pub val_beg: usize,
    pub val_end: usize,
    pub next: usize,
}

impl Item {
    /// The C code's `equal == next`: the item has no `=` (request side test).
    pub fn has_no_equal(&self) -> bool {
        self.equal == self.next
    }
}

/// Parses the item starting at `prev`. On every item but the first, `prev` points to the
/// delimiter that ended the previous item and is skipped. `comma_delimits` says whether a
/// `,` ends a name (the `Cookie` request header); in `Set-Cookie` it does not.
/// Requires `prev < b.len()` unless `is_first`.
pub(crate) fn parse_item(b: &[u8], prev: usize, is_first: bool, comma_delimits: bool) -> Item {
    let end = b.len();
    let mut att_beg = if is_first { prev } else { prev + 1 }.min(end);
    while att_beg < end && is_spht(b[att_beg]) {
        att_beg += 1;
    }

    // att_end: first byte after the last non-blank before the '=' (or delimiter, or end).
    let (mut equal, mut att_end) = (att_beg, att_beg);
    while equal < end {
        let c = b[equal];
        if c == b'=' || c == b';' || (comma_delimits && c == b',') {
            break;
        }
        equal += 1;
        if !is_spht(c) {
            att_end = equal;
        }
    }

    if equal < end && b[equal] == b'=' {
        let mut val_beg = equal + 1;
        while val_beg < end && is_spht(b[val_beg]) {
            val_beg += 1;
        }
        let next = find_cookie_value_end(b, val_beg);
        let mut val_end = next;
        while val_end > val_beg && is_spht(b[val_end - 1]) {
            val_end -= 1;
        }
        Item {
            att_beg,
            att_end,
            equal,
            val_beg,
            val_end,
            next,
        }
    } else {
        Item {
            att_beg,
            att_end,
            equal,
            val_beg: equal,
            val_end: equal,
            next: equal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_lws_strips_both_ends_only() {
        assert_eq!(trim_lws(b" \t a = b \r\n"), b"a = b");
        assert_eq!(trim_lws(b"   "), b"");
        assert_eq!(trim_lws(b""), b"");
        assert_eq!(trim_lws(b"x"), b"x");
    }

    #[test]
    fn parse_item_spaces_around_equal() {
        let b = b"  NAME1  =  VALUE 1  ; N2=V2";
        let it = parse_item(b, 0, true, true);
        assert_eq!(&b[it.att_beg..it.att_end], b"NAME1");
        assert_eq!(it.equal, 9);
        assert_eq!(&b[it.val_beg..it.val_end], b"VALUE 1");
        assert_eq!(it.next, 21);
        let it2 = parse_item(b, it.next, false, true);
        assert_eq!(&b[it2.att_beg..it2.att_end], b"N2");
        assert_eq!(&b[it2.val_beg..it2.val_end], b"V2");
        assert_eq!(it2.next, b.len());
    }

    #[test]
    fn parse_item_without_equal_and_at_end() {
        let b = b"a;";
        let it = parse_item(b, 0, true, true);
        assert!(it.has_no_equal());
        assert_eq!(it.next, 1);
        let last = parse_item(b, 1, false, true);
        assert_eq!((last.att_beg, last.next), (2, 2));
        assert!(last.has_no_equal());
    }

    #[test]
    fn parse_item_comma_only_delimits_when_asked() {
        let b = b"a,b=1";
        assert_eq!(parse_item(b, 0, true, true).equal, 1);
        let it = parse_item(b, 0, true, false);
        assert_eq!(&b[it.att_beg..it.att_end], b"a,b");
    }
}
