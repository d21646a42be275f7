//! `mohor sites [--json]` and `mohor sites remove ORIGIN`: the web sites the
//! person allowed at the "trust this site?" prompt.

use std::fmt::Write as _;

use clap::{Args, Subcommand};
use serde_json::json;
use time::format_description::well_known::Rfc3339;

use super::output::{date, emit, print_json};
use super::Env;
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Reason, Result};
use crate::state::{normalise_origin, StateStore};

#[derive(Debug, Args)]
pub struct SitesArgs {
    /// Print the list as JSON (`{"sites": [{"origin", "since", "until"}]}`).
    #[arg(long)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Option<SitesCommand>,
}

#[derive(Debug, Subcommand)]
pub enum SitesCommand {
    /// Stop trusting a site: it must ask again (and be allowed) before it can ask for signatures.
    Remove {
        /// The site's origin as listed, e.g. https://eoffice.gov.in
        origin: String,
    },
}

pub fn sites(env: &Env, args: &SitesArgs) -> Result<()> {
    let state = StateStore::open(&env.dirs.state_dir)?;
    let now = SystemClock.now();
    let ttl = env.config.site_trust();
    match &args.command {
        Some(SitesCommand::Remove { origin }) => {
            let origin = normalise_origin(origin);
            if !state.remove_trusted_site(&origin, now, ttl)? {
                return Err(Error::new(
                    Reason::InvalidRequest,
                    format!("{origin} is not a trusted site"),
                )
                .with_hint("`mohor sites` lists the trusted sites"));
            }
            emit(&format!(
                "Removed {origin}. It must ask again before it can ask for signatures.\n"
            ));
            Ok(())
        }
        None => {
            let list = state.trusted_sites(now, ttl)?;
            if args.json {
                let rows: Vec<_> = list
                    .iter()
                    .map(|s| {
                        json!({
                            "origin": s.origin,
                            "since": s.since.format(&Rfc3339).unwrap_or_default(),
                            "until": s.until.format(&Rfc3339).unwrap_or_default(),
                        })
                    })
                    .collect();
                return print_json(&json!({ "sites": rows }));
            }
            let mut o = String::new();
            if list.is_empty() {
                let _ = writeln!(o, "No trusted sites. (Sites in allowed_origins of the config file are allowed without being listed here.)");
            }
            for s in &list {
                let _ = writeln!(
                    o,
                    "{}  allowed {}, until {}",
                    s.origin,
                    date(s.since),
                    date(s.until)
                );
            }
            emit(&o);
            Ok(())
        }
    }
}
