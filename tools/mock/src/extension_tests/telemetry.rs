//! The Telemetry API: subscriptions, the batches of platform and function
//! records a subscriber's listener gets (and one that refuses them), and the
//! function's output delivered before the shutdown; with the small listener
//! the batches go to.
use super::*;
use crate::tests::get_next;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::vec;

use tiny_lambda::extension::telemetry::{Log, Record, Status, parse_batch};

/// A telemetry listener: answers every post with `status` and passes on
/// each body.
fn listener(status: u16) -> (u16, mpsc::Receiver<String>) {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    let (sender, bodies) = mpsc::channel();
    thread::spawn(move || {
        for connection in socket.incoming() {
            let Ok(connection) = connection else { return };
            let sender = sender.clone();
            thread::spawn(move || {
                let mut reader = BufReader::new(connection);
                let mut length = 0;
                let mut line = String::new();
                let mut first = String::new();
                reader.read_line(&mut first).unwrap();
                assert!(first.starts_with("POST /telemetry "), "{first}");
                loop {
                    line.clear();
                    reader.read_line(&mut line).unwrap();
                    if line.trim_end().is_empty() {
                        break;
                    }
                    let (name, value) = line.split_once(':').unwrap();
                    if name.eq_ignore_ascii_case("content-length") {
                        length = value.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                // Passed on before the answer: once the mock has its answer,
                // the body is in the channel.
                let _ = sender.send(String::from_utf8(body).unwrap());
                let answer = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n");
                reader.get_mut().write_all(answer.as_bytes()).unwrap();
            });
        }
    });
    (port, bodies)
}

fn subscription(port: u16, types: &str) -> String {
    format!(
        r#"{{"schemaVersion":"2022-12-13","types":{types},"buffering":{{"maxItems":1000,"maxBytes":262144,"timeoutMs":25}},"destination":{{"protocol":"HTTP","URI":"http://sandbox.localdomain:{port}/telemetry"}}}}"#
    )
}

/// Collects records from the listener until one matches `last`.
fn records_until(bodies: &mpsc::Receiver<String>, last: impl Fn(&Record) -> bool) -> Vec<Record> {
    let mut records = Vec::new();
    loop {
        let body = bodies.recv_timeout(WAIT).expect("a batch should arrive");
        let batch = parse_batch(&body).expect("a well-formed batch");
        let done = batch.iter().any(|e| last(&e.record));
        records.extend(batch.into_iter().map(|e| e.record));
        if done {
            return records;
        }
    }
}

#[test]
fn subscribers_get_platform_and_function_records_in_batches() {
    let api = RuntimeApi::start().unwrap();
    let (port, bodies) = listener(200);
    let id = register(&api, "shipper", r#"["INVOKE"]"#);
    let headers = [("Lambda-Extension-Identifier", id.as_str())];
    let bad = call(&api, "PUT", SUBSCRIBE, &headers, br#"{"types":[]}"#);
    assert_eq!(
        (bad.status, error_type(&bad).as_str()),
        (400, "ValidationError")
    );
    let elsewhere =
        subscription(port, r#"["platform"]"#).replace("sandbox.localdomain", "localhost");
    assert_eq!(
        call(&api, "PUT", SUBSCRIBE, &headers, elsewhere.as_bytes()).status,
        400
    );
    // A line printed during init is kept for later subscribers.
    api.log_line(LogSource::Function, "starting");
    let body = subscription(port, r#"["platform","function"]"#);
    let subscribed = call(&api, "PUT", SUBSCRIBE, &headers, body.as_bytes());
    assert_eq!((subscribed.status, subscribed.text()), (200, r#""OK""#));

    let mut next = ext_next(&api, &id);
    let request_id = api.push(Event::new("{}"));
    assert_eq!(get_next(&api).status, 200);
    event(&mut next);
    api.log_line(LogSource::Function, "handling \"it\"");
    api.log_line(LogSource::Extension, "not asked for");
    let path = format!("{PREFIX}/invocation/{request_id}/error");
    let failed = call(
        &api,
        "POST",
        &path,
        &[("Lambda-Runtime-Function-Error-Type", "Function.Oops")],
        b"{}",
    );
    assert_eq!(failed.status, 202);
    let _next = ext_next(&api, &id);
    let records = records_until(&bodies, |r| matches!(r, Record::Report(_)));

    let kinds: Vec<String> = records
        .iter()
        .map(|r| match r {
            Record::InitStart(_) => "initStart".into(),
            Record::InitRuntimeDone(_) => "initRuntimeDone".into(),
            Record::InitReport(_) => "initReport".into(),
            Record::Start(_) => "start".into(),
            Record::RuntimeDone(_) => "runtimeDone".into(),
            Record::Report(_) => "report".into(),
            Record::Function(Log::Text(line)) => format!("function {line}"),
            Record::Function(Log::Json(line)) | Record::Extension(Log::Json(line)) => {
                format!("json {line}")
            }
            Record::Extension(Log::Text(line)) => format!("extension {line}"),
            Record::Other { kind, .. } => kind.clone(),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "initStart",
            "function starting",
            "platform.telemetrySubscription",
            "initRuntimeDone",
            "platform.extension",
            "initReport",
            "start",
            "function handling \"it\"",
            "runtimeDone",
            "report",
        ]
    );
    let Some(Record::RuntimeDone(done)) =
        records.iter().find(|r| matches!(r, Record::RuntimeDone(_)))
    else {
        unreachable!()
    };
    assert_eq!(done.request_id, request_id);
    assert_eq!(done.status, Status::Error);
    assert_eq!(done.error_type.as_deref(), Some("Function.Oops"));
    let Some(Record::Report(report)) = records.last() else {
        unreachable!()
    };
    assert_eq!(report.request_id, request_id);
    assert_eq!(report.status, Status::Error);
    assert_eq!(report.metrics.memory_size_mb, 128);
    assert!(report.metrics.init_duration_ms.is_some());
    assert!(report.tracing.is_some());
    let deliveries = api.telemetry_deliveries();
    assert!(deliveries.iter().all(|d| d.status == Some(200)));
    assert!(deliveries.iter().all(|d| d.subscriber == "shipper"));

    // Subscriptions close with init.
    let late = call(&api, "PUT", SUBSCRIBE, &headers, body.as_bytes());
    assert_eq!(
        (late.status, error_type(&late).as_str()),
        (403, "Telemetry.SubscriptionClosed")
    );
}

#[test]
fn a_listener_that_refuses_a_batch_is_noted_and_left_out() {
    let api = RuntimeApi::start().unwrap();
    let (port, bodies) = listener(500);
    let id = register(&api, "picky", "[]");
    let headers = [("Lambda-Extension-Identifier", id.as_str())];
    let body = subscription(port, r#"["platform"]"#);
    assert_eq!(
        call(&api, "PUT", SUBSCRIBE, &headers, body.as_bytes()).status,
        200
    );
    bodies.recv_timeout(WAIT).unwrap();
    let deliveries = api.wait_deliveries(1, WAIT);
    assert_eq!(deliveries[0].status, Some(500));
    assert!(deliveries[0].records >= 2);
    // The mock goes on: the next records still come.
    let _next = ext_next(&api, &id);
    get_next_later(&api);
    assert!(bodies.recv_timeout(WAIT).is_ok());
}

#[test]
fn the_function_output_reaches_subscribers_before_shutdown() {
    let api = RuntimeApi::start().unwrap();
    let (port, bodies) = listener(200);
    api.external_extension("collector");
    // A "runtime" that prints on SIGTERM, then exits.
    let mut runtime = Command::new("sh")
        .args([
            "-c",
            "trap 'echo last words; exit 0' TERM; echo hello; while :; do sleep 0.01; done",
        ])
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let output = runtime.stdout.take().unwrap();
    let (echo_sender, echoed) = mpsc::channel();
    api.read_output(LogSource::Function, output, move |line| {
        let _ = echo_sender.send(line.to_owned());
    })
    .unwrap();
    assert_eq!(echoed.recv_timeout(WAIT).unwrap(), "hello");
    api.runtime_pid(runtime.id());
    let id = register(&api, "collector", r#"["SHUTDOWN"]"#);
    let headers = [("Lambda-Extension-Identifier", id.as_str())];
    let body = subscription(port, r#"["function"]"#);
    assert_eq!(
        call(&api, "PUT", SUBSCRIBE, &headers, body.as_bytes()).status,
        200
    );
    let mut next = ext_next(&api, &id);
    get_next_later(&api);
    assert!(api.wait_init(WAIT).done_at.is_some());
    let report = api.shutdown(
        ShutdownReason::Spindown,
        Instant::now() + Duration::from_secs(2),
    );
    assert_eq!(report.runtime, Stop::Exited);
    // By the time SHUTDOWN arrives, both lines were delivered.
    assert_eq!(text(&event(&mut next), "eventType"), "SHUTDOWN");
    let mut lines = Vec::new();
    while let Ok(body) = bodies.try_recv() {
        for element in parse_batch(&body).unwrap() {
            if let Record::Function(Log::Text(line)) = element.record {
                lines.push(line);
            }
        }
    }
    assert_eq!(lines, ["hello", "last words"]);
    assert_eq!(echoed.recv_timeout(WAIT).unwrap(), "last words");
    runtime.wait().unwrap();
}
