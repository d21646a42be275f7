//! Hardware: PKCS#11 modules, the tokens in them, their certificates, and the
//! wrong-PIN guard.
//!
//! `guard`, `inventory`, `key_match` and `model` are pure; `pkcs11` (a folder:
//! the adapter, its signer, its mechanism choice) is the only module that
//! speaks cryptoki; `modules` is the table of known drivers.

#[cfg(feature = "software-signer")]
pub mod fake;
pub mod guard;
pub mod inventory;
pub mod key_match;
pub mod model;
pub mod modules;
pub mod pkcs11;
pub mod seam;
pub mod usb_ids;

pub use model::{
    CertificateEntry, KeyCheck, ModuleReport, Scan, TokenError, TokenIdentity, TokenRef,
    TokenReport,
};
pub use pkcs11::Pkcs11Tokens;
pub use seam::{TokenSession, TokenSigner, Tokens};
