//! The handler-kind matrix (issue 17): every handler kind in every mode,
//! against the mock Runtime API, so that no kind and no mode can drift
//! apart again. One binary, the `kinds` example, serves each kind (`KIND`);
//! one test per mode runs it for each row of [`KINDS`]:
//!
//! - one at a time (no `AWS_LAMBDA_MAX_CONCURRENCY`);
//! - Lambda Managed Instances (`AWS_LAMBDA_MAX_CONCURRENCY=4`);
//! - SnapStart (`AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`), alone and
//!   with two threads.
//!
//! A streaming kind must answer as a stream (the mock records its chunks),
//! a buffered kind as one post. A new kind is one row of [`KINDS`] and one
//! arm of [`event`]; a new mode is one test.
// The hooks are seen in the log, so the example needs its logger.
#![cfg(all(feature = "http-adapter", feature = "env_logger"))]

mod common;

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use common::{Bootstrap, WAIT};
use tiny_lambda_mock::{Event, Outcome, RuntimeApi};

/// One handler kind of the `kinds` example.
struct Kind {
    /// Its `KIND`.
    name: &'static str,
    /// Whether it answers through a stream rather than one post.
    streamed: bool,
}

const KINDS: [Kind; 5] = [
    Kind {
        name: "json",
        streamed: false,
    },
    Kind {
        name: "raw",
        streamed: false,
    },
    Kind {
        name: "streaming",
        streamed: true,
    },
    Kind {
        name: "streaming_raw",
        streamed: true,
    },
    Kind {
        name: "http",
        streamed: false,
    },
];

