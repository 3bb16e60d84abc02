//! The spectral mark in memory: embed into synthetic frames, transform them the way platforms
//! do (resize, crop, brightness, flip), and read the payload back; unmarked frames and a wrong
//! key find nothing.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use image::{GrayImage, imageops};
use verity_provenance::marks::spectral::{ALGORITHM, MIN_COARSE_GAIN, SSIM_TARGET};
use verity_provenance::marks::{
    Accumulator, DetectOptions, Geometry, Payload, Signal, SpectralEmbedder, WatermarkKey,
};

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
    mark(
        key,
        payload,
        2.2,
        (0..n).map(|t| frame(w, h, t, 5)).collect(),
    )
}

/// `pictures` (all of one size) with the spectral mark of the given strength.
fn mark(
    key: &WatermarkKey,
    payload: Payload,
    strength: f32,
    mut pictures: Vec<GrayImage>,
) -> Vec<GrayImage> {
    let (w, h) = pictures[0].dimensions();
    let emb = SpectralEmbedder::new(key, payload, w, h, strength).unwrap();
    for f in &mut pictures {
        emb.mark_luma(f).unwrap();
    }
    pictures
}

fn detect(frames: &[GrayImage], keys: &[WatermarkKey]) -> verity_provenance::marks::Detection {
    let mut acc = Accumulator::new();
    for f in frames {
        acc.add(f);
    }
    acc.detect(keys)
}

/// A payload for the default key, which every test here marks with: a mark carries its key's
/// issuer id.
fn payload() -> Payload {
    Payload::new(WatermarkKey::default_key().issuer_id(), 0x00_C0FF_EE42)
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
    assert_eq!(d.algorithm, Some(ALGORITHM));
    assert!(d.false_positive_bound <= 1e-6);
    // 270 rows: the mark's working grid is 135 rows, the extractor's 270, so the tile appears
    // at twice its nominal period.
    assert!((d.scale - 2.0).abs() < 0.02, "{d:?}");
}

type Attack = Box<dyn Fn(&GrayImage) -> GrayImage>;

/// What platforms do to a 640×360 video: a 0.55 resize, a 0.71 centre crop, half the
/// brightness, a mirror.
fn platform_attacks() -> Vec<(&'static str, Attack)> {
    vec![
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
    ]
}

/// Each attack on every frame; the payload must still be read exactly, within the bound.
fn assert_read_after(frames: &[GrayImage], key: &WatermarkKey, attacks: Vec<(&str, Attack)>) {
    for (name, attack) in attacks {
        let attacked: Vec<GrayImage> = frames.iter().map(&attack).collect();
        let d = detect(&attacked, std::slice::from_ref(key));
        assert!(d.found, "{name}: {d:?}");
        assert_eq!(d.payload, Some(payload()), "{name}");
        assert!(d.false_positive_bound <= 1e-6, "{name}");
    }
}

#[test]
fn survives_resize_crop_brightness_and_flip() {
    let key = WatermarkKey::default_key();
    let frames = marked_frames(&key, payload(), 640, 360, 8);
    assert_read_after(&frames, &key, platform_attacks());
}

/// A flat picture, like graphics or an animation: a gentle gradient with flat boxes that move
/// with `t`.
fn graphics(w: u32, h: u32, t: u32) -> GrayImage {
    GrayImage::from_fn(w, h, |x, y| {
        let ground = 60.0 + 80.0 * x as f32 / w as f32 + 20.0 * y as f32 / h as f32;
        let boxes = [
            (40 + 3 * t, 50, 120, 90, 200.0),
            (300, 150 + 2 * t, 150, 120, 30.0),
        ];
        let v = boxes
            .iter()
            .find(|&&(bx, by, bw, bh, _)| x >= bx && x < bx + bw && y >= by && y < by + bh)
            .map_or(ground, |b| b.4);
        image::Luma([v as u8])
    })
}

