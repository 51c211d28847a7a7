//! The briefing's text, in formal Chinese, as a list of [`Block`]s that the HTML and PDF writers
//! render the same way: title, section headings ([`SECTIONS`]), paragraphs, tables and figures.

use fengqiao_analytics::briefing::{Briefing, CountyOverdue, PeriodKind};
use fengqiao_analytics::kpi::Summary;
use fengqiao_analytics::pattern::Pattern;
use fengqiao_analytics::trend::Trend;
use fengqiao_ingest::model::CaseClass;
use fengqiao_ingest::Region;

use crate::figures::FigureFile;

/// One piece of the document.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Title {
        title: String,
        lines: Vec<String>,
    },
    Heading(String),
    Paragraph(String),
    Table(Table),
    Figure(FigureFile),
    /// Small print: notes and definitions.
    Note(String),
}

/// A table: header, relative column widths, rows of text.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub header: Vec<String>,
    pub widths: Vec<f32>,
    pub rows: Vec<Vec<String>>,
}

/// The section headings, in order (the tests look for each in the HTML and the PDF's text).
pub const SECTIONS: [&str; 9] = [
    "一、总体态势",
    "二、热点分布",
    "三、新增和加剧热点",
    "四、类案与反复发生问题",
    "五、预警提示",
    "六、超期办理情况",
    "七、分类趋势",
    "八、满意度回访抽查名单",
    "九、数据说明",
];

/// Call-back ids the PDF and HTML list per satisfaction level (the CSV has all).
pub const CALLBACK_LISTED: usize = 60;

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

/// Change of a count: `+12.5%`, `-3.0%`, `—` without a base.
fn change(now: u64, before: Option<u64>) -> String {
    match before {
        Some(b) if b > 0 => format!("{:+.1}%", 100.0 * (now as f64 - b as f64) / b as f64),
        Some(_) if now == 0 => "持平".into(),
        _ => "—".into(),
    }
}

/// Change of a rate in percentage points.
fn change_points(now: Option<f64>, before: Option<f64>) -> String {
    match (now, before) {
        (Some(a), Some(b)) => format!("{:+.1}个百分点", 100.0 * (a - b)),
        _ => "—".into(),
    }
}

fn class_count(s: &Summary, class: CaseClass) -> u64 {
    s.by_class
        .iter()
        .find(|(code, _)| code == class.code())
        .map_or(0, |(_, n)| *n)
}

/// The Chinese name of an emerging pattern the briefing reports.
pub fn pattern_zh(p: Pattern) -> &'static str {
    match p {
        Pattern::NewHotSpot => "新增热点",
        Pattern::ConsecutiveHotSpot => "连续热点",
        Pattern::IntensifyingHotSpot => "加剧热点",
        Pattern::PersistentHotSpot => "持续热点",
        Pattern::DiminishingHotSpot => "减弱热点",
        Pattern::SporadicHotSpot => "零星热点",
        Pattern::OscillatingHotSpot => "振荡热点",
        Pattern::HistoricalHotSpot => "历史热点",
        _ => "冷点或无模式",
    }
}

fn trend_zh(t: Trend) -> &'static str {
    match t {
        Trend::Increasing => "上升",
        Trend::Decreasing => "下降",
        Trend::NoTrend => "平稳",
    }
}

fn step_zh(b: &Briefing) -> &'static str {
    match b.period.kind {
        PeriodKind::Week => "周",
        PeriodKind::Month => "月",
    }
}

