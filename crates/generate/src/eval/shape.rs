//! The shape measure: which of the scene language's shapes best explains an object's silhouette.
//!
//! Each frame's object is the window around its blob, each pixel with the share of it the
//! object covers (see [`super::silhouette`]). Every shape is drawn the way the renderer draws it
//! (its signed distance, anti-aliased over one pixel) at the silhouette's centroid, with its
//! area, at the turn that fits best; each frame votes for the shape that differs least from its
//! silhouette, and the clip shows the shape with most votes.

use crate::render::sdf;
use crate::scene::Shape;

/// One frame's object: `(x, y, coverage)` of the pixels around it whose coverage is known
/// (pixels of other objects are left out), with the area they cover and its centroid, worked out
/// once for every shape it is compared with.
pub(super) struct Silhouette {
    cells: Vec<(usize, usize, f32)>,
    area: f32,
    centre: (f32, f32),
}

impl Silhouette {
    pub(super) fn new(cells: Vec<(usize, usize, f32)>) -> Self {
        let (mut area, mut sx, mut sy) = (0f32, 0f32, 0f32);
        for &(x, y, a) in &cells {
            area += a;
            sx += (x as f32 + 0.5) * a;
            sy += (y as f32 + 0.5) * a;
        }
        Silhouette {
            cells,
            area,
            centre: (sx / area, sy / area),
        }
    }
}

/// A shape's area at radius 1, in the renderer's units: a disc; a square of half-side 0.9; an
/// equilateral triangle of half-side 1.1.
fn unit_area(shape: Shape) -> f32 {
    match shape {
        Shape::Ball => std::f32::consts::PI,
        Shape::Cube => 1.8 * 1.8,
        Shape::Triangle => 3f32.sqrt() * 1.1 * 1.1,
    }
}

/// The turns tried: none for a ball, every 15° of a square's quarter turn, every 15° of a
/// triangle's third.
fn turns(shape: Shape) -> Vec<f32> {
    let (steps, span) = match shape {
        Shape::Ball => (1, 0.0),
        Shape::Cube => (6, std::f32::consts::FRAC_PI_2),
        Shape::Triangle => (8, 2.0 * std::f32::consts::FRAC_PI_3),
    };
    (0..steps).map(|i| span * i as f32 / steps as f32).collect()
}

/// The squared difference between a silhouette and `shape` drawn over it at its best turn.
/// `None` for an empty silhouette.
fn misfit(s: &Silhouette, shape: Shape) -> Option<f32> {
    if s.area <= 0.0 {
        return None;
    }
    let (cx, cy) = s.centre;
    let r = (s.area / unit_area(shape)).sqrt();
    turns(shape)
        .into_iter()
        .map(|angle| {
            s.cells
                .iter()
                .map(|&(x, y, a)| {
                    let d = sdf(shape, x as f32 + 0.5 - cx, y as f32 + 0.5 - cy, r, angle);
                    (a - (0.5 - d).clamp(0.0, 1.0)).powi(2)
                })
                .sum::<f32>()
        })
        .min_by(f32::total_cmp)
}

/// The shape that best explains most of the clip's silhouettes (each frame votes for the shape
/// that fits it best; a tie goes to the smaller summed misfit); `None` without any.
pub(super) fn best_shape(frames: &[Silhouette]) -> Option<Shape> {
    let mut votes = [(0usize, 0f32); 3];
    for s in frames {
        let fits: Vec<(usize, f32)> = Shape::ALL
            .iter()
            .enumerate()
            .filter_map(|(k, &shape)| misfit(s, shape).map(|e| (k, e)))
            .collect();
        if let Some(&(k, _)) = fits.iter().min_by(|a, b| a.1.total_cmp(&b.1)) {
            votes[k].0 += 1;
        }
        for (k, e) in fits {
            votes[k].1 += e;
        }
    }
    (0..Shape::ALL.len())
        .filter(|&k| votes[k].0 > 0)
        .min_by(|&a, &b| {
            votes[b]
                .0
                .cmp(&votes[a].0)
                .then(votes[a].1.total_cmp(&votes[b].1))
        })
        .map(|k| Shape::ALL[k])
}
