//! One test per value rule: durations, enumerations, ranges, addresses, and defaults.

use std::time::Duration;

use super::*;
use crate::balance::{Algorithm, HashType};
use crate::frontend::HeadLimits;
use crate::persist::appsession::{AppSessionSpec, CookieName, IdSource, IdSpec, UrlMode};
use crate::persist::{CookieMode, CookieSpec};
use crate::pool::AdminState;

#[test]
fn durations_accept_seconds_and_units() {
    let text = with("    timeouts: { connect: 10, server: 500ms, queue: 2m }\n");
    let t = backend(&text).timeouts;
    assert_eq!(
        (t.connect, t.server, t.queue),
        (
            Duration::from_secs(10),
            Duration::from_millis(500),
            Duration::from_secs(120)
        )
    );
    let text = with_frontend("    timeout_client: 1d\n");
    assert_eq!(
        load(&text).config.frontends[0].timeout_client,
        Duration::from_secs(86_400)
    );
    let text = with("    app_session: { cookie: J, timeout: 8h }\n");
    assert_eq!(
        backend(&text).app_session.map(|s| s.timeout),
        Some(Duration::from_secs(28_800))
    );
}

#[test]
fn bad_durations_quote_the_accepted_format() {
    let f = "a duration is an integer number of seconds or an integer with a unit ms, s, m, h or d (e.g. 500ms, 30s, 30m, 8h, 1d)";
    let text = with(concat!(
        "    timeouts:\n",                         // 10
        "      connect: -5\n",                     // 11
        "      server: 1.5s\n",                    // 12
        "      queue: 5x\n",                       // 13
        "    health_check:\n",                     // 14
        "      interval: 99999999999999999999d\n", // 15
        "      timeout: 0\n",                      // 16
        "      rise: 1\n",                         // 17
    ));
    assert_eq!(
        errors(&text),
        vec![
            e(
                "backends[0].timeouts.connect",
                11,
                16,
                &format!("invalid duration \"-5\": negative values are not accepted; {f}")
            ),
            e(
                "backends[0].timeouts.server",
                12,
                15,
                &format!("invalid duration \"1.5s\": fractions are not accepted; {f}")
            ),
            e(
                "backends[0].timeouts.queue",
                13,
                14,
                &format!("invalid duration \"5x\": unknown unit \"x\"; {f}")
            ),
            e(
                "backends[0].health_check.interval",
                15,
                17,
                &format!("invalid duration \"99999999999999999999d\": it is too large; {f}")
            ),
            e(
                "backends[0].health_check.timeout",
                16,
                16,
                "expected a duration of at least 1ms, got 0"
            ),
        ]
    );
    let text = with_frontend("    timeout_client: [30s]\n");
    assert_eq!(
        error(&text),
        e(
            "frontends[0].timeout_client",
            5,
            21,
            &format!("expected a duration, got a list; {f}")
        )
    );
}

#[test]
fn maxidle_and_maxlife_follow_haproxy_limits() {
    let cookie = |extra: &str| {
        let text = with(&format!("    cookie:\n      name: SRV\n{extra}"));
        backend(&text).cookie.map(|c| (c.maxidle, c.maxlife))
    };
    assert_eq!(cookie(""), Some((0, 0)));
    assert_eq!(
        cookie("      maxidle: 0\n      maxlife: 0s\n"),
        Some((0, 0))
    );
    // parse_time_err() rounds up to whole seconds: 500ms is 1 s, 1500ms is 2 s.
    assert_eq!(
        cookie("      maxidle: 500ms\n      maxlife: 1500ms\n"),
        Some((1, 2))
    );
    assert_eq!(
        cookie("      maxidle: 30m\n      maxlife: 2147483647\n"),
        Some((1800, 2_147_483_647))
    );
    let text =
        with("    cookie:\n      name: SRV\n      maxlife: 2147483648\n      maxidle: 24856d\n");
    assert_eq!(
        errors(&text),
        vec![
            e("backends[0].cookie.maxlife", 12, 16, "expected 0 (off) or a duration of at most 2147483647s (HAProxy's limit, ~68 years), got 2147483648"),
            e("backends[0].cookie.maxidle", 13, 16, "expected 0 (off) or a duration of at most 2147483647s (HAProxy's limit, ~68 years), got \"24856d\""),
        ]
    );
}

