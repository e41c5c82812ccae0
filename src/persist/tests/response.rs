//! Response side: docs/haproxy-compatibility.md §4 (Set-Cookie), §5 and §7 (insertion and its
//! format, nocache), §8 (server flag).

use super::*;

fn edits_of(v: &ResponseVerdict, headers: &[&str]) -> Vec<String> {
    apply(headers, &v.edits)
}

// ---------------------------------------------------------------- 1.4 Set-Cookie

#[test]
fn only_the_first_name_value_of_a_set_cookie_line_counts() {
    // reg-tests/sample_fetches/cook.vtc test 2; HAProxy 2.6.12
    let p = policy(CookieMode::Insert, |_| {});
    let h = ["cook1=0; SRV=123", "a=1, SRV=2"];
    let v = resp(&p, &h, &rctx(Some(S1)));
    assert!(v.edits.is_empty());
    assert_eq!(v.flag, ServerFlag::Inserted);
}

#[test]
fn insert_deletes_the_servers_own_cookie() {
    // Seen on HAProxy 2.6.12 ("insertnoind"): `--VD`
    let p = policy(CookieMode::Insert, |_| {});
    let h = ["a=1; path=/", "SRV=mine; path=/", "b=2"];
    let mut c = rctx(Some(S2));
    c.direct = true;
    let v = resp(&p, &h, &c);
    assert_eq!(
        v.edits,
        [HeaderEdit {
            index: 1,
            action: EditAction::Remove
        }]
    );
    assert_eq!(v.flag, ServerFlag::Deleted);
    assert_eq!(v.insert, None);
    // not direct: deleted, then ours is inserted
    let v = resp(&p, &h, &rctx(Some(S2)));
    assert_eq!(edits_of(&v, &h), ["a=1; path=/", "b=2"]);
    assert_eq!(inserted(&v), Some("SRV=s2; path=/"));
    assert_eq!(v.flag, ServerFlag::Inserted);
}

#[test]
fn direct_request_with_indirect_deletes_the_servers_cookie_in_any_mode() {
    // Seen on HAProxy 2.6.12: "prefixind" `--VD`; passive + indirect too
    for mode in [CookieMode::Prefix, CookieMode::Passive] {
        let p = policy(mode, |s| s.indirect = true);
        let mut c = rctx(Some(S1));
        c.direct = true;
        let v = resp(&p, &["SRV=abc; Path=/"], &c);
        assert_eq!(v.edits[0].action, EditAction::Remove, "{mode:?}");
        assert_eq!(v.flag, ServerFlag::Deleted);
        // not direct: prefix rewrites, passive keeps
        let v = resp(&p, &["SRV=abc; Path=/"], &rctx(Some(S1)));
        let want = if mode == CookieMode::Prefix {
            (
                vec!["SRV=s1~abc; Path=/".to_string()],
                ServerFlag::Rewritten,
            )
        } else {
            (vec!["SRV=abc; Path=/".to_string()], ServerFlag::Provided)
        };
        assert_eq!((edits_of(&v, &["SRV=abc; Path=/"]), v.flag), want);
    }
}

#[test]
fn preserve_leaves_the_servers_cookie_and_suppresses_insertion() {
    // Seen on HAProxy 2.6.12: `--VP` / `--NP`
    let p = policy(CookieMode::Insert, |s| {
        s.indirect = true;
        s.preserve = true;
    });
    let v = resp(&p, &["SRV=mine; path=/"], &rctx(Some(S1)));
    assert!(v.edits.is_empty());
    assert_eq!((v.insert.clone(), v.flag), (None, ServerFlag::Provided));
    // without the server's cookie, insertion happens as usual
    let v = resp(&p, &["other=1"], &rctx(Some(S1)));
    assert_eq!(inserted(&v), Some("SRV=s1; path=/"));
}

#[test]
fn rewrite_replaces_the_value_and_keeps_the_attributes() {
    // Seen on HAProxy 2.6.12.
    let p = policy(CookieMode::Rewrite, |_| {});
    let h = ["SRV=xyz; path=/; Max-Age=10"];
    let v = resp(&p, &h, &rctx(Some(S1)));
    assert_eq!(edits_of(&v, &h), ["SRV=s1; path=/; Max-Age=10"]);
    assert_eq!(v.flag, ServerFlag::Rewritten);
    // empty value and a comma ending the value (HAProxy 2.6.12)
    let h = [
        "SRV = ; path=/",
        "SRV=a,b; Expires=Thu, 01-Jan-1970 00:00:01 GMT",
    ];
    let v = resp(&p, &h, &rctx(Some(S2)));
    assert_eq!(
        edits_of(&v, &h),
        [
            "SRV=s2; path=/",
            "SRV=s2,b; Expires=Thu, 01-Jan-1970 00:00:01 GMT"
        ]
    );
}

