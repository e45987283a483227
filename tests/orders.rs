//! The `orders` example end to end: the real bootstrap against the mock
//! Runtime API, its AWS calls against moto with request authentication on
//! (tests/aws/moto_harness.py), fed API Gateway v2 and v1 events built from
//! the documentation's samples. What it wrote is read back through boto3
//! (the harness's `dump`), an independent client, not the one under test.
#![cfg(all(feature = "aws", feature = "http-adapter"))]

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::Mutex;
use std::thread;

use common::Bootstrap;
use common::moto::{Keys, Moto, moto};
use miniserde::json::{self, Number, Object, Value};
use tiny_lambda_mock::Event;

fn fixture(name: &str) -> Object {
    let path = format!(
        "{}/tests/fixtures/events/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    match json::from_str(&text) {
        Ok(Value::Object(object)) => object,
        _ => panic!("{path} is not a JSON object"),
    }
}

fn text(s: &str) -> Value {
    Value::String(s.to_string())
}

fn object(value: &mut Value) -> &mut Object {
    match value {
        Value::Object(object) => object,
        _ => panic!("not an object"),
    }
}

/// An API Gateway HTTP API (v2) request.
fn v2(method: &str, path: &str, body: Option<&str>) -> Event {
    let mut e = fixture("apigw-v2.json");
    e.insert("rawPath".into(), text(path));
    e.insert("routeKey".into(), text("$default"));
    e.insert("rawQueryString".into(), text(""));
    e.remove("queryStringParameters");
    e.remove("pathParameters");
    e.insert("body".into(), body.map_or(Value::Null, text));
    e.insert("isBase64Encoded".into(), Value::Bool(false));
    let context = object(e.get_mut("requestContext").unwrap());
    let http = object(context.get_mut("http").unwrap());
    http.insert("method".into(), text(method));
    http.insert("path".into(), text(path));
    Event::new(json::to_string(&e))
}

/// An API Gateway REST API (v1) request, routed as `/orders` or
/// `/orders/{id}` with the id as a path parameter.
fn v1(method: &str, path: &str, body: Option<&str>) -> Event {
    let mut e = fixture("apigw-v1.json");
    e.insert("path".into(), text(path));
    e.insert("httpMethod".into(), text(method));
    e.insert("body".into(), body.map_or(Value::Null, text));
    e.insert("isBase64Encoded".into(), Value::Bool(false));
    e.insert("queryStringParameters".into(), Value::Null);
    e.insert("multiValueQueryStringParameters".into(), Value::Null);
    let (resource, parameters) = match path.strip_prefix("/orders/") {
        Some(id) => {
            let mut p = Object::new();
            p.insert("id".into(), text(id));
            ("/orders/{id}", Value::Object(p))
        }
        None => ("/orders", Value::Null),
    };
    e.insert("resource".into(), text(resource));
    e.insert("pathParameters".into(), parameters);
    let context = object(e.get_mut("requestContext").unwrap());
    context.insert("httpMethod".into(), text(method));
    context.insert("resourcePath".into(), text(resource));
    Event::new(json::to_string(&e))
}

/// An answer as the front door reads it: status, content type, body.
struct Answer {
    status: u64,
    content_type: Option<String>,
    body: Object,
}

fn call(b: &Bootstrap, event: Event) -> Answer {
    let posted = b.respond(event);
    let Ok(Value::Object(answer)) = json::from_str::<Value>(posted.body_str()) else {
        panic!("not an answer: {}", posted.body_str());
    };
    let status = match answer.get("statusCode") {
        Some(Value::Number(Number::U64(s))) => *s,
        other => panic!("statusCode {other:?}"),
    };
    // v2 answers carry `headers`, v1 answers `multiValueHeaders`.
    let content_type = match (answer.get("headers"), answer.get("multiValueHeaders")) {
        (Some(Value::Object(h)), _) => h.get("content-type").map(as_str).map(str::to_string),
        (_, Some(Value::Object(h))) => match h.get("content-type") {
            Some(Value::Array(values)) => values.first().map(as_str).map(str::to_string),
            _ => None,
        },
        _ => None,
    };
    let body_text = as_str(answer.get("body").expect("a body"));
    let Ok(Value::Object(body)) = json::from_str::<Value>(body_text) else {
        panic!("the body is not a JSON object: {body_text}");
    };
    Answer {
        status,
        content_type,
        body,
    }
}

fn as_str(value: &Value) -> &str {
    match value {
        Value::String(s) => s,
        other => panic!("not a string: {other:?}"),
    }
}

