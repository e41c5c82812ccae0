//! The shape of the document: unknown keys, wrong types, required keys, empty lists.

use super::*;

const COOKIE_KEYS: &str = "name, mode, indirect, nocache, postonly, preserve, httponly, secure, domain, attr, maxidle, maxlife, dynamic_key";

#[test]
fn unknown_fields_are_reported_at_every_level_with_the_accepted_keys() {
    let text = with(concat!(
        "        wieght: 2\n",                              // 10
        "    cookie:\n",                                    // 11
        "      name: SRV\n",                                // 12
        "      maxidel: 30m\n",                             // 13
        "    timeouts:\n",                                  // 14
        "      conect: 5s\n",                               // 15
        "    health_check:\n",                              // 16
        "      intervl: 2s\n",                              // 17
        "    app_session:\n",                               // 18
        "      cookie: JSESSIONID\n",                       // 19
        "      lenght: 52\n",                               // 20
        "    ignore_persist:\n",                            // 21
        "      - { header: X, present: true, bogus: 1 }\n", // 22
        "    weight: 1\n",                                  // 23
        "admin:\n",                                         // 24
        "  listen: 127.0.0.1:9901\n",                       // 25
        "  token: x\n",                                     // 26
        "access_log:\n",                                    // 27
        "  target: off\n",                                  // 28
        "  fmt: json\n",                                    // 29
        "frontend: x\n",                                    // 30
    ));
    let backend_keys = "name, balance, hash_type, hash_balance_factor, cookie, app_session, timeouts, allbackups, persist, redispatch, retries, failover, ignore_persist, force_persist, health_check, servers";
    let unknown = |keys: &str| format!("unknown field, expected one of: {keys}");
    assert_eq!(
        errors(&text),
        vec![
            e("backends[0].servers[0].wieght", 10, 9, &unknown("name, address, cookie, weight, maxconn, maxqueue, backup, check, state")),
            e("backends[0].cookie.maxidel", 13, 7, &unknown(COOKIE_KEYS)),
            e("backends[0].timeouts.conect", 15, 7, &unknown("connect, server, queue")),
            e("backends[0].health_check.intervl", 17, 7, &unknown("type, method, path, host, expect_status, interval, timeout, rise, fall, disable_on_404")),
            e("backends[0].app_session.lenght", 20, 7, &unknown("key, cookie, len, timeout, request_learn, prefix, mode, max_entries")),
            e("backends[0].ignore_persist[0].bogus", 22, 37, &unknown("header, present, equals, contains, prefix, path_prefix, method, src")),
            e("backends[0].weight", 23, 5, &unknown(backend_keys)),
            e("admin.token", 26, 3, &unknown("listen, token_file")),
            e("access_log.fmt", 29, 3, &unknown("target, format")),
            e("frontend", 30, 1, &unknown("pingora, admin, access_log, frontends, backends")),
        ]
    );
    let text = with_frontend("    timeout: 5s\n    tls: { cert: /nonexistent/c.pem, crt: x }\n");
    assert_eq!(
        errors(&text),
        vec![
            e("frontends[0].timeout", 5, 5, &unknown("name, listen, timeout_client, timeout_http_request, max_headers, max_header_bytes, tls, backend")),
            e("frontends[0].tls.key", 6, 10, "missing required field: expected the path of a PEM private key file"),
            e("frontends[0].tls.cert", 6, 18, "cannot open /nonexistent/c.pem: No such file or directory (os error 2); expected a readable PEM certificate file"),
            e("frontends[0].tls.crt", 6, 38, &unknown("cert, key")),
        ]
    );
}

#[test]
fn wrong_types_say_what_is_expected_and_what_was_found() {
    let text = with(concat!(
        "        backup: yes\n",    // 10
        "        weight: \"2\"\n",  // 11
        "        cookie: [a]\n",    // 12
        "    cookie: SRV\n",        // 13
        "    ignore_persist: {}\n", // 14
        "    persist: 1\n",         // 15
        "    retries: 2.5\n",       // 16
    ));
    assert_eq!(
        errors(&text),
        vec![
            e(
                "backends[0].servers[0].backup",
                10,
                17,
                "expected true or false, got \"yes\""
            ),
            e(
                "backends[0].servers[0].weight",
                11,
                17,
                "expected an integer from 0 to 256, got \"2\""
            ),
            e(
                "backends[0].servers[0].cookie",
                12,
                17,
                "expected a non-empty string, got a list"
            ),
            e(
                "backends[0].cookie",
                13,
                13,
                &format!("expected a map with keys {COOKIE_KEYS}, got \"SRV\"")
            ),
            e(
                "backends[0].ignore_persist",
                14,
                21,
                "expected a list, got a map"
            ),
            e(
                "backends[0].persist",
                15,
                14,
                "expected true or false, got 1"
            ),
            e(
                "backends[0].retries",
                16,
                14,
                "expected an integer from 0 to 100, got 2.5"
            ),
        ]
    );
}

