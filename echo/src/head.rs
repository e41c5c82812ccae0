//! Reading one request head: framing, keep-alive, `x-echo-*` directives, and
//! everything the response needs from the header slices, captured into
//! per-connection buffers while the read buffer is still borrowed.

/// Largest request head (request line + fields + final CRLF) accepted; a
/// bigger one gets 431 and the connection is closed.
pub(super) const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Header slots tried on the stack before falling back to a heap array.
const STACK_HEADERS: usize = 64;

/// Longest `x-echo-delay-ms` accepted: one hour.
const MAX_DELAY_MS: u64 = 3_600_000;

/// How the request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// No body.
    None,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: ... chunked`.
    Chunked,
}

/// Response scripting taken from `x-echo-*` request headers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Directives {
    /// `x-echo-status`.
    pub status: Option<u16>,
    /// `x-echo-delay-ms` (0 = answer at once).
    pub delay_ms: u64,
    /// `x-echo-body-bytes`.
    pub body_bytes: Option<u64>,
    /// `x-echo-close: 1`.
    pub close: bool,
    /// `x-echo-reset: 1`.
    pub reset: bool,
}

/// What one request head says, once parsed. Text that must be echoed (cookie
/// values, scripted headers, the JSON) is in the [`Scratch`] buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Head {
    /// Bytes of the head in the read buffer, final CRLF included.
    pub len: usize,
    pub is_head_method: bool,
    /// Whether the connection stays open after the response (HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`).
    pub keep_alive: bool,
    pub http10: bool,
    pub framing: Framing,
    /// `Expect: 100-continue` was sent.
    pub expect_continue: bool,
    /// `GET`/`HEAD` of `/health` (query ignored): answered with the health status.
    pub health_check: bool,
    /// A `Cookie` header carried the behaviour's session cookie name.
    pub carries_session_cookie: bool,
    /// Number of `Cookie` header fields.
    pub cookie_count: u64,
    pub directives: Directives,
    /// `Scratch::json` holds the JSON body up to `"body_bytes":`.
    pub json: bool,
}

/// A head that cannot be served; the server answers and closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HeadError {
    /// Head over [`MAX_HEAD_BYTES`]: 431.
    TooLarge,
    /// Not HTTP/1.x, or unusable framing: 400.
    Malformed,
    /// An `x-echo-*` directive with a bad value, or an unknown one: 400 with
    /// this text as the body, so a typo in a test fails loudly.
    BadDirective(&'static str),
}

/// Per-connection output buffers, cleared and refilled for each request so
/// a keep-alive connection allocates only while they grow.
#[derive(Debug, Default)]
pub(super) struct Scratch {
    /// JSON body prefix (`{"server":...,"body_bytes":`).
    pub json: Vec<u8>,
    /// `Name: value\r\n` lines from `x-echo-header`, in request order.
    pub echo_headers: Vec<u8>,
    /// `x-seen-cookie: value\r\n` lines, in request order.
    pub seen_cookies: Vec<u8>,
}

/// Per-server settings the head analysis depends on.
#[derive(Debug, Clone, Copy)]
pub(super) struct Context<'a> {
    pub server_name: &'a str,
    pub session_cookie: Option<&'a str>,
    pub fast: bool,
}

/// Parses the head at the start of `buf`. `Ok(None)`: incomplete, read more.
pub(super) fn parse(
    buf: &[u8],
    ctx: &Context<'_>,
    scratch: &mut Scratch,
) -> Result<Option<Head>, HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; STACK_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) => analyse(&request, len, ctx, scratch).map(Some),
        Ok(httparse::Status::Partial) => incomplete(buf),
        Err(httparse::Error::TooManyHeaders) => parse_many_headers(buf, ctx, scratch),
        Err(_) => Err(HeadError::Malformed),
    }
}

/// Rare path: more fields than fit on the stack. A field takes at least one
/// line, so the number of LFs bounds the number of fields.
fn parse_many_headers(
    buf: &[u8],
    ctx: &Context<'_>,
    scratch: &mut Scratch,
) -> Result<Option<Head>, HeadError> {
    let window = buf.get(..MAX_HEAD_BYTES + 1).unwrap_or(buf);
    let lines = window.iter().filter(|&&b| b == b'\n').count() + 1;
    let mut headers = vec![httparse::EMPTY_HEADER; lines];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(window) {
        Ok(httparse::Status::Complete(len)) => analyse(&request, len, ctx, scratch).map(Some),
        Ok(httparse::Status::Partial) => incomplete(buf),
        Err(_) => Err(HeadError::Malformed),
    }
}

fn incomplete(buf: &[u8]) -> Result<Option<Head>, HeadError> {
    if buf.len() > MAX_HEAD_BYTES {
        Err(HeadError::TooLarge)
    } else {
        Ok(None)
    }
}

