//! The runtime loop and what surrounds it: start-up, the init phase, the
//! after-response hook, and the modes the environment picks.
//!
//! Read `Runtime::run_loop` first: next, hand the event to the handler,
//! answer (posted whole, or through a streaming kind's sink), after-response
//! hook, repeat. It is the whole protocol in one function, and there is only
//! one: every handler kind goes through it.
//!
//! Beside it:
//! - `handler`: the handler kinds ([`Handler::json`], [`Handler::raw`],
//!   [`Handler::streaming`], and the HTTP adapter's), small adapters that
//!   turn a user's function into what the loop calls, and pick its sink;
//! - `sink`: where an answer goes: posted whole after the handler returns,
//!   or, for a streaming kind, through its sink; `response_stream`: the
//!   stream it writes while it runs ([`ResponseStream`]);
//! - the two execution-environment modes, which wrap the loop and so apply
//!   to every kind: `concurrency` (Lambda Managed Instances: the same loop
//!   on N threads) and `snapstart` (hooks around a snapshot);
//! - `in_flight` (what each runtime thread is doing, read by the panic hook
//!   and the logger, and the hook itself), `logging` (env_logger set up the
//!   way CloudWatch likes it, each line naming its request) and `trace_env`
//!   (`_X_AMZN_TRACE_ID`).

use std::boxed::Box;
use std::fmt::Display;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::thread;
use std::time::Duration;
use std::vec::Vec;

use miniserde::{Deserialize, Serialize};

use crate::client::Client;
use crate::context::{Config, Context};
use crate::error::{Diagnostic, Error};

mod concurrency;
mod handler;
mod in_flight;
mod logging;
mod response_stream;
mod sink;
mod snapstart;
mod trace_env;

pub use concurrency::{DEFAULT_STACK_SIZE, MAX_THREADS};
pub use handler::Handler;
use in_flight::{
    Phase, install_panic_hook, panic_diagnostic, payload_message, set_phase, take_phase,
};
pub use response_stream::{ResponseStream, STREAM_BUFFER_BYTES};
// The streamed answer's state, for the `stream` fuzz target (`crate::__fuzz`).
#[cfg(fuzzing)]
pub(crate) use response_stream::{Ended, StreamState, lock};
use trace_env::set_trace_env;

/// How often a failed `/next` is tried again before the process gives up, and
/// the pause before each try. Few and backed off: a Runtime API that is gone
/// stays gone, and a busy loop would burn the function's billed time.
const NEXT_RETRY_DELAYS_MS: [u64; 3] = [20, 100, 500];

/// The exit status after a fatal fault (bad environment, API gone or failed,
/// init error). Lambda only sees "non-zero"; one value keeps scripts simple.
pub const EXIT_FAILURE: i32 = 1;

/// The after-response hook, shared by every runtime thread. Leaked rather
/// than counted: the runtime serves until the process exits, and a reference
/// needs no drop code in every bootstrap.
type AfterResponse = &'static (dyn Fn(&Context) + Send + Sync);

/// A started runtime: logging installed, configuration read, Runtime API known.
///
/// Pick a handler kind ([`Handler`]) and [`serve`](Runtime::serve) it; the
/// environment picks the mode (SnapStart, and with
/// [`serve_concurrent`](Runtime::serve_concurrent) Lambda Managed Instances).
///
/// ```no_run
/// use tiny_lambda::{Context, Handler, Runtime};
///
/// fn main() {
///     let runtime = Runtime::from_env();
///     let greeting = runtime.init(|| std::env::var("GREETING"));
///     runtime
///         .after_response(|ctx: &Context| log::debug!("{} done", ctx.request_id))
///         .serve(Handler::json(move |name: String, _ctx: &Context| {
///             Ok::<_, String>(format!("{greeting}, {name}"))
///         }));
/// }
/// ```
pub struct Runtime {
    client: Client,
    config: Arc<Config>,
    after_response: Option<AfterResponse>,
    /// None unless a hook was registered. A leaked reference rather than a
    /// box: hooks live until they run, and a reference needs no drop code in
    /// bootstraps that never register one.
    snapstart: Option<&'static mut snapstart::Hooks>,
    thread_stack_size: Option<usize>,
}

