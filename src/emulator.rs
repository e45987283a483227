//! A mock of the AWS Lambda Runtime API, for tests and for the `tiny-lambda`
//! command.
//!
//! This module owns everything between a bootstrap's HTTP requests and the
//! test that drives it: the event queue, the `/next` requests left waiting
//! for an event, the bookkeeping of each invocation (handed out, answered,
//! timed out), the log of every request, and injected faults. It depends
//! only on `std` and `tiny_http`, so it can be lifted into any test crate.
//!
//! [`MockApi::start`] binds `127.0.0.1` on a free port and serves from one
//! dispatcher thread, so many mocks can run side by side in parallel tests.
//!
//! # Driving your own bootstrap from `cargo test`
//!
//! ```no_run
//! use std::process::Command;
//! use std::time::Duration;
//! use tiny_lambda::emulator::{Event, MockApi, Outcome};
//!
//! // In an integration test of the crate that builds the bootstrap,
//! // `env!("CARGO_BIN_EXE_<name>")` is its path.
//! let bootstrap = "target/debug/my-function";
//! let api = MockApi::start().expect("the mock should start");
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
//! | `POST /init/error` | 202, then 403 | the first report is accepted, a second one is not |
//! | unknown path | 404 | |
//! | known path, wrong method | 405 | |
//!
//! A 413 leaves the invocation open, so that the runtime can still report an
//! error for it; a 410 closes it.

use std::borrow::ToOwned;
use std::collections::{HashMap, VecDeque};
use std::format;
use std::io::{self, Cursor};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::string::{String, ToString};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use std::vec::Vec;

use tiny_http::{Header, Request, Response, Server};

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
pub struct MockApi {
    shared: Arc<Shared>,
    server: Arc<Server>,
    address: String,
    dispatcher: Option<JoinHandle<()>>,
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
    /// end-of-file. (On Linux; elsewhere the mock cannot reach the socket
    /// and the client waits for its own timeout.)
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

/// What the runtime posted for one invocation.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// A post to `/invocation/{id}/response`.
    Response(Posted),
    /// A post to `/invocation/{id}/error`.
    Error(Posted),
}

/// One post from the runtime, with what the mock answered to it.
#[derive(Clone, Debug)]
pub struct Posted {
    /// The id from the path (empty for `/init/error`).
    pub request_id: String,
    /// The request headers, in the order received.
    pub headers: Vec<(String, String)>,
    /// The request body.
    pub body: Vec<u8>,
    /// The status the mock answered; 0 when it closed the connection instead.
    pub status: u16,
    /// When the post was received.
    pub at: Instant,
    /// When `/next` delivered this event, if it did.
    pub handed_out_at: Option<Instant>,
}

/// One request as the mock received it.
#[derive(Clone, Debug)]
pub struct Record {
    /// When the request arrived.
    pub at: Instant,
    /// The HTTP method, such as `GET`.
    pub method: String,
    /// The path, as sent.
    pub path: String,
    /// The request headers, in the order received.
    pub headers: Vec<(String, String)>,
    /// The request body.
    pub body: Vec<u8>,
    /// The status answered; 0 while a `/next` waits for an event, or when
    /// the mock closed the connection instead.
    pub status: u16,
}

