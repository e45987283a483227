//! The Extensions API (`/2020-01-01/extension`) as Lambda serves it, and the
//! two gates extensions put in front of every event the runtime gets.
//!
//! What is answered when follows Lambda's own implementation of the API (the
//! Runtime Interface Emulator's `rapid`: its registration service, its
//! extension state machines, its init and invoke flows):
//!
//! - `register` is open to an internal extension until the runtime's first
//!   `/next` (registration "turns off" when the runtime is ready). An
//!   external one, whose file name the driver declared as Lambda knows the
//!   files it started, may register until init is over: Lambda starts the
//!   runtime only after its external extensions have registered, so a
//!   driver that starts both at once loses nothing.
//! - Init is over when the runtime has called `/next`, every declared
//!   external extension has registered, and every registered extension has
//!   called `event/next`. Only then may an event go out ([`pump`]).
//! - An event goes out only while every extension registered for `INVOKE`
//!   waits on `event/next`; each of them gets the `INVOKE` with it. Calling
//!   `event/next` again is how an extension says it is done with it; the
//!   invocation is over for everyone when the runtime has answered and each
//!   has ([`Completion`]).
//!
//! A `PUT /2022-07-01/telemetry` is taken here too, since only this part
//! knows which extension sent it; the subscription itself is `telemetry`'s.
//! The `SHUTDOWN` event is handed out here, for `shutdown`.

use std::borrow::ToOwned;
use std::collections::{HashMap, VecDeque};
use std::format;
use std::string::String;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use std::vec::Vec;

use miniserde::{Deserialize, json};
use tiny_lambda::extension::api;

use super::answer::{Answer, accepted, error_answer, fault_answer, json_answer};
use super::event::fresh_uuid;
use super::invocation::hand_out;
use super::telemetry;
use super::wire::{Request, deliver, finish};
use super::{
    Completion, DEFAULT_FUNCTION_ARN, Extension, Fault, Init, InitFailure, Parked, RuntimeApi,
    Shared, ShutdownReason, ShutdownReport, State, epoch_ms, find_header,
};

/// Lambda's limit on extensions in one environment.
const MAX_EXTENSIONS: usize = 10;

/// How long init may take, as Lambda allows: 10 seconds.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the mock knows of the extensions, the init phase and the shutdown:
/// a part of the mock's `State`.
pub(super) struct Extensions {
    pub(super) init: Init,
    init_timeout: Duration,
    /// Whether the init timer's thread was started.
    timer: bool,
    /// Whether `platform.initRuntimeDone` was sent.
    runtime_done_sent: bool,
    /// The external extensions the driver started: names and process ids.
    pub(super) expected: Vec<(String, Option<u32>)>,
    pub(super) registered: Vec<Registered>,
    register_faults: VecDeque<Fault>,
    /// Invocations handed out and not yet over for everyone.
    open: HashMap<String, Open>,
    done: HashMap<String, Completion>,
    /// How many `platform.report` records were made: the first carries the
    /// init duration.
    reports: usize,
    pub(super) runtime_pid: Option<u32>,
    pub(super) memory_mb: u32,
    /// Set when the shutdown begins; no event goes out after it.
    pub(super) shutdown: Option<Shutdown>,
}

/// One registered extension.
pub(super) struct Registered {
    pub(super) info: Extension,
    invoke: bool,
    pub(super) takes_shutdown: bool,
    /// Its `event/next`, while it waits for an event.
    waiting: Option<Parked>,
    /// The invocation whose `INVOKE` it got and is not yet done with.
    busy: Option<String>,
    /// A `SHUTDOWN` it is owed: the answer to its next call.
    owed_shutdown: bool,
}

/// An invocation handed out and not yet over for everyone.
struct Open {
    handed_out_at: Instant,
    answered_at: Option<Instant>,
    status: &'static str,
    error_type: Option<String>,
    trace: Option<String>,
    /// The identifiers of the extensions that got its `INVOKE` and have not
    /// called `event/next` since.
    owed: Vec<String>,
    /// Those that have, by name, with when.
    seen: Vec<(String, Instant)>,
}

/// A shutdown under way, or over.
pub(super) struct Shutdown {
    pub(super) reason: ShutdownReason,
    pub(super) deadline_ms: u128,
    /// Set once it is over.
    pub(super) report: Option<ShutdownReport>,
}

