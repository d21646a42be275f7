//! Shared test fixtures: the throwaway PKI in SoftHSM tokens, and helpers to
//! run the external judges (openssl, qpdf, pdfsig, pyHanko).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub mod objstm;

pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

#[derive(Debug, Clone)]
pub struct CertFixture {
    pub id: String,
    pub cn: String,
    pub token: String,
    pub key: PathBuf,
    pub cert: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Fixture {
    pub dir: PathBuf,
    pub softhsm2_conf: PathBuf,
    pub user_pin: String,
    pub root: PathBuf,
    pub chain: PathBuf,
    pub nssdb: PathBuf,
    pub pan_hash: String,
    json: serde_json::Value,
}

impl Fixture {
    /// The shared PKI + tokens, made once per script version and reused by
    /// every test binary (a file lock keeps parallel binaries from racing).
    pub fn shared() -> &'static Fixture {
        static FIXTURE: OnceLock<Fixture> = OnceLock::new();
        FIXTURE.get_or_init(|| {
            let script = repo().join("tests/fixtures/make-pki.sh");
            let text = std::fs::read(&script).expect("read make-pki.sh");
            let tag = &hex_sha256(&text)[..12];
            let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("pki-{tag}"));
            let lock = dir.with_extension("lock");
            let status = Command::new("flock")
                .arg(&lock)
                .arg("bash")
                .arg("-c")
                .arg(format!(
                    // fixture.json names absolute paths: a target/ moved elsewhere
                    // makes the fixture again.
                    "grep -qF '{d}/' '{d}/fixture.json' 2>/dev/null || \
                     {{ rm -rf '{d}' && bash '{s}' '{d}' >/dev/null; }}",
                    d = dir.display(),
                    s = script.display()
                ))
                .status()
                .expect("run flock + make-pki.sh");
            assert!(status.success(), "make-pki.sh failed");
            Fixture::load(&dir)
        })
    }

    pub fn load(dir: &Path) -> Fixture {
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("fixture.json")).expect("fixture.json"))
                .expect("fixture.json is JSON");
        let s = |k: &str| json[k].as_str().expect(k).to_string();
        Fixture {
            dir: dir.to_path_buf(),
            softhsm2_conf: PathBuf::from(s("softhsm2_conf")),
            user_pin: s("user_pin"),
            root: PathBuf::from(s("root")),
            chain: PathBuf::from(s("chain")),
            nssdb: PathBuf::from(s("nssdb")),
            pan_hash: s("pan_hash"),
            json,
        }
    }

    pub fn cert(&self, name: &str) -> CertFixture {
        let c = &self.json["certs"][name];
        let s = |k: &str| {
            c[k].as_str()
                .unwrap_or_else(|| panic!("{name}.{k}"))
                .to_string()
        };
        CertFixture {
            id: s("id"),
            cn: s("cn"),
            token: s("token"),
            key: PathBuf::from(s("key")),
            cert: PathBuf::from(s("cert")),
        }
    }

    /// What the DSC provider does to reset a token's user PIN: log in with
    /// the SO PIN and set the user PIN again (`C_InitPIN`), which clears the
    /// token's wrong-PIN count and flags. Over `softhsm_conf`'s store.
    pub fn provider_resets_the_pin(&self, softhsm_conf: &Path, module: &Path, token: &str) {
        let so_pin = self.json["so_pin"].as_str().expect("so_pin in the fixture");
        let out = Command::new("pkcs11-tool")
            .env("SOFTHSM2_CONF", softhsm_conf)
            .arg("--module")
            .arg(module)
            .args(["--token-label", token, "--login", "--login-type", "so"])
            .args([
                "--so-pin",
                so_pin,
                "--init-pin",
                "--new-pin",
                &self.user_pin,
            ])
            .output()
            .expect("pkcs11-tool");
        assert!(
            out.status.success(),
            "the provider's reset failed: {}",
            text(&out)
        );
    }

    /// A private copy of the token store (for tests that change tokens or
    /// must not share SoftHSM state), with its own softhsm2.conf.
    pub fn private_tokens(&self, into: &Path) -> PathBuf {
        std::fs::create_dir_all(into).expect("create the folder for a private token store");
        let tokens = into.join("tokens");
        let status = Command::new("cp")
            .arg("-a")
            .arg(self.dir.join("tokens"))
            .arg(&tokens)
            .status()
            .expect("cp tokens");
        assert!(status.success());
        let conf = into.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = true\n",
                tokens.display()
            ),
        )
        .expect("write softhsm2.conf");
        conf
    }

    #[cfg(feature = "software-signer")]
    pub fn software_signer(&self, name: &str) -> mohor::sign::software::SoftwareSigner {
        let c = self.cert(name);
        mohor::sign::software::SoftwareSigner::from_files(&c.key, &c.cert, &self.chain)
            .expect("software signer from fixture")
    }
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn hex_sha256(data: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(data))
}

