//! The region's gazetteer: finds a village (and its grid) from unit names — 县 / 乡镇 / 村 columns,
//! with aliases and former names — or from a free-text address (`湖南省郴州市北湖区华塘镇石虎村3组`).
//!
//! Names are compared after [`normalize`] (spaces dropped, full-width letters and digits made ASCII,
//! `村民委员会`/`村委会` → `村`, `居民委员会`/`居委会` → `社区`). A name given in a column that matches
//! no unit exactly is tried without its level suffix (`华塘` for `华塘镇`).
//!
//! **Addresses.** One Aho–Corasick automaton holds every name and alias of every unit from the cities
//! down to the villages; an address is scanned once for all (overlapping) occurrences. Each village
//! found is a candidate, *supported* by the ancestors of it (township, county, city) that the address
//! names before it. Candidates are ranked by support, then by the length of the name found (the
//! longest match), then by position; the best is taken when it is one unit and no other unit ties
//! with it, else the row is ambiguous and the tied units are its candidates. Units named in columns
//! (county, township) constrain the candidates first.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::model::AdminLevel;
use crate::region::{Region, UnitId};

/// How a place was matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaceMatch {
    /// Every unit named was found by its code or its current name, and they nest.
    Exact,
    /// Some unit was found by an alias, a former name or a former code.
    Alias,
    /// The village was found without its township (and county) being named: the name is unique
    /// where it was looked for.
    Inferred,
    /// The row's own point lies in the village's (or grid's) polygon.
    Contained,
}

impl PlaceMatch {
    /// The stored code (`cases.place_match`).
    pub fn code(self) -> &'static str {
        match self {
            PlaceMatch::Exact => "exact",
            PlaceMatch::Alias => "alias",
            PlaceMatch::Inferred => "inferred",
            PlaceMatch::Contained => "contained",
        }
    }

    /// The worse of two.
    fn and(self, other: PlaceMatch) -> PlaceMatch {
        self.max(other)
    }
}

/// A place found by name or address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    /// The village (or grid, when a grid was named).
    pub unit: UnitId,
    pub quality: PlaceMatch,
}

/// Why no single place was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotFound {
    /// Nothing matched; the message says what was looked for.
    Unknown(String),
    /// Several units fit equally well.
    Ambiguous { what: String, candidates: Vec<UnitId> },
}

/// Names of one level: normalized name → units (and whether through an alias).
type NameTable = HashMap<String, Vec<(UnitId, bool)>>;

/// The names of a region, indexed.
pub struct Gazetteer {
    /// Per level (index by [`level_slot`]): exact names and aliases, and the same without their
    /// level suffix.
    names: Vec<NameTable>,
    short: Vec<NameTable>,
    /// Every name and alias of the cities, counties, townships and villages.
    automaton: AhoCorasick,
    /// Per automaton pattern: its units, whether through an alias, and its length in bytes.
    patterns: Vec<Vec<(UnitId, bool)>>,
    /// Per unit: its level and its ancestors at the levels above village (city, county, township).
    levels: Vec<AdminLevel>,
    township: Vec<Option<UnitId>>,
    county: Vec<Option<UnitId>>,
    city: Vec<Option<UnitId>>,
}

const NAMED_LEVELS: [AdminLevel; 5] = [
    AdminLevel::City,
    AdminLevel::County,
    AdminLevel::Township,
    AdminLevel::Village,
    AdminLevel::Grid,
];

fn level_slot(level: AdminLevel) -> Option<usize> {
    NAMED_LEVELS.iter().position(|&l| l == level)
}

/// The suffixes a level's names end with, longest first.
fn suffixes(level: AdminLevel) -> &'static [&'static str] {
    match level {
        AdminLevel::Province => &["维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市"],
        AdminLevel::City => &["自治州", "地区", "盟", "市"],
        AdminLevel::County => &["自治县", "自治旗", "县", "区", "市", "旗"],
        AdminLevel::Township => &[
            "街道办事处",
            "民族乡",
            "街道",
            "镇",
            "乡",
            "苏木",
            "林场",
            "农场",
            "开发区",
        ],
        AdminLevel::Village => &["社区", "村", "居委会", "嘎查"],
        AdminLevel::Grid => &["网格"],
    }
}

/// A name without its level suffix, when something is left.
fn strip_suffix(name: &str, level: AdminLevel) -> Option<&str> {
    suffixes(level)
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .filter(|rest| rest.chars().count() >= 2)
}

