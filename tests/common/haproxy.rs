//! Runs a real HAProxy for differential tests: the same traffic goes through
//! HAProxy and through tether, and the answers are compared.
//!
//! `Haproxy::start(config)` writes the configuration to a temporary
//! directory, adds `stats socket <dir>/admin.sock level admin` to its
//! `global` section (creating one if needed), runs `haproxy -db -f <cfg>`
//! with stdout and stderr captured to files, and returns once every `bind`
//! address of the configuration and the stats socket accept connections.
//! If HAProxy exits or is not ready within 10 s, the test fails with its
//! captured output. Dropping the value kills HAProxy and waits for it.
//!
//! A missing `haproxy` binary fails the test, unless `TETHER_SKIP_HAPROXY=1`
//! is set: then [`Haproxy::available`] returns false and the test returns
//! early. `TETHER_HAPROXY_BIN` names a binary other than the one on `PATH`.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long HAProxy gets to start listening.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Readiness polling interval.
const POLL: Duration = Duration::from_millis(10);
/// Timeout of one runtime API exchange.
const CLI_TIMEOUT: Duration = Duration::from_secs(10);

/// A running HAProxy; killed on drop.
#[derive(Debug)]
pub struct Haproxy {
    child: Child,
    binds: Vec<SocketAddr>,
    config_path: PathBuf,
    socket_path: PathBuf,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
    // Last field: dropped after `Drop::drop` killed the process.
    _dir: TempDir,
}

impl Haproxy {
    /// True if HAProxy can be run. If it cannot: false when
    /// `TETHER_SKIP_HAPROXY=1` (the caller then returns early), otherwise a
    /// panic, so a machine without HAProxy never passes tests silently.
    pub fn available() -> bool {
        if binary().is_some() {
            return true;
        }
        if std::env::var("TETHER_SKIP_HAPROXY").as_deref() == Ok("1") {
            eprintln!("haproxy not found; skipping (TETHER_SKIP_HAPROXY=1)");
            return false;
        }
        panic!(
            "haproxy binary not found (looked at $TETHER_HAPROXY_BIN, $PATH, /usr/sbin, \
             /usr/local/sbin). Install it (apt-get install haproxy) or set \
             TETHER_SKIP_HAPROXY=1 to skip the differential tests."
        );
    }

    /// Starts HAProxy on `config` and waits until it listens on every `bind`
    /// address in it (`bind <addr>:<port>[,...]`; unix and fd binds are not
    /// waited for). Panics with the captured output on failure.
    pub fn start(config: &str) -> Haproxy {
        let binary = binary()
            .unwrap_or_else(|| panic!("haproxy binary not found; see Haproxy::available()"));
        let dir = tempfile::Builder::new()
            .prefix("tether-haproxy-")
            .tempdir()
            .unwrap_or_else(|error| panic!("cannot create a temp dir for haproxy: {error}"));
        let socket_path = dir.path().join("admin.sock");
        let config_path = dir.path().join("haproxy.cfg");
        let stdout_path = dir.path().join("stdout.log");
        let stderr_path = dir.path().join("stderr.log");
        let full_config = with_stats_socket(config, &socket_path);
        fs::write(&config_path, &full_config)
            .unwrap_or_else(|error| panic!("cannot write {}: {error}", config_path.display()));
        let stdout = create(&stdout_path);
        let stderr = create(&stderr_path);
        let child = Command::new(&binary)
            .arg("-db")
            .arg("-f")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run {}: {error}", binary.display()));
        // Built before waiting so that a panic below still kills the child.
        let mut haproxy = Haproxy {
            child,
            binds: bind_addresses(config),
            config_path,
            socket_path,
            stdout_path,
            stderr_path,
            _dir: dir,
        };
        haproxy.wait_ready();
        haproxy
    }

    /// Sends one runtime API command over the stats socket and returns the
    /// answer (e.g. `"set server be/s1 state drain"` answers `"\n"`).
    pub fn cli(&self, command: &str) -> String {
        let attempt = || -> std::io::Result<String> {
            let mut stream = UnixStream::connect(&self.socket_path)?;
            stream.set_read_timeout(Some(CLI_TIMEOUT))?;
            stream.set_write_timeout(Some(CLI_TIMEOUT))?;
            stream.write_all(command.as_bytes())?;
            stream.write_all(b"\n")?;
            // Non-interactive mode: HAProxy answers and closes.
            let mut answer = String::new();
            stream.read_to_string(&mut answer)?;
            Ok(answer)
        };
        attempt().unwrap_or_else(|error| {
            panic!("haproxy cli {command:?} failed: {error}\n{}", self.logs())
        })
    }