/// A fresh directory for one test's files, kept under target/ for inspection.
pub fn test_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("t")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create test dir");
    dir
}

/// Is an external tool there? In CI a missing tool is a failure; on a
/// developer's machine the test says loudly that it skipped.
pub fn have_tool(tool: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        if std::env::var_os("CI").is_some() {
            panic!("required tool {tool} is missing (run tests/setup.sh)");
        }
        eprintln!("SKIPPED: {tool} is not installed (run tests/setup.sh)");
    }
    found
}

pub fn pyhanko() -> Option<PathBuf> {
    let p = repo().join(".venv/bin/pyhanko");
    if p.exists() {
        Some(p)
    } else if std::env::var_os("CI").is_some() {
        panic!("pyhanko venv missing (run tests/setup.sh)");
    } else {
        eprintln!("SKIPPED: .venv/bin/pyhanko missing (run tests/setup.sh)");
        None
    }
}

/// What a person approving `times` signing requests answers in the
/// scripted dialogs: consent, then the right PIN, each time.
pub fn approvals(pin: &str, times: usize) -> String {
    format!("{{\"consent\":\"approve\"}}\n{{\"pin\":\"{pin}\"}}\n").repeat(times)
}

/// A test's own folder: a private copy of the fixture tokens, a
/// `MOHOR_HOME`, and a prompts file that approves one signing request.
pub struct Approving {
    pub dir: PathBuf,
    pub softhsm_conf: PathBuf,
    pub home: PathBuf,
    pub prompts: PathBuf,
}

pub fn approving(name: &str) -> Approving {
    let fx = Fixture::shared();
    let dir = test_dir(name);
    let softhsm_conf = fx.private_tokens(&dir);
    let home = dir.join("home");
    std::fs::create_dir_all(&home).expect("create MOHOR_HOME");
    let prompts = dir.join("prompts.jsonl");
    std::fs::write(&prompts, approvals(&fx.user_pin, 1)).expect("write the prompts");
    Approving {
        dir,
        softhsm_conf,
        home,
        prompts,
    }
}

pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    out
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `openssl cms -verify` of a detached signature against the fixture root.
pub fn openssl_verify_detached(p7s: &Path, data: &Path, root: &Path) -> Output {
    openssl_verify_detached_for(p7s, data, root, "any")
}

/// As [`openssl_verify_detached`], checking the certificates for
/// `purpose` (openssl's names: `smimesign`, its default, also asks whether
/// the signer's certificate is meant for signing messages).
pub fn openssl_verify_detached_for(p7s: &Path, data: &Path, root: &Path, purpose: &str) -> Output {
    run(Command::new("openssl")
        .args(["cms", "-verify", "-binary", "-inform", "DER", "-purpose"])
        .arg(purpose)
        .arg("-in")
        .arg(p7s)
        .arg("-content")
        .arg(data)
        .arg("-CAfile")
        .arg(root)
        .arg("-out")
        .arg("/dev/null"))
}

/// The `mohor` binary with a private MOHOR_HOME and the given SoftHSM config.
pub fn mohor(home: &Path, softhsm_conf: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mohor"));
    c.env("MOHOR_HOME", home)
        .env("SOFTHSM2_CONF", softhsm_conf)
        .env_remove("MOHOR_SIM_DIR")
        .stdin(std::process::Stdio::null());
    c
}

/// `MOHOR --pin-stdin sign OPTIONS INPUTS -o OUT` with `pin` on stdin, where
/// `mohor` is the command up to its global options; never a panic.
pub fn sign_with_pin(
    mut mohor: Command,
    options: &[&str],
    inputs: &[&Path],
    out: &Path,
    pin: &str,
) -> Output {
    mohor.args(["--pin-stdin", "sign"]).args(options);
    mohor.args(inputs).arg("-o").arg(out);
    let o = run_with_stdin(&mut mohor, &format!("{pin}\n"));
    assert_no_panic(&o);
    o
}

/// A detached signature of `data` with `cert` from the SoftHSM tokens of
/// `softhsm_conf`, `pin` on stdin, in `home`.
pub fn sign_detached_softhsm(
    home: &Path,
    softhsm_conf: &Path,
    cert: &str,
    data: &Path,
    out: &Path,
    pin: &str,
) -> Output {
    let mut c = mohor(home, softhsm_conf);
    c.args(["--module", MODULE]);
    sign_with_pin(c, &["--detached", "--cert", cert], &[data], out, pin)
}

