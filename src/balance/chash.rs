//! Consistent hashing (`hash-type consistent`) and `balance random`, ported from HAProxy
//! v2.6.0 `src/lb_chash.c` (docs/haproxy-compatibility.md §13.5).
//!
//! Every usable server owns `eweight = uweight * 16` points on a 32-bit ring; point `j` of
//! the server with id `puid` has key `full_hash(puid * 4096 + j)`. `full_hash` is a
//! bijection, so keys never collide and the ring is a sorted array of unique keys. Servers
//! are identified by `puid = index + 1` (HAProxy's default numbering).
//!
//! HAProxy keeps one ring per group (active, backup) and a single round-robin cursor
//! (`lbprm.chash.last`) shared by both, which is kept here too.

use super::hash::full_hash;
use super::pool::{dynamic_eweight, Census, LbEvents, SrvState, Target};
use super::ServerView;

/// `SRV_EWGHT_RANGE`: points of one server are `puid * 4096 + j`.
const SRV_EWGHT_RANGE: u32 = 4096;

/// Key of point `j` of the server with id `puid` (`chash_init_server_tree()`).
fn point_key(puid: u32, j: u32) -> u32 {
    full_hash(puid.wrapping_mul(SRV_EWGHT_RANGE).wrapping_add(j))
}

/// One point on a ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Point {
    key: u32,
    server: usize,
}

/// A sorted ring of points.
#[derive(Debug, Clone, Default)]
struct Ring {
    points: Vec<Point>,
}

impl Ring {
    /// Merges sorted points into the sorted ring; keys already present are skipped (they
    /// cannot occur: `full_hash` is a bijection and each server has its own key range).
    fn merge(&mut self, new: Vec<Point>) {
        let old = std::mem::take(&mut self.points);
        let mut merged = Vec::with_capacity(old.len() + new.len());
        let (mut a, mut b) = (old.into_iter().peekable(), new.into_iter().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x.key < y.key => a.next(),
                (Some(x), Some(y)) if x.key == y.key => {
                    b.next();
                    a.next()
                }
                (Some(_), Some(_)) | (None, Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, None) => break,
            };
            merged.extend(next);
        }
        self.points = merged;
    }

    fn position(&self, key: u32) -> Result<usize, usize> {
        self.points.binary_search_by_key(&key, |p| p.key)
    }
}

/// Which ring the round-robin cursor points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RingId {
    Active,
    Backup,
}

/// The consistent-hash state of one backend.
#[derive(Debug, Clone, Default)]
pub(crate) struct Chash {
    committed: Vec<SrvState>,
    census: Census,
    allbackups: bool,
    act: Ring,
    bck: Ring,
    /// `lbprm.chash.last`: the key of the last node returned by the round-robin walk.
    last: Option<(RingId, u32)>,
    /// `srv->cumulative_weight`, as `recount_servers()` set it at init. HAProxy never
    /// recounts it for consistent hashing afterwards, and the bounded-load rule uses it.
    cumulative: Vec<u32>,
    /// `srv->lb_nodes_tot`: points allocated per server, the initial weight's or the
    /// largest since. Growing past it re-queues all the server's points.
    nodes_tot: Vec<u32>,
}

impl Chash {
    pub(crate) fn new(allbackups: bool) -> Self {
        Self {
            allbackups,
            ..Self::default()
        }
    }

    pub(crate) fn census(&self) -> &Census {
        &self.census
    }

    /// Committed effective weight of server `i` (`cur_eweight`).
    pub(crate) fn eweight(&self, i: usize) -> u32 {
        self.committed.get(i).map_or(0, |s| s.eweight)
    }

    fn ring_of(&self, id: RingId) -> &Ring {
        match id {
            RingId::Active => &self.act,
            RingId::Backup => &self.bck,
        }
    }

    fn server_ring(&mut self, i: usize) -> (RingId, &mut Ring) {
        if self.committed.get(i).is_some_and(|s| s.backup) {
            (RingId::Backup, &mut self.bck)
        } else {
            (RingId::Active, &mut self.act)
        }
    }

