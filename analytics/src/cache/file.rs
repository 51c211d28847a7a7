//! The case columns kept in a file beside the store, so that a command-line heat map reads a few
//! arrays instead of grouping every case again.
//!
//! The file is a header — magic, layout version, byte order, the store's fingerprint
//! ([`crate::source::CaseSource::fingerprint`]), the region's content hash and the number of cases
//! — and then each column as raw native-endian values, in the order of [`CaseColumns`]' fields,
//! each starting at a multiple of 8 bytes. A matching file is mapped into memory, its columns used
//! where they lie (the file is only ever replaced by renaming, never written in place). A file
//! whose header does not match the store and region it is opened for is not read: it is rebuilt
//! from the store ([`CaseColumns::load`]: one streamed scan, sorted here) and replaced atomically
//! (written beside, then renamed).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use duckdb::Connection;
use fengqiao_ingest::Region;

use super::column::Column;
use super::CaseColumns;
use crate::source::CaseSource;
use crate::AnalyticsError;

const MAGIC: &[u8; 8] = b"FQCOLS\0\0";
/// Bump when the columns or their encoding change: an older file is then rebuilt.
const LAYOUT: u32 = 2;
const BYTE_ORDER: u32 = 0x0102_0304;

/// What a columns file must have been made from to be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnsKey {
    /// The region's content hash (the villages and grids are stored as the region's unit ids).
    pub region: String,
    /// The store's fingerprint when the columns were read.
    pub fingerprint: u64,
}

impl ColumnsKey {
    /// The key of `conn`'s cases placed in `region`.
    pub fn of(conn: &Connection, region: &Region) -> Result<ColumnsKey, AnalyticsError> {
        Ok(ColumnsKey {
            region: region.hash.clone(),
            fingerprint: CaseSource::Store(conn).fingerprint()?,
        })
    }
}

/// How [`CaseColumns::cached`] got its columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provenance {
    /// Read from a file made earlier for the same cases and region.
    File,
    /// Read from the store and written to the file for next time.
    Rebuilt,
    /// Read from the store; the file could not be written (the reason), so the next run reads the
    /// store again.
    Unsaved(String),
}

impl CaseColumns {
    /// Where the columns of the store at `store` are kept: `STORE.columns`, beside it (the CLI and
    /// the server share it).
    pub fn file_beside(store: &Path) -> PathBuf {
        PathBuf::from(format!("{}.columns", store.display()))
    }

    /// The columns of the store on `conn` placed in `region`: from `path` when it was made from the
    /// same cases and region, else from the store, then saved to `path` (best effort); with the key
    /// they were checked against.
    pub fn cached(
        conn: &Connection,
        region: &Region,
        path: &Path,
    ) -> Result<(CaseColumns, Provenance, ColumnsKey), AnalyticsError> {
        let key = ColumnsKey::of(conn, region)?;
        if let Some(columns) = CaseColumns::read_file(path, &key)? {
            return Ok((columns, Provenance::File, key));
        }
        let columns = CaseColumns::load(conn, region)?;
        let provenance = match columns.write_file(path, &key) {
            Ok(()) => Provenance::Rebuilt,
            Err(e) => Provenance::Unsaved(e.to_string()),
        };
        Ok((columns, provenance, key))
    }

    /// Writes the columns to `path` (through a temporary file beside it, renamed at the end).
    pub fn write_file(&self, path: &Path, key: &ColumnsKey) -> Result<(), AnalyticsError> {
        replace_file(path, |tmp| self.write_to(tmp, key))
    }

