//! Per-connection uploads and downloads. Large uploads are spooled to
//! private temp files; downloads are read from the answer's files (base64 made
//! on the way), so a connection holds at most a few MiB in memory.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::answer::AnswerText;
use super::budget::{Reservation, SpoolBudget};
use super::Limits;
use crate::protocol::transfer::utf8_prefix_len;
use crate::protocol::{Blob, DownloadRead, RpcError, UploadBegin, UploadChunk, UploadResolver};
use crate::Reason;

enum Sink {
    Memory(Vec<u8>),
    /// `None` only while a write is running on a blocking thread.
    File(Option<tempfile::NamedTempFile>),
}

struct Upload {
    size: u64,
    sha256: [u8; 32],
    hasher: Sha256,
    received: u64,
    sink: Sink,
    complete: bool,
    /// The declared size, held against the server-wide cap.
    reservation: Reservation,
}

struct Download {
    /// `None` only while a read is running on a blocking thread.
    text: Option<AnswerText>,
    /// Bytes read from `text` but held back so no piece splits a character.
    carry: Vec<u8>,
    size: u64,
    next: u64,
    _reservation: Reservation,
}

pub(crate) struct Transfers {
    limits: Limits,
    spool_dir: Option<PathBuf>,
    budget: Arc<SpoolBudget>,
    uploads: HashMap<String, Upload>,
    downloads: HashMap<String, Download>,
    next_id: u64,
}

fn new_temp(dir: &Option<PathBuf>) -> std::io::Result<tempfile::NamedTempFile> {
    let b = {
        let mut b = tempfile::Builder::new();
        b.prefix("mohor-spool-");
        b
    };
    match dir {
        Some(d) => b.tempfile_in(d),
        None => b.tempfile(),
    }
}

fn io_failure(what: &str, e: &std::io::Error) -> RpcError {
    RpcError::application(Reason::IoError, format!("{what}: {e}"))
        .with_hint("check free disk space in the temp folder and try again")
}

impl Transfers {
    pub(crate) fn new(
        limits: Limits,
        spool_dir: Option<PathBuf>,
        budget: Arc<SpoolBudget>,
    ) -> Transfers {
        Transfers {
            limits,
            spool_dir,
            budget,
            uploads: HashMap::new(),
            downloads: HashMap::new(),
            next_id: 0,
        }
    }

    fn spooled_bytes(&self) -> u64 {
        self.uploads.values().map(|u| u.size).sum::<u64>()
            + self.downloads.values().map(|d| d.size).sum::<u64>()
    }

