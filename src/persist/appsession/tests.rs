//! The table's routing and learning rules, one test per rule (module docs of
//! `persist::appsession`).

use std::net::IpAddr;
use std::time::Duration;

use super::*;

const NOW: u32 = 1_800_000_000;
const S1: usize = 0;
const S2: usize = 1;
const S3: usize = 2;

fn sessions(source: IdSource, request_learn: bool) -> AppSessions {
    let spec = IdSpec {
        source,
        len: 52,
        url_mode: UrlMode::PathParameters,
    };
    AppSessions::new(
        spec,
        request_learn,
        SessionTable::new(1000, Duration::from_secs(3600)),
        &["s1", "s2", "s3"],
    )
}

fn jsessionid() -> AppSessions {
    sessions(
        IdSource::Cookie(CookieName::Exact(b"JSESSIONID".to_vec())),
        false,
    )
}

fn ctx() -> RequestContext {
    RequestContext {
        now: NOW,
        option_persist: false,
        rule: PersistOverride::None,
        assigned: None,
    }
}

fn request<'a>(cookies: &'a [&'a [u8]], client: Option<IpAddr>) -> RequestParts<'a> {
    RequestParts {
        method: &http::Method::GET,
        target: b"/",
        cookies,
        header: &[],
        client,
    }
}

const NONE_STOPPED: fn(usize) -> bool = |_| false;

/// A request carrying `JSESSIONID=abc`, analysed with `ctx` and `stopped`.
fn ask(app: &AppSessions, ctx: &RequestContext, stopped: impl Fn(usize) -> bool) -> RequestVerdict {
    app.on_request(&request(&[b"JSESSIONID=abc"], None), ctx, stopped)
        .expect("consulted")
}

/// The response of `server` (after leaving `left`), with `set_cookies`.
fn answer(
    app: &AppSessions,
    req: &RequestVerdict,
    server: usize,
    left: Option<usize>,
    set_cookies: &[&[u8]],
    stopped: impl Fn(usize) -> bool,
) -> Learning {
    app.on_response(set_cookies, req, Served { server, left }, NOW, stopped)
}

fn owner(app: &AppSessions, id: &[u8]) -> Option<usize> {
    app.table.lookup(id, NOW).and_then(|r| app.index_of(r))
}

fn learned_by(app: &AppSessions, server: usize) {
    let req = ask(app, &ctx(), NONE_STOPPED);
    assert_eq!(
        answer(
            app,
            &req,
            server,
            None,
            &[b"JSESSIONID=abc; path=/"],
            NONE_STOPPED
        ),
        Learning::Learned(Learned::Inserted)
    );
}

#[test]
fn an_unknown_id_is_a_miss_and_is_learned_from_the_set_cookie() {
    let app = jsessionid();
    let req = ask(&app, &ctx(), NONE_STOPPED);
    assert_eq!((req.outcome, req.server), (Outcome::Miss, None));
    learned_by(&app, S2);
    assert_eq!(owner(&app, b"abc"), Some(S2));
}

#[test]
fn a_known_id_routes_to_its_server() {
    let app = jsessionid();
    learned_by(&app, S2);
    let req = ask(&app, &ctx(), NONE_STOPPED);
    assert_eq!((req.outcome, req.server), (Outcome::Hit, Some(S2)));
}

/// The persistence test: a stopped server loses its clients, unless `persist` or
/// `force_persist` applies.
#[test]
fn a_stopped_server_keeps_its_ids_only_with_persist_or_force_persist() {
    let app = jsessionid();
    learned_by(&app, S2);
    let s2_stopped = |i| i == S2;
    let req = ask(&app, &ctx(), s2_stopped);
    assert_eq!((req.outcome, req.server), (Outcome::ServerDown, None));
    let persist = RequestContext {
        option_persist: true,
        ..ctx()
    };
    assert_eq!(ask(&app, &persist, s2_stopped).server, Some(S2));
    let force = RequestContext {
        rule: PersistOverride::Force,
        ..ctx()
    };
    assert_eq!(ask(&app, &force, s2_stopped).server, Some(S2));
}

#[test]
fn the_persistence_cookie_decides_first() {
    let app = jsessionid();
    learned_by(&app, S2);
    let cookie_chose_s3 = RequestContext {
        assigned: Some(S3),
        ..ctx()
    };
    let req = ask(&app, &cookie_chose_s3, NONE_STOPPED);
    assert_eq!((req.outcome, req.server), (Outcome::Skipped, None));
}

#[test]
fn ignore_persist_neither_looks_up_nor_learns() {
    let app = jsessionid();
    learned_by(&app, S2);
    let ignore = RequestContext {
        rule: PersistOverride::Ignore,
        ..ctx()
    };
    assert!(app
        .on_request(&request(&[b"JSESSIONID=abc"], None), &ignore, NONE_STOPPED)
        .is_none());
}

/// HAProxy 1.5's appsession: an existing entry is only refreshed when another server sets
/// the same id, as long as its owner is available.
#[test]
fn a_set_cookie_never_takes_an_id_from_an_available_server() {
    let app = jsessionid();
    learned_by(&app, S1);
    let req = ask(&app, &ctx(), NONE_STOPPED);
    let learning = answer(&app, &req, S2, None, &[b"JSESSIONID=abc"], NONE_STOPPED);
    assert!(
        matches!(learning, Learning::Learned(Learned::Kept { .. })),
        "{learning:?}"
    );
    assert_eq!(owner(&app, b"abc"), Some(S1));
}

/// An id whose server is stopped, or was left after a failed attempt, moves to the server
/// that served the client.
#[test]
fn a_set_cookie_moves_an_id_whose_server_could_not_take_the_client() {
    for (stopped, left) in [(Some(S1), None), (None, Some(S1))] {
        let app = jsessionid();
        learned_by(&app, S1);
        let is_stopped = move |i| Some(i) == stopped;
        let req = ask(&app, &ctx(), is_stopped);
        let learning = answer(&app, &req, S2, left, &[b"JSESSIONID=abc"], is_stopped);
        assert!(
            matches!(learning, Learning::Learned(Learned::Repointed { .. })),
            "{stopped:?} {left:?}: {learning:?}"
        );
        assert_eq!(owner(&app, b"abc"), Some(S2));
    }
}

/// Without a Set-Cookie, a client moved off its stopped server takes its entry along.
#[test]
fn an_entry_follows_its_client_off_a_stopped_server() {
    let app = jsessionid();
    learned_by(&app, S1);
    let s1_stopped = |i| i == S1;
    let req = ask(&app, &ctx(), s1_stopped);
    assert_eq!(req.outcome, Outcome::ServerDown);
    let learning = answer(&app, &req, S3, None, &[], s1_stopped);
    assert!(matches!(
        learning,
        Learning::Learned(Learned::Repointed { .. })
    ));
    assert_eq!(owner(&app, b"abc"), Some(S3));
}

/// A request the persistence cookie sent elsewhere leaves the entry with its available
/// owner.
#[test]
fn a_client_sent_elsewhere_by_its_cookie_leaves_the_entry_in_place() {
    let app = jsessionid();
    learned_by(&app, S1);
    let cookie_chose_s2 = RequestContext {
        assigned: Some(S2),
        ..ctx()
    };
    let req = ask(&app, &cookie_chose_s2, NONE_STOPPED);
    answer(&app, &req, S2, None, &[], NONE_STOPPED);
    assert_eq!(owner(&app, b"abc"), Some(S1));
}

/// Keys learned on requests (`src`, `header:`, `url_param:`, or `request_learn`) follow
/// the same rule.
#[test]
fn request_learned_keys_stay_with_an_available_owner() {
    let app = sessions(IdSource::Src, false);
    let client = Some("10.0.0.7".parse().expect("ip"));
    let parts = request(&[], client);
    let first = app
        .on_request(&parts, &ctx(), NONE_STOPPED)
        .expect("consulted");
    assert_eq!(first.outcome, Outcome::Miss);
    answer(&app, &first, S1, None, &[], NONE_STOPPED);
    let cookie_chose_s2 = RequestContext {
        assigned: Some(S2),
        ..ctx()
    };
    let second = app
        .on_request(&parts, &cookie_chose_s2, NONE_STOPPED)
        .expect("consulted");
    answer(&app, &second, S2, None, &[], NONE_STOPPED);
    let third = app
        .on_request(&parts, &ctx(), NONE_STOPPED)
        .expect("consulted");
    assert_eq!(third.server, Some(S1));
}

#[test]
fn a_deleting_set_cookie_forgets_the_id() {
    let app = jsessionid();
    learned_by(&app, S1);
    let req = ask(&app, &ctx(), NONE_STOPPED);
    let learning = answer(
        &app,
        &req,
        S1,
        None,
        &[b"JSESSIONID=; Max-Age=0"],
        NONE_STOPPED,
    );
    assert_eq!(learning, Learning::Forgotten);
    assert_eq!(owner(&app, b"abc"), None);
}
