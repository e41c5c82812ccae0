//! The admin API (docs/admin-api.md) and `tether ctl`, against the real binary:
//! answers, errors (401/400/404 with messages naming what is accepted), changes applied
//! to the next request and logged.

mod common;

use std::process::Command;

use common::admin::Admin;
use common::http::Request;
use common::rig::Rig;
use common::tether::{binary, echo};

struct Setup {
    rig: Rig,
    token_file: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// Two backends and an admin API whose changes need the token `s3cret`.
fn start(backend_extra: &str) -> Setup {
    let servers = vec![echo("s1"), echo("s2")];
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("admin.token");
    std::fs::write(&token_file, "s3cret\n").unwrap();
    let list = [("s1", servers[0].addr(), ""), ("s2", servers[1].addr(), "")];
    // Continues the rig's `admin:` map.
    let top = format!("  token_file: \"{}\"", token_file.display());
    let mut rig = Rig::start(backend_extra, servers, &list, &top);
    rig.admin.token = Some("s3cret".into());
    Setup {
        rig,
        token_file,
        _dir: dir,
    }
}

impl std::ops::Deref for Setup {
    type Target = Rig;
    fn deref(&self) -> &Rig {
        &self.rig
    }
}

const INSERT: &str = "    cookie: { name: SRV, mode: insert, indirect: true }\n    app_session: { key: src, timeout: 1h }";

fn error_of(r: &common::http::Response) -> String {
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON error body");
    v["error"].as_str().expect("error field").to_string()
}

#[test]
fn reads_describe_backends_and_servers() {
    let s = start(INSERT);
    let all = s.admin.json("/api/backends");
    assert_eq!(all[0]["name"], "be");
    assert_eq!(all[0]["balance"], "roundrobin");
    let s1 = &all[0]["servers"][0];
    for field in [
        "name",
        "address",
        "cookie",
        "state",
        "health",
        "weight",
        "active_requests",
        "sticky_sessions",
    ] {
        assert!(!s1[field].is_null(), "ServerView.{field}: {s1}");
    }
    assert_eq!(
        (
            s1["state"].as_str(),
            s1["health"].as_str(),
            s1["weight"].as_u64()
        ),
        (Some("ready"), Some("up"), Some(1))
    );
    let one = s.admin.json("/api/backends/be/servers/s2");
    assert_eq!(one["name"], "s2");
    assert_eq!(one["cookie"], "s2");
    assert_eq!(s.admin.json("/healthz")["status"], "ok");
}

#[test]
fn changes_need_the_token() {
    let s = start(INSERT);
    let anonymous = Admin::new(s.admin.addr);
    let r = anonymous.put("/api/backends/be/servers/s1/state", r#"{"state":"drain"}"#);
    assert_eq!(r.status, 401);
    assert!(error_of(&r).contains("Bearer"));
    let wrong = Admin {
        addr: s.admin.addr,
        token: Some("guess".into()),
    };
    assert_eq!(
        wrong
            .put("/api/backends/be/servers/s1/state", r#"{"state":"drain"}"#)
            .status,
        401
    );
    assert_eq!(
        anonymous
            .delete("/api/backends/be/app_sessions/127.0.0.1")
            .status,
        401
    );
    assert_eq!(
        anonymous.get("/api/backends").status,
        200,
        "reads need no token"
    );
    assert_eq!(
        s.admin.json("/api/backends/be/servers/s1")["state"],
        "ready",
        "nothing changed"
    );
}

#[test]
fn state_and_weight_changes_apply_to_the_next_request_and_are_logged() {
    let s = start(INSERT.lines().next().unwrap());
    let r = s
        .admin
        .put("/api/backends/be/servers/s1/state", r#"{"state":"drain"}"#);
    assert_eq!(r.status, 200);
    let view: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(view["state"], "drain");
    for _ in 0..3 {
        assert_eq!(
            Request::get("/").send(s.listen).unwrap().server(),
            Some("s2"),
            "drained: no new client"
        );
    }
    assert_eq!(
        Request::get("/")
            .header("Cookie", "SRV=s1")
            .send(s.listen)
            .unwrap()
            .server(),
        Some("s1"),
        "its clients stay"
    );

    s.admin.set_state("be", "s1", "ready");
    let r = s
        .admin
        .put("/api/backends/be/servers/s2/weight", r#"{"weight":0}"#);
    assert_eq!(r.status, 200);
    for _ in 0..3 {
        assert_eq!(
            Request::get("/").send(s.listen).unwrap().server(),
            Some("s1"),
            "weight 0: no new client"
        );
    }
    assert_eq!(
        Request::get("/")
            .header("Cookie", "SRV=s2")
            .send(s.listen)
            .unwrap()
            .server(),
        Some("s2")
    );

    let log = s.tether.stderr();
    assert!(log.contains("server be/s1 state ready -> drain"), "{log}");
    assert!(log.contains("server be/s1 state drain -> ready"), "{log}");
    assert!(log.contains("server be/s2 weight 1 -> 0"), "{log}");
    assert!(log.contains("admin 127.0.0.1:"), "who: {log}");
}

#[test]
fn bad_requests_name_what_is_accepted() {
    let s = start(INSERT);
    let cases = [
        (
            "/api/backends/be/servers/s1/state",
            r#"{"state":"up"}"#,
            400,
            "state: expected one of ready, drain, maint, got \"up\"",
        ),
        (
            "/api/backends/be/servers/s1/state",
            r#"{"sate":"drain"}"#,
            400,
            "state: expected one of ready, drain, maint",
        ),
        (
            "/api/backends/be/servers/s1/state",
            "{not json",
            400,
            "body: invalid JSON",
        ),
        (
            "/api/backends/be/servers/s1/weight",
            r#"{"weight":257}"#,
            400,
            "weight: expected an integer from 0 to 256, got 257",
        ),
        (
            "/api/backends/be/servers/s1/weight",
            r#"{"weight":-1}"#,
            400,
            "weight: expected an integer from 0 to 256, got -1",
        ),
        (
            "/api/backends/be/servers/s1/weight",
            r#"{"weight":"x"}"#,
            400,
            "weight: expected an integer from 0 to 256, got \"x\"",
        ),
        (
            "/api/backends/nope/servers/s1/state",
            r#"{"state":"drain"}"#,
            404,
            "no backend named \"nope\"",
        ),
        (
            "/api/backends/be/servers/s9/state",
            r#"{"state":"drain"}"#,
            404,
            "backend \"be\" has no server named \"s9\"",
        ),
    ];
    for (path, body, status, message) in cases {
        let r = s.admin.put(path, body);
        assert_eq!(r.status, status, "{path} {body}");
        let e = error_of(&r);
        assert!(
            e.contains(message),
            "{path} {body}: {e:?} should contain {message:?}"
        );
    }
    assert_eq!(s.admin.get("/api/backends/be/servers/s9").status, 404);
    assert_eq!(s.admin.get("/nope").status, 404);
    // An endpoint that does not exist is 404, an endpoint with another method 405.
    assert_eq!(s.admin.get("/api/backends/be/nothing").status, 404);
    assert_eq!(s.admin.get("/api/backends/be/servers/s1/state").status, 405);
    assert_eq!(s.admin.delete("/api/backends/be/servers/s1").status, 405);
    assert_eq!(s.admin.delete("/metrics").status, 405);
    assert_eq!(
        s.admin.json("/api/backends/be/servers/s1")["state"],
        "ready",
        "nothing changed"
    );
}

fn ctl(s: &Setup, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(binary())
        .arg("ctl")
        .arg("--admin")
        .arg(s.admin.addr.to_string())
        .arg("--token-file")
        .arg(&s.token_file)
        .args(args)
        .output()
        .expect("tether ctl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn tether_ctl_mirrors_the_api() {
    let s = start(INSERT);
    Request::get("/").send(s.listen).unwrap();
    let (code, out, err) = ctl(&s, &["servers"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().next().unwrap().starts_with("BACKEND"), "{out}");
    assert!(
        out.contains("be ") && out.contains("s1") && out.contains("ready") && out.contains("up"),
        "{out}"
    );

    let (code, out, err) = ctl(&s, &["set-state", "be/s2", "maint"]);
    assert_eq!((code, out.trim()), (0, "be/s2: state maint"), "{err}");
    assert_eq!(
        s.admin.json("/api/backends/be/servers/s2")["state"],
        "maint"
    );
    let (code, out, _) = ctl(&s, &["set-weight", "be/s1", "7"]);
    assert_eq!((code, out.trim()), (0, "be/s1: weight 7"));

    let (code, out, _) = ctl(&s, &["sessions", "be"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("1 entries") && out.contains("127.0.0.1"),
        "{out}"
    );
    let (code, _, _) = ctl(&s, &["delete-session", "be", "127.0.0.1"]);
    assert_eq!(code, 0);
    assert_eq!(s.admin.json("/api/backends/be/app_sessions")["entries"], 0);

    let (code, _, err) = ctl(&s, &["set-state", "be/s2", "sideways"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("400: state: expected one of ready, drain, maint"),
        "{err}"
    );
    let (code, _, err) = ctl(&s, &["set-state", "nobackend", "drain"]);
    assert_eq!(code, 1);
    assert!(err.contains("expected BACKEND/SERVER"), "{err}");
}
