//! The admin listener (../shared/spec/admin.md): process health, and a JSON view of
//! backends and servers at run time.

mod views;

use std::sync::Arc;

use async_trait::async_trait;
use http::{Method, Response, StatusCode};
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;
use serde_json::{json, Value};

use crate::backend::Backend;
use crate::pool::Server;

/// The admin HTTP application.
pub struct AdminApi {
    backends: Vec<Arc<Backend>>,
}

impl AdminApi {
    pub fn new(backends: Vec<Arc<Backend>>) -> Self {
        AdminApi { backends }
    }

    fn backend(&self, name: &str) -> Result<&Backend, ApiError> {
        self.backends
            .iter()
            .find(|b| b.name == name)
            .map(|b| b.as_ref())
            .ok_or_else(|| ApiError::not_found(format!("no backend named {name:?}")))
    }

    fn server<'a>(&self, backend: &'a Backend, name: &str) -> Result<&'a Server, ApiError> {
        backend
            .pool
            .position(name)
            .and_then(|i| backend.pool.get(i))
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "backend {:?} has no server named {name:?}",
                    backend.name
                ))
            })
    }

    fn route(&self, method: &Method, path: &str) -> Result<Value, ApiError> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (method, segments.as_slice()) {
            (&Method::GET, ["healthz"]) => Ok(json!({ "status": "ok" })),
            (&Method::GET, ["api", "backends"]) => Ok(Value::Array(
                self.backends.iter().map(|b| views::backend(b)).collect(),
            )),
            (&Method::GET, ["api", "backends", b, "servers", s]) => {
                let backend = self.backend(b)?;
                Ok(views::server(self.server(backend, s)?))
            }
            (_, ["healthz"]) | (_, ["api", "backends", ..]) => Err(ApiError {
                status: StatusCode::METHOD_NOT_ALLOWED,
                message: format!("{method} is not supported on {path}"),
            }),
            _ => Err(ApiError::not_found(format!(
                "no such endpoint: {method} {path}"
            ))),
        }
    }
}

/// An answer other than 200: the status and a message naming what was wrong.
struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn not_found(message: String) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message,
        }
    }
}

fn respond(status: StatusCode, body: Value) -> Response<Vec<u8>> {
    let mut body = body.to_string().into_bytes();
    body.push(b'\n');
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("content-length", body.len())
        .body(body)
        .unwrap_or_default()
}

#[async_trait]
impl ServeHttp for AdminApi {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let req = session.req_header();
        let method = req.method.clone();
        let path = req.uri.path().to_string();
        match self.route(&method, &path) {
            Ok(body) => respond(StatusCode::OK, body),
            Err(e) => respond(e.status, json!({ "error": e.message })),
        }
    }
}
