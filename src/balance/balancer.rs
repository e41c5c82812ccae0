//! [`Balancer`]: one backend's algorithm state and `assign_server()`'s dispatch
//! (HAProxy v2.6.0 `src/backend.c`).

use std::net::IpAddr;
use std::sync::atomic::AtomicI64;
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};

use super::algorithm::{Algorithm, HashType};
use super::chash::{Chash, Loads};
use super::hash::HashSpec;
use super::leastconn::{First, Fwlc};
use super::map::ServerMap;
use super::pool::{sync_one, LbEvents, Synced};
use super::rr::RoundRobin;
use super::{HashKey, ServerView};

/// Why no server was picked (HAProxy `SRV_STATUS_NOSRV` / `SRV_STATUS_FULL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoServer {
    /// No server is usable (HAProxy answers 503). Also for `balance source` without a
    /// client address (HAProxy's "unknown IP family" internal error).
    Unavailable,
    /// Usable servers exist but all are saturated: the request waits in the backend queue.
    Saturated,
}

/// Applies one server's change; the generation is left as is so the next pick still
/// compares every server.
fn sync_one_locked<T: LbEvents>(s: &mut Synced<T>, view: &impl ServerView, i: usize) {
    if s.generation.is_none() {
        s.refresh(view, view.generation());
    } else {
        sync_one(&mut s.lb, view, i);
    }
}

/// Locks a mutex-protected module and brings it up to date with the view.
fn lock_synced<'a, T: LbEvents>(
    m: &'a Mutex<Synced<T>>,
    view: &impl ServerView,
) -> MutexGuard<'a, Synced<T>> {
    let gen = view.generation();
    let mut g = m.lock().unwrap_or_else(PoisonError::into_inner);
    g.refresh(view, gen);
    g
}

/// Read-locks a module that is only mutated on generation changes, syncing it first under
/// the write lock when it is stale.
fn read_synced<'a, T: LbEvents>(
    l: &'a RwLock<Synced<T>>,
    view: &impl ServerView,
) -> RwLockReadGuard<'a, Synced<T>> {
    let gen = view.generation();
    {
        let g = l.read().unwrap_or_else(PoisonError::into_inner);
        if g.is_current(view, gen) {
            return g;
        }
    }
    l.write()
        .unwrap_or_else(PoisonError::into_inner)
        .refresh(view, gen);
    l.read().unwrap_or_else(PoisonError::into_inner)
}

/// The map shared by `static-rr` and map-based hashing, with its round-robin cursor.
#[derive(Debug)]
struct MapLb {
    map: RwLock<Synced<ServerMap>>,
    /// `lbprm.map.rr_idx`.
    rr_idx: AtomicI64,
}

#[derive(Debug)]
enum Engine {
    RoundRobin(Box<RoundRobin>),
    LeastConn(Mutex<Synced<Fwlc>>),
    First(RwLock<Synced<First>>),
    Map(MapLb),
    /// The consistent ring; `RwLock` because lookups only read it, while the round-robin
    /// fallback moves the cursor under the write lock.
    Chash(RwLock<Synced<Chash>>),
}

/// What the request contributes to the pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// Non-hash algorithms (roundrobin, static-rr, leastconn, first).
    Walk,
    /// `random(2)`.
    Random { draws: u32 },
    /// `get_server_sh()`.
    Source,
    /// `get_server_uh()`.
    Uri,
    /// `get_server_ph()`: no single-server shortcut.
    UrlParam,
    /// `get_server_hh()`: an empty value falls back to round robin.
    Hdr,
    /// `get_server_expr()` with `req.cook(name)`.
    Cookie,
}

/// One backend's load-balancing state. `Send + Sync`; [`Balancer::pick`] is called
/// concurrently.
#[derive(Debug)]
pub struct Balancer {
    engine: Engine,
    rule: Rule,
    hash: HashSpec,
    hash_balance_factor: u32,
}

