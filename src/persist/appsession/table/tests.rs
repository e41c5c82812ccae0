use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use super::idle::IdleRule;
use super::{Item, Learned, ServerRef, SessionTable, TableStats};

const T0: u32 = 1_700_000_000;

/// A distinct 24-byte id per `n`.
fn id(n: u64) -> Vec<u8> {
    format!("SID{n:021}").into_bytes()
}

fn table(max_entries: u64, timeout_secs: u64) -> SessionTable {
    SessionTable::new(max_entries, Duration::from_secs(timeout_secs))
}

#[test]
fn insert_lookup_repoint_refresh_forget() {
    let t = table(1000, 3600);
    let (a, b) = (t.server_ref("a"), t.server_ref("b"));
    assert_eq!(t.lookup(b"X1", T0), None);
    assert_eq!(t.learn(b"X1", a, T0), Learned::Inserted);
    assert_eq!(t.lookup(b"X1", T0 + 1), Some(a));
    assert_eq!(t.learn(b"X1", a, T0 + 2), Learned::Refreshed);
    assert_eq!(t.learn(b"X1", b, T0 + 3), Learned::Repointed { from: a });
    assert_eq!(t.lookup(b"X1", T0 + 4), Some(b));
    assert_eq!(t.learn(b"X2", a, T0 + 4), Learned::Inserted);
    assert_eq!(t.len(), 2);
    assert!(t.forget(b"X1"));
    assert!(!t.forget(b"X1"));
    assert_eq!(t.lookup(b"X1", T0 + 5), None);
    assert_eq!(t.lookup(b"X2", T0 + 5), Some(a));
    assert_eq!(t.len(), 1);
    let stats = t.stats();
    assert_eq!(
        (stats.entries, stats.evictions, stats.expirations),
        (1, 0, 0)
    );
}

#[test]
fn idle_for_exactly_the_timeout_is_expired() {
    // 60 s: refreshed on every hit a second apart, HAProxy's boundary exactly
    // (tick_is_expired: expire - now <= 0).
    let t = table(1000, 60);
    let a = t.server_ref("a");
    t.learn(b"A", a, T0);
    t.learn(b"B", a, T0);
    assert_eq!(t.lookup(b"A", T0 + 59), Some(a));
    assert_eq!(t.lookup(b"B", T0 + 60), None);
    assert_eq!(t.stats().expirations, 1);
    assert_eq!(t.len(), 1);
    // A's hit at +59 was recorded: it lives until +59+60.
    assert_eq!(t.lookup(b"A", T0 + 118), Some(a));
    assert_eq!(t.lookup(b"A", T0 + 118 + 60), None);
    assert_eq!(t.stats().expirations, 2);
    assert!(t.is_empty());
}

#[test]
fn expired_entries_are_not_repointed_but_replaced() {
    let t = table(1000, 60);
    let (a, b) = (t.server_ref("a"), t.server_ref("b"));
    t.learn(b"A", a, T0);
    assert_eq!(t.learn(b"A", b, T0 + 60), Learned::Inserted);
    assert_eq!(t.learn(b"A", b, T0 + 60 + 60), Learned::Inserted);
    assert_eq!(t.stats().expirations, 2);
    assert_eq!(t.lookup(b"A", T0 + 121), Some(b));
}

