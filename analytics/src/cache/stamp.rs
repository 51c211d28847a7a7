//! The stamp of the store file that the kept case columns were read from (`STORE.stamp`, beside
//! it), with the store's region files: a command-line run on a store that has not changed since
//! uses the columns and the region without opening DuckDB (opening it and checking the cases'
//! fingerprint was ~70 ms of a 2 M-case heat map).
//!
//! "Not changed" is the file's identity and last change as the file system keeps them — device,
//! inode, length, modification and status-change times in nanoseconds — and no write-ahead log
//! beside it (DuckDB would replay one). Every write to a DuckDB file moves its modification time;
//! the status-change time cannot be set back, so a file copied over it with its old times kept
//! still differs. A stamp is written only when the store's stamp was the same before it was
//! opened and after its columns were checked against its cases' fingerprint.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use fengqiao_ingest::region::RegionFiles;
use fengqiao_ingest::Region;
use serde::{Deserialize, Serialize};

use super::file::replace_file;
use super::{CaseColumns, ColumnsKey};
use crate::AnalyticsError;

/// Bump when the stamp's fields change: an older stamp is then ignored.
const LAYOUT: u32 = 1;

/// A store file's identity and last change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreStamp {
    dev: u64,
    ino: u64,
    len: u64,
    modified_ns: i128,
    changed_ns: i128,
}

impl StoreStamp {
    /// The stamp of the store at `store`; `None` when it is absent or has a write-ahead log.
    pub fn of(store: &Path) -> Option<StoreStamp> {
        if PathBuf::from(format!("{}.wal", store.display())).exists() {
            return None;
        }
        let m = std::fs::metadata(store).ok()?;
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        Some(StoreStamp {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            modified_ns: ns(m.mtime(), m.mtime_nsec()),
            changed_ns: ns(m.ctime(), m.ctime_nsec()),
        })
    }
}

/// What `STORE.stamp` holds.
#[derive(Serialize, Deserialize)]
struct StampFile {
    layout: u32,
    store: StoreStamp,
    /// The key of the columns file the stamp vouches for.
    fingerprint: u64,
    region_hash: String,
    /// The store's region files, by name.
    region_files: BTreeMap<String, String>,
}

impl CaseColumns {
    /// Where the stamp of the store at `store` is kept: `STORE.stamp`, beside it.
    pub fn stamp_beside(store: &Path) -> PathBuf {
        PathBuf::from(format!("{}.stamp", store.display()))
    }

    /// The region and the kept columns of the store at `store` when it has not changed since its
    /// stamp was written (see the module's text), without opening it; `None` when it has, or when
    /// there is no usable stamp or columns file.
    pub fn unchanged(store: &Path) -> Result<Option<(Region, CaseColumns)>, AnalyticsError> {
        let Ok(text) = std::fs::read(CaseColumns::stamp_beside(store)) else {
            return Ok(None);
        };
        let Ok(stamp) = serde_json::from_slice::<StampFile>(&text) else {
            return Ok(None);
        };
        if stamp.layout != LAYOUT || StoreStamp::of(store) != Some(stamp.store) {
            return Ok(None);
        }
        let origin = format!("{} (region kept in the store)", store.display());
        let Ok(region) = RegionFiles::from_texts(&origin, stamp.region_files).parse() else {
            return Ok(None);
        };
        if region.hash != stamp.region_hash {
            return Ok(None);
        }
        let key = ColumnsKey {
            region: stamp.region_hash,
            fingerprint: stamp.fingerprint,
        };
        Ok(CaseColumns::read_file(&CaseColumns::file_beside(store), &key)?.map(|columns| (region, columns)))
    }

    /// Writes the stamp of the store at `store`, whose columns file holds the cases of `key` placed
    /// in `region`, if the store's stamp is still `before` (taken before it was opened).
    pub fn write_stamp(
        store: &Path,
        before: StoreStamp,
        region: &Region,
        key: &ColumnsKey,
    ) -> Result<(), AnalyticsError> {
        if StoreStamp::of(store) != Some(before) {
            return Ok(());
        }
        let stamp = StampFile {
            layout: LAYOUT,
            store: before,
            fingerprint: key.fingerprint,
            region_hash: key.region.clone(),
            region_files: region
                .files()
                .iter()
                .map(|(name, text)| (name.to_string(), text.to_string()))
                .collect(),
        };
        let json = serde_json::to_vec(&stamp).expect("a stamp serialises");
        replace_file(&CaseColumns::stamp_beside(store), |tmp| std::fs::write(tmp, json))
    }
}
