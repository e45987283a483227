//! The life of one invocation, as Lambda keeps it: handed out by `/next`
//! ([`hand_out`] registers it and counts it in flight), then closed by the
//! first answer Lambda accepts for it, or by its deadline ([`judge`]).
//!
//! The two ends live together so that what opens an invocation and what
//! closes it can be read side by side; `serve` and `stream` judge posts
//! here, and `push` hands out events here.

use std::borrow::ToOwned;
use std::format;
use std::string::String;
use std::time::Instant;

use super::answer::{Answer, accepted, error_answer};
use super::{Event, INVOCATION_ID, Invocation, MAX_RESPONSE_BYTES, State, epoch_ms, find_header};

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
