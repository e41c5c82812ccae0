//! A small toolkit to decode the positioned tree by hand while collecting every error.
//!
//! Getters have one shape, `fn(&Node, path, &mut Diag) -> Option<T>`: they return the
//! value, or record an error ("expected X, got Y", at the node's path and mark) and return
//! `None`. [`MapReader`] hands out a map's known keys and reports every other key as
//! unknown, listing the accepted ones.

use std::net::SocketAddr;
use std::time::Duration;

use super::duration::{parse_duration, DURATION_FORMAT};
use super::yaml::{Entry, Node, Scalar, Value};
use super::{ConfigError, Mark};

/// Collects errors and warnings.
#[derive(Debug, Default)]
pub(crate) struct Diag {
    errors: Vec<ConfigError>,
    warnings: Vec<ConfigError>,
}

impl Diag {
    pub fn error(&mut self, path: impl Into<String>, mark: Mark, message: impl Into<String>) {
        self.errors.push(problem(path, mark, message));
    }

    pub fn warning(&mut self, path: impl Into<String>, mark: Mark, message: impl Into<String>) {
        self.warnings.push(problem(path, mark, message));
    }

    pub fn error_at(&mut self, at: &At, message: impl Into<String>) {
        self.error(at.path.clone(), at.mark, message);
    }

    pub fn into_parts(self) -> (Vec<ConfigError>, Vec<ConfigError>) {
        (self.errors, self.warnings)
    }
}

fn problem(path: impl Into<String>, mark: Mark, message: impl Into<String>) -> ConfigError {
    ConfigError {
        path: path.into(),
        mark: Some(mark),
        message: message.into(),
    }
}

/// A key path and position, kept for cross-checks that report after decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct At {
    pub path: String,
    pub mark: Mark,
}

impl At {
    /// Where `node` is, under `path`.
    pub fn of(path: &str, node: &Node) -> At {
        At {
            path: path.to_string(),
            mark: node.mark,
        }
    }
}

/// `parent.key`, or `key` at the root.
pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// `parent[i]`.
pub(crate) fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// How a node reads in "got ..." messages: strings quoted, numbers and booleans bare.
pub(crate) fn describe(node: &Node) -> String {
    match &node.value {
        Value::Null => "null".to_string(),
        Value::Seq(_) => "a list".to_string(),
        Value::Map(_) => "a map".to_string(),
        Value::Scalar(s) if is_bool_or_number(s) => s.text.clone(),
        Value::Scalar(s) => {
            const MAX: usize = 60;
            match s.text.char_indices().nth(MAX) {
                Some((cut, _)) => format!("{:?}...", s.text.get(..cut).unwrap_or_default()),
                None => format!("{:?}", s.text),
            }
        }
    }
}

/// The YAML 1.2 core schema spellings of booleans.
fn plain_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// Whether a scalar reads as a boolean or a number rather than as text.
pub(crate) fn is_bool_or_number(s: &Scalar) -> bool {
    s.plain
        && (plain_bool(&s.text).is_some()
            || (s.text.bytes().any(|b| b.is_ascii_digit()) && s.text.parse::<f64>().is_ok()))
}

fn type_error(node: &Node, path: &str, expected: &str, diag: &mut Diag) {
    diag.error(
        path,
        node.mark,
        format!("expected {expected}, got {}", describe(node)),
    );
}

/// The text of any scalar, possibly empty.
pub(crate) fn any_string(node: &Node, path: &str, diag: &mut Diag) -> Option<String> {
    match &node.value {
        Value::Scalar(s) => Some(s.text.clone()),
        _ => {
            type_error(node, path, "a string", diag);
            None
        }
    }
}

/// The text of a non-empty scalar (a plain `123` or `true` reads as its text).
pub(crate) fn string(node: &Node, path: &str, diag: &mut Diag) -> Option<String> {
    match &node.value {
        Value::Scalar(s) if !s.text.is_empty() => Some(s.text.clone()),
        _ => {
            type_error(node, path, "a non-empty string", diag);
            None
        }
    }
}

/// `true` or `false`, unquoted.
pub(crate) fn boolean(node: &Node, path: &str, diag: &mut Diag) -> Option<bool> {
    let value = match &node.value {
        Value::Scalar(s) if s.plain => plain_bool(&s.text),
        _ => None,
    };
    if value.is_none() {
        type_error(node, path, "true or false", diag);
    }
    value
}