/// A name or address as compared: without spaces, full-width ASCII made half-width, committee
/// suffixes shortened (`石虎村村民委员会` → `石虎村`, `北关社区居委会` → `北关社区`).
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            c if c.is_whitespace() => {}
            '\u{ff01}'..='\u{ff5e}' => out.push(char::from_u32(c as u32 - 0xfee0).unwrap_or(c)),
            c => out.push(c),
        }
    }
    for (long, short) in [
        ("村村民委员会", "村"),
        ("村民委员会", "村"),
        ("村村委会", "村"),
        ("村委会", "村"),
        ("社区居民委员会", "社区"),
        ("社区居委会", "社区"),
        ("居民委员会", "社区"),
        ("居委会", "社区"),
    ] {
        if out.contains(long) {
            out = out.replace(long, short);
        }
    }
    out
}

impl Gazetteer {
    /// The gazetteer of `region`.
    pub fn new(region: &Region) -> Gazetteer {
        let n = region.units.len();
        let mut names = vec![NameTable::new(); NAMED_LEVELS.len()];
        let mut short = vec![NameTable::new(); NAMED_LEVELS.len()];
        let mut pattern_of: HashMap<String, usize> = HashMap::new();
        let mut pattern_texts: Vec<String> = Vec::new();
        let mut patterns: Vec<Vec<(UnitId, bool)>> = Vec::new();
        let (mut levels, mut township, mut county, mut city) =
            (Vec::with_capacity(n), vec![None; n], vec![None; n], vec![None; n]);
        for (i, unit) in region.units.iter().enumerate() {
            let id = i as UnitId;
            levels.push(unit.level);
            township[i] = region.ancestor(id, AdminLevel::Township);
            county[i] = region.ancestor(id, AdminLevel::County);
            city[i] = region.ancestor(id, AdminLevel::City);
            let Some(slot) = level_slot(unit.level) else { continue };
            let all = std::iter::once((&unit.name, false)).chain(unit.aliases.iter().map(|a| (a, true)));
            for (name, alias) in all {
                let name = normalize(name);
                if name.is_empty() {
                    continue;
                }
                push_unique(names[slot].entry(name.clone()).or_default(), (id, alias));
                if let Some(s) = strip_suffix(&name, unit.level) {
                    push_unique(short[slot].entry(s.to_string()).or_default(), (id, true));
                }
                if unit.level != AdminLevel::Grid {
                    let p = *pattern_of.entry(name.clone()).or_insert_with(|| {
                        pattern_texts.push(name);
                        patterns.push(Vec::new());
                        patterns.len() - 1
                    });
                    push_unique(&mut patterns[p], (id, alias));
                }
            }
        }
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(&pattern_texts)
            .expect("unit names make a valid automaton");
        Gazetteer {
            names,
            short,
            automaton,
            patterns,
            levels,
            township,
            county,
            city,
        }
    }

    /// Units of `level` named `name` (exactly, or by an alias), else by the name without its level
    /// suffix; with whether an alias (or the short form) was needed.
    pub fn named(&self, level: AdminLevel, name: &str) -> Vec<(UnitId, bool)> {
        let Some(slot) = level_slot(level) else {
            return Vec::new();
        };
        let name = normalize(name);
        if let Some(units) = self.names[slot].get(&name) {
            return units.clone();
        }
        let short = strip_suffix(&name, level).unwrap_or(&name);
        self.short[slot]
            .get(short)
            .map(|units| units.iter().map(|&(u, _)| (u, true)).collect())
            .unwrap_or_default()
    }

    /// Whether unit `u` lies in `ancestor` (or is it).
    fn within(&self, u: UnitId, ancestor: UnitId) -> bool {
        let i = u as usize;
        u == ancestor
            || self.township[i] == Some(ancestor)
            || self.county[i] == Some(ancestor)
            || self.city[i] == Some(ancestor)
    }

