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
mod bench {
    use std::fs::File;
    use std::io::{BufWriter, Read, Write};
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::time::Instant;

    const PAGES: usize = 14_000;
    /// Bytes of page content per page: 14,000 pages of this make ~100 MB.
    const CONTENT_PER_PAGE: usize = 7_000;
    /// Fan-out of the generated page tree (like most writers, not flat).
    const FANOUT: usize = 32;

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

    /// `pages` pages of about `content_per_page` bytes of text each.
    pub fn generate_pages(path: &Path, pages: usize, content_per_page: usize) -> R<()> {
        let tmp = path.with_extension("partial");
        let mut w = BufWriter::with_capacity(1 << 20, File::create(&tmp).map_err(err)?);
        let mut pos: u64 = 0;
        let mut offsets: Vec<u64> = Vec::new();
        let put = |w: &mut BufWriter<File>, bytes: &[u8], pos: &mut u64| -> R<()> {
            w.write_all(bytes).map_err(err)?;
            *pos += bytes.len() as u64;
            Ok(())
        };
        put(&mut w, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", &mut pos)?;
        // Numbering: 1 catalog, 2 font, 3.. pages and contents, then tree nodes.
        let page_num = |i: usize| 3 + 2 * i as u32;
        let first_node = page_num(pages);
        // Tree levels bottom-up: each level groups the one below by FANOUT.
        let mut levels: Vec<Vec<u32>> = vec![(0..pages).map(page_num).collect()];
        let mut next = first_node;
        while levels.len() == 1 || levels.last().map(Vec::len).unwrap_or(0) > 1 {
            let below = levels.last().cloned().unwrap_or_default();
            let nodes: Vec<u32> = below
                .chunks(FANOUT)
                .map(|_| {
                    let n = next;
                    next += 1;
                    n
                })
                .collect();
            levels.push(nodes);
        }
        let root = *levels.last().and_then(|l| l.first()).ok_or("empty tree")?;
        let size = next;
        offsets.resize(size as usize, 0);
        // parent of each node, and count of pages under each node
        let mut parent = std::collections::HashMap::new();
        let mut count = std::collections::HashMap::new();
        for p in &levels[0] {
            count.insert(*p, 1usize);
        }
        for l in 1..levels.len() {
            for (k, chunk) in levels[l - 1].chunks(FANOUT).enumerate() {
                let node = levels[l][k];
                let mut c = 0;
                for kid in chunk {
                    parent.insert(*kid, node);
                    c += count[kid];
                }
                count.insert(node, c);
            }
        }

        offsets[1] = pos;
        put(
            &mut w,
            format!("1 0 obj\n<</Type/Catalog/Pages {root} 0 R>>\nendobj\n").as_bytes(),
            &mut pos,
        )?;
        offsets[2] = pos;
        put(
            &mut w,
            b"2 0 obj\n<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>\nendobj\n",
            &mut pos,
        )?;
        let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
        for i in 0..pages {
            let pn = page_num(i);
            let cn = pn + 1;
            offsets[pn as usize] = pos;
            put(
                &mut w,
                format!(
                    "{pn} 0 obj\n<</Type/Page/Parent {} 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 2 0 R>>>>/Contents {cn} 0 R>>\nendobj\n",
                    parent[&pn]
                )
                .as_bytes(),
                &mut pos,
            )?;
            let mut content = String::with_capacity(content_per_page + 200);
            content.push_str("BT /F1 9 Tf 11 TL 40 800 Td\n");
            let mut line = 0;
            while content.len() < content_per_page {
                // Varying text so the file does not compress to nothing on disk.
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                content.push_str(&format!(
                    "(Page {} line {line}: amount {} reference {:016x}) '\n",
                    i + 1,
                    seed % 1_000_000,
                    seed
                ));
                line += 1;
            }
            content.push_str("ET\n");
            offsets[cn as usize] = pos;
            put(
                &mut w,
                format!("{cn} 0 obj\n<</Length {}>>stream\n", content.len()).as_bytes(),
                &mut pos,
            )?;
            put(&mut w, content.as_bytes(), &mut pos)?;
            put(&mut w, b"\nendstream\nendobj\n", &mut pos)?;
        }
        for l in 1..levels.len() {
            for (k, chunk) in levels[l - 1].chunks(FANOUT).enumerate() {
                let node = levels[l][k];
                offsets[node as usize] = pos;
                let kids: Vec<String> = chunk.iter().map(|k| format!("{k} 0 R")).collect();
                let parent_entry = parent
                    .get(&node)
                    .map(|p| format!("/Parent {p} 0 R"))
                    .unwrap_or_default();
                put(
                    &mut w,
                    format!(
                        "{node} 0 obj\n<</Type/Pages{parent_entry}/Kids[{}]/Count {}>>\nendobj\n",
                        kids.join(" "),
                        count[&node]
                    )
                    .as_bytes(),
                    &mut pos,
                )?;
            }
        }
        let xref = pos;
        let mut table = format!("xref\n0 {size}\n0000000000 65535 f\r\n");
        for off in offsets.iter().skip(1) {
            table.push_str(&format!("{off:010} 00000 n\r\n"));
        }
        put(&mut w, table.as_bytes(), &mut pos)?;
        put(
            &mut w,
            format!("trailer\n<</Size {size}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
            &mut pos,
        )?;
        w.flush().map_err(err)?;
        drop(w);
        std::fs::rename(&tmp, path).map_err(err)?;
        Ok(())
    }
}
