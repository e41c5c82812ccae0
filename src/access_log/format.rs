//! The two line formats: HAProxy's HTTP log line, and the same fields as JSON. Each line
//! is appended to a caller's buffer, so that the hot path reuses one buffer per thread
//! and allocates nothing for the text format.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// Everything one access log line says about a request.
pub struct Entry<'a> {
    pub accepted: SystemTime,
    pub client: Option<SocketAddr>,
    pub frontend: &'a str,
    pub backend: &'a str,
    /// `None` when no server was reached (`<NOSRV>`).
    pub server: Option<&'a str>,
    /// Request received → sent to the balancer (`Tq`).
    pub t_request: Option<Duration>,
    pub t_queue: Option<Duration>,
    pub t_connect: Option<Duration>,
    pub t_response: Option<Duration>,
    pub t_total: Duration,
    pub status: u16,
    pub bytes: usize,
    /// HAProxy termination state, first two characters (`--` when all went well).
    pub termination: [u8; 2],
    pub client_cookie_flag: char,
    pub server_cookie_flag: char,
    pub retries: u32,
    pub redispatched: bool,
    /// What the app-session table did (`hit`, `miss`, `learned`, ...), when consulted.
    pub app_session: Option<&'static str>,
    /// Empty when the request could not be read: the line says `<BADREQ>`.
    pub method: &'a str,
    /// The request target as received (not re-encoded).
    pub uri: &'a [u8],
    pub version: &'a str,
}

fn millis(d: Option<Duration>) -> i64 {
    d.map_or(-1, |d| d.as_millis().min(i64::MAX as u128) as i64)
}

/// Appends the text line (HAProxy's HTTP log format, see the module docs of
/// `access_log`).
pub fn write_text(out: &mut Vec<u8>, e: &Entry<'_>) {
    // Writing into a Vec cannot fail.
    match e.client {
        Some(addr) => {
            let _ = write!(out, "{addr}");
        }
        None => out.push(b'-'),
    }
    out.extend_from_slice(b" [");
    push_clf_date(out, e.accepted);
    let _ = write!(
        out,
        "] {} {}/{} {}/{}/{}/{}/{} {} {} {}{}{}{} {}{} \"",
        e.frontend,
        e.backend,
        e.server.unwrap_or("<NOSRV>"),
        millis(e.t_request),
        millis(e.t_queue),
        millis(e.t_connect),
        millis(e.t_response),
        millis(Some(e.t_total)),
        e.status,
        e.bytes,
        e.termination[0] as char,
        e.termination[1] as char,
        e.client_cookie_flag,
        e.server_cookie_flag,
        if e.redispatched { "+" } else { "" },
        e.retries,
    );
    if e.method.is_empty() {
        // A request that could not be read (HAProxy's word for it).
        out.extend_from_slice(b"<BADREQ>");
    } else {
        push_escaped(out, e.method.as_bytes());
        out.push(b' ');
        push_escaped(out, e.uri);
        out.push(b' ');
        out.extend_from_slice(e.version.as_bytes());
    }
    out.extend_from_slice(b"\"\n");
}

/// The JSON line: the same fields, named.
#[derive(Serialize)]
struct JsonLine<'a> {
    time: &'a str,
    client: Option<SocketAddr>,
    frontend: &'a str,
    backend: &'a str,
    server: Option<&'a str>,
    tq_ms: i64,
    tw_ms: i64,
    tc_ms: i64,
    tr_ms: i64,
    ta_ms: i64,
    status: u16,
    bytes: usize,
    termination: &'a str,
    retries: u32,
    redispatched: bool,
    app_session: Option<&'a str>,
    method: &'a str,
    /// Invalid UTF-8 in the target becomes U+FFFD: JSON strings are Unicode.
    uri: &'a str,
    version: &'a str,
}

/// Appends the JSON line.
pub fn write_json(out: &mut Vec<u8>, e: &Entry<'_>) {
    let mut date = Vec::with_capacity(32);
    push_clf_date(&mut date, e.accepted);
    let flags = [
        e.termination[0],
        e.termination[1],
        ascii(e.client_cookie_flag),
        ascii(e.server_cookie_flag),
    ];
    let uri = String::from_utf8_lossy(e.uri);
    let line = JsonLine {
        time: std::str::from_utf8(&date).unwrap_or_default(),
        client: e.client,
        frontend: e.frontend,
        backend: e.backend,
        server: e.server,
        tq_ms: millis(e.t_request),
        tw_ms: millis(e.t_queue),
        tc_ms: millis(e.t_connect),
        tr_ms: millis(e.t_response),
        ta_ms: millis(Some(e.t_total)),
        status: e.status,
        bytes: e.bytes,
        termination: std::str::from_utf8(&flags).unwrap_or("----"),
        retries: e.retries,
        redispatched: e.redispatched,
        app_session: e.app_session,
        method: e.method,
        uri: &uri,
        version: e.version,
    };
    if serde_json::to_writer(&mut *out, &line).is_ok() {
        out.push(b'\n');
    }
}

