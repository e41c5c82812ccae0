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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Cidr, HeaderTest};

    fn req(method: &str, path: &str, headers: &[(&str, &str)]) -> RequestHeader {
        let mut r = RequestHeader::build(method, path.as_bytes(), None).unwrap();
        for (n, v) in headers {
            r.append_header(n.to_string(), *v).unwrap();
        }
        r
    }

    fn header(name: &str, test: HeaderPredicate) -> Condition {
        Condition {
            header: Some(HeaderTest {
                name: name.to_string(),
                test,
            }),
            ..Condition::default()
        }
    }

    fn path(prefix: &str) -> Condition {
        Condition {
            path_prefix: Some(prefix.to_string()),
            ..Condition::default()
        }
    }

    const LOCAL: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 1, 2, 3)));

    #[test]
    fn header_predicates() {
        let r = req(
            "GET",
            "/",
            &[
                ("User-Agent", "ApacheBench/2.3"),
                ("X-A", "one"),
                ("X-A", "two"),
            ],
        );
        assert!(matches(
            &header("user-agent", HeaderPredicate::Contains("Bench".into())),
            &r,
            LOCAL
        ));
        assert!(matches(
            &header("User-Agent", HeaderPredicate::Prefix("Apache".into())),
            &r,
            LOCAL
        ));
        assert!(!matches(
            &header("User-Agent", HeaderPredicate::Prefix("Bench".into())),
            &r,
            LOCAL
        ));
        assert!(
            matches(
                &header("X-A", HeaderPredicate::Equals("two".into())),
                &r,
                LOCAL
            ),
            "any occurrence"
        );
        assert!(!matches(
            &header("X-A", HeaderPredicate::Equals("tw".into())),
            &r,
            LOCAL
        ));
        assert!(matches(&header("X-A", HeaderPredicate::Present), &r, LOCAL));
        assert!(!matches(
            &header("X-B", HeaderPredicate::Present),
            &r,
            LOCAL
        ));
    }

    #[test]
    fn path_method_and_source() {
        let r = req("POST", "/static/app.js?v=1", &[]);
        assert!(matches(&path("/static"), &r, LOCAL));
        assert!(!matches(&path("/app"), &r, LOCAL));
        let post = Condition {
            method: Some("POST".into()),
            ..Condition::default()
        };
        assert!(matches(&post, &r, LOCAL));
        assert!(!matches(&post, &req("GET", "/", &[]), LOCAL));
        let net = Condition {
            src: Some(Cidr::parse("10.0.0.0/8").unwrap()),
            ..Condition::default()
        };
        assert!(matches(&net, &r, LOCAL));
        assert!(!matches(&net, &r, Some("192.168.1.1".parse().unwrap())));
        assert!(
            !matches(&net, &r, None),
            "unknown client address never matches"
        );
    }

    #[test]
    fn every_key_of_a_map_must_match() {
        let both = Condition {
            method: Some("GET".into()),
            path_prefix: Some("/static".into()),
            ..Condition::default()
        };
        assert!(matches(&both, &req("GET", "/static/x", &[]), LOCAL));
        assert!(!matches(&both, &req("GET", "/x", &[]), LOCAL));
        assert!(!matches(&both, &req("HEAD", "/static/x", &[]), LOCAL));
    }

    #[test]
    fn force_is_consulted_before_ignore_and_any_map_of_a_list_matches() {
        let rules = PersistRules::new(
            vec![header("X-Force", HeaderPredicate::Present)],
            vec![path("/static"), path("/img")],
        );
        let r = |p: &str, h: &[(&str, &str)]| rules.evaluate(&req("GET", p, h), LOCAL);
        assert_eq!(r("/img/a", &[]), PersistOverride::Ignore);
        assert_eq!(r("/static/a", &[("X-Force", "1")]), PersistOverride::Force);
        assert_eq!(r("/", &[]), PersistOverride::None);
        let none = PersistRules::new(vec![], vec![]);
        assert_eq!(
            none.evaluate(&req("GET", "/", &[]), LOCAL),
            PersistOverride::None
        );
    }
}
