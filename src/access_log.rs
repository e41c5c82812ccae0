//! The access log: one line per request, written by a background thread so the request
//! path never waits on the disk or a pipe.
//!
//! The text format follows HAProxy's HTTP log closely enough for operators to reuse
//! their parsing habits:
//!
//! ```text
//! 127.0.0.1:41236 [21/Nov/2026:10:00:00.123] web app/s1 0/0/1/2/3 200 512 --VN 0 "GET / HTTP/1.1"
//! ```
//!
//! Fields: client address, accept date (UTC), frontend, backend/server, timers
//! `Tq/Tw/Tc/Tr/Ta` in milliseconds (request, queue, connect, response headers, total;
//! -1 when the phase did not happen), status, bytes sent to the client, the termination
//! state (two session characters and HAProxy's two persistence cookie flags), the retry
//! count (prefixed with `+` when the request was redispatched) and the request line.

use std::fs::OpenOptions;
use std::io::{BufWriter, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::{LogFormat, LogTarget};

/// Lines queued beyond this are dropped (and counted): a stuck log target must not grow
/// memory or slow requests down.
const QUEUE_LINES: usize = 65_536;

enum Msg {
    Line(String),
    Flush(SyncSender<()>),
}

/// Where and how access log lines go. Cheap to share; the writer thread starts on first
/// use, so that it is created after Pingora daemonizes (threads do not survive a fork).
pub struct AccessLog {
    target: LogTarget,
    format: LogFormat,
    sender: OnceLock<Option<SyncSender<Msg>>>,
    dropped: AtomicU64,
}

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
    pub uri: &'a str,
    pub version: &'a str,
}

impl AccessLog {
    pub fn new(target: LogTarget, format: LogFormat) -> Self {
        AccessLog {
            target,
            format,
            sender: OnceLock::new(),
            dropped: AtomicU64::new(0),
        }
    }

    pub fn is_enabled(&self) -> bool {
        !matches!(self.target, LogTarget::Off)
    }

    /// Lines lost because the writer could not keep up.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub fn log(&self, entry: &Entry<'_>) {
        if !self.is_enabled() {
            return;
        }
        let line = match self.format {
            LogFormat::Text => format_text(entry),
            LogFormat::Json => format_json(entry),
        };
        let Some(sender) = self.sender() else {
            return;
        };
        if let Err(TrySendError::Full(_)) = sender.try_send(Msg::Line(line)) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Blocks until every line logged so far is written out (used before exiting).
    pub fn flush(&self) {
        let Some(Some(sender)) = self.sender.get() else {
            return;
        };
        let (ack_tx, ack_rx) = mpsc::sync_channel(1);
        if sender.send(Msg::Flush(ack_tx)).is_ok() {
            let _ = ack_rx.recv_timeout(Duration::from_secs(5));
        }
    }

    fn sender(&self) -> Option<&SyncSender<Msg>> {
        self.sender
            .get_or_init(|| {
                let out: Box<dyn Write + Send> = match &self.target {
                    LogTarget::Off => return None,
                    LogTarget::Stdout => Box::new(std::io::stdout()),
                    LogTarget::Stderr => Box::new(std::io::stderr()),
                    LogTarget::File(path) => match open_append(path) {
                        Ok(file) => Box::new(file),
                        Err(e) => {
                            log::error!(
                                "access log {}: {e}; access logging disabled",
                                path.display()
                            );
                            return None;
                        }
                    },
                };
                let (tx, rx) = mpsc::sync_channel(QUEUE_LINES);
                let spawned = std::thread::Builder::new()
                    .name("access-log".into())
                    .spawn(move || write_loop(rx, out));
                match spawned {
                    Ok(_) => Some(tx),
                    Err(e) => {
                        log::error!("cannot start the access log writer: {e}");
                        None
                    }
                }
            })
            .as_ref()
    }
}

