"""dockyard.http.client_ip: which address a request comes from, with and without trusted proxies.

tests/e2e/test_client_ip.py shows the same rules through a running server; this table covers the corners.
"""

from __future__ import annotations

import pytest
from starlette.requests import Request

from dockyard.config import Settings
from dockyard.http import client_ip


def request(peer: str | None, forwarded: str | None = None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": headers,
        "client": (peer, 40000) if peer is not None else None,
    }
    return Request(scope)


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded", "expected"),
    [
        # No trusted proxies: the header is never read.
        ("", "192.0.2.1", "203.0.113.7", "192.0.2.1"),
        # A trusted peer: the rightmost hop that is not itself a trusted proxy.
        ("127.0.0.1/32", "127.0.0.1", "203.0.113.7", "203.0.113.7"),
        ("127.0.0.1/32", "127.0.0.1", "198.51.100.1, 203.0.113.7", "203.0.113.7"),
        ("127.0.0.1/32,10.0.0.0/8", "127.0.0.1", "203.0.113.7, 10.1.2.3", "203.0.113.7"),
        ("127.0.0.1/32", "127.0.0.1", " 203.0.113.7 ,  ", "203.0.113.7"),
        # Every hop trusted: the leftmost one.
        ("10.0.0.0/8", "10.0.0.1", "10.0.0.2, 10.0.0.3", "10.0.0.2"),
        # A peer outside the trusted networks cannot speak for anyone.
        ("10.0.0.0/8", "192.0.2.1", "203.0.113.7", "192.0.2.1"),
        # Nothing usable in the header: the peer.
        ("127.0.0.1/32", "127.0.0.1", None, "127.0.0.1"),
        ("127.0.0.1/32", "127.0.0.1", "", "127.0.0.1"),
        ("127.0.0.1/32", "127.0.0.1", "unknown", "127.0.0.1"),
        ("127.0.0.1/32", "127.0.0.1", "203.0.113.7, garbage", "127.0.0.1"),
        # IPv6 peers and hops.
        ("::1/128", "::1", "2001:db8::5", "2001:db8::5"),
        ("127.0.0.1/32", "::1", "2001:db8::5", "::1"),
        # No peer at all.
        ("127.0.0.1/32", None, "203.0.113.7", ""),
    ],
)
def test_client_ip(trusted: str, peer: str | None, forwarded: str | None, expected: str) -> None:
    networks = Settings.from_env({"DOCKYARD_TRUSTED_PROXIES": trusted}).trusted_proxies
    assert client_ip(request(peer, forwarded), networks) == expected
