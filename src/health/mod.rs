//! Health checks (`health_check:`): each checked server is probed every `interval` by
//! pingora-load-balancing's HTTP or TCP check, results go through HAProxy's rise/fall
//! counter, and state changes reach the pool at once (balancer included) and the log, in
//! HAProxy's words: `Server app/s1 is DOWN, reason: Layer7 wrong status, code: 500, ...`.
//!
//! One task per checked server, all in one background service; a check that hangs is cut
//! at `timeout`. Servers with `check: false`, and backends without `health_check:`, are
//! never probed and stay up.

mod probe;
mod tracker;

pub use probe::{Outcome, Probe};
pub use tracker::{CheckResult, Tracker};

use std::sync::Arc;

use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;

use crate::backend::Backend;
use crate::pool::Health;

pub struct HealthChecks {
    pub backends: Vec<Arc<Backend>>,
}

#[async_trait]
impl BackgroundService for HealthChecks {
    async fn start(&self, shutdown: ShutdownWatch) {
        let mut tasks = tokio::task::JoinSet::new();
        for backend in &self.backends {
            let Some(cfg) = &backend.health_check else {
                continue;
            };
            for (idx, server) in backend.pool.servers().iter().enumerate() {
                if !server.check {
                    continue;
                }
                match Probe::new(cfg, server.addr) {
                    Ok(probe) => {
                        tasks.spawn(check_loop(backend.clone(), idx, probe, shutdown.clone()));
                    }
                    Err(e) => log::error!(
                        "server {}/{}: health checks disabled: {e}",
                        backend.name,
                        server.name
                    ),
                }
            }
        }
        while tasks.join_next().await.is_some() {}
    }
}

async fn check_loop(backend: Arc<Backend>, idx: usize, probe: Probe, mut shutdown: ShutdownWatch) {
    let Some(cfg) = backend.health_check.clone() else {
        return;
    };
    let Some(addr) = backend.pool.get(idx).map(|s| s.addr) else {
        return;
    };
    let mut tracker = Tracker::new(cfg.rise, cfg.fall);
    loop {
        let outcome = tokio::select! {
            o = probe.run(addr, cfg.disable_on_404) => o,
            _ = shutdown.changed() => return,
        };
        if let Some(health) = tracker.record(outcome.result) {
            backend.set_health(idx, health);
            log_change(&backend, idx, health, &outcome);
        }
        tokio::select! {
            _ = tokio::time::sleep(cfg.interval) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// HAProxy's state-change line.
fn log_change(backend: &Backend, idx: usize, health: Health, outcome: &Outcome) {
    let name = backend.pool.get(idx).map_or("?", |s| s.name.as_str());
    let servers = backend.pool.servers();
    let usable = |backup: bool| {
        servers
            .iter()
            .filter(|s| s.backup == backup && !s.is_stopped())
            .count()
    };
    let (active, backup) = (usable(false), usable(true));
    let (state, tail) = match health {
        Health::Down => ("DOWN", "left"),
        Health::Up => ("UP", "online"),
        Health::Nolb => ("stopping", "online"),
    };
    let line = format!(
        "Server {}/{} is {}, {}. {} active and {} backup servers {}.",
        backend.name,
        name,
        state,
        outcome.describe(),
        active,
        backup,
        tail
    );
    match health {
        Health::Up => log::info!("{line}"),
        Health::Down | Health::Nolb => log::warn!("{line}"),
    }
}
