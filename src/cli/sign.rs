//! `mohor sign`.

use std::path::{Path, PathBuf};

use clap::Args;

use super::Env;
use crate::error::{Error, Reason, Result};
use crate::service::Requester;

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The document to sign (never modified).
    pub input: PathBuf,
    /// Where to write the signed PDF or the .p7s (written atomically).
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// Certificate id from `mohor certs` (optional when only one can sign).
    #[arg(long, value_name = "ID")]
    pub cert: Option<String>,
    /// Make a detached CMS (CAdES-B) signature of any file instead of signing a PDF.
    #[arg(long)]
    pub detached: bool,
    /// With --detached: add this signer to an existing .p7s over the same file.
    #[arg(long, value_name = "OLD.p7s", requires = "detached")]
    pub cosign: Option<PathBuf>,
    /// PDF: reason shown in the signature.
    #[arg(long, value_name = "TEXT", conflicts_with = "detached")]
    pub reason: Option<String>,
    /// PDF: location shown in the signature.
    #[arg(long, value_name = "TEXT", conflicts_with = "detached")]
    pub location: Option<String>,
    /// PDF: draw a visible stamp on PAGE (1-based) at X,Y with size W,H (points).
    #[arg(long, value_name = "PAGE,X,Y,W,H", conflicts_with = "detached")]
    pub visible: Option<String>,
    /// PDF: sign into this existing empty signature field (or name the new one).
    #[arg(long, value_name = "NAME", conflicts_with = "detached")]
    pub field: Option<String>,
    /// PDF: certify the document (first signatory; later ones may only fill signature fields).
    #[arg(long, conflicts_with = "detached")]
    pub certify: bool,
    /// PDF: open an encrypted PDF with the password on the first line of FILE
    /// (a file, never an argument, so it stays out of the process list and history).
    #[arg(long, value_name = "FILE", conflicts_with = "detached")]
    pub pdf_password_file: Option<PathBuf>,
}

pub fn sign(env: &Env, args: &SignArgs) -> Result<()> {
    refuse_same_file(&args.input, &args.output)?;
    let tokens = env.load_tokens();
    if let Some(e) = env.command_line_module_errors(&tokens) {
        return Err(e);
    }
    let agent = env.agent(tokens)?;
    let who = Requester::cli();
    let name = args
        .input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| args.input.display().to_string());
    if args.detached {
        let existing = match &args.cosign {
            Some(p) => Some(
                std::fs::read(p)
                    .map_err(|e| Error::io(format!("cannot read {}", p.display()), &e))?,
            ),
            None => None,
        };
        let signed = agent.sign_data_file(
            &who,
            args.cert.as_deref(),
            &args.input,
            &name,
            existing.as_deref(),
        )?;
        crate::atomic::write_atomic(&args.output, &signed.output)
            .map_err(|e| Error::io(format!("cannot write {}", args.output.display()), &e))?;
        eprintln!(
            "Signed {} as {} → {}",
            args.input.display(),
            signed.signer,
            args.output.display()
        );
        return Ok(());
    }
    let request = crate::service::PdfRequest {
        reason: args.reason.clone(),
        location: args.location.clone(),
        field: args.field.clone(),
        visible: args.visible.as_deref().map(parse_visible).transpose()?,
        visible_auto: false,
        certify: args.certify,
        password: args
            .pdf_password_file
            .as_deref()
            .map(read_password_file)
            .transpose()?,
    };
    let signed = agent.sign_pdf_file(
        &who,
        args.cert.as_deref(),
        &args.input,
        &args.output,
        &name,
        &request,
    )?;
    eprintln!(
        "Signed {} as {} in field {} → {}",
        args.input.display(),
        signed.signer,
        signed.output.field_name,
        args.output.display()
    );
    Ok(())
}

/// The first line of `path` (without its line ending) as a PDF password.
fn read_password_file(path: &Path) -> Result<crate::pdf::PdfPassword> {
    let bytes = zeroize::Zeroizing::new(
        std::fs::read(path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), &e))?,
    );
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Ok(crate::pdf::PdfPassword::new(line.to_vec()))
}

/// `PAGE,X,Y,W,H` → a stamp box.
fn parse_visible(text: &str) -> Result<crate::pdf::VisibleStamp> {
    let bad = || {
        Error::new(
            Reason::InvalidRequest,
            format!("--visible {text}: expected PAGE,X,Y,W,H, e.g. 1,360,40,200,70"),
        )
    };
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [page, x, y, w, h] = parts.as_slice() else {
        return Err(bad());
    };
    let num = |s: &str| {
        s.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(bad)
    };
    let stamp = crate::pdf::VisibleStamp {
        page: page.parse().map_err(|_| bad())?,
        x: num(x)?,
        y: num(y)?,
        w: num(w)?,
        h: num(h)?,
    };
    if stamp.page == 0 || stamp.w <= 0.0 || stamp.h <= 0.0 {
        return Err(bad());
    }
    Ok(stamp)
}

/// Writing the output over the input would destroy the original.
fn refuse_same_file(input: &Path, output: &Path) -> Result<()> {
    let same = match (input.canonicalize(), output.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        return Err(
            Error::new(Reason::InvalidRequest, "the output file is the input file").with_hint(
                "write the signed copy to another file; Mohor never changes the original",
            ),
        );
    }
    if !input.is_file() {
        return Err(Error::new(
            Reason::IoError,
            format!("{} is not a readable file", input.display()),
        ));
    }
    Ok(())
}
