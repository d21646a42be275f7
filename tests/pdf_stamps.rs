//! Stamps in Indian scripts and BSK certificate stamps, judged by tools
//! nobody here wrote: Tesseract (hin, ben) reads the rendered stamp,
//! pdftotext copies its text out, zbarimg reads the QR code, pyHanko and
//! pdfsig validate the signature. Screenshots go to
//! target/test-artifacts/stamp-*.png.
#![cfg(feature = "software-signer")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod pdf_util;

use std::path::{Path, PathBuf};
use std::process::Command;

use mohor::pdf;
use pdf_util::common::{assert_no_panic, run_with_stdin, stderr, SimSetup};
use pdf_util::*;
use serde_json::json;

/// Every outside tool these tests need (tests/setup.sh installs them).
fn tools() -> bool {
    judges_available()
        & have_tool("pdftoppm")
        & have_tool("pdftotext")
        & have_tool("tesseract")
        & have_tool("zbarimg")
}

/// The page rendered at 300 dpi, kept as a screenshot; `crop` is a box in
/// PDF points `[x0, y0, x1, y1]` on an A4 page.
fn render(file: &Path, name: &str, crop: [f64; 4]) -> PathBuf {
    render_at(file, name, crop, 300.0)
}

/// [`render`] at `dpi` dots per inch.
fn render_at(file: &Path, name: &str, crop: [f64; 4], dpi: f64) -> PathBuf {
    let px = |v: f64| ((v * dpi / 72.0).round() as i64).to_string();
    let prefix = artifacts_dir().join(name);
    let out = Command::new("pdftoppm")
        .args(["-png", "-r", &dpi.to_string(), "-singlefile"])
        .args(["-x", &px(crop[0]), "-y", &px(842.0 - crop[3])])
        .args(["-W", &px(crop[2] - crop[0]), "-H", &px(crop[3] - crop[1])])
        .arg(file)
        .arg(&prefix)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::text(&out));
    prefix.with_extension("png")
}

