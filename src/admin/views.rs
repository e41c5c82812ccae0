//! The JSON shapes of the admin API (../shared/spec/admin.md).

use serde_json::{json, Value};

use crate::backend::Backend;
use crate::pool::Server;

/// `ServerView`: `{"name", "address", "cookie", "state", "health", "weight",
/// "active_requests", "sticky_sessions"}`, plus `queued_requests`.
pub fn server(s: &Server) -> Value {
    json!({
        "name": s.name,
        "address": s.addr.to_string(),
        "cookie": s.cookie,
        "state": s.admin_state().as_str(),
        "health": s.health().as_str(),
        "weight": s.weight(),
        "active_requests": s.active_requests(),
        "queued_requests": s.queued_requests(),
        // Entries of the app-session table pointing at the server (none without one).
        "sticky_sessions": 0,
    })
}

/// `{"name", "balance", "servers": [ServerView]}`.
pub fn backend(b: &Backend) -> Value {
    json!({
        "name": b.name,
        "balance": b.algorithm.as_string(),
        "servers": b.pool.servers().iter().map(server).collect::<Vec<_>>(),
    })
}
