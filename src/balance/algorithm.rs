//! The names of the balancing algorithms (HAProxy `balance` and `hash-type`).

/// A backend's `balance:` value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Algorithm {
    RoundRobin,
    StaticRr,
    LeastConn,
    First,
    Random,
    /// Hash of the client address.
    Source,
    /// Hash of the request URI up to `?`.
    Uri,
    /// Hash of a query-string parameter's value; round-robin when absent.
    UrlParam(String),
    /// Hash of a request header's value; round-robin when absent.
    Hdr(String),
    /// Hash of a request cookie's value; round-robin when absent.
    Cookie(String),
}

impl Algorithm {
    /// Accepted spellings, for error messages.
    pub const NAMES: &'static [&'static str] = &[
        "roundrobin",
        "static-rr",
        "leastconn",
        "first",
        "random",
        "source",
        "uri",
        "url_param:<name>",
        "hdr:<name>",
        "cookie:<name>",
    ];

    /// Parses `roundrobin`, `url_param:sid`, ... `None` when the word is unknown or a
    /// parameterised algorithm has an empty name.
    pub fn parse(word: &str) -> Option<Self> {
        let param = |p: &str| (!p.is_empty()).then(|| p.to_string());
        Some(match word {
            "roundrobin" => Self::RoundRobin,
            "static-rr" => Self::StaticRr,
            "leastconn" => Self::LeastConn,
            "first" => Self::First,
            "random" => Self::Random,
            "source" => Self::Source,
            "uri" => Self::Uri,
            _ => {
                if let Some(p) = word.strip_prefix("url_param:") {
                    Self::UrlParam(param(p)?)
                } else if let Some(p) = word.strip_prefix("hdr:") {
                    Self::Hdr(param(p)?)
                } else if let Some(p) = word.strip_prefix("cookie:") {
                    Self::Cookie(param(p)?)
                } else {
                    return None;
                }
            }
        })
    }

    pub fn as_string(&self) -> String {
        match self {
            Self::RoundRobin => "roundrobin".into(),
            Self::StaticRr => "static-rr".into(),
            Self::LeastConn => "leastconn".into(),
            Self::First => "first".into(),
            Self::Random => "random".into(),
            Self::Source => "source".into(),
            Self::Uri => "uri".into(),
            Self::UrlParam(p) => format!("url_param:{p}"),
            Self::Hdr(p) => format!("hdr:{p}"),
            Self::Cookie(p) => format!("cookie:{p}"),
        }
    }

    /// Whether the algorithm hashes a request property (HAProxy's "hash" family).
    pub fn is_hash(&self) -> bool {
        matches!(
            self,
            Self::Source | Self::Uri | Self::UrlParam(_) | Self::Hdr(_) | Self::Cookie(_)
        )
    }
}

/// A backend's `hash_type:` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HashType {
    /// HAProxy's weighted map: `map[hash % total_weight]`.
    #[default]
    MapBased,
    /// A ring of points per server: when a server goes away only its keys move.
    Consistent,
}

impl HashType {
    pub const NAMES: &'static [&'static str] = &["map-based", "consistent"];

    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "map-based" => Some(Self::MapBased),
            "consistent" => Some(Self::Consistent),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MapBased => "map-based",
            Self::Consistent => "consistent",
        }
    }
}
