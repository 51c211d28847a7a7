//! The display projection: the one place display-role figures come from (docs/api.md, "Threat
//! model"). It is computed once per data version, server-side, and holds every count a display
//! token may be told, already suppressed:
//!
//! * **Atoms.** The last 52 weeks are cut into 7-day blocks ending on the last day with cases `L`
//!   (block 0 is `L−6 … L`); for the region and the counties, block 0 is also split into `L` itself
//!   and the six days before (the wall's "today"). An atom is one (area, slice, block) count: areas
//!   are the region, counties, townships, villages and H3 cells of resolution 5–8; slices are all
//!   cases, and — for the region and counties only — each class, each category, finished /
//!   unfinished, on time / late, answered / unanswered call-backs, satisfied / not.
//! * **Primary suppression.** An atom of 1 … k−1 is hidden.
//! * **Complementary suppression.** Atoms are bound by sums: a parent is the sum of its children
//!   (region → counties → townships → villages; cell → its seven children; all → classes; all →
//!   categories; block 0 → today + the rest; …). Until every sum is safe, more atoms are hidden:
//!   where a sum is known, its hidden part is either nothing or at least two atoms adding up to k or
//!   more; where a sum is hidden, at least one of its parts is hidden too, so it cannot be rebuilt
//!   from below ([`Projection::build`]).
//! * **Windows.** A display period must be a run of whole blocks (or the last day alone, for the
//!   region and counties), and a figure over it is shown only when every one of its atoms is: so
//!   the difference of two shown figures is a sum of shown atoms, never a hidden one.
//! * **Allow-lists.** Every display response is built by [`project`] from a [`Shape`] that lists
//!   the fields a display token may see and what each is (a label, a count, a rate of counts…).
//!   A field not on the list is dropped; a count that is not 0 or ≥ k is blanked; a rate is shown
//!   only with the counts it is made of. A new figure added to an analysis result therefore reaches
//!   no display until someone classifies it here.
//!
//! Every successful display response carries [`Mark`]; [`crate::access::guard`] turns one without
//! it into a 500.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use duckdb::Connection;
use fengqiao_ingest::model::{AdminLevel, CaseClass, Category};
use fengqiao_ingest::region::UnitId;
use fengqiao_ingest::Region;
use h3o::{CellIndex, Resolution};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Put on every response made through the projection (checked by the route guard).
#[derive(Debug, Clone, Copy)]
pub struct Mark;

/// Blocks the projection covers (a year).
pub const BLOCKS: u8 = 52;
/// The finest H3 resolution a display token gets (coarser ones are enforced on it).
pub const FINEST_RES: Resolution = Resolution::Eight;
/// The coarsest resolution in the projection.
const COARSEST_RES: Resolution = Resolution::Five;

/// The atom of the last day, and of the six days before it, in block 0.
const TODAY: u8 = BLOCKS;
const REST: u8 = BLOCKS + 1;

/// Slices: what subset of an area's cases an atom counts.
pub mod slice {
    pub const ALL: u8 = 0;
    /// `CLASS + i`: the i-th class of `CaseClass::ALL`.
    pub const CLASS: u8 = 1;
    /// `CATEGORY + i`: the i-th category of `Category::ALL`.
    pub const CATEGORY: u8 = 6;
    pub const FINISHED: u8 = 24;
    pub const UNFINISHED: u8 = 25;
    pub const ON_TIME: u8 = 26;
    pub const LATE: u8 = 27;
    pub const ANSWERED: u8 = 28;
    pub const UNANSWERED: u8 = 29;
    pub const SATISFIED: u8 = 30;
    pub const UNSATISFIED: u8 = 31;
}

/// An area of the projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Area {
    /// A unit of the region (the region itself is unit 0).
    Unit(UnitId),
    /// An H3 cell (res 5–8).
    Cell(u64),
}

/// A display period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    /// Blocks `newest ..= oldest` (0 ends on the last day with cases).
    Blocks { newest: u8, oldest: u8 },
    /// The last day with cases alone.
    Today,
}

impl Window {
    /// The period as a filter's `[from, to)`.
    pub fn bounds(self, last_day: NaiveDate) -> (NaiveDateTime, NaiveDateTime) {
        let (first, last) = match self {
            Window::Today => (last_day, last_day),
            Window::Blocks { newest, oldest } => (
                last_day - Duration::days(7 * i64::from(oldest) + 6),
                last_day - Duration::days(7 * i64::from(newest)),
            ),
        };
        let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight");
        (midnight(first), midnight(last + Duration::days(1)))
    }

    /// The last day of the period.
    pub fn last_day(self, last_day: NaiveDate) -> NaiveDate {
        self.bounds(last_day).1.date() - Duration::days(1)
    }

    /// Blocks in the period (1 for the last day).
    pub fn blocks(self) -> usize {
        match self {
            Window::Today => 1,
            Window::Blocks { newest, oldest } => usize::from(oldest - newest) + 1,
        }
    }
}

