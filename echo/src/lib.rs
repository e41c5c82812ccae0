//! A small, fast HTTP/1.1 origin server that reports what it received. It is
//! the backend of `tether demo`, of the integration tests (behind both HAProxy
//! and tether, so their outputs can be compared) and of the benchmark
//! (`wrk → proxy → echo`).
//!
//! # Protocol
//! HTTP/1.1 keep-alive (HTTP/1.0: close unless `Connection: keep-alive`),
//! pipelined requests answered in order, `Connection: close` honoured,
//! request bodies (`Content-Length` or chunked) read and discarded with their
//! size reported, `HEAD` answered without a body, `Expect: 100-continue`
//! answered. A head over 64 KiB gets 431; bytes that are not an HTTP/1.x
//! request get 400; both close the connection. Those two error responses
//! carry only `x-server` of the headers below.
//!
//! # What every response says
//! * `x-server: <name>`: which server answered.
//! * `x-seen-cookie: <value>`: one per `Cookie` field received, in order,
//!   byte for byte (the value as framed by HTTP: leading and trailing
//!   whitespace is not part of it). Then `x-seen-cookie-count: <n>`.
//! * A JSON body (`content-type: application/json`) listing the request:
//!   `{"server":"s1","method":"GET","uri":"/a?b","headers":[["Host","x"],...],"body_bytes":0}`
//!   followed by `\n`. Header names keep their case, fields keep their order.
//!   Strings are UTF-8; a byte that is not part of valid UTF-8 is written as
//!   `\u00XX` (the byte's value as a code point), so nothing is lost.
//! * `content-length` always (except on 204 and 304).
//!
//! # Directives: request headers that script the response
//! Both HAProxy and tether forward them, so a test tells the backend what to
//! do through the proxy. Names are case-insensitive; an unknown `x-echo-*`
//! field or a bad value gets 400 (with the reason as body), so a typo fails
//! a test instead of being ignored.
//!
//! | Directive | Effect |
//! |---|---|
//! | `x-echo-status: 404` | Answer with this status (200..=599). 204 and 304 get no body and no `content-length`. |
//! | `x-echo-header: Name: value` | Add `Name: value` to the response. Repeatable; added in request order. This is how a server is made to send `Set-Cookie`, `Cache-Control`, `Expires`, `ETag`, ... |
//! | `x-echo-delay-ms: 250` | Wait this long (after reading the body) before acting (0..=3600000). |
//! | `x-echo-body-bytes: N` | Send N bytes of `x` (`application/octet-stream`) instead of the JSON. |
//! | `x-echo-close: 1` | Close the connection without any response (FIN): an "empty response". |
//! | `x-echo-reset: 1` | Abort the connection with an RST, no response. |
//!
//! Request accounting: [`EchoHandle::requests`] counts requests received in
//! full (head and body), including those answered by `close`/`reset`, but not
//! health checks, which [`EchoHandle::health_checks`] counts.
//!
//! # Per-server behaviour
//! [`Behaviour`] adds headers to every response, emulates an application
//! that sets a session cookie (`PHPSESSID`) when the client has none, holds a
//! health status answered on `GET /health` that tests flip at run time, and
//! has a `fast` mode for the benchmark (no JSON body).
//!
//! # Cost
//! Each connection owns its buffers and reuses them: a plain GET parses the
//! head in place, writes the JSON into a reused buffer and the whole response
//! with one `write`. No lock is taken per request; counters are atomics.

mod chunked;
mod conn;
mod head;
mod response;
#[cfg(test)]
mod tests;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

/// The session cookie name PHP uses; pass it to [`Behaviour::with_session_cookie`].
pub const PHP_SESSION_COOKIE: &str = "PHPSESSID";

/// Length of a session id generated for [`Behaviour::set_cookie_once`]:
/// PHP's default `session.sid_length`.
pub const SESSION_ID_LEN: usize = 26;

/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop
/// does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// How one echo server behaves beyond echoing. Set at spawn; only the
/// health status changes afterwards.
#[derive(Debug)]
pub struct Behaviour {
    /// Added to every (non-error) response, after `content-length`, in order.
    /// Example: an application that always sets `JSESSIONID`.
    pub extra_headers: Vec<(String, String)>,
    /// Cookie name of an application session: when neither a `Cookie` field nor the
    /// URL (`;name=`, `?name=`, `&name=`, name case-insensitive) carries it, the
    /// response gets `set-cookie: <name>=<26 chars [0-9a-v]>; path=/` (what PHP does,
    /// URL ids included as with `session.use_trans_sid`).
    pub set_cookie_once: Option<String>,
    /// Status answered on `GET /health` and `HEAD /health` (query ignored);
    /// default 200. Values outside 200..=599 are answered as 500.
    pub health_status: AtomicU16,
    /// Skip the JSON body (answer `content-length: 0`), for the benchmark.
    pub fast: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            extra_headers: Vec::new(),
            set_cookie_once: None,
            health_status: AtomicU16::new(200),
            fast: false,
        }
    }
}