#[test]
fn prefix_prepends_the_server_value_and_a_tilde() {
    // Seen on HAProxy 2.6.12.
    let p = {
        let spec = CookieSpec::new("JSESSIONID", CookieMode::Prefix);
        CookiePolicy::new(spec, servers()).unwrap()
    };
    let h = ["JSESSIONID=abc; Path=/app; HttpOnly"];
    let v = resp(&p, &h, &rctx(Some(S1)));
    assert_eq!(edits_of(&v, &h), ["JSESSIONID=s1~abc; Path=/app; HttpOnly"]);
    assert_eq!(v.flag, ServerFlag::Rewritten);
    // blanks around `=` are stripped first (HAProxy 2.6.12)
    let h = ["JSESSIONID = abc ; Max-Age=10", "JSESSIONID=\"q~\";x"];
    let v = resp(&p, &h, &rctx(Some(S2)));
    assert_eq!(
        edits_of(&v, &h),
        ["JSESSIONID=s2~abc ; Max-Age=10", "JSESSIONID=s2~\"q~\";x"]
    );
}

#[test]
fn rewrite_and_prefix_leave_the_cookie_of_a_server_without_value() {
    for mode in [CookieMode::Rewrite, CookieMode::Prefix] {
        let p = policy(mode, |_| {});
        let v = resp(&p, &["SRV=xyz"], &rctx(Some(S3)));
        assert!(v.edits.is_empty());
        assert_eq!(v.flag, ServerFlag::Provided);
    }
}

#[test]
fn prefix_and_rewrite_add_nothing_when_the_server_sets_no_cookie() {
    // Seen on HAProxy 2.6.12 ("/6" and "/2").
    for mode in [CookieMode::Rewrite, CookieMode::Prefix] {
        let p = policy(mode, |_| {});
        let v = resp(&p, &["a=1"], &rctx(Some(S1)));
        assert_eq!(
            v,
            ResponseVerdict {
                edits: vec![],
                insert: None,
                cache_private: false,
                flag: ServerFlag::None
            }
        );
    }
}

#[test]
fn passive_mode_never_touches_set_cookie_and_logs_dash() {
    let p = policy(CookieMode::Passive, |_| {});
    let v = resp(&p, &["SRV=s2; path=/"], &rctx(Some(S2)));
    assert!(v.edits.is_empty());
    assert_eq!(
        (v.insert.clone(), v.flag),
        (None, ServerFlag::NotApplicable)
    );
}

#[test]
fn ignore_persist_skips_set_cookie_processing_and_insertion() {
    let p = insert_indirect();
    let mut c = rctx(Some(S1));
    c.ignore_persist = true;
    let v = resp(&p, &["SRV=mine"], &c);
    assert!(v.edits.is_empty());
    assert_eq!((v.insert.clone(), v.flag), (None, ServerFlag::None));
}

#[test]
fn blanks_around_equal_are_stripped_from_the_first_pair_whatever_its_name() {
    // HAProxy 2.6.12: `a = 1; path=/` is forwarded as `a=1; path=/`
    let p = policy(CookieMode::Insert, |_| {});
    let h = ["a = 1; path=/", "b\t=\t2", "c=3 ; x = y"];
    let v = resp(&p, &h, &rctx(Some(S1)));
    assert_eq!(edits_of(&v, &h), ["a=1; path=/", "b=2", "c=3 ; x = y"]);
}

#[test]
fn set_cookie_without_equal_or_empty_is_left_alone() {
    let p = policy(CookieMode::Insert, |_| {});
    let v = resp(&p, &["SRV", "", "SRV; path=/", "=x"], &rctx(Some(S1)));
    assert!(v.edits.is_empty());
}