/// SSIM of two luma planes as ffmpeg's `ssim` filter computes it: 8×8 windows every 4 pixels.
fn ssim(a: &GrayImage, b: &GrayImage) -> f64 {
    let (w, h) = a.dimensions();
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let (mut sum, mut n) = (0.0, 0.0);
    for y0 in (0..h - 7).step_by(4) {
        for x0 in (0..w - 7).step_by(4) {
            let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for y in y0..y0 + 8 {
                for x in x0..x0 + 8 {
                    let (p, q) = (
                        f64::from(a.get_pixel(x, y).0[0]),
                        f64::from(b.get_pixel(x, y).0[0]),
                    );
                    sa += p;
                    sb += q;
                    saa += p * p;
                    sbb += q * q;
                    sab += p * q;
                }
            }
            let (ma, mb) = (sa / 64.0, sb / 64.0);
            let (va, vb, cov) = (
                saa / 64.0 - ma * ma,
                sbb / 64.0 - mb * mb,
                sab / 64.0 - ma * mb,
            );
            sum += (2.0 * ma * mb + c1) * (2.0 * cov + c2)
                / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            n += 1.0;
        }
    }
    sum / n
}

#[test]
fn flat_pictures_get_the_coarse_geometry_and_keep_their_ssim() {
    let key = WatermarkKey::default_key();
    let first = graphics(640, 360, 0);
    let fine = SpectralEmbedder::new(&key, payload(), 640, 360, 2.2).unwrap();
    let chosen = SpectralEmbedder::for_first_frame(&key, payload(), 2.2, &first).unwrap();
    assert_eq!(chosen.geometry(), Geometry::Coarse);
    // The prediction that chose it agrees with SSIM measured the way ffmpeg does.
    for emb in [&fine, &chosen] {
        let mut marked = first.clone();
        emb.mark_luma(&mut marked).unwrap();
        let (measured, predicted) = (ssim(&first, &marked), emb.predicted_ssim(&first).unwrap());
        assert!(
            (measured - f64::from(predicted)).abs() < 0.004,
            "{:?}: measured {measured:.4}, predicted {predicted:.4}",
            emb.geometry()
        );
    }
    // The fine mark would miss the target by far; the coarse one, turned down a little, meets
    // it, and stays strong enough to read.
    let cost = |emb: &SpectralEmbedder| 1.0 - f64::from(emb.predicted_ssim(&first).unwrap());
    assert!(
        cost(&fine) > 0.015,
        "the fine mark costs {:.4}",
        cost(&fine)
    );
    assert!(
        (MIN_COARSE_GAIN..1.0).contains(&chosen.gain()),
        "gain {}",
        chosen.gain()
    );
    let mut marked = first.clone();
    chosen.mark_luma(&mut marked).unwrap();
    let kept = ssim(&first, &marked);
    assert!(kept >= f64::from(SSIM_TARGET) - 0.002, "SSIM {kept:.4}");
    let frames: Vec<GrayImage> = (0..8)
        .map(|t| {
            let mut f = graphics(640, 360, t);
            chosen.mark_luma(&mut f).unwrap();
            f
        })
        .collect();
    assert_eq!(
        detect(&frames, std::slice::from_ref(&key)).payload,
        Some(payload())
    );
    // A busy picture masks the fine pattern, which then stays.
    let textured = dots(640, 360);
    let emb = SpectralEmbedder::for_first_frame(&key, payload(), 2.2, &textured).unwrap();
    assert_eq!(emb.geometry(), Geometry::Fine);
    // The coarse tile (256 pixels) does not fit in a 320×200 picture, flat or not.
    let small = graphics(320, 200, 0);
    let emb = SpectralEmbedder::for_first_frame(&key, payload(), 2.2, &small).unwrap();
    assert_eq!(emb.geometry(), Geometry::Fine);
}

