//! A backend at run time: its servers, its balancer, its persistence policy and the
//! options that drive retries, built once from the configuration and shared by every
//! request (no per-request clone of any of it).

use std::time::Duration;

use crate::balance::{Algorithm, Balancer};
use crate::conditions::PersistRules;
use crate::config;
use crate::metrics::BackendMetrics;
use crate::persist::appsession::AppSessions;
use crate::persist::{dynamic_cookie, CookieMode, CookiePolicy};
use crate::pool::{AdminState, Health, Pool, PoolView, Server};
use pingora::upstreams::peer::HttpPeer;

pub struct Backend {
    pub name: String,
    pub algorithm: Algorithm,
    /// The header `balance: hdr:<name>` hashes, parsed once.
    pub hash_header: Option<http::header::HeaderName>,
    pub pool: Pool,
    pub balancer: Balancer,
    /// `None` when the backend has no `cookie:` section.
    pub cookie: Option<CookiePolicy>,
    /// `None` when the backend has no `app_session:` section.
    pub app_sessions: Option<AppSessions>,
    pub rules: PersistRules,
    /// HAProxy `option persist`.
    pub persist: bool,
    /// HAProxy `redispatch_after`: 0 = off, -1 = on the last retry, n = every n-th.
    pub redispatch_after: i32,
    pub retries: u32,
    pub failover: bool,
    /// Each server's upstream peer, built once: a request clones it rather than building
    /// one (address conversion, options) from scratch.
    pub peers: Vec<HttpPeer>,
    /// Per-request metric handles (label children resolved once).
    pub metrics: BackendMetrics,
    /// `health_check:` (probed by `crate::health`).
    pub health_check: Option<config::HealthCheck>,
    pub connect_timeout: Duration,
    pub server_timeout: Duration,
    pub queue_timeout: Duration,
}