    /// Everything HAProxy wrote so far, stdout then stderr, labelled.
    pub fn logs(&self) -> String {
        format!(
            "--- haproxy stdout ---\n{}--- haproxy stderr ---\n{}",
            self.stdout(),
            self.stderr()
        )
    }

    /// What HAProxy wrote on stdout (e.g. traffic logs with `log stdout`).
    pub fn stdout(&self) -> String {
        fs::read_to_string(&self.stdout_path).unwrap_or_default()
    }

    /// What HAProxy wrote on stderr (alerts, warnings, server state changes).
    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// The `bind` addresses found in the configuration.
    pub fn binds(&self) -> &[SocketAddr] {
        &self.binds
    }

    /// The configuration actually run (with the stats socket added).
    pub fn config(&self) -> String {
        fs::read_to_string(&self.config_path).unwrap_or_default()
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut pending: Vec<SocketAddr> = self.binds.clone();
        let mut socket_ready = false;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "haproxy exited during startup ({status})\n--- config ---\n{}\n{}",
                    self.config(),
                    self.logs()
                );
            }
            socket_ready = socket_ready || UnixStream::connect(&self.socket_path).is_ok();
            pending.retain(|addr| TcpStream::connect_timeout(addr, POLL).is_err());
            if socket_ready && pending.is_empty() {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "haproxy not ready after {READY_TIMEOUT:?} (stats socket ready: \
                     {socket_ready}, binds not accepting: {pending:?})\n--- config ---\n{}\n{}",
                    self.config(),
                    self.logs()
                );
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        // SIGKILL: nothing of HAProxy's shutdown is under test here.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `$TETHER_HAPROXY_BIN`, else `haproxy` on `$PATH`, else the usual sbin dirs.
fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TETHER_HAPROXY_BIN") {
        return Some(PathBuf::from(path)).filter(|path| path.is_file());
    }
    let path_dirs = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default();
    path_dirs
        .into_iter()
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|dir| dir.join("haproxy"))
        .find(|candidate| candidate.is_file())
}

fn create(path: &Path) -> File {
    File::create(path).unwrap_or_else(|error| panic!("cannot create {}: {error}", path.display()))
}

/// The configuration with `stats socket <path> level admin` as the first
/// statement of `global` (a `global` section is prepended if there is none).
pub fn with_stats_socket(config: &str, socket: &Path) -> String {
    let statement = format!("    stats socket {} level admin\n", socket.display());
    let mut out = String::with_capacity(config.len() + statement.len() + 8);
    let mut added = false;
    for line in config.lines() {
        out.push_str(line);
        out.push('\n');
        if !added && line.split_whitespace().next() == Some("global") {
            out.push_str(&statement);
            added = true;
        }
    }
    if added {
        out
    } else {
        format!("global\n{statement}{out}")
    }
}

/// Addresses of `bind` lines: `bind 127.0.0.1:8080`, `bind :8080`,
/// `bind *:8080`, `bind [::1]:8080`, `bind ipv4@127.0.0.1:8080`,
/// comma-separated lists and port ranges (first port). A wildcard host is
/// waited for on 127.0.0.1; unix sockets and fds are skipped.
pub fn bind_addresses(config: &str) -> Vec<SocketAddr> {
    let mut binds = Vec::new();
    for line in config.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("bind") {
            continue;
        }
        let Some(spec) = words.next() else { continue };
        for item in spec.split(',') {
            if let Some(addr) = parse_bind(item) {
                binds.push(addr);
            }
        }
    }
    binds
}

fn parse_bind(item: &str) -> Option<SocketAddr> {
    let item = match item.split_once('@') {
        Some(("ipv4" | "ipv6" | "tcp" | "tcp4" | "tcp6", rest)) => rest,
        Some(_) => return None,
        None => item,
    };
    if item.starts_with('/') {
        return None;
    }
    let (host, ports) = item.rsplit_once(':')?;
    let port: u16 = ports.split('-').next()?.parse().ok()?;
    let host = match host.trim_start_matches('[').trim_end_matches(']') {
        "" | "*" | "0.0.0.0" => "127.0.0.1",
        "::" => "::1",
        other => other,
    };
    (host, port).to_socket_addrs().ok()?.next()
}
