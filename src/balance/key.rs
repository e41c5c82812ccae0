//! What the hash algorithms hash: pure extraction from the request, as HAProxy 2.6 does it
//! (docs/haproxy-compatibility.md §13.3). No allocation: every key borrows from the request.

use crate::http_value::{find_cookie_value_end, find_hdr_value_end, is_lws, is_spht};

/// `balance uri` (`get_server_uh()` without `len`, `depth`, `whole`): the request-target up
/// to the first `?`. It is hashed as received: an absolute-form target
/// (`http://host/path`, and what HTTP/2 requests become in HAProxy) includes the scheme and
/// authority [GH #870].
pub fn uri_key(uri: &[u8]) -> &[u8] {
    match uri.iter().position(|&c| c == b'?') {
        Some(q) => &uri[..q],
        None => uri,
    }
}

/// `balance url_param <name>` (`get_server_ph()`): the value of the first `name=value` item
/// of the query string (items separated by `&`, name case-sensitive). The value runs to the
/// next `&` or the end of the target; it may be empty (`?id=` hashes the empty string).
/// None when there is no query string or no such item: the caller then round-robins.
pub fn url_param_key<'a>(uri: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let q = uri.iter().position(|&c| c == b'?')?;
    let mut params = &uri[q + 1..];
    let plen = name.len();
    // HAProxy: `while (uri_len > plen)`, then `params[plen] == '='` and a memcmp of the name.
    while params.len() > plen {
        if params[plen] == b'=' && &params[..plen] == name {
            let value = &params[plen + 1..];
            let end = value.iter().position(|&c| c == b'&').unwrap_or(value.len());
            return Some(&value[..end]);
        }
        let amp = params.iter().position(|&c| c == b'&')?;
        params = &params[amp + 1..];
    }
    None
}

fn trim_lws(v: &[u8]) -> &[u8] {
    let start = v.iter().position(|&c| !is_lws(c)).unwrap_or(v.len());
    let v = &v[start..];
    let end = v.iter().rposition(|&c| !is_lws(c)).map_or(0, |e| e + 1);
    &v[..end]
}

/// The comma-separated elements of one header value, each trimmed of linear white space,
/// as `http_find_header(..., full=0)` returns them one by one.
fn header_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(value);
    let mut first = true;
    std::iter::from_fn(move || {
        let mut v = rest?;
        if !first {
            // After an element: stop at the end, else skip the comma.
            if v.is_empty() {
                rest = None;
                return None;
            }
            if v[0] == b',' {
                v = &v[1..];
            }
        }
        first = false;
        let lead = v.iter().position(|&c| !is_lws(c)).unwrap_or(v.len());
        let v = &v[lead..];
        let end = find_hdr_value_end(v, 0);
        let elem = trim_lws(&v[..end]);
        rest = Some(&v[end..]);
        Some(elem)
    })
}

/// `balance hdr(<name>)` (`get_server_hh()`): the first comma-delimited element of the
/// first occurrence of the header, trimmed. `values` are the raw values of every
/// occurrence, in order. None when absent or empty: the caller then round-robins.
pub fn header_key<'a>(values: &[&'a [u8]]) -> Option<&'a [u8]> {
    let first = values.first()?;
    header_elements(first).next().filter(|v| !v.is_empty())
}

/// `http_extract_cookie_value()` over one header element, from offset `from`: the next
/// cookie named `name` (any cookie when `name` is empty) and the offset to resume at.
fn extract_cookie<'a>(hdr: &'a [u8], from: usize, name: &[u8]) -> Option<(&'a [u8], usize)> {
    let end = hdr.len();
    let mut att_beg = from;
    while att_beg + name.len() + 1 < end {
        while att_beg < end && is_spht(hdr[att_beg]) {
            att_beg += 1;
        }
        // att_end: the first character after the last non-space before the delimiter.
        let (mut equal, mut att_end) = (att_beg, att_beg);
        while equal < end {
            let c = hdr[equal];
            if c == b'=' || c == b';' || c == b',' {
                break;
            }
            equal += 1;
            if !is_spht(c) {
                att_end = equal;
            }
        }
        let (val_beg, val_end, next) = if equal < end && hdr[equal] == b'=' {
            let mut val_beg = equal + 1;
            while val_beg < end && is_spht(hdr[val_beg]) {
                val_beg += 1;
            }
            let next = find_cookie_value_end(hdr, val_beg);
            let mut val_end = next;
            while val_end > val_beg && is_spht(hdr[val_end - 1]) {
                val_end -= 1;
            }
            (val_beg, val_end, next)
        } else {
            (equal, equal, equal)
        };
        // Attributes beginning with '$' and cookies without '=' are skipped.
        let skip = hdr.get(att_beg) == Some(&b'$') || equal == next;
        if !skip && (name.is_empty() || &hdr[att_beg..att_end] == name) {
            return Some((&hdr[val_beg..val_end], next + 1));
        }
        att_beg = next + 1;
    }
    None
}

