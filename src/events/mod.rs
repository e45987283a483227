//! Event types for the AWS services that invoke Lambda functions, on
//! miniserde: what the event looks like when it arrives, and for the sources
//! that read an answer, what goes back.
//!
//! ```no_run
//! # #[cfg(feature = "events-sqs")]
//! # fn main() {
//! use tiny_lambda::Context;
//! use tiny_lambda::events::BatchResponse;
//! use tiny_lambda::events::sqs::SqsEvent;
//!
//! tiny_lambda::run(|event: SqsEvent, _ctx: &Context| {
//!     let mut answer = BatchResponse::new();
//!     for message in &event.records {
//!         if message.body.is_empty() {
//!             answer.fail(&message.message_id);
//!         }
//!     }
//!     Ok::<_, String>(answer)
//! })
//! # }
//! # #[cfg(not(feature = "events-sqs"))]
//! # fn main() {}
//! ```
//!
//! # How the parts fit
//!
//! One file per source, each behind its own feature, so a bootstrap compiles
//! only the sources it names (none is on by default):
//!
//! | file | feature | what it owns |
//! |---|---|---|
//! | `apigw` | `events-apigw` | API Gateway REST (v1) and HTTP API (v2) requests and responses |
//! | `alb` | `events-alb` | Application Load Balancer target-group requests and responses |
//! | `lambda_url` | `events-lambda-url` | function URL requests and responses |
//! | `sqs` | `events-sqs` | SQS messages (answer with [`BatchResponse`]) |
//! | `sns` | `events-sns` | SNS notifications |
//! | `s3` | `events-s3` | S3 event notifications |
//! | `eventbridge` | `events-eventbridge` | the EventBridge envelope, scheduled events |
//! | `dynamodb` | `events-dynamodb` | DynamoDB Streams records and attribute values |
//! | `kinesis` | `events-kinesis` | Kinesis stream records, with their base64 `data` decoded on request |
//! | `cloudwatch_logs` | `events-cloudwatch-logs` | CloudWatch Logs subscriptions: base64, gzip, then JSON |
//!
//! This file holds what several sources share: [`BatchResponse`], the answer
//! that reports partial batch failures to SQS, Kinesis and DynamoDB Streams,
//! and [`DecodeError`] for payloads that come wrapped in base64 or gzip.
//!
//! # Conventions
//!
//! - **Field names are AWS's.** Rust fields are snake_case; each one that
//!   differs carries `#[serde(rename = "...")]` with the exact JSON name, so
//!   the types can be held against the AWS documentation.
//! - **What AWS may omit or send as `null` is an `Option`.** miniserde reads
//!   a missing `Option` field as `None`; every other field must be there.
//! - **Unknown fields are ignored**, so a field AWS adds tomorrow never breaks
//!   a parse. Those fields are dropped, not kept.
//! - **What goes back to AWS never says `null`** where AWS does not expect it:
//!   the response types write their `None` fields by leaving them out (see
//!   `write_object`), because miniserde's derive would write `null`.
//! - **Open-ended data is a [`Value`](miniserde::json::Value)**: authorizer
//!   contexts, EventBridge details you do not type yourself.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use miniserde::{Deserialize, Serialize};
// The writer of the HTTP answers, which only those three sources have.
#[cfg(any(
    feature = "events-apigw",
    feature = "events-alb",
    feature = "events-lambda-url"
))]
use {
    alloc::borrow::Cow,
    alloc::boxed::Box,
    miniserde::ser::{Fragment, Map},
};

#[cfg(feature = "events-alb")]
pub mod alb;
#[cfg(feature = "events-apigw")]
pub mod apigw;
#[cfg(feature = "events-cloudwatch-logs")]
pub mod cloudwatch_logs;
#[cfg(feature = "events-dynamodb")]
pub mod dynamodb;
#[cfg(feature = "events-eventbridge")]
pub mod eventbridge;
#[cfg(feature = "events-kinesis")]
pub mod kinesis;
#[cfg(feature = "events-lambda-url")]
pub mod lambda_url;
#[cfg(feature = "events-s3")]
pub mod s3;
#[cfg(feature = "events-sns")]
pub mod sns;
#[cfg(feature = "events-sqs")]
pub mod sqs;

