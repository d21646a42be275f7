//! `mohor sign IN.pdf -o OUT.pdf` with keys on the token: two officials sign
//! one after the other in separate processes; qpdf, pyHanko and pdfsig judge.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod pdf_util;

use pdf_util::common::{assert_no_panic, run_with_stdin, stderr, SimSetup};
use pdf_util::*;
use serde_json::json;

fn sign(
    s: &SimSetup,
    input: &std::path::Path,
    output: &std::path::Path,
    cert: &str,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec!["--pin-stdin", "sign", "--cert", cert];
    args.extend_from_slice(extra);
    let mut c = s.mohor(&args);
    c.arg(input).arg("-o").arg(output);
    let o = run_with_stdin(&mut c, &format!("{}\n", fixture().user_pin));
    assert_no_panic(&o);
    o
}

#[test]
fn two_officials_sign_one_note_on_their_tokens_and_every_judge_accepts_both() {
    if !judges_available() {
        return;
    }
    let fx = fixture();
    let s = SimSetup::new("cli_pdf_two", json!({}));
    let input = corpus("pyhanko-minimal-two-pages.pdf");
    let before = std::fs::read(&input).unwrap();
    let a = s.dir.join("a.pdf");
    let b = s.dir.join("ab.pdf");
    let o = sign(
        &s,
        &input,
        &a,
        &fx.cert("rsa2048").id,
        &[
            "--reason",
            "Approved",
            "--location",
            "Bengaluru",
            "--visible",
            "1,40,40,220,70",
        ],
    );
    assert!(o.status.success(), "{}", pdf_util::common::text(&o));
    assert!(stderr(&o).contains("in field Signature1"), "{}", stderr(&o));
    judge_new_signature(&a, "Signature1", 0).unwrap();

    let o = sign(
        &s,
        &a,
        &b,
        &fx.cert("rsa4096").id,
        &["--reason", "Sanctioned"],
    );
    assert!(o.status.success(), "{}", pdf_util::common::text(&o));
    judge_new_signature(&b, "Signature2", 0).unwrap();
    // The second signature is an incremental update: A's bytes are B's prefix,
    // and A's signature is still fine in B.
    let (a_bytes, b_bytes) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert!(b_bytes.len() > a_bytes.len());
    assert_eq!(&b_bytes[..a_bytes.len()], &a_bytes[..]);
    let v = pyhanko_validate(&b, "Signature1");
    assert!(v.valid(), "{}", v.output);
    assert_eq!(
        std::fs::read(&input).unwrap(),
        before,
        "the input was modified"
    );
    assert_eq!(s.sim.logins().len(), 2);

    // Signing into a field that is already signed is refused before the PIN.
    let again = s.dir.join("again.pdf");
    let o = sign(
        &s,
        &b,
        &again,
        &fx.cert("pan").id,
        &["--field", "Signature1"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("DOCUMENT_REFUSED"), "{}", stderr(&o));
    assert!(!again.exists());
    assert_eq!(
        s.sim.logins().len(),
        2,
        "a PIN was asked for a signature that cannot be made"
    );
    // Signed documents are ordinary files others can read, like any saved file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&b).unwrap().permissions().mode() & 0o777,
            0o644
        );
    }
}

