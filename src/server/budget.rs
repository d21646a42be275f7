//! The cap on bytes held for pages across all connections (uploads and
//! unread downloads): 64 connections × 2 GiB each would fill any disk, so the
//! server reserves an upload's whole declared size before its first byte is
//! written, and refuses with `TOO_LARGE` when the reservation does not fit.
//!
//! Uploads also count against their site's share of the cap: a page that
//! keeps its uploads alive with a byte now and then (or begins them again
//! before they expire) would otherwise hold the whole cap, and every other
//! site would be told `TOO_LARGE` until it stopped.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Bytes reserved so far, shared by every connection of one server.
#[derive(Debug)]
pub(crate) struct SpoolBudget {
    limit: u64,
    /// The most one site's uploads may hold together.
    site_share: u64,
    used: AtomicU64,
    /// Bytes of uploads held per site (origin); only sites holding some.
    by_site: Mutex<HashMap<String, u64>>,
}

/// Why a reservation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// All pages together hold as much as the cap allows.
    CapFull,
    /// This site's uploads already hold its share of the cap.
    SiteShare,
}

/// Bytes held against the budget until dropped.
#[derive(Debug)]
pub(crate) struct Reservation {
    budget: Arc<SpoolBudget>,
    bytes: u64,
    /// The site whose share these bytes also count against.
    site: Option<String>,
}

impl SpoolBudget {
    /// A cap of `limit` bytes. One site's uploads may hold half of it, or
    /// the largest upload where that is more: the share must never refuse
    /// a lone upload the cap alone would take.
    pub(crate) fn new(limit: u64, max_upload: u64) -> Arc<SpoolBudget> {
        Arc::new(SpoolBudget {
            limit,
            site_share: (limit / 2).max(max_upload.min(limit)),
            used: AtomicU64::new(0),
            by_site: Mutex::new(HashMap::new()),
        })
    }

    /// Reserves `bytes`, or `None` when that would pass the limit.
    pub(crate) fn try_reserve(self: &Arc<Self>, bytes: u64) -> Option<Reservation> {
        self.take(bytes).then(|| Reservation {
            budget: Arc::clone(self),
            bytes,
            site: None,
        })
    }

    /// Reserves `bytes` of an upload for `site`: within the cap and within
    /// the site's share of it.
    pub(crate) fn try_reserve_upload(
        self: &Arc<Self>,
        site: &str,
        bytes: u64,
    ) -> Result<Reservation, Refusal> {
        // The site's count and the cap are checked and taken under one
        // lock, so two connections of a site cannot both pass the share.
        let mut by_site = self.by_site.lock().unwrap_or_else(PoisonError::into_inner);
        let held = by_site.get(site).copied().unwrap_or(0);
        if held.saturating_add(bytes) > self.site_share {
            return Err(Refusal::SiteShare);
        }
        if !self.take(bytes) {
            return Err(Refusal::CapFull);
        }
        by_site.insert(site.to_owned(), held + bytes);
        Ok(Reservation {
            budget: Arc::clone(self),
            bytes,
            site: Some(site.to_owned()),
        })
    }

    fn take(&self, bytes: u64) -> bool {
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                used.checked_add(bytes).filter(|total| *total <= self.limit)
            })
            .is_ok()
    }

    #[cfg(test)]
    fn used(&self) -> u64 {
        self.used.load(Ordering::SeqCst)
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(site) = &self.site {
            let mut by_site = self
                .budget
                .by_site
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(held) = by_site.get_mut(site) {
                *held = held.saturating_sub(self.bytes);
                if *held == 0 {
                    by_site.remove(site);
                }
            }
        }
        self.budget.used.fetch_sub(self.bytes, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_fit_under_the_limit_and_are_given_back_when_dropped() {
        let budget = SpoolBudget::new(100, 100);
        let a = budget.try_reserve(60);
        assert!(a.is_some());
        assert!(budget.try_reserve(41).is_none(), "60 + 41 > 100");
        let b = budget.try_reserve(40);
        assert!(b.is_some());
        assert_eq!(budget.used(), 100);
        drop(a);
        assert_eq!(budget.used(), 40);
        assert!(budget.try_reserve(u64::MAX).is_none(), "no overflow");
        drop(b);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn one_site_s_uploads_hold_at_most_half_the_cap_and_leave_the_rest_to_others() {
        let budget = SpoolBudget::new(100, 30);
        let a = budget.try_reserve_upload("https://a.gov.in", 50);
        assert!(a.is_ok());
        assert_eq!(
            budget.try_reserve_upload("https://a.gov.in", 1).err(),
            Some(Refusal::SiteShare)
        );
        let b = budget.try_reserve_upload("https://b.gov.in", 50);
        assert!(b.is_ok(), "the other half is the other sites'");
        assert_eq!(
            budget.try_reserve_upload("https://c.gov.in", 1).err(),
            Some(Refusal::CapFull)
        );
        drop(a);
        let again = budget.try_reserve_upload("https://a.gov.in", 50);
        assert!(
            again.is_ok(),
            "a dropped reservation gives the site's share back"
        );
        assert_eq!(budget.used(), 100);
    }

    #[test]
    fn the_share_never_refuses_a_lone_upload_the_cap_would_take() {
        let budget = SpoolBudget::new(100, 80);
        let lone = budget.try_reserve_upload("https://a.gov.in", 80);
        assert!(lone.is_ok(), "the largest upload fits in an empty cap");
        drop(lone);
        assert!(budget.try_reserve_upload("https://a.gov.in", 200).is_err());
        assert_eq!(budget.used(), 0);
        assert!(budget.by_site.lock().map(|m| m.is_empty()).unwrap_or(false));
    }
}
