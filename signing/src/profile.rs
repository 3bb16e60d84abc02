//! The C2PA certificate profile, checked with x509-parser before signing, in plain words.
//!
//! c2pa enforces the same rules when a manifest is validated; checking them first turns a
//! cryptic validation failure later into a clear refusal now.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::FromDer;

/// The C2PA claim-signing extended key usage.
pub const OID_C2PA_CLAIM_SIGNING: &str = "1.3.6.1.4.1.62558.2.1";
/// id-kp-documentSigning (RFC 9336).
pub const OID_DOCUMENT_SIGNING: &str = "1.3.6.1.5.5.7.3.36";
const OID_ED25519: &str = "1.3.101.112";
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";

/// What `verity keys show` prints about a certificate.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CertSummary {
    pub subject: String,
    pub issuer: String,
    /// `ed25519`, `ecdsa-p256`, `ecdsa-p384` or the key's OID.
    pub key: String,
    pub not_before: String,
    pub not_after: String,
    /// SHA-256 of the DER certificate, hex.
    pub sha256: String,
    pub is_ca: bool,
}

/// A short name for a certificate in messages: its common name, else the whole subject.
fn name_of(cert: &X509Certificate<'_>) -> String {
    cert.subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| cert.subject().to_string())
}

fn key_kind(cert: &X509Certificate<'_>) -> String {
    let spki = cert.public_key();
    let alg = spki.algorithm.algorithm.to_id_string();
    if alg == OID_ED25519 {
        return "ed25519".into();
    }
    if alg == OID_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .map(|o| o.to_id_string())
            .unwrap_or_default();
        return match curve.as_str() {
            OID_P256 => "ecdsa-p256".into(),
            OID_P384 => "ecdsa-p384".into(),
            other => format!("ecdsa on curve {other}"),
        };
    }
    format!("key type {alg}")
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// Describes one DER certificate.
pub fn describe(der: &[u8]) -> Result<CertSummary, String> {
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| format!("not a valid X.509 certificate ({e})"))?;
    Ok(CertSummary {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        key: key_kind(&cert),
        not_before: rfc3339(cert.validity().not_before.to_datetime()),
        not_after: rfc3339(cert.validity().not_after.to_datetime()),
        sha256: hex(&Sha256::digest(der)),
        is_ca: cert.is_ca(),
    })
}

/// The subject of a certificate (DER) and its common name, for naming a signer to people: the
/// badge text and reports. `None` when the bytes are not a certificate.
pub fn subject_names(der: &[u8]) -> Option<(String, Option<String>)> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string);
    Some((cert.subject().to_string(), cn))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The raw public key of a certificate (what a private key's public half must equal).
pub(crate) fn public_key_bytes(der: &[u8]) -> Option<(String, Vec<u8>)> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    Some((
        name_of(&cert),
        cert.public_key().subject_public_key.data.to_vec(),
    ))
}

