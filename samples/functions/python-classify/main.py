#!/usr/bin/env python3
"""python-classify: a sample Freshet function using only the standard library.

It serves $PORT (default 8080):
  GET /healthz  -> 200
  POST /        -> a CloudEvent in binary mode (structured mode is accepted
                   too) whose JSON data has an integer "length". It replies in
                   binary mode with id = input id + "-classified", type
                   dev.freshet.sample.long if length >= 16 else
                   dev.freshet.sample.short, and the input data plus "class".
Bad input gets 400 with a JSON {"error": ...} body. SIGTERM stops accepting
connections and waits for in-flight requests before exiting.
"""

import base64
import json
import os
import re
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LONG_TYPE = "dev.freshet.sample.long"
SHORT_TYPE = "dev.freshet.sample.short"
THRESHOLD = 16
MAX_BODY = 4 << 20
SHUTDOWN_GRACE = 25.0

_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Characters the CloudEvents HTTP binding lets through unencoded: printable
# ASCII except space, double quote and percent.
_SAFE = frozenset(range(0x21, 0x7F)) - {0x22, 0x25}


class BadRequest(Exception):
    """Input that can never be processed: answered 400."""


def percent_decode(name, value):
    """Decode RFC 3986 %XX escapes; reject malformed escapes and bad UTF-8."""
    if _BAD_ESCAPE.search(value):
        raise BadRequest(f"attribute {name!r}: malformed percent-encoding")
    raw = value.encode("latin-1")  # http.server decodes header bytes as latin-1
    out = bytearray()
    i = 0
    while i < len(raw):
        if raw[i] == 0x25:  # '%'
            out.append(int(raw[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(raw[i])
            i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(f"attribute {name!r}: not valid UTF-8") from None


def percent_encode(value):
    return "".join(chr(b) if b in _SAFE else "%%%02X" % b for b in value.encode("utf-8"))


def read_binary(headers, body):
    """Returns (attributes, data bytes) of a binary-mode event."""
    attrs = {}
    for name, value in headers.items():
        lname = name.lower()
        if lname.startswith("ce-") and len(lname) > 3:
            attr = lname[3:]
            if attr in attrs:
                raise BadRequest(f"attribute {attr!r}: header appears more than once")
            attrs[attr] = percent_decode(attr, value)
    if not attrs:
        raise BadRequest("not a CloudEvent: no ce- headers")
    return attrs, body


def read_structured(body):
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise BadRequest(f"invalid JSON: {err}") from None
    if not isinstance(obj, dict):
        raise BadRequest("an event must be a JSON object")
    if "data" in obj and "data_base64" in obj:
        raise BadRequest('"data" and "data_base64" must not both be present')
    data = b""
    if obj.get("data_base64") is not None:
        try:
            data = base64.b64decode(obj.pop("data_base64"), validate=True)
        except (ValueError, TypeError) as err:
            raise BadRequest(f"attribute 'data_base64': invalid base64: {err}") from None
    elif obj.get("data") is not None:
        data = json.dumps(obj.pop("data")).encode("utf-8")
    attrs = {}
    for k, v in obj.items():
        if v is None:
            continue
        if isinstance(v, bool):
            v = "true" if v else "false"
        elif isinstance(v, int):
            v = str(v)
        if not isinstance(v, str):
            raise BadRequest(f"attribute {k!r}: must be a string, integer or boolean")
        attrs[k] = v
    return attrs, data


def classify(attrs, data):
    """Returns (reply attributes, reply data bytes) or raises BadRequest."""
    if attrs.get("specversion") != "1.0":
        raise BadRequest("attribute 'specversion': must be \"1.0\"")
    for required in ("id", "source", "type"):
        if not attrs.get(required):
            raise BadRequest(f"attribute {required!r}: required but missing")
    try:
        payload = json.loads(data)
    except (ValueError, UnicodeDecodeError) as err:
        raise BadRequest(f"data is not JSON: {err}") from None
    length = payload.get("length") if isinstance(payload, dict) else None
    if not isinstance(length, int) or isinstance(length, bool):
        raise BadRequest('data has no integer "length"')
    cls = "long" if length >= THRESHOLD else "short"
    payload["class"] = cls
    reply = {k: v for k, v in attrs.items() if k not in ("datacontenttype", "time", "dataschema")}
    reply["id"] = attrs["id"] + "-classified"
    reply["type"] = LONG_TYPE if cls == "long" else SHORT_TYPE
    return reply, json.dumps(payload).encode("utf-8")


class InFlight:
    """Counts requests being processed, so shutdown can wait for them."""

    def __init__(self):
        self._n = 0
        self._cond = threading.Condition()

    def __enter__(self):
        with self._cond:
            self._n += 1

    def __exit__(self, *exc):
        with self._cond:
            self._n -= 1
            self._cond.notify_all()

    def wait_idle(self, timeout):
        with self._cond:
            return self._cond.wait_for(lambda: self._n == 0, timeout)


IN_FLIGHT = InFlight()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "python-classify/1"
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's
    # algorithm and the client's delayed ACK add ~40 ms to every reply.
    disable_nagle_algorithm = True

    def log_message(self, format, *args):  # quiet: one line per request is noise
        pass

    def send(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def send_error_json(self, status, message):
        self.send(status, json.dumps({"error": message}).encode("utf-8"),
                  {"Content-Type": "application/json"})

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self.read_chunked()
        try:
            n = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            n = -1
        if n < 0 or n > MAX_BODY:
            self.close_connection = True  # cannot stay in sync with the client
            raise BadRequest("missing or too large Content-Length")
        return self.rfile.read(n)

    def read_chunked(self):
        body = bytearray()
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                raise BadRequest("malformed chunked body") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return bytes(body)
            if len(body) + size > MAX_BODY:
                self.close_connection = True
                raise BadRequest("body too large")
            body += self.rfile.read(size)
            self.rfile.readline(1024)

    def do_GET(self):
        if self.path == "/healthz":
            self.send(200, b"ok\n", {"Content-Type": "text/plain"})
        else:
            self.send_error_json(404, "not found")

    do_HEAD = do_GET

    def do_POST(self):
        with IN_FLIGHT:
            try:
                body = self.read_body()  # always consume the body: keep-alive
                if self.path != "/":
                    self.send_error_json(404, "not found")
                    return
                ctype = self.headers.get("Content-Type", "")
                media = ctype.split(";")[0].strip().lower()
                if media == "application/cloudevents+json":
                    attrs, data = read_structured(body)
                elif media.startswith("application/cloudevents"):
                    raise BadRequest(f"unsupported CloudEvents format {media!r}")
                else:
                    attrs, data = read_binary(self.headers, body)
                reply, out = classify(attrs, data)
            except BadRequest as err:
                self.send_error_json(400, str(err))
                return
            headers = {"ce-" + k: percent_encode(v) for k, v in reply.items()}
            headers["Content-Type"] = "application/json"
            self.send(200, out, headers)


class Server(ThreadingHTTPServer):
    daemon_threads = True  # idle keep-alive connections must not block exit
    request_queue_size = 128


def main():
    port = int(os.environ.get("PORT", "8080"))
    server = Server(("", port), Handler)

    def stop(signum, frame):
        # shutdown() waits for serve_forever to return: call it off this thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"python-classify listening on :{port}", file=sys.stderr, flush=True)
    server.serve_forever()
    server.server_close()
    if not IN_FLIGHT.wait_idle(SHUTDOWN_GRACE):
        print("python-classify: in-flight requests did not finish", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
