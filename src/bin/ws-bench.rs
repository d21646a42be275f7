//! WebSocket signing benchmark: large PDFs signed through a real
//! `mohor serve` (SoftHSM token, scripted dialogs), with the agent's peak RSS.
//!
//! ```text
//! cargo build --release --features scripted-prompts --bin mohor --bin ws-bench
//! target/release/ws-bench [--sizes 100,200] [--dir target/ws-bench]
//! ```
//!
//! For each size (MB): generates a deterministic PDF (7 KB of page text per
//! page), starts `mohor serve` from the same folder as this binary with a
//! fresh MOHOR_HOME, uploads the PDF in chunks, signs it, downloads the answer
//! straight into a file (base64 decoded on the way), reads the agent's VmHWM
//! from /proc, stops it with SIGTERM, and validates the output with
//! `.venv/bin/pyhanko sign validate`. Then the floor the issue measures it
//! against: `mohor sign` of the same file from the command line, and the same
//! upload and download against a server that only moves the bytes
//! (`ws_bench/bare.rs`). The throwaway PKI and SoftHSM tokens come from
//! `tests/fixtures/make-pki.sh`. Numbers: docs/PERFORMANCE.md.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use sha2::Digest as _;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

#[path = "ws_bench/bare.rs"]
mod bare;
#[path = "pdf_bench/generate.rs"]
mod generate;

type R<T> = Result<T, String>;
type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

const ORIGIN: &str = "http://127.0.0.1:8765";
const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// Bytes of page text per page.
const PAGE_TEXT: usize = 7_000;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn main() {
    if let Err(e) = run() {
        eprintln!("ws-bench: {e}");
        std::process::exit(1);
    }
}

fn run() -> R<()> {
    let args: Vec<String> = std::env::args().collect();
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let dir = PathBuf::from(opt("--dir").unwrap_or_else(|| "target/ws-bench".into()));
    let sizes: Vec<u64> = opt("--sizes")
        .unwrap_or_else(|| "100,200".into())
        .split(',')
        .map(|s| s.trim().parse::<u64>().map_err(err))
        .collect::<R<_>>()?;
    std::fs::create_dir_all(&dir).map_err(err)?;
    let pki = fixture(&dir)?;
    let exe = std::env::current_exe().map_err(err)?;
    let mohor = exe.with_file_name("mohor");
    if !mohor.exists() {
        return Err(format!(
            "{} is missing (build it with the bench)",
            mohor.display()
        ));
    }
    let rt = tokio::runtime::Runtime::new().map_err(err)?;
    let mut rows = Vec::new();
    for mb in sizes {
        let pdf = dir.join(format!("input-{mb}mb.pdf"));
        if !pdf.exists() {
            eprintln!("generating {} ...", pdf.display());
            generate(&pdf, mb * 1_000_000)?;
        }
        eprintln!("signing {} over the WebSocket ...", pdf.display());
        let row = rt.block_on(one(&mohor, &pki, &dir, &pdf, mb))?;
        rows.push(row);
    }
    println!(
        "{:>8} {:>8} {:>10} {:>9} {:>11} {:>17} {:>9}",
        "input MB", "pages", "upload s", "sign s", "download s", "agent VmHWM MiB", "pyHanko"
    );
    for r in &rows {
        println!("{r}");
    }
    for r in &rows {
        let end_to_end = r.upload + r.sign + r.download;
        let bare = r.bare_upload + r.bare_download;
        println!(
            "{} MB: end to end {end_to_end:.2} s; the command line {:.3} s + the bare WebSocket transfer {bare:.2} s (upload {:.2}, download {:.2}) = {:.2} s; {:.2}x (target: at most 2x)",
            r.mb,
            r.cli,
            r.bare_upload,
            r.bare_download,
            r.cli + bare,
            end_to_end / (r.cli + bare)
        );
    }
    Ok(())
}

struct Pki {
    softhsm_conf: PathBuf,
    tokens: PathBuf,
    root: PathBuf,
    cert_id: String,
    pin: String,
}

/// The test PKI and tokens (made once, reused).
fn fixture(dir: &Path) -> R<Pki> {
    let out = dir.join("pki");
    if !out.join("fixture.json").exists() {
        std::fs::create_dir_all(&out).map_err(err)?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/make-pki.sh");
        let ok = Command::new("bash")
            .arg(script)
            .arg(&out)
            .stdout(Stdio::null())
            .status()
            .map_err(err)?
            .success();
        if !ok {
            return Err("make-pki.sh failed".into());
        }
    }
    let text = std::fs::read_to_string(out.join("fixture.json")).map_err(err)?;
    let v: Value = serde_json::from_str(&text).map_err(err)?;
    let s = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or(format!("fixture.json has no {p}"))
    };
    Ok(Pki {
        softhsm_conf: PathBuf::from(s("/softhsm2_conf")?),
        tokens: out.join("tokens"),
        root: PathBuf::from(s("/root")?),
        cert_id: s("/certs/rsa2048/id")?,
        pin: s("/user_pin")?,
    })
}

