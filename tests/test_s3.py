"""Logs in S3, read from a real S3 server (SeaweedFS on loopback, credentials enforced).

The same logs are written to disk and uploaded: the seed's partitions and decoys at the
bucket's root, and under a custom prefix two accounts, two regions and three days, an
organization trail and digest files. Every query must give the same rows from S3 as
from the local copy, list only the prefixes its partitions allow, read each object once
(the cache), read a changed object again, and name what it could not fetch.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import log_folder, write_log
from s3server import S3Server
from test_seed import build, query_sql, seed_queries
from trailsql.errors import BadInputError, OperationalError, SourceError
from trailsql.lake.ingest import IngestOptions, ingest
from trailsql.seed import load_seed
from trailsql.session import Session

BUCKET = "trails"
ACCOUNTS = ("111111111111", "222222222222")
REGIONS = ("us-east-1", "eu-west-1")
DAYS = tuple(dt.date(2025, 3, d) for d in (1, 2, 3))
ORG = "o-abcdefghij"
ORG_ACCOUNT = "333333333333"


def record(account: str, region: str, day: dt.date, n: int) -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "eventTime": f"{day:%Y-%m-%d}T{n % 24:02d}:00:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": f"Event{n % 3}",
        "awsRegion": region,
        "sourceIPAddress": "198.51.100.1",
        "eventID": f"{account}-{region}-{day:%d}-{n}",
        "recipientAccountId": account,
        "userIdentity": {"type": "IAMUser", "accountId": account, "userName": f"user{n % 2}"},
    }


def write_custom(root: Path) -> None:
    """Two accounts, two regions, three days; an org trail; digest files."""
    for account in ACCOUNTS:
        for region in REGIONS:
            for day in DAYS:
                folder = log_folder(root, account, region, day)
                for i in range(2):
                    name = f"{account}_CloudTrail_{region}_{day:%Y%m%d}T0000Z_{i}.json.gz"
                    write_log(folder, name, [record(account, region, day, i * 10 + n) for n in range(5)])
                digest = root / "AWSLogs" / account / "CloudTrail-Digest" / region / f"{day:%Y/%m/%d}"
                write_log(digest, f"{account}_CloudTrail-Digest_{region}_{day:%Y%m%d}.json.gz", [])
    for day in DAYS:
        folder = log_folder(root, ORG_ACCOUNT, "us-east-1", day, org=ORG)
        write_log(
            folder,
            f"{ORG_ACCOUNT}_CloudTrail_us-east-1_{day:%Y%m%d}T0000Z_0.json.gz",
            [record(ORG_ACCOUNT, "us-east-1", day, 1)],
        )


@pytest.fixture(scope="module")
def bucket(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    seed_root = tmp_path_factory.mktemp("seedlogs")
    build(seed_root)
    custom_root = tmp_path_factory.mktemp("customlogs")
    write_custom(custom_root)
    s3_server.client().create_bucket(Bucket=BUCKET)
    s3_server.upload(BUCKET, seed_root)
    s3_server.upload(BUCKET, custom_root, "custom/")
    return {"seed": seed_root, "custom": custom_root}


def s3_session(server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> Session:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", kwargs.pop("secret", server.secret_key))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    options = {"endpoint_url": server.endpoint, "region": "us-east-1", "cache_dir": str(tmp_path / "cache")}
    options.update(kwargs.pop("s3", {}))
    return Session(s3=options, **kwargs)


def rows(session: Session, sql: str) -> list[dict[str, Any]]:
    return sorted((repr(r) for r in session.execute(sql).table.to_pylist()), key=str)  # type: ignore[return-value]


def local_path(uri: str) -> str:
    return uri.split("/", 3)[3]


# --------------------------------------------------------------------------- same rows


@pytest.fixture(scope="module")
def seed_sessions(
    s3_server: S3Server, bucket: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Session, Session]]:
    mp = pytest.MonkeyPatch()
    ddl = load_seed()[0].sql
    s3 = s3_session(s3_server, tmp_path_factory.mktemp("s3seed"), mp)
    s3.execute(ddl.replace("s3://your-cloudtrail-bucket/", f"s3://{BUCKET}/"))
    local = Session(location_maps={"s3://your-cloudtrail-bucket": str(bucket["seed"])})
    local.execute(ddl)
    yield s3, local
    s3.close()
    local.close()
    mp.undo()


@pytest.mark.parametrize("statement", seed_queries(), ids=lambda s: s.name)
def test_seed_query_same_rows_from_s3(statement: Any, seed_sessions: tuple[Session, Session]) -> None:
    s3, local = seed_sessions
    sql = query_sql(statement)
    assert rows(s3, sql) == rows(local, sql)


def test_default_table_same_rows_as_local(
    s3_server: S3Server, bucket: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sql = 'SELECT eventid, account, region, year, month, day, "$path" AS p FROM cloudtrail_logs'
    session = s3_session(s3_server, tmp_path, monkeypatch, logs=f"s3://{BUCKET}/custom/")
    remote = session.execute(sql).table.to_pylist()
    local = Session(logs=bucket["custom"]).execute(sql).table.to_pylist()
    assert len(remote) == len(local) == len(ACCOUNTS) * len(REGIONS) * len(DAYS) * 10 + len(DAYS)
    key = lambda r: r["eventid"]  # noqa: E731
    for got, want in zip(sorted(remote, key=key), sorted(local, key=key), strict=True):
        assert got["p"].startswith(f"s3://{BUCKET}/custom/AWSLogs/")
        assert Path(want["p"]).as_posix().endswith(got["p"].removeprefix(f"s3://{BUCKET}/custom/"))
        assert {k: v for k, v in got.items() if k != "p"} == {k: v for k, v in want.items() if k != "p"}
    assert not any("Digest" in r["p"] for r in remote)
    assert {r["account"] for r in remote} == {*ACCOUNTS, ORG_ACCOUNT}


# --------------------------------------------------------------------------- pruning


def test_constrained_query_lists_only_its_day(
    s3_server: S3Server, bucket: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = s3_session(s3_server, tmp_path, monkeypatch, logs=f"s3://{BUCKET}/custom/")
    listed: list[str] = []
    session.s3().client.meta.events.register(
        "before-parameter-build.s3.ListObjectsV2", lambda params, **_: listed.append(params["Prefix"])
    )
    sql = (
        "SELECT count(*) AS n FROM cloudtrail_logs WHERE account = '111111111111' AND region = 'eu-west-1'"
        " AND year = '2025' AND month = '03' AND day = '02'"
    )
    result = session.execute(sql)
    assert result.table.to_pylist() == [{"n": 10}]
    day = "custom/AWSLogs/111111111111/CloudTrail/eu-west-1/2025/03/02/"
    assert day in listed
    org = f"custom/AWSLogs/{ORG}/"  # an org folder may hold the account: listed, its accounts pruned
    for prefix in listed:
        assert day.startswith(prefix) or prefix.startswith(day) or prefix == org, prefix
    assert not any("222222222222" in p or "us-east-1" in p or "/01/" in p or "Digest" in p for p in listed)
    assert result.stats.list_requests == len(listed)
    assert result.stats.get_requests == 2
    assert result.stats.files_scanned == 2


def test_ddl_projection_lists_only_partition_prefixes(
    s3_server: S3Server, bucket: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = s3_session(s3_server, tmp_path, monkeypatch)
    session.execute(load_seed()[0].sql.replace("s3://your-cloudtrail-bucket/", f"s3://{BUCKET}/"))
    sql = "SELECT count(*) AS n FROM cloudtrail_logs WHERE region = 'us-east-1' AND year = '2025' AND month = '02' AND day = '12'"
    result = session.execute(sql)
    assert result.stats.list_requests == 1
    local = Session(location_maps={"s3://your-cloudtrail-bucket": str(bucket["seed"])})
    local.execute(load_seed()[0].sql)
    assert result.table.to_pylist() == local.execute(sql).table.to_pylist()


# --------------------------------------------------------------------------- the cache


def test_second_run_reads_from_the_cache_and_changed_object_is_read_again(
    s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = s3_server.client()
    client.create_bucket(Bucket="cachetest")
    folder = log_folder(tmp_path / "src", ACCOUNTS[0], REGIONS[0], DAYS[0])
    path = write_log(folder, "a.json.gz", [record(ACCOUNTS[0], REGIONS[0], DAYS[0], n) for n in range(3)])
    write_log(folder, "b.json.gz", [record(ACCOUNTS[0], REGIONS[0], DAYS[0], n) for n in range(10, 12)])
    s3_server.upload("cachetest", tmp_path / "src")
    sql = "SELECT count(*) AS n FROM cloudtrail_logs"

    first = s3_session(s3_server, tmp_path, monkeypatch, logs="s3://cachetest/")
    result = first.execute(sql)
    assert result.table.to_pylist() == [{"n": 5}]
    assert (result.stats.get_requests, result.stats.cache_hits) == (2, 0)
    assert result.stats.bytes_fetched > 0

    second = s3_session(s3_server, tmp_path, monkeypatch, logs="s3://cachetest/")
    result = second.execute(sql)
    assert result.table.to_pylist() == [{"n": 5}]
    assert (result.stats.get_requests, result.stats.cache_hits, result.stats.bytes_fetched) == (0, 2, 0)

    key = path.relative_to(tmp_path / "src").as_posix()
    write_log(folder, "a.json.gz", [record(ACCOUNTS[0], REGIONS[0], DAYS[0], n) for n in range(7)])
    client.put_object(Bucket="cachetest", Key=key, Body=path.read_bytes())
    result = second.execute(sql)
    assert result.table.to_pylist() == [{"n": 9}]
    assert (result.stats.get_requests, result.stats.cache_hits) == (1, 1)

    nocache = s3_session(s3_server, tmp_path, monkeypatch, logs="s3://cachetest/", s3={"no_cache": True})
    result = nocache.execute(sql)
    assert (result.stats.get_requests, result.stats.cache_hits) == (2, 0)
    temp = nocache.s3().cache.folder
    nocache.close()
    assert not temp.exists()


# --------------------------------------------------------------------------- errors and faults


def test_wrong_credentials_give_one_clear_line(
    s3_server: S3Server, bucket: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = s3_session(s3_server, tmp_path, monkeypatch, logs=f"s3://{BUCKET}/custom/", secret="not-the-secret")
    with pytest.raises(SourceError) as error:  # PEP 249: an OperationalError, the store's, not the SQL's
        session.execute("SELECT count(*) FROM cloudtrail_logs")
    assert isinstance(error.value, OperationalError)
    message = str(error.value)
    assert "\n" not in message
    assert re.search(r"credentials .*SignatureDoesNotMatch|SignatureDoesNotMatch.*credentials", message), message
    assert f"s3://{BUCKET}/custom/" in message


class _Raw:
    """A response body that ends before its Content-Length: a connection dropped mid-object."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, amt: int | None = None, **_: Any) -> bytes:
        data, self.data = self.data, b""
        return data

    def stream(self, *_: Any, **__: Any) -> Iterator[bytes]:
        yield self.read()