/// The answer of a function that handles a batch (SQS, Kinesis, DynamoDB
/// Streams) with `ReportBatchItemFailures` turned on in its event source
/// mapping: the items that failed, to be delivered again. An empty list means
/// the whole batch succeeded.
///
/// The identifier is the SQS `messageId`, or the Kinesis or DynamoDB
/// `sequenceNumber` (for streams, Lambda retries from the lowest one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResponse {
    /// `batchItemFailures`.
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<BatchItemFailure>,
}

/// One failed item of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchItemFailure {
    /// `itemIdentifier`: a message id or a sequence number.
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

impl BatchResponse {
    /// An answer that fails nothing: the whole batch succeeded. (Also
    /// `Default`, but with miniserde's `Deserialize` in scope `default` is
    /// ambiguous.)
    pub fn new() -> BatchResponse {
        BatchResponse {
            batch_item_failures: Vec::new(),
        }
    }

    /// Report the item with this identifier as failed.
    pub fn fail(&mut self, item_identifier: &str) {
        self.batch_item_failures.push(BatchItemFailure {
            item_identifier: item_identifier.into(),
        });
    }
}

/// A payload inside an event that could not be unwrapped: which field, and at
/// which layer (base64, gzip, JSON) it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The field is not valid standard base64.
    Base64 {
        /// The JSON name of the field.
        field: &'static str,
        /// What the decoder said.
        why: String,
    },
    /// The field's bytes are not a gzip stream.
    Gzip {
        /// The JSON name of the field.
        field: &'static str,
        /// Which part of the gzip frame was wrong.
        why: String,
    },
    /// The unwrapped bytes are not the JSON the source documents.
    Json {
        /// The JSON name of the field.
        field: &'static str,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Base64 { field, why } => write!(f, "{field} is not base64: {why}"),
            DecodeError::Gzip { field, why } => write!(f, "{field} is not gzip: {why}"),
            DecodeError::Json { field } => {
                write!(f, "{field} does not hold the JSON its source documents")
            }
        }
    }
}

impl core::error::Error for DecodeError {}

/// Standard base64 (with padding), the alphabet every AWS event uses.
#[cfg(any(feature = "events-kinesis", feature = "events-cloudwatch-logs"))]
pub(crate) fn decode_base64(field: &'static str, text: &str) -> Result<Vec<u8>, DecodeError> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| DecodeError::Base64 {
            field,
            why: alloc::format!("{e}"),
        })
}

/// Decode `%XX` escapes (and `+` as a space when `plus_is_space`, as in
/// form-encoded query strings and S3 keys). A `%` not followed by two hex
/// digits stays as it is; bytes that are not UTF-8 become U+FFFD.
#[cfg(any(feature = "events-s3", feature = "http-adapter"))]
pub(crate) fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|&b| (b as char).to_digit(16));
        match bytes[i] {
            b'%' => {
                if let (Some(hi), Some(lo)) = (hex(i + 1), hex(i + 2)) {
                    out.push((hi * 16 + lo) as u8);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Write a JSON object from `(name, value)` pairs, leaving out the `None`s.
///
/// miniserde's derive writes an `Option`'s `None` as `null`; the response
/// types that go back to AWS use this instead, so AWS sees a field either
/// with a value or not at all.
#[cfg(any(
    feature = "events-apigw",
    feature = "events-alb",
    feature = "events-lambda-url"
))]
pub(crate) fn write_object<'a, const N: usize>(
    fields: [(&'static str, Option<&'a dyn Serialize>); N],
) -> Fragment<'a> {
    Fragment::Map(Box::new(Fields { fields, next: 0 }))
}

/// An `Option` field for [`write_object`]: present when `Some`.
#[cfg(any(
    feature = "events-apigw",
    feature = "events-alb",
    feature = "events-lambda-url"
))]
pub(crate) fn optional<T: Serialize>(value: &Option<T>) -> Option<&dyn Serialize> {
    value.as_ref().map(|v| v as &dyn Serialize)
}

#[cfg(any(
    feature = "events-apigw",
    feature = "events-alb",
    feature = "events-lambda-url"
))]
struct Fields<'a, const N: usize> {
    fields: [(&'static str, Option<&'a dyn Serialize>); N],
    next: usize,
}

