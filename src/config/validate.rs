//! Cross-checks (docs/configuration.md §8): rules that involve several keys, several items,
//! or the file system, and the rules on the characters of single values. The persistence
//! cookie's own rules are the core's (`persist::CookieSpec::problems`,
//! `persist::cookie_text_problem`); the configuration only positions their messages.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;

use crate::balance::HashType;

use super::decode::{At, Diag, MapReader};
use super::schema::{Backend, CheckKind, Frontend, ServerSpec};
use crate::persist::appsession::IdSource;

/// Where a frontend's cross-checked values are; `None` when the value did not decode.
pub(crate) struct FrontendSpots {
    pub name: Option<At>,
    pub listen: Vec<At>,
    pub backend: Option<At>,
}

pub(crate) struct BackendSpots {
    pub name: Option<At>,
}

pub(crate) struct ServerSpots {
    pub name: Option<At>,
    pub address: Option<At>,
}

/// Reports every value after the first that appears twice, pointing back at the first.
/// `what` names the value in the message, e.g. `duplicate server name "s1"`.
fn unique<'a, K: Eq + std::hash::Hash>(
    items: impl IntoIterator<Item = (K, &'a At)>,
    what: impl Fn(&K) -> String,
    diag: &mut Diag,
) {
    let mut seen: HashMap<K, &At> = HashMap::new();
    for (key, at) in items {
        if let Some(first) = seen.get(&key) {
            let message = format!(
                "{}: already used at line {}, column {} ({})",
                what(&key),
                first.mark.line,
                first.mark.col,
                first.path
            );
            diag.error_at(at, message);
        } else {
            seen.insert(key, at);
        }
    }
}

/// Frontend and backend names are unique, each frontend names an existing backend, and no
/// two listeners (the admin one included) bind the same address.
pub(crate) fn topology(
    frontends: &[(Frontend, FrontendSpots)],
    backends: &[(Backend, BackendSpots)],
    admin_listen: Option<(SocketAddr, At)>,
    diag: &mut Diag,
) {
    let frontend_names = frontends
        .iter()
        .filter_map(|(f, s)| Some((f.name.as_str(), s.name.as_ref()?)));
    unique(
        frontend_names,
        |n| format!("duplicate frontend name {n:?}"),
        diag,
    );
    let backend_names = backends
        .iter()
        .filter_map(|(b, s)| Some((b.name.as_str(), s.name.as_ref()?)));
    unique(
        backend_names,
        |n| format!("duplicate backend name {n:?}"),
        diag,
    );

    let known: Vec<&str> = backends
        .iter()
        .filter(|(_, s)| s.name.is_some())
        .map(|(b, _)| b.name.as_str())
        .collect();
    for (frontend, spots) in frontends {
        if let Some(at) = &spots.backend {
            // With no backend decoded, the backends error already says it all.
            if !known.is_empty() && !known.contains(&frontend.backend.as_str()) {
                let message = format!(
                    "no backend named {:?}; expected one of: {}",
                    frontend.backend,
                    known.join(", ")
                );
                diag.error_at(at, message);
            }
        }
    }

    let mut listeners: Vec<(SocketAddr, &At)> = Vec::new();
    for (frontend, spots) in frontends {
        listeners.extend(frontend.listen.iter().copied().zip(&spots.listen));
    }
    if let Some((addr, at)) = &admin_listen {
        listeners.push((*addr, at));
    }
    listeners_do_not_overlap(&listeners, diag);
}

/// Two binds conflict on the same port when the addresses are equal or one is the
/// wildcard of the same family (`0.0.0.0:80` takes every IPv4 address on port 80). Each
/// bind is checked against the earlier ones through maps, in linear time.
fn listeners_do_not_overlap(listeners: &[(SocketAddr, &At)], diag: &mut Diag) {
    type Slot = (u16, bool);
    let mut exact: HashMap<SocketAddr, &At> = HashMap::new();
    let mut first_on_slot: HashMap<Slot, (SocketAddr, &At)> = HashMap::new();
    let mut wildcard_on_slot: HashMap<Slot, (SocketAddr, &At)> = HashMap::new();
    for &(addr, at) in listeners {
        let slot = (addr.port(), addr.is_ipv4());
        let wildcard = addr.ip().is_unspecified();
        let earlier = exact
            .get(&addr)
            .map(|first| (addr, *first))
            .or_else(|| wildcard_on_slot.get(&slot).copied())
            .or_else(|| first_on_slot.get(&slot).copied().filter(|_| wildcard));
        if let Some((other, first)) = earlier {
            let message = format!(
                "listen address {addr} conflicts with {other} already used at line {}, column {} ({})",
                first.mark.line, first.mark.col, first.path
            );
            diag.error_at(at, message);
        }
        exact.entry(addr).or_insert(at);
        first_on_slot.entry(slot).or_insert((addr, at));
        if wildcard {
            wildcard_on_slot.entry(slot).or_insert((addr, at));
        }
    }
}

/// Server names are unique within a backend, and no two servers have the same resolved
/// address. Shared `cookie` values are allowed: HAProxy picks the first operational
/// server holding the value, which is how a backup takes over a primary's clients.
pub(crate) fn servers(servers: &[(ServerSpec, ServerSpots)], diag: &mut Diag) {
    let names = servers
        .iter()
        .filter_map(|(s, spots)| Some((s.name.as_str(), spots.name.as_ref()?)));
    unique(names, |n| format!("duplicate server name {n:?}"), diag);
    let addresses = servers
        .iter()
        .filter_map(|(s, spots)| Some((s.address, spots.address.as_ref()?)));
    unique(addresses, |a| format!("duplicate server address {a}"), diag);
}

