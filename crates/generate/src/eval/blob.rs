//! Blobs: the 8-connected parts of a mask, and an object's silhouette.

use super::*;

/// A frame's object for the shape measure: the window two pixels around its blob, each pixel
/// with how much of it the object covers. The background behind the object cannot come from the
/// median (an object that moves little is part of it), so it is the median of the window's rim
/// outside the blob; each pixel is unmixed as the asked colour, shaded as the renderer shades,
/// over that. Pixels no such mix explains (another object, the texture) are left out.
pub(super) fn silhouette(part: &[usize], frame: &RgbImage, target: Color) -> shape::Silhouette {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let (xs, ys) = (part.iter().map(|i| i % w), part.iter().map(|i| i / w));
    let (bx0, bx1) = (xs.clone().min().unwrap_or(0), xs.max().unwrap_or(0));
    let (by0, by1) = (ys.clone().min().unwrap_or(0), ys.max().unwrap_or(0));
    let (x0, x1) = (bx0.saturating_sub(2), (bx1 + 2).min(w - 1));
    let (y0, y1) = (by0.saturating_sub(2), (by1 + 2).min(h - 1));
    let px = |x: usize, y: usize| {
        let p = frame.get_pixel(x as u32, y as u32);
        [p[0], p[1], p[2]]
    };
    let window: Vec<(usize, usize)> = (y0..=y1)
        .flat_map(|y| (x0..=x1).map(move |x| (x, y)))
        .collect();
    let mut rim: Vec<[u8; 3]> = window
        .iter()
        .filter(|&&(x, y)| x + 1 < bx0 || x > bx1 + 1 || y + 1 < by0 || y > by1 + 1)
        .map(|&(x, y)| px(x, y))
        .collect();
    let Some(behind) = median_colour(&mut rim) else {
        return shape::Silhouette::new(Vec::new());
    };
    let cells = window
        .into_iter()
        .filter_map(|(x, y)| {
            let a = unmix_as(px(x, y), behind, target)?;
            Some((x, y, a))
        })
        .collect();
    shape::Silhouette::new(cells)
}

/// The 8-connected blobs of a `w` x `h` mask, each as its pixels' indices.
pub(super) fn blobs_of(mask: &[bool], w: usize, h: usize) -> Vec<Vec<usize>> {
    let mut seen = vec![false; mask.len()];
    let mut out = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        let (mut blob, mut todo) = (Vec::new(), vec![start]);
        while let Some(i) = todo.pop() {
            blob.push(i);
            for j in neighbours(i, w, h) {
                if mask.get(j) == Some(&true) && !seen[j] {
                    seen[j] = true;
                    todo.push(j);
                }
            }
        }
        out.push(blob);
    }
    out
}

/// The up to 8 pixels around pixel `i` of a `w` x `h` frame.
pub(super) fn neighbours(i: usize, w: usize, h: usize) -> impl Iterator<Item = usize> {
    let (x, y) = ((i % w) as isize, (i / w) as isize);
    (-1..=1)
        .flat_map(|dy| (-1..=1).map(move |dx| (dx, dy)))
        .filter(|&d| d != (0, 0))
        .map(move |(dx, dy)| (x + dx, y + dy))
        .filter(move |&(nx, ny)| nx >= 0 && ny >= 0 && nx < w as isize && ny < h as isize)
        .map(move |(nx, ny)| ny as usize * w + nx as usize)
}
