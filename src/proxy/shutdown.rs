//! Graceful stop without Pingora's fixed grace period.
//!
//! On SIGTERM (or after handing sockets over on SIGQUIT) Pingora stops accepting, drops
//! idle keep-alive connections and then sleeps `grace_period_seconds` (300 s by
//! default) before exiting, however idle the process is. tether counts requests in
//! flight and exits as soon as the last one is done, so a graceful stop takes as long
//! as the slowest in-flight request and no longer; the grace period stays the upper
//! bound.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;

use crate::access_log::AccessLog;

/// Number of requests being processed, process-wide.
#[derive(Default)]
pub struct InFlight(AtomicUsize);

/// Counts one request while alive.
pub struct InFlightGuard(Arc<InFlight>);

impl InFlight {
    pub fn enter(self: &Arc<Self>) -> InFlightGuard {
        self.0.fetch_add(1, Ordering::AcqRel);
        InFlightGuard(self.clone())
    }

    pub fn count(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0 .0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Background service that ends the process once shutdown has begun and no request is
/// in flight any more.
pub struct ExitWhenIdle {
    pub in_flight: Arc<InFlight>,
    pub logs: Vec<Arc<AccessLog>>,
}

#[async_trait]
impl BackgroundService for ExitWhenIdle {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        while !*shutdown.borrow() {
            if shutdown.changed().await.is_err() {
                return;
            }
        }
        log::info!(
            "shutdown: waiting for {} request(s) in flight",
            self.in_flight.count()
        );
        // Responses finishing right now need a moment to leave the socket buffers after
        // the counter drops; 50 ms polling gives them that.
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if self.in_flight.count() == 0 {
                break;
            }
        }
        log::info!("shutdown: no request in flight, exiting");
        for log in &self.logs {
            log.flush_within(crate::access_log::EXIT_FLUSH_LIMIT);
        }
        std::process::exit(0);
    }
}
