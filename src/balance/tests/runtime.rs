//! Runtime changes (state, weight) replayed against sequences recorded on HAProxy 2.6.12
//! (HAP): `set server be/sN state maint|drain|ready` and `set weight be/sN W` through the
//! stats socket between sequential requests.

use super::*;
use crate::balance::fwrr::Fwrr;
use crate::balance::pool::sync;

#[derive(Debug, Clone, Copy)]
enum Op {
    /// `n` keyless requests.
    Req(usize),
    State(usize, St),
    Weight(usize, u32),
}
use Op::*;

/// Builds the pool (`spec`: weight, backup, disabled), then replays `ops`, notifying the
/// balancer of each change as the pool would.
fn run(
    alg: Algorithm,
    hash_type: HashType,
    allbackups: bool,
    spec: &[(u32, bool, bool)],
    ops: &[Op],
) -> String {
    let mut pool = TestPool::weights(&spec.iter().map(|s| s.0).collect::<Vec<_>>());
    for (i, &(_, backup, disabled)) in spec.iter().enumerate() {
        pool.servers[i].backup = backup;
        if disabled {
            pool.servers[i].state = St::Maint;
        }
    }
    let b = Balancer::new(&alg, hash_type, 0, allbackups, pool.count());
    b.sync(&pool);
    let mut got = vec![];
    for op in ops {
        match *op {
            Req(n) => got.push(picks(&b, &pool, n)),
            State(i, st) => {
                pool.set_state(i, st);
                b.server_changed(&pool, i);
            }
            Weight(i, w) => {
                pool.set_weight(i, w);
                b.server_changed(&pool, i);
            }
        }
    }
    got.join(" ")
}

fn active(weights: &[u32]) -> Vec<(u32, bool, bool)> {
    weights.iter().map(|&w| (w, false, false)).collect()
}

#[test]
fn hap_roundrobin_weight_changes() {
    let ops = [
        Req(5),
        Weight(0, 3),
        Req(10),
        Weight(1, 0),
        Req(6),
        Weight(1, 2),
        Req(8),
    ];
    assert_eq!(
        run(
            Algorithm::RoundRobin,
            HashType::MapBased,
            false,
            &active(&[1, 1, 1, 1]),
            &ops
        ),
        "s1 s2 s3 s4 s1 s2 s3 s1 s4 s1 s1 s2 s3 s1 s4 s1 s1 s1 s3 s4 \
         s1 s1 s2 s3 s1 s4 s1 s2 s1"
    );
}

#[test]
fn hap_roundrobin_server_returning_after_maint() {
    let ops = [
        Req(3),
        State(2, St::Maint),
        Req(3),
        State(2, St::Ready),
        Req(6),
    ];
    assert_eq!(
        run(
            Algorithm::RoundRobin,
            HashType::MapBased,
            false,
            &active(&[2, 3, 5]),
            &ops
        ),
        "s3 s2 s3 s1 s2 s1 s2 s3 s1 s3 s2 s3"
    );
}

#[test]
fn hap_roundrobin_drain_and_return() {
    let ops = [
        Req(4),
        State(1, St::Drain),
        Req(5),
        State(1, St::Ready),
        Req(12),
    ];
    assert_eq!(
        run(
            Algorithm::RoundRobin,
            HashType::MapBased,
            false,
            &active(&[1, 2, 3]),
            &ops
        ),
        "s3 s2 s3 s1 s3 s3 s3 s3 s3 s1 s3 s2 s3 s2 s3 s1 s3 s2 s3 s2 s3"
    );
}

const BACKUP_SPEC: [(u32, bool, bool); 4] = [
    (1, false, false),
    (1, false, false),
    (1, true, false),
    (2, true, false),
];
const BACKUP_OPS: [Op; 10] = [
    Req(3),
    State(0, St::Maint),
    State(1, St::Maint),
    Req(3),
    State(2, St::Maint),
    Req(3),
    State(1, St::Ready),
    Req(3),
    State(0, St::Ready),
    Req(4),
];

#[test]
fn hap_roundrobin_first_backup_only() {
    // Actives down: only the first usable backup (s3), then s4 once s3 is down too.
    assert_eq!(
        run(
            Algorithm::RoundRobin,
            HashType::MapBased,
            false,
            &BACKUP_SPEC,
            &BACKUP_OPS
        ),
        "s1 s2 s1 s3 s3 s3 s4 s4 s4 s2 s2 s2 s2 s1 s2 s1"
    );
}

#[test]
fn hap_roundrobin_allbackups() {
    assert_eq!(
        run(
            Algorithm::RoundRobin,
            HashType::MapBased,
            true,
            &BACKUP_SPEC,
            &BACKUP_OPS
        ),
        "s1 s2 s1 s4 s4 s3 s4 s4 s4 s2 s2 s2 s2 s1 s2 s1"
    );
}

