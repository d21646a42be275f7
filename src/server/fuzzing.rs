//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`, never in
//! a release build). The handshake and the transfer state machine are private
//! to the server; these wrappers drive the real code paths without a socket
//! and without changing what the server itself calls.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite;

use super::answer::{Answer, AnswerText};
use super::budget::SpoolBudget;
use super::transfer::Transfers;
use super::{handshake, Backend, Call, Limits, OriginPolicy, Pending, Shared};
use crate::protocol::transfer::UploadChunkText;
use crate::protocol::{DownloadRead, Request, RpcError, UploadBegin, UploadResolver};
use crate::{Error, Reason};

/// Answers nothing and trusts no site: the handshake needs a backend only
/// for `is_trusted_site`.
struct NoBackend;

impl Backend for NoBackend {
    fn handle(&self, _call: &Call, _request: Request) -> crate::Result<Answer> {
        Err(Error::new(Reason::Internal, "no backend while fuzzing"))
    }
    fn is_trusted_site(&self, _origin: &str) -> bool {
        false
    }
    fn ask_trust_site(&self, _origin: &str) -> super::TrustAnswer {
        super::TrustAnswer::Declined
    }
}

/// An in-memory socket: reads `input`, keeps what is written.
struct Wire {
    input: io::Cursor<Vec<u8>>,
    output: Vec<u8>,
}

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Wire {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Would the server bound to `port` answer these first bytes of a
/// connection with `426 Upgrade Required` (a whole request head from this
/// computer that asks for no WebSocket) instead of handing them to the
/// handshake?
pub fn upgrade_required(raw: &[u8], port: u16) -> bool {
    super::plain_http::plain_head(raw, port).is_some()
}

/// What one raw HTTP upgrade request came to.
#[derive(Debug)]
pub struct HandshakeOutcome {
    /// The header gate admitted it (and handed out a connection slot).
    pub admitted: bool,
    /// The origin it was admitted for (serialised).
    pub origin: Option<String>,
    /// Everything the server wrote back.
    pub response: Vec<u8>,
}

/// Runs tungstenite's server handshake with Mohor's gate over `raw` bytes,
/// for a server bound to `port` with `allowed` origins and `free_slots`
/// connection slots left.
pub fn handshake(
    raw: &[u8],
    allowed: &[String],
    port: u16,
    free_slots: usize,
) -> crate::Result<HandshakeOutcome> {
    let policy = OriginPolicy::new(allowed)?;
    let limits = Limits::default();
    let shared = Arc::new(Shared {
        port,
        policy,
        backend: Arc::new(NoBackend),
        connections: Arc::new(Semaphore::new(free_slots)),
        trust: handshake::TrustPrompts::new(limits.trust_prompt_interval),
        ask_unknown_sites: false,
        spool_dir: None,
        spool_budget: SpoolBudget::new(limits.max_spool_bytes_total, limits.max_upload_bytes),
        pending: Mutex::new(Pending::default()),
        limits,
    });
    let mut admitted = None;
    let wire = Wire {
        input: io::Cursor::new(raw.to_vec()),
        output: Vec::new(),
    };
    let gate = handshake::Gate {
        shared: &shared,
        admitted: &mut admitted,
    };
    let response = match tungstenite::accept_hdr(wire, gate) {
        Ok(ws) => ws.get_ref().output.clone(),
        Err(tungstenite::HandshakeError::Interrupted(mid)) => {
            mid.get_ref().get_ref().output.clone()
        }
        Err(tungstenite::HandshakeError::Failure(_)) => Vec::new(),
    };
    Ok(HandshakeOutcome {
        admitted: admitted.is_some(),
        origin: admitted.map(|a| a.origin),
        response,
    })
}

/// The per-connection upload/download state machine, driven synchronously.
pub struct TransferMachine {
    runtime: tokio::runtime::Runtime,
    transfers: Transfers,
}

impl TransferMachine {
    /// Small limits so both the in-memory and the temp-file sinks, and every
    /// limit, are reached by short inputs.
    pub fn new(limits: Limits, spool_dir: Option<PathBuf>) -> io::Result<TransferMachine> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let budget = SpoolBudget::new(limits.max_spool_bytes_total, limits.max_upload_bytes);
        Ok(TransferMachine {
            runtime,
            transfers: Transfers::new(limits, spool_dir, budget, "https://fuzz.example".into()),
        })
    }

    pub fn begin(&mut self, size: u64, sha256: [u8; 32]) -> Result<Value, RpcError> {
        self.transfers.begin(UploadBegin { size, sha256 })
    }

    pub fn chunk(
        &mut self,
        upload_id: &str,
        offset: u64,
        data: Vec<u8>,
    ) -> Result<Value, RpcError> {
        use base64::Engine as _;
        let c = UploadChunkText {
            upload_id: upload_id.to_string(),
            offset,
            data: base64::engine::general_purpose::STANDARD.encode(data),
        };
        let transfers = &mut self.transfers;
        self.runtime.block_on(transfers.chunk(c))
    }

    pub fn cancel_upload(&mut self, upload_id: &str) -> Result<Value, RpcError> {
        self.transfers.cancel_upload(upload_id)
    }

    /// What a request naming `uploadId` gets: the whole document.
    pub fn take_upload(&mut self, upload_id: &str) -> Result<Vec<u8>, RpcError> {
        let blob = self.transfers.take_upload(upload_id)?;
        blob.to_vec().map_err(RpcError::from)
    }

    /// Spools `text` as an answer too large for one frame; returns its download id.
    pub fn add_download(&mut self, text: &str) -> Result<String, RpcError> {
        self.transfers.add_download(AnswerText::plain(text))
    }

    pub fn read(&mut self, download_id: &str, offset: u64) -> Result<Value, RpcError> {
        let r = DownloadRead {
            download_id: download_id.to_string(),
            offset,
        };
        let transfers = &mut self.transfers;
        let message = self
            .runtime
            .block_on(transfers.read(r, &Value::from("fuzz")))?;
        let mut response: Value = serde_json::from_str(&message)
            .map_err(|e| RpcError::application(Reason::Internal, format!("not JSON: {e}")))?;
        Ok(response["result"].take())
    }

    pub fn discard_download(&mut self, download_id: &str) -> Result<Value, RpcError> {
        self.transfers.discard_download(download_id)
    }
}
