//! The Extensions and Telemetry APIs and the shutdown, against scripted
//! clients: raw HTTP on `std::net` for the runtime and the extensions, a
//! small listener for telemetry, and `sleep` processes where a process id
//! is needed.
//!
//! This file holds what every part shares: the raw calls, registering,
//! waiting on and reading extension events, and getting through init. The
//! tests are by concern: `init` (registering and the end of init),
//! `invocations` (each `INVOKE` and when an invocation is done),
//! `telemetry` (subscriptions, batches and the listener they go to) and
//! `shutdown` (the signals, `SHUTDOWN` and the deadline, on processes).
use super::tests::{Reply, WAIT, connect, read_reply};
use super::*;
use std::format;
use std::io::Write;

use miniserde::json::{self, Value};

mod init;
mod invocations;
mod shutdown;
mod telemetry;

/// Sends a request on a fresh connection and leaves the answer unread: for
/// calls that wait (`/next`, `event/next`).
fn start_call(
    api: &RuntimeApi,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> TcpStream {
    let mut stream = connect(api);
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    stream
}

/// Sends a request and reads its answer.
fn call(
    api: &RuntimeApi,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    read_reply(&mut start_call(api, method, path, headers, body)).unwrap()
}

const REGISTER: &str = "/2020-01-01/extension/register";
const NEXT: &str = "/2020-01-01/extension/event/next";
const SUBSCRIBE: &str = "/2022-07-01/telemetry";

/// Registers an extension and returns the whole answer.
fn try_register(api: &RuntimeApi, name: &str, events: &str) -> Reply {
    let body = format!(r#"{{"events":{events}}}"#);
    call(
        api,
        "POST",
        REGISTER,
        &[
            ("Lambda-Extension-Name", name),
            ("Lambda-Extension-Accept-Feature", "accountId"),
        ],
        body.as_bytes(),
    )
}

/// Registers an extension and returns its identifier.
fn register(api: &RuntimeApi, name: &str, events: &str) -> String {
    let reply = try_register(api, name, events);
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply
        .header("Lambda-Extension-Identifier")
        .unwrap()
        .to_owned()
}

/// An extension's `event/next`, left waiting.
fn ext_next(api: &RuntimeApi, id: &str) -> TcpStream {
    start_call(
        api,
        "GET",
        NEXT,
        &[("Lambda-Extension-Identifier", id)],
        b"",
    )
}

/// The runtime's `/next`, left waiting.
fn runtime_next(api: &RuntimeApi) -> TcpStream {
    start_call(api, "GET", &format!("{PREFIX}/invocation/next"), &[], b"")
}

/// Whether nothing has been answered on the connection within a while.
fn still_waiting(stream: &TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(150)))
        .unwrap();
    let waiting = matches!(
        stream.peek(&mut [0; 1]),
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
    );
    stream.set_read_timeout(Some(WAIT)).unwrap();
    waiting
}

/// Reads an extension event's JSON fields.
fn event(stream: &mut TcpStream) -> json::Object {
    let reply = read_reply(stream).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.header("Lambda-Extension-Event-Identifier").is_some());
    match json::from_str::<Value>(reply.text()).unwrap() {
        Value::Object(fields) => fields,
        other => panic!("not an object: {other:?}"),
    }
}

fn text<'a>(fields: &'a json::Object, name: &str) -> &'a str {
    match fields.get(name) {
        Some(Value::String(s)) => s,
        other => panic!("{name}: {other:?}"),
    }
}

fn error_type(reply: &Reply) -> String {
    match json::from_str::<Value>(reply.text()) {
        Ok(Value::Object(fields)) => text(&fields, "errorType").to_owned(),
        _ => panic!("not an error body: {}", reply.text()),
    }
}

/// Brings an environment with these extensions (name, events) through
/// init; returns their identifiers and their waiting `event/next`s.
fn through_init(api: &RuntimeApi, extensions: &[(&str, &str)]) -> Vec<(String, TcpStream)> {
    let ids: Vec<String> = extensions
        .iter()
        .map(|(name, events)| register(api, name, events))
        .collect();
    ids.into_iter()
        .map(|id| {
            let next = ext_next(api, &id);
            (id, next)
        })
        .collect()
}

/// A runtime `/next` on a thread of its own, so that init can end.
fn get_next_later(api: &RuntimeApi) {
    let runtime = runtime_next(api);
    thread::spawn(move || drop(runtime));
}
