//! Learned session persistence: HAProxy 1.5's `appsession`, OCI's application-cookie
//! persistence, and stick-on-key for clients that carry no application cookie.
//!
//! The application issues its own session id (PHPSESSID, JSESSIONID, ...). tether learns
//! which server issued it — from the server's `Set-Cookie`, and with `request_learn` also
//! from requests — and afterwards sends every request that carries the id, in a cookie or
//! in the URL (`;jsessionid=`), to that server. With `key: src | header:X | url_param:X` the
//! id is the client address, a header or a query parameter instead, learned on the request.
//!
//! Rules (docs/haproxy-compatibility.md §15), and where tether departs from HAProxy 1.5 on
//! purpose:
//! - Precedence: the persistence cookie (`cookie:`) is consulted first; the table only
//!   routes requests the cookie did not (HAProxy's order: cookie, then stick rules). The
//!   table still learns from every response, so both stay consistent.
//! - A cookie hit is final: the URL is only searched when the request carries no id cookie
//!   (HAProxy 1.5 without `request-learn` let a URL id override a cookie id, which users
//!   found confusing — serverfault 550910).
//! - The persistence test, as for cookies: the id's server takes the request unless it is
//!   stopped (maint or down), or `persist` / `force_persist` applies. Drain, weight 0,
//!   NOLB and backup servers keep their ids.
//! - An entry never moves to another server while its owner can take its clients
//!   (HAProxy 1.5: an existing entry was only refreshed, whoever set the id): a
//!   `Set-Cookie` for an id held by another available server, or a request the
//!   persistence cookie sent elsewhere, leaves the entry where it is. It moves to the
//!   server that served the client when its owner could not: stopped, gone from the
//!   configuration, or left after a failed attempt or a full queue (1.5 never re-pointed,
//!   stranding such clients until expiry).
//! - A Set-Cookie that deletes the application cookie (`Max-Age=0`, an `Expires` in the
//!   past, an empty value) removes the entry (OCI behaviour).
//! - `ignore_persist` disables lookup and learning; `failover: false` answers 502 to an id
//!   whose server is unavailable, until the id is gone (`persist::refuses_to_move`).

pub mod extract;
pub mod table;

use std::net::IpAddr;

use smallvec::SmallVec;

pub use extract::{CookieName, IdSource, IdSpec, SetCookieId, UrlMode};
pub use table::{Learned, ServerRef, SessionTable};

use super::request::{PersistOverride, RequestContext};

/// A backend's `app_session:` as the configuration gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSessionSpec {
    /// `key`, `cookie`, `prefix`, `len`, `mode`.
    pub id: IdSpec,
    /// Ids seen in requests are learned too (HAProxy `request-learn`). Default false.
    pub request_learn: bool,
    /// Idle expiry of an entry. Default 3 h.
    pub timeout: std::time::Duration,
    /// Hard bound on the entries held. Default 1 000 000.
    pub max_entries: u64,
}

/// A backend's `app_session:`: how ids are found, the table, and the link between the
/// table's server identities (names) and the backend's current servers.
pub struct AppSessions {
    pub spec: IdSpec,
    pub request_learn: bool,
    pub table: SessionTable,
    /// The header read with `key: header:<name>`, parsed once.
    pub header: Option<http::header::HeaderName>,
    /// The table's identity of each server, in declaration order.
    refs: Vec<ServerRef>,
}

/// What the request side found.
#[derive(Debug, Default)]
pub struct RequestVerdict {
    /// The id the request carries (the one that hit, else the first found), kept for
    /// learning when the response arrives.
    pub id: Option<Box<[u8]>>,
    /// The id is in the table.
    pub hit: bool,
    /// The server the table names for it, as a pool index (when that server still exists).
    pub owner: Option<usize>,
    /// The server the table routes the request to (the request is then DIRECT).
    pub server: Option<usize>,
    pub outcome: Outcome,
}

/// The server that answered a request, and the one it left (a failed attempt, a full queue).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Served {
    pub server: usize,
    /// The server a retry moved the request away from (redispatch), if any.
    pub left: Option<usize>,
}

