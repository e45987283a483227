//! The function as Lambda runs it, fed `events/event.json`.
mod common;

use common::Function;

const EVENT: &str = include_str!("../events/event.json");

#[test]
fn greets_by_name() {
    let function = Function::start(&[]);
    let answer = function.respond(EVENT);
    assert_eq!(answer.body_str(), r#"{"greeting":"Hello, Ada!"}"#);
}

#[test]
fn an_empty_name_is_an_error() {
    let function = Function::start(&[]);
    let report = function.fail(r#"{"name": ""}"#);
    assert!(
        report.body_str().contains("name must not be empty"),
        "{}",
        report.body_str()
    );
    // The function goes on serving after a failed invocation.
    function.respond(EVENT);
}
