//! Consistent hashing (docs/haproxy-compatibility.md §13.5): only a dead server's keys move,
//! weights, bounded loads.

use super::*;

const KEYS: usize = 10_000;

/// Where each of `KEYS` URIs goes.
fn mapping(b: &Balancer, pool: &TestPool) -> Vec<Option<usize>> {
    (0..KEYS)
        .map(|k| {
            let uri = format!("/item/{k}");
            b.pick(pool, HashKey::Bytes(uri.as_bytes()), None)
        })
        .collect()
}

/// Takes each server down in turn and returns, per server, the fraction of keys that
/// moved; asserts that only the dead server's keys moved and that they come back.
fn moved_fractions(n: usize) -> Vec<f64> {
    let mut pool = TestPool::weights(&vec![1; n]);
    let b = consistent(Algorithm::Uri, &pool);
    let before = mapping(&b, &pool);
    let mut fractions = vec![];
    for dead in 0..n {
        pool.set_state(dead, St::Maint);
        let after = mapping(&b, &pool);
        let mut moved = 0;
        for (k, (was, is)) in before.iter().zip(&after).enumerate() {
            if was == is {
                continue;
            }
            assert_eq!(
                *was,
                Some(dead),
                "key {k} of live server {was:?} moved to {is:?}"
            );
            assert_ne!(*is, Some(dead));
            moved += 1;
        }
        pool.set_state(dead, St::Ready);
        assert_eq!(mapping(&b, &pool), before, "keys return to server {dead}");
        fractions.push(moved as f64 / KEYS as f64);
    }
    fractions
}

#[test]
fn one_of_4_down_moves_only_its_keys() {
    let f = moved_fractions(4);
    // Measured (deterministic: sdbm + avalanche keys, 16 points per server by id).
    let moved: Vec<u32> = f.iter().map(|x| (x * KEYS as f64).round() as u32).collect();
    assert_eq!(moved, MOVED_4);
    // Every key belongs to exactly one server: the fractions add up to 1.
    assert!((f.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    // Close to 1/N = 0.25 given 16 points per server (mean exactly 0.25).
    assert!(f.iter().all(|&x| (0.15..0.35).contains(&x)), "{f:?}");
}

#[test]
fn one_of_10_down_moves_only_its_keys() {
    let f = moved_fractions(10);
    let moved: Vec<u32> = f.iter().map(|x| (x * KEYS as f64).round() as u32).collect();
    assert_eq!(moved, MOVED_10);
    assert!((f.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    assert!(f.iter().all(|&x| (0.05..0.15).contains(&x)), "{f:?}");
}

/// Keys out of 10_000 that move when server i goes down (measured; equals each server's
/// share of the keys).
const MOVED_4: [u32; 4] = [2858, 1828, 2486, 2828];
const MOVED_10: [u32; 10] = [1207, 815, 933, 913, 1047, 1140, 687, 843, 1072, 1343];

#[test]
fn raising_a_weight_only_moves_keys_to_that_server() {
    let mut pool = TestPool::weights(&[1, 1, 1, 1]);
    let b = consistent(Algorithm::Uri, &pool);
    let before = mapping(&b, &pool);
    pool.set_weight(2, 3);
    let after = mapping(&b, &pool);
    let gained = before
        .iter()
        .zip(&after)
        .filter(|(was, is)| {
            if was != is {
                assert_eq!(**is, Some(2), "keys only move to the heavier server");
            }
            was != is
        })
        .count();
    assert!(gained > KEYS / 5, "s3 gained {gained} keys");
    pool.set_weight(2, 1);
    assert_eq!(mapping(&b, &pool), before);
}

#[test]
fn bounded_load_skips_a_server_above_its_share() {
    // hash-balance-factor 150, 4 servers (tot_weight 64): with 10 requests in flight,
    // tot_slots = ((10 + 1) * 150 + 99) / 100 = 17; s2 (cumulative weight 16) gets
    // 16 * 17 / 64 ... = (32 * 17) / 64 - (16 * 17) / 64 = 4 slots.
    let mut pool = TestPool::weights(&[1, 1, 1, 1]);
    let b = Balancer::new(&Algorithm::Uri, HashType::Consistent, 150, false, 4);
    // /url1 -> s2 (seen on HAProxy 2.6.12).
    pool.set_load(1, 3);
    pool.set_load(0, 7);
    assert_eq!(
        b.pick(&pool, HashKey::Bytes(b"/url1"), None),
        Some(1),
        "3 < 4 slots"
    );
    pool.set_load(1, 4);
    pool.set_load(0, 6);
    // s2 is at its bound: the walk goes on to the next point's server, s4 (where /url1
    // goes when s2 is down), whose 4 slots are free.
    assert_eq!(b.pick(&pool, HashKey::Bytes(b"/url1"), None), Some(3));
    // Factor 0 disables the rule.
    let off = consistent(Algorithm::Uri, &pool);
    assert_eq!(off.pick(&pool, HashKey::Bytes(b"/url1"), None), Some(1));
}

#[test]
fn bounded_load_keeps_loads_within_the_factor() {
    // Requests that never finish, all with keys of the same server: with factor 125 no
    // server goes above ~125% of the average.
    let mut pool = TestPool::weights(&[1, 1, 1, 1]);
    let b = Balancer::new(&Algorithm::Uri, HashType::Consistent, 125, false, 4);
    for _ in 0..400 {
        let s = b
            .pick(&pool, HashKey::Bytes(b"/url1"), None)
            .expect("a server");
        pool.set_load(s, pool.servers[s].load + 1);
    }
    let loads: Vec<u32> = pool.servers.iter().map(|s| s.load).collect();
    assert_eq!(loads.iter().sum::<u32>(), 400);
    assert!(loads.iter().all(|&l| l <= 126), "{loads:?}");
}