/// The document of a briefing, its figures already drawn.
pub fn document(b: &Briefing, region: &Region, figures: &[FigureFile]) -> Vec<Block> {
    let mut out = Vec::new();
    let step = step_zh(b);
    let risk = b.measure.is_risk();
    let (this, last) = match b.period.kind {
        PeriodKind::Week => ("本周", "上周"),
        PeriodKind::Month => ("本月", "上月"),
    };
    let data_range = match (b.data_first_day, b.data_last_day) {
        (Some(a), Some(z)) => format!("数据范围：{a} 至 {z}"),
        _ => "数据范围：无案件数据".to_string(),
    };
    out.push(Block::Title {
        title: crate::title(b).to_string(),
        lines: vec![
            format!("{} · {}", b.unit_name, b.period.title_zh()),
            format!("统计期：{} 至 {} · {data_range}", b.period.first_day, b.period.last_day),
        ],
    });
    let words = Words {
        this,
        last,
        step,
        risk,
        region,
    };
    overview(b, &words, &mut out);
    hotspots(b, &words, figures, &mut out);
    emerging(b, &words, &mut out);
    recurring(b, &words, &mut out);
    alerts(b, &words, &mut out);
    overdue(b, &words, figures, &mut out);
    category_trends(b, &words, figures, &mut out);
    callback(b, &words, &mut out);
    data_notes(b, &words, &mut out);
    out
}

/// The words and facts every section's text uses: the period's "this" and "last" (本周/上周), its
/// step (周/月), whether the figures are on risk, and the region for names.
#[derive(Clone, Copy)]
struct Words<'a> {
    this: &'static str,
    last: &'static str,
    step: &'static str,
    risk: bool,
    region: &'a Region,
}

/// 一's opening paragraph: intake with 环比 and 同比, the rates, the largest category, the clusters
/// and alerts.
fn overview_lead(b: &Briefing, words: &Words) -> String {
    let Words { this, risk, .. } = *words;
    let cur = &b.current;
    let prev = &b.last_period;
    let yoy = b.last_year.as_ref();
    let top_category = cur
        .by_category
        .first()
        .and_then(|(code, n)| code.parse::<fengqiao_ingest::model::Category>().ok().map(|c| (c, *n)));
    let mut lead = format!(
        "{this}{}共受理矛盾纠纷及各类诉求事项{}件，环比{}；",
        b.unit_name,
        cur.cases,
        change(cur.cases, Some(prev.cases))
    );
    match yoy {
        Some(y) => lead.push_str(&format!("同比{}。", change(cur.cases, Some(y.cases)))),
        None => lead.push_str("去年同期无数据，不作同比。"),
    }
    lead.push_str(&format!(
        "其中矛盾纠纷调解{}件。办结率{}，按时办结率{}，满意度{}。",
        class_count(cur, CaseClass::Dispute),
        if cur.cases > 0 {
            pct(cur.closure_rate)
        } else {
            "—".into()
        },
        if cur.finished > 0 {
            pct(cur.on_time_rate)
        } else {
            "—".into()
        },
        cur.satisfaction_rate.map_or("—".into(), pct)
    ));
    if let Some((c, n)) = top_category {
        lead.push_str(&format!("受理量最多的类型为{}（{}件）。", c.zh(), n));
    }
    lead.push_str(&format!(
        "识别{}热点聚集区{}处，其中红色{}处、橙色{}处；预警{}条。",
        if risk { "风险" } else { "案件量" },
        b.clusters.len(),
        b.clusters
            .iter()
            .filter(|c| c.level == fengqiao_analytics::response::Level::Red)
            .count(),
        b.clusters
            .iter()
            .filter(|c| c.level == fengqiao_analytics::response::Level::Orange)
            .count(),
        b.alerts.len()
    ));
    lead
}

