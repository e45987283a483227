//! The batches Lambda posts to a Telemetry API listener ([`parse_batch`]):
//! a JSON array of `{"time", "type", "record"}` objects.
//!
//! A batch is read one element at a time: each element's `record` is held as
//! a JSON tree only until the element ends and is typed, so what a batch
//! costs in memory is its typed records, not a tree of all of them.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use miniserde::de::{Map, Visitor};
use miniserde::json::{self, Value};
use miniserde::{Deserialize, make_place};

use super::record::{Record, read_record};
use crate::extension::Error;

/// One element of a batch: when Lambda made it, and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryEvent {
    /// `time`: when Lambda produced the record, ISO 8601, as sent.
    pub time: String,
    /// `type` and `record`, read together.
    pub record: Record,
}

/// Read a batch Lambda posted to the listener.
///
/// The body must be a JSON array of objects, each with a string `time`, a
/// string `type` and a `record`; anything else is [`Error::BadBatch`]. Within
/// a well-formed batch no record fails: see [`Record`].
pub fn parse_batch(body: &str) -> Result<Vec<TelemetryEvent>, Error> {
    let batch = json::from_str::<Vec<Element>>(body).map_err(|_| Error::BadBatch)?;
    Ok(batch.into_iter().map(|Element(event)| event).collect())
}

/// One element of a batch, typed as soon as its object ends, so that its
/// `record` tree is dropped before the next element is read.
struct Element(TelemetryEvent);

make_place!(Place);

impl Deserialize for Element {
    fn begin(out: &mut Option<Self>) -> &mut dyn Visitor {
        Place::new(out)
    }
}

impl Visitor for Place<Element> {
    fn map(&mut self) -> miniserde::Result<Box<dyn Map + '_>> {
        Ok(Box::new(ElementFields {
            time: None,
            kind: None,
            record: None,
            out: &mut self.out,
        }))
    }
}

/// The fields of one element while it is read; unknown keys are skipped.
struct ElementFields<'a> {
    time: Option<String>,
    kind: Option<String>,
    record: Option<Value>,
    out: &'a mut Option<Element>,
}

impl Map for ElementFields<'_> {
    fn key(&mut self, k: &str) -> miniserde::Result<&mut dyn Visitor> {
        Ok(match k {
            "time" => Deserialize::begin(&mut self.time),
            "type" => Deserialize::begin(&mut self.kind),
            "record" => Deserialize::begin(&mut self.record),
            _ => <dyn Visitor>::ignore(),
        })
    }

    fn finish(&mut self) -> miniserde::Result<()> {
        let (Some(time), Some(kind), Some(record)) =
            (self.time.take(), self.kind.take(), self.record.take())
        else {
            return Err(miniserde::Error);
        };
        let record = read_record(kind, record);
        *self.out = Some(Element(TelemetryEvent { time, record }));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extension::telemetry::{
        InitReport, InitReportMetrics, InitRuntimeDone, InitStart, Log, Report, ReportMetrics,
        RuntimeDone, RuntimeDoneMetrics, Start, Status, TraceContext,
    };
    use alloc::format;
    use alloc::vec;

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
    fn keys_come_in_any_order_and_unknown_ones_are_skipped() {
        let body = r#"[{"record":"x","extra":{"a":[1,{"b":null}]},"type":"function","time":"t"}]"#;
        let event = TelemetryEvent {
            time: "t".into(),
            record: Record::Function(Log::Text("x".into())),
        };
        assert_eq!(parse_batch(body), Ok(vec![event]));
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