struct Row {
    mb: u64,
    pages: usize,
    upload: f64,
    sign: f64,
    download: f64,
    /// VmHWM when connected, after the upload, after signing, at the end.
    hwm_kib: [u64; 4],
    verdict: String,
    /// Median `hello` round trip, milliseconds.
    hello_ms: f64,
    /// `mohor sign` of the same file from the command line, median seconds.
    cli: f64,
    /// The same upload and download against `bare` (no signing), seconds.
    bare_upload: f64,
    bare_download: f64,
}

/// Command-line signatures timed per run.
const CLI_RUNS: usize = 3;

/// `hello` round trips measured per run.
const HELLOS: usize = 200;

impl std::fmt::Display for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>8} {:>8} {:>10.1} {:>9.1} {:>11.1} {:>17.1} {:>9}   (idle {:.1}, after upload {:.1}, after sign {:.1}; hello median {:.3} ms)",
            self.mb,
            self.pages,
            self.upload,
            self.sign,
            self.download,
            self.hwm_kib[3] as f64 / 1024.0,
            self.verdict,
            self.hwm_kib[0] as f64 / 1024.0,
            self.hwm_kib[1] as f64 / 1024.0,
            self.hwm_kib[2] as f64 / 1024.0,
            self.hello_ms
        )
    }
}

/// Stops the agent however the run ends.
struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn one(mohor: &Path, pki: &Pki, dir: &Path, pdf: &Path, mb: u64) -> R<Row> {
    let work = dir.join(format!("run-{mb}mb"));
    let _ = std::fs::remove_dir_all(&work);
    let home = work.join("home");
    std::fs::create_dir_all(&home).map_err(err)?;
    // A private copy of the tokens: SoftHSM writes to them.
    let tokens = work.join("tokens");
    let copied = Command::new("cp")
        .arg("-a")
        .arg(&pki.tokens)
        .arg(&tokens)
        .status()
        .map_err(err)?;
    if !copied.success() {
        return Err("copying the tokens failed".into());
    }
    let conf = work.join("softhsm2.conf");
    let base = std::fs::read_to_string(&pki.softhsm_conf).map_err(err)?;
    let replaced: String = base
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("directories.tokendir") {
                format!("directories.tokendir = {}\n", tokens.display())
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&conf, replaced).map_err(err)?;
    let prompts = work.join("prompts.jsonl");
    std::fs::write(
        &prompts,
        format!("{{\"consent\":\"approve\"}}\n{{\"pin\":\"{}\"}}\n", pki.pin),
    )
    .map_err(err)?;

    let mut child = Command::new(mohor)
        .arg("--module")
        .arg(MODULE)
        .arg("--prompts")
        .arg(&prompts)
        .args(["serve", "--port", "0", "--allow-origin", ORIGIN])
        .env("MOHOR_HOME", &home)
        .env("SOFTHSM2_CONF", &conf)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(File::create(work.join("serve.stderr")).map_err(err)?)
        .spawn()
        .map_err(err)?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let agent = Agent(child);
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).map_err(err)?;
    let port: u16 = first
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or(format!("no port in {first:?}"))?;

    let mut ws = connect(port).await?;
    let idle_kib = vm_hwm_kib(agent.0.id())?;
    // `hello` round trips on the open connection (what a page does first).
    let mut hellos = Vec::with_capacity(HELLOS);
    for i in 0..HELLOS {
        let t = Instant::now();
        call(&mut ws, &format!("h{i}"), "hello", json!({})).await?;
        hellos.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    hellos.sort_by(|a, b| a.total_cmp(b));
    let hello_ms = hellos.get(HELLOS / 2).copied().unwrap_or(f64::NAN);
    let t = Instant::now();
    let (upload_id, chunk) = upload(&mut ws, pdf).await?;
    let upload = t.elapsed().as_secs_f64();
    let after_upload_kib = vm_hwm_kib(agent.0.id())?;

    let t = Instant::now();
    let params = json!({"document": {"upload": upload_id}, "fileName": "bench.pdf",
                        "certificateId": pki.cert_id});
    let answer = call(&mut ws, "sign", "sign.pdf", params).await?;
    let sign = t.elapsed().as_secs_f64();
    let after_sign_kib = vm_hwm_kib(agent.0.id())?;

    let t = Instant::now();
    let out = work.join("signed.pdf");
    let stub = answer
        .pointer("/result/$download")
        .ok_or(format!("expected a download stub, got {}", short(&answer)))?
        .clone();
    download(&mut ws, &stub, &out).await?;
    let download = t.elapsed().as_secs_f64();

    let hwm_kib = vm_hwm_kib(agent.0.id())?;
    drop(ws);
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(agent.0.id().to_string())
        .status();
    drop(agent);

    let verdict = validate(&out, &pki.root)?;
    let cli = command_line(mohor, pki, &work, &conf, pdf)?;
    let (bare_upload, bare_download) = bare_transfer(pki, &work, pdf, &out, chunk).await?;
    let pages = usize::try_from(mb * 1_000_000 / PAGE_TEXT as u64).unwrap_or(0);
    Ok(Row {
        cli,
        bare_upload,
        bare_download,
        mb,
        pages,
        upload,
        sign,
        download,
        hwm_kib: [idle_kib, after_upload_kib, after_sign_kib, hwm_kib],
        verdict,
        hello_ms,
    })
}

