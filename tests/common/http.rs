//! A raw, synchronous HTTP/1.1 client for tests. It sends exactly the bytes a
//! test asks for (several `Cookie` fields, odd spacing, garbage) and reads
//! responses framed by `Content-Length`, chunked encoding or connection
//! close, skipping 1xx interim responses. Every read and write has a timeout
//! (10 s by default), so a hung proxy fails a test instead of hanging CI.
//!
//! ```ignore
//! let response = Request::get("/").header("Cookie", "SRV=s1").send(addr)?;
//! assert_eq!(response.status, 200);
//! assert_eq!(response.server(), Some("s1"));
//! ```

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Timeout of every connect, read and write unless a test sets another.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// `Host` sent unless the test gives its own or calls [`Request::no_host`].
pub const DEFAULT_HOST: &str = "tether.test";
/// Largest response head accepted.
const MAX_RESPONSE_HEAD: usize = 1024 * 1024;

/// A request to send. Built requests are serialised as
/// `METHOD target VERSION\r\n`, `host: tether.test\r\n` (unless a `Host`
/// field was given or [`no_host`](Self::no_host) was called), each field as
/// `name: value\r\n` in the order given, `content-length` for a body (unless
/// the test gave `Content-Length` or `Transfer-Encoding` itself), `\r\n`, body.
#[derive(Debug, Clone)]
pub struct Request {
    method: String,
    target: String,
    version: &'static str,
    /// Field lines without their CRLF, exactly as they will be sent.
    lines: Vec<Vec<u8>>,
    default_host: bool,
    body: Body,
    /// When set, these bytes are sent instead of everything above.
    raw: Option<Vec<u8>>,
    timeout: Duration,
}

#[derive(Debug, Clone)]
enum Body {
    None,
    Bytes(Vec<u8>),
    Chunked(Vec<Vec<u8>>),
}

impl Request {
    /// `<method> <target> HTTP/1.1`.
    pub fn new(method: &str, target: &str) -> Self {
        Request {
            method: method.to_owned(),
            target: target.to_owned(),
            version: "HTTP/1.1",
            lines: Vec::new(),
            default_host: true,
            body: Body::None,
            raw: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    pub fn get(target: &str) -> Self {
        Self::new("GET", target)
    }

    pub fn head(target: &str) -> Self {
        Self::new("HEAD", target)
    }

    pub fn post(target: &str) -> Self {
        Self::new("POST", target)
    }

    /// Sends `bytes` verbatim. The method (for HEAD handling) is read from
    /// the first word.
    pub fn raw(bytes: impl Into<Vec<u8>>) -> Self {
        let bytes = bytes.into();
        let method = bytes
            .split(|&b| b == b' ')
            .next()
            .map(|word| String::from_utf8_lossy(word).into_owned())
            .unwrap_or_default();
        Request {
            raw: Some(bytes),
            ..Self::new(&method, "")
        }
    }

    /// Uses `HTTP/1.0` in the request line.
    pub fn http10(mut self) -> Self {
        self.version = "HTTP/1.0";
        self
    }

    /// Adds the field line `name: value` (value bytes as given, any bytes).
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        if name.eq_ignore_ascii_case("host") {
            self.default_host = false;
        }
        let mut line = Vec::with_capacity(name.len() + 2 + value.as_ref().len());
        line.extend_from_slice(name.as_bytes());
        line.extend_from_slice(b": ");
        line.extend_from_slice(value.as_ref());
        self.lines.push(line);
        self
    }

    /// Adds a field line exactly as given (CRLF appended), for odd spacing
    /// such as `Cookie:a=1` or `Cookie :  x`.
    pub fn line(mut self, line: impl AsRef<[u8]>) -> Self {
        let line = line.as_ref().to_vec();
        if line.len() >= 5 && line[..5].eq_ignore_ascii_case(b"host:") {
            self.default_host = false;
        }
        self.lines.push(line);
        self
    }

    /// Sends no `Host` field unless one is added explicitly.
    pub fn no_host(mut self) -> Self {
        self.default_host = false;
        self
    }

    /// A body sent with `content-length`.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Body::Bytes(body.into());
        self
    }

    /// A body sent with `transfer-encoding: chunked`, one chunk per element
    /// (empty elements are skipped: they would end the body).
    pub fn chunked<C: AsRef<[u8]>>(mut self, chunks: &[C]) -> Self {
        self.body = Body::Chunked(chunks.iter().map(|c| c.as_ref().to_vec()).collect());
        self
    }

