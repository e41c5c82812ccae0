//! Whether a response is "cacheable" (HAProxy `TX_CACHEABLE`), which decides whether the
//! `nocache` option appends `Cache-control: private` after an inserted cookie
//! (docs/haproxy-compatibility.md §7).
//!
//! Port of HAProxy 2.6: the method test of `http_wait_for_request()`, the status test of
//! `http_wait_for_response()` and `http_check_response_for_cacheability()`, with the change
//! of commit 879debeec (GH #2048, in 2.6.12): a response with neither freshness
//! information nor a validator is not cacheable. The later master changes (ca4fd7393
//! `s-maxage` overriding `max-age=0`, 73472025f `token=` forms) are not in 2.6.12 and are
//! not applied.

use super::scan::{find_hdr_value_end, trim_lws};
use http::header::{CACHE_CONTROL, ETAG, EXPIRES, LAST_MODIFIED, PRAGMA};
use http::{HeaderMap, Method};

/// HAProxy's `TX_CACHEABLE` at the time the response cookie is inserted.
pub fn is_cacheable(method: &Method, status: u16, headers: &HeaderMap) -> bool {
    // "Safe" methods (RFC7231#4.2.1), and the statuses cacheable by default (RFC7231#6.1).
    let mut cacheable = matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) && matches!(
        status,
        200 | 203 | 204 | 206 | 300 | 301 | 404 | 405 | 410 | 414 | 501
    );
    if status < 200 {
        return false;
    }
    // Only the first Pragma header, as a whole.
    if let Some(p) = headers.get(PRAGMA) {
        if trim_lws(p.as_bytes()).eq_ignore_ascii_case(b"no-cache") {
            return false;
        }
    }
    let mut has_freshness_info = false;
    for value in headers.get_all(CACHE_CONTROL) {
        for item in list_items(value.as_bytes()) {
            if item.eq_ignore_ascii_case(b"public") {
                // Re-enables caching whatever came before (even for a POST or a 302).
                cacheable = true;
            } else if [
                &b"private"[..],
                b"no-cache",
                b"no-store",
                b"max-age=0",
                b"s-maxage=0",
            ]
            .iter()
            .any(|d| item.eq_ignore_ascii_case(d))
            {
                cacheable = false;
            } else if starts_with_ignore_case(item, b"no-cache=\"set-cookie") {
                // Only clears TX_CACHE_COOK, which `nocache` does not look at.
            } else if starts_with_ignore_case(item, b"s-maxage")
                || starts_with_ignore_case(item, b"max-age")
            {
                has_freshness_info = true;
            }
        }
    }
    if !has_freshness_info {
        has_freshness_info = headers.contains_key(EXPIRES);
    }
    let has_validator =
        !has_freshness_info && (headers.contains_key(ETAG) || headers.contains_key(LAST_MODIFIED));
    // 879debeec: no explicit expiration time and no validator (RFC 7234#3).
    if !has_freshness_info && !has_validator {
        cacheable = false;
    }
    cacheable
}

/// The comma-separated values of a list header, quote-aware, without surrounding blanks
/// (`http_find_header()` with `full == 0`).
fn list_items(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut pos = 0;
    let mut done = v.is_empty();
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let end = find_hdr_value_end(v, pos);
        let item = trim_lws(v.get(pos..end).unwrap_or(&[]));
        if end >= v.len() {
            done = true;
        }
        pos = end + 1;
        Some(item)
    })
}

