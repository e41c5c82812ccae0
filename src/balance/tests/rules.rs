//! Which servers take part (docs/haproxy-compatibility.md §10), maxconn (§12.2), `avoid`, and
//! robustness.

use super::*;
use crate::balance::NoServer;

/// Every algorithm, with both hash types for the hash ones.
fn all_algorithms() -> Vec<(Algorithm, HashType)> {
    let mut v = vec![];
    for alg in [
        Algorithm::RoundRobin,
        Algorithm::StaticRr,
        Algorithm::LeastConn,
        Algorithm::First,
        Algorithm::Random,
    ] {
        v.push((alg, HashType::MapBased));
    }
    for alg in [
        Algorithm::Source,
        Algorithm::Uri,
        Algorithm::UrlParam("uid".into()),
        Algorithm::Hdr("X-User".into()),
        Algorithm::Cookie("SID".into()),
    ] {
        v.push((alg.clone(), HashType::MapBased));
        v.push((alg, HashType::Consistent));
    }
    v
}

/// Picks with a key that varies with `n`, of the kind the algorithm hashes.
fn pick_n(
    b: &Balancer,
    alg: &Algorithm,
    pool: &TestPool,
    n: usize,
    avoid: Option<usize>,
) -> Result<usize, NoServer> {
    let text = format!("/k{n}");
    let key = match alg {
        Algorithm::Source => HashKey::Addr(std::net::IpAddr::V4((n as u32).into())),
        Algorithm::Uri | Algorithm::UrlParam(_) | Algorithm::Hdr(_) | Algorithm::Cookie(_) => {
            HashKey::Bytes(text.as_bytes())
        }
        _ => HashKey::Absent,
    };
    b.pick_detailed(pool, key, avoid)
}

/// The set of servers picked over `n` requests with varying keys.
fn picked_set(
    alg: &Algorithm,
    ht: HashType,
    allbackups: bool,
    pool: &TestPool,
    n: usize,
) -> Vec<usize> {
    let b = Balancer::new(alg, ht, 0, allbackups, pool.count());
    let mut seen = vec![];
    for i in 0..n {
        if let Ok(s) = pick_n(&b, alg, pool, i, None) {
            if !seen.contains(&s) {
                seen.push(s);
            }
        }
    }
    seen.sort_unstable();
    seen
}

#[test]
fn drain_maint_down_and_weight_0_never_get_new_traffic() {
    let mut pool = TestPool::weights(&[1, 1, 1, 1, 0, 1]);
    pool.set_state(1, St::Drain);
    pool.set_state(2, St::Maint);
    pool.set_state(3, St::Down);
    for (alg, ht) in all_algorithms() {
        let got = picked_set(&alg, ht, false, &pool, 200);
        let want = if alg == Algorithm::First {
            vec![0]
        } else {
            vec![0, 5]
        };
        assert_eq!(got, want, "{} {:?}", alg.as_string(), ht);
    }
}

#[test]
fn nothing_usable_means_unavailable() {
    let mut pool = TestPool::weights(&[1, 0, 1]);
    pool.set_state(0, St::Maint);
    pool.set_state(2, St::Drain);
    for (alg, ht) in all_algorithms() {
        let b = Balancer::new(&alg, ht, 0, false, 3);
        let got = pick_n(&b, &alg, &pool, 1, None);
        assert_eq!(got, Err(NoServer::Unavailable), "{}", alg.as_string());
    }
}

#[test]
fn backups_only_when_no_active_is_usable_first_backup_or_allbackups() {
    // s1 active, s2 and s3 backups.
    let mut pool = TestPool::weights(&[1, 1, 1]).backup(1).backup(2);
    for (alg, ht) in all_algorithms() {
        assert_eq!(
            picked_set(&alg, ht, true, &pool, 100),
            vec![0],
            "{}",
            alg.as_string()
        );
    }
    pool.set_state(0, St::Down);
    for (alg, ht) in all_algorithms() {
        let name = format!("{} {:?}", alg.as_string(), ht);
        // Without allbackups: the first usable backup only.
        assert_eq!(picked_set(&alg, ht, false, &pool, 200), vec![1], "{name}");
        // With allbackups: all usable backups (first still takes the lowest id).
        let want = if alg == Algorithm::First {
            vec![1]
        } else {
            vec![1, 2]
        };
        assert_eq!(picked_set(&alg, ht, true, &pool, 200), want, "{name}");
    }
    // The first backup in maintenance: the next one takes over.
    pool.set_state(1, St::Maint);
    for (alg, ht) in all_algorithms() {
        assert_eq!(
            picked_set(&alg, ht, false, &pool, 50),
            vec![2],
            "{}",
            alg.as_string()
        );
    }
}

