//! Malformed and unusual input: syntax errors, empty files, wrong document shapes, huge
//! numbers, aliases, encodings, depth, and random corruption (no panics, ever).

use super::*;
use crate::config::yaml::{MAX_DEPTH, MAX_NODES};

const ROOT_KEYS: &str = "pingora, admin, access_log, frontends, backends";

#[test]
fn yaml_syntax_errors_stop_with_their_position() {
    let text = "frontends:\n  - name: web\n    listen: [\"127.0.0.1:8080\"\n    backend: app\n";
    let (path, line, col, message) = error(text);
    assert_eq!((path.as_str(), line, col), ("", 4, 5));
    assert_eq!(message, "YAML syntax error: invalid indentation");
}

#[test]
fn tabs_in_indentation_are_syntax_errors() {
    let text = "frontends:\n\t- name: web\n";
    assert_eq!(
        error(text),
        e(
            "",
            2,
            2,
            "YAML syntax error: tabs disallowed within this context (block indentation)"
        )
    );
}

#[test]
fn empty_files_say_what_is_expected() {
    let message = format!("the configuration is empty: expected a map with keys {ROOT_KEYS}");
    for text in ["", "\n\n", "# only a comment\n", "~\n"] {
        assert_eq!(error(text), e("", 1, 1, &message), "{text:?}");
    }
    // After `---` the (empty) document starts on the next line.
    assert_eq!(error("---\n"), e("", 2, 1, &message));
}

#[test]
fn the_root_must_be_a_map() {
    let message = |got: &str| format!("expected a map with keys {ROOT_KEYS}, got {got}");
    assert_eq!(
        error("- frontends\n- backends\n"),
        e("", 1, 1, &message("a list"))
    );
    assert_eq!(error("hello\n"), e("", 1, 1, &message("\"hello\"")));
    assert_eq!(error("\n\n  42\n"), e("", 3, 3, &message("42")));
}

#[test]
fn huge_integers_are_out_of_range_not_wrapped() {
    let huge = "9".repeat(60);
    let text = with(&format!(
        "        weight: {huge}\n        maxqueue: -{huge}\n"
    ));
    assert_eq!(
        errors(&text),
        vec![
            e(
                "backends[0].servers[0].weight",
                10,
                17,
                &format!("expected an integer from 0 to 256, got {huge}")
            ),
            e(
                "backends[0].servers[0].maxqueue",
                11,
                19,
                &format!("expected an integer from 0 to 4294967295, got -{huge}")
            ),
        ]
    );
    let text = with("    app_session: { cookie: J, max_entries: 18446744073709551616 }\n");
    let message = "expected an integer from 1 to 18446744073709551615, got 18446744073709551616";
    assert_eq!(
        error(&text),
        e("backends[0].app_session.max_entries", 10, 44, message)
    );
    let text = with("    app_session: { cookie: J, max_entries: 18446744073709551615 }\n");
    assert_eq!(
        backend(&text).app_session.map(|s| s.max_entries),
        Some(u64::MAX)
    );
}

