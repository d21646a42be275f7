//! A request that asks for no WebSocket (a developer's `curl`, a browser
//! tab opened on the agent's address, a monitoring probe) gets `426 Upgrade
//! Required` instead of a connection closed without a word: tungstenite
//! fails such a request before Mohor's handshake callback can answer it.
//! Like the handshake's refusals the answer names nothing (no product, no
//! version, no body).

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The most of a request looked at; a longer head is left to the handshake.
const HEAD_LIMIT: usize = 8 * 1024;

const UPGRADE_REQUIRED: &[u8] = b"HTTP/1.1 426 Upgrade Required\r\n\
Upgrade: websocket\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

/// Looks at the first data on `stream` without consuming it; when it is a
/// whole HTTP request head without `Upgrade: websocket`, answers 426 and
/// returns true (the caller closes). Anything else — an upgrade, a head
/// split over several segments, not HTTP at all — is left untouched for
/// the handshake.
pub(super) async fn answered(stream: &mut TcpStream) -> bool {
    let mut buf = vec![0u8; HEAD_LIMIT];
    let Ok(n) = stream.peek(&mut buf).await else {
        return false;
    };
    let Some(head_len) = plain_head(&buf[..n]) else {
        return false;
    };
    // Consume the head before answering, so that closing does not reset
    // the connection under an answer the client has yet to read.
    if stream.read_exact(&mut buf[..head_len]).await.is_err() {
        return true;
    }
    let _ = stream.write_all(UPGRADE_REQUIRED).await;
    let _ = stream.shutdown().await;
    true
}

/// The length of the request head at the start of `data` when it is whole
/// and asks for no WebSocket: what gets the 426. (The first `HEAD_LIMIT`
/// bytes are looked at, as [`answered`] peeks no more.)
pub(super) fn plain_head(data: &[u8]) -> Option<usize> {
    let data = &data[..data.len().min(HEAD_LIMIT)];
    head_length(data).filter(|&len| !asks_for_websocket(&data[..len]))
}

/// The length of the request head (through its blank line) when `data`
/// holds all of it. Empty lines before the request line belong to it: the
/// handshake's parser (httparse) skips them, as RFC 9112 §2.2 allows, so
/// a blank line there does not end a head.
fn head_length(data: &[u8]) -> Option<usize> {
    let start = leading_empty_lines(data);
    data[start..]
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| start + at + 4)
}

/// How many bytes of CRLF and bare LF line ends `data` starts with.
fn leading_empty_lines(data: &[u8]) -> usize {
    let mut at = 0;
    loop {
        match &data[at..] {
            [b'\r', b'\n', ..] => at += 2,
            [b'\n', ..] => at += 1,
            _ => return at,
        }
    }
}

fn asks_for_websocket(head: &[u8]) -> bool {
    String::from_utf8_lossy(head).lines().any(|line| {
        let Some((name, value)) = line.split_once(':') else {
            return false;
        };
        name.trim().eq_ignore_ascii_case("upgrade")
            && value
                .split(',')
                .any(|v| v.trim().eq_ignore_ascii_case("websocket"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_heads_without_a_websocket_upgrade_are_plain() {
        let plain = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:21760\r\n\r\n";
        assert_eq!(head_length(plain), Some(plain.len()));
        assert!(!asks_for_websocket(plain));
        let upgrade =
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nupgrade: WebSocket\r\n\r\n";
        assert!(asks_for_websocket(upgrade));
        assert!(asks_for_websocket(
            b"GET / HTTP/1.1\r\nUpgrade: h2c, websocket\r\n\r\n"
        ));
        assert!(!asks_for_websocket(
            b"GET / HTTP/1.1\r\nX-Upgrade: websocket\r\n\r\n"
        ));
        assert_eq!(
            head_length(b"GET / HTTP/1.1\r\nHost: x\r\n"),
            None,
            "split head"
        );
        // Found by the handshake fuzz target: httparse skips empty lines
        // before the request line, so they do not end the head.
        let late = b"\r\n\r\n\nGET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n";
        assert_eq!(head_length(late), Some(late.len()));
        assert!(plain_head(late).is_none());
        assert_eq!(head_length(b"\r\n\r\n"), None, "nothing but empty lines");
    }
}
