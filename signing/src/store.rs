//! The signing identity kept in verity's home: making it (`keys init`) and loading it.
//!
//! Layout under `VERITY_HOME`:
//!
//! ```text
//! keys/ca.key.pem        root CA private key, PKCS#8, mode 0600
//! keys/ca.cert.pem       root CA certificate
//! keys/signer.key.pem    signing private key, PKCS#8, mode 0600
//! keys/signer.cert.pem   signing (leaf) certificate
//! keys/signer.chain.pem  leaf then root: what goes into each manifest
//! trust/<org>-root.pem   the root, as a trust anchor, so your own clips verify as trusted
//! ```

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, SerialNumber,
};
use ring::rand::{SecureRandom, SystemRandom};
use time::{Duration, OffsetDateTime};

use crate::alg::KeyAlg;
use crate::error::{Result, SigningError};
use crate::key::{PrivateKey, load_private_key};
use crate::profile::{self, CertSummary};
use crate::signer::RingSigner;

/// Where the identity's files live inside a home directory.
#[derive(Clone, Debug)]
pub struct KeyPaths {
    pub dir: PathBuf,
    pub trust_dir: PathBuf,
}

impl KeyPaths {
    pub fn in_home(home: &Path) -> Self {
        KeyPaths {
            dir: home.join("keys"),
            trust_dir: home.join("trust"),
        }
    }
    pub fn ca_key(&self) -> PathBuf {
        self.dir.join("ca.key.pem")
    }
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("ca.cert.pem")
    }
    pub fn signer_key(&self) -> PathBuf {
        self.dir.join("signer.key.pem")
    }
    pub fn signer_cert(&self) -> PathBuf {
        self.dir.join("signer.cert.pem")
    }
    pub fn chain(&self) -> PathBuf {
        self.dir.join("signer.chain.pem")
    }
    /// The trust anchor file for an organisation's root.
    pub fn anchor_for(&self, org: &str) -> PathBuf {
        let slug: String = org
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        self.trust_dir
            .join(format!("{}-root.pem", slug.trim_matches('-')))
    }
}

/// Options of `keys init`.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// The organisation named in both certificates.
    pub org: String,
    pub alg: KeyAlg,
    /// Replace existing keys.
    pub force: bool,
}

/// What `keys init` made.
#[derive(Clone, Debug, serde::Serialize)]
pub struct InitReport {
    pub signer_key: PathBuf,
    pub chain: PathBuf,
    pub ca_key: PathBuf,
    pub trust_anchor: PathBuf,
    pub signer: CertSummary,
    pub root: CertSummary,
}

/// The length of every serial number `keys init` writes: RFC 5280's most.
pub const SERIAL_LEN: usize = 20;

/// A random positive serial number of exactly [`SERIAL_LEN`] bytes in DER.
///
/// The first byte is kept in 0x40..=0x7f: below 0x80 so the integer is positive without a padding
/// byte, and non-zero so DER cannot shorten it. The serial then never changes a certificate's
/// length: one organisation's Ed25519 certificates all have the same length (ECDSA signatures
/// still vary by a byte or two). 158 of its bits are unpredictable (RFC 5280 asks for at least
/// 64).
fn serial_number() -> Result<SerialNumber> {
    let mut bytes = [0u8; SERIAL_LEN];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| SigningError::Generate("the system random source failed".into()))?;
    bytes[0] = (bytes[0] & 0x3f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

/// Makes a root CA and a signing certificate issued by it, and writes them into `home`.
pub fn init_keys(home: &Path, opts: &InitOptions) -> Result<InitReport> {
    let org = opts.org.trim();
    if org.is_empty() || org.len() > 64 || org.chars().any(char::is_control) {
        return Err(SigningError::InvalidOption {
            name: "organisation",
            value: opts.org.clone(),
            allowed: "1 to 64 printable characters".into(),
        });
    }
    let paths = KeyPaths::in_home(home);
    if paths.signer_key().exists() && !opts.force {
        return Err(SigningError::KeysExist { dir: paths.dir });
    }
    let now = OffsetDateTime::now_utc();
    let failed = |e: rcgen::Error| SigningError::Generate(e.to_string());

    let root_key = KeyPair::generate_for(opts.alg.rcgen()).map_err(failed)?;
    let mut root = CertificateParams::default();
    root.distinguished_name = dn(org, &format!("{org} C2PA Root CA"));
    root.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    root.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    root.key_identifier_method = KeyIdMethod::Sha256;
    root.not_before = now - Duration::hours(1);
    root.not_after = now + Duration::days(3650);
    root.serial_number = Some(serial_number()?);
    let root_cert = root.self_signed(&root_key).map_err(failed)?;

    let leaf_key = KeyPair::generate_for(opts.alg.rcgen()).map_err(failed)?;
    let mut leaf = CertificateParams::default();
    leaf.distinguished_name = dn(org, &format!("{org} C2PA Signer"));
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::Other(vec![1, 3, 6, 1, 4, 1, 62558, 2, 1]),
        ExtendedKeyUsagePurpose::EmailProtection,
    ];
    leaf.use_authority_key_identifier_extension = true;
    leaf.key_identifier_method = KeyIdMethod::Sha256;
    leaf.not_before = now - Duration::hours(1);
    leaf.not_after = now + Duration::days(730);
    leaf.serial_number = Some(serial_number()?);
    let issuer = Issuer::new(root, root_key);
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).map_err(failed)?;

    let chain = vec![leaf_cert.der().to_vec(), root_cert.der().to_vec()];
    let problems = profile::check_chain(&chain, now);
    if !problems.is_empty() {
        return Err(SigningError::Profile { problems });
    }

    create_dir(&paths.dir, 0o700)?;
    create_dir(&paths.trust_dir, 0o755)?;
    let anchor = paths.anchor_for(org);
    write_file(&paths.ca_key(), issuer_key_pem(&issuer).as_bytes(), 0o600)?;
    write_file(&paths.ca_cert(), root_cert.pem().as_bytes(), 0o644)?;
    write_file(
        &paths.signer_key(),
        leaf_key.serialize_pem().as_bytes(),
        0o600,
    )?;
    write_file(&paths.signer_cert(), leaf_cert.pem().as_bytes(), 0o644)?;
    write_file(
        &paths.chain(),
        format!("{}{}", leaf_cert.pem(), root_cert.pem()).as_bytes(),
        0o644,
    )?;
    write_file(&anchor, root_cert.pem().as_bytes(), 0o644)?;

    Ok(InitReport {
        signer_key: paths.signer_key(),
        chain: paths.chain(),
        ca_key: paths.ca_key(),
        trust_anchor: anchor,
        signer: profile::describe(leaf_cert.der()).map_err(SigningError::Generate)?,
        root: profile::describe(root_cert.der()).map_err(SigningError::Generate)?,
    })
}

