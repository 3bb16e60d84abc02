//! verity's home: the one place that knows where the signing identity, the trust anchors, the
//! watermark key and the manifest repository live. The CLI finds the folder (its flags and
//! environment); the service is given it. Both ask this type for what is in it.
//!
//! ```text
//! keys/signer.key.pem, keys/signer.chain.pem   the signing identity (key mode 0600)
//! keys/ca.key.pem, keys/ca.cert.pem            the CA that `keys init` made
//! keys/watermark.key                           the spectral-mark key (mode 0600)
//! trust/*.pem                                  trust anchors
//! manifests/                                   the manifest repository
//! ```

use std::path::{Path, PathBuf};

use serde::Serialize;
use verity_signing::{CertSummary, InitOptions, InitReport, KeyPaths, RingSigner, TrustStore};

use crate::error::Result;
use crate::marks::WatermarkKey;
use crate::plan::Identity;
use crate::repository::Repository;

/// A home folder and its layout. Nothing is read until asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Home { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the signing identity and its CA are.
    pub fn keys(&self) -> KeyPaths {
        KeyPaths::in_home(&self.root)
    }

    /// The folder of trust anchors.
    pub fn trust_dir(&self) -> PathBuf {
        self.keys().trust_dir
    }

    /// The spectral-mark key's file.
    pub fn watermark_key_path(&self) -> PathBuf {
        self.keys().dir.join("watermark.key")
    }

    /// The manifest repository's folder.
    pub fn repository_path(&self) -> PathBuf {
        self.root.join("manifests")
    }

    /// The trust anchors in the home (none when the folder does not exist).
    pub fn trust(&self) -> Result<TrustStore> {
        Ok(TrustStore::from_home_dir(&self.trust_dir())?)
    }

    /// The home's signing identity.
    pub fn signer(&self) -> Result<RingSigner> {
        Ok(verity_signing::load_home_signer(&self.root)?)
    }

    /// The home's watermark key, when there is one.
    pub fn watermark_key(&self) -> Result<Option<WatermarkKey>> {
        let p = self.watermark_key_path();
        if p.exists() {
            Ok(Some(WatermarkKey::load(&p)?))
        } else {
            Ok(None)
        }
    }

    /// The key stamping marks with: `explicit` (a key file named by the user), else the
    /// home's, else the documented default key.
    pub fn marking_key(&self, explicit: Option<&Path>) -> Result<WatermarkKey> {
        if let Some(p) = explicit {
            return WatermarkKey::load(p);
        }
        Ok(self
            .watermark_key()?
            .unwrap_or_else(WatermarkKey::default_key))
    }

    /// The keys verification tries before the default one: `explicit`'s, then the home's.
    pub fn verifying_keys(&self, explicit: Option<&Path>) -> Result<Vec<WatermarkKey>> {
        let mut keys = Vec::new();
        if let Some(p) = explicit {
            keys.push(WatermarkKey::load(p)?);
        }
        keys.extend(self.watermark_key()?);
        Ok(keys)
    }

    /// Makes the home's watermark key (mode 0600), or keeps the one there unless `replace`:
    /// its path, the key, and whether it was made now.
    pub fn init_watermark_key(&self, replace: bool) -> Result<(PathBuf, WatermarkKey, bool)> {
        let p = self.watermark_key_path();
        if p.exists() && !replace {
            let k = WatermarkKey::load(&p)?;
            return Ok((p, k, false));
        }
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir).map_err(|e| crate::ProvenanceError::io(dir, e))?;
        }
        if replace && p.exists() {
            std::fs::remove_file(&p).map_err(|e| crate::ProvenanceError::io(&p, e))?;
        }
        let k = WatermarkKey::generate()?;
        k.save_new(&p)?;
        Ok((p, k, true))
    }

    /// The repository stamping records into (`explicit`, else the home's), created when
    /// missing; a damaged one is an error.
    pub fn repository_for_stamping(&self, explicit: Option<&Path>) -> Result<Repository> {
        Repository::open_or_create(&self.pick_repository(explicit))
    }

    /// The repository verification searches, if there is one.
    pub fn repository_for_verifying(&self, explicit: Option<&Path>) -> Result<Option<Repository>> {
        Repository::open_existing(&self.pick_repository(explicit))
    }

    fn pick_repository(&self, explicit: Option<&Path>) -> PathBuf {
        explicit.map_or_else(|| self.repository_path(), Path::to_path_buf)
    }
}

