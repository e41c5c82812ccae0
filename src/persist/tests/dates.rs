//! maxidle / maxlife: docs/haproxy-compatibility.md §3.3, §5.1, §6 and the date matrix seen on
//! HAProxy 2.6.12, with fixed times. NOW = 1795288301 encodes to `awHs8` (quantum end 1795288304).

use super::*;

/// `cookie SRV insert indirect maxidle 30m maxlife 8h` (seen on HAProxy 2.6.12).
fn idle_life() -> CookiePolicy {
    policy(CookieMode::Insert, |s| {
        s.indirect = true;
        s.maxidle = 1800;
        s.maxlife = 28800;
    })
}

fn enc(t: u32) -> String {
    String::from_utf8(encode_date(t).to_vec()).unwrap()
}

/// A row of the date matrix seen on HAProxy 2.6.12: request with `cookie`, load balancer pick `lb`
/// when the cookie is refused.
fn row(p: &CookiePolicy, cookie: &str) -> (String, Option<String>) {
    let (r, s) = exchange(p, &[cookie], S1, &[]);
    (flags(&r, &s), inserted(&s).map(str::to_string))
}

#[test]
fn obs3_matrix_row_by_row() {
    let p = idle_life();
    let n = enc(NOW);
    assert_eq!(n, "awHs8");
    let dated =
        |srv: &str, last: &str, first: &str| Some(format!("SRV={srv}|{last}|{first}; path=/"));
    // undated: accepted, re-emitted with now|now
    assert_eq!(row(&p, "SRV=s2"), ("VU".into(), dated("s2", &n, &n)));
    // fresh: accepted, nothing sent
    assert_eq!(row(&p, &format!("SRV=s2|{n}|{n}")), ("VN".into(), None));
    // recent: refreshed, original first date kept
    let first = enc(NOW - 100);
    assert_eq!(
        row(&p, &format!("SRV=s2|{}|{first}", enc(NOW - 10))),
        ("VU".into(), dated("s2", &n, &first))
    );
    // idle > 30 m: expired, load balanced, new cookie now|now
    assert_eq!(
        row(&p, &format!("SRV=s2|{}|{first}", enc(NOW - 1900))),
        ("EI".into(), dated("s1", &n, &n))
    );
    // first seen > 8 h ago: old, load balanced, first = now
    assert_eq!(
        row(
            &p,
            &format!("SRV=s2|{}|{}", enc(NOW - 10), enc(NOW - 30000))
        ),
        ("OI".into(), dated("s1", &n, &n))
    );
    // last seen 2 days ahead: refused (future > 24 h)
    assert_eq!(
        row(&p, &format!("SRV=s2|{}|{n}", enc(NOW + 2 * 86400))),
        ("EI".into(), dated("s1", &n, &n))
    );
    // last seen 1 h ahead: accepted, no Set-Cookie
    assert_eq!(
        row(&p, &format!("SRV=s2|{}|{n}", enc(NOW + 3600))),
        ("VN".into(), None)
    );
    // garbage and short dates: treated as undated
    assert_eq!(
        row(&p, "SRV=s2|!!!!!|@@@@@"),
        ("VU".into(), dated("s2", &n, &n))
    );
    assert_eq!(row(&p, "SRV=s2|abc"), ("VU".into(), dated("s2", &n, &n)));
    // plain insert indirect: a past date is removed, a future one left alone
    let plain = insert_indirect();
    assert_eq!(
        row(&plain, &format!("SRV=s2|{}", enc(NOW - 100))),
        ("VU".into(), Some("SRV=s2; path=/".into()))
    );
    assert_eq!(
        row(&plain, &format!("SRV=s2|{}", enc(NOW + 100))),
        ("VN".into(), None)
    );
    // maxidle 20s only: re-emitted with the last date only (first date dropped)
    let idle = policy(CookieMode::Insert, |s| {
        s.indirect = true;
        s.maxidle = 20;
    });
    assert_eq!(
        row(
            &idle,
            &format!("SRV=s2|{}|{}", enc(NOW - 8), enc(NOW - 100))
        ),
        ("VU".into(), Some(format!("SRV=s2|{n}; path=/")))
    );
}

