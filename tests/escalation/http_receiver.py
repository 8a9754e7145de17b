"""A real HTTP server on 127.0.0.1 for channel tests: it answers from a script and records every
request, so the code under test talks HTTP exactly as it does to a carrier, a PBX or a group
robot. Nothing of the backend code is mocked.

    receiver = HttpReceiver().start()
    receiver.script(Reply(500), Reply(200, {"errcode": 0}))  # then the default reply, forever
    ... post to receiver.url("/send") ...
    receiver.requests[0].json(), receiver.requests[0].headers["Authorization"]
    receiver.stop()

Tests get a started one from the `http_receiver` fixture (tests/escalation/conftest.py).
"""

from __future__ import annotations

import json
import socket
import threading
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    """What the server answers to one request. A dict or list body is sent as JSON. `delay`
    (seconds) holds the answer back, to make the client time out."""

    status: int = 200
    body: bytes | str | dict | list = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, dict | list):
            return json.dumps(self.body, ensure_ascii=False).encode(), "application/json; charset=utf-8"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return self.body, "application/octet-stream"


@dataclass(frozen=True)
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body.decode())

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), None)


class HttpReceiver:
    """ThreadingHTTPServer on a free port of 127.0.0.1, served from a background thread."""

    def __init__(self, default: Reply | None = None):
        self.default = default or Reply(200, {"errcode": 0, "errmsg": "ok"})
        self.requests: list[Received] = []
        self._replies: deque[Reply] = deque()
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> HttpReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parsed = urllib.parse.urlsplit(self.path)
                reply = receiver._record(
                    Received(
                        method=self.command,
                        path=parsed.path,
                        query=urllib.parse.parse_qs(parsed.query, keep_blank_values=True),
                        headers=dict(self.headers.items()),
                        body=body,
                    )
                )
                if reply.delay and receiver._stopping.wait(reply.delay):
                    return  # shutting down: drop the answer
                payload, content_type = reply.encoded()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.headers.get("Content-Type", content_type))
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in reply.headers.items():
                        if name.lower() != "content-type":
                            self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, format, *args):  # quiet: the tests read the requests, not a log
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="http-receiver", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> HttpReceiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- what the tests use ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the receiver first"
        return self._server.server_address[1]

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, *replies: Reply | int) -> HttpReceiver:
        """Answer the next requests with these replies (a bare int is a status), then the default."""
        with self._changed:
            self._replies.extend(Reply(reply) if isinstance(reply, int) else reply for reply in replies)
        return self

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """Block until `count` requests have arrived (they usually have: clients wait for the answer)."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.requests) >= count, timeout=timeout):
                raise AssertionError(f"expected {count} requests, got {len(self.requests)} in {timeout} s")
            return list(self.requests)

    def _record(self, received: Received) -> Reply:
        with self._changed:
            self.requests.append(received)
            reply = self._replies.popleft() if self._replies else self.default
            self._changed.notify_all()
            return reply


def refused_url(path: str = "/") -> str:
    """A URL on 127.0.0.1 where nothing listens: connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"
