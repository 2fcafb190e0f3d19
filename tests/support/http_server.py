"""A scriptable HTTP server on 127.0.0.1 for connector and engine tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    hang_seconds: float = 0.0  # sleep before answering (a server that "never answers")


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def _encode(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    return (body if isinstance(body, str) else json.dumps(body)).encode()


class ScriptedServer:
    """Answers each path with the next scripted reply (the last one repeats); records every request."""

    def __init__(self) -> None:
        self.replies: dict[str, list[Reply]] = {}
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, path: str, *replies: Reply) -> str:
        self.replies[path] = list(replies)
        return f"{self.url}{path}"

    def _next(self, path: str) -> Reply:
        with self._lock:
            queue = self.replies.get(path.split("?", 1)[0]) or [Reply(404, {"error": "not scripted"})]
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append(Recorded(self.command, self.path, dict(self.headers), body))
                reply = server._next(self.path)
                if reply.hang_seconds:
                    server._stopping.wait(reply.hang_seconds)
                data = _encode(reply.body)
                self.send_response(reply.status)
                content_type = "application/json" if not isinstance(reply.body, bytes | str) else "text/plain"
                self.send_header("content-type", reply.headers.get("content-type", content_type))
                for key, value in reply.headers.items():
                    if key.lower() != "content-type":
                        self.send_header(key, value)
                self.send_header("content-length", str(len(data)))
                try:
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    return  # the client gave up waiting (a deadline test): nothing to answer

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        return Handler

    def start(self) -> None:
        threading.Thread(target=self._server.serve_forever, daemon=True, name="scripted-http").start()

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def scripted_server() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    server.start()
    try:
        yield server
    finally:
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 5, "the scripted server took too long to stop"
