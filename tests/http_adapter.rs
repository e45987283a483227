//! The HTTP adapter end to end: `http_echo`, `api` and `sqs_batch` run as
//! real processes against the mock Runtime API, fed the AWS documentation's
//! sample events (tests/fixtures/events/) and variations of them; what they
//! post back is read as the front door would read it.
#![cfg(all(feature = "http-adapter", feature = "events-sqs"))]

mod common;

use std::collections::BTreeMap;

use common::Bootstrap;
use miniserde::{Deserialize, json};
use tiny_lambda_mock::Event;

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/events/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every field any of the four sources reads back.
#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(rename = "statusCode")]
    status_code: u16,
    #[serde(rename = "statusDescription")]
    status_description: Option<String>,
    headers: Option<BTreeMap<String, String>>,
    #[serde(rename = "multiValueHeaders")]
    multi_value_headers: Option<BTreeMap<String, Vec<String>>>,
    cookies: Option<Vec<String>>,
    body: String,
    #[serde(rename = "isBase64Encoded")]
    is_base64_encoded: bool,
}

/// Send `event`, expect a response, and read it; no `null` may appear in it.
fn call(b: &Bootstrap, event: &str) -> Answer {
    let posted = b.respond(Event::new(event.to_string()));
    let text = posted.body_str();
    assert!(!text.contains("null"), "AWS would get a null: {text}");
    json::from_str(text).unwrap_or_else(|_| panic!("not an answer: {text}"))
}

/// An API Gateway v2 request: the documentation's sample with another
/// method, path, query string, cookies and body.
fn v2(method: &str, path: &str, query: &str, body: &str, base64: bool) -> String {
    let mut e = fixture("apigw-v2.json")
        .replace("\"method\": \"POST\"", &format!("\"method\": \"{method}\""))
        .replace(
            "\"rawPath\": \"/my/path\"",
            &format!("\"rawPath\": \"{path}\""),
        )
        .replace(
            "parameter1=value1&parameter1=value2&parameter2=value",
            query,
        )
        .replace(
            "\"body\": \"Hello from Lambda\"",
            &format!("\"body\": \"{body}\""),
        );
    if base64 {
        e = e.replace("\"isBase64Encoded\": false", "\"isBase64Encoded\": true");
    }
    e
}

fn with_path(event: &str, from: &str, to: &str) -> String {
    assert!(event.contains(from), "{from} not in the event");
    event.replace(from, to)
}

#[test]
fn echo_answers_api_gateway_v2_with_headers_and_no_cookies_field() {
    let b = Bootstrap::start("http_echo", &[]);
    let a = call(&b, &fixture("apigw-v2.json"));
    assert_eq!(a.status_code, 200);
    assert_eq!(
        a.headers.as_ref().unwrap()["content-type"],
        "application/json"
    );
    assert!(a.multi_value_headers.is_none() && a.status_description.is_none());
    assert!(a.cookies.is_none());
    assert!(!a.is_base64_encoded);
    assert_eq!(
        a.body,
        r#"{"method":"POST","path":"/my/path","query":{"parameter1":"value1","parameter2":"value"},"cookies":["cookie1","cookie2"],"body":"Hello from Lambda"}"#
    );
}

#[test]
fn echo_answers_api_gateway_v1_with_multi_value_headers() {
    let b = Bootstrap::start("http_echo", &[]);
    let a = call(&b, &fixture("apigw-v1.json"));
    assert_eq!(a.status_code, 200);
    assert!(a.headers.is_none() && a.cookies.is_none());
    assert_eq!(
        a.multi_value_headers.as_ref().unwrap()["content-type"],
        ["application/json"]
    );
    assert_eq!(
        a.body,
        r#"{"method":"GET","path":"/my/path","query":{"parameter1":"value1","parameter2":"value"},"cookies":[],"body":"Hello from Lambda!"}"#
    );
    // A REST API request: cookies come from the Cookie header, a null body is empty.
    let a = call(&b, &fixture("apigw-v1-rest-cognito.json"));
    assert_eq!(
        a.body,
        r#"{"method":"GET","path":"/orders/42","query":{},"cookies":["session=abc","theme=dark"],"body":""}"#
    );
}

