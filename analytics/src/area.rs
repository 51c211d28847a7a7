//! The study area of a heat map at one resolution, with what the region alone decides of its cells:
//! each cell's admin units ([`crate::places`]) and its neighbours one grid step away. A heat map
//! needs all three and none depends on the cases, so a command-line run keeps them in a small file
//! beside the store (`STORE.area-rN`, keyed by the region's content hash and the resolution) instead
//! of tiling the boundary and placing every cell again (on Chenzhou at res 8: ~28,000 cells, ~100 ms
//! of a 2 M-case heat map; read back in about a millisecond).
//!
//! The file: magic, layout version, byte order, resolution, the region's hash, the number of cells
//! and of neighbour entries, then the cells (u64), their county, township and village (u32 unit
//! ids), the neighbour offsets (u64, one more than cells) and the neighbours (u32), each starting at
//! a multiple of 8 bytes. It is replaced by renaming, never written in place.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use fengqiao_ingest::Region;
use h3o::{CellIndex, Resolution};

use crate::cache::file::{cut, file_error, replace_file, Padded};
use crate::cache::Provenance;
use crate::cells::{k_ring_weights, study_area};
use crate::gistar::Weights;
use crate::places::{cell_places, CellPlace};
use crate::AnalyticsError;

const MAGIC: &[u8; 8] = b"FQAREA\0\0";
/// Bump when the contents or their encoding change: an older file is then rebuilt.
const LAYOUT: u32 = 1;
const BYTE_ORDER: u32 = 0x0102_0304;

/// Cells of a heat map (sorted) with their places and their ring-1 neighbours.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyArea {
    pub res: Resolution,
    pub cells: Vec<CellIndex>,
    /// The units of each cell, in the order of `cells`.
    pub places: Vec<CellPlace>,
    /// Each cell's neighbours among `cells` within one grid step, itself included.
    pub rings: Weights,
}

impl StudyArea {
    /// The region's study area at `res` ([`crate::cells::study_area`]).
    pub fn of(region: &Region, res: Resolution) -> StudyArea {
        StudyArea::from_cells(region, res, study_area(region, res))
    }

    /// `cells` (sorted, deduplicated) placed in `region`, with their rings.
    pub fn from_cells(region: &Region, res: Resolution, cells: Vec<CellIndex>) -> StudyArea {
        let (places, rings) = rayon::join(|| cell_places(region, &cells), || k_ring_weights(&cells, 1));
        StudyArea {
            res,
            cells,
            places,
            rings,
        }
    }

