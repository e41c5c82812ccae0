//! Cross-checks (docs/configuration.md §8) and the rules on characters,
//! files and conditions.

use std::net::IpAddr;

use super::*;
use crate::persist::appsession::{CookieName, IdSource};

const TWO_SERVERS: &str = "    servers: [{ name: s1, address: \"127.0.0.1:1\" }]\n";

#[test]
fn duplicate_frontend_and_backend_names() {
    let text = format!(
        "frontends:\n  - name: web\n    listen: [\"127.0.0.1:8080\"]\n    backend: app\n  - name: web\n    listen: [\"127.0.0.1:8090\"]\n    backend: app\nbackends:\n  - name: app\n{TWO_SERVERS}  - name: app\n{TWO_SERVERS}"
    );
    assert_eq!(
        errors(&text),
        vec![
            e("frontends[1].name", 5, 11, "duplicate frontend name \"web\": already used at line 2, column 11 (frontends[0].name)"),
            e("backends[1].name", 11, 11, "duplicate backend name \"app\": already used at line 9, column 11 (backends[0].name)"),
        ]
    );
}

#[test]
fn server_names_and_resolved_addresses_are_unique_per_backend() {
    // `127.1` is resolved by the system to 127.0.0.1, the address of s1.
    let text = with("      - name: s1\n        address: 127.1:8081\n");
    assert_eq!(
        errors(&text),
        vec![
            e("backends[0].servers[1].name", 10, 15, "duplicate server name \"s1\": already used at line 8, column 15 (backends[0].servers[0].name)"),
            e("backends[0].servers[1].address", 11, 18, "duplicate server address 127.0.0.1:8081: already used at line 9, column 18 (backends[0].servers[0].address)"),
        ]
    );
    // The same name and address in two backends is fine.
    let text = format!(
        "{BASE}  - name: other\n    servers: [{{ name: s1, address: \"127.0.0.1:8081\" }}]\n"
    );
    assert_eq!(load(&text).config.backends.len(), 2);
}

#[test]
fn a_frontend_must_name_an_existing_backend() {
    let text = BASE.replace("backend: app", "backend: api");
    assert_eq!(
        error(&text),
        e(
            "frontends[0].backend",
            4,
            14,
            "no backend named \"api\"; expected one of: app"
        )
    );
    // With no backend at all, only that is reported.
    let text = "frontends: [{ name: web, listen: 127.0.0.1:80, backend: app }]\nbackends: []\n";
    assert_eq!(
        error(text),
        e(
            "backends",
            2,
            11,
            "empty list: expected at least one backend"
        )
    );
}

#[test]
fn listeners_must_not_overlap() {
    let text = format!(
        "frontends:\n  - name: a\n    listen: [\"0.0.0.0:8080\", \"127.0.0.1:8081\"]\n    backend: app\n  - name: b\n    listen: [\"127.0.0.1:8080\", \"[::1]:8080\", \"127.0.0.1:8081\"]\n    backend: app\nadmin:\n  listen: \"127.0.0.1:8081\"\nbackends:\n  - name: app\n{TWO_SERVERS}"
    );
    assert_eq!(
        errors(&text),
        vec![
            e("frontends[1].listen[0]", 6, 14, "listen address 127.0.0.1:8080 conflicts with 0.0.0.0:8080 already used at line 3, column 14 (frontends[0].listen[0])"),
            e("frontends[1].listen[2]", 6, 46, "listen address 127.0.0.1:8081 conflicts with 127.0.0.1:8081 already used at line 3, column 30 (frontends[0].listen[1])"),
            e("admin.listen", 9, 11, "listen address 127.0.0.1:8081 conflicts with 127.0.0.1:8081 already used at line 3, column 30 (frontends[0].listen[1])"),
        ]
    );
    let text = BASE.replace("[\"127.0.0.1:8080\"]", "[\"[::]:8080\", \"[::]:8080\"]");
    assert_eq!(error(&text), e("frontends[0].listen[1]", 3, 27, "listen address [::]:8080 conflicts with [::]:8080 already used at line 3, column 14 (frontends[0].listen[0])"));
    // A wildcard after a specific address of its family and port conflicts too.
    let text = BASE.replace(
        "[\"127.0.0.1:8080\"]",
        "[\"127.0.0.1:9000\", \"0.0.0.0:9000\"]",
    );
    assert_eq!(error(&text), e("frontends[0].listen[1]", 3, 32, "listen address 0.0.0.0:9000 conflicts with 127.0.0.1:9000 already used at line 3, column 14 (frontends[0].listen[0])"));
}