impl Default for Extensions {
    fn default() -> Extensions {
        Extensions {
            init: Init {
                started_at: Instant::now(),
                runtime_ready_at: None,
                done_at: None,
                failure: None,
            },
            init_timeout: INIT_TIMEOUT,
            timer: false,
            runtime_done_sent: false,
            expected: Vec::new(),
            registered: Vec::new(),
            register_faults: VecDeque::new(),
            open: HashMap::new(),
            done: HashMap::new(),
            reports: 0,
            runtime_pid: None,
            memory_mb: 128,
            shutdown: None,
        }
    }
}

impl Extensions {
    /// `event/next` requests still waiting, to be closed when the mock stops.
    pub(super) fn drain(&mut self) -> Vec<Request> {
        self.registered
            .iter_mut()
            .filter_map(|r| r.waiting.take().map(|p| p.request))
            .collect()
    }

    /// Whether init has ended, well or not.
    fn init_settled(&self) -> bool {
        self.init.done_at.is_some() || self.init.failure.is_some()
    }

    /// Whether an internal extension registered: the runtime then gets a
    /// longer share of the shutdown.
    pub(super) fn any_internal(&self) -> bool {
        self.registered.iter().any(|r| !r.info.external)
    }
}

impl RuntimeApi {
    /// Says that an external extension with this file name is being
    /// started, as Lambda starts each file of `/opt/extensions`: call it
    /// before starting the process. Init then waits for it to register
    /// (under this name) and to call `event/next`; it may register for
    /// `SHUTDOWN`; and, given its process id ([`RuntimeApi::extension_pid`]),
    /// the shutdown waits for it to exit and kills it at the deadline. An
    /// extension that registers under any other name is internal.
    pub fn external_extension(&self, name: &str) {
        let mut state = self.shared.lock();
        if !state.ext.expected.iter().any(|(n, _)| n == name) {
            state.ext.expected.push((name.to_owned(), None));
        }
        start_timer(&self.shared, &mut state);
    }

    /// The process id of an external extension declared with
    /// [`RuntimeApi::external_extension`], for the shutdown to signal.
    pub fn extension_pid(&self, name: &str, pid: u32) {
        let mut state = self.shared.lock();
        match state.ext.expected.iter_mut().find(|(n, _)| n == name) {
            Some(expected) => expected.1 = Some(pid),
            None => state.ext.expected.push((name.to_owned(), Some(pid))),
        }
    }

    /// Queues a fault for a coming `register`. A status is answered instead
    /// of registering; `Close` closes the connection unanswered.
    pub fn fault_register(&self, fault: Fault) {
        self.shared.lock().ext.register_faults.push_back(fault);
    }

    /// How long init may last, counted from the mock's start, before the
    /// mock gives up on it ([`InitFailure::TimedOut`]): 10 seconds unless
    /// set, as Lambda allows. It applies only once an extension takes part
    /// (declared or registered): a runtime alone under a slow emulator
    /// (valgrind, qemu) is left to its driver's own limit.
    pub fn init_timeout(&self, timeout: Duration) {
        self.shared.lock().ext.init_timeout = timeout;
        self.shared.changed.notify_all();
    }

    /// The memory size `platform.report` records state (128 MB unless set),
    /// as `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` tells the runtime.
    pub fn memory_size(&self, mb: u32) {
        self.shared.lock().ext.memory_mb = mb;
    }

    /// Every extension registered so far, in the order they registered.
    pub fn extensions(&self) -> Vec<Extension> {
        let state = self.shared.lock();
        state
            .ext
            .registered
            .iter()
            .map(|r| r.info.clone())
            .collect()
    }

    /// Blocks until at least `n` extensions have registered, or the timeout
    /// passed; returns whether they had.
    pub fn wait_registered(&self, n: usize, timeout: Duration) -> bool {
        let state = self.shared.wait(timeout, |s| s.ext.registered.len() >= n);
        state.ext.registered.len() >= n
    }

    /// Blocks until init is over (or failed), or the timeout passed, and
    /// returns it as far as it went.
    pub fn wait_init(&self, timeout: Duration) -> Init {
        let state = self.shared.wait(timeout, |s| s.ext.init_settled());
        state.ext.init.clone()
    }

