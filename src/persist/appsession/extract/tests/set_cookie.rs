//! `set_cookie_id()`.

use super::*;
use SetCookieId::{Deleted, Set};

/// 2023-11-14 22:13:20 UTC.
const NOW: u64 = 1_700_000_000;
const PAST: &str = "Thu, 01 Jan 1970 00:00:01 GMT";
const FUTURE: &str = "Fri, 01 Jan 2100 00:00:00 GMT";

fn id<'a>(spec: &IdSpec, line: &'a str) -> SetCookieId<'a> {
    set_cookie_id(spec, line.as_bytes(), NOW)
}

#[test]
fn exact_name_sets_the_value() {
    assert_eq!(id(&jsessionid(), "JSESSIONID=ABC; Path=/"), Set(b"ABC"));
    assert_eq!(id(&jsessionid(), "JSESSIONID=ABC"), Set(b"ABC"));
}

#[test]
fn other_cookies_and_other_case_say_nothing() {
    assert_eq!(id(&jsessionid(), "OTHER=1; Path=/"), SetCookieId::None);
    assert_eq!(id(&jsessionid(), "jsessionid=1"), SetCookieId::None);
    assert_eq!(id(&jsessionid(), "JSESSIONID"), SetCookieId::None);
    assert_eq!(id(&jsessionid(), ""), SetCookieId::None);
}

#[test]
fn only_the_first_cookie_of_the_line_counts() {
    assert_eq!(
        id(&jsessionid(), "OTHER=1, JSESSIONID=ABC"),
        SetCookieId::None
    );
    assert_eq!(
        id(&jsessionid(), "OTHER=1; JSESSIONID=ABC"),
        SetCookieId::None
    );
    assert_eq!(id(&jsessionid(), "flag; JSESSIONID=ABC"), SetCookieId::None);
    assert_eq!(id(&jsessionid(), "JSESSIONID=ABC, OTHER=1"), Set(b"ABC"));
    assert_eq!(id(&any_cookie(), "a=1, b=2; Path=/"), Set(b"a=1"));
}

#[test]
fn value_ends_at_unquoted_comma_or_semicolon() {
    assert_eq!(id(&jsessionid(), "JSESSIONID=a,b; Path=/"), Set(b"a"));
    assert_eq!(
        id(&jsessionid(), "JSESSIONID=\"a;Max-Age=0\"; Path=/"),
        Set(b"\"a;Max-Age=0\"")
    );
}

#[test]
fn prefix_sets_rest_of_name_and_value_doc_example() {
    assert_eq!(
        id(&aspsessionid(), "ASPSESSIONIDXXXX=XXXXX; path=/"),
        Set(b"XXXX=XXXXX")
    );
    assert_eq!(id(&aspsessionid(), "ASPSESSIONXX=1"), SetCookieId::None);
}

#[test]
fn any_sets_name_value() {
    assert_eq!(
        id(&any_cookie(), "sid=42; Path=/; HttpOnly"),
        Set(b"sid=42")
    );
}

#[test]
fn spaces_around_equal_exact_is_fine_prefix_and_any_say_nothing() {
    assert_eq!(id(&jsessionid(), " JSESSIONID = ABC ; Path=/"), Set(b"ABC"));
    assert_eq!(
        id(&aspsessionid(), "ASPSESSIONIDXX = YY"),
        SetCookieId::None
    );
    assert_eq!(id(&any_cookie(), "a =1"), SetCookieId::None);
    assert_eq!(id(&any_cookie(), "a= 1"), SetCookieId::None);
}

#[test]
fn dollar_names_say_nothing() {
    assert_eq!(id(&any_cookie(), "$Version=1; a=1"), SetCookieId::None);
}

#[test]
fn ids_are_truncated_and_cleaned() {
    assert_eq!(
        id(&with_len(jsessionid(), 3), "JSESSIONID=ABCDEF"),
        Set(b"ABC")
    );
    assert_eq!(id(&jsessionid(), "JSESSIONID=A\x01B"), SetCookieId::None);
    let long = format!("JSESSIONID={}", "a".repeat(4097));
    assert_eq!(id(&jsessionid(), &long), SetCookieId::None);
}