#[test]
fn refresh_granularity() {
    assert_eq!(IdleRule::new(Duration::from_secs(60)).refresh_every(), 1);
    assert_eq!(IdleRule::new(Duration::from_secs(127)).refresh_every(), 1);
    assert_eq!(IdleRule::new(Duration::from_secs(128)).refresh_every(), 2);
    assert_eq!(
        IdleRule::new(Duration::from_secs(3 * 3600)).refresh_every(),
        168
    );
    assert_eq!(
        IdleRule::new(Duration::from_secs(30 * 86400)).refresh_every(),
        3600
    );
    assert_eq!(IdleRule::new(Duration::ZERO).refresh_every(), 3600);

    // 640 s: refreshed every 10 s, dead 640 + 9 s after the recorded time.
    let t = table(1000, 640);
    let a = t.server_ref("a");
    t.learn(b"A", a, T0);
    assert_eq!(t.lookup(b"A", T0 + 9), Some(a));
    assert_eq!(idle_of(&t, b"A", T0 + 9), Some(9)); // not written
    assert_eq!(t.learn(b"A", a, T0 + 9), Learned::Refreshed);
    assert_eq!(idle_of(&t, b"A", T0 + 9), Some(9)); // not written either
    assert_eq!(t.lookup(b"A", T0 + 10), Some(a));
    assert_eq!(idle_of(&t, b"A", T0 + 10), Some(0)); // written

    // Never expires before HAProxy would: the unwritten hit at +9 kept B until +649.
    t.learn(b"B", a, T0);
    assert_eq!(t.lookup(b"B", T0 + 9), Some(a));
    assert_eq!(t.lookup(b"B", T0 + 648), Some(a));
    t.learn(b"C", a, T0);
    assert_eq!(t.lookup(b"C", T0 + 649), None);
    // A learn refreshes like a hit.
    t.learn(b"D", a, T0);
    assert_eq!(t.learn(b"D", a, T0 + 10), Learned::Refreshed);
    assert_eq!(idle_of(&t, b"D", T0 + 10), Some(0));
}

#[test]
fn a_last_seen_time_in_the_future_counts_as_just_seen() {
    let t = table(1000, 640);
    let a = t.server_ref("a");
    t.learn(b"A", a, T0);
    // Less than the granularity back: a plain read, idle 0.
    assert_eq!(t.lookup(b"A", T0 - 5), Some(a));
    assert_eq!(idle_of(&t, b"A", T0 - 5), Some(0));
    // An hour back: alive, and the time is rewritten so the timeout counts from now.
    assert_eq!(t.lookup(b"A", T0 - 3600), Some(a));
    assert_eq!(idle_of(&t, b"A", T0 - 3600 + 100), Some(100));
    assert_eq!(t.lookup(b"A", T0 - 3600 + 649), None);
    // Arithmetic at the ends of u32 never panics.
    t.learn(b"M", a, u32::MAX);
    assert_eq!(t.lookup(b"M", 0), Some(a));
    t.learn(b"Z", a, 0);
    assert_eq!(t.lookup(b"Z", u32::MAX), None);
}

#[test]
fn zero_and_subsecond_timeouts() {
    let t = SessionTable::new(1000, Duration::ZERO);
    let a = t.server_ref("a");
    t.learn(b"A", a, 0);
    assert_eq!(t.lookup(b"A", u32::MAX - 1), Some(a));
    // 1.5 s rounds up to 2 s.
    let t = SessionTable::new(1000, Duration::from_millis(1500));
    t.learn(b"A", a, T0);
    t.learn(b"B", a, T0);
    assert_eq!(t.lookup(b"A", T0 + 1), Some(a));
    assert_eq!(t.lookup(b"B", T0 + 2), None);
}

#[test]
fn interning_is_stable() {
    let t = table(1000, 60);
    let a = t.server_ref("app-1");
    let b = t.server_ref("app-2");
    assert_ne!(a, b);
    assert_eq!(t.server_ref("app-1"), a);
    assert_eq!(t.server_name(a).as_deref(), Some("app-1"));
    assert_eq!(t.server_name(b).as_deref(), Some("app-2"));
    assert_eq!(t.server_name(ServerRef::from_index(2)), None);
    assert_eq!(format!("{a:?} {b:?}"), "ServerRef(0) ServerRef(1)");
    // The list is reordered and a server added: existing names keep their refs, and
    // entries keep naming the same server.
    t.learn(b"S", b, T0);
    let c = t.server_ref("app-0");
    assert_eq!(format!("{c:?}"), "ServerRef(2)");
    assert_eq!(t.server_ref("app-2"), b);
    assert_eq!(
        t.lookup(b"S", T0).and_then(|s| t.server_name(s)).as_deref(),
        Some("app-2")
    );
    assert_eq!(t.server_ref(""), ServerRef::from_index(3));
}

