//! Preflight: what can be known about a document before anyone is asked
//! anything — its summary for the consent dialog, whether the PDF can be
//! signed as asked (a dry run), whether a co-signature covers the same data —
//! and the streamed digests the signing stage needs.

use std::path::Path;

use crate::error::{Error, Reason, Result};
use crate::sign::cms::{self, CmsProfile};
use crate::sign::{DigestAlgorithm, Signer};
use crate::ui::text_preview::{TextPreview, PREVIEW_BYTES};
use crate::ui::{DocumentSummary, EarlierSignature, Standing};
use crate::verify::report::Judgement;
use crate::verify::{SignatureReport, TrustStore};

use super::PdfRequest;

/// Earlier signatures checked for the consent at most (real notes carry a
/// handful; see [`earlier_signatures`]).
const MAX_EARLIER_CHECKED: usize = 50;

/// `/Contents` room for the dry run that checks a PDF before any dialog.
const DRY_RUN_CAPACITY: usize = 16 * 1024;

/// What the consent dialog shows about a file: name, kind, size, pages, SHA-256.
/// Without `fingerprint` (nobody is asked before signing: the command line)
/// the SHA-256 is left empty, to be taken from the signing pass instead of
/// reading the whole file twice ([`fingerprint_later`]).
pub fn summarize(
    path: &Path,
    name: &str,
    kind: crate::ui::DocumentKind,
    pages: Option<u32>,
    fingerprint: bool,
) -> Result<DocumentSummary> {
    let size = std::fs::metadata(path)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), &e))?
        .len();
    let sha256 = if fingerprint {
        hex::encode(digest_file(path, DigestAlgorithm::Sha256)?)
    } else {
        String::new()
    };
    Ok(DocumentSummary::new(name, kind, size, pages, sha256))
}

/// The first lines of data to sign when it is text, for the consent
/// dialog; `None` when it is not text (or cannot be read: the signing pass
/// reports that).
pub fn text_preview(path: &Path) -> Option<TextPreview> {
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let mut head = Vec::with_capacity(PREVIEW_BYTES);
    file.take(PREVIEW_BYTES as u64)
        .read_to_end(&mut head)
        .ok()?;
    TextPreview::of(&head, len)
}

/// What already carries signatures: a PDF, or an earlier detached
/// signature that a co-signature joins.
#[derive(Clone, Copy)]
pub enum Signed<'a> {
    /// With the request's password when it is encrypted.
    Pdf {
        path: &'a Path,
        password: Option<&'a [u8]>,
    },
    Detached {
        signature: &'a [u8],
        data: &'a Path,
    },
}

/// What checking the earlier signatures gave the consent.
#[derive(Debug)]
pub struct Earlier {
    pub signatures: Vec<EarlierSignature>,
    /// The SHA-256 of the document to sign (the PDF, or the data under a
    /// co-signature), which the check reads whole anyway: the consent's
    /// fingerprint, so the file is not read once more for it. `None` when
    /// the check did not get that far.
    pub document_sha256: Option<Vec<u8>>,
}

/// The signatures already there (`count` of them, as found), judged as
/// `mohor verify` judges them (offline: with what they embed and the
/// agent's trust store), for the consent dialog. The verifier's error, or a
/// trust store that cannot be read, is one line saying they could not be
/// checked.
pub fn earlier_signatures(
    signed: Signed<'_>,
    count: usize,
    store: std::result::Result<&TrustStore, &Error>,
    now: time::OffsetDateTime,
) -> Earlier {
    let unchecked = |why: String| Earlier {
        signatures: vec![EarlierSignature {
            signer: String::new(),
            standing: Standing::Unchecked(why),
            warnings: Vec::new(),
        }],
        document_sha256: None,
    };
    // Each check reads its signed bytes again: a made-up file with thousands
    // of signatures over 100 MB would hold the consent for minutes.
    if count > MAX_EARLIER_CHECKED {
        return unchecked(format!(
            "there are {count} signatures, more than the {MAX_EARLIER_CHECKED} \
             Mohor checks before asking; `mohor verify` checks them all"
        ));
    }
    let store = match store {
        Ok(s) => s,
        Err(e) => return unchecked(e.message.clone()),
    };
    match verify_signed(signed, store, now) {
        Ok((report, document_sha256)) => Earlier {
            signatures: report
                .signatures
                .iter()
                .map(|s| EarlierSignature {
                    signer: s.signer.clone(),
                    standing: standing(s),
                    warnings: s.warnings.clone(),
                })
                .collect(),
            document_sha256: Some(document_sha256),
        },
        Err(e) => unchecked(e.to_string()),
    }
}

