//! What `event/next` answers, as plain data: one lifecycle [`Event`] (an
//! `INVOKE` with its [`Tracing`], or the `SHUTDOWN` with its
//! [`ShutdownReason`]), the [`EventType`]s an extension registers for, and
//! reading the answer ([`parse_next`]).

use alloc::string::{String, ToString};
use miniserde::{Deserialize, json};

use crate::extension::{Error, judge};

/// The kinds of event an extension can register for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// `INVOKE`: one per invocation of the function.
    Invoke,
    /// `SHUTDOWN`: once, before the environment goes away. Only an external
    /// extension may ask for it; an internal one stops with its runtime.
    Shutdown,
}

impl EventType {
    /// The name as Lambda writes it in `events` and `eventType`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Invoke => "INVOKE",
            EventType::Shutdown => "SHUTDOWN",
        }
    }
}

/// One lifecycle event, as `event/next` delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `INVOKE`: the function was invoked. The extension sees the invocation's
    /// metadata, never its payload.
    Invoke {
        /// `requestId`: the same id the runtime gets.
        request_id: String,
        /// `deadlineMs`: when the invocation times out, in milliseconds since
        /// the Unix epoch (0 when Lambda left it out).
        deadline_ms: u64,
        /// `invokedFunctionArn`: the ARN the caller used (empty when left out).
        invoked_function_arn: String,
        /// `tracing`: the X-Ray header of the invocation, when there is one.
        tracing: Option<Tracing>,
    },
    /// `SHUTDOWN`: the environment is going away; finish up before the deadline.
    Shutdown {
        /// `shutdownReason`.
        reason: ShutdownReason,
        /// `deadlineMs`: when Lambda stops the process, in milliseconds since
        /// the Unix epoch (0 when Lambda left it out).
        deadline_ms: u64,
    },
}

/// The `tracing` object of an `INVOKE` event.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Tracing {
    /// `type`: `X-Amzn-Trace-Id`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `value`: the trace header, `Root=...;Parent=...;Sampled=...`.
    pub value: String,
}

/// Why the environment shuts down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShutdownReason {
    /// `spindown`: a normal end, the environment was idle.
    Spindown,
    /// `timeout`: a duration limit ran out.
    Timeout,
    /// `failure`: an error, such as running out of memory.
    Failure,
    /// A reason this crate does not know, as Lambda sent it.
    Other(String),
}

impl ShutdownReason {
    /// Read a `shutdownReason`. The docs write the values in capitals, Lambda's
    /// runtime interface emulator in lower case; case is ignored.
    pub fn from_wire(text: &str) -> ShutdownReason {
        let known = [
            ("spindown", ShutdownReason::Spindown),
            ("timeout", ShutdownReason::Timeout),
            ("failure", ShutdownReason::Failure),
        ];
        known
            .into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(text))
            .map(|(_, reason)| reason)
            .unwrap_or_else(|| ShutdownReason::Other(text.to_string()))
    }

    /// The reason as Lambda sends it: `spindown`, `timeout`, `failure` (in
    /// lower case, as Lambda and its emulator write them), or an unknown
    /// reason as it came.
    pub fn as_str(&self) -> &str {
        match self {
            ShutdownReason::Spindown => "spindown",
            ShutdownReason::Timeout => "timeout",
            ShutdownReason::Failure => "failure",
            ShutdownReason::Other(text) => text,
        }
    }
}

/// Why an `event/next` body that does not parse at all was refused.
const NOT_JSON: &str = "not a JSON object with an eventType and fields of the documented types";

#[derive(Deserialize)]
struct NextBody {
    #[serde(rename = "eventType")]
    event_type: String,
    #[serde(rename = "deadlineMs")]
    deadline_ms: Option<u64>,
    #[serde(rename = "requestId")]
    request_id: Option<String>,
    #[serde(rename = "invokedFunctionArn")]
    invoked_function_arn: Option<String>,
    tracing: Option<Tracing>,
    #[serde(rename = "shutdownReason")]
    shutdown_reason: Option<String>,
}