/// The display period of `[from, to)` (dates; `to` exclusive), refused unless it is a run of whole
/// blocks ending on the last day with cases `last` or a multiple of 7 days before it, or the last
/// day alone. Without `to` the period ends on `last`; without `from` it starts 52 weeks back.
pub fn window(from: Option<NaiveDateTime>, to: Option<NaiveDateTime>, last: NaiveDate) -> Result<Window, ApiError> {
    let rule = || {
        ApiError::BadRequest(format!(
            "a display token sees whole weeks only: periods of 7, 14, … days ending on the last day with \
             cases ({last}) or a multiple of 7 days before it, within 52 weeks (or that last day alone), \
             given as dates"
        ))
    };
    let date = |t: NaiveDateTime| {
        (t.time() == chrono::NaiveTime::MIN)
            .then_some(t.date())
            .ok_or_else(rule)
    };
    let last_in = match to {
        Some(t) => date(t)? - Duration::days(1),
        None => last,
    };
    let back = (last - last_in).num_days();
    if back < 0 || back % 7 != 0 || back / 7 >= i64::from(BLOCKS) {
        return Err(rule());
    }
    let newest = (back / 7) as u8;
    let first = match from {
        Some(t) => date(t)?,
        None => last - Duration::days(7 * i64::from(BLOCKS) - 1),
    };
    if first == last && last_in == last {
        return Ok(Window::Today);
    }
    let span = (last - first).num_days() + 1;
    if span % 7 != 0 || span < 7 * (i64::from(newest) + 1) || span > 7 * i64::from(BLOCKS) {
        return Err(rule());
    }
    Ok(Window::Blocks {
        newest,
        oldest: (span / 7 - 1) as u8,
    })
}

/// One atom.
#[derive(Debug, Clone, Copy, Default)]
struct Node {
    value: u32,
    hidden: bool,
}

type Key = (Area, u8, u8);

/// A sum of atoms: `parent = children + own`, where `own` (cases of the parent in none of the
/// children, e.g. a unit's cases coded to it and no unit below) is never published.
struct Group {
    parent: usize,
    children: Vec<usize>,
    own: u32,
}

/// The display projection of one data version.
pub struct Projection {
    /// The data version it was computed from.
    pub version: u64,
    pub last_day: Option<NaiveDate>,
    pub k: u64,
    ids: HashMap<Key, usize>,
    keys: Vec<Key>,
    nodes: Vec<Node>,
    /// Hidden by primary suppression / by complementary suppression (for the benchmarks' notes).
    pub primary: usize,
    pub complementary: usize,
}

/// The projection of a version, computed once (requests that arrive meanwhile wait for it).
pub(crate) type ProjectionSlot = Arc<tokio::sync::OnceCell<Arc<Projection>>>;

/// Cases counted by the projection's query: age in days before the last day, the res-10 cell, the
/// village, class, category and the four outcome flags, with how many cases share them.
struct CaseGroup {
    age: i64,
    h3: u64,
    village: String,
    class: usize,
    category: usize,
    finished: bool,
    on_time: bool,
    answered: bool,
    satisfied: bool,
    n: u32,
}

fn read_cases(conn: &Connection, last: NaiveDate) -> Result<Vec<CaseGroup>, ApiError> {
    let first = last - Duration::days(7 * i64::from(BLOCKS) - 1);
    let sql = format!(
        "SELECT date_diff('day', CAST(reported_at AS DATE), CAST(? AS DATE)), h3, village_code, class, category,
                {}, {},
                satisfaction IS NOT NULL,
                {},
                count(*)
         FROM cases WHERE reported_at >= CAST(? AS DATE) AND reported_at < CAST(? AS DATE) + 1
         GROUP BY ALL",
        fengqiao_analytics::kpi::finished_sql(),
        fengqiao_analytics::kpi::on_time_sql(),
        fengqiao_analytics::kpi::satisfied_sql()
    );
    let internal = |e: duckdb::Error| ApiError::Internal(format!("the display projection: {e}"));
    let mut stmt = conn.prepare(&sql).map_err(internal)?;
    let (l, f) = (last.to_string(), first.to_string());
    let rows = stmt
        .query_map(duckdb::params![l, f, l], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, u64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                [
                    r.get::<_, bool>(5)?,
                    r.get::<_, Option<bool>>(6)?.unwrap_or(false),
                    r.get::<_, bool>(7)?,
                ],
                r.get::<_, Option<bool>>(8)?.unwrap_or(false),
                r.get::<_, i64>(9)?,
            ))
        })
        .map_err(internal)?;
    let mut out = Vec::new();
    for row in rows {
        let (age, h3, village, class, category, [finished, on_time, answered], satisfied, n) = row.map_err(internal)?;
        let class = CaseClass::ALL.iter().position(|c| c.code() == class);
        let category = Category::ALL.iter().position(|c| c.code() == category);
        let (Some(class), Some(category)) = (class, category) else {
            return Err(ApiError::Internal(format!(
                "the display projection: a case of class {class:?}, category {category:?}"
            )));
        };
        out.push(CaseGroup {
            age,
            h3,
            village,
            class,
            category,
            finished,
            on_time,
            answered,
            satisfied,
            n: n as u32,
        });
    }
    Ok(out)
}

/// Whether an area is the region or a county (the areas with slices and a "today").
fn coarse(region: &Region, area: Area) -> bool {
    match area {
        Area::Unit(u) => matches!(region.units[u as usize].level, AdminLevel::City | AdminLevel::County),
        Area::Cell(_) => false,
    }
}

/// The slices of the region and the counties.
fn slices() -> impl Iterator<Item = u8> {
    0..=slice::UNSATISFIED
}

struct Builder {
    ids: HashMap<Key, usize>,
    keys: Vec<Key>,
    nodes: Vec<Node>,
}

impl Builder {
    fn id(&mut self, key: Key) -> usize {
        let next = self.nodes.len();
        *self.ids.entry(key).or_insert_with(|| {
            self.nodes.push(Node::default());
            self.keys.push(key);
            next
        })
    }

    fn add(&mut self, key: Key, n: u32) {
        let id = self.id(key);
        self.nodes[id].value += n;
    }

    fn value(&self, key: &Key) -> u32 {
        self.ids.get(key).map_or(0, |&i| self.nodes[i].value)
    }
}