/// The verifier's report on what `signed` carries, and the SHA-256 of the
/// document to sign that opening it for the check computed.
fn verify_signed(
    signed: Signed<'_>,
    store: &TrustStore,
    now: time::OffsetDateTime,
) -> std::result::Result<(crate::verify::Report, Vec<u8>), crate::verify::VerifyError> {
    use crate::verify::{pdf::verify_with_password, verify_file, Input};
    let (report, document) = match signed {
        Signed::Pdf { path, password } => {
            let pdf = Input::open(path)?;
            (verify_with_password(&pdf, password, store, now)?, pdf)
        }
        Signed::Detached { signature, data } => {
            let data = Input::open(data)?;
            let signature = Input::from_bytes(signature)?;
            (verify_file(&signature, Some(&data), store, now)?, data)
        }
    };
    Ok((report, document.sha256().to_vec()))
}

/// How one verified signature stands, with the verifier's first reason.
fn standing(s: &SignatureReport) -> Standing {
    match s.judgement() {
        Judgement::NotIntact(why) => Standing::Broken(
            why.unwrap_or("the signature does not match the document")
                .to_owned(),
        ),
        Judgement::IllegalChanges(what) => Standing::Broken(format!(
            "changed after it was signed: {}",
            what.unwrap_or("a change its signer did not allow")
        )),
        Judgement::NotTrusted(why) => {
            Standing::Untrusted(why.unwrap_or("no chain to a trusted authority").to_owned())
        }
        Judgement::Trusted { .. } => Standing::Valid,
    }
}

/// Data to sign must hold something: an empty upload or file is a mistake
/// (a page's bug, a wrong path), never something to ask a person to sign.
pub fn check_not_empty(path: &Path) -> Result<()> {
    let size = std::fs::metadata(path)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), &e))?
        .len();
    if size == 0 {
        return Err(Error::invalid_request(
            "the data to sign is empty; send the document's bytes",
        ));
    }
    Ok(())
}

/// The SHA-256 (hex) of a document whose summary left it for later: from
/// the signing pass when there was one, else read now (for the audit log).
pub fn fingerprint_later(path: &Path, from_signing: Option<&[u8]>) -> String {
    match from_signing {
        Some(sha256) => hex::encode(sha256),
        None => digest_file(path, DigestAlgorithm::Sha256)
            .map(hex::encode)
            .unwrap_or_default(),
    }
}

/// A detached CAdES signature over the file `data`, or a co-signature added
/// to `existing` (every earlier signer is checked against the same file).
pub fn detached_cms(
    signer: &mut dyn Signer,
    data: &Path,
    existing: Option<&[u8]>,
    profile: &CmsProfile,
) -> Result<Vec<u8>> {
    match existing {
        None => {
            let d = digest_file(data, signer.algorithm().digest())?;
            Ok(cms::sign_digest(signer, &d, profile)?)
        }
        Some(existing) => with_file_digests(data, |digest_of| {
            Ok(cms::cosign(existing, signer, digest_of, profile)?)
        }),
    }
}

/// Run `f` with a digest callback over the file `data` for CMS code that
/// cannot fail through its callback: the first read error wins over `f`'s
/// outcome.
fn with_file_digests<T>(
    data: &Path,
    f: impl FnOnce(&mut dyn FnMut(DigestAlgorithm) -> Vec<u8>) -> Result<T>,
) -> Result<T> {
    with_digests_once(|alg| digest_file(data, alg), f)
}

/// `with_file_digests` over any `digest`, which runs once an algorithm: the
/// CMS code asks once per earlier signer, and three co-signers over a
/// 100 MB file would otherwise have it read three times (four when signing).
fn with_digests_once<T>(
    mut digest: impl FnMut(DigestAlgorithm) -> Result<Vec<u8>>,
    f: impl FnOnce(&mut dyn FnMut(DigestAlgorithm) -> Vec<u8>) -> Result<T>,
) -> Result<T> {
    let mut failure = None;
    let mut known: Vec<(DigestAlgorithm, Vec<u8>)> = Vec::new();
    let mut digest_of = |alg: DigestAlgorithm| {
        if let Some((_, d)) = known.iter().find(|(a, _)| *a == alg) {
            return d.clone();
        }
        match digest(alg) {
            Ok(d) => {
                known.push((alg, d.clone()));
                d
            }
            Err(e) => {
                failure.get_or_insert(e);
                Vec::new()
            }
        }
    };
    let out = f(&mut digest_of);
    match failure {
        Some(e) => Err(e),
        None => out,
    }
}

