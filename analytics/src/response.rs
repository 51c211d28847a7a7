//! The four-level response (四级响应): which level of the hierarchy must act on a hot-spot cluster,
//! decided by a documented rule set (`analytics/config/response-rules.toml`, overridable) and
//! explained by a human-readable reason.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Who responds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// 蓝: the grid handles it (网格处置).
    Blue,
    /// 黄: the township/street (乡镇街道).
    Yellow,
    /// 橙: several departments together (多部门联合).
    Orange,
    /// 红: a county special team (县级专班).
    Red,
}

impl Level {
    pub fn code(self) -> &'static str {
        match self {
            Level::Blue => "blue",
            Level::Yellow => "yellow",
            Level::Orange => "orange",
            Level::Red => "red",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Level::Blue => "蓝",
            Level::Yellow => "黄",
            Level::Orange => "橙",
            Level::Red => "红",
        }
    }

    /// Who acts at this level.
    pub fn responder_zh(self) -> &'static str {
        match self {
            Level::Blue => "网格处置",
            Level::Yellow => "乡镇街道",
            Level::Orange => "多部门联合",
            Level::Red => "县级专班",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What the rules look at, for one cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterFacts {
    /// Highest Gi* confidence bin (1–3).
    pub confidence: i8,
    /// Cases in the cluster.
    pub observed: u64,
    /// Expected cases (population × the region's rate), for the risk measures; `None` for the count.
    pub expected: Option<f64>,
    pub cases_per_week: f64,
    /// `(observed − expected) / weeks` (0 without an expected count).
    pub excess_per_week: f64,
    pub villages: usize,
    pub townships: usize,
    /// Case counts per category (any order).
    pub category_counts: Vec<u64>,
    /// Share of cases of severity major or serious.
    pub serious_share: f64,
}

/// One rule: a level and the conditions that must all hold.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub level: Level,
    pub min_confidence: Option<i8>,
    pub min_cases_per_week: Option<f64>,
    /// Observed over expected cases (risk measures only; a rule with it never holds for the count).
    pub min_ratio: Option<f64>,
    /// Cases beyond the expected count per week (risk measures only).
    pub min_excess_per_week: Option<f64>,
    /// Cases beyond the expected count over the whole period (risk measures only): a short burst
    /// in a long period.
    pub min_excess: Option<f64>,
    pub min_villages: Option<usize>,
    pub min_townships: Option<usize>,
    pub min_categories: Option<usize>,
    pub min_serious_share: Option<f64>,
}

/// A rule set.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// The rule set's name, shown on the wall and in briefings (default: the file's name).
    #[serde(default)]
    pub name: String,
    /// A category counts towards `min_categories` when it makes up at least this share of the cases.
    pub category_share: f64,
    /// The rules of the risk measures (the default maps), tried in order.
    #[serde(rename = "rule")]
    pub rules: Vec<Rule>,
    /// The rules of the workload map (the count measure); a file without any uses `rule` for it too.
    #[serde(rename = "volume_rule", default)]
    pub volume_rules: Vec<Rule>,
}

/// A rule file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct RulesError {
    pub file: String,
    pub message: String,
}

/// What is wrong with a parsed rule set: where (`list` `rule` or `volume_rule` and the rule's
/// index from 0, `field` the condition; neither for a key of the set) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleProblem {
    pub list: Option<&'static str>,
    pub index: Option<usize>,
    pub field: Option<&'static str>,
    pub message: String,
}

