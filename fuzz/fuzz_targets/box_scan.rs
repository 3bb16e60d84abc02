//! The MP4 box scan that explains why FFmpeg could not open a file: any bytes end the scan,
//! with no panic and no loop (a 64-bit size that wrapped around once hung it).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut cursor = std::io::Cursor::new(data);
    let _ = verity_media::demux::scan_boxes(&mut cursor, data.len() as u64);
});
