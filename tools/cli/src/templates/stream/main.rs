//! {{name}}: streams its answer. `{"count": 3}` writes the lines `1`, `2`
//! and `3`, each flushed, so the caller reads each line as soon as it is
//! written, while the function goes on working. An error after the first
//! byte ends the stream with Lambda's error trailers.
use std::io::Write;

use miniserde::Deserialize;
use tiny_lambda::{Context, Handler, ResponseStream, Runtime};

#[derive(Deserialize)]
struct Request {
    count: u32,
}

fn main() {
    Runtime::from_env().serve(Handler::streaming(
        |req: Request, _ctx: &Context, out: &mut ResponseStream| {
            out.set_content_type("text/plain")?;
            for n in 1..=req.count {
                writeln!(out, "{n}")?;
                // Without a flush, writes gather in a 16 KiB buffer.
                out.flush()?;
            }
            Ok::<_, std::io::Error>(())
        },
    ))
}
