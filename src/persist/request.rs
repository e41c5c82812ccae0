//! Request side: finds the persistence cookie in the `Cookie` headers, picks the server it
//! names and rewrites the headers the way HAProxy forwards them (docs/haproxy-compatibility.md §3).
//! A faithful port of HAProxy 2.6 `http_manage_client_side_cookies()` (`src/http_ana.c`), minus the
//! frontend `capture cookie` part.

use super::date::decode_date;
use super::edit::{EditAction, HeaderEdit, LineBuf};
use super::flags::ClientFlag;
use super::mode::CookieMode;
use super::policy::CookiePolicy;
use super::scan::{parse_item, trim_lws, Item};

/// HAProxy `COOKIE_DELIM`: separates the server part from the application value in prefix
/// mode.
const PREFIX_DELIM: u8 = b'~';
/// HAProxy `COOKIE_DELIM_DATE`: introduces the last / first seen dates.
const DATE_DELIM: u8 = b'|';
/// Dates further than this in the future are refused (timezone slack, docs/haproxy-compatibility.md
/// §3.3).
const FUTURE_SLACK_SECS: i32 = 86_400;

/// Outcome of `force_persist` / `ignore_persist` evaluation (first matching rule wins; done
/// by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PersistOverride {
    None,
    /// HAProxy `SF_FORCE_PRST`: down and maint servers are honoured.
    Force,
    /// HAProxy `SF_IGNORE_PRST`: the cookie is not used (but still removed with
    /// insert+indirect) and nothing is inserted in the response.
    Ignore,
}

/// What the caller knows about the request before cookie analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestContext {
    /// Unix seconds.
    pub now: u32,
    /// Backend `persist: true` (HAProxy `option persist`).
    pub option_persist: bool,
    pub rule: PersistOverride,
    /// A server already assigned before cookie analysis (HAProxy `SF_ASSIGNED`, e.g. by a
    /// `use-server` rule): the cookie is then not used (flag `U`).
    pub assigned: Option<usize>,
}

/// The result of the request analysis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestVerdict {
    /// Server chosen by the cookie: the request becomes DIRECT (HAProxy `SF_DIRECT`).
    pub server: Option<usize>,
    pub flag: ClientFlag,
    /// Last seen date carried by the cookie, 0 = none (HAProxy `txn->cookie_last_date`).
    pub last_date: u32,
    /// First seen date carried by the cookie, 0 = none.
    pub first_date: u32,
    /// Edits of the `Cookie` header list; empty (no allocation) when nothing changes.
    pub edits: Vec<HeaderEdit>,
    /// A server the cookie named but that was stopped (maint or down) and therefore not
    /// used: tells the metrics why the client was moved.
    pub stopped: Option<usize>,
}

/// Analyses the `Cookie` headers of a request.
///
/// `cookie_headers` holds the values of every `Cookie` header, in order; they stay
/// separate headers. (For an HTTP/2 request, HAProxy first joins the `cookie` fields into
/// one header with `"; "`; the caller does the same.) Values are analysed as HAProxy holds
/// them, without surrounding blanks: a replacement is the trimmed, edited value.
/// `is_stopped(i)` is HAProxy's `srv->cur_state == SRV_ST_STOPPED` (server i in
/// maintenance or down; drain, NOLB and weight 0 are not stopped).
pub fn analyse_request(
    policy: &CookiePolicy,
    cookie_headers: &[&[u8]],
    ctx: &RequestContext,
    is_stopped: impl Fn(usize) -> bool,
) -> RequestVerdict {
    let mut txn = Txn {
        policy,
        ctx,
        is_stopped,
        flag: ClientFlag::None,
        last_date: 0,
        first_date: 0,
        assigned: ctx.assigned.is_some(),
        server: None,
        stopped: None,
    };
    let mut edits = Vec::new();
    for (index, value) in cookie_headers.iter().enumerate() {
        if let Some(action) = txn.process_header(value) {
            edits.push(HeaderEdit { index, action });
        }
    }
    let flag = if policy.shows_log_flags() {
        txn.flag
    } else {
        ClientFlag::NotConfigured
    };
    RequestVerdict {
        server: txn.server,
        flag,
        last_date: txn.last_date,
        first_date: txn.first_date,
        edits,
        stopped: txn.stopped,
    }
}

/// The per-request state HAProxy keeps in `txn` and `s->flags` across every cookie of
/// every `Cookie` header.
struct Txn<'a, F> {
    policy: &'a CookiePolicy,
    ctx: &'a RequestContext,
    is_stopped: F,
    /// `txn->flags & TX_CK_MASK`; `ClientFlag::None` is `TX_CK_NONE`.
    flag: ClientFlag,
    last_date: u32,
    first_date: u32,
    /// `s->flags & SF_ASSIGNED`.
    assigned: bool,
    server: Option<usize>,
    stopped: Option<usize>,
}

