//! App-session table benchmark: `cargo bench --bench app_session_table`.
//!
//! Each phase runs in a child process of its own (the binary re-runs itself with
//! `--phase NAME`) so that RSS deltas are not blurred by memory an earlier phase freed.
//! Ids are 32 random hex characters (a Tomcat JSESSIONID's shape), precomputed before the
//! timed loops; the only allocations while timing are the table's own.

use std::hint::black_box;
use std::process::Command;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use tether::persist::appsession::table::{ServerRef, SessionTable};

const ENTRIES: usize = 1_000_000;
const FLOOD: u64 = 10_000_000;
const HOT_SET: usize = 100_000;
const TIMEOUT: Duration = Duration::from_secs(3 * 3600);
const T0: u32 = 1_700_000_000;
const SERVERS: usize = 8;
/// Runs of each repeated measure.
const RUNS: usize = 3;
/// Learns of new ids in one mixed run (10% of 5 * 10^6 operations).
const MIXED_LEARNS: usize = ENTRIES / 2;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == "--phase") {
        Some(i) => match args.get(i + 1).map(String::as_str) {
            Some("main") => phase_main(),
            Some("insert2") => phase_insert2(),
            Some("flood") => phase_flood(),
            Some("reference") => phase_reference(),
            Some("memory24") => phase_memory::<24>(),
            Some("memory52") => phase_memory::<52>(),
            other => eprintln!("unknown phase {other:?}"),
        },
        None => orchestrate(),
    }
}

/// Runs every phase in a child process and prints their rows as one table.
fn orchestrate() {
    let exe = std::env::current_exe().expect("own path");
    println!("app-session table: {ENTRIES} random 32-byte ids, timeout 3h");
    println!("rates marked x (y): best (median) of {RUNS} runs; the machine may be shared\n");
    println!("{:<58} {:>16}", "measure", "result");
    println!("{}", "-".repeat(75));
    for phase in [
        "main",
        "insert2",
        "memory24",
        "memory52",
        "flood",
        "reference",
    ] {
        let out = Command::new(&exe)
            .args(["--phase", phase])
            .output()
            .expect("run phase");
        print!("{}", String::from_utf8_lossy(&out.stdout));
        if !out.status.success() {
            eprint!("{}", String::from_utf8_lossy(&out.stderr));
        }
    }
}

fn row(measure: &str, result: String) {
    println!("{measure:<58} {result:>16}");
}

fn rate(ops: usize, elapsed: Duration) -> String {
    format!("{:.2} M/s", ops as f64 / elapsed.as_secs_f64() / 1e6)
}

/// Resident set size in bytes (/proc/self/statm, 4 KiB pages).
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// splitmix64: a fixed, reproducible stream.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// 32 random uppercase hex characters.
    fn id(&mut self) -> [u8; 32] {
        self.hex_id()
    }

    /// `N` random uppercase hex characters.
    fn hex_id<const N: usize>(&mut self) -> [u8; N] {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut id = [0u8; N];
        for chunk in id.chunks_mut(16) {
            let mut bits = self.next();
            for byte in chunk {
                *byte = HEX[(bits & 15) as usize];
                bits >>= 4;
            }
        }
        id
    }
}

fn ids(seed: u64, count: usize) -> Vec<[u8; 32]> {
    let mut rng = Rng(seed);
    (0..count).map(|_| rng.id()).collect()
}

fn servers(table: &SessionTable) -> Vec<ServerRef> {
    (0..SERVERS)
        .map(|i| table.server_ref(&format!("srv{i}")))
        .collect()
}

/// Runs `work(thread index)` on `threads` threads at once; returns the wall time.
fn timed<F: Fn(usize) + Sync>(threads: usize, work: F) -> Duration {
    let start = Instant::now();
    thread::scope(|s| {
        for t in 0..threads {
            let work = &work;
            s.spawn(move || work(t));
        }
    });
    start.elapsed()
}

/// Runs `work` `RUNS` times; the fastest and the median wall time (the machine is shared:
/// the fastest run is the one least disturbed by neighbours).
fn best_and_median<F: Fn(usize, usize) + Sync>(threads: usize, work: F) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|run| timed(threads, |t| work(t, run)))
        .collect();
    times.sort();
    (times[0], times[RUNS / 2])
}

fn rates(ops: usize, (best, median): (Duration, Duration)) -> String {
    let m = |d: Duration| ops as f64 / d.as_secs_f64() / 1e6;
    format!("{:.2} ({:.2}) M/s", m(best), m(median))
}

fn lookups(table: &SessionTable, ids: &[[u8; 32]], passes: usize, now: u32) -> usize {
    let mut hits = 0;
    for _ in 0..passes {
        for id in ids {
            hits += usize::from(table.lookup(black_box(id), now).is_some());
        }
    }
    black_box(hits)
}

