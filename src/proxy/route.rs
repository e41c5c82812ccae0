//! Choosing the server: the balancer when nothing persisted, redispatch after a
//! failure or a full queue, and the wait for a connection slot (`maxconn`).

use std::time::Instant;

use pingora::prelude::*;
use pingora::proxy::Session;
use pingora::upstreams::peer::HttpPeer;
use pingora::{Error, ErrorType};

use crate::balance::{self, Algorithm, HashKey};
use crate::persist::{ClientFlag, PersistOverride};
use crate::pool::{PoolView, SlotError};

use super::{answer, client_ip, headers, Proxy, RequestCtx};
use http::header::COOKIE;

impl Proxy {
    /// The balancer's pick for a request without usable persistence. When every
    /// eligible server is at `maxconn`, the request queues on the one the balancer
    /// would pick ignoring saturation (HAProxy queues it on the backend instead).
    pub(super) fn balance(&self, session: &Session, avoid: Option<usize>) -> Option<usize> {
        let be = &self.backend;
        let key = self.hash_key(session);
        let view = PoolView {
            pool: &be.pool,
            ignore_full: false,
        };
        be.balancer.pick(&view, key, avoid).or_else(|| {
            let saturated = PoolView {
                pool: &be.pool,
                ignore_full: true,
            };
            be.balancer.pick(&saturated, self.hash_key(session), avoid)
        })
    }

    fn hash_key<'s>(&self, session: &'s Session) -> HashKey<'s> {
        let req = session.req_header();
        match &self.backend.algorithm {
            Algorithm::Source => client_ip(session).map_or(HashKey::Absent, HashKey::Addr),
            Algorithm::Uri => HashKey::Bytes(balance::uri_key(req.raw_path())),
            Algorithm::UrlParam(name) => balance::url_param_key(req.raw_path(), name.as_bytes())
                .map_or(HashKey::Absent, HashKey::Bytes),
            Algorithm::Hdr(_) => match &self.backend.hash_header {
                Some(name) => balance::header_key(&headers::values(&req.headers, name))
                    .map_or(HashKey::Absent, HashKey::Bytes),
                None => HashKey::Absent,
            },
            Algorithm::Cookie(name) => {
                let values = headers::values(&req.headers, &COOKIE);
                balance::cookie_key(&values, name.as_bytes())
                    .map_or(HashKey::Absent, HashKey::Bytes)
            }
            _ => HashKey::Absent,
        }
    }

    /// Moves the request to another server after a failure or a full queue (HAProxy
    /// `assign_server_and_queue` with a previous server): a different server makes it
    /// a redispatch (cookie flag V becomes D, persistence is dropped), the same server
    /// a plain retry.
    pub(super) fn redispatch(&self, session: &Session, ctx: &mut RequestCtx) -> Option<usize> {
        let previous = ctx.server;
        self.release_slot(ctx);
        let next = self.balance(session, previous);
        if next != previous && previous.is_some() {
            ctx.redispatched = true;
            if ctx.redispatched_from.is_none() {
                ctx.redispatched_from = previous;
            }
            if ctx.client_flag == ClientFlag::Valid {
                ctx.client_flag = ClientFlag::Down;
            }
        }
        ctx.direct = false;
        ctx.server = next;
        next
    }

    /// Counts one more retry: in the log's retry count, and in the metrics on the server
    /// whose attempt failed (the request may end on another one).
    pub(super) fn count_retry(&self, ctx: &mut RequestCtx) {
        ctx.retries += 1;
        if let Some(failed) = ctx.server {
            self.backend.metrics.count_retry(failed);
        }
    }

    /// Gives the request's connection slot back (waking the next queued request).
    pub(super) fn release_slot(&self, ctx: &mut RequestCtx) {
        if ctx.slot.take().is_some() {
            if let Some(idx) = ctx.server {
                self.backend.load_changed(idx);
            }
        }
    }

    pub(super) fn peer_for(&self, idx: usize) -> Result<Box<HttpPeer>> {
        self.backend
            .peers
            .get(idx)
            .map(|p| Box::new(p.clone()))
            .ok_or_else(|| Error::explain(ErrorType::InternalError, "server index out of range"))
    }

    /// Waits for a connection slot on server `idx` (its `maxconn` queue). A full queue
    /// redispatches when `redispatch` allows it; returns the server finally used.
    pub(super) async fn take_slot(
        &self,
        session: &Session,
        ctx: &mut RequestCtx,
        mut idx: usize,
    ) -> Result<usize> {
        let be = &self.backend;
        let queued_at = Instant::now();
        // Each round either gets a slot or moves to another server; bounded by the
        // number of servers so a pathological pool cannot loop.
        let mut rounds = be.pool.servers().len() + 1;
        loop {
            match be.pool.acquire(idx, be.queue_timeout).await {
                Ok(slot) => {
                    ctx.slot = Some(slot);
                    be.load_changed(idx);
                    break;
                }
                Err(SlotError::QueueFull)
                    if be.redispatch_after != 0
                        && ctx.rule != PersistOverride::Force
                        && rounds > 0 =>
                {
                    rounds -= 1;
                    match self.redispatch(session, ctx) {
                        Some(next) if next != idx => idx = next,
                        _ => {
                            ctx.termination = Some(*b"sQ");
                            return Err(answer(503, "server queue full"));
                        }
                    }
                }
                Err(SlotError::QueueTimeout) => {
                    ctx.t_queue = Some(queued_at.elapsed());
                    ctx.termination = Some(*b"sQ");
                    return Err(answer(503, "queue timeout"));
                }
                Err(_) => {
                    ctx.termination = Some(*b"sQ");
                    return Err(answer(503, "server queue full"));
                }
            }
        }
        ctx.t_queue = Some(queued_at.elapsed());
        Ok(idx)
    }
}
