//! The real PKCS#11 module every call is forwarded to.
//!
//! It is loaded once per process, on first use, from `MOHOR_SIM_MODULE` (default SoftHSM2),
//! and never unloaded: the function pointers copied out of it must stay valid for as long as
//! any caller may still reach our function list.

use std::sync::OnceLock;

use cryptoki_sys::{CKR_GENERAL_ERROR, CKR_OK, CK_FUNCTION_LIST, CK_RV};

use crate::shared::{DEFAULT_MODULE, MODULE_ENV};

struct Target {
    /// Keeps the module mapped; the copied pointers in `functions` point into it.
    _library: libloading::Library,
    functions: CK_FUNCTION_LIST,
}

static TARGET: OnceLock<Result<Target, String>> = OnceLock::new();

/// The real module's function list, or `CKR_GENERAL_ERROR` if it could not be loaded (the
/// reason goes to stderr and `errors.log`, once per call, so it cannot be missed).
pub(crate) fn functions() -> Result<&'static CK_FUNCTION_LIST, CK_RV> {
    match TARGET.get_or_init(load) {
        Ok(target) => Ok(&target.functions),
        Err(msg) => {
            crate::report_error(msg);
            Err(CKR_GENERAL_ERROR)
        }
    }
}

fn load() -> Result<Target, String> {
    let path = std::env::var_os(MODULE_ENV).unwrap_or_else(|| DEFAULT_MODULE.into());
    let shown = path.to_string_lossy().into_owned();
    // SAFETY: loading a PKCS#11 module runs its initialisers; that is exactly what a
    // PKCS#11 application does, and the path is the test's explicit choice.
    let library = unsafe { libloading::Library::new(&path) }
        .map_err(|e| format!("cannot load real module {shown}: {e}"))?;
    type GetFunctionList = unsafe extern "C" fn(*mut *mut CK_FUNCTION_LIST) -> CK_RV;
    // SAFETY: `C_GetFunctionList` has this signature in every PKCS#11 version.
    let get_list = unsafe { library.get::<GetFunctionList>(b"C_GetFunctionList\0") }
        .map_err(|e| format!("{shown} is not a PKCS#11 module: {e}"))?;
    let mut list: *mut CK_FUNCTION_LIST = std::ptr::null_mut();
    // SAFETY: the out-pointer is valid for one write.
    let rv = unsafe { get_list(&mut list) };
    if rv != CKR_OK || list.is_null() {
        return Err(format!("{shown}: C_GetFunctionList returned {rv:#x}"));
    }
    if std::ptr::eq(list, &crate::FUNCTION_LIST) {
        return Err(format!(
            "{MODULE_ENV}={shown} points at the sim itself; it must name the real module"
        ));
    }
    // SAFETY: the module owns the list for as long as it stays loaded, which is forever; a
    // 2.x list is a prefix of every later one, so reading the 2.x layout is always valid.
    let functions = unsafe { *list };
    Ok(Target {
        _library: library,
        functions,
    })
}

/// Calls the real module's `$f` with the given arguments, or returns
/// `CKR_FUNCTION_NOT_SUPPORTED` if it has no such entry.
macro_rules! forward {
    ($f:ident ( $($arg:expr),* $(,)? )) => {
        match $crate::target::functions() {
            Ok(list) => match list.$f {
                // SAFETY: the arguments are our caller's, unchanged or replaced by buffers we
                // own; the caller owes the real module the same guarantees it owes us.
                Some(f) => unsafe { f($($arg),*) },
                None => ::cryptoki_sys::CKR_FUNCTION_NOT_SUPPORTED,
            },
            Err(rv) => rv,
        }
    };
}
pub(crate) use forward;
