//! Decoding of each section of docs/configuration.md into the typed schema, one function per
//! section. Each function records its errors and goes on with defaults, so one pass finds them all.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::backend::backend;
use super::decode::{
    describe, duration, enumeration, integer, is_bool_or_number, non_empty_list, one_or_many,
    socket_addr, string, At, Diag, MapReader, LISTEN_FORMAT,
};
use super::pingora;
use super::schema::*;
use super::validate::{self, FrontendSpots};
use super::yaml::{Node, Value};
use crate::frontend::HeadLimits;

pub(super) const ROOT: &[&str] = &["pingora", "admin", "access_log", "frontends", "backends"];

/// The whole document.
pub(crate) fn config(root: &Node, diag: &mut Diag) -> Option<Config> {
    if root.value == Value::Null {
        let message = format!(
            "the configuration is empty: expected a map with keys {}",
            ROOT.join(", ")
        );
        diag.error("", root.mark, message);
        return None;
    }
    let mut r = MapReader::new(root, "", ROOT, diag)?;
    let pingora = r.opt("pingora", diag, pingora::section);
    let admin = r.opt("admin", diag, admin);
    let access_log = r.opt("access_log", diag, access_log).unwrap_or_default();
    let frontends = r
        .req("frontends", "a list of frontends", diag, |n, p, d| {
            non_empty_list(n, p, "frontend", d, frontend)
        })
        .unwrap_or_default();
    let backends = r
        .req("backends", "a list of backends", diag, |n, p, d| {
            non_empty_list(n, p, "backend", d, backend)
        })
        .unwrap_or_default();
    r.finish(diag);

    let admin_listen = admin
        .as_ref()
        .and_then(|(a, at)| Some((a.listen, at.clone()?)));
    validate::topology(&frontends, &backends, admin_listen, diag);
    Some(Config {
        pingora,
        admin: admin.map(|(a, _)| a),
        access_log,
        frontends: frontends.into_iter().map(|(f, _)| f).collect(),
        backends: backends.into_iter().map(|(b, _)| b).collect(),
    })
}

/// A path in the file system, as written.
pub(super) fn file_path(node: &Node, path: &str, diag: &mut Diag) -> Option<PathBuf> {
    string(node, path, diag).map(PathBuf::from)
}

/// A duration of at least 1 ms: a zero timeout or interval is always a mistake.
pub(super) fn positive_duration(node: &Node, path: &str, diag: &mut Diag) -> Option<Duration> {
    let d = duration(node, path, diag)?;
    if d.is_zero() {
        diag.error(
            path,
            node.mark,
            "expected a duration of at least 1ms, got 0",
        );
        return None;
    }
    Some(d)
}

/// A placeholder for an address that did not decode (an error is already recorded).
pub(super) const NO_ADDRESS: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);

pub(super) const ADMIN: &[&str] = &["listen", "token_file"];

/// `admin:`, with where its listen address is for the listener cross-check.
fn admin(node: &Node, path: &str, diag: &mut Diag) -> Option<(Admin, Option<At>)> {
    let mut r = MapReader::new(node, path, ADMIN, diag)?;
    let listen = r.req("listen", LISTEN_FORMAT, diag, socket_addr);
    let token_file = r.opt("token_file", diag, file_path);
    if let Some(file) = &token_file {
        validate::token_file(file, &r.at("token_file"), diag);
    }
    let listen_at = listen.map(|_| r.at("listen"));
    r.finish(diag);
    let admin = Admin {
        listen: listen.unwrap_or(NO_ADDRESS),
        token_file,
    };
    Some((admin, listen_at))
}

pub(super) const ACCESS_LOG: &[&str] = &["target", "format"];
const LOG_TARGETS: &str = "stdout, stderr, off or a file path";

/// `access_log: <target>` or `access_log: { target: <target>, format: text | json }`.
fn access_log(node: &Node, path: &str, diag: &mut Diag) -> Option<AccessLog> {
    if let Value::Map(_) = node.value {
        let mut r = MapReader::new(node, path, ACCESS_LOG, diag)?;
        let target = r.opt("target", diag, log_target).unwrap_or_default();
        let format = r.opt("format", diag, |n, p, d| {
            enumeration(n, p, LogFormat::parse, LogFormat::NAMES, d)
        });
        r.finish(diag);
        return Some(AccessLog {
            target,
            format: format.unwrap_or_default(),
        });
    }
    log_target(node, path, diag).map(|target| AccessLog {
        target,
        format: LogFormat::Text,
    })
}

