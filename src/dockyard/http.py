"""HTTP helpers shared by every face."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.requests import Request

from dockyard.config import IPNetwork


def client_ip(request: Request, trusted_proxies: Sequence[IPNetwork]) -> str:
    """The client's address. X-Forwarded-For is believed only when the peer is a trusted proxy, and then read
    from the right, skipping further trusted proxies, so a client cannot forge its address by sending the header."""
    peer = request.client.host if request.client else ""
    if not trusted_proxies or not _trusted(peer, trusted_proxies):
        return peer
    forwarded = request.headers.get("x-forwarded-for")
    if not forwarded:
        return peer
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted_proxies):
            return hop if _valid(hop) else peer
    return hops[0] if hops and _valid(hops[0]) else peer


def _valid(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def _trusted(address: str, networks: Sequence[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)
