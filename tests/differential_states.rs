//! Differential tests of what surrounds the cookie: server states (drain, maint,
//! weight 0, backup), `persist`, `force_persist`, `ignore_persist`, retries and
//! redispatch on connection failures, `maxconn` queues, and the balancing sequences.
//! Each scenario runs through a real HAProxy 2.6 and tether, which must agree.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::http::Request;
use common::pair::{dead_server, get, server, with_cookie, Pair, ServerSpec};
use common::skip_without_haproxy;

const COOKIE_H: &str = "    cookie SRV insert indirect nocache";
const COOKIE_T: &str = "    cookie: { name: SRV, mode: insert, indirect: true, nocache: true }";

fn three(s2_haproxy: &'static str, s2_tether: &'static str) -> [ServerSpec; 3] {
    [
        server("s1", "cookie s1", "cookie: s1"),
        server("s2", s2_haproxy, s2_tether),
        server("s3", "cookie s3", "cookie: s3"),
    ]
}

/// Drain keeps the clients holding its cookie and takes no new one (docs/haproxy-compatibility.md
/// §10).
#[test]
fn drained_server_keeps_its_clients_only() {
    skip_without_haproxy!();
    let p = Pair::start(
        &three("cookie s2", "cookie: s2, state: drain"),
        &format!("    balance roundrobin\n{COOKIE_H}"),
        &format!("    balance: roundrobin\n{COOKIE_T}"),
    );
    assert_eq!(p.haproxy.cli("set server be/s2 state drain"), "\n");
    for n in 0..4 {
        p.agree("new clients never reach s2", &get());
        p.assert_flags(n, "new client");
    }
    p.agree("s2's client stays", &with_cookie("SRV=s2"));
    p.assert_flags(4, "s2's client");
}

/// A maint server's clients are balanced elsewhere and re-cookied, with or without
/// redispatch; `persist` keeps them on it (flag D, no new cookie).
#[test]
fn maint_moves_clients_unless_persist() {
    skip_without_haproxy!();
    let p = Pair::start(
        &three("cookie s2 disabled", "cookie: s2, state: maint"),
        &format!("    balance roundrobin\n{COOKIE_H}"),
        &format!("    balance: roundrobin\n{COOKIE_T}"),
    );
    p.agree("s2's client is moved", &with_cookie("SRV=s2; a=1"));
    p.assert_flags(0, "moved");
    p.agree("new client", &get());

    let persist = Pair::start(
        &three("cookie s2 disabled", "cookie: s2, state: maint"),
        &format!("    balance roundrobin\n    option persist\n{COOKIE_H}"),
        &format!("    balance: roundrobin\n    persist: true\n{COOKIE_T}"),
    );
    persist.agree("option persist keeps it on s2", &with_cookie("SRV=s2"));
    persist.assert_flags(0, "persist");
}

/// `force_persist` overrides maint for matching requests; `ignore_persist` ignores the
/// cookie (flag U, no cookie inserted, still removed from the request).
#[test]
fn force_and_ignore_persist() {
    skip_without_haproxy!();
    let p = Pair::start(
        &three("cookie s2 disabled", "cookie: s2, state: maint"),
        &format!(
            "    balance roundrobin\n{COOKIE_H}\n    force-persist if {{ req.hdr(X-Force) -m found }}\n    ignore-persist if {{ path_beg /static }}"
        ),
        &format!(
            "    balance: roundrobin\n{COOKIE_T}\n    force_persist:\n      - {{ header: X-Force, present: true }}\n    ignore_persist:\n      - {{ path_prefix: /static }}"
        ),
    );
    let steps = [
        (
            "forced to the maint server",
            with_cookie("SRV=s2").header("X-Force", "1"),
        ),
        ("not forced: moved", with_cookie("SRV=s2")),
        (
            "static: cookie ignored",
            Request::get("/static/app.js").header("Cookie", "SRV=s3; a=1"),
        ),
        ("static without cookie", Request::get("/static/x")),
        ("valid cookie", with_cookie("SRV=s3")),
    ];
    for (n, (what, req)) in steps.iter().enumerate() {
        p.agree(what, req);
        p.assert_flags(n, what);
    }
}

