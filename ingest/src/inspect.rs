//! `fengqiao ingest --inspect FILE`: reads a sample of an export and **proposes** a mapping
//! ([`crate::mapping`]): which column each header fills, which value each source word of the coded
//! columns stands for, date formats the built-in parser does not know, each with a confidence, and
//! what it could not map. The proposal is a mapping file to read, edit and pass to `--mapping`.
//!
//! Headers are matched by the built-in headers (confidence 1), then by cue words of each column
//! (`登记日期` → reported_at by 登记 + 日期). Source words are matched to a column's values by their
//! code or Chinese name (1), the name after dropping a suffix such as 纠纷 or 类 (0.95), one name
//! containing the other (0.85), then the synonyms below (0.6–0.9 by how much of the word they
//! cover). Confidences are ordinal scores, not probabilities.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use crate::mapping::{header_key, vocabulary, Mapping, SheetRef};
use crate::read::{Encoding, InputFormat};
use crate::schema::Column;

/// Rows read for a proposal.
pub const SAMPLE_ROWS: usize = 2_000;

/// Below this confidence a guess is listed as unmapped.
pub const MIN_CONFIDENCE: f64 = 0.5;

/// A problem reading the file to inspect.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct InspectError {
    pub file: String,
    pub message: String,
}

/// What one header was found to be.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HeaderGuess {
    pub header: String,
    pub column: Option<Column>,
    pub confidence: f64,
    pub note: String,
}

/// What one source word of a coded column was found to be.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ValueGuess {
    pub column: Column,
    pub word: String,
    /// Rows of the sample with it.
    pub rows: usize,
    pub value: Option<&'static str>,
    pub confidence: f64,
}

/// A proposed mapping.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Inspection {
    pub file: String,
    pub sheet: Option<String>,
    pub header_row: u64,
    pub encoding: Option<String>,
    pub rows_sampled: usize,
    pub headers: Vec<HeaderGuess>,
    pub values: Vec<ValueGuess>,
    /// Date formats found for date columns the built-in parser does not read.
    pub date_formats: Vec<String>,
    /// Required columns no header fills.
    pub missing: Vec<Column>,
}

