//! tether on its own, as a real process in front of real backends: the behaviour that
//! has no HAProxy counterpart to compare with, or that concerns tether's own process
//! (configuration errors, signals, access log, bad input).

mod common;

use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use common::http::{Conn, Request, Response};
use common::rig::Rig;
use common::tether::{check, check_str, echo};
use tether_echo::EchoHandle;

/// Sends a request the backend holds for `delay_ms`, and returns once it is inside the
/// backend (readiness, not a sleep).
fn in_flight(
    listen: SocketAddr,
    backend: &EchoHandle,
    delay_ms: u64,
) -> thread::JoinHandle<std::io::Result<Response>> {
    let before = backend.requests();
    let slow = thread::spawn(move || {
        Request::get("/")
            .header("x-echo-delay-ms", delay_ms.to_string())
            .send(listen)
    });
    while backend.requests() == before {
        thread::sleep(Duration::from_millis(5));
    }
    slow
}

const INSERT: &str = "    cookie: { name: SRV, mode: insert, indirect: true, nocache: true }";

#[test]
fn every_example_in_conf_is_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conf");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("conf/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let (code, out, err) = check(&path);
            assert_eq!(code, 0, "{}: {out}{err}", path.display());
            checked += 1;
        }
    }
    assert!(
        checked >= 4,
        "expected the four example setups, found {checked}"
    );
}

#[test]
fn check_prints_every_error_with_its_position_and_exits_2() {
    let yaml = "frontends:\n  - name: web\n    listen: [\"127.0.0.1:8080\"]\n    backend: api\nbackends:\n  - name: app\n    balance: fastest\n    cookie:\n      name: SRV\n      mode: rewrite\n      indirect: true\n      maxidel: 30m\n    servers:\n      - { name: s1, address: \"10.0.0.1:80\", weight: 300 }\n";
    let (code, out, err) = check_str(yaml);
    assert_eq!(code, 2, "{out}{err}");
    let lines: Vec<&str> = err.lines().collect();
    let expect = [
        ("4:14:", "frontends[0].backend"),
        ("7:14:", "backends[0].balance"),
        ("11:7:", "backends[0].cookie.indirect"),
        (
            "12:7:",
            "backends[0].cookie.maxidel: unknown field, expected one of",
        ),
        ("14:", "backends[0].servers[0].weight"),
    ];
    assert_eq!(lines.len(), expect.len(), "{err}");
    for (line, (pos, what)) in lines.iter().zip(expect) {
        assert!(
            line.contains(pos) && line.contains(what),
            "{line:?} should have {pos} {what}"
        );
    }
    assert!(
        err.contains("roundrobin, static-rr"),
        "accepted values are listed: {err}"
    );
}

#[test]
fn run_refuses_an_invalid_file_with_the_same_messages() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, "frontends: []\nbackends: []\nbogus: 1\n").expect("write");
    let out = std::process::Command::new(common::tether::binary())
        .args(["run", "-c"])
        .arg(&path)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bogus: unknown field"), "{err}");
    assert!(err.contains("frontends"), "{err}");
}

#[test]
fn version_and_flags() {
    let out = std::process::Command::new(common::tether::binary())
        .arg("--version")
        .output()
        .expect("version");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("tether {}", env!("CARGO_PKG_VERSION"))
    );
    let help = std::process::Command::new(common::tether::binary())
        .args(["run", "--help"])
        .output()
        .expect("help");
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in ["-c, --conf", "-d, --daemon", "-u, --upgrade"] {
        assert!(help.contains(flag), "run accepts {flag}: {help}");
    }
}

#[test]
fn sigint_stops_at_once_even_with_a_request_in_flight() {
    let Rig {
        mut tether,
        servers,
        listen,
        ..
    } = Rig::echo(INSERT, &["s1"]);
    let (t, s1) = (&mut tether, &servers[0]);
    let slow = in_flight(listen, s1, 5000);
    let started = Instant::now();
    t.stop_with("INT", Duration::from_secs(3)).expect("exited");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(
        slow.join().expect("thread").is_err(),
        "the in-flight request was cut"
    );
}

