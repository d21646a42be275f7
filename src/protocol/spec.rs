//! The protocol as a specification: one test per rule a page developer relies on.

use std::collections::HashMap;

use base64::Engine as _;
use serde_json::{json, Value};

use super::*;
use crate::sign::DigestAlgorithm;
use crate::Reason;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Uploads finished on this "connection".
#[derive(Default)]
struct Uploads(HashMap<String, Blob>);

impl UploadResolver for Uploads {
    fn take_upload(&mut self, id: &str) -> Result<Blob, RpcError> {
        self.0
            .remove(id)
            .ok_or_else(|| RpcError::invalid_params(format!("unknown upload `{id}`")))
    }
}

fn call_with(method: &str, params: Value, uploads: &mut Uploads) -> Result<Incoming, RpcError> {
    let text = json!({"jsonrpc":"2.0","id":1,"method":method,"params":params}).to_string();
    let env = Envelope::parse(&text).map_err(|r| r.error)?;
    Incoming::from_envelope(env, uploads)
}

fn call(method: &str, params: Value) -> Result<Incoming, RpcError> {
    call_with(method, params, &mut Uploads::default())
}

fn request(method: &str, params: Value) -> Request {
    match call(method, params) {
        Ok(Incoming::Backend(r)) => r,
        other => panic!("{method}: expected a backend request, got {other:?}"),
    }
}

fn error(method: &str, params: Value) -> RpcError {
    match call(method, params) {
        Err(e) => e,
        Ok(c) => panic!("{method}: expected a refusal, got {c:?}"),
    }
}

#[test]
fn hello_takes_no_params_and_announces_product_version_protocol_and_capabilities() {
    assert!(matches!(call("hello", Value::Null), Ok(Incoming::Hello)));
    assert!(matches!(call("hello", json!({})), Ok(Incoming::Hello)));
    assert_eq!(error("hello", json!({"x":1})).code, code::INVALID_PARAMS);
    let h = hello_result();
    assert_eq!(h["product"], json!("Mohor"));
    assert_eq!(h["protocol"], json!(1));
    assert_eq!(h["version"], json!(env!("CARGO_PKG_VERSION")));
    assert!(h["capabilities"]
        .as_array()
        .is_some_and(|c| c.contains(&json!("sign.pdf"))));
}

#[test]
fn an_unknown_method_is_method_not_found() {
    let e = error("sign.everything", json!({}));
    assert_eq!(e.code, code::METHOD_NOT_FOUND);
    assert_eq!(e.reason, Reason::InvalidRequest);
}

#[test]
fn every_method_name_round_trips() {
    for m in Method::ALL {
        assert_eq!(Method::from_name(m.name()), Some(m));
    }
    assert_eq!(
        Method::from_name("Sign.PDF"),
        None,
        "names are case-sensitive"
    );
}

#[test]
fn certificates_list_without_filter_lists_everything() {
    match request("certificates.list", Value::Null) {
        Request::CertificatesList(f) => assert_eq!(f, CertificateFilter::default()),
        r => panic!("{r:?}"),
    }
}

#[test]
fn certificates_list_filter_is_typed_and_normalised() {
    let r = request(
        "certificates.list",
        json!({"filter": {"issuer":"eMudhra","class":3,"keyUsage":["nonRepudiation"],"validNow":true,"pan":"abcde1234f"}}),
    );
    match r {
        Request::CertificatesList(f) => {
            assert_eq!(f.issuer.as_deref(), Some("eMudhra"));
            assert_eq!(f.class, Some(3));
            assert_eq!(f.key_usage, vec![KeyUsage::NonRepudiation]);
            assert_eq!(f.valid_now, Some(true));
            assert_eq!(f.pan.as_deref(), Some("ABCDE1234F"), "PAN is upper-cased");
        }
        r => panic!("{r:?}"),
    }
}

