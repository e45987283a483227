//! A mock of the AWS Lambda Runtime API, for tests and for the `tiny-lambda`
//! command.
//!
//! This module owns everything between a bootstrap's HTTP requests and the
//! test that drives it: the event queue, the `/next` requests left waiting
//! for an event, the bookkeeping of each invocation (handed out, answered,
//! timed out), the log of every request, streamed answers chunk by chunk,
//! and injected faults; beside the runtime, the extensions (the Extensions
//! API), the telemetry they subscribe to (the Telemetry API), and the
//! shutdown of the whole environment. It depends on `std` and on the
//! runtime's sans-IO core (`tiny_lambda::http1`, `tiny_lambda::protocol`,
//! the names in `tiny_lambda::extension`), never on its private parts, and
//! drives any bootstrap or extension, tiny-lambda's or not.
//!
//! [`RuntimeApi::start`] binds `127.0.0.1` on a free port and serves each
//! connection from a thread of its own, so many mocks can run side by side
//! in parallel tests.
//!
//! The parts: this file holds the mock itself ([`RuntimeApi`]), what a test
//! hands it (events, faults), and the state they share; `recorded` holds the
//! public types of what the runtime sent (requests, posts, streamed chunks)
//! and `environment` those of what a test learns of the environment
//! (extensions, init, completions, the shutdown, telemetry deliveries);
//! `event` builds the events handed out. The others answer requests, each
//! using only those after it: `serve` takes every request and answers each
//! endpoint as Lambda would; `stream` takes a streamed answer and `modes`
//! the two environment modes (Managed Instances, SnapStart); `shutdown`
//! ends the environment (SIGTERM, `SHUTDOWN`, SIGKILL) and notices a
//! runtime that dies; `extensions` serves the Extensions API (its
//! `endpoints`) and keeps the two gates in front of every event (init, and
//! each extension done with the last one: its `gates`); `invocation` opens
//! an invocation when it is handed out and judges the posts that close it;
//! `telemetry` makes the platform and log records (its `record`), takes
//! subscriptions (`subscription`) and posts the records in batches to
//! subscribers (`delivery`); `wire` is the HTTP/1.1 server under them all
//! (reading requests, putting answers on the socket, or closing it), which
//! hands each request to `serve` through the function given to it here;
//! `answer` builds what is answered.
//!
//! # Driving your own bootstrap from `cargo test`
//!
//! ```no_run
//! use std::process::Command;
//! use std::time::Duration;
//! use tiny_lambda_mock::{Event, Outcome, RuntimeApi};
//!
//! // In an integration test of the crate that builds the bootstrap,
//! // `env!("CARGO_BIN_EXE_<name>")` is its path.
//! let bootstrap = "target/debug/my-function";
//! let api = RuntimeApi::start().expect("the mock should start");
//! let mut child = Command::new(bootstrap)
//!     .env("AWS_LAMBDA_RUNTIME_API", api.address())
//!     .env("AWS_LAMBDA_FUNCTION_NAME", "my-function")
//!     .spawn()
//!     .expect("the bootstrap should spawn");
//!
//! let id = api.push(Event::new(r#"{"name":"world"}"#));
//! let outcome = api.wait_outcome(&id, Duration::from_secs(5));
//! child.kill().ok();
//! match outcome {
//!     Some(Outcome::Response(posted)) => assert_eq!(posted.body_str(), r#""hello world""#),
//!     other => panic!("expected a response, got {other:?}"),
//! }
//! ```
//!
//! # How the mock answers
//!
//! The status codes follow the Runtime API OpenAPI specification (version
//! 2018-06-01) and the AWS documentation "Using the Lambda runtime API for
//! custom runtimes":
//!
//! | Request | Status | When |
//! |---|---|---|
//! | `GET /invocation/next` | 200 | an event is handed out (at once, or when one is pushed) |
//! | `POST /invocation/{id}/response`, `/error` | 202 `{"status":"OK"}` | the answer is accepted |
//! | same | 400 `InvalidRequestID` | no event with this id was handed out |
//! | same | 403 `InvalidStateTransition` | the invocation was already answered |
//! | same | 410 `InvocationTimedOut` | the answer came after the deadline (the error type is the mock's own name) |
//! | same | 413 `RequestEntityTooLarge` | the body is over Lambda's buffered limit of 6,291,556 bytes |
//! | streamed `/response` | 202 | the last chunk arrived (with or without error trailers) |
//! | same | 410 `InvocationTimedOut`, then close | the deadline passed while the stream was open |
//! | same | 413 `RequestEntityTooLarge`, then close | the stream passed [`RuntimeApi::stream_limit`] (200 MiB unless set) |
//! | `POST /init/error` | 202, then 403 | the first report is accepted, a second one is not |
//! | `GET /invocation/next` | 403 `InvalidStateTransition` | beyond [`RuntimeApi::max_concurrency`] (the mock's choice) |
//! | `GET /restore/next` | 200 | when the test calls [`RuntimeApi::restore`]; the connection is dead after it |
//! | `POST /restore/error` | 202, then 403 | like `/init/error` |
//! | unknown path | 404 | |
//! | known path, wrong method | 405 | |
//!
//! A 413 leaves the invocation open, so that the runtime can still report an
//! error for it; a 410 closes it.
//!
//! A streamed answer (`Lambda-Runtime-Function-Response-Mode: streaming`,
//! chunked) is recorded chunk by chunk with arrival times ([`Stream`]), and
//! can be followed while it arrives ([`RuntimeApi::wait_chunks`]). Its outcome
//! is recorded, and [`RuntimeApi::wait_outcome`] returns, once it has ended.
//!
//! # Extensions, telemetry and shutdown
//!
//! Extensions talk to the same address. Lambda starts the external ones
//! (`/opt/extensions/*`) itself; here the test or the command does, and
//! says so with [`RuntimeApi::external_extension`] before starting each,
//! then gives the mock the process ids it needs to signal
//! ([`RuntimeApi::extension_pid`], [`RuntimeApi::runtime_pid`]). Any other
//! name that registers is an internal extension: a thread of the runtime.
//! What the mock does follows Lambda's own implementation of these APIs
//! (the Runtime Interface Emulator's `rapid`) and the AWS documentation:
//!
//! - **Init** ends when the runtime has called `/next`, every external
//!   extension started has registered, and every registered extension has
//!   called `event/next`; only then is the first event handed out
//!   ([`RuntimeApi::wait_init`]). With extensions taking part, init is
//!   limited to 10 seconds ([`RuntimeApi::init_timeout`]); past it the mock
//!   gives up on the environment and says who it was waiting for
//!   ([`InitFailure`]).
//! - **Every event** goes to the runtime only once every extension
//!   registered for `INVOKE` is waiting on `event/next`, and each of them gets
//!   the `INVOKE` with it. An invocation is over when the runtime has
//!   answered and each of them has called `event/next` again
//!   ([`RuntimeApi::wait_invocation_done`]).
//! - **Telemetry** subscribers get `platform.*` records and the lines the
//!   driver hands over ([`RuntimeApi::read_output`]), posted as JSON arrays
//!   to their `http://sandbox.localdomain:PORT/...` destination, which the
//!   mock reaches on `127.0.0.1:PORT` ([`RuntimeApi::telemetry_deliveries`]
//!   lists what was posted).
//! - **Shutdown** ([`RuntimeApi::shutdown`]): with no extension registered,
//!   SIGKILL for the runtime. Otherwise SIGTERM for the runtime (SIGKILL if
//!   it has not exited after 300 ms, 500 ms with an internal extension),
//!   then `SHUTDOWN` to each extension registered for it, then SIGKILL for
//!   whatever has not exited by the deadline. A runtime that dies on its own
//!   ends the environment the same way, with the reason `failure`.
//!
//! | Request | Status | When |
//! |---|---|---|
//! | `POST /2020-01-01/extension/register` | 200, with `Lambda-Extension-Identifier` | during init |
//! | same | 403 `Extension.RegistrationClosed` | after the runtime's first `/next` (an internal one) or after init (an external one) |
//! | same | 403 `Extension.InvalidEventType` | an unknown event, or `SHUTDOWN` for an internal extension |
//! | same | 403 `Extension.InvalidExtensionName`, `InvalidRequestFormat`, `Extension.InvalidExtensionState`, `Extension.TooManyExtensions` | no name; a body that is not the documented JSON; a name taken; more than 10 |
//! | `GET /2020-01-01/extension/event/next` | 200 `INVOKE` or `SHUTDOWN` | when there is one for it |
//! | any extension call | 403 `Extension.MissingExtensionIdentifier`, `Extension.InvalidExtensionIdentifier`, `Extension.UnknownExtensionIdentifier` | a missing, malformed or unknown identifier |
//! | same | 403 `Extension.InvalidExtensionState` | `event/next` or a second report after its `init/error` or `exit/error`; `event/next` after its `SHUTDOWN`, or while another waits; `init/error` after its init |
//! | `POST .../init/error`, `.../exit/error` | 202; 403 `Extension.MissingHeader` without `Lambda-Extension-Function-Error-Type` | |
//! | `PUT /2022-07-01/telemetry` | 200 `"OK"` | during init |
//! | same | 400 `ValidationError` | not the documented subscription, or a destination not on `sandbox.localdomain` |
//! | same | 403 `Telemetry.SubscriptionClosed` | after init |

