//! The prompt seam and the values that cross it.

use std::sync::{Mutex, MutexGuard, TryLockError};

use secrecy::SecretString;

use crate::sign::DigestAlgorithm;

/// What is about to be signed, as shown in the consent dialog.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DocumentSummary {
    /// File name as given by the caller (never trusted as a path).
    pub name: String,
    pub kind: DocumentKind,
    /// Size in bytes (for `Hash`, the digest length).
    pub size: u64,
    /// Page count for PDFs, when known.
    pub pages: Option<u32>,
    /// The document's fingerprint, hex (for `Hash`: the digest the site sent).
    pub fingerprint_hex: String,
    /// The algorithm of `fingerprint_hex`: SHA-256 for a document Mohor
    /// hashed itself; for `Hash`, the algorithm the site named.
    pub fingerprint_algorithm: DigestAlgorithm,
    /// What the signature itself will say (PDF signatures); `None` for
    /// detached signatures, which carry nothing but the signer.
    pub signature: Option<SignatureDetails>,
    /// The long-term level asked for: above B-B the signature also carries a
    /// timestamp (and revocation data), fetched from services on the network.
    pub long_term: crate::ltv::Level,
    /// The PDF runs JavaScript of its own when it is opened, saved or
    /// printed: what a viewer shows of it may change after signing while
    /// the signature stays valid, so the person is told.
    pub document_javascript: bool,
    /// Data to sign that is text: its first lines, shown in the consent;
    /// `None` for binary data, PDFs (a viewer shows those) and digests.
    pub preview: Option<super::text_preview::TextPreview>,
    /// The signatures a PDF already carries, or that a detached
    /// co-signature joins, as Mohor's verifier judged them: a co-signer
    /// sees whom they sign after, and whether those signatures still hold
    /// (in the consent dialog; on the command line, told before the PIN).
    /// Never a name without its verdict.
    pub earlier_signatures: Vec<EarlierSignature>,
    /// This item will not be signed, and why (e.g. a batch item that failed
    /// its checks): shown as "Will not be signed: …" so the person approves
    /// the others knowing it.
    pub refused: Option<String>,
}

impl DocumentSummary {
    /// A document Mohor hashed itself (SHA-256), with nothing else to show yet.
    pub fn new(
        name: impl Into<String>,
        kind: DocumentKind,
        size: u64,
        pages: Option<u32>,
        sha256_hex: impl Into<String>,
    ) -> DocumentSummary {
        DocumentSummary {
            name: name.into(),
            kind,
            size,
            pages,
            fingerprint_hex: sha256_hex.into(),
            fingerprint_algorithm: DigestAlgorithm::Sha256,
            signature: None,
            long_term: crate::ltv::Level::BB,
            document_javascript: false,
            preview: None,
            earlier_signatures: Vec::new(),
            refused: None,
        }
    }

    /// A digest computed by the site (`sign.hash`): the person cannot see the document.
    pub fn site_digest(algorithm: DigestAlgorithm, digest: &[u8]) -> DocumentSummary {
        DocumentSummary {
            fingerprint_algorithm: algorithm,
            ..DocumentSummary::new(
                format!(
                    "{} digest",
                    crate::ui::consent_text::digest_label(algorithm)
                ),
                DocumentKind::Hash,
                digest.len() as u64,
                None,
                hex::encode(digest),
            )
        }
    }

    pub fn with_signature(mut self, details: SignatureDetails) -> DocumentSummary {
        self.signature = Some(details);
        self
    }

    pub fn with_long_term(mut self, level: crate::ltv::Level) -> DocumentSummary {
        self.long_term = level;
        self
    }

    pub fn with_refusal(mut self, why: impl Into<String>) -> DocumentSummary {
        self.refused = Some(why.into());
        self
    }
}

