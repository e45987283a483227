//! Getting an answer onto the wire, or closing the connection instead: the
//! only code that knows tiny_http keeps connections to itself.

use super::*;

/// Sends the answer, or closes the connection when there is none.
pub(super) fn deliver(shared: &Shared, request: Request, answer: Option<Answer>) {
    let Some(answer) = answer else {
        if let Some(&peer) = request.remote_addr() {
            shut_connection(shared.local, peer);
        }
        // Taking the writer keeps tiny_http from answering on its own when
        // the request is dropped.
        drop(request.into_writer());
        return;
    };
    let length = answer.body.len();
    let mut response = Response::new(
        answer.status.into(),
        Vec::new(),
        Cursor::new(answer.body),
        Some(length),
        None,
    );
    for (name, value) in answer.headers {
        if let Ok(header) = Header::from_bytes(name.into_bytes(), value.into_bytes()) {
            response.add_header(header);
        }
    }
    // A runtime that went away cannot be told anything more.
    let _ = request.respond(response);
}

/// Shuts both halves of the server's connection to `peer`, so the client
/// reads end-of-file where it expected an answer.
///
/// tiny_http keeps a kept-alive connection open, reading for the next
/// request, until the client closes it, and it never hands out the socket.
/// Dropping a request's writer therefore closes nothing, and the client
/// would wait for its own timeout. So the socket is found among this
/// process's descriptors by its two addresses, and shut through a
/// duplicate of its descriptor.
#[cfg(target_os = "linux")]
pub(super) fn shut_connection(local: SocketAddr, peer: SocketAddr) {
    use std::os::fd::{BorrowedFd, RawFd};
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    for entry in entries.flatten() {
        let is_socket = std::fs::read_link(entry.path())
            .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
        let fd = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<RawFd>().ok());
        let Some(fd) = fd.filter(|_| is_socket) else {
            continue;
        };
        // SAFETY: the borrow lives only for the duplication on the next
        // line. Should another thread close this number in between, the
        // duplication fails with EBADF, or duplicates whatever reused the
        // number, which the address check below then rejects.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        let Ok(owned) = borrowed.try_clone_to_owned() else {
            continue;
        };
        let stream = TcpStream::from(owned);
        let ours = stream.local_addr().is_ok_and(|a| a == local)
            && stream.peer_addr().is_ok_and(|a| a == peer);
        if ours {
            // A socket already gone needs no shutting.
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
    }
}

/// Elsewhere the connection cannot be found, and the client waits for its
/// own timeout instead of reading end-of-file.
#[cfg(not(target_os = "linux"))]
pub(super) fn shut_connection(_local: SocketAddr, _peer: SocketAddr) {}

/// The path of the requests [`warm_pool`] sends; answered, never recorded.
pub(super) const WARM_UP_PATH: &str = "/tiny-lambda-mock/warm-up";

/// Makes tiny_http ready for `n` kept-alive connections that arrive at once.
///
/// tiny_http serves each connection on a thread of a pool that grows only
/// when it sees no idle thread. Connections that arrive together can all see
/// the same idle thread: one of them gets it and the rest queue behind
/// connections that, kept alive, never end, so their requests are never read
/// (8 runtime threads got 4 `/next` calls through). Holding `n` connections
/// open one after another, each answered before the next, grows the pool to
/// `n` threads; closing them leaves the threads free for the runtime's.
pub(super) fn warm_pool(address: &str, n: usize) {
    use std::io::{Read, Write};
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        let Ok(mut stream) = TcpStream::connect(address) else {
            return;
        };
        let request = format!("GET {WARM_UP_PATH} HTTP/1.1\r\nHost: mock\r\n\r\n");
        if stream.write_all(request.as_bytes()).is_err() {
            return;
        }
        // The answer is an empty 204: its head is all there is to read.
        let mut head = Vec::new();
        let mut byte = [0_u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match stream.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                _ => return,
            }
        }
        held.push(stream);
    }
}