/// Run with `stdin_text` on standard input (for --pin-stdin).
pub fn run_with_stdin(cmd: &mut Command, stdin_text: &str) -> Output {
    use std::io::Write;
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("spawn mohor");
    if let Some(mut s) = child.stdin.take() {
        let _ = s.write_all(stdin_text.as_bytes());
    }
    child.wait_with_output().expect("wait mohor")
}

/// No panic message, ever: a panic is a defect.
pub fn assert_no_panic(out: &Output) {
    let t = text(out);
    assert!(!t.contains("panicked"), "mohor panicked:\n{t}");
    assert_ne!(out.status.code(), Some(101), "mohor panicked:\n{t}");
}

pub fn json_out(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", text(out)))
}

/// A test's own token store behind the fault-injecting PKCS#11 module.
pub struct SimSetup {
    pub dir: PathBuf,
    pub home: PathBuf,
    pub conf: PathBuf,
    pub sim: mohor_token_sim::harness::SimDir,
    pub module: PathBuf,
}

impl SimSetup {
    pub fn new(name: &str, control: serde_json::Value) -> SimSetup {
        let fx = Fixture::shared();
        let dir = test_dir(name);
        let conf = fx.private_tokens(&dir);
        let sim = mohor_token_sim::harness::SimDir::create(dir.join("sim"));
        sim.update_control(&control);
        let home = dir.join("home");
        std::fs::create_dir_all(&home).unwrap();
        SimSetup {
            dir,
            home,
            conf,
            sim,
            module: mohor_token_sim::harness::cdylib_path(),
        }
    }

    /// Mohor in this home trusts the fixture's root (`config.toml`), so a
    /// good earlier signature is judged "valid", not "not trusted".
    pub fn trust_the_test_root(&self) {
        let root = Fixture::shared().root.display().to_string();
        std::fs::write(
            self.home.join("config.toml"),
            format!("trust_roots = [{root:?}]\n"),
        )
        .unwrap();
    }

    /// `mohor --module SIM ARGS...`
    pub fn mohor(&self, args: &[&str]) -> Command {
        let mut c = mohor(&self.home, &self.conf);
        for (k, v) in self.sim.env() {
            c.env(k, v);
        }
        c.arg("--module").arg(&self.module).args(args);
        c
    }

    /// Detached signature of `data` with certificate `cert` and `pin` on stdin.
    pub fn sign_detached(&self, data: &Path, out: &Path, cert: &str, pin: &str) -> Output {
        self.sign_with_pin(&["--detached", "--cert", cert], &[data], out, pin)
    }

    /// A co-signature of `data` with `cert`, added after the signers of the
    /// detached signature `earlier`, into `out`.
    pub fn cosign_detached(
        &self,
        earlier: &Path,
        data: &Path,
        out: &Path,
        cert: &str,
        pin: &str,
    ) -> Output {
        let options = ["--detached", "--cert", cert, "--cosign"];
        self.sign_with_pin(&options, &[earlier, data], out, pin)
    }

    fn sign_with_pin(&self, options: &[&str], inputs: &[&Path], out: &Path, pin: &str) -> Output {
        sign_with_pin(self.mohor(&[]), options, inputs, out, pin)
    }

    pub fn pin_status(&self) -> serde_json::Value {
        let out = run(&mut self.mohor(&["pin", "status", "--json"]));
        assert!(out.status.success(), "{}", text(&out));
        json_out(&out)
    }

