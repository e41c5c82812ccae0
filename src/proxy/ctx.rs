//! Per-request state carried through Pingora's phases (and kept across retries).

use std::time::{Duration, Instant, SystemTime};

use crate::persist::appsession::{self, Learning};
use crate::persist::{ClientFlag, HeaderEdit, PersistOverride, ServerFlag};
use crate::pool::{ProxyRetry, RetryAction, Slot};

use super::shutdown::InFlightGuard;

/// How the next attempt differs from the failed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// HAProxy's rule after a failed connection (same server or redispatch, maybe after a
    /// turnaround); counted in the log's retries.
    Connect(RetryAction),
    /// After a failed exchange (`pool::after_proxy_failure`): the same server on a fresh
    /// connection (not counted) or another server (counted as a retry and a redispatch).
    Proxy(ProxyRetry),
}

/// What tether decided for one request, and what happened to it.
pub struct RequestCtx {
    pub accepted: SystemTime,
    pub started: Instant,
    /// Unix seconds at the start of the request: the persistence core's clock.
    pub now: u32,
    pub _in_flight: Option<InFlightGuard>,

    /// `force_persist` / `ignore_persist` outcome.
    pub rule: PersistOverride,
    /// The server the request goes to (declaration index), once known.
    pub server: Option<usize>,
    /// HAProxy `SF_DIRECT`: the server came from persistence, not from the balancer.
    pub direct: bool,
    pub client_flag: ClientFlag,
    pub server_flag: ServerFlag,
    /// Dates carried by the client's persistence cookie (0 = none).
    pub last_date: u32,
    pub first_date: u32,
    /// Edits of the request's Cookie headers (our cookie removed or its prefix stripped).
    pub cookie_edits: Vec<HeaderEdit>,
    /// What the app-session table said about the request (`None`: not consulted).
    pub app: Option<appsession::RequestVerdict>,
    /// What the response taught the table.
    pub app_learning: Learning,

    /// The connection slot on `server` (maxconn), held until the request ends.
    pub slot: Option<Slot>,
    /// Attempts so far (each call of `upstream_peer`), bounded by `1 + retries`.
    pub attempts: u32,
    /// Retries made (logged like HAProxy's `%rc`).
    pub retries: u32,
    pub redispatched: bool,
    /// The server that failed the request before it was moved (for the metrics).
    pub redispatched_from: Option<usize>,
    /// The stopped server the persistence cookie named (for the metrics).
    pub cookie_stopped: Option<usize>,
    /// Decision taken after the last failure, applied by the next `upstream_peer`.
    pub pending_retry: Option<Retry>,
    /// A failed reused (pooled) connection was already retried on the same server.
    pub stale_retry_done: bool,
    pub reused_connection: bool,

    pub t_request: Option<Duration>,
    pub t_queue: Option<Duration>,
    pub connect_started: Option<Instant>,
    pub t_connect: Option<Duration>,
    pub t_response: Option<Duration>,
    /// HAProxy's termination state, when tether knows better than the error type.
    pub termination: Option<[u8; 2]>,
    /// How `fail_to_proxy` classified the final error (status and termination state).
    pub failure: Option<super::errors::Failure>,
}

impl RequestCtx {
    pub fn new() -> Self {
        let accepted = SystemTime::now();
        let now = accepted
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs().min(u32::MAX as u64) as u32);
        RequestCtx {
            accepted,
            started: Instant::now(),
            now,
            _in_flight: None,
            rule: PersistOverride::None,
            server: None,
            direct: false,
            client_flag: ClientFlag::NotConfigured,
            server_flag: ServerFlag::NotApplicable,
            last_date: 0,
            first_date: 0,
            cookie_edits: Vec::new(),
            app: None,
            app_learning: Learning::Nothing,
            slot: None,
            attempts: 0,
            retries: 0,
            redispatched: false,
            redispatched_from: None,
            cookie_stopped: None,
            pending_retry: None,
            stale_retry_done: false,
            reused_connection: false,
            t_request: None,
            t_queue: None,
            connect_started: None,
            t_connect: None,
            t_response: None,
            termination: None,
            failure: None,
        }
    }
}

impl Default for RequestCtx {
    fn default() -> Self {
        Self::new()
    }
}
