//! The persistence cookie modes, named as in HAProxy's `cookie` directive.

/// How tether treats the persistence cookie (HAProxy `cookie <name> [rewrite|insert|prefix]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CookieMode {
    /// tether inserts `Set-Cookie: <name>=<server value>` itself.
    Insert,
    /// The application sets the cookie; tether prepends `<server value>~` to its value.
    Prefix,
    /// The application sets the cookie; tether replaces its value with the server value.
    Rewrite,
    /// The application sets the cookie with the server value; tether only reads it.
    Passive,
}

impl CookieMode {
    /// The configuration words, in the order they are documented.
    pub const NAMES: &'static [&'static str] = &["insert", "prefix", "rewrite", "passive"];

    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "insert" => Some(Self::Insert),
            "prefix" => Some(Self::Prefix),
            "rewrite" => Some(Self::Rewrite),
            "passive" => Some(Self::Passive),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Insert => "insert",
            Self::Prefix => "prefix",
            Self::Rewrite => "rewrite",
            Self::Passive => "passive",
        }
    }
}
