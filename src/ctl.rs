//! `tether ctl`: the admin API from the command line, for operators.
//!
//! ```text
//! tether ctl [--admin ADDR] [--token-file FILE] servers
//! tether ctl set-state BACKEND/SERVER ready|drain|maint
//! tether ctl set-weight BACKEND/SERVER 0..256
//! tether ctl sessions BACKEND [--limit N]
//! tether ctl delete-session BACKEND KEY
//! ```

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::Value;

#[derive(Args, Debug)]
pub struct CtlArgs {
    /// The admin listener (`admin.listen`).
    #[arg(long, default_value = "127.0.0.1:9901")]
    pub admin: String,
    /// File holding the bearer token (`admin.token_file`), for changes.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: CtlCommand,
}

#[derive(Subcommand, Debug)]
pub enum CtlCommand {
    /// Every backend's servers: state, health, weight, load, sessions.
    Servers,
    /// Set a server's administrative state: ready, drain or maint.
    SetState { target: String, state: String },
    /// Set a server's weight (0..256; 0 = persistent clients only).
    SetWeight { target: String, weight: String },
    /// A backend's app-session table.
    Sessions {
        backend: String,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Remove one app session (the key as `sessions` shows it).
    DeleteSession { backend: String, key: String },
}

/// Runs the command; the error is printed by the caller.
pub fn run(args: CtlArgs) -> Result<(), String> {
    let token = match &args.token_file {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .map_err(|e| format!("{}: {e}", p.display()))?
                .trim()
                .to_string(),
        ),
        None => None,
    };
    let api = Api {
        addr: args
            .admin
            .to_socket_addrs()
            .map_err(|e| format!("--admin {}: {e}", args.admin))?
            .next()
            .ok_or_else(|| format!("--admin {}: no address", args.admin))?,
        token,
    };
    match args.command {
        CtlCommand::Servers => {
            let backends = api.call("GET", "/api/backends", None)?;
            print_servers(&backends);
        }
        CtlCommand::SetState { target, state } => {
            let (b, s) = split_target(&target)?;
            let body = serde_json::json!({ "state": state }).to_string();
            let v = api.call(
                "PUT",
                &format!("/api/backends/{b}/servers/{s}/state"),
                Some(&body),
            )?;
            println!("{b}/{s}: state {}", v["state"].as_str().unwrap_or("?"));
        }
        CtlCommand::SetWeight { target, weight } => {
            let (b, s) = split_target(&target)?;
            let w: Value = serde_json::from_str(&weight).unwrap_or(Value::String(weight.clone()));
            let body = serde_json::json!({ "weight": w }).to_string();
            let v = api.call(
                "PUT",
                &format!("/api/backends/{b}/servers/{s}/weight"),
                Some(&body),
            )?;
            println!("{b}/{s}: weight {}", v["weight"]);
        }
        CtlCommand::Sessions { backend, limit } => {
            let v = api.call(
                "GET",
                &format!("/api/backends/{backend}/app_sessions?limit={limit}"),
                None,
            )?;
            println!("{} entries", v["entries"]);
            println!("{:<40} {:<16} {:>8}", "KEY", "SERVER", "IDLE_S");
            for item in v["items"].as_array().into_iter().flatten() {
                println!(
                    "{:<40} {:<16} {:>8}",
                    item["key"].as_str().unwrap_or("?"),
                    item["server"].as_str().unwrap_or("?"),
                    item["idle_s"]
                );
            }
        }
        CtlCommand::DeleteSession { backend, key } => {
            api.call(
                "DELETE",
                &format!(
                    "/api/backends/{backend}/app_sessions/{}",
                    percent_encode(&key)
                ),
                None,
            )?;
            println!("{backend}: session {key} deleted");
        }
    }
    Ok(())
}

fn split_target(target: &str) -> Result<(&str, &str), String> {
    target
        .split_once('/')
        .filter(|(b, s)| !b.is_empty() && !s.is_empty())
        .ok_or_else(|| format!("{target:?}: expected BACKEND/SERVER"))
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn print_servers(backends: &Value) {
    println!(
        "{:<12} {:<12} {:<22} {:<6} {:<6} {:>6} {:>7} {:>7} {:>8}",
        "BACKEND", "SERVER", "ADDRESS", "STATE", "HEALTH", "WEIGHT", "ACTIVE", "QUEUED", "SESSIONS"
    );
    for b in backends.as_array().into_iter().flatten() {
        for s in b["servers"].as_array().into_iter().flatten() {
            println!(
                "{:<12} {:<12} {:<22} {:<6} {:<6} {:>6} {:>7} {:>7} {:>8}",
                b["name"].as_str().unwrap_or("?"),
                s["name"].as_str().unwrap_or("?"),
                s["address"].as_str().unwrap_or("?"),
                s["state"].as_str().unwrap_or("?"),
                s["health"].as_str().unwrap_or("?"),
                s["weight"],
                s["active_requests"],
                s["queued_requests"],
                s["sticky_sessions"],
            );
        }
    }
}

struct Api {
    addr: SocketAddr,
    token: Option<String>,
}

impl Api {
    /// One request; a non-2xx answer becomes the error, with the API's message.
    fn call(&self, method: &str, path: &str, body: Option<&str>) -> Result<Value, String> {
        let mut stream = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))
            .map_err(|e| format!("admin API at {}: {e}", self.addr))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        let body = body.unwrap_or_default();
        let auth = self
            .token
            .as_ref()
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .map_err(|e| e.to_string())?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&raw);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| "admin API: malformed answer".to_string())?;
        let value: Value = if body.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(body.trim()).unwrap_or(Value::String(body.to_string()))
        };
        if (200..300).contains(&status) {
            Ok(value)
        } else {
            Err(format!(
                "{status}: {}",
                value["error"]
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_string)
            ))
        }
    }
}
