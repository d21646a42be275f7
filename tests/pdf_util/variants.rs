//! The same corpus file in the shapes real senders produce: with bytes
//! before `%PDF-` or after the last `%%EOF`, re-saved linearized, and
//! encrypted by qpdf (RC4-40 as old office software made it, RC4-128,
//! AES-128, AES-256; empty and real user passwords).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{common, text};

/// The owner password of every encrypted variant.
pub const OWNER: &str = "owner-secret";
/// The user password of the variants that ask for one.
pub const USER: &str = "user-secret";
/// Bytes put before `%PDF-`: a mail gateway's banner, padded to just under
/// 1 KiB (readers look for the header in the first 1024 bytes only).
pub const JUNK_LEN: usize = 1000;
/// Bytes left after the last `%%EOF`: a line end, then the zeros some
/// upload forms and transfer tools pad a file with.
pub const TRAILING: &[u8] = &[b'\r', b'\n', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cipher {
    /// 40-bit RC4 (revision 2), what Acrobat 3 era software wrote.
    Rc4_40,
    Rc4_128,
    Aes128,
    Aes256,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Junk,
    /// Bytes after the last `%%EOF` ([`TRAILING`]).
    Trailing,
    Linearized,
    /// Encrypted; `true`: with a real user password, `false`: an empty one.
    Encrypted(Cipher, bool),
}

impl Variant {
    pub const ALL: [Variant; 10] = [
        Variant::Junk,
        Variant::Trailing,
        Variant::Linearized,
        // Only with a real password: the empty one adds nothing that
        // RC4-128's does not show.
        Variant::Encrypted(Cipher::Rc4_40, true),
        Variant::Encrypted(Cipher::Rc4_128, false),
        Variant::Encrypted(Cipher::Rc4_128, true),
        Variant::Encrypted(Cipher::Aes128, false),
        Variant::Encrypted(Cipher::Aes128, true),
        Variant::Encrypted(Cipher::Aes256, false),
        Variant::Encrypted(Cipher::Aes256, true),
    ];

    pub fn label(self) -> String {
        match self {
            Variant::Junk => "junk".into(),
            Variant::Trailing => "trailing-bytes".into(),
            Variant::Linearized => "linearized".into(),
            Variant::Encrypted(c, user) => format!(
                "{}-{}",
                match c {
                    Cipher::Rc4_40 => "rc4-40",
                    Cipher::Rc4_128 => "rc4-128",
                    Cipher::Aes128 => "aes-128",
                    Cipher::Aes256 => "aes-256",
                },
                if user { "userpw" } else { "emptypw" }
            ),
        }
    }

    /// The password the first signatory gives (None: the empty user
    /// password must open it), and the one the second gives.
    pub fn passwords(
        self,
        original: Option<&'static str>,
    ) -> (Option<&'static str>, Option<&'static str>) {
        match self {
            Variant::Encrypted(_, true) => (Some(USER), Some(OWNER)),
            Variant::Encrypted(_, false) => (None, Some(OWNER)),
            _ => (original, original),
        }
    }
}

/// A password that opens an encrypted corpus file (pyHanko's test suite
/// uses `usersecret`; qpdf's file names its user password).
pub fn corpus_password(name: &str) -> Option<&'static str> {
    if name.contains("aes256") {
        Some("usersecret")
    } else if name.starts_with("qpdf-enc-XI") {
        Some("view")
    } else {
        None
    }
}

/// Write `variant` of `input` to `out`. `Err` when qpdf cannot re-save the
/// file (a damaged input it does not recover): that variant does not exist.
pub fn make(
    input: &Path,
    password: Option<&str>,
    variant: Variant,
    out: &Path,
) -> Result<(), String> {
    let first = qpdf_rewrite(input, password, variant, out);
    if first.is_err() && variant == Variant::Linearized {
        // qpdf linearizes no file that reuses an object number with another
        // generation; a plain re-save first renumbers the objects.
        let plain = out.with_extension("resaved.pdf");
        let mut cmd = Command::new("qpdf");
        if let Some(pw) = password {
            cmd.arg(format!("--password={pw}"));
        }
        let o = common::run(cmd.arg("--decrypt").arg(input).arg(&plain));
        if matches!(o.status.code(), Some(0) | Some(3)) {
            return qpdf_rewrite(&plain, None, variant, out);
        }
    }
    first
}

