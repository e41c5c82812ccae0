//! The `roundrobin` engine: [`Fwrr`] behind a mutex, plus a lock-free fast path for the
//! steady state that returns exactly the same sequence.
//!
//! With no state change and no saturated server, fwrr's whole state is periodic: after
//! `P = 2 * total eweight` picks it is identical (measured for every weight mix tried; it
//! is verified anyway before use), and the picks repeat with a period `L` that divides
//! `P` (the number of servers when weights are equal). Once that has been checked on a
//! copy of the state, picks come from the recorded cycle through one compare-and-swap on a
//! counter. Anything else (a generation change, a saturated server, a server to avoid)
//! leaves the fast mode under the mutex: the real state is advanced by `count % P` picks,
//! which makes it exactly what the slow path would have produced, and the slow path
//! continues from there.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::fwrr::Fwrr;
use super::pool::{sync_one, Synced};
use super::ServerView;

/// Fast mode is on.
const ENABLED: u64 = 1 << 63;
/// Bits 40..63 count fast-mode entries (against ABA on the counter); bits 0..40 count
/// picks made since the last entry.
const EPOCH_SHIFT: u32 = 40;
const EPOCH_MASK: u64 = ((1 << 23) - 1) << EPOCH_SHIFT;
const COUNT_MASK: u64 = (1 << EPOCH_SHIFT) - 1;
/// Longest state period worth verifying: a failed or successful check simulates `P` picks.
const MAX_PERIOD: u32 = 1 << 16;
/// Longest slow-pick wait between two entry attempts.
const MAX_BACKOFF: u64 = 1 << 20;

/// A view in which no server is saturated, to replay fast-mode picks.
struct NeverFull;

impl ServerView for NeverFull {
    fn count(&self) -> usize {
        0
    }
    fn generation(&self) -> u64 {
        0
    }
    fn weight(&self, _: usize) -> u32 {
        0
    }
    fn eligible(&self, _: usize) -> bool {
        false
    }
    fn is_backup(&self, _: usize) -> bool {
        false
    }
    fn load(&self, _: usize) -> u32 {
        0
    }
    fn is_full(&self, _: usize) -> bool {
        false
    }
}

/// The mutex-protected part.
#[derive(Debug)]
struct Slow {
    fwrr: Synced<Fwrr>,
    /// State period `P` of the current fast-mode entry.
    period: u32,
    /// Slow picks left before the next entry attempt, and the current back-off.
    attempt_in: u64,
    backoff: u64,
}

/// `roundrobin` for one backend.
#[derive(Debug)]
pub(crate) struct RoundRobin {
    slow: Mutex<Slow>,
    word: AtomicU64,
    /// The view generation the cycle was recorded at.
    generation: AtomicU64,
    len: AtomicUsize,
    cycle: Box<[AtomicU32]>,
    /// Picks served by the fast path (tests only).
    #[cfg(test)]
    pub(crate) fast_hits: AtomicU64,
}

impl RoundRobin {
    pub(crate) fn new(allbackups: bool, server_count: usize) -> Self {
        let capacity = (server_count.saturating_mul(4)).clamp(64, 4096);
        Self {
            slow: Mutex::new(Slow {
                fwrr: Synced::new(Fwrr::new(allbackups)),
                period: 0,
                attempt_in: 0,
                backoff: 1,
            }),
            word: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            len: AtomicUsize::new(0),
            cycle: (0..capacity).map(|_| AtomicU32::new(0)).collect(),
            #[cfg(test)]
            fast_hits: AtomicU64::new(0),
        }
    }

    /// The next server (`fwrr_get_next_server()`).
    pub(crate) fn pick(
        &self,
        view: &impl ServerView,
        avoid: Option<usize>,
    ) -> (Option<usize>, u32) {
        if avoid.is_none() {
            if let Some(s) = self.try_fast(view) {
                #[cfg(test)]
                self.fast_hits.fetch_add(1, SeqCst);
                return (Some(s), 1);
            }
        }
        let mut st = self.lock(view);
        let picked = st.fwrr.lb.next_server(view, avoid);
        let tot = st.fwrr.lb.tot_weight();
        if avoid.is_none() {
            self.maybe_enter(&mut st, view);
        }
        (picked, tot)
    }