/// The access log is written in batches; a process stopped at once still writes the lines
/// of the requests it answered.
#[test]
fn sigint_still_writes_the_last_access_log_lines() {
    let Rig {
        mut tether,
        servers: _servers,
        listen,
        ..
    } = Rig::echo(INSERT, &["s1"]);
    for i in 0..5 {
        let r = Request::get(&format!("/last/{i}"))
            .send(listen)
            .expect("answer");
        assert_eq!(r.status, 200);
    }
    tether
        .stop_with("INT", Duration::from_secs(5))
        .expect("exited");
    let logged = tether
        .stdout()
        .lines()
        .filter(|l| l.contains("\"GET /last/"))
        .count();
    assert_eq!(logged, 5, "{}", tether.stdout());
}

#[test]
fn sigterm_lets_in_flight_requests_finish_then_exits() {
    let Rig {
        mut tether,
        servers,
        listen,
        ..
    } = Rig::echo(INSERT, &["s1"]);
    let (t, s1) = (&mut tether, &servers[0]);
    let slow = in_flight(listen, s1, 1500);
    let started = Instant::now();
    let status = t
        .stop_with("TERM", Duration::from_secs(10))
        .expect("exited before the 30 s grace period");
    let elapsed = started.elapsed();
    let resp = slow
        .join()
        .expect("thread")
        .expect("the in-flight request completed");
    assert_eq!((resp.status, resp.server()), (200, Some("s1")));
    assert!(status.success(), "{status}");
    assert!(
        elapsed >= Duration::from_millis(1000),
        "waited for the request: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(5),
        "did not sit out the grace period: {elapsed:?}"
    );
}

