//! The rules of `CookieSpec::problems` as `CookiePolicy::new` reports them, and
//! precomputation. (The configuration reports the same problems at their line and column:
//! `config::tests::cross`.)

use super::*;

fn err(f: impl FnOnce(&mut CookieSpec), mode: CookieMode) -> String {
    let mut spec = CookieSpec::new("SRV", mode);
    f(&mut spec);
    CookiePolicy::new(spec, servers()).unwrap_err()
}

#[test]
fn rewrite_with_indirect_is_an_error_naming_indirect() {
    let e = err(|s| s.indirect = true, CookieMode::Rewrite);
    assert!(
        e.starts_with("cookie.indirect: indirect cannot be used with mode: rewrite"),
        "{e}"
    );
}

#[test]
fn preserve_requires_insert_or_indirect() {
    for mode in [CookieMode::Prefix, CookieMode::Rewrite, CookieMode::Passive] {
        let e = err(|s| s.preserve = true, mode);
        assert!(
            e.starts_with("cookie.preserve: preserve requires mode: insert or indirect: true"),
            "{e}"
        );
    }
    for (mode, indirect) in [
        (CookieMode::Insert, false),
        (CookieMode::Prefix, true),
        (CookieMode::Passive, true),
    ] {
        let mut spec = CookieSpec::new("SRV", mode);
        (spec.preserve, spec.indirect) = (true, indirect);
        assert!(CookiePolicy::new(spec, servers()).is_ok(), "{mode:?}");
    }
}

#[test]
fn maxidle_and_maxlife_are_insert_only() {
    for mode in [CookieMode::Prefix, CookieMode::Rewrite, CookieMode::Passive] {
        assert!(err(|s| s.maxidle = 1, mode).starts_with("cookie.maxidle: maxidle only works"));
        assert!(err(|s| s.maxlife = 1, mode).starts_with("cookie.maxlife: maxlife only works"));
    }
}

#[test]
fn domain_allows_only_alnum_dot_underscore_dash() {
    let e = err(
        |s| s.domains = vec!["exa mple.com".into()],
        CookieMode::Insert,
    );
    assert_eq!(
        e,
        "cookie.domain[0]: character ' ' is not permitted in domain name \"exa mple.com\"; expected letters, digits, '.', '_' and '-'"
    );
    assert!(err(
        |s| s.domains = vec!["a.com".into(), "a;b.com".into()],
        CookieMode::Insert
    )
    .starts_with("cookie.domain[1]: character ';'"));
    assert_eq!(
        err(|s| s.domains = vec![String::new()], CookieMode::Insert),
        "cookie.domain[0]: expected a domain, got an empty string"
    );
    let mut spec = CookieSpec::new("SRV", CookieMode::Insert);
    spec.domains = vec![".Ex-am_ple.com9".into()];
    assert!(CookiePolicy::new(spec, servers())
        .unwrap()
        .warnings()
        .is_empty());
}

#[test]
fn domain_without_embedded_dot_is_a_warning() {
    let mut spec = CookieSpec::new("SRV", CookieMode::Insert);
    spec.domains = vec!["localhost".into()];
    let p = CookiePolicy::new(spec, servers()).unwrap();
    assert_eq!(
        p.warnings(),
        [
            "cookie.domain[0]: domain \"localhost\" contains no embedded dot, this \
             configuration may not work properly (see RFC6265#5.2.3)"
        ]
    );
}

#[test]
fn attr_forbids_semicolon_and_control_characters() {
    for (attr, shown) in [("a;b", "';'"), ("a\tb", "'\\t'"), ("\u{7f}", "'\\u{7f}'")] {
        let e = err(|s| s.attrs = vec![attr.into()], CookieMode::Insert);
        assert!(
            e.starts_with(&format!(
                "cookie.attr[0]: character {shown} is not permitted"
            )),
            "{e}"
        );
    }
    assert_eq!(
        err(|s| s.attrs = vec![String::new()], CookieMode::Insert),
        "cookie.attr[0]: expected an attribute, got an empty string"
    );
}

#[test]
fn cookie_name_must_be_a_token() {
    assert_eq!(
        CookiePolicy::new(CookieSpec::new("", CookieMode::Insert), servers()).unwrap_err(),
        "cookie.name: expected a cookie name, got an empty string"
    );
    for bad in ["S RV", "S=RV", "S;RV", "S,RV", "S\nRV", "S\"RV", "S\\RV"] {
        let e = CookiePolicy::new(CookieSpec::new(bad, CookieMode::Insert), servers()).unwrap_err();
        assert!(e.starts_with("cookie.name: character"), "{e}");
    }
}

#[test]
fn server_cookie_values_must_be_non_empty_header_bytes() {
    let spec = CookieSpec::new("SRV", CookieMode::Insert);
    assert_eq!(
        CookiePolicy::new(spec.clone(), vec![Some(vec![])]).unwrap_err(),
        "servers[0].cookie: expected a cookie value, got an empty string"
    );
    assert!(CookiePolicy::new(spec, vec![None, Some(b"a\rb".to_vec())])
        .unwrap_err()
        .starts_with("servers[1].cookie: character '\\r' is not permitted in a cookie value"));
}

#[test]
fn accessors_report_the_configuration() {
    let p = insert_indirect();
    assert_eq!(p.spec().name, "SRV");
    assert_eq!(p.server_count(), 4);
    assert_eq!(p.server_cookie(S1), Some(&b"s1"[..]));
    assert_eq!(p.server_cookie(S3), None);
    assert_eq!(p.server_cookie(42), None);
}

#[test]
fn servers_sharing_a_value_are_looked_up_in_declaration_order() {
    let spec = CookieSpec::new("SRV", CookieMode::Insert);
    let cookies = vec![
        Some(b"b".to_vec()),
        Some(b"a".to_vec()),
        Some(b"b".to_vec()),
        None,
        Some(b"ab".to_vec()),
        Some(b"b".to_vec()),
    ];
    let p = CookiePolicy::new(spec, cookies).unwrap();
    assert_eq!(p.servers_with_value(b"b").collect::<Vec<_>>(), [0, 2, 5]);
    assert_eq!(p.servers_with_value(b"a").collect::<Vec<_>>(), [1]);
    assert_eq!(p.servers_with_value(b"ab").collect::<Vec<_>>(), [4]);
    assert_eq!(p.servers_with_value(b"").count(), 0);
    assert_eq!(p.servers_with_value(b"c").count(), 0);
}

#[test]
fn dynamic_cookies_feed_the_policy_like_explicit_ones() {
    // Seen on HAProxy 2.6.12: explicit `cookie static3` kept, the others dynamic
    let addr = |port| std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let cookies = vec![
        Some(dynamic_cookie(b"mysecret", addr(19101)).into_bytes()),
        Some(dynamic_cookie(b"mysecret", addr(19102)).into_bytes()),
        Some(b"static3".to_vec()),
    ];
    let p = CookiePolicy::new(CookieSpec::new("SRV", CookieMode::Insert), cookies).unwrap();
    let v = req(&p, &["SRV=71b5e08b6e82eb13"]);
    assert_eq!(v.server, Some(1));
    let s = resp(&p, &[], &rctx(Some(0)));
    assert_eq!(inserted(&s), Some("SRV=4cb10c58513135c9; path=/"));
    let s = resp(&p, &[], &rctx(Some(2)));
    assert_eq!(inserted(&s), Some("SRV=static3; path=/"));
}
