//! `pdf-bench --suite cli`: the command lines people compare, side by side.
//!
//! For a 1 MB, a 100 MB single-stream and a 100 MB many-page PDF (14,000
//! pages, object streams): `mohor --pin-stdin sign` with a SoftHSM key,
//! pyHanko's `sign addsig pkcs11` with the same key, and the floor (`cp`,
//! `sync` of the copy, `openssl dgst -sha256`), interleaved, in fresh
//! processes, median of `runs`. Then batches: 100 x 1 MB in one
//! `mohor sign --out-dir` on SoftHSM, beside the batch's floor (the files
//! copied, synced and hashed; SoftHSM's 100 signatures on their own), and
//! the same batch on token-sim with 200 ms per `C_Sign`. Then
//! `mohor verify` against `pyhanko sign validate` on the
//! signed 100 MB files. Inputs, PKI and tokens are made deterministically in
//! `dir`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use super::bench::{err, generate_pages, R};

const SOFTHSM: &str = "/usr/lib/softhsm/libsofthsm2.so";
const PIN: &str = "123456";
/// The benchmark's token and key, as `tests/fixtures/make-pki.sh` names them.
const TOKEN_LABEL: &str = "ASHA-EPASS";
const KEY_LABEL: &str = "rsa2048";
/// DER of a SHA-256 DigestInfo up to the digest (RFC 8017, 9.2 note 1).
const SHA256_DIGEST_INFO_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];
const BATCH: usize = 100;
/// Latency per signature. cryptoki's `Session::sign` calls `C_Sign` twice
/// (the length, then the signature) and token-sim delays every call, so each
/// call gets half.
const SIM_LATENCY_MS: u64 = 200;
const C_SIGN_CALLS: u64 = 2;

struct Setup {
    dir: PathBuf,
    mohor: PathBuf,
    sim: PathBuf,
    pyhanko: PathBuf,
    conf: PathBuf,
    cert_id: String,
}

pub fn run(dir: &Path, runs: usize, only: Option<&str>) -> R<()> {
    std::fs::create_dir_all(dir).map_err(err)?;
    let dir = dir.canonicalize().map_err(err)?;
    let exe = std::env::current_exe().map_err(err)?;
    let bin = exe.parent().ok_or("no binary directory")?;
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let pki = dir.join("pki");
    if !pki.join("fixture.json").exists() {
        let st = Command::new("bash")
            .arg(repo.join("tests/fixtures/make-pki.sh"))
            .arg(&pki)
            .status()
            .map_err(err)?;
        if !st.success() {
            return Err("make-pki.sh failed".into());
        }
    }
    let der = std::fs::read(pki.join("pki/rsa2048.cert.der")).map_err(err)?;
    let s = Setup {
        mohor: bin.join("mohor"),
        sim: bin.join("libmohor_token_sim.so"),
        pyhanko: repo.join(".venv/bin/pyhanko"),
        conf: pki.join("softhsm2.conf"),
        cert_id: hex::encode(sha2_256(&der))[..16].to_string(),
        dir: dir.clone(),
    };
    let inputs = [
        ("1 MB, 140 pages", "small.pdf", 140, 7_000, false),
        ("100 MB, one stream", "single.pdf", 1, 100_000_000, false),
        (
            "100 MB, 14,000 pages, object streams",
            "many.pdf",
            14_000,
            7_000,
            true,
        ),
    ];
    for (_, name, pages, per_page, objstm) in inputs {
        let path = dir.join(name);
        if !path.exists() {
            eprintln!("generating {} ...", path.display());
            if objstm {
                let plain = dir.join("many-plain.pdf");
                generate_pages(&plain, pages, per_page)?;
                let st = Command::new("qpdf")
                    .args([
                        "--object-streams=generate",
                        "--compress-streams=n",
                        "--deterministic-id",
                    ])
                    .arg(&plain)
                    .arg(&path)
                    .status()
                    .map_err(err)?;
                std::fs::remove_file(&plain).map_err(err)?;
                if !st.success() {
                    return Err("qpdf --object-streams=generate failed".into());
                }
            } else {
                generate_pages(&path, pages, per_page)?;
            }
        }
    }
    if only.is_none_or(|o| o == "single") {
        println!("median of {runs} runs, interleaved (floor, mohor, pyhanko, softhsm in rotating order), each timed alone; peak RSS from one more run under /usr/bin/time");
        println!("softhsm: a process that only loads SoftHSM, logs in and makes one signature (`pdf-bench --softhsm-alone`)");
        println!(
            "{:<38} {:<8} {:>9} {:>9} {:>9} {:>8}",
            "input", "what", "median ms", "best ms", "RSS MiB", "x floor"
        );
        for (label, name, ..) in inputs {
            compare(&s, label, &dir.join(name), runs)?;
        }
    }
    if only.is_none_or(|o| o == "batch") {
        batches(&s, &dir.join("small.pdf"), runs)?;
    }
    if only.is_none_or(|o| o == "verify") {
        for (label, name, ..) in &inputs[1..] {
            verify(&s, label, &dir.join(name), runs)?;
        }
    }
    Ok(())
}

