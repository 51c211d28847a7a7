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
    pub cases_per_week: f64,
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
    pub min_villages: Option<usize>,
    pub min_townships: Option<usize>,
    pub min_categories: Option<usize>,
    pub min_serious_share: Option<f64>,
}

/// A rule set.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// A category counts towards `min_categories` when it makes up at least this share of the cases.
    pub category_share: f64,
    #[serde(rename = "rule")]
    pub rules: Vec<Rule>,
}

/// A rule file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct RulesError {
    pub file: String,
    pub message: String,
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
        let rules: Rules = toml::from_str(text).map_err(|e| RulesError {
            file: file.to_string(),
            message: e.to_string(),
        })?;
        if !(0.0..=1.0).contains(&rules.category_share) {
            return Err(RulesError {
                file: file.to_string(),
                message: format!("category_share {} is not between 0 and 1", rules.category_share),
            });
        }
        Ok(rules)
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

    /// The level of a cluster and why (in Chinese, with the figures that decided it).
    pub fn decide(&self, facts: &ClusterFacts) -> (Level, String) {
        let categories = self.major_categories(&facts.category_counts);
        for rule in &self.rules {
            let mut reasons = Vec::new();
            let mut holds = true;
            let mut check = |limit: Option<f64>, value: f64, text: String| {
                if let Some(limit) = limit {
                    if value >= limit {
                        reasons.push(text);
                    } else {
                        holds = false;
                    }
                }
            };
            let confidence = ["", "90%", "95%", "99%"]
                .get(facts.confidence.clamp(0, 3) as usize)
                .copied()
                .unwrap_or("");
            check(
                rule.min_confidence.map(f64::from),
                f64::from(facts.confidence),
                format!("置信度{confidence}"),
            );
            check(
                rule.min_cases_per_week,
                facts.cases_per_week,
                format!("周均{:.1}件", facts.cases_per_week),
            );
            check(
                rule.min_villages.map(|v| v as f64),
                facts.villages as f64,
                format!("涉及{}个村社区", facts.villages),
            );
            check(
                rule.min_townships.map(|v| v as f64),
                facts.townships as f64,
                format!("跨{}个乡镇街道", facts.townships),
            );
            check(
                rule.min_categories.map(|v| v as f64),
                categories as f64,
                format!("{categories}类纠纷交织"),
            );
            check(
                rule.min_serious_share,
                facts.serious_share,
                format!("较大及重大疑难占{:.0}%", 100.0 * facts.serious_share),
            );
            if holds {
                let reason = format!(
                    "{}→{}（{}）",
                    reasons.join("，"),
                    rule.level.responder_zh(),
                    rule.level.zh()
                );
                return (rule.level, reason);
            }
        }
        (
            Level::Blue,
            format!(
                "热点（置信度{}），周均{:.1}件→网格处置（蓝）",
                ["", "90%", "95%", "99%"][facts.confidence.clamp(0, 3) as usize],
                facts.cases_per_week
            ),
        )
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
            cases_per_week: per_week,
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
}
