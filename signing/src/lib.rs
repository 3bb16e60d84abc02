//! verity-signing: keys, certificate chains, the trust store, and the c2pa `Signer` over ring.
//!
//! - [`init_keys`] makes a root CA and a signing certificate that meet the C2PA certificate
//!   profile, and writes them into verity's home (private keys PKCS#8 PEM, mode 0600).
//! - [`load_signer`] and [`load_home_signer`] load an identity, made here or by an
//!   organisation's own CA, and check the chain with x509-parser before anything is signed.
//! - [`RingSigner`] implements `c2pa::Signer`; it is the only type that holds a private key, and
//!   its `Debug` output never shows it.
//! - [`TrustStore`] collects the anchors and allowed certificates that verification trusts.

mod alg;
mod error;
mod key;
pub mod limits;
pub mod profile;
mod signer;
mod store;
mod trust;

pub use alg::KeyAlg;
pub use error::{Result, SigningError};
pub use profile::{CertSummary, check_chain, check_chain_now, describe, subject_names};
pub use signer::{DynSigner, RingSigner, SignerName};
pub use store::{
    InitOptions, InitReport, KeyPaths, SERIAL_LEN, init_keys, load_certificates, load_home_signer,
    load_signer,
};
pub use trust::{TrustStore, TrustedCert};
