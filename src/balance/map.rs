//! The weighted server map: `balance static-rr` and map-based hashing, ported from HAProxy
//! v2.6.0 `src/lb_map.c` (docs/haproxy-compatibility.md §13.4).
//!
//! The map is a pure function of the committed server states, so it is rebuilt once per
//! batch of changes (HAProxy rebuilds it on every status change with the same result).
//! The round-robin cursor `rr_idx` lives outside the map in an atomic and advances with a
//! compare-and-swap, which gives HAProxy's sequential order without a lock.

use std::sync::atomic::{AtomicI64, Ordering};

use super::pool::{Census, LbEvents, SrvState};
use super::ServerView;

/// The map and the census it was built from.
#[derive(Debug, Clone, Default)]
pub(crate) struct ServerMap {
    committed: Vec<SrvState>,
    census: Census,
    allbackups: bool,
    /// `lbprm.wmult`: GCD of the non-zero user weights seen at init (`init_server_map()`).
    wmult: u32,
    /// `lbprm.map.srv`; only the first `census.tot_weight` entries are meaningful.
    map: Vec<usize>,
    /// Per-server `wscore` scratch for the build.
    wscore: Vec<u32>,
}

impl ServerMap {
    pub(crate) fn new(allbackups: bool) -> Self {
        Self {
            allbackups,
            wmult: 1,
            ..Self::default()
        }
    }

    /// `recalc_server_map()`. Note that with a single backup (`fbck`) the map has
    /// `fbck`'s weight in slots but every usable backup still competes for them, exactly
    /// like HAProxy.
    fn recalc(&mut self) {
        self.census = Census::count(&self.committed, self.allbackups);
        if self.census.tot_used == 0 {
            return;
        }
        let tot = self.census.tot_weight;
        let backup_group = self.census.srv_act == 0;
        self.wscore.iter_mut().for_each(|w| *w = 0);
        self.map.clear();
        for _ in 0..tot {
            let mut max = 0u32;
            let mut best: Option<usize> = None;
            for (i, s) in self.committed.iter().enumerate() {
                if s.backup != backup_group || !s.usable {
                    continue;
                }
                if tot == 1 {
                    // "If we are forced to return only one server, we don't want to go
                    // further, because we would return the wrong one due to divide
                    // overflow."
                    best = Some(i);
                    break;
                }
                let w = &mut self.wscore[i];
                *w = w.wrapping_add(s.eweight);
                let v = w.wrapping_add(tot) / tot;
                if best.is_none() || v > max {
                    max = v;
                    best = Some(i);
                }
            }
            // `best` is always found: tot_used > 0 means a usable server in the group.
            let Some(best) = best else { return };
            self.map.push(best);
            self.wscore[best] = self.wscore[best].wrapping_sub(tot);
        }
    }

    /// The total map weight (`lbprm.tot_weight`).
    pub(crate) fn tot_weight(&self) -> u32 {
        self.census.tot_weight
    }

    pub(crate) fn census(&self) -> &Census {
        &self.census
    }

    /// `map_get_server_hash()`: `map[hash % tot_weight]`.
    pub(crate) fn by_hash(&self, hash: u32) -> Option<usize> {
        let tot = self.census.tot_weight;
        if tot == 0 {
            return None;
        }
        self.map.get((hash % tot) as usize).copied()
    }

    /// `map_get_server_rr()`: walks the map from the shared cursor, skipping saturated
    /// servers and `avoid` (returned only when it is the sole available one).
    pub(crate) fn round_robin(
        &self,
        rr_idx: &AtomicI64,
        view: &impl ServerView,
        avoid: Option<usize>,
    ) -> Option<usize> {
        let tot = i64::from(self.census.tot_weight);
        if tot == 0 || self.map.len() as i64 != tot {
            return None;
        }
        let mut start = rr_idx.load(Ordering::Acquire);
        loop {
            let (found, new_idx) = self.walk(start, tot, view, avoid);
            let Some(new_idx) = new_idx else {
                return found;
            };
            // Publish the new cursor only if no other pick moved it meanwhile, else redo
            // the walk from where that pick left it: picks stay strictly sequential.
            match rr_idx.compare_exchange(start, new_idx, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return found,
                Err(now) => start = now,
            }
        }
    }

    /// One pass of `map_get_server_rr()` from cursor `start`; returns the server and the
    /// new cursor (None: leave it). An out-of-range cursor restarts at 0, and that reset
    /// is kept even when nothing is found, as in HAProxy.
    fn walk(
        &self,
        start: i64,
        tot: i64,
        view: &impl ServerView,
        avoid: Option<usize>,
    ) -> (Option<usize>, Option<i64>) {
        let first = if (0..tot).contains(&start) { start } else { 0 };
        let mut idx = first;
        let mut avoided: Option<(usize, i64)> = None;
        loop {
            let Some(&srv) = self.map.get(idx as usize) else {
                return (None, None);
            };
            idx += 1;
            if !view.is_full(srv) {
                avoided = Some((srv, idx));
                if Some(srv) != avoid {
                    return (Some(srv), Some(idx));
                }
            }
            if idx == tot {
                idx = 0;
            }
            if idx == first {
                break;
            }
        }
        match avoided {
            Some((srv, at)) => (Some(srv), Some(at)),
            None => (None, (first != start).then_some(first)),
        }
    }
}

/// Greatest common divisor of the non-zero weights, as `init_server_map()` computes it.
fn weights_gcd(weights: impl Iterator<Item = u32>) -> u32 {
    let mut pgcd = 0u32;
    for w in weights.filter(|&w| w > 0) {
        if pgcd == 0 {
            pgcd = w;
            continue;
        }
        let (mut a, mut b) = (pgcd, w);
        while b != 0 {
            (a, b) = (b, a % b);
        }
        pgcd = a;
        if pgcd == 1 {
            break;
        }
    }
    pgcd.max(1)
}

impl LbEvents for ServerMap {
    /// `(uweight * wdiv + wmult - 1) / wmult` with `wdiv = 1` for the map.
    fn eweight_of(&self, uweight: u32) -> u32 {
        uweight.div_ceil(self.wmult.max(1))
    }

    fn committed(&self) -> &[SrvState] {
        &self.committed
    }

    /// `init_server_map()`: the weight GCD is computed once, over every server's
    /// configured weight (backups, disabled and down servers included).
    fn init(&mut self, mut servers: Vec<SrvState>, _view: &impl ServerView) {
        self.wmult = weights_gcd(servers.iter().map(|s| s.uweight));
        for s in &mut servers {
            s.eweight = self.eweight_of(s.uweight);
            s.usable = s.usable && s.eweight > 0;
        }
        self.wscore = vec![0; servers.len()];
        self.committed = servers;
        self.recalc();
    }

    fn change(&mut self, i: usize, next: SrvState, _view: &impl ServerView) {
        if let Some(s) = self.committed.get_mut(i) {
            *s = next;
        }
    }

    fn changes_done(&mut self) {
        self.recalc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcd_ignores_zero_weights() {
        assert_eq!(weights_gcd([0, 4, 6, 0].into_iter()), 2);
        assert_eq!(weights_gcd([3, 4, 6].into_iter()), 1);
        assert_eq!(weights_gcd([0, 0].into_iter()), 1);
        assert_eq!(weights_gcd([256; 256].into_iter()), 256);
    }
}