    fn write_to(&self, path: &Path, key: &ColumnsKey) -> std::io::Result<()> {
        let mut w = Padded {
            out: BufWriter::with_capacity(1 << 20, File::create(path)?),
            at: 0,
        };
        w.put(MAGIC)?;
        w.put(&LAYOUT.to_ne_bytes())?;
        w.put(&BYTE_ORDER.to_ne_bytes())?;
        w.put(&key.fingerprint.to_ne_bytes())?;
        w.put(&(key.region.len() as u64).to_ne_bytes())?;
        w.put(key.region.as_bytes())?;
        w.pad()?;
        w.put(&(self.len() as u64).to_ne_bytes())?;
        for bytes in [
            bytemuck::cast_slice::<u64, u8>(&self.h3),
            bytemuck::cast_slice(&self.reported),
            bytemuck::cast_slice(&self.due),
            &self.class,
            &self.category,
            &self.severity,
            &self.channel,
            &self.status,
            &self.precision,
            bytemuck::cast_slice(&self.village),
            bytemuck::cast_slice(&self.grid),
        ] {
            w.put(bytes)?;
            w.pad()?;
        }
        w.out.into_inner().map_err(|e| e.into_error())?.sync_all()
    }

    /// The columns in `path` if it exists and was made from `key`; `None` when it is absent, of
    /// another layout, or of other cases or another region.
    pub fn read_file(path: &Path, key: &ColumnsKey) -> Result<Option<CaseColumns>, AnalyticsError> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(file_error(path, e)),
        };
        // SAFETY: the map is read-only and the file is never written in place — a new file is
        // written beside it and renamed over it, which leaves this mapping on the old contents.
        // Populated at once: every count reads every page, and one read-ahead beats a fault per
        // page in the first heat map (at 100 M cases a wall's first tile waited 2 s longer).
        let map = unsafe { memmap2::MmapOptions::new().populate().map(&file) }.map_err(|e| file_error(path, e))?;
        columns_of(Arc::new(map), key).map_err(|e| file_error(path, e))
    }
}

/// A writer that keeps count, to start each column at a multiple of 8 bytes (the columns and
/// the study-area files).
pub(crate) struct Padded<W: Write> {
    pub(crate) out: W,
    pub(crate) at: usize,
}

impl<W: Write> Padded<W> {
    pub(crate) fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.at += bytes.len();
        self.out.write_all(bytes)
    }

    /// Writes `bytes`, then pads to the next multiple of 8.
    pub(crate) fn put_padded(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.put(bytes)?;
        self.pad()
    }

    pub(crate) fn pad(&mut self) -> std::io::Result<()> {
        let n = self.at.next_multiple_of(8) - self.at;
        self.put(&[0u8; 8][..n])
    }
}

/// Reads a mapped file's header and places its columns.
struct Cursor {
    map: Arc<memmap2::Mmap>,
    at: usize,
}

impl Cursor {
    fn bytes(&mut self, n: usize) -> std::io::Result<&[u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.map.len())
            .ok_or_else(cut)?;
        let bytes = &self.map[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    fn u32(&mut self) -> std::io::Result<u32> {
        Ok(u32::from_ne_bytes(self.bytes(4)?.try_into().expect("4 bytes")))
    }

    fn u64(&mut self) -> std::io::Result<u64> {
        Ok(u64::from_ne_bytes(self.bytes(8)?.try_into().expect("8 bytes")))
    }

    fn pad(&mut self) {
        self.at = self.at.next_multiple_of(8);
    }

    /// The next column of `n` values, where it lies in the map.
    fn column<T: bytemuck::Pod>(&mut self, n: usize) -> std::io::Result<Column<T>> {
        let offset = self.at;
        self.bytes(n.checked_mul(std::mem::size_of::<T>()).ok_or_else(cut)?)?;
        self.pad();
        Ok(Column::Mapped {
            map: Arc::clone(&self.map),
            offset,
            len: n,
        })
    }
}

/// The error of a file that ends before its contents do.
pub(crate) fn cut() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the file ends inside its contents")
}