#[test]
fn a_pdf_certified_against_changes_or_a_broken_file_is_refused_before_any_pin() {
    let fx = fixture();
    let s = SimSetup::new("cli_pdf_refused", json!({}));
    for (name, expect) in [
        // Certified with DocMDP P=1 and also encrypted (empty user password):
        // either is a reason to refuse, and the message must name one.
        (
            "qpdf-minimal-signed-restricted.pdf",
            &["no changes allowed", "encrypted"][..],
        ),
        (
            "pyhanko-certified-with-indirect-refs-in-dir.pdf",
            &["no changes allowed"][..],
        ),
        ("qpdf-bad1.pdf", &["DOCUMENT_REFUSED"][..]),
    ] {
        let out = s.dir.join(format!("{name}.signed.pdf"));
        let input = corpus(name);
        let before = std::fs::read(&input).unwrap();
        let o = sign(&s, &input, &out, &fx.cert("rsa2048").id, &[]);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{name}: {}",
            pdf_util::common::text(&o)
        );
        assert!(
            stderr(&o).contains("DOCUMENT_REFUSED"),
            "{name}: {}",
            stderr(&o)
        );
        assert!(
            expect.iter().any(|e| stderr(&o).contains(e)),
            "{name}: {}",
            stderr(&o)
        );
        // And what to do about it (the certified refusal used to say none).
        assert!(stderr(&o).contains("what to do:"), "{name}: {}", stderr(&o));
        assert!(!out.exists(), "{name}: output left behind");
        assert_eq!(std::fs::read(&input).unwrap(), before);
        let leftovers = temporaries(&s.dir);
        assert!(
            leftovers.is_empty(),
            "{name}: temp files left behind: {leftovers:?}"
        );
    }
    assert_eq!(
        s.sim.logins().len(),
        0,
        "a PIN was asked for a document that cannot be signed"
    );
}

