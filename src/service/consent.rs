//! What the consent dialog shows about a PDF signature, built from the
//! request that will be signed — the same [`PdfRequest`] whose options go
//! into the document, so what the person approves is what is written.

use super::PdfRequest;
use crate::ui::{Certification, SignatureDetails, Stamp};

/// The certification Mohor writes for `certify` (see
/// [`crate::pdf::PdfSignOptions::certify`]: DocMDP P=2).
const CERTIFY_LEVEL: Certification = Certification::FormFilling;

/// Everything the signature will carry besides the signature value.
///
/// A UIN and QR payload (`appearance.uin` / `appearance.qr`, `--uin` /
/// `--qr`) are shown when present: the payload in full, as the QR code
/// will carry it (the UIN alone when only a UIN is given).
pub fn pdf_signature_details(request: &PdfRequest) -> SignatureDetails {
    let stamp = match (request.visible, request.visible_auto) {
        (Some(v), _) => Stamp::At {
            page: v.page,
            x: v.x,
            y: v.y,
            width: v.w,
            height: v.h,
        },
        (None, true) => Stamp::Auto,
        (None, false) => Stamp::Invisible,
    };
    SignatureDetails {
        reason: request.reason.clone(),
        location: request.location.clone(),
        certification: request.certify.then_some(CERTIFY_LEVEL),
        stamp,
        field: request.field.clone(),
        uin: request.uin.clone(),
        qr: request.qr.clone().or_else(|| request.uin.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_that_reaches_the_pdf_is_in_the_details() {
        let request = PdfRequest {
            reason: Some("I hereby resign".into()),
            location: Some("Pune".into()),
            field: Some("Approver".into()),
            visible: Some(crate::pdf::VisibleStamp {
                page: 3,
                x: 36.0,
                y: 40.0,
                w: 180.0,
                h: 50.0,
            }),
            certify: true,
            ..PdfRequest::default()
        };
        let d = pdf_signature_details(&request);
        assert_eq!(d.reason.as_deref(), Some("I hereby resign"));
        assert_eq!(d.location.as_deref(), Some("Pune"));
        assert_eq!(d.field.as_deref(), Some("Approver"));
        assert_eq!(d.certification, Some(Certification::FormFilling));
        assert_eq!(
            d.stamp,
            Stamp::At {
                page: 3,
                x: 36.0,
                y: 40.0,
                width: 180.0,
                height: 50.0
            }
        );
        // The PDF layer certifies with the level the dialog names.
        let opts = request.options("S", "I", time::OffsetDateTime::UNIX_EPOCH);
        assert!(opts.certify);

        let plain = pdf_signature_details(&PdfRequest::default());
        assert_eq!(plain.certification, None);
        assert_eq!(plain.stamp, Stamp::Invisible);
        let auto = PdfRequest {
            visible_auto: true,
            ..PdfRequest::default()
        };
        assert_eq!(pdf_signature_details(&auto).stamp, Stamp::Auto);
    }
}