#[test]
fn maxlife_only_emits_both_dates() {
    // Seen on HAProxy 2.6.12: "lifeonly"
    let p = policy(CookieMode::Insert, |s| s.maxlife = 28800);
    let (_, s) = exchange(&p, &[], S1, &[]);
    assert_eq!(inserted(&s), Some("SRV=s1|awHs8|awHs8; path=/"));
    // an undated cookie gets its first date set (condition c)
    let p = policy(CookieMode::Insert, |s| {
        s.indirect = true;
        s.maxlife = 28800;
    });
    assert_eq!(
        row(&p, "SRV=s2"),
        ("VU".into(), Some("SRV=s2|awHs8|awHs8; path=/".into()))
    );
}

#[test]
fn maxidle_only_emits_the_last_date() {
    // Seen on HAProxy 2.6.12: "maxidle only"
    let p = policy(CookieMode::Insert, |s| s.maxidle = 1800);
    let (_, s) = exchange(&p, &[], S1, &[]);
    assert_eq!(inserted(&s), Some("SRV=s1|awHs8; path=/"));
}

#[test]
fn refresh_happens_at_most_once_per_4_second_quantum() {
    // A cookie issued at NOW carries 1795288304: not re-sent until now passes it.
    let p = idle_life();
    let cookie = format!("SRV=s2|{}|{}", enc(NOW), enc(NOW));
    for now in [NOW, NOW + 1, NOW + 2, NOW + 3] {
        let r = req_with(&p, &[&cookie], &RequestContext { now, ..ctx() }, &[]);
        let mut c = rctx(Some(S2));
        (c.now, c.direct, c.last_date, c.first_date) = (now, true, r.last_date, r.first_date);
        assert_eq!(resp(&p, &[], &c).insert, None, "now {now}");
    }
    let now = NOW + 4;
    let r = req_with(&p, &[&cookie], &RequestContext { now, ..ctx() }, &[]);
    let mut c = rctx(Some(S2));
    (c.now, c.direct, c.last_date, c.first_date) = (now, true, r.last_date, r.first_date);
    let s = resp(&p, &[], &c);
    assert_eq!(inserted(&s), Some("SRV=s2|awHs9|awHs8; path=/"));
    assert_eq!(s.flag, ServerFlag::Updated);
}

#[test]
fn dates_are_decoded_into_the_verdict() {
    let p = insert_indirect();
    let v = req(&p, &["SRV=s2|AAAAB|AAAAC"]);
    assert_eq!((v.server, v.last_date, v.first_date), (Some(S2), 4, 8));
    // only the first 5 characters count; the first date needs a second bar
    let v = req(&p, &["SRV=s2|AAAABxyz|AAAACxyz"]);
    assert_eq!((v.last_date, v.first_date), (4, 8));
    let v = req(&p, &["SRV=s2|AAAAB"]);
    assert_eq!((v.last_date, v.first_date), (4, 0));
    // "||F": the last date is read from "|AAAA" (invalid), the first from after the bar
    let v = req(&p, &["SRV=s2||AAAAC"]);
    assert_eq!((v.server, v.last_date, v.first_date), (Some(S2), 0, 8));
}

#[test]
fn a_date_that_does_not_decode_or_is_zero_is_absent() {
    let p = insert_indirect();
    for h in [
        "SRV=s2|AAAAA|AAAAA",
        "SRV=s2|AAAA=|AAA=A",
        "SRV=s2|abcd",
        "SRV=s2|",
        "SRV=s2|a-b_c",
    ] {
        let v = req(&p, &[h]);
        assert_eq!(
            (v.server, v.last_date, v.first_date),
            (Some(S2), 0, 0),
            "{h}"
        );
    }
}