def _faults(kind: str, times: int) -> Any:
    from botocore.awsrequest import AWSResponse

    state = {"left": times}

    def hook(request: Any, **_: Any) -> Any:
        if state["left"] <= 0:
            return None
        state["left"] -= 1
        if kind == "throttle":
            body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
            return AWSResponse(request.url, 503, {"Content-Length": str(len(body))}, _Raw(body))
        headers = {"Content-Length": "1000", "ETag": '"0123456789abcdef0123456789abcdef"'}
        return AWSResponse(request.url, 200, headers, _Raw(b"\x1f\x8b partial"))

    return hook


@pytest.mark.parametrize("kind", ["throttle", "drop"])
def test_faults_are_retried(
    kind: str, s3_server: S3Server, bucket: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = s3_session(s3_server, tmp_path, monkeypatch, logs=f"s3://{BUCKET}/custom/", s3={"backoff_base": 0.01})
    session.s3().client.meta.events.register("before-send.s3.GetObject", _faults(kind, 3))
    sql = f"SELECT count(*) AS n FROM cloudtrail_logs WHERE account = '{ACCOUNTS[0]}' AND region = 'us-east-1' AND day = '01'"
    result = session.execute(sql)
    assert result.table.to_pylist() == [{"n": 10}]
    assert result.stats.get_requests == 2 + 3
    assert not result.stats.skipped
    assert not list((tmp_path / "cache" / "tmp").glob("*"))  # no partial download left behind


def test_after_retries_the_object_is_skipped_and_named_or_fails_under_strict(
    s3_server: S3Server, bucket: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sql = f"SELECT count(*) AS n FROM cloudtrail_logs WHERE account = '{ACCOUNTS[0]}' AND region = 'us-east-1' AND day = '01'"
    options = {"backoff_base": 0.001, "max_attempts": 2}
    session = s3_session(s3_server, tmp_path, monkeypatch, logs=f"s3://{BUCKET}/custom/", s3=options)
    session.s3().client.meta.events.register("before-send.s3.GetObject", _faults("drop", 10**6))
    result = session.execute(sql)
    assert result.table.to_pylist() == [{"n": 0}]
    skipped = sorted(s.path for s in result.stats.skipped)
    prefix = f"s3://{BUCKET}/custom/AWSLogs/{ACCOUNTS[0]}/CloudTrail/us-east-1/2025/03/01/"
    assert len(skipped) == 2 and all(p.startswith(prefix) for p in skipped), skipped
    assert all("gave up after 2 attempts" in s.reason for s in result.stats.skipped)
    assert not list((tmp_path / "cache" / "objects").glob("*/*"))  # a partial download never enters the cache

    strict = s3_session(s3_server, tmp_path, monkeypatch, logs=f"s3://{BUCKET}/custom/", s3=options, strict=True)
    strict.s3().client.meta.events.register("before-send.s3.GetObject", _faults("drop", 10**6))
    with pytest.raises(BadInputError, match=re.escape(prefix)):
        strict.execute(sql)


def test_a_corrupt_object_is_named_by_its_s3_uri(
    s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = s3_server.client()
    client.create_bucket(Bucket="corrupt")
    folder = log_folder(tmp_path / "src", ACCOUNTS[0], REGIONS[0], DAYS[0])
    write_log(folder, "good.json.gz", [record(ACCOUNTS[0], REGIONS[0], DAYS[0], n) for n in range(4)])
    bad = folder / "bad.json.gz"
    bad.write_bytes((folder / "good.json.gz").read_bytes()[:30])  # a truncated gzip
    s3_server.upload("corrupt", tmp_path / "src")
    key = bad.relative_to(tmp_path / "src").as_posix()

    session = s3_session(s3_server, tmp_path, monkeypatch, logs="s3://corrupt/")
    result = session.execute("SELECT count(*) AS n FROM cloudtrail_logs")
    assert result.table.to_pylist() == [{"n": 4}]
    assert [s.path for s in result.stats.skipped] == [f"s3://corrupt/{key}"]
    assert result.stats.files_scanned == 1

    strict = s3_session(s3_server, tmp_path, monkeypatch, logs="s3://corrupt/", strict=True)
    with pytest.raises(BadInputError, match=re.escape(f"s3://corrupt/{key}")):
        strict.execute("SELECT count(*) AS n FROM cloudtrail_logs")


def _denied(prefix: str) -> Any:
    """A before-send hook answering AccessDenied to listings of one prefix."""
    from urllib.parse import unquote

    from botocore.awsrequest import AWSResponse

    def hook(request: Any, **_: Any) -> Any:
        if f"prefix={prefix}" not in unquote(request.url):
            return None
        body = b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
        return AWSResponse(request.url, 403, {"Content-Length": str(len(body))}, _Raw(body))

    return hook


def test_access_denied_names_the_prefix(
    s3_server: S3Server, bucket: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = s3_session(s3_server, tmp_path, monkeypatch, logs=f"s3://{BUCKET}/custom/")
    denied = f"custom/AWSLogs/{ACCOUNTS[1]}/"
    session.s3().client.meta.events.register("before-send.s3.ListObjectsV2", _denied(denied))
    with pytest.raises(SourceError) as error:
        session.execute("SELECT count(*) AS n FROM cloudtrail_logs")
    message = str(error.value)
    assert "\n" not in message and "access denied" in message.lower() and f"s3://{BUCKET}/{denied}" in message, message
    # A query whose partitions avoid that prefix never lists it, and runs.
    allowed = session.execute(f"SELECT count(*) AS n FROM cloudtrail_logs WHERE account = '{ACCOUNTS[0]}'")
    assert allowed.table.to_pylist() == [{"n": 60}]


def test_cache_command_reports_and_clears(
    s3_server: S3Server, bucket: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from click.testing import CliRunner

    from trailsql.cli.main import cli

    session = s3_session(s3_server, tmp_path, monkeypatch, logs=f"s3://{BUCKET}/custom/")
    session.execute(f"SELECT count(*) AS n FROM cloudtrail_logs WHERE account = '{ACCOUNTS[0]}' AND day = '01'")
    runner = CliRunner()
    stats = runner.invoke(cli, ["cache", "stats", "--cache-dir", str(tmp_path / "cache")])
    assert stats.exit_code == 0, stats.output
    reported = json.loads(stats.output)
    assert reported["objects"] == 4 and reported["bytes"] > 0, reported
    cleared = runner.invoke(cli, ["cache", "clear", "--cache-dir", str(tmp_path / "cache")])
    assert cleared.exit_code == 0 and "removed 4" in cleared.output
    assert (
        json.loads(runner.invoke(cli, ["cache", "stats", "--cache-dir", str(tmp_path / "cache")]).output)["objects"]
        == 0
    )


# --------------------------------------------------------------------------- the lake


def test_ingest_from_s3_then_queries_fetch_nothing_the_lake_holds(
    s3_server: S3Server, bucket: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "trailsql.toml").write_text(
        f'[s3]\nendpoint_url = "{s3_server.endpoint}"\nregion = "us-east-1"\ncache_dir = "{tmp_path / "cache"}"\n'
    )
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    uri = f"s3://{BUCKET}/custom/"
    report = ingest(uri, workspace, IngestOptions(batch_files=5))
    local = Session(logs=bucket["custom"])
    total = local.execute("SELECT count(*) AS n FROM cloudtrail_logs").table.to_pylist()[0]["n"]
    assert report.events_read == total and report.files_ingested == report.files_listed
    assert ingest(uri, workspace).files_ingested == 0  # unchanged objects (same ETag) are not read again

    session = s3_session(s3_server, tmp_path, monkeypatch, logs=uri, workspace=workspace)
    sql = 'SELECT eventid, account, region, year, month, day, "$path" AS p FROM cloudtrail_logs'
    result = session.execute(sql)
    assert (result.stats.events_from_lake, result.stats.get_requests, result.stats.cache_hits) == (total, 0, 0)
    assert all(r["p"].startswith(f"s3://{BUCKET}/custom/AWSLogs/") for r in result.table.to_pylist())
    remote = sorted((r["eventid"], r["day"], r["p"].removeprefix(uri)) for r in result.table.to_pylist())
    here = local.execute(sql).table.to_pylist()
    assert remote == sorted((r["eventid"], r["day"], str(Path(r["p"]).relative_to(bucket["custom"]))) for r in here)
    session.close()
    local.close()
