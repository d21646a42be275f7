//! CRLs fetched once and kept while they are current, for every signature
//! of a batch and every request of a running agent.
//!
//! A long-term signature needs the status of each certificate of its chain.
//! OCSP answers are fetched per signature (each is evidence made after that
//! signature's time-stamp), but a CRL is a published list with its own
//! validity: the root's CRL that proves a sub-CA, or a CA's CRL of
//! several megabytes, is the same document for the hundredth signature of
//! a sitting as for the first. Fetching it per signature cost a batch of
//! 100 B-LT signatures 100 downloads of the same file.
//!
//! Kept: only CRLs that passed every check for some certificate (signed by
//! their issuer, complete, current); until their `nextUpdate` and at most
//! [`CrlCache::MAX_AGE`] after they were fetched, so a CA that publishes a
//! revocation before its next scheduled CRL is heard within the hour; at most
//! [`CrlCache::MAX_BYTES`] in all, the oldest dropped first. Each use still
//! checks the CRL against the certificate at hand.

use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

struct Entry {
    url: String,
    der: Vec<u8>,
    fetched: OffsetDateTime,
    /// When the entry stops being offered: the CRL's `nextUpdate` or
    /// `fetched + MAX_AGE`, whichever is first.
    until: OffsetDateTime,
}

#[derive(Default)]
pub struct CrlCache {
    entries: Mutex<Vec<Entry>>,
}

impl CrlCache {
    /// Longest a CRL is reused after it was fetched.
    pub const MAX_AGE: Duration = Duration::hours(1);
    /// Most bytes of CRLs kept at once (a CRL larger than this is not kept).
    pub const MAX_BYTES: usize = 32 << 20;

    /// The CRL at `url` that passes `check`: a kept one while it is
    /// current, else a `fetch`ed one, which is kept when it passes (`check`
    /// answers the CRL's nextUpdate). An entry's hour runs from its fetch,
    /// however often it is used.
    pub fn obtain<E>(
        &self,
        url: &str,
        now: OffsetDateTime,
        fetch: impl FnOnce() -> Result<Vec<u8>, E>,
        check: impl Fn(&[u8]) -> Result<Option<OffsetDateTime>, E>,
    ) -> Result<Vec<u8>, E> {
        if let Some(kept) = self.get(url, now) {
            check(&kept)?;
            return Ok(kept);
        }
        let der = fetch()?;
        let next_update = check(&der)?;
        self.keep(url, &der, now, next_update);
        Ok(der)
    }

    /// The CRL fetched from `url`, if one is kept and still current at `now`.
    fn get(&self, url: &str, now: OffsetDateTime) -> Option<Vec<u8>> {
        let entries = self.entries.lock().ok()?;
        entries
            .iter()
            .find(|e| e.url == url && e.fetched <= now && now < e.until)
            .map(|e| e.der.clone())
    }

    /// Keep `der`, fetched from `url` at `fetched` and checked, until
    /// `next_update`. A CRL without a next update is not kept: nothing says
    /// how long it speaks for.
    fn keep(
        &self,
        url: &str,
        der: &[u8],
        fetched: OffsetDateTime,
        next_update: Option<OffsetDateTime>,
    ) {
        let Some(next_update) = next_update else {
            return;
        };
        if der.len() > Self::MAX_BYTES {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        entries.retain(|e| e.url != url);
        let mut total: usize = entries.iter().map(|e| e.der.len()).sum();
        while total + der.len() > Self::MAX_BYTES && !entries.is_empty() {
            total -= entries.remove(0).der.len();
        }
        entries.push(Entry {
            url: url.to_string(),
            der: der.to_vec(),
            fetched,
            until: next_update.min(fetched + Self::MAX_AGE),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minutes: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::days(20_000) + Duration::minutes(minutes)
    }

    #[test]
    fn a_crl_is_offered_while_current_and_within_the_hour() {
        let cache = CrlCache::default();
        cache.keep("http://ca/a.crl", b"A", t(0), Some(t(24 * 60)));
        assert_eq!(cache.get("http://ca/a.crl", t(59)), Some(b"A".to_vec()));
        assert_eq!(cache.get("http://ca/a.crl", t(60)), None, "an hour old");
        assert_eq!(cache.get("http://ca/other.crl", t(1)), None);

        cache.keep("http://ca/b.crl", b"B", t(0), Some(t(10)));
        assert_eq!(cache.get("http://ca/b.crl", t(9)), Some(b"B".to_vec()));
        assert_eq!(cache.get("http://ca/b.crl", t(10)), None, "past nextUpdate");
        assert_eq!(
            cache.get("http://ca/b.crl", t(-1)),
            None,
            "a clock set back does not make an entry older than it is"
        );
    }

    #[test]
    fn a_crl_in_use_is_fetched_again_an_hour_after_its_fetch() {
        let cache = CrlCache::default();
        let fetches = std::cell::Cell::new(0);
        let obtain = |minute: i64, passes: bool| {
            cache.obtain(
                "http://ca/a.crl",
                t(minute),
                || {
                    fetches.set(fetches.get() + 1);
                    Ok(b"A".to_vec())
                },
                |_| {
                    if passes {
                        Ok(Some(t(24 * 60)))
                    } else {
                        Err("refused")
                    }
                },
            )
        };
        assert_eq!(obtain(0, true), Ok(b"A".to_vec()));
        for minute in [10, 30, 59] {
            assert_eq!(obtain(minute, true), Ok(b"A".to_vec()));
        }
        assert_eq!(fetches.get(), 1, "used, not fetched, within the hour");
        obtain(61, true).unwrap();
        assert_eq!(fetches.get(), 2, "fetched again an hour after the fetch");
        // A kept CRL that fails its check now is refused, not fetched around.
        assert_eq!(obtain(62, false), Err("refused"));
        let other = cache.obtain(
            "http://ca/b.crl",
            t(62),
            || Ok(b"B".to_vec()),
            |_| Err::<Option<OffsetDateTime>, _>("refused"),
        );
        assert_eq!(other, Err("refused"));
        assert_eq!(
            cache.get("http://ca/b.crl", t(63)),
            None,
            "a refused CRL is not kept"
        );
    }

    #[test]
    fn a_crl_without_next_update_or_too_large_is_not_kept() {
        let cache = CrlCache::default();
        cache.keep("http://ca/a.crl", b"A", t(0), None);
        assert_eq!(cache.get("http://ca/a.crl", t(1)), None);
        let huge = vec![0u8; CrlCache::MAX_BYTES + 1];
        cache.keep("http://ca/huge.crl", &huge, t(0), Some(t(30)));
        assert_eq!(cache.get("http://ca/huge.crl", t(1)), None);
    }

    #[test]
    fn a_newer_fetch_replaces_the_old_and_the_oldest_go_first_when_full() {
        let cache = CrlCache::default();
        cache.keep("http://ca/a.crl", b"old", t(0), Some(t(30)));
        cache.keep("http://ca/a.crl", b"new", t(5), Some(t(30)));
        assert_eq!(cache.get("http://ca/a.crl", t(6)), Some(b"new".to_vec()));

        let half = vec![1u8; CrlCache::MAX_BYTES / 2 + 1];
        cache.keep("http://ca/b.crl", &half, t(6), Some(t(30)));
        cache.keep("http://ca/c.crl", &half, t(7), Some(t(30)));
        assert_eq!(cache.get("http://ca/a.crl", t(8)), None, "oldest dropped");
        assert_eq!(cache.get("http://ca/b.crl", t(8)), None, "still too much");
        assert!(cache.get("http://ca/c.crl", t(8)).is_some());
    }
}
