//! Health checks, failover and hashing with real processes: a server whose /health turns
//! 500 loses its clients within interval × fall, a 404 with `disable_on_404` keeps pinned
//! clients only, a hanging check is cut by its timeout, a backend killed under load costs
//! no request, and consistent hashing moves only the dead server's keys.

mod common;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::admin::Admin;
use common::http::{Conn, Request};
use common::ports::free_addr;
use common::rig::Rig;
use common::tether::echo;

const CHECK: &str = "    health_check: { type: http, method: GET, path: /health, interval: 200ms, timeout: 200ms, rise: 2, fall: 2 }";
const INSERT: &str = "    cookie: { name: SRV, mode: insert, indirect: true, nocache: true }";

fn start(backend_extra: &str, names: &[&str]) -> Rig {
    Rig::echo(backend_extra, names)
}

fn start_with(
    backend_extra: &str,
    servers: Vec<tether_echo::EchoHandle>,
    list: &[(&str, SocketAddr, &str)],
) -> Rig {
    Rig::start(backend_extra, servers, list, "")
}

fn health(admin: &Admin, s: &str) -> String {
    admin.json(&format!("/api/backends/be/servers/{s}"))["health"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Waits for server `s` to reach `want`; returns how long it took.
fn wait_health(admin: &Admin, s: &str, want: &str) -> Duration {
    let started = Instant::now();
    admin.wait_for(
        &format!("/api/backends/be/servers/{s}"),
        &format!("{s} {want}"),
        |v| v["health"] == want,
    );
    started.elapsed()
}

#[test]
fn failing_health_check_moves_clients_within_interval_times_fall() {
    let s = start(&format!("{CHECK}\n{INSERT}"), &["s1", "s2", "s3"]);
    let pinned = Request::get("/")
        .header("Cookie", "SRV=s1")
        .send(s.listen)
        .unwrap();
    assert_eq!(pinned.server(), Some("s1"));
    // Let s1's first check succeed so that it takes `fall` failures to go down.
    thread::sleep(Duration::from_millis(300));

    s.servers[0].set_health(500);
    let detected = wait_health(&s.admin, "s1", "down");
    eprintln!("health 500 -> down in {detected:?} (interval 200 ms x fall 2)");
    assert!(
        detected <= Duration::from_millis(200 * 3 + 300),
        "{detected:?}"
    );
    let moved = Request::get("/")
        .header("Cookie", "SRV=s1")
        .send(s.listen)
        .unwrap();
    assert_ne!(moved.server(), Some("s1"));
    assert_eq!(
        moved.headers_all("set-cookie"),
        [format!("SRV={}; path=/", moved.server().unwrap())],
        "re-pinned with a new cookie"
    );
    let log = s.tether.stderr();
    assert!(
        log.contains("Server be/s1 is DOWN, reason: Layer7 wrong status, code: 500"),
        "{log}"
    );
    assert!(log.contains("2 active and 0 backup servers left"), "{log}");

    s.servers[0].set_health(200);
    wait_health(&s.admin, "s1", "up");
    assert!(s
        .tether
        .stderr()
        .contains("Server be/s1 is UP, reason: Layer7 check passed"));
    let back = Request::get("/")
        .header("Cookie", "SRV=s1")
        .send(s.listen)
        .unwrap();
    assert_eq!(back.server(), Some("s1"));
}

#[test]
fn disable_on_404_keeps_pinned_clients_only() {
    let s = start(
        &format!("    health_check: {{ type: http, method: GET, path: /health, interval: 200ms, timeout: 200ms, rise: 2, fall: 2, disable_on_404: true }}\n{INSERT}"),
        &["s1", "s2"],
    );
    s.servers[0].set_health(404);
    wait_health(&s.admin, "s1", "nolb");
    for _ in 0..4 {
        let pinned = Request::get("/")
            .header("Cookie", "SRV=s1")
            .send(s.listen)
            .unwrap();
        assert_eq!(pinned.server(), Some("s1"), "pinned clients stay");
        let fresh = Request::get("/").send(s.listen).unwrap();
        assert_eq!(fresh.server(), Some("s2"), "no new client");
    }
    assert!(s.tether.stderr().contains(
        "Server be/s1 is stopping, reason: Layer7 check conditionally passed, code: 404"
    ));
}

#[test]
fn a_hanging_check_is_cut_by_its_timeout_and_tcp_checks_work() {
    // Accepts connections and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let first_check = Arc::new(std::sync::Mutex::new(String::new()));
    let holder = {
        let (stop, first_check) = (stop.clone(), first_check.clone());
        silent.set_nonblocking(true).unwrap();
        thread::spawn(move || {
            let mut held = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                if let Ok((mut c, _)) = silent.accept() {
                    let mut buf = [0u8; 1024];
                    c.set_nonblocking(false).unwrap();
                    c.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
                    let n = std::io::Read::read(&mut c, &mut buf).unwrap_or(0);
                    let mut first = first_check.lock().unwrap();
                    if first.is_empty() {
                        *first = String::from_utf8_lossy(&buf[..n]).into_owned();
                    }
                    held.push(c);
                }
                thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let s1 = echo("s1");
    let list = [("s1", s1.addr(), ""), ("hang", silent_addr, "")];
    let s = start_with(&format!("{CHECK}\n{INSERT}"), vec![s1], &list);
    let took = wait_health(&s.admin, "hang", "down");
    eprintln!("hanging server detected down in {took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(s
        .tether
        .stderr()
        .contains("Server be/hang is DOWN, reason: Layer7 timeout"));
    assert_eq!(health(&s.admin, "s1"), "up");
    stop.store(true, Ordering::Relaxed);
    holder.join().unwrap();

    // A TCP check on a port where nothing listens; `check: false` is never probed.
    let alive = echo("alive");
    let dead = free_addr();
    let unchecked = free_addr();
    let list = [
        ("alive", alive.addr(), ""),
        ("dead", dead, ""),
        ("unchecked", unchecked, "check: false"),
    ];
    let t = start_with(
        "    health_check: { type: tcp, interval: 200ms, timeout: 200ms, rise: 1, fall: 1 }",
        vec![alive],
        &list,
    );
    wait_health(&t.admin, "dead", "down");
    assert!(t
        .tether
        .stderr()
        .contains("Server be/dead is DOWN, reason: Layer4 connection problem"));
    assert_eq!(health(&t.admin, "alive"), "up");
    assert_eq!(health(&t.admin, "unchecked"), "up");
}

/// The kill test: 20 keep-alive clients with cookie jars hammer three servers;
/// one server dies mid-run; no client sees an error, and its clients are re-pinned.
#[test]
fn killing_a_backend_under_load_costs_no_request() {
    let mut s = start(
        &format!("{CHECK}\n    retries: 3\n    redispatch: true\n    timeouts: {{ connect: 100ms, server: 5s, queue: 5s }}\n{INSERT}"),
        &["s1", "s2", "s3"],
    );
    let listen = s.listen;
    let total = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let killed = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..20)
        .map(|c| {
            let (total, errors, killed) = (total.clone(), errors.clone(), killed.clone());
            thread::spawn(move || {
                let mut jar: Option<String> = None;
                let mut served_after_kill = Vec::new();
                let mut conn = Conn::open(listen).expect("conn");
                let mut done_after_kill = 0;
                while done_after_kill < 100 {
                    // Sent after the kill completed (a response may arrive just after it
                    // from a request s2 answered before dying).
                    let sent_after_kill = killed.load(Ordering::Relaxed);
                    // Slow enough answers that the kill finds requests inside s2.
                    let mut req = Request::get(&format!("/c{c}")).header("x-echo-delay-ms", "5");
                    if let Some(cookie) = &jar {
                        req = req.header("Cookie", cookie.clone());
                    }
                    let resp = conn.send(&req).or_else(|_| {
                        conn = Conn::open(listen)?;
                        conn.send(&req)
                    });
                    total.fetch_add(1, Ordering::Relaxed);
                    match resp {
                        Ok(r) if r.status == 200 => {
                            if let Some(sc) = r.headers_all("set-cookie").first() {
                                jar = Some(sc.split(';').next().unwrap_or_default().to_string());
                            }
                            if sent_after_kill {
                                done_after_kill += 1;
                                served_after_kill.push(r.server().unwrap_or_default().to_string());
                            }
                        }
                        other => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            eprintln!("client {c}: {:?}", other.map(|r| (r.status, r.text())));
                        }
                    }
                }
                (jar, served_after_kill)
            })
        })
        .collect();
    // Kill s2 once the load is steady.
    while total.load(Ordering::Relaxed) < 1500 {
        thread::sleep(Duration::from_millis(5));
    }
    let before_kill = total.load(Ordering::Relaxed);
    let killed_at = Instant::now();
    s.servers[1].stop_in_place();
    killed.store(true, Ordering::Relaxed);
    wait_health(&s.admin, "s2", "down");
    let detected = killed_at.elapsed();
    let results: Vec<_> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let total = total.load(Ordering::Relaxed);
    let errors = errors.load(Ordering::Relaxed);
    eprintln!(
        "kill under load: {total} requests ({before_kill} before the kill), {errors} client errors, s2 detected down after {detected:?}"
    );
    assert_eq!(errors, 0, "no client saw an error");
    assert!(total >= 3500, "{total}");
    for (jar, served) in &results {
        assert!(
            served.iter().all(|s| s != "s2"),
            "nobody is served by the dead server: {served:?}"
        );
        assert!(
            jar.as_deref().is_some_and(|j| j != "SRV=s2"),
            "re-pinned: {jar:?}"
        );
    }
    let log = s.tether.stdout();
    assert!(log.contains("be/s1") && log.contains("be/s3"));
}

#[test]
fn consistent_hashing_moves_only_the_dead_servers_keys() {
    let s = start(
        &format!("    balance: uri\n    hash_type: consistent\n{CHECK}"),
        &["s1", "s2", "s3", "s4"],
    );
    let keys: Vec<String> = (0..2000).map(|i| format!("/item/{i}")).collect();
    let map = |s: &Rig| -> HashMap<String, String> {
        keys.iter()
            .map(|k| {
                let r = Request::get(k).send(s.listen).unwrap();
                (k.clone(), r.server().unwrap().to_string())
            })
            .collect()
    };
    let before = map(&s);
    s.servers[1].set_health(500);
    wait_health(&s.admin, "s2", "down");
    let after = map(&s);
    let on_s2 = before.values().filter(|v| *v == "s2").count();
    let moved: Vec<&String> = keys.iter().filter(|k| before[*k] != after[*k]).collect();
    let fraction = moved.len() as f64 / keys.len() as f64;
    eprintln!(
        "consistent hashing, 1 of 4 servers down: {} of {} keys moved ({:.1}%), {} were on s2",
        moved.len(),
        keys.len(),
        100.0 * fraction,
        on_s2
    );
    assert!(
        moved.iter().all(|k| before[*k] == "s2"),
        "only s2's keys move"
    );
    assert_eq!(moved.len(), on_s2, "all of s2's keys move");
    assert!((0.10..=0.40).contains(&fraction), "{fraction}");
    s.servers[1].set_health(200);
    wait_health(&s.admin, "s2", "up");
    assert_eq!(map(&s), before, "every key comes back");
}

/// A server that reads each request and closes the connection without answering (an
/// "empty response", HAProxy `retry-on empty-response`).
fn closer() -> (SocketAddr, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(AtomicU64::new(0));
    let count = seen.clone();
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut buf = [0u8; 4096];
            let _ = std::io::Read::read(&mut conn, &mut buf);
            count.fetch_add(1, Ordering::Relaxed);
        }
    });
    (addr, seen)
}

