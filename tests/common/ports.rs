//! Free loopback ports for servers a test starts, and readiness by connecting.
//!
//! Ports are taken below the kernel's ephemeral range (which starts at 32768
//! by default), from 20000 up. Ports from `bind(:0)` are ephemeral ports, and
//! an outgoing connection (client → proxy, proxy → server) may take one as
//! its source port between the moment the test learns it and the moment the
//! server binds it; below the range that cannot happen. Collisions are
//! avoided between tests of one process (a process-wide set) and between
//! processes (a lock file per port in the temp dir, naming its pid; a file
//! whose process is gone is reclaimed). Every candidate is also checked by
//! binding it.

use std::collections::HashSet;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Lowest port handed out (the project keeps test ports above 20000).
const FIRST_PORT: u16 = 20000;
/// Candidates tried before giving up.
const MAX_ATTEMPTS: u32 = 2000;
/// Readiness polling interval.
const POLL: Duration = Duration::from_millis(10);

/// A loopback port no other test (in this process or another) was given and
/// nothing listens on. Panics if none can be found.
pub fn free_port() -> u16 {
    let (low, high) = port_range();
    let span = u32::from(high - low);
    static CURSOR: AtomicU32 = AtomicU32::new(0);
    static START: OnceLock<u32> = OnceLock::new();
    // Different processes start at different places to rarely contend.
    let start = *START.get_or_init(|| std::process::id().wrapping_mul(7919) % span);
    for _ in 0..MAX_ATTEMPTS {
        let offset = (start + CURSOR.fetch_add(1, Ordering::Relaxed)) % span;
        let port = low + offset as u16;
        if try_reserve(port) {
            return port;
        }
    }
    panic!("free_port: no free port in {low}..{high} after {MAX_ATTEMPTS} attempts");
}

/// `127.0.0.1:<free_port()>`.
pub fn free_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

/// Polls `addr` every 10 ms until a TCP connection succeeds (true) or
/// `timeout` passes (false).
pub fn wait_for_port(addr: SocketAddr, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if TcpStream::connect_timeout(&addr, left.clamp(POLL, Duration::from_secs(1))).is_ok() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

/// `[FIRST_PORT, start of the ephemeral range)`, or up to 32768 if the
/// range cannot be read or leaves too little room.
fn port_range() -> (u16, u16) {
    let ephemeral_start = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<u16>().ok())
        .filter(|&start| start >= FIRST_PORT + 1000)
        .unwrap_or(32768);
    (FIRST_PORT, ephemeral_start)
}

fn try_reserve(port: u16) -> bool {
    static HANDED_OUT: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let mut handed_out = HANDED_OUT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if handed_out.contains(&port) || !lock_across_processes(port) {
        return false;
    }
    if TcpListener::bind(("127.0.0.1", port)).is_err() {
        return false;
    }
    handed_out.insert(port);
    true
}

/// Creates `<tmp>/tether-test-ports/<port>` holding our pid; reclaims it if
/// the pid written there no longer runs.
fn lock_across_processes(port: u16) -> bool {
    let dir = lock_dir();
    let path = dir.join(port.to_string());
    for _ in 0..2 {
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut file) => {
                let _ = write!(file, "{}", std::process::id());
                return true;
            }
            Err(_) => {
                let owner = fs::read_to_string(&path).ok();
                let alive = owner
                    .as_deref()
                    .and_then(|pid| pid.trim().parse::<u32>().ok())
                    .is_some_and(|pid| PathBuf::from(format!("/proc/{pid}")).exists());
                // An empty file may be one being written right now: keep it.
                if alive || owner.as_deref().is_some_and(str::is_empty) {
                    return false;
                }
                let _ = fs::remove_file(&path);
            }
        }
    }
    false
}

fn lock_dir() -> PathBuf {
    let dir = std::env::temp_dir().join("tether-test-ports");
    let _ = fs::create_dir_all(&dir);
    dir
}
