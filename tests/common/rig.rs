//! A tether in front of echo backends, with its admin API: the set-up most integration
//! tests share.

use std::net::SocketAddr;

use tether_echo::{self as echo, Behaviour, EchoHandle};

use super::admin::Admin;
use super::ports::free_addr;
use super::tether::{config, Tether};

pub struct Rig {
    pub tether: Tether,
    /// The live backends (kept running as long as the rig).
    pub servers: Vec<EchoHandle>,
    pub listen: SocketAddr,
    pub admin: Admin,
}

impl Rig {
    /// tether with backend `be` made of `list` (`(name, address, extra yaml)`, in
    /// declaration order), `backend_extra` YAML lines and `top` top-level YAML; `servers`
    /// are echo servers the rig keeps running (empty when the test holds its own).
    pub fn start(
        backend_extra: &str,
        servers: Vec<EchoHandle>,
        list: &[(&str, SocketAddr, &str)],
        top: &str,
    ) -> Rig {
        let listen = free_addr();
        let admin = free_addr();
        let yaml = config(
            listen,
            backend_extra,
            list,
            &format!("admin:\n  listen: \"{admin}\"\n{top}"),
        );
        let tether = Tether::start(&yaml, listen, Some(admin));
        Rig {
            tether,
            servers,
            listen,
            admin: Admin::new(admin),
        }
    }

    /// One echo server per name, each with `behaviour(name)`.
    pub fn echo_with(
        backend_extra: &str,
        names: &[&str],
        behaviour: impl Fn(&str) -> Behaviour,
    ) -> Rig {
        let servers: Vec<EchoHandle> = names
            .iter()
            .map(|n| {
                echo::spawn_with(n, "127.0.0.1:0".parse().expect("addr"), behaviour(n))
                    .expect("echo server")
            })
            .collect();
        let list: Vec<(&str, SocketAddr, &str)> = names
            .iter()
            .zip(&servers)
            .map(|(n, s)| (*n, s.addr(), ""))
            .collect();
        Rig::start(backend_extra, servers, &list, "")
    }

    /// One plain echo server per name.
    pub fn echo(backend_extra: &str, names: &[&str]) -> Rig {
        Rig::echo_with(backend_extra, names, |_| Behaviour::default())
    }
}
