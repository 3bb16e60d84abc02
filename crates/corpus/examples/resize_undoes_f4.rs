//! How much of F4's synthesis survives the evaluation's 0.5× resize of a 128-pixel clip.
//!
//! F4 brings a real frame down to 1/2 or 1/4 of the canonical size and up again with a learned
//! super-resolution network (`arms::esrgan`). The resize attack then halves the result. For
//! each photograph of the real sources (its canonical view, as the photo arm starts from) this
//! prints how far F4's frame is from the real frame before the attack and after both are
//! halved (PSNR in dB; higher is closer), beside a plain Catmull-Rom upscale of the same small
//! frame (the `bicubic` arm's kind, not AI): whether the resize turns F4 into the real frame, or
//! into the non-AI upscale, or leaves it apart from both. PSNR is a distance, not a detector: it
//! bounds what the attack erases, not what a classifier can see.
//!
//! `cargo run --release --example resize_undoes_f4 -p verity-corpus [SOURCES]`
//! (SOURCES: `.cache/detector/sources`, from `scripts/fetch-detector-data.sh`.)

use std::path::PathBuf;

use image::{RgbImage, imageops};
use verity_corpus::upscaler::Upscalers;
use verity_detect::classifier::canon;

fn psnr(a: &RgbImage, b: &RgbImage) -> f64 {
    let se: f64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum();
    let mse = se / a.as_raw().len().max(1) as f64;
    if mse == 0.0 {
        return f64::INFINITY;
    }
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

fn resize(img: &RgbImage, side: u32, filter: imageops::FilterType) -> RgbImage {
    imageops::resize(img, side, side, filter)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sources = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from(".cache/detector/sources"), PathBuf::from);
    let ups = Upscalers::load(&sources)?;
    let mut photos: Vec<PathBuf> = std::fs::read_dir(sources.join("photo"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    photos.sort();
    let half = canon::SIZE / 2;
    println!(
        "| photo | factor | F4 vs real, 128 px | after 0.5x | bicubic vs real, 128 px | after 0.5x |"
    );
    println!("|---|---|---|---|---|---|");
    let mut sums = [[0.0f64; 4]; 2];
    for path in &photos {
        let real = canon::view(&image::open(path)?.to_rgb8());
        let real_half = resize(&real, half, imageops::FilterType::CatmullRom);
        for (k, net) in [&ups.x2, &ups.x4].into_iter().enumerate() {
            let small = resize(
                &real,
                canon::SIZE / net.scale as u32,
                imageops::FilterType::Triangle,
            );
            let f4 = net.upscale(&small)?;
            let plain = resize(&small, canon::SIZE, imageops::FilterType::CatmullRom);
            let row = [
                psnr(&f4, &real),
                psnr(
                    &resize(&f4, half, imageops::FilterType::CatmullRom),
                    &real_half,
                ),
                psnr(&plain, &real),
                psnr(
                    &resize(&plain, half, imageops::FilterType::CatmullRom),
                    &real_half,
                ),
            ];
            for (s, v) in sums[k].iter_mut().zip(row) {
                *s += v;
            }
            println!(
                "| {} | ×{} | {:.1} | {:.1} | {:.1} | {:.1} |",
                path.file_stem().unwrap_or_default().to_string_lossy(),
                net.scale,
                row[0],
                row[1],
                row[2],
                row[3]
            );
        }
    }
    let n = photos.len().max(1) as f64;
    for (k, s) in sums.iter().enumerate() {
        println!(
            "| mean of {} | ×{} | {:.1} | {:.1} | {:.1} | {:.1} |",
            photos.len(),
            [2, 4][k],
            s[0] / n,
            s[1] / n,
            s[2] / n,
            s[3] / n
        );
    }
    Ok(())
}
