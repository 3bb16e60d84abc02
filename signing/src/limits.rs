//! How large the small files verity reads may be. Each is read whole, so each has a cap; a file
//! over it, or one that is not a regular file (a FIFO, a device), is refused before it is read.

/// A private key: a PKCS#8 or SEC1 PEM is under 1 KiB; 64 KiB leaves room for comments and a
/// certificate beside it.
pub const KEY_FILE: u64 = 64 * 1024;

/// A certificate chain or a trust-anchor file: a single certificate is 1–2 KiB; the largest
/// public root bundles are under 1 MiB.
pub const CERT_FILE: u64 = 4 * 1024 * 1024;
