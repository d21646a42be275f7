//! `mohor extend FILE --level B-LTA -o OUT`: add long-term validation data
//! to a signed PDF later — the DSS for every signature and time-stamp in
//! it, then (B-LTA) a fresh document time-stamp. Run it before the last
//! time-stamp's certificate expires to keep the document verifiable
//! (archive renewal). No token and no PIN are involved.

use std::path::PathBuf;

use clap::Args;

use super::Env;
use crate::error::{Error, Result};
use crate::ltv::{pades, Level, Ltv};
use crate::net::UreqClient;

#[derive(Debug, Args)]
pub struct ExtendArgs {
    /// The signed PDF (never modified).
    pub input: PathBuf,
    /// Where to write the extended PDF (written atomically).
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// B-LT (revocation data) or B-LTA (revocation data and a new document time-stamp).
    #[arg(long, value_name = "LEVEL", default_value = "B-LTA")]
    pub level: Level,
    /// The RFC 3161 time-stamp service to use instead of `[timestamp] url`.
    #[arg(long, value_name = "URL")]
    pub tsa: Option<String>,
    /// Open an encrypted PDF with the password on the first line of FILE
    /// (as `mohor sign --pdf-password-file`).
    #[arg(long, value_name = "FILE")]
    pub pdf_password_file: Option<PathBuf>,
}

pub fn extend(env: &Env, args: &ExtendArgs) -> Result<()> {
    super::sign::refuse_same_file(&args.input, &args.output)?;
    let ts = &env.config.timestamp;
    let mut known = Vec::new();
    for path in &env.config.ca_certificates {
        let text = std::fs::read(path)
            .map_err(|e| Error::io(format!("cannot read CA file {}", path.display()), &e))?;
        known.extend(crate::pem::certificates(&text));
    }
    let (url, http) = match &args.tsa {
        Some(url) => (Some(url.clone()), UreqClient::new(ts.timeout)),
        None => (
            ts.url.clone(),
            UreqClient::new(ts.timeout).with_credentials(
                ts.url.as_deref().unwrap_or_default(),
                ts.credentials.clone(),
            ),
        ),
    };
    let ltv = Ltv::new(&http, url, &known, time::OffsetDateTime::now_utc());
    ltv.preflight(args.level)?;
    let password = args
        .pdf_password_file
        .as_deref()
        .map(super::sign::read_password_file)
        .transpose()?;
    pades::extend(&args.input, &args.output, args.level, &ltv, password)?;
    eprintln!(
        "Extended {} to {} → {}",
        args.input.display(),
        args.level.as_str(),
        args.output.display()
    );
    Ok(())
}
