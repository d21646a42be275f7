//! Encrypted PDFs (AES-256, and RC4/AES-128 made by qpdf): signed with the
//! password, or the empty user password, by two signatories, judged by
//! qpdf, pyHanko and pdfsig given the password; refused cleanly without it,
//! with a wrong one, or when the permissions forbid filling in forms.
#![cfg(feature = "software-signer")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod pdf_util;

use std::path::Path;
use std::process::Command;

use mohor::error::Reason;
use mohor::pdf::{self, PdfPassword, PdfSignOptions};
use pdf_util::*;

/// Corpus files and a password that opens each (pyHanko's test suite
/// uses `usersecret`; qpdf's file names its user and owner passwords).
const FILES: &[(&str, &str)] = &[
    ("pyhanko-minimal-aes256.pdf", "usersecret"),
    ("qpdf-enc-XI-R6_V5_U_view_O_master.pdf", "view"),
    ("qpdf-enc-XI-R6_V5_U_view_O_master.pdf", "master"),
];

fn opts_pw(who: &str, pw: Option<&str>) -> PdfSignOptions {
    let mut o = opts(who);
    o.password = pw.map(|p| PdfPassword::new(p.as_bytes().to_vec()));
    o
}

/// How the judges open a file with `pw` (the qpdf file's owner password
/// is "master").
fn opened(pw: &str) -> Option<Password<'_>> {
    Some(if pw == "master" {
        Password::Owner(pw)
    } else {
        Password::User(pw)
    })
}

/// pyHanko's summary line for `field`, e.g. `Signature1:…:INTACT:TRUSTED,UNTOUCHED`.
fn pyhanko_line(file: &Path, pw: &str, field: &str) -> (String, String) {
    let py = pyhanko().expect("pyhanko");
    let out = common::run(
        Command::new(py)
            .args([
                "sign",
                "validate",
                "--no-revocation-check",
                "--trust-replace",
                "--password",
                pw,
            ])
            .arg("--trust")
            .arg(fixture().root.as_path())
            .arg(file),
    );
    let t = text(&out);
    let line = t
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))
        .unwrap_or_default()
        .to_string();
    (line, t)
}

fn pyhanko_ok(line: &str, last: bool) -> bool {
    let flags: Vec<&str> = line
        .rsplit(':')
        .take(2)
        .flat_map(|p| p.split(','))
        .collect();
    let changes = if last {
        flags.contains(&"UNTOUCHED") || flags.contains(&"ACCEPTABLE_MODIFICATIONS")
    } else {
        flags.contains(&"ACCEPTABLE_MODIFICATIONS")
    };
    flags.contains(&"INTACT") && flags.contains(&"TRUSTED") && changes
}

fn judge(file: &Path, pw: &str, input_qpdf: i32, fields: &[&str]) {
    let (code, out) = qpdf_check_opened(file, opened(pw));
    assert!(
        code == 0 || (code == 3 && input_qpdf == 3),
        "qpdf --check exit {code} (input {input_qpdf}) on {}:\n{out}",
        file.display()
    );
    for (i, f) in fields.iter().enumerate() {
        let (line, all) = pyhanko_line(file, pw, f);
        assert!(
            pyhanko_ok(&line, i + 1 == fields.len()),
            "pyHanko on {f} in {}:\n{all}",
            file.display()
        );
    }
    let report = pdfsig_opened(file, opened(pw));
    // An empty signature field is listed too, without a validation line.
    let signed: Vec<&PdfsigSignature> = report
        .signatures
        .iter()
        .filter(|s| !s.validation.is_empty())
        .collect();
    assert_eq!(
        signed.len(),
        fields.len(),
        "pdfsig on {}:\n{}",
        file.display(),
        report.output
    );
    assert!(
        signed.iter().all(|s| s.valid()),
        "pdfsig on {}:\n{}",
        file.display(),
        report.output
    );
}

