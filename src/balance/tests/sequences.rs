//! Observed pick sequences: docs/haproxy-compatibility.md §13 (seen on HAProxy 2.6.12), HAProxy's
//! reg-tests (`reg-tests/balance/*.vtc`), and HAP runs on HAProxy 2.6.12.

use super::*;
use crate::balance::key::{cookie_key, header_key, uri_key, url_param_key};

#[test]
fn obs_a4_vtc_balance_rr_four_equal_servers() {
    // reg-tests/balance/balance-rr.vtc: srv1, srv2, srv3, srv4, srv1.
    let pool = TestPool::weights(&[1, 1, 1, 1]);
    assert_eq!(
        picks(&balancer(Algorithm::RoundRobin, &pool), &pool, 5),
        "s1 s2 s3 s4 s1"
    );
}

#[test]
fn obs_a4_roundrobin_weights_3_1() {
    let pool = TestPool::weights(&[3, 1]);
    let b = balancer(Algorithm::RoundRobin, &pool);
    assert_eq!(picks(&b, &pool, 12), "s1 s1 s1 s2 s1 s1 s1 s2 s1 s1 s1 s2");
}

#[test]
fn obs_a4_roundrobin_weights_2_3_5_first_20() {
    let pool = TestPool::weights(&[2, 3, 5]);
    let b = balancer(Algorithm::RoundRobin, &pool);
    assert_eq!(
        picks(&b, &pool, 20),
        "s3 s2 s3 s1 s3 s2 s3 s2 s3 s1 s3 s2 s3 s1 s3 s2 s3 s2 s3 s1"
    );
}

#[test]
fn obs_a4_static_rr_weights_3_1() {
    let pool = TestPool::weights(&[3, 1]);
    let b = balancer(Algorithm::StaticRr, &pool);
    assert_eq!(picks(&b, &pool, 8), "s1 s1 s1 s2 s1 s1 s1 s2");
}

#[test]
fn obs_a4_static_rr_weights_2_3_5_repeating() {
    let pool = TestPool::weights(&[2, 3, 5]);
    let b = balancer(Algorithm::StaticRr, &pool);
    let cycle = "s1 s3 s2 s3 s1 s3 s2 s3 s2 s3";
    assert_eq!(picks(&b, &pool, 20), format!("{cycle} {cycle}"));
}

#[test]
fn obs_a4_first_with_maxconn_1_and_three_concurrent_requests() {
    let mut pool = TestPool::weights(&[1, 1, 1]);
    (0..3).for_each(|i| pool.set_maxconn(i, 1));
    let b = balancer(Algorithm::First, &pool);
    let mut got = vec![];
    for _ in 0..3 {
        let s = b.pick(&pool, HashKey::Absent, None);
        got.push(name(s));
        let s = s.expect("a server");
        pool.set_load(s, pool.servers[s].load + 1);
    }
    assert_eq!(got.join(" "), "s1 s2 s3");
    // A fourth concurrent request finds every server full: it waits in the queue.
    assert_eq!(
        b.pick_detailed(&pool, HashKey::Absent, None),
        Err(crate::balance::NoServer::Saturated)
    );
}

#[test]
fn obs_a4_leastconn_two_long_requests_then_short_ones_go_to_s3() {
    let mut pool = TestPool::weights(&[1, 1, 1]);
    let b = balancer(Algorithm::LeastConn, &pool);
    for expect in ["s1", "s2"] {
        let s = b.pick(&pool, HashKey::Absent, None).expect("a server");
        assert_eq!(name(Some(s)), expect);
        pool.set_load(s, 1); // long request still running
        b.load_changed(&pool, s);
    }
    for _ in 0..5 {
        let s = b.pick(&pool, HashKey::Absent, None).expect("a server");
        assert_eq!(name(Some(s)), "s3");
        pool.set_load(s, 1);
        b.load_changed(&pool, s);
        pool.set_load(s, 0); // short request done
        b.load_changed(&pool, s);
    }
}

/// Sequential requests while server `busy` holds long ones, with load notifications.
fn leastconn_run(weights: &[u32], script: &[(usize, bool)]) -> String {
    let mut pool = TestPool::weights(weights);
    let b = balancer(Algorithm::LeastConn, &pool);
    let mut got = vec![];
    for &(_, long) in script {
        let s = b.pick(&pool, HashKey::Absent, None).expect("a server");
        got.push(name(Some(s)));
        pool.set_load(s, pool.servers[s].load + 1);
        b.load_changed(&pool, s);
        if !long {
            pool.set_load(s, pool.servers[s].load - 1);
            b.load_changed(&pool, s);
        }
    }
    got.join(" ")
}

#[test]
fn hap_leastconn_equal_loads_take_turns() {
    // HAP: one long request, four short, one long, three short:
    // s1(long) s2 s3 s2 s3 s2(long) s3 s3 s3.
    let script = [
        (0, true),
        (0, false),
        (0, false),
        (0, false),
        (0, false),
        (0, true),
        (0, false),
        (0, false),
        (0, false),
    ];
    assert_eq!(
        leastconn_run(&[1, 1, 1], &script),
        "s1 s2 s3 s2 s3 s2 s3 s3 s3"
    );
}

