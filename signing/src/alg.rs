//! The signature algorithms verity signs with.

use std::str::FromStr;

use crate::error::SigningError;

/// A signing algorithm: the key type and its COSE algorithm.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyAlg {
    /// Ed25519 (COSE EdDSA).
    #[default]
    Ed25519,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// ECDSA on P-384 with SHA-384.
    Es384,
}

impl KeyAlg {
    pub const ALL: [KeyAlg; 3] = [KeyAlg::Ed25519, KeyAlg::Es256, KeyAlg::Es384];

    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlg::Ed25519 => "ed25519",
            KeyAlg::Es256 => "es256",
            KeyAlg::Es384 => "es384",
        }
    }

    pub fn c2pa(self) -> c2pa::SigningAlg {
        match self {
            KeyAlg::Ed25519 => c2pa::SigningAlg::Ed25519,
            KeyAlg::Es256 => c2pa::SigningAlg::Es256,
            KeyAlg::Es384 => c2pa::SigningAlg::Es384,
        }
    }

    pub(crate) fn rcgen(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            KeyAlg::Ed25519 => &rcgen::PKCS_ED25519,
            KeyAlg::Es256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyAlg::Es384 => &rcgen::PKCS_ECDSA_P384_SHA384,
        }
    }
}

impl std::fmt::Display for KeyAlg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyAlg {
    type Err = SigningError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyAlg::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| SigningError::InvalidOption {
                name: "algorithm",
                value: s.into(),
                allowed: "ed25519, es256 or es384".into(),
            })
    }
}
