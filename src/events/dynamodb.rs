//! DynamoDB Streams: a batch of item-level changes to a table, each with its
//! keys and, as the stream's view type allows, the item before and after.
//! Answer with [`BatchResponse`](super::BatchResponse) (by `SequenceNumber`)
//! to report partial failures.
//!
//! Items come in DynamoDB's typed JSON, `{"S": "text"}`, `{"N": "42"}`,
//! `{"M": {...}}` and so on: [`AttributeValue`] holds that form, and
//! [`AttributeValue::get`] tells which kind it is.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use miniserde::Deserialize;

/// An item, or its keys: attribute name to value.
pub type Item = BTreeMap<String, AttributeValue>;

/// The event.
#[derive(Debug, Clone, Deserialize)]
pub struct DynamoDbEvent {
    /// `Records`.
    #[serde(rename = "Records")]
    pub records: Vec<DynamoDbRecord>,
}

/// One change.
#[derive(Debug, Clone, Deserialize)]
pub struct DynamoDbRecord {
    /// `eventID`.
    #[serde(rename = "eventID")]
    pub event_id: String,
    /// `eventName`: `INSERT`, `MODIFY` or `REMOVE`.
    #[serde(rename = "eventName")]
    pub event_name: String,
    /// `eventVersion`.
    #[serde(rename = "eventVersion")]
    pub event_version: String,
    /// `eventSource`: `aws:dynamodb`.
    #[serde(rename = "eventSource")]
    pub event_source: String,
    /// `awsRegion`.
    #[serde(rename = "awsRegion")]
    pub aws_region: String,
    /// `dynamodb`: the change itself.
    pub dynamodb: StreamRecord,
    /// `eventSourceARN`: the stream.
    #[serde(rename = "eventSourceARN")]
    pub event_source_arn: String,
    /// `userIdentity`: present when DynamoDB's time to live removed the item.
    #[serde(rename = "userIdentity")]
    pub user_identity: Option<DynamoDbUserIdentity>,
}

/// `dynamodb` of a record, with DynamoDB's capitalised field names.
#[derive(Debug, Clone, Deserialize)]
pub struct StreamRecord {
    /// `ApproximateCreationDateTime`: seconds since the Unix epoch.
    #[serde(rename = "ApproximateCreationDateTime")]
    pub approximate_creation_date_time: Option<f64>,
    /// `Keys`: the item's primary key.
    #[serde(rename = "Keys")]
    pub keys: Item,
    /// `NewImage`: the item after, with the `NEW_IMAGE` or `NEW_AND_OLD_IMAGES` view.
    #[serde(rename = "NewImage")]
    pub new_image: Option<Item>,
    /// `OldImage`: the item before, with the `OLD_IMAGE` or `NEW_AND_OLD_IMAGES` view.
    #[serde(rename = "OldImage")]
    pub old_image: Option<Item>,
    /// `SequenceNumber`: what [`BatchResponse::fail`](super::BatchResponse::fail) takes.
    #[serde(rename = "SequenceNumber")]
    pub sequence_number: String,
    /// `SizeBytes`.
    #[serde(rename = "SizeBytes")]
    pub size_bytes: u64,
    /// `StreamViewType`.
    #[serde(rename = "StreamViewType")]
    pub stream_view_type: String,
}

/// `userIdentity` of a record removed by time to live.
#[derive(Debug, Clone, Deserialize)]
pub struct DynamoDbUserIdentity {
    /// `type`: `Service`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `principalId`: `dynamodb.amazonaws.com`.
    #[serde(rename = "principalId")]
    pub principal_id: String,
}

