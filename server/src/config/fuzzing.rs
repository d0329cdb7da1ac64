//! Properties of configuration parsing checked by the `config_toml` fuzz target (and by the
//! unit tests below on fixed inputs).

use super::{ConfigError, parse_toml_str};

/// Parses arbitrary bytes as a config file. Never panics; and whatever parses must print as
/// TOML that parses back to the same configuration, or `check-config` would show a config
/// that is not the one in force.
pub fn check_config_bytes(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_toml_str(text) {
        Ok(config) => {
            let printed = config.to_toml();
            let again = parse_toml_str(&printed)
                .unwrap_or_else(|e| panic!("effective config does not reparse: {e}\n{printed}"));
            assert_eq!(again, config, "round trip changed the config:\n{printed}");
        }
        Err(ConfigError::Key { key, reason, .. }) => {
            assert!(!reason.is_empty(), "error without a reason for {key:?}");
        }
        Err(_) => {}
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn seeds_hold_the_property() {
        for seed in [
            "",
            "listen = \"[::1]:8443\"\n[tls]\nprofile = \"modern\"\nhandshake_timeout = \"1s 500ms\"\n",
            "[http]\nheader_read_timeout = \"100ms\"\n",
            "[tls]\nbogus = 1\n",
            "\u{0}",
        ] {
            super::check_config_bytes(seed.as_bytes());
        }
    }
}
