//! PDF signatures: find every signed field, check that its byte range covers
//! its whole revision except the /Contents hex string, check the CMS inside
//! against those bytes, and judge what later revisions changed.

use std::collections::HashSet;

use time::OffsetDateTime;

use super::changes::{self, FieldLock, Policy};
use super::cms::{self, Content, SignedContent, SignedData};
use super::crypto::Hash;
use super::input::{Input, Ranges};
use super::report::{Kind, Level, Modifications, Report, SignatureReport};
use super::revocation::{RevocationStatus, ValidationData};
use super::trust::TrustStore;
use super::{signer_report, VerifyError};
use crate::pdf::read::{decode_text, Dict, Document, Entry, ObjRef, Object};

/// The most the /ByteRange may leave out: a signature with its chain,
/// timestamp and revocation data is tens of KiB; a gap of megabytes is not
/// a signature, and is not read.
const MAX_CONTENTS: u64 = 16 << 20;

/// One signature as the file declares it.
struct Declared {
    field: String,
    sig_ref: Option<ObjRef>,
    sig: Dict,
    /// The field's own /Lock dictionary (FieldMDP intent).
    lock: Option<Dict>,
}

pub fn verify(
    input: &Input,
    store: &TrustStore,
    now: OffsetDateTime,
) -> Result<Report, VerifyError> {
    verify_with_password(input, None, store, now)
}

/// [`verify`] of a PDF encrypted with a user password the caller knows
/// (the consent checks earlier signatures with the request's password).
pub fn verify_with_password(
    input: &Input,
    password: Option<&[u8]>,
    store: &TrustStore,
    now: OffsetDateTime,
) -> Result<Report, VerifyError> {
    let mut doc =
        Document::open(input.path()).map_err(|e| VerifyError::Unreadable(e.to_string()))?;
    if doc.is_encrypted() {
        // Most signed encrypted PDFs open with the empty user password.
        doc.unlock(Some(password.unwrap_or(b""))).map_err(|e| {
            VerifyError::Unreadable(match password {
                None => {
                    format!("the PDF is encrypted and cannot be opened without a password: {e}")
                }
                Some(_) => format!("the PDF does not open with the password given: {e}"),
            })
        })?;
    }
    let declared = declared_signatures(&mut doc);
    let last_end = input.content_end();

    let dss = crate::pdf::read_dss(&mut doc);
    let dss = ValidationData {
        ocsps: dss.ocsps,
        crls: dss.crls,
    };
    let mut reports = Vec::new();
    let mut ordered: Vec<(u64, Declared)> = declared
        .into_iter()
        .map(|d| (range_end(&d.sig).unwrap_or(u64::MAX), d))
        .collect();
    ordered.sort_by_key(|(e, _)| *e);
    // The document's certification: only its first signature may certify
    // (ISO 32000-1 §12.8.2.2). A DocMDP claim in a later signature's
    // dictionary — anyone who signs next can write one, and list their
    // field first — must not loosen what the certification allows.
    let docmdp = ordered
        .first()
        .and_then(|(_, d)| docmdp_level(&mut doc, &d.sig));
    let mut locks: Vec<FieldLock> = Vec::new();
    let mut signed_end = 0u64;
    for (i, (_, d)) in ordered.iter().enumerate() {
        locks.extend(field_locks(&mut doc, d));
        let policy = Policy {
            docmdp,
            locks: locks.clone(),
        };
        let mut r = check_one(input, &mut doc, d, &dss, store, now, &policy);
        if i == 0 {
            r.certification = docmdp;
        } else if docmdp_level(&mut doc, &d.sig).is_some() {
            r.problems.push(
                "the signature claims to certify the document, but only the first signature can; the claim is ignored"
                    .into(),
            );
        }
        // B-LT: the DSS carries what shows the signer's path not revoked.
        if r.level == Some(Level::BT) && r.revocation.status == RevocationStatus::Valid {
            r.level = Some(Level::BLT);
        }
        if let Some(br) = r.byte_range {
            signed_end = signed_end.max(br[2] + br[3]);
        }
        reports.push(r);
    }
    archive_levels(&mut reports);
    Ok(Report {
        unsigned_changes_at_end: !reports.is_empty() && signed_end < last_end,
        signatures: reports,
        warnings: super::warnings::document_warnings(&mut doc),
    })
}

