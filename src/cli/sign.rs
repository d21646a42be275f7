//! `mohor sign`.

use std::path::{Path, PathBuf};

use clap::Args;

use super::Env;
use crate::error::{Error, Reason, Result};
use crate::ltv::Level;
use crate::service::{DataItem, Item, Job, Outcome, Output, PdfItem, PdfRequest, Requester};

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The documents to sign (never modified). Several need --out-dir.
    #[arg(required = true, num_args = 1..)]
    pub input: Vec<PathBuf>,
    /// Where to write the signed PDF or the .p7s (written atomically).
    #[arg(short, long, value_name = "OUT", required_unless_present = "out_dir")]
    pub output: Option<PathBuf>,
    /// Batch: write each signed file into DIR under its own name (a .p7s gets
    /// `.p7s` added); one consent, one PIN, one result line per file.
    #[arg(long, value_name = "DIR", conflicts_with = "output")]
    pub out_dir: Option<PathBuf>,
    /// Certificate id from `mohor certs` (optional when only one can sign).
    #[arg(long, value_name = "ID")]
    pub cert: Option<String>,
    /// Make a detached CMS (CAdES-B) signature of any file instead of signing a PDF.
    #[arg(long)]
    pub detached: bool,
    /// With --detached: add this signer to an existing .p7s over the same file.
    #[arg(
        long,
        value_name = "OLD.p7s",
        requires = "detached",
        conflicts_with = "out_dir"
    )]
    pub cosign: Option<PathBuf>,
    /// PDF: reason shown in the signature.
    #[arg(long, value_name = "TEXT", conflicts_with = "detached")]
    pub reason: Option<String>,
    /// PDF: location shown in the signature.
    #[arg(long, value_name = "TEXT", conflicts_with = "detached")]
    pub location: Option<String>,
    /// PDF: draw a visible stamp on PAGE (1-based) at X,Y with size W,H (points).
    /// Parsed by clap, so a malformed box is a usage error (exit 2).
    #[arg(long, value_name = "PAGE,X,Y,W,H", conflicts_with = "detached", value_parser = parse_visible)]
    pub visible: Option<crate::pdf::VisibleStamp>,
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
    /// PDF: a certificate's unique number (16 characters, e.g. AMD0152022000001:
    /// department code, service code, year, serial), printed in the stamp.
    #[arg(long, value_name = "UIN", conflicts_with = "detached")]
    pub uin: Option<String>,
    /// PDF: text drawn as a QR code in the stamp (with --uin it must contain
    /// the UIN; --uin alone puts the UIN in the QR code).
    #[arg(long, value_name = "TEXT", conflicts_with = "detached")]
    pub qr: Option<String>,
    /// PDF: force this QR version (1-40; default: the smallest that holds the
    /// payload). Version 40 is 177 modules: at 3 cm each is 0.17 mm, which
    /// many phone cameras cannot resolve.
    #[arg(long, value_name = "N", conflicts_with = "detached")]
    pub qr_version: Option<u8>,
    /// Signature level: B-B (default), B-T (a time-stamp from the TSA),
    /// B-LT (PDF: plus revocation data in the document), B-LTA (PDF: plus a
    /// document time-stamp). Detached signatures go up to B-T (CAdES-T).
    #[arg(long, value_name = "LEVEL", default_value = "B-B")]
    pub level: Level,
    /// The RFC 3161 time-stamp service to use instead of `[timestamp] url`.
    #[arg(long, value_name = "URL")]
    pub tsa: Option<String>,
}

/// One file of the command line and where its result goes.
struct Planned {
    input: PathBuf,
    output: PathBuf,
}

