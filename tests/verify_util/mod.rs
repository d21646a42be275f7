//! Helpers for the verification tests: Mohor's verdicts next to pyHanko's
//! and pdfsig's, the trust roots a signed file carries, and hand-made
//! incremental updates and tampering.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "../pdf_util/mod.rs"]
pub mod pdf_util;

#[allow(unused_imports)]
pub use pdf_util::common::{pyhanko, run, test_dir, text};
#[allow(unused_imports)]
pub use pdf_util::{corpus, corpus_available, fixture, needs_lenient_pyhanko, pdfsig};

/// One signature's verdict in the terms the report uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub intact: bool,
    pub trusted: bool,
    /// "none", "acceptable" or "illegal".
    pub modifications: String,
}

/// Mohor's report for `file` trusting only `roots` (as pyHanko is run).
pub fn mohor_report(
    file: &Path,
    roots: &[PathBuf],
    data: Option<&Path>,
) -> (serde_json::Value, i32, String) {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mohor"));
    cmd.env("MOHOR_HOME", home.path())
        .arg("verify")
        .arg("--json");
    if !roots.is_empty() {
        cmd.arg("--trust-replace");
    }
    for r in roots {
        cmd.arg("--trust").arg(r);
    }
    if let Some(d) = data {
        cmd.arg("--data").arg(d);
    }
    cmd.arg(file);
    let out = run(&mut cmd);
    let t = text(&out);
    assert!(!t.contains("panicked"), "mohor panicked:\n{t}");
    let code = out.status.code().unwrap_or(-1);
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (json, code, t)
}

