//! A signed file is on disk, under its name, before Mohor says "Signed": the
//! file's data is synced before the rename, and the folder entry the rename
//! made is synced before the report. A batch syncs its output folder once
//! after the last rename (not once per file); one document syncs it itself.
//! strace watches the system calls; qpdf, pyHanko and pdfsig judge the files.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod pdf_util;

use std::path::{Path, PathBuf};
use std::process::Command;

use pdf_util::common::{assert_no_panic, have_tool, run_with_stdin, stderr, SimSetup};
use pdf_util::*;
use serde_json::json;

/// `c`, run under `strace -f -y` writing the calls that make a file durable
/// (and the report's writes) to `log`.
fn under_strace(c: &Command, log: &Path) -> Command {
    let mut s = Command::new("strace");
    s.args(["-f", "-y", "-qq", "-s", "64", "-o"])
        .arg(log)
        .args([
            "-e",
            "trace=fsync,fdatasync,rename,renameat,renameat2,write",
        ])
        .arg(c.get_program())
        .args(c.get_args());
    for (k, v) in c.get_envs() {
        match v {
            Some(v) => s.env(k, v),
            None => s.env_remove(k),
        };
    }
    if let Some(d) = c.get_current_dir() {
        s.current_dir(d);
    }
    s
}

/// One finished system call from strace's log: its line number (the order
/// calls ended in), its name, and the line (a call another thread
/// interrupted is joined with its `resumed` half).
struct Call {
    at: usize,
    name: String,
    text: String,
}

fn calls(log: &Path) -> Vec<Call> {
    let text = std::fs::read_to_string(log).unwrap();
    let mut pending: std::collections::HashMap<String, String> = Default::default();
    let mut out = Vec::new();
    for (at, line) in text.lines().enumerate() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        if let Some(start) = rest.strip_suffix(" <unfinished ...>") {
            pending.insert(pid.to_string(), start.to_string());
            continue;
        }
        let whole = if let Some(tail) = rest.strip_prefix("<... ") {
            let tail = tail.split_once(" resumed>").map_or("", |(_, t)| t);
            format!("{}{tail}", pending.remove(pid).unwrap_or_default())
        } else {
            rest.to_string()
        };
        let name = whole.split('(').next().unwrap_or("").to_string();
        out.push(Call {
            at,
            name,
            text: whole,
        });
    }
    out
}

/// Checks the order of the calls for the signed files `outputs` in `folder`,
/// and answers how many times the folder was synced.
fn check_durable_before_reported(log: &Path, folder: &Path, outputs: &[PathBuf]) -> usize {
    let calls = calls(log);
    let folder_fd = format!(
        "</{}>)",
        folder.display().to_string().trim_start_matches('/')
    );
    let ok = |c: &Call| c.text.ends_with("= 0");
    let reported = calls
        .iter()
        .find(|c| c.name == "write" && c.text.contains("\"Signed "))
        .map(|c| c.at)
        .expect("a \"Signed\" line was written");
    let folder_syncs: Vec<usize> = calls
        .iter()
        .filter(|c| c.name == "fsync" && c.text.contains(&folder_fd) && ok(c))
        .map(|c| c.at)
        .collect();
    let mut last_rename = 0;
    for out in outputs {
        let name = out.file_name().unwrap().to_string_lossy().to_string();
        let target = format!("\"{}\")", out.display());
        let rename = calls
            .iter()
            .find(|c| c.name.starts_with("rename") && c.text.contains(&target) && ok(c))
            .unwrap_or_else(|| panic!("{name}: no rename into place"));
        let temp_prefix = format!("/.{name}.");
        let synced = calls.iter().any(|c| {
            c.name == "fsync" && c.text.contains(&temp_prefix) && ok(c) && c.at < rename.at
        });
        assert!(synced, "{name}: its data was not synced before the rename");
        assert!(
            rename.at < reported,
            "{name}: reported before it was in place"
        );
        last_rename = last_rename.max(rename.at);
    }
    assert!(
        folder_syncs
            .iter()
            .any(|&at| at > last_rename && at < reported),
        "the folder entries were not synced between the last rename (line {last_rename}) and the report (line {reported}); folder syncs at {folder_syncs:?}"
    );
    folder_syncs.len()
}

#[test]
fn a_signed_file_and_its_folder_entry_are_on_disk_before_signed_is_reported() {
    if !judges_available() || !have_tool("strace") {
        return;
    }
    let fx = fixture();
    let s = SimSetup::new("cli_durable", json!({}));
    let out = s.dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let cert = fx.cert("rsa2048").id.clone();
    let pin = format!("{}\n", fx.user_pin);

    // A batch of three: each file synced, then the folder once. Two are
    // large enough to be copied past the page cache where the file system
    // allows it (uncached_copy), one goes through the cache.
    let names = ["a.pdf", "b.pdf", "c.pdf"];
    let sources = [
        "pdfjs-tracemonkey.pdf",
        "pyhanko-minimal-two-pages.pdf",
        "pdfjs-TAMReview.pdf",
    ];
    let inputs: Vec<PathBuf> = names
        .iter()
        .zip(sources)
        .map(|(n, from)| {
            let p = s.dir.join(n);
            std::fs::copy(corpus(from), &p).unwrap();
            p
        })
        .collect();
    let mut cmd = s.mohor(&["--pin-stdin", "sign", "--cert", &cert, "--out-dir"]);
    cmd.arg(&out).args(&inputs);
    let log = s.dir.join("batch.strace");
    let o = run_with_stdin(&mut under_strace(&cmd, &log), &pin);
    assert_no_panic(&o);
    assert!(o.status.success(), "{}", pdf_util::common::text(&o));
    let outputs: Vec<PathBuf> = names.iter().map(|n| out.join(n)).collect();
    for (input, output) in inputs.iter().zip(&outputs) {
        let before = std::fs::read(input).unwrap();
        let after = std::fs::read(output).unwrap();
        assert!(
            after.len() > before.len() && after[..before.len()] == before[..],
            "{}: the input is not the output's first revision, byte for byte",
            output.display()
        );
        let (input_qpdf, _) = qpdf_check(input);
        judge_new_signature(output, "Signature1", input_qpdf).unwrap();
    }
    let syncs = check_durable_before_reported(&log, &out, &outputs);
    assert_eq!(syncs, 1, "a batch syncs its folder once, not per file");

    // One document, on its own: the same promise.
    let single = out.join("single.pdf");
    let mut cmd = s.mohor(&["--pin-stdin", "sign", "--cert", &cert]);
    cmd.arg(&inputs[0]).arg("-o").arg(&single);
    let log = s.dir.join("single.strace");
    let o = run_with_stdin(&mut under_strace(&cmd, &log), &pin);
    assert_no_panic(&o);
    assert!(o.status.success(), "{}", pdf_util::common::text(&o));
    assert!(stderr(&o).contains("Signed"), "{}", stderr(&o));
    judge_new_signature(&single, "Signature1", 0).unwrap();
    check_durable_before_reported(&log, &out, &[single]);
}
