"""Shared helpers: writing CloudTrail log files in the AWSLogs layout for tests."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trailsql.session import Session


def log_folder(root: Path, account: str, region: str, day: dt.date, org: str | None = None) -> Path:
    """``root/AWSLogs/[org/]<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>``."""
    base = root / "AWSLogs"
    if org:
        base = base / org
    return base / account / "CloudTrail" / region / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"


def write_log(folder: Path, name: str, records: list[dict[str, Any]], gz: bool = True) -> Path:
    """One CloudTrail delivery file ``{"Records": [...]}``, gzipped unless ``gz`` is False."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    data = json.dumps({"Records": records}).encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.fixture
def write_logs(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A function writing records for (account, region, day) under ``tmp_path/logs``."""
    root = tmp_path / "logs"
    counter = iter(range(10**6))

    def write(
        records: list[dict[str, Any]],
        account: str = "123456789012",
        region: str = "us-east-1",
        day: dt.date = dt.date(2025, 2, 12),
        gz: bool = True,
    ) -> Path:
        name = f"{account}_CloudTrail_{region}_{day:%Y%m%d}T0000Z_{next(counter):016d}.json" + (".gz" if gz else "")
        return write_log(log_folder(root, account, region, day), name, records, gz)

    write.root = root  # type: ignore[attr-defined]
    return write


#: The engines a test of Trino's semantics runs on, a ``params`` of its session fixture. Spark's
#: tests all run on one xdist worker (``--dist loadgroup``): one JVM a test run.
ENGINES = ["duckdb", pytest.param("spark", marks=pytest.mark.xdist_group("spark"))]


def engine_session(engine: str, **options: object) -> Session:
    """A session on ``engine``; Spark's is skipped, saying why, where it cannot run here."""
    if engine == "spark":
        pytest.importorskip("pyspark", reason="the Spark engine needs PySpark: pip install 'trailsql[spark]'")
        if shutil.which("java") is None:
            pytest.skip("the Spark engine needs Java 17 or later, and there is no java here")
    return Session(engine=engine, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def session() -> Iterator[Session]:
    """A session with no logs: for expressions, VALUES and catalog statements."""
    s = Session()
    yield s
    s.close()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """SeaweedFS on loopback for the whole session (see ``s3server.py``)."""
    from s3server import seaweedfs

    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server