/// An unquoted decimal integer in `min..=max`; the message states the range.
pub(crate) fn integer<T: TryFrom<i128>>(
    node: &Node,
    path: &str,
    min: i128,
    max: i128,
    diag: &mut Diag,
) -> Option<T> {
    match plain_int(node)
        .filter(|v| (min..=max).contains(v))
        .map(T::try_from)
    {
        Some(Ok(v)) => Some(v),
        _ => {
            let expected = format!("an integer from {min} to {max}");
            type_error(node, path, &expected, diag);
            None
        }
    }
}

/// The value of an unquoted integer, reporting nothing.
pub(crate) fn plain_int(node: &Node) -> Option<i128> {
    match &node.value {
        Value::Scalar(s) if s.plain => parse_int(&s.text),
        _ => None,
    }
}

/// `[-+]?[0-9]+`. Values beyond `i128` saturate, which every range then rejects.
fn parse_int(text: &str) -> Option<i128> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, text.get(1..)?),
        Some(b'+') => (false, text.get(1..)?),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = digits.parse::<i128>().unwrap_or(i128::MAX);
    Some(if negative { -magnitude } else { magnitude })
}

/// A duration (see [`parse_duration`]); a plain integer is a number of seconds.
pub(crate) fn duration(node: &Node, path: &str, diag: &mut Diag) -> Option<Duration> {
    match &node.value {
        Value::Scalar(s) => match parse_duration(&s.text) {
            Ok(d) => Some(d),
            Err(message) => {
                diag.error(path, node.mark, message);
                None
            }
        },
        _ => {
            diag.error(
                path,
                node.mark,
                format!(
                    "expected a duration, got {}; {DURATION_FORMAT}",
                    describe(node)
                ),
            );
            None
        }
    }
}

/// A word out of `names`, parsed by `parse`.
pub(crate) fn enumeration<T>(
    node: &Node,
    path: &str,
    parse: fn(&str) -> Option<T>,
    names: &[&str],
    diag: &mut Diag,
) -> Option<T> {
    let parsed = match &node.value {
        Value::Scalar(s) => parse(&s.text),
        _ => None,
    };
    if parsed.is_none() {
        let message = format!(
            "expected one of: {}, got {}",
            names.join(", "),
            describe(node)
        );
        diag.error(path, node.mark, message);
    }
    parsed
}

/// The items of a list, each with its path.
pub(crate) fn list<'n>(
    node: &'n Node,
    path: &str,
    diag: &mut Diag,
) -> Option<Vec<(String, &'n Node)>> {
    match &node.value {
        Value::Seq(items) => Some(
            items
                .iter()
                .enumerate()
                .map(|(i, n)| (index(path, i), n))
                .collect(),
        ),
        _ => {
            type_error(node, path, "a list", diag);
            None
        }
    }
}

/// Decodes every item of a list with `item`, keeping the ones that decode; `what` names an
/// item in the error for an empty list.
pub(crate) fn non_empty_list<'n, T>(
    node: &'n Node,
    path: &str,
    what: &str,
    diag: &mut Diag,
    mut item: impl FnMut(&'n Node, &str, &mut Diag) -> Option<T>,
) -> Option<Vec<T>> {
    let items = list(node, path, diag)?;
    if items.is_empty() {
        diag.error(
            path,
            node.mark,
            format!("empty list: expected at least one {what}"),
        );
        return None;
    }
    Some(
        items
            .into_iter()
            .filter_map(|(p, n)| item(n, &p, diag))
            .collect(),
    )
}

/// A list decoded item by item, or a single value taken as a list of one.
pub(crate) fn one_or_many<'n, T>(
    node: &'n Node,
    path: &str,
    diag: &mut Diag,
    mut item: impl FnMut(&'n Node, &str, &mut Diag) -> Option<T>,
) -> Option<Vec<T>> {
    match &node.value {
        Value::Seq(items) => Some(
            items
                .iter()
                .enumerate()
                .filter_map(|(i, n)| item(n, &index(path, i), diag))
                .collect(),
        ),
        _ => item(node, path, diag).map(|v| vec![v]),
    }
}