#[test]
fn certificates_list_refuses_bad_filters() {
    for filter in [
        json!({"class": 4}),
        json!({"pan": "1234"}),
        json!({"keyUsage": ["signEverything"]}),
        json!({"issuer": 5}),
        json!({"subject": "x"}),
    ] {
        let e = error("certificates.list", json!({ "filter": filter }));
        assert_eq!(e.code, code::INVALID_PARAMS, "{filter}");
    }
}

#[test]
fn sign_pdf_decodes_the_document_and_keeps_the_options() {
    let r = request(
        "sign.pdf",
        json!({"document": b64(b"%PDF-1.7"), "fileName":"order.pdf", "certificateId":"c1",
               "reason":"Approved","location":"New Delhi","appearance":{"page":1,"x":36,"y":36,"width":200,"height":60},
               "certify": true}),
    );
    match r {
        Request::SignPdf(p) => {
            assert_eq!(p.document.as_bytes(), Some(&b"%PDF-1.7"[..]));
            assert_eq!(p.file_name, "order.pdf");
            assert_eq!(p.certificate_id.as_deref(), Some("c1"));
            assert_eq!(p.reason.as_deref(), Some("Approved"));
            assert_eq!(p.location.as_deref(), Some("New Delhi"));
            assert_eq!(
                p.appearance,
                Some(Appearance::Rect {
                    page: 1,
                    x: 36.0,
                    y: 36.0,
                    width: 200.0,
                    height: 60.0
                })
            );
            assert!(p.certify);
        }
        r => panic!("{r:?}"),
    }
}

#[test]
fn sign_pdf_defaults_to_an_invisible_approval_signature() {
    match request(
        "sign.pdf",
        json!({"document": b64(b"%PDF"), "fileName":"a.pdf"}),
    ) {
        Request::SignPdf(p) => {
            assert_eq!(p.appearance, None);
            assert!(!p.certify);
            assert_eq!(p.certificate_id, None);
        }
        r => panic!("{r:?}"),
    }
    match request(
        "sign.pdf",
        json!({"document": b64(b"%PDF"), "fileName":"a.pdf", "appearance":"auto"}),
    ) {
        Request::SignPdf(p) => assert_eq!(p.appearance, Some(Appearance::Auto)),
        r => panic!("{r:?}"),
    }
}

#[test]
fn sign_pdf_takes_a_pdf_password_and_nothing_else_does() {
    match request(
        "sign.pdf",
        json!({"document": b64(b"%PDF"), "fileName":"a.pdf", "password":"user-secret"}),
    ) {
        Request::SignPdf(p) => {
            let pw = p.password.as_ref().map(|pw| pw.as_bytes().to_vec());
            assert_eq!(pw.as_deref(), Some(&b"user-secret"[..]));
            assert!(!format!("{p:?}").contains("user-secret"), "never printed");
        }
        r => panic!("{r:?}"),
    }
    let doc = b64(b"%PDF");
    // Elsewhere a password is still a secret Mohor never takes from a page,
    // and inside sign.pdf only `params.password` is, as a string.
    for (method, params) in [
        ("sign.data", json!({"data": doc, "password":"x"})),
        (
            "sign.pdf",
            json!({"document": doc, "fileName":"a.pdf", "appearance": {"password":"x"}}),
        ),
        (
            "sign.batch",
            json!({"items":[{"method":"sign.pdf","params":{"document": doc, "fileName":"a.pdf", "password":"x"}}]}),
        ),
    ] {
        let e = error(method, params.clone());
        assert_eq!(e.code, code::INVALID_REQUEST, "{params}");
    }
    for params in [
        json!({"document": doc, "fileName":"a.pdf", "password": 5}),
        json!({"document": doc, "fileName":"a.pdf", "password": "p".repeat(128)}),
    ] {
        let e = error("sign.pdf", params.clone());
        assert_eq!(e.code, code::INVALID_PARAMS, "{params}");
    }
}