#[test]
fn avoid_is_skipped_unless_it_is_the_only_server() {
    let pool = TestPool::weights(&[1, 1, 1]);
    for alg in [
        Algorithm::RoundRobin,
        Algorithm::StaticRr,
        Algorithm::LeastConn,
        Algorithm::First,
    ] {
        let b = balancer(alg.clone(), &pool);
        for _ in 0..10 {
            let s = b.pick(&pool, HashKey::Absent, Some(0));
            assert!(matches!(s, Some(1 | 2)), "{}", alg.as_string());
        }
    }
    // Only the avoided server is usable: it is returned (redispatch to the same server).
    let mut single = TestPool::weights(&[1, 1]);
    single.set_state(1, St::Maint);
    for (alg, ht) in all_algorithms() {
        let b = Balancer::new(&alg, ht, 0, false, 2);
        assert_eq!(
            pick_n(&b, &alg, &single, 3, Some(0)),
            Ok(0),
            "{}",
            alg.as_string()
        );
    }
}

#[test]
fn avoid_with_hashing_consistent_walks_on_map_based_ignores_it() {
    let pool = TestPool::weights(&[1, 1, 1, 1]);
    // /url1 -> s2 on the map (balance-uri.vtc); map_get_server_hash() has no avoid.
    let map = balancer(Algorithm::Uri, &pool);
    assert_eq!(map.pick(&pool, HashKey::Bytes(b"/url1"), Some(1)), Some(1));
    // Consistent: /url1 -> s2 (seen on HAProxy 2.6.12); avoiding s2 walks to the next point's
    // server, which is where /url1 goes once s2 is down (s4).
    let ch = consistent(Algorithm::Uri, &pool);
    assert_eq!(ch.pick(&pool, HashKey::Bytes(b"/url1"), Some(1)), Some(3));
}

#[test]
fn non_hash_algorithms_skip_servers_at_maxconn() {
    let mut pool = TestPool::weights(&[1, 1, 1]);
    pool.set_maxconn(0, 2);
    pool.set_load(0, 2);
    for alg in [
        Algorithm::RoundRobin,
        Algorithm::StaticRr,
        Algorithm::LeastConn,
        Algorithm::First,
    ] {
        let b = balancer(alg.clone(), &pool);
        for _ in 0..12 {
            let s = b.pick(&pool, HashKey::Absent, None);
            assert!(matches!(s, Some(1 | 2)), "{}", alg.as_string());
        }
    }
    // All saturated: Saturated (the request queues), not Unavailable.
    (1..3).for_each(|i| {
        pool.set_maxconn(i, 1);
        pool.set_load(i, 1);
    });
    for alg in [
        Algorithm::RoundRobin,
        Algorithm::StaticRr,
        Algorithm::LeastConn,
        Algorithm::First,
        Algorithm::Random,
    ] {
        let b = balancer(alg.clone(), &pool);
        assert_eq!(
            b.pick_detailed(&pool, HashKey::Absent, None),
            Err(NoServer::Saturated),
            "{}",
            alg.as_string()
        );
    }
}

#[test]
fn hash_algorithms_do_not_skip_servers_at_maxconn() {
    let mut pool = TestPool::weights(&[1, 1, 1, 1]);
    pool.set_maxconn(1, 1);
    pool.set_load(1, 5);
    // /url1 hashes to s2 with both hash types.
    for ht in [HashType::MapBased, HashType::Consistent] {
        let b = Balancer::new(&Algorithm::Uri, ht, 0, false, 4);
        assert_eq!(
            b.pick(&pool, HashKey::Bytes(b"/url1"), None),
            Some(1),
            "{ht:?}"
        );
    }
    // But the round-robin fallback for an absent key does skip it.
    let b = balancer(Algorithm::UrlParam("uid".into()), &pool);
    let got: Vec<_> = (0..8)
        .map(|_| b.pick(&pool, HashKey::Absent, None))
        .collect();
    assert!(got.iter().all(|s| *s != Some(1)), "{got:?}");
}

#[test]
fn single_usable_server_is_returned_without_hashing() {
    // tot_used == 1: hash 0 is looked up, whatever the key; for url_param there is no such
    // shortcut but the map holds only that server anyway.
    let mut pool = TestPool::weights(&[1, 1, 1]);
    pool.set_state(0, St::Maint);
    pool.set_state(2, St::Maint);
    for (alg, ht) in all_algorithms() {
        let b = Balancer::new(&alg, ht, 0, false, 3);
        for n in 0..5 {
            assert_eq!(
                pick_n(&b, &alg, &pool, n, None),
                Ok(1),
                "{}",
                alg.as_string()
            );
        }
    }
}

