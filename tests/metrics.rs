//! `/metrics` against a running tether: what is counted, counted once per request, and
//! every metric the Grafana dashboard queries really exported.

mod common;

use std::collections::BTreeSet;

use common::admin::Admin;
use common::http::Request;
use common::ports::free_addr;
use common::rig::Rig;
use common::tether::{config, echo, Tether};

fn metrics(admin: &Admin) -> String {
    let r = admin.get("/metrics");
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/plain")));
    r.text()
}

/// `/metrics` once `n` requests have been counted: requests are counted in the logging
/// phase, just after their response left, so a scrape right after the last response may
/// precede its count.
fn metrics_after(admin: &Admin, n: f64) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let text = metrics(admin);
        let counted: f64 = text
            .lines()
            .filter(|l| l.starts_with("tether_request_duration_seconds_count{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        if counted >= n || std::time::Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// The value of the sample `name{labels}` (labels in Prometheus' sorted order).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no sample {series} in:\n{text}"))
}

fn start(extra: &str) -> Rig {
    Rig::echo(extra, &["s1", "s2"])
}

#[test]
fn requests_reasons_and_cookies_are_counted_once_per_request() {
    let s = start("    cookie: { name: SRV, mode: insert, indirect: true }");
    for _ in 0..3 {
        Request::get("/").send(s.listen).unwrap();
    }
    for _ in 0..2 {
        Request::get("/")
            .header("Cookie", "SRV=s2")
            .send(s.listen)
            .unwrap();
    }
    Request::get("/")
        .header("Cookie", "SRV=zz")
        .send(s.listen)
        .unwrap();
    s.admin.set_state("be", "s1", "maint");
    Request::get("/")
        .header("Cookie", "SRV=s1")
        .send(s.listen)
        .unwrap();
    let m = metrics_after(&s.admin, 7.0);
    let r = |reason: &str| {
        sample(
            &m,
            &format!("tether_persistence_total{{backend=\"be\",reason=\"{reason}\"}}"),
        )
    };
    assert_eq!(
        (r("none"), r("valid"), r("invalid"), r("server_maint")),
        (3.0, 2.0, 1.0, 1.0),
        "{m}"
    );
    let total: f64 = m
        .lines()
        .filter(|l| l.starts_with("tether_persistence_total{backend=\"be\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(total, 7.0, "one reason per request");
    assert_eq!(
        sample(
            &m,
            "tether_cookies_total{action=\"inserted\",backend=\"be\"}"
        ),
        5.0
    );
    let ok = sample(
        &m,
        "tether_requests_total{backend=\"be\",class=\"2xx\",server=\"s1\"}",
    ) + sample(
        &m,
        "tether_requests_total{backend=\"be\",class=\"2xx\",server=\"s2\"}",
    );
    assert_eq!(ok, 7.0);
    assert_eq!(
        sample(
            &m,
            "tether_server_state{backend=\"be\",server=\"s1\",state=\"maint\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &m,
            "tether_server_state{backend=\"be\",server=\"s1\",state=\"ready\"}"
        ),
        0.0
    );
    assert_eq!(
        sample(
            &m,
            "tether_server_health{backend=\"be\",health=\"up\",server=\"s2\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &m,
            "tether_request_duration_seconds_count{backend=\"be\",frontend=\"fe\"}"
        ),
        7.0
    );
    assert_eq!(
        sample(
            &m,
            "tether_upstream_response_seconds_count{backend=\"be\",server=\"s2\"}"
        ) + sample(
            &m,
            "tether_upstream_response_seconds_count{backend=\"be\",server=\"s1\"}"
        ),
        7.0
    );
}

#[test]
fn retries_and_redispatches_count_attempts_once() {
    let dead = free_addr();
    let alive = echo("alive");
    let listen = free_addr();
    let admin = free_addr();
    let list = [("dead", dead, ""), ("alive", alive.addr(), "")];
    let yaml = config(
        listen,
        "    cookie: { name: SRV, mode: insert, indirect: true }\n    retries: 2\n    redispatch: true\n    timeouts: { connect: 100ms, server: 5s, queue: 1s }",
        &list,
        &format!("admin:\n  listen: \"{admin}\""),
    );
    let _t = Tether::start(&yaml, listen, Some(admin));
    let api = Admin::new(admin);
    let r = Request::get("/")
        .header("Cookie", "SRV=dead")
        .send(listen)
        .unwrap();
    assert_eq!(r.server(), Some("alive"));
    let m = metrics_after(&api, 1.0);
    // Two attempts on the dead server, then the last retry redispatched.
    assert_eq!(
        sample(
            &m,
            "tether_redispatches_total{backend=\"be\",server=\"dead\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &m,
            "tether_persistence_total{backend=\"be\",reason=\"redispatched\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &m,
            "tether_requests_total{backend=\"be\",class=\"2xx\",server=\"alive\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &m,
            "tether_requests_total{backend=\"be\",class=\"2xx\",server=\"dead\"}"
        ),
        0.0
    );
    // Both retries are counted on the server whose attempts failed, none on the one
    // that finally answered.
    assert_eq!(
        sample(&m, "tether_retries_total{backend=\"be\",server=\"dead\"}"),
        2.0
    );
    assert_eq!(
        sample(&m, "tether_retries_total{backend=\"be\",server=\"alive\"}"),
        0.0
    );
}

#[test]
fn app_session_metrics() {
    let s = start("    app_session: { key: \"header:X-S\", timeout: 1h }");
    Request::get("/").header("X-S", "a").send(s.listen).unwrap();
    Request::get("/").header("X-S", "a").send(s.listen).unwrap();
    Request::get("/").send(s.listen).unwrap();
    s.admin
        .wait_for("/api/backends/be/servers/s1", "sweep", |v| {
            v["sticky_sessions"] == 1
        });
    let m = metrics_after(&s.admin, 3.0);
    let r = |reason: &str| {
        sample(
            &m,
            &format!("tether_persistence_total{{backend=\"be\",reason=\"{reason}\"}}"),
        )
    };
    assert_eq!(
        (r("app_session_learned"), r("app_session_hit"), r("none")),
        (1.0, 1.0, 1.0)
    );
    assert_eq!(
        sample(
            &m,
            "tether_app_session_entries{backend=\"be\",server=\"s1\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(&m, "tether_app_session_evictions_total{backend=\"be\"}"),
        0.0
    );
}

/// Every PromQL query of dashboards/tether.json.
fn dashboard_queries() -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dashboards/tether.json");
    let text = std::fs::read_to_string(path).expect("dashboard");
    let dash: serde_json::Value = serde_json::from_str(&text).expect("dashboard is JSON");
    assert!(
        dash["templating"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["type"] == "datasource" && v["query"] == "prometheus"),
        "the dashboard has a Prometheus datasource variable"
    );
    let mut queries = Vec::new();
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    if (k == "expr" || k == "definition") && v.is_string() {
                        out.push(v.as_str().unwrap().to_string());
                    } else {
                        walk(v, out);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(&dash, &mut queries);
    assert!(queries.len() >= 15, "{queries:?}");
    queries
}

/// Every `tether_*` metric the dashboard queries, histogram suffixes included.
fn dashboard_metrics() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for q in &dashboard_queries() {
        let bytes = q.as_bytes();
        let mut i = 0;
        while let Some(pos) = q[i..].find("tether_") {
            let start = i + pos;
            let end = bytes[start..]
                .iter()
                .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
                .map_or(q.len(), |p| start + p);
            names.insert(q[start..end].to_string());
            i = end;
        }
    }
    names
}

/// A ratio over an idle backend is 0/0: it must show no value, not 0% (which reads as
/// "stickiness is broken"). PromQL's `x / (y > 0)` drops the series when y is 0;
/// `clamp_min(y, ε)` turned it into 0.
#[test]
fn dashboard_ratios_show_no_value_without_traffic() {
    let ratios: Vec<String> = dashboard_queries()
        .into_iter()
        .filter(|q| q.contains(" / "))
        .collect();
    assert!(ratios.len() >= 3, "{ratios:?}");
    for q in &ratios {
        assert!(!q.contains("clamp_min"), "{q}");
        let denominator = q.rsplit(" / ").next().unwrap_or_default().trim();
        assert!(
            denominator.starts_with('(') && denominator.ends_with(" > 0)"),
            "the denominator of {q} is not filtered to non-zero values"
        );
    }
}

#[test]
fn every_metric_the_dashboard_queries_is_exported() {
    let s = start(
        "    cookie: { name: SRV, mode: insert, indirect: true }\n    app_session: { cookie: JSESSIONID, timeout: 1h }\n    health_check: { type: http, path: /health, method: GET, interval: 1s, timeout: 500ms }",
    );
    Request::get("/").send(s.listen).unwrap();
    let exported = metrics(&s.admin);
    let names = dashboard_metrics();
    assert!(names.len() >= 12, "{names:?}");
    for name in &names {
        let present = exported
            .lines()
            .any(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")));
        assert!(
            present,
            "the dashboard queries {name}, which tether does not export"
        );
    }
}