    /// `chash_queue_dequeue_srv()`: server `i` goes from `from` to exactly `points` points.
    fn set_points(&mut self, i: usize, from: u32, points: u32) {
        let puid = (i as u32).wrapping_add(1);
        let key = |j: u32| point_key(puid, j);
        let last = self.last;
        let (id, ring) = self.server_ring(i);
        if points >= from {
            // Merge the new points (sorted) into the ring in one linear pass.
            let mut new: Vec<Point> = (from..points)
                .map(|j| Point {
                    key: key(j),
                    server: i,
                })
                .collect();
            new.sort_unstable_by_key(|p| p.key);
            new.dedup_by_key(|p| p.key);
            ring.merge(new);
            return;
        }
        // The last `from - points` points go away (a rare event: sorting them keeps the
        // ring update linear).
        let mut gone: Vec<u32> = (points..from).map(key).collect();
        gone.sort_unstable();
        let removed = |p: &Point| p.server == i && gone.binary_search(&p.key).is_ok();
        // Removing nodes one by one moves the cursor off each removed node to its
        // successor (`chash_skip_node()`); the net effect is the first surviving node
        // after it, or none when the ring empties.
        let mut new_last = last;
        if let Some((lid, lkey)) = last {
            if lid == id {
                if let Ok(at) = ring.position(lkey) {
                    if removed(&ring.points[at]) {
                        let n = ring.points.len();
                        new_last = (1..n)
                            .map(|d| ring.points[(at + d) % n])
                            .find(|p| !removed(p))
                            .map(|p| (id, p.key));
                    }
                }
            }
        }
        ring.points.retain(|p| !removed(p));
        self.last = new_last;
    }

    /// The ring a lookup works on, or a direct answer (`fbck`, nothing).
    fn lookup_ring(&self) -> Result<RingId, Option<usize>> {
        match self.census.target() {
            Target::Active => Ok(RingId::Active),
            Target::FirstBackup(b) => Err(Some(b)),
            Target::Backups => Ok(RingId::Backup),
            Target::Nothing => Err(None),
        }
    }

    /// `chash_server_is_eligible()`: the bounded-load rule of "Consistent Hashing with
    /// Bounded Loads" (Mirrokni, Thorup, Zadimoghaddam), weighted.
    fn is_eligible(&self, i: usize, loads: &Loads<'_, impl ServerView>) -> bool {
        let tot_weight = self.census.tot_weight;
        if tot_weight == 0 {
            return true;
        }
        let eweight = self.committed.get(i).map_or(0, |s| s.eweight);
        let cumul = self.cumulative.get(i).copied().unwrap_or(0);
        let tot_slots = (loads.total.wrapping_add(1))
            .wrapping_mul(loads.factor)
            .wrapping_add(99)
            / 100;
        let slots_per_weight = tot_slots / tot_weight;
        let remainder = tot_slots % tot_weight;
        let mut slots = eweight.wrapping_mul(slots_per_weight);
        slots = slots.wrapping_add(
            (cumul.wrapping_add(eweight).wrapping_mul(remainder) / tot_weight)
                .wrapping_sub(cumul.wrapping_mul(remainder) / tot_weight),
        );
        if slots == 0 {
            slots = 1;
        }
        loads.view.load(i) < slots
    }

    /// `chash_get_server_hash()`: the server whose point is nearest to `hash`, then walking
    /// forward past `avoid` and, with a balance factor, past overloaded servers.
    pub(crate) fn by_hash(
        &self,
        hash: u32,
        avoid: Option<usize>,
        loads: &Loads<'_, impl ServerView>,
    ) -> Option<usize> {
        let id = match self.lookup_ring() {
            Ok(id) => id,
            Err(direct) => return direct,
        };
        let ring = self.ring_of(id);
        let n = ring.points.len();
        if n == 0 {
            return None;
        }
        let next = match ring.position(hash) {
            Ok(at) | Err(at) if at < n => at,
            _ => 0,
        };
        let prev = if next == 0 { n - 1 } else { next - 1 };
        let dp = hash.wrapping_sub(ring.points[prev].key);
        let dn = ring.points[next].key.wrapping_sub(hash);
        let mut at = if dp <= dn { prev } else { next };
        let mut srv = ring.points[at].server;
        let mut wraps = 0;
        while Some(srv) == avoid || (loads.factor > 0 && !self.is_eligible(srv, loads)) {
            at += 1;
            if at == n {
                at = 0;
                wraps += 1;
                // "protection against accidental loop": the server of the ring's last
                // point is returned.
                if wraps > 1 {
                    break;
                }
            }
            srv = ring.points[at].server;
        }
        Some(srv)
    }