/// Words, without the invisible joiners Tesseract sometimes puts between
/// the parts of a conjunct.
fn words(text: &str) -> Vec<String> {
    text.replace(['\u{200C}', '\u{200D}'], "")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Tesseract's reading of `png`; `psm` "6" for a stamp cropped to one
/// block of text, "11" for a whole page with sparse text on it.
fn ocr(png: &Path, lang: &str, psm: &str) -> String {
    let out = Command::new("tesseract")
        .arg(png)
        .arg("stdout")
        .args(["-l", lang, "--psm", psm])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Sign A4 with a large stamp carrying `reason` and `location`, then ask
/// Tesseract (`lang`) and pdftotext for every word back.
fn reads_back(name: &str, lang: &str, reason: &str, location: &str) {
    let dir = test_dir(name);
    let out = dir.join("signed.pdf");
    let mut o = opts("rsa2048");
    o.reason = Some(reason.into());
    o.location = Some(location.into());
    let b = [40.0, 560.0, 555.0, 780.0];
    o.visible = stamp(1, b[0], b[1], b[2] - b[0], b[3] - b[1]);
    let mut s = signer("rsa2048");
    let signed = pdf::sign_file(&corpus("pyhanko-empty-a4.pdf"), &out, &mut s, &o).unwrap();
    judge_new_signature(&out, &signed.field_name, 0).unwrap();

    let png = render(&out, &format!("stamp-{name}"), b);
    // The script's own model reads the script's words (the Latin labels
    // are pdftotext's to judge).
    let read = ocr(&png, lang, "6");
    let seen = words(&read);
    for w in words(reason).iter().chain(words(location).iter()) {
        assert!(
            seen.contains(w),
            "Tesseract ({lang}) did not read \"{w}\" in {}:\n{read}",
            png.display()
        );
    }
    // Copying the text gives the words as typed (ToUnicode + ActualText).
    let copied = words(&pdftotext(&out, None)).join(" ");
    for phrase in [reason, location] {
        assert!(
            copied.contains(&words(phrase).join(" ")),
            "pdftotext lost \"{phrase}\": {copied}"
        );
    }
}

#[test]
fn hindi_reason_and_place_read_back_word_for_word() {
    if !tools() {
        return;
    }
    reads_back("hindi", "hin", "भुगतान हेतु स्वीकृत कार्यालय आदेश", "नई दिल्ली");
}

#[test]
fn bengali_reason_and_place_read_back_word_for_word() {
    if !tools() {
        return;
    }
    reads_back("bengali", "ben", "জন্ম শংসাপত্র অনুমোদিত", "কলকাতা");
}

const UIN: &str = "AMD0152022000001";

fn payload() -> String {
    format!(
        "UIN:{UIN}|Name:সুমিতা দাস|Service:Trade Licence (015)|Dept:Agricultural Marketing Department|Issued:2026-11-23 15:20 IST|Verify:https://bsk.wb.gov.in/verify/{UIN}"
    )
}

/// A certificate stamp signed by the CLI at the bottom of the page: the new
/// signature passes the judges, zbarimg reads `qr` from its QR code, and the
/// UIN copies out as printed text.
fn assert_certificate_stamp(out: &Path, name: &str, qr: &str, uin: &str) {
    judge_new_signature(out, "Signature1", 0).unwrap();
    let png = render(out, name, [0.0, 0.0, 595.0, 200.0]);
    assert_eq!(zbar(&png), qr, "{}", png.display());
    let text = pdftotext(out, None);
    assert!(text.contains(&format!("UIN: {uin}")), "{text}");
}

/// The QR code as zbarimg reads it from the page rendered at 300 dpi.
fn zbar(png: &Path) -> String {
    let out = Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(png)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "zbarimg found no code in {}",
        png.display()
    );
    String::from_utf8_lossy(&out.stdout)
        .trim_end_matches('\n')
        .to_string()
}

#[test]
fn certificate_stamp_qr_gives_back_the_payload_and_the_uin_is_text() {
    if !tools() {
        return;
    }
    let dir = test_dir("stamp_certificate");
    for (version, name) in [
        (None, "stamp-certificate"),
        (Some(40), "stamp-certificate-v40"),
    ] {
        let out = dir.join(format!("{name}.pdf"));
        let mut o = opts("rsa2048");
        o.reason = Some("জন্ম শংসাপত্র প্রদান".into());
        o.location = Some("কলকাতা".into());
        o.visible_auto = true;
        o.uin = Some(UIN.into());
        o.qr = Some(payload());
        o.qr_version = version;
        let mut s = signer("rsa2048");
        let signed = pdf::sign_file(&corpus("pyhanko-empty-a4.pdf"), &out, &mut s, &o).unwrap();
        judge_new_signature(&out, &signed.field_name, 0).unwrap();
        // The bottom of the page, where the stamp is placed.
        let png = render(&out, name, [0.0, 0.0, 595.0, 200.0]);
        assert_eq!(zbar(&png), payload(), "{}", png.display());
        let text = pdftotext(&out, None);
        assert!(text.contains(&format!("UIN: {UIN}")), "{text}");
        assert!(
            text.contains(&format!("Verify at https://bsk.wb.gov.in/verify/{UIN}")),
            "{text}"
        );
    }
}

/// Scans come turned (/Rotate) as often as not. A stamp box is given in
/// the page's own coordinates — PDF user space, before /Rotate, as pdf.js's
/// `convertToPdfPoint` and pyHanko give them — so it turns with the page;
/// the stamp inside is drawn upright for the reader. Here the box is
/// 300 x 118 points as the reader sees it (on a page turned a quarter, its
/// user-space width is the height seen), placed explicitly and
/// automatically: Tesseract reads the stamp's words as a person would, from
/// the page rendered as shown, without being told to turn it, and zbarimg
/// scans its QR code.
#[test]
fn stamps_on_turned_pages_read_upright_and_their_qr_codes_scan() {
    if !tools() {
        return;
    }
    let dir = test_dir("stamp_turned");
    let cases = [(90, false), (180, false), (270, false), (90, true)];
    for (turn, auto) in cases {
        let turned = dir.join(format!("turned-{turn}.pdf"));
        let st = Command::new("qpdf")
            .arg(format!("--rotate=+{turn}"))
            .arg(corpus("pyhanko-empty-a4.pdf"))
            .arg(&turned)
            .status()
            .unwrap();
        assert!(st.success(), "qpdf --rotate={turn}");
        let name = format!("stamp-turned-{turn}{}", if auto { "-auto" } else { "" });
        let out = dir.join(format!("{name}.pdf"));
        let mut o = opts("rsa2048");
        o.uin = Some(UIN.into());
        o.qr = Some(payload());
        if auto {
            o.visible_auto = true;
        } else if turn == 180 {
            o.visible = stamp(1, 150.0, 300.0, 300.0, 118.0);
        } else {
            o.visible = stamp(1, 150.0, 300.0, 118.0, 300.0);
        }
        let mut s = signer("rsa2048");
        let signed = pdf::sign_file(&turned, &out, &mut s, &o).unwrap();
        judge_new_signature(&out, &signed.field_name, 0).unwrap();

        let prefix = artifacts_dir().join(&name);
        let rendered = Command::new("pdftoppm")
            .args(["-png", "-r", "200", "-singlefile"])
            .arg(&out)
            .arg(&prefix)
            .output()
            .unwrap();
        assert!(rendered.status.success(), "{}", common::text(&rendered));
        let png = prefix.with_extension("png");
        assert_eq!(zbar(&png), payload(), "{}", png.display());
        let seen = words(&ocr(&png, "eng", "11"));
        for w in ["Digitally", "signed", "Asha", "Verma"] {
            assert!(
                seen.iter().any(|s| s == w),
                "Tesseract did not read \"{w}\" upright on the page turned {turn}° ({}): {seen:?}",
                png.display()
            );
        }
    }
}

#[test]
fn the_stamp_draws_no_tick_and_no_green() {
    let dir = test_dir("stamp_no_verdict");
    let out = dir.join("signed.pdf");
    let mut o = opts("rsa2048");
    o.visible_auto = true;
    let mut s = signer("rsa2048");
    pdf::sign_file(&corpus("pyhanko-empty-a4.pdf"), &out, &mut s, &o).unwrap();
    if !have_tool("pdftotext") {
        return;
    }
    let text = pdftotext(&out, None);
    assert!(text.contains("Digitally signed by"), "{text}");
    for verdict in ['\u{2714}', '\u{2713}', '\u{2705}'] {
        assert!(!text.contains(verdict), "a tick in the stamp: {text}");
    }
}

fn sign_cli(s: &SimSetup, input: &Path, output: &Path, extra: &[&str]) -> std::process::Output {
    let cert = fixture().cert("rsa2048").id;
    let mut args = vec!["--pin-stdin", "sign", "--cert", cert.as_str()];
    args.extend_from_slice(extra);
    let mut c = s.mohor(&args);
    c.arg(input).arg("-o").arg(output);
    let o = run_with_stdin(&mut c, &format!("{}\n", fixture().user_pin));
    assert_no_panic(&o);
    o
}

#[test]
fn cli_refuses_a_malformed_uin_before_any_pin_and_signs_a_good_one() {
    let s = SimSetup::new("stamp_cli_uin", json!({}));
    let input = corpus("pyhanko-empty-a4.pdf");
    for bad in [
        vec!["--uin", "AMD015202200001"],
        vec!["--uin", "ZZZ0152022000001"],
        vec!["--uin", UIN, "--qr", "a payload without the number"],
        vec!["--qr", "x", "--qr-version", "41"],
    ] {
        let out = s.dir.join("bad.pdf");
        let o = sign_cli(&s, &input, &out, &bad);
        assert!(!o.status.success(), "{bad:?} was accepted");
        assert!(stderr(&o).contains("INVALID_REQUEST"), "{}", stderr(&o));
        assert!(!out.exists());
    }
    assert_eq!(s.sim.logins().len(), 0, "a PIN was used for a refused UIN");

    let out = s.dir.join("good.pdf");
    let o = sign_cli(&s, &input, &out, &["--uin", UIN, "--qr", &payload()]);
    assert!(o.status.success(), "{}", common::text(&o));
    assert_eq!(s.sim.logins().len(), 1);
    if tools() {
        assert_certificate_stamp(&out, "stamp-cli-certificate", &payload(), UIN);
    }
}

/// The QR code must carry the number the stamp prints. A payload that held
/// the UIN only inside a longer number (`…0000012` holds `…000001`) was
/// accepted: zbarimg read one number from the QR code and pdftotext copied
/// another from the stamp. Another number beside the whole UIN is fine.
#[test]
fn the_qr_code_must_carry_the_printed_uin_not_a_longer_number() {
    let s = SimSetup::new("stamp_cli_uin_whole", json!({}));
    let input = corpus("pyhanko-empty-a4.pdf");
    for longer in [
        format!("UIN:{UIN}2|Name:Ram"),
        format!("UIN:X{UIN}|Name:Ram"),
    ] {
        let out = s.dir.join("longer.pdf");
        let o = sign_cli(&s, &input, &out, &["--uin", UIN, "--qr", &longer]);
        assert!(!o.status.success(), "{longer} was accepted");
        assert!(stderr(&o).contains("INVALID_REQUEST"), "{}", stderr(&o));
        assert!(!out.exists());
    }
    assert_eq!(
        s.sim.logins().len(),
        0,
        "a PIN was used for a refused payload"
    );

    let beside = format!("Ref:{UIN}2|UIN:{UIN}|Name:সুমিতা দাস");
    let out = s.dir.join("beside.pdf");
    let o = sign_cli(&s, &input, &out, &["--uin", UIN, "--qr", &beside]);
    assert!(o.status.success(), "{}", common::text(&o));
    if tools() {
        assert_certificate_stamp(&out, "stamp-uin-beside", &beside, UIN);
    }
}

/// A character the stamp cannot draw was drawn as "?" (Manipuri in Meetei
/// Mayek, Tibetan, Chinese), and Urdu was laid out left to right so that
/// it copied out backwards: the stamp said something other than what was
/// approved. Such text is refused before the PIN; a line mixing Latin,
/// Devanagari and Bengali with conjuncts is drawn and copies out exactly as
/// typed.
#[test]
fn text_the_stamp_cannot_draw_is_refused_and_mixed_scripts_copy_out_as_typed() {
    let s = SimSetup::new("stamp_cli_undrawable", json!({}));
    let input = corpus("pyhanko-empty-a4.pdf");
    for (option, text) in [
        ("--reason", "བོད་ཡིག"),
        ("--location", "ꯏꯝꯐꯥꯜ"),
        ("--reason", "Approved 批准"),
        ("--reason", "منظور شدہ"),
    ] {
        let out = s.dir.join("refused.pdf");
        let o = sign_cli(
            &s,
            &input,
            &out,
            &[option, text, "--visible", "1,40,560,515,220"],
        );
        assert!(!o.status.success(), "{text} was drawn");
        assert!(stderr(&o).contains("DOCUMENT_REFUSED"), "{}", stderr(&o));
        assert!(stderr(&o).contains("cannot draw"), "{}", stderr(&o));
        assert!(!out.exists());
    }
    assert_eq!(
        s.sim.logins().len(),
        0,
        "a PIN was used for a refused stamp"
    );

    let reason = "क्षत्रिय कल्याण हेतु Ram राम রাম ₹ 1,20,000";
    let location = "শ্রীরামপুর, ড. সুব্রত";
    let out = s.dir.join("mixed.pdf");
    let b = [40.0, 560.0, 555.0, 780.0];
    let visible = format!("1,{},{},{},{}", b[0], b[1], b[2] - b[0], b[3] - b[1]);
    let o = sign_cli(
        &s,
        &input,
        &out,
        &[
            "--reason",
            reason,
            "--location",
            location,
            "--visible",
            &visible,
        ],
    );
    assert!(o.status.success(), "{}", common::text(&o));
    if tools() {
        judge_new_signature(&out, "Signature1", 0).unwrap();
        let copied = pdftotext(&out, None);
        assert!(copied.contains(&format!("Reason: {reason}")), "{copied}");
        assert!(
            copied.contains(&format!("Location: {location}")),
            "{copied}"
        );
        assert!(!copied.contains('?'), "{copied}");
        let png = render(&out, "stamp-mixed-scripts", b);
        let seen = words(&ocr(&png, "hin+ben+eng", "6"));
        let expected = ["क्षत्रिय", "कल्याण", "हेतु", "Ram", "राम", "রাম", "সুব্রত"];
        for w in expected {
            assert!(
                seen.iter().any(|s| s == w),
                "Tesseract did not read \"{w}\" in {}: {seen:?}",
                png.display()
            );
        }
    }
}

/// Word boxes as pdftotext lays them out: (word, height in points).
fn word_heights(file: &Path) -> Vec<(String, f64)> {
    let out = common::run(Command::new("pdftotext").arg("-bbox").arg(file).arg("-"));
    assert!(out.status.success(), "{}", common::text(&out));
    let attr = |line: &str, name: &str| -> f64 {
        let at = line.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        line[at..].split('"').next().unwrap().parse().unwrap()
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.trim_start().starts_with("<word "))
        .map(|l| {
            let word = l.split('>').nth(1).unwrap().split('<').next().unwrap();
            (word.to_string(), attr(l, "yMax") - attr(l, "yMin"))
        })
        .collect()
}

/// A reason and a place of 500 characters each (the most a web page may
/// send) shrank everything in the stamp alike: the signer's name came out
/// under 4 pt in the automatic stamp's 172 x 70 box, which neither a reader
/// of the printed page nor Tesseract at 200 dpi makes out. The name and a
/// certificate's UIN now stay at least 7 pt; the details shrink alone.
#[test]
fn long_details_leave_the_name_and_uin_legible() {
    if !tools() {
        return;
    }
    let dir = test_dir("stamp_long_details");
    let reason: String = "भुगतान हेतु स्वीकृत कार्यालय आदेश संख्या "
        .repeat(20)
        .chars()
        .take(500)
        .collect();
    let location: String = "Office of the Block Development Officer, Sabang, Paschim Medinipur "
        .repeat(10)
        .chars()
        .take(500)
        .collect();
    for certificate in [false, true] {
        let name = if certificate {
            "stamp-long-details-certificate"
        } else {
            "stamp-long-details"
        };
        let out = dir.join(format!("{name}.pdf"));
        let mut o = opts("rsa2048");
        o.reason = Some(reason.trim_end().into());
        o.location = Some(location.trim_end().into());
        let b = if certificate {
            o.uin = Some(UIN.into());
            o.qr = Some(payload());
            o.visible_auto = true;
            [0.0, 0.0, 595.0, 200.0]
        } else {
            o.visible = stamp(1, 40.0, 40.0, 172.0, 70.0);
            [20.0, 20.0, 232.0, 130.0]
        };
        let mut s = signer("rsa2048");
        let signed = pdf::sign_file(&corpus("pyhanko-empty-a4.pdf"), &out, &mut s, &o).unwrap();
        judge_new_signature(&out, &signed.field_name, 0).unwrap();

        let heights = word_heights(&out);
        let mut keys = vec!["Asha", "Verma"];
        if certificate {
            keys.push(UIN);
        }
        for key in keys {
            let (_, height) = heights
                .iter()
                .find(|(w, _)| w == key)
                .unwrap_or_else(|| panic!("pdftotext has no \"{key}\": {heights:?}"));
            assert!(
                *height >= 7.0,
                "\"{key}\" is drawn {height:.1} pt high in {name}"
            );
        }
        // Every word of the details is still there to copy.
        let copied = words(&pdftotext(&out, None)).join(" ");
        assert!(copied.contains(&words(&location).join(" ")), "{copied}");

        // 200 dpi, as the other judges here read pages: at 300 the
        // smallest text is still read.
        let png = render_at(&out, name, b, 200.0);
        let seen = words(&ocr(&png, "eng", "11"));
        for w in ["Asha", "Verma"] {
            assert!(
                seen.iter().any(|s| s == w),
                "Tesseract did not read \"{w}\" in {}: {seen:?}",
                png.display()
            );
        }
        if certificate {
            assert_eq!(zbar(&png), payload(), "{}", png.display());
        }
    }
}

/// A UIN carries the year its service was delivered; `AMD0152099000001`
/// was signed in 2026 and its stamp and QR code carried 2099. A year after
/// the signature's (Indian Standard Time) is refused before the PIN; this
/// year's number signs, and the stamp and QR code carry it.
#[test]
fn a_uin_from_a_later_year_than_the_signature_is_refused() {
    let s = SimSetup::new("stamp_cli_uin_year", json!({}));
    let input = corpus("pyhanko-empty-a4.pdf");
    let this_year = time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+5:30))
        .year();
    let later = format!("AMD015{}000001", this_year + 1);
    let out = s.dir.join("later.pdf");
    let o = sign_cli(&s, &input, &out, &["--uin", &later]);
    assert!(!o.status.success(), "{later} was accepted");
    assert!(stderr(&o).contains("INVALID_REQUEST"), "{}", stderr(&o));
    assert!(!out.exists());
    assert_eq!(s.sim.logins().len(), 0, "a PIN was used for a refused UIN");

    let current = format!("AMD015{this_year}000001");
    let out = s.dir.join("current.pdf");
    let o = sign_cli(&s, &input, &out, &["--uin", &current]);
    assert!(o.status.success(), "{}", common::text(&o));
    if tools() {
        assert_certificate_stamp(&out, "stamp-uin-this-year", &current, &current);
    }
}