#[test]
fn interim_responses_are_not_examined_but_101_is() {
    let p = insert_indirect();
    for status in [100, 102, 103] {
        let mut c = rctx(Some(S1));
        c.status = status;
        let v = resp(&p, &["SRV=x"], &c);
        assert_eq!(
            (v.edits.len(), v.insert.clone(), v.flag),
            (0, None, ServerFlag::None)
        );
    }
    let mut c = rctx(Some(S1));
    c.status = 101;
    let v = resp(&p, &["SRV=x"], &c);
    assert_eq!(v.edits.len(), 1);
    assert_eq!(inserted(&v), Some("SRV=s1; path=/"));
}

// ---------------------------------------------------------------- 1.5 insertion

#[test]
fn insertion_format_with_two_domains_and_two_attrs() {
    // Seen on HAProxy 2.6.12.
    let p = policy(CookieMode::Insert, |s| {
        s.indirect = true;
        s.nocache = true;
        s.httponly = true;
        s.secure = true;
        s.domains = vec![".example.com".into(), ".example.org".into()];
        s.attrs = vec!["SameSite=Lax".into(), "Max-Age=3600".into()];
    });
    let v = resp(&p, &[], &rctx(Some(S1)));
    assert_eq!(
        inserted(&v),
        Some(
            "SRV=s1; path=/; domain=.example.com; domain=.example.org; HttpOnly; Secure; \
             SameSite=Lax; Max-Age=3600"
        )
    );
}

#[test]
fn server_without_value_gets_the_removal_cookie() {
    // Seen on HAProxy 2.6.12: s2 (here s3)
    let p = policy(CookieMode::Insert, |s| {
        s.httponly = true;
        s.secure = true;
        s.domains = vec![".example.com".into()];
        s.attrs = vec!["SameSite=Lax".into()];
        s.maxidle = 60;
        s.maxlife = 600;
    });
    let v = resp(&p, &[], &rctx(Some(S3)));
    assert_eq!(
        inserted(&v),
        Some(
            "SRV=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/; domain=.example.com; \
             HttpOnly; Secure; SameSite=Lax"
        )
    );
    assert_eq!(v.flag, ServerFlag::Inserted);
    // a server index the policy does not know is treated as a server without value
    let v = resp(&p, &[], &rctx(Some(99)));
    assert!(inserted(&v).unwrap().starts_with("SRV=; Expires="));
}

#[test]
fn no_insertion_without_a_real_server() {
    let p = insert_indirect();
    let v = resp(&p, &[], &rctx(None));
    assert_eq!((v.insert.clone(), v.flag), (None, ServerFlag::None));
}

#[test]
fn insertion_condition_a_not_direct() {
    let p = insert_indirect();
    assert_eq!(
        inserted(&resp(&p, &[], &rctx(Some(S2)))),
        Some("SRV=s2; path=/")
    );
    // direct (cookie, stick table, use-server, force-persist...) and no dates: nothing
    let mut c = rctx(Some(S2));
    c.direct = true;
    assert_eq!(resp(&p, &[], &c).insert, None);
}

#[test]
fn insertion_condition_b_date_refresh_or_removal() {
    let p = policy(CookieMode::Insert, |s| s.maxidle = 60);
    let mut c = rctx(Some(S2));
    c.direct = true;
    // maxidle set, no last date
    assert_eq!(inserted(&resp(&p, &[], &c)), Some("SRV=s2|awHs8; path=/"));
    // last date before now
    c.last_date = NOW - 1;
    assert!(resp(&p, &[], &c).insert.is_some());
    // last date now or later: nothing
    c.last_date = NOW;
    assert_eq!(resp(&p, &[], &c).insert, None);
    // maxidle no longer set but the cookie carries a past date: dates removed
    let plain = policy(CookieMode::Insert, |_| {});
    c.last_date = NOW - 1;
    assert_eq!(inserted(&resp(&plain, &[], &c)), Some("SRV=s2; path=/"));
}

#[test]
fn insertion_condition_c_first_date_to_set() {
    let p = policy(CookieMode::Insert, |s| s.maxlife = 600);
    let mut c = rctx(Some(S2));
    (c.direct, c.last_date) = (true, NOW + 3);
    assert_eq!(
        inserted(&resp(&p, &[], &c)),
        Some("SRV=s2|awHs8|awHs8; path=/")
    );
    c.first_date = NOW - 100;
    assert_eq!(resp(&p, &[], &c).insert, None);
}

#[test]
fn insertion_condition_d_first_date_to_drop() {
    let p = policy(CookieMode::Insert, |_| {});
    let mut c = rctx(Some(S2));
    (c.direct, c.last_date, c.first_date) = (true, NOW + 3, NOW - 100);
    assert_eq!(inserted(&resp(&p, &[], &c)), Some("SRV=s2; path=/"));
}