/// Walks the fields once for framing and directives, then (unless the body
/// will not be JSON) once more to write the JSON prefix.
fn analyse(
    request: &httparse::Request<'_, '_>,
    len: usize,
    ctx: &Context<'_>,
    scratch: &mut Scratch,
) -> Result<Head, HeadError> {
    if len > MAX_HEAD_BYTES {
        return Err(HeadError::TooLarge);
    }
    let method = request.method.unwrap_or("");
    let uri = request.path.unwrap_or("");
    let http10 = request.version == Some(0);

    scratch.json.clear();
    scratch.echo_headers.clear();
    scratch.seen_cookies.clear();

    let mut directives = Directives::default();
    let mut content_length: Option<u64> = None;
    let mut chunked: Option<bool> = None;
    let mut connection_close = false;
    let mut connection_keep_alive = false;
    let mut expect_continue = false;
    let mut carries_session_cookie = false;
    let mut cookie_count = 0;

    for field in request.headers.iter() {
        let (name, value) = (field.name.as_bytes(), field.value);
        if name.eq_ignore_ascii_case(b"cookie") {
            cookie_count += 1;
            push_line(&mut scratch.seen_cookies, b"x-seen-cookie", value);
            if let Some(session) = ctx.session_cookie {
                carries_session_cookie |= has_cookie_named(value, session.as_bytes());
            }
        } else if let Some(directive) = strip_prefix_ignore_case(name, b"x-echo-") {
            apply_directive(directive, value, &mut directives, scratch)?;
        } else if name.eq_ignore_ascii_case(b"content-length") {
            let length = parse_decimal(value).ok_or(HeadError::Malformed)?;
            if content_length.is_some_and(|seen| seen != length) {
                return Err(HeadError::Malformed);
            }
            content_length = Some(length);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            // Only the final coding matters for framing (RFC 9112 §6.3).
            chunked = Some(last_token(value).eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in value.split(|&b| b == b',').map(trim_ows) {
                connection_close |= token.eq_ignore_ascii_case(b"close");
                connection_keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case(b"expect") {
            expect_continue = value.eq_ignore_ascii_case(b"100-continue");
        }
    }

    // Transfer-Encoding overrides Content-Length (RFC 9112 §6.3 rule 3); a
    // final coding other than chunked cannot be delimited: 400.
    let framing = match (chunked, content_length) {
        (Some(true), _) => Framing::Chunked,
        (Some(false), _) => return Err(HeadError::Malformed),
        (None, Some(0)) | (None, None) => Framing::None,
        (None, Some(length)) => Framing::Length(length),
    };
    let keep_alive = if http10 {
        connection_keep_alive && !connection_close
    } else {
        !connection_close
    };
    // Like PHP's `session.use_trans_sid` or a servlet's `;jsessionid=`: an id in the URL
    // is a session too, so no new one is issued.
    if let Some(session) = ctx.session_cookie {
        carries_session_cookie |= uri_carries_session(uri.as_bytes(), session.as_bytes());
    }
    let is_get_or_head = method == "GET" || method == "HEAD";
    let path = uri.split('?').next().unwrap_or(uri);
    let json =
        !ctx.fast && directives.body_bytes.is_none() && !directives.close && !directives.reset;
    if json {
        write_json_prefix(
            &mut scratch.json,
            ctx.server_name,
            method,
            uri,
            request.headers,
        );
    }
    Ok(Head {
        len,
        is_head_method: method == "HEAD",
        keep_alive,
        http10,
        framing,
        expect_continue,
        health_check: is_get_or_head && path == "/health",
        carries_session_cookie,
        cookie_count,
        directives,
        json,
    })
}

/// Applies one `x-echo-<directive>` field (prefix already stripped).
fn apply_directive(
    directive: &[u8],
    value: &[u8],
    directives: &mut Directives,
    scratch: &mut Scratch,
) -> Result<(), HeadError> {
    let lower = |expected: &[u8]| directive.eq_ignore_ascii_case(expected);
    if lower(b"status") {
        let status = parse_decimal(value)
            .filter(|status| (200..=599).contains(status))
            .ok_or(HeadError::BadDirective("x-echo-status must be 200..=599"))?;
        directives.status = Some(status as u16);
    } else if lower(b"header") {
        let colon = value.iter().position(|&b| b == b':');
        let (name, field_value) = match colon {
            Some(at) => (trim_ows(&value[..at]), trim_ows(&value[at + 1..])),
            None => (&[][..], &[][..]),
        };
        if name.is_empty() || !name.iter().all(|&b| is_token_byte(b)) {
            return Err(HeadError::BadDirective(
                "x-echo-header must be `Name: value` with a token name",
            ));
        }
        push_line(&mut scratch.echo_headers, name, field_value);
    } else if lower(b"delay-ms") {
        directives.delay_ms = parse_decimal(value)
            .filter(|&ms| ms <= MAX_DELAY_MS)
            .ok_or(HeadError::BadDirective(
                "x-echo-delay-ms must be 0..=3600000",
            ))?;
    } else if lower(b"body-bytes") {
        directives.body_bytes = Some(parse_decimal(value).ok_or(HeadError::BadDirective(
            "x-echo-body-bytes must be a decimal byte count",
        ))?);
    } else if lower(b"close") {
        directives.close =
            parse_flag(value).ok_or(HeadError::BadDirective("x-echo-close must be 0 or 1"))?;
    } else if lower(b"reset") {
        directives.reset =
            parse_flag(value).ok_or(HeadError::BadDirective("x-echo-reset must be 0 or 1"))?;
    } else {
        return Err(HeadError::BadDirective("unknown x-echo- directive"));
    }
    Ok(())
}

/// `{"server":..,"method":..,"uri":..,"headers":[[n,v],...],"body_bytes":`;
/// the connection appends the count and `}` once the body has been read.
fn write_json_prefix(
    json: &mut Vec<u8>,
    server_name: &str,
    method: &str,
    uri: &str,
    headers: &[httparse::Header<'_>],
) {
    json.extend_from_slice(b"{\"server\":");
    push_json_string(json, server_name.as_bytes());
    json.extend_from_slice(b",\"method\":");
    push_json_string(json, method.as_bytes());
    json.extend_from_slice(b",\"uri\":");
    push_json_string(json, uri.as_bytes());
    json.extend_from_slice(b",\"headers\":[");
    for (index, field) in headers.iter().enumerate() {
        if index > 0 {
            json.push(b',');
        }
        json.push(b'[');
        push_json_string(json, field.name.as_bytes());
        json.push(b',');
        push_json_string(json, field.value);
        json.push(b']');
    }
    json.extend_from_slice(b"],\"body_bytes\":");
}

/// Appends `bytes` as a JSON string. Valid UTF-8 passes through; each byte
/// that is not part of a valid UTF-8 sequence is written as `\u00XX` (its
/// value as a code point, i.e. read as Latin-1), so the output is always
/// valid JSON and every input byte stays recoverable.
pub(super) fn push_json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    let mut plain_from = 0;
    let mut pos = 0;
    while pos < bytes.len() {
        let byte = bytes[pos];
        if byte >= 0x20 && byte != b'"' && byte != b'\\' && byte < 0x80 {
            pos += 1;
            continue;
        }
        if byte >= 0x80 {
            let width = utf8_width(byte);
            let valid = bytes
                .get(pos..pos + width)
                .is_some_and(|seq| width > 1 && std::str::from_utf8(seq).is_ok());
            if valid {
                pos += width;
                continue;
            }
        }
        out.extend_from_slice(&bytes[plain_from..pos]);
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(byte >> 4)]);
                out.push(HEX[usize::from(byte & 0x0f)]);
            }
        }
        pos += 1;
        plain_from = pos;
    }
    out.extend_from_slice(&bytes[plain_from..]);
    out.push(b'"');
}

