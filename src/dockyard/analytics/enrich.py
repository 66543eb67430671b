"""What an IP address says about a pull, worked out once per distinct address at ingest and never stored with it.

- country: the operator's MMDB when it has one for the address, otherwise `iptocc` (RIR delegation data shipped in
  the wheel; MIT/Apache-2.0);
- host: the cloud or hosting provider from `iporigin` (the providers' own published ranges; MIT), as a short slug
  (`aws`, `gcp`, `azure`, `hetzner`, ...), for hosting and CDN ranges only;
- ip_type (business|isp|hosting|education) and domain: from an operator-supplied MMDB (DOCKYARD_ANALYTICS_MMDB:
  IPinfo-style `type`/`domain` fields, GeoIP2 `traits.user_type`/`domain`, or only an AS organisation name, which a
  keyword heuristic classifies). Without one: `hosting` for known provider ranges, null otherwise, because nothing
  on PyPI ships licence-clean, current company data, and a guess presented as data would mislead.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import iporigin
import iptocc
import maxminddb

# iporigin's provider names -> the short names Docker's reports use for the big clouds; others are slugged.
HOST_SLUGS = {
    "Amazon AWS": "aws",
    "Google Cloud": "gcp",
    "Google": "google",
    "Microsoft Azure": "azure",
    "Oracle Cloud": "oracle",
    "Alibaba Cloud": "alibaba",
    "IBM Cloud": "ibm",
    "Tencent Cloud": "tencent",
    "Huawei Cloud": "huawei",
}
# A hosting provider's own domain, the Domain Docker reports for non-business addresses.
HOST_DOMAINS = {
    "aws": "amazonaws.com",
    "gcp": "googleusercontent.com",
    "google": "google.com",
    "azure": "azure.com",
    "oracle": "oraclecloud.com",
    "alibaba": "alibabacloud.com",
    "ibm": "ibm.com",
    "tencent": "tencentcloud.com",
    "huawei": "huaweicloud.com",
    "hetzner": "hetzner.com",
    "digitalocean": "digitalocean.com",
    "ovhcloud": "ovh.net",
    "linode": "linode.com",
    "vultr": "vultr.com",
    "scaleway": "scaleway.com",
    "github": "github.com",
    "cloudflare": "cloudflare.com",
    "fastly": "fastly.com",
    "akamai": "akamai.com",
    "contabo": "contabo.com",
    "leaseweb": "leaseweb.com",
    "upcloud": "upcloud.com",
}
HOSTED_KINDS = frozenset({iporigin.HOSTING, iporigin.CDN})

# Type words of the MMDB flavours we know (IPinfo `type`, GeoIP2 Enterprise `user_type`) -> our four values.
TYPE_WORDS = {
    "business": "business",
    "government": "business",
    "military": "business",
    "library": "business",
    "cafe": "business",
    "traveler": "business",
    "isp": "isp",
    "residential": "isp",
    "cellular": "isp",
    "dialup": "isp",
    "hosting": "hosting",
    "content_delivery_network": "hosting",
    "cdn": "hosting",
    "search_engine_spider": "hosting",
    "education": "education",
    "college": "education",
    "school": "education",
    "university": "education",
}
_HOSTING_WORDS = re.compile(
    r"hosting|cloud|data ?cent(er|re)|server|vps|colo|amazon|google|microsoft|digitalocean|hetzner|ovh|linode"
    r"|akamai|fastly|cloudflare|leaseweb|vultr|scaleway|contabo",
    re.IGNORECASE,
)
_EDUCATION_WORDS = re.compile(
    r"univ|college|academ|school|research|education|institut|polytech|\bedu\b|ac\.[a-z]{2}$", re.IGNORECASE
)
_ISP_WORDS = re.compile(
    r"telecom|telekom|telefonica|broadband|cable|mobile|wireless|cellular|communications|internet|\bisp\b|fib(er|re)"
    r"|\bdsl\b|comcast|verizon|vodafone|orange|at&t|charter|spectrum|\bbt\b|net service|networks? ltd",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Place:
    country: str | None = None
    host: str | None = None
    ip_type: str | None = None
    domain: str | None = None


NOWHERE = Place()


def host_slug(provider: str) -> str:
    return HOST_SLUGS.get(provider) or re.sub(r"[^a-z0-9]+", "-", provider.lower()).strip("-")


def type_from_name(organisation: str) -> str:
    """The best-effort IP type of an AS or ISP organisation name (checked in this order: a hosting provider's
    name often contains "internet" or "networks" too)."""
    if _HOSTING_WORDS.search(organisation):
        return "hosting"
    if _EDUCATION_WORDS.search(organisation):
        return "education"
    if _ISP_WORDS.search(organisation):
        return "isp"
    return "business"


def _dig(record: Mapping[str, Any], *paths: str) -> Any:
    """The first non-empty value among dotted paths of an MMDB record."""
    for path in paths:
        value: Any = record
        for part in path.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
            if value is None:
                break
        if value not in (None, "", {}):
            return value
    return None


def place_from_record(record: Mapping[str, Any]) -> Place:
    """Country, type and domain from one MMDB record, whichever common layout it follows."""
    country = _dig(record, "country.iso_code", "country_code", "country", "registered_country.iso_code")
    country = country.upper() if isinstance(country, str) and len(country) == 2 else None
    raw_type = _dig(record, "type", "company.type", "asn.type", "traits.user_type", "user_type")
    ip_type = TYPE_WORDS.get(str(raw_type).lower()) if raw_type is not None else None
    organisation = _dig(
        record,
        "autonomous_system_organization",
        "as_name",
        "asn.name",
        "company.name",
        "organization",
        "isp",
        "traits.autonomous_system_organization",
        "traits.isp",
        "traits.organization",
    )
    if ip_type is None and isinstance(organisation, str):
        ip_type = type_from_name(organisation)
    domain = _dig(record, "domain", "company.domain", "as_domain", "asn.domain", "traits.domain")
    return Place(country, None, ip_type, domain.lower() if isinstance(domain, str) else None)


class Enricher:
    """Place of an address, cached per distinct address. Lookups run in the capture's writer thread."""

    def __init__(self, mmdb_paths: Iterable[Path] = (), cache_size: int = 131072) -> None:
        self._readers: list[maxminddb.Reader] = []
        for path in mmdb_paths:
            try:
                self._readers.append(maxminddb.open_database(str(path)))
            except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
                self.close()
                raise ValueError(f"DOCKYARD_ANALYTICS_MMDB: cannot read {path}: {exc}") from exc
        self.lookup = lru_cache(maxsize=cache_size)(self._lookup)

    @classmethod
    def from_setting(cls, value: str) -> Enricher:
        """From DOCKYARD_ANALYTICS_MMDB: empty, or one or more MMDB paths separated by commas (for example an ASN
        database and a country database); for each field the first database that knows it wins."""
        return cls([Path(part.strip()) for part in value.split(",") if part.strip()])

    def close(self) -> None:
        for reader in self._readers:
            reader.close()
        self._readers = []

    def __call__(self, address: str) -> Place:
        return self.lookup(address)

    def _lookup(self, address: str) -> Place:
        try:
            ip = ipaddress.ip_address(address.strip().strip("[]"))
        except ValueError:
            return NOWHERE
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not ip.is_global:
            return NOWHERE
        text = str(ip)
        operator = self._operator_place(ip)
        origin = iporigin.classify(text)  # type: ignore[no-untyped-call]  # the package has no annotations
        host = host_slug(origin.provider) if origin.kind in HOSTED_KINDS and origin.provider else None
        ip_type = operator.ip_type or ("hosting" if origin.is_datacenter else None)
        domain = operator.domain or (HOST_DOMAINS.get(host) if host and ip_type == "hosting" else None)
        country = operator.country or iptocc.country_code(text)
        return Place(country, host, ip_type, domain)

    def _operator_place(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Place:
        if not self._readers:
            return NOWHERE
        merged: dict[str, str | None] = {"country": None, "ip_type": None, "domain": None}
        for reader in self._readers:
            try:
                record = reader.get(ip)
            except ValueError:  # an IPv6 address asked of an IPv4-only database
                continue
            if not isinstance(record, Mapping):
                continue
            found = place_from_record(record)
            for name in merged:
                merged[name] = merged[name] or getattr(found, name)
        return Place(merged["country"], None, merged["ip_type"], merged["domain"])
