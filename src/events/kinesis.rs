//! Kinesis Data Streams: a batch of records from a shard. Each record's
//! `data` is base64 in the event; [`KinesisRecord::decode_data`] gives the
//! bytes the producer put. Answer with [`BatchResponse`](super::BatchResponse)
//! (by `sequenceNumber`) to report partial failures.

use alloc::string::String;
use alloc::vec::Vec;

use miniserde::Deserialize;

use super::{DecodeError, decode_base64};

/// The event.
#[derive(Debug, Clone, Deserialize)]
pub struct KinesisEvent {
    /// `Records`.
    #[serde(rename = "Records")]
    pub records: Vec<KinesisEventRecord>,
}

/// One record with Lambda's envelope around it.
#[derive(Debug, Clone, Deserialize)]
pub struct KinesisEventRecord {
    /// `kinesis`: the record.
    pub kinesis: KinesisRecord,
    /// `eventSource`: `aws:kinesis`.
    #[serde(rename = "eventSource")]
    pub event_source: String,
    /// `eventVersion`.
    #[serde(rename = "eventVersion")]
    pub event_version: String,
    /// `eventID`: `shardId-…:sequenceNumber`.
    #[serde(rename = "eventID")]
    pub event_id: String,
    /// `eventName`: `aws:kinesis:record`.
    #[serde(rename = "eventName")]
    pub event_name: String,
    /// `invokeIdentityArn`: the role that read the stream.
    #[serde(rename = "invokeIdentityArn")]
    pub invoke_identity_arn: String,
    /// `awsRegion`.
    #[serde(rename = "awsRegion")]
    pub aws_region: String,
    /// `eventSourceARN`: the stream.
    #[serde(rename = "eventSourceARN")]
    pub event_source_arn: String,
}

/// `kinesis` of a record.
#[derive(Debug, Clone, Deserialize)]
pub struct KinesisRecord {
    /// `kinesisSchemaVersion`.
    #[serde(rename = "kinesisSchemaVersion")]
    pub kinesis_schema_version: String,
    /// `partitionKey`.
    #[serde(rename = "partitionKey")]
    pub partition_key: String,
    /// `sequenceNumber`: what [`BatchResponse::fail`](super::BatchResponse::fail) takes.
    #[serde(rename = "sequenceNumber")]
    pub sequence_number: String,
    /// `data`: the payload, base64.
    pub data: String,
    /// `approximateArrivalTimestamp`: seconds since the Unix epoch.
    #[serde(rename = "approximateArrivalTimestamp")]
    pub approximate_arrival_timestamp: f64,
    /// `encryptionType`: `NONE` or `KMS`, when the stream reports it.
    #[serde(rename = "encryptionType")]
    pub encryption_type: Option<String>,
}

impl KinesisRecord {
    /// The payload's bytes, decoded from `data`. Fails, naming `data`, when it
    /// is not base64.
    pub fn decode_data(&self) -> Result<Vec<u8>, DecodeError> {
        decode_base64("data", &self.data)
    }
}
