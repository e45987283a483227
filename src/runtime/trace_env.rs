//! `_X_AMZN_TRACE_ID`: the X-Ray header of the invocation in flight, set in
//! the process environment where AWS SDK clients look for it.

use std::ffi::CString;
use std::format;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set when several invocations run at once: one process-wide variable
/// cannot name N trace headers, so none is set.
static LEFT_UNSET: AtomicBool = AtomicBool::new(false);

/// From now on, leave `_X_AMZN_TRACE_ID` alone: with N invocations in
/// flight, whichever header were set would be wrong for the other N - 1.
/// The tokio runtime does the same in its concurrent mode; each handler
/// finds its own header in `Context::xray_trace_id`.
pub(super) fn leave_unset() {
    LEFT_UNSET.store(true, Ordering::Relaxed);
}

/// `_X_AMZN_TRACE_ID` carries the X-Ray header to AWS SDK clients the handler uses.
///
/// Not `std::env::set_var`: glibc's `setenv` copies each new value and never
/// frees it (it cannot know who still holds the old pointer), and every
/// invocation brings a new trace id, so the heap grew by every id ever seen:
/// 564 KiB per 4,000 invocations, measured. `putenv` stores our own buffer
/// instead, which we free once the environment points at its successor.
pub(super) fn set_trace_env(trace_id: Option<&str>) {
    if LEFT_UNSET.load(Ordering::Relaxed) {
        return;
    }
    const NAME: &str = "_X_AMZN_TRACE_ID";
    static CURRENT: Mutex<Option<CString>> = Mutex::new(None);
    let mut current = CURRENT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // A header value cannot hold a NUL; if one did, the variable is cleared.
    let entry = trace_id.and_then(|id| CString::new(format!("{NAME}={id}")).ok());
    // SAFETY: the runtime is one thread (with several, `LEFT_UNSET` returned
    // above), and it changes the variable only
    // between invocations, when no handler code of its own is running. Threads a
    // handler left running could read it concurrently; every Lambda runtime has
    // this race, as the variable is the documented way to pass the header.
    // `putenv` keeps the pointer, so the CString lives in CURRENT until the
    // environment no longer refers to it.
    unsafe {
        match &entry {
            Some(entry) => {
                putenv(entry.as_ptr().cast_mut());
            }
            None => std::env::remove_var(NAME),
        }
    }
    // Dropping the previous entry only now: the environment has let go of it.
    *current = entry;
}

unsafe extern "C" {
    /// POSIX `putenv`: puts `string` ("NAME=value") itself into the environment.
    fn putenv(string: *mut std::ffi::c_char) -> std::ffi::c_int;
}
