//! A raw streaming handler that fails on demand: the event's bytes come back
//! in two flushed halves. An event that starts with `panic` panics after the
//! first half was sent; `early-panic` panics before anything is written;
//! `early-error` fails before anything is written.
use std::io::Write;

use tiny_lambda::{Context, Handler, ResponseStream, Runtime};

fn main() {
    Runtime::from_env().serve(Handler::streaming_raw(
        |event: &[u8], _ctx: &Context, out: &mut ResponseStream| {
            match event {
                b"early-panic" => panic!("panicked before the first byte"),
                b"early-error" => {
                    return Err(std::io::Error::other("failed before the first byte"));
                }
                _ => {}
            }
            let (first, second) = event.split_at(event.len() / 2);
            out.write_all(first)?;
            out.flush()?;
            if event.starts_with(b"panic") {
                panic!("panicked after {} bytes", out.bytes_sent());
            }
            out.write_all(second)?;
            out.flush()
        },
    ))
}