#[test]
fn sign_pdf_refuses_bad_params_as_invalid_params() {
    let doc = b64(b"%PDF");
    for params in [
        json!({"fileName":"a.pdf"}),
        json!({"document": doc}),
        json!({"document": "not base64!", "fileName":"a.pdf"}),
        json!({"document": doc, "fileName":""}),
        json!({"document": doc, "fileName":"a\nb.pdf"}),
        json!({"document": doc, "fileName":"x".repeat(256)}),
        json!({"document": doc, "fileName":"a.pdf", "appearance":"top"}),
        json!({"document": doc, "fileName":"a.pdf", "appearance":{"page":0,"x":1,"y":1,"width":1,"height":1}}),
        json!({"document": doc, "fileName":"a.pdf", "appearance":{"page":1,"x":1,"y":1,"width":0,"height":1}}),
        json!({"document": doc, "fileName":"a.pdf", "appearance":{"page":1,"x":1,"y":1,"width":1,"height":1,"color":"red"}}),
        json!({"document": doc, "fileName":"a.pdf", "certify":"yes"}),
        json!({"document": doc, "fileName":"a.pdf", "signer":"me"}),
        json!({"document": {"upload":"u1","extra":1}, "fileName":"a.pdf"}),
        json!({"document": 5, "fileName":"a.pdf"}),
    ] {
        let e = error("sign.pdf", params.clone());
        assert_eq!(e.code, code::INVALID_PARAMS, "{params}");
        assert_eq!(e.reason, Reason::InvalidRequest);
    }
}

#[test]
fn unknown_fields_are_named_in_the_error() {
    let e = error("sign.data", json!({"data": b64(b"x"), "detached": true}));
    assert!(e.message.contains("detached"), "{}", e.message);
}

#[test]
fn sign_data_decodes_data_and_an_optional_signature_to_cosign() {
    match request(
        "sign.data",
        json!({"data": b64(b"text"), "cosign": b64(b"0\x80")}),
    ) {
        Request::SignData(d) => {
            assert_eq!(d.data.as_bytes(), Some(&b"text"[..]));
            assert_eq!(
                d.cosign.as_ref().and_then(|c| c.as_bytes()),
                Some(&b"0\x80"[..])
            );
        }
        r => panic!("{r:?}"),
    }
}

#[test]
fn sign_hash_checks_the_digest_length_against_the_algorithm() {
    match request(
        "sign.hash",
        json!({"digest": b64(&[7; 32]), "digestAlgorithm":"sha256"}),
    ) {
        Request::SignHash(h) => {
            assert_eq!(h.digest_algorithm, DigestAlgorithm::Sha256);
            assert_eq!(h.digest, vec![7; 32]);
        }
        r => panic!("{r:?}"),
    }
    assert!(matches!(
        request(
            "sign.hash",
            json!({"digest": b64(&[0; 64]), "digestAlgorithm":"sha512"})
        ),
        Request::SignHash(_)
    ));
    for (len, alg) in [
        (32, "sha384"),
        (48, "sha256"),
        (31, "sha256"),
        (0, "sha512"),
    ] {
        let e = error(
            "sign.hash",
            json!({"digest": b64(&vec![1; len]), "digestAlgorithm": alg}),
        );
        assert_eq!(e.code, code::INVALID_PARAMS, "{len} bytes for {alg}");
    }
    for alg in ["SHA256", "sha-256", "md5", "sha1"] {
        let e = error(
            "sign.hash",
            json!({"digest": b64(&[1; 32]), "digestAlgorithm": alg}),
        );
        assert_eq!(e.code, code::INVALID_PARAMS, "{alg}");
    }
}

#[test]
fn sign_batch_types_each_item_with_its_own_method() {
    match request(
        "sign.batch",
        json!({"items":[
            {"method":"sign.pdf","params":{"document": b64(b"%PDF"),"fileName":"a.pdf"}},
            {"method":"sign.data","params":{"data": b64(b"x")}},
            {"method":"sign.hash","params":{"digest": b64(&[1; 48]),"digestAlgorithm":"sha384"}}
        ]}),
    ) {
        Request::SignBatch(items) => {
            assert!(matches!(
                items.as_slice(),
                [BatchItem::Pdf(_), BatchItem::Data(_), BatchItem::Hash(_)]
            ));
        }
        r => panic!("{r:?}"),
    }
}