#[test]
fn encrypted_files_sign_twice_with_the_password() {
    if !corpus_available() || !judges_available() {
        return;
    }
    let dir = test_dir("pdf_encrypted_twice");
    for (i, (name, pw)) in FILES.iter().enumerate() {
        let input = corpus(name);
        let (input_qpdf, _) = qpdf_check_opened(&input, opened(pw));
        let a = dir.join(format!("{i}-a.pdf"));
        let b = dir.join(format!("{i}-b.pdf"));

        let info =
            pdf::inspect_with_password(&input, Some(&PdfPassword::new(pw.as_bytes().to_vec())))
                .expect("inspect with the password");
        assert!(info.encrypted);

        let mut s1 = signer("rsa2048");
        let first = pdf::sign_file(&input, &a, &mut s1, &opts_pw("rsa2048", Some(pw)))
            .unwrap_or_else(|e| panic!("{name}: first signature: {e}"));
        judge(&a, pw, input_qpdf, &[&first.field_name]);

        // The second signatory names the first field wrongly on purpose:
        // a decrypted /T must be found and refused as already signed.
        let mut again = opts_pw("rsa4096", Some(pw));
        again.field = Some(first.field_name.clone());
        let mut s2 = signer("rsa4096");
        let err = pdf::sign_file(&a, &b, &mut s2, &again).expect_err("field already signed");
        assert!(
            matches!(err, pdf::PdfError::FieldAlreadySigned(_)),
            "{name}: {err}"
        );

        // A visible stamp: its appearance stream must be encrypted too.
        let mut visible = opts_pw("rsa4096", Some(pw));
        visible.visible_auto = true;
        let mut s2 = signer("rsa4096");
        let second = pdf::sign_file(&a, &b, &mut s2, &visible)
            .unwrap_or_else(|e| panic!("{name}: second signature: {e}"));
        assert_ne!(second.field_name, first.field_name);
        judge(&b, pw, input_qpdf, &[&first.field_name, &second.field_name]);
        let a_bytes = std::fs::read(&a).expect("read a");
        let b_bytes = std::fs::read(&b).expect("read b");
        assert_eq!(&b_bytes[..a_bytes.len()], &a_bytes[..]);
        // /Contents is never encrypted: the CMS is there in the clear.
        let text = String::from_utf8_lossy(&b_bytes[a_bytes.len()..]);
        assert!(text.contains("/Contents <30"), "{name}");
        assert!(
            text.contains("/Encrypt"),
            "{name}: the trailer lost /Encrypt"
        );
    }
}

#[test]
fn encrypted_files_are_refused_without_or_with_a_wrong_password() {
    if !corpus_available() {
        return;
    }
    let dir = test_dir("pdf_encrypted_refused");
    for (i, (name, _)) in FILES.iter().enumerate() {
        let input = corpus(name);
        for (j, pw) in [None, Some("not-the-password")].into_iter().enumerate() {
            let out = dir.join(format!("{i}-{j}.pdf"));
            let mut s = signer("rsa2048");
            let err =
                pdf::sign_file(&input, &out, &mut s, &opts_pw("rsa2048", pw)).expect_err("refused");
            let e = mohor::error::Error::from(err);
            assert_eq!(e.reason, Reason::DocumentRefused, "{name}: {}", e.message);
            let want = if pw.is_some() {
                "the password does not open this PDF"
            } else {
                "--pdf-password-file"
            };
            assert!(e.message.contains(want), "{name}: {}", e.message);
            assert!(!out.exists(), "{name}: a refused file left output behind");
        }
        // The service refuses before any signer (and PIN) is involved.
        let req = mohor::service::PdfRequest::default();
        let now = time::OffsetDateTime::now_utc();
        let e = mohor::service::check_pdf(&input, &req, now).expect_err("refused");
        assert_eq!(e.reason, Reason::DocumentRefused);
        let req = mohor::service::PdfRequest {
            password: Some(PdfPassword::new(b"nope".to_vec())),
            ..Default::default()
        };
        let e = mohor::service::check_pdf(&input, &req, now).expect_err("refused");
        assert_eq!(e.reason, Reason::DocumentRefused);
        assert!(
            e.message.contains("password does not open"),
            "{}",
            e.message
        );
    }
    for (name, pw) in FILES {
        let req = mohor::service::PdfRequest {
            password: Some(PdfPassword::new(pw.as_bytes().to_vec())),
            ..Default::default()
        };
        let pages = mohor::service::check_pdf(&corpus(name), &req, time::OffsetDateTime::now_utc())
            .unwrap_or_else(|e| panic!("{name}: {}", e.message))
            .pages;
        let info = pdf::inspect_with_password(&corpus(name), req.password.as_ref())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(info.encrypted);
        assert_eq!(
            pages, info.page_count,
            "{name}: the dry run counts the pages"
        );
    }
}

