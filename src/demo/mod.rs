//! `tether demo`: three tiny built-in backends and a proxy in front of them, on an
//! embedded configuration, plus a short walk-through that shows the cookie pinning.

mod showcase;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use tether::config;
use tether::serve::{self, RunFlags};
use tether_echo as echo;

/// The embedded configuration (placeholders are filled with the chosen addresses).
const DEMO_CONFIG: &str = include_str!("demo.yaml");

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Where the proxy listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Where the admin API listens.
    #[arg(long, default_value = "127.0.0.1:9901")]
    pub admin: SocketAddr,
    /// Only start the proxy and backends, without the walk-through.
    #[arg(long)]
    pub quiet: bool,
}

/// Starts the demo and serves until interrupted (Ctrl-C).
pub fn run(args: DemoArgs) -> Result<(), String> {
    let mut backends = Vec::new();
    let mut addrs = Vec::new();
    for name in ["s1", "s2", "s3"] {
        let listener =
            TcpListener::bind("127.0.0.1:0").map_err(|e| format!("backend {name}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let handle = echo::spawn_on(listener, name, Arc::new(echo::Behaviour::default()))
            .map_err(|e| format!("backend {name}: {e}"))?;
        backends.push(handle);
        addrs.push(addr);
    }
    let yaml = DEMO_CONFIG
        .replace("{listen}", &args.listen.to_string())
        .replace("{admin}", &args.admin.to_string())
        .replace("{s1}", &addrs[0].to_string())
        .replace("{s2}", &addrs[1].to_string())
        .replace("{s3}", &addrs[2].to_string());
    let loaded = config::load_str(&yaml, "demo.yaml").map_err(|e| e.to_string())?;
    let server = serve::build(&loaded.config, RunFlags::default())?;

    println!(
        "tether demo: backends s1={} s2={} s3={}",
        addrs[0], addrs[1], addrs[2]
    );
    println!(
        "tether demo: proxy on http://{}/  (admin on http://{}/healthz)",
        args.listen, args.admin
    );
    if !args.quiet {
        let listen = args.listen;
        std::thread::spawn(move || showcase::walk_through(listen));
    }
    // The backends live as long as the process.
    std::mem::forget(backends);
    server.run_forever()
}
