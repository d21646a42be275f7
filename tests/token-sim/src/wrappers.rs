//! One wrapper per PKCS#11 2.40 function; `FUNCTION_LIST` (in `lib.rs`) points at them.
//!
//! Every wrapper first calls [`enter`], which sleeps for the configured latency, takes the
//! shared lock, reads `control.json`, updates the shared state and refuses the call if the
//! token is out. Most wrappers then just forward; the ones below the generated block add
//! behaviour.
//!
//! The lock is held until the wrapper returns, so calls from all processes sharing a sim
//! directory reach the real module one at a time, as APDUs reach a real USB token. That is
//! also what SoftHSM needs: its file store is not safe against one process reading a token
//! while another rewrites it (a concurrent wrong PIN makes the token vanish from other
//! processes' slot lists).
//!
//! Safety contract: the wrappers are `unsafe extern "C"` because their callers hand them raw
//! pointers; those callers owe us exactly what PKCS#11 says they owe any module (valid,
//! suitably sized buffers or NULL where allowed). The wrappers only dereference pointers the
//! spec makes valid on the success path, after checking them for NULL.

#![allow(non_snake_case)]

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::ptr;

use cryptoki_sys::*;
use serde_json::{json, Value};

use crate::sessions;
use crate::shared::{self, Control, DirLock, FlagsMode};
use crate::target::forward;

/// What a call is about, which decides how a removed token answers it.
#[derive(Clone, Copy)]
enum Scope {
    /// Library-wide (`C_Initialize`, `C_GetInfo`, …): unaffected by removal.
    Global,
    /// Needs the token in the slot: `CKR_TOKEN_NOT_PRESENT` while removed.
    Slot,
    /// Works on a session: `CKR_DEVICE_REMOVED` while removed, `CKR_SESSION_HANDLE_INVALID`
    /// for sessions that did not survive an earlier removal.
    Session(CK_SESSION_HANDLE),
    /// The wrapper handles removal itself.
    Custom,
}

/// Shared configuration as seen by one call; `None` when `MOHOR_SIM_DIR` is unset.
struct Call {
    sim: Option<Sim>,
}

struct Sim {
    dir: PathBuf,
    control: Control,
    generation: u64,
    /// Held for the whole call.
    _lock: DirLock,
}

impl Call {
    fn removed(&self) -> bool {
        self.sim.as_ref().is_some_and(|s| s.control.removed)
    }

    fn hides(&self, mechanism: CK_MECHANISM_TYPE) -> bool {
        self.sim.as_ref().is_some_and(|s| {
            s.control
                .hide_mechanisms
                .iter()
                .any(|name| crate::mechanism_from_name(name) == Some(mechanism))
        })
    }

    fn generation(&self) -> u64 {
        self.sim.as_ref().map_or(0, |s| s.generation)
    }
}

fn sim_dir() -> Option<PathBuf> {
    std::env::var_os(shared::DIR_ENV).map(PathBuf::from)
}

/// A panic must not unwind into C; it becomes `CKR_GENERAL_ERROR` (the message is printed by
/// the panic hook).
fn guard(body: impl FnOnce() -> CK_RV) -> CK_RV {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(CKR_GENERAL_ERROR)
}

/// `guard` + `enter` + the wrapper's own body, watched by [`crate::exit_watch`].
fn run(name: &'static str, scope: Scope, body: impl FnOnce(&Call) -> CK_RV) -> CK_RV {
    let _in_call = crate::exit_watch::InCall::enter(name);
    guard(|| match enter(name, scope) {
        Ok(call) => body(&call),
        Err(rv) => rv,
    })
}

