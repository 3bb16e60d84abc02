//! Keys of the spectral mark.
//!
//! A key is 32 bytes. It seeds the layout of the mark (which cells carry the pilot and which the
//! data, and the spreading signs) and keys the payload's check code, so a mark can be read only
//! with the key it was made with. Each issuer makes its own with `verity keys init`; the
//! documented [`WatermarkKey::default_key`] is SHA-256 of the ASCII string
//! `verity default spectral mark key v1`, so that anyone can check the marks made with it.
//!
//! Key files hold the 64 hex digits of the key and a newline, and are written with mode 0600.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{ProvenanceError, Result};

/// The string whose SHA-256 is the default key.
pub const DEFAULT_KEY_SEED: &str = "verity default spectral mark key v1";

/// A spectral-mark key.
#[derive(Clone, PartialEq, Eq)]
pub struct WatermarkKey {
    bytes: [u8; 32],
    /// Where it came from: "default" or a file name.
    origin: String,
}

impl std::fmt::Debug for WatermarkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key itself.
        f.debug_struct("WatermarkKey")
            .field("origin", &self.origin)
            .field("issuer", &self.issuer_id())
            .finish()
    }
}

impl WatermarkKey {
    /// The documented default key.
    pub fn default_key() -> Self {
        WatermarkKey {
            bytes: Sha256::digest(DEFAULT_KEY_SEED.as_bytes()).into(),
            origin: "default".into(),
        }
    }

    pub fn from_bytes(bytes: [u8; 32], origin: impl Into<String>) -> Self {
        WatermarkKey {
            bytes,
            origin: origin.into(),
        }
    }

    /// A fresh random key.
    pub fn generate() -> Result<Self> {
        use ring::rand::SecureRandom;
        let mut bytes = [0u8; 32];
        ring::rand::SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| ProvenanceError::MarkKey {
                path: "(new key)".into(),
                reason: "the system random source failed".into(),
            })?;
        Ok(WatermarkKey {
            bytes,
            origin: "new".into(),
        })
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The 20-bit issuer id that marks made with this key carry.
    pub fn issuer_id(&self) -> u32 {
        let d = Sha256::digest(self.bytes);
        (u32::from_be_bytes([d[0], d[1], d[2], d[3]]) >> 12) & 0xF_FFFF
    }

    /// Reads a key file (64 hex digits).
    pub fn load(path: &Path) -> Result<Self> {
        let bad = |reason: &str| ProvenanceError::MarkKey {
            path: path.to_path_buf(),
            reason: reason.into(),
        };
        // 64 hex digits and a newline; a little more for whitespace.
        let bytes = verity_fs::read_bounded(path, 4096, "a spectral-mark key")
            .map_err(|e| ProvenanceError::io(path, e))?;
        let text = std::str::from_utf8(&bytes).map_err(|_| bad("expected 64 hex digits"))?;
        let hex = text.trim();
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("expected 64 hex digits (a 32-byte spectral-mark key)"));
        }
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                .map_err(|_| bad("expected 64 hex digits"))?;
        }
        Ok(WatermarkKey {
            bytes,
            origin: path.display().to_string(),
        })
    }

    /// Writes the key file with mode 0600, refusing to replace an existing one.
    pub fn save_new(&self, path: &Path) -> Result<()> {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(path).map_err(|e| ProvenanceError::io(path, e))?;
        let hex: String = self.bytes.iter().map(|b| format!("{b:02x}")).collect();
        f.write_all(format!("{hex}\n").as_bytes())
            .map_err(|e| ProvenanceError::io(path, e))
    }

    /// A deterministic stream of pseudo-random numbers for one purpose of this key.
    pub(crate) fn stream(&self, purpose: &str) -> SplitMix {
        let mut h = Sha256::new();
        h.update(self.bytes);
        h.update(purpose.as_bytes());
        let d = h.finalize();
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&d[..8]);
        SplitMix(u64::from_le_bytes(seed))
    }
}

/// SplitMix64: the mark's layout depends on it, so it is part of the mark's definition and must
/// never change.
#[derive(Clone, Debug)]
pub(crate) struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn sign(&mut self) -> f32 {
        if self.next_u64() >> 63 == 1 {
            1.0
        } else {
            -1.0
        }
    }

    /// Standard normal (Box–Muller); for tests.
    #[cfg(test)]
    pub fn normal(&mut self) -> f32 {
        let u1 = ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        let u2 = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
    }
}
