//! Criterion benchmark of the verdict: from a trusted manifest with an AI declaration, a found
//! watermark and a found badge to the verdict and its evidence.
//!
//!   cargo bench -p verity-detect --bench verdict

#![allow(clippy::unwrap_used, missing_debug_implementations)] // a benchmark

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use verity_detect::marks::WatermarkSection;
use verity_detect::{C2paSection, decide};
use verity_provenance::manifest::{ActionInfo, ai_declaration};
use verity_provenance::marks::{Detection, Payload, Signal, VisibleDetection};
use verity_provenance::{C2paState, ManifestReport};

fn verdict(c: &mut Criterion) {
    let mut m = ManifestReport::absent();
    m.state = C2paState::Trusted;
    m.actions = vec![ActionInfo {
        action: "c2pa.created".into(),
        digital_source_type: Some(
            "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia".into(),
        ),
        software_agent: None,
    }];
    m.ai_declaration = ai_declaration(&m.actions);
    let section = C2paSection::embedded(m);
    let wm = WatermarkSection::from_detection(&Detection {
        found: true,
        signal: Signal::Enough,
        payload: Some(Payload::new(0xa5d20, 0x7c8e5a21ae)),
        ..Detection::default()
    });
    let badge = VisibleDetection {
        found: true,
        confidence: 0.9,
        frames_used: 20,
    };
    c.bench_function("verdict", |b| {
        b.iter(|| decide(black_box(&section), Some(&wm), Some(&badge), None))
    });
}

criterion_group!(benches, verdict);
criterion_main!(benches);