impl Builder {
    /// A case group's atoms of one unit: every unit counts all cases; the city and the counties
    /// also by class, category, finished/on time, answered/satisfied, and the last block by day.
    fn add_unit_atoms(&mut self, area: Area, level: AdminLevel, c: &CaseGroup, block: u8) {
        self.add((area, slice::ALL, block), c.n);
        if !matches!(level, AdminLevel::City | AdminLevel::County) {
            return;
        }
        let class = slice::CLASS + c.class as u8;
        self.add((area, class, block), c.n);
        self.add((area, slice::CATEGORY + c.category as u8, block), c.n);
        let finished = if c.finished { slice::FINISHED } else { slice::UNFINISHED };
        self.add((area, finished, block), c.n);
        if c.finished {
            self.add((area, if c.on_time { slice::ON_TIME } else { slice::LATE }, block), c.n);
        }
        let answered = if c.answered { slice::ANSWERED } else { slice::UNANSWERED };
        self.add((area, answered, block), c.n);
        if c.answered {
            let s = if c.satisfied {
                slice::SATISFIED
            } else {
                slice::UNSATISFIED
            };
            self.add((area, s, block), c.n);
        }
        if block == 0 {
            let part = if c.age == 0 { TODAY } else { REST };
            self.add((area, slice::ALL, part), c.n);
            self.add((area, class, part), c.n);
        }
    }
}

impl Projection {
    /// Computes the projection of the store as it is (`k` the small-count threshold).
    pub fn compute(conn: &Connection, region: &Region, k: u64) -> Result<Projection, ApiError> {
        let last =
            fengqiao_analytics::cube::last_case_day(conn, region, &fengqiao_analytics::filter::Filter::default())?;
        let Some(last) = last else {
            return Ok(Projection::build(region, None, &[], k));
        };
        let cases = read_cases(conn, last)?;
        Ok(Projection::build(region, Some(last), &cases, k))
    }

    fn build(region: &Region, last_day: Option<NaiveDate>, cases: &[CaseGroup], k: u64) -> Projection {
        let mut b = Builder {
            ids: HashMap::new(),
            keys: Vec::new(),
            nodes: Vec::new(),
        };
        let village_ids: HashMap<&str, UnitId> = region
            .units
            .iter()
            .enumerate()
            .map(|(i, u)| (u.code.as_str(), i as UnitId))
            .collect();
        for c in cases {
            if c.age < 0 || c.age >= 7 * i64::from(BLOCKS) {
                continue;
            }
            let block = (c.age / 7) as u8;
            // Units: the case's village and everything above it (down to villages: no grids).
            let mut up = village_ids.get(c.village.as_str()).copied();
            while let Some(u) = up {
                let level = region.units[u as usize].level;
                if level != AdminLevel::Grid {
                    b.add_unit_atoms(Area::Unit(u), level, c, block);
                }
                up = region.parent(u);
            }
            // Cells: res 8 and its parents up to res 5.
            if let Ok(cell) = CellIndex::try_from(c.h3) {
                for res in u8::from(COARSEST_RES)..=u8::from(FINEST_RES) {
                    if let Some(parent) = cell.parent(Resolution::try_from(res).expect("5..=8")) {
                        b.add((Area::Cell(u64::from(parent)), slice::ALL, block), c.n);
                    }
                }
            }
        }
        let groups = groups(region, &mut b);
        let primary = b
            .nodes
            .iter_mut()
            .filter(|n| n.value > 0 && u64::from(n.value) < k)
            .map(|n| n.hidden = true)
            .count();
        let keys = &b.keys;
        let hidden = suppress(&mut b.nodes, &groups, k, |id| is_leaf(region, &keys[id]));
        Projection {
            version: 0,
            last_day,
            k,
            ids: b.ids,
            keys: b.keys,
            nodes: b.nodes,
            primary,
            complementary: hidden,
        }
    }

    /// The count of `area` in `window` for `slice`, when the display may see it: `None` when any
    /// of its atoms is hidden, or the window is finer than the area has atoms for.
    pub fn count(&self, region: &Region, area: Area, slice: u8, window: Window) -> Option<u64> {
        let held = match area {
            Area::Cell(c) => {
                slice == slice::ALL
                    && CellIndex::try_from(c).is_ok_and(|c| (COARSEST_RES..=FINEST_RES).contains(&c.resolution()))
            }
            Area::Unit(u) => match region.units.get(u as usize).map(|u| u.level) {
                None | Some(AdminLevel::Grid) => false,
                Some(_) => slice == slice::ALL || coarse(region, area),
            },
        };
        if !held {
            return None;
        }
        let atoms: Vec<u8> = match window {
            Window::Today if coarse(region, area) && slice <= slice::CLASS + 4 => vec![TODAY],
            Window::Today => return None,
            Window::Blocks { newest, oldest } => (newest..=oldest).collect(),
        };
        let mut total = 0u64;
        for atom in atoms {
            match self.ids.get(&(area, slice, atom)) {
                None => {}
                Some(&id) if self.nodes[id].hidden => return None,
                Some(&id) => total += u64::from(self.nodes[id].value),
            }
        }
        Some(total)
    }

    /// The last day with cases, or today for a store without cases (every figure is then 0).
    pub fn last_day_or_today(&self) -> NaiveDate {
        self.last_day
            .unwrap_or_else(|| fengqiao_ingest::time::now_china().date())
    }

    /// Atoms held and hidden (for the benchmarks).
    pub fn sizes(&self) -> (usize, usize) {
        (self.nodes.len(), self.nodes.iter().filter(|n| n.hidden).count())
    }