    /// Blocks until the invocation is over for everyone: answered by the
    /// runtime, and each extension given its `INVOKE` has called
    /// `event/next` again. `None` if the timeout passed first.
    pub fn wait_invocation_done(&self, request_id: &str, timeout: Duration) -> Option<Completion> {
        let state = self
            .shared
            .wait(timeout, |s| s.ext.done.contains_key(request_id));
        state.ext.done.get(request_id).cloned()
    }
}

/// Starts the thread that gives up on init at the init timeout, once.
fn start_timer(shared: &Arc<Shared>, state: &mut State) {
    if state.ext.timer || state.ext.init_settled() {
        return;
    }
    state.ext.timer = true;
    let shared = Arc::clone(shared);
    let spawned = thread::Builder::new()
        .name("mock-init-timer".to_owned())
        .spawn(move || init_timer(&shared));
    // Without the thread init simply has no limit.
    drop(spawned);
}

/// Waits for init to end; past the init timeout, gives up on it.
fn init_timer(shared: &Shared) {
    let mut state = shared.lock();
    loop {
        if shared.stopping.load(std::sync::atomic::Ordering::SeqCst) || state.ext.init_settled() {
            return;
        }
        let until = state.ext.init.started_at + state.ext.init_timeout;
        let now = Instant::now();
        if now >= until {
            let waiting = awaited(&state);
            let duration = now.duration_since(state.ext.init.started_at);
            state.ext.init.failure = Some(InitFailure::TimedOut(waiting));
            telemetry::init_report(&mut state.telemetry, "timeout", duration);
            state.telemetry.close();
            shared.changed.notify_all();
            return;
        }
        state = match shared.changed.wait_timeout(state, until - now) {
            Ok((state, _)) => state,
            Err(poisoned) => poisoned.into_inner().0,
        };
    }
}

/// Who init is still waiting for, in words.
fn awaited(state: &State) -> Vec<String> {
    let ext = &state.ext;
    let mut waiting = Vec::new();
    if ext.init.runtime_ready_at.is_none() {
        waiting.push("runtime".to_owned());
    }
    for (name, _) in &ext.expected {
        if !ext
            .registered
            .iter()
            .any(|r| r.info.external && r.info.name == *name)
        {
            waiting.push(format!("{name} (never registered)"));
        }
    }
    for r in ext.registered.iter().filter(|r| r.info.ready_at.is_none()) {
        waiting.push(format!(
            "{} (registered, never called event/next)",
            r.info.name
        ));
    }
    waiting
}

/// Ends init if everyone is ready: the runtime, every external extension
/// declared, every extension registered.
fn check_init(state: &mut State) {
    let ext = &state.ext;
    if ext.init_settled() || ext.init.runtime_ready_at.is_none() {
        return;
    }
    let unregistered = ext
        .expected
        .iter()
        .any(|(name, _)| !ext.registered.iter().any(|r| r.info.name == *name));
    if unregistered || ext.registered.iter().any(|r| r.info.ready_at.is_none()) {
        return;
    }
    let now = Instant::now();
    state.ext.init.done_at = Some(now);
    if state.telemetry.wants() {
        for r in &state.ext.registered {
            telemetry::extension(&mut state.telemetry, &r.info.name, &r.info.events);
        }
        let duration = now.duration_since(state.ext.init.started_at);
        telemetry::init_report(&mut state.telemetry, "success", duration);
    }
    // Subscriptions are taken during init only.
    state.telemetry.close();
}

/// The runtime called `/next`. The first call ends its init: no internal
/// extension may register after it.
pub(super) fn runtime_next(state: &mut State, at: Instant) {
    if state.ext.init.runtime_ready_at.is_some() {
        return;
    }
    state.ext.init.runtime_ready_at = Some(at);
    if !state.ext.runtime_done_sent {
        state.ext.runtime_done_sent = true;
        telemetry::init_runtime_done(&mut state.telemetry, "success", None);
    }
    check_init(state);
}

/// The runtime posted `/init/error`.
pub(super) fn runtime_init_error(state: &mut State, error_type: &str) {
    if !state.ext.runtime_done_sent {
        state.ext.runtime_done_sent = true;
        telemetry::init_runtime_done(&mut state.telemetry, "error", Some(error_type));
    }
}

