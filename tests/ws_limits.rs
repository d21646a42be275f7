//! Abuse a local process (or a buggy page) could try, and that the server
//! survives while a good client keeps being served.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

#[path = "ws_support.rs"]
mod support;

use std::time::{Duration, Instant};

use futures_util::SinkExt;
use mohor::server::Limits;
use serde_json::{json, Value};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

#[test]
fn the_default_limits_are_the_documented_ones() {
    let l = Limits::default();
    assert_eq!(l.max_message_bytes, 16 << 20);
    assert_eq!(l.max_connections, 64);
    assert_eq!(l.handshake_timeout, Duration::from_secs(5));
    assert_eq!(l.max_in_flight_per_connection, 4);
    assert!(l.max_upload_bytes >= 200_000_000);
    assert_eq!(l.upload_idle_timeout, Duration::from_secs(120));
}

/// A frame header announcing 2 GB, then a little payload: the server must
/// answer with close 1009 (not a reset), and keep serving others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2gb_declared_message_gets_close_1009_and_the_server_keeps_serving() -> TestResult {
    let server = start(limits()).await?;
    let mut good = connect(server.port, Some(GOOD_ORIGIN)).await?;
    hello_ok(&mut good).await?;

    let mut bad = connect(server.port, Some(GOOD_ORIGIN)).await?;
    let len: u64 = 2 << 30;
    let mut frame = vec![0x81u8, 0x80 | 127];
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&[1, 2, 3, 4]); // mask key
    frame.extend_from_slice(&[b'x'; 4096]);
    bad.get_mut().write_all(&frame).await?;
    assert_eq!(expect_close(&mut bad).await?, 1009);

    hello_ok(&mut good).await?;
    let mut again = connect(server.port, Some(GOOD_ORIGIN)).await?;
    hello_ok(&mut again).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_message_over_the_limit_gets_close_1009() -> TestResult {
    let server = start(Limits {
        max_message_bytes: 1 << 20,
        ..limits()
    })
    .await?;
    let mut ws = connect(server.port, Some(GOOD_ORIGIN)).await?;
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"sign.data","params":{{"data":"{}"}}}}"#,
        "A".repeat(2 << 20)
    );
    // The server may close before all of it is written; either way we must read 1009.
    let _ = ws.send(Message::text(big)).await;
    assert_eq!(expect_close(&mut ws).await?, 1009);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binary_frame_gets_close_1003() -> TestResult {
    let server = start(limits()).await?;
    let mut ws = connect(server.port, Some(GOOD_ORIGIN)).await?;
    ws.send(Message::binary(vec![1u8, 2, 3])).await?;
    assert_eq!(expect_close(&mut ws).await?, 1003);
    Ok(())
}