#[test]
fn ten_times_max_entries_never_exceed_it() {
    for max in [1u64, 7, 1000, 1001, 20_000] {
        let t = table(max, 3600);
        let a = t.server_ref("a");
        for n in 0..max * 10 {
            assert_eq!(t.learn(&id(n), a, T0), Learned::Inserted);
            assert!(t.len() as u64 <= max, "max {max}: {} after {n}", t.len());
        }
        let stats = t.stats();
        assert_eq!(stats.evictions, max * 10 - stats.entries, "max {max}");
        assert_eq!(stats.entries, t.len() as u64);
    }
}

#[test]
fn capacity_is_max_entries_rounded_down_to_whole_shards() {
    // 1000: 2 shards of 500; 1001 keeps 2 x 500. Evictions start when a shard is full,
    // so fill far past the bound and read the settled size.
    for (max, settled) in [
        (1, 1),
        (300, 300),
        (1000, 1000),
        (1001, 1000),
        (20_000, 19_968),
    ] {
        let t = table(max, 3600);
        let a = t.server_ref("a");
        for n in 0..max * 20 {
            t.learn(&id(n), a, T0);
        }
        assert_eq!(t.len() as u64, settled, "max {max}");
    }
}

#[test]
fn repointing_in_a_full_table_evicts_nothing() {
    let t = table(1000, 3600);
    let (a, b) = (t.server_ref("a"), t.server_ref("b"));
    for n in 0..5000 {
        t.learn(&id(n), a, T0);
    }
    let before = t.stats();
    let held: Vec<Item> = t.items(usize::MAX, T0);
    assert_eq!(held.len() as u64, before.entries);
    for item in &held {
        assert_eq!(
            t.learn(&item.key, b, T0 + 1),
            Learned::Repointed { from: a }
        );
        assert_eq!(t.learn(&item.key, b, T0 + 2), Learned::Refreshed);
    }
    let after = t.stats();
    assert_eq!(
        (after.entries, after.evictions),
        (before.entries, before.evictions)
    );
}

/// With max_entries 10 000, 1 000 ids in use are looked up after every 20 000 one-time
/// ids, 1 000 000 in all. Every in-use id survives: the flood only ever evicts itself from
/// the probation ring. A plain LRU would keep 0%: between two lookups of an id come 20 000
/// newer insertions, twice the capacity, so every in-use id is the least recently used
/// when its turn to be evicted comes.
#[test]
fn a_flood_of_one_time_ids_does_not_evict_ids_in_use() {
    let t = table(10_000, 3600);
    let (a, b) = (t.server_ref("a"), t.server_ref("b"));
    let active: Vec<Vec<u8>> = (0..1000)
        .map(|n| format!("ACTIVE{n:018}").into_bytes())
        .collect();
    for key in &active {
        t.learn(key, a, T0);
    }
    let mut survived = Vec::new();
    let mut flood = 0u64;
    for round in 0..50u32 {
        for _ in 0..20_000 {
            t.learn(&id(flood), b, T0 + round);
            flood += 1;
        }
        let hits = active
            .iter()
            .filter(|key| t.lookup(key, T0 + round) == Some(a))
            .count();
        survived.push(hits);
        assert!(t.len() <= 10_000);
    }
    assert_eq!(flood, 1_000_000);
    assert_eq!(survived, vec![1000; 50]);
    assert_eq!(t.stats().evictions, 1000 + 1_000_000 - t.len() as u64);
}

