//! One health check of one server, performed by pingora-load-balancing's own checks
//! (`HttpHealthCheck`, `TcpHealthCheck`), and classified the way HAProxy reports it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pingora::http::{RequestHeader, ResponseHeader};
use pingora::lb::health_check::{HealthCheck as PingoraCheck, HttpHealthCheck, TcpHealthCheck};
use pingora::lb::Backend as LbBackend;
use pingora::{Error, ErrorType};

use super::tracker::CheckResult;
use crate::config::{CheckKind, HealthCheck};

/// What one check found, with HAProxy's words for it.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub result: CheckResult,
    /// `Layer7 check passed`, `Layer4 connection problem`, ...
    pub reason: &'static str,
    pub code: Option<u16>,
    pub info: Option<String>,
    pub duration: Duration,
}

/// A configured check, ready to run against any server of the backend.
pub struct Probe {
    check: Box<dyn PingoraCheck + Send + Sync>,
    timeout: Duration,
    layer7: bool,
}

/// The validator puts the status in the error so the outcome can name it.
const STATUS_ERROR: &str = "unexpected status";

impl Probe {
    /// The check of one server. HTTP checks send `Host: <health_check.host>`, or the
    /// server's address when none is configured (HTTP/1.1 requires a Host, and servers
    /// such as nginx refuse requests without one).
    pub fn new(cfg: &HealthCheck, server: SocketAddr) -> Result<Self, String> {
        let check: Box<dyn PingoraCheck + Send + Sync> = match cfg.kind {
            CheckKind::Tcp => {
                let mut tcp = TcpHealthCheck::new();
                tcp.peer_template.options.connection_timeout = Some(cfg.timeout);
                tcp
            }
            CheckKind::Http => {
                let host = cfg.host.clone().unwrap_or_else(|| server.to_string());
                let mut http = HttpHealthCheck::new(&host, false);
                let mut req = RequestHeader::build(cfg.method.as_str(), cfg.path.as_bytes(), None)
                    .map_err(|e| format!("health_check: {e}"))?;
                req.insert_header("Host", host.as_str())
                    .map_err(|e| format!("health_check.host: {e}"))?;
                req.insert_header("Connection", "close")
                    .map_err(|e| format!("health_check: {e}"))?;
                http.req = req;
                http.peer_template.options.connection_timeout = Some(cfg.timeout);
                http.peer_template.options.read_timeout = Some(cfg.timeout);
                http.peer_template.options.write_timeout = Some(cfg.timeout);
                let expect = Arc::new(cfg.expect_status.clone());
                let on_404 = cfg.disable_on_404;
                http.validator = Some(Box::new(move |resp: &ResponseHeader| {
                    let code = resp.status.as_u16();
                    let ok = if expect.is_empty() {
                        (200..400).contains(&code)
                    } else {
                        expect.contains(&code)
                    };
                    if ok && !(on_404 && code == 404) {
                        Ok(())
                    } else {
                        Error::e_explain(ErrorType::CustomCode(STATUS_ERROR, code), "health check")
                    }
                }));
                Box::new(http)
            }
        };
        Ok(Probe {
            check,
            timeout: cfg.timeout,
            layer7: cfg.kind == CheckKind::Http,
        })
    }

    /// Checks `addr` once; bounded by the check's timeout whatever the server does.
    pub async fn run(&self, addr: SocketAddr, disable_on_404: bool) -> Outcome {
        let started = Instant::now();
        let (result, reason, code, info) = self.check_once(addr, disable_on_404).await;
        Outcome {
            result,
            reason,
            code,
            info,
            duration: started.elapsed(),
        }
    }

    /// The check and HAProxy's words for its result: (result, reason, status, info).
    async fn check_once(
        &self,
        addr: SocketAddr,
        disable_on_404: bool,
    ) -> (CheckResult, &'static str, Option<u16>, Option<String>) {
        use CheckResult::{ConditionallyPassed, Failed, Passed};
        let l7 = self.layer7;
        let timeout = if l7 {
            "Layer7 timeout"
        } else {
            "Layer4 timeout"
        };
        let target = match LbBackend::new(&addr.to_string()) {
            Ok(b) => b,
            Err(e) => {
                return (
                    Failed,
                    "Layer4 connection problem",
                    None,
                    Some(e.to_string()),
                )
            }
        };
        // Pingora's own timeouts apply per step; this bounds the whole check.
        match tokio::time::timeout(self.timeout, self.check.check(&target)).await {
            Err(_) => (Failed, timeout, None, None),
            Ok(Ok(())) => {
                let passed = if l7 {
                    "Layer7 check passed"
                } else {
                    "Layer4 check passed"
                };
                (Passed, passed, None, None)
            }
            Ok(Err(e)) => match e.etype() {
                ErrorType::CustomCode(STATUS_ERROR, 404) if disable_on_404 => (
                    ConditionallyPassed,
                    "Layer7 check conditionally passed",
                    Some(404),
                    None,
                ),
                ErrorType::CustomCode(STATUS_ERROR, code) => {
                    (Failed, "Layer7 wrong status", Some(*code), None)
                }
                ErrorType::ConnectTimedout => (Failed, "Layer4 timeout", None, None),
                ErrorType::ReadTimedout | ErrorType::WriteTimedout => (Failed, timeout, None, None),
                ErrorType::ConnectRefused | ErrorType::ConnectError | ErrorType::ConnectNoRoute => {
                    (
                        Failed,
                        "Layer4 connection problem",
                        None,
                        Some(e.etype().as_str().to_string()),
                    )
                }
                other => (
                    Failed,
                    if l7 {
                        "Layer7 invalid response"
                    } else {
                        "Layer4 connection problem"
                    },
                    None,
                    Some(other.as_str().to_string()),
                ),
            },
        }
    }
}

impl Outcome {
    /// `reason: Layer7 wrong status, code: 500, check duration: 1ms`.
    pub fn describe(&self) -> String {
        let mut s = format!("reason: {}", self.reason);
        if let Some(code) = self.code {
            s.push_str(&format!(", code: {code}"));
        }
        if let Some(info) = &self.info {
            s.push_str(&format!(", info: \"{info}\""));
        }
        s.push_str(&format!(
            ", check duration: {}ms",
            self.duration.as_millis()
        ));
        s
    }
}
