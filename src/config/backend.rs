//! Decoding of a `backends:` item: balancing, timeouts, retries, health checks and
//! servers. The persistence sections (`cookie`, `app_session`) are in `persistence.rs`.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use crate::balance::{Algorithm, HashType};
use crate::pool::AdminState;

use super::conditions::conditions;
use super::decode::{
    boolean, describe, enumeration, integer, non_empty_list, one_or_many, plain_int, string, Diag,
    MapReader,
};
use super::persistence::{app_session, cookie};
use super::schema::*;
use super::sections::{positive_duration, NO_ADDRESS};
use super::validate::{self, BackendSpots, ServerSpots};
use super::yaml::{Node, Value};

pub(super) const BACKEND: &[&str] = &[
    "name",
    "balance",
    "hash_type",
    "hash_balance_factor",
    "cookie",
    "app_session",
    "timeouts",
    "allbackups",
    "persist",
    "redispatch",
    "retries",
    "failover",
    "ignore_persist",
    "force_persist",
    "health_check",
    "servers",
];

/// Retries are capped because Pingora runs every attempt of a request in one loop bounded by
/// `ServerConf.max_retries`, which the proxy must raise to the largest `retries` + 1; with a
/// dead server each retry also costs up to `timeouts.connect`, so 100 retries already hold
/// a request for minutes.
const MAX_RETRIES: i128 = 100;

pub(super) fn backend(node: &Node, path: &str, diag: &mut Diag) -> Option<(Backend, BackendSpots)> {
    let mut r = MapReader::new(node, path, BACKEND, diag)?;
    let name = r.req("name", "a non-empty string", diag, string);
    let balance = r.opt("balance", diag, |n, p, d| {
        enumeration(n, p, Algorithm::parse, Algorithm::NAMES, d)
    });
    let hash_type = r.opt("hash_type", diag, |n, p, d| {
        enumeration(n, p, HashType::parse, HashType::NAMES, d)
    });
    let hash_balance_factor = r.opt("hash_balance_factor", diag, hash_balance_factor);
    let cookie = r.opt("cookie", diag, cookie);
    let app_session = r.opt("app_session", diag, app_session);
    let timeouts = r.opt("timeouts", diag, timeouts);
    let allbackups = r.opt("allbackups", diag, boolean);
    let persist = r.opt("persist", diag, boolean);
    let redispatch = r.opt("redispatch", diag, redispatch);
    let retries = r.opt("retries", diag, |n, p, d| integer(n, p, 0, MAX_RETRIES, d));
    let failover = r.opt("failover", diag, boolean);
    let ignore_persist = r.opt("ignore_persist", diag, conditions);
    let force_persist = r.opt("force_persist", diag, conditions);
    let health_check = r.opt("health_check", diag, health_check);
    let servers = r
        .req("servers", "a list of servers", diag, |n, p, d| {
            non_empty_list(n, p, "server", d, server)
        })
        .unwrap_or_default();
    validate::servers(&servers, diag);
    let name_at = name.as_ref().map(|_| r.at("name"));
    // Hash options are only judged against a balance that decoded.
    let balance_ok = balance.is_some() || !r.has("balance");

    let backend = Backend {
        name: name.unwrap_or_default(),
        balance: balance.unwrap_or(Algorithm::RoundRobin),
        hash_type: hash_type.unwrap_or_default(),
        hash_balance_factor: hash_balance_factor.unwrap_or(0),
        cookie,
        app_session,
        timeouts: timeouts.unwrap_or_default(),
        allbackups: allbackups.unwrap_or(false),
        persist: persist.unwrap_or(false),
        redispatch: redispatch.unwrap_or_default(),
        retries: retries.unwrap_or(3),
        failover: failover.unwrap_or(true),
        ignore_persist: ignore_persist.unwrap_or_default(),
        force_persist: force_persist.unwrap_or_default(),
        health_check,
        servers: servers.into_iter().map(|(s, _)| s).collect(),
    };
    if balance_ok {
        validate::hash_options(&backend, &r, diag);
    }
    let spots = BackendSpots { name: name_at };
    r.finish(diag);
    Some((backend, spots))
}

