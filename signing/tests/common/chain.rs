//! A signing identity made with rcgen, shared by the tests that need a chain verity did not
//! make: a root CA and a leaf whose subject is only a common name (no Organization), written as
//! `key.pem`, `chain.pem` (leaf, then root) and `root.pem` in `dir`.

#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

/// `tweak` edits the leaf's parameters; `self_signed` makes the leaf sign itself instead.
pub fn make_chain(
    dir: &Path,
    tweak: impl FnOnce(&mut CertificateParams),
    self_signed: bool,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let now = OffsetDateTime::now_utc();
    let mut ca = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Test Root");
    ca.distinguished_name = dn;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.key_identifier_method = KeyIdMethod::Sha256;
    ca.not_before = now - Duration::days(1);
    ca.not_after = now + Duration::days(365);
    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();

    let mut leaf = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Test Signer");
    leaf.distinguished_name = dn;
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::EmailProtection];
    leaf.use_authority_key_identifier_extension = true;
    leaf.not_before = now - Duration::days(1);
    leaf.not_after = now + Duration::days(30);
    tweak(&mut leaf);
    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let chain_pem = if self_signed {
        leaf.self_signed(&leaf_key).unwrap().pem()
    } else {
        let issuer = Issuer::new(ca, ca_key);
        format!(
            "{}{}",
            leaf.signed_by(&leaf_key, &issuer).unwrap().pem(),
            ca_cert.pem()
        )
    };
    let (k, c) = (dir.join("key.pem"), dir.join("chain.pem"));
    std::fs::write(&k, leaf_key.serialize_pem()).unwrap();
    std::fs::write(&c, chain_pem).unwrap();
    std::fs::write(dir.join("root.pem"), ca_cert.pem()).unwrap();
    (k, c)
}