/// 一、总体态势: the lead paragraph and the KPI table.
fn overview(b: &Briefing, words: &Words, out: &mut Vec<Block>) {
    let Words { this, last, .. } = *words;
    out.push(Block::Heading(SECTIONS[0].into()));
    out.push(Block::Paragraph(overview_lead(b, words)));
    let cur = &b.current;
    let prev = &b.last_period;
    let yoy = b.last_year.as_ref();
    let yoy_header = format!("去年同期（{}）", b.year_before.id);
    let mut rows = vec![{
        let mut r = vec![
            "受理总量（件）".to_string(),
            cur.cases.to_string(),
            prev.cases.to_string(),
        ];
        r.push(change(cur.cases, Some(prev.cases)));
        r.push(yoy.map_or("无同期数据".into(), |y| y.cases.to_string()));
        r.push(change(cur.cases, yoy.map(|y| y.cases)));
        r
    }];
    for &class in CaseClass::ALL.iter() {
        let (n, p) = (class_count(cur, class), class_count(prev, class));
        let y = yoy.map(|y| class_count(y, class));
        rows.push(vec![
            format!("　{}", class.zh()),
            n.to_string(),
            p.to_string(),
            change(n, Some(p)),
            y.map_or("无同期数据".into(), |y| y.to_string()),
            change(n, y),
        ]);
    }
    let rate_row = |name: &str, f: &dyn Fn(&Summary) -> Option<f64>| {
        vec![
            name.to_string(),
            f(cur).map_or("—".into(), pct),
            f(prev).map_or("—".into(), pct),
            change_points(f(cur), f(prev)),
            yoy.map_or("无同期数据".into(), |y| f(y).map_or("—".into(), pct)),
            change_points(f(cur), yoy.and_then(f)),
        ]
    };
    rows.push(rate_row("办结率", &|s| (s.cases > 0).then_some(s.closure_rate)));
    rows.push(rate_row("按时办结率", &|s| {
        (s.finished > 0).then_some(s.on_time_rate)
    }));
    rows.push(rate_row("满意度", &|s| s.satisfaction_rate));
    rows.push(vec![
        "就地化解率".into(),
        "—".into(),
        "—".into(),
        "—".into(),
        "—".into(),
        "—".into(),
    ]);
    out.push(Block::Table(Table {
        header: vec![
            "指标".into(),
            this.to_string(),
            format!("{last}（{}）", b.previous.id),
            "环比".into(),
            yoy_header,
            "同比".into(),
        ],
        widths: vec![2.0, 1.0, 1.7, 1.6, 2.1, 1.6],
        rows,
    }));
    out.push(Block::Note(
        "注：就地化解率暂无法计算——案件记录未登记化解层级（村、乡镇、县）与是否上交，见“九、数据说明”。".into(),
    ));
}

/// 二、热点分布: the method, the map and the top clusters.
fn hotspots(b: &Briefing, words: &Words, figures: &[FigureFile], out: &mut Vec<Block>) {
    let Words { this, step, risk, .. } = *words;
    out.push(Block::Heading(SECTIONS[1].into()));
    let shown = b.clusters.len().min(10);
    out.push(Block::Paragraph(format!(
        "{}{this}共识别热点聚集区{}处，下表列出前{}处。",
        hotspot_method(b, this),
        b.clusters.len(),
        shown
    )));
    if let Some(map) = figures.iter().find(|f| f.name == crate::figures::MAP) {
        out.push(Block::Figure(map.clone()));
    }
    let mut rows = Vec::new();
    for (i, (c, note)) in b.clusters.iter().zip(&b.cluster_notes).take(shown).enumerate() {
        let names = |p: &[fengqiao_analytics::hotspot::Place]| {
            let mut v: Vec<String> = p.iter().take(3).map(|p| p.name.clone()).collect();
            if p.len() > 3 {
                v.push(format!("等{}个", p.len()));
            }
            v.join("、")
        };
        let trend = match note.recent.as_slice() {
            [.., before, now] => format!("{}（上{step}{}件）", change(*now, Some(*before)), before),
            _ => "—".into(),
        };
        let mut department = note.department.lead.clone();
        if let Some(s) = note.department.support.first() {
            department.push_str(&format!("（{s}配合）"));
        }
        let mut row = vec![
            (i + 1).to_string(),
            format!("{}色", c.level.zh()),
            names(&c.counties),
            names(&c.townships),
            names(&c.villages),
            c.cases.map_or("—".into(), |n| n.to_string()),
        ];
        if risk {
            row.push(c.expected.map_or("—".into(), |e| format!("{e:.1}")));
            row.push(c.ratio.map_or("—".into(), |r| format!("{r:.1}倍")));
        }
        row.extend([
            c.top_categories
                .iter()
                .map(|(cat, n)| format!("{}{}", cat.zh(), n))
                .collect::<Vec<_>>()
                .join("、"),
            trend,
            department,
        ]);
        rows.push(row);
    }
    if rows.is_empty() {
        out.push(Block::Paragraph(format!("{this}未识别出显著的热点聚集区。")));
    } else {
        out.push(Block::Table(cluster_table(risk, rows)));
    }
}

