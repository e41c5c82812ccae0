//! Learning the id from a response's `Set-Cookie` (HAProxy v1.5.0
//! `manage_server_side_cookies()`, appsession part), plus deletion detection (tether: a
//! deleted session's entry is dropped instead of lingering until its timeout).

use super::cookie::{match_cookie, span};
use super::{clean, clean_key_prefix, IdSource, IdSpec};
use crate::persist::scan::parse_item;
use std::time::UNIX_EPOCH;

/// What one `Set-Cookie` line says about the session id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetCookieId<'a> {
    /// The server sets the session id (cleaned): learn it for the server that answered.
    Set(&'a [u8]),
    /// The server deletes the application cookie. The payload is a *key prefix*: the id
    /// the line names, without its value (a deleting line's value, empty or `deleted`,
    /// never identifies the session), truncated to `len`:
    /// - exact name: empty;
    /// - prefix: the rest of the name after the prefix, then `=` (`ASPSESSIONIDXX=; ...` gives
    ///   `XX=`);
    /// - `*`: the cookie name, then `=` (`x=; Max-Age=0` gives `x=`).
    ///
    /// The caller removes the entry of the id this request carried (the candidate that
    /// found the entry) when that id starts with the payload: always for an exact name, and
    /// for a prefix or `*` only when it is the same cookie, so deleting cookie `x` never
    /// drops the session of cookie `y`.
    Deleted(&'a [u8]),
    /// Not the application cookie, or nothing usable (see [`set_cookie_id`]).
    None,
}

/// What one `Set-Cookie` line (the header value) says about the session id.
///
/// As in HAProxy, only the first `name=value` of the line counts (a `Set-Cookie` line
/// holds one cookie; a `,` ends the value when it is outside quotes, but what follows is
/// not another cookie). It must match the configured cookie (exact name, prefix, or any
/// for `*`, as in requests; spaced `name = value` is `None` for a prefix or `*`); the
/// value keeps its quotes.
///
/// `Deleted` when the line deletes the cookie: the value is empty (`JSESSIONID=; Path=/`),
/// or the attributes after the first `;` that follows the value say so: a `Max-Age` <= 0,
/// or else an `Expires` date earlier than `now_unix`. Attribute names are case-insensitive;
/// the last valid `Max-Age` and the last valid `Expires` count, and a valid `Max-Age` takes
/// precedence over `Expires` (RFC 6265 5.3). A `Max-Age` is valid when it is an optional
/// `-` and digits (RFC 6265 5.2.2); an `Expires` date when `httpdate` parses it (IMF-fixdate,
/// RFC 850, asctime), or it is the Netscape form `Thu, 01-Jan-1970 00:00:01 GMT` that old
/// PHP versions send; anything else is ignored (httpdate also refuses years before 1970,
/// so such a date is ignored, not taken as past).
///
/// `Set` otherwise, with the cleaned id; `None` when the id (or, for `Deleted`, the key
/// prefix) fails [`clean`], and for a source other than a cookie.
pub fn set_cookie_id<'a>(spec: &IdSpec, set_cookie: &'a [u8], now_unix: u64) -> SetCookieId<'a> {
    let IdSource::Cookie(name) = &spec.source else {
        return SetCookieId::None;
    };
    // In Set-Cookie a `,` does not end the name (an Expires date holds one).
    let it = parse_item(set_cookie, 0, true, false);
    if it.has_no_equal() {
        return SetCookieId::None;
    }
    let Some(m) = match_cookie(name, set_cookie, &it) else {
        return SetCookieId::None;
    };
    let rest = span(set_cookie, it.next, set_cookie.len());
    let attributes = match rest.iter().position(|&c| c == b';') {
        Some(semi) => span(rest, semi + 1, rest.len()),
        None => &[][..],
    };
    if m.value_is_empty || deletes(attributes, now_unix) {
        return match clean_key_prefix(m.key_prefix, spec.len) {
            Some(prefix) => SetCookieId::Deleted(prefix),
            None => SetCookieId::None,
        };
    }
    match clean(m.id, spec.len) {
        Some(id) => SetCookieId::Set(id),
        None => SetCookieId::None,
    }
}

/// Whether the cookie attributes (`a=b; c; ...`, after the name-value pair) delete it.
fn deletes(attributes: &[u8], now_unix: u64) -> bool {
    let mut max_age_deletes = None;
    let mut expires = None;
    for av in attributes.split(|&c| c == b';') {
        let (name, value) = match av.iter().position(|&c| c == b'=') {
            Some(eq) => (span(av, 0, eq), span(av, eq + 1, av.len())),
            None => (av, &[][..]),
        };
        let (name, value) = (trim_blanks(name), trim_blanks(value));
        if name.eq_ignore_ascii_case(b"max-age") {
            if let Some(d) = max_age_deletes_cookie(value) {
                max_age_deletes = Some(d);
            }
        } else if name.eq_ignore_ascii_case(b"expires") {
            if let Some(t) = parse_expires(value) {
                expires = Some(t);
            }
        }
    }
    match max_age_deletes {
        Some(d) => d,
        None => expires.is_some_and(|t| t < now_unix),
    }
}

/// RFC 6265 5.2.2: `Some(max-age <= 0)` for an optional `-` then at least one digit, else
/// `None` (the attribute is ignored). No arithmetic, so any length is fine.
fn max_age_deletes_cookie(value: &[u8]) -> Option<bool> {
    let (negative, digits) = match value.strip_prefix(b"-") {
        Some(d) => (true, d),
        None => (false, value),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(negative || digits.iter().all(|&c| c == b'0'))
}

/// The `Expires` date as unix seconds, or `None` if unparseable.
fn parse_expires(value: &[u8]) -> Option<u64> {
    // Netscape's `Wdy, DD-Mon-YYYY HH:MM:SS GMT` is IMF-fixdate with dashes in the date.
    let mut imf = [0u8; 29];
    let value = if value.len() == imf.len()
        && value.get(7) == Some(&b'-')
        && value.get(11) == Some(&b'-')
    {
        imf.copy_from_slice(value);
        imf[7] = b' ';
        imf[11] = b' ';
        &imf[..]
    } else {
        value
    };
    let text = std::str::from_utf8(value).ok()?;
    let time = httpdate::parse_http_date(text).ok()?;
    Some(time.duration_since(UNIX_EPOCH).ok()?.as_secs())
}

fn trim_blanks(b: &[u8]) -> &[u8] {
    let is_blank = |c: &u8| *c == b' ' || *c == b'\t';
    let start = b.iter().position(|c| !is_blank(c)).unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !is_blank(c))
        .map_or(start, |p| p + 1);
    span(b, start, end)
}
