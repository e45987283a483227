//! Both Runtime API transports, the built-in client and the ureq agent (the
//! default), against one server ([`raw_api`]) that answers with the input's
//! bytes exactly as given: the same request through each, on a fresh
//! connection each, gets the same bytes back.
//!
//! The input: a first byte of flags (bit 0: the first request is the
//! `/next` long poll or a post of an answer, whose body is bits 3 to 7 bytes
//! long; bit 1: keep-alive mode; bit 2: the second request's kind), then in
//! keep-alive mode a well-formed first answer generated from the next bytes
//! (a status, up to three headers, a pad header of up to about 64 KiB, a
//! body of up to 256 KiB sized or chunked, maybe trailers, maybe
//! `Connection: close`), and last the raw answer to the last request, after
//! which the server closes the connection.
//!
//! What must hold:
//!
//! - neither transport panics, and no single allocation is over 64 MiB (run
//!   with `-malloc_limit_mb=64`, as the run script does);
//! - the generated first answer is accepted by both, with its status and body;
//! - for each transport that accepts the raw answer: its body is at most
//!   `MAX_BODY_BYTES` and no longer than the bytes sent; unless the status
//!   has no body or a `Transfer-Encoding` is named, a body with a
//!   `Content-Length` is exactly that long;
//! - a raw answer whose head (up to its blank line) is over `MAX_HEAD_BYTES`
//!   is refused by both;
//! - when both accept an answer: the same status and body, and the same
//!   headers, compared by lower-cased name, each name's values in the order
//!   sent (ureq keeps headers by name, so names that alternate come out
//!   grouped);
//! - when exactly one accepts, the raw answer must show one of the known
//!   differences in `tiny_lambda_fuzz::differences::KNOWN`, each a strictness that is defensible against a
//!   peer that is AWS's own local API, matched as narrowly as the bytes allow;
//! - the server never waits 10 s for a request (no deadlock).
#![no_main]

use std::io;

use libfuzzer_sys::fuzz_target;
use tiny_lambda::__fuzz::{Answer, Call, MAX_BODY_BYTES, MAX_HEAD_BYTES, send_builtin, send_ureq};
use tiny_lambda_fuzz::Bytes;
use tiny_lambda_fuzz::differences::KNOWN;
use tiny_lambda_fuzz::raw_api::{Step, api};

const TCHAR: &[u8] =
    b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const VCHAR: &[u8] =
    b"!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
const STATUSES: [u16; 8] = [200, 202, 204, 400, 404, 413, 500, 502];
/// Names the generated headers must not take: they would change the framing.
const FRAMING: [&str; 5] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "trailer",
    "upgrade",
];

/// A well-formed answer: its bytes, its status, its body, whether it asks
/// for the connection to close.
fn well_formed(input: &mut Bytes) -> (Vec<u8>, u16, Vec<u8>) {
    let status = STATUSES[usize::from(input.byte() % 8)];
    let flags = input.byte();
    let mut head = format!("HTTP/1.1 {status} Fuzz\r\n");
    for _ in 0..flags % 4 {
        let mut name = input.text_in(16, TCHAR);
        if FRAMING.iter().any(|f| f.eq_ignore_ascii_case(&name)) {
            name.insert_str(0, "x-");
        }
        let value = input.text_in(32, VCHAR);
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let pad = (usize::from(input.byte()) * 256).min(MAX_HEAD_BYTES - 1024);
    if pad > 0 {
        head.push_str(&format!("X-Pad: {}\r\n", "p".repeat(pad)));
    }
    if flags & 0x10 != 0 {
        head.push_str("Connection: close\r\n");
    }
    let length = usize::from(input.u16()) * if flags & 0x20 != 0 { 4 } else { 1 };
    let body: Vec<u8> = if status == 204 {
        Vec::new()
    } else {
        (0..length).map(|i| (i % 251) as u8).collect()
    };
    let mut bytes = head.into_bytes();
    if status == 204 {
        bytes.extend_from_slice(b"\r\n");
    } else if flags & 0x40 == 0 {
        bytes.extend_from_slice(format!("Content-Length: {length}\r\n\r\n").as_bytes());
        bytes.extend_from_slice(&body);
    } else {
        bytes.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
        let mut rest = &body[..];
        while !rest.is_empty() {
            let size = (usize::from(input.byte()) + 1) * 257;
            let (chunk, after) = rest.split_at(size.min(rest.len()));
            bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            bytes.extend_from_slice(chunk);
            bytes.extend_from_slice(b"\r\n");
            rest = after;
        }
        bytes.extend_from_slice(b"0\r\n");
        if flags & 0x80 != 0 {
            bytes.extend_from_slice(b"X-Checksum: none\r\n");
        }
        bytes.extend_from_slice(b"\r\n");
    }
    (bytes, status, body)
}

/// Where the raw answer's head ends (after its blank line), if it does.
fn head_end(raw: &[u8]) -> Option<usize> {
    (1..raw.len()).find_map(|i| {
        (raw[i] == b'\n' && (raw[i - 1] == b'\n' || (i >= 2 && raw[i - 2..i] == *b"\n\r")))
            .then_some(i + 1)
    })
}

fn bodiless(status: u16) -> bool {
    status < 200 || status == 204 || status == 304
}

fn values<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// What must hold of any answer one transport accepted from `raw`.
fn check_one(who: &str, answer: &Answer, raw: &[u8]) {
    let (status, headers, body) = answer;
    assert!(body.len() <= MAX_BODY_BYTES, "{who}: a body over the limit");
    assert!(
        body.len() <= raw.len(),
        "{who}: a body longer than the bytes sent"
    );
    let lengths = values(headers, "content-length");
    if !bodiless(*status) && values(headers, "transfer-encoding").is_empty() {
        if let Some(Ok(length)) = lengths.first().map(|l| l.parse::<usize>()) {
            assert_eq!(
                body.len(),
                length,
                "{who}: a body of {} bytes for Content-Length {lengths:?}",
                body.len()
            );
        }
    }
}

/// Headers by lower-cased name, each name's values in the order received.
fn by_name(headers: &[(String, String)]) -> Vec<(String, &str)> {
    let mut named: Vec<(String, &str)> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str()))
        .collect();
    named.sort_by(|a, b| a.0.cmp(&b.0)); // stable: values keep their order
    named
}

