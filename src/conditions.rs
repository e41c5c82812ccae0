//! Request conditions (`ignore_persist`, `force_persist`): a list of maps; the list
//! matches when any map matches, a map matches when all of its keys match.

use std::net::IpAddr;

use pingora::http::RequestHeader;

use crate::config::{Condition, HeaderPredicate};
use crate::persist::PersistOverride;

/// A backend's `force_persist` and `ignore_persist` rules.
pub struct PersistRules {
    force: Vec<Condition>,
    ignore: Vec<Condition>,
}

impl PersistRules {
    pub fn new(force: Vec<Condition>, ignore: Vec<Condition>) -> Self {
        PersistRules { force, ignore }
    }

    /// HAProxy applies the first matching `force-persist`/`ignore-persist` rule in
    /// declaration order. The YAML keeps the two lists apart, so `force_persist` is
    /// consulted first: forcing is the explicit, narrower operator intent.
    pub fn evaluate(&self, req: &RequestHeader, client: Option<IpAddr>) -> PersistOverride {
        if self.force.is_empty() && self.ignore.is_empty() {
            return PersistOverride::None;
        }
        if any_matches(&self.force, req, client) {
            PersistOverride::Force
        } else if any_matches(&self.ignore, req, client) {
            PersistOverride::Ignore
        } else {
            PersistOverride::None
        }
    }
}

fn any_matches(list: &[Condition], req: &RequestHeader, client: Option<IpAddr>) -> bool {
    list.iter().any(|c| matches(c, req, client))
}

/// Whether one condition map matches the request.
pub fn matches(cond: &Condition, req: &RequestHeader, client: Option<IpAddr>) -> bool {
    if let Some(method) = &cond.method {
        if req.method.as_str() != method {
            return false;
        }
    }
    if let Some(prefix) = &cond.path_prefix {
        if !req.uri.path().starts_with(prefix.as_str()) {
            return false;
        }
    }
    if let Some(cidr) = &cond.src {
        match client {
            Some(ip) if cidr.contains(ip) => {}
            _ => return false,
        }
    }
    if let Some(test) = &cond.header {
        let mut values = req.headers.get_all(test.name.as_str()).iter();
        let found = match &test.test {
            HeaderPredicate::Present => values.next().is_some(),
            HeaderPredicate::Equals(v) => values.any(|h| h.as_bytes() == v.as_bytes()),
            HeaderPredicate::Contains(v) => values.any(|h| contains(h.as_bytes(), v.as_bytes())),
            HeaderPredicate::Prefix(v) => values.any(|h| h.as_bytes().starts_with(v.as_bytes())),
        };
        if !found {
            return false;
        }
    }
    true
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}
