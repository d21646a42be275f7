//! A request that asks for no WebSocket from this computer (a developer's
//! `curl`, the agent's address typed into a browser, a monitoring probe)
//! gets `426 Upgrade Required` instead of a connection closed without a
//! word: tungstenite fails such a request before Mohor's handshake callback
//! can answer it. Like the handshake's refusals the answer names nothing
//! (no product, no version, no body).
//!
//! A request a web page made gets no answer: a page's `fetch` of the port
//! that resolved on a 426 (rather than failing as on a closed port) would
//! tell any site that something listens there, which the handshake's
//! refusals are careful never to do. Browsers mark every request a page
//! makes with `Sec-Fetch-Site` (only one the person typed says `none`), a
//! cross-origin one with `Origin`, and a DNS-rebinding page's with its own
//! name as `Host`.

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The most of a request looked at; a longer head is left to the handshake.
const HEAD_LIMIT: usize = 8 * 1024;

const UPGRADE_REQUIRED: &[u8] = b"HTTP/1.1 426 Upgrade Required\r\n\
Upgrade: websocket\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

/// Looks at the first data on `stream` without consuming it; when it is a
/// whole HTTP request head from this computer (not a page) for the bound
/// `port` without `Upgrade: websocket`, answers 426 and returns true (the
/// caller closes). Anything else — an upgrade, a page's request, a head
/// split over several segments, not HTTP at all — is left untouched for
/// the handshake.
pub(super) async fn answered(stream: &mut TcpStream, port: u16) -> bool {
    let mut buf = vec![0u8; HEAD_LIMIT];
    let Ok(n) = stream.peek(&mut buf).await else {
        return false;
    };
    let Some(head_len) = plain_head(&buf[..n], port) else {
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

/// The length of the request head at the start of `data` when it is whole,
/// asks for no WebSocket and comes from this computer rather than a page:
/// what gets the 426. (The first `HEAD_LIMIT` bytes are looked at, as
/// [`answered`] peeks no more.)
pub(super) fn plain_head(data: &[u8], port: u16) -> Option<usize> {
    let data = &data[..data.len().min(HEAD_LIMIT)];
    let len = head_length(data)?;
    let headers = headers(&data[..len]);
    (!asks_for_websocket(&headers) && from_this_computer(&headers, port)).then_some(len)
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

/// The header lines of a head: (name in lower case, value trimmed).
fn headers(head: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(head)
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect()
}

fn values<'a>(headers: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a str> {
    headers
        .iter()
        .filter(move |(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn asks_for_websocket(headers: &[(String, String)]) -> bool {
    values(headers, "upgrade").any(|v| {
        v.split(',')
            .any(|v| v.trim().eq_ignore_ascii_case("websocket"))
    })
}

/// One `Host` naming a loopback address and the bound port (as the
/// handshake requires), no `Origin`, and no `Sec-Fetch-Site` but `none`.
fn from_this_computer(headers: &[(String, String)], port: u16) -> bool {
    let mut hosts = values(headers, "host");
    let one_loopback_host = matches!(
        (hosts.next(), hosts.next()),
        (Some(host), None) if super::origin::host_allowed(host, port)
    );
    one_loopback_host
        && values(headers, "origin").next().is_none()
        && values(headers, "sec-fetch-site").all(|v| v.eq_ignore_ascii_case("none"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PORT: u16 = 21760;

    fn plain(head: &str) -> bool {
        plain_head(head.as_bytes(), PORT) == Some(head.len())
    }

    #[test]
    fn only_whole_heads_without_a_websocket_upgrade_are_plain() {
        assert!(plain("GET / HTTP/1.1\r\nHost: 127.0.0.1:21760\r\n\r\n"));
        assert!(plain(
            "HEAD /x HTTP/1.1\r\nhost: [::1]:21760\r\nAccept: */*\r\n\r\n"
        ));
        for upgrade in [
            "GET / HTTP/1.1\r\nHost: localhost:21760\r\nConnection: Upgrade\r\nupgrade: WebSocket\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: localhost:21760\r\nUpgrade: h2c, websocket\r\n\r\n",
        ] {
            assert!(!plain(upgrade), "{upgrade:?}");
        }
        assert!(plain(
            "GET / HTTP/1.1\r\nHost: localhost:21760\r\nX-Upgrade: websocket\r\n\r\n"
        ));
        assert_eq!(
            head_length(b"GET / HTTP/1.1\r\nHost: x\r\n"),
            None,
            "split head"
        );
        // Found by the handshake fuzz target: httparse skips empty lines
        // before the request line, so they do not end the head.
        let late =
            "\r\n\r\n\nGET / HTTP/1.1\r\nHost: 127.0.0.1:21760\r\nUpgrade: websocket\r\n\r\n";
        assert_eq!(head_length(late.as_bytes()), Some(late.len()));
        assert!(!plain(late));
        assert_eq!(head_length(b"\r\n\r\n"), None, "nothing but empty lines");
    }

    #[test]
    fn what_a_page_sends_is_not_answered() {
        // Typed into the address bar: Sec-Fetch-Site none, no Origin.
        assert!(plain(
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:21760\r\nSec-Fetch-Site: none\r\nSec-Fetch-Mode: navigate\r\n\r\n"
        ));
        for page in [
            // fetch(..., {mode: "no-cors"}) from a site
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:21760\r\nSec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: no-cors\r\n\r\n",
            // a cross-origin request that carries its origin
            "POST / HTTP/1.1\r\nHost: 127.0.0.1:21760\r\nOrigin: https://evil.example\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:21760\r\nOrigin: null\r\n\r\n",
            // DNS rebinding: the page's own name, or no Host at all
            "GET / HTTP/1.1\r\nHost: evil.example:21760\r\n\r\n",
            "GET / HTTP/1.0\r\n\r\n",
            // another port, or two Host headers
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:21761\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:21760\r\nHost: evil.example\r\n\r\n",
        ] {
            assert!(!plain(page), "{page:?}");
        }
    }
}