    /// `chash_get_next_server()`: round robin over the ring's points from the shared
    /// cursor, skipping saturated servers and `avoid`.
    pub(crate) fn round_robin(
        &mut self,
        view: &impl ServerView,
        avoid: Option<usize>,
    ) -> Option<usize> {
        let root = match self.lookup_ring() {
            Ok(id) => id,
            Err(direct) => return direct,
        };
        // The cursor may point into the other ring (HAProxy 2.6 never resets it when the
        // lookup switches between actives and backups): the walk then continues in that
        // ring until its end, and only then moves to the current one.
        let mut node = self
            .last
            .and_then(|(id, key)| self.ring_of(id).position(key).ok().map(|at| (id, at)));
        let mut stop = node;
        let mut avoided: Option<(usize, (RingId, usize))> = None;
        let mut found = None;
        // Master's fix 23cf528c7 bounds the walk to two wraps when the stop node is not in
        // the walked ring; 2.6 would spin forever there.
        let mut wraps = 0;
        loop {
            node = match node {
                Some((id, at)) => {
                    let ring = self.ring_of(id);
                    (at + 1 < ring.points.len()).then_some((id, at + 1))
                }
                None => None,
            };
            if node.is_none() {
                wraps += 1;
                if wraps > 2 {
                    break;
                }
                node = (!self.ring_of(root).points.is_empty()).then_some((root, 0));
            }
            let Some((id, at)) = node else {
                self.last = None;
                return None;
            };
            let point = self.ring_of(id).points[at];
            self.last = Some((id, point.key));
            if stop.is_none() {
                stop = node;
            }
            let s = point.server;
            if !view.is_full(s) {
                if Some(s) != avoid {
                    found = Some(s);
                    break;
                }
                avoided = Some((s, (id, at)));
            }
            if node == stop {
                break;
            }
        }
        if found.is_none() {
            if let Some((s, (id, at))) = avoided {
                self.last = Some((id, self.ring_of(id).points[at].key));
                return Some(s);
            }
            // HAProxy sets `last = avoided_node`, i.e. NULL here.
            self.last = None;
        }
        found
    }
}

/// Live load figures for the bounded-load rule.
pub(crate) struct Loads<'a, V> {
    pub view: &'a V,
    /// `hash-balance-factor`; 0 = off.
    pub factor: u32,
    /// `proxy->served`: requests being served by the backend (only read when factor > 0).
    pub total: u32,
}

impl LbEvents for Chash {
    fn eweight_of(&self, uweight: u32) -> u32 {
        dynamic_eweight(uweight)
    }

    fn committed(&self) -> &[SrvState] {
        &self.committed
    }

    /// `chash_init_server_tree()`.
    fn init(&mut self, servers: Vec<SrvState>, _view: &impl ServerView) {
        self.census = Census::count(&servers, self.allbackups);
        let mut tot = [0u32; 2];
        self.cumulative = servers
            .iter()
            .map(|s| {
                if !s.usable {
                    return 0;
                }
                let t = &mut tot[usize::from(s.backup)];
                let c = *t;
                *t = t.wrapping_add(s.eweight);
                c
            })
            .collect();
        self.nodes_tot = servers.iter().map(|s| dynamic_eweight(s.uweight)).collect();
        self.committed = servers;
        self.last = None;
        // Every usable server's points, sorted once.
        let mut rings = [Vec::new(), Vec::new()];
        for (i, s) in self.committed.iter().enumerate() {
            if s.usable {
                let puid = (i as u32).wrapping_add(1);
                rings[usize::from(s.backup)].extend((0..s.eweight).map(|j| Point {
                    key: point_key(puid, j),
                    server: i,
                }));
            }
        }
        let [act, bck] = rings.map(|mut points| {
            points.sort_unstable_by_key(|p| p.key);
            points.dedup_by_key(|p| p.key);
            Ring { points }
        });
        self.act = act;
        self.bck = bck;
    }

    /// `chash_set_server_status_up/down()` and `chash_update_server_weight()`: only the
    /// server's own points are added or removed.
    fn change(&mut self, i: usize, next: SrvState, _view: &impl ServerView) {
        let cur = self.committed[i];
        let now = if cur.usable { cur.eweight } else { 0 };
        let want = if next.usable { next.eweight } else { 0 };
        self.committed[i] = next;
        if want > self.nodes_tot[i] {
            // The node array is reallocated: every point leaves the ring first (moving the
            // round-robin cursor off them), then all come back.
            self.set_points(i, now, 0);
            self.nodes_tot[i] = want;
            self.set_points(i, 0, want);
        } else if now != want {
            self.set_points(i, now, want);
        }
    }

    fn changes_done(&mut self) {
        self.census = Census::count(&self.committed, self.allbackups);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(eweight: u32) -> SrvState {
        SrvState {
            usable: eweight > 0,
            backup: false,
            uweight: eweight / 16,
            eweight,
        }
    }

    #[test]
    fn ring_holds_weight_times_16_points_per_server() {
        let pool = crate::balance::tests::TestPool::weights(&[1, 2, 0]);
        let mut c = Chash::new(false);
        c.init(vec![s(16), s(32), s(0)], &pool);
        assert_eq!(c.act.points.len(), 48);
        assert!(c.act.points.windows(2).all(|w| w[0].key < w[1].key));
        assert_eq!(c.act.points.iter().filter(|p| p.server == 1).count(), 32);
        c.change(1, s(16), &pool);
        assert_eq!(c.act.points.iter().filter(|p| p.server == 1).count(), 16);
        // The points kept are the first 16 (j = 0..16), as chash_queue_dequeue_srv removes
        // the last ones.
        let kept: Vec<u32> = (0..16).map(|j| full_hash(2 * 4096 + j)).collect();
        assert!(c
            .act
            .points
            .iter()
            .filter(|p| p.server == 1)
            .all(|p| kept.contains(&p.key)));
    }
}
