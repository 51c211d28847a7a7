use fengqiao_analytics::response::{Level, Rules};
use fengqiao_ingest::model::Category;

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

fn problems(text: &str) -> Vec<Problem> {
    match Config::parse(text, "f.toml") {
        Err(ConfigError::Invalid { problems }) => problems,
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn the_example_file_is_the_defaults() {
    let example = Config::parse(include_str!("../fengqiao.example.toml"), "fengqiao.example.toml").unwrap();
    let defaults = Config {
        source: example.source.clone(),
        ..Config::default()
    };
    assert_eq!(example, defaults);
    assert_eq!(example.rules(), &Rules::default());
    assert_eq!(example.rules().name, "枫桥默认规则");
    assert_eq!(example.departments().of(Category::Labour).lead, "人社局");
}

#[test]
fn a_good_file_parses_and_bad_ones_say_why() {
    let region = Region::chenzhou();
    let c = Config::parse(GOOD, "f.toml").unwrap();
    c.check_region(&region).unwrap();
    assert_eq!(c.suppress_below, 5);
    assert_eq!(c.tokens[1].role, Role::Analyst);
    assert_eq!(c.tokens[1].unit.as_deref(), Some("431002"));
    let short = problems(&GOOD.replace("wall-token-0123456789abcdef", "short"));
    assert_eq!(
        short[0].to_string(),
        "f.toml:5: tokens#1.token: token 1 (\"wall\"): shorter than 24 characters"
    );
    let twice = problems(&GOOD.replace("county-token-0123456789abcdef", "wall-token-0123456789abcdef"));
    assert!(
        twice[0].message.contains("twice") && twice[0].line == Some(9),
        "{twice:?}"
    );
    let unit = Config::parse(&GOOD.replace("431002", "999999"), "f.toml").unwrap();
    let err = unit.check_region(&region).unwrap_err().to_string();
    assert!(
        err.starts_with("f.toml:11: tokens#2.unit:") && err.contains("999999"),
        "{err}"
    );
    let role = problems(&GOOD.replace("\"display\"", "\"boss\""));
    assert_eq!(
        (role[0].line, role[0].key.as_str()),
        (Some(6), "tokens#1.role"),
        "{role:?}"
    );
    assert!(role[0].message.contains("unknown variant `boss`"), "{role:?}");
    assert!(Role::Monitor < Role::Display && Role::Display < Role::Analyst && Role::Analyst < Role::Admin);
    let spaced = problems(&GOOD.replace("wall-token-0123456789abcdef", "wall token 0123456789abcdef"));
    assert!(spaced[0].message.contains("spaces"));
    let limits = problems(&format!("{GOOD}\n[limits]\nworkers = 0\nstreams = 0\n"));
    let keys: Vec<&str> = limits.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["limits.workers", "limits.streams"]);
    assert!(
        problems(&format!("{GOOD}\n[limits]\nmemory = \"1GB'; DROP TABLE cases; --\"\n"))[0]
            .key
            .contains("memory")
    );
    let k = problems("suppress_below = 0\n");
    assert_eq!(
        k[0].to_string(),
        "f.toml:1: suppress_below: k must be at least 1 (3 is usual): displays would show every count"
    );
    let unknown = problems("supress_below = 3\n");
    assert_eq!((unknown[0].line, unknown[0].key.as_str()), (Some(1), "supress_below"));
    assert!(unknown[0].message.contains("unknown field"), "{unknown:?}");
    let schedule = problems("[briefing]\nschedule = \"someday\"\n");
    assert_eq!(
        (schedule[0].line, schedule[0].key.as_str()),
        (Some(2), "briefing.schedule")
    );
}

/// Custom rules inline: `[rules]` in the rule file's own format, levels unlike the defaults.
const CUSTOM: &str = r#"
suppress_below = 3

[rules]
name = "北湖区规则"
category_share = 0.2

[[rules.rule]]
level = "orange"
min_confidence = 1

[[rules.volume_rule]]
level = "orange"
min_confidence = 1
"#;

#[test]
fn rules_and_departments_are_read_inline_or_from_their_files() {
    let c = Config::parse(CUSTOM, "f.toml").unwrap();
    assert_eq!(c.rules().name, "北湖区规则");
    assert_eq!(c.rules().rules.len(), 1);
    assert_eq!(c.rules().volume_rules[0].level, Level::Orange);
    let dir = tempfile::tempdir().unwrap();
    let rules = "category_share = 0.3\n[[rule]]\nlevel = \"yellow\"\nmin_confidence = 2\n";
    std::fs::write(dir.path().join("county-rules.toml"), rules).unwrap();
    let departments = fengqiao_analytics::departments::DEFAULT_DEPARTMENTS.replace("\"人社局\"", "\"劳动监察大队\"");
    std::fs::write(dir.path().join("d.toml"), departments).unwrap();
    let file = dir.path().join("fengqiao.toml");
    std::fs::write(&file, "rules = \"county-rules.toml\"\ndepartments = \"d.toml\"\n").unwrap();
    let c = Config::load(&file).unwrap();
    // An unnamed rule set is named after its file.
    assert_eq!(c.rules().name, "county-rules");
    assert_eq!(c.rules().category_share, 0.3);
    assert_eq!(c.departments().of(Category::Labour).lead, "劳动监察大队");
    let briefing = c.briefing_options(fengqiao_analytics::briefing::ReportPeriod::week("2026-W44").unwrap());
    assert_eq!((briefing.rules.name.as_str(), briefing.top), ("county-rules", 10));
    // Inline departments, checked as a file is.
    let inline = "[departments.categories]\nlabour = { lead = \"人社局\" }\n";
    let p = problems(inline);
    assert_eq!(
        (p[0].line, p[0].key.as_str()),
        (Some(1), "departments.categories"),
        "{p:?}"
    );
    assert!(p[0].message.contains("lacks marriage_family"), "{p:?}");
    // A missing included file names itself.
    std::fs::write(&file, "rules = \"nowhere.toml\"\n").unwrap();
    let err = Config::load(&file).unwrap_err().to_string();
    assert!(err.contains("nowhere.toml: cannot read the included file"), "{err}");
}

#[test]
fn overlapping_unordered_and_out_of_range_rules_are_named_with_their_lines() {
    // The yellow rule holds whenever the red one below it does: red can never be given.
    let unordered = "[rules]\ncategory_share = 0.15\n\n[[rules.rule]]\nlevel = \"yellow\"\nmin_confidence = 2\n\n\
                     [[rules.rule]]\nlevel = \"red\"\nmin_confidence = 3\nmin_ratio = 2.0\n";
    let p = problems(unordered);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!((p[0].line, p[0].key.as_str()), (Some(8), "rules.rule#2"), "{p:?}");
    assert!(p[0].message.contains("(red) never applies: #1 (yellow)"), "{p:?}");
    let bad = "[rules]\ncategory_share = 1.5\n[[rules.rule]]\nlevel = \"red\"\nmin_confidence = 4\n\
               [[rules.volume_rule]]\nlevel = \"red\"\nmin_ratio = 2.0\n";
    let p = problems(bad);
    let shown: Vec<String> = p.iter().map(|p| format!("{:?} {}", p.line, p.key)).collect();
    assert_eq!(
        shown,
        [
            "Some(2) rules.category_share",
            "Some(5) rules.rule#1.min_confidence",
            "Some(8) rules.volume_rule#1.min_ratio"
        ]
    );
    let level = problems("[rules]\ncategory_share = 0.2\n[[rules.rule]]\nlevel = \"purple\"\n");
    assert_eq!(
        (level[0].line, level[0].key.as_str()),
        (Some(4), "rules.rule#1.level"),
        "{level:?}"
    );
    assert!(level[0].message.contains("unknown variant `purple`"), "{level:?}");
    // In an included file: that file's name and line.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("r.toml"),
        unordered.replace("[rules]\n", "").replace("rules.rule", "rule"),
    )
    .unwrap();
    let file = dir.path().join("fengqiao.toml");
    std::fs::write(&file, "rules = \"r.toml\"\n").unwrap();
    let err = Config::load(&file).unwrap_err().to_string();
    assert!(err.contains("r.toml:7: rule#2: (red) never applies"), "{err}");
}

