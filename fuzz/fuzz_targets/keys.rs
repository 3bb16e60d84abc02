//! Key, certificate-chain, trust-anchor and spectral-mark key files: any bytes give an identity,
//! an anchor, or an error; never a panic.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;

fn file(data: &[u8], suffix: &str) -> Option<tempfile::NamedTempFile> {
    let mut f = tempfile::Builder::new().suffix(suffix).tempfile().ok()?;
    f.write_all(data).ok()?;
    f.flush().ok()?;
    Some(f)
}

fuzz_target!(|data: &[u8]| {
    // The first byte splits the input into a key and a chain.
    let split = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let (key, chain) = data.split_at(split);
    let (Some(k), Some(c)) = (file(key, ".pem"), file(chain, ".pem")) else {
        return;
    };
    let _ = verity_signing::load_signer(k.path(), c.path());
    let _ = verity_signing::load_certificates(c.path());
    let mut trust = verity_signing::TrustStore::new();
    let _ = trust.add_anchors(c.path());
    let _ = trust.add_allowed(c.path());
    let _ = verity_provenance::marks::WatermarkKey::load(k.path());
});
