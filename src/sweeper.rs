//! Upkeep of the app-session tables: one background task for the whole process (not a
//! timer per entry) sweeps every table now and then, removing entries idle for longer
//! than their timeout and recounting the sessions each server holds.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;

use crate::backend::Backend;

/// How often tables are swept: often enough that the per-server counts shown by the
/// admin API are fresh, rarely enough that the cost (a few ms per million entries) is
/// noise.
const SWEEP_EVERY: Duration = Duration::from_secs(2);

pub struct Sweeper {
    pub backends: Vec<Arc<Backend>>,
}

pub fn unix_now() -> u32 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs().min(u32::MAX as u64) as u32)
}

impl Sweeper {
    pub fn sweep_all(&self) {
        let now = unix_now();
        for b in &self.backends {
            if let Some(app) = &b.app_sessions {
                app.table.sweep(now);
            }
        }
    }
}

#[async_trait]
impl BackgroundService for Sweeper {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(SWEEP_EVERY) => self.sweep_all(),
                _ = shutdown.changed() => return,
            }
        }
    }
}