fn compare(builtin: &io::Result<Answer>, ureq: &io::Result<Answer>, raw: &[u8]) {
    match (builtin, ureq) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.0, b.0, "the statuses differ");
            assert!(
                a.2 == b.2,
                "the bodies differ: {} bytes (built-in) and {} (ureq)",
                a.2.len(),
                b.2.len()
            );
            assert_eq!(by_name(&a.1), by_name(&b.1), "the headers differ");
        }
        (Err(_), Err(_)) => {}
        (Ok(_), Err(e)) | (Err(e), Ok(_)) => {
            let builtin_alone = builtin.is_ok();
            let known = KNOWN
                .iter()
                .find(|k| k.builtin_alone == builtin_alone && (k.shows)(raw));
            assert!(
                known.is_some(),
                "only the {} transport accepts this answer (the other: {e}): \
                 built-in {builtin:?}, ureq {ureq:?}",
                if builtin_alone { "built-in" } else { "ureq" },
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let api = api();
    let mut input = Bytes(data);
    let flags = input.byte();
    let body: Vec<u8> = (0..flags >> 3).map(|i| b'a' + i).collect();
    let call = |post: bool| {
        if post {
            Call::Respond("fuzz-1", &body)
        } else {
            Call::Next
        }
    };
    let keep = flags & 2 != 0;
    let mut steps = Vec::new();
    let mut calls = vec![call(flags & 1 != 0)];
    let mut first = None;
    if keep {
        let (bytes, status, body) = well_formed(&mut input);
        steps.push((bytes, false));
        first = Some((status, body));
        calls.push(call(flags & 4 != 0));
    }
    let raw = input.0;
    steps.push((raw.to_vec(), true));
    let script = || {
        steps
            .iter()
            .map(|(answer, close)| Step {
                answer: answer.clone(),
                close: *close,
            })
            .collect()
    };
    let stalls = api.stalls();
    api.script(script());
    let builtin = send_builtin(&api.authority, &calls);
    api.script(script());
    let ureq = send_ureq(&api.authority, &calls);
    assert_eq!(api.stalls(), stalls, "the server waited 10 s for a request");

    if let Some((status, body)) = first {
        for (who, answers) in [("built-in", &builtin), ("ureq", &ureq)] {
            let answer = answers[0]
                .as_ref()
                .unwrap_or_else(|e| panic!("{who} refused a well-formed answer: {e}"));
            assert_eq!(answer.0, status, "{who}: the status");
            assert!(answer.2 == body, "{who}: the body of a well-formed answer");
        }
        compare(&builtin[0], &ureq[0], &steps[0].0);
    }
    let (b, u) = (builtin.last().unwrap(), ureq.last().unwrap());
    for (who, answer) in [("built-in", b), ("ureq", u)] {
        if let Ok(answer) = answer {
            check_one(who, answer, raw);
        }
    }
    if head_end(raw).is_none_or(|end| end > MAX_HEAD_BYTES) && raw.len() > MAX_HEAD_BYTES {
        assert!(b.is_err(), "built-in accepted a head over MAX_HEAD_BYTES");
        assert!(u.is_err(), "ureq accepted a head over MAX_HEAD_BYTES");
    }
    compare(b, u, raw);
});
