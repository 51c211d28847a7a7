//! `fengqiao region update`: moves a store to a new version of its region (a new village, a renamed
//! township, redrawn polygons) in one logged transaction, re-placing the cases it affects.
//!
//! A case keeps the unit its record named (by code, or a former code of it); its county and township
//! follow the new hierarchy; a case placed by the polygon its point lies in is placed again in the new
//! polygons; a case without its own point moves to its unit's new point. Cases whose unit the new
//! region no longer has (under its code or a former code) stop the update before anything is
//! written, listed by code.

use std::collections::BTreeMap;
use std::sync::Arc;

use duckdb::arrow::array::{Array, AsArray, Float64Builder, StringBuilder, UInt64Builder};
use duckdb::arrow::datatypes::{DataType, Field, Float64Type, Schema};
use duckdb::arrow::record_batch::RecordBatch;
use h3o::LatLng;

use crate::model::AdminLevel;
use crate::region::Region;
use crate::schema::H3_RESOLUTION;
use crate::store::{IngestError, Store};
use crate::stored::{self, RegionRecordError};

/// What an update did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RegionUpdate {
    pub from: String,
    pub to: String,
    pub cases: u64,
    /// Cases whose units or position changed.
    pub replaced: u64,
    /// Of those: how (`county_code`, `township_code`, `village_code`, `grid_code`, `position`).
    pub changed: BTreeMap<String, u64>,
    pub dry_run: bool,
}

/// Codes cases name that the new region lacks, with their counts, most first.
fn orphans_message(orphans: BTreeMap<String, u64>) -> String {
    let mut list: Vec<(String, u64)> = orphans.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let shown: Vec<String> = list.iter().take(10).map(|(c, n)| format!("{c} ({n} cases)")).collect();
    let more = if list.len() > 10 {
        format!(" and {} more", list.len() - 10)
    } else {
        String::new()
    };
    format!(
        "cases name {} unit(s) the new region does not have: {}{more}. Keep them in the region, or list \
         the old code in the new unit's former_codes",
        list.len(),
        shown.join(", ")
    )
}

/// A stored case's place as the store has it.
struct StoredPlace<'a> {
    county: &'a str,
    township: &'a str,
    village: &'a str,
    grid: Option<&'a str>,
    lng: f64,
    lat: f64,
    /// Its own point (`geo_precision = 'point'`), not its unit's.
    own_point: bool,
    /// Placed by the polygon its point lies in (`place_match = 'contained'`).
    contained: bool,
}

/// A case's place in the new region.
struct NewPlace<'r> {
    county: &'r str,
    township: &'r str,
    village: &'r str,
    grid: Option<&'r str>,
    lng: f64,
    lat: f64,
    precision: &'static str,
}

impl NewPlace<'_> {
    /// Which of the case's columns the new place changes.
    fn changes(&self, old: &StoredPlace) -> [(&'static str, bool); 5] {
        [
            ("county_code", old.county != self.county),
            ("township_code", old.township != self.township),
            ("village_code", old.village != self.village),
            ("grid_code", old.grid != self.grid),
            ("position", self.lng != old.lng || self.lat != old.lat),
        ]
    }
}

/// Where `old` goes in `new` (see the module documentation); `Err` with the code the new region
/// lacks.
fn place_again<'r>(new: &'r Region, old: &StoredPlace) -> Result<NewPlace<'r>, String> {
    let (x, y) = (old.lng, old.lat);
    let relocated = old
        .contained
        .then(|| {
            new.locate(AdminLevel::Grid, x, y)
                .or_else(|| new.locate(AdminLevel::Village, x, y))
        })
        .flatten();
    let by_code = |code: &str, level: AdminLevel| new.id(code).filter(|&u| new.units[u as usize].level == level);
    let unit = relocated
        .or_else(|| old.grid.and_then(|g| by_code(g, AdminLevel::Grid)))
        .or_else(|| by_code(old.village, AdminLevel::Village));
    let Some(mut lineage) = unit.and_then(|u| new.lineage(u)) else {
        return Err(old.grid.unwrap_or(old.village).to_string());
    };
    if old.own_point && lineage.grid.is_none() {
        lineage.grid = new
            .locate(AdminLevel::Grid, x, y)
            .filter(|&g| new.parent(g) == Some(lineage.village));
    }
    let code = |u: u32| new.units[u as usize].code.as_str();
    let (lng, lat, precision) = if old.own_point {
        (x, y, "point")
    } else {
        let (u, p) = lineage.grid.map_or((lineage.village, "village"), |g| (g, "grid"));
        (new.units[u as usize].lng, new.units[u as usize].lat, p)
    };
    Ok(NewPlace {
        county: code(lineage.county),
        township: code(lineage.township),
        village: code(lineage.village),
        grid: lineage.grid.map(code),
        lng,
        lat,
        precision,
    })
}