#[test]
fn hap_roundrobin_change_order_matters() {
    // s2 and s3 start disabled; enabling s3 then s2 gives s1 s5 on HAProxy. Applied in
    // that order through server_changed(), tether agrees.
    let spec = [
        (1, false, false),
        (3, false, true),
        (2, false, true),
        (2, true, false),
        (1, false, false),
    ];
    let ops = [State(2, St::Ready), State(1, St::Ready), Req(2)];
    assert_eq!(
        run(
            Algorithm::RoundRobin,
            HashType::MapBased,
            false,
            &spec,
            &ops
        ),
        "s1 s5"
    );
    // Without notifications both changes are applied at the next pick in declaration
    // order (s2 then s3), which is another HAProxy history.
    let mut pool = TestPool::weights(&[1, 3, 2, 2, 1]).backup(3);
    pool.set_state(1, St::Maint);
    pool.set_state(2, St::Maint);
    let b = balancer(Algorithm::RoundRobin, &pool);
    b.sync(&pool);
    pool.set_state(2, St::Ready);
    pool.set_state(1, St::Ready);
    assert_eq!(picks(&b, &pool, 2), "s1 s2");
}

#[test]
fn hap_static_rr_server_down_and_back_keeps_the_cursor() {
    let ops = [
        Req(4),
        State(2, St::Maint),
        Req(4),
        State(2, St::Ready),
        Req(10),
    ];
    assert_eq!(
        run(
            Algorithm::StaticRr,
            HashType::MapBased,
            false,
            &active(&[2, 3, 5]),
            &ops
        ),
        "s1 s3 s2 s3 s2 s1 s2 s1 s3 s1 s3 s2 s3 s2 s3 s1 s3 s2"
    );
}

#[test]
fn hap_map_with_single_backup_lets_every_backup_compete() {
    // No active server, no allbackups: HAProxy sizes the map by the first backup's weight
    // (s2, weight 2) but every usable backup competes for its slots, so s3 (weight 5)
    // takes them all. static-rr and map-based hashing alike.
    let spec = [(1, false, true), (2, true, false), (5, true, false)];
    assert_eq!(
        run(
            Algorithm::StaticRr,
            HashType::MapBased,
            false,
            &spec,
            &[Req(8)]
        ),
        "s3 s3 s3 s3 s3 s3 s3 s3"
    );
    let mut pool = TestPool::weights(&[1, 2, 5]).backup(1).backup(2);
    pool.set_state(0, St::Maint);
    let b = balancer(Algorithm::UrlParam("uid".into()), &pool);
    for uid in 0..8 {
        assert_eq!(by_key(&b, &pool, uid.to_string().as_bytes()), "s3");
    }
}

#[test]
fn hap_consistent_round_robin_fallback_across_maint() {
    // url_param absent with hash-type consistent walks the ring from a shared cursor.
    let ops = [
        Req(6),
        State(1, St::Maint),
        Req(4),
        State(1, St::Ready),
        Req(4),
    ];
    assert_eq!(
        run(
            Algorithm::UrlParam("uid".into()),
            HashType::Consistent,
            false,
            &active(&[1, 1, 1]),
            &ops
        ),
        "s3 s3 s2 s1 s3 s1 s1 s3 s1 s1 s1 s2 s2 s3"
    );
}

#[test]
fn hap_consistent_weight_above_initial_requeues_all_points() {
    // Raising s4 above its initial weight re-allocates its points: the cursor, on one of
    // them, moves past all of them first.
    let spec = [
        (3, false, false),
        (16, false, true),
        (10, false, false),
        (1, false, false),
    ];
    let ops = [State(2, St::Drain), Req(1), Weight(3, 3), Req(1)];
    assert_eq!(
        run(
            Algorithm::Hdr("X-User".into()),
            HashType::Consistent,
            false,
            &spec,
            &ops
        ),
        "s4 s1"
    );
}

#[test]
fn hap_consistent_round_robin_cursor_stays_in_the_backup_ring() {
    // HAProxy 2.6 quirk (lb_chash.c keeps one cursor for both rings): with allbackups, once
    // the absent-key walk has moved into the backup ring, it finishes that ring even after
    // the actives are back, so backups keep getting requests for a while.
    let spec = [
        (1, false, false),
        (1, false, false),
        (1, true, false),
        (1, true, false),
    ];
    let ops = [
        Req(3),
        State(0, St::Maint),
        State(1, St::Maint),
        Req(5),
        State(0, St::Ready),
        State(1, St::Ready),
        Req(30),
    ];
    assert_eq!(
        run(
            Algorithm::UrlParam("uid".into()),
            HashType::Consistent,
            true,
            &spec,
            &ops
        ),
        "s2 s1 s1 s3 s4 s4 s3 s4 s4 s3 s4 s3 s3 s3 s3 s3 s4 s3 s3 s4 s3 s4 s4 s3 s4 s3 s4 \
         s4 s3 s3 s4 s3 s4 s4 s4 s2 s1 s1"
    );
}

