//! Mohor (মোহর, "seal"): a desktop signing agent for Indian DSC USB tokens.
//!
//! The signing pipeline is a chain of plain values, each stage a type, none of
//! them doing I/O except the reader and writer at the ends:
//!
//! ```text
//!  document ──► prepare (pdf::prepare / digest of data) ──► digest to sign
//!                                                              │
//!  signed attributes ◄── sign::cms builds CAdES attributes ◄───┘
//!         │
//!         ▼
//!  Signer::sign_raw (token::pkcs11 on a real token, software key in tests)
//!         │
//!         ▼
//!  CMS SignedData ──► detached .p7s, or embedded into the PDF revision
//! ```
//!
//! Around that core sit the seams to the outside: [`token`] (PKCS#11 via
//! cryptoki), [`ui`] (people), [`server`] (the loopback WebSocket) and
//! [`clock`], [`net`] (HTTP for time-stamps and revocation data, used by
//! [`ltv`]). [`service`] holds the handlers that tie a request to consent,
//! the PIN guard and the token, and is what the CLI and the server both call.

pub mod atomic;
pub mod autostart;
pub mod clock;
pub mod error;
pub mod ltv;
pub mod net;
pub mod pdf;
pub mod sign;
pub mod single_instance;
pub mod ui;

pub use error::{Error, Reason, Result};
pub mod cli;
pub mod config;
pub mod doctor;
pub mod pem;
pub mod positioned;
pub mod protocol;
pub mod server;
pub mod service;
pub mod state;
pub mod token;
#[cfg(target_os = "linux")]
pub mod uncached_copy;
pub mod verify;
