//! The audit stage, the pipeline's one exit: a line per item of every
//! request, whatever its outcome (`mohor history` reads them back).
//! Never a PIN and never document content: names, digests and outcomes.

use super::pipeline::{Job, Outcome, Output, Prepared, Progress};
use super::{Agent, Requester};
use crate::error::Result;
use crate::state::AuditEntry;

/// How the command line appears in the audit log and history.
pub const COMMAND_LINE: &str = "command line";

impl Agent {
    pub(super) fn audit_job(
        &self,
        who: &Requester<'_>,
        job: &Job,
        prepared: &[Prepared],
        progress: &Progress,
        result: &Result<Outcome>,
    ) {
        let time = self
            .clock
            .now()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let (certificate, signer) = match result {
            Ok(o) => (o.certificate_id.clone(), o.signer.clone()),
            Err(_) => progress.certificate.clone().unwrap_or_default(),
        };
        let count = job.items.len();
        let mut entries = Vec::with_capacity(count);
        for (index, (item, prep)) in job.items.iter().zip(prepared).enumerate() {
            // The item's own refusal first, then the job's fate, then its result.
            let outcome = match (&prep.verdict, result) {
                (Err(e), _) => e.reason.as_str().to_string(),
                (Ok(()), Err(e)) => e.reason.as_str().to_string(),
                (Ok(()), Ok(o)) => match o.items.get(index) {
                    Some(Ok(_)) => "ok".to_string(),
                    Some(Err(e)) => e.reason.as_str().to_string(),
                    None => "INTERNAL".to_string(),
                },
            };
            let sha256 = if prep.summary.fingerprint_hex.is_empty() {
                let signed = match result.as_ref().map(|o| o.items.get(index)) {
                    Ok(Some(Ok(Output::Pdf(s)))) => s.input_sha256.as_deref(),
                    _ => None,
                };
                item.input()
                    .map(|path| super::preflight::fingerprint_later(path, signed))
                    .unwrap_or_default()
            } else {
                prep.summary.fingerprint_hex.clone()
            };
            let entry = AuditEntry {
                time: time.clone(),
                origin: who.origin.unwrap_or(COMMAND_LINE).to_string(),
                action: item.action().to_string(),
                document: prep.summary.name.clone(),
                // SHA-256 of the document; for a hash, the digest the site sent.
                sha256,
                certificate: certificate.clone(),
                signer: signer.clone(),
                result: outcome,
                batch: job.batch.then(|| crate::state::BatchPosition {
                    item: index as u32 + 1,
                    of: count as u32,
                }),
                level: (item.level() > crate::ltv::Level::BB)
                    .then(|| item.level().as_str().to_owned()),
            };
            entries.push(entry);
        }
        if let Err(e) = self.state.audit_all(&entries) {
            // The signatures are already made; losing the log lines must be
            // visible to whoever reads the agent's log.
            tracing::error!("audit log: {e}");
        }
    }
}
