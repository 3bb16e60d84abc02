//! keys init, loading identities, the certificate profile, and the trust store.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use c2pa::Signer;
use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};
use verity_signing::{
    InitOptions, KeyAlg, KeyPaths, SERIAL_LEN, SigningError, TrustStore, init_keys,
    load_home_signer, load_signer,
};

#[path = "common/chain.rs"]
mod chain;
use chain::make_chain;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn init_makes_a_usable_identity_and_refuses_to_overwrite() -> anyhow::Result<()> {
    for alg in KeyAlg::ALL {
        let home = tempfile::tempdir()?;
        let opts = InitOptions {
            org: "Acme News".into(),
            alg,
            force: false,
        };
        let r = init_keys(home.path(), &opts)?;
        assert_eq!(mode(&r.signer_key), 0o600);
        assert_eq!(mode(&r.ca_key), 0o600);
        assert!(
            r.trust_anchor.ends_with("trust/acme-news-root.pem"),
            "{}",
            r.trust_anchor.display()
        );
        assert!(r.signer.subject.contains("Acme News C2PA Signer"));
        assert!(!r.signer.is_ca && r.root.is_ca);

        let signer = load_home_signer(home.path())?;
        assert_eq!(signer.alg(), alg);
        assert_eq!(signer.certs()?.len(), 2);
        let sig = signer.sign(b"claim bytes")?;
        // The signature verifies with the certificate's public key (fixed-size r||s for ECDSA).
        let cert = &signer.certs()?[0];
        let (_, x) = x509_parser::parse_x509_certificate(cert)?;
        let pk = x.public_key().subject_public_key.data.to_vec();
        let verify_alg: &dyn ring::signature::VerificationAlgorithm = match alg {
            KeyAlg::Ed25519 => &ring::signature::ED25519,
            KeyAlg::Es256 => &ring::signature::ECDSA_P256_SHA256_FIXED,
            KeyAlg::Es384 => &ring::signature::ECDSA_P384_SHA384_FIXED,
        };
        ring::signature::UnparsedPublicKey::new(verify_alg, pk)
            .verify(b"claim bytes", &sig)
            .unwrap();

        // No overwrite without --force; with it, new keys.
        assert!(matches!(
            init_keys(home.path(), &opts),
            Err(SigningError::KeysExist { .. })
        ));
        let r2 = init_keys(
            home.path(),
            &InitOptions {
                force: true,
                ..opts
            },
        )?;
        assert_ne!(r2.signer.sha256, r.signer.sha256);
        // No temporary files left behind.
        let left: Vec<_> = std::fs::read_dir(home.path().join("keys"))?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("tmp"))
            .collect();
        assert!(left.is_empty());
    }
    Ok(())
}

/// Serial numbers are random, positive and always [`SERIAL_LEN`] bytes, so one organisation's
/// Ed25519 certificates all have the same length. (A serial that DER may shorten, one
/// starting with a zero byte, came up once in 128 certificates before.)
#[test]
fn serial_numbers_are_random_and_of_one_length() -> anyhow::Result<()> {
    let home = tempfile::tempdir()?;
    let mut serials = std::collections::HashSet::new();
    let mut lengths = std::collections::HashSet::new();
    for _ in 0..300 {
        init_keys(
            home.path(),
            &InitOptions {
                org: "Acme".into(),
                alg: KeyAlg::Ed25519,
                force: true,
            },
        )?;
        let chain = load_home_signer(home.path())?.certs()?;
        for (i, der) in chain.iter().enumerate() {
            let (_, x) = x509_parser::parse_x509_certificate(der)?;
            let raw = x.raw_serial();
            assert_eq!(raw.len(), SERIAL_LEN, "{raw:02x?}");
            assert!(raw[0] != 0 && raw[0] < 0x80, "{raw:02x?}");
            assert!(serials.insert(raw.to_vec()), "a serial came twice");
            lengths.insert((i, der.len()));
        }
    }
    assert_eq!(lengths.len(), 2, "one length per position: {lengths:?}");
    Ok(())
}

#[test]
fn missing_and_unreadable_keys() -> anyhow::Result<()> {
    let home = tempfile::tempdir()?;
    let err = load_home_signer(home.path()).unwrap_err();
    assert!(matches!(err, SigningError::NoKeys { .. }));
    // The library says what is wrong; naming the CLI's commands and flags is the CLI's job.
    assert!(err.to_string().starts_with("no signing keys in "), "{err}");
    assert!(!err.to_string().contains("--"), "{err}");

    init_keys(
        home.path(),
        &InitOptions {
            org: "A".into(),
            alg: KeyAlg::Ed25519,
            force: false,
        },
    )?;
    let paths = KeyPaths::in_home(home.path());
    std::fs::write(
        paths.signer_key(),
        "-----BEGIN PRIVATE KEY-----\nnot base64 at all!\n-----END PRIVATE KEY-----\n",
    )?;
    let err = load_home_signer(home.path()).unwrap_err();
    assert!(matches!(err, SigningError::BadKey { .. }), "{err}");
    assert!(
        !err.to_string().contains("not base64"),
        "the key's content must not appear: {err}"
    );
    Ok(())
}

/// Writes a key and a chain made with `leaf` tweaked by `tweak`; `self_signed` skips the CA.
fn problem(tweak: impl FnOnce(&mut CertificateParams), self_signed: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (k, c) = make_chain(dir.path(), tweak, self_signed);
    match load_signer(&k, &c) {
        Err(e @ SigningError::Profile { .. }) => e.to_string(),
        Err(e) => panic!("expected a profile error, got {e}"),
        Ok(_) => panic!("the chain was accepted"),
    }
}