#[test]
fn hap_leastconn_key_scales_with_weight() {
    // HAP, weights 1:2:1, two long requests then short ones: s1, s2 (its key 2*4096/32 is
    // below s1's 2*4096/16 but s3 is idle), then s3 only.
    let script = [(0, true), (0, true), (0, false), (0, false), (0, false)];
    assert_eq!(leastconn_run(&[1, 2, 1], &script), "s1 s2 s3 s3 s3");
}

#[test]
fn obs_a4_url_param_map_based_three_servers() {
    let pool = TestPool::weights(&[1, 1, 1]);
    let b = balancer(Algorithm::UrlParam("uid".into()), &pool);
    let got: Vec<String> = ["1", "2", "3", "4", "5", "alice", "bob"]
        .iter()
        .map(|v| {
            let uri = format!("/x?uid={v}");
            let k = url_param_key(uri.as_bytes(), b"uid").expect("present");
            by_key(&b, &pool, k)
        })
        .collect();
    assert_eq!(got.join(" "), "s2 s3 s1 s2 s3 s3 s3");
}

#[test]
fn obs_a4_hdr_map_based_three_servers() {
    let pool = TestPool::weights(&[1, 1, 1]);
    let b = balancer(Algorithm::Hdr("X-User".into()), &pool);
    let got: Vec<String> = ["alice", "bob", "carol", "dave"]
        .iter()
        .map(|v| by_key(&b, &pool, header_key(&[v.as_bytes()]).expect("present")))
        .collect();
    assert_eq!(got.join(" "), "s3 s3 s2 s1");
}

#[test]
fn obs_a4_source_127_0_0_1_three_servers() {
    // 0x7F000001 % 3 = 2.
    let pool = TestPool::weights(&[1, 1, 1]);
    let b = balancer(Algorithm::Source, &pool);
    let addr = HashKey::Addr("127.0.0.1".parse().expect("ip"));
    assert_eq!(name(b.pick(&pool, addr, None)), "s3");
}

#[test]
fn obs_a8_rdp_cookie_values_are_sdbm_mod_3_in_the_map() {
    // `balance rdp-cookie`: mstshash=alice -> t3, bob -> t3, carol -> t2. Same hashing as
    // any map-based byte key.
    let pool = TestPool::weights(&[1, 1, 1]);
    let b = balancer(Algorithm::Hdr("mstshash".into()), &pool);
    let got: Vec<String> = ["alice", "bob", "carol"]
        .iter()
        .map(|v| by_key(&b, &pool, v.as_bytes()))
        .collect();
    assert_eq!(got.join(" "), "s3 s3 s2");
}

#[test]
fn vtc_balance_uri_map_based_four_servers() {
    // reg-tests/balance/balance-uri.vtc.
    let pool = TestPool::weights(&[1, 1, 1, 1]);
    let b = balancer(Algorithm::Uri, &pool);
    let got: Vec<String> = ["/url1", "/url1?ignore=this-arg", "/url2", "/url3", "/url4"]
        .iter()
        .map(|u| by_key(&b, &pool, uri_key(u.as_bytes())))
        .collect();
    assert_eq!(got.join(" "), "s2 s2 s3 s4 s1");
}

#[test]
fn vtc_balance_uri_path_only_and_hap_absolute_form() {
    // reg-tests/balance/balance-uri-path-only.vtc hashes the path of
    // `http://127.0.0.1/url1` (srv2). Without `path-only` (tether, HAProxy's default) the
    // whole absolute URI is hashed. HAP: http://127.0.0.1/url1 -> s3,
    // http://127.0.0.1/url2?x -> s4.
    let pool = TestPool::weights(&[1, 1, 1, 1]);
    let b = balancer(Algorithm::Uri, &pool);
    assert_eq!(by_key(&b, &pool, b"/url1"), "s2");
    assert_eq!(by_key(&b, &pool, uri_key(b"http://127.0.0.1/url1")), "s3");
    assert_eq!(by_key(&b, &pool, uri_key(b"http://127.0.0.1/url2?x")), "s4");
}

