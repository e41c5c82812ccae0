//! Decoding of the persistence sections of a backend: HAProxy's `cookie` directive and the
//! learned session table (`app_session`, HAProxy 1.5 `appsession`).

use std::time::Duration;

use crate::persist::appsession::{AppSessionSpec, CookieName, IdSource, IdSpec, UrlMode};
use crate::persist::{CookieMode, CookieSpec};

use super::decode::{
    boolean, describe, duration, enumeration, integer, one_or_many, string, At, Diag, MapReader,
};
use super::sections::positive_duration;
use super::validate;
use super::yaml::Node;

pub(super) const COOKIE: &[&str] = &[
    "name",
    "mode",
    "indirect",
    "nocache",
    "postonly",
    "preserve",
    "httponly",
    "secure",
    "domain",
    "attr",
    "maxidle",
    "maxlife",
    "dynamic_key",
];

pub(super) fn cookie(node: &Node, path: &str, diag: &mut Diag) -> Option<CookieSpec> {
    let mut r = MapReader::new(node, path, COOKIE, diag)?;
    let name = r.req("name", "the cookie name", diag, string);
    let mode = r.opt("mode", diag, |n, p, d| {
        enumeration(n, p, CookieMode::parse, CookieMode::NAMES, d)
    });
    let mut spec = CookieSpec::new(
        name.clone().unwrap_or_default(),
        mode.unwrap_or(CookieMode::Insert),
    );
    let mut flag = |name: &str, diag: &mut Diag| r.opt(name, diag, boolean).unwrap_or(false);
    spec.indirect = flag("indirect", diag);
    spec.nocache = flag("nocache", diag);
    spec.postonly = flag("postonly", diag);
    spec.preserve = flag("preserve", diag);
    spec.httponly = flag("httponly", diag);
    spec.secure = flag("secure", diag);
    // List items with where each is written, for the problems found below.
    let item = |n: &Node, p: &str, d: &mut Diag| Some((string(n, p, d)?, At::of(p, n)));
    let domains = r
        .opt("domain", diag, |n, p, d| one_or_many(n, p, d, item))
        .unwrap_or_default();
    let attrs = r
        .opt("attr", diag, |n, p, d| one_or_many(n, p, d, item))
        .unwrap_or_default();
    spec.domains = domains.iter().map(|(d, _)| d.clone()).collect();
    spec.attrs = attrs.iter().map(|(a, _)| a.clone()).collect();
    spec.maxidle = r.opt("maxidle", diag, cookie_age).unwrap_or(0);
    spec.maxlife = r.opt("maxlife", diag, cookie_age).unwrap_or(0);
    spec.dynamic_key = r.opt("dynamic_key", diag, string);
    // The core's rules (`CookieSpec::problems`), each reported where its key is. A name or
    // mode that did not decode has its own error already.
    let mode_known = mode.is_some() || !r.has("mode");
    for problem in spec.problems() {
        let at = match (problem.key, problem.index) {
            ("name", _) if name.is_none() => continue,
            ("name", _) => r.at("name"),
            ("domain", Some(i)) => match domains.get(i) {
                Some((_, at)) => at.clone(),
                None => continue,
            },
            ("attr", Some(i)) => match attrs.get(i) {
                Some((_, at)) => at.clone(),
                None => continue,
            },
            _ if !mode_known => continue,
            (key, _) => r.key_at(key),
        };
        if problem.warning {
            diag.warning(at.path, at.mark, problem.message);
        } else {
            diag.error_at(&at, problem.message);
        }
    }
    r.finish(diag);
    Some(spec)
}

/// HAProxy's largest `maxidle`/`maxlife` ("maximum value is 2147483647 s (~68 years)").
const MAX_COOKIE_AGE_SECS: u64 = 2_147_483_647;

/// `maxidle`/`maxlife` in seconds, 0 = off. HAProxy parses them with `parse_time_err()`
/// in seconds, rounding up, so `500ms` is 1 s and the minimum non-zero value is 1 s.
fn cookie_age(node: &Node, path: &str, diag: &mut Diag) -> Option<u32> {
    let d = duration(node, path, diag)?;
    let secs = d.as_millis().div_ceil(1000);
    match u32::try_from(secs)
        .ok()
        .filter(|&s| u64::from(s) <= MAX_COOKIE_AGE_SECS)
    {
        Some(secs) => Some(secs),
        None => {
            let message = format!("expected 0 (off) or a duration of at most {MAX_COOKIE_AGE_SECS}s (HAProxy's limit, ~68 years), got {}", describe(node));
            diag.error(path, node.mark, message);
            None
        }
    }
}

pub(super) const APP_SESSION: &[&str] = &[
    "key",
    "cookie",
    "len",
    "timeout",
    "request_learn",
    "prefix",
    "mode",
    "max_entries",
];

pub(super) fn app_session(node: &Node, path: &str, diag: &mut Diag) -> Option<AppSessionSpec> {
    let mut r = MapReader::new(node, path, APP_SESSION, diag)?;
    let key = r.opt("key", diag, |n, p, d| {
        enumeration(n, p, IdSource::parse, IdSource::NAMES, d)
    });
    let cookie = r.opt("cookie", diag, string);
    if let Some(name) = cookie.as_deref().filter(|&c| c != "*") {
        validate::cookie_text(name, true, &r.at("cookie"), diag);
    }
    let prefix = r.opt("prefix", diag, boolean).unwrap_or(false);
    let source = match key.clone().unwrap_or(IdSource::Cookie(CookieName::Any)) {
        IdSource::Cookie(_) => {
            IdSource::Cookie(CookieName::new(cookie.as_deref().unwrap_or("*"), prefix))
        }
        other => other,
    };
    let spec = AppSessionSpec {
        id: IdSpec {
            source,
            len: r
                .opt("len", diag, |n, p, d| integer(n, p, 1, u32::MAX.into(), d))
                .unwrap_or(52),
            url_mode: r
                .opt("mode", diag, |n, p, d| {
                    enumeration(n, p, UrlMode::parse, UrlMode::NAMES, d)
                })
                .unwrap_or_default(),
        },
        timeout: r
            .opt("timeout", diag, positive_duration)
            .unwrap_or(Duration::from_secs(3 * 3600)),
        request_learn: r.opt("request_learn", diag, boolean).unwrap_or(false),
        max_entries: r
            .opt("max_entries", diag, |n, p, d| {
                integer(n, p, 1, u64::MAX.into(), d)
            })
            .unwrap_or(1_000_000),
    };
    if key.is_some() || !r.has("key") {
        validate::app_session(&spec.id.source, cookie.as_deref(), prefix, &r, diag);
    }
    r.finish(diag);
    Some(spec)
}
