//! What the verify tests share: a signing home.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::path::Path;

use verity_signing::{InitOptions, KeyAlg, RingSigner, TrustStore, init_keys, load_home_signer};

/// A home at `home` with an Ed25519 signing identity for "Acme": its signer, and the trust
/// store that trusts it.
pub fn acme_home(home: &Path) -> (RingSigner, TrustStore) {
    init_keys(
        home,
        &InitOptions {
            org: "Acme".into(),
            alg: KeyAlg::Ed25519,
            force: false,
        },
    )
    .unwrap();
    let signer = load_home_signer(home).unwrap();
    let trust = TrustStore::from_home_dir(&home.join("trust")).unwrap();
    (signer, trust)
}
