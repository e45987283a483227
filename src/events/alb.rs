//! Application Load Balancer target groups with a Lambda target: the request
//! the load balancer sends and the response it reads back.
//!
//! A target group sends either single-value `headers` and
//! `queryStringParameters`, or (with the target group attribute
//! `lambda.multi_value_headers.enabled`) `multiValueHeaders` and
//! `multiValueQueryStringParameters`, never both; it then reads the response
//! headers from the same kind of field. Unlike API Gateway, the load balancer
//! does not decode query parameters: they arrive percent-encoded, as sent.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use miniserde::ser::Fragment;
use miniserde::{Deserialize, Serialize};

use super::{optional, write_object};

/// A request from a load balancer.
#[derive(Debug, Clone, Deserialize)]
pub struct AlbTargetGroupRequest {
    /// `requestContext`: which target group sent it.
    #[serde(rename = "requestContext")]
    pub request_context: AlbTargetGroupRequestContext,
    /// `httpMethod`.
    #[serde(rename = "httpMethod")]
    pub http_method: String,
    /// `path`.
    pub path: String,
    /// `queryStringParameters`: percent-encoded as sent.
    #[serde(rename = "queryStringParameters")]
    pub query_string_parameters: Option<BTreeMap<String, String>>,
    /// `multiValueQueryStringParameters`: percent-encoded as sent.
    #[serde(rename = "multiValueQueryStringParameters")]
    pub multi_value_query_string_parameters: Option<BTreeMap<String, Vec<String>>>,
    /// `headers`: names lower-cased.
    pub headers: Option<BTreeMap<String, String>>,
    /// `multiValueHeaders`: names lower-cased.
    #[serde(rename = "multiValueHeaders")]
    pub multi_value_headers: Option<BTreeMap<String, Vec<String>>>,
    /// `body`: text, or base64 when `isBase64Encoded`; `""` when empty.
    pub body: Option<String>,
    /// `isBase64Encoded`.
    #[serde(rename = "isBase64Encoded")]
    pub is_base64_encoded: bool,
}

/// `requestContext` of an ALB request.
#[derive(Debug, Clone, Deserialize)]
pub struct AlbTargetGroupRequestContext {
    /// `elb`.
    pub elb: ElbContext,
}

/// `requestContext.elb`.
#[derive(Debug, Clone, Deserialize)]
pub struct ElbContext {
    /// `targetGroupArn`.
    #[serde(rename = "targetGroupArn")]
    pub target_group_arn: String,
}

/// What a Lambda target answers a load balancer. Fields left `None` are not
/// sent. Answer with `multi_value_headers` exactly when the request came with
/// `multiValueHeaders`: the load balancer reads only the kind it sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlbTargetGroupResponse {
    /// `statusCode`.
    pub status_code: u16,
    /// `statusDescription`, e.g. `200 OK`: the load balancer's status line.
    pub status_description: Option<String>,
    /// `headers`: one value per header.
    pub headers: Option<BTreeMap<String, String>>,
    /// `multiValueHeaders`: several values per header.
    pub multi_value_headers: Option<BTreeMap<String, Vec<String>>>,
    /// `body`: text, or base64 when `is_base64_encoded`.
    pub body: Option<String>,
    /// `isBase64Encoded`.
    pub is_base64_encoded: bool,
}

impl Serialize for AlbTargetGroupResponse {
    fn begin(&self) -> Fragment<'_> {
        write_object([
            ("statusCode", Some(&self.status_code)),
            ("statusDescription", optional(&self.status_description)),
            ("headers", optional(&self.headers)),
            ("multiValueHeaders", optional(&self.multi_value_headers)),
            ("body", optional(&self.body)),
            ("isBase64Encoded", Some(&self.is_base64_encoded)),
        ])
    }
}
