//! The input columns (English and Chinese headers) and the store's tables.
//!
//! The documented form of both is `docs/input-format.md`; this module is the one place that defines
//! them, so the generator writes, and the ingest reads, the same columns.

/// One input column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Column {
    CaseId,
    ReportedAt,
    Class,
    Category,
    Severity,
    Channel,
    Status,
    CountyCode,
    TownshipCode,
    VillageCode,
    GridCode,
    Lng,
    Lat,
    Crs,
    RepliedAt,
    ClosedAt,
    UpdatedAt,
    Satisfaction,
    RepeatOf,
    PartyName,
    PartyPhone,
    Summary,
    /// The county (县/区) by name, for exports that name places instead of coding them.
    CountyName,
    TownshipName,
    VillageName,
    GridName,
    /// A free-text address (`湖南省郴州市北湖区华塘镇石虎村3组`), matched against the region's names.
    Address,
}

impl Column {
    /// Every input column, in the canonical order (the order the generator writes).
    pub const ALL: [Column; 22] = [
        Column::CaseId,
        Column::ReportedAt,
        Column::Class,
        Column::Category,
        Column::Severity,
        Column::Channel,
        Column::Status,
        Column::CountyCode,
        Column::TownshipCode,
        Column::VillageCode,
        Column::GridCode,
        Column::Lng,
        Column::Lat,
        Column::Crs,
        Column::RepliedAt,
        Column::ClosedAt,
        Column::UpdatedAt,
        Column::Satisfaction,
        Column::RepeatOf,
        Column::PartyName,
        Column::PartyPhone,
        Column::Summary,
    ];

    /// Every column the ingest reads: [`Column::ALL`], then the place-name and address columns
    /// (read to find a place; only `address` is stored).
    pub const EVERY: [Column; 27] = {
        let places = [
            Column::CountyName,
            Column::TownshipName,
            Column::VillageName,
            Column::GridName,
            Column::Address,
        ];
        let mut every = [Column::CaseId; 27];
        let mut i = 0;
        while i < every.len() {
            every[i] = if i < Column::ALL.len() {
                Column::ALL[i]
            } else {
                places[i - Column::ALL.len()]
            };
            i += 1;
        }
        every
    };

