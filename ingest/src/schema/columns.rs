//! The declaration of a case's columns: the one list that the headers, the store's `cases` table
//! and its Arrow schema, validation's required columns and coded values, the generator's columns and
//! the tables of `docs/input-format.md` are derived from.
//!
//! In the order of the `cases` table (an older store's added columns sit at its end, so this order
//! is also a migrated store's); the columns that are only read to find a place come last, before
//! `address`. The input columns must follow the order of [`Column`] (a test checks it).

use super::{CaseColumn, Column, Derived, Need, Source, Stored, Value};
use crate::coords::Crs;
use crate::model::{CaseClass, Category, Channel, Satisfaction, Severity, Status};

/// An input column, read and stored.
const fn input(column: Column, name: &'static str, headers: &'static [&'static str], value: Value) -> CaseColumn {
    CaseColumn {
        name,
        source: Source::Input(column),
        headers,
        value,
        need: Need::Optional,
        personal: false,
        stored: Stored::Nullable,
        doc: "",
    }
}

/// A column the ingest computes.
const fn derived(derived: Derived, name: &'static str, value: Value, stored: Stored, doc: &'static str) -> CaseColumn {
    CaseColumn {
        name,
        source: Source::Derived(derived),
        headers: &[],
        value,
        need: Need::Optional,
        personal: false,
        stored,
        doc,
    }
}

/// A column read to find a row's place (names and addresses, what foreign exports have).
const fn place(column: Column, name: &'static str, headers: &'static [&'static str], doc: &'static str) -> CaseColumn {
    CaseColumn {
        name,
        source: Source::Place(column),
        headers,
        value: Value::Text,
        need: Need::Optional,
        personal: false,
        stored: Stored::No,
        doc,
    }
}

impl CaseColumn {
    const fn required(self) -> CaseColumn {
        CaseColumn {
            need: Need::Required,
            stored: Stored::NotNull,
            ..self
        }
    }
    const fn needed(self, when: &'static str) -> CaseColumn {
        CaseColumn {
            need: Need::Sometimes(when),
            ..self
        }
    }
    const fn places(self) -> CaseColumn {
        CaseColumn {
            need: Need::Place,
            ..self
        }
    }
    const fn always_stored(self) -> CaseColumn {
        CaseColumn {
            stored: Stored::NotNull,
            ..self
        }
    }
    const fn stored(self) -> CaseColumn {
        CaseColumn {
            stored: Stored::Nullable,
            ..self
        }
    }
    const fn personal(self) -> CaseColumn {
        CaseColumn { personal: true, ..self }
    }
    const fn doc(self, doc: &'static str) -> CaseColumn {
        CaseColumn { doc, ..self }
    }
}

/// The columns of a case.
#[rustfmt::skip]
pub const CASES: &[CaseColumn] = &[
    input(Column::CaseId, "case_id", &["案件编号", "事项编号", "编号"], Value::Text)
        .required().doc("unique per case"),
    input(Column::ReportedAt, "reported_at", &["受理时间", "登记时间", "上报时间"], Value::Time)
        .required().doc("date-time, see below"),
    input(Column::Class, "class", &["事项类别", "事项类型"], Value::Coded(CaseClass::WORDS)).required(),
    input(Column::Category, "category", &["纠纷类型", "矛盾类型", "问题类型"], Value::Coded(Category::WORDS)).required(),
    input(Column::Severity, "severity", &["难易程度", "严重程度", "纠纷等级"], Value::Coded(Severity::WORDS))
        .required().doc("to be closed within 3, 7, 20 or 30 days, in this order"),
    input(Column::Channel, "channel", &["来源渠道", "受理渠道", "来源"], Value::Coded(Channel::WORDS)).required(),
    input(Column::Status, "status", &["办理状态", "状态"], Value::Coded(Status::WORDS)).required(),
    input(Column::CountyCode, "county_code", &["县区代码", "区县代码"], Value::UnitCode)
        .always_stored().doc("GB/T 2260 code; if given, must contain the village (stored: always, from the place)"),
    input(Column::TownshipCode, "township_code", &["乡镇街道代码", "乡镇代码", "街道代码"], Value::UnitCode)
        .always_stored().doc("9-digit code; if given, must contain the village (stored: always)"),
    input(Column::VillageCode, "village_code", &["村社区代码", "村居代码", "社区代码"], Value::UnitCode)
        .places().always_stored().doc("12-digit statistical code (stored: always)"),
    input(Column::GridCode, "grid_code", &["网格编号", "网格代码"], Value::UnitCode)
        .places().doc("grid code of the region (the village is derived from it)"),
    input(Column::Lng, "lng", &["经度", "lon", "longitude"], Value::Degrees)
        .needed("with `lat`, or neither").always_stored()
        .doc("decimal degrees in the system of `crs` (stored: in WGS84, always — the place's point if none)"),
    input(Column::Lat, "lat", &["纬度", "latitude"], Value::Degrees)
        .needed("with `lng`, or neither").always_stored().doc("decimal degrees in the system of `crs` (stored: as `lng`)"),
    input(Column::Crs, "crs", &["坐标系"], Value::Coded(Crs::WORDS))
        .doc("`gcj02` by default (what WeChat mini-programs and AMap report; change with `--crs` or the mapping), \
              `bd09` Baidu, `wgs84` GPS (stored: the system the input coordinates were in, null if none)"),
    derived(Derived::GeoSource, "geo_source", Value::Text, Stored::NotNull,
        "where the position came from: `point`, `grid` (grid code), `village` (village code), `name` (unit names), `address`"),
    derived(Derived::H3, "h3", Value::Cell, Stored::NotNull, "the H3 cell of resolution 10 (coarser cells are its parents)"),
    input(Column::RepliedAt, "replied_at", &["首次答复时间", "答复时间"], Value::Time).doc("date-time"),
    input(Column::ClosedAt, "closed_at", &["办结时间", "结案时间"], Value::Time)
        .needed("when status is resolved, unresolved or closed").doc("date-time"),
    input(Column::UpdatedAt, "updated_at", &["更新时间", "最后更新时间"], Value::Time).always_stored()
        .doc("date-time; decides which of two records of a case is newer (stored: always, else the latest event time)"),
    input(Column::Satisfaction, "satisfaction", &["满意度", "回访满意度"], Value::Coded(Satisfaction::WORDS)),
    input(Column::RepeatOf, "repeat_of", &["关联案件编号", "重复来源"], Value::Text).doc("the `case_id` this case repeats"),
    input(Column::PartyName, "party_name", &["当事人", "当事人姓名"], Value::Text).personal(),
    input(Column::PartyPhone, "party_phone", &["联系电话", "当事人电话"], Value::Text).personal(),
    input(Column::Summary, "summary", &["案情摘要", "事项摘要", "诉求内容"], Value::Text).personal(),
    derived(Derived::SourceFile, "source_file", Value::Text, Stored::NotNull, "the file the record was loaded from"),
    derived(Derived::SourceLine, "source_line", Value::Line, Stored::NotNull, "its line in that file (row of a sheet or Parquet file)"),
    derived(Derived::IngestedAt, "ingested_at", Value::Time, Stored::NotNull, "when it was loaded"),
    derived(Derived::GeoPrecision, "geo_precision", Value::Text, Stored::Nullable,
        "how precise the position is: `point`, `grid` or `village` (added by schema 2)"),
    derived(Derived::PlaceMatch, "place_match", Value::Text, Stored::Nullable,
        "how the unit was found: `exact`, `alias`, `inferred`, `contained` (added by schema 2)"),
    place(Column::CountyName, "county_name", &["县区", "县(市、区)", "县市区", "区县", "所属县区", "所属区县"],
        "the county by name (see \"Places by name and address\")"),
    place(Column::TownshipName, "township_name",
        &["乡镇街道", "乡镇(街道)", "乡镇", "街道", "所属乡镇", "所属街道", "所属乡镇(街道)"], "the township by name"),
    place(Column::VillageName, "village_name",
        &["村社区", "村(社区)", "村(居)", "所属村(社区)", "所属村社区", "所属村居", "村居"], "the village by name")
        .places(),
    place(Column::GridName, "grid_name", &["网格", "网格名称", "所属网格"], "the grid by name (within the village)")
        .places(),
    place(Column::Address, "address", &["详细地址", "地址", "事发地址", "事发地点", "发生地点"],
        "free text (`湖南省郴州市北湖区华塘镇石虎村3组`), matched against the region's names (added by schema 2)")
        .places().personal().stored(),
];
