//! Self-test of the test harness: the echo server over real sockets, the raw
//! client, port helpers, and one end-to-end HAProxy run that shows the
//! pattern the differential tests use.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use common::haproxy::{self, Haproxy};
use common::http::{Conn, Request};
use common::ports::{free_addr, free_port, wait_for_port};
use tether_echo::{self as echo, Behaviour, EchoHandle, PHP_SESSION_COOKIE, SESSION_ID_LEN};

const SHORT: Duration = Duration::from_secs(2);

fn echo_server(name: &str) -> EchoHandle {
    echo::spawn(name, "127.0.0.1:0".parse().expect("addr")).expect("echo server starts")
}

fn echo_with(name: &str, behaviour: Behaviour) -> EchoHandle {
    echo::spawn_with(name, "127.0.0.1:0".parse().expect("addr"), behaviour)
        .expect("echo server starts")
}

#[test]
fn echo_reports_the_request_as_json() {
    let server = echo_server("s1");
    let response = Request::post("/a?b=1")
        .header("X-Test", "v \"q\"")
        .body("hello")
        .send(server.addr())
        .expect("response");
    assert_eq!(response.status, 200);
    assert_eq!(response.server(), Some("s1"));
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("x-seen-cookie-count"), Some("0"));
    assert!(response.seen_cookies().is_empty());
    let json = r#"{"server":"s1","method":"POST","uri":"/a?b=1","headers":[["host","tether.test"],["X-Test","v \"q\""],["content-length","5"]],"body_bytes":5}"#;
    assert_eq!(response.text(), format!("{json}\n"));
    assert_eq!(
        response.header("content-length"),
        Some((json.len() + 1).to_string().as_str())
    );
    assert_eq!(server.requests(), 1);
}

#[test]
fn directives_script_status_headers_and_body() {
    let server = echo_server("s2");
    let response = Request::get("/")
        .header("x-echo-status", "404")
        .header("x-echo-header", "Set-Cookie: JSESSIONID=abc; Path=/")
        .header("x-echo-header", "Cache-Control: max-age=60")
        .header("x-echo-header", "Set-Cookie: b=2")
        .send(server.addr())
        .expect("response");
    assert_eq!(
        (response.status, response.reason.as_str()),
        (404, "Not Found")
    );
    assert_eq!(
        response.headers_all("set-cookie"),
        ["JSESSIONID=abc; Path=/", "b=2"]
    );
    assert_eq!(response.header("cache-control"), Some("max-age=60"));

    let response = Request::get("/big")
        .header("x-echo-body-bytes", "100000")
        .send(server.addr())
        .expect("response");
    assert_eq!(response.body.len(), 100_000);
    assert!(response.body.iter().all(|&b| b == b'x'));
    assert_eq!(response.header("content-length"), Some("100000"));

    let started = Instant::now();
    let response = Request::get("/")
        .header("x-echo-delay-ms", "250")
        .send(server.addr())
        .expect("response");
    assert_eq!(response.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(250));

    let response = Request::get("/")
        .header("x-echo-stauts", "500")
        .send(server.addr())
        .expect("response");
    assert_eq!(response.status, 400);
    assert_eq!(response.text(), "unknown x-echo- directive\n");
}

#[test]
fn close_and_reset_directives_fail_the_exchange() {
    let server = echo_server("s1");
    let error = Request::get("/")
        .header("x-echo-close", "1")
        .send(server.addr())
        .expect_err("empty response");
    assert_eq!(error.kind(), ErrorKind::UnexpectedEof, "{error}");

    let error = Request::get("/")
        .header("x-echo-reset", "1")
        .send(server.addr())
        .expect_err("reset");
    assert_eq!(error.kind(), ErrorKind::ConnectionReset, "{error}");
    assert_eq!(server.requests(), 2);
}