fn starts_with_ignore_case(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(list: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in list {
            h.append(*n, v.parse().unwrap());
        }
        h
    }

    fn get(status: u16, list: &[(&'static str, &'static str)]) -> bool {
        is_cacheable(&Method::GET, status, &headers(list))
    }

    // The docs/haproxy-compatibility.md §7 table, row by row (seen on HAProxy 2.6.12).
    #[test]
    fn nocache_table_200_without_caching_headers_is_not_cacheable() {
        assert!(!get(200, &[]));
    }

    #[test]
    fn nocache_table_200_max_age_60_is_cacheable() {
        assert!(get(200, &[("cache-control", "max-age=60")]));
    }

    #[test]
    fn nocache_table_200_last_modified_is_cacheable() {
        assert!(get(
            200,
            &[("last-modified", "Wed, 21 Oct 2015 07:28:00 GMT")]
        ));
    }

    #[test]
    fn nocache_table_301_max_age_60_is_cacheable() {
        assert!(get(301, &[("cache-control", "max-age=60")]));
    }

    #[test]
    fn nocache_table_302_max_age_60_is_not_cacheable() {
        assert!(!get(302, &[("cache-control", "max-age=60")]));
    }

    #[test]
    fn nocache_table_post_max_age_60_is_not_cacheable() {
        let h = headers(&[("cache-control", "max-age=60")]);
        assert!(!is_cacheable(&Method::POST, 200, &h));
    }

    #[test]
    fn nocache_table_cache_control_private_is_not_cacheable() {
        assert!(!get(200, &[("cache-control", "private")]));
    }

    #[test]
    fn nocache_table_max_age_0_is_not_cacheable() {
        assert!(!get(200, &[("cache-control", "max-age=0")]));
    }

    #[test]
    fn nocache_table_public_alone_is_not_cacheable() {
        assert!(!get(200, &[("cache-control", "public")]));
    }

    #[test]
    fn every_default_cacheable_status_and_method() {
        let fresh = [("cache-control", "max-age=60")];
        for s in [200, 203, 204, 206, 300, 301, 404, 405, 410, 414, 501] {
            assert!(get(s, &fresh), "status {s}");
        }
        for s in [100, 101, 201, 302, 303, 307, 400, 403, 500, 502, 503] {
            assert!(!get(s, &fresh), "status {s}");
        }
        let h = headers(&fresh);
        for m in [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE] {
            assert!(is_cacheable(&m, 200, &h), "{m}");
        }
        for m in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            assert!(!is_cacheable(&m, 200, &h), "{m}");
        }
    }

    #[test]
    fn public_reenables_even_post_and_302() {
        let h = headers(&[("cache-control", "public, max-age=60")]);
        assert!(is_cacheable(&Method::POST, 200, &h));
        assert!(is_cacheable(&Method::GET, 302, &h));
        // ... but never an interim response
        assert!(!is_cacheable(&Method::GET, 101, &h));
    }

    #[test]
    fn directives_apply_in_order_across_headers() {
        assert!(!get(
            200,
            &[("cache-control", "public, private, max-age=5")]
        ));
        assert!(get(200, &[("cache-control", "private, public, max-age=5")]));
        assert!(get(
            200,
            &[
                ("cache-control", "no-store"),
                ("cache-control", "public"),
                ("expires", "0")
            ]
        ));
        assert!(!get(
            200,
            &[("Cache-Control", " NO-CACHE "), ("etag", "\"x\"")]
        ));
        assert!(!get(
            200,
            &[("cache-control", "no-store"), ("etag", "\"x\"")]
        ));
        assert!(!get(
            200,
            &[("cache-control", "s-maxage=0"), ("etag", "\"x\"")]
        ));
    }

    #[test]
    fn freshness_and_validators() {
        assert!(get(200, &[("expires", "Thu, 01 Jan 2099 00:00:00 GMT")]));
        assert!(get(200, &[("expires", "")]));
        assert!(get(200, &[("etag", "\"abc\"")]));
        assert!(get(200, &[("cache-control", "s-maxage=10")]));
        assert!(get(200, &[("cache-control", "max-age=00")]));
        // max-age=0 gives no freshness and clears cacheability
        assert!(!get(
            200,
            &[("cache-control", "max-age=0"), ("etag", "\"x\"")]
        ));
        // unknown directives give nothing
        assert!(!get(200, &[("cache-control", "must-revalidate")]));
        // no-cache="set-cookie" only concerns the cookie; the rest still counts
        assert!(get(
            200,
            &[("cache-control", "no-cache=\"set-cookie\", max-age=9")]
        ));
    }

    #[test]
    fn only_the_first_pragma_counts_and_wholly() {
        let fresh = ("cache-control", "max-age=60");
        assert!(!get(200, &[("pragma", "no-cache"), fresh]));
        assert!(!get(200, &[("pragma", " No-Cache "), fresh]));
        assert!(get(200, &[("pragma", "x"), ("pragma", "no-cache"), fresh]));
        assert!(get(200, &[("pragma", "no-cache, x"), fresh]));
    }

    #[test]
    fn list_items_split_like_http_find_header() {
        let items: Vec<&[u8]> = list_items(b" a , \"b,c\" ,,d,").collect();
        assert_eq!(items, vec![&b"a"[..], b"\"b,c\"", b"", b"d", b""]);
        assert_eq!(list_items(b"").count(), 0);
    }
}
