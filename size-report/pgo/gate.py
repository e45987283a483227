#!/usr/bin/env python3
"""gate: runs a bootstrap behind a small proxy to the mock Runtime API, so
that it always ends the same way (size-report's pgo tier and --pgo-matrix).

Why. `tiny-lambda bench` and `invoke` end a bootstrap with SIGKILL right
after its last answer and then drop their mock. An instrumented binary writes
its profile (and callgrind its counts) only in exit(), never on SIGKILL; and
where the bootstrap happens to be when the mock goes (reading the 202 of its
last answer, sending its next `/next`, or waiting on it) changes which
retries it makes before it gives up, so the counts of two runs of the same
workload differ by a few requests, and the binaries built from them differ.

How. size-report hands tiny-lambda a one-line shell script as the bootstrap,
which starts this gate in the background; tiny-lambda's SIGKILL ends the
script, not the gate nor the bootstrap. The gate listens on a port of its
own, starts the bootstrap with AWS_LAMBDA_RUNTIME_API pointing at it, and
forwards each request to the mock unchanged, each answer back unchanged.
Once the mock fails to answer (it is gone), the gate answers for it: a post
gets the mock's 202, byte for byte, and `/next` gets a 500,
which the runtime treats as final at once: it calls exit(), the same way
every time. The gate ends when the bootstrap has.

Python 3.11 standard library only. Usage (what size-report writes):
    gate.py --pids FILE [--] COMMAND...   (AWS_LAMBDA_RUNTIME_API = the mock)
"""

import os
import socket
import subprocess
import sys
import threading

# What the mock sends (src/emulator/wire.rs, answer_bytes): a 202 for an
# accepted post, byte for byte, for when the mock went before sending it; and
# the 500 that ends the runtime.
ACCEPTED_202 = (b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\n"
                b"Content-Length: 15\r\n\r\n{\"status\":\"OK\"}")
GONE_500 = (b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2\r\n\r\n{}")


def read_message(f) -> bytes | None:
    """One HTTP/1.1 message (head and body) from a buffered socket file,
    bytes as they came; None at a clean end of the stream."""
    head = b""
    while True:
        line = f.readline(65536)
        if not line:
            if head:
                raise ConnectionError("stream ended inside a message head")
            return None
        head += line
        if line in (b"\r\n", b"\n"):
            break
    length, chunked = 0, False
    for raw in head.split(b"\r\n")[1:]:
        name, _, value = raw.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        body = f.read(length) if length else b""
        if len(body) != length:
            raise ConnectionError("stream ended inside a body")
        return head + body
    body = b""
    while True:
        size_line = f.readline(65536)
        if not size_line:
            raise ConnectionError("stream ended inside a chunked body")
        body += size_line
        size = int(size_line.split(b";")[0].strip(), 16)
        if size == 0:
            while True:  # trailers, then the blank line
                t = f.readline(65536)
                body += t
                if t in (b"\r\n", b"\n", b""):
                    return head + body
        chunk = f.read(size + 2)
        if len(chunk) != size + 2:
            raise ConnectionError("stream ended inside a chunk")
        body += chunk


class Gate:
    def __init__(self, upstream: str, mismatch: str):
        self.upstream = upstream
        self.mismatch = mismatch
        self.gone = False
        self.last_202 = ACCEPTED_202
        self.lock = threading.Lock()

    def ask_mock(self, up, request: bytes) -> bytes | None:
        if self.gone or up is None:
            return None
        try:
            up[0].sendall(request)
            answer = read_message(up[1])
        except OSError:
            answer = None
        if answer is None:
            with self.lock:
                self.gone = True
        return answer

    def serve(self, conn: socket.socket) -> None:
        down = conn.makefile("rb")
        up = None
        try:
            host, _, port = self.upstream.rpartition(":")
            s = socket.create_connection((host, int(port)))
            up = (s, s.makefile("rb"))
        except OSError:
            with self.lock:
                self.gone = True
        try:
            while True:
                try:
                    request = read_message(down)
                except OSError:
                    return
                if request is None:
                    return
                answer = self.ask_mock(up, request)
                if answer is not None:
                    if request.startswith(b"POST ") and answer.startswith(b"HTTP/1.1 202") \
                            and answer != self.last_202:
                        # The stand-in must be the mock's own bytes, or the
                        # runs where it is used would differ from the rest.
                        with open(self.mismatch, "ab") as f:
                            f.write(answer + b"\n")
                        self.last_202 = answer
                elif request.startswith(b"POST "):
                    answer = self.last_202
                else:
                    answer = GONE_500
                conn.sendall(answer)
        except OSError:
            return
        finally:
            conn.close()
            if up:
                up[0].close()


def main() -> int:
    args = sys.argv[1:]
    if len(args) < 3 or args[0] != "--pids":
        print(__doc__, file=sys.stderr)
        return 2
    pids, command = args[1], args[2:]
    if command[0] == "--":
        command = command[1:]
    # A 202 of the mock's that is not ACCEPTED_202 is written here, beside
    # the pids file; size-report fails the run when it finds one.
    mismatch = os.path.join(os.path.dirname(os.path.abspath(pids)), "gate-202-mismatch")
    gate = Gate(os.environ["AWS_LAMBDA_RUNTIME_API"].removeprefix("http://").rstrip("/"), mismatch)
    listener = socket.create_server(("127.0.0.1", 0))
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{listener.getsockname()[1]}")
    child = subprocess.Popen(command, env=env)
    with open(pids, "a") as f:
        f.write(f"{os.getpid()}\n")

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=gate.serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    code = child.wait()
    listener.close()
    return 0 if code is not None else 1


if __name__ == "__main__":
    sys.exit(main())
