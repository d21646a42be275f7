//! The unique identity number (UIN) of a certificate delivered to a
//! citizen (West Bengal BSK order No. 908-CS/(61)/2022): 16 characters,
//! department code (3 letters) + service code (3 digits) + year (4 digits)
//! + serial (6 digits), e.g. `AMD0152022000001`.

use std::fmt;

/// The order's department codes (assets/bsk/PROVENANCE.md).
static DEPARTMENTS: &str = include_str!("../../assets/bsk/department-codes.tsv");

/// The year of the order (No. 908-CS/(61)/2022, 5 July 2022) that made
/// UINs: a UIN's year is the year its certificate's service is delivered
/// (see [`Uin::check_year`]), so none is earlier.
const FIRST_YEAR: u32 = 2022;

/// A UIN that has the order's shape and a known department code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uin(String);

impl Uin {
    /// Check `text` as given (it is never upper-cased or trimmed: a UIN is
    /// an identifier and is printed exactly as approved).
    pub fn parse(text: &str) -> Result<Uin, String> {
        let b = text.as_bytes();
        if b.len() != 16 || !text.is_ascii() {
            return Err(format!(
                "the UIN \"{}\" must be 16 characters: department code (3 letters), service code \
                 (3 digits), year (4 digits), serial (6 digits), e.g. AMD0152022000001",
                text.chars().take(40).collect::<String>()
            ));
        }
        let (dept, rest) = text.split_at(3);
        if !dept.bytes().all(|c| c.is_ascii_uppercase()) {
            return Err(format!(
                "the UIN {text} must start with a department code of 3 capital letters"
            ));
        }
        if !rest.bytes().all(|c| c.is_ascii_digit()) {
            return Err(format!(
                "the UIN {text} must have 13 digits after the department code: service code \
                 (3), year (4), serial (6)"
            ));
        }
        if department(dept).is_none() {
            return Err(format!(
                "the UIN {text} starts with {dept}, which is not a department code of the BSK order"
            ));
        }
        let year: u32 = rest[3..7].parse().unwrap_or(0);
        if !(FIRST_YEAR..=2099).contains(&year) {
            return Err(format!(
                "the UIN {text} gives the year {year}; expected a year from {FIRST_YEAR} (UINs \
                 come from the BSK order of 5 July {FIRST_YEAR}) to 2099"
            ));
        }
        if &rest[0..3] == "000" || &rest[7..] == "000000" {
            return Err(format!(
                "the UIN {text} has a service code or serial of zero"
            ));
        }
        Ok(Uin(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The year of service the number gives (characters 7 to 10).
    pub fn year(&self) -> i32 {
        self.0.get(6..10).and_then(|y| y.parse().ok()).unwrap_or(0)
    }

    /// Refuse a number from a year after `signing_year` (the signature's
    /// year in Indian Standard Time): a certificate is numbered in the year
    /// its service is delivered, so `AMD0152099000001` signed in 2026 is a
    /// typing error that the stamp and QR code would otherwise carry.
    pub fn check_year(&self, signing_year: i32) -> Result<(), String> {
        if self.year() > signing_year {
            return Err(format!(
                "the UIN {} gives the year {}, after this signature's year {signing_year}: a \
                 certificate's number carries the year its service was delivered",
                self.0,
                self.year()
            ));
        }
        Ok(())
    }
}

impl fmt::Display for Uin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a certificate-issuance stamp carries: the UIN printed, and the QR
/// payload (the UIN alone when no payload is given).
pub struct CertificateStamp {
    pub uin: Option<Uin>,
    pub payload: Option<String>,
}

impl CertificateStamp {
    /// Check a request's `uin`, `qr` and QR version before anything else
    /// happens (no PIN is asked for a stamp that cannot be drawn).
    pub fn check(
        uin: Option<&str>,
        qr: Option<&str>,
        version: Option<u8>,
    ) -> Result<CertificateStamp, String> {
        let uin = uin.map(Uin::parse).transpose()?;
        if let (Some(u), Some(q)) = (&uin, qr) {
            if !carries_whole(q, u.as_str()) {
                return Err(format!(
                    "the QR payload must contain the UIN {u} on its own, not inside a longer \
                     number or word (the order asks that the QR code carry the certificate's \
                     unique number, the one printed)"
                ));
            }
        }
        if qr.is_some_and(|q| q.trim().is_empty()) {
            return Err("the QR payload is empty".into());
        }
        let payload = qr
            .map(str::to_string)
            .or_else(|| uin.as_ref().map(|u| u.to_string()));
        if let Some(p) = &payload {
            super::qr::check_fits(p, version)?;
        }
        Ok(CertificateStamp { uin, payload })
    }
}

/// Whether `payload` holds `uin` as a whole: not inside a longer run of
/// letters and digits, where `AMD01520220000012` would hold
/// `AMD0152022000001` and the QR code would carry another number than the
/// one printed.
fn carries_whole(payload: &str, uin: &str) -> bool {
    payload.match_indices(uin).any(|(at, _)| {
        let before = payload[..at].chars().next_back();
        let after = payload[at + uin.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

/// The first web address in a QR payload, printed as where to verify.
pub fn verify_url(payload: &str) -> Option<String> {
    payload
        .split(|c: char| c.is_whitespace() || matches!(c, '|' | ';' | ',' | '"' | '<' | '>'))
        .find_map(|t| {
            // `Verify:https://...` names its field before the address.
            let at = t.find("https://").or_else(|| t.find("http://"))?;
            Some(t[at..].to_string())
        })
}

/// The department's name for a code of the order.
pub fn department(code: &str) -> Option<&'static str> {
    DEPARTMENTS
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once('\t'))
        .find(|(c, _)| *c == code)
        .map(|(_, name)| name.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_orders_example_is_accepted() {
        let u = Uin::parse("AMD0152022000001").unwrap();
        assert_eq!(u.as_str(), "AMD0152022000001");
        assert_eq!(department("AMD"), Some("Agricultural Marketing Department"));
    }

    #[test]
    fn malformed_numbers_are_refused() {
        for bad in [
            "",
            "AMD015202200000",   // 15 characters
            "AMD01520220000012", // 17
            "amd0152022000001",  // lower case
            "XYZ0152022000001",  // no such department
            "AMD01520220000O1",  // letter O in the serial
            "AMD0151899000001",  // year
            "AMD0152021000001",  // before the order of 2022
            "AMD0002022000001",  // service 000
            "AMD0152022000000",  // serial 0
            "AMD015202200000१",  // Devanagari digit
        ] {
            assert!(Uin::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_year_after_the_signature_is_refused() {
        let u = Uin::parse("AMD0152027000001").unwrap();
        assert_eq!(u.year(), 2027);
        assert!(u.check_year(2026).is_err());
        assert!(u.check_year(2027).is_ok());
        assert!(u.check_year(2030).is_ok());
    }

    #[test]
    fn the_qr_must_carry_the_uin() {
        let ok = CertificateStamp::check(
            Some("AMD0152022000001"),
            Some("UIN=AMD0152022000001|name=Ram"),
            None,
        )
        .unwrap();
        assert!(ok.payload.unwrap().starts_with("UIN="));
        assert!(CertificateStamp::check(Some("AMD0152022000001"), Some("other"), None).is_err());
        // Inside a longer number it is another number.
        for longer in [
            "UIN:AMD01520220000012",
            "UIN:XAMD0152022000001",
            "https://bsk.wb.gov.in/v/AMD0152022000001a",
        ] {
            assert!(
                CertificateStamp::check(Some("AMD0152022000001"), Some(longer), None).is_err(),
                "{longer}"
            );
        }
        for whole in [
            "AMD0152022000001",
            "uin=AMD0152022000001&name=Ram",
            "Ref:AMD01520220000012|UIN:AMD0152022000001",
            "https://bsk.wb.gov.in/v/AMD0152022000001",
        ] {
            assert!(
                CertificateStamp::check(Some("AMD0152022000001"), Some(whole), None).is_ok(),
                "{whole}"
            );
        }
        let alone = CertificateStamp::check(Some("AMD0152022000001"), None, None).unwrap();
        assert_eq!(alone.payload.as_deref(), Some("AMD0152022000001"));
        assert!(CertificateStamp::check(None, Some(" "), None).is_err());
    }

    #[test]
    fn finds_the_verification_address() {
        assert_eq!(
            verify_url("UIN: X|Verify: https://edistrict.wb.gov.in/v?u=X|Date").as_deref(),
            Some("https://edistrict.wb.gov.in/v?u=X")
        );
        assert_eq!(
            verify_url("UIN:X|Verify:http://bsk.wb.gov.in/X").as_deref(),
            Some("http://bsk.wb.gov.in/X")
        );
        assert_eq!(verify_url("no address"), None);
    }

    #[test]
    fn the_table_has_the_orders_57_codes() {
        assert_eq!(DEPARTMENTS.lines().skip(1).count(), 57);
    }
}
