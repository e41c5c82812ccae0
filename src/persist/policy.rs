//! The validated cookie settings of one backend (HAProxy `cookie` directive,
//! docs/haproxy-compatibility.md §2) and everything that can be computed once per
//! configuration: the inserted `Set-Cookie` values of each server (§5) and a
//! value-to-server index.

use super::date::{encode_date, encode_units};
use super::mode::CookieMode;
use super::spec::{cookie_text_problem, CookieSpec, Problem};
use bytes::Bytes;
use http::HeaderValue;

const REMOVAL_MIDDLE: &[u8] = b"=; Expires=Thu, 01-Jan-1970 00:00:01 GMT";
const PATH: &[u8] = b"; path=/";

#[derive(Debug, Clone)]
struct ServerCookie {
    /// The value identifying the server, None when it has none.
    value: Option<Box<[u8]>>,
    /// The undated `Set-Cookie` value for this server, or the removal cookie when it has
    /// no value.
    insert: HeaderValue,
}

/// The validated cookie settings of one backend plus precomputed per-server values.
#[derive(Debug, Clone)]
pub struct CookiePolicy {
    spec: CookieSpec,
    servers: Box<[ServerCookie]>,
    /// (server value, server index), sorted by value then index, so that the servers
    /// sharing a value come out in declaration order.
    by_value: Box<[(Box<[u8]>, usize)]>,
    /// `[; domain=d1[; domain=d2...]][; HttpOnly][; Secure][; attr1[; attr2...]]`.
    attr_suffix: Box<[u8]>,
    warnings: Vec<String>,
}

impl CookiePolicy {
    /// Validates `spec` (errors name the offending option) and precomputes, per server, the
    /// complete undated `Set-Cookie` value (`NAME=VALUE; path=/; domain=..; HttpOnly;
    /// Secure; attrs`) or, for a server without a value, the removal cookie
    /// (`NAME=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/...`).
    ///
    /// `server_cookies[i]` is the value identifying server i (declaration order), None if
    /// the server has none.
    pub fn new(spec: CookieSpec, server_cookies: Vec<Option<Vec<u8>>>) -> Result<Self, String> {
        let warnings = validate(&spec)?;
        let mut attr_suffix = Vec::new();
        for d in &spec.domains {
            attr_suffix.extend_from_slice(b"; domain=");
            attr_suffix.extend_from_slice(d.as_bytes());
        }
        if spec.httponly {
            attr_suffix.extend_from_slice(b"; HttpOnly");
        }
        if spec.secure {
            attr_suffix.extend_from_slice(b"; Secure");
        }
        for a in &spec.attrs {
            attr_suffix.extend_from_slice(b"; ");
            attr_suffix.extend_from_slice(a.as_bytes());
        }

        let name = spec.name.as_bytes();
        let mut servers = Vec::with_capacity(server_cookies.len());
        let mut by_value = Vec::new();
        for (i, value) in server_cookies.into_iter().enumerate() {
            let mut v = Vec::new();
            match &value {
                Some(val) => {
                    let problem = match std::str::from_utf8(val) {
                        Ok(text) => cookie_text_problem(text, false),
                        Err(_) => Some("expected UTF-8 text".to_string()),
                    };
                    if let Some(message) = problem {
                        return Err(format!("servers[{i}].cookie: {message}"));
                    }
                    by_value.push((val.clone().into_boxed_slice(), i));
                    v.extend_from_slice(name);
                    v.push(b'=');
                    v.extend_from_slice(val);
                    v.extend_from_slice(PATH);
                }
                None => {
                    v.extend_from_slice(name);
                    v.extend_from_slice(REMOVAL_MIDDLE);
                    v.extend_from_slice(PATH);
                }
            }
            v.extend_from_slice(&attr_suffix);
            let insert = HeaderValue::from_maybe_shared(Bytes::from(v))
                .map_err(|_| format!("servers[{i}].cookie: not a valid header value"))?;
            servers.push(ServerCookie {
                value: value.map(Vec::into_boxed_slice),
                insert,
            });
        }
        by_value.sort();

        Ok(CookiePolicy {
            spec,
            servers: servers.into_boxed_slice(),
            by_value: by_value.into_boxed_slice(),
            attr_suffix: attr_suffix.into_boxed_slice(),
            warnings,
        })
    }