/// Read the answer to `event/next` into an [`Event`].
///
/// An `INVOKE` without a `requestId` is malformed; an `eventType` this crate
/// does not know is [`Error::UnknownEvent`], so a new kind of event is named
/// rather than mistaken for one of the two.
pub fn parse_next(status: u16, body: &str) -> Result<Event, Error> {
    judge(status, body)?;
    let event = json::from_str::<NextBody>(body).map_err(|_| Error::BadEvent(NOT_JSON))?;
    let deadline_ms = event.deadline_ms.unwrap_or(0);
    match event.event_type.as_str() {
        "INVOKE" => Ok(Event::Invoke {
            request_id: event
                .request_id
                .filter(|id| !id.is_empty())
                .ok_or(Error::BadEvent("INVOKE without a requestId"))?,
            deadline_ms,
            invoked_function_arn: event.invoked_function_arn.unwrap_or_default(),
            tracing: event.tracing,
        }),
        "SHUTDOWN" => Ok(Event::Shutdown {
            reason: ShutdownReason::from_wire(event.shutdown_reason.as_deref().unwrap_or("")),
            deadline_ms,
        }),
        other => Err(Error::UnknownEvent(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_read() {
        let trace = "Root=1-65f0c2a1-0a1b2c3d4e5f60718293a4b5;Parent=1a2b3c4d5e6f7a8b;Sampled=1";
        let cases = [
            (
                r#"{"eventType":"INVOKE","deadlineMs":1710000000000,"requestId":"3da1f2dc-3222-475e-9205-e2e6c6318895","invokedFunctionArn":"arn:aws:lambda:eu-west-1:123456789012:function:orders","tracing":{"type":"X-Amzn-Trace-Id","value":"Root=1-65f0c2a1-0a1b2c3d4e5f60718293a4b5;Parent=1a2b3c4d5e6f7a8b;Sampled=1"}}"#,
                Event::Invoke {
                    request_id: "3da1f2dc-3222-475e-9205-e2e6c6318895".into(),
                    deadline_ms: 1_710_000_000_000,
                    invoked_function_arn: "arn:aws:lambda:eu-west-1:123456789012:function:orders"
                        .into(),
                    tracing: Some(Tracing {
                        kind: "X-Amzn-Trace-Id".into(),
                        value: trace.into(),
                    }),
                },
            ),
            // The bare minimum of an invoke.
            (
                r#"{"eventType":"INVOKE","requestId":"r-1"}"#,
                Event::Invoke {
                    request_id: "r-1".into(),
                    deadline_ms: 0,
                    invoked_function_arn: String::new(),
                    tracing: None,
                },
            ),
            (
                r#"{"eventType":"SHUTDOWN","shutdownReason":"spindown","deadlineMs":1710000002000}"#,
                Event::Shutdown {
                    reason: ShutdownReason::Spindown,
                    deadline_ms: 1_710_000_002_000,
                },
            ),
            // The docs' capitals.
            (
                r#"{"eventType":"SHUTDOWN","shutdownReason":"TIMEOUT","deadlineMs":5}"#,
                Event::Shutdown {
                    reason: ShutdownReason::Timeout,
                    deadline_ms: 5,
                },
            ),
            (
                r#"{"eventType":"SHUTDOWN","shutdownReason":"failure","deadlineMs":5}"#,
                Event::Shutdown {
                    reason: ShutdownReason::Failure,
                    deadline_ms: 5,
                },
            ),
            // A reason Lambda may add tomorrow is kept, not refused.
            (
                r#"{"eventType":"SHUTDOWN","shutdownReason":"rebalance","deadlineMs":5}"#,
                Event::Shutdown {
                    reason: ShutdownReason::Other("rebalance".into()),
                    deadline_ms: 5,
                },
            ),
        ];
        for (body, expect) in cases {
            assert_eq!(parse_next(200, body), Ok(expect), "{body}");
        }
    }

    #[test]
    fn shutdown_reasons_are_written_as_lambda_sends_them() {
        for text in ["spindown", "timeout", "failure", "rebalance"] {
            assert_eq!(ShutdownReason::from_wire(text).as_str(), text);
        }
        assert_eq!(ShutdownReason::from_wire("SPINDOWN").as_str(), "spindown");
    }

    #[test]
    fn bad_events_and_statuses_are_errors() {
        let cases = [
            (200, "", Error::BadEvent(NOT_JSON)),
            (200, "[]", Error::BadEvent(NOT_JSON)),
            (200, r#"{"deadlineMs":1}"#, Error::BadEvent(NOT_JSON)),
            (
                200,
                r#"{"eventType":"INVOKE","deadlineMs":"soon","requestId":"r"}"#,
                Error::BadEvent(NOT_JSON),
            ),
            (
                200,
                r#"{"eventType":"INVOKE","deadlineMs":1}"#,
                Error::BadEvent("INVOKE without a requestId"),
            ),
            (
                200,
                r#"{"eventType":"INVOKE","requestId":""}"#,
                Error::BadEvent("INVOKE without a requestId"),
            ),
            (
                200,
                r#"{"eventType":"RESTORE","deadlineMs":1}"#,
                Error::UnknownEvent("RESTORE".into()),
            ),
            (
                200,
                r#"{"eventType":"invoke","requestId":"r"}"#,
                Error::UnknownEvent("invoke".into()),
            ),
            (
                403,
                "{}",
                Error::Refused {
                    status: 403,
                    message: "{}".into(),
                },
            ),
            (500, "", Error::ApiFailed(500)),
        ];
        for (status, body, expect) in cases {
            assert_eq!(parse_next(status, body), Err(expect), "{status} {body}");
        }
    }
}
