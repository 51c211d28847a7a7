//! Raster heat tiles: filled polygons (the heat map's hexagons) drawn onto a transparent RGBA tile and
//! encoded as PNG.
//!
//! Each [`Shape`] is projected WGS84 → Web Mercator → pixels of the tile (the same projection as the
//! vector tiles, [`crate::mvt::to_tile_coords`]), clipped to the tile plus a small margin
//! (Sutherland–Hodgman, so huge polygons stay cheap and far-away coordinates never reach the
//! rasteriser), filled anti-aliased with the even–odd rule (so holes are holes whatever their
//! orientation) and optionally outlined with a one-pixel line. Shapes are painted in order: later shapes
//! cover earlier ones. Shapes whose bounding box misses the tile are skipped before projection.
//! Rendering uses tiny-skia (premultiplied alpha internally); the PNG carries straight alpha.

use tiny_skia::{FillRule, Paint, PathBuilder, Pixmap, Stroke, Transform};

use crate::mvt::{boxes_overlap, clip_ring, wgs84_bbox, Projector};
use crate::TileId;

/// The side of a standard raster tile in pixels (512 is served for @2x).
pub const TILE_SIZE: u32 = 256;

/// The outline's width: one device pixel at both sizes (a crisp line on @2x screens). tiny-skia draws
/// it as an anti-aliased hairline, which at 512 costs about half of a scaled 2 px stroke.
const OUTLINE_WIDTH: f32 = 1.0;

/// Pixels kept around the tile when clipping: wider than half the outline, so clipped edges stay out
/// of sight.
const CLIP_MARGIN: f64 = 4.0;

/// One filled shape: rings in WGS84 (exterior first, holes after), RGBA fill (straight alpha), and an
/// optional outline colour.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    /// Rings of [lng, lat], exterior first; closed or not, any orientation.
    pub rings: Vec<Vec<[f64; 2]>>,
    /// Fill colour, RGBA with straight (not premultiplied) alpha.
    pub fill: [u8; 4],
    /// Outline colour, if the shape gets one.
    pub outline: Option<[u8; 4]>,
}

/// A raster tile that cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum RasterError {
    /// Only 256 and 512 pixel tiles are rendered.
    #[error("tile size {0} is not 256 or 512")]
    Size(u32),
    /// The PNG could not be encoded (or, in [`decode_png`], decoded).
    #[error("PNG encoding failed: {0}")]
    Png(String),
}

fn paint(rgba: [u8; 4]) -> Paint<'static> {
    let mut paint = Paint::default();
    paint.set_color_rgba8(rgba[0], rgba[1], rgba[2], rgba[3]);
    paint.anti_alias = true;
    paint
}

/// Renders `shapes` for tile `tile` at `size` × `size` pixels (256, or 512 for @2x); shapes outside the
/// tile are skipped cheaply (bbox test). Returns PNG bytes.
pub fn render(tile: TileId, size: u32, shapes: &[Shape]) -> Result<Vec<u8>, RasterError> {
    if size != TILE_SIZE && size != 2 * TILE_SIZE {
        return Err(RasterError::Size(size));
    }
    let mut pixmap = Pixmap::new(size, size).ok_or(RasterError::Size(size))?;
    let scale = f64::from(size) / f64::from(TILE_SIZE);
    let (lo, hi) = (-CLIP_MARGIN * scale, f64::from(size) + CLIP_MARGIN * scale);
    let proj = Projector::new(tile, f64::from(size));
    let visible = proj.wgs84_box(lo, hi);
    let stroke = Stroke {
        width: OUTLINE_WIDTH,
        ..Stroke::default()
    };

    let mut projected: Vec<[f64; 2]> = Vec::new();
    let mut clipped: Vec<[f64; 2]> = Vec::new();
    let mut tmp: Vec<[f64; 2]> = Vec::new();
    let mut builder = PathBuilder::new();
    for shape in shapes {
        if !shape
            .rings
            .first()
            .and_then(wgs84_bbox)
            .is_some_and(|b| boxes_overlap(b, visible))
        {
            continue;
        }
        for ring in &shape.rings {
            projected.clear();
            projected.extend(
                ring.iter()
                    .filter(|p| p[0].is_finite() && p[1].is_finite())
                    .map(|p| proj.project(p[0], p[1])),
            );
            let inside = projected
                .iter()
                .all(|p| p[0] >= lo && p[0] <= hi && p[1] >= lo && p[1] <= hi);
            let points = if inside {
                &projected
            } else {
                clip_ring(&projected, lo, hi, &mut clipped, &mut tmp);
                &clipped
            };
            if points.len() < 3 {
                continue;
            }
            builder.move_to(points[0][0] as f32, points[0][1] as f32);
            for p in &points[1..] {
                builder.line_to(p[0] as f32, p[1] as f32);
            }
            builder.close();
        }
        // `finish` gives nothing back for an empty or degenerate path; the builder is then reset.
        let Some(path) = std::mem::take(&mut builder).finish() else {
            continue;
        };
        pixmap.fill_path(
            &path,
            &paint(shape.fill),
            FillRule::EvenOdd,
            Transform::identity(),
            None,
        );
        if let Some(outline) = shape.outline {
            pixmap.stroke_path(&path, &paint(outline), &stroke, Transform::identity(), None);
        }
        builder = path.clear();
    }
    pixmap.encode_png().map_err(|e| RasterError::Png(e.to_string()))
}