/// Checks a chain (DER, signing certificate first) against the C2PA profile at time `now`.
/// Returns every problem found, in plain words; an empty list means the chain can sign.
pub fn check_chain(chain: &[Vec<u8>], now: OffsetDateTime) -> Vec<String> {
    let mut problems = Vec::new();
    let mut certs = Vec::new();
    for (i, der) in chain.iter().enumerate() {
        match X509Certificate::from_der(der) {
            Ok((_, c)) => certs.push(c),
            Err(e) => problems.push(format!(
                "certificate {} of the chain cannot be parsed ({e})",
                i + 1
            )),
        }
    }
    if !problems.is_empty() {
        return problems;
    }
    let Some(leaf) = certs.first() else {
        return vec!["the chain holds no certificate".into()];
    };
    let n = name_of(leaf);

    // The signing certificate itself.
    if leaf.is_ca() {
        problems.push(format!(
            "`{n}` is a CA certificate; C2PA signs with an end-entity certificate issued by a CA"
        ));
    }
    if leaf.subject() == leaf.issuer() && leaf.verify_signature(None).is_ok() {
        problems.push(format!(
            "`{n}` is self-signed; C2PA never trusts a self-signed signing certificate \
             (`verity keys init` makes a CA and a signing certificate issued by it)"
        ));
    }
    match leaf.key_usage() {
        Ok(Some(ku)) if ku.value.digital_signature() => {}
        Ok(Some(_)) => problems.push(format!(
            "the key usage of `{n}` does not include digitalSignature"
        )),
        Ok(None) => problems.push(format!(
            "`{n}` has no key usage extension; C2PA needs digitalSignature"
        )),
        Err(e) => problems.push(format!("the key usage of `{n}` is malformed ({e})")),
    }
    let allowed = "C2PA claim signing (1.3.6.1.4.1.62558.2.1), emailProtection or documentSigning";
    match leaf.extended_key_usage() {
        Ok(Some(eku)) => {
            let e = eku.value;
            let other: Vec<String> = e.other.iter().map(|o| o.to_id_string()).collect();
            if e.any {
                problems.push(format!(
                    "`{n}` allows any extended key usage, which C2PA refuses; it needs {allowed}"
                ));
            } else if !(e.email_protection
                || other
                    .iter()
                    .any(|o| o == OID_C2PA_CLAIM_SIGNING || o == OID_DOCUMENT_SIGNING))
            {
                problems.push(format!(
                    "the extended key usages of `{n}` do not include {allowed}"
                ));
            }
        }
        Ok(None) => problems.push(format!(
            "`{n}` has no extended key usage; C2PA requires one of {allowed}"
        )),
        Err(e) => problems.push(format!(
            "the extended key usage of `{n}` is malformed ({e})"
        )),
    }
    if !has_extension(leaf, |e| {
        matches!(e, ParsedExtension::AuthorityKeyIdentifier(_))
    }) {
        problems.push(format!(
            "`{n}` has no authority key identifier, which C2PA requires"
        ));
    }
    let kind = key_kind(leaf);
    if !matches!(kind.as_str(), "ed25519" | "ecdsa-p256" | "ecdsa-p384") {
        problems.push(format!(
            "`{n}` holds a {kind}; verity signs with Ed25519, ECDSA P-256 or ECDSA P-384"
        ));
    }

    // Every certificate: validity; every CA: an SKI; every link: issuer name and signature.
    for (i, c) in certs.iter().enumerate() {
        let cn = name_of(c);
        let v = c.validity();
        if now > v.not_after.to_datetime() {
            problems.push(format!(
                "`{cn}` expired on {}",
                rfc3339(v.not_after.to_datetime())
            ));
        } else if now < v.not_before.to_datetime() {
            problems.push(format!(
                "`{cn}` is not valid until {}",
                rfc3339(v.not_before.to_datetime())
            ));
        }
        if i > 0 {
            if !c.is_ca() {
                problems.push(format!(
                    "`{cn}` issues certificates in the chain but is not a CA"
                ));
            }
            if !has_extension(c, |e| matches!(e, ParsedExtension::SubjectKeyIdentifier(_))) {
                problems.push(format!(
                    "the CA `{cn}` has no subject key identifier, which C2PA requires"
                ));
            }
        }
        if let Some(issuer) = certs.get(i + 1) {
            if c.issuer() != issuer.subject() {
                problems.push(format!(
                    "`{cn}` was issued by `{}`, but the next certificate in the chain is `{}` \
                     (the chain must run from the signing certificate up to the root)",
                    c.issuer(),
                    issuer.subject()
                ));
            } else if c.verify_signature(Some(issuer.public_key())).is_err() {
                problems.push(format!(
                    "the signature on `{cn}` does not verify with `{}`'s key",
                    name_of(issuer)
                ));
            }
        }
    }
    problems
}

fn has_extension(cert: &X509Certificate<'_>, want: impl Fn(&ParsedExtension<'_>) -> bool) -> bool {
    cert.iter_extensions().any(|e| want(e.parsed_extension()))
}

/// [`check_chain`] at the current time.
pub fn check_chain_now(chain: &[Vec<u8>]) -> Vec<String> {
    check_chain(chain, OffsetDateTime::now_utc())
}
