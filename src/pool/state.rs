//! The words for a server's administrative state and health, shared by the
//! configuration, the admin API and the metrics.

/// Administrative state, set by the operator (config `state:` or the admin API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum AdminState {
    /// Takes new clients and persistent clients.
    Ready = 0,
    /// Takes persistent clients only (HAProxy `drain`).
    Drain = 1,
    /// Takes nobody, unless `persist` or a matching `force_persist` (HAProxy `maint`).
    Maint = 2,
}

impl AdminState {
    pub const NAMES: &'static [&'static str] = &["ready", "drain", "maint"];

    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "ready" => Some(Self::Ready),
            "drain" => Some(Self::Drain),
            "maint" => Some(Self::Maint),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Drain => "drain",
            Self::Maint => "maint",
        }
    }

    pub fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Drain,
            2 => Self::Maint,
            _ => Self::Ready,
        }
    }
}

/// Health, as decided by health checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Health {
    Up = 0,
    /// Failing checks: behaves like `maint` for persistence and balancing.
    Down = 1,
    /// HAProxy NOLB (`disable_on_404`): persistent clients only, like `drain`.
    Nolb = 2,
}

impl Health {
    pub const NAMES: &'static [&'static str] = &["up", "down", "nolb"];

    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "up" => Some(Self::Up),
            "down" => Some(Self::Down),
            "nolb" => Some(Self::Nolb),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Down => "down",
            Self::Nolb => "nolb",
        }
    }

    pub fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Down,
            2 => Self::Nolb,
            _ => Self::Up,
        }
    }
}
