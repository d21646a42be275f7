//! Why a PDF could not be signed, in words a person can act on.

use std::io;
use std::path::PathBuf;

use crate::error::{Error, Reason};

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },

    #[error("cannot write the signed PDF {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },

    #[error("the file is not a PDF: {0}")]
    NotPdf(String),

    #[error("the PDF is damaged ({0}); Mohor does not sign damaged files")]
    Damaged(String),

    #[error(
        "the PDF is encrypted and does not open without its password; give it with \
         --pdf-password-file FILE (or `password` in a sign.pdf request)"
    )]
    Encrypted,

    #[error("the password does not open this PDF")]
    WrongPassword,

    #[error(
        "the PDF's permissions, set by its author, do not allow filling in forms or signing \
         with the password given"
    )]
    SigningNotPermitted,

    #[error("the PDF is encrypted in a way Mohor cannot sign: {0}")]
    UnsupportedEncryption(String),

    #[error(
        "the document is certified with \"no changes allowed\" (DocMDP P=1): \
         no change is permitted, not even another signature"
    )]
    NoChangesPermitted,

    #[error(
        "the PDF is a dynamic XFA form: its pages are drawn from XML by Adobe's form engine, \
         and the PDF page underneath is only a placeholder, so a signature would not be shown \
         over the form that was read"
    )]
    DynamicXfa,

    #[error("{0}")]
    CertificationForbids(String),

    #[error("{0}")]
    CannotStamp(String),

    #[error("the signature field \"{0}\" is already signed")]
    FieldAlreadySigned(String),

    #[error(
        "the signature field \"{field}\" is locked by the signature in \"{by}\" (FieldMDP): \
         filling it would invalidate that signature"
    )]
    FieldLocked { field: String, by: String },

    #[error("the form field \"{0}\" is not a signature field")]
    NotASignatureField(String),

    #[error("cannot certify: the document already carries a signature, and only the first signature may certify")]
    CannotCertify,

    #[error("{0}")]
    InvalidRequest(String),

    #[error(
        "the signature is {need} bytes but only {capacity} bytes were reserved for it in the PDF"
    )]
    ContentsTooLarge { need: usize, capacity: usize },

    #[error("the signed PDF must be written to a different file than the input")]
    SameFile,

    #[error("the input file changed while it was being signed")]
    InputChanged,

    #[error("the signature could not be made: {0}")]
    Sign(#[from] crate::sign::SignError),

    #[error("the signature could not be assembled: {0}")]
    Cms(crate::sign::cms::CmsError),

    #[error("internal error: {0}")]
    Internal(String),
}

impl PdfError {
    pub(crate) fn damaged(msg: impl Into<String>) -> Self {
        PdfError::Damaged(msg.into())
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        PdfError::InvalidRequest(msg.into())
    }

    /// The stable reason code this error reports at the edge.
    pub fn reason(&self) -> Reason {
        match self {
            PdfError::Read { .. } | PdfError::Write { .. } | PdfError::InputChanged => {
                Reason::IoError
            }
            PdfError::NotPdf(_)
            | PdfError::Damaged(_)
            | PdfError::Encrypted
            | PdfError::WrongPassword
            | PdfError::UnsupportedEncryption(_)
            | PdfError::SigningNotPermitted
            | PdfError::NoChangesPermitted
            | PdfError::DynamicXfa
            | PdfError::CertificationForbids(_)
            | PdfError::CannotStamp(_)
            | PdfError::FieldAlreadySigned(_)
            | PdfError::FieldLocked { .. }
            | PdfError::NotASignatureField(_)
            | PdfError::CannotCertify => Reason::DocumentRefused,
            PdfError::InvalidRequest(_) | PdfError::SameFile => Reason::InvalidRequest,
            PdfError::ContentsTooLarge { .. } | PdfError::Internal(_) => Reason::Internal,
            PdfError::Sign(e) => Error::from(e.clone()).reason,
            PdfError::Cms(e) => Error::from(e.clone()).reason,
        }
    }

    fn hint(&self) -> &'static str {
        match self {
            PdfError::Read { .. } => "check that the file exists and that you may read it",
            PdfError::Write { .. } => "check that the folder exists, has free space and that you may write to it",
            PdfError::NotPdf(_) | PdfError::Damaged(_) => {
                "open the file in a PDF viewer and save or print it to a new PDF, then sign that"
            }
            PdfError::Encrypted => "put the PDF's password on the first line of a file and pass it with --pdf-password-file, or ask the sender for an unprotected copy",
            PdfError::WrongPassword => "check the password (user or owner) with the sender; it is the first line of the password file",
            PdfError::SigningNotPermitted => "give the owner password with --pdf-password-file, or ask the author for a copy that allows signing",
            PdfError::UnsupportedEncryption(_) => "ask the sender for an unprotected copy, or remove the password in a PDF editor and sign the copy",
            PdfError::NoChangesPermitted => {
                "the author locked this document; ask them for a version that allows signing"
            }
            PdfError::DynamicXfa => {
                "ask the sender for the form as an ordinary PDF (filled in, then printed to PDF), and sign that"
            }
            PdfError::CertificationForbids(_) => {
                "sign into one of the document's empty signature fields"
            }
            PdfError::CannotStamp(_) => "sign without a visible stamp, or put the stamp on another page",
            PdfError::FieldLocked { .. } => "sign into a field no signature locks, or leave the field unset to add a new one",
            PdfError::FieldAlreadySigned(_) | PdfError::NotASignatureField(_) => {
                "choose an empty signature field, or leave the field unset to add a new one"
            }
            PdfError::CannotCertify => "sign without certifying",
            PdfError::InvalidRequest(_) => "correct the request and try again",
            PdfError::SameFile => "choose another output file name",
            PdfError::InputChanged => "wait until the file is no longer being written, then sign again",
            PdfError::ContentsTooLarge { .. } | PdfError::Internal(_) => {
                "this is a bug in Mohor; please report it"
            }
            PdfError::Cms(_) => "",
            PdfError::Sign(_) => "",
        }
    }
}

impl From<PdfError> for Error {
    fn from(e: PdfError) -> Self {
        match e {
            // The signing layer's own errors already say what to do.
            PdfError::Sign(s) => return Error::from(s),
            PdfError::Cms(c) => return Error::from(c),
            _ => {}
        }
        let hint = e.hint();
        Error::new(e.reason(), e.to_string()).with_hint(hint)
    }
}