#[test]
fn echo_answers_function_urls_like_v2() {
    let b = Bootstrap::start("http_echo", &[]);
    let a = call(&b, &fixture("lambda-url.json"));
    assert_eq!(a.status_code, 200);
    assert_eq!(
        a.headers.as_ref().unwrap()["content-type"],
        "application/json"
    );
    assert!(a.multi_value_headers.is_none());
    assert!(
        a.body
            .ends_with(r#""cookies":["cookie1","cookie2"],"body":"Hello from client!"}"#)
    );
}

#[test]
fn echo_answers_alb_in_the_kind_of_headers_it_sent() {
    let b = Bootstrap::start("http_echo", &[]);
    let a = call(&b, &fixture("alb.json"));
    assert_eq!(a.status_code, 200);
    assert_eq!(a.status_description.as_deref(), Some("200 OK"));
    assert_eq!(
        a.headers.as_ref().unwrap()["content-type"],
        "application/json"
    );
    assert!(a.multi_value_headers.is_none());
    assert_eq!(
        a.body,
        r#"{"method":"GET","path":"/lambda","query":{"query":"1234ABCD"},"cookies":[],"body":""}"#
    );

    let a = call(&b, &fixture("alb-multi-value.json"));
    assert_eq!(a.status_description.as_deref(), Some("200 OK"));
    assert!(a.headers.is_none());
    assert_eq!(
        a.multi_value_headers.as_ref().unwrap()["content-type"],
        ["application/json"]
    );
    assert_eq!(
        a.body,
        r#"{"method":"GET","path":"/lambda","query":{"myKey":"val1"},"cookies":["name1=value1","name2=value2"],"body":"request_body"}"#
    );
    // ALB does not decode query parameters; the adapter does.
    let encoded = with_path(&fixture("alb.json"), "1234ABCD", "a%20b%26c");
    assert!(
        call(&b, &encoded)
            .body
            .contains(r#""query":{"query":"a b&c"}"#)
    );
}

#[test]
fn request_bodies_marked_base64_are_decoded() {
    let b = Bootstrap::start("http_echo", &[]);
    // "hello, base64" in base64.
    let a = call(&b, &v2("PUT", "/up", "", "aGVsbG8sIGJhc2U2NA==", true));
    assert_eq!(
        a.body,
        r#"{"method":"PUT","path":"/up","query":{},"cookies":["cookie1","cookie2"],"body":"hello, base64"}"#
    );
    let alb = fixture("alb-multi-value.json")
        .replace("\"isBase64Encoded\": false", "\"isBase64Encoded\": true")
        .replace("request_body", "YWxiIGJvZHk=");
    assert!(call(&b, &alb).body.ends_with(r#""body":"alb body"}"#));
}

#[test]
fn binary_answers_are_base64() {
    let b = Bootstrap::start("http_echo", &[]);
    for event in [
        v2("GET", "/binary", "", "", false),
        with_path(
            &fixture("apigw-v1.json"),
            "\"path\": \"/my/path\"",
            "\"path\": \"/binary\"",
        ),
        with_path(&fixture("alb.json"), "\"/lambda\"", "\"/binary\""),
        with_path(
            &fixture("lambda-url.json"),
            "\"rawPath\": \"/my/path\"",
            "\"rawPath\": \"/binary\"",
        ),
    ] {
        let a = call(&b, &event);
        assert_eq!(a.status_code, 200);
        assert!(a.is_base64_encoded);
        let content_type = match (&a.headers, &a.multi_value_headers) {
            (Some(h), _) => h["content-type"].clone(),
            (None, Some(m)) => m["content-type"][0].clone(),
            _ => panic!("no headers: {a:?}"),
        };
        assert_eq!(content_type, "application/octet-stream");
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(a.body, base64_of(&bytes));
    }
}

#[test]
fn cookies_are_set_in_each_sources_place() {
    let b = Bootstrap::start("http_echo", &[]);
    let a = call(&b, &v2("GET", "/cookies", "", "", false));
    assert_eq!(a.status_code, 204);
    assert_eq!(a.cookies.as_deref().unwrap(), ["a=1", "b=2"]);
    assert!(!a.headers.as_ref().unwrap().contains_key("set-cookie"));

    let url = with_path(
        &fixture("lambda-url.json"),
        "\"rawPath\": \"/my/path\"",
        "\"rawPath\": \"/cookies\"",
    );
    assert_eq!(call(&b, &url).cookies.as_deref().unwrap(), ["a=1", "b=2"]);

    let v1 = with_path(
        &fixture("apigw-v1.json"),
        "\"path\": \"/my/path\"",
        "\"path\": \"/cookies\"",
    );
    let a = call(&b, &v1);
    assert_eq!(a.status_code, 204);
    assert_eq!(
        a.multi_value_headers.as_ref().unwrap()["set-cookie"],
        ["a=1", "b=2"]
    );

    let alb = with_path(
        &fixture("alb-multi-value.json"),
        "\"/lambda\"",
        "\"/cookies\"",
    );
    let a = call(&b, &alb);
    assert_eq!(a.status_description.as_deref(), Some("204 No Content"));
    assert_eq!(
        a.multi_value_headers.as_ref().unwrap()["set-cookie"],
        ["a=1", "b=2"]
    );

    // Single-value headers hold one Set-Cookie: the first goes, the loss is logged.
    let alb = with_path(&fixture("alb.json"), "\"/lambda\"", "\"/cookies\"");
    let a = call(&b, &alb);
    assert_eq!(a.headers.as_ref().unwrap()["set-cookie"], "a=1");
    b.wait_log("2 cookies set, but an ALB without multi-value headers takes one");
}

#[test]
fn missing_is_404() {
    let b = Bootstrap::start("http_echo", &[]);
    let a = call(&b, &v2("GET", "/missing", "", "", false));
    assert_eq!(a.status_code, 404);
    assert_eq!(a.body, "not found");
    assert_eq!(
        a.headers.as_ref().unwrap()["content-type"],
        "text/plain; charset=utf-8"
    );
}

#[test]
fn events_the_adapter_cannot_read_are_invalid_and_the_loop_goes_on() {
    let b = Bootstrap::start("http_echo", &[]);
    for (event, why) in [
        (
            r#"{"hello":"world"}"#.to_string(),
            "not an HTTP event: requestContext is missing",
        ),
        (
            fixture("apigw-v2.json").replace("\"rawPath\"", "\"notRawPath\""),
            "an API Gateway v2 request without rawPath",
        ),
        (
            v2("POST", "/p", "", "not base64!", true),
            "isBase64Encoded is true but body is not base64",
        ),
        (
            fixture("alb.json").replace("\"httpMethod\"", "\"method\""),
            "an ALB request without httpMethod",
        ),
    ] {
        let failed = b.fail(Event::new(event));
        assert_eq!(
            failed.header("Lambda-Runtime-Function-Error-Type"),
            Some("Runtime.InvalidEvent")
        );
        let body = failed.body_str();
        assert!(body.contains(r#""errorType":"InvalidEvent""#), "{body}");
        assert!(body.contains(why), "{body} should say {why}");
        b.wait_log(why);
        // The next request is served.
        assert_eq!(call(&b, &fixture("apigw-v2.json")).status_code, 200);
    }
}

#[test]
fn sqs_batch_fails_exactly_the_messages_that_say_fail() {
    let b = Bootstrap::start("sqs_batch", &[]);
    let all_good = b.respond(Event::new(fixture("sqs.json")));
    assert_eq!(all_good.body_str(), r#"{"batchItemFailures":[]}"#);

    // The second message's body says "fail".
    let mut second_fails = fixture("sqs.json");
    let at = second_fails.rfind("\"body\": \"Test message.\"").unwrap();
    second_fails.replace_range(at..at + 23, "\"body\": \"please fail me\"");
    let posted = b.respond(Event::new(second_fails));
    assert_eq!(
        posted.body_str(),
        r#"{"batchItemFailures":[{"itemIdentifier":"2e1424d4-f796-459a-8184-9c92662be6da"}]}"#
    );
    // Not an SQS event at all: the typed parse refuses it, the loop goes on.
    let failed = b.fail(Event::new(r#"{"Records":[{"nope":1}]}"#));
    assert_eq!(
        failed.header("Lambda-Runtime-Function-Error-Type"),
        Some("Runtime.InvalidEvent")
    );
    assert_eq!(
        b.respond(Event::new(fixture("sqs.json"))).body_str(),
        r#"{"batchItemFailures":[]}"#
    );
}

#[test]
fn api_creates_and_reads_orders() {
    let b = Bootstrap::start("api", &[]);
    let post = |body: &str| {
        let escaped = body.replace('"', "\\\"");
        call(&b, &v2("POST", "/orders", "", &escaped, false))
    };

    let a = post(r#"{"customer":"ada","item":"tea","quantity":2}"#);
    assert_eq!(a.status_code, 201, "{a:?}");
    assert_eq!(a.headers.as_ref().unwrap()["location"], "/orders/ord-1");
    assert_eq!(
        a.headers.as_ref().unwrap()["content-type"],
        "application/json"
    );
    assert_eq!(
        a.body,
        r#"{"id":"ord-1","customer":"ada","item":"tea","quantity":2,"request_id":"id"}"#
    );

    // Read back through the route's path parameter.
    let get = v2("GET", "/orders/ord-1", "", "", false).replace(
        "\"parameter1\": \"value1\"\n  },\n  \"isBase64",
        "\"id\": \"ord-1\"\n  },\n  \"isBase64",
    );
    assert!(get.contains("\"id\": \"ord-1\""));
    let a = call(&b, &get);
    assert_eq!(a.status_code, 200, "{a:?}");
    assert!(
        a.body.starts_with(r#"{"id":"ord-1","customer":"ada""#),
        "{}",
        a.body
    );
    // And behind `$default`, from the path alone.
    let a = call(&b, &v2("GET", "/orders/ord-1", "", "", false));
    assert_eq!(a.status_code, 200);

    let a = call(&b, &v2("GET", "/orders/ord-9", "", "", false));
    assert_eq!(a.status_code, 404);
    assert_eq!(a.body, r#"{"error":"no such order"}"#);

    for (bad, why) in [
        ("not json", "the body must be a JSON order"),
        (
            r#"{"customer":"ada","item":"tea"}"#,
            "the body must be a JSON order",
        ),
        (
            r#"{"customer":"ada","item":"tea","quantity":"2"}"#,
            "the body must be a JSON order",
        ),
        (
            r#"{"customer":"","item":"tea","quantity":2}"#,
            "must not be empty",
        ),
        (
            r#"{"customer":"ada","item":"tea","quantity":0}"#,
            "quantity must be from 1 to 100",
        ),
        (
            r#"{"customer":"ada","item":"tea","quantity":101}"#,
            "quantity must be from 1 to 100",
        ),
    ] {
        let a = post(bad);
        assert_eq!(a.status_code, 400, "{bad}: {a:?}");
        assert!(
            a.body.starts_with(r#"{"error":""#) && a.body.contains(why),
            "{bad}: {}",
            a.body
        );
    }
    // A bad order stored nothing: the next id is 2.
    let a = post(r#"{"customer":"bob","item":"jam","quantity":1}"#);
    assert!(a.body.starts_with(r#"{"id":"ord-2""#), "{}", a.body);

    assert_eq!(
        call(&b, &v2("DELETE", "/orders", "", "", false)).status_code,
        405
    );
    assert_eq!(
        call(&b, &v2("GET", "/elsewhere", "", "", false)).status_code,
        404
    );
}

fn base64_of(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
