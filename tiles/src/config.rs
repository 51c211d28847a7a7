//! The server's configuration file (`--config fengqiao.toml`): bearer tokens with a role and an
//! optional admin-unit scope, the small-count threshold, the host names the server answers to, the
//! limits on work, connections and memory, the retention of rejected lines, and the log format.
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
//! Without tokens `fengqiao serve` generates an admin token at start ([`ServerConfig::ensure_token`]:
//! printed once, written to a 0600 file); nobody is trusted for where they connect from. It still
//! refuses to listen on anything but a loopback address then ([`ServerConfig::check_bind`]).

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
    /// `/metrics` only (a Prometheus scraper): no case figures at all.
    Monitor,
    /// Aggregates only, through the display projection (docs/api.md, threat model): the wall.
    Display,
    /// Aggregates and case lists without personal fields.
    Analyst,
    /// Everything, personal fields and ingest included.
    Admin,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::Monitor => "monitor",
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
    /// Host names (with or without port) the server answers to besides the address it listens on
    /// and `localhost`: a request whose `Host` or `Origin` names another is refused (DNS rebinding,
    /// cross-site requests). Required when listening on 0.0.0.0 or [::].
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Limits on work, connections and memory.
    #[serde(default)]
    pub limits: Limits,
    /// Rejected input lines keep their raw text this many days, then it is erased (PIPL: it may hold
    /// names, phone numbers and summaries).
    #[serde(default = "default_retention")]
    pub rejected_retention_days: u32,
}

/// What one request, and the server as a whole, may use (`[limits]` in the configuration).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Heavy requests computed at once (each on its own thread with its own store connection).
    pub workers: usize,
    /// Heavy requests waiting for a worker; beyond this a request is answered 503 with Retry-After.
    pub queue: usize,
    /// Heavy requests of any one token running at once, so that one client cannot take every worker.
    pub per_token: usize,
    /// Heavy requests of any one token waiting behind those; beyond this 503 for that token.
    pub per_token_queue: usize,
    /// Seconds a request may take before it is answered 503 and its work stopped.
    pub request_seconds: u64,
    /// Open connections; further ones wait to be accepted.
    pub connections: usize,
    /// Open event streams (`/api/events`); beyond this 503.
    pub streams: usize,
    /// Bytes of computed heat layers kept in memory.
    pub layer_cache_bytes: usize,
    /// Bytes of encoded tiles kept in memory.
    pub tile_cache_bytes: usize,
    /// Bytes of display answers kept in memory (every wall asks the same).
    pub answer_cache_bytes: usize,
    /// Work units one request may ask for: H3 cells (or units) × time steps × neighbourhood size
    /// (docs/api.md, "Bounded work").
    pub work_units: u64,
    /// Cells one heat layer or heat-map answer may hold.
    pub cells: u64,
    /// DuckDB's memory limit for the whole store (ingests included), e.g. "2GB".
    pub memory: String,
    /// DuckDB's threads (its queries run at the workers' lowered priority with 1).
    pub duckdb_threads: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            workers: 4,
            queue: 32,
            per_token: 1,
            per_token_queue: 8,
            request_seconds: 30,
            connections: 1024,
            streams: 64,
            layer_cache_bytes: 256 << 20,
            tile_cache_bytes: 128 << 20,
            answer_cache_bytes: 64 << 20,
            work_units: 100_000_000,
            cells: 400_000,
            memory: "1GB".into(),
            duckdb_threads: 1,
        }
    }
}

fn default_suppress_below() -> u64 {
    3
}

