//! The briefing's figures, drawn with plotters into PNGs at print resolution (300 dpi at 17 cm
//! wide): the hot-spot map over county boundaries (legend, scale bar, north arrow), intake by
//! category over the trend steps, and overdue cases by county. Chinese text uses the embedded font.

use std::path::Path;

use fengqiao_analytics::briefing::Briefing;
use fengqiao_analytics::response::Level;
use fengqiao_ingest::model::AdminLevel;
use fengqiao_ingest::Region;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::fonts::FAMILY;
use crate::ReportError;

/// A figure written into the briefing's directory.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureFile {
    pub name: &'static str,
    pub caption: String,
    pub width: u32,
    pub height: u32,
}

pub const MAP: &str = "map.png";
pub const CATEGORIES: &str = "categories.png";
pub const OVERDUE: &str = "overdue.png";

/// Pixel sizes: 2000 px over 17 cm is 300 dpi.
pub const MAP_SIZE: (u32, u32) = (2000, 1500);
pub const CHART_SIZE: (u32, u32) = (2000, 1000);

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

fn fail<E: std::fmt::Debug>(figure: &'static str) -> impl Fn(E) -> ReportError {
    move |e| ReportError::Figure {
        figure,
        message: format!("{e:?}"),
    }
}

/// Draws every figure into `dir`.
pub fn draw_all(b: &Briefing, region: &Region, dir: &Path) -> Result<Vec<FigureFile>, ReportError> {
    crate::fonts::register_with_plotters()?;
    Ok(vec![
        figure(dir, MAP, MAP_SIZE, map_caption(b), |root| draw_map(b, region, root))?,
        figure(dir, CATEGORIES, CHART_SIZE, categories_caption(b), |root| {
            draw_categories(b, root)
        })?,
        figure(dir, OVERDUE, CHART_SIZE, overdue_caption(b), |root| {
            draw_overdue(b, root)
        })?,
    ])
}

type Drawn = Result<(), Box<dyn std::error::Error>>;

/// Draws one PNG figure `name` of `size` into `dir` with `draw`.
fn figure(
    dir: &Path,
    name: &'static str,
    size: (u32, u32),
    caption: String,
    draw: impl FnOnce(&Area) -> Drawn,
) -> Result<FigureFile, ReportError> {
    let err = fail::<Box<dyn std::error::Error>>(name);
    let path = dir.join(name);
    let root: Area = BitMapBackend::new(&path, size).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(Box::new(e)))?;
    draw(&root).map_err(&err)?;
    root.present().map_err(|e| err(Box::new(e)))?;
    Ok(FigureFile {
        name,
        caption,
        width: size.0,
        height: size.1,
    })
}

fn font(size: u32) -> TextStyle<'static> {
    TextStyle::from((FAMILY, size as f64).into_font())
}

fn bold(size: u32) -> TextStyle<'static> {
    TextStyle::from((FAMILY, size as f64, FontStyle::Bold).into_font())
}

/// The colour of a Gi* confidence bin: reds for hot, blues for cold.
pub fn confidence_colour(confidence: i8) -> RGBColor {
    match confidence {
        3 => RGBColor(0xb9, 0x1c, 0x1c),
        2 => RGBColor(0xef, 0x44, 0x44),
        1 => RGBColor(0xfc, 0xa5, 0xa5),
        -1 => RGBColor(0xbf, 0xdb, 0xfe),
        -2 => RGBColor(0x60, 0xa5, 0xfa),
        _ => RGBColor(0x1d, 0x4e, 0xd8),
    }
}

/// Longitude/latitude → pixels: equirectangular, scaled by cos(latitude) so distances are true
/// in both directions at the centre.
struct Projection {
    lng0: f64,
    lat1: f64,
    kx: f64,
    /// Pixels per degree of latitude.
    scale: f64,
    x0: f64,
    y0: f64,
}

