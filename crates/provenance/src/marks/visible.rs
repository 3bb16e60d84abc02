//! The visible mark: an anti-aliased badge that glides around the frame (so that no single crop
//! removes it) with an "AI" label and the issuer's name, and a detector for it.
//!
//! **Badge.** A dark, translucent rounded rectangle `size × H` pixels high holding "AI" and a
//! text (by default the issuer's name) in a 5×7 pixel font, drawn with 4×4 supersampling. The
//! text is cut to keep the badge within 34% of the frame's width.
//!
//! **Path.** The badge's top-left corner follows `x = m + (W − 2m − 0.34W)·(½ + ½ sin(2πt/9 + 0.3))`
//! and `y = m + (H − 2m − h)·(½ + ½ sin(2πt/6.5 + 1.1))`, with `m = 3%` of the shorter side and `t`
//! the frame's time in seconds. The path depends only on the frame's size and time, so the
//! detector knows where to look, also after a resize.
//!
//! **Detector.** In each sampled frame it correlates the luma around the badge's expected place
//! (±2% of the frame) with the rendered "AI" label (normalised cross-correlation, which ignores
//! brightness and contrast), and takes the median of the per-frame peaks over the frames. A median
//! of at least [`DETECT_THRESHOLD`] is a detection. It looks for the default badge size. Frames
//! taller than 360 rows are searched after an area downscale to 360 rows.

use image::GrayImage;
use verity_media::{Picture, VideoFrame};

use super::font::glyph;
use super::resample::area_resize_gray;
use crate::error::{ProvenanceError, Result};

/// Badge height as a share of the frame's height, by default.
pub const DEFAULT_SIZE: f32 = 0.06;
/// Default opacity of the label; the background is 55% of it.
pub const DEFAULT_OPACITY: f32 = 0.85;
/// The badge stays within this share of the frame's width.
const MAX_WIDTH: f32 = 0.34;
/// Median normalised correlation that counts as a detection.
pub const DETECT_THRESHOLD: f32 = 0.5;
/// Smallest badge height in pixels that is drawn.
const MIN_BADGE_PX: f32 = 7.0;
/// Frames taller than this are searched for the badge on a grid of this many rows.
const DETECT_HEIGHT: u32 = 360;

/// How the badge looks.
#[derive(Clone, Debug, PartialEq)]
pub struct VisibleOptions {
    /// The text after "AI", usually the issuer's name.
    pub text: String,
    /// 0 (invisible) to 1.
    pub opacity: f32,
    /// Badge height as a share of the frame's height.
    pub size: f32,
}

impl VisibleOptions {
    pub fn new(text: impl Into<String>) -> Self {
        VisibleOptions {
            text: text.into(),
            opacity: DEFAULT_OPACITY,
            size: DEFAULT_SIZE,
        }
    }

    pub fn validate(&self) -> Result<()> {
        if !(self.opacity > 0.0 && self.opacity <= 1.0) {
            return Err(ProvenanceError::MarkOption {
                name: "opacity",
                value: self.opacity.to_string(),
                allowed: "a number in (0, 1]".into(),
            });
        }
        if !(self.size >= 0.02 && self.size <= 0.25) {
            return Err(ProvenanceError::MarkOption {
                name: "size",
                value: self.size.to_string(),
                allowed: "a share of the frame height in [0.02, 0.25]".into(),
            });
        }
        Ok(())
    }
}

/// Coverage of the badge's background and of its letters, one pair per pixel.
#[derive(Clone, Debug)]
struct Bitmap {
    w: usize,
    h: usize,
    bg: Vec<f32>,
    ink: Vec<f32>,
}