    /// The English header (also the store's column name).
    pub fn name(self) -> &'static str {
        self.headers()[0]
    }

    /// The Chinese header the generator writes with `--headers zh`.
    pub fn zh(self) -> &'static str {
        self.headers()[1]
    }

    /// Every header accepted for this column: the English name, the Chinese name, then aliases seen in
    /// exports of government systems.
    pub fn headers(self) -> &'static [&'static str] {
        match self {
            Column::CaseId => &["case_id", "案件编号", "事项编号", "编号"],
            Column::ReportedAt => &["reported_at", "受理时间", "登记时间", "上报时间"],
            Column::Class => &["class", "事项类别", "事项类型"],
            Column::Category => &["category", "纠纷类型", "矛盾类型", "问题类型"],
            Column::Severity => &["severity", "难易程度", "严重程度", "纠纷等级"],
            Column::Channel => &["channel", "来源渠道", "受理渠道", "来源"],
            Column::Status => &["status", "办理状态", "状态"],
            Column::CountyCode => &["county_code", "县区代码", "区县代码"],
            Column::TownshipCode => &["township_code", "乡镇街道代码", "乡镇代码", "街道代码"],
            Column::VillageCode => &["village_code", "村社区代码", "村居代码", "社区代码"],
            Column::GridCode => &["grid_code", "网格编号", "网格代码"],
            Column::Lng => &["lng", "经度", "lon", "longitude"],
            Column::Lat => &["lat", "纬度", "latitude"],
            Column::Crs => &["crs", "坐标系"],
            Column::RepliedAt => &["replied_at", "首次答复时间", "答复时间"],
            Column::ClosedAt => &["closed_at", "办结时间", "结案时间"],
            Column::UpdatedAt => &["updated_at", "更新时间", "最后更新时间"],
            Column::Satisfaction => &["satisfaction", "满意度", "回访满意度"],
            Column::RepeatOf => &["repeat_of", "关联案件编号", "重复来源"],
            Column::PartyName => &["party_name", "当事人", "当事人姓名"],
            Column::PartyPhone => &["party_phone", "联系电话", "当事人电话"],
            Column::Summary => &["summary", "案情摘要", "事项摘要", "诉求内容"],
            Column::CountyName => &[
                "county_name",
                "县区",
                "县(市、区)",
                "县市区",
                "区县",
                "所属县区",
                "所属区县",
            ],
            Column::TownshipName => &[
                "township_name",
                "乡镇街道",
                "乡镇(街道)",
                "乡镇",
                "街道",
                "所属乡镇",
                "所属街道",
                "所属乡镇(街道)",
            ],
            Column::VillageName => &[
                "village_name",
                "村社区",
                "村(社区)",
                "村(居)",
                "所属村(社区)",
                "所属村社区",
                "所属村居",
                "村居",
            ],
            Column::GridName => &["grid_name", "网格", "网格名称", "所属网格"],
            Column::Address => &["address", "详细地址", "地址", "事发地址", "事发地点", "发生地点"],
        }
    }

    /// Whether every row must have a value here.
    pub fn required(self) -> bool {
        matches!(
            self,
            Column::CaseId
                | Column::ReportedAt
                | Column::Class
                | Column::Category
                | Column::Severity
                | Column::Channel
                | Column::Status
        )
    }

    /// Whether the column holds personal data (PIPL): only the `admin` role ever sees it.
    pub fn personal(self) -> bool {
        matches!(
            self,
            Column::PartyName | Column::PartyPhone | Column::Summary | Column::Address
        )
    }

    /// The column an English name (`reported_at`, `village_name`, …) names.
    pub fn from_name(name: &str) -> Option<Column> {
        Column::EVERY.into_iter().find(|c| c.name() == name.trim())
    }

    /// The column a header names, English or Chinese, ignoring case, surrounding space, a BOM and
    /// the difference between full-width and ASCII brackets.
    pub fn from_header(header: &str) -> Option<Column> {
        let h = header
            .trim_start_matches('\u{feff}')
            .trim()
            .replace('（', "(")
            .replace('）', ")")
            .replace('，', "、");
        let h = h.as_str();
        Column::EVERY
            .into_iter()
            .find(|c| c.headers().iter().any(|a| a.eq_ignore_ascii_case(h)))
    }
}

