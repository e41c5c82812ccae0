//! `request_cookie_ids()`.

use super::*;

fn ids<'a>(spec: &IdSpec, headers: &[&'a [u8]]) -> Vec<&'a [u8]> {
    request_cookie_ids(spec, headers).collect()
}

fn strs<'a>(ids: &[&'a [u8]]) -> Vec<&'a str> {
    ids.iter()
        .map(|id| std::str::from_utf8(id).unwrap_or("<non-utf8>"))
        .collect()
}

#[test]
fn exact_name_gives_the_value() {
    let got = ids(&jsessionid(), &[b"JSESSIONID=ABC123"]);
    assert_eq!(strs(&got), ["ABC123"]);
}

#[test]
fn exact_name_is_case_sensitive() {
    let got = ids(
        &jsessionid(),
        &[b"jsessionid=ABC; JSESSIONIDX=DEF; XJSESSIONID=G"],
    );
    assert!(got.is_empty());
}

#[test]
fn prefix_gives_rest_of_name_and_value_doc_example() {
    let got = ids(&aspsessionid(), &[b"ASPSESSIONIDXXXX=XXXXX"]);
    assert_eq!(strs(&got), ["XXXX=XXXXX"]);
}

#[test]
fn prefix_equal_to_whole_name_gives_equal_and_value() {
    // HAProxy: value_begin = att_beg + name_len, i.e. the `=`.
    let got = ids(&aspsessionid(), &[b"ASPSESSIONID=abc; aspsessionidX=no"]);
    assert_eq!(strs(&got), ["=abc"]);
}

#[test]
fn any_gives_every_cookie_as_name_value() {
    let got = ids(&any_cookie(), &[b"a=1; JSESSIONID=X; b=\"q\""]);
    assert_eq!(strs(&got), ["a=1", "JSESSIONID=X", "b=\"q\""]);
}

#[test]
fn every_cookie_header_in_order() {
    let got = ids(
        &jsessionid(),
        &[b"a=1; JSESSIONID=X", b"b=2", b"JSESSIONID=Y; JSESSIONID=Z"],
    );
    assert_eq!(strs(&got), ["X", "Y", "Z"]);
}

#[test]
fn semicolon_and_comma_both_separate_cookies() {
    let got = ids(
        &jsessionid(),
        &[b"a=1,JSESSIONID=X;JSESSIONID=Y , JSESSIONID=W"],
    );
    assert_eq!(strs(&got), ["X", "Y", "W"]);
}

#[test]
fn value_ends_at_unquoted_comma() {
    let got = ids(&jsessionid(), &[b"JSESSIONID=a,b"]);
    assert_eq!(strs(&got), ["a"]);
}

#[test]
fn spaces_around_equal_are_ignored_for_exact_name() {
    let got = ids(&jsessionid(), &[b"\t JSESSIONID  =  X Y  ; b=2"]);
    assert_eq!(strs(&got), ["X Y"]);
}

#[test]
fn spaced_name_value_is_skipped_for_prefix_and_any() {
    // HAProxy strips the blanks in place; a borrowed id cannot, so the item is skipped.
    let got = ids(
        &aspsessionid(),
        &[b"ASPSESSIONIDXX =YY; ASPSESSIONIDZZ= W; ASPSESSIONIDQ=R"],
    );
    assert_eq!(strs(&got), ["Q=R"]);
    let got = ids(&any_cookie(), &[b"a = 1; b =2; c= 3;  d=4  "]);
    assert_eq!(strs(&got), ["d=4"]);
}

#[test]
fn quoted_values_keep_their_quotes_and_hide_separators() {
    let got = ids(&jsessionid(), &[b"JSESSIONID=\"a;b,c\"; x=1"]);
    assert_eq!(strs(&got), ["\"a;b,c\""]);
    let got = ids(&jsessionid(), &[b"JSESSIONID=\"a\\\";b\";JSESSIONID=Z"]);
    assert_eq!(strs(&got), ["\"a\\\";b\"", "Z"]);
}

#[test]
fn dollar_attributes_are_skipped() {
    let got = ids(
        &jsessionid(),
        &[b"$Version=1; JSESSIONID=X; $Path=/; $JSESSIONID=no"],
    );
    assert_eq!(strs(&got), ["X"]);
    let got = ids(&any_cookie(), &[b"$Version=\"1\"; a=1; $Path=\"/\""]);
    assert_eq!(strs(&got), ["a=1"]);
}

