//! Loader tests. Every test asserts exact paths, positions and messages.

mod cross;
mod example;
mod input;
mod rules;
mod values;

use super::*;

/// A minimal valid file (9 lines). Text appended by the helpers below starts on line 10
/// (or line 5 for [`with_frontend`]).
const BASE: &str = "\
frontends:
  - name: web
    listen: [\"127.0.0.1:8080\"]
    backend: app
backends:
  - name: app
    servers:
      - name: s1
        address: 127.0.0.1:8081
";

/// `BASE` plus `extra` from line 10. The indentation of `extra` picks where it goes: 0 for
/// the root, 4 for `backends[0]`, 8 for `backends[0].servers[0]`.
fn with(extra: &str) -> String {
    format!("{BASE}{extra}")
}

/// `BASE` plus keys of `frontends[0]` (indented 4) from line 5.
fn with_frontend(extra: &str) -> String {
    let (front, back) = BASE.split_at(BASE.find("backends:").unwrap_or(0));
    format!("{front}{extra}{back}")
}

/// Every error as (path, line, column, message); panics if the file loads.
fn errors(text: &str) -> Vec<(String, usize, usize, String)> {
    match load_str(text, "t.yaml") {
        Ok(loaded) => panic!("expected errors, loaded {:#?}", loaded.config),
        Err(e) => e
            .errors
            .into_iter()
            .map(|e| {
                let mark = e.mark.unwrap_or(Mark { line: 0, col: 0 });
                (e.path, mark.line, mark.col, e.message)
            })
            .collect(),
    }
}

/// The only error of a file.
fn error(text: &str) -> (String, usize, usize, String) {
    let mut all = errors(text);
    assert_eq!(all.len(), 1, "{all:#?}");
    all.remove(0)
}

/// Builds the expected tuple.
fn e(path: &str, line: usize, col: usize, message: &str) -> (String, usize, usize, String) {
    (path.to_string(), line, col, message.to_string())
}

/// Loads a file that must be valid.
fn load(text: &str) -> Loaded {
    load_str(text, "t.yaml").unwrap_or_else(|e| panic!("{e}"))
}

/// The first backend of a valid file.
fn backend(text: &str) -> Backend {
    load(text).config.backends.remove(0)
}

/// A fresh file in a per-test temporary directory.
fn temp_file(test: &str, name: &str, contents: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tether-config-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap_or_else(|e| panic!("{e}"));
    path
}
