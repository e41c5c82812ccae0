//! The full example of the configuration contract, a multi-error file, `Display`, and `load_file`.

use std::time::Duration;

use super::*;
use crate::balance::{Algorithm, HashType};
use crate::frontend::HeadLimits;
use crate::persist::appsession::{AppSessionSpec, CookieName, IdSource, IdSpec, UrlMode};
use crate::persist::{CookieMode, CookieSpec};
use crate::pool::AdminState;

/// The full example of the configuration contract (every key), verbatim.
const EXAMPLE: &str = include_str!("example.yaml");

/// The example with its three file paths pointed at real temporary files.
fn example_with_files() -> (String, [std::path::PathBuf; 3]) {
    let token = temp_file("example", "admin.token", "s3cret\n");
    let cert = temp_file("example", "cert.pem", "CERT");
    let key = temp_file("example", "key.pem", "KEY");
    let text = EXAMPLE
        .replace("/etc/tether/admin.token", &token.display().to_string())
        .replace("/etc/tether/cert.pem", &cert.display().to_string())
        .replace("/etc/tether/key.pem", &key.display().to_string());
    (text, [token, cert, key])
}

#[test]
fn the_example_of_config_md_loads_with_every_value() {
    let (text, [token, cert, key]) = example_with_files();
    let Loaded { config, warnings } = load(&text);
    assert_eq!(warnings, vec![]);

    let pingora = config.pingora.as_ref();
    let expected: serde_yaml::Value = serde_yaml::from_str(
        "threads: 1\npid_file: /run/tether.pid\nupgrade_sock: /run/tether_upgrade.sock\ngrace_period_seconds: 30\ngraceful_shutdown_timeout_seconds: 5\n",
    )
    .unwrap_or(serde_yaml::Value::Null);
    assert_eq!(pingora.map(|p| &p.value), Some(&expected));
    assert_eq!(pingora.map(|p| p.mark), Some(Mark { line: 2, col: 3 }));
    let keys: Vec<(&str, usize)> = pingora.map_or(vec![], |p| {
        p.key_marks
            .iter()
            .map(|(k, m)| (k.as_str(), m.line))
            .collect()
    });
    assert_eq!(
        keys,
        vec![
            ("threads", 2),
            ("pid_file", 3),
            ("upgrade_sock", 4),
            ("grace_period_seconds", 5),
            ("graceful_shutdown_timeout_seconds", 6)
        ]
    );

    let listen = |s: &str| {
        s.parse()
            .unwrap_or(std::net::SocketAddr::from(([0, 0, 0, 0], 0)))
    };
    assert_eq!(
        config.admin,
        Some(Admin {
            listen: listen("127.0.0.1:9901"),
            token_file: Some(token)
        })
    );
    assert_eq!(
        config.access_log,
        AccessLog {
            target: LogTarget::Stdout,
            format: LogFormat::Text
        }
    );
    assert_eq!(
        config.frontends,
        vec![Frontend {
            name: "web".into(),
            listen: vec![listen("0.0.0.0:8080")],
            timeout_client: Duration::from_secs(30),
            head: HeadLimits::default(),
            tls: Some(Tls { cert, key }),
            backend: "app".into(),
        }]
    );

    let expected = Backend {
        name: "app".into(),
        balance: Algorithm::RoundRobin,
        hash_type: HashType::MapBased,
        hash_balance_factor: 0,
        cookie: Some(CookieSpec {
            name: "SERVERID".into(),
            mode: CookieMode::Insert,
            indirect: true,
            nocache: true,
            postonly: false,
            preserve: false,
            httponly: true,
            secure: false,
            domains: vec![".example.com".into()],
            attrs: vec!["SameSite=Lax".into()],
            maxidle: 30 * 60,
            maxlife: 8 * 3600,
            dynamic_key: Some("secret".into()),
        }),
        app_session: Some(AppSessionSpec {
            id: IdSpec {
                source: IdSource::Cookie(CookieName::Exact(b"JSESSIONID".to_vec())),
                len: 52,
                url_mode: UrlMode::PathParameters,
            },
            timeout: Duration::from_secs(3 * 3600),
            request_learn: true,
            max_entries: 1_000_000,
        }),
        timeouts: Timeouts {
            connect: Duration::from_secs(5),
            server: Duration::from_secs(30),
            queue: Duration::from_secs(5),
        },
        allbackups: false,
        persist: false,
        redispatch: Redispatch::Interval(-1),
        retries: 3,
        failover: true,
        ignore_persist: vec![Condition {
            header: Some(HeaderTest {
                name: "User-Agent".into(),
                test: HeaderPredicate::Contains("ApacheBench".into()),
            }),
            ..Condition::default()
        }],
        force_persist: vec![Condition {
            header: Some(HeaderTest {
                name: "X-Force".into(),
                test: HeaderPredicate::Present,
            }),
            ..Condition::default()
        }],
        health_check: Some(HealthCheck {
            kind: CheckKind::Http,
            method: "HEAD".into(),
            path: "/index.html".into(),
            host: Some("www.example.com".into()),
            expect_status: vec![200],
            interval: Duration::from_secs(2),
            timeout: Duration::from_secs(1),
            rise: 2,
            fall: 3,
            disable_on_404: false,
        }),
        servers: vec![ServerSpec {
            name: "s1".into(),
            address: listen("10.4.102.5:80"),
            address_text: "10.4.102.5:80".into(),
            cookie: Some("s1".into()),
            weight: 1,
            maxconn: 0,
            maxqueue: 0,
            backup: false,
            check: true,
            state: AdminState::Ready,
        }],
    };
    assert_eq!(config.backends, vec![expected]);
}

