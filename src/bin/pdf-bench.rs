//! PDF signing benchmark: Mohor's sign vs. a plain read + hash + write of
//! the same file, with time and peak RSS of each in a fresh process.
//!
//! ```text
//! cargo run --release --features software-signer --bin pdf-bench -- [--pdf PATH] [--runs N]
//! ```
//!
//! Generates a ~100 MB, 14,000-page PDF at PATH if it is missing (default
//! `target/pdf-bench/big.pdf`), and a throwaway RSA key and certificate with
//! `openssl` next to it. `--suite cli [--dir DIR] [--runs N] [--only single|batch|verify]`
//! compares the `mohor` command line with pyHanko and the floor instead
//! (`pdf_bench/cli_suite.rs`). See docs/PERFORMANCE.md for recorded numbers.

#[cfg(not(feature = "software-signer"))]
fn main() {
    eprintln!("pdf-bench needs the software signer: cargo run --release --features software-signer --bin pdf-bench");
    std::process::exit(2);
}

#[cfg(feature = "software-signer")]
fn main() {
    if let Err(e) = bench::main() {
        eprintln!("pdf-bench: {e}");
        std::process::exit(1);
    }
}

#[cfg(feature = "software-signer")]
#[path = "pdf_bench/cli_suite.rs"]
mod cli_suite;

#[cfg(feature = "software-signer")]
#[path = "pdf_bench/generate.rs"]
mod generate;

#[cfg(feature = "software-signer")]
mod bench {
    use std::fs::File;
    use std::io::{BufWriter, Read, Write};
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::time::Instant;

    const PAGES: usize = 14_000;
    /// Bytes of page content per page: 14,000 pages of this make ~100 MB.
    const CONTENT_PER_PAGE: usize = 7_000;

    pub type R<T> = Result<T, String>;

    pub fn err(e: impl std::fmt::Display) -> String {
        e.to_string()
    }

    pub fn main() -> R<()> {
        let args: Vec<String> = std::env::args().collect();
        let opt = |name: &str| {
            args.iter()
                .position(|a| a == name)
                .and_then(|i| args.get(i + 1).cloned())
        };
        if args.get(1).map(String::as_str) == Some("--softhsm-alone") {
            return super::cli_suite::softhsm_alone();
        }
        // Child modes: one measurement per fresh process, so VmHWM is its own.
        if let Some(mode) = opt("--child") {
            let pdf = PathBuf::from(opt("--pdf").ok_or("--pdf")?);
            let out = PathBuf::from(opt("--out").ok_or("--out")?);
            let t = Instant::now();
            match mode.as_str() {
                "baseline" => baseline(&pdf, &out, true)?,
                "baseline-nosync" => baseline(&pdf, &out, false)?,
                "sign" | "sign-visible" => sign(
                    &pdf,
                    &out,
                    &PathBuf::from(opt("--keydir").ok_or("--keydir")?),
                    mode == "sign-visible",
                )?,
                "sign-nosync" => sign_nosync(
                    &pdf,
                    &out,
                    &PathBuf::from(opt("--keydir").ok_or("--keydir")?),
                )?,
                _ => return Err(format!("unknown mode {mode}")),
            }
            let secs = t.elapsed().as_secs_f64();
            println!("{secs:.4} {}", peak_rss_kib()?);
            return Ok(());
        }

        if opt("--suite").as_deref() == Some("cli") {
            return super::cli_suite::run(
                &PathBuf::from(opt("--dir").unwrap_or_else(|| "target/pdf-bench".into())),
                opt("--runs").and_then(|r| r.parse().ok()).unwrap_or(5),
                opt("--only").as_deref(),
            );
        }
        let pdf = PathBuf::from(opt("--pdf").unwrap_or_else(|| "target/pdf-bench/big.pdf".into()));
        let runs: usize = opt("--runs").and_then(|r| r.parse().ok()).unwrap_or(3);
        let dir = pdf
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| ".".into());
        std::fs::create_dir_all(&dir).map_err(err)?;
        if !pdf.exists() {
            eprintln!("generating {} ...", pdf.display());
            generate(&pdf)?;
        }
        let keydir = dir.join("key");
        if !keydir.join("cert.pem").exists() {
            make_key(&keydir)?;
        }
        let size = std::fs::metadata(&pdf).map_err(err)?.len();
        let out = dir.join("out.pdf");
        let exe = std::env::current_exe().map_err(err)?;
        // Warm the page cache so every run reads from memory alike.
        let mut sink = Vec::new();
        File::open(&pdf)
            .and_then(|mut f| f.read_to_end(&mut sink))
            .map_err(err)?;
        drop(sink);

