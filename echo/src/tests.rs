//! Unit tests of the pure parts: head analysis, JSON escaping, response
//! assembly. End-to-end behaviour over sockets is in `tests/harness_selftest.rs`.

use super::head::{self, Context, Directives, Framing, Head, HeadError, Scratch};
use super::response;
use super::{Behaviour, PHP_SESSION_COOKIE, SESSION_ID_LEN};

const CTX: Context<'static> = Context {
    server_name: "s1",
    session_cookie: None,
    fast: false,
};

fn parse(raw: &[u8]) -> (Result<Option<Head>, HeadError>, Scratch) {
    parse_with(raw, &CTX)
}

fn parse_with(raw: &[u8], ctx: &Context<'_>) -> (Result<Option<Head>, HeadError>, Scratch) {
    let mut scratch = Scratch::default();
    let result = head::parse(raw, ctx, &mut scratch);
    (result, scratch)
}

fn head_of(raw: &[u8]) -> (Head, Scratch) {
    match parse(raw) {
        (Ok(Some(head)), scratch) => (head, scratch),
        (other, _) => panic!("expected a complete head, got {other:?}"),
    }
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("test output is UTF-8")
}

#[test]
fn plain_get_defaults() {
    let raw = b"GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /next";
    let (head, scratch) = head_of(raw);
    assert_eq!(
        head,
        Head {
            len: raw.len() - 9,
            is_head_method: false,
            keep_alive: true,
            http10: false,
            framing: Framing::None,
            expect_continue: false,
            health_check: false,
            carries_session_cookie: false,
            cookie_count: 0,
            directives: Directives::default(),
            json: true,
        }
    );
    assert_eq!(
        text(&scratch.json),
        r#"{"server":"s1","method":"GET","uri":"/a?b=1","headers":[["Host","x"]],"body_bytes":"#
    );
}

#[test]
fn incomplete_head_needs_more() {
    assert_eq!(parse(b"GET / HTTP/1.1\r\nHost: x\r\n").0, Ok(None));
    assert_eq!(parse(b"GE").0, Ok(None));
}

#[test]
fn keep_alive_rules() {
    let cases: &[(&[u8], bool)] = &[
        (b"GET / HTTP/1.1\r\n\r\n", true),
        (b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false),
        (
            b"GET / HTTP/1.1\r\nConnection: Keep-Alive, CLOSE\r\n\r\n",
            false,
        ),
        (b"GET / HTTP/1.0\r\n\r\n", false),
        (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true),
        (
            b"GET / HTTP/1.0\r\nconnection: x, keep-alive \r\n\r\n",
            true,
        ),
        (
            b"GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n",
            false,
        ),
    ];
    for (raw, keep_alive) in cases {
        assert_eq!(head_of(raw).0.keep_alive, *keep_alive, "{}", text(raw));
    }
}

#[test]
fn body_framing() {
    let cases: &[(&[u8], Framing)] = &[
        (
            b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
            Framing::Length(5),
        ),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
            Framing::None,
        ),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 7\r\ncontent-length: 7\r\n\r\n",
            Framing::Length(7),
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            Framing::Chunked,
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n",
            Framing::Chunked,
        ),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            Framing::Chunked,
        ),
    ];
    for (raw, framing) in cases {
        assert_eq!(head_of(raw).0.framing, *framing, "{}", text(raw));
    }
    let malformed: &[&[u8]] = &[
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
    ];
    for raw in malformed {
        assert_eq!(parse(raw).0, Err(HeadError::Malformed), "{}", text(raw));
    }
}