/// HAProxy `hash-balance-factor`: "must be 0 or greater than 100" (cfgparse-listen.c).
fn hash_balance_factor(node: &Node, path: &str, diag: &mut Diag) -> Option<u32> {
    let factor = integer::<u32>(node, path, 0, u32::MAX.into(), diag)?;
    if factor != 0 && factor <= 100 {
        let message = format!("expected 0 (off) or a percentage greater than 100 (HAProxy: \"must be 0 or greater than 100\"), got {factor}");
        diag.error(path, node.mark, message);
        return None;
    }
    Some(factor)
}

/// HAProxy `option redispatch [<interval>]`.
fn redispatch(node: &Node, path: &str, diag: &mut Diag) -> Option<Redispatch> {
    if let Value::Scalar(s) = &node.value {
        if s.plain {
            match s.text.as_str() {
                "true" | "True" | "TRUE" => return Some(Redispatch::Interval(-1)),
                "false" | "False" | "FALSE" | "0" | "+0" | "-0" => return Some(Redispatch::Off),
                _ => {}
            }
            if let Some(n) = plain_int(node).and_then(|n| i32::try_from(n).ok()) {
                return Some(Redispatch::Interval(n));
            }
        }
    }
    let message = format!(
        "expected true (redispatch on the last retry), false, or an interval from {} to {}, got {}",
        i32::MIN,
        i32::MAX,
        describe(node)
    );
    diag.error(path, node.mark, message);
    None
}

pub(super) const TIMEOUTS: &[&str] = &["connect", "server", "queue"];

fn timeouts(node: &Node, path: &str, diag: &mut Diag) -> Option<Timeouts> {
    let mut r = MapReader::new(node, path, TIMEOUTS, diag)?;
    let default = Timeouts::default();
    let timeouts = Timeouts {
        connect: r
            .opt("connect", diag, positive_duration)
            .unwrap_or(default.connect),
        server: r
            .opt("server", diag, positive_duration)
            .unwrap_or(default.server),
        queue: r
            .opt("queue", diag, positive_duration)
            .unwrap_or(default.queue),
    };
    r.finish(diag);
    Some(timeouts)
}

pub(super) const HEALTH_CHECK: &[&str] = &[
    "type",
    "method",
    "path",
    "host",
    "expect_status",
    "interval",
    "timeout",
    "rise",
    "fall",
    "disable_on_404",
];

fn health_check(node: &Node, path: &str, diag: &mut Diag) -> Option<HealthCheck> {
    let mut r = MapReader::new(node, path, HEALTH_CHECK, diag)?;
    let kind = r.opt("type", diag, |n, p, d| {
        enumeration(n, p, CheckKind::parse, CheckKind::NAMES, d)
    });
    let method = r.opt("method", diag, string);
    if let Some(m) = &method {
        validate::http_token(m, "an HTTP method", &r.at("method"), diag);
    }
    let check_path = r.opt("path", diag, string);
    if let Some(p) = &check_path {
        validate::no_space_or_control(p, "a request path", &r.at("path"), diag);
    }
    let host = r.opt("host", diag, string);
    if let Some(h) = &host {
        validate::no_space_or_control(h, "a Host header", &r.at("host"), diag);
    }
    let expect_status = r.opt("expect_status", diag, |n, p, d| {
        one_or_many(n, p, d, |n, p, d| integer(n, p, 100, 599, d))
    });
    let check = HealthCheck {
        kind: kind.unwrap_or(CheckKind::Http),
        // HAProxy `option httpchk` without arguments sends `OPTIONS / HTTP/1.0`.
        method: method.unwrap_or_else(|| "OPTIONS".to_string()),
        path: check_path.unwrap_or_else(|| "/".to_string()),
        host,
        expect_status: expect_status.unwrap_or_default(),
        interval: r
            .opt("interval", diag, positive_duration)
            .unwrap_or(Duration::from_secs(2)),
        timeout: r
            .opt("timeout", diag, positive_duration)
            .unwrap_or(Duration::from_secs(1)),
        rise: r
            .opt("rise", diag, |n, p, d| integer(n, p, 1, u32::MAX.into(), d))
            .unwrap_or(2),
        fall: r
            .opt("fall", diag, |n, p, d| integer(n, p, 1, u32::MAX.into(), d))
            .unwrap_or(3),
        disable_on_404: r.opt("disable_on_404", diag, boolean).unwrap_or(false),
    };
    if let Some(kind) = kind {
        validate::health_check(kind, &r, diag);
    }
    r.finish(diag);
    Some(check)
}