impl<F: Fn(usize) -> bool> Txn<'_, F> {
    /// One `Cookie` header: the loop body of `http_manage_client_side_cookies()`.
    fn process_header(&mut self, value: &[u8]) -> Option<EditAction> {
        let spec = self.policy.spec();
        let name = spec.name.as_bytes();
        let prefix_mode = spec.mode == CookieMode::Prefix;
        let delete_ours = spec.mode == CookieMode::Insert && spec.indirect;

        let mut buf = LineBuf::new(trim_lws(value));
        // The delimiter before the first of our cookies pending deletion (`del_from`).
        let mut del_from: Option<usize> = None;
        // Whether some cookie of this header must be kept (`preserve_hdr`).
        let mut preserve_hdr = false;
        let mut prev = 0;
        let mut is_first = true;
        while prev < buf.len() {
            let mut it = parse_item(buf.bytes(), prev, is_first, true);
            is_first = false;

            // RFC2109 attributes (`$Version`, `$Path`...) belong to the cookie before them
            // and go away with it.
            if buf.bytes().get(it.att_beg) == Some(&b'$') {
                prev = it.next;
                continue;
            }

            if it.has_no_equal() {
                // Not our cookie: keep it, and flush a pending deletion before it.
                preserve_hdr = true;
                if let Some(mut from) = del_from.take() {
                    let delta = buf.del_hdr_value(&mut from, prev);
                    it.next = it.next.saturating_add_signed(delta);
                }
                prev = it.next;
                continue;
            }

            buf.strip_blanks_around_equal(&mut it);

            if buf.bytes().get(it.att_beg..it.att_end) == Some(name) {
                let delim = self.persistence_cookie(buf.bytes(), &it);
                if prefix_mode && delim != it.val_end {
                    // Strip `SRV~` so the server sees its own value, whether or not the
                    // server part matched (docs/haproxy-compatibility.md §3.2, seen on HAProxy
                    // 2.6.12).
                    buf.remove(it.val_beg..delim + 1);
                    let delta = it.val_beg as isize - (delim + 1) as isize;
                    it.next = it.next.saturating_add_signed(delta);
                    del_from = None;
                    preserve_hdr = true;
                } else if del_from.is_none() && delete_ours {
                    del_from = Some(prev);
                }
            } else {
                preserve_hdr = true;
                if let Some(mut from) = del_from.take() {
                    let delta = buf.del_hdr_value(&mut from, prev);
                    it.next = it.next.saturating_add_signed(delta);
                }
            }
            prev = it.next;
        }

        // Cookies still marked for deletion at the end of the line: cut from the mark, or
        // drop the whole header if nothing else must be kept.
        let keep = match del_from {
            Some(from) if preserve_hdr => from,
            Some(_) => 0,
            None => buf.len(),
        };
        buf.into_action(keep)
    }

    /// Our cookie, `NAME=SRV[|<last>[|<first>]]` or `NAME=SRV~VALUE` in prefix mode: reads
    /// the dates, applies maxlife / maxidle, and looks the server up. Returns `delim`, the
    /// end of the server part (`val_beg` when the cookie is to be treated as absent).
    fn persistence_cookie(&mut self, b: &[u8], it: &Item) -> usize {
        let spec = self.policy.spec();
        let value = b.get(it.val_beg..it.val_end).unwrap_or(&[]);
        let mut delim = it.val_end;
        if spec.mode == CookieMode::Prefix {
            if let Some(p) = value.iter().position(|&c| c == PREFIX_DELIM) {
                delim = it.val_beg + p;
            }
        } else if let Some(p) = value.iter().position(|&c| c == DATE_DELIM) {
            delim = it.val_beg + p;
            let after = &value[p + 1..];
            // At least 5 characters after the bar: the last seen date; a date that does
            // not decode (or decodes to 0) is ignored, leaving any earlier one in place.
            if let Some(d) = decode_date(after) {
                self.last_date = d;
            }
            // The second bar is searched from just after the first one.
            if let Some(q) = after.iter().position(|&c| c == DATE_DELIM) {
                if let Some(d) = decode_date(&after[q + 1..]) {
                    self.first_date = d;
                }
            }
        }

        // Dates are compared as HAProxy does: `(signed)(now - date)` in 32 bits.
        let now = self.ctx.now;
        let too_far = |date: u32, max: u32| {
            (now.wrapping_sub(date) as i32) > max as i32
                || (date.wrapping_sub(now) as i32) > FUTURE_SLACK_SECS
        };
        if self.first_date != 0 && spec.maxlife != 0 && too_far(self.first_date, spec.maxlife) {
            self.flag = ClientFlag::Old;
            delim = it.val_beg;
            self.first_date = 0;
            self.last_date = 0;
        } else if self.last_date != 0 && spec.maxidle != 0 && too_far(self.last_date, spec.maxidle)
        {
            self.flag = ClientFlag::Expired;
            delim = it.val_beg;
            self.first_date = 0;
            self.last_date = 0;
        }

        // An empty server part never matches (so that clients holding an empty cookie do
        // not stick to cookie-less servers); ignore-persist and an assigned server skip
        // the lookup.
        let ignore = self.ctx.rule == PersistOverride::Ignore;
        let mut found = false;
        if delim != it.val_beg && !ignore && !self.assigned {
            let force = self.ctx.option_persist || self.ctx.rule == PersistOverride::Force;
            let srv_part = b.get(it.val_beg..delim).unwrap_or(&[]);
            for idx in self.policy.servers_with_value(srv_part) {
                let stopped = (self.is_stopped)(idx);
                if !stopped || force {
                    self.flag = if stopped {
                        ClientFlag::Down
                    } else {
                        ClientFlag::Valid
                    };
                    self.assigned = true;
                    self.server = Some(idx);
                    found = true;
                    break;
                }
                // A stopped server with this value: remember it and look for another one.
                self.flag = ClientFlag::Down;
                self.stopped = Some(idx);
            }
        }
        // HAProxy tests `!(txn->flags & (TX_CK_DOWN|TX_CK_EXPIRED|TX_CK_OLD))`; those
        // three values cover every bit of TX_CK_MASK, so the test really means "no flag
        // was set yet by any cookie of this request".
        if !found && self.flag == ClientFlag::None {
            self.flag = if ignore || self.assigned {
                ClientFlag::Unused
            } else {
                ClientFlag::Invalid
            };
        }
        delim
    }
}
