//! Condition lists (`ignore_persist`, `force_persist`): a list of maps; the list matches
//! when any map matches, a map when all of its keys match (docs/configuration.md §7).

use super::decode::{any_string, boolean, describe, list, string, Diag, MapReader};
use super::schema::{Cidr, Condition, HeaderPredicate, HeaderTest};
use super::validate;
use super::yaml::{Node, Value};

pub(super) const CONDITION: &[&str] = &[
    "header",
    "present",
    "equals",
    "contains",
    "prefix",
    "path_prefix",
    "method",
    "src",
];

/// The tests that go with `header:`; exactly one of them is required.
const HEADER_TESTS: [&str; 4] = ["present", "equals", "contains", "prefix"];

/// A list of conditions (possibly empty).
pub(crate) fn conditions(node: &Node, path: &str, diag: &mut Diag) -> Option<Vec<Condition>> {
    let items = list(node, path, diag)?;
    Some(
        items
            .into_iter()
            .filter_map(|(p, n)| condition(n, &p, diag))
            .collect(),
    )
}

fn condition(node: &Node, path: &str, diag: &mut Diag) -> Option<Condition> {
    let mut r = MapReader::new(node, path, CONDITION, diag)?;
    if matches!(&node.value, Value::Map(entries) if entries.is_empty()) {
        diag.error(path, node.mark, "an empty condition would match every request; expected at least one of header, path_prefix, method, src");
    }
    let header = header_test(&mut r, diag);
    let path_prefix = r.opt("path_prefix", diag, string);
    if let Some(prefix) = &path_prefix {
        validate::no_space_or_control(prefix, "a path prefix", &r.at("path_prefix"), diag);
    }
    let method = r.opt("method", diag, string);
    if let Some(m) = &method {
        validate::http_token(m, "an HTTP method", &r.at("method"), diag);
    }
    let src = r.opt("src", diag, cidr);
    r.finish(diag);
    Some(Condition {
        header,
        path_prefix,
        method,
        src,
    })
}

/// `header: NAME` with one of `present: true`, `equals: V`, `contains: V`, `prefix: V`.
fn header_test(r: &mut MapReader<'_>, diag: &mut Diag) -> Option<HeaderTest> {
    let name = r.opt("header", diag, string);
    if let Some(name) = &name {
        validate::http_token(name, "a header name", &r.at("header"), diag);
    }
    let given: Vec<&str> = HEADER_TESTS.into_iter().filter(|t| r.has(t)).collect();
    if name.is_none() {
        if let Some(first) = given.first() {
            let message = format!("{first} tests a header: it requires header: <name>");
            diag.error_at(&r.key_at(first), message);
        }
    } else if given.is_empty() {
        let message =
            "header needs a test: expected one of present: true, equals, contains, prefix";
        diag.error_at(&r.key_at("header"), message);
    }
    if let [first, second, ..] = given[..] {
        let message = format!("only one test per header: {first} is already set; expected one of present, equals, contains, prefix");
        diag.error_at(&r.key_at(second), message);
    }
    let present = r.opt("present", diag, boolean);
    if present == Some(false) {
        let message = "expected true (a test for a missing header is not supported), got false";
        diag.error_at(&r.at("present"), message);
    }
    let equals = r.opt("equals", diag, any_string);
    let contains = r.opt("contains", diag, any_string);
    let prefix = r.opt("prefix", diag, any_string);
    let test = match (present, equals, contains, prefix) {
        (Some(true), ..) => HeaderPredicate::Present,
        (_, Some(v), ..) => HeaderPredicate::Equals(v),
        (_, _, Some(v), _) => HeaderPredicate::Contains(v),
        (_, _, _, Some(v)) => HeaderPredicate::Prefix(v),
        _ => return None,
    };
    Some(HeaderTest { name: name?, test })
}

/// `src: 10.0.0.0/8`, `2001:db8::/32` or a bare address.
fn cidr(node: &Node, path: &str, diag: &mut Diag) -> Option<Cidr> {
    let parsed = match &node.value {
        Value::Scalar(s) => Cidr::parse(&s.text),
        _ => None,
    };
    if parsed.is_none() {
        let message = format!(
            "expected an address or a CIDR block such as 10.0.0.0/8 or 2001:db8::/32, got {}",
            describe(node)
        );
        diag.error(path, node.mark, message);
    }
    parsed
}
