//! Decoding of the persistence sections of a backend: HAProxy's `cookie` directive and the
//! learned session table (`app_session`, HAProxy 1.5 `appsession`).

use std::time::Duration;

use crate::persist::CookieMode;

use super::decode::{
    boolean, describe, duration, enumeration, integer, one_or_many, string, At, Diag, MapReader,
};
use super::schema::*;
use super::sections::positive_duration;
use super::validate;
use super::yaml::Node;

const COOKIE: &[&str] = &[
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

pub(super) fn cookie(node: &Node, path: &str, diag: &mut Diag) -> Option<Cookie> {
    let mut r = MapReader::new(node, path, COOKIE, diag)?;
    let name = r.req("name", "the cookie name", diag, string);
    if let Some(name) = &name {
        validate::cookie_text(name, true, &r.at("name"), diag);
    }
    let mode = r.opt("mode", diag, |n, p, d| {
        enumeration(n, p, CookieMode::parse, CookieMode::NAMES, d)
    });
    let mut flag = |name: &str, diag: &mut Diag| r.opt(name, diag, boolean).unwrap_or(false);
    let (indirect, nocache, postonly) = (
        flag("indirect", diag),
        flag("nocache", diag),
        flag("postonly", diag),
    );
    let (preserve, httponly, secure) = (
        flag("preserve", diag),
        flag("httponly", diag),
        flag("secure", diag),
    );
    let domain = r.opt("domain", diag, |n, p, d| {
        one_or_many(n, p, d, |n, p, d| {
            let domain = string(n, p, d)?;
            validate::domain(&domain, &At::of(p, n), d);
            Some(domain)
        })
    });
    let attr = r.opt("attr", diag, |n, p, d| {
        one_or_many(n, p, d, |n, p, d| {
            let attr = string(n, p, d)?;
            validate::attr(&attr, &At::of(p, n), d);
            Some(attr)
        })
    });
    let maxidle = r.opt("maxidle", diag, cookie_age).flatten();
    let maxlife = r.opt("maxlife", diag, cookie_age).flatten();
    let dynamic_key = r.opt("dynamic_key", diag, string);
    let cookie = Cookie {
        name: name.unwrap_or_default(),
        mode: mode.unwrap_or(CookieMode::Insert),
        indirect,
        nocache,
        postonly,
        preserve,
        httponly,
        secure,
        domain: domain.unwrap_or_default(),
        attr: attr.unwrap_or_default(),
        maxidle,
        maxlife,
        dynamic_key,
    };
    if mode.is_some() || !r.has("mode") {
        validate::cookie(&cookie, &r, diag);
    }
    r.finish(diag);
    Some(cookie)
}

/// HAProxy's largest `maxidle`/`maxlife` ("maximum value is 2147483647 s (~68 years)").
const MAX_COOKIE_AGE_SECS: u64 = 2_147_483_647;

/// `maxidle`/`maxlife`: 0 is off (`Some(None)`). HAProxy parses them with `parse_time_err()`
/// in seconds, rounding up, so `500ms` is 1 s and the minimum non-zero value is 1 s.
fn cookie_age(node: &Node, path: &str, diag: &mut Diag) -> Option<Option<Duration>> {
    let d = duration(node, path, diag)?;
    let secs = d.as_millis().div_ceil(1000);
    if secs == 0 {
        return Some(None);
    }
    match u64::try_from(secs)
        .ok()
        .filter(|&s| s <= MAX_COOKIE_AGE_SECS)
    {
        Some(secs) => Some(Some(Duration::from_secs(secs))),
        None => {
            let message = format!("expected 0 (off) or a duration of at most {MAX_COOKIE_AGE_SECS}s (HAProxy's limit, ~68 years), got {}", describe(node));
            diag.error(path, node.mark, message);
            None
        }
    }
}

const APP_SESSION: &[&str] = &[
    "key",
    "cookie",
    "len",
    "timeout",
    "request_learn",
    "prefix",
    "mode",
    "max_entries",
];

pub(super) fn app_session(node: &Node, path: &str, diag: &mut Diag) -> Option<AppSession> {
    let mut r = MapReader::new(node, path, APP_SESSION, diag)?;
    let key = r.opt("key", diag, |n, p, d| {
        enumeration(n, p, AppSessionKey::parse, AppSessionKey::NAMES, d)
    });
    let cookie = r.opt("cookie", diag, string);
    if let Some(name) = cookie.as_deref().filter(|&c| c != "*") {
        validate::cookie_text(name, true, &r.at("cookie"), diag);
    }
    let session = AppSession {
        key: key.clone().unwrap_or(AppSessionKey::Cookie),
        cookie,
        len: r
            .opt("len", diag, |n, p, d| integer(n, p, 1, u32::MAX.into(), d))
            .unwrap_or(52),
        timeout: r
            .opt("timeout", diag, positive_duration)
            .unwrap_or(Duration::from_secs(3 * 3600)),
        request_learn: r.opt("request_learn", diag, boolean).unwrap_or(false),
        prefix: r.opt("prefix", diag, boolean).unwrap_or(false),
        mode: r
            .opt("mode", diag, |n, p, d| {
                enumeration(n, p, UrlIdMode::parse, UrlIdMode::NAMES, d)
            })
            .unwrap_or_default(),
        max_entries: r
            .opt("max_entries", diag, |n, p, d| {
                integer(n, p, 1, u64::MAX.into(), d)
            })
            .unwrap_or(1_000_000),
    };
    if key.is_some() || !r.has("key") {
        validate::app_session(&session, &r, diag);
    }
    r.finish(diag);
    Some(session)
}