/// Ids that arrive during the flood are on probation with it: one looked up before a tenth
/// of the table's worth of newer ids pushes it out is promoted, and then survives.
#[test]
fn ids_learned_during_a_flood_survive_once_used() {
    let t = table(10_000, 3600);
    let (a, b) = (t.server_ref("a"), t.server_ref("b"));
    let mut flood = 0u64;
    let mut flood_by = |count: u64| {
        for _ in 0..count {
            t.learn(&id(flood), b, T0);
            flood += 1;
        }
    };
    flood_by(50_000);
    let fresh: Vec<Vec<u8>> = (0..200)
        .map(|n| format!("FRESH{n:019}").into_bytes())
        .collect();
    for key in &fresh {
        t.learn(key, a, T0);
        flood_by(10);
        assert_eq!(t.lookup(key, T0), Some(a));
    }
    flood_by(200_000);
    let hits = fresh
        .iter()
        .filter(|key| t.lookup(key, T0) == Some(a))
        .count();
    assert_eq!(hits, 200);
}

#[test]
fn sweep_removes_expired_and_recounts_per_server() {
    let t = table(1000, 60);
    let (a, b, c) = (t.server_ref("a"), t.server_ref("b"), t.server_ref("c"));
    for n in 0..10 {
        t.learn(&id(n), a, T0);
    }
    for n in 10..15 {
        t.learn(&id(n), b, T0 + 30);
    }
    for n in 15..18 {
        t.learn(&id(n), a, T0 + 30);
    }
    assert_eq!(t.sessions_of(a), 0); // no sweep yet
    assert_eq!(t.stats().per_server, vec![(a, 0), (b, 0), (c, 0)]);
    t.sweep(T0 + 59);
    assert_eq!(
        (t.sessions_of(a), t.sessions_of(b), t.sessions_of(c)),
        (13, 5, 0)
    );
    assert_eq!(t.stats().expirations, 0);
    t.sweep(T0 + 60);
    assert_eq!(t.len(), 8);
    assert_eq!(
        t.stats(),
        TableStats {
            entries: 8,
            evictions: 0,
            expirations: 10,
            per_server: vec![(a, 3), (b, 5), (c, 0)],
        }
    );
    // A server interned after the sweep has no count yet.
    let d = t.server_ref("d");
    assert_eq!(t.sessions_of(d), 0);
    assert_eq!(t.stats().per_server.len(), 4);
    t.sweep(T0 + 90);
    assert_eq!(t.stats().per_server, vec![(a, 0), (b, 0), (c, 0), (d, 0)]);
    assert_eq!((t.len(), t.stats().expirations), (0, 18));
}

#[test]
fn items_lists_live_entries_with_idle_times() {
    let t = table(1000, 60);
    let (a, b) = (t.server_ref("a"), t.server_ref("b"));
    t.learn(b"old", a, T0);
    t.learn(b"mid", b, T0 + 20);
    t.learn(b"new", a, T0 + 50);
    let mut items = t.items(10, T0 + 60);
    items.sort_by(|x, y| x.key.cmp(&y.key));
    let expected = vec![
        Item {
            key: Box::from(&b"mid"[..]),
            server: b,
            idle_secs: 40,
        },
        Item {
            key: Box::from(&b"new"[..]),
            server: a,
            idle_secs: 10,
        },
    ];
    assert_eq!(items, expected);
    assert_eq!(t.items(1, T0 + 60).len(), 1);
    assert_eq!(t.items(0, T0 + 60), vec![]);
    // Listed, not removed: `old` is still held until a lookup or sweep.
    assert_eq!(t.len(), 3);
}

