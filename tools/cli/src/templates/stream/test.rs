//! The function as Lambda runs it, fed `events/event.json`: `{"count": 3}`.
mod common;

use common::Function;

const EVENT: &str = include_str!("../events/event.json");

#[test]
fn streams_one_line_at_a_time() {
    let function = Function::start(&[]);
    let answer = function.respond(EVENT);
    assert_eq!(answer.body_str(), "1\n2\n3\n");
    let stream = answer.stream.expect("a streamed answer");
    assert!(stream.complete, "the stream ended whole");
    // Each flush left as a chunk of its own.
    let chunks: Vec<&[u8]> = stream.chunks.iter().map(|c| c.bytes.as_slice()).collect();
    assert_eq!(chunks, [b"1\n", b"2\n", b"3\n"]);
}
