//! The server's configuration file (`--config fengqiao.toml`): bearer tokens with a role and an
//! optional admin-unit scope, the small-count threshold, and the log format.
//!
//! ```toml
//! suppress_below = 3          # display tokens never see counts of 1 … 2
//! log_json = false
//!
//! [[tokens]]
//! name = "wall"               # for the log; never the token itself
//! token = "a-long-random-string-of-at-least-24-characters"
//! role = "display"            # display | analyst | admin
//!
//! [[tokens]]
//! name = "beihu-analyst"
//! token = "…"
//! role = "analyst"
//! unit = "431002"             # sees only this county (属地管理)
//! ```
//!
//! Without tokens the server serves everyone as `admin` — and therefore refuses to listen on
//! anything but a loopback address ([`ServerConfig::check_bind`]).

use std::net::SocketAddr;
use std::path::Path;

use fengqiao_ingest::Region;
use serde::{Deserialize, Serialize};

/// Shortest token accepted.
pub const MIN_TOKEN_LEN: usize = 24;

/// What a token may do. Ordered: each role may do what the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Aggregates only, small counts suppressed: the wall display.
    Display,
    /// Aggregates and case lists without personal fields.
    Analyst,
    /// Everything, personal fields and ingest included.
    Admin,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::Display => "display",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }
}

/// One token.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    pub name: String,
    pub token: String,
    pub role: Role,
    /// The code of the admin unit this token is limited to.
    #[serde(default)]
    pub unit: Option<String>,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    #[serde(default)]
    pub tokens: Vec<TokenConfig>,
    /// Display tokens see no count below this (cells, clusters, places).
    #[serde(default = "default_suppress_below")]
    pub suppress_below: u64,
    /// Log as JSON lines instead of text.
    #[serde(default)]
    pub log_json: bool,
    /// Where `fengqiao briefing` output directories are served from at `/briefings/` (none: the
    /// listing is empty).
    #[serde(default)]
    pub briefings_dir: Option<std::path::PathBuf>,
}

fn default_suppress_below() -> u64 {
    3
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            tokens: Vec::new(),
            suppress_below: default_suppress_below(),
            log_json: false,
            briefings_dir: None,
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "refusing to listen on {addr} without tokens: anyone who can reach it would read case data. \
         Listen on 127.0.0.1, or give --config with [[tokens]] (see docs/api.md)"
    )]
    OpenToNetwork { addr: SocketAddr },
}

impl ServerConfig {
    /// Parses and checks a configuration against `region` (token length and uniqueness, unit codes);
    /// `file` names it in errors.
    pub fn parse(text: &str, file: &str, region: &Region) -> Result<ServerConfig, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            file: file.to_string(),
            message,
        };
        let config: ServerConfig = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let mut seen = std::collections::HashSet::new();
        for (i, t) in config.tokens.iter().enumerate() {
            let which = format!("token {} ({:?})", i + 1, t.name);
            if t.token.chars().count() < MIN_TOKEN_LEN {
                return Err(invalid(format!("{which}: shorter than {MIN_TOKEN_LEN} characters")));
            }
            if !seen.insert(t.token.as_str()) {
                return Err(invalid(format!("{which}: the same token is listed twice")));
            }
            if let Some(unit) = &t.unit {
                if region.unit(unit).is_none() {
                    return Err(invalid(format!(
                        "{which}: unit {unit:?} is not in region {}",
                        region.code
                    )));
                }
            }
        }
        Ok(config)
    }

    /// Reads a configuration file.
    pub fn load(path: &Path, region: &Region) -> Result<ServerConfig, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            file: file.clone(),
            source,
        })?;
        ServerConfig::parse(&text, &file, region)
    }

    /// Refuses a non-loopback address when no token is configured.
    pub fn check_bind(&self, addr: SocketAddr) -> Result<(), ConfigError> {
        if self.tokens.is_empty() && !addr.ip().is_loopback() {
            return Err(ConfigError::OpenToNetwork { addr });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
suppress_below = 5
[[tokens]]
name = "wall"
token = "wall-token-0123456789abcdef"
role = "display"
[[tokens]]
name = "county"
token = "county-token-0123456789abcdef"
role = "analyst"
unit = "431002"
"#;

    #[test]
    fn a_good_file_parses_and_bad_ones_say_why() {
        let region = Region::chenzhou();
        let c = ServerConfig::parse(GOOD, "f.toml", &region).unwrap();
        assert_eq!(c.suppress_below, 5);
        assert_eq!(c.tokens[1].role, Role::Analyst);
        assert_eq!(c.tokens[1].unit.as_deref(), Some("431002"));
        let short = GOOD.replace("wall-token-0123456789abcdef", "short");
        let err = ServerConfig::parse(&short, "f.toml", &region).unwrap_err().to_string();
        assert!(err.contains("f.toml") && err.contains("shorter"), "{err}");
        let twice = GOOD.replace("county-token-0123456789abcdef", "wall-token-0123456789abcdef");
        assert!(ServerConfig::parse(&twice, "f.toml", &region)
            .unwrap_err()
            .to_string()
            .contains("twice"));
        let unit = GOOD.replace("431002", "999999");
        assert!(ServerConfig::parse(&unit, "f.toml", &region)
            .unwrap_err()
            .to_string()
            .contains("999999"));
        let role = GOOD.replace("\"display\"", "\"boss\"");
        assert!(ServerConfig::parse(&role, "f.toml", &region).is_err());
        assert!(Role::Display < Role::Analyst && Role::Analyst < Role::Admin);
    }

    #[test]
    fn without_tokens_only_loopback_is_allowed() {
        let open = ServerConfig::default();
        assert!(open.check_bind("127.0.0.1:8080".parse().unwrap()).is_ok());
        assert!(open.check_bind("[::1]:8080".parse().unwrap()).is_ok());
        let err = open
            .check_bind("0.0.0.0:8080".parse().unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("refusing to listen on 0.0.0.0:8080"), "{err}");
        let region = Region::chenzhou();
        let guarded = ServerConfig::parse(GOOD, "f.toml", &region).unwrap();
        assert!(guarded.check_bind("0.0.0.0:8080".parse().unwrap()).is_ok());
    }
}
