//! The documentation tells the truth: every configuration key is documented, every
//! documented admin endpoint and metric exists (and every metric is documented), every
//! complete configuration example loads, every link resolves, and nothing points at
//! documents the repository does not hold.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::admin::Admin;
use common::http::Request;
use common::rig::Rig;
use common::tether::check;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// The Markdown files a reader of the repository sees.
fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

#[test]
fn every_configuration_key_is_documented() {
    let doc = read("docs/configuration.md");
    let mut missing = Vec::new();
    for (section, keys) in tether::config::known_keys() {
        for key in keys {
            if !doc.contains(&format!("`{key}")) {
                missing.push(format!("{section}.{key}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "keys missing from docs/configuration.md: {missing:?}"
    );
}

/// `METHOD /path` of every endpoint heading of docs/admin-api.md.
fn documented_endpoints() -> Vec<(String, String)> {
    read("docs/admin-api.md")
        .lines()
        .filter(|l| l.starts_with("## ") || l.starts_with("### "))
        .filter_map(|l| {
            let inner = l.split('`').nth(1)?;
            let (method, path) = inner.split_once(' ')?;
            ["GET", "PUT", "DELETE"]
                .contains(&method)
                .then(|| (method.to_string(), path.to_string()))
        })
        .collect()
}

fn rig() -> Rig {
    Rig::echo(
        "    cookie: { name: SRV, mode: insert, indirect: true }\n    app_session: { cookie: JSESSIONID, timeout: 1h }\n    health_check: { type: http, path: /health, method: GET, interval: 1s, timeout: 500ms }",
        &["s1", "s2"],
    )
}

#[test]
fn every_documented_admin_endpoint_exists() {
    let endpoints = documented_endpoints();
    assert!(endpoints.len() >= 8, "{endpoints:?}");
    let s = rig();
    for (method, path) in &endpoints {
        let path = path
            .replace("{b}", "be")
            .replace("{s}", "s1")
            .replace("{key}", "no-such-session")
            .replace("limit=N", "limit=5");
        let mut req = Request::new(method, &path);
        if method == "PUT" {
            req = req.body("{}");
        }
        let r = req.send(s.admin.addr).expect("admin answers");
        let text = r.text();
        assert!(
            r.status != 405 && !text.contains("no such endpoint"),
            "{method} {path}: {} {text}",
            r.status
        );
    }
}

/// Metric families in `text` (Prometheus exposition), histogram series folded.
fn exported(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .filter(|name| name.starts_with("tether_"))
        .map(str::to_string)
        .collect()
}

fn documented_metrics() -> BTreeSet<String> {
    read("docs/admin-api.md")
        .lines()
        .filter_map(|l| l.strip_prefix("| `tether_"))
        .filter_map(|rest| rest.split('`').next())
        .map(|name| format!("tether_{name}"))
        .collect()
}

#[test]
fn documented_metrics_are_the_exported_ones() {
    let s = rig();
    Request::get("/").send(s.listen).expect("request");
    let admin: &Admin = &s.admin;
    let text = admin.get("/metrics").text();
    let exported = exported(&text);
    let documented = documented_metrics();
    assert!(exported.len() >= 15, "{exported:?}");
    assert_eq!(
        documented, exported,
        "docs/admin-api.md (left) and /metrics (right) differ"
    );
}

/// The YAML blocks of the README and docs/configuration.md that are whole configurations,
/// with the example file paths pointed at real files.
#[test]
fn complete_examples_load() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = |name: &str, content: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, content).expect("write");
        p.display().to_string()
    };
    let token = file("admin.token", "s3cret\n");
    let cert = file("cert.pem", "CERT");
    let key = file("key.pem", "KEY");
    let mut checked = 0;
    for doc in ["README.md", "docs/configuration.md"] {
        let text = read(doc);
        for block in text.split("```yaml\n").skip(1) {
            let Some((yaml, _)) = block.split_once("```") else {
                continue;
            };
            if !(yaml.contains("frontends:") && yaml.contains("backends:")) {
                continue;
            }
            let yaml = yaml
                .replace("/etc/tether/admin.token", &token)
                .replace("/etc/tether/cert.pem", &cert)
                .replace("/etc/tether/key.pem", &key)
                .replace(
                    "/var/log/tether/access.log",
                    &format!("{}/a.log", dir.path().display()),
                );
            let path = file("example.yaml", &yaml);
            let (code, out, err) = check(Path::new(&path));
            assert_eq!(code, 0, "{doc}: example does not load:\n{yaml}\n{out}{err}");
            checked += 1;
        }
    }
    assert!(checked >= 2, "{checked} examples");
}

/// GitHub's anchor of a heading: lower case, spaces to `-`, other punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim_start_matches('#')
        .trim()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

fn anchors_of(path: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut in_code = false;
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            out.insert(anchor(line));
        }
    }
    out
}

/// `](target)` links of a Markdown text.
fn links(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn relative_links_and_anchors_resolve() {
    let mut broken = Vec::new();
    let mut seen = 0;
    for file in markdown_files() {
        let text = std::fs::read_to_string(&file).expect("read");
        let dir = file.parent().expect("dir");
        for link in links(&text) {
            if link.starts_with("http://") || link.starts_with("https://") {
                continue;
            }
            seen += 1;
            let (target, fragment) = match link.split_once('#') {
                Some((t, f)) => (t, Some(f)),
                None => (link.as_str(), None),
            };
            let target_path = if target.is_empty() {
                file.clone()
            } else {
                dir.join(target)
            };
            if !target_path.exists() {
                broken.push(format!("{}: {link}", file.display()));
            } else if let Some(fragment) = fragment {
                if !anchors_of(&target_path).contains(fragment) {
                    broken.push(format!("{}: {link} (no such heading)", file.display()));
                }
            }
        }
    }
    assert!(seen >= 20, "{seen} links");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// What a clone of the repository holds must be enough: no pointer to the team's notes
/// outside it.
#[test]
fn nothing_points_outside_the_repository() {
    let needles = [
        ["..", "/shared"].concat(),
        ["shared/", "spec/"].concat(),
        ["shared/", "reference/"].concat(),
        ["reference ", "§"].concat(),
        ["haproxy-", "persistence.md"].concat(),
    ];
    let mut hits = Vec::new();
    let mut stack = vec![
        root().join("README.md"),
        root().join("Dockerfile"),
        root().join("Cargo.toml"),
        root().join("docs"),
        root().join("src"),
        root().join("tests"),
        root().join("bench"),
        root().join("conf"),
        root().join("echo"),
        root().join("dashboards"),
    ];
    let mut files = 0;
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            if path.ends_with("target") {
                continue;
            }
            for entry in std::fs::read_dir(&path).expect("read dir").flatten() {
                stack.push(entry.path());
            }
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        files += 1;
        for (n, line) in text.lines().enumerate() {
            if needles.iter().any(|needle| line.contains(needle.as_str())) {
                hits.push(format!("{}:{}: {line}", path.display(), n + 1));
            }
        }
    }
    assert!(files > 50, "{files} files read");
    assert!(hits.is_empty(), "{}", hits.join("\n"));
}
