"""A real Spark standalone cluster on loopback for the tests: a master and two workers, and a
Spark Connect server in front of it.

Started from the pip PySpark's own ``spark-class`` (the Master and Worker classes ship in
spark-core), each a JVM of its own bound to 127.0.0.1 with its web UI off the default
ports; stopped by the PIDs started here, never by name.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive_workers(ui_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=2) as response:
            state = json.load(response)
    except OSError:
        return 0
    return sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE")


@contextlib.contextmanager
def connect_server(master: str, folder: Path, timeout: float = 120.0) -> Iterator[str]:
    """``sc://127.0.0.1:<port>`` of a Spark Connect server whose jobs run on ``master``."""
    import pyspark

    home = Path(pyspark.__file__).parent
    port = _free_port()
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1"}
    command = [
        str(home / "bin" / "spark-submit"), "--master", master,
        "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
        "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
        "--conf", f"spark.connect.grpc.binding.port={port}",
        "--conf", "spark.ui.enabled=false", "--conf", "spark.cores.max=2", "--conf", "spark.executor.memory=1g",
    ]  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "connect.log", "wb") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while b"Spark Connect server started" not in (folder / "connect.log").read_bytes():
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"the Spark Connect server did not start: see {folder / 'connect.log'}")
            time.sleep(0.5)
        yield f"sc://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


@contextlib.contextmanager
def standalone_cluster(folder: Path, workers: int = 2, memory: str = "1g", timeout: float = 90.0) -> Iterator[str]:
    """``spark://127.0.0.1:<port>`` of a master with ``workers`` workers (1 core and ``memory`` each)."""
    import pyspark

    home = Path(pyspark.__file__).parent
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_DAEMON_MEMORY": "512m",
        "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", sys.executable),
    }
    port, ui = _free_port(), _free_port()
    master = f"spark://127.0.0.1:{port}"
    spark_class = [str(home / "bin" / "spark-class")]
    processes: list[subprocess.Popen[bytes]] = []
    logs = folder / "logs"
    logs.mkdir(parents=True, exist_ok=True)

    def start(name: str, *args: str) -> None:
        with open(logs / f"{name}.log", "wb") as out:
            processes.append(subprocess.Popen([*spark_class, *args], env=env, stdout=out, stderr=subprocess.STDOUT))

    try:
        start(
            "master",
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--webui-port",
            str(ui),
        )
        for i in range(workers):
            work = folder / f"worker{i}"
            work.mkdir(exist_ok=True)
            start(
                f"worker{i}",
                "org.apache.spark.deploy.worker.Worker",
                "--host", "127.0.0.1", "--cores", "1", "--memory", memory,
                "--webui-port", str(_free_port()), "--work-dir", str(work), master,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while _alive_workers(ui) < workers:
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise RuntimeError(f"the Spark cluster did not start: see {logs}")
            time.sleep(0.5)
        yield master
    finally:
        for p in processes:
            p.terminate()
        for p in processes:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