    /// The ASHA-EPASS token's row of `pin status`.
    pub fn asha_status(&self) -> serde_json::Value {
        self.pin_status()["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["label"] == "ASHA-EPASS")
            .cloned()
            .expect("ASHA-EPASS in pin status")
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// pyHanko's verdict on a detached signature: `Some((intact_and_trusted, output))`,
/// or `None` when pyHanko is not installed (and not in CI).
pub fn pyhanko_detached(p7s: &Path, data: &Path, root: &Path) -> Option<(bool, String)> {
    pyhanko_judge(root, |cmd| {
        cmd.arg("--detached").arg(p7s).arg(data);
    })
}

/// pyHanko's verdict on every signature in a PDF, as [`pyhanko_detached`].
pub fn pyhanko_pdf(pdf: &Path, root: &Path) -> Option<(bool, String)> {
    pyhanko_judge(root, |cmd| {
        cmd.arg(pdf);
    })
}

/// `pyhanko sign validate` trusting `root` alone, without revocation checks;
/// `None` when pyHanko is not installed (and not in CI).
pub fn pyhanko_validate_command(root: &Path) -> Option<Command> {
    let mut cmd = Command::new(pyhanko()?);
    cmd.args([
        "sign",
        "validate",
        "--no-revocation-check",
        "--trust-replace",
        "--trust",
    ])
    .arg(root);
    Some(cmd)
}

fn pyhanko_judge(root: &Path, what: impl FnOnce(&mut Command)) -> Option<(bool, String)> {
    let mut cmd = pyhanko_validate_command(root)?;
    what(&mut cmd);
    let out = run(&mut cmd);
    let t = text(&out);
    let good = out.status.success()
        && t.contains("INTACT")
        && t.contains("TRUSTED")
        && !t.contains("UNTRUSTED");
    Some((good, t))
}

/// How many signers' certificates `openssl cms -verify -signer` writes out
/// for a detached signature (openssl's own count of the SignerInfos it checked).
pub fn openssl_signer_count(p7s: &Path, data: &Path, into: &Path) -> usize {
    let out = run(Command::new("openssl")
        .args([
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-noverify",
            "-in",
        ])
        .arg(p7s)
        .arg("-content")
        .arg(data)
        .arg("-signer")
        .arg(into)
        .arg("-out")
        .arg("/dev/null"));
    assert!(out.status.success(), "{}", text(&out));
    std::fs::read_to_string(into)
        .unwrap_or_default()
        .matches("BEGIN CERTIFICATE")
        .count()
}

/// A running `mohor serve`, killed when dropped however the test ends.
pub struct Served {
    pub child: std::process::Child,
    pub port: u16,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `cmd` (a `mohor … serve --port 0 …` command; its stderr set by the
/// caller, whose `log` is shown if the agent never starts) and wait for the
/// first line, which names the port. Standard output is drained afterwards
/// so the agent never blocks on a full pipe.
pub fn spawn_serve(cmd: &mut Command, log: &Path) -> Served {
    use std::io::BufRead;
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn mohor serve");
    let stdout = child.stdout.take().expect("serve stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = std::io::BufReader::new(stdout).lines();
        let _ = tx.send(lines.next());
        for _ in lines {}
    });
    let first = match rx.recv_timeout(std::time::Duration::from_secs(120)) {
        Ok(Some(Ok(line))) => line,
        other => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "mohor serve printed no first line ({other:?}); log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
    };
    let port = first
        .rsplit(':')
        .next()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no port in {first:?}"));
    Served { child, port }
}

/// A one-page PDF with a correct cross-reference table.
pub fn tiny_pdf() -> Vec<u8> {
    classic_pdf(
        b"%PDF-1.7\n",
        &[
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> >>",
        ],
        "",
    )
}

/// A PDF with a classic cross-reference table: the header line(s) `head`,
/// then `objects` numbered from 1 (the catalog first); the trailer holds
/// `/Size`, `/Root 1 0 R` and `trailer_extra` (e.g. `" /ID [...]"`).
pub fn classic_pdf<O: AsRef<[u8]>>(head: &[u8], objects: &[O], trailer_extra: &str) -> Vec<u8> {
    let trailer = format!(
        "<< /Size {} /Root 1 0 R{trailer_extra} >>",
        objects.len() + 1
    );
    pdf_with_trailer(head, objects, &trailer)
}

/// [`classic_pdf`] with the whole trailer dictionary given (to damage it).
pub fn pdf_with_trailer<O: AsRef<[u8]>>(head: &[u8], objects: &[O], trailer: &str) -> Vec<u8> {
    let mut pdf = head.to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        pdf.extend_from_slice(body.as_ref());
        pdf.extend_from_slice(b"\nendobj\n");
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        pdf.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(format!("trailer\n{trailer}\nstartxref\n{xref}\n%%EOF\n").as_bytes());
    pdf
}

pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Bytes the agent sent as base64 (a test fails on anything else).
pub fn unb64(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64 from the agent")
}

/// The lines the consent questions showed, in order (the scripted
/// prompter's log of what a person would have read).
pub fn consent_shown(prompts: &Path) -> Vec<String> {
    asked(prompts)
        .into_iter()
        .filter(|v| v["dialog"] == "consent")
        .flat_map(|v| {
            v["shown"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|l| l.as_str().map(str::to_owned))
        })
        .collect()
}

/// What the scripted dialogs were asked (`PROMPTS.asked.jsonl`), in order.
pub fn asked(prompts: &Path) -> Vec<serde_json::Value> {
    let mut log = prompts.as_os_str().to_owned();
    log.push(".asked.jsonl");
    std::fs::read_to_string(PathBuf::from(log))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("log line is JSON"))
        .collect()
}
