//! Per-connection uploads and downloads. Large uploads are spooled to
//! private temp files; downloads are read from the answer's files (base64 made
//! on the way), so a connection holds at most a few MiB in memory.

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::answer::AnswerText;
use super::budget::{Refusal, Reservation, SpoolBudget};
use super::Limits;
use crate::protocol::transfer::{
    decoded_len, for_each_decoded, utf8_prefix_len, PieceError, UploadChunkText,
};
use crate::protocol::{Blob, DownloadRead, RpcError, UploadBegin, UploadResolver};
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
    /// `upload.begin` or the last chunk: an upload idle for
    /// [`super::Limits::upload_idle_timeout`] is discarded.
    touched: Instant,
}

struct Download {
    /// `None` only while a read is running on a blocking thread.
    text: Option<AnswerText>,
    /// Reused for every piece; between reads it holds the (at most 3) bytes
    /// held back so that no piece splits a character.
    buf: Vec<u8>,
    size: u64,
    next: u64,
    _reservation: Reservation,
}

pub(crate) struct Transfers {
    limits: Limits,
    spool_dir: Option<PathBuf>,
    budget: Arc<SpoolBudget>,
    /// The connection's origin: its uploads count against that site's share.
    site: String,
    uploads: HashMap<String, Upload>,
    downloads: HashMap<String, Download>,
    /// The last few uploads discarded for idling, so that a late chunk or
    /// request is told why its id is unknown.
    expired: VecDeque<String>,
    next_id: u64,
}

/// How many expired upload ids are remembered for the error message.
const EXPIRED_REMEMBERED: usize = 16;

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
        site: String,
    ) -> Transfers {
        Transfers {
            limits,
            spool_dir,
            budget,
            site,
            uploads: HashMap::new(),
            downloads: HashMap::new(),
            expired: VecDeque::new(),
            next_id: 0,
        }
    }

    /// Discards the uploads idle for `upload_idle_timeout` at `now` (none
    /// of them is in use: a request takes its upload out of this map), and
    /// gives their bytes back to the server-wide cap.
    pub(crate) fn expire_idle_uploads(&mut self, now: Instant) {
        let timeout = self.limits.upload_idle_timeout;
        let idle: Vec<String> = self
            .uploads
            .iter()
            .filter(|(_, u)| now.saturating_duration_since(u.touched) >= timeout)
            .map(|(id, _)| id.clone())
            .collect();
        for id in idle {
            self.uploads.remove(&id);
            tracing::info!(
                "upload {id} discarded after {} s without a chunk or a request",
                timeout.as_secs()
            );
            if self.expired.len() == EXPIRED_REMEMBERED {
                self.expired.pop_front();
            }
            self.expired.push_back(id);
        }
    }

    /// The error for an upload id this connection does not hold.
    fn unknown_upload(&self, id: &str) -> RpcError {
        if self.expired.iter().any(|e| e == id) {
            return RpcError::invalid_params(format!(
                "upload `{id}` was discarded: no chunk came, or no request used it, for {} s",
                self.limits.upload_idle_timeout.as_secs()
            ))
            .with_hint("upload the document again and use it at once");
        }
        unknown("upload", id)
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
        let reservation = match self.budget.try_reserve_upload(&self.site, b.size) {
            Ok(r) => r,
            Err(Refusal::CapFull) => return Err(RpcError::application(
                Reason::TooLarge,
                "Mohor already holds too much data for pages; try again when other signings are done",
            )
            .with_hint("the administrator can raise `max_spool_mib` in Mohor's config file")),
            Err(Refusal::SiteShare) => return Err(RpcError::application(
                Reason::TooLarge,
                "the uploads of this site already hold its share of what Mohor keeps for pages",
            )
            .with_hint("use the uploads it started, or cancel them (upload.cancel), before starting more")),
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
                touched: Instant::now(),
            },
        );
        Ok(json!({ "uploadId": id, "chunkSize": self.limits.chunk_bytes }))
    }

    /// `upload.chunk`: checks the chunk whole (base64, offset, length)
    /// before a byte is stored, then decodes it piece by piece into the
    /// upload's file (or memory, for small uploads) and its running hash.
    pub(crate) async fn chunk(&mut self, c: UploadChunkText) -> Result<Value, RpcError> {
        let chunk_bytes = self.limits.chunk_bytes;
        let Some(up) = self.uploads.get_mut(&c.upload_id) else {
            return Err(self.unknown_upload(&c.upload_id));
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
        // 4/3 of the largest chunk, plus padding: anything longer is refused unread.
        if c.data.len() > chunk_bytes.div_ceil(3) * 4 {
            return Err(too_many_bytes(chunk_bytes));
        }
        let len = decoded_len(&c.data).map_err(|e| {
            RpcError::invalid_params(format!(
                "upload.chunk: `data` is not valid base64 (standard alphabet, padded): {e}"
            ))
        })?;
        if len == 0 || len > chunk_bytes as u64 {
            return Err(too_many_bytes(chunk_bytes));
        }
        if up.received + len > up.size {
            return Err(RpcError::invalid_params(format!(
                "upload.chunk: the chunk goes past the declared size of {} bytes",
                up.size
            )));
        }
        let stored = match &mut up.sink {
            Sink::Memory(v) => {
                let mut buf = Vec::new();
                for_each_decoded(&c.data, &mut buf, |piece| {
                    up.hasher.update(piece);
                    v.extend_from_slice(piece);
                    Ok::<(), std::io::Error>(())
                })
                .map_err(piece_failure)
            }
            Sink::File(slot) => {
                let Some(mut file) = slot.take() else {
                    return Err(RpcError::application(
                        Reason::Internal,
                        "upload in a bad state",
                    ));
                };
                let mut hasher = up.hasher.clone();
                let data = c.data;
                let joined = tokio::task::spawn_blocking(move || {
                    let mut buf = Vec::new();
                    let r = for_each_decoded(&data, &mut buf, |piece| {
                        hasher.update(piece);
                        file.write_all(piece)
                    });
                    (file, hasher, r)
                })
                .await;
                match joined {
                    Ok((file, hasher, r)) => {
                        *slot = Some(file);
                        up.hasher = hasher;
                        r.map_err(piece_failure)
                    }
                    Err(_) => Err(RpcError::application(
                        Reason::Internal,
                        "storing the chunk failed",
                    )),
                }
            }
        };
        if let Err(e) = stored {
            // Partly stored: the upload can no longer be continued.
            self.uploads.remove(&c.upload_id);
            return Err(e);
        }
        up.received += len;
        up.touched = Instant::now();
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
        match self.uploads.remove(id) {
            Some(_) => Ok(json!({})),
            None => Err(self.unknown_upload(id)),
        }
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
                buf: Vec::new(),
                size,
                next: 0,
                _reservation: reservation,
            },
        );
        Ok(id)
    }

    /// `download.read`: the next piece of the answer's text, as the whole
    /// response message (built once, straight from the read buffer).
    pub(crate) async fn read(&mut self, r: DownloadRead, id: &Value) -> Result<String, RpcError> {
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
        let Some(source) = d.text.take() else {
            return Err(RpcError::application(
                Reason::Internal,
                "download in a bad state",
            ));
        };
        let buf = std::mem::take(&mut d.buf);
        let next = d.next;
        let size = d.size;
        let joined = tokio::task::spawn_blocking(move || read_piece(source, buf, want)).await;
        let (source, mut buf) = match joined {
            Ok(Ok(done)) => done,
            Ok(Err(e)) => {
                self.downloads.remove(&r.download_id);
                return Err(e);
            }
            Err(_) => {
                self.downloads.remove(&r.download_id);
                return Err(RpcError::application(Reason::Internal, "reading failed"));
            }
        };
        d.text = Some(source);
        // Built here rather than on the blocking thread: large buffers are
        // then allocated and freed by one thread, which keeps glibc from
        // holding freed memory in several arenas.
        let piece = piece_message(&mut buf, next, size, id);
        d.buf = buf;
        let piece = piece?;
        d.next += piece.len;
        if d.next == d.size {
            self.downloads.remove(&r.download_id);
        }
        Ok(piece.message)
    }

    pub(crate) fn discard_download(&mut self, id: &str) -> Result<Value, RpcError> {
        self.downloads
            .remove(id)
            .map(|_| json!({}))
            .ok_or_else(|| unknown("download", id))
    }
}