fn phase_main() {
    let ids = ids(1, ENTRIES);
    let fresh = ids_fresh();
    let before = rss();
    let table = SessionTable::new(ENTRIES as u64, TIMEOUT);
    let refs = servers(&table);

    let took = timed(1, |_| {
        for (n, id) in ids.iter().enumerate() {
            table.learn(id, refs[n % SERVERS], T0);
        }
    });
    row("learn (insert) 10^6 new ids, 1 thread", rate(ENTRIES, took));
    let held = table.len() as u64;
    let delta = rss().saturating_sub(before);
    row(
        "entries held after 10^6 inserts (max_entries 10^6)",
        held.to_string(),
    );
    row(
        "RSS delta / entry",
        format!("{:.1} B", delta as f64 / held as f64),
    );

    const PASSES: usize = 5;
    let took = best_and_median(1, |_, _| {
        lookups(&table, &ids, PASSES, T0);
    });
    row(
        "lookup (hit), random over 10^6, 1 thread",
        rates(ENTRIES * PASSES, took),
    );
    let took = best_and_median(2, |_, _| {
        lookups(&table, &ids, PASSES, T0);
    });
    row(
        "lookup (hit), random over 10^6, 2 threads, total",
        rates(2 * ENTRIES * PASSES, took),
    );
    let took = best_and_median(1, |_, _| {
        lookups(&table, &ids[..10_000], 100 * PASSES, T0);
    });
    row(
        "lookup (hit), 10^4 hot ids of the 10^6, 1 thread",
        rates(ENTRIES * PASSES, took),
    );
    let took = best_and_median(1, |_, _| {
        lookups(&table, &fresh[..ENTRIES], PASSES, T0);
    });
    row("lookup (miss), 1 thread", rates(ENTRIES * PASSES, took));
    // Every entry's refresh is due once: one pass writes them all.
    let took = timed(1, |_| {
        lookups(&table, &ids, 1, T0 + 200);
    });
    row(
        "lookup that refreshes (write), 1 thread",
        rate(ENTRIES, took),
    );
    let took = timed(1, |_| {
        for (n, id) in ids.iter().enumerate() {
            table.learn(id, refs[n % SERVERS], T0 + 200);
        }
    });
    row(
        "learn of a known id, same server (read), 1 thread",
        rate(ENTRIES, took),
    );

    for threads in [1, 2] {
        // Each run learns ids no earlier run learned.
        let took = best_and_median(threads, |t, run| {
            let first = (threads - 1) * RUNS + run;
            let new_ids = &fresh[first * MIXED_LEARNS..(first + 1) * MIXED_LEARNS];
            mixed(&table, &ids, new_ids, &refs, t, threads)
        });
        let label = format!("mixed 90% lookup / 10% learn new id, {threads} thread(s)");
        row(&label, rates(ENTRIES * PASSES, took));
    }

    let evicted = table.stats().evictions;
    row(
        "evictions so far (mixed learns on a full table)",
        evicted.to_string(),
    );
    let start = Instant::now();
    table.sweep(T0 + 300);
    let took = start.elapsed();
    row(
        "sweep at 10^6 entries, none expired",
        format!("{:.1} ms", took.as_secs_f64() * 1e3),
    );
    let start = Instant::now();
    table.sweep(T0 + 300 + 3 * 3600 + 200);
    let took = start.elapsed();
    row(
        "sweep at 10^6 entries, all expired",
        format!("{:.1} ms", took.as_secs_f64() * 1e3),
    );
    row("entries after the second sweep", table.len().to_string());
}

/// Ids never learned before the mixed runs (a different seed): misses, and the new ids of
/// the mixed runs (one slice of MIXED_LEARNS per run).
fn ids_fresh() -> Vec<[u8; 32]> {
    ids(2, 2 * RUNS * MIXED_LEARNS)
}

/// 5 * 10^6 operations: 90% lookups of known ids, 10% learns of `new_ids`; thread `t` of
/// `threads` takes every `threads`-th operation.
fn mixed(
    table: &SessionTable,
    ids: &[[u8; 32]],
    new_ids: &[[u8; 32]],
    refs: &[ServerRef],
    t: usize,
    threads: usize,
) {
    let mut hits = 0usize;
    for n in (t..ENTRIES * 5).step_by(threads) {
        if n % 10 == 9 {
            let new_id = &new_ids[n / 10 % new_ids.len()];
            table.learn(new_id, refs[n % SERVERS], T0 + 100);
        } else {
            hits += usize::from(table.lookup(&ids[n % ENTRIES], T0 + 100).is_some());
        }
    }
    black_box(hits);
}

