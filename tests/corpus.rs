//! Every third-party PDF in `../shared/corpus/pdf` either signs (twice, by
//! two signatories, with every judge satisfied) or is refused cleanly.
//! See `../shared/corpus/README.md` for what each file must get. Each file
//! is also tried with bytes before its header, with bytes after its last
//! `%%EOF`, linearized, and encrypted seven ways (see `pdf_util::variants`).
#![cfg(feature = "software-signer")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod pdf_util;

use std::path::Path;
use std::sync::Mutex;

use mohor::pdf::{self, PdfError};
use mohor::Reason;
use pdf_util::variants::{self, HankoJob, Variant};
use pdf_util::*;

/// Files that must be refused (certified with DocMDP P=1).
const MUST_REFUSE: &[&str] = &["qpdf-minimal-signed-restricted.pdf"];

/// Files that may be refused: encrypted and damaged ones.
fn may_refuse(name: &str) -> bool {
    name.contains("aes256")
        || name.starts_with("qpdf-enc-")
        || name.starts_with("qpdf-issue-")
        || name.starts_with("qpdf-bad1")
        || [
            "pyhanko-minimal-badxref.pdf",
            "pyhanko-minimal-startxref-obo1.pdf",
            "pyhanko-broken-objstream1.pdf",
            "pyhanko-circular-page-tree.pdf",
            "pyhanko-minimal-illegal-header.pdf",
        ]
        .contains(&name)
}

#[derive(Debug)]
enum Outcome {
    Signed,
    Refused(String),
}

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Sign `input` into `output` as `who`, and check everything the README
/// asks of the result. `Ok(None)` when signed, `Ok(Some(reason))` when
/// refused cleanly.
fn sign_and_judge(input: &Path, output: &Path, who: &str) -> Result<Option<String>, String> {
    let before = std::fs::read(input).map_err(|e| e.to_string())?;
    let input_qpdf = qpdf_check(input).0;
    let old_pdfsig = pdfsig_statuses(input);
    let old_hanko = pyhanko_statuses(input);
    let dir = output.parent().unwrap_or(Path::new("."));
    let entries_before = dir_entries(dir);

    let mut s = signer(who);
    let mut o = opts(who);
    o.visible_auto = true;
    let mut result = pdf::sign_file(input, output, &mut s, &o);
    // A certified document takes only invisible new signatures, and a page
    // covered by signature fields has no room for another stamp: a caller
    // then signs invisibly, and so does this test.
    let retry_invisible = match &result {
        Err(PdfError::CertificationForbids(_)) | Err(PdfError::CannotStamp(_)) => true,
        Err(PdfError::InvalidRequest(m)) => m.contains("no free space"),
        _ => false,
    };
    if retry_invisible {
        o.visible_auto = false;
        result = pdf::sign_file(input, output, &mut s, &o);
    }
    let after = std::fs::read(input).map_err(|e| e.to_string())?;
    if before != after {
        return Err("the input file changed".into());
    }
    let signed = match result {
        Err(e) => {
            let err: mohor::Error = e.into();
            if err.reason != Reason::DocumentRefused {
                return Err(format!("refused with {:?}: {}", err.reason, err.message));
            }
            if output.exists() || dir_entries(dir) != entries_before {
                return Err("a refused file left output behind".into());
            }
            return Ok(Some(err.message));
        }
        Ok(s) => s,
    };
    let out_bytes = std::fs::read(output).map_err(|e| e.to_string())?;
    if !out_bytes.starts_with(&before) {
        return Err("the output does not start with the input's bytes".into());
    }
    judge_new_signature(output, &signed.field_name, input_qpdf)?;

    // Signatures that were already there keep their status.
    let new_pdfsig = pdfsig_statuses(output);
    for (field, status) in &old_pdfsig {
        let now = new_pdfsig.iter().find(|(f, _)| f == field).map(|(_, s)| s);
        if now != Some(status) {
            return Err(format!("pdfsig: {field} was \"{status}\", now {now:?}"));
        }
    }
    let new_hanko = pyhanko_statuses(output);
    for (field, flags) in &old_hanko {
        let now = new_hanko
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, s)| s.clone())
            .unwrap_or_default();
        let intact = |f: &str| f.split([':', ',']).any(|x| x == "INTACT");
        let acceptable = |f: &str| {
            f.split([':', ','])
                .any(|x| x == "UNTOUCHED" || x == "ACCEPTABLE_MODIFICATIONS")
        };
        if intact(flags) != intact(&now) || (acceptable(flags) && !acceptable(&now)) {
            return Err(format!("pyHanko: {field} was {flags}, now {now}"));
        }
    }
    Ok(None)
}

