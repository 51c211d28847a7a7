//! Everything a parsed configuration must satisfy beyond its types: the rules' own checks
//! ([`Rules::problems`]), k ≥ 1, the tokens, the limits, the briefing; and, against a region, the
//! tokens' units. Each problem names its key and line.

use std::collections::HashSet;

use fengqiao_analytics::response::RuleProblem;
use fengqiao_ingest::Region;

use crate::locate::{dotted, line_of, Seg};
use crate::{Config, Problem, MIN_TOKEN_LEN};

/// A problem at `path` of the configuration's own text.
fn at(config: &Config, path: &[Seg], message: String) -> Problem {
    Problem {
        file: config.source.file.clone(),
        line: line_of(&config.source.text, path),
        key: dotted(path),
        message,
    }
}

/// Every problem of a parsed configuration (`rules_text`: the included rule file's text, if any).
pub fn problems(config: &Config, rules_text: Option<&str>) -> Vec<Problem> {
    let mut out: Vec<Problem> = config
        .rules
        .value
        .problems()
        .iter()
        .map(|p| rule_problem(config, rules_text, p))
        .collect();
    if config.suppress_below < 1 {
        out.push(at(
            config,
            &[Seg::Key("suppress_below")],
            "k must be at least 1 (3 is usual): displays would show every count".into(),
        ));
    }
    if config.briefing.top < 1 {
        out.push(at(
            config,
            &[Seg::Key("briefing"), Seg::Key("top")],
            "must be at least 1".into(),
        ));
    }
    out.extend(token_problems(config));
    out.extend(limit_problems(config));
    out
}

/// A rule problem located in the configuration (`[rules]`) or in the included rule file.
fn rule_problem(config: &Config, rules_text: Option<&str>, p: &RuleProblem) -> Problem {
    let mut path = Vec::new();
    let (file, text) = match (&config.rules.file, rules_text) {
        (Some(name), Some(text)) => {
            let base = std::path::Path::new(&config.source.file)
                .parent()
                .unwrap_or(std::path::Path::new(""));
            (base.join(name).display().to_string(), text)
        }
        _ => {
            path.push(Seg::Key("rules"));
            (config.source.file.clone(), config.source.text.as_str())
        }
    };
    if let (Some(list), Some(i)) = (p.list, p.index) {
        path.push(Seg::Key(list));
        path.push(Seg::Index(i));
    }
    let element = line_of(text, &path);
    if let Some(field) = p.field {
        path.push(Seg::Key(field));
    }
    Problem {
        file,
        line: line_of(text, &path).or(element),
        key: dotted(&path),
        message: p.message.clone(),
    }
}

fn token_problems(config: &Config) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (i, t) in config.tokens.iter().enumerate() {
        let path = [Seg::Key("tokens"), Seg::Index(i), Seg::Key("token")];
        let which = format!("token {} ({:?})", i + 1, t.name);
        if t.token.chars().count() < MIN_TOKEN_LEN {
            out.push(at(
                config,
                &path,
                format!("{which}: shorter than {MIN_TOKEN_LEN} characters"),
            ));
        }
        if !seen.insert(t.token.as_str()) {
            out.push(at(config, &path, format!("{which}: the same token is listed twice")));
        }
        if t.token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            out.push(at(
                config,
                &path,
                format!("{which}: contains spaces or control characters"),
            ));
        }
    }
    out
}

fn limit_problems(config: &Config) -> Vec<Problem> {
    let limits = &config.limits;
    let mut out = Vec::new();
    let at_least_one = [
        ("workers", limits.workers as u64),
        ("connections", limits.connections as u64),
        ("streams", limits.streams as u64),
        ("duckdb_threads", limits.duckdb_threads as u64),
        ("request_seconds", limits.request_seconds),
    ];
    for (key, value) in at_least_one {
        if value == 0 {
            out.push(at(
                config,
                &[Seg::Key("limits"), Seg::Key(key)],
                "must be at least 1".into(),
            ));
        }
    }
    if !limits
        .memory
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == ' ')
    {
        out.push(at(
            config,
            &[Seg::Key("limits"), Seg::Key("memory")],
            format!("{:?}: a size like \"2GB\"", limits.memory),
        ));
    }
    out
}

/// The tokens whose unit `region` does not have.
pub fn region_problems(config: &Config, region: &Region) -> Vec<Problem> {
    config
        .tokens
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let unit = t.unit.as_ref()?;
            region.unit(unit).is_none().then(|| {
                at(
                    config,
                    &[Seg::Key("tokens"), Seg::Index(i), Seg::Key("unit")],
                    format!(
                        "token {} ({:?}): unit {unit:?} is not in region {} ({})",
                        i + 1,
                        t.name,
                        region.code,
                        region.name
                    ),
                )
            })
        })
        .collect()
}
