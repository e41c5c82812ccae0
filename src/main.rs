//! The `tether` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use tether::config;

mod demo;

/// mimalloc instead of glibc's malloc: the proxy allocates and frees many small objects
/// per request, and glibc's arena bookkeeping showed up at ~11% of the profile.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use tether::serve::{self, RunFlags};

#[derive(Parser)]
#[command(
    name = "tether",
    version,
    about = "HTTP edge proxy with HAProxy-compatible session persistence"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve with a configuration file.
    Run(RunArgs),
    /// Validate a configuration file: every error is printed; exit status 2 if invalid.
    Check(ConfigArg),
    /// Start three demo backends and a proxy in front of them, and show stickiness.
    Demo(demo::DemoArgs),
    /// Talk to a running tether's admin API (servers, states, weights, sessions).
    Ctl(tether::ctl::CtlArgs),
    /// Run one of the demo's tiny backends on its own (for benchmarks and experiments).
    Backend(BackendArgs),
}

#[derive(Args)]
struct ConfigArg {
    /// The YAML configuration file.
    #[arg(short = 'c', long = "conf")]
    conf: PathBuf,
}

#[derive(Args)]
struct BackendArgs {
    /// Address to listen on.
    #[arg(long)]
    listen: std::net::SocketAddr,
    /// Name sent in `x-server`.
    #[arg(long, default_value = "s1")]
    name: String,
    /// Answer with an empty body instead of the JSON echo (benchmark ceiling).
    #[arg(long)]
    fast: bool,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Run in the background (Pingora daemon mode).
    #[arg(short = 'd', long)]
    daemon: bool,
    /// Take the listening sockets over from a running tether (graceful upgrade).
    #[arg(short = 'u', long)]
    upgrade: bool,
}

fn init_logging() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(
        "info,pingora_core=warn,pingora_proxy=warn,pingora_load_balancing=warn",
    ))
    .format_timestamp_millis()
    .init();
}

fn load(path: &std::path::Path) -> Result<config::Loaded, ExitCode> {
    match config::load_file(path) {
        Ok(loaded) => {
            if !loaded.warnings.is_empty() {
                let file = path.display().to_string();
                for line in config::format_warnings(&file, &loaded.warnings).lines() {
                    eprintln!("warning: {line}");
                }
            }
            Ok(loaded)
        }
        Err(errors) => {
            eprintln!("{errors}");
            Err(ExitCode::from(2))
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(arg) => match load(&arg.conf) {
            Ok(_) => {
                println!("{}: configuration is valid", arg.conf.display());
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Run(args) => {
            let loaded = match load(&args.config.conf) {
                Ok(l) => l,
                Err(code) => return code,
            };
            init_logging();
            let flags = RunFlags {
                daemon: args.daemon,
                upgrade: args.upgrade,
            };
            match serve::build(&loaded.config, flags) {
                Ok(server) => server.run_forever(),
                Err(e) => {
                    eprintln!("tether: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Ctl(args) => match tether::ctl::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("tether ctl: {e}");
                ExitCode::from(1)
            }
        },
        Command::Backend(args) => {
            let mut behaviour = tether_echo::Behaviour::default();
            if args.fast {
                behaviour = behaviour.with_fast();
            }
            match tether_echo::spawn_with(&args.name, args.listen, behaviour) {
                Ok(handle) => {
                    println!("backend {} on http://{}/", args.name, handle.addr());
                    // Serves until the process is stopped.
                    loop {
                        std::thread::park();
                    }
                }
                Err(e) => {
                    eprintln!("tether backend: {}: {e}", args.listen);
                    ExitCode::from(1)
                }
            }
        }
        Command::Demo(args) => {
            init_logging();
            match demo::run(args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("tether demo: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}