/// Decodes a PNG into (width, height, RGBA pixels, premultiplied alpha undone) — for tests.
pub fn decode_png(bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), RasterError> {
    let pixmap = Pixmap::decode_png(bytes).map_err(|e| RasterError::Png(e.to_string()))?;
    let mut rgba = Vec::with_capacity(pixmap.data().len());
    for pixel in pixmap.pixels() {
        let c = pixel.demultiply();
        rgba.extend_from_slice(&[c.red(), c.green(), c.blue(), c.alpha()]);
    }
    Ok((pixmap.width(), pixmap.height(), rgba))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mvt::to_tile_coords;
    use h3o::{CellIndex, LatLng, Resolution};

    const RED: [u8; 4] = [0xd7, 0x30, 0x27, 0xe6];
    const BLUE: [u8; 4] = [0x31, 0x36, 0x95, 0xff];

    fn chenzhou_tile(z: u8) -> TileId {
        TileId::containing(z, 113.015, 25.77).unwrap()
    }

    fn tile_centre_cell(t: TileId, res: Resolution) -> CellIndex {
        let b = t.bounds();
        LatLng::new((b.north + b.south) / 2.0, (b.west + b.east) / 2.0)
            .unwrap()
            .to_cell(res)
    }

    fn hexagon(cell: CellIndex, fill: [u8; 4], outline: Option<[u8; 4]>) -> Shape {
        Shape {
            rings: vec![cell.boundary().iter().map(|ll| [ll.lng(), ll.lat()]).collect()],
            fill,
            outline,
        }
    }

    /// The pixel at a WGS84 point.
    fn pixel(img: &(u32, u32, Vec<u8>), t: TileId, lng: f64, lat: f64) -> [u8; 4] {
        let p = to_tile_coords(t, f64::from(img.0), lng, lat);
        pixel_at(img, p[0] as u32, p[1] as u32)
    }

    fn pixel_at(img: &(u32, u32, Vec<u8>), x: u32, y: u32) -> [u8; 4] {
        let i = 4 * (y * img.0 + x) as usize;
        img.2[i..i + 4].try_into().unwrap()
    }

    fn assert_near(got: [u8; 4], want: [u8; 4], tol: u8) {
        for c in 0..4 {
            assert!(got[c].abs_diff(want[c]) <= tol, "{got:?} vs {want:?}");
        }
    }

    fn centre(cell: CellIndex) -> (f64, f64) {
        let ll = LatLng::from(cell);
        (ll.lng(), ll.lat())
    }

    #[test]
    fn a_hexagon_is_filled_where_it_lies_and_nowhere_else() {
        let t = chenzhou_tile(12);
        let cell = tile_centre_cell(t, Resolution::Eight);
        for size in [256, 512] {
            let img = decode_png(&render(t, size, &[hexagon(cell, RED, None)]).unwrap()).unwrap();
            assert_eq!((img.0, img.1, img.2.len()), (size, size, (size * size * 4) as usize));
            let (lng, lat) = centre(cell);
            assert_near(pixel(&img, t, lng, lat), RED, 2);
            assert_eq!(pixel_at(&img, 3, 3), [0, 0, 0, 0]);
            assert_eq!(pixel_at(&img, size - 3, size / 2), [0, 0, 0, 0]);
            // The painted area is about the hexagon's projected area.
            let ring: Vec<[f64; 2]> = cell
                .boundary()
                .iter()
                .map(|ll| to_tile_coords(t, f64::from(size), ll.lng(), ll.lat()))
                .collect();
            let area = ring
                .iter()
                .zip(ring.iter().cycle().skip(1))
                .map(|(a, b)| a[0] * b[1] - b[0] * a[1])
                .sum::<f64>()
                .abs()
                / 2.0;
            let coverage: f64 = img.2.chunks_exact(4).map(|p| f64::from(p[3]) / f64::from(RED[3])).sum();
            assert!((coverage / area - 1.0).abs() < 0.02, "painted {coverage} px² vs {area}");
        }
    }

    #[test]
    fn no_shapes_give_a_transparent_tile_and_bad_sizes_are_refused() {
        let t = chenzhou_tile(12);
        let img = decode_png(&render(t, 256, &[]).unwrap()).unwrap();
        assert_eq!((img.0, img.1), (256, 256));
        assert!(img.2.iter().all(|&b| b == 0));
        // A shape far away is skipped: the same transparent tile.
        let far = hexagon(tile_centre_cell(chenzhou_tile(5), Resolution::Five), RED, Some(BLUE));
        let far_img = decode_png(&render(chenzhou_tile(12), 256, &[far]).unwrap()).unwrap();
        assert!(far_img.2.iter().all(|&b| b == 0));
        assert!(matches!(render(t, 300, &[]), Err(RasterError::Size(300))));
        assert!(matches!(render(t, 0, &[]), Err(RasterError::Size(0))));
        assert!(matches!(decode_png(b"not a png"), Err(RasterError::Png(_))));
    }

    #[test]
    fn later_shapes_paint_over_earlier_ones() {
        let t = chenzhou_tile(13);
        let cell = tile_centre_cell(t, Resolution::Eight);
        let neighbour = cell.grid_disk::<Vec<_>>(1).into_iter().find(|c| *c != cell).unwrap();
        // The parent res-7 cell covers both: first the small one in blue, then the big one in red, then
        // the neighbour in opaque blue again.
        let parent = cell.parent(Resolution::Seven).unwrap();
        let opaque_red = [RED[0], RED[1], RED[2], 0xff];
        let shapes = [
            hexagon(cell, BLUE, None),
            hexagon(parent, opaque_red, None),
            hexagon(neighbour, BLUE, None),
        ];
        let img = decode_png(&render(t, 256, &shapes).unwrap()).unwrap();
        let (lng, lat) = centre(cell);
        assert_near(pixel(&img, t, lng, lat), opaque_red, 0);
        let (lng, lat) = centre(neighbour);
        assert_near(pixel(&img, t, lng, lat), BLUE, 0);
        // Translucent over opaque blends: source-over.
        let shapes = [hexagon(cell, BLUE, None), hexagon(cell, [255, 255, 255, 128], None)];
        let img = decode_png(&render(t, 256, &shapes).unwrap()).unwrap();
        let (lng, lat) = centre(cell);
        let blend = |b: u8| ((u32::from(b) * 127 + 255 * 128) / 255) as u8;
        assert_near(
            pixel(&img, t, lng, lat),
            [blend(BLUE[0]), blend(BLUE[1]), blend(BLUE[2]), 255],
            2,
        );
    }

    #[test]
    fn holes_stay_empty_and_outlines_darken_edges() {
        let t = chenzhou_tile(12);
        let b = t.bounds();
        let (w, e, s, n) = (b.west, b.east, b.south, b.north);
        let (dx, dy) = ((e - w) / 4.0, (n - s) / 4.0);
        // A square larger than the tile (clipped) with a square hole in the middle, hole clockwise.
        let outer = vec![
            [w - 1.0, s - 1.0],
            [e + 1.0, s - 1.0],
            [e + 1.0, n + 1.0],
            [w - 1.0, n + 1.0],
        ];
        let hole = vec![[w + dx, s + dy], [w + dx, n - dy], [e - dx, n - dy], [e - dx, s + dy]];
        let shape = Shape {
            rings: vec![outer, hole],
            fill: RED,
            outline: Some([0, 0, 0, 255]),
        };
        let img = decode_png(&render(t, 256, &[shape]).unwrap()).unwrap();
        assert_near(pixel_at(&img, 10, 10), RED, 2);
        assert_near(pixel_at(&img, 250, 250), RED, 2);
        assert_eq!(pixel_at(&img, 128, 128), [0, 0, 0, 0]);
        // The hole's edge runs at x = 64: outlined in black there (half of the 1 px line over the red
        // pixel 63, half over the empty pixel 64), not on the clipped tile border.
        let edge = pixel_at(&img, 63, 128);
        assert!(edge[0] < 0x70 && edge[3] > 0xe8, "{edge:?}");
        assert_near(pixel_at(&img, 64, 128), [0, 0, 0, 128], 2);
        assert_near(pixel_at(&img, 0, 128), RED, 2);

        // The hexagon's outline: a vertex pixel is darker than the fill.
        let cell = tile_centre_cell(t, Resolution::Eight);
        let img = decode_png(&render(t, 512, &[hexagon(cell, RED, Some([0x60, 0x10, 0x10, 0xff]))]).unwrap()).unwrap();
        let vertex = cell.boundary()[0];
        let p = pixel(&img, t, vertex.lng(), vertex.lat());
        assert!(p[0] < 0xb0 && p[3] > 0x40, "{p:?}");
    }

    #[test]
    fn rendering_two_hundred_hexagons_is_fast() {
        let t = chenzhou_tile(12);
        let cells: Vec<CellIndex> = tile_centre_cell(t, Resolution::Nine).grid_disk(8); // 217
        let shapes: Vec<Shape> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                hexagon(
                    *c,
                    [0xd7, (i * 7 % 256) as u8, 0x27, 0xc0],
                    Some([0x80, 0x20, 0x20, 0xff]),
                )
            })
            .collect();
        for size in [256, 512] {
            let png = render(t, size, &shapes).unwrap();
            // The best of several runs: the machine may be busy with other tests.
            let each = (0..10)
                .map(|_| {
                    let start = std::time::Instant::now();
                    std::hint::black_box(render(t, size, std::hint::black_box(&shapes)).unwrap());
                    start.elapsed()
                })
                .min()
                .unwrap();
            eprintln!(
                "render {} hexagons at {size}: {each:?}, {} bytes",
                shapes.len(),
                png.len()
            );
            // Generous, so unoptimised test builds pass.
            assert!(each < std::time::Duration::from_millis(200), "{each:?}");
        }
    }
}
