//! Property tests of key and certificate parsing: any bytes, and PEM armour around any bytes,
//! give an identity, a chain, anchors, or an error; never a panic. (The fuzz target `keys` does
//! the same coverage-guided; these run in every `make test`.)

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::io::Write;

use proptest::prelude::*;
use verity_signing::{TrustStore, load_certificates, load_signer};

fn file(dir: &std::path::Path, name: &str, data: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::File::create(&p).unwrap().write_all(data).unwrap();
    p
}

/// `body` as one PEM block with `label`.
fn pem(label: &str, body: &[u8]) -> Vec<u8> {
    pem::encode(&pem::Pem::new(label, body.to_vec())).into_bytes()
}

fn label() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "CERTIFICATE",
        "PRIVATE KEY",
        "EC PRIVATE KEY",
        "RSA PRIVATE KEY",
        "PUBLIC KEY",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn any_bytes_load_or_fail_cleanly(key in prop::collection::vec(any::<u8>(), 0..512),
                                      chain in prop::collection::vec(any::<u8>(), 0..1024)) {
        let dir = tempfile::tempdir().unwrap();
        let k = file(dir.path(), "key.pem", &key);
        let c = file(dir.path(), "chain.pem", &chain);
        let _ = load_signer(&k, &c);
        let _ = load_certificates(&c);
        let mut t = TrustStore::new();
        let _ = t.add_anchors(&c);
        let _ = t.add_allowed(&c);
    }

    #[test]
    fn pem_armour_around_any_bytes_loads_or_fails_cleanly(
        key_label in label(),
        key in prop::collection::vec(any::<u8>(), 0..300),
        chain_label in label(),
        chain in prop::collection::vec(any::<u8>(), 0..600),
        cut in any::<prop::sample::Index>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let k = file(dir.path(), "key.pem", &pem(key_label, &key));
        let mut c_bytes = pem(chain_label, &chain);
        // Sometimes the block is cut short.
        let n = cut.index(c_bytes.len() + 1);
        if n % 3 == 0 {
            c_bytes.truncate(n);
        }
        let c = file(dir.path(), "chain.pem", &c_bytes);
        let r = load_signer(&k, &c);
        prop_assert!(r.is_err(), "random bytes made a signing identity");
        if let Err(e) = load_certificates(&c) {
            // The error names the file, and says what is wrong in words.
            prop_assert!(!e.to_string().is_empty());
        }
    }
}