    /// The area with `extra` cells added (cells holding cases outside it): itself when there are
    /// none; else only the new cells are placed, and the rings gain them where they touch.
    pub fn with_cells(&self, region: &Region, extra: &[CellIndex]) -> std::borrow::Cow<'_, StudyArea> {
        let mut extra: Vec<CellIndex> = extra.iter().copied().filter(|c| self.position(*c).is_none()).collect();
        extra.sort_unstable();
        extra.dedup();
        if extra.is_empty() {
            return std::borrow::Cow::Borrowed(self);
        }
        let extra_places = cell_places(region, &extra);
        // Both lists are sorted: merged, each old and each new cell knows its new position.
        let mut cells = Vec::with_capacity(self.cells.len() + extra.len());
        let mut places = Vec::with_capacity(cells.capacity());
        let (mut old_at, mut new_at) = (Vec::with_capacity(self.cells.len()), Vec::with_capacity(extra.len()));
        let (mut i, mut j) = (0, 0);
        while i < self.cells.len() || j < extra.len() {
            if j == extra.len() || (i < self.cells.len() && self.cells[i] < extra[j]) {
                old_at.push(cells.len() as u32);
                cells.push(self.cells[i]);
                places.push(self.places[i]);
                i += 1;
            } else {
                new_at.push(cells.len() as u32);
                cells.push(extra[j]);
                places.push(extra_places[j]);
                j += 1;
            }
        }
        let mut rows: Vec<Vec<u32>> = vec![Vec::new(); cells.len()];
        for (old, &at) in old_at.iter().enumerate() {
            rows[at as usize] = self.rings.neighbours(old).iter().map(|&n| old_at[n as usize]).collect();
        }
        for &at in &new_at {
            for neighbour in cells[at as usize].grid_disk::<Vec<_>>(1) {
                if let Ok(n) = cells.binary_search(&neighbour) {
                    rows[at as usize].push(n as u32);
                    if new_at.binary_search(&(n as u32)).is_err() {
                        rows[n].push(at);
                    }
                }
            }
        }
        for row in &mut rows {
            row.sort_unstable();
        }
        std::borrow::Cow::Owned(StudyArea {
            res: self.res,
            cells,
            places,
            rings: Weights::binary(rows),
        })
    }

    /// The position of `cell` in `cells`.
    pub fn position(&self, cell: CellIndex) -> Option<usize> {
        self.cells.binary_search(&cell).ok()
    }

    /// Where the area of the store at `store` at `res` is kept: `STORE.area-rN`, beside it.
    pub fn file_beside(store: &Path, res: Resolution) -> PathBuf {
        PathBuf::from(format!("{}.area-r{}", store.display(), u8::from(res)))
    }

    /// The region's study area at `res`: from `path` when it was made for the same region and
    /// resolution, else computed and saved to `path` (best effort).
    pub fn cached(region: &Region, res: Resolution, path: &Path) -> Result<(StudyArea, Provenance), AnalyticsError> {
        if let Some(area) = StudyArea::read_file(path, &region.hash, res)? {
            return Ok((area, Provenance::File));
        }
        let area = StudyArea::of(region, res);
        let provenance = match area.write_file(path, &region.hash) {
            Ok(()) => Provenance::Rebuilt,
            Err(e) => Provenance::Unsaved(e.to_string()),
        };
        Ok((area, provenance))
    }

    /// Writes the area to `path` (through a temporary file beside it, renamed at the end).
    pub fn write_file(&self, path: &Path, region_hash: &str) -> Result<(), AnalyticsError> {
        replace_file(path, |tmp| self.write_to(tmp, region_hash))
    }

    fn write_to(&self, path: &Path, region_hash: &str) -> std::io::Result<()> {
        let mut w = Padded {
            out: BufWriter::new(File::create(path)?),
            at: 0,
        };
        let (offsets, neighbours) = self.rings.binary_parts().expect("rings are binary weights");
        let cells: Vec<u64> = self.cells.iter().map(|&c| u64::from(c)).collect();
        let unit = |f: fn(&CellPlace) -> u32| self.places.iter().map(f).collect::<Vec<u32>>();
        let offsets: Vec<u64> = offsets.iter().map(|&o| o as u64).collect();
        let head = [
            LAYOUT,
            BYTE_ORDER,
            u32::from(u8::from(self.res)),
            region_hash.len() as u32,
        ];
        w.put_padded(MAGIC)?;
        w.put_padded(bytemuck::cast_slice(&head))?;
        w.put_padded(region_hash.as_bytes())?;
        w.put_padded(bytemuck::cast_slice(&[cells.len() as u64, neighbours.len() as u64]))?;
        w.put_padded(bytemuck::cast_slice(&cells))?;
        w.put_padded(bytemuck::cast_slice(&unit(|p| p.county)))?;
        w.put_padded(bytemuck::cast_slice(&unit(|p| p.township)))?;
        w.put_padded(bytemuck::cast_slice(&unit(|p| p.village)))?;
        w.put_padded(bytemuck::cast_slice(&offsets))?;
        w.put_padded(bytemuck::cast_slice(neighbours))?;
        w.out.into_inner().map_err(|e| e.into_error())?.sync_all()
    }

    /// The area in `path` if it exists and was made for this region and resolution; `None` when
    /// it is absent, of another layout, region or resolution.
    pub fn read_file(path: &Path, region_hash: &str, res: Resolution) -> Result<Option<StudyArea>, AnalyticsError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(file_error(path, e)),
        };
        area_of(&bytes, region_hash, res).map_err(|e| file_error(path, e))
    }
}

/// Reads a file's fields in order, each padded to 8 bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    /// The next `n` values of `T` (copied: the file's buffer is not aligned for them).
    fn values<T: bytemuck::Pod>(&mut self, n: usize) -> std::io::Result<Vec<T>> {
        let len = n.checked_mul(std::mem::size_of::<T>()).ok_or_else(cut)?;
        let end = self
            .at
            .checked_add(len)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(cut)?;
        let values = self.bytes[self.at..end]
            .chunks_exact(std::mem::size_of::<T>().max(1))
            .map(bytemuck::pod_read_unaligned)
            .collect();
        self.at = end.next_multiple_of(8);
        Ok(values)
    }
}

