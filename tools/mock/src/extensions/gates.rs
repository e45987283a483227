//! The two gates in front of every event: the end of init (everyone ready,
//! or the init timer giving up on it) and, for each event, every extension
//! registered for `INVOKE` waiting on `event/next`; and each invocation
//! beside the runtime, from its `INVOKE` to its `platform.report` and
//! [`Completion`].

use std::borrow::ToOwned;
use std::format;
use std::string::String;
use std::sync::Arc;
use std::thread;
use std::time::Instant;
use std::vec::Vec;

use miniserde::json;

use super::Open;
use crate::answer::{Answer, json_answer};
use crate::event::fresh_uuid;
use crate::invocation::hand_out;
use crate::telemetry;
use crate::wire::Request;
use crate::{Completion, InitFailure, Shared, State, epoch_ms, find_header};

/// Starts the thread that gives up on init at the init timeout, once.
pub(super) fn start_timer(shared: &Arc<Shared>, state: &mut State) {
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
pub(super) fn check_init(state: &mut State) {
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
pub(crate) fn runtime_next(state: &mut State, at: Instant) {
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
pub(crate) fn runtime_init_error(state: &mut State, error_type: &str) {
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
pub(crate) fn pump(state: &mut State) -> Vec<(Request, Answer)> {
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
pub(super) fn invoke_body(id: &str, deadline_ms: u128, arn: &str, trace: Option<&str>) -> String {
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
pub(super) fn event_answer(body: String) -> Answer {
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
pub(crate) fn answered(
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
pub(crate) fn runtime_died(state: &mut State) {
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
pub(super) fn try_complete(state: &mut State, id: &str) {
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
