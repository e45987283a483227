//! The records Lambda makes, as the Telemetry API's event schema writes
//! them: the `platform.*` records of init and of each invocation, and the
//! `function` and `extension` log lines; each time-stamped as Lambda writes
//! a record's `time`.

use std::format;
use std::string::String;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use miniserde::json;

use super::{Kind, Telemetry};
use crate::{DEFAULT_FUNCTION_ARN, LogSource, State, civil_date};

/// The function's name, from the default ARN.
pub(crate) fn function_name() -> &'static str {
    DEFAULT_FUNCTION_ARN.rsplit(':').next().unwrap_or("")
}

/// `platform.initStart`, made when the mock starts: the environment's init
/// begins.
pub(crate) fn init_start(state: &mut State) {
    let record = format!(
        r#"{{"initializationType":"on-demand","phase":"init","functionName":{},"functionVersion":"$LATEST"}}"#,
        json::to_string(function_name())
    );
    state
        .telemetry
        .emit(Kind::Platform, "platform.initStart", &record);
}

/// `platform.initRuntimeDone`: the runtime's own init ended.
pub(crate) fn init_runtime_done(t: &mut Telemetry, status: &str, error_type: Option<&str>) {
    if !t.wants() {
        return;
    }
    let record = format!(
        r#"{{"initializationType":"on-demand","phase":"init","status":"{status}"{}}}"#,
        error_field(error_type)
    );
    t.emit(Kind::Platform, "platform.initRuntimeDone", &record);
}

/// `platform.extension`: an extension's state at the end of init.
pub(crate) fn extension(t: &mut Telemetry, name: &str, events: &[String]) {
    let record = format!(
        r#"{{"name":{},"state":"Ready","events":{}}}"#,
        json::to_string(name),
        json::to_string(events)
    );
    t.emit(Kind::Platform, "platform.extension", &record);
}

/// `platform.initReport`: the whole init phase, extensions included.
pub(crate) fn init_report(t: &mut Telemetry, status: &str, duration: Duration) {
    if !t.wants() {
        return;
    }
    let record = format!(
        r#"{{"initializationType":"on-demand","phase":"init","status":"{status}","metrics":{{"durationMs":{}}}}}"#,
        millis(duration)
    );
    t.emit(Kind::Platform, "platform.initReport", &record);
}

/// `platform.start`: an invocation was handed out.
pub(crate) fn start(t: &mut Telemetry, request_id: &str, trace: Option<&str>) {
    let record = format!(
        r#"{{"requestId":{},"version":"$LATEST"{}}}"#,
        json::to_string(request_id),
        tracing_field(trace)
    );
    t.emit(Kind::Platform, "platform.start", &record);
}

/// What `platform.runtimeDone` says.
pub(crate) struct RuntimeDone<'a> {
    pub(crate) request_id: &'a str,
    pub(crate) status: &'a str,
    pub(crate) error_type: Option<&'a str>,
    /// From the hand-out to the runtime's answer.
    pub(crate) duration: Duration,
    pub(crate) produced_bytes: usize,
    pub(crate) trace: Option<&'a str>,
}

/// `platform.runtimeDone`: the runtime answered (or ran out of time).
pub(crate) fn runtime_done(t: &mut Telemetry, done: &RuntimeDone) {
    let record = format!(
        r#"{{"requestId":{},"status":"{}"{},"metrics":{{"durationMs":{},"producedBytes":{}}}{}}}"#,
        json::to_string(done.request_id),
        done.status,
        error_field(done.error_type),
        millis(done.duration),
        done.produced_bytes,
        tracing_field(done.trace)
    );
    t.emit(Kind::Platform, "platform.runtimeDone", &record);
}

/// What `platform.report` says.
pub(crate) struct Report<'a> {
    pub(crate) request_id: &'a str,
    pub(crate) status: &'a str,
    pub(crate) error_type: Option<&'a str>,
    /// From the hand-out to the end for everyone: what Lambda bills.
    pub(crate) duration: Duration,
    pub(crate) memory_mb: u32,
    pub(crate) max_memory_used_mb: u64,
    /// On the first invocation only: how long init took.
    pub(crate) init: Option<Duration>,
    pub(crate) trace: Option<&'a str>,
}

/// `platform.report`: the invocation is over for everyone.
pub(crate) fn report(t: &mut Telemetry, report: &Report) {
    let billed = report.duration.as_nanos().div_ceil(1_000_000).max(1);
    let init = report.init.map_or(String::new(), |d| {
        format!(r#","initDurationMs":{}"#, millis(d))
    });
    let record = format!(
        r#"{{"requestId":{},"status":"{}"{},"metrics":{{"durationMs":{},"billedDurationMs":{billed},"memorySizeMB":{},"maxMemoryUsedMB":{}{init}}}{}}}"#,
        json::to_string(report.request_id),
        report.status,
        error_field(report.error_type),
        millis(report.duration),
        report.memory_mb,
        report.max_memory_used_mb,
        tracing_field(report.trace)
    );
    t.emit(Kind::Platform, "platform.report", &record);
}

/// A log line, as the text log format sends it: the line as a JSON string.
pub(super) fn log(t: &mut Telemetry, source: LogSource, line: &str) {
    let (kind, type_name) = match source {
        LogSource::Function => (Kind::Function, "function"),
        LogSource::Extension => (Kind::Extension, "extension"),
    };
    t.emit(kind, type_name, &json::to_string(line));
}

fn error_field(error_type: Option<&str>) -> String {
    error_type.map_or(String::new(), |e| {
        format!(r#","errorType":{}"#, json::to_string(e))
    })
}

fn tracing_field(trace: Option<&str>) -> String {
    trace.map_or(String::new(), |value| {
        format!(
            r#","tracing":{{"type":"X-Amzn-Trace-Id","value":{}}}"#,
            json::to_string(value)
        )
    })
}

/// Milliseconds with three decimals, as a JSON number.
fn millis(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

/// Now, as Lambda writes a record's `time`: `2024-03-09T16:00:00.010Z`.
pub(super) fn iso_now() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    iso8601(now.as_secs(), now.subsec_millis())
}

fn iso8601(seconds: u64, millis: u32) -> String {
    let (year, month, day) = civil_date(seconds / 86_400);
    let time = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        time / 3_600,
        time % 3_600 / 60,
        time % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_times_as_lambda_does() {
        assert_eq!(iso8601(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_709_999_999, 10), "2024-03-09T15:59:59.010Z");
        assert_eq!(
            iso8601(951_782_400 + 3_723, 999),
            "2000-02-29T01:02:03.999Z"
        );
    }
}
