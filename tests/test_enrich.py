"""Offline enrichment of source addresses: ``classify`` and the SQL function ``ip_info``.

Every expected value is written by hand from ``tests/data/ip-ranges.json`` (a subset of
AWS's file) and from the ``.mmdb`` files the tests write themselves with ``mmdb-writer``:
the networks below are the ones those files list.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from conftest import ENGINES, engine_session, log_folder, write_log
from trailsql.catalog.workspace import Workspace
from trailsql.cli.main import cli
from trailsql.engines.athena import AthenaEngine
from trailsql.enrich import FIELDS as ENRICH_FIELDS
from trailsql.enrich import EnrichSources, IpInfo, classify
from trailsql.enrich.info import parse_address
from trailsql.enrich.ranges import AwsRanges
from trailsql.errors import BadInputError, NotSupportedError, UsageError
from trailsql.lake.ingest import IngestOptions, ingest
from trailsql.session import Session
from trailsql.sql.parse import parse_one

RANGES = Path(__file__).parent / "data" / "ip-ranges.json"
SOURCES = EnrichSources(ip_ranges=str(RANGES))


def write_mmdb(path: Path, database_type: str, networks: dict[str, dict[str, Any]], ip_version: int = 6) -> Path:
    """A MaxMind DB of ``networks`` (IPv4 networks reachable in an IPv6 database, as MaxMind's are)."""
    writer = MMDBWriter(
        ip_version=ip_version,
        database_type=database_type,
        description={"en": "trailsql test"},
        ipv4_compatible=ip_version == 6,
    )
    for network, record in networks.items():
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(path))
    return path


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A GeoLite2-Country-shaped database and a GeoLite2-ASN-shaped one, as MaxMind ships them apart."""
    folder = tmp_path_factory.mktemp("mmdb")
    country = write_mmdb(
        folder / "GeoLite2-Country.mmdb",
        "GeoLite2-Country",
        {
            "3.224.0.0/12": {"country": {"iso_code": "US", "names": {"en": "United States"}}},
            "81.2.69.0/24": {"country": {"iso_code": "GB"}, "continent": {"code": "EU"}},
            "2a05:d018::/36": {"country": {"iso_code": "IE"}},
            # an address with no located country, only the country it is registered in
            "196.40.0.0/16": {"registered_country": {"iso_code": "ZA"}},
        },
    )
    asn = write_mmdb(
        folder / "GeoLite2-ASN.mmdb",
        "GeoLite2-ASN",
        {
            "3.224.0.0/12": {"autonomous_system_number": 14618, "autonomous_system_organization": "AMAZON-AES"},
            "81.2.69.0/24": {
                "autonomous_system_number": 20712,
                "autonomous_system_organization": "Andrews & Arnold Ltd",
            },
            "2a05:d018::/36": {"autonomous_system_number": 16509, "autonomous_system_organization": "AMAZON-02"},
        },
    )
    return str(country), str(asn)


# --- classify: the kinds, the ranges ----------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("52.95.110.1", IpInfo("aws", "us-east-1", "AMAZON", "52.95.110.0/24")),  # listed under AMAZON only
        ("3.225.16.109", IpInfo("aws", "us-east-1", "EC2", "3.224.0.0/12")),  # EC2 over AMAZON, same network
        ("52.217.3.4", IpInfo("aws", "us-east-1", "S3", "52.216.0.0/15")),
        ("18.206.107.25", IpInfo("aws", "us-east-1", "EC2_INSTANCE_CONNECT", "18.206.107.24/29")),  # /29 in EC2's /14
        ("18.206.107.40", IpInfo("aws", "us-east-1", "EC2", "18.204.0.0/14")),  # just past the /29
        ("54.242.1.1", IpInfo("aws", "us-east-1", "EC2", "54.242.0.0/15")),  # EC2's /15 inside AMAZON's GLOBAL /12
        ("54.241.0.1", IpInfo("aws", "GLOBAL", "AMAZON", "54.240.0.0/12")),  # only AMAZON's /12 holds it
        ("54.243.31.200", IpInfo("aws", "us-east-1", "ROUTE53_HEALTHCHECKS", "54.243.31.192/26")),  # rarer service
        ("13.33.255.255", IpInfo("aws", "GLOBAL", "CLOUDFRONT", "13.32.0.0/15")),
        ("13.34.0.0", IpInfo("public")),  # the first address after 13.32.0.0/15
        ("::ffff:13.32.0.1", IpInfo("aws", "GLOBAL", "CLOUDFRONT", "13.32.0.0/15")),  # IPv4-mapped IPv6
        ("2600:1f18:4a3:6900::1", IpInfo("aws", "us-east-1", "EC2", "2600:1f18::/33")),
        ("2600:1f18:8000::1", IpInfo("public")),  # outside the /33
        ("2600:9000:2000::5", IpInfo("aws", "GLOBAL", "CLOUDFRONT", "2600:9000::/28")),
        ("8.8.8.8", IpInfo("public")),
        ("192.168.10.20", IpInfo("private")),
        ("10.8.8.10", IpInfo("private")),
        ("172.31.255.1", IpInfo("private")),
        ("127.0.0.1", IpInfo("private")),
        ("169.254.169.254", IpInfo("private")),  # link-local: the instance metadata service
        ("100.64.1.1", IpInfo("private")),  # CGNAT
        ("fd12:3456::1", IpInfo("private")),  # ULA
        ("fe80::1", IpInfo("private")),
        ("::1", IpInfo("private")),
        ("AWS Internal", IpInfo("aws internal")),
        ("ec2.amazonaws.com", IpInfo("aws service")),
        ("lambda.amazonaws.com", IpInfo("aws service")),
        ("s3.cn-north-1.amazonaws.com.cn", IpInfo("aws service")),
        ("garbage", IpInfo("invalid")),
        ("", IpInfo("invalid")),
        ("300.1.2.3", IpInfo("invalid")),
        ("evil.amazonaws.com.example.org", IpInfo("invalid")),
    ],
)
def test_classify(address: str, expected: IpInfo) -> None:
    assert classify(address, SOURCES) == expected


def test_the_struct_has_the_fields_of_ipinfo_in_order() -> None:
    info = IpInfo("aws", "r", "S", "n", "US", 1, "o")
    assert info.values() == ("aws", "r", "S", "n", "US", 1, "o")
    assert [name for name, _ in ENRICH_FIELDS] == [f.name for f in dataclasses.fields(IpInfo)]


def test_without_data_the_kinds_still_come_from_the_value() -> None:
    assert [classify(a).kind for a in ("52.95.110.1", "10.0.0.1", "AWS Internal", "ec2.amazonaws.com", "x")] == [
        "public",
        "private",
        "aws internal",
        "aws service",
        "invalid",
    ]
    assert classify("52.95.110.1") == IpInfo("public")


def test_one_network_under_several_services_reports_the_rarest_then_the_name() -> None:
    document = {
        "syncToken": "1",
        "createDate": "2024-01-01-00-00-00",
        "prefixes": [
            {"ip_prefix": "10.0.0.0/8", "region": "r", "service": "BIG"},
            {"ip_prefix": "11.0.0.0/8", "region": "r", "service": "BIG"},
            {"ip_prefix": "10.0.0.0/8", "region": "r", "service": "SMALL"},
            {"ip_prefix": "10.0.0.0/8", "region": "r", "service": "AMAZON"},
            {"ip_prefix": "12.0.0.0/8", "region": "r", "service": "ZED"},
            {"ip_prefix": "12.0.0.0/8", "region": "r", "service": "ALPHA"},
        ],
    }
    ranges = AwsRanges.parse(document)

    def service(address: str) -> str | None:
        found = parse_address(address)
        assert found is not None
        listing = ranges.match(found)
        return None if listing is None else listing.service

    assert (service("10.1.1.1"), service("11.1.1.1"), service("12.1.1.1"), service("13.1.1.1")) == (
        "SMALL",
        "BIG",
        "ALPHA",
        None,
    )
    assert (ranges.ipv4_count, ranges.ipv6_count, ranges.sync_token) == (6, 0, "1")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"syncToken": "1"}, "no 'prefixes' list"),
        ({"prefixes": [{"ip_prefix": "10.0.0.0/33", "region": "r", "service": "S"}]}, "bad entry in prefixes"),
        (
            {"prefixes": [], "ipv6_prefixes": [{"ipv6_prefix": "2600::/32", "service": "S"}]},
            "bad entry in ipv6_prefixes",
        ),
    ],
)
def test_a_file_not_in_the_format_is_refused(document: dict[str, Any], message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        AwsRanges.parse(document)


# --- .mmdb databases ---------------------------------------------------------------------


def test_maxmind_country_and_asn_databases(databases: tuple[str, str]) -> None:
    sources = EnrichSources(ip_ranges=str(RANGES), mmdb=databases)
    assert classify("3.225.16.109", sources) == IpInfo(
        "aws", "us-east-1", "EC2", "3.224.0.0/12", "US", 14618, "AMAZON-AES"
    )
    assert classify("81.2.69.142", sources) == IpInfo("public", country="GB", asn=20712, as_org="Andrews & Arnold Ltd")
    assert classify("2a05:d018:1::1", sources) == IpInfo(
        "aws", "eu-west-1", "EC2", "2a05:d018::/36", "IE", 16509, "AMAZON-02"
    )
    assert classify("196.40.1.1", sources) == IpInfo("public", country="ZA")  # registered_country
    assert classify("8.8.8.8", sources) == IpInfo("public")  # in neither database
    assert classify("10.0.0.1", sources) == IpInfo("private")  # private addresses are not looked up


def test_ipinfo_lite_layout(tmp_path: Path) -> None:
    lite = write_mmdb(
        tmp_path / "ipinfo_lite.mmdb",
        "ipinfo lite.mmdb",
        {
            "1.1.1.0/24": {
                "asn": "AS13335",
                "as_name": "Cloudflare, Inc.",
                "as_domain": "cloudflare.com",
                "country_code": "AU",
                "country": "Australia",
                "continent_code": "OC",
            }
        },
    )
    assert classify("1.1.1.1", EnrichSources(mmdb=(str(lite),))) == IpInfo(
        "public", country="AU", asn=13335, as_org="Cloudflare, Inc."
    )


def test_an_ipv4_only_database_answers_nothing_for_ipv6(tmp_path: Path) -> None:
    v4 = write_mmdb(tmp_path / "v4.mmdb", "GeoLite2-Country", {"81.2.69.0/24": {"country": {"iso_code": "GB"}}}, 4)
    sources = EnrichSources(mmdb=(str(v4),))
    assert (classify("81.2.69.1", sources), classify("2a05:d018::1", sources)) == (
        IpInfo("public", country="GB"),
        IpInfo("public"),
    )


def test_missing_or_bad_files_fail_naming_them(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"nope\.json .*does not exist"):
        classify("1.1.1.1", EnrichSources(ip_ranges=str(tmp_path / "nope.json"), ranges_required=True))
    # the default ranges file of a workspace may be absent: the range fields are then NULL
    assert classify("3.225.16.109", EnrichSources(ip_ranges=str(tmp_path / "nope.json"))) == IpInfo("public")
    (tmp_path / "bad.mmdb").write_bytes(b"not a database")
    with pytest.raises(BadInputError, match=r"MaxMind DB .*bad\.mmdb"):
        classify("1.1.1.1", EnrichSources(mmdb=(str(tmp_path / "bad.mmdb"),)))
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(BadInputError, match=r"AWS IP ranges .*bad\.json"):
        classify("1.1.1.1", EnrichSources(ip_ranges=str(tmp_path / "bad.json")))


def test_a_replaced_ranges_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "ip-ranges.json"
    entry = {"ip_prefix": "203.0.113.0/24", "region": "r1", "service": "EC2"}
    path.write_text(json.dumps({"prefixes": [entry]}))
    sources = EnrichSources(ip_ranges=str(path))
    assert classify("8.8.8.8", sources) == IpInfo("public")
    path.write_text(json.dumps({"prefixes": [{"ip_prefix": "8.8.8.0/24", "region": "r2", "service": "S3"}]}))
    assert classify("8.8.8.8", sources) == IpInfo("aws", "r2", "S3", "8.8.8.0/24")


# --- ip_info in SQL ----------------------------------------------------------------------

#: (eventID, sourceIPAddress, eventName) of the events the SQL tests write.
EVENTS = [
    ("e1", "3.225.16.109", "ListBuckets"),
    ("e2", "192.168.10.20", "ConsoleLogin"),
    ("e3", "AWS Internal", "Decrypt"),
    ("e4", "ec2.amazonaws.com", "AssumeRole"),
    ("e5", "81.2.69.142", "ConsoleLogin"),
    ("e6", "2a05:d018:1::1", "GetObject"),
    ("e7", "not an address", "ListUsers"),
    ("e8", None, "GetCallerIdentity"),
    ("e9", "3.225.16.109", "ConsoleLogin"),
]


def record(event_id: str, address: str | None, name: str) -> dict[str, Any]:
    event: dict[str, Any] = {
        "eventVersion": "1.09",
        "eventTime": "2025-02-12T10:00:00Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "eventID": event_id,
        "userIdentity": {"type": "IAMUser", "userName": "alice", "accountId": "123456789012"},
    }
    if address is not None:
        event["sourceIPAddress"] = address
    return event


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, databases: tuple[str, str]) -> Path:
    """Logs of :data:`EVENTS` and a workspace whose ``[enrich]`` names the fixture's ranges and both databases."""
    root = tmp_path_factory.mktemp("enrich-sql")
    logs = root / "logs"
    day = dt.date(2025, 2, 12)
    name = f"123456789012_CloudTrail_us-east-1_{day:%Y%m%d}T1000Z_0001.json.gz"
    write_log(log_folder(logs, "123456789012", "us-east-1", day), name, [record(*e) for e in EVENTS])
    folder = root / "ws"
    folder.mkdir()
    mmdb = ", ".join(json.dumps(p) for p in databases)
    (folder / "trailsql.toml").write_text(
        f"[logs]\ndefault = {json.dumps(str(logs))}\n\n[enrich]\nip_ranges = {json.dumps(str(RANGES))}\nmmdb = [{mmdb}]\n"
    )
    return folder