impl Balancer {
    /// A balancer for `algorithm`. `hash_type` applies to the hash algorithms (sdbm for
    /// map-based, sdbm + avalanche for consistent, docs/haproxy-compatibility.md §13.3); `random`
    /// always uses the consistent ring. `hash_balance_factor` bounds loads on the consistent ring
    /// (0 = off). `server_count` sizes the state; the first pick (or
    /// [`Balancer::sync`]) builds it from the view as HAProxy does at startup.
    pub fn new(
        algorithm: &Algorithm,
        hash_type: HashType,
        hash_balance_factor: u32,
        allbackups: bool,
        server_count: usize,
    ) -> Self {
        let rule = match algorithm {
            Algorithm::RoundRobin
            | Algorithm::StaticRr
            | Algorithm::LeastConn
            | Algorithm::First => Rule::Walk,
            Algorithm::Random => Rule::Random { draws: 2 },
            Algorithm::Source => Rule::Source,
            Algorithm::Uri => Rule::Uri,
            Algorithm::UrlParam(_) => Rule::UrlParam,
            Algorithm::Hdr(_) => Rule::Hdr,
            Algorithm::Cookie(_) => Rule::Cookie,
        };
        let map = || {
            Engine::Map(MapLb {
                map: RwLock::new(Synced::new(ServerMap::new(allbackups))),
                rr_idx: AtomicI64::new(0),
            })
        };
        let chash = || Engine::Chash(RwLock::new(Synced::new(Chash::new(allbackups))));
        let engine = match algorithm {
            Algorithm::RoundRobin => {
                Engine::RoundRobin(Box::new(RoundRobin::new(allbackups, server_count)))
            }
            Algorithm::StaticRr => map(),
            Algorithm::LeastConn => {
                Engine::LeastConn(Mutex::new(Synced::new(Fwlc::new(allbackups))))
            }
            Algorithm::First => Engine::First(RwLock::new(Synced::new(First::new(allbackups)))),
            Algorithm::Random => chash(),
            _ if hash_type == HashType::Consistent => chash(),
            _ => map(),
        };
        let hash_type = if matches!(algorithm, Algorithm::Random) {
            HashType::Consistent
        } else {
            hash_type
        };
        Self {
            engine,
            rule,
            hash: HashSpec::default_for(hash_type),
            hash_balance_factor,
        }
    }

    /// Brings the algorithm state up to date with `view` now. Optional: every pick does it
    /// lazily. Call it once right after the pool is built to capture the startup state
    /// the way HAProxy's `*_init_server_*()` does, before any runtime change.
    pub fn sync(&self, view: &impl ServerView) {
        match &self.engine {
            Engine::RoundRobin(r) => r.sync(view),
            Engine::LeastConn(m) => drop(lock_synced(m, view)),
            Engine::First(l) => drop(read_synced(l, view)),
            Engine::Map(m) => drop(read_synced(&m.map, view)),
            Engine::Chash(l) => drop(read_synced(l, view)),
        }
    }

    /// Applies a change of server `i`'s weight or eligibility right away. HAProxy processes
    /// each state or weight change as it happens, and with `roundrobin` the order of two
    /// changes made between the same two picks matters. Calling this after each change
    /// keeps that order; without it, pending changes are applied at the next pick in
    /// declaration order.
    pub fn server_changed(&self, view: &impl ServerView, i: usize) {
        match &self.engine {
            Engine::RoundRobin(r) => r.server_changed(view, i),
            Engine::LeastConn(m) => sync_one_locked(
                &mut m.lock().unwrap_or_else(PoisonError::into_inner),
                view,
                i,
            ),
            Engine::First(l) => sync_one_locked(
                &mut l.write().unwrap_or_else(PoisonError::into_inner),
                view,
                i,
            ),
            Engine::Map(m) => sync_one_locked(
                &mut m.map.write().unwrap_or_else(PoisonError::into_inner),
                view,
                i,
            ),
            Engine::Chash(l) => sync_one_locked(
                &mut l.write().unwrap_or_else(PoisonError::into_inner),
                view,
                i,
            ),
        }
    }