/// Renders the badge (the "AI" label, then `text`) at `height` pixels, at most `max_w` wide.
fn render_badge(text: &str, height: f32, max_w: f32) -> Bitmap {
    let p = height / 11.0;
    // Glyph cells in badge units: "AI" from x = 2, then the text from x = 16 + 6k.
    let mut cells: Vec<(f32, [u8; 7])> = vec![(2.0, glyph('A')), (8.0, glyph('I'))];
    let mut units = 15.0;
    let fits = |units: f32| units * p <= max_w;
    let trimmed = text.trim();
    if !trimmed.is_empty() {
        let mut x = 16.0;
        for c in trimmed.chars() {
            if !fits(x + 5.0 + 2.0) {
                break;
            }
            cells.push((x, glyph(c)));
            x += 6.0;
            units = x + 1.0;
        }
    }
    let w = (units * p).ceil() as usize;
    let h = height.ceil() as usize;
    let r = 2.0 * p;
    let (bw, bh) = (units * p, height);
    let mut bg = vec![0f32; w * h];
    let mut ink = vec![0f32; w * h];
    const SS: usize = 4;
    for y in 0..h {
        for x in 0..w {
            let (mut b, mut k) = (0usize, 0usize);
            for sy in 0..SS {
                for sx in 0..SS {
                    let px = x as f32 + (sx as f32 + 0.5) / SS as f32;
                    let py = y as f32 + (sy as f32 + 0.5) / SS as f32;
                    // Rounded rectangle.
                    let dx = (r - px).max(px - (bw - r)).max(0.0);
                    let dy = (r - py).max(py - (bh - r)).max(0.0);
                    if px <= bw && py <= bh && dx * dx + dy * dy <= r * r {
                        b += 1;
                    }
                    // Letters: unit cells of the glyph grid.
                    let (ux, uy) = (px / p, py / p - 2.0);
                    if (0.0..7.0).contains(&uy) {
                        let row = uy as usize;
                        for (gx, g) in &cells {
                            let col = ux - gx;
                            if (0.0..5.0).contains(&col) && (g[row] >> (4 - col as usize)) & 1 == 1
                            {
                                k += 1;
                                break;
                            }
                        }
                    }
                }
            }
            bg[y * w + x] = b as f32 / (SS * SS) as f32;
            ink[y * w + x] = k as f32 / (SS * SS) as f32;
        }
    }
    Bitmap { w, h, bg, ink }
}

/// The badge's top-left corner at time `t` in a `w`×`h` frame, for a badge `bh` pixels high.
fn path(t: f64, w: u32, h: u32, bh: f32) -> (f32, f32) {
    let (w, h) = (w as f32, h as f32);
    let m = 0.03 * w.min(h);
    let tau = std::f64::consts::TAU;
    let fx = (0.5 + 0.5 * (tau * t / 9.0 + 0.3).sin()) as f32;
    let fy = (0.5 + 0.5 * (tau * t / 6.5 + 1.1).sin()) as f32;
    let x = m + (w - 2.0 * m - MAX_WIDTH * w).max(0.0) * fx;
    let y = m + (h - 2.0 * m - bh).max(0.0) * fy;
    (x, y)
}

/// Draws the badge on frames of one size.
#[derive(Clone, Debug)]
pub struct VisibleMarker {
    width: u32,
    height: u32,
    opacity: f32,
    badge: Bitmap,
    badge_h: f32,
}

impl VisibleMarker {
    pub fn new(opts: &VisibleOptions, width: u32, height: u32) -> Result<Self> {
        opts.validate()?;
        let badge_h = opts.size * height as f32;
        if badge_h < MIN_BADGE_PX {
            return Err(ProvenanceError::BadgeDoesNotFit {
                width,
                height,
                need: format!(
                    "at {:.0} % of the height the badge is {badge_h:.0} pixels tall, and it must \
                     be at least {MIN_BADGE_PX:.0} to be legible: the picture needs to be at least \
                     {} pixels tall (or the badge a larger fraction of it)",
                    opts.size * 100.0,
                    (MIN_BADGE_PX / opts.size).ceil() as u32
                ),
            });
        }
        let need_w = badge_h * 15.0 / 11.0 / MAX_WIDTH;
        if (width as f32) < need_w {
            return Err(ProvenanceError::BadgeDoesNotFit {
                width,
                height,
                need: format!(
                    "at {:.0} % of the height the badge is {badge_h:.0} pixels tall and needs a \
                     picture at least {} pixels wide (or a smaller badge)",
                    opts.size * 100.0,
                    need_w.ceil() as u32
                ),
            });
        }
        let badge = render_badge(&opts.text, badge_h, MAX_WIDTH * width as f32);
        Ok(VisibleMarker {
            width,
            height,
            opacity: opts.opacity,
            badge,
            badge_h,
        })
    }

