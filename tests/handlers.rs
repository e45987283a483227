//! The examples against the mock Runtime API: what each kind of handler
//! outcome posts, byte for byte where it matters.

mod common;

use std::time::Duration;

use common::{Bootstrap, WAIT};
use tiny_lambda_mock::Event;

#[test]
fn hello_answers_a_typed_request() {
    let b = Bootstrap::start("hello", &[]);
    let event = Event::new(r#"{"name":"Ada"}"#)
        .request_id("req-1")
        .invocation_id(Some("nonce-1"));
    let posted = b.respond(event);
    assert_eq!(posted.status, 202);
    assert_eq!(
        posted.body_str(),
        r#"{"greeting":"Hello, Ada!","request_id":"req-1"}"#
    );
    assert_eq!(posted.header("Content-Type"), Some("application/json"));
    assert_eq!(
        posted.header("Lambda-Runtime-Invocation-Id"),
        Some("nonce-1")
    );
    let agent = posted.header("User-Agent").unwrap_or("");
    assert_eq!(agent, concat!("tiny-lambda/", env!("CARGO_PKG_VERSION")));
}

#[test]
fn echo_returns_the_event_unchanged() {
    let b = Bootstrap::start("echo", &[]);
    let event = r#"{"a":1,"b":[true,null,"x\"y"],"c":{"d":-2.5}}"#;
    assert_eq!(b.respond(Event::new(event)).body_str(), event);
    assert_eq!(b.respond(Event::new("[]")).body_str(), "[]");
}

#[test]
fn echo_streams_an_event_of_megabytes() {
    let b = Bootstrap::start("echo", &[]);
    let big = format!("[\"{}\"]", "x".repeat(5 * 1024 * 1024));
    let posted = b.respond(Event::new(big.clone()));
    assert_eq!(posted.body.len(), big.len());
    assert!(posted.body == big.as_bytes());
}

#[test]
fn raw_gets_and_gives_bytes() {
    let b = Bootstrap::start("raw", &[]);
    assert_eq!(
        b.respond(Event::new(&b"not json \xff"[..])).body,
        b"\xff nosj ton"
    );
    let failed = b.fail(Event::new(""));
    assert_eq!(
        failed.header("Lambda-Runtime-Function-Error-Type"),
        Some("Function.Error")
    );
    assert_eq!(
        failed.body_str(),
        r#"{"errorMessage":"empty event","errorType":"Error","stackTrace":[]}"#
    );
}

#[test]
fn context_shows_every_field() {
    let b = Bootstrap::start("context", &[]);
    let event = Event::new("{}")
        .request_id("req-ctx")
        .function_arn("arn:aws:lambda:eu-west-1:123456789012:function:f:live")
        .trace_id(Some("Root=1-00000000-000000000000000000000001;Parent=0000000000000001;Sampled=1"))
        .client_context(r#"{"client":{"installationId":"i-1","appTitle":"app"},"custom":{"k":"v"},"env":{"platform":"linux"}}"#)
        .identity(r#"{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}"#)
        .tenant_id("tenant-9")
        .invocation_id(Some("nonce-ctx"));
    let body = b.respond(event).body_str().to_string();
    for expected in [
        r#""request_id":"req-ctx""#,
        r#""invoked_function_arn":"arn:aws:lambda:eu-west-1:123456789012:function:f:live""#,
        r#""xray_trace_id":"Root=1-00000000-000000000000000000000001;Parent=0000000000000001;Sampled=1""#,
        r#""env_trace_id":"Root=1-00000000-000000000000000000000001;Parent=0000000000000001;Sampled=1""#,
        r#""client_context":{"client":{"installationId":"i-1","appTitle":"app","appVersionName":null,"appVersionCode":null,"appPackageName":null},"custom":{"k":"v"},"env":{"platform":"linux"}}"#,
        r#""identity":{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}"#,
        r#""identity_raw":"{\"cognitoIdentityId\":\"id-1\",\"cognitoIdentityPoolId\":\"pool-1\"}""#,
        r#""tenant_id":"tenant-9""#,
        r#""invocation_id":"nonce-ctx""#,
        r#""function_name":"test-function""#,
        r#""memory_size":128"#,
        r#""function_version":"$LATEST""#,
        r#""log_group_name":"/aws/lambda/test-function""#,
        r#""log_stream_name":"2026/11/23/[$LATEST]0123456789abcdef""#,
    ] {
        assert!(body.contains(expected), "missing {expected} in {body}");
    }
    // The mock's default deadline is 30 s away: some of it must remain.
    let remaining: u64 = field(&body, "remaining_ms").parse().unwrap();
    assert!(remaining > 20_000 && remaining <= 30_000, "{remaining}");

    // The next event has no trace header: the variable must not leak over.
    let body = b
        .respond(Event::new("{}").trace_id(None).invocation_id(None))
        .body_str()
        .to_string();
    assert!(body.contains(r#""env_trace_id":null"#), "{body}");
    assert!(body.contains(r#""xray_trace_id":null"#), "{body}");
    assert!(body.contains(r#""invocation_id":null"#), "{body}");
    assert!(body.contains(r#""client_context":null"#), "{body}");
}

fn field<'a>(json: &'a str, name: &str) -> &'a str {
    let start = json.find(&format!("\"{name}\":")).expect(name) + name.len() + 3;
    let rest = &json[start..];
    &rest[..rest.find([',', '}']).unwrap()]
}

#[test]
fn handler_errors_are_reported_and_the_loop_goes_on() {
    let b = Bootstrap::start("errors", &[]);
    let failed = b.fail(Event::new(r#"{"do":"error"}"#).invocation_id(Some("nonce-e")));
    assert_eq!(failed.status, 202);
    assert_eq!(
        failed.header("Lambda-Runtime-Function-Error-Type"),
        Some("Function.ParseIntError")
    );
    assert_eq!(
        failed.header("Content-Type"),
        Some("application/vnd.aws.lambda.error+json")
    );
    assert_eq!(
        failed.header("Lambda-Runtime-Invocation-Id"),
        Some("nonce-e")
    );
    assert_eq!(
        failed.body_str(),
        r#"{"errorMessage":"invalid digit found in string","errorType":"ParseIntError","stackTrace":[]}"#
    );

    let custom = b.fail(Event::new(r#"{"do":"custom"}"#));
    assert_eq!(
        custom.header("Lambda-Runtime-Function-Error-Type"),
        Some("Function.OrderRejected")
    );
    assert_eq!(
        custom.body_str(),
        r#"{"errorMessage":"the order has no items","errorType":"OrderRejected","stackTrace":[]}"#
    );
    assert_eq!(
        b.respond(Event::new(r#"{"do":"ok"}"#)).body_str(),
        r#"{"done":"ok"}"#
    );
    b.wait_log("invocation failed: ParseIntError: invalid digit found in string");
}

#[test]
fn an_event_that_does_not_parse_is_reported_and_the_loop_goes_on() {
    let b = Bootstrap::start("errors", &[]);
    for bad in [r#"{"nope":1}"#, "not json", "\u{0}"] {
        let failed = b.fail(Event::new(bad));
        assert_eq!(
            failed.header("Lambda-Runtime-Function-Error-Type"),
            Some("Runtime.InvalidEvent")
        );
        let body = failed.body_str();
        assert!(
            body.starts_with(r#"{"errorMessage":"the event ("#),
            "{body}"
        );
        assert!(
            body.contains("does not parse as JSON for errors::Request"),
            "{body}"
        );
        assert!(
            body.ends_with(r#","errorType":"InvalidEvent","stackTrace":[]}"#),
            "{body}"
        );
    }
    let failed = b.fail(Event::new(&b"\xff\xfe"[..]));
    assert!(
        failed.body_str().contains("is not UTF-8"),
        "{}",
        failed.body_str()
    );
    assert_eq!(
        b.respond(Event::new(r#"{"do":"ok"}"#)).body_str(),
        r#"{"done":"ok"}"#
    );
}

#[test]
fn a_panic_is_reported_and_with_unwind_the_loop_goes_on() {
    // Tests build with the dev profile: panic = "unwind".
    let b = Bootstrap::start("errors", &[]);
    let failed = b.fail(Event::new(r#"{"do":"panic"}"#).invocation_id(Some("nonce-p")));
    assert_eq!(
        failed.header("Lambda-Runtime-Function-Error-Type"),
        Some("Function.Panic")
    );
    assert_eq!(
        failed.header("Lambda-Runtime-Invocation-Id"),
        Some("nonce-p")
    );
    assert_eq!(
        failed.body_str(),
        r#"{"errorMessage":"the handler panicked on purpose","errorType":"Panic","stackTrace":[]}"#
    );
    assert_eq!(
        b.respond(Event::new(r#"{"do":"ok"}"#)).body_str(),
        r#"{"done":"ok"}"#
    );
    // Exactly one report for the panicked invocation: the hook's, not a second from the loop.
    let posts = b
        .api
        .records()
        .iter()
        .filter(|r| r.path.ends_with("/error"))
        .count();
    assert_eq!(posts, 1);
}

#[test]
fn with_panic_abort_the_hook_reports_before_the_process_dies() {
    let bin = panic_abort_example("errors");
    let mut b = Bootstrap::start_path(bin, &[]);
    let failed = b.fail(Event::new(r#"{"do":"panic"}"#));
    assert_eq!(
        failed.header("Lambda-Runtime-Function-Error-Type"),
        Some("Function.Panic")
    );
    assert_eq!(
        failed.body_str(),
        r#"{"errorMessage":"the handler panicked on purpose","errorType":"Panic","stackTrace":[]}"#
    );
    let status = b.wait_exit();
    assert!(!status.success());
}

/// Build an example with `panic = "abort"` in a target dir of its own (a
/// nested cargo must not wait on the lock of the one running the tests).
fn panic_abort_example(name: &str) -> std::path::PathBuf {
    let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("panic-abort");
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--example", name])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_PROFILE_DEV_PANIC", "abort")
        .status()
        .expect("cargo runs");
    assert!(
        status.success(),
        "building {name} with panic = abort failed"
    );
    target.join("debug").join("examples").join(name)
}

#[test]
fn an_init_error_is_posted_and_the_process_exits() {
    let mut b = Bootstrap::start("init", &[("INIT_FAIL", "1")]);
    let posted = b.api.wait_init_error(WAIT).expect("an /init/error post");
    assert_eq!(
        posted.header("Lambda-Runtime-Function-Error-Type"),
        Some("Function.ConfigMissing")
    );
    assert_eq!(
        posted.header("Content-Type"),
        Some("application/vnd.aws.lambda.error+json")
    );
    assert_eq!(
        posted.body_str(),
        r#"{"errorMessage":"INIT_FAIL is set, so the settings are missing","errorType":"ConfigMissing","stackTrace":[]}"#
    );
    assert!(!b.wait_exit().success());
    assert!(
        !b.api.wait_next_calls(1, Duration::ZERO),
        "no /next after a failed init"
    );
    b.wait_log("init failed: ConfigMissing");
}

#[test]
fn a_panic_in_init_is_posted_to_init_error() {
    let mut b = Bootstrap::start("init", &[("INIT_PANIC", "1")]);
    let posted = b.api.wait_init_error(WAIT).expect("an /init/error post");
    assert_eq!(
        posted.header("Lambda-Runtime-Function-Error-Type"),
        Some("Function.Panic")
    );
    assert_eq!(
        posted.body_str(),
        r#"{"errorMessage":"init panicked on purpose","errorType":"Panic","stackTrace":[]}"#
    );
    assert!(!b.wait_exit().success());
}

#[test]
fn a_successful_init_is_used_by_every_invocation() {
    let b = Bootstrap::start("init", &[("GREETING", "Bonjour")]);
    assert_eq!(b.respond(Event::new("{}")).body_str(), r#""Bonjour""#);
    assert_eq!(b.respond(Event::new("{}")).body_str(), r#""Bonjour""#);
    assert!(b.api.wait_init_error(Duration::ZERO).is_none());
}

#[test]
fn the_after_response_hook_runs_after_the_answer_is_posted() {
    let b = Bootstrap::start("after_response", &[("HOOK_DELAY_MS", "300")]);
    let first = b.respond(Event::new("{}"));
    assert_eq!(first.body_str(), r#"{"hooks_run":0}"#);
    // The answer was posted before the hook's slow work; the next /next waits for it.
    assert!(b.api.wait_next_calls(2, WAIT));
    let second_next = b
        .api
        .records()
        .iter()
        .filter(|r| r.path.ends_with("/next"))
        .nth(1)
        .unwrap()
        .at;
    assert!(second_next.duration_since(first.at) >= Duration::from_millis(300));
    assert_eq!(b.respond(Event::new("{}")).body_str(), r#"{"hooks_run":1}"#);
}

/// glibc's `setenv` never frees the strings it allocates, so setting
/// `_X_AMZN_TRACE_ID` to a new value per invocation grew the heap by every
/// trace id ever seen. The runtime's own heap must stay flat instead.
#[cfg(target_os = "linux")]
#[test]
fn the_trace_variable_does_not_grow_the_heap() {
    let b = Bootstrap::start("echo", &[]);
    let trace = |i: usize| format!("Root=1-6b04295c-{i:024x};Parent={i:016x};Sampled=1");
    for i in 0..200 {
        b.respond(Event::new("1").trace_id(Some(&trace(i))));
    }
    let before = anon_kib(&b);
    for i in 200..4200 {
        b.respond(Event::new("1").trace_id(Some(&trace(i))));
    }
    let grown = anon_kib(&b).saturating_sub(before);
    // 4,000 leaked values of ~90 bytes would be over 350 KiB.
    assert!(
        grown < 64,
        "anonymous memory grew by {grown} KiB over 4,000 invocations"
    );
}

#[cfg(target_os = "linux")]
fn anon_kib(b: &Bootstrap) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", b.child.id())).unwrap();
    let line = status.lines().find(|l| l.starts_with("RssAnon:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}