/// `app_session`: the cookie name goes with `key: cookie` only, and `*` cannot be a prefix.
pub(crate) fn app_session(
    source: &IdSource,
    cookie: Option<&str>,
    prefix: bool,
    r: &MapReader<'_>,
    diag: &mut Diag,
) {
    if matches!(source, IdSource::Cookie(_)) {
        if !r.has("cookie") {
            let message = "missing required field: expected the application's cookie name, or \"*\" for any cookie the server sets (required with key: cookie)";
            diag.error_at(&r.at("cookie"), message);
        }
    } else {
        for name in ["cookie", "prefix"] {
            if r.has(name) {
                let message = format!("{name} is only used with key: cookie");
                diag.error_at(&r.key_at(name), message);
            }
        }
    }
    if cookie == Some("*") && prefix {
        diag.error_at(
            &r.key_at("prefix"),
            "prefix cannot be used with cookie: \"*\" (which already matches every cookie name)",
        );
    }
}

/// `hash_type` and `hash_balance_factor` only mean something for hash algorithms, and the
/// bounded-load factor only for the consistent ring. Their default values (map-based, 0)
/// change nothing and are accepted anywhere: the contract's own example sets them next to
/// `balance: roundrobin`. A non-default value that would be silently ignored is an error.
pub(crate) fn hash_options(backend: &Backend, r: &MapReader<'_>, diag: &mut Diag) {
    let consistent = backend.hash_type == HashType::Consistent;
    let bounded = backend.hash_balance_factor != 0;
    if !backend.balance.is_hash() {
        let balance = backend.balance.as_string();
        for (name, set) in [("hash_type", consistent), ("hash_balance_factor", bounded)] {
            if set {
                let message = format!(
                    "{name} only applies to the hash algorithms (source, uri, url_param:<name>, hdr:<name>, cookie:<name>), and balance is {balance}; remove it or use a hash algorithm"
                );
                diag.error_at(&r.key_at(name), message);
            }
        }
    } else if bounded && !consistent {
        diag.error_at(&r.key_at("hash_balance_factor"), "hash_balance_factor bounds the load on the consistent hashing ring: it requires hash_type: consistent");
    }
}

/// HTTP-only keys of a `type: tcp` check are errors, not silently ignored.
pub(crate) fn health_check(kind: CheckKind, r: &MapReader<'_>, diag: &mut Diag) {
    if kind == CheckKind::Tcp {
        for name in ["method", "path", "host", "expect_status", "disable_on_404"] {
            if r.has(name) {
                let message =
                    format!("{name} is only used with type: http; this check has type: tcp");
                diag.error_at(&r.key_at(name), message);
            }
        }
    }
}

/// A cookie name or value (the persistence core's rule, `persist::cookie_text_problem`).
pub(crate) fn cookie_text(text: &str, is_name: bool, at: &At, diag: &mut Diag) {
    if let Some(message) = crate::persist::cookie_text_problem(text, is_name) {
        diag.error_at(at, message);
    }
}

/// An HTTP token (RFC 9110 §5.6.2), for header names and methods.
pub(crate) fn http_token(text: &str, what: &str, at: &At, diag: &mut Diag) {
    let is_tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if let Some(bad) = text.chars().find(|&c| !is_tchar(c)) {
        let message = format!("character {bad:?} is not permitted in {what}; expected an HTTP token (letters, digits and !#$%&'*+-.^_`|~)");
        diag.error_at(at, message);
    }
}

/// Text sent inside an HTTP request line or header value.
pub(crate) fn no_space_or_control(text: &str, what: &str, at: &At, diag: &mut Diag) {
    if let Some(bad) = text.chars().find(|&c| c.is_control() || c.is_whitespace()) {
        let message = format!("character {bad:?} is not permitted in {what}; expected no spaces or control characters");
        diag.error_at(at, message);
    }
}

/// A file the proxy will read at startup (TLS certificate and key) must be readable now.
pub(crate) fn readable_file(path: &Path, what: &str, at: &At, diag: &mut Diag) {
    match std::fs::File::open(path).and_then(|f| f.metadata()) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => diag.error_at(
            at,
            format!("{} is not a regular file; expected {what}", path.display()),
        ),
        Err(e) => diag.error_at(
            at,
            format!("cannot open {}: {e}; expected {what}", path.display()),
        ),
    }
}

/// The admin token file must be readable and hold a token: an empty token would make the
/// bearer check accept `Authorization: Bearer ` with nothing after it.
pub(crate) fn token_file(path: &Path, at: &At, diag: &mut Diag) {
    match std::fs::read(path) {
        Ok(bytes) if bytes.trim_ascii().is_empty() => {
            diag.error_at(
                at,
                format!(
                    "{} is empty; expected a file holding the admin bearer token",
                    path.display()
                ),
            );
        }
        Ok(_) => {}
        Err(e) => diag.error_at(
            at,
            format!(
                "cannot read {}: {e}; expected a file holding the admin bearer token",
                path.display()
            ),
        ),
    }
}