#[test]
fn several_cookie_headers_are_seen_byte_exact_in_order() {
    let server = echo_server("s1");
    let response = Request::get("/")
        .header("Cookie", "SRV=s1; a=1")
        .line("cookie:b=2 ;  c=\"x y\"")
        .header("COOKIE", b"bin=\xff\xfe")
        .send(server.addr())
        .expect("response");
    assert_eq!(response.header("x-seen-cookie-count"), Some("3"));
    assert_eq!(
        response.seen_cookies(),
        ["SRV=s1; a=1", "b=2 ;  c=\"x y\"", "bin=\u{fffd}\u{fffd}"]
    );
    let head = &response.head;
    let exact = b"x-seen-cookie: SRV=s1; a=1\r\nx-seen-cookie: b=2 ;  c=\"x y\"\r\nx-seen-cookie: bin=\xff\xfe\r\n";
    assert!(
        head.windows(exact.len()).any(|w| w == exact),
        "{}",
        String::from_utf8_lossy(head)
    );
    assert!(response.text().contains(r#"["COOKIE","bin=\u00ff\u00fe"]"#));
}

#[test]
fn session_cookie_is_set_only_without_one() {
    let server = echo_with(
        "php1",
        Behaviour::new().with_session_cookie(PHP_SESSION_COOKIE),
    );
    let mut conn = Conn::open(server.addr()).expect("connect");
    let first = conn.send(&Request::get("/")).expect("response");
    let cookie = first.header("set-cookie").expect("session cookie");
    let id = cookie
        .strip_prefix("PHPSESSID=")
        .and_then(|rest| rest.strip_suffix("; path=/"))
        .expect("PHPSESSID=<id>; path=/");
    assert_eq!(id.len(), SESSION_ID_LEN);
    assert!(id
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'v').contains(&b)));

    let again = conn
        .send(&Request::get("/").header("Cookie", format!("x=1; PHPSESSID={id}")))
        .expect("response");
    assert_eq!(again.header("set-cookie"), None);

    let other = conn.send(&Request::get("/")).expect("response");
    assert_ne!(other.header("set-cookie"), Some(cookie));
}

#[test]
fn extra_headers_are_on_every_response() {
    let server = echo_with(
        "java1",
        Behaviour::new().with_header("Set-Cookie", "JSESSIONID=j1; Path=/"),
    );
    for _ in 0..2 {
        let response = Request::get("/").send(server.addr()).expect("response");
        assert_eq!(
            response.headers_all("set-cookie"),
            ["JSESSIONID=j1; Path=/"]
        );
    }
}

#[test]
fn health_status_flips_at_runtime() {
    let server = echo_server("s1");
    let health = || {
        Request::get("/health")
            .send(server.addr())
            .expect("response")
            .status
    };
    assert_eq!(health(), 200);
    server.set_health(500);
    assert_eq!(health(), 500);
    server.set_health(404);
    assert_eq!(health(), 404);
    assert_eq!(
        Request::get("/")
            .send(server.addr())
            .expect("response")
            .status,
        200
    );
    server.set_health(200);
    assert_eq!(health(), 200);
    assert_eq!((server.health_checks(), server.requests()), (4, 1));
}

#[test]
fn stop_closes_listener_and_connections() {
    let server = echo_server("s1");
    let addr = server.addr();
    let mut conn = Conn::open(addr).expect("connect");
    assert_eq!(conn.send(&Request::get("/")).expect("response").status, 200);
    server.stop();
    assert!(conn.wait_closed(SHORT), "open connection closed by stop()");
    let refused = TcpStream::connect_timeout(&addr, SHORT).expect_err("listener closed");
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);

    // The address can be served again at once (a "restarted" server).
    let again = echo::spawn("s1b", addr).expect("rebind");
    let response = Request::get("/").send(addr).expect("response");
    assert_eq!(response.server(), Some("s1b"));
    drop(again);
}

