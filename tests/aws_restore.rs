//! What a SnapStart restore does to the AWS client: pooled connections are
//! not used again, and keys are read again from the environment. A test
//! binary of its own, because a restore touches every client of the process
//! and the other tests share theirs.
#![cfg(feature = "aws")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;

use tiny_lambda::aws::dynamodb::{Item, Value};
use tiny_lambda::aws::{Aws, Deadline, after_restore};

/// A keep-alive server answering `{}` to every request; counts connections
/// and keeps the `authorization` header of each request.
fn server() -> (String, Arc<AtomicU32>, Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicU32::new(0));
    let auth = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (count, seen) = (accepted.clone(), auth.clone());
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            count.fetch_add(1, Ordering::SeqCst);
            let seen = seen.clone();
            thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                loop {
                    let mut length = 0;
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        line.clear();
                        reader.read_line(&mut line).unwrap();
                        let lower = line.trim_end().to_ascii_lowercase();
                        if lower.is_empty() {
                            break;
                        }
                        if let Some(n) = lower.strip_prefix("content-length:") {
                            length = n.trim().parse().unwrap();
                        }
                        if let Some(a) = lower.strip_prefix("authorization:") {
                            seen.lock().unwrap().push(a.trim().to_string());
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    let answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
                    if reader.get_mut().write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, accepted, auth)
}

#[test]
fn a_restore_drops_the_connections_and_reads_the_keys_again() {
    let (url, accepted, auth) = server();
    // SAFETY of the environment: this test binary has one test, on one
    // thread, and nothing else reads the environment while it is changed.
    unsafe {
        std::env::set_var("AWS_REGION", "us-east-1");
        std::env::set_var("AWS_ENDPOINT_URL", &url);
        std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDBEFORE");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "secret");
    }
    let aws = Aws::from_env().unwrap();
    let key = Item::from([("id".to_string(), Value::from("1"))]);
    let get = || aws.dynamodb(Deadline::NONE).get_item("t", &key).unwrap();
    get();
    get();
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "kept alive before the restore"
    );

    // The snapshot is restored in another environment, with other keys.
    unsafe { std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDAFTER") };
    after_restore();
    get();
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        2,
        "a new connection after it"
    );
    let auth = auth.lock().unwrap();
    assert!(auth[1].contains("credential=akidbefore/"), "{}", auth[1]);
    assert!(auth[2].contains("credential=akidafter/"), "{}", auth[2]);
}
