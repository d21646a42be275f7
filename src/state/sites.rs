//! Trusted sites: web origins the person allowed at the "trust this site?"
//! prompt, each with when it was allowed and until when. The rules live here
//! (pure, clock passed in); `StateStore` only reads and writes the file.
//!
//! File format (`trusted-sites.json`): a JSON array of
//! `{"origin", "since", "until"}` with RFC 3339 times. Versions before
//! expiry stored a plain array of origin strings; such a file is migrated on
//! first read: each origin counts as allowed at the migration and expires
//! like a new one.

use time::{Duration, OffsetDateTime};

/// One origin the person allowed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TrustedSite {
    /// Serialised origin, e.g. `https://eoffice.gov.in`.
    pub origin: String,
    /// When the person allowed it.
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    /// After this moment the site must ask again.
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
}

impl TrustedSite {
    pub fn is_current(&self, now: OffsetDateTime) -> bool {
        now < self.until
    }
}

/// What the file may hold: the current records, or the old plain list.
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
pub(super) enum Stored {
    Records(Vec<TrustedSite>),
    Origins(Vec<String>),
}

impl Default for Stored {
    fn default() -> Self {
        Stored::Records(Vec::new())
    }
}

impl Stored {
    pub(super) fn is_old_format(&self) -> bool {
        matches!(self, Stored::Origins(list) if !list.is_empty())
    }

    /// The records, migrating an old plain list at `now`.
    pub(super) fn into_records(self, now: OffsetDateTime, ttl: Duration) -> Vec<TrustedSite> {
        match self {
            Stored::Records(records) => records,
            Stored::Origins(origins) => {
                let mut records: Vec<TrustedSite> = Vec::new();
                for origin in origins {
                    if !records.iter().any(|r| r.origin == origin) {
                        records.push(TrustedSite {
                            origin,
                            since: now,
                            until: now + ttl,
                        });
                    }
                }
                records
            }
        }
    }
}

/// Drops expired records; true if any was dropped.
pub(super) fn prune(sites: &mut Vec<TrustedSite>, now: OffsetDateTime) -> bool {
    let before = sites.len();
    sites.retain(|s| s.is_current(now));
    sites.len() != before
}

/// Allows `origin` from `now` for `ttl` (allowing it again renews it).
pub(super) fn allow(
    sites: &mut Vec<TrustedSite>,
    origin: &str,
    now: OffsetDateTime,
    ttl: Duration,
) -> TrustedSite {
    let record = TrustedSite {
        origin: origin.to_owned(),
        since: now,
        until: now + ttl,
    };
    match sites.iter_mut().find(|s| s.origin == origin) {
        Some(existing) => *existing = record.clone(),
        None => sites.push(record.clone()),
    }
    record
}

/// The origin as people may type it for `mohor sites remove`: no trailing
/// slash, lower case (serialised origins are lower case).
pub fn normalise_origin(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const DAY: Duration = Duration::days(1);

    #[test]
    fn an_old_plain_list_becomes_records_that_expire() {
        let now = datetime!(2026-11-30 10:00 UTC);
        let old: Stored =
            serde_json::from_str(r#"["https://a.gov.in","https://a.gov.in","https://b.gov.in"]"#)
                .unwrap();
        assert!(old.is_old_format());
        let records = old.into_records(now, 90 * DAY);
        assert_eq!(records.len(), 2, "duplicates merged");
        assert!(records
            .iter()
            .all(|r| r.since == now && r.until == now + 90 * DAY));

        let text = serde_json::to_string(&records).unwrap();
        assert!(
            text.contains("\"since\":\"2026-11-30T10:00:00Z\""),
            "{text}"
        );
        let again: Stored = serde_json::from_str(&text).unwrap();
        assert!(!again.is_old_format());
        assert_eq!(again.into_records(now, DAY), records);

        let empty: Stored = serde_json::from_str("[]").unwrap();
        assert!(!empty.is_old_format());
    }

    #[test]
    fn a_site_expires_at_until_and_allowing_again_renews_it() {
        let t0 = datetime!(2026-01-01 0:00 UTC);
        let mut sites = Vec::new();
        let first = allow(&mut sites, "https://a.gov.in", t0, 90 * DAY);
        assert_eq!(first.until, datetime!(2026-04-01 0:00 UTC));
        assert!(first.is_current(t0 + 90 * DAY - Duration::SECOND));
        assert!(!first.is_current(t0 + 90 * DAY));

        let later = t0 + 30 * DAY;
        allow(&mut sites, "https://a.gov.in", later, 90 * DAY);
        assert_eq!(sites.len(), 1);
        assert_eq!(sites[0].since, later);

        allow(&mut sites, "https://b.gov.in", t0, DAY);
        assert!(!prune(&mut sites, t0 + DAY - Duration::SECOND));
        assert!(prune(&mut sites, t0 + DAY));
        assert_eq!(sites.len(), 1);
        assert_eq!(sites[0].origin, "https://a.gov.in");
    }

    #[test]
    fn typed_origins_are_normalised() {
        assert_eq!(
            normalise_origin(" https://EOffice.gov.in/ "),
            "https://eoffice.gov.in"
        );
    }
}