fn ascii(c: char) -> u8 {
    if c.is_ascii() {
        c as u8
    } else {
        b'?'
    }
}

/// Client-supplied bytes that could forge or garble a line (controls, DEL, `"`, bytes
/// outside ASCII) are written as `#XX`, like HAProxy does; `#` itself too, so the
/// encoding can be undone.
fn push_escaped(out: &mut Vec<u8>, text: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in text {
        if !(0x20..0x7f).contains(&b) || b == b'"' || b == b'#' {
            out.extend_from_slice(&[b'#', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        } else {
            out.push(b);
        }
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `21/Nov/2026:10:00:00.123`, UTC.
fn push_clf_date(out: &mut Vec<u8>, t: SystemTime) {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    let _ = write!(
        out,
        "{:02}/{}/{}:{:02}:{:02}:{:02}.{:03}",
        day,
        MONTHS[(month - 1) as usize % 12],
        year,
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        since.subsec_millis()
    );
}

/// Days since 1970-01-01 to (year, month 1..=12, day 1..=31); Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(e: &Entry<'_>) -> String {
        let mut buf = Vec::new();
        write_text(&mut buf, e);
        String::from_utf8(buf).unwrap()
    }

    fn entry() -> Entry<'static> {
        Entry {
            accepted: UNIX_EPOCH + Duration::from_millis(1_795_288_301_123),
            client: Some("127.0.0.1:41236".parse().unwrap()),
            frontend: "web",
            backend: "app",
            server: Some("s1"),
            t_request: Some(Duration::ZERO),
            t_queue: Some(Duration::ZERO),
            t_connect: Some(Duration::from_millis(1)),
            t_response: Some(Duration::from_millis(2)),
            t_total: Duration::from_millis(3),
            status: 200,
            bytes: 512,
            termination: *b"--",
            client_cookie_flag: 'V',
            server_cookie_flag: 'N',
            retries: 0,
            redispatched: false,
            app_session: None,
            method: "GET",
            uri: b"/",
            version: "HTTP/1.1",
        }
    }

    #[test]
    fn text_line_has_every_field_in_haproxy_order() {
        assert_eq!(
            text(&entry()),
            "127.0.0.1:41236 [21/Nov/2026:19:11:41.123] web app/s1 0/0/1/2/3 200 512 --VN 0 \"GET / HTTP/1.1\"\n"
        );
    }

    #[test]
    fn redispatch_prefixes_the_retry_count_and_missing_server_is_nosrv() {
        let e = Entry {
            server: None,
            redispatched: true,
            retries: 3,
            t_connect: None,
            t_response: None,
            status: 503,
            termination: *b"SC",
            client_cookie_flag: 'D',
            server_cookie_flag: 'I',
            ..entry()
        };
        let line = text(&e);
        assert!(
            line.contains(" app/<NOSRV> 0/0/-1/-1/3 503 512 SCDI +3 "),
            "{line}"
        );
    }

    #[test]
    fn client_text_cannot_forge_lines() {
        let e = Entry {
            uri: b"/a\"\nb\xff\x7f#c",
            method: "G\x01T",
            ..entry()
        };
        let line = text(&e);
        assert!(
            line.ends_with("\"G#01T /a#22#0Ab#FF#7F#23c HTTP/1.1\"\n"),
            "{line}"
        );
        assert_eq!(line.matches('\n').count(), 1);
    }

    #[test]
    fn unreadable_request_is_badreq() {
        let e = Entry {
            method: "",
            uri: b"",
            version: "",
            status: 408,
            ..entry()
        };
        assert!(text(&e).ends_with(" 408 512 --VN 0 \"<BADREQ>\"\n"));
    }

    #[test]
    fn lines_are_appended_to_the_buffer() {
        let mut buf = b"previous\n".to_vec();
        write_text(&mut buf, &entry());
        write_json(&mut buf, &entry());
        let all = String::from_utf8(buf).unwrap();
        let lines: Vec<&str> = all.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "previous");
        assert!(lines[2].starts_with('{'));
    }

    #[test]
    fn json_line_is_valid_json() {
        let mut line = Vec::new();
        write_json(
            &mut line,
            &Entry {
                uri: b"/caf\xc3\xa9?\xff",
                ..entry()
            },
        );
        assert_eq!(line.last(), Some(&b'\n'));
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["uri"], "/café?\u{fffd}");
        assert_eq!(v["client"], "127.0.0.1:41236");
        assert_eq!(v["server"], "s1");
        assert_eq!(v["termination"], "--VN");
        assert_eq!(v["time"], "21/Nov/2026:19:11:41.123");
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }
}
