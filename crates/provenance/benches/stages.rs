//! Criterion micro-benchmarks of the hot stages, each on its own (the end-to-end figures against
//! peers are in `benches/*.sh` and docs/benchmarks.md):
//!
//! - `mark/embed`: the spectral mark added to one 640x360 luma frame;
//! - `mark/visible`: the badge drawn on one 640x360 RGB frame;
//! - `mark/pool`: one 640x360 frame pooled into the extractor;
//! - `mark/extract`: reading the payload from 30 pooled marked frames (default key);
//! - `c2pa/sign` and `c2pa/read`: a manifest signed into, and validated from, a 1-second clip.
//!
//!   cargo bench -p verity-provenance --bench stages

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_debug_implementations
)] // a benchmark

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use image::{GrayImage, RgbImage};
use verity_media::{ColorSpec, Picture, Rational, VideoFrame};
use verity_provenance::marks::{
    Accumulator, Payload, SpectralEmbedder, VisibleMarker, VisibleOptions, WatermarkKey,
};

const W: u32 = 640;
const H: u32 = 360;

/// A textured frame (the mark adapts to texture, so flat frames would flatter it).
fn frame(t: u32) -> GrayImage {
    GrayImage::from_fn(W, H, |x, y| {
        let v = ((x * 7 + y * 13 + t * 5) % 97) as f32 / 97.0;
        let w = (((x / 8) ^ (y / 8)) % 5) as f32 / 5.0;
        image::Luma([(40.0 + 120.0 * v + 50.0 * w) as u8])
    })
}

fn marks(c: &mut Criterion) {
    let key = WatermarkKey::default_key();
    let payload = Payload::new(key.issuer_id(), 0x00_C0FF_EE42);
    let emb = SpectralEmbedder::new(&key, payload, W, H, 2.2).unwrap();
    let base = frame(0);
    c.bench_function("mark/embed", |b| {
        b.iter_batched_ref(
            || base.clone(),
            |f| emb.mark_luma(black_box(f)).unwrap(),
            criterion::BatchSize::SmallInput,
        )
    });

    let badge = VisibleMarker::new(&VisibleOptions::new("verity bench"), W, H).unwrap();
    let rgb = RgbImage::from_fn(W, H, |x, y| {
        image::Rgb([(x % 255) as u8, (y % 255) as u8, 90])
    });
    let video_frame = VideoFrame {
        index: 12,
        pts: 12,
        time_base: Rational::new(1, 24),
        color: ColorSpec::guess_for_height(H),
        picture: Picture::Rgb(rgb),
    };
    c.bench_function("mark/visible", |b| {
        b.iter_batched_ref(
            || video_frame.clone(),
            |f| badge.apply(black_box(f)).unwrap(),
            criterion::BatchSize::SmallInput,
        )
    });

    let marked: Vec<GrayImage> = (0..30)
        .map(|t| {
            let mut f = frame(t);
            emb.mark_luma(&mut f).unwrap();
            f
        })
        .collect();
    c.bench_function("mark/pool", |b| {
        b.iter_batched_ref(
            Accumulator::new,
            |acc| acc.add(black_box(&marked[0])),
            criterion::BatchSize::SmallInput,
        )
    });
    let mut acc = Accumulator::new();
    for f in &marked {
        acc.add(f);
    }
    let keys = [key];
    let mut group = c.benchmark_group("mark");
    group.sample_size(10);
    group.bench_function("extract", |b| {
        b.iter(|| {
            let d = acc.detect(black_box(&keys));
            assert!(d.found);
            d
        })
    });
    group.finish();
}

fn c2pa(c: &mut Criterion) {
    use verity_provenance::{ManifestSpec, Origin, read_manifest, sign_file};
    use verity_signing::{InitOptions, KeyAlg, TrustStore, init_keys, load_home_signer};

    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    init_keys(
        &home,
        &InitOptions {
            org: "Bench".into(),
            alg: KeyAlg::Es256,
            force: false,
        },
    )
    .unwrap();
    let signer = load_home_signer(&home).unwrap();
    let trust = TrustStore::from_home_dir(&home.join("trust")).unwrap();
    let clip = dir.path().join("clip.mp4");
    let status = std::process::Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-nostdin",
            "-y",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg("testsrc2=s=320x240:r=30:d=1")
        .args(["-pix_fmt", "yuv420p"])
        .arg(&clip)
        .status()
        .unwrap();
    assert!(status.success());
    let spec = ManifestSpec::new(
        "clip.mp4",
        Origin::Existing {
            source: clip.clone(),
        },
    );
    let out = dir.path().join("signed.mp4");
    let mut group = c.benchmark_group("c2pa");
    group.sample_size(20);
    group.bench_function("sign", |b| {
        b.iter(|| sign_file(&clip, &out, &spec, &signer, &trust).unwrap())
    });
    group.bench_function("read", |b| {
        b.iter(|| {
            let r = read_manifest(black_box(&out), &trust).unwrap();
            assert_eq!(r.state, verity_provenance::C2paState::Trusted);
            r
        })
    });
    group.finish();
}

criterion_group!(benches, marks, c2pa);
criterion_main!(benches);