/// Median time of `mohor sign` of `pdf` from the command line, same token
/// and key, its own MOHOR_HOME.
fn command_line(mohor: &Path, pki: &Pki, work: &Path, conf: &Path, pdf: &Path) -> R<f64> {
    let home = work.join("cli-home");
    std::fs::create_dir_all(&home).map_err(err)?;
    let mut times = Vec::with_capacity(CLI_RUNS);
    for _ in 0..CLI_RUNS {
        let mut child = Command::new(mohor)
            .arg("--module")
            .arg(MODULE)
            .args(["--pin-stdin", "sign", "--cert", &pki.cert_id])
            .arg(pdf)
            .arg("-o")
            .arg(work.join("cli-signed.pdf"))
            .env("MOHOR_HOME", &home)
            .env("SOFTHSM2_CONF", conf)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(err)?;
        let t = Instant::now();
        child
            .stdin
            .take()
            .ok_or("no stdin")?
            .write_all(format!("{}\n", pki.pin).as_bytes())
            .map_err(err)?;
        if !child.wait().map_err(err)?.success() {
            return Err("mohor sign from the command line failed".into());
        }
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(|a, b| a.total_cmp(b));
    Ok(times[CLI_RUNS / 2])
}

/// The same upload of `pdf` and download of `signed` (as the answer Mohor
/// gave), through [`bare`]: seconds for each.
async fn bare_transfer(
    pki: &Pki,
    work: &Path,
    pdf: &Path,
    signed: &Path,
    chunk: usize,
) -> R<(f64, f64)> {
    let document = std::fs::read(signed).map_err(err)?;
    let answer = format!(
        "{{\"certificateId\":\"{}\",\"document\":\"{}\"}}",
        pki.cert_id,
        base64::engine::general_purpose::STANDARD.encode(&document)
    );
    let port = bare::start(answer, chunk).await?;
    let mut ws = connect(port).await?;
    let t = Instant::now();
    upload(&mut ws, pdf).await?;
    let up = t.elapsed().as_secs_f64();
    let copy = work.join("bare-download.pdf");
    let t = Instant::now();
    download(&mut ws, &json!({"downloadId": "d1"}), &copy).await?;
    let down = t.elapsed().as_secs_f64();
    if std::fs::read(&copy).map_err(err)? != document {
        return Err("the bare download differs from the signed file".into());
    }
    Ok((up, down))
}

fn short(v: &Value) -> String {
    v.to_string().chars().take(300).collect()
}

async fn connect(port: u16) -> R<Ws> {
    let mut req = format!("ws://127.0.0.1:{port}/")
        .into_client_request()
        .map_err(err)?;
    req.headers_mut()
        .insert("Origin", HeaderValue::from_static(ORIGIN));
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(err)?;
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(16 << 20))
        .max_frame_size(Some(16 << 20));
    let (ws, _) = tokio_tungstenite::client_async_with_config(req, stream, Some(config))
        .await
        .map_err(err)?;
    Ok(ws)
}

/// Sends one request and returns its answer (progress notifications skipped).
async fn call(ws: &mut Ws, id: &str, method: &str, params: Value) -> R<Value> {
    let req = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    ws.send(Message::text(req.to_string())).await.map_err(err)?;
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(900), ws.next())
            .await
            .map_err(|_| format!("{method}: no answer within 15 minutes"))?
            .ok_or("the connection closed")?
            .map_err(err)?;
        let Message::Text(text) = msg else { continue };
        let v: Value = serde_json::from_str(text.as_str()).map_err(err)?;
        if v.get("method").is_some() {
            continue;
        }
        if v.get("error").is_some() {
            return Err(format!("{method}: {}", short(&v)));
        }
        return Ok(v);
    }
}