pub fn sign(env: &Env, args: &SignArgs) -> Result<()> {
    let planned = plan(args)?;
    if let Some(output) = &args.output {
        refuse_unwritable_output(output)?;
    }
    for p in &planned {
        if args.out_dir.is_some() {
            // A batch item that cannot be read is that item's failure, said
            // on its own line; it never costs the others (docs/CLI.md).
            refuse_output_over_input(&p.input, &p.output)?;
        } else {
            refuse_same_file(&p.input, &p.output)?;
        }
        // The earlier signature is an input too: written over, a failed or
        // mistaken co-signature would leave no copy of what the others signed.
        if let Some(old) = &args.cosign {
            if crate::atomic::same_file(old, &p.output) {
                return Err(Error::new(
                    Reason::InvalidRequest,
                    "the output file is the earlier signature given with --cosign",
                )
                .with_hint(
                    "write the co-signed .p7s to another file; Mohor never changes the original",
                ));
            }
        }
    }
    // Checked before tokens are touched: a malformed UIN never costs a PIN.
    let request = pdf_request(args)?;
    let tokens = env.load_tokens();
    if let Some(e) = env.command_line_module_errors(&tokens) {
        return Err(e);
    }
    let agent = env.agent(tokens)?.with_tsa_url(args.tsa.clone());
    let cosign = match &args.cosign {
        Some(p) => Some(std::fs::read(p).map_err(|e| {
            Error::io(format!("cannot read {}", p.display()), &e)
                .with_hint("check the path given with --cosign: the .p7s the earlier signers made")
        })?),
        None => None,
    };
    let items = planned
        .iter()
        .map(|p| {
            let name = display_name(&p.input);
            if args.detached {
                Item::Data(DataItem {
                    input: p.input.clone(),
                    name,
                    cosign: cosign.clone(),
                    level: args.level,
                    output: Some(p.output.clone()),
                })
            } else {
                Item::Pdf(PdfItem {
                    input: p.input.clone(),
                    output: p.output.clone(),
                    name,
                    request: request.clone(),
                })
            }
        })
        .collect();
    let job = Job {
        items,
        certificate_ids: args.cert.clone().into_iter().collect(),
        batch: args.out_dir.is_some(),
    };
    let outcome = agent.sign(&Requester::cli(), &job)?;
    report(&planned, outcome)
}

/// Say one line per file; exit 1 if any failed.
fn report(planned: &[Planned], outcome: Outcome) -> Result<()> {
    use std::fmt::Write as _;
    let mut failed = 0usize;
    // Said in one write: stderr is unbuffered, and a hundred lines of eight
    // pieces each were eight hundred system calls.
    let mut lines = String::new();
    let mut reasons = Vec::new();
    for (p, result) in planned.iter().zip(outcome.items) {
        // The pipeline has written every output (before auditing it).
        let written = result.map(|output| match output {
            Output::Cms(_) => String::new(),
            Output::Pdf(signed) => format!(" in field {}", signed.field_name),
        });
        let _ = match written {
            Ok(field) => writeln!(
                lines,
                "Signed {} as {}{field} → {}",
                p.input.display(),
                outcome.signer,
                p.output.display()
            ),
            Err(e) => {
                failed += 1;
                reasons.push(e.reason);
                writeln!(
                    lines,
                    "Not signed {}: {e} [{}]",
                    p.input.display(),
                    e.reason
                )
            }
        };
    }
    // A closed stderr loses the lines, not the signatures (or the exit code).
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), lines.as_bytes());
    // The summary's reason is the items' own when they share one (a full
    // disk is IO_ERROR on the last line too, not "refused").
    let reason = match reasons.split_first() {
        Some((first, rest)) if rest.iter().all(|r| r == first) => *first,
        _ => Reason::DocumentRefused,
    };
    match (failed, planned.len()) {
        (0, _) => Ok(()),
        // A single file's error was already said in full above.
        (_, 1) => Err(Error::new(reason, "the file was not signed")),
        (n, all) => Err(
            Error::new(reason, format!("{n} of {all} files were not signed"))
                .with_hint("each line above says why; the other files are signed"),
        ),
    }
}

/// The output of each input: `-o` for one file, `DIR/name` for a batch.
fn plan(args: &SignArgs) -> Result<Vec<Planned>> {
    match (&args.output, &args.out_dir) {
        (Some(output), None) => match args.input.as_slice() {
            [input] => Ok(vec![Planned {
                input: input.clone(),
                output: output.clone(),
            }]),
            // usage_problem() stopped this before the command ran.
            _ => Err(Error::new(
                Reason::InvalidRequest,
                "several files need --out-dir DIR, not -o OUT",
            )),
        },
        (None, Some(dir)) => {
            if !dir.is_dir() {
                return Err(Error::new(
                    Reason::IoError,
                    format!("{} is not a directory", dir.display()),
                )
                .with_hint("create the output directory first"));
            }
            let mut planned: Vec<Planned> = Vec::new();
            let mut outputs = std::collections::HashSet::new();
            for input in &args.input {
                let mut name = input
                    .file_name()
                    .ok_or_else(|| {
                        Error::invalid_request(format!("{} names no file", input.display()))
                    })?
                    .to_os_string();
                if args.detached {
                    name.push(".p7s");
                }
                let output = dir.join(name);
                if !outputs.insert(output.clone()) {
                    return Err(Error::invalid_request(format!(
                        "two inputs would be written to {}; rename one",
                        output.display()
                    )));
                }
                planned.push(Planned {
                    input: input.clone(),
                    output,
                });
            }
            Ok(planned)
        }
        _ => Err(Error::new(
            Reason::InvalidRequest,
            "give either -o OUT (one file) or --out-dir DIR",
        )),
    }
}