#[test]
fn enumerations_list_the_accepted_values() {
    let text = with(concat!(
        "        state: down\n",                                         // 10
        "    balance: 'url_param:'\n",                                   // 11
        "    hash_type: ring\n",                                         // 12
        "    cookie: { name: S, mode: active }\n",                       // 13
        "    app_session: { key: 'header:', cookie: J, mode: query }\n", // 14
        "    health_check: { type: udp }\n",                             // 15
        "access_log: { format: xml }\n",                                 // 16
    ));
    assert_eq!(
        errors(&text),
        vec![
            e("backends[0].servers[0].state", 10, 16, "expected one of: ready, drain, maint, got \"down\""),
            e("backends[0].balance", 11, 14, "expected one of: roundrobin, static-rr, leastconn, first, random, source, uri, url_param:<name>, hdr:<name>, cookie:<name>, got \"url_param:\""),
            e("backends[0].hash_type", 12, 16, "expected one of: map-based, consistent, got \"ring\""),
            e("backends[0].cookie.mode", 13, 30, "expected one of: insert, prefix, rewrite, passive, got \"active\""),
            e("backends[0].app_session.key", 14, 25, "expected one of: cookie, src, header:<name>, url_param:<name>, got \"header:\""),
            e("backends[0].app_session.mode", 14, 53, "expected one of: path-parameters, query-string, got \"query\""),
            e("backends[0].health_check.type", 15, 27, "expected one of: http, tcp, got \"udp\""),
            e("access_log.format", 16, 23, "expected one of: text, json, got \"xml\""),
        ]
    );
}

#[test]
fn enumerations_decode_every_value() {
    let text = with(concat!(
        "        state: drain\n",
        "    balance: hdr:X-User\n",
        "    hash_type: consistent\n",
        "    cookie: { name: S, mode: passive }\n",
        "    app_session: { key: 'url_param:sid', mode: query-string }\n",
        "    health_check: { type: tcp }\n",
    ));
    let b = backend(&text);
    assert_eq!(b.servers[0].state, AdminState::Drain);
    assert_eq!(b.balance, Algorithm::Hdr("X-User".into()));
    assert_eq!(b.hash_type, HashType::Consistent);
    assert_eq!(b.cookie.map(|c| c.mode), Some(CookieMode::Passive));
    let session = b.app_session.map(|s| (s.id.source, s.id.url_mode));
    assert_eq!(
        session,
        Some((IdSource::UrlParam("sid".into()), UrlMode::QueryString))
    );
    assert_eq!(b.health_check.map(|h| h.kind), Some(CheckKind::Tcp));
}

