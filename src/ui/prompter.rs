//! The prompt seam and the values that cross it.

use secrecy::SecretString;

/// What is about to be signed, as shown in the consent dialog.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DocumentSummary {
    /// File name as given by the caller (never trusted as a path).
    pub name: String,
    pub kind: DocumentKind,
    /// Size in bytes (for `Hash`, the digest length).
    pub size: u64,
    /// Page count for PDFs, when known.
    pub pages: Option<u32>,
    /// SHA-256 of the document (for `Hash`: the digest the site sent, hex).
    pub fingerprint_hex: String,
    /// In a batch: why this document will not be signed (preflight refused it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DocumentKind {
    Pdf,
    Data,
    /// The site computed the digest itself: the person cannot see what is signed.
    Hash,
}

/// A certificate as shown to a person.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertificateChoice {
    pub id: String,
    pub subject_cn: String,
    pub issuer_cn: String,
    pub token_label: String,
    /// e.g. "valid until 2027-03-31"
    pub validity: String,
}

/// Everything the consent dialog must show.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConsentRequest {
    /// Requesting web origin; `None` for the local command line.
    pub origin: Option<String>,
    pub documents: Vec<DocumentSummary>,
    /// The certificate proposed for signing.
    pub certificate: CertificateChoice,
    /// Other usable certificates the person may switch to.
    pub alternatives: Vec<CertificateChoice>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentDecision {
    /// Approved, with the certificate finally chosen (by id).
    Approve {
        certificate_id: String,
    },
    Deny,
}

/// How worried the PIN dialog must look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PinWarning {
    None,
    /// Some wrong PINs were typed already; show how many tries are left.
    AttemptsUsed,
    /// The next wrong PIN blocks the token (or triggers the provider reset).
    LastTry,
}

/// Everything the PIN dialog must show. Never carries a PIN.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PinRequest {
    pub token_label: String,
    pub certificate_cn: String,
    /// The more pessimistic of the token's flags and Mohor's own count; `None` = unknown.
    pub attempts_left: Option<u32>,
    pub warning: PinWarning,
    /// Human sentence for the warning (empty for `PinWarning::None`).
    pub warning_text: String,
    pub min_len: usize,
    pub max_len: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustSiteDecision {
    Allow,
    Deny,
}

/// A message for the person that needs no answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Notice {
    pub title: String,
    pub body: String,
}

/// Everything Mohor ever asks a person. Calls block until answered; a
/// prompter that cannot ask (no display, script ran out) answers cancel/deny.
pub trait Prompter: Send + Sync {
    fn consent(&self, request: &ConsentRequest) -> ConsentDecision;
    /// `None` = cancelled.
    fn pin(&self, request: &PinRequest) -> Option<SecretString>;
    /// Explicit confirmation before the last try that may block the token for
    /// good. `true` only on an explicit yes.
    fn confirm_last_try(&self, request: &PinRequest) -> bool;
    fn trust_site(&self, origin: &str) -> TrustSiteDecision;
    fn notify(&self, notice: &Notice);
}