/// Whether an event may go to the runtime now: init is over, no shutdown
/// has begun, and every extension registered for `INVOKE` (and still in
/// good standing) waits on `event/next`.
fn gate_open(state: &State) -> bool {
    let ext = &state.ext;
    ext.init.done_at.is_some()
        && ext.init.failure.is_none()
        && ext.shutdown.is_none()
        && ext
            .registered
            .iter()
            .all(|r| !r.invoke || r.info.error.is_some() || r.waiting.is_some())
}

/// Hands out queued events to waiting `/next` requests while the gates are
/// open, with an `INVOKE` to each extension registered for it. Returns the
/// answers to send once the lock is released, the extensions' first (Lambda
/// releases them before the runtime).
pub(super) fn pump(state: &mut State) -> Vec<(Request, Answer)> {
    let mut out = Vec::new();
    while gate_open(state) && !state.parked.is_empty() && !state.queue.is_empty() {
        let (Some(parked), Some(event)) = (state.parked.pop_front(), state.queue.pop_front())
        else {
            break;
        };
        let deadline_ms = epoch_ms() + event.timeout.as_millis();
        let answer = hand_out(state, event, parked.record);
        open_invocation(state, &answer.headers, deadline_ms, &mut out);
        out.push((parked.request, answer));
    }
    out
}

/// Starts an invocation beside the runtime: its `platform.start`, and an
/// `INVOKE` to every extension registered for it (all waiting, as the gate
/// made sure), built from the headers the runtime gets.
fn open_invocation(
    state: &mut State,
    headers: &[(String, String)],
    deadline_ms: u128,
    out: &mut Vec<(Request, Answer)>,
) {
    let id = find_header(headers, "Lambda-Runtime-Aws-Request-Id")
        .unwrap_or("")
        .to_owned();
    let trace = find_header(headers, "Lambda-Runtime-Trace-Id").map(ToOwned::to_owned);
    // A test may have sent a deadline that is not a number; the extension
    // still gets the real one.
    let deadline_ms = find_header(headers, "Lambda-Runtime-Deadline-Ms")
        .and_then(|d| d.parse().ok())
        .unwrap_or(deadline_ms);
    let arn = find_header(headers, "Lambda-Runtime-Invoked-Function-Arn").unwrap_or("");
    if state.telemetry.wants() {
        telemetry::start(&mut state.telemetry, &id, trace.as_deref());
    }
    let mut owed = Vec::new();
    let mut body = None;
    let State { ext, records, .. } = state;
    for r in ext.registered.iter_mut() {
        if !r.invoke || r.info.error.is_some() {
            continue;
        }
        let Some(waiting) = r.waiting.take() else {
            continue;
        };
        let body = body.get_or_insert_with(|| invoke_body(&id, deadline_ms, arn, trace.as_deref()));
        if let Some(record) = records.get_mut(waiting.record) {
            record.status = 200;
        }
        out.push((waiting.request, event_answer(body.clone())));
        r.busy = Some(id.clone());
        r.info.invokes += 1;
        owed.push(r.info.identifier.clone());
    }
    let open = Open {
        handed_out_at: Instant::now(),
        answered_at: None,
        status: "success",
        error_type: None,
        trace,
        owed,
        seen: Vec::new(),
    };
    state.ext.open.insert(id, open);
}

/// The `INVOKE` event, as Lambda renders it: the invocation's metadata,
/// never its payload.
fn invoke_body(id: &str, deadline_ms: u128, arn: &str, trace: Option<&str>) -> String {
    let tracing = trace.map_or(String::new(), |value| {
        format!(
            r#","tracing":{{"type":"X-Amzn-Trace-Id","value":{}}}"#,
            json::to_string(value)
        )
    });
    format!(
        r#"{{"eventType":"INVOKE","deadlineMs":{deadline_ms},"requestId":{},"invokedFunctionArn":{}{tracing}}}"#,
        json::to_string(id),
        json::to_string(arn)
    )
}

/// An `event/next` answer: the event, and its own identifier header.
fn event_answer(body: String) -> Answer {
    let mut answer = json_answer(200, body.into_bytes());
    answer
        .headers
        .push(("Lambda-Extension-Event-Identifier".to_owned(), fresh_uuid()));
    answer
}