/// The state the dispatcher, the delayed answers and the test share.
struct Shared {
    state: Mutex<State>,
    /// Signalled whenever something a `wait_*` method looks at changes.
    changed: Condvar,
    stopping: AtomicBool,
    /// The server's own address, to tell its connections apart.
    local: SocketAddr,
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

/// An HTTP answer that is decided but perhaps not yet sent.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Where a request goes.
enum Route {
    Next,
    Response(String),
    Error(String),
    InitError,
    WrongMethod,
    NotFound,
}

impl MockApi {
    /// Binds `127.0.0.1` on a free port and starts serving.
    pub fn start() -> io::Result<MockApi> {
        let server = Server::http("127.0.0.1:0").map_err(io::Error::other)?;
        let local = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| io::Error::other("the mock is not listening on an IP address"))?;
        let address = local.to_string();
        let server = Arc::new(server);
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            stopping: AtomicBool::new(false),
            local,
        });
        let dispatcher = {
            let server = Arc::clone(&server);
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("mock-runtime-api".to_owned())
                .spawn(move || dispatch_loop(&server, &shared))?
        };
        Ok(MockApi {
            shared,
            server,
            address,
            dispatcher: Some(dispatcher),
        })
    }

    /// "127.0.0.1:PORT": the value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.address.clone()
    }

    /// Queues an event and returns its request id. A `/next` that is
    /// waiting gets the event at once.
    pub fn push(&self, event: Event) -> String {
        let id = event.request_id.clone();
        let mut state = self.shared.lock();
        match state.parked.pop_front() {
            Some(parked) => {
                let answer = hand_out(&mut state, event, parked.record);
                drop(state);
                deliver(&self.shared, parked.request, Some(answer));
            }
            None => state.queue.push_back(event),
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

impl Drop for MockApi {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.server.unblock();
        if let Some(dispatcher) = self.dispatcher.take() {
            // A panic in the dispatcher has already been reported; there is
            // nothing more to do with it while dropping.
            let _ = dispatcher.join();
        }
        // A runtime still waiting on `/next` should see the end of the
        // connection rather than an invented answer.
        let parked: Vec<Parked> = self.shared.lock().parked.drain(..).collect();
        for waiting in parked {
            deliver(&self.shared, waiting.request, None);
        }
    }
}

impl Shared {
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

impl Event {
    /// An event with this body and realistic defaults: a fresh request id,
    /// a 30-second timeout, the ARN of a function named `tiny-lambda-local`,
    /// a fresh trace id and a fresh invocation-id nonce.
    pub fn new(body: impl Into<Vec<u8>>) -> Event {
        Event {
            request_id: fresh_uuid(),
            body: body.into(),
            timeout: DEFAULT_TIMEOUT,
            function_arn: DEFAULT_FUNCTION_ARN.to_owned(),
            trace_id: Some(fresh_trace_id()),
            client_context: None,
            identity: None,
            tenant_id: None,
            invocation_id: Some(fresh_uuid()),
            overrides: Vec::new(),
            omitted: Vec::new(),
        }
    }

    /// Sets the request id.
    pub fn request_id(mut self, id: &str) -> Self {
        self.request_id = id.to_owned();
        self
    }

    /// Sets how long the invocation may run, counted from when `/next`
    /// hands it out; the deadline header is that instant in epoch
    /// milliseconds.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// Sets the invoked function's ARN.
    pub fn function_arn(mut self, arn: &str) -> Self {
        self.function_arn = arn.to_owned();
        self
    }

    /// Sets the X-Ray trace header, or leaves it out with `None`.
    pub fn trace_id(mut self, t: Option<&str>) -> Self {
        self.trace_id = t.map(ToOwned::to_owned);
        self
    }

    /// Sends this JSON as `Lambda-Runtime-Client-Context` (sent only when
    /// set, as Lambda does).
    pub fn client_context(mut self, json: &str) -> Self {
        self.client_context = Some(json.to_owned());
        self
    }

    /// Sends this JSON as `Lambda-Runtime-Cognito-Identity` (sent only when
    /// set, as Lambda does).
    pub fn identity(mut self, json: &str) -> Self {
        self.identity = Some(json.to_owned());
        self
    }

    /// Sends this tenant id as `Lambda-Runtime-Aws-Tenant-Id`.
    pub fn tenant_id(mut self, t: &str) -> Self {
        self.tenant_id = Some(t.to_owned());
        self
    }

    /// Sets the invocation-id nonce, or leaves it out with `None`.
    pub fn invocation_id(mut self, nonce: Option<&str>) -> Self {
        self.invocation_id = nonce.map(ToOwned::to_owned);
        self
    }

    /// Sends this header verbatim, in place of any default of the same name
    /// (compared without regard to case). For malformed-input tests. The
    /// name and value must be ASCII, as tiny_http sends nothing else; a
    /// header that is not is left out.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.overrides
            .retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.overrides.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Does not send this header at all, such as
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub fn without(mut self, name: &str) -> Self {
        self.omitted.push(name.to_owned());
        self
    }

    /// The request id this event will be handed out with.
    pub fn id(&self) -> &str {
        &self.request_id
    }

    /// The headers `/next` sends for this event, with a deadline in epoch
    /// milliseconds.
    fn headers(&self, deadline_ms: u128) -> Vec<(String, String)> {
        let optional = [
            ("Lambda-Runtime-Trace-Id", &self.trace_id),
            ("Lambda-Runtime-Client-Context", &self.client_context),
            ("Lambda-Runtime-Cognito-Identity", &self.identity),
            ("Lambda-Runtime-Aws-Tenant-Id", &self.tenant_id),
            (INVOCATION_ID, &self.invocation_id),
        ];
        let mut headers = Vec::new();
        headers.push((
            "Lambda-Runtime-Aws-Request-Id".to_owned(),
            self.request_id.clone(),
        ));
        headers.push((
            "Lambda-Runtime-Deadline-Ms".to_owned(),
            deadline_ms.to_string(),
        ));
        headers.push((
            "Lambda-Runtime-Invoked-Function-Arn".to_owned(),
            self.function_arn.clone(),
        ));
        for (name, value) in optional {
            if let Some(value) = value {
                headers.push((name.to_owned(), value.clone()));
            }
        }
        headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
        for (name, value) in &self.overrides {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            headers.push((name.clone(), value.clone()));
        }
        headers.retain(|(n, _)| !self.omitted.iter().any(|o| o.eq_ignore_ascii_case(n)));
        headers
    }
}

impl Outcome {
    /// The post, whichever endpoint it went to.
    pub fn posted(&self) -> &Posted {
        match self {
            Outcome::Response(posted) | Outcome::Error(posted) => posted,
        }
    }
}

impl Posted {
    /// The value of a request header, found without regard to case.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The body as text; empty if it is not UTF-8.
    pub fn body_str(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or("")
    }
}

/// Serves requests until the mock is dropped.
fn dispatch_loop(server: &Server, shared: &Arc<Shared>) {
    loop {
        match server.recv() {
            Ok(request) => dispatch(shared, request),
            // An error is either the unblock from `Drop` or a failed accept;
            // only the first ends the loop.
            Err(_) if shared.stopping.load(Ordering::SeqCst) => return,
            Err(_) => {}
        }
    }
}

/// Records one request and sends it to its handler.
fn dispatch(shared: &Arc<Shared>, mut request: Request) {
    let at = Instant::now();
    let method = request.method().as_str().to_owned();
    let path = request.url().to_owned();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_owned(),
                h.value.as_str().to_owned(),
            )
        })
        .collect();
    let mut body = Vec::new();
    // A body cut short is kept as far as it came; the handlers judge it as
    // they would any other.
    let _ = request.as_reader().read_to_end(&mut body);
    let route = route(&method, &path);
    let record = {
        let mut state = shared.lock();
        state.records.push(Record {
            at,
            method,
            path,
            headers,
            body,
            status: 0,
        });
        shared.changed.notify_all();
        state.records.len() - 1
    };
    match route {
        Route::Next => next(shared, request, record, at),
        Route::Response(id) => post(shared, request, record, id, false),
        Route::Error(id) => post(shared, request, record, id, true),
        Route::InitError => init_error(shared, request, record),
        Route::WrongMethod => {
            let answer = error_answer(405, "Method not allowed", "MethodNotAllowed");
            finish(shared, request, record, Some(answer), None);
        }
        Route::NotFound => {
            let answer = error_answer(404, "Not found", "NotFound");
            finish(shared, request, record, Some(answer), None);
        }
    }
}

