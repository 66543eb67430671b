"""Keyed pseudonyms of client IP addresses: the only trace of an address that analytics ever writes.

The pseudonym is the first 64 bits of HMAC-SHA256 over the address, under a key derived from the server secret
(kept in the data directory, never in the database). An unkeyed hash of an IPv4 address could be reversed by
hashing all 2^32 addresses; without the key it cannot. 64 bits keep exact unique-IP counts collision-free in
practice (a collision is expected only after about 2^32 distinct addresses).

One long-lived key: a pseudonym must stay the same across a whole week or month for unique counts to be exact.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from functools import lru_cache

_KEY_LABEL = b"dockyard/analytics/client-pseudonym/v1"


def derive_key(server_secret: bytes) -> bytes:
    """A key for pseudonyms only, so nothing else signed with the server secret can be related to them."""
    return hmac.new(server_secret, _KEY_LABEL, hashlib.sha256).digest()


def canonical_ip(address: str) -> bytes | None:
    """The packed form of an address, with IPv4-mapped IPv6 (`::ffff:1.2.3.4`) folded into IPv4 so one client is
    one pseudonym whichever way a proxy wrote it; None when `address` is not an IP address."""
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.packed


class Pseudonymizer:
    def __init__(self, server_secret: bytes, cache_size: int = 65536) -> None:
        key = derive_key(server_secret)

        @lru_cache(maxsize=cache_size)
        def pseudonym(address: str) -> int:
            packed = canonical_ip(address)
            # Not an address (a unix-socket peer, garbage from a notification): still one stable group per value.
            material = packed if packed is not None else b"\x00text:" + address.encode("utf-8", "replace")
            return int.from_bytes(hmac.new(key, material, hashlib.sha256).digest()[:8], "big")

        self._pseudonym = pseudonym

    def __call__(self, address: str) -> int:
        return self._pseudonym(address)
