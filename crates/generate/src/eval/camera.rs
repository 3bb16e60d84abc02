//! The camera: each frame's view tracked from the one before, and the background canvas in the
//! first frame's coordinates.

use super::*;

/// Where the camera is in one frame, relative to the first: a frame-t pixel at screen x shows
/// what the first frame showed at `(x - cx) / zoom + cx - shift.0` (likewise for y).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct View {
    pub(super) shift: (f32, f32),
    pub(super) zoom: f32,
}

impl Default for View {
    fn default() -> Self {
        View {
            shift: (0.0, 0.0),
            zoom: 1.0,
        }
    }
}

/// The camera in every frame, found between consecutive frames and chained. Between two frames
/// the camera moves little (a pan of the renderer is about 1.2 pixels a frame at 32×32 and
/// 4 fps), so a small search there cannot be fooled by a periodic background texture, as one
/// search between the first and the last frame was.
pub(super) fn camera_track(frames: &[RgbImage]) -> Vec<View> {
    let mut views = vec![View::default()];
    for pair in frames.windows(2) {
        let (step, s) = camera_step(&pair[0], &pair[1]);
        let prev = views.last().copied().unwrap_or_default();
        // Chain: b's view of a, then a's of the first frame.
        views.push(View {
            shift: (
                prev.shift.0 + step.0 / prev.zoom,
                prev.shift.1 + step.1 / prev.zoom,
            ),
            zoom: prev.zoom * s,
        });
    }
    views
}

/// The shift (pixels, to half a pixel) and zoom that best map frame `a` onto the next frame `b`:
/// whole-pixel shifts first, on half the pixels, then half-pixel steps around the best.
pub(super) fn camera_step(a: &RgbImage, b: &RgbImage) -> ((f32, f32), f32) {
    let (w, h) = (a.width() as usize, a.height() as usize);
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let cost = |dx: f32, dy: f32, s: f32, every: usize| -> f32 {
        let (mut sum, mut n, mut total) = (0f32, 0f32, 0f32);
        for y in 0..h {
            for x in (y % every..w).step_by(every) {
                total += 1.0;
                // Where b's pixel (x, y) was in a.
                let ax = (x as f32 + 0.5 - cx) / s + cx - dx - 0.5;
                let ay = (y as f32 + 0.5 - cy) / s + cy - dy - 0.5;
                let Some(pa) = bilinear(a, ax, ay) else {
                    continue;
                };
                let pb = b.get_pixel(x as u32, y as u32).0;
                // Truncated: a moving object costs the same however it is matched, so the
                // background, not the object, decides the camera's motion.
                sum += dist_to(pa, &pb).min(40.0);
                n += 1.0;
            }
        }
        if n < total * 0.5 {
            f32::INFINITY
        } else {
            sum / n
        }
    };
    let reach = (h as i32 / 8).max(2);
    let mut coarse = Best::default();
    for s in [0.94f32, 0.96, 0.98, 1.0, 1.02, 1.04, 1.06] {
        for dy in -reach..=reach {
            for dx in -reach..=reach {
                let (dx, dy) = (dx as f32, dy as f32);
                coarse.consider((dx, dy), s, cost(dx, dy, s, 2));
            }
        }
    }
    let ((bx, by), bs) = (coarse.shift, coarse.zoom);
    let mut fine = Best::default();
    for s in [bs - 0.01, bs, bs + 0.01] {
        for ky in -1..=1 {
            for kx in -1..=1 {
                let (dx, dy) = (bx + 0.5 * kx as f32, by + 0.5 * ky as f32);
                fine.consider((dx, dy), s, cost(dx, dy, s, 1));
            }
        }
    }
    (fine.shift, fine.zoom)
}

/// The best camera step so far in a search.
pub(super) struct Best {
    pub(super) cost: f32,
    pub(super) shift: (f32, f32),
    pub(super) zoom: f32,
}

impl Default for Best {
    fn default() -> Self {
        Best {
            cost: f32::INFINITY,
            shift: (0.0, 0.0),
            zoom: 1.0,
        }
    }
}

impl Best {
    /// Keeps the step if it costs less; ties go to the smaller motion, so that a still camera
    /// stays still.
    pub(super) fn consider(&mut self, shift: (f32, f32), zoom: f32, cost: f32) {
        let size = |m: (f32, f32), s: f32| m.0.abs() + m.1.abs() + (s - 1.0).abs() * 100.0;
        if cost < self.cost - 1e-4
            || (cost <= self.cost + 1e-4 && size(shift, zoom) < size(self.shift, self.zoom))
        {
            *self = Best { cost, shift, zoom };
        }
    }
}