fn qpdf_rewrite(
    input: &Path,
    password: Option<&str>,
    variant: Variant,
    out: &Path,
) -> Result<(), String> {
    if variant == Variant::Junk {
        let mut bytes = b"X-Scanned-By: mail gateway 4.2 (attachment passed)\r\n".repeat(20);
        bytes.resize(JUNK_LEN - 2, b'-');
        bytes.extend_from_slice(b"\r\n");
        bytes.extend(std::fs::read(input).map_err(|e| e.to_string())?);
        return std::fs::write(out, bytes).map_err(|e| e.to_string());
    }
    if variant == Variant::Trailing {
        let mut bytes = std::fs::read(input).map_err(|e| e.to_string())?;
        bytes.extend_from_slice(TRAILING);
        return std::fs::write(out, bytes).map_err(|e| e.to_string());
    }
    let mut cmd = Command::new("qpdf");
    if let Some(pw) = password {
        cmd.arg(format!("--password={pw}"));
    }
    match variant {
        Variant::Linearized => {
            cmd.arg("--linearize");
        }
        Variant::Encrypted(cipher, user) => {
            let user_pw = if user { USER } else { "" };
            cmd.arg("--allow-weak-crypto")
                .arg("--encrypt")
                .arg(user_pw)
                .arg(OWNER);
            match cipher {
                Cipher::Rc4_40 => cmd.arg("40"),
                Cipher::Rc4_128 => cmd.args(["128", "--use-aes=n"]),
                Cipher::Aes128 => cmd.args(["128", "--use-aes=y"]),
                Cipher::Aes256 => cmd.arg("256"),
            };
            cmd.arg("--");
        }
        Variant::Junk | Variant::Trailing => {}
    }
    let o = common::run(cmd.arg(input).arg(out));
    let made = std::fs::metadata(out).map(|m| m.len() > 0).unwrap_or(false);
    if matches!(o.status.code(), Some(0) | Some(3)) && made {
        Ok(())
    } else {
        let _ = std::fs::remove_file(out);
        Err(format!(
            "qpdf cannot re-save it: {}",
            text(&o).lines().last().unwrap_or("")
        ))
    }
}

/// How the judges open a variant made with `password` (one of the two above).
pub fn opened(password: Option<&str>) -> Option<super::Password<'_>> {
    password.map(|pw| {
        if pw == OWNER {
            super::Password::Owner(pw)
        } else {
            super::Password::User(pw)
        }
    })
}

/// The `R = n` line of `qpdf --show-encryption` ("" when not encrypted).
pub fn encryption_revision(file: &Path, password: Option<&str>) -> String {
    let mut cmd = Command::new("qpdf");
    cmd.arg("--show-encryption");
    if let Some(pw) = password {
        cmd.arg(format!("--password={pw}"));
    }
    let out = common::run(cmd.arg(file));
    text(&out)
        .lines()
        .find(|l| l.starts_with("R = "))
        .unwrap_or_default()
        .to_string()
}

/// One pyHanko job for [`pyhanko_many`].
#[derive(Debug)]
pub struct HankoJob {
    pub file: PathBuf,
    pub password: Option<&'static str>,
    pub fields: Vec<String>,
}

/// Validate many files in one pyHanko process: (file, field) → summary
/// flags, or `ERROR: …`.
pub fn pyhanko_many(jobs: &[HankoJob], root: &Path) -> Vec<(PathBuf, String, String)> {
    use std::io::Write;
    let script = common::repo().join("tests/pdf_util/validate_many.py");
    let python = common::repo().join(".venv/bin/python");
    let mut input = String::new();
    for j in jobs {
        let mode = if super::needs_lenient_pyhanko(&j.file) {
            "lenient"
        } else {
            "strict"
        };
        input.push_str(&format!(
            "{mode}\t{}\t{}\t{}\n",
            j.password.unwrap_or(""),
            j.file.display(),
            j.fields.join(",")
        ));
    }
    let mut child = Command::new(python)
        .arg(script)
        .arg(root)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start pyHanko");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    let out = child.wait_with_output().expect("pyHanko finishes");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut p = l.splitn(3, '\t');
            Some((
                PathBuf::from(p.next()?),
                p.next()?.to_string(),
                p.next()?.to_string(),
            ))
        })
        .collect()
}
