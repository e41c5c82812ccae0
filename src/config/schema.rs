//! The typed configuration (docs/configuration.md). Defaults are those of HAProxy 2.6 unless
//! docs/configuration.md says otherwise; each is noted on its field.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::balance::{Algorithm, HashType};
use crate::frontend::HeadLimits;
use crate::persist::appsession::AppSessionSpec;
use crate::persist::CookieSpec;
pub use crate::pool::ServerSpec;

use super::Mark;

/// The whole file.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub pingora: Option<PingoraSection>,
    pub admin: Option<Admin>,
    pub access_log: AccessLog,
    pub frontends: Vec<Frontend>,
    pub backends: Vec<Backend>,
}

/// `pingora:` is passed to Pingora's `ServerConf` (validated against `ServerConf`'s keys by
/// the caller, who reports errors at `mark`): the raw value is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct PingoraSection {
    /// The section as a map; plain scalars resolved like serde_yaml does.
    pub value: serde_yaml::Value,
    /// Where the section's map starts.
    pub mark: Mark,
    /// Each top-level key of the section and where it is, for the caller's messages.
    pub key_marks: Vec<(String, Mark)>,
}

/// `admin:`: the JSON admin API and `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    pub listen: SocketAddr,
    /// Checked at load time to be readable and non-empty; the caller reads the token.
    pub token_file: Option<PathBuf>,
}

/// `access_log: stdout | stderr | off | /path/file` or
/// `access_log: { target: <same>, format: text | json }`. Default: stdout, text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessLog {
    pub target: LogTarget,
    pub format: LogFormat,
}

/// Where access log lines go.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LogTarget {
    #[default]
    Stdout,
    Stderr,
    Off,
    /// Any value that is not one of the words above is a file path.
    File(PathBuf),
}

/// How access log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl LogFormat {
    pub const NAMES: &'static [&'static str] = &["text", "json"];

    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "text" => Some(Self::Text),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

/// One `frontends:` item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frontend {
    pub name: String,
    /// At least one address.
    pub listen: Vec<SocketAddr>,
    /// Idle client connection timeout. Default 30 s.
    pub timeout_client: Duration,
    /// `timeout_http_request`, `max_headers`, `max_header_bytes`: how much of a request
    /// head is accepted, and how long it may take to arrive.
    pub head: HeadLimits,
    pub tls: Option<Tls>,
    /// The name of a backend of `backends:`.
    pub backend: String,
}

/// TLS termination; both files are checked to exist at load time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// One `backends:` item.
#[derive(Debug, Clone, PartialEq)]
pub struct Backend {
    pub name: String,
    /// Default roundrobin.
    pub balance: Algorithm,
    /// Default map-based; only settable with a hash algorithm.
    pub hash_type: HashType,
    /// Bounded-load percent for consistent hashing: 0 (off) or more than 100.
    pub hash_balance_factor: u32,
    /// HAProxy's `cookie` directive, decoded into the persistence core's own type.
    pub cookie: Option<CookieSpec>,
    /// The learned session table, decoded into the persistence core's own type.
    pub app_session: Option<AppSessionSpec>,
    pub timeouts: Timeouts,
    /// HAProxy `option allbackups`. Default false.
    pub allbackups: bool,
    /// HAProxy `option persist`. Default false.
    pub persist: bool,
    /// HAProxy `option redispatch`. Default off (HAProxy's default).
    pub redispatch: Redispatch,
    /// Connection retries after the first attempt. Default 3 (HAProxy CONN_RETRIES).
    pub retries: u32,
    /// false = never move a persistent client off its server. Default true.
    pub failover: bool,
    pub ignore_persist: Vec<Condition>,
    pub force_persist: Vec<Condition>,
    pub health_check: Option<HealthCheck>,
    /// At least one server.
    pub servers: Vec<ServerSpec>,
}

/// HAProxy `timeout connect|server|queue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Default 5 s.
    pub connect: Duration,
    /// Default 30 s.
    pub server: Duration,
    /// Default 5 s.
    pub queue: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            server: Duration::from_secs(30),
            queue: Duration::from_secs(5),
        }
    }
}

/// HAProxy `option redispatch [<interval>]`: `true` = `Interval(-1)` (redispatch on the last
/// retry), `false` = `Off`, an integer n = `Interval(n)` (0 = `Off`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Redispatch {
    #[default]
    Off,
    /// Redispatch on every n-th retry (n > 0) or on the n-th retry from the end (n < 0).
    Interval(i32),
}

/// `health_check:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    /// YAML key `type`.
    pub kind: CheckKind,
    /// Default OPTIONS (HAProxy `option httpchk`).
    pub method: String,
    /// Default `/`.
    pub path: String,
    pub host: Option<String>,
    /// Empty = any 2xx or 3xx.
    pub expect_status: Vec<u16>,
    /// Default 2 s.
    pub interval: Duration,
    /// Default 1 s.
    pub timeout: Duration,
    /// Default 2.
    pub rise: u32,
    /// Default 3.
    pub fall: u32,
    pub disable_on_404: bool,
}

/// `health_check.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    Http,
    Tcp,
}

impl CheckKind {
    pub const NAMES: &'static [&'static str] = &["http", "tcp"];

    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "http" => Some(Self::Http),
            "tcp" => Some(Self::Tcp),
            _ => None,
        }
    }
}

/// One map of a condition list: it matches when all of its present keys match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Condition {
    pub header: Option<HeaderTest>,
    pub path_prefix: Option<String>,
    pub method: Option<String>,
    pub src: Option<Cidr>,
}

/// `header: NAME` with its test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderTest {
    pub name: String,
    pub test: HeaderPredicate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderPredicate {
    Present,
    Equals(String),
    Contains(String),
    Prefix(String),
}

/// An address block, `10.0.0.0/8` or `2001:db8::/32`; a bare address is a /32 or /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix_len: u8,
}

impl Cidr {
    /// Parses `addr/len` or a bare address. Host bits below the prefix are ignored.
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, len) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix_len = match len {
            None => max,
            Some(l) if !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()) => {
                l.parse::<u8>().ok().filter(|&l| l <= max)?
            }
            Some(_) => return None,
        };
        Some(Cidr { addr, prefix_len })
    }

    /// Whether `ip` is in the block. IPv4 and IPv4-mapped IPv6 (`::ffff:a.b.c.d`) addresses
    /// are the same address, as a dual-stack listener reports them either way.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match self.addr {
            IpAddr::V4(net) => {
                let ip = match ip {
                    IpAddr::V4(v4) => v4,
                    IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                        Some(v4) => v4,
                        None => return false,
                    },
                };
                let mask = u32::MAX
                    .checked_shl(32u32.saturating_sub(self.prefix_len.into()))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            IpAddr::V6(net) => {
                let ip = match ip {
                    IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                    IpAddr::V6(v6) => v6,
                };
                let mask = u128::MAX
                    .checked_shl(128u32.saturating_sub(self.prefix_len.into()))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
        }
    }
}
