//! Helpers for the PDF signing tests: signers from the test PKI, and the
//! three outside judges (qpdf, pyHanko, pdfsig) with their verdicts parsed.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use mohor::pdf::{PdfSignOptions, VisibleStamp};
use time::macros::datetime;

#[path = "../common/mod.rs"]
pub mod common;
pub mod variants;
pub mod xfa;

#[allow(unused_imports)]
pub use common::{have_tool, pyhanko, test_dir, text, Fixture};

pub const ISSUER: &str = "Test Class 3 CA 2026";

pub fn corpus_dir() -> PathBuf {
    common::repo().join("../shared/corpus/pdf")
}

/// A fixed document `/ID` for [`common::classic_pdf`]'s trailer, so that a
/// made-up test PDF is the same bytes on every run.
pub const FIXED_ID: &str =
    " /ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>]";

/// Is the shared corpus there? Missing corpus: loud skip locally, failure in CI.
pub fn corpus_available() -> bool {
    if corpus_dir().is_dir() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("the test corpus {} is missing", corpus_dir().display());
    }
    eprintln!(
        "SKIPPED: the test corpus {} is missing",
        corpus_dir().display()
    );
    false
}

pub fn corpus(name: &str) -> PathBuf {
    corpus_dir().join(name)
}

pub fn fixture() -> &'static Fixture {
    Fixture::shared()
}

#[cfg(feature = "software-signer")]
pub fn signer(name: &str) -> mohor::sign::software::SoftwareSigner {
    fixture().software_signer(name)
}

pub fn opts(name: &str) -> PdfSignOptions {
    let cn = fixture().cert(name).cn;
    let mut o = PdfSignOptions::new(cn, ISSUER);
    o.signing_time = datetime!(2026-11-23 09:50:11 UTC);
    o.reason = Some("Approved for payment of ₹ 1,20,000".into());
    o.location = Some("New Delhi".into());
    o
}

pub fn stamp(page: u32, x: f64, y: f64, w: f64, h: f64) -> Option<VisibleStamp> {
    Some(VisibleStamp { page, x, y, w, h })
}

/// Are all three judges installed? (Loud skip locally, failure in CI.)
pub fn judges_available() -> bool {
    have_tool("qpdf") & have_tool("pdfsig") & have_tool("certutil") & pyhanko().is_some()
}

pub fn qpdf_check(file: &Path) -> (i32, String) {
    qpdf_check_opened(file, None)
}

/// A password a judge opens an encrypted file with. qpdf takes either
/// under `--password`; pdfsig takes the owner's under `-opw`.
#[derive(Debug, Clone, Copy)]
pub enum Password<'a> {
    User(&'a str),
    Owner(&'a str),
}

impl Password<'_> {
    fn text(&self) -> &str {
        match self {
            Password::User(p) | Password::Owner(p) => p,
        }
    }
}

/// `qpdf --check`, with the password that opens the file.
pub fn qpdf_check_opened(file: &Path, password: Option<Password<'_>>) -> (i32, String) {
    let mut cmd = Command::new("qpdf");
    cmd.arg("--check");
    if let Some(pw) = password {
        cmd.arg(format!("--password={}", pw.text()));
    }
    let out = judged(cmd.arg(file), file);
    (out.status.code().unwrap_or(-1), text(&out))
}

/// pyHanko's verdict on one signature field, from its summary line
/// `FIELD:FINGERPRINT:INTACT:TRUSTED,UNTOUCHED`.
#[derive(Debug, Clone)]
pub struct HankoVerdict {
    pub output: String,
    pub line: String,
    pub ok: bool,
}

impl HankoVerdict {
    fn flags(&self) -> Vec<&str> {
        self.line
            .rsplit(':')
            .take(2)
            .flat_map(|p| p.split(','))
            .collect()
    }
    pub fn intact(&self) -> bool {
        self.flags().contains(&"INTACT")
    }
    pub fn trusted(&self) -> bool {
        self.flags().contains(&"TRUSTED")
    }
    /// Untouched (the last signature) or only permitted changes since.
    pub fn acceptable(&self) -> bool {
        let f = self.flags();
        f.contains(&"UNTOUCHED") || f.contains(&"ACCEPTABLE_MODIFICATIONS")
    }
    pub fn valid(&self) -> bool {
        self.intact() && self.trusted() && self.acceptable()
    }
}

/// A judge's answer about `file`, run once per command and file content.
///
/// The judges are functions of their arguments and the file's bytes, and a
/// test often asks the same question twice: a signed output is judged, then
/// read for the statuses its earlier signatures keep, then it is the next
/// signatory's input. A pyHanko start costs most of a second of CPU; the
/// corpus tests ask it about every file three times over. The content is
/// part of the key (not the path or the mtime), so a file changed in place,
/// as the tamper tests do, is judged again.
fn judged(cmd: &mut Command, file: &Path) -> Output {
    static ANSWERS: Mutex<BTreeMap<(String, String), Output>> = Mutex::new(BTreeMap::new());
    let Ok(bytes) = std::fs::read(file) else {
        return common::run(cmd);
    };
    let key = (format!("{cmd:?}"), common::hex_sha256(&bytes));
    let answers = || ANSWERS.lock().unwrap_or_else(|e| e.into_inner());
    let known = answers().get(&key).cloned();
    if let Some(out) = known {
        return out;
    }
    let out = common::run(cmd);
    answers().insert(key, out.clone());
    out
}

