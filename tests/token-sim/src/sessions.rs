//! Sessions opened through this process's copy of the sim.
//!
//! A real token's sessions die with it. The sim mimics that with a removal *generation*
//! (shared, in `state.json`): each session remembers the generation it was opened in, and as
//! soon as this process sees another one it closes the real session underneath (so the real
//! module also forgets the login) and marks the handle dead. A dead handle answers
//! `CKR_DEVICE_REMOVED` while the token is out and `CKR_SESSION_HANDLE_INVALID` once it is back.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use cryptoki_sys::{CK_MECHANISM_TYPE, CK_SESSION_HANDLE, CK_SLOT_ID};

use crate::target::forward;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    pub slot: CK_SLOT_ID,
    pub generation: u64,
    pub dead: bool,
    /// Mechanism of the last `C_SignInit`, for `signs.jsonl`.
    pub sign_mechanism: Option<CK_MECHANISM_TYPE>,
}

#[derive(Default)]
struct Table {
    /// Newest generation this process has acted on.
    seen_generation: u64,
    entries: HashMap<CK_SESSION_HANDLE, Entry>,
}

static TABLE: Mutex<Option<Table>> = Mutex::new(None);

fn table() -> MutexGuard<'static, Option<Table>> {
    // A panic elsewhere while holding the lock leaves the table consistent enough for tests.
    TABLE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn with<R>(f: impl FnOnce(&mut Table) -> R) -> R {
    f(table().get_or_insert_with(Table::default))
}

/// Kills every live session opened in another generation than `generation`. "Another", not
/// "older": a test may delete `state.json`, which starts the count again.
pub(crate) fn observe_generation(generation: u64) {
    with(|t| {
        if generation == t.seen_generation {
            return;
        }
        t.seen_generation = generation;
        for (&handle, entry) in t.entries.iter_mut() {
            if entry.generation != generation && !entry.dead {
                entry.dead = true;
                // The return value does not matter: the handle is dead to our caller anyway.
                let _ = forward!(C_CloseSession(handle));
            }
        }
    })
}

pub(crate) fn opened(handle: CK_SESSION_HANDLE, slot: CK_SLOT_ID, generation: u64) {
    with(|t| {
        t.entries.insert(
            handle,
            Entry {
                slot,
                generation,
                dead: false,
                sign_mechanism: None,
            },
        );
    })
}

pub(crate) fn get(handle: CK_SESSION_HANDLE) -> Option<Entry> {
    with(|t| t.entries.get(&handle).copied())
}

pub(crate) fn forget(handle: CK_SESSION_HANDLE) -> Option<Entry> {
    with(|t| t.entries.remove(&handle))
}

pub(crate) fn forget_slot(slot: CK_SLOT_ID) {
    with(|t| t.entries.retain(|_, e| e.slot != slot))
}

pub(crate) fn forget_all() {
    with(|t| t.entries.clear())
}

pub(crate) fn set_sign_mechanism(handle: CK_SESSION_HANDLE, mechanism: Option<CK_MECHANISM_TYPE>) {
    with(|t| {
        if let Some(e) = t.entries.get_mut(&handle) {
            e.sign_mechanism = mechanism;
        }
    })
}
