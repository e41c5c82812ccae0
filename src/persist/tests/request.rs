//! Request side: docs/haproxy-compatibility.md §2.3, §3, §8 (client flag), §10 and §11.

use super::*;

fn rewrite() -> CookiePolicy {
    policy(CookieMode::Rewrite, |_| {})
}

fn prefix_named(name: &str) -> CookiePolicy {
    let spec = CookieSpec::new(name, CookieMode::Prefix);
    CookiePolicy::new(spec, servers()).unwrap()
}

// ---------------------------------------------------------------- 1.2 server values

#[test]
fn server_value_match_is_exact_case_sensitive_and_full_length() {
    let p = insert_indirect();
    for bad in ["SRV=s1x", "SRV=S1", "SRV=s", "SRV= s1x"] {
        let v = req(&p, &[bad]);
        assert_eq!((v.server, v.flag), (None, ClientFlag::Invalid), "{bad}");
    }
    let v = req(&p, &["SRV=s1"]);
    assert_eq!((v.server, v.flag), (Some(S1), ClientFlag::Valid));
}

#[test]
fn first_non_stopped_server_in_declaration_order_wins() {
    let p = insert_indirect();
    assert_eq!(req(&p, &["SRV=s1"]).server, Some(S1));
    // s1 and s4 share the value: s1 down, s4 takes it (HAProxy 2.6.12).
    let v = req_with(&p, &["SRV=s1"], &ctx(), &[S1]);
    assert_eq!((v.server, v.flag), (Some(S4), ClientFlag::Valid));
}

#[test]
fn stopped_server_sets_down_and_the_request_is_load_balanced() {
    let p = insert_indirect();
    let v = req_with(&p, &["SRV=s1"], &ctx(), &[S1, S4]);
    assert_eq!((v.server, v.flag), (None, ClientFlag::Down));
    let v = req_with(&p, &["SRV=s2"], &ctx(), &[S2]);
    assert_eq!((v.server, v.flag), (None, ClientFlag::Down));
    assert_eq!(
        v.stopped,
        Some(S2),
        "the stopped server is named for the metrics"
    );
    // other servers being stopped does not matter
    let v = req_with(&p, &["SRV=s2"], &ctx(), &[S1, S3, S4]);
    assert_eq!((v.server, v.flag), (Some(S2), ClientFlag::Valid));
    assert_eq!(v.stopped, None);
}

#[test]
fn option_persist_honours_a_stopped_server_with_flag_down() {
    let p = insert_indirect();
    let c = RequestContext {
        option_persist: true,
        ..ctx()
    };
    let v = req_with(&p, &["SRV=s2"], &c, &[S2]);
    assert_eq!((v.server, v.flag), (Some(S2), ClientFlag::Down));
    // the first matching server is taken even if stopped
    let v = req_with(&p, &["SRV=s1"], &c, &[S1]);
    assert_eq!((v.server, v.flag), (Some(S1), ClientFlag::Down));
}

#[test]
fn force_persist_honours_a_stopped_server_with_flag_down() {
    let p = insert_indirect();
    let c = RequestContext {
        rule: PersistOverride::Force,
        ..ctx()
    };
    let v = req_with(&p, &["SRV=s2"], &c, &[S2]);
    assert_eq!((v.server, v.flag), (Some(S2), ClientFlag::Down));
    let v = req_with(&p, &["SRV=s2"], &c, &[]);
    assert_eq!((v.server, v.flag), (Some(S2), ClientFlag::Valid));
}

#[test]
fn ignore_persist_leaves_the_cookie_unused_but_still_removes_it() {
    let p = insert_indirect();
    let c = RequestContext {
        rule: PersistOverride::Ignore,
        ..ctx()
    };
    let v = req_with(&p, &["SRV=s2; a=1"], &c, &[]);
    assert_eq!((v.server, v.flag), (None, ClientFlag::Unused));
    assert_eq!(apply(&["SRV=s2; a=1"], &v.edits), ["a=1"]);
    // an invalid cookie is unused too
    assert_eq!(req_with(&p, &["SRV=zz"], &c, &[]).flag, ClientFlag::Unused);
}