impl Projection {
    fn fit(bounds: (f64, f64, f64, f64), area: (f64, f64, f64, f64)) -> Projection {
        let (min_lng, min_lat, max_lng, max_lat) = bounds;
        let (x, y, w, h) = area;
        let kx = ((min_lat + max_lat) / 2.0).to_radians().cos();
        let span_x = ((max_lng - min_lng) * kx).max(1e-6);
        let span_y = (max_lat - min_lat).max(1e-6);
        let scale = (w / span_x).min(h / span_y);
        Projection {
            lng0: min_lng,
            lat1: max_lat,
            kx,
            scale,
            x0: x + (w - span_x * scale) / 2.0,
            y0: y + (h - span_y * scale) / 2.0,
        }
    }

    fn px(&self, lng: f64, lat: f64) -> (i32, i32) {
        (
            (self.x0 + (lng - self.lng0) * self.kx * self.scale).round() as i32,
            (self.y0 + (self.lat1 - lat) * self.scale).round() as i32,
        )
    }

    /// Kilometres per pixel.
    fn km_per_px(&self) -> f64 {
        111.32 / self.scale
    }
}

fn rings(shape: &geo::MultiPolygon<f64>) -> Vec<Vec<(f64, f64)>> {
    shape
        .0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .map(|ring| ring.coords().map(|c| (c.x, c.y)).collect())
        .collect()
}

fn bounds_of(shape: &geo::MultiPolygon<f64>) -> Option<(f64, f64, f64, f64)> {
    let mut b: Option<(f64, f64, f64, f64)> = None;
    for ring in rings(shape) {
        for (x, y) in ring {
            b = Some(match b {
                None => (x, y, x, y),
                Some((a, c, d, e)) => (a.min(x), c.min(y), d.max(x), e.max(y)),
            });
        }
    }
    b
}

fn map_caption(b: &Briefing) -> String {
    let measure = if b.measure.is_risk() { "风险" } else { "案件量" };
    format!("图1 {}{measure}热点聚集区分布（{}）", b.unit_name, b.period.id)
}

/// The unit whose outline frames the map: the briefing's unit, else the nearest ancestor with a
/// boundary (0, the city, when none has).
fn map_focus(region: &Region, unit_code: &str) -> u32 {
    region
        .id(unit_code)
        .and_then(|id| {
            let mut at = Some(id);
            while let Some(u) = at {
                if region.units[u as usize].boundary.is_some() {
                    return Some(u);
                }
                at = region.parent(u);
            }
            None
        })
        .unwrap_or(0)
}

/// The hot-spot map.
fn draw_map(b: &Briefing, region: &Region, root: &Area) -> Drawn {
    let (_, h) = MAP_SIZE;
    let focus = map_focus(region, &b.unit_code);
    let bounds = region.units[focus as usize]
        .boundary
        .as_ref()
        .and_then(bounds_of)
        .unwrap_or((112.0, 24.5, 114.3, 26.8));
    let legend_x = 1540;
    let proj = Projection::fit(bounds, (40.0, 40.0, (legend_x - 80) as f64, (h - 80) as f64));
    draw_places(b, region, root, &proj, focus)?;
    draw_legend(b, root, legend_x, focus)?;
    draw_north_arrow(root, legend_x)?;
    draw_scale_bar(root, &proj)
}

/// A ring's outline in pixels.
fn outline(proj: &Projection, ring: &[(f64, f64)]) -> Vec<(i32, i32)> {
    ring.iter().map(|&(x, y)| proj.px(x, y)).collect()
}

