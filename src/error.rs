//! Errors a person can act on.
//!
//! Every failure that leaves Mohor carries a [`Reason`] (the stable code a web
//! page or script branches on, see `docs/PROTOCOL.md`), a message that says what
//! happened, and a hint that says what to do next. Modules keep their own
//! precise error types and convert into [`Error`] at the edge.

use std::fmt;

/// Stable reason codes of the contract (`../shared/contract.md`). The JSON
/// spelling is SCREAMING_SNAKE_CASE and never changes once shipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    UserCancelled,
    OriginNotAllowed,
    /// The token itself reports the user PIN as blocked.
    PinLocked,
    /// Mohor's guard refuses: the soft limit of wrong PINs is reached.
    PinGuardLocked,
    /// A wrong PIN was typed (the guard counted it).
    PinIncorrect,
    TokenNotPresent,
    TokenRemoved,
    NoMatchingCertificate,
    CertificateNotUsable,
    DocumentRefused,
    Busy,
    InvalidRequest,
    TooLarge,
    Timeout,
    /// A PKCS#11 module could not be loaded or misbehaved.
    ModuleError,
    /// Reading or writing a local file failed.
    IoError,
    /// A bug or an unexpected state; the message says what.
    Internal,
    /// The time-stamp authority could not be reached, or its answer was
    /// refused (wrong imprint or nonce, untrusted certificate, garbage).
    TimestampUnavailable,
    /// An OCSP responder or CRL needed for a long-term signature could not
    /// be fetched, or its answer was refused.
    RevocationUnavailable,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::UserCancelled => "USER_CANCELLED",
            Reason::OriginNotAllowed => "ORIGIN_NOT_ALLOWED",
            Reason::PinLocked => "PIN_LOCKED",
            Reason::PinGuardLocked => "PIN_GUARD_LOCKED",
            Reason::PinIncorrect => "PIN_INCORRECT",
            Reason::TokenNotPresent => "TOKEN_NOT_PRESENT",
            Reason::TokenRemoved => "TOKEN_REMOVED",
            Reason::NoMatchingCertificate => "NO_MATCHING_CERTIFICATE",
            Reason::CertificateNotUsable => "CERTIFICATE_NOT_USABLE",
            Reason::DocumentRefused => "DOCUMENT_REFUSED",
            Reason::Busy => "BUSY",
            Reason::InvalidRequest => "INVALID_REQUEST",
            Reason::TooLarge => "TOO_LARGE",
            Reason::Timeout => "TIMEOUT",
            Reason::ModuleError => "MODULE_ERROR",
            Reason::IoError => "IO_ERROR",
            Reason::Internal => "INTERNAL",
            Reason::TimestampUnavailable => "TIMESTAMP_UNAVAILABLE",
            Reason::RevocationUnavailable => "REVOCATION_UNAVAILABLE",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error every edge (CLI, WebSocket) reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub reason: Reason,
    /// What happened, in one sentence.
    pub message: String,
    /// What the person can do next; empty when there is nothing useful to say.
    pub hint: String,
}

impl Error {
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Error {
            reason,
            message: message.into(),
            hint: String::new(),
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = hint.into();
        self
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Error::new(Reason::InvalidRequest, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(Reason::Internal, message)
    }

    pub fn io(what: impl fmt::Display, err: &std::io::Error) -> Self {
        Error::new(Reason::IoError, format!("{what}: {err}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if !self.hint.is_empty() {
            write!(f, "\n  what to do: {}", self.hint)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