#[test]
fn already_assigned_server_leaves_the_cookie_unused() {
    let p = insert_indirect();
    let c = RequestContext {
        assigned: Some(S2),
        ..ctx()
    };
    let v = req_with(&p, &["SRV=s1"], &c, &[]);
    assert_eq!((v.server, v.flag), (None, ClientFlag::Unused));
    assert_eq!(apply(&["SRV=s1"], &v.edits), Vec::<String>::new());
}

// ---------------------------------------------------------------- 1.3 parsing

#[test]
fn no_persistence_cookie_gives_flag_none() {
    let p = insert_indirect();
    for h in [
        &[][..],
        &["a=1; b=2"][..],
        &["srv=s2"],
        &["SRVx=s2; xSRV=s1"],
    ] {
        let v = req(&p, h);
        assert_eq!(
            v,
            RequestVerdict {
                server: None,
                flag: ClientFlag::None,
                last_date: 0,
                first_date: 0,
                edits: vec![],
                stopped: None,
            }
        );
    }
}

#[test]
fn cookie_name_match_is_case_sensitive_and_full_length() {
    let p = insert_indirect();
    assert_eq!(fwd(&p, &["srv=s2"]), ["srv=s2"]);
    assert_eq!(req(&p, &["SRVx=s2"]).flag, ClientFlag::None);
    assert_eq!(req(&p, &["xSRV=s2"]).flag, ClientFlag::None);
}

#[test]
fn every_cookie_header_is_scanned_and_kept_separate() {
    // Seen on HAProxy 2.6.12.
    let p = insert_indirect();
    let v = req(&p, &["a=1", "SRV=s2; b=2"]);
    assert_eq!(v.server, Some(S2));
    assert_eq!(apply(&["a=1", "SRV=s2; b=2"], &v.edits), ["a=1", "b=2"]);
    assert_eq!(
        v.edits,
        [HeaderEdit {
            index: 1,
            action: EditAction::Replace(b"b=2".to_vec())
        }]
    );
}

#[test]
fn comma_separates_cookies_like_semicolon() {
    let p = insert_indirect();
    let v = req(&p, &["a=1,SRV=s2"]);
    assert_eq!(v.server, Some(S2));
    assert_eq!(apply(&["a=1,SRV=s2"], &v.edits), ["a=1"]);
    assert_eq!(fwd(&p, &["SRV=s1,a=1"]), ["a=1"]);
}

#[test]
fn blanks_around_name_equal_and_value_are_skipped() {
    let p = insert_indirect();
    let h = "a=1;\tSRV\t=\ts2\t;b=2";
    let v = req(&p, &[h]);
    assert_eq!(v.server, Some(S2));
    assert_eq!(apply(&[h], &v.edits), ["a=1; b=2"]);
}

#[test]
fn spaces_around_equal_are_stripped_in_place_in_every_mode() {
    // HAProxy 2.6.12: `a = 1; b =2` forwarded as `a=1; b=2`
    let p = insert_indirect();
    assert_eq!(fwd(&p, &["a = 1; b =2"]), ["a=1; b=2"]);
    let p = policy(CookieMode::Passive, |_| {});
    let v = req(&p, &["a = 1; SRV = s2"]);
    assert_eq!(v.server, Some(S2));
    assert_eq!(apply(&["a = 1; SRV = s2"], &v.edits), ["a=1; SRV=s2"]);
    // `$` attributes are not touched
    assert_eq!(fwd(&p, &["$Path = /; a=1"]), ["$Path = /; a=1"]);
}

