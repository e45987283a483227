//! A record of a telemetry batch, by its `type`: the six platform records an
//! init and an invocation produce, typed (`platform.initStart`,
//! `initRuntimeDone`, `initReport`, `start`, `runtimeDone`, `report`); the
//! function's and extensions' log lines; and every other type, including
//! the ones AWS adds after this was written, kept as raw JSON text
//! ([`Record::Other`]), so a new record type never breaks a parse. Fields
//! are named as in the AWS "Event schema reference" (2022-12-13).

use alloc::string::{String, ToString};
use miniserde::json::{self, Number, Object, Value};

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

/// One element's `record`, typed by the element's `type`.
pub(super) fn read_record(kind: String, record: Value) -> Record {
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