fn field<'a>(object: &'a Object, name: &str) -> &'a Value {
    object
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in {}", json::to_string(object)))
}

/// The orders bootstrap with these keys, the fixtures' table and queue, and
/// `extra` variables on top (a later one of the same name wins).
fn orders(m: &Moto, keys: &Keys, extra: &[(&str, &str)]) -> Bootstrap {
    let mut vars = m.vars(keys);
    vars.push(("TABLE_NAME".into(), m.table.clone()));
    vars.push(("QUEUE_URL".into(), m.queue_url.clone()));
    for (name, value) in extra {
        vars.retain(|(n, _)| n != name);
        vars.push((name.to_string(), value.to_string()));
    }
    let env: Vec<(&str, &str)> = vars.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    Bootstrap::start("orders", &env)
}

/// The table's items and the queue's messages, read through boto3.
struct State {
    items: Vec<Object>,
    messages: Vec<String>,
}

/// One dump at a time: a dump receives every queued message (hidden from
/// other receivers until it releases them), so two tests dumping at once
/// would each miss the other's messages.
static DUMPING: Mutex<()> = Mutex::new(());

fn dump(m: &Moto) -> State {
    let _one_at_a_time = DUMPING.lock().unwrap_or_else(|e| e.into_inner());
    let script = format!("{}/tests/aws/moto_harness.py", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3")
        .args([
            &script,
            "dump",
            &m.endpoint,
            &m.user.access_key_id,
            &m.user.secret_access_key,
        ])
        .output()
        .expect("python3 runs the dump");
    assert!(
        out.status.success(),
        "dump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let Ok(Value::Object(state)) = json::from_str::<Value>(&String::from_utf8_lossy(&out.stdout))
    else {
        panic!("dump printed no JSON object");
    };
    let list = |name: &str| match state.get(name) {
        Some(Value::Array(list)) => list.clone(),
        _ => panic!("dump has no {name}"),
    };
    State {
        items: list("orders")
            .into_iter()
            .map(|mut v| object(&mut v).clone())
            .collect(),
        messages: list("messages")
            .iter()
            .map(|m| {
                as_str(field(
                    match m {
                        Value::Object(o) => o,
                        _ => panic!(),
                    },
                    "body",
                ))
                .to_string()
            })
            .collect(),
    }
}

impl State {
    fn item(&self, id: &str) -> Option<&Object> {
        self.items
            .iter()
            .find(|item| json::to_string(field(item, "id")) == json::to_string(&typed("S", id)))
    }

    fn message_about(&self, id: &str) -> Option<&String> {
        self.messages.iter().find(|body| body.contains(id))
    }
}

/// `{"S": "text"}` and the like.
fn typed(tag: &str, value: &str) -> Value {
    let mut o = Object::new();
    o.insert(tag.into(), text(value));
    Value::Object(o)
}

/// Post an order through `event` (v1 or v2) under the request id `id`,
/// check it was stored and queued exactly as the issue says, and read it
/// back with a `GET`.
fn order_round_trip(
    b: &Bootstrap,
    m: &Moto,
    event: fn(&str, &str, Option<&str>) -> Event,
    id: &str,
) {
    let created = call(
        b,
        event("POST", "/orders", Some(r#"{"item":"book","qty":2}"#)).request_id(id),
    );
    assert_eq!(created.status, 201);
    assert_eq!(created.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        json::to_string(&created.body),
        format!(r#"{{"id":"{id}"}}"#)
    );

    let state = dump(m);
    let item = state.item(id).expect("the item is in the table");
    let mut names: Vec<&str> = item.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, ["id", "item", "qty"], "exactly these attributes");
    assert_eq!(
        json::to_string(field(item, "item")),
        json::to_string(&typed("S", "book"))
    );
    assert_eq!(
        json::to_string(field(item, "qty")),
        json::to_string(&typed("N", "2"))
    );
    let order = format!(r#"{{"id":"{id}","item":"book","qty":2}}"#);
    assert_eq!(state.message_about(id), Some(&order), "the message queued");

    let read = call(b, event("GET", &format!("/orders/{id}"), None));
    assert_eq!((read.status, json::to_string(&read.body)), (200, order));
    let missing = call(b, event("GET", "/orders/no-such-order", None));
    assert_eq!(missing.status, 404);
    assert_eq!(json::to_string(&missing.body), r#"{"error":"not found"}"#);
}

#[test]
fn a_v2_order_is_stored_queued_and_read_back() {
    let m = moto();
    order_round_trip(&orders(m, &m.role, &[]), m, v2, "v2-order-1");
}

#[test]
fn a_v1_rest_api_order_works_the_same() {
    let m = moto();
    order_round_trip(&orders(m, &m.user, &[]), m, v1, "v1-order-1");
}

#[test]
fn a_bad_body_is_400_and_writes_nothing() {
    let m = moto();
    let b = orders(m, &m.role, &[]);
    let bad = [
        None,
        Some("not json"),
        Some("[]"),
        Some(r#"{"qty":1}"#),
        Some(r#"{"item":"","qty":1}"#),
        Some(r#"{"item":7,"qty":1}"#),
        Some(r#"{"item":"book"}"#),
        Some(r#"{"item":"book","qty":0}"#),
        Some(r#"{"item":"book","qty":-3}"#),
        Some(r#"{"item":"book","qty":1.5}"#),
        Some(r#"{"item":"book","qty":"2"}"#),
    ];
    for (i, body) in bad.iter().enumerate() {
        let id = format!("bad-body-{i}");
        let answer = call(&b, v2("POST", "/orders", *body).request_id(&id));
        assert_eq!(answer.status, 400, "{body:?}");
        let why = as_str(field(&answer.body, "error"));
        assert!(!why.is_empty(), "{body:?}");
    }
    let state = dump(m);
    for i in 0..bad.len() {
        let id = format!("bad-body-{i}");
        assert!(state.item(&id).is_none(), "{id} was written");
        assert!(state.message_about(&id).is_none(), "{id} was queued");
    }
    // Routes it does not serve.
    assert_eq!(call(&b, v2("GET", "/elsewhere", None)).status, 404);
    assert_eq!(call(&b, v2("DELETE", "/orders/x", None)).status, 405);
}

#[test]
fn a_missing_setting_fails_init_naming_it() {
    let m = moto();
    for missing in ["TABLE_NAME", "QUEUE_URL"] {
        let mut vars = m.vars(&m.user);
        vars.push(("TABLE_NAME".into(), m.table.clone()));
        vars.push(("QUEUE_URL".into(), m.queue_url.clone()));
        vars.retain(|(n, _)| n != missing);
        let env: Vec<(&str, &str)> = vars.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let mut b = Bootstrap::start("orders", &env);
        let report = b.api.wait_init_error(common::WAIT).expect("an /init/error");
        assert!(report.body_str().contains(missing), "{}", report.body_str());
        assert!(!b.wait_exit().success());
    }
}

#[test]
fn a_missing_table_is_502_with_its_code_and_nothing_is_queued() {
    let m = moto();
    let b = orders(m, &m.role, &[("TABLE_NAME", "no-such-table")]);
    let answer = call(
        &b,
        v2("POST", "/orders", Some(r#"{"item":"book","qty":1}"#)).request_id("lost-order"),
    );
    assert_eq!(answer.status, 502);
    assert_eq!(
        json::to_string(&answer.body),
        r#"{"error":"ResourceNotFoundException"}"#
    );
    let log = b.wait_log("PutItem failed");
    assert_eq!(log.matches("ERROR").count(), 1, "one ERROR line:\n{log}");
    // It goes on serving.
    assert_eq!(call(&b, v2("GET", "/orders/lost-order", None)).status, 502);
    assert!(
        dump(m).message_about("lost-order").is_none(),
        "a failed PutItem queued a message"
    );
}

#[test]
fn refused_credentials_are_502_and_the_function_goes_on() {
    let m = moto();
    let wrong_secret = Keys {
        secret_access_key: "not-the-secret".into(),
        ..m.user.clone()
    };
    let b = orders(m, &wrong_secret, &[]);
    let answer = call(
        &b,
        v2("POST", "/orders", Some(r#"{"item":"book","qty":1}"#)).request_id("refused-1"),
    );
    assert_eq!(answer.status, 502);
    assert_eq!(
        json::to_string(&answer.body),
        r#"{"error":"SignatureDoesNotMatch"}"#
    );

    // Session keys without their token are refused too.
    let no_token = Keys {
        session_token: None,
        ..m.role.clone()
    };
    let b = orders(m, &no_token, &[]);
    let answer = call(
        &b,
        v2("POST", "/orders", Some(r#"{"item":"book","qty":1}"#)).request_id("refused-2"),
    );
    assert_eq!(answer.status, 502);
    assert_eq!(
        json::to_string(&answer.body),
        r#"{"error":"InvalidClientTokenId"}"#
    );
    assert_eq!(call(&b, v2("GET", "/orders/x", None)).status, 502);
    let state = dump(m);
    for id in ["refused-1", "refused-2"] {
        assert!(state.item(id).is_none() && state.message_about(id).is_none());
    }
}

#[test]
fn keys_from_the_container_credentials_endpoint() {
    let m = moto();
    // Lambda's endpoint for SnapStart and Managed Instances, played here.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}/creds", listener.local_addr().unwrap());
    let role = m.role.clone();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0_u8; 4096];
            let n = stream.read(&mut request).unwrap_or(0);
            let request = String::from_utf8_lossy(&request[..n]).to_ascii_lowercase();
            let body = format!(
                r#"{{"AccessKeyId":"{}","SecretAccessKey":"{}","Token":"{}","Expiration":"{}"}}"#,
                role.access_key_id,
                role.secret_access_key,
                role.session_token.clone().unwrap(),
                role.expiration.clone().unwrap()
            );
            let answer = if request.contains("authorization: the-token\r\n") {
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
            } else {
                "HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    .to_string()
            };
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    let mut vars = [
        ("AWS_REGION".to_string(), m.region.clone()),
        ("AWS_ENDPOINT_URL".to_string(), m.endpoint.clone()),
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI".to_string(), uri),
        (
            "AWS_CONTAINER_AUTHORIZATION_TOKEN".to_string(),
            "the-token".to_string(),
        ),
        ("TABLE_NAME".to_string(), m.table.clone()),
        ("QUEUE_URL".to_string(), m.queue_url.clone()),
    ];
    let env: Vec<(&str, &str)> = vars.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let b = Bootstrap::start("orders", &env);
    let created = call(
        &b,
        v2("POST", "/orders", Some(r#"{"item":"lamp","qty":3}"#)).request_id("container-1"),
    );
    assert_eq!(created.status, 201, "{}", b.stderr());
    assert!(dump(m).item("container-1").is_some());
    drop(b);

    // A token the endpoint refuses: every call fails with the credentials' code.
    vars[3].1 = "wrong-token".to_string();
    let env: Vec<(&str, &str)> = vars.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let b = Bootstrap::start("orders", &env);
    let refused = call(
        &b,
        v2("POST", "/orders", Some(r#"{"item":"lamp","qty":3}"#)).request_id("container-2"),
    );
    assert_eq!(refused.status, 502);
    assert_eq!(
        json::to_string(&refused.body),
        r#"{"error":"CredentialsError"}"#
    );
}

#[test]
fn throttling_past_the_retries_is_502() {
    let m = moto();
    // A DynamoDB that throttles every request; SQS stays moto.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut request = [0_u8; 8192];
            let _ = stream.read(&mut request);
            let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate exceeded"}"#;
            let answer = format!(
                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    let b = orders(
        m,
        &m.user,
        &[
            ("AWS_ENDPOINT_URL_DYNAMODB", &endpoint),
            ("AWS_MAX_ATTEMPTS", "2"),
        ],
    );
    let answer = call(
        &b,
        v2("POST", "/orders", Some(r#"{"item":"book","qty":1}"#)).request_id("throttled-1"),
    );
    assert_eq!(answer.status, 502);
    assert_eq!(
        json::to_string(&answer.body),
        r#"{"error":"ThrottlingException"}"#
    );
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "AWS_MAX_ATTEMPTS attempts"
    );
    assert!(dump(m).message_about("throttled-1").is_none());
}

#[test]
fn no_key_token_or_signature_reaches_the_log_even_at_trace() {
    let m = moto();
    let b = orders(m, &m.role, &[("RUST_LOG", "trace")]);
    let created = call(
        &b,
        v2("POST", "/orders", Some(r#"{"item":"book","qty":1}"#)).request_id("logged-1"),
    );
    assert_eq!(created.status, 201);
    let log = b.stderr();
    assert!(log.contains("DEBUG"), "RUST_LOG=trace took effect:\n{log}");
    let token = m.role.session_token.as_deref().unwrap();
    for secret in [
        m.role.secret_access_key.as_str(),
        token,
        &token[..16],
        "Signature=",
    ] {
        assert!(!log.contains(secret), "{secret:?} is in the log");
    }
    // ureq_proto's byte dumps would carry them split over lines.
    assert!(
        !log.contains("TRACE\tureq_proto"),
        "raw request bytes are logged"
    );
    // And hiding those never raises a level Lambda's log level lowered.
    let b = orders(m, &m.role, &[("AWS_LAMBDA_LOG_LEVEL", "WARN")]);
    let created = call(
        &b,
        v2("POST", "/orders", Some(r#"{"item":"book","qty":1}"#)).request_id("logged-2"),
    );
    assert_eq!(created.status, 201);
    let log = b.stderr();
    assert!(!log.contains("DEBUG") && !log.contains("INFO"), "{log}");
}
