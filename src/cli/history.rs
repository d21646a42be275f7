//! `mohor history`: the audit log, newest first.

use std::fmt::Write as _;

use serde_json::json;

use super::output::{emit, print_json};
use super::Env;
use crate::error::Result;
use crate::state::{AuditEntry, StateStore};

pub fn history(env: &Env, json: bool, limit: usize) -> Result<()> {
    let state = StateStore::open(&env.dirs.state_dir)?;
    let mut entries = state.audit_tail(limit)?;
    entries.reverse();
    if json {
        return print_json(&json!({ "entries": entries }));
    }
    if entries.is_empty() {
        emit("Nothing signed or asked yet.\n");
        return Ok(());
    }
    let mut o = String::new();
    for e in &entries {
        let _ = writeln!(o, "{}", line(e));
    }
    emit(&o);
    Ok(())
}

/// One line a person reads at a glance: when, outcome, what, for whom, by whom.
fn line(e: &AuditEntry) -> String {
    let origin = if e.origin == "cli" {
        crate::service::COMMAND_LINE
    } else {
        e.origin.as_str()
    };
    // A check that held is not a signature: the log keeps `verify` too.
    let outcome = match e.result.as_str() {
        "ok" => crate::state::done_word(&e.action),
        reason => reason,
    };
    let batch = e
        .batch
        .map(|b| format!(" (batch item {} of {})", b.item, b.of))
        .unwrap_or_default();
    // A verify names the signers it found but chose no certificate of
    // Mohor's: no empty `[]` after them.
    let by = match (e.signer.is_empty(), e.certificate.is_empty()) {
        (true, _) => String::new(),
        (false, true) => format!(" by {}", e.signer),
        (false, false) => format!(" by {} [{}]", e.signer, e.certificate),
    };
    let level = e
        .level
        .as_deref()
        .map(|l| format!(" at {l}"))
        .unwrap_or_default();
    let digest: String = e.sha256.chars().take(16).collect();
    format!(
        "{}  {:<22} {} \"{}\"{batch}{level} from {origin}{by}  sha256 {digest}…",
        e.time, outcome, e.action, e.document
    )
}