    /// Checks the projection's own invariant over every sum it knows of (used by tests): no shown
    /// atom of 1 … k−1, and every sum with a shown parent has a hidden part of nothing or of two
    /// atoms or more adding up to at least k; every hidden parent has a hidden part.
    pub fn audit(&self, region: &Region) -> Result<(), String> {
        for (key, &id) in &self.ids {
            let n = self.nodes[id];
            if !n.hidden && n.value > 0 && u64::from(n.value) < self.k {
                return Err(format!("{key:?}: {} shown", n.value));
            }
        }
        let mut b = Builder {
            ids: self.ids.clone(),
            keys: self.keys.clone(),
            nodes: self.nodes.clone(),
        };
        let groups = groups(region, &mut b);
        for g in &groups {
            let (count, sum) = hidden_part(&b.nodes, g);
            let parent = b.nodes[g.parent];
            if parent.hidden {
                if parent.value > 0 && count == 0 {
                    return Err(format!("a hidden sum of {} with no hidden part", parent.value));
                }
            } else if count > 0 && (count < 2 || sum < self.k) {
                return Err(format!(
                    "a shown sum of {} with a hidden part of {count} atom(s) adding up to {sum}",
                    parent.value
                ));
            }
        }
        Ok(())
    }
}

/// Whether an atom is never the sum of others (so a hidden zero there protects, being
/// indistinguishable from a hidden small count).
fn is_leaf(region: &Region, &(area, slice, _): &Key) -> bool {
    match area {
        Area::Cell(c) => CellIndex::try_from(c).is_ok_and(|c| c.resolution() == FINEST_RES),
        Area::Unit(u) => {
            let level = region.units[u as usize].level;
            match level {
                AdminLevel::Village => true,
                AdminLevel::County => !matches!(slice, slice::ALL | slice::FINISHED | slice::ANSWERED),
                _ => false,
            }
        }
    }
}

/// Every sum binding the atoms, with zero-valued members made explicit (they can be hidden).
fn groups(region: &Region, b: &mut Builder) -> Vec<Group> {
    let mut out = Vec::new();
    let mut push = |b: &mut Builder, parent: Key, children: Vec<Key>| {
        let total = b.value(&parent);
        if total == 0 {
            return;
        }
        let sum: u32 = children.iter().map(|c| b.value(c)).sum();
        let parent = b.id(parent);
        let children = children.into_iter().map(|c| b.id(c)).collect();
        out.push(Group {
            parent,
            children,
            own: total.saturating_sub(sum),
        });
    };
    let coarse_units: Vec<UnitId> = (0..region.units.len() as UnitId)
        .filter(|&u| coarse(region, Area::Unit(u)))
        .collect();
    let counties: Vec<UnitId> = coarse_units.iter().copied().filter(|&u| u != 0).collect();
    let cells = cells_by_block(b);
    for atom in 0..REST + 1 {
        let blocks = atom < BLOCKS;
        // Units: region → counties → townships → villages (in the split of block 0: region → counties).
        for u in 0..region.units.len() as UnitId {
            let level = region.units[u as usize].level;
            let splits = matches!(level, AdminLevel::City);
            if matches!(level, AdminLevel::Village | AdminLevel::Grid) || !(blocks || splits) {
                continue;
            }
            let children = region
                .children(u)
                .iter()
                .map(|&c| (Area::Unit(c), slice::ALL, atom))
                .collect();
            push(b, (Area::Unit(u), slice::ALL, atom), children);
        }
        // Slices of the region and counties, and the region as the sum of the counties per slice.
        for &u in &coarse_units {
            let area = Area::Unit(u);
            let class = (0..5).map(|i| (area, slice::CLASS + i, atom)).collect();
            push(b, (area, slice::ALL, atom), class);
            if blocks {
                let categories = (0..Category::ALL.len() as u8)
                    .map(|i| (area, slice::CATEGORY + i, atom))
                    .collect();
                push(b, (area, slice::ALL, atom), categories);
                for (parent, a, c) in [
                    (slice::ALL, slice::FINISHED, slice::UNFINISHED),
                    (slice::FINISHED, slice::ON_TIME, slice::LATE),
                    (slice::ALL, slice::ANSWERED, slice::UNANSWERED),
                    (slice::ANSWERED, slice::SATISFIED, slice::UNSATISFIED),
                ] {
                    push(b, (area, parent, atom), vec![(area, a, atom), (area, c, atom)]);
                }
            }
        }
        for s in slices().filter(|&s| s != slice::ALL && (blocks || s <= slice::CLASS + 4)) {
            let children = counties.iter().map(|&c| (Area::Unit(c), s, atom)).collect();
            push(b, (Area::Unit(0), s, atom), children);
        }
        if atom == 0 {
            // Block 0 = the last day + the six days before, for the region and counties.
            for &u in &coarse_units {
                for s in 0..=slice::CLASS + 4 {
                    let area = Area::Unit(u);
                    push(b, (area, s, 0), vec![(area, s, TODAY), (area, s, REST)]);
                }
            }
        }
        if blocks {
            cell_groups(b, atom, &cells[usize::from(atom)], &mut push);
        }
    }
    out
}

/// The cell sums of one block: the region → its res-5 cells, each cell → its children down to res 8.
/// `cells` holds the block's cells with cases, by resolution (5 first).
fn cell_groups(
    b: &mut Builder,
    atom: u8,
    cells: &[Vec<CellIndex>],
    push: &mut impl FnMut(&mut Builder, Key, Vec<Key>),
) {
    let top = cells[0]
        .iter()
        .map(|&c| (Area::Cell(u64::from(c)), slice::ALL, atom))
        .collect();
    push(b, (Area::Unit(0), slice::ALL, atom), top);
    for (i, parents) in cells.iter().enumerate().take(3) {
        let finer = Resolution::try_from(6 + i as u8).expect("6..=8");
        for &cell in parents {
            let children = cell
                .children(finer)
                .map(|c| (Area::Cell(u64::from(c)), slice::ALL, atom))
                .collect();
            push(b, (Area::Cell(u64::from(cell)), slice::ALL, atom), children);
        }
    }
}

