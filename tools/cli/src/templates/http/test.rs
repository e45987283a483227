//! The function as Lambda runs it, fed `events/event.json`: an API Gateway
//! HTTP API (v2) event for `GET /hello?name=Ada`.
mod common;

use common::Function;
use miniserde::json::{self, Number, Object, Value};

const EVENT: &str = include_str!("../events/event.json");

/// The status and body of an API Gateway v2 answer.
fn status_and_body(answer: &str) -> (u64, String) {
    let answer: Object = json::from_str(answer).expect("the answer is a JSON object");
    let Some(Value::Number(Number::U64(status))) = answer.get("statusCode") else {
        panic!("no statusCode in {answer:?}");
    };
    let Some(Value::String(body)) = answer.get("body") else {
        panic!("no body in {answer:?}");
    };
    (*status, body.clone())
}

#[test]
fn greets_by_name() {
    let function = Function::start(&[]);
    let answer = function.respond(EVENT);
    let (status, body) = status_and_body(answer.body_str());
    assert_eq!(status, 200);
    assert_eq!(body, r#"{"greeting":"Hello, Ada!"}"#);
}

#[test]
fn another_path_is_not_found() {
    let function = Function::start(&[]);
    let answer = function.respond(&EVENT.replace("/hello", "/elsewhere"));
    assert_eq!(status_and_body(answer.body_str()).0, 404);
}

#[test]
fn another_method_is_not_allowed() {
    let function = Function::start(&[]);
    let answer = function.respond(&EVENT.replace(r#""method": "GET""#, r#""method": "POST""#));
    assert_eq!(status_and_body(answer.body_str()).0, 405);
}