fn open_append(path: &PathBuf) -> std::io::Result<std::fs::File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Writes lines as they come, flushing whenever the queue runs dry so that a quiet
/// proxy's log is always up to date while a busy one writes in large blocks.
fn write_loop(rx: Receiver<Msg>, out: Box<dyn Write + Send>) {
    let mut out = BufWriter::with_capacity(64 * 1024, out);
    let handle = |msg: Msg, out: &mut BufWriter<Box<dyn Write + Send>>| match msg {
        Msg::Line(line) => {
            let _ = out.write_all(line.as_bytes());
        }
        Msg::Flush(ack) => {
            let _ = out.flush();
            let _ = ack.send(());
        }
    };
    while let Ok(msg) = rx.recv() {
        handle(msg, &mut out);
        while let Ok(msg) = rx.try_recv() {
            handle(msg, &mut out);
        }
        let _ = out.flush();
    }
}

fn millis(d: Option<Duration>) -> i64 {
    d.map_or(-1, |d| d.as_millis().min(i64::MAX as u128) as i64)
}

fn format_text(e: &Entry<'_>) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(160 + e.uri.len());
    match e.client {
        Some(addr) => {
            let _ = write!(s, "{addr}");
        }
        None => s.push('-'),
    }
    s.push_str(" [");
    push_clf_date(&mut s, e.accepted);
    let _ = write!(
        s,
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
        s.push_str("<BADREQ>");
    } else {
        push_sanitized(&mut s, e.method);
        s.push(' ');
        push_sanitized(&mut s, e.uri);
        s.push(' ');
        s.push_str(e.version);
    }
    s.push_str("\"\n");
    s
}

fn format_json(e: &Entry<'_>) -> String {
    let mut date = String::with_capacity(32);
    push_clf_date(&mut date, e.accepted);
    let value = serde_json::json!({
        "time": date,
        "client": e.client.map(|a| a.to_string()),
        "frontend": e.frontend,
        "backend": e.backend,
        "server": e.server,
        "tq_ms": millis(e.t_request),
        "tw_ms": millis(e.t_queue),
        "tc_ms": millis(e.t_connect),
        "tr_ms": millis(e.t_response),
        "ta_ms": millis(Some(e.t_total)),
        "status": e.status,
        "bytes": e.bytes,
        "termination": format!("{}{}{}{}", e.termination[0] as char, e.termination[1] as char,
            e.client_cookie_flag, e.server_cookie_flag),
        "retries": e.retries,
        "redispatched": e.redispatched,
        "app_session": e.app_session,
        "method": e.method,
        "uri": e.uri,
        "version": e.version,
    });
    let mut line = value.to_string();
    line.push('\n');
    line
}

/// Control characters and quotes in client-supplied text would let a client forge log
/// lines; they are written as `#XX` like HAProxy does.
fn push_sanitized(s: &mut String, text: &str) {
    for c in text.chars() {
        if c.is_control() || c == '"' {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                s.push_str(&format!("#{b:02X}"));
            }
        } else {
            s.push(c);
        }
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `21/Nov/2026:10:00:00.123`, UTC.
fn push_clf_date(s: &mut String, t: SystemTime) {
    use std::fmt::Write as _;
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    let _ = write!(
        s,
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
            uri: "/",
            version: "HTTP/1.1",
        }
    }

    #[test]
    fn text_line_has_every_field_in_haproxy_order() {
        assert_eq!(
            format_text(&entry()),
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
        let line = format_text(&e);
        assert!(
            line.contains(" app/<NOSRV> 0/0/-1/-1/3 503 512 SCDI +3 "),
            "{line}"
        );
    }

    #[test]
    fn client_text_cannot_forge_lines() {
        let e = Entry {
            uri: "/a\"\nb",
            ..entry()
        };
        let line = format_text(&e);
        assert!(line.ends_with("\"GET /a#22#0Ab HTTP/1.1\"\n"), "{line}");
        assert_eq!(line.matches('\n').count(), 1);
    }

    #[test]
    fn json_line_is_valid_json() {
        let line = format_json(&entry());
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
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