#[test]
fn coarse_marks_survive_compression_like_loss_resize_crop_and_brightness() {
    let key = WatermarkKey::default_key();
    let emb =
        SpectralEmbedder::with_geometry(&key, payload(), 640, 360, 2.2, Geometry::Coarse).unwrap();
    assert_eq!(emb.geometry(), Geometry::Coarse);
    let frames: Vec<GrayImage> = (0..8)
        .map(|t| {
            let mut f = graphics(640, 360, t);
            emb.mark_luma(&mut f).unwrap();
            f
        })
        .collect();
    let mut attacks: Vec<(&str, Attack)> = vec![
        ("none", Box::new(GrayImage::clone)),
        (
            // Fine detail gone, as a harsh encoder leaves it: down to an eighth and back.
            "eighth-size round trip",
            Box::new(|f| {
                let small = imageops::resize(f, 80, 45, imageops::FilterType::Triangle);
                imageops::resize(&small, 640, 360, imageops::FilterType::Triangle)
            }),
        ),
    ];
    attacks.extend(platform_attacks());
    assert_read_after(&frames, &key, attacks);
    // The fine mark does not survive the eighth-size round trip on the same picture.
    let fine = SpectralEmbedder::new(&key, payload(), 640, 360, 2.2).unwrap();
    let blurred: Vec<GrayImage> = (0..8)
        .map(|t| {
            let mut f = graphics(640, 360, t);
            fine.mark_luma(&mut f).unwrap();
            let small = imageops::resize(&f, 80, 45, imageops::FilterType::Triangle);
            imageops::resize(&small, 640, 360, imageops::FilterType::Triangle)
        })
        .collect();
    assert!(!detect(&blurred, &[key]).found);
}

/// `f` turned clockwise by `deg` degrees about its centre, as ffmpeg's `rotate` filter does
/// (bilinear; the corners it uncovers are black).
fn rotate_clockwise(f: &GrayImage, deg: f32) -> GrayImage {
    let (sin, cos) = deg.to_radians().sin_cos();
    let (w, h) = f.dimensions();
    let (cx, cy) = ((w as f32 - 1.0) / 2.0, (h as f32 - 1.0) / 2.0);
    let px = |x: f32, y: f32| -> f32 {
        if x < 0.0 || y < 0.0 || x >= w as f32 || y >= h as f32 {
            0.0
        } else {
            f.get_pixel(x as u32, y as u32).0[0] as f32
        }
    };
    GrayImage::from_fn(w, h, |x, y| {
        // The source of an output pixel lies the same angle the other way.
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        let (sx, sy) = (cx + cos * dx + sin * dy, cy - sin * dx + cos * dy);
        let (x0, y0) = (sx.floor(), sy.floor());
        let (fx, fy) = (sx - x0, sy - y0);
        let v = (1.0 - fy) * ((1.0 - fx) * px(x0, y0) + fx * px(x0 + 1.0, y0))
            + fy * ((1.0 - fx) * px(x0, y0 + 1.0) + fx * px(x0 + 1.0, y0 + 1.0));
        image::Luma([v.round().clamp(0.0, 255.0) as u8])
    })
}

#[test]
fn rotated_marks_are_found_only_when_rotations_are_searched() {
    let key = WatermarkKey::default_key();
    let keys = std::slice::from_ref(&key);
    let frames = marked_frames(&key, payload(), 640, 360, 8);
    let with_rotation = DetectOptions {
        rotation: true,
        ..DetectOptions::default()
    };
    // 7.5° lies between two searched angles, the worst case for the 1° grid.
    for deg in [7.5f32, -10.0] {
        let mut acc = Accumulator::new();
        for f in &frames {
            acc.add(&rotate_clockwise(f, deg));
        }
        let upright = acc.detect(keys);
        assert!(!upright.found, "{deg}°, no rotation search: {upright:?}");
        let d = acc.detect_with(keys, with_rotation);
        assert!(d.found, "{deg}°: {d:?}");
        assert_eq!(d.payload, Some(payload()), "{deg}°");
        assert!(
            (d.rotation - deg).abs() <= 1.0,
            "{deg}°: found at {}",
            d.rotation
        );
        assert!(d.false_positive_bound <= 1e-6);
    }
    // An unmarked rotated video still finds nothing, and the bound counts every decode tried.
    let mut acc = Accumulator::new();
    for t in 0..8 {
        acc.add(&rotate_clockwise(&frame(640, 360, t, 9), 7.5));
    }
    let d = acc.detect_with(keys, with_rotation);
    assert!(!d.found, "{d:?}");
    assert!(d.decodes <= 2 * verity_provenance::marks::extract::MAX_WORDS);
    assert!((d.false_positive_bound - d.decodes as f64 * 2f64.powi(-31)).abs() < 1e-15);
}

#[test]
fn strong_marks_are_read_too() {
    // The extractor's filter leaves out neighbours more than 4 levels away; a mark signed with
    // a high --strength swings further than that and must still be read.
    let key = WatermarkKey::default_key();
    for strength in [8.0, 32.0] {
        let pictures = (0..4).map(|t| frame(480, 270, t, 5)).collect();
        let frames = mark(&key, payload(), strength, pictures);
        let d = detect(&frames, std::slice::from_ref(&key));
        assert_eq!(d.payload, Some(payload()), "strength {strength}: {d:?}");
    }
}

