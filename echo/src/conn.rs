//! One client connection: read a head, skip its body, act on the directives,
//! answer, repeat while keep-alive holds. Requests are handled strictly in
//! order, so pipelined requests are answered in order.

use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::chunked::ChunkedDecoder;
use super::head::{self, Context, Framing, Head, HeadError, Scratch};
use super::response::{self, FILLER_BYTE};
use super::Server;

/// Read-buffer growth step.
const READ_CHUNK: usize = 8 * 1024;
/// How long a closing connection keeps draining what the client still sends,
/// so unread input does not turn our FIN into an RST that destroys the
/// response in the client's receive queue (the lingering close of RFC 9112 §9.6).
const LINGER: Duration = Duration::from_secs(1);
/// Streamed filler for `x-echo-body-bytes` beyond what fits inline.
static FILLER: [u8; 16 * 1024] = [FILLER_BYTE; 16 * 1024];

/// Serves `stream` until the client closes, an error occurs, or a response
/// ends the connection. I/O errors just end the connection.
pub(super) async fn serve_connection(stream: TcpStream, server: Arc<Server>) {
    // One write per response: Nagle would only delay pipelined answers.
    let _ = stream.set_nodelay(true);
    let mut connection = Connection {
        stream,
        buf: BytesMut::with_capacity(READ_CHUNK),
        out: Vec::with_capacity(1024),
        scratch: Scratch::default(),
    };
    let _ = connection.run(&server).await;
}

struct Connection {
    stream: TcpStream,
    /// Bytes read but not yet consumed (may hold pipelined requests).
    buf: BytesMut,
    /// The response being sent, reused across requests.
    out: Vec<u8>,
    scratch: Scratch,
}

enum ReadHead {
    Head(Head),
    /// The client closed (possibly mid-head: nothing to answer).
    Closed,
    Unusable(HeadError),
}

impl Connection {
    async fn run(&mut self, server: &Server) -> io::Result<()> {
        let behaviour = &*server.behaviour;
        let ctx = Context {
            server_name: &server.name,
            session_cookie: behaviour.set_cookie_once.as_deref(),
            fast: behaviour.fast,
        };
        loop {
            let head = match self.read_head(&ctx).await? {
                ReadHead::Head(head) => head,
                ReadHead::Closed => return Ok(()),
                ReadHead::Unusable(error) => return self.reject(&server.name, error).await,
            };
            self.buf.advance(head.len);
            if head.expect_continue && head.framing != Framing::None && !head.http10 {
                self.stream
                    .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                    .await?;
            }
            let Some(body_bytes) = self.skip_body(head.framing).await? else {
                // Malformed chunked body: the head was fine but framing is lost.
                return self.reject(&server.name, HeadError::Malformed).await;
            };

            let counter = if head.health_check {
                &server.counters.health_checks
            } else {
                &server.counters.requests
            };
            counter.fetch_add(1, Ordering::Release);

            if head.directives.delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(head.directives.delay_ms)).await;
            }
            if head.directives.reset {
                // SO_LINGER 0: close() sends RST instead of FIN.
                self.stream.set_zero_linger()?;
                return Ok(());
            }
            if head.directives.close {
                return self.lingering_close().await;
            }

            let filler = response::write(
                &mut self.out,
                &server.name,
                behaviour,
                &head,
                &mut self.scratch,
                body_bytes,
            );
            self.stream.write_all(&self.out).await?;
            self.send_filler(filler).await?;
            if !head.keep_alive {
                return self.lingering_close().await;
            }
        }
    }

    async fn read_head(&mut self, ctx: &Context<'_>) -> io::Result<ReadHead> {
        loop {
            if !self.buf.is_empty() {
                match head::parse(&self.buf, ctx, &mut self.scratch) {
                    Ok(Some(head)) => return Ok(ReadHead::Head(head)),
                    Ok(None) => {}
                    Err(error) => return Ok(ReadHead::Unusable(error)),
                }
            }
            if !self.fill().await? {
                return Ok(ReadHead::Closed);
            }
        }
    }

    /// Reads and discards the body. `Ok(None)`: malformed chunked framing.
    /// A client closing mid-body is an `UnexpectedEof` error.
    async fn skip_body(&mut self, framing: Framing) -> io::Result<Option<u64>> {
        match framing {
            Framing::None => Ok(Some(0)),
            Framing::Length(total) => {
                let mut remaining = total;
                loop {
                    let take = remaining.min(self.buf.len() as u64);
                    self.buf.advance(take as usize);
                    remaining -= take;
                    if remaining == 0 {
                        return Ok(Some(total));
                    }
                    if !self.fill().await? {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                }
            }
            Framing::Chunked => {
                let mut decoder = ChunkedDecoder::new();
                loop {
                    match decoder.feed(&self.buf) {
                        Ok(used) => self.buf.advance(used),
                        Err(_) => return Ok(None),
                    }
                    if decoder.is_done() {
                        return Ok(Some(decoder.data_bytes()));
                    }
                    if !self.fill().await? {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                }
            }
        }
    }

    /// Reads more input; `false` at end of stream.
    async fn fill(&mut self) -> io::Result<bool> {
        self.buf.reserve(READ_CHUNK);
        Ok(self.stream.read_buf(&mut self.buf).await? > 0)
    }

    async fn send_filler(&mut self, mut remaining: u64) -> io::Result<()> {
        while remaining > 0 {
            let take = remaining.min(FILLER.len() as u64) as usize;
            self.stream.write_all(&FILLER[..take]).await?;
            remaining -= take as u64;
        }
        Ok(())
    }

    /// Answers an unusable request (400/431, `x-server` only) and closes.
    async fn reject(&mut self, server_name: &str, error: HeadError) -> io::Result<()> {
        let (status, message) = match error {
            HeadError::TooLarge => (431, "request head larger than 64 KiB"),
            HeadError::Malformed => (400, "malformed request"),
            HeadError::BadDirective(message) => (400, message),
        };
        response::write_error(&mut self.out, server_name, status, message);
        self.stream.write_all(&self.out).await?;
        self.lingering_close().await
    }

    /// Sends FIN, then discards input for up to [`LINGER`] before dropping
    /// the socket.
    async fn lingering_close(&mut self) -> io::Result<()> {
        self.stream.shutdown().await?;
        let drain = async {
            loop {
                self.buf.clear();
                match self.fill().await {
                    Ok(true) => {}
                    Ok(false) | Err(_) => break,
                }
            }
        };
        let _ = tokio::time::timeout(LINGER, drain).await;
        Ok(())
    }
}