#[test]
fn garbage_is_malformed() {
    let cases: &[&[u8]] = &[
        b"\x00\x01\x02\r\n\r\n",
        b"GET / HTTP/2.0\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nx: a\rb\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    ];
    for raw in cases {
        assert_eq!(parse(raw).0, Err(HeadError::Malformed), "{:?}", raw);
    }
}

#[test]
fn head_size_limit_is_64_kib() {
    let mut fits = b"GET / HTTP/1.1\r\nx: ".to_vec();
    fits.resize(head::MAX_HEAD_BYTES - 4, b'a');
    fits.extend_from_slice(b"\r\n\r\n");
    assert_eq!(fits.len(), head::MAX_HEAD_BYTES);
    assert_eq!(head_of(&fits).0.len, head::MAX_HEAD_BYTES);

    let mut too_big = b"GET / HTTP/1.1\r\nx: ".to_vec();
    too_big.resize(head::MAX_HEAD_BYTES - 3, b'a');
    too_big.extend_from_slice(b"\r\n\r\n");
    assert_eq!(parse(&too_big).0, Err(HeadError::TooLarge));

    let mut partial = b"GET / HTTP/1.1\r\nx: ".to_vec();
    partial.resize(head::MAX_HEAD_BYTES + 1, b'a');
    assert_eq!(parse(&partial).0, Err(HeadError::TooLarge));
}

#[test]
fn many_headers_fall_back_to_the_heap() {
    let mut raw = b"GET / HTTP/1.1\r\n".to_vec();
    for index in 0..500 {
        raw.extend_from_slice(format!("cookie: c{index}=v\r\n").as_bytes());
    }
    raw.extend_from_slice(b"\r\n");
    let (head, scratch) = head_of(&raw);
    assert_eq!(head.cookie_count, 500);
    assert!(text(&scratch.seen_cookies).ends_with("x-seen-cookie: c499=v\r\n"));
}

#[test]
fn cookies_are_echoed_byte_exact_in_order() {
    let raw = b"GET / HTTP/1.1\r\nCookie: a=1;b=2 ;  c=\"x y\"\r\nx: y\r\ncookie:\xff=\xfe\r\nCOOKIE: \r\n\r\n";
    let (head, scratch) = head_of(raw);
    assert_eq!(head.cookie_count, 3);
    assert_eq!(
        scratch.seen_cookies,
        b"x-seen-cookie: a=1;b=2 ;  c=\"x y\"\r\nx-seen-cookie: \xff=\xfe\r\nx-seen-cookie: \r\n"
    );
}

#[test]
fn session_cookie_detection() {
    let ctx = Context {
        session_cookie: Some(PHP_SESSION_COOKIE),
        ..CTX
    };
    let cases: &[(&[u8], bool)] = &[
        (b"GET / HTTP/1.1\r\n\r\n", false),
        (b"GET / HTTP/1.1\r\nCookie: a=1\r\n\r\n", false),
        (
            b"GET / HTTP/1.1\r\nCookie: a=1; PHPSESSID=abc\r\n\r\n",
            true,
        ),
        (
            b"GET / HTTP/1.1\r\nCookie: a=1\r\nCookie: PHPSESSID=\r\n\r\n",
            true,
        ),
        (b"GET / HTTP/1.1\r\nCookie: phpsessid=abc\r\n\r\n", false),
        (b"GET / HTTP/1.1\r\nCookie: XPHPSESSID=abc\r\n\r\n", false),
    ];
    for (raw, carries) in cases {
        match parse_with(raw, &ctx).0 {
            Ok(Some(head)) => assert_eq!(head.carries_session_cookie, *carries, "{}", text(raw)),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn directives_are_parsed() {
    let raw = b"GET / HTTP/1.1\r\nX-Echo-Status: 404\r\nx-echo-header: Set-Cookie:  JSESSIONID=abc; Path=/ \r\n\
x-echo-delay-ms: 250\r\nx-echo-body-bytes: 10\r\nx-echo-close: 0\r\nx-echo-reset: 0\r\nx-echo-header: ETag: \"v1\"\r\n\r\n";
    let (head, scratch) = head_of(raw);
    assert_eq!(
        head.directives,
        Directives {
            status: Some(404),
            delay_ms: 250,
            body_bytes: Some(10),
            close: false,
            reset: false,
        }
    );
    assert!(!head.json, "body-bytes replaces the JSON");
    assert!(scratch.json.is_empty());
    assert_eq!(
        text(&scratch.echo_headers),
        "Set-Cookie: JSESSIONID=abc; Path=/\r\nETag: \"v1\"\r\n"
    );
    let (head, _) = head_of(b"GET / HTTP/1.1\r\nx-echo-close: 1\r\nx-echo-reset: 1\r\n\r\n");
    assert!(head.directives.close && head.directives.reset);
}

#[test]
fn bad_directives_are_rejected() {
    let cases: &[(&[u8], &str)] = &[
        (b"x-echo-status: 99", "x-echo-status must be 200..=599"),
        (b"x-echo-status: 600", "x-echo-status must be 200..=599"),
        (b"x-echo-status: abc", "x-echo-status must be 200..=599"),
        (
            b"x-echo-header: novalue",
            "x-echo-header must be `Name: value` with a token name",
        ),
        (
            b"x-echo-header: : v",
            "x-echo-header must be `Name: value` with a token name",
        ),
        (
            b"x-echo-header: a b: v",
            "x-echo-header must be `Name: value` with a token name",
        ),
        (
            b"x-echo-delay-ms: 3600001",
            "x-echo-delay-ms must be 0..=3600000",
        ),
        (
            b"x-echo-body-bytes: 1k",
            "x-echo-body-bytes must be a decimal byte count",
        ),
        (b"x-echo-close: yes", "x-echo-close must be 0 or 1"),
        (b"x-echo-reset: 2", "x-echo-reset must be 0 or 1"),
        (b"x-echo-stauts: 404", "unknown x-echo- directive"),
    ];
    for (field, message) in cases {
        let mut raw = b"GET / HTTP/1.1\r\n".to_vec();
        raw.extend_from_slice(field);
        raw.extend_from_slice(b"\r\n\r\n");
        assert_eq!(
            parse(&raw).0,
            Err(HeadError::BadDirective(message)),
            "{}",
            text(field)
        );
    }
}

#[test]
fn health_check_detection() {
    let cases: &[(&[u8], bool)] = &[
        (b"GET /health HTTP/1.1\r\n\r\n", true),
        (b"HEAD /health?x=1 HTTP/1.0\r\n\r\n", true),
        (b"POST /health HTTP/1.1\r\n\r\n", false),
        (b"GET /healthz HTTP/1.1\r\n\r\n", false),
        (b"OPTIONS / HTTP/1.0\r\n\r\n", false),
    ];
    for (raw, health) in cases {
        assert_eq!(head_of(raw).0.health_check, *health, "{}", text(raw));
    }
}

#[test]
fn json_escaping() {
    let mut out = Vec::new();
    head::push_json_string(&mut out, b"plain \"q\" \\ \t\r\n\x01\x7f");
    assert_eq!(
        text(&out),
        r#""plain \"q\" \\ \t\r\n\u0001"#.to_owned() + "\x7f\""
    );

    let mut out = Vec::new();
    head::push_json_string(&mut out, "é€😀".as_bytes());
    assert_eq!(text(&out), "\"é€😀\"");

    // Invalid UTF-8: lone continuation, truncated sequence, overlong, 0xff.
    let mut out = Vec::new();
    head::push_json_string(&mut out, b"a\x80b\xe2\x82c\xc0\xafd\xff");
    assert_eq!(text(&out), r#""a\u0080b\u00e2\u0082c\u00c0\u00afd\u00ff""#);
}

fn respond(raw: &[u8], behaviour: &Behaviour, body_bytes: u64) -> (Vec<u8>, u64) {
    let ctx = Context {
        session_cookie: behaviour.set_cookie_once.as_deref(),
        fast: behaviour.fast,
        ..CTX
    };
    let mut scratch = Scratch::default();
    let head = match head::parse(raw, &ctx, &mut scratch) {
        Ok(Some(head)) => head,
        other => panic!("{other:?}"),
    };
    let mut out = Vec::new();
    let rest = response::write(&mut out, "s1", behaviour, &head, &mut scratch, body_bytes);
    (out, rest)
}

#[test]
fn plain_response_is_exact() {
    let raw = b"POST /p HTTP/1.1\r\nHost: h\r\nCookie: a=1\r\nContent-Length: 5\r\n\r\n";
    let (out, rest) = respond(raw, &Behaviour::default(), 5);
    let json = r#"{"server":"s1","method":"POST","uri":"/p","headers":[["Host","h"],["Cookie","a=1"],["Content-Length","5"]],"body_bytes":5}"#;
    let expected = format!(
        "HTTP/1.1 200 OK\r\nx-server: s1\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
x-seen-cookie: a=1\r\nx-seen-cookie-count: 1\r\n\r\n{json}\n",
        json.len() + 1
    );
    assert_eq!(text(&out), expected);
    assert_eq!(rest, 0);
}

#[test]
fn scripted_response_header_order() {
    let behaviour = Behaviour::new()
        .with_header("X-App", "demo")
        .with_session_cookie(PHP_SESSION_COOKIE);
    let raw = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\nx-echo-status: 302\r\nx-echo-header: Location: /x\r\nx-echo-body-bytes: 3\r\n\r\n";
    let (out, rest) = respond(raw, &behaviour, 0);
    let out = text(&out);
    let id_at = out.find("PHPSESSID=").expect("session cookie set") + "PHPSESSID=".len();
    let id = &out[id_at..id_at + SESSION_ID_LEN];
    assert!(
        id.bytes()
            .all(|b| b"0123456789abcdefghijklmnopqrstuv".contains(&b)),
        "{id}"
    );
    let expected = format!(
        "HTTP/1.1 302 Found\r\nx-server: s1\r\ncontent-type: application/octet-stream\r\n\
content-length: 3\r\nX-App: demo\r\nset-cookie: PHPSESSID={id}; path=/\r\nLocation: /x\r\n\
x-seen-cookie-count: 0\r\nconnection: keep-alive\r\n\r\nxxx"
    );
    assert_eq!(out, expected);
    assert_eq!(rest, 0);
}

#[test]
fn session_ids_differ_and_known_sessions_get_none() {
    let behaviour = Behaviour::new().with_session_cookie("SID");
    let (first, _) = respond(b"GET / HTTP/1.1\r\n\r\n", &behaviour, 0);
    let (second, _) = respond(b"GET / HTTP/1.1\r\n\r\n", &behaviour, 0);
    assert_ne!(first, second);
    let (known, _) = respond(b"GET / HTTP/1.1\r\nCookie: SID=abc\r\n\r\n", &behaviour, 0);
    assert!(!text(&known).contains("set-cookie"));
}

#[test]
fn head_no_content_and_fast_responses() {
    let (out, rest) = respond(
        b"HEAD / HTTP/1.1\r\nx-echo-body-bytes: 100000\r\n\r\n",
        &Behaviour::default(),
        0,
    );
    assert_eq!(
        text(&out),
        "HTTP/1.1 200 OK\r\nx-server: s1\r\ncontent-type: application/octet-stream\r\n\
content-length: 100000\r\nx-seen-cookie-count: 0\r\n\r\n"
    );
    assert_eq!(rest, 0);

    let (out, _) = respond(
        b"GET / HTTP/1.1\r\nx-echo-status: 204\r\nConnection: close\r\n\r\n",
        &Behaviour::default(),
        0,
    );
    assert_eq!(
        text(&out),
        "HTTP/1.1 204 No Content\r\nx-server: s1\r\nx-seen-cookie-count: 0\r\nconnection: close\r\n\r\n"
    );

    let (out, _) = respond(b"GET / HTTP/1.1\r\n\r\n", &Behaviour::new().with_fast(), 0);
    assert_eq!(
        text(&out),
        "HTTP/1.1 200 OK\r\nx-server: s1\r\ncontent-length: 0\r\nx-seen-cookie-count: 0\r\n\r\n"
    );
}

#[test]
fn large_filler_is_split_between_buffer_and_stream() {
    let (out, rest) = respond(
        b"GET / HTTP/1.1\r\nx-echo-body-bytes: 100000\r\n\r\n",
        &Behaviour::default(),
        0,
    );
    let head_end = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("head end")
        + 4;
    assert_eq!((out.len() - head_end) as u64, response::INLINE_FILLER);
    assert_eq!(rest, 100_000 - response::INLINE_FILLER);
}

#[test]
fn health_status_follows_behaviour() {
    let behaviour = Behaviour::default();
    let status_of = |behaviour: &Behaviour, raw: &[u8]| {
        let (out, _) = respond(raw, behaviour, 0);
        text(&out)[9..12].to_owned()
    };
    assert_eq!(
        status_of(&behaviour, b"GET /health HTTP/1.1\r\n\r\n"),
        "200"
    );
    behaviour.set_health(503);
    assert_eq!(
        status_of(&behaviour, b"GET /health HTTP/1.1\r\n\r\n"),
        "503"
    );
    assert_eq!(status_of(&behaviour, b"GET / HTTP/1.1\r\n\r\n"), "200");
    assert_eq!(
        status_of(
            &behaviour,
            b"GET /health HTTP/1.1\r\nx-echo-status: 201\r\n\r\n"
        ),
        "201"
    );
    behaviour.set_health(42);
    assert_eq!(
        status_of(&behaviour, b"GET /health HTTP/1.1\r\n\r\n"),
        "500"
    );
}

#[test]
fn error_response_is_exact() {
    let mut out = Vec::new();
    response::write_error(&mut out, "s1", 431, "too big");
    assert_eq!(
        text(&out),
        "HTTP/1.1 431 Request Header Fields Too Large\r\nx-server: s1\r\ncontent-type: text/plain\r\n\
content-length: 8\r\nconnection: close\r\n\r\ntoo big\n"
    );
}

#[test]
fn decimal_formatting() {
    for n in [0u64, 7, 10, 12345, u64::MAX] {
        let mut out = Vec::new();
        response::push_u64(&mut out, n);
        assert_eq!(text(&out), n.to_string());
    }
}

#[tokio::test]
async fn aborting_serve_closes_listener_and_connections() {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(super::serve(
        listener,
        Arc::from("s9"),
        Arc::new(Behaviour::new().with_fast()),
    ));
    let mut client = TcpStream::connect(addr).await.expect("connect");
    client
        .write_all(b"GET / HTTP/1.1\r\n\r\n")
        .await
        .expect("write");
    let expected =
        "HTTP/1.1 200 OK\r\nx-server: s9\r\ncontent-length: 0\r\nx-seen-cookie-count: 0\r\n\r\n";
    let mut received = vec![0u8; expected.len()];
    client.read_exact(&mut received).await.expect("response");
    assert_eq!(text(&received), expected);

    task.abort();
    assert!(task.await.is_err_and(|error| error.is_cancelled()));
    let mut rest = [0u8; 16];
    let after = tokio::time::timeout(std::time::Duration::from_secs(2), client.read(&mut rest))
        .await
        .expect("connection closed, not left open");
    assert!(matches!(after, Ok(0) | Err(_)), "{after:?}");
    assert!(TcpStream::connect(addr).await.is_err(), "listener closed");
}

#[test]
fn session_in_the_url_counts_as_carried() {
    use super::head::uri_carries_session as carries;
    assert!(carries(b"/a;jsessionid=x", b"JSESSIONID"));
    assert!(carries(b"/a?x=1&PHPSESSID=y", b"PHPSESSID"));
    assert!(carries(b"/a?phpsessid=y", b"PHPSESSID"));
    assert!(!carries(b"/a?xphpsessid=y", b"PHPSESSID"));
    assert!(!carries(b"/a?PHPSESSID", b"PHPSESSID"));
    assert!(!carries(b"/PHPSESSID=y", b"PHPSESSID"));
}