#[test]
fn an_organisations_own_chain_loads_and_each_profile_breach_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let (k, c) = make_chain(dir.path(), |_| {}, false);
    load_signer(&k, &c).unwrap();

    let e = problem(|_| {}, true);
    assert!(e.contains("self-signed"), "{e}");
    let e = problem(|l| l.extended_key_usages.clear(), false);
    assert!(e.contains("no extended key usage"), "{e}");
    let e = problem(
        |l| l.extended_key_usages = vec![ExtendedKeyUsagePurpose::Any],
        false,
    );
    assert!(e.contains("any extended key usage"), "{e}");
    let e = problem(
        |l| l.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth],
        false,
    );
    assert!(e.contains("do not include"), "{e}");
    let e = problem(
        |l| {
            l.not_before = OffsetDateTime::now_utc() - Duration::days(60);
            l.not_after = OffsetDateTime::now_utc() - Duration::days(1);
        },
        false,
    );
    assert!(e.contains("expired on"), "{e}");
    let e = problem(
        |l| l.key_usages = vec![KeyUsagePurpose::KeyEncipherment],
        false,
    );
    assert!(e.contains("digitalSignature"), "{e}");
    let e = problem(|l| l.use_authority_key_identifier_extension = false, false);
    assert!(e.contains("authority key identifier"), "{e}");
    let e = problem(
        |l| l.is_ca = IsCa::Ca(BasicConstraints::Unconstrained),
        false,
    );
    assert!(e.contains("is a CA certificate"), "{e}");
}

#[test]
fn a_key_that_is_not_the_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let (_, c) = make_chain(dir.path(), |_| {}, false);
    let other = dir.path().join("other.pem");
    std::fs::write(
        &other,
        KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .unwrap()
            .serialize_pem(),
    )
    .unwrap();
    let err = load_signer(&other, &c).unwrap_err();
    assert!(matches!(err, SigningError::KeyMismatch { .. }), "{err}");
    assert!(err.to_string().contains("Test Signer"), "{err}");
}

#[test]
fn trust_store_sources() -> anyhow::Result<()> {
    let home = tempfile::tempdir()?;
    // No trust folder yet: empty, not an error.
    assert!(TrustStore::from_home_dir(&home.path().join("trust"))?.is_empty());
    init_keys(
        home.path(),
        &InitOptions {
            org: "A".into(),
            alg: KeyAlg::Es256,
            force: false,
        },
    )?;
    let store = TrustStore::from_home_dir(&home.path().join("trust"))?;
    assert_eq!(store.anchors().len(), 1);
    assert!(
        store
            .anchors_pem()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    // A missing --trust path is an error that names it.
    let mut s = TrustStore::new();
    let err = s.add_anchors(&home.path().join("nope")).unwrap_err();
    assert!(
        err.to_string().contains("no such file or directory"),
        "{err}"
    );
    // A file that is not a certificate is refused.
    let junk = home.path().join("junk.pem");
    std::fs::write(&junk, "hello")?;
    assert!(s.add_anchors(&junk).is_err());
    Ok(())
}

/// A chain whose second certificate is cut mid-block used to load without it; key, chain and
/// trust files that are devices, FIFOs or huge are refused before they are read.
#[test]
fn damaged_or_hostile_key_and_chain_files_are_refused() -> anyhow::Result<()> {
    let home = tempfile::tempdir()?;
    let opts = InitOptions {
        org: "Acme News".into(),
        alg: KeyAlg::Ed25519,
        force: false,
    };
    let r = init_keys(home.path(), &opts)?;
    let paths = KeyPaths::in_home(home.path());
    let chain = std::fs::read_to_string(paths.chain())?;
    let second = chain.rfind("-----BEGIN").unwrap();
    let cut = home.path().join("cut-chain.pem");
    std::fs::write(&cut, &chain[..second + (chain.len() - second) / 2])?;
    let err = load_signer(&r.signer_key, &cut).unwrap_err().to_string();
    assert!(err.contains("cut short"), "{err}");

    let fifo = home.path().join("key.fifo");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes())?;
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    for (key, chain_path, want) in [
        (fifo.as_path(), paths.chain(), "a FIFO"),
        (Path::new("/dev/zero"), paths.chain(), "a character device"),
        (
            r.signer_key.as_path(),
            Path::new("/dev/zero").to_path_buf(),
            "a character device",
        ),
    ] {
        let err = load_signer(key, &chain_path).unwrap_err();
        let text = format!(
            "{err}: {}",
            std::error::Error::source(&err)
                .map(|s| s.to_string())
                .unwrap_or_default()
        );
        assert!(text.contains(want), "{text}");
    }
    let big = home.path().join("big.pem");
    std::fs::write(&big, vec![b'A'; 5 << 20])?;
    let mut trust = TrustStore::new();
    let err = trust.add_anchors(&big).unwrap_err();
    let text = format!(
        "{err}: {}",
        std::error::Error::source(&err)
            .map(|s| s.to_string())
            .unwrap_or_default()
    );
    assert!(text.contains("more than the"), "{text}");
    let err = trust.add_anchors(Path::new("/dev/zero")).unwrap_err();
    assert!(format!("{err:?}").contains("character device"), "{err:?}");
    Ok(())
}