    /// The village (or grid) that unit-name columns name, within the units `within` (the county or
    /// township given by code, if any). `names` are (level, name) pairs, top down. A name that fits
    /// several units (two townships of one name in different counties) keeps them all, and the
    /// names below decide.
    pub fn by_names(
        &self,
        region: &Region,
        names: &[(AdminLevel, &str)],
        within: &[UnitId],
    ) -> Result<Found, NotFound> {
        let mut scope: Option<Vec<UnitId>> = None;
        let mut quality = PlaceMatch::Exact;
        for &(level, name) in names {
            let mut units = self.named(level, name);
            units.retain(|&(u, _)| {
                within.iter().all(|&w| self.within(u, w))
                    && scope.as_ref().is_none_or(|s| s.iter().any(|&a| self.within(u, a)))
            });
            if units.is_empty() {
                let mut inside: Vec<String> = within.iter().map(|&s| region.units[s as usize].name.clone()).collect();
                inside.extend(scope.iter().flatten().map(|&s| region.units[s as usize].name.clone()));
                return Err(NotFound::Unknown(if inside.is_empty() {
                    format!("no {} {name:?} in the region", level.zh())
                } else {
                    format!("no {} {name:?} in {}", level.zh(), inside.join("/"))
                }));
            }
            if units.iter().any(|&(_, alias)| alias) {
                quality = quality.and(PlaceMatch::Alias);
            }
            scope = Some(units.into_iter().map(|(u, _)| u).collect());
        }
        let mut units = scope.ok_or_else(|| NotFound::Unknown("no place name given".into()))?;
        units.sort_unstable();
        units.dedup();
        if units.len() > 1 {
            let (level, name) = names[names.len() - 1];
            return Err(NotFound::Ambiguous {
                what: format!("{} {name:?}", level.zh()),
                candidates: units,
            });
        }
        let unit = units[0];
        if !matches!(self.levels[unit as usize], AdminLevel::Village | AdminLevel::Grid) {
            return Err(NotFound::Unknown(format!(
                "{} {} is named but no village (村/社区) in it",
                self.levels[unit as usize].zh(),
                region.units[unit as usize].name
            )));
        }
        let township_named = names.iter().any(|n| n.0 == AdminLevel::Township)
            || within.iter().any(|&w| self.levels[w as usize] == AdminLevel::Township);
        if !township_named {
            quality = quality.and(PlaceMatch::Inferred);
        }
        Ok(Found { unit, quality })
    }

    /// The village a free-text address names, within the units `within` (given by other columns).
    pub fn by_address(&self, region: &Region, address: &str, within: &[UnitId]) -> Result<Found, NotFound> {
        let text = normalize(address);
        // (end, pattern) of every occurrence; ancestors must end before a village starts.
        let mut hits: Vec<(usize, usize, usize)> = Vec::new();
        for m in self.automaton.find_overlapping_iter(&text) {
            hits.push((m.start(), m.end(), m.pattern().as_usize()));
        }
        let mut best: Vec<(u32, usize, std::cmp::Reverse<usize>, UnitId, PlaceMatch)> = Vec::new();
        let mut named_above: Option<UnitId> = None;
        for &(start, end, p) in &hits {
            for &(u, alias) in &self.patterns[p] {
                let i = u as usize;
                if self.levels[i] != AdminLevel::Village {
                    named_above.get_or_insert(u);
                    continue;
                }
                if !within.iter().all(|&w| self.within(u, w)) {
                    continue;
                }
                let mut support = 0;
                let mut quality = if alias { PlaceMatch::Alias } else { PlaceMatch::Exact };
                let mut township_named = within.iter().any(|&w| self.township[i] == Some(w));
                for &(s2, e2, p2) in &hits {
                    if e2 > start || s2 >= start {
                        continue;
                    }
                    for &(a, alias2) in &self.patterns[p2] {
                        let is_ancestor = [self.township[i], self.county[i], self.city[i]].contains(&Some(a));
                        if is_ancestor {
                            support += 1;
                            township_named |= self.township[i] == Some(a);
                            if alias2 {
                                quality = quality.and(PlaceMatch::Alias);
                            }
                        }
                    }
                }
                if !township_named {
                    quality = quality.and(PlaceMatch::Inferred);
                }
                best.push((support, end - start, std::cmp::Reverse(start), u, quality));
            }
        }
        best.sort_by(|a, b| (b.0, b.1, b.2).cmp(&(a.0, a.1, a.2)).then(a.3.cmp(&b.3)));
        best.dedup_by_key(|b| b.3);
        let Some(&(support, len, start, unit, quality)) = best.first() else {
            return Err(NotFound::Unknown(match named_above {
                Some(u) => format!(
                    "the address names {} {} but no village (村/社区) of the region",
                    self.levels[u as usize].zh(),
                    region.units[u as usize].name
                ),
                None => "the address names no unit of the region".into(),
            }));
        };
        let mut tied: Vec<UnitId> = best
            .iter()
            .filter(|b| (b.0, b.1, b.2) == (support, len, start))
            .map(|b| b.3)
            .collect();
        if tied.len() > 1 {
            tied.sort_unstable();
            tied.dedup();
            return Err(NotFound::Ambiguous {
                what: format!("the address {address:?}"),
                candidates: tied,
            });
        }
        Ok(Found { unit, quality })
    }

    /// "石虎村 (431002101201, 北湖区 华塘镇)": a candidate as messages list it.
    pub fn describe(region: &Region, unit: UnitId) -> String {
        let u = &region.units[unit as usize];
        let mut path = Vec::new();
        let mut at = region.parent(unit);
        while let Some(p) = at {
            if region.is_root(p) {
                break;
            }
            path.push(region.units[p as usize].name.as_str());
            at = region.parent(p);
        }
        path.reverse();
        format!("{} ({}, {})", u.name, u.code, path.join(" "))
    }
}