#[test]
fn items_without_equal_are_skipped() {
    let got = ids(&jsessionid(), &[b"JSESSIONID; JSESSIONID=X; flag"]);
    assert_eq!(strs(&got), ["X"]);
    let got = ids(&any_cookie(), &[b"flag; a=1;;, ;b"]);
    assert_eq!(strs(&got), ["a=1"]);
}

#[test]
fn empty_values_are_never_candidates() {
    let got = ids(
        &jsessionid(),
        &[b"JSESSIONID=; JSESSIONID=\t; JSESSIONID=X"],
    );
    assert_eq!(strs(&got), ["X"]);
    assert!(ids(&aspsessionid(), &[b"ASPSESSIONIDXX="]).is_empty());
    assert!(ids(&any_cookie(), &[b"a=; b= "]).is_empty());
}

#[test]
fn ids_are_truncated_to_len() {
    let got = ids(&with_len(jsessionid(), 3), &[b"JSESSIONID=ABCDEF"]);
    assert_eq!(strs(&got), ["ABC"]);
    let got = ids(&with_len(any_cookie(), 3), &[b"abcdef=1"]);
    assert_eq!(strs(&got), ["abc"]);
}

#[test]
fn ids_with_control_bytes_are_skipped() {
    let got = ids(
        &jsessionid(),
        &[b"JSESSIONID=A\x01B; JSESSIONID=A\x7fB; JSESSIONID=C"],
    );
    assert_eq!(strs(&got), ["C"]);
}

#[test]
fn oversized_ids_are_skipped() {
    let mut header = b"JSESSIONID=".to_vec();
    header.extend(std::iter::repeat_n(b'a', 4097));
    header.extend_from_slice(b"; JSESSIONID=ok");
    let got = ids(&jsessionid(), &[&header]);
    assert_eq!(strs(&got), ["ok"]);
}

#[test]
fn at_most_16_candidates() {
    let header: Vec<u8> = (0..20)
        .map(|i| format!("JSESSIONID=v{i}"))
        .collect::<Vec<_>>()
        .join("; ")
        .into_bytes();
    let got = ids(&jsessionid(), &[&header]);
    let want: Vec<String> = (0..16).map(|i| format!("v{i}")).collect();
    assert_eq!(strs(&got), want);
    assert_eq!(MAX_COOKIE_IDS, 16);
}

#[test]
fn the_16_candidate_bound_spans_headers() {
    let one: &[u8] = b"a=1; b=2; c=3; d=4; e=5";
    let got = ids(&any_cookie(), &[one, one, one, one]);
    assert_eq!(got.len(), 16);
    assert_eq!(strs(&got[15..]), ["a=1"]);
}

#[test]
fn rejected_cookies_do_not_use_the_bound() {
    let mut header = "JSESSIONID=; ".repeat(30);
    header.push_str("JSESSIONID=last");
    let got = ids(&jsessionid(), &[header.as_bytes()]);
    assert_eq!(strs(&got), ["last"]);
}

#[test]
fn empty_and_blank_headers_give_nothing() {
    assert!(ids(&jsessionid(), &[]).is_empty());
    assert!(ids(&any_cookie(), &[b"", b"   ", b";;;", b",=,"]).is_empty());
}

#[test]
fn empty_name_matches_only_with_any() {
    let got = ids(&any_cookie(), &[b"=v"]);
    assert_eq!(strs(&got), ["=v"]);
    assert!(ids(&jsessionid(), &[b"=v"]).is_empty());
}

#[test]
fn non_cookie_sources_give_nothing() {
    for source in [
        IdSource::Src,
        IdSource::Header("X-Id".into()),
        IdSource::UrlParam("JSESSIONID".into()),
    ] {
        let spec = IdSpec {
            source,
            len: 52,
            url_mode: UrlMode::PathParameters,
        };
        assert!(ids(&spec, &[b"JSESSIONID=X"]).is_empty());
    }
}

#[test]
fn iterator_stays_exhausted() {
    let spec = jsessionid();
    let headers: [&[u8]; 1] = [b"JSESSIONID=X"];
    let mut it = request_cookie_ids(&spec, &headers);
    assert_eq!(it.next(), Some(&b"X"[..]));
    assert_eq!(it.next(), None);
    assert_eq!(it.next(), None);
}
