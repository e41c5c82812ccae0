//! The floor: a bare Pingora round-robin proxy with nothing of tether in it, measured by
//! the benchmark to tell Pingora's own per-request cost from tether's.
//!
//! `cargo run --release --example bare_pingora -- LISTEN BACKEND1 BACKEND2`

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use pingora::prelude::*;
use pingora::server::configuration::{Opt, ServerConf};
use pingora::upstreams::peer::HttpPeer;

struct Bare {
    peers: Vec<HttpPeer>,
    next: AtomicUsize,
}

#[async_trait]
impl ProxyHttp for Bare {
    type CTX = ();
    fn new_ctx(&self) {}

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.peers.len();
        Ok(Box::new(self.peers[i].clone()))
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: bare_pingora LISTEN BACKEND1 BACKEND2 ...");
        std::process::exit(2);
    }
    let peers = args[2..]
        .iter()
        .map(|a| {
            HttpPeer::new(
                a.parse::<std::net::SocketAddr>().expect("backend address"),
                false,
                String::new(),
            )
        })
        .collect();
    let conf = ServerConf {
        threads: 1,
        work_stealing: false,
        grace_period_seconds: Some(1),
        graceful_shutdown_timeout_seconds: Some(1),
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(Opt::default(), conf);
    server.bootstrap();
    let mut proxy = pingora::proxy::http_proxy_service(
        &server.configuration,
        Bare {
            peers,
            next: AtomicUsize::new(0),
        },
    );
    proxy.add_tcp(&args[1]);
    server.add_service(proxy);
    server.run_forever();
}
