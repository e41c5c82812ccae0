//! The `pingora:` section: handed to Pingora's `ServerConf` as is, but checked first.
//!
//! Pingora's own loader ignores unknown keys; tether's contract refuses them, so the keys
//! are checked against the ones `ServerConf` serializes (which follows Pingora's version
//! without a list kept here), and the values are type-checked by deserializing.

use pingora::server::configuration::ServerConf;
use serde_yaml::{Mapping, Value as Yaml};

use super::decode::{describe, Diag};
use super::schema::PingoraSection;
use super::yaml::{Node, Value};

/// Converts and checks the section; it must be a map of `ServerConf` keys.
pub(crate) fn section(node: &Node, path: &str, diag: &mut Diag) -> Option<PingoraSection> {
    let Value::Map(entries) = &node.value else {
        let message = format!(
            "expected a map of Pingora ServerConf settings, got {}",
            describe(node)
        );
        diag.error(path, node.mark, message);
        return None;
    };
    let known = known_keys();
    let mut valid = true;
    for e in entries {
        if !known.iter().any(|k| k == &e.key) {
            valid = false;
            diag.error(
                format!("{path}.{}", e.key),
                e.key_mark,
                format!(
                    "unknown field, expected one of Pingora's ServerConf settings: {}",
                    known.join(", ")
                ),
            );
        }
    }
    let value = to_yaml(node);
    if valid {
        // Type errors: deserialize key by key so each error points at its own key.
        for e in entries {
            let mut one = Mapping::new();
            one.insert(Yaml::String(e.key.clone()), to_yaml(&e.value));
            if let Err(err) = serde_yaml::from_value::<ServerConf>(Yaml::Mapping(one)) {
                valid = false;
                let message = err.to_string();
                let message = message.split(" at line").next().unwrap_or(&message);
                diag.error(
                    format!("{path}.{}", e.key),
                    e.value.mark,
                    message.to_string(),
                );
            }
        }
    }
    valid.then(|| PingoraSection {
        value,
        mark: node.mark,
        key_marks: entries
            .iter()
            .map(|e| (e.key.clone(), e.key_mark))
            .collect(),
    })
}

/// The keys `ServerConf` knows, from its own serialization.
fn known_keys() -> Vec<String> {
    match serde_yaml::to_value(ServerConf::default()) {
        Ok(Yaml::Mapping(map)) => map
            .keys()
            .filter_map(|k| k.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

impl PingoraSection {
    /// The section as Pingora's configuration (checked when it was loaded).
    pub fn server_conf(&self) -> ServerConf {
        serde_yaml::from_value(self.value.clone()).unwrap_or_default()
    }
}

/// Recursion is bounded by the tree's depth cap (`yaml::MAX_DEPTH`).
fn to_yaml(node: &Node) -> Yaml {
    match &node.value {
        Value::Null => Yaml::Null,
        Value::Scalar(s) if s.plain => resolve_plain(&s.text),
        Value::Scalar(s) => Yaml::String(s.text.clone()),
        Value::Seq(items) => Yaml::Sequence(items.iter().map(to_yaml).collect()),
        Value::Map(entries) => {
            let mut map = Mapping::with_capacity(entries.len());
            for e in entries {
                map.insert(Yaml::String(e.key.clone()), to_yaml(&e.value));
            }
            Yaml::Mapping(map)
        }
    }
}

/// Resolves a plain scalar exactly as serde_yaml would (`1` is a number, `true` a boolean,
/// `1.5e3` a float, anything else a string) by letting serde_yaml read the scalar alone.
fn resolve_plain(text: &str) -> Yaml {
    match serde_yaml::from_str::<Yaml>(text) {
        Ok(v @ (Yaml::Bool(_) | Yaml::Number(_) | Yaml::Null)) => v,
        _ => Yaml::String(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_scalars_resolve_like_serde_yaml() {
        assert_eq!(resolve_plain("1"), Yaml::Number(1.into()));
        assert_eq!(resolve_plain("-7"), Yaml::Number((-7).into()));
        assert_eq!(resolve_plain("true"), Yaml::Bool(true));
        assert_eq!(resolve_plain("1.5"), Yaml::Number(1.5.into()));
        assert_eq!(
            resolve_plain("/run/tether.pid"),
            Yaml::String("/run/tether.pid".into())
        );
        assert_eq!(resolve_plain("yes"), Yaml::String("yes".into()));
    }
}
