//! Differential tests: every scenario runs through a real HAProxy 2.6 and through
//! tether with the equivalent configuration, and the two must agree on the server
//! chosen, the Set-Cookie lines the client gets (dates within one 4-second quantum),
//! Cache-Control, the Cookie headers the backend receives and, where logged, HAProxy's
//! two persistence flags.

mod common;

use common::http::Request;
use common::pair::{dates, encode_date, get, now, server, with_cookie, Pair, ServerSpec};
use common::skip_without_haproxy;

const TWO: [ServerSpec; 2] = [
    server("s1", "cookie s1", "cookie: s1"),
    server("s2", "cookie s2", "cookie: s2"),
];

const THREE: [ServerSpec; 3] = [
    server("s1", "cookie s1", "cookie: s1"),
    server("s2", "cookie s2", "cookie: s2"),
    server("s3", "cookie s3", "cookie: s3"),
];

#[test]
fn insert_indirect_nocache_basics_and_flags() {
    skip_without_haproxy!();
    let p = Pair::start(
        &THREE,
        "    balance roundrobin\n    cookie SRV insert indirect nocache",
        "    balance: roundrobin\n    cookie: { name: SRV, mode: insert, indirect: true, nocache: true }",
    );
    let steps: Vec<(&str, Request)> = vec![
        ("new client", get()),
        ("second new client", get()),
        ("valid cookie s3", with_cookie("SRV=s3")),
        ("valid cookie among others", with_cookie("a=1; SRV=s1; b=2")),
        ("unknown value", with_cookie("SRV=zz; a=1")),
        ("empty value", with_cookie("SRV=")),
        ("quoted value", with_cookie("SRV=\"s2\"")),
        ("wrong case name", with_cookie("srv=s2")),
        ("prefix of a server value", with_cookie("SRV=s")),
        ("longer than a server value", with_cookie("SRV=s1x")),
        ("no equal sign", with_cookie("SRV; a=1")),
        ("duplicated, first wins", with_cookie("SRV=s2; SRV=s1; a=1")),
        (
            "duplicated, invalid first",
            with_cookie("SRV=bogus; SRV=s3"),
        ),
        (
            "rfc2109 attributes",
            with_cookie("$Version=\"1\"; SRV=s2; $Path=\"/\"; a=1"),
        ),
        ("comma separator", with_cookie("a=1,SRV=s2")),
        ("spaces around equal", with_cookie("x=1;  SRV = s2 ; y=2")),
        ("trailing separator", with_cookie("a=1; SRV=s2;")),
        ("no spaces", with_cookie("a=1;SRV=s2;b=2")),
        ("last position", with_cookie("a=1;b=2;SRV=s2")),
        ("first position", with_cookie("SRV=s2;a=1")),
        ("garbage", with_cookie(";;;==;=;SRV;=s1;;")),
        (
            "two Cookie headers",
            get()
                .header("Cookie", "a=1")
                .header("Cookie", "SRV=s2; b=2"),
        ),
        (
            "our cookie alone in the second header",
            get().header("Cookie", "a=1").header("Cookie", "SRV=s3"),
        ),
        ("dated cookie without maxidle", with_cookie("SRV=s2|AAAAB")),
        (
            "non-UTF-8 bytes",
            get().header("Cookie", b"a=\xe9\xff; SRV=s2; b=\x80".as_slice()),
        ),
    ];
    for (n, (what, req)) in steps.iter().enumerate() {
        p.agree(what, req);
        p.assert_flags(n, what);
    }
}

/// The one place where tether deliberately differs: a control character in a header
/// value. HAProxy forwards it; Pingora's parser refuses the request (RFC 9110 §5.5), and
/// the client gets a 400 from tether — never a 5xx, and nothing reaches a server.
#[test]
fn control_characters_in_cookies_are_refused_with_400() {
    skip_without_haproxy!();
    let p = Pair::start(
        &TWO,
        "    cookie SRV insert indirect nocache",
        "    cookie: { name: SRV, mode: insert, indirect: true, nocache: true }",
    );
    let req = with_cookie("a=\u{1}; SRV=s2");
    let h = req.send(p.haproxy_addr).expect("haproxy answers");
    let t = req.send(p.tether_addr).expect("tether answers");
    assert_eq!(h.server(), Some("s2"), "HAProxy forwards it");
    assert_eq!((t.status, t.server()), (400, None));
}

