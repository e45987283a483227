//! API Gateway's Lambda proxy integrations: the REST API event (payload 1.0,
//! also what an HTTP API sends when set to payload format 1.0) and the HTTP
//! API event (payload 2.0), each with the response API Gateway reads back.
//!
//! The two differ in more than names: v1 carries headers and query parameters
//! twice (first value and all values), v2 joins repeated values with commas,
//! keeps the raw query string, and moves cookies out of the headers into an
//! array of their own, in the request and in the response.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use miniserde::json::Value;
use miniserde::ser::Fragment;
use miniserde::{Deserialize, Serialize};

use super::{optional, write_object};

/// A REST API proxy request (payload format 1.0).
#[derive(Debug, Clone, Deserialize)]
pub struct ApiGatewayV1Request {
    /// `version`: `"1.0"` from an HTTP API; absent from a REST API.
    pub version: Option<String>,
    /// `resource`: the matched resource template, e.g. `/orders/{id}`.
    pub resource: String,
    /// `path`: the request path, e.g. `/orders/42`.
    pub path: String,
    /// `httpMethod`.
    #[serde(rename = "httpMethod")]
    pub http_method: String,
    /// `headers`: the last value of each header; `null` when there are none.
    pub headers: Option<BTreeMap<String, String>>,
    /// `multiValueHeaders`: every value of each header.
    #[serde(rename = "multiValueHeaders")]
    pub multi_value_headers: Option<BTreeMap<String, Vec<String>>>,
    /// `queryStringParameters`: the last value of each, decoded.
    #[serde(rename = "queryStringParameters")]
    pub query_string_parameters: Option<BTreeMap<String, String>>,
    /// `multiValueQueryStringParameters`: every value of each, decoded.
    #[serde(rename = "multiValueQueryStringParameters")]
    pub multi_value_query_string_parameters: Option<BTreeMap<String, Vec<String>>>,
    /// `pathParameters`: the values of the resource template's variables.
    #[serde(rename = "pathParameters")]
    pub path_parameters: Option<BTreeMap<String, String>>,
    /// `stageVariables`.
    #[serde(rename = "stageVariables")]
    pub stage_variables: Option<BTreeMap<String, String>>,
    /// `requestContext`.
    #[serde(rename = "requestContext")]
    pub request_context: ApiGatewayV1RequestContext,
    /// `body`: text, or base64 when `isBase64Encoded`; `null` when empty.
    pub body: Option<String>,
    /// `isBase64Encoded`.
    #[serde(rename = "isBase64Encoded")]
    pub is_base64_encoded: bool,
}

/// `requestContext` of a v1 request.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiGatewayV1RequestContext {
    /// `accountId`: the account that owns the API.
    #[serde(rename = "accountId")]
    pub account_id: String,
    /// `apiId`.
    #[serde(rename = "apiId")]
    pub api_id: String,
    /// `requestId`: API Gateway's id for the request (not Lambda's).
    #[serde(rename = "requestId")]
    pub request_id: String,
    /// `extendedRequestId`.
    #[serde(rename = "extendedRequestId")]
    pub extended_request_id: Option<String>,
    /// `stage`: the deployment stage, e.g. `prod`.
    pub stage: String,
    /// `resourceId`.
    #[serde(rename = "resourceId")]
    pub resource_id: Option<String>,
    /// `resourcePath`: the resource template, as in `resource`.
    #[serde(rename = "resourcePath")]
    pub resource_path: Option<String>,
    /// `httpMethod`.
    #[serde(rename = "httpMethod")]
    pub http_method: Option<String>,
    /// `path`: the path including the stage, e.g. `/prod/orders/42`.
    pub path: Option<String>,
    /// `protocol`, e.g. `HTTP/1.1`.
    pub protocol: Option<String>,
    /// `requestTime`, e.g. `09/Apr/2015:12:34:56 +0000`.
    #[serde(rename = "requestTime")]
    pub request_time: Option<String>,
    /// `requestTimeEpoch`: milliseconds since the Unix epoch.
    #[serde(rename = "requestTimeEpoch")]
    pub request_time_epoch: Option<u64>,
    /// `domainName`.
    #[serde(rename = "domainName")]
    pub domain_name: Option<String>,
    /// `domainPrefix`.
    #[serde(rename = "domainPrefix")]
    pub domain_prefix: Option<String>,
    /// `identity`: who called.
    pub identity: Option<ApiGatewayV1Identity>,
    /// `authorizer`: what the authorizer returned. A Cognito user pool
    /// authorizer puts the token's claims under `claims`; a Lambda authorizer
    /// its `principalId` and context keys.
    pub authorizer: Option<BTreeMap<String, Value>>,
}