#[test]
fn ranges() {
    let text = with(concat!(
        "        weight: 257\n",                                    // 10
        "        maxconn: -1\n",                                    // 11
        "    retries: 101\n",                                       // 12
        "    app_session: { cookie: J, len: 0, max_entries: 0 }\n", // 13
        "    health_check: { rise: 0, fall: 0, expect_status: [99, 200, 600] }\n", // 14
    ));
    assert_eq!(
        errors(&text),
        vec![
            e(
                "backends[0].servers[0].weight",
                10,
                17,
                "expected an integer from 0 to 256, got 257"
            ),
            e(
                "backends[0].servers[0].maxconn",
                11,
                18,
                "expected an integer from 0 to 4294967295, got -1"
            ),
            e(
                "backends[0].retries",
                12,
                14,
                "expected an integer from 0 to 100, got 101"
            ),
            e(
                "backends[0].app_session.len",
                13,
                36,
                "expected an integer from 1 to 4294967295, got 0"
            ),
            e(
                "backends[0].app_session.max_entries",
                13,
                52,
                "expected an integer from 1 to 18446744073709551615, got 0"
            ),
            e(
                "backends[0].health_check.rise",
                14,
                27,
                "expected an integer from 1 to 4294967295, got 0"
            ),
            e(
                "backends[0].health_check.fall",
                14,
                36,
                "expected an integer from 1 to 4294967295, got 0"
            ),
            e(
                "backends[0].health_check.expect_status[0]",
                14,
                55,
                "expected an integer from 100 to 599, got 99"
            ),
            e(
                "backends[0].health_check.expect_status[2]",
                14,
                64,
                "expected an integer from 100 to 599, got 600"
            ),
        ]
    );
    let b = backend(&with(
        "        weight: 256\n        maxconn: 4294967295\n    retries: 100\n",
    ));
    assert_eq!(
        (b.servers[0].weight, b.servers[0].maxconn, b.retries),
        (256, 4_294_967_295, 100)
    );
    assert_eq!(
        backend(&with("        weight: 0\n    retries: 0\n")).servers[0].weight,
        0
    );
}

#[test]
fn hash_balance_factor_is_zero_or_more_than_100() {
    // HAProxy cfgparse-listen.c: `!= 0 && <= 100` is "must be 0 or greater than 100".
    let message = |n: u32| {
        format!("expected 0 (off) or a percentage greater than 100 (HAProxy: \"must be 0 or greater than 100\"), got {n}")
    };
    for n in [1, 50, 100] {
        let text = with(&format!(
            "    balance: source\n    hash_type: consistent\n    hash_balance_factor: {n}\n"
        ));
        assert_eq!(
            error(&text),
            e("backends[0].hash_balance_factor", 12, 26, &message(n))
        );
    }
    let text =
        with("    balance: source\n    hash_type: consistent\n    hash_balance_factor: 101\n");
    assert_eq!(backend(&text).hash_balance_factor, 101);
}

#[test]
fn ports_go_from_1_to_65535() {
    let listen = "expected an address ip:port or [ipv6]:port with a port from 1 to 65535";
    let text = BASE.replace("127.0.0.1:8080", "127.0.0.1:0");
    assert_eq!(
        error(&text),
        e(
            "frontends[0].listen[0]",
            3,
            14,
            &format!("{listen}, got \"127.0.0.1:0\"")
        )
    );
    let text = BASE.replace("127.0.0.1:8080", "127.0.0.1:65536");
    assert_eq!(
        error(&text),
        e(
            "frontends[0].listen[0]",
            3,
            14,
            &format!("{listen}, got \"127.0.0.1:65536\"")
        )
    );
    let server = "expected host:port or [ipv6]:port with a port from 1 to 65535";
    let text = BASE.replace("127.0.0.1:8081", "127.0.0.1:0");
    assert_eq!(
        error(&text),
        e(
            "backends[0].servers[0].address",
            9,
            18,
            &format!("port 0 in \"127.0.0.1:0\"; {server}")
        )
    );
    let text = BASE.replace("127.0.0.1:8081", "127.0.0.1:65536");
    assert_eq!(
        error(&text),
        e(
            "backends[0].servers[0].address",
            9,
            18,
            &format!("invalid port \"65536\" in \"127.0.0.1:65536\"; {server}")
        )
    );
    let text = BASE.replace("127.0.0.1:8081", "127.0.0.1:+80");
    assert_eq!(
        error(&text),
        e(
            "backends[0].servers[0].address",
            9,
            18,
            &format!("invalid port \"+80\" in \"127.0.0.1:+80\"; {server}")
        )
    );
    let b = backend(&BASE.replace("127.0.0.1:8081", "\"[::1]:65535\""));
    assert_eq!(
        (
            b.servers[0].address.to_string(),
            b.servers[0].address_text.as_str()
        ),
        ("[::1]:65535".to_string(), "[::1]:65535")
    );
}

