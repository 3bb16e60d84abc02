//! The c2pa `Signer`, implemented over ring. Keys could live in an HSM later: only this type
//! touches the private key.

use ring::rand::SystemRandom;

use crate::alg::KeyAlg;
use crate::key::PrivateKey;

/// Signs C2PA claims with a private key held in memory.
pub struct RingSigner {
    key: PrivateKey,
    chain: Vec<Vec<u8>>,
    rng: SystemRandom,
}

impl std::fmt::Debug for RingSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingSigner")
            .field("alg", &self.key.alg())
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl RingSigner {
    /// `chain` is DER, the signing certificate first.
    pub(crate) fn new(key: PrivateKey, chain: Vec<Vec<u8>>) -> Self {
        RingSigner {
            key,
            chain,
            rng: SystemRandom::new(),
        }
    }

    pub fn alg(&self) -> KeyAlg {
        self.key.alg()
    }

    /// The certificate chain, DER, signing certificate first.
    pub fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }
}

impl c2pa::Signer for RingSigner {
    fn sign(&self, data: &[u8]) -> c2pa::Result<Vec<u8>> {
        match &self.key {
            PrivateKey::Ed25519(k) => Ok(k.sign(data).as_ref().to_vec()),
            PrivateKey::Ecdsa(k, _) => k
                .sign(&self.rng, data)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| c2pa::Error::CoseSignature),
        }
    }

    fn alg(&self) -> c2pa::SigningAlg {
        self.key.alg().c2pa()
    }

    fn certs(&self) -> c2pa::Result<Vec<Vec<u8>>> {
        Ok(self.chain.clone())
    }

    fn reserve_size(&self) -> usize {
        // The COSE signature block: the signature, the chain, and headroom for CBOR framing.
        2048 + self.chain.iter().map(Vec::len).sum::<usize>()
    }
}

/// What signs manifests: any c2pa signer, a key held here ([`RingSigner`]) or one in an HSM or a
/// KMS behind c2pa's trait. `Send + Sync`, so one signer serves concurrent requests.
pub type DynSigner = dyn c2pa::Signer + Send + Sync;

/// Who a signer signs as: its certificate's subject and common name.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SignerName {
    /// The subject, RFC 4514 style (`CN=…, O=…`).
    pub subject: String,
    pub common_name: Option<String>,
}

impl SignerName {
    /// The signer's name from its signing certificate (the first of its chain); `None` when
    /// the signer gives no certificate that parses.
    pub fn of(signer: &DynSigner) -> Option<SignerName> {
        let certs = signer.certs().ok()?;
        let (subject, common_name) = crate::profile::subject_names(certs.first()?)?;
        Some(SignerName {
            subject,
            common_name,
        })
    }
}
