//! The one seam between the signing pipeline and whatever holds the key.

use super::SignatureAlgorithm;
use crate::error::{Error, Reason};

/// Something that signs with one private key whose certificate it knows.
///
/// The PKCS#11 adapter (`token::pkcs11`) is the real one; tests use the
/// in-memory software signer. CMS and PDF code only ever see this trait.
pub trait Signer {
    /// The signer's X.509 certificate, DER.
    fn certificate(&self) -> &[u8];
    /// CA certificates to embed after the signer's (DER, nearest first). May be empty.
    fn chain(&self) -> &[Vec<u8>];
    /// The algorithm `sign_raw` uses.
    fn algorithm(&self) -> SignatureAlgorithm;
    /// Upper bound of the length of what `sign_raw` returns, so a PDF
    /// placeholder can be sized before signing.
    fn max_signature_len(&self) -> usize;
    /// Hash `message` with the algorithm's digest and sign it. Returns the
    /// signature value as CMS carries it (RSA: the modulus-sized octets;
    /// ECDSA: DER `Ecdsa-Sig-Value`).
    fn sign_raw(&mut self, message: &[u8]) -> Result<Vec<u8>, SignError>;
}

/// Why a raw signature could not be made.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SignError {
    #[error("the token was removed while signing")]
    TokenRemoved,
    #[error("the token is not logged in (PIN needed again)")]
    NotLoggedIn,
    #[error("the key cannot sign with {0}")]
    Unsupported(String),
    #[error("the token refused to sign: {0}")]
    Device(String),
    /// The key asked for the PIN again for this signature (its own login,
    /// CKA_ALWAYS_AUTHENTICATE) and did not take the one that had just
    /// logged in: it may have counted a wrong PIN.
    #[error("the key asked for the PIN again at this signature and refused it ({0}); the key has a PIN of its own")]
    PinRefused(String),
}

impl From<SignError> for Error {
    fn from(e: SignError) -> Self {
        match e {
            SignError::TokenRemoved => Error::new(Reason::TokenRemoved, e.to_string())
                .with_hint("insert the token again and repeat the request"),
            SignError::NotLoggedIn => Error::new(Reason::TokenNotPresent, e.to_string())
                .with_hint("repeat the request and enter the PIN again"),
            SignError::Unsupported(_) => Error::new(Reason::CertificateNotUsable, e.to_string())
                .with_hint("choose another certificate"),
            SignError::Device(_) => Error::new(Reason::ModuleError, e.to_string()).with_hint(
                "remove and re-insert the token; if it persists, check the token driver",
            ),
            // The one reason a signature (after the login) can give for a
            // PIN: the pipeline stops the request on it and counts it.
            SignError::PinRefused(_) => Error::new(Reason::PinIncorrect, e.to_string()).with_hint(
                "Mohor sent the PIN to this key once and sends it no more: each refused try counts \
                 towards blocking the key. Ask your DSC provider about the key's signing PIN",
            ),
        }
    }
}
