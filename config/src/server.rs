//! What the server needs of the configuration: tokens and their roles, the limits on work, the
//! address it may listen on and the host names it answers to, the admin token generated when no
//! token is configured.

use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Config, ConfigError};

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

impl Config {
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
