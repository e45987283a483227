//! The Telemetry API (`PUT /2022-07-01/telemetry`): the subscription an
//! extension sends ([`Subscription`], [`subscribe`]) and the batches Lambda
//! then posts to its listener ([`parse_batch`]).
//!
//! Lambda sends each batch as a JSON array of `{"time", "type", "record"}`
//! objects. The records this crate types are the six platform events of an
//! init and an invocation, and the function's and extensions' log lines;
//! every other type, including the ones AWS adds after this was written, is
//! kept as raw JSON text ([`Record::Other`]), so a new record type never
//! breaks a parse. Names follow the AWS documentation ("Lambda Telemetry API
//! reference" and its "Event schema reference", schema version 2022-12-13).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::ops::RangeInclusive;
use miniserde::json::{self, Number, Object, Value};
use miniserde::{Deserialize, Serialize};

use super::api::EXTENSION_IDENTIFIER;
use super::{Error, Request, judge};

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

/// One element of a batch: when Lambda made it, and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryEvent {
    /// `time`: when Lambda produced the record, ISO 8601, as sent.
    pub time: String,
    /// `type` and `record`, read together.
    pub record: Record,
}

/// A record, by its `type`.
///
/// A record of a typed kind that lacks what makes it useful (a
/// `platform.report` without `requestId` or `metrics`, say) is kept as
/// [`Record::Other`] too, rather than failing the whole batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// `platform.initStart`: the init phase began.
    InitStart(InitStart),
    /// `platform.initRuntimeDone`: the runtime finished its init.
    InitRuntimeDone(InitRuntimeDone),
    /// `platform.initReport`: the init phase's report.
    InitReport(InitReport),
    /// `platform.start`: an invocation began.
    Start(Start),
    /// `platform.runtimeDone`: the runtime answered an invocation.
    RuntimeDone(RuntimeDone),
    /// `platform.report`: an invocation's report, with its billing metrics.
    Report(Report),
    /// `function`: a log line of the function.
    Function(Log),
    /// `extension`: a log line of an extension.
    Extension(Log),
    /// Any other `type`, with its `record` as JSON text (the same value,
    /// re-serialised: object keys sorted, no whitespace).
    Other {
        /// `type`, e.g. `platform.logsDropped`.
        kind: String,
        /// `record`, as JSON text.
        record: String,
    },
}

/// A log line, as the function's log format left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Log {
    /// The text format: the line as a string.
    Text(String),
    /// The JSON format: the line's object (`timestamp`, `level`, `message`,
    /// `requestId`...) as JSON text, left for the reader to parse.
    Json(String),
}

/// `status` of a phase's end. Unless it is `success`, the record's
/// `errorType` says what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// `success`.
    Success,
    /// `failure`.
    Failure,
    /// `error`.
    Error,
    /// `timeout`: the phase ran out of time.
    Timeout,
    /// A status this crate does not know, as sent.
    Other(String),
}

impl Status {
    /// Read a `status` value.
    pub fn from_wire(text: &str) -> Status {
        match text {
            "success" => Status::Success,
            "failure" => Status::Failure,
            "error" => Status::Error,
            "timeout" => Status::Timeout,
            other => Status::Other(other.to_string()),
        }
    }
}

/// `tracing` of an invocation's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// `spanId`, when Lambda made a span.
    pub span_id: Option<String>,
    /// `type`: `X-Amzn-Trace-Id`.
    pub kind: String,
    /// `value`: the trace header.
    pub value: String,
}

/// The record of `platform.initStart`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitStart {
    /// `initializationType`: `on-demand`, `provisioned-concurrency`,
    /// `snap-start`... (empty when left out).
    pub initialization_type: String,
    /// `phase`: `init`, or `invoke` when Lambda re-runs a failed init inside
    /// an invocation (empty when left out).
    pub phase: String,
    /// `runtimeVersion`.
    pub runtime_version: Option<String>,
    /// `runtimeVersionArn`.
    pub runtime_version_arn: Option<String>,
}