#[test]
fn server_addresses_are_resolved_or_named_in_the_error() {
    let server = "expected host:port or [ipv6]:port with a port from 1 to 65535";
    let cases = [
        ("10.0.0.1", "missing port in \"10.0.0.1\""),
        ("\"[::1]\"", "missing port in \"[::1]\""),
        ("2001:db8::1:80", "an IPv6 address must be written in brackets, as in [2001:db8::1]:80; got \"2001:db8::1:80\""),
        ("\"[2001:db8::zz]:80\"", "invalid IPv6 address \"2001:db8::zz\" in \"[2001:db8::zz]:80\""),
        (":80", "missing host in \":80\""),
    ];
    for (address, why) in cases {
        let text = BASE.replace("127.0.0.1:8081", address);
        assert_eq!(
            error(&text),
            e(
                "backends[0].servers[0].address",
                9,
                18,
                &format!("{why}; {server}")
            ),
            "{address}"
        );
    }
    // Unquoted, `[::1]` is a YAML list.
    let text = BASE.replace("127.0.0.1:8081", "[::1]");
    let message = format!("{server}, got a list (quote IPv6 addresses: \"[::1]:80\")");
    assert_eq!(
        error(&text),
        e("backends[0].servers[0].address", 9, 18, &message)
    );
    // RFC 6761: `.invalid` never resolves. The resolver's own words follow the colon.
    let text = BASE.replace("127.0.0.1:8081", "no-such-host.invalid:80");
    let (path, line, col, message) = error(&text);
    assert_eq!(
        (path.as_str(), line, col),
        ("backends[0].servers[0].address", 9, 18)
    );
    assert!(
        message.starts_with("cannot resolve host \"no-such-host.invalid\": "),
        "{message}"
    );
    assert!(message.ends_with(server), "{message}");
    // A host name is resolved at load time; the text is kept as written.
    let s = backend(&BASE.replace("127.0.0.1:8081", "localhost:8081"))
        .servers
        .remove(0);
    assert!(
        s.address.ip().is_loopback() && s.address.port() == 8081,
        "{s:?}"
    );
    assert_eq!(s.address_text, "localhost:8081");
}

#[test]
fn redispatch_is_a_boolean_or_an_interval() {
    let redispatch = |v: &str| backend(&with(&format!("    redispatch: {v}\n"))).redispatch;
    assert_eq!(backend(BASE).redispatch, Redispatch::Off);
    assert_eq!(redispatch("true"), Redispatch::Interval(-1));
    assert_eq!(redispatch("false"), Redispatch::Off);
    assert_eq!(redispatch("0"), Redispatch::Off);
    assert_eq!(redispatch("2"), Redispatch::Interval(2));
    assert_eq!(redispatch("-2"), Redispatch::Interval(-2));
    let text = with("    redispatch: yes\n");
    let message = "expected true (redispatch on the last retry), false, or an interval from -2147483648 to 2147483647, got \"yes\"";
    assert_eq!(error(&text), e("backends[0].redispatch", 10, 17, message));
    let text = with("    redispatch: 2147483648\n");
    let message = "expected true (redispatch on the last retry), false, or an interval from -2147483648 to 2147483647, got 2147483648";
    assert_eq!(error(&text), e("backends[0].redispatch", 10, 17, message));
}

#[test]
fn access_log_is_a_target_or_a_map() {
    let log = |v: &str| load(&with(&format!("access_log: {v}\n"))).config.access_log;
    let access = |target, format| AccessLog { target, format };
    assert_eq!(
        load(BASE).config.access_log,
        access(LogTarget::Stdout, LogFormat::Text)
    );
    assert_eq!(log("stderr"), access(LogTarget::Stderr, LogFormat::Text));
    assert_eq!(log("off"), access(LogTarget::Off, LogFormat::Text));
    assert_eq!(
        log("/var/log/tether.log"),
        access(
            LogTarget::File("/var/log/tether.log".into()),
            LogFormat::Text
        )
    );
    assert_eq!(
        log("{ format: json }"),
        access(LogTarget::Stdout, LogFormat::Json)
    );
    assert_eq!(
        log("{ target: 'off', format: json }"),
        access(LogTarget::Off, LogFormat::Json)
    );
    let message =
        "expected stdout, stderr, off or a file path, or a map with keys target, format; got false";
    assert_eq!(
        error(&with("access_log: false\n")),
        e("access_log", 10, 13, message)
    );
    assert_eq!(
        error(&with("access_log: ''\n")),
        e(
            "access_log",
            10,
            13,
            "expected stdout, stderr, off or a file path, got \"\""
        )
    );
}

