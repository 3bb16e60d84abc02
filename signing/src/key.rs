//! Private keys: PKCS#8 (PEM or DER) and SEC1 `EC PRIVATE KEY` PEM, for Ed25519, P-256 and P-384.
//!
//! Nothing here ever formats key bytes: errors describe the format, never the content.

use std::path::Path;

use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use x509_parser::pem::Pem;

use crate::alg::KeyAlg;
use crate::error::{Result, SigningError};

/// A private key, ready to sign.
pub(crate) enum PrivateKey {
    Ed25519(Ed25519KeyPair),
    Ecdsa(EcdsaKeyPair, KeyAlg),
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey({}, redacted)", self.alg())
    }
}

impl PrivateKey {
    pub(crate) fn alg(&self) -> KeyAlg {
        match self {
            PrivateKey::Ed25519(_) => KeyAlg::Ed25519,
            PrivateKey::Ecdsa(_, alg) => *alg,
        }
    }

    /// The raw public key: 32 bytes for Ed25519, the uncompressed point for ECDSA; the same
    /// bytes a certificate's SubjectPublicKeyInfo holds.
    pub(crate) fn public_key(&self) -> &[u8] {
        match self {
            PrivateKey::Ed25519(k) => k.public_key().as_ref(),
            PrivateKey::Ecdsa(k, _) => k.public_key().as_ref(),
        }
    }
}

/// Reads and parses a private key file.
pub(crate) fn load_private_key(path: &Path) -> Result<PrivateKey> {
    let bytes = verity_fs::read_bounded(path, crate::limits::KEY_FILE, "a private key")
        .map_err(|e| SigningError::io(path, e))?;
    parse_private_key(&bytes).map_err(|reason| SigningError::BadKey {
        path: path.to_path_buf(),
        reason,
    })
}

/// Parses a private key; the error is a plain-words reason.
pub(crate) fn parse_private_key(bytes: &[u8]) -> std::result::Result<PrivateKey, String> {
    if bytes.is_empty() {
        return Err("the file is empty".into());
    }
    if !bytes.starts_with(b"-----BEGIN") && !bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        return from_pkcs8(bytes);
    }
    for pem in Pem::iter_from_buffer(bytes) {
        let pem = pem.map_err(|_| "the PEM text is damaged".to_string())?;
        match pem.label.as_str() {
            "PRIVATE KEY" => return from_pkcs8(&pem.contents),
            "EC PRIVATE KEY" => return from_sec1(&pem.contents),
            "ENCRYPTED PRIVATE KEY" => {
                return Err(
                    "the key is encrypted; verity needs an unencrypted PKCS#8 key \
                            (`openssl pkcs8 -in KEY -out PLAIN.pem` decrypts it; keep it mode 0600)"
                        .into(),
                );
            }
            "RSA PRIVATE KEY" => {
                return Err("RSA keys are not supported; use Ed25519, ECDSA P-256 or P-384".into());
            }
            _ => continue, // e.g. a certificate in the same file
        }
    }
    Err("no private key found (expected a `PRIVATE KEY` or `EC PRIVATE KEY` PEM block)".into())
}

fn from_pkcs8(der: &[u8]) -> std::result::Result<PrivateKey, String> {
    if let Ok(k) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
        return Ok(PrivateKey::Ed25519(k));
    }
    let rng = ring::rand::SystemRandom::new();
    if let Ok(k) =
        EcdsaKeyPair::from_pkcs8(&ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
    {
        return Ok(PrivateKey::Ecdsa(k, KeyAlg::Es256));
    }
    if let Ok(k) =
        EcdsaKeyPair::from_pkcs8(&ring::signature::ECDSA_P384_SHA384_FIXED_SIGNING, der, &rng)
    {
        return Ok(PrivateKey::Ecdsa(k, KeyAlg::Es384));
    }
    Err("not an Ed25519, ECDSA P-256 or ECDSA P-384 key in PKCS#8 form".into())
}

/// A SEC1 `ECPrivateKey`, wrapped into PKCS#8 for each supported curve until one parses.
fn from_sec1(der: &[u8]) -> std::result::Result<PrivateKey, String> {
    // id-ecPublicKey, then the named curves P-256 and P-384.
    const EC_PUBLIC_KEY: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    const P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    const P384: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
    for curve in [P256, P384] {
        let alg_id = der_tlv(0x30, &[EC_PUBLIC_KEY, curve].concat());
        let body = [&[0x02, 0x01, 0x00][..], &alg_id, &der_tlv(0x04, der)].concat();
        if let Ok(k) = from_pkcs8(&der_tlv(0x30, &body)) {
            return Ok(k);
        }
    }
    Err("not an ECDSA P-256 or P-384 key in SEC1 form".into())
}

/// One DER tag-length-value.
fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_algorithm_and_refuses_junk() {
        for alg in KeyAlg::ALL {
            let kp = rcgen::KeyPair::generate_for(alg.rcgen()).unwrap_or_else(|e| panic!("{e}"));
            let pem = kp.serialize_pem();
            let k = parse_private_key(pem.as_bytes()).unwrap_or_else(|e| panic!("{alg}: {e}"));
            assert_eq!(k.alg(), alg);
            assert_eq!(k.public_key(), kp.public_key_raw());
            // DER PKCS#8 too.
            let k = parse_private_key(&kp.serialize_der()).unwrap_or_else(|e| panic!("{alg}: {e}"));
            assert_eq!(k.alg(), alg);
        }
        for junk in [
            &b""[..],
            b"hello",
            b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
        ] {
            assert!(parse_private_key(junk).is_err());
        }
    }

    #[test]
    fn debug_never_shows_the_key() {
        let kp =
            rcgen::KeyPair::generate_for(KeyAlg::Ed25519.rcgen()).unwrap_or_else(|e| panic!("{e}"));
        let k = parse_private_key(kp.serialize_pem().as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(format!("{k:?}"), "PrivateKey(ed25519, redacted)");
    }
}
