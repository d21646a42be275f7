//! A department's portal issues a batch of BSK certificates over WebSocket
//! (a real `mohor serve`, SoftHSM fixture token, scripted dialogs): each
//! item has its own UIN and QR payload, the batch costs one consent and one
//! PIN, the consent shows every UIN and every payload in full, and each
//! signed certificate's QR code (rendered by pdftoppm, read by zbarimg)
//! gives back exactly its payload; pdfsig finds every signature valid. A
//! malformed UIN is refused before any window.
#![cfg(feature = "scripted-prompts")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod common;
#[path = "desktop_agent/ws.rs"]
#[allow(dead_code)]
mod ws;

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use common::{Fixture, MODULE};

const ORIGIN: &str = "http://127.0.0.1:8765";

/// `mohor serve`, killed (by its own pid) when the test ends.
fn serve(home: &Path, softhsm_conf: &Path, prompts: &Path) -> common::Served {
    let log = home.join("serve.stderr");
    let mut cmd = common::mohor(home, softhsm_conf);
    cmd.arg("--module")
        .arg(MODULE)
        .arg("--prompts")
        .arg(prompts)
        .args(["serve", "--port", "0", "--allow-origin", ORIGIN])
        .stderr(std::fs::File::create(&log).expect("serve.stderr"));
    common::spawn_serve(&mut cmd, &log)
}

use common::{asked, b64, tiny_pdf};

fn payload(uin: &str, name: &str) -> String {
    format!(
        "UIN:{uin}|Name:{name}|Service:Caste Certificate (021)|Dept:Backward Classes Welfare Department|Issued:2026-11-30 10:05 IST|Verify:https://castcertificatewb.gov.in/verify/{uin}"
    )
}

#[test]
fn a_batch_of_certificates_signs_with_one_consent_and_one_pin() {
    let fx = Fixture::shared();
    let common::Approving {
        dir,
        softhsm_conf,
        home,
        prompts,
    } = common::approving("ws_certificates");
    let server = serve(&home, &softhsm_conf, &prompts);
    let mut c = ws::Connection::open(server.port, ORIGIN).expect("connect");
    let cert_id = fx.cert("rsa2048").id;

    // A malformed UIN: refused before any window.
    let refused = c.call(
        json!(1),
        "sign.pdf",
        Some(json!({
            "document": b64(&tiny_pdf()),
            "fileName": "certificate.pdf",
            "appearance": {"uin": "BCW02120260001", "qr": "BCW02120260001"},
        })),
    );
    assert_eq!(refused.reason(), "INVALID_REQUEST", "{:#}", refused.answer);
    assert!(asked(&prompts).is_empty(), "a window was shown");

    let citizens = [
        ("BCW0212026000101", "সুমিতা দাস"),
        ("BCW0212026000102", "Rahul Mondal"),
        ("BCW0212026000103", "আবদুল করিম"),
    ];
    let items: Vec<Value> = citizens
        .iter()
        .map(|(uin, name)| {
            json!({"method": "sign.pdf", "params": {
                "document": b64(&tiny_pdf()),
                "fileName": format!("{uin}.pdf"),
                "certificateId": cert_id,
                "reason": "জাতিগত শংসাপত্র প্রদান",
                "location": "কলকাতা",
                "appearance": {"uin": uin, "qr": payload(uin, name)},
            }})
        })
        .collect();
    let reply = c.call(json!(2), "sign.batch", Some(json!({"items": items})));
    let results = reply.result()["results"]
        .as_array()
        .expect("results")
        .clone();
    assert_eq!(results.len(), citizens.len());

    let log = asked(&prompts);
    let dialogs: Vec<&str> = log.iter().filter_map(|e| e["dialog"].as_str()).collect();
    assert_eq!(
        dialogs.iter().filter(|d| **d == "consent").count(),
        1,
        "{dialogs:?}"
    );
    assert_eq!(
        dialogs.iter().filter(|d| **d == "pin").count(),
        1,
        "{dialogs:?}"
    );
    let consent = log
        .iter()
        .find(|e| e["dialog"] == "consent")
        .expect("a consent question");
    let shown = consent["shown"].to_string();
    for (uin, name) in &citizens {
        assert!(shown.contains(uin), "{uin} not shown:\n{shown}");
        assert!(
            shown.contains(&payload(uin, name)),
            "payload of {uin} not shown in full:\n{shown}"
        );
    }

    let judges = ["pdftoppm", "zbarimg", "pdftotext", "pdfsig"]
        .iter()
        .all(|t| common::have_tool(t));
    for ((uin, name), result) in citizens.iter().zip(&results) {
        let signed = common::unb64(result["document"].as_str().expect("document"));
        let out = dir.join(format!("{uin}.pdf"));
        std::fs::write(&out, &signed).expect("write");
        if !judges {
            continue;
        }
        let report = common::text(&common::run(Command::new("pdfsig").arg(&out)));
        assert!(report.contains("Signature is Valid."), "{report}");
        let text = common::text(&common::run(Command::new("pdftotext").arg(&out).arg("-")));
        assert!(text.contains(&format!("UIN: {uin}")), "{text}");
        assert_eq!(
            qr_on_page(&out, &dir.join(format!("{uin}-page"))),
            payload(uin, name)
        );
    }
    c.close();
}

