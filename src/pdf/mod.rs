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
//! `reader`, `pages`, `crypt`, `metadata`), the form (`fields`) and the writer (`revision`,
//! `appearance`, `font`).

mod appearance;
mod crypt;
mod dss;
mod error;
mod fields;
mod filters;
mod flow;
mod font;
mod inspect;
mod lexer;
mod metadata;
mod object;
mod options;
mod pages;
mod plan;
mod reader;
mod revision;
mod source;
mod update;
mod xref;

pub use dss::{append_dss, signature_contents, Dss, SignatureContents};
pub use error::PdfError;
pub use fields::DocMdp;
pub use flow::{prepare, sign_file, sign_file_with, write_signed, PreparedPdf};
pub use inspect::{inspect, inspect_with_password};
pub use options::{
    PdfInfo, PdfPassword, PdfSignOptions, SignatureFieldInfo, SignedPdf, VisibleStamp,
};
