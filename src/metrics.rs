//! Prometheus metrics (`GET /metrics` on the admin listener), registered in the default
//! registry through pingora-prometheus's re-export of the prometheus crate.
//!
//! Per-request metrics are counted once per request (not per attempt), in the logging
//! phase, through label children resolved once at start-up, so the request path does a
//! few atomic adds and no label lookup. Gauges (server state, health, weight, load,
//! sessions) are read from the pool when scraped and cost nothing per request.

use std::sync::OnceLock;
use std::time::Duration;

use pingora_prometheus::prometheus::{
    self, register_histogram_vec, register_int_counter_vec, register_int_gauge_vec, Encoder,
    Histogram, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, TextEncoder,
};

use crate::persist::appsession::{Learned, Learning, Outcome};
use crate::persist::{ClientFlag, PersistOverride, ServerFlag};
use crate::pool::{AdminState, Health};

/// Why a request went where it went: one reason per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A valid persistence cookie was honoured.
    Valid,
    /// No persistence information: balanced.
    None,
    /// A cookie naming no server (or empty, or garbage): balanced.
    Invalid,
    /// The cookie was idle for longer than `maxidle`: balanced.
    Expired,
    /// The cookie was older than `maxlife`: balanced.
    TooOld,
    /// The cookie's server was down (failing checks): balanced, re-pinned.
    ServerDown,
    /// The cookie's server was in maintenance: balanced, re-pinned.
    ServerMaint,
    /// `ignore_persist` matched.
    Ignored,
    /// Honoured although the server was stopped (`persist` / `force_persist`).
    Forced,
    /// Honoured, then moved after connection failures (redispatch).
    Redispatched,
    AppSessionHit,
    AppSessionMiss,
    AppSessionLearned,
    /// The session's server was unavailable: balanced, entry re-pointed.
    AppSessionServerDown,
    /// The application deleted the session.
    AppSessionDeleted,
}

impl Reason {
    const ALL: [Reason; 15] = [
        Reason::Valid,
        Reason::None,
        Reason::Invalid,
        Reason::Expired,
        Reason::TooOld,
        Reason::ServerDown,
        Reason::ServerMaint,
        Reason::Ignored,
        Reason::Forced,
        Reason::Redispatched,
        Reason::AppSessionHit,
        Reason::AppSessionMiss,
        Reason::AppSessionLearned,
        Reason::AppSessionServerDown,
        Reason::AppSessionDeleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Valid => "valid",
            Reason::None => "none",
            Reason::Invalid => "invalid",
            Reason::Expired => "expired_maxidle",
            Reason::TooOld => "too_old_maxlife",
            Reason::ServerDown => "server_down",
            Reason::ServerMaint => "server_maint",
            Reason::Ignored => "ignored",
            Reason::Forced => "forced",
            Reason::Redispatched => "redispatched",
            Reason::AppSessionHit => "app_session_hit",
            Reason::AppSessionMiss => "app_session_miss",
            Reason::AppSessionLearned => "app_session_learned",
            Reason::AppSessionServerDown => "app_session_server_down",
            Reason::AppSessionDeleted => "app_session_deleted",
        }
    }
}

/// What the persistence layers said about one request, gathered for [`reason`].
#[derive(Debug, Clone, Copy)]
pub struct Facts {
    /// The backend has a persistence cookie.
    pub cookie: bool,
    pub client_flag: ClientFlag,
    pub rule: PersistOverride,
    /// The request ended on a server chosen by persistence.
    pub direct: bool,
    pub redispatched: bool,
    /// State of the stopped server the cookie named, when it named one.
    pub stopped_state: Option<(AdminState, Health)>,
    /// The session table's view, when it was consulted.
    pub app: Option<(Outcome, Learning)>,
}

