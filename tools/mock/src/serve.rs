//! How the mock serves a request, endpoint by endpoint: recording and
//! routing it, handing out events (or parking a `/next` until one is
//! pushed), taking posts, and applying injected faults.
//!
//! This is the top of the mock's parts: it uses the others and none of
//! them uses it. What it answers is built in `answer`, invocations are
//! opened and judged in `invocation`, a streamed post is read in `stream`,
//! the two environment modes live in `modes`, the Extensions and Telemetry
//! APIs in `extensions` (which also decides when an event may go out), and
//! every answer goes out through `wire`, which hands requests here through
//! the function `RuntimeApi::start` gives it.

use std::borrow::ToOwned;
use std::string::String;
use std::sync::{Arc, MutexGuard};
use std::thread;
use std::time::Instant;
use std::vec::Vec;

use super::answer::{accept_once, error_answer, fault_answer, first_report};
use super::invocation::judge;
use super::wire::{Request, deliver, finish};
use super::{
    Fault, Outcome, PREFIX, Parked, Posted, Record, Route, Shared, State, extensions, find_header,
    modes, stream,
};
use tiny_lambda::extension::{api, telemetry};

/// Records one request and sends it to its handler.
pub(super) fn dispatch(shared: &Arc<Shared>, request: Request) {
    let Some(mut request) = modes::screen(shared, request) else {
        return;
    };
    let at = Instant::now();
    let peer = request.peer;
    let method = request.method.clone();
    let path = request.path.clone();
    let headers = request.headers.clone();
    let route = route(&method, &path);
    // A streamed answer is read chunk by chunk as it comes; any other
    // chunked body is read whole first.
    let streamed = matches!(route, Route::Response(_)) && stream::is_streamed(&headers);
    if !streamed {
        request.read_body();
    }
    let body = std::mem::take(&mut request.body);
    let record = {
        let mut state = shared.lock();
        state.records.push(Record {
            at,
            method,
            path,
            headers,
            body,
            status: 0,
            peer,
        });
        shared.changed.notify_all();
        state.records.len() - 1
    };
    match route {
        Route::Response(id) if streamed => stream::post(shared, request, record, id),
        Route::Next => next(shared, request, record, at),
        Route::Response(id) => post(shared, request, record, id, false),
        Route::Error(id) => post(shared, request, record, id, true),
        Route::InitError => init_error(shared, request, record),
        Route::RestoreNext => modes::restore_next(shared, request, record),
        Route::RestoreError => modes::restore_error(shared, request, record),
        Route::Register => extensions::register(shared, request, record),
        Route::ExtensionNext => extensions::next(shared, request, record),
        Route::ExtensionInitError => extensions::report_error(shared, request, record, true),
        Route::ExtensionExitError => extensions::report_error(shared, request, record, false),
        Route::Subscribe => extensions::subscribe(shared, request, record),
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
pub(super) fn route(method: &str, path: &str) -> Route {
    let extension_route = match path {
        api::REGISTER => Some((Route::Register, "POST")),
        api::NEXT => Some((Route::ExtensionNext, "GET")),
        api::INIT_ERROR => Some((Route::ExtensionInitError, "POST")),
        api::EXIT_ERROR => Some((Route::ExtensionExitError, "POST")),
        telemetry::SUBSCRIBE => Some((Route::Subscribe, "PUT")),
        _ => None,
    };
    if let Some((route, expected)) = extension_route {
        return if method == expected {
            route
        } else {
            Route::WrongMethod
        };
    }
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return Route::NotFound;
    };
    let (route, expected) = if rest == "/invocation/next" {
        (Route::Next, "GET")
    } else if rest == "/init/error" {
        (Route::InitError, "POST")
    } else if rest == "/restore/next" {
        (Route::RestoreNext, "GET")
    } else if rest == "/restore/error" {
        (Route::RestoreError, "POST")
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
pub(super) fn next(shared: &Arc<Shared>, request: Request, record: usize, at: Instant) {
    let mut state = shared.lock();
    state.next_calls += 1;
    state.first_next_at.get_or_insert(at);
    // Asking for an event is how the runtime says its init is done.
    extensions::runtime_next(&mut state, at);
    shared.changed.notify_all();
    match state.next_faults.pop_front() {
        None if state.modes.over_limit(state.parked.len()) => {
            drop(state);
            finish(
                shared,
                request,
                record,
                Some(modes::over_limit_answer()),
                None,
            );
        }
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

/// Parks the request, then hands out the first queued event if one may go
/// out now (see `extensions::pump`); otherwise it waits for `push`, or for
/// the extensions.
pub(super) fn serve_next(
    shared: &Shared,
    mut state: MutexGuard<'_, State>,
    request: Request,
    record: usize,
) {
    state.parked.push_back(Parked { request, record });
    let out = extensions::pump(&mut state);
    shared.changed.notify_all();
    drop(state);
    for (request, answer) in out {
        deliver(shared, request, Some(answer));
    }
}

/// Handles `POST /invocation/{id}/response` and `/error`.
pub(super) fn post(
    shared: &Arc<Shared>,
    request: Request,
    record: usize,
    id: String,
    is_error: bool,
) {
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
    if let Some(answer) = &answer {
        let error_type = find_header(&headers, "Lambda-Runtime-Function-Error-Type");
        let status = if is_error { "error" } else { "success" };
        extensions::answered(
            &mut state,
            &id,
            answer.status,
            status,
            error_type,
            body.len(),
        );
    }
    if !state.outcomes.contains_key(&id) {
        let posted = Posted {
            request_id: id.clone(),
            headers,
            body,
            status: answer.as_ref().map_or(0, |a| a.status),
            at,
            handed_out_at: state.invocations.get(&id).map(|i| i.handed_out_at),
            stream: None,
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

/// Handles `POST /init/error`.
pub(super) fn init_error(shared: &Arc<Shared>, request: Request, record: usize) {
    let mut state = shared.lock();
    let error_type = state
        .records
        .get(record)
        .and_then(|r| find_header(&r.headers, "Lambda-Runtime-Function-Error-Type"))
        .unwrap_or("Runtime.Unknown")
        .to_owned();
    extensions::runtime_init_error(&mut state, &error_type);
    let posted = first_report(&state, record, state.init_error.is_some());
    let answer = accept_once(&mut state.init_error, posted);
    drop(state);
    finish(shared, request, record, Some(answer), None);
}