/// The re-placed cases' new columns, as one Arrow batch for the store's `UPDATE`.
#[derive(Default)]
struct Replacements {
    ids: StringBuilder,
    counties: StringBuilder,
    townships: StringBuilder,
    villages: StringBuilder,
    grids: StringBuilder,
    lngs: Float64Builder,
    lats: Float64Builder,
    cells: UInt64Builder,
    precisions: StringBuilder,
}

impl Replacements {
    fn push(&mut self, id: &str, place: &NewPlace) {
        let h3 = LatLng::new(place.lat, place.lng)
            .map(|ll| u64::from(ll.to_cell(H3_RESOLUTION)))
            .unwrap_or(0);
        self.ids.append_value(id);
        self.counties.append_value(place.county);
        self.townships.append_value(place.township);
        self.villages.append_value(place.village);
        self.grids.append_option(place.grid);
        self.lngs.append_value(place.lng);
        self.lats.append_value(place.lat);
        self.cells.append_value(h3);
        self.precisions.append_value(place.precision);
    }

    fn finish(mut self) -> RecordBatch {
        let text = |n: &str| Field::new(n, DataType::Utf8, true);
        let schema = Arc::new(Schema::new(vec![
            text("case_id"),
            text("county_code"),
            text("township_code"),
            text("village_code"),
            text("grid_code"),
            Field::new("lng", DataType::Float64, false),
            Field::new("lat", DataType::Float64, false),
            Field::new("h3", DataType::UInt64, false),
            text("geo_precision"),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(self.ids.finish()),
                Arc::new(self.counties.finish()),
                Arc::new(self.townships.finish()),
                Arc::new(self.villages.finish()),
                Arc::new(self.grids.finish()),
                Arc::new(self.lngs.finish()),
                Arc::new(self.lats.finish()),
                Arc::new(self.cells.finish()),
                Arc::new(self.precisions.finish()),
            ],
        )
        .expect("columns match the schema")
    }
}

impl Store {
    /// Moves the store to `new`, a version of its region (same root code); with `dry_run` only
    /// reports what would change.
    pub fn update_region(&mut self, new: &Region, dry_run: bool) -> Result<RegionUpdate, IngestError> {
        let name = self.name();
        let old = stored::region_for(self.conn(), &name, None)?;
        if old.code != new.code {
            return Err(RegionRecordError::Mismatch {
                store: name.clone(),
                stored: old.describe(),
                given: format!(
                    "{} (another root code: an update keeps the region's code)",
                    new.describe()
                ),
            }
            .into());
        }
        let mut update = RegionUpdate {
            from: old.describe(),
            to: new.describe(),
            dry_run,
            ..RegionUpdate::default()
        };
        let replacements = self.replacements(new, &mut update)?;
        if dry_run || old.hash == new.hash {
            return Ok(update);
        }
        let changed: Vec<String> = update.changed.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let message = format!(
            "from {}; re-placed {} of {} cases ({})",
            old.describe(),
            update.replaced,
            update.cases,
            changed.join(", ")
        );
        self.write_replacements(replacements, new, &old.hash, update.replaced, &message)?;
        Ok(update)
    }

