//! Who may open a connection: Origin and Host rules, checked before the
//! upgrade; refusals are a bare 403 that reveals nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

#[path = "ws_support.rs"]
mod support;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use mohor::server::{Backend, Limits, Server, ServerConfig};
use support::*;

/// (Origin header, accepted?) against the allow-list of `test_config`:
/// `https://eoffice.gov.in`, `https://*.example.gov.in`,
/// `https://portal.example.gov.in:8443`, `http://127.0.0.1:8765`.
const ORIGIN_TABLE: &[(Option<&str>, bool)] = &[
    (Some("https://eoffice.gov.in"), true),
    (Some("https://eoffice.gov.in:443"), true),
    (Some("https://dept.example.gov.in"), true),
    (Some("https://portal.example.gov.in:8443"), true),
    (Some("http://127.0.0.1:8765"), true),
    // lookalikes
    (Some("https://eoffice.gov.in.evil.example"), false),
    (Some("https://evil-eoffice.gov.in"), false),
    (Some("https://eoffice.gov.in:8443"), false),
    (Some("https://example.gov.in"), false),
    (Some("https://a.b.example.gov.in"), false),
    (Some("https://evilexample.gov.in"), false),
    // odd forms no browser sends
    (Some("null"), false),
    (None, false),
    (Some(""), false),
    (Some("https://EOFFICE.GOV.IN"), false),
    (Some("https://eoffice.gov.in."), false),
    (Some("https://user@eoffice.gov.in"), false),
    (Some("https://eoffice.gov.in/"), false),
    (Some("https://eoffice.gov.in/login"), false),
    (Some("file://"), false),
    // plain http outside loopback, and loopback not listed
    (Some("http://eoffice.gov.in"), false),
    (Some("http://dept.example.gov.in"), false),
    (Some("http://127.0.0.1:8766"), false),
    (Some("http://localhost:8765"), false),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_origin_table() -> TestResult {
    let mut config = test_config(limits());
    config.ask_unknown_sites = false;
    let server = start_with(config, Arc::new(FakeBackend::default())).await?;
    let host = format!("127.0.0.1:{}", server.port);
    for (origin, accepted) in ORIGIN_TABLE {
        let (status, response) = raw_handshake(server.port, Some(&host), *origin).await?;
        if *accepted {
            assert_eq!(status, 101, "{origin:?} must be accepted: {response}");
        } else {
            assert_eq!(status, 403, "{origin:?} must be refused: {response}");
            assert_bare_refusal(&response);
        }
    }
    Ok(())
}

fn assert_bare_refusal(response: &str) {
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((response, ""));
    assert!(body.is_empty(), "a refusal has no body: {response:?}");
    let lower = head.to_ascii_lowercase();
    assert!(!lower.contains("mohor"), "no product name: {head}");
    assert!(!lower.contains("server:"), "no Server header: {head}");
    assert!(
        !lower.contains(env!("CARGO_PKG_VERSION")),
        "no version: {head}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_must_be_loopback_with_the_bound_port() -> TestResult {
    let server = start(limits()).await?;
    let p = server.port;
    for host in [
        format!("127.0.0.1:{p}"),
        format!("localhost:{p}"),
        format!("[::1]:{p}"),
    ] {
        let (status, _) = raw_handshake(p, Some(&host), Some(GOOD_ORIGIN)).await?;
        assert_eq!(status, 101, "{host}");
    }
    for host in [
        Some(format!("evil.example:{p}")),
        Some(format!("127.0.0.1:{}", p.wrapping_add(1))),
        Some("127.0.0.1".to_string()),
        Some(format!("mohor.rebind.example:{p}")),
        Some(format!("0.0.0.0:{p}")),
        None,
    ] {
        let (status, response) = raw_handshake(p, host.as_deref(), Some(GOOD_ORIGIN)).await?;
        assert_eq!(status, 403, "{host:?}");
        assert_bare_refusal(&response);
    }
    Ok(())
}

/// A request from this computer that asks for no WebSocket — `curl`, the
/// agent's address typed into a browser, a monitoring probe — gets `426
/// Upgrade Required` naming nothing (it was a connection closed without a
/// word), and the agent goes on serving pages. What a web page can send
/// (a `fetch` marked `Sec-Fetch-Site: cross-site`, a request with an
/// `Origin`, a DNS-rebinding page's own `Host`) gets no answer at all, as
/// before: a page that could tell a 426 from a closed port would learn that
/// something listens there (found by a review).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_http_request_is_told_to_upgrade_and_learns_nothing_else() -> TestResult {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let server = start(limits()).await?;
    let p = server.port;
    let answer_to = |request: String| async move {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", p)).await?;
        s.write_all(request.as_bytes()).await?;
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut answer)).await??;
        Ok::<_, Box<dyn std::error::Error>>(String::from_utf8_lossy(&answer).to_string())
    };
    for request in [
        format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nAccept: */*\r\n\r\n"),
        format!("HEAD /status HTTP/1.1\r\nHost: localhost:{p}\r\n\r\n"),
        format!(
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nSec-Fetch-Site: none\r\nSec-Fetch-Mode: navigate\r\n\r\n"
        ),
    ] {
        let text = answer_to(request.clone()).await?;
        assert!(text.starts_with("HTTP/1.1 426 "), "{request:?}: {text:?}");
        assert!(
            text.to_ascii_lowercase()
                .contains("\r\nupgrade: websocket\r\n"),
            "{text:?}"
        );
        assert_bare_refusal(&text);
    }
    for request in [
        format!(
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nSec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: no-cors\r\n\r\n"
        ),
        format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nOrigin: https://evil.example\r\n\r\n"),
        format!("GET / HTTP/1.1\r\nHost: evil.example:{p}\r\n\r\n"),
        "GET / HTTP/1.0\r\n\r\n".to_string(),
    ] {
        let text = answer_to(request.clone()).await?;
        assert_eq!(text, "", "a page's request was answered: {request:?}");
    }
    let mut ws = connect(p, Some(GOOD_ORIGIN)).await?;
    hello_ok(&mut ws).await?;
    Ok(())
}

/// Empty lines before the request line do not make an upgrade request
/// "plain": the handshake's parser skips them (RFC 9112 §2.2), so the
/// 426 look must too, or it would turn away a client the handshake admits.
/// (Found by the `handshake` fuzz target.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_request_after_empty_lines_is_admitted_not_told_to_upgrade() -> TestResult {
    let server = start(limits()).await?;
    let p = server.port;
    let upgrade = format!(
        "\r\n\r\nGET / HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nOrigin: {GOOD_ORIGIN}\r\n\
         Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    let (status, response) = raw_request(p, &upgrade).await?;
    assert_eq!(status, 101, "{response:?}");
    // And a plain request after empty lines is still told to upgrade.
    let plain = format!("\r\n\r\nGET / HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\n\r\n");
    let (status, response) = raw_request(p, &plain).await?;
    assert_eq!(status, 426, "{response:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_page_is_served_over_websocket() -> TestResult {
    let server = start(limits()).await?;
    let mut ws = connect(server.port, Some("https://dept.example.gov.in")).await?;
    hello_ok(&mut ws).await?;
    assert!(connect(server.port, Some("https://evil.example"))
        .await
        .is_err());
    assert!(connect(server.port, None).await.is_err());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_https_site_is_offered_to_the_person_at_most_once_per_interval() -> TestResult {
    let backend = Arc::new(FakeBackend::default());
    backend.allow_when_asked.store(false, Ordering::SeqCst);
    let server = start_with(test_config(limits()), backend.clone()).await?;
    let host = format!("127.0.0.1:{}", server.port);
    let unknown = "https://new-portal.gov.in";

    // Refused at once (the page cannot wait for a person), and asked in the background.
    let (status, _) = raw_handshake(server.port, Some(&host), Some(unknown)).await?;
    assert_eq!(status, 403);
    assert!(eventually(|| backend.asked.lock().is_ok_and(|a| !a.is_empty())).await);
    assert_eq!(
        *backend.asked.lock().map_err(|_| "poisoned")?,
        vec![unknown.to_string()]
    );

    // Retrying (or a page hammering) does not ask again within the interval.
    for _ in 0..5 {
        let (status, _) = raw_handshake(server.port, Some(&host), Some(unknown)).await?;
        assert_eq!(status, 403);
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(backend.asked.lock().map_err(|_| "poisoned")?.len(), 1);

    // Plain http and malformed origins are never offered.
    for o in ["http://new-portal.gov.in", "https://NEW.gov.in", "null"] {
        let _ = raw_handshake(server.port, Some(&host), Some(o)).await?;
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(backend.asked.lock().map_err(|_| "poisoned")?.len(), 1);
    Ok(())
}

/// A question the backend's own limit kept off the screen (three a minute:
/// throwaway subdomains can use them up) does not count as asked: the real
/// portal's next visit offers it, instead of 10 minutes of silence for a
/// question nobody saw (found by a review).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_the_backend_did_not_show_is_offered_again_at_its_next_visit() -> TestResult {
    let backend = Arc::new(FakeBackend::default());
    backend.allow_when_asked.store(true, Ordering::SeqCst);
    backend.not_shown.store(1, Ordering::SeqCst);
    let server = start_with(test_config(limits()), backend.clone()).await?;
    let host = format!("127.0.0.1:{}", server.port);
    let portal = "https://new-portal.gov.in";
    let (status, _) = raw_handshake(server.port, Some(&host), Some(portal)).await?;
    assert_eq!(status, 403);
    assert!(eventually(|| backend.not_shown.load(Ordering::SeqCst) == 0).await);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(backend.asked.lock().map_err(|_| "poisoned")?.is_empty());
    // The next visit is offered, the person says yes, and the one after connects.
    let (status, _) = raw_handshake(server.port, Some(&host), Some(portal)).await?;
    assert_eq!(status, 403);
    assert!(eventually(|| backend.is_trusted_site(portal)).await);
    let mut ws = connect(server.port, Some(portal)).await?;
    hello_ok(&mut ws).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_the_person_trusts_a_site_its_next_connection_is_accepted() -> TestResult {
    let backend = Arc::new(FakeBackend::default());
    backend.allow_when_asked.store(true, Ordering::SeqCst);
    let server = start_with(test_config(limits()), backend.clone()).await?;
    let site = "https://trusted-later.gov.in";
    assert!(connect(server.port, Some(site)).await.is_err());
    assert!(eventually(|| backend.is_trusted_site(site)).await);
    let mut ws = connect(server.port, Some(site)).await?;
    hello_ok(&mut ws).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_one_trust_prompt_at_a_time() -> TestResult {
    let backend = Arc::new(FakeBackend::default());
    // Long enough that all five handshakes come while the first is asked,
    // even on a loaded machine.
    backend.ask_delay_ms.store(5000, Ordering::SeqCst);
    let server = start_with(test_config(limits()), backend.clone()).await?;
    let host = format!("127.0.0.1:{}", server.port);
    for i in 0..5 {
        let origin = format!("https://site{i}.gov.in");
        let _ = raw_handshake(server.port, Some(&host), Some(&origin)).await?;
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(backend.asked.lock().map_err(|_| "poisoned")?.len(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_are_refused_until_one_closes() -> TestResult {
    let server = start(Limits {
        max_connections: 3,
        ..limits()
    })
    .await?;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(connect(server.port, Some(GOOD_ORIGIN)).await?);
    }
    let host = format!("127.0.0.1:{}", server.port);
    let (status, response) = raw_handshake(server.port, Some(&host), Some(GOOD_ORIGIN)).await?;
    assert_eq!(status, 503);
    assert_bare_refusal(&response);
    if let Some(mut first) = open.pop() {
        first.close(None).await?;
        drop(first);
    }
    // The server frees the slot when it sees the close; until then a new
    // connection may still be refused, so ask again for a while.
    let mut ws = None;
    for _ in 0..100 {
        if let Ok(c) = connect(server.port, Some(GOOD_ORIGIN)).await {
            ws = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut ws = ws.ok_or("the closed connection's slot was never given back")?;
    hello_ok(&mut ws).await?;
    for ws in &mut open {
        hello_ok(ws).await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_allow_list_entry_is_refused_when_binding() -> TestResult {
    for entry in [
        "http://eoffice.gov.in",
        "https://*",
        "eoffice.gov.in",
        "https://a.gov.in/path",
    ] {
        let config = ServerConfig {
            port: Some(0),
            allowed_origins: vec![entry.into()],
            ..ServerConfig::default()
        };
        let r = Server::bind(config, Arc::new(FakeBackend::default())).await;
        match r {
            Ok(_) => panic!("{entry} accepted"),
            Err(e) => {
                assert_eq!(e.reason, mohor::Reason::InvalidRequest);
                assert!(e.message.contains(entry), "{}", e.message);
            }
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_port_is_a_clear_error_and_never_another_address() -> TestResult {
    let squatter = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = squatter.local_addr()?.port();
    let config = ServerConfig {
        port: Some(port),
        ..ServerConfig::default()
    };
    match Server::bind(config, Arc::new(FakeBackend::default())).await {
        Ok(_) => panic!("bound a taken port"),
        Err(e) => {
            assert_eq!(e.reason, mohor::Reason::IoError);
            assert!(e.message.contains(&port.to_string()), "{}", e.message);
            assert!(!e.hint.is_empty());
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_listens_on_loopback_only() -> TestResult {
    let bound = Server::bind(test_config(limits()), Arc::new(FakeBackend::default())).await?;
    let addrs = bound.local_addrs();
    assert!(!addrs.is_empty());
    for a in &addrs {
        assert!(a.ip().is_loopback(), "{a}");
        assert_eq!(a.port(), bound.port());
    }
    Ok(())
}

/// The default ports: 21760 first, then 21761-21763, then a clear error. Other
/// programs may hold some of these ports; the test only takes free ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_ports_fall_back_in_order_then_fail_clearly() -> TestResult {
    let mut held = Vec::new();
    for p in [21760u16, 21761, 21762, 21763] {
        if let Ok(l) = std::net::TcpListener::bind(("127.0.0.1", p)) {
            held.push((p, l));
        }
    }
    let r = Server::bind(ServerConfig::default(), Arc::new(FakeBackend::default())).await;
    match r {
        Ok(b) => panic!("bound {} although all default ports are taken", b.port()),
        Err(e) => assert!(
            e.message.contains("21760") && e.message.contains("21763"),
            "{}",
            e.message
        ),
    }
    // Free the last one we hold: the server must take it (or an earlier one freed by others).
    if let Some((p, l)) = held.pop() {
        drop(l);
        let b = Server::bind(ServerConfig::default(), Arc::new(FakeBackend::default())).await?;
        assert!(b.port() <= p && b.port() >= 21760, "{} vs {p}", b.port());
    }
    Ok(())
}
