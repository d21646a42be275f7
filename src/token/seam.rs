//! The token seam: what the service needs from whatever holds the keys.
//!
//! [`Pkcs11Tokens`](super::Pkcs11Tokens) is the real implementation (cryptoki);
//! with feature `software-signer`, `token::fake::FakeTokens` lets the whole
//! request pipeline run in-process in tests, with a PIN that counts and locks
//! like a DSC token. The service never names cryptoki.

use secrecy::SecretString;

use super::model::{CertificateEntry, ModuleReport, Scan, TokenError, TokenRef, TokenReport};
use crate::sign::{DigestAlgorithm, Signer};

/// A signer bound to a logged-in token session; dropping it logs out.
pub type TokenSigner = Box<dyn Signer + Send>;

/// The tokens Mohor can see, and the one way to log in to one of them.
pub trait Tokens: Send + Sync {
    /// How loading each driver went (for `mohor tokens` / `doctor`).
    fn module_reports(&self) -> &[ModuleReport];
    /// Tokens and certificates present now.
    fn scan(&self, now: time::OffsetDateTime) -> Scan;
    /// Fresh token info (the PIN flags change as PINs are typed).
    fn token_status(&self, token: &TokenRef) -> Result<TokenReport, TokenError>;
    /// Exactly one `C_Login` with `pin`; the caller has asked the guard.
    fn login(
        &self,
        token: &TokenRef,
        pin: &SecretString,
    ) -> Result<Box<dyn TokenSession>, TokenError>;
}

/// A logged-in session on one token.
pub trait TokenSession: Send {
    /// A signer for `cert`, after checking that the token still holds it and
    /// its private key. `pin` is kept only for a key that needs a
    /// context-specific login for each signature (CKA_ALWAYS_AUTHENTICATE);
    /// otherwise it is dropped here.
    fn into_signer(
        self: Box<Self>,
        cert: &CertificateEntry,
        chain: Vec<Vec<u8>>,
        digest: DigestAlgorithm,
        prefer_pss: bool,
        pin: SecretString,
    ) -> Result<TokenSigner, TokenError>;
}

impl Tokens for super::Pkcs11Tokens {
    fn module_reports(&self) -> &[ModuleReport] {
        super::Pkcs11Tokens::module_reports(self)
    }

    fn scan(&self, now: time::OffsetDateTime) -> Scan {
        super::Pkcs11Tokens::scan(self, now)
    }

    fn token_status(&self, token: &TokenRef) -> Result<TokenReport, TokenError> {
        super::Pkcs11Tokens::token_status(self, token)
    }

    fn login(
        &self,
        token: &TokenRef,
        pin: &SecretString,
    ) -> Result<Box<dyn TokenSession>, TokenError> {
        Ok(Box::new(super::Pkcs11Tokens::login(self, token, pin)?))
    }
}

impl TokenSession for super::pkcs11::LoggedIn {
    fn into_signer(
        self: Box<Self>,
        cert: &CertificateEntry,
        chain: Vec<Vec<u8>>,
        digest: DigestAlgorithm,
        prefer_pss: bool,
        pin: SecretString,
    ) -> Result<TokenSigner, TokenError> {
        let mut signer =
            super::pkcs11::LoggedIn::into_signer(*self, cert, chain, digest, prefer_pss)?;
        if signer.needs_context_login() {
            signer.set_context_pin(pin);
        }
        Ok(Box::new(signer))
    }
}
