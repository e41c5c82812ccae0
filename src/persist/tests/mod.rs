//! Tests of the persistence core, named after the rule of docs/haproxy-compatibility.md §2-§9,
//! 2.2-2.3 they check. Cases marked "HAProxy 2.6.12" were also run through the real HAProxy
//! (see `haproxy_vectors.rs`, which replays every recorded exchange).

mod alloc;
mod dates;
mod haproxy_vectors;
mod policy;
mod property;
mod request;
mod response;

use super::*;

/// The time of the recorded HAProxy 2.6.12 exchanges: `(1795288301 + 3) >> 2` encodes to `awHs8`.
pub(super) const NOW: u32 = 1_795_288_301;

/// The servers of every test backend, in declaration order: s1 and s4 share the value
/// `s1`, s3 has none.
pub(super) fn servers() -> Vec<Option<Vec<u8>>> {
    vec![
        Some(b"s1".to_vec()),
        Some(b"s2".to_vec()),
        None,
        Some(b"s1".to_vec()),
    ]
}

pub(super) const S1: usize = 0;
pub(super) const S2: usize = 1;
pub(super) const S3: usize = 2;
pub(super) const S4: usize = 3;

/// A policy for cookie `SRV` in `mode`, adjusted by `f`.
pub(super) fn policy(mode: CookieMode, f: impl FnOnce(&mut CookieSpec)) -> CookiePolicy {
    let mut spec = CookieSpec::new("SRV", mode);
    f(&mut spec);
    CookiePolicy::new(spec, servers()).unwrap()
}

pub(super) fn insert_indirect() -> CookiePolicy {
    policy(CookieMode::Insert, |s| s.indirect = true)
}

pub(super) fn ctx() -> RequestContext {
    RequestContext {
        now: NOW,
        option_persist: false,
        rule: PersistOverride::None,
        assigned: None,
    }
}

/// Request analysis with every server up.
pub(super) fn req(p: &CookiePolicy, headers: &[&str]) -> RequestVerdict {
    req_with(p, headers, &ctx(), &[])
}

pub(super) fn req_with(
    p: &CookiePolicy,
    headers: &[&str],
    ctx: &RequestContext,
    stopped: &[usize],
) -> RequestVerdict {
    let h: Vec<&[u8]> = headers.iter().map(|s| s.as_bytes()).collect();
    analyse_request(p, &h, ctx, |i| stopped.contains(&i))
}

/// The header list after applying `edits`, as the proxy forwards it.
pub(super) fn apply(headers: &[&str], edits: &[HeaderEdit]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        match edits.iter().find(|e| e.index == i).map(|e| &e.action) {
            Some(EditAction::Remove) => {}
            Some(EditAction::Replace(v)) => out.push(String::from_utf8(v.clone()).unwrap()),
            None => out.push((*h).to_string()),
        }
    }
    out
}

/// Forwarded Cookie headers of a request analysis.
pub(super) fn fwd(p: &CookiePolicy, headers: &[&str]) -> Vec<String> {
    apply(headers, &req(p, headers).edits)
}

/// A response context: served by `served`, GET, 200, not direct, not cacheable.
pub(super) fn rctx(served: Option<usize>) -> ResponseContext {
    ResponseContext {
        now: NOW,
        served,
        direct: false,
        ignore_persist: false,
        is_post: false,
        status: 200,
        cacheable: false,
        last_date: 0,
        first_date: 0,
    }
}

pub(super) fn resp(
    p: &CookiePolicy,
    set_cookies: &[&str],
    ctx: &ResponseContext,
) -> ResponseVerdict {
    let h: Vec<&[u8]> = set_cookies.iter().map(|s| s.as_bytes()).collect();
    analyse_response(p, &h, ctx)
}

/// The inserted Set-Cookie value as a string, if any.
pub(super) fn inserted(v: &ResponseVerdict) -> Option<&str> {
    v.insert.as_ref().map(|h| h.to_str().unwrap())
}

/// The two cookie log characters (`%tsc` characters 3-4).
pub(super) fn flags(r: &RequestVerdict, s: &ResponseVerdict) -> String {
    format!("{}{}", r.flag.as_char(), s.flag.as_char())
}

/// Request then response, the way the proxy chains them: the cookie's server serves the
/// request, else `lb` (the load balancer's pick).
pub(super) fn exchange(
    p: &CookiePolicy,
    cookies: &[&str],
    lb: usize,
    set_cookies: &[&str],
) -> (RequestVerdict, ResponseVerdict) {
    let r = req(p, cookies);
    let mut c = rctx(Some(r.server.unwrap_or(lb)));
    c.direct = r.server.is_some();
    c.last_date = r.last_date;
    c.first_date = r.first_date;
    let s = resp(p, set_cookies, &c);
    (r, s)
}
