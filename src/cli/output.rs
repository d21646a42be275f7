//! Printing: JSON for scripts (stable, documented in docs/CLI.md) and short
//! human text for people.

use crate::error::{Error, Result};

pub fn print_json(value: &serde_json::Value) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::internal(format!("cannot encode JSON: {e}")))?;
    text.push('\n');
    emit(&text);
    Ok(())
}

/// Write to standard output. A reader that went away (`mohor certs | head`)
/// is not an error worth a message, and never a panic.
pub fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .is_err()
    {
        std::process::exit(0);
    }
}

/// `2026-11-23`
pub fn date(t: time::OffsetDateTime) -> String {
    t.date().to_string()
}
