//! Bad input and a misbehaving Runtime API: each fault has a defined outcome
//! and a log line that says what happened.

mod common;

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Bootstrap, WAIT, example};
use tiny_lambda_mock::{Event, Fault, RuntimeApi};

/// Run an example with a given (or no) AWS_LAMBDA_RUNTIME_API; it must exit non-zero.
fn exits_at_start(api: Option<&str>) -> (String, Duration) {
    let mut command = Command::new(example("echo"));
    command.env_clear();
    if let Some(api) = api {
        command.env("AWS_LAMBDA_RUNTIME_API", api);
    }
    let start = Instant::now();
    let output = command.output().expect("echo runs");
    assert!(!output.status.success());
    assert_eq!(output.status.code(), Some(1));
    (
        String::from_utf8_lossy(&output.stderr).into_owned(),
        start.elapsed(),
    )
}

#[test]
fn no_runtime_api_variable_is_a_clear_exit() {
    let (log, _) = exits_at_start(None);
    assert!(
        log.contains("AWS_LAMBDA_RUNTIME_API is not set; exiting"),
        "{log}"
    );
}

#[test]
fn an_unparsable_runtime_api_variable_is_a_clear_exit() {
    for bad in ["nonsense", "https://127.0.0.1:9001", "127.0.0.1:port"] {
        let (log, _) = exits_at_start(Some(bad));
        assert!(
            log.contains("AWS_LAMBDA_RUNTIME_API is not host:port"),
            "{bad}: {log}"
        );
    }
}

#[test]
fn a_runtime_api_that_is_not_listening_ends_the_process_after_a_few_tries() {
    // Bind and release a port so that nothing listens on it.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (log, took) = exits_at_start(Some(&format!("127.0.0.1:{port}")));
    assert_eq!(log.matches("asking /next again").count(), 3, "{log}");
    assert!(log.contains("runtime API unreachable"), "{log}");
    // Backed off, not a busy loop, and not forever.
    assert!(took >= Duration::from_millis(600), "{took:?}");
    assert!(took < WAIT, "{took:?}");
}

#[test]
fn next_answering_500_ends_the_process_at_once() {
    let api = RuntimeApi::start().unwrap();
    api.fault_next(Fault::Status(500));
    let mut b = Bootstrap::spawn(api, echo_command());
    assert_eq!(b.wait_exit().code(), Some(1));
    assert!(
        b.stderr()
            .contains("runtime API answered /next with 500; exiting"),
        "{}",
        b.stderr()
    );
    assert!(!b.stderr().contains("asking /next again"));
}

#[test]
fn next_answering_4xx_or_closing_is_retried() {
    for fault in [Fault::Status(404), Fault::Status(429), Fault::Close] {
        let api = RuntimeApi::start().unwrap();
        api.fault_next(fault.clone());
        let b = Bootstrap::spawn(api, echo_command());
        assert_eq!(b.respond(Event::new("1")).body_str(), "1", "{fault:?}");
        b.wait_log("asking /next again in 20 ms");
    }
}

#[test]
fn next_failing_for_good_ends_the_process_after_the_retries() {
    let api = RuntimeApi::start().unwrap();
    for _ in 0..4 {
        api.fault_next(Fault::Close);
    }
    let mut b = Bootstrap::spawn(api, echo_command());
    assert_eq!(b.wait_exit().code(), Some(1));
    assert_eq!(
        b.stderr().matches("asking /next again").count(),
        3,
        "{}",
        b.stderr()
    );
    assert_eq!(
        b.api
            .records()
            .iter()
            .filter(|r| r.path.ends_with("/next"))
            .count(),
        4
    );
}

#[test]
fn a_slow_next_is_waited_for_without_a_timeout() {
    let api = RuntimeApi::start().unwrap();
    api.fault_next(Fault::Delay(Duration::from_millis(1500)));
    let b = Bootstrap::spawn(api, echo_command());
    assert_eq!(b.respond(Event::new("2")).body_str(), "2");
    assert!(!b.stderr().contains("asking /next again"), "{}", b.stderr());
}

#[test]
fn an_event_without_a_request_id_is_skipped_never_posted() {
    let b = Bootstrap::start("echo", &[]);
    b.api
        .push(Event::new("1").without("Lambda-Runtime-Aws-Request-Id"));
    b.api
        .push(Event::new("2").header("Lambda-Runtime-Aws-Request-Id", ""));
    b.api
        .push(Event::new("3").header("Lambda-Runtime-Aws-Request-Id", "../../init/error"));
    assert_eq!(b.respond(Event::new("4")).body_str(), "4");
    let paths: Vec<String> = b.api.records().iter().map(|r| r.path.clone()).collect();
    assert!(
        paths.iter().all(|p| !p.contains("//") && !p.contains("..")),
        "{paths:?}"
    );
    assert_eq!(
        paths
            .iter()
            .filter(|p| p.ends_with("/response") || p.ends_with("/error"))
            .count(),
        1
    );
    let log = b.wait_log("request id not usable in a URL");
    assert!(
        log.contains("event without Lambda-Runtime-Aws-Request-Id"),
        "{log}"
    );
    assert!(log.contains("request id not usable in a URL"), "{log}");
}

