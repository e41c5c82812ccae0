//! Clients that try to make tether work for them: aborting requests to multiply them on
//! the backends, trickling request heads to hold connections (slowloris), and heads too
//! large for the edge to pass on. Each gets a defined, bounded outcome from the real
//! binary, and the backends see nothing they should not.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use common::http::{Conn, Request};
use common::ports::free_addr;
use common::tether::{config_with_frontend, echo, Tether};
use tether_echo::EchoHandle;

/// tether in front of two echo servers, with `frontend_extra` and `backend_extra` YAML.
fn start(frontend_extra: &str, backend_extra: &str) -> (Tether, Vec<EchoHandle>) {
    let servers = vec![echo("s1"), echo("s2")];
    let listen = free_addr();
    let list: Vec<(&str, SocketAddr, &str)> =
        vec![("s1", servers[0].addr(), ""), ("s2", servers[1].addr(), "")];
    let yaml = config_with_frontend(listen, frontend_extra, backend_extra, &list, "");
    (Tether::start(&yaml, listen, None), servers)
}

fn received(servers: &[EchoHandle]) -> u64 {
    servers.iter().map(EchoHandle::requests).sum()
}

/// Reads everything until the peer closes (or `within` passes): the bytes, and how long
/// it took.
fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    stream.set_read_timeout(Some(within)).expect("read timeout");
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return (out, started.elapsed()),
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

fn assert_no_panic(t: &Tether) {
    let stderr = t.stderr();
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// 50 clients send a slow request and hang up after 0.2 s. Before the fix, every client
/// failure was retried (up to 16 times) and the backends received 800 requests; each must
/// reach them once.
#[test]
fn aborted_requests_reach_the_backends_once() {
    let (t, servers) = start("", "    retries: 3\n    redispatch: true");
    let clients: Vec<_> = (0..50)
        .map(|i| {
            let listen = t.listen;
            thread::spawn(move || {
                let mut s = TcpStream::connect(listen).expect("connect");
                let req =
                    format!("GET /slow/{i} HTTP/1.1\r\nHost: t\r\nx-echo-delay-ms: 1000\r\n\r\n");
                s.write_all(req.as_bytes()).expect("write");
                thread::sleep(Duration::from_millis(200));
                // Dropped: the client is gone before the answer.
            })
        })
        .collect();
    for c in clients {
        c.join().expect("client");
    }
    // One access log line per request, written when tether gives up on it: by then any
    // retry would have been sent.
    let lines = t.log_lines(50);
    assert_eq!(lines.len(), 50, "{lines:#?}");
    for line in &lines {
        assert!(
            line.contains(" 0 \"GET /slow/"),
            "no retry may be logged: {line}"
        );
    }
    assert_eq!(
        received(&servers),
        50,
        "each request reached a backend once"
    );
    assert_no_panic(&t);
}

/// Slowloris: heads that never complete are answered 408 and closed at
/// `timeout_http_request`, whether the client goes quiet or keeps trickling bytes.
#[test]
fn half_sent_heads_get_408_at_the_bound() {
    let (t, servers) = start("    timeout_http_request: 1s\n    timeout_client: 30s", "");
    let quiet: Vec<TcpStream> = (0..50)
        .map(|_| {
            let mut s = TcpStream::connect(t.listen).expect("connect");
            s.write_all(b"GET /half HTTP/1.1\r\nHost: t\r\nX-A: ")
                .expect("write");
            s
        })
        .collect();
    let trickler = thread::spawn({
        let listen = t.listen;
        move || {
            let mut s = TcpStream::connect(listen).expect("connect");
            let head =
                b"GET /trickle HTTP/1.1\r\nHost: t\r\nX-Padding: aaaaaaaaaaaaaaaaaaaa\r\n\r\n";
            let started = Instant::now();
            for byte in head.iter() {
                if s.write_all(&[*byte]).is_err() {
                    break;
                }
                thread::sleep(Duration::from_millis(100));
            }
            let (answer, _) = read_until_closed(&mut s, Duration::from_secs(10));
            (answer, started.elapsed())
        }
    });
    for mut s in quiet {
        let (answer, took) = read_until_closed(&mut s, Duration::from_secs(10));
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with("HTTP/1.1 408 Request Time-out\r\n"),
            "{answer}"
        );
        assert!(answer.contains("\r\nconnection: close\r\n"), "{answer}");
        // The bound is 1 s; Pingora alone held these connections for 60 s.
        assert!(took < Duration::from_secs(5), "closed after {took:?}");
    }
    let (answer, took) = trickler.join().expect("trickler");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    // 70 bytes at 10 per second would take 7 s: the bound is on the whole head.
    assert!(took < Duration::from_secs(5), "closed after {took:?}");

    assert_eq!(received(&servers), 0, "no backend saw a half request");
    let lines = t.log_lines(51);
    assert_eq!(lines.len(), 51, "{lines:#?}");
    assert!(
        lines
            .iter()
            .all(|l| l.contains(" 408 0 cR-- 0 \"<BADREQ>\"")),
        "{lines:#?}"
    );
    assert_no_panic(&t);
}