/// `img` at a fractional pixel position (pixel centres at integers), or `None` outside it.
pub(super) fn bilinear(img: &RgbImage, x: f32, y: f32) -> Option<[f32; 3]> {
    let (w, h) = (img.width() as f32, img.height() as f32);
    if x < 0.0 || y < 0.0 || x > w - 1.0 || y > h - 1.0 {
        return None;
    }
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as u32, y0 as u32);
    let (x1, y1) = (
        (x0 + 1).min(img.width() - 1),
        (y0 + 1).min(img.height() - 1),
    );
    let p = |x: u32, y: u32| img.get_pixel(x, y).0.map(f32::from);
    let (a, b, c, d) = (p(x0, y0), p(x1, y0), p(x0, y1), p(x1, y1));
    Some(std::array::from_fn(|k| {
        (a[k] * (1.0 - fx) + b[k] * fx) * (1.0 - fy) + (c[k] * (1.0 - fx) + d[k] * fx) * fy
    }))
}

/// The first frame's coordinates, extended by one frame on every side so that what a moving
/// camera shows later has a place too: one cell per first-frame pixel.
pub(super) struct Canvas {
    pub(super) w: usize,
    pub(super) h: usize,
}

impl Canvas {
    pub(super) fn new(w: usize, h: usize) -> Self {
        Canvas { w, h }
    }

    /// Screen position (pixel corner coordinates) in a frame seen from `view` → first-frame
    /// position.
    pub(super) fn screen_to_first(&self, view: View, x: f32, y: f32) -> (f32, f32) {
        let (cx, cy) = (self.w as f32 / 2.0, self.h as f32 / 2.0);
        (
            (x - cx) / view.zoom + cx - view.shift.0,
            (y - cy) / view.zoom + cy - view.shift.1,
        )
    }

    /// The inverse of [`Canvas::screen_to_first`].
    pub(super) fn first_to_screen(&self, view: View, x: f32, y: f32) -> (f32, f32) {
        let (cx, cy) = (self.w as f32 / 2.0, self.h as f32 / 2.0);
        (
            (x - cx + view.shift.0) * view.zoom + cx,
            (y - cy + view.shift.1) * view.zoom + cy,
        )
    }

    /// The canvas cell behind screen pixel (x, y) of a frame seen from `view`.
    pub(super) fn cell_of(&self, view: View, x: f32, y: f32) -> Option<usize> {
        let (fx, fy) = self.screen_to_first(view, x + 0.5, y + 0.5);
        let (cx, cy) = (
            fx.floor() as i64 + self.w as i64,
            fy.floor() as i64 + self.h as i64,
        );
        let (cw, ch) = (3 * self.w as i64, 3 * self.h as i64);
        (cx >= 0 && cy >= 0 && cx < cw && cy < ch).then(|| (cy * cw + cx) as usize)
    }

    /// Whether `p` is within 40 levels of the background of `cell` or of a cell beside it: the
    /// background seen a pixel off (a texture or the horizon under a camera move the tracking
    /// did not quite take out), not an object.
    pub(super) fn near_background(&self, bg: &[Option<[u8; 3]>], cell: usize, p: [u8; 3]) -> bool {
        let cw = 3 * self.w;
        let (cx, cy) = (cell % cw, cell / cw);
        (cy.saturating_sub(1)..=(cy + 1).min(3 * self.h - 1)).any(|y| {
            (cx.saturating_sub(1)..=(cx + 1).min(cw - 1))
                .any(|x| bg[y * cw + x].is_some_and(|b| dist(p, b) <= 40))
        })
    }

    /// The background of every cell: the per-channel median of what the frames show there,
    /// where at least three frames show it.
    pub(super) fn background(&self, frames: &[RgbImage], views: &[View]) -> Vec<Option<[u8; 3]>> {
        let cells = 9 * self.w * self.h;
        let mut seen: Vec<Vec<[u8; 3]>> = vec![Vec::new(); cells];
        for (f, &view) in frames.iter().zip(views) {
            for (x, y, p) in f.enumerate_pixels() {
                if let Some(c) = self.cell_of(view, x as f32, y as f32) {
                    seen[c].push(p.0);
                }
            }
        }
        seen.into_iter()
            .map(|v| {
                if v.len() < 3 {
                    return None;
                }
                let mid = v.len() / 2;
                Some(std::array::from_fn(|ch| {
                    let mut c: Vec<u8> = v.iter().map(|p| p[ch]).collect();
                    c.sort_unstable();
                    c[mid]
                }))
            })
            .collect()
    }
}
