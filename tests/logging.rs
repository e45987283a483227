//! Log lines: level from RUST_LOG or AWS_LAMBDA_LOG_LEVEL, text or JSON
//! format, the request id on every line, and never an event payload at INFO.

mod common;

use common::Bootstrap;
use tiny_lambda_mock::Event;

const LOG_EVENT: &str = r#"{"do":"log"}"#;

fn lines_of(log: &str, needle: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

#[test]
fn text_lines_carry_time_request_id_and_level() {
    let b = Bootstrap::start("errors", &[]);
    b.respond(Event::new(LOG_EVENT).request_id("req-text"));
    let log = b.wait_log("a warn line");
    let line = &lines_of(&log, "a warn line")[0];
    let fields: Vec<&str> = line.split('\t').collect();
    assert_eq!(fields.len(), 4, "{line}");
    assert!(fields[0].ends_with('Z') && fields[0].len() == 24, "{line}");
    assert_eq!(&fields[1..], ["req-text", "WARN", "errors: a warn line"]);
    // INFO by default: no debug or trace lines.
    assert!(
        log.contains("an info line") && !log.contains("a debug line"),
        "{log}"
    );
}

#[test]
fn json_lines_are_one_object_each() {
    let b = Bootstrap::start("errors", &[("AWS_LAMBDA_LOG_FORMAT", "JSON")]);
    b.respond(Event::new(LOG_EVENT).request_id("req-json"));
    let log = b.wait_log("an info line");
    let line = &lines_of(&log, "an info line")[0];
    assert!(line.starts_with(r#"{"timestamp":""#), "{line}");
    assert!(
        line.ends_with(r#"Z","level":"INFO","message":"an info line","target":"errors","requestId":"req-json"}"#),
        "{line}"
    );
    for line in log.lines() {
        assert!(
            line.starts_with('{') && line.ends_with('}'),
            "not JSON: {line}"
        );
        let value: miniserde::json::Value =
            miniserde::json::from_str(line).expect("each line parses");
        drop(value);
    }
}

#[test]
fn aws_lambda_log_level_sets_the_level() {
    let b = Bootstrap::start("errors", &[("AWS_LAMBDA_LOG_LEVEL", "WARN")]);
    b.respond(Event::new(LOG_EVENT));
    let log = b.wait_log("a warn line");
    assert!(log.contains("an error line"), "{log}");
    assert!(!log.contains("an info line"), "{log}");
}

#[test]
fn rust_log_wins_over_aws_lambda_log_level() {
    let b = Bootstrap::start(
        "errors",
        &[("AWS_LAMBDA_LOG_LEVEL", "ERROR"), ("RUST_LOG", "trace")],
    );
    b.respond(Event::new(LOG_EVENT));
    let log = b.wait_log("a trace line");
    assert!(log.contains("a debug line"), "{log}");
    // At DEBUG the runtime says what it does, with sizes, not contents.
    assert!(log.contains("event of 12 bytes"), "{log}");
}

#[test]
fn payloads_never_reach_the_log_at_info() {
    let b = Bootstrap::start("errors", &[("RUST_LOG", "info")]);
    let secret = "4111-1111-1111-1111";
    b.fail(Event::new(format!(r#"{{"card":"{secret}"}}"#)));
    b.respond(Event::new(format!(r#"{{"do":"ok","card":"{secret}"}}"#)));
    let log = b.wait_log("does not parse");
    assert!(!log.contains(secret), "{log}");
}

#[test]
fn the_transport_stays_quiet_at_aws_debug_level() {
    let b = Bootstrap::start("errors", &[("AWS_LAMBDA_LOG_LEVEL", "DEBUG")]);
    b.respond(Event::new(LOG_EVENT));
    let log = b.wait_log("/response (");
    assert!(log.contains("a debug line"), "{log}");
    // The runtime's own DEBUG lines name each call; ureq's narration of the
    // same calls (in the ureq build) is held back to WARN.
    assert!(!log.contains("\tureq"), "{log}");
}

#[cfg(feature = "ureq")]
#[test]
fn rust_log_can_still_ask_for_the_transport() {
    let b = Bootstrap::start("errors", &[("RUST_LOG", "debug")]);
    b.respond(Event::new(LOG_EVENT));
    let log = b.wait_log("/response (");
    assert!(log.contains("\tureq::"), "{log}");
}
