//! The application cookie in `Cookie` headers (HAProxy v1.5.0 `manage_client_side_cookies()`,
//! appsession part), and the name matching shared with `Set-Cookie`.

use super::{clean, CookieName, IdSource, IdSpec};
use crate::persist::scan::{parse_item, Item};

/// At most this many candidate ids come out of one request's `Cookie` headers: each is a
/// table lookup, so a client stuffing its headers with matching cookies cannot make us do
/// more.
pub const MAX_COOKIE_IDS: usize = 16;

/// What one matching `name=value` item says, as spans of the header bytes.
pub(super) struct Matched<'a> {
    /// The id (not yet cleaned): the value (exact name), the rest of `name=value` after
    /// the prefix (prefix), or `name=value` (`*`).
    pub id: &'a [u8],
    /// The part of `id` before the value: empty (exact), `rest=` (prefix) or `name=` (`*`).
    pub key_prefix: &'a [u8],
    /// The cookie value is empty (`NAME=`).
    pub value_is_empty: bool,
}

/// Matches the item `it` of `b` (which has an `=`) against the configured cookie.
///
/// Exact: the name must equal the configured name, byte for byte (HAProxy: `cmp_len ==
/// appsession_name_len && memcmp(...)`). Prefix: the name must start with it (HAProxy
/// compares the first `appsession_name_len` bytes of `name=value`; the same thing for any
/// configured name without `=`, which a cookie name cannot hold).
///
/// Names starting with `$` are RFC 2109 attributes, never cookies (HAProxy skips them in
/// requests; they are skipped in responses too, so nothing is learned that no request can
/// carry).
///
/// With a prefix or `*`, the id spans the `=`. HAProxy first strips blanks around the `=`
/// in place, so `NAME = V` gives `NAME=V`; an id borrowed from the header cannot drop
/// them, so such a spaced item is skipped instead (it never happens with browsers, and a
/// raw span would be a key HAProxy never produces). With an exact name the id is the
/// value alone and blanks around `=` do not matter.
pub(super) fn match_cookie<'a>(name: &CookieName, b: &'a [u8], it: &Item) -> Option<Matched<'a>> {
    let att = span(b, it.att_beg, it.att_end);
    if att.first() == Some(&b'$') {
        return None;
    }
    let value = span(b, it.val_beg, it.val_end);
    let value_is_empty = value.is_empty();
    let spaced = it.att_end != it.equal || it.val_beg != it.equal + 1;
    let (id, key_prefix) = match name {
        CookieName::Exact(n) => {
            if att != n.as_slice() {
                return None;
            }
            // An empty span of the header, so that every returned slice borrows from it.
            (value, span(b, it.att_beg, it.att_beg))
        }
        CookieName::Prefix(p) => {
            if !att.starts_with(p) || spaced {
                return None;
            }
            let from = it.att_beg + p.len();
            (span(b, from, it.val_end), span(b, from, it.equal + 1))
        }
        CookieName::Any => {
            if spaced {
                return None;
            }
            (
                span(b, it.att_beg, it.val_end),
                span(b, it.att_beg, it.equal + 1),
            )
        }
    };
    Some(Matched {
        id,
        key_prefix,
        value_is_empty,
    })
}

/// `b[from..to]`, or empty if out of range (never for an [`Item`] of `b`).
pub(super) fn span(b: &[u8], from: usize, to: usize) -> &[u8] {
    b.get(from..to).unwrap_or(&[])
}

/// Candidate ids in the request's `Cookie` headers, in order.
///
/// `cookie_headers` holds the values of every `Cookie` header, in order (for HTTP/2, the
/// `cookie` fields; splitting them or not does not change the result). Each value is cut
/// into items exactly as HAProxy 1.5 does: `;` and `,` separate cookies, blanks around
/// names and values are ignored, a value ends at the first `;` or `,` outside double
/// quotes (quotes are part of the value: `"abc"` gives `"abc"`), items without `=` and `$`
/// attributes (`$Version`, `$Path`) are skipped.
///
/// For an exact or prefix name: every occurrence of that cookie; for `*`: every cookie as
/// `name=value`. A cookie with an empty value is never a candidate (for an exact name
/// HAProxy would look up the empty id; an empty value is what a deletion leaves behind,
/// and learning it with `request_learn` would pin every such client to one server, the
/// reason HAProxy ignores empty persistence cookies). Spaced `name = value` items are
/// skipped for a prefix or `*` (see [`match_cookie`]). Ids are cleaned ([`clean`]); at most
/// [`MAX_COOKIE_IDS`] come out. Nothing is allocated: ids borrow from the headers.
///
/// HAProxy looks every occurrence up in turn and each hit re-assigns the server, so the
/// last hit wins; with `request_learn` the last occurrence is the one remembered. Empty
/// for a source other than a cookie.
pub fn request_cookie_ids<'s, 'a>(
    spec: &'s IdSpec,
    cookie_headers: &'s [&'a [u8]],
) -> CookieIds<'s, 'a> {
    let name = match &spec.source {
        IdSource::Cookie(name) => Some(name),
        _ => None,
    };
    CookieIds {
        name,
        len: spec.len,
        headers: cookie_headers,
        header: 0,
        pos: None,
        left: MAX_COOKIE_IDS,
    }
}

/// Iterator of [`request_cookie_ids`].
#[derive(Debug, Clone)]
pub struct CookieIds<'s, 'a> {
    /// `None`: the source is not a cookie, nothing to find.
    name: Option<&'s CookieName>,
    len: usize,
    headers: &'s [&'a [u8]],
    /// Index of the header being scanned.
    header: usize,
    /// `None` at the start of a header, else the delimiter that ended the last item
    /// (HAProxy's `prev`).
    pos: Option<usize>,
    /// Candidates still allowed.
    left: usize,
}

impl<'a> Iterator for CookieIds<'_, 'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let name = self.name?;
        while self.left > 0 {
            let b: &'a [u8] = self.headers.get(self.header)?;
            // HAProxy's `for (prev = colon; prev < hdr_end; prev = next)`: every item after
            // the first starts one byte after the delimiter that ended the previous one, so
            // each step moves forward.
            let it = match self.pos {
                None => parse_item(b, 0, true, true),
                Some(prev) if prev < b.len() => parse_item(b, prev, false, true),
                Some(_) => {
                    self.header += 1;
                    self.pos = None;
                    continue;
                }
            };
            self.pos = Some(it.next);
            if it.has_no_equal() {
                continue;
            }
            let Some(m) = match_cookie(name, b, &it) else {
                continue;
            };
            if m.value_is_empty {
                continue;
            }
            if let Some(id) = clean(m.id, self.len) {
                self.left -= 1;
                return Some(id);
            }
        }
        None
    }
}

impl std::iter::FusedIterator for CookieIds<'_, '_> {}
