//! `header_id()` and `url_param_id()`.

use super::*;

fn header_spec(len: usize) -> IdSpec {
    IdSpec {
        source: IdSource::Header("X-Session".into()),
        len,
        url_mode: UrlMode::PathParameters,
    }
}

fn param_spec(len: usize) -> IdSpec {
    IdSpec {
        source: IdSource::UrlParam("sid".into()),
        len,
        url_mode: UrlMode::PathParameters,
    }
}

fn param(target: &str) -> Option<&str> {
    url_param_id(&param_spec(52), target.as_bytes())
        .map(|id| std::str::from_utf8(id).unwrap_or("<non-utf8>"))
}

#[test]
fn header_first_occurrence_trimmed() {
    let got = header_id(&header_spec(52), &[b" \t abc def \t", b"second"]);
    assert_eq!(got, Some(&b"abc def"[..]));
}

#[test]
fn header_value_is_not_split_on_commas() {
    assert_eq!(header_id(&header_spec(52), &[b"a, b"]), Some(&b"a, b"[..]));
}

#[test]
fn header_only_the_first_occurrence_counts() {
    assert_eq!(header_id(&header_spec(52), &[b"  ", b"second"]), None);
    assert_eq!(header_id(&header_spec(52), &[b"a\x01", b"second"]), None);
    assert_eq!(header_id(&header_spec(52), &[]), None);
}

#[test]
fn header_truncated_to_len() {
    assert_eq!(header_id(&header_spec(2), &[b"abc"]), Some(&b"ab"[..]));
}

#[test]
fn header_id_only_for_header_source() {
    assert_eq!(header_id(&jsessionid(), &[b"abc"]), None);
    assert_eq!(header_id(&param_spec(52), &[b"abc"]), None);
}

#[test]
fn url_param_first_occurrence() {
    assert_eq!(param("/p?a=1&sid=XYZ&sid=Q"), Some("XYZ"));
    assert_eq!(param("/p?sid=XYZ"), Some("XYZ"));
}

#[test]
fn url_param_name_is_case_sensitive_and_exact() {
    assert_eq!(param("/p?SID=X"), None);
    assert_eq!(param("/p?sidx=1&xsid=2&sid"), None);
    assert_eq!(param("/p?sid =1"), None);
}

#[test]
fn url_param_first_occurrence_empty_gives_none() {
    assert_eq!(param("/p?sid=&sid=Y"), None);
    assert_eq!(param("/p?sid=#x"), None);
}

#[test]
fn url_param_value_ends_at_ampersand_or_fragment() {
    assert_eq!(param("/p?sid=X&y=1"), Some("X"));
    assert_eq!(param("/p?sid=X#frag"), Some("X"));
    assert_eq!(param("/p?a=1#sid=X"), None);
}

#[test]
fn url_param_only_in_the_query_string() {
    assert_eq!(param("/p;sid=X"), None);
    assert_eq!(param("/sid=X"), None);
    assert_eq!(param("/p?a=1;sid=X"), None);
    // Everything after the first `?` is the query string; a later `?` is an ordinary byte.
    assert_eq!(param("/p?a=1?sid=X&sid=Y"), Some("Y"));
    assert_eq!(param("/p?sid=a?b"), Some("a?b"));
}

#[test]
fn url_param_is_not_percent_decoded() {
    assert_eq!(param("/p?sid=a%20b"), Some("a%20b"));
    assert_eq!(param("/p?s%69d=X"), None);
}

#[test]
fn url_param_truncated_and_cleaned() {
    assert_eq!(
        url_param_id(&param_spec(2), b"/p?sid=abc"),
        Some(&b"ab"[..])
    );
    assert_eq!(param("/p?sid=a\x7fb"), None);
}

#[test]
fn url_param_id_only_for_url_param_source() {
    assert_eq!(url_param_id(&jsessionid(), b"/p?JSESSIONID=X"), None);
    assert_eq!(url_param_id(&header_spec(52), b"/p?X-Session=X"), None);
}