#[test]
fn an_encrypted_pdf_signs_on_the_token_with_its_password_from_a_file() {
    if !judges_available() {
        return;
    }
    let fx = fixture();
    let s = SimSetup::new("cli_pdf_encrypted", json!({}));
    let input = corpus("qpdf-enc-XI-R6_V5_U_view_O_master.pdf");
    let password = s.dir.join("pdf-password");
    std::fs::write(&password, "view\n").unwrap();
    let out = s.dir.join("signed.pdf");

    // Without the password: refused before any PIN, nothing written.
    let o = sign(&s, &input, &out, &fx.cert("rsa2048").id, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--pdf-password-file"), "{}", stderr(&o));
    assert!(!out.exists());
    assert_eq!(s.sim.logins().len(), 0);

    let o = sign(
        &s,
        &input,
        &out,
        &fx.cert("rsa2048").id,
        &["--pdf-password-file", password.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", pdf_util::common::text(&o));
    let q = std::process::Command::new("qpdf")
        .args(["--check", "--password=view"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(q.status.code(), Some(0), "{}", pdf_util::common::text(&q));
    let p = std::process::Command::new(pdf_util::common::repo().join(".venv/bin/pyhanko"))
        .args([
            "sign",
            "validate",
            "--password",
            "view",
            "--no-revocation-check",
            "--trust-replace",
            "--trust",
        ])
        .arg(&fx.root)
        .arg(&out)
        .output()
        .unwrap();
    let t = pdf_util::common::text(&p);
    assert!(
        p.status.success() && t.contains("INTACT") && !t.contains("UNTRUSTED"),
        "{t}"
    );
    assert_eq!(s.sim.logins().len(), 1);
}

#[test]
fn a_batch_from_the_command_line_signs_the_good_files_reports_the_damaged_one_and_history_lists_all(
) {
    if !judges_available() {
        return;
    }
    let fx = fixture();
    let s = SimSetup::new("cli_pdf_batch", json!({}));
    let inputs = s.dir.join("in");
    let out = s.dir.join("out");
    std::fs::create_dir_all(&inputs).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let a = inputs.join("a.pdf");
    let b = inputs.join("b-damaged.pdf");
    let c = inputs.join("c.pdf");
    std::fs::copy(corpus("pyhanko-minimal-two-pages.pdf"), &a).unwrap();
    std::fs::write(&b, b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n").unwrap();
    std::fs::copy(corpus("pyhanko-base.pdf"), &c).unwrap();
    let damaged_before = std::fs::read(&b).unwrap();

    let mut cmd = s.mohor(&[
        "--pin-stdin",
        "sign",
        "--cert",
        &fx.cert("rsa2048").id,
        "--reason",
        "Approved",
        "--out-dir",
    ]);
    cmd.arg(&out).arg(&a).arg(&b).arg(&c);
    let o = run_with_stdin(&mut cmd, &format!("{}\n", fx.user_pin));
    assert_no_panic(&o);
    // One file failed: exit 1, one line per file, the others signed.
    assert_eq!(o.status.code(), Some(1), "{}", pdf_util::common::text(&o));
    let e = stderr(&o);
    assert!(
        e.contains("Signed") && e.contains("a.pdf") && e.contains("c.pdf"),
        "{e}"
    );
    assert!(
        e.contains("Not signed") && e.contains("DOCUMENT_REFUSED"),
        "{e}"
    );
    assert!(e.contains("1 of 3 files were not signed"), "{e}");
    for name in ["a.pdf", "c.pdf"] {
        judge_new_signature(&out.join(name), "Signature1", 0).unwrap();
    }
    assert!(!out.join("b-damaged.pdf").exists());
    assert_eq!(std::fs::read(&b).unwrap(), damaged_before);
    // One PIN, one login for the whole batch.
    let logins = s.sim.logins();
    assert_eq!(logins.len(), 1, "{logins:?}");

    let h = pdf_util::common::json_out(&run_with_stdin(&mut s.mohor(&["history", "--json"]), ""));
    let entries = h["entries"].as_array().expect("entries");
    let rows: Vec<(String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["document"].as_str().unwrap_or("").to_string(),
                e["result"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    // Newest first.
    assert_eq!(
        rows,
        [
            ("c.pdf".to_string(), "ok".to_string()),
            ("b-damaged.pdf".to_string(), "DOCUMENT_REFUSED".to_string()),
            ("a.pdf".to_string(), "ok".to_string()),
        ]
    );
    assert!(entries
        .iter()
        .all(|e| e["origin"] == "command line" && e["batch"]["of"] == 3));
    // The fingerprints the log keeps are the inputs' SHA-256, as sha256sum
    // reads them: taken in the signing pass for the signed files (the command
    // line reads each input once), read for the refused one.
    for (entry, file) in entries.iter().zip([&c, &b, &a]) {
        let sum = std::process::Command::new("sha256sum")
            .arg(file)
            .output()
            .unwrap();
        let sum = String::from_utf8_lossy(&sum.stdout);
        let expected = sum.split_whitespace().next().unwrap();
        assert_eq!(entry["sha256"], expected, "{entry}");
    }
    let o = run_with_stdin(&mut s.mohor(&["history", "--limit", "1"]), "");
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("signed") && text.contains("c.pdf"), "{text}");

    // A check is logged too, and its line says it verified (it signed nothing
    // and chose no certificate); a refused check names the signers it read
    // (c.pdf also holds pyHanko's unreadable Sig1, which names nobody).
    s.trust_the_test_root();
    for name in ["a.pdf", "c.pdf"] {
        let v = run_with_stdin(s.mohor(&["verify"]).arg(out.join(name)), "");
        assert_no_panic(&v);
        assert_eq!(
            v.status.success(),
            name == "a.pdf",
            "{}",
            pdf_util::common::text(&v)
        );
    }
    let o = run_with_stdin(&mut s.mohor(&["history", "--limit", "2"]), "");
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    let lines: Vec<(&str, &str)> = text
        .lines()
        .map(|l| (l.split_whitespace().nth(1).unwrap_or_default(), l))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    for ((outcome, line), (expected, name)) in lines
        .iter()
        .zip([("DOCUMENT_REFUSED", "c.pdf"), ("verified", "a.pdf")])
    {
        assert_eq!(*outcome, expected, "{text}");
        assert!(
            line.contains(&format!(" verify \"{name}\" "))
                && line.contains(" by Asha Verma  sha256"),
            "{text}"
        );
    }
}

/// The temporary outputs (`.NAME.RANDOM.partial`) in `dir`.
fn temporaries(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect()
}

/// Start `mohor --pin-stdin sign IN -o OUT` and wait until the document is
/// staged (its temporary output exists) while the PIN is not yet given.
fn start_waiting_for_pin(
    s: &SimSetup,
    input: &std::path::Path,
    output: &std::path::Path,
) -> std::process::Child {
    use std::process::Stdio;
    let mut c = s.mohor(&[
        "--pin-stdin",
        "sign",
        "--cert",
        &fixture().cert("rsa2048").id,
    ]);
    c.arg(input).arg("-o").arg(output);
    let child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let dir = output.parent().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while temporaries(dir).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the document was not staged while the PIN was awaited"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child
}

/// Exit 1 saying every one of `words`, and neither `output` nor a temporary
/// file beside it.
fn refused_leaving_nothing(o: &std::process::Output, words: &[&str], output: &std::path::Path) {
    assert_eq!(o.status.code(), Some(1), "{}", stderr(o));
    for w in words {
        assert!(stderr(o).contains(w), "{w}: {}", stderr(o));
    }
    assert!(!output.exists());
    let dir = output.parent().unwrap();
    assert!(temporaries(dir).is_empty(), "{:?}", temporaries(dir));
}

fn give_pin(mut child: std::process::Child, pin: &str) -> std::process::Output {
    use std::io::Write as _;
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{pin}\n").as_bytes()).unwrap();
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    assert_no_panic(&o);
    o
}

#[test]
fn the_document_is_staged_while_the_pin_is_typed_and_a_wrong_pin_or_a_changed_file_leaves_nothing()
{
    if !judges_available() {
        return;
    }
    let s = SimSetup::new("cli_pdf_staged_early", json!({}));
    let out_dir = s.dir.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let input = s.dir.join("note.pdf");
    std::fs::copy(corpus("pyhanko-minimal-two-pages.pdf"), &input).unwrap();
    let original = std::fs::read(&input).unwrap();
    let output = out_dir.join("note.signed.pdf");

    // A wrong PIN: the staged document goes, temporary file and all.
    let o = give_pin(start_waiting_for_pin(&s, &input, &output), "000000");
    refused_leaving_nothing(&o, &["PIN_INCORRECT"], &output);
    assert_eq!(std::fs::read(&input).unwrap(), original);

    // The file changes after it was hashed, while the PIN is typed: the
    // token signs what was hashed, but nothing is written for a file that
    // is no longer what the person meant.
    let child = start_waiting_for_pin(&s, &input, &output);
    let mut changed = original.clone();
    changed.extend_from_slice(b"\n% edited while the PIN dialog was open\n");
    std::fs::write(&input, &changed).unwrap();
    let o = give_pin(child, &fixture().user_pin);
    refused_leaving_nothing(&o, &["changed", "IO_ERROR"], &output);
    assert_eq!(std::fs::read(&input).unwrap(), changed);

    // The right PIN for the file as it is: signed, and the judges agree.
    std::fs::write(&input, &original).unwrap();
    let o = give_pin(
        start_waiting_for_pin(&s, &input, &output),
        &fixture().user_pin,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        temporaries(&out_dir).is_empty(),
        "{:?}",
        temporaries(&out_dir)
    );
    let signed = std::fs::read(&output).unwrap();
    assert_eq!(&signed[..original.len()], &original[..]);
    let (input_qpdf, _) = qpdf_check(&input);
    judge_new_signature(&output, "Signature1", input_qpdf).unwrap();
    assert_eq!(std::fs::read(&input).unwrap(), original);
}

/// On the command line the typed command is the consent, but a co-signer
/// is still told, before the PIN is asked, whom they sign after and whether
/// each signature holds: a good one as valid, one over a page whose size
/// was changed afterwards as NOT VALID, with a warning. pdfsig and pyHanko
/// say the same of the two inputs; the co-signature is made either way and
/// holds.
#[cfg(feature = "scripted-prompts")]
#[test]
fn a_co_signer_on_the_command_line_is_told_how_the_earlier_signatures_stand_before_the_pin() {
    if !judges_available() {
        return;
    }
    let fx = fixture();
    let s = SimSetup::new("cli_pdf_earlier", json!({}));
    s.trust_the_test_root();
    let unsigned = s.dir.join("note.pdf");
    std::fs::write(&unsigned, pdf_util::common::tiny_pdf()).unwrap();
    let good = s.dir.join("good.pdf");
    let o = sign(&s, &unsigned, &good, &fx.cert("rsa2048").id, &[]);
    assert!(o.status.success(), "{}", pdf_util::common::text(&o));
    // A terminal shows nothing of the kind for a document nobody signed.
    assert!(!stderr(&o).contains("already signed"), "{}", stderr(&o));
    let mut bytes = std::fs::read(&good).unwrap();
    let at = bytes
        .windows(13)
        .position(|w| w == b"[0 0 595 842]")
        .expect("the MediaBox");
    bytes[at + 11] = b'1';
    let tampered = s.dir.join("tampered.pdf");
    std::fs::write(&tampered, &bytes).unwrap();

    // What the outside judges say of the inputs.
    let nss = format!("sql:{}", fx.nssdb.display());
    let pdfsig = |f: &std::path::Path| {
        pdf_util::common::text(&pdf_util::common::run(
            std::process::Command::new("pdfsig")
                .args(["-nssdir", &nss])
                .arg(f),
        ))
    };
    assert!(
        pdfsig(&good).contains("Signature is Valid."),
        "{}",
        pdfsig(&good)
    );
    assert!(
        !pdfsig(&tampered).contains("Signature is Valid."),
        "{}",
        pdfsig(&tampered)
    );
    assert!(pyhanko_validate(&good, "Signature1").valid());
    assert!(!pyhanko_validate(&tampered, "Signature1").valid());

    let cosign = |input: &std::path::Path, name: &str| {
        let prompts = s.dir.join(format!("{name}.jsonl"));
        std::fs::write(&prompts, format!("{{\"pin\":\"{}\"}}\n", fx.user_pin)).unwrap();
        let out = s.dir.join(format!("{name}-cosigned.pdf"));
        let mut c = s.mohor(&["--prompts", prompts.to_str().unwrap(), "sign", "--cert"]);
        let o = run_with_stdin(
            c.arg(fx.cert("rsa4096").id).arg(input).arg("-o").arg(&out),
            "",
        );
        assert_no_panic(&o);
        assert!(o.status.success(), "{}", pdf_util::common::text(&o));
        judge_new_signature(&out, "Signature2", 0).unwrap();
        pdf_util::common::asked(&prompts)
    };
    let dialogs = |asked: &[serde_json::Value]| -> Vec<String> {
        asked
            .iter()
            .map(|a| a["dialog"].as_str().unwrap_or_default().to_owned())
            .collect()
    };

    let asked = cosign(&good, "good");
    assert_eq!(dialogs(&asked), ["notify", "pin"], "{asked:#?}");
    assert_eq!(asked[0]["request"]["title"], "good.pdf: already signed");
    assert_eq!(
        asked[0]["request"]["body"],
        "Already signed by (as Mohor checked it):\n- Asha Verma: valid (intact, from a \
         trusted authority, no forbidden change since)"
    );

    let asked = cosign(&tampered, "tampered");
    assert_eq!(dialogs(&asked), ["notify", "pin"], "{asked:#?}");
    let body = asked[0]["request"]["body"].as_str().unwrap_or_default();
    let lines: Vec<&str> = body.lines().collect();
    assert!(
        lines.len() == 3
            && lines[0].starts_with("Warning: A signature already on this document is not valid")
            && lines[2].starts_with("- Asha Verma: NOT VALID ("),
        "{body}"
    );

    // A terminal prints it under the document's name, before the result.
    let out = s.dir.join("terminal-cosigned.pdf");
    let o = sign(&s, &tampered, &out, &fx.cert("rsa4096").id, &[]);
    assert!(o.status.success(), "{}", pdf_util::common::text(&o));
    let said = stderr(&o);
    let told = said.find("tampered.pdf: already signed\n  Warning: A signature already");
    let signed = said.find("Signed ");
    assert!(told.is_some() && told < signed, "{said}");
    assert!(said.contains("\n  - Asha Verma: NOT VALID ("), "{said}");
}