/// A connection that sends nothing, or nothing more after a request, is an idle
/// keep-alive: closed without an answer after `timeout_client`, not answered 408.
#[test]
fn idle_connections_close_silently_after_timeout_client() {
    let (t, _servers) = start("    timeout_http_request: 10s\n    timeout_client: 1s", "");
    let mut silent = TcpStream::connect(t.listen).expect("connect");
    let (bytes, took) = read_until_closed(&mut silent, Duration::from_secs(10));
    assert!(bytes.is_empty(), "{}", String::from_utf8_lossy(&bytes));
    assert!(took < Duration::from_secs(5), "closed after {took:?}");

    let mut conn = Conn::open(t.listen).expect("connect");
    let r = conn.send(&Request::get("/once")).expect("response");
    assert_eq!(r.status, 200);
    assert!(
        conn.wait_closed(Duration::from_secs(5)),
        "idle keep-alive closed"
    );
    assert_no_panic(&t);
}

/// A head with `headers` header lines of `value_len` bytes each.
fn head_with(headers: usize, value_len: usize) -> Vec<u8> {
    let mut r = b"GET /big HTTP/1.1\r\nConnection: close\r\n".to_vec();
    for i in 1..headers {
        r.extend_from_slice(format!("X-H{i}: {}\r\n", "v".repeat(value_len)).as_bytes());
    }
    r.extend_from_slice(b"\r\n");
    r
}

/// Sends `head` on a new connection; the status and whether the connection closed.
fn status_of(listen: SocketAddr, head: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(listen).expect("connect");
    s.set_write_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    // A refused head may be cut short by tether's answer; the answer is what counts.
    // (No half-close: a client that closes its side has gone away.)
    let _ = s.write_all(head);
    let (answer, _) = read_until_closed(&mut s, Duration::from_secs(10));
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, answer)
}

/// Too many header lines, or too many bytes, get tether's own 431 and never reach a
/// backend; the defaults are HAProxy's (101 headers, 16 KiB); the limits are inclusive.
#[test]
fn oversized_heads_get_431_and_never_reach_a_backend() {
    let (t, servers) = start("", "");
    // Host plus 100 = 101 headers: accepted, as HAProxy accepts them.
    assert_eq!(status_of(t.listen, &head_with(101, 1)).0, 200);
    assert_eq!(received(&servers), 1);
    let (status, answer) = status_of(t.listen, &head_with(102, 1));
    assert_eq!(status, 431, "{answer}");
    assert!(answer.contains("\r\nconnection: close\r\n"), "{answer}");
    assert_eq!(status_of(t.listen, &head_with(200, 1)).0, 431);
    // One 64 KiB header, and 16 KiB spread over a few.
    assert_eq!(status_of(t.listen, &head_with(2, 64 * 1024)).0, 431);
    assert_eq!(status_of(t.listen, &head_with(5, 4096)).0, 431);
    assert_eq!(status_of(t.listen, &head_with(3, 4096)).0, 200);
    assert_eq!(
        received(&servers),
        2,
        "refused heads never reached a backend"
    );
    let refused = t
        .log_lines(6)
        .iter()
        .filter(|l| l.contains(" 431 0 PR-- 0 \"<BADREQ>\""))
        .count();
    assert_eq!(refused, 4);
    assert_no_panic(&t);
}

#[test]
fn head_limits_are_configurable() {
    let (t, servers) = start("    max_headers: 10\n    max_header_bytes: 1024", "");
    assert_eq!(status_of(t.listen, &head_with(10, 1)).0, 200);
    assert_eq!(status_of(t.listen, &head_with(11, 1)).0, 431);
    // 1024 bytes exactly is accepted, 1025 is not.
    let exact = |total: usize| {
        let mut h = b"GET /b HTTP/1.1\r\nConnection: close\r\nX-Pad: ".to_vec();
        let fixed = h.len() + 4;
        h.extend(std::iter::repeat_n(b'p', total - fixed));
        h.extend_from_slice(b"\r\n\r\n");
        assert_eq!(h.len(), total);
        h
    };
    assert_eq!(status_of(t.listen, &exact(1024)).0, 200);
    assert_eq!(status_of(t.listen, &exact(1025)).0, 431);
    assert_eq!(received(&servers), 2);
    assert_no_panic(&t);
}

/// Bytes that are not HTTP (a TLS handshake sent to a plain port, binary noise) are
/// answered 400 at once: not held until `timeout_http_request`, not passed on.
#[test]
fn bytes_that_are_not_http_get_400_at_once() {
    let (t, servers) = start("    timeout_http_request: 30s", "");
    let client_hello = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\xaa\xbb";
    let started = std::time::Instant::now();
    let (status, answer) = status_of(t.listen, client_hello);
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("\r\nconnection: close\r\n"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "answered after {:?}",
        started.elapsed()
    );
    assert_eq!(received(&servers), 0);
    let lines = t.log_lines(1);
    assert!(lines[0].contains(" 400 0 PR-- 0 \"<BADREQ>\""), "{lines:?}");
    assert_no_panic(&t);
}

/// A server that answers too slowly gets the request once: tether answers 504 rather than
/// sending the same slow request to every other server (HAProxy does not retry on a
/// response timeout either).
#[test]
fn a_slow_server_is_not_multiplied() {
    let (t, servers) = start(
        "",
        "    retries: 3\n    redispatch: true\n    timeouts: { connect: 1s, server: 300ms, queue: 1s }",
    );
    let r = Request::get("/slow")
        .header("x-echo-delay-ms", "1500")
        .send(t.listen)
        .expect("answer");
    assert_eq!(r.status, 504);
    let lines = t.log_lines(1);
    assert!(
        lines[0].contains(" 504 ") && lines[0].contains(" sH"),
        "{lines:?}"
    );
    assert_eq!(received(&servers), 1, "the request reached one server once");
    assert_no_panic(&t);
}
