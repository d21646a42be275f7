//! `mohor verify FILE [--data DATA] [--trust ROOT.pem]... [--json]`: check
//! every signature of a PDF or a CMS file. Exit 0 only when every signature
//! is intact, trusted and not followed by illegal changes.

use std::path::PathBuf;

use clap::Args;

use super::output::{emit, print_json};
use super::Env;
use crate::error::{Error, Reason, Result};
use crate::state::StateStore;
use crate::verify::Input;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A signed PDF, or a CMS signature (.p7s, DER, BER or PEM).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The signed data, for a detached CMS signature.
    #[arg(long, value_name = "DATA")]
    pub data: Option<PathBuf>,
    /// A trusted root certificate (PEM or DER), in addition to the CCA India roots (repeatable).
    #[arg(long = "trust", value_name = "ROOT.pem")]
    pub trust: Vec<PathBuf>,
    /// Trust only the --trust roots (and the config's), not the shipped CCA India roots.
    #[arg(long)]
    pub trust_replace: bool,
    /// Print the report as JSON (schema in docs/CLI.md).
    #[arg(long)]
    pub json: bool,
}

pub fn verify(env: &Env, args: &VerifyArgs) -> Result<()> {
    // Read in pieces, never whole: a signed annexure may be hundreds of MB.
    let open = |p: &PathBuf| Input::open(p).map_err(Error::from);
    let file = open(&args.file)?;
    let data = args.data.as_ref().map(open).transpose()?;
    let store = crate::service::verify::trust_store(&env.config, &args.trust, args.trust_replace)?;
    let state = StateStore::open(&env.dirs.state_dir)?;
    let name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let now = time::OffsetDateTime::now_utc();
    let report = crate::service::verify::verify_audited(
        &state,
        None,
        &name,
        &file,
        data.as_ref(),
        &store,
        now,
    )?;
    if args.json {
        let value = serde_json::to_value(&report)
            .map_err(|e| Error::internal(format!("cannot encode the report: {e}")))?;
        print_json(&value)?;
    } else {
        emit(&report.human());
    }
    if report.all_ok() {
        return Ok(());
    }
    let failed = report.signatures.iter().filter(|s| !s.ok()).count();
    Err(if report.signatures.is_empty() {
        Error::new(
            Reason::DocumentRefused,
            format!("{} has no signature", args.file.display()),
        )
        .with_hint("give the signed copy of the document (or its .p7s/.p7m signature)")
    } else {
        Error::new(
            Reason::DocumentRefused,
            format!(
                "{failed} of {} signatures did not verify",
                report.signatures.len()
            ),
        )
        .with_hint("the report above says why for each signature")
    })
}
