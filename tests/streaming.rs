//! Response streaming against the mock Runtime API: what a streaming handler
//! sends chunk by chunk, how each kind of failure ends (before the first
//! byte, after it, by a panic, by the API closing the stream), and that the
//! loop goes on after each.

mod common;

use std::time::Duration;

use common::{Bootstrap, WAIT};
use tiny_lambda_mock::{Event, Fault, Outcome, Posted, RuntimeApi, Stream};

fn stream_event(chunks: u64, bytes: usize, delay_ms: u64, fail_after: Option<u64>) -> Event {
    let fail = fail_after.map_or(String::new(), |k| format!(r#","fail_after":{k}"#));
    Event::new(format!(
        r#"{{"chunks":{chunks},"bytes":{bytes},"delay_ms":{delay_ms}{fail}}}"#
    ))
}

/// The stream of a streamed response, which must be there.
fn streamed(posted: &Posted) -> &Stream {
    posted.stream.as_ref().expect("a streamed answer")
}

/// After any fault, the same process answers the next event in full.
fn still_serves(b: &Bootstrap) {
    let posted = b.respond(stream_event(2, 3, 0, None));
    assert_eq!(posted.body_str(), "xxxxxx");
    assert!(streamed(&posted).complete);
}

#[test]
fn chunks_arrive_as_the_handler_flushes_them() {
    let b = Bootstrap::start("stream", &[]);
    let posted = b.respond(stream_event(3, 5, 80, None).invocation_id(Some("nonce-s")));
    assert_eq!(posted.status, 202);
    let stream = streamed(&posted);
    assert!(stream.complete);
    assert!(stream.trailers.is_empty(), "{:?}", stream.trailers);
    let sizes: Vec<usize> = stream.chunks.iter().map(|c| c.bytes.len()).collect();
    assert_eq!(sizes, [5, 5, 5]);
    // Each chunk left when it was flushed, not all at the end.
    for pair in stream.chunks.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at);
        assert!(gap >= Duration::from_millis(60), "chunks {gap:?} apart");
    }
    assert_eq!(posted.body_str(), "x".repeat(15));
    for (name, value) in [
        ("Lambda-Runtime-Function-Response-Mode", "streaming"),
        ("Transfer-Encoding", "chunked"),
        (
            "Trailer",
            "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body",
        ),
        ("Content-Type", "application/octet-stream"),
        ("Lambda-Runtime-Invocation-Id", "nonce-s"),
    ] {
        assert_eq!(posted.header(name), Some(value), "{name}");
    }
    assert!(posted.header("Content-Length").is_none());
}