#[test]
fn rewrite_and_indirect_are_incompatible() {
    let text = with("    cookie: { name: S, mode: rewrite, indirect: true }\n");
    let message = "indirect cannot be used with mode: rewrite (HAProxy: \"cookie 'rewrite' and 'indirect' modes are incompatible\"); use mode insert, prefix or passive";
    assert_eq!(
        error(&text),
        e("backends[0].cookie.indirect", 10, 39, message)
    );
}

#[test]
fn preserve_requires_insert_or_indirect() {
    let text = with("    cookie: { name: S, mode: prefix, preserve: true }\n");
    let message = "preserve requires mode: insert or indirect: true (HAProxy: \"cookie 'preserve' requires at least 'insert' or 'indirect'\")";
    assert_eq!(
        error(&text),
        e("backends[0].cookie.preserve", 10, 38, message)
    );
    for ok in [
        "mode: insert, preserve: true",
        "mode: passive, indirect: true, preserve: true",
    ] {
        let cookie = backend(&with(&format!("    cookie: {{ name: S, {ok} }}\n"))).cookie;
        assert_eq!(cookie.map(|c| c.preserve), Some(true), "{ok}");
    }
}

#[test]
fn maxidle_and_maxlife_need_insert_mode() {
    let text = with("    cookie: { name: S, mode: passive, maxidle: 30m, maxlife: 8h }\n");
    assert_eq!(
        errors(&text),
        vec![
            e("backends[0].cookie.maxidle", 10, 39, "maxidle only works with mode: insert (the dates are written in the inserted cookie); mode is passive"),
            e("backends[0].cookie.maxlife", 10, 53, "maxlife only works with mode: insert (the dates are written in the inserted cookie); mode is passive"),
        ]
    );
    // 0 means off, which every mode accepts.
    let cookie = backend(&with("    cookie: { name: S, mode: prefix, maxidle: 0 }\n")).cookie;
    assert_eq!(cookie.map(|c| c.maxidle), Some(0));
}

#[test]
fn domains_follow_haproxy_invalid_domainchar_and_warn_without_a_dot() {
    let text = with("    cookie:\n      name: S\n      domain: [\".example.com\", \"bad domain.com\", \"x/y\"]\n");
    assert_eq!(
        errors(&text),
        vec![
            e("backends[0].cookie.domain[1]", 12, 32, "character ' ' is not permitted in domain name \"bad domain.com\"; expected letters, digits, '.', '_' and '-'"),
            e("backends[0].cookie.domain[2]", 12, 50, "character '/' is not permitted in domain name \"x/y\"; expected letters, digits, '.', '_' and '-'"),
        ]
    );
    let loaded = load(&with(
        "    cookie:\n      name: S\n      domain: [localhost, .a_b-c.example]\n",
    ));
    let warning = ConfigError {
        path: "backends[0].cookie.domain[0]".into(),
        mark: Some(Mark { line: 12, col: 16 }),
        message: "domain \"localhost\" contains no embedded dot, this configuration may not work properly (see RFC6265#5.2.3)".into(),
    };
    assert_eq!(loaded.warnings, vec![warning]);
    let domains = loaded.config.backends[0]
        .cookie
        .as_ref()
        .map(|c| c.domains.clone());
    assert_eq!(
        domains,
        Some(vec!["localhost".to_string(), ".a_b-c.example".to_string()])
    );
    assert_eq!(
        format_warnings("t.yaml", &loaded.warnings),
        "t.yaml:12:16: backends[0].cookie.domain[0]: domain \"localhost\" contains no embedded dot, this configuration may not work properly (see RFC6265#5.2.3)"
    );
}

#[test]
fn attr_must_not_contain_semicolons_or_control_characters() {
    let text =
        with("    cookie:\n      name: S\n      attr: [\"SameSite=Lax\", \"a;b\", \"x\\x01\"]\n");
    assert_eq!(
        errors(&text),
        vec![
            e("backends[0].cookie.attr[1]", 12, 30, "character ';' is not permitted in attribute \"a;b\"; expected no ';' and no control characters"),
            e("backends[0].cookie.attr[2]", 12, 37, "character '\\u{1}' is not permitted in attribute \"x\\u{1}\"; expected no ';' and no control characters"),
        ]
    );
    let cookie = backend(&with("    cookie: { name: S, attr: SameSite=Strict }\n")).cookie;
    assert_eq!(
        cookie.map(|c| c.attrs),
        Some(vec!["SameSite=Strict".to_string()])
    );
}