/// The cells with cases of every block, by block and resolution (5 to 8), sorted.
fn cells_by_block(b: &Builder) -> Vec<Vec<Vec<CellIndex>>> {
    let mut out = vec![vec![Vec::new(); 4]; usize::from(BLOCKS)];
    for (i, &(area, s, atom)) in b.keys.iter().enumerate() {
        if let (Area::Cell(c), slice::ALL, true) = (area, s, atom < BLOCKS) {
            if b.nodes[i].value > 0 {
                if let Ok(cell) = CellIndex::try_from(c) {
                    out[usize::from(atom)][usize::from(u8::from(cell.resolution()) - 5)].push(cell);
                }
            }
        }
    }
    for block in &mut out {
        for cells in block.iter_mut() {
            cells.sort_unstable();
        }
    }
    out
}

/// The hidden members of a sum (its `own` part counts as one when it has cases) and their total.
fn hidden_part(nodes: &[Node], g: &Group) -> (usize, u64) {
    let mut count = usize::from(g.own > 0);
    let mut sum = u64::from(g.own);
    for &c in &g.children {
        if nodes[c].hidden {
            count += 1;
            sum += u64::from(nodes[c].value);
        }
    }
    (count, sum)
}

/// Complementary suppression to a fixed point; returns how many atoms it hid.
fn suppress(nodes: &mut [Node], groups: &[Group], k: u64, is_leaf: impl Fn(usize) -> bool) -> usize {
    let mut member_of: HashMap<usize, Vec<usize>> = HashMap::new();
    for (gi, g) in groups.iter().enumerate() {
        member_of.entry(g.parent).or_default().push(gi);
        for &c in &g.children {
            member_of.entry(c).or_default().push(gi);
        }
    }
    let mut queue: Vec<usize> = (0..groups.len()).collect();
    let mut hidden = 0;
    while let Some(gi) = queue.pop() {
        let g = &groups[gi];
        let (count, sum) = hidden_part(nodes, g);
        let parent = nodes[g.parent];
        let needs = if parent.hidden {
            parent.value > 0 && count == 0
        } else {
            count > 0 && (count < 2 || sum < k)
        };
        if !needs {
            continue;
        }
        // The complement: the smallest shown child that makes the hidden part reach k, else the
        // largest; zero-valued ones only where they are never a sum themselves.
        let want = k.saturating_sub(sum).max(1);
        let shown: Vec<usize> = g.children.iter().copied().filter(|&c| !nodes[c].hidden).collect();
        let positive = shown.iter().copied().filter(|&c| nodes[c].value > 0);
        let enough = positive
            .clone()
            .filter(|&c| u64::from(nodes[c].value) >= want)
            .min_by_key(|&c| nodes[c].value);
        let choice = enough
            .or_else(|| positive.max_by_key(|&c| nodes[c].value))
            .or_else(|| shown.iter().copied().find(|&c| is_leaf(c)));
        let target = match choice {
            Some(c) => c,
            None if !parent.hidden => g.parent,
            None => continue,
        };
        nodes[target].hidden = true;
        hidden += 1;
        queue.push(gi);
        if let Some(gs) = member_of.get(&target) {
            queue.extend(gs);
        }
    }
    hidden
}

/// The projection of the current version, computed once on the worker pool.
pub async fn projection(state: &Arc<crate::AppState>) -> Result<Arc<Projection>, ApiError> {
    let version = state.version();
    let slot = {
        let mut current = state.display.lock().expect("display projection");
        match current.as_ref() {
            Some((v, slot)) if *v == version => Arc::clone(slot),
            _ => {
                let slot = ProjectionSlot::default();
                *current = Some((version, Arc::clone(&slot)));
                slot
            }
        }
    };
    slot.get_or_try_init(|| {
        state.read(move |conn, state| {
            let started = std::time::Instant::now();
            let mut p = Projection::compute(conn, &state.region, state.config.suppress_below)?;
            p.version = version;
            let (atoms, hidden) = p.sizes();
            tracing::info!(
                version,
                atoms,
                hidden,
                ms = started.elapsed().as_millis() as u64,
                "display projection"
            );
            Ok(Arc::new(p))
        })
    })
    .await
    .cloned()
}