/// The one reason of a request: the persistence cookie's when it had something to say,
/// else the session table's.
pub fn reason(f: &Facts) -> Reason {
    let cookie_spoke =
        f.cookie && !matches!(f.client_flag, ClientFlag::None | ClientFlag::NotConfigured);
    if !cookie_spoke {
        if let Some((outcome, learning)) = f.app {
            return match (outcome, learning) {
                (_, Learning::Forgotten) => Reason::AppSessionDeleted,
                (Outcome::ServerDown, _) => Reason::AppSessionServerDown,
                (Outcome::Hit, _) => Reason::AppSessionHit,
                (_, Learning::Learned(Learned::Inserted)) => Reason::AppSessionLearned,
                (Outcome::Miss, _) => Reason::AppSessionMiss,
                _ if f.rule == PersistOverride::Ignore => Reason::Ignored,
                _ => Reason::None,
            };
        }
        if f.rule == PersistOverride::Ignore {
            return Reason::Ignored;
        }
    }
    match f.client_flag {
        ClientFlag::Valid if f.redispatched => Reason::Redispatched,
        ClientFlag::Valid => Reason::Valid,
        ClientFlag::Invalid => Reason::Invalid,
        ClientFlag::Expired => Reason::Expired,
        ClientFlag::Old => Reason::TooOld,
        ClientFlag::Unused => Reason::Ignored,
        ClientFlag::Down if f.redispatched && f.stopped_state.is_none() => Reason::Redispatched,
        ClientFlag::Down if f.direct => Reason::Forced,
        ClientFlag::Down => match f.stopped_state {
            Some((AdminState::Maint, _)) => Reason::ServerMaint,
            _ => Reason::ServerDown,
        },
        // A passive cookie without `indirect` shows no flags (HAProxy), yet it routed the
        // request.
        ClientFlag::NotConfigured if f.cookie && f.direct => Reason::Valid,
        ClientFlag::None | ClientFlag::NotConfigured => Reason::None,
    }
}

struct Families {
    requests: IntCounterVec,
    persistence: IntCounterVec,
    cookies: IntCounterVec,
    retries: IntCounterVec,
    redispatches: IntCounterVec,
    upstream: HistogramVec,
    duration: HistogramVec,
    state: IntGaugeVec,
    health: IntGaugeVec,
    weight: IntGaugeVec,
    active: IntGaugeVec,
    queued: IntGaugeVec,
    sessions: IntGaugeVec,
    evictions: IntCounterVec,
    expirations: IntCounterVec,
    log_dropped: IntCounterVec,
}

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The metric families, registered once per process.
fn families() -> &'static Families {
    static FAMILIES: OnceLock<Families> = OnceLock::new();
    FAMILIES.get_or_init(|| {
        // Registering fails only on a name already taken in the default registry (then
        // the family works unregistered). Creating one fails only for invalid names or
        // labels, and these are constants: the `expect`s state that invariant.
        let counter = |name: &str, help: &str, labels: &[&str]| {
            register_int_counter_vec!(name, help, labels).unwrap_or_else(|_| {
                IntCounterVec::new(prometheus::Opts::new(name, help), labels)
                    .expect("constant metric name and labels")
            })
        };
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            register_int_gauge_vec!(name, help, labels).unwrap_or_else(|_| {
                IntGaugeVec::new(prometheus::Opts::new(name, help), labels)
                    .expect("constant metric name and labels")
            })
        };
        let histogram = |name: &str, help: &str, labels: &[&str]| {
            register_histogram_vec!(name, help, labels, LATENCY_BUCKETS.to_vec()).unwrap_or_else(|_| {
                let opts = prometheus::HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec());
                HistogramVec::new(opts, labels).expect("constant metric name and labels")
            })
        };
        Families {
            requests: counter(
                "tether_requests_total",
                "Requests answered, by backend, server (<NOSRV> when none was reached) and status class.",
                &["backend", "server", "class"],
            ),
            persistence: counter(
                "tether_persistence_total",
                "Requests by persistence outcome: why each request went where it went.",
                &["backend", "reason"],
            ),
            cookies: counter(
                "tether_cookies_total",
                "Persistence cookies tether inserted, refreshed (dates), rewrote or prefixed, or deleted.",
                &["backend", "action"],
            ),
            retries: counter(
                "tether_retries_total",
                "Retries after a failed attempt, counted on the server whose attempt failed.",
                &["backend", "server"],
            ),
            redispatches: counter(
                "tether_redispatches_total",
                "Requests moved away from this server after it failed them.",
                &["backend", "server"],
            ),
            upstream: histogram(
                "tether_upstream_response_seconds",
                "Time from connecting to the server to its response headers.",
                &["backend", "server"],
            ),
            duration: histogram(
                "tether_request_duration_seconds",
                "Time from the request's arrival to the end of its response.",
                &["frontend", "backend"],
            ),
            state: gauge(
                "tether_server_state",
                "Administrative state of each server: 1 for the current state.",
                &["backend", "server", "state"],
            ),
            health: gauge(
                "tether_server_health",
                "Health of each server: 1 for the current health.",
                &["backend", "server", "health"],
            ),
            weight: gauge("tether_server_weight", "Current weight of each server.", &["backend", "server"]),
            active: gauge(
                "tether_server_active_requests",
                "Requests being served by each server.",
                &["backend", "server"],
            ),
            queued: gauge(
                "tether_server_queued_requests",
                "Requests waiting in each server's maxconn queue.",
                &["backend", "server"],
            ),
            sessions: gauge(
                "tether_app_session_entries",
                "App-session table entries pointing at each server (as of the last sweep).",
                &["backend", "server"],
            ),
            evictions: counter(
                "tether_app_session_evictions_total",
                "App-session entries evicted to stay within max_entries.",
                &["backend"],
            ),
            expirations: counter(
                "tether_app_session_expirations_total",
                "App-session entries removed after idling longer than their timeout.",
                &["backend"],
            ),
            log_dropped: counter(
                "tether_access_log_dropped_total",
                "Access log lines dropped because the log target did not keep up.",
                &[],
            ),
        }
    })
}

