//! Notices a process running its exit handlers while a call is still inside the module.
//!
//! That is what crashes real drivers: `exit()` runs their static destructors (SoftHSM's,
//! OpenSSL's clean-up) on one thread while another thread is still in a call that uses what
//! they free. SoftHSM crashes only sometimes, depending on timing; the sim says so every
//! time, in `errors.log`, so a test can assert that an application never ends that way.

use std::sync::{Mutex, Once};

/// The calls inside the module right now, by name (one entry per call in progress).
static IN_PROGRESS: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
static WATCH: Once = Once::new();

/// One call in progress, for as long as the value lives.
pub(crate) struct InCall(&'static str);

impl InCall {
    pub(crate) fn enter(name: &'static str) -> InCall {
        WATCH.call_once(|| {
            // SAFETY: `atexit` takes a plain `extern "C" fn()` with no captured state; it is
            // called once per process and its result only tells whether it was registered.
            if unsafe { libc::atexit(at_exit) } != 0 {
                crate::report_error("cannot watch for exit handlers (atexit failed)");
            }
        });
        lock().push(name);
        InCall(name)
    }
}

impl Drop for InCall {
    fn drop(&mut self) {
        let mut calls = lock();
        if let Some(i) = calls.iter().position(|&n| n == self.0) {
            calls.swap_remove(i);
        }
    }
}

fn lock() -> std::sync::MutexGuard<'static, Vec<&'static str>> {
    IN_PROGRESS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How the report in `errors.log` begins.
pub(crate) const REPORT: &str = "the process ran its exit handlers while";

extern "C" fn at_exit() {
    let calls = lock().clone();
    if !calls.is_empty() {
        crate::report_error(&format!(
            "{REPORT} {} was still inside the module (a real driver's static state is \
             destroyed under such a call)",
            calls.join(", ")
        ));
    }
}
