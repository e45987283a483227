//! SQS through `Aws::sqs`, against moto: a message sent, a batch sent,
//! received and deleted, and a missing queue (queues of the test's own
//! are made, and counted, with `call_json`).

use super::*;

/// A queue of the test's own, made with the generic JSON call.
fn new_queue(aws: &Aws) -> String {
    let body = format!(r#"{{"QueueName":"{}"}}"#, unique("q"));
    let answer = aws
        .call_json(Deadline::NONE, "sqs", "AmazonSQS.CreateQueue", "1.0", &body)
        .unwrap();
    let answer: Json = json::from_str(&answer).unwrap();
    text(field(&answer, "QueueUrl")).to_string()
}

/// The queue's messages, visible and in flight.
fn message_counts(aws: &Aws, queue: &str) -> (String, String) {
    let body = format!(
        r#"{{"QueueUrl":"{queue}","AttributeNames":["ApproximateNumberOfMessages","ApproximateNumberOfMessagesNotVisible"]}}"#
    );
    let answer = aws
        .call_json(
            Deadline::NONE,
            "sqs",
            "AmazonSQS.GetQueueAttributes",
            "1.0",
            &body,
        )
        .unwrap();
    let answer: Json = json::from_str(&answer).unwrap();
    let attributes = field(&answer, "Attributes");
    (
        text(field(attributes, "ApproximateNumberOfMessages")).to_string(),
        text(field(attributes, "ApproximateNumberOfMessagesNotVisible")).to_string(),
    )
}

#[test]
fn send_message_returns_a_message_id() {
    let aws = user_aws();
    let id = aws
        .sqs(Deadline::NONE)
        .send_message(&moto().queue_url, &Message::new(r#"{"id":"o-1"}"#))
        .unwrap();
    assert!(!id.is_empty());
}

#[test]
fn a_batch_is_sent_received_and_deleted() {
    let aws = user_aws();
    let queue = new_queue(&aws);
    let sqs = aws.sqs(Deadline::NONE);
    let single = sqs.send_message(&queue, &Message::new("single")).unwrap();
    let bodies = ["first", "second", "third"];
    let batch = sqs
        .send_message_batch(&queue, &bodies.map(Message::new))
        .unwrap();
    assert!(batch.failed.is_empty(), "{:?}", batch.failed);
    let mut indexes: Vec<usize> = batch.successful.iter().map(|(i, _)| *i).collect();
    indexes.sort();
    assert_eq!(indexes, [0, 1, 2]);
    assert!(batch.successful.iter().all(|(_, id)| !id.is_empty()));

    let mut received = Vec::new();
    for _ in 0..10 {
        received.extend(sqs.receive_message(&queue, 10, 0).unwrap());
        if received.len() >= 4 {
            break;
        }
    }
    let mut got: Vec<&str> = received.iter().map(|m| m.body.as_str()).collect();
    got.sort();
    assert_eq!(got, ["first", "second", "single", "third"]);
    let ids: Vec<&str> = received.iter().map(|m| m.message_id.as_str()).collect();
    assert!(ids.contains(&single.as_str()));
    for (_, id) in &batch.successful {
        assert!(ids.contains(&id.as_str()), "{id} not received");
    }

    for message in &received {
        sqs.delete_message(&queue, &message.receipt_handle).unwrap();
    }
    // Gone, not merely in flight.
    assert_eq!(message_counts(&aws, &queue), ("0".into(), "0".into()));
    assert!(sqs.receive_message(&queue, 10, 0).unwrap().is_empty());
}

#[test]
fn a_missing_queue_is_a_400_with_the_code_moto_sends() {
    let aws = user_aws();
    let missing = format!("{}/123456789012/{}", moto().endpoint, unique("none"));
    let e = aws
        .sqs(Deadline::NONE)
        .send_message(&missing, &Message::new("x"))
        .unwrap_err();
    assert!(!e.code.is_empty(), "{e:?}");
    // moto 5.2.1 sends com.amazonaws.sqs#QueueDoesNotExist.
    assert_error(&e, "QueueDoesNotExist", 400);
}