/// Santali, an official language of West Bengal, is written in Ol Chiki:
/// its stamps were drawn as "???????". Drawn
/// with Noto Sans Ol Chiki, embedded as a subset with a ToUnicode map, the
/// reason and place copy out as typed.
#[test]
fn santali_in_ol_chiki_is_drawn_and_copies_out_as_typed() {
    if !tools() {
        return;
    }
    let dir = test_dir("stamp_santali");
    let out = dir.join("signed.pdf");
    let reason = "ᱥᱟᱨᱴᱤᱯᱷᱤᱠᱮᱴ ᱮᱢ ᱦᱩᱭᱮᱱᱟ";
    let location = "ᱢᱮᱫᱤᱱᱤᱯᱩᱨ";
    let mut o = opts("rsa2048");
    o.reason = Some(reason.into());
    o.location = Some(location.into());
    o.visible = stamp(1, 40.0, 560.0, 515.0, 220.0);
    let mut s = signer("rsa2048");
    let signed = pdf::sign_file(&corpus("pyhanko-empty-a4.pdf"), &out, &mut s, &o).unwrap();
    judge_new_signature(&out, &signed.field_name, 0).unwrap();

    let copied = pdftotext(&out, None);
    assert!(copied.contains(&format!("Reason: {reason}")), "{copied}");
    assert!(
        copied.contains(&format!("Location: {location}")),
        "{copied}"
    );
    assert!(!copied.contains('?'), "{copied}");
    let fonts = common::run(Command::new("pdffonts").arg(&out));
    let listed = String::from_utf8_lossy(&fonts.stdout).into_owned();
    let ol_chiki = listed
        .lines()
        .find(|l| l.contains("NotoSansOlChiki"))
        .unwrap_or_else(|| panic!("no Ol Chiki font in the stamp:\n{listed}"));
    // emb, sub and uni: embedded, a subset, with a ToUnicode map.
    assert!(ol_chiki.contains("yes yes yes"), "{listed}");
    render(&out, "stamp-santali", [40.0, 560.0, 555.0, 780.0]);
}