/// The runtime's answer to an invocation was judged: `http_status` is what
/// the mock answered. An accepted answer (or one refused as too late) ends
/// the runtime's part: `platform.runtimeDone`, and the invocation is over if
/// no extension still owes its next call.
pub(super) fn answered(
    state: &mut State,
    id: &str,
    http_status: u16,
    status: &'static str,
    error_type: Option<&str>,
    produced_bytes: usize,
) {
    let (status, error_type) = match http_status {
        202 => (status, error_type),
        410 => ("timeout", Some("Sandbox.Timedout")),
        _ => return,
    };
    let Some(open) = state.ext.open.get_mut(id) else {
        return;
    };
    if open.answered_at.is_some() {
        return;
    }
    let now = Instant::now();
    open.answered_at = Some(now);
    open.status = status;
    open.error_type = error_type.map(ToOwned::to_owned);
    let duration = now.duration_since(open.handed_out_at);
    let trace = open.trace.clone();
    if state.telemetry.wants() {
        let done = telemetry::RuntimeDone {
            request_id: id,
            status,
            error_type,
            duration,
            produced_bytes,
            trace: trace.as_deref(),
        };
        telemetry::runtime_done(&mut state.telemetry, &done);
    }
    try_complete(state, id);
}

/// The runtime died with this invocation open: it ends as Lambda ends it,
/// with an error of type `Runtime.ExitError`.
pub(super) fn runtime_died(state: &mut State) {
    let open: Vec<String> = state
        .ext
        .open
        .iter()
        .filter(|(_, o)| o.answered_at.is_none())
        .map(|(id, _)| id.clone())
        .collect();
    for id in open {
        answered(state, &id, 202, "error", Some("Runtime.ExitError"), 0);
    }
    if !state.ext.init_settled() {
        state.ext.init.failure = Some(InitFailure::RuntimeExited);
        state.telemetry.close();
    }
}

/// Ends the invocation if the runtime answered and no extension owes its
/// next call: `platform.report`, and the [`Completion`] for waiters.
fn try_complete(state: &mut State, id: &str) {
    let ready = state
        .ext
        .open
        .get(id)
        .is_some_and(|o| o.answered_at.is_some() && o.owed.is_empty());
    if !ready {
        return;
    }
    let Some(open) = state.ext.open.remove(id) else {
        return;
    };
    // Over when the last of the runtime and the extensions was done.
    let answered_at = open.answered_at.unwrap_or_else(Instant::now);
    let now = open
        .seen
        .iter()
        .map(|(_, at)| *at)
        .fold(answered_at, Instant::max);
    state.ext.reports += 1;
    if state.telemetry.wants() {
        let first = state.ext.reports == 1;
        let init = state
            .ext
            .init
            .done_at
            .filter(|_| first)
            .map(|done| done.duration_since(state.ext.init.started_at));
        let report = telemetry::Report {
            request_id: id,
            status: open.status,
            error_type: open.error_type.as_deref(),
            duration: now.duration_since(open.handed_out_at),
            memory_mb: state.ext.memory_mb,
            max_memory_used_mb: state.ext.runtime_pid.and_then(peak_mb).unwrap_or(0),
            init,
            trace: open.trace.as_deref(),
        };
        telemetry::report(&mut state.telemetry, &report);
    }
    let completion = Completion {
        request_id: id.to_owned(),
        handed_out_at: open.handed_out_at,
        answered_at,
        extensions: open.seen,
        done_at: now,
    };
    state.ext.done.insert(id.to_owned(), completion);
}

/// The peak resident memory of a process, in MB rounded up (Linux only).
fn peak_mb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib.div_ceil(1024))
}

/// Finds the extension a call comes from by its identifier, or the answer
/// Lambda gives a call without a usable one.
fn identify(state: &State, headers: &[(String, String)]) -> Result<usize, Answer> {
    let forbidden = |message: &str, error_type: &str| error_answer(403, message, error_type);
    let Some(identifier) = find_header(headers, api::EXTENSION_IDENTIFIER) else {
        return Err(forbidden(
            "Missing Lambda-Extension-Identifier header",
            "Extension.MissingExtensionIdentifier",
        ));
    };
    if !is_uuid(identifier) {
        return Err(forbidden(
            "Invalid Lambda-Extension-Identifier",
            "Extension.InvalidExtensionIdentifier",
        ));
    }
    state
        .ext
        .registered
        .iter()
        .position(|r| r.info.identifier == identifier)
        .ok_or_else(|| {
            forbidden(
                &format!("Unknown extension {identifier}"),
                "Extension.UnknownExtensionIdentifier",
            )
        })
}

