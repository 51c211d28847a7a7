//! The contradiction heat map (矛盾热力图): cases aggregated into H3 cells over the whole study area,
//! Getis-Ord Gi* over k-ring neighbourhoods with FDR-corrected confidence bins, hot cells merged into
//! clusters, and each cluster given its four-level response with a reason.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDateTime;
use duckdb::Connection;
use fengqiao_ingest::model::Category;
use fengqiao_ingest::Region;
use h3o::{CellIndex, Resolution};
use serde::Serialize;

use crate::aggregate::{aggregate_cells, CellFigures, SeverityWeights};
use crate::cache::CaseColumns;
use crate::cells::{k_ring_weights, kernel_weights, study_area};
use crate::filter::Filter;
use crate::gistar::{benjamini_hochberg, confidence_bins, gi_star};
use crate::places::cell_places;
use crate::response::{ClusterFacts, Level, Rules};
use crate::AnalyticsError;

/// What to compute.
#[derive(Debug, Clone)]
pub struct HeatmapOptions {
    pub res: Resolution,
    /// Neighbourhood radius in grid steps.
    pub k: u32,
    /// Gaussian kernel weights instead of binary ones.
    pub kernel: bool,
    pub filter: Filter,
    pub weights: SeverityWeights,
    /// "Now", for open/overdue.
    pub as_of: NaiveDateTime,
    pub rules: Rules,
}

/// One cell of the heat map.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeatCell {
    pub h3: String,
    /// `None` where small-count suppression hid the figures.
    pub count: Option<u64>,
    pub score: Option<f64>,
    pub open: Option<u64>,
    pub overdue: Option<u64>,
    pub gi_z: f64,
    pub gi_p: f64,
    /// Significant at 95% under Benjamini–Hochberg over the study area.
    pub gi_fdr_significant: bool,
    /// ArcGIS Gi_Bin with FDR: ±3/±2/±1 for 99/95/90%.
    pub confidence: i8,
    pub level: Option<Level>,
    pub level_reason: String,
    pub top_category: Option<Category>,
    pub county_code: String,
    pub township_code: String,
    pub village_code: String,
    /// Index into [`Heatmap::clusters`] of the cluster this hot cell belongs to.
    pub cluster: Option<usize>,
    pub suppressed: bool,
}

/// A place a cluster covers, with the cases it contributes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Place {
    pub code: String,
    pub name: String,
    /// `None` where small-count suppression hid it.
    pub cases: Option<u64>,
}

/// Connected hot cells.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    pub id: usize,
    pub level: Level,
    pub reason: String,
    pub confidence: i8,
    pub cells: Vec<String>,
    /// `None` where small-count suppression hid it.
    pub cases: Option<u64>,
    pub cases_per_week: Option<f64>,
    pub counties: Vec<Place>,
    pub townships: Vec<Place>,
    pub villages: Vec<Place>,
    /// Largest first.
    pub top_categories: Vec<(Category, u64)>,
    /// Centre of the cluster's cells (WGS84).
    pub lng: f64,
    pub lat: f64,
}

/// The heat map of a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Heatmap {
    pub res: u8,
    pub k: u32,
    /// Weeks in the period (for cases per week).
    pub weeks: f64,
    pub cells: Vec<HeatCell>,
    /// Hottest first (level, then cases).
    pub clusters: Vec<Cluster>,
}

/// Computes the heat map from the store.
pub fn heatmap(conn: &Connection, region: &Region, opts: &HeatmapOptions) -> Result<Heatmap, AnalyticsError> {
    let figures = aggregate_cells(conn, region, opts.res, &opts.filter, &opts.weights, opts.as_of)?;
    let weeks = period_weeks(conn, region, &opts.filter)?;
    Ok(heatmap_of(region, opts, figures, weeks))
}

/// Computes the heat map from the in-memory columns (the server's hot path).
pub fn heatmap_cached(
    columns: &CaseColumns,
    region: &Region,
    opts: &HeatmapOptions,
) -> Result<Heatmap, AnalyticsError> {
    let figures = columns.aggregate_cells(region, opts.res, &opts.filter, &opts.weights, opts.as_of)?;
    let period = columns.period(region, &opts.filter)?;
    let weeks = weeks_between(
        opts.filter.from.or(period.map(|p| p.0)),
        opts.filter.to.or(period.map(|p| p.1)),
    );
    Ok(heatmap_of(region, opts, figures, weeks))
}