/// Uploads `pdf`; its upload id and the server's chunk size.
async fn upload(ws: &mut Ws, pdf: &Path) -> R<(String, usize)> {
    let size = std::fs::metadata(pdf).map_err(err)?.len();
    let mut hasher = sha2::Sha256::new();
    std::io::copy(&mut File::open(pdf).map_err(err)?, &mut hasher).map_err(err)?;
    let sha = hex::encode(hasher.finalize());
    let r = call(
        ws,
        "ub",
        "upload.begin",
        json!({"size": size, "sha256": sha}),
    )
    .await?;
    let id = r["result"]["uploadId"]
        .as_str()
        .ok_or("no uploadId")?
        .to_string();
    let chunk = r["result"]["chunkSize"].as_u64().ok_or("no chunkSize")? as usize;
    let mut f = File::open(pdf).map_err(err)?;
    let mut buf = vec![0u8; chunk];
    let mut offset = 0u64;
    while offset < size {
        let want = usize::try_from((size - offset).min(chunk as u64)).unwrap_or(chunk);
        f.read_exact(&mut buf[..want]).map_err(err)?;
        let data = base64::engine::general_purpose::STANDARD.encode(&buf[..want]);
        let params = json!({"uploadId": id, "offset": offset, "data": data});
        let r = call(ws, "uc", "upload.chunk", params).await?;
        offset = r["result"]["received"].as_u64().ok_or("no received")?;
    }
    Ok((id, chunk))
}

/// Reads the download and writes the `document` member, base64-decoded, to
/// `out` as the text arrives (the result's members come in name order, so
/// `document` follows the short `certificateId`).
async fn download(ws: &mut Ws, stub: &Value, out: &Path) -> R<()> {
    const KEY: &str = "\"document\":\"";
    let mut w = BufWriter::new(File::create(out).map_err(err)?);
    let mut head = String::new(); // text before the document
    let mut in_document = false;
    let mut done_document = false;
    let mut pending = String::new(); // base64 not yet a multiple of 4
    let mut offset = 0u64;
    loop {
        let params = json!({"downloadId": stub["downloadId"], "offset": offset});
        let r = call(ws, "dr", "download.read", params).await?;
        let mut text = r["result"]["text"].as_str().ok_or("no text")?;
        offset = r["result"]["next"].as_u64().ok_or("no next")?;
        if !in_document && !done_document {
            head.push_str(text);
            let Some(at) = head.find(KEY) else {
                continue;
            };
            in_document = true;
            pending = head[at + KEY.len()..].to_string();
            text = "";
        }
        if in_document {
            pending.push_str(text);
            let (b64, ended) = match pending.find('"') {
                Some(end) => (pending[..end].to_string(), true),
                None => (pending.clone(), false),
            };
            let whole = if ended { b64.len() } else { b64.len() / 4 * 4 };
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&b64[..whole])
                .map_err(err)?;
            w.write_all(&bytes).map_err(err)?;
            pending = pending[whole..].to_string();
            if ended {
                in_document = false;
                done_document = true;
            }
        }
        if r["result"]["done"] == json!(true) {
            break;
        }
    }
    if !done_document {
        return Err("the answer has no document".into());
    }
    w.flush().map_err(err)
}

fn vm_hwm_kib(pid: u32) -> R<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(err)?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmHWM".into())
}

/// pyHanko's verdict on the new signature: `INTACT:TRUSTED` or what it said.
fn validate(pdf: &Path, root: &Path) -> R<String> {
    let pyhanko = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/pyhanko");
    let o = Command::new(&pyhanko)
        .args(["sign", "validate", "--trust"])
        .arg(root)
        .args(["--trust-replace", "--no-revocation-check"])
        .arg(pdf)
        .output()
        .map_err(|e| format!("{}: {e}", pyhanko.display()))?;
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    Ok(
        if o.status.success() && text.contains(":INTACT:") && text.contains(":TRUSTED") {
            "VALID".into()
        } else {
            format!("FAILED: {}", text.trim())
        },
    )
}

/// A PDF of about `target` bytes: pages of `PAGE_TEXT` bytes of text.
/// Deterministic: the same size gives the same bytes.
fn generate(path: &Path, target: u64) -> R<()> {
    let pages = usize::try_from(target / PAGE_TEXT as u64)
        .unwrap_or(1)
        .max(1);
    generate::generate_pages(path, pages, PAGE_TEXT)
}
