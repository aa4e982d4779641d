"""The Spark session the engine runs on: one per process, made with Trino's semantics.

A JVM and its SparkSession take seconds to start, so every Spark engine of a process shares
one, made on first use for the master asked; a later engine asking another master stops it
and makes another (Spark allows one active SparkContext per process).
"""

from __future__ import annotations

import os
import re
import sys
import threading
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trailsql.errors import UsageError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: The master when none is given: Spark in this process, two threads.
DEFAULT_MASTER = "local[2]"

#: The settings every trailsql Spark session runs with, and why.
SETTINGS: dict[str, str] = {
    # Athena runs its sessions in UTC: current_date, casts of text with no zone, date_format.
    "spark.sql.session.timeZone": "UTC",
    # Errors where Trino errors (a bad cast, an overflow, a subscript out of range) rather than
    # Spark's legacy NULLs; ANSI is Spark 4's default, set here for clusters that changed it.
    "spark.sql.ansi.enabled": "true",
    # Trino's TIMESTAMP has no zone: CAST(... AS TIMESTAMP) and timestamp literals are Spark's
    # TIMESTAMP_NTZ; TIMESTAMP WITH TIME ZONE is written as TIMESTAMP_LTZ (instants, in UTC).
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    # A declared STRING holding a JSON object (requestParameters) is the object's exact text,
    # as the Hive JsonSerDe gives it, not Jackson's re-serialisation (Spark 4.0+).
    "spark.sql.json.enableExactStringParsing": "true",
    # Lake partition values stay text (account 012345678901 must not become a number).
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    # An unreadable file (a truncated gzip) is left out of the read instead of failing the job;
    # the engine finds which ones by a per-file tally and names them (never silently dropped).
    "spark.sql.files.ignoreCorruptFiles": "true",
    # Files are opened by the paths trailsql lists; a vanished file is named, not fatal.
    "spark.sql.files.ignoreMissingFiles": "true",
    # Query results come back as Arrow; no web UI or its port for a tool's embedded session.
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}

#: Spark's JVMs log errors only (see log4j2.properties beside this file).
_LOG4J = "-Dlog4j2.configurationFile=" + (Path(__file__).parent / "log4j2.properties").as_uri()

#: Settings of a driver this process starts: it listens on loopback only, logs errors only.
LOCAL_DRIVER: dict[str, str] = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.extraJavaOptions": _LOG4J,
    "spark.executor.extraJavaOptions": _LOG4J,
}

# PySpark warns of pandas versions it has not tried on every conversion; trailsql's results are Arrow.
warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)

_lock = threading.Lock()
_active: tuple[str, SparkSession] | None = None


_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(I?B)?\s*", re.IGNORECASE)


def jvm_memory(size: str) -> str:
    """A size as ``--memory-limit`` takes it (DuckDB's ``4GB``, ``512MiB``) in the JVM's form,
    which knows only ``k``, ``m``, ``g``, ``t`` (``-Xmx4GB`` would not start the JVM).

    >>> jvm_memory("4GB"), jvm_memory("9642MB"), jvm_memory("1.5GiB"), jvm_memory("2g")
    ('4g', '9642m', '1536m', '2g')
    """
    match = _SIZE.fullmatch(size)
    if match is None:
        raise UsageError(f"memory limit {size!r}: expected a size such as 4GB or 512MB")
    number, unit = float(match.group(1)), (match.group(2) or "").lower()
    if number.is_integer() and unit:
        return f"{int(number)}{unit}"
    units = "bkmgt"
    return f"{max(int(number * 1024 ** units.index(unit or 'b') / 2**20), 1)}m"


def spark_session(master: str, conf: Mapping[str, Any] | None = None, memory: str | None = None) -> SparkSession:
    """The process's Spark session for ``master``: ``local[N]``, ``spark://host:port`` (a
    standalone cluster) or ``sc://host:port`` (Spark Connect). ``conf`` is extra Spark
    configuration (the workspace's ``[engine.conf]``); ``memory`` the driver's memory."""
    global _active
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UsageError(
            "the Spark engine needs PySpark: pip install 'trailsql[spark]' (PySpark 4, and Java 17 or later)"
        ) from None
    with _lock:
        if _active is not None and _active[0] == master:
            return _active[1]
        _stop_active()
        given = {str(k): str(v) for k, v in (conf or {}).items()}
        # A builder of its own: SparkSession.builder is shared and keeps every option set on it.
        if master.startswith("sc://"):
            # A Connect server's static settings (its UI, its JVM) are its own; a session sets SQL's.
            settings = {**{k: v for k, v in SETTINGS.items() if k.startswith("spark.sql.")}, **given}
            builder = SparkSession.Builder().remote(master)
        else:
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            # Python UDFs (ip_info) run in Python workers: this Python, which has trailsql, not
            # the first python3 on PATH (a cluster's workers use their own setting).
            if master.startswith("local"):
                os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            builder = SparkSession.Builder().master(master).appName("trailsql")
            settings = {**LOCAL_DRIVER, **SETTINGS, **given}
            if memory:
                settings.setdefault("spark.driver.memory", jvm_memory(memory))
        for key, value in settings.items():
            builder = builder.config(key, value)
        try:
            session = builder.getOrCreate()
        except Exception as error:  # no Java, a master that does not answer
            raise UsageError(f"could not start Spark on {master}: {str(error).strip().splitlines()[0]}") from None
        if not master.startswith("sc://"):
            session.sparkContext.setLogLevel("ERROR")
        _active = (master, session)
        return session


def stop() -> None:
    """Stop the process's Spark session, if any (the next engine starts another)."""
    with _lock:
        _stop_active()


def _stop_active() -> None:
    global _active
    if _active is None:
        return
    master, session = _active
    _active = None
    session.stop()
    if master.startswith("sc://"):
        # PySpark marks the process as a Connect client for good; a local session after it
        # would be refused ("the Spark Connect remote URL has not been set").
        os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)
