//! The floor of the size report: a Lambda echo function in plain std.
//!
//! It speaks just enough HTTP/1.1 to the Runtime API over one kept-alive
//! TcpStream: fetch the next event, post the same bytes back as the response,
//! repeat. No JSON, no error reporting, no init-error path, no chunked
//! bodies: the Runtime API always sends Content-Length, and anything
//! unexpected ends the process with status 1, which Lambda treats as a crash
//! and restarts. Whatever a real runtime weighs above this binary is the
//! price of its features.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::exit;

fn main() {
    // No message: formatting an io::Error costs ~3.5 KB here, and the floor
    // measures the loop, not diagnostics. Lambda logs the exit status.
    if run().is_err() {
        exit(1);
    }
}

fn run() -> io::Result<()> {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API")
        .map_err(|_| io::Error::other("AWS_LAMBDA_RUNTIME_API is not set"))?;
    // Lambda gives "host:port"; local emulators may give a full URL with a
    // path prefix, so accept "http://host:port/prefix" as well.
    let api = api.strip_prefix("http://").unwrap_or(&api);
    let (host, prefix) = match api.find('/') {
        Some(i) => (&api[..i], api[i..].trim_end_matches('/')),
        None => (api, ""),
    };

    let stream = TcpStream::connect(host)?;
    // Each request goes out in one write and we wait for its answer, so
    // Nagle's algorithm would only add delay.
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(&stream);
    let mut writer = &stream;
    let mut body = Vec::new();
    let mut out = Vec::new();

    loop {
        out.clear();
        write!(out, "GET {prefix}/2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: {host}\r\n\r\n")?;
        writer.write_all(&out)?;
        let (id, len) = read_head(&mut reader)?;
        body.resize(len, 0);
        reader.read_exact(&mut body)?;
        let id = id.ok_or_else(|| io::Error::other("event without Lambda-Runtime-Aws-Request-Id"))?;

        // Head and body in one buffer, so the response is one write.
        out.clear();
        write!(
            out,
            "POST {prefix}/2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )?;
        out.extend_from_slice(&body);
        writer.write_all(&out)?;

        // The answer (202 Accepted) must be drained so the next GET's
        // response starts at a clean boundary on the shared connection.
        let (_, len) = read_head(&mut reader)?;
        io::copy(&mut (&mut reader).take(len as u64), &mut io::sink())?;
    }
}

/// Reads a response's status line and headers, returning the request id
/// (if any) and the body length (0 when there is no Content-Length).
fn read_head(reader: &mut impl BufRead) -> io::Result<(Option<String>, usize)> {
    let (mut id, mut len) = (None, 0);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end();
        if line.is_empty() {
            return Ok((id, len));
        }
        // The status line has no ':' before its text, or at least not one we
        // care about; header names are case-insensitive.
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("lambda-runtime-aws-request-id") {
                id = Some(value.to_owned());
            } else if name.eq_ignore_ascii_case("content-length") {
                len = value.parse().map_err(|_| io::Error::other("bad Content-Length"))?;
            }
        }
    }
}