    /// Draws the badge where it belongs at the frame's time.
    pub fn apply(&self, frame: &mut VideoFrame) -> Result<()> {
        if frame.width() != self.width || frame.height() != self.height {
            return Err(ProvenanceError::FrameSize {
                expected: (self.width, self.height),
                got: (frame.width(), frame.height()),
            });
        }
        let (x, y) = path(frame.time_s(), self.width, self.height, self.badge_h);
        let (x0, y0) = (x.round() as usize, y.round() as usize);
        let ob = 0.55 * self.opacity;
        let ot = self.opacity;
        let b = &self.badge;
        let blend = |v: f32, bg: f32, ink: f32, dark: f32, light: f32| -> u8 {
            let v = v * (1.0 - ob * bg) + dark * ob * bg;
            (v * (1.0 - ot * ink) + light * ot * ink)
                .round()
                .clamp(0.0, 255.0) as u8
        };
        match &mut frame.picture {
            Picture::Yuv420 { y: yp, u, v } => {
                for_each_pixel(b, x0, y0, yp, |p, bg, ink| blend(p, bg, ink, 16.0, 235.0));
                // Chroma at half resolution: the mean coverage of each 2×2 block.
                let half = half_bitmap(b);
                for plane in [u, v] {
                    for_each_pixel(&half, x0 / 2, y0 / 2, plane, |p, bg, ink| {
                        blend(p, bg, ink, 128.0, 128.0)
                    });
                }
            }
            Picture::Gray(yp) => {
                for_each_pixel(b, x0, y0, yp, |p, bg, ink| blend(p, bg, ink, 16.0, 235.0));
            }
            Picture::Rgb(img) => {
                let (w, h) = (img.width() as usize, img.height() as usize);
                for by in 0..b.h {
                    for bx in 0..b.w {
                        let (px, py) = (x0 + bx, y0 + by);
                        if px >= w || py >= h {
                            continue;
                        }
                        let (bg, ink) = (b.bg[by * b.w + bx], b.ink[by * b.w + bx]);
                        let pix = img.get_pixel_mut(px as u32, py as u32);
                        for c in pix.0.iter_mut() {
                            *c = blend(f32::from(*c), bg, ink, 0.0, 255.0);
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

fn for_each_pixel(
    b: &Bitmap,
    x0: usize,
    y0: usize,
    plane: &mut GrayImage,
    f: impl Fn(f32, f32, f32) -> u8,
) {
    let (w, h) = (plane.width() as usize, plane.height() as usize);
    let data: &mut [u8] = plane.as_mut();
    for by in 0..b.h {
        let py = y0 + by;
        if py >= h {
            break;
        }
        for bx in 0..b.w {
            let px = x0 + bx;
            if px >= w {
                break;
            }
            let i = by * b.w + bx;
            if b.bg[i] == 0.0 && b.ink[i] == 0.0 {
                continue;
            }
            let d = &mut data[py * w + px];
            *d = f(f32::from(*d), b.bg[i], b.ink[i]);
        }
    }
}

fn half_bitmap(b: &Bitmap) -> Bitmap {
    let (w, h) = (b.w.div_ceil(2), b.h.div_ceil(2));
    let mut bg = vec![0f32; w * h];
    let mut ink = vec![0f32; w * h];
    for y in 0..b.h {
        for x in 0..b.w {
            bg[(y / 2) * w + x / 2] += b.bg[y * b.w + x] / 4.0;
            ink[(y / 2) * w + x / 2] += b.ink[y * b.w + x] / 4.0;
        }
    }
    Bitmap { w, h, bg, ink }
}

/// Pools per-frame evidence of the badge.
#[derive(Clone, Debug, Default)]
pub struct VisibleDetector {
    template: Option<((u32, u32), Bitmap)>,
    scores: Vec<f32>,
}

/// What the badge detector found.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct VisibleDetection {
    pub found: bool,
    /// Median over frames of the best normalised correlation with the label (−1 to 1).
    pub confidence: f32,
    pub frames_used: usize,
}

impl VisibleDetector {
    pub fn new() -> Self {
        Self::default()
    }

    /// Scores one frame's luma, shown at `time_s`.
    pub fn add(&mut self, luma: &GrayImage, time_s: f64) {
        // The badge's place and size scale with the frame, so a large frame is searched on a
        // grid DETECT_HEIGHT rows high: the badge is still 21 rows high there, and the search costs
        // the same for 1080p as for 360p.
        let reduced;
        let luma = if luma.height() > DETECT_HEIGHT {
            let gw = (f64::from(luma.width()) * f64::from(DETECT_HEIGHT) / f64::from(luma.height()))
                .round() as usize;
            reduced = area_resize_gray(luma, gw.max(1), DETECT_HEIGHT as usize);
            &reduced
        } else {
            luma
        };
        let (w, h) = (luma.width(), luma.height());
        let badge_h = DEFAULT_SIZE * h as f32;
        if badge_h < MIN_BADGE_PX {
            return;
        }
        let fresh = !matches!(&self.template, Some((d, _)) if *d == (w, h));
        if fresh {
            self.template = Some(((w, h), render_badge("", badge_h, f32::MAX)));
        }
        let Some((_, t)) = &self.template else {
            return;
        };
        let (x, y) = path(time_s, w, h, badge_h);
        let reach = (0.02 * w.max(h) as f32).ceil() as i64;
        let mut best = f32::NEG_INFINITY;
        for dy in -reach..=reach {
            for dx in -reach..=reach {
                let (px, py) = (x.round() as i64 + dx, y.round() as i64 + dy);
                if px < 0
                    || py < 0
                    || px as usize + t.w > w as usize
                    || py as usize + t.h > h as usize
                {
                    continue;
                }
                best = best.max(ncc(luma, px as usize, py as usize, t));
            }
        }
        if best.is_finite() {
            self.scores.push(best);
        }
    }

    pub fn finish(&self) -> VisibleDetection {
        let mut s = self.scores.clone();
        s.sort_by(f32::total_cmp);
        let median = if s.is_empty() { 0.0 } else { s[s.len() / 2] };
        VisibleDetection {
            found: !s.is_empty() && median >= DETECT_THRESHOLD,
            confidence: median,
            frames_used: s.len(),
        }
    }
}

/// Normalised cross-correlation of the luma under the template (at x, y) with its ink.
fn ncc(luma: &GrayImage, x: usize, y: usize, t: &Bitmap) -> f32 {
    let w = luma.width() as usize;
    let px = luma.as_raw();
    let n = (t.w * t.h) as f32;
    let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0f32, 0f32, 0f32, 0f32, 0f32);
    for ty in 0..t.h {
        let row = &px[(y + ty) * w + x..(y + ty) * w + x + t.w];
        for (tx, &v) in row.iter().enumerate() {
            let a = f32::from(v);
            let b = t.ink[ty * t.w + tx];
            sa += a;
            sb += b;
            saa += a * a;
            sbb += b * b;
            sab += a * b;
        }
    }
    let cov = sab - sa * sb / n;
    let va = saa - sa * sa / n;
    let vb = sbb - sb * sb / n;
    if va <= 1e-3 || vb <= 1e-6 {
        return 0.0;
    }
    cov / (va * vb).sqrt()
}