#[test]
fn cookie_names_and_values_must_fit_in_a_header() {
    let text = with("        cookie: \"a;b\"\n    cookie: { name: \"S=1\" }\n");
    assert_eq!(
        errors(&text),
        vec![
            e("backends[0].servers[0].cookie", 10, 17, "character ';' is not permitted in a cookie value; expected no spaces, ';', ',', '\"', '\\' or control characters"),
            e("backends[0].cookie.name", 11, 21, "character '=' is not permitted in a cookie name; expected no spaces, ';', ',', '\"', '\\', '=' or control characters"),
        ]
    );
}

#[test]
fn servers_may_share_a_cookie_value() {
    // HAProxy picks the first operational server with the value (a primary and its backup).
    let text = with("        cookie: A\n      - name: s2\n        address: 127.0.0.1:8082\n        cookie: A\n        backup: true\n");
    let values: Vec<_> = backend(&text)
        .servers
        .into_iter()
        .map(|s| s.cookie)
        .collect();
    assert_eq!(values, vec![Some("A".to_string()), Some("A".to_string())]);
}

#[test]
fn dynamic_key_works_in_every_mode_but_must_not_be_empty() {
    // HAProxy applies `dynamic` whatever the mode: the computed value is the server's
    // cookie value, used for matching (all modes) and writing (insert, prefix, rewrite).
    for mode in ["insert", "prefix", "rewrite", "passive"] {
        let cookie = backend(&with(&format!(
            "    cookie: {{ name: S, mode: {mode}, dynamic_key: k }}\n"
        )))
        .cookie;
        assert_eq!(
            cookie.and_then(|c| c.dynamic_key),
            Some("k".to_string()),
            "{mode}"
        );
    }
    // HAProxy: "'dynamic-cookie-key' expects <secret_key> as argument".
    let text = with("    cookie: { name: S, dynamic_key: '' }\n");
    assert_eq!(
        error(&text),
        e(
            "backends[0].cookie.dynamic_key",
            10,
            37,
            "expected a non-empty string, got \"\""
        )
    );
}

#[test]
fn hash_options_need_a_hash_algorithm() {
    let text = with("    hash_type: consistent\n    hash_balance_factor: 150\n");
    let why = |name: &str| {
        format!("{name} only applies to the hash algorithms (source, uri, url_param:<name>, hdr:<name>, cookie:<name>), and balance is roundrobin; remove it or use a hash algorithm")
    };
    assert_eq!(
        errors(&text),
        vec![
            e("backends[0].hash_type", 10, 5, &why("hash_type")),
            e(
                "backends[0].hash_balance_factor",
                11,
                5,
                &why("hash_balance_factor")
            ),
        ]
    );
    let text = with("    balance: uri\n    hash_balance_factor: 150\n");
    let message = "hash_balance_factor bounds the load on the consistent hashing ring: it requires hash_type: consistent";
    assert_eq!(
        error(&text),
        e("backends[0].hash_balance_factor", 11, 5, message)
    );
    // The default values change nothing and are accepted with any algorithm.
    let b = backend(&with(
        "    balance: leastconn\n    hash_type: map-based\n    hash_balance_factor: 0\n",
    ));
    assert_eq!(
        (b.hash_type, b.hash_balance_factor),
        (crate::balance::HashType::MapBased, 0)
    );
    // A balance that does not decode is reported alone.
    let text = with("    balance: fastest\n    hash_type: consistent\n");
    assert_eq!(errors(&text).len(), 1);
}

#[test]
fn app_session_rules() {
    let text = with("    app_session: { cookie: '*', prefix: true }\n");
    let message =
        "prefix cannot be used with cookie: \"*\" (which already matches every cookie name)";
    assert_eq!(
        error(&text),
        e("backends[0].app_session.prefix", 10, 33, message)
    );
    let text = with("    app_session: { key: src, cookie: J, prefix: false }\n");
    assert_eq!(
        errors(&text),
        vec![
            e(
                "backends[0].app_session.cookie",
                10,
                30,
                "cookie is only used with key: cookie"
            ),
            e(
                "backends[0].app_session.prefix",
                10,
                41,
                "prefix is only used with key: cookie"
            ),
        ]
    );
    let session = backend(&with(
        "    app_session: { cookie: ASPSESSIONID, prefix: true, request_learn: true, len: 64 }\n",
    ))
    .app_session;
    assert_eq!(
        session.map(|s| (s.id.source, s.request_learn, s.id.len)),
        Some((
            IdSource::Cookie(CookieName::Prefix(b"ASPSESSIONID".to_vec())),
            true,
            64
        ))
    );
}