pub fn mohor_verdicts(report: &serde_json::Value) -> Vec<(String, Verdict)> {
    report["signatures"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    (
                        s["field"].as_str().unwrap_or_default().to_string(),
                        Verdict {
                            intact: s["intact"] == true,
                            trusted: s["trusted"] == true,
                            modifications: s["modifications"]
                                .as_str()
                                .unwrap_or_default()
                                .to_string(),
                        },
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// pyHanko's verdicts, trusting only `roots`, validating at the time the
/// signer claims (Mohor's rule: a signature stays valid after its
/// certificate expires). A field pyHanko cannot process is reported as
/// not intact, with the reason in the text.
pub fn hanko_verdicts(file: &Path, roots: &[PathBuf]) -> (Vec<(String, Verdict)>, String) {
    let py = pyhanko().expect("pyhanko");
    let mut cmd = Command::new(py);
    cmd.args([
        "sign",
        "validate",
        "--no-revocation-check",
        "--validation-time",
        "claimed",
        "--trust-replace",
    ]);
    for r in roots {
        cmd.arg("--trust").arg(r);
    }
    if needs_lenient_pyhanko(file) {
        cmd.arg("--no-strict-syntax");
    }
    cmd.arg(file);
    let out = run(&mut cmd);
    let t = text(&out);
    let verdicts = t
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(4, ':');
            let (field, fp, intact, rest) =
                (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
            if fp.len() != 64 || field.contains(' ') {
                return None;
            }
            let flags: Vec<&str> = rest.split(',').collect();
            let modifications = if flags.contains(&"UNTOUCHED") {
                "none"
            } else if flags
                .iter()
                .any(|f| f.contains("ILLEGAL") || f.contains("SUSPICIOUS"))
            {
                "illegal"
            } else {
                "acceptable"
            };
            Some((
                field.to_string(),
                Verdict {
                    intact: intact == "INTACT",
                    trusted: flags.first() == Some(&"TRUSTED"),
                    modifications: modifications.into(),
                },
            ))
        })
        .collect();
    (verdicts, t)
}

/// pdfsig's "Signature is Valid." per field (digest and signature).
pub fn pdfsig_intact(file: &Path) -> Vec<(String, bool)> {
    pdfsig(file)
        .signatures
        .iter()
        .map(|s| (s.field.clone(), s.valid()))
        .collect()
}

/// The length of the DER element at the start of `b`, header included (the
/// `der` crate's reading, as Mohor's own); `None` for BER's indefinite
/// length, which ends with its own end-of-contents, not a stated length.
fn der_length(b: &[u8]) -> Option<usize> {
    use der::{Decode as _, Encode as _};
    let header = der::Header::decode(&mut der::SliceReader::new(b).ok()?).ok()?;
    let total = (header.encoded_len().ok()? + header.length).ok()?;
    usize::try_from(total).ok()
}

/// The CMS blobs in a PDF's /Contents hex strings (signature values).
pub fn cms_blobs(pdf: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(p) = find(&pdf[i..], b"/Contents") {
        let mut j = i + p + 9;
        while pdf.get(j).is_some_and(|c| c.is_ascii_whitespace()) {
            j += 1;
        }
        if pdf.get(j) == Some(&b'<') {
            let end = find(&pdf[j..], b">").map(|e| j + e).unwrap_or(pdf.len());
            let hex_text: Vec<u8> = pdf[j + 1..end]
                .iter()
                .copied()
                .filter(|c| c.is_ascii_hexdigit())
                .collect();
            if hex_text.len() > 400 {
                if let Ok(mut b) = hex::decode(&hex_text) {
                    // The placeholder is padded with zero bytes; cut at the
                    // length the DER header states. (Trimming trailing zeros
                    // instead cut a signature whose own last byte is 0x00.)
                    // BER with an indefinite length stays padded: openssl
                    // reads one object and leaves what follows.
                    if let Some(len) = der_length(&b) {
                        b.truncate(len);
                    }
                    out.push(b);
                }
            }
            i = end;
        } else {
            i = j;
        }
    }
    out
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The self-signed certificates a signed PDF carries, written as PEM files
/// into `dir` (read by openssl, not by Mohor).
pub fn embedded_roots(pdf: &Path, dir: &Path) -> Vec<PathBuf> {
    let bytes = std::fs::read(pdf).unwrap();
    let mut roots = Vec::new();
    for (i, cms) in cms_blobs(&bytes).iter().enumerate() {
        let der = dir.join(format!("cms{i}.der"));
        std::fs::write(&der, cms).unwrap();
        let out = run(Command::new("openssl")
            .args(["pkcs7", "-inform", "DER", "-print_certs", "-in"])
            .arg(&der));
        let pems = String::from_utf8_lossy(&out.stdout).into_owned();
        for (k, block) in pems.split("-----END CERTIFICATE-----").enumerate() {
            let Some(start) = block.find("-----BEGIN CERTIFICATE-----") else {
                continue;
            };
            let pem = format!("{}-----END CERTIFICATE-----\n", &block[start..]);
            let path = dir.join(format!("cert{i}-{k}.pem"));
            std::fs::write(&path, &pem).unwrap();
            let o = run(Command::new("openssl")
                .args([
                    "x509", "-noout", "-subject", "-issuer", "-nameopt", "RFC2253", "-in",
                ])
                .arg(&path));
            let t = String::from_utf8_lossy(&o.stdout).into_owned();
            let mut lines = t.lines();
            let subject = lines
                .next()
                .unwrap_or_default()
                .trim_start_matches("subject=");
            let issuer = lines
                .next()
                .unwrap_or_default()
                .trim_start_matches("issuer=");
            if !subject.is_empty()
                && subject == issuer
                && !roots
                    .iter()
                    .any(|r: &PathBuf| std::fs::read(r).ok() == Some(pem.clone().into_bytes()))
            {
                roots.push(path);
            }
        }
    }
    roots
}

/// Append an incremental update to `pdf` that replaces or adds objects
/// (`num`, body text); classic xref table.
pub fn append_revision(pdf: &[u8], objects: &[(u32, String)]) -> Vec<u8> {
    let raw: Vec<(u32, Vec<u8>)> = objects
        .iter()
        .map(|(n, b)| (*n, b.clone().into_bytes()))
        .collect();
    append_revision_raw(pdf, &raw)
}

/// What an update of `pdf` chains to: the last `startxref`, the next
/// object number and the /Root reference (without its `R`).
fn chain_point(pdf: &[u8]) -> (u64, u32, String) {
    let text = String::from_utf8_lossy(pdf);
    let prev = pdf_util::common::objstm::startxref(pdf) as u64;
    let root = text
        .rfind("/Root ")
        .map(|i| {
            text[i + 6..]
                .split(" R")
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .expect("/Root");
    (prev, next_object(pdf), root)
}

/// As [`append_revision_raw`], indexed by a cross-reference stream in which
/// each of `typed` (number, entry type) gets an entry of that type with
/// zero fields instead of the one its body here would get (so a body can
/// be written that the cross-reference data does not locate).
pub fn append_revision_by_stream(
    pdf: &[u8],
    objects: &[(u32, Vec<u8>)],
    typed: &[(u32, u8)],
) -> Vec<u8> {
    let (prev, size, root) = chain_point(pdf);
    let mut out = pdf.to_vec();
    if out.last() != Some(&b'\n') {
        out.push(b'\n');
    }
    // number -> (type, field 2)
    let mut rows = std::collections::BTreeMap::new();
    for (num, body) in objects {
        rows.insert(*num, (1u8, out.len() as u32));
        out.extend_from_slice(format!("{num} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    rows.extend(typed.iter().map(|(num, t)| (*num, (*t, 0))));
    let xref_num = rows.keys().map(|n| n + 1).max().unwrap_or(0).max(size);
    let xref_at = out.len();
    rows.insert(xref_num, (1, xref_at as u32));
    let mut index = String::new();
    let mut data = Vec::new();
    for (num, (t, field)) in &rows {
        index.push_str(&format!("{num} 1 "));
        data.push(*t);
        data.extend_from_slice(&field.to_be_bytes());
        data.extend_from_slice(&[0, 0]);
    }
    out.extend_from_slice(
        format!(
            "{xref_num} 0 obj\n<< /Type /XRef /Size {} /W [1 4 2] /Index [{index}] /Root {root} R /Prev {prev} /Length {} >>\nstream\n",
            xref_num + 1,
            data.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&data);
    out.extend_from_slice(format!("\nendstream\nendobj\nstartxref\n{xref_at}\n%%EOF\n").as_bytes());
    out
}

/// As [`append_revision`], with bodies as bytes (binary stream data).
pub fn append_revision_raw(pdf: &[u8], objects: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let (prev, size, root) = chain_point(pdf);
    let mut out = pdf.to_vec();
    if out.last() != Some(&b'\n') {
        out.push(b'\n');
    }
    let mut offsets = Vec::new();
    for (num, body) in objects {
        offsets.push((*num, out.len()));
        out.extend_from_slice(format!("{num} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref_at = out.len();
    let mut xref = String::from("xref\n0 1\n0000000000 65535 f \n");
    for (num, off) in &offsets {
        xref.push_str(&format!("{num} 1\n{off:010} 00000 n \n"));
    }
    let new_size = objects
        .iter()
        .map(|(n, _)| n + 1)
        .max()
        .unwrap_or(0)
        .max(size);
    xref.push_str(&format!(
        "trailer\n<< /Size {new_size} /Root {root} R /Prev {prev} >>\nstartxref\n{xref_at}\n%%EOF\n"
    ));
    out.extend_from_slice(xref.as_bytes());
    out
}

/// The text qpdf shows for object `num` (its dictionary, decrypted).
pub fn qpdf_object(file: &Path, num: u32) -> String {
    let out = run(Command::new("qpdf")
        .arg(format!("--show-object={num}"))
        .arg(file));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Object number of page 1, per qpdf.
pub fn qpdf_first_page(file: &Path) -> u32 {
    let out = run(Command::new("qpdf").arg("--show-pages").arg(file));
    let t = String::from_utf8_lossy(&out.stdout).into_owned();
    t.lines()
        .find_map(|l| l.strip_prefix("page 1: "))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("page 1")
}

/// Highest object number + 1, per the newest trailer.
pub use pdf_util::common::objstm::next_object;

/// The byte range of the last signature written, and where its numbers sit.
pub fn last_byte_range(pdf: &[u8]) -> (usize, usize, [u64; 4]) {
    let text = String::from_utf8_lossy(pdf);
    let at = text.rfind("/ByteRange").expect("ByteRange");
    let open = at + text[at..].find('[').unwrap();
    let close = open + text[open..].find(']').unwrap();
    let nums: Vec<u64> = text[open + 1..close]
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    (open, close, [nums[0], nums[1], nums[2], nums[3]])
}

/// Rewrite the last /ByteRange in place (same width, space padded).
pub fn set_byte_range(pdf: &mut [u8], r: [u64; 4]) {
    let (open, close, _) = last_byte_range(pdf);
    let text = format!("[{} {} {} {}", r[0], r[1], r[2], r[3]);
    let width = close - open;
    assert!(text.len() <= width, "new byte range too wide");
    let padded = format!("{text:<width$}");
    pdf[open..close].copy_from_slice(padded.as_bytes());
}

/// Extensions of a certificate made for signing documents (as the test
/// PKI's signers carry), for [`issue_cert`].
pub const SIGNING_EXTENSIONS: &str = "basicConstraints = critical, CA:false\n\
     keyUsage = critical, digitalSignature, nonRepudiation\n\
     subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n";

/// Extensions of a CA certificate with no limit on the path below it.
pub const CA_EXTENSIONS: &str = "basicConstraints = critical, CA:true\n\
     keyUsage = critical, keyCertSign, cRLSign\n\
     subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n";

/// A new RSA-2048 key and a certificate for `subject` issued by `issuer`
/// (certificate, key) with the openssl extension lines `extensions`,
/// valid from now for a year; written into `dir` as NAME.key.pem and
/// NAME.pem, which are returned in that order.
pub fn issue_cert(
    dir: &Path,
    name: &str,
    subject: &str,
    extensions: &str,
    issuer: (&Path, &Path),
) -> (PathBuf, PathBuf) {
    issue_cert_with_key(dir, name, subject, extensions, issuer, "rsa:2048")
}

/// As [`issue_cert`], with a key of `newkey` (openssl's `-newkey`, e.g. `rsa:6144`).
pub fn issue_cert_with_key(
    dir: &Path,
    name: &str,
    subject: &str,
    extensions: &str,
    issuer: (&Path, &Path),
    newkey: &str,
) -> (PathBuf, PathBuf) {
    let key = dir.join(format!("{name}.key.pem"));
    let cert = dir.join(format!("{name}.pem"));
    let csr = dir.join(format!("{name}.csr"));
    let ext = dir.join(format!("{name}.ext"));
    std::fs::write(&ext, format!("[ext]\n{extensions}")).unwrap();
    let o = run(Command::new("openssl")
        .args(["req", "-new", "-newkey", newkey, "-nodes", "-subj", subject])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&csr));
    assert!(o.status.success(), "openssl req: {}", text(&o));
    // No serial given: openssl picks a random one.
    let o = run(Command::new("openssl")
        .args([
            "x509",
            "-req",
            "-days",
            "365",
            "-sha256",
            "-extensions",
            "ext",
        ])
        .arg("-in")
        .arg(&csr)
        .arg("-CA")
        .arg(issuer.0)
        .arg("-CAkey")
        .arg(issuer.1)
        .arg("-extfile")
        .arg(&ext)
        .arg("-out")
        .arg(&cert));
    assert!(o.status.success(), "openssl x509 -req: {}", text(&o));
    (key, cert)
}

/// The test PKI's sub-CA ("Test Class 3 CA 2026", pathlen 0): certificate
/// and key, to issue certificates under it with [`issue_cert`].
pub fn test_subca() -> (PathBuf, PathBuf) {
    let pki = fixture().dir.join("pki");
    (pki.join("subca.pem"), pki.join("subca.key.pem"))
}

/// A detached CMS signature (DER, SHA-256, signing time now) of `data` by
/// `cert`/`key`, carrying the certificates of `certfile`, by openssl.
pub fn openssl_sign_detached(
    data: &Path,
    out: &Path,
    (key, cert): (&Path, &Path),
    certfile: &Path,
) {
    let o = run(Command::new("openssl")
        .args([
            "cms", "-sign", "-binary", "-md", "sha256", "-outform", "DER",
        ])
        .arg("-in")
        .arg(data)
        .arg("-signer")
        .arg(cert)
        .arg("-inkey")
        .arg(key)
        .arg("-certfile")
        .arg(certfile)
        .arg("-out")
        .arg(out));
    assert!(o.status.success(), "openssl cms -sign: {}", text(&o));
}
