"""A tiny HTTP server on 127.0.0.1 with canned answers: the outer edge the SDK's unit tests talk to.

Routes are (method, path) pairs answered by a list of `Reply`s, used in turn; the last one keeps answering. A
reply may also be a function of the request. Every request is recorded (method, path, query, headers, body).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Reply:
    status: int = 200
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None

    def payload(self) -> tuple[bytes, str | None]:
        if self.body is not None:
            return self.body, None
        if self.json is None:
            return b"", None
        return json.dumps(self.json).encode(), "application/json"


@dataclass
class Seen:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


Answer = Reply | Callable[[Seen], Reply]


class FakeServer:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Answer]] = {}
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                seen = Seen(
                    self.command,
                    parts.path,
                    parse_qsl(parts.query, keep_blank_values=True),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                reply = fake.answer(seen)
                payload, content_type = reply.payload()
                self.send_response(reply.status)
                headers = {k.lower(): v for k, v in reply.headers.items()}
                if content_type and "content-type" not in headers:
                    headers["content-type"] = content_type
                for key, value in headers.items():
                    self.send_header(key, value)
                if "content-length" not in headers:
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add(self, method: str, path: str, *answers: Answer) -> None:
        self.routes[(method.upper(), path)] = list(answers)

    def answer(self, seen: Seen) -> Reply:
        with self._lock:
            self.requests.append(seen)
            answers = self.routes.get((seen.method, seen.path))
            if not answers:
                return Reply(404, {"detail": "no such fake route", "message": "no such fake route"})
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
        return answer(seen) if callable(answer) else answer

    def seen(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        with self._lock:
            return [
                r for r in self.requests if (method is None or r.method == method) and (path is None or r.path == path)
            ]