#[test]
fn an_error_after_bytes_were_sent_goes_in_the_trailers() {
    let b = Bootstrap::start("stream", &[]);
    let posted = b.respond(stream_event(5, 4, 0, Some(2)));
    assert_eq!(posted.status, 202);
    let stream = streamed(&posted);
    assert!(stream.complete);
    assert_eq!(posted.body_str(), "xxxxxxxx");
    assert_eq!(
        stream.trailer("Lambda-Runtime-Function-Error-Type"),
        Some("Function.Error")
    );
    assert_eq!(
        stream.error_body().as_deref(),
        Some(r#"{"errorMessage":"failed after 2 chunks","errorType":"Error","stackTrace":[]}"#)
    );
    b.wait_log("invocation failed: Error: failed after 2 chunks");
    still_serves(&b);
}

#[test]
fn an_error_before_any_byte_is_posted_to_error() {
    let b = Bootstrap::start("stream", &[]);
    let failed = b.fail(stream_event(5, 4, 0, Some(0)));
    assert_eq!(
        failed.body_str(),
        r#"{"errorMessage":"failed after 0 chunks","errorType":"Error","stackTrace":[]}"#
    );
    assert_eq!(
        failed.header("Lambda-Runtime-Function-Error-Type"),
        Some("Function.Error")
    );
    // No streamed post was started for it.
    assert!(
        !b.api
            .records()
            .iter()
            .any(|r| r.path.ends_with("/response"))
    );
    // An event the typed handler cannot parse fails before any byte too.
    let invalid = b.fail(Event::new(r#"{"chunks":"many"}"#));
    assert_eq!(
        invalid.header("Lambda-Runtime-Function-Error-Type"),
        Some("Runtime.InvalidEvent")
    );
    still_serves(&b);
}

#[test]
fn a_handler_that_writes_nothing_sends_an_empty_stream() {
    let b = Bootstrap::start("stream", &[]);
    let posted = b.respond(stream_event(0, 10, 0, None));
    assert_eq!(posted.status, 202);
    let stream = streamed(&posted);
    assert!(stream.complete);
    assert!(stream.chunks.is_empty());
    assert!(stream.trailers.is_empty());
}

#[test]
fn a_function_url_response_starts_with_its_prelude() {
    let b = Bootstrap::start("url_stream", &[]);
    let posted = b.respond(Event::new("{}"));
    assert_eq!(
        posted.header("Content-Type"),
        Some("application/vnd.awslambda.http-integration-response")
    );
    let mut expected =
        br#"{"statusCode":201,"headers":{"content-type":"text/plain"},"cookies":["a=1"]}"#.to_vec();
    expected.extend_from_slice(&[0; 8]);
    expected.extend_from_slice(b"hello ");
    let stream = streamed(&posted);
    let chunks: Vec<&[u8]> = stream.chunks.iter().map(|c| &c.bytes[..]).collect();
    assert_eq!(chunks, [&expected[..], b"world"]);
    assert!(stream.complete && stream.trailers.is_empty());
}

#[test]
fn a_raw_handler_streams_bytes_and_a_panic_after_them_ends_in_trailers() {
    // Tests build with the dev profile: panic = "unwind".
    let b = Bootstrap::start("stream_raw", &[]);
    let posted = b.respond(Event::new(&b"ab\xffcd"[..]));
    let chunks: Vec<&[u8]> = streamed(&posted)
        .chunks
        .iter()
        .map(|c| &c.bytes[..])
        .collect();
    assert_eq!(chunks, [&b"ab"[..], b"\xffcd"]);

    let panicked = b.respond(Event::new("panic-now"));
    let stream = streamed(&panicked);
    assert_eq!(panicked.body_str(), "pani");
    assert_eq!(
        stream.trailer("Lambda-Runtime-Function-Error-Type"),
        Some("Function.Panic")
    );
    assert_eq!(
        stream.error_body().as_deref(),
        Some(r#"{"errorMessage":"panicked after 4 bytes","errorType":"Panic","stackTrace":[]}"#)
    );
    b.wait_log("handler panicked after 4 bytes were streamed");
    // Reported once, in the trailers: no post to /error as well.
    assert!(!b.api.records().iter().any(|r| r.path.ends_with("/error")));
    assert_eq!(b.respond(Event::new("okay")).body_str(), "okay");
}

#[test]
fn a_panic_or_an_error_before_any_byte_is_posted_to_error() {
    let b = Bootstrap::start("stream_raw", &[]);
    let panicked = b.fail(Event::new("early-panic"));
    assert_eq!(
        panicked.body_str(),
        r#"{"errorMessage":"panicked before the first byte","errorType":"Panic","stackTrace":[]}"#
    );
    let failed = b.fail(Event::new("early-error"));
    assert_eq!(
        failed.header("Lambda-Runtime-Function-Error-Type"),
        Some("Function.Error")
    );
    let posts = b
        .api
        .records()
        .iter()
        .filter(|r| r.path.ends_with("/error"))
        .count();
    assert_eq!(posts, 2, "one report each");
    assert_eq!(b.respond(Event::new("fine")).body_str(), "fine");
}

#[test]
fn with_panic_abort_the_hook_ends_the_stream_with_trailers() {
    let bin = common::panic_abort_example("stream_raw");
    let mut b = Bootstrap::start_path(bin, &[]);
    let panicked = b.respond(Event::new("panic-now"));
    assert_eq!(panicked.body_str(), "pani");
    let stream = streamed(&panicked);
    assert!(stream.complete, "the hook sent the last chunk");
    assert_eq!(
        stream.trailer("Lambda-Runtime-Function-Error-Type"),
        Some("Function.Panic")
    );
    assert!(!b.wait_exit().success());
    assert!(!b.api.records().iter().any(|r| r.path.ends_with("/error")));
}

#[test]
fn a_caller_that_disconnects_ends_the_writes_and_the_loop_goes_on() {
    let api = RuntimeApi::start().unwrap();
    api.fault_post(Fault::Close);
    let b = Bootstrap::spawn(api, common::example_command("stream"));
    let id = b.api.push(stream_event(50, 100, 20, None));
    let Some(Outcome::Response(posted)) = b.api.wait_outcome(&id, WAIT) else {
        panic!("no streamed answer recorded");
    };
    assert_eq!(posted.status, 0, "closed, not answered");
    let stream = streamed(&posted);
    assert!(!stream.complete);
    assert_eq!(stream.chunks.len(), 1);
    // The handler's write failed and it returned the error.
    b.wait_log("invocation failed");
    b.wait_log(&format!("the response stream for {id} broke after"));
    still_serves(&b);
}

#[test]
fn refused_streams_follow_the_rules_of_buffered_answers() {
    let api = RuntimeApi::start().unwrap();
    api.fault_post(Fault::Status(403));
    let b = Bootstrap::spawn(api, common::example_command("stream"));
    let posted = b.respond(stream_event(2, 3, 0, None));
    assert_eq!(posted.status, 403);
    b.wait_log("not accepted: runtime API refused the post with 403");
    still_serves(&b);

    let api = RuntimeApi::start().unwrap();
    api.fault_post(Fault::Status(500));
    let mut b = Bootstrap::spawn(api, common::example_command("stream"));
    assert_eq!(b.respond(stream_event(2, 3, 0, None)).status, 500);
    assert_eq!(b.wait_exit().code(), Some(1));
    assert!(
        b.stderr().contains("runtime API failed with 500; exiting"),
        "{}",
        b.stderr()
    );
}

#[test]
fn a_stream_past_its_deadline_is_cut_and_the_loop_goes_on() {
    let b = Bootstrap::start("stream", &[]);
    let id = b
        .api
        .push(stream_event(20, 10, 50, None).timeout(Duration::from_millis(300)));
    let Some(Outcome::Response(posted)) = b.api.wait_outcome(&id, WAIT) else {
        panic!("no streamed answer recorded");
    };
    assert_eq!(posted.status, 410);
    let stream = streamed(&posted);
    assert!(!stream.complete);
    assert!(
        (3..20).contains(&stream.chunks.len()),
        "{}",
        stream.chunks.len()
    );
    b.wait_log(&format!("the response stream for {id} broke after"));
    still_serves(&b);
}

#[test]
fn a_stream_over_the_size_limit_is_cut_and_the_loop_goes_on() {
    let api = RuntimeApi::start().unwrap();
    api.stream_limit(4096);
    let b = Bootstrap::spawn(api, common::example_command("stream"));
    let id = b.api.push(stream_event(20, 1024, 10, None));
    let Some(Outcome::Response(posted)) = b.api.wait_outcome(&id, WAIT) else {
        panic!("no streamed answer recorded");
    };
    assert_eq!(posted.status, 413);
    assert_eq!(
        posted.body.len(),
        5 * 1024,
        "cut at the chunk past the limit"
    );
    b.wait_log(&format!("the response stream for {id} broke after"));
    still_serves(&b);
}
