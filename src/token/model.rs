//! What Mohor knows of PKCS#11 modules, tokens and certificates: plain
//! values, no cryptoki. The adapter ([`super::pkcs11`]) fills them in from a
//! driver; the test tokens (`token::fake`) from software keys; the guard,
//! the service and the dialogs read them.

use std::path::PathBuf;

use super::guard::PinFlags;
use super::inventory::{CertFacts, NotUsable};
use super::modules::ModuleSource;

/// How loading one module went.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModuleReport {
    pub path: PathBuf,
    pub source: ModuleSource,
    pub loaded: bool,
    /// Library description and version when loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub library: Option<String>,
    /// Why it failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a token is, whichever driver shows it: the same token seen through
/// the vendor's module and through OpenSC is one token with one wrong-PIN
/// count. The label is left out: a person may rename the token, and drivers
/// decorate it (OpenSC adds "(User PIN)"). So are, in the counter's key,
/// the manufacturer and model when the serial says enough: drivers name
/// one card differently ("EnterSafe" and "Longmai", "PKCS#15 emulated" and
/// "ePass2003").
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct TokenIdentity {
    pub manufacturer: String,
    pub model: String,
    pub serial: String,
}

impl TokenIdentity {
    /// Key of Mohor's wrong-PIN counter for this token: the serial alone,
    /// so that a second driver naming the token differently finds the same
    /// count. Two different tokens with one serial would share a count,
    /// which errs on the safe side. A serial that says nothing (blank, or
    /// all zeros, as some drivers report) keeps manufacturer and model.
    pub fn counter_key(&self) -> String {
        if self.has_telling_serial() {
            format!("serial:{}", self.serial)
        } else {
            format!("token:{}|{}|{}", self.manufacturer, self.model, self.serial)
        }
    }

    /// Does the serial alone tell this token apart?
    pub fn has_telling_serial(&self) -> bool {
        self.serial.chars().any(|c| !matches!(c, '0' | ' '))
    }
}

/// Which token, through which module: stable across re-insertion (slot ids
/// are not).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct TokenRef {
    pub module: PathBuf,
    pub serial: String,
    pub label: String,
    /// Shown in [`TokenReport`]; here only for the identity.
    #[serde(skip)]
    pub manufacturer: String,
    #[serde(skip)]
    pub model: String,
}

impl TokenRef {
    pub fn identity(&self) -> TokenIdentity {
        TokenIdentity {
            manufacturer: self.manufacturer.clone(),
            model: self.model.clone(),
            serial: self.serial.clone(),
        }
    }

    /// Key of Mohor's wrong-PIN counter for this token (and of the lock that
    /// lets one request at a time use it): the token's identity, not the
    /// module path or the label.
    pub fn counter_key(&self) -> String {
        self.identity().counter_key()
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenReport {
    #[serde(flatten)]
    pub token: TokenRef,
    pub slot_id: u64,
    pub model: String,
    pub manufacturer: String,
    pub pin_flags: PinFlags,
    pub pin_min_len: usize,
    pub pin_max_len: usize,
    /// PIN pad on the reader: the PIN is typed on the device, not in Mohor.
    pub protected_authentication_path: bool,
}

/// One certificate on a token, with what Mohor knows about it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CertificateEntry {
    pub id: String,
    pub token: TokenRef,
    /// CKA_ID, hex.
    pub object_id: String,
    pub label: String,
    /// A private or public key with the certificate's CKA_ID is visible
    /// before login.
    pub has_key: bool,
    /// When the private key is checked: now, or after the PIN (private
    /// objects are invisible before login and some tokens keep no public
    /// key beside them).
    pub key_check: KeyCheck,
    pub usable: bool,
    pub not_usable: Vec<NotUsable>,
    #[serde(flatten)]
    pub facts: CertFacts,
    #[serde(skip)]
    pub der: Vec<u8>,
}

/// See [`CertificateEntry::key_check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyCheck {
    /// A key object with the certificate's CKA_ID was seen before login.
    Seen,
    /// Nothing with the certificate's CKA_ID is visible before login: the
    /// private key is looked for after the PIN.
    AfterPin,
}

impl CertificateEntry {
    /// A note for a person about the key, when there is one to make.
    pub fn key_note(&self) -> Option<&'static str> {
        // A CA certificate is part of a chain: no key of the person's sits
        // behind it, and none is looked for.
        if self.facts.is_ca {
            return None;
        }
        match self.key_check {
            KeyCheck::Seen => None,
            KeyCheck::AfterPin => Some("key checked after the PIN"),
        }
    }

    /// Sentence for a person: why this certificate cannot sign.
    pub fn not_usable_text(&self) -> String {
        self.not_usable
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Scan {
    pub tokens: Vec<TokenReport>,
    pub certificates: Vec<CertificateEntry>,
    /// Problems reading a token that did not stop the others.
    pub problems: Vec<String>,
}

/// Errors of the token edge, in terms the guard and the service act on.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TokenError {
    #[error("the token is not present")]
    NotPresent,
    #[error("the token was removed")]
    Removed,
    #[error("the PIN is incorrect")]
    PinIncorrect,
    #[error("the PIN is locked on the token")]
    PinLocked,
    #[error("the PIN has a length the token does not accept")]
    PinLength,
    #[error("the token holds no private key for this certificate (checked after the PIN)")]
    KeyMissing,
    #[error("the certificate is no longer on the token")]
    CertificateGone,
    #[error("the token offers no mechanism Mohor can sign with for this key ({0})")]
    NoMechanism(String),
    #[error("the token driver reported an error: {0}")]
    Device(String),
    /// `C_Login` answered with a code that says neither "right" nor "wrong"
    /// while the PIN may have reached the card (a driver's own error code).
    #[error("the token driver answered the PIN with an error ({0}); it may have been checked and found wrong, so Mohor counts it as a wrong PIN")]
    PinAnswerUnclear(String),
}

impl From<TokenError> for crate::Error {
    fn from(e: TokenError) -> Self {
        use crate::error::Reason;
        let msg = e.to_string();
        match e {
            TokenError::NotPresent => crate::Error::new(Reason::TokenNotPresent, msg)
                .with_hint("insert the DSC token and try again"),
            TokenError::Removed => crate::Error::new(Reason::TokenRemoved, msg)
                .with_hint("insert the token again and repeat the request"),
            TokenError::PinIncorrect => crate::Error::new(Reason::PinIncorrect, msg),
            TokenError::PinLocked => crate::Error::new(Reason::PinLocked, msg)
                .with_hint("contact your DSC provider: the token's PIN is blocked"),
            TokenError::PinLength => crate::Error::new(Reason::PinIncorrect, msg),
            TokenError::KeyMissing => crate::Error::new(Reason::CertificateNotUsable, msg)
                .with_hint(
                    "the certificate was written to the token without its key, or the key was \
                     deleted; choose another certificate, or ask your DSC provider to re-issue it",
                ),
            TokenError::CertificateGone | TokenError::NoMechanism(_) => {
                crate::Error::new(Reason::CertificateNotUsable, msg)
                    .with_hint("choose another certificate")
            }
            TokenError::Device(_) | TokenError::PinAnswerUnclear(_) => {
                crate::Error::new(Reason::ModuleError, msg).with_hint(
                    "remove and re-insert the token; if it persists, reinstall its driver",
                )
            }
        }
    }
}