#[test]
fn sign_batch_refuses_empty_nested_foreign_or_invalid_items() {
    let e = error("sign.batch", json!({"items":[]}));
    assert_eq!(e.code, code::INVALID_PARAMS);
    let e = error(
        "sign.batch",
        json!({"items":[{"method":"sign.batch","params":{"items":[]}}]}),
    );
    assert!(e.message.contains("items[0]"));
    let e = error(
        "sign.batch",
        json!({"items":[{"method":"verify","params":{}}]}),
    );
    assert_eq!(e.code, code::INVALID_PARAMS);
    let e = error(
        "sign.batch",
        json!({"items":[{"method":"sign.data","params":{"data":"AA=="}},{"method":"sign.hash","params":{"digest":"AA==","digestAlgorithm":"sha256"}}]}),
    );
    assert!(e.message.contains("items[1]"), "{}", e.message);
    let items: Vec<Value> = (0..101)
        .map(|_| json!({"method":"sign.data","params":{"data":"AA=="}}))
        .collect();
    assert_eq!(
        error("sign.batch", json!({ "items": items })).code,
        code::INVALID_PARAMS
    );
}

#[test]
fn verify_takes_a_document_and_optional_detached_data() {
    match request(
        "verify",
        json!({"document": b64(b"sig"), "data": b64(b"content")}),
    ) {
        Request::Verify(v) => {
            assert_eq!(v.document.as_bytes(), Some(&b"sig"[..]));
            assert_eq!(
                v.data.and_then(|d| d.as_bytes().map(<[u8]>::to_vec)),
                Some(b"content".to_vec())
            );
        }
        r => panic!("{r:?}"),
    }
}

#[test]
fn cancel_names_the_request_id_to_cancel() {
    match call("cancel", json!({"id": "req-9"})) {
        Ok(Incoming::Cancel { id }) => assert_eq!(id, json!("req-9")),
        other => panic!("{other:?}"),
    }
    assert_eq!(error("cancel", json!({})).code, code::INVALID_PARAMS);
    // Only what a request id can be: an object or array could carry any
    // member name, a disguised PIN among them.
    for id in [
        json!({"p\u{200b}in": "123456"}),
        json!(["pin", "123456"]),
        json!("i".repeat(129)),
        json!(1.5),
        json!(null),
    ] {
        assert_eq!(
            error("cancel", json!({"id": id})).code,
            code::INVALID_PARAMS,
            "{id}"
        );
    }
}

#[test]
fn a_binary_field_may_name_a_finished_upload_which_is_then_used_up() {
    let mut uploads = Uploads::default();
    uploads
        .0
        .insert("u1".into(), Blob::from_vec(b"%PDF-big".to_vec()));
    let c = call_with(
        "sign.pdf",
        json!({"document": {"upload":"u1"}, "fileName":"big.pdf"}),
        &mut uploads,
    );
    match c {
        Ok(Incoming::Backend(Request::SignPdf(p))) => {
            assert_eq!(p.document.as_bytes(), Some(&b"%PDF-big"[..]))
        }
        other => panic!("{other:?}"),
    }
    assert!(uploads.0.is_empty(), "the upload is consumed");
    let again = call_with(
        "sign.pdf",
        json!({"document": {"upload":"u1"}, "fileName":"big.pdf"}),
        &mut uploads,
    );
    assert!(again.is_err_and(|e| e.code == code::INVALID_PARAMS && e.message.contains("u1")));
}

#[test]
fn an_invalid_request_consumes_no_upload() {
    let mut uploads = Uploads::default();
    uploads
        .0
        .insert("u1".into(), Blob::from_vec(b"%PDF".to_vec()));
    let r = call_with(
        "sign.pdf",
        json!({"document": {"upload":"u1"}, "fileName":"a.pdf", "certify": 3}),
        &mut uploads,
    );
    assert!(r.is_err());
    assert!(uploads.0.contains_key("u1"));
}