const CLASSES: [&str; 6] = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"];
const COOKIE_ACTIONS: [&str; 4] = ["inserted", "refreshed", "rewritten", "deleted"];

/// One server's per-request handles.
pub struct ServerMetrics {
    requests: [IntCounter; 6],
    retries: IntCounter,
    redispatches: IntCounter,
    upstream: Histogram,
}

/// One backend's per-request handles.
pub struct BackendMetrics {
    name: String,
    servers: Vec<ServerMetrics>,
    server_names: Vec<String>,
    nosrv: [IntCounter; 6],
    reasons: Vec<IntCounter>,
    cookies: [IntCounter; 4],
}

fn class_index(status: u16) -> usize {
    match status {
        100..=199 => 0,
        200..=299 => 1,
        300..=399 => 2,
        400..=499 => 3,
        500..=599 => 4,
        _ => 5,
    }
}

/// What happened to one request, for [`BackendMetrics::record`].
pub struct Record {
    pub server: Option<usize>,
    pub status: u16,
    pub reason: Reason,
    pub server_flag: ServerFlag,
    /// The server that failed the request before it was redispatched.
    pub redispatched_from: Option<usize>,
    pub upstream: Option<Duration>,
}

impl BackendMetrics {
    pub fn new(backend: &str, servers: &[String]) -> Self {
        let f = families();
        let per_class =
            |server: &str| CLASSES.map(|c| f.requests.with_label_values(&[backend, server, c]));
        BackendMetrics {
            name: backend.to_string(),
            servers: servers
                .iter()
                .map(|s| ServerMetrics {
                    requests: per_class(s),
                    retries: f.retries.with_label_values(&[backend, s]),
                    redispatches: f.redispatches.with_label_values(&[backend, s]),
                    upstream: f.upstream.with_label_values(&[backend, s]),
                })
                .collect(),
            server_names: servers.to_vec(),
            nosrv: per_class("<NOSRV>"),
            reasons: Reason::ALL
                .iter()
                .map(|r| f.persistence.with_label_values(&[backend, r.as_str()]))
                .collect(),
            cookies: COOKIE_ACTIONS.map(|a| f.cookies.with_label_values(&[backend, a])),
        }
    }