#![deny(missing_docs)]

use std::borrow::ToOwned;
use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::string::{String, ToString};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use std::vec::Vec;

mod answer;
mod environment;
mod event;
mod extensions;
mod invocation;
mod modes;
mod recorded;
mod serve;
mod shutdown;
mod stream;
mod telemetry;
mod wire;

pub use environment::{
    Completion, Delivery, Extension, ExtensionStop, Init, InitFailure, LogSource, ShutdownReason,
    ShutdownReport, Stop,
};
pub use recorded::{Chunk, Outcome, Posted, Record, Stream};
use serve::dispatch;
use wire::{Request, accept_loop, deliver};
#[cfg(test)]
mod extension_tests;
#[cfg(test)]
mod tests;

/// Every path of the Runtime API starts with this.
const PREFIX: &str = "/2018-06-01/runtime";

/// Lambda's limit for a buffered response, in bytes (6 MiB plus 100 bytes).
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;

/// The function ARN an event carries unless told otherwise.
pub const DEFAULT_FUNCTION_ARN: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:tiny-lambda-local";

/// How long an event may run unless told otherwise, as Lambda's default
/// function timeout would not do for tests: 30 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The header that carries the invocation nonce, which the mock may require
/// back on the answer.
const INVOCATION_ID: &str = "Lambda-Runtime-Invocation-Id";