/// Whether the text is a UUID: 32 hex digits in groups of 8-4-4-4-12.
fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// The 403 for a call the extension's state does not allow.
fn invalid_state(name: &str, why: &str) -> Answer {
    error_answer(
        403,
        &format!("Extension {name}: {why}"),
        "Extension.InvalidExtensionState",
    )
}

/// Handles `POST register`.
pub(super) fn register(shared: &Arc<Shared>, request: Request, record: usize) {
    let mut state = shared.lock();
    let (answer, delay) = match state.ext.register_faults.pop_front() {
        Some(Fault::Status(status)) => (Some(fault_answer(status)), None),
        Some(Fault::Close) => (None, None),
        Some(Fault::Delay(delay)) => (
            Some(admit(&mut state, &request.headers, record)),
            Some(delay),
        ),
        None => (Some(admit(&mut state, &request.headers, record)), None),
    };
    if !state.ext.registered.is_empty() {
        start_timer(shared, &mut state);
    }
    shared.changed.notify_all();
    drop(state);
    finish(shared, request, record, answer, delay);
}

#[derive(Deserialize)]
struct RegisterBody {
    events: Option<Vec<String>>,
    #[serde(rename = "configurationKeys")]
    configuration_keys: Option<Vec<String>>,
}

/// Registers an extension if Lambda would, and says how it went.
fn admit(state: &mut State, headers: &[(String, String)], record: usize) -> Answer {
    let forbidden = |message: &str, error_type: &str| error_answer(403, message, error_type);
    let name = find_header(headers, api::EXTENSION_NAME).unwrap_or("");
    if name.is_empty() {
        return forbidden("Empty extension name", "Extension.InvalidExtensionName");
    }
    let body = state.records.get(record).map_or(&[][..], |r| &r.body[..]);
    let parsed = std::str::from_utf8(body)
        .ok()
        .and_then(|text| json::from_str::<RegisterBody>(text).ok());
    let Some(parsed) = parsed else {
        return forbidden(
            r#"The body is not the JSON {"events": [...]}"#,
            "InvalidRequestFormat",
        );
    };
    if parsed
        .configuration_keys
        .is_some_and(|keys| !keys.is_empty())
    {
        return forbidden(
            "configurationKeys are deprecated; use environment variables instead",
            "InvalidRequestFormat",
        );
    }
    let events = parsed.events.unwrap_or_default();
    let ext = &mut state.ext;
    let external = ext.expected.iter().any(|(n, _)| n == name);
    // Lambda turns registration off when the runtime is ready; it starts the
    // runtime only once its external extensions have registered.
    let closed = if external {
        ext.init_settled()
    } else {
        ext.init.runtime_ready_at.is_some() || ext.init_settled()
    };
    if closed {
        return forbidden(
            "Extension registration closed already",
            "Extension.RegistrationClosed",
        );
    }
    if ext.registered.iter().any(|r| r.info.name == name) {
        return forbidden(
            "Extension with this name already registered",
            "Extension.InvalidExtensionState",
        );
    }
    if ext.registered.len() >= MAX_EXTENSIONS {
        return forbidden(
            &format!("Extension limit ({MAX_EXTENSIONS}) reached"),
            "Extension.TooManyExtensions",
        );
    }
    for event in &events {
        let refusal = match event.as_str() {
            "INVOKE" => None,
            "SHUTDOWN" if external => None,
            "SHUTDOWN" => Some("ShutdownEventNotSupportedForInternalExtension"),
            _ => Some("ErrorInvalidEventType"),
        };
        if let Some(why) = refusal {
            return forbidden(&format!("{event}: {why}"), "Extension.InvalidEventType");
        }
    }
    let identifier = fresh_uuid();
    ext.registered.push(Registered {
        info: Extension {
            name: name.to_owned(),
            identifier: identifier.clone(),
            external,
            events: events.clone(),
            registered_at: Instant::now(),
            ready_at: None,
            error: None,
            invokes: 0,
            shutdown_at: None,
        },
        invoke: events.iter().any(|e| e == "INVOKE"),
        takes_shutdown: events.iter().any(|e| e == "SHUTDOWN"),
        waiting: None,
        busy: None,
        owed_shutdown: false,
    });
    let account = find_header(headers, api::ACCEPT_FEATURE)
        .is_some_and(|features| {
            features
                .split(',')
                .any(|f| f.trim() == api::ACCOUNT_ID_FEATURE)
        })
        .then(|| account_id());
    let mut answer = json_answer(200, register_body(account).into_bytes());
    answer
        .headers
        .push((api::EXTENSION_IDENTIFIER.to_owned(), identifier));
    answer
}