/// The heat map of cell figures from either source.
fn heatmap_of(region: &Region, opts: &HeatmapOptions, figures: Vec<CellFigures>, weeks: f64) -> Heatmap {
    let mut cells = study_area(region, opts.res);
    let known: HashSet<CellIndex> = cells.iter().copied().collect();
    cells.extend(
        figures
            .iter()
            .filter_map(|f| CellIndex::try_from(f.h3).ok())
            .filter(|c| !known.contains(c)),
    );
    cells.sort_unstable();
    let by_cell: HashMap<u64, &CellFigures> = figures.iter().map(|f| (f.h3, f)).collect();
    let counts: Vec<f64> = cells
        .iter()
        .map(|c| by_cell.get(&u64::from(*c)).map_or(0.0, |f| f.count as f64))
        .collect();
    let weights = if opts.kernel {
        kernel_weights(&cells, opts.k)
    } else {
        k_ring_weights(&cells, opts.k)
    };
    let gi = gi_star(&counts, &weights);
    let bins = confidence_bins(&gi, true);
    let significant = benjamini_hochberg(&gi.iter().map(|g| g.p).collect::<Vec<_>>(), 0.05);
    let places = cell_places(region, &cells);
    let code = |id: u32| region.units[id as usize].code.clone();

    let mut rows: Vec<HeatCell> = cells
        .iter()
        .enumerate()
        .map(|(i, cell)| {
            let f = by_cell.get(&u64::from(*cell));
            let top_category = f.and_then(|f| {
                let (best, n) = f
                    .by_category
                    .iter()
                    .enumerate()
                    .max_by_key(|&(j, n)| (*n, std::cmp::Reverse(j)))?;
                (*n > 0).then(|| Category::ALL[best])
            });
            HeatCell {
                h3: cell.to_string(),
                count: Some(f.map_or(0, |f| f.count)),
                score: Some(f.map_or(0.0, |f| f.score)),
                open: Some(f.map_or(0, |f| f.open)),
                overdue: Some(f.map_or(0, |f| f.overdue)),
                gi_z: gi[i].z,
                gi_p: gi[i].p,
                gi_fdr_significant: significant[i] && gi[i].z > 0.0,
                confidence: bins[i],
                level: None,
                level_reason: String::new(),
                top_category,
                county_code: code(places[i].county),
                township_code: code(places[i].township),
                village_code: code(places[i].village),
                cluster: None,
                suppressed: false,
            }
        })
        .collect();

    // Clusters: connected components of hot cells (confidence > 0) under grid adjacency.
    let index: HashMap<CellIndex, usize> = cells.iter().enumerate().map(|(i, &c)| (c, i)).collect();
    let mut clusters = Vec::new();
    let mut seen = vec![false; cells.len()];
    for start in 0..cells.len() {
        if seen[start] || bins[start] <= 0 {
            continue;
        }
        let mut members = vec![start];
        seen[start] = true;
        let mut next = 0;
        while next < members.len() {
            let i = members[next];
            next += 1;
            for neighbour in cells[i].grid_disk::<Vec<_>>(1) {
                if let Some(&j) = index.get(&neighbour) {
                    if !seen[j] && bins[j] > 0 {
                        seen[j] = true;
                        members.push(j);
                    }
                }
            }
        }
        members.sort_unstable();
        clusters.push(members);
    }
    let mut clusters: Vec<Cluster> = clusters
        .into_iter()
        .map(|members| describe_cluster(region, &members, &cells, &by_cell, &bins, weeks, &opts.rules))
        .collect();
    clusters.sort_by(|a, b| {
        b.level
            .cmp(&a.level)
            .then(b.cases.cmp(&a.cases))
            .then(a.cells.cmp(&b.cells))
    });
    for (id, cluster) in clusters.iter_mut().enumerate() {
        cluster.id = id;
        for h3 in &cluster.cells {
            let i = index[&h3.parse::<CellIndex>().expect("our own cell")];
            rows[i].cluster = Some(id);
            rows[i].level = Some(cluster.level);
            rows[i].level_reason = cluster.reason.clone();
        }
    }
    Heatmap {
        res: u8::from(opts.res),
        k: opts.k,
        weeks,
        cells: rows,
        clusters,
    }
}

