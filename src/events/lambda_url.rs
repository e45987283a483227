//! Function URLs: the request Lambda builds from an HTTPS call to
//! `https://<url-id>.lambda-url.<region>.on.aws/` and the response it reads
//! back.
//!
//! The shape is API Gateway's payload 2.0 (see `apigw`), with differences:
//! `requestContext.domainName` ends in `.lambda-url.<region>.on.aws`, there
//! are no path parameters or stage variables (both `null`), route key and
//! stage are always `$default`, and the only authorizer is IAM (`AWS_IAM`
//! auth type). This module stands alone, so a function behind a URL compiles
//! nothing of API Gateway's.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use miniserde::json::Value;
use miniserde::ser::Fragment;
use miniserde::{Deserialize, Serialize};

use super::{optional, write_object};

/// A function URL request.
#[derive(Debug, Clone, Deserialize)]
pub struct LambdaFunctionUrlRequest {
    /// `version`: `"2.0"`.
    pub version: String,
    /// `rawPath`: the request path, not decoded.
    #[serde(rename = "rawPath")]
    pub raw_path: String,
    /// `rawQueryString`: the query string as sent, without `?`; may be empty.
    #[serde(rename = "rawQueryString")]
    pub raw_query_string: String,
    /// `cookies`: each `name=value` of the `Cookie` header.
    pub cookies: Option<Vec<String>>,
    /// `headers`: names lower-cased, repeated values joined with commas.
    pub headers: Option<BTreeMap<String, String>>,
    /// `queryStringParameters`: repeated values joined with commas.
    #[serde(rename = "queryStringParameters")]
    pub query_string_parameters: Option<BTreeMap<String, String>>,
    /// `requestContext`.
    #[serde(rename = "requestContext")]
    pub request_context: LambdaFunctionUrlRequestContext,
    /// `body`: text, or base64 when `isBase64Encoded`; absent when empty.
    pub body: Option<String>,
    /// `isBase64Encoded`.
    #[serde(rename = "isBase64Encoded")]
    pub is_base64_encoded: bool,
}

/// `requestContext` of a function URL request.
#[derive(Debug, Clone, Deserialize)]
pub struct LambdaFunctionUrlRequestContext {
    /// `accountId`: the caller's account with IAM auth, else `anonymous`.
    #[serde(rename = "accountId")]
    pub account_id: String,
    /// `apiId`: the URL id.
    #[serde(rename = "apiId")]
    pub api_id: String,
    /// `authorizer`: the IAM caller, with the `AWS_IAM` auth type.
    pub authorizer: Option<LambdaFunctionUrlAuthorizer>,
    /// `domainName`: `<url-id>.lambda-url.<region>.on.aws`.
    #[serde(rename = "domainName")]
    pub domain_name: String,
    /// `domainPrefix`: the URL id.
    #[serde(rename = "domainPrefix")]
    pub domain_prefix: Option<String>,
    /// `http`: method, path, protocol, source IP, user agent.
    pub http: LambdaFunctionUrlHttp,
    /// `requestId`.
    #[serde(rename = "requestId")]
    pub request_id: String,
    /// `routeKey`: `$default`.
    #[serde(rename = "routeKey")]
    pub route_key: Option<String>,
    /// `stage`: `$default`.
    pub stage: Option<String>,
    /// `time`, e.g. `12/Mar/2020:19:03:58 +0000`.
    pub time: String,
    /// `timeEpoch`: milliseconds since the Unix epoch.
    #[serde(rename = "timeEpoch")]
    pub time_epoch: u64,
}

/// `requestContext.http` of a function URL request.
#[derive(Debug, Clone, Deserialize)]
pub struct LambdaFunctionUrlHttp {
    /// `method`.
    pub method: String,
    /// `path`.
    pub path: String,
    /// `protocol`.
    pub protocol: String,
    /// `sourceIp`.
    #[serde(rename = "sourceIp")]
    pub source_ip: String,
    /// `userAgent`.
    #[serde(rename = "userAgent")]
    pub user_agent: String,
}

/// `requestContext.authorizer` of a function URL request.
#[derive(Debug, Clone, Deserialize)]
pub struct LambdaFunctionUrlAuthorizer {
    /// `iam`: the signed caller.
    pub iam: Option<LambdaFunctionUrlIam>,
}

/// `requestContext.authorizer.iam`: who signed the request.
#[derive(Debug, Clone, Deserialize)]
pub struct LambdaFunctionUrlIam {
    /// `accessKey`.
    #[serde(rename = "accessKey")]
    pub access_key: Option<String>,
    /// `accountId`.
    #[serde(rename = "accountId")]
    pub account_id: Option<String>,
    /// `callerId`.
    #[serde(rename = "callerId")]
    pub caller_id: Option<String>,
    /// `cognitoIdentity`.
    #[serde(rename = "cognitoIdentity")]
    pub cognito_identity: Option<Value>,
    /// `principalOrgId`.
    #[serde(rename = "principalOrgId")]
    pub principal_org_id: Option<String>,
    /// `userArn`.
    #[serde(rename = "userArn")]
    pub user_arn: Option<String>,
    /// `userId`.
    #[serde(rename = "userId")]
    pub user_id: Option<String>,
}

impl LambdaFunctionUrlRequestContext {
    /// True when `domain_name` is a function URL's (`<url-id>.lambda-url.<region>.on.aws`):
    /// what tells a function URL request from an API Gateway v2 one. Only the
    /// `.lambda-url.` label is checked, so partitions with other top-level
    /// domains are recognised too.
    pub fn is_function_url(domain_name: &str) -> bool {
        domain_name.contains(".lambda-url.")
    }
}

/// What a function answers a function URL. Fields left `None` are not sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LambdaFunctionUrlResponse {
    /// `statusCode`.
    pub status_code: u16,
    /// `headers`.
    pub headers: Option<BTreeMap<String, String>>,
    /// `cookies`: each becomes a `Set-Cookie` header.
    pub cookies: Option<Vec<String>>,
    /// `body`: text, or base64 when `is_base64_encoded`.
    pub body: Option<String>,
    /// `isBase64Encoded`.
    pub is_base64_encoded: bool,
}

impl Serialize for LambdaFunctionUrlResponse {
    fn begin(&self) -> Fragment<'_> {
        write_object([
            ("statusCode", Some(&self.status_code)),
            ("headers", optional(&self.headers)),
            ("cookies", optional(&self.cookies)),
            ("body", optional(&self.body)),
            ("isBase64Encoded", Some(&self.is_base64_encoded)),
        ])
    }
}
