//! The runtime loop and what surrounds it: start-up, the init phase, the
//! typed and raw handler entry points, panics, and the post-response hook.
//!
//! [`Runtime::run_raw`] hands a non-generic loop, `run_loop`, one
//! `&mut dyn FnMut`: every handler type shares the same loop in the binary
//! instead of stamping out a copy per type. Read `run_loop` first; it is the
//! whole protocol in a dozen lines.
//!
//! Beside it: `in_flight` (what each runtime thread is doing, read by the
//! panic hook and the logger, and the hook itself), `trace_env`
//! (`_X_AMZN_TRACE_ID`), and the two execution-environment modes:
//! `concurrency` (Lambda Managed Instances: the same loop on N threads) and
//! `snapstart` (the before-snapshot and after-restore hooks). Response
//! streaming has its own entry points and loop in `streaming`, and the writer
//! a streaming handler fills in `response_stream`.

use std::boxed::Box;
use std::fmt::Display;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::thread;
use std::time::Duration;
use std::vec::Vec;

use miniserde::{Deserialize, Serialize, json};

use crate::client::Client;
use crate::context::{Config, Context};
use crate::error::{Diagnostic, Error};
use crate::{logging, protocol};

mod concurrency;
mod in_flight;
mod response_stream;
mod snapstart;
mod streaming;
mod trace_env;

pub use concurrency::{DEFAULT_STACK_SIZE, MAX_THREADS};

#[cfg(feature = "env_logger")]
pub(crate) use in_flight::with_request_id;
use in_flight::{
    Phase, install_panic_hook, panic_diagnostic, payload_message, set_phase, take_phase,
};
pub use response_stream::{ResponseStream, STREAM_BUFFER_BYTES};
// The streamed answer's state, for the `stream` fuzz target (`crate::__fuzz`).
#[cfg(fuzzing)]
pub(crate) use response_stream::{Ended, Sink, lock};
pub use streaming::{run_streaming, run_streaming_raw};
use trace_env::set_trace_env;

/// How often a failed `/next` is tried again before the process gives up, and
/// the pause before each try. Few and backed off: a Runtime API that is gone
/// stays gone, and a busy loop would burn the function's billed time.
const NEXT_RETRY_DELAYS_MS: [u64; 3] = [20, 100, 500];

/// The exit status after a fatal fault (bad environment, API gone or failed,
/// init error). Lambda only sees "non-zero"; one value keeps scripts simple.
pub const EXIT_FAILURE: i32 = 1;

type AfterResponse = Box<dyn FnMut(&Context)>;

/// Every handler, typed or raw, as the loop sees it: event bytes in, response
/// bytes or a failure report out.
type RawHandler<'a> = dyn FnMut(&[u8], &Context) -> Result<Vec<u8>, Diagnostic> + 'a;

/// A started runtime: logging installed, configuration read, Runtime API known.
///
/// ```no_run
/// use tiny_lambda::{Context, Runtime};
///
/// fn main() {
///     let runtime = Runtime::from_env();
///     let greeting = runtime.init(|| std::env::var("GREETING"));
///     runtime
///         .after_response(|ctx: &Context| log::debug!("{} done", ctx.request_id))
///         .run(move |name: String, _ctx: &Context| Ok::<_, String>(format!("{greeting}, {name}")));
/// }
/// ```
pub struct Runtime {
    client: Client,
    config: Arc<Config>,
    after_response: Option<AfterResponse>,
    /// Set with `after_response_concurrent`: the same hook as
    /// `after_response` holds, in a form every thread can call.
    shared_after_response: Option<concurrency::SharedAfterResponse>,
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
            client.base()
        );
        Runtime {
            client,
            config,
            after_response: None,
            shared_after_response: None,
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
    /// next `/next`: work that should not delay the caller (flush metrics,
    /// trim caches). It runs after errors and panics too. Replaces a hook
    /// set before. For [`Runtime::run_concurrent`] with several threads, use
    /// [`Runtime::after_response_concurrent`].
    pub fn after_response(mut self, hook: impl FnMut(&Context) + 'static) -> Runtime {
        self.after_response = Some(Box::new(hook));
        self.shared_after_response = None;
        self
    }

    /// Serve events with a typed handler: the event is parsed from JSON into
    /// `E`, the result serialised to JSON. Returns only by exiting the process.
    ///
    /// An event that does not parse is reported as `Runtime.InvalidEvent` and
    /// the loop goes on; a handler error is reported with its type name as
    /// `errorType` (see [`Diagnostic`]) and the loop goes on.
    pub fn run<E, R, Err, F>(self, mut handler: F) -> !
    where
        E: Deserialize,
        R: Serialize,
        Err: Display + 'static,
        F: FnMut(E, &Context) -> Result<R, Err>,
    {
        self.run_raw(
            move |event: &[u8], ctx: &Context| -> Result<Vec<u8>, Diagnostic> {
                let event = parse_event(event)?;
                match handler(event, ctx) {
                    Ok(result) => Ok(json::to_string(&result).into_bytes()),
                    Err(e) => Err(Diagnostic::from_error(&e)),
                }
            },
        )
    }

    /// Serve events with a handler on raw bytes: the event body in, the
    /// response body out. For users who bring their own parsing.
    ///
    /// `run` and `run_raw` serve one invocation at a time, whatever
    /// `AWS_LAMBDA_MAX_CONCURRENCY` says (a warning is logged when it asks
    /// for more): that is always correct, and a `FnMut` handler cannot be
    /// called from several threads. [`Runtime::run_concurrent`] serves
    /// several.
    pub fn run_raw<Err, F>(mut self, mut handler: F) -> !
    where
        Err: Display + 'static,
        F: FnMut(&[u8], &Context) -> Result<Vec<u8>, Err>,
    {
        let mut erased = move |event: &[u8], ctx: &Context| {
            handler(event, ctx).map_err(|e| Diagnostic::from_error(&e))
        };
        self.snapstart();
        concurrency::note_one_at_a_time();
        let fault = self.run_loop(&mut erased);
        exit_with(&fault)
    }

    /// The runtime: next, handle, respond or report, after-response hook,
    /// repeat. Returns only the fault that ends the process.
    fn run_loop(mut self, handler: &mut RawHandler) -> Error {
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

            let outcome = panic::catch_unwind(AssertUnwindSafe(|| handler(&event, &ctx)));
            drop(event);
            let posted = match outcome {
                Ok(Ok(body)) => self.post(&protocol::response(self.client.base(), &ctx, &body)),
                Ok(Err(diagnostic)) => {
                    log::error!("invocation failed: {diagnostic}");
                    self.post(&protocol::error(self.client.base(), &ctx, &diagnostic))
                }
                // The panic hook has reported it already, unless someone replaced the hook.
                Err(payload) => match take_phase() {
                    Phase::Invocation(..) => {
                        let diagnostic = panic_diagnostic(payload_message(&*payload));
                        self.post(&protocol::error(self.client.base(), &ctx, &diagnostic))
                    }
                    _ => Ok(()),
                },
            };
            if let Some(fault) = self.after_answer(posted, &ctx) {
                return fault;
            }
        }
    }

    /// What follows every answer, buffered or streamed: the fault that ends
    /// the process, if it was one; else the post-response hook.
    fn after_answer(&mut self, posted: Result<(), Error>, ctx: &Context) -> Option<Error> {
        set_phase(Phase::Idle);
        match posted {
            Err(fault) if fault.is_fatal() => return Some(fault),
            // A 4xx is about this invocation only (too late, too large, already
            // answered): it is lost, the environment is fine, so go on.
            Err(refused) => log::warn!("answer for {} not accepted: {refused}", ctx.request_id),
            Ok(()) => {}
        }
        if let Some(hook) = self.after_response.as_mut() {
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

    /// One post. If the connection died under it (the API closed an idle
    /// keep-alive connection, say), one more try on a fresh connection: the
    /// answer is worth more than the risk of a duplicate, which Lambda refuses
    /// harmlessly with 403.
    fn post(&self, post: &protocol::Post) -> Result<(), Error> {
        match self.client.post(post) {
            Err(Error::ApiGone(why)) => {
                log::warn!("post to {} failed ({why}); trying once more", post.url);
                thread::sleep(Duration::from_millis(NEXT_RETRY_DELAYS_MS[0]));
                self.client.post(post)
            }
            other => other,
        }
    }
}

/// Serve events with a typed handler: [`Runtime::from_env`] then [`Runtime::run`].
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
    Runtime::from_env().run(handler)
}

