//! The access log: one line per request, written in batches by a background thread so
//! that the request path never waits on the disk or a pipe, and pays neither a wake-up
//! nor a system call per line.
//!
//! The text format follows HAProxy's HTTP log closely enough for operators to reuse
//! their parsing habits (docs/haproxy-compatibility.md §18):
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
//!
//! How a line travels: it is formatted into a buffer owned by the worker thread (no
//! allocation), then appended to one shared batch under a short lock. The writer thread
//! takes the whole batch when it reaches [`BATCH_BYTES`] (the appender wakes it) or every
//! [`MAX_DELAY`] otherwise, and writes it with one call. A target that does not keep up
//! (a full pipe, a stuck disk) makes the batch grow up to [`MAX_PENDING_BYTES`] (besides
//! the batch being written); lines beyond are dropped and counted rather than slowing
//! requests down or growing memory. Lines still waiting when the process exits are written
//! first, for at most [`EXIT_FLUSH_LIMIT`].

mod format;

use std::cell::RefCell;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

pub use format::Entry;
use pingora_prometheus::prometheus::IntCounter;

use crate::config::{LogFormat, LogTarget};

/// A batch this large is written at once.
pub const BATCH_BYTES: usize = 64 * 1024;
/// A line waits at most about this long before it is written.
pub const MAX_DELAY: Duration = Duration::from_millis(100);
/// Unwritten lines beyond this are dropped (and counted).
pub const MAX_PENDING_BYTES: usize = 8 * 1024 * 1024;
/// How long an exiting process waits for its last lines to be written.
pub const EXIT_FLUSH_LIMIT: Duration = Duration::from_secs(2);

/// Where and how access log lines go. Cheap to share; the writer thread starts on first
/// use, so that it is created after Pingora daemonizes (threads do not survive a fork).
pub struct AccessLog {
    target: LogTarget,
    format: LogFormat,
    sink: OnceLock<Option<Arc<Sink>>>,
    dropped: AtomicU64,
    /// `tether_access_log_dropped_total` (created here so that it is exported from the
    /// start, at 0).
    dropped_metric: IntCounter,
}

/// The batch shared by the request threads and the writer thread.
struct Sink {
    pending: Mutex<Vec<u8>>,
    /// Signalled when the batch reaches `BATCH_BYTES`.
    full: Condvar,
    /// The target. Taking a batch and writing it happen under this lock, so batches are
    /// written in the order they were taken, by the writer thread or by `flush`.
    out: Mutex<Box<dyn Write + Send>>,
}

thread_local! {
    /// Each worker thread formats its lines here before appending them to the batch.
    static LINE: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(512));
}

/// Locks even if a thread panicked while holding the lock: a log batch stays usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Sink {
    fn append(&self, line: &[u8]) -> bool {
        let mut pending = lock(&self.pending);
        if pending.len() + line.len() > MAX_PENDING_BYTES {
            return false;
        }
        let was_below = pending.len() < BATCH_BYTES;
        pending.extend_from_slice(line);
        if was_below && pending.len() >= BATCH_BYTES {
            self.full.notify_one();
        }
        true
    }

    /// Writes everything appended so far; `spare` is the emptied buffer of the previous
    /// batch, swapped in so that batches reuse their memory.
    fn write_pending(&self, spare: &mut Vec<u8>) {
        let mut out = lock(&self.out);
        std::mem::swap(&mut *lock(&self.pending), spare);
        if !spare.is_empty() {
            // Nothing sensible can be done about a failing log target from here.
            let _ = out.write_all(spare);
            let _ = out.flush();
            spare.clear();
        }
    }

    /// The writer thread: waits for a full batch or `MAX_DELAY`, then writes.
    fn run(&self) {
        let mut spare = Vec::with_capacity(BATCH_BYTES);
        loop {
            {
                let pending = lock(&self.pending);
                let _ = self
                    .full
                    .wait_timeout_while(pending, MAX_DELAY, |p| p.len() < BATCH_BYTES);
            }
            self.write_pending(&mut spare);
        }
    }
}

impl AccessLog {
    pub fn new(target: LogTarget, format: LogFormat) -> Self {
        AccessLog {
            target,
            format,
            sink: OnceLock::new(),
            dropped: AtomicU64::new(0),
            dropped_metric: crate::metrics::access_log_dropped(),
        }
    }

    pub fn is_enabled(&self) -> bool {
        !matches!(self.target, LogTarget::Off)
    }

