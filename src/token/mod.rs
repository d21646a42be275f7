//! Hardware: PKCS#11 modules, the tokens in them, their certificates, and the
//! wrong-PIN guard.
//!
//! `guard`, `inventory` and `key_match` are pure; `pkcs11` is the only file that speaks
//! cryptoki; `modules` is the table of known drivers.

#[cfg(feature = "software-signer")]
pub mod fake;
pub mod guard;
pub mod inventory;
pub mod key_match;
pub mod modules;
pub mod pkcs11;
pub mod seam;
pub mod usb_ids;

pub use pkcs11::{
    CertificateEntry, KeyCheck, Pkcs11Tokens, Scan, TokenError, TokenIdentity, TokenRef,
    TokenReport,
};
pub use seam::{TokenSession, TokenSigner, Tokens};
