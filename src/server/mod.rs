//! The loopback WebSocket server (tokio-tungstenite): bind, handshake checks, limits, dispatch.
//!
//! ```text
//! TCP accept ─► pending-handshake slot (oldest evicted when full, 5 s timeout)
//!            ─► header callback: Host, Origin, connection slot ─► 403/503 or upgrade
//!            ─► connection task: JSON-RPC frames ─► protocol::Incoming
//!                  ├─ hello / cancel / upload.* / download.*: answered here
//!                  └─ Request ─► spawn_blocking(Backend::handle) ─► answer
//! ```
//!
//! Starting it (what `mohor serve` does):
//!
//! ```no_run
//! # async fn f(backend: std::sync::Arc<dyn mohor::server::Backend>) -> mohor::Result<()> {
//! use mohor::server::{Server, ServerConfig};
//! let config = ServerConfig {
//!     allowed_origins: vec!["https://eoffice.gov.in".into()],
//!     ..ServerConfig::default()
//! };
//! let bound = Server::bind(config, backend).await?;
//! println!("{}", bound.port()); // first line of `mohor serve`
//! bound.run().await
//! # }
//! ```

pub mod answer;
pub mod backend;
mod budget;
mod connection;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod handshake;
mod log_filter;
pub mod origin;
mod plain_http;
mod transfer;
pub mod workdir;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch, Semaphore};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

pub use answer::Answer;
pub use backend::{Backend, Call, TrustAnswer};
pub use log_filter::log_filter;
pub use origin::{Origin, OriginPattern, OriginPolicy};

use crate::{Error, Reason, Result};

/// The port pages try first.
pub const DEFAULT_PORT: u16 = 21760;
/// Tried in order when [`DEFAULT_PORT`] is taken.
pub const FALLBACK_PORTS: [u16; 3] = [21761, 21762, 21763];

/// Resource limits. The defaults suit a desktop; tests shrink them.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest incoming message (and frame); larger ones close the connection
    /// with 1009. Also the largest answer sent in one frame.
    pub max_message_bytes: usize,
    /// Upgraded connections at once; more are refused with 503.
    pub max_connections: usize,
    /// TCP connections still in their HTTP handshake; when full, the oldest is dropped.
    pub max_pending_handshakes: usize,
    /// Time allowed from TCP accept to a finished upgrade (slowloris defence).
    pub handshake_timeout: Duration,
    /// A connection with no message and no request in flight for this long is closed.
    pub idle_timeout: Duration,
    /// Backend requests running at once per connection; more are answered `BUSY`.
    pub max_in_flight_per_connection: usize,
    /// A backend request taking longer is answered `TIMEOUT` and cancelled.
    pub request_timeout: Duration,
    /// Largest document accepted through `upload.*`.
    pub max_upload_bytes: u64,
    /// Raw bytes per `upload.chunk` and per `download.read`.
    pub chunk_bytes: usize,
    /// Uploads at most this large stay in memory; larger ones go to a temp file.
    pub memory_spool_threshold: u64,
    /// Unfinished uploads, and unread downloads, per connection (each).
    pub max_transfers_per_connection: usize,
    /// An upload that gets no chunk for this long, or that no request uses
    /// this long after its last chunk, is discarded and its bytes given
    /// back: a page that keeps its connection alive cannot hold the
    /// server-wide cap for ever. (Unread downloads are kept: they carry
    /// what the person signed.)
    pub upload_idle_timeout: Duration,
    /// Bytes of uploads and downloads held for one connection.
    pub max_spool_bytes_per_connection: u64,
    /// Bytes of uploads and downloads held for all connections together
    /// (config `max_spool_mib`); reserved before the bytes arrive.
    pub max_spool_bytes_total: u64,
    /// One "trust this site?" prompt per origin per this interval.
    pub trust_prompt_interval: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 16 << 20,
            max_connections: 64,
            max_pending_handshakes: 128,
            handshake_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(600),
            max_in_flight_per_connection: 4,
            request_timeout: Duration::from_secs(15 * 60),
            max_upload_bytes: 512 << 20,
            chunk_bytes: 4 << 20,
            memory_spool_threshold: 4 << 20,
            max_transfers_per_connection: 4,
            upload_idle_timeout: Duration::from_secs(120),
            max_spool_bytes_per_connection: 2 << 30,
            max_spool_bytes_total: 1 << 30,
            trust_prompt_interval: Duration::from_secs(600),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `None`: [`DEFAULT_PORT`], else the first free of [`FALLBACK_PORTS`].
    /// `Some(p)`: exactly `p` (`0` = any free port, for tests).
    pub port: Option<u16>,
    /// Allow-list entries (see [`origin`] for the syntax); parsed by [`Server::bind`].
    pub allowed_origins: Vec<String>,
    /// Offer unknown `https` origins to the person via [`Backend::ask_trust_site`].
    pub ask_unknown_sites: bool,
    /// Where large uploads and answers are spooled (default: the OS temp dir).
    pub spool_dir: Option<PathBuf>,
    pub limits: Limits,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            port: None,
            allowed_origins: Vec::new(),
            ask_unknown_sites: true,
            spool_dir: None,
            limits: Limits::default(),
        }
    }
}

