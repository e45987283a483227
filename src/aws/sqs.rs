//! SQS on its JSON protocol (`AmazonSQS.*`): `SendMessage`,
//! `SendMessageBatch`, `ReceiveMessage` and `DeleteMessage`.
//!
//! ```no_run
//! use tiny_lambda::aws::{Aws, Deadline, sqs::Message};
//!
//! let aws = Aws::from_env()?;
//! let sqs = aws.sqs(Deadline::NONE);
//! let queue = "https://sqs.us-east-1.amazonaws.com/123456789012/orders";
//! sqs.send_message(queue, &Message::new(r#"{"id":"o-1"}"#))?;
//! for received in sqs.receive_message(queue, 10, 20)? {
//!     println!("{}", received.body);
//!     sqs.delete_message(queue, &received.receipt_handle)?;
//! }
//! # Ok::<(), tiny_lambda::aws::Error>(())
//! ```

use std::string::{String, ToString};
use std::time::Duration;
use std::vec::Vec;

use miniserde::json::{Array, Number, Object, Value as Json};

use super::{Aws, Deadline, Error, JsonService};

const SERVICE: JsonService = JsonService {
    name: "sqs",
    variable: "AWS_ENDPOINT_URL_SQS",
    target_prefix: "AmazonSQS.",
    content_type: "application/x-amz-json-1.0",
};

/// A message to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'m> {
    /// The body: up to 1 MiB of text.
    pub body: &'m str,
    /// Seconds before the message can be received (0 to 900).
    pub delay_seconds: Option<u32>,
    /// FIFO queues: the message group.
    pub group_id: Option<&'m str>,
    /// FIFO queues: the deduplication id, unless the queue derives it.
    pub deduplication_id: Option<&'m str>,
}

impl<'m> Message<'m> {
    /// A message with this body and nothing else set.
    pub fn new(body: &'m str) -> Message<'m> {
        Message {
            body,
            delay_seconds: None,
            group_id: None,
            deduplication_id: None,
        }
    }

    fn write(&self, entry: &mut Object) {
        entry.insert(
            "MessageBody".to_string(),
            Json::String(self.body.to_string()),
        );
        if let Some(delay) = self.delay_seconds {
            entry.insert(
                "DelaySeconds".to_string(),
                Json::Number(Number::U64(delay.into())),
            );
        }
        if let Some(group) = self.group_id {
            entry.insert(
                "MessageGroupId".to_string(),
                Json::String(group.to_string()),
            );
        }
        if let Some(id) = self.deduplication_id {
            entry.insert(
                "MessageDeduplicationId".to_string(),
                Json::String(id.to_string()),
            );
        }
    }
}

/// What a batch send did with each message, by its index in the batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchResult {
    /// `(index, message id)` of each message sent.
    pub successful: Vec<(usize, String)>,
    /// Each message refused.
    pub failed: Vec<BatchFailure>,
}

/// A message of a batch that was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchFailure {
    /// Its index in the batch.
    pub index: usize,
    /// The AWS error code.
    pub code: String,
    /// The message.
    pub message: String,
    /// Whether the fault was the sender's (sending again will not help).
    pub sender_fault: bool,
}

/// A message received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Its id.
    pub message_id: String,
    /// What deletes it, valid for this receipt only.
    pub receipt_handle: String,
    /// Its body.
    pub body: String,
}

/// SQS, with the deadline its calls must keep: from [`Aws::sqs`].
pub struct Sqs<'a> {
    aws: &'a Aws,
    deadline: Deadline,
}