#[test]
fn tcp_checks_reject_http_keys() {
    let text = with("    health_check: { type: tcp, path: /health, expect_status: [200] }\n");
    assert_eq!(
        errors(&text),
        vec![
            e(
                "backends[0].health_check.path",
                10,
                32,
                "path is only used with type: http; this check has type: tcp"
            ),
            e(
                "backends[0].health_check.expect_status",
                10,
                47,
                "expect_status is only used with type: http; this check has type: tcp"
            ),
        ]
    );
    let text = with("    health_check: { method: \"GE T\", host: \"a b\" }\n");
    assert_eq!(
        errors(&text),
        vec![
            e("backends[0].health_check.method", 10, 29, "character ' ' is not permitted in an HTTP method; expected an HTTP token (letters, digits and !#$%&'*+-.^_`|~)"),
            e("backends[0].health_check.host", 10, 43, "character ' ' is not permitted in a Host header; expected no spaces or control characters"),
        ]
    );
}

#[test]
fn tls_files_must_exist() {
    let cert = temp_file("tls", "cert.pem", "CERT");
    let missing = cert.with_file_name("missing.pem");
    let text = with_frontend(&format!(
        "    tls:\n      cert: {}\n      key: {}\n",
        cert.display(),
        missing.display()
    ));
    let message = format!("cannot open {}: No such file or directory (os error 2); expected a readable PEM private key file", missing.display());
    assert_eq!(error(&text), e("frontends[0].tls.key", 7, 12, &message));
    let dir = cert.parent().map(|d| d.to_path_buf()).unwrap_or_default();
    let text = with_frontend(&format!(
        "    tls: {{ cert: {}, key: {} }}\n",
        cert.display(),
        dir.display()
    ));
    let (path, _, _, message) = error(&text);
    assert_eq!(
        (path.as_str(), message),
        (
            "frontends[0].tls.key",
            format!(
                "{} is not a regular file; expected a readable PEM private key file",
                dir.display()
            )
        )
    );
    let text = with_frontend(&format!(
        "    tls: {{ cert: {0}, key: {0} }}\n",
        cert.display()
    ));
    let tls = load(&text).config.frontends.remove(0).tls;
    assert_eq!(
        tls,
        Some(Tls {
            cert: cert.clone(),
            key: cert
        })
    );
}

#[test]
fn admin_token_file_must_be_readable_and_not_empty() {
    let empty = temp_file("token", "empty", " \n");
    let text = with(&format!(
        "admin:\n  listen: 127.0.0.1:9901\n  token_file: {}\n",
        empty.display()
    ));
    let message = format!(
        "{} is empty; expected a file holding the admin bearer token",
        empty.display()
    );
    assert_eq!(error(&text), e("admin.token_file", 12, 15, &message));
    let token = temp_file("token", "token", "s3cret\n");
    let text = with(&format!(
        "admin:\n  listen: 127.0.0.1:9901\n  token_file: {}\n",
        token.display()
    ));
    let admin = load(&text).config.admin;
    assert_eq!(
        admin,
        Some(Admin {
            listen: "127.0.0.1:9901".parse().unwrap_or(NO_ADDR),
            token_file: Some(token)
        })
    );
}

const NO_ADDR: std::net::SocketAddr =
    std::net::SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0);