#[test]
fn oversized_cookie_header_is_handled_like_haproxy() {
    skip_without_haproxy!();
    let p = Pair::start(
        &TWO,
        "    cookie SRV insert indirect nocache",
        "    cookie: { name: SRV, mode: insert, indirect: true, nocache: true }",
    );
    let big = "x".repeat(9000);
    p.agree(
        "9 KB cookie before ours",
        &with_cookie(&format!("big={big}; SRV=s2")),
    );
    p.agree(
        "9 KB value of our cookie",
        &with_cookie(&format!("SRV={big}")),
    );
}

#[test]
fn nocache_adds_private_only_to_cacheable_responses() {
    skip_without_haproxy!();
    let p = Pair::start(
        &TWO,
        "    cookie SRV insert indirect nocache",
        "    cookie: { name: SRV, mode: insert, indirect: true, nocache: true }",
    );
    let cases: Vec<(&str, Request)> = vec![
        ("plain 200", get()),
        (
            "max-age",
            get().header("x-echo-header", "Cache-Control: max-age=60"),
        ),
        (
            "last-modified",
            get().header(
                "x-echo-header",
                "Last-Modified: Sat, 21 Nov 2026 10:00:00 GMT",
            ),
        ),
        ("etag", get().header("x-echo-header", "ETag: \"abc\"")),
        (
            "expires",
            get().header("x-echo-header", "Expires: Sun, 22 Nov 2026 10:00:00 GMT"),
        ),
        (
            "301 with max-age",
            get()
                .header("x-echo-status", "301")
                .header("x-echo-header", "Cache-Control: max-age=60")
                .header("x-echo-header", "Location: /x"),
        ),
        (
            "302 with max-age",
            get()
                .header("x-echo-status", "302")
                .header("x-echo-header", "Cache-Control: max-age=60")
                .header("x-echo-header", "Location: /x"),
        ),
        (
            "POST with max-age",
            Request::post("/")
                .body("x")
                .header("x-echo-header", "Cache-Control: max-age=60"),
        ),
        (
            "already private",
            get().header("x-echo-header", "Cache-Control: private, max-age=60"),
        ),
        (
            "max-age=0",
            get().header("x-echo-header", "Cache-Control: max-age=0"),
        ),
        (
            "no-cache pragma",
            get()
                .header("x-echo-header", "Cache-Control: max-age=60")
                .header("x-echo-header", "Pragma: no-cache"),
        ),
        (
            "public only",
            get().header("x-echo-header", "Cache-Control: public"),
        ),
        (
            "authorization",
            get()
                .header("Authorization", "Basic eDp5")
                .header("x-echo-header", "Cache-Control: max-age=60"),
        ),
        (
            "404 with max-age",
            get()
                .header("x-echo-status", "404")
                .header("x-echo-header", "Cache-Control: max-age=60"),
        ),
        ("500", get().header("x-echo-status", "500")),
        ("204", get().header("x-echo-status", "204")),
        (
            "HEAD with max-age",
            Request::head("/").header("x-echo-header", "Cache-Control: max-age=60"),
        ),
    ];
    for (what, req) in &cases {
        p.agree(what, req);
    }
}