/// DDL of the store. `cases` holds one row per case (the input columns, with `lng`/`lat` in WGS84,
/// plus derived columns); `rejected` one row per rejected input line; `ingest_log` one row per file.
pub const STORE_DDL: &str = "
CREATE TABLE IF NOT EXISTS cases (
    case_id        VARCHAR NOT NULL,
    reported_at    TIMESTAMP NOT NULL,
    class          VARCHAR NOT NULL,
    category       VARCHAR NOT NULL,
    severity       VARCHAR NOT NULL,
    channel        VARCHAR NOT NULL,
    status         VARCHAR NOT NULL,
    county_code    VARCHAR NOT NULL,
    township_code  VARCHAR NOT NULL,
    village_code   VARCHAR NOT NULL,
    grid_code      VARCHAR,
    lng            DOUBLE NOT NULL,
    lat            DOUBLE NOT NULL,
    crs            VARCHAR,
    geo_source     VARCHAR NOT NULL,
    h3             UBIGINT NOT NULL,
    replied_at     TIMESTAMP,
    closed_at      TIMESTAMP,
    updated_at     TIMESTAMP NOT NULL,
    satisfaction   VARCHAR,
    repeat_of      VARCHAR,
    party_name     VARCHAR,
    party_phone    VARCHAR,
    summary        VARCHAR,
    source_file    VARCHAR NOT NULL,
    source_line    BIGINT NOT NULL,
    ingested_at    TIMESTAMP NOT NULL,
    geo_precision  VARCHAR,
    place_match    VARCHAR,
    address        VARCHAR
);
CREATE TABLE IF NOT EXISTS rejected (
    file        VARCHAR NOT NULL,
    line        BIGINT NOT NULL,
    field       VARCHAR,
    reason      VARCHAR NOT NULL,
    message     VARCHAR NOT NULL,
    raw         VARCHAR,
    ingested_at TIMESTAMP NOT NULL,
    sheet       VARCHAR
);
CREATE TABLE IF NOT EXISTS ingest_log (
    file        VARCHAR NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    rows_read   BIGINT NOT NULL,
    inserted    BIGINT NOT NULL,
    updated     BIGINT NOT NULL,
    unchanged   BIGINT NOT NULL,
    stale       BIGINT NOT NULL,
    rejected    BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS region (
    name        VARCHAR NOT NULL,
    name_en     VARCHAR NOT NULL,
    code        VARCHAR NOT NULL,
    level       VARCHAR NOT NULL,
    hash        VARCHAR NOT NULL,
    origin      VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS region_files (
    name    VARCHAR NOT NULL,
    content VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS region_log (
    logged_at      TIMESTAMP NOT NULL,
    action         VARCHAR NOT NULL,
    from_hash      VARCHAR,
    to_hash        VARCHAR NOT NULL,
    name           VARCHAR NOT NULL,
    code           VARCHAR NOT NULL,
    cases_replaced BIGINT NOT NULL,
    message        VARCHAR NOT NULL
);
";

/// Columns added to `cases` and `rejected` after the first stores were made (issue 15), with the
/// values an older store's rows get: its rows were placed by code, so a row without its own point is
/// as precise as its grid or village.
pub const STORE_MIGRATIONS: &[(&str, &str, &str)] = &[
    (
        "cases",
        "geo_precision",
        "CASE geo_source WHEN 'point' THEN 'point' WHEN 'grid' THEN 'grid' ELSE 'village' END",
    ),
    ("cases", "place_match", "'exact'"),
    ("cases", "address", "NULL"),
    ("rejected", "sheet", "NULL"),
];

/// Columns of `cases` compared to decide whether an incoming record changes a stored one (all but the
/// provenance columns `source_file`, `source_line`, `ingested_at`).
pub const CONTENT_COLUMNS: &[&str] = &[
    "reported_at",
    "class",
    "category",
    "severity",
    "channel",
    "status",
    "county_code",
    "township_code",
    "village_code",
    "grid_code",
    "lng",
    "lat",
    "crs",
    "geo_source",
    "h3",
    "replied_at",
    "closed_at",
    "updated_at",
    "satisfaction",
    "repeat_of",
    "party_name",
    "party_phone",
    "summary",
    "geo_precision",
    "place_match",
    "address",
];

/// The H3 resolution of the stored `h3` cell: the finest the analytics use; coarser cells are its
/// parents.
pub const H3_RESOLUTION: h3o::Resolution = h3o::Resolution::Ten;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_resolve_in_both_languages() {
        for c in Column::EVERY {
            assert_eq!(Column::from_header(c.name()), Some(c));
            assert_eq!(Column::from_header(c.zh()), Some(c));
        }
        assert_eq!(Column::from_header("\u{feff}案件编号"), Some(Column::CaseId));
        assert_eq!(Column::from_header(" LNG "), Some(Column::Lng));
        assert_eq!(Column::from_header("备注"), None);
        assert_eq!(Column::from_header("所属村（社区）"), Some(Column::VillageName));
        assert_eq!(Column::from_header("县（市，区）"), Some(Column::CountyName));
    }

    #[test]
    fn every_column_is_listed_once_in_declaration_order() {
        for (i, c) in Column::EVERY.iter().enumerate() {
            assert_eq!(*c as usize, i);
        }
    }

    #[test]
    fn headers_are_unambiguous() {
        let mut seen = std::collections::HashSet::new();
        for c in Column::EVERY {
            for h in c.headers() {
                assert!(seen.insert(h.to_lowercase()), "{h} names two columns");
            }
        }
    }
}