/// `requestContext.identity` of a v1 request. Most fields are `null` unless
/// the matching kind of authentication was used.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiGatewayV1Identity {
    /// `sourceIp`: the caller's address as API Gateway saw it.
    #[serde(rename = "sourceIp")]
    pub source_ip: Option<String>,
    /// `userAgent`.
    #[serde(rename = "userAgent")]
    pub user_agent: Option<String>,
    /// `accountId` of an IAM caller.
    #[serde(rename = "accountId")]
    pub account_id: Option<String>,
    /// `caller`.
    pub caller: Option<String>,
    /// `user`.
    pub user: Option<String>,
    /// `userArn`.
    #[serde(rename = "userArn")]
    pub user_arn: Option<String>,
    /// `accessKey`.
    #[serde(rename = "accessKey")]
    pub access_key: Option<String>,
    /// `apiKey`.
    #[serde(rename = "apiKey")]
    pub api_key: Option<String>,
    /// `apiKeyId`.
    #[serde(rename = "apiKeyId")]
    pub api_key_id: Option<String>,
    /// `cognitoIdentityId`.
    #[serde(rename = "cognitoIdentityId")]
    pub cognito_identity_id: Option<String>,
    /// `cognitoIdentityPoolId`.
    #[serde(rename = "cognitoIdentityPoolId")]
    pub cognito_identity_pool_id: Option<String>,
    /// `cognitoAuthenticationType`.
    #[serde(rename = "cognitoAuthenticationType")]
    pub cognito_authentication_type: Option<String>,
    /// `cognitoAuthenticationProvider`.
    #[serde(rename = "cognitoAuthenticationProvider")]
    pub cognito_authentication_provider: Option<String>,
}

/// What a v1 integration answers. Fields left `None` are not sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiGatewayV1Response {
    /// `statusCode`.
    pub status_code: u16,
    /// `headers`: one value per header.
    pub headers: Option<BTreeMap<String, String>>,
    /// `multiValueHeaders`: several values per header (several `Set-Cookie`, say).
    /// API Gateway merges them with `headers`.
    pub multi_value_headers: Option<BTreeMap<String, Vec<String>>>,
    /// `body`: text, or base64 when `is_base64_encoded`.
    pub body: Option<String>,
    /// `isBase64Encoded`.
    pub is_base64_encoded: bool,
}

impl Serialize for ApiGatewayV1Response {
    fn begin(&self) -> Fragment<'_> {
        write_object([
            ("statusCode", Some(&self.status_code)),
            ("headers", optional(&self.headers)),
            ("multiValueHeaders", optional(&self.multi_value_headers)),
            ("body", optional(&self.body)),
            ("isBase64Encoded", Some(&self.is_base64_encoded)),
        ])
    }
}

/// An HTTP API proxy request (payload format 2.0).
#[derive(Debug, Clone, Deserialize)]
pub struct ApiGatewayV2Request {
    /// `version`: `"2.0"`.
    pub version: String,
    /// `routeKey`: the matched route, e.g. `POST /orders` or `$default`.
    #[serde(rename = "routeKey")]
    pub route_key: String,
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
    /// `pathParameters`: the values of the route's variables.
    #[serde(rename = "pathParameters")]
    pub path_parameters: Option<BTreeMap<String, String>>,
    /// `stageVariables`.
    #[serde(rename = "stageVariables")]
    pub stage_variables: Option<BTreeMap<String, String>>,
    /// `requestContext`.
    #[serde(rename = "requestContext")]
    pub request_context: ApiGatewayV2RequestContext,
    /// `body`: text, or base64 when `isBase64Encoded`; absent when empty.
    pub body: Option<String>,
    /// `isBase64Encoded`.
    #[serde(rename = "isBase64Encoded")]
    pub is_base64_encoded: bool,
}

