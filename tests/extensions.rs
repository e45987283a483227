//! Extensions, end to end: the `graceful` function (a shutdown hook through
//! an internal extension) and the `telemetry_extension` external extension,
//! run as real processes against the mock's Extensions and Telemetry APIs,
//! on this build's transport. Their one-line outputs are fixed behaviour.
#![cfg(all(feature = "extension", feature = "env_logger"))]

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::{WAIT, example};
use tiny_lambda_mock::{Event, LogSource, Outcome, RuntimeApi, ShutdownReason};

/// A process of `example` against `api`, with Lambda's usual variables;
/// its stdout collected by the returned thread.
fn start(api: &RuntimeApi, name: &str, env: &[(&str, &str)]) -> (Child, JoinHandle<String>) {
    let mut command = Command::new(example(name));
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .env("AWS_LAMBDA_FUNCTION_NAME", "test-function")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("the example starts");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let collected = thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    (child, collected)
}

/// Waits for the child to exit, within the test's patience.
fn exit_code(child: &mut Child) -> Option<i32> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status.code();
        }
        assert!(start.elapsed() < WAIT, "the process did not exit");
        thread::sleep(Duration::from_millis(10));
    }
}

fn answered(api: &RuntimeApi, body: &str) {
    let id = api.push(Event::new(body));
    match api.wait_outcome(&id, WAIT) {
        Some(Outcome::Response(posted)) => assert_eq!(posted.body_str(), body),
        other => panic!("{id}: expected a response, got {other:?}"),
    }
}

#[test]
fn graceful_counts_its_invocations_and_exits_0_on_sigterm() {
    let api = RuntimeApi::start().expect("mock starts");
    let (mut child, stdout) = start(&api, "graceful", &[]);
    api.runtime_pid(child.id());
    let mut stderr = child.stderr.take().expect("piped stderr");
    thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    assert!(
        api.wait_registered(1, WAIT),
        "the internal extension registers"
    );
    let extension = &api.extensions()[0];
    assert!(!extension.external);
    assert!(extension.events.is_empty(), "{:?}", extension.events);
    for body in [r#"{"n":1}"#, r#"{"n":2}"#, r#"{"n":3}"#] {
        answered(&api, body);
    }
    let report = api.shutdown(
        ShutdownReason::Spindown,
        Instant::now() + Duration::from_secs(2),
    );
    assert!(
        report.runtime_terminated,
        "SIGTERM goes to a runtime with an extension"
    );
    assert_eq!(exit_code(&mut child), Some(0));
    assert_eq!(
        stdout.join().unwrap(),
        "graceful: shutting down after 3 invocations\n"
    );
}

#[test]
fn telemetry_extension_counts_invokes_and_function_records() {
    let api = RuntimeApi::start().expect("mock starts");
    // A port nobody holds, so parallel tests never share a listener.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
        .to_string();
    api.external_extension("telemetry_extension");
    let (mut extension, extension_out) =
        start(&api, "telemetry_extension", &[("TELEMETRY_PORT", &port)]);
    api.extension_pid("telemetry_extension", extension.id());
    let mut ext_err = extension.stderr.take().expect("piped stderr");
    thread::spawn(move || std::io::copy(&mut ext_err, &mut std::io::sink()));
    assert!(api.wait_registered(1, WAIT), "the extension registers");

    // The function logs each invocation at DEBUG: its lines become the
    // `function` records the extension counts.
    let (mut function, _) = start(&api, "echo", &[("RUST_LOG", "debug")]);
    api.runtime_pid(function.id());
    let stderr = function.stderr.take().expect("piped stderr");
    api.read_output(LogSource::Function, stderr, |_| ())
        .expect("reads the function's output");
    answered(&api, r#"{"a":1}"#);
    answered(&api, r#"{"b":2}"#);
    let registered = &api.extensions()[0];
    assert!(registered.external);
    assert_eq!(registered.events, ["INVOKE", "SHUTDOWN"]);
    assert_eq!(registered.invokes, 2);

    let report = api.shutdown(
        ShutdownReason::Spindown,
        Instant::now() + Duration::from_secs(2),
    );
    assert!(report.runtime_terminated);
    assert_eq!(exit_code(&mut extension), Some(0));
    let line = extension_out.join().unwrap();
    let delivered: usize = api
        .telemetry_deliveries()
        .iter()
        .filter(|d| d.status == Some(200))
        .map(|d| d.body.matches(r#""type":"function""#).count())
        .sum();
    assert!(delivered > 0, "the function's lines were delivered");
    assert_eq!(
        line,
        format!("telemetry_extension: invokes=2 function_records={delivered} shutdown=spindown\n")
    );
    let _ = exit_code(&mut function);
}