#[test]
fn defaults_follow_the_contract() {
    let config = load(&with(
        "    cookie: { name: SRV }\n    app_session: { cookie: J }\n    health_check: {}\n",
    ))
    .config;
    let f = &config.frontends[0];
    assert_eq!((f.timeout_client, &f.tls), (Duration::from_secs(30), &None));
    assert_eq!(
        f.head,
        HeadLimits {
            max_headers: 101,
            max_bytes: 16_384,
            timeout: Duration::from_secs(10)
        }
    );
    let b = &config.backends[0];
    assert_eq!(
        (&b.balance, b.hash_type, b.hash_balance_factor),
        (&Algorithm::RoundRobin, HashType::MapBased, 0)
    );
    assert_eq!(
        b.timeouts,
        Timeouts {
            connect: Duration::from_secs(5),
            server: Duration::from_secs(30),
            queue: Duration::from_secs(5)
        }
    );
    assert_eq!(
        (b.allbackups, b.persist, b.redispatch, b.retries, b.failover),
        (false, false, Redispatch::Off, 3, true)
    );
    assert_eq!((b.ignore_persist.len(), b.force_persist.len()), (0, 0));
    assert_eq!(b.cookie, Some(CookieSpec::new("SRV", CookieMode::Insert)));
    let session = AppSessionSpec {
        id: IdSpec {
            source: IdSource::Cookie(CookieName::Exact(b"J".to_vec())),
            len: 52,
            url_mode: UrlMode::PathParameters,
        },
        timeout: Duration::from_secs(3 * 3600),
        request_learn: false,
        max_entries: 1_000_000,
    };
    assert_eq!(b.app_session, Some(session));
    let check = HealthCheck {
        kind: CheckKind::Http,
        method: "OPTIONS".into(),
        path: "/".into(),
        host: None,
        expect_status: vec![],
        interval: Duration::from_secs(2),
        timeout: Duration::from_secs(1),
        rise: 2,
        fall: 3,
        disable_on_404: false,
    };
    assert_eq!(b.health_check, Some(check));
    let s = &b.servers[0];
    assert_eq!(
        (
            s.cookie.as_deref(),
            s.weight,
            s.maxconn,
            s.maxqueue,
            s.backup,
            s.check,
            s.state
        ),
        (None, 1, 0, 0, false, true, AdminState::Ready)
    );
}

#[test]
fn request_head_limits_are_read_and_bounded() {
    let text = with_frontend(
        "    timeout_http_request: 2s\n    max_headers: 20\n    max_header_bytes: 8192\n",
    );
    assert_eq!(
        load(&text).config.frontends[0].head,
        HeadLimits {
            max_headers: 20,
            max_bytes: 8192,
            timeout: Duration::from_secs(2)
        }
    );
    let text = with_frontend(
        "    timeout_http_request: 0\n    max_headers: 0\n    max_header_bytes: 2000000\n",
    );
    assert_eq!(
        errors(&text),
        vec![
            e(
                "frontends[0].timeout_http_request",
                5,
                27,
                "expected a duration of at least 1ms, got 0"
            ),
            e(
                "frontends[0].max_headers",
                6,
                18,
                "expected an integer from 1 to 256, got 0"
            ),
            e(
                "frontends[0].max_header_bytes",
                7,
                23,
                "expected an integer from 256 to 524288, got 2000000"
            ),
        ]
    );
}
