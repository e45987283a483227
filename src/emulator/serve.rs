//! How the mock answers, endpoint by endpoint: routing, handing out events
//! (or parking a `/next` until one is pushed), judging posts as Lambda
//! would, injected faults, and Lambda-shaped answers.

use super::modes;
use super::stream;
use super::wire::deliver;
use super::*;

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

/// Hands out the first queued event, or parks the request until `push`.
pub(super) fn serve_next(
    shared: &Shared,
    mut state: MutexGuard<'_, State>,
    request: Request,
    record: usize,
) {
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
pub(super) fn hand_out(state: &mut State, event: Event, record: usize) -> Answer {
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
    state.modes.handed_out();
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

/// Decides what Lambda would answer to a post for this invocation, and
/// closes the invocation when the answer does.
pub(super) fn judge(
    state: &mut State,
    id: &str,
    headers: &[(String, String)],
    body_len: usize,
) -> Answer {
    let require_invocation_id = state.require_invocation_id;
    let State {
        invocations, modes, ..
    } = state;
    let Some(invocation) = invocations.get_mut(id) else {
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
        modes.answered();
        return error_answer(410, "Invocation timed out", "InvocationTimedOut");
    }
    if body_len > MAX_RESPONSE_BYTES {
        let message =
            format!("Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).");
        return error_answer(413, &message, "RequestEntityTooLarge");
    }
    invocation.answered = true;
    modes.answered();
    accepted()
}

/// Handles `POST /init/error`.
pub(super) fn init_error(shared: &Arc<Shared>, request: Request, record: usize) {
    let mut state = shared.lock();
    let posted = first_report(&state, record, state.init_error.is_some());
    let answer = accept_once(&mut state.init_error, posted);
    drop(state);
    finish(shared, request, record, Some(answer), None);
}

/// The post of a report that Lambda takes once (`/init/error`,
/// `/restore/error`), as recorded, unless one was taken already.
pub(super) fn first_report(state: &State, record: usize, taken: bool) -> Option<Posted> {
    let r = state.records.get(record).filter(|_| !taken)?;
    Some(Posted {
        request_id: String::new(),
        headers: r.headers.clone(),
        body: r.body.clone(),
        status: 202,
        at: r.at,
        handed_out_at: None,
        stream: None,
    })
}

/// Keeps the first report in `slot` and accepts it; a second is refused
/// with 403, as Lambda refuses a second `/init/error`.
pub(super) fn accept_once(slot: &mut Option<Posted>, posted: Option<Posted>) -> Answer {
    if slot.is_some() {
        return error_answer(403, "Invalid state transition", "InvalidStateTransition");
    }
    *slot = posted;
    accepted()
}

/// Notes the status in the request's record, wakes waiters, and sends the
/// answer (now or after `delay`); `None` closes the connection instead.
pub(super) fn finish(
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
        // A short-lived thread sleeps, so no connection waits on another.
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

/// 202 with Lambda's body for an accepted post.
pub(super) fn accepted() -> Answer {
    json_answer(202, br#"{"status":"OK"}"#.to_vec())
}

/// An error answer with Lambda's body shape.
pub(super) fn error_answer(status: u16, message: &str, error_type: &str) -> Answer {
    let body = format!(r#"{{"errorMessage":"{message}","errorType":"{error_type}"}}"#);
    json_answer(status, body.into_bytes())
}

/// The answer for an injected `Fault::Status`.
pub(super) fn fault_answer(status: u16) -> Answer {
    let message = format!("Fault injected by the mock: status {status}");
    error_answer(status, &message, "InjectedFault")
}

pub(super) fn json_answer(status: u16, body: Vec<u8>) -> Answer {
    let headers = Vec::from([("Content-Type".to_owned(), "application/json".to_owned())]);
    Answer {
        status,
        headers,
        body,
    }
}
