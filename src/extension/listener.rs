//! The telemetry listener: the small HTTP server Lambda posts batches to once
//! an extension has subscribed. `std::net` and [`crate::http1`], one thread,
//! one batch at a time.
//!
//! Each batch is answered `200` as soon as it has been read, before the
//! records are handed on, so Lambda is never kept waiting by what the
//! extension does with them, and with `Connection: close`: every batch comes
//! on a connection of its own, so a connection Lambda leaves idle can never
//! keep the next one from being accepted. Lambda sends a batch at most every
//! `timeoutMs`, on the same host, so the extra connect costs nothing that
//! matters.

use std::io::{self, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::thread::{self, JoinHandle};
use std::vec::Vec;

use super::telemetry::{TelemetryEvent, parse_batch};
use crate::http1::{self, read};

/// A bound telemetry listener, not yet receiving.
///
/// ```no_run
/// use tiny_lambda::extension::Listener;
///
/// let listener = Listener::bind(4243).unwrap();
/// listener
///     .spawn(|batch| log::debug!("{} records", batch.len()))
///     .unwrap();
/// ```
pub struct Listener {
    socket: TcpListener,
}

impl Listener {
    /// Listen on `0.0.0.0:port`, where Lambda's `sandbox.localdomain:port`
    /// reaches it; port 0 picks a free one ([`Listener::port`] says which).
    /// Bind before subscribing: Lambda may post the first batch at once.
    pub fn bind(port: u16) -> io::Result<Listener> {
        let socket = TcpListener::bind((Ipv4Addr::UNSPECIFIED, port))?;
        Ok(Listener { socket })
    }

    /// The port the listener is bound to.
    pub fn port(&self) -> io::Result<u16> {
        Ok(self.socket.local_addr()?.port())
    }

    /// Receive batches on a thread of its own, handing each well-formed one
    /// to `on_batch` (on that thread, one batch at a time). A batch that is
    /// not what the Telemetry API sends is logged, answered and dropped:
    /// it never stops the listener.
    pub fn spawn(
        self,
        mut on_batch: impl FnMut(Vec<TelemetryEvent>) + Send + 'static,
    ) -> io::Result<JoinHandle<()>> {
        thread::Builder::new()
            .name("telemetry".into())
            .spawn(move || self.serve(&mut on_batch))
    }

    /// Receive batches on this thread, for ever. [`Listener::spawn`] is the
    /// usual way.
    pub fn serve(self, on_batch: &mut dyn FnMut(Vec<TelemetryEvent>)) {
        for stream in self.socket.incoming() {
            // A failed accept (no descriptors left, say) or a broken request
            // costs that one batch, never the listener.
            let received = stream.and_then(|stream| receive(stream, on_batch));
            if let Err(e) = received {
                log::warn!("telemetry batch not received: {e}");
            }
        }
    }
}

/// Read one request off `stream`, answer it and hand its batch on.
fn receive(stream: TcpStream, on_batch: &mut dyn FnMut(Vec<TelemetryEvent>)) -> io::Result<()> {
    let mut reader = BufReader::new(stream);
    let Some((line, head)) = read::read_request_head(&mut reader)? else {
        return Ok(());
    };
    let framing = match http1::framing(&head, true) {
        Ok(framing) => framing,
        Err(e) => {
            log::warn!("telemetry request refused: {e}");
            return Ok(());
        }
    };
    let body = read::read_body(&mut reader, framing)?;
    let mut answer = Vec::with_capacity(64);
    http1::write_response_head(&mut answer, 200, "OK", &[("Connection", "close")], Some(0));
    reader.get_mut().write_all(&answer)?;
    drop(reader);
    // 200 even for a batch that does not parse: it was delivered, and sent
    // again it would not parse any better.
    let batch = core::str::from_utf8(&body)
        .map_err(|_| super::Error::BadBatch)
        .and_then(parse_batch);
    match batch {
        Ok(events) => {
            log::debug!("telemetry: {} records", events.len());
            on_batch(events);
        }
        Err(e) => log::warn!(
            "{} {}: {e}; {} bytes dropped",
            line.method,
            line.path,
            body.len()
        ),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extension::telemetry::{Log, Record};
    use std::format;
    use std::io::Read;
    use std::string::String;
    use std::sync::mpsc;
    use std::time::Duration;

    /// Post `body` to the listener the way Lambda does; the whole answer.
    fn post(port: u16, head: &str, body: &[u8]) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        // Half-close, as a client that has sent everything: a request cut
        // short then ends at the listener instead of waiting for more.
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    }

    fn sized(body: &str) -> String {
        format!(
            "POST /telemetry HTTP/1.1\r\nHost: sandbox.localdomain\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
    }

    const BATCH: &str = r#"[{"time":"2024-03-09T12:00:00.000Z","type":"function","record":"hello\n"},{"time":"2024-03-09T12:00:00.001Z","type":"platform.logsDropped","record":{"reason":"x"}}]"#;
    const ANSWER: &str = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn batches_are_answered_parsed_and_handed_on_and_bad_ones_survived() {
        let listener = Listener::bind(0).unwrap();
        let port = listener.port().unwrap();
        let (tx, rx) = mpsc::channel();
        listener
            .spawn(move |batch| tx.send(batch).unwrap())
            .unwrap();
        let next = || rx.recv_timeout(Duration::from_secs(5)).unwrap();

        assert_eq!(post(port, &sized(BATCH), BATCH.as_bytes()), ANSWER);
        let batch = next();
        assert_eq!(batch.len(), 2);
        assert_eq!(batch[0].time, "2024-03-09T12:00:00.000Z");
        assert_eq!(
            batch[0].record,
            Record::Function(Log::Text("hello\n".into()))
        );
        assert!(
            matches!(&batch[1].record, Record::Other { kind, .. } if kind == "platform.logsDropped")
        );

        // Not a batch, not UTF-8, a broken head, a body cut short: each is
        // answered (or the connection closed) and the listener goes on.
        for bad in ["{\"not\":\"an array\"}", "[{\"time\":1}]", ""] {
            assert_eq!(post(port, &sized(bad), bad.as_bytes()), ANSWER, "{bad}");
        }
        assert_eq!(post(port, &sized("ab"), &[0xff, 0xfe]), ANSWER);
        assert_eq!(post(port, "NONSENSE\r\n\r\n", b""), "");
        let cut = post(port, "POST / HTTP/1.1\r\nContent-Length: 50\r\n\r\n", b"[");
        assert_eq!(cut, "");

        // Chunked, as an HTTP client may send it.
        let mut chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for piece in [&BATCH[..10], &BATCH[10..]] {
            http1::chunk_frame(&mut chunked, piece.as_bytes());
        }
        http1::last_chunk(&mut chunked, &[]);
        assert_eq!(post(port, "", &chunked), ANSWER);
        assert_eq!(next().len(), 2);
        // Nothing was handed on for the bad ones.
        assert!(rx.try_recv().is_err());
    }
}