#: ip_info of each event, by hand: (kind, aws_region, aws_service, network, country, asn, as_org).
EXPECTED = {
    "e1": ("aws", "us-east-1", "EC2", "3.224.0.0/12", "US", 14618, "AMAZON-AES"),
    "e2": ("private", None, None, None, None, None, None),
    "e3": ("aws internal", None, None, None, None, None, None),
    "e4": ("aws service", None, None, None, None, None, None),
    "e5": ("public", None, None, None, "GB", 20712, "Andrews & Arnold Ltd"),
    "e6": ("aws", "eu-west-1", "EC2", "2a05:d018::/36", "IE", 16509, "AMAZON-02"),
    "e7": ("invalid", None, None, None, None, None, None),
    "e8": None,
    "e9": ("aws", "us-east-1", "EC2", "3.224.0.0/12", "US", 14618, "AMAZON-AES"),
}
FIELDS = ("kind", "aws_region", "aws_service", "network", "country", "asn", "as_org")


@pytest.fixture(scope="module", params=ENGINES)
def sql_session(request: pytest.FixtureRequest, workspace: Path) -> Iterator[Session]:
    session = engine_session(request.param, workspace=workspace)
    yield session
    session.close()


def test_ip_info_in_select_where_and_group_by(sql_session: Session) -> None:
    whole = sql_session.execute(
        "SELECT eventid, ip_info(sourceipaddress) AS info FROM cloudtrail_logs ORDER BY eventid"
    )
    got = {
        r["eventid"]: None if r["info"] is None else tuple(r["info"][f] for f in FIELDS)
        for r in whole.table.to_pylist()
    }
    assert got == EXPECTED
    fields = sql_session.execute(
        "SELECT eventid, ip_info(sourceipaddress).country, ip_info(sourceipaddress).asn"
        " FROM cloudtrail_logs WHERE ip_info(sourceipaddress).kind IN ('aws', 'public') ORDER BY eventid"
    )
    assert fields.table.column_names == ["eventid", "country", "asn"]  # a row's field is named by it, as in Trino
    assert fields.table.to_pylist() == [
        {"eventid": e, "country": EXPECTED[e][4], "asn": EXPECTED[e][5]}  # type: ignore[index]
        for e in ("e1", "e5", "e6", "e9")
    ]
    grouped = sql_session.execute(
        "SELECT ip_info(sourceipaddress).kind AS kind, count(*) AS n FROM cloudtrail_logs"
        " GROUP BY ip_info(sourceipaddress).kind ORDER BY kind NULLS LAST"
    )
    assert grouped.table.to_pylist() == [
        {"kind": "aws", "n": 3},
        {"kind": "aws internal", "n": 1},
        {"kind": "aws service", "n": 1},
        {"kind": "invalid", "n": 1},
        {"kind": "private", "n": 1},
        {"kind": "public", "n": 1},
        {"kind": None, "n": 1},
    ]