#[test]
fn hap_first_follows_states() {
    let spec = [(1, false, false), (1, false, false), (1, true, false)];
    let ops = [
        Req(2),
        State(0, St::Maint),
        Req(2),
        State(1, St::Drain),
        Req(2),
        State(0, St::Ready),
        Req(2),
    ];
    assert_eq!(
        run(Algorithm::First, HashType::MapBased, false, &spec, &ops),
        "s1 s1 s2 s2 s3 s3 s1 s1"
    );
}

/// Reference: the plain fwrr port driven directly, without the fast path.
struct Reference {
    fwrr: Fwrr,
}

impl Reference {
    fn pick(&mut self, pool: &TestPool, avoid: Option<usize>) -> Option<usize> {
        sync(&mut self.fwrr, pool);
        self.fwrr.next_server(pool, avoid)
    }
}

#[test]
fn roundrobin_fast_path_gives_the_fwrr_sequence() {
    // Random runs mixing long steady stretches (fast path), saturated servers, avoided
    // servers, state and weight changes: the balancer must equal the plain port.
    let mut rng = fastrand::Rng::with_seed(7);
    let mut fast = 0;
    for round in 0..40 {
        let n = rng.usize(1..7);
        let equal = rng.bool();
        let weights: Vec<u32> = (0..n)
            .map(|_| if equal { 3 } else { rng.u32(1..6) })
            .collect();
        let mut pool = TestPool::weights(&weights);
        let b = balancer(Algorithm::RoundRobin, &pool);
        let mut reference = Reference {
            fwrr: Fwrr::new(false),
        };
        for step in 0..3000 {
            let r = rng.u32(0..1000);
            if r < 3 {
                let i = rng.usize(0..n);
                let st = if rng.bool() { St::Ready } else { St::Maint };
                pool.set_state(i, st);
            } else if r < 5 {
                let i = rng.usize(0..n);
                pool.set_weight(i, if equal { 3 } else { rng.u32(0..6) });
            } else if r < 8 {
                let i = rng.usize(0..n);
                pool.set_maxconn(i, 1);
                pool.set_load(i, 1);
            } else if r < 12 {
                let i = rng.usize(0..n);
                pool.set_load(i, 0);
            }
            let avoid = (rng.u32(0..100) == 0).then(|| rng.usize(0..n));
            let got = b.pick(&pool, HashKey::Absent, avoid);
            let want = reference.pick(&pool, avoid);
            assert_eq!(got, want, "round {round} step {step}");
        }
        fast += b.fast_hits();
    }
    // The steady stretches did go through the fast path.
    assert!(fast > 20_000, "fast path used {fast} times");
}

#[test]
fn roundrobin_concurrent_picks_share_one_sequence() {
    // 4 threads, 4 equal servers, 40_000 picks: the fast path linearizes every pick, so
    // each server gets exactly a quarter.
    let pool = TestPool::weights(&[1, 1, 1, 1]);
    let b = balancer(Algorithm::RoundRobin, &pool);
    let counts = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    let mut c = [0u32; 4];
                    for _ in 0..10_000 {
                        if let Some(s) = b.pick(&pool, HashKey::Absent, None) {
                            c[s] += 1;
                        }
                    }
                    c
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .fold([0u32; 4], |mut t, c| {
                (0..4).for_each(|i| t[i] += c[i]);
                t
            })
    });
    assert_eq!(counts, [10_000; 4]);
    assert!(
        b.fast_hits() > 30_000,
        "fast path used {} times",
        b.fast_hits()
    );
    // And the sequence continues exactly where 40_000 picks leave it.
    assert_eq!(picks(&b, &pool, 4), "s1 s2 s3 s4");
}

#[test]
fn static_rr_concurrent_picks_follow_the_map() {
    // The map cursor advances by compare-and-swap: 4 threads x 10_000 picks over the
    // 2:3:5 map give exactly 2/10, 3/10 and 5/10 of the picks.
    let pool = TestPool::weights(&[2, 3, 5]);
    let b = balancer(Algorithm::StaticRr, &pool);
    let counts = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    let mut c = [0u32; 3];
                    for _ in 0..10_000 {
                        if let Some(s) = b.pick(&pool, HashKey::Absent, None) {
                            c[s] += 1;
                        }
                    }
                    c
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .fold([0u32; 3], |mut t, c| {
                (0..3).for_each(|i| t[i] += c[i]);
                t
            })
    });
    assert_eq!(counts, [8_000, 12_000, 20_000]);
    assert_eq!(picks(&b, &pool, 10), "s1 s3 s2 s3 s1 s3 s2 s3 s2 s3");
}