#[test]
fn malformed_optional_headers_cost_nothing() {
    let b = Bootstrap::start("context", &[]);
    let event = Event::new("{}")
        .header("Lambda-Runtime-Deadline-Ms", "tomorrow")
        .client_context("{not json")
        .identity("[1,2]");
    let body = b.respond(event).body_str().to_string();
    assert!(body.contains(r#""deadline_ms":0"#), "{body}");
    assert!(
        body.contains(r#""client_context":null,"client_context_raw":"{not json""#),
        "{body}"
    );
    assert!(
        body.contains(r#""identity":null,"identity_raw":"[1,2]""#),
        "{body}"
    );
    let log = b.wait_log("Lambda-Runtime-Client-Context header is not the expected JSON");
    assert!(
        log.contains("ignoring malformed Lambda-Runtime-Deadline-Ms"),
        "{log}"
    );
    assert!(
        log.contains("Lambda-Runtime-Client-Context header is not the expected JSON"),
        "{log}"
    );
    // And the next, well-formed invocation is unaffected.
    assert!(
        b.respond(Event::new("{}"))
            .body_str()
            .contains(r#""client_context":null"#)
    );
}

#[test]
fn refused_answers_are_logged_and_the_loop_goes_on() {
    for status in [400, 403, 410, 413] {
        let b = Bootstrap::start("echo", &[]);
        b.api.fault_post(Fault::Status(status));
        let refused = b.respond(Event::new("1"));
        assert_eq!(refused.status, status);
        assert_eq!(b.respond(Event::new("2")).body_str(), "2", "after {status}");
        b.wait_log(&format!(
            "not accepted: runtime API refused the post with {status}"
        ));
    }
}

#[test]
fn an_answer_after_the_deadline_gets_410_and_the_loop_goes_on() {
    let b = Bootstrap::start("after_response", &[]);
    let late = b.respond(Event::new("{}").timeout(Duration::ZERO));
    assert_eq!(late.status, 410);
    assert_eq!(b.respond(Event::new("{}")).status, 202);
    b.wait_log("refused the post with 410");
}

#[test]
fn a_response_over_six_megabytes_gets_413_and_the_loop_goes_on() {
    let b = Bootstrap::start("echo", &[]);
    let huge = format!("\"{}\"", "y".repeat(6_300_000));
    let refused = b.respond(Event::new(huge));
    assert_eq!(refused.status, 413);
    assert_eq!(b.respond(Event::new("3")).body_str(), "3");
    b.wait_log("refused the post with 413");
}

#[test]
fn a_500_on_an_answer_ends_the_process() {
    for action in ["ok", "error"] {
        let mut b = Bootstrap::start("errors", &[]);
        b.api.fault_post(Fault::Status(500));
        b.invoke(Event::new(format!(r#"{{"do":"{action}"}}"#)));
        assert_eq!(b.wait_exit().code(), Some(1), "{action}");
        assert!(
            b.stderr().contains("runtime API failed with 500; exiting"),
            "{}",
            b.stderr()
        );
    }
}

#[test]
fn a_connection_closed_under_a_post_is_tried_once_more() {
    let b = Bootstrap::start("echo", &[]);
    b.api.fault_post(Fault::Close);
    let id = b.api.push(Event::new("5"));
    // The first post got no answer; the second, on a new connection, is accepted.
    assert!(b.api.wait_next_calls(2, WAIT));
    let posts: Vec<u16> = b
        .api
        .records()
        .iter()
        .filter(|r| r.path.ends_with(&format!("{id}/response")))
        .map(|r| r.status)
        .collect();
    assert_eq!(posts, [0, 202]);
    b.wait_log("trying once more");
}

#[test]
fn the_invocation_nonce_is_echoed_and_never_invented() {
    let b = Bootstrap::start("echo", &[]);
    b.api.require_invocation_id(true);
    let with = b.respond(Event::new("1").invocation_id(Some("n-1")));
    assert_eq!(
        (with.status, with.header("Lambda-Runtime-Invocation-Id")),
        (202, Some("n-1"))
    );
    let without = b.respond(Event::new("2").invocation_id(None));
    assert_eq!(without.header("Lambda-Runtime-Invocation-Id"), None);
}

fn echo_command() -> Command {
    let mut command = Command::new(example("echo"));
    command.env_clear();
    command
}