#[test]
fn insert_without_indirect_forwards_the_cookie_and_drops_the_servers_own() {
    skip_without_haproxy!();
    let p = Pair::start(
        &TWO,
        "    cookie SRV insert",
        "    cookie: { name: SRV, mode: insert }",
    );
    p.agree("new client", &get());
    p.agree(
        "returning client keeps its cookie upstream",
        &with_cookie("SRV=s2; a=1"),
    );
    p.agree(
        "server sets our cookie itself",
        &get().header("x-echo-header", "Set-Cookie: SRV=app; Path=/"),
    );
    p.agree(
        "server sets our cookie, client persisted",
        &with_cookie("SRV=s1").header("x-echo-header", "Set-Cookie: SRV=app; Path=/"),
    );
    p.agree(
        "server sets other cookies",
        &get()
            .header("x-echo-header", "Set-Cookie: a=1")
            .header("x-echo-header", "Set-Cookie: b=2; Path=/"),
    );
    for n in 0..5 {
        p.assert_flags(n, "");
    }
}

#[test]
fn insert_attributes_keep_haproxys_order() {
    skip_without_haproxy!();
    let p = Pair::start(
        &TWO,
        "    cookie SRV insert indirect nocache httponly secure domain .example.com domain .example.org attr \"SameSite=Lax\" attr \"Max-Age=3600\"",
        "    cookie:\n      name: SRV\n      mode: insert\n      indirect: true\n      nocache: true\n      httponly: true\n      secure: true\n      domain: [.example.com, .example.org]\n      attr: [\"SameSite=Lax\", \"Max-Age=3600\"]",
    );
    let t = p.agree("new client", &get());
    assert_eq!(
        t.headers_all("set-cookie"),
        ["SRV=s1; path=/; domain=.example.com; domain=.example.org; HttpOnly; Secure; SameSite=Lax; Max-Age=3600"]
    );
}

#[test]
fn server_without_cookie_value_gets_the_removal_cookie() {
    skip_without_haproxy!();
    let p = Pair::start(
        &[server("s1", "", ""), server("s2", "", "")],
        "    cookie SRV insert indirect nocache httponly",
        "    cookie: { name: SRV, mode: insert, indirect: true, nocache: true, httponly: true }",
    );
    let t = p.agree("new client", &get());
    assert_eq!(
        t.headers_all("set-cookie"),
        ["SRV=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/; HttpOnly"]
    );
    p.agree("stale cookie", &with_cookie("SRV=s1"));
}

#[test]
fn postonly_inserts_only_on_post() {
    skip_without_haproxy!();
    let p = Pair::start(
        &TWO,
        "    cookie SRV insert indirect postonly",
        "    cookie: { name: SRV, mode: insert, indirect: true, postonly: true }",
    );
    p.agree("GET", &get());
    p.agree("POST", &Request::post("/login").body("user=a"));
    p.agree("GET with cookie", &with_cookie("SRV=s1"));
}

#[test]
fn preserve_lets_the_server_manage_the_cookie() {
    skip_without_haproxy!();
    let p = Pair::start(
        &TWO,
        "    cookie SRV insert indirect preserve",
        "    cookie: { name: SRV, mode: insert, indirect: true, preserve: true }",
    );
    p.agree("new client", &get());
    p.agree(
        "server sets SRV: kept, nothing inserted",
        &get().header("x-echo-header", "Set-Cookie: SRV=; Max-Age=0"),
    );
    p.agree(
        "persisted client, server sets SRV",
        &with_cookie("SRV=s2").header("x-echo-header", "Set-Cookie: SRV=s2; Path=/"),
    );
}

