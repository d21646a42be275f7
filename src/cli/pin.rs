//! `mohor pin status` and `mohor pin unlock`.

use clap::Subcommand;
use std::fmt::Write as _;

use serde_json::json;

use super::output::{emit, print_json};
use super::Env;
use crate::error::Result;

#[derive(Debug, Subcommand)]
pub enum PinCommand {
    /// Show Mohor's wrong-PIN count and guard state for each token.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Clear Mohor's soft lock after your DSC provider has reset the PIN.
    Unlock {
        /// Serial number of the token (see `mohor pin status`).
        #[arg(long, value_name = "SERIAL")]
        token: String,
    },
}

pub fn pin(env: &Env, command: &PinCommand) -> Result<()> {
    let agent = env.agent(env.load_tokens())?;
    let mut o = String::new();
    match command {
        PinCommand::Status { json } => {
            let rows = agent.pin_status()?;
            if *json {
                print_json(&json!({ "tokens": rows }))?;
            } else if rows.is_empty() {
                let _ = writeln!(o, "No token present and no wrong PINs on record.");
            } else {
                for r in rows {
                    let _ = writeln!(o,
                        "token \"{}\" serial {}{}: {} wrong PIN(s) counted (limits: Mohor stops at {}, token blocks at {}) — {}{}",
                        r.label,
                        r.serial,
                        if r.present { "" } else { " (not inserted)" },
                        r.wrong_pins,
                        r.soft_limit,
                        r.hard_limit,
                        r.state,
                        if r.message.is_empty() { String::new() } else { format!("\n  {}", r.message) }
                    );
                }
            }
            emit(&o);
            Ok(())
        }
        PinCommand::Unlock { token } => {
            let changed = agent.unlock(token)?;
            // The hard limit depends on the token model (ProxKey allows 15);
            // the status rows know the model of a token that is present.
            let status = agent.pin_status()?;
            for r in changed {
                let hard = status
                    .iter()
                    .find(|s| s.serial == r.serial && s.label == r.label)
                    .map(|s| s.hard_limit)
                    .unwrap_or_else(|| agent.config().default_limits.hard);
                let remaining = hard.saturating_sub(r.count.carried);
                let _ = writeln!(
                    o,
                    "Unlocked token \"{}\" (serial {}). Mohor will ask for the PIN again.",
                    r.label, r.serial
                );
                if r.count.carried == 0 {
                    let _ = writeln!(
                        o,
                        "The token reports no wrong PIN, so its PIN was reset: Mohor counts from zero."
                    );
                } else {
                    let _ = writeln!(o,
                        "Warning: if your provider did not actually reset the PIN, only {remaining} wrong PIN(s) may remain before the token is blocked for good. Mohor keeps counting the earlier {} until a PIN is accepted.",
                        r.count.carried
                    );
                }
            }
            emit(&o);
            Ok(())
        }
    }
}