impl Runtime {
    /// Start: install the logger, read the function's configuration and
    /// `AWS_LAMBDA_RUNTIME_API`, and set the panic hook.
    ///
    /// Without a usable `AWS_LAMBDA_RUNTIME_API` there is no one to report to:
    /// the fault is logged and the process exits with [`EXIT_FAILURE`].
    pub fn from_env() -> Runtime {
        logging::install();
        let api = std::env::var("AWS_LAMBDA_RUNTIME_API").map_err(|_| Error::MissingApiAddress);
        let client = match api.and_then(|api| Client::new(&api)) {
            Ok(client) => client,
            Err(e) => exit_with(&e),
        };
        let config = Arc::new(Config::from_lookup(&|name| std::env::var(name).ok()));
        install_panic_hook(client.clone());
        // DEBUG, not INFO: formatting this one line was a fifth of the
        // instructions from process start to the first `/next` (callgrind).
        log::debug!(
            "tiny-lambda {} on {}",
            env!("CARGO_PKG_VERSION"),
            client.authority()
        );
        Runtime {
            client,
            config,
            after_response: None,
            snapstart: None,
            thread_stack_size: None,
        }
    }

    /// Run the init phase: work done once, before the first event (build
    /// clients, read configuration). On error, or on a panic, the failure is
    /// posted to `/init/error` and the process exits with [`EXIT_FAILURE`].
    pub fn init<T, E: Display + 'static>(&self, init: impl FnOnce() -> Result<T, E>) -> T {
        set_phase(Phase::Init);
        let result = init();
        set_phase(Phase::Idle);
        match result {
            Ok(value) => value,
            Err(e) => {
                let diagnostic = Diagnostic::from_error(&e);
                report_init_error(&self.client, &diagnostic);
                std::process::exit(EXIT_FAILURE)
            }
        }
    }

    /// Set a hook that runs after each answer has been posted and before the
    /// next `/next`, on the thread that answered: work that should not delay
    /// the caller (flush metrics, trim caches). It runs after errors and
    /// panics too. Replaces a hook set before. It may be called from several
    /// threads at once under [`Runtime::serve_concurrent`], hence `Sync`;
    /// keep its state behind a `Mutex` or an atomic.
    pub fn after_response(mut self, hook: impl Fn(&Context) + Send + Sync + 'static) -> Runtime {
        self.after_response = Some(Box::leak(Box::new(hook)));
        self
    }

    /// Serve events with `handler`, one invocation at a time. Returns only by
    /// exiting the process.
    ///
    /// One at a time whatever `AWS_LAMBDA_MAX_CONCURRENCY` says (a warning is
    /// logged when it asks for more): always correct, and the handler may
    /// keep state without locks. [`Runtime::serve_concurrent`] serves several.
    pub fn serve(mut self, mut handler: Handler) -> ! {
        self.snapstart();
        concurrency::note_one_at_a_time();
        let fault = self.run_loop(&mut handler);
        exit_with(&fault)
    }

    /// The runtime: next, hand the event to the handler, answer (posted
    /// whole, or through a streaming kind's sink), after-response hook,
    /// repeat. Returns only the fault that ends the process.
    fn run_loop(&mut self, handler: &mut Handler) -> Error {
        let mut sink = handler.sink(&self.client);
        loop {
            let (ctx, event) = match self.next() {
                Ok(invocation) => invocation,
                Err(fault) => return fault,
            };
            set_trace_env(ctx.xray_trace_id.as_deref());
            set_phase(Phase::Invocation(
                ctx.request_id.clone(),
                ctx.invocation_id.clone(),
            ));
            if let Some(sink) = &mut sink {
                sink.begin(&ctx);
            }

            let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
                handler.call(&event, &ctx, sink.as_deref_mut())
            }));
            drop(event);
            let answer = match outcome {
                Ok(Ok(body)) => Some(Ok(body)),
                Ok(Err(diagnostic)) => {
                    log::error!("invocation failed: {diagnostic}");
                    Some(Err(diagnostic))
                }
                // The panic hook has reported it already, unless someone
                // replaced the hook.
                Err(payload) => match take_phase() {
                    Phase::Invocation(..) => {
                        Some(Err(panic_diagnostic(payload_message(&*payload))))
                    }
                    _ => None,
                },
            };
            let posted = match answer {
                Some(answer) => sink::answer(sink.as_deref_mut(), &self.client, &ctx, answer),
                None => Ok(()),
            };
            if let Some(fault) = self.after_answer(posted, &ctx) {
                return fault;
            }
        }
    }

    /// What follows every answer: the fault that ends the process, if it was
    /// one; else the after-response hook.
    fn after_answer(&self, posted: Result<(), Error>, ctx: &Context) -> Option<Error> {
        set_phase(Phase::Idle);
        match posted {
            Err(fault) if fault.is_fatal() => return Some(fault),
            // A 4xx is about this invocation only (too late, too large, already
            // answered): it is lost, the environment is fine, so go on.
            Err(refused) => log::warn!("answer for {} not accepted: {refused}", ctx.request_id),
            Ok(()) => {}
        }
        if let Some(hook) = self.after_response {
            hook(ctx);
        }
        None
    }

    /// `/next`, tried again a few times after a transport fault or a broken
    /// event; a 5xx is final at once, as the AWS documentation asks.
    fn next(&self) -> Result<(Context, Vec<u8>), Error> {
        let mut delays = NEXT_RETRY_DELAYS_MS.iter();
        loop {
            let fault = match self.client.next(&self.config) {
                Ok(invocation) => return Ok(invocation),
                Err(fault @ Error::NextStatus(500..=599)) => return Err(fault),
                Err(fault) => fault,
            };
            let Some(&delay) = delays.next() else {
                return Err(fault);
            };
            log::warn!("{fault}; asking /next again in {delay} ms");
            thread::sleep(Duration::from_millis(delay));
        }
    }
}

