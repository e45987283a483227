//! The AWS client (`tiny_lambda::aws`) through its public API.
//!
//! Against moto: DynamoDB, SQS, S3, the generic `call_json`, and every way
//! of getting keys (user keys, role keys with their token, the container
//! credentials endpoint). moto runs in server mode with authentication on,
//! so a request signed wrong is refused as AWS would refuse it. The harness
//! (tests/aws/moto_harness.py, via tests/common/moto.rs) is started once for
//! this test binary and shared by its tests, so each test uses keys, queues
//! and objects of its own. It needs python3 and moto:
//! `python3 -m pip install -r tests/aws/requirements.txt`.
//!
//! Against a fake AWS of our own (a std::net server answering from a
//! script, counting requests): retries, deadlines, broken and malformed
//! answers, and the headers a signed request carries.
//!
//! Each client is built with `Aws::from_lookup` over explicit variables,
//! never the process environment: the tests run in parallel threads.
//!
//! This file is the test's crate root and its shared harness: the clients,
//! the fake AWS, and small helpers, which the modules take with
//! `use super::*`. Each concern is a module of its own: `dynamodb`, `sqs`,
//! `s3` and `call_json` (the services, against moto), `credentials`,
//! `faults` (retries, deadlines, broken answers), `signing` (what a signed
//! request carries) and `connections` (kept-alive connections).
#![cfg(feature = "aws")]

#[path = "../common/moto.rs"]
mod moto;

mod call_json;
mod connections;
mod credentials;
mod dynamodb;
mod faults;
mod s3;
mod signing;
mod sqs;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use miniserde::json::{self, Value as Json};
use tiny_lambda::aws::dynamodb::{Expr, Item, Query, Value};
use tiny_lambda::aws::sqs::Message;
use tiny_lambda::aws::{Aws, Deadline, Error};

use moto::{Keys, moto};

// ---------------------------------------------------------------------------
// Clients

/// A client over these variables only.
fn aws_from(vars: Vec<(String, String)>) -> Aws {
    Aws::from_lookup(&move |name| vars.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()))
        .expect("a client from these variables")
}

/// `(name, value)` pairs as owned variables.
fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// A client for moto, signing with the IAM user's keys.
fn user_aws() -> Aws {
    let moto = moto();
    aws_from(moto.vars(&moto.user))
}

/// A client for moto with these keys.
fn aws_with_keys(keys: &Keys) -> Aws {
    aws_from(moto().vars(keys))
}

/// A client for a fake server, with made-up keys and `extra` variables.
fn fake_aws(fake: &Fake, extra: &[(&str, &str)]) -> Aws {
    let mut all = vars(&[
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", &fake.url),
        ("AWS_ACCESS_KEY_ID", "AKIDFAKE"),
        ("AWS_SECRET_ACCESS_KEY", "fake-secret"),
    ]);
    all.extend(vars(extra));
    aws_from(all)
}

/// A name no other test (or earlier run against the same moto) uses.
fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}-{nanos}-{}",
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn key(name: &str, value: &str) -> Item {
    Item::from([(name.to_string(), Value::from(value))])
}

// ---------------------------------------------------------------------------
// A fake AWS: one thread per connection, one request per connection
// (`Connection: close`), each answered as the test's handler says.

/// A request the fake server received.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    /// Names lower-case.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the fake does with a request.
enum Reply {
    /// An answer: status, extra headers, body.
    Answer(u16, Vec<(&'static str, String)>, Vec<u8>),
    /// Close the connection without a word.
    Close,
    /// Keep the connection open and never answer.
    Hang,
}

fn answer(status: u16, body: &str) -> Reply {
    Reply::Answer(status, Vec::new(), body.as_bytes().to_vec())
}

type Handler = dyn Fn(usize, &Seen) -> Reply + Send + Sync;

struct Fake {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    /// A server on a free port; `handler` gets each request with its index
    /// (0 for the first).
    fn start(handler: impl Fn(usize, &Seen) -> Reply + Send + Sync + 'static) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let log = seen.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (log, handler) = (log.clone(), handler.clone());
                thread::spawn(move || serve_one(stream, &log, &*handler));
            }
        });
        Fake { url, seen }
    }

    /// The same answer to every request.
    fn always(status: u16, body: &'static str) -> Fake {
        Fake::start(move |_, _| answer(status, body))
    }

    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

fn serve_one(stream: TcpStream, log: &Mutex<Vec<Seen>>, handler: &Handler) {
    let mut reader = BufReader::new(stream);
    let Some(request) = read_request(&mut reader) else {
        return;
    };
    let index = {
        let mut log = log.lock().unwrap();
        log.push(request.clone());
        log.len() - 1
    };
    let mut stream = reader.into_inner();
    match handler(index, &request) {
        Reply::Answer(status, headers, body) => {
            let mut head = format!(
                "HTTP/1.1 {status} Scripted\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
        Reply::Close => {}
        // Longer than any test waits; the client gives up first.
        Reply::Hang => thread::sleep(Duration::from_secs(5)),
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Seen> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let text = line.trim_end();
        if text.is_empty() {
            break;
        }
        let (name, value) = text.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap_or(0));
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Seen {
        method,
        path,
        headers,
        body,
    })
}

// ---------------------------------------------------------------------------
// Small things

/// UTC `(YYYYMMDD, YYYY-MM-DDTHH:MM:SSZ)` of seconds since the epoch.
fn utc(epoch_secs: u64) -> (String, String) {
    // Howard Hinnant's civil-from-days.
    let z = (epoch_secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let secs = epoch_secs % 86_400;
    (
        format!("{year:04}{month:02}{day:02}"),
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        ),
    )
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A JSON object's field.
fn field<'j>(value: &'j Json, name: &str) -> &'j Json {
    match value {
        Json::Object(object) => object
            .get(name)
            .unwrap_or_else(|| panic!("no {name} in the answer")),
        _ => panic!("not a JSON object"),
    }
}

fn text(value: &Json) -> &str {
    match value {
        Json::String(s) => s,
        _ => panic!("not a JSON string"),
    }
}

/// Assert an error's code and status, showing the error if they differ.
fn assert_error(error: &Error, code: &str, status: u16) {
    assert_eq!(
        (error.code.as_str(), error.status),
        (code, status),
        "{error}"
    );
}

/// An item's sets sorted, at any depth: DynamoDB keeps no order in a set.
fn sorted_sets(item: &Item) -> Item {
    fn sort(value: &Value) -> Value {
        match value {
            Value::Ss(v) | Value::Ns(v) => {
                let mut v = v.clone();
                v.sort();
                if matches!(value, Value::Ss(_)) {
                    Value::Ss(v)
                } else {
                    Value::Ns(v)
                }
            }
            Value::Bs(v) => {
                let mut v = v.clone();
                v.sort();
                Value::Bs(v)
            }
            Value::M(m) => Value::M(sorted_sets(m)),
            Value::L(l) => Value::L(l.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    item.iter().map(|(k, v)| (k.clone(), sort(v))).collect()
}
