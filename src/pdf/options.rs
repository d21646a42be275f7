//! What callers ask for and get back: signing options, passwords, and the
//! reports of [`super::inspect`] and [`super::sign_file`].

use time::OffsetDateTime;

/// Where to draw a visible signature: page (1-based) and a box in PDF user
/// units (points) in the page's default coordinate system.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VisibleStamp {
    pub page: u32,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// What to sign and how.
#[derive(Debug, Clone)]
pub struct PdfSignOptions {
    /// Sign into this field: an existing empty signature field, or a new
    /// field created with this name. `None` creates `Signature1`, `Signature2`...
    pub field: Option<String>,
    pub reason: Option<String>,
    pub location: Option<String>,
    /// Shown on the stamp and in /Name.
    pub signer_name: String,
    /// The certificate issuer's common name, shown on the stamp.
    pub issuer_name: String,
    /// Goes into /M (PAdES B-B carries no signingTime attribute) and the stamp.
    pub signing_time: OffsetDateTime,
    /// Draw a stamp in this box.
    pub visible: Option<VisibleStamp>,
    /// Draw a stamp at the bottom of the last page, beside earlier ones.
    pub visible_auto: bool,
    /// A certificate's unique number (BSK order), printed in the stamp.
    /// Checked with [`super::CertificateStamp::check`] by callers.
    pub uin: Option<String>,
    /// Text drawn as a QR code in the stamp (the UIN alone when `None` and
    /// `uin` is set).
    pub qr: Option<String>,
    /// Force this QR version (1 to 40); `None` takes the smallest that fits.
    pub qr_version: Option<u8>,
    /// Certify (DocMDP P=2: later form filling and signing allowed). Only
    /// for the document's first signature.
    pub certify: bool,
    /// Bytes reserved for the CMS (DER). [`sign_file`](super::sign_file) uses
    /// `cms::max_encoded_len` of the signer when this is 0.
    pub contents_capacity: usize,
    /// The password (user or owner) of an encrypted PDF; ignored for a
    /// plain one.
    pub password: Option<PdfPassword>,
    /// A document time-stamp (PAdES B-LTA) instead of a signature: the
    /// dictionary is /DocTimeStamp with /SubFilter /ETSI.RFC3161 and
    /// /Contents holds an RFC 3161 token over the byte range.
    pub doc_timestamp: bool,
}

/// A PDF password: zeroed when dropped, never printed.
#[derive(Clone)]
pub struct PdfPassword(zeroize::Zeroizing<Vec<u8>>);

impl PdfPassword {
    pub fn new(bytes: Vec<u8>) -> Self {
        PdfPassword(zeroize::Zeroizing::new(bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for PdfPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PdfPassword(..)")
    }
}

impl PdfSignOptions {
    pub fn new(signer_name: impl Into<String>, issuer_name: impl Into<String>) -> Self {
        PdfSignOptions {
            field: None,
            reason: None,
            location: None,
            signer_name: signer_name.into(),
            issuer_name: issuer_name.into(),
            signing_time: OffsetDateTime::now_utc(),
            visible: None,
            visible_auto: false,
            uin: None,
            qr: None,
            qr_version: None,
            certify: false,
            contents_capacity: 0,
            password: None,
            doc_timestamp: false,
        }
    }
}

/// A signature field found in a document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SignatureFieldInfo {
    pub name: String,
    pub signed: bool,
    /// Has a widget with a non-empty rectangle.
    pub visible: bool,
}

/// What [`inspect`](super::inspect) reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PdfInfo {
    pub page_count: u32,
    pub signature_fields: Vec<SignatureFieldInfo>,
    /// DocMDP level of a certification signature (1, 2 or 3), if certified.
    pub docmdp: Option<u8>,
    pub encrypted: bool,
    /// Revisions (cross-reference sections) in the file.
    pub revisions: usize,
    /// The version in the file header (`1.7`).
    pub pdf_version: String,
}

/// The result of [`sign_file`](super::sign_file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPdf {
    pub field_name: String,
    pub certified: bool,
    pub output_len: u64,
    /// SHA-256 of the input as it was signed, taken in the signing pass
    /// (the command line records it in the audit log without a second read).
    pub input_sha256: Option<Vec<u8>>,
}
