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
#![cfg(feature = "aws")]

#[path = "common/moto.rs"]
mod moto;

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

// ---------------------------------------------------------------------------
// DynamoDB, against moto

mod dynamodb {
    use super::*;

    #[test]
    fn put_item_with_attribute_not_exists_refuses_a_second_put_of_the_same_key() {
        let aws = user_aws();
        let db = aws.dynamodb(Deadline::NONE);
        let mut item = key("id", &unique("put"));
        item.insert("qty".into(), Value::from(1));
        let only_new = Expr::new().condition("attribute_not_exists(id)");
        db.put_item(&moto().table, &item, &only_new)
            .expect("the first put");
        let again = db.put_item(&moto().table, &item, &only_new).unwrap_err();
        assert_error(&again, "ConditionalCheckFailedException", 400);
        assert_eq!(again.service, "dynamodb");
        assert!(again.request_id.is_some(), "{again:?}");
    }

    #[test]
    fn get_item_returns_the_item_or_none() {
        let aws = user_aws();
        let db = aws.dynamodb(Deadline::NONE);
        let id = unique("get");
        let mut item = key("id", &id);
        item.insert("note".into(), Value::from("hello"));
        db.put_item(&moto().table, &item, &Expr::new()).unwrap();
        let found = db.get_item(&moto().table, &key("id", &id)).unwrap();
        assert_eq!(found, Some(item));
        let missing = db
            .get_item(&moto().table, &key("id", &unique("absent")))
            .unwrap();
        assert_eq!(missing, None);
    }

    #[test]
    fn update_item_adds_through_name_and_value_placeholders_and_returns_all_new() {
        let aws = user_aws();
        let db = aws.dynamodb(Deadline::NONE);
        let id = unique("update");
        let mut item = key("id", &id);
        item.insert("qty".into(), Value::from(2));
        item.insert("note".into(), Value::from("kept"));
        db.put_item(&moto().table, &item, &Expr::new()).unwrap();
        let updated = db
            .update_item(
                &moto().table,
                &key("id", &id),
                "SET #q = #q + :n",
                &Expr::new().name("#q", "qty").value(":n", 3),
            )
            .unwrap();
        assert_eq!(updated["qty"].as_n::<u32>(), Some(5));
        // ALL_NEW: the whole item, not only what changed.
        assert_eq!(updated["note"].as_s(), Some("kept"));
        assert_eq!(updated["id"].as_s(), Some(id.as_str()));
    }

    #[test]
    fn delete_item_returns_the_old_item_then_none() {
        let aws = user_aws();
        let db = aws.dynamodb(Deadline::NONE);
        let id = unique("delete");
        let mut item = key("id", &id);
        item.insert("qty".into(), Value::from(7));
        db.put_item(&moto().table, &item, &Expr::new()).unwrap();
        let old = db
            .delete_item(&moto().table, &key("id", &id), &Expr::new())
            .unwrap();
        assert_eq!(old, Some(item));
        let again = db
            .delete_item(&moto().table, &key("id", &id), &Expr::new())
            .unwrap();
        assert_eq!(again, None);
        assert_eq!(db.get_item(&moto().table, &key("id", &id)).unwrap(), None);
    }

    #[test]
    fn query_filters_limits_descends_and_pages_with_last_evaluated_key() {
        let aws = user_aws();
        let db = aws.dynamodb(Deadline::NONE);
        let table = &moto().items_table;
        let pk = unique("query");
        for (n, sk) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            let mut item = key("pk", &pk);
            item.insert("sk".into(), Value::from(*sk));
            item.insert("n".into(), Value::from(n));
            db.put_item(table, &item, &Expr::new()).unwrap();
        }
        // Another partition, which the key condition must leave out.
        let mut other = key("pk", &unique("query-other"));
        other.insert("sk".into(), Value::from("z"));
        db.put_item(table, &other, &Expr::new()).unwrap();