/// Weight 0 and backup servers keep persistent clients; backups serve new clients only
/// when no active server is usable: the first backup, or all with `allbackups`.
#[test]
fn weight_zero_and_backups() {
    skip_without_haproxy!();
    let servers = [
        server("s1", "cookie s1 disabled", "cookie: s1, state: maint"),
        server("s2", "cookie s2 weight 0", "cookie: s2, weight: 0"),
        server("b1", "cookie b1 backup", "cookie: b1, backup: true"),
        server("b2", "cookie b2 backup", "cookie: b2, backup: true"),
    ];
    let p = Pair::start(&servers, COOKIE_H, COOKIE_T);
    p.agree("weight 0 keeps its client", &with_cookie("SRV=s2"));
    p.agree("backup keeps its client", &with_cookie("SRV=b2"));
    for _ in 0..3 {
        p.agree("no usable active: first backup", &get());
    }
    let all = Pair::start(
        &servers,
        &format!("    option allbackups\n{COOKIE_H}"),
        &format!("    allbackups: true\n{COOKIE_T}"),
    );
    for _ in 0..4 {
        all.agree("allbackups: all backups take turns", &get());
    }
}

/// A dead server (connection refused): retries on it, then redispatch on the last retry
/// with a new cookie (flags `--DI`, log `+3`); without redispatch a 503 after all retries.
#[test]
fn connection_failures_retry_then_redispatch() {
    skip_without_haproxy!();
    let dead = [
        server("s1", "cookie s1", "cookie: s1"),
        dead_server("s2", "cookie s2", "cookie: s2"),
        server("s3", "cookie s3", "cookie: s3"),
    ];
    let p = Pair::start(
        &dead,
        &format!("    balance roundrobin\n    timeout connect 100ms\n    retries 3\n    option redispatch\n{COOKIE_H}"),
        &format!("    balance: roundrobin\n    timeouts: {{ connect: 100ms, server: 10s, queue: 5s }}\n    retries: 3\n    redispatch: true\n{COOKIE_T}"),
    );
    let started = Instant::now();
    let t = p.agree("client of the dead server", &with_cookie("SRV=s2"));
    assert!(t.status == 200, "{}", t.status);
    p.assert_flags(0, "redispatched");
    // Two 100 ms turnarounds on each proxy before the redispatch.
    assert!(started.elapsed() >= Duration::from_millis(400));
    let h_log = p.haproxy.stdout();
    let t_log = p.tether.stdout();
    assert!(h_log.contains(" +3 ") || h_log.contains("/+3 "), "{h_log}");
    assert!(t_log.contains(" +3 "), "{t_log}");
    p.agree("new clients are balanced around it", &get());
    p.agree("and again", &get());

    let none = Pair::start(
        &dead,
        &format!("    timeout connect 100ms\n    retries 2\n{COOKIE_H}"),
        &format!("    timeouts: {{ connect: 100ms, server: 10s, queue: 5s }}\n    retries: 2\n    redispatch: false\n{COOKIE_T}"),
    );
    let (h, t) = none.both(&with_cookie("SRV=s2"));
    assert_eq!(
        (h.status, t.status),
        (503, 503),
        "{:?} / {:?}",
        h.server(),
        t.server()
    );
    assert_eq!(h.body, t.body, "HAProxy's 503 page");
    assert_eq!(h.header("cache-control"), t.header("cache-control"));
}

/// A persistent request to a server at maxconn waits in that server's queue.
#[test]
fn maxconn_queues_persistent_requests() {
    skip_without_haproxy!();
    let p = Pair::start(
        &three("cookie s2 maxconn 1", "cookie: s2, maxconn: 1"),
        COOKIE_H,
        COOKIE_T,
    );
    for addr in [p.haproxy_addr, p.tether_addr] {
        let slow = thread::spawn(move || {
            with_cookie("SRV=s2")
                .header("x-echo-delay-ms", "400")
                .send(addr)
        });
        // Readiness: wait until the slow request occupies s2.
        let deadline = Instant::now() + Duration::from_secs(5);
        let before = p.servers[1].requests();
        while p.servers[1].requests() == before && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        let started = Instant::now();
        let queued = with_cookie("SRV=s2").send(addr).expect("queued request");
        assert_eq!(queued.server(), Some("s2"), "{addr}");
        assert!(
            started.elapsed() >= Duration::from_millis(200),
            "{addr}: it waited"
        );
        assert_eq!(
            slow.join().expect("slow").expect("slow response").server(),
            Some("s2")
        );
    }
}