/// A signature already on the document, and what the verifier found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EarlierSignature {
    /// The signer's name from its certificate (as any forger could write
    /// it: shown only beside the standing).
    pub signer: String,
    pub standing: Standing,
    /// What the verifier warns about in it without changing its verdict
    /// (SHA-1, an RSA key under 2048 bits, a revocation after the proven
    /// signing time), as `mohor verify` words them: a co-signer sees them
    /// under the verdict before adding a signature beside it.
    pub warnings: Vec<String>,
}

/// How an earlier signature stands, from the person's point of view.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "standing", content = "why", rename_all = "kebab-case")]
pub enum Standing {
    /// Intact, from a trusted authority, and nothing forbidden changed since.
    Valid,
    /// Intact, but its certificate does not lead to an authority Mohor
    /// trusts (or was not valid when it signed): the name proves nothing.
    Untrusted(String),
    /// The document changed after it was signed in a way the signature
    /// does not allow, or the signature does not match.
    Broken(String),
    /// Mohor could not check them (e.g. a PDF that does not open with the
    /// password given, or one with more signatures than it checks first).
    Unchecked(String),
}

/// Everything a PDF signature writes into the document besides the
/// signature value: the person consents to all of it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SignatureDetails {
    pub reason: Option<String>,
    pub location: Option<String>,
    /// `None`: an approval signature; otherwise a certification that limits
    /// later changes.
    pub certification: Option<Certification>,
    pub stamp: Stamp,
    /// The signature field by name; `None`: Mohor adds a new field.
    pub field: Option<String>,
    /// A certificate-issuance stamp's unique number, printed in the stamp.
    pub uin: Option<String>,
    /// Text the stamp shows as a QR code.
    pub qr: Option<String>,
}

/// The DocMDP level of a certification signature (ISO 32000-1 12.8.2.2):
/// which later changes keep the certification valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Certification {
    /// P=1: no changes at all.
    NoChanges,
    /// P=2: filling in forms and signing.
    FormFilling,
    /// P=3: also comments (annotations).
    FormFillingAndComments,
}

impl Certification {
    pub fn from_docmdp(p: u8) -> Option<Certification> {
        match p {
            1 => Some(Certification::NoChanges),
            2 => Some(Certification::FormFilling),
            3 => Some(Certification::FormFillingAndComments),
            _ => None,
        }
    }

    pub fn docmdp(self) -> u8 {
        match self {
            Certification::NoChanges => 1,
            Certification::FormFilling => 2,
            Certification::FormFillingAndComments => 3,
        }
    }
}

/// Where the signature shows on the pages.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Stamp {
    /// No stamp: the signature shows only in a PDF reader's signature panel.
    #[default]
    Invisible,
    /// On the last page, where Mohor finds room.
    Auto,
    /// A box in PDF points in the user space of `page` (1-based; before
    /// `/Rotate`: the box turns with a turned page).
    At {
        page: u32,
        x: f64,
        y: f64,
        width: f64,
        height: f64,
    },
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
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
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
    /// How many more wrong PINs before Mohor stops asking for this token's
    /// PIN (its own limit, or the token's if that comes first).
    pub until_mohor_stops: Option<u32>,
    /// How many more wrong PINs before the token blocks for good, at worst;
    /// `None` = unknown (the token reports wrong PINs Mohor did not count).
    pub until_token_blocks: Option<u32>,
    pub warning: PinWarning,
    /// Human sentence for the warning (empty for `PinWarning::None`).
    pub warning_text: String,
    pub min_len: usize,
    pub max_len: usize,
}

impl PinRequest {
    /// Both numbers in one plain sentence, for every prompter:
    /// "Mohor stops asking after 2 more wrong PINs; the token blocks for good after 5."
    pub fn budget_text(&self) -> Option<String> {
        crate::token::guard::budget_sentence(self.until_mohor_stops, self.until_token_blocks)
    }
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

/// Whether the request a question belongs to was withdrawn (the page sent
/// `cancel`, its connection closed, or the request timed out). A prompter
/// polls it while the question is open and closes the question when it
/// turns true, answering cancel/deny.
#[derive(Clone, Copy)]
pub struct CancelToken<'a> {
    cancelled: &'a (dyn Fn() -> bool + Sync),
}

