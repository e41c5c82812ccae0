//! The admin listener (docs/admin-api.md): process health, a JSON view of backends,
//! servers and session tables, and the runtime changes (server state and weight, session
//! removal). Reads need no token; changes need `Authorization: Bearer <token>` when
//! `admin.token_file` is set. Every change is logged with the peer address and the old
//! and new values.

mod reply;
mod routes;
mod views;

use std::sync::Arc;

use async_trait::async_trait;
use http::Response;
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;

use crate::backend::Backend;
use reply::ApiError;

/// Request bodies larger than this are refused: the API's bodies are a few bytes.
const MAX_BODY: usize = 64 * 1024;

/// The admin HTTP application.
pub struct AdminApi {
    backends: Vec<Arc<Backend>>,
    /// The bearer token changes must present, when configured.
    token: Option<String>,
}

impl AdminApi {
    pub fn new(backends: Vec<Arc<Backend>>, token: Option<String>) -> Self {
        AdminApi { backends, token }
    }

    /// Whether the request may change things.
    fn authorized(&self, session: &ServerSession) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        let presented = session
            .req_header()
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        constant_time_eq(presented.trim().as_bytes(), token.as_bytes())
    }
}

/// Compares without an early exit, so the answer time does not tell how much of a
/// guessed token was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn read_body(session: &mut ServerSession) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::new();
    loop {
        match session.read_request_body().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err(ApiError::bad_request(format!(
                        "body: larger than {MAX_BODY} bytes"
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(ApiError::bad_request(format!("body: {e}"))),
        }
    }
}

#[async_trait]
impl ServeHttp for AdminApi {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let req = session.req_header();
        let method = req.method.clone();
        let path = req.uri.path().to_string();
        let query = req.uri.query().unwrap_or_default().to_string();
        let peer = session
            .client_addr()
            .map_or_else(|| "-".to_string(), |a| a.to_string());
        let changes = !matches!(method, http::Method::GET | http::Method::HEAD);
        if changes && !self.authorized(session) {
            return ApiError::unauthorized().into_response();
        }
        let body = if changes {
            match read_body(session).await {
                Ok(b) => b,
                Err(e) => return e.into_response(),
            }
        } else {
            Vec::new()
        };
        let call = routes::Call {
            method: &method,
            path: &path,
            query: &query,
            body: &body,
            peer: &peer,
        };
        match self.route(&call) {
            Ok(reply) => reply.into_response(),
            Err(e) => e.into_response(),
        }
    }
}