fn log_target(node: &Node, path: &str, diag: &mut Diag) -> Option<LogTarget> {
    let text = match &node.value {
        // A plain `false` or `0` is not a file name anyone means.
        Value::Scalar(s) if !is_bool_or_number(s) => s.text.as_str(),
        _ => {
            let message = format!(
                "expected {LOG_TARGETS}, or a map with keys target, format; got {}",
                describe(node)
            );
            diag.error(path, node.mark, message);
            return None;
        }
    };
    Some(match text {
        "stdout" => LogTarget::Stdout,
        "stderr" => LogTarget::Stderr,
        "off" => LogTarget::Off,
        "" => {
            diag.error(path, node.mark, format!("expected {LOG_TARGETS}, got \"\""));
            return None;
        }
        file => LogTarget::File(PathBuf::from(file)),
    })
}

/// Pingora parses at most 256 header lines (its `MAX_HEADERS`): a higher limit would let
/// requests through tether's check only to be refused by Pingora without a log line.
const MAX_HEADERS: i128 = 256;
/// Well below Pingora's own 1 MiB bound on a request head.
const MAX_HEADER_BYTES: i128 = 512 * 1024;

pub(super) const FRONTEND: &[&str] = &[
    "name",
    "listen",
    "timeout_client",
    "timeout_http_request",
    "max_headers",
    "max_header_bytes",
    "tls",
    "backend",
];

fn frontend(node: &Node, path: &str, diag: &mut Diag) -> Option<(Frontend, FrontendSpots)> {
    let mut r = MapReader::new(node, path, FRONTEND, diag)?;
    let name = r.req("name", "a non-empty string", diag, string);
    let listen = r
        .req("listen", "a list of addresses ip:port", diag, listen)
        .unwrap_or_default();
    let timeout_client = r.opt("timeout_client", diag, positive_duration);
    let defaults = HeadLimits::default();
    let head = HeadLimits {
        timeout: r
            .opt("timeout_http_request", diag, positive_duration)
            .unwrap_or(defaults.timeout),
        max_headers: r
            .opt("max_headers", diag, |n, p, d| {
                integer(n, p, 1, MAX_HEADERS, d)
            })
            .unwrap_or(defaults.max_headers),
        max_bytes: r
            .opt("max_header_bytes", diag, |n, p, d| {
                integer(n, p, 256, MAX_HEADER_BYTES, d)
            })
            .unwrap_or(defaults.max_bytes),
    };
    let tls = r.opt("tls", diag, tls);
    let backend = r.req("backend", "the name of a backend", diag, string);
    let spots = FrontendSpots {
        name: name.as_ref().map(|_| r.at("name")),
        listen: listen.iter().map(|(_, at)| at.clone()).collect(),
        backend: backend.as_ref().map(|_| r.at("backend")),
    };
    r.finish(diag);
    let frontend = Frontend {
        name: name.unwrap_or_default(),
        listen: listen.into_iter().map(|(a, _)| a).collect(),
        timeout_client: timeout_client.unwrap_or(Duration::from_secs(30)),
        head,
        tls,
        backend: backend.unwrap_or_default(),
    };
    Some((frontend, spots))
}

/// `listen:`: one address or a non-empty list, each with where it is written.
fn listen(node: &Node, path: &str, diag: &mut Diag) -> Option<Vec<(SocketAddr, At)>> {
    if matches!(&node.value, Value::Seq(items) if items.is_empty()) {
        diag.error(
            path,
            node.mark,
            "empty list: expected at least one address ip:port or [ipv6]:port",
        );
        return None;
    }
    one_or_many(node, path, diag, |n, p, d| {
        Some((socket_addr(n, p, d)?, At::of(p, n)))
    })
}

pub(super) const TLS: &[&str] = &["cert", "key"];

fn tls(node: &Node, path: &str, diag: &mut Diag) -> Option<Tls> {
    let mut r = MapReader::new(node, path, TLS, diag)?;
    let cert = r.req(
        "cert",
        "the path of a PEM certificate file",
        diag,
        file_path,
    );
    let key = r.req("key", "the path of a PEM private key file", diag, file_path);
    if let Some(cert) = &cert {
        validate::readable_file(cert, "a readable PEM certificate file", &r.at("cert"), diag);
    }
    if let Some(key) = &key {
        validate::readable_file(key, "a readable PEM private key file", &r.at("key"), diag);
    }
    r.finish(diag);
    Some(Tls {
        cert: cert.unwrap_or_default(),
        key: key.unwrap_or_default(),
    })
}