/// qpdf-encrypted copies of a corpus file with the older handlers.
fn legacy(dir: &Path, name: &str, args: &[&str]) -> std::path::PathBuf {
    let out = dir.join(format!("{name}.pdf"));
    let o = common::run(
        Command::new("qpdf")
            .arg("--allow-weak-crypto")
            .arg("--encrypt")
            .args(args)
            .arg("--")
            .arg(corpus("pyhanko-minimal-with-field.pdf"))
            .arg(&out),
    );
    assert!(o.status.success(), "qpdf --encrypt {args:?}: {}", text(&o));
    out
}

#[test]
fn older_handlers_open_with_the_empty_user_password_and_keep_their_protection() {
    if !corpus_available() || !judges_available() {
        return;
    }
    let dir = test_dir("pdf_encrypted_legacy");
    for (name, args) in [
        ("rc4-40", &["", "owner", "40"][..]),
        ("rc4-128", &["", "owner", "128", "--use-aes=n"][..]),
        ("aes-128", &["", "owner", "128", "--use-aes=y"][..]),
    ] {
        let input = legacy(&dir, name, args);
        // The service's dry run (before any PIN) lets it through too.
        let req = mohor::service::PdfRequest::default();
        mohor::service::check_pdf(&input, &req, time::OffsetDateTime::now_utc())
            .unwrap_or_else(|e| panic!("{name}: {}", e.message));
        let out = dir.join(format!("{name}-signed.pdf"));
        let signed = pdf::sign_file(
            &input,
            &out,
            &mut signer("rsa2048"),
            &opts_pw("rsa2048", None),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        // qpdf, pyHanko and pdfsig open it with the empty password; it is
        // still encrypted the same way.
        judge(&out, "", 0, &[&signed.field_name]);
        let show = |f: &Path| {
            let o = common::run(Command::new("qpdf").arg("--show-encryption").arg(f));
            text(&o).lines().take(2).collect::<Vec<_>>().join(" ")
        };
        assert_eq!(show(&input), show(&out), "{name}");
        assert!(show(&out).starts_with("R = "), "{name}: {}", show(&out));
    }
}

#[test]
fn a_user_whose_permissions_forbid_forms_is_refused_and_the_owner_signs() {
    if !corpus_available() || !judges_available() {
        return;
    }
    let dir = test_dir("pdf_encrypted_permissions");
    let input = legacy(
        &dir,
        "locked",
        &[
            "user",
            "owner",
            "128",
            "--use-aes=y",
            "--form=n",
            "--annotate=n",
        ],
    );
    let out = dir.join("out.pdf");
    let err = pdf::sign_file(
        &input,
        &out,
        &mut signer("rsa2048"),
        &opts_pw("rsa2048", Some("user")),
    )
    .expect_err("the user may not fill in forms");
    assert!(matches!(err, pdf::PdfError::SigningNotPermitted), "{err}");
    assert!(!out.exists());
    let err = pdf::sign_file(
        &input,
        &out,
        &mut signer("rsa2048"),
        &opts_pw("rsa2048", Some("wrong")),
    )
    .expect_err("wrong password");
    assert!(matches!(err, pdf::PdfError::WrongPassword), "{err}");
    let err = pdf::sign_file(
        &input,
        &out,
        &mut signer("rsa2048"),
        &opts_pw("rsa2048", None),
    )
    .expect_err("no password");
    assert!(matches!(err, pdf::PdfError::Encrypted), "{err}");
    let signed = pdf::sign_file(
        &input,
        &out,
        &mut signer("rsa2048"),
        &opts_pw("rsa2048", Some("owner")),
    )
    .expect("the owner may");
    judge(&out, "user", 0, &[&signed.field_name]);
}