fn push_unique(list: &mut Vec<(UnitId, bool)>, item: (UnitId, bool)) {
    match list.iter_mut().find(|(u, _)| *u == item.0) {
        // A unit found both by its name and an alias counts as found by name.
        Some(existing) => existing.1 &= item.1,
        None => list.push(item),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chenzhou() -> &'static Region {
        static REGION: std::sync::OnceLock<Region> = std::sync::OnceLock::new();
        REGION.get_or_init(Region::chenzhou)
    }

    /// A village whose name is unique in the region, with its township and county.
    fn unique_village(g: &Gazetteer, region: &Region) -> (UnitId, String, String, String) {
        let (id, v) = region
            .level(AdminLevel::Village)
            .find(|(_, v)| g.named(AdminLevel::Village, &v.name).len() == 1)
            .unwrap();
        let lineage = region.lineage(id).unwrap();
        let name = |u: UnitId| region.units[u as usize].name.clone();
        (id, v.name.clone(), name(lineage.township), name(lineage.county))
    }

    #[test]
    fn normalizes_spaces_widths_and_committees() {
        assert_eq!(normalize(" 石虎村 村民委员会 "), "石虎村");
        assert_eq!(normalize("北关社区居委会"), "北关社区");
        assert_eq!(normalize("３组１２号"), "3组12号");
    }

    #[test]
    fn addresses_find_their_village_with_and_without_the_hierarchy() {
        let region = chenzhou();
        let g = Gazetteer::new(region);
        let (id, village, township, county) = unique_village(&g, region);
        let full = format!("湖南省郴州市{county}{township}{village}3组");
        assert_eq!(
            g.by_address(region, &full, &[]),
            Ok(Found {
                unit: id,
                quality: PlaceMatch::Exact
            })
        );
        let bare = format!("{village}5组");
        assert_eq!(g.by_address(region, &bare, &[]).unwrap().quality, PlaceMatch::Inferred);
        assert!(matches!(
            g.by_address(region, "北京市朝阳区", &[]),
            Err(NotFound::Unknown(_))
        ));
        let township_only = format!("{county}{township}");
        let found = g.by_address(region, &township_only, &[]);
        assert!(
            matches!(&found, Err(NotFound::Unknown(m)) if m.contains(&county)),
            "{found:?}"
        );
    }

    #[test]
    fn same_named_villages_are_ambiguous_unless_the_township_decides() {
        let region = chenzhou();
        let g = Gazetteer::new(region);
        let (name, units) = g.names[level_slot(AdminLevel::Village).unwrap()]
            .iter()
            .filter(|(_, u)| u.len() > 1)
            .filter(|(_, u)| {
                let t: Vec<_> = u.iter().map(|&(v, _)| region.lineage(v).unwrap().township).collect();
                t.iter().all(|x| t.iter().filter(|y| *y == x).count() == 1)
            })
            .min_by(|a, b| a.0.cmp(b.0))
            .map(|(n, u)| (n.clone(), u.clone()))
            .expect("Chenzhou has same-named villages in different townships");
        match g.by_address(region, &format!("{name}2组"), &[]) {
            Err(NotFound::Ambiguous { candidates, .. }) => assert_eq!(candidates.len(), units.len()),
            other => panic!("{other:?}"),
        }
        let (v, _) = units[0];
        let township = region.lineage(v).unwrap().township;
        let t = &region.units[township as usize].name;
        assert_eq!(g.by_address(region, &format!("{t}{name}"), &[]).unwrap().unit, v);
        assert_eq!(g.by_address(region, &name, &[township]).unwrap().unit, v);
        let found = g
            .by_names(region, &[(AdminLevel::Township, t), (AdminLevel::Village, &name)], &[])
            .unwrap();
        assert_eq!(
            found,
            Found {
                unit: v,
                quality: PlaceMatch::Exact
            }
        );
        assert!(matches!(
            g.by_names(region, &[(AdminLevel::Village, &name)], &[]),
            Err(NotFound::Ambiguous { .. })
        ));
    }

    #[test]
    fn names_match_without_their_suffix_as_aliases() {
        let region = chenzhou();
        let g = Gazetteer::new(region);
        let (id, village, township, _) = unique_village(&g, region);
        let short = strip_suffix(&township, AdminLevel::Township).unwrap().to_string();
        let found = g
            .by_names(
                region,
                &[(AdminLevel::Township, &short), (AdminLevel::Village, &village)],
                &[],
            )
            .unwrap();
        assert_eq!(
            found,
            Found {
                unit: id,
                quality: PlaceMatch::Alias
            }
        );
        assert!(matches!(
            g.by_names(region, &[(AdminLevel::Township, &township)], &[]),
            Err(NotFound::Unknown(m)) if m.contains("no village")
        ));
    }
}