fn run_file(name: &str) -> Result<Outcome, String> {
    let input = corpus(name);
    // Certified "no changes allowed": any new revision would invalidate the
    // certification, so refusing is the only correct answer whatever the
    // file is called.
    if let Ok(info) = pdf::inspect(&input) {
        if info.docmdp == Some(1) {
            let dir = test_dir(&format!("corpus/{name}"));
            return match sign_and_judge(&input, &dir.join("a.pdf"), "rsa2048")? {
                Some(why) if why.contains("no change is permitted") => Ok(Outcome::Refused(why)),
                Some(why) => Err(format!("refused for the wrong reason: {why}")),
                None => Err("signed a document certified with DocMDP P=1".into()),
            };
        }
    }
    let dir = test_dir(&format!("corpus/{name}"));
    let a = dir.join("a.pdf");
    let b = dir.join("b.pdf");
    if let Some(reason) = sign_and_judge(&input, &a, "rsa2048")? {
        return Ok(Outcome::Refused(reason));
    }
    if let Some(reason) = sign_and_judge(&a, &b, "ec256")? {
        return Err(format!("the second signatory was refused: {reason}"));
    }
    // A's signature is still good after B's revision.
    let a_field = pdf::inspect(&a)
        .map_err(|e| e.to_string())?
        .signature_fields
        .iter()
        .filter(|f| f.signed)
        .map(|f| f.name.clone())
        .collect::<Vec<_>>();
    let b_info = pdf::inspect(&b).map_err(|e| e.to_string())?;
    let a_new: Vec<&String> = a_field.iter().collect();
    for f in a_new {
        if !b_info
            .signature_fields
            .iter()
            .any(|g| &g.name == f && g.signed)
        {
            return Err(format!(
                "{f} is no longer signed after the second signature"
            ));
        }
    }
    Ok(Outcome::Signed)
}

#[test]
fn every_corpus_file_signs_or_is_refused_cleanly() {
    if !corpus_available() || !judges_available() {
        return;
    }
    let mut names: Vec<String> = std::fs::read_dir(corpus_dir())
        .expect("corpus directory ../shared/corpus/pdf")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pdf"))
        .collect();
    names.sort();
    assert!(names.len() > 30, "corpus looks incomplete: {names:?}");
    // Warm the shared PKI once before the workers start.
    let _ = fixture();

    let queue = Mutex::new(names.clone());
    let results: Mutex<Vec<(String, Result<Outcome, String>)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let Some(name) = queue.lock().unwrap().pop() else {
                    break;
                };
                let r = std::panic::catch_unwind(|| run_file(&name))
                    .unwrap_or_else(|_| Err("panicked".into()));
                results.lock().unwrap().push((name, r));
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.0.cmp(&b.0));

    let mut failures = Vec::new();
    let mut report = String::from("\ncorpus results:\n");
    for (name, r) in &results {
        let line = match r {
            Ok(Outcome::Signed) if MUST_REFUSE.contains(&name.as_str()) => {
                failures.push(format!("{name}: signed but must be refused"));
                "SIGNED (must be refused!)".to_string()
            }
            Ok(Outcome::Signed) => "signed twice, all judges satisfied".to_string(),
            Ok(Outcome::Refused(why))
                if MUST_REFUSE.contains(&name.as_str())
                    && !why.contains("no change is permitted") =>
            {
                failures.push(format!(
                    "{name}: refused, but not because of DocMDP P=1: {why}"
                ));
                format!("refused for the wrong reason: {why}")
            }
            Ok(Outcome::Refused(why)) => {
                let p1 = why.contains("no change is permitted");
                if !MUST_REFUSE.contains(&name.as_str()) && !may_refuse(name) && !p1 {
                    failures.push(format!("{name}: refused but must sign: {why}"));
                }
                format!("refused: {why}")
            }
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                format!("FAILED: {}", e.lines().next().unwrap_or(""))
            }
        };
        report.push_str(&format!("  {name:<50} {line}\n"));
    }
    eprintln!("{report}");
    let summary = artifacts_dir().join("corpus-report.txt");
    let _ = std::fs::write(&summary, &report);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// How one variant of one corpus file came out.
