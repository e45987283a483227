//! From event bytes to a [`Request`]: tell which front door sent the event,
//! parse it as that source's type (from `crate::events`), and bring it into
//! the one model. Every way this can fail is a `Runtime.InvalidEvent` that
//! names what was missing or wrong, never the event's content.
//!
//! How the sources are told apart, in the order they are tried:
//!
//! | source | sign |
//! |---|---|
//! | ALB | `requestContext.elb` |
//! | function URL | `requestContext.http`, and `requestContext.domainName` has `.lambda-url.` |
//! | API Gateway v2 | `requestContext.http` otherwise |
//! | API Gateway v1 | `httpMethod` (REST APIs, and HTTP APIs with payload 1.0) |

use std::collections::BTreeMap;
use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use base64::Engine as _;
use miniserde::json::{self, Value};
use miniserde::{Deserialize, de};

use super::request::{Headers, QueryParams, Request, RequestContext, Source};
use crate::error::Diagnostic;
use crate::events::alb::AlbTargetGroupRequest;
use crate::events::apigw::{ApiGatewayV1Request, ApiGatewayV2Request};
use crate::events::lambda_url::{LambdaFunctionUrlRequest, LambdaFunctionUrlRequestContext};
use crate::events::percent_decode;

/// Just the fields that tell the sources apart; the rest is ignored.
#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "httpMethod")]
    http_method: Option<String>,
    path: Option<String>,
    #[serde(rename = "rawPath")]
    raw_path: Option<String>,
    #[serde(rename = "requestContext")]
    request_context: Option<ProbeContext>,
}

#[derive(Deserialize)]
struct ProbeContext {
    elb: Option<Value>,
    http: Option<ProbeHttp>,
    #[serde(rename = "domainName")]
    domain_name: Option<String>,
}

#[derive(Deserialize)]
struct ProbeHttp {
    method: Option<String>,
}

/// Which source sent `event`, or why none did.
pub(crate) fn recognise(event: &str) -> Result<Source, Diagnostic> {
    let probe: Probe = json::from_str(event)
        .map_err(|_| invalid("the event is not a JSON object with an HTTP request's fields"))?;
    let Some(context) = probe.request_context else {
        return Err(invalid(
            "not an HTTP event: requestContext is missing (API Gateway, function URLs and ALB all send it)",
        ));
    };
    if context.elb.is_some() {
        require(&probe.http_method, "an ALB request without httpMethod")?;
        require(&probe.path, "an ALB request without path")?;
        // Which kind of headers it has is read from the typed event.
        return Ok(Source::Alb {
            multi_value_headers: false,
        });
    }
    if let Some(http) = context.http {
        let source = match context.domain_name.as_deref() {
            Some(domain) if LambdaFunctionUrlRequestContext::is_function_url(domain) => {
                Source::FunctionUrl
            }
            _ => Source::ApiGatewayV2,
        };
        let what = describe(source);
        require(
            &http.method,
            &format!("{what} without requestContext.http.method"),
        )?;
        require(&probe.raw_path, &format!("{what} without rawPath"))?;
        return Ok(source);
    }
    if probe.http_method.is_some() {
        require(&probe.path, "an API Gateway v1 request without path")?;
        return Ok(Source::ApiGatewayV1);
    }
    Err(invalid(
        "not an HTTP event: requestContext has neither elb (ALB) nor http (API Gateway v2, \
         function URL), and there is no httpMethod (API Gateway v1)",
    ))
}

/// Parse `event` (UTF-8 JSON bytes) into a [`Request`].
pub(crate) fn parse(event: &[u8]) -> Result<Request, Diagnostic> {
    let text = std::str::from_utf8(event).map_err(|_| invalid("the event is not UTF-8"))?;
    let source = recognise(text)?;
    match source {
        Source::ApiGatewayV1 => from_v1(typed(text, source)?),
        Source::ApiGatewayV2 => from_v2(typed(text, source)?),
        Source::FunctionUrl => from_function_url(typed(text, source)?),
        Source::Alb { .. } => from_alb(typed(text, source)?),
    }
}