/// The record of `platform.initRuntimeDone`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitRuntimeDone {
    /// `initializationType` (empty when left out).
    pub initialization_type: String,
    /// `phase` (empty when left out).
    pub phase: String,
    /// `status`.
    pub status: Status,
    /// `errorType`, when the init did not succeed.
    pub error_type: Option<String>,
}

/// The record of `platform.initReport`.
#[derive(Debug, Clone, PartialEq)]
pub struct InitReport {
    /// `initializationType` (empty when left out).
    pub initialization_type: String,
    /// `phase` (empty when left out).
    pub phase: String,
    /// `status`, when sent.
    pub status: Option<Status>,
    /// `errorType`, when the init did not succeed.
    pub error_type: Option<String>,
    /// `metrics`.
    pub metrics: InitReportMetrics,
}

/// `metrics` of `platform.initReport`.
#[derive(Debug, Clone, PartialEq)]
pub struct InitReportMetrics {
    /// `durationMs`: how long the init took.
    pub duration_ms: f64,
}

/// The record of `platform.start`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    /// `requestId`.
    pub request_id: String,
    /// `version`: the function version invoked.
    pub version: Option<String>,
    /// `tracing`.
    pub tracing: Option<TraceContext>,
}

/// The record of `platform.runtimeDone`.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeDone {
    /// `requestId`.
    pub request_id: String,
    /// `status`.
    pub status: Status,
    /// `errorType`, when the invocation did not succeed.
    pub error_type: Option<String>,
    /// `metrics`, when sent.
    pub metrics: Option<RuntimeDoneMetrics>,
    /// `tracing`.
    pub tracing: Option<TraceContext>,
}

/// `metrics` of `platform.runtimeDone`.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeDoneMetrics {
    /// `durationMs`: from the event's delivery to the runtime's answer.
    pub duration_ms: f64,
    /// `producedBytes`: the size of the answer.
    pub produced_bytes: Option<u64>,
}

/// The record of `platform.report`.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// `requestId`.
    pub request_id: String,
    /// `status`.
    pub status: Status,
    /// `errorType`, when the invocation did not succeed.
    pub error_type: Option<String>,
    /// `metrics`.
    pub metrics: ReportMetrics,
    /// `tracing`.
    pub tracing: Option<TraceContext>,
}

/// `metrics` of `platform.report`: what the `REPORT` log line says.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportMetrics {
    /// `durationMs`.
    pub duration_ms: f64,
    /// `billedDurationMs`.
    pub billed_duration_ms: u64,
    /// `memorySizeMB`: the memory configured.
    pub memory_size_mb: u64,
    /// `maxMemoryUsedMB`.
    pub max_memory_used_mb: u64,
    /// `initDurationMs`: on the first invocation after a cold start.
    pub init_duration_ms: Option<f64>,
    /// `restoreDurationMs`: on the first invocation after a SnapStart restore.
    pub restore_duration_ms: Option<f64>,
}

#[derive(Deserialize)]
struct WireEvent {
    time: String,
    #[serde(rename = "type")]
    kind: String,
    record: Value,
}

/// Read a batch Lambda posted to the listener.
///
/// The body must be a JSON array of objects, each with a string `time`, a
/// string `type` and a `record`; anything else is [`Error::BadBatch`]. Within
/// a well-formed batch no record fails: see [`Record`].
pub fn parse_batch(body: &str) -> Result<Vec<TelemetryEvent>, Error> {
    let wire = json::from_str::<Vec<WireEvent>>(body).map_err(|_| Error::BadBatch)?;
    Ok(wire
        .into_iter()
        .map(|event| TelemetryEvent {
            time: event.time,
            record: read_record(event.kind, event.record),
        })
        .collect())
}

fn read_record(kind: String, record: Value) -> Record {
    match kind.as_str() {
        "function" => return Record::Function(read_log(record)),
        "extension" => return Record::Extension(read_log(record)),
        _ => {}
    }
    let typed = match &record {
        Value::Object(fields) => read_platform(&kind, fields),
        _ => None,
    };
    typed.unwrap_or_else(|| Record::Other {
        kind,
        record: json::to_string(&record),
    })
}

