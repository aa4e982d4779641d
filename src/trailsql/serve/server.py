"""Assemble and run the server: the store, the runner, the API and uvicorn on a socket.

The socket is bound before anything is printed, so the first line on stderr
(``listening on http://HOST:PORT``) names a port that already accepts connections,
``--port 0`` included. SIGTERM and Ctrl-C stop uvicorn gracefully; then running queries
are cancelled and their state saved.
"""

from __future__ import annotations

import contextlib
import ipaddress
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn

from trailsql.errors import UsageError
from trailsql.library.window import parse_duration
from trailsql.serve.app import create_app
from trailsql.serve.athena import Athena, Settings
from trailsql.serve.console import Console, console_token
from trailsql.serve.credentials import ServeKeys
from trailsql.serve.runner import Runner, SessionFactory
from trailsql.serve.store import Store

DEFAULT_PORT = 8450


@dataclass(frozen=True)
class Listen:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    tls_cert: str | None = None
    tls_key: str | None = None
    insecure_http: bool = False

    def check(self) -> None:
        """Plain HTTP beyond loopback sends keys' signatures and results in clear: say so."""
        if (self.tls_cert is None) != (self.tls_key is None):
            raise UsageError("--tls-cert and --tls-key go together")
        if self.tls_cert is None and not self.insecure_http and not _loopback(self.host):
            raise UsageError(
                f"--host {self.host} is not a loopback address: give --tls-cert and --tls-key, "
                "or --insecure-http to serve plain HTTP on the network"
            )

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"


def _loopback(host: str) -> bool:
    """
    >>> _loopback("127.0.0.1"), _loopback("::1"), _loopback("localhost"), _loopback("0.0.0.0")
    (True, True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def results_kept(serve: Mapping[str, Any]) -> float:
    """How long results are kept (``[serve] keep_results``, a duration such as ``7d``; 30 days by
    default), in seconds: older executions stay in the history, without their rows."""
    given = serve.get("keep_results", "30d")
    duration = parse_duration(str(given))
    if duration is None:
        raise UsageError(f"[serve] keep_results must be a duration such as 7d or 12h, not {given!r}")
    return duration.total_seconds()


def settings_from(serve: Mapping[str, Any]) -> Settings:
    """The API's settings from ``[serve]``: output_location, databases."""
    settings = Settings()
    location = serve.get("output_location", settings.output_location)
    if not isinstance(location, str) or not location.startswith("s3://"):
        raise UsageError(f"[serve] output_location must be an s3:// URI, not {location!r}")
    aliases = serve.get("databases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise UsageError("[serve] databases must be a list of names")
    return Settings(
        output_location=location if location.endswith("/") else location + "/",
        databases=tuple(dict.fromkeys(["default", *(a.lower() for a in aliases)])),
    )


@dataclass
class Server:
    """The pieces of a running server (tests start one in a thread of their own)."""

    store: Store
    runner: Runner
    athena: Athena
    keys: ServeKeys
    #: The web console's sign-in token (see :mod:`trailsql.serve.console`).
    token: str

    @classmethod
    def build(
        cls,
        folder: Path,
        factory: SessionFactory,
        keys: ServeKeys,
        serve: Mapping[str, Any],
        *,
        concurrency: int = 2,
        queue_limit: int = 100,
    ) -> Server:
        store = Store(folder / "serve")
        store.interrupted("INTERNAL_ERROR: the server stopped before the query finished")
        store.forget_results(time.time() - results_kept(serve))
        runner = Runner(store, factory, folder, concurrency=concurrency, queue_limit=queue_limit)
        return cls(store, runner, Athena(store, runner, settings_from(serve)), keys, console_token(serve))

    def close(self) -> None:
        self.runner.shutdown()
        self.store.close()

    def run(self, listen: Listen, on_listening: Callable[[str], None]) -> None:
        """Serve until SIGTERM or Ctrl-C, then cancel what runs and save; ``on_listening`` is
        given the server's URL once it accepts connections."""
        listen.check()
        family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit it: without, each call on a kept-alive connection waited
        # out the peer's delayed ACK (45 ms a call from boto3, measured; 3 ms with it).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind((listen.host, listen.port))
        except OSError as error:
            raise UsageError(f"cannot listen on {listen.host}:{listen.port}: {error.strerror}") from None
        sock.listen(128)
        port = sock.getsockname()[1]
        host = f"[{listen.host}]" if family == socket.AF_INET6 else listen.host
        on_listening(f"{listen.scheme}://{host}:{port}")
        config = uvicorn.Config(
            create_app(self.athena, self.keys.secrets, Console(self.athena, self.token)),
            log_level="warning",
            access_log=False,
            ssl_certfile=listen.tls_cert,
            ssl_keyfile=listen.tls_key,
            timeout_graceful_shutdown=5,
        )
        server = _Uvicorn(config)
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()
            self.close()
        if server.interrupted:  # Ctrl-C: the CLI's exit code 130, once everything is saved
            raise KeyboardInterrupt


class _Uvicorn(uvicorn.Server):
    """uvicorn's server, stopping on SIGTERM and SIGINT without raising the signal again
    afterwards (uvicorn's default, which would end the process before the server saved its
    executions): SIGTERM ends the command with 0, Ctrl-C with 130."""

    interrupted = False

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def stop(number: int, frame: FrameType | None) -> None:
            self.interrupted = self.interrupted or number == signal.SIGINT
            self.handle_exit(number, frame)

        original = {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for number, handler in original.items():
                signal.signal(number, handler)