#[test]
fn upload_messages_are_typed() {
    let sha = "ab".repeat(32);
    match call(
        "upload.begin",
        json!({"size": 300_000_000u64, "sha256": sha}),
    ) {
        Ok(Incoming::UploadBegin(b)) => {
            assert_eq!(b.size, 300_000_000);
            assert_eq!(b.sha256, [0xab; 32]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        error("upload.begin", json!({"size": 1, "sha256": "abc"})).code,
        code::INVALID_PARAMS
    );
    assert_eq!(
        error("upload.begin", json!({"size": -1, "sha256": sha})).code,
        code::INVALID_PARAMS
    );
    match call(
        "upload.chunk",
        json!({"uploadId":"u1","offset":0,"data": b64(b"abc")}),
    ) {
        Ok(Incoming::UploadChunk(c)) => assert_eq!(
            (c.upload_id.as_str(), c.offset, c.data.as_slice()),
            ("u1", 0, &b"abc"[..])
        ),
        other => panic!("{other:?}"),
    }
    match call("download.read", json!({"downloadId":"d1","offset":10})) {
        Ok(Incoming::DownloadRead(d)) => assert_eq!((d.download_id.as_str(), d.offset), ("d1", 10)),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        call("upload.cancel", json!({"uploadId":"u1"})),
        Ok(Incoming::UploadCancel { .. })
    ));
    assert!(matches!(
        call("download.discard", json!({"downloadId":"d1"})),
        Ok(Incoming::DownloadDiscard { .. })
    ));
}

#[test]
fn a_pin_in_params_is_refused_before_the_method_is_even_looked_at() {
    let text = json!({"jsonrpc":"2.0","id":1,"method":"sign.pdf","params":{"document":"AA==","fileName":"a.pdf","pin":"1234"}}).to_string();
    let r = Envelope::parse(&text);
    assert!(
        r.is_err_and(|r| r.error.code == code::INVALID_REQUEST && r.error.message.contains("PIN"))
    );
}

#[test]
fn page_text_shown_to_the_person_passes_the_display_filter() {
    match request(
        "sign.pdf",
        json!({"document": b64(b"%PDF"), "fileName":"invoice\u{202e}fdp.exe\u{200b}",
               "reason":"I hereby\u{2028}resign\u{3164}", "location":"  New\u{2029}Delhi  "}),
    ) {
        Request::SignPdf(p) => {
            assert_eq!(p.file_name, "invoice\u{fffd}fdp.exe");
            assert_eq!(p.reason.as_deref(), Some("I hereby resign"));
            assert_eq!(p.location.as_deref(), Some("New Delhi"));
        }
        r => panic!("{r:?}"),
    }
    match request(
        "sign.pdf",
        json!({"document": b64(b"%PDF"), "fileName":"a.pdf", "reason":"", "location":" "}),
    ) {
        Request::SignPdf(p) => {
            assert_eq!(p.reason, None, "an empty reason is no reason");
            assert_eq!(p.location, None);
        }
        r => panic!("{r:?}"),
    }
}

#[test]
fn page_text_with_nothing_visible_is_refused() {
    let doc = b64(b"%PDF");
    for (params, field) in [
        (
            json!({"document": doc, "fileName":"\u{200b}\u{3164}"}),
            "fileName",
        ),
        (
            json!({"document": doc, "fileName":" \u{2800} "}),
            "fileName",
        ),
        (
            json!({"document": doc, "fileName":"a.pdf", "reason":"\u{2060}\u{180e}"}),
            "reason",
        ),
        (
            json!({"document": doc, "fileName":"a.pdf", "location":"\u{feff}"}),
            "location",
        ),
    ] {
        let e = error("sign.pdf", params.clone());
        assert_eq!(e.reason, Reason::InvalidRequest, "{params}");
        assert!(e.message.contains(field), "{params}: {}", e.message);
    }
    // Inside a batch too.
    let e = error(
        "sign.batch",
        json!({"items":[{"method":"sign.pdf","params":{"document": doc, "fileName":"\u{200b}"}}]}),
    );
    assert_eq!(e.reason, Reason::InvalidRequest);
}
