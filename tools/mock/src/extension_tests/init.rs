//! Registering and the end of init: who may register when and what is
//! refused, the identifier every call needs, the first event waiting for
//! every extension, and init ending in a timeout or an extension's
//! `init/error`.
use super::*;
use crate::tests::get_next;
use std::vec;

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