    /// Timeout for connect, each read and each write.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether the response will have no body because of the method.
    pub fn is_head(&self) -> bool {
        self.method.eq_ignore_ascii_case("HEAD")
    }

    /// The exact bytes that will be sent.
    pub fn to_bytes(&self) -> Vec<u8> {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(self.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.target.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.version.as_bytes());
        out.extend_from_slice(b"\r\n");
        if self.default_host {
            out.extend_from_slice(b"host: ");
            out.extend_from_slice(DEFAULT_HOST.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        for line in &self.lines {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
        let framed_by_test = self.lines.iter().any(|line| {
            starts_with_ignore_case(line, b"content-length:")
                || starts_with_ignore_case(line, b"transfer-encoding:")
        });
        match &self.body {
            Body::None => out.extend_from_slice(b"\r\n"),
            Body::Bytes(body) => {
                if !framed_by_test {
                    out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
                }
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(body);
            }
            Body::Chunked(chunks) => {
                if !framed_by_test {
                    out.extend_from_slice(b"transfer-encoding: chunked\r\n");
                }
                out.extend_from_slice(b"\r\n");
                for chunk in chunks.iter().filter(|c| !c.is_empty()) {
                    out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                    out.extend_from_slice(chunk);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n\r\n");
            }
        }
        out
    }

    /// Sends on a new connection and reads one response.
    pub fn send(&self, addr: SocketAddr) -> io::Result<Response> {
        let mut conn = Conn::open_with_timeout(addr, self.timeout)?;
        conn.send(self)
    }
}

/// A response as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    pub status: u16,
    pub reason: String,
    /// Fields in order, names as received; values lossily decoded as UTF-8
    /// (use `head` for exact bytes).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The exact bytes of the final response head (status line to CRLF CRLF).
    pub head: Vec<u8>,
}

impl Response {
    /// First value of field `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Every value of field `name`, in order.
    pub fn headers_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// `x-server`: which echo server answered.
    pub fn server(&self) -> Option<&str> {
        self.header("x-server")
    }

    /// `x-seen-cookie` values: the `Cookie` fields the echo server received.
    pub fn seen_cookies(&self) -> Vec<String> {
        self.headers_all("x-seen-cookie")
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One client connection, kept alive across requests. Bytes read past a
/// response stay buffered for the next one, so pipelining works.
#[derive(Debug)]
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// The peer ended the stream (EOF seen or a close-delimited body read).
    eof: bool,
    timeout: Duration,
}

impl Conn {
    /// Connects with [`DEFAULT_TIMEOUT`].
    pub fn open(addr: SocketAddr) -> io::Result<Conn> {
        Self::open_with_timeout(addr, DEFAULT_TIMEOUT)
    }

    /// Connects; `timeout` bounds the connect and every later read/write.
    pub fn open_with_timeout(addr: SocketAddr, timeout: Duration) -> io::Result<Conn> {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::new(),
            eof: false,
            timeout,
        })
    }

    /// Writes the request and reads its response.
    pub fn send(&mut self, request: &Request) -> io::Result<Response> {
        self.write_raw(&request.to_bytes())?;
        self.read_response(request.is_head())
    }

    /// Writes bytes as they are (e.g. several pipelined requests).
    pub fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Half-closes the sending side (the peer sees EOF after our bytes).
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        self.stream.shutdown(Shutdown::Write)
    }

    /// Reads the next final response; `head` says it answers a HEAD request.
    /// A connection closed before any byte gives `UnexpectedEof` ("empty
    /// response"); a reset gives `ConnectionReset`.
    pub fn read_response(&mut self, head: bool) -> io::Result<Response> {
        loop {
            let head_len = self.read_head()?;
            let head_bytes: Vec<u8> = self.buf.drain(..head_len).collect();
            let mut response = parse_head(&head_bytes)?;
            // 1xx are interim (101 would switch protocols: return it).
            if (100..200).contains(&response.status) && response.status != 101 {
                continue;
            }
            let no_body = head
                || (100..200).contains(&response.status)
                || response.status == 204
                || response.status == 304;
            if !no_body {
                response.body = self.read_body(&response)?;
            }
            return Ok(response);
        }
    }

    /// Whether the peer closes the connection within `timeout` (EOF or reset
    /// seen). Bytes arriving meanwhile are discarded.
    pub fn wait_closed(&mut self, timeout: Duration) -> bool {
        let closed = self.eof || self.poll_closed(Instant::now() + timeout);
        let _ = self.stream.set_read_timeout(Some(self.timeout));
        closed
    }

    fn poll_closed(&mut self, deadline: Instant) -> bool {
        let mut scratch = [0u8; 4096];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.stream.set_read_timeout(Some(left)).is_err() {
                return false;
            }
            match self.stream.read(&mut scratch) {
                Ok(0) => {
                    self.eof = true;
                    return true;
                }
                Ok(_) => {}
                Err(error) if is_timeout(&error) => return false,
                Err(_) => return true,
            }
        }
    }

