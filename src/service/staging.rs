//! Staging PDFs ahead of the token: the next document is laid out, hashed
//! and (on its own) copied while the token signs the current one, and the
//! first one while the PIN is still being checked. Staging needs no signer,
//! only the room its CMS will take and the digest it signs; both follow
//! from the certificate, so they are known before `C_Login`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::Scope;

use crate::error::{Error, Result};
use crate::pdf::{StagedPdf, Staging};
use crate::sign::cms;
use crate::sign::{DigestAlgorithm, Signer};
use crate::token::pkcs11::KeyKind;
use crate::token::CertificateEntry;

use super::pipeline::{pdf_options, staged_pdf, Job, Prepared};

/// What a staged document is laid out for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Plan {
    /// Bytes reserved for the CMS in `/Contents`.
    pub capacity: usize,
    pub digest: DigestAlgorithm,
}

impl Plan {
    /// Before there is a signer: from the certificate and its chain. `None`
    /// for a key this build cannot size (staging then waits for the signer).
    pub fn before_login(
        cert: &CertificateEntry,
        chain: &[Vec<u8>],
        digest: DigestAlgorithm,
    ) -> Option<Plan> {
        let kind = KeyKind::from_facts(&cert.facts)?;
        Some(Plan {
            capacity: cms::max_encoded_len_for(&cert.der, chain, kind.max_signature_len()),
            digest,
        })
    }

    /// What the signer the token gave needs.
    pub fn of_signer(signer: &dyn Signer) -> Plan {
        Plan {
            capacity: cms::max_encoded_len(signer),
            digest: signer.algorithm().digest(),
        }
    }

    /// Documents staged under `self` can be signed by a signer that needs
    /// `needed`.
    pub fn fits(&self, needed: &Plan) -> bool {
        self.digest == needed.digest && self.capacity >= needed.capacity
    }
}

/// How `job`'s staged PDFs reach their outputs; `None` when it has none.
pub(super) fn mode(job: &Job) -> Option<Staging> {
    match job.items.iter().filter_map(staged_pdf).count() {
        0 => None,
        1 => Some(Staging::Alone),
        _ => Some(Staging::InBatch),
    }
}

/// The staged documents, in the job's order, as a worker hands them over.
pub(super) struct Stager {
    pub plan: Plan,
    pub staged: mpsc::Receiver<Result<StagedPdf>>,
}

/// Start a worker that stages every B-B PDF of `job` that passed preflight,
/// one ahead of the signer. `None` when there is none. Dropping the
/// [`Stager`] stops the worker: its next hand-over fails, and the document
/// it held is dropped with its temporary output.
pub(super) fn start<'scope, 'env>(
    scope: &'scope Scope<'scope, 'env>,
    job: &'env Job,
    prepared: &'env [Prepared],
    cert: &'env CertificateEntry,
    now: time::OffsetDateTime,
    plan: Plan,
    stop: &'env AtomicBool,
) -> Option<Stager> {
    let staging = mode(job)?;
    // A rendezvous: the worker stages at most one document ahead. (Two
    // ahead only moved CPU from the token's thread to the worker's.)
    let (ahead, staged) = mpsc::sync_channel::<Result<StagedPdf>>(0);
    scope.spawn(move || {
        for (item, prep) in job.items.iter().zip(prepared) {
            let Some(p) = staged_pdf(item) else { continue };
            if prep.verdict.is_err() {
                continue;
            }
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let opts = pdf_options(p, cert, now, plan.capacity);
            let next = crate::pdf::stage(&p.input, &p.output, &opts, plan.digest, staging)
                .map_err(Error::from);
            if ahead.send(next).is_err() {
                break;
            }
        }
    });
    Some(Stager { plan, staged })
}