/// The map itself: counties, the hot and cold cells, outlines, the clusters' numbers and the
/// county names (or the focus unit's outline).
fn draw_places(b: &Briefing, region: &Region, root: &Area, proj: &Projection, focus: u32) -> Drawn {
    let counties: Vec<_> = region
        .level(AdminLevel::County)
        .filter_map(|(_, u)| u.boundary.as_ref().map(|shape| (u, rings(shape))))
        .collect();
    let dark = RGBColor(0x1f, 0x29, 0x37);
    for ring in counties.iter().flat_map(|(_, rs)| rs) {
        root.draw(&Polygon::new(outline(proj, ring), RGBColor(0xf3, 0xf4, 0xf6).filled()))?;
    }
    // Hot and cold cells.
    for cell in &b.map_cells {
        let Ok(index) = cell.h3.parse::<h3o::CellIndex>() else {
            continue;
        };
        let points: Vec<(i32, i32)> = index.boundary().iter().map(|v| proj.px(v.lng(), v.lat())).collect();
        root.draw(&Polygon::new(points, confidence_colour(cell.confidence).filled()))?;
    }
    // Outlines: counties thin, the city thick.
    for ring in counties.iter().flat_map(|(_, rs)| rs) {
        root.draw(&PathElement::new(
            outline(proj, ring),
            RGBColor(0x6b, 0x72, 0x80).stroke_width(3),
        ))?;
    }
    if let Some(city) = &region.units[0].boundary {
        for ring in rings(city) {
            root.draw(&PathElement::new(outline(proj, &ring), dark.stroke_width(6)))?;
        }
    }
    // The top clusters' numbers (as in the table).
    for (i, c) in b.clusters.iter().take(10).enumerate() {
        let (x, y) = proj.px(c.lng, c.lat);
        root.draw(&Circle::new((x, y), 26, level_colour(c.level).filled()))?;
        root.draw(&Circle::new((x, y), 26, WHITE.stroke_width(4)))?;
        root.draw(&Text::new(
            (i + 1).to_string(),
            (x, y),
            bold(32).color(&WHITE).pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
    }
    if focus == 0 {
        // County names with a white halo, drawn after the clusters' numbers so both stay legible.
        let centred = |size: u32| font(size).pos(Pos::new(HPos::Center, VPos::Center));
        for (unit, _) in &counties {
            let (x, y) = proj.px(unit.lng, unit.lat);
            let y = y + 44; // below the label point, clear of a marker on it
            for (dx, dy) in [(-3, 0), (3, 0), (0, -3), (0, 3), (-2, -2), (2, 2), (-2, 2), (2, -2)] {
                root.draw(&Text::new(
                    unit.name.clone(),
                    (x + dx, y + dy),
                    centred(38).color(&WHITE),
                ))?;
            }
            root.draw(&Text::new(unit.name.clone(), (x, y), centred(38).color(&dark)))?;
        }
    } else if let Some(shape) = &region.units[focus as usize].boundary {
        // The unit reported on, outlined like the city; its neighbours stay unlabelled.
        for ring in rings(shape) {
            root.draw(&PathElement::new(outline(proj, &ring), dark.stroke_width(6)))?;
        }
    }
    Ok(())
}

/// The legend panel right of the map.
fn draw_legend(b: &Briefing, root: &Area, legend_x: i32, focus: u32) -> Drawn {
    let (w, h) = MAP_SIZE;
    root.draw(&Rectangle::new([(legend_x, 0), (w as i32, h as i32)], WHITE.filled()))?;
    let lx = legend_x + 20;
    root.draw(&Text::new("图例", (lx, 60), bold(44)))?;
    let entries: [(i8, &str); 6] = [
        (3, "热点（99%置信）"),
        (2, "热点（95%置信）"),
        (1, "热点（90%置信）"),
        (-1, "冷点（90%置信）"),
        (-2, "冷点（95%置信）"),
        (-3, "冷点（99%置信）"),
    ];
    for (i, (conf, label)) in entries.iter().enumerate() {
        let y = 140 + 70 * i as i32;
        root.draw(&Rectangle::new(
            [(lx, y), (lx + 60, y + 44)],
            confidence_colour(*conf).filled(),
        ))?;
        root.draw(&Text::new(*label, (lx + 80, y + 4), font(34)))?;
    }
    // Cluster markers: their colour is the response level.
    let y = 140 + 70 * 6 + 20;
    root.draw(&Text::new("聚集区编号（响应等级）", (lx, y + 4), font(34)))?;
    let y = y + 60;
    for (i, level) in [Level::Red, Level::Orange, Level::Yellow, Level::Blue]
        .into_iter()
        .enumerate()
    {
        let x = lx + 24 + 100 * i as i32;
        root.draw(&Circle::new((x, y + 22), 22, level_colour(level).filled()))?;
        root.draw(&Text::new(
            level.zh(),
            (x + 30, y + 22),
            font(32).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    let y = y + 80;
    root.draw(&PathElement::new(
        vec![(lx, y + 22), (lx + 60, y + 22)],
        RGBColor(0x6b, 0x72, 0x80).stroke_width(3),
    ))?;
    root.draw(&Text::new("县区界", (lx + 80, y + 4), font(34)))?;
    let y = y + 70;
    root.draw(&PathElement::new(
        vec![(lx, y + 22), (lx + 60, y + 22)],
        RGBColor(0x1f, 0x29, 0x37).stroke_width(6),
    ))?;
    root.draw(&Text::new(
        if focus == 0 { "市界" } else { "市界、本区域界" },
        (lx + 80, y + 4),
        font(34),
    ))?;
    if focus != 0 {
        root.draw(&Text::new(format!("范围：{}", b.unit_name), (lx, y + 80), font(34)))?;
    }
    root.draw(&Text::new(
        format!("H3八级网格 · {}", b.period.id),
        (lx, y + 140),
        font(30).color(&RGBColor(0x4b, 0x55, 0x63)),
    ))?;
    Ok(())
}

/// North arrow, top right of the map.
fn draw_north_arrow(root: &Area, legend_x: i32) -> Drawn {
    let (nx, ny) = (legend_x - 90, 70);
    root.draw(&Polygon::new(
        vec![(nx, ny), (nx - 30, ny + 90), (nx, ny + 70), (nx + 30, ny + 90)],
        RGBColor(0x1f, 0x29, 0x37).filled(),
    ))?;
    root.draw(&Text::new(
        "北",
        (nx, ny + 125),
        bold(40).pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    Ok(())
}

/// Scale bar, bottom left: the largest round length up to 320 px.
fn draw_scale_bar(root: &Area, proj: &Projection) -> Drawn {
    let (_, h) = MAP_SIZE;
    let km_per_px = proj.km_per_px();
    let km = [1.0, 2.0, 5.0, 10.0, 20.0, 25.0, 50.0, 100.0, 200.0]
        .into_iter()
        .rfind(|km| km / km_per_px <= 320.0)
        .unwrap_or(1.0);
    let len = (km / km_per_px).round() as i32;
    let (sx, sy) = (70, h as i32 - 80);
    root.draw(&Rectangle::new([(sx, sy), (sx + len / 2, sy + 14)], BLACK.filled()))?;
    root.draw(&Rectangle::new(
        [(sx + len / 2, sy), (sx + len, sy + 14)],
        WHITE.filled(),
    ))?;
    root.draw(&Rectangle::new([(sx, sy), (sx + len, sy + 14)], BLACK.stroke_width(3)))?;
    for (x, label) in [(sx, "0".to_string()), (sx + len, format!("{km} 公里"))] {
        root.draw(&Text::new(
            label,
            (x, sy - 30),
            font(32).pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
    }
    Ok(())
}

/// The four-level colours (as the wall's).
pub fn level_colour(level: Level) -> RGBColor {
    match level {
        Level::Blue => RGBColor(0x25, 0x63, 0xeb),
        Level::Yellow => RGBColor(0xca, 0x8a, 0x04),
        Level::Orange => RGBColor(0xea, 0x58, 0x0c),
        Level::Red => RGBColor(0xdc, 0x26, 0x26),
    }
}

const SERIES_COLOURS: [RGBColor; 6] = [
    RGBColor(0xdc, 0x26, 0x26),
    RGBColor(0x25, 0x63, 0xeb),
    RGBColor(0x16, 0xa3, 0x4a),
    RGBColor(0xea, 0x58, 0x0c),
    RGBColor(0x93, 0x33, 0xea),
    RGBColor(0x0f, 0x76, 0x6e),
];

fn categories_caption(b: &Briefing) -> String {
    format!("图3 主要类型受理量趋势（近{}个统计期）", b.trend.labels.len())
}

/// Intake of the leading categories over the trend steps.
fn draw_categories(b: &Briefing, root: &Area) -> Drawn {
    let t = &b.trend;
    let n = t.labels.len().max(2) as i32;
    let max = t
        .series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let (plot, legend) = root.split_horizontally(1640);
    let mut chart = ChartBuilder::on(&plot)
        .margin(40)
        .x_label_area_size(90)
        .y_label_area_size(130)
        .build_cartesian_2d(0..n - 1, 0u64..(max + max / 5 + 1))?;
    let labels = t.labels.clone();
    chart
        .configure_mesh()
        .x_labels(n as usize)
        .x_label_formatter(&|i| {
            labels.get(*i as usize).map_or_else(String::new, |l| {
                l.split_once('-').map_or(l.clone(), |(_, r)| r.to_string())
            })
        })
        .y_desc("受理量（件）")
        .label_style(font(32))
        .axis_desc_style(font(34))
        .light_line_style(RGBColor(0xee, 0xee, 0xee))
        .draw()?;
    for (k, (category, values)) in t.series.iter().enumerate() {
        let colour = SERIES_COLOURS[k % SERIES_COLOURS.len()];
        chart.draw_series(LineSeries::new(
            values.iter().enumerate().map(|(i, v)| (i as i32, *v)),
            colour.stroke_width(5),
        ))?;
        chart.draw_series(
            values
                .iter()
                .enumerate()
                .map(|(i, v)| Circle::new((i as i32, *v), 8, colour.filled())),
        )?;
        // The legend, beside the plot.
        let y = 80 + 64 * k as i32;
        legend.draw(&PathElement::new(vec![(20, y), (80, y)], colour.stroke_width(6)))?;
        legend.draw(&Circle::new((50, y), 9, colour.filled()))?;
        legend.draw(&Text::new(
            category.zh(),
            (96, y),
            font(34).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    Ok(())
}

fn overdue_caption(b: &Briefing) -> String {
    format!("图2 各县区逾期未办结与超期办结案件（截至{}）", b.period.last_day)
}

/// Overdue and late-closed cases by county.
fn draw_overdue(b: &Briefing, root: &Area) -> Drawn {
    let rows = &b.overdue;
    let m = rows.len().max(1) as f64;
    let max = rows
        .iter()
        .map(|r| r.overdue_open.max(r.closed_late))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let (plot, legend) = root.split_horizontally(1640);
    let mut chart = ChartBuilder::on(&plot)
        .margin(40)
        .x_label_area_size(90)
        .y_label_area_size(130)
        .build_cartesian_2d(-0.5f64..m - 0.5, 0f64..max * 1.2)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_x_axis()
        .y_desc("案件数（件）")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style(font(32))
        .axis_desc_style(font(34))
        .light_line_style(RGBColor(0xee, 0xee, 0xee))
        .draw()?;
    let open_colour = RGBColor(0xdc, 0x26, 0x26);
    let late_colour = RGBColor(0xf5, 0x9e, 0x0b);
    chart.draw_series(rows.iter().enumerate().map(|(i, r)| {
        let x = i as f64;
        Rectangle::new([(x - 0.38, 0.0), (x, r.overdue_open as f64)], open_colour.filled())
    }))?;
    chart.draw_series(rows.iter().enumerate().map(|(i, r)| {
        let x = i as f64;
        Rectangle::new([(x, 0.0), (x + 0.38, r.closed_late as f64)], late_colour.filled())
    }))?;
    for (k, (colour, label)) in [(open_colour, "逾期未办结"), (late_colour, "本期超期办结")]
        .iter()
        .enumerate()
    {
        let y = 80 + 64 * k as i32;
        legend.draw(&Rectangle::new([(20, y - 18), (70, y + 18)], colour.filled()))?;
        legend.draw(&Text::new(
            *label,
            (86, y),
            font(34).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    // County names under their bars.
    for (i, r) in rows.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(i as f64, 0.0));
        root.draw(&Text::new(
            r.name.clone(),
            (x, y + 40),
            font(32).pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
    }
    Ok(())
}