#[test]
fn keep_alive_and_pipelining() {
    let server = echo_server("s1");
    let mut conn = Conn::open(server.addr()).expect("connect");
    let mut both = Request::get("/one").to_bytes();
    both.extend_from_slice(&Request::head("/two").to_bytes());
    both.extend_from_slice(
        &Request::get("/three")
            .header("x-echo-body-bytes", "3")
            .to_bytes(),
    );
    conn.write_raw(&both).expect("write");
    let one = conn.read_response(false).expect("first");
    let two = conn.read_response(true).expect("second");
    let three = conn.read_response(false).expect("third");
    assert!(one.text().contains(r#""uri":"/one""#));
    assert!(two.body.is_empty());
    assert!(two.header("content-length").is_some_and(|len| len != "0"));
    assert_eq!(three.body, b"xxx");
    assert_eq!(server.requests(), 3);
    assert!(!conn.wait_closed(Duration::from_millis(50)), "still open");
}

#[test]
fn connection_close_and_http10_semantics() {
    let server = echo_server("s1");
    let mut conn = Conn::open(server.addr()).expect("connect");
    let response = conn
        .send(&Request::get("/").header("Connection", "close"))
        .expect("response");
    assert_eq!(response.header("connection"), Some("close"));
    assert!(conn.wait_closed(SHORT));

    let mut conn = Conn::open(server.addr()).expect("connect");
    let response = conn.send(&Request::get("/").http10()).expect("response");
    assert_eq!(response.header("connection"), None);
    assert!(conn.wait_closed(SHORT));

    let mut conn = Conn::open(server.addr()).expect("connect");
    let keep = Request::get("/")
        .http10()
        .header("Connection", "keep-alive");
    assert_eq!(
        conn.send(&keep).expect("response").header("connection"),
        Some("keep-alive")
    );
    assert_eq!(conn.send(&keep).expect("second response").status, 200);
}

#[test]
fn request_bodies_are_read_and_counted() {
    let server = echo_server("s1");
    let mut conn = Conn::open(server.addr()).expect("connect");
    let chunked = conn
        .send(&Request::post("/").chunked(&["hello", " ", "world!"]))
        .expect("response");
    assert!(
        chunked.text().ends_with("\"body_bytes\":12}\n"),
        "{}",
        chunked.text()
    );
    let big = vec![b'z'; 300_000];
    let sized = conn
        .send(
            &Request::post("/")
                .header("Expect", "100-continue")
                .body(big),
        )
        .expect("response");
    assert!(
        sized.text().ends_with("\"body_bytes\":300000}\n"),
        "{}",
        sized.text()
    );
    assert_eq!(server.requests(), 2);
}

#[test]
fn oversized_head_and_garbage_are_rejected_without_harm() {
    let server = echo_server("s1");
    let response = Request::get("/")
        .header("x-big", "a".repeat(70_000))
        .send(server.addr())
        .expect("response");
    assert_eq!(response.status, 431);
    assert_eq!(response.server(), Some("s1"));

    let mut conn = Conn::open(server.addr()).expect("connect");
    let response = conn
        .send(&Request::raw(&b"\x16\x03\x01garbage\r\n\r\n"[..]))
        .expect("response");
    assert_eq!(
        (response.status, response.header("connection")),
        (400, Some("close"))
    );
    assert!(conn.wait_closed(SHORT));

    let response =
        Request::raw(&b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"[..])
            .send(server.addr())
            .expect("response");
    assert_eq!(response.status, 400);
    assert_eq!(
        Request::get("/")
            .send(server.addr())
            .expect("still serving")
            .status,
        200
    );
}

/// A server that answers one connection with `reply`, then closes.
fn scripted_server(reply: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let _ = stream.write_all(reply);
        }
    });
    addr
}

#[test]
fn client_reads_chunked_interim_and_close_delimited_responses() {
    let addr = scripted_server(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A:  1 \r\n\r\n\
5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nx-trailer: t\r\n\r\n",
    );
    let response = Request::get("/").send(addr).expect("chunked");
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"hello, world");
    assert_eq!(response.header("x-a"), Some("1"));

    let addr = scripted_server(b"HTTP/1.0 200 OK\r\nServer: old\r\n\r\nuntil the end");
    let response = Request::get("/").send(addr).expect("close-delimited");
    assert_eq!(
        (response.version.as_str(), response.body.as_slice()),
        ("HTTP/1.0", &b"until the end"[..])
    );

    let addr = scripted_server(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
    let response = Request::head("/").send(addr).expect("HEAD");
    assert_eq!((response.status, response.body.len()), (200, 0));

    let addr = scripted_server(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
    let error = Request::get("/").send(addr).expect_err("truncated");
    assert_eq!(error.kind(), ErrorKind::UnexpectedEof);
}

#[test]
fn client_times_out_instead_of_hanging() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let started = Instant::now();
    let error = Request::get("/")
        .timeout(Duration::from_millis(200))
        .send(listener.local_addr().expect("addr"))
        .expect_err("no answer");
    assert_eq!(error.kind(), ErrorKind::TimedOut);
    assert!(started.elapsed() < SHORT);
}

