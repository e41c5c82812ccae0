//! What the configuration says about a backend's persistence cookie (HAProxy's `cookie`
//! directive, docs/haproxy-compatibility.md §2), and the rules a valid setting follows.
//!
//! The configuration decodes `backends[].cookie` straight into [`CookieSpec`] and reports
//! each [`Problem`] at the position of the key it names; [`CookiePolicy::new`]
//! (`policy.rs`) applies the same rules to specs built in code. Each rule is written once,
//! here.
//!
//! [`CookiePolicy::new`]: super::CookiePolicy::new

use super::mode::CookieMode;

/// The settings of the persistence cookie of one backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieSpec {
    pub name: String,
    pub mode: CookieMode,
    pub indirect: bool,
    pub nocache: bool,
    pub postonly: bool,
    pub preserve: bool,
    pub httponly: bool,
    pub secure: bool,
    /// Repeated `domain`; each one is emitted as `; domain=<d>`.
    pub domains: Vec<String>,
    /// Repeated `attr`; each one is emitted as `; <attr>`.
    pub attrs: Vec<String>,
    /// Seconds, 0 = off (the configuration bounds it to HAProxy's 2147483647).
    pub maxidle: u32,
    /// Seconds, 0 = off.
    pub maxlife: u32,
    /// HAProxy `dynamic` + `dynamic-cookie-key`: servers without a value get one derived
    /// from this key and their address ([`dynamic_cookie`](super::dynamic_cookie)).
    pub dynamic_key: Option<String>,
}

/// One rule a spec breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The configuration key concerned (`name`, `indirect`, `domain`, ...).
    pub key: &'static str,
    /// For list keys (`domain`, `attr`): which item.
    pub index: Option<usize>,
    pub message: String,
    /// A remark HAProxy prints as a warning; the setting still works.
    pub warning: bool,
}

impl Problem {
    fn error(key: &'static str, index: Option<usize>, message: String) -> Self {
        Problem {
            key,
            index,
            message,
            warning: false,
        }
    }
}

impl CookieSpec {
    /// A spec with the given name and mode and every option off.
    pub fn new(name: impl Into<String>, mode: CookieMode) -> Self {
        CookieSpec {
            name: name.into(),
            mode,
            indirect: false,
            nocache: false,
            postonly: false,
            preserve: false,
            httponly: false,
            secure: false,
            domains: Vec::new(),
            attrs: Vec::new(),
            maxidle: 0,
            maxlife: 0,
            dynamic_key: None,
        }
    }

    /// Every rule the spec breaks, in key order: the checks of HAProxy's `cookie` parser
    /// (cfgparse-listen.c) plus tether's own (dates outside insert mode).
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        if let Some(message) = cookie_text_problem(&self.name, true) {
            out.push(Problem::error("name", None, message));
        }
        if self.mode == CookieMode::Rewrite && self.indirect {
            out.push(Problem::error("indirect", None, "indirect cannot be used with mode: rewrite (HAProxy: \"cookie 'rewrite' and 'indirect' modes are incompatible\"); use mode insert, prefix or passive".into()));
        }
        if self.preserve && self.mode != CookieMode::Insert && !self.indirect {
            out.push(Problem::error("preserve", None, "preserve requires mode: insert or indirect: true (HAProxy: \"cookie 'preserve' requires at least 'insert' or 'indirect'\")".into()));
        }
        for (key, secs) in [("maxidle", self.maxidle), ("maxlife", self.maxlife)] {
            if secs != 0 && self.mode != CookieMode::Insert {
                let message = format!("{key} only works with mode: insert (the dates are written in the inserted cookie); mode is {}", self.mode.as_str());
                out.push(Problem::error(key, None, message));
            }
        }
        for (i, domain) in self.domains.iter().enumerate() {
            out.extend(domain_problem(domain, i));
        }
        for (i, attr) in self.attrs.iter().enumerate() {
            if let Some(message) = attr_problem(attr) {
                out.push(Problem::error("attr", Some(i), message));
            }
        }
        out
    }
}

/// A cookie name or value goes verbatim into `Cookie`/`Set-Cookie` headers: separators and
/// control characters would split or corrupt the header (RFC 6265 §4.1.1). Used for the
/// persistence cookie's name, the servers' values and the session table's cookie name.
pub fn cookie_text_problem(text: &str, is_name: bool) -> Option<String> {
    let what = if is_name {
        "a cookie name"
    } else {
        "a cookie value"
    };
    if text.is_empty() {
        return Some(format!("expected {what}, got an empty string"));
    }
    let bad = text.chars().find(|&c| {
        c.is_control()
            || c.is_whitespace()
            || matches!(c, ';' | ',' | '"' | '\\')
            || (is_name && c == '=')
    })?;
    let also = if is_name { ", '='" } else { "" };
    Some(format!("character {bad:?} is not permitted in {what}; expected no spaces, ';', ',', '\"', '\\'{also} or control characters"))
}

/// HAProxy `invalid_domainchar()` (src/tools.c): only `[A-Za-z0-9_.-]`. A domain without an
/// embedded dot is only a warning in HAProxy (RFC 6265 §5.2.3), so it is one here too.
fn domain_problem(domain: &str, index: usize) -> Option<Problem> {
    if domain.is_empty() {
        return Some(Problem::error(
            "domain",
            Some(index),
            "expected a domain, got an empty string".into(),
        ));
    }
    if let Some(bad) = domain
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        let message = format!("character {bad:?} is not permitted in domain name {domain:?}; expected letters, digits, '.', '_' and '-'");
        return Some(Problem::error("domain", Some(index), message));
    }
    (!domain.contains('.')).then(|| Problem {
        key: "domain",
        index: Some(index),
        message: format!("domain {domain:?} contains no embedded dot, this configuration may not work properly (see RFC6265#5.2.3)"),
        warning: true,
    })
}

/// HAProxy `attr`: no control characters and no `;` (cfgparse-listen.c).
fn attr_problem(attr: &str) -> Option<String> {
    if attr.is_empty() {
        return Some("expected an attribute, got an empty string".into());
    }
    let bad = attr.chars().find(|&c| c.is_control() || c == ';')?;
    Some(format!("character {bad:?} is not permitted in attribute {attr:?}; expected no ';' and no control characters"))
}