/// Lines that do not fit a small box even at the smallest size run out of
/// it, where the stamp's /BBox cuts them off — the UIN, drawn last, first:
/// a 120 x 30 certificate stamp with a long reason and place was signed
/// with its UIN outside the box (pdftotext found it below the box, so no
/// one saw it on the page). Such a stamp is refused before the PIN; a box
/// that holds everything at the smallest sizes keeps its UIN inside.
#[test]
fn a_certificate_stamp_never_loses_its_uin_off_the_box() {
    let s = SimSetup::new("stamp_cli_uin_small_box", json!({}));
    let input = corpus("pyhanko-empty-a4.pdf");
    let reason: String = "भुगतान हेतु स्वीकृत कार्यालय आदेश संख्या "
        .repeat(20)
        .chars()
        .take(500)
        .collect();
    let location: String = "Office of the Block Development Officer, Sabang, Paschim Medinipur "
        .repeat(10)
        .chars()
        .take(500)
        .collect();
    let details = |visible: &str| -> Vec<String> {
        [
            "--uin",
            UIN,
            "--reason",
            reason.trim_end(),
            "--location",
            location.trim_end(),
            "--visible",
            visible,
        ]
        .map(str::to_string)
        .to_vec()
    };

    let out = s.dir.join("too-small.pdf");
    let args = details("1,40,40,120,30");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = sign_cli(&s, &input, &out, &args);
    assert!(!o.status.success(), "the UIN was drawn off the box");
    assert!(stderr(&o).contains("DOCUMENT_REFUSED"), "{}", stderr(&o));
    assert!(stderr(&o).contains("too small"), "{}", stderr(&o));
    assert!(!out.exists());
    assert_eq!(
        s.sim.logins().len(),
        0,
        "a PIN was used for a refused stamp"
    );

    let out = s.dir.join("small.pdf");
    let args = details("1,40,40,150,40");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = sign_cli(&s, &input, &out, &args);
    assert!(o.status.success(), "{}", common::text(&o));
    if !tools() {
        return;
    }
    judge_new_signature(&out, "Signature1", 0).unwrap();
    // pdftotext measures from the top of the A4 page: the box is 40 to 80
    // points from its bottom, so 762 to 802 from its top.
    let words = common::text(&common::run(
        Command::new("pdftotext").arg("-bbox").arg(&out).arg("-"),
    ));
    let line = words
        .lines()
        .find(|l| l.contains(&format!(">{UIN}<")))
        .unwrap_or_else(|| panic!("pdftotext has no {UIN}:\n{words}"));
    let attr = |name: &str| -> f64 {
        let at = line.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        line[at..].split('"').next().unwrap().parse().unwrap()
    };
    assert!(
        attr("yMin") >= 762.0 && attr("yMax") <= 802.0,
        "the UIN lies outside the stamp box: {line}"
    );
    let png = render(
        &out,
        "stamp-small-box-certificate",
        [30.0, 30.0, 200.0, 90.0],
    );
    assert_eq!(zbar(&png), UIN, "{}", png.display());
}