/// Verifying a signed 100 MB file: `mohor verify` (reads it in pieces)
/// against `pyhanko sign validate`, both trusting the test root, offline.
fn verify(s: &Setup, label: &str, input: &Path, runs: usize) -> R<()> {
    let signed = s.dir.join("verify-signed.pdf");
    let _ = std::fs::remove_file(&signed);
    mohor_sign(s, &[input], &["-o"], &signed, None, Peak::Measured)?;
    let root = s.dir.join("pki/pki/root.pem");
    let home = s.dir.join("home");
    let mut times: [Vec<f64>; 2] = Default::default();
    let mut rss = [0u64; 2];
    for r in 0..runs {
        for k in 0..2 {
            let which = (r + k) % 2;
            let mut c = if which == 0 {
                let mut c = Command::new(&s.mohor);
                c.env("MOHOR_HOME", &home)
                    .arg("verify")
                    .arg("--trust")
                    .arg(&root);
                c
            } else {
                let mut c = Command::new(&s.pyhanko);
                c.args([
                    "sign",
                    "validate",
                    "--no-revocation-check",
                    "--trust-replace",
                ])
                .arg("--trust")
                .arg(&root);
                c
            };
            c.arg(&signed);
            let t = Instant::now();
            let m = timed(&mut c, None)?;
            times[which].push(t.elapsed().as_secs_f64());
            rss[which] = rss[which].max(m);
        }
    }
    let _ = std::fs::remove_file(&signed);
    let (m, p) = (median(&mut times[0]), median(&mut times[1]));
    println!(
        "verify {label}: mohor {m:.3} s median, peak RSS {:.1} MiB; pyhanko {p:.3} s, {:.1} MiB",
        rss[0] as f64 / 1024.0,
        rss[1] as f64 / 1024.0
    );
    Ok(())
}

/// One input: the three contenders, interleaved, and beside them the
/// token's own share of a single signature (see [`softhsm_alone`]).
fn compare(s: &Setup, label: &str, input: &Path, runs: usize) -> R<()> {
    let out = s.dir.join("out.pdf");
    let kinds = ["floor", "mohor", "pyhanko", "softhsm"];
    let mut times: [Vec<f64>; 4] = Default::default();
    let mut rss = [0u64; 4];
    let run_one = |which: usize, peak: Peak| -> R<(f64, u64)> {
        let _ = std::fs::remove_file(&out);
        match kinds[which] {
            "floor" => floor(input, &out, peak),
            "mohor" => mohor_sign(s, &[input], &["-o"], &out, None, peak),
            "pyhanko" => pyhanko_sign(s, input, &out, peak),
            _ => {
                let mut c = Command::new(std::env::current_exe().map_err(err)?);
                c.arg("--softhsm-alone").env("SOFTHSM2_CONF", &s.conf);
                let t = Instant::now();
                let rss = run_command(&mut c, None, peak)?;
                Ok((t.elapsed().as_secs_f64(), rss))
            }
        }
    };
    // Timed alone: `/usr/bin/time` would add its own fork and exec to every
    // command (three times to the floor's). Peak RSS from one more run each.
    for r in 0..runs {
        for k in 0..kinds.len() {
            let which = (r + k) % kinds.len();
            times[which].push(run_one(which, Peak::NotMeasured)?.0);
        }
    }
    for (which, peak) in rss.iter_mut().enumerate() {
        *peak = run_one(which, Peak::Measured)?.1;
    }
    let _ = std::fs::remove_file(&out);
    let medians: Vec<f64> = times.iter_mut().map(|t| median(t)).collect();
    for (i, kind) in kinds.iter().enumerate() {
        let best = times[i].iter().copied().fold(f64::INFINITY, f64::min);
        println!(
            "{label:<38} {kind:<8} {:>9.1} {:>9.1} {:>9.1} {:>8.2}",
            medians[i] * 1000.0,
            best * 1000.0,
            rss[i] as f64 / 1024.0,
            medians[i] / medians[0]
        );
    }
    println!(
        "{label:<38} pyhanko / mohor: {:.1}x; floor + softhsm: {:.1} ms",
        medians[2] / medians[1],
        (medians[0] + medians[3]) * 1000.0
    );
    Ok(())
}