    /// The configuration this policy was built from.
    pub fn spec(&self) -> &CookieSpec {
        &self.spec
    }

    /// Non-fatal remarks HAProxy would print as warnings (e.g. a domain without a dot).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Number of servers the policy knows.
    pub fn server_count(&self) -> usize {
        self.servers.len()
    }

    /// The cookie value of server `index`, None if it has none or does not exist.
    pub fn server_cookie(&self, index: usize) -> Option<&[u8]> {
        self.servers.get(index)?.value.as_deref()
    }

    /// HAProxy `ck_opts & PR_CK_ANY`: whether the log flags are shown
    /// (docs/haproxy-compatibility.md §8: a passive cookie without `indirect` logs `--`).
    pub(crate) fn shows_log_flags(&self) -> bool {
        self.spec.mode != CookieMode::Passive || self.spec.indirect
    }

    /// The servers whose value is exactly `value`, in declaration order.
    pub(crate) fn servers_with_value<'s>(
        &'s self,
        value: &'s [u8],
    ) -> impl Iterator<Item = usize> + 's {
        let start = self.by_value.partition_point(|(v, _)| &**v < value);
        self.by_value[start..]
            .iter()
            .take_while(move |(v, _)| &**v == value)
            .map(|&(_, i)| i)
    }

    /// The `Set-Cookie` value tether inserts for `server` (docs/haproxy-compatibility.md §5, §6):
    /// `NAME=VALUE[|LAST[|FIRST]]; path=/...`, or the removal cookie for a server without a
    /// value (an index the policy does not know counts as such a server). Dates are
    /// emitted when maxidle or maxlife is set; FIRST only with maxlife, and it is
    /// `first_date` (the cookie's valid first date, 0 = none) or else now.
    pub(crate) fn set_cookie_value(&self, server: usize, now: u32, first_date: u32) -> HeaderValue {
        let entry = match self.servers.get(server) {
            Some(e) => e,
            None => return self.removal_value(),
        };
        let value = match (
            &entry.value,
            self.spec.maxidle != 0 || self.spec.maxlife != 0,
        ) {
            (Some(v), true) => v,
            _ => return entry.insert.clone(),
        };
        let name = self.spec.name.as_bytes();
        let mut out = Vec::with_capacity(
            name.len() + 1 + value.len() + 12 + PATH.len() + self.attr_suffix.len(),
        );
        out.extend_from_slice(name);
        out.push(b'=');
        out.extend_from_slice(value);
        out.push(b'|');
        out.extend_from_slice(&encode_date(now));
        if self.spec.maxlife != 0 {
            out.push(b'|');
            if first_date != 0 {
                // HAProxy: s30tob64(txn->cookie_first_date >> 2)
                out.extend_from_slice(&encode_units(first_date >> 2));
            } else {
                out.extend_from_slice(&encode_date(now));
            }
        }
        out.extend_from_slice(PATH);
        out.extend_from_slice(&self.attr_suffix);
        // Every byte was validated in `new`, so this cannot fail; fall back to the
        // undated value rather than panic.
        HeaderValue::from_maybe_shared(Bytes::from(out)).unwrap_or_else(|_| entry.insert.clone())
    }

    fn removal_value(&self) -> HeaderValue {
        let name = self.spec.name.as_bytes();
        let mut out = Vec::with_capacity(
            name.len() + REMOVAL_MIDDLE.len() + PATH.len() + self.attr_suffix.len(),
        );
        out.extend_from_slice(name);
        out.extend_from_slice(REMOVAL_MIDDLE);
        out.extend_from_slice(PATH);
        out.extend_from_slice(&self.attr_suffix);
        HeaderValue::from_maybe_shared(Bytes::from(out))
            .unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

/// The spec's problems (`CookieSpec::problems`): the first error, or the warnings, each as
/// `cookie.<key>: <message>`.
fn validate(spec: &CookieSpec) -> Result<Vec<String>, String> {
    let describe = |p: &Problem| match p.index {
        Some(i) => format!("cookie.{}[{i}]: {}", p.key, p.message),
        None => format!("cookie.{}: {}", p.key, p.message),
    };
    let problems = spec.problems();
    match problems.iter().find(|p| !p.warning) {
        Some(error) => Err(describe(error)),
        None => Ok(problems.iter().map(describe).collect()),
    }
}