/// A running mock Runtime API. Dropping it stops the server and joins its
/// thread.
pub struct RuntimeApi {
    shared: Arc<Shared>,
    address: String,
    acceptor: Option<JoinHandle<()>>,
}

/// What goes wrong on purpose. Faults are queued and each one is used once,
/// by the next request of its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and a Lambda-shaped error body. A `/next` that
    /// gets it consumes no event; a post that gets it does not change the
    /// invocation, so the runtime may retry.
    Status(u16),
    /// Close the connection without any answer: the client reads
    /// end-of-file. A streamed answer is cut after its first chunk, as when
    /// the caller disconnects: the runtime's next writes fail.
    Close,
    /// Handle the request normally, but send the answer this much later.
    Delay(Duration),
}

/// One event to hand out, built with chained calls on [`Event::new`].
#[derive(Clone, Debug)]
pub struct Event {
    request_id: String,
    body: Vec<u8>,
    timeout: Duration,
    function_arn: String,
    trace_id: Option<String>,
    client_context: Option<String>,
    identity: Option<String>,
    tenant_id: Option<String>,
    invocation_id: Option<String>,
    overrides: Vec<(String, String)>,
    omitted: Vec<String>,
}

/// The state the connection threads, the delayed answers and the test share.
struct Shared {
    state: Mutex<State>,
    /// Signalled whenever something a `wait_*` method looks at changes.
    changed: Condvar,
    stopping: AtomicBool,
    /// Open connections, so that dropping the mock can close them.
    connections: Mutex<HashMap<u64, TcpStream>>,
    connection_ids: AtomicU64,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Event>,
    parked: VecDeque<Parked>,
    invocations: HashMap<String, Invocation>,
    outcomes: HashMap<String, Outcome>,
    init_error: Option<Posted>,
    next_calls: usize,
    first_next_at: Option<Instant>,
    records: Vec<Record>,
    next_faults: VecDeque<Fault>,
    post_faults: VecDeque<Fault>,
    require_invocation_id: bool,
    modes: modes::Modes,
    /// Streamed answers by request id, the first for each, while they arrive
    /// and after.
    streams: HashMap<String, Stream>,
    /// Bytes a stream may carry before the mock answers 413; None for the
    /// documented limit.
    stream_limit: Option<u64>,
    /// The extensions, the init phase, and the shutdown.
    ext: extensions::Extensions,
    /// Subscriptions to the Telemetry API and the records they are owed.
    telemetry: telemetry::Telemetry,
}