#[test]
fn anchors_and_aliases_are_expanded() {
    let text = "\
frontends:
  - name: web
    listen: [\"127.0.0.1:8080\"]
    backend: app
backends:
  - name: app
    timeouts: &t { connect: 1s }
    servers: &servers
      - name: s1
        address: 127.0.0.1:8081
  - name: app2
    timeouts: *t
    servers: *servers
";
    let config = load(text).config;
    assert_eq!(config.backends[1].servers, config.backends[0].servers);
    assert_eq!(
        config.backends[1].timeouts.connect,
        std::time::Duration::from_secs(1)
    );
    // An error inside an aliased value is reported once per use, at the anchored text.
    let text = text.replace("connect: 1s", "connect: 1x");
    let found: Vec<(String, usize, usize)> = errors(&text)
        .into_iter()
        .map(|(p, l, c, _)| (p, l, c))
        .collect();
    let expected = vec![
        ("backends[0].timeouts.connect".to_string(), 7, 29),
        ("backends[1].timeouts.connect".to_string(), 7, 29),
    ];
    assert_eq!(found, expected);
}

#[test]
fn alias_bombs_hit_the_node_budget() {
    let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (name, prev) in [
        ("b", "a"),
        ("c", "b"),
        ("d", "c"),
        ("e", "d"),
        ("f", "e"),
        ("g", "f"),
    ] {
        let refs = vec![format!("*{prev}"); 10].join(", ");
        text.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    let (path, _, _, message) = error(&text);
    assert_eq!(
        (path.as_str(), message),
        (
            "",
            format!(
                "the document is too large: more than {MAX_NODES} values once aliases are expanded"
            )
        )
    );
}

#[test]
fn unknown_aliases_are_syntax_errors() {
    assert_eq!(
        error("frontends: *nowhere\n"),
        e(
            "",
            1,
            12,
            "YAML syntax error: while parsing node, found unknown anchor"
        )
    );
}

#[test]
fn non_utf8_input_is_an_error_with_its_position() {
    let result = load_bytes(b"frontends:\n  - name: w\xffb\n", "t.yaml");
    let expected = ConfigErrors {
        file: "t.yaml".into(),
        errors: vec![ConfigError {
            path: String::new(),
            mark: Some(Mark { line: 2, col: 12 }),
            message: "invalid UTF-8 (byte 0xFF): the configuration must be UTF-8 text".into(),
        }],
    };
    assert_eq!(result.err(), Some(expected));
    assert_eq!(
        load_bytes(BASE.as_bytes(), "t.yaml")
            .map(|l| l.config.frontends.len())
            .ok(),
        Some(1)
    );
}

#[test]
fn a_byte_order_mark_is_accepted() {
    assert_eq!(load(&format!("\u{feff}{BASE}")).config.backends.len(), 1);
}

#[test]
fn deep_nesting_is_capped() {
    let message = format!("nested too deeply: at most {MAX_DEPTH} levels of lists and maps");
    // The root map is level 1, so the 64th `[` would open level 65.
    let text = format!("a: {}{}\n", "[".repeat(100), "]".repeat(100));
    let path = format!("a{}", "[0]".repeat(MAX_DEPTH - 1));
    assert_eq!(error(&text), e(&path, 1, 3 + MAX_DEPTH, &message));
    // Far deeper flow nesting stops in saphyr-parser's own limit, still without recursion.
    let text = format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        error(&text),
        e("", 1, 259, "YAML syntax error: recursion limit exceeded")
    );
    let mut block = String::new();
    for depth in 0..200 {
        block.push_str(&format!("{}k:\n", "  ".repeat(depth)));
    }
    let (path, line, col, found) = error(&block);
    assert_eq!(
        (path.matches('.').count(), line, col, found),
        (
            MAX_DEPTH - 1,
            MAX_DEPTH + 1,
            2 * MAX_DEPTH + 1,
            message.clone()
        )
    );
    // Aliases cannot be used to go deeper either.
    let deep = format!("{}x{}", "[".repeat(40), "]".repeat(40));
    let text =
        format!("a: &a {deep}\nb: [[[[[[[[[[[[[[[[[[[[[[[[[[[[*a]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n");
    let (_, line, _, found) = error(&text);
    assert_eq!(
        (line, found.as_str()),
        (
            2,
            "nested too deeply once the alias is expanded: at most 64 levels of lists and maps"
        )
    );
}

#[test]
fn duplicate_keys_are_errors() {
    let text = format!("{BASE}frontends: []\n");
    assert_eq!(
        error(&text),
        e(
            "frontends",
            10,
            1,
            "duplicate key, first defined at line 1, column 1"
        )
    );
}

#[test]
fn a_second_document_is_an_error() {
    let text = format!("---\n{BASE}---\nfrontends: []\n");
    assert_eq!(
        error(&text),
        e(
            "",
            11,
            1,
            "a second YAML document: the configuration must be a single document"
        )
    );
}

#[test]
fn tags() {
    // `!!str` makes a number a string; other tags are refused.
    let text = with("    retries: !!str 3\n    persist: !custom true\n");
    assert_eq!(
        errors(&text),
        vec![
            e(
                "backends[0].retries",
                10,
                14,
                "expected an integer from 0 to 100, got \"3\""
            ),
            e(
                "backends[0].persist",
                11,
                14,
                "unsupported YAML tag !custom: only !!str is accepted on scalars"
            ),
        ]
    );
}

#[test]
fn map_keys_must_be_strings() {
    let text = with("    ? [a, b]\n    : c\n");
    assert_eq!(
        error(&text),
        e(
            "backends[0]",
            10,
            7,
            "a map key must be a string, not a list or map"
        )
    );
}

#[test]
fn flow_style_documents_load() {
    let text = "{frontends: [{name: web, listen: 127.0.0.1:8080, backend: app}], backends: [{name: app, servers: [{name: s1, address: '127.0.0.1:8081'}]}]}";
    let config = load(text).config;
    assert_eq!(
        (
            config.frontends[0].listen.len(),
            config.backends[0].servers[0].address.port()
        ),
        (1, 8081)
    );
}

#[test]
fn random_corruption_never_panics_and_always_explains() {
    let sources = [BASE.as_bytes(), include_bytes!("example.yaml")];
    let specials = b"[]{}:,-&*!|>'\"#%@` \t\n\r\x00\xff?~";
    let mut rng = crate::test_rng::Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..3000 {
        let source = sources[round % sources.len()];
        let mut bytes = source.to_vec();
        for _ in 0..1 + rng.next() % 4 {
            let at = usize::try_from(rng.next()).unwrap_or(0) % bytes.len();
            let pick = usize::try_from(rng.next()).unwrap_or(0);
            match pick % 3 {
                0 => bytes[at] = specials[pick / 3 % specials.len()],
                1 => bytes.insert(at, specials[pick / 3 % specials.len()]),
                _ => {
                    bytes.remove(at);
                }
            }
        }
        if let Err(e) = load_bytes(&bytes, "fuzz.yaml") {
            assert!(
                !e.errors.is_empty(),
                "round {round}: an Err must hold errors"
            );
        }
    }
}