fn describe_cluster(
    region: &Region,
    members: &[usize],
    cells: &[CellIndex],
    by_cell: &HashMap<u64, &CellFigures>,
    bins: &[i8],
    weeks: f64,
    rules: &Rules,
) -> Cluster {
    let mut cases = 0;
    let mut serious = 0;
    let mut categories = [0u64; 18];
    let mut villages: BTreeMap<String, u64> = BTreeMap::new();
    let (mut lng, mut lat) = (0.0, 0.0);
    for &i in members {
        let centre = h3o::LatLng::from(cells[i]);
        lng += centre.lng();
        lat += centre.lat();
        let Some(f) = by_cell.get(&u64::from(cells[i])) else {
            continue;
        };
        cases += f.count;
        serious += f.serious;
        for (c, n) in categories.iter_mut().zip(f.by_category) {
            *c += u64::from(n);
        }
        for (v, n) in &f.villages {
            *villages.entry(v.clone()).or_default() += u64::from(*n);
        }
    }
    let roll_up = |codes: &BTreeMap<String, u64>| -> Vec<Place> {
        let mut places: Vec<Place> = codes
            .iter()
            .map(|(code, &cases)| Place {
                code: code.clone(),
                name: region.unit(code).map_or_else(String::new, |u| u.name.clone()),
                cases: Some(cases),
            })
            .collect();
        places.sort_by(|a, b| b.cases.cmp(&a.cases).then(a.code.cmp(&b.code)));
        places
    };
    let parents = |codes: &BTreeMap<String, u64>| -> BTreeMap<String, u64> {
        let mut up = BTreeMap::new();
        for (code, n) in codes {
            if let Some(parent) = region.unit(code).and_then(|u| u.parent.clone()) {
                *up.entry(parent).or_default() += n;
            }
        }
        up
    };
    let townships = parents(&villages);
    let counties = parents(&townships);
    let confidence = members.iter().map(|&i| bins[i]).max().unwrap_or(0);
    let cases_per_week = if weeks > 0.0 { cases as f64 / weeks } else { 0.0 };
    let facts = ClusterFacts {
        confidence,
        cases_per_week,
        villages: villages.len(),
        townships: townships.len(),
        category_counts: categories.to_vec(),
        serious_share: if cases > 0 { serious as f64 / cases as f64 } else { 0.0 },
    };
    let (level, reason) = rules.decide(&facts);
    let mut top_categories: Vec<(Category, u64)> = Category::ALL
        .iter()
        .copied()
        .zip(categories)
        .filter(|&(_, n)| n > 0)
        .collect();
    top_categories.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top_categories.truncate(3);
    let n = members.len() as f64;
    Cluster {
        id: 0,
        level,
        reason,
        confidence,
        cells: members.iter().map(|&i| cells[i].to_string()).collect(),
        cases: Some(cases),
        cases_per_week: Some(cases_per_week),
        counties: roll_up(&counties),
        townships: roll_up(&townships),
        villages: roll_up(&villages),
        top_categories,
        lng: lng / n,
        lat: lat / n,
    }
}

/// Weeks covered by the filter's period, or by the data when the period is open.
fn period_weeks(conn: &Connection, region: &Region, filter: &Filter) -> Result<f64, AnalyticsError> {
    let (clause, params) = filter.where_clause(region)?;
    let (first, last): (Option<String>, Option<String>) = conn
        .query_row(
            &format!(
                "SELECT CAST(min(reported_at) AS VARCHAR), CAST(max(reported_at) AS VARCHAR) FROM cases WHERE {clause}"
            ),
            duckdb::params_from_iter(params.iter()),
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|source| AnalyticsError::Query {
            what: "the period",
            source,
        })?;
    let parse = |s: Option<String>| s.and_then(|s| fengqiao_ingest::time::parse_datetime(&s));
    Ok(weeks_between(filter.from.or(parse(first)), filter.to.or(parse(last))))
}

fn weeks_between(from: Option<NaiveDateTime>, to: Option<NaiveDateTime>) -> f64 {
    match (from, to) {
        (Some(a), Some(b)) if b > a => ((b - a).num_seconds() as f64 / (7.0 * 86_400.0)).max(1.0 / 7.0),
        _ => 1.0,
    }
}

/// Small-count protection for display outputs: hides the figures of every cell with fewer than `k`
/// cases (but more than none) and of every cluster with fewer than `k`, so that no household can be
/// singled out. The statistics (z, p, confidence, level) stay: they are computed over neighbourhoods.
pub fn suppress_small_counts(map: &mut Heatmap, k: u64) {
    let small = |n: Option<u64>| n.is_some_and(|n| n > 0 && n < k);
    for cell in &mut map.cells {
        if small(cell.count) {
            cell.count = None;
            cell.score = None;
            cell.open = None;
            cell.overdue = None;
            cell.top_category = None;
            cell.suppressed = true;
        }
    }
    for cluster in &mut map.clusters {
        if small(cluster.cases) {
            cluster.cases = None;
            cluster.cases_per_week = None;
        }
        for place in cluster
            .counties
            .iter_mut()
            .chain(&mut cluster.townships)
            .chain(&mut cluster.villages)
        {
            if small(place.cases) {
                place.cases = None;
            }
        }
        cluster.top_categories.retain(|&(_, n)| n >= k);
    }
}
