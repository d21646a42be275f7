//! The signing core: the [`Signer`] seam and CMS (CAdES) assembly.
//!
//! Nothing here knows about PKCS#11, dialogs or the network: a [`Signer`] is
//! anything that can turn bytes into a raw signature with a known certificate.

pub mod algorithm;
pub mod cms;
pub mod signer;
#[cfg(any(test, feature = "software-signer"))]
pub mod software;

pub use algorithm::{DigestAlgorithm, SignatureAlgorithm};
pub use signer::{SignError, Signer};