/// The account in the default function ARN.
fn account_id() -> &'static str {
    DEFAULT_FUNCTION_ARN.split(':').nth(4).unwrap_or("")
}

/// What `register` answers: the function it sits beside, and the account
/// when the `accountId` feature was asked for.
fn register_body(account: Option<&str>) -> String {
    let account = account.map_or(String::new(), |a| {
        format!(r#","accountId":{}"#, json::to_string(a))
    });
    format!(
        r#"{{"functionName":{},"functionVersion":"$LATEST","handler":"bootstrap"{account}}}"#,
        json::to_string(telemetry::function_name())
    )
}

/// Handles `GET event/next`: says the extension is done with its last event
/// (or with its init), and waits for the next one.
pub(super) fn next(shared: &Arc<Shared>, request: Request, record: usize) {
    let mut state = shared.lock();
    let index = match identify(&state, &request.headers) {
        Ok(index) => index,
        Err(answer) => {
            drop(state);
            finish(shared, request, record, Some(answer), None);
            return;
        }
    };
    let now = Instant::now();
    let r = &mut state.ext.registered[index];
    let refusal = if r.info.error.is_some() {
        Some("event/next after an error report")
    } else if r.info.shutdown_at.is_some() {
        Some("event/next after SHUTDOWN")
    } else if r.waiting.is_some() {
        Some("event/next while another one waits")
    } else {
        None
    };
    if let Some(why) = refusal {
        let answer = invalid_state(&r.info.name, why);
        drop(state);
        finish(shared, request, record, Some(answer), None);
        return;
    }
    r.info.ready_at.get_or_insert(now);
    let done_with = r.busy.take();
    let (identifier, name) = (r.info.identifier.clone(), r.info.name.clone());
    if let Some(id) = done_with {
        if let Some(open) = state.ext.open.get_mut(&id) {
            open.owed.retain(|owed| *owed != identifier);
            open.seen.push((name, now));
        }
        try_complete(&mut state, &id);
    }
    let r = &mut state.ext.registered[index];
    if r.owed_shutdown {
        r.owed_shutdown = false;
        r.info.shutdown_at = Some(now);
        let answer = shutdown_answer(&state);
        shared.changed.notify_all();
        drop(state);
        finish(shared, request, record, Some(answer), None);
        return;
    }
    r.waiting = Some(Parked { request, record });
    check_init(&mut state);
    let out = pump(&mut state);
    shared.changed.notify_all();
    drop(state);
    for (request, answer) in out {
        deliver(shared, request, Some(answer));
    }
}

/// The `SHUTDOWN` event of the shutdown under way.
fn shutdown_answer(state: &State) -> Answer {
    let (reason, deadline_ms) = state
        .ext
        .shutdown
        .as_ref()
        .map_or(("spindown", 0), |s| (s.reason.as_str(), s.deadline_ms));
    event_answer(format!(
        r#"{{"eventType":"SHUTDOWN","deadlineMs":{deadline_ms},"shutdownReason":"{reason}"}}"#
    ))
}

/// Gives each extension registered for `SHUTDOWN` its event: at once if it
/// waits on `event/next`, otherwise as the answer to its next call. Returns
/// the answers to send once the lock is released.
pub(super) fn tell_shutdown(state: &mut State) -> Vec<(Request, Answer)> {
    let now = Instant::now();
    let mut out = Vec::new();
    for index in 0..state.ext.registered.len() {
        let r = &state.ext.registered[index];
        if !r.takes_shutdown || r.info.error.is_some() || r.info.shutdown_at.is_some() {
            continue;
        }
        let answer = shutdown_answer(state);
        let r = &mut state.ext.registered[index];
        match r.waiting.take() {
            Some(waiting) => {
                r.info.shutdown_at = Some(now);
                if let Some(record) = state.records.get_mut(waiting.record) {
                    record.status = 200;
                }
                out.push((waiting.request, answer));
            }
            None => r.owed_shutdown = true,
        }
    }
    out
}

/// Handles `POST init/error` (`init` true) and `POST exit/error`: the
/// extension reports a failure and is about to exit. An `init/error` fails
/// the init phase.
pub(super) fn report_error(shared: &Arc<Shared>, request: Request, record: usize, init: bool) {
    let mut state = shared.lock();
    let answer = match identify(&state, &request.headers) {
        Err(answer) => answer,
        Ok(index) => take_error(&mut state, index, &request.headers, init),
    };
    // An extension that failed holds no event back.
    let out = pump(&mut state);
    shared.changed.notify_all();
    drop(state);
    for (request, answer) in out {
        deliver(shared, request, Some(answer));
    }
    finish(shared, request, record, Some(answer), None);
}

fn take_error(state: &mut State, index: usize, headers: &[(String, String)], init: bool) -> Answer {
    let Some(error_type) = find_header(headers, api::FUNCTION_ERROR_TYPE) else {
        return error_answer(
            403,
            &format!("{} not found", api::FUNCTION_ERROR_TYPE),
            "Extension.MissingHeader",
        );
    };
    let settled = state.ext.init_settled();
    let r = &mut state.ext.registered[index];
    if r.info.error.is_some() {
        return invalid_state(&r.info.name, "a second error report");
    }
    if init && (settled || r.info.ready_at.is_some()) {
        return invalid_state(&r.info.name, "init/error after its init");
    }
    r.info.error = Some(error_type.to_owned());
    if init {
        state.ext.init.failure = Some(InitFailure::ExtensionError {
            name: r.info.name.clone(),
            error_type: error_type.to_owned(),
        });
        state.telemetry.close();
    }
    accepted()
}

/// Handles `PUT /2022-07-01/telemetry`: a subscription, during init only.
pub(super) fn subscribe(shared: &Arc<Shared>, request: Request, record: usize) {
    let mut state = shared.lock();
    let answer = match identify(&state, &request.headers) {
        Err(answer) => answer,
        Ok(_) if state.ext.init_settled() => error_answer(
            403,
            "Telemetry API subscription is closed",
            "Telemetry.SubscriptionClosed",
        ),
        Ok(index) => {
            let name = state.ext.registered[index].info.name.clone();
            let body = state
                .records
                .get(record)
                .map(|r| r.body.clone())
                .unwrap_or_default();
            match telemetry::subscribe(shared, &mut state, &name, &body) {
                Ok(()) => json_answer(200, br#""OK""#.to_vec()),
                Err(answer) => answer,
            }
        }
    };
    shared.changed.notify_all();
    drop(state);
    finish(shared, request, record, Some(answer), None);
}

impl ShutdownReason {
    /// The reason as the `SHUTDOWN` event writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ShutdownReason::Spindown => "spindown",
            ShutdownReason::Timeout => "timeout",
            ShutdownReason::Failure => "failure",
        }
    }
}