/// A page's own coordinates start wherever its /MediaBox does: on a page
/// of `[-300 -400 295 442]` the bottom left corner is (-300, -400), and
/// pdf.js's `convertToPdfPoint` gives a box there below zero. The server
/// refused every x or y below zero (`INVALID_REQUEST`) though `mohor sign
/// --visible` signs the same box; now the stamp is placed where asked, and
/// its QR code and UIN read back.
#[test]
fn a_certificate_stamp_at_coordinates_below_zero_is_placed_where_asked() {
    let fx = Fixture::shared();
    let common::Approving {
        dir,
        softhsm_conf,
        home,
        prompts,
    } = common::approving("ws_certificate_below_zero");
    let server = serve(&home, &softhsm_conf, &prompts);
    let mut c = ws::Connection::open(server.port, ORIGIN).expect("connect");
    let page = common::classic_pdf(
        b"%PDF-1.7\n",
        &[
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [-300 -400 295 442] /Resources << >> >>",
        ],
        "",
    );
    let uin = "BCW0212026000101";
    let reply = c.call(
        json!(1),
        "sign.pdf",
        Some(json!({
            "document": b64(&page),
            "fileName": "certificate.pdf",
            "certificateId": fx.cert("rsa2048").id,
            "appearance": {"page": 1, "x": -260, "y": -360, "width": 300, "height": 118,
                           "uin": uin, "qr": payload(uin, "সুমিতা দাস")},
        })),
    );
    let signed = common::unb64(reply.result()["document"].as_str().expect("document"));
    let out = dir.join("certificate.signed.pdf");
    std::fs::write(&out, &signed).expect("write");
    c.close();
    if !["pdftoppm", "zbarimg", "pdftotext", "pdfsig"]
        .iter()
        .all(|t| common::have_tool(t))
    {
        return;
    }
    let report = common::text(&common::run(Command::new("pdfsig").arg(&out)));
    assert!(report.contains("Signature is Valid."), "{report}");
    // The UIN where the box was asked for: 40 to 340 points from the page's
    // left edge, 40 to 158 from its bottom.
    let words = common::text(&common::run(
        Command::new("pdftotext").arg("-bbox").arg(&out).arg("-"),
    ));
    let line = words
        .lines()
        .find(|l| l.contains(&format!(">{uin}<")))
        .unwrap_or_else(|| panic!("pdftotext has no {uin}:\n{words}"));
    let attr = |name: &str| -> f64 {
        let at = line.find(&format!("{name}=\"")).expect(name) + name.len() + 2;
        line[at..].split('"').next().unwrap().parse().unwrap()
    };
    // pdftotext measures from the top left of the page (842 points high).
    let (left, bottom) = (attr("xMin"), 842.0 - attr("yMax"));
    assert!(
        (40.0..340.0).contains(&left) && (40.0..158.0).contains(&bottom),
        "the UIN is at {left}, {bottom}:\n{line}"
    );
    assert_eq!(
        qr_on_page(&out, &dir.join("certificate-page")),
        payload(uin, "সুমিতা দাস")
    );
}

/// What `zbarimg` reads from the QR code on `pdf`'s first page, rendered at
/// 300 dpi to `prefix`.png.
fn qr_on_page(pdf: &std::path::Path, prefix: &std::path::Path) -> String {
    let st = Command::new("pdftoppm")
        .args(["-png", "-r", "300", "-singlefile"])
        .arg(pdf)
        .arg(prefix)
        .status()
        .expect("pdftoppm");
    assert!(st.success());
    let read = Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(prefix.with_extension("png"))
        .output()
        .expect("zbarimg");
    String::from_utf8_lossy(&read.stdout)
        .trim_end_matches('\n')
        .to_string()
}