pub(super) const SERVER: &[&str] = &[
    "name", "address", "cookie", "weight", "maxconn", "maxqueue", "backup", "check", "state",
];

fn server(node: &Node, path: &str, diag: &mut Diag) -> Option<(ServerSpec, ServerSpots)> {
    let mut r = MapReader::new(node, path, SERVER, diag)?;
    let name = r.req("name", "a non-empty string", diag, string);
    let address = r.req("address", ADDRESS_FORMAT, diag, server_address);
    let cookie = r.opt("cookie", diag, string);
    if let Some(value) = &cookie {
        validate::cookie_text(value, false, &r.at("cookie"), diag);
    }
    let spots = ServerSpots {
        name: name.as_ref().map(|_| r.at("name")),
        address: address.as_ref().map(|_| r.at("address")),
    };
    let (address, address_text) = address.unwrap_or((NO_ADDRESS, String::new()));
    let server = ServerSpec {
        name: name.unwrap_or_default(),
        address,
        address_text,
        cookie,
        // HAProxy SRV_UWGHT_MAX: user weights go from 0 to 256.
        weight: r
            .opt("weight", diag, |n, p, d| integer(n, p, 0, 256, d))
            .unwrap_or(1),
        maxconn: r
            .opt("maxconn", diag, |n, p, d| {
                integer(n, p, 0, u32::MAX.into(), d)
            })
            .unwrap_or(0),
        maxqueue: r
            .opt("maxqueue", diag, |n, p, d| {
                integer(n, p, 0, u32::MAX.into(), d)
            })
            .unwrap_or(0),
        backup: r.opt("backup", diag, boolean).unwrap_or(false),
        check: r.opt("check", diag, boolean).unwrap_or(true),
        state: r
            .opt("state", diag, |n, p, d| {
                enumeration(n, p, AdminState::parse, AdminState::NAMES, d)
            })
            .unwrap_or(AdminState::Ready),
    };
    r.finish(diag);
    Some((server, spots))
}

const ADDRESS_FORMAT: &str = "host:port or [ipv6]:port with a port from 1 to 65535";

/// `host:port` or `[v6]:port`; host names are resolved now, and the first address is kept.
fn server_address(node: &Node, path: &str, diag: &mut Diag) -> Option<(SocketAddr, String)> {
    if let Value::Seq(_) | Value::Map(_) = node.value {
        // `address: [::1]:80` is YAML for a list (or a map with a list key).
        let message = format!(
            "expected {ADDRESS_FORMAT}, got {} (quote IPv6 addresses: \"[::1]:80\")",
            describe(node)
        );
        diag.error(path, node.mark, message);
        return None;
    }
    let text = string(node, path, diag)?;
    match resolve(&text) {
        Ok(addr) => Some((addr, text)),
        Err(why) => {
            diag.error(path, node.mark, format!("{why}; expected {ADDRESS_FORMAT}"));
            None
        }
    }
}

fn resolve(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return match addr.port() {
            0 => Err(format!("port 0 in {text:?}")),
            _ => Ok(addr),
        };
    }
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        match rest.split_once("]:") {
            Some((host, _)) if host.parse::<std::net::Ipv6Addr>().is_err() => {
                return Err(format!("invalid IPv6 address {host:?} in {text:?}"));
            }
            Some((host, port)) => (host, port),
            None => return Err(format!("missing port in {text:?}")),
        }
    } else {
        match text.rsplit_once(':') {
            None => return Err(format!("missing port in {text:?}")),
            Some((host, _)) if host.contains(':') => {
                return Err(format!("an IPv6 address must be written in brackets, as in [2001:db8::1]:80; got {text:?}"));
            }
            Some((host, port)) => (host, port),
        }
    };
    if host.is_empty() {
        return Err(format!("missing host in {text:?}"));
    }
    let port = match port.parse::<u16>() {
        Ok(p) if p != 0 && port.bytes().all(|b| b.is_ascii_digit()) => p,
        _ => return Err(format!("invalid port {port:?} in {text:?}")),
    };
    match (host, port).to_socket_addrs() {
        Ok(mut addrs) => addrs
            .next()
            .ok_or_else(|| format!("host {host:?} has no address")),
        Err(e) => Err(format!("cannot resolve host {host:?}: {e}")),
    }
}
