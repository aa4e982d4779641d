"""A real ``trailsql serve`` process on loopback for the tests, and clients signed for it.

``start(workspace, logs)`` runs the CLI as users do (``--port 0``), waits for its first line
on stderr (``listening on http://127.0.0.1:PORT``) and returns a :class:`Served`; ``stop``
sends SIGTERM, as a service manager does. Keys come from the environment
(``TRAILSQL_SERVE_ACCESS_KEY_ID``/``..._SECRET_ACCESS_KEY``) unless the test wants the
generated pair.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

SAMPLES = Path(__file__).resolve().parents[1] / "src" / "trailsql" / "samples" / "AWSLogs"
KEY_ID, SECRET = "TSQLTESTKEY0000001", "test-secret-of-the-served-workspace"
#: The web console's sign-in token of the servers the tests start.
TOKEN = "console-token-of-the-tests"
REGION = "us-east-1"


@dataclass
class Served:
    process: subprocess.Popen[str]
    url: str
    workspace: Path
    key_id: str = KEY_ID
    secret: str = SECRET
    stderr: str = ""
    lines: list[str] = field(default_factory=list)

    def client(self, service: str = "athena", **options: Any) -> Any:
        keys = {"aws_access_key_id": self.key_id, "aws_secret_access_key": self.secret}
        return boto3.client(service, endpoint_url=self.url, region_name=REGION, **{**keys, **options})

    def env(self) -> dict[str, str]:
        """The environment of an unchanged client: endpoints and credentials only."""
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            "AWS_ENDPOINT_URL_ATHENA": self.url,
            "AWS_ENDPOINT_URL_S3": self.url,
            "AWS_ACCESS_KEY_ID": self.key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }


def start(workspace: Path, logs: Path | None = SAMPLES, *args: str, keys: bool = True, **env: str) -> Served:
    """``trailsql serve`` on a free loopback port, once it listens."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TRAILSQL_"))}
    if keys:
        environ.update(TRAILSQL_SERVE_ACCESS_KEY_ID=KEY_ID, TRAILSQL_SERVE_SECRET_ACCESS_KEY=SECRET)
    environ.setdefault("TRAILSQL_SERVE_TOKEN", TOKEN)
    environ.update(env)
    command = [str(Path(sys.executable).parent / "trailsql"), "serve", "--workspace", str(workspace), "--port", "0"]
    command += ["--logs", str(logs)] if logs is not None else []
    process = subprocess.Popen(
        [*command, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=environ
    )
    assert process.stderr is not None
    first = process.stderr.readline()
    if not first.startswith("listening on "):
        process.kill()
        raise AssertionError(f"trailsql serve did not start: {first}{process.stderr.read()}")
    served = Served(process, first.split()[-1], workspace)
    if not keys:  # the generated pair, printed once on the next line
        line = process.stderr.readline()
        served.key_id, served.secret = line.split(": ", 1)[1].strip().split(" / ")
    # The rest of stderr is read as it comes (a full pipe would stop the server), kept for stop().
    threading.Thread(target=lambda: served.lines.extend(process.stderr or ()), daemon=True).start()
    return served


def stop(served: Served, timeout: float = 30) -> int:
    """SIGTERM, then the exit code (the rest of stderr kept in ``served.stderr``)."""
    served.process.send_signal(signal.SIGTERM)
    try:
        served.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        served.process.kill()
        raise
    time.sleep(0.1)  # (the reader thread takes the last lines)
    served.stderr = "".join(served.lines)
    return served.process.returncode


def serving(workspace: Path, logs: Path | None = SAMPLES, *args: str) -> Iterator[Served]:
    """A server for a test module's fixture: started, then stopped by SIGTERM, which it must obey."""
    server = start(workspace, logs, *args)
    yield server
    code = stop(server)
    assert code == 0, server.stderr


def wait(client: Any, execution_id: str, timeout: float = 60) -> dict[str, Any]:
    """The execution once it finished, polled as the seed's script polls."""
    deadline = time.monotonic() + timeout
    while True:
        execution: dict[str, Any] = client.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
        if execution["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return execution
        if time.monotonic() > deadline:
            raise AssertionError(f"{execution_id} still {execution['Status']['State']}")
        time.sleep(0.05)


def sample_events(root: Path = SAMPLES) -> Iterator[dict[str, Any]]:
    """Every event of the bundled sample logs, read with plain Python: the tests' expectations."""
    for path in sorted(root.rglob("*.json.gz")):
        with gzip.open(path) as handle:
            yield from json.load(handle)["Records"]
