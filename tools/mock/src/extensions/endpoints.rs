//! The Extensions API's endpoints: `register` (who may, and what it
//! answers), `event/next`, `init/error` and `exit/error`, each call known by
//! its identifier; the `SHUTDOWN` event handed out for `shutdown`; and the
//! telemetry subscription taken for `telemetry`.

use std::borrow::ToOwned;
use std::format;
use std::string::String;
use std::sync::Arc;
use std::time::Instant;
use std::vec::Vec;

use miniserde::{Deserialize, json};
use tiny_lambda::extension::api;

use super::Registered;
use super::gates::{check_init, event_answer, pump, start_timer, try_complete};
use crate::answer::{Answer, accepted, error_answer, fault_answer, json_answer};
use crate::event::fresh_uuid;
use crate::telemetry;
use crate::wire::{Request, deliver, finish};
use crate::{
    DEFAULT_FUNCTION_ARN, Extension, Fault, InitFailure, Parked, Shared, State, find_header,
};

/// Lambda's limit on extensions in one environment.
const MAX_EXTENSIONS: usize = 10;

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
pub(crate) fn register(shared: &Arc<Shared>, request: Request, record: usize) {
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
pub(crate) fn next(shared: &Arc<Shared>, request: Request, record: usize) {
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
pub(crate) fn tell_shutdown(state: &mut State) -> Vec<(Request, Answer)> {
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
pub(crate) fn report_error(shared: &Arc<Shared>, request: Request, record: usize, init: bool) {
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
pub(crate) fn subscribe(shared: &Arc<Shared>, request: Request, record: usize) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extensions::gates::invoke_body;

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
