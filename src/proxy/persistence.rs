//! Wiring the persistence core into the request and response phases: the persistence
//! cookie (`persist`) and the learned session table (`persist::appsession`). Decisions are
//! made by the core; this file only gathers their inputs and applies their outputs.

use http::header::{CACHE_CONTROL, COOKIE, SET_COOKIE};
use http::HeaderValue;
use pingora::http::ResponseHeader;
use pingora::prelude::*;
use pingora::proxy::Session;

use crate::persist::appsession::{AppSessions, RequestParts, Served};
use crate::persist::{
    self, analyse_request, analyse_response, PersistOverride, RequestContext, ResponseContext,
};

use super::{client_ip, headers, Proxy, RequestCtx};

static PRIVATE: HeaderValue = HeaderValue::from_static("private");

impl Proxy {
    /// The persistence cookie: may choose the server (the request is then DIRECT) and
    /// says how our cookie leaves the forwarded request.
    pub(super) fn cookie_request(&self, session: &Session, ctx: &mut RequestCtx) {
        let be = &self.backend;
        let Some(policy) = &be.cookie else {
            return;
        };
        let cookies = headers::values(&session.req_header().headers, &COOKIE);
        let verdict = analyse_request(
            policy,
            &cookies,
            &RequestContext {
                assigned: None,
                ..self.request_context(ctx)
            },
            |i| be.is_stopped(i),
        );
        ctx.server = verdict.server;
        ctx.direct = verdict.server.is_some();
        ctx.client_flag = verdict.flag;
        ctx.last_date = verdict.last_date;
        ctx.first_date = verdict.first_date;
        ctx.cookie_edits = verdict.edits;
        ctx.cookie_stopped = verdict.stopped;
    }

    /// The session table: routes the request when the cookie did not and the id's
    /// server can take it (the rules are `AppSessions::on_request`'s).
    pub(super) fn app_session_lookup(
        &self,
        app: &AppSessions,
        session: &Session,
        ctx: &mut RequestCtx,
    ) {
        let be = &self.backend;
        let req = session.req_header();
        let cookies = headers::values(&req.headers, &COOKIE);
        let header = match &app.header {
            Some(name) => headers::values(&req.headers, name),
            None => headers::Values::new(),
        };
        ctx.app = app.on_request(
            &RequestParts {
                method: &req.method,
                target: req.raw_path(),
                cookies: &cookies,
                header: &header,
                client: client_ip(session),
            },
            &self.request_context(ctx),
            |i| be.is_stopped(i),
        );
        if let Some(server) = ctx.app.as_ref().and_then(|a| a.server) {
            ctx.server = Some(server);
            ctx.direct = true;
        }
    }

    /// What the persistence rules need to know about the request besides its headers.
    fn request_context(&self, ctx: &RequestCtx) -> RequestContext {
        RequestContext {
            now: ctx.now,
            option_persist: self.backend.persist,
            rule: ctx.rule,
            assigned: ctx.server,
        }
    }

    /// The server's Set-Cookie lines are processed (deleted, rewritten, prefixed) and our
    /// own Set-Cookie is appended after all of the server's headers.
    pub(super) fn cookie_response(
        &self,
        session: &Session,
        resp: &mut ResponseHeader,
        ctx: &mut RequestCtx,
        status: u16,
    ) -> Result<()> {
        let Some(policy) = &self.backend.cookie else {
            return Ok(());
        };
        let req = session.req_header();
        // Cacheability only matters when a cookie is inserted with `nocache`: the verdict
        // is computed as if not cacheable, and `Cache-control: private` decided after, on
        // the rare responses where it can apply (equivalent: cache_private = nocache ∧
        // cacheable ∧ inserted).
        let mut verdict = {
            let set_cookies = headers::values(&resp.headers, &SET_COOKIE);
            analyse_response(
                policy,
                &set_cookies,
                &ResponseContext {
                    now: ctx.now,
                    served: ctx.server,
                    direct: ctx.direct,
                    ignore_persist: ctx.rule == PersistOverride::Ignore,
                    is_post: req.method == http::Method::POST,
                    status,
                    cacheable: false,
                    last_date: ctx.last_date,
                    first_date: ctx.first_date,
                },
            )
        };
        verdict.cache_private = verdict.insert.is_some()
            && policy.spec().nocache
            && persist::is_cacheable(&req.method, status, &resp.headers);
        headers::apply_to_response(resp, &SET_COOKIE, &verdict.edits)?;
        if let Some(cookie) = verdict.insert {
            resp.append_header(SET_COOKIE, cookie)?;
        }
        if verdict.cache_private {
            resp.append_header(CACHE_CONTROL, PRIVATE.clone())?;
        }
        ctx.server_flag = verdict.flag;
        Ok(())
    }

    /// The session table learns which server served the request's id, or forgets an
    /// id the application deleted.
    pub(super) fn app_session_learn(&self, resp: &ResponseHeader, ctx: &mut RequestCtx) {
        let (Some(app), Some(server), Some(request)) =
            (&self.backend.app_sessions, ctx.server, &ctx.app)
        else {
            return;
        };
        let set_cookies = headers::values(&resp.headers, &SET_COOKIE);
        let served = Served {
            server,
            left: ctx.redispatched_from,
        };
        ctx.app_learning = app.on_response(&set_cookies, request, served, ctx.now, |i| {
            self.backend.is_stopped(i)
        });
    }
}
