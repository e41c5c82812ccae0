//! Which application session id a request or response carries (HAProxy 1.5 `appsession`,
//! docs/haproxy-compatibility.md §15; config `app_session:`). Pure byte logic:
//! no clock (dates come in as unix seconds), no I/O, and on the request side no allocation:
//! every id borrows from the bytes it was found in.
//!
//! Ported from HAProxy v1.5.0 `src/proto_http.c`: the appsession parts of
//! `manage_client_side_cookies()` (request cookies, [`request_cookie_ids`]),
//! `manage_server_side_cookies()` (learning from `Set-Cookie`, [`set_cookie_id`]) and
//! `get_srv_from_appsession()` (the URL, [`url_id`]). The `*` cookie, the `src`, `header:`
//! and `url_param:` keys are tether extensions (OCI application-cookie persistence) with
//! the rules stated on each function.
//!
//! Every id returned has passed [`clean`]: 1 to `len` bytes, no control byte.

mod cookie;
mod header;
mod set_cookie;
mod url;

#[cfg(test)]
mod tests;

pub use cookie::{request_cookie_ids, CookieIds, MAX_COOKIE_IDS};
pub use header::header_id;
pub use set_cookie::{set_cookie_id, SetCookieId};
pub use url::{url_id, url_param_id};

/// How the application's session id is found (built once from the config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdSpec {
    pub source: IdSource,
    /// Ids are truncated to this many bytes (config `len`, >= 1; 0 finds no id at all).
    pub len: usize,
    /// Where a cookie-less client carries the id in the URL (key: cookie only).
    pub url_mode: UrlMode,
}

/// Where the session id comes from (config `key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdSource {
    /// A cookie the application sets: exact name, a name prefix (config `prefix: true`:
    /// the id is the rest of `name=value` after the prefix, e.g. cookie `ASPSESSIONID`,
    /// `ASPSESSIONIDXXXX=YYYY` gives `XXXX=YYYY`), or `*`: any cookie the server sets (the
    /// id is then `name=value`, so two applications' cookies never collide).
    Cookie(CookieName),
    /// The client address; not extracted here (the caller uses the address bytes).
    Src,
    /// A request header name (matched case-insensitively by the caller).
    Header(String),
    /// A query-string parameter name (case-sensitive, like HAProxy `urlp`).
    UrlParam(String),
}

/// The application cookie of [`IdSource::Cookie`]. Names are compared byte for byte
/// (case-sensitive, HAProxy `memcmp`) in cookies, case-insensitively in the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieName {
    /// Config `cookie: NAME`, `prefix: false`.
    Exact(Vec<u8>),
    /// Config `cookie: NAME`, `prefix: true` (HAProxy `appsession ... prefix`).
    Prefix(Vec<u8>),
    /// Config `cookie: "*"`.
    Any,
}

/// Config `mode` (HAProxy `appsession ... mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UrlMode {
    /// `/app;jsessionid=ID?...`: the `;`-separated parameters after the first `;`, up to
    /// the `?` that follows it. HAProxy's default.
    #[default]
    PathParameters,
    /// `/app?jsessionid=ID&...`: the `&`-separated parameters after the first `?`.
    QueryString,
}

impl IdSource {
    /// The `key:` words.
    pub const NAMES: &'static [&'static str] =
        &["cookie", "src", "header:<name>", "url_param:<name>"];

    /// A `key:` word; `None` for unknown words and empty names. `cookie` gives
    /// `Cookie(CookieName::Any)`: the name comes from the `cookie:` and `prefix:` settings
    /// ([`CookieName::new`]).
    pub fn parse(word: &str) -> Option<Self> {
        let named = |p: &str| (!p.is_empty()).then(|| p.to_string());
        match word {
            "cookie" => Some(Self::Cookie(CookieName::Any)),
            "src" => Some(Self::Src),
            _ => match word.split_once(':') {
                Some(("header", name)) => named(name).map(Self::Header),
                Some(("url_param", name)) => named(name).map(Self::UrlParam),
                _ => None,
            },
        }
    }
}

impl CookieName {
    /// The `cookie:` setting (`*`: any cookie) with `prefix:`.
    pub fn new(name: &str, prefix: bool) -> Self {
        match (name, prefix) {
            ("*", _) => Self::Any,
            (name, true) => Self::Prefix(name.as_bytes().to_vec()),
            (name, false) => Self::Exact(name.as_bytes().to_vec()),
        }
    }
}

impl UrlMode {
    /// The `mode:` words.
    pub const NAMES: &'static [&'static str] = &["path-parameters", "query-string"];

    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "path-parameters" => Some(Self::PathParameters),
            "query-string" => Some(Self::QueryString),
            _ => None,
        }
    }
}

/// Raw ids longer than this are refused whole rather than truncated: a bound on what a
/// client can make us hash and compare, far above any real session id.
pub const MAX_RAW_ID_LEN: usize = 4096;

/// Cleans a raw id: `None` if it is empty, longer than [`MAX_RAW_ID_LEN`] bytes, or holds
/// a control byte (below 0x20, or 0x7F) anywhere (the whole raw id is checked, not only
/// the kept part); otherwise its first `len` bytes (`None` when `len` is 0).
///
/// Truncation is on a byte boundary and may split a UTF-8 sequence: ids are opaque bytes,
/// compared byte for byte, and HAProxy truncates the same way (`memcpy(..., len)`), so a
/// split id still names the same table entry on every request.
pub fn clean(raw: &[u8], len: usize) -> Option<&[u8]> {
    if raw.is_empty() || raw.len() > MAX_RAW_ID_LEN || has_control_byte(raw) {
        return None;
    }
    let id = raw.get(..len.min(raw.len()))?;
    (!id.is_empty()).then_some(id)
}

/// Like [`clean`], but an empty result is allowed: for the key prefixes of
/// [`SetCookieId::Deleted`].
fn clean_key_prefix(raw: &[u8], len: usize) -> Option<&[u8]> {
    if raw.len() > MAX_RAW_ID_LEN || has_control_byte(raw) {
        return None;
    }
    raw.get(..len.min(raw.len()))
}

fn has_control_byte(b: &[u8]) -> bool {
    b.iter().any(|&c| c < 0x20 || c == 0x7F)
}
