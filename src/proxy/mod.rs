//! The Pingora shell: wires Pingora's request phases to the persistence core, the
//! balancer and the server pool. Each phase below says what it decides; the rules
//! themselves live in `persist`, `balance` and `pool`.
//!
//! Request flow (HAProxy's order, docs/haproxy-compatibility.md §1):
//! 1. `early_request_filter` — client timeouts, in-flight accounting.
//! 2. `request_filter` — `force_persist`/`ignore_persist`, then the persistence cookie.
//! 3. `upstream_peer` — the balancer when nothing persisted, the server's queue
//!    (`maxconn`), and on retries the redispatch decision.
//! 4. `fail_to_connect` — HAProxy's retry/redispatch rule after a failed connect.
//! 5. `upstream_request_filter` — our cookie removed (indirect) or de-prefixed.
//! 6. `response_filter` — server Set-Cookie processing and our Set-Cookie appended.
//! 7. `fail_to_proxy` — HAProxy's own error pages.
//! 8. `logging` — the access log line; the connection slot is released.

mod ctx;
mod errors;
mod headers;
mod logline;
mod persistence;
mod route;
pub mod shutdown;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use http::header::COOKIE;
use pingora::http::ResponseHeader;
use pingora::prelude::*;
use pingora::protocols::Digest;
use pingora::proxy::{FailToProxy, ProxyHttp, Session};
use pingora::upstreams::peer::HttpPeer;
use pingora::{Error, ErrorSource, ErrorType};

use crate::access_log::AccessLog;
use crate::backend::Backend;
use crate::persist::{refuses_to_move, PersistOverride};
use crate::pool::{
    after_connect_failure, after_proxy_failure, FailedSide, ProxyFailure, ProxyRetry, RetryAction,
    RetryInput,
};
use pingora_prometheus::prometheus::Histogram;

pub use ctx::{RequestCtx, Retry};
pub use errors::{ErrorPage, BAD_REQUEST, HEADERS_TOO_LARGE, REQUEST_TIMEOUT};
pub use logline::Refusal;
use shutdown::InFlight;

/// One frontend: its listeners feed this proxy, which serves one backend.
pub struct Proxy {
    pub frontend: String,
    pub timeout_client: Duration,
    pub backend: Arc<Backend>,
    pub log: Arc<AccessLog>,
    pub in_flight: Arc<InFlight>,
    /// `tether_request_duration_seconds` for this frontend and backend.
    pub request_seconds: Histogram,
}

fn client_ip(session: &Session) -> Option<IpAddr> {
    session
        .client_addr()
        .and_then(|a| a.as_inet())
        .map(|a| a.ip())
}

/// A 503/502 decided by tether itself, carried to `fail_to_proxy` as an error.
fn answer(status: u16, why: &'static str) -> Box<Error> {
    Error::explain(ErrorType::HTTPStatus(status), why)
}