    /// Lines lost because the target could not keep up.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub fn log(&self, entry: &Entry<'_>) {
        if !self.is_enabled() {
            return;
        }
        let Some(sink) = self.sink() else {
            return;
        };
        let appended = LINE.with_borrow_mut(|line| {
            line.clear();
            match self.format {
                LogFormat::Text => format::write_text(line, entry),
                LogFormat::Json => format::write_json(line, entry),
            }
            sink.append(line)
        });
        if !appended {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            self.dropped_metric.inc();
        }
    }

    /// Writes every line logged so far (used before exiting).
    pub fn flush(&self) {
        if let Some(Some(sink)) = self.sink.get() {
            sink.write_pending(&mut Vec::new());
        }
    }

    /// [`flush`](Self::flush), waiting at most `limit`: a target that blocks (a full pipe)
    /// must not hold the process up when it exits. Returns whether everything was written.
    pub fn flush_within(&self, limit: Duration) -> bool {
        let Some(Some(sink)) = self.sink.get() else {
            return true;
        };
        let sink = sink.clone();
        let (done, wait) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("access-log-flush".into())
            .spawn(move || {
                sink.write_pending(&mut Vec::new());
                let _ = done.send(());
            });
        spawned.is_ok() && wait.recv_timeout(limit).is_ok()
    }

    fn sink(&self) -> Option<&Arc<Sink>> {
        self.sink
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
                let sink = Arc::new(Sink {
                    pending: Mutex::new(Vec::with_capacity(BATCH_BYTES)),
                    full: Condvar::new(),
                    out: Mutex::new(out),
                });
                let writer = sink.clone();
                let spawned = std::thread::Builder::new()
                    .name("access-log".into())
                    .spawn(move || writer.run());
                match spawned {
                    Ok(_) => Some(sink),
                    Err(e) => {
                        log::error!("cannot start the access log writer: {e}");
                        None
                    }
                }
            })
            .as_ref()
    }
}

fn open_append(path: &Path) -> std::io::Result<std::fs::File> {
    OpenOptions::new().create(true).append(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Instant, UNIX_EPOCH};

    fn entry(uri: &[u8]) -> Entry<'_> {
        Entry {
            accepted: UNIX_EPOCH,
            client: None,
            frontend: "fe",
            backend: "be",
            server: Some("s1"),
            t_request: None,
            t_queue: None,
            t_connect: None,
            t_response: None,
            t_total: Duration::ZERO,
            status: 200,
            bytes: 0,
            termination: *b"--",
            client_cookie_flag: '-',
            server_cookie_flag: '-',
            retries: 0,
            redispatched: false,
            app_session: None,
            method: "GET",
            uri,
            version: "HTTP/1.1",
        }
    }

    fn file_log(name: &str) -> (AccessLog, std::path::PathBuf) {
        let path = std::env::temp_dir().join(format!(
            "tether-access-log-{name}-{}.log",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        (
            AccessLog::new(LogTarget::File(path.clone()), LogFormat::Text),
            path,
        )
    }

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Lines from several threads all arrive, whole and in each thread's order.
    #[test]
    fn every_line_arrives_whole() {
        let (log, path) = file_log("whole");
        let log = Arc::new(log);
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for i in 0..5_000 {
                        log.log(&entry(format!("/t{t}/{i}").as_bytes()));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        log.flush();
        let lines = lines(&path);
        assert_eq!(lines.len(), 20_000);
        for t in 0..4 {
            let mine: Vec<usize> = lines
                .iter()
                .filter_map(|l| {
                    let rest = l.split(&format!("\"GET /t{t}/")).nth(1)?;
                    rest.split(' ').next()?.parse().ok()
                })
                .collect();
            assert_eq!(mine, (0..5_000).collect::<Vec<_>>(), "thread {t}");
        }
        assert_eq!(log.dropped(), 0);
        let _ = std::fs::remove_file(path);
    }

    /// A quiet proxy's line is written without a flush, within about `MAX_DELAY`.
    #[test]
    fn a_lone_line_is_written_soon() {
        let (log, path) = file_log("lone");
        log.log(&entry(b"/lone"));
        let deadline = Instant::now() + Duration::from_secs(5);
        while lines(&path).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(lines(&path).len(), 1);
        let _ = std::fs::remove_file(path);
    }

    /// A target that never accepts anything bounds the batch: lines beyond are dropped
    /// and counted.
    #[test]
    fn a_stuck_target_bounds_memory() {
        let sink = Sink {
            pending: Mutex::new(Vec::new()),
            full: Condvar::new(),
            out: Mutex::new(Box::new(std::io::sink())),
        };
        let line = [b'x'; 1000];
        let accepted = (0..10_000).filter(|_| sink.append(&line)).count();
        assert_eq!(accepted, MAX_PENDING_BYTES / 1000);
        assert!(lock(&sink.pending).len() <= MAX_PENDING_BYTES);
    }

    /// A target that blocks does not hold up the exit flush.
    #[test]
    fn flush_within_gives_up_on_a_blocked_target() {
        struct Blocked;
        impl Write for Blocked {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                std::thread::sleep(Duration::from_secs(3600));
                Ok(0)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let log = AccessLog::new(LogTarget::Stdout, LogFormat::Text);
        let sink = Arc::new(Sink {
            pending: Mutex::new(b"line\n".to_vec()),
            full: Condvar::new(),
            out: Mutex::new(Box::new(Blocked)),
        });
        assert!(log.sink.set(Some(sink)).is_ok());
        let started = Instant::now();
        assert!(!log.flush_within(Duration::from_millis(200)));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn off_writes_nothing_and_starts_no_thread() {
        let log = AccessLog::new(LogTarget::Off, LogFormat::Text);
        log.log(&entry(b"/"));
        assert!(log.sink.get().is_none());
    }
}