/// Finds the endpoint for a method and path.
fn route(method: &str, path: &str) -> Route {
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return Route::NotFound;
    };
    let (route, expected) = if rest == "/invocation/next" {
        (Route::Next, "GET")
    } else if rest == "/init/error" {
        (Route::InitError, "POST")
    } else if let Some(tail) = rest.strip_prefix("/invocation/") {
        match tail.split_once('/') {
            Some((id, "response")) if !id.is_empty() => (Route::Response(id.to_owned()), "POST"),
            Some((id, "error")) if !id.is_empty() => (Route::Error(id.to_owned()), "POST"),
            _ => return Route::NotFound,
        }
    } else {
        return Route::NotFound;
    };
    if method == expected {
        route
    } else {
        Route::WrongMethod
    }
}

/// Handles `GET /invocation/next`.
fn next(shared: &Arc<Shared>, request: Request, record: usize, at: Instant) {
    let mut state = shared.lock();
    state.next_calls += 1;
    state.first_next_at.get_or_insert(at);
    shared.changed.notify_all();
    match state.next_faults.pop_front() {
        None => serve_next(shared, state, request, record),
        Some(Fault::Status(status)) => {
            drop(state);
            finish(shared, request, record, Some(fault_answer(status)), None);
        }
        Some(Fault::Close) => {
            drop(state);
            finish(shared, request, record, None, None);
        }
        Some(Fault::Delay(delay)) => {
            drop(state);
            // The event is taken only after the delay, so that an event
            // pushed meanwhile is the one handed out, as a slow network
            // would have it.
            let shared = Arc::clone(shared);
            thread::spawn(move || {
                thread::sleep(delay);
                let state = shared.lock();
                serve_next(&shared, state, request, record);
            });
        }
    }
}