#[test]
fn conditions_decode_and_reject_incomplete_tests() {
    let text = with(concat!(
        "    ignore_persist:\n",
        "      - { header: User-Agent, contains: ApacheBench }\n",
        "      - { path_prefix: /static, method: GET, src: 10.0.0.0/8 }\n",
        "    force_persist:\n",
        "      - { header: X-Force, present: true }\n",
        "      - { header: X-A, equals: '' }\n",
        "      - { header: X-B, prefix: v1, src: \"2001:db8::1\" }\n",
    ));
    let b = backend(&text);
    let header = |name: &str, test| {
        Some(HeaderTest {
            name: name.into(),
            test,
        })
    };
    let cidr = |text: &str| Cidr::parse(text);
    assert_eq!(
        b.ignore_persist,
        vec![
            Condition {
                header: header(
                    "User-Agent",
                    HeaderPredicate::Contains("ApacheBench".into())
                ),
                ..Condition::default()
            },
            Condition {
                path_prefix: Some("/static".into()),
                method: Some("GET".into()),
                src: cidr("10.0.0.0/8"),
                header: None
            },
        ]
    );
    assert_eq!(
        b.force_persist,
        vec![
            Condition {
                header: header("X-Force", HeaderPredicate::Present),
                ..Condition::default()
            },
            Condition {
                header: header("X-A", HeaderPredicate::Equals(String::new())),
                ..Condition::default()
            },
            Condition {
                header: header("X-B", HeaderPredicate::Prefix("v1".into())),
                src: cidr("2001:db8::1/128"),
                ..Condition::default()
            },
        ]
    );
    let text = with(concat!(
        "    ignore_persist:\n",                            // 10
        "      - { header: X }\n",                          // 11
        "      - { contains: a }\n",                        // 12
        "      - { header: X, equals: a, prefix: b }\n",    // 13
        "      - { header: X, present: false }\n",          // 14
        "      - {}\n",                                     // 15
        "      - { src: 10.0.0.0/33, method: \"P(ST\" }\n", // 16
    ));
    assert_eq!(
        errors(&text),
        vec![
            e("backends[0].ignore_persist[0].header", 11, 11, "header needs a test: expected one of present: true, equals, contains, prefix"),
            e("backends[0].ignore_persist[1].contains", 12, 11, "contains tests a header: it requires header: <name>"),
            e("backends[0].ignore_persist[2].prefix", 13, 33, "only one test per header: equals is already set; expected one of present, equals, contains, prefix"),
            e("backends[0].ignore_persist[3].present", 14, 31, "expected true (a test for a missing header is not supported), got false"),
            e("backends[0].ignore_persist[4]", 15, 9, "an empty condition would match every request; expected at least one of header, path_prefix, method, src"),
            e("backends[0].ignore_persist[5].src", 16, 16, "expected an address or a CIDR block such as 10.0.0.0/8 or 2001:db8::/32, got \"10.0.0.0/33\""),
            e("backends[0].ignore_persist[5].method", 16, 37, "character '(' is not permitted in an HTTP method; expected an HTTP token (letters, digits and !#$%&'*+-.^_`|~)"),
        ]
    );
}

#[test]
fn cidr_parse_and_contains() {
    let ip = |s: &str| {
        s.parse::<IpAddr>()
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    };
    let net = Cidr::parse("10.0.0.0/8");
    assert_eq!(
        net,
        Some(Cidr {
            addr: ip("10.0.0.0"),
            prefix_len: 8
        })
    );
    let net = net.unwrap_or(Cidr {
        addr: ip("0.0.0.0"),
        prefix_len: 32,
    });
    assert!(net.contains(ip("10.255.1.2")));
    assert!(!net.contains(ip("11.0.0.1")));
    assert!(net.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped IPv6");
    assert!(!net.contains(ip("::10.1.2.3")));
    let v6 = Cidr::parse("2001:db8::/32").unwrap_or(net);
    assert!(
        v6.contains(ip("2001:db8:ffff::1"))
            && !v6.contains(ip("2001:db9::1"))
            && !v6.contains(ip("10.0.0.1"))
    );
    let mapped = Cidr::parse("::ffff:10.0.0.0/104").unwrap_or(net);
    assert!(
        mapped.contains(ip("10.9.9.9")),
        "IPv4 against an IPv4-mapped block"
    );
    let all = Cidr::parse("0.0.0.0/0").unwrap_or(net);
    assert!(
        all.contains(ip("1.2.3.4"))
            && all.contains(ip("::ffff:1.2.3.4"))
            && !all.contains(ip("2001:db8::1"))
    );
    assert_eq!(Cidr::parse("10.1.2.3").map(|c| c.prefix_len), Some(32));
    assert_eq!(Cidr::parse("::1").map(|c| c.prefix_len), Some(128));
    for bad in [
        "10.0.0.0/33",
        "::/129",
        "10.0.0.0/",
        "10.0.0.0/+8",
        "10.0.0/8",
        "x",
        "",
    ] {
        assert_eq!(Cidr::parse(bad), None, "{bad}");
    }
    // Out-of-range prefixes built by hand do not panic.
    assert!(Cidr {
        addr: ip("10.0.0.0"),
        prefix_len: 200
    }
    .contains(ip("10.0.0.0")));
}