#[test]
fn strings_must_be_scalars_and_not_empty() {
    let text = with_frontend("    backend: \"\"\n").replace("    backend: app\n", "");
    assert_eq!(
        error(&text),
        e(
            "frontends[0].backend",
            4,
            14,
            "expected a non-empty string, got \"\""
        )
    );
    let text = BASE.replace("name: s1", "name: { a: 1 }");
    assert_eq!(
        error(&text),
        e(
            "backends[0].servers[0].name",
            8,
            15,
            "expected a non-empty string, got a map"
        )
    );
    let text = BASE.replace("name: s1", "name: ~");
    assert_eq!(
        error(&text),
        e(
            "backends[0].servers[0].name",
            8,
            15,
            "expected a non-empty string, got null"
        )
    );
    // A plain number is text where text is expected.
    let config = load(&BASE.replace("name: s1", "name: 42")).config;
    assert_eq!(config.backends[0].servers[0].name, "42");
}

#[test]
fn missing_required_fields() {
    let text = "frontends:\n  - listen: 127.0.0.1:8080\n  - name: b\nbackends:\n  - servers:\n    - address: 127.0.0.1:1\n  - name: x\n";
    assert_eq!(
        errors(text),
        vec![
            e(
                "frontends[0].name",
                2,
                5,
                "missing required field: expected a non-empty string"
            ),
            e(
                "frontends[0].backend",
                2,
                5,
                "missing required field: expected the name of a backend"
            ),
            e(
                "frontends[1].listen",
                3,
                5,
                "missing required field: expected a list of addresses ip:port"
            ),
            e(
                "frontends[1].backend",
                3,
                5,
                "missing required field: expected the name of a backend"
            ),
            e(
                "backends[0].name",
                5,
                5,
                "missing required field: expected a non-empty string"
            ),
            e(
                "backends[0].servers[0].name",
                6,
                7,
                "missing required field: expected a non-empty string"
            ),
            e(
                "backends[1].servers",
                7,
                5,
                "missing required field: expected a list of servers"
            ),
        ]
    );
    let text = BASE.replace("        address: 127.0.0.1:8081\n", "        cookie: a\n");
    assert_eq!(
        error(&text),
        e(
            "backends[0].servers[0].address",
            8,
            9,
            "missing required field: expected host:port or [ipv6]:port with a port from 1 to 65535"
        )
    );
    assert_eq!(
        errors("admin:\n  token_file: /x\n"),
        vec![
            e("frontends", 1, 1, "missing required field: expected a list of frontends"),
            e("backends", 1, 1, "missing required field: expected a list of backends"),
            e("admin.listen", 2, 3, "missing required field: expected an address ip:port or [ipv6]:port with a port from 1 to 65535"),
            e("admin.token_file", 2, 15, "cannot read /x: No such file or directory (os error 2); expected a file holding the admin bearer token"),
        ]
    );
}

#[test]
fn cookie_name_is_required() {
    let text = with("    cookie:\n      mode: insert\n");
    assert_eq!(
        error(&text),
        e(
            "backends[0].cookie.name",
            11,
            7,
            "missing required field: expected the cookie name"
        )
    );
}

#[test]
fn app_session_cookie_is_required_with_key_cookie() {
    let text = with("    app_session:\n      len: 32\n");
    let message = "missing required field: expected the application's cookie name, or \"*\" for any cookie the server sets (required with key: cookie)";
    assert_eq!(
        error(&text),
        e("backends[0].app_session.cookie", 11, 7, message)
    );
    let session = backend(&with("    app_session: { key: src }\n")).app_session;
    assert_eq!(
        session.map(|s| s.id.source),
        Some(crate::persist::appsession::IdSource::Src)
    );
}

#[test]
fn empty_lists_are_errors() {
    assert_eq!(
        errors("frontends: []\nbackends: []\n"),
        vec![
            e(
                "frontends",
                1,
                12,
                "empty list: expected at least one frontend"
            ),
            e(
                "backends",
                2,
                11,
                "empty list: expected at least one backend"
            ),
        ]
    );
    let text = BASE.replace(
        "    servers:\n      - name: s1\n        address: 127.0.0.1:8081\n",
        "    servers: []\n",
    );
    assert_eq!(
        error(&text),
        e(
            "backends[0].servers",
            7,
            14,
            "empty list: expected at least one server"
        )
    );
    let text = BASE.replace("[\"127.0.0.1:8080\"]", "[]");
    assert_eq!(
        error(&text),
        e(
            "frontends[0].listen",
            3,
            13,
            "empty list: expected at least one address ip:port or [ipv6]:port"
        )
    );
}