/// Serve events with a typed handler, one at a time: the event is parsed
/// from JSON into `E`, the result serialised to JSON. The two-line start;
/// [`Runtime::from_env`] then [`Runtime::serve`] with [`Handler::json`].
///
/// ```no_run
/// use tiny_lambda::Context;
///
/// #[derive(miniserde::Deserialize)]
/// struct Order { items: u32 }
///
/// fn main() {
///     tiny_lambda::run(|order: Order, _ctx: &Context| {
///         if order.items == 0 {
///             return Err("an order needs items");
///         }
///         Ok(order.items * 2)
///     })
/// }
/// ```
pub fn run<E, R, Err, F>(handler: F) -> !
where
    E: Deserialize,
    R: Serialize,
    Err: Display + 'static,
    F: FnMut(E, &Context) -> Result<R, Err>,
{
    Runtime::from_env().serve(Handler::json(handler))
}

/// Serve events with a handler on raw bytes, one at a time: the event body
/// in, the response body out. [`Runtime::from_env`] then [`Runtime::serve`]
/// with [`Handler::raw`].
pub fn run_raw<Err, F>(handler: F) -> !
where
    Err: Display + 'static,
    F: FnMut(&[u8], &Context) -> Result<Vec<u8>, Err>,
{
    Runtime::from_env().serve(Handler::raw(handler))
}

fn report_init_error(client: &Client, diagnostic: &Diagnostic) {
    log::error!("init failed: {diagnostic}");
    if let Err(e) = client.post(&crate::protocol::init_error(diagnostic)) {
        log::error!("could not report the init error: {e}");
    }
}

fn exit_with(fault: &Error) -> ! {
    log::error!("{fault}; exiting");
    std::process::exit(EXIT_FAILURE)
}

// Graceful shutdown (feature `extension`), all of it reached through
// `Runtime::on_shutdown`. Declared last, so that no line above moves: panic
// locations carry line numbers, and a bootstrap without the hook must keep
// its bytes.
#[cfg(feature = "extension")]
mod shutdown;