    /// Every case placed again in `new`: the ones whose columns change, counted into `update`;
    /// an error listing the codes the new region lacks.
    fn replacements(&self, new: &Region, update: &mut RegionUpdate) -> Result<RecordBatch, IngestError> {
        let name = self.name();
        let db = |source| IngestError::Db {
            file: name.clone(),
            source,
        };
        let mut stmt = self
            .conn()
            .prepare(
                "SELECT case_id, county_code, township_code, village_code, grid_code, lng, lat,
                        coalesce(geo_precision, 'village'), coalesce(place_match, 'exact') FROM cases",
            )
            .map_err(db)?;
        let mut replaced = Replacements::default();
        let mut orphans: BTreeMap<String, u64> = BTreeMap::new();
        for batch in stmt.query_arrow([]).map_err(db)? {
            let text = |i: usize| batch.column(i).as_string::<i32>().clone();
            let (id, county, township, village, grid) = (text(0), text(1), text(2), text(3), text(4));
            let (lng, lat) = (
                batch.column(5).as_primitive::<Float64Type>().clone(),
                batch.column(6).as_primitive::<Float64Type>().clone(),
            );
            let (precision, placed) = (text(7), text(8));
            for row in 0..batch.num_rows() {
                update.cases += 1;
                let old = StoredPlace {
                    county: county.value(row),
                    township: township.value(row),
                    village: village.value(row),
                    grid: (!grid.is_null(row)).then(|| grid.value(row)),
                    lng: lng.value(row),
                    lat: lat.value(row),
                    own_point: precision.value(row) == "point",
                    contained: placed.value(row) == "contained",
                };
                let place = match place_again(new, &old) {
                    Ok(place) => place,
                    Err(code) => {
                        *orphans.entry(code).or_default() += 1;
                        continue;
                    }
                };
                let changes = place.changes(&old);
                if !changes.iter().any(|c| c.1) {
                    continue;
                }
                update.replaced += 1;
                for (what, _) in changes.iter().filter(|c| c.1) {
                    *update.changed.entry(what.to_string()).or_default() += 1;
                }
                replaced.push(id.value(row), &place);
            }
        }
        if !orphans.is_empty() {
            return Err(IngestError::File {
                file: name.clone(),
                line: 0,
                message: orphans_message(orphans),
            });
        }
        Ok(replaced.finish())
    }

    /// Writes the re-placed cases and the new region in one transaction, logged.
    fn write_replacements(
        &self,
        batch: RecordBatch,
        new: &Region,
        old_hash: &str,
        replaced: u64,
        message: &str,
    ) -> Result<(), IngestError> {
        let conn = self.conn();
        let db = |source| IngestError::Db {
            file: self.name(),
            source,
        };
        conn.execute_batch("BEGIN TRANSACTION").map_err(db)?;
        let result = (|| -> duckdb::Result<()> {
            conn.execute_batch(
                "CREATE OR REPLACE TEMP TABLE replaced (case_id VARCHAR, county_code VARCHAR, township_code VARCHAR,
                 village_code VARCHAR, grid_code VARCHAR, lng DOUBLE, lat DOUBLE, h3 UBIGINT, geo_precision VARCHAR)",
            )?;
            {
                let mut appender = conn.appender_to_catalog_and_db("replaced", "temp", "main")?;
                appender.append_record_batch(batch)?;
                appender.flush()?;
            }
            conn.execute_batch(
                "UPDATE cases SET county_code = r.county_code, township_code = r.township_code,
                     village_code = r.village_code, grid_code = r.grid_code, lng = r.lng, lat = r.lat,
                     h3 = r.h3, geo_precision = r.geo_precision
                 FROM replaced r WHERE cases.case_id = r.case_id;
                 DROP TABLE replaced;",
            )?;
            stored::write_region(conn, new)?;
            stored::log(conn, "updated", Some(old_hash), new, replaced, message)
        })();
        match result {
            Ok(()) => conn.execute_batch("COMMIT").map_err(db),
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(db(e))
            }
        }
    }
}