#[derive(Debug)]
enum VariantOutcome {
    /// Signed twice; pyHanko's verdict is still to come (batched).
    Signed(Option<HankoJob>),
    Refused(String),
    /// qpdf could not produce this variant of a damaged file.
    Absent(String),
}

/// Sign `input` as `who` the way a caller would (a stamp, else invisibly
/// where a stamp is not possible). `Ok(Ok(field))` signed, `Ok(Err(why))`
/// refused cleanly, `Err` anything else.
fn sign_clean(
    input: &Path,
    output: &Path,
    who: &str,
    password: Option<&str>,
) -> Result<Result<String, String>, String> {
    let before = std::fs::read(input).map_err(|e| e.to_string())?;
    let dir = output.parent().unwrap_or(Path::new("."));
    let entries_before = dir_entries(dir);
    let mut s = signer(who);
    let mut o = opts(who);
    o.password = password.map(|p| pdf::PdfPassword::new(p.as_bytes().to_vec()));
    o.visible_auto = true;
    let mut result = pdf::sign_file(input, output, &mut s, &o);
    let retry_invisible = match &result {
        Err(PdfError::CertificationForbids(_)) | Err(PdfError::CannotStamp(_)) => true,
        Err(PdfError::InvalidRequest(m)) => m.contains("no free space"),
        _ => false,
    };
    if retry_invisible {
        o.visible_auto = false;
        result = pdf::sign_file(input, output, &mut s, &o);
    }
    if std::fs::read(input).map_err(|e| e.to_string())? != before {
        return Err("the input file changed".into());
    }
    match result {
        Ok(signed) => {
            let out = std::fs::read(output).map_err(|e| e.to_string())?;
            if !out.starts_with(&before) {
                return Err("the output does not start with the input's bytes".into());
            }
            Ok(Ok(signed.field_name))
        }
        Err(e) => {
            let err: mohor::Error = e.into();
            if err.reason != Reason::DocumentRefused {
                return Err(format!("refused with {:?}: {}", err.reason, err.message));
            }
            if output.exists() || dir_entries(dir) != entries_before {
                return Err("a refused file left output behind".into());
            }
            Ok(Err(err.message))
        }
    }
}

/// Make `variant` of corpus file `name`, sign it twice, and judge the
/// result with qpdf and pdfsig (pyHanko comes after, batched).
fn run_variant(name: &str, variant: Variant) -> Result<VariantOutcome, String> {
    let dir = test_dir(&format!("corpus-variants/{}/{name}", variant.label()));
    let input = dir.join("in.pdf");
    let original_pw = variants::corpus_password(name);
    if let Err(why) = variants::make(&corpus(name), original_pw, variant, &input) {
        return Ok(VariantOutcome::Absent(why));
    }
    let (pw1, pw2) = variant.passwords(original_pw);
    let input_qpdf = qpdf_check_opened(&input, variants::opened(pw1)).0;
    let a = dir.join("a.pdf");
    let b = dir.join("b.pdf");
    let fa = match sign_clean(&input, &a, "rsa2048", pw1)? {
        Ok(f) => f,
        Err(why) => return Ok(VariantOutcome::Refused(why)),
    };
    let fb = match sign_clean(&a, &b, "ec256", pw2)? {
        Ok(f) => f,
        Err(why) => return Err(format!("the second signatory was refused: {why}")),
    };
    let (code, out) = qpdf_check_opened(&b, variants::opened(pw1));
    if !(code == 0 || (code == 3 && input_qpdf == 3)) {
        return Err(format!(
            "qpdf --check exit {code} (input {input_qpdf}):\n{out}"
        ));
    }
    let report = pdfsig_opened(&b, variants::opened(pw1));
    for f in [&fa, &fb] {
        let ok = report
            .signatures
            .iter()
            .any(|s| &s.field == f && s.valid() && s.certificate.contains("Trusted"));
        if !ok {
            return Err(format!("pdfsig on {f}:\n{}", report.output));
        }
    }
    if let Variant::Encrypted(_, user) = variant {
        let (before, after) = (
            variants::encryption_revision(&input, pw1),
            variants::encryption_revision(&b, pw1),
        );
        if before.is_empty() || before != after {
            return Err(format!(
                "encryption changed: input {before:?}, output {after:?}"
            ));
        }
        if user && qpdf_check(&b).0 != 2 {
            return Err("the output opens without its user password".into());
        }
    }
    // pyHanko's reader requires the header at byte 0: it opens no file
    // with bytes before `%PDF-`, signed or not.
    let job = (variant != Variant::Junk).then(|| HankoJob {
        file: b.clone(),
        password: pw1,
        fields: vec![fa, fb],
    });
    Ok(VariantOutcome::Signed(job))
}

