//! `failover: false` (OCI's "disable fallback", docs/haproxy-compatibility.md §12.4): a
//! client pinned to a server that cannot take it is refused rather than moved.

use super::appsession::Outcome;
use super::flags::ClientFlag;

/// Whether the request is refused (502) instead of balanced elsewhere: failover is off,
/// nothing routed the request, and it was pinned — by the persistence cookie (flag `D`)
/// or by the session table — to a server that is stopped.
pub fn refuses_to_move(
    failover: bool,
    cookie: ClientFlag,
    app: Option<Outcome>,
    routed: bool,
) -> bool {
    !failover && !routed && (cookie == ClientFlag::Down || app == Some(Outcome::ServerDown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pinned_clients_of_stopped_servers_are_refused_without_failover() {
        let down_cookie = (ClientFlag::Down, None);
        let down_session = (ClientFlag::NotConfigured, Some(Outcome::ServerDown));
        for (cookie, app) in [down_cookie, down_session] {
            assert!(refuses_to_move(false, cookie, app, false));
            // With failover, or once something else routed the request, it goes on.
            assert!(!refuses_to_move(true, cookie, app, false));
            assert!(!refuses_to_move(false, cookie, app, true));
        }
        for (cookie, app) in [
            (ClientFlag::Valid, None),
            (ClientFlag::None, Some(Outcome::Miss)),
            (ClientFlag::Invalid, Some(Outcome::None)),
            (ClientFlag::NotConfigured, Some(Outcome::Hit)),
        ] {
            assert!(
                !refuses_to_move(false, cookie, app, false),
                "{cookie:?} {app:?}"
            );
        }
    }
}