/// Invocation `n` for `kind`, sleeping `sleep_ms` in the handler, and the
/// body its answer must have. Each answer names its `n`, so no answer can
/// pass for another's.
fn event(kind: &Kind, n: usize, sleep_ms: u64) -> (Event, String) {
    match kind.name {
        // Parsed and serialised again: compact, keys in order.
        "json" | "streaming" => {
            let body = format!(r#"{{"n":{n},"sleep_ms":{sleep_ms}}}"#);
            (Event::new(body.clone()), body)
        }
        // Byte for byte, spaces and key order included.
        "raw" | "streaming_raw" => {
            let body = format!(r#"{{ "sleep_ms": {sleep_ms}, "n": {n} }}"#);
            (Event::new(body.clone()), body)
        }
        // A function URL request; answered in the function URL's shape.
        "http" => {
            let path = format!("/kinds/{n}");
            let request = fixture("lambda-url.json")
                .replace("/my/path", &path)
                .replace(
                    r#""Hello from client!""#,
                    &format!(r#""{{\"sleep_ms\":{sleep_ms}}}""#),
                );
            let answer = format!(
                r#"{{"statusCode":200,"headers":{{"content-type":"text/plain; charset=utf-8"}},"body":"{path}","isBase64Encoded":false}}"#
            );
            (Event::new(request), answer)
        }
        other => panic!("no events for the kind {other}"),
    }
}

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/events/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The `kinds` example serving `kind`, with `env`, against a mock that
/// allows `limit` invocations at once. Built by the test itself, so that
/// `cargo test --test matrix` runs the example as it is now.
fn start(kind: &Kind, limit: usize, env: &[(&str, &str)]) -> Bootstrap {
    let api = RuntimeApi::start().expect("mock starts");
    api.max_concurrency(limit);
    let mut command = Command::new(common::build_example("kinds", &["http-adapter"]));
    command
        .env_clear()
        .env("KIND", kind.name)
        .env("AWS_LAMBDA_FUNCTION_NAME", "matrix")
        .env("RUST_BACKTRACE", "0")
        .envs(env.iter().copied());
    Bootstrap::spawn(api, command)
}

/// Pushes `count` invocations at once, each sleeping `sleep_ms`, then checks
/// every answer against its own event.
fn invoke_all(b: &Bootstrap, kind: &Kind, count: usize, sleep_ms: u64) {
    let expected: HashMap<String, String> = (0..count)
        .map(|n| {
            let (event, answer) = event(kind, n, sleep_ms);
            (b.api.push(event), answer)
        })
        .collect();
    for (id, answer) in &expected {
        let outcome = b.api.wait_outcome(id, WAIT);
        let outcome = outcome.unwrap_or_else(|| {
            panic!("{}: no answer for {id}; stderr:\n{}", kind.name, b.stderr())
        });
        assert_answer(kind, &outcome, answer);
    }
}

/// A response with `expected` as its body: streamed in the example's two
/// flushed halves for a streaming kind, posted whole for the others.
fn assert_answer(kind: &Kind, outcome: &Outcome, expected: &str) {
    let Outcome::Response(posted) = outcome else {
        panic!("{}: an error: {}", kind.name, outcome.posted().body_str());
    };
    assert_eq!(posted.status, 202, "{}", kind.name);
    assert_eq!(posted.body_str(), expected, "{}", kind.name);
    let mode = posted.header("Lambda-Runtime-Function-Response-Mode");
    if !kind.streamed {
        assert!(posted.stream.is_none(), "{}: streamed", kind.name);
        assert_eq!(mode, None, "{}", kind.name);
        return;
    }
    assert_eq!(mode, Some("streaming"), "{}", kind.name);
    let stream = posted.stream.as_ref().expect("a streamed answer");
    assert!(stream.complete, "{}: {stream:?}", kind.name);
    assert!(stream.trailers.is_empty(), "{}: {stream:?}", kind.name);
    let chunks: Vec<&[u8]> = stream.chunks.iter().map(|c| &c.bytes[..]).collect();
    let (first, second) = expected.as_bytes().split_at(expected.len() / 2);
    assert_eq!(
        chunks,
        [first, second],
        "{}: one chunk per flush",
        kind.name
    );
}

/// Nothing went wrong on the side: no `/next` beyond the mock's limit, no
/// init or restore error, no warning.
fn assert_clean(b: &Bootstrap, kind: &Kind) {
    let refused: Vec<String> = b
        .api
        .records()
        .iter()
        .filter(|r| r.status == 403)
        .map(|r| r.path.clone())
        .collect();
    assert!(refused.is_empty(), "{}: refused {refused:?}", kind.name);
    assert!(
        b.api.wait_init_error(Duration::ZERO).is_none(),
        "{}",
        kind.name
    );
    assert!(
        b.api.wait_restore_error(Duration::ZERO).is_none(),
        "{}",
        kind.name
    );
    let log = b.stderr();
    assert!(
        !log.contains("WARN") && !log.contains("ERROR"),
        "{}: {log}",
        kind.name
    );
}

#[test]
fn every_kind_serves_one_at_a_time() {
    for kind in &KINDS {
        // A limit of 1: a second /next while one invocation is open is refused.
        let b = start(kind, 1, &[]);
        invoke_all(&b, kind, 3, 20);
        assert_eq!(b.api.peak_concurrency(), 1, "{}", kind.name);
        assert_clean(&b, kind);
        // Not under SnapStart: the hooks stay quiet.
        assert!(!b.api.wait_restore_next(Duration::ZERO), "{}", kind.name);
        assert!(
            !b.stderr().contains("kinds: "),
            "{}: {}",
            kind.name,
            b.stderr()
        );
    }
}

#[test]
fn every_kind_serves_max_concurrency_at_once() {
    for kind in &KINDS {
        let b = start(kind, 4, &[("AWS_LAMBDA_MAX_CONCURRENCY", "4")]);
        assert!(
            b.api.wait_next_calls(4, WAIT),
            "{}: {}",
            kind.name,
            b.stderr()
        );
        invoke_all(&b, kind, 8, 200);
        // The first four events met the four waiting /next requests at once.
        assert_eq!(b.api.peak_concurrency(), 4, "{}", kind.name);
        assert_clean(&b, kind);
    }
}

#[test]
fn every_kind_runs_the_snapstart_hooks_then_serves() {
    for kind in &KINDS {
        for threads in ["1", "2"] {
            let what = format!("{} on {threads} thread(s)", kind.name);
            let b = start(
                kind,
                2,
                &[
                    ("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start"),
                    ("AWS_LAMBDA_MAX_CONCURRENCY", threads),
                ],
            );
            assert!(b.api.wait_restore_next(WAIT), "{what}: {}", b.stderr());
            let log = b.wait_log("kinds: before snapshot");
            assert!(!log.contains("kinds: after restore"), "{what}: {log}");
            // Held at /restore/next until the restore: no /next before it.
            assert!(!b.api.wait_next_calls(1, Duration::ZERO), "{what}");

            b.api.restore();
            let log = b.wait_log("kinds: after restore");
            let before = log.find("kinds: before snapshot").unwrap();
            let after = log.find("kinds: after restore").unwrap();
            assert!(before < after, "{what}: {log}");
            assert_eq!(log.matches("kinds: before snapshot").count(), 1, "{what}");
            assert_eq!(log.matches("kinds: after restore").count(), 1, "{what}");

            let n: usize = threads.parse().unwrap();
            assert!(b.api.wait_next_calls(n, WAIT), "{what}: {}", b.stderr());
            invoke_all(&b, kind, 2 * n, 50);
            assert_eq!(b.api.peak_concurrency(), n, "{what}");
            // Nothing went to the connection from before the snapshot.
            assert_eq!(b.api.requests_on_dead_connections(), 0, "{what}");
            assert_clean(&b, kind);
        }
    }
}