fn columns_of(map: Arc<memmap2::Mmap>, key: &ColumnsKey) -> std::io::Result<Option<CaseColumns>> {
    let mut r = Cursor { map, at: 0 };
    if r.bytes(MAGIC.len()).ok() != Some(MAGIC.as_slice()) {
        return Ok(None);
    }
    let (layout, order, fingerprint) = (r.u32()?, r.u32()?, r.u64()?);
    if layout != LAYOUT || order != BYTE_ORDER || fingerprint != key.fingerprint {
        return Ok(None);
    }
    let hash_len = r.u64()?;
    if hash_len != key.region.len() as u64 || r.bytes(key.region.len())? != key.region.as_bytes() {
        return Ok(None);
    }
    r.pad();
    let n = usize::try_from(r.u64()?).map_err(|_| std::io::ErrorKind::InvalidData)?;
    let columns = CaseColumns {
        h3: r.column(n)?,
        reported: r.column(n)?,
        due: r.column(n)?,
        class: r.column(n)?,
        category: r.column(n)?,
        severity: r.column(n)?,
        channel: r.column(n)?,
        status: r.column(n)?,
        precision: r.column(n)?,
        village: r.column(n)?,
        grid: r.column(n)?,
    };
    // Nothing may follow: a longer file is not one this layout wrote.
    if r.at != r.map.len() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "bytes after the last column",
        ));
    }
    Ok(Some(columns))
}

/// Replaces the file at `path` with what `write` writes to a temporary file beside it (renamed
/// over it at the end, removed on failure): a reader sees the old file or the new, never half.
pub(crate) fn replace_file(
    path: &Path,
    write: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<(), AnalyticsError> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let result = write(&tmp).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        std::fs::remove_file(&tmp).ok();
    }
    result.map_err(|source| file_error(path, source))
}

/// The error of a file kept beside the store.
pub(crate) fn file_error(path: &Path, source: std::io::Error) -> AnalyticsError {
    AnalyticsError::CacheFile {
        path: PathBuf::from(path),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CaseColumns {
        CaseColumns {
            h3: Column::Owned(vec![0x88_2a_10_72_9f_ff_ff_ff, 0x88_2a_10_72_a1_ff_ff_ff]),
            reported: Column::Owned(vec![1_700_000_000_000_000, 1_700_000_100_000_000]),
            due: Column::Owned(vec![1_700_600_000_000_000, 1_700_700_100_000_000]),
            class: Column::Owned(vec![0, 1]),
            category: Column::Owned(vec![3, 17]),
            severity: Column::Owned(vec![1, 2]),
            channel: Column::Owned(vec![0, 5]),
            status: Column::Owned(vec![2, 4]),
            precision: Column::Owned(vec![0, 2]),
            village: Column::Owned(vec![7, 9]),
            grid: Column::Owned(vec![11, super::super::NO_GRID]),
        }
    }

    #[test]
    fn a_file_reads_back_only_for_its_own_cases_and_region() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.duckdb.columns");
        let key = ColumnsKey {
            region: "abc123".into(),
            fingerprint: 42,
        };
        let columns = sample();
        columns.write_file(&path, &key).unwrap();
        let back = CaseColumns::read_file(&path, &key).unwrap().expect("same key");
        assert_eq!(format!("{back:?}"), format!("{columns:?}"));
        let other_cases = ColumnsKey {
            fingerprint: 43,
            ..key.clone()
        };
        assert!(CaseColumns::read_file(&path, &other_cases).unwrap().is_none());
        let other_region = ColumnsKey {
            region: "abc124".into(),
            ..key.clone()
        };
        assert!(CaseColumns::read_file(&path, &other_region).unwrap().is_none());
        assert!(CaseColumns::read_file(&dir.path().join("absent"), &key)
            .unwrap()
            .is_none());
        // No temporary file is left beside it.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_cut_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.columns");
        let key = ColumnsKey {
            region: "r".into(),
            fingerprint: 1,
        };
        sample().write_file(&path, &key).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        let err = CaseColumns::read_file(&path, &key).unwrap_err().to_string();
        assert!(err.contains("cut.columns"), "{err}");
    }
}