/// Signed signature fields, each once, in the order the form lists them.
fn declared_signatures(doc: &mut Document) -> Vec<Declared> {
    let s = super::structure::Structure::read(doc);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for f in s.fields.iter().filter(|f| f.is_signature()) {
        let Some(v) = f.dict.get("V") else { continue };
        let sig_ref = v.as_ref();
        let Ok(Object::Dict(sig)) = doc.resolve(v) else {
            continue;
        };
        if let Some(r) = sig_ref {
            if !seen.insert(r) {
                continue;
            }
        }
        let lock = doc.resolve_dict(f.dict.get("Lock"), "Lock").ok().flatten();
        out.push(Declared {
            field: f.name.clone(),
            sig_ref,
            sig,
            lock,
        });
    }
    out
}

fn byte_range(sig: &Dict) -> Option<Vec<i64>> {
    sig.get("ByteRange")
        .and_then(Object::as_array)
        .map(|a| a.iter().map(|x| x.as_int().unwrap_or(-1)).collect())
}

fn range_end(sig: &Dict) -> Option<u64> {
    let br = byte_range(sig)?;
    let (c, d) = (*br.get(2)?, *br.get(3)?);
    u64::try_from(c.checked_add(d)?).ok()
}

/// Check the byte range; on success the four numbers and the CMS bytes
/// taken from the gap.
fn check_range(input: &Input, doc: &Document, d: &Declared) -> Result<([u64; 4], Vec<u8>), String> {
    let br = byte_range(&d.sig).ok_or("the signature has no /ByteRange")?;
    let [a, b, c, dl] = <[i64; 4]>::try_from(br.as_slice())
        .map_err(|_| "the /ByteRange does not have four numbers")?;
    if [a, b, c, dl].iter().any(|x| *x < 0) {
        return Err("the /ByteRange holds negative or invalid numbers".into());
    }
    let [a, b, c, dl] = [a, b, c, dl].map(|x| x as u64);
    let len = input.len();
    if a != 0 {
        return Err("the /ByteRange does not start at the beginning of the file".into());
    }
    if b >= c {
        return Err("the /ByteRange's two parts overlap".into());
    }
    if c.checked_add(dl).is_none_or(|e| e > len) {
        return Err("the /ByteRange runs past the end of the file".into());
    }
    let end = c + dl;
    if end != len && !input.revision_ends().contains(&end) {
        return Err("the /ByteRange does not cover its whole revision".into());
    }
    if c - b > MAX_CONTENTS {
        return Err("the bytes left out of the /ByteRange are too many to be a signature".into());
    }
    let gap = input
        .read(b, (c - b) as usize)
        .map_err(|e| format!("cannot read the document: {e}"))?;
    if gap.first() != Some(&b'<') || gap.last() != Some(&b'>') {
        return Err("the bytes left out of the /ByteRange are not exactly the /Contents".into());
    }
    let hex_text: Vec<u8> = gap[1..gap.len() - 1]
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let cms = hex::decode(&hex_text)
        .map_err(|_| "the bytes left out of the /ByteRange are not a hex string")?;
    // The gap must lie in the signature dictionary's own object, which
    // cannot sit in a (compressed) object stream.
    match d
        .sig_ref
        .and_then(|r| doc.xref.entries.get(&r.num))
        .copied()
    {
        Some(Entry::InFile { offset, .. }) if !(offset < b && c <= end) => {
            return Err(
                "the /ByteRange leaves out bytes that are not this signature's /Contents".into(),
            );
        }
        Some(Entry::InStream { .. }) => {
            return Err("the signature dictionary is inside an object stream".into());
        }
        _ => {}
    }
    // In an encrypted file the reader may have "decrypted" /Contents, the
    // one string that is never encrypted; the gap is the authority then.
    let declared = d
        .sig
        .get("Contents")
        .and_then(Object::as_str)
        .unwrap_or_default();
    if !doc.is_encrypted() && trim_zeros(declared) != trim_zeros(&cms) {
        return Err(
            "the /ByteRange leaves out bytes that are not this signature's /Contents".into(),
        );
    }
    Ok(([a, b, c, dl], cms))
}

fn trim_zeros(b: &[u8]) -> &[u8] {
    let n = b.iter().rposition(|&x| x != 0).map_or(0, |i| i + 1);
    &b[..n]
}

