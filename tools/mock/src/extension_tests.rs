//! The Extensions and Telemetry APIs and the shutdown, against scripted
//! clients: raw HTTP on `std::net` for the runtime and the extensions, a
//! small listener for telemetry, and `sleep` processes where a process id
//! is needed.
use super::tests::{Reply, WAIT, connect, get_next, post_response, read_reply};
use super::*;
use std::format;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::vec;

use miniserde::json::{self, Value};
use tiny_lambda::extension::telemetry::{Log, Record, Status, parse_batch};

/// Sends a request on a fresh connection and leaves the answer unread: for
/// calls that wait (`/next`, `event/next`).
fn start_call(
    api: &RuntimeApi,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> TcpStream {
    let mut stream = connect(api);
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    stream
}

/// Sends a request and reads its answer.
fn call(
    api: &RuntimeApi,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    read_reply(&mut start_call(api, method, path, headers, body)).unwrap()
}

const REGISTER: &str = "/2020-01-01/extension/register";
const NEXT: &str = "/2020-01-01/extension/event/next";
const SUBSCRIBE: &str = "/2022-07-01/telemetry";

/// Registers an extension and returns the whole answer.
fn try_register(api: &RuntimeApi, name: &str, events: &str) -> Reply {
    let body = format!(r#"{{"events":{events}}}"#);
    call(
        api,
        "POST",
        REGISTER,
        &[
            ("Lambda-Extension-Name", name),
            ("Lambda-Extension-Accept-Feature", "accountId"),
        ],
        body.as_bytes(),
    )
}

/// Registers an extension and returns its identifier.
fn register(api: &RuntimeApi, name: &str, events: &str) -> String {
    let reply = try_register(api, name, events);
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply
        .header("Lambda-Extension-Identifier")
        .unwrap()
        .to_owned()
}

/// An extension's `event/next`, left waiting.
fn ext_next(api: &RuntimeApi, id: &str) -> TcpStream {
    start_call(
        api,
        "GET",
        NEXT,
        &[("Lambda-Extension-Identifier", id)],
        b"",
    )
}

/// The runtime's `/next`, left waiting.
fn runtime_next(api: &RuntimeApi) -> TcpStream {
    start_call(api, "GET", &format!("{PREFIX}/invocation/next"), &[], b"")
}

/// Whether nothing has been answered on the connection within a while.
fn still_waiting(stream: &TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(150)))
        .unwrap();
    let waiting = matches!(
        stream.peek(&mut [0; 1]),
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
    );
    stream.set_read_timeout(Some(WAIT)).unwrap();
    waiting
}

/// Reads an extension event's JSON fields.
fn event(stream: &mut TcpStream) -> json::Object {
    let reply = read_reply(stream).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.header("Lambda-Extension-Event-Identifier").is_some());
    match json::from_str::<Value>(reply.text()).unwrap() {
        Value::Object(fields) => fields,
        other => panic!("not an object: {other:?}"),
    }
}

fn text<'a>(fields: &'a json::Object, name: &str) -> &'a str {
    match fields.get(name) {
        Some(Value::String(s)) => s,
        other => panic!("{name}: {other:?}"),
    }
}

fn error_type(reply: &Reply) -> String {
    match json::from_str::<Value>(reply.text()) {
        Ok(Value::Object(fields)) => text(&fields, "errorType").to_owned(),
        _ => panic!("not an error body: {}", reply.text()),
    }
}

/// Brings an environment with these extensions (name, events) through
/// init; returns their identifiers and their waiting `event/next`s.
fn through_init(api: &RuntimeApi, extensions: &[(&str, &str)]) -> Vec<(String, TcpStream)> {
    let ids: Vec<String> = extensions
        .iter()
        .map(|(name, events)| register(api, name, events))
        .collect();
    ids.into_iter()
        .map(|id| {
            let next = ext_next(api, &id);
            (id, next)
        })
        .collect()
}

