//! A frontend's client connections, before Pingora's HTTP machinery sees them.
//!
//! Pingora reads a request head with a timeout per read (60 s by default) and accepts up
//! to 256 headers in 1 MiB, so a client that trickles half a request line holds a
//! connection for as long as it likes and a backend receives whatever Pingora accepts.
//! tether reads each HTTP/1 request head itself, within the frontend's limits
//! (docs/configuration.md §5.3), then hands the bytes to Pingora, which parses them without
//! reading again:
//!
//! 1. Idle: until the first byte of a request arrives, the connection may wait
//!    `timeout_client` (HAProxy `timeout http-keep-alive`/`timeout client`). A connection
//!    that sends nothing is closed silently, as HAProxy does with `option
//!    http-ignore-probes` (browsers open such connections speculatively).
//! 2. Head: from the first byte, the whole head must arrive within
//!    `timeout_http_request` (HAProxy `timeout http-request`), else `408` and close.
//! 3. Limits: more than `max_headers` header lines or a head over `max_header_bytes` gets
//!    `431` and close; the buffer never grows past the limit. Bytes that cannot begin an
//!    HTTP request (a method that is not a token) get `400` at once.
//! 4. The head goes to Pingora (`HttpServerApp::process_new_http`) with the keep-alive
//!    settings of the previous request, exactly as Pingora's own loop does.
//!
//! HTTP/2 connections (ALPN `h2`) go straight to Pingora, whose HTTP/2 layer bounds
//! header lists itself.

pub mod head;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::BytesMut;
use pingora::apps::{HttpPersistentSettings, HttpServerApp, ServerApp};
use pingora::protocols::http::ServerSession;
use pingora::protocols::{Stream, ALPN};
use pingora::proxy::HttpProxy;
use pingora::server::ShutdownWatch;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{timeout, timeout_at, Instant};

use crate::proxy::{ErrorPage, Proxy, Refusal};
pub use head::{HeadLimits, HeadScanner, Scan};

/// Pingora's keep-alive for a connection's first request (its own loop sets the same);
/// the proxy's `early_request_filter` narrows it to `timeout_client`.
const FIRST_REQUEST_KEEPALIVE_SECS: u64 = 60;
/// Pingora's initial request buffer size.
const INITIAL_BUFFER: usize = 4096;
/// After a refusal: how long, and how much, the client's remaining input is read and
/// dropped, so that closing does not reset the connection before the client has read
/// the answer (a close with unread input sends RST, which discards our response).
const LINGER: Duration = Duration::from_millis(500);
const LINGER_BYTES: usize = 1 << 20;

/// One frontend's connection handler: reads request heads, then runs the proxy.
pub struct Frontend {
    proxy: Arc<HttpProxy<Proxy>>,
    limits: HeadLimits,
    /// `timeout_client`: idle time allowed before a request starts.
    idle: Duration,
    refusal: Refusal,
}

/// How reading a request head ended.
enum HeadRead {
    /// A complete head (and possibly more bytes after it).
    Complete(BytesMut),
    /// Nothing to answer: the client sent nothing before closing or idling out, went
    /// away in the middle of a head, or the process is shutting down.
    Close,
    /// tether answers this page and closes.
    Refuse(&'static ErrorPage),
}

impl Frontend {
    pub fn new(
        proxy: Arc<HttpProxy<Proxy>>,
        limits: HeadLimits,
        idle: Duration,
        refusal: Refusal,
    ) -> Self {
        Frontend {
            proxy,
            limits,
            idle,
            refusal,
        }
    }

