//! An in-memory software key behind the [`Signer`] seam.
//!
//! For pure tests of the CMS and PDF layers and for benchmarks only: compiled
//! in with feature `software-signer` (or in unit tests), never in a release.

use rsa::pkcs8::DecodePrivateKey;
use sha2::Digest as _;

use super::{DigestAlgorithm, SignError, SignatureAlgorithm, Signer};

enum Key {
    Rsa(Box<rsa::RsaPrivateKey>),
    P256(Box<p256::ecdsa::SigningKey>),
}

pub struct SoftwareSigner {
    key: Key,
    certificate: Vec<u8>,
    chain: Vec<Vec<u8>>,
    algorithm: SignatureAlgorithm,
}

impl SoftwareSigner {
    /// `key_pem`: PKCS#8 PEM; `cert_pem`: the signer's certificate;
    /// `chain_pem`: zero or more CA certificates, nearest first.
    pub fn from_pem(key_pem: &str, cert_pem: &str, chain_pem: &str) -> Result<Self, String> {
        let certificate = crate::pem::certificates(cert_pem.as_bytes())
            .into_iter()
            .next()
            .ok_or("no certificate in cert_pem")?;
        let chain = crate::pem::certificates(chain_pem.as_bytes());
        let (key, algorithm) = if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_pem(key_pem) {
            (
                Key::Rsa(Box::new(k)),
                SignatureAlgorithm::RsaPkcs1v15(DigestAlgorithm::Sha256),
            )
        } else if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_pem(key_pem) {
            (
                Key::P256(Box::new(k)),
                SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha256),
            )
        } else {
            return Err("key is neither an RSA nor a P-256 PKCS#8 key".into());
        };
        Ok(SoftwareSigner {
            key,
            certificate,
            chain,
            algorithm,
        })
    }

    pub fn from_files(
        key: &std::path::Path,
        cert: &std::path::Path,
        chain: &std::path::Path,
    ) -> Result<Self, String> {
        let read = |p: &std::path::Path| {
            std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))
        };
        Self::from_pem(&read(key)?, &read(cert)?, &read(chain)?)
    }
}

impl Signer for SoftwareSigner {
    fn certificate(&self) -> &[u8] {
        &self.certificate
    }

    fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    fn max_signature_len(&self) -> usize {
        match &self.key {
            Key::Rsa(k) => rsa::traits::PublicKeyParts::size(k.as_ref()),
            // DER Ecdsa-Sig-Value: two INTEGERs of at most 33 bytes each.
            Key::P256(_) => 72,
        }
    }

    fn sign_raw(&mut self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let digest = sha2::Sha256::digest(message);
        match &self.key {
            Key::Rsa(k) => k
                .sign(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest)
                .map_err(|e| SignError::Device(e.to_string())),
            Key::P256(k) => {
                use p256::ecdsa::signature::hazmat::PrehashSigner;
                let sig: p256::ecdsa::Signature = k
                    .sign_prehash(&digest)
                    .map_err(|e| SignError::Device(e.to_string()))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
        }
    }
}
