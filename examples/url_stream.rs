//! A streamed function URL response: status 201, `content-type: text/plain`,
//! the cookie `a=1`, then the body `hello ` and `world` as two flushed writes.
use std::io::Write;

use tiny_lambda::{Context, Handler, ResponseStream, Runtime};

fn main() {
    Runtime::from_env().serve(Handler::streaming_raw(
        |_event: &[u8], _ctx: &Context, out: &mut ResponseStream| {
            out.start_http(201, &[("content-type", "text/plain")], &["a=1"])?;
            out.write_all(b"hello ")?;
            out.flush()?;
            out.write_all(b"world")?;
            out.flush()
        },
    ))
}
