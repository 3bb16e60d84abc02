//! The spectral mark in memory: embed into synthetic frames, transform them the way platforms
//! do (resize, crop, brightness, flip), and read the payload back; unmarked frames and a wrong
//! key find nothing.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use image::{GrayImage, imageops};
use verity_provenance::marks::{Accumulator, Payload, Signal, SpectralEmbedder, WatermarkKey};

/// A textured frame that drifts with `t`: a few octaves of value noise.
fn frame(w: u32, h: u32, t: u32, seed: u64) -> GrayImage {
    let hash = |x: i64, y: i64, o: u64| -> f32 {
        let mut z = (x as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (y as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
            ^ seed.wrapping_add(o).wrapping_mul(0x1656_67B1_9E37_79F9);
        z ^= z >> 29;
        z = z.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z ^= z >> 32;
        (z % 1000) as f32 / 1000.0
    };
    let noise = |x: f32, y: f32, o: u64| -> f32 {
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let (xi, yi) = (x0 as i64, y0 as i64);
        let a = hash(xi, yi, o) * (1.0 - fx) + hash(xi + 1, yi, o) * fx;
        let b = hash(xi, yi + 1, o) * (1.0 - fx) + hash(xi + 1, yi + 1, o) * fx;
        a * (1.0 - fy) + b * fy
    };
    GrayImage::from_fn(w, h, |x, y| {
        let (x, y) = (x as f32 + 2.0 * t as f32, y as f32 + t as f32);
        let v = 0.5 * noise(x / 64.0, y / 64.0, 1)
            + 0.3 * noise(x / 16.0, y / 16.0, 2)
            + 0.2 * noise(x / 4.0, y / 4.0, 3);
        image::Luma([(40.0 + 170.0 * v) as u8])
    })
}

fn marked_frames(key: &WatermarkKey, payload: Payload, w: u32, h: u32, n: u32) -> Vec<GrayImage> {
    let emb = SpectralEmbedder::new(key, payload, w, h, 2.2).unwrap();
    (0..n)
        .map(|t| {
            let mut f = frame(w, h, t, 5);
            emb.mark_luma(&mut f).unwrap();
            f
        })
        .collect()
}

fn detect(frames: &[GrayImage], keys: &[WatermarkKey]) -> verity_provenance::marks::Detection {
    let mut acc = Accumulator::new();
    for f in frames {
        acc.add(f);
    }
    acc.detect(keys)
}

fn payload() -> Payload {
    Payload::new(0x1F00D, 0x00_C0FF_EE42)
}

#[test]
fn mark_is_read_back_exactly_and_stays_faint() {
    let key = WatermarkKey::default_key();
    let frames = marked_frames(&key, payload(), 480, 270, 8);
    // Faint: the luma error is about 1.5 levels RMS (PSNR about 44.5 dB).
    let clean = frame(480, 270, 0, 5);
    let mse: f64 = clean
        .as_raw()
        .iter()
        .zip(frames[0].as_raw())
        .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
        .sum::<f64>()
        / clean.as_raw().len() as f64;
    let psnr = 10.0 * (255.0f64 * 255.0 / mse).log10();
    assert!(psnr > 43.5 && psnr < 47.0, "PSNR {psnr:.2}");
    let d = detect(&frames, &[key]);
    assert!(d.found, "{d:?}");
    assert_eq!(d.payload, Some(payload()));
    assert!(d.false_positive_bound <= 1e-6);
    // 270 rows: the mark's working grid is 135 rows, the extractor's 270, so the tile appears
    // at twice its nominal period.
    assert!((d.scale - 2.0).abs() < 0.02, "{d:?}");
}

#[test]
fn survives_resize_crop_brightness_and_flip() {
    let key = WatermarkKey::default_key();
    let frames = marked_frames(&key, payload(), 640, 360, 8);
    type Attack = Box<dyn Fn(&GrayImage) -> GrayImage>;
    let attacks: Vec<(&str, Attack)> = vec![
        (
            "resize 0.55",
            Box::new(|f| imageops::resize(f, 352, 198, imageops::FilterType::Triangle)),
        ),
        (
            "centre crop 0.71",
            Box::new(|f| imageops::crop_imm(f, 93, 52, 454, 256).to_image()),
        ),
        (
            "brightness 0.5",
            Box::new(|f| {
                GrayImage::from_fn(f.width(), f.height(), |x, y| {
                    image::Luma([f.get_pixel(x, y).0[0] / 2])
                })
            }),
        ),
        ("flip", Box::new(imageops::flip_horizontal)),
    ];
    for (name, attack) in attacks {
        let attacked: Vec<GrayImage> = frames.iter().map(&attack).collect();
        let d = detect(&attacked, std::slice::from_ref(&key));
        assert!(d.found, "{name}: {d:?}");
        assert_eq!(d.payload, Some(payload()), "{name}");
    }
}

#[test]
fn unmarked_frames_and_wrong_keys_find_nothing() {
    let key = WatermarkKey::default_key();
    let clean: Vec<GrayImage> = (0..8).map(|t| frame(640, 360, t, 9)).collect();
    let d = detect(&clean, std::slice::from_ref(&key));
    assert!(!d.found, "{d:?}");
    assert_eq!(d.signal, Signal::Enough);
    assert!(d.payload.is_none());

    let frames = marked_frames(&key, payload(), 640, 360, 4);
    let other = WatermarkKey::from_bytes([3; 32], "other");
    let d = detect(&frames, &[other]);
    assert!(!d.found, "{d:?}");
}

#[test]
fn too_small_pictures_are_refused_and_reported() {
    let key = WatermarkKey::default_key();
    let err = SpectralEmbedder::new(&key, payload(), 120, 90, 2.2).unwrap_err();
    assert!(err.to_string().contains("too small"), "{err}");
    let d = detect(&[frame(48, 40, 0, 1)], std::slice::from_ref(&key));
    assert!(matches!(d.signal, Signal::NotEnough(_)), "{d:?}");
    let d = detect(&[], &[key]);
    assert!(matches!(d.signal, Signal::NotEnough(_)), "{d:?}");
}
