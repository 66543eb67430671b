"""A small reverse proxy that adds `X-Forwarded-For`, for tests that need many client addresses from one machine.

Put it in front of a server started with DOCKYARD_TRUSTED_PROXIES=127.0.0.1/32 and point a client at
`proxy.address`; every request it forwards claims to come from `proxy.client_ip` (change it between pulls to play
another client). It forwards one request at a time per connection, keeps connections alive, and streams bodies.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers", "transfer-encoding"}
)
CHUNK = 1 << 16


class ForwardingProxy:
    def __init__(self, upstream_host: str, upstream_port: int, client_ip: str = "198.51.100.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.client_ip = client_ip
        self.requests: list[tuple[str, str, str]] = []  # (client ip, method, path), in order
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else None
                if self.headers.get("transfer-encoding", "").lower() == "chunked":
                    body = self._read_chunked()
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                headers.pop("Content-Length", None)
                if body is not None:
                    headers["Content-Length"] = str(len(body))
                client_ip = proxy.client_ip
                headers["X-Forwarded-For"] = client_ip
                proxy.requests.append((client_ip, self.command, self.path))
                upstream = http.client.HTTPConnection(*proxy.upstream, timeout=120)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    self.send_response_only(response.status, response.reason)
                    length_header = response.getheader("content-length")
                    for key, value in response.getheaders():
                        if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                            self.send_header(key, value)
                    if self.command == "HEAD" or length_header is not None:
                        if length_header is not None:
                            self.send_header("Content-Length", length_header)
                        self.end_headers()
                        while self.command != "HEAD" and (chunk := response.read(CHUNK)):
                            self.wfile.write(chunk)
                    else:
                        data = response.read()
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                finally:
                    upstream.close()

            def _read_chunked(self) -> bytes:
                parts = []
                while True:
                    size = int(self.rfile.readline().strip().split(b";")[0], 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(parts)
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, name="forwarding-proxy", daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> ForwardingProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> ForwardingProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