/// What the table did for one request, for the log and the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Outcome {
    /// No id in the request (or app sessions not consulted).
    #[default]
    None,
    /// The id is unknown.
    Miss,
    /// The id's server took the request.
    Hit,
    /// The id's server was unavailable: the client was balanced elsewhere (or refused
    /// with `failover: false`).
    ServerDown,
    /// The cookie already chose the server; the table was not consulted for routing.
    Skipped,
}

/// A client address as a table key: 4 bytes for IPv4 (also when v4-mapped), 16 for IPv6.
enum IpKey {
    V4([u8; 4]),
    V6([u8; 16]),
}

impl IpKey {
    fn bytes(&self) -> &[u8] {
        match self {
            IpKey::V4(b) => b,
            IpKey::V6(b) => b,
        }
    }
}

/// What the response side did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learning {
    Nothing,
    Learned(Learned),
    Forgotten,
}

/// The parts of a request the id sources read.
pub struct RequestParts<'a> {
    pub method: &'a http::Method,
    /// The request target as received (path and query).
    pub target: &'a [u8],
    pub cookies: &'a [&'a [u8]],
    /// Values of the `key: header:<name>` header, when that is the source.
    pub header: &'a [&'a [u8]],
    pub client: Option<IpAddr>,
}

impl AppSessions {
    /// The table of `spec` for a backend with these servers (declaration order).
    pub fn from_spec(spec: &AppSessionSpec, server_names: &[&str]) -> Self {
        Self::new(
            spec.id.clone(),
            spec.request_learn,
            SessionTable::new(spec.max_entries, spec.timeout),
            server_names,
        )
    }

    pub fn new(
        spec: IdSpec,
        request_learn: bool,
        table: SessionTable,
        server_names: &[&str],
    ) -> Self {
        let refs = server_names.iter().map(|n| table.server_ref(n)).collect();
        let header = match &spec.source {
            IdSource::Header(name) => http::header::HeaderName::from_bytes(name.as_bytes()).ok(),
            _ => None,
        };
        AppSessions {
            spec,
            request_learn,
            table,
            header,
            refs,
        }
    }

    /// The table's identity of server `idx`.
    pub fn server_ref(&self, idx: usize) -> Option<ServerRef> {
        self.refs.get(idx).copied()
    }

    /// The pool index of a server the table names (None when no current server has that
    /// name any more).
    pub fn index_of(&self, server: ServerRef) -> Option<usize> {
        self.refs.iter().position(|r| *r == server)
    }

    /// Entries pointing at server `idx` (as of the last sweep).
    pub fn sessions_of(&self, idx: usize) -> u64 {
        self.server_ref(idx)
            .map_or(0, |r| self.table.sessions_of(r))
    }

    /// Finds the request's id, looks it up and decides whether the table routes the
    /// request. `None`: the table is not consulted (`ignore_persist`), and learns nothing
    /// from the response either. `ctx.assigned` is the server the persistence cookie
    /// chose, which the table does not override; `is_stopped(i)` is the persistence
    /// test's input (server i in maint or down), as for cookies.
    pub fn on_request(
        &self,
        req: &RequestParts<'_>,
        ctx: &RequestContext,
        is_stopped: impl Fn(usize) -> bool,
    ) -> Option<RequestVerdict> {
        if ctx.rule == PersistOverride::Ignore {
            return None;
        }
        let mut verdict = self.look_up(req, ctx.now);
        if verdict.hit {
            if ctx.assigned.is_some() {
                verdict.outcome = Outcome::Skipped;
            } else {
                let persisted = ctx.option_persist || ctx.rule == PersistOverride::Force;
                match verdict.owner {
                    Some(i) if persisted || !is_stopped(i) => verdict.server = Some(i),
                    _ => verdict.outcome = Outcome::ServerDown,
                }
            }
        }
        Some(verdict)
    }