/// `balance cookie:<name>`, which is HAProxy's `balance hash req.cook(<name>)`
/// (`smp_fetch_cookie()`): the value of the **last** occurrence of the cookie across all
/// `Cookie` headers (name case-sensitive, spaces around name and value ignored, quotes
/// respected). Cookies are separated by `;` and, as `req.cook` splits header elements,
/// by `,`. A present but empty value is `Some(b"")` and is hashed; None means round robin.
pub fn cookie_key<'a>(cookie_headers: &[&'a [u8]], name: &[u8]) -> Option<&'a [u8]> {
    let mut found = None;
    for header in cookie_headers {
        for elem in header_elements(header) {
            if elem.len() < name.len() + 1 {
                continue;
            }
            let mut from = 0;
            while let Some((value, next)) = extract_cookie(elem, from, name) {
                if name.is_empty() {
                    // "No cookie name, first occurrence returned".
                    return Some(value);
                }
                found = Some(value);
                from = next;
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_key_stops_at_question_mark() {
        assert_eq!(uri_key(b"/url1?ignore=this-arg"), b"/url1");
        assert_eq!(uri_key(b"/url1"), b"/url1");
        assert_eq!(uri_key(b"?x"), b"");
        assert_eq!(uri_key(b""), b"");
        // Absolute form keeps scheme and authority (no `path-only` in 2.6 by default).
        assert_eq!(
            uri_key(b"http://127.0.0.1/url1?a"),
            b"http://127.0.0.1/url1"
        );
    }

    #[test]
    fn url_param_key_follows_get_server_ph() {
        assert_eq!(url_param_key(b"/p?uid=1", b"uid"), Some(&b"1"[..]));
        assert_eq!(
            url_param_key(b"/p?a=1&uid=alice&b=2", b"uid"),
            Some(&b"alice"[..])
        );
        assert_eq!(url_param_key(b"/p?uid=&x=1", b"uid"), Some(&b""[..]));
        assert_eq!(url_param_key(b"/p?uid", b"uid"), None, "needs '='");
        assert_eq!(url_param_key(b"/p?UID=1", b"uid"), None, "case-sensitive");
        assert_eq!(url_param_key(b"/p?xuid=1", b"uid"), None);
        assert_eq!(url_param_key(b"/p?xuid=1&uid=2", b"uid"), Some(&b"2"[..]));
        assert_eq!(
            url_param_key(b"/p/uid=1", b"uid"),
            None,
            "only the query string"
        );
        assert_eq!(
            url_param_key(b"/p?uid=1#frag", b"uid"),
            Some(&b"1#frag"[..])
        );
        assert_eq!(
            url_param_key(b"/p?a=1;uid=2", b"uid"),
            None,
            "';' does not split"
        );
        // First occurrence wins.
        assert_eq!(url_param_key(b"/?uid=1&uid=2", b"uid"), Some(&b"1"[..]));
        // A second '?' is part of the query string.
        assert_eq!(url_param_key(b"/?a=?&uid=3", b"uid"), Some(&b"3"[..]));
        assert_eq!(url_param_key(b"", b"uid"), None);
        assert_eq!(url_param_key(b"?", b""), None);
        assert_eq!(url_param_key(b"?=v", b""), Some(&b"v"[..]));
    }

    #[test]
    fn header_key_is_first_element_of_first_occurrence() {
        assert_eq!(header_key(&[b"alice"]), Some(&b"alice"[..]));
        assert_eq!(header_key(&[b"  alice , bob"]), Some(&b"alice"[..]));
        assert_eq!(header_key(&[b"\"a,b\", c"]), Some(&b"\"a,b\""[..]));
        assert_eq!(
            header_key(&[b"", b"bob"]),
            None,
            "empty first occurrence: RR"
        );
        assert_eq!(header_key(&[b" , bob"]), None, "empty first element: RR");
        assert_eq!(header_key(&[b"carol", b"dave"]), Some(&b"carol"[..]));
        assert_eq!(header_key(&[]), None);
    }

    #[test]
    fn cookie_key_is_last_occurrence_like_req_cook() {
        let k = |h: &[&'static [u8]], n: &[u8]| cookie_key(h, n);
        assert_eq!(k(&[b"SID=abc"], b"SID"), Some(&b"abc"[..]));
        assert_eq!(k(&[b"a=1; SID = abc ; b=2"], b"SID"), Some(&b"abc"[..]));
        assert_eq!(k(&[b"SID=1; SID=2"], b"SID"), Some(&b"2"[..]));
        assert_eq!(k(&[b"SID=1", b"x=2; SID=3"], b"SID"), Some(&b"3"[..]));
        assert_eq!(k(&[b"SID=1,SID=4"], b"SID"), Some(&b"4"[..]), "',' splits");
        assert_eq!(k(&[b"sid=1"], b"SID"), None, "case-sensitive");
        assert_eq!(k(&[b"SID"], b"SID"), None, "no '='");
        assert_eq!(k(&[b"SID=; a=1"], b"SID"), Some(&b""[..]));
        // http_extract_cookie_value() needs more than name + '=' left in the element, so an
        // empty value at the very end is not found.
        assert_eq!(k(&[b"SID="], b"SID"), None);
        assert_eq!(k(&[b"a=1;SID="], b"SID"), None);
        assert_eq!(k(&[b"a=1; SID="], b"SID"), Some(&b""[..]));
        assert_eq!(k(&[b"$SID=1"], b"SID"), None);
        assert_eq!(k(&[b"SID=\"a;b\""], b"SID"), Some(&b"\"a;b\""[..]));
        assert_eq!(k(&[b"SIDX=1; XSID=2"], b"SID"), None);
        assert_eq!(k(&[], b"SID"), None);
        assert_eq!(k(&[b"a=1; b=2"], b""), Some(&b"1"[..]));
    }
}
