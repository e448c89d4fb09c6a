#!/usr/bin/env python3
"""Instructions per request of the real release server, against the bare hyper server.

    scripts/server-icount.py QR_ORIGIN_BIN BARE_BIN [RENDER_INSTRUCTIONS]

Runs each server under callgrind (on one core, so each runs one async worker and one render
thread), answers a fixed, scripted sequence of HTTP/1.1 requests on one keep-alive loopback
connection, stops it with SIGTERM and reads the instructions of the whole process. Every
scenario runs twice, with a short and a long sequence; the difference divided by the extra
requests is the cost of one request, with start-up, warm-up and shutdown cancelled out:

    server/bare    the bare server (examples/bare.rs) answering the cache hit's bytes
    server/hit     qr-origin answering a cached image (the token memoised, as a repeated URL is)
    server/unique  qr-origin answering a new image per request (a render each)

Prints "name instructions" lines on stdout (.ci/icount.sh gates them like the benches) and the
budgets on stderr: hit <= 1.15x bare, unique <= 1.15x (render + bare), the render's count
being RENDER_INSTRUCTIONS (render_image/short_png_800 from benches/icount.rs, the same kind of
content: a short link of the same length).

The client is this script, not wrk: the same bytes in the same order on every run, so the
counts repeat (a few hundred instructions of moka and scheduler bookkeeping move run to run).
"""

import base64
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

SECRET = b"icount-server-secret-0123456789abcdef"
KID = "icount"
NOW = int(time.time())
BUDGET = 1.15
# (short, long) sequence lengths: hits are cheap, renders are not.
HIT_RUNS = (100, 3100)
UNIQUE_RUNS = (20, 420)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(url: str) -> str:
    """An HS256 image token as the QR API mints one (no exp: valid however slow valgrind is)."""
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": KID}).encode())
    claims = {"format": "image/png", "size": "800", "url": url, "iss": "qr-origin", "iat": NOW}
    payload = b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    sig = hmac.new(SECRET, signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(sig)}"


def short_link(i: int) -> str:
    """The i-th short link, as long as the bench's https://qr.example.com/r/DI5bjNA0."""
    return f"https://qr.example.com/r/U{i:07d}"


def request(tok: str) -> bytes:
    return (
        f"GET /qr-generator/v1?token={tok} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Accept: image/png\r\n\r\n"
    ).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, proc: subprocess.Popen, timeout: float = 120.0) -> socket.socket:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode} before listening")
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=60)
        except OSError:
            time.sleep(0.2)
    sys.exit(f"server not listening on {port} after {timeout:.0f} s")


def exchange(conn: socket.socket, req: bytes, buf: bytearray) -> bytes:
    """Sends one request and reads its response (Content-Length framed); returns the body."""
    conn.sendall(req)
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            sys.exit("server closed the connection")
        buf += chunk
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1]
    if status != b"200":
        sys.exit(f"expected 200, got {head.decode(errors='replace')}")
    length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1))
    body = bytearray(rest)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            sys.exit("server closed the connection mid-body")
        body += chunk
    buf[:] = body[length:]
    return bytes(body[:length])


def run(argv: list, port: int, requests: list, work: str, name: str) -> tuple:
    """Runs argv under callgrind, answers `requests`, stops it; returns (instructions, last body)."""
    out = os.path.join(work, f"{name}.callgrind")
    cmd = [
        "taskset", "-c", "0",
        "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no",
    ] + argv
    with open(os.path.join(work, f"{name}.log"), "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            conn = wait_for(port, proc)
            buf = bytearray()
            body = b""
            for req in requests:
                body = exchange(conn, req, buf)
            conn.close()
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
    with open(out) as f:
        m = re.search(r"^summary: (\d+)", f.read(), re.M)
    if not m:
        sys.exit(f"no summary in {out}")
    return int(m.group(1)), body


def per_request(argv_for, runs: tuple, requests_for, work: str, name: str) -> tuple:
    short, long = runs
    counts, body = [], b""
    for n in (short, long):
        port = free_port()
        ir, body = run(argv_for(port), port, requests_for(n), work, f"{name}-{n}")
        counts.append(ir)
    return (counts[1] - counts[0]) // (long - short), body


def main() -> None:
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    origin_bin, bare_bin = sys.argv[1], sys.argv[2]
    render = int(sys.argv[3]) if len(sys.argv) == 4 else None
    work = tempfile.mkdtemp(prefix="server-icount.")

    def origin_argv(port: int) -> list:
        data = tempfile.mkdtemp(dir=work)
        return [
            origin_bin, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{port}",
            "--ops-listen", f"127.0.0.1:{free_port()}", "--signing-key", f"{KID}={SECRET.decode()}",
            "--shutdown-delay", "0s", "--webhook-poll-interval", "60s",
        ]

    hit_req = request(token(short_link(0)))
    hit, body = per_request(origin_argv, HIT_RUNS, lambda n: [hit_req] * n, work, "hit")
    unique_reqs = [request(token(short_link(i + 1))) for i in range(UNIQUE_RUNS[1])]
    unique, _ = per_request(origin_argv, UNIQUE_RUNS, lambda n: unique_reqs[:n], work, "unique")
    image = os.path.join(work, "image.png")
    with open(image, "wb") as f:
        f.write(body)
    bare, _ = per_request(
        lambda port: [bare_bin, f"127.0.0.1:{port}", image], HIT_RUNS,
        lambda n: [hit_req] * n, work, "bare",
    )

    print(f"server/bare {bare}")
    print(f"server/hit {hit}")
    print(f"server/unique {unique}")
    verdict = lambda ok: "PASS" if ok else "MISS"
    err = sys.stderr
    print(f"== server instructions per request (callgrind, one core; work files in {work})", file=err)
    print(f"bare {bare:,}   hit {hit:,}   unique {unique:,}", file=err)
    print(f"hit / bare = {hit / bare:.2f}x (budget {BUDGET}x)  {verdict(hit <= BUDGET * bare)}", file=err)
    if render is not None:
        ratio = unique / (render + bare)
        print(
            f"unique / (render {render:,} + bare) = {ratio:.2f}x (budget {BUDGET}x)  "
            f"{verdict(ratio <= BUDGET)}",
            file=err,
        )


if __name__ == "__main__":
    main()