impl<'a> CancelToken<'a> {
    pub fn new(cancelled: &'a (dyn Fn() -> bool + Sync)) -> CancelToken<'a> {
        CancelToken { cancelled }
    }

    /// For questions nobody can withdraw (the local command line).
    pub fn never() -> CancelToken<'static> {
        CancelToken {
            cancelled: &|| false,
        }
    }

    pub fn is_cancelled(&self) -> bool {
        (self.cancelled)()
    }

    /// How often a wait looks whether its request was withdrawn.
    pub const POLL: std::time::Duration = std::time::Duration::from_millis(100);

    /// Waits for `turn` (a dialog's turn on screen, a token's one request at
    /// a time); gives up (`None`) as soon as the request is withdrawn while
    /// it waits, so nothing is asked or done for a page that has left. A
    /// `Mutex` cannot be waited on and watched at once, hence the polling.
    pub fn lock<'m, T>(&self, turn: &'m Mutex<T>) -> Option<MutexGuard<'m, T>> {
        loop {
            match turn.try_lock() {
                Ok(guard) => return Some(guard),
                // A holder that panicked leaves nothing half-done behind a
                // unit: the turn is free.
                Err(TryLockError::Poisoned(p)) => return Some(p.into_inner()),
                Err(TryLockError::WouldBlock) => {
                    if self.is_cancelled() {
                        return None;
                    }
                    std::thread::sleep(Self::POLL);
                }
            }
        }
    }
}

impl std::fmt::Debug for CancelToken<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// Everything Mohor ever asks a person. Calls block until answered; a
/// prompter that cannot ask (no display, script ran out) answers cancel/deny,
/// and so does every question whose `cancel` turns true while it is open.
pub trait Prompter: Send + Sync {
    fn consent(&self, request: &ConsentRequest, cancel: &CancelToken<'_>) -> ConsentDecision;
    /// `None` = cancelled.
    fn pin(&self, request: &PinRequest, cancel: &CancelToken<'_>) -> Option<SecretString>;
    /// Explicit confirmation before the last try that may block the token for
    /// good. `true` only on an explicit yes.
    fn confirm_last_try(&self, request: &PinRequest, cancel: &CancelToken<'_>) -> bool;
    fn trust_site(&self, origin: &str) -> TrustSiteDecision;
    fn notify(&self, notice: &Notice);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(mohor: Option<u32>, token: Option<u32>) -> PinRequest {
        PinRequest {
            token_label: "T".into(),
            certificate_cn: "C".into(),
            until_mohor_stops: mohor,
            until_token_blocks: token,
            warning: PinWarning::AttemptsUsed,
            warning_text: String::new(),
            min_len: 4,
            max_len: 16,
        }
    }

    #[test]
    fn the_budget_sentence_names_both_limits() {
        let table = [
            (
                (Some(2), Some(5)),
                Some("Mohor stops asking after 2 more wrong PINs; the token blocks for good after 5."),
            ),
            (
                (Some(1), Some(4)),
                Some("Mohor stops asking after 1 more wrong PIN; the token blocks for good after 4."),
            ),
            (
                (Some(1), Some(1)),
                Some("The token blocks for good after 1 more wrong PIN; Mohor cannot stop before that."),
            ),
            ((None, Some(3)), Some("The token blocks for good after 3 more wrong PINs.")),
            ((None, None), None),
        ];
        for ((m, t), expected) in table {
            assert_eq!(
                request(m, t).budget_text().as_deref(),
                expected,
                "{m:?} {t:?}"
            );
        }
        let unknown = request(Some(5), None).budget_text().unwrap_or_default();
        assert!(
            unknown.starts_with("Mohor stops asking after 5 more wrong PINs."),
            "{unknown}"
        );
    }
}
