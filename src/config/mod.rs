//! tether's configuration: the YAML file (docs/configuration.md), loaded into typed structs.
//!
//! Loading never stops at the first problem: the file is parsed into a positioned tree
//! (`yaml.rs`), decoded section by section with an error accumulator (`decode.rs` is the
//! toolkit; `sections.rs`, `backend.rs`, `persistence.rs`, `conditions.rs` follow the
//! spec), then cross-checked (`validate.rs`). Every error carries the key path
//! and the line and column, and all of them are returned together, sorted by position,
//! so `tether check` can print them all at once.
//!
//! serde is not used for the document itself because it stops at the first error and
//! exposes no per-node positions; only the `pingora:` subtree is handed over as a
//! [`serde_yaml::Value`] for Pingora's own `ServerConf`.

mod backend;
mod conditions;
mod decode;
mod duration;
mod persistence;
mod pingora;
mod schema;
mod sections;
mod validate;
mod yaml;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::Path;

pub use duration::parse_duration;
pub use schema::{
    AccessLog, Admin, Backend, CheckKind, Cidr, Condition, Config, Frontend, HeaderPredicate,
    HeaderTest, HealthCheck, LogFormat, LogTarget, PingoraSection, Redispatch, ServerSpec,
    Timeouts, Tls,
};

/// Every map of the file and the keys it accepts, by path (`backends[].cookie`, ...): what
/// docs/configuration.md must document, checked by the tests.
pub fn known_keys() -> Vec<(&'static str, &'static [&'static str])> {
    vec![
        ("", sections::ROOT),
        ("admin", sections::ADMIN),
        ("access_log", sections::ACCESS_LOG),
        ("frontends[]", sections::FRONTEND),
        ("frontends[].tls", sections::TLS),
        ("backends[]", backend::BACKEND),
        ("backends[].timeouts", backend::TIMEOUTS),
        ("backends[].health_check", backend::HEALTH_CHECK),
        ("backends[].servers[]", backend::SERVER),
        ("backends[].cookie", persistence::COOKIE),
        ("backends[].app_session", persistence::APP_SESSION),
        ("conditions[]", conditions::CONDITION),
    ]
}

/// A position in the configuration file. Both numbers are 1-based; the column counts
/// characters, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mark {
    pub line: usize,
    pub col: usize,
}

/// One problem found in the configuration (an error, or a warning in [`Loaded::warnings`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The key path, e.g. `backends[0].cookie.maxidle`; empty for the whole document.
    pub path: String,
    /// Where the problem is; `None` when the file could not be read at all.
    pub mark: Option<Mark>,
    /// What is wrong and what is accepted instead.
    pub message: String,
}

impl ConfigError {
    /// Writes `file:line:col: path: message` (the parts that are known).
    fn write_line(&self, file: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{file}:")?;
        if let Some(mark) = self.mark {
            write!(f, "{}:{}:", mark.line, mark.col)?;
        }
        if !self.path.is_empty() {
            write!(f, " {}:", self.path)?;
        }
        write!(f, " {}", self.message)
    }
}

/// Every error of one configuration file, sorted by position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    /// The file name as given by the caller, used as the prefix of each line.
    pub file: String,
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigErrors {
    /// One line per error: `file:line:col: path: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            error.write_line(&self.file, f)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Formats warnings like errors (`file:line:col: path: message`), one per line.
pub fn format_warnings(file: &str, warnings: &[ConfigError]) -> String {
    ConfigErrors {
        file: file.to_string(),
        errors: warnings.to_vec(),
    }
    .to_string()
}

/// A valid configuration, with the warnings found while loading it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// Problems that do not prevent running (e.g. a cookie domain without an embedded dot).
    pub warnings: Vec<ConfigError>,
}

/// Reads and loads a configuration file. The file label in messages is `path` as given.
pub fn load_file(path: &Path) -> Result<Loaded, ConfigErrors> {
    let label = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => load_bytes(&bytes, &label),
        Err(e) => Err(ConfigErrors {
            file: label,
            errors: vec![ConfigError {
                path: String::new(),
                mark: None,
                message: format!("cannot read the configuration file: {e}"),
            }],
        }),
    }
}

/// Loads a configuration from raw bytes, which must be UTF-8.
pub fn load_bytes(bytes: &[u8], file_label: &str) -> Result<Loaded, ConfigErrors> {
    match std::str::from_utf8(bytes) {
        Ok(text) => load_str(text, file_label),
        Err(e) => {
            let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
            // The prefix is valid UTF-8 by definition of `valid_up_to`.
            let valid = std::str::from_utf8(valid).unwrap_or_default();
            let line = valid.matches('\n').count() + 1;
            let col = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let byte = bytes.get(e.valid_up_to()).copied().unwrap_or(0);
            Err(ConfigErrors {
                file: file_label.to_string(),
                errors: vec![ConfigError {
                    path: String::new(),
                    mark: Some(Mark { line, col }),
                    message: format!(
                        "invalid UTF-8 (byte 0x{byte:02X}): the configuration must be UTF-8 text"
                    ),
                }],
            })
        }
    }
}

/// Loads a configuration from text. `file_label` prefixes each error line.
pub fn load_str(text: &str, file_label: &str) -> Result<Loaded, ConfigErrors> {
    let mut diag = decode::Diag::default();
    let config = yaml::parse(text, &mut diag).and_then(|root| sections::config(&root, &mut diag));
    let (mut errors, mut warnings) = diag.into_parts();
    sort_by_position(&mut errors);
    sort_by_position(&mut warnings);
    if config.is_none() && errors.is_empty() {
        // Every stage records an error before giving up; this keeps `Err` non-empty anyway.
        errors.push(ConfigError {
            path: String::new(),
            mark: None,
            message: "the configuration could not be read".to_string(),
        });
    }
    match config {
        Some(config) if errors.is_empty() => Ok(Loaded { config, warnings }),
        _ => Err(ConfigErrors {
            file: file_label.to_string(),
            errors,
        }),
    }
}

/// Stable sort: by line and column, errors without a position last.
fn sort_by_position(errors: &mut [ConfigError]) {
    errors.sort_by_key(|e| (e.mark.is_none(), e.mark));
}
