#!/usr/bin/env python3
"""A local webhook receiver that verifies qr-origin's signatures (Python standard library only).

    WEBHOOK_SECRET=<secret from POST /webhooks/v1/webhooks> \
        python3 scripts/webhook-receiver.py --listen 127.0.0.1:8081 --count 1

Listens on a loopback address, answers GET with 200 (a readiness probe), and for each POST
recomputes the published signature exactly as qr-origin's src/webhooks/sign.rs makes it:

    x-ms-content-sha256 = base64(SHA-256(body))
    Authorization       = HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=<sig>
    sig = base64(HMAC-SHA256(key = the secret's UTF-8 bytes,
          "POST\n" + pathAndQuery + "\n" + x-ms-date + ";" + Host + ";" + x-ms-content-sha256))

A verified event is answered 200 and printed on stdout as one line,
`verified <webhook-id> <webhook-event> <body>`; a redelivery (the same webhook-id, as
at-least-once delivery allows) is answered 200 and not counted again. After --count distinct
events the receiver exits 0. A bad signature, hash or date is answered 401, said on stderr, and
the receiver exits 1: in a walkthrough or a test, a bad signature must fail loudly. Nothing
arriving within --timeout exits 2.

`--self-test` checks the verifier against the test vector published with the Webhooks API and
exits (0 when it matches).
"""

import argparse
import base64
import email.utils
import hashlib
import hmac
import ipaddress
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

SIGNED_HEADERS = "x-ms-date;host;x-ms-content-sha256"
AUTH_PREFIX = "HMAC-SHA256 SignedHeaders=" + SIGNED_HEADERS + "&Signature="
# A signed date further from our clock than this is refused (a replayed delivery). Each
# attempt, retries included, is signed with the time it is sent.
MAX_SKEW_SECS = 15 * 60


class BadSignature(Exception):
    """Why a delivery does not verify."""


def expected_signature(secret, path_and_query, date, host, content_sha256):
    """The Signature value qr-origin computes for these inputs."""
    to_sign = f"POST\n{path_and_query}\n{date};{host};{content_sha256}"
    mac = hmac.new(secret.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def verify(secret, path_and_query, headers, body, now=None):
    """Raises BadSignature unless the delivery is signed with `secret`."""
    date = headers.get("x-ms-date")
    host = headers.get("host")
    content_sha256 = headers.get("x-ms-content-sha256")
    auth = headers.get("authorization")
    if not (date and host and content_sha256 and auth):
        raise BadSignature("missing x-ms-date, Host, x-ms-content-sha256 or Authorization")
    actual_hash = base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")
    if not hmac.compare_digest(actual_hash, content_sha256):
        raise BadSignature("x-ms-content-sha256 is not the body's hash")
    if not auth.startswith(AUTH_PREFIX):
        raise BadSignature("Authorization is not HMAC-SHA256 over " + SIGNED_HEADERS)
    given = auth[len(AUTH_PREFIX):]
    want = expected_signature(secret, path_and_query, date, host, content_sha256)
    # SECURITY: constant-time comparison, so timing says nothing about the right signature.
    if not hmac.compare_digest(given, want):
        raise BadSignature("signature does not verify with this secret")
    if now is not None:
        try:
            sent = email.utils.parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            raise BadSignature("x-ms-date is not an RFC 1123 date") from None
        if abs(now - sent) > MAX_SKEW_SECS:
            raise BadSignature(f"x-ms-date is more than {MAX_SKEW_SECS} s from now")


def self_test():
    """The published test vector (secret, URL, body, date → hash and signature)."""
    secret = ("A0+AeKBRG2KRGvnNwJpQlb6IJFk48CKXCIcrLoHncVJKDILsQSxS6NWCccwWm6r6"
              "FhGKhiHTBsG2wo/xU6FY/A==")
    body = b'{"some-unique-content":"ee6e441b-cc4a-46f8-895d-a5af79bcc233/hello-world"}'
    date = "Thu, 30 Mar 2023 08:38:32 GMT"
    content_sha256 = "lNlsp1XA03N34HrQsVzPgJKtC+r7l/RBF4V3JQUWMj4="
    sig = "agAiSyogQbDHpeucoNwYz+yAr5nJ+v+zasdkSbqzv+U="
    headers = {
        "x-ms-date": date,
        "host": "webhook.site",
        "x-ms-content-sha256": content_sha256,
        "authorization": AUTH_PREFIX + sig,
    }
    path = "/e2cee29b-012e-4f1d-8ef4-e95fd74a7a63"
    verify(secret, path, headers, body)
    tampered = dict(headers, authorization=AUTH_PREFIX + sig.replace("a", "b", 1))
    try:
        verify(secret, path, tampered, body)
    except BadSignature:
        pass
    else:
        raise AssertionError("a tampered signature verified")
    print("self-test: the published test vector verifies, a tampered one does not")


class Receiver(HTTPServer):
    def __init__(self, addr, secret, count):
        super().__init__(addr, Handler)
        self.secret = secret
        self.count = count
        self.seen = set()
        self.failed = None


class Handler(BaseHTTPRequestHandler):
    server_version = "webhook-receiver/1"

    def do_GET(self):
        self.answer(200, b"webhook receiver ready\n")

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            verify(self.server.secret, self.path, headers, body, now=time.time())
        except BadSignature as e:
            self.server.failed = str(e)
            print(f"webhook-receiver: REFUSED {self.path}: {e}", file=sys.stderr, flush=True)
            self.answer(401, b"bad signature\n")
            return
        event_id = headers.get("webhook-id", "")
        if event_id not in self.server.seen:
            self.server.seen.add(event_id)
            event = headers.get("webhook-event", "")
            print(f"verified {event_id} {event} {body.decode('utf-8')}", flush=True)
        self.answer(200, b"ok\n")

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        # Requests are reported above; the default access lines would clutter the output.
        pass


def loopback(listen):
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    # SECURITY: a development tool that prints secrets' effects stays off the network.
    if not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"webhook-receiver: {host} is not a loopback address")
    return host, int(port)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--listen", default="127.0.0.1:8081", help="loopback HOST:PORT")
    p.add_argument("--count", type=int, default=1, help="exit 0 after this many events")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for them")
    p.add_argument("--self-test", action="store_true", help="check the published test vector")
    args = p.parse_args()
    if args.self_test:
        self_test()
        return 0
    secret = os.environ.get("WEBHOOK_SECRET")
    if not secret:
        raise SystemExit("webhook-receiver: set WEBHOOK_SECRET to the webhook's secret")
    server = Receiver(loopback(args.listen), secret, args.count)
    server.timeout = 0.2
    deadline = time.monotonic() + args.timeout
    while len(server.seen) < args.count:
        if server.failed is not None:
            return 1
        if time.monotonic() > deadline:
            print(f"webhook-receiver: {len(server.seen)} of {args.count} events within "
                  f"{args.timeout:g} s", file=sys.stderr)
            return 2
        server.handle_request()
    return 1 if server.failed is not None else 0


if __name__ == "__main__":
    sys.exit(main())
