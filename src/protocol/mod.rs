//! JSON-RPC 2.0 messages of the WebSocket protocol (pure: no I/O). See docs/PROTOCOL.md.
//!
//! A text frame becomes an [`Envelope`] (id, method, untyped params; PIN
//! fields refused), then a typed [`Incoming`]: either something the server
//! answers itself (`hello`, `cancel`, `upload.*`, `download.*`) or a
//! [`Request`] for the backend. Every refusal is an [`RpcError`] ready to send.

pub mod blob;
pub mod jsonrpc;
pub mod request;
mod strict_json;
pub mod transfer;

#[cfg(test)]
mod spec;

pub use blob::Blob;
pub use jsonrpc::{code, Envelope, Rejected, RpcError};
pub use request::{
    Appearance, BatchItem, CertificateFilter, DownloadRead, Incoming, KeyUsage, Method, NoUploads,
    Request, SignData, SignHash, SignPdf, UploadBegin, UploadChunk, UploadResolver, Verify,
};

/// Protocol version announced by `hello`; bumped only on incompatible changes.
pub const PROTOCOL_VERSION: u32 = 1;

/// What `hello` lists in `capabilities`.
pub const CAPABILITIES: &[&str] = &[
    "certificates.list",
    "sign.pdf",
    "sign.data",
    "sign.hash",
    "sign.batch",
    "verify",
    "cancel",
    "progress",
    "upload",
    "download",
];

/// The `hello` result.
pub fn hello_result() -> serde_json::Value {
    serde_json::json!({
        "product": "Mohor",
        "version": env!("CARGO_PKG_VERSION"),
        "protocol": PROTOCOL_VERSION,
        "capabilities": CAPABILITIES,
    })
}

/// Progress stages sent in `progress` notifications.
pub mod stage {
    pub const WAITING_FOR_CONSENT: &str = "waiting-for-consent";
    pub const WAITING_FOR_PIN: &str = "waiting-for-pin";
    pub const SIGNING: &str = "signing";
    pub const DONE: &str = "done";
}