    async fn read_head(&self, stream: &mut Stream, shutdown: &mut ShutdownWatch) -> HeadRead {
        let mut buf = BytesMut::with_capacity(INITIAL_BUFFER.min(self.limits.max_bytes + 1));
        // Every read takes at most what the limit still allows (plus one byte, to see it
        // exceeded): a client cannot make the buffer grow past the limit.
        let allowed = |buf: &BytesMut| (self.limits.max_bytes + 1).saturating_sub(buf.len()).max(1);
        let mut limited = (&mut *stream).take(allowed(&buf) as u64);
        let first = tokio::select! {
            biased;
            read = timeout(self.idle, limited.read_buf(&mut buf)) => read,
            () = shutting_down(shutdown) => return HeadRead::Close,
        };
        if !matches!(first, Ok(Ok(n)) if n > 0) {
            return HeadRead::Close;
        }
        let deadline = Instant::now() + self.limits.timeout;
        let mut scanner = HeadScanner::new();
        loop {
            match scanner.scan(&buf, &self.limits) {
                Scan::Complete(_) => return HeadRead::Complete(buf),
                Scan::TooManyHeaders | Scan::TooLarge => {
                    return HeadRead::Refuse(&crate::proxy::HEADERS_TOO_LARGE)
                }
                Scan::NotHttp => return HeadRead::Refuse(&crate::proxy::BAD_REQUEST),
                Scan::Partial => {}
            }
            let room = allowed(&buf);
            buf.reserve(room.min(INITIAL_BUFFER));
            let mut limited = (&mut *stream).take(room as u64);
            match timeout_at(deadline, limited.read_buf(&mut buf)).await {
                Err(_) => return HeadRead::Refuse(&crate::proxy::REQUEST_TIMEOUT),
                Ok(Ok(n)) if n > 0 => {}
                // The client went away with half a head: there is nobody to answer.
                Ok(_) => return HeadRead::Close,
            }
        }
    }

    /// Writes `page`, closes our side, and reads what the client still sends for a
    /// moment before dropping the connection.
    async fn refuse(&self, mut stream: Stream, page: &'static ErrorPage) {
        let client = client_addr(&stream);
        let wrote = timeout(self.idle, async {
            stream.write_all(&page.raw_response()).await?;
            stream.flush().await?;
            AsyncWriteExt::shutdown(&mut stream).await
        })
        .await;
        self.refusal.record(client, page.status);
        if matches!(wrote, Ok(Ok(()))) {
            let mut sink = vec![0u8; 16 * 1024];
            let mut drained = 0;
            let _ = timeout(LINGER, async {
                while drained < LINGER_BYTES {
                    match stream.read(&mut sink).await {
                        Ok(n) if n > 0 => drained += n,
                        _ => break,
                    }
                }
            })
            .await;
        }
    }
}

#[async_trait]
impl ServerApp for Frontend {
    async fn process_new(
        self: &Arc<Self>,
        mut stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        if matches!(stream.selected_alpn_proto(), Some(ALPN::H2)) {
            return self.proxy.process_new(stream, shutdown).await;
        }
        let mut watch = shutdown.clone();
        let mut settings: Option<HttpPersistentSettings> = None;
        loop {
            let head = match self.read_head(&mut stream, &mut watch).await {
                HeadRead::Complete(head) => head,
                HeadRead::Close => return None,
                HeadRead::Refuse(page) => {
                    self.refuse(stream, page).await;
                    return None;
                }
            };
            let mut session = ServerSession::new_http1(stream);
            match settings.take() {
                Some(previous) => previous.apply_to_session(&mut session),
                None if *shutdown.borrow() => session.set_keepalive(None),
                None => session.set_keepalive(Some(FIRST_REQUEST_KEEPALIVE_SECS)),
            }
            session.set_pipelined_prefix(head);
            let reusable = self.proxy.process_new_http(session, shutdown).await?;
            (stream, settings) = reusable.consume();
        }
    }

    async fn cleanup(&self) {
        self.proxy.http_cleanup().await;
    }
}

/// Resolves once the server starts shutting down (never if that cannot be known).
async fn shutting_down(watch: &mut ShutdownWatch) {
    while !*watch.borrow_and_update() {
        if watch.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

fn client_addr(stream: &Stream) -> Option<SocketAddr> {
    let digest = stream.get_socket_digest()?;
    digest.peer_addr()?.as_inet().copied()
}
