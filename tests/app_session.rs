//! Learned session persistence (`app_session:`) with the real binary in front of real
//! applications that issue their own session ids: PHP (PHPSESSID, set once, ids also in
//! the URL), Java (JSESSIONID with `;jsessionid=`), ASP.NET, and clients that carry no
//! application cookie (`key: src | header | url_param`).

mod common;

use std::collections::HashMap;

use common::http::{Request, Response};
use common::rig::Rig;
use tether_echo::Behaviour;

/// Three applications behind tether with `backend_extra` (4-space indented YAML).
fn start(backend_extra: &str, behaviour: impl Fn(&str) -> Behaviour) -> Rig {
    Rig::echo_with(backend_extra, &["s1", "s2", "s3"], behaviour)
}

fn session_id(r: &Response, name: &str) -> Option<String> {
    r.headers_all("set-cookie").iter().find_map(|c| {
        let first = c.split(';').next()?;
        let (n, v) = first.split_once('=')?;
        (n.trim() == name).then(|| v.trim().to_string())
    })
}

fn php() -> impl Fn(&str) -> Behaviour {
    |_| Behaviour::default().with_session_cookie("PHPSESSID")
}

/// The issue's "done when": a PHP-style application (PHPSESSID set once, never again)
/// keeps every client on its server across thousands of requests, with cookies and with
/// URL ids (cookie-less clients).
#[test]
fn php_app_keeps_every_client_on_its_server_with_and_without_cookies() {
    let s = start(
        "    app_session: { cookie: PHPSESSID, mode: query-string, timeout: 30m }",
        php(),
    );
    let mut clients: Vec<(String, String)> = Vec::new();
    for _ in 0..30 {
        let r = Request::get("/login").send(s.listen).expect("first visit");
        let id = session_id(&r, "PHPSESSID").expect("the application issued a session");
        clients.push((id, r.server().expect("x-server").to_string()));
    }
    let spread: std::collections::HashSet<&str> = clients.iter().map(|c| c.1.as_str()).collect();
    assert_eq!(
        spread.len(),
        3,
        "new clients were balanced over all servers"
    );
    let mut requests = 0;
    for round in 0..60 {
        for (id, owner) in &clients {
            let req = if round % 2 == 0 {
                Request::get("/page").header("Cookie", format!("lang=en; PHPSESSID={id}"))
            } else {
                Request::get(&format!("/page?x={round}&PHPSESSID={id}"))
            };
            let r = req.send(s.listen).expect("request");
            requests += 1;
            assert_eq!(r.server(), Some(owner.as_str()), "round {round}, id {id}");
            assert!(
                session_id(&r, "PHPSESSID").is_none(),
                "no new session was needed"
            );
        }
    }
    assert_eq!(requests, 1800);
    let table = s.admin.json("/api/backends/be/app_sessions?limit=100");
    assert_eq!(table["entries"], 30);
}