/// Hands out the first queued event, or parks the request until `push`.
fn serve_next(shared: &Shared, mut state: MutexGuard<'_, State>, request: Request, record: usize) {
    match state.queue.pop_front() {
        Some(event) => {
            let answer = hand_out(&mut state, event, record);
            shared.changed.notify_all();
            drop(state);
            deliver(shared, request, Some(answer));
        }
        None => state.parked.push_back(Parked { request, record }),
    }
}

/// Starts an invocation: registers it and builds the `/next` answer.
fn hand_out(state: &mut State, event: Event, record: usize) -> Answer {
    let now = Instant::now();
    let deadline_ms = epoch_ms() + event.timeout.as_millis();
    let headers = event.headers(deadline_ms);
    // The invocation is known by the id actually sent, which a test may
    // have overridden with a raw header.
    let id = find_header(&headers, "Lambda-Runtime-Aws-Request-Id")
        .unwrap_or(&event.request_id)
        .to_owned();
    let invocation = Invocation {
        handed_out_at: now,
        deadline: now + event.timeout,
        invocation_id: find_header(&headers, INVOCATION_ID).map(ToOwned::to_owned),
        answered: false,
    };
    state.invocations.insert(id, invocation);
    if let Some(r) = state.records.get_mut(record) {
        r.status = 200;
    }
    Answer {
        status: 200,
        headers,
        body: event.body,
    }
}

/// Handles `POST /invocation/{id}/response` and `/error`.
fn post(shared: &Arc<Shared>, request: Request, record: usize, id: String, is_error: bool) {
    let mut state = shared.lock();
    let (headers, body, at) = match state.records.get(record) {
        Some(r) => (r.headers.clone(), r.body.clone(), r.at),
        None => (Vec::new(), Vec::new(), Instant::now()),
    };
    let (answer, delay) = match state.post_faults.pop_front() {
        None => (Some(judge(&mut state, &id, &headers, body.len())), None),
        Some(Fault::Status(status)) => (Some(fault_answer(status)), None),
        Some(Fault::Close) => (None, None),
        Some(Fault::Delay(delay)) => (
            Some(judge(&mut state, &id, &headers, body.len())),
            Some(delay),
        ),
    };
    if !state.outcomes.contains_key(&id) {
        let posted = Posted {
            request_id: id.clone(),
            headers,
            body,
            status: answer.as_ref().map_or(0, |a| a.status),
            at,
            handed_out_at: state.invocations.get(&id).map(|i| i.handed_out_at),
        };
        let outcome = if is_error {
            Outcome::Error(posted)
        } else {
            Outcome::Response(posted)
        };
        state.outcomes.insert(id, outcome);
    }
    drop(state);
    finish(shared, request, record, answer, delay);
}

/// Decides what Lambda would answer to a post for this invocation, and
/// closes the invocation when the answer does.
fn judge(state: &mut State, id: &str, headers: &[(String, String)], body_len: usize) -> Answer {
    let require_invocation_id = state.require_invocation_id;
    let Some(invocation) = state.invocations.get_mut(id) else {
        return error_answer(400, "Invalid request ID", "InvalidRequestID");
    };
    if require_invocation_id {
        if let Some(expected) = &invocation.invocation_id {
            if find_header(headers, INVOCATION_ID) != Some(expected.as_str()) {
                return error_answer(400, "Invalid invocation ID", "InvalidInvocationId");
            }
        }
    }
    if invocation.answered {
        return error_answer(403, "Invalid state transition", "InvalidStateTransition");
    }
    if Instant::now() > invocation.deadline {
        invocation.answered = true;
        return error_answer(410, "Invocation timed out", "InvocationTimedOut");
    }
    if body_len > MAX_RESPONSE_BYTES {
        let message =
            format!("Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).");
        return error_answer(413, &message, "RequestEntityTooLarge");
    }
    invocation.answered = true;
    accepted()
}