    /// leastconn keeps equally loaded servers in the order they last took or dropped a
    /// request. Call this after server `i`'s load changed (HAProxy's `server_take_conn` /
    /// `server_drop_conn`) to keep that order exact; without it the order is refreshed
    /// at the next pick, in declaration order. A no-op for the other algorithms.
    pub fn load_changed(&self, view: &impl ServerView, i: usize) {
        if let Engine::LeastConn(m) = &self.engine {
            lock_synced(m, view).lb.reposition(i, view);
        }
    }

    /// A server for a request that has no (usable) persistence. `avoid`: the server that
    /// just failed (HAProxy's `srvtoavoid` on redispatch), picked only if nothing else is
    /// usable. None when no server is usable or all are saturated; see
    /// [`Balancer::pick_detailed`] to tell them apart.
    ///
    /// `key`, by algorithm (see [`super::key`]):
    /// - `source`: [`HashKey::Addr`] of the client;
    /// - `uri`: `Bytes(uri_key(target))`;
    /// - `url_param`, `hdr`, `cookie`: `Bytes` of `url_param_key`, `header_key`,
    ///   `cookie_key`, or [`HashKey::Absent`] when they return None (round robin);
    /// - the other algorithms ignore it.
    ///
    /// As in HAProxy, `avoid` is not honoured when a single backup serves alone (no
    /// `allbackups`) nor by map-based hashing, and consistent hashing walks past it on
    /// the ring.
    pub fn pick(
        &self,
        view: &impl ServerView,
        key: HashKey<'_>,
        avoid: Option<usize>,
    ) -> Option<usize> {
        self.pick_detailed(view, key, avoid).ok()
    }

    /// [`Balancer::pick`], saying why no server was picked.
    pub fn pick_detailed(
        &self,
        view: &impl ServerView,
        key: HashKey<'_>,
        avoid: Option<usize>,
    ) -> Result<usize, NoServer> {
        let (picked, tot_weight) = match &self.engine {
            Engine::RoundRobin(r) => r.pick(view, avoid),
            Engine::LeastConn(m) => {
                let mut g = lock_synced(m, view);
                let tot = g.lb.tot_weight();
                (g.lb.next_server(view, avoid), tot)
            }
            Engine::First(l) => {
                let g = read_synced(l, view);
                (g.lb.next_server(view, avoid), g.lb.tot_weight())
            }
            Engine::Map(m) => self.pick_map(m, view, key, avoid),
            Engine::Chash(l) => self.pick_chash(l, view, key, avoid),
        };
        match picked {
            Some(s) => Ok(s),
            None if tot_weight == 0 || self.rule == Rule::Source && !is_addr(key) => {
                Err(NoServer::Unavailable)
            }
            None => Err(NoServer::Saturated),
        }
    }

    /// Picks served by the round-robin fast path so far (tests only).
    #[cfg(test)]
    pub(crate) fn fast_hits(&self) -> u64 {
        match &self.engine {
            Engine::RoundRobin(r) => r.fast_hits.load(std::sync::atomic::Ordering::SeqCst),
            _ => 0,
        }
    }

    /// The hash of `key` for the hash rules: `Ok(Some(h))` to look up, `Ok(None)` to fall
    /// back to round robin, `Err` when the source address is missing.
    fn hash_of(&self, key: HashKey<'_>, tot_used: u32) -> Result<Option<u32>, ()> {
        // "note: we won't hash if there's only one server left" (hash 0 is looked up);
        // get_server_ph() has no such shortcut.
        let single = tot_used == 1;
        match (self.rule, key) {
            (Rule::Source, HashKey::Addr(addr)) => Ok(Some(if single {
                0
            } else {
                self.hash.finish(source_hash(addr))
            })),
            (Rule::Source, _) => Err(()),
            (Rule::Uri | Rule::Hdr | Rule::Cookie, _) if single => Ok(Some(0)),
            (Rule::Hdr, HashKey::Bytes([])) => Ok(None),
            (Rule::Uri | Rule::UrlParam | Rule::Hdr | Rule::Cookie, HashKey::Bytes(b)) => {
                Ok(Some(self.hash.hash_bytes(b)))
            }
            _ => Ok(None),
        }
    }