/// RSS delta per entry for 10^6 ids of `N` bytes (ids of other common lengths).
fn phase_memory<const N: usize>() {
    let mut rng = Rng(6);
    let ids: Vec<[u8; N]> = (0..ENTRIES).map(|_| rng.hex_id()).collect();
    let before = rss();
    let table = SessionTable::new(ENTRIES as u64, TIMEOUT);
    let refs = servers(&table);
    for (n, id) in ids.iter().enumerate() {
        table.learn(id, refs[n % SERVERS], T0);
    }
    let per_entry = rss().saturating_sub(before) as f64 / table.len() as f64;
    row(
        &format!("RSS delta / entry, {N}-byte ids"),
        format!("{per_entry:.1} B"),
    );
}

fn phase_insert2() {
    let ids = ids(1, ENTRIES);
    let table = SessionTable::new(ENTRIES as u64, TIMEOUT);
    let refs = servers(&table);
    let took = timed(2, |t| {
        for (n, id) in ids.iter().enumerate().skip(t).step_by(2) {
            table.learn(id, refs[n % SERVERS], T0);
        }
    });
    row(
        "learn (insert) 10^6 new ids, 2 threads, total",
        rate(ENTRIES, took),
    );
}

/// 10^7 one-time ids into a 10^6 table while a hot set of 10^5 ids is looked up after
/// every 10^6 flooding ids (so an LRU would have evicted the whole hot set each time).
fn phase_flood() {
    let hot = Arc::new(ids(3, HOT_SET));
    let before = rss();
    let table = SessionTable::new(ENTRIES as u64, TIMEOUT);
    let refs = servers(&table);
    for (n, id) in hot.iter().enumerate() {
        table.learn(id, refs[n % SERVERS], T0);
    }
    let mut rng = Rng(4);
    let mut max_rss = 0;
    let mut took = Duration::ZERO;
    let mut retained = 0;
    for chunk in 0..FLOOD / 1_000_000 {
        let start = Instant::now();
        for n in 0..1_000_000u64 {
            let id = rng.id();
            table.learn(&id, refs[(n % SERVERS as u64) as usize], T0 + chunk as u32);
        }
        took += start.elapsed();
        max_rss = max_rss.max(rss().saturating_sub(before));
        retained = hot
            .iter()
            .filter(|id| table.lookup(&id[..], T0 + chunk as u32).is_some())
            .count();
    }
    row(
        "flood: 10^7 one-time ids into a 10^6 table",
        rate(FLOOD as usize, took),
    );
    row("flood: time", format!("{:.2} s", took.as_secs_f64()));
    row("flood: entries held at the end", table.len().to_string());
    row(
        "flood: max RSS delta (entries + ghosts)",
        format!("{:.0} MB", max_rss as f64 / 1e6),
    );
    row(
        "flood: max RSS delta / max_entries",
        format!("{:.1} B", max_rss as f64 / ENTRIES as f64),
    );
    row(
        "flood: hot set (10^5 ids) retained",
        format!("{:.2} %", retained as f64 * 100.0 / HOT_SET as f64),
    );
    row("flood: evictions", table.stats().evictions.to_string());
}

/// What the machine gives any table: a plain hash map's random lookups over the same ids
/// (no locks, no eviction bookkeeping: a floor for one lookup's memory accesses), and the
/// latency of one dependent random read (pointer chase) over 8 and 128 MB.
fn phase_reference() {
    use std::collections::HashMap;
    let ids = ids(1, ENTRIES);
    let map: HashMap<[u8; 32], u32, quick_cache::DefaultHashBuilder> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| (*id, n as u32))
        .collect();
    let took = best_and_median(1, |_, _| {
        let mut found = 0u64;
        for _ in 0..5 {
            for id in &ids {
                found += u64::from(map.contains_key(black_box(id)));
            }
        }
        black_box(found);
    });
    row(
        "reference: std HashMap<[u8; 32], u32> (ahash) lookup",
        rates(ENTRIES * 5, took),
    );
    for mb in [8, 128] {
        row(
            &format!("reference: one dependent random read in {mb} MB"),
            chase(mb),
        );
    }
}

/// Average latency of a chain of dependent reads through a random cycle of `mb` MB.
fn chase(mb: usize) -> String {
    let n = mb * 1024 * 1024 / 8;
    // Sattolo's algorithm: a single cycle through every slot.
    let mut next: Vec<usize> = (0..n).collect();
    let mut rng = Rng(5);
    for i in (1..n).rev() {
        let j = (rng.next() % i as u64) as usize;
        next.swap(i, j);
    }
    const STEPS: u32 = 5_000_000;
    let mut at = 0;
    let start = Instant::now();
    for _ in 0..STEPS {
        at = next[at];
    }
    black_box(at);
    format!(
        "{:.0} ns",
        start.elapsed().as_nanos() as f64 / f64::from(STEPS)
    )
}