impl Behaviour {
    /// Defaults: no extra header, no session cookie, healthy, JSON bodies.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `name: value` to every response.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.extra_headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets a `<name>=<id>; path=/` cookie on responses to requests that do
    /// not carry cookie `name` (use [`PHP_SESSION_COOKIE`] for PHP).
    pub fn with_session_cookie(mut self, name: &str) -> Self {
        self.set_cookie_once = Some(name.to_owned());
        self
    }

    /// Answers with an empty body instead of the JSON.
    pub fn with_fast(mut self) -> Self {
        self.fast = true;
        self
    }

    /// The status `GET /health` currently gets.
    pub fn health(&self) -> u16 {
        self.health_status.load(Ordering::Acquire)
    }

    /// Changes the status `GET /health` gets, effective for the next check.
    pub fn set_health(&self, status: u16) {
        self.health_status.store(status, Ordering::Release);
    }
}

/// Requests seen by one server.
#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    health_checks: AtomicU64,
}

/// What every connection task of one server shares.
#[derive(Debug)]
struct Server {
    name: Arc<str>,
    behaviour: Arc<Behaviour>,
    counters: Arc<Counters>,
}

/// Serves HTTP on `listener` until this future is dropped (task aborted);
/// dropping it also closes every connection it accepted.
pub async fn serve(listener: TcpListener, name: Arc<str>, behaviour: Arc<Behaviour>) {
    let server = Server {
        name,
        behaviour,
        counters: Arc::new(Counters::default()),
    };
    serve_server(listener, Arc::new(server)).await;
}

async fn serve_server(listener: TcpListener, server: Arc<Server>) {
    // Connection tasks live in this set so that dropping the serve future
    // aborts them all: "stop" must really close every connection.
    let mut connections = JoinSet::new();
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                while connections.try_join_next().is_some() {}
                connections.spawn(conn::serve_connection(stream, Arc::clone(&server)));
            }
            Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
        }
    }
}

/// Starts a server with default [`Behaviour`] on `addr` (port 0 picks one)
/// on its own thread and current-thread runtime; for synchronous tests.
pub fn spawn(name: &str, addr: SocketAddr) -> io::Result<EchoHandle> {
    spawn_with(name, addr, Behaviour::default())
}

/// Like [`spawn`] with a given behaviour.
pub fn spawn_with(
    name: &str,
    addr: SocketAddr,
    behaviour: impl Into<Arc<Behaviour>>,
) -> io::Result<EchoHandle> {
    spawn_on(std::net::TcpListener::bind(addr)?, name, behaviour)
}

/// Like [`spawn_with`] on an already bound listener. The server accepts as
/// soon as this returns (the socket is listening already).
pub fn spawn_on(
    listener: std::net::TcpListener,
    name: &str,
    behaviour: impl Into<Arc<Behaviour>>,
) -> io::Result<EchoHandle> {
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let listener = {
        let _context = runtime.enter();
        TcpListener::from_std(listener)?
    };
    let server = Arc::new(Server {
        name: Arc::from(name),
        behaviour: behaviour.into(),
        counters: Arc::new(Counters::default()),
    });
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let serving = Arc::clone(&server);
    let thread = std::thread::Builder::new()
        .name(format!("echo-{name}"))
        .spawn(move || {
            runtime.block_on(async move {
                tokio::select! {
                    _ = serve_server(listener, serving) => {}
                    _ = stop_rx => {}
                }
            });
            // Dropping the runtime drops every connection task, closing sockets.
            drop(runtime);
        })?;
    Ok(EchoHandle {
        addr,
        server,
        stop_tx: Some(stop_tx),
        thread: Some(thread),
    })
}

/// A running echo server on its own thread. Dropping it stops it like
/// [`stop`](Self::stop).
#[derive(Debug)]
pub struct EchoHandle {
    addr: SocketAddr,
    server: Arc<Server>,
    stop_tx: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl EchoHandle {
    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The name sent in `x-server`.
    pub fn name(&self) -> &str {
        &self.server.name
    }

    /// Requests received in full so far, health checks excluded.
    pub fn requests(&self) -> u64 {
        self.server.counters.requests.load(Ordering::Acquire)
    }

    /// `GET`/`HEAD /health` requests received so far.
    pub fn health_checks(&self) -> u64 {
        self.server.counters.health_checks.load(Ordering::Acquire)
    }

    /// The server's behaviour (e.g. to read the session cookie name).
    pub fn behaviour(&self) -> &Behaviour {
        &self.server.behaviour
    }

    /// Changes the status `GET /health` gets from now on.
    pub fn set_health(&self, status: u16) {
        self.server.behaviour.set_health(status);
    }

    /// Stops the server: when this returns, the listener is closed (new
    /// connections are refused) and every open connection has been closed.
    pub fn stop(mut self) {
        self.shutdown();
    }

    /// Like [`stop`](Self::stop), keeping the handle (for a server that dies while
    /// its handle stays in a list); the address and counters remain readable.
    pub fn stop_in_place(&mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop_tx) = self.stop_tx.take() {
            let _ = stop_tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for EchoHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}