/// Files pyHanko cannot read in its default strict mode whoever signs them
/// (its strict parser rejects every hybrid cross-reference file).
pub fn needs_lenient_pyhanko(file: &Path) -> bool {
    let bytes = std::fs::read(file).unwrap_or_default();
    bytes.windows(8).any(|w| w == b"/XRefStm")
}

fn pyhanko_cmd(file: &Path, pretty: bool) -> Command {
    let mut cmd = common::pyhanko_validate_command(&fixture().root).expect("pyhanko");
    if needs_lenient_pyhanko(file) {
        cmd.arg("--no-strict-syntax");
    }
    if pretty {
        cmd.arg("--pretty-print");
    }
    cmd.arg(file);
    cmd
}

/// pyHanko's verdict on `field`; the output includes the pretty report.
pub fn pyhanko_validate(file: &Path, field: &str) -> HankoVerdict {
    let out = judged(&mut pyhanko_cmd(file, false), file);
    let summary = text(&out);
    let line = summary
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))
        .unwrap_or_default()
        .to_string();
    let mut v = HankoVerdict {
        output: summary,
        line,
        ok: out.status.success(),
    };
    if v.line.is_empty() {
        // The CLI validates every field and aborts at the first one it
        // cannot process; when that is a signature that was already broken
        // in the input, ask pyHanko's library about our field alone.
        let script = common::repo().join("tests/pdf_util/validate_field.py");
        let python = common::repo().join(".venv/bin/python");
        let mode = if needs_lenient_pyhanko(file) {
            "lenient"
        } else {
            "strict"
        };
        let out = common::run(
            Command::new(python)
                .arg(script)
                .arg(fixture().root.as_path())
                .arg(mode)
                .arg(field)
                .arg(file),
        );
        let t = text(&out);
        v.line = t
            .lines()
            .find(|l| l.starts_with(&format!("{field}:")))
            .unwrap_or_default()
            .to_string();
        v.output = format!("{}\n(per-field validation)\n{t}", v.output);
    }
    if !v.valid() {
        let pretty = common::run(&mut pyhanko_cmd(file, true));
        v.output = format!("{}\n{}", v.output, text(&pretty));
    }
    v
}

/// pyHanko's summary flags for every signature, by field name.
pub fn pyhanko_statuses(file: &Path) -> Vec<(String, String)> {
    let out = judged(&mut pyhanko_cmd(file, false), file);
    text(&out)
        .lines()
        .filter_map(|l| {
            let (field, rest) = l.split_once(':')?;
            let flags = rest.split_once(':').map(|(_, f)| f)?;
            Some((field.to_string(), flags.to_string()))
        })
        .collect()
}

/// pdfsig's report: one status line per signature, in file order.
#[derive(Debug, Clone)]
pub struct PdfsigReport {
    pub output: String,
    pub signatures: Vec<PdfsigSignature>,
}

#[derive(Debug, Clone)]
pub struct PdfsigSignature {
    pub field: String,
    pub validation: String,
    pub certificate: String,
    pub whole_file: bool,
}

impl PdfsigSignature {
    pub fn valid(&self) -> bool {
        self.validation == "Signature is Valid."
    }
}

pub fn pdfsig(file: &Path) -> PdfsigReport {
    pdfsig_opened(file, None)
}

/// pdfsig's report (trusting the test root) on a file opened with `password`.
pub fn pdfsig_opened(file: &Path, password: Option<Password<'_>>) -> PdfsigReport {
    let mut cmd = Command::new("pdfsig");
    match password {
        Some(Password::User(pw)) => cmd.arg("-upw").arg(pw),
        Some(Password::Owner(pw)) => cmd.arg("-opw").arg(pw),
        None => &mut cmd,
    };
    let db = format!("sql:{}", fixture().nssdb.display());
    let out = judged(cmd.arg("-nssdir").arg(&db).arg(file), file);
    let output = text(&out);
    let mut signatures: Vec<PdfsigSignature> = Vec::new();
    for line in output.lines() {
        let l = line.trim();
        if l.starts_with("Signature #") {
            signatures.push(PdfsigSignature {
                field: String::new(),
                validation: String::new(),
                certificate: String::new(),
                whole_file: false,
            });
        } else if let Some(s) = signatures.last_mut() {
            if let Some(v) = l.strip_prefix("- Signature Field Name: ") {
                s.field = v.to_string();
            } else if let Some(v) = l.strip_prefix("- Signature Validation: ") {
                s.validation = v.to_string();
            } else if let Some(v) = l.strip_prefix("- Certificate Validation: ") {
                s.certificate = v.to_string();
            } else if l.starts_with("- Total document signed") {
                s.whole_file = true;
            }
        }
    }
    PdfsigReport { output, signatures }
}