/// A hard-edged picture: bright dots scattered over a black ground, the same in every frame
/// (as in a cellular automaton that has settled). A linear high-pass smears every dot over the
/// flat pixels around it and buries the mark; the extractor's edge-preserving filter does not.
fn dots(w: u32, h: u32) -> GrayImage {
    let mut z = 0x2545_F491_4F6C_DD1Du64;
    GrayImage::from_fn(w, h, |_, _| {
        z ^= z << 13;
        z ^= z >> 7;
        z ^= z << 17;
        image::Luma([if z % 100 < 15 { 235 } else { 16 }])
    })
}

#[test]
fn mark_is_read_on_a_hard_edged_picture() {
    let key = WatermarkKey::default_key();
    let frames = mark(
        &key,
        payload(),
        2.2,
        (0..4).map(|_| dots(480, 270)).collect(),
    );
    let d = detect(&frames, std::slice::from_ref(&key));
    assert!(d.found, "{d:?}");
    assert_eq!(d.payload, Some(payload()));
    let clean: Vec<GrayImage> = (0..4).map(|_| dots(480, 270)).collect();
    assert!(!detect(&clean, &[key]).found);
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
fn a_payload_of_another_issuer_is_refused() {
    // The reader decodes only words with its key's issuer, so such a mark could never be read.
    let key = WatermarkKey::default_key();
    let other = Payload::new(key.issuer_id() ^ 1, 0x00_C0FF_EE42);
    let err = SpectralEmbedder::new(&key, other, 640, 360, 2.2).unwrap_err();
    assert!(err.to_string().contains("issuer id"), "{err}");
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

fn video_frame(luma: GrayImage, index: u64) -> verity_media::VideoFrame {
    verity_media::VideoFrame {
        index,
        pts: index as i64,
        time_base: verity_media::Rational::new(1, 10),
        color: verity_media::ColorSpec::guess_for_height(luma.height()),
        picture: verity_media::Picture::Gray(luma),
    }
}

#[test]
fn the_badge_moves_and_is_detected_also_after_a_resize_but_not_on_clean_frames() {
    use verity_provenance::marks::{VisibleDetector, VisibleMarker, VisibleOptions};
    let (w, h) = (640, 360);
    let marker = VisibleMarker::new(&VisibleOptions::new("Test Studio"), w, h).unwrap();
    let mut marked = Vec::new();
    for i in 0..20u64 {
        let mut f = video_frame(frame(w, h, i as u32, 7), i * 5);
        marker.apply(&mut f).unwrap();
        marked.push(f);
    }
    // It moves: the first and a later frame differ from the clean picture in different places.
    let changed = |f: &verity_media::VideoFrame, t: u32| -> (u32, u32) {
        let clean = frame(w, h, t, 7);
        let luma = f.luma().unwrap();
        let diff: Vec<(u32, u32)> = luma
            .enumerate_pixels()
            .filter(|(x, y, p)| p.0[0] != clean.get_pixel(*x, *y).0[0])
            .map(|(x, y, _)| (x, y))
            .collect();
        let k = diff.len().max(1) as u32;
        (
            diff.iter().map(|d| d.0).sum::<u32>() / k,
            diff.iter().map(|d| d.1).sum::<u32>() / k,
        )
    };
    let a = changed(&marked[0], 0);
    let b = changed(&marked[19], 19);
    assert!(a.0.abs_diff(b.0) + a.1.abs_diff(b.1) > 20, "{a:?} {b:?}");

    let detect = |frames: &[(GrayImage, f64)]| {
        let mut d = VisibleDetector::new();
        for (l, t) in frames {
            d.add(l, *t);
        }
        d.finish()
    };
    let plain: Vec<(GrayImage, f64)> = marked
        .iter()
        .map(|f| (f.luma().unwrap().clone(), f.time_s()))
        .collect();
    assert!(detect(&plain).found, "{:?}", detect(&plain));
    let small: Vec<(GrayImage, f64)> = plain
        .iter()
        .map(|(l, t)| {
            (
                imageops::resize(l, 352, 198, imageops::FilterType::Triangle),
                *t,
            )
        })
        .collect();
    let d = detect(&small);
    assert!(d.found, "{d:?}");
    let clean: Vec<(GrayImage, f64)> = (0..20u64)
        .map(|i| (frame(w, h, i as u32, 7), i as f64 * 0.5))
        .collect();
    let d = detect(&clean);
    assert!(!d.found, "{d:?}");
}

#[test]
fn the_badge_is_found_on_frames_taller_than_the_detector_grid() {
    // 540 rows: the detector searches a 360-row downscale; the badge must still be found there,
    // and not on the same frames without it.
    use verity_provenance::marks::{VisibleDetector, VisibleMarker, VisibleOptions};
    let (w, h) = (960, 540);
    let marker = VisibleMarker::new(&VisibleOptions::new("Test Studio"), w, h).unwrap();
    let mut marked = VisibleDetector::new();
    let mut clean = VisibleDetector::new();
    for i in 0..10u64 {
        let picture = frame(w, h, i as u32, 5);
        let mut f = video_frame(picture.clone(), i * 5);
        marker.apply(&mut f).unwrap();
        marked.add(f.luma().unwrap(), f.time_s());
        clean.add(&picture, f.time_s());
    }
    let (m, c) = (marked.finish(), clean.finish());
    assert!(m.found && m.confidence > 0.8, "{m:?}");
    assert!(!c.found, "{c:?}");
}

#[test]
fn the_stamper_chooses_the_geometry_on_the_first_frame_with_content() {
    use verity_provenance::marks::{MarkOptions, SpectralOptions, Stamper};
    let opts = MarkOptions {
        visible: None,
        spectral: Some(SpectralOptions {
            key: WatermarkKey::default_key(),
            payload: payload(),
            strength: 2.2,
        }),
    };
    let black = || GrayImage::new(640, 360);
    // Black leader frames, then graphics: the graphics choose the coarse cells, and the
    // leader's frames got the fine mark meanwhile.
    let stamper = Stamper::new(&opts, 640, 360).unwrap();
    let mut first = video_frame(black(), 0);
    stamper.mark(&mut first).unwrap();
    assert_eq!(stamper.spectral_shape(), Some((Geometry::Fine, 1.0)));
    let fine =
        SpectralEmbedder::new(&WatermarkKey::default_key(), payload(), 640, 360, 2.2).unwrap();
    let mut expect = black();
    fine.mark_luma(&mut expect).unwrap();
    assert_eq!(first.luma().unwrap(), &expect);
    let mut frames: Vec<GrayImage> = Vec::new();
    for t in 1..9 {
        let mut f = video_frame(graphics(640, 360, t), u64::from(t));
        stamper.mark(&mut f).unwrap();
        frames.push(f.luma().unwrap().clone());
    }
    let (geometry, gain) = stamper.spectral_shape().unwrap();
    assert_eq!(geometry, Geometry::Coarse);
    assert!((MIN_COARSE_GAIN..=1.0).contains(&gain), "{gain}");
    // A later busy frame does not change the choice.
    let mut busy = video_frame(dots(640, 360), 9);
    stamper.mark(&mut busy).unwrap();
    assert_eq!(stamper.spectral_shape().unwrap().0, Geometry::Coarse);
    let d = detect(&frames, &[WatermarkKey::default_key()]);
    assert_eq!(d.payload, Some(payload()), "{d:?}");

    // A faint gradient (a standard deviation of about 2 levels) is content, not a leader: the
    // flattest picture there is, and the coarse cells suit it.
    let stamper = Stamper::new(&opts, 640, 360).unwrap();
    let faint = GrayImage::from_fn(640, 360, |x, _| image::Luma([120 + (x / 80) as u8]));
    stamper.mark(&mut video_frame(faint, 0)).unwrap();
    assert_eq!(stamper.spectral_shape().unwrap().0, Geometry::Coarse);

    // A busy first frame keeps the fine cells.
    let stamper = Stamper::new(&opts, 640, 360).unwrap();
    let mut f = video_frame(dots(640, 360), 0);
    stamper.mark(&mut f).unwrap();
    assert_eq!(stamper.spectral_shape(), Some((Geometry::Fine, 1.0)));
}