/// What making a home's keys made (`keys init --json`): the certificates, and the watermark key.
#[derive(Clone, Debug, Serialize)]
pub struct KeysReport {
    #[serde(flatten)]
    pub certificates: InitReport,
    /// The watermark key's file.
    pub watermark_key: String,
    /// The watermark key's issuer id, 5 hex digits.
    pub watermark_issuer: String,
    /// False when a watermark key was there already and was kept.
    #[serde(skip)]
    pub watermark_key_made: bool,
}

/// A signing identity described (`keys show --json`): its chain, whether it can sign, and the
/// home's trust anchors.
#[derive(Clone, Debug, Serialize)]
pub struct IdentityReport {
    pub chain_file: String,
    pub chain: Vec<CertSummary>,
    /// Where the chain breaks the C2PA certificate profile; empty when it meets it.
    pub profile_problems: Vec<String>,
    /// The key loads and matches the chain, and the chain meets the profile.
    pub usable: bool,
    /// Why not, when not usable.
    pub problem: Option<String>,
    pub trust_anchors: Vec<CertSummary>,
}

impl Home {
    /// Makes the home's signing identity (a root CA and a signing certificate) and its
    /// watermark key; `opts.force` replaces both.
    pub fn init_keys(&self, opts: &InitOptions) -> Result<KeysReport> {
        let certificates = verity_signing::init_keys(&self.root, opts)?;
        let (path, key, made) = self.init_watermark_key(opts.force)?;
        Ok(KeysReport {
            certificates,
            watermark_key: path.display().to_string(),
            watermark_issuer: format!("{:05x}", key.issuer_id()),
            watermark_key_made: made,
        })
    }

    /// Describes `identity`: its chain, read and checked, and whether it can sign (loading the
    /// key proves it matches). A home without keys is an error; a key that does not load is a
    /// finding (`usable: false`).
    pub fn identity_report(&self, identity: &Identity) -> Result<IdentityReport> {
        let chain_path = match identity {
            Identity::Files { chain, .. } => chain.clone(),
            Identity::Home => self.keys().chain(),
        };
        let chain = verity_signing::load_certificates(&chain_path).map_err(|e| match e {
            verity_signing::SigningError::Io { .. } if *identity == Identity::Home => {
                verity_signing::SigningError::NoKeys {
                    dir: self.keys().dir,
                }
            }
            other => other,
        })?;
        let certs = chain
            .iter()
            .map(|d| {
                verity_signing::describe(d).map_err(|reason| {
                    verity_signing::SigningError::BadChain {
                        path: chain_path.clone(),
                        reason,
                    }
                })
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let problems = verity_signing::check_chain_now(&chain);
        let loaded = match identity {
            Identity::Files { key, chain } => verity_signing::load_signer(key, chain).map(|_| ()),
            Identity::Home => self.signer().map(|_| ()).map_err(|e| match e {
                crate::ProvenanceError::Signing(s) => s,
                other => verity_signing::SigningError::BadChain {
                    path: chain_path.clone(),
                    reason: other.to_string(),
                },
            }),
        };
        Ok(IdentityReport {
            chain_file: chain_path.display().to_string(),
            chain: certs,
            profile_problems: problems,
            usable: loaded.is_ok(),
            problem: loaded.err().map(|e| e.to_string()),
            trust_anchors: self.trust()?.describe_anchors(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_is_where_the_readme_says() {
        let h = Home::new("/h");
        assert_eq!(h.keys().signer_key(), Path::new("/h/keys/signer.key.pem"));
        assert_eq!(h.trust_dir(), Path::new("/h/trust"));
        assert_eq!(h.watermark_key_path(), Path::new("/h/keys/watermark.key"));
        assert_eq!(h.repository_path(), Path::new("/h/manifests"));
    }
}