/// Field name → pdfsig validation text, for before/after comparisons.
pub fn pdfsig_statuses(file: &Path) -> Vec<(String, String)> {
    pdfsig(file)
        .signatures
        .into_iter()
        .map(|s| (s.field, s.validation))
        .collect()
}

/// Every check the brief asks of a freshly signed file, for the field just
/// added. Returns a description of the first failure.
pub fn judge_new_signature(file: &Path, field: &str, input_qpdf: i32) -> Result<(), String> {
    let (code, out) = qpdf_check(file);
    if !(code == 0 || (code == 3 && input_qpdf == 3)) {
        return Err(format!(
            "qpdf --check exit {code} (input {input_qpdf}):\n{out}"
        ));
    }
    let v = pyhanko_validate(file, field);
    if !v.valid() {
        return Err(format!("pyHanko on {field}:\n{}", v.output));
    }
    let report = pdfsig(file);
    let Some(sig) = report.signatures.iter().find(|s| s.field == field) else {
        return Err(format!("pdfsig does not list {field}:\n{}", report.output));
    };
    if !sig.valid() || !sig.certificate.contains("Trusted") {
        return Err(format!("pdfsig on {field}:\n{}", report.output));
    }
    Ok(())
}

/// The text poppler's pdftotext copies out of `file` (of one page, 1-based,
/// when `page` is given), stamps included.
pub fn pdftotext(file: &Path, page: Option<u32>) -> String {
    let mut cmd = Command::new("pdftotext");
    if let Some(p) = page {
        let p = p.to_string();
        cmd.args(["-f", &p, "-l", &p]);
    }
    let out = common::run(cmd.arg(file).arg("-"));
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn artifacts_dir() -> PathBuf {
    let d = common::repo().join("target/test-artifacts");
    std::fs::create_dir_all(&d).expect("create target/test-artifacts");
    d
}

/// Sign `input` into `output` with pyHanko's own signer (a second,
/// independent PAdES writer), as `who` from the test PKI, into a new
/// invisible field `field`.
pub fn pyhanko_addsig(input: &Path, output: &Path, field: &str, who: &str) -> Result<(), String> {
    let py = pyhanko().ok_or("pyhanko is not installed")?;
    let c = fixture().cert(who);
    let mut cmd = Command::new(py);
    cmd.args(["sign", "addsig", "--field", field]);
    if needs_lenient_pyhanko(input) {
        cmd.arg("--no-strict-syntax");
    }
    cmd.arg("pemder")
        .arg("--key")
        .arg(&c.key)
        .arg("--cert")
        .arg(&c.cert)
        .arg("--chain")
        .arg(&fixture().chain)
        .arg("--no-pass");
    cmd.arg(input).arg(output);
    let out = common::run(&mut cmd);
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("pyhanko sign addsig failed:\n{}", text(&out)))
    }
}

/// pyHanko's summary for every signature (`FIELD:…:INTACT:TRUSTED,…`),
/// opening an encrypted file with `password`.
pub fn pyhanko_lines(file: &Path, password: Option<&str>) -> String {
    let mut cmd = pyhanko_cmd_pw(file, password);
    text(&common::run(&mut cmd))
}

fn pyhanko_cmd_pw(file: &Path, password: Option<&str>) -> Command {
    let py = pyhanko().expect("pyhanko");
    let mut cmd = Command::new(py);
    cmd.args([
        "sign",
        "validate",
        "--no-revocation-check",
        "--trust-replace",
    ])
    .arg("--trust")
    .arg(fixture().root.as_path());
    if needs_lenient_pyhanko(file) {
        cmd.arg("--no-strict-syntax");
    }
    if let Some(pw) = password {
        cmd.args(["--password", pw]);
    }
    cmd.arg(file);
    cmd
}

/// Every signature pyHanko lists is intact and trusted, the newest one
/// untouched or acceptably extended, every earlier one only acceptably
/// modified since. Returns pyHanko's output when not.
pub fn all_signatures_acceptable(
    file: &Path,
    password: Option<&str>,
    expected: usize,
) -> Result<(), String> {
    let out = pyhanko_lines(file, password);
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| l.matches(':').count() >= 3 && !l.starts_with(' '))
        .collect();
    let ok = |l: &str| {
        let flags: Vec<&str> = l.rsplit(':').take(2).flat_map(|p| p.split(',')).collect();
        flags.contains(&"INTACT")
            && flags.contains(&"TRUSTED")
            && (flags.contains(&"UNTOUCHED") || flags.contains(&"ACCEPTABLE_MODIFICATIONS"))
    };
    if lines.len() != expected || !lines.iter().all(|l| ok(l)) {
        return Err(format!(
            "pyHanko on {} (expected {expected} acceptable signatures):\n{out}",
            file.display()
        ));
    }
    Ok(())
}