/// One attribute value in DynamoDB's typed JSON: exactly one field is set.
/// Numbers stay strings, as DynamoDB sends them, so no precision is lost;
/// binaries stay base64.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct AttributeValue {
    /// `S`: a string.
    #[serde(rename = "S")]
    pub s: Option<String>,
    /// `N`: a number, as text.
    #[serde(rename = "N")]
    pub n: Option<String>,
    /// `B`: a binary, base64.
    #[serde(rename = "B")]
    pub b: Option<String>,
    /// `SS`: a string set.
    #[serde(rename = "SS")]
    pub ss: Option<Vec<String>>,
    /// `NS`: a number set.
    #[serde(rename = "NS")]
    pub ns: Option<Vec<String>>,
    /// `BS`: a binary set.
    #[serde(rename = "BS")]
    pub bs: Option<Vec<String>>,
    /// `M`: a map.
    #[serde(rename = "M")]
    pub m: Option<BTreeMap<String, AttributeValue>>,
    /// `L`: a list.
    #[serde(rename = "L")]
    pub l: Option<Vec<AttributeValue>>,
    /// `NULL`: `true`.
    #[serde(rename = "NULL")]
    pub null: Option<bool>,
    /// `BOOL`.
    #[serde(rename = "BOOL")]
    pub bool: Option<bool>,
}

/// Which kind an [`AttributeValue`] is, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Attribute<'a> {
    /// `S`.
    S(&'a str),
    /// `N`, as text.
    N(&'a str),
    /// `B`, base64.
    B(&'a str),
    /// `SS`.
    Ss(&'a [String]),
    /// `NS`, as text.
    Ns(&'a [String]),
    /// `BS`, base64.
    Bs(&'a [String]),
    /// `M`.
    M(&'a BTreeMap<String, AttributeValue>),
    /// `L`.
    L(&'a [AttributeValue]),
    /// `NULL`.
    Null,
    /// `BOOL`.
    Bool(bool),
    /// None of the kinds above: `{}`, or a kind DynamoDB added later.
    Unknown,
}

impl AttributeValue {
    /// The kind of value this is, and the value.
    pub fn get(&self) -> Attribute<'_> {
        if let Some(s) = &self.s {
            Attribute::S(s)
        } else if let Some(n) = &self.n {
            Attribute::N(n)
        } else if let Some(b) = &self.b {
            Attribute::B(b)
        } else if let Some(ss) = &self.ss {
            Attribute::Ss(ss)
        } else if let Some(ns) = &self.ns {
            Attribute::Ns(ns)
        } else if let Some(bs) = &self.bs {
            Attribute::Bs(bs)
        } else if let Some(m) = &self.m {
            Attribute::M(m)
        } else if let Some(l) = &self.l {
            Attribute::L(l)
        } else if let Some(b) = self.bool {
            Attribute::Bool(b)
        } else if self.null == Some(true) {
            Attribute::Null
        } else {
            Attribute::Unknown
        }
    }

    /// The string, if this is an `S`.
    pub fn as_s(&self) -> Option<&str> {
        self.s.as_deref()
    }

    /// The number's text, if this is an `N`: parse it to the type you need.
    pub fn as_n(&self) -> Option<&str> {
        self.n.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use miniserde::json;

    #[test]
    fn attribute_values_say_their_kind() {
        let item: Item = json::from_str(
            r#"{"a":{"S":"x"},"b":{"N":"1.5"},"c":{"BOOL":false},"d":{"NULL":true},
                "e":{"L":[{"S":"y"},{"M":{"f":{"NS":["1","2"]}}}]},"g":{}}"#,
        )
        .unwrap();
        assert_eq!(item["a"].get(), Attribute::S("x"));
        assert_eq!(item["b"].as_n(), Some("1.5"));
        assert_eq!(item["c"].get(), Attribute::Bool(false));
        assert_eq!(item["d"].get(), Attribute::Null);
        let Attribute::L(list) = item["e"].get() else {
            panic!("{:?}", item["e"]);
        };
        assert_eq!(list[0].as_s(), Some("y"));
        let Attribute::M(map) = list[1].get() else {
            panic!("{:?}", list[1]);
        };
        assert_eq!(map["f"].get(), Attribute::Ns(&["1".into(), "2".into()]));
        assert_eq!(item["g"].get(), Attribute::Unknown);
    }
}
