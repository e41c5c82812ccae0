//! The admin API's routes, one function per endpoint of docs/admin-api.md.

use std::net::IpAddr;

use http::Method;
use serde_json::{json, Value};

use crate::backend::Backend;
use crate::persist::appsession::{AppSessions, IdSource};
use crate::pool::AdminState;
use crate::sweeper::unix_now;

use super::reply::{limit_param, percent_decode, ApiError, Reply};
use super::{views, AdminApi};

/// One admin request, read.
pub struct Call<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: &'a str,
    pub body: &'a [u8],
    /// Who asked (for the change log).
    pub peer: &'a str,
}

impl AdminApi {
    pub(super) fn route(&self, call: &Call<'_>) -> Result<Reply, ApiError> {
        let segments: Vec<&str> = call.path.trim_matches('/').split('/').collect();
        match (call.method, segments.as_slice()) {
            (&Method::GET, ["healthz"]) => Ok(Reply::Json(json!({ "status": "ok" }))),
            (&Method::GET, ["metrics"]) => {
                for b in &self.backends {
                    b.refresh_metrics();
                }
                Ok(Reply::Text(crate::metrics::render()))
            }
            (&Method::GET, ["api", "backends"]) => Ok(Reply::Json(Value::Array(
                self.backends.iter().map(|b| views::backend(b)).collect(),
            ))),
            (&Method::GET, ["api", "backends", b, "servers", s]) => {
                let (backend, idx) = self.server(b, s)?;
                Ok(Reply::Json(views::server_at(backend, idx)))
            }
            (&Method::PUT, ["api", "backends", b, "servers", s, "state"]) => {
                let (backend, idx) = self.server(b, s)?;
                self.set_state(call, backend, idx)
            }
            (&Method::PUT, ["api", "backends", b, "servers", s, "weight"]) => {
                let (backend, idx) = self.server(b, s)?;
                self.set_weight(call, backend, idx)
            }
            (&Method::GET, ["api", "backends", b, "app_sessions"]) => {
                let app = app_sessions_of(self.backend(b)?)?;
                let limit = limit_param(call.query)?;
                Ok(Reply::Json(views::app_sessions(app, limit, unix_now())))
            }
            (&Method::DELETE, ["api", "backends", b, "app_sessions", key]) => {
                self.delete_session(call, self.backend(b)?, key)
            }
            // A path that exists, with another method.
            (_, ["healthz"] | ["metrics"] | ["api", "backends"])
            | (_, ["api", "backends", _, "servers", _])
            | (_, ["api", "backends", _, "servers", _, "state" | "weight"])
            | (_, ["api", "backends", _, "app_sessions"])
            | (_, ["api", "backends", _, "app_sessions", _]) => Err(ApiError::method_not_allowed(
                format!("{} is not supported on {}", call.method, call.path),
            )),
            _ => Err(ApiError::not_found(format!(
                "no such endpoint: {} {}",
                call.method, call.path
            ))),
        }
    }

    fn backend(&self, name: &str) -> Result<&Backend, ApiError> {
        self.backends
            .iter()
            .find(|b| b.name == name)
            .map(|b| b.as_ref())
            .ok_or_else(|| ApiError::not_found(format!("no backend named {name:?}")))
    }

    fn server(&self, backend: &str, server: &str) -> Result<(&Backend, usize), ApiError> {
        let b = self.backend(backend)?;
        let idx = b.pool.position(server).ok_or_else(|| {
            ApiError::not_found(format!(
                "backend {backend:?} has no server named {server:?}"
            ))
        })?;
        Ok((b, idx))
    }

    /// `PUT .../state {"state": "ready" | "drain" | "maint"}`.
    fn set_state(&self, call: &Call<'_>, b: &Backend, idx: usize) -> Result<Reply, ApiError> {
        let body = json_body(call.body)?;
        let accepted = AdminState::NAMES.join(", ");
        let word = body
            .get("state")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::bad_request(format!("state: expected one of {accepted}")))?;
        let state = AdminState::parse(word).ok_or_else(|| {
            ApiError::bad_request(format!("state: expected one of {accepted}, got {word:?}"))
        })?;
        let old = b
            .set_admin_state(idx, state)
            .ok_or_else(|| ApiError::not_found("server vanished".into()))?;
        let name = b.pool.get(idx).map_or("?", |s| s.name.as_str());
        log::warn!(
            "admin {}: server {}/{} state {} -> {}",
            call.peer,
            b.name,
            name,
            old.as_str(),
            state.as_str()
        );
        Ok(Reply::Json(views::server_at(b, idx)))
    }

    /// `PUT .../weight {"weight": 0..256}`.
    fn set_weight(&self, call: &Call<'_>, b: &Backend, idx: usize) -> Result<Reply, ApiError> {
        let body = json_body(call.body)?;
        let weight = body
            .get("weight")
            .and_then(Value::as_u64)
            .filter(|w| *w <= 256)
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "weight: expected an integer from 0 to 256, got {}",
                    body.get("weight")
                        .map_or("nothing".into(), |v| v.to_string())
                ))
            })?;
        let old = b
            .set_weight(idx, weight as u32)
            .ok_or_else(|| ApiError::not_found("server vanished".into()))?;
        let name = b.pool.get(idx).map_or("?", |s| s.name.as_str());
        log::warn!(
            "admin {}: server {}/{} weight {} -> {}",
            call.peer,
            b.name,
            name,
            old,
            weight
        );
        Ok(Reply::Json(views::server_at(b, idx)))
    }

    /// `DELETE .../app_sessions/{key}` (percent-encoded; an address for `key: src`).
    fn delete_session(&self, call: &Call<'_>, b: &Backend, key: &str) -> Result<Reply, ApiError> {
        let app = app_sessions_of(b)?;
        let mut key = percent_decode(key);
        if matches!(app.spec.source, IdSource::Src) {
            match std::str::from_utf8(&key)
                .ok()
                .and_then(|k| k.parse::<IpAddr>().ok())
            {
                Some(IpAddr::V4(ip)) => key = ip.octets().to_vec(),
                Some(IpAddr::V6(ip)) => key = ip.octets().to_vec(),
                None => {}
            }
        }
        let shown = views::session_key(matches!(app.spec.source, IdSource::Src), &key);
        if app.table.forget(&key) {
            log::warn!(
                "admin {}: app session {:?} of backend {} deleted",
                call.peer,
                shown,
                b.name
            );
            Ok(Reply::NoContent)
        } else {
            Err(ApiError::not_found(format!(
                "backend {:?} has no app session {shown:?}",
                b.name
            )))
        }
    }
}

fn app_sessions_of(backend: &Backend) -> Result<&AppSessions, ApiError> {
    backend.app_sessions.as_ref().ok_or_else(|| {
        ApiError::not_found(format!(
            "backend {:?} has no app_session table",
            backend.name
        ))
    })
}

fn json_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("body: invalid JSON: {e}")))
}
