//! The chunked upload/download state machine of one connection, driven by
//! an arbitrary sequence of operations (begin, chunk, cancel, use, spool an
//! answer, read, discard) with limits small enough that every branch is
//! reached: the in-memory and the temp-file sinks, the size, count and
//! per-connection limits. A model checks what the machine promises: a chunk
//! is accepted only at the next offset and inside the declared size; a used
//! upload is exactly the bytes accepted, with the declared SHA-256; a
//! download read in order gives back exactly the answer; ids work once.
#![no_main]

use std::collections::HashMap;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use mohor::server::fuzzing::TransferMachine;
use mohor::server::Limits;
use sha2::{Digest, Sha256};

const CHUNK: usize = 16;

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn next(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
}

#[derive(Default)]
struct Upload {
    size: u64,
    sha: [u8; 32],
    got: Vec<u8>,
}

struct Download {
    text: String,
    read: String,
    next: u64,
}

fn limits() -> Limits {
    Limits {
        chunk_bytes: CHUNK,
        memory_spool_threshold: 48,
        max_upload_bytes: 200,
        max_transfers_per_connection: 3,
        max_spool_bytes_per_connection: 400,
        trust_prompt_interval: Duration::from_secs(1),
        ..Limits::default()
    }
}

fn pick<T>(map: &HashMap<String, T>, b: u8) -> String {
    let mut ids: Vec<&String> = map.keys().collect();
    ids.sort();
    match ids.get(usize::from(b) % (ids.len() + 1)) {
        Some(id) => (*id).clone(),
        None => format!("x{b}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(mut m) = TransferMachine::new(limits(), None) else {
        return;
    };
    let mut bytes = Bytes(data);
    let mut uploads: HashMap<String, Upload> = HashMap::new();
    let mut downloads: HashMap<String, Download> = HashMap::new();
    while let (Some(op), Some(arg)) = (bytes.next(), bytes.next()) {
        match op % 7 {
            0 => {
                let size = u64::from(arg) + u64::from(bytes.next().unwrap_or(0) % 64);
                let mut sha = [0u8; 32];
                let content: Vec<u8> = (0..size).map(|i| (i as u8).wrapping_mul(arg)).collect();
                if arg & 1 == 0 {
                    sha = Sha256::digest(&content).into();
                }
                if let Ok(v) = m.begin(size, sha) {
                    assert!(size >= 1 && size <= 200, "begin accepted size {size}");
                    let id = v["uploadId"].as_str().unwrap_or_default().to_string();
                    assert!(!uploads.contains_key(&id), "upload id {id} reused");
                    uploads.insert(
                        id,
                        Upload {
                            size,
                            sha,
                            got: Vec::new(),
                        },
                    );
                }
            }
            1 => {
                let id = pick(&uploads, arg);
                let len = usize::from(bytes.next().unwrap_or(0) % (CHUNK as u8 + 2));
                let skew = bytes.next().unwrap_or(0);
                let expected = uploads.get(&id).map_or(0, |u| u.got.len() as u64);
                let offset = if skew % 5 == 0 {
                    expected + u64::from(skew)
                } else {
                    expected
                };
                let chunk: Vec<u8> = (0..len)
                    .map(|i| (offset as u8).wrapping_add(i as u8))
                    .collect();
                let r = m.chunk(&id, offset, chunk.clone());
                let Some(up) = uploads.get_mut(&id) else {
                    assert!(r.is_err(), "a chunk for unknown upload {id} was accepted");
                    continue;
                };
                let fits = offset == expected
                    && (1..=CHUNK).contains(&len)
                    && expected + len as u64 <= up.size
                    && (up.got.len() as u64) < up.size;
                match r {
                    Ok(v) => {
                        assert!(fits, "chunk at {offset} len {len} accepted: {v}");
                        up.got.extend_from_slice(&chunk);
                        assert_eq!(v["received"].as_u64(), Some(up.got.len() as u64));
                    }
                    Err(_) if fits && expected + len as u64 == up.size => {
                        // The last chunk with a SHA-256 mismatch discards the upload.
                        let mut all = up.got.clone();
                        all.extend_from_slice(&chunk);
                        let sha: [u8; 32] = Sha256::digest(&all).into();
                        assert_ne!(sha, up.sha, "a matching last chunk was refused");
                        uploads.remove(&id);
                    }
                    Err(e) => assert!(!fits, "a fitting chunk was refused: {e:?}"),
                }
            }
            2 => {
                let id = pick(&uploads, arg);
                let r = m.cancel_upload(&id);
                assert_eq!(r.is_ok(), uploads.remove(&id).is_some(), "cancel of {id}");
            }
            3 => {
                let id = pick(&uploads, arg);
                let r = m.take_upload(&id);
                match uploads.get(&id) {
                    Some(up) if up.got.len() as u64 == up.size => {
                        let doc =
                            r.unwrap_or_else(|e| panic!("a complete upload was refused: {e:?}"));
                        assert_eq!(doc, up.got, "the document is not what was uploaded");
                        let sha: [u8; 32] = Sha256::digest(&doc).into();
                        assert_eq!(sha, up.sha);
                        uploads.remove(&id);
                    }
                    _ => assert!(r.is_err(), "an unknown or unfinished upload {id} was used"),
                }
            }
            4 => {
                let n = usize::from(arg) + 1; // the server never spools an empty answer
                let text: String = (0..n).map(|i| if i % 7 == 3 { 'ম' } else { 'a' }).collect();
                if let Ok(id) = m.add_download(&text) {
                    assert!(!downloads.contains_key(&id), "download id {id} reused");
                    downloads.insert(
                        id,
                        Download {
                            text,
                            read: String::new(),
                            next: 0,
                        },
                    );
                }
            }
            5 => {
                let id = pick(&downloads, arg);
                let skew = bytes.next().unwrap_or(0);
                let expected = downloads.get(&id).map_or(0, |d| d.next);
                let offset = if skew % 4 == 0 {
                    expected + u64::from(skew)
                } else {
                    expected
                };
                let r = m.read(&id, offset);
                let Some(d) = downloads.get_mut(&id) else {
                    assert!(r.is_err(), "read of unknown download {id}");
                    continue;
                };
                match r {
                    Ok(v) => {
                        assert_eq!(offset, expected, "read at the wrong offset accepted");
                        let piece = v["text"].as_str().unwrap_or_default();
                        assert!(!piece.is_empty(), "a read made no progress");
                        d.read.push_str(piece);
                        d.next = v["next"].as_u64().unwrap_or_default();
                        assert_eq!(d.next, d.read.len() as u64);
                        if v["done"] == serde_json::Value::Bool(true) {
                            assert_eq!(d.read, d.text, "the answer came back changed");
                            downloads.remove(&id);
                        }
                    }
                    Err(e) => assert_ne!(offset, expected, "an in-order read failed: {e:?}"),
                }
            }
            _ => {
                let id = pick(&downloads, arg);
                let r = m.discard_download(&id);
                assert_eq!(
                    r.is_ok(),
                    downloads.remove(&id).is_some(),
                    "discard of {id}"
                );
            }
        }
    }
});