        // sk > "a", highest first, two items read per page, "d" (n = 3)
        // filtered out after reading: DynamoDB applies Limit before the
        // filter, and so does moto.
        let query = Query::new("pk = :pk AND sk > :s")
            .value(":pk", pk.as_str())
            .value(":s", "a")
            .filter("#n <> :skip")
            .name("#n", "n")
            .value(":skip", 3)
            .limit(2)
            .descending();
        let sks = |items: &[Item]| -> Vec<String> {
            items
                .iter()
                .map(|i| i["sk"].as_s().unwrap().to_string())
                .collect()
        };

        let first = db.query(table, &query).unwrap();
        assert_eq!(sks(&first.items), ["e"]);
        let after_first = first.last_evaluated_key.expect("a second page");
        assert_eq!(after_first["sk"].as_s(), Some("d"));
        assert_eq!(after_first["pk"].as_s(), Some(pk.as_str()));

        let second = db
            .query(table, &query.clone().start_after(after_first))
            .unwrap();
        assert_eq!(sks(&second.items), ["c", "b"]);
        assert_eq!(second.items[0]["n"].as_n::<u32>(), Some(2));
        let after_second = second.last_evaluated_key.expect("a full page has a key");

        let last = db.query(table, &query.start_after(after_second)).unwrap();
        assert!(last.items.is_empty(), "{:?}", last.items);
        assert_eq!(last.last_evaluated_key, None);
    }

    #[test]
    fn every_attribute_type_round_trips_through_put_and_get() {
        let aws = user_aws();
        let db = aws.dynamodb(Deadline::NONE);
        let id = unique("types");
        let all_bytes: Vec<u8> = (0..=255).collect();
        let mut map = Item::new();
        map.insert("inner".into(), Value::from("deep"));
        map.insert(
            "list".into(),
            Value::L(vec![Value::Null, Value::from(1.5), Value::Bool(true)]),
        );
        let mut item = key("id", &id);
        item.insert("s".into(), Value::from("text with ünïcode and \"quotes\""));
        item.insert("n".into(), Value::from(-42));
        item.insert(
            "n_big".into(),
            Value::N("12345678901234567890123456789".into()),
        );
        item.insert("b".into(), Value::B(all_bytes.clone()));
        item.insert("bool".into(), Value::Bool(false));
        item.insert("null".into(), Value::Null);
        item.insert("m".into(), Value::M(map));
        item.insert(
            "l".into(),
            Value::L(vec![Value::from("x"), Value::from(2), Value::B(vec![0])]),
        );
        item.insert("ss".into(), Value::Ss(vec!["a".into(), "b".into()]));
        item.insert("ns".into(), Value::Ns(vec!["1".into(), "2.5".into()]));
        item.insert("bs".into(), Value::Bs(vec![vec![1], vec![2, 255]]));
        db.put_item(&moto().table, &item, &Expr::new()).unwrap();
        let back = db
            .get_item(&moto().table, &key("id", &id))
            .unwrap()
            .expect("the item");
        assert_eq!(sorted_sets(&back), sorted_sets(&item));
        assert_eq!(back["b"].as_b(), Some(&all_bytes[..]));
    }

    #[test]
    fn a_missing_table_is_resource_not_found() {
        let aws = user_aws();
        let e = aws
            .dynamodb(Deadline::NONE)
            .get_item("no-such-table", &key("id", "x"))
            .unwrap_err();
        assert_error(&e, "ResourceNotFoundException", 400);
        assert!(!e.message.is_empty(), "{e:?}");
    }
}

// ---------------------------------------------------------------------------
// SQS, against moto

mod sqs {
    use super::*;