/// Handles `POST /init/error`.
fn init_error(shared: &Arc<Shared>, request: Request, record: usize) {
    let mut state = shared.lock();
    let answer = if state.init_error.is_some() {
        error_answer(403, "Invalid state transition", "InvalidStateTransition")
    } else {
        accepted()
    };
    if state.init_error.is_none() {
        if let Some(r) = state.records.get(record) {
            state.init_error = Some(Posted {
                request_id: String::new(),
                headers: r.headers.clone(),
                body: r.body.clone(),
                status: 202,
                at: r.at,
                handed_out_at: None,
            });
        }
    }
    drop(state);
    finish(shared, request, record, Some(answer), None);
}

/// Notes the status in the request's record, wakes waiters, and sends the
/// answer (now or after `delay`); `None` closes the connection instead.
fn finish(
    shared: &Arc<Shared>,
    request: Request,
    record: usize,
    answer: Option<Answer>,
    delay: Option<Duration>,
) {
    {
        let mut state = shared.lock();
        if let Some(r) = state.records.get_mut(record) {
            r.status = answer.as_ref().map_or(0, |a| a.status);
        }
        shared.changed.notify_all();
    }
    match delay {
        // A short-lived thread keeps the dispatcher from ever sleeping.
        Some(delay) => {
            let shared = Arc::clone(shared);
            thread::spawn(move || {
                thread::sleep(delay);
                deliver(&shared, request, answer);
            });
        }
        None => deliver(shared, request, answer),
    }
}

/// Sends the answer, or closes the connection when there is none.
fn deliver(shared: &Shared, request: Request, answer: Option<Answer>) {
    let Some(answer) = answer else {
        if let Some(&peer) = request.remote_addr() {
            shut_connection(shared.local, peer);
        }
        // Taking the writer keeps tiny_http from answering on its own when
        // the request is dropped.
        drop(request.into_writer());
        return;
    };
    let length = answer.body.len();
    let mut response = Response::new(
        answer.status.into(),
        Vec::new(),
        Cursor::new(answer.body),
        Some(length),
        None,
    );
    for (name, value) in answer.headers {
        if let Ok(header) = Header::from_bytes(name.into_bytes(), value.into_bytes()) {
            response.add_header(header);
        }
    }
    // A runtime that went away cannot be told anything more.
    let _ = request.respond(response);
}

/// Shuts both halves of the server's connection to `peer`, so the client
/// reads end-of-file where it expected an answer.
///
/// tiny_http keeps a kept-alive connection open, reading for the next
/// request, until the client closes it, and it never hands out the socket.
/// Dropping a request's writer therefore closes nothing, and the client
/// would wait for its own timeout. So the socket is found among this
/// process's descriptors by its two addresses, and shut through a
/// duplicate of its descriptor.
#[cfg(target_os = "linux")]
fn shut_connection(local: SocketAddr, peer: SocketAddr) {
    use std::os::fd::{BorrowedFd, RawFd};
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    for entry in entries.flatten() {
        let is_socket = std::fs::read_link(entry.path())
            .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
        let fd = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<RawFd>().ok());
        let Some(fd) = fd.filter(|_| is_socket) else {
            continue;
        };
        // SAFETY: the borrow lives only for the duplication on the next
        // line. Should another thread close this number in between, the
        // duplication fails with EBADF, or duplicates whatever reused the
        // number, which the address check below then rejects.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        let Ok(owned) = borrowed.try_clone_to_owned() else {
            continue;
        };
        let stream = TcpStream::from(owned);
        let ours = stream.local_addr().is_ok_and(|a| a == local)
            && stream.peer_addr().is_ok_and(|a| a == peer);
        if ours {
            // A socket already gone needs no shutting.
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
    }
}

/// Elsewhere the connection cannot be found, and the client waits for its
/// own timeout instead of reading end-of-file.
#[cfg(not(target_os = "linux"))]
fn shut_connection(_local: SocketAddr, _peer: SocketAddr) {}