fn typed<T: de::Deserialize>(text: &str, source: Source) -> Result<T, Diagnostic> {
    json::from_str(text).map_err(|_| {
        invalid(&format!(
            "{} does not parse: a field it always has is missing, or a field has the wrong type",
            describe(source)
        ))
    })
}

fn from_v1(event: ApiGatewayV1Request) -> Result<Request, Diagnostic> {
    let headers = match (event.multi_value_headers, event.headers) {
        (Some(multi), _) => multi_headers(multi),
        (None, single) => single_headers(single),
    };
    let mut query = QueryParams::default();
    match (
        event.multi_value_query_string_parameters,
        event.query_string_parameters,
    ) {
        (Some(multi), _) => multi.into_iter().for_each(|(n, vs)| {
            vs.into_iter().for_each(|v| query.append(n.clone(), v));
        }),
        (None, single) => single
            .unwrap_or_default()
            .into_iter()
            .for_each(|(n, v)| query.append(n, v)),
    }
    let ctx = event.request_context;
    let claims = match ctx.authorizer.as_ref().and_then(|a| a.get("claims")) {
        Some(Value::Object(claims)) => text_claims(claims.iter()),
        _ => BTreeMap::new(),
    };
    Ok(Request {
        method: event.http_method,
        path: event.path,
        path_parameters: event.path_parameters.unwrap_or_default(),
        query,
        cookies: header_cookies(&headers),
        headers,
        body: body(event.body, event.is_base64_encoded)?,
        context: RequestContext {
            source: Source::ApiGatewayV1,
            request_id: Some(ctx.request_id),
            stage: Some(ctx.stage),
            route: Some(event.resource),
            source_ip: ctx.identity.and_then(|i| i.source_ip),
            claims,
        },
    })
}

fn from_v2(event: ApiGatewayV2Request) -> Result<Request, Diagnostic> {
    let ctx = event.request_context;
    let claims = match ctx.authorizer.and_then(|a| a.jwt) {
        Some(jwt) => text_claims(jwt.claims.iter()),
        None => BTreeMap::new(),
    };
    Ok(Request {
        method: ctx.http.method,
        path: event.raw_path,
        path_parameters: event.path_parameters.unwrap_or_default(),
        query: raw_query(&event.raw_query_string),
        headers: single_headers(event.headers),
        cookies: event.cookies.unwrap_or_default(),
        body: body(event.body, event.is_base64_encoded)?,
        context: RequestContext {
            source: Source::ApiGatewayV2,
            request_id: Some(ctx.request_id),
            stage: Some(ctx.stage),
            route: Some(event.route_key),
            source_ip: Some(ctx.http.source_ip),
            claims,
        },
    })
}

fn from_function_url(event: LambdaFunctionUrlRequest) -> Result<Request, Diagnostic> {
    let ctx = event.request_context;
    Ok(Request {
        method: ctx.http.method,
        path: event.raw_path,
        path_parameters: BTreeMap::new(),
        query: raw_query(&event.raw_query_string),
        headers: single_headers(event.headers),
        cookies: event.cookies.unwrap_or_default(),
        body: body(event.body, event.is_base64_encoded)?,
        context: RequestContext {
            source: Source::FunctionUrl,
            request_id: Some(ctx.request_id),
            stage: ctx.stage,
            route: ctx.route_key,
            source_ip: Some(ctx.http.source_ip),
            claims: BTreeMap::new(),
        },
    })
}

