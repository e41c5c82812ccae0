//! The persistence cookie log flags: third and fourth characters of HAProxy's termination
//! state (docs/haproxy-compatibility.md §8; HAProxy `src/log.c` `sess_cookie[]` = "NIDVEOU",
//! `sess_set_cookie[]` = "NPDIRU").

/// What the request's persistence cookie did (HAProxy `TX_CK_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientFlag {
    /// `-`: the backend has no flag-producing cookie configuration (passive mode without
    /// `indirect`, or no cookie at all).
    NotConfigured,
    /// `N`: no persistence cookie in the request.
    None,
    /// `I`: the cookie names no server (or is empty).
    Invalid,
    /// `D`: the cookie names a server that is down or in maintenance.
    Down,
    /// `V`: the cookie chose its server.
    Valid,
    /// `E`: the cookie was idle for longer than `maxidle` (or dated > 24 h ahead).
    Expired,
    /// `O`: the cookie is older than `maxlife` (or its first date is > 24 h ahead).
    Old,
    /// `U`: the cookie was not used (ignore-persist, or a server was already assigned).
    Unused,
}

impl ClientFlag {
    /// The log character.
    pub fn as_char(self) -> char {
        match self {
            ClientFlag::NotConfigured => '-',
            ClientFlag::None => 'N',
            ClientFlag::Invalid => 'I',
            ClientFlag::Down => 'D',
            ClientFlag::Valid => 'V',
            ClientFlag::Expired => 'E',
            ClientFlag::Old => 'O',
            ClientFlag::Unused => 'U',
        }
    }
}

/// What happened to the persistence cookie in the response (HAProxy `TX_SCK_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerFlag {
    /// `-`: not applicable (same configurations as [`ClientFlag::NotConfigured`]).
    NotApplicable,
    /// `N`: no persistence cookie in the response.
    None,
    /// `I`: tether inserted a cookie.
    Inserted,
    /// `U`: tether re-sent the cookie of the same server to refresh its dates.
    Updated,
    /// `P`: the server provided the cookie and it was passed as is.
    Provided,
    /// `R`: the server's cookie was rewritten (rewrite or prefix mode).
    Rewritten,
    /// `D`: the server's cookie was deleted.
    Deleted,
}

impl ServerFlag {
    /// The log character.
    pub fn as_char(self) -> char {
        match self {
            ServerFlag::NotApplicable => '-',
            ServerFlag::None => 'N',
            ServerFlag::Inserted => 'I',
            ServerFlag::Updated => 'U',
            ServerFlag::Provided => 'P',
            ServerFlag::Rewritten => 'R',
            ServerFlag::Deleted => 'D',
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_flag_chars_match_sess_cookie() {
        let all = [
            ClientFlag::NotConfigured,
            ClientFlag::None,
            ClientFlag::Invalid,
            ClientFlag::Down,
            ClientFlag::Valid,
            ClientFlag::Expired,
            ClientFlag::Old,
            ClientFlag::Unused,
        ];
        let s: String = all.iter().map(|f| f.as_char()).collect();
        assert_eq!(s, "-NIDVEOU");
    }

    #[test]
    fn server_flag_chars_match_sess_set_cookie() {
        let all = [
            ServerFlag::NotApplicable,
            ServerFlag::None,
            ServerFlag::Provided,
            ServerFlag::Deleted,
            ServerFlag::Inserted,
            ServerFlag::Rewritten,
            ServerFlag::Updated,
        ];
        let s: String = all.iter().map(|f| f.as_char()).collect();
        assert_eq!(s, "-NPDIRU");
    }
}
