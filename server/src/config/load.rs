//! Merging the configuration layers (defaults < file < environment < flags) and turning
//! deserialisation failures into errors that name the key and where its value came from.

use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::Config;
use super::error::{ConfigError, Layer, Origins, join};

/// The environment variable naming the config file; not itself a config key.
pub const CONFIG_FILE_VAR: &str = "RAMPART_CONFIG";
const ENV_PREFIX: &str = "RAMPART_";

fn merge(base: &mut Table, over: Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(Value::Table(b)), Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

fn set_path(table: &mut Table, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = table;
    for p in parents {
        let entry = cur
            .entry(p.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        if !entry.is_table() {
            *entry = Value::Table(Table::new());
        }
        let Value::Table(t) = entry else {
            return;
        };
        cur = t;
    }
    cur.insert(last.clone(), value);
}

/// Reads a value given as text (environment variable): booleans, integers and TOML arrays
/// keep their type; anything else is a string (so `5s` and `127.0.0.1:8443` need no quotes).
fn text_value(raw: &str) -> Value {
    if let Ok(b) = raw.parse::<bool>() {
        return Value::Boolean(b);
    }
    if let Ok(i) = raw.parse::<i64>() {
        return Value::Integer(i);
    }
    if raw.trim_start().starts_with('[')
        && let Ok(mut t) = format!("v = {raw}").parse::<Table>()
        && let Some(v) = t.remove("v")
    {
        return v;
    }
    Value::String(raw.to_string())
}

/// Maps `RAMPART_TLS__PROFILE=modern` to `tls.profile = "modern"`: the prefix is dropped,
/// `__` separates table levels, and names are lowercased.
fn env_layer(
    env: impl IntoIterator<Item = (String, String)>,
    origins: &mut Origins,
) -> Result<Table, ConfigError> {
    let mut table = Table::new();
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX) && k != CONFIG_FILE_VAR)
        .collect();
    vars.sort();
    for (var, raw) in vars {
        let rest = &var[ENV_PREFIX.len()..];
        let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
        if path.iter().any(|s| s.is_empty()) {
            return Err(ConfigError::Env {
                var,
                reason:
                    "expected RAMPART_KEY or RAMPART_TABLE__KEY (double underscore between levels)"
                        .to_string(),
            });
        }
        let value = text_value(&raw);
        let layer = Layer::Env(var.clone());
        origins.record(&path.join("."), &value, &layer);
        set_path(&mut table, &path, value);
    }
    Ok(table)
}

fn file_layer(path: &Path, origins: &mut Origins) -> Result<Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let table: Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string().trim().to_string(),
        })?;
    origins.record(
        "",
        &Value::Table(table.clone()),
        &Layer::File(path.to_path_buf()),
    );
    Ok(table)
}

/// Builds the effective configuration from a file (if any), the environment and flag
/// overrides given as `(dotted key, flag name, value)`.
pub fn load(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
    flags: &[(&str, &str, Value)],
) -> Result<Config, ConfigError> {
    let mut origins = Origins::default();
    let mut merged = Table::new();
    if let Some(path) = file {
        merge(&mut merged, file_layer(path, &mut origins)?);
    }
    merge(&mut merged, env_layer(env, &mut origins)?);
    for (key, flag, value) in flags {
        let path: Vec<String> = key.split('.').map(str::to_string).collect();
        origins.record(key, value, &Layer::Flag(flag.to_string()));
        set_path(&mut merged, &path, value.clone());
    }
    finish(merged, &origins)
}

/// Parses a TOML document as the only layer (used by tests and the fuzz target).
pub fn parse_toml_str(text: &str) -> Result<Config, ConfigError> {
    let pseudo = PathBuf::from("<input>");
    let table: Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Syntax {
            path: pseudo.clone(),
            message: e.to_string().trim().to_string(),
        })?;
    let mut origins = Origins::default();
    origins.record("", &Value::Table(table.clone()), &Layer::File(pseudo));
    finish(table, &origins)
}

