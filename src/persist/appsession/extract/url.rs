//! Ids carried in the request target: appsession's URL search (HAProxy v1.5.0
//! `get_srv_from_appsession()`) and the `url_param:` key.

use super::{clean, CookieName, IdSource, IdSpec, UrlMode};

/// The application cookie's id carried in the URL, HAProxy 1.5 rules. `path_and_query` is
/// the request target as received (nothing is percent-decoded, as in HAProxy).
///
/// - path-parameters: the `;`-separated parameters after the first `;` of the target, up to
///   the first `?` after it (or the end). A `;` that only appears after the `?` thus
///   starts the parameters too, as in HAProxy.
/// - query-string: the `&`-separated parameters after the first `?`, up to the end.
///
/// A parameter matches when it starts with the cookie name, compared ASCII
/// case-insensitively (`strncasecmp`), followed by `=` (exact name; the id is what follows
/// the `=`) or by anything (prefix; the id is the rest after the prefix, as for cookies),
/// and is longer than the name. Parameters are scanned from the end and the first match
/// found ends the search, so the last occurrence wins, even when its value is empty (then
/// `None`). The id is cleaned ([`clean`]).
///
/// `None` for `*` and for non-cookie sources. HAProxy only searches the URL of GET, POST
/// and HEAD requests: the caller must only call this for those methods.
///
/// One deviation: HAProxy 1.5 bounds its search for the `?` with `len - (begin -
/// first_param)`, which reads past the target when the first `;` is not at its start (a
/// bug never fixed before appsession was removed); here the search stops at the end of
/// the target.
pub fn url_id<'a>(spec: &IdSpec, path_and_query: &'a [u8]) -> Option<&'a [u8]> {
    let (name, prefix) = match &spec.source {
        IdSource::Cookie(CookieName::Exact(n)) => (n.as_slice(), false),
        IdSource::Cookie(CookieName::Prefix(n)) => (n.as_slice(), true),
        _ => return None,
    };
    let (opener, separator) = match spec.url_mode {
        UrlMode::PathParameters => (b';', b';'),
        UrlMode::QueryString => (b'?', b'&'),
    };
    let first = path_and_query.iter().position(|&c| c == opener)?;
    let params = path_and_query.get(first + 1..)?;
    let params = match spec.url_mode {
        UrlMode::PathParameters => match params.iter().position(|&c| c == b'?') {
            Some(query) => params.get(..query)?,
            None => params,
        },
        UrlMode::QueryString => params,
    };
    // HAProxy walks back from the end: each separator (and the opener) starts a parameter.
    for param in params.rsplit(|&c| c == separator) {
        if param.len() <= name.len() {
            continue;
        }
        let (head, rest) = param.split_at(name.len());
        if !head.eq_ignore_ascii_case(name) {
            continue;
        }
        let value = if prefix {
            Some(rest)
        } else {
            rest.strip_prefix(b"=")
        };
        if let Some(value) = value {
            return clean(value, spec.len);
        }
    }
    None
}

/// The `url_param:` key: the value of the first parameter of the query string (after the
/// first `?`, up to a `#`; parameters separated by `&`) named exactly `name` (case-sensitive)
/// and followed by `=`; the value ends at the next `&` or `#`. Only the first occurrence
/// counts: if its value is empty or fails [`clean`], `None`. Not percent-decoded. `None`
/// for other sources.
///
/// (HAProxy's `urlp` also splits on `;`; this key is tether's and follows the query
/// string's `&` convention.)
pub fn url_param_id<'a>(spec: &IdSpec, path_and_query: &'a [u8]) -> Option<&'a [u8]> {
    let IdSource::UrlParam(name) = &spec.source else {
        return None;
    };
    let query = path_and_query.get(path_and_query.iter().position(|&c| c == b'?')? + 1..)?;
    let query = match query.iter().position(|&c| c == b'#') {
        Some(fragment) => query.get(..fragment)?,
        None => query,
    };
    let value = query
        .split(|&c| c == b'&')
        .find_map(|param| param.strip_prefix(name.as_bytes())?.strip_prefix(b"="))?;
    clean(value, spec.len)
}