/// A department's verification address is often long; the "Verify at"
/// line was shrunk to whatever fitted the stamp's width on one line (4.8
/// points for this one in the automatic certificate stamp), which no one
/// reads off a printed page. It now keeps the 7 point floor of the name and
/// UIN and wraps after a `/`, `?`, `&` or `=` (never inside a word, no
/// hyphen added): pdftotext copies the lines back into the address,
/// Tesseract reads it off the render, zbarimg still scans the QR code, and
/// the signature validates. An address with a part too long for a line even
/// at 7 points is refused before the PIN.
#[test]
fn the_verify_at_address_keeps_a_legible_size() {
    let s = SimSetup::new("stamp_cli_verify_url", json!({}));
    let input = corpus("pyhanko-empty-a4.pdf");
    let url = format!(
        "https://edistrict.wb.gov.in/PACAdmin/public/verification/certificateVerification.do?uin={UIN}&lang=en"
    );
    let qr = format!("UIN:{UIN}|Name:Ram Das|Verify:{url}");
    let out = s.dir.join("long-url.pdf");
    let o = sign_cli(&s, &input, &out, &["--uin", UIN, "--qr", &qr]);
    assert!(o.status.success(), "{}", common::text(&o));
    assert_eq!(s.sim.logins().len(), 1);

    let unbreakable = format!(
        "https://bsk.wb.gov.in/{}?uin={UIN}",
        "VerifyDigitallySignedCertificateIssuedByBanglaSahayataKendra".repeat(2)
    );
    let refused = s.dir.join("unbreakable.pdf");
    let o = sign_cli(
        &s,
        &input,
        &refused,
        &["--uin", UIN, "--qr", &format!("UIN:{UIN}|{unbreakable}")],
    );
    assert!(!o.status.success(), "an unreadable address was drawn");
    assert!(stderr(&o).contains("DOCUMENT_REFUSED"), "{}", stderr(&o));
    assert!(stderr(&o).contains("Verify at"), "{}", stderr(&o));
    assert!(!refused.exists());
    // A small box whose details, even at 2 points, run down over the
    // address lines: the UIN would be printed over the address.
    let reason: String = "Office of the Block Development Officer, Sabang, Paschim Medinipur "
        .repeat(10)
        .chars()
        .take(500)
        .collect();
    let short = format!("UIN:{UIN}|Verify:https://bsk.wb.gov.in/verify/{UIN}");
    let o = sign_cli(
        &s,
        &input,
        &refused,
        &[
            "--uin",
            UIN,
            "--qr",
            &short,
            "--reason",
            reason.trim_end(),
            "--location",
            reason.trim_end(),
            "--visible",
            "1,40,40,150,50",
        ],
    );
    assert!(!o.status.success(), "the UIN was drawn over the address");
    assert!(stderr(&o).contains("DOCUMENT_REFUSED"), "{}", stderr(&o));
    assert!(stderr(&o).contains("too small"), "{}", stderr(&o));
    assert!(!refused.exists());
    assert_eq!(
        s.sim.logins().len(),
        1,
        "a PIN was used for a refused stamp"
    );

    if !tools() {
        return;
    }
    judge_new_signature(&out, "Signature1", 0).unwrap();
    // Every word from "Verify" to the end of the stamp's text is at least
    // as tall as the name's floor (pdftotext's word box of a 7 pt line
    // is ~8 pt high).
    let heights = word_heights(&out);
    let from = heights
        .iter()
        .position(|(w, _)| w == "Verify")
        .unwrap_or_else(|| panic!("pdftotext has no \"Verify\": {heights:?}"));
    for (word, height) in &heights[from..] {
        assert!(*height >= 7.0, "\"{word}\" is drawn {height:.1} pt high");
    }
    // The lines after "Verify at" give the address back whole.
    let copied = pdftotext(&out, None);
    let after = copied
        .split("Verify at")
        .nth(1)
        .unwrap_or_else(|| panic!("no \"Verify at\" in {copied}"));
    let joined: String = after.split_whitespace().collect();
    assert!(joined.starts_with(&url), "{joined}");
    let png = render_at(&out, "stamp-verify-url", [0.0, 0.0, 595.0, 200.0], 200.0);
    assert_eq!(zbar(&png), qr, "{}", png.display());
    let read: String = ocr(&png, "eng", "11").split_whitespace().collect();
    for part in ["edistrict.wb.gov.in", "certificateVerification", "lang=en"] {
        assert!(
            read.contains(part),
            "Tesseract did not read \"{part}\" in {}: {read}",
            png.display()
        );
    }
}

/// Page 1 of `file` rendered by pdftoppm in grey at `dpi` (with
/// `extra` arguments): its width, height and pixels, row by row.
fn render_grey(file: &Path, dpi: u32, extra: &[&str]) -> (usize, usize, Vec<u8>) {
    let out = common::run(
        Command::new("pdftoppm")
            .args(["-gray", "-r", &dpi.to_string(), "-f", "1", "-l", "1"])
            .args(extra)
            .arg(file),
    );
    assert!(out.status.success(), "{}", common::text(&out));
    parse_pgm(&out.stdout)
}