fn finish(merged: Table, origins: &Origins) -> Result<Config, ConfigError> {
    let config: Config = serde_path_to_error::deserialize(Value::Table(merged)).map_err(|e| {
        // The deserializer may add its own "in `key`" line; the key is named already.
        let reason = e.inner().to_string();
        let reason = reason.lines().next().unwrap_or("").trim().to_string();
        let mut key = e.path().to_string();
        if key == "." {
            key.clear();
        }
        // For an unknown key serde reports the enclosing table; name the key itself.
        if let Some(name) = reason
            .strip_prefix("unknown field `")
            .and_then(|r| r.split('`').next())
            && !key.ends_with(name)
        {
            key = join(&key, name);
        }
        let reason = reason.replace("unknown field", "unknown key");
        ConfigError::Key {
            origin: origins.of(&key),
            key,
            reason,
        }
    })?;
    super::validate::validate(&config, origins)?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn key_err(e: ConfigError) -> (String, String, String) {
        match e {
            ConfigError::Key {
                key,
                origin,
                reason,
            } => (key, origin, reason),
            other => panic!("expected a key error, got {other}"),
        }
    }

    #[test]
    fn empty_input_is_the_default() {
        assert_eq!(parse_toml_str("").expect("parses"), Config::default());
    }

    #[test]
    fn effective_config_round_trips() {
        let c = parse_toml_str("listen = \"127.0.0.1:9000\"\n[tls]\nprofile = \"modern\"\n")
            .expect("parses");
        assert_eq!(parse_toml_str(&c.to_toml()).expect("reparses"), c);
    }

    #[test]
    fn unknown_key_is_named_with_its_table() {
        let (key, origin, reason) =
            key_err(parse_toml_str("[tls]\nprofle = \"modern\"\n").expect_err("unknown"));
        assert_eq!(key, "tls.profle");
        assert!(origin.contains("<input>"), "{origin}");
        assert!(reason.contains("unknown key"), "{reason}");
        let (key, _, _) = key_err(parse_toml_str("lisen = \"x\"\n").expect_err("unknown"));
        assert_eq!(key, "lisen");
    }

    #[test]
    fn invalid_values_name_key_and_reason() {
        let (key, _, reason) =
            key_err(parse_toml_str("[tls]\nprofile = \"ancient\"\n").expect_err("variant"));
        assert_eq!(key, "tls.profile");
        assert!(reason.contains("ancient"), "{reason}");
        let (key, _, _) = key_err(parse_toml_str("listen = \"nowhere\"\n").expect_err("addr"));
        assert_eq!(key, "listen");
        let (key, _, _) =
            key_err(parse_toml_str("[tls]\nhandshake_timeout = \"5 parsecs\"\n").expect_err("dur"));
        assert_eq!(key, "tls.handshake_timeout");
        let (key, _, _) =
            key_err(parse_toml_str("[database]\nmax_connections = \"many\"\n").expect_err("type"));
        assert_eq!(key, "database.max_connections");
    }

    #[test]
    fn array_elements_name_their_origin_on_one_line() {
        let (key, origin, reason) =
            key_err(parse_toml_str("[limits]\nexempt = [\"10.0.0.0/33\"]\n").expect_err("cidr"));
        assert_eq!(key, "limits.exempt[0]");
        assert!(origin.contains("<input>"), "{origin}");
        assert!(!reason.contains('\n') && !reason.is_empty(), "{reason:?}");
    }

    #[test]
    fn syntax_errors_give_the_position() {
        let e = parse_toml_str("listen = \n").expect_err("syntax");
        assert!(matches!(e, ConfigError::Syntax { .. }));
        assert!(e.to_string().contains("line 1"), "{e}");
    }

    #[test]
    fn precedence_is_flags_env_file_default() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("r.toml");
        std::fs::write(
            &f,
            "listen = \"127.0.0.1:1111\"\n[tls]\nprofile = \"modern\"\n[log]\nlevel = \"debug\"\n",
        )
        .expect("write");
        let vars = env(&[
            ("RAMPART_LISTEN", "127.0.0.1:2222"),
            ("RAMPART_LOG__LEVEL", "warn"),
            ("PATH", "/bin"),
        ]);
        let flags = [(
            "listen",
            "--listen",
            Value::String("127.0.0.1:3333".to_string()),
        )];
        let c = load(Some(&f), vars.clone(), &flags).expect("loads");
        assert_eq!(c.listen.port(), 3333, "flag wins");
        assert_eq!(c.log.level, "warn", "env beats file");
        assert_eq!(
            c.tls.profile,
            super::super::TlsProfile::Modern,
            "file beats default"
        );
        let c = load(Some(&f), vars, &[]).expect("loads");
        assert_eq!(c.listen.port(), 2222);
    }

    #[test]
    fn env_errors_name_the_variable() {
        let (key, origin, _) =
            key_err(load(None, env(&[("RAMPART_TLS__PROFILE", "ancient")]), &[]).expect_err("bad"));
        assert_eq!(key, "tls.profile");
        assert!(origin.contains("RAMPART_TLS__PROFILE"), "{origin}");
        let (key, origin, _) =
            key_err(load(None, env(&[("RAMPART_LISTN", "x")]), &[]).expect_err("unknown"));
        assert_eq!(key, "listn");
        assert!(origin.contains("RAMPART_LISTN"), "{origin}");
        let e = load(None, env(&[("RAMPART_TLS____X", "1")]), &[]).expect_err("shape");
        assert!(e.to_string().contains("RAMPART_TLS____X"), "{e}");
        // The file-path variable is not a key.
        load(None, env(&[("RAMPART_CONFIG", "x.toml")]), &[]).expect("ignored");
    }

    #[test]
    fn missing_file_is_named() {
        let e = load(Some(Path::new("/nonexistent/r.toml")), Vec::new(), &[]).expect_err("read");
        assert!(e.to_string().contains("/nonexistent/r.toml"), "{e}");
    }

    #[test]
    fn env_text_values_keep_their_type() {
        assert_eq!(text_value("true"), Value::Boolean(true));
        assert_eq!(text_value("12"), Value::Integer(12));
        assert_eq!(text_value("5s"), Value::String("5s".into()));
        assert_eq!(
            text_value("[\"a\", \"b\"]"),
            Value::Array(vec![Value::String("a".into()), Value::String("b".into())])
        );
    }
}