/// `pdf-bench --softhsm-alone` (a child process, `SOFTHSM2_CONF` set): the
/// least a process that signs with the benchmark's SoftHSM key does —
/// load the library, `C_Initialize`, find the token, one `C_Login`, find
/// the key by its label, one RSA signature of a DigestInfo, `C_Finalize` —
/// and nothing else: no document, no certificate, no state. Beside the
/// floor it shows how much of a command-line signature is the token's.
pub fn softhsm_alone() -> R<()> {
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    use cryptoki::mechanism::Mechanism;
    use cryptoki::object::{Attribute, ObjectClass};
    use cryptoki::session::UserType;
    use cryptoki::types::AuthPin;

    let ctx = Pkcs11::new(SOFTHSM).map_err(err)?;
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .map_err(err)?;
    let slot = ctx
        .get_slots_with_token()
        .map_err(err)?
        .into_iter()
        .find(|slot| {
            ctx.get_token_info(*slot)
                .is_ok_and(|info| info.label().trim() == TOKEN_LABEL)
        })
        .ok_or("no token ASHA-EPASS")?;
    let session = ctx.open_ro_session(slot).map_err(err)?;
    session
        .login(UserType::User, Some(&AuthPin::new(PIN.into())))
        .map_err(err)?;
    let key = session
        .find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Label(KEY_LABEL.as_bytes().to_vec()),
        ])
        .map_err(err)?
        .into_iter()
        .next()
        .ok_or("no key rsa2048")?;
    let mut digest_info = SHA256_DIGEST_INFO_PREFIX.to_vec();
    digest_info.extend_from_slice(&[0x5a; 32]);
    session
        .sign(&Mechanism::RsaPkcs, key, &digest_info)
        .map_err(err)?;
    drop(session);
    ctx.finalize().map_err(err)
}

/// 100 copies of the 1 MB file in one `--out-dir` run: SoftHSM (against
/// single signatures of the same file), then token-sim at 200 ms a signature.
fn batches(s: &Setup, small: &Path, runs: usize) -> R<()> {
    let src = s.dir.join("batch-in");
    let _ = std::fs::remove_dir_all(&src);
    std::fs::create_dir_all(&src).map_err(err)?;
    let mut inputs = Vec::new();
    for i in 0..BATCH {
        let p = src.join(format!("cert-{i:03}.pdf"));
        std::fs::copy(small, &p).map_err(err)?;
        inputs.push(p);
    }
    let refs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    let outdir = s.dir.join("batch-out");
    let one = s.dir.join("one.pdf");
    // Timed without `/usr/bin/time`: its own start-up would be a tenth of
    // the single signature and a hundredth of the batch, flattering the
    // ratio. The batch's peak RSS is taken in one more run.
    let (mut singles, mut batch) = (Vec::new(), Vec::new());
    let (mut files, mut token) = (Vec::new(), Vec::new());
    let fresh_outdir = || -> R<()> {
        let _ = std::fs::remove_dir_all(&outdir);
        std::fs::create_dir_all(&outdir).map_err(err)
    };
    for _ in 0..runs {
        let _ = std::fs::remove_file(&one);
        singles.push(mohor_sign(s, &[small], &["-o"], &one, None, Peak::NotMeasured)?.0);
        fresh_outdir()?;
        let (t, _) = mohor_sign(s, &refs, &["--out-dir"], &outdir, None, Peak::NotMeasured)?;
        batch.push(t);
        fresh_outdir()?;
        files.push(batch_files_floor(&refs, &outdir)?);
        token.push(token_alone(s)?);
    }
    fresh_outdir()?;
    let (_, batch_rss) = mohor_sign(s, &refs, &["--out-dir"], &outdir, None, Peak::Measured)?;
    // Each batch beside the single signature timed just before it: the
    // machine's load drifts from minute to minute, a pair shares its minute.
    let mut pairs: Vec<f64> = singles.iter().zip(&batch).map(|(o, m)| m / o).collect();
    let (single, many) = (median(&mut singles), median(&mut batch));
    println!(
        "batch of {BATCH} x 1 MB, SoftHSM: {many:.3} s median ({:.1}x one 1 MB signature of {:.1} ms; peak RSS {:.1} MiB)",
        many / single,
        single * 1000.0,
        batch_rss as f64 / 1024.0
    );
    // `median` sorts in place: the extremes are then first and last.
    let pair = median(&mut pairs);
    println!(
        "batch / single signature run by run: median {pair:.1}x, from {:.1}x to {:.1}x",
        pairs.first().copied().unwrap_or(f64::NAN),
        pairs.last().copied().unwrap_or(f64::NAN)
    );
    let (files, token) = (median(&mut files), median(&mut token));
    println!(
        "batch floor: the {BATCH} files copied, synced and hashed {files:.3} s; SoftHSM alone, {BATCH} signatures after one login {token:.3} s ({:.1}x the single signature); mohor's batch is {:.2}x their sum",
        token / single,
        many / (files + token)
    );

    let sim_dir = s.dir.join("sim");
    std::fs::create_dir_all(&sim_dir).map_err(err)?;
    std::fs::write(
        sim_dir.join("control.json"),
        format!(
            "{{\"latency_ms_per_function\": {{\"C_Sign\": {}}}}}",
            SIM_LATENCY_MS / C_SIGN_CALLS
        ),
    )
    .map_err(err)?;
    let _ = std::fs::remove_dir_all(&outdir);
    std::fs::create_dir_all(&outdir).map_err(err)?;
    let (t, _) = mohor_sign(
        s,
        &refs,
        &["--out-dir"],
        &outdir,
        Some(&sim_dir),
        Peak::NotMeasured,
    )?;
    let ideal = BATCH as f64 * SIM_LATENCY_MS as f64 / 1000.0;
    println!(
        "batch of {BATCH} x 1 MB, token-sim {SIM_LATENCY_MS} ms per signature: {t:.2} s ({:.3}x of {ideal:.0} s)",
        t / ideal
    );
    let _ = std::fs::remove_dir_all(&outdir);
    let _ = std::fs::remove_dir_all(&src);
    Ok(())
}

