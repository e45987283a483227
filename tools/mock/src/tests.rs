//! The mock against a raw test client: what it answers, records and injects.
use super::*;
use std::format;
use std::io::{BufRead, BufReader, Read, Write};
use std::vec;

pub(super) const WAIT: Duration = Duration::from_secs(5);

/// What a raw test client read back.
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
}

impl Reply {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    pub(super) fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
}

pub(super) fn connect(api: &RuntimeApi) -> TcpStream {
    let stream = TcpStream::connect(api.address()).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream
}

/// Sends one request with a Content-Length body and reads the answer,
/// on a connection that stays open.
fn send(
    stream: &mut TcpStream,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<Reply> {
    let mut head = format!(
        "{method} {PREFIX}{path} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    read_reply(stream)
}

/// Reads one answer, whose body the mock sends with a Content-Length.
pub(super) fn read_reply(stream: &mut TcpStream) -> io::Result<Reply> {
    let mut reader = BufReader::new(&*stream);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    let status = line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap();
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        let (name, value) = trimmed.split_once(':').unwrap();
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    let length: usize = find_header(&headers, "Content-Length").map_or(0, |v| v.parse().unwrap());
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Reply {
        status,
        headers,
        body,
    })
}

pub(super) fn get_next(api: &RuntimeApi) -> Reply {
    send(&mut connect(api), "GET", "/invocation/next", &[], b"").unwrap()
}

pub(super) fn post_response(api: &RuntimeApi, id: &str, body: &[u8]) -> Reply {
    send(
        &mut connect(api),
        "POST",
        &format!("/invocation/{id}/response"),
        &[],
        body,
    )
    .unwrap()
}

#[test]
fn hands_out_an_event_and_takes_its_response() {
    let api = RuntimeApi::start().unwrap();
    let id = api.push(
        Event::new(r#"{"a":1}"#)
            .client_context("{}")
            .tenant_id("t1"),
    );
    let next = get_next(&api);
    assert_eq!(next.status, 200);
    assert_eq!(next.text(), r#"{"a":1}"#);
    assert_eq!(
        next.header("Lambda-Runtime-Aws-Request-Id"),
        Some(id.as_str())
    );
    assert_eq!(
        next.header("Lambda-Runtime-Invoked-Function-Arn"),
        Some(DEFAULT_FUNCTION_ARN)
    );
    assert_eq!(next.header("Content-Type"), Some("application/json"));
    assert_eq!(next.header("Lambda-Runtime-Client-Context"), Some("{}"));
    assert_eq!(next.header("Lambda-Runtime-Aws-Tenant-Id"), Some("t1"));
    assert!(next.header("Lambda-Runtime-Cognito-Identity").is_none());
    assert!(
        next.header("Lambda-Runtime-Trace-Id")
            .unwrap()
            .starts_with("Root=1-")
    );
    assert!(next.header(INVOCATION_ID).is_some());
    let deadline: u128 = next
        .header("Lambda-Runtime-Deadline-Ms")
        .unwrap()
        .parse()
        .unwrap();
    assert!(deadline > epoch_ms() + 29_000);

    let answer = post_response(&api, &id, b"\"done\"");
    assert_eq!(answer.status, 202);
    assert_eq!(answer.text(), r#"{"status":"OK"}"#);
    let Some(Outcome::Response(posted)) = api.wait_outcome(&id, WAIT) else {
        panic!("no response recorded");
    };
    assert_eq!(posted.body_str(), "\"done\"");
    assert_eq!(posted.status, 202);
    assert!(posted.handed_out_at.is_some_and(|h| h <= posted.at));
    assert!(api.first_next_at().is_some());
    let records = api.records();
    assert_eq!(records.len(), 2);
    assert_eq!(
        (records[0].method.as_str(), records[0].status),
        ("GET", 200)
    );
    assert_eq!(
        (records[1].method.as_str(), records[1].status),
        ("POST", 202)
    );
}

#[test]
fn a_waiting_next_gets_the_event_when_it_is_pushed() {
    let api = RuntimeApi::start().unwrap();
    let mut stream = connect(&api);
    let waiter =
        thread::spawn(move || send(&mut stream, "GET", "/invocation/next", &[], b"").unwrap());
    assert!(api.wait_next_calls(1, WAIT));
    assert_eq!(api.records()[0].status, 0);
    api.push(Event::new("late"));
    let next = waiter.join().unwrap();
    assert_eq!((next.status, next.text()), (200, "late"));
}

#[test]
fn refuses_posts_like_lambda() {
    let api = RuntimeApi::start().unwrap();
    assert_eq!(post_response(&api, "nobody", b"{}").status, 400);

    let id = api.push(Event::new("{}"));
    get_next(&api);
    assert_eq!(post_response(&api, &id, b"1").status, 202);
    let again = post_response(&api, &id, b"2");
    assert_eq!(again.status, 403);
    assert!(again.text().contains("InvalidStateTransition"));

    let id = api.push(Event::new("{}").timeout(Duration::from_millis(10)));
    get_next(&api);
    thread::sleep(Duration::from_millis(30));
    assert_eq!(post_response(&api, &id, b"late").status, 410);

    let id = api.push(Event::new("{}"));
    get_next(&api);
    let large = post_response(&api, &id, &vec![b'x'; MAX_RESPONSE_BYTES + 1]);
    assert_eq!(large.status, 413);
    assert!(large.text().contains("6291556"));
    let path = format!("/invocation/{id}/error");
    assert_eq!(
        send(&mut connect(&api), "POST", &path, &[], b"{}")
            .unwrap()
            .status,
        202
    );
    // The outcome is the first post, refused or not.
    assert_eq!(api.wait_outcome(&id, WAIT).unwrap().posted().status, 413);

    assert_eq!(
        send(&mut connect(&api), "GET", "/nothing", &[], b"")
            .unwrap()
            .status,
        404
    );
    assert_eq!(
        send(&mut connect(&api), "POST", "/invocation/next", &[], b"")
            .unwrap()
            .status,
        405
    );
}

#[test]
fn takes_one_init_error() {
    let api = RuntimeApi::start().unwrap();
    let body = br#"{"errorMessage":"boom","errorType":"Init"}"#;
    assert_eq!(
        send(&mut connect(&api), "POST", "/init/error", &[], body)
            .unwrap()
            .status,
        202
    );
    assert_eq!(
        send(&mut connect(&api), "POST", "/init/error", &[], body)
            .unwrap()
            .status,
        403
    );
    assert_eq!(api.wait_init_error(WAIT).unwrap().body, body);
}

#[test]
fn can_require_the_invocation_id_back() {
    let api = RuntimeApi::start().unwrap();
    api.require_invocation_id(true);
    let id = api.push(Event::new("{}").invocation_id(Some("nonce-1")));
    get_next(&api);
    let bare = post_response(&api, &id, b"{}");
    assert_eq!(bare.status, 400);
    assert!(bare.text().contains("InvalidInvocationId"));
    let path = format!("/invocation/{id}/response");
    let with = send(
        &mut connect(&api),
        "POST",
        &path,
        &[(INVOCATION_ID, "nonce-1")],
        b"{}",
    )
    .unwrap();
    assert_eq!(with.status, 202);
}

#[test]
fn overrides_and_omits_headers() {
    let api = RuntimeApi::start().unwrap();
    api.push(
        Event::new("{}")
            .header("lambda-runtime-deadline-ms", "soon")
            .without("Lambda-Runtime-Trace-Id"),
    );
    let next = get_next(&api);
    assert_eq!(next.header("Lambda-Runtime-Deadline-Ms"), Some("soon"));
    assert!(next.header("Lambda-Runtime-Trace-Id").is_none());
}

#[test]
fn next_faults_apply_in_order() {
    let api = RuntimeApi::start().unwrap();
    api.fault_next(Fault::Status(500));
    api.fault_next(Fault::Close);
    api.fault_next(Fault::Delay(Duration::from_millis(100)));
    let id = api.push(Event::new("{}"));

    let failed = get_next(&api);
    assert_eq!(failed.status, 500);
    assert!(failed.text().contains("errorType"));

    // End-of-file, not the read timeout: the mock really closed it.
    let closed = send(&mut connect(&api), "GET", "/invocation/next", &[], b"");
    assert_eq!(
        closed.err().map(|e| e.kind()),
        Some(io::ErrorKind::UnexpectedEof)
    );

    let started = Instant::now();
    let delayed = get_next(&api);
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(
        delayed.header("Lambda-Runtime-Aws-Request-Id"),
        Some(id.as_str())
    );
    assert!(api.wait_next_calls(3, WAIT));
}

#[test]
fn post_faults_apply_in_order() {
    let api = RuntimeApi::start().unwrap();
    api.fault_post(Fault::Status(500));
    api.fault_post(Fault::Close);
    api.fault_post(Fault::Delay(Duration::from_millis(100)));
    let id = api.push(Event::new("{}"));
    get_next(&api);

    assert_eq!(post_response(&api, &id, b"1").status, 500);
    let path = format!("/invocation/{id}/response");
    assert!(send(&mut connect(&api), "POST", &path, &[], b"2").is_err());
    let started = Instant::now();
    assert_eq!(post_response(&api, &id, b"3").status, 202);
    assert!(started.elapsed() >= Duration::from_millis(100));

    let outcome = api.wait_outcome(&id, WAIT).unwrap();
    assert_eq!(
        (outcome.posted().status, outcome.posted().body_str()),
        (500, "1")
    );
    let statuses: Vec<u16> = api.records().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 500, 0, 202]);
}

#[test]
fn keeps_one_connection_alive() {
    let api = RuntimeApi::start().unwrap();
    let mut stream = connect(&api);
    for body in ["one", "two"] {
        let id = api.push(Event::new(body));
        let next = send(&mut stream, "GET", "/invocation/next", &[], b"").unwrap();
        assert_eq!(next.text(), body);
        let path = format!("/invocation/{id}/response");
        assert_eq!(
            send(&mut stream, "POST", &path, &[], body.as_bytes())
                .unwrap()
                .status,
            202
        );
    }
}

#[test]
fn reads_a_chunked_body() {
    let api = RuntimeApi::start().unwrap();
    let id = api.push(Event::new("{}"));
    get_next(&api);
    let mut stream = connect(&api);
    let head = format!(
        "POST {PREFIX}/invocation/{id}/response HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream
        .write_all(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        .unwrap();
    assert_eq!(read_reply(&mut stream).unwrap().status, 202);
    assert_eq!(
        api.wait_outcome(&id, WAIT).unwrap().posted().body_str(),
        "hello world"
    );
}

#[test]
fn serves_concurrent_nexts_up_to_its_limit_and_counts_the_peak() {
    let api = RuntimeApi::start().unwrap();
    api.max_concurrency(2);
    // Two /next requests wait at once, each on its own connection.
    let waiting: Vec<_> = (0..2)
        .map(|_| {
            let mut stream = connect(&api);
            let head = format!("GET {PREFIX}/invocation/next HTTP/1.1\r\nHost: t\r\n\r\n");
            stream.write_all(head.as_bytes()).unwrap();
            stream
        })
        .collect();
    assert!(api.wait_next_calls(2, WAIT));
    // A third is beyond the limit.
    let third = get_next(&api);
    assert_eq!(third.status, 403);
    assert!(third.text().contains("InvalidStateTransition"));
    let ids = [api.push(Event::new("1")), api.push(Event::new("2"))];
    for mut stream in waiting {
        assert_eq!(read_reply(&mut stream).unwrap().status, 200);
    }
    assert_eq!(api.peak_concurrency(), 2);
    // Answered ones no longer count: a /next is welcome again.
    for id in &ids {
        assert_eq!(post_response(&api, id, b"0").status, 202);
    }
    api.push(Event::new("3"));
    assert_eq!(get_next(&api).status, 200);
    let peers: Vec<_> = api.records().iter().map(|r| r.peer).collect();
    assert!(peers.iter().all(Option::is_some));
}

#[test]
fn restore_next_waits_for_restore_and_its_connection_dies() {
    let api = RuntimeApi::start().unwrap();
    let mut stream = connect(&api);
    let head = format!("GET {PREFIX}/restore/next HTTP/1.1\r\nHost: t\r\n\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    assert!(api.wait_restore_next(WAIT));
    api.restore();
    assert_eq!(read_reply(&mut stream).unwrap().status, 200);
    // The same connection after the restore: swallowed, never answered.
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let head = format!("GET {PREFIX}/invocation/next HTTP/1.1\r\nHost: t\r\n\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    assert!(read_reply(&mut stream).is_err());
    let start = Instant::now();
    while api.requests_on_dead_connections() == 0 && start.elapsed() < WAIT {
        thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(api.requests_on_dead_connections(), 1);
    // After the restore, a new /restore/next is answered at once.
    let again = send(&mut connect(&api), "GET", "/restore/next", &[], b"").unwrap();
    assert_eq!(again.status, 200);
}

#[test]
fn restore_faults_and_restore_error() {
    let api = RuntimeApi::start().unwrap();
    api.fault_restore(Fault::Status(500));
    let failed = send(&mut connect(&api), "GET", "/restore/next", &[], b"").unwrap();
    assert_eq!(failed.status, 500);
    api.fault_restore(Fault::Close);
    assert!(send(&mut connect(&api), "GET", "/restore/next", &[], b"").is_err());
    let headers = [(
        "Lambda-Runtime-Function-Error-Type",
        "Runtime.AfterRestoreError",
    )];
    let first = send(
        &mut connect(&api),
        "POST",
        "/restore/error",
        &headers,
        b"{}",
    )
    .unwrap();
    assert_eq!(first.status, 202);
    let second = send(
        &mut connect(&api),
        "POST",
        "/restore/error",
        &headers,
        b"{}",
    )
    .unwrap();
    assert_eq!(second.status, 403);
    let posted = api.wait_restore_error(WAIT).unwrap();
    assert_eq!(
        posted.header("Lambda-Runtime-Function-Error-Type"),
        Some("Runtime.AfterRestoreError")
    );
    let wrong = send(&mut connect(&api), "POST", "/restore/next", &[], b"").unwrap();
    assert_eq!(wrong.status, 405);
}

/// Starts a streamed answer for `id` on a fresh connection: the head only.
fn start_stream(api: &RuntimeApi, id: &str) -> TcpStream {
    let mut stream = connect(api);
    let head = format!(
        "POST {PREFIX}/invocation/{id}/response HTTP/1.1\r\nHost: test\r\n\
         Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n\
         Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream
}

#[test]
fn records_a_stream_chunk_by_chunk_with_its_trailers() {
    let api = RuntimeApi::start().unwrap();
    let id = api.push(Event::new("{}"));
    get_next(&api);
    let mut stream = start_stream(&api, &id);
    stream.write_all(b"5\r\nhello\r\n").unwrap();
    // Followed live: the first chunk is there before the stream ends.
    let (first, ended) = api.wait_chunks(&id, 0, WAIT).unwrap();
    assert_eq!((first.len(), ended), (1, false));
    assert_eq!(first[0].bytes, b"hello");
    assert!(api.wait_outcome(&id, Duration::ZERO).is_none());
    thread::sleep(Duration::from_millis(50));
    stream
        .write_all(b"6\r\n world\r\n0\r\nLambda-Runtime-Function-Error-Type: Function.Late\r\nLambda-Runtime-Function-Error-Body: eyJhIjoxfQ==\r\n\r\n")
        .unwrap();
    assert_eq!(read_reply(&mut stream).unwrap().status, 202);
    let (rest, ended) = api.wait_chunks(&id, 1, WAIT).unwrap();
    assert_eq!((rest.len(), ended), (1, true));

    let Some(Outcome::Response(posted)) = api.wait_outcome(&id, WAIT) else {
        panic!("no outcome");
    };
    assert_eq!(posted.body_str(), "hello world");
    let recorded = posted.stream.unwrap();
    assert!(recorded.complete);
    assert_eq!(recorded.chunks.len(), 2);
    let gap = recorded.chunks[1].at.duration_since(recorded.chunks[0].at);
    assert!(gap >= Duration::from_millis(40), "{gap:?}");
    assert_eq!(
        recorded.trailer("lambda-runtime-function-error-type"),
        Some("Function.Late")
    );
    assert_eq!(recorded.error_body().as_deref(), Some(r#"{"a":1}"#));
    assert!(recorded.ended_at.unwrap() >= recorded.chunks[1].at);
    // The connection stays open for the next request.
    let again = send(&mut stream, "GET", "/nothing", &[], b"").unwrap();
    assert_eq!(again.status, 404);
}

#[test]
fn a_close_fault_cuts_a_stream_after_its_first_chunk() {
    let api = RuntimeApi::start().unwrap();
    api.fault_post(Fault::Close);
    let id = api.push(Event::new("{}"));
    get_next(&api);
    let mut stream = start_stream(&api, &id);
    stream.write_all(b"3\r\nabc\r\n").unwrap();
    let Some(Outcome::Response(posted)) = api.wait_outcome(&id, WAIT) else {
        panic!("no outcome");
    };
    assert_eq!(posted.status, 0);
    let recorded = posted.stream.clone().unwrap();
    assert!(recorded.ended && !recorded.complete);
    assert_eq!(posted.body_str(), "abc");
    // The socket is closed: the client reads end-of-file.
    let mut rest = Vec::new();
    assert_eq!(
        stream.read_to_end(&mut rest).map(|_| rest.len()).ok(),
        Some(0)
    );
}

#[test]
fn a_stream_open_past_its_deadline_gets_410_and_is_closed() {
    let api = RuntimeApi::start().unwrap();
    let id = api.push(Event::new("{}").timeout(Duration::from_millis(100)));
    get_next(&api);
    let mut stream = start_stream(&api, &id);
    stream.write_all(b"1\r\na\r\n").unwrap();
    let reply = read_reply(&mut stream).unwrap();
    assert_eq!(reply.status, 410);
    assert_eq!(reply.header("Connection"), Some("close"));
    assert!(reply.text().contains("InvocationTimedOut"));
    let outcome = api.wait_outcome(&id, WAIT).unwrap();
    assert_eq!(outcome.posted().status, 410);
    // The invocation is over: a later answer is refused.
    assert_eq!(post_response(&api, &id, b"late").status, 403);
}

#[test]
fn a_stream_over_the_limit_gets_413_and_is_closed() {
    let api = RuntimeApi::start().unwrap();
    api.stream_limit(4);
    let id = api.push(Event::new("{}"));
    get_next(&api);
    let mut stream = start_stream(&api, &id);
    stream.write_all(b"3\r\nabc\r\n3\r\ndef\r\n").unwrap();
    let reply = read_reply(&mut stream).unwrap();
    assert_eq!(reply.status, 413);
    assert!(reply.text().contains("(4 bytes)"), "{}", reply.text());
    assert_eq!(
        api.wait_outcome(&id, WAIT).unwrap().posted().body_str(),
        "abcdef"
    );
}

#[test]
fn knows_the_calendar() {
    assert_eq!(civil_date(0), (1970, 1, 1));
    assert_eq!(civil_date(11_016), (2000, 2, 29));
    assert_eq!(civil_date(20_415), (2025, 11, 23));
}
