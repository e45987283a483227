//! Retries, deadlines and broken answers, against a fake AWS: throttling
//! and server errors retried, `AWS_MAX_ATTEMPTS`, broken connections,
//! errors not retried, deadlines cutting retries and hanging servers, and
//! malformed answers as errors, not panics.

use super::*;

const THROTTLED: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate exceeded"}"#;

fn get(aws: &Aws, deadline: Deadline) -> Result<Option<Item>, Error> {
    aws.dynamodb(deadline).get_item("t", &key("id", "1"))
}

#[test]
fn throttling_is_retried_until_it_succeeds() {
    let fake = Fake::start(|i, _| {
        if i < 2 {
            answer(400, THROTTLED)
        } else {
            answer(200, "{}")
        }
    });
    let got = get(&fake_aws(&fake, &[]), Deadline::NONE).unwrap();
    assert_eq!(got, None);
    assert_eq!(fake.count(), 3);
}

#[test]
fn server_errors_are_tried_three_times_then_returned() {
    let fake = Fake::always(500, r#"{"__type":"InternalServerError","message":"boom"}"#);
    let e = get(&fake_aws(&fake, &[]), Deadline::NONE).unwrap_err();
    assert_eq!(e.status, 500, "{e}");
    assert_eq!(e.code, "InternalServerError");
    assert_eq!(fake.count(), 3);
}

#[test]
fn aws_max_attempts_1_tries_once() {
    let fake = Fake::always(500, "");
    let aws = fake_aws(&fake, &[("AWS_MAX_ATTEMPTS", "1")]);
    let e = get(&aws, Deadline::NONE).unwrap_err();
    assert_error(&e, "InternalError", 500);
    assert_eq!(fake.count(), 1);
}

#[test]
fn a_broken_connection_is_retried_then_a_connection_error() {
    let fake = Fake::start(|_, _| Reply::Close);
    let e = get(&fake_aws(&fake, &[]), Deadline::NONE).unwrap_err();
    assert_error(&e, "ConnectionError", 0);
    assert_eq!(fake.count(), 3);
}

#[test]
fn a_validation_error_is_not_retried() {
    let fake = Fake::always(
        400,
        r#"{"__type":"com.amazon.coral.validate#ValidationException","message":"bad key"}"#,
    );
    let e = get(&fake_aws(&fake, &[]), Deadline::NONE).unwrap_err();
    assert_error(&e, "ValidationException", 400);
    assert_eq!(e.message, "bad key");
    assert_eq!(fake.count(), 1);
}

#[test]
fn retries_never_sleep_past_the_deadline() {
    let fake = Fake::always(503, "");
    let aws = fake_aws(&fake, &[]);
    let start = Instant::now();
    let e = get(&aws, Deadline::at(start + Duration::from_millis(700))).unwrap_err();
    let elapsed = start.elapsed();
    assert!(
        matches!(e.code.as_str(), "ServiceUnavailable" | "DeadlineExceeded"),
        "{e}"
    );
    assert!(elapsed < Duration::from_millis(700), "{elapsed:?}");
    assert!(fake.count() >= 1);
}

#[test]
fn a_server_that_never_answers_is_cut_at_the_deadline() {
    let fake = Fake::start(|_, _| Reply::Hang);
    let aws = fake_aws(&fake, &[]);
    let start = Instant::now();
    let e = get(&aws, Deadline::at(start + Duration::from_millis(500))).unwrap_err();
    let elapsed = start.elapsed();
    assert_error(&e, "DeadlineExceeded", 0);
    assert!(elapsed < Duration::from_millis(600), "{elapsed:?}");
    assert_eq!(fake.count(), 1);
}

#[test]
fn malformed_answers_are_errors_not_panics() {
    for body in [
        &b"not json"[..],
        br#"{"Item": {"id": {"Q": "x"}}}"#,
        br#"{"Item": "x"}"#,
        b"[]",
        b"\xff\xfe",
    ] {
        let body = body.to_vec();
        let fake = Fake::start(move |_, _| Reply::Answer(200, Vec::new(), body.clone()));
        let e = get(&fake_aws(&fake, &[]), Deadline::NONE).unwrap_err();
        assert_eq!(e.code, "MalformedResponse", "{e}");
        assert_eq!(fake.count(), 1, "not retried");
    }

    let fake = Fake::always(200, r#"{"Messages": "not a list"}"#);
    let e = fake_aws(&fake, &[])
        .sqs(Deadline::NONE)
        .receive_message(&fake.url, 10, 0)
        .unwrap_err();
    assert_eq!(e.code, "MalformedResponse", "{e}");

    let fake = Fake::always(500, "\u{1}garbage<<");
    let aws = fake_aws(&fake, &[]).with_max_attempts(1);
    let e = get(&aws, Deadline::NONE).unwrap_err();
    assert_eq!(e.status, 500, "{e}");
    assert!(!e.code.is_empty(), "{e:?}");
}