    /// Counts one finished request.
    pub fn record(&self, r: &Record) {
        let class = class_index(r.status);
        match r.server.and_then(|i| self.servers.get(i)) {
            Some(s) => {
                s.requests[class].inc();
                if let Some(t) = r.upstream {
                    s.upstream.observe(t.as_secs_f64());
                }
            }
            None => self.nosrv[class].inc(),
        }
        if let Some(c) = Reason::ALL
            .iter()
            .position(|x| *x == r.reason)
            .and_then(|i| self.reasons.get(i))
        {
            c.inc();
        }
        let action = match r.server_flag {
            ServerFlag::Inserted => Some(0),
            ServerFlag::Updated => Some(1),
            ServerFlag::Rewritten => Some(2),
            ServerFlag::Deleted => Some(3),
            _ => None,
        };
        if let Some(i) = action {
            self.cookies[i].inc();
        }
        if let Some(from) = r.redispatched_from.and_then(|i| self.servers.get(i)) {
            from.redispatches.inc();
        }
    }

    /// Counts a request the frontend refused before routing (no server, no persistence
    /// decision).
    pub fn count_refused(&self, status: u16) {
        self.nosrv[class_index(status)].inc();
    }

    /// Counts a retry on server `idx`, the one whose attempt failed.
    pub fn count_retry(&self, idx: usize) {
        if let Some(s) = self.servers.get(idx) {
            s.retries.inc();
        }
    }

    /// Sets the scrape-time gauges of server `idx`.
    #[allow(clippy::too_many_arguments)]
    pub fn set_server_gauges(
        &self,
        idx: usize,
        state: AdminState,
        health: Health,
        weight: u32,
        active: u32,
        queued: u32,
        sessions: Option<u64>,
    ) {
        let f = families();
        let Some(server) = self.server_names.get(idx) else {
            return;
        };
        let labels = [self.name.as_str(), server.as_str()];
        for s in [AdminState::Ready, AdminState::Drain, AdminState::Maint] {
            f.state
                .with_label_values(&[&self.name, server, s.as_str()])
                .set(i64::from(s == state));
        }
        for h in [Health::Up, Health::Down, Health::Nolb] {
            f.health
                .with_label_values(&[&self.name, server, h.as_str()])
                .set(i64::from(h == health));
        }
        f.weight.with_label_values(&labels).set(i64::from(weight));
        f.active.with_label_values(&labels).set(i64::from(active));
        f.queued.with_label_values(&labels).set(i64::from(queued));
        if let Some(n) = sessions {
            f.sessions
                .with_label_values(&labels)
                .set(n.min(i64::MAX as u64) as i64);
        }
    }

    /// Brings the table's cumulative eviction and expiration counts into the counters.
    pub fn set_table_totals(&self, evictions: u64, expirations: u64) {
        let f = families();
        for (vec, total) in [(&f.evictions, evictions), (&f.expirations, expirations)] {
            let c = vec.with_label_values(&[&self.name]);
            let seen = c.get();
            if total > seen {
                c.inc_by(total - seen);
            }
        }
    }
}

/// The request-duration histogram of one frontend/backend pair.
pub fn request_duration(frontend: &str, backend: &str) -> Histogram {
    families().duration.with_label_values(&[frontend, backend])
}

/// `tether_access_log_dropped_total`.
pub fn access_log_dropped() -> IntCounter {
    families().log_dropped.with_label_values::<&str>(&[])
}

