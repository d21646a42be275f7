//! Hardware: PKCS#11 modules, the tokens in them, their certificates, and the
//! wrong-PIN guard.
//!
//! `guard` and `inventory` are pure; `pkcs11` is the only file that speaks
//! cryptoki; `modules` is the table of known drivers.

#[cfg(feature = "software-signer")]
pub mod fake;
pub mod guard;
pub mod inventory;
pub mod modules;
pub mod pkcs11;
pub mod seam;

pub use pkcs11::{CertificateEntry, Pkcs11Tokens, Scan, TokenError, TokenRef, TokenReport};
pub use seam::{TokenSession, TokenSigner, Tokens};
