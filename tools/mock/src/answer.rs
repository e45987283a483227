//! What the mock answers, decided but not yet sent: the [`Answer`] type,
//! Lambda-shaped answers (accepted, errors, injected faults), and the
//! reports Lambda takes only once (`/init/error`, `/restore/error`).
//!
//! It uses no other part of the mock, so every part builds its answers here
//! (`wire` for a malformed request, `invocation`, `modes`, `stream`,
//! `serve`) without having to import another for it.

use std::borrow::ToOwned;
use std::format;
use std::string::String;
use std::vec::Vec;

use miniserde::json;

use super::{Posted, State};

/// An HTTP answer that is decided but perhaps not yet sent.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
}

/// 202 with Lambda's body for an accepted post.
pub(super) fn accepted() -> Answer {
    json_answer(202, br#"{"status":"OK"}"#.to_vec())
}

/// An error answer with Lambda's body shape.
pub(super) fn error_answer(status: u16, message: &str, error_type: &str) -> Answer {
    // Messages can quote what a client sent (an event type, say).
    let body = format!(
        r#"{{"errorMessage":{},"errorType":{}}}"#,
        json::to_string(message),
        json::to_string(error_type)
    );
    json_answer(status, body.into_bytes())
}

/// The answer for an injected `Fault::Status`.
pub(super) fn fault_answer(status: u16) -> Answer {
    let message = format!("Fault injected by the mock: status {status}");
    error_answer(status, &message, "InjectedFault")
}

/// An answer with a JSON body.
pub(super) fn json_answer(status: u16, body: Vec<u8>) -> Answer {
    let headers = Vec::from([("Content-Type".to_owned(), "application/json".to_owned())]);
    Answer {
        status,
        headers,
        body,
    }
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
