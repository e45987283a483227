//! The streamed answer's step in front of the panic hook: which stream is in
//! flight on this runtime thread (set around each streaming handler), and
//! ending it with the error trailers when the handler panics after bytes
//! were sent.

use std::boxed::Box;
use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use super::StreamState;
use crate::runtime::in_flight::{
    Phase, on_this_runtime_thread, panic_diagnostic, payload_message, report_panic, take_phase,
};

std::thread_local! {
    /// The response stream of the invocation in flight on this runtime
    /// thread, while a streaming handler runs. Kept apart from `IN_FLIGHT`
    /// so that a bootstrap that never streams carries none of it; per
    /// thread, as each runtime thread streams its own answers.
    static STREAM: RefCell<Option<Arc<Mutex<StreamState>>>> = const { RefCell::new(None) };
}

pub(in crate::runtime) fn set_stream(sink: Option<Arc<Mutex<StreamState>>>) {
    // Fails only while the thread is being torn down, which it is not.
    let _ = STREAM.try_with(|stream| stream.replace(sink));
}

/// For streaming handlers: in front of `in_flight`'s panic hook, a step
/// that ends the stream with the error trailers when the handler panics
/// after bytes were sent (a post to `/error` would come too late: the caller
/// has the start of the answer). It takes the phase, so that hook only
/// prints. Before the first byte it does nothing, and that hook posts to
/// `/error`.
///
/// It calls `report_panic` by name rather than through `panic::take_hook`:
/// `take_hook` can hand back std's default hook, which would link the
/// backtrace printer `in_flight` leaves out (measured: 160 KB in the
/// nightly tier).
pub(in crate::runtime) fn install_stream_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        end_stream_on_panic(info.payload());
        report_panic(info);
    }));
}

fn end_stream_on_panic(payload: &(dyn std::any::Any + Send)) {
    if !on_this_runtime_thread() {
        return;
    }
    // A panic inside `set_stream` itself is the only way to find it
    // borrowed; that stream is then left to the hook below.
    let sink = STREAM.try_with(|stream| stream.try_borrow().ok().and_then(|s| s.clone()));
    let Some(sink) = sink.ok().flatten() else {
        return;
    };
    // Locked means the panic came from inside a write: the stream is
    // mid-chunk and cannot be ended cleanly; the hook above reports instead.
    let mut sink = match sink.try_lock() {
        Ok(sink) => sink,
        Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return,
    };
    if !sink.started() {
        return;
    }
    let Phase::Invocation(request_id, _) = take_phase() else {
        return;
    };
    let diagnostic = panic_diagnostic(payload_message(payload));
    log::error!(
        "handler panicked after {} bytes were streamed: {}",
        sink.sent(),
        diagnostic.error_message
    );
    if let Err(e) = sink.end(Some(&diagnostic)).judge(&request_id) {
        log::error!("could not report the panic: {e}");
    }
}
