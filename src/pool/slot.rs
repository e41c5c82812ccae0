//! Connection slots: `maxconn`, the per-server queue, `maxqueue` and `timeouts.queue`.
//!
//! HAProxy semantics (docs/haproxy-compatibility.md §12.2): a request for a server at `maxconn`
//! waits in that server's queue, first come first served, for at most `timeout queue`; when the
//! queue already holds `maxqueue` requests the request is refused (the caller redispatches it
//! or answers 503).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug)]
struct Counters {
    served: AtomicU32,
    queued: AtomicU32,
}

#[derive(Debug)]
pub(super) struct Slots {
    counters: Arc<Counters>,
    /// `None` when `maxconn` is 0 (unlimited). Tokio's semaphore is fair (FIFO), which
    /// is what a queue needs.
    limit: Option<Arc<Semaphore>>,
}

/// Why no slot was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotError {
    /// The server's queue already holds `maxqueue` requests.
    QueueFull,
    /// The request waited `timeouts.queue` without getting a slot.
    QueueTimeout,
    NoSuchServer,
}

/// A request's right to use one connection to a server. Dropping it frees the slot
/// and wakes the next queued request.
#[derive(Debug)]
pub struct Slot {
    counters: Arc<Counters>,
    _permit: Option<OwnedSemaphorePermit>,
    /// Whether the request had to wait in the queue (for the log).
    pub waited: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.counters.served.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Slots {
    pub(super) fn new(maxconn: u32) -> Self {
        Slots {
            counters: Arc::new(Counters {
                served: AtomicU32::new(0),
                queued: AtomicU32::new(0),
            }),
            limit: (maxconn > 0).then(|| Arc::new(Semaphore::new(maxconn as usize))),
        }
    }

    pub(super) fn served(&self) -> u32 {
        self.counters.served.load(Ordering::Relaxed)
    }

    pub(super) fn queued(&self) -> u32 {
        self.counters.queued.load(Ordering::Relaxed)
    }

    fn grant(&self, permit: Option<OwnedSemaphorePermit>, waited: bool) -> Slot {
        self.counters.served.fetch_add(1, Ordering::Relaxed);
        Slot {
            counters: self.counters.clone(),
            _permit: permit,
            waited,
        }
    }

    pub(super) async fn acquire(
        &self,
        maxqueue: u32,
        timeout: Duration,
    ) -> Result<Slot, SlotError> {
        let Some(limit) = &self.limit else {
            return Ok(self.grant(None, false));
        };
        if let Ok(permit) = limit.clone().try_acquire_owned() {
            return Ok(self.grant(Some(permit), false));
        }
        // Reserve a queue place first so that concurrent arrivals cannot overfill it.
        let queued = self.counters.queued.fetch_add(1, Ordering::Relaxed);
        if maxqueue > 0 && queued >= maxqueue {
            self.counters.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(SlotError::QueueFull);
        }
        let waited = tokio::time::timeout(timeout, limit.clone().acquire_owned()).await;
        self.counters.queued.fetch_sub(1, Ordering::Relaxed);
        match waited {
            Ok(Ok(permit)) => Ok(self.grant(Some(permit), true)),
            // The semaphore is never closed; treat it like a timeout anyway.
            Ok(Err(_)) | Err(_) => Err(SlotError::QueueTimeout),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unlimited_counts_served_requests() {
        let slots = Slots::new(0);
        let a = slots.acquire(0, Duration::from_millis(10)).await.unwrap();
        let b = slots.acquire(0, Duration::from_millis(10)).await.unwrap();
        assert_eq!(slots.served(), 2);
        drop(a);
        assert_eq!(slots.served(), 1);
        drop(b);
        assert_eq!(slots.served(), 0);
    }

    #[tokio::test]
    async fn maxconn_queues_until_a_slot_frees() {
        let slots = Arc::new(Slots::new(1));
        let first = slots.acquire(0, Duration::from_secs(5)).await.unwrap();
        assert!(!first.waited);
        let s2 = slots.clone();
        let waiter = tokio::spawn(async move { s2.acquire(0, Duration::from_secs(5)).await });
        // Readiness, not a sleep: wait until the second request is in the queue.
        while slots.queued() == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(slots.served(), 1);
        drop(first);
        let second = waiter.await.unwrap().unwrap();
        assert!(second.waited);
        assert_eq!(slots.queued(), 0);
        assert_eq!(slots.served(), 1);
    }

    #[tokio::test]
    async fn queue_timeout_is_reported() {
        let slots = Slots::new(1);
        let _first = slots.acquire(0, Duration::from_secs(5)).await.unwrap();
        let err = slots
            .acquire(0, Duration::from_millis(20))
            .await
            .unwrap_err();
        assert_eq!(err, SlotError::QueueTimeout);
        assert_eq!(slots.queued(), 0);
    }

    #[tokio::test]
    async fn full_queue_is_refused_at_once() {
        let slots = Arc::new(Slots::new(1));
        let _first = slots.acquire(1, Duration::from_secs(5)).await.unwrap();
        let s2 = slots.clone();
        let _waiter = tokio::spawn(async move { s2.acquire(1, Duration::from_secs(5)).await });
        while slots.queued() == 0 {
            tokio::task::yield_now().await;
        }
        let err = slots.acquire(1, Duration::from_secs(5)).await.unwrap_err();
        assert_eq!(err, SlotError::QueueFull);
    }
}
