//! Differential testing: the same backends behind a real HAProxy 2.6 and behind
//! tether, configured alike; the same requests go through both and what the client and
//! the backend saw is compared.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tether_echo::{self as echo, Behaviour, EchoHandle};

use super::admin::Admin;
use super::haproxy::Haproxy;
use super::http::{Request, Response};
use super::ports::free_addr;
use super::tether::Tether;

/// One server of a scenario, described once for both proxies.
pub struct ServerSpec {
    pub name: &'static str,
    /// Extra words for HAProxy's `server` line (`cookie s1 weight 2 backup`).
    pub haproxy: &'static str,
    /// Extra YAML keys for tether's server map (`cookie: s1, weight: 2, backup: true`).
    pub tether: &'static str,
    /// Nothing listens at the server's address: connections are refused. The address
    /// comes from the test port pool, so no other test can start listening there (a
    /// stopped echo server's ephemeral port could be reused by another test's server).
    pub dead: bool,
}

pub const fn server(name: &'static str, haproxy: &'static str, tether: &'static str) -> ServerSpec {
    ServerSpec {
        name,
        haproxy,
        tether,
        dead: false,
    }
}

pub const fn dead_server(
    name: &'static str,
    haproxy: &'static str,
    tether: &'static str,
) -> ServerSpec {
    ServerSpec {
        name,
        haproxy,
        tether,
        dead: true,
    }
}

/// Two running proxies over the same echo backends.
pub struct Pair {
    pub haproxy: Haproxy,
    pub tether: Tether,
    /// The live servers, in declaration order (dead ones have no handle).
    pub servers: Vec<EchoHandle>,
    /// Every server's address, in declaration order.
    pub addrs: Vec<SocketAddr>,
    pub haproxy_addr: SocketAddr,
    pub tether_addr: SocketAddr,
    /// tether's admin API.
    pub admin: Admin,
    /// Requests sent through both so far: each is logged before the next is sent, so
    /// that the n-th log line of either proxy is the n-th request.
    sent: std::cell::Cell<usize>,
}

/// What one proxy returned for one request, in comparable form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub status: u16,
    pub server: Option<String>,
    /// Set-Cookie lines in order, dates replaced by `<date>` (compared separately).
    pub set_cookies: Vec<String>,
    pub cache_control: Vec<String>,
    /// The Cookie headers the backend received.
    pub backend_cookies: Vec<String>,
}

impl Seen {
    pub fn of(r: &Response) -> Seen {
        Seen {
            status: r.status,
            server: r.server().map(str::to_string),
            set_cookies: r
                .headers_all("set-cookie")
                .iter()
                .map(|c| mask_dates(c))
                .collect(),
            cache_control: r
                .headers_all("cache-control")
                .iter()
                .map(|s| s.to_string())
                .collect(),
            backend_cookies: r.seen_cookies(),
        }
    }
}

/// `GET /` with nothing else.
pub fn get() -> Request {
    Request::get("/")
}

/// `GET /` with one Cookie header.
pub fn with_cookie(cookie: &str) -> Request {
    Request::get("/").header("Cookie", cookie)
}

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Decodes a 5-character cookie date (docs/haproxy-compatibility.md §6) to unix seconds.
pub fn decode_date(s: &str) -> Option<u64> {
    let bytes = s.as_bytes();
    if bytes.len() != 5 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in bytes {
        v = (v << 6) | B64.iter().position(|&c| c == b)? as u64;
    }
    Some(v << 2)
}

/// Encodes unix seconds as a cookie date, exactly as HAProxy does.
pub fn encode_date(t: u64) -> String {
    let v = (t + 3) >> 2;
    (0..5)
        .map(|i| B64[((v >> (24 - 6 * i)) & 63) as usize] as char)
        .collect()
}

