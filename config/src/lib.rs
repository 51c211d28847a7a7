//! The one configuration of a Fengqiao installation, `fengqiao.toml` (docs/configuration.md;
//! a commented example with every key at its default: `config/fengqiao.example.toml`): the
//! four-level response rules and the department table (inline sections, or the names of files in
//! their own format), the display's small-count threshold k, the tokens with their roles and
//! scopes, the host names, the limits on work and memory, the briefings and their schedule.
//!
//! Declared once here, read by the CLI (`--config` on every command), the server and the
//! briefing. [`Config::parse`] reads a file's text and reports everything wrong with it at once,
//! each [`Problem`] naming the file, the key and (where the TOML gives it) the line;
//! `fengqiao config check` prints them.

mod check;
mod locate;
mod schedule;
mod server;

use std::fmt;
use std::path::{Path, PathBuf};

use fengqiao_analytics::briefing::{BriefingOptions, ReportPeriod};
use fengqiao_analytics::departments::Departments;
use fengqiao_analytics::response::Rules;
use fengqiao_ingest::Region;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

pub use schedule::Weekly;
pub use server::{generate_token, Limits, Role, TokenConfig, MIN_TOKEN_LEN};

/// The whole file. Every key is optional; the defaults are today's behaviour without a file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The four-level response rules (`[rules]`, or `rules = "FILE"`): default the shipped set.
    #[serde(default)]
    pub rules: Included<Rules>,
    /// Lead and supporting departments per category (`[departments.categories]`, or
    /// `departments = "FILE"`): default the shipped table.
    #[serde(default)]
    pub departments: Included<Departments>,
    /// Display tokens never see a count below this (k of the display projection); at least 1.
    #[serde(default = "default_suppress_below")]
    pub suppress_below: u64,
    #[serde(default)]
    pub tokens: Vec<TokenConfig>,
    /// Host names (with or without port) the server answers to besides the address it listens on
    /// and `localhost`: a request whose `Host` or `Origin` names another is refused (DNS rebinding,
    /// cross-site requests). Required when listening on 0.0.0.0 or [::].
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Limits on work, connections and memory.
    #[serde(default)]
    pub limits: Limits,
    /// Where briefing directories are served from at `/briefings/` (none: `briefings/` beside the
    /// store, as `fengqiao serve` sets it).
    #[serde(default)]
    pub briefings_dir: Option<PathBuf>,
    /// The briefings: table sizes and the weekly schedule.
    #[serde(default)]
    pub briefing: BriefingConfig,
    /// Log as JSON lines instead of text.
    #[serde(default)]
    pub log_json: bool,
    /// Rejected input lines keep their raw text this many days, then it is erased (PIPL: it may hold
    /// names, phone numbers and summaries).
    #[serde(default = "default_retention")]
    pub rejected_retention_days: u32,
    /// The text the configuration was read from (for locating keys in later checks).
    #[serde(skip)]
    pub source: Source,
}

/// `[briefing]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BriefingConfig {
    /// Rows of the cluster, emerging, recurring and alert tables.
    pub top: usize,
    /// Make the weekly briefing of the week before at this weekday and time (China time), e.g.
    /// "MON 08:00" or "周一 08:00"; none by default.
    #[serde(deserialize_with = "schedule::deserialize_optional")]
    pub schedule: Option<Weekly>,
}

impl Default for BriefingConfig {
    fn default() -> Self {
        BriefingConfig {
            top: 10,
            schedule: None,
        }
    }
}

/// Where a configuration was read from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Source {
    pub file: String,
    pub text: String,
}

/// A section given inline or as the name of a file in the section's own format (relative to the
/// configuration's folder); `file` says which, `value` is the section.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Included<T> {
    pub file: Option<PathBuf>,
    pub value: T,
}

impl<'de, T: Deserialize<'de> + Default> Deserialize<'de> for Included<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Section<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de> + Default> Visitor<'de> for Section<T> {
            type Value = Included<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table, or the name of a file holding one")
            }
            fn visit_str<E: de::Error>(self, file: &str) -> Result<Included<T>, E> {
                Ok(Included {
                    file: Some(PathBuf::from(file)),
                    value: T::default(),
                })
            }
            fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Included<T>, M::Error> {
                let value = T::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Included { file: None, value })
            }
        }
        deserializer.deserialize_any(Section(std::marker::PhantomData))
    }
}