impl fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.list, self.index) {
            (Some(list), Some(i)) => write!(f, "[[{list}]] #{}", i + 1)?,
            _ => f.write_str("rules")?,
        }
        if let Some(field) = self.field {
            write!(f, " {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The conditions of a rule by name, as lower bounds (`None`: not given).
fn bounds(rule: &Rule) -> [(&'static str, Option<f64>); 9] {
    [
        ("min_confidence", rule.min_confidence.map(f64::from)),
        ("min_cases_per_week", rule.min_cases_per_week),
        ("min_ratio", rule.min_ratio),
        ("min_excess_per_week", rule.min_excess_per_week),
        ("min_excess", rule.min_excess),
        ("min_villages", rule.min_villages.map(|v| v as f64)),
        ("min_townships", rule.min_townships.map(|v| v as f64)),
        ("min_categories", rule.min_categories.map(|v| v as f64)),
        ("min_serious_share", rule.min_serious_share),
    ]
}

/// Conditions that only the risk measures have figures for.
const RISK_ONLY: [&str; 3] = ["min_ratio", "min_excess_per_week", "min_excess"];

/// Whether every cluster `later` holds for is held by `earlier` too (each of `earlier`'s conditions
/// is one of `later`'s with a bound at most as high): `later` then never decides, listed after it.
fn shadows(earlier: &Rule, later: &Rule) -> bool {
    bounds(earlier)
        .iter()
        .zip(bounds(later))
        .all(|((_, e), (_, l))| match (e, l) {
            (None, _) => true,
            (Some(e), Some(l)) => *e <= l,
            (Some(_), None) => false,
        })
}

/// The value problems of one rule's conditions.
fn condition_problems(rule: &Rule, volume: bool) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for (name, value) in bounds(rule) {
        let Some(v) = value else { continue };
        let bad = match name {
            "min_confidence" => {
                (!(1.0..=3.0).contains(&v)).then(|| format!("{v} is not a confidence bin 1 (90%), 2 (95%) or 3 (99%)"))
            }
            "min_serious_share" => (!(0.0..=1.0).contains(&v)).then(|| format!("{v} is not a share between 0 and 1")),
            "min_ratio" => (!(v.is_finite() && v > 0.0)).then(|| format!("{v} is not a ratio above 0")),
            _ => (!(v.is_finite() && v >= 0.0)).then(|| format!("{v} is negative")),
        };
        if let Some(message) = bad {
            out.push((name, message));
        }
        if volume && RISK_ONLY.contains(&name) {
            out.push((name, "is a risk condition (observed against expected): it never holds on the workload map, so this volume rule never applies".into()));
        }
    }
    out
}

/// The problems of one list of rules (`rule` or `volume_rule`).
fn list_problems(list: &'static str, rules: &[Rule]) -> Vec<RuleProblem> {
    let volume = list == "volume_rule";
    let mut out = Vec::new();
    for (j, rule) in rules.iter().enumerate() {
        for (field, message) in condition_problems(rule, volume) {
            out.push(RuleProblem {
                list: Some(list),
                index: Some(j),
                field: Some(field),
                message,
            });
        }
        if let Some(i) = (0..j).find(|&i| shadows(&rules[i], rule)) {
            let earlier = &rules[i];
            let message = if earlier.level == rule.level {
                format!("never applies: #{} ({}), listed before it, holds for every cluster it holds for — delete it or put it first", i + 1, earlier.level)
            } else {
                format!("({}) never applies: #{} ({}), listed before it, holds for every cluster it holds for — rules are tried in order, put the stricter rule first", rule.level, i + 1, earlier.level)
            };
            out.push(RuleProblem {
                list: Some(list),
                index: Some(j),
                field: None,
                message,
            });
        }
    }
    out
}

impl Default for Rules {
    fn default() -> Self {
        Rules::parse(
            include_str!("../config/response-rules.toml"),
            "analytics/config/response-rules.toml",
        )
        .expect("the shipped rules are valid")
    }
}

impl Rules {
    /// Parses a rule file's text (`file` names it in errors).
    pub fn parse(text: &str, file: &str) -> Result<Rules, RulesError> {
        let mut rules: Rules = toml::from_str(text).map_err(|e| RulesError {
            file: file.to_string(),
            message: e.to_string(),
        })?;
        let problems = rules.problems();
        if !problems.is_empty() {
            let listed: Vec<String> = problems.iter().map(RuleProblem::to_string).collect();
            return Err(RulesError {
                file: file.to_string(),
                message: listed.join("; "),
            });
        }
        rules.name_after(file);
        Ok(rules)
    }

    /// Names an unnamed rule set after the stem of the file it came from.
    pub fn name_after(&mut self, file: &str) {
        if self.name.trim().is_empty() {
            let path = std::path::Path::new(file);
            self.name = path
                .file_stem()
                .map_or_else(|| file.to_string(), |s| s.to_string_lossy().into_owned());
        }
    }

    /// Everything that makes the set unusable as written: `category_share` outside 0–1, a condition
    /// out of its range, a risk condition in a volume rule, and rules that can never apply because
    /// one listed before them holds whenever they do (overlapping or wrongly ordered rules).
    pub fn problems(&self) -> Vec<RuleProblem> {
        let mut out = Vec::new();
        if !(0.0..=1.0).contains(&self.category_share) {
            out.push(RuleProblem {
                list: None,
                index: None,
                field: Some("category_share"),
                message: format!("{} is not between 0 and 1", self.category_share),
            });
        }
        out.extend(list_problems("rule", &self.rules));
        out.extend(list_problems("volume_rule", &self.volume_rules));
        out
    }

    /// Reads a rule file.
    pub fn load(path: &std::path::Path) -> Result<Rules, RulesError> {
        let text = std::fs::read_to_string(path).map_err(|e| RulesError {
            file: path.display().to_string(),
            message: e.to_string(),
        })?;
        Rules::parse(&text, &path.display().to_string())
    }

    /// Categories making up at least `category_share` of the cases.
    pub fn major_categories(&self, counts: &[u64]) -> usize {
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return 0;
        }
        counts
            .iter()
            .filter(|&&c| c as f64 / total as f64 >= self.category_share)
            .count()
    }

    /// The level of a cluster and why (in Chinese, with the figures that decided it). Clusters with
    /// an expected count (the risk measures) follow `rule`, the others `volume_rule` (or `rule` when
    /// the file has none); a risk reason opens with the observed and expected cases.
    pub fn decide(&self, facts: &ClusterFacts) -> (Level, String) {
        let rules = match facts.expected {
            None if !self.volume_rules.is_empty() => &self.volume_rules,
            _ => &self.rules,
        };
        let opening = risk_opening(facts);
        for rule in rules {
            if let Some(reasons) = self.conditions_met(rule, facts) {
                let reason = format!(
                    "{opening}{}→{}（{}）",
                    reasons.join("，"),
                    rule.level.responder_zh(),
                    rule.level.zh()
                );
                return (rule.level, reason);
            }
        }
        let volume = match facts.expected {
            Some(_) => format!("周均超出预期{:.1}件", facts.excess_per_week),
            None => format!("周均{:.1}件", facts.cases_per_week),
        };
        (
            Level::Blue,
            format!(
                "{opening}热点（置信度{}），{volume}→网格处置（蓝）",
                confidence_label(facts.confidence)
            ),
        )
    }

    /// The texts of a rule's conditions when all hold, `None` when one fails.
    fn conditions_met(&self, rule: &Rule, facts: &ClusterFacts) -> Option<Vec<String>> {
        let categories = self.major_categories(&facts.category_counts);
        let ratio = facts.expected.map(|e| {
            if e > 0.0 {
                facts.observed as f64 / e
            } else {
                f64::INFINITY
            }
        });
        let mut reasons = Vec::new();
        let mut holds = true;
        let mut check = |limit: Option<f64>, value: Option<f64>, text: String, shown: bool| {
            if let Some(limit) = limit {
                match value {
                    Some(v) if v >= limit => {
                        if shown {
                            reasons.push(text)
                        }
                    }
                    _ => holds = false,
                }
            }
        };
        check(
            rule.min_confidence.map(f64::from),
            Some(f64::from(facts.confidence)),
            format!("置信度{}", confidence_label(facts.confidence)),
            true,
        );
        // The ratio is in the opening of a risk reason already.
        check(rule.min_ratio, ratio, String::new(), false);
        check(
            rule.min_excess_per_week,
            facts.expected.map(|_| facts.excess_per_week),
            format!("周均超出预期{:.1}件", facts.excess_per_week),
            true,
        );
        check(
            rule.min_excess,
            facts.expected.map(|e| facts.observed as f64 - e),
            format!(
                "超出预期{:.0}件",
                facts.expected.map_or(0.0, |e| facts.observed as f64 - e)
            ),
            true,
        );
        check(
            rule.min_cases_per_week,
            Some(facts.cases_per_week),
            format!("周均{:.1}件", facts.cases_per_week),
            true,
        );
        check(
            rule.min_villages.map(|v| v as f64),
            Some(facts.villages as f64),
            format!("涉及{}个村社区", facts.villages),
            true,
        );
        check(
            rule.min_townships.map(|v| v as f64),
            Some(facts.townships as f64),
            format!("跨{}个乡镇街道", facts.townships),
            true,
        );
        check(
            rule.min_categories.map(|v| v as f64),
            Some(categories as f64),
            format!("{categories}类纠纷交织"),
            true,
        );
        check(
            rule.min_serious_share,
            Some(facts.serious_share),
            format!("较大及重大疑难占{:.0}%", 100.0 * facts.serious_share),
            true,
        );
        holds.then_some(reasons)
    }
}

/// `90%`, `95%`, `99%` for the bins 1–3.
fn confidence_label(bin: i8) -> &'static str {
    ["", "90%", "95%", "99%"][bin.clamp(0, 3) as usize]
}

