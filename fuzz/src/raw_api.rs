//! The Runtime API side of the `transports` target: a server on 127.0.0.1
//! that answers with whatever bytes it is given. For each request it reads
//! (the head up to its blank line, then a body by `Content-Length`) it writes
//! the next scripted answer exactly as given; after an answer marked `close`,
//! or when the script has no answer left, it shuts its side down and drops
//! the connection. Connections are served one at a time, in the order they
//! arrive, so a client that reconnects gets the next answer on its new
//! connection: nothing depends on timing, only on what the client sends.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::Duration;

/// A client that sends nothing for this long, mid-request or between
/// requests on a connection it keeps, has stalled: the connection is closed
/// and the stall counted. Generous: a stall means a deadlock, not a slow run.
const PATIENCE: Duration = Duration::from_secs(10);

/// The most request bytes (head or body) the server reads before it calls
/// the client a runaway: the runtime's requests here are tiny.
const MAX_REQUEST: usize = 64 * 1024;

/// What to do after reading one request.
pub struct Step {
    /// Written exactly as given.
    pub answer: Vec<u8>,
    /// Close the connection after the answer, or wait for the next request
    /// on it.
    pub close: bool,
}

pub struct Api {
    pub authority: String,
    script: &'static Mutex<VecDeque<Step>>,
    stalls: &'static AtomicUsize,
    requests: &'static AtomicUsize,
}

/// The server, started on first use.
pub fn api() -> &'static Api {
    static API: OnceLock<Api> = OnceLock::new();
    static SCRIPT: Mutex<VecDeque<Step>> = Mutex::new(VecDeque::new());
    static STALLS: AtomicUsize = AtomicUsize::new(0);
    static REQUESTS: AtomicUsize = AtomicUsize::new(0);
    API.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let authority = listener.local_addr().unwrap().to_string();
        thread::spawn(move || {
            for connection in listener.incoming() {
                let Ok(connection) = connection else { continue };
                serve(connection, &SCRIPT, &STALLS, &REQUESTS);
            }
        });
        Api {
            authority,
            script: &SCRIPT,
            stalls: &STALLS,
            requests: &REQUESTS,
        }
    })
}

impl Api {
    /// The answers for the next requests, replacing any left over. Set it
    /// only when the previous client has finished (its last call returned):
    /// every request it sent has been read by then.
    pub fn script(&self, steps: Vec<Step>) {
        *self.script.lock().unwrap() = steps.into();
    }

    /// How many times a client has stalled so far.
    pub fn stalls(&self) -> usize {
        self.stalls.load(Ordering::SeqCst)
    }

    /// How many requests the server has read so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn serve(
    connection: TcpStream,
    script: &Mutex<VecDeque<Step>>,
    stalls: &AtomicUsize,
    requests: &AtomicUsize,
) {
    let _ = connection.set_read_timeout(Some(PATIENCE));
    let _ = connection.set_write_timeout(Some(PATIENCE));
    let mut reader = BufReader::new(connection);
    loop {
        match read_request(&mut reader) {
            Ok(true) => {}
            Ok(false) => break, // the client closed it
            Err(e) => {
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) {
                    stalls.fetch_add(1, Ordering::SeqCst);
                }
                break;
            }
        }
        requests.fetch_add(1, Ordering::SeqCst);
        let Some(step) = script.lock().unwrap().pop_front() else {
            break;
        };
        // A client that stopped reading (it refused the head, say) and
        // closed makes this fail; that is its business.
        if reader.get_mut().write_all(&step.answer).is_err() || step.close {
            break;
        }
    }
    let stream = reader.into_inner();
    let _ = stream.shutdown(Shutdown::Write);
}

/// One request: `Ok(false)` if the client closed the connection before
/// sending a byte of it.
fn read_request(reader: &mut BufReader<TcpStream>) -> io::Result<bool> {
    let mut head = Vec::new();
    loop {
        let read = reader
            .by_ref()
            .take(MAX_REQUEST as u64)
            .read_until(b'\n', &mut head)?;
        if read == 0 {
            if head.is_empty() {
                return Ok(false);
            }
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if head.ends_with(b"\r\n\r\n") {
            break;
        }
        if head.len() > MAX_REQUEST {
            return Err(io::ErrorKind::InvalidData.into());
        }
    }
    let head = String::from_utf8_lossy(&head);
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .map_or(Ok(0), |(_, value)| value.trim().parse::<usize>())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
    if length > MAX_REQUEST {
        return Err(io::ErrorKind::InvalidData.into());
    }
    reader.read_exact(&mut vec![0; length])?;
    Ok(true)
}