#[test]
fn quoted_values_may_hold_delimiters() {
    let p = insert_indirect();
    let h = r#"a="x;SRV=s2"; SRV=s1"#;
    let v = req(&p, &[h]);
    assert_eq!(v.server, Some(S1));
    assert_eq!(apply(&[h], &v.edits), [r#"a="x;SRV=s2""#]);
    let h = r#"a="x\";SRV=s2"; b=2"#;
    assert_eq!(req(&p, &[h]).flag, ClientFlag::None);
}

#[test]
fn quoted_server_value_does_not_match() {
    // HAProxy 2.6.12: `SRV="s1"` is invalid
    let p = insert_indirect();
    let v = req(&p, &[r#"SRV="s1""#]);
    assert_eq!((v.server, v.flag), (None, ClientFlag::Invalid));
}

#[test]
fn dollar_attributes_are_removed_with_the_cookie_before_them() {
    // Seen on HAProxy 2.6.12.
    let p = insert_indirect();
    let h = r#"$Version="1"; SRV=s2; $Path="/"; a=1"#;
    let v = req(&p, &[h]);
    assert_eq!(v.server, Some(S2));
    assert_eq!(apply(&[h], &v.edits), [r#"$Version="1"; a=1"#]);
    // after the last cookie they go with it, emptying the header (HAProxy 2.6.12)
    assert_eq!(fwd(&p, &["SRV=s2 ; $Path=/"]), Vec::<String>::new());
}

#[test]
fn cookie_without_equal_is_kept_and_never_ours() {
    // Seen on HAProxy 2.6.12.
    let p = insert_indirect();
    let v = req(&p, &["SRV; a=1"]);
    assert_eq!((v.server, v.flag), (None, ClientFlag::None));
    assert!(v.edits.is_empty());
    assert_eq!(fwd(&p, &["SRV=s1; SRV"]), ["SRV"]);
}

#[test]
fn empty_server_part_is_invalid() {
    let p = insert_indirect();
    for h in ["SRV=", "SRV=|AAAAB", "SRV= ; a=1"] {
        let v = req(&p, &[h]);
        assert_eq!((v.server, v.flag), (None, ClientFlag::Invalid), "{h}");
    }
    assert_eq!(fwd(&p, &["SRV= ; a=1"]), ["a=1"]);
}

#[test]
fn non_prefix_modes_split_the_server_part_at_the_first_bar() {
    let p = insert_indirect();
    assert_eq!(req(&p, &["SRV=s1|x"]).server, Some(S1));
    assert_eq!(req(&p, &["SRV=s1|"]).server, Some(S1));
    assert_eq!(req(&p, &["SRV=s1~abc"]).flag, ClientFlag::Invalid);
    assert_eq!(req(&rewrite(), &["SRV=s2|whatever"]).server, Some(S2));
}

// ---------------------------------------------------------------- 1.3 #6 insert + indirect

#[test]
fn insert_indirect_separator_table_row_by_row() {
    // The docs/haproxy-compatibility.md §3.4 table; each row also checked on HAProxy 2.6.12.
    let p = insert_indirect();
    let rows: &[(&str, &[&str], Option<usize>)] = &[
        ("a=1; SRV=s1; b=2", &["a=1; b=2"], Some(S1)),
        ("a=1;SRV=s2;b=2", &["a=1; b=2"], Some(S2)),
        ("a=1 ; SRV=s2 ; b=2", &["a=1; b=2"], Some(S2)),
        ("a=1;b=2;SRV=s2", &["a=1;b=2"], Some(S2)),
        ("SRV=s2; a=1; b=2", &["a=1; b=2"], Some(S2)),
        ("SRV=s2;a=1", &["a=1"], Some(S2)),
        ("a=1,SRV=s2", &["a=1"], Some(S2)),
        ("a=1; SRV=s2;", &["a=1; "], Some(S2)),
        ("x=1;  SRV = s2 ; y=2", &["x=1; y=2"], Some(S2)),
        ("SRV=s1; SRV=s2", &[], Some(S1)),
        ("SRV=s2; SRV=s1; a=1", &["a=1"], Some(S2)),
    ];
    for (h, forwarded, server) in rows {
        let v = req(&p, &[h]);
        assert_eq!(apply(&[h], &v.edits), *forwarded, "{h}");
        assert_eq!(v.server, *server, "{h}");
        assert_eq!(v.flag, ClientFlag::Valid, "{h}");
    }
}

#[test]
fn insert_indirect_removes_the_cookie_whatever_the_outcome() {
    let p = insert_indirect();
    let h = ["SRV=s2; a=1"];
    let down = req_with(&p, &h, &ctx(), &[S2]);
    let ignored = req_with(
        &p,
        &h,
        &RequestContext {
            rule: PersistOverride::Ignore,
            ..ctx()
        },
        &[],
    );
    let assigned = req_with(
        &p,
        &h,
        &RequestContext {
            assigned: Some(S1),
            ..ctx()
        },
        &[],
    );
    for (v, flag) in [
        (req(&p, &h), ClientFlag::Valid),
        (req(&p, &["SRV=zz; a=1"]), ClientFlag::Invalid),
        (req(&p, &["SRV=; a=1"]), ClientFlag::Invalid),
        (down, ClientFlag::Down),
        (ignored, ClientFlag::Unused),
        (assigned, ClientFlag::Unused),
    ] {
        assert_eq!(v.flag, flag);
        assert_eq!(apply(&h, &v.edits), ["a=1"], "{flag:?}");
    }
}

#[test]
fn header_left_empty_is_removed() {
    let p = insert_indirect();
    let v = req(&p, &["SRV=s1"]);
    assert_eq!(
        v.edits,
        [HeaderEdit {
            index: 0,
            action: EditAction::Remove
        }]
    );
}

#[test]
fn first_occurrence_yielding_a_server_wins_later_ones_are_still_deleted() {
    // Flags checked on HAProxy 2.6.12: a later occurrence never overrides a flag
    // already set (HAProxy's mask test covers every TX_CK value).
    let p = insert_indirect();
    let v = req(&p, &["SRV=s2; SRV=s1; a=1"]);
    assert_eq!((v.server, v.flag), (Some(S2), ClientFlag::Valid));
    let v = req(&p, &["SRV=bogus; SRV=s1"]);
    assert_eq!((v.server, v.flag), (Some(S1), ClientFlag::Valid));
    let v = req(&p, &["SRV=s1; SRV=bogus"]);
    assert_eq!((v.server, v.flag), (Some(S1), ClientFlag::Valid));
    let v = req(&p, &["SRV=bogus; SRV=zz"]);
    assert_eq!((v.server, v.flag), (None, ClientFlag::Invalid));
    let v = req(&p, &["SRV=s1", "SRV=s2"]);
    assert_eq!((v.server, v.flag), (Some(S1), ClientFlag::Valid));
    assert_eq!(apply(&["SRV=s1", "SRV=s2"], &v.edits), Vec::<String>::new());
}

#[test]
fn empty_items_and_repeated_separators_are_kept_as_haproxy_does() {
    // HAProxy 2.6.12
    let p = insert_indirect();
    assert_eq!(fwd(&p, &["a=1;;SRV=s2;;b=2"]), ["a=1;; ;b=2"]);
    assert_eq!(fwd(&p, &[";;;"]), [";;;"]);
    assert_eq!(fwd(&p, &[";SRV=s1;a=2"]), ["a=2"]);
}

#[test]
fn empty_cookie_header_is_left_alone() {
    let p = insert_indirect();
    let v = req(&p, &["", "   "]);
    assert!(v.edits.is_empty());
    assert_eq!(v.flag, ClientFlag::None);
}

#[test]
fn edited_header_is_trimmed_like_haproxys_parser() {
    let p = insert_indirect();
    assert_eq!(fwd(&p, &["  a=1; SRV=s2 \t"]), ["a=1"]);
    // untouched headers produce no edit at all
    assert!(req(&p, &["  a=1; b=2  "]).edits.is_empty());
}

// ---------------------------------------------------------------- 1.3 #6 prefix

#[test]
fn prefix_strips_the_server_part_even_for_an_unknown_server() {
    // Seen on HAProxy 2.6.12.
    let p = prefix_named("JSESSIONID");
    let v = req(&p, &["JSESSIONID=zz~abc"]);
    assert_eq!((v.server, v.flag), (None, ClientFlag::Invalid));
    assert_eq!(apply(&["JSESSIONID=zz~abc"], &v.edits), ["JSESSIONID=abc"]);
    let v = req(&p, &["JSESSIONID=s1~abc"]);
    assert_eq!((v.server, v.flag), (Some(S1), ClientFlag::Valid));
    assert_eq!(apply(&["JSESSIONID=s1~abc"], &v.edits), ["JSESSIONID=abc"]);
}

#[test]
fn prefix_value_without_tilde_routes_and_is_forwarded_unchanged() {
    // Seen on HAProxy 2.6.12: JSESSIONID=s1 goes to s1 and is forwarded as is
    let p = prefix_named("JSESSIONID");
    let v = req(&p, &["JSESSIONID=s1"]);
    assert_eq!((v.server, v.flag), (Some(S1), ClientFlag::Valid));
    assert!(v.edits.is_empty());
}

#[test]
fn prefix_splits_at_the_first_tilde_and_keeps_other_cookies() {
    let p = policy(CookieMode::Prefix, |_| {});
    let v = req(&p, &["SRV=s1~a~b"]);
    assert_eq!(v.server, Some(S1));
    assert_eq!(apply(&["SRV=s1~a~b"], &v.edits), ["SRV=a~b"]);
    assert_eq!(fwd(&p, &["a=1; SRV=s2~x; b=2"]), ["a=1; SRV=x; b=2"]);
    assert_eq!(fwd(&p, &["SRV=s2~"]), ["SRV="]);
    assert_eq!(fwd(&p, &["SRV = s1~abc"]), ["SRV=abc"]);
}

#[test]
fn prefix_with_empty_server_part_is_invalid_and_stripped() {
    let p = policy(CookieMode::Prefix, |_| {});
    let v = req(&p, &["SRV=~abc"]);
    assert_eq!((v.server, v.flag), (None, ClientFlag::Invalid));
    assert_eq!(apply(&["SRV=~abc"], &v.edits), ["SRV=abc"]);
}

#[test]
fn prefix_mode_reads_no_dates() {
    let p = policy(CookieMode::Prefix, |_| {});
    let v = req(&p, &["SRV=s2|AAAAB|AAAAC"]);
    assert_eq!((v.server, v.flag), (None, ClientFlag::Invalid));
    assert_eq!((v.last_date, v.first_date), (0, 0));
    assert!(v.edits.is_empty());
}

// ---------------------------------------------------------------- other modes

#[test]
fn insert_without_indirect_rewrite_and_passive_forward_the_cookie_unchanged() {
    // Seen on HAProxy 2.6.12.
    let h = ["a=1; SRV=s2; b=2"];
    for p in [
        policy(CookieMode::Insert, |_| {}),
        rewrite(),
        policy(CookieMode::Passive, |_| {}),
        policy(CookieMode::Passive, |s| s.indirect = true),
        policy(CookieMode::Prefix, |s| s.indirect = true),
    ] {
        let v = req(&p, &h);
        assert_eq!(v.server, Some(S2), "{:?}", p.spec());
        assert!(v.edits.is_empty(), "{:?}", p.spec());
    }
}

#[test]
fn passive_mode_routes_but_logs_dash_unless_indirect() {
    // docs/haproxy-compatibility.md §8: passive `----`; flags shown when ck_opts has any of
    // rewrite/insert/prefix/indirect.
    let p = policy(CookieMode::Passive, |_| {});
    let v = req(&p, &["SRV=s2"]);
    assert_eq!((v.server, v.flag), (Some(S2), ClientFlag::NotConfigured));
    assert_eq!(req(&p, &[]).flag, ClientFlag::NotConfigured);
    let p = policy(CookieMode::Passive, |s| s.indirect = true);
    assert_eq!(req(&p, &["SRV=s2"]).flag, ClientFlag::Valid);
}

#[test]
fn client_flag_in_every_outcome() {
    let p = policy(CookieMode::Insert, |s| {
        s.indirect = true;
        s.maxidle = 1800;
        s.maxlife = 28800;
    });
    let at = |secs_ago: u32| String::from_utf8(encode_date(NOW - secs_ago).to_vec()).unwrap();
    let cases: Vec<(String, &[usize], ClientFlag)> = vec![
        ("a=1".into(), &[], ClientFlag::None),
        ("SRV=zz".into(), &[], ClientFlag::Invalid),
        ("SRV=s2".into(), &[S2], ClientFlag::Down),
        ("SRV=s2".into(), &[], ClientFlag::Valid),
        (format!("SRV=s2|{}", at(1900)), &[], ClientFlag::Expired),
        (
            format!("SRV=s2|{}|{}", at(10), at(30000)),
            &[],
            ClientFlag::Old,
        ),
    ];
    for (h, stopped, flag) in cases {
        assert_eq!(req_with(&p, &[&h], &ctx(), stopped).flag, flag, "{h}");
    }
    let ignored = RequestContext {
        rule: PersistOverride::Ignore,
        ..ctx()
    };
    assert_eq!(
        req_with(&p, &["SRV=s2"], &ignored, &[]).flag,
        ClientFlag::Unused
    );
}
