//! The cap on bytes held for pages across all connections (uploads and
//! unread downloads): 64 connections × 2 GiB each would fill any disk, so the
//! server reserves an upload's whole declared size before its first byte is
//! written, and refuses with `TOO_LARGE` when the reservation does not fit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Bytes reserved so far, shared by every connection of one server.
#[derive(Debug)]
pub(crate) struct SpoolBudget {
    limit: u64,
    used: AtomicU64,
}

/// Bytes held against the budget until dropped.
#[derive(Debug)]
pub(crate) struct Reservation {
    budget: Arc<SpoolBudget>,
    bytes: u64,
}

impl SpoolBudget {
    pub(crate) fn new(limit: u64) -> Arc<SpoolBudget> {
        Arc::new(SpoolBudget {
            limit,
            used: AtomicU64::new(0),
        })
    }

    /// Reserves `bytes`, or `None` when that would pass the limit.
    pub(crate) fn try_reserve(self: &Arc<Self>, bytes: u64) -> Option<Reservation> {
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                used.checked_add(bytes).filter(|total| *total <= self.limit)
            })
            .ok()?;
        Some(Reservation {
            budget: Arc::clone(self),
            bytes,
        })
    }

    #[cfg(test)]
    fn used(&self) -> u64 {
        self.used.load(Ordering::SeqCst)
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_fit_under_the_limit_and_are_given_back_when_dropped() {
        let budget = SpoolBudget::new(100);
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
}
