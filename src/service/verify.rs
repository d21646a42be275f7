//! Verification as a service step, shared by `mohor verify` and the
//! `verify` method: the trust store from configuration, the check itself,
//! and an audit line (action `verify`: document name and SHA-256, the
//! signers found, `ok` when every signature verified).

use std::path::PathBuf;

use crate::config::Config;
use crate::error::{Error, Reason, Result};
use crate::state::{AuditEntry, StateStore};
use crate::verify::{self, trust, Report, TrustStore};

/// The CCA India roots plus the configured and `extra` roots, or (when
/// asked to replace them) only the configured and `extra` ones. The
/// config's `ca_certificates` fill chain gaps, as they do when signing.
pub fn trust_store(config: &Config, extra: &[PathBuf], replace: bool) -> Result<TrustStore> {
    let mut roots = Vec::new();
    for p in config.trust_roots.iter().chain(extra) {
        let bytes = std::fs::read(p)
            .map_err(|e| {
                Error::io(format!("cannot read trust root {}", p.display()), &e)
                    .with_hint("check the path given with --trust (or in trust_roots of the config): a PEM or DER certificate file")
            })?;
        roots.extend(trust::parse_file(&bytes).map_err(|e| {
            Error::invalid_request(format!("cannot use {} as a trust root: {e}", p.display()))
        })?);
    }
    let mut cas = Vec::new();
    for p in &config.ca_certificates {
        let bytes = std::fs::read(p)
            .map_err(|e| Error::io(format!("cannot read CA file {}", p.display()), &e))?;
        cas.extend(trust::parse_file(&bytes).unwrap_or_default());
    }
    let mut store = if replace || config.trust_roots_replace {
        TrustStore::replaced_by(roots)
    } else {
        let mut s = TrustStore::shipped();
        s.add_anchors(roots);
        s
    };
    store.add_cas(cas);
    Ok(store)
}

/// Verify and write the audit line. `origin` is the web origin, or `None`
/// for the command line.
pub fn verify_audited(
    state: &StateStore,
    origin: Option<&str>,
    name: &str,
    file: &verify::Input,
    data: Option<&verify::Input>,
    store: &TrustStore,
    now: time::OffsetDateTime,
) -> Result<Report> {
    let result = verify::verify_file(file, data, store, now).map_err(Error::from);
    let outcome = match &result {
        Ok(r) if r.all_ok() => "ok".to_string(),
        Ok(_) => Reason::DocumentRefused.as_str().to_string(),
        Err(e) => e.reason.as_str().to_string(),
    };
    let signers = result
        .as_ref()
        .map(|r| {
            // A signature without a readable signer names nobody: no empty
            // name in the list (the log said "by , Asha Verma").
            r.signatures
                .iter()
                .filter(|s| !s.signer.is_empty())
                .map(|s| s.signer.clone())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let entry = AuditEntry {
        time: verify::report::rfc3339(now),
        origin: origin.unwrap_or(super::COMMAND_LINE).to_string(),
        action: "verify".into(),
        document: name.to_string(),
        sha256: hex::encode(file.sha256()),
        certificate: String::new(),
        signer: signers,
        result: outcome,
        batch: None,
        level: None,
    };
    if let Err(e) = state.audit(&entry) {
        tracing::error!("audit log: {e}");
    }
    result
}