/// A binary PGM (P5, 8 bits, comments allowed) as width, height and pixels.
fn parse_pgm(data: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while data[at].is_ascii_whitespace() {
            at += 1;
        }
        if data[at] == b'#' {
            // A comment (Ghostscript names itself) runs to the line's end.
            while data[at] != b'\n' {
                at += 1;
            }
            continue;
        }
        let start = at;
        while !data[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&data[start..at]).into_owned());
    }
    assert_eq!(fields[0], "P5", "not a binary PGM");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let pixels = data[at + 1..].to_vec();
    assert_eq!(pixels.len(), w * h);
    (w, h, pixels)
}

/// The width and height in pixels of what is drawn black: the QR code's
/// modules, the only black in a stamp (its text is blue and grey, and
/// anti-aliasing only lightens it).
fn black_extent((w, h, px): &(usize, usize, Vec<u8>)) -> (usize, usize) {
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for y in 0..*h {
        for x in 0..*w {
            if px[y * w + x] < 24 {
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            }
        }
    }
    assert!(x1 >= x0, "nothing black on the page");
    (x1 - x0 + 1, y1 - y0 + 1)
}

/// docs/CLI.md and the BSK order say 3 cm; the automatic certificate
/// stamp (300 x 118) drew its QR code 2.4 to 2.9 cm, shrunk to leave room
/// for the code's white margin and the "Verify at" line. Measured on the
/// page as pdftoppm renders it at 300 dpi (3 cm is 354 pixels), the code
/// is now 3 cm across for the UIN alone (the smallest symbol, whose white
/// margin is widest), a payload with an address, a long address on two
/// lines and version 40; zbarimg reads each, and the signature validates.
#[test]
fn the_automatic_certificate_stamps_qr_code_is_3_cm() {
    if !tools() {
        return;
    }
    let dir = test_dir("stamp_qr_3cm");
    let long = format!(
        "UIN:{UIN}|Verify:https://edistrict.wb.gov.in/PACAdmin/public/verification/certificateVerification.do?uin={UIN}&lang=en"
    );
    let cases = [
        ("uin", None, None),
        ("payload", Some(payload()), None),
        ("long-url", Some(long), None),
        ("v40", Some(payload()), Some(40)),
    ];
    for (name, qr, version) in cases {
        let out = dir.join(format!("{name}.pdf"));
        let mut o = opts("rsa2048");
        o.visible_auto = true;
        o.uin = Some(UIN.into());
        o.qr = qr.clone();
        o.qr_version = version;
        let mut s = signer("rsa2048");
        let signed = pdf::sign_file(&corpus("pyhanko-empty-a4.pdf"), &out, &mut s, &o).unwrap();
        judge_new_signature(&out, &signed.field_name, 0).unwrap();
        let png = render(
            &out,
            &format!("stamp-qr-3cm-{name}"),
            [0.0, 0.0, 595.0, 250.0],
        );
        assert_eq!(
            zbar(&png),
            qr.unwrap_or_else(|| UIN.into()),
            "{}",
            png.display()
        );

        let (w, h) = black_extent(&render_grey(&out, 300, &[]));
        let cm = |px: usize| px as f64 / 300.0 * 2.54;
        for side in [w, h] {
            assert!(
                (cm(side) - 3.0).abs() <= 0.03,
                "{name}: the QR code is {:.2} x {:.2} cm on the page ({}), not 3 cm",
                cm(w),
                cm(h),
                png.display()
            );
        }
    }
}

/// A page with /UserUnit (PDF 1.6): its unit is `unit` / 72 inch, not a
/// point. A4 with unit 2 is 297.5 x 421 units.
fn user_unit_page(unit: f64) -> Vec<u8> {
    let (w, h) = (595.0 / unit, 842.0 / unit);
    common::classic_pdf(
        b"%PDF-1.7\n",
        &[
            "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
            format!("<< /Type /Page /Parent 2 0 R /UserUnit {unit} /MediaBox [0 0 {w} {h}] /Resources << >> >>"),
        ],
        FIXED_ID,
    )
}

/// On a page whose /UserUnit is 2 a stamp's unit is 1/36 inch: the
/// automatic certificate stamp was laid out in page units as if they were
/// points, so its "3 cm" QR code came out 6 cm and every size in the stamp
/// twice what it says. Rendered by Ghostscript (which honours /UserUnit;
/// poppler 22 does not) at 300 dpi, the code is 3 cm; zbarimg reads it,
/// Tesseract reads the name, pdftotext's word boxes (in page units) show
/// the name, UIN and "Verify at" line no less than 7 pt on paper, and the
/// signature validates.
#[test]
fn stamps_keep_their_physical_sizes_on_pages_with_a_user_unit() {
    if !tools() || !have_tool("gs") {
        return;
    }
    let dir = test_dir("stamp_user_unit");
    let input = dir.join("user-unit-2.pdf");
    std::fs::write(&input, user_unit_page(2.0)).unwrap();
    let out = dir.join("signed.pdf");
    let long = format!(
        "UIN:{UIN}|Verify:https://edistrict.wb.gov.in/PACAdmin/public/verification/certificateVerification.do?uin={UIN}&lang=en"
    );
    let mut o = opts("rsa2048");
    o.visible_auto = true;
    o.uin = Some(UIN.into());
    o.qr = Some(long.clone());
    let mut s = signer("rsa2048");
    let signed = pdf::sign_file(&input, &out, &mut s, &o).unwrap();
    judge_new_signature(&out, &signed.field_name, 0).unwrap();

    let prefix = artifacts_dir().join("stamp-user-unit");
    let pgm = prefix.with_extension("pgm");
    let png = prefix.with_extension("png");
    for (device, file) in [("pgmraw", &pgm), ("png16m", &png)] {
        let st = common::run(
            Command::new("gs")
                .args(["-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-r300"])
                .arg(format!("-sDEVICE={device}"))
                .arg(format!("-sOutputFile={}", file.display()))
                .arg(&out),
        );
        assert!(st.status.success(), "{}", common::text(&st));
    }
    let page = parse_pgm(&std::fs::read(&pgm).unwrap());
    // A4 at 300 dpi is 2480 x 3508 (give or take Ghostscript's rounding).
    assert!(
        page.0.abs_diff(2480) <= 2 && page.1.abs_diff(3508) <= 2,
        "Ghostscript ignored /UserUnit: {} x {}",
        page.0,
        page.1
    );
    let (w, h) = black_extent(&page);
    let cm = |px: usize| px as f64 / 300.0 * 2.54;
    for side in [w, h] {
        assert!(
            (cm(side) - 3.0).abs() <= 0.03,
            "the QR code is {:.2} x {:.2} cm on paper ({}), not 3 cm",
            cm(w),
            cm(h),
            png.display()
        );
    }
    assert_eq!(zbar(&png), long, "{}", png.display());
    let seen = words(&ocr(&png, "eng", "11"));
    for word in ["Asha", "Verma", UIN] {
        assert!(
            seen.iter().any(|s| s == word),
            "Tesseract did not read \"{word}\" in {}: {seen:?}",
            png.display()
        );
    }
    let heights = word_heights(&out);
    for key in ["Asha", "Verma", UIN, "Verify"] {
        let (_, height) = heights
            .iter()
            .find(|(w, _)| w == key)
            .unwrap_or_else(|| panic!("pdftotext has no \"{key}\": {heights:?}"));
        // Page units of 2 points each.
        assert!(
            height * 2.0 >= 7.0,
            "\"{key}\" is {:.1} pt high on paper",
            height * 2.0
        );
    }
}

