//! Streams its answer: the event `{"chunks": N, "bytes": B, "delay_ms": D,
//! "fail_after": K}` writes N chunks of B bytes (`x`), flushing after each and
//! sleeping D ms between them. With `fail_after`, it stops after K chunks (or
//! N, if fewer) and returns an error that says how many were sent. The
//! workload of `tiny-lambda bench --stream`, and of size-report/peer-stream.
use std::io::Write;
use std::thread;
use std::time::Duration;

use tiny_lambda::{Context, Handler, ResponseStream, Runtime};

#[derive(miniserde::Deserialize)]
struct Request {
    chunks: u64,
    bytes: usize,
    delay_ms: u64,
    fail_after: Option<u64>,
}

fn main() {
    Runtime::from_env().serve(Handler::streaming(
        |req: Request, _ctx: &Context, out: &mut ResponseStream| {
            let chunk = vec![b'x'; req.bytes];
            let limit = req.chunks.min(req.fail_after.unwrap_or(u64::MAX));
            for sent in 0..limit {
                if sent > 0 && req.delay_ms > 0 {
                    thread::sleep(Duration::from_millis(req.delay_ms));
                }
                out.write_all(&chunk)?;
                out.flush()?;
            }
            match req.fail_after {
                Some(_) => Err(std::io::Error::other(format!(
                    "failed after {limit} chunks"
                ))),
                None => Ok(()),
            }
        },
    ))
}
