//! SNS: a notification published to a topic the function subscribes to.
//! Lambda delivers one message per event, in a one-element `Records` array.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use miniserde::Deserialize;

/// The event.
#[derive(Debug, Clone, Deserialize)]
pub struct SnsEvent {
    /// `Records`.
    #[serde(rename = "Records")]
    pub records: Vec<SnsRecord>,
}

/// One delivery.
#[derive(Debug, Clone, Deserialize)]
pub struct SnsRecord {
    /// `EventSource`: `aws:sns`.
    #[serde(rename = "EventSource")]
    pub event_source: String,
    /// `EventVersion`: `1.0`.
    #[serde(rename = "EventVersion")]
    pub event_version: String,
    /// `EventSubscriptionArn`.
    #[serde(rename = "EventSubscriptionArn")]
    pub event_subscription_arn: String,
    /// `Sns`: the message.
    #[serde(rename = "Sns")]
    pub sns: SnsMessage,
}

/// The message, with SNS's capitalised field names.
#[derive(Debug, Clone, Deserialize)]
pub struct SnsMessage {
    /// `Type`: `Notification`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// `MessageId`.
    #[serde(rename = "MessageId")]
    pub message_id: String,
    /// `TopicArn`.
    #[serde(rename = "TopicArn")]
    pub topic_arn: String,
    /// `Subject`: `null` when the publisher set none.
    #[serde(rename = "Subject")]
    pub subject: Option<String>,
    /// `Message`: the text published.
    #[serde(rename = "Message")]
    pub message: String,
    /// `Timestamp`, ISO 8601.
    #[serde(rename = "Timestamp")]
    pub timestamp: String,
    /// `SignatureVersion`.
    #[serde(rename = "SignatureVersion")]
    pub signature_version: String,
    /// `Signature`.
    #[serde(rename = "Signature")]
    pub signature: String,
    /// `SigningCertUrl` (so spelled in Lambda's events).
    #[serde(rename = "SigningCertUrl")]
    pub signing_cert_url: String,
    /// `UnsubscribeUrl`.
    #[serde(rename = "UnsubscribeUrl")]
    pub unsubscribe_url: String,
    /// `MessageAttributes`.
    #[serde(rename = "MessageAttributes")]
    pub message_attributes: Option<BTreeMap<String, SnsMessageAttribute>>,
}

/// A message attribute.
#[derive(Debug, Clone, Deserialize)]
pub struct SnsMessageAttribute {
    /// `Type`: `String`, `String.Array`, `Number` or `Binary`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// `Value`: text (base64 for `Binary`).
    #[serde(rename = "Value")]
    pub value: String,
}