fn check_one(
    input: &Input,
    doc: &mut Document,
    d: &Declared,
    dss: &ValidationData,
    store: &TrustStore,
    now: OffsetDateTime,
    policy: &Policy,
) -> SignatureReport {
    let sub_filter = d
        .sig
        .get("SubFilter")
        .and_then(Object::as_name)
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    let claimed_m = d
        .sig
        .get("M")
        .and_then(Object::as_str)
        .and_then(|m| pdf_date(&decode_text(m)));
    let mut report = super::empty_report(d.field.clone(), Kind::Pdf, &sub_filter);
    report.signer = d
        .sig
        .get("Name")
        .and_then(Object::as_str)
        .map(decode_text)
        .unwrap_or_default();
    let (range, cms_bytes) = match check_range(input, doc, d) {
        Ok(x) => x,
        Err(p) => {
            report.problems.push(p);
            if let Some(end) = range_end(&d.sig) {
                report
                    .problems
                    .push("the signature is not trusted because its byte range is wrong".into());
                judge_later(input, doc, end, policy, &mut report);
            } else {
                report.modifications = Modifications::Illegal;
            }
            return report;
        }
    };
    report.byte_range = Some(range);
    let end = range[2] + range[3];
    report.covers_whole_file = end == input.len();
    let parts = input.ranges(vec![(0, range[1]), (range[2], range[3])]);

    match sub_filter.as_str() {
        "ETSI.RFC3161" => match super::ber::parse(&cms_bytes) {
            Ok(tlv) => {
                let ts = cms::check_timestamp(&tlv, &parts, 0);
                super::timestamp_signature_report(&ts, dss, store, now, &mut report);
            }
            Err(e) => report
                .problems
                .push(format!("unreadable timestamp token: {e}")),
        },
        _ => match cms::check(&cms_bytes, Content::Detached(&parts)) {
            Ok(sd) => {
                let mismatch = check_subfilter(&sub_filter, &sd, &parts);
                if let Some(signer) = sd.signers.first() {
                    signer_report(&sd, signer, claimed_m, dss, store, now, &mut report);
                }
                if let Some(p) = mismatch {
                    report.intact = false;
                    report.trusted = false;
                    report.problems.insert(0, p);
                }
                if sd.signers.len() > 1 {
                    // A PDF signature has exactly one SignerInfo (ISO
                    // 32000-1 §12.8.3.3.1, PAdES); which of several is "the"
                    // signer is anyone's guess, and a broken one must not
                    // hide behind a good first one (pyHanko refuses such a
                    // signature, openssl fails on the broken signer).
                    report.trusted = false;
                    report.problems.insert(
                        0,
                        format!(
                            "the signature holds {} signers where a PDF signature has exactly one; the first is reported, and the signature is not trusted",
                            sd.signers.len()
                        ),
                    );
                    let broken = sd.signers.iter().skip(1).filter(|s| !s.intact).count();
                    if broken > 0 {
                        report.intact = false;
                        report.problems.insert(
                            0,
                            format!("{broken} of the other signers in the signature do not verify"),
                        );
                    }
                }
            }
            Err(e) => report
                .problems
                .push(format!("unreadable signature (CMS): {e}")),
        },
    }
    judge_later(input, doc, end, policy, &mut report);
    report
}

/// adbe.pkcs7.sha1 signs a SHA-1 digest of the ranges, carried inside;
/// the other sub-filters sign the ranges themselves.
fn check_subfilter(sub_filter: &str, sd: &SignedData, parts: &Ranges<'_>) -> Option<String> {
    if sub_filter == "adbe.pkcs7.sha1" {
        let digest = match parts.digest(Hash::Sha1) {
            Ok(d) => d,
            Err(e) => return Some(e),
        };
        if sd.e_content.as_deref() != Some(digest.as_slice()) {
            return Some("the SHA-1 digest inside the signature does not match the document: the signed bytes were changed".into());
        }
        return None;
    }
    sd.e_content
        .as_ref()
        .map(|_| "a detached PDF signature carries content of its own".into())
}

/// Judge the revisions after the one ending at `end`: the document as
/// signed (the file's first `end` bytes, read in place) against the whole
/// one, `doc`, already open.
fn judge_later(
    input: &Input,
    doc: &mut Document,
    end: u64,
    policy: &Policy,
    report: &mut SignatureReport,
) {
    let last = input.content_end();
    if end >= last || end >= input.len() {
        return;
    }
    let Ok(mut old) = Document::open_prefix(input.path(), end) else {
        report.modifications = Modifications::Illegal;
        report.changes.push(
            "not allowed: the revision this signature covers cannot be read on its own".into(),
        );
        return;
    };
    let _ = old.unlock(Some(b""));
    let c = changes::analyze(&mut old, doc, policy);
    report.modifications = c.level;
    report.changes = c.items;
}