#[test]
fn dates_of_an_earlier_occurrence_are_kept_when_a_later_one_has_none() {
    let p = insert_indirect();
    let v = req(&p, &["SRV=s2|awHs8; SRV=s1"]);
    assert_eq!((v.server, v.last_date), (Some(S2), 1_795_288_304));
    let v = req(&p, &["SRV=s2|awHs8", "SRV=s1|AAAAB"]);
    assert_eq!(v.last_date, 4);
}

#[test]
fn maxidle_is_strictly_greater_than_and_counts_from_the_stored_date() {
    let p = policy(CookieMode::Insert, |s| {
        s.indirect = true;
        s.maxidle = 20;
    });
    let last = 1_795_288_304; // awHs8
    let at = |now: u32| req_with(&p, &["SRV=s2|awHs8"], &RequestContext { now, ..ctx() }, &[]);
    assert_eq!(at(last + 20).flag, ClientFlag::Valid);
    let v = at(last + 21);
    assert_eq!((v.server, v.flag), (None, ClientFlag::Expired));
    assert_eq!((v.last_date, v.first_date), (0, 0));
}

#[test]
fn dates_more_than_a_day_ahead_are_refused() {
    let p = policy(CookieMode::Insert, |s| {
        s.indirect = true;
        s.maxidle = 20;
        s.maxlife = 30;
    });
    let d = 1_795_288_304; // awHs8
    let at = |now: u32, h: &str| req_with(&p, &[h], &RequestContext { now, ..ctx() }, &[]).flag;
    assert_eq!(at(d - 86400, "SRV=s2|awHs8"), ClientFlag::Valid);
    assert_eq!(at(d - 86401, "SRV=s2|awHs8"), ClientFlag::Expired);
    assert_eq!(at(d - 86400, "SRV=s2||awHs8"), ClientFlag::Valid);
    assert_eq!(at(d - 86401, "SRV=s2||awHs8"), ClientFlag::Old);
}

#[test]
fn maxlife_is_checked_before_maxidle() {
    let p = idle_life();
    let h = format!("SRV=s2|{}|{}", enc(NOW - 5000), enc(NOW - 40000));
    assert_eq!(req(&p, &[&h]).flag, ClientFlag::Old);
}

#[test]
fn date_checks_are_skipped_when_max_is_zero() {
    let p = insert_indirect();
    let v = req(
        &p,
        &[&format!(
            "SRV=s2|{}|{}",
            enc(NOW - 999_999),
            enc(NOW - 999_999)
        )],
    );
    assert_eq!((v.server, v.flag), (Some(S2), ClientFlag::Valid));
    assert_ne!(v.last_date, 0);
}

#[test]
fn expired_cookie_is_still_removed_with_insert_indirect() {
    let p = idle_life();
    let h = format!("a=1; SRV=s2|{}", enc(NOW - 5000));
    let v = req(&p, &[&h]);
    assert_eq!(v.flag, ClientFlag::Expired);
    assert_eq!(apply(&[&h], &v.edits), ["a=1"]);
}

#[test]
fn dates_from_the_top_of_the_30_bit_range_behave_as_haproxys_int() {
    // `/////` decodes to 0xFFFFFFFC, a negative `int` in HAProxy: far in the past.
    let p = idle_life();
    assert_eq!(req(&p, &["SRV=s2|/////"]).flag, ClientFlag::Expired);
    let plain = insert_indirect();
    let (r, s) = exchange(&plain, &["SRV=s2|/////"], S1, &[]);
    assert_eq!(r.last_date, 0xFFFF_FFFC);
    assert_eq!(flags(&r, &s), "VU");
    assert_eq!(inserted(&s), Some("SRV=s2; path=/"));
}

#[test]
fn valid_first_date_is_reemitted_unchanged() {
    let p = idle_life();
    let first = enc(NOW - 20000);
    let (_, s) = exchange(&p, &[&format!("SRV=s2||{first}")], S1, &[]);
    assert_eq!(
        inserted(&s),
        Some(format!("SRV=s2|awHs8|{first}; path=/").as_str())
    );
}