/// 三、新增和加剧热点: emerging hot spots.
fn emerging(b: &Briefing, words: &Words, out: &mut Vec<Block>) {
    let Words { step, risk, .. } = *words;
    let name = |code: &str| words.region.unit(code).map_or_else(String::new, |u| u.name.clone());
    out.push(Block::Heading(SECTIONS[2].into()));
    out.push(Block::Paragraph(format!(
        "对截至{}的近{}个{step}按网格做时空热点分析（{}），\
         下列网格在本期为新增、连续或加剧的热点，应提前介入。",
        b.period.last_day,
        b.emerging_periods.len(),
        if risk {
            "各期超出预期的案件：时空邻域的负二项检验、两阶段错误发现率控制与Mann–Kendall趋势检验"
        } else {
            "各期案件数：时空Gi*与Mann–Kendall趋势检验"
        }
    )));
    if b.emerging.is_empty() {
        out.push(Block::Paragraph("本期未发现新增、连续或加剧的热点。".into()));
    } else {
        let rows = b
            .emerging
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let recent: Vec<String> = l.counts.iter().rev().take(4).rev().map(|n| n.to_string()).collect();
                vec![
                    (i + 1).to_string(),
                    pattern_zh(l.pattern).into(),
                    format!(
                        "{}{}{}",
                        name(&l.county_code),
                        name(&l.township_code),
                        name(&l.village_code)
                    ),
                    recent.join(" → "),
                    l.total.to_string(),
                    trend_zh(l.count_trend).into(),
                ]
            })
            .collect();
        out.push(Block::Table(Table {
            header: vec![
                "序号".into(),
                "类型".into(),
                "所在村社区".into(),
                format!("近4{step}案件"),
                format!("近{}{step}合计", b.emerging_periods.len()),
                "案件趋势".into(),
            ],
            widths: vec![0.6, 1.2, 3.6, 2.0, 1.2, 1.0],
            rows,
        }));
    }
}

/// 四、类案: the recurring problems.
fn recurring(b: &Briefing, words: &Words, out: &mut Vec<Block>) {
    let Words { risk, .. } = *words;
    out.push(Block::Heading(SECTIONS[3].into()));
    out.push(Block::Paragraph(if risk {
        "同一村社区同一类型在近8周中至少4周案件数超过预期（常住人口×全域同类同期发案率），且超出显著（负二项检验，\
         经Benjamini–Hochberg校正）的，列为反复发生的类案，按持续超额程度排序（已在热点聚集区内的排在后面），\
         并按类型建议牵头部门，推动源头治理。"
            .into()
    } else {
        "同一村社区同一类型在近8周中至少4周有案件的，列为反复发生的类案（按案件量排序），并按类型建议牵头部门，推动源头治理。"
            .into()
    }));
    if b.recurring.is_empty() {
        out.push(Block::Paragraph("本期未发现反复发生的类案。".into()));
    } else {
        let rows = b
            .recurring
            .iter()
            .map(|p| {
                let mut row = vec![
                    p.rank.to_string(),
                    format!("{}{}{}", p.place.county_name, p.place.township_name, p.place.unit_name),
                    p.place.category_zh.clone(),
                    format!("{}/{}", p.active_steps, p.window),
                    p.cases_in_window.to_string(),
                ];
                if risk {
                    row.push(p.expected_in_window.map_or("—".into(), |e| format!("{e:.1}")));
                    row.push(p.ratio.map_or("—".into(), |r| format!("{r:.1}倍")));
                }
                row.extend([trend_zh(p.trend).into(), p.department.lead.clone()]);
                row
            })
            .collect();
        out.push(Block::Table(Table {
            header: recurring_header(risk),
            widths: if risk {
                vec![0.6, 2.8, 1.2, 1.0, 1.0, 0.8, 0.7, 0.8, 1.6]
            } else {
                vec![0.6, 3.4, 1.3, 1.0, 1.0, 0.8, 1.9]
            },
            rows,
        }));
    }
}

