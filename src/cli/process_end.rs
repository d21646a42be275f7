//! How the process ends when a token's driver may still be inside a call.
//!
//! `exit()` runs every loaded library's exit handlers: static destructors
//! of C++ drivers (SoftHSM), OpenSSL's clean-up, a vendor driver's reader
//! thread being torn down. Run under a call that another thread is still
//! making into the same driver, they free what the call is using — the tray
//! agent crashed that way (SIGSEGV) when stopped. Normally the stop waits
//! until every user of the driver has let go (`agent::drain`), the driver is
//! finalised, and the process ends as usual. When a call outlives that wait
//! (a hung driver, or a stop during a slow `C_Initialize`), the process ends
//! *without* exit handlers instead: Mohor's own state is already on disk
//! (the audit log and PIN counters are written durably as they change, the
//! documents in transit removed), and the kernel releases the rest.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

static DRIVER_STILL_BUSY: AtomicBool = AtomicBool::new(false);

/// Record that a call into a token's driver may still be running while the
/// process ends.
pub fn driver_still_busy() {
    DRIVER_STILL_BUSY.store(true, Ordering::SeqCst);
}

/// End the process with `code`: normally, or — after
/// [`driver_still_busy`] — without running exit handlers.
pub fn end(code: i32) -> ! {
    if DRIVER_STILL_BUSY.load(Ordering::SeqCst) {
        // What `exit()` would have flushed; stderr is unbuffered.
        let _ = std::io::stdout().flush();
        #[cfg(unix)]
        signal_hook::low_level::exit(code);
    }
    std::process::exit(code)
}
