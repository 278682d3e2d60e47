//! The add-in's icons, drawn from one vector design at every size Office asks for and encoded as
//! PNG, so that no image in the repository is of unknown origin.
//!
//! The design is a sheet of paper with a tick, on the brand blue: "filed". A rasteriser of a few
//! lines suffices for two shapes (a rounded rectangle and a thick polyline), measured by their
//! signed distance and sampled 4 × 4 per pixel for smooth edges.

/// Fluent's brand blue (`colorBrandBackground`, #0F6CBD).
const BRAND: Rgba = [0x0f, 0x6c, 0xbd, 0xff];
const WHITE: Rgba = [0xff, 0xff, 0xff, 0xff];
const SAMPLES: u32 = 4;

type Rgba = [u8; 4];

/// The two looks Office wants: full colour, and the white outline on transparent that Teams and
/// the unified manifest's `outline` icon need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Color,
    Outline,
}

/// The icons the XML manifests and the panes name (`/addin/assets/icon-N.png`): ribbon buttons
/// 16, 32 and 80 px, `IconUrl` 64 px, `HighResolutionIconUrl` 128 px.
pub const ASSET_SIZES: [u32; 5] = [16, 32, 64, 80, 128];
/// The unified manifest's `color` (192 × 192) and `outline` (32 × 32) icons.
pub const COLOR_SIZE: u32 = 192;
pub const OUTLINE_SIZE: u32 = 32;

/// Where an asset icon is served below `/addin/`.
pub fn asset_path(size: u32) -> String {
    format!("assets/icon-{size}.png")
}

#[derive(Debug, Clone, Copy)]
struct Point {
    x: f32,
    y: f32,
}

const fn point(x: f32, y: f32) -> Point {
    Point { x, y }
}

/// A shape in the unit square, `(0, 0)` at the top left.
enum Shape {
    RoundedRect {
        min: Point,
        max: Point,
        radius: f32,
    },
    Polyline {
        points: &'static [Point],
        width: f32,
    },
}

impl Shape {
    /// Signed distance from `p` to the shape's edge: negative inside.
    fn distance(&self, p: Point) -> f32 {
        match self {
            Shape::RoundedRect { min, max, radius } => {
                let half_w = (max.x - min.x) / 2.0 - radius;
                let half_h = (max.y - min.y) / 2.0 - radius;
                let dx = (p.x - (min.x + max.x) / 2.0).abs() - half_w;
                let dy = (p.y - (min.y + max.y) / 2.0).abs() - half_h;
                let outside = dx.max(0.0).hypot(dy.max(0.0));
                outside + dx.max(dy).min(0.0) - radius
            }
            Shape::Polyline { points, width } => {
                let nearest = points
                    .windows(2)
                    .map(|pair| segment_distance(p, pair[0], pair[1]))
                    .fold(f32::INFINITY, f32::min);
                nearest - width / 2.0
            }
        }
    }
}

fn segment_distance(p: Point, a: Point, b: Point) -> f32 {
    let (abx, aby) = (b.x - a.x, b.y - a.y);
    let t = (((p.x - a.x) * abx + (p.y - a.y) * aby) / (abx * abx + aby * aby)).clamp(0.0, 1.0);
    (p.x - a.x - t * abx).hypot(p.y - a.y - t * aby)
}

/// How a shape is painted: filled, or only a band of this width along its edge.
enum Paint {
    Fill,
    Edge(f32),
}

struct Layer {
    shape: Shape,
    paint: Paint,
    color: Rgba,
}

const TILE: Shape = Shape::RoundedRect {
    min: point(0.0, 0.0),
    max: point(1.0, 1.0),
    radius: 0.18,
};
const SHEET: Shape = Shape::RoundedRect {
    min: point(0.25, 0.16),
    max: point(0.75, 0.84),
    radius: 0.05,
};
const TICK: &[Point] = &[point(0.36, 0.52), point(0.46, 0.63), point(0.65, 0.39)];

fn tick(color: Rgba) -> Layer {
    Layer {
        shape: Shape::Polyline {
            points: TICK,
            width: 0.08,
        },
        paint: Paint::Fill,
        color,
    }
}

fn layers(style: Style) -> Vec<Layer> {
    match style {
        Style::Color => vec![
            Layer {
                shape: TILE,
                paint: Paint::Fill,
                color: BRAND,
            },
            Layer {
                shape: SHEET,
                paint: Paint::Fill,
                color: WHITE,
            },
            tick(BRAND),
        ],
        Style::Outline => vec![
            Layer {
                shape: SHEET,
                paint: Paint::Edge(0.07),
                color: WHITE,
            },
            tick(WHITE),
        ],
    }
}