/// A `/next` request that found the queue empty, kept until an event comes.
struct Parked {
    request: Request,
    record: usize,
}

/// An event that was handed out, and what became of it.
struct Invocation {
    handed_out_at: Instant,
    deadline: Instant,
    invocation_id: Option<String>,
    answered: bool,
}

/// Where a request goes.
enum Route {
    Next,
    Response(String),
    Error(String),
    InitError,
    RestoreNext,
    RestoreError,
    Register,
    ExtensionNext,
    ExtensionInitError,
    ExtensionExitError,
    Subscribe,
    WrongMethod,
    NotFound,
}

impl RuntimeApi {
    /// Binds `127.0.0.1` on a free port and starts serving.
    pub fn start() -> io::Result<RuntimeApi> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?.to_string();
        let mut state = State::default();
        telemetry::init_start(&mut state);
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            changed: Condvar::new(),
            stopping: AtomicBool::new(false),
            connections: Mutex::new(HashMap::new()),
            connection_ids: AtomicU64::new(0),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("mock-runtime-api".to_owned())
                .spawn(move || accept_loop(&listener, &shared, dispatch))?
        };
        Ok(RuntimeApi {
            shared,
            address,
            acceptor: Some(acceptor),
        })
    }

    /// "127.0.0.1:PORT": the value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.address.clone()
    }

    /// Queues an event and returns its request id. A `/next` that is
    /// waiting gets the event at once, unless extensions hold it back (init
    /// not over, or one still busy with the last event).
    pub fn push(&self, event: Event) -> String {
        let id = event.request_id.clone();
        let mut state = self.shared.lock();
        state.queue.push_back(event);
        let out = extensions::pump(&mut state);
        self.shared.changed.notify_all();
        drop(state);
        for (request, answer) in out {
            deliver(&self.shared, request, Some(answer));
        }
        id
    }

    /// Blocks until the runtime posted `/response` or `/error` for this id,
    /// or the timeout passed. The outcome is the first post for the id,
    /// whatever the mock answered to it.
    pub fn wait_outcome(&self, request_id: &str, timeout: Duration) -> Option<Outcome> {
        let state = self
            .shared
            .wait(timeout, |s| s.outcomes.contains_key(request_id));
        state.outcomes.get(request_id).cloned()
    }

    /// Blocks until the streamed answer for this id has more than `seen`
    /// chunks or has ended, or the timeout passed. Returns the chunks after
    /// the first `seen` and whether the stream has ended; `None` when no
    /// streamed answer for the id has begun (a buffered one may have come:
    /// see [`RuntimeApi::wait_outcome`]).
    pub fn wait_chunks(
        &self,
        request_id: &str,
        seen: usize,
        timeout: Duration,
    ) -> Option<(Vec<Chunk>, bool)> {
        let state = self
            .shared
            .wait(timeout, |s| match s.streams.get(request_id) {
                Some(stream) => stream.ended || stream.chunks.len() > seen,
                None => s.outcomes.contains_key(request_id),
            });
        let stream = state.streams.get(request_id)?;
        let new = stream.chunks.get(seen..).unwrap_or_default().to_vec();
        Some((new, stream.ended))
    }

    /// Lets a streamed answer carry at most `bytes` before the mock answers
    /// 413 and closes the connection, as Lambda does at its documented limit
    /// (which is the default). For tests of that limit without sending it.
    pub fn stream_limit(&self, bytes: u64) {
        self.shared.lock().stream_limit = Some(bytes);
    }

    /// Blocks until `/init/error` was posted, or the timeout passed.
    pub fn wait_init_error(&self, timeout: Duration) -> Option<Posted> {
        let state = self.shared.wait(timeout, |s| s.init_error.is_some());
        state.init_error.clone()
    }

    /// Blocks until `/next` was requested at least `n` times in all (waiting
    /// ones count), or the timeout passed; returns whether it happened.
    pub fn wait_next_calls(&self, n: usize, timeout: Duration) -> bool {
        let state = self.shared.wait(timeout, |s| s.next_calls >= n);
        state.next_calls >= n
    }

    /// When `/next` was first requested, if it was: the end of the init
    /// phase.
    pub fn first_next_at(&self) -> Option<Instant> {
        self.shared.lock().first_next_at
    }

    /// Every request received so far, in arrival order.
    pub fn records(&self) -> Vec<Record> {
        self.shared.lock().records.clone()
    }

    /// Queues a fault for a coming `/next` request.
    pub fn fault_next(&self, fault: Fault) {
        self.shared.lock().next_faults.push_back(fault);
    }

    /// Queues a fault for a coming `/response` or `/error` post.
    pub fn fault_post(&self, fault: Fault) {
        self.shared.lock().post_faults.push_back(fault);
    }

    /// When true, an answer that does not carry back the
    /// `Lambda-Runtime-Invocation-Id` its event was sent with is refused with
    /// 400 `InvalidInvocationId`. This check and its error type are the
    /// mock's own choice, not documented Lambda behaviour.
    pub fn require_invocation_id(&self, yes: bool) {
        self.shared.lock().require_invocation_id = yes;
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // The init timer, the runtime's watcher and any waiter look again.
        self.shared.changed.notify_all();
        self.shared.lock().telemetry.stop();
        // The acceptor sees the flag with its next connection: this one.
        let _ = TcpStream::connect(&self.address);
        if let Some(acceptor) = self.acceptor.take() {
            // A panic in the acceptor has already been reported; there is
            // nothing more to do with it while dropping.
            let _ = acceptor.join();
        }
        // A runtime still waiting on `/next` should see the end of the
        // connection rather than an invented answer.
        let parked: Vec<Parked> = self.shared.lock().parked.drain(..).collect();
        for waiting in parked {
            deliver(&self.shared, waiting.request, None);
        }
        let mut held = self.shared.lock().modes.drain();
        held.extend(self.shared.lock().ext.drain());
        for request in held {
            deliver(&self.shared, request, None);
        }
        for (_, connection) in self.shared.connections().drain() {
            let _ = connection.shutdown(Shutdown::Both);
        }
    }
}

impl Shared {
    fn connections(&self) -> MutexGuard<'_, HashMap<u64, TcpStream>> {
        self.connections
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Locks the state. A panic while it was held (in a test thread, say)
    /// leaves it usable, so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until `done` holds or the timeout passes, and returns the state
    /// locked either way.
    fn wait(&self, timeout: Duration, done: impl Fn(&State) -> bool) -> MutexGuard<'_, State> {
        let state = self.lock();
        match self
            .changed
            .wait_timeout_while(state, timeout, |s| !done(s))
        {
            Ok((state, _)) => state,
            Err(poisoned) => poisoned.into_inner().0,
        }
    }
}

pub(crate) fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

pub(crate) fn epoch_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// The Gregorian date (year, month, day) of a day counted from 1970-01-01,
/// by shifting the year to start in March so that the leap day comes last.
/// The mock dates its telemetry records with it, and the `tiny-lambda`
/// command its log stream names.
pub fn civil_date(days: u64) -> (u64, u64, u64) {
    let days = days + 719_468;
    let era = days / 146_097;
    let day_of_era = days % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    (year_of_era + era * 400 + u64::from(month <= 2), month, day)
}
