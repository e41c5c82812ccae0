//! Talking to tether's admin API in tests.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::http::{Request, Response};

/// The admin API of a running tether.
pub struct Admin {
    pub addr: SocketAddr,
    pub token: Option<String>,
}

impl Admin {
    pub fn new(addr: SocketAddr) -> Self {
        Admin { addr, token: None }
    }

    fn auth(&self, req: Request) -> Request {
        match &self.token {
            Some(t) => req.header("Authorization", format!("Bearer {t}")),
            None => req,
        }
    }

    pub fn get(&self, path: &str) -> Response {
        Request::get(path).send(self.addr).expect("admin GET")
    }

    /// GET and parse the JSON body (panics on a non-200).
    pub fn json(&self, path: &str) -> Value {
        let r = self.get(path);
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        serde_json::from_slice(&r.body).expect("admin JSON")
    }

    pub fn put(&self, path: &str, body: &str) -> Response {
        self.auth(
            Request::new("PUT", path)
                .header("content-type", "application/json")
                .body(body),
        )
        .send(self.addr)
        .expect("admin PUT")
    }

    pub fn delete(&self, path: &str) -> Response {
        self.auth(Request::new("DELETE", path))
            .send(self.addr)
            .expect("admin DELETE")
    }

    /// `PUT .../state`, asserting success.
    pub fn set_state(&self, backend: &str, server: &str, state: &str) {
        let r = self.put(
            &format!("/api/backends/{backend}/servers/{server}/state"),
            &format!("{{\"state\":\"{state}\"}}"),
        );
        assert_eq!(
            r.status,
            200,
            "set {backend}/{server} {state}: {}",
            r.text()
        );
    }

    /// Polls `GET path` until `check` accepts the JSON (readiness, not a fixed sleep).
    pub fn wait_for(&self, path: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let v = self.json(path);
            if check(&v) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: never happened; last {path}: {v}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until server `s` of backend `be` reports `field == value`.
    pub fn wait_server(&self, be: &str, s: &str, field: &str, value: u64) {
        self.wait_for(
            &format!("/api/backends/{be}/servers/{s}"),
            &format!("{be}/{s}.{field} == {value}"),
            |v| v[field].as_u64() == Some(value),
        );
    }
}