def test_ip_info_of_literals(sql_session: Session) -> None:
    result = sql_session.execute(
        "SELECT ip_info('52.95.110.1').aws_service AS a, ip_info('2600:1f18::1').aws_region AS b,"
        " ip_info(CAST(NULL AS varchar)) AS c, ip_info('AWS Internal').kind AS d, ip_info('81.2.69.142').as_org AS e"
    )
    assert result.table.to_pylist() == [
        {"a": "AMAZON", "b": "us-east-1", "c": None, "d": "aws internal", "e": "Andrews & Arnold Ltd"}
    ]


def test_ip_info_of_literals_and_null() -> None:
    with Session() as session:  # no workspace: kinds only, range and geography fields NULL
        result = session.execute(
            "SELECT ip_info('3.225.16.109').kind AS a, ip_info('10.1.1.1').kind AS b, ip_info(NULL) AS c,"
            " ip_info('3.225.16.109').aws_region AS d"
        )
        assert result.table.to_pylist() == [{"a": "public", "b": "private", "c": None, "d": None}]


def test_a_missing_configured_file_fails_the_query_that_uses_ip_info(tmp_path: Path) -> None:
    (tmp_path / "trailsql.toml").write_text('[enrich]\nip_ranges = "gone.json"\n')
    with Session(workspace=tmp_path) as session:
        assert session.execute("SELECT 1 AS x").table.to_pylist() == [{"x": 1}]  # queries without it run
        with pytest.raises(BadInputError, match=r"gone\.json .*does not exist"):
            session.execute("SELECT ip_info('1.1.1.1').kind")


