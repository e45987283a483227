//! The Telemetry API (`PUT /2022-07-01/telemetry`): the subscription an
//! extension sends ([`Subscription`], [`subscribe`]), here; the batches
//! Lambda then posts to its listener, read one element at a time
//! ([`parse_batch`], in `batch`), each into a [`Record`] (in `record`).
//!
//! Names follow the AWS documentation ("Lambda Telemetry API reference" and
//! its "Event schema reference", schema version 2022-12-13).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::ops::RangeInclusive;
use miniserde::{Serialize, json};

use super::api::EXTENSION_IDENTIFIER;
use super::{Error, Request, judge};

mod batch;
mod record;

pub use batch::{TelemetryEvent, parse_batch};
pub use record::{
    InitReport, InitReportMetrics, InitRuntimeDone, InitStart, Log, Record, Report, ReportMetrics,
    RuntimeDone, RuntimeDoneMetrics, Start, Status, TraceContext,
};

/// The version of the Telemetry API's path.
pub const API_VERSION: &str = "2022-07-01";
/// `PUT`: subscribe to telemetry streams.
pub const SUBSCRIBE: &str = "/2022-07-01/telemetry";
/// The schema of the records Lambda sends, asked for in every subscription;
/// the record types below follow it.
pub const SCHEMA_VERSION: &str = "2022-12-13";
/// The host name a listener inside the execution environment is reached at.
pub const SANDBOX_HOST: &str = "sandbox.localdomain";

/// What Lambda accepts for `maxItems`: records buffered before a batch is sent.
pub const MAX_ITEMS: RangeInclusive<u32> = 1_000..=10_000;
/// What Lambda accepts for `maxBytes`: bytes buffered before a batch is sent.
pub const MAX_BYTES: RangeInclusive<u32> = 262_144..=1_048_576;
/// What Lambda accepts for `timeoutMs`: how long it buffers before a batch is sent.
pub const TIMEOUT_MS: RangeInclusive<u32> = 25..=30_000;

/// The telemetry streams an extension can subscribe to (Lambda's `types`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// `platform`: init, invocation and extension lifecycle events, with metrics.
    Platform,
    /// `function`: the function's log lines.
    Function,
    /// `extension`: the extensions' log lines. Subscribing an extension to
    /// these and logging what it receives would feed its own output back.
    Extension,
}

impl Stream {
    /// The name as Lambda writes it in `types`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Platform => "platform",
            Stream::Function => "function",
            Stream::Extension => "extension",
        }
    }
}

/// When Lambda sends a batch: whichever limit is reached first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Buffering {
    /// `maxItems`, within [`MAX_ITEMS`].
    #[serde(rename = "maxItems")]
    pub max_items: u32,
    /// `maxBytes`, within [`MAX_BYTES`]. Expect batches of up to twice this,
    /// plus each record's `time` and `type`.
    #[serde(rename = "maxBytes")]
    pub max_bytes: u32,
    /// `timeoutMs`, within [`TIMEOUT_MS`].
    #[serde(rename = "timeoutMs")]
    pub timeout_ms: u32,
}

impl Default for Buffering {
    /// The defaults of the Telemetry API reference: 1,000 records, 256 KiB,
    /// one second. They are sent explicitly, so the subscription does not
    /// depend on what Lambda would choose when the field is left out.
    fn default() -> Buffering {
        Buffering {
            max_items: 1_000,
            max_bytes: 262_144,
            timeout_ms: 1_000,
        }
    }
}

/// A subscription to the Telemetry API, as plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// `types`: at least one stream.
    pub types: Vec<Stream>,
    /// `buffering`.
    pub buffering: Buffering,
    /// `destination.URI`: where the extension's listener waits for Lambda's
    /// `POST`s; see [`listener_uri`]. Only `http://` is accepted: Lambda
    /// delivers over plain HTTP, never HTTPS. (Its other protocol, TCP, is
    /// not offered here: the docs advise against it, since Lambda cannot know
    /// what reached the extension and a crash loses telemetry.)
    pub uri: String,
}

/// The URI of a listener on `port` in the execution environment,
/// `http://sandbox.localdomain:PORT`. Port 9001 is Lambda's own.
pub fn listener_uri(port: u16) -> String {
    format!("http://{SANDBOX_HOST}:{port}")
}

#[derive(Serialize)]
struct SubscribeBody<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: &'static str,
    types: Vec<&'static str>,
    buffering: Buffering,
    destination: Destination<'a>,
}

#[derive(Serialize)]
struct Destination<'a> {
    protocol: &'static str,
    #[serde(rename = "URI")]
    uri: &'a str,
}

