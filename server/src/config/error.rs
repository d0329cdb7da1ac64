//! What a bad configuration says: [`ConfigError`], which names the key, the value's source
//! ([`Layer`]) and what is wrong, and the record of which layer set each key ([`Origins`]).

use std::collections::BTreeMap;
use std::path::PathBuf;

use toml::Value;

/// An invalid configuration; every variant names what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: cannot read config file: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{}: invalid TOML: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// Parser message with line and column.
        message: String,
    },
    /// A `RAMPART_*` variable that cannot be mapped to a key.
    #[error("environment variable {var}: {reason}")]
    Env {
        /// The variable name.
        var: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A key is unknown, has the wrong type or an invalid value.
    #[error("config key `{key}` ({origin}): {reason}")]
    Key {
        /// Dotted key, e.g. `tls.profile`.
        key: String,
        /// Where the value came from: a file, a variable, a flag, or the default.
        origin: String,
        /// What is wrong.
        reason: String,
    },
}

/// One source of settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layer {
    /// A TOML file.
    File(PathBuf),
    /// A `RAMPART_*` environment variable.
    Env(String),
    /// A command-line flag.
    Flag(String),
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Layer::File(p) => write!(f, "from file {}", p.display()),
            Layer::Env(v) => write!(f, "from environment variable {v}"),
            Layer::Flag(flag) => write!(f, "from flag {flag}"),
        }
    }
}

/// Remembers which layer set each key, so that errors can say where a bad value came from.
#[derive(Debug, Default)]
pub(super) struct Origins(BTreeMap<String, Layer>);

impl Origins {
    pub(super) fn record(&mut self, prefix: &str, value: &Value, layer: &Layer) {
        match value {
            Value::Table(t) => {
                for (k, v) in t {
                    self.record(&join(prefix, k), v, layer);
                }
            }
            _ => {
                self.0.insert(prefix.to_string(), layer.clone());
            }
        }
    }

    /// Where `key` (or, for a table, any key below it) was set.
    /// An array element (`limits.exempt[0]`) comes from wherever its array was set.
    pub(super) fn of(&self, key: &str) -> String {
        let key = key.split('[').next().unwrap_or(key);
        if let Some(l) = self.0.get(key) {
            return l.to_string();
        }
        let below = format!("{key}.");
        self.0
            .iter()
            .find(|(k, _)| k.starts_with(&below))
            .map(|(_, l)| l.to_string())
            .unwrap_or_else(|| "default".to_string())
    }
}

pub(super) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}