/// pyHanko's verdicts on every signed variant: the first signature only
/// acceptably modified since, the second intact too.
fn judge_variants_with_pyhanko(jobs: &[HankoJob]) -> Vec<String> {
    let halves: Vec<&[HankoJob]> = jobs.chunks(jobs.len().div_ceil(2).max(1)).collect();
    let verdicts: Vec<(std::path::PathBuf, String, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = halves
            .iter()
            .map(|h| s.spawn(|| variants::pyhanko_many(h, &fixture().root)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut failures = Vec::new();
    for job in jobs {
        for (i, field) in job.fields.iter().enumerate() {
            let verdict = verdicts
                .iter()
                .find(|(f, n, _)| f == &job.file && n == field)
                .map(|(_, _, v)| v.as_str())
                .unwrap_or("no verdict");
            let flags: Vec<&str> = verdict.split([':', ',']).collect();
            let changes = if i == 0 {
                flags.contains(&"ACCEPTABLE_MODIFICATIONS")
            } else {
                flags.contains(&"UNTOUCHED") || flags.contains(&"ACCEPTABLE_MODIFICATIONS")
            };
            if !(flags.contains(&"INTACT") && flags.contains(&"TRUSTED") && changes) {
                failures.push(format!(
                    "{}: pyHanko on {field}: {verdict}",
                    job.file.display()
                ));
            }
        }
    }
    failures
}

#[test]
fn every_corpus_file_in_every_variant_signs_or_is_refused_cleanly() {
    if !corpus_available() || !judges_available() {
        return;
    }
    let mut names: Vec<String> = std::fs::read_dir(corpus_dir())
        .expect("corpus directory ../shared/corpus/pdf")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pdf"))
        .collect();
    names.sort();
    let _ = fixture();
    let queue: Mutex<Vec<(String, Variant)>> = Mutex::new(
        names
            .iter()
            .flat_map(|n| Variant::ALL.iter().map(move |v| (n.clone(), *v)))
            .collect(),
    );
    type Done = (String, Variant, Result<VariantOutcome, String>);
    let results: Mutex<Vec<Done>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let Some((name, v)) = queue.lock().unwrap().pop() else {
                    break;
                };
                let r = std::panic::catch_unwind(|| run_variant(&name, v))
                    .unwrap_or_else(|_| Err("panicked".into()));
                results.lock().unwrap().push((name, v, r));
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| (&a.0, a.1.label()).cmp(&(&b.0, b.1.label())));

    let mut failures = Vec::new();
    let mut jobs = Vec::new();
    let mut report = String::from("\ncorpus variants:\n");
    for (name, v, r) in results {
        let p1 = |why: &str| why.contains("no change is permitted");
        let line = match r {
            Ok(VariantOutcome::Signed(_)) if MUST_REFUSE.contains(&name.as_str()) => {
                failures.push(format!(
                    "{name} [{}]: signed but must be refused",
                    v.label()
                ));
                "SIGNED (must be refused!)".to_string()
            }
            Ok(VariantOutcome::Signed(job)) => {
                jobs.extend(job);
                "signed twice".to_string()
            }
            Ok(VariantOutcome::Refused(why)) => {
                let allowed = may_refuse(&name) || p1(&why);
                if !allowed || (MUST_REFUSE.contains(&name.as_str()) && !p1(&why)) {
                    failures.push(format!("{name} [{}]: refused: {why}", v.label()));
                }
                format!("refused: {why}")
            }
            Ok(VariantOutcome::Absent(why)) => {
                if !may_refuse(&name) {
                    failures.push(format!("{name} [{}]: no variant: {why}", v.label()));
                }
                format!("no such variant ({why})")
            }
            Err(e) => {
                failures.push(format!("{name} [{}]: {e}", v.label()));
                format!("FAILED: {}", e.lines().next().unwrap_or(""))
            }
        };
        report.push_str(&format!("  {name:<48} {:<18} {line}\n", v.label()));
    }
    failures.extend(judge_variants_with_pyhanko(&jobs));
    eprintln!("{report}");
    let _ = std::fs::write(artifacts_dir().join("corpus-variants-report.txt"), &report);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