fn picks(p: &Pair, n: usize, req: impl Fn(usize) -> Request) {
    for i in 0..n {
        p.agree(&format!("pick {i}"), &req(i));
    }
}

#[test]
fn weighted_round_robin_sequences() {
    skip_without_haproxy!();
    for (algo_h, algo_t) in [("roundrobin", "roundrobin"), ("static-rr", "static-rr")] {
        let p = Pair::start(
            &[
                server("s1", "cookie s1 weight 2", "cookie: s1, weight: 2"),
                server("s2", "cookie s2 weight 3", "cookie: s2, weight: 3"),
                server("s3", "cookie s3 weight 5", "cookie: s3, weight: 5"),
            ],
            &format!("    balance {algo_h}\n{COOKIE_H}"),
            &format!("    balance: {algo_t}\n{COOKIE_T}"),
        );
        // Persistent requests in between must not advance the sequence.
        picks(&p, 20, |i| {
            if i % 4 == 3 {
                with_cookie("SRV=s1")
            } else {
                get()
            }
        });
    }
}

#[test]
fn leastconn_sequence() {
    skip_without_haproxy!();
    let p = Pair::start(
        &three("cookie s2", "cookie: s2"),
        &format!("    balance leastconn\n{COOKIE_H}"),
        &format!("    balance: leastconn\n{COOKIE_T}"),
    );
    picks(&p, 9, |_| get());
}

#[test]
fn hash_balancing_map_based_and_consistent() {
    skip_without_haproxy!();
    let cases = [
        ("uri", "uri"),
        ("url_param uid", "url_param:uid"),
        ("hdr(X-User)", "hdr:X-User"),
        ("hash req.cook(SID)", "cookie:SID"),
    ];
    for hash_type in ["map-based", "consistent"] {
        for (h, t) in cases {
            let p = Pair::start(
                &[
                    server("s1", "", ""),
                    server("s2", "", ""),
                    server("s3", "", ""),
                    server("s4", "", ""),
                ],
                &format!("    balance {h}\n    hash-type {hash_type}"),
                &format!("    balance: \"{t}\"\n    hash_type: {hash_type}"),
            );
            for key in ["alice", "bob", "carol", "dave", "1", "2", "3", "url1", ""] {
                let req = Request::get(&format!("/{key}?uid={key}&x=1"))
                    .header("X-User", key)
                    .header("Cookie", format!("SID={key}"));
                p.agree(&format!("{hash_type} {t} key {key:?}"), &req);
            }
            p.agree("no key: round robin", &Request::get("/"));
        }
    }
}

/// States and weights changed at run time (HAProxy's stats socket, tether's admin API)
/// between requests: the same servers are picked, persistent clients are kept or moved
/// alike, and the round robin resumes identically.
#[test]
fn runtime_state_and_weight_changes() {
    skip_without_haproxy!();
    let p = Pair::start(
        &three("cookie s2", "cookie: s2"),
        &format!("    balance roundrobin\n{COOKIE_H}"),
        &format!("    balance: roundrobin\n{COOKIE_T}"),
    );
    let mut n = 0;
    let mut step = |what: &str, req: Request| {
        p.agree(what, &req);
        p.assert_flags(n, what);
        n += 1;
    };
    for _ in 0..4 {
        step("all ready", get());
    }
    p.set_state("s2", "drain");
    step("s2 drained: its client stays", with_cookie("SRV=s2"));
    for _ in 0..3 {
        step("s2 drained: new client", get());
    }
    p.set_state("s2", "maint");
    step("s2 in maint: its client moves", with_cookie("SRV=s2"));
    p.set_state("s2", "ready");
    for _ in 0..4 {
        step("s2 back", get());
    }
    p.set_weight("s1", 3);
    for _ in 0..10 {
        step("s1 weight 3", get());
    }
    p.set_weight("s3", 0);
    step("s3 weight 0: its client stays", with_cookie("SRV=s3"));
    for _ in 0..5 {
        step("s3 weight 0: new client", get());
    }
    p.set_weight("s3", 1);
    for _ in 0..6 {
        step("s3 weight back", get());
    }
}