#[test]
fn safe_requests_that_get_no_answer_are_failed_over_to_another_server() {
    let (bad, seen) = closer();
    let good = echo("good");
    let list = [("bad", bad, ""), ("good", good.addr(), "")];
    let s = start_with(&format!("{INSERT}\n    retries: 3"), vec![good], &list);
    // Round robin starts with `bad`: the GET is failed over, re-pinned to `good`.
    let r = Request::get("/").send(s.listen).unwrap();
    assert_eq!((r.status, r.server()), (200, Some("good")));
    assert_eq!(r.headers_all("set-cookie"), ["SRV=good; path=/"]);
    // A client pinned to the failing server is moved too.
    let pinned = Request::get("/")
        .header("Cookie", "SRV=bad")
        .send(s.listen)
        .unwrap();
    assert_eq!((pinned.status, pinned.server()), (200, Some("good")));
    assert_eq!(pinned.headers_all("set-cookie"), ["SRV=good; path=/"]);
    let lines = s.tether.log_lines(2);
    assert!(
        lines[1].contains(" be/good ") && lines[1].contains(" --DI +1 "),
        "{}",
        lines[1]
    );
    // A POST is not replayed: HAProxy's 502.
    let before = seen.load(Ordering::Relaxed);
    let post = Request::post("/")
        .header("Cookie", "SRV=bad")
        .body("x=1")
        .send(s.listen)
        .unwrap();
    assert_eq!(post.status, 502);
    assert_eq!(seen.load(Ordering::Relaxed), before + 1, "sent once");
}