impl Backend {
    pub fn from_config(cfg: &config::Backend) -> Result<Self, String> {
        let dynamic_key = cfg.cookie.as_ref().and_then(|c| c.dynamic_key.as_deref());
        let servers: Vec<Server> =
            cfg.servers
                .iter()
                .map(|s| {
                    // HAProxy `dynamic`: servers without an explicit value get one derived
                    // from the key and their address.
                    let cookie = s.cookie.clone().or_else(|| {
                        dynamic_key.map(|key| dynamic_cookie(key.as_bytes(), s.address))
                    });
                    Server::new(s, cookie)
                })
                .collect();

        let cookie = match &cfg.cookie {
            None => None,
            Some(c) => {
                let values = servers
                    .iter()
                    .map(|s| s.cookie.as_ref().map(|v| v.as_bytes().to_vec()))
                    .collect();
                Some(
                    CookiePolicy::new(c.clone(), values)
                        .map_err(|e| format!("backend {}: cookie: {e}", cfg.name))?,
                )
            }
        };

        let app_sessions = cfg.app_session.as_ref().map(|a| {
            let names: Vec<&str> = cfg.servers.iter().map(|s| s.name.as_str()).collect();
            AppSessions::from_spec(a, &names)
        });

        let redispatch_after = match cfg.redispatch {
            config::Redispatch::Off => 0,
            config::Redispatch::Interval(n) => n,
        };
        let balancer = Balancer::new(
            &cfg.balance,
            cfg.hash_type,
            cfg.hash_balance_factor,
            cfg.allbackups,
            servers.len(),
        );
        let hash_header = match &cfg.balance {
            Algorithm::Hdr(name) => Some(
                http::header::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                    format!(
                        "backend {}: balance: invalid header name {name:?}",
                        cfg.name
                    )
                })?,
            ),
            _ => None,
        };
        let backend = Backend {
            name: cfg.name.clone(),
            algorithm: cfg.balance.clone(),
            hash_header,
            pool: Pool::new(servers),
            balancer,
            cookie,
            app_sessions,
            rules: PersistRules::new(cfg.force_persist.clone(), cfg.ignore_persist.clone()),
            persist: cfg.persist,
            redispatch_after,
            retries: cfg.retries,
            failover: cfg.failover,
            peers: cfg
                .servers
                .iter()
                .map(|s| {
                    let mut peer = HttpPeer::new(s.address, false, String::new());
                    peer.options.connection_timeout = Some(cfg.timeouts.connect);
                    peer.options.read_timeout = Some(cfg.timeouts.server);
                    peer.options.write_timeout = Some(cfg.timeouts.server);
                    peer
                })
                .collect(),
            metrics: BackendMetrics::new(
                &cfg.name,
                &cfg.servers
                    .iter()
                    .map(|s| s.name.clone())
                    .collect::<Vec<_>>(),
            ),
            health_check: cfg.health_check.clone(),
            connect_timeout: cfg.timeouts.connect,
            server_timeout: cfg.timeouts.server,
            queue_timeout: cfg.timeouts.queue,
        };
        backend.balancer.sync(&backend.view());
        for (i, s) in cfg.servers.iter().enumerate() {
            if s.state == AdminState::Drain {
                backend.set_admin_state(i, AdminState::Drain);
            }
        }
        Ok(backend)
    }

    /// HAProxy's persistence test input: server `idx` is in maint or down (or does not
    /// exist). Drain, NOLB and weight 0 are not stopped.
    pub fn is_stopped(&self, idx: usize) -> bool {
        self.pool.get(idx).is_none_or(|s| s.is_stopped())
    }

    /// The balancer's view of the pool.
    pub fn view(&self) -> PoolView<'_> {
        PoolView {
            pool: &self.pool,
            ignore_full: false,
        }
    }

    /// Changes a server's administrative state; returns the previous one. The balancer
    /// learns of it at once, as HAProxy's does (the order of changes matters to it).
    pub fn set_admin_state(&self, idx: usize, state: AdminState) -> Option<AdminState> {
        let old = self.pool.set_admin_state(idx, state)?;
        self.balancer.server_changed(&self.view(), idx);
        Some(old)
    }

    /// Changes a server's health; returns the previous one.
    pub fn set_health(&self, idx: usize, health: Health) -> Option<Health> {
        let old = self.pool.set_health(idx, health)?;
        self.balancer.server_changed(&self.view(), idx);
        Some(old)
    }

    /// Changes a server's weight; returns the previous one.
    pub fn set_weight(&self, idx: usize, weight: u32) -> Option<u32> {
        let old = self.pool.set_weight(idx, weight)?;
        self.balancer.server_changed(&self.view(), idx);
        Some(old)
    }

    /// Tells the balancer that a server took or dropped a request (leastconn orders
    /// servers by load and breaks ties by the order of these changes).
    pub fn load_changed(&self, idx: usize) {
        if self.algorithm == Algorithm::LeastConn {
            self.balancer.load_changed(&self.view(), idx);
        }
    }

    /// Whether the cookie is in a mode that reads it (every mode does) and writes log
    /// flags (passive mode shows `-`).
    pub fn cookie_mode(&self) -> Option<CookieMode> {
        self.cookie.as_ref().map(|c| c.spec().mode)
    }

    /// HAProxy's `BE_LB_KIND_RR`: algorithms for which any server is as good as another,
    /// so a failed non-persistent request is redispatched at once.
    pub fn is_round_robin_kind(&self) -> bool {
        matches!(
            self.algorithm,
            Algorithm::RoundRobin | Algorithm::StaticRr | Algorithm::Random
        )
    }
}

impl Backend {
    /// Brings the scrape-time gauges up to date (server states, load, sessions).
    pub fn refresh_metrics(&self) {
        for (i, s) in self.pool.servers().iter().enumerate() {
            self.metrics.set_server_gauges(
                i,
                s.admin_state(),
                s.health(),
                s.weight(),
                s.active_requests(),
                s.queued_requests(),
                self.app_sessions.as_ref().map(|a| a.sessions_of(i)),
            );
        }
        if let Some(app) = &self.app_sessions {
            let stats = app.table.stats();
            self.metrics
                .set_table_totals(stats.evictions, stats.expirations);
        }
    }
}
