//! The HTTP/1.1 codec (`tiny_lambda::http1`) on any bytes, from the side the
//! mock and the telemetry listener read: a request head, then its body.
//!
//! What must hold, besides never panicking:
//!
//! - a head it accepts fits in `MAX_HEAD_BYTES`, and written back out with
//!   the codec's own writer it parses to the same head;
//! - a chunked body reads the same whole (`read_body`) as chunk by chunk
//!   (`read_chunk`), and no body is longer than the bytes fed;
//! - an answer head parsed from the same bytes (as the client reads them)
//!   survives the same round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tiny_lambda::http1::read::{Chunk, read_body, read_chunk, read_request_head};
use tiny_lambda::http1::{Framing, Head, MAX_BODY_BYTES, MAX_HEAD_BYTES, framing};

fn fields(head: &Head) -> Vec<(&str, &str)> {
    head.headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    if let Ok(Some((line, head))) = read_request_head(&mut rest) {
        let consumed = data.len() - rest.len();
        assert!(consumed <= MAX_HEAD_BYTES, "a head of {consumed} bytes");
        // Written back out: the request line, then the same fields.
        let mut out = format!("{} {} HTTP/1.1\r\n", line.method, line.path).into_bytes();
        for (name, value) in &head.headers {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        let (again_line, again) = Head::parse_request(&out).expect("a head written back parses");
        assert_eq!(
            (again_line.method, again_line.path),
            (line.method, line.path)
        );
        assert_eq!(again.headers, head.headers);
        if let Ok(Framing::Chunked) = framing(&head, true) {
            let whole = read_body(&mut &rest[..], Framing::Chunked);
            let mut pieces = Vec::new();
            let mut by_chunk = &rest[..];
            let chunked = loop {
                match read_chunk(&mut by_chunk, MAX_BODY_BYTES - pieces.len()) {
                    Ok(Chunk::Data(data)) => pieces.extend_from_slice(&data),
                    Ok(Chunk::Last(_)) => break Ok(pieces),
                    Err(e) => break Err(e.kind()),
                }
            };
            match (whole, chunked) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a, b);
                    assert!(a.len() <= rest.len());
                }
                (Err(a), Err(b)) => assert_eq!(a.kind(), b),
                (a, b) => panic!("whole and by chunk differ: {a:?} / {b:?}"),
            }
        }
    }
    if let Ok(head) = Head::parse_response(data) {
        let mut out = Vec::new();
        tiny_lambda::http1::write_response_head(&mut out, head.status, "R", &fields(&head), None);
        let again = Head::parse_response(&out).expect("an answer head written back parses");
        assert_eq!((again.status, &again.headers), (head.status, &head.headers));
    }
});