#[async_trait]
impl ProxyHttp for Proxy {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx::new()
    }

    /// No downstream modules: Pingora's default installs a (disabled) compression module
    /// whose per-request context costs an allocation and a few calls on every request.
    fn init_downstream_modules(&self, _modules: &mut pingora::modules::http::HttpModules) {}

    /// Client-side timeouts (HAProxy `timeout client`) and in-flight accounting for the
    /// graceful stop.
    async fn early_request_filter(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        ctx._in_flight = Some(self.in_flight.enter());
        // Only bound keep-alive that the request asked for (HTTP/1.0 and `Connection:
        // close` requests have it off already).
        if session.get_keepalive().is_some() {
            session.set_keepalive(Some(self.timeout_client.as_secs().max(1)));
        }
        session.set_read_timeout(Some(self.timeout_client));
        session.set_write_timeout(Some(self.timeout_client));
        Ok(())
    }

    /// Persistence, in HAProxy's order: persist rules, then the persistence cookie.
    async fn request_filter(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
        let be = &self.backend;
        let ip = client_ip(session);
        let req = session.req_header();
        ctx.rule = be.rules.evaluate(req, ip);
        self.cookie_request(session, ctx);
        if let Some(app) = &be.app_sessions {
            self.app_session_lookup(app, session, ctx);
        }
        ctx.t_request = Some(ctx.started.elapsed());
        let app_outcome = ctx.app.as_ref().map(|a| a.outcome);
        if refuses_to_move(
            be.failover,
            ctx.client_flag,
            app_outcome,
            ctx.server.is_some(),
        ) {
            ctx.termination = Some(*b"PR");
            errors::BAD_GATEWAY.send(session).await?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Chooses the server for this attempt and waits for a connection slot on it.
    async fn upstream_peer(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> Result<Box<HttpPeer>> {
        match ctx.pending_retry.take() {
            Some(Retry::Connect(RetryAction::Retry { redispatch, wait })) => {
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                self.count_retry(ctx);
                if redispatch {
                    self.redispatch(session, ctx);
                }
            }
            Some(Retry::Proxy(ProxyRetry::OtherServer)) => {
                self.count_retry(ctx);
                self.redispatch(session, ctx);
            }
            Some(Retry::Proxy(_) | Retry::Connect(RetryAction::GiveUp)) | None => {}
        }
        ctx.attempts += 1;
        if ctx.server.is_none() {
            ctx.server = self.balance(session, None);
        }
        let Some(mut idx) = ctx.server else {
            ctx.termination = Some(*b"SC");
            return Err(answer(503, "no server available"));
        };
        if ctx.slot.is_none() {
            idx = self.take_slot(session, ctx, idx).await?;
        }
        ctx.connect_started = Some(Instant::now());
        self.peer_for(idx)
    }

    /// HAProxy's retry and redispatch rule after a failed connection attempt.
    fn fail_to_connect(
        &self,
        _session: &mut Session,
        _peer: &HttpPeer,
        ctx: &mut RequestCtx,
        mut e: Box<Error>,
    ) -> Box<Error> {
        let be = &self.backend;
        let stopped = ctx
            .server
            .and_then(|i| be.pool.get(i))
            .is_none_or(|s| s.is_stopped());
        let action = after_connect_failure(&RetryInput {
            attempts: ctx.attempts,
            retries: be.retries,
            redispatch_after: be.redispatch_after,
            force_persist: ctx.rule == PersistOverride::Force,
            server_stopped: stopped,
            direct: ctx.direct,
            usable_active: be.pool.usable_active(),
            round_robin_kind: be.is_round_robin_kind(),
            reused_connection: false,
            connect_timeout: be.connect_timeout,
        });
        match action {
            RetryAction::GiveUp => {
                ctx.termination = Some(*b"SC");
                e.set_retry(false);
            }
            RetryAction::Retry { .. } => {
                ctx.pending_retry = Some(Retry::Connect(action));
                e.set_retry(true);
            }
        }
        e
    }

    /// An error after the connection was made: `pool::after_proxy_failure` decides
    /// whether the request goes out again (never when the client side failed, at most
    /// `1 + retries` attempts in all).
    fn error_while_proxy(
        &self,
        peer: &HttpPeer,
        session: &mut Session,
        e: Box<Error>,
        ctx: &mut RequestCtx,
        client_reused: bool,
    ) -> Box<Error> {
        let mut e = e.more_context(format!("Peer: {peer}"));
        let request_complete = session.is_body_done();
        let method = &session.req_header().method;
        let side = match e.esource() {
            ErrorSource::Downstream => FailedSide::Client,
            ErrorSource::Upstream => FailedSide::Server,
            _ => FailedSide::Proxy,
        };
        let server_timed_out = side == FailedSide::Server
            && matches!(
                e.etype(),
                ErrorType::ReadTimedout | ErrorType::WriteTimedout
            );
        e.retry.decide_reuse(client_reused);
        let decision = after_proxy_failure(&ProxyFailure {
            side,
            server_timed_out,
            request_complete,
            force_persist: ctx.rule == PersistOverride::Force,
            attempts: ctx.attempts,
            retries: self.backend.retries,
            safe_method: method.is_safe(),
            idempotent_method: method.is_idempotent(),
            committed: session.response_written().is_some()
                || session.as_ref().retry_buffer_truncated(),
            reused_connection: client_reused,
            stale_retry_done: ctx.stale_retry_done,
            pingora_retry: e.retry(),
        });
        if decision == ProxyRetry::FreshConnection {
            ctx.stale_retry_done = true;
        }
        e.set_retry(decision != ProxyRetry::GiveUp);
        ctx.pending_retry = (decision != ProxyRetry::GiveUp).then_some(Retry::Proxy(decision));
        e
    }

    async fn connected_to_upstream(
        &self,
        _session: &mut Session,
        reused: bool,
        _peer: &HttpPeer,
        #[cfg(unix)] _fd: std::os::unix::io::RawFd,
        #[cfg(windows)] _sock: std::os::windows::io::RawSocket,
        _digest: Option<&Digest>,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        ctx.reused_connection = reused;
        ctx.t_connect = ctx.connect_started.map(|t| t.elapsed());
        Ok(())
    }

    /// Our cookie leaves the request (insert + indirect) or loses its `SRV~` prefix
    /// (prefix mode) before it reaches the server.
    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        upstream_request: &mut pingora::http::RequestHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        headers::apply_to_request(upstream_request, &COOKIE, &ctx.cookie_edits)
    }

    /// The server's Set-Cookie lines are processed (deleted, rewritten, prefixed) and
    /// our own Set-Cookie is appended after all of the server's headers.
    async fn response_filter(
        &self,
        session: &mut Session,
        resp: &mut ResponseHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        // HAProxy: "that's all we can do for 1xx responses" (101 goes on).
        let status = resp.status.as_u16();
        if status < 200 && status != 101 {
            return Ok(());
        }
        if ctx.t_response.is_none() {
            ctx.t_response = ctx.connect_started.map(|t| t.elapsed());
        }
        self.cookie_response(session, resp, ctx, status)?;
        self.app_session_learn(resp, ctx);
        Ok(())
    }

    /// tether's own answers: HAProxy's error pages (503 when no server could be
    /// reached, 504 on a server timeout, 502 on a broken response).
    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &Error,
        ctx: &mut RequestCtx,
    ) -> FailToProxy {
        let failure = errors::classify(
            e,
            ctx.t_response.is_some(),
            errors::client_answered(session),
        );
        // Kept for the log line: once the page is written, the session says "answered".
        ctx.failure = Some(failure);
        let status = failure.status;
        if status > 0 {
            let sent = match ErrorPage::for_status(status) {
                Some(page) => page.send(session).await,
                None => session.respond_error(status).await,
            };
            if let Err(err) = sent {
                log::debug!("could not send error page: {err}");
            }
        }
        FailToProxy {
            error_code: status,
            can_reuse_downstream: false,
        }
    }

    fn suppress_error_log(&self, _session: &Session, ctx: &RequestCtx, _error: &Error) -> bool {
        // Decisions tether made on purpose (no server, queue) are in the access log.
        ctx.termination.is_some()
    }

    /// One access log line per request; the connection slot is released first, waking
    /// the next queued request.
    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut RequestCtx) {
        self.release_slot(ctx);
        self.record_metrics(session, ctx);
        self.log_request(session, e, ctx);
    }
}