/// What an address of a listener looks like, for messages.
pub(crate) const LISTEN_FORMAT: &str =
    "an address ip:port or [ipv6]:port with a port from 1 to 65535";

/// A numeric `ip:port` or `[ipv6]:port` with a non-zero port.
pub(crate) fn socket_addr(node: &Node, path: &str, diag: &mut Diag) -> Option<SocketAddr> {
    let parsed = match &node.value {
        Value::Scalar(s) => s.text.parse::<SocketAddr>().ok(),
        _ => None,
    };
    match parsed {
        Some(addr) if addr.port() != 0 => Some(addr),
        _ => {
            type_error(node, path, LISTEN_FORMAT, diag);
            None
        }
    }
}

/// Reads a map's keys by name. Keys never taken are reported by [`MapReader::finish`] as
/// unknown, with the list of accepted keys.
pub(crate) struct MapReader<'n> {
    path: String,
    mark: Mark,
    entries: &'n [Entry],
    fields: &'static [&'static str],
    taken: Vec<bool>,
}

impl<'n> MapReader<'n> {
    /// `fields` are the accepted keys, in the order the documentation lists them.
    pub fn new(
        node: &'n Node,
        path: &str,
        fields: &'static [&'static str],
        diag: &mut Diag,
    ) -> Option<Self> {
        let Value::Map(entries) = &node.value else {
            let expected = format!("a map with keys {}", fields.join(", "));
            type_error(node, path, &expected, diag);
            return None;
        };
        Some(MapReader {
            path: path.to_string(),
            mark: node.mark,
            entries,
            fields,
            taken: vec![false; entries.len()],
        })
    }

    fn position(&self, name: &str) -> Option<usize> {
        debug_assert!(
            self.fields.contains(&name),
            "{name} is not a declared field"
        );
        self.entries.iter().position(|e| e.key == name)
    }

    /// Whether the key is present (taken or not).
    pub fn has(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// Where the key's value is, or the map itself when the key is absent.
    pub fn at(&self, name: &str) -> At {
        let mark = self
            .position(name)
            .and_then(|i| self.entries.get(i))
            .map_or(self.mark, |e| e.value.mark);
        At {
            path: join(&self.path, name),
            mark,
        }
    }

    /// Where the key itself is, or the map when the key is absent.
    pub fn key_at(&self, name: &str) -> At {
        let mark = self
            .position(name)
            .and_then(|i| self.entries.get(i))
            .map_or(self.mark, |e| e.key_mark);
        At {
            path: join(&self.path, name),
            mark,
        }
    }

    /// The value of a key, with its path; `None` when absent.
    pub fn take(&mut self, name: &str) -> Option<(String, &'n Node)> {
        let i = self.position(name)?;
        if let Some(t) = self.taken.get_mut(i) {
            *t = true;
        }
        let entries: &'n [Entry] = self.entries;
        entries.get(i).map(|e| (join(&self.path, name), &e.value))
    }

    /// Decodes an optional key with `get`.
    pub fn opt<T>(
        &mut self,
        name: &str,
        diag: &mut Diag,
        get: impl FnOnce(&'n Node, &str, &mut Diag) -> Option<T>,
    ) -> Option<T> {
        let (path, node) = self.take(name)?;
        get(node, &path, diag)
    }

    /// Decodes a required key with `get`; when absent, reports it with what is `expected`.
    pub fn req<T>(
        &mut self,
        name: &str,
        expected: &str,
        diag: &mut Diag,
        get: impl FnOnce(&'n Node, &str, &mut Diag) -> Option<T>,
    ) -> Option<T> {
        if !self.has(name) {
            let message = format!("missing required field: expected {expected}");
            diag.error(join(&self.path, name), self.mark, message);
            return None;
        }
        self.opt(name, diag, get)
    }

    /// Reports every key that was not taken.
    pub fn finish(self, diag: &mut Diag) {
        let expected = self.fields.join(", ");
        for (entry, taken) in self.entries.iter().zip(&self.taken) {
            if !taken {
                let message = format!("unknown field, expected one of: {expected}");
                diag.error(join(&self.path, &entry.key), entry.key_mark, message);
            }
        }
    }
}