fn issuer_key_pem(issuer: &Issuer<'_, KeyPair>) -> String {
    issuer.key().serialize_pem()
}

fn dn(org: &str, cn: &str) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    d.push(DnType::OrganizationName, org);
    d.push(DnType::CommonName, cn);
    d
}

fn create_dir(dir: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)
        .map_err(|e| SigningError::io(dir, e))
}

/// Writes a file whole: a private key (`mode` 0600) with that mode from its creation and
/// synced; anything else readable as usual.
pub(crate) fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let written = if mode & 0o077 == 0 {
        verity_fs::write_private(path, bytes)
    } else {
        verity_fs::write_whole(path, bytes)
    };
    written.map_err(|e| SigningError::io(path, e))
}

/// Reads a PEM bundle (or one DER certificate) into DER certificates, in file order.
pub fn load_certificates(path: &Path) -> Result<Vec<Vec<u8>>> {
    let bytes = verity_fs::read_bounded(path, crate::limits::CERT_FILE, "a certificate chain")
        .map_err(|e| SigningError::io(path, e))?;
    parse_certificates(&bytes).map_err(|reason| SigningError::BadChain {
        path: path.to_path_buf(),
        reason,
    })
}

pub(crate) fn parse_certificates(bytes: &[u8]) -> std::result::Result<Vec<Vec<u8>>, String> {
    if bytes.is_empty() {
        return Err("the file is empty".into());
    }
    if !bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        profile::describe(bytes)?;
        return Ok(vec![bytes.to_vec()]);
    }
    let blocks = pem::parse_many(bytes).map_err(|e| format!("the PEM text is damaged ({e})"))?;
    // A block cut short (no END line) is skipped by the PEM parser: count the BEGIN lines, so
    // that a chain missing its tail is refused instead of loading without it.
    let begun = bytes
        .split(|&b| b == b'\n')
        .filter(|line| line.trim_ascii_start().starts_with(b"-----BEGIN "))
        .count();
    if begun != blocks.len() {
        return Err(format!(
            "the PEM text is damaged: {begun} blocks begin but only {} end (a block is cut short)",
            blocks.len()
        ));
    }
    let certs: Vec<Vec<u8>> = blocks
        .into_iter()
        .filter(|p| p.tag() == "CERTIFICATE")
        .map(|p| p.into_contents())
        .collect();
    if certs.is_empty() {
        return Err("no CERTIFICATE block found".into());
    }
    Ok(certs)
}

/// Loads a signing identity: checks that the key belongs to the first certificate and that the
/// chain meets the C2PA profile now.
pub fn load_signer(key_path: &Path, chain_path: &Path) -> Result<RingSigner> {
    let key = load_private_key(key_path)?;
    let chain = load_certificates(chain_path)?;
    signer_from_parts(key, chain, chain_path)
}

fn signer_from_parts(
    key: PrivateKey,
    chain: Vec<Vec<u8>>,
    chain_path: &Path,
) -> Result<RingSigner> {
    let Some((subject, public)) = chain.first().and_then(|c| profile::public_key_bytes(c)) else {
        return Err(SigningError::BadChain {
            path: chain_path.to_path_buf(),
            reason: "the first certificate cannot be parsed".into(),
        });
    };
    if public != key.public_key() {
        return Err(SigningError::KeyMismatch { subject });
    }
    let problems = profile::check_chain(&chain, OffsetDateTime::now_utc());
    if !problems.is_empty() {
        return Err(SigningError::Profile { problems });
    }
    Ok(RingSigner::new(key, chain))
}

/// Loads the identity that `keys init` wrote into `home`.
pub fn load_home_signer(home: &Path) -> Result<RingSigner> {
    let paths = KeyPaths::in_home(home);
    if !paths.signer_key().is_file() || !paths.chain().is_file() {
        return Err(SigningError::NoKeys { dir: paths.dir });
    }
    load_signer(&paths.signer_key(), &paths.chain())
}