#[test]
fn ports_are_unique_and_readiness_is_polled() {
    let handles: Vec<_> = (0..4)
        .map(|_| thread::spawn(|| (0..25).map(|_| free_port()).collect::<Vec<_>>()))
        .collect();
    let mut ports: Vec<u16> = handles
        .into_iter()
        .flat_map(|handle| handle.join().expect("thread"))
        .collect();
    let count = ports.len();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), count, "no port handed out twice");
    assert!(ports.iter().all(|&port| port >= 20000));

    let addr = free_addr();
    let started = Instant::now();
    assert!(!wait_for_port(addr, Duration::from_millis(100)));
    assert!(started.elapsed() < SHORT);
    let _listener = TcpListener::bind(addr).expect("bind free port");
    assert!(wait_for_port(addr, SHORT));
}

#[test]
fn haproxy_config_helpers() {
    let config = "global\n    maxconn 100\nfrontend fe\n    bind 127.0.0.1:20001,:20002\n  bind [::1]:20003\n    bind unix@/tmp/x.sock\n    bind ipv4@*:20004-20006 name x\n";
    assert_eq!(
        haproxy::bind_addresses(config),
        [
            "127.0.0.1:20001".parse::<SocketAddr>().expect("addr"),
            "127.0.0.1:20002".parse().expect("addr"),
            "[::1]:20003".parse().expect("addr"),
            "127.0.0.1:20004".parse().expect("addr"),
        ]
    );
    let socket = std::path::Path::new("/tmp/d/admin.sock");
    assert_eq!(
        haproxy::with_stats_socket(config, socket)
            .lines()
            .take(3)
            .collect::<Vec<_>>(),
        [
            "global",
            "    stats socket /tmp/d/admin.sock level admin",
            "    maxconn 100"
        ]
    );
    assert_eq!(
        haproxy::with_stats_socket("defaults\n    mode http\n", socket),
        "global\n    stats socket /tmp/d/admin.sock level admin\ndefaults\n    mode http\n"
    );
}

/// The differential-test pattern: echo servers as the backends, a real
/// HAProxy in front, raw requests in, exact answers checked. The tether
/// tests run the same requests against tether with the equivalent YAML.
#[test]
fn haproxy_cookie_insert_end_to_end() {
    if !Haproxy::available() {
        return;
    }
    let s1 = echo_server("s1");
    let s2 = echo_server("s2");
    let front = free_addr();
    let haproxy = Haproxy::start(&format!(
        "defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind {front}
    default_backend be
backend be
    balance roundrobin
    cookie SRV insert indirect nocache
    server s1 {s1} cookie s1
    server s2 {s2} cookie s2
",
        s1 = s1.addr(),
        s2 = s2.addr(),
    ));

    let first = Request::get("/").send(front).expect("first response");
    assert_eq!(first.status, 200, "{}", haproxy.logs());
    assert_eq!(first.server(), Some("s1"));
    assert_eq!(first.headers_all("set-cookie"), ["SRV=s1; path=/"]);
    // No caching headers from the server: nocache adds nothing (docs/haproxy-compatibility.md §7).
    assert_eq!(first.header("cache-control"), None);

    let second = Request::get("/")
        .header("Cookie", "SRV=s2; a=1")
        .send(front)
        .expect("second response");
    assert_eq!(second.server(), Some("s2"));
    assert_eq!(second.seen_cookies(), ["a=1"], "indirect removes SRV");
    assert!(second.headers_all("set-cookie").is_empty());
    assert_eq!((s1.requests(), s2.requests()), (1, 1));

    // Runtime API: a persistent request to a server in maintenance is
    // load-balanced elsewhere and re-cookied (docs/haproxy-compatibility.md §10).
    assert_eq!(haproxy.cli("set server be/s2 state maint"), "\n");
    assert!(haproxy.cli("show servers state be").contains(" s2 "));
    let third = Request::get("/")
        .header("Cookie", "SRV=s2")
        .send(front)
        .expect("third response");
    assert_eq!(third.server(), Some("s1"));
    assert_eq!(third.headers_all("set-cookie"), ["SRV=s1; path=/"]);
}
