//! Assembling the Pingora server from a loaded configuration: one proxy service per
//! frontend, the admin listener, and the graceful-stop watcher.

use std::sync::Arc;

use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::{RunArgs, Server};
use pingora::services::background::background_service;
use pingora::services::listening::Service;

use crate::access_log::AccessLog;
use crate::admin::AdminApi;
use crate::backend::Backend;
use crate::config::Config;
use crate::frontend::Frontend;
use crate::health::HealthChecks;
use crate::proxy::shutdown::{ExitWhenIdle, InFlight};
use crate::proxy::{Proxy, Refusal};
use crate::sweeper::Sweeper;

/// Command-line switches passed through to Pingora.
#[derive(Debug, Default, Clone, Copy)]
pub struct RunFlags {
    /// `-d`: run in the background.
    pub daemon: bool,
    /// `-u`: take the listening sockets over from a running tether (graceful upgrade).
    pub upgrade: bool,
}

/// Builds the server; `run` it to serve.
pub fn build(cfg: &Config, flags: RunFlags) -> Result<Tether, String> {
    let mut conf = server_conf(cfg)?;
    // Retries are decided by tether (`pool::retry`: at most `1 + retries` attempts per
    // request); Pingora's loop bound is set to the same number as a second guard.
    let most_attempts = cfg
        .backends
        .iter()
        .map(|b| b.retries as usize + 1)
        .max()
        .unwrap_or(1);
    conf.max_retries = most_attempts;
    let opt = Opt {
        daemon: flags.daemon,
        upgrade: flags.upgrade,
        ..Opt::default()
    };
    let mut server = Server::new_with_opt_and_conf(opt, conf);
    server.bootstrap();
    let server_conf = server.configuration.clone();

    let access_log = Arc::new(AccessLog::new(
        cfg.access_log.target.clone(),
        cfg.access_log.format,
    ));
    let in_flight = Arc::new(InFlight::default());

    let backends = cfg
        .backends
        .iter()
        .map(|b| Backend::from_config(b).map(Arc::new))
        .collect::<Result<Vec<_>, _>>()?;

    for fe in &cfg.frontends {
        let backend = backends
            .iter()
            .find(|b| b.name == fe.backend)
            .cloned()
            .ok_or_else(|| format!("frontend {}: no backend {}", fe.name, fe.backend))?;
        let proxy = Proxy {
            frontend: fe.name.clone(),
            timeout_client: fe.timeout_client,
            backend: backend.clone(),
            log: access_log.clone(),
            in_flight: in_flight.clone(),
            request_seconds: crate::metrics::request_duration(&fe.name, &backend.name),
        };
        let refusal = Refusal {
            frontend: fe.name.clone(),
            backend: backend.clone(),
            log: access_log.clone(),
        };
        let frontend = Frontend::new(
            Arc::new(pingora::proxy::http_proxy(&server_conf, proxy)),
            fe.head,
            fe.timeout_client,
            refusal,
        );
        let mut service = Service::new(format!("frontend {}", fe.name), frontend);
        for addr in &fe.listen {
            match &fe.tls {
                None => service.add_tcp(&addr.to_string()),
                Some(tls) => service
                    .add_tls(
                        &addr.to_string(),
                        &tls.cert.to_string_lossy(),
                        &tls.key.to_string_lossy(),
                    )
                    .map_err(|e| format!("frontends.{}.tls: {e}", fe.name))?,
            }
        }
        server.add_service(service);
    }

    if let Some(admin) = &cfg.admin {
        let mut service = Service::new(
            "admin".to_string(),
            AdminApi::new(backends.clone(), admin_token(admin)?),
        );
        service.add_tcp(&admin.listen.to_string());
        // One thread is plenty for the admin API; it must not compete with traffic.
        service.threads = Some(1);
        server.add_service(service);
    }

    if backends.iter().any(|b| b.health_check.is_some()) {
        server.add_service(background_service(
            "health checks",
            HealthChecks {
                backends: backends.clone(),
            },
        ));
    }

    if backends.iter().any(|b| b.app_sessions.is_some()) {
        server.add_service(background_service(
            "app-session sweeper",
            Sweeper {
                backends: backends.clone(),
            },
        ));
    }

    server.add_service(background_service(
        "exit when idle",
        ExitWhenIdle {
            in_flight,
            logs: vec![access_log.clone()],
        },
    ));
    Ok(Tether {
        server,
        logs: vec![access_log],
    })
}

/// A built server, and what must be written out when it stops.
pub struct Tether {
    server: Server,
    logs: Vec<Arc<AccessLog>>,
}

impl Tether {
    /// Serves until a signal stops the process; the access log's last lines are written
    /// before it exits, whichever way it stops (SIGINT included).
    pub fn run_forever(self) -> ! {
        self.server.run(RunArgs::default());
        for log in &self.logs {
            log.flush_within(crate::access_log::EXIT_FLUSH_LIMIT);
        }
        std::process::exit(0)
    }
}

/// Pingora's settings: the `pingora:` section (checked at load time), or defaults.
fn server_conf(cfg: &Config) -> Result<ServerConf, String> {
    Ok(cfg
        .pingora
        .as_ref()
        .map_or_else(ServerConf::default, |p| p.server_conf()))
}

/// The admin bearer token, read from `admin.token_file` (trimmed).
fn admin_token(admin: &crate::config::Admin) -> Result<Option<String>, String> {
    let Some(path) = &admin.token_file else {
        return Ok(None);
    };
    let token = std::fs::read_to_string(path)
        .map_err(|e| format!("admin.token_file {}: {e}", path.display()))?;
    let token = token.trim().to_string();
    if token.is_empty() {
        return Err(format!("admin.token_file {}: empty", path.display()));
    }
    Ok(Some(token))
}