    /// The id the request carries and what the table holds for it.
    fn look_up(&self, req: &RequestParts<'_>, now: u32) -> RequestVerdict {
        let ip = req.client.map(|ip| match ip {
            IpAddr::V4(v4) => IpKey::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpKey::V4(v4.octets()),
                None => IpKey::V6(v6.octets()),
            },
        });
        let mut candidates: SmallVec<[&[u8]; 4]> = SmallVec::new();
        match &self.spec.source {
            IdSource::Cookie(_) => {
                candidates.extend(extract::request_cookie_ids(&self.spec, req.cookies));
                // The URL is only searched when no id cookie came (see the module docs),
                // and only for the methods HAProxy searched.
                let searchable = matches!(
                    *req.method,
                    http::Method::GET | http::Method::POST | http::Method::HEAD
                );
                if candidates.is_empty() && searchable {
                    candidates.extend(extract::url_id(&self.spec, req.target));
                }
            }
            IdSource::Src => candidates.extend(ip.as_ref().map(IpKey::bytes)),
            IdSource::Header(_) => candidates.extend(extract::header_id(&self.spec, req.header)),
            IdSource::UrlParam(_) => {
                candidates.extend(extract::url_param_id(&self.spec, req.target))
            }
        }
        for id in &candidates {
            if let Some(server) = self.table.lookup(id, now) {
                return RequestVerdict {
                    id: Some((*id).into()),
                    hit: true,
                    owner: self.index_of(server),
                    server: None,
                    outcome: Outcome::Hit,
                };
            }
        }
        match candidates.first() {
            Some(id) => RequestVerdict {
                id: Some((*id).into()),
                hit: false,
                owner: None,
                server: None,
                outcome: Outcome::Miss,
            },
            None => RequestVerdict::default(),
        }
    }

    /// Learns from the response: the application's Set-Cookie first (set, or deleted),
    /// else the request's id when the source is learned on requests (`request_learn`, or
    /// any non-cookie key), or when the request's entry must follow its client to another
    /// server. An id held by another server moves only when that server could not take
    /// the client (see the module docs); `is_stopped` as in [`on_request`](Self::on_request).
    pub fn on_response(
        &self,
        set_cookies: &[&[u8]],
        request: &RequestVerdict,
        served: Served,
        now: u32,
        is_stopped: impl Fn(usize) -> bool,
    ) -> Learning {
        let Some(server) = self.server_ref(served.server) else {
            return Learning::Nothing;
        };
        // Whether the owner `owner` keeps an id the served server also claims.
        let keeps = |owner: ServerRef| {
            self.index_of(owner)
                .is_some_and(|i| !is_stopped(i) && served.left != Some(i))
        };
        let mut learning = Learning::Nothing;
        if matches!(self.spec.source, IdSource::Cookie(_)) {
            for line in set_cookies {
                match extract::set_cookie_id(&self.spec, line, u64::from(now)) {
                    SetCookieId::Set(id) => {
                        learning =
                            Learning::Learned(self.table.learn_unless_kept(id, server, now, keeps));
                    }
                    SetCookieId::Deleted(key_prefix) => {
                        // A deleting line's value names no session: the session deleted is
                        // the one the request carried, when it is that same cookie (the
                        // payload is the key without its value: empty, `rest=`, `name=`).
                        let removed = request
                            .id
                            .as_deref()
                            .filter(|id| id.starts_with(key_prefix))
                            .is_some_and(|id| self.table.forget(id));
                        if removed {
                            learning = Learning::Forgotten;
                        }
                    }
                    SetCookieId::None => {}
                }
            }
            if learning != Learning::Nothing {
                return learning;
            }
        }
        let Some(id) = request.id.as_deref() else {
            return Learning::Nothing;
        };
        let learn_from_request =
            self.request_learn || !matches!(self.spec.source, IdSource::Cookie(_));
        // A hit served elsewhere: the entry follows its client if its owner could not
        // take it.
        let follow_client = request.hit && request.owner != Some(served.server);
        if learn_from_request || follow_client {
            Learning::Learned(self.table.learn_unless_kept(id, server, now, keeps))
        } else {
            Learning::Nothing
        }
    }
}

#[cfg(test)]
mod tests;