impl<'a> Sqs<'a> {
    pub(super) fn new(aws: &'a Aws, deadline: Deadline) -> Sqs<'a> {
        Sqs { aws, deadline }
    }

    /// `SendMessage`: returns the message id.
    pub fn send_message(&self, queue_url: &str, message: &Message) -> Result<String, Error> {
        let mut body = queue_body(queue_url);
        message.write(&mut body);
        let answer = self.call("SendMessage", body, Duration::ZERO)?;
        text_field(&answer, "MessageId", "SendMessage")
    }

    /// `SendMessageBatch`: up to 10 messages in one request. A message the
    /// queue refuses is in [`BatchResult::failed`], not an error.
    pub fn send_message_batch(
        &self,
        queue_url: &str,
        messages: &[Message],
    ) -> Result<BatchResult, Error> {
        let mut body = queue_body(queue_url);
        let mut entries = Array::new();
        for (index, message) in messages.iter().enumerate() {
            let mut entry = Object::new();
            entry.insert("Id".to_string(), Json::String(index.to_string()));
            message.write(&mut entry);
            entries.push(Json::Object(entry));
        }
        body.insert("Entries".to_string(), Json::Array(entries));
        let answer = self.call("SendMessageBatch", body, Duration::ZERO)?;
        let mut result = BatchResult::default();
        for entry in objects(&answer, "Successful", "SendMessageBatch")? {
            let index = index_of(entry, messages.len())?;
            result
                .successful
                .push((index, text_field(entry, "MessageId", "SendMessageBatch")?));
        }
        for entry in objects(&answer, "Failed", "SendMessageBatch")? {
            result.failed.push(BatchFailure {
                index: index_of(entry, messages.len())?,
                code: text_field(entry, "Code", "SendMessageBatch")?,
                message: text_field(entry, "Message", "SendMessageBatch").unwrap_or_default(),
                sender_fault: matches!(entry.get("SenderFault"), Some(Json::Bool(true))),
            });
        }
        Ok(result)
    }

    /// `ReceiveMessage`: up to `max` (1 to 10) messages, waiting up to
    /// `wait_seconds` (0 to 20) for the first.
    pub fn receive_message(
        &self,
        queue_url: &str,
        max: u32,
        wait_seconds: u32,
    ) -> Result<Vec<Received>, Error> {
        let mut body = queue_body(queue_url);
        body.insert(
            "MaxNumberOfMessages".to_string(),
            Json::Number(Number::U64(max.into())),
        );
        body.insert(
            "WaitTimeSeconds".to_string(),
            Json::Number(Number::U64(wait_seconds.into())),
        );
        let answer = self.call(
            "ReceiveMessage",
            body,
            Duration::from_secs(wait_seconds.into()),
        )?;
        objects(&answer, "Messages", "ReceiveMessage")?
            .into_iter()
            .map(|m| {
                Ok(Received {
                    message_id: text_field(m, "MessageId", "ReceiveMessage")?,
                    receipt_handle: text_field(m, "ReceiptHandle", "ReceiveMessage")?,
                    body: text_field(m, "Body", "ReceiveMessage")?,
                })
            })
            .collect()
    }

    /// `DeleteMessage`, by the handle of its receipt.
    pub fn delete_message(&self, queue_url: &str, receipt_handle: &str) -> Result<(), Error> {
        let mut body = queue_body(queue_url);
        body.insert(
            "ReceiptHandle".to_string(),
            Json::String(receipt_handle.to_string()),
        );
        self.call("DeleteMessage", body, Duration::ZERO).map(drop)
    }

    fn call(&self, operation: &str, body: Object, wait: Duration) -> Result<Object, Error> {
        self.aws
            .json_object(self.deadline, &SERVICE, operation, body, wait)
    }
}

fn queue_body(queue_url: &str) -> Object {
    let mut body = Object::new();
    body.insert("QueueUrl".to_string(), Json::String(queue_url.to_string()));
    body
}

fn text_field(object: &Object, field: &str, operation: &str) -> Result<String, Error> {
    match object.get(field) {
        Some(Json::String(text)) => Ok(text.clone()),
        _ => Err(malformed(
            operation,
            &[field, " is missing or not text"].concat(),
        )),
    }
}

fn objects<'o>(object: &'o Object, field: &str, operation: &str) -> Result<Vec<&'o Object>, Error> {
    match object.get(field) {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(list)) => list
            .iter()
            .map(|entry| match entry {
                Json::Object(o) => Ok(o),
                _ => Err(malformed(
                    operation,
                    &[field, " holds something other than objects"].concat(),
                )),
            })
            .collect(),
        Some(_) => Err(malformed(operation, &[field, " is not a list"].concat())),
    }
}

fn index_of(entry: &Object, count: usize) -> Result<usize, Error> {
    let id = text_field(entry, "Id", "SendMessageBatch")?;
    id.parse().ok().filter(|i| *i < count).ok_or_else(|| {
        malformed(
            "SendMessageBatch",
            &["an entry id that was not sent: ", &id].concat(),
        )
    })
}

fn malformed(what: &str, why: &str) -> Error {
    Error::local(
        SERVICE.name,
        "MalformedResponse",
        [what, ": ", why].concat(),
    )
}
