//! Running the real `tether` binary in tests.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tether_echo::{self as echo_server, EchoHandle};

use super::http::Request;
use super::ports::wait_for_port;

/// A running `tether run -c <config>`; stopped with SIGINT on drop.
pub struct Tether {
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// The first frontend listener.
    pub listen: SocketAddr,
    pub admin: Option<SocketAddr>,
}

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_tether")
}

/// `kill -<sig> <pid>`; the tests need no signal crate for that.
pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

impl Tether {
    /// Writes `yaml` to a temp file and starts tether with it; waits until `listen`
    /// accepts connections and, when given, the admin `/healthz` answers 200.
    pub fn start(yaml: &str, listen: SocketAddr, admin: Option<SocketAddr>) -> Tether {
        let dir = tempfile::tempdir().expect("temp dir");
        let conf = dir.path().join("tether.yaml");
        std::fs::write(&conf, yaml).expect("write config");
        let stdout = std::fs::File::create(dir.path().join("stdout.log")).expect("stdout");
        let stderr = std::fs::File::create(dir.path().join("stderr.log")).expect("stderr");
        let child = Command::new(binary())
            .args(["run", "-c"])
            .arg(&conf)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("spawn tether");
        let mut t = Tether {
            child: Some(child),
            dir,
            listen,
            admin,
        };
        t.wait_ready();
        t
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "tether exited early ({status}):\n{}\n{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            let listening = wait_for_port(self.listen, Duration::from_millis(50));
            let admin_ok = match self.admin {
                None => true,
                Some(a) => Request::get("/healthz")
                    .timeout(Duration::from_millis(500))
                    .send(a)
                    .map(|r| r.status == 200)
                    .unwrap_or(false),
            };
            if listening && admin_ok {
                return;
            }
            if Instant::now() > deadline {
                panic!("tether not ready after 20 s:\n{}", self.stderr());
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    /// Everything tether wrote to stdout (the access log by default).
    pub fn stdout(&self) -> String {
        self.read("stdout.log")
    }

    pub fn stderr(&self) -> String {
        self.read("stderr.log")
    }

    /// Waits until stdout holds at least `n` lines (the access log is written
    /// asynchronously) and returns them.
    pub fn log_lines(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let lines: Vec<String> = self
                .stdout()
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect();
            if lines.len() >= n || Instant::now() > deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends `sig` and waits at most `within` for the process to exit.
    pub fn stop_with(&mut self, sig: &str, within: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        signal(child.id(), sig);
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Tether {
    fn drop(&mut self) {
        self.stop_with("INT", Duration::from_secs(5));
    }
}

/// Runs `tether check -c <file>`: (exit code, stdout, stderr).
pub fn check(path: &Path) -> (i32, String, String) {
    let out = Command::new(binary())
        .args(["check", "-c"])
        .arg(path)
        .output()
        .expect("run tether check");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes `yaml` to a temp file and checks it.
pub fn check_str(yaml: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path: PathBuf = dir.path().join("check.yaml");
    std::fs::write(&path, yaml).expect("write");
    check(&path)
}

/// An echo backend on an ephemeral port.
pub fn echo(name: &str) -> EchoHandle {
    echo_server::spawn(name, "127.0.0.1:0".parse().expect("addr")).expect("echo server")
}

/// A config with one frontend on `listen` and backend `be` made of `servers`
/// (`(name, address, extra yaml)`), plus `backend_extra` lines (4-space indented).
pub fn config(
    listen: SocketAddr,
    backend_extra: &str,
    servers: &[(&str, SocketAddr, &str)],
    top: &str,
) -> String {
    config_with_frontend(listen, "", backend_extra, servers, top)
}

/// [`config`] with `frontend_extra` YAML lines (4-space indented) in the frontend.
pub fn config_with_frontend(
    listen: SocketAddr,
    frontend_extra: &str,
    backend_extra: &str,
    servers: &[(&str, SocketAddr, &str)],
    top: &str,
) -> String {
    let mut s = format!(
        "{top}\nfrontends:\n  - name: fe\n    listen: [\"{listen}\"]\n    backend: be\n{frontend_extra}\nbackends:\n  - name: be\n{backend_extra}\n    servers:\n"
    );
    for (name, addr, extra) in servers {
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!(", {extra}")
        };
        s.push_str(&format!(
            "      - {{ name: {name}, address: \"{addr}\", cookie: {name}{extra} }}\n"
        ));
    }
    s.push_str(
        "pingora: { threads: 2, grace_period_seconds: 30, graceful_shutdown_timeout_seconds: 1 }\n",
    );
    s
}