fn from_alb(event: AlbTargetGroupRequest) -> Result<Request, Diagnostic> {
    let multi_value_headers = event.multi_value_headers.is_some();
    let headers = match (event.multi_value_headers, event.headers) {
        (Some(multi), _) => multi_headers(multi),
        (None, single) => single_headers(single),
    };
    // The load balancer passes query parameters on percent-encoded.
    let mut query = QueryParams::default();
    let decode = |text: &str| percent_decode(text, true);
    match (
        event.multi_value_query_string_parameters,
        event.query_string_parameters,
    ) {
        (Some(multi), _) => multi.iter().for_each(|(n, vs)| {
            vs.iter().for_each(|v| query.append(decode(n), decode(v)));
        }),
        (None, single) => single
            .unwrap_or_default()
            .iter()
            .for_each(|(n, v)| query.append(decode(n), decode(v))),
    }
    let source_ip = headers
        .get("x-forwarded-for")
        .and_then(|list| list.split(',').next())
        .map(|ip| ip.trim().to_string());
    Ok(Request {
        method: event.http_method,
        path: event.path,
        path_parameters: BTreeMap::new(),
        query,
        cookies: header_cookies(&headers),
        headers,
        body: body(event.body, event.is_base64_encoded)?,
        context: RequestContext {
            source: Source::Alb {
                multi_value_headers,
            },
            request_id: None,
            stage: None,
            route: None,
            source_ip,
            claims: BTreeMap::new(),
        },
    })
}

fn single_headers(map: Option<BTreeMap<String, String>>) -> Headers {
    let mut headers = Headers::new();
    for (name, value) in map.unwrap_or_default() {
        headers.append(name, value);
    }
    headers
}

fn multi_headers(map: BTreeMap<String, Vec<String>>) -> Headers {
    let mut headers = Headers::new();
    for (name, values) in map {
        for value in values {
            headers.append(name.clone(), value);
        }
    }
    headers
}

/// `name=value` pairs of the `Cookie` headers (v1 and ALB keep cookies there).
fn header_cookies(headers: &Headers) -> Vec<String> {
    headers
        .get_all("cookie")
        .flat_map(|line| line.split(';'))
        .map(str::trim)
        .filter(|cookie| !cookie.is_empty())
        .map(String::from)
        .collect()
}

/// v2 and function URLs keep repeated parameters apart only in
/// `rawQueryString` (`queryStringParameters` joins them with commas).
fn raw_query(raw: &str) -> QueryParams {
    let mut query = QueryParams::default();
    for pair in raw.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        query.append(percent_decode(name, true), percent_decode(value, true));
    }
    query
}

fn text_claims<'a>(
    claims: impl Iterator<Item = (&'a String, &'a Value)>,
) -> BTreeMap<String, String> {
    claims
        .map(|(name, value)| {
            let text = match value {
                Value::String(text) => text.clone(),
                other => json::to_string(other),
            };
            (name.clone(), text)
        })
        .collect()
}

fn body(body: Option<String>, is_base64_encoded: bool) -> Result<Vec<u8>, Diagnostic> {
    let Some(body) = body else {
        return Ok(Vec::new());
    };
    if !is_base64_encoded {
        return Ok(body.into_bytes());
    }
    base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .map_err(|e| {
            invalid(&format!(
                "isBase64Encoded is true but body is not base64 ({e})"
            ))
        })
}

fn describe(source: Source) -> &'static str {
    match source {
        Source::ApiGatewayV1 => "an API Gateway v1 request",
        Source::ApiGatewayV2 => "an API Gateway v2 request",
        Source::FunctionUrl => "a function URL request",
        Source::Alb { .. } => "an ALB request",
    }
}

fn require(field: &Option<String>, missing: &str) -> Result<(), Diagnostic> {
    match field {
        Some(_) => Ok(()),
        None => Err(invalid(missing)),
    }
}