/// A certificate for `cn`, issued by the fixture's sub-CA like the others,
/// loaded with its key onto the SoftHSM token `ASHA-EPASS` of `s`; its id.
fn load_certificate_named(s: &SimSetup, cn: &str) -> String {
    let pki = fixture().dir.join("pki");
    let dir = s.dir.join("odd-name");
    std::fs::create_dir_all(&dir).unwrap();
    let at = |f: &str| dir.join(f).display().to_string();
    let ok = |cmd: &mut Command| {
        let o = common::run(cmd);
        assert!(o.status.success(), "{cmd:?}: {}", common::text(&o));
    };
    ok(Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt"])
        .args(["rsa_keygen_bits:2048", "-out", &at("key.pem")]));
    ok(Command::new("openssl")
        .args([
            "req",
            "-new",
            "-utf8",
            "-key",
            &at("key.pem"),
            "-out",
            &at("csr.pem"),
        ])
        .arg("-subj")
        .arg(format!("/C=IN/O=Government of Test/CN={cn}")));
    ok(Command::new("openssl")
        .args([
            "x509",
            "-req",
            "-in",
            &at("csr.pem"),
            "-days",
            "365",
            "-sha256",
        ])
        .args([
            "-set_serial",
            "0x5151",
            "-out",
            &at("cert.der"),
            "-outform",
            "DER",
        ])
        .arg("-CA")
        .arg(pki.join("subca.pem"))
        .arg("-CAkey")
        .arg(pki.join("subca.key.pem"))
        .arg("-extfile")
        .arg(pki.join("openssl.cnf"))
        .args(["-extensions", "v3_sign"]));
    ok(Command::new("openssl")
        .args(["pkcs8", "-topk8", "-nocrypt"])
        .args(["-in", &at("key.pem"), "-out", &at("key.p8.pem")]));
    let pin = fixture().user_pin.clone();
    ok(Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &s.conf)
        .args(["--import", &at("key.p8.pem"), "--token", "ASHA-EPASS"])
        .args(["--label", "odd", "--id", "51", "--pin", &pin]));
    ok(Command::new("pkcs11-tool")
        .env("SOFTHSM2_CONF", &s.conf)
        .args(["--module", "/usr/lib/softhsm/libsofthsm2.so"])
        .args(["--token-label", "ASHA-EPASS", "--login", "--pin", &pin])
        .args(["--write-object", &at("cert.der"), "--type", "cert"])
        .args(["--id", "51", "--label", "odd"]));
    let der = std::fs::read(dir.join("cert.der")).unwrap();
    common::hex_sha256(&der)[..16].to_string()
}

/// The signer's name comes from the certificate, and the stamp refused one
/// it could not draw (Chinese, with no font for it) only after the PIN had
/// been asked for and the token logged in to. The certificate is read from
/// the token before any login, so the check is made as soon as it is
/// chosen: the token simulator counts no login for the refused stamp. An
/// invisible signature draws no name and signs with the same certificate
/// (pyHanko and pdfsig validate it).
#[test]
fn a_signer_name_the_stamp_cannot_draw_is_refused_before_the_pin() {
    if !have_tool("openssl") || !have_tool("pkcs11-tool") || !have_tool("softhsm2-util") {
        return;
    }
    let s = SimSetup::new("stamp_cli_undrawable_name", json!({}));
    let id = load_certificate_named(&s, "Asha 批准");
    let input = corpus("pyhanko-empty-a4.pdf");
    let sign = |out: &Path, extra: &[&str]| {
        let mut args = vec!["--pin-stdin", "sign", "--cert", id.as_str()];
        args.extend_from_slice(extra);
        let mut c = s.mohor(&args);
        c.arg(&input).arg("-o").arg(out);
        let o = run_with_stdin(&mut c, &format!("{}\n", fixture().user_pin));
        assert_no_panic(&o);
        o
    };
    for visible in [["--visible", "1,40,560,515,220"], ["--uin", UIN]] {
        let out = s.dir.join("stamped.pdf");
        let o = sign(&out, &visible);
        assert!(
            !o.status.success(),
            "the name was drawn: {}",
            common::text(&o)
        );
        assert!(stderr(&o).contains("DOCUMENT_REFUSED"), "{}", stderr(&o));
        assert!(stderr(&o).contains("cannot draw"), "{}", stderr(&o));
        assert!(!out.exists());
    }
    assert_eq!(
        s.sim.logins().len(),
        0,
        "the PIN was asked for a stamp that could not be drawn"
    );

    let out = s.dir.join("invisible.pdf");
    let o = sign(&out, &[]);
    assert!(o.status.success(), "{}", common::text(&o));
    assert_eq!(s.sim.logins().len(), 1);
    if judges_available() {
        judge_new_signature(&out, "Signature1", 0).unwrap();
    }
}