/// The common prologue of every call. `Err` carries the return value to give instead of
/// forwarding.
fn enter(name: &'static str, scope: Scope) -> Result<Call, CK_RV> {
    let Some(dir) = sim_dir() else {
        return Ok(Call { sim: None });
    };
    let fail = |msg: String| {
        crate::report_error(&msg);
        CKR_GENERAL_ERROR
    };
    // The delay comes before the lock, so that a slow call does not hold up other processes
    // (or a test rewriting control.json). Without the lock the read is still consistent:
    // control.json is only ever replaced by rename.
    let (_, early) = shared::read_control(&dir).map_err(fail)?;
    let delay = early.latency_for(name);
    if !delay.is_zero() {
        std::thread::sleep(delay);
    }
    let lock = DirLock::acquire(&dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
    let (control, generation, pulled) = update_shared(&dir, name).map_err(fail)?;
    sessions::observe_generation(generation);
    if pulled {
        return Err(CKR_DEVICE_REMOVED);
    }
    match scope {
        Scope::Slot if control.removed => return Err(CKR_TOKEN_NOT_PRESENT),
        Scope::Session(_) if control.removed => return Err(CKR_DEVICE_REMOVED),
        Scope::Session(handle) if sessions::get(handle).is_some_and(|e| e.dead) => {
            return Err(CKR_SESSION_HANDLE_INVALID)
        }
        _ => {}
    }
    Ok(Call {
        sim: Some(Sim {
            dir,
            control,
            generation,
            _lock: lock,
        }),
    })
}

/// With the lock held: read `control.json`, consume its one-shot fields, track removal edges in
/// `state.json`. Returns the control, the removal generation, and whether this very call
/// pulls the token out (`remove_on`).
fn update_shared(dir: &Path, name: &str) -> Result<(Control, u64, bool), String> {
    let (mut raw, mut control) = shared::read_control(dir)?;
    let mut state = shared::read_state(dir)?;
    let (mut control_dirty, mut state_dirty) = (false, false);

    if control.reset_counter {
        control.reset_counter = false;
        raw.remove("reset_counter");
        state.tokens.clear();
        control_dirty = true;
        state_dirty = true;
    }
    let pulled = control.remove_on.as_deref() == Some(name);
    if pulled {
        control.remove_on = None;
        control.removed = true;
        raw.remove("remove_on");
        raw.insert("removed".into(), Value::Bool(true));
        control_dirty = true;
    }
    if control.removed != state.removed_seen {
        if control.removed {
            state.generation += 1;
        }
        state.removed_seen = control.removed;
        state_dirty = true;
    }

    if control_dirty {
        shared::write_control(dir, &raw)?;
    }
    if state_dirty {
        shared::write_state(dir, &state)?;
    }
    Ok((control, state.generation, pulled))
}

// ---------------------------------------------------------------------------------------
// Plain forwarders.

/// Functions whose first argument is a session handle and that need nothing but the
/// session/removal checks.
macro_rules! session_forwarders {
    ($( $name:ident ( $($arg:ident : $ty:ty),* ); )*) => {$(
        pub(crate) unsafe extern "C" fn $name(session: CK_SESSION_HANDLE $(, $arg: $ty)*) -> CK_RV {
            run(stringify!($name), Scope::Session(session), |_| {
                forward!($name(session $(, $arg)*))
            })
        }
    )*};
}

/// Session functions whose second argument is a mechanism: hidden mechanisms are refused
/// with `CKR_MECHANISM_INVALID`.
macro_rules! mechanism_forwarders {
    ($( $name:ident ( $($arg:ident : $ty:ty),* ); )*) => {$(
        pub(crate) unsafe extern "C" fn $name(
            session: CK_SESSION_HANDLE,
            mechanism: *mut CK_MECHANISM
            $(, $arg: $ty)*
        ) -> CK_RV {
            run(stringify!($name), Scope::Session(session), |call| {
                // SAFETY: NULL or a CK_MECHANISM supplied by the caller.
                if let Some(m) = unsafe { mechanism.as_ref() } {
                    if call.hides(m.mechanism) {
                        return CKR_MECHANISM_INVALID;
                    }
                }
                forward!($name(session, mechanism $(, $arg)*))
            })
        }
    )*};
}

session_forwarders! {
    C_SetPIN(old: *mut CK_UTF8CHAR, old_len: CK_ULONG, new: *mut CK_UTF8CHAR, new_len: CK_ULONG);
    C_GetSessionInfo(info: *mut CK_SESSION_INFO);
    C_GetOperationState(state: *mut CK_BYTE, len: *mut CK_ULONG);
    C_SetOperationState(state: *mut CK_BYTE, len: CK_ULONG, enc: CK_OBJECT_HANDLE, auth: CK_OBJECT_HANDLE);
    C_Logout();
    C_CreateObject(template: *mut CK_ATTRIBUTE, count: CK_ULONG, object: *mut CK_OBJECT_HANDLE);
    C_CopyObject(object: CK_OBJECT_HANDLE, template: *mut CK_ATTRIBUTE, count: CK_ULONG, new: *mut CK_OBJECT_HANDLE);
    C_DestroyObject(object: CK_OBJECT_HANDLE);
    C_GetObjectSize(object: CK_OBJECT_HANDLE, size: *mut CK_ULONG);
    C_GetAttributeValue(object: CK_OBJECT_HANDLE, template: *mut CK_ATTRIBUTE, count: CK_ULONG);
    C_SetAttributeValue(object: CK_OBJECT_HANDLE, template: *mut CK_ATTRIBUTE, count: CK_ULONG);
    C_FindObjectsInit(template: *mut CK_ATTRIBUTE, count: CK_ULONG);
    C_FindObjects(objects: *mut CK_OBJECT_HANDLE, max: CK_ULONG, found: *mut CK_ULONG);
    C_FindObjectsFinal();
    C_Encrypt(data: *mut CK_BYTE, len: CK_ULONG, out: *mut CK_BYTE, out_len: *mut CK_ULONG);
    C_EncryptUpdate(data: *mut CK_BYTE, len: CK_ULONG, out: *mut CK_BYTE, out_len: *mut CK_ULONG);
    C_EncryptFinal(out: *mut CK_BYTE, out_len: *mut CK_ULONG);
    C_Decrypt(data: *mut CK_BYTE, len: CK_ULONG, out: *mut CK_BYTE, out_len: *mut CK_ULONG);
    C_DecryptUpdate(data: *mut CK_BYTE, len: CK_ULONG, out: *mut CK_BYTE, out_len: *mut CK_ULONG);
    C_DecryptFinal(out: *mut CK_BYTE, out_len: *mut CK_ULONG);
    C_Digest(data: *mut CK_BYTE, len: CK_ULONG, out: *mut CK_BYTE, out_len: *mut CK_ULONG);
    C_DigestUpdate(data: *mut CK_BYTE, len: CK_ULONG);
    C_DigestKey(key: CK_OBJECT_HANDLE);
    C_DigestFinal(out: *mut CK_BYTE, out_len: *mut CK_ULONG);
    C_SignUpdate(data: *mut CK_BYTE, len: CK_ULONG);
    C_SignRecover(data: *mut CK_BYTE, len: CK_ULONG, out: *mut CK_BYTE, out_len: *mut CK_ULONG);
    C_Verify(data: *mut CK_BYTE, len: CK_ULONG, sig: *mut CK_BYTE, sig_len: CK_ULONG);
    C_VerifyUpdate(data: *mut CK_BYTE, len: CK_ULONG);
    C_VerifyFinal(sig: *mut CK_BYTE, sig_len: CK_ULONG);
    C_VerifyRecover(sig: *mut CK_BYTE, sig_len: CK_ULONG, out: *mut CK_BYTE, out_len: *mut CK_ULONG);
    C_DigestEncryptUpdate(data: *mut CK_BYTE, len: CK_ULONG, out: *mut CK_BYTE, out_len: *mut CK_ULONG);
    C_DecryptDigestUpdate(data: *mut CK_BYTE, len: CK_ULONG, out: *mut CK_BYTE, out_len: *mut CK_ULONG);
    C_SignEncryptUpdate(data: *mut CK_BYTE, len: CK_ULONG, out: *mut CK_BYTE, out_len: *mut CK_ULONG);
    C_DecryptVerifyUpdate(data: *mut CK_BYTE, len: CK_ULONG, out: *mut CK_BYTE, out_len: *mut CK_ULONG);
    C_SeedRandom(seed: *mut CK_BYTE, len: CK_ULONG);
    C_GenerateRandom(out: *mut CK_BYTE, len: CK_ULONG);
    C_GetFunctionStatus();
    C_CancelFunction();
}

mechanism_forwarders! {
    C_EncryptInit(key: CK_OBJECT_HANDLE);
    C_DecryptInit(key: CK_OBJECT_HANDLE);
    C_DigestInit();
    C_SignRecoverInit(key: CK_OBJECT_HANDLE);
    C_VerifyInit(key: CK_OBJECT_HANDLE);
    C_VerifyRecoverInit(key: CK_OBJECT_HANDLE);
    C_GenerateKey(template: *mut CK_ATTRIBUTE, count: CK_ULONG, key: *mut CK_OBJECT_HANDLE);
    C_GenerateKeyPair(
        public_template: *mut CK_ATTRIBUTE, public_count: CK_ULONG,
        private_template: *mut CK_ATTRIBUTE, private_count: CK_ULONG,
        public_key: *mut CK_OBJECT_HANDLE, private_key: *mut CK_OBJECT_HANDLE
    );
    C_WrapKey(wrapping: CK_OBJECT_HANDLE, key: CK_OBJECT_HANDLE, out: *mut CK_BYTE, out_len: *mut CK_ULONG);
    C_UnwrapKey(
        unwrapping: CK_OBJECT_HANDLE, wrapped: *mut CK_BYTE, wrapped_len: CK_ULONG,
        template: *mut CK_ATTRIBUTE, count: CK_ULONG, key: *mut CK_OBJECT_HANDLE
    );
    C_DeriveKey(base: CK_OBJECT_HANDLE, template: *mut CK_ATTRIBUTE, count: CK_ULONG, key: *mut CK_OBJECT_HANDLE);
}

// ---------------------------------------------------------------------------------------
// Library-wide functions.

/// Hands out the sim's function list. Exported: it is how an application finds the module.
///
/// # Safety
/// `list` must be NULL or valid for one pointer-sized write.
#[no_mangle]
pub unsafe extern "C" fn C_GetFunctionList(list: *mut *mut CK_FUNCTION_LIST) -> CK_RV {
    if list.is_null() {
        return CKR_ARGUMENTS_BAD;
    }
    // SAFETY: checked non-NULL; the caller guarantees it is writable. The list is immutable
    // in practice: PKCS#11 forbids applications to write through the returned pointer.
    unsafe { *list = ptr::addr_of!(crate::FUNCTION_LIST).cast_mut() };
    CKR_OK
}

pub(crate) unsafe extern "C" fn C_Initialize(args: *mut c_void) -> CK_RV {
    run("C_Initialize", Scope::Global, |_| {
        forward!(C_Initialize(args))
    })
}

pub(crate) unsafe extern "C" fn C_Finalize(reserved: *mut c_void) -> CK_RV {
    run("C_Finalize", Scope::Global, |_| {
        let rv = forward!(C_Finalize(reserved));
        if rv == CKR_OK {
            sessions::forget_all();
        }
        rv
    })
}

pub(crate) unsafe extern "C" fn C_GetInfo(info: *mut CK_INFO) -> CK_RV {
    run("C_GetInfo", Scope::Global, |_| {
        let rv = forward!(C_GetInfo(info));
        // SAFETY: NULL or the caller's CK_INFO, which the real module just filled.
        if let (CKR_OK, Some(info)) = (rv, unsafe { info.as_mut() }) {
            // Lets a test confirm it really goes through the sim.
            pad(&mut info.libraryDescription, "mohor-token-sim");
        }
        rv
    })
}

pub(crate) unsafe extern "C" fn C_WaitForSlotEvent(
    flags: CK_FLAGS,
    slot: *mut CK_SLOT_ID,
    reserved: *mut c_void,
) -> CK_RV {
    guard(|| {
        // May block for ever: must not hold the lock while it does.
        if let Err(rv) = enter("C_WaitForSlotEvent", Scope::Global) {
            return rv;
        }
        forward!(C_WaitForSlotEvent(flags, slot, reserved))
    })
}

// ---------------------------------------------------------------------------------------
// Slots and tokens.

pub(crate) unsafe extern "C" fn C_GetSlotList(
    token_present: CK_BBOOL,
    list: *mut CK_SLOT_ID,
    count: *mut CK_ULONG,
) -> CK_RV {
    run("C_GetSlotList", Scope::Custom, |call| {
        if token_present == CK_FALSE || !call.removed() {
            return forward!(C_GetSlotList(token_present, list, count));
        }
        // Only slots with a token were asked for, and the (only) token is out.
        // SAFETY: NULL or the caller's counter.
        match unsafe { count.as_mut() } {
            Some(count) => {
                *count = 0;
                CKR_OK
            }
            None => CKR_ARGUMENTS_BAD,
        }
    })
}

pub(crate) unsafe extern "C" fn C_GetSlotInfo(slot: CK_SLOT_ID, info: *mut CK_SLOT_INFO) -> CK_RV {
    run("C_GetSlotInfo", Scope::Custom, |call| {
        let rv = forward!(C_GetSlotInfo(slot, info));
        // SAFETY: NULL or the caller's CK_SLOT_INFO, which the real module just filled.
        if let (CKR_OK, Some(info), true) = (rv, unsafe { info.as_mut() }, call.removed()) {
            info.flags &= !CKF_TOKEN_PRESENT;
        }
        rv
    })
}

pub(crate) unsafe extern "C" fn C_GetTokenInfo(
    slot: CK_SLOT_ID,
    info: *mut CK_TOKEN_INFO,
) -> CK_RV {
    run("C_GetTokenInfo", Scope::Slot, |call| {
        let rv = forward!(C_GetTokenInfo(slot, info));
        // SAFETY: NULL or the caller's CK_TOKEN_INFO, which the real module just filled.
        let (CKR_OK, Some(info), Some(sim)) = (rv, unsafe { info.as_mut() }, &call.sim) else {
            return rv;
        };
        match shared::read_state(&sim.dir) {
            Ok(state) => {
                let serial = field_str(&info.serialNumber);
                let token = state.tokens.get(&serial).cloned().unwrap_or_default();
                let shown = match sim.control.flags_mode {
                    FlagsMode::Spec => Some(token.failures),
                    FlagsMode::Late => Some(token.failures_before_last),
                    FlagsMode::Never => None,
                };
                info.flags &=
                    !(CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED);
                if let Some(failures) = shown {
                    info.flags |= pin_flags(failures, sim.control.retry_limit);
                }
            }
            Err(msg) => {
                crate::report_error(&msg);
                return CKR_GENERAL_ERROR;
            }
        }
        if let Some(model) = &sim.control.token_model {
            pad(&mut info.model, model);
        }
        if let Some(manufacturer) = &sim.control.token_manufacturer {
            pad(&mut info.manufacturerID, manufacturer);
        }
        rv
    })
}

/// The user-PIN flags PKCS#11 prescribes after `failures` consecutive wrong PINs.
pub(crate) fn pin_flags(failures: u32, retry_limit: u32) -> CK_FLAGS {
    if failures >= retry_limit {
        return CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_LOCKED;
    }
    let mut flags = 0;
    if failures > 0 {
        flags |= CKF_USER_PIN_COUNT_LOW;
    }
    if failures + 1 == retry_limit {
        flags |= CKF_USER_PIN_FINAL_TRY;
    }
    flags
}

pub(crate) unsafe extern "C" fn C_GetMechanismList(
    slot: CK_SLOT_ID,
    list: *mut CK_MECHANISM_TYPE,
    count: *mut CK_ULONG,
) -> CK_RV {
    run("C_GetMechanismList", Scope::Slot, |call| {
        if call
            .sim
            .as_ref()
            .is_none_or(|s| s.control.hide_mechanisms.is_empty())
        {
            return forward!(C_GetMechanismList(slot, list, count));
        }
        let mut mechanisms = match real_mechanisms(slot) {
            Ok(m) => m,
            Err(rv) => return rv,
        };
        mechanisms.retain(|&m| !call.hides(m));
        // SAFETY: NULL or the caller's counter.
        let Some(count) = (unsafe { count.as_mut() }) else {
            return CKR_ARGUMENTS_BAD;
        };
        let room = *count as usize;
        *count = mechanisms.len() as CK_ULONG;
        if list.is_null() {
            CKR_OK
        } else if room < mechanisms.len() {
            CKR_BUFFER_TOO_SMALL
        } else {
            // SAFETY: the caller said `list` has room for `room` >= len entries.
            unsafe { ptr::copy_nonoverlapping(mechanisms.as_ptr(), list, mechanisms.len()) };
            CKR_OK
        }
    })
}

/// The real module's complete mechanism list for `slot`.
fn real_mechanisms(slot: CK_SLOT_ID) -> Result<Vec<CK_MECHANISM_TYPE>, CK_RV> {
    loop {
        let mut n: CK_ULONG = 0;
        let rv = forward!(C_GetMechanismList(slot, ptr::null_mut(), &mut n));
        if rv != CKR_OK {
            return Err(rv);
        }
        let mut mechanisms = vec![0; n as usize];
        match forward!(C_GetMechanismList(slot, mechanisms.as_mut_ptr(), &mut n)) {
            CKR_OK => {
                mechanisms.truncate(n as usize);
                return Ok(mechanisms);
            }
            CKR_BUFFER_TOO_SMALL => continue,
            rv => return Err(rv),
        }
    }
}

pub(crate) unsafe extern "C" fn C_GetMechanismInfo(
    slot: CK_SLOT_ID,
    mechanism: CK_MECHANISM_TYPE,
    info: *mut CK_MECHANISM_INFO,
) -> CK_RV {
    run("C_GetMechanismInfo", Scope::Slot, |call| {
        if call.hides(mechanism) {
            return CKR_MECHANISM_INVALID;
        }
        forward!(C_GetMechanismInfo(slot, mechanism, info))
    })
}

pub(crate) unsafe extern "C" fn C_InitToken(
    slot: CK_SLOT_ID,
    so_pin: *mut CK_UTF8CHAR,
    so_pin_len: CK_ULONG,
    label: *mut CK_UTF8CHAR,
) -> CK_RV {
    run("C_InitToken", Scope::Slot, |call| {
        let rv = forward!(C_InitToken(slot, so_pin, so_pin_len, label));
        if let (CKR_OK, Some(sim)) = (rv, &call.sim) {
            // A freshly initialised token has a fresh PIN and no history.
            if let Some(serial) = slot_serial(slot) {
                reset_counter(sim, &serial);
            }
        }
        rv
    })
}

// ---------------------------------------------------------------------------------------
// Sessions and login.

pub(crate) unsafe extern "C" fn C_OpenSession(
    slot: CK_SLOT_ID,
    flags: CK_FLAGS,
    application: *mut c_void,
    notify: CK_NOTIFY,
    session: *mut CK_SESSION_HANDLE,
) -> CK_RV {
    run("C_OpenSession", Scope::Slot, |call| {
        let rv = forward!(C_OpenSession(slot, flags, application, notify, session));
        if rv == CKR_OK {
            // SAFETY: on success the real module wrote the handle through this pointer.
            sessions::opened(unsafe { *session }, slot, call.generation());
        }
        rv
    })
}

pub(crate) unsafe extern "C" fn C_CloseSession(session: CK_SESSION_HANDLE) -> CK_RV {
    run("C_CloseSession", Scope::Custom, |call| {
        // A session of a pulled token is already closed underneath (see `sessions`): just
        // forget it, and answer as a real token would.
        if call.removed() {
            sessions::forget(session);
            return CKR_DEVICE_REMOVED;
        }
        if sessions::get(session).is_some_and(|e| e.dead) {
            sessions::forget(session);
            return CKR_SESSION_HANDLE_INVALID;
        }
        let rv = forward!(C_CloseSession(session));
        if rv == CKR_OK {
            sessions::forget(session);
        }
        rv
    })
}

pub(crate) unsafe extern "C" fn C_CloseAllSessions(slot: CK_SLOT_ID) -> CK_RV {
    run("C_CloseAllSessions", Scope::Custom, |call| {
        if call.removed() {
            sessions::forget_slot(slot);
            return CKR_TOKEN_NOT_PRESENT;
        }
        let rv = forward!(C_CloseAllSessions(slot));
        if rv == CKR_OK {
            sessions::forget_slot(slot);
        }
        rv
    })
}

pub(crate) unsafe extern "C" fn C_InitPIN(
    session: CK_SESSION_HANDLE,
    pin: *mut CK_UTF8CHAR,
    pin_len: CK_ULONG,
) -> CK_RV {
    run("C_InitPIN", Scope::Session(session), |call| {
        let rv = forward!(C_InitPIN(session, pin, pin_len));
        if let (CKR_OK, Some(sim)) = (rv, &call.sim) {
            // The SO set a new user PIN: that is how a real token is unblocked.
            if let Some(serial) = session_serial(session) {
                reset_counter(sim, &serial);
            }
        }
        rv
    })
}

pub(crate) unsafe extern "C" fn C_Login(
    session: CK_SESSION_HANDLE,
    user_type: CK_USER_TYPE,
    pin: *mut CK_UTF8CHAR,
    pin_len: CK_ULONG,
) -> CK_RV {
    guard(|| {
        let real_login = || forward!(C_Login(session, user_type, pin, pin_len));
        let call = match enter("C_Login", Scope::Session(session)) {
            Ok(call) => call,
            Err(rv) => {
                log_login(session, user_type, pin_len, rv);
                return rv;
            }
        };
        let Some(sim) = &call.sim else {
            return real_login();
        };
        let rv = if user_type == CKU_CONTEXT_SPECIFIC && sim.control.refuse_context_login {
            let serial = session_serial(session).unwrap_or_default();
            counted_login(sim, &serial, || CKR_PIN_INCORRECT).unwrap_or_else(|msg| {
                crate::report_error(&msg);
                CKR_GENERAL_ERROR
            })
        } else if user_type == CKU_USER || user_type == CKU_CONTEXT_SPECIFIC {
            let serial = session_serial(session).unwrap_or_default();
            let rv = counted_login(sim, &serial, real_login).unwrap_or_else(|msg| {
                crate::report_error(&msg);
                CKR_GENERAL_ERROR
            });
            // Counted as the wrong PIN it is, then said in the driver's words.
            match (&sim.control.wrong_pin_answer, rv) {
                (Some(name), CKR_PIN_INCORRECT) => {
                    crate::rv_from_name(name).unwrap_or(CKR_PIN_INCORRECT)
                }
                _ => rv,
            }
        } else {
            real_login()
        };
        log_login(session, user_type, pin_len, rv);
        rv
    })
}

/// A user login against the shared retry counter. The call's lock covers the check, the
/// real login and the update, so concurrent wrong PINs from several processes are counted
/// one by one, as a token would.
fn counted_login(
    sim: &Sim,
    serial: &str,
    real_login: impl FnOnce() -> CK_RV,
) -> Result<CK_RV, String> {
    let mut state = shared::read_state(&sim.dir)?;
    let token = state.tokens.entry(serial.to_owned()).or_default();
    let before = token.clone();
    let rv = if token.failures >= sim.control.retry_limit {
        // Locked: the real token does not even look at the PIN.
        token.failures_before_last = token.failures;
        CKR_PIN_LOCKED
    } else {
        let rv = real_login();
        match rv {
            CKR_PIN_INCORRECT => {
                token.failures_before_last = token.failures;
                token.failures += 1;
            }
            CKR_OK | CKR_USER_ALREADY_LOGGED_IN => {
                token.failures = 0;
                token.failures_before_last = 0;
            }
            _ => {}
        }
        rv
    };
    if *token != before {
        shared::write_state(&sim.dir, &state)?;
    }
    Ok(rv)
}

/// Forgets `serial`'s retry counter (the call's lock is held).
fn reset_counter(sim: &Sim, serial: &str) {
    let result = shared::read_state(&sim.dir).and_then(|mut state| {
        if state.tokens.remove(serial).is_some() {
            shared::write_state(&sim.dir, &state)?;
        }
        Ok(())
    });
    if let Err(msg) = result {
        crate::report_error(&msg);
    }
}

fn log_login(session: CK_SESSION_HANDLE, user_type: CK_USER_TYPE, pin_len: CK_ULONG, rv: CK_RV) {
    let Some(dir) = sim_dir() else { return };
    let user_type = match user_type {
        CKU_USER => "user".to_owned(),
        CKU_SO => "so".to_owned(),
        CKU_CONTEXT_SPECIFIC => "context_specific".to_owned(),
        other => format!("{other:#x}"),
    };
    // Never the PIN itself: only its length.
    let record = json!({
        "pid": std::process::id(),
        "serial": session_serial(session),
        "user_type": user_type,
        "pin_len": pin_len,
        "result": crate::rv_name(rv),
        "time_ms": shared::now_ms(),
    });
    if let Err(msg) = shared::append_jsonl(&dir, shared::LOGINS_FILE, &record) {
        crate::report_error(&msg);
    }
}

// ---------------------------------------------------------------------------------------
// Signing.

pub(crate) unsafe extern "C" fn C_SignInit(
    session: CK_SESSION_HANDLE,
    mechanism: *mut CK_MECHANISM,
    key: CK_OBJECT_HANDLE,
) -> CK_RV {
    run("C_SignInit", Scope::Session(session), |call| {
        // SAFETY: NULL or a CK_MECHANISM supplied by the caller.
        let kind = unsafe { mechanism.as_ref() }.map(|m| m.mechanism);
        if kind.is_some_and(|m| call.hides(m)) {
            return CKR_MECHANISM_INVALID;
        }
        let rv = forward!(C_SignInit(session, mechanism, key));
        if rv == CKR_OK {
            sessions::set_sign_mechanism(session, kind);
        }
        rv
    })
}

pub(crate) unsafe extern "C" fn C_Sign(
    session: CK_SESSION_HANDLE,
    data: *mut CK_BYTE,
    data_len: CK_ULONG,
    signature: *mut CK_BYTE,
    signature_len: *mut CK_ULONG,
) -> CK_RV {
    guard(|| {
        let rv = match enter("C_Sign", Scope::Session(session)) {
            Ok(_) => forward!(C_Sign(session, data, data_len, signature, signature_len)),
            Err(rv) => rv,
        };
        log_sign("C_Sign", session, signature.is_null(), signature_len, rv);
        rv
    })
}

pub(crate) unsafe extern "C" fn C_SignFinal(
    session: CK_SESSION_HANDLE,
    signature: *mut CK_BYTE,
    signature_len: *mut CK_ULONG,
) -> CK_RV {
    guard(|| {
        let rv = match enter("C_SignFinal", Scope::Session(session)) {
            Ok(_) => forward!(C_SignFinal(session, signature, signature_len)),
            Err(rv) => rv,
        };
        log_sign(
            "C_SignFinal",
            session,
            signature.is_null(),
            signature_len,
            rv,
        );
        rv
    })
}

fn log_sign(
    function: &str,
    session: CK_SESSION_HANDLE,
    size_query: bool,
    signature_len: *mut CK_ULONG,
    rv: CK_RV,
) {
    let Some(dir) = sim_dir() else { return };
    let signature_len = if rv == CKR_OK {
        // SAFETY: NULL or the caller's length, which the real module set on success.
        unsafe { signature_len.as_ref() }.copied()
    } else {
        None
    };
    let mechanism = sessions::get(session)
        .and_then(|e| e.sign_mechanism)
        .map(crate::mechanism_name);
    let record = json!({
        "pid": std::process::id(),
        "serial": session_serial(session),
        "function": function,
        "mechanism": mechanism,
        "size_query": size_query,
        "signature_len": signature_len,
        "result": crate::rv_name(rv),
        "time_ms": shared::now_ms(),
    });
    if let Err(msg) = shared::append_jsonl(&dir, shared::SIGNS_FILE, &record) {
        crate::report_error(&msg);
    }
}

// ---------------------------------------------------------------------------------------
// Helpers.

/// Serial number of the token behind `session`, asked of the real module (which still
/// answers while the sim pretends the token is out).
fn session_serial(session: CK_SESSION_HANDLE) -> Option<String> {
    let slot = match sessions::get(session) {
        Some(entry) => entry.slot,
        None => {
            let mut info = CK_SESSION_INFO::default();
            if forward!(C_GetSessionInfo(session, &mut info)) != CKR_OK {
                return None;
            }
            info.slotID
        }
    };
    slot_serial(slot)
}

fn slot_serial(slot: CK_SLOT_ID) -> Option<String> {
    let mut info = CK_TOKEN_INFO::default();
    (forward!(C_GetTokenInfo(slot, &mut info)) == CKR_OK).then(|| field_str(&info.serialNumber))
}

/// A blank-padded PKCS#11 text field as a trimmed string.
fn field_str(field: &[CK_UTF8CHAR]) -> String {
    String::from_utf8_lossy(field)
        .trim_end_matches([' ', '\0'])
        .to_owned()
}

/// Writes `text` into a blank-padded PKCS#11 text field, cut at a character boundary if too
/// long.
fn pad(field: &mut [CK_UTF8CHAR], text: &str) {
    let mut end = text.len().min(field.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    field.fill(b' ');
    field[..end].copy_from_slice(&text.as_bytes()[..end]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_flags_follow_the_spec() {
        const LOW: CK_FLAGS = CKF_USER_PIN_COUNT_LOW;
        const FINAL: CK_FLAGS = CKF_USER_PIN_FINAL_TRY;
        const LOCKED: CK_FLAGS = CKF_USER_PIN_LOCKED;
        let got: Vec<CK_FLAGS> = (0..=4).map(|n| pin_flags(n, 3)).collect();
        assert_eq!(got, [0, LOW, LOW | FINAL, LOW | LOCKED, LOW | LOCKED]);
        assert_eq!(pin_flags(0, 1), FINAL, "a single try is always the last");
    }

    #[test]
    fn pad_blank_fills_and_cuts_at_a_character_boundary() {
        let mut field = [0u8; 8];
        pad(&mut field, "ePass");
        assert_eq!(&field, b"ePass   ");
        pad(&mut field, "abcdefg\u{e9}");
        assert_eq!(&field, b"abcdefg ");
        assert_eq!(field_str(&field), "abcdefg");
    }
}