fn invalid(why: &str) -> Diagnostic {
    Diagnostic::runtime("InvalidEvent", why.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why(event: &str) -> String {
        let d = parse(event.as_bytes()).unwrap_err();
        assert_eq!(d.header_value(), "Runtime.InvalidEvent");
        d.error_message
    }

    const V2: &str = r#"{"version":"2.0","routeKey":"$default","rawPath":"/p","rawQueryString":"a=1&a=2&b=x%20y&c",
        "cookies":["s=1","t=2"],"headers":{"content-type":"text/plain"},
        "requestContext":{"accountId":"1","apiId":"api","domainName":"api.execute-api.us-east-1.amazonaws.com",
        "http":{"method":"POST","path":"/p","protocol":"HTTP/1.1","sourceIp":"192.0.2.1","userAgent":"ua"},
        "requestId":"r-1","routeKey":"$default","stage":"$default","time":"t","timeEpoch":1,
        "authorizer":{"jwt":{"claims":{"sub":"u-1","n":5},"scopes":null}}},
        "body":"aGk=","isBase64Encoded":true}"#;

    #[test]
    fn v2_requests_become_the_model() {
        let req = parse(V2.as_bytes()).unwrap();
        assert_eq!(req.context.source, Source::ApiGatewayV2);
        assert_eq!(req.method, "POST");
        assert_eq!(req.path, "/p");
        assert_eq!(req.query.get_all("a").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(req.query.get("b"), Some("x y"));
        assert_eq!(req.query.get("c"), Some(""));
        assert_eq!(req.cookies, ["s=1", "t=2"]);
        assert_eq!(req.cookie("t"), Some("2"));
        assert_eq!(req.headers.get("Content-Type"), Some("text/plain"));
        assert_eq!(req.body, b"hi");
        assert_eq!(req.context.request_id.as_deref(), Some("r-1"));
        assert_eq!(req.context.source_ip.as_deref(), Some("192.0.2.1"));
        assert_eq!(req.context.claims["sub"], "u-1");
        assert_eq!(req.context.claims["n"], "5");
    }

    #[test]
    fn function_urls_are_told_from_v2_by_their_domain() {
        let url = V2.replace(
            "api.execute-api.us-east-1.amazonaws.com",
            "abc.lambda-url.us-east-1.on.aws",
        );
        assert_eq!(recognise(&url).unwrap(), Source::FunctionUrl);
        assert_eq!(
            parse(url.as_bytes()).unwrap().context.source,
            Source::FunctionUrl
        );
    }

    #[test]
    fn v1_and_alb_are_recognised() {
        let v1 = r#"{"httpMethod":"GET","path":"/x","requestContext":{"requestId":"r"}}"#;
        assert_eq!(recognise(v1).unwrap(), Source::ApiGatewayV1);
        let alb =
            r#"{"httpMethod":"GET","path":"/x","requestContext":{"elb":{"targetGroupArn":"a"}}}"#;
        assert!(matches!(recognise(alb).unwrap(), Source::Alb { .. }));
    }

    #[test]
    fn what_is_missing_is_named() {
        assert!(why(r#"{"hello":"world"}"#).contains("requestContext is missing"));
        assert!(why(r#"{"requestContext":{}}"#).contains("neither elb"));
        assert!(
            why(r#"{"requestContext":{"elb":{}},"path":"/"}"#)
                .contains("ALB request without httpMethod")
        );
        assert!(
            why(r#"{"requestContext":{"elb":{}},"httpMethod":"GET"}"#).contains("without path")
        );
        assert!(
            why(r#"{"requestContext":{"http":{"method":"GET"}}}"#)
                .contains("v2 request without rawPath")
        );
        assert!(why(r#"{"requestContext":{"http":{}},"rawPath":"/"}"#).contains("http.method"));
        assert!(
            why(r#"{"httpMethod":"GET","requestContext":{}}"#).contains("v1 request without path")
        );
        assert!(why("[1,2]").contains("not a JSON object"));
        assert!(why("\u{0}\u{ff}").contains("JSON"));
        // Recognised, but a field the source always sends is missing.
        assert!(
            why(r#"{"httpMethod":"GET","path":"/","requestContext":{}}"#)
                .contains("v1 request does not parse")
        );
    }

    #[test]
    fn a_body_that_is_not_base64_is_named() {
        let bad = V2.replace("aGk=", "not base64!");
        assert!(why(&bad).contains("isBase64Encoded is true but body is not base64"));
        assert_eq!(
            parse(&[0xff, 0xfe]).unwrap_err().error_message,
            "the event is not UTF-8"
        );
    }
}