fn display_name(input: &Path) -> String {
    input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| input.display().to_string())
}

fn pdf_request(args: &SignArgs) -> Result<PdfRequest> {
    let certificate = args.uin.is_some() || args.qr.is_some() || args.qr_version.is_some();
    if certificate {
        crate::pdf::CertificateStamp::check(
            args.uin.as_deref(),
            args.qr.as_deref(),
            args.qr_version,
        )
        .map_err(|why| Error::new(Reason::InvalidRequest, why))?;
        if args.qr_version.is_some() && args.uin.is_none() && args.qr.is_none() {
            return Err(Error::new(
                Reason::InvalidRequest,
                "--qr-version needs --qr or --uin",
            ));
        }
    }
    Ok(PdfRequest {
        reason: args.reason.clone(),
        location: args.location.clone(),
        field: args.field.clone(),
        visible: args.visible,
        // A certificate stamp is visible: placed automatically unless --visible.
        visible_auto: certificate && args.visible.is_none(),
        certify: args.certify,
        uin: args.uin.clone(),
        qr: args.qr.clone(),
        qr_version: args.qr_version,
        level: args.level,
        password: args
            .pdf_password_file
            .as_deref()
            .map(read_password_file)
            .transpose()?,
    })
}

/// The first line of `path` (without its line ending) as a PDF password.
pub(super) fn read_password_file(path: &Path) -> Result<crate::pdf::PdfPassword> {
    let bytes = zeroize::Zeroizing::new(
        std::fs::read(path)
            .map_err(|e| {
                Error::io(format!("cannot read {}", path.display()), &e).with_hint(
                    "check the path given with --pdf-password-file: a file whose first line is the password",
                )
            })?,
    );
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Ok(crate::pdf::PdfPassword::new(line.to_vec()))
}

/// `PAGE,X,Y,W,H` → a stamp box; the error is clap's message (after
/// "invalid value '…' for '--visible <PAGE,X,Y,W,H>': ").
fn parse_visible(text: &str) -> std::result::Result<crate::pdf::VisibleStamp, String> {
    let bad = || {
        "expected PAGE,X,Y,W,H (page from 1, width and height above 0), e.g. 1,360,40,200,70"
            .to_string()
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

/// A command line clap accepts but that cannot mean anything: said as a
/// usage error (exit 2), like clap's own, before anything is read.
pub(super) fn usage_problem(args: &SignArgs) -> Option<&'static str> {
    (args.output.is_some() && args.input.len() > 1)
        .then_some("several files need --out-dir DIR, not -o OUT")
}

/// An output that cannot be written whatever happens (its folder is missing,
/// or it names a folder) is said before the consent and the PIN: found only
/// at the end, it cost a login and a signature that were thrown away.
fn refuse_unwritable_output(output: &Path) -> Result<()> {
    if output.is_dir() {
        return Err(Error::new(
            Reason::IoError,
            format!("the output {} is a folder", output.display()),
        )
        .with_hint("give a file name after -o (or use --out-dir DIR for a batch)"));
    }
    let folder = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        return Err(Error::new(
            Reason::IoError,
            format!(
                "cannot write {}: the folder {} does not exist",
                output.display(),
                folder.display()
            ),
        )
        .with_hint("create the folder first, or write the signed copy elsewhere"));
    }
    Ok(())
}

/// Writing the output over the input would destroy the original.
fn refuse_output_over_input(input: &Path, output: &Path) -> Result<()> {
    if crate::atomic::same_file(input, output) {
        return Err(
            Error::new(Reason::InvalidRequest, "the output file is the input file").with_hint(
                "write the signed copy to another file; Mohor never changes the original",
            ),
        );
    }
    Ok(())
}

/// As [`refuse_output_over_input`], and the input must be a readable file.
pub(super) fn refuse_same_file(input: &Path, output: &Path) -> Result<()> {
    refuse_output_over_input(input, output)?;
    if !input.is_file() {
        return Err(Error::new(
            Reason::IoError,
            format!("{} is not a readable file", input.display()),
        )
        .with_hint("check that the file exists and that you may read it"));
    }
    Ok(())
}
