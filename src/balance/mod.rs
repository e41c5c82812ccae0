//! Load balancing: HAProxy 2.6's `balance` algorithms, server for server.
//!
//! For the same configuration and the same sequence of requests and server changes, a
//! [`Balancer`] picks the server HAProxy 2.6 picks (docs/haproxy-compatibility.md §13; ported from
//! HAProxy v2.6.0 `src/lb_fwrr.c`, `lb_map.c`, `lb_fwlc.c`, `lb_fas.c`, `lb_chash.c` and
//! `backend.c`). It is only consulted for requests without usable persistence.
//!
//! The balancer reads the servers through a [`ServerView`]. Whenever the view's
//! generation changes it replays the differences as HAProxy's LB events (server up, down,
//! weight change), in declaration order, so stateful algorithms evolve as in HAProxy.
//! For an exact HAProxy history the pool should also report, as they happen:
//! - every weight or eligibility change, with [`Balancer::server_changed`] (the order of
//!   two changes between the same two picks matters to `roundrobin`);
//! - for `leastconn`, every load change with [`Balancer::load_changed`] (the order in
//!   which equally loaded servers took or dropped requests decides ties).
//!
//! The balancer's state is built from the view at its first use (or
//! [`Balancer::sync`]); HAProxy builds it from the configuration at startup, with every
//! server up unless `disabled`, so the pool should be in that state then.
//!
//! Which servers take part (docs/haproxy-compatibility.md §10): servers that are drained, in
//! maintenance, down, stopping (NOLB) or at weight 0 never receive new traffic; backup servers only
//! when no active server is usable, and then only the first usable backup unless `allbackups`.
//! Non-hash algorithms skip servers at maxconn, hash algorithms do not (§2.4).

pub mod algorithm;
mod balancer;
mod chash;
mod fwrr;
pub mod hash;
pub mod key;
mod leastconn;
mod map;
mod pool;
mod rr;
mod tree;

#[cfg(test)]
mod tests;

pub use algorithm::{Algorithm, HashType};
pub use balancer::{Balancer, NoServer};
pub use key::{cookie_key, header_key, uri_key, url_param_key};

/// The balancer's read-only view of a backend's servers at pick time (implemented by the
/// proxy's server pool over atomics). Indices are declaration order, 0-based; index `i`
/// is HAProxy's server id `i + 1` (the consistent-hash ring depends on it).
pub trait ServerView {
    /// Number of servers.
    fn count(&self) -> usize;
    /// Changes whenever any weight or eligibility changes; lets stateful algorithms
    /// (fwrr, maps, rings) rebuild lazily instead of on every pick.
    fn generation(&self) -> u64;
    /// Current user weight, 0..=256 (larger values count as 256).
    fn weight(&self, i: usize) -> u32;
    /// May take new, non-persistent traffic: ready (not drain, maint), up (not down or
    /// stopping). Weight 0 is excluded separately through [`ServerView::weight`].
    fn eligible(&self, i: usize) -> bool;
    /// Declared `backup`.
    fn is_backup(&self, i: usize) -> bool;
    /// Requests being served plus queued on the server (leastconn order, random draws,
    /// the bounded-load rule).
    fn load(&self, i: usize) -> u32;
    /// The server is saturated: served >= maxconn (maxconn > 0), or requests are queued.
    fn is_full(&self, i: usize) -> bool;
    /// Requests being served by the whole backend (`proxy->served`), only read by
    /// consistent hashing with a `hash_balance_factor`. Override with an atomic counter.
    fn total_load(&self) -> u32 {
        (0..self.count()).fold(0u32, |t, i| t.wrapping_add(self.load(i)))
    }
}

/// What a hash algorithm hashes, extracted from the request by [`key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKey<'a> {
    /// Not present in the request: HAProxy falls back to round robin over the map or ring.
    Absent,
    /// The bytes to hash (URI part, parameter, header or cookie value).
    Bytes(&'a [u8]),
    /// The client address, for `balance source`.
    Addr(std::net::IpAddr),
}