fn read_log(record: Value) -> Log {
    match record {
        Value::String(line) => Log::Text(line),
        other => Log::Json(json::to_string(&other)),
    }
}

/// The six platform records this crate types, or None for any other type or
/// a record without the fields that make it useful.
fn read_platform(kind: &str, r: &Object) -> Option<Record> {
    let init_type = || text(r, "initializationType").unwrap_or_default();
    let phase = || text(r, "phase").unwrap_or_default();
    Some(match kind {
        "platform.initStart" => Record::InitStart(InitStart {
            initialization_type: init_type(),
            phase: phase(),
            runtime_version: text(r, "runtimeVersion"),
            runtime_version_arn: text(r, "runtimeVersionArn"),
        }),
        "platform.initRuntimeDone" => Record::InitRuntimeDone(InitRuntimeDone {
            initialization_type: init_type(),
            phase: phase(),
            status: status(r)?,
            error_type: text(r, "errorType"),
        }),
        "platform.initReport" => Record::InitReport(InitReport {
            initialization_type: init_type(),
            phase: phase(),
            status: status(r),
            error_type: text(r, "errorType"),
            metrics: InitReportMetrics {
                duration_ms: float(object(r, "metrics")?, "durationMs")?,
            },
        }),
        "platform.start" => Record::Start(Start {
            request_id: text(r, "requestId")?,
            version: text(r, "version"),
            tracing: tracing(r),
        }),
        "platform.runtimeDone" => Record::RuntimeDone(RuntimeDone {
            request_id: text(r, "requestId")?,
            status: status(r)?,
            error_type: text(r, "errorType"),
            metrics: object(r, "metrics").and_then(|m| {
                Some(RuntimeDoneMetrics {
                    duration_ms: float(m, "durationMs")?,
                    produced_bytes: whole(m, "producedBytes"),
                })
            }),
            tracing: tracing(r),
        }),
        "platform.report" => {
            let m = object(r, "metrics")?;
            Record::Report(Report {
                request_id: text(r, "requestId")?,
                status: status(r)?,
                error_type: text(r, "errorType"),
                metrics: ReportMetrics {
                    duration_ms: float(m, "durationMs")?,
                    billed_duration_ms: whole(m, "billedDurationMs")?,
                    memory_size_mb: whole(m, "memorySizeMB")?,
                    max_memory_used_mb: whole(m, "maxMemoryUsedMB")?,
                    init_duration_ms: float(m, "initDurationMs"),
                    restore_duration_ms: float(m, "restoreDurationMs"),
                },
                tracing: tracing(r),
            })
        }
        _ => return None,
    })
}

// Field readers over a parsed record. A field of the wrong JSON type reads as
// absent: records are read leniently, and what is required is decided above.

fn text(fields: &Object, name: &str) -> Option<String> {
    match fields.get(name) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

fn object<'a>(fields: &'a Object, name: &str) -> Option<&'a Object> {
    match fields.get(name) {
        Some(Value::Object(o)) => Some(o),
        _ => None,
    }
}

fn float(fields: &Object, name: &str) -> Option<f64> {
    match fields.get(name) {
        Some(Value::Number(Number::F64(n))) => Some(*n),
        Some(Value::Number(Number::U64(n))) => Some(*n as f64),
        Some(Value::Number(Number::I64(n))) => Some(*n as f64),
        _ => None,
    }
}

fn whole(fields: &Object, name: &str) -> Option<u64> {
    match fields.get(name) {
        Some(Value::Number(Number::U64(n))) => Some(*n),
        // `2600.0` is still a whole number of milliseconds.
        Some(Value::Number(Number::F64(n))) => {
            let whole = *n as u64;
            (*n >= 0.0 && whole as f64 == *n).then_some(whole)
        }
        _ => None,
    }
}

fn status(fields: &Object) -> Option<Status> {
    text(fields, "status").map(|s| Status::from_wire(&s))
}

