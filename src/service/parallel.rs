//! Work on every item of a batch at once, on as many threads as the
//! machine has cores (at most [`MAX_THREADS`]), results in the items' order.
//! Preflight reads and lays out each document before anyone is asked
//! anything; a hundred documents on one thread kept one core idle.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Enough to keep a desktop's cores busy without a thread per document.
const MAX_THREADS: usize = 4;

/// `f` applied to every item, in order. One item, or one core, runs on the
/// calling thread.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(MAX_THREADS).min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        mine.push((i, f(item)));
                    }
                    mine
                })
            })
            .collect();
        workers
            .into_iter()
            // A panic in `f` goes on in the caller, as it would on one thread.
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_the_items_order() {
        let items: Vec<u32> = (0..1000).collect();
        let squares = map(&items, |n| {
            if n % 7 == 0 {
                std::thread::yield_now();
            }
            n * n
        });
        assert_eq!(squares, items.iter().map(|n| n * n).collect::<Vec<_>>());
    }

    #[test]
    fn nothing_in_nothing_out() {
        let none: Vec<u8> = Vec::new();
        assert!(map(&none, |b| *b).is_empty());
    }
}
