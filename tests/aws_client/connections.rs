//! Connections: calls on one thread share one kept-alive connection,
//! and another thread has one of its own.

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