#[test]
fn java_ids_in_path_parameters() {
    let s = start(
        "    app_session: { cookie: JSESSIONID, len: 52, timeout: 3h }",
        |_| Behaviour::default().with_session_cookie("JSESSIONID"),
    );
    let first = Request::get("/app/").send(s.listen).expect("first");
    let id = session_id(&first, "JSESSIONID").expect("session");
    let owner = first.server().expect("server").to_string();
    for i in 0..20 {
        // Cookie-less client: the id rides in the URL, case-insensitive name.
        let name = if i % 2 == 0 {
            "jsessionid"
        } else {
            "JSESSIONID"
        };
        let r = Request::get(&format!("/app/page;{name}={id}?n={i}"))
            .send(s.listen)
            .expect("r");
        assert_eq!(r.server(), Some(owner.as_str()));
    }
    // An id after `?` is not a path parameter: balanced like any new client.
    let servers: Vec<String> = (0..3)
        .map(|_| {
            Request::get(&format!("/app/?jsessionid={id}"))
                .send(s.listen)
                .expect("r")
                .server()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert!(servers.iter().any(|x| x != &owner), "{servers:?}");
}

#[test]
fn asp_net_exact_name_and_classic_asp_prefix() {
    let s = start(
        "    app_session: { cookie: ASP.NET_SessionId, timeout: 20m }",
        |_| Behaviour::default().with_session_cookie("ASP.NET_SessionId"),
    );
    let first = Request::get("/").send(s.listen).expect("first");
    let id = session_id(&first, "ASP.NET_SessionId").expect("session");
    for _ in 0..10 {
        let r = Request::get("/")
            .header("Cookie", format!("ASP.NET_SessionId={id}"))
            .send(s.listen)
            .expect("r");
        assert_eq!(r.server(), first.server());
    }

    // Classic ASP names the cookie ASPSESSIONID<random>: prefix matching, the key is the
    // rest of `name=value` after the prefix.
    let asp = start(
        "    app_session: { cookie: ASPSESSIONID, prefix: true, timeout: 20m }",
        |name| {
            let suffix = name.to_uppercase();
            Behaviour::default().with_header(
                "Set-Cookie",
                &format!("ASPSESSIONIDQQ{suffix}=V{suffix}; path=/"),
            )
        },
    );
    let first = Request::get("/").send(asp.listen).expect("first");
    let owner = first.server().expect("server").to_string();
    let cookie = first.headers_all("set-cookie")[0]
        .split(';')
        .next()
        .unwrap()
        .to_string();
    for _ in 0..6 {
        let r = Request::get("/")
            .header("Cookie", &cookie)
            .send(asp.listen)
            .expect("r");
        assert_eq!(r.server(), Some(owner.as_str()), "{cookie}");
    }
    let items = asp.admin.json("/api/backends/be/app_sessions");
    let keys: Vec<&str> = items["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap())
        .collect();
    assert!(
        keys.contains(&format!("QQ{}=V{}", owner.to_uppercase(), owner.to_uppercase()).as_str()),
        "{keys:?}"
    );
}

#[test]
fn any_cookie_the_server_sets_with_star() {
    let s = start("    app_session: { cookie: \"*\", timeout: 20m }", |name| {
        Behaviour::default().with_header("Set-Cookie", &format!("cart={name}-cart; Path=/"))
    });
    let first = Request::get("/").send(s.listen).expect("first");
    let owner = first.server().unwrap().to_string();
    for _ in 0..6 {
        let r = Request::get("/")
            .header("Cookie", format!("theme=dark; cart={owner}-cart"))
            .send(s.listen)
            .expect("r");
        assert_eq!(r.server(), Some(owner.as_str()));
    }
}

#[test]
fn deleting_the_application_cookie_forgets_the_session() {
    let s = start(
        "    app_session: { cookie: PHPSESSID, timeout: 20m }",
        php(),
    );
    let first = Request::get("/").send(s.listen).expect("first");
    let id = session_id(&first, "PHPSESSID").unwrap();
    assert_eq!(s.admin.json("/api/backends/be/app_sessions")["entries"], 1);
    // Logout: the application expires the cookie.
    let logout = Request::get("/logout")
        .header("Cookie", format!("PHPSESSID={id}"))
        .header("x-echo-header", "Set-Cookie: PHPSESSID=deleted; expires=Thu, 01-Jan-1970 00:00:01 GMT; Max-Age=0; path=/")
        .send(s.listen)
        .expect("logout");
    assert_eq!(logout.server(), first.server());
    assert_eq!(s.admin.json("/api/backends/be/app_sessions")["entries"], 0);
    // Without a persistence cookie the log's cookie flags tell the table's story:
    // no id / learned, then id honoured / deleted.
    let lines = s.tether.log_lines(2);
    assert!(lines[0].contains(" --NI "), "{}", lines[0]);
    assert!(lines[1].contains(" --VD "), "{}", lines[1]);
}

#[test]
fn maint_moves_the_client_and_its_entry_follows_drain_keeps_it() {
    let s = start(
        "    app_session: { cookie: PHPSESSID, timeout: 20m }",
        php(),
    );
    let first = Request::get("/").send(s.listen).expect("first");
    let id = session_id(&first, "PHPSESSID").unwrap();
    let owner = first.server().unwrap().to_string();
    let with_id = || {
        Request::get("/")
            .header("Cookie", format!("PHPSESSID={id}"))
            .send(s.listen)
            .expect("r")
    };

    s.admin.set_state("be", &owner, "drain");
    assert_eq!(
        with_id().server(),
        Some(owner.as_str()),
        "drain keeps its sessions"
    );
    for _ in 0..4 {
        let fresh = Request::get("/").send(s.listen).expect("new client");
        assert_ne!(
            fresh.server(),
            Some(owner.as_str()),
            "drain takes no new client"
        );
    }

    s.admin.set_state("be", &owner, "maint");
    let moved = with_id();
    let new_owner = moved.server().unwrap().to_string();
    assert_ne!(new_owner, owner, "maint moves the client");
    let items = s.admin.json("/api/backends/be/app_sessions");
    let entry = items["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(
        entry["server"],
        new_owner.as_str(),
        "the entry follows the client"
    );

    s.admin.set_state("be", &owner, "ready");
    assert_eq!(
        with_id().server(),
        Some(new_owner.as_str()),
        "and stays with it"
    );
}

#[test]
fn failover_false_answers_502_until_the_id_is_gone() {
    let s = start(
        "    failover: false\n    app_session: { cookie: PHPSESSID, timeout: 20m }",
        php(),
    );
    let first = Request::get("/").send(s.listen).expect("first");
    let id = session_id(&first, "PHPSESSID").unwrap();
    let owner = first.server().unwrap().to_string();
    s.admin.set_state("be", &owner, "maint");
    let with_id = || {
        Request::get("/")
            .header("Cookie", format!("PHPSESSID={id}"))
            .send(s.listen)
            .expect("r")
    };
    assert_eq!(with_id().status, 502);
    assert_eq!(with_id().status, 502, "still pinned");
    let gone = s
        .admin
        .delete(&format!("/api/backends/be/app_sessions/{id}"));
    assert_eq!(gone.status, 204);
    let r = with_id();
    assert_eq!(r.status, 200);
    assert_ne!(r.server(), Some(owner.as_str()));
    assert_eq!(
        s.admin
            .delete(&format!("/api/backends/be/app_sessions/{id}x"))
            .status,
        404
    );
}

#[test]
fn client_address_persistence() {
    let s = start("    app_session: { key: src, timeout: 10m }", |_| {
        Behaviour::default()
    });
    let first = Request::get("/").send(s.listen).expect("first");
    let owner = first.server().unwrap().to_string();
    for _ in 0..5 {
        assert_eq!(
            Request::get("/").send(s.listen).unwrap().server(),
            Some(owner.as_str())
        );
    }
    let listed = s.admin.json("/api/backends/be/app_sessions");
    assert_eq!(listed["items"][0]["key"], "127.0.0.1");
    assert_eq!(
        s.admin
            .delete("/api/backends/be/app_sessions/127.0.0.1")
            .status,
        204
    );
    let next = Request::get("/").send(s.listen).unwrap();
    assert_ne!(
        next.server(),
        Some(owner.as_str()),
        "re-balanced after the entry was removed"
    );
}

#[test]
fn header_and_url_parameter_keys() {
    let s = start(
        "    app_session: { key: \"header:X-Session\", timeout: 10m }",
        |_| Behaviour::default(),
    );
    let mut owners = HashMap::new();
    for user in ["alice", "bob", "carol", "dave"] {
        let r = Request::get("/")
            .header("X-Session", user)
            .send(s.listen)
            .unwrap();
        owners.insert(user, r.server().unwrap().to_string());
    }
    for _ in 0..3 {
        for (user, owner) in &owners {
            let r = Request::get("/")
                .header("X-Session", user)
                .send(s.listen)
                .unwrap();
            assert_eq!(r.server(), Some(owner.as_str()), "{user}");
        }
    }
    let q = start(
        "    app_session: { key: \"url_param:sid\", timeout: 10m }",
        |_| Behaviour::default(),
    );
    let first = Request::get("/a?x=1&sid=42").send(q.listen).unwrap();
    for _ in 0..4 {
        let r = Request::get("/b?sid=42&y=2").send(q.listen).unwrap();
        assert_eq!(r.server(), first.server());
    }
}

/// The persistence cookie decides first; the entry stays with its owner, which is still
/// available (HAProxy 1.5's appsession never re-pointed an entry), also when the server
/// the cookie chose sets the same id again.
#[test]
fn the_persistence_cookie_takes_precedence_and_the_entry_stays_with_its_owner() {
    let s = start(
        "    cookie: { name: SRV, mode: insert, indirect: true }\n    app_session: { cookie: PHPSESSID, timeout: 20m }",
        php(),
    );
    let first = Request::get("/").send(s.listen).unwrap();
    let id = session_id(&first, "PHPSESSID").unwrap();
    let owner = first.server().unwrap().to_string();
    let other = if owner == "s1" { "s2" } else { "s1" };
    let r = Request::get("/")
        .header("Cookie", format!("SRV={other}; PHPSESSID={id}"))
        .header(
            "x-echo-header",
            format!("Set-Cookie: PHPSESSID={id}; path=/"),
        )
        .send(s.listen)
        .unwrap();
    assert_eq!(r.server(), Some(other), "the cookie decides");
    assert!(r
        .headers_all("set-cookie")
        .iter()
        .any(|c| c.starts_with(&format!("PHPSESSID={id}"))));
    let r = Request::get("/")
        .header("Cookie", format!("PHPSESSID={id}"))
        .send(s.listen)
        .unwrap();
    assert_eq!(r.server(), Some(owner.as_str()), "the entry did not move");
}

#[test]
fn request_learn_learns_ids_from_requests() {
    let without = start(
        "    app_session: { cookie: JSESSIONID, timeout: 10m }",
        |_| Behaviour::default(),
    );
    Request::get("/")
        .header("Cookie", "JSESSIONID=client-made")
        .send(without.listen)
        .unwrap();
    assert_eq!(
        without.admin.json("/api/backends/be/app_sessions")["entries"],
        0
    );

    let with = start(
        "    app_session: { cookie: JSESSIONID, request_learn: true, timeout: 10m }",
        |_| Behaviour::default(),
    );
    let first = Request::get("/")
        .header("Cookie", "JSESSIONID=client-made")
        .send(with.listen)
        .unwrap();
    assert_eq!(
        with.admin.json("/api/backends/be/app_sessions")["entries"],
        1
    );
    for _ in 0..4 {
        let r = Request::get("/")
            .header("Cookie", "JSESSIONID=client-made")
            .send(with.listen)
            .unwrap();
        assert_eq!(r.server(), first.server());
    }
}

#[test]
fn ignore_persist_disables_lookup_and_learning() {
    let s = start(
        "    ignore_persist: [ { path_prefix: /static } ]\n    app_session: { key: \"header:X-Session\", timeout: 10m }",
        |_| Behaviour::default(),
    );
    for _ in 0..3 {
        Request::get("/static/a.js")
            .header("X-Session", "zed")
            .send(s.listen)
            .unwrap();
    }
    assert_eq!(s.admin.json("/api/backends/be/app_sessions")["entries"], 0);
    let servers: std::collections::HashSet<String> = (0..3)
        .map(|_| {
            Request::get("/static/a.js")
                .header("X-Session", "zed")
                .send(s.listen)
                .unwrap()
                .server()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(servers.len(), 3, "balanced, not pinned");
}

#[test]
fn the_table_is_bounded_and_bad_ids_are_ignored() {
    let s = start(
        "    app_session: { key: \"header:X-Session\", timeout: 10m, max_entries: 50, len: 8 }",
        |_| Behaviour::default(),
    );
    for i in 0..500 {
        Request::get("/")
            .header("X-Session", format!("user-{i}"))
            .send(s.listen)
            .unwrap();
    }
    let n = s.admin.json("/api/backends/be/app_sessions")["entries"]
        .as_u64()
        .unwrap();
    assert!(n <= 50, "{n} entries for max_entries 50");

    let b = start(
        "    app_session: { key: \"header:X-Session\", timeout: 10m, len: 8 }",
        |_| Behaviour::default(),
    );
    let long = "x".repeat(5000);
    assert_eq!(
        Request::get("/")
            .header("X-Session", &long)
            .send(b.listen)
            .unwrap()
            .status,
        200
    );
    assert_eq!(
        Request::get("/")
            .header("X-Session", "")
            .send(b.listen)
            .unwrap()
            .status,
        200
    );
    assert_eq!(
        b.admin.json("/api/backends/be/app_sessions")["entries"],
        0,
        "over 4 KiB and empty ids are ignored"
    );
    Request::get("/")
        .header("X-Session", "abcdefghijkl")
        .send(b.listen)
        .unwrap();
    let items = b.admin.json("/api/backends/be/app_sessions");
    assert_eq!(
        items["items"][0]["key"], "abcdefgh",
        "truncated to len, not rejected"
    );
}

#[test]
fn admin_api_lists_counts_and_validates() {
    let s = start(
        "    app_session: { cookie: PHPSESSID, timeout: 20m }",
        php(),
    );
    let mut per_server: HashMap<String, u64> = HashMap::new();
    for _ in 0..9 {
        let r = Request::get("/").send(s.listen).unwrap();
        *per_server
            .entry(r.server().unwrap().to_string())
            .or_default() += 1;
    }
    let listed = s.admin.json("/api/backends/be/app_sessions?limit=4");
    assert_eq!(listed["entries"], 9);
    assert_eq!(listed["items"].as_array().unwrap().len(), 4);
    for item in listed["items"].as_array().unwrap() {
        assert!(
            item["idle_s"].as_u64().is_some() && item["server"].is_string(),
            "{item}"
        );
    }
    for (server, n) in &per_server {
        s.admin.wait_server("be", server, "sticky_sessions", *n);
    }
    assert_eq!(
        s.admin
            .get("/api/backends/be/app_sessions?limit=abc")
            .status,
        400
    );
    assert_eq!(s.admin.get("/api/backends/nope/app_sessions").status, 404);
    assert_eq!(s.servers.len(), 3);
}
