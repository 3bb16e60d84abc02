//! The watermark extractor on random frames: any sizes and pixels pool and decode to a detection
//! (found or not), never a panic; a detection is consistent with itself.
#![no_main]

use image::GrayImage;
use libfuzzer_sys::fuzz_target;
use verity_provenance::marks::{Accumulator, DetectOptions, WatermarkKey};

fuzz_target!(|data: &[u8]| {
    // Bytes 0..4: the frame size (up to 400x400, so a run stays fast); byte 4: frame count; the
    // rest: pixels, repeated as needed. A frame of another size than the first is skipped.
    if data.len() < 6 {
        return;
    }
    let w = 1 + u32::from(u16::from_le_bytes([data[0], data[1]])) % 400;
    let h = 1 + u32::from(u16::from_le_bytes([data[2], data[3]])) % 400;
    let frames = 1 + usize::from(data[4] % 6);
    let pixels = &data[5..];
    let mut acc = Accumulator::new();
    let mut at = 0usize;
    for f in 0..frames {
        // Every other frame may change size: the accumulator must skip it.
        let (fw, fh) = if f % 2 == 1 && pixels[f % pixels.len()] & 1 == 1 { (h, w) } else { (w, h) };
        let img = GrayImage::from_fn(fw, fh, |_, _| {
            let v = pixels[at % pixels.len()];
            at += 1;
            image::Luma([v])
        });
        acc.add(&img);
    }
    let keys = [WatermarkKey::default_key()];
    let d = acc.detect_with(&keys, DetectOptions { rotation: data[4] & 0x80 != 0, threads: 1 });
    // A mark found carries a payload under the key that read it, and a bound below 1.
    if d.found {
        let p = d.payload.expect("a found mark has a payload");
        assert_eq!(p.issuer, keys[0].issuer_id());
    }
    assert!(d.frames_used <= frames);
});
