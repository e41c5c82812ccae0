//! Property-style test: random byte strings (biased towards the bytes the parsers care
//! about, sometimes longer than 8 KiB, with NUL, control and non-UTF-8 bytes) go through
//! `analyse_request` / `analyse_response` under every mode and context. Checked: no
//! panic, edits reference existing indices in increasing order, replacements are never
//! empty and re-parse, our cookie never survives insert+indirect, and a header holding
//! neither the cookie name nor a blank is never edited.

use super::*;

use crate::test_rng::Rng;

const PIECES: &[&[u8]] = &[
    b"SRV",
    b"SRV",
    b"SRV=",
    b"=",
    b";",
    b"; ",
    b",",
    b" ",
    b"\t",
    b"\"",
    b"\\",
    b"$",
    b"|",
    b"~",
    b"s1",
    b"s2",
    b"a",
    b"=s1",
    b"SRV=s2",
    b"awHs8",
    b"|awHs8",
    b"/////",
    b"\0",
    b"\x01",
    b"\xff",
    b"\xc3\xa9",
    b"\r",
    b";;;",
];

fn random_value(rng: &mut Rng) -> Vec<u8> {
    let mut v = Vec::new();
    let pieces = if rng.chance(3) { 3000 } else { rng.below(12) };
    for _ in 0..pieces {
        if rng.chance(15) {
            v.push(rng.next() as u8);
        } else {
            v.extend_from_slice(PIECES[rng.below(PIECES.len())]);
        }
    }
    v
}

fn random_policy(rng: &mut Rng) -> CookiePolicy {
    let mode = [
        CookieMode::Insert,
        CookieMode::Prefix,
        CookieMode::Rewrite,
        CookieMode::Passive,
    ][rng.below(4)];
    policy(mode, |s| {
        s.indirect = mode != CookieMode::Rewrite && rng.chance(50);
        s.preserve = (mode == CookieMode::Insert || s.indirect) && rng.chance(20);
        s.nocache = rng.chance(50);
        s.postonly = rng.chance(10);
        if mode == CookieMode::Insert && rng.chance(50) {
            s.maxidle = [0, 1, 20, 1800][rng.below(4)];
            s.maxlife = [0, 1, 30, 28800][rng.below(4)];
        }
    })
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn check_edits(edits: &[HeaderEdit], n: usize) {
    for pair in edits.windows(2) {
        assert!(
            pair[0].index < pair[1].index,
            "edits out of order: {edits:?}"
        );
    }
    for e in edits {
        assert!(e.index < n, "edit index {} of {n} headers", e.index);
        if let EditAction::Replace(v) = &e.action {
            assert!(!v.is_empty(), "empty replacement");
        }
    }
}

fn applied(headers: &[Vec<u8>], edits: &[HeaderEdit]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        match edits.iter().find(|e| e.index == i).map(|e| &e.action) {
            Some(EditAction::Remove) => {}
            Some(EditAction::Replace(v)) => out.push(v.clone()),
            None => out.push(h.clone()),
        }
    }
    out
}

fn untouchable(h: &[u8]) -> bool {
    !contains(h, b"SRV") && !h.iter().any(|&c| c == b' ' || c == b'\t')
}

#[test]
fn random_headers_never_panic_and_keep_the_invariants() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..4000 {
        let p = random_policy(&mut rng);
        let headers: Vec<Vec<u8>> = (0..rng.below(4)).map(|_| random_value(&mut rng)).collect();
        let refs: Vec<&[u8]> = headers.iter().map(|v| v.as_slice()).collect();
        let c = RequestContext {
            now: rng.next() as u32,
            option_persist: rng.chance(20),
            rule: [
                PersistOverride::None,
                PersistOverride::Force,
                PersistOverride::Ignore,
            ][rng.below(3)],
            assigned: rng.chance(10).then(|| rng.below(6)),
        };
        let stopped_mask = rng.next();
        let v = analyse_request(&p, &refs, &c, |i| stopped_mask >> (i % 64) & 1 == 1);
        check_edits(&v.edits, headers.len());
        if let Some(s) = v.server {
            assert!(s < p.server_count());
        }
        for e in &v.edits {
            assert!(
                !untouchable(&headers[e.index]),
                "edited {:?}",
                headers[e.index]
            );
        }
        let out = applied(&headers, &v.edits);
        let out_refs: Vec<&[u8]> = out.iter().map(|v| v.as_slice()).collect();
        let again = analyse_request(&p, &out_refs, &c, |_| false);
        let spec = p.spec();
        if spec.mode == CookieMode::Insert && spec.indirect {
            assert_eq!(
                again.flag,
                ClientFlag::None,
                "our cookie survived in {out:?}"
            );
        }

        let set_cookies: Vec<Vec<u8>> = (0..rng.below(4)).map(|_| random_value(&mut rng)).collect();
        let refs: Vec<&[u8]> = set_cookies.iter().map(|v| v.as_slice()).collect();
        let rc = ResponseContext {
            now: rng.next() as u32,
            served: rng.chance(90).then(|| rng.below(6)),
            direct: rng.chance(50),
            ignore_persist: rng.chance(10),
            is_post: rng.chance(30),
            status: [100, 101, 200, 204, 302, 503][rng.below(6)],
            cacheable: rng.chance(50),
            last_date: if rng.chance(50) {
                rng.next() as u32
            } else {
                v.last_date
            },
            first_date: if rng.chance(50) {
                rng.next() as u32
            } else {
                v.first_date
            },
        };
        let r = analyse_response(&p, &refs, &rc);
        check_edits(&r.edits, set_cookies.len());
        for e in &r.edits {
            assert!(
                !untouchable(&set_cookies[e.index]),
                "edited {:?}",
                set_cookies[e.index]
            );
        }
        if let Some(value) = &r.insert {
            assert_eq!(spec.mode, CookieMode::Insert);
            assert!(rc.served.is_some());
            let name_eq = format!("{}=", spec.name);
            assert!(value.as_bytes().starts_with(name_eq.as_bytes()));
        }
        assert!(!r.cache_private || (r.insert.is_some() && rc.cacheable));
        let out = applied(&set_cookies, &r.edits);
        let out_refs: Vec<&[u8]> = out.iter().map(|v| v.as_slice()).collect();
        analyse_response(&p, &out_refs, &rc);
    }
}

#[test]
fn huge_pathological_headers_are_handled() {
    let p = insert_indirect();
    let many = "SRV=s1;".repeat(2000);
    let v = req(&p, &[&many]);
    assert_eq!(v.server, Some(S1));
    assert_eq!(apply(&[&many], &v.edits), [""; 0]);
    let alternating = "SRV=s1;a;".repeat(1500);
    let v = req(&p, &[&alternating]);
    assert_eq!(
        apply(&[&alternating], &v.edits),
        ["a; ".repeat(1499) + "a;"]
    );
    let quotes = "\"".repeat(9000);
    assert!(req(&p, &[&quotes]).edits.is_empty());
    let blanks = format!("a{}={}1", " ".repeat(5000), "\t".repeat(5000));
    assert_eq!(fwd(&p, &[&blanks]), ["a=1"]);
}
