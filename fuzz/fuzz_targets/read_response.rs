//! The response reader of the HTTP/1.1 codec (`http1::read::read_response`),
//! which the built-in client and the streamed post read answers with, on any
//! bytes: status lines, headers, both body framings, truncations.
//!
//! What must hold, besides never panicking:
//!
//! - the head (status line and headers) it accepts is within `MAX_HEAD_BYTES`,
//!   and no body is longer than `MAX_BODY_BYTES` or than the bytes fed;
//! - a `Content-Length` body is exactly that long, and a body without any
//!   framing is exactly the rest of the input;
//! - the answer does not depend on how the bytes arrive: read through a
//!   tiny buffer (many short reads), it is the same;
//! - an answer written back out (status, headers, body with its length) and
//!   read again is the same answer.
//!
//! Run with `-malloc_limit_mb=64` (the run script does): a single
//! allocation larger than the body limit plus slack is a failure.
#![no_main]

use std::io::BufReader;

use libfuzzer_sys::fuzz_target;
use tiny_lambda::__fuzz::{MAX_BODY_BYTES, MAX_HEAD_BYTES, read_response};

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    let answer = read_response(&mut rest);
    // The same bytes through a buffer of a few bytes: many partial reads.
    let capacity = 1 + data.first().map_or(0, |b| usize::from(b % 16));
    let trickled = read_response(&mut BufReader::with_capacity(capacity, data));
    match (&answer, &trickled) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "the buffer size changed the answer"),
        (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind()),
        _ => panic!("the buffer size changed the outcome: {answer:?} / {trickled:?}"),
    }
    let Ok((status, headers, body)) = answer else {
        return;
    };
    let consumed = data.len() - rest.len();
    // Each header line held at least its name, colon, value and newline.
    let head: usize = headers.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    assert!(
        head <= MAX_HEAD_BYTES,
        "a head of {head} bytes was accepted"
    );
    assert!(body.len() <= MAX_BODY_BYTES);
    assert!(body.len() <= consumed);
    let bodiless = status < 200 || status == 204 || status == 304;
    // Any `Transfer-Encoding` line naming the `chunked` coding, as the reader
    // decides.
    let chunked = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("Transfer-Encoding"))
        .flat_map(|(_, v)| v.split(','))
        .any(|coding| {
            coding
                .trim_matches([' ', '\t'])
                .eq_ignore_ascii_case("chunked")
        });
    if bodiless {
        assert!(body.is_empty());
    } else if !chunked {
        match header(&headers, "Content-Length") {
            Some(length) => assert_eq!(Ok(body.len()), length.parse::<usize>()),
            None => assert!(rest.is_empty() && data.ends_with(&body)),
        }
    }

    // Written back out with a plain length, then read again.
    let framing = |name: &str| {
        name.eq_ignore_ascii_case("Content-Length")
            || name.eq_ignore_ascii_case("Transfer-Encoding")
    };
    let mut again = format!("HTTP/1.1 {status} Fuzz\r\n").into_bytes();
    for (name, value) in headers.iter().filter(|(k, _)| !framing(k)) {
        again.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    again.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    again.extend_from_slice(&body);
    let reread = read_response(&mut &again[..]);
    let (status2, headers2, body2) = match reread {
        Ok(answer) => answer,
        // Only a head that outgrew the limit, written out in full, may fail.
        Err(e) => {
            assert!(
                again.len() - body.len() > MAX_HEAD_BYTES,
                "re-reading failed: {e}"
            );
            return;
        }
    };
    assert_eq!(status2, status);
    let plain = |h: &[(String, String)]| -> Vec<(String, String)> {
        h.iter().filter(|(k, _)| !framing(k)).cloned().collect()
    };
    assert_eq!(plain(&headers2), plain(&headers));
    if !bodiless {
        assert_eq!(body2, body);
    }
});