#[test]
fn source_without_address_is_unavailable() {
    let pool = TestPool::weights(&[1, 1]);
    let b = balancer(Algorithm::Source, &pool);
    assert_eq!(
        b.pick_detailed(&pool, HashKey::Absent, None),
        Err(NoServer::Unavailable)
    );
    assert_eq!(
        b.pick_detailed(&pool, HashKey::Bytes(b"x"), None),
        Err(NoServer::Unavailable)
    );
}

#[test]
fn source_ipv6_hashes_the_xor_of_its_words() {
    // get_server_sh(): h = XOR of the four big-endian 32-bit words.
    let pool = TestPool::weights(&[1, 1, 1]);
    let b = balancer(Algorithm::Source, &pool);
    // ::7f00:1 gives 0x7f000001 like 127.0.0.1 -> s3; 1:0:2:0:3:0:4:0 gives 0x00040000
    // (1^2^3^4 = 4 in the high half), 262144 % 3 = 1 -> s2.
    let v6 = |s: &str| HashKey::Addr(s.parse().expect("ip"));
    assert_eq!(name(b.pick(&pool, v6("::7f00:1"), None)), "s3");
    assert_eq!(name(b.pick(&pool, v6("1:0:2:0:3:0:4:0"), None)), "s2");
}

#[test]
fn no_panic_on_degenerate_pools() {
    let empty = TestPool::default();
    let zero = TestPool::weights(&[0, 0, 0]);
    let mut big = TestPool::weights(&[256; 256]);
    let heavy = TestPool::weights(&[1000, 1]); // weights above 256 count as 256
    for (alg, ht) in all_algorithms() {
        for pool in [&empty, &zero] {
            let b = Balancer::new(&alg, ht, 150, true, 0);
            assert_eq!(
                pick_n(&b, &alg, pool, 1, Some(7)),
                Err(NoServer::Unavailable)
            );
            b.server_changed(pool, 99);
            b.load_changed(pool, 99);
        }
        let b = Balancer::new(&alg, ht, 150, false, 256);
        for n in 0..50 {
            let s = pick_n(&b, &alg, &big, n, Some(300));
            assert!(s.is_ok_and(|s| s < 256), "{}", alg.as_string());
        }
        let b = Balancer::new(&alg, ht, 0, false, 2);
        assert!(pick_n(&b, &alg, &heavy, 1, None).is_ok());
    }
    // Loads far beyond any maxconn, and the pool growing under a built balancer.
    big.set_load(3, u32::MAX);
    let b = Balancer::new(&Algorithm::LeastConn, HashType::MapBased, 0, false, 2);
    assert!(b.pick(&big, HashKey::Absent, None).is_some());
    let mut grow = TestPool::weights(&[1, 1]);
    let b = balancer(Algorithm::RoundRobin, &grow);
    assert_eq!(picks(&b, &grow, 2), "s1 s2");
    grow = TestPool::weights(&[1, 1, 1]);
    grow.generation = 1;
    assert_eq!(picks(&b, &grow, 3), "s1 s2 s3");
}

#[test]
fn weights_above_256_count_as_256() {
    let pool = TestPool::weights(&[1000, 256]);
    let b = balancer(Algorithm::RoundRobin, &pool);
    assert_eq!(picks(&b, &pool, 4), "s1 s2 s1 s2");
}

#[test]
fn random_spreads_by_weight_and_prefers_the_less_loaded_draw() {
    let mut pool = TestPool::weights(&[1, 1, 1, 1]);
    let b = balancer(Algorithm::Random, &pool);
    let count = |b: &Balancer, pool: &TestPool| {
        let mut c = [0u32; 4];
        for _ in 0..40_000 {
            if let Some(s) = b.pick(pool, HashKey::Absent, None) {
                c[s] += 1;
            }
        }
        c
    };
    // Equal loads: ring shares (16 points each) are uneven but every server gets a
    // fair part.
    let c = count(&b, &pool);
    assert!(c.iter().all(|&n| (5_000..16_000).contains(&n)), "{c:?}");
    // s1 busy: it wins only when both draws land on it.
    pool.set_load(0, 10);
    let c = count(&b, &pool);
    assert!(c[0] < 4_000, "{c:?}");
    assert_eq!(c.iter().sum::<u32>(), 40_000);
    // The chosen server saturated: HAProxy does not skip it, the request waits.
    for i in 0..4 {
        pool.set_maxconn(i, 1);
        pool.set_load(i, 1);
    }
    assert_eq!(
        b.pick_detailed(&pool, HashKey::Absent, None),
        Err(NoServer::Saturated)
    );
}