/// State shared by the accept loops, handshakes and connections.
pub(crate) struct Shared {
    pub(crate) port: u16,
    pub(crate) policy: OriginPolicy,
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) limits: Limits,
    pub(crate) ask_unknown_sites: bool,
    pub(crate) spool_dir: Option<PathBuf>,
    pub(crate) spool_budget: Arc<budget::SpoolBudget>,
    pub(crate) connections: Arc<Semaphore>,
    pub(crate) trust: handshake::TrustPrompts,
    pending: Mutex<Pending>,
}

/// TCP connections still in their handshake, oldest first.
#[derive(Default)]
struct Pending {
    next: u64,
    waiting: BTreeMap<u64, oneshot::Sender<()>>,
}

impl Shared {
    /// Registers a new pending handshake, evicting the oldest when full.
    fn register_pending(&self) -> (u64, oneshot::Receiver<()>) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        while p.waiting.len() >= self.limits.max_pending_handshakes.max(1) {
            if let Some((_, evict)) = p.waiting.pop_first() {
                let _ = evict.send(());
            }
        }
        p.next += 1;
        let seq = p.next;
        let (tx, rx) = oneshot::channel();
        p.waiting.insert(seq, tx);
        (seq, rx)
    }

    fn unregister_pending(&self, seq: u64) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        p.waiting.remove(&seq);
    }
}

pub struct Server;

/// A server listening on its port(s), not yet serving.
pub struct BoundServer {
    listeners: Vec<TcpListener>,
    shared: Arc<Shared>,
    shutdown_tx: watch::Sender<bool>,
}

/// Stops a running server: listeners close, connections get close 1001.
#[derive(Clone)]
pub struct ShutdownHandle(watch::Sender<bool>);

impl ShutdownHandle {
    pub fn shutdown(&self) {
        let _ = self.0.send(true);
    }
}

impl Server {
    /// Validates the allow-list and binds `127.0.0.1` (and `[::1]` when the
    /// machine has IPv6) on the configured port, or the first free default port.
    pub async fn bind(config: ServerConfig, backend: Arc<dyn Backend>) -> Result<BoundServer> {
        let policy = OriginPolicy::new(&config.allowed_origins)?;
        let (port, listeners) = bind_loopback(config.port).await?;
        let limits = config.limits;
        let shared = Arc::new(Shared {
            port,
            policy,
            backend,
            connections: Arc::new(Semaphore::new(limits.max_connections)),
            trust: handshake::TrustPrompts::new(limits.trust_prompt_interval),
            ask_unknown_sites: config.ask_unknown_sites,
            spool_dir: config.spool_dir,
            spool_budget: budget::SpoolBudget::new(
                limits.max_spool_bytes_total,
                limits.max_upload_bytes,
            ),
            pending: Mutex::new(Pending::default()),
            limits,
        });
        let (shutdown_tx, _) = watch::channel(false);
        Ok(BoundServer {
            listeners,
            shared,
            shutdown_tx,
        })
    }
}

/// Binds and serves until shut down (shorthand for `bind` + `run`).
pub async fn serve(config: ServerConfig, backend: Arc<dyn Backend>) -> Result<()> {
    Server::bind(config, backend).await?.run().await
}

impl BoundServer {
    /// The port pages connect to.
    pub fn port(&self) -> u16 {
        self.shared.port
    }