/// The subscribe call, with the identifier `register` returned.
///
/// What Lambda would refuse with a 400 is refused here first, with the reason:
/// no types, a destination that is not `http://`, a buffering setting out of
/// its range.
pub fn subscribe(identifier: &str, subscription: &Subscription) -> Result<Request, Error> {
    if subscription.types.is_empty() {
        return Err(Error::BadSubscription("types must not be empty"));
    }
    if !subscription.uri.starts_with("http://") {
        return Err(Error::BadSubscription(
            "the destination must be an http:// URI",
        ));
    }
    let b = subscription.buffering;
    for (field, value, range) in [
        ("maxItems", b.max_items, MAX_ITEMS),
        ("maxBytes", b.max_bytes, MAX_BYTES),
        ("timeoutMs", b.timeout_ms, TIMEOUT_MS),
    ] {
        if !range.contains(&value) {
            return Err(Error::BadBuffering {
                field,
                value,
                min: *range.start(),
                max: *range.end(),
            });
        }
    }
    let body = SubscribeBody {
        schema_version: SCHEMA_VERSION,
        types: subscription.types.iter().map(|t| t.as_str()).collect(),
        buffering: b,
        destination: Destination {
            protocol: "HTTP",
            uri: &subscription.uri,
        },
    };
    Ok(Request {
        method: "PUT",
        path: SUBSCRIBE,
        headers: vec![
            (EXTENSION_IDENTIFIER, identifier.to_string()),
            ("Content-Type", "application/json".to_string()),
        ],
        body: json::to_string(&body),
    })
}

/// Judge the answer to a subscription: 200 is success, and 202 is what a
/// local test environment answers instead. A 400 body says what Lambda did
/// not accept (a subscription through the older Logs API, for one, rules
/// this one out).
pub fn judge_subscribe(status: u16, body: &str) -> Result<(), Error> {
    judge(status, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_streams() -> Subscription {
        Subscription {
            types: vec![Stream::Platform, Stream::Function, Stream::Extension],
            buffering: Buffering::default(),
            uri: listener_uri(4243),
        }
    }

    #[test]
    fn subscribe_is_a_put_with_the_identifier_and_the_schema() {
        let request = subscribe("id-1", &all_streams()).unwrap();
        assert_eq!(request.method, "PUT");
        assert_eq!(request.path, "/2022-07-01/telemetry");
        assert_eq!(request.path, format!("/{API_VERSION}/telemetry"));
        assert_eq!(request.header("Lambda-Extension-Identifier"), Some("id-1"));
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(
            request.body,
            concat!(
                r#"{"schemaVersion":"2022-12-13","types":["platform","function","extension"],"#,
                r#""buffering":{"maxItems":1000,"maxBytes":262144,"timeoutMs":1000},"#,
                r#""destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:4243"}}"#
            )
        );

        let platform_only = Subscription {
            types: vec![Stream::Platform],
            buffering: Buffering {
                max_items: 10_000,
                max_bytes: 1_048_576,
                timeout_ms: 25,
            },
            uri: "http://sandbox.localdomain:8080/telemetry".into(),
        };
        let body = subscribe("id-1", &platform_only).unwrap().body;
        assert!(body.contains(r#""types":["platform"]"#), "{body}");
        assert!(
            body.contains(r#""buffering":{"maxItems":10000,"maxBytes":1048576,"timeoutMs":25}"#),
            "{body}"
        );
    }

    #[test]
    fn what_lambda_would_refuse_is_refused_first() {
        let refused = |why| Error::BadSubscription(why);
        let with_buffering = |max_items, max_bytes, timeout_ms| Subscription {
            buffering: Buffering {
                max_items,
                max_bytes,
                timeout_ms,
            },
            ..all_streams()
        };
        let out_of = |field, value, range: RangeInclusive<u32>| Error::BadBuffering {
            field,
            value,
            min: *range.start(),
            max: *range.end(),
        };
        let cases = [
            (
                Subscription {
                    types: vec![],
                    ..all_streams()
                },
                refused("types must not be empty"),
            ),
            (
                Subscription {
                    uri: "https://sandbox.localdomain:1".into(),
                    ..all_streams()
                },
                refused("the destination must be an http:// URI"),
            ),
            (
                Subscription {
                    uri: String::new(),
                    ..all_streams()
                },
                refused("the destination must be an http:// URI"),
            ),
            (
                with_buffering(999, 262_144, 1_000),
                out_of("maxItems", 999, 1_000..=10_000),
            ),
            (
                with_buffering(10_001, 262_144, 1_000),
                out_of("maxItems", 10_001, 1_000..=10_000),
            ),
            (
                with_buffering(1_000, 262_143, 1_000),
                out_of("maxBytes", 262_143, 262_144..=1_048_576),
            ),
            (
                with_buffering(1_000, 1_048_577, 1_000),
                out_of("maxBytes", 1_048_577, 262_144..=1_048_576),
            ),
            (
                with_buffering(1_000, 262_144, 24),
                out_of("timeoutMs", 24, 25..=30_000),
            ),
            (
                with_buffering(1_000, 262_144, 30_001),
                out_of("timeoutMs", 30_001, 25..=30_000),
            ),
        ];
        for (i, (subscription, expect)) in cases.into_iter().enumerate() {
            assert_eq!(subscribe("id", &subscription), Err(expect), "case {i}");
        }
    }

    #[test]
    fn subscribe_answers_are_judged() {
        assert_eq!(judge_subscribe(200, "\"OK\""), Ok(()));
        assert_eq!(judge_subscribe(202, ""), Ok(()));
        let refusal =
            r#"{"errorType":"ValidationError","errorMessage":"types should not be empty"}"#;
        assert_eq!(
            judge_subscribe(400, refusal),
            Err(Error::Refused {
                status: 400,
                message: refusal.into()
            })
        );
        assert_eq!(judge_subscribe(500, ""), Err(Error::ApiFailed(500)));
    }
}
