//! The JSON shapes of the admin API (docs/admin-api.md §5.3, §6.1).

use serde_json::{json, Value};

use crate::backend::Backend;
use crate::persist::appsession::{AppSessions, IdSource};
use crate::pool::Server;

/// `ServerView`: `{"name", "address", "cookie", "state", "health", "weight",
/// "active_requests", "sticky_sessions"}`, plus `queued_requests`. `sticky_sessions`
/// counts the app-session entries pointing at the server (as of the last sweep).
pub fn server(b: &Backend, idx: usize, s: &Server) -> Value {
    let sticky = b.app_sessions.as_ref().map_or(0, |a| a.sessions_of(idx));
    json!({
        "name": s.name,
        "address": s.addr.to_string(),
        "cookie": s.cookie,
        "state": s.admin_state().as_str(),
        "health": s.health().as_str(),
        "weight": s.weight(),
        "active_requests": s.active_requests(),
        "queued_requests": s.queued_requests(),
        "sticky_sessions": sticky,
    })
}

/// The `ServerView` of server `idx` of a backend.
pub fn server_at(b: &Backend, idx: usize) -> Value {
    b.pool.get(idx).map_or(Value::Null, |s| server(b, idx, s))
}

/// `{"name", "balance", "servers": [ServerView]}`.
pub fn backend(b: &Backend) -> Value {
    json!({
        "name": b.name,
        "balance": b.algorithm.as_string(),
        "servers": b
            .pool
            .servers()
            .iter()
            .enumerate()
            .map(|(i, s)| server(b, i, s))
            .collect::<Vec<_>>(),
    })
}

/// An app-session key as text: an address for `key: src`, else the id's bytes (invalid
/// UTF-8 shown as U+FFFD; such keys are deleted by percent-encoding their bytes).
pub fn session_key(source_is_src: bool, key: &[u8]) -> String {
    if source_is_src {
        match key.len() {
            4 => {
                let b: [u8; 4] = key.try_into().unwrap_or_default();
                return std::net::Ipv4Addr::from(b).to_string();
            }
            16 => {
                let b: [u8; 16] = key.try_into().unwrap_or_default();
                return std::net::Ipv6Addr::from(b).to_string();
            }
            _ => {}
        }
    }
    String::from_utf8_lossy(key).into_owned()
}

/// `{"entries": N, "items": [{"key", "server", "idle_s"}]}`.
pub fn app_sessions(app: &AppSessions, limit: usize, now: u32) -> Value {
    let src = matches!(app.spec.source, IdSource::Src);
    let items: Vec<Value> = app
        .table
        .items(limit, now)
        .into_iter()
        .map(|item| {
            json!({
                "key": session_key(src, &item.key),
                "server": app.table.server_name(item.server).map(|n| n.to_string()),
                "idle_s": item.idle_secs,
            })
        })
        .collect();
    json!({ "entries": app.table.len(), "items": items })
}
