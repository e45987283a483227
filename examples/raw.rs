//! Bytes in, bytes out: no JSON parsing by the runtime. Answers with the event
//! reversed, byte by byte, and refuses an empty event.
use tiny_lambda::Context;

fn main() {
    tiny_lambda::run_raw(|event: &[u8], _ctx: &Context| {
        if event.is_empty() {
            return Err("empty event");
        }
        Ok(event.iter().rev().copied().collect())
    })
}