/// 200 sockets that connect and say nothing (or half a request) must not
/// lock a good client out: the oldest unfinished handshakes are dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_idle_connections_do_not_lock_out_a_good_client() -> TestResult {
    let server = start(limits()).await?;
    let mut early = connect(server.port, Some(GOOD_ORIGIN)).await?;
    let mut idle = Vec::new();
    for i in 0..200 {
        let mut s = TcpStream::connect(("127.0.0.1", server.port)).await?;
        if i % 2 == 0 {
            s.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                .await?;
        }
        idle.push(s);
    }
    // Idle upgraded connections too (well below the connection limit).
    let mut upgraded = Vec::new();
    for _ in 0..20 {
        upgraded.push(connect(server.port, Some(GOOD_ORIGIN)).await?);
    }
    hello_ok(&mut early).await?;
    let started = Instant::now();
    let mut late = connect(server.port, Some(GOOD_ORIGIN)).await?;
    for i in 0..20 {
        let r = rpc(
            &mut late,
            json!(i),
            "sign.data",
            json!({"data": b64(b"hi")}),
        )
        .await?;
        assert!(r["result"]["signature"].is_string(), "{r}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    hello_ok(&mut early).await?;
    drop(idle);
    drop(upgraded);
    Ok(())
}

/// A client trickling its handshake one byte at a time is cut off at the
/// handshake timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowloris_handshake_times_out() -> TestResult {
    let server = start(Limits {
        handshake_timeout: Duration::from_secs(1),
        ..limits()
    })
    .await?;
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).await?;
    let started = Instant::now();
    let request = format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nOrigin: {GOOD_ORIGIN}\r\nX-Slow: {}",
        server.port,
        "a".repeat(100)
    );
    let mut closed = false;
    for b in request.bytes() {
        if s.write_all(&[b]).await.is_err() {
            closed = true;
            break;
        }
        // Has the server hung up?
        let mut probe = [0u8; 16];
        if let Ok(r) = tokio::time::timeout(Duration::from_millis(100), s.read(&mut probe)).await {
            if matches!(r, Ok(0) | Err(_)) {
                closed = true;
                break;
            }
        }
    }
    assert!(closed, "the server kept a trickling handshake open");
    let took = started.elapsed();
    assert!(
        // The trickle alone would last about 17 s; under 8 s is the cut.
        took >= Duration::from_millis(900) && took < Duration::from_secs(8),
        "{took:?}"
    );
    // And a good client is still served.
    let mut ws = connect(server.port, Some(GOOD_ORIGIN)).await?;
    hello_ok(&mut ws).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_is_closed_normally() -> TestResult {
    let server = start(Limits {
        // Room for the hello on a loaded machine before the connection is idle.
        idle_timeout: Duration::from_millis(2000),
        ..limits()
    })
    .await?;
    let mut ws = connect(server.port, Some(GOOD_ORIGIN)).await?;
    hello_ok(&mut ws).await?;
    assert_eq!(expect_close(&mut ws).await?, 1000);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_waiting_for_the_backend_is_not_idle() -> TestResult {
    let server = start(Limits {
        idle_timeout: Duration::from_millis(1000),
        ..limits()
    })
    .await?;
    let mut ws = connect(server.port, Some(GOOD_ORIGIN)).await?;
    send_slow(&mut ws, 1).await?;
    let p = recv(&mut ws).await?;
    assert_eq!(p["params"]["stage"], json!("waiting-for-consent"));
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let r = rpc(&mut ws, json!(2), "cancel", json!({"id": 1})).await?;
    assert_eq!(r["error"]["data"]["reason"], json!("USER_CANCELLED"), "{r}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_requests_in_flight_are_answered_busy() -> TestResult {
    let server = start(Limits {
        max_in_flight_per_connection: 2,
        ..limits()
    })
    .await?;
    let mut ws = connect(server.port, Some(GOOD_ORIGIN)).await?;
    for id in [1, 2] {
        send_slow(&mut ws, id).await?;
    }
    let r = rpc(&mut ws, json!(3), "sign.data", json!({"data": b64(b"x")})).await?;
    assert_eq!(r["id"], json!(3));
    assert_eq!(r["error"]["code"], json!(-32000));
    assert_eq!(r["error"]["data"]["reason"], json!("BUSY"));
    // hello is answered by the server itself and is never busy.
    hello_ok(&mut ws).await?;
    // Another connection has its own budget.
    let mut other = connect(server.port, Some(GOOD_ORIGIN)).await?;
    let r = rpc(
        &mut other,
        json!(1),
        "sign.data",
        json!({"data": b64(b"x")}),
    )
    .await?;
    assert!(r["result"].is_object(), "{r}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_over_its_time_is_answered_timeout_and_cancelled() -> TestResult {
    let server = start(Limits {
        request_timeout: Duration::from_millis(300),
        ..limits()
    })
    .await?;
    let mut ws = connect(server.port, Some(GOOD_ORIGIN)).await?;
    let r = rpc(
        &mut ws,
        json!(1),
        "sign.data",
        json!({"data": b64(b"slow")}),
    )
    .await?;
    assert_eq!(r["error"]["data"]["reason"], json!("TIMEOUT"), "{r}");
    assert!(
        eventually(|| server
            .backend
            .saw_cancel
            .load(std::sync::atomic::Ordering::SeqCst)
            == 1)
        .await
    );
    Ok(())
}

/// The server-wide cap on held documents: reserved at `upload.begin`, before
/// any byte is written, across connections; freed when an upload goes.
/// Begins an upload of `size` bytes, again every 50 ms for 5 s until the
/// server takes it: a closed connection gives its bytes back once the
/// server has seen it go. Whether it was taken.
async fn begin_once_given_back(ws: &mut Ws, size: u64) -> Result<bool, Box<dyn std::error::Error>> {
    let params = json!({"size": size, "sha256": "00".repeat(32)});
    for n in 0..100 {
        let r = rpc(
            ws,
            json!(format!("retry-{n}")),
            "upload.begin",
            params.clone(),
        )
        .await?;
        if r["result"]["uploadId"].is_string() {
            return Ok(true);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spool_cap_holds_across_connections_and_the_server_keeps_serving() -> TestResult {
    let server = start(Limits {
        max_spool_bytes_total: 3 << 20,
        ..limits()
    })
    .await?;
    let sha = "00".repeat(32);
    let begin = |size: u64| json!({"size": size, "sha256": sha});
    let mut first = connect(server.port, Some(GOOD_ORIGIN)).await?;
    let mut second = connect(server.port, Some(GOOD_ORIGIN)).await?;

    let r = rpc(&mut first, json!(1), "upload.begin", begin(2 << 20)).await?;
    let held = r["result"]["uploadId"].clone();
    assert!(held.is_string(), "{r}");
    let r = rpc(&mut second, json!(1), "upload.begin", begin(2 << 20)).await?;
    assert_eq!(r["error"]["data"]["reason"], json!("TOO_LARGE"), "{r}");
    // What still fits is accepted; the refused connection is not closed.
    let r = rpc(&mut second, json!(2), "upload.begin", begin(1 << 20)).await?;
    assert!(r["result"]["uploadId"].is_string(), "{r}");
    hello_ok(&mut second).await?;

    // Cancelling the first upload gives its bytes back.
    let r = rpc(
        &mut first,
        json!(2),
        "upload.cancel",
        json!({"uploadId": held}),
    )
    .await?;
    assert_eq!(r["result"], json!({}), "{r}");
    let r = rpc(&mut second, json!(3), "upload.begin", begin(2 << 20)).await?;
    assert!(r["result"]["uploadId"].is_string(), "{r}");

    // A closed connection gives back everything it held.
    drop(second);
    let mut third = connect(server.port, Some(GOOD_ORIGIN)).await?;
    let freed = begin_once_given_back(&mut third, 3 << 20).await?;
    assert!(freed, "the closed connection's uploads still count");
    hello_ok(&mut first).await
}

/// One site cannot hold the whole cap with uploads it keeps alive (a byte
/// now and then, or begun again before they expire): its uploads, over all
/// its connections, hold at most its share — half the cap, or the largest
/// upload where that is more — and other sites get the rest. Before, one
/// allowed page that trickled its uploads had every other page told
/// `TOO_LARGE` until it stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_site_s_uploads_leave_the_rest_of_the_cap_to_other_sites() -> TestResult {
    let server = start(Limits {
        max_spool_bytes_total: 4 << 20,
        max_upload_bytes: 2 << 20,
        ..limits()
    })
    .await?;
    let sha = "00".repeat(32);
    let begin = |size: u64| json!({"size": size, "sha256": sha});
    let mut hog = connect(server.port, Some(GOOD_ORIGIN)).await?;
    let mut hog_again = connect(server.port, Some(GOOD_ORIGIN)).await?;
    let mut other = connect(server.port, Some("https://a.example.gov.in")).await?;

    let r = rpc(&mut hog, json!(1), "upload.begin", begin(1 << 20)).await?;
    assert!(r["result"]["uploadId"].is_string(), "{r}");
    let r = rpc(&mut hog_again, json!(1), "upload.begin", begin(1 << 20)).await?;
    assert!(r["result"]["uploadId"].is_string(), "{r}");
    // The site's share (2 MiB) is full across its two connections.
    let r = rpc(&mut hog_again, json!(2), "upload.begin", begin(1 << 20)).await?;
    assert_eq!(r["error"]["data"]["reason"], json!("TOO_LARGE"), "{r}");
    let message = r["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("this site"), "{r}");
    // Another site still has the other half, whole.
    let r = rpc(&mut other, json!(1), "upload.begin", begin(2 << 20)).await?;
    assert!(r["result"]["uploadId"].is_string(), "{r}");
    hello_ok(&mut hog).await?;

    // A closed connection gives its part of the share back.
    drop(hog);
    let freed = begin_once_given_back(&mut hog_again, 1 << 20).await?;
    assert!(
        freed,
        "the closed connection's upload still counts for its site"
    );
    hello_ok(&mut other).await
}

/// A document sent inline is held until its answer (in memory, and copied
/// into the request's folder): it counts twice against the same cap as
/// uploads, across connections, and is given back when the request ends.
/// Before, 128 waiting requests of 12 MB each held 2 GB of memory and
/// 1.5 GB of disk outside every limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_documents_of_requests_under_way_count_against_the_cap() -> TestResult {
    let server = start(Limits {
        max_spool_bytes_total: 3 << 20,
        ..limits()
    })
    .await?;
    let mut slow = b"slow".to_vec();
    slow.resize(1 << 20, b'.');
    let mib = vec![b'x'; 1 << 20];
    let mut first = connect(server.port, Some(GOOD_ORIGIN)).await?;
    let mut second = connect(server.port, Some(GOOD_ORIGIN)).await?;
    send(
        &mut first,
        json!({"jsonrpc":"2.0","id":1,"method":"sign.data","params":{"data": b64(&slow)}}),
    )
    .await?;
    // Its first progress report means the server holds its document (the
    // reservation comes before the backend sees it). Without this wait the
    // second connection's request could overtake it (as in one CI run).
    let under_way = recv(&mut first).await?;
    assert_eq!(under_way["method"], json!("progress"), "{under_way}");
    let r = rpc(
        &mut second,
        json!(1),
        "sign.data",
        json!({"data": b64(&mib)}),
    )
    .await?;
    assert_eq!(r["error"]["data"]["reason"], json!("TOO_LARGE"), "{r}");
    let r = rpc(
        &mut second,
        json!(2),
        "sign.data",
        json!({"data": b64(b"x")}),
    )
    .await?;
    assert!(r["result"].is_object(), "{r}");

    // The first request cancelled: its document's bytes come back.
    send(
        &mut first,
        json!({"jsonrpc":"2.0","id":2,"method":"cancel","params":{"id": 1}}),
    )
    .await?;
    let mut freed = false;
    for n in 0..100 {
        let r = rpc(
            &mut second,
            json!(10 + n),
            "sign.data",
            json!({"data": b64(&mib)}),
        )
        .await?;
        if r["result"].is_object() {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(freed, "the cancelled request's document still counts");
    hello_ok(&mut second).await
}

/// A page that keeps its connection alive cannot hold the server-wide cap
/// with an upload it never finishes or never uses: an upload idle for
/// `upload_idle_timeout` is discarded and its bytes given back, while one
/// whose chunks keep coming lives as long as it needs. A late chunk or
/// cancel is told why its id is gone. Before, the reservation lived as
/// long as the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_left_idle_gives_its_bytes_back_while_a_steady_one_lives() -> TestResult {
    use sha2::Digest as _;
    let idle = Duration::from_millis(2000);
    let server = start(Limits {
        max_spool_bytes_total: 3 << 20,
        upload_idle_timeout: idle,
        ..limits()
    })
    .await?;
    let document = vec![b'%'; 2 << 20];
    let sha = hex::encode(sha2::Sha256::digest(&document));
    let mut page = connect(server.port, Some(GOOD_ORIGIN)).await?;
    let mut other = connect(server.port, Some(GOOD_ORIGIN)).await?;

    // Eight pieces, one every 600 ms: 4.8 s in all, over twice the idle limit
    // (which leaves 1.4 s for each piece on a loaded machine).
    let r = rpc(
        &mut page,
        json!(1),
        "upload.begin",
        json!({"size": document.len(), "sha256": sha}),
    )
    .await?;
    let upload = r["result"]["uploadId"].clone();
    let started = Instant::now();
    let mut last = Value::Null;
    for (i, piece) in document.chunks(256 << 10).enumerate() {
        tokio::time::sleep(Duration::from_millis(600)).await;
        let offset = i * (256 << 10);
        last = rpc(
            &mut page,
            json!(10 + i),
            "upload.chunk",
            json!({"uploadId": upload, "offset": offset, "data": b64(piece)}),
        )
        .await?;
        assert_eq!(
            last["result"]["received"],
            json!(offset + piece.len()),
            "{last}"
        );
    }
    assert!(started.elapsed() > 2 * idle);
    assert_eq!(last["result"]["complete"], json!(true), "{last}");

    // Complete but never used: held for now, so a second page is refused...
    let r = rpc(
        &mut other,
        json!(1),
        "upload.begin",
        json!({"size": 2 << 20, "sha256": sha}),
    )
    .await?;
    assert_eq!(r["error"]["data"]["reason"], json!("TOO_LARGE"), "{r}");
    // ...until it has been idle too long, though its page keeps talking.
    let mut freed = false;
    for i in 0..200 {
        hello_ok(&mut page).await?;
        let r = rpc(
            &mut other,
            json!(2 + i),
            "upload.begin",
            json!({"size": 2 << 20, "sha256": sha}),
        )
        .await?;
        if r["result"]["uploadId"].is_string() {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        freed,
        "an unused upload held the cap while its page kept talking"
    );

    for (method, params) in [
        ("upload.cancel", json!({"uploadId": upload})),
        (
            "upload.chunk",
            json!({"uploadId": upload, "offset": 0, "data": b64(b"%")}),
        ),
    ] {
        let r = rpc(&mut page, json!(100), method, params).await?;
        assert_eq!(r["error"]["code"], json!(-32602), "{r}");
        let message = r["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("was discarded"), "{method}: {r}");
    }
    hello_ok(&mut page).await
}

/// Frames RFC 6455 forbids get the close code it names, not a silent TCP
/// drop, so a client library can tell its own bug from Mohor going away;
/// the server keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_frames_get_the_close_code_rfc_6455_names() -> TestResult {
    let server = start(limits()).await?;
    let mask = [7u8, 1, 9, 3];
    let masked = |first: u8, payload: &[u8]| {
        let mut f = vec![first, 0x80 | payload.len() as u8];
        f.extend_from_slice(&mask);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        f
    };
    let hello = br#"{"jsonrpc":"2.0","id":1,"method":"hello","params":{}}"#;
    let mut unmasked = vec![0x81u8, hello.len() as u8];
    unmasked.extend_from_slice(hello);
    let cases: [(&str, Vec<u8>, u16); 4] = [
        (
            "text that is not UTF-8",
            masked(0x81, b"{\"x\":\"\xff\xfe\"}"),
            1007,
        ),
        ("an unmasked frame", unmasked, 1002),
        ("a reserved bit set", masked(0x81 | 0x40, hello), 1002),
        ("an unknown opcode", masked(0x83, hello), 1002),
    ];
    for (what, frame, code) in cases {
        let mut ws = connect(server.port, Some(GOOD_ORIGIN)).await?;
        ws.get_mut().write_all(&frame).await?;
        assert_eq!(expect_close(&mut ws).await?, code, "{what}");
    }
    let mut good = connect(server.port, Some(GOOD_ORIGIN)).await?;
    hello_ok(&mut good).await
}
