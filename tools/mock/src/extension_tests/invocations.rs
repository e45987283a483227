//! Invocations beside extensions: every `INVOKE` to each extension
//! registered for it, the next event held back until they are done, and
//! when an invocation is done with or without them.
use super::*;
use crate::tests::{get_next, post_response};

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
