//! The JSON-RPC protocol over a real connection: error codes, progress,
//! cancellation, isolation between connections, chunked transfers.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

#[path = "ws_support.rs"]
mod support;

use std::sync::atomic::Ordering;

use mohor::server::Limits;
use serde_json::{json, Value};
use sha2::Digest as _;
use support::*;

async fn error_of(ws: &mut Ws, text: &str) -> Result<Value, Box<dyn std::error::Error>> {
    send_text(ws, text).await?;
    let r = recv_answer(ws).await?;
    assert!(r.get("result").is_none(), "{r}");
    assert_eq!(r["jsonrpc"], json!("2.0"));
    Ok(r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_announces_the_product() -> TestResult {
    let server = start(limits()).await?;
    let mut ws = connect(server.port, Some(GOOD_ORIGIN)).await?;
    let r = rpc(&mut ws, json!(1), "hello", Value::Null).await?;
    assert_eq!(r["id"], json!(1));
    assert_eq!(r["result"]["product"], json!("Mohor"));
    assert_eq!(r["result"]["protocol"], json!(1));
    assert_eq!(r["result"]["version"], json!(env!("CARGO_PKG_VERSION")));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_the_right_error_codes_and_the_connection_stays_usable() -> TestResult {
    let server = start(limits()).await?;
    let mut ws = connect(server.port, Some(GOOD_ORIGIN)).await?;

    let r = error_of(&mut ws, "{this is not json").await?;
    assert_eq!(r["error"]["code"], json!(-32700));
    assert_eq!(r["id"], Value::Null);
    assert_eq!(r["error"]["data"]["reason"], json!("INVALID_REQUEST"));

    let r = error_of(
        &mut ws,
        r#"{"jsonrpc":"2.0","id":2,"method":"sign.everything","params":{}}"#,
    )
    .await?;
    assert_eq!(r["error"]["code"], json!(-32601));
    assert_eq!(r["id"], json!(2));

    let r = error_of(
        &mut ws,
        r#"{"jsonrpc":"2.0","id":3,"method":"sign.data","params":{"data":"AA==","detached":true}}"#,
    )
    .await?;
    assert_eq!(r["error"]["code"], json!(-32602));
    assert!(
        r["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("detached")),
        "{r}"
    );

    let r = error_of(
        &mut ws,
        r#"{"jsonrpc":"2.0","id":4,"method":"sign.data","params":{"data":"AA==","pin":"123456"}}"#,
    )
    .await?;
    assert_eq!(r["error"]["code"], json!(-32600));
    assert_eq!(r["id"], json!(4));
    assert_eq!(r["error"]["data"]["reason"], json!("INVALID_REQUEST"));
    assert!(
        r["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("PIN")),
        "{r}"
    );
    assert!(
        r["error"]["data"]["hint"]
            .as_str()
            .is_some_and(|m| m.contains("dialog")),
        "{r}"
    );

    let r = error_of(&mut ws, r#"{"jsonrpc":"2.0","id":5,"method":"sign.hash","params":{"digest":"AAAA","digestAlgorithm":"sha256"}}"#).await?;
    assert_eq!(r["error"]["code"], json!(-32602));

    let r = error_of(&mut ws, r#"[{"jsonrpc":"2.0","id":6,"method":"hello"}]"#).await?;
    assert_eq!(r["error"]["code"], json!(-32600));

    let r = error_of(&mut ws, r#"{"jsonrpc":"2.0","method":"hello"}"#).await?;
    assert_eq!(r["error"]["code"], json!(-32600));

    assert_eq!(
        server.backend.handled.load(Ordering::SeqCst),
        0,
        "nothing reached the backend"
    );
    hello_ok(&mut ws).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_errors_carry_their_reason_and_hint() -> TestResult {
    let server = start(limits()).await?;
    let mut ws = connect(server.port, Some(GOOD_ORIGIN)).await?;
    for reason in [
        "PIN_LOCKED",
        "TOKEN_NOT_PRESENT",
        "USER_CANCELLED",
        "NO_MATCHING_CERTIFICATE",
    ] {
        let data = b64(format!("fail:{reason}").as_bytes());
        let r = rpc(&mut ws, json!(reason), "sign.data", json!({ "data": data })).await?;
        assert_eq!(r["error"]["code"], json!(-32000), "{r}");
        assert_eq!(r["error"]["data"]["reason"], json!(reason));
        assert_eq!(r["error"]["data"]["hint"], json!("a hint"));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_comes_after_progress_notifications_ending_with_done() -> TestResult {
    let server = start(limits()).await?;
    let mut ws = connect(server.port, Some(GOOD_ORIGIN)).await?;
    send(
        &mut ws,
        json!({"jsonrpc":"2.0","id":"s1","method":"sign.data","params":{"data": b64(b"hello")}}),
    )
    .await?;
    let mut stages = Vec::new();
    let answer = loop {
        let m = recv(&mut ws).await?;
        if m["method"] == json!("progress") {
            assert_eq!(m["params"]["id"], json!("s1"));
            assert!(m.get("id").is_none(), "a notification has no id");
            stages.push(m["params"]["stage"].as_str().unwrap_or("").to_string());
        } else {
            break m;
        }
    };
    assert_eq!(
        stages,
        ["waiting-for-consent", "waiting-for-pin", "signing", "done"]
    );
    assert_eq!(answer["id"], json!("s1"));
    assert_eq!(
        unb64(answer["result"]["signature"].as_str().unwrap_or("")),
        b"sig(hello)"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_certificates_sends_no_progress() -> TestResult {
    let server = start(limits()).await?;
    let mut ws = connect(server.port, Some(GOOD_ORIGIN)).await?;
    send(
        &mut ws,
        json!({"jsonrpc":"2.0","id":1,"method":"certificates.list"}),
    )
    .await?;
    let first = recv(&mut ws).await?;
    assert_eq!(first["id"], json!(1), "the answer comes first: {first}");
    assert!(first["result"]["certificates"].is_array());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_reaches_the_backend_typed() -> TestResult {
    let server = start(limits()).await?;
    let mut ws = connect(server.port, Some(GOOD_ORIGIN)).await?;
    let r = rpc(
        &mut ws,
        json!(1),
        "certificates.list",
        json!({"filter":{"class":3}}),
    )
    .await?;
    assert_eq!(
        r["result"]["certificates"][0]["filterClass"],
        json!(3),
        "{r}"
    );
    let r = rpc(&mut ws, json!(2), "sign.hash", json!({"digest": b64(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32]), "digestAlgorithm":"sha256"})).await?;
    assert_eq!(
        unb64(r["result"]["signature"].as_str().unwrap_or(""))[0],
        32
    );
    let r = rpc(
        &mut ws,
        json!(3),
        "sign.pdf",
        json!({"document": b64(b"%PDF-1.7 tiny"), "fileName":"a.pdf", "appearance":"auto"}),
    )
    .await?;
    assert_eq!(
        r["result"]["origin"],
        json!(GOOD_ORIGIN),
        "the backend learns the page's origin"
    );
    assert_eq!(
        unb64(r["result"]["document"].as_str().unwrap_or("")),
        b"%PDF-1.7 tiny"
    );
    let r = rpc(
        &mut ws,
        json!(4),
        "sign.batch",
        json!({"items":[
        {"method":"sign.data","params":{"data": b64(b"a")}},
        {"method":"sign.hash","params":{"digest": b64(&[0; 48]),"digestAlgorithm":"sha384"}}]}),
    )
    .await?;
    assert_eq!(r["result"]["results"], json!(["data", "hash"]));
    let r = rpc(&mut ws, json!(5), "verify", json!({"document": b64(b"x")})).await?;
    assert!(r["result"]["signatures"].is_array());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_answers_the_request_at_once_and_tells_the_backend() -> TestResult {
    let server = start(limits()).await?;
    let mut ws = connect(server.port, Some(GOOD_ORIGIN)).await?;
    send_slow(&mut ws, 7).await?;
    let p = recv(&mut ws).await?;
    assert_eq!(
        p["params"],
        json!({"id": 7, "stage": "waiting-for-consent"})
    );
    send(
        &mut ws,
        json!({"jsonrpc":"2.0","id":8,"method":"cancel","params":{"id": 7}}),
    )
    .await?;
    let first = recv_answer(&mut ws).await?;
    let second = recv_answer(&mut ws).await?;
    assert_eq!(first["id"], json!(7));
    assert_eq!(first["error"]["data"]["reason"], json!("USER_CANCELLED"));
    assert_eq!(
        second,
        json!({"jsonrpc":"2.0","id":8,"result":{"cancelled":true}})
    );
    assert!(eventually(|| server.backend.saw_cancel.load(Ordering::SeqCst) == 1).await);
    // Nothing more arrives for id 7, and unknown ids are "not cancelled".
    let r = rpc(&mut ws, json!(9), "cancel", json!({"id": 7})).await?;
    assert_eq!(r["result"], json!({"cancelled": false}));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_cancels_its_requests() -> TestResult {
    let server = start(limits()).await?;
    let mut ws = connect(server.port, Some(GOOD_ORIGIN)).await?;
    send_slow(&mut ws, 1).await?;
    let _ = recv(&mut ws).await?;
    drop(ws);
    assert!(
        eventually(|| server.backend.saw_cancel.load(Ordering::SeqCst) == 1).await,
        "the backend never saw the cancellation"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_id_in_flight_is_refused() -> TestResult {
    let server = start(limits()).await?;
    let mut ws = connect(server.port, Some(GOOD_ORIGIN)).await?;
    send_slow(&mut ws, 1).await?;
    let _ = recv(&mut ws).await?;
    let r = rpc(&mut ws, json!(1), "sign.data", json!({"data": b64(b"x")})).await?;
    assert_eq!(r["error"]["code"], json!(-32600), "{r}");
    let _ = rpc(&mut ws, json!(2), "cancel", json!({"id": 1})).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_connection_gets_only_its_own_answers() -> TestResult {
    // Room for the slow request and ten quick ones in flight at once.
    let server = start(Limits {
        max_in_flight_per_connection: 16,
        ..limits()
    })
    .await?;
    let mut a = connect(server.port, Some(GOOD_ORIGIN)).await?;
    let mut b = connect(server.port, Some("https://dept.example.gov.in")).await?;
    // A slow request on `a` does not hold up `b`.
    send_slow(&mut a, 1).await?;
    let _ = recv(&mut a).await?;
    for i in 0..10 {
        send(&mut a, json!({"jsonrpc":"2.0","id":100 + i,"method":"sign.data","params":{"data": b64(format!("a{i}").as_bytes())}})).await?;
        send(&mut b, json!({"jsonrpc":"2.0","id":100 + i,"method":"sign.data","params":{"data": b64(format!("b{i}").as_bytes())}})).await?;
    }
    for ws_name in ["a", "b"] {
        let ws = if ws_name == "a" { &mut a } else { &mut b };
        let mut got = 0;
        while got < 10 {
            let r = recv_answer(ws).await?;
            let sig = String::from_utf8(unb64(r["result"]["signature"].as_str().unwrap_or("")))?;
            assert!(
                sig.starts_with(&format!("sig({ws_name}")),
                "{ws_name} got {sig}"
            );
            got += 1;
        }
    }
    let _ = rpc(&mut a, json!(2), "cancel", json!({"id": 1})).await?;
    Ok(())
}

/// Uploads a document in chunks; returns the upload id.
async fn upload(ws: &mut Ws, doc: &[u8]) -> Result<String, Box<dyn std::error::Error>> {
    let sha = hex::encode(sha2::Sha256::digest(doc));
    let r = rpc(
        ws,
        json!("ub"),
        "upload.begin",
        json!({"size": doc.len(), "sha256": sha}),
    )
    .await?;
    let id = r["result"]["uploadId"]
        .as_str()
        .ok_or(format!("{r}"))?
        .to_string();
    let chunk = r["result"]["chunkSize"].as_u64().ok_or("chunkSize")? as usize;
    let mut offset = 0;
    for part in doc.chunks(chunk) {
        let r = rpc(
            ws,
            json!("uc"),
            "upload.chunk",
            json!({"uploadId": id, "offset": offset, "data": b64(part)}),
        )
        .await?;
        offset += part.len();
        assert_eq!(r["result"]["received"], json!(offset), "{r}");
        assert_eq!(r["result"]["complete"], json!(offset == doc.len()));
    }
    Ok(id)
}

fn big_document(len: usize) -> Vec<u8> {
    let mut doc = b"%PDF-1.7\n".to_vec();
    let mut x: u32 = 12345;
    while doc.len() < len {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        doc.push((x >> 16) as u8);
    }
    doc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_larger_than_a_frame_is_uploaded_in_chunks_and_spooled_to_disk() -> TestResult {
    let server = start(Limits {
        max_message_bytes: 1 << 20,
        chunk_bytes: 512 << 10,
        memory_spool_threshold: 1 << 20,
        ..limits()
    })
    .await?;
    let mut ws = connect(server.port, Some(GOOD_ORIGIN)).await?;
    let doc = big_document(5 << 20);
    let id = upload(&mut ws, &doc).await?;
    let r = rpc(
        &mut ws,
        json!(1),
        "sign.pdf",
        json!({"document": {"upload": id}, "fileName": "big.pdf"}),
    )
    .await?;
    assert_eq!(r["result"]["length"], json!(doc.len()), "{r}");
    assert_eq!(
        r["result"]["sha256"],
        json!(hex::encode(sha2::Sha256::digest(&doc)))
    );
    assert!(server.backend.last_pdf_spooled.load(Ordering::SeqCst));
    // An upload is used once.
    let r = rpc(
        &mut ws,
        json!(2),
        "sign.pdf",
        json!({"document": {"upload": id}, "fileName": "big.pdf"}),
    )
    .await?;
    assert_eq!(r["error"]["code"], json!(-32602), "{r}");
    Ok(())
}

/// The contract's size: 200 MB through the default limits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mb_document_goes_through() -> TestResult {
    let server = start(limits()).await?;
    let mut ws = connect(server.port, Some(GOOD_ORIGIN)).await?;
    let doc = big_document(200_000_000);
    let id = upload(&mut ws, &doc).await?;
    let r = rpc(
        &mut ws,
        json!(1),
        "sign.pdf",
        json!({"document": {"upload": id}, "fileName": "bill.pdf"}),
    )
    .await?;
    assert_eq!(r["result"]["length"], json!(200_000_000), "{r}");
    assert!(server.backend.last_pdf_spooled.load(Ordering::SeqCst));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_checked_in_order_size_and_hash() -> TestResult {
    let server = start(Limits {
        max_upload_bytes: 1000,
        ..limits()
    })
    .await?;
    let mut ws = connect(server.port, Some(GOOD_ORIGIN)).await?;
    let r = rpc(
        &mut ws,
        json!(1),
        "upload.begin",
        json!({"size": 1001, "sha256": "00".repeat(32)}),
    )
    .await?;
    assert_eq!(r["error"]["data"]["reason"], json!("TOO_LARGE"), "{r}");

    let r = rpc(
        &mut ws,
        json!(2),
        "upload.begin",
        json!({"size": 4, "sha256": "00".repeat(32)}),
    )
    .await?;
    let id = r["result"]["uploadId"].clone();
    let r = rpc(
        &mut ws,
        json!(3),
        "upload.chunk",
        json!({"uploadId": id, "offset": 2, "data": b64(b"ab")}),
    )
    .await?;
    assert_eq!(r["error"]["code"], json!(-32602), "out of order: {r}");
    let r = rpc(
        &mut ws,
        json!(4),
        "upload.chunk",
        json!({"uploadId": id, "offset": 0, "data": b64(b"abcde")}),
    )
    .await?;
    assert_eq!(r["error"]["code"], json!(-32602), "past the size: {r}");
    let r = rpc(
        &mut ws,
        json!(5),
        "sign.pdf",
        json!({"document": {"upload": id}, "fileName": "a.pdf"}),
    )
    .await?;
    assert_eq!(r["error"]["code"], json!(-32602), "not complete: {r}");
    let r = rpc(
        &mut ws,
        json!(6),
        "upload.chunk",
        json!({"uploadId": id, "offset": 0, "data": b64(b"abcd")}),
    )
    .await?;
    assert_eq!(r["error"]["code"], json!(-32602), "wrong hash: {r}");
    assert!(r["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("SHA-256")));
    let r = rpc(
        &mut ws,
        json!(7),
        "upload.chunk",
        json!({"uploadId": id, "offset": 4, "data": b64(b"x")}),
    )
    .await?;
    assert_eq!(
        r["error"]["code"],
        json!(-32602),
        "discarded after a bad hash: {r}"
    );

    // Uploads belong to their connection.
    let good = b"%PDF";
    let mut other = connect(server.port, Some(GOOD_ORIGIN)).await?;
    let id = upload(&mut ws, good).await?;
    let r = rpc(
        &mut other,
        json!(8),
        "sign.pdf",
        json!({"document": {"upload": id}, "fileName": "a.pdf"}),
    )
    .await?;
    assert_eq!(r["error"]["code"], json!(-32602), "{r}");
    let r = rpc(&mut ws, json!(9), "upload.cancel", json!({"uploadId": id})).await?;
    assert_eq!(r["result"], json!({}));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_larger_than_a_frame_is_downloaded_in_pieces() -> TestResult {
    let server = start(Limits {
        max_message_bytes: 1 << 20,
        chunk_bytes: 300 << 10,
        ..limits()
    })
    .await?;
    let mut ws = connect(server.port, Some(GOOD_ORIGIN)).await?;
    let n = 3_000_000;
    let data = b64(format!("BIG:{n}").as_bytes());
    let r = rpc(&mut ws, json!(1), "sign.data", json!({ "data": data })).await?;
    let stub = &r["result"]["$download"];
    let id = stub["downloadId"].clone();
    let size = stub["size"]
        .as_u64()
        .ok_or(format!("no download stub: {r}"))?;
    let mut text = String::new();
    let mut offset = 0u64;
    let mut reads = 0;
    loop {
        let r = rpc(
            &mut ws,
            json!("d"),
            "download.read",
            json!({"downloadId": id, "offset": offset}),
        )
        .await?;
        text.push_str(r["result"]["text"].as_str().ok_or(format!("{r}"))?);
        offset = r["result"]["next"].as_u64().ok_or("next")?;
        reads += 1;
        if r["result"]["done"] == json!(true) {
            break;
        }
    }
    assert!(reads >= 10, "{reads}");
    assert_eq!(offset, size);
    let result: Value = serde_json::from_str(&text)?;
    assert_eq!(result["signature"].as_str().map(str::len), Some(n));
    // Finished downloads are forgotten.
    let r = rpc(
        &mut ws,
        json!(2),
        "download.read",
        json!({"downloadId": id, "offset": offset}),
    )
    .await?;
    assert_eq!(r["error"]["code"], json!(-32602));
    Ok(())
}

/// Reads a `$download` answer to its end; returns the parsed result.
async fn download(ws: &mut Ws, stub: &Value) -> Result<Value, Box<dyn std::error::Error>> {
    let id = stub["downloadId"].clone();
    let size = stub["size"].as_u64().ok_or(format!("no size: {stub}"))?;
    let mut text = String::new();
    let mut offset = 0u64;
    loop {
        let r = rpc(
            ws,
            json!("d"),
            "download.read",
            json!({"downloadId": id, "offset": offset}),
        )
        .await?;
        text.push_str(r["result"]["text"].as_str().ok_or(format!("{r}"))?);
        offset = r["result"]["next"].as_u64().ok_or("next")?;
        if r["result"]["done"] == json!(true) {
            break;
        }
    }
    assert_eq!(offset, size);
    assert_eq!(text.len() as u64, size, "size counts bytes of the text");
    Ok(serde_json::from_str(&text)?)
}

/// Answers whose document is a file (as the real backend answers a signed
/// PDF): the base64 is made from the file on the way, inline when it fits
/// one frame, through download.read when not, with every byte intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_answered_from_its_file_arrives_intact_inline_and_as_a_download() -> TestResult {
    let server = start(Limits {
        max_message_bytes: 1 << 20,
        chunk_bytes: 300 << 10,
        memory_spool_threshold: 256 << 10,
        ..limits()
    })
    .await?;
    let mut ws = connect(server.port, Some(GOOD_ORIGIN)).await?;
    let signer = "ASHA \"VERMA\" मोहर";

    let small = big_document(100_001);
    let r = rpc(
        &mut ws,
        json!(1),
        "sign.pdf",
        json!({"document": b64(&small), "fileName": "FILE:small.pdf"}),
    )
    .await?;
    assert_eq!(r["result"]["document"], json!(b64(&small)), "inline");
    assert_eq!(r["result"]["signer"], json!(signer));

    // 2 MB of raw bytes: ~2.7 MB of base64, well over the 1 MiB frame.
    let big = big_document(2_000_002);
    let id = upload(&mut ws, &big).await?;
    let r = rpc(
        &mut ws,
        json!(2),
        "sign.pdf",
        json!({"document": {"upload": id}, "fileName": "FILE:big.pdf"}),
    )
    .await?;
    let stub = &r["result"]["$download"];
    assert!(stub.is_object(), "{r}");
    let result = download(&mut ws, stub).await?;
    assert_eq!(result["signer"], json!(signer));
    let document = result["document"].as_str().ok_or("no document")?;
    assert!(unb64(document) == big, "the downloaded document differs");
    hello_ok(&mut ws).await
}

/// `"params":{"pin":…},"params":{}`: serde_json alone would keep the last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_members_are_invalid_requests_and_the_connection_stays_usable() -> TestResult {
    let server = start(limits()).await?;
    let mut ws = connect(server.port, Some(GOOD_ORIGIN)).await?;
    for text in [
        r#"{"jsonrpc":"2.0","id":1,"method":"sign.data","params":{"pin":"1234"},"params":{"data":"AA=="}}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"sign.data","params":{"data":"AA==","data":"AQ=="}}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"hello","method":"hello"}"#,
    ] {
        let r = error_of(&mut ws, text).await?;
        assert_eq!(r["error"]["code"], json!(-32600), "{text}: {r}");
        assert_eq!(r["error"]["data"]["reason"], json!("INVALID_REQUEST"));
    }
    // A PIN without a duplicate is still refused as before.
    let r = error_of(
        &mut ws,
        r#"{"jsonrpc":"2.0","id":4,"method":"sign.data","params":{"data":"AA==","pin":"1234"}}"#,
    )
    .await?;
    assert_eq!(r["error"]["code"], json!(-32600), "{r}");
    assert_eq!(server.backend.handled.load(Ordering::SeqCst), 0);
    hello_ok(&mut ws).await
}

/// The two limits on a message's JSON shape (docs/PROTOCOL.md, *Limits*):
/// nesting 128 levels deep is -32700 and more than 50,000 values is
/// `TOO_LARGE`, both answered with `"id": null` although the id is there;
/// one level or one value less is read as a request. The connection stays
/// usable and nothing reaches the backend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_deep_and_too_many_values_are_refused_with_id_null() -> TestResult {
    let server = start(limits()).await?;
    let mut ws = connect(server.port, Some(GOOD_ORIGIN)).await?;
    // `levels` of objects and arrays in all, the envelope and params included.
    let deep = |levels: usize| {
        let n = levels - 2;
        format!(
            r#"{{"jsonrpc":"2.0","id":7,"method":"hello","params":{{"a":{}{}}}}}"#,
            "[".repeat(n),
            "]".repeat(n)
        )
    };
    // Read: `hello` refuses the unknown member, naming the request's id.
    let r = error_of(&mut ws, &deep(127)).await?;
    assert_eq!(
        (&r["error"]["code"], &r["id"]),
        (&json!(-32602), &json!(7)),
        "{r}"
    );
    let r = error_of(&mut ws, &deep(128)).await?;
    assert_eq!(
        (&r["error"]["code"], &r["id"]),
        (&json!(-32700), &Value::Null),
        "{r}"
    );
    assert_eq!(r["error"]["data"]["reason"], json!("INVALID_REQUEST"));

    // Values as Mohor counts them: one, plus one per `[`, `{`, `,` and `:`.
    let with_values = |values: usize| {
        let frame = |zeros: usize| {
            format!(
                r#"{{"jsonrpc":"2.0","id":8,"method":"hello","params":{{"x":[{}0]}}}}"#,
                "0,".repeat(zeros)
            )
        };
        let counted = |t: &str| 1 + t.chars().filter(|c| "[{,:".contains(*c)).count();
        let text = frame(values - counted(&frame(0)));
        assert_eq!(counted(&text), values);
        text
    };
    let r = error_of(&mut ws, &with_values(50_000)).await?;
    assert_eq!(
        (&r["error"]["code"], &r["id"]),
        (&json!(-32602), &json!(8)),
        "{r}"
    );
    let r = error_of(&mut ws, &with_values(50_001)).await?;
    assert_eq!(
        (&r["error"]["code"], &r["id"]),
        (&json!(-32000), &Value::Null),
        "{r}"
    );
    assert_eq!(r["error"]["data"]["reason"], json!("TOO_LARGE"));

    assert_eq!(server.backend.handled.load(Ordering::SeqCst), 0);
    hello_ok(&mut ws).await
}
