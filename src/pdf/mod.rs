//! PDF signing (PAdES): lazy reader, incremental writer, fields, appearance.
//!
//! A signature is added as an incremental update: the input's bytes are
//! copied unchanged and a new revision is appended holding the signature
//! dictionary, its field and widget, the objects that had to change (page
//! /Annots, /AcroForm, the catalog) and a cross-reference section of the
//! same kind as the file's. Earlier signatures therefore stay valid.
//!
//! ```text
//! prepare(input, opts) ──► PreparedPdf ──digest(alg)──► CMS over the digest
//!                              │                              │
//!                              └──────── write_to(cms, out) ◄─┘
//! ```
//!
//! [`sign_file`] runs the whole chain for the CLI and the server.
//!
//! Files: `options` (what callers pass and get), `flow` (prepare, digest,
//! write), `plan` (where the signature goes), `update` (the revision's
//! objects), `inspect`; below them the reader (`source`, `lexer`, `xref`,
//! `reader`, `pages`, `crypt`, `metadata`), the form (`fields`), the
//! document's own scripts (`actions`) and the writer (`revision`,
//! `appearance` with `stamp_text`, `shaping`, `scripts`, `font` and `qr`;
//! `uin` checks a certificate's unique number).

mod actions;
mod appearance;
mod crypt;
mod dss;
mod error;
mod fields;
mod filters;
mod flow;
mod font;
mod inspect;
pub(crate) mod lexer;
mod metadata;
mod object;
mod options;
mod pages;
mod plan;
mod qr;
mod reader;
mod revision;
mod scripts;
mod shaping;
mod source;
mod stamp_text;
mod uin;
mod update;
mod xref;

pub use dss::{append_dss, read_dss, signature_contents, Dss, SignatureContents};
pub use error::PdfError;
pub use fields::DocMdp;

/// Read-only access to a PDF's objects, for signature verification
/// (`crate::verify`), which inspects revisions without writing anything.
pub mod read {
    pub use super::actions::has_document_javascript;
    pub use super::fields::is_dynamic_xfa;
    pub use super::object::{decode_text, Dict, ObjRef, Object};
    pub use super::pages::rect;
    pub use super::reader::{Document, Loaded, MAX_DEPTH};
    pub use super::xref::Entry;
}
pub use appearance::check_names as check_stamp_names;
pub use flow::{
    dry_run, prepare, sign_digest, sign_file, sign_file_with, stage, write_signed, DryRun,
    PreparedPdf, StagedPdf, Staging,
};
pub use inspect::{inspect, inspect_with_password};
pub use options::{
    PdfInfo, PdfPassword, PdfSignOptions, SignatureFieldInfo, SignedPdf, VisibleStamp,
};
pub use shaping::check_fonts as check_stamp_fonts;
pub use uin::{department, CertificateStamp, Uin};
