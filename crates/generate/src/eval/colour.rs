//! Colour: a pixel unmixed from the background behind it into a palette colour and its
//! coverage.

use super::*;

pub(super) fn dist(a: [u8; 3], b: [u8; 3]) -> u32 {
    (0..3).map(|i| u32::from(a[i].abs_diff(b[i]))).sum()
}

/// [`dist`] from an interpolated colour.
pub(super) fn dist_to(a: [f32; 3], b: &[u8]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - f32::from(*y)).abs())
        .sum()
}

pub(super) fn nearest_colour(p: [u8; 3]) -> Color {
    let mut best = (u32::MAX, Color::Gray);
    for &c in Color::ALL {
        let d = dist(p, c.rgb());
        if d < best.0 {
            best = (d, c);
        }
    }
    best.1
}

/// How dark the renderer's shading makes an object's colour at most: its band (0.72) times its
/// shadow (0.75).
pub(super) const DARKEST_SHADE: f32 = 0.54;
/// How far (Euclidean, in levels) a pixel may be from every unmixed palette colour and still
/// count for the nearest.
pub(super) const UNMIX_TOLERANCE: f32 = 40.0;

/// The palette colour (its index in [`Color::ALL`]) and coverage that best explain pixel `p` as
/// that colour, shaded by up to [`DARKEST_SHADE`], covering `bg` in part: `p = a·s·k + (1 − a)·bg`.
/// Shading costs a little, so a colour that matches unshaded wins over a darkened brighter one
/// (brown over orange in shadow). `None` when no colour explains `p` within
/// [`UNMIX_TOLERANCE`].
pub(super) fn unmix(p: [u8; 3], bg: [u8; 3]) -> Option<(usize, f32)> {
    Color::ALL
        .iter()
        .enumerate()
        .flat_map(|(k, &c)| shade_fits(p, bg, c).map(move |(s, r, a)| (r + 25.0 * (1.0 - s), k, a)))
        .min_by(|x, y| x.0.total_cmp(&y.0))
        .map(|(_, k, a)| (k, a))
}

/// For each shade `s` of `colour` the renderer can give (1 down to [`DARKEST_SHADE`], 10
/// steps), the coverage `a` that best explains `p = a·s·colour + (1 − a)·bg` and the residual
/// `r` (Euclidean, in levels): `(s, r, a)`, for the shades with `r` within
/// [`UNMIX_TOLERANCE`].
pub(super) fn shade_fits(
    p: [u8; 3],
    bg: [u8; 3],
    colour: Color,
) -> impl Iterator<Item = (f32, f32, f32)> {
    let p = p.map(f32::from);
    let b = bg.map(f32::from);
    let d: [f32; 3] = [p[0] - b[0], p[1] - b[1], p[2] - b[2]];
    let c = colour.rgb().map(f32::from);
    (0..=9).filter_map(move |step| {
        let s = 1.0 - (1.0 - DARKEST_SHADE) * step as f32 / 9.0;
        let e = [c[0] * s - b[0], c[1] * s - b[1], c[2] * s - b[2]];
        let ee: f32 = e.iter().map(|v| v * v).sum();
        if ee < 1.0 {
            return None;
        }
        let a = (d.iter().zip(&e).map(|(x, y)| x * y).sum::<f32>() / ee).clamp(0.0, 1.0);
        let r: f32 = d
            .iter()
            .zip(&e)
            .map(|(x, y)| (x - a * y).powi(2))
            .sum::<f32>()
            .sqrt();
        (r <= UNMIX_TOLERANCE).then_some((s, r, a))
    })
}

/// The per-channel median of `colours`; `None` when there are none.
pub(super) fn median_colour(colours: &mut [[u8; 3]]) -> Option<[u8; 3]> {
    if colours.is_empty() {
        return None;
    }
    let mid = colours.len() / 2;
    let mut out = [0u8; 3];
    for (ch, o) in out.iter_mut().enumerate() {
        colours.sort_unstable_by_key(|c| c[ch]);
        *o = colours[mid][ch];
    }
    Some(out)
}

/// How much of pixel `p` the colour `target` covers over `bg`, shaded as [`unmix`] allows:
/// `None` when no such mix explains `p` within [`UNMIX_TOLERANCE`].
pub(super) fn unmix_as(p: [u8; 3], bg: [u8; 3], target: Color) -> Option<f32> {
    shade_fits(p, bg, target)
        .min_by(|x, y| x.1.total_cmp(&y.1))
        .map(|(_, _, a)| a)
}