#[test]
fn maxidle_maxlife_date_matrix() {
    skip_without_haproxy!();
    let p = Pair::start(
        &THREE,
        "    cookie SRV insert indirect maxidle 30m maxlife 8h",
        "    cookie: { name: SRV, mode: insert, indirect: true, maxidle: 30m, maxlife: 8h }",
    );
    let t0 = now();
    let d = |offset: i64| encode_date((t0 as i64 + offset) as u64);
    let cases: Vec<(&str, String)> = vec![
        ("undated: accepted and refreshed", "SRV=s2".to_string()),
        (
            "fresh: accepted, nothing sent",
            format!("SRV=s2|{}|{}", d(60), d(60)),
        ),
        (
            "recent: refreshed, first date kept",
            format!("SRV=s2|{}|{}", d(-10), d(-100)),
        ),
        ("idle too long", format!("SRV=s2|{}|{}", d(-1900), d(-2000))),
        ("too old", format!("SRV=s2|{}|{}", d(-10), d(-30000))),
        (
            "last date 2 days ahead",
            format!("SRV=s2|{}|{}", d(172_800), d(-10)),
        ),
        (
            "last date 1 hour ahead",
            format!("SRV=s2|{}|{}", d(3600), d(-10)),
        ),
        ("garbage dates", "SRV=s2|!!!!!|@@@@@".to_string()),
        ("short date", "SRV=s2|abc".to_string()),
        ("only last date", format!("SRV=s3|{}", d(-10))),
    ];
    for (n, (what, cookie)) in cases.iter().enumerate() {
        let t = p.agree(what, &with_cookie(cookie));
        if let Some(sc) = t.headers_all("set-cookie").first() {
            let ds = dates(sc);
            assert_eq!(ds.len(), 2, "{what}: maxlife emits both dates: {sc}");
        }
        p.assert_flags(n, what);
    }
}

#[test]
fn maxidle_only_and_plain_insert_drop_dates() {
    skip_without_haproxy!();
    let idle = Pair::start(
        &TWO,
        "    cookie SRV insert indirect maxidle 20s",
        "    cookie: { name: SRV, mode: insert, indirect: true, maxidle: 20s }",
    );
    let t0 = now();
    let past = encode_date(t0 - 8);
    idle.agree(
        "maxidle only: first date dropped",
        &with_cookie(&format!("SRV=s2|{past}|{past}")),
    );
    idle.agree("maxidle only: new client", &get());

    let plain = Pair::start(
        &TWO,
        "    cookie SRV insert indirect",
        "    cookie: { name: SRV, mode: insert, indirect: true }",
    );
    plain.agree(
        "plain: past date re-emitted without dates",
        &with_cookie(&format!("SRV=s2|{past}")),
    );
    let future = encode_date(t0 + 600);
    plain.agree(
        "plain: future date, nothing sent",
        &with_cookie(&format!("SRV=s2|{future}")),
    );

    let life = Pair::start(
        &TWO,
        "    cookie SRV insert indirect maxlife 1h",
        "    cookie: { name: SRV, mode: insert, indirect: true, maxlife: 1h }",
    );
    life.agree("maxlife only: both dates", &get());
}

#[test]
fn prefix_mode() {
    skip_without_haproxy!();
    let p = Pair::start(
        &TWO,
        "    cookie JSESSIONID prefix nocache",
        "    cookie: { name: JSESSIONID, mode: prefix, nocache: true }",
    );
    let sets = |v: &str| {
        get().header(
            "x-echo-header",
            format!("Set-Cookie: JSESSIONID={v}; Path=/app; HttpOnly"),
        )
    };
    p.agree("server sets the session: prefixed", &sets("abc"));
    p.agree(
        "client comes back: routed, prefix stripped",
        &with_cookie("JSESSIONID=s2~xyz; a=1"),
    );
    p.agree(
        "unknown prefix: balanced, still stripped",
        &with_cookie("JSESSIONID=zz~abc"),
    );
    p.agree(
        "unprefixed value equal to a server value",
        &with_cookie("JSESSIONID=s1"),
    );
    p.agree("unprefixed other value", &with_cookie("JSESSIONID=abc"));
    p.agree("several tildes", &with_cookie("JSESSIONID=s1~a~b"));
    p.agree("empty server part", &with_cookie("JSESSIONID=~abc"));
    p.agree(
        "server renews the session for a persisted client",
        &with_cookie("JSESSIONID=s2~old")
            .header("x-echo-header", "Set-Cookie: JSESSIONID=new; Path=/"),
    );
    p.agree(
        "no Set-Cookie from the server: nothing added",
        &with_cookie("JSESSIONID=s1~abc"),
    );
    p.agree(
        "cacheable response",
        &sets("q").header("x-echo-header", "Cache-Control: max-age=60"),
    );
    for n in 0..10 {
        p.assert_flags(n, "");
    }
}