/// `requestContext` of a v2 request.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiGatewayV2RequestContext {
    /// `accountId`.
    #[serde(rename = "accountId")]
    pub account_id: String,
    /// `apiId`.
    #[serde(rename = "apiId")]
    pub api_id: String,
    /// `authentication`: the client certificate, with mutual TLS.
    pub authentication: Option<Value>,
    /// `authorizer`: what the route's authorizer found.
    pub authorizer: Option<ApiGatewayV2Authorizer>,
    /// `domainName`.
    #[serde(rename = "domainName")]
    pub domain_name: String,
    /// `domainPrefix`.
    #[serde(rename = "domainPrefix")]
    pub domain_prefix: Option<String>,
    /// `http`: method, path, protocol, source IP, user agent.
    pub http: ApiGatewayV2Http,
    /// `requestId`: API Gateway's id for the request (not Lambda's).
    #[serde(rename = "requestId")]
    pub request_id: String,
    /// `routeKey`.
    #[serde(rename = "routeKey")]
    pub route_key: String,
    /// `stage`, e.g. `$default`.
    pub stage: String,
    /// `time`, e.g. `12/Mar/2020:19:03:58 +0000`.
    pub time: String,
    /// `timeEpoch`: milliseconds since the Unix epoch.
    #[serde(rename = "timeEpoch")]
    pub time_epoch: u64,
}

/// `requestContext.http` of a v2 request.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiGatewayV2Http {
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

/// `requestContext.authorizer` of a v2 request: one of the three kinds.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiGatewayV2Authorizer {
    /// `jwt`: a JWT authorizer's claims and scopes.
    pub jwt: Option<ApiGatewayV2Jwt>,
    /// `iam`: the IAM caller.
    pub iam: Option<BTreeMap<String, Value>>,
    /// `lambda`: the context a Lambda authorizer returned.
    pub lambda: Option<BTreeMap<String, Value>>,
}

/// `requestContext.authorizer.jwt`.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiGatewayV2Jwt {
    /// `claims`: the token's claims.
    pub claims: BTreeMap<String, Value>,
    /// `scopes`.
    pub scopes: Option<Vec<String>>,
}

/// What a v2 integration answers. Fields left `None` are not sent.
///
/// (API Gateway also accepts a bare JSON value as the answer and wraps it in
/// a 200; this type is the explicit form.)
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiGatewayV2Response {
    /// `statusCode`.
    pub status_code: u16,
    /// `headers`: repeated values joined with commas.
    pub headers: Option<BTreeMap<String, String>>,
    /// `cookies`: each becomes a `Set-Cookie` header.
    pub cookies: Option<Vec<String>>,
    /// `body`: text, or base64 when `is_base64_encoded`.
    pub body: Option<String>,
    /// `isBase64Encoded`.
    pub is_base64_encoded: bool,
}

impl Serialize for ApiGatewayV2Response {
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

#[cfg(test)]
mod tests {
    use super::*;
    use miniserde::json;

    #[test]
    fn responses_leave_out_what_is_not_set() {
        let v1 = ApiGatewayV1Response {
            status_code: 204,
            ..Default::default()
        };
        assert_eq!(
            json::to_string(&v1),
            r#"{"statusCode":204,"isBase64Encoded":false}"#
        );
        let v2 = ApiGatewayV2Response {
            status_code: 200,
            cookies: Some(alloc::vec!["a=1".into()]),
            body: Some("hi".into()),
            ..Default::default()
        };
        assert_eq!(
            json::to_string(&v2),
            r#"{"statusCode":200,"cookies":["a=1"],"body":"hi","isBase64Encoded":false}"#
        );
    }
}