    fn pick_map(
        &self,
        m: &MapLb,
        view: &impl ServerView,
        key: HashKey<'_>,
        avoid: Option<usize>,
    ) -> (Option<usize>, u32) {
        let g = read_synced(&m.map, view);
        let map = &g.lb;
        let tot = map.tot_weight();
        if tot == 0 {
            return (None, 0);
        }
        let hashed = match self.rule {
            Rule::Walk | Rule::Random { .. } => None,
            _ => match self.hash_of(key, map.census().tot_used) {
                Ok(h) => h.and_then(|h| map.by_hash(h)),
                Err(()) => return (None, tot),
            },
        };
        // "If the hashing parameter was not found, let's fall back to round robin on the
        // map."
        let picked = hashed.or_else(|| map.round_robin(&m.rr_idx, view, avoid));
        (picked, tot)
    }

    fn pick_chash(
        &self,
        l: &RwLock<Synced<Chash>>,
        view: &impl ServerView,
        key: HashKey<'_>,
        avoid: Option<usize>,
    ) -> (Option<usize>, u32) {
        let g = read_synced(l, view);
        let ring = &g.lb;
        let tot = ring.census().tot_weight;
        if tot == 0 {
            return (None, 0);
        }
        let loads = Loads {
            view,
            factor: self.hash_balance_factor,
            total: if self.hash_balance_factor > 0 {
                view.total_load()
            } else {
                0
            },
        };
        let hash = match self.rule {
            Rule::Random { draws } => return (random_pick(ring, draws, avoid, &loads), tot),
            Rule::Walk => None,
            _ => match self.hash_of(key, ring.census().tot_used) {
                Ok(h) => h,
                Err(()) => return (None, tot),
            },
        };
        if let Some(s) = hash.and_then(|h| ring.by_hash(h, avoid, &loads)) {
            return (Some(s), tot);
        }
        drop(g);
        // The round-robin fallback moves the shared cursor: write lock.
        let mut w = l.write().unwrap_or_else(PoisonError::into_inner);
        w.refresh(view, view.generation());
        (w.lb.round_robin(view, avoid), w.lb.census().tot_weight)
    }
}

/// `get_server_rnd()`: `draws` random points on the ring, keeping the least loaded server
/// relative to its weight; a saturated result means "wait in the backend queue".
fn random_pick(
    ring: &Chash,
    draws: u32,
    avoid: Option<usize>,
    loads: &Loads<'_, impl ServerView>,
) -> Option<usize> {
    let mut curr: Option<usize> = None;
    for _ in 0..draws.max(1) {
        let prev = curr;
        curr = ring.by_hash(fastrand::u32(..), avoid, loads);
        let Some(c) = curr else { break };
        if let Some(p) = prev {
            // C multiplies in 32 bits; 64 bits only differ past a million requests.
            let (lc, lp) = (u64::from(loads.view.load(c)), u64::from(loads.view.load(p)));
            if p != c && lc * u64::from(ring.eweight(p)) > lp * u64::from(ring.eweight(c)) {
                curr = Some(p);
            }
        }
    }
    curr.filter(|&c| !loads.view.is_full(c))
}

/// `get_server_sh()`: XOR of the address's 32-bit big-endian words (IPv4: the address).
fn source_hash(addr: IpAddr) -> u32 {
    match addr {
        IpAddr::V4(a) => u32::from(a),
        IpAddr::V6(a) => a
            .octets()
            .chunks_exact(4)
            .fold(0, |h, w| h ^ u32::from_be_bytes([w[0], w[1], w[2], w[3]])),
    }
}

fn is_addr(key: HashKey<'_>) -> bool {
    matches!(key, HashKey::Addr(_))
}