/// Offers a projection computed elsewhere (the warm-up) for `version`, if none is there yet.
pub(crate) fn offer(state: &crate::AppState, version: u64, projection: Arc<Projection>) {
    if state.version() != version {
        return;
    }
    let mut current = state.display.lock().expect("display projection");
    match current.as_ref() {
        Some((v, slot)) if *v == version => {
            let _ = slot.set(projection);
        }
        _ => {
            let slot = ProjectionSlot::default();
            let _ = slot.set(projection);
            *current = Some((version, slot));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Allow-lists.

/// What a field of a display response is.
#[derive(Debug, Clone, Copy)]
pub enum Field {
    /// Not a figure of cases (a name, a code, a level, a date, a pattern): copied.
    Label,
    /// A count: null, 0 or at least k.
    Count,
    /// A list of counts.
    Counts,
    /// `[[code, count], …]`.
    Breakdown,
    /// `[[code, count], …]` of which only the codes are shown (an order, no figures).
    Keys,
    /// A figure made from the counts named (a rate, a mean): shown only when they all are.
    Derived(&'static [&'static str]),
    /// An object of this shape.
    Object(&'static Shape),
    /// A list of objects of this shape.
    List(&'static Shape),
    /// The fields of this shape, on the same object (a flattened part).
    Same(&'static Shape),
}

/// The fields a display token may see of one kind of object.
#[derive(Debug)]
pub struct Shape {
    pub name: &'static str,
    pub fields: &'static [(&'static str, Field)],
}

use Field::{Breakdown, Count, Counts, Derived, Keys, Label, List, Object, Same};

pub const CELL: Shape = Shape {
    name: "heat-map cell",
    fields: &[
        ("h3", Label),
        ("count", Count),
        ("population", Label),
        ("ratio", Derived(&["count"])),
        ("no_residents", Label),
        ("level", Label),
        ("cluster", Label),
        ("suppressed", Label),
        ("county_code", Label),
        ("township_code", Label),
        ("village_code", Label),
    ],
};

pub const HEATMAP: Shape = Shape {
    name: "heat map",
    fields: &[
        ("res", Label),
        ("k", Label),
        ("measure", Label),
        ("measure_zh", Label),
        ("weeks", Label),
        ("cells", List(&CELL)),
    ],
};

/// What a hexagon tile feature may carry for a display token.
pub const TILE_FEATURE: Shape = Shape {
    name: "hexagon tile feature",
    fields: &[("h3", Label), ("count", Count), ("level", Label)],
};

pub const PLACE: Shape = Shape {
    name: "cluster place",
    fields: &[("code", Label), ("name", Label)],
};

pub const CLUSTER: Shape = Shape {
    name: "hot-spot cluster",
    fields: &[
        ("id", Label),
        ("level", Label),
        ("reason", Label),
        ("cells", Label),
        ("cases", Count),
        ("cases_per_week", Derived(&["cases"])),
        ("expected", Derived(&["cases"])),
        ("ratio", Derived(&["cases"])),
        ("counties", List(&PLACE)),
        ("townships", List(&PLACE)),
        ("villages", List(&PLACE)),
        ("top_categories", Keys),
        ("lng", Label),
        ("lat", Label),
    ],
};

pub const UNIT_ROW: Shape = Shape {
    name: "unit figures",
    fields: &[
        ("code", Label),
        ("name", Label),
        ("level", Label),
        ("count", Count),
        ("population", Label),
        ("rate_per_10k", Derived(&["count"])),
    ],
};

pub const SUMMARY: Shape = Shape {
    name: "headline figures",
    fields: &[
        ("cases", Count),
        ("by_class", Breakdown),
        ("by_category", Breakdown),
        ("finished", Count),
        ("finished_on_time", Count),
        ("closure_rate", Derived(&["cases", "finished"])),
        ("on_time_rate", Derived(&["finished", "finished_on_time"])),
        ("answered", Count),
        ("satisfied", Count),
        ("satisfaction_rate", Derived(&["answered", "satisfied"])),
    ],
};

pub const KPIS: Shape = Shape {
    name: "KPIs",
    fields: &[("summary", Object(&SUMMARY)), ("units", List(&UNIT_ROW))],
};

pub const BREADCRUMB: Shape = Shape {
    name: "breadcrumb",
    fields: &[("code", Label), ("name", Label), ("level", Label)],
};

pub const UNIT: Shape = Shape {
    name: "unit",
    fields: &[
        ("code", Label),
        ("name", Label),
        ("level", Label),
        ("population", Label),
        ("lng", Label),
        ("lat", Label),
        ("bbox", Label),
        ("breadcrumbs", List(&BREADCRUMB)),
        ("children", List(&UNIT_ROW)),
    ],
};

pub const TREND_LOCATION: Shape = Shape {
    name: "emerging hot-spot location",
    fields: &[
        ("location", Label),
        ("name", Label),
        ("county_code", Label),
        ("township_code", Label),
        ("village_code", Label),
        ("pattern", Label),
        ("counts", Counts),
        ("total", Count),
    ],
};

pub const TRENDS: Shape = Shape {
    name: "emerging hot spots",
    fields: &[
        ("step", Label),
        ("measure", Label),
        ("measure_zh", Label),
        ("periods", Label),
        ("locations", List(&TREND_LOCATION)),
    ],
};

/// A unit × category (of a recurring problem or an alert).
pub const UNIT_CATEGORY: Shape = Shape {
    name: "unit and category",
    fields: &[
        ("unit_code", Label),
        ("unit_name", Label),
        ("county_name", Label),
        ("township_name", Label),
        ("category", Label),
        ("category_zh", Label),
    ],
};

pub const RECURRING_PROBLEM: Shape = Shape {
    name: "recurring problem",
    fields: &[
        ("rank", Label),
        ("", Same(&UNIT_CATEGORY)),
        ("window", Label),
        ("trend", Label),
        ("hotspot", Label),
        ("department", Label),
    ],
};

pub const RECURRING: Shape = Shape {
    name: "recurring problems",
    fields: &[
        ("step", Label),
        ("measure", Label),
        ("measure_zh", Label),
        ("periods", Label),
        ("window", Label),
        ("problems", List(&RECURRING_PROBLEM)),
    ],
};

pub const ALERT: Shape = Shape {
    name: "early-warning alert",
    fields: &[
        ("rank", Label),
        ("", Same(&UNIT_CATEGORY)),
        ("window_start", Label),
        ("window_end", Label),
        ("observed", Count),
        ("expected", Derived(&["observed"])),
        ("severity", Label),
        ("severity_zh", Label),
        ("ongoing", Label),
        ("department", Label),
    ],
};

/// Every shape, for the tests that check responses against them.
pub const SHAPES: &[&Shape] = &[
    &UNIT_CATEGORY,
    &PLACE,
    &BREADCRUMB,
    &HEATMAP,
    &CELL,
    &TILE_FEATURE,
    &CLUSTER,
    &KPIS,
    &SUMMARY,
    &UNIT_ROW,
    &UNIT,
    &TRENDS,
    &TREND_LOCATION,
    &RECURRING,
    &RECURRING_PROBLEM,
    &ALERT,
];

/// The counts' field names across the shapes (for checking responses).
pub fn count_fields() -> Vec<&'static str> {
    let mut names: Vec<&str> = SHAPES
        .iter()
        .flat_map(|s| s.fields.iter())
        .filter(|(_, f)| matches!(f, Field::Count | Field::Counts | Field::Breakdown))
        .map(|(n, _)| *n)
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Every field name a display response may carry.
pub fn allowed_fields() -> Vec<&'static str> {
    let mut names: Vec<&str> = SHAPES
        .iter()
        .flat_map(|s| s.fields.iter())
        .map(|(n, _)| *n)
        .filter(|n| !n.is_empty())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Whether `v` is a count a display may see: null, 0, or at least k.
pub fn shown_count(v: &Value, k: u64) -> bool {
    match v {
        Value::Null => true,
        Value::Number(n) => n.as_u64().is_some_and(|n| n == 0 || n >= k),
        _ => false,
    }
}

/// A count, checked: anything else than null, 0 or ≥ k becomes null (and is logged: it means a
/// handler did not take the figure from the projection).
fn checked(v: &Value, k: u64, shape: &Shape, field: &str) -> Value {
    if shown_count(v, k) {
        return v.clone();
    }
    tracing::error!(
        shape = shape.name,
        field,
        "a count the display may not see reached the projection"
    );
    Value::Null
}

/// `value` as a display token may see it: only the fields `shape` lists, checked as it says.
pub fn project(shape: &Shape, value: &Value, k: u64) -> Value {
    let Some(object) = value.as_object() else {
        return Value::Null;
    };
    let mut out = Map::new();
    for &(name, field) in shape.fields {
        if let Same(part) = field {
            if let Value::Object(fields) = project(part, value, k) {
                out.extend(fields);
            }
            continue;
        }
        let Some(v) = object.get(name) else { continue };
        let projected = match field {
            Label => v.clone(),
            Count => checked(v, k, shape, name),
            Counts => match v {
                Value::Array(items) => Value::Array(items.iter().map(|i| checked(i, k, shape, name)).collect()),
                _ => Value::Null,
            },
            Breakdown => match v {
                Value::Array(items) => Value::Array(
                    items
                        .iter()
                        .filter_map(|pair| {
                            let pair = pair.as_array()?;
                            let code = pair.first()?.clone();
                            let count = pair.get(1).map_or(Value::Null, |n| checked(n, k, shape, name));
                            Some(Value::Array(vec![code, count]))
                        })
                        .collect(),
                ),
                _ => Value::Null,
            },
            Keys => match v {
                Value::Array(items) => Value::Array(
                    items
                        .iter()
                        .filter_map(|pair| pair.as_array().and_then(|p| p.first()).cloned())
                        .collect(),
                ),
                _ => Value::Null,
            },
            Derived(_) => v.clone(), // settled below, once the counts are in
            Same(_) => continue,
            Object(inner) => project(inner, v, k),
            List(inner) => match v {
                Value::Array(items) => Value::Array(items.iter().map(|i| project(inner, i, k)).collect()),
                _ => Value::Null,
            },
        };
        out.insert(name.to_string(), projected);
    }
    for &(name, field) in shape.fields {
        if let Derived(bases) = field {
            let known = bases.iter().all(|b| out.get(*b).is_some_and(|v| !v.is_null()));
            if !known {
                if let Some(v) = out.get_mut(name) {
                    *v = Value::Null;
                }
            }
        }
    }
    Value::Object(out)
}

/// A display response: `whole` (already projected) as JSON, or its `rows` as CSV or Arrow, marked.
pub fn respond(
    format: crate::table::Format,
    whole: &Value,
    rows: &[Value],
) -> Result<axum::response::Response, ApiError> {
    let mut response = crate::table::respond(format, whole, rows)?;
    response.extensions_mut().insert(Mark);
    Ok(response)
}

/// Marks a response that carries no case figures at all (TileJSON, the version) as fit for display.
pub fn no_figures(mut response: axum::response::Response) -> axum::response::Response {
    response.extensions_mut().insert(Mark);
    response
}

/// Takes a cluster reason's figures out when the cluster's cases are hidden, and the share of
/// serious cases always (a severity breakdown no display atom backs).
pub fn display_reason(reason: &str, cases_shown: bool, level_text: &str) -> String {
    if !cases_shown {
        return level_text.to_string();
    }
    let (body, tail) = reason.split_once('→').unwrap_or((reason, ""));
    let body = body
        .split('，')
        .filter(|part| !part.contains("较大及重大疑难"))
        .collect::<Vec<_>>()
        .join("，");
    if tail.is_empty() {
        body
    } else {
        format!("{body}→{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn at(s: &str) -> NaiveDateTime {
        day(s).and_hms_opt(0, 0, 0).unwrap()
    }

    #[test]
    fn display_periods_are_whole_weeks_ending_on_the_last_day() {
        let last = day("2026-10-31");
        let w = |from: &str, to: &str| window(Some(at(from)), Some(at(to) + Duration::days(1)), last);
        assert_eq!(
            w("2026-10-25", "2026-10-31").unwrap(),
            Window::Blocks { newest: 0, oldest: 0 }
        );
        assert_eq!(w("2026-10-31", "2026-10-31").unwrap(), Window::Today);
        assert_eq!(
            w("2026-10-18", "2026-10-24").unwrap(),
            Window::Blocks { newest: 1, oldest: 1 }
        );
        assert_eq!(
            w("2026-08-09", "2026-10-31").unwrap(),
            Window::Blocks { newest: 0, oldest: 11 }
        );
        assert_eq!(
            window(None, None, last).unwrap(),
            Window::Blocks { newest: 0, oldest: 51 }
        );
        for (from, to) in [
            ("2026-10-26", "2026-10-31"), // 6 days
            ("2026-10-24", "2026-10-30"), // not ending on a block
            ("2026-10-30", "2026-10-30"), // a day other than the last
            ("2024-10-25", "2026-10-31"), // over 52 weeks
        ] {
            assert!(w(from, to).is_err(), "{from}..{to}");
        }
        let timed = window(Some(at("2026-10-25") + Duration::hours(3)), None, last);
        assert!(timed.unwrap_err().to_string().contains("whole weeks"));
        let b = Window::Blocks { newest: 1, oldest: 2 };
        assert_eq!(b.bounds(last), (at("2026-10-11"), at("2026-10-25")));
        assert_eq!(b.last_day(last), day("2026-10-24"));
    }

    /// A tiny region-free projection: the complementary rule on hand-made sums.
    #[test]
    fn complementary_suppression_leaves_no_sum_that_gives_a_hidden_atom_away() {
        // parent 20 = 1 + 9 + 10: the 1 is hidden, so another must be, and the hidden part reach 3.
        let mut nodes = vec![
            Node {
                value: 20,
                hidden: false,
            },
            Node { value: 1, hidden: true },
            Node {
                value: 9,
                hidden: false,
            },
            Node {
                value: 10,
                hidden: false,
            },
        ];
        let groups = vec![Group {
            parent: 0,
            children: vec![1, 2, 3],
            own: 0,
        }];
        assert_eq!(suppress(&mut nodes, &groups, 3, |_| false), 1);
        assert!(nodes[2].hidden && !nodes[3].hidden, "the smallest that does: 9");
        // 2 = 1 + 1 + 0: both ones hidden, their sum 2 < 3: the parent goes too.
        let mut nodes = vec![
            Node { value: 2, hidden: true },
            Node { value: 1, hidden: true },
            Node { value: 1, hidden: true },
            Node {
                value: 0,
                hidden: false,
            },
        ];
        let groups = vec![Group {
            parent: 0,
            children: vec![1, 2, 3],
            own: 0,
        }];
        suppress(&mut nodes, &groups, 3, |_| true);
        assert!(nodes[0].hidden);
        // A hidden parent whose parts are all shown is rebuilt from them: one part is hidden.
        let mut nodes = vec![
            Node {
                value: 30,
                hidden: false,
            },
            Node { value: 2, hidden: true },
            Node {
                value: 28,
                hidden: false,
            },
            Node {
                value: 15,
                hidden: false,
            },
            Node {
                value: 13,
                hidden: false,
            },
        ];
        let groups = vec![
            Group {
                parent: 0,
                children: vec![1, 2],
                own: 0,
            },
            Group {
                parent: 2,
                children: vec![3, 4],
                own: 0,
            },
        ];
        suppress(&mut nodes, &groups, 3, |_| false);
        assert!(nodes[2].hidden, "28 hidden with the 2");
        assert!(nodes[3].hidden || nodes[4].hidden, "and so one of its parts");
        // A unit's own cases (in none of its parts) are a hidden part of their own.
        let mut nodes = vec![
            Node {
                value: 12,
                hidden: false,
            },
            Node {
                value: 10,
                hidden: false,
            },
        ];
        let groups = vec![Group {
            parent: 0,
            children: vec![1],
            own: 2,
        }];
        suppress(&mut nodes, &groups, 3, |_| false);
        assert!(nodes[1].hidden);
    }

    #[test]
    fn the_projector_keeps_only_listed_fields_and_checks_counts() {
        let row = serde_json::json!({
            "h3": "882830828dfffff", "count": 2, "gi_z": 1.7, "score": 4.5, "level": "red",
            "expected_later_field": 12.5,
        });
        let p = project(&CELL, &row, 3);
        assert_eq!(
            p,
            serde_json::json!({ "h3": "882830828dfffff", "count": null, "level": "red" })
        );
        let alert = serde_json::json!({ "observed": 1, "expected": 0.4, "p": 0.001, "baseline": [0, 1] });
        assert_eq!(
            project(&ALERT, &alert, 3),
            serde_json::json!({ "observed": null, "expected": null })
        );
        let summary = serde_json::json!({
            "cases": 40, "finished": 30, "closure_rate": 0.75, "by_class": [["dispute", 2], ["service", 38]],
            "by_channel": [["hotline", 40]],
        });
        let p = project(&SUMMARY, &summary, 3);
        assert_eq!(p["by_class"], serde_json::json!([["dispute", null], ["service", 38]]));
        assert_eq!(p["closure_rate"], 0.75);
        assert!(p.get("by_channel").is_none());
        let hidden = project(
            &SUMMARY,
            &serde_json::json!({ "cases": 40, "finished": null, "closure_rate": 0.9 }),
            3,
        );
        assert!(hidden["closure_rate"].is_null());
    }

    #[test]
    fn a_reason_without_its_cluster_figures() {
        let reason = "置信度99%，周均12.5件，涉及4个村社区，较大及重大疑难占30%→县级专班（红）";
        let shown = display_reason(reason, true, "红");
        assert_eq!(shown, "置信度99%，周均12.5件，涉及4个村社区→县级专班（红）");
        assert_eq!(display_reason(reason, false, "红 · 县级专班"), "红 · 县级专班");
    }
}