#[test]
fn empty_value_deletes() {
    assert_eq!(id(&jsessionid(), "JSESSIONID=; Path=/"), Deleted(b""));
    assert_eq!(id(&jsessionid(), "JSESSIONID="), Deleted(b""));
    assert_eq!(
        id(&aspsessionid(), "ASPSESSIONIDXX=; path=/"),
        Deleted(b"XX=")
    );
    assert_eq!(id(&any_cookie(), "x=; Path=/"), Deleted(b"x="));
}

#[test]
fn max_age_zero_deletes() {
    assert_eq!(
        id(&jsessionid(), "JSESSIONID=deleted; Max-Age=0"),
        Deleted(b"")
    );
    assert_eq!(id(&jsessionid(), "JSESSIONID=x; Max-Age=000"), Deleted(b""));
}

#[test]
fn max_age_negative_deletes() {
    assert_eq!(id(&jsessionid(), "JSESSIONID=x; Max-Age=-1"), Deleted(b""));
    assert_eq!(id(&jsessionid(), "JSESSIONID=x; Max-Age=-0"), Deleted(b""));
    assert_eq!(
        id(
            &jsessionid(),
            "JSESSIONID=x; Max-Age=-99999999999999999999999"
        ),
        Deleted(b"")
    );
}

#[test]
fn max_age_positive_keeps() {
    assert_eq!(id(&jsessionid(), "JSESSIONID=x; Max-Age=1"), Set(b"x"));
    assert_eq!(
        id(
            &jsessionid(),
            "JSESSIONID=x; Max-Age=99999999999999999999999"
        ),
        Set(b"x")
    );
}

#[test]
fn invalid_max_age_is_ignored() {
    for bad in ["abc", "+0", "", "-", "0x0", "1 0", "\"0\"", "0s"] {
        let line = format!("JSESSIONID=x; Max-Age={bad}");
        assert_eq!(id(&jsessionid(), &line), Set(b"x"), "{line}");
    }
    assert_eq!(id(&jsessionid(), "JSESSIONID=x; Max-Age"), Set(b"x"));
}

#[test]
fn attribute_names_are_case_insensitive_and_trimmed() {
    assert_eq!(id(&jsessionid(), "JSESSIONID=x; max-age=0"), Deleted(b""));
    assert_eq!(id(&jsessionid(), "JSESSIONID=x;MAX-AGE = 0 "), Deleted(b""));
    let line = format!("JSESSIONID=x; expires={PAST}");
    assert_eq!(id(&jsessionid(), &line), Deleted(b""));
    let line = format!("JSESSIONID=x;  EXPIRES = {PAST} ; Path=/");
    assert_eq!(id(&jsessionid(), &line), Deleted(b""));
}

#[test]
fn expires_in_the_past_deletes() {
    let line = format!("JSESSIONID=x; Path=/; Expires={PAST}");
    assert_eq!(id(&jsessionid(), &line), Deleted(b""));
    let line = "JSESSIONID=x; Expires=Tue, 14 Nov 2023 22:13:19 GMT";
    assert_eq!(id(&jsessionid(), line), Deleted(b""));
}

#[test]
fn expires_now_or_in_the_future_keeps() {
    let line = "JSESSIONID=x; Expires=Tue, 14 Nov 2023 22:13:20 GMT";
    assert_eq!(id(&jsessionid(), line), Set(b"x"));
    let line = format!("JSESSIONID=x; Expires={FUTURE}");
    assert_eq!(id(&jsessionid(), &line), Set(b"x"));
}

#[test]
fn expires_in_rfc850_asctime_and_netscape_forms() {
    for date in [
        "Tuesday, 14-Nov-23 22:13:19 GMT",
        "Tue Nov 14 22:13:19 2023",
        "Tue, 14-Nov-2023 22:13:19 GMT",
        "Thu, 01-Jan-1970 00:00:01 GMT",
    ] {
        let line = format!("JSESSIONID=x; Expires={date}");
        assert_eq!(id(&jsessionid(), &line), Deleted(b""), "{date}");
    }
    let line = "JSESSIONID=x; Expires=Fri, 01-Jan-2100 00:00:00 GMT";
    assert_eq!(id(&jsessionid(), line), Set(b"x"));
}

