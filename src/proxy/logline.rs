//! The access log line of a request: what happened, in HAProxy's terms.

use pingora::proxy::Session;
use pingora::{Error, ErrorSource, ErrorType};

use crate::access_log::Entry;
use crate::persist::CookieMode;

use super::{Proxy, RequestCtx};

impl Proxy {
    pub(super) fn log_request(&self, session: &Session, e: Option<&Error>, ctx: &RequestCtx) {
        if !self.log.is_enabled() {
            return;
        }
        let be = &self.backend;
        let status = session.response_written().map_or(0, |r| r.status.as_u16());
        let (client_flag, server_flag) = match be.cookie_mode() {
            None | Some(CookieMode::Passive) => ('-', '-'),
            Some(_) => (ctx.client_flag.as_char(), ctx.server_flag.as_char()),
        };
        let termination = self.termination(ctx, session, e);
        let req = session.req_header();
        let uri = req.uri.to_string();
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
            method: req.method.as_str(),
            uri: &uri,
            version,
        });
    }

    fn termination(&self, ctx: &RequestCtx, session: &Session, e: Option<&Error>) -> [u8; 2] {
        if let Some(t) = ctx.termination {
            return t;
        }
        let Some(e) = e else {
            return *b"--";
        };
        let answered = ctx.t_response.is_some();
        match (e.esource(), e.etype()) {
            (
                _,
                ErrorType::ConnectTimedout
                | ErrorType::ConnectRefused
                | ErrorType::ConnectError
                | ErrorType::ConnectNoRoute,
            ) => *b"SC",
            (ErrorSource::Upstream, ErrorType::ReadTimedout | ErrorType::WriteTimedout) => {
                if answered {
                    *b"sD"
                } else {
                    *b"sH"
                }
            }
            (ErrorSource::Upstream, _) => {
                if answered {
                    *b"SD"
                } else {
                    *b"SH"
                }
            }
            (ErrorSource::Downstream, ErrorType::ReadTimedout | ErrorType::WriteTimedout) => {
                if session.response_written().is_some() {
                    *b"cD"
                } else {
                    *b"cR"
                }
            }
            (ErrorSource::Downstream, _) => {
                if session.response_written().is_some() {
                    *b"CD"
                } else {
                    *b"CR"
                }
            }
            _ => *b"PR",
        }
    }
}
