//! The function as Lambda runs it, fed `events/event.json`: an SQS batch of
//! two messages, the second with an empty body.
mod common;

use common::Function;

const EVENT: &str = include_str!("../events/event.json");

#[test]
fn a_refused_message_goes_back_to_the_queue() {
    let function = Function::start(&[]);
    let answer = function.respond(EVENT);
    assert_eq!(
        answer.body_str(),
        r#"{"batchItemFailures":[{"itemIdentifier":"2e1424d4-f796-459a-8184-9c92662be6da"}]}"#
    );
}

#[test]
fn a_good_batch_is_deleted_whole() {
    let function = Function::start(&[]);
    let answer = function.respond(&EVENT.replace(r#""body": """#, r#""body": "Second""#));
    assert_eq!(answer.body_str(), r#"{"batchItemFailures":[]}"#);
}
