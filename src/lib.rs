//! tether: an HTTP edge proxy on Pingora with HAProxy-compatible session persistence.
//!
//! - [`config`]: the YAML contract, loaded with every error reported at once.
//! - [`persist`]: the pure persistence core (cookie codec, dates, rules, log flags).
//! - [`balance`]: HAProxy's balancing algorithms.
//! - [`pool`]: servers at run time (states, health, weights, connection slots, retries).
//! - [`backend`]: a backend assembled from the three above.
//! - [`frontend`]: client connections: request heads read within limits, then handed to
//!   the proxy.
//! - [`proxy`]: the Pingora `ProxyHttp` shell that wires phases to the core.
//! - [`admin`]: the admin API.
//! - [`serve`]: building the Pingora server.

pub mod access_log;
pub mod admin;
pub mod backend;
pub mod balance;
pub mod conditions;
pub mod config;
pub mod ctl;
pub mod frontend;
pub mod health;
pub mod http_value;
pub mod metrics;
pub mod persist;
pub mod pool;
pub mod proxy;
pub mod serve;
pub mod sweeper;
#[cfg(test)]
mod test_rng;