#[test]
fn unparseable_expires_is_ignored() {
    for date in [
        "garbage",
        "",
        "Wed, 01 Jan 1970 00:00:01 GMT", // wrong weekday
        "Wed, 31 Dec 1969 23:59:59 GMT", // before 1970: httpdate refuses it
        "Thu, 01 Jan 1970 00:00:01 UTC",
        "Thu, 01 Jan 1970 00:00:01 GMT\u{e9}",
        "1",
    ] {
        let line = format!("JSESSIONID=x; Expires={date}");
        assert_eq!(id(&jsessionid(), &line), Set(b"x"), "{date}");
    }
}

#[test]
fn max_age_takes_precedence_over_expires() {
    let line = format!("JSESSIONID=x; Max-Age=3600; Expires={PAST}");
    assert_eq!(id(&jsessionid(), &line), Set(b"x"));
    let line = format!("JSESSIONID=x; Expires={PAST}; Max-Age=3600");
    assert_eq!(id(&jsessionid(), &line), Set(b"x"));
    let line = format!("JSESSIONID=x; Max-Age=0; Expires={FUTURE}");
    assert_eq!(id(&jsessionid(), &line), Deleted(b""));
    // An invalid Max-Age does not count: Expires decides.
    let line = format!("JSESSIONID=x; Max-Age=soon; Expires={PAST}");
    assert_eq!(id(&jsessionid(), &line), Deleted(b""));
}

#[test]
fn the_last_valid_attribute_of_a_name_counts() {
    assert_eq!(
        id(&jsessionid(), "JSESSIONID=x; Max-Age=0; Max-Age=10"),
        Set(b"x")
    );
    assert_eq!(
        id(&jsessionid(), "JSESSIONID=x; Max-Age=10; Max-Age=0"),
        Deleted(b"")
    );
    assert_eq!(
        id(&jsessionid(), "JSESSIONID=x; Max-Age=0; Max-Age=bad"),
        Deleted(b"")
    );
    let line = format!("JSESSIONID=x; Expires={PAST}; Expires={FUTURE}");
    assert_eq!(id(&jsessionid(), &line), Set(b"x"));
    let line = format!("JSESSIONID=x; Expires={FUTURE}; Expires={PAST}");
    assert_eq!(id(&jsessionid(), &line), Deleted(b""));
}

#[test]
fn attributes_start_after_the_value() {
    // The value ended at a comma: browsers see one cookie `a,b`, whose Max-Age is 0.
    assert_eq!(id(&jsessionid(), "JSESSIONID=a,b; Max-Age=0"), Deleted(b""));
    // `Max-Age=0` before any `;` is part of the first pair, not an attribute.
    assert_eq!(id(&any_cookie(), "Max-Age=0"), Set(b"Max-Age=0"));
}

#[test]
fn deleted_key_prefix_names_the_cookie_for_prefix_and_any() {
    assert_eq!(
        id(&aspsessionid(), "ASPSESSIONIDXX=deleted; Max-Age=0"),
        Deleted(b"XX=")
    );
    let line = format!("x=deleted; expires={PAST}");
    assert_eq!(id(&any_cookie(), &line), Deleted(b"x="));
    // Truncated to len, like the ids it is a prefix of.
    assert_eq!(
        id(&with_len(aspsessionid(), 2), "ASPSESSIONIDXX=; Max-Age=0"),
        Deleted(b"XX")
    );
    // The whole name is the prefix: the key prefix is `=`.
    assert_eq!(
        id(&aspsessionid(), "ASPSESSIONID=; Max-Age=0"),
        Deleted(b"=")
    );
}

#[test]
fn deletion_with_control_bytes_in_the_key_prefix_says_nothing() {
    assert_eq!(id(&any_cookie(), "a\x01b=; Max-Age=0"), SetCookieId::None);
    // A control byte in the value of a deleting line does not matter.
    assert_eq!(
        id(&jsessionid(), "JSESSIONID=a\x01; Max-Age=0"),
        Deleted(b"")
    );
}

#[test]
fn non_cookie_sources_say_nothing() {
    let spec = IdSpec {
        source: IdSource::Header("JSESSIONID".into()),
        len: 52,
        url_mode: UrlMode::PathParameters,
    };
    assert_eq!(id(&spec, "JSESSIONID=x"), SetCookieId::None);
}