/// 202 with Lambda's body for an accepted post.
fn accepted() -> Answer {
    json_answer(202, br#"{"status":"OK"}"#.to_vec())
}

/// An error answer with Lambda's body shape.
fn error_answer(status: u16, message: &str, error_type: &str) -> Answer {
    let body = format!(r#"{{"errorMessage":"{message}","errorType":"{error_type}"}}"#);
    json_answer(status, body.into_bytes())
}

/// The answer for an injected `Fault::Status`.
fn fault_answer(status: u16) -> Answer {
    let message = format!("Fault injected by the mock: status {status}");
    error_answer(status, &message, "InjectedFault")
}

fn json_answer(status: u16, body: Vec<u8>) -> Answer {
    let headers = Vec::from([("Content-Type".to_owned(), "application/json".to_owned())]);
    Answer {
        status,
        headers,
        body,
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn epoch_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// 64 bits that differ on every call in this process and very likely
/// between processes: a counter, the process id and the clock, mixed.
/// Good enough for ids in tests; not for anything secret.
fn fresh_bits() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64 ^ d.as_secs().rotate_left(32));
    mix(nanos ^ mix(count) ^ (u64::from(std::process::id()) << 40))
}

/// The splitmix64 finalizer: spreads every input bit over the output.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A version-4-shaped UUID, as Lambda's request ids are.
fn fresh_uuid() -> String {
    let a = fresh_bits();
    let b = fresh_bits();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        ((b >> 48) & 0x3fff) | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

/// An X-Ray trace header: the root holds the epoch seconds in hex, as X-Ray
/// ids do.
fn fresh_trace_id() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let a = fresh_bits();
    let b = fresh_bits();
    let parent = fresh_bits();
    format!(
        "Root=1-{:08x}-{:016x}{:08x};Parent={:016x};Sampled=0",
        seconds & 0xffff_ffff,
        a,
        b >> 32,
        parent
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::vec;

    const WAIT: Duration = Duration::from_secs(5);

    /// What a raw test client read back.
    struct Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl Reply {
        fn header(&self, name: &str) -> Option<&str> {
            find_header(&self.headers, name)
        }

        fn text(&self) -> &str {
            std::str::from_utf8(&self.body).unwrap()
        }
    }

    fn connect(api: &MockApi) -> TcpStream {
        let stream = TcpStream::connect(api.address()).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        stream
    }

    /// Sends one request with a Content-Length body and reads the answer,
    /// on a connection that stays open.
    fn send(
        stream: &mut TcpStream,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<Reply> {
        let mut head = format!(
            "{method} {PREFIX}{path} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        read_reply(stream)
    }

    /// Reads one answer, whose body tiny_http sends with a Content-Length.
    fn read_reply(stream: &mut TcpStream) -> io::Result<Reply> {
        let mut reader = BufReader::new(&*stream);
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let status = line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap();
        let mut headers = Vec::new();
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            let (name, value) = trimmed.split_once(':').unwrap();
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
        let length: usize =
            find_header(&headers, "Content-Length").map_or(0, |v| v.parse().unwrap());
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    fn get_next(api: &MockApi) -> Reply {
        send(&mut connect(api), "GET", "/invocation/next", &[], b"").unwrap()
    }

    fn post_response(api: &MockApi, id: &str, body: &[u8]) -> Reply {
        send(
            &mut connect(api),
            "POST",
            &format!("/invocation/{id}/response"),
            &[],
            body,
        )
        .unwrap()
    }

    #[test]
    fn hands_out_an_event_and_takes_its_response() {
        let api = MockApi::start().unwrap();
        let id = api.push(
            Event::new(r#"{"a":1}"#)
                .client_context("{}")
                .tenant_id("t1"),
        );
        let next = get_next(&api);
        assert_eq!(next.status, 200);
        assert_eq!(next.text(), r#"{"a":1}"#);
        assert_eq!(
            next.header("Lambda-Runtime-Aws-Request-Id"),
            Some(id.as_str())
        );
        assert_eq!(
            next.header("Lambda-Runtime-Invoked-Function-Arn"),
            Some(DEFAULT_FUNCTION_ARN)
        );
        assert_eq!(next.header("Content-Type"), Some("application/json"));
        assert_eq!(next.header("Lambda-Runtime-Client-Context"), Some("{}"));
        assert_eq!(next.header("Lambda-Runtime-Aws-Tenant-Id"), Some("t1"));
        assert!(next.header("Lambda-Runtime-Cognito-Identity").is_none());
        assert!(
            next.header("Lambda-Runtime-Trace-Id")
                .unwrap()
                .starts_with("Root=1-")
        );
        assert!(next.header(INVOCATION_ID).is_some());
        let deadline: u128 = next
            .header("Lambda-Runtime-Deadline-Ms")
            .unwrap()
            .parse()
            .unwrap();
        assert!(deadline > epoch_ms() + 29_000);

        let answer = post_response(&api, &id, b"\"done\"");
        assert_eq!(answer.status, 202);
        assert_eq!(answer.text(), r#"{"status":"OK"}"#);
        let Some(Outcome::Response(posted)) = api.wait_outcome(&id, WAIT) else {
            panic!("no response recorded");
        };
        assert_eq!(posted.body_str(), "\"done\"");
        assert_eq!(posted.status, 202);
        assert!(posted.handed_out_at.is_some_and(|h| h <= posted.at));
        assert!(api.first_next_at().is_some());
        let records = api.records();
        assert_eq!(records.len(), 2);
        assert_eq!(
            (records[0].method.as_str(), records[0].status),
            ("GET", 200)
        );
        assert_eq!(
            (records[1].method.as_str(), records[1].status),
            ("POST", 202)
        );
    }

    #[test]
    fn a_waiting_next_gets_the_event_when_it_is_pushed() {
        let api = MockApi::start().unwrap();
        let mut stream = connect(&api);
        let waiter =
            thread::spawn(move || send(&mut stream, "GET", "/invocation/next", &[], b"").unwrap());
        assert!(api.wait_next_calls(1, WAIT));
        assert_eq!(api.records()[0].status, 0);
        api.push(Event::new("late"));
        let next = waiter.join().unwrap();
        assert_eq!((next.status, next.text()), (200, "late"));
    }

    #[test]
    fn refuses_posts_like_lambda() {
        let api = MockApi::start().unwrap();
        assert_eq!(post_response(&api, "nobody", b"{}").status, 400);

        let id = api.push(Event::new("{}"));
        get_next(&api);
        assert_eq!(post_response(&api, &id, b"1").status, 202);
        let again = post_response(&api, &id, b"2");
        assert_eq!(again.status, 403);
        assert!(again.text().contains("InvalidStateTransition"));

        let id = api.push(Event::new("{}").timeout(Duration::from_millis(10)));
        get_next(&api);
        thread::sleep(Duration::from_millis(30));
        assert_eq!(post_response(&api, &id, b"late").status, 410);

        let id = api.push(Event::new("{}"));
        get_next(&api);
        let large = post_response(&api, &id, &vec![b'x'; MAX_RESPONSE_BYTES + 1]);
        assert_eq!(large.status, 413);
        assert!(large.text().contains("6291556"));
        let path = format!("/invocation/{id}/error");
        assert_eq!(
            send(&mut connect(&api), "POST", &path, &[], b"{}")
                .unwrap()
                .status,
            202
        );
        // The outcome is the first post, refused or not.
        assert_eq!(api.wait_outcome(&id, WAIT).unwrap().posted().status, 413);

        assert_eq!(
            send(&mut connect(&api), "GET", "/nothing", &[], b"")
                .unwrap()
                .status,
            404
        );
        assert_eq!(
            send(&mut connect(&api), "POST", "/invocation/next", &[], b"")
                .unwrap()
                .status,
            405
        );
    }

    #[test]
    fn takes_one_init_error() {
        let api = MockApi::start().unwrap();
        let body = br#"{"errorMessage":"boom","errorType":"Init"}"#;
        assert_eq!(
            send(&mut connect(&api), "POST", "/init/error", &[], body)
                .unwrap()
                .status,
            202
        );
        assert_eq!(
            send(&mut connect(&api), "POST", "/init/error", &[], body)
                .unwrap()
                .status,
            403
        );
        assert_eq!(api.wait_init_error(WAIT).unwrap().body, body);
    }

    #[test]
    fn can_require_the_invocation_id_back() {
        let api = MockApi::start().unwrap();
        api.require_invocation_id(true);
        let id = api.push(Event::new("{}").invocation_id(Some("nonce-1")));
        get_next(&api);
        let bare = post_response(&api, &id, b"{}");
        assert_eq!(bare.status, 400);
        assert!(bare.text().contains("InvalidInvocationId"));
        let path = format!("/invocation/{id}/response");
        let with = send(
            &mut connect(&api),
            "POST",
            &path,
            &[(INVOCATION_ID, "nonce-1")],
            b"{}",
        )
        .unwrap();
        assert_eq!(with.status, 202);
    }

    #[test]
    fn overrides_and_omits_headers() {
        let api = MockApi::start().unwrap();
        api.push(
            Event::new("{}")
                .header("lambda-runtime-deadline-ms", "soon")
                .without("Lambda-Runtime-Trace-Id"),
        );
        let next = get_next(&api);
        assert_eq!(next.header("Lambda-Runtime-Deadline-Ms"), Some("soon"));
        assert!(next.header("Lambda-Runtime-Trace-Id").is_none());
    }

    #[test]
    fn next_faults_apply_in_order() {
        let api = MockApi::start().unwrap();
        api.fault_next(Fault::Status(500));
        api.fault_next(Fault::Close);
        api.fault_next(Fault::Delay(Duration::from_millis(100)));
        let id = api.push(Event::new("{}"));

        let failed = get_next(&api);
        assert_eq!(failed.status, 500);
        assert!(failed.text().contains("errorType"));

        // End-of-file, not the read timeout: the mock really closed it.
        let closed = send(&mut connect(&api), "GET", "/invocation/next", &[], b"");
        assert_eq!(
            closed.err().map(|e| e.kind()),
            Some(io::ErrorKind::UnexpectedEof)
        );

        let started = Instant::now();
        let delayed = get_next(&api);
        assert!(started.elapsed() >= Duration::from_millis(100));
        assert_eq!(
            delayed.header("Lambda-Runtime-Aws-Request-Id"),
            Some(id.as_str())
        );
        assert!(api.wait_next_calls(3, WAIT));
    }

    #[test]
    fn post_faults_apply_in_order() {
        let api = MockApi::start().unwrap();
        api.fault_post(Fault::Status(500));
        api.fault_post(Fault::Close);
        api.fault_post(Fault::Delay(Duration::from_millis(100)));
        let id = api.push(Event::new("{}"));
        get_next(&api);

        assert_eq!(post_response(&api, &id, b"1").status, 500);
        let path = format!("/invocation/{id}/response");
        assert!(send(&mut connect(&api), "POST", &path, &[], b"2").is_err());
        let started = Instant::now();
        assert_eq!(post_response(&api, &id, b"3").status, 202);
        assert!(started.elapsed() >= Duration::from_millis(100));

        let outcome = api.wait_outcome(&id, WAIT).unwrap();
        assert_eq!(
            (outcome.posted().status, outcome.posted().body_str()),
            (500, "1")
        );
        let statuses: Vec<u16> = api.records().iter().map(|r| r.status).collect();
        assert_eq!(statuses, [200, 500, 0, 202]);
    }

    #[test]
    fn keeps_one_connection_alive() {
        let api = MockApi::start().unwrap();
        let mut stream = connect(&api);
        for body in ["one", "two"] {
            let id = api.push(Event::new(body));
            let next = send(&mut stream, "GET", "/invocation/next", &[], b"").unwrap();
            assert_eq!(next.text(), body);
            let path = format!("/invocation/{id}/response");
            assert_eq!(
                send(&mut stream, "POST", &path, &[], body.as_bytes())
                    .unwrap()
                    .status,
                202
            );
        }
    }

    #[test]
    fn reads_a_chunked_body() {
        let api = MockApi::start().unwrap();
        let id = api.push(Event::new("{}"));
        get_next(&api);
        let mut stream = connect(&api);
        let head = format!(
            "POST {PREFIX}/invocation/{id}/response HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream
            .write_all(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
            .unwrap();
        assert_eq!(read_reply(&mut stream).unwrap().status, 202);
        assert_eq!(
            api.wait_outcome(&id, WAIT).unwrap().posted().body_str(),
            "hello world"
        );
    }

    #[test]
    fn makes_distinct_well_shaped_ids() {
        let a = Event::new("").request_id;
        let b = Event::new("").request_id;
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'4');
        let trace = fresh_trace_id();
        let root = trace.split(';').next().unwrap();
        assert_eq!(root.len(), "Root=1-".len() + 8 + 1 + 24);
    }
}