/// Refuse, before any dialog, a co-signature over other data than the
/// earlier signers signed.
pub fn check_cosign(data: &Path, existing: &[u8]) -> Result<()> {
    with_file_digests(data, |digest_of| {
        Ok(cms::check_cosign_content(existing, digest_of)?)
    })
}

/// A PDF Mohor can sign as asked: opened by the password if encrypted, not
/// certified against changes, and a dry run of the revision (no output, no
/// signer) succeeds — so an already-signed field, a box off the page or a
/// forbidding certification never costs a PIN. One parse of the file: a batch
/// checks every document before anyone is asked. Answers what the consent
/// dialog shows about it.
pub fn check_pdf(
    input: &Path,
    request: &PdfRequest,
    now: time::OffsetDateTime,
) -> Result<crate::pdf::DryRun> {
    let mut probe = request.options("Mohor dry run", "Mohor dry run", now);
    probe.contents_capacity = DRY_RUN_CAPACITY;
    // A wrong password fails here too, before any PIN is asked for.
    crate::pdf::dry_run(input, &probe).map_err(|e| match e {
        crate::pdf::PdfError::NoChangesPermitted => Error::new(
            Reason::DocumentRefused,
            "the PDF is certified with \"no changes allowed\"; another signature would invalidate the certification",
        )
        .with_hint("the author locked this document; ask them for a version that allows signing"),
        e => Error::from(e),
    })
}

/// Digest of a file, streamed (never loads it whole).
pub fn digest_file(path: &Path, alg: DigestAlgorithm) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)
        .map_err(|e| Error::io(format!("cannot open {}", path.display()), &e))?;
    let mut h = alg.hasher();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), &e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_algorithms_digest_is_computed_once_and_a_read_error_wins() {
        let mut computed = Vec::new();
        let out = with_digests_once(
            |alg| {
                computed.push(alg);
                Ok(vec![computed.len() as u8])
            },
            |digest_of| {
                let asked = [
                    DigestAlgorithm::Sha256,
                    DigestAlgorithm::Sha384,
                    DigestAlgorithm::Sha256,
                    DigestAlgorithm::Sha256,
                ];
                Ok(asked.map(digest_of))
            },
        );
        assert_eq!(out.ok(), Some([vec![1], vec![2], vec![1], vec![1]]));
        assert_eq!(computed, [DigestAlgorithm::Sha256, DigestAlgorithm::Sha384]);

        let failed: Result<()> = with_digests_once(
            |_| Err(Error::invalid_request("unreadable")),
            |digest_of| {
                assert!(digest_of(DigestAlgorithm::Sha256).is_empty());
                Ok(())
            },
        );
        assert!(failed.is_err_and(|e| e.message.contains("unreadable")));
    }

    fn unchecked(found: &Earlier) -> &str {
        assert!(found.document_sha256.is_none(), "{found:?}");
        match found.signatures.as_slice() {
            [EarlierSignature {
                standing: Standing::Unchecked(why),
                ..
            }] => why,
            other => panic!("one unchecked line expected: {other:?}"),
        }
    }

    #[test]
    fn earlier_signatures_beyond_the_limit_are_left_to_verify_unread() {
        let store = TrustStore::replaced_by(Vec::new());
        let now = time::OffsetDateTime::UNIX_EPOCH;
        // The file is not even opened: it does not exist.
        let missing = Path::new("/nonexistent/mohor-many-signatures.pdf");
        let pdf = Signed::Pdf {
            path: missing,
            password: None,
        };
        let found = earlier_signatures(pdf, MAX_EARLIER_CHECKED + 1, Ok(&store), now);
        assert!(unchecked(&found).contains("51 signatures"), "{found:?}");
        assert!(unchecked(&found).contains("mohor verify"), "{found:?}");
        // Within the limit it is read, and a file that cannot be is said so.
        let found = earlier_signatures(pdf, 1, Ok(&store), now);
        assert!(unchecked(&found).contains("cannot verify"), "{found:?}");
        // A trust store that could not be read is named, not papered over.
        let broken = Error::invalid_request("cannot use /etc/office-root.pem as a trust root");
        let found = earlier_signatures(pdf, 1, Err(&broken), now);
        assert!(unchecked(&found).contains("office-root.pem"), "{found:?}");
    }
}
