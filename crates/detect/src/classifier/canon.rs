//! The canonical view: what the classifier looks at, for training clips and suspect files alike.
//!
//! Every clip of every arm of the training data is encoded once at this size, rate and length
//! (H.264, CRF 23, preset medium, no marks), so that nothing but the content tells the arms
//! apart. A suspect file is brought to the same view (size and framing) by the same function
//! before it is scored, but not through the same encode: its own compression stays, which the
//! training data does not cover (see the model card).

use image::{RgbImage, imageops};

/// Side of the square canonical frame, in pixels.
pub const SIZE: u32 = 128;
/// Canonical frame rate.
pub const FPS: u32 = 24;
/// Frames in a canonical clip (2 s).
pub const FRAMES: usize = 48;
/// The canonical encode's constant rate factor.
pub const CRF: u8 = 23;

/// The centre square of `img` (the largest that fits), resized to [`SIZE`] with a triangle
/// (area-like) filter. A frame already at the canonical size is returned unchanged.
pub fn view(img: &RgbImage) -> RgbImage {
    let (w, h) = img.dimensions();
    if w == SIZE && h == SIZE {
        return img.clone();
    }
    let side = w.min(h).max(1);
    let crop = imageops::crop_imm(img, (w - side) / 2, (h - side) / 2, side, side).to_image();
    // A large frame is first averaged over k × k blocks (k = side / SIZE / 2, so that the
    // triangle filter still sees at least two source pixels per output pixel): the same
    // low-pass, at a fraction of the cost of a wide filter over a 1080p frame.
    let k = side / SIZE / 2;
    let crop = if k >= 2 { box_shrink(&crop, k) } else { crop };
    imageops::resize(&crop, SIZE, SIZE, imageops::FilterType::Triangle)
}

/// `img` averaged over `k` × `k` blocks (the right and bottom remainders dropped).
fn box_shrink(img: &RgbImage, k: u32) -> RgbImage {
    let (w, h) = (img.width() / k, img.height() / k);
    let area = k * k;
    RgbImage::from_fn(w, h, |x, y| {
        let mut sum = [0u32; 3];
        for dy in 0..k {
            for dx in 0..k {
                let p = img.get_pixel(x * k + dx, y * k + dy);
                for c in 0..3 {
                    sum[c] += u32::from(p[c]);
                }
            }
        }
        image::Rgb(sum.map(|s| ((s + area / 2) / area) as u8))
    })
}

/// The square window of side `side` at (`x`, `y`) of `img`, resized to the canonical size: the
/// data's pans and zooms over photographs and crops of real footage.
pub fn window(img: &RgbImage, x: u32, y: u32, side: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    let side = side.clamp(1, w.min(h).max(1));
    let (x, y) = (x.min(w - side), y.min(h - side));
    let crop = imageops::crop_imm(img, x, y, side, side).to_image();
    if side == SIZE {
        crop
    } else {
        imageops::resize(&crop, SIZE, SIZE, imageops::FilterType::Triangle)
    }
}
