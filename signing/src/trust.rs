//! The trust store: the anchors (root or intermediate CA certificates) whose chains verity
//! trusts, and an allow-list of individual signing certificates.

use std::path::{Path, PathBuf};

use crate::error::{Result, SigningError};
use crate::profile::{self, CertSummary};
use crate::store::parse_certificates;

/// A certificate and the file it came from.
#[derive(Clone, Debug)]
pub struct TrustedCert {
    pub source: PathBuf,
    pub der: Vec<u8>,
}

/// Trust anchors and allowed end-entity certificates.
#[derive(Clone, Debug, Default)]
pub struct TrustStore {
    anchors: Vec<TrustedCert>,
    allowed: Vec<TrustedCert>,
}

fn is_cert_file(p: &Path) -> bool {
    matches!(
        p.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("pem" | "crt" | "cer" | "der")
    )
}

/// Reads every certificate in a file, or in the certificate files (.pem, .crt, .cer, .der) of a
/// directory.
fn read_certs(path: &Path) -> Result<Vec<TrustedCert>> {
    let meta = std::fs::metadata(path).map_err(|e| SigningError::BadAnchor {
        path: path.to_path_buf(),
        reason: if e.kind() == std::io::ErrorKind::NotFound {
            "no such file or directory".into()
        } else {
            e.to_string()
        },
    })?;
    let files = if meta.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| SigningError::io(path, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && is_cert_file(p))
            .collect();
        v.sort();
        v
    } else {
        vec![path.to_path_buf()]
    };
    let mut out = Vec::new();
    for f in files {
        let bytes = verity_fs::read_bounded(&f, crate::limits::CERT_FILE, "a certificate file")
            .map_err(|e| SigningError::io(&f, e))?;
        let certs = parse_certificates(&bytes).map_err(|reason| SigningError::BadAnchor {
            path: f.clone(),
            reason,
        })?;
        for der in certs {
            profile::describe(&der).map_err(|reason| SigningError::BadAnchor {
                path: f.clone(),
                reason,
            })?;
            out.push(TrustedCert {
                source: f.clone(),
                der,
            });
        }
    }
    Ok(out)
}

impl TrustStore {
    /// An empty store: nothing is trusted.
    pub fn new() -> Self {
        TrustStore::default()
    }

    /// Loads the anchors of a home's `trust/` folder (absent is fine: nothing trusted yet).
    pub fn from_home_dir(trust_dir: &Path) -> Result<Self> {
        let mut s = TrustStore::new();
        if trust_dir.is_dir() {
            s.anchors = read_certs(trust_dir)?;
        }
        Ok(s)
    }

    /// Adds anchors from a file or directory given by the user; a missing path is an error.
    pub fn add_anchors(&mut self, path: &Path) -> Result<()> {
        self.anchors.extend(read_certs(path)?);
        Ok(())
    }

    /// Adds individually allowed signing certificates from a file or directory.
    pub fn add_allowed(&mut self, path: &Path) -> Result<()> {
        self.allowed.extend(read_certs(path)?);
        Ok(())
    }

    pub fn anchors(&self) -> &[TrustedCert] {
        &self.anchors
    }

    pub fn allowed(&self) -> &[TrustedCert] {
        &self.allowed
    }

    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty() && self.allowed.is_empty()
    }

    /// The anchors as one PEM bundle (what c2pa's trust settings take).
    pub fn anchors_pem(&self) -> String {
        to_pem(&self.anchors)
    }

    /// The allow-list as one PEM bundle.
    pub fn allowed_pem(&self) -> String {
        to_pem(&self.allowed)
    }

    /// Summaries of the anchors, for `--json` output and diagnostics.
    pub fn describe_anchors(&self) -> Vec<CertSummary> {
        self.anchors
            .iter()
            .filter_map(|c| profile::describe(&c.der).ok())
            .collect()
    }
}

fn to_pem(certs: &[TrustedCert]) -> String {
    certs
        .iter()
        .map(|c| pem::encode(&pem::Pem::new("CERTIFICATE", c.der.clone())))
        .collect()
}