fn tracing(fields: &Object) -> Option<TraceContext> {
    let t = object(fields, "tracing")?;
    Some(TraceContext {
        span_id: text(t, "spanId"),
        kind: text(t, "type")?,
        value: text(t, "value")?,
    })
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

    const TRACE: &str =
        "Root=1-65f0c2a1-0a1b2c3d4e5f60718293a4b5;Parent=1a2b3c4d5e6f7a8b;Sampled=1";

    fn trace() -> Option<TraceContext> {
        Some(TraceContext {
            span_id: Some("7c1e2f3a4b5c6d7e".into()),
            kind: "X-Amzn-Trace-Id".into(),
            value: TRACE.into(),
        })
    }

    /// One record per line of the table: the element as Lambda posts it, and
    /// what it reads as.
    #[test]
    fn each_record_type_is_read() {
        let cases: Vec<(&str, Record)> = vec![
            (
                r#"{"time":"2024-03-09T16:00:00.010Z","type":"platform.initStart","record":{"initializationType":"on-demand","phase":"init","runtimeVersion":"provided:al2023.v52","runtimeVersionArn":"arn:aws:lambda:eu-west-1::runtime:abc"}}"#,
                Record::InitStart(InitStart {
                    initialization_type: "on-demand".into(),
                    phase: "init".into(),
                    runtime_version: Some("provided:al2023.v52".into()),
                    runtime_version_arn: Some("arn:aws:lambda:eu-west-1::runtime:abc".into()),
                }),
            ),
            (
                r#"{"time":"2024-03-09T16:00:00.040Z","type":"platform.initRuntimeDone","record":{"initializationType":"on-demand","phase":"init","status":"success"}}"#,
                Record::InitRuntimeDone(InitRuntimeDone {
                    initialization_type: "on-demand".into(),
                    phase: "init".into(),
                    status: Status::Success,
                    error_type: None,
                }),
            ),
            (
                r#"{"time":"2024-03-09T16:00:00.040Z","type":"platform.initRuntimeDone","record":{"initializationType":"provisioned-concurrency","status":"failure","errorType":"Runtime.ExitError"}}"#,
                Record::InitRuntimeDone(InitRuntimeDone {
                    initialization_type: "provisioned-concurrency".into(),
                    phase: String::new(),
                    status: Status::Failure,
                    error_type: Some("Runtime.ExitError".into()),
                }),
            ),
            (
                r#"{"time":"2024-03-09T16:00:00.041Z","type":"platform.initReport","record":{"initializationType":"on-demand","phase":"init","status":"success","metrics":{"durationMs":31.5}}}"#,
                Record::InitReport(InitReport {
                    initialization_type: "on-demand".into(),
                    phase: "init".into(),
                    status: Some(Status::Success),
                    error_type: None,
                    metrics: InitReportMetrics { duration_ms: 31.5 },
                }),
            ),
            (
                r#"{"time":"2024-03-09T16:00:00.050Z","type":"platform.start","record":{"requestId":"9f3c1d2e-1111-4a2b-8c3d-0123456789ab","version":"$LATEST","tracing":{"spanId":"7c1e2f3a4b5c6d7e","type":"X-Amzn-Trace-Id","value":"Root=1-65f0c2a1-0a1b2c3d4e5f60718293a4b5;Parent=1a2b3c4d5e6f7a8b;Sampled=1"}}}"#,
                Record::Start(Start {
                    request_id: "9f3c1d2e-1111-4a2b-8c3d-0123456789ab".into(),
                    version: Some("$LATEST".into()),
                    tracing: trace(),
                }),
            ),
            (
                r#"{"time":"2024-03-09T16:00:00.090Z","type":"platform.runtimeDone","record":{"requestId":"9f3c1d2e-1111-4a2b-8c3d-0123456789ab","status":"success","tracing":{"spanId":"7c1e2f3a4b5c6d7e","type":"X-Amzn-Trace-Id","value":"Root=1-65f0c2a1-0a1b2c3d4e5f60718293a4b5;Parent=1a2b3c4d5e6f7a8b;Sampled=1"},"spans":[{"name":"responseLatency","start":"2024-03-09T16:00:00.051Z","durationMs":38.2}],"metrics":{"durationMs":39.0,"producedBytes":27}}}"#,
                Record::RuntimeDone(RuntimeDone {
                    request_id: "9f3c1d2e-1111-4a2b-8c3d-0123456789ab".into(),
                    status: Status::Success,
                    error_type: None,
                    metrics: Some(RuntimeDoneMetrics {
                        duration_ms: 39.0,
                        produced_bytes: Some(27),
                    }),
                    tracing: trace(),
                }),
            ),
            (
                r#"{"time":"2024-03-09T16:00:03.050Z","type":"platform.runtimeDone","record":{"requestId":"r-2","status":"timeout","errorType":"Sandbox.Timedout"}}"#,
                Record::RuntimeDone(RuntimeDone {
                    request_id: "r-2".into(),
                    status: Status::Timeout,
                    error_type: Some("Sandbox.Timedout".into()),
                    metrics: None,
                    tracing: None,
                }),
            ),
            (
                r#"{"time":"2024-03-09T16:00:00.095Z","type":"platform.report","record":{"requestId":"9f3c1d2e-1111-4a2b-8c3d-0123456789ab","status":"success","metrics":{"durationMs":39.87,"billedDurationMs":40,"memorySizeMB":128,"maxMemoryUsedMB":17,"initDurationMs":31.5}}}"#,
                Record::Report(Report {
                    request_id: "9f3c1d2e-1111-4a2b-8c3d-0123456789ab".into(),
                    status: Status::Success,
                    error_type: None,
                    metrics: ReportMetrics {
                        duration_ms: 39.87,
                        billed_duration_ms: 40,
                        memory_size_mb: 128,
                        max_memory_used_mb: 17,
                        init_duration_ms: Some(31.5),
                        restore_duration_ms: None,
                    },
                    tracing: None,
                }),
            ),
            // Integral numbers written as floats, and a status to come.
            (
                r#"{"time":"t","type":"platform.report","record":{"requestId":"r-3","status":"throttled","metrics":{"durationMs":5,"billedDurationMs":6.0,"memorySizeMB":128.0,"maxMemoryUsedMB":20,"restoreDurationMs":210.4}}}"#,
                Record::Report(Report {
                    request_id: "r-3".into(),
                    status: Status::Other("throttled".into()),
                    error_type: None,
                    metrics: ReportMetrics {
                        duration_ms: 5.0,
                        billed_duration_ms: 6,
                        memory_size_mb: 128,
                        max_memory_used_mb: 20,
                        init_duration_ms: None,
                        restore_duration_ms: Some(210.4),
                    },
                    tracing: None,
                }),
            ),
            (
                r#"{"time":"2024-03-09T16:00:00.060Z","type":"function","record":"order 42 accepted\n"}"#,
                Record::Function(Log::Text("order 42 accepted\n".into())),
            ),
            // The JSON log format: the line is an object, kept as text.
            (
                r#"{"time":"2024-03-09T16:00:00.061Z","type":"function","record":{"timestamp":"2024-03-09T16:00:00.061Z","level":"INFO","requestId":"r-1","message":"order 42 accepted"}}"#,
                Record::Function(Log::Json(
                    r#"{"level":"INFO","message":"order 42 accepted","requestId":"r-1","timestamp":"2024-03-09T16:00:00.061Z"}"#.into(),
                )),
            ),
            (
                r#"{"time":"2024-03-09T16:00:00.070Z","type":"extension","record":"shipper: flushed 12 records"}"#,
                Record::Extension(Log::Text("shipper: flushed 12 records".into())),
            ),
        ];
        for (element, expect) in cases {
            let batch = parse_batch(&format!("[{element}]")).unwrap();
            assert_eq!(batch.len(), 1);
            assert_eq!(batch[0].record, expect, "{element}");
        }
    }

    #[test]
    fn unknown_and_incomplete_records_are_kept_raw() {
        let cases = [
            // Types this crate does not type, documented ones and new ones.
            (
                r#"{"time":"t","type":"platform.logsDropped","record":{"droppedBytes":12345,"droppedRecords":123,"reason":"listener behind"}}"#,
                "platform.logsDropped",
                r#"{"droppedBytes":12345,"droppedRecords":123,"reason":"listener behind"}"#,
            ),
            (
                r#"{"time":"t","type":"platform.telemetrySubscription","record":{"name":"shipper","state":"Subscribed","types":["platform","function"]}}"#,
                "platform.telemetrySubscription",
                r#"{"name":"shipper","state":"Subscribed","types":["platform","function"]}"#,
            ),
            (
                r#"{"time":"t","type":"platform.somethingNew","record":{"nested":{"deep":[1,2.5,null,true]},"a":"b"}}"#,
                "platform.somethingNew",
                r#"{"a":"b","nested":{"deep":[1,2.5,null,true]}}"#,
            ),
            (
                r#"{"time":"t","type":"platform.somethingNew","record":"just text"}"#,
                "platform.somethingNew",
                r#""just text""#,
            ),
            // Known types without what makes them useful.
            (
                r#"{"time":"t","type":"platform.report","record":{"status":"success","metrics":{"durationMs":1,"billedDurationMs":1,"memorySizeMB":128,"maxMemoryUsedMB":9}}}"#,
                "platform.report",
                r#"{"metrics":{"billedDurationMs":1,"durationMs":1,"maxMemoryUsedMB":9,"memorySizeMB":128},"status":"success"}"#,
            ),
            (
                r#"{"time":"t","type":"platform.report","record":{"requestId":"r","status":"success","metrics":{"durationMs":1}}}"#,
                "platform.report",
                r#"{"metrics":{"durationMs":1},"requestId":"r","status":"success"}"#,
            ),
            (
                r#"{"time":"t","type":"platform.runtimeDone","record":{"requestId":"r"}}"#,
                "platform.runtimeDone",
                r#"{"requestId":"r"}"#,
            ),
            (
                r#"{"time":"t","type":"platform.start","record":{"requestId":7}}"#,
                "platform.start",
                r#"{"requestId":7}"#,
            ),
            (
                r#"{"time":"t","type":"platform.initReport","record":"not an object"}"#,
                "platform.initReport",
                r#""not an object""#,
            ),
        ];
        for (element, kind, record) in cases {
            let batch = parse_batch(&format!("[{element}]")).unwrap();
            assert_eq!(
                batch[0].record,
                Record::Other {
                    kind: kind.into(),
                    record: record.into()
                },
                "{element}"
            );
        }
    }

    #[test]
    fn a_batch_keeps_its_order_and_times() {
        let body = r#"[
            {"time":"2024-03-09T16:00:00.050Z","type":"platform.start","record":{"requestId":"r-1"}},
            {"time":"2024-03-09T16:00:00.060Z","type":"function","record":"hello"},
            {"time":"2024-03-09T16:00:00.070Z","type":"platform.new","record":null}
        ]"#;
        let batch = parse_batch(body).unwrap();
        let times: Vec<&str> = batch.iter().map(|e| e.time.as_str()).collect();
        assert_eq!(
            times,
            [
                "2024-03-09T16:00:00.050Z",
                "2024-03-09T16:00:00.060Z",
                "2024-03-09T16:00:00.070Z"
            ]
        );
        assert!(matches!(batch[0].record, Record::Start(ref s) if s.request_id == "r-1"));
        assert_eq!(batch[1].record, Record::Function(Log::Text("hello".into())));
        assert_eq!(
            batch[2].record,
            Record::Other {
                kind: "platform.new".into(),
                record: "null".into()
            }
        );
        assert_eq!(parse_batch("[]"), Ok(vec![]));
    }

    #[test]
    fn a_malformed_batch_is_an_error() {
        for bad in [
            "",
            "not json",
            "{}",
            r#"{"time":"t","type":"function","record":"x"}"#,
            "[1]",
            "[null]",
            r#"[{"type":"function","record":"x"}]"#,
            r#"[{"time":"t","record":"x"}]"#,
            r#"[{"time":"t","type":"function"}]"#,
            r#"[{"time":1,"type":"function","record":"x"}]"#,
            r#"[{"time":"t","type":["function"],"record":"x"}]"#,
            r#"[{"time":"t","type":"function","record":"x"},"#,
        ] {
            assert_eq!(parse_batch(bad), Err(Error::BadBatch), "{bad:?}");
        }
    }
}
