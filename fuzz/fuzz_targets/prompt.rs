//! The prompt parser: any text gives a scene or an error naming the problem.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(spec) = verity_generate::parse(text) {
            // A parsed scene's canonical prompt parses back into the same scene.
            let again = verity_generate::parse(&spec.canonical_prompt());
            assert_eq!(again.ok(), Some(spec));
        }
    }
});
