//! `url_id()`.

use super::*;

fn query_string(mut spec: IdSpec) -> IdSpec {
    spec.url_mode = UrlMode::QueryString;
    spec
}

fn url<'a>(spec: &IdSpec, target: &'a str) -> Option<&'a str> {
    url_id(spec, target.as_bytes()).map(|id| std::str::from_utf8(id).unwrap_or("<non-utf8>"))
}

#[test]
fn path_parameter_doc_example() {
    assert_eq!(
        url(&jsessionid(), "/app;jsessionid=ABC123?x=1"),
        Some("ABC123")
    );
}

#[test]
fn name_is_case_insensitive() {
    assert_eq!(url(&jsessionid(), "/app;JsEsSiOnId=X"), Some("X"));
    assert_eq!(url(&jsessionid(), "/app;JSESSIONID=X"), Some("X"));
}

#[test]
fn last_occurrence_wins() {
    assert_eq!(
        url(&jsessionid(), "/a;jsessionid=A;x=1;jsessionid=B"),
        Some("B")
    );
    let qs = query_string(jsessionid());
    assert_eq!(url(&qs, "/a?jsessionid=A&jsessionid=B&x=1"), Some("B"));
}

#[test]
fn last_occurrence_wins_even_when_empty() {
    // HAProxy breaks out of the scan on the match, then skips the empty value.
    assert_eq!(url(&jsessionid(), "/a;jsessionid=A;jsessionid="), None);
}

#[test]
fn a_later_parameter_without_equal_does_not_hide_an_earlier_match() {
    assert_eq!(
        url(&jsessionid(), "/a;jsessionid=A;jsessionidX;jsessionid"),
        Some("A")
    );
}

#[test]
fn exact_name_needs_equal_right_after_it() {
    assert_eq!(url(&jsessionid(), "/a;jsessionidX=Y"), None);
    assert_eq!(url(&jsessionid(), "/a;xjsessionid=Y"), None);
    assert_eq!(url(&jsessionid(), "/a;jsessionid =Y"), None);
}

#[test]
fn query_string_mode_reads_ampersand_parameters_after_question_mark() {
    let qs = query_string(jsessionid());
    assert_eq!(url(&qs, "/app?x=1&jsessionid=ABC&y=2"), Some("ABC"));
    assert_eq!(url(&qs, "/app?JSESSIONID=ABC"), Some("ABC"));
    // `;` is not a separator in query-string mode: the value runs to the `&`.
    assert_eq!(url(&qs, "/app?jsessionid=A;b&y=2"), Some("A;b"));
    // Path parameters are not searched in query-string mode.
    assert_eq!(url(&qs, "/app;jsessionid=ABC"), None);
    assert_eq!(url(&qs, "/app;jsessionid=ABC?x=1"), None);
}

#[test]
fn path_parameters_end_at_the_question_mark() {
    assert_eq!(url(&jsessionid(), "/app;a=1?x=1;jsessionid=ABC"), None);
    assert_eq!(url(&jsessionid(), "/app;a=1?jsessionid=ABC"), None);
    assert_eq!(url(&jsessionid(), "/app?jsessionid=ABC"), None);
    assert_eq!(
        url(
            &jsessionid(),
            "/app;jsessionid=ABC?jsessionid=Q;jsessionid=R"
        ),
        Some("ABC")
    );
}

#[test]
fn path_parameters_start_at_the_first_semicolon_even_after_question_mark() {
    // HAProxy 1.5 looks for the first `;` anywhere, then for a `?` after it.
    assert_eq!(url(&jsessionid(), "/app?x=1;jsessionid=ABC"), Some("ABC"));
}

#[test]
fn path_parameter_value_runs_to_the_next_semicolon_or_question_mark() {
    assert_eq!(url(&jsessionid(), "/a;jsessionid=abc/def"), Some("abc/def"));
    assert_eq!(
        url(&jsessionid(), "/a;jsessionid=abc&x=1;y=2"),
        Some("abc&x=1")
    );
}

#[test]
fn percent_encoding_is_not_decoded() {
    assert_eq!(url(&jsessionid(), "/a;jsessionid%3DX"), None);
    assert_eq!(url(&jsessionid(), "/a;%6Asessionid=X"), None);
    assert_eq!(url(&jsessionid(), "/a;jsessionid=A%20B"), Some("A%20B"));
    assert_eq!(url(&jsessionid(), "/a%3Bjsessionid=X"), None);
}

#[test]
fn prefix_takes_the_rest_after_the_name() {
    assert_eq!(url(&aspsessionid(), "/a;aspsessionidXX=YY"), Some("XX=YY"));
    assert_eq!(url(&aspsessionid(), "/a;ASPSESSIONID=YY"), Some("=YY"));
    assert_eq!(url(&aspsessionid(), "/a;ASPSESSIONIDXX"), Some("XX"));
    // The parameter must be longer than the name.
    assert_eq!(url(&aspsessionid(), "/a;ASPSESSIONID"), None);
}

#[test]
fn ids_are_truncated_and_cleaned() {
    assert_eq!(
        url(&with_len(jsessionid(), 3), "/a;jsessionid=ABCDEF"),
        Some("ABC")
    );
    assert_eq!(url(&jsessionid(), "/a;jsessionid=A\x01B"), None);
}

#[test]
fn no_parameters_no_id() {
    assert_eq!(url(&jsessionid(), "/app"), None);
    assert_eq!(url(&jsessionid(), ""), None);
    assert_eq!(url(&jsessionid(), ";"), None);
    assert_eq!(url(&query_string(jsessionid()), "/app?"), None);
}

#[test]
fn any_and_non_cookie_sources_have_no_url_id() {
    let target = "/a;jsessionid=X;*=Y?jsessionid=Z";
    assert_eq!(url(&any_cookie(), target), None);
    for source in [
        IdSource::Src,
        IdSource::Header("jsessionid".into()),
        IdSource::UrlParam("jsessionid".into()),
    ] {
        let spec = IdSpec {
            source,
            len: 52,
            url_mode: UrlMode::PathParameters,
        };
        assert_eq!(url(&spec, target), None);
        assert_eq!(url(&query_string(spec), target), None);
    }
}