    /// Reads until `buf` holds a full head; returns its length.
    fn read_head(&mut self) -> io::Result<usize> {
        loop {
            if let Some(at) = find(&self.buf, b"\r\n\r\n") {
                return Ok(at + 4);
            }
            if self.buf.len() > MAX_RESPONSE_HEAD {
                return Err(invalid("response head larger than 1 MiB"));
            }
            if !self.fill()? {
                let message = if self.buf.is_empty() {
                    "connection closed before any response byte (empty response)"
                } else {
                    "connection closed inside the response head"
                };
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, message));
            }
        }
    }

    fn read_body(&mut self, response: &Response) -> io::Result<Vec<u8>> {
        let chunked = response
            .headers_all("transfer-encoding")
            .last()
            .and_then(|value| value.rsplit(',').next())
            .is_some_and(|coding| coding.trim().eq_ignore_ascii_case("chunked"));
        if chunked {
            return self.read_chunked();
        }
        if let Some(length) = response.header("content-length") {
            let length: usize = length
                .trim()
                .parse()
                .map_err(|_| invalid("bad content-length in response"))?;
            return self.take_exact(length);
        }
        // Close-delimited.
        while self.fill()? {}
        Ok(std::mem::take(&mut self.buf))
    }

    fn read_chunked(&mut self) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line = self.take_line()?;
            let size_text = String::from_utf8_lossy(&line);
            let size_text = size_text.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| invalid("bad chunk size in response"))?;
            if size == 0 {
                // Trailer fields until the empty line.
                while !self.take_line()?.is_empty() {}
                return Ok(body);
            }
            body.extend_from_slice(&self.take_exact(size)?);
            if !self.take_line()?.is_empty() {
                return Err(invalid("chunk data not followed by CRLF"));
            }
        }
    }

    /// Takes one CRLF-terminated line (without the CRLF).
    fn take_line(&mut self) -> io::Result<Vec<u8>> {
        loop {
            if let Some(at) = find(&self.buf, b"\r\n") {
                let line = self.buf[..at].to_vec();
                self.buf.drain(..at + 2);
                return Ok(line);
            }
            if !self.fill()? {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed inside a chunked body",
                ));
            }
        }
    }

    fn take_exact(&mut self, length: usize) -> io::Result<Vec<u8>> {
        while self.buf.len() < length {
            if !self.fill()? {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "connection closed after {} of {length} body bytes",
                        self.buf.len()
                    ),
                ));
            }
        }
        Ok(self.buf.drain(..length).collect())
    }

    /// Reads more bytes into `buf`; `false` at EOF. Timeouts are errors.
    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => {
                self.eof = true;
                Ok(false)
            }
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
            Err(error) if is_timeout(&error) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "timed out waiting for the response",
            )),
            Err(error) => Err(error),
        }
    }
}

/// Parses a status line and fields (tolerantly: whatever a proxy sends).
fn parse_head(head: &[u8]) -> io::Result<Response> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("").to_owned();
    let status = parts
        .next()
        .and_then(|code| code.parse::<u16>().ok())
        .filter(|_| version.starts_with("HTTP/"))
        .ok_or_else(|| invalid(&format!("bad status line {status_line:?}")))?;
    let reason = parts.next().unwrap_or("").to_owned();
    let mut headers = Vec::new();
    for line in lines.filter(|line| !line.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid(&format!("bad header line {line:?}")))?;
        headers.push((name.to_owned(), value.trim_matches([' ', '\t']).to_owned()));
    }
    Ok(Response {
        version,
        status,
        reason,
        headers,
        body: Vec::new(),
        head: head.to_vec(),
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn starts_with_ignore_case(line: &[u8], prefix: &[u8]) -> bool {
    line.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}