/// The same refusal for a batch: every document would carry the name, so
/// none is signed, the PIN is never asked for, and nothing is written to
/// the output folder. Then the same batch without a stamp signs both
/// (pyHanko and pdfsig validate one).
#[test]
fn a_batch_whose_stamp_cannot_draw_the_signer_name_is_refused_before_the_pin() {
    if !have_tool("openssl") || !have_tool("pkcs11-tool") || !have_tool("softhsm2-util") {
        return;
    }
    let s = SimSetup::new("stamp_cli_undrawable_name_batch", json!({}));
    let id = load_certificate_named(&s, "Asha 批准");
    let inputs: Vec<PathBuf> = ["note-1.pdf", "note-2.pdf"]
        .iter()
        .map(|name| {
            let path = s.dir.join(name);
            std::fs::copy(corpus("pyhanko-empty-a4.pdf"), &path).unwrap();
            path
        })
        .collect();
    let out_dir = s.dir.join("signed");
    std::fs::create_dir_all(&out_dir).unwrap();
    let batch = |extra: &[&str]| {
        let mut args = vec!["--pin-stdin", "sign", "--cert", id.as_str()];
        args.extend_from_slice(extra);
        let mut c = s.mohor(&args);
        c.args(&inputs).arg("--out-dir").arg(&out_dir);
        let o = run_with_stdin(&mut c, &format!("{}\n", fixture().user_pin));
        assert_no_panic(&o);
        o
    };
    let o = batch(&["--visible", "1,40,560,515,220"]);
    assert!(
        !o.status.success(),
        "the name was drawn: {}",
        common::text(&o)
    );
    assert!(stderr(&o).contains("cannot draw"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_dir(&out_dir).unwrap().count(),
        0,
        "a refused batch wrote files"
    );
    assert_eq!(
        s.sim.logins().len(),
        0,
        "the PIN was asked for stamps that could not be drawn"
    );

    let o = batch(&[]);
    assert!(o.status.success(), "{}", common::text(&o));
    assert_eq!(s.sim.logins().len(), 1, "one login for the whole batch");
    let signed = out_dir.join("note-1.pdf");
    assert!(signed.exists(), "{}", common::text(&o));
    assert!(out_dir.join("note-2.pdf").exists(), "{}", common::text(&o));
    if judges_available() {
        judge_new_signature(&signed, "Signature1", 0).unwrap();
    }
}

/// The UIN comes from the BSK order No. 908-CS/(61)/2022 of 5 July 2022,
/// and its year is the year the certificate's service is delivered (see
/// the later-year test above): no certificate carried one before 2022.
/// `AMD0152021000001` was accepted (the bound was 2000) and printed and put
/// in the QR code; it is now refused before the PIN, and 2022, the order's
/// own example year, signs: zbarimg reads it from the QR code, pdftotext
/// copies it from the stamp, pyHanko and pdfsig validate the signature.
#[test]
fn a_uin_from_before_the_order_is_refused() {
    let s = SimSetup::new("stamp_cli_uin_before_order", json!({}));
    let input = corpus("pyhanko-empty-a4.pdf");
    for early in ["AMD0152021000001", "AMD0152000000001"] {
        let out = s.dir.join("early.pdf");
        let o = sign_cli(&s, &input, &out, &["--uin", early]);
        assert!(!o.status.success(), "{early} was accepted");
        assert!(stderr(&o).contains("INVALID_REQUEST"), "{}", stderr(&o));
        assert!(stderr(&o).contains("2022"), "{}", stderr(&o));
        assert!(!out.exists());
    }
    assert_eq!(s.sim.logins().len(), 0, "a PIN was used for a refused UIN");

    let out = s.dir.join("first-year.pdf");
    let o = sign_cli(&s, &input, &out, &["--uin", UIN]);
    assert!(o.status.success(), "{}", common::text(&o));
    if tools() {
        assert_certificate_stamp(&out, "stamp-uin-first-year", UIN, UIN);
    }
}

/// A4 with /UserUnit `unit` and an empty signature field "Sig1" whose box
/// is 300 x 118 points on paper, 40 points from the bottom left corner.
fn user_unit_page_with_field(unit: f64) -> Vec<u8> {
    let (w, h) = (595.0 / unit, 842.0 / unit);
    let b = [40.0 / unit, 40.0 / unit, 340.0 / unit, 158.0 / unit];
    common::classic_pdf(
        b"%PDF-1.7\n",
        &[
            "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] >> >>".to_string(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
            format!(
                "<< /Type /Page /Parent 2 0 R /UserUnit {unit} /MediaBox [0 0 {w} {h}] \
                 /Resources << >> /Annots [4 0 R] >>"
            ),
            format!(
                "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Sig1) /F 4 /P 3 0 R \
                 /Rect [{} {} {} {}] >>",
                b[0], b[1], b[2], b[3]
            ),
        ],
        FIXED_ID,
    )
}

/// An existing signature field on a /UserUnit 2 page is stamped as the
/// same field on an ordinary page: Ghostscript's renders of the two at 300
/// dpi have QR codes of one size (the widget's page is looked up for its
/// unit as for its /Rotate), and both signatures validate.
#[test]
fn an_existing_field_on_a_user_unit_page_is_stamped_as_on_paper() {
    if !tools() || !have_tool("gs") {
        return;
    }
    let dir = test_dir("stamp_user_unit_field");
    let mut sides = Vec::new();
    for unit in [1.0, 2.0] {
        let input = dir.join(format!("field-unit-{unit}.pdf"));
        std::fs::write(&input, user_unit_page_with_field(unit)).unwrap();
        let out = dir.join(format!("signed-unit-{unit}.pdf"));
        let mut o = opts("rsa2048");
        o.field = Some("Sig1".into());
        o.uin = Some(UIN.into());
        let mut s = signer("rsa2048");
        pdf::sign_file(&input, &out, &mut s, &o).unwrap();
        judge_new_signature(&out, "Sig1", 0).unwrap();
        let pgm = artifacts_dir().join(format!("stamp-user-unit-field-{unit}.pgm"));
        let st = common::run(
            Command::new("gs")
                .args([
                    "-q",
                    "-dNOPAUSE",
                    "-dBATCH",
                    "-dSAFER",
                    "-r300",
                    "-sDEVICE=pgmraw",
                ])
                .arg(format!("-sOutputFile={}", pgm.display()))
                .arg(&out),
        );
        assert!(st.status.success(), "{}", common::text(&st));
        sides.push(black_extent(&parse_pgm(&std::fs::read(&pgm).unwrap())));
    }
    let (a, b) = (sides[0], sides[1]);
    assert!(
        a.0.abs_diff(b.0) <= 2 && a.1.abs_diff(b.1) <= 2,
        "the QR code is {a:?} pixels on an ordinary page and {b:?} with /UserUnit 2"
    );
}