    fn fresh_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{}", self.next_id)
    }

    pub(crate) fn begin(&mut self, b: UploadBegin) -> Result<Value, RpcError> {
        if b.size == 0 {
            return Err(RpcError::invalid_params(
                "upload.begin: `size` must be at least 1 (send small documents inline)",
            ));
        }
        if b.size > self.limits.max_upload_bytes {
            return Err(RpcError::application(
                Reason::TooLarge,
                format!(
                    "the document is {} bytes; Mohor accepts at most {} bytes",
                    b.size, self.limits.max_upload_bytes
                ),
            )
            .with_hint("split the document or ask the portal for a smaller file"));
        }
        if self.uploads.len() >= self.limits.max_transfers_per_connection {
            return Err(RpcError::application(
                Reason::Busy,
                "too many unfinished uploads on this connection",
            )
            .with_hint("finish or cancel (upload.cancel) earlier uploads first"));
        }
        if self.spooled_bytes() + b.size > self.limits.max_spool_bytes_per_connection {
            return Err(RpcError::application(
                Reason::TooLarge,
                "this connection already holds too much uploaded data",
            )
            .with_hint("use the uploads you started, or cancel them, before starting more"));
        }
        // Reserved before a byte is written: the cap holds across connections.
        let Some(reservation) = self.budget.try_reserve(b.size) else {
            return Err(RpcError::application(
                Reason::TooLarge,
                "Mohor already holds too much data for pages; try again when other signings are done",
            )
            .with_hint("the administrator can raise `max_spool_mib` in Mohor's config file"));
        };
        let sink = if b.size <= self.limits.memory_spool_threshold {
            Sink::Memory(Vec::with_capacity(usize::try_from(b.size).unwrap_or(0)))
        } else {
            Sink::File(Some(new_temp(&self.spool_dir).map_err(|e| {
                io_failure("could not create a temp file for the upload", &e)
            })?))
        };
        let id = self.fresh_id("u");
        self.uploads.insert(
            id.clone(),
            Upload {
                size: b.size,
                sha256: b.sha256,
                hasher: Sha256::new(),
                received: 0,
                sink,
                complete: false,
                reservation,
            },
        );
        Ok(json!({ "uploadId": id, "chunkSize": self.limits.chunk_bytes }))
    }

    pub(crate) async fn chunk(&mut self, c: UploadChunk) -> Result<Value, RpcError> {
        let chunk_bytes = self.limits.chunk_bytes;
        let Some(up) = self.uploads.get_mut(&c.upload_id) else {
            return Err(unknown("upload", &c.upload_id));
        };
        if up.complete {
            return Err(RpcError::invalid_params(format!(
                "upload.chunk: upload `{}` is already complete",
                c.upload_id
            )));
        }
        if c.offset != up.received {
            return Err(RpcError::invalid_params(format!(
                "upload.chunk: expected offset {}, got {} (send chunks in order)",
                up.received, c.offset
            )));
        }
        let len = c.data.len() as u64;
        if len == 0 || len > chunk_bytes as u64 {
            return Err(RpcError::invalid_params(format!(
                "upload.chunk: a chunk carries 1 to {chunk_bytes} bytes"
            )));
        }
        if up.received + len > up.size {
            return Err(RpcError::invalid_params(format!(
                "upload.chunk: the chunk goes past the declared size of {} bytes",
                up.size
            )));
        }
        up.hasher.update(&c.data);
        match &mut up.sink {
            Sink::Memory(v) => v.extend_from_slice(&c.data),
            Sink::File(slot) => {
                let Some(mut file) = slot.take() else {
                    return Err(RpcError::application(
                        Reason::Internal,
                        "upload in a bad state",
                    ));
                };
                let data = c.data;
                let joined = tokio::task::spawn_blocking(move || {
                    let r = file.write_all(&data);
                    (file, r)
                })
                .await;
                match joined {
                    Ok((file, r)) => {
                        *slot = Some(file);
                        if let Err(e) = r {
                            self.uploads.remove(&c.upload_id);
                            return Err(io_failure("could not store the uploaded chunk", &e));
                        }
                    }
                    Err(_) => {
                        self.uploads.remove(&c.upload_id);
                        return Err(RpcError::application(
                            Reason::Internal,
                            "storing the chunk failed",
                        ));
                    }
                }
            }
        }
        up.received += len;
        if up.received == up.size {
            let digest: [u8; 32] = std::mem::take(&mut up.hasher).finalize().into();
            if digest != up.sha256 {
                self.uploads.remove(&c.upload_id);
                return Err(RpcError::invalid_params(
                    "upload.chunk: the document's SHA-256 does not match upload.begin's `sha256`; the upload was discarded",
                ));
            }
            up.complete = true;
        }
        Ok(json!({ "received": up.received, "complete": up.complete }))
    }

    pub(crate) fn cancel_upload(&mut self, id: &str) -> Result<Value, RpcError> {
        self.uploads
            .remove(id)
            .map(|_| json!({}))
            .ok_or_else(|| unknown("upload", id))
    }

    /// Registers an answer too large for one frame; returns its download id.
    pub(crate) fn add_download(&mut self, text: AnswerText) -> Result<String, RpcError> {
        let size = text.len();
        let too_large = || {
            RpcError::application(
                Reason::TooLarge,
                "the answer is too large to hold for this connection",
            )
            .with_hint("read or discard earlier downloads (download.read / download.discard) first")
        };
        if self.downloads.len() >= self.limits.max_transfers_per_connection
            || self.spooled_bytes() + size > self.limits.max_spool_bytes_per_connection
        {
            return Err(too_large());
        }
        let reservation = self.budget.try_reserve(size).ok_or_else(too_large)?;
        let id = self.fresh_id("d");
        self.downloads.insert(
            id.clone(),
            Download {
                text: Some(text),
                carry: Vec::new(),
                size,
                next: 0,
                _reservation: reservation,
            },
        );
        Ok(id)
    }

    pub(crate) async fn read(&mut self, r: DownloadRead) -> Result<Value, RpcError> {
        let chunk = self.limits.chunk_bytes;
        let Some(d) = self.downloads.get_mut(&r.download_id) else {
            return Err(unknown("download", &r.download_id));
        };
        if r.offset != d.next {
            return Err(RpcError::invalid_params(format!(
                "download.read: expected offset {}, got {} (read in order, using `next`)",
                d.next, r.offset
            )));
        }
        let want = usize::try_from((d.size - d.next).min(chunk as u64)).unwrap_or(chunk);
        let Some(mut source) = d.text.take() else {
            return Err(RpcError::application(
                Reason::Internal,
                "download in a bad state",
            ));
        };
        let mut buf = std::mem::take(&mut d.carry);
        let read = tokio::task::spawn_blocking(move || {
            let have = buf.len();
            buf.resize(want.max(have), 0);
            let r = source.read_exact(&mut buf[have..]);
            (source, buf, r)
        })
        .await;
        let mut buf = match read {
            Ok((source, buf, Ok(()))) => {
                d.text = Some(source);
                buf
            }
            Ok((_, _, Err(e))) => {
                self.downloads.remove(&r.download_id);
                return Err(io_failure("could not read the answer's file", &e));
            }
            Err(_) => {
                self.downloads.remove(&r.download_id);
                return Err(RpcError::application(Reason::Internal, "reading failed"));
            }
        };
        let keep = utf8_prefix_len(&buf);
        d.carry = buf.split_off(keep);
        let text = String::from_utf8(buf)
            .map_err(|_| RpcError::application(Reason::Internal, "the answer is not UTF-8"))?;
        d.next += keep as u64;
        let done = d.next == d.size;
        let next = d.next;
        if done {
            self.downloads.remove(&r.download_id);
        }
        Ok(json!({ "text": text, "next": next, "done": done }))
    }

    pub(crate) fn discard_download(&mut self, id: &str) -> Result<Value, RpcError> {
        self.downloads
            .remove(id)
            .map(|_| json!({}))
            .ok_or_else(|| unknown("download", id))
    }
}

fn unknown(kind: &str, id: &str) -> RpcError {
    RpcError::invalid_params(format!(
        "unknown {kind} `{}` (ids belong to one connection and are used once)",
        id.chars().take(64).collect::<String>()
    ))
}

impl UploadResolver for Transfers {
    fn take_upload(&mut self, id: &str) -> Result<Blob, RpcError> {
        match self.uploads.get(id) {
            None => return Err(unknown("upload", id)),
            Some(u) if !u.complete => {
                return Err(RpcError::invalid_params(format!(
                    "upload `{id}` is not complete ({} of {} bytes received)",
                    u.received, u.size
                )))
            }
            Some(_) => {}
        }
        let Some(up) = self.uploads.remove(id) else {
            return Err(unknown("upload", id));
        };
        match up.sink {
            Sink::Memory(v) => Ok(Blob::from_vec(v)),
            Sink::File(Some(mut f)) => {
                f.flush()
                    .map_err(|e| io_failure("could not store the upload", &e))?;
                // The reservation lives as long as the spool file does.
                Ok(Blob::from_temp_file(f, up.size).holding(up.reservation))
            }
            Sink::File(None) => Err(RpcError::application(
                Reason::Internal,
                "upload in a bad state",
            )),
        }
    }
}