    /// Every address listened on (`127.0.0.1:port`, and `[::1]:port` when available).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect()
    }

    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.shutdown_tx.clone())
    }

    /// Serves until [`ShutdownHandle::shutdown`]. Returns `Ok(())` then.
    pub async fn run(self) -> Result<()> {
        let mut tasks = Vec::new();
        for listener in self.listeners {
            let shared = Arc::clone(&self.shared);
            let shutdown = self.shutdown_tx.subscribe();
            tasks.push(tokio::spawn(accept_loop(listener, shared, shutdown)));
        }
        let mut shutdown = self.shutdown_tx.subscribe();
        while !*shutdown.borrow_and_update() {
            if shutdown.changed().await.is_err() {
                break;
            }
        }
        for t in tasks {
            let _ = t.await;
        }
        Ok(())
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if !peer.ip().is_loopback() {
                        continue; // cannot happen on a loopback listener; never serve it anyway
                    }
                    let _ = stream.set_nodelay(true);
                    let (seq, evicted) = shared.register_pending();
                    tokio::spawn(handle_socket(stream, Arc::clone(&shared), seq, evicted, shutdown.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.changed() => break,
        }
    }
}

fn ws_config(limits: &Limits) -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(limits.max_message_bytes))
        .max_frame_size(Some(limits.max_message_bytes))
        .read_buffer_size(64 * 1024)
        .write_buffer_size(64 * 1024)
}

async fn handle_socket(
    mut stream: TcpStream,
    shared: Arc<Shared>,
    seq: u64,
    mut evicted: oneshot::Receiver<()>,
    shutdown: watch::Receiver<bool>,
) {
    // One deadline for the whole handshake, the look at a plain request included.
    let deadline = tokio::time::Instant::now() + shared.limits.handshake_timeout;
    let finished = tokio::select! {
        r = tokio::time::timeout_at(deadline, plain_http::answered(&mut stream, shared.port)) => {
            r.unwrap_or(true)
        }
        _ = &mut evicted => true,
    };
    if finished {
        shared.unregister_pending(seq);
        return;
    }
    let mut admitted: Option<handshake::Admitted> = None;
    let upgraded = {
        let callback = handshake::Gate {
            shared: &shared,
            admitted: &mut admitted,
        };
        let accept = tokio_tungstenite::accept_hdr_async_with_config(
            stream,
            callback,
            Some(ws_config(&shared.limits)),
        );
        tokio::select! {
            r = tokio::time::timeout_at(deadline, accept) => match r {
                Ok(Ok(ws)) => Some(ws),
                _ => None,
            },
            _ = evicted => None,
        }
    };
    shared.unregister_pending(seq);
    let (Some(ws), Some(admitted)) = (upgraded, admitted) else {
        return;
    };
    let handshake::Admitted { origin, permit } = admitted;
    tracing::debug!(%origin, "connection opened");
    connection::run(ws, origin, Arc::clone(&shared), shutdown).await;
    drop(permit);
}

/// Binds loopback listeners on the first usable port.
async fn bind_loopback(port: Option<u16>) -> Result<(u16, Vec<TcpListener>)> {
    let candidates: Vec<u16> = match port {
        None => std::iter::once(DEFAULT_PORT)
            .chain(FALLBACK_PORTS)
            .collect(),
        Some(0) => vec![0; 8],
        Some(p) => vec![p],
    };
    for candidate in &candidates {
        let v4 =
            match TcpListener::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), *candidate))
                .await
            {
                Ok(l) => l,
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
                Err(e) => {
                    return Err(Error::io(
                        format!("could not listen on 127.0.0.1:{candidate}"),
                        &e,
                    ))
                }
            };
        let actual = v4
            .local_addr()
            .map_err(|e| Error::io("could not read the listening address", &e))?
            .port();
        match TcpListener::bind(SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), actual)).await {
            Ok(v6) => return Ok((actual, vec![v4, v6])),
            // Someone else answers [::1] on this port: a browser resolving
            // `localhost` to ::1 would reach them, so treat the port as taken.
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
            Err(e) => {
                tracing::info!("not listening on [::1]:{actual}: {e}");
                return Ok((actual, vec![v4]));
            }
        }
    }
    let which = match port {
        None => format!(
            "ports {DEFAULT_PORT}-{} on 127.0.0.1 are all in use",
            FALLBACK_PORTS[FALLBACK_PORTS.len() - 1]
        ),
        Some(0) => "no free port on 127.0.0.1".to_string(),
        Some(p) => format!("port {p} on 127.0.0.1 is in use"),
    };
    Err(Error::new(Reason::IoError, format!("Mohor could not start its local server: {which}"))
        .with_hint("another copy of Mohor is probably running (look for its icon); quit it, or choose a port with --port"))
}