/// 五、预警: the alerts.
fn alerts(b: &Briefing, _words: &Words, out: &mut Vec<Block>) {
    out.push(Block::Heading(SECTIONS[4].into()));
    out.push(Block::Paragraph(format!(
        "以截至{}的近7天与此前12个同长窗口的基线比较（基线结合本地历史与按人口的预期，负二项检验，按重现期定级），下列村社区与类型的组合明显高于常态。",
        b.period.last_day
    )));
    if b.alerts.is_empty() {
        out.push(Block::Paragraph("本期无预警。".into()));
    } else {
        let rows = b
            .alerts
            .iter()
            .map(|a| {
                vec![
                    a.rank.to_string(),
                    a.severity_zh.clone(),
                    format!("{}{}{}", a.place.county_name, a.place.township_name, a.place.unit_name),
                    a.place.category_zh.clone(),
                    format!("{} / {:.1}", a.observed, a.expected),
                    if a.ongoing { "持续".into() } else { "新发".into() },
                    a.department.lead.clone(),
                ]
            })
            .collect();
        out.push(Block::Table(Table {
            header: vec![
                "序号".into(),
                "级别".into(),
                "地点".into(),
                "类型".into(),
                "近7天/预期".into(),
                "状态".into(),
                "牵头部门".into(),
            ],
            widths: vec![0.6, 1.1, 3.4, 1.3, 1.2, 0.7, 1.9],
            rows,
        }));
    }
}

/// 六、超期: overdue by county.
fn overdue(b: &Briefing, words: &Words, figures: &[FigureFile], out: &mut Vec<Block>) {
    let Words { this, .. } = *words;
    out.push(Block::Heading(SECTIONS[5].into()));
    let total = |f: fn(&CountyOverdue) -> u64| b.overdue.iter().map(f).sum::<u64>();
    out.push(Block::Paragraph(format!(
        "按“137+2030”办理时限（矛盾纠纷按难易程度3/7/20/30天、其他事项7天办结），截至{}，\
         逾期未办结{}件；{this}办结{}件，其中超期办结{}件。",
        b.period.last_day,
        total(|c| c.overdue_open),
        total(|c| c.closed),
        total(|c| c.closed_late)
    )));
    if let Some(fig) = figures.iter().find(|f| f.name == crate::figures::OVERDUE) {
        out.push(Block::Figure(fig.clone()));
    }
    out.push(Block::Table(Table {
        header: vec![
            "县区".into(),
            "逾期未办结".into(),
            format!("{this}办结"),
            "其中超期办结".into(),
            "超期办结占比".into(),
        ],
        widths: vec![2.0, 1.4, 1.4, 1.4, 1.4],
        rows: b
            .overdue
            .iter()
            .map(|c| {
                vec![
                    c.name.clone(),
                    c.overdue_open.to_string(),
                    c.closed.to_string(),
                    c.closed_late.to_string(),
                    if c.closed > 0 {
                        pct(c.closed_late as f64 / c.closed as f64)
                    } else {
                        "—".into()
                    },
                ]
            })
            .collect(),
    }));
}

