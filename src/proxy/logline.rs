//! The access log line of a request: what happened, in HAProxy's terms.

use pingora::proxy::Session;
use pingora::Error;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::access_log::{AccessLog, Entry};
use crate::backend::Backend;
use crate::metrics::{self, Facts, Record};
use crate::persist::appsession::{Learned, Learning, Outcome};

use super::errors::{classify, client_answered};
use super::{Proxy, RequestCtx};

/// Accounting for requests the frontend refused before Pingora parsed them (head
/// timeout, head over the limits): an access log line (`<BADREQ>`, as HAProxy logs
/// requests it could not parse) and the `<NOSRV>` request counter.
pub struct Refusal {
    pub frontend: String,
    pub backend: Arc<Backend>,
    pub log: Arc<AccessLog>,
}

impl Refusal {
    pub fn record(&self, client: Option<SocketAddr>, status: u16) {
        self.backend.metrics.count_refused(status);
        if !self.log.is_enabled() {
            return;
        }
        // HAProxy: `cR` for a client that timed out sending its request, `PR` for a
        // request the proxy refused.
        let termination = if status == 408 { *b"cR" } else { *b"PR" };
        self.log.log(&Entry {
            accepted: SystemTime::now(),
            client,
            frontend: &self.frontend,
            backend: &self.backend.name,
            server: None,
            t_request: None,
            t_queue: None,
            t_connect: None,
            t_response: None,
            t_total: Duration::ZERO,
            status,
            bytes: 0,
            termination,
            client_cookie_flag: '-',
            server_cookie_flag: '-',
            retries: 0,
            redispatched: false,
            app_session: None,
            method: "",
            uri: b"",
            version: "",
        });
    }
}

impl Proxy {
    /// Counts the finished request once in the backend's metrics.
    pub(super) fn record_metrics(&self, session: &Session, ctx: &RequestCtx) {
        let be = &self.backend;
        let status = session.response_written().map_or(0, |r| r.status.as_u16());
        let stopped_state = ctx
            .cookie_stopped
            .and_then(|i| be.pool.get(i))
            .map(|s| (s.admin_state(), s.health()));
        let reason = metrics::reason(&Facts {
            cookie: be.cookie.is_some(),
            client_flag: ctx.client_flag,
            rule: ctx.rule,
            direct: ctx.direct,
            redispatched: ctx.redispatched,
            stopped_state,
            app: ctx.app.as_ref().map(|a| (a.outcome, ctx.app_learning)),
        });
        be.metrics.record(&Record {
            server: ctx.server.filter(|_| ctx.t_connect.is_some()),
            status,
            reason,
            server_flag: ctx.server_flag,
            redispatched_from: ctx.redispatched_from,
            upstream: ctx.t_response,
        });
        self.request_seconds
            .observe(ctx.started.elapsed().as_secs_f64());
    }

    pub(super) fn log_request(&self, session: &Session, e: Option<&Error>, ctx: &RequestCtx) {
        if !self.log.is_enabled() {
            return;
        }
        let be = &self.backend;
        let status = session.response_written().map_or(0, |r| r.status.as_u16());
        let (client_flag, server_flag) = match (be.cookie_mode(), &ctx.app) {
            // Without a persistence cookie the flags tell the session table's story, as
            // HAProxy 1.5's appsession did through the same two characters.
            (None, Some(app)) => app_flags(app.outcome, ctx.app_learning),
            (None, None) => ('-', '-'),
            // The core shows `--` for a passive cookie without `indirect`, as HAProxy.
            (Some(_), _) => (ctx.client_flag.as_char(), ctx.server_flag.as_char()),
        };
        let termination = self.termination(ctx, session, e);
        let req = session.req_header();
        let version = match req.version {
            http::Version::HTTP_10 => "HTTP/1.0",
            http::Version::HTTP_2 => "HTTP/2.0",
            _ => "HTTP/1.1",
        };
        let server = ctx
            .server
            .and_then(|i| be.pool.get(i))
            .map(|s| s.name.as_str());
        self.log.log(&Entry {
            accepted: ctx.accepted,
            client: session.client_addr().and_then(|a| a.as_inet()).copied(),
            frontend: &self.frontend,
            backend: &be.name,
            server,
            t_request: ctx.t_request,
            t_queue: ctx.t_queue,
            t_connect: ctx.t_connect,
            t_response: ctx.t_response,
            t_total: ctx.started.elapsed(),
            status,
            bytes: session.body_bytes_sent(),
            termination,
            client_cookie_flag: client_flag,
            server_cookie_flag: server_flag,
            retries: ctx.retries,
            redispatched: ctx.redispatched,
            app_session: ctx
                .app
                .as_ref()
                .map(|a| app_word(a.outcome, ctx.app_learning)),
            method: req.method.as_str(),
            uri: req.raw_path(),
            version,
        });
    }

    fn termination(&self, ctx: &RequestCtx, session: &Session, e: Option<&Error>) -> [u8; 2] {
        if let Some(t) = ctx.termination.or(ctx.failure.map(|f| f.termination)) {
            return t;
        }
        match e {
            None => *b"--",
            Some(e) => classify(e, ctx.t_response.is_some(), client_answered(session)).termination,
        }
    }
}

/// The two cookie flag characters for a request routed by the session table: client side
/// `N` no id, `I` unknown id, `V` id honoured, `D` id's server unavailable, `U` the cookie
/// decided; server side `N` nothing learned, `I` learned, `U` refreshed (also when the
/// entry stayed with another available server), `R` re-pointed,
/// `D` forgotten (deleted by the application).
fn app_flags(outcome: Outcome, learning: Learning) -> (char, char) {
    let client = match outcome {
        Outcome::None => 'N',
        Outcome::Miss => 'I',
        Outcome::Hit => 'V',
        Outcome::ServerDown => 'D',
        Outcome::Skipped => 'U',
    };
    let server = match learning {
        Learning::Nothing => 'N',
        Learning::Learned(Learned::Inserted) => 'I',
        Learning::Learned(Learned::Refreshed | Learned::Kept { .. }) => 'U',
        Learning::Learned(Learned::Repointed { .. }) => 'R',
        Learning::Forgotten => 'D',
    };
    (client, server)
}

/// One word for the JSON log (and, later, the metrics).
fn app_word(outcome: Outcome, learning: Learning) -> &'static str {
    match (learning, outcome) {
        (Learning::Forgotten, _) => "deleted",
        (Learning::Learned(Learned::Inserted), _) => "learned",
        (Learning::Learned(Learned::Repointed { .. }), _) => "repinned",
        (_, Outcome::Hit) => "hit",
        (_, Outcome::Miss) => "miss",
        (_, Outcome::ServerDown) => "server_down",
        (_, Outcome::Skipped) => "cookie",
        (_, Outcome::None) => "none",
    }
}
