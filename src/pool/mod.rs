//! A backend's servers at run time: their administrative state, health, weight and load.
//!
//! Everything here is read on every request, so it is atomics only: the admin API and
//! health checks write, the request path reads, and nobody takes a lock.

mod retry;
mod slot;
mod state;

pub use retry::{
    after_connect_failure, after_proxy_failure, FailedSide, ProxyFailure, ProxyRetry, RetryAction,
    RetryInput,
};
pub use slot::{Slot, SlotError};
pub use state::{AdminState, Health};

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};

use crate::balance::ServerView;

/// One `servers:` item as the configuration gives it (the run-time [`Server`] adds its
/// state, health, weight and load).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    pub name: String,
    /// Resolved at load time (the first address the resolver returns).
    pub address: SocketAddr,
    /// `address` as written, e.g. `app1.internal:8080`.
    pub address_text: String,
    /// The value identifying the server in the persistence cookie.
    pub cookie: Option<String>,
    /// 0..=256, default 1; 0 = persistent clients only.
    pub weight: u32,
    /// 0 = unlimited.
    pub maxconn: u32,
    /// 0 = unlimited.
    pub maxqueue: u32,
    pub backup: bool,
    /// Default true.
    pub check: bool,
    /// Default ready.
    pub state: AdminState,
}

/// One server of a backend at run time.
#[derive(Debug)]
pub struct Server {
    pub name: String,
    pub addr: SocketAddr,
    /// The value that names this server in the persistence cookie: explicit or dynamic.
    pub cookie: Option<String>,
    pub backup: bool,
    pub maxconn: u32,
    pub maxqueue: u32,
    /// Whether health checks apply to this server (`check: false` keeps it up).
    pub check: bool,
    admin: AtomicU8,
    health: AtomicU8,
    weight: AtomicU32,
    slots: slot::Slots,
}

impl Server {
    /// The server `spec` describes; `cookie` is its value in the persistence cookie
    /// (`spec.cookie`, or a dynamic one).
    pub fn new(spec: &ServerSpec, cookie: Option<String>) -> Self {
        Server {
            name: spec.name.clone(),
            addr: spec.address,
            cookie,
            backup: spec.backup,
            maxconn: spec.maxconn,
            maxqueue: spec.maxqueue,
            check: spec.check,
            admin: AtomicU8::new(spec.state as u8),
            health: AtomicU8::new(Health::Up as u8),
            weight: AtomicU32::new(spec.weight),
            slots: slot::Slots::new(spec.maxconn),
        }
    }

    pub fn admin_state(&self) -> AdminState {
        AdminState::from_u8(self.admin.load(Ordering::Relaxed))
    }

    pub fn health(&self) -> Health {
        Health::from_u8(self.health.load(Ordering::Relaxed))
    }

    pub fn weight(&self) -> u32 {
        self.weight.load(Ordering::Relaxed)
    }

    /// HAProxy's `cur_state == SRV_ST_STOPPED`: in maintenance or failing its checks.
    /// Such a server keeps no persistent client (unless `persist`/`force_persist`).
    pub fn is_stopped(&self) -> bool {
        self.admin_state() == AdminState::Maint || self.health() == Health::Down
    }

    /// Whether the server may take new, non-persistent clients.
    pub fn is_eligible(&self) -> bool {
        self.admin_state() == AdminState::Ready && self.health() == Health::Up && self.weight() > 0
    }

    /// Requests being served right now.
    pub fn active_requests(&self) -> u32 {
        self.slots.served()
    }

    /// Requests waiting for a free connection slot (`maxconn`).
    pub fn queued_requests(&self) -> u32 {
        self.slots.queued()
    }

    pub fn is_full(&self) -> bool {
        self.maxconn > 0 && self.slots.served() >= self.maxconn
    }
}

/// The servers of one backend, in declaration order, and a generation counter that
/// changes whenever a state, health or weight changes (balancers rebuild lazily on it).
#[derive(Debug)]
pub struct Pool {
    servers: Vec<Server>,
    generation: AtomicU64,
}

impl Pool {
    pub fn new(servers: Vec<Server>) -> Self {
        Pool {
            servers,
            generation: AtomicU64::new(0),
        }
    }

    pub fn servers(&self) -> &[Server] {
        &self.servers
    }

    pub fn get(&self, idx: usize) -> Option<&Server> {
        self.servers.get(idx)
    }

    pub fn position(&self, name: &str) -> Option<usize> {
        self.servers.iter().position(|s| s.name == name)
    }

    /// Sets the administrative state; returns the previous one.
    pub(crate) fn set_admin_state(&self, idx: usize, state: AdminState) -> Option<AdminState> {
        let server = self.servers.get(idx)?;
        let old = AdminState::from_u8(server.admin.swap(state as u8, Ordering::Relaxed));
        self.bump();
        Some(old)
    }

    /// Sets the health; returns the previous one.
    pub(crate) fn set_health(&self, idx: usize, health: Health) -> Option<Health> {
        let server = self.servers.get(idx)?;
        let old = Health::from_u8(server.health.swap(health as u8, Ordering::Relaxed));
        self.bump();
        Some(old)
    }

    /// Sets the weight (0..=256); returns the previous one.
    pub(crate) fn set_weight(&self, idx: usize, weight: u32) -> Option<u32> {
        let server = self.servers.get(idx)?;
        let old = server.weight.swap(weight.min(256), Ordering::Relaxed);
        self.bump();
        Some(old)
    }

    /// Takes a connection slot on server `idx`, waiting in its queue when it is at
    /// `maxconn` (see [`Slot`]).
    pub async fn acquire(
        &self,
        idx: usize,
        queue_timeout: std::time::Duration,
    ) -> Result<Slot, SlotError> {
        match self.servers.get(idx) {
            Some(server) => server.slots.acquire(server.maxqueue, queue_timeout).await,
            None => Err(SlotError::NoSuchServer),
        }
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Number of servers that may take new clients (HAProxy `srv_act` counts usable
    /// active servers; used by the redispatch rule).
    pub fn usable_active(&self) -> usize {
        self.servers
            .iter()
            .filter(|s| !s.backup && s.is_eligible())
            .count()
    }
}

/// The balancer's view of a pool. With `ignore_full` the balancer also considers servers
/// at `maxconn`: used when every server is saturated, so the request queues on one of
/// them instead of failing (HAProxy queues it on the backend).
pub struct PoolView<'a> {
    pub pool: &'a Pool,
    pub ignore_full: bool,
}

impl ServerView for PoolView<'_> {
    fn count(&self) -> usize {
        self.pool.servers.len()
    }

    fn generation(&self) -> u64 {
        self.pool.generation.load(Ordering::Acquire)
    }

    fn weight(&self, i: usize) -> u32 {
        self.pool.servers.get(i).map_or(0, Server::weight)
    }

    fn eligible(&self, i: usize) -> bool {
        self.pool.servers.get(i).is_some_and(Server::is_eligible)
    }

    fn is_backup(&self, i: usize) -> bool {
        self.pool.servers.get(i).is_some_and(|s| s.backup)
    }

    fn load(&self, i: usize) -> u32 {
        self.pool
            .servers
            .get(i)
            .map_or(0, |s| s.slots.served() + s.slots.queued())
    }

    fn is_full(&self, i: usize) -> bool {
        !self.ignore_full && self.pool.servers.get(i).is_some_and(Server::is_full)
    }
}
