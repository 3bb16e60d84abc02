//! `verify` on mutated video files: probe, the C2PA reader, the marks (spectral and badge) and
//! the verdict. Any bytes give a report or an error; never a panic, a hang or a huge allocation.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use verity_detect::{VerifyOptions, verify};

fuzz_target!(|data: &[u8]| {
    let Ok(mut f) = tempfile::Builder::new().suffix(".mp4").tempfile() else {
        return;
    };
    if f.write_all(data).is_err() || f.flush().is_err() {
        return;
    }
    let _ = verify(f.path(), &VerifyOptions::default());
});
