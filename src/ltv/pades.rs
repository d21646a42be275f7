//! PAdES levels for a PDF: B-T puts a signature time-stamp into the CMS
//! before `/Contents` is filled; B-LT appends the DSS; B-LTA appends a
//! document time-stamp. Intermediate stages are private temporary files
//! beside the output; the output appears only when every stage succeeded.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::cades::{self, EmbeddedSigner, SignerRole};
use super::crl_cache::CrlCache;
use super::{revocation, Earlier, Level, Ltv, LtvError, TIMESTAMP_RESERVE};
use crate::error::{Error, Result};
use crate::pdf::{self, Dss, PdfPassword, PdfSignOptions, SignedPdf};
use crate::sign::{cms, DigestAlgorithm, Signer};

/// Sign `input` into `output` at `level`.
pub fn sign_pdf(
    input: &Path,
    output: &Path,
    signer: &mut dyn Signer,
    opts: &PdfSignOptions,
    level: Level,
    ltv: Option<&Ltv<'_>>,
) -> Result<SignedPdf> {
    let Some(ltv) = ltv.filter(|_| level.needs_timestamp()) else {
        if level.needs_timestamp() {
            return Err(LtvError::NoTimestampAuthority.into());
        }
        return Ok(pdf::sign_file(input, output, signer, opts)?);
    };
    let mut opts = opts.clone();
    opts.contents_capacity = cms::max_encoded_len(signer) + TIMESTAMP_RESERVE;
    let stage = Stage::new(output)?;
    let first = if level == Level::BT {
        output.to_path_buf()
    } else {
        stage.path("signed")
    };
    let signed = pdf::sign_file_with(input, &first, signer, &opts, &mut |der| {
        cades::timestamp_last_signer(&der, ltv).map(|(d, _)| d)
    })?;
    if level == Level::BT {
        return Ok(signed);
    }
    let password = opts.password.as_ref().map(|p| p.as_bytes());
    // Found by its field: the field list's order is not the signing order.
    let contents = pdf::signature_contents(&first, password)?;
    let last = contents
        .iter()
        .find(|c| c.field_name == signed.field_name)
        .ok_or_else(|| Error::internal("the signature just made is not in the file"))?;
    let lt = if level == Level::BLT {
        output.to_path_buf()
    } else {
        stage.path("lt")
    };
    add_dss(
        &first,
        &lt,
        ltv,
        password,
        std::slice::from_ref(&last.contents),
        Expired::Refused,
    )?;
    if level == Level::BLT {
        return Ok(finished(signed, &lt));
    }
    archive_timestamp(&lt, output, ltv, opts.password.clone(), &stage)?;
    Ok(finished(signed, output))
}

fn finished(signed: SignedPdf, path: &Path) -> SignedPdf {
    SignedPdf {
        output_len: std::fs::metadata(path)
            .map(|m| m.len())
            .unwrap_or(signed.output_len),
        ..signed
    }
}

/// `mohor extend`: add the DSS for every signature and time-stamp in
/// `input` and (B-LTA) a fresh document time-stamp, into `output`.
/// `password` opens an encrypted PDF (the additions are encrypted with it).
pub fn extend(
    input: &Path,
    output: &Path,
    level: Level,
    ltv: &Ltv<'_>,
    password: Option<PdfPassword>,
) -> Result<SignedPdf> {
    if level < Level::BLT {
        return Err(Error::invalid_request(
            "a signed PDF can be extended to B-LT or B-LTA (a time-stamp inside a signature cannot be added later)",
        ));
    }
    let bytes = password.as_ref().map(|p| p.as_bytes());
    let contents: Vec<Vec<u8>> = pdf::signature_contents(input, bytes)?
        .into_iter()
        .map(|s| s.contents)
        .collect();
    if contents.is_empty() {
        return Err(Error::new(
            crate::error::Reason::DocumentRefused,
            "the PDF has no signature to extend",
        ));
    }
    let stage = Stage::new(output)?;
    let lt = if level == Level::BLT {
        output.to_path_buf()
    } else {
        stage.path("lt")
    };
    add_dss(input, &lt, ltv, bytes, &contents, Expired::Kept)?;
    let signed = if level == Level::BLTA {
        archive_timestamp(&lt, output, ltv, password.clone(), &stage)?
    } else {
        SignedPdf {
            field_name: String::new(),
            certified: false,
            output_len: 0,
            input_sha256: None,
        }
    };
    Ok(finished(signed, output))
}

/// What [`add_dss`] does with a signer whose certificate has expired.
#[derive(Clone, Copy)]
enum Expired {
    /// A signature just made: its certificate must be valid now.
    Refused,
    /// `mohor extend` of earlier signatures and time-stamps: what the file
    /// already carries for them stays; evidence is fetched for the rest.
    Kept,
}