/// Serve events with a handler that may run on several threads at once
/// (Lambda Managed Instances): [`Runtime::from_env`] then
/// [`Runtime::run_concurrent`].
pub fn run_concurrent<E, R, Err, F>(handler: F) -> !
where
    E: Deserialize,
    R: Serialize,
    Err: Display + 'static,
    F: Fn(E, &Context) -> Result<R, Err> + Sync,
{
    Runtime::from_env().run_concurrent(handler)
}

/// Serve events with a raw handler: [`Runtime::from_env`] then [`Runtime::run_raw`].
pub fn run_raw<Err, F>(handler: F) -> !
where
    Err: Display + 'static,
    F: FnMut(&[u8], &Context) -> Result<Vec<u8>, Err>,
{
    Runtime::from_env().run_raw(handler)
}

fn parse_event<E: Deserialize>(event: &[u8]) -> Result<E, Diagnostic> {
    let parsed = std::str::from_utf8(event)
        .ok()
        .and_then(|text| json::from_str(text).ok());
    parsed.ok_or_else(|| invalid_event(std::any::type_name::<E>(), event))
}

/// Kept out of the generic `parse_event` so the message code exists once.
fn invalid_event(type_name: &str, event: &[u8]) -> Diagnostic {
    let why = if std::str::from_utf8(event).is_err() {
        "is not UTF-8"
    } else {
        "does not parse"
    };
    let message = format!(
        "the event ({} bytes) {why} as JSON for {type_name}",
        event.len()
    );
    log::error!("{message}");
    Diagnostic::runtime("InvalidEvent", message)
}

fn report_init_error(client: &Client, diagnostic: &Diagnostic) {
    log::error!("init failed: {diagnostic}");
    if let Err(e) = client.post(&protocol::init_error(client.base(), diagnostic)) {
        log::error!("could not report the init error: {e}");
    }
}

fn exit_with(fault: &Error) -> ! {
    log::error!("{fault}; exiting");
    std::process::exit(EXIT_FAILURE)
}

use std::format;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, miniserde::Deserialize)]
    struct Order {
        items: u32,
    }

    #[test]
    fn events_parse_or_say_why() {
        let order: Order = parse_event(br#"{"items":3}"#).unwrap();
        assert_eq!(order.items, 3);
        let d = parse_event::<Order>(br#"{"items":"three"}"#).unwrap_err();
        assert_eq!(d.header_value(), "Runtime.InvalidEvent");
        assert!(
            d.error_message.contains("does not parse as JSON for"),
            "{}",
            d.error_message
        );
        assert!(d.error_message.contains("Order"), "{}", d.error_message);
        let d = parse_event::<Order>(&[0xff, 0xfe]).unwrap_err();
        assert!(
            d.error_message.contains("is not UTF-8"),
            "{}",
            d.error_message
        );
    }
}