#[test]
fn a_generated_token_is_written_for_its_owner_only_and_used_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("admin.token");
    let mut config = Config::default();
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
    let mut again = Config::default();
    assert_ne!(again.ensure_token(&file).unwrap().unwrap(), token);
    assert!(config.ensure_token(&file).unwrap().is_none());
}

#[test]
fn requests_may_name_only_the_hosts_the_server_is_reached_by() {
    let mut c = Config::default();
    let local = c.allowed_hosts("127.0.0.1:8080".parse().unwrap());
    assert!(local.contains(&"localhost".to_string()) && local.contains(&"127.0.0.1".to_string()));
    c.hosts = vec!["Fengqiao.Intranet".into()];
    let lan = c.allowed_hosts("10.1.2.3:8080".parse().unwrap());
    assert_eq!(lan, ["10.1.2.3", "fengqiao.intranet"]);
    c.tokens = Config::parse(GOOD, "f").unwrap().tokens;
    assert!(c.check_bind("0.0.0.0:8080".parse().unwrap()).is_ok());
    c.hosts.clear();
    assert!(matches!(
        c.check_bind("0.0.0.0:8080".parse().unwrap()),
        Err(ConfigError::NoHosts { .. })
    ));
}

#[test]
fn without_tokens_only_loopback_is_allowed() {
    let open = Config::default();
    assert!(open.check_bind("127.0.0.1:8080".parse().unwrap()).is_ok());
    assert!(open.check_bind("[::1]:8080".parse().unwrap()).is_ok());
    let err = open
        .check_bind("0.0.0.0:8080".parse().unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("refusing to listen on 0.0.0.0:8080"), "{err}");
    let guarded = Config::parse(GOOD, "f.toml").unwrap();
    assert!(guarded.check_bind("10.0.0.5:8080".parse().unwrap()).is_ok());
}
