//! SQS: a batch of messages from a queue. Answer with
//! [`BatchResponse`](super::BatchResponse) to fail only some of them (the
//! event source mapping needs `ReportBatchItemFailures`); any other successful
//! answer deletes the whole batch, and an error returns it all to the queue.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use miniserde::Deserialize;

/// The event: up to the mapping's batch size of messages.
#[derive(Debug, Clone, Deserialize)]
pub struct SqsEvent {
    /// `Records`.
    #[serde(rename = "Records")]
    pub records: Vec<SqsMessage>,
}

/// One message.
#[derive(Debug, Clone, Deserialize)]
pub struct SqsMessage {
    /// `messageId`: what [`BatchResponse::fail`](super::BatchResponse::fail) takes.
    #[serde(rename = "messageId")]
    pub message_id: String,
    /// `receiptHandle`: to delete or change the visibility of this receipt.
    #[serde(rename = "receiptHandle")]
    pub receipt_handle: String,
    /// `body`: the message as sent, text.
    pub body: String,
    /// `attributes`: SQS's own, e.g. `ApproximateReceiveCount`, `SentTimestamp`,
    /// `MessageGroupId` (FIFO queues). All values are strings.
    pub attributes: BTreeMap<String, String>,
    /// `messageAttributes`: the sender's.
    #[serde(rename = "messageAttributes")]
    pub message_attributes: BTreeMap<String, SqsMessageAttribute>,
    /// `md5OfBody`.
    #[serde(rename = "md5OfBody")]
    pub md5_of_body: String,
    /// `md5OfMessageAttributes`: absent when there are none.
    #[serde(rename = "md5OfMessageAttributes")]
    pub md5_of_message_attributes: Option<String>,
    /// `eventSource`: `aws:sqs`.
    #[serde(rename = "eventSource")]
    pub event_source: String,
    /// `eventSourceARN`: the queue.
    #[serde(rename = "eventSourceARN")]
    pub event_source_arn: String,
    /// `awsRegion`.
    #[serde(rename = "awsRegion")]
    pub aws_region: String,
}

/// A message attribute: its data type and one of the value kinds.
#[derive(Debug, Clone, Deserialize)]
pub struct SqsMessageAttribute {
    /// `stringValue`, for `String` and `Number` types.
    #[serde(rename = "stringValue")]
    pub string_value: Option<String>,
    /// `binaryValue`: base64.
    #[serde(rename = "binaryValue")]
    pub binary_value: Option<String>,
    /// `stringListValues` (reserved by SQS, empty today).
    #[serde(rename = "stringListValues")]
    pub string_list_values: Option<Vec<String>>,
    /// `binaryListValues` (reserved by SQS, empty today).
    #[serde(rename = "binaryListValues")]
    pub binary_list_values: Option<Vec<String>>,
    /// `dataType`: `String`, `Number` or `Binary`, with an optional `.suffix`.
    #[serde(rename = "dataType")]
    pub data_type: String,
}