#[test]
fn sigterm_on_an_idle_proxy_exits_promptly() {
    // The backends must stay bound: `..` would drop (stop) them.
    let Rig {
        mut tether,
        listen,
        servers: _backends,
        ..
    } = Rig::echo(INSERT, &["s1"]);
    let t = &mut tether;
    // An idle keep-alive client must not hold the process either.
    let mut idle = Conn::open(listen).expect("conn");
    assert_eq!(idle.send(&Request::get("/")).expect("first").status, 200);
    let started = Instant::now();
    let status = t
        .stop_with("TERM", Duration::from_secs(10))
        .expect("exited");
    assert!(status.success(), "{status}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn no_usable_server_gives_haproxys_503_page() {
    let s1 = echo("s1");
    let s2 = echo("s2");
    let rig = Rig::start(
        INSERT,
        Vec::new(),
        &[
            ("s1", s1.addr(), "state: maint"),
            ("s2", s2.addr(), "state: drain"),
        ],
        "",
    );
    let (listen, t) = (rig.listen, &rig.tether);
    let r = Request::get("/").send(listen).expect("response");
    assert_eq!(r.status, 503);
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert_eq!(r.header("content-type"), Some("text/html"));
    assert_eq!(
        r.text(),
        "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n"
    );
    assert!(r.headers_all("set-cookie").is_empty());
    // The drained server still serves its own clients (seen on HAProxy 2.6.12).
    let pinned = Request::get("/")
        .header("Cookie", "SRV=s2")
        .send(listen)
        .expect("pinned");
    assert_eq!((pinned.status, pinned.server()), (200, Some("s2")));
    let lines = t.log_lines(2);
    assert!(
        lines[0].contains(" be/<NOSRV> ") && lines[0].contains(" 503 "),
        "{}",
        lines[0]
    );
}

#[test]
fn failover_false_answers_502_to_clients_of_an_unavailable_server() {
    let s1 = echo("s1");
    let s2 = echo("s2");
    let rig = Rig::start(
        &format!("    failover: false\n{INSERT}"),
        Vec::new(),
        &[("s1", s1.addr(), ""), ("s2", s2.addr(), "state: maint")],
        "",
    );
    let listen = rig.listen;
    let pinned = Request::get("/")
        .header("Cookie", "SRV=s2")
        .send(listen)
        .expect("pinned");
    assert_eq!(pinned.status, 502);
    assert_eq!(s2.requests() + s1.requests(), 0, "nobody served it");
    let fresh = Request::get("/").send(listen).expect("new client");
    assert_eq!((fresh.status, fresh.server()), (200, Some("s1")));
    let dropped = Request::get("/")
        .header("Cookie", "other=1")
        .send(listen)
        .expect("cookie dropped");
    assert_eq!(dropped.status, 200);
}

#[test]
fn bad_cookies_never_crash_and_never_get_a_5xx() {
    let s1 = echo("s1");
    let s2 = echo("s2");
    let rig = Rig::start(
        "    cookie: { name: SRV, mode: insert, indirect: true, maxidle: 30m, maxlife: 8h }",
        Vec::new(),
        &[("s1", s1.addr(), ""), ("s2", s2.addr(), "")],
        "",
    );
    let (listen, t) = (rig.listen, &rig.tether);
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let alphabet = b"SRV=s12|~;,\"$ =\t%\\AZaz09+/!@\x80\xff";
    let mut cases: Vec<Vec<u8>> = vec![
        format!("SRV={}", "s".repeat(9000)).into_bytes(),
        format!("a={}; SRV=s2", "x".repeat(12_000)).into_bytes(),
        b"SRV=s2|\xff\xff\xff\xff\xff|AAAAA".to_vec(),
        b"SRV=\"s2".to_vec(),
        b"=".to_vec(),
        b";;;;".to_vec(),
        b"SRV=s2|AAAAA|AAAAA|AAAAA|AAAAA".to_vec(),
        b"SRV=s2|/////|/////".to_vec(),
    ];
    for _ in 0..200 {
        let len = (next() % 64) as usize;
        cases.push(
            (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect(),
        );
    }
    for (i, cookie) in cases.iter().enumerate() {
        let r = Request::get("/")
            .header("Cookie", cookie)
            .send(listen)
            .expect("answer");
        assert!(
            r.status < 500,
            "case {i} {:?}: {}",
            String::from_utf8_lossy(cookie),
            r.status
        );
    }
    let many = (0..100).fold(Request::get("/"), |r, i| {
        r.header("Cookie", format!("c{i}=v; SRV=s2"))
    });
    let r = many.send(listen).expect("100 cookie headers");
    assert_eq!((r.status, r.server()), (200, Some("s2")));
    let ok = Request::get("/")
        .header("Cookie", "SRV=s1")
        .send(listen)
        .expect("still alive");
    assert_eq!(ok.server(), Some("s1"));
    assert!(!t.stderr().contains("panicked"), "{}", t.stderr());
}

#[test]
fn one_keepalive_connection_is_decided_request_by_request() {
    let s1 = echo("s1");
    let s2 = echo("s2");
    let rig = Rig::start(
        INSERT,
        Vec::new(),
        &[("s1", s1.addr(), ""), ("s2", s2.addr(), "")],
        "",
    );
    let listen = rig.listen;
    let mut conn = Conn::open(listen).expect("conn");
    let seq = ["SRV=s2", "SRV=s1", "", "SRV=s2; x=1", "SRV=bogus"];
    let mut served = Vec::new();
    for c in seq {
        let mut req = Request::get("/");
        if !c.is_empty() {
            req = req.header("Cookie", c);
        }
        let r = conn.send(&req).expect("response");
        served.push((
            r.server().unwrap_or_default().to_string(),
            r.headers_all("set-cookie").len(),
            r.seen_cookies(),
        ));
    }
    let expected = [
        ("s2", 0, vec![]),
        ("s1", 0, vec![]),
        ("s1", 1, vec![]),
        ("s2", 0, vec!["x=1".to_string()]),
        ("s2", 1, vec![]),
    ];
    for (got, want) in served.iter().zip(expected) {
        assert_eq!((got.0.as_str(), got.1, got.2.clone()), want, "{served:?}");
    }
}

#[test]
fn full_queue_redispatches_and_queue_timeout_answers_503() {
    let s1 = echo("s1");
    let s2 = echo("s2");
    let rig = Rig::start(&format!("    redispatch: true\n    timeouts: {{ connect: 1s, server: 10s, queue: 500ms }}\n{INSERT}"), Vec::new(), &[("s1", s1.addr(), "maxconn: 1, maxqueue: 1"), ("s2", s2.addr(), "")], "");
    let (listen, t) = (rig.listen, &rig.tether);
    let busy = thread::spawn(move || {
        Request::get("/")
            .header("Cookie", "SRV=s1")
            .header("x-echo-delay-ms", "1500")
            .send(listen)
    });
    let api = &rig.admin;
    api.wait_server("be", "s1", "active_requests", 1);
    // Second client of s1 waits in s1's queue (one place) and times out.
    let queued = thread::spawn(move || Request::get("/").header("Cookie", "SRV=s1").send(listen));
    api.wait_server("be", "s1", "queued_requests", 1);
    // Third one finds the queue full: redispatched to s2 with a new cookie.
    let third = Request::get("/")
        .header("Cookie", "SRV=s1")
        .send(listen)
        .expect("third");
    assert_eq!(third.server(), Some("s2"));
    assert_eq!(third.headers_all("set-cookie"), ["SRV=s2; path=/"]);
    let queued = queued.join().expect("thread").expect("queued answer");
    assert_eq!(queued.status, 503, "queue timeout");
    assert_eq!(
        busy.join().expect("thread").expect("busy").server(),
        Some("s1")
    );
    let log = t.log_lines(3).join("\n");
    assert!(
        log.contains(" be/s1 ") && log.contains(" 503 ") && log.contains("sQ"),
        "{log}"
    );
    assert!(log.contains(" be/s2 ") && log.contains("--DI +0"), "{log}");
}

#[test]
fn server_timeout_answers_504() {
    let s1 = echo("s1");
    let rig = Rig::start(
        &format!("    timeouts: {{ connect: 1s, server: 300ms, queue: 1s }}\n{INSERT}"),
        Vec::new(),
        &[("s1", s1.addr(), "")],
        "",
    );
    let listen = rig.listen;
    let r = Request::get("/")
        .header("x-echo-delay-ms", "2000")
        .send(listen)
        .expect("answer");
    assert_eq!(r.status, 504);
    assert_eq!(r.text(), "<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n");
}

#[test]
fn access_log_to_a_file_in_json() {
    let s1 = echo("s1");
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("access.log");
    let rig = Rig::start(
        INSERT,
        Vec::new(),
        &[("s1", s1.addr(), "")],
        &format!(
            "access_log: {{ target: \"{}\", format: json }}",
            path.display()
        ),
    );
    let listen = rig.listen;
    Request::get("/a?b=1").send(listen).expect("r1");
    Request::get("/")
        .header("Cookie", "SRV=s1")
        .send(listen)
        .expect("r2");
    let deadline = Instant::now() + Duration::from_secs(5);
    let text = loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if text.lines().count() >= 2 || Instant::now() > deadline {
            break text;
        }
        thread::sleep(Duration::from_millis(10));
    };
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["frontend"], "fe");
    assert_eq!(lines[0]["backend"], "be");
    assert_eq!(lines[0]["server"], "s1");
    assert_eq!(lines[0]["status"], 200);
    assert_eq!(lines[0]["uri"], "/a?b=1");
    assert_eq!(lines[0]["termination"], "--NI");
    assert_eq!(lines[1]["termination"], "--VN");
    assert!(lines[1]["ta_ms"].as_i64().is_some_and(|ms| ms >= 0));
}

