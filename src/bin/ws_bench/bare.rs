//! The floor under a WebSocket signature: the same messages over a loopback
//! WebSocket to a server that does only what moving the bytes needs — read
//! each upload chunk's JSON and decode its base64 (then drop it), and hand
//! out a signed file's answer text in the same pieces — with no files, no
//! token and no signature. `ws-bench` runs its client against this server
//! and against `mohor serve`, so the difference is Mohor's own work.

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

/// Starts a one-connection server on 127.0.0.1 and returns its port. The
/// download is `answer` (a `result`'s JSON text), `chunk` bytes a piece.
pub async fn start(answer: String, chunk: usize) -> Result<u16, String> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    tokio::spawn(async move {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let config = WebSocketConfig::default()
            .max_message_size(Some(16 << 20))
            .max_frame_size(Some(16 << 20));
        if let Ok(ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await {
            serve(ws, &answer, chunk).await;
        }
    });
    Ok(port)
}

async fn serve(
    mut ws: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    answer: &str,
    chunk: usize,
) {
    while let Some(Ok(msg)) = ws.next().await {
        let Message::Text(text) = msg else { continue };
        let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
            return;
        };
        let p = &v["params"];
        let reply = match v["method"].as_str() {
            Some("upload.begin") => result(&v, &json!({"uploadId": "u1", "chunkSize": chunk})),
            Some("upload.chunk") => {
                let data = p["data"].as_str().unwrap_or_default();
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .map_or(0, |b| b.len() as u64);
                let received = p["offset"].as_u64().unwrap_or(0) + decoded;
                result(&v, &json!({ "received": received }))
            }
            Some("download.read") => {
                let from = usize::try_from(p["offset"].as_u64().unwrap_or(0)).unwrap_or(0);
                let from = from.min(answer.len());
                let to = (from + chunk).min(answer.len());
                // The piece's text escaped once into the message, as Mohor
                // builds it (not through a JSON value and a second copy).
                let text = serde_json::to_string(&answer[from..to]).unwrap_or_default();
                format!(
                    "{{\"jsonrpc\":\"2.0\",\"id\":{},\"result\":{{\"text\":{text},\"next\":{to},\"done\":{}}}}}",
                    v["id"],
                    to == answer.len()
                )
            }
            _ => result(&v, &json!({})),
        };
        if ws.send(Message::text(reply)).await.is_err() {
            return;
        }
    }
}

fn result(request: &Value, result: &Value) -> String {
    json!({"jsonrpc": "2.0", "id": request["id"], "result": result}).to_string()
}