/// B-LT signatures followed by a document timestamp that holds reach B-LTA.
/// `reports` are in file order (by where their byte ranges end).
fn archive_levels(reports: &mut [SignatureReport]) {
    let is_doc_timestamp = |r: &SignatureReport| r.sub_filter == "ETSI.RFC3161";
    let Some(last_doc_timestamp) = reports
        .iter()
        .rposition(|r| is_doc_timestamp(r) && r.intact)
    else {
        return;
    };
    for r in reports.iter_mut().take(last_doc_timestamp) {
        if r.level == Some(Level::BLT) {
            r.level = Some(Level::BLTA);
        }
    }
}

/// DocMDP level of a certification signature (default 2), if it is one.
fn docmdp_level(doc: &mut Document, sig: &Dict) -> Option<u8> {
    let refs = sig.get("Reference").and_then(|r| doc.resolve(r).ok())?;
    for r in refs.as_array()? {
        let Ok(Some(rd)) = doc.resolve_dict(Some(r), "signature reference") else {
            continue;
        };
        if rd.get("TransformMethod").and_then(Object::as_name) == Some(b"DocMDP") {
            let p = doc
                .resolve_dict(rd.get("TransformParams"), "TransformParams")
                .ok()
                .flatten()
                .and_then(|tp| tp.get("P").and_then(Object::as_int))
                .unwrap_or(2);
            return Some(p.clamp(1, 3) as u8);
        }
    }
    None
}

fn field_locks(doc: &mut Document, d: &Declared) -> Vec<FieldLock> {
    let mut out: Vec<FieldLock> = d
        .lock
        .as_ref()
        .and_then(FieldLock::from_dict)
        .into_iter()
        .collect();
    let refs = d.sig.get("Reference").and_then(|r| doc.resolve(r).ok());
    for r in refs.as_ref().and_then(Object::as_array).unwrap_or_default() {
        let Ok(Some(rd)) = doc.resolve_dict(Some(r), "signature reference") else {
            continue;
        };
        if rd.get("TransformMethod").and_then(Object::as_name) == Some(b"FieldMDP") {
            if let Ok(Some(tp)) = doc.resolve_dict(rd.get("TransformParams"), "TransformParams") {
                out.extend(FieldLock::from_dict(&tp));
            }
        }
    }
    out
}

/// A PDF date `D:YYYYMMDDHHmmSS+HH'mm'` (fields after the year optional).
pub fn pdf_date(s: &str) -> Option<OffsetDateTime> {
    let s = s.strip_prefix("D:").unwrap_or(s);
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    let num = |r: std::ops::Range<usize>, default: u32| -> Option<u32> {
        match digits.get(r) {
            Some(t) => t.parse().ok(),
            None => Some(default),
        }
    };
    let year = digits.get(0..4)?.parse::<i32>().ok()?;
    let month = time::Month::try_from(num(4..6, 1)? as u8).ok()?;
    let date = time::Date::from_calendar_date(year, month, num(6..8, 1)? as u8).ok()?;
    let t = time::Time::from_hms(
        num(8..10, 0)? as u8,
        num(10..12, 0)? as u8,
        num(12..14, 0)? as u8,
    )
    .ok()?;
    let rest = &s[digits.len()..];
    let offset = match rest.chars().next() {
        Some(sign @ ('+' | '-')) => {
            let tz: String = rest[1..].chars().filter(char::is_ascii_digit).collect();
            let h: i8 = tz.get(0..2).and_then(|x| x.parse().ok()).unwrap_or(0);
            let m: i8 = tz.get(2..4).and_then(|x| x.parse().ok()).unwrap_or(0);
            let (h, m) = if sign == '-' { (-h, -m) } else { (h, m) };
            time::UtcOffset::from_hms(h, m, 0).ok()?
        }
        _ => time::UtcOffset::UTC,
    };
    Some(time::PrimitiveDateTime::new(date, t).assume_offset(offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_dates_with_and_without_offsets() {
        let t = pdf_date("D:20261123152011+05'30'").unwrap();
        assert_eq!(t.to_offset(time::UtcOffset::UTC).hour(), 9);
        assert_eq!(pdf_date("D:2021").unwrap().year(), 2021);
        assert!(pdf_date("garbage").is_none());
    }
}
