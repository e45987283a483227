//! From a [`Response`] to the JSON the front door that sent the request
//! reads back. Each source has its own shape:
//!
//! | source | headers | cookies | extra |
//! |---|---|---|---|
//! | API Gateway v1 | `multiValueHeaders` | `set-cookie` values in `multiValueHeaders` | |
//! | API Gateway v2, function URL | `headers`, repeats joined with `, ` | `cookies` | |
//! | ALB, multi-value headers on | `multiValueHeaders` | `set-cookie` values in `multiValueHeaders` | `statusDescription` |
//! | ALB, multi-value headers off | `headers` | one `set-cookie` header (see below) | `statusDescription` |
//!
//! A [`Body::Binary`] goes out base64-encoded with `isBase64Encoded: true`;
//! text goes out as it is. Header names go out lower-cased, so two spellings
//! of one name become one header.

use std::collections::BTreeMap;
use std::format;
use std::string::String;
use std::vec::Vec;

use base64::Engine as _;
use miniserde::json;

use super::request::Source;
use super::response::{Body, Response};
use crate::events::alb::AlbTargetGroupResponse;
use crate::events::apigw::{ApiGatewayV1Response, ApiGatewayV2Response};
use crate::events::lambda_url::LambdaFunctionUrlResponse;

/// The answer to a request from `source`, as JSON bytes.
pub(crate) fn answer(source: Source, response: Response) -> Vec<u8> {
    let status = response.status;
    let (body, is_base64_encoded) = match response.body {
        Body::Empty => (String::new(), false),
        Body::Text(text) => (text, false),
        Body::Binary(bytes) => (
            base64::engine::general_purpose::STANDARD.encode(bytes),
            true,
        ),
    };
    let body = Some(body);
    let mut multi = multi_value(&response.headers.iter().collect::<Vec<_>>());
    // Cookies set as headers join the others: each source has one place for them.
    let mut cookies = response.cookies;
    cookies.extend(multi.remove("set-cookie").unwrap_or_default());
    let json = match source {
        Source::ApiGatewayV1 => {
            add_set_cookies(&mut multi, cookies);
            json::to_string(&ApiGatewayV1Response {
                status_code: status,
                headers: None,
                multi_value_headers: Some(multi),
                body,
                is_base64_encoded,
            })
        }
        Source::ApiGatewayV2 => json::to_string(&ApiGatewayV2Response {
            status_code: status,
            headers: Some(joined(multi)),
            cookies: cookies_field(cookies),
            body,
            is_base64_encoded,
        }),
        Source::FunctionUrl => json::to_string(&LambdaFunctionUrlResponse {
            status_code: status,
            headers: Some(joined(multi)),
            cookies: cookies_field(cookies),
            body,
            is_base64_encoded,
        }),
        Source::Alb {
            multi_value_headers: true,
        } => {
            add_set_cookies(&mut multi, cookies);
            json::to_string(&AlbTargetGroupResponse {
                status_code: status,
                status_description: Some(status_description(status)),
                headers: None,
                multi_value_headers: Some(multi),
                body,
                is_base64_encoded,
            })
        }
        Source::Alb {
            multi_value_headers: false,
        } => {
            // One value per header name: a second Set-Cookie has no place.
            if cookies.len() > 1 {
                log::warn!(
                    "{} cookies set, but an ALB without multi-value headers takes one: \
                     only the first is sent (turn on lambda.multi_value_headers.enabled)",
                    cookies.len()
                );
            }
            let mut headers = joined(multi);
            if let Some(first) = cookies.into_iter().next() {
                headers.insert("set-cookie".into(), first);
            }
            json::to_string(&AlbTargetGroupResponse {
                status_code: status,
                status_description: Some(status_description(status)),
                headers: Some(headers),
                multi_value_headers: None,
                body,
                is_base64_encoded,
            })
        }
    };
    json.into_bytes()
}

/// The headers as lower-cased name to every value, in order.
fn multi_value(headers: &[(&str, &str)]) -> BTreeMap<String, Vec<String>> {
    let mut multi: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in headers {
        multi
            .entry(name.to_ascii_lowercase())
            .or_default()
            .push(String::from(*value));
    }
    multi
}

fn add_set_cookies(multi: &mut BTreeMap<String, Vec<String>>, cookies: Vec<String>) {
    if !cookies.is_empty() {
        multi
            .entry("set-cookie".into())
            .or_default()
            .extend(cookies);
    }
}

/// Single-value headers, repeats joined with `, ` (RFC 9110 allows that for
/// every header but `Set-Cookie`, which never reaches here).
fn joined(multi: BTreeMap<String, Vec<String>>) -> BTreeMap<String, String> {
    multi
        .into_iter()
        .map(|(name, values)| (name, values.join(", ")))
        .collect()
}

/// `cookies` for v2 and function URLs: left out when there are none.
fn cookies_field(cookies: Vec<String>) -> Option<Vec<String>> {
    (!cookies.is_empty()).then_some(cookies)
}

/// The load balancer's status line, e.g. `404 Not Found`.
fn status_description(status: u16) -> String {
    let reason = match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    };
    if reason.is_empty() {
        format!("{status}")
    } else {
        format!("{status} {reason}")
    }
}