    /// Brings the state up to date with the view.
    pub(crate) fn sync(&self, view: &impl ServerView) {
        drop(self.lock(view));
    }

    /// Applies server `i`'s change alone.
    pub(crate) fn server_changed(&self, view: &impl ServerView, i: usize) {
        let mut st = self.slow.lock().unwrap_or_else(PoisonError::into_inner);
        self.leave(&mut st);
        if st.fwrr.generation.is_none() {
            st.fwrr.refresh(view, view.generation());
        } else {
            sync_one(&mut st.fwrr.lb, view, i);
        }
        st.attempt_in = 0;
    }

    /// One lock-free pick from the recorded cycle, or None to take the slow path.
    fn try_fast(&self, view: &impl ServerView) -> Option<usize> {
        loop {
            let w = self.word.load(SeqCst);
            if w & ENABLED == 0 || w & COUNT_MASK == COUNT_MASK {
                return None;
            }
            if self.generation.load(SeqCst) != view.generation() {
                return None;
            }
            let len = self.len.load(SeqCst);
            let at = usize::try_from((w & COUNT_MASK) % len.max(1) as u64).ok()?;
            let s = self.cycle.get(at)?.load(SeqCst) as usize;
            if view.is_full(s) {
                return None;
            }
            // Fails if any pick or a fast-mode exit happened since the load: retry.
            if self.word.compare_exchange(w, w + 1, SeqCst, SeqCst).is_ok() {
                return Some(s);
            }
        }
    }

    /// Takes the mutex, leaves fast mode and syncs with the view.
    fn lock(&self, view: &impl ServerView) -> MutexGuard<'_, Slow> {
        let mut st = self.slow.lock().unwrap_or_else(PoisonError::into_inner);
        self.leave(&mut st);
        let gen = view.generation();
        if !st.fwrr.is_current(view, gen) {
            st.fwrr.refresh(view, gen);
            st.attempt_in = 0;
        }
        st
    }

    /// Ends fast mode: the real state catches up with the picks made from the cycle.
    fn leave(&self, st: &mut Slow) {
        let old = self.word.fetch_and(!ENABLED, SeqCst);
        if old & ENABLED == 0 {
            return;
        }
        let made = (old & COUNT_MASK) % u64::from(st.period.max(1));
        for _ in 0..made {
            st.fwrr.lb.next_server(&NeverFull, None);
        }
        st.backoff = (st.backoff * 2).min(MAX_BACKOFF);
        st.attempt_in = st.backoff;
    }

    /// Enters fast mode if the state is on a verified cycle (throttled with back-off).
    fn maybe_enter(&self, st: &mut Slow, view: &impl ServerView) {
        if st.attempt_in > 0 {
            st.attempt_in -= 1;
            return;
        }
        let Some(gen) = st.fwrr.generation else {
            return;
        };
        let fwrr = &st.fwrr.lb;
        let Some((period, len)) = fwrr.cycle_hint() else {
            return;
        };
        if period > MAX_PERIOD
            || len == 0
            || len > self.cycle.len()
            || !(period as usize).is_multiple_of(len)
        {
            st.attempt_in = MAX_BACKOFF;
            return;
        }
        let mut probe = fwrr.clone();
        let mut periodic = true;
        for k in 0..period as usize {
            let s = probe.next_server(&NeverFull, None);
            match (s, k < len) {
                (Some(s), true) => self.cycle[k].store(s as u32, SeqCst),
                (Some(s), false) => {
                    periodic &= self.cycle[k % len].load(SeqCst) == s as u32;
                }
                (None, _) => periodic = false,
            }
            if !periodic {
                break;
            }
        }
        if !(periodic && probe.same_state(fwrr) && view.generation() == gen) {
            st.backoff = (st.backoff * 2).min(MAX_BACKOFF);
            st.attempt_in = st.backoff;
            return;
        }
        st.period = period;
        st.backoff = len as u64;
        self.len.store(len, SeqCst);
        self.generation.store(gen, SeqCst);
        let epoch = (self.word.load(SeqCst) & EPOCH_MASK).wrapping_add(1 << EPOCH_SHIFT);
        self.word.store(ENABLED | (epoch & EPOCH_MASK), SeqCst);
    }
}