#[test]
fn admin_healthz() {
    let s1 = echo("s1");
    let rig = Rig::start(INSERT, Vec::new(), &[("s1", s1.addr(), "")], "");
    let admin = rig.admin.addr;
    let r = Request::get("/healthz").send(admin).expect("healthz");
    assert_eq!((r.status, r.text().trim()), (200, r#"{"status":"ok"}"#));
    let missing = Request::get("/nope").send(admin).expect("404");
    assert_eq!(missing.status, 404);
}

#[test]
fn connection_close_and_http10_are_honoured() {
    let rig = Rig::echo(INSERT, &["s1"]);
    let listen = rig.listen;
    let mut old = Conn::open(listen).expect("conn");
    let r = old
        .send(&Request::get("/").http10())
        .expect("HTTP/1.0 answer");
    assert_eq!(r.status, 200);
    assert!(
        old.wait_closed(Duration::from_secs(5)),
        "HTTP/1.0 without keep-alive is closed"
    );
    let mut close = Conn::open(listen).expect("conn");
    let r = close
        .send(&Request::get("/").header("Connection", "close"))
        .expect("answer");
    assert_eq!(r.status, 200);
    assert!(
        close.wait_closed(Duration::from_secs(5)),
        "Connection: close is honoured"
    );
    let mut keep = Conn::open(listen).expect("conn");
    keep.send(&Request::get("/")).expect("first");
    assert_eq!(
        keep.send(&Request::get("/"))
            .expect("second on the same connection")
            .status,
        200
    );
}
