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

/// The admin HTTP application.
pub struct AdminApi {
    backends: Vec<Arc<Backend>>,
}

impl AdminApi {
    pub fn new(backends: Vec<Arc<Backend>>) -> Self {
        AdminApi { backends }
    }

    fn backend(&self, name: &str) -> Result<&Backend, Response<Vec<u8>>> {
        self.backends
            .iter()
            .find(|b| b.name == name)
            .map(|b| b.as_ref())
            .ok_or_else(|| error(StatusCode::NOT_FOUND, &format!("no backend named {name:?}")))
    }

    fn route(&self, method: &Method, path: &str) -> Response<Vec<u8>> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (method, segments.as_slice()) {
            (&Method::GET, ["healthz"]) => ok(json!({ "status": "ok" })),
            (&Method::GET, ["api", "backends"]) => ok(Value::Array(
                self.backends.iter().map(|b| views::backend(b)).collect(),
            )),
            (&Method::GET, ["api", "backends", b, "servers", s]) => {
                let backend = match self.backend(b) {
                    Ok(be) => be,
                    Err(resp) => return resp,
                };
                match backend.pool.position(s).and_then(|i| backend.pool.get(i)) {
                    Some(server) => ok(views::server(server)),
                    None => error(
                        StatusCode::NOT_FOUND,
                        &format!("backend {b:?} has no server named {s:?}"),
                    ),
                }
            }
            (_, ["healthz"]) | (_, ["api", "backends", ..]) => error(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("{method} is not supported on {path}"),
            ),
            _ => error(
                StatusCode::NOT_FOUND,
                &format!("no such endpoint: {method} {path}"),
            ),
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

fn ok(body: Value) -> Response<Vec<u8>> {
    respond(StatusCode::OK, body)
}

fn error(status: StatusCode, message: &str) -> Response<Vec<u8>> {
    respond(status, json!({ "error": message }))
}

#[async_trait]
impl ServeHttp for AdminApi {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let req = session.req_header();
        let method = req.method.clone();
        let path = req.uri.path().to_string();
        self.route(&method, &path)
    }
}