/// One `download.read` answer.
struct Piece {
    /// Bytes of the answer's text it carries.
    len: u64,
    /// The whole response message.
    message: String,
}

/// Reads up to `want` bytes of the answer (on a blocking thread) after the
/// bytes `buf` already holds (those held back last time).
fn read_piece(
    mut source: AnswerText,
    mut buf: Vec<u8>,
    want: usize,
) -> Result<(AnswerText, Vec<u8>), RpcError> {
    let have = buf.len();
    buf.resize(want.max(have), 0);
    source
        .read_exact(&mut buf[have..])
        .map_err(|e| io_failure("could not read the answer's file", &e))?;
    Ok((source, buf))
}

/// The response carrying the text in `buf` that ends on a character
/// boundary; leaves the rest (at most 3 bytes) in `buf` for the next piece.
fn piece_message(buf: &mut Vec<u8>, next: u64, size: u64, id: &Value) -> Result<Piece, RpcError> {
    let keep = utf8_prefix_len(buf);
    let text = std::str::from_utf8(&buf[..keep])
        .map_err(|_| RpcError::application(Reason::Internal, "the answer is not UTF-8"))?;
    let len = keep as u64;
    let done = next + len == size;
    let mut message = Vec::with_capacity(keep + keep / 16 + 160);
    let encoded = (|| -> serde_json::Result<()> {
        message.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
        serde_json::to_writer(&mut message, id)?;
        message.extend_from_slice(br#","result":{"text":"#);
        serde_json::to_writer(&mut message, text)?;
        message
            .extend_from_slice(format!(r#","next":{},"done":{done}}}}}"#, next + len).as_bytes());
        Ok(())
    })();
    encoded
        .map_err(|e| RpcError::application(Reason::Internal, format!("could not encode: {e}")))?;
    let message = String::from_utf8(message)
        .map_err(|_| RpcError::application(Reason::Internal, "the answer is not UTF-8"))?;
    buf.copy_within(keep.., 0);
    buf.truncate(buf.len() - keep);
    Ok(Piece { len, message })
}

fn too_many_bytes(chunk_bytes: usize) -> RpcError {
    RpcError::invalid_params(format!(
        "upload.chunk: a chunk carries 1 to {chunk_bytes} bytes"
    ))
}

fn piece_failure(e: PieceError<std::io::Error>) -> RpcError {
    match e {
        PieceError::Base64(m) => RpcError::invalid_params(format!(
            "upload.chunk: `data` is not valid base64 (standard alphabet, padded): {m}"
        )),
        PieceError::Sink(e) => io_failure("could not store the uploaded chunk", &e),
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
            None => return Err(self.unknown_upload(id)),
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
