//! The function as Lambda runs it, fed `events/event.json`, with a stand-in
//! for DynamoDB on a loopback port (`AWS_ENDPOINT_URL_DYNAMODB`), so the
//! test needs no AWS account and no network.
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc::{self, Receiver};
use std::thread;

use common::{Function, WAIT};

const EVENT: &str = include_str!("../events/event.json");

/// Answers every request with `{}`, DynamoDB's answer to a `PutItem`, and
/// hands each request over as text: its head, an empty line, its body.
struct FakeDynamoDb {
    url: String,
    requests: Receiver<String>,
}

impl FakeDynamoDb {
    fn start() -> FakeDynamoDb {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        let (sender, requests) = mpsc::channel();
        thread::spawn(move || {
            for connection in listener.incoming() {
                let Ok(connection) = connection else { continue };
                let mut reader = BufReader::new(connection);
                let mut head = String::new();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    let (name, value) = line.split_once(':').unwrap_or_default();
                    if name.eq_ignore_ascii_case("content-length") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                    head.push_str(&line);
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    continue;
                }
                let _ = sender.send(format!("{head}\r\n{}", String::from_utf8_lossy(&body)));
                let answer = "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n\
                              Content-Length: 2\r\nConnection: close\r\n\r\n{}";
                let _ = reader.get_mut().write_all(answer.as_bytes());
            }
        });
        FakeDynamoDb { url, requests }
    }
}

#[test]
fn stores_the_event_under_the_request_id() {
    let dynamodb = FakeDynamoDb::start();
    let function = Function::start(&[
        ("TABLE_NAME", "events"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
        ("AWS_ENDPOINT_URL_DYNAMODB", &dynamodb.url),
    ]);
    let answer = function.respond(EVENT);
    assert_eq!(
        answer.body_str(),
        format!(r#"{{"id":"{}"}}"#, answer.request_id)
    );
    let request = dynamodb.requests.recv_timeout(WAIT).expect("a PutItem");
    assert!(request.contains("DynamoDB_20120810.PutItem"), "{request}");
    assert!(
        request.contains("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
        "{request}"
    );
    assert!(request.contains(r#""TableName":"events""#), "{request}");
    assert!(request.contains(&answer.request_id), "{request}");
}

#[test]
fn init_fails_without_a_table_name() {
    let function = Function::start(&[("AWS_REGION", "us-east-1")]);
    let report = function.api.wait_init_error(WAIT).expect("an init error");
    assert!(
        report.body_str().contains("TABLE_NAME is not set"),
        "{}",
        report.body_str()
    );
}