fn default_retention() -> u32 {
    30
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            tokens: Vec::new(),
            suppress_below: default_suppress_below(),
            log_json: false,
            briefings_dir: None,
            hosts: Vec::new(),
            limits: Limits::default(),
            rejected_retention_days: default_retention(),
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
    #[error(
        "refusing to listen on {addr} without `hosts = [...]` in the configuration: the server checks \
         every request's Host and Origin against the names it is reached by (see docs/api.md)"
    )]
    NoHosts { addr: SocketAddr },
    #[error("{file}: {source}")]
    TokenFile {
        file: String,
        #[source]
        source: std::io::Error,
    },
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
            if t.token.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(invalid(format!("{which}: contains spaces or control characters")));
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
        let limits = &config.limits;
        if [
            limits.workers,
            limits.connections,
            limits.streams,
            limits.duckdb_threads,
        ]
        .contains(&0)
            || limits.request_seconds == 0
        {
            return Err(invalid(
                "[limits]: workers, connections, streams, duckdb_threads and request_seconds must be at least 1".into(),
            ));
        }
        if !limits
            .memory
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == ' ')
        {
            return Err(invalid(format!("[limits] memory = {:?}: like \"2GB\"", limits.memory)));
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

    /// Refuses a non-loopback address when no token is configured, and an unspecified one
    /// (0.0.0.0, [::]) without the host names to check requests against.
    pub fn check_bind(&self, addr: SocketAddr) -> Result<(), ConfigError> {
        if self.tokens.is_empty() && !addr.ip().is_loopback() {
            return Err(ConfigError::OpenToNetwork { addr });
        }
        if addr.ip().is_unspecified() && self.hosts.is_empty() {
            return Err(ConfigError::NoHosts { addr });
        }
        Ok(())
    }

    /// The host names a request may name in `Host` or `Origin` when the server listens on `addr`:
    /// the configured ones, the address itself, and the loopback names when it is loopback.
    pub fn allowed_hosts(&self, addr: SocketAddr) -> Vec<String> {
        let mut hosts: Vec<String> = self.hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
        if !addr.ip().is_unspecified() {
            hosts.push(match addr {
                SocketAddr::V4(a) => a.ip().to_string(),
                SocketAddr::V6(a) => format!("[{}]", a.ip()),
            });
        }
        if addr.ip().is_loopback() {
            hosts.extend(["localhost", "127.0.0.1", "[::1]"].map(String::from));
        }
        hosts.sort();
        hosts.dedup();
        hosts
    }

    /// Without any token configured, generates an admin token, writes it to `file` (mode 0600,
    /// replacing an earlier one) and returns it, to be shown once; with tokens, does nothing.
    pub fn ensure_token(&mut self, file: &Path) -> Result<Option<String>, ConfigError> {
        if !self.tokens.is_empty() {
            return Ok(None);
        }
        let io = |source| ConfigError::TokenFile {
            file: file.display().to_string(),
            source,
        };
        let token = generate_token().map_err(io)?;
        write_private(file, &format!("{token}\n")).map_err(io)?;
        self.tokens.push(TokenConfig {
            name: "generated-admin".into(),
            token: token.clone(),
            role: Role::Admin,
            unit: None,
        });
        Ok(Some(token))
    }
}

/// A random token: 32 bytes from the operating system's generator, hex-encoded.
pub fn generate_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes `text` to `file` readable and writable by its owner only.
fn write_private(file: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let _ = std::fs::remove_file(file);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(file)?.write_all(text.as_bytes())
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
        assert!(Role::Monitor < Role::Display && Role::Display < Role::Analyst && Role::Analyst < Role::Admin);
        let spaced = GOOD.replace("wall-token-0123456789abcdef", "wall token 0123456789abcdef");
        assert!(ServerConfig::parse(&spaced, "f.toml", &region).is_err());
        let limits = format!("{GOOD}\n[limits]\nworkers = 0\n");
        assert!(ServerConfig::parse(&limits, "f.toml", &region)
            .unwrap_err()
            .to_string()
            .contains("workers"));
        let memory = format!("{GOOD}\n[limits]\nmemory = \"1GB'; DROP TABLE cases; --\"\n");
        assert!(ServerConfig::parse(&memory, "f.toml", &region).is_err());
    }

    #[test]
    fn a_generated_token_is_written_for_its_owner_only_and_used_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("admin.token");
        let mut config = ServerConfig::default();
        let token = config.ensure_token(&file).unwrap().unwrap();
        assert_eq!(token.len(), 64);
        assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), token);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(config.tokens[0].role, Role::Admin);
        // A second start makes a new one; a configuration with tokens none.
        let mut again = ServerConfig::default();
        assert_ne!(again.ensure_token(&file).unwrap().unwrap(), token);
        assert!(config.ensure_token(&file).unwrap().is_none());
    }

    #[test]
    fn requests_may_name_only_the_hosts_the_server_is_reached_by() {
        let mut c = ServerConfig::default();
        let local = c.allowed_hosts("127.0.0.1:8080".parse().unwrap());
        assert!(local.contains(&"localhost".to_string()) && local.contains(&"127.0.0.1".to_string()));
        c.hosts = vec!["Fengqiao.Intranet".into()];
        let lan = c.allowed_hosts("10.1.2.3:8080".parse().unwrap());
        assert_eq!(lan, ["10.1.2.3", "fengqiao.intranet"]);
        c.tokens = ServerConfig::parse(GOOD, "f", &Region::chenzhou()).unwrap().tokens;
        assert!(c.check_bind("0.0.0.0:8080".parse().unwrap()).is_ok());
        c.hosts.clear();
        assert!(matches!(
            c.check_bind("0.0.0.0:8080".parse().unwrap()),
            Err(ConfigError::NoHosts { .. })
        ));
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
        assert!(guarded.check_bind("10.0.0.5:8080".parse().unwrap()).is_ok());
    }
}