/// Every registered metric in Prometheus' text format.
pub fn render() -> Vec<u8> {
    families();
    let mut out = Vec::new();
    let encoder = TextEncoder::new();
    if let Err(e) = encoder.encode(&prometheus::gather(), &mut out) {
        log::error!("metrics: {e}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            cookie: true,
            client_flag: ClientFlag::None,
            rule: PersistOverride::None,
            direct: false,
            redispatched: false,
            stopped_state: None,
            app: None,
        }
    }

    #[test]
    fn cookie_reasons() {
        let r = |flag, extra: &dyn Fn(&mut Facts)| {
            let mut f = Facts {
                client_flag: flag,
                ..facts()
            };
            extra(&mut f);
            reason(&f)
        };
        let none = |_: &mut Facts| {};
        assert_eq!(r(ClientFlag::None, &none), Reason::None);
        // A passive cookie without `indirect` shows no flag but may route the request.
        assert_eq!(r(ClientFlag::NotConfigured, &none), Reason::None);
        assert_eq!(
            r(ClientFlag::NotConfigured, &|f| f.direct = true),
            Reason::Valid
        );
        assert_eq!(r(ClientFlag::Valid, &none), Reason::Valid);
        assert_eq!(r(ClientFlag::Invalid, &none), Reason::Invalid);
        assert_eq!(r(ClientFlag::Expired, &none), Reason::Expired);
        assert_eq!(r(ClientFlag::Old, &none), Reason::TooOld);
        assert_eq!(r(ClientFlag::Unused, &none), Reason::Ignored);
        assert_eq!(
            r(ClientFlag::Down, &|f| f.stopped_state =
                Some((AdminState::Maint, Health::Up))),
            Reason::ServerMaint
        );
        assert_eq!(
            r(ClientFlag::Down, &|f| f.stopped_state =
                Some((AdminState::Ready, Health::Down))),
            Reason::ServerDown
        );
        assert_eq!(
            r(ClientFlag::Down, &|f| {
                f.direct = true;
                f.stopped_state = None
            }),
            Reason::Forced
        );
        assert_eq!(
            r(ClientFlag::Down, &|f| f.redispatched = true),
            Reason::Redispatched
        );
        assert_eq!(
            r(ClientFlag::None, &|f| f.rule = PersistOverride::Ignore),
            Reason::Ignored
        );
    }

    #[test]
    fn the_table_speaks_when_the_cookie_did_not() {
        let app = |o, l| Facts {
            app: Some((o, l)),
            ..facts()
        };
        assert_eq!(
            reason(&app(Outcome::Hit, Learning::Nothing)),
            Reason::AppSessionHit
        );
        assert_eq!(
            reason(&app(Outcome::Miss, Learning::Nothing)),
            Reason::AppSessionMiss
        );
        assert_eq!(
            reason(&app(Outcome::None, Learning::Learned(Learned::Inserted))),
            Reason::AppSessionLearned
        );
        assert_eq!(
            reason(&app(Outcome::ServerDown, Learning::Nothing)),
            Reason::AppSessionServerDown
        );
        assert_eq!(
            reason(&app(Outcome::Hit, Learning::Forgotten)),
            Reason::AppSessionDeleted
        );
        assert_eq!(reason(&app(Outcome::None, Learning::Nothing)), Reason::None);
        let cookie_first = Facts {
            client_flag: ClientFlag::Valid,
            ..app(Outcome::Skipped, Learning::Nothing)
        };
        assert_eq!(reason(&cookie_first), Reason::Valid);
    }

    #[test]
    fn records_land_in_the_families() {
        let m = BackendMetrics::new("unit_be", &["a".to_string(), "b".to_string()]);
        m.record(&Record {
            server: Some(1),
            status: 200,
            reason: Reason::Valid,
            server_flag: ServerFlag::Inserted,
            redispatched_from: Some(0),
            upstream: Some(Duration::from_millis(3)),
        });
        m.record(&Record {
            server: None,
            status: 503,
            reason: Reason::None,
            server_flag: ServerFlag::None,
            redispatched_from: None,
            upstream: None,
        });
        // A retry is counted on the server that failed, not the one that answered.
        m.count_retry(0);
        let text = String::from_utf8(render()).unwrap();
        for line in [
            r#"tether_requests_total{backend="unit_be",class="2xx",server="b"} 1"#,
            r#"tether_requests_total{backend="unit_be",class="5xx",server="<NOSRV>"} 1"#,
            r#"tether_persistence_total{backend="unit_be",reason="valid"} 1"#,
            r#"tether_cookies_total{action="inserted",backend="unit_be"} 1"#,
            r#"tether_redispatches_total{backend="unit_be",server="a"} 1"#,
            r#"tether_retries_total{backend="unit_be",server="a"} 1"#,
            r#"tether_retries_total{backend="unit_be",server="b"} 0"#,
            r#"tether_upstream_response_seconds_count{backend="unit_be",server="b"} 1"#,
        ] {
            assert!(text.contains(line), "missing {line}");
        }
    }
}