impl serde::Serialize for Column {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// The first rows of a file.
struct Sample {
    sheet: Option<String>,
    encoding: Option<String>,
    header_line: u64,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// Reads the header and up to [`SAMPLE_ROWS`] rows of a CSV or workbook file.
fn sample(
    path: &Path,
    encoding: Option<Encoding>,
    sheet: Option<&SheetRef>,
    header_row: Option<u32>,
) -> Result<Sample, String> {
    match InputFormat::from_path(path) {
        Some(InputFormat::Workbook) => {
            let s = crate::workbook::read_sheet_with(path, sheet, None)?;
            let at = crate::workbook::header_index(&s.rows, None, header_row)?;
            let (line, headers) = s.rows[at].clone();
            let rows = s.rows[at + 1..]
                .iter()
                .take(SAMPLE_ROWS)
                .map(|(_, r)| r.clone())
                .collect();
            Ok(Sample {
                sheet: Some(s.name),
                encoding: None,
                header_line: line,
                headers,
                rows,
            })
        }
        Some(InputFormat::Csv) => {
            let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
            let encoding = encoding.unwrap_or_else(|| Encoding::sniff(&bytes[..bytes.len().min(1 << 16)]));
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(&bytes[..]);
            let mut records: Vec<Vec<String>> = Vec::new();
            let skip = header_row.unwrap_or(1) as usize - 1;
            for record in reader.byte_records().skip(skip).take(SAMPLE_ROWS + 1) {
                let record = record.map_err(|e| format!("unreadable CSV: {e}"))?;
                records.push(
                    record
                        .iter()
                        .map(|f| match encoding {
                            Encoding::Utf8 => String::from_utf8_lossy(f).into_owned(),
                            Encoding::Gb18030 => encoding_rs::GB18030.decode_without_bom_handling(f).0.into_owned(),
                        })
                        .collect(),
                );
            }
            if records.is_empty() {
                return Err("empty file: no header row".into());
            }
            let headers = records.remove(0);
            let name = match encoding {
                Encoding::Utf8 => "utf-8",
                Encoding::Gb18030 => "gb18030",
            };
            Ok(Sample {
                sheet: None,
                encoding: Some(name.to_string()),
                header_line: skip as u64 + 1,
                headers,
                rows: records,
            })
        }
        _ => Err("--inspect reads CSV files and workbooks (.xlsx, .xls, .ods)".into()),
    }
}

/// Cue words of a column in headers, as (all of these, any of these, confidence); checked in order.
const HEADER_CUES: &[(Column, &[&str], &[&str], f64)] = &[
    (Column::Lng, &["经度"], &[], 0.95),
    (Column::Lat, &["纬度"], &[], 0.95),
    (Column::Crs, &["坐标系"], &[], 0.95),
    (Column::GridCode, &["网格"], &["代码", "编码", "编号"], 0.9),
    (
        Column::VillageCode,
        &[],
        &["村代码", "社区代码", "村编码", "社区编码", "村居代码", "村(社区)代码"],
        0.9,
    ),
    (
        Column::TownshipCode,
        &[],
        &["乡镇代码", "街道代码", "乡镇编码", "街道编码", "乡镇(街道)代码"],
        0.9,
    ),
    (
        Column::CountyCode,
        &[],
        &["县代码", "区代码", "县区代码", "区县代码", "县编码", "区划代码"],
        0.85,
    ),
    (Column::PartyPhone, &[], &["电话", "手机", "联系方式"], 0.9),
    (
        Column::RepliedAt,
        &[],
        &["答复时间", "答复日期", "回复时间", "回复日期", "反馈时间"],
        0.9,
    ),
    (
        Column::ClosedAt,
        &[],
        &[
            "办结时间",
            "办结日期",
            "结案时间",
            "结案日期",
            "完结时间",
            "完结日期",
            "化解时间",
            "化解日期",
        ],
        0.9,
    ),
    (
        Column::UpdatedAt,
        &[],
        &["更新时间", "修改时间", "更新日期", "最后更新"],
        0.9,
    ),
    (
        Column::ReportedAt,
        &[],
        &[
            "登记时间",
            "登记日期",
            "受理时间",
            "受理日期",
            "上报时间",
            "上报日期",
            "来访时间",
            "来访日期",
            "反映时间",
            "反映日期",
            "接收时间",
            "录入时间",
            "发生时间",
            "发生日期",
        ],
        0.9,
    ),
    (Column::RepeatOf, &[], &["关联", "重复"], 0.8),
    (
        Column::CaseId,
        &[],
        &[
            "案件编号",
            "事项编号",
            "案号",
            "工单号",
            "单号",
            "流水号",
            "编号",
            "登记号",
        ],
        0.85,
    ),
    (
        Column::Category,
        &[],
        &[
            "纠纷类别",
            "纠纷类型",
            "纠纷种类",
            "矛盾类别",
            "矛盾类型",
            "矛盾纠纷类",
            "问题类别",
            "问题类型",
            "问题分类",
            "纠纷分类",
        ],
        0.9,
    ),
    (
        Column::Class,
        &[],
        &["事项类别", "事项类型", "事项分类", "诉求类别", "业务类型", "事项性质"],
        0.85,
    ),
    (
        Column::Severity,
        &[],
        &["难易", "等级", "级别", "严重程度", "复杂程度"],
        0.8,
    ),
    (
        Column::Channel,
        &[],
        &["来源", "渠道", "反映方式", "来访方式", "受理方式"],
        0.8,
    ),
    (Column::Satisfaction, &[], &["满意", "评价"], 0.8),
    (
        Column::Status,
        &[],
        &["状态", "办理结果", "调处结果", "调解结果", "处理结果", "进度"],
        0.8,
    ),
    (Column::Address, &[], &["地址", "地点", "位置"], 0.8),
    (Column::GridName, &[], &["网格"], 0.8),
    (Column::VillageName, &[], &["村", "社区"], 0.75),
    (Column::TownshipName, &[], &["乡镇", "街道", "镇"], 0.75),
    (Column::CountyName, &[], &["县", "区"], 0.6),
    (
        Column::PartyName,
        &[],
        &["当事人", "申请人", "反映人", "来访人", "姓名"],
        0.8,
    ),
    (
        Column::Summary,
        &[],
        &["摘要", "内容", "案情", "诉求", "描述", "情况"],
        0.7,
    ),
];

/// The column a header most likely fills, with a confidence.
pub fn guess_column(header: &str) -> Option<(Column, f64)> {
    if let Some(c) = Column::from_header(header) {
        return Some((c, 1.0));
    }
    let h = header_key(header);
    if h.is_empty() || h == "序号" {
        return None;
    }
    HEADER_CUES
        .iter()
        .find(|(_, all, any, _)| {
            all.iter().all(|w| h.contains(w)) && (any.is_empty() || any.iter().any(|w| h.contains(w)))
        })
        .map(|&(c, _, _, confidence)| (c, confidence))
}

/// Synonyms of the coded columns' values, as seen in exports of case systems. Long on purpose: one
/// table, a row per value, read (and extended) as data.
fn synonyms(column: Column, code: &str) -> &'static [&'static str] {
    match (column, code) {
        (Column::Status, "received") => &["已受理", "受理", "待受理", "已登记", "登记", "新建", "待分派", "未处理"],
        (Column::Status, "assigned") => &[
            "已分派",
            "分派",
            "已交办",
            "交办",
            "已派发",
            "派发",
            "已转办",
            "转办",
            "已分流",
            "分流",
            "已流转",
            "待办理",
        ],
        (Column::Status, "in_progress") => &[
            "办理中",
            "处理中",
            "正在办理",
            "调处中",
            "调解中",
            "化解中",
            "跟进中",
            "处置中",
        ],
        (Column::Status, "resolved") => &["已化解", "化解成功", "调解成功", "已调解", "调处成功", "达成协议"],
        (Column::Status, "unresolved") => &[
            "调解失败",
            "调解不成功",
            "未化解",
            "化解失败",
            "调处不成功",
            "未达成协议",
        ],
        (Column::Status, "closed") => &[
            "已办结",
            "办结",
            "已结案",
            "结案",
            "已完结",
            "完结",
            "已归档",
            "归档",
            "已关闭",
        ],
        (Column::Category, "marriage_family") => &["婚姻", "家庭", "婚恋", "赡养", "抚养", "继承", "离婚"],
        (Column::Category, "neighbour") => &["邻里", "相邻"],
        (Column::Category, "housing_land") => &["宅基地", "房屋", "房产"],
        (Column::Category, "contract") => &["合同", "借贷", "债务", "欠款"],
        (Column::Category, "business") => &["生产经营", "经营"],
        (Column::Category, "damages") => &["损害赔偿", "人身损害", "赔偿", "侵权"],
        (Column::Category, "forest_land") => &["山林", "林地", "林权", "权属"],
        (Column::Category, "land_acquisition") => &["征地", "拆迁", "征收", "安置补偿"],
        (Column::Category, "environment") => &["环境", "污染", "噪音", "噪声", "环保"],
        (Column::Category, "labour") => &["劳动", "劳资", "欠薪", "工资", "讨薪", "工伤"],
        (Column::Category, "tourism") => &["旅游"],
        (Column::Category, "consumer") => &["消费"],
        (Column::Category, "medical") => &["医疗", "医患"],
        (Column::Category, "traffic") => &["交通", "车祸"],
        (Column::Category, "property_mgmt") => &["物业"],
        (Column::Category, "ip") => &["知识产权", "商标", "专利", "著作权"],
        (Column::Category, "urban_planning") => &["规划", "违建", "违章建筑"],
        (Column::Category, "other") => &["其他", "其它"],
        (Column::Class, "dispute") => &["矛盾纠纷", "纠纷调解", "纠纷", "调解"],
        (Column::Class, "livelihood") => &["民生", "诉求"],
        (Column::Class, "complaint") => &["投诉", "举报"],
        (Column::Class, "consultation") => &["咨询"],
        (Column::Class, "legal_aid") => &["法律援助", "法援"],
        (Column::Severity, "simple") => &["简易", "简单", "轻微"],
        (Column::Severity, "general") => &["一般", "普通"],
        (Column::Severity, "major") => &["较大", "复杂"],
        (Column::Severity, "serious") => &["重大", "疑难", "特别重大"],
        (Column::Channel, "walk_in") => &["来访", "走访", "现场", "窗口", "上门"],
        (Column::Channel, "hotline_12345") => &["12345", "热线"],
        (Column::Channel, "mini_program") => &["小程序", "微信"],
        (Column::Channel, "grid_patrol") => &["网格", "巡查", "排查"],
        (Column::Channel, "department") => &["部门", "移交", "转交"],
        (Column::Channel, "police_110") => &["110", "警情", "公安"],
        (Column::Channel, "online") => &["网上", "网络", "在线", "网站", "APP"],
        (Column::Satisfaction, "very_satisfied") => &["非常满意", "很满意"],
        (Column::Satisfaction, "satisfied") => &["满意"],
        (Column::Satisfaction, "basic") => &["基本满意", "比较满意"],
        (Column::Satisfaction, "dissatisfied") => &["不满意"],
        _ => &[],
    }
}

/// A word without the suffixes exports add to category and class names.
fn strip_word(word: &str) -> &str {
    ["纠纷", "类", "问题", "事项", "类型"]
        .iter()
        .find_map(|s| word.strip_suffix(s))
        .filter(|w| w.chars().count() >= 2)
        .unwrap_or(word)
}

/// The value of `column` a source word most likely stands for, with a confidence; `None` below
/// [`MIN_CONFIDENCE`] or when two values fit equally.
pub fn guess_value(column: Column, word: &str) -> Option<(&'static str, f64)> {
    let vocabulary = vocabulary(column)?;
    let w = word.trim();
    let mut scored: Vec<(&'static str, f64)> = vocabulary
        .iter()
        .map(|&(code, zh)| {
            let stripped = strip_word(w);
            let score = if code.eq_ignore_ascii_case(w) || zh == w {
                1.0
            } else if stripped == zh || strip_word(zh) == stripped {
                0.95
            } else if zh.chars().count() >= 2
                && (w.contains(zh) || (stripped.chars().count() >= 2 && zh.contains(stripped)))
            {
                0.85
            } else {
                synonyms(column, code)
                    .iter()
                    .filter(|s| w.contains(*s))
                    .map(|s| 0.6 + 0.3 * s.chars().count() as f64 / w.chars().count().max(1) as f64)
                    .fold(0.0, f64::max)
                    .min(0.9)
            };
            (code, score)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    let (code, best) = scored[0];
    let second = scored.get(1).map_or(0.0, |s| s.1);
    (best >= MIN_CONFIDENCE && best - second > 0.05).then_some((code, best))
}

/// Date formats tried on date columns the built-in parser does not read.
const DATE_CANDIDATES: &[&str] = &[
    "%Y%m%d",
    "%Y%m%d%H%M%S",
    "%Y%m%d %H:%M:%S",
    "%Y%m%d %H:%M",
    "%Y.%m.%d",
    "%Y.%m.%d %H:%M:%S",
    "%Y.%m.%d %H:%M",
    "%Y-%m-%d %H时%M分",
    "%Y年%m月%d日%H时%M分",
    "%Y年%m月%d日%H:%M",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%d.%m.%Y",
];

/// Proposes a mapping for `path` (a CSV file or a sheet of a workbook).
pub fn inspect(
    path: &Path,
    encoding: Option<Encoding>,
    sheet: Option<&SheetRef>,
    header_row: Option<u32>,
) -> Result<Inspection, InspectError> {
    let file = path.display().to_string();
    let Sample {
        sheet,
        encoding,
        header_line,
        headers,
        rows,
    } = sample(path, encoding, sheet, header_row).map_err(|message| InspectError {
        file: file.clone(),
        message,
    })?;
    let guesses = guess_headers(&headers);
    let (values, date_formats) = guess_values(&guesses, &rows);
    let guessed: HashSet<Column> = guesses.iter().filter_map(|g| g.column).collect();
    let missing = Column::ALL
        .into_iter()
        .filter(|c| c.required() && !guessed.contains(c))
        .collect();
    Ok(Inspection {
        file,
        sheet,
        header_row: header_line,
        encoding,
        rows_sampled: rows.len(),
        headers: guesses,
        values,
        date_formats,
        missing,
    })
}

/// The best column guess per header; a column guessed twice goes to the more confident one.
fn guess_headers(headers: &[String]) -> Vec<HeaderGuess> {
    let mut guesses: Vec<HeaderGuess> = headers
        .iter()
        .map(|h| match guess_column(h) {
            Some((c, confidence)) => HeaderGuess {
                header: h.trim().to_string(),
                column: Some(c),
                confidence,
                note: String::new(),
            },
            None => HeaderGuess {
                header: h.trim().to_string(),
                column: None,
                confidence: 0.0,
                note: "no column recognised: map it or leave it ignored".into(),
            },
        })
        .collect();
    let mut best_for: HashMap<Column, usize> = HashMap::new();
    for (i, g) in guesses.iter().enumerate() {
        if let Some(c) = g.column {
            let keep = best_for.get(&c).is_none_or(|&j| guesses[j].confidence < g.confidence);
            if keep {
                best_for.insert(c, i);
            }
        }
    }
    for (i, g) in guesses.iter_mut().enumerate() {
        if let Some(c) = g.column.filter(|c| best_for[c] != i) {
            g.note = format!("also looks like {} (given to another header)", c.name());
            g.column = None;
        }
    }
    guesses
}

/// Coded columns: every source word with its count and guess; time columns: the date formats
/// their unread cells need.
fn guess_values(guesses: &[HeaderGuess], rows: &[Vec<String>]) -> (Vec<ValueGuess>, Vec<String>) {
    let mut values = Vec::new();
    let mut date_formats: Vec<String> = Vec::new();
    for (i, g) in guesses.iter().enumerate() {
        let Some(column) = g.column else { continue };
        let cells = rows
            .iter()
            .filter_map(|r| r.get(i))
            .map(|c| c.trim())
            .filter(|c| !c.is_empty());
        if vocabulary(column).is_some() {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for cell in cells {
                *counts.entry(cell).or_default() += 1;
            }
            for (word, n) in counts {
                let guess = guess_value(column, word);
                values.push(ValueGuess {
                    column,
                    word: word.to_string(),
                    rows: n,
                    value: guess.map(|g| g.0),
                    confidence: guess.map_or(0.0, |g| g.1),
                });
            }
        } else if column.value() == crate::schema::Value::Time {
            let unread: Vec<&str> = cells.filter(|c| crate::time::parse_datetime(c).is_none()).collect();
            if unread.is_empty() {
                continue;
            }
            let format = DATE_CANDIDATES.iter().find(|f| {
                let mut m = Mapping::default();
                m.date_formats = vec![f.to_string()];
                unread.iter().all(|c| m.parse_date(c).is_some())
            });
            if let Some(f) = format.filter(|f| !date_formats.iter().any(|d| d == *f)) {
                date_formats.push(f.to_string());
            }
        }
    }
    (values, date_formats)
}

/// TOML string literal.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

impl Inspection {
    /// The proposal as a mapping file: guesses as entries (with their confidence in a comment),
    /// what could not be mapped as commented lines to fill in.
    pub fn to_mapping(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "# Mapping proposed by `fengqiao ingest --inspect` for {} ({} rows sampled).\n\
             # Check every entry; fill in the commented ones; then: fengqiao ingest --mapping THIS_FILE ...\n\
             # Confidences: 1 = built-in header or exact name, lower = a guess.\n\n[file]\n",
            self.file, self.rows_sampled
        ));
        if let Some(sheet) = &self.sheet {
            out.push_str(&format!("sheet = {}\n", quoted(sheet)));
        }
        out.push_str(&format!("header_row = {}\n", self.header_row));
        if let Some(e) = &self.encoding {
            out.push_str(&format!("encoding = {}\n", quoted(e)));
        }
        out.push_str(
            "# crs = \"gcj02\"    # the coordinate system of the export's points (wgs84, gcj02, bd09)\n\n[columns]\n",
        );
        self.write_columns(&mut out);
        out.push_str("\n[defaults]\n");
        for c in &self.missing {
            let example = vocabulary(*c)
                .and_then(|v| v.first().map(|(code, _)| *code))
                .unwrap_or("…");
            out.push_str(&format!(
                "# {} = {}    # required, and no header fills it: give the value every row has\n",
                c.name(),
                quoted(example)
            ));
        }
        out.push_str("\n[dates]\nformats = [");
        out.push_str(
            &self
                .date_formats
                .iter()
                .map(|f| quoted(f))
                .collect::<Vec<_>>()
                .join(", "),
        );
        out.push_str("]\n");
        self.write_values(&mut out);
        out
    }

    /// `[columns]`: each header's column with its confidence, or `ignore` with why.
    fn write_columns(&self, out: &mut String) {
        let mut written = std::collections::HashSet::new();
        for g in &self.headers {
            if !written.insert(header_key(&g.header)) {
                out.push_str(&format!(
                    "# {} appears again: only its first column is read\n",
                    quoted(&g.header)
                ));
                continue;
            }
            match g.column {
                Some(c) => out.push_str(&format!(
                    "{} = {}    # {:.2}\n",
                    quoted(&g.header),
                    quoted(c.name()),
                    g.confidence
                )),
                None => out.push_str(&format!("{} = \"ignore\"    # {}\n", quoted(&g.header), g.note)),
            }
        }
    }

    /// `[values.COLUMN]`: each source word's value with its confidence, or a line to fill in.
    fn write_values(&self, out: &mut String) {
        let mut current: Option<Column> = None;
        for v in &self.values {
            if current != Some(v.column) {
                current = Some(v.column);
                out.push_str(&format!("\n[values.{}]\n", v.column.name()));
            }
            match v.value {
                Some(_) if v.confidence >= 1.0 => out.push_str(&format!(
                    "# {} is a {} already    ({} rows)\n",
                    quoted(&v.word),
                    v.column.name(),
                    v.rows
                )),
                Some(value) => out.push_str(&format!(
                    "{} = {}    # {:.2}, {} rows\n",
                    quoted(&v.word),
                    quoted(value),
                    v.confidence,
                    v.rows
                )),
                None => out.push_str(&format!(
                    "# {} = \"…\"    # not mapped ({} rows): give its {}\n",
                    quoted(&v.word),
                    v.rows,
                    v.column.name()
                )),
            }
        }
    }

    /// Headers, words and columns the proposal could not map (what to look at first).
    pub fn unmapped(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .headers
            .iter()
            .filter(|g| g.column.is_none())
            .map(|g| format!("header {:?}: {}", g.header, g.note))
            .collect();
        out.extend(
            self.values
                .iter()
                .filter(|v| v.value.is_none())
                .map(|v| format!("{} {:?} ({} rows): no value found", v.column.name(), v.word, v.rows)),
        );
        out.extend(
            self.missing
                .iter()
                .map(|c| format!("{}: required, and no header fills it", c.name())),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_guessed_by_cue_words() {
        assert_eq!(guess_column("案件编号"), Some((Column::CaseId, 1.0)));
        assert_eq!(guess_column("登记日期").map(|g| g.0), Some(Column::ReportedAt));
        assert_eq!(guess_column("矛盾纠纷类别").map(|g| g.0), Some(Column::Category));
        assert_eq!(guess_column("所属村（社区）").map(|g| g.0), Some(Column::VillageName));
        assert_eq!(guess_column("详细地址").map(|g| g.0), Some(Column::Address));
        assert_eq!(guess_column("当事人联系电话").map(|g| g.0), Some(Column::PartyPhone));
        assert_eq!(guess_column("办结日期").map(|g| g.0), Some(Column::ClosedAt));
        assert_eq!(guess_column("序号"), None);
        assert_eq!(guess_column("备注"), None);
    }

    #[test]
    fn source_words_are_matched_to_values() {
        assert_eq!(
            guess_value(Column::Category, "婚姻家庭纠纷").map(|g| g.0),
            Some("marriage_family")
        );
        assert_eq!(guess_value(Column::Category, "劳资纠纷").map(|g| g.0), Some("labour"));
        assert_eq!(
            guess_value(Column::Category, "物业纠纷").map(|g| g.0),
            Some("property_mgmt")
        );
        assert_eq!(guess_value(Column::Status, "调解成功").map(|g| g.0), Some("resolved"));
        assert_eq!(guess_value(Column::Status, "已结案").map(|g| g.0), Some("closed"));
        assert_eq!(
            guess_value(Column::Status, "调解不成功").map(|g| g.0),
            Some("unresolved")
        );
        assert_eq!(
            guess_value(Column::Channel, "12345热线").map(|g| g.0),
            Some("hotline_12345")
        );
        assert_eq!(guess_value(Column::Category, "婚姻家庭").map(|g| g.1), Some(1.0));
        assert_eq!(guess_value(Column::Status, "撤回"), None);
    }
}