/// Fetch and check revocation evidence for the signers of `signatures`
/// (and their time-stamp authorities), and write `input` + DSS to `output`.
fn add_dss(
    input: &Path,
    output: &Path,
    ltv: &Ltv<'_>,
    password: Option<&[u8]>,
    signatures: &[Vec<u8>],
    expired: Expired,
) -> Result<()> {
    let mut chains = Vec::new();
    for sig in signatures {
        for EmbeddedSigner {
            role,
            certificate,
            carried,
        } in cades::embedded_signers(sig)?
        {
            let Some(certificate) = certificate else {
                // Not refused: the other signatures' evidence is still worth
                // adding, and no evidence can be found for an unnamed certificate.
                tracing::warn!(
                    "{}: its certificate is not in the file, so no validation data \
                     could be added for it",
                    match role {
                        SignerRole::Signatory => "a signature in the file",
                        SignerRole::TimeStampAuthority => "a signature's time-stamp",
                    }
                );
                continue;
            };
            match (ltv.chain_of_earlier(&certificate, &carried)?, expired) {
                (Earlier::Current(chain), _) => chains.push(chain),
                (Earlier::Expired(subject), Expired::Kept) => {
                    tracing::info!(
                        "{subject}: expired since it signed; its evidence stays as embedded"
                    );
                }
                (Earlier::Expired(subject), Expired::Refused) => {
                    return Err(LtvError::NoChain(subject).into())
                }
            }
        }
    }
    let this_document = CrlCache::default();
    let crls = ltv.crls.unwrap_or(&this_document);
    let evidence = revocation::collect(ltv.http, crls, &chains, ltv.now)?;
    let dss = Dss {
        certs: evidence.certs,
        ocsps: evidence.ocsps,
        crls: evidence.crls,
        signatures: signatures.to_vec(),
    };
    let werr = |e: std::io::Error| Error::io(format!("cannot write {}", output.display()), &e);
    let mut out = crate::atomic::AtomicFile::create(output).map_err(werr)?;
    let mut buffered = std::io::BufWriter::new(&mut out);
    pdf::append_dss(input, password, &dss, &mut buffered)?;
    buffered.flush().map_err(werr)?;
    drop(buffered);
    out.commit().map_err(werr)
}

/// B-LTA's last two updates: a document time-stamp, then the validation
/// data of its own TSA (fetched after it), so a validator can check the
/// newest time-stamp from the file alone rather than online.
fn archive_timestamp(
    input: &Path,
    output: &Path,
    ltv: &Ltv<'_>,
    password: Option<PdfPassword>,
    stage: &Stage,
) -> Result<SignedPdf> {
    let stamped = stage.path("lta");
    let signed = add_doc_timestamp(input, &stamped, ltv, password.clone())?;
    let pw = password.as_ref().map(PdfPassword::as_bytes);
    let contents = pdf::signature_contents(&stamped, pw)?;
    let doc_ts = contents
        .iter()
        .find(|c| c.doc_timestamp && c.field_name == signed.field_name)
        .ok_or_else(|| Error::internal("the document time-stamp just made is not in the file"))?;
    add_dss(
        &stamped,
        output,
        ltv,
        pw,
        std::slice::from_ref(&doc_ts.contents),
        Expired::Refused,
    )?;
    Ok(signed)
}

/// Append a document time-stamp (ETSI.RFC3161) over all of `input`.
pub fn add_doc_timestamp(
    input: &Path,
    output: &Path,
    ltv: &Ltv<'_>,
    password: Option<PdfPassword>,
) -> Result<SignedPdf> {
    let mut opts = PdfSignOptions::new("", "");
    opts.password = password;
    opts.doc_timestamp = true;
    opts.signing_time = ltv.now;
    opts.contents_capacity = TIMESTAMP_RESERVE;
    let prepared = pdf::prepare(input, &opts)?;
    let digest = prepared.digest(DigestAlgorithm::Sha256)?;
    let token = ltv.timestamp(DigestAlgorithm::Sha256, &digest)?;
    Ok(pdf::write_signed(&prepared, &token.der, output)?)
}

/// A private folder beside the output for intermediate files; removed
/// with everything in it when dropped.
struct Stage {
    dir: tempfile::TempDir,
}

impl Stage {
    fn new(output: &Path) -> Result<Stage> {
        let parent = match output.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let dir = tempfile::Builder::new()
            .prefix(".mohor-ltv-")
            .tempdir_in(&parent)
            .map_err(|e| Error::io(format!("cannot write in {}", parent.display()), &e))?;
        Ok(Stage { dir })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.pdf"))
    }
}