/// `观测25件，预期6.1件（4.1倍），` for a cluster with an expected count, empty otherwise.
fn risk_opening(facts: &ClusterFacts) -> String {
    match facts.expected {
        Some(e) if e > 0.0 => format!(
            "观测{}件，预期{:.1}件（{:.1}倍），",
            facts.observed,
            e,
            facts.observed as f64 / e
        ),
        Some(_) => format!("观测{}件，预期不足0.1件（无常住人口），", facts.observed),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(
        confidence: i8,
        per_week: f64,
        villages: usize,
        townships: usize,
        categories: &[u64],
        serious: f64,
    ) -> ClusterFacts {
        ClusterFacts {
            confidence,
            observed: (per_week * 4.0) as u64,
            expected: None,
            cases_per_week: per_week,
            excess_per_week: 0.0,
            villages,
            townships,
            category_counts: categories.to_vec(),
            serious_share: serious,
        }
    }

    #[test]
    fn shipped_rules_give_each_level_on_hand_made_clusters() {
        let rules = Rules::default();
        // Large, 99%, across two townships: county special team.
        let (level, reason) = rules.decide(&facts(3, 25.0, 6, 2, &[100, 20], 0.1));
        assert_eq!(level, Level::Red);
        assert!(
            reason.contains("跨2个乡镇街道") && reason.contains("县级专班"),
            "{reason}"
        );
        // Smaller but grave: red by the severity rule.
        assert_eq!(rules.decide(&facts(3, 12.0, 1, 1, &[50], 0.4)).0, Level::Red);
        // Three categories each ≥ 15%: several departments.
        let (level, reason) = rules.decide(&facts(2, 6.0, 2, 1, &[30, 30, 25, 5], 0.1));
        assert_eq!(level, Level::Orange);
        assert!(reason.contains("3类纠纷交织"), "{reason}");
        // The same volume with one dominant category: the township.
        assert_eq!(rules.decide(&facts(2, 6.0, 2, 1, &[90, 5, 5], 0.1)).0, Level::Yellow);
        // 90% and small: the grid.
        let (level, reason) = rules.decide(&facts(1, 2.0, 1, 1, &[10], 0.0));
        assert_eq!(level, Level::Blue);
        assert!(reason.contains("网格处置"), "{reason}");
        // Thresholds are inclusive, and a condition short by a little fails the rule.
        assert_eq!(rules.decide(&facts(3, 20.0, 3, 2, &[10], 0.0)).0, Level::Red);
        assert_eq!(rules.decide(&facts(3, 19.9, 3, 2, &[10], 0.0)).0, Level::Orange);
    }

    fn risk_facts(confidence: i8, observed: u64, expected: f64, weeks: f64, townships: usize) -> ClusterFacts {
        ClusterFacts {
            confidence,
            observed,
            expected: Some(expected),
            cases_per_week: observed as f64 / weeks,
            excess_per_week: (observed as f64 - expected) / weeks,
            villages: townships,
            townships,
            category_counts: vec![observed],
            serious_share: 0.1,
        }
    }

    #[test]
    fn risk_clusters_are_levelled_by_their_excess_and_say_so() {
        let rules = Rules::default();
        // A week: 25 observed against 6.1 expected across two townships.
        let (level, reason) = rules.decide(&risk_facts(3, 25, 6.1, 1.0, 2));
        assert_eq!(level, Level::Red);
        assert!(
            reason.starts_with("观测25件，预期6.1件（4.1倍），置信度99%") && reason.ends_with("→县级专班（红）"),
            "{reason}"
        );
        // A busy downtown: many cases, barely above what its residents explain, is not red.
        let (level, reason) = rules.decide(&risk_facts(3, 900, 820.0, 4.0, 3));
        assert!(level <= Level::Yellow, "{level}: {reason}");
        // Small but clearly abnormal for the place: the township looks at it.
        assert_eq!(rules.decide(&risk_facts(2, 12, 2.0, 4.0, 1)).0, Level::Yellow);
        // Without an expected count the volume rules apply, as before.
        assert_eq!(rules.decide(&facts(3, 25.0, 6, 2, &[100, 20], 0.1)).0, Level::Red);
        // A rule on the ratio never holds for the count map.
        let custom = Rules::parse(
            "category_share = 0.2\n[[rule]]\nlevel = \"red\"\nmin_ratio = 1.0\n",
            "r.toml",
        )
        .unwrap();
        assert_eq!(custom.decide(&facts(3, 50.0, 9, 3, &[200], 0.5)).0, Level::Blue);
        assert_eq!(custom.decide(&risk_facts(1, 3, 1.0, 1.0, 1)).0, Level::Red);
    }

    #[test]
    fn rule_files_are_checked() {
        let err = Rules::parse("category_share = 0.2\n[[rule]]\nlevel = \"purple\"\n", "x.toml").unwrap_err();
        assert!(err.to_string().starts_with("x.toml:"), "{err}");
        assert!(Rules::parse("category_share = 2.0\nrule = []\n", "y.toml").is_err());
        assert!(Rules::parse(
            "category_share = 0.2\n[[rule]]\nlevel = \"red\"\nmin_cases = 3\n",
            "z.toml"
        )
        .is_err());
        let custom = Rules::parse(
            "category_share = 0.2\n[[rule]]\nlevel = \"orange\"\nmin_villages = 1\n",
            "c.toml",
        )
        .unwrap();
        assert_eq!(custom.decide(&facts(1, 0.5, 1, 1, &[1], 0.0)).0, Level::Orange);
    }

    #[test]
    fn the_shipped_rules_have_no_problem_and_dead_or_out_of_range_rules_are_found() {
        assert_eq!(Rules::default().problems(), []);
        assert_eq!(Rules::default().name, "枫桥默认规则");
        let text = "category_share = 0.2\n\
                    [[rule]]\nlevel = \"orange\"\nmin_confidence = 2\nmin_villages = 2\n\
                    [[rule]]\nlevel = \"red\"\nmin_confidence = 3\nmin_villages = 3\n\
                    [[rule]]\nlevel = \"yellow\"\nmin_confidence = 3\n\
                    [[rule]]\nlevel = \"orange\"\nmin_confidence = 2\nmin_villages = 2\nmin_townships = 2\n\
                    [[volume_rule]]\nlevel = \"red\"\nmin_excess = 5\nmin_serious_share = 1.5\n";
        let rules: Rules = toml::from_str(text).unwrap();
        let shown: Vec<String> = rules.problems().iter().map(|p| p.to_string()).collect();
        assert_eq!(shown.len(), 4, "{shown:#?}");
        // Red after a weaker orange can never be given; the yellow rule after them still can.
        assert!(
            shown[0].starts_with("[[rule]] #2: (red) never applies: #1 (orange)"),
            "{}",
            shown[0]
        );
        assert!(
            shown[1].starts_with("[[rule]] #4: never applies: #1 (orange)"),
            "{}",
            shown[1]
        );
        assert!(
            shown[2].starts_with("[[volume_rule]] #1 min_excess: is a risk condition"),
            "{}",
            shown[2]
        );
        assert!(
            shown[3].starts_with("[[volume_rule]] #1 min_serious_share: 1.5 is not a share"),
            "{}",
            shown[3]
        );
        let err = Rules::parse(text, "r.toml").unwrap_err().to_string();
        assert!(err.starts_with("r.toml: [[rule]] #2: (red) never applies"), "{err}");
        // Unnamed sets are named after their file.
        let plain = Rules::parse("category_share = 0.2\nrule = []\n", "dir/county.toml").unwrap();
        assert_eq!(plain.name, "county");
    }
}