#[test]
fn the_first_event_waits_for_every_extension_to_call_next() {
    let api = RuntimeApi::start().unwrap();
    let event_id = api.push(Event::new(r#"{"a":1}"#));
    let reply = try_register(&api, "watcher", r#"["INVOKE"]"#);
    assert_eq!(reply.status, 200);
    let id = reply
        .header("Lambda-Extension-Identifier")
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36);
    let body = reply.text();
    assert!(
        body.contains(r#""functionName":"tiny-lambda-local""#),
        "{body}"
    );
    assert!(body.contains(r#""accountId":"123456789012""#), "{body}");

    // The runtime is ready, the extension is not: no event yet.
    let mut runtime = runtime_next(&api);
    assert!(still_waiting(&runtime));
    assert!(api.wait_init(Duration::ZERO).done_at.is_none());

    // Its event/next ends init: the runtime gets the event, the extension
    // its INVOKE.
    let mut extension = ext_next(&api, &id);
    let handed = read_reply(&mut runtime).unwrap();
    assert_eq!(
        handed.header("Lambda-Runtime-Aws-Request-Id"),
        Some(event_id.as_str())
    );
    let invoke = event(&mut extension);
    assert_eq!(text(&invoke, "eventType"), "INVOKE");
    assert_eq!(text(&invoke, "requestId"), event_id);
    assert_eq!(text(&invoke, "invokedFunctionArn"), DEFAULT_FUNCTION_ARN);
    let Some(Value::Object(tracing)) = invoke.get("tracing") else {
        panic!("no tracing: {invoke:?}");
    };
    assert_eq!(text(tracing, "type"), "X-Amzn-Trace-Id");
    assert_eq!(
        Some(text(tracing, "value")),
        handed.header("Lambda-Runtime-Trace-Id")
    );
    let deadline = handed.header("Lambda-Runtime-Deadline-Ms").unwrap();
    assert_eq!(
        invoke.get("deadlineMs").map(json::to_string),
        Some(deadline.to_owned())
    );
    let init = api.wait_init(WAIT);
    assert!(init.failure.is_none());
    assert!(init.done_at.unwrap() >= init.runtime_ready_at.unwrap());
    let extensions = api.extensions();
    assert_eq!(extensions.len(), 1);
    assert!(!extensions[0].external);
    assert_eq!(extensions[0].invokes, 1);
}

#[test]
fn registration_is_open_during_init_only() {
    let api = RuntimeApi::start().unwrap();
    api.external_extension("late-external");
    register(&api, "early", "[]");
    // The runtime's first /next turns registration off for internal ones.
    let _runtime = runtime_next(&api);
    assert!(api.wait_next_calls(1, WAIT));
    let refused = try_register(&api, "late-internal", "[]");
    assert_eq!(refused.status, 403);
    assert_eq!(error_type(&refused), "Extension.RegistrationClosed");
    // An external one Lambda started may still register until init ends.
    let external = register(&api, "late-external", r#"["SHUTDOWN"]"#);
    let _waits = [
        ext_next(&api, &external),
        ext_next(&api, &api.extensions()[0].identifier),
    ];
    assert!(api.wait_init(WAIT).done_at.is_some());
    assert!(api.extensions()[1].external);
    // After init, nobody may.
    api.external_extension("too-late");
    let refused = try_register(&api, "too-late", "[]");
    assert_eq!(error_type(&refused), "Extension.RegistrationClosed");
}

#[test]
fn refuses_registrations_lambda_refuses() {
    let api = RuntimeApi::start().unwrap();
    api.external_extension("external");
    let cases: [(&str, &[u8], &str); 6] = [
        ("", br#"{"events":[]}"#, "Extension.InvalidExtensionName"),
        ("a", b"not json", "InvalidRequestFormat"),
        (
            "a",
            br#"{"events":[],"configurationKeys":["k"]}"#,
            "InvalidRequestFormat",
        ),
        (
            "a",
            br#"{"events":["RESTORE"]}"#,
            "Extension.InvalidEventType",
        ),
        // Only an external extension hears of the shutdown.
        (
            "a",
            br#"{"events":["SHUTDOWN"]}"#,
            "Extension.InvalidEventType",
        ),
        (
            "a",
            br#"{"events":["invoke"]}"#,
            "Extension.InvalidEventType",
        ),
    ];
    for (name, body, expected) in cases {
        let reply = call(
            &api,
            "POST",
            REGISTER,
            &[("Lambda-Extension-Name", name)],
            body,
        );
        assert_eq!(reply.status, 403, "{name} {:?}", std::str::from_utf8(body));
        assert_eq!(error_type(&reply), expected);
    }
    assert_eq!(
        try_register(&api, "external", r#"["INVOKE","SHUTDOWN"]"#).status,
        200
    );
    let twice = try_register(&api, "external", "[]");
    assert_eq!(error_type(&twice), "Extension.InvalidExtensionState");
    for i in 0..9 {
        assert_eq!(try_register(&api, &format!("x{i}"), "[]").status, 200);
    }
    let eleventh = try_register(&api, "one-too-many", "[]");
    assert_eq!(error_type(&eleventh), "Extension.TooManyExtensions");
    assert_eq!(
        call(&api, "GET", REGISTER, &[], b"").status,
        405,
        "register is a POST"
    );
}

#[test]
fn injected_faults_refuse_a_registration() {
    let api = RuntimeApi::start().unwrap();
    api.fault_register(Fault::Status(500));
    api.fault_register(Fault::Close);
    let failed = try_register(&api, "x", "[]");
    assert_eq!(failed.status, 500);
    let mut cut = start_call(
        &api,
        "POST",
        REGISTER,
        &[("Lambda-Extension-Name", "x")],
        br#"{"events":[]}"#,
    );
    assert_eq!(
        read_reply(&mut cut).err().map(|e| e.kind()),
        Some(io::ErrorKind::UnexpectedEof)
    );
    assert!(api.extensions().is_empty());
    assert_eq!(try_register(&api, "x", "[]").status, 200);
}

#[test]
fn every_call_needs_a_known_identifier() {
    let api = RuntimeApi::start().unwrap();
    let known = register(&api, "x", "[]");
    let unknown = event::fresh_uuid();
    let cases = [
        (vec![], "Extension.MissingExtensionIdentifier"),
        (
            vec![("Lambda-Extension-Identifier", "nope")],
            "Extension.InvalidExtensionIdentifier",
        ),
        (
            vec![("Lambda-Extension-Identifier", unknown.as_str())],
            "Extension.UnknownExtensionIdentifier",
        ),
    ];
    for (headers, expected) in &cases {
        for (method, path) in [
            ("GET", NEXT),
            ("POST", "/2020-01-01/extension/exit/error"),
            ("PUT", SUBSCRIBE),
        ] {
            let reply = call(&api, method, path, headers, b"{}");
            assert_eq!(reply.status, 403, "{path}");
            assert_eq!(error_type(&reply), *expected, "{path}");
        }
    }
    // A second event/next while one waits is not a state Lambda allows.
    let _first = ext_next(&api, &known);
    thread::sleep(Duration::from_millis(50));
    let second = read_reply(&mut ext_next(&api, &known)).unwrap();
    assert_eq!(error_type(&second), "Extension.InvalidExtensionState");
}

#[test]
fn every_invoke_goes_to_every_extension_registered_for_it() {
    let api = RuntimeApi::start().unwrap();
    api.external_extension("outside");
    let mut waiting = through_init(
        &api,
        &[
            ("inside", r#"["INVOKE"]"#),
            ("deaf", "[]"),
            ("outside", r#"["INVOKE","SHUTDOWN"]"#),
        ],
    );
    let first = api.push(Event::new("1"));
    let second = api.push(Event::new("2"));
    assert_eq!(get_next(&api).text(), "1");
    for index in [0, 2] {
        let invoke = event(&mut waiting[index].1);
        assert_eq!(text(&invoke, "requestId"), first);
    }
    assert!(still_waiting(&waiting[1].1), "registered for nothing");
    assert_eq!(post_response(&api, &first, b"one").status, 202);

    // The second event waits until both are done with the first.
    let mut runtime = runtime_next(&api);
    assert!(still_waiting(&runtime));
    let inside = waiting[0].0.clone();
    waiting[0].1 = ext_next(&api, &inside);
    assert!(still_waiting(&runtime));
    assert!(api.wait_invocation_done(&first, Duration::ZERO).is_none());
    thread::sleep(Duration::from_millis(20));
    let outside = waiting[2].0.clone();
    waiting[2].1 = ext_next(&api, &outside);
    assert_eq!(read_reply(&mut runtime).unwrap().text(), "2");

    let done = api.wait_invocation_done(&first, WAIT).unwrap();
    let names: Vec<&str> = done.extensions.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["inside", "outside"]);
    assert!(done.done_at >= done.answered_at + Duration::from_millis(20));
    assert_eq!(done.done_at, done.extensions[1].1);
    for index in [0, 2] {
        assert_eq!(text(&event(&mut waiting[index].1), "requestId"), second);
    }
    let counts: Vec<usize> = api.extensions().iter().map(|e| e.invokes).collect();
    assert_eq!(counts, [2, 0, 2]);
}

#[test]
fn an_invocation_without_extensions_is_done_when_answered() {
    let api = RuntimeApi::start().unwrap();
    let id = api.push(Event::new("{}"));
    get_next(&api);
    assert!(api.wait_invocation_done(&id, Duration::ZERO).is_none());
    post_response(&api, &id, b"{}");
    let done = api.wait_invocation_done(&id, WAIT).unwrap();
    assert!(done.extensions.is_empty());
    assert_eq!(done.done_at, done.answered_at);
}

#[test]
fn init_times_out_on_an_extension_that_never_calls_next() {
    let api = RuntimeApi::start().unwrap();
    api.init_timeout(Duration::from_millis(300));
    api.external_extension("ghost");
    register(&api, "stuck", r#"["INVOKE"]"#);
    api.push(Event::new("{}"));
    let runtime = runtime_next(&api);
    let init = api.wait_init(WAIT);
    assert_eq!(
        init.failure,
        Some(InitFailure::TimedOut(vec![
            "ghost (never registered)".to_owned(),
            "stuck (registered, never called event/next)".to_owned(),
        ]))
    );
    assert!(init.done_at.is_none());
    assert_eq!(
        init.failure.unwrap().to_string(),
        "init timed out waiting for ghost (never registered), stuck (registered, never called event/next)"
    );
    assert!(init.started_at.elapsed() >= Duration::from_millis(300));
    // The mock gave up on this environment: no event goes out.
    let stuck = api.extensions()[0].identifier.clone();
    let _late = ext_next(&api, &stuck);
    assert!(still_waiting(&runtime));
}

#[test]
fn without_extensions_init_has_no_limit_of_the_mocks() {
    let api = RuntimeApi::start().unwrap();
    api.init_timeout(Duration::from_millis(50));
    thread::sleep(Duration::from_millis(120));
    let id = api.push(Event::new("{}"));
    assert_eq!(
        get_next(&api).header("Lambda-Runtime-Aws-Request-Id"),
        Some(id.as_str())
    );
    assert!(api.wait_init(WAIT).failure.is_none());
}

#[test]
fn an_init_error_fails_init_and_ends_the_extension() {
    let api = RuntimeApi::start().unwrap();
    let id = register(&api, "broken", "[]");
    let path = "/2020-01-01/extension/init/error";
    let headers = [("Lambda-Extension-Identifier", id.as_str())];
    let bare = call(&api, "POST", path, &headers, b"{}");
    assert_eq!(error_type(&bare), "Extension.MissingHeader");
    let with_type = [
        ("Lambda-Extension-Identifier", id.as_str()),
        (
            "Lambda-Extension-Function-Error-Type",
            "Extension.ConfigInvalid",
        ),
    ];
    let reported = call(&api, "POST", path, &with_type, b"{}");
    assert_eq!(
        (reported.status, reported.text()),
        (202, r#"{"status":"OK"}"#)
    );
    assert_eq!(
        api.wait_init(WAIT).failure,
        Some(InitFailure::ExtensionError {
            name: "broken".into(),
            error_type: "Extension.ConfigInvalid".into()
        })
    );
    // Nothing more is allowed after it.
    let again = call(&api, "POST", path, &with_type, b"{}");
    assert_eq!(error_type(&again), "Extension.InvalidExtensionState");
    let next = read_reply(&mut ext_next(&api, &id)).unwrap();
    assert_eq!(error_type(&next), "Extension.InvalidExtensionState");
    assert_eq!(
        api.extensions()[0].error.as_deref(),
        Some("Extension.ConfigInvalid")
    );
}

#[test]
fn an_exit_error_releases_the_events_it_held_back() {
    let api = RuntimeApi::start().unwrap();
    let mut waiting = through_init(&api, &[("flaky", r#"["INVOKE"]"#)]);
    let first = api.push(Event::new("1"));
    api.push(Event::new("2"));
    assert_eq!(get_next(&api).text(), "1");
    event(&mut waiting[0].1);
    post_response(&api, &first, b"1");
    let mut runtime = runtime_next(&api);
    assert!(still_waiting(&runtime));
    let headers = [
        ("Lambda-Extension-Identifier", waiting[0].0.as_str()),
        ("Lambda-Extension-Function-Error-Type", "Extension.Crashed"),
    ];
    let exit = call(
        &api,
        "POST",
        "/2020-01-01/extension/exit/error",
        &headers,
        b"{}",
    );
    assert_eq!(exit.status, 202);
    assert_eq!(read_reply(&mut runtime).unwrap().text(), "2");
}

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

/// A runtime `/next` on a thread of its own, so that init can end.
fn get_next_later(api: &RuntimeApi) {
    let runtime = runtime_next(api);
    thread::spawn(move || drop(runtime));
}

/// A process to signal: `sleep`, optionally deaf to SIGTERM.
fn process(ignores_term: bool) -> Child {
    let script = if ignores_term {
        "trap '' TERM; exec sleep 30"
    } else {
        "exec sleep 30"
    };
    Command::new("sh")
        .args(["-c", script])
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until the shell has become `sleep` (an ignored signal survives
/// the exec; a trap set up in the shell alone would not be ready earlier).
fn settle() {
    thread::sleep(Duration::from_millis(100));
}

#[test]
fn without_extensions_the_runtime_is_killed_outright() {
    let api = RuntimeApi::start().unwrap();
    let mut runtime = process(false);
    api.runtime_pid(runtime.id());
    let report = api.shutdown(
        ShutdownReason::Spindown,
        Instant::now() + Duration::from_secs(2),
    );
    assert!(!report.runtime_terminated);
    assert_eq!(report.runtime, Stop::Killed);
    let status = runtime.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
}

#[test]
fn shutdown_sends_sigterm_then_shutdown_then_sigkill_at_the_deadline() {
    let api = RuntimeApi::start().unwrap();
    api.external_extension("tidy");
    api.external_extension("slow");
    api.external_extension("quiet");
    let mut tidy = process(false);
    let mut slow = process(false);
    let mut quiet = process(false);
    api.extension_pid("tidy", tidy.id());
    api.extension_pid("slow", slow.id());
    api.extension_pid("quiet", quiet.id());
    let mut runtime = process(false);
    api.runtime_pid(runtime.id());
    let mut waiting = through_init(
        &api,
        &[
            ("tidy", r#"["SHUTDOWN"]"#),
            ("slow", r#"["SHUTDOWN"]"#),
            ("quiet", "[]"),
        ],
    );
    get_next_later(&api);
    assert!(api.wait_init(WAIT).done_at.is_some());
    assert_eq!(api.shutdown_budget(), Duration::from_secs(2));

    let started = Instant::now();
    let deadline = started + Duration::from_millis(400);
    let shutdown = {
        let api = &api;
        thread::scope(|scope| {
            let handle = scope.spawn(move || api.shutdown(ShutdownReason::Spindown, deadline));
            // The tidy extension exits when told; the slow one never does.
            let told = event(&mut waiting[0].1);
            assert_eq!(text(&told, "eventType"), "SHUTDOWN");
            assert_eq!(text(&told, "shutdownReason"), "spindown");
            tidy.kill().unwrap();
            let told = event(&mut waiting[1].1);
            let deadline_ms = json::to_string(told.get("deadlineMs").unwrap());
            let report = handle.join().unwrap();
            assert_eq!(deadline_ms, report.deadline_ms.to_string());
            report
        })
    };
    let shutdown_started_ms = epoch_ms() - started.elapsed().as_millis();
    let ahead = shutdown.deadline_ms.abs_diff(shutdown_started_ms + 400);
    assert!(
        ahead <= 5,
        "deadlineMs is the deadline given: {ahead} ms off"
    );
    assert!(started.elapsed() >= Duration::from_millis(390));
    assert!(shutdown.runtime_terminated);
    assert_eq!(shutdown.runtime, Stop::Exited, "sleep ends on SIGTERM");
    let stops: Vec<(&str, bool, Stop)> = shutdown
        .extensions
        .iter()
        .map(|e| (e.name.as_str(), e.told, e.stop))
        .collect();
    assert_eq!(
        stops,
        [
            ("tidy", true, Stop::Exited),
            ("slow", true, Stop::Killed),
            ("quiet", false, Stop::Killed),
        ]
    );
    assert!(still_waiting(&waiting[2].1), "registered for nothing");
    for child in [&mut runtime, &mut tidy, &mut slow, &mut quiet] {
        child.wait().unwrap();
    }
    // No event goes out once the shutdown began, and the first report
    // answers a second call.
    let again = api.shutdown(ShutdownReason::Timeout, Instant::now());
    assert_eq!(again.reason, ShutdownReason::Spindown);
    assert_eq!(
        api.wait_shutdown(Duration::ZERO).map(|r| r.reason),
        Some(ShutdownReason::Spindown)
    );
}

#[test]
fn a_runtime_deaf_to_sigterm_is_killed_after_its_share() {
    let api = RuntimeApi::start().unwrap();
    let mut runtime = process(true);
    settle();
    api.runtime_pid(runtime.id());
    let _waiting = through_init(&api, &[("hook", "[]")]);
    get_next_later(&api);
    assert!(api.wait_init(WAIT).done_at.is_some());
    assert_eq!(api.shutdown_budget(), Duration::from_millis(500));
    let started = Instant::now();
    let report = api.shutdown(ShutdownReason::Spindown, started + api.shutdown_budget());
    let took = started.elapsed();
    assert!(report.runtime_terminated);
    assert_eq!(report.runtime, Stop::Killed);
    // An internal extension's runtime gets the whole 500 ms.
    assert!(took >= Duration::from_millis(490), "{took:?}");
    assert!(took < Duration::from_millis(1500), "{took:?}");
    runtime.wait().unwrap();
}

#[test]
fn a_shutdown_whose_deadline_has_passed_leaves_no_time() {
    let api = RuntimeApi::start().unwrap();
    api.external_extension("late");
    let mut extension = process(false);
    api.extension_pid("late", extension.id());
    let mut runtime = process(true);
    settle();
    api.runtime_pid(runtime.id());
    let mut waiting = through_init(&api, &[("late", r#"["SHUTDOWN"]"#)]);
    get_next_later(&api);
    assert!(api.wait_init(WAIT).done_at.is_some());
    let started = Instant::now();
    let report = api.shutdown(ShutdownReason::Timeout, started - Duration::from_secs(1));
    // Nobody is waited for: far less than any budget.
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(report.deadline_ms < epoch_ms() - 900);
    assert_eq!(report.runtime, Stop::Killed);
    assert_eq!(report.extensions[0].stop, Stop::Killed);
    // It was still told, with the deadline as it was.
    let told = event(&mut waiting[0].1);
    assert_eq!(text(&told, "shutdownReason"), "timeout");
    assert_eq!(
        json::to_string(told.get("deadlineMs").unwrap()),
        report.deadline_ms.to_string()
    );
    runtime.wait().unwrap();
    extension.wait().unwrap();
}

#[test]
fn a_runtime_that_crashes_fails_its_invocation_and_ends_the_environment() {
    let api = RuntimeApi::start().unwrap();
    api.external_extension("witness");
    let mut runtime = process(false);
    api.runtime_pid(runtime.id());
    let mut waiting = through_init(&api, &[("witness", r#"["INVOKE","SHUTDOWN"]"#)]);
    let id = api.push(Event::new("{}"));
    assert_eq!(get_next(&api).status, 200);
    event(&mut waiting[0].1);
    let witness = waiting[0].0.clone();
    let mut next = ext_next(&api, &witness);
    // The runtime dies in the middle of the invocation.
    runtime.kill().unwrap();
    let told = event(&mut next);
    assert_eq!(text(&told, "eventType"), "SHUTDOWN");
    assert_eq!(text(&told, "shutdownReason"), "failure");
    let report = api.wait_shutdown(WAIT).unwrap();
    assert_eq!(report.reason, ShutdownReason::Failure);
    assert_eq!(report.runtime, Stop::Gone);
    assert!(!report.runtime_terminated);
    let done = api.wait_invocation_done(&id, WAIT).unwrap();
    assert_eq!(done.extensions.len(), 1);
    runtime.wait().unwrap();
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
