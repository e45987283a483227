//! What each runtime thread is doing right now (idle, in init, restoring
//! from a snapshot, or handling one invocation), kept where the panic hook
//! and the logger can read it, and the panic hook itself, which reports a
//! panic to the endpoint the phase names. A streaming handler's stream
//! chains a step of its own in front of the hook (`response_stream`).
//!
//! The main runtime thread keeps its state in one static, as it always has:
//! in single mode that is all there is, and a log line from a thread the
//! handler spawned names the invocation too. With `AWS_LAMBDA_MAX_CONCURRENCY`
//! above 1, each further runtime thread has a state of its own, found through
//! a thread-local pointer, so that a panic or a log line finds the invocation
//! of the thread it happens on. The pointer has no destructor, so a process
//! that never starts such a thread pays nothing for it at start.

use std::boxed::Box;
use std::cell::Cell;
use std::panic;
use std::string::String;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::thread::{self, ThreadId};

use super::report_init_error;
use crate::client::Client;
use crate::context::Context;
use crate::error::Diagnostic;
use crate::protocol;

/// What a runtime thread is doing, so a panic can be reported to the right
/// endpoint and a log line can name the request.
#[derive(Default)]
pub(super) enum Phase {
    #[default]
    Idle,
    Init,
    /// SnapStart's after-restore hooks, with the function that reports their
    /// failure: carried here so that only a bootstrap with hooks links it.
    Restore(fn(&Client, &Diagnostic)),
    /// Request id and invocation nonce of the invocation being handled.
    Invocation(String, Option<String>),
}

struct InFlight {
    phase: Phase,
    client: Option<Client>,
    thread: Option<ThreadId>,
}

/// The main runtime thread's state.
static IN_FLIGHT: Mutex<InFlight> = Mutex::new(InFlight {
    phase: Phase::Idle,
    client: None,
    thread: None,
});

/// Set once a second runtime thread starts: from then on, a thread that is
/// not a runtime thread gets no request id (it could belong to any of them).
static SEVERAL: AtomicBool = AtomicBool::new(false);

std::thread_local! {
    /// The state of a runtime thread other than the main one: leaked on
    /// purpose, as those threads live as long as the process.
    static OWN: Cell<Option<&'static Mutex<InFlight>>> = const { Cell::new(None) };
}

/// This thread's state: its own if it is one of the further runtime
/// threads, else the main runtime thread's.
fn in_flight() -> MutexGuard<'static, InFlight> {
    let state = OWN.try_with(Cell::get).ok().flatten().unwrap_or(&IN_FLIGHT);
    // A panic while the lock was held poisons it; the data is still sound.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(super) fn set_phase(phase: Phase) {
    in_flight().phase = phase;
}

/// Take the phase, leaving Idle: whoever takes an invocation reports it, once.
pub(super) fn take_phase() -> Phase {
    std::mem::take(&mut in_flight().phase)
}

/// Call `f` with the request id being handled, or "" between invocations.
/// Threads the handler spawned log with the invocation in flight when there
/// is one runtime thread, and with none when there are several.
#[cfg(feature = "env_logger")]
pub(crate) fn with_request_id<T>(f: impl FnOnce(&str) -> T) -> T {
    let state = in_flight();
    let ours = !SEVERAL.load(Ordering::Relaxed)
        || state.thread.is_none()
        || state.thread == Some(thread::current().id());
    match &state.phase {
        Phase::Invocation(request_id, _) if ours => f(request_id),
        _ => f(""),
    }
}

/// Make the calling thread a further runtime thread, with a state of its
/// own; `client` (the thread's own) reports its panics.
pub(super) fn enter_runtime_thread(client: Client) {
    SEVERAL.store(true, Ordering::Relaxed);
    let state = Box::leak(Box::new(Mutex::new(InFlight {
        phase: Phase::Idle,
        client: Some(client),
        thread: Some(thread::current().id()),
    })));
    // Fails only while the thread is being torn down, which it is not.
    let _ = OWN.try_with(|own| own.set(Some(state)));
}

/// With `panic = "abort"` (the size profile) nothing unwinds and no
/// `catch_unwind` runs: the hook is the last code before the abort, so it
/// reports the panic for the invocation (or the init, or the restore) in
/// flight on the panicking thread. With `panic = "unwind"` it reports too,
/// and that thread's loop goes on. `client` is the main thread's.
pub(super) fn install_panic_hook(client: Client) {
    {
        let mut state = in_flight();
        state.client = Some(client);
        state.thread = Some(thread::current().id());
    }
    // std's default hook is not chained: it links std's backtrace printer
    // (gimli, addr2line, rustc_demangle: about 60 KB), and a stripped
    // bootstrap has no symbols for it to print. `report_panic` prints the
    // message and location instead.
    panic::set_hook(Box::new(report_panic));
}

/// Whether the calling thread is the runtime thread whose state
/// `in_flight` holds (not one the handler spawned).
pub(super) fn on_this_runtime_thread() -> bool {
    in_flight().thread == Some(thread::current().id())
}

/// The hook: reports the panic to the endpoint the phase names, then prints it.
pub(super) fn report_panic(info: &panic::PanicHookInfo<'_>) {
    let (phase, client) = {
        let mut state = in_flight();
        // A panic on a thread the handler spawned is that thread's business.
        if state.thread != Some(thread::current().id()) {
            (Phase::Idle, None)
        } else {
            (std::mem::take(&mut state.phase), state.client.clone())
        }
    };
    let diagnostic = panic_diagnostic(payload_message(info.payload()));
    match (phase, client) {
        (Phase::Invocation(request_id, invocation_id), Some(client)) => {
            log::error!("handler panicked: {}", diagnostic.error_message);
            let ctx = Context {
                request_id,
                invocation_id,
                ..Context::default()
            };
            if let Err(e) = client.post(&protocol::error(&ctx, &diagnostic)) {
                log::error!("could not report the panic: {e}");
            }
        }
        (Phase::Init, Some(client)) => report_init_error(&client, &diagnostic),
        (Phase::Restore(report), Some(client)) => report(&client, &diagnostic),
        _ => {}
    }
    std::eprintln!("{info}");
}

pub(super) fn payload_message(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "panic with a non-string payload"
    }
}

pub(super) fn panic_diagnostic(message: &str) -> Diagnostic {
    Diagnostic::new("Panic", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_payloads_become_messages() {
        assert_eq!(payload_message(&"static"), "static");
        assert_eq!(payload_message(&String::from("owned")), "owned");
        assert_eq!(payload_message(&42_u8), "panic with a non-string payload");
    }

    #[test]
    fn each_runtime_thread_has_its_own_phase() {
        let client = Client::new("127.0.0.1:9").unwrap();
        let other = thread::spawn(move || {
            enter_runtime_thread(client);
            set_phase(Phase::Invocation("other-thread".into(), None));
            let mine = match take_phase() {
                Phase::Invocation(id, _) => id,
                _ => String::new(),
            };
            let after = matches!(take_phase(), Phase::Idle);
            (mine, after)
        })
        .join()
        .unwrap();
        assert_eq!(other, ("other-thread".into(), true));
    }
}
