//! Idle expiry in whole unix seconds: when an entry is dead, and when a hit has to write
//! its new last-seen time.
//!
//! HAProxy 1.5 pushed an entry's expiry to `now + timeout` on every hit and purged it once
//! `expire - now <= 0` (`tick_is_expired()`, src/appsession.c `appsession_refresh()`): an
//! entry idle for exactly `timeout` is dead. The table keeps that boundary but writes the
//! last-seen time at most once per `refresh_every` seconds, so that most hits are reads
//! under a shared lock. A hit that did not write happened less than `refresh_every`
//! seconds after the recorded time, so the entry is kept `refresh_every - 1` seconds
//! longer than `timeout` after its recorded time: it never expires earlier than HAProxy
//! would have expired it, and at most `refresh_every - 1` seconds later. With
//! `refresh_every = 1` (timeouts under 128 s) the boundary is HAProxy's exactly.

use std::time::Duration;

/// A hit writes its time at most once per `timeout / REFRESH_FRACTION`...
const REFRESH_FRACTION: u32 = 64;
/// ...and at least once per hour, so that very long timeouts still get idle times (for
/// the admin API) and an expiry accurate to the hour.
const MAX_REFRESH_EVERY: u32 = 3600;

/// The idle-expiry rule of one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct IdleRule {
    /// Seconds a hit may come after the recorded last-seen time without rewriting it.
    refresh_every: u32,
    /// An entry whose recorded last-seen time is this many seconds old is dead:
    /// `timeout + refresh_every - 1`.
    dead_after: u32,
}

impl IdleRule {
    /// `timeout` is rounded up to whole seconds. Zero means "never": HAProxy's unset
    /// timeout (`tick_add_ifset()` gives an eternal expiry), here u32::MAX seconds.
    pub(super) fn new(timeout: Duration) -> Self {
        let rounded_up = timeout
            .as_secs()
            .saturating_add(u64::from(timeout.subsec_nanos() > 0));
        let timeout_secs = match u32::try_from(rounded_up) {
            Ok(0) | Err(_) => u32::MAX,
            Ok(secs) => secs,
        };
        let refresh_every = (timeout_secs / REFRESH_FRACTION).clamp(1, MAX_REFRESH_EVERY);
        IdleRule {
            refresh_every,
            dead_after: timeout_secs.saturating_add(refresh_every - 1),
        }
    }

    /// Seconds since `last_seen`; a last-seen time in the future (the clock went back)
    /// counts as just seen.
    pub(super) fn idle(last_seen: u32, now: u32) -> u32 {
        now.saturating_sub(last_seen)
    }

    /// The entry last recorded at `last_seen` is dead at `now`.
    pub(super) fn is_expired(&self, last_seen: u32, now: u32) -> bool {
        Self::idle(last_seen, now) >= self.dead_after
    }

    /// A hit at `now` must record itself: the recorded time is `refresh_every` or more
    /// seconds away, in the past or (after the clock went back) in the future.
    pub(super) fn refresh_due(&self, last_seen: u32, now: u32) -> bool {
        now.abs_diff(last_seen) >= self.refresh_every
    }

    #[cfg(test)]
    pub(super) fn refresh_every(&self) -> u32 {
        self.refresh_every
    }
}