#[test]
fn the_example_without_its_files_reports_the_three_paths() {
    let errs = errors(EXAMPLE);
    let found: Vec<(&str, usize, usize)> = errs
        .iter()
        .map(|(p, l, c, _)| (p.as_str(), *l, *c))
        .collect();
    assert_eq!(
        found,
        vec![
            ("admin.token_file", 10, 15),
            ("frontends[0].tls.cert", 17, 13),
            ("frontends[0].tls.key", 18, 12)
        ]
    );
}

/// Five errors from the three stages (tree, decoding, cross-checks), found in a
/// different order than they are written.
const FIVE_ERRORS: &str = "\
frontends:
  - name: web
    listen: [\"127.0.0.1:8080\"]
    backend: api
backends:
  - name: app
    balance: fastest
    cookie:
      name: SRV
      mode: rewrite
      indirect: true
    servers:
      - name: s1
        address: 127.0.0.1:8081
        weight: 300
        name: s2
";

#[test]
fn five_errors_are_all_reported_in_position_order() {
    assert_eq!(
        errors(FIVE_ERRORS),
        vec![
            e("frontends[0].backend", 4, 14, "no backend named \"api\"; expected one of: app"),
            e("backends[0].balance", 7, 14, "expected one of: roundrobin, static-rr, leastconn, first, random, source, uri, url_param:<name>, hdr:<name>, cookie:<name>, got \"fastest\""),
            e("backends[0].cookie.indirect", 11, 7, "indirect cannot be used with mode: rewrite (HAProxy: \"cookie 'rewrite' and 'indirect' modes are incompatible\"); use mode insert, prefix or passive"),
            e("backends[0].servers[0].weight", 15, 17, "expected an integer from 0 to 256, got 300"),
            e("backends[0].servers[0].name", 16, 9, "duplicate key, first defined at line 13, column 9"),
        ]
    );
}

#[test]
fn display_prints_one_line_per_error() {
    let shown = load_str(FIVE_ERRORS, "conf/app.yaml")
        .err()
        .map(|e| e.to_string());
    let expected = "\
conf/app.yaml:4:14: frontends[0].backend: no backend named \"api\"; expected one of: app
conf/app.yaml:7:14: backends[0].balance: expected one of: roundrobin, static-rr, leastconn, first, random, source, uri, url_param:<name>, hdr:<name>, cookie:<name>, got \"fastest\"
conf/app.yaml:11:7: backends[0].cookie.indirect: indirect cannot be used with mode: rewrite (HAProxy: \"cookie 'rewrite' and 'indirect' modes are incompatible\"); use mode insert, prefix or passive
conf/app.yaml:15:17: backends[0].servers[0].weight: expected an integer from 0 to 256, got 300
conf/app.yaml:16:9: backends[0].servers[0].name: duplicate key, first defined at line 13, column 9";
    assert_eq!(shown.as_deref(), Some(expected));
    // Without a position or a path, those parts are left out.
    let errors = ConfigErrors {
        file: "a.yaml".into(),
        errors: vec![
            ConfigError {
                path: String::new(),
                mark: None,
                message: "m1".into(),
            },
            ConfigError {
                path: String::new(),
                mark: Some(Mark { line: 1, col: 2 }),
                message: "m2".into(),
            },
        ],
    };
    assert_eq!(errors.to_string(), "a.yaml: m1\na.yaml:1:2: m2");
    let boxed: Box<dyn std::error::Error> = Box::new(errors);
    assert_eq!(boxed.to_string(), "a.yaml: m1\na.yaml:1:2: m2");
}

#[test]
fn load_file_reads_bytes_and_labels_errors_with_the_path() {
    let path = temp_file("load_file", "bad.yaml", "frontends: 1\nbackends: []\n");
    let err = load_file(&path).err().map(|e| e.to_string());
    let label = path.display();
    assert_eq!(err, Some(format!("{label}:1:12: frontends: expected a list, got 1\n{label}:2:11: backends: empty list: expected at least one backend")));
    let ok = temp_file("load_file", "ok.yaml", BASE);
    assert_eq!(
        load_file(&ok).map(|l| l.config.backends.len()).ok(),
        Some(1)
    );
    let missing = path.with_file_name("missing.yaml");
    let err = load_file(&missing).err();
    let expected = ConfigErrors {
        file: missing.display().to_string(),
        errors: vec![ConfigError {
            path: String::new(),
            mark: None,
            message: "cannot read the configuration file: No such file or directory (os error 2)"
                .into(),
        }],
    };
    assert_eq!(err, Some(expected));
}
