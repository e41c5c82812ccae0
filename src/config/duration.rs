//! The duration format (docs/configuration.md §1.3): an integer number of seconds, or an integer
//! with a unit `ms`, `s`, `m`, `h` or `d`. Shared with the CLI and the admin API.

use std::time::Duration;

/// What a duration looks like, appended to every error so the user sees what is accepted.
pub(crate) const DURATION_FORMAT: &str =
    "a duration is an integer number of seconds or an integer with a unit ms, s, m, h or d \
     (e.g. 500ms, 30s, 30m, 8h, 1d)";

/// Parses `500ms`, `30s`, `30m`, `8h`, `1d` or a bare integer (seconds).
///
/// Negative and fractional values, unknown units, surrounding spaces and values that do not
/// fit in a `u64` of milliseconds are errors; the message says why and quotes the format.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let fail = |why: &str| {
        Err(format!(
            "invalid duration {text:?}: {why}; {DURATION_FORMAT}"
        ))
    };
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(digits_end);
    if digits.is_empty() {
        return if text.starts_with('-') {
            fail("negative values are not accepted")
        } else if text.is_empty() {
            fail("it is empty")
        } else {
            fail("it does not start with a number")
        };
    }
    if unit.starts_with('.') {
        return fail("fractions are not accepted");
    }
    let millis_per_unit: u64 = match unit {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return fail(&format!("unknown unit {unit:?}")),
    };
    // Leading zeros are harmless, but a long run of digits must not overflow the parse.
    let trimmed = digits.trim_start_matches('0');
    let value = if trimmed.is_empty() {
        Some(0)
    } else if trimmed.len() > 20 {
        None
    } else {
        trimmed.parse::<u64>().ok()
    };
    match value.and_then(|v| v.checked_mul(millis_per_unit)) {
        Some(ms) => Ok(Duration::from_millis(ms)),
        None => fail("it is too large"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("8h"), Ok(Duration::from_secs(28_800)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("000"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("007s"), Ok(Duration::from_secs(7)));
    }

    #[test]
    fn errors_say_why_and_quote_the_format() {
        let f = DURATION_FORMAT;
        let cases = [
            ("", "it is empty"),
            ("-5s", "negative values are not accepted"),
            ("1.5s", "fractions are not accepted"),
            ("5x", "unknown unit \"x\""),
            ("5 s", "unknown unit \" s\""),
            ("5S", "unknown unit \"S\""),
            ("s", "it does not start with a number"),
            (" 5s", "it does not start with a number"),
            ("18446744073709551615ms", ""),
            ("18446744073709552s", "it is too large"),
            ("99999999999999999999999999d", "it is too large"),
        ];
        for (text, why) in cases {
            if why.is_empty() {
                assert_eq!(
                    parse_duration(text),
                    Ok(Duration::from_millis(u64::MAX)),
                    "{text}"
                );
            } else {
                assert_eq!(
                    parse_duration(text),
                    Err(format!("invalid duration {text:?}: {why}; {f}")),
                    "{text}"
                );
            }
        }
    }
}