#[test]
fn obs_a5_uri_consistent_four_servers_then_s2_in_maint() {
    let mut pool = TestPool::weights(&[1, 1, 1, 1]);
    let b = consistent(Algorithm::Uri, &pool);
    let uris = [
        "/url1", "/url2", "/url3", "/url4", "/a", "/b", "/c", "/d", "/e", "/f",
    ];
    let run = |pool: &TestPool| -> String {
        uris.iter()
            .map(|u| by_key(&b, pool, u.as_bytes()))
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(run(&pool), "s2 s1 s3 s1 s4 s2 s1 s3 s3 s1");
    pool.set_state(1, St::Maint);
    // Only s2's keys move: /url1 and /b go to s4.
    assert_eq!(run(&pool), "s4 s1 s3 s1 s4 s4 s1 s3 s3 s1");
    pool.set_state(1, St::Ready);
    assert_eq!(run(&pool), "s2 s1 s3 s1 s4 s2 s1 s3 s3 s1");
}

#[test]
fn vtc_balance_hash_maxconn_consistent_two_servers_ignores_maxconn_in_2_6() {
    // reg-tests/balance/balance-hash-maxconn.vtc (3.2): /test-url hashes to srv0. In 2.6
    // (no hash-preserve-affinity) a second request still goes to srv0 while it is at
    // maxconn: hash algorithms do not skip saturated servers (docs/haproxy-compatibility.md §12.2).
    let mut pool = TestPool::weights(&[1, 1]);
    (0..2).for_each(|i| pool.set_maxconn(i, 1));
    let b = consistent(Algorithm::Uri, &pool);
    assert_eq!(by_key(&b, &pool, b"/test-url"), "s1");
    pool.set_load(0, 1);
    assert!(pool.is_full(0));
    assert_eq!(by_key(&b, &pool, b"/test-url"), "s1");
}

#[test]
fn hap_cookie_hash_is_req_cook_last_occurrence() {
    // HAP: `balance hash req.cook(SID)`, 4 servers, requests in this order (the absent
    // ones round-robin over the map from index 0).
    let pool = TestPool::weights(&[1, 1, 1, 1]);
    let b = balancer(Algorithm::Cookie("SID".into()), &pool);
    let cases: [&[&[u8]]; 13] = [
        &[b"SID=alice"],
        &[b"SID=bob"],
        &[b"SID=carol"],
        &[b"SID=dave"],
        &[b"SID=alice; SID=bob"],
        &[b"SID=alice", b"SID=carol"],
        &[b"SID="],
        &[b"SID=; a=1"],
        &[b"a=1;SID="],
        &[b"a=1; SID="],
        &[b"SID=alice,SID=dave"],
        &[b"x=1"],
        &[b"x=2"],
    ];
    let got: Vec<String> = cases
        .iter()
        .map(|h| {
            let k = cookie_key(h, b"SID").map_or(HashKey::Absent, HashKey::Bytes);
            name(b.pick(&pool, k, None))
        })
        .collect();
    assert_eq!(got.join(" "), "s1 s2 s2 s1 s2 s2 s1 s1 s2 s1 s1 s3 s4");
}

#[test]
fn hap_hdr_first_element_empty_falls_back_to_round_robin() {
    let pool = TestPool::weights(&[1, 1, 1, 1]);
    let b = balancer(Algorithm::Hdr("X-User".into()), &pool);
    let cases: [&[&[u8]]; 7] = [
        &[b"alice"],
        &[b"bob"],
        &[b" alice , bob"],
        &[b"", b"bob"],
        &[b" , bob"],
        &[b"\"a,b\", c"],
        &[b"carol", b"dave"],
    ];
    let got: Vec<String> = cases
        .iter()
        .map(|h| {
            name(b.pick(
                &pool,
                header_key(h).map_or(HashKey::Absent, HashKey::Bytes),
                None,
            ))
        })
        .collect();
    assert_eq!(got.join(" "), "s1 s2 s1 s1 s2 s2 s2");
}

#[test]
fn hap_url_param_edge_values() {
    let pool = TestPool::weights(&[1, 1, 1, 1]);
    let b = balancer(Algorithm::UrlParam("uid".into()), &pool);
    let got: Vec<String> = ["/?uid=", "/?uid=&x=1", "/?xuid=1&uid=2", "/?a=?&uid=3"]
        .iter()
        .map(|u| {
            let k = url_param_key(u.as_bytes(), b"uid").map_or(HashKey::Absent, HashKey::Bytes);
            name(b.pick(&pool, k, None))
        })
        .collect();
    assert_eq!(got.join(" "), "s1 s1 s3 s4");
}

#[test]
fn hap_leastconn_sequential_requests_rotate_without_load_reports() {
    // HAP, weights 1:1:1 and 1:3:1, sequential short requests: s1 s2 s3 s1 s2 s3 s1 (idle
    // servers share key 0 and a picked server goes behind the others). The pool here
    // never calls load_changed(): the pick itself repositions the server.
    for weights in [[1, 1, 1], [1, 3, 1]] {
        let mut pool = TestPool::weights(&weights);
        let b = balancer(Algorithm::LeastConn, &pool);
        let mut got = vec![];
        for _ in 0..7 {
            let s = b.pick(&pool, HashKey::Absent, None).expect("a server");
            got.push(name(Some(s)));
            pool.set_load(s, 1);
            pool.set_load(s, 0);
        }
        assert_eq!(got.join(" "), "s1 s2 s3 s1 s2 s3 s1", "{weights:?}");
    }
}