fn default_suppress_below() -> u64 {
    3
}

fn default_retention() -> u32 {
    30
}

impl Default for Config {
    fn default() -> Self {
        Config {
            rules: Included::default(),
            departments: Included::default(),
            suppress_below: default_suppress_below(),
            tokens: Vec::new(),
            hosts: Vec::new(),
            limits: Limits::default(),
            briefings_dir: None,
            briefing: BriefingConfig::default(),
            log_json: false,
            rejected_retention_days: default_retention(),
            source: Source::default(),
        }
    }
}

/// One thing wrong with a configuration: the file, the line when known, the key, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: Option<usize>,
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}", list(problems))]
    Invalid { problems: Vec<Problem> },
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
    OpenToNetwork { addr: std::net::SocketAddr },
    #[error(
        "refusing to listen on {addr} without `hosts = [...]` in the configuration: the server checks \
         every request's Host and Origin against the names it is reached by (see docs/api.md)"
    )]
    NoHosts { addr: std::net::SocketAddr },
    #[error("{file}: {source}")]
    TokenFile {
        file: String,
        #[source]
        source: std::io::Error,
    },
}

fn list(problems: &[Problem]) -> String {
    problems.iter().map(Problem::to_string).collect::<Vec<_>>().join("\n")
}

impl Config {
    /// Parses a configuration's text and checks it (`file` names it in problems; included files
    /// are read relative to its folder). Every problem found is reported, not only the first.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            problems: vec![locate::toml_problem(&e, text, file)],
        })?;
        config.source = Source {
            file: file.to_string(),
            text: text.to_string(),
        };
        let base = Path::new(file).parent().unwrap_or(Path::new(""));
        let mut problems = Vec::new();
        let mut rules_text = None;
        if let Some(name) = &config.rules.file {
            match include::<Rules>(&base.join(name)) {
                Ok((rules, text)) => {
                    config.rules.value = rules;
                    rules_text = Some(text);
                }
                Err(p) => problems.push(p),
            }
        }
        if let Some(name) = &config.departments.file {
            match include::<Departments>(&base.join(name)) {
                Ok((departments, _)) => config.departments.value = departments,
                Err(p) => problems.push(p),
            }
        }
        let named_after = match &config.rules.file {
            Some(name) => base.join(name).display().to_string(),
            None => file.to_string(),
        };
        config.rules.value.name_after(&named_after);
        problems.extend(check::problems(&config, rules_text.as_deref()));
        // In the order of the files' lines.
        problems.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid { problems })
        }
    }

    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            file: file.clone(),
            source,
        })?;
        Config::parse(&text, &file)
    }

    /// Checks what depends on the region: each token's unit must be one of its units.
    pub fn check_region(&self, region: &Region) -> Result<(), ConfigError> {
        let problems = check::region_problems(self, region);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid { problems })
        }
    }

    /// The response rules in force.
    pub fn rules(&self) -> &Rules {
        &self.rules.value
    }

    /// The department table in force.
    pub fn departments(&self) -> &Departments {
        &self.departments.value
    }

    /// The options of a briefing of `period` under this configuration (its rules, departments and
    /// table size): the CLI's, `POST /briefings/`'s and the schedule's alike.
    pub fn briefing_options(&self, period: ReportPeriod) -> BriefingOptions {
        let mut opts = BriefingOptions::new(period);
        opts.rules = self.rules().clone();
        opts.departments = self.departments().clone();
        opts.top = self.briefing.top;
        opts
    }
}

/// An included file parsed as `T`, with its text; a problem naming it otherwise.
fn include<T: serde::de::DeserializeOwned>(path: &Path) -> Result<(T, String), Problem> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| Problem {
        file: file.clone(),
        line: None,
        key: String::new(),
        message: format!("cannot read the included file: {e}"),
    })?;
    let value = toml::from_str(&text).map_err(|e| locate::toml_problem(&e, &text, &file))?;
    Ok((value, text))
}

#[cfg(test)]
mod tests;