#[test]
fn prefix_indirect_drops_server_updates_for_persisted_clients() {
    skip_without_haproxy!();
    let p = Pair::start(
        &TWO,
        "    cookie PHPSESSID prefix indirect",
        "    cookie: { name: PHPSESSID, mode: prefix, indirect: true }",
    );
    p.agree(
        "new session",
        &get().header("x-echo-header", "Set-Cookie: PHPSESSID=abc; path=/"),
    );
    p.agree(
        "persisted client, server re-sends",
        &with_cookie("PHPSESSID=s1~abc")
            .header("x-echo-header", "Set-Cookie: PHPSESSID=abc; path=/"),
    );
}

#[test]
fn rewrite_mode() {
    skip_without_haproxy!();
    let p = Pair::start(
        &TWO,
        "    cookie SRV rewrite",
        "    cookie: { name: SRV, mode: rewrite }",
    );
    p.agree(
        "server sets a placeholder",
        &get().header("x-echo-header", "Set-Cookie: SRV=xyz; path=/; Max-Age=10"),
    );
    p.agree(
        "client comes back, cookie forwarded unchanged",
        &with_cookie("SRV=s2; a=1"),
    );
    p.agree("no Set-Cookie: nothing added", &get());
    p.agree(
        "other cookies untouched",
        &get()
            .header("x-echo-header", "Set-Cookie: other=1")
            .header("x-echo-header", "Set-Cookie: SRV=; Path=/"),
    );
    for n in 0..4 {
        p.assert_flags(n, "");
    }
}

#[test]
fn passive_mode_routes_without_touching_cookies() {
    skip_without_haproxy!();
    let p = Pair::start(
        &TWO,
        "    cookie SRV",
        "    cookie: { name: SRV, mode: passive }",
    );
    p.agree(
        "new client",
        &get().header("x-echo-header", "Set-Cookie: SRV=s1"),
    );
    p.agree("routed by cookie", &with_cookie("SRV=s2"));
    p.agree("unknown value", &with_cookie("SRV=nope"));
    for n in 0..3 {
        p.assert_flags(n, "");
    }
}

/// With `indirect`, a passive cookie logs its flags (HAProxy shows them whenever any cookie
/// option is set), and a persistent request's `Set-Cookie` for the cookie is removed.
#[test]
fn passive_indirect_logs_the_flags() {
    skip_without_haproxy!();
    let p = Pair::start(
        &TWO,
        "    cookie SRV indirect",
        "    cookie: { name: SRV, mode: passive, indirect: true }",
    );
    p.agree("new client", &get());
    p.agree(
        "persistent client, server sets the cookie again",
        &with_cookie("SRV=s2").header("x-echo-header", "Set-Cookie: SRV=s2"),
    );
    p.agree("unknown value", &with_cookie("SRV=nope"));
    for n in 0..3 {
        p.assert_flags(n, "");
    }
    let (_, tether) = p.flags(1);
    assert_ne!(tether, "--", "flags are shown");
}

#[test]
fn dynamic_cookies_match_haproxy() {
    skip_without_haproxy!();
    let p = Pair::start(
        &[
            server("s1", "", ""),
            server("s2", "", ""),
            server("s3", "cookie static3", "cookie: static3"),
        ],
        "    dynamic-cookie-key mysecret\n    cookie SRV insert indirect dynamic",
        "    cookie: { name: SRV, mode: insert, indirect: true, dynamic_key: mysecret }",
    );
    let first = p.agree("s1", &get());
    p.agree("s2", &get());
    p.agree("static3", &get());
    let c = first.headers_all("set-cookie")[0]
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(c.len(), "SRV=".len() + 16, "{c}");
    p.agree("dynamic value routes back", &with_cookie(&c));
}