/// The design at `size` × `size` pixels, as straight-alpha RGBA rows.
fn rasterise(style: Style, size: u32) -> Vec<u8> {
    let layers = layers(style);
    let mut pixels = vec![0u8; (size * size * 4) as usize];
    let step = 1.0 / (size * SAMPLES) as f32;
    for y in 0..size {
        for x in 0..size {
            let mut pixel = [0f32; 4];
            for layer in &layers {
                let mut covered = 0;
                for sy in 0..SAMPLES {
                    for sx in 0..SAMPLES {
                        let p = point(
                            ((x * SAMPLES + sx) as f32 + 0.5) * step,
                            ((y * SAMPLES + sy) as f32 + 0.5) * step,
                        );
                        let d = layer.shape.distance(p);
                        let inside = match layer.paint {
                            Paint::Fill => d <= 0.0,
                            Paint::Edge(width) => d.abs() <= width / 2.0,
                        };
                        covered += u32::from(inside);
                    }
                }
                let alpha = covered as f32 / (SAMPLES * SAMPLES) as f32;
                pixel = over(layer.color, alpha, pixel);
            }
            let at = ((y * size + x) * 4) as usize;
            for (channel, value) in pixel.iter().enumerate() {
                pixels[at + channel] = (value * 255.0).round() as u8;
            }
        }
    }
    pixels
}

/// Porter–Duff "over" of a colour with coverage `alpha` onto a straight-alpha pixel in 0..=1.
fn over(color: Rgba, alpha: f32, below: [f32; 4]) -> [f32; 4] {
    let top_alpha = alpha * f32::from(color[3]) / 255.0;
    let out_alpha = top_alpha + below[3] * (1.0 - top_alpha);
    if out_alpha == 0.0 {
        return [0.0; 4];
    }
    let mut out = [0.0, 0.0, 0.0, out_alpha];
    for channel in 0..3 {
        let top = f32::from(color[channel]) / 255.0;
        out[channel] =
            (top * top_alpha + below[channel] * below[3] * (1.0 - top_alpha)) / out_alpha;
    }
    out
}

/// The icon as a PNG file.
pub fn png(style: Style, size: u32) -> Vec<u8> {
    let pixels = rasterise(style, size);
    let mut file = Vec::new();
    let mut encoder = png::Encoder::new(&mut file, size, size);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    // Writing to memory with a header that matches the data cannot fail.
    let mut writer = encoder
        .write_header()
        .expect("a PNG header for a square RGBA image");
    writer
        .write_image_data(&pixels)
        .expect("the pixel buffer has exactly size × size RGBA pixels");
    writer.finish().expect("a PNG written to memory");
    file
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(file: &[u8]) -> (png::OutputInfo, Vec<u8>) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(file))
            .read_info()
            .unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        pixels.truncate(info.buffer_size());
        (info, pixels)
    }

    fn pixel(pixels: &[u8], size: u32, x: f32, y: f32) -> [u8; 4] {
        let (x, y) = ((x * size as f32) as u32, (y * size as f32) as u32);
        let at = ((y * size + x) * 4) as usize;
        pixels[at..at + 4].try_into().unwrap()
    }

    #[test]
    fn every_size_decodes_as_a_square_rgba_png() {
        for size in ASSET_SIZES.into_iter().chain([COLOR_SIZE, OUTLINE_SIZE]) {
            for style in [Style::Color, Style::Outline] {
                let (info, pixels) = decode(&png(style, size));
                assert_eq!((info.width, info.height), (size, size));
                assert_eq!(info.color_type, png::ColorType::Rgba);
                assert_eq!(pixels.len(), (size * size * 4) as usize);
            }
        }
    }

    #[test]
    fn the_colour_icon_is_a_white_sheet_with_a_blue_tick_on_blue() {
        let size = COLOR_SIZE;
        let (_, pixels) = decode(&png(Style::Color, size));
        assert_eq!(pixel(&pixels, size, 0.1, 0.5), BRAND, "the tile");
        assert_eq!(pixel(&pixels, size, 0.3, 0.25), WHITE, "the sheet");
        assert_eq!(pixel(&pixels, size, 0.46, 0.63), BRAND, "the tick's corner");
        assert_eq!(pixel(&pixels, size, 0.0, 0.0)[3], 0, "the rounded corner");
    }

    /// Teams refuses an outline icon with any colour but white, or without transparency.
    #[test]
    fn the_outline_icon_is_white_on_transparent() {
        let (_, pixels) = decode(&png(Style::Outline, OUTLINE_SIZE));
        let mut opaque = 0;
        for rgba in pixels.chunks(4) {
            if rgba[3] > 0 {
                assert_eq!(&rgba[..3], &[0xff, 0xff, 0xff]);
                opaque += 1;
            }
        }
        let transparent = pixels.len() / 4 - opaque;
        assert!(
            opaque > 50 && transparent > 500,
            "{opaque} drawn, {transparent} clear"
        );
        assert_eq!(
            pixel(&pixels, OUTLINE_SIZE, 0.5, 0.3)[3],
            0,
            "inside the sheet"
        );
    }
}
