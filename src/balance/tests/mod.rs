//! Balancer tests. Sequences marked VTC come from HAProxy's reg-tests; the others were observed on
//! HAProxy 2.6.12, or HAProxy's reg-tests); those marked HAP were recorded for this module on the
//! real HAProxy 2.6.12 with the scenario shown in the test.

mod consistent;
mod rules;
mod runtime;
mod sequences;

use super::algorithm::{Algorithm, HashType};
use super::{Balancer, HashKey, ServerView};

/// A server's state in the test pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum St {
    Ready,
    Drain,
    Maint,
    Down,
}

#[derive(Debug, Clone)]
pub(crate) struct TestServer {
    pub weight: u32,
    pub state: St,
    pub backup: bool,
    pub load: u32,
    pub maxconn: u32,
}

/// A `ServerView` over plain values; every setter bumps the generation.
#[derive(Debug, Clone, Default)]
pub(crate) struct TestPool {
    pub servers: Vec<TestServer>,
    pub generation: u64,
}

impl TestPool {
    pub(crate) fn weights(weights: &[u32]) -> Self {
        Self {
            servers: weights
                .iter()
                .map(|&weight| TestServer {
                    weight,
                    state: St::Ready,
                    backup: false,
                    load: 0,
                    maxconn: 0,
                })
                .collect(),
            generation: 0,
        }
    }
    pub(crate) fn backup(mut self, i: usize) -> Self {
        self.servers[i].backup = true;
        self.generation += 1;
        self
    }
    pub(crate) fn set_state(&mut self, i: usize, st: St) {
        self.servers[i].state = st;
        self.generation += 1;
    }
    pub(crate) fn set_weight(&mut self, i: usize, w: u32) {
        self.servers[i].weight = w;
        self.generation += 1;
    }
    /// Loads do not change the generation (they are read live).
    pub(crate) fn set_load(&mut self, i: usize, load: u32) {
        self.servers[i].load = load;
    }
    pub(crate) fn set_maxconn(&mut self, i: usize, maxconn: u32) {
        self.servers[i].maxconn = maxconn;
    }
}

impl ServerView for TestPool {
    fn count(&self) -> usize {
        self.servers.len()
    }
    fn generation(&self) -> u64 {
        self.generation
    }
    fn weight(&self, i: usize) -> u32 {
        self.servers.get(i).map_or(0, |s| s.weight)
    }
    fn eligible(&self, i: usize) -> bool {
        self.servers.get(i).is_some_and(|s| s.state == St::Ready)
    }
    fn is_backup(&self, i: usize) -> bool {
        self.servers.get(i).is_some_and(|s| s.backup)
    }
    fn load(&self, i: usize) -> u32 {
        self.servers.get(i).map_or(0, |s| s.load)
    }
    fn is_full(&self, i: usize) -> bool {
        self.servers
            .get(i)
            .is_some_and(|s| s.maxconn > 0 && s.load >= s.maxconn)
    }
}

#[test]
fn balancer_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Balancer>();
}

pub(crate) fn balancer(alg: Algorithm, pool: &TestPool) -> Balancer {
    Balancer::new(&alg, HashType::MapBased, 0, false, pool.count())
}

pub(crate) fn consistent(alg: Algorithm, pool: &TestPool) -> Balancer {
    Balancer::new(&alg, HashType::Consistent, 0, false, pool.count())
}

/// Server names ("s1".."sN", "-" for none) of `n` keyless picks.
pub(crate) fn picks(b: &Balancer, pool: &TestPool, n: usize) -> String {
    (0..n)
        .map(|_| name(b.pick(pool, HashKey::Absent, None)))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn name(s: Option<usize>) -> String {
    s.map_or("-".to_string(), |i| format!("s{}", i + 1))
}

/// The server picked for a byte key.
pub(crate) fn by_key(b: &Balancer, pool: &TestPool, key: &[u8]) -> String {
    name(b.pick(pool, HashKey::Bytes(key), None))
}
