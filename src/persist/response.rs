//! Response side: the server's `Set-Cookie` headers (docs/haproxy-compatibility.md §4; HAProxy 2.6
//! `http_manage_server_side_cookies()`) and the decision to insert our own cookie
//! (docs/haproxy-compatibility.md §5; the "Add server cookie in the response if needed" block of
//! `http_process_res_common()`).
//!
//! `Set-Cookie2` is deliberately not processed: HAProxy 2.6 still looked at it, but no
//! client ever implemented it, HAProxy removed it in 2.7 (commit aa1909edf, GH #1551), and
//! 2.6's partial deletion inside a multi-cookie `Set-Cookie2` line moves bytes without
//! updating the header length (checked on 2.6.12 in insert mode: `Set-Cookie2: SRV=x, a=1`
//! is forwarded as `set-cookie2: a=1=x, a=1`). tether forwards `Set-Cookie2` untouched, as
//! HAProxy >= 2.7 does.

use super::edit::{EditAction, HeaderEdit, LineBuf};
use super::flags::ServerFlag;
use super::mode::CookieMode;
use super::policy::CookiePolicy;
use super::scan::{parse_item, trim_lws};
use http::HeaderValue;

/// What the caller knows about the exchange when the response headers arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseContext {
    /// Unix seconds.
    pub now: u32,
    /// Server that produced the response; None = tether's own answer.
    pub served: Option<usize>,
    /// HAProxy `SF_DIRECT`: the request was persisted (cookie, app session, stick table,
    /// use-server, force-persist).
    pub direct: bool,
    /// HAProxy `SF_IGNORE_PRST`: an ignore-persist rule matched.
    pub ignore_persist: bool,
    pub is_post: bool,
    pub status: u16,
    /// From [`super::is_cacheable`], computed by the caller before the call.
    pub cacheable: bool,
    /// From the [`super::RequestVerdict`].
    pub last_date: u32,
    pub first_date: u32,
}

/// The result of the response analysis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseVerdict {
    /// Edits of the `Set-Cookie` header list.
    pub edits: Vec<HeaderEdit>,
    /// `Set-Cookie` value to append after every header of the server.
    pub insert: Option<HeaderValue>,
    /// Append `Cache-control: private` after the inserted cookie (`nocache`).
    pub cache_private: bool,
    pub flag: ServerFlag,
}

/// Analyses the `Set-Cookie` headers of a response (`set_cookie_headers`: the value of
/// every `Set-Cookie` header, in order; a replacement is the trimmed, edited value) and
/// decides whether to insert our cookie.
///
/// 1xx responses other than 101 are not examined at all (HAProxy forwards them before the
/// response analysers run).
pub fn analyse_response(
    policy: &CookiePolicy,
    set_cookie_headers: &[&[u8]],
    ctx: &ResponseContext,
) -> ResponseVerdict {
    let mut verdict = ResponseVerdict {
        edits: Vec::new(),
        insert: None,
        cache_private: false,
        flag: ServerFlag::None,
    };
    if ctx.status >= 200 || ctx.status == 101 {
        for (index, value) in set_cookie_headers.iter().enumerate() {
            if let Some(action) = process_set_cookie(policy, value, ctx, &mut verdict.flag) {
                verdict.edits.push(HeaderEdit { index, action });
            }
        }
        decide_insertion(policy, ctx, &mut verdict);
    }
    if !policy.shows_log_flags() {
        verdict.flag = ServerFlag::NotApplicable;
    }
    verdict
}

/// One `Set-Cookie` header. Only its first `name=value` is a cookie: what follows the first
/// `;` is attributes, and a comma does not split (Expires dates contain one).
fn process_set_cookie(
    policy: &CookiePolicy,
    value: &[u8],
    ctx: &ResponseContext,
    flag: &mut ServerFlag,
) -> Option<EditAction> {
    let spec = policy.spec();
    let mut buf = LineBuf::new(trim_lws(value));
    if buf.len() == 0 {
        return None;
    }
    let mut it = parse_item(buf.bytes(), 0, true, false);
    // Ignore a first item without `=`. (Its `next` would be moved to the end of the line,
    // which ends HAProxy's loop: nothing else of the line is looked at.)
    if it.equal == it.val_end {
        return None;
    }
    buf.strip_blanks_around_equal(&mut it);

    let ours = !ctx.ignore_persist
        && buf.bytes().get(it.att_beg..it.att_end) == Some(spec.name.as_bytes());
    if ours {
        *flag = ServerFlag::Provided;
        let srv_cookie = ctx.served.and_then(|s| policy.server_cookie(s));
        if spec.preserve {
            // The server's cookie is left untouched (and nothing will be inserted).
        } else if (ctx.served.is_some() && spec.mode == CookieMode::Insert)
            || (ctx.direct && spec.indirect)
        {
            // We insert our own later, or the client already holds a valid one: the
            // header holds only this cookie, so it goes entirely.
            *flag = ServerFlag::Deleted;
            return Some(EditAction::Remove);
        } else if let (Some(c), CookieMode::Rewrite) = (srv_cookie, spec.mode) {
            buf.replace(it.val_beg..it.val_end, c);
            *flag = ServerFlag::Rewritten;
        } else if let (Some(c), CookieMode::Prefix) = (srv_cookie, spec.mode) {
            buf.replace(it.val_beg..it.val_beg, c);
            let tilde = it.val_beg + c.len();
            buf.replace(tilde..tilde, b"~");
            *flag = ServerFlag::Rewritten;
        }
    }
    let len = buf.len();
    buf.into_action(len)
}

/// Whether HAProxy inserts `Set-Cookie` (docs/haproxy-compatibility.md §5.1): a real server, insert
/// mode, not (preserve and the server sent our cookie), postonly satisfied, no ignore-persist, and
/// a) not DIRECT, or b) a date to refresh / remove, or c) a first date to set, or d) a
/// first date to drop.
fn decide_insertion(policy: &CookiePolicy, ctx: &ResponseContext, verdict: &mut ResponseVerdict) {
    let spec = policy.spec();
    let Some(server) = ctx.served else { return };
    // HAProxy's dates are `int`; a stored date is "earlier than now" in 64-bit arithmetic.
    let last_is_past = i64::from(ctx.last_date as i32) < i64::from(ctx.now);
    let wanted = spec.mode == CookieMode::Insert
        && !(verdict.flag == ServerFlag::Provided && spec.preserve)
        && (!ctx.direct
            || ((spec.maxidle != 0 || ctx.last_date != 0) && (ctx.last_date == 0 || last_is_past))
            || (spec.maxlife != 0 && ctx.first_date == 0)
            || (spec.maxlife == 0 && ctx.first_date != 0))
        && (!spec.postonly || ctx.is_post)
        && !ctx.ignore_persist;
    if !wanted {
        return;
    }
    verdict.insert = Some(policy.set_cookie_value(server, ctx.now, ctx.first_date));
    verdict.flag = if policy.server_cookie(server).is_some() && ctx.direct {
        ServerFlag::Updated
    } else {
        ServerFlag::Inserted
    };
    // "HTTP/1.0 caches also cache cookies": mark the reply private when it was cacheable.
    verdict.cache_private = spec.nocache && ctx.cacheable;
}