/// 七、分类趋势: the largest categories over the last steps.
fn category_trends(b: &Briefing, words: &Words, figures: &[FigureFile], out: &mut Vec<Block>) {
    let Words { step, .. } = *words;
    out.push(Block::Heading(SECTIONS[6].into()));
    let t = &b.trend;
    out.push(Block::Paragraph(format!(
        "近{}个{step}受理量依次为{}件；受理量居前的类型见下图。",
        t.labels.len(),
        t.totals.iter().map(|n| n.to_string()).collect::<Vec<_>>().join("、")
    )));
    if let Some(fig) = figures.iter().find(|f| f.name == crate::figures::CATEGORIES) {
        out.push(Block::Figure(fig.clone()));
    }
    let mut header = vec!["类型".to_string()];
    header.extend(t.labels.iter().rev().take(6).rev().cloned());
    let mut widths = vec![1.6];
    widths.extend(std::iter::repeat_n(1.0, header.len() - 1));
    let mut rows: Vec<Vec<String>> = t
        .series
        .iter()
        .map(|(c, values)| {
            let mut row = vec![c.zh().to_string()];
            row.extend(values.iter().rev().take(6).rev().map(|n| n.to_string()));
            row
        })
        .collect();
    let mut closure = vec!["办结率".to_string()];
    closure.extend(t.closure_rate.iter().rev().take(6).rev().map(|r| pct(*r)));
    rows.push(closure);
    out.push(Block::Table(Table { header, widths, rows }));
}

/// 八、回访: the call-back sample.
fn callback(b: &Briefing, words: &Words, out: &mut Vec<Block>) {
    let Words { this, .. } = *words;
    out.push(Block::Heading(SECTIONS[7].into()));
    out.push(Block::Paragraph(format!(
        "从{this}办结且已登记回访结果的案件中，按满意度分层抽取：非常满意1%、满意5%、基本满意10%、不满意20%（向上取整），\
         由不同人员再次回访核实。抽样顺序由案件编号与固定种子（{}）确定，可复现。名单仅含案件编号，完整名单见 {}。",
        b.callback_seed,
        crate::CALLBACK_CSV
    )));
    out.push(Block::Table(Table {
        header: vec!["满意度".into(), "办结并回访".into(), "抽取比例".into(), "抽取数".into()],
        widths: vec![1.5, 1.5, 1.0, 1.0],
        rows: b
            .callback
            .iter()
            .map(|s| {
                vec![
                    s.satisfaction.zh().into(),
                    s.population.to_string(),
                    format!("{:.0}%", 100.0 * s.rate),
                    s.case_ids.len().to_string(),
                ]
            })
            .collect(),
    }));
    for s in &b.callback {
        if s.case_ids.is_empty() {
            continue;
        }
        let listed: Vec<&str> = s.case_ids.iter().take(CALLBACK_LISTED).map(String::as_str).collect();
        let more = if s.case_ids.len() > listed.len() {
            format!(" 等{}件（余见{}）", s.case_ids.len(), crate::CALLBACK_CSV)
        } else {
            String::new()
        };
        out.push(Block::Note(format!(
            "{}：{}{more}",
            s.satisfaction.zh(),
            listed.join(" ")
        )));
    }
}

/// 九、数据说明: how the figures were made.
fn data_notes(b: &Briefing, words: &Words, out: &mut Vec<Block>) {
    let Words { this, last, .. } = *words;
    let yoy = b.last_year.as_ref();
    out.push(Block::Heading(SECTIONS[8].into()));
    for note in [
        format!(
            "统计口径：按受理时间统计，{this}为{}至{}，{last}为{}至{}，去年同期为{}至{}。",
            b.period.first_day,
            b.period.last_day,
            b.previous.first_day,
            b.previous.last_day,
            b.year_before.first_day,
            b.year_before.last_day
        ),
        "办结率＝已办结（已化解、调解失败、已办结）÷受理；按时办结率＝在时限内办结÷已办结；\
         满意度＝（非常满意＋满意＋基本满意）÷已回访。各数字与系统接口 /api/kpis、/api/hotspots、/api/trends、\
         /api/recurring、/api/alerts 同期查询结果一致。"
            .to_string(),
        "就地化解率：需要登记每件纠纷在哪一级（村社区、乡镇街道、县区）化解、是否上交，现有案件记录没有该字段，故不计算。"
            .to_string(),
        match yoy {
            Some(_) => "同比：与去年同期同口径比较。".to_string(),
            None => format!(
                "同比：案件数据范围（{}至{}）未完整覆盖去年同期（{}），同比栏显示“无同期数据”。",
                b.data_first_day.map_or("—".into(), |d| d.to_string()),
                b.data_last_day.map_or("—".into(), |d| d.to_string()),
                b.year_before.id
            ),
        },
        measure_note(b),
        format!(
            "个人信息保护：本报告只含汇总数字和案件编号，不含当事人姓名、电话、住址及案情。热点图按H3网格汇总，统计期约{:.1}周。",
            b.heat_weeks
        ),
    ] {
        out.push(Block::Note(note));
    }
}

