//! The app-session table against HAProxy 2.6's stick tables, for the cases where their
//! semantics coincide:
//! - `key: cookie` + `request_learn` ≈ `stick on req.cook(N)` + `stick store-response
//!   res.cook(N)`: ids learned from the server's Set-Cookie and from requests, honoured
//!   while the server is not maint/down, kept on drain, and an entry follows its client
//!   when it had to move (a stick store overwrites; so does tether);
//! - `key: src` ≈ `stick on src`; `key: header:X` ≈ `stick on req.hdr(X)`;
//!   `key: url_param:X` ≈ `stick on urlp(X)`;
//! - path-parameter ids ≈ `stick on urlp(jsessionid,;)` for lower-case names and URLs
//!   without a query string.
//!
//! Not compared, because they differ by design: URL parameter names (appsession and tether
//! match case-insensitively and take the last occurrence; `urlp` is case-sensitive and
//! takes the first), `;jsessionid=X?q` (HAProxy's urlp keeps `?q` in the id), `prefix`
//! names (no stick-table equivalent), a Set-Cookie deleting the id (tether forgets it; a
//! stick store keeps storing), and `ignore_persist` (HAProxy applies stick rules anyway).

mod common;

use common::http::Request;
use common::pair::{get, server, with_cookie, Pair, ServerSpec};
use common::skip_without_haproxy;

const THREE: [ServerSpec; 3] = [
    server("s1", "", ""),
    server("s2", "", ""),
    server("s3", "", ""),
];

fn sets(id: &str) -> Request {
    get().header(
        "x-echo-header",
        format!("Set-Cookie: JSESSIONID={id}; Path=/"),
    )
}

#[test]
fn application_cookie_learned_from_responses_and_requests() {
    skip_without_haproxy!();
    let p = Pair::start(
        &THREE,
        "    stick-table type string len 52 size 1m expire 3h\n    stick on req.cook(JSESSIONID)\n    stick store-response res.cook(JSESSIONID)",
        "    app_session: { cookie: JSESSIONID, request_learn: true, len: 52, timeout: 3h }",
    );
    p.agree("alice's session issued", &sets("alice"));
    p.agree("bob's session issued", &sets("bob"));
    p.agree("alice comes back", &with_cookie("JSESSIONID=alice"));
    p.agree("bob comes back", &with_cookie("JSESSIONID=bob; x=1"));
    p.agree(
        "unknown id: balanced and learned",
        &with_cookie("JSESSIONID=carol"),
    );
    p.agree("carol comes back", &with_cookie("JSESSIONID=carol"));
    p.agree("a new client", &get());

    p.set_state("s1", "maint");
    p.agree(
        "alice's server in maint: moved",
        &with_cookie("JSESSIONID=alice"),
    );
    p.set_state("s1", "ready");
    p.agree(
        "alice stays where she was moved",
        &with_cookie("JSESSIONID=alice"),
    );

    p.set_state("s2", "drain");
    p.agree("drain keeps bob", &with_cookie("JSESSIONID=bob"));
    for _ in 0..3 {
        p.agree("drain takes no new client", &get());
    }
}

#[test]
fn client_address() {
    skip_without_haproxy!();
    let p = Pair::start(
        &THREE,
        "    stick-table type ip size 1m expire 1h\n    stick on src",
        "    app_session: { key: src, timeout: 1h }",
    );
    for _ in 0..3 {
        p.agree("same address, same server", &get());
    }
    p.set_state("s1", "maint");
    p.agree("moved", &get());
    p.set_state("s1", "ready");
    p.agree("stays after the move", &get());
}

#[test]
fn header_and_query_parameter() {
    skip_without_haproxy!();
    let h = Pair::start(
        &THREE,
        "    stick-table type string len 64 size 1m expire 1h\n    stick on req.hdr(X-Session)",
        "    app_session: { key: \"header:X-Session\", len: 64, timeout: 1h }",
    );
    for user in ["alice", "bob", "carol", "alice", "bob", "dave", "carol"] {
        h.agree(user, &get().header("X-Session", user));
    }
    h.agree("no header: balanced", &get());

    let q = Pair::start(
        &THREE,
        "    stick-table type string len 64 size 1m expire 1h\n    stick on urlp(sid)",
        "    app_session: { key: \"url_param:sid\", len: 64, timeout: 1h }",
    );
    for (i, sid) in ["1", "2", "3", "1", "2", "4", "3"].iter().enumerate() {
        q.agree(sid, &Request::get(&format!("/p?n={i}&sid={sid}")));
    }
}

#[test]
fn path_parameter_ids() {
    skip_without_haproxy!();
    let p = Pair::start(
        &THREE,
        "    stick-table type string len 52 size 1m expire 3h\n    stick on urlp(jsessionid,;)",
        "    app_session: { cookie: jsessionid, request_learn: true, mode: path-parameters, timeout: 3h }",
    );
    for (i, id) in ["abc", "def", "abc", "ghi", "def", "abc"]
        .iter()
        .enumerate()
    {
        p.agree(
            &format!("{i}: {id}"),
            &Request::get(&format!("/app/page{i};jsessionid={id}")),
        );
    }
}