fn area_of(bytes: &[u8], region_hash: &str, res: Resolution) -> std::io::Result<Option<StudyArea>> {
    let mut r = Reader { bytes, at: 0 };
    if r.values::<u8>(MAGIC.len()).ok().as_deref() != Some(MAGIC.as_slice()) {
        return Ok(None);
    }
    let head: Vec<u32> = r.values(4)?;
    if head[..3] != [LAYOUT, BYTE_ORDER, u32::from(u8::from(res))] || head[3] as usize != region_hash.len() {
        return Ok(None);
    }
    if r.values::<u8>(region_hash.len())? != region_hash.as_bytes() {
        return Ok(None);
    }
    let sizes: Vec<u64> = r.values(2)?;
    let invalid = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let n = usize::try_from(sizes[0]).map_err(|_| invalid("too many cells"))?;
    let m = usize::try_from(sizes[1]).map_err(|_| invalid("too many neighbours"))?;
    let cells = r
        .values::<u64>(n)?
        .into_iter()
        .map(|c| CellIndex::try_from(c).map_err(|_| invalid("not an H3 cell")))
        .collect::<std::io::Result<Vec<_>>>()?;
    let (county, township, village) = (r.values::<u32>(n)?, r.values::<u32>(n)?, r.values::<u32>(n)?);
    let offsets: Vec<usize> = r.values::<u64>(n + 1)?.into_iter().map(|o| o as usize).collect();
    let neighbours: Vec<u32> = r.values(m)?;
    if r.at != bytes.len().next_multiple_of(8) || !rings_are_sound(&offsets, &neighbours, n) {
        return Err(invalid("not a study-area file of this layout"));
    }
    let places = (0..n)
        .map(|i| CellPlace {
            county: county[i],
            township: township[i],
            village: village[i],
        })
        .collect();
    Ok(Some(StudyArea {
        res,
        cells,
        places,
        rings: Weights::from_binary_parts(offsets, neighbours),
    }))
}

/// Offsets that start at 0, never fall and end at the neighbours' count, neighbours that are cells.
fn rings_are_sound(offsets: &[usize], neighbours: &[u32], n: usize) -> bool {
    offsets.first() == Some(&0)
        && offsets.windows(2).all(|w| w[0] <= w[1])
        && offsets.last() == Some(&neighbours.len())
        && neighbours.iter().all(|&j| (j as usize) < n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_area_file_reads_back_only_for_its_region_and_resolution() {
        let region = Region::chenzhou();
        let dir = tempfile::tempdir().unwrap();
        let path = StudyArea::file_beside(&dir.path().join("store.duckdb"), Resolution::Six);
        let (area, provenance) = StudyArea::cached(&region, Resolution::Six, &path).unwrap();
        assert_eq!(provenance, Provenance::Rebuilt);
        assert_eq!(area, StudyArea::of(&region, Resolution::Six));
        let (back, provenance) = StudyArea::cached(&region, Resolution::Six, &path).unwrap();
        assert_eq!(provenance, Provenance::File);
        assert_eq!(back, area);
        assert!(StudyArea::read_file(&path, "another region", Resolution::Six)
            .unwrap()
            .is_none());
        assert!(StudyArea::read_file(&path, &region.hash, Resolution::Seven)
            .unwrap()
            .is_none());
        // A cut file is an error naming it, not a smaller area.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 16]).unwrap();
        let err = StudyArea::read_file(&path, &region.hash, Resolution::Six)
            .unwrap_err()
            .to_string();
        assert!(err.contains("area-r6"), "{err}");
    }

    #[test]
    fn extra_cells_are_placed_and_ringed_as_if_the_area_had_them() {
        let region = Region::chenzhou();
        let area = StudyArea::of(&region, Resolution::Six);
        assert!(matches!(
            area.with_cells(&region, &area.cells[..3]),
            std::borrow::Cow::Borrowed(_)
        ));
        // Cells just outside the area, many of them next to each other, and some inside it.
        let mut outside: Vec<CellIndex> = area
            .cells
            .iter()
            .flat_map(|c| c.grid_disk::<Vec<_>>(1))
            .filter(|c| area.position(*c).is_none())
            .take(60)
            .collect();
        outside.extend_from_slice(&area.cells[..10]);
        let grown = area.with_cells(&region, &outside);
        let mut all = area.cells.clone();
        all.extend(&outside);
        all.sort_unstable();
        all.dedup();
        assert!(all.len() > area.cells.len() + 30);
        assert_eq!(*grown, StudyArea::from_cells(&region, Resolution::Six, all));
    }
}