        println!(
            "input: {} ({:.1} MB, {} pages), {runs} runs each, best and median shown",
            pdf.display(),
            size as f64 / 1e6,
            PAGES
        );
        println!(
            "{:<44} {:>10} {:>10} {:>14}",
            "operation", "best s", "median s", "peak RSS MiB"
        );
        let mut rows = Vec::new();
        for mode in [
            "baseline",
            "sign",
            "sign-visible",
            "baseline-nosync",
            "sign-nosync",
        ] {
            let mut times = Vec::new();
            let mut rss = 0u64;
            for _ in 0..runs {
                let o = Command::new(&exe)
                    .args(["--child", mode, "--pdf"])
                    .arg(&pdf)
                    .arg("--out")
                    .arg(&out)
                    .arg("--keydir")
                    .arg(&keydir)
                    .output()
                    .map_err(err)?;
                if !o.status.success() {
                    return Err(format!("{mode}: {}", String::from_utf8_lossy(&o.stderr)));
                }
                let line = String::from_utf8_lossy(&o.stdout).to_string();
                let mut it = line.split_whitespace();
                let t: f64 = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("bad child output")?;
                let r: u64 = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("bad child output")?;
                times.push(t);
                rss = rss.max(r);
                let _ = std::fs::remove_file(&out);
            }
            times.sort_by(|a, b| a.total_cmp(b));
            let label = match mode {
                "baseline" => "read + SHA-256 + write + fsync (baseline)",
                "sign" => "mohor pdf::sign_file, invisible",
                "sign-visible" => "mohor pdf::sign_file, stamp on last page",
                "baseline-nosync" => "read + SHA-256 + write, no fsync",
                _ => "mohor prepare+digest+CMS+write_to, no fsync",
            };
            println!(
                "{label:<44} {:>10.3} {:>10.3} {:>14.1}",
                times[0],
                times[times.len() / 2],
                rss as f64 / 1024.0
            );
            rows.push((mode, times[times.len() / 2], rss));
        }
        println!(
            "sign / baseline (median, both durable): {:.2}x; without fsync: {:.2}x",
            rows[1].1 / rows[0].1,
            rows[4].1 / rows[3].1
        );
        Ok(())
    }

    fn peak_rss_kib() -> R<u64> {
        let status = std::fs::read_to_string("/proc/self/status").map_err(err)?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| "no VmHWM in /proc/self/status".into())
    }

    /// What any signer must at least do: read every byte, hash it, write
    /// every byte (durably, as Mohor's atomic output does).
    fn baseline(input: &Path, out: &Path, sync: bool) -> R<()> {
        use sha2::Digest as _;
        let mut f = File::open(input).map_err(err)?;
        let mut o = File::create(out).map_err(err)?;
        let mut h = sha2::Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf).map_err(err)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            o.write_all(&buf[..n]).map_err(err)?;
        }
        let digest = h.finalize();
        o.write_all(&digest).map_err(err)?;
        if sync {
            o.sync_all().map_err(err)?;
        }
        Ok(())
    }

    fn signer(keydir: &Path) -> R<mohor::sign::software::SoftwareSigner> {
        mohor::sign::software::SoftwareSigner::from_files(
            &keydir.join("key.pem"),
            &keydir.join("cert.pem"),
            &keydir.join("cert.pem"),
        )
    }

    fn sign(input: &Path, out: &Path, keydir: &Path, visible: bool) -> R<()> {
        let mut signer = signer(keydir)?;
        let mut opts = mohor::pdf::PdfSignOptions::new("Bench Signer", "Bench CA");
        opts.visible_auto = visible;
        mohor::pdf::sign_file(input, out, &mut signer, &opts).map_err(err)?;
        Ok(())
    }

    /// The same work as `sign_file` minus the atomic, durable output: the
    /// like-for-like comparison with the no-fsync baseline.
    fn sign_nosync(input: &Path, out: &Path, keydir: &Path) -> R<()> {
        use mohor::sign::Signer as _;
        let mut signer = signer(keydir)?;
        let mut opts = mohor::pdf::PdfSignOptions::new("Bench Signer", "Bench CA");
        opts.contents_capacity = mohor::sign::cms::max_encoded_len(&signer);
        let prepared = mohor::pdf::prepare(input, &opts).map_err(err)?;
        let digest = prepared.digest(signer.algorithm().digest()).map_err(err)?;
        let cms = mohor::sign::cms::sign_digest(
            &mut signer,
            &digest,
            &mohor::sign::cms::CmsProfile::pades(),
        )
        .map_err(err)?;
        let mut w = BufWriter::with_capacity(1 << 20, File::create(out).map_err(err)?);
        prepared.write_to(&cms, &mut w).map_err(err)?;
        w.flush().map_err(err)?;
        Ok(())
    }

    fn make_key(dir: &Path) -> R<()> {
        std::fs::create_dir_all(dir).map_err(err)?;
        let st = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "30",
                "-subj",
                "/CN=Bench Signer",
            ])
            .arg("-keyout")
            .arg(dir.join("key.pem"))
            .arg("-out")
            .arg(dir.join("cert.pem"))
            .output()
            .map_err(|e| format!("openssl (needed to make a throwaway key): {e}"))?;
        if !st.status.success() {
            return Err(String::from_utf8_lossy(&st.stderr).into());
        }
        Ok(())
    }

    /// A plain PDF 1.7 with a balanced page tree and a classic xref table.
    pub fn generate(path: &Path) -> R<()> {
        generate_pages(path, PAGES, CONTENT_PER_PAGE)
    }

    pub use super::generate::generate_pages;
}