/// The floor of a batch's file work: `cp` of every input into `out`,
/// `sync` of every copy and of `out` (`sync DIR` alone syncs only the
/// folder), `openssl dgst -sha256` of every input (one process each).
fn batch_files_floor(inputs: &[&Path], out: &Path) -> R<f64> {
    let t = Instant::now();
    let mut cp = Command::new("cp");
    cp.arg("-t").arg(out).args(inputs);
    run_command(&mut cp, None, Peak::NotMeasured)?;
    let mut sync = Command::new("sync");
    sync.args(
        inputs
            .iter()
            .filter_map(|i| i.file_name())
            .map(|n| out.join(n)),
    )
    .arg(out);
    run_command(&mut sync, None, Peak::NotMeasured)?;
    let mut dgst = Command::new("openssl");
    dgst.args(["dgst", "-sha256"]).args(inputs);
    run_command(&mut dgst, None, Peak::NotMeasured)?;
    Ok(t.elapsed().as_secs_f64())
}

/// The token's share of a batch, which no signer can overlap with itself:
/// SoftHSM making `BATCH` signatures with the benchmark's key after one
/// login (python-pkcs11 from pyHanko's venv; the time it reports excludes
/// its own start-up and login).
fn token_alone(s: &Setup) -> R<f64> {
    let python = s.pyhanko.with_file_name("python");
    let script = format!(
        r#"
import os, time, pkcs11
from pkcs11 import Mechanism, ObjectClass
tok = pkcs11.lib("{SOFTHSM}").get_token(token_label="{TOKEN_LABEL}")
with tok.open(user_pin="{PIN}") as s:
    key = s.get_key(object_class=ObjectClass.PRIVATE_KEY, label="{KEY_LABEL}")
    digest_info = bytes.fromhex("3031300d060960864801650304020105000420") + os.urandom(32)
    t = time.perf_counter()
    for _ in range({BATCH}):
        key.sign(digest_info, mechanism=Mechanism.RSA_PKCS)
    print(time.perf_counter() - t)
"#
    );
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .env("SOFTHSM2_CONF", &s.conf)
        .output()
        .map_err(err)?;
    if !out.status.success() {
        return Err(format!(
            "python-pkcs11 failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse::<f64>()
        .map_err(err)
}

/// `cp`, `sync` of the copy, `openssl dgst -sha256`: the least any signer does.
fn floor(input: &Path, out: &Path, peak: Peak) -> R<(f64, u64)> {
    let t = Instant::now();
    let mut rss = 0;
    let mut cp = Command::new("cp");
    cp.arg(input).arg(out);
    rss = rss.max(run_command(&mut cp, None, peak)?);
    let mut sync = Command::new("sync");
    sync.arg(out);
    rss = rss.max(run_command(&mut sync, None, peak)?);
    let mut dgst = Command::new("openssl");
    dgst.args(["dgst", "-sha256"]).arg(input);
    rss = rss.max(run_command(&mut dgst, None, peak)?);
    Ok((t.elapsed().as_secs_f64(), rss))
}

fn mohor_sign(
    s: &Setup,
    inputs: &[&Path],
    out_flag: &[&str],
    out: &Path,
    sim: Option<&Path>,
    peak: Peak,
) -> R<(f64, u64)> {
    let home = s.dir.join("home");
    std::fs::create_dir_all(&home).map_err(err)?;
    let mut c = Command::new(&s.mohor);
    c.env("MOHOR_HOME", &home).env("SOFTHSM2_CONF", &s.conf);
    match sim {
        Some(dir) => {
            c.env("MOHOR_SIM_DIR", dir).arg("--module").arg(&s.sim);
        }
        None => {
            c.env_remove("MOHOR_SIM_DIR").arg("--module").arg(SOFTHSM);
        }
    }
    c.args(["--pin-stdin", "sign", "--cert", &s.cert_id]);
    c.args(inputs).args(out_flag).arg(out);
    let t = Instant::now();
    let rss = run_command(&mut c, Some(PIN), peak)?;
    Ok((t.elapsed().as_secs_f64(), rss))
}

fn pyhanko_sign(s: &Setup, input: &Path, out: &Path, peak: Peak) -> R<(f64, u64)> {
    // Without a terminal pyHanko reads the PIN from stdin (`setsid -w`
    // drops the terminal the benchmark may run in).
    let mut c = Command::new("setsid");
    c.arg("-w")
        .arg(&s.pyhanko)
        .env("SOFTHSM2_CONF", &s.conf)
        .args([
            "sign", "addsig", "--field", "Sig1", "pkcs11", "--lib", SOFTHSM,
        ])
        .args(["--token-label", TOKEN_LABEL, "--cert-label", KEY_LABEL])
        .args(["--key-label", KEY_LABEL])
        .arg(input)
        .arg(out);
    let t = Instant::now();
    let rss = run_command(&mut c, Some(PIN), peak)?;
    Ok((t.elapsed().as_secs_f64(), rss))
}

/// Whether a run is also measured for its peak RSS.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Peak {
    /// Under `/usr/bin/time`, which adds its own fork and exec (~1.5 ms
    /// here) to the time: runs that are not timed.
    Measured,
    /// The command alone: timings that are divided by each other.
    NotMeasured,
}

/// Run `cmd` under `/usr/bin/time` for its peak RSS (KiB); fail loudly.
fn timed(cmd: &mut Command, stdin: Option<&str>) -> R<u64> {
    run_command(cmd, stdin, Peak::Measured)
}

/// Run `cmd`, with its peak RSS (KiB) when `peak` asks for it (else 0);
/// fail loudly.
fn run_command(cmd: &mut Command, stdin: Option<&str>, peak: Peak) -> R<u64> {
    let report = std::env::temp_dir().join(format!("pdf-bench-time-{}", std::process::id()));
    let mut t = if peak == Peak::Measured {
        let mut t = Command::new("/usr/bin/time");
        t.arg("-f").arg("%M").arg("-o").arg(&report);
        t.arg(cmd.get_program());
        t
    } else {
        Command::new(cmd.get_program())
    };
    t.args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => t.env(k, v),
            None => t.env_remove(k),
        };
    }
    t.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = t.spawn().map_err(err)?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let _ = writeln!(pipe, "{text}");
    }
    let o = child.wait_with_output().map_err(err)?;
    if !o.status.success() {
        return Err(format!(
            "{:?} failed:\n{}{}",
            cmd.get_program(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    if peak == Peak::NotMeasured {
        return Ok(0);
    }
    let kib = std::fs::read_to_string(&report).map_err(err)?;
    let _ = std::fs::remove_file(&report);
    kib.trim()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| "no RSS from /usr/bin/time".into())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn sha2_256(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).to_vec()
}