#[cfg(any(
    feature = "events-apigw",
    feature = "events-alb",
    feature = "events-lambda-url"
))]
impl<const N: usize> Map for Fields<'_, N> {
    fn next(&mut self) -> Option<(Cow<'_, str>, &dyn Serialize)> {
        while let Some(&(name, value)) = self.fields.get(self.next) {
            self.next += 1;
            if let Some(value) = value {
                return Some((Cow::Borrowed(name), value));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use miniserde::json;

    /// The miniserde behaviour every type in this module relies on.
    #[derive(Debug, Deserialize, Serialize)]
    struct Probe {
        #[serde(rename = "camelName")]
        camel_name: String,
        maybe: Option<u32>,
        map: Option<BTreeMap<String, String>>,
    }

    #[test]
    fn miniserde_renames_ignores_unknown_fields_and_reads_missing_options_as_none() {
        let p: Probe = json::from_str(r#"{"camelName":"x","extra":{"deep":[1,2]}}"#).unwrap();
        assert_eq!(p.camel_name, "x");
        assert_eq!(p.maybe, None);
        assert!(p.map.is_none());
        let p: Probe = json::from_str(r#"{"camelName":"x","maybe":null,"map":null}"#).unwrap();
        assert!(p.maybe.is_none() && p.map.is_none());
        // A missing required field fails the parse.
        assert!(json::from_str::<Probe>(r#"{"maybe":1}"#).is_err());
        // And the derive writes None as null: why `write_object` exists.
        assert_eq!(
            json::to_string(&p),
            r#"{"camelName":"x","maybe":null,"map":null}"#
        );
    }

    #[test]
    fn numbers_read_back_exact_when_integral_and_within_rounding_otherwise() {
        // Integers that fit 64 bits are exact, both ways.
        for text in ["18446744073709551615", "-9223372036854775808", "0"] {
            let value: json::Value = json::from_str(text).unwrap();
            assert_eq!(json::to_string(&value), text);
        }
        // From fuzz/json: miniserde scales decimals by powers of ten, which is
        // not correctly rounded, so a long number can come back one unit in
        // the last place away after a round trip. Close, never wrong by more.
        let read = |text: &str| match json::from_str(text).unwrap() {
            json::Value::Number(json::Number::F64(f)) => f,
            other => panic!("{other:?} is not a float"),
        };
        let first = read("-3333300000010000008451313987993094165");
        let again = read(&json::to_string(&first));
        assert!(
            (first - again).abs() <= 1e-15 * first.abs(),
            "{first} / {again}"
        );
        assert!((first + 3.33330000001e36).abs() <= 1e-15 * first.abs());
    }

    struct Answer {
        a: u32,
        b: Option<String>,
        c: Option<bool>,
    }

    impl Serialize for Answer {
        fn begin(&self) -> Fragment<'_> {
            write_object([
                ("a", Some(&self.a)),
                ("b", optional(&self.b)),
                ("c", optional(&self.c)),
            ])
        }
    }

    #[test]
    fn write_object_leaves_out_nones() {
        let answer = Answer {
            a: 1,
            b: None,
            c: Some(true),
        };
        assert_eq!(json::to_string(&answer), r#"{"a":1,"c":true}"#);
    }

    #[cfg(any(feature = "events-s3", feature = "http-adapter"))]
    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Fb+c%20d", true), "a/b c d");
        assert_eq!(percent_decode("a+b", false), "a+b");
        assert_eq!(percent_decode("100%", true), "100%");
        assert_eq!(percent_decode("%zz%4", true), "%zz%4");
        assert_eq!(percent_decode("caf%C3%A9", true), "café");
        assert_eq!(percent_decode("%FF", true), "\u{FFFD}");
    }

    #[test]
    fn batch_response_names_failures_as_aws_reads_them() {
        let mut answer = BatchResponse::new();
        assert_eq!(json::to_string(&answer), r#"{"batchItemFailures":[]}"#);
        answer.fail("m-2");
        assert_eq!(
            json::to_string(&answer),
            r#"{"batchItemFailures":[{"itemIdentifier":"m-2"}]}"#
        );
    }
}
