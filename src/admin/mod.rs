//! The admin listener: health of the process now; the runtime API and `/metrics` are
//! served from here too (see ../shared/spec/admin.md).

use async_trait::async_trait;
use http::{Response, StatusCode};
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;

/// The admin HTTP application.
pub struct AdminApi {}

impl AdminApi {
    pub fn new() -> Self {
        AdminApi {}
    }
}

impl Default for AdminApi {
    fn default() -> Self {
        Self::new()
    }
}

fn json(status: StatusCode, body: String) -> Response<Vec<u8>> {
    let body = body.into_bytes();
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("content-length", body.len())
        .body(body)
        .unwrap_or_default()
}

fn error(status: StatusCode, message: &str) -> Response<Vec<u8>> {
    json(status, serde_json::json!({ "error": message }).to_string())
}

#[async_trait]
impl ServeHttp for AdminApi {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let req = session.req_header();
        let method = req.method.clone();
        let path = req.uri.path().to_string();
        match (method.as_str(), path.as_str()) {
            ("GET", "/healthz") => json(StatusCode::OK, r#"{"status":"ok"}"#.to_string()),
            (_, "/healthz") => error(StatusCode::METHOD_NOT_ALLOWED, "use GET"),
            _ => error(
                StatusCode::NOT_FOUND,
                &format!("no such endpoint: {method} {path}"),
            ),
        }
    }
}
