//! The demo's walk-through: a few requests through the proxy, printed as a story, and
//! curl lines to try it by hand.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Status, `x-server` and `set-cookie` of a response.
struct Seen {
    server: String,
    set_cookie: Option<String>,
}

fn get(addr: SocketAddr, cookie: Option<&str>) -> std::io::Result<Seen> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let cookie_line = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: {addr}\r\n{cookie_line}Connection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    Ok(Seen {
        server: header("x-server").unwrap_or_else(|| "?".into()),
        set_cookie: header("set-cookie"),
    })
}

fn wait_ready(addr: SocketAddr) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

pub fn walk_through(addr: SocketAddr) {
    if !wait_ready(addr) {
        eprintln!("tether demo: the proxy did not come up on {addr}");
        return;
    }
    let run = || -> std::io::Result<()> {
        println!();
        println!("== 1. A new client: no cookie, the balancer picks a server and tether pins it");
        let first = get(addr, None)?;
        let set_cookie = first.set_cookie.clone().unwrap_or_default();
        println!("   served by {}   Set-Cookie: {}", first.server, set_cookie);
        let cookie = set_cookie.split(';').next().unwrap_or_default().to_string();
        println!("== 2. The same client comes back with `{cookie}`: always the same server");
        for _ in 0..3 {
            let again = get(addr, Some(&cookie))?;
            println!(
                "   served by {}   Set-Cookie: {}",
                again.server,
                again
                    .set_cookie
                    .as_deref()
                    .unwrap_or("(none: already pinned)")
            );
        }
        println!("== 3. Other new clients are balanced round-robin");
        for _ in 0..2 {
            let other = get(addr, None)?;
            println!(
                "   served by {}   Set-Cookie: {}",
                other.server,
                other.set_cookie.unwrap_or_default()
            );
        }
        println!();
        println!("Try it yourself (the cookie jar keeps you on one server):");
        println!("   curl -si -c /tmp/tether.jar -b /tmp/tether.jar http://{addr}/ | grep -iE 'x-server|set-cookie'");
        println!("   curl -si -H 'Cookie: SERVERID=s3' http://{addr}/ | grep -i x-server");
        println!("Access log lines follow. Stop with Ctrl-C.");
        println!();
        Ok(())
    };
    if let Err(e) = run() {
        eprintln!("tether demo: walk-through failed: {e}");
    }
}
