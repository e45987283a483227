//! Graceful shutdown: echoes its JSON event, like `echo`, and on SIGTERM
//! prints one line to stdout, `graceful: shutting down after N invocations`
//! (N: the events it answered), and exits 0.
//!
//! `on_shutdown` registers an internal extension for no events: Lambda sends
//! a runtime SIGTERM only when an extension is registered.
use std::sync::atomic::{AtomicU64, Ordering};

use miniserde::json::Value;
use tiny_lambda::{Context, Diagnostic, Handler, Runtime};

/// Counted as each answer leaves the handler, before it is posted: once the
/// caller has an answer, the count already includes it.
static ANSWERED: AtomicU64 = AtomicU64::new(0);

fn main() {
    Runtime::from_env()
        .on_shutdown(|| {
            let n = ANSWERED.load(Ordering::SeqCst);
            println!("graceful: shutting down after {n} invocations");
        })
        .serve(Handler::json(|event: Value, _ctx: &Context| {
            ANSWERED.fetch_add(1, Ordering::SeqCst);
            Ok::<_, Diagnostic>(event)
        }))
}
