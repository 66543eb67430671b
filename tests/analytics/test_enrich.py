"""Enrichment of client addresses: the shipped country and provider data, and an operator's MMDB files."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet
from starlette.testclient import TestClient

from dockyard.analytics.enrich import NOWHERE, Enricher, Place, host_slug, place_from_record, type_from_name
from dockyard.analytics.event_writer import EventWriter, encoded
from dockyard.analytics.periods import micros
from dockyard.app import create_app
from dockyard.config import Settings
from dockyard.registry.events import ManifestRequested


def write_mmdb(path: Path, networks: dict[str, dict[str, Any]]) -> Path:
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="Test-Company")
    for network, record in networks.items():
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(path))
    return path


@pytest.fixture
def shipped() -> Enricher:
    return Enricher()


@pytest.mark.parametrize(
    ("address", "place"),
    [
        ("52.95.110.1", Place("US", "aws", "hosting", "amazonaws.com")),
        ("2600:1f18::1", Place("US", "aws", "hosting", "amazonaws.com")),
        ("::ffff:52.95.110.1", Place("US", "aws", "hosting", "amazonaws.com")),
        ("34.120.0.1", Place("US", "gcp", "hosting", "googleusercontent.com")),
        ("20.50.0.1", Place("US", "azure", "hosting", "azure.com")),
        ("5.9.10.1", Place("DE", "hetzner", "hosting", "hetzner.com")),
        ("2a01:4f8::1", Place("DE", "hetzner", "hosting", "hetzner.com")),
        ("104.16.132.229", Place("US", "cloudflare", "hosting", "cloudflare.com")),
        # a residential line: the country is known, nothing else is without an operator database
        ("81.2.69.160", Place("GB", None, None, None)),
        # private, loopback, documentation and garbage: nothing at all
        ("10.0.0.1", NOWHERE),
        ("127.0.0.1", NOWHERE),
        ("::1", NOWHERE),
        ("192.0.2.10", NOWHERE),
        ("testclient", NOWHERE),
        ("", NOWHERE),
    ],
)
def test_shipped_data(shipped: Enricher, address: str, place: Place) -> None:
    assert shipped(address) == place


def test_lookups_are_cached_per_distinct_address(shipped: Enricher) -> None:
    for _ in range(50):
        shipped("52.95.110.1")
        shipped("81.2.69.160")
    info = shipped.lookup.cache_info()
    assert (info.misses, info.hits) == (2, 98)


def test_operator_database_gives_type_and_domain(tmp_path: Path) -> None:
    company = write_mmdb(
        tmp_path / "company.mmdb",
        {
            # IPinfo-style company data
            "81.2.69.0/24": {"type": "business", "domain": "Acme.Example", "country_code": "GB"},
            # an operator's type wins over the provider feed's "hosting"; the provider is still the host
            "52.95.110.0/24": {"type": "isp", "domain": "example-isp.net"},
            # ASN-only databases: the organisation name is classified by keywords
            "1.1.8.0/24": {"autonomous_system_number": 1, "autonomous_system_organization": "Example State University"},
            "1.0.16.0/24": {"autonomous_system_number": 2, "autonomous_system_organization": "Example Telecom DSL"},
            "1.0.64.0/24": {"autonomous_system_number": 3, "autonomous_system_organization": "Acme Widgets GmbH"},
            # GeoIP2 Enterprise layout
            "2001:4860::/32": {"traits": {"user_type": "college", "domain": "Example.EDU"}},
        },
    )
    countries = write_mmdb(tmp_path / "country.mmdb", {"1.0.64.0/24": {"country": {"iso_code": "fr"}}})
    enricher = Enricher.from_setting(f"{company}, {countries}")
    try:
        assert enricher("81.2.69.160") == Place("GB", None, "business", "acme.example")
        assert enricher("52.95.110.1") == Place("US", "aws", "isp", "example-isp.net")
        assert enricher("1.1.8.1").ip_type == "education"
        assert enricher("1.0.16.1").ip_type == "isp"
        # the second database supplies the country the first lacks
        assert enricher("1.0.64.1") == Place("FR", None, "business", None)
        assert enricher("2001:4860::8888").ip_type == "education"
        assert enricher("2001:4860::8888").domain == "example.edu"
        # not in the operator's data: the shipped data still answers
        assert enricher("5.9.10.1") == Place("DE", "hetzner", "hosting", "hetzner.com")
        assert enricher("10.1.2.3") == NOWHERE
    finally:
        enricher.close()


def test_unreadable_operator_database_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.mmdb"
    broken.write_bytes(b"this is not an mmdb file")
    for value in (str(broken), str(tmp_path / "missing.mmdb")):
        with pytest.raises(ValueError, match="DOCKYARD_ANALYTICS_MMDB"):
            Enricher.from_setting(value)


def test_the_server_does_not_start_with_an_unreadable_operator_database(settings: Settings) -> None:
    # The writer process opens the databases; the server checks them first, so a wrong path is not found late.
    configured = dataclasses.replace(settings, analytics_mmdb=str(settings.data_dir / "missing.mmdb"))
    with pytest.raises(ValueError, match="DOCKYARD_ANALYTICS_MMDB"), TestClient(create_app(configured)):
        pass


@pytest.mark.parametrize(
    ("organisation", "ip_type"),
    [
        ("Amazon.com, Inc.", "hosting"),
        ("Hetzner Online GmbH", "hosting"),
        ("OVH SAS", "hosting"),
        ("Massachusetts Institute of Technology", "education"),
        ("Universitaet Stuttgart", "education"),
        ("Deutsche Telekom AG", "isp"),
        ("Comcast Cable Communications, LLC", "isp"),
        ("Vodafone Ltd", "isp"),
        ("Siemens AG", "business"),
    ],
)
def test_organisation_name_heuristic(organisation: str, ip_type: str) -> None:
    assert type_from_name(organisation) == ip_type


def test_record_layouts() -> None:
    assert place_from_record({}) == NOWHERE
    assert place_from_record({"type": "hosting", "country_code": "de"}) == Place("DE", None, "hosting", None)
    assert place_from_record({"type": "something-else"}).ip_type is None
    assert place_from_record({"asn": {"name": "Example Cloud Hosting", "domain": "x.example"}}) == Place(
        None, None, "hosting", "x.example"
    )
    assert host_slug("Amazon AWS") == "aws" and host_slug("Apple Private Relay") == "apple-private-relay"


def test_rows_carry_the_place_and_never_the_address(tmp_path: Path) -> None:
    company = write_mmdb(tmp_path / "c.mmdb", {"81.2.69.0/24": {"type": "business", "domain": "acme.example"}})
    writer = EventWriter(tmp_path / "data", b"k" * 32, Enricher([company]))
    event = ManifestRequested(
        repository="acme/app",
        reference="v1",
        digest=None,
        method="HEAD",
        status=200,
        client_ip="81.2.69.160",
        user_agent="Watchtower/v1.7.1",
        account=None,
        time_us=micros(datetime(2024, 3, 4, 5, 6, 7, tzinfo=UTC)),
    )
    (row,) = writer.table(encoded(event, "dockyard")).to_pylist()
    assert (row["country"], row["host"], row["ip_type"], row["domain"]) == ("GB", None, "business", "acme.example")
    assert row["ts"] == datetime(2024, 3, 4, 5, 6, 7)
    assert "81.2.69.160" not in repr(row)