/// Length of the UTF-8 sequence a lead byte announces (1 for anything else,
/// which then fails validation as a lone byte).
fn utf8_width(lead: u8) -> usize {
    match lead {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => 1,
    }
}

/// Appends `name: value\r\n`.
fn push_line(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Whether a `Cookie` value has a cookie called `name` (exact, case-sensitive
/// as PHP compares it).
fn has_cookie_named(cookie_header: &[u8], name: &[u8]) -> bool {
    cookie_header.split(|&b| b == b';').any(|pair| {
        let pair = trim_ows(pair);
        let pair_name = pair.split(|&b| b == b'=').next().unwrap_or(pair);
        trim_ows(pair_name) == name
    })
}

fn strip_prefix_ignore_case<'a>(name: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let head = name.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &name[prefix.len()..])
}

fn last_token(value: &[u8]) -> &[u8] {
    trim_ows(value.rsplit(|&b| b == b',').next().unwrap_or(value))
}

fn trim_ows(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// `1*DIGIT` as u64; `None` if empty, not all digits, or overflowing.
fn parse_decimal(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() {
        return None;
    }
    bytes.iter().try_fold(0u64, |acc, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

fn parse_flag(value: &[u8]) -> Option<bool> {
    match value {
        b"1" => Some(true),
        b"0" => Some(false),
        _ => None,
    }
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Whether the URI carries `<name>=` as a path parameter (`;name=`) or in the query
/// (`?name=`, `&name=`), the name compared case-insensitively.
pub(super) fn uri_carries_session(uri: &[u8], name: &[u8]) -> bool {
    uri.iter().enumerate().any(|(i, &c)| {
        matches!(c, b';' | b'?' | b'&')
            && uri
                .get(i + 1..i + 1 + name.len())
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
            && uri.get(i + 1 + name.len()) == Some(&b'=')
    })
}
