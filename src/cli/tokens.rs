//! `mohor tokens` and `mohor certs`.

use std::fmt::Write as _;

use serde_json::json;

use super::output::{date, emit, print_json};
use super::Env;
use crate::error::Result;
use crate::state::StateStore;

pub fn tokens(env: &Env, json: bool) -> Result<()> {
    let tokens = env.load_tokens();
    let scan = tokens.scan(time::OffsetDateTime::now_utc());
    let state = StateStore::open(&env.dirs.state_dir)?;
    let present: Vec<_> = scan.tokens.iter().map(|t| t.token.identity()).collect();
    state.adopt_legacy_records(&present)?;
    let records = state.pin_records()?;
    let mut o = String::new();
    let rows: Vec<serde_json::Value> = scan
        .tokens
        .iter()
        .map(|t| {
            let rec = records
                .get(&t.token.counter_key())
                .cloned()
                .unwrap_or_default();
            let mut v = serde_json::to_value(t).unwrap_or_default();
            v["mohor_wrong_pins"] = json!(rec.count.wrong);
            v["mohor_carried_wrong_pins"] = json!(rec.count.carried);
            v["certificates"] = json!(scan
                .certificates
                .iter()
                .filter(|c| c.token == t.token)
                .count());
            v
        })
        .collect();
    if json {
        print_json(&json!({
            "modules": tokens.module_reports(),
            "tokens": rows,
            "problems": scan.problems,
        }))?;
    } else {
        for m in tokens.module_reports() {
            match (&m.library, &m.error) {
                (Some(lib), _) => {
                    let _ = writeln!(o, "module {}  ({lib})", m.path.display());
                }
                (_, Some(err)) => {
                    let _ = writeln!(o, "module {}  NOT LOADED: {err}", m.path.display());
                }
                _ => {}
            }
        }
        if tokens.module_reports().is_empty() {
            let _ = writeln!(
                o,
                "No PKCS#11 module found. Install your token's driver, or pass --module PATH."
            );
        }
        if scan.tokens.is_empty() {
            let _ = writeln!(o, "No token present.");
        }
        for (t, row) in scan.tokens.iter().zip(&rows) {
            let f = t.pin_flags;
            let flags = [
                (f.count_low, "wrong PIN entered before"),
                (f.final_try, "FINAL TRY"),
                (f.locked, "PIN LOCKED"),
            ]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, s)| *s)
            .collect::<Vec<_>>()
            .join(", ");
            let _ = writeln!(o,
                "\ntoken \"{}\"  serial {}  model {} ({})\n  slot {}  PIN length {}-{}  certificates: {}\n  wrong PINs counted by Mohor: {}{}",
                t.token.label,
                t.token.serial,
                t.model,
                t.manufacturer,
                t.slot_id,
                t.pin_min_len,
                t.pin_max_len,
                row["certificates"],
                row["mohor_wrong_pins"],
                if flags.is_empty() { String::new() } else { format!("\n  token reports: {flags}") }
            );
        }
        emit(&o);
        for p in &scan.problems {
            eprintln!("warning: {p}");
        }
    }
    match env.command_line_module_errors(&tokens) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

pub fn certs(env: &Env, json: bool) -> Result<()> {
    let tokens = env.load_tokens();
    let scan = tokens.scan(time::OffsetDateTime::now_utc());
    let mut o = String::new();
    if json {
        let certs: Vec<serde_json::Value> = scan
            .certificates
            .iter()
            .map(|c| {
                let mut v = serde_json::to_value(c).unwrap_or_default();
                v["not_usable_text"] = json!(c.not_usable_text());
                v["cca_class_label"] = json!(c.facts.cca_class.map(|k| k.label()));
                v
            })
            .collect();
        print_json(&json!({ "certificates": certs, "problems": scan.problems }))?;
    } else {
        if scan.certificates.is_empty() {
            let _ = writeln!(
                o,
                "No certificates found (is the token inserted? see `mohor tokens`)."
            );
        }
        for c in &scan.certificates {
            let f = &c.facts;
            let _ = writeln!(
                o,
                "{}  {}  [{}]\n  issuer {}  serial {}\n  valid {} to {}  {}  {}  token \"{}\"",
                c.id,
                f.subject_cn,
                if c.usable {
                    "can sign".to_string()
                } else {
                    format!("cannot sign: {}", c.not_usable_text())
                },
                f.issuer_cn,
                f.serial,
                date(f.not_before),
                date(f.not_after),
                f.cca_class.map(|k| k.label()).unwrap_or("no CCA class"),
                f.key_algorithm,
                c.token.label
            );
            if !f.key_usage.is_empty() {
                let _ = writeln!(o, "  key usage: {}", f.key_usage.join(", "));
            }
            if f.pan_hash.is_some() {
                let _ = writeln!(o, "  carries a PAN hash");
            }
            if let Some(note) = c.key_note() {
                let _ = writeln!(o, "  {note}");
            }
            let _ = writeln!(o);
        }
        emit(&o);
        for p in &scan.problems {
            eprintln!("warning: {p}");
        }
    }
    match env.command_line_module_errors(&tokens) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