def test_ip_info_over_the_lake(workspace: Path, tmp_path: Path) -> None:
    lake_workspace = tmp_path / "ws"
    lake_workspace.mkdir()
    (lake_workspace / "trailsql.toml").write_text((workspace / "trailsql.toml").read_text())
    logs = Path(tomllib.loads((workspace / "trailsql.toml").read_text())["logs"]["default"])
    ingest(str(logs), lake_workspace, IngestOptions())
    with Session(workspace=lake_workspace) as session:
        result = session.execute(
            "SELECT eventid, ip_info(sourceipaddress).aws_service AS service FROM cloudtrail_logs"
            " WHERE ip_info(sourceipaddress).country = 'US' ORDER BY eventid"
        )
        assert result.stats.events_from_lake == len(EVENTS) and result.stats.events_from_logs == 0
        assert result.table.to_pylist() == [{"eventid": "e1", "service": "EC2"}, {"eventid": "e9", "service": "EC2"}]


def test_trailsql_query_sees_ip_info(workspace: Path) -> None:
    sql = (
        "SELECT eventid, ip_info(sourceipaddress).network AS network FROM cloudtrail_logs"
        " WHERE ip_info(sourceipaddress).kind = 'aws' ORDER BY eventid"
    )
    result = CliRunner().invoke(cli, ["query", "--workspace", str(workspace), "--format", "json", sql])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"eventid": "e1", "network": "3.224.0.0/12"},
        {"eventid": "e6", "network": "2a05:d018::/36"},
        {"eventid": "e9", "network": "3.224.0.0/12"},
    ]


def test_athena_refuses_ip_info(tmp_path: Path) -> None:
    engine = AthenaEngine()
    with Session(tmp_path / "logs", engine=engine) as session:
        plan = session.plan(parse_one("SELECT ip_info(sourceipaddress).country FROM cloudtrail_logs"))
        with pytest.raises(NotSupportedError, match="not supported: ip_info on Athena"):
            engine.sql(plan)


def test_enrich_settings_are_checked(tmp_path: Path) -> None:
    for bad in ("[enrich]\nmmdb = 3\n", "[enrich]\nip_ranges = [1]\n", "enrich = 1\n"):
        (tmp_path / "trailsql.toml").write_text(bad)
        with pytest.raises(UsageError, match=r"\[enrich\]"):
            Session(workspace=tmp_path)
    (tmp_path / "trailsql.toml").write_text('[enrich]\nmmdb = "one.mmdb"\n')
    assert Workspace(tmp_path).enrich_sources == EnrichSources(
        ip_ranges=str(tmp_path / "enrich" / "ip-ranges.json"), mmdb=(str(tmp_path / "one.mmdb"),)
    )