/// How the hot-spot section's clusters were found, as its opening sentence says it.
fn hotspot_method(b: &Briefing, this: &str) -> String {
    if b.measure.is_risk() {
        format!(
            "按H3八级网格（约0.7平方公里）统计{this}案件，并按常住人口与全域同期发案率计算各网格的预期案件数；\
             以超出预期的程度为统计量（{}），识别显著高于人口和时段所能解释的热点网格（经Benjamini–Hochberg校正；\
             本网格案件不足3件的不判为热点），相连热点网格合并为热点聚集区，并按四级响应规则（{}）定级。\
             口径：风险，不是案件量——人口多的地方案件多，不因此成为热点。",
            b.measure.zh(),
            b.rules_name
        )
    } else {
        format!(
            "按H3八级网格（约0.7平方公里）统计{this}案件，以Getis-Ord Gi*统计量识别显著聚集的热点网格（经Benjamini–Hochberg校正），\
             相连热点网格合并为热点聚集区，并按四级响应规则（{}）定级。口径：工作量（案件数），人口多的地方案件多，热点不代表风险。",
            b.rules_name
        )
    }
}

/// The hot-spot clusters' table: with the expected cases and the ratio under a risk measure.
fn cluster_table(risk: bool, rows: Vec<Vec<String>>) -> Table {
    let mut header: Vec<String> = ["序号", "等级", "县区", "乡镇街道", "村社区", "案件数"]
        .map(String::from)
        .into();
    let mut widths = vec![0.6, 0.7, 1.1, 1.5, 2.2, 0.8];
    if risk {
        header.extend(["预期件数".into(), "倍数".into()]);
        widths[4] = 1.6;
        widths.extend([0.8, 0.7]);
    }
    header.extend(["主要类型", "环比趋势", "责任部门"].map(String::from));
    widths.extend(if risk { [1.8, 1.5, 1.5] } else { [2.2, 1.6, 1.9] });
    Table { header, widths, rows }
}

/// The 类案 table's header.
fn recurring_header(risk: bool) -> Vec<String> {
    let mut header: Vec<String> = ["序号", "地点", "类型", "有案周数", "近8周案件"]
        .map(String::from)
        .into();
    if risk {
        header.extend(["预期件数".into(), "倍数".into()]);
    }
    header.extend(["趋势", "建议牵头部门"].map(String::from));
    header
}

/// Which measure each figure of the briefing uses.
fn measure_note(b: &Briefing) -> String {
    let base = "口径：总体情况、办理时效与类型趋势为案件数（工作量）；预警为与本地历史及人口预期的比较";
    match (&b.risk, b.measure.is_risk()) {
        (Some(r), true) => format!(
            "{base}；热点分布、新增和加剧热点与类案为风险口径（{}）：预期件数＝网格或村社区常住人口×全域同期同类发案率\
             （本期统计范围内{}件，常住人口{:.1}万，万人发案{:.2}件），倍数＝案件数÷预期件数。",
            b.measure.zh(),
            r.region_cases,
            r.residents / 10_000.0,
            r.rate_per_10k
        ),
        _ => format!("{base}；热点分布、新增和加剧热点与类案为{}。", b.measure.zh()),
    }
}