/// `SRV=s1|awHs8|awHs8; path=/` → `SRV=s1|<date>|<date>; path=/`.
pub fn mask_dates(set_cookie: &str) -> String {
    let (value, rest) = set_cookie
        .split_once(';')
        .map_or((set_cookie, None), |(v, r)| (v, Some(r)));
    let mut parts = value.split('|');
    let mut out = parts.next().unwrap_or_default().to_string();
    for p in parts {
        out.push('|');
        if decode_date(p).is_some() {
            out.push_str("<date>");
        } else {
            out.push_str(p);
        }
    }
    if let Some(rest) = rest {
        out.push(';');
        out.push_str(rest);
    }
    out
}

/// The dates in a Set-Cookie value, in order.
pub fn dates(set_cookie: &str) -> Vec<u64> {
    let value = set_cookie.split(';').next().unwrap_or_default();
    value.split('|').skip(1).filter_map(decode_date).collect()
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Pair {
    /// `haproxy_backend`/`tether_backend`: the backend's settings (HAProxy lines, YAML
    /// lines indented by four spaces) without servers; `servers` are added to both.
    pub fn start(servers: &[ServerSpec], haproxy_backend: &str, tether_backend: &str) -> Pair {
        Self::start_with(servers, haproxy_backend, tether_backend, |_| {
            Behaviour::default()
        })
    }

    pub fn start_with(
        servers: &[ServerSpec],
        haproxy_backend: &str,
        tether_backend: &str,
        behaviour: impl Fn(&str) -> Behaviour,
    ) -> Pair {
        let mut handles: Vec<EchoHandle> = Vec::new();
        let mut addrs = Vec::new();
        for s in servers {
            if s.dead {
                addrs.push(free_addr());
            } else {
                let addr = "127.0.0.1:0".parse().expect("addr");
                let h = echo::spawn_with(s.name, addr, behaviour(s.name)).expect("echo server");
                addrs.push(h.addr());
                handles.push(h);
            }
        }
        let haproxy_addr = free_addr();
        let tether_addr = free_addr();
        let admin_addr = free_addr();

        let mut hcfg = format!(
            "global\n    log stdout format raw local0 info\n\
             defaults\n    mode http\n    log global\n    option httplog\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n    timeout queue 5s\n\
             frontend fe\n    bind {haproxy_addr}\n    default_backend be\n\
             backend be\n{haproxy_backend}\n"
        );
        for (s, addr) in servers.iter().zip(&addrs) {
            hcfg.push_str(&format!("    server {} {} {}\n", s.name, addr, s.haproxy));
        }
        let mut tcfg = format!(
            "access_log: stdout\nadmin: {{ listen: \"{admin_addr}\" }}\n\
             frontends:\n  - name: fe\n    listen: [\"{tether_addr}\"]\n    backend: be\n\
             backends:\n  - name: be\n{timeouts}{tether_backend}\n    servers:\n",
            timeouts = if tether_backend.contains("timeouts:") {
                ""
            } else {
                "    timeouts: { connect: 2s, server: 10s, queue: 5s }\n"
            }
        );
        for (s, addr) in servers.iter().zip(&addrs) {
            let extra = if s.tether.is_empty() {
                String::new()
            } else {
                format!(", {}", s.tether)
            };
            tcfg.push_str(&format!(
                "      - {{ name: {}, address: \"{}\"{} }}\n",
                s.name, addr, extra
            ));
        }
        tcfg.push_str("pingora: { threads: 1, grace_period_seconds: 1, graceful_shutdown_timeout_seconds: 1 }\n");

        let haproxy = Haproxy::start(&hcfg);
        let tether = Tether::start(&tcfg, tether_addr, Some(admin_addr));
        Pair {
            haproxy,
            tether,
            servers: handles,
            addrs,
            haproxy_addr,
            tether_addr,
            admin: Admin::new(admin_addr),
            sent: std::cell::Cell::new(0),
        }
    }

    /// Sets a server's administrative state in both proxies (HAProxy's runtime API and
    /// tether's admin API).
    pub fn set_state(&self, server: &str, state: &str) {
        assert_eq!(
            self.haproxy
                .cli(&format!("set server be/{server} state {state}")),
            "\n"
        );
        self.admin.set_state("be", server, state);
    }

    /// Sets a server's weight in both proxies.
    pub fn set_weight(&self, server: &str, weight: u32) {
        let answer = self
            .haproxy
            .cli(&format!("set server be/{server} weight {weight}"));
        assert!(answer.trim().is_empty(), "haproxy: {answer}");
        let r = self.admin.put(
            &format!("/api/backends/be/servers/{server}/weight"),
            &format!("{{\"weight\":{weight}}}"),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }

    /// Sends `req` to HAProxy, then to tether.
    pub fn both(&self, req: &Request) -> (Response, Response) {
        let h = req
            .send(self.haproxy_addr)
            .unwrap_or_else(|e| panic!("haproxy: {e}\n{}", self.haproxy.logs()));
        let t = req
            .send(self.tether_addr)
            .unwrap_or_else(|e| panic!("tether: {e}\n{}", self.tether.stderr()));
        let n = self.sent.get();
        self.sent.set(n + 1);
        self.haproxy_log_lines(n + 1);
        self.tether.log_lines(n + 1);
        (h, t)
    }

    fn haproxy_log_lines(&self, at_least: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let lines: Vec<String> = self
                .haproxy
                .stdout()
                .lines()
                .filter(|l| l.contains(" \"") && l.contains(" HTTP/1."))
                .map(str::to_string)
                .collect();
            if lines.len() >= at_least || Instant::now() > deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Sends `req` to both and asserts they agree on the chosen server, the Set-Cookie
    /// lines (dates within one 4-second quantum), Cache-Control and the Cookie headers
    /// the backend received. Returns tether's answer.
    #[track_caller]
    pub fn agree(&self, what: &str, req: &Request) -> Response {
        let (h, t) = self.both(req);
        let (hs, ts) = (Seen::of(&h), Seen::of(&t));
        assert_eq!(
            hs,
            ts,
            "{what}: HAProxy (left) and tether (right) differ\n--- tether stderr ---\n{}",
            self.tether.stderr()
        );
        for (hc, tc) in h
            .headers_all("set-cookie")
            .iter()
            .zip(t.headers_all("set-cookie"))
        {
            for (hd, td) in dates(hc).into_iter().zip(dates(tc)) {
                assert!(
                    hd.abs_diff(td) <= 4,
                    "{what}: dates differ by more than 4 s: {hc} vs {tc}"
                );
            }
        }
        t
    }

    /// The 4-character termination state (`--VN`) of the n-th request (0-based) in each
    /// proxy's log: (HAProxy, tether).
    pub fn flags(&self, n: usize) -> (String, String) {
        let haproxy_lines = self.haproxy_log_lines(n + 1);
        let tether_lines = self.tether.log_lines(n + 1);
        (
            haproxy_lines
                .get(n)
                .map(|l| termination(l, 6))
                .unwrap_or_default(),
            tether_lines
                .get(n)
                .map(|l| termination(l, 5))
                .unwrap_or_default(),
        )
    }
}

impl Pair {
    /// Asserts that both proxies logged the same persistence flags for the n-th request.
    #[track_caller]
    pub fn assert_flags(&self, n: usize, what: &str) {
        let (h, t) = self.flags(n);
        assert_eq!(
            h,
            t,
            "{what} (request {n}): log flags, HAProxy left, tether right\n--- haproxy ---\n{}\n--- tether ---\n{}",
            self.haproxy.stdout(),
            self.tether.stdout()
        );
    }
}

/// The termination state field, counted from the end of a log line whose request line
/// is `"METHOD URI VERSION"` without spaces in the URI.
fn termination(line: &str, from_end: usize) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    words
        .len()
        .checked_sub(from_end)
        .and_then(|i| words.get(i))
        .map_or_else(String::new, |w| w.to_string())
}