#[test]
fn insertion_only_in_insert_mode() {
    for mode in [CookieMode::Prefix, CookieMode::Rewrite, CookieMode::Passive] {
        let p = policy(mode, |_| {});
        assert_eq!(resp(&p, &[], &rctx(Some(S1))).insert, None, "{mode:?}");
    }
}

#[test]
fn postonly_inserts_only_on_post() {
    let p = policy(CookieMode::Insert, |s| s.postonly = true);
    assert_eq!(resp(&p, &[], &rctx(Some(S1))).insert, None);
    let mut c = rctx(Some(S1));
    c.is_post = true;
    assert_eq!(inserted(&resp(&p, &[], &c)), Some("SRV=s1; path=/"));
}

#[test]
fn status_code_does_not_matter() {
    // Seen on HAProxy 2.6.12.
    let p = insert_indirect();
    for status in [200, 204, 302, 404, 500, 503] {
        let mut c = rctx(Some(S1));
        c.status = status;
        assert_eq!(
            inserted(&resp(&p, &[], &c)),
            Some("SRV=s1; path=/"),
            "{status}"
        );
    }
}

#[test]
fn updated_when_the_same_server_is_kept_else_inserted() {
    let p = policy(CookieMode::Insert, |s| s.maxidle = 60);
    let mut c = rctx(Some(S2));
    assert_eq!(resp(&p, &[], &c).flag, ServerFlag::Inserted);
    c.direct = true;
    assert_eq!(resp(&p, &[], &c).flag, ServerFlag::Updated);
    // a direct request to a server without value gets a removal, logged as inserted
    c.served = Some(S3);
    assert_eq!(resp(&p, &[], &c).flag, ServerFlag::Inserted);
}

#[test]
fn nocache_adds_private_only_when_cacheable_and_inserted() {
    let p = policy(CookieMode::Insert, |s| s.nocache = true);
    let mut c = rctx(Some(S1));
    c.cacheable = true;
    let v = resp(&p, &[], &c);
    assert!(v.insert.is_some() && v.cache_private);
    // not cacheable
    c.cacheable = false;
    assert!(!resp(&p, &[], &c).cache_private);
    // cacheable but nothing inserted
    (c.cacheable, c.direct) = (true, true);
    assert!(!resp(&p, &[], &c).cache_private);
    // without nocache
    let p = policy(CookieMode::Insert, |_| {});
    let mut c = rctx(Some(S1));
    c.cacheable = true;
    assert!(!resp(&p, &[], &c).cache_private);
}

#[test]
fn server_flag_in_every_outcome() {
    let ins = insert_indirect();
    let none = resp(&ins, &[], &{
        let mut c = rctx(Some(S1));
        c.direct = true;
        c
    });
    assert_eq!(none.flag, ServerFlag::None);
    assert_eq!(resp(&ins, &[], &rctx(Some(S1))).flag, ServerFlag::Inserted);
    let upd = policy(CookieMode::Insert, |s| s.maxidle = 9);
    let mut c = rctx(Some(S1));
    c.direct = true;
    assert_eq!(resp(&upd, &[], &c).flag, ServerFlag::Updated);
    let pres = policy(CookieMode::Insert, |s| s.preserve = true);
    assert_eq!(
        resp(&pres, &["SRV=x"], &rctx(Some(S1))).flag,
        ServerFlag::Provided
    );
    let rw = policy(CookieMode::Rewrite, |_| {});
    assert_eq!(
        resp(&rw, &["SRV=x"], &rctx(Some(S1))).flag,
        ServerFlag::Rewritten
    );
    assert_eq!(resp(&ins, &["SRV=x"], &c).flag, ServerFlag::Deleted);
    let passive = policy(CookieMode::Passive, |_| {});
    assert_eq!(
        resp(&passive, &["SRV=x"], &c).flag,
        ServerFlag::NotApplicable
    );
}

#[test]
fn undated_insert_values_are_precomputed_and_shared() {
    let p = insert_indirect();
    let a = resp(&p, &[], &rctx(Some(S1))).insert.unwrap();
    let b = resp(&p, &[], &rctx(Some(S1))).insert.unwrap();
    // HeaderValue clones of one precomputed value share their bytes
    assert_eq!(a.as_bytes().as_ptr(), b.as_bytes().as_ptr());
}