#[test]
fn concurrent_use_from_four_threads() {
    let t = Arc::new(table(1_000_000, 3600));
    let servers: Vec<ServerRef> = (0..4).map(|i| t.server_ref(&format!("s{i}"))).collect();
    let threads: Vec<_> = (0..4u64)
        .map(|i| {
            let t = Arc::clone(&t);
            let server = servers[i as usize];
            let other = servers[((i + 1) % 4) as usize];
            std::thread::spawn(move || {
                let mut learned = [0u64; 3];
                for n in 0..10_000u64 {
                    let own = id(i * 1_000_000 + n);
                    match t.learn(&own, server, T0) {
                        Learned::Inserted => learned[0] += 1,
                        Learned::Repointed { .. } => learned[1] += 1,
                        Learned::Refreshed => learned[2] += 1,
                        Learned::Kept { .. } => unreachable!("learn never keeps"),
                    }
                    assert_eq!(t.lookup(&own, T0 + 1), Some(server));
                    // 100 ids shared by all threads, pulled between servers.
                    let shared = id(9_000_000 + n % 100);
                    t.learn(&shared, other, T0);
                    assert!(t.lookup(&shared, T0).is_some());
                    if n % 10 == 0 {
                        t.items(5, T0);
                        t.stats();
                    }
                }
                learned
            })
        })
        .collect();
    for thread in threads {
        assert_eq!(thread.join().ok(), Some([10_000, 0, 0]));
    }
    assert_eq!(t.len(), 40_100);
    t.sweep(T0 + 2);
    let stats = t.stats();
    let counted: u64 = stats.per_server.iter().map(|(_, n)| n).sum();
    assert_eq!(
        (stats.entries, counted, stats.evictions, stats.expirations),
        (40_100, 40_100, 0, 0)
    );
    for (i, &server) in servers.iter().enumerate() {
        let own =
            (0..10_000u64).filter(|n| t.lookup(&id(i as u64 * 1_000_000 + n), T0) == Some(server));
        assert_eq!(own.count(), 10_000);
        assert!(t.sessions_of(server) >= 10_000);
    }
}

#[test]
fn garbage_ids_do_not_panic() {
    let t = table(100, 60);
    let a = t.server_ref("a");
    let huge = vec![0xffu8; 1 << 20];
    let binary: Vec<u8> = (0..=255u8).collect();
    let ids: [&[u8]; 5] = [b"", &huge, &binary, b"\0", "é\u{202e}".as_bytes()];
    let mut seen = HashSet::new();
    for key in ids {
        assert_eq!(t.lookup(key, T0), None);
        assert_eq!(t.learn(key, a, T0), Learned::Inserted);
        assert_eq!(t.lookup(key, T0), Some(a));
        seen.insert(key.to_vec());
    }
    let listed: HashSet<Vec<u8>> = t
        .items(100, T0)
        .into_iter()
        .map(|i| i.key.into_vec())
        .collect();
    assert_eq!(listed, seen);
    for key in ids {
        assert!(t.forget(key));
    }
    assert!(t.is_empty());
    // max_entries 0 behaves as 1.
    let t = table(0, 60);
    t.learn(b"x", a, T0);
    t.learn(b"y", a, T0);
    assert_eq!(t.len(), 1);
}

/// The idle time `items()` reports for `key`.
fn idle_of(t: &SessionTable, key: &[u8], now: u32) -> Option<u32> {
    t.items(usize::MAX, now)
        .into_iter()
        .find(|item| *item.key == *key)
        .map(|item| item.idle_secs)
}

/// `learn_unless_kept`: a live entry stays with an owner that keeps it (only seen), goes to
/// the new server otherwise; an expired entry is replaced whoever owned it.
#[test]
fn learn_unless_kept_leaves_kept_entries_in_place() {
    let t = SessionTable::new(1000, Duration::from_secs(60));
    let (s1, s2) = (t.server_ref("s1"), t.server_ref("s2"));
    t.learn(b"id", s1, T0);
    assert_eq!(
        t.learn_unless_kept(b"id", s2, T0 + 1, |owner| owner == s1),
        Learned::Kept { owner: s1 }
    );
    assert_eq!(t.lookup(b"id", T0 + 1), Some(s1));
    assert_eq!(
        t.learn_unless_kept(b"id", s1, T0 + 1, |_| true),
        Learned::Refreshed
    );
    assert_eq!(
        t.learn_unless_kept(b"id", s2, T0 + 2, |_| false),
        Learned::Repointed { from: s1 }
    );
    assert_eq!(t.lookup(b"id", T0 + 2), Some(s2));
    assert_eq!(
        t.learn_unless_kept(b"id", s1, T0 + 1000, |_| true),
        Learned::Inserted
    );
}