    /// A queue of the test's own, made with the generic JSON call.
    fn new_queue(aws: &Aws) -> String {
        let body = format!(r#"{{"QueueName":"{}"}}"#, unique("q"));
        let answer = aws
            .call_json(Deadline::NONE, "sqs", "AmazonSQS.CreateQueue", "1.0", &body)
            .unwrap();
        let answer: Json = json::from_str(&answer).unwrap();
        text(field(&answer, "QueueUrl")).to_string()
    }

    /// The queue's messages, visible and in flight.
    fn message_counts(aws: &Aws, queue: &str) -> (String, String) {
        let body = format!(
            r#"{{"QueueUrl":"{queue}","AttributeNames":["ApproximateNumberOfMessages","ApproximateNumberOfMessagesNotVisible"]}}"#
        );
        let answer = aws
            .call_json(
                Deadline::NONE,
                "sqs",
                "AmazonSQS.GetQueueAttributes",
                "1.0",
                &body,
            )
            .unwrap();
        let answer: Json = json::from_str(&answer).unwrap();
        let attributes = field(&answer, "Attributes");
        (
            text(field(attributes, "ApproximateNumberOfMessages")).to_string(),
            text(field(attributes, "ApproximateNumberOfMessagesNotVisible")).to_string(),
        )
    }

    #[test]
    fn send_message_returns_a_message_id() {
        let aws = user_aws();
        let id = aws
            .sqs(Deadline::NONE)
            .send_message(&moto().queue_url, &Message::new(r#"{"id":"o-1"}"#))
            .unwrap();
        assert!(!id.is_empty());
    }

    #[test]
    fn a_batch_is_sent_received_and_deleted() {
        let aws = user_aws();
        let queue = new_queue(&aws);
        let sqs = aws.sqs(Deadline::NONE);
        let single = sqs.send_message(&queue, &Message::new("single")).unwrap();
        let bodies = ["first", "second", "third"];
        let batch = sqs
            .send_message_batch(&queue, &bodies.map(Message::new))
            .unwrap();
        assert!(batch.failed.is_empty(), "{:?}", batch.failed);
        let mut indexes: Vec<usize> = batch.successful.iter().map(|(i, _)| *i).collect();
        indexes.sort();
        assert_eq!(indexes, [0, 1, 2]);
        assert!(batch.successful.iter().all(|(_, id)| !id.is_empty()));

        let mut received = Vec::new();
        for _ in 0..10 {
            received.extend(sqs.receive_message(&queue, 10, 0).unwrap());
            if received.len() >= 4 {
                break;
            }
        }
        let mut got: Vec<&str> = received.iter().map(|m| m.body.as_str()).collect();
        got.sort();
        assert_eq!(got, ["first", "second", "single", "third"]);
        let ids: Vec<&str> = received.iter().map(|m| m.message_id.as_str()).collect();
        assert!(ids.contains(&single.as_str()));
        for (_, id) in &batch.successful {
            assert!(ids.contains(&id.as_str()), "{id} not received");
        }

        for message in &received {
            sqs.delete_message(&queue, &message.receipt_handle).unwrap();
        }
        // Gone, not merely in flight.
        assert_eq!(message_counts(&aws, &queue), ("0".into(), "0".into()));
        assert!(sqs.receive_message(&queue, 10, 0).unwrap().is_empty());
    }

    #[test]
    fn a_missing_queue_is_a_400_with_the_code_moto_sends() {
        let aws = user_aws();
        let missing = format!("{}/123456789012/{}", moto().endpoint, unique("none"));
        let e = aws
            .sqs(Deadline::NONE)
            .send_message(&missing, &Message::new("x"))
            .unwrap_err();
        assert!(!e.code.is_empty(), "{e:?}");
        // moto 5.2.1 sends com.amazonaws.sqs#QueueDoesNotExist.
        assert_error(&e, "QueueDoesNotExist", 400);
    }
}

// ---------------------------------------------------------------------------
// S3, against moto

mod s3 {
    use super::*;

    #[test]
    fn put_then_head_then_get_keep_the_bytes_and_the_metadata() {
        let aws = user_aws();
        let s3 = aws.s3(Deadline::NONE);
        let bucket = &moto().bucket;
        // A space and slashes: what moto can verify signatures for.
        let key = format!("dir/{}/with space.bin", unique("obj"));
        let body: Vec<u8> = (0..=255u8).rev().chain(0..=255).collect();
        let etag = s3
            .put_object(bucket, &key, &body, "application/octet-stream")
            .unwrap()
            .expect("an ETag");

        let info = s3.head_object(bucket, &key).unwrap();
        assert_eq!(
            info.content_type.as_deref(),
            Some("application/octet-stream")
        );
        assert_eq!(info.content_length, Some(body.len() as u64));
        assert_eq!(info.etag.as_deref(), Some(etag.as_str()));
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");

        let object = s3.get_object(bucket, &key).unwrap();
        assert_eq!(object.body, body);
        assert_eq!(object.info.etag.as_deref(), Some(etag.as_str()));

        let text_key = format!("{}.json", unique("plain"));
        s3.put_object(bucket, &text_key, b"{}", "application/json")
            .unwrap();
        let text = s3.get_object(bucket, &text_key).unwrap();
        assert_eq!(text.body, b"{}");
        assert_eq!(text.info.content_type.as_deref(), Some("application/json"));
    }

    #[test]
    fn a_missing_key_is_no_such_key_on_get_and_not_found_on_head() {
        let aws = user_aws();
        let s3 = aws.s3(Deadline::NONE);
        let key = unique("missing/key");
        let get = s3.get_object(&moto().bucket, &key).unwrap_err();
        assert_error(&get, "NoSuchKey", 404);
        let head = s3.head_object(&moto().bucket, &key).unwrap_err();
        assert_error(&head, "NotFound", 404);
    }
}

// ---------------------------------------------------------------------------
// Any JSON-protocol service, against moto

#[test]
fn call_json_lists_the_tables_with_dynamodb_s_own_target() {
    let aws = user_aws();
    let answer = aws
        .call_json(
            Deadline::NONE,
            "dynamodb",
            "DynamoDB_20120810.ListTables",
            "1.0",
            "{}",
        )
        .unwrap();
    let answer: Json = json::from_str(&answer).unwrap();
    let Json::Array(names) = field(&answer, "TableNames") else {
        panic!("TableNames is not a list");
    };
    let names: Vec<&str> = names.iter().map(text).collect();
    assert!(names.contains(&moto().table.as_str()), "{names:?}");
    assert!(names.contains(&moto().items_table.as_str()), "{names:?}");
}

#[test]
fn call_json_goes_where_the_lookup_s_service_variable_says() {
    // AWS_ENDPOINT_URL leads nowhere; AWS_ENDPOINT_URL_DYNAMODB must win,
    // and it comes from the lookup, not the process environment.
    let fake = Fake::always(200, r#"{"TableNames":[]}"#);
    let aws = aws_from(vars(&[
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_ENDPOINT_URL_DYNAMODB", &fake.url),
        ("AWS_ACCESS_KEY_ID", "AKIDFAKE"),
        ("AWS_SECRET_ACCESS_KEY", "fake-secret"),
        ("AWS_MAX_ATTEMPTS", "1"),
    ]));
    let answer = aws
        .call_json(
            Deadline::NONE,
            "dynamodb",
            "DynamoDB_20120810.ListTables",
            "1.0",
            "{}",
        )
        .unwrap();
    assert_eq!(answer, r#"{"TableNames":[]}"#);
    assert_eq!(fake.count(), 1);
}

// ---------------------------------------------------------------------------
// Credentials, against moto (and a fake container credentials endpoint)

mod credentials {
    use super::*;

    /// Any signed call: a read of a key that is not there.
    fn probe(aws: &Aws) -> Result<Option<Item>, Error> {
        probe_before(aws, Deadline::NONE)
    }

    fn probe_before(aws: &Aws, deadline: Deadline) -> Result<Option<Item>, Error> {
        aws.dynamodb(deadline)
            .get_item(&moto().table, &key("id", "credentials-probe"))
    }

    #[test]
    fn user_keys_without_a_session_token_are_accepted() {
        assert!(moto().user.session_token.is_none());
        let aws = user_aws();
        assert_eq!(aws.credentials().unwrap().session_token, None);
        probe(&aws).expect("signed with the user's keys");
    }

    #[test]
    fn role_keys_with_their_session_token_are_accepted() {
        let aws = aws_with_keys(&moto().role);
        assert!(aws.credentials().unwrap().session_token.is_some());
        probe(&aws).expect("signed with the role's keys and token");
        // S3 checks the token in its own code path.
        aws.s3(Deadline::NONE)
            .put_object(&moto().bucket, &unique("role"), b"x", "text/plain")
            .expect("S3 with the role's keys and token");
    }

    #[test]
    fn role_keys_without_their_session_token_are_refused() {
        let mut keys = moto().role.clone();
        keys.session_token = None;
        let e = probe(&aws_with_keys(&keys)).unwrap_err();
        assert_error(&e, "InvalidClientTokenId", 403);
    }

    #[test]
    fn a_wrong_secret_is_refused_with_signature_does_not_match() {
        let mut keys = moto().user.clone();
        keys.secret_access_key.push('x');
        let e = probe(&aws_with_keys(&keys)).unwrap_err();
        assert_error(&e, "SignatureDoesNotMatch", 403);
    }

    #[test]
    fn debug_of_credentials_never_shows_the_secret_or_the_token() {
        for keys in [&moto().user, &moto().role] {
            let shown = format!("{:?}", aws_with_keys(keys).credentials().unwrap());
            assert!(shown.contains(&keys.access_key_id), "{shown}");
            assert!(!shown.contains(&keys.secret_access_key), "{shown}");
            if let Some(token) = &keys.session_token {
                assert!(!shown.contains(token.as_str()), "{shown}");
            }
        }
    }

    const TOKEN: &str = "container-token-1";

    /// A container credentials endpoint serving the role's keys at
    /// `GET /creds` to whoever sends `Authorization: TOKEN`, else 403.
    fn endpoint(expiration: String) -> Fake {
        let role = moto().role.clone();
        Fake::start(move |_, seen| {
            if seen.method != "GET" || seen.path != "/creds" {
                return answer(404, "");
            }
            if seen.header("authorization") != Some(TOKEN) {
                return answer(403, r#"{"message":"bad token"}"#);
            }
            let body = format!(
                r#"{{"AccessKeyId":"{}","SecretAccessKey":"{}","Token":"{}","Expiration":"{expiration}"}}"#,
                role.access_key_id,
                role.secret_access_key,
                role.session_token.as_deref().unwrap(),
            );
            answer(200, &body)
        })
    }

    /// A client for moto whose keys come from `endpoint`, with `token_vars`
    /// saying where its token is.
    fn container_aws(endpoint: &Fake, token_vars: &[(&str, &str)]) -> Aws {
        let uri = format!("{}/creds", endpoint.url);
        let mut all = vars(&[
            ("AWS_REGION", &moto().region),
            ("AWS_ENDPOINT_URL", &moto().endpoint),
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri),
        ]);
        all.extend(vars(token_vars));
        aws_from(all)
    }

    /// An hour away, as the endpoint's keys usually are.
    fn in_an_hour() -> String {
        utc(now_secs() + 3600).1
    }

    #[test]
    fn container_keys_are_fetched_with_the_token_once_and_cached() {
        let endpoint = endpoint(in_an_hour());
        let aws = container_aws(&endpoint, &[("AWS_CONTAINER_AUTHORIZATION_TOKEN", TOKEN)]);
        assert_eq!(endpoint.count(), 0, "nothing is fetched before a call");
        probe(&aws).expect("signed with the endpoint's keys");
        probe(&aws).expect("and again");
        assert_eq!(endpoint.count(), 1, "two calls, one fetch");
        let keys = aws.credentials().unwrap();
        assert_eq!(keys.access_key_id, moto().role.access_key_id);
        assert!(keys.expires_at.is_some());
        assert_eq!(endpoint.count(), 1);
    }

    #[test]
    fn container_token_can_come_from_a_file() {
        let path = std::env::temp_dir().join(unique("tiny-lambda-token"));
        std::fs::write(&path, format!("{TOKEN}\n")).unwrap();
        let endpoint = endpoint(in_an_hour());
        let aws = container_aws(
            &endpoint,
            &[(
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                path.to_str().unwrap(),
            )],
        );
        let result = probe(&aws).and_then(|_| probe(&aws));
        let _ = std::fs::remove_file(&path);
        result.expect("signed with the endpoint's keys");
        assert_eq!(endpoint.count(), 1, "two calls, one fetch");
    }

    #[test]
    fn container_keys_expiring_within_five_minutes_are_fetched_for_every_call() {
        let endpoint = endpoint(utc(now_secs() + 120).1);
        let aws = container_aws(&endpoint, &[("AWS_CONTAINER_AUTHORIZATION_TOKEN", TOKEN)]);
        probe(&aws).unwrap();
        probe(&aws).unwrap();
        assert_eq!(endpoint.count(), 2, "two calls, two fetches");
    }

    #[test]
    fn a_wrong_container_token_is_a_credentials_error() {
        let endpoint = endpoint(in_an_hour());
        let aws = container_aws(&endpoint, &[("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong")]);
        let e = probe(&aws).unwrap_err();
        assert_eq!(e.code, "CredentialsError", "{e}");
        assert!(e.message.contains("403"), "{e}");
        // A refusal is not a failure on the way: asked once, not retried.
        assert_eq!(endpoint.count(), 1);
    }

    #[test]
    fn a_hanging_credentials_endpoint_is_cut_at_the_deadline() {
        let endpoint = Fake::start(|_, _| Reply::Hang);
        let aws = container_aws(&endpoint, &[("AWS_CONTAINER_AUTHORIZATION_TOKEN", TOKEN)]);
        let start = Instant::now();
        let e = probe_before(&aws, Deadline::at(start + Duration::from_millis(500))).unwrap_err();
        let elapsed = start.elapsed();
        assert_error(&e, "DeadlineExceeded", 0);
        assert!(elapsed < Duration::from_millis(600), "{elapsed:?}");
        assert_eq!(endpoint.count(), 1);
    }
}

// ---------------------------------------------------------------------------
// Retries, deadlines and broken answers, against a fake AWS

mod faults {
    use super::*;

    const THROTTLED: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate exceeded"}"#;

    fn get(aws: &Aws, deadline: Deadline) -> Result<Option<Item>, Error> {
        aws.dynamodb(deadline).get_item("t", &key("id", "1"))
    }

    #[test]
    fn throttling_is_retried_until_it_succeeds() {
        let fake = Fake::start(|i, _| {
            if i < 2 {
                answer(400, THROTTLED)
            } else {
                answer(200, "{}")
            }
        });
        let got = get(&fake_aws(&fake, &[]), Deadline::NONE).unwrap();
        assert_eq!(got, None);
        assert_eq!(fake.count(), 3);
    }

    #[test]
    fn server_errors_are_tried_three_times_then_returned() {
        let fake = Fake::always(500, r#"{"__type":"InternalServerError","message":"boom"}"#);
        let e = get(&fake_aws(&fake, &[]), Deadline::NONE).unwrap_err();
        assert_eq!(e.status, 500, "{e}");
        assert_eq!(e.code, "InternalServerError");
        assert_eq!(fake.count(), 3);
    }

    #[test]
    fn aws_max_attempts_1_tries_once() {
        let fake = Fake::always(500, "");
        let aws = fake_aws(&fake, &[("AWS_MAX_ATTEMPTS", "1")]);
        let e = get(&aws, Deadline::NONE).unwrap_err();
        assert_error(&e, "InternalError", 500);
        assert_eq!(fake.count(), 1);
    }

    #[test]
    fn a_broken_connection_is_retried_then_a_connection_error() {
        let fake = Fake::start(|_, _| Reply::Close);
        let e = get(&fake_aws(&fake, &[]), Deadline::NONE).unwrap_err();
        assert_error(&e, "ConnectionError", 0);
        assert_eq!(fake.count(), 3);
    }

    #[test]
    fn a_validation_error_is_not_retried() {
        let fake = Fake::always(
            400,
            r#"{"__type":"com.amazon.coral.validate#ValidationException","message":"bad key"}"#,
        );
        let e = get(&fake_aws(&fake, &[]), Deadline::NONE).unwrap_err();
        assert_error(&e, "ValidationException", 400);
        assert_eq!(e.message, "bad key");
        assert_eq!(fake.count(), 1);
    }

    #[test]
    fn retries_never_sleep_past_the_deadline() {
        let fake = Fake::always(503, "");
        let aws = fake_aws(&fake, &[]);
        let start = Instant::now();
        let e = get(&aws, Deadline::at(start + Duration::from_millis(700))).unwrap_err();
        let elapsed = start.elapsed();
        assert!(
            matches!(e.code.as_str(), "ServiceUnavailable" | "DeadlineExceeded"),
            "{e}"
        );
        assert!(elapsed < Duration::from_millis(700), "{elapsed:?}");
        assert!(fake.count() >= 1);
    }

    #[test]
    fn a_server_that_never_answers_is_cut_at_the_deadline() {
        let fake = Fake::start(|_, _| Reply::Hang);
        let aws = fake_aws(&fake, &[]);
        let start = Instant::now();
        let e = get(&aws, Deadline::at(start + Duration::from_millis(500))).unwrap_err();
        let elapsed = start.elapsed();
        assert_error(&e, "DeadlineExceeded", 0);
        assert!(elapsed < Duration::from_millis(600), "{elapsed:?}");
        assert_eq!(fake.count(), 1);
    }

    #[test]
    fn malformed_answers_are_errors_not_panics() {
        for body in [
            &b"not json"[..],
            br#"{"Item": {"id": {"Q": "x"}}}"#,
            br#"{"Item": "x"}"#,
            b"[]",
            b"\xff\xfe",
        ] {
            let body = body.to_vec();
            let fake = Fake::start(move |_, _| Reply::Answer(200, Vec::new(), body.clone()));
            let e = get(&fake_aws(&fake, &[]), Deadline::NONE).unwrap_err();
            assert_eq!(e.code, "MalformedResponse", "{e}");
            assert_eq!(fake.count(), 1, "not retried");
        }

        let fake = Fake::always(200, r#"{"Messages": "not a list"}"#);
        let e = fake_aws(&fake, &[])
            .sqs(Deadline::NONE)
            .receive_message(&fake.url, 10, 0)
            .unwrap_err();
        assert_eq!(e.code, "MalformedResponse", "{e}");

        let fake = Fake::always(500, "\u{1}garbage<<");
        let aws = fake_aws(&fake, &[]).with_max_attempts(1);
        let e = get(&aws, Deadline::NONE).unwrap_err();
        assert_eq!(e.status, 500, "{e}");
        assert!(!e.code.is_empty(), "{e:?}");
    }
}

// ---------------------------------------------------------------------------
// What a signed request carries, as the fake AWS sees it

mod signing {
    use super::*;

    /// `AWS4-HMAC-SHA256 Credential=KEY/DATE/us-east-1/SERVICE/aws4_request`
    /// for today (or yesterday, at midnight), and the `x-amz-date`.
    fn assert_signed(seen: &Seen, before: u64, service: &str) {
        let date = seen.header("x-amz-date").expect("x-amz-date");
        assert_eq!(date.len(), 16, "{date}");
        assert!(date.ends_with('Z') && date.as_bytes()[8] == b'T', "{date}");
        let authorization = seen.header("authorization").expect("authorization");
        let dates = [utc(before).0, utc(now_secs()).0];
        assert!(
            dates.iter().any(|day| {
                authorization.starts_with(&format!(
                    "AWS4-HMAC-SHA256 Credential=AKIDFAKE/{day}/us-east-1/{service}/aws4_request, "
                )) && date.starts_with(day.as_str())
            }),
            "{authorization} (x-amz-date {date})"
        );
        let signature = authorization.rsplit("Signature=").next().unwrap();
        assert_eq!(signature.len(), 64, "{authorization}");
        assert!(signature.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn json_requests_carry_the_target_the_date_and_a_sigv4_authorization() {
        let fake = Fake::always(200, "{}");
        let before = now_secs();
        fake_aws(&fake, &[])
            .dynamodb(Deadline::NONE)
            .get_item("t", &key("id", "1"))
            .unwrap();
        let seen = &fake.requests()[0];
        assert_eq!((seen.method.as_str(), seen.path.as_str()), ("POST", "/"));
        assert_eq!(
            seen.header("x-amz-target"),
            Some("DynamoDB_20120810.GetItem")
        );
        assert_eq!(
            seen.header("content-type"),
            Some("application/x-amz-json-1.0")
        );
        assert_signed(seen, before, "dynamodb");
        let authorization = seen.header("authorization").unwrap();
        assert!(
            authorization.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-target, "),
            "{authorization}"
        );
        assert_eq!(seen.header("x-amz-security-token"), None);
        let body: Json = json::from_str(std::str::from_utf8(&seen.body).unwrap()).unwrap();
        assert_eq!(text(field(&body, "TableName")), "t");
    }

    #[test]
    fn a_session_token_is_sent_and_signed() {
        let fake = Fake::always(200, "{}");
        let before = now_secs();
        fake_aws(&fake, &[("AWS_SESSION_TOKEN", "session-token")])
            .sqs(Deadline::NONE)
            .delete_message(&fake.url, "handle")
            .unwrap();
        let seen = &fake.requests()[0];
        assert_eq!(seen.header("x-amz-target"), Some("AmazonSQS.DeleteMessage"));
        assert_eq!(seen.header("x-amz-security-token"), Some("session-token"));
        assert_signed(seen, before, "sqs");
        assert!(
            seen.header("authorization")
                .unwrap()
                .contains(";x-amz-security-token;x-amz-target, ")
        );
    }

    #[test]
    fn s3_requests_carry_the_payload_hash() {
        let fake = Fake::start(|_, _| {
            Reply::Answer(200, vec![("ETag", "\"abc\"".to_string())], Vec::new())
        });
        let before = now_secs();
        let etag = fake_aws(&fake, &[])
            .s3(Deadline::NONE)
            .put_object("bucket", "dir/a b.txt", b"hello", "text/plain")
            .unwrap();
        assert_eq!(etag.as_deref(), Some("\"abc\""));
        let seen = &fake.requests()[0];
        assert_eq!(
            (seen.method.as_str(), seen.path.as_str()),
            ("PUT", "/bucket/dir/a%20b.txt")
        );
        assert_eq!(seen.body, b"hello");
        assert_eq!(seen.header("content-type"), Some("text/plain"));
        // SHA-256 of "hello".
        assert_eq!(
            seen.header("x-amz-content-sha256"),
            Some("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        );
        assert_signed(seen, before, "s3");
        assert!(
            seen.header("authorization")
                .unwrap()
                .contains("SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, ")
        );
    }
}

// ---------------------------------------------------------------------------
// Connections

mod connections {
    use super::*;

    /// A server that keeps connections alive, answering `{}` to each request
    /// on them; returns its URL and how many connections it accepted.
    fn keep_alive_server() -> (String, Arc<AtomicU32>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicU32::new(0));
        let count = accepted.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                count.fetch_add(1, Ordering::SeqCst);
                thread::spawn(move || {
                    let mut reader = BufReader::new(stream);
                    while read_request(&mut reader).is_some() {
                        let answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
                        if reader.get_mut().write_all(answer.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (url, accepted)
    }

    #[test]
    fn calls_on_one_thread_share_one_kept_alive_connection() {
        let (url, accepted) = keep_alive_server();
        let aws = aws_from(vars(&[
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", &url),
            ("AWS_ACCESS_KEY_ID", "AKIDFAKE"),
            ("AWS_SECRET_ACCESS_KEY", "fake-secret"),
        ]));
        // Each test runs on a thread of its own, so this thread's agent is new.
        for _ in 0..5 {
            aws.dynamodb(Deadline::NONE)
                .put_item("t", &key("id", "1"), &Expr::new())
                .unwrap();
            aws.sqs(Deadline::NONE)
                .delete_message("q", "handle")
                .unwrap();
        }
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            1,
            "ten calls, one connection"
        );

        // Another thread (another runtime thread under Managed Instances)
        // has an agent, and a connection, of its own.
        let other = aws.clone();
        thread::spawn(move || {
            other
                .dynamodb(Deadline::NONE)
                .get_item("t", &key("id", "1"))
                .unwrap();
        })
        .join()
        .unwrap();
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
        // What a SnapStart restore does to them: tests/aws_restore.rs (a
        // process of its own, as a restore touches every client in it).
    }
}