impl core::fmt::Display for InitFailure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            InitFailure::TimedOut(waiting) => {
                write!(f, "init timed out waiting for {}", waiting.join(", "))
            }
            InitFailure::ExtensionError { name, error_type } => {
                write!(f, "extension {name} reported init/error {error_type}")
            }
            InitFailure::RuntimeExited => f.write_str("the runtime exited during init"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_a_uuid() {
        assert!(is_uuid(&fresh_uuid()));
        assert!(!is_uuid("not-a-uuid"));
        assert!(!is_uuid("0123456789abcdef0123456789abcdef0123"));
    }

    #[test]
    fn renders_events_as_lambda_does() {
        assert_eq!(
            invoke_body("r-1", 5, "arn:x", Some("Root=1")),
            r#"{"eventType":"INVOKE","deadlineMs":5,"requestId":"r-1","invokedFunctionArn":"arn:x","tracing":{"type":"X-Amzn-Trace-Id","value":"Root=1"}}"#
        );
        assert_eq!(
            invoke_body("r-\"2", 5, "", None),
            r#"{"eventType":"INVOKE","deadlineMs":5,"requestId":"r-\"2","invokedFunctionArn":""}"#
        );
        assert_eq!(
            register_body(Some("123456789012")),
            r#"{"functionName":"tiny-lambda-local","functionVersion":"$LATEST","handler":"bootstrap","accountId":"123456789012"}"#
        );
    }
}
