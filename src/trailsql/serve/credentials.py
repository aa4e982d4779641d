"""The access keys ``trailsql serve`` accepts: where they come from, and making a pair when
none is configured.

The server answers only requests signed with a key it knows (sigv4.py), so that another user
or a web page on the same machine cannot run queries over the workspace's logs. The keys
are looked for, first found wins:

1. ``[serve]`` in trailsql.toml: ``access_key_id`` and ``secret_env``, the name of the
   environment variable holding the secret (a secret is never read from the TOML: the file
   is often committed);
2. ``$TRAILSQL_SERVE_ACCESS_KEY_ID`` and ``$TRAILSQL_SERVE_SECRET_ACCESS_KEY``;
3. ``<workspace>/serve-credentials``, an AWS shared-credentials file with the profile
   ``[trailsql]``, so clients use it as it is
   (``AWS_SHARED_CREDENTIALS_FILE=<path> AWS_PROFILE=trailsql``);
4. else a new pair, written to that file (mode 0600) for the next start and for clients;
   with no workspace, kept in memory for this run only.
"""

from __future__ import annotations

import base64
import configparser
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trailsql.errors import UsageError

CREDENTIALS_FILE = "serve-credentials"
PROFILE = "trailsql"
ACCESS_KEY_ENV = "TRAILSQL_SERVE_ACCESS_KEY_ID"
SECRET_ENV = "TRAILSQL_SERVE_SECRET_ACCESS_KEY"
CONFIG_SOURCE = "[serve] in trailsql.toml"
MEMORY_SOURCE = "generated for this run (no workspace)"


@dataclass(frozen=True)
class ServeKeys:
    """The keys the server accepts and where they came from."""

    secrets: dict[str, str]  # access key id -> secret
    source: str  # for the startup message: CONFIG_SOURCE, "$TRAILSQL_SERVE_ACCESS_KEY_ID", the file's path
    generated: bool  # True only on the start that made the pair (the caller prints it once)


def load_keys(folder: Path | None, config: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> ServeKeys:
    """The server's keys: from ``config`` (the ``[serve]`` table), the environment, the
    workspace ``folder``'s credentials file, or a new pair. Raises UsageError for a setting
    that is half there or unsafe."""
    found = _from_config(config, environ) or _from_environment(environ)
    if found is not None:
        return found
    if folder is None:
        return ServeKeys(dict([new_pair()]), MEMORY_SOURCE, generated=True)
    path = folder / CREDENTIALS_FILE
    if path.exists():
        return ServeKeys(read_file(path), str(path), generated=False)
    return _create(path)


def new_pair() -> tuple[str, str]:
    """A fresh (access key id, secret): ``TSQL`` + 16 base32 characters (80 random bits; 20
    characters like an AWS key id) and 40 characters of URL-safe base64 (240 bits).

    >>> key, secret = new_pair()
    >>> len(key), key.startswith("TSQL"), key.isupper(), len(secret)
    (20, True, True, 40)
    """
    access_key_id = "TSQL" + base64.b32encode(secrets.token_bytes(10)).decode("ascii")
    return access_key_id, secrets.token_urlsafe(30)


def profile_text(access_key_id: str, secret: str) -> str:
    """The credentials file's text: an AWS shared-credentials profile ``[trailsql]``.

    >>> print(profile_text("TSQLAAAA", "s3cr3t"), end="")
    # trailsql serve's keys. Clients: AWS_SHARED_CREDENTIALS_FILE=<this file> AWS_PROFILE=trailsql
    [trailsql]
    aws_access_key_id = TSQLAAAA
    aws_secret_access_key = s3cr3t
    """
    return (
        f"# trailsql serve's keys. Clients: AWS_SHARED_CREDENTIALS_FILE=<this file> AWS_PROFILE={PROFILE}\n"
        f"[{PROFILE}]\n"
        f"aws_access_key_id = {access_key_id}\n"
        f"aws_secret_access_key = {secret}\n"
    )


def read_file(path: Path) -> dict[str, str]:
    """The pair in a credentials file, refused if others than its owner may read it."""
    mode = path.stat().st_mode
    if os.name == "posix" and mode & 0o077:
        raise UsageError(
            f"{path} holds a secret but group or others may read it (mode {stat.filemode(mode)}): chmod 600 {path}"
        )
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    except configparser.Error as e:
        raise UsageError(f"{path} is not an AWS credentials file: {e}") from None
    access_key_id = parser.get(PROFILE, "aws_access_key_id", fallback="").strip()
    secret = parser.get(PROFILE, "aws_secret_access_key", fallback="").strip()
    if not access_key_id or not secret:
        raise UsageError(f"{path} needs a [{PROFILE}] profile with aws_access_key_id and aws_secret_access_key")
    return {access_key_id: secret}


def _from_config(config: Mapping[str, Any], environ: Mapping[str, str]) -> ServeKeys | None:
    """The key of ``[serve]``, its secret from the environment variable ``secret_env`` names."""
    if "secret_access_key" in config:
        raise UsageError(
            "[serve] secret_access_key: a secret is not read from trailsql.toml; "
            'set secret_env = "NAME" and put the secret in the environment variable NAME'
        )
    access_key_id = config.get("access_key_id")
    secret_env = config.get("secret_env")
    if access_key_id is None and secret_env is None:
        return None
    if not isinstance(access_key_id, str) or not access_key_id:
        raise UsageError("[serve] needs access_key_id (a string): the access key id clients sign with")
    if not isinstance(secret_env, str) or not secret_env:
        raise UsageError("[serve] needs secret_env (a string): the name of the environment variable holding the secret")
    secret = environ.get(secret_env)
    if not secret:
        raise UsageError(f"[serve] secret_env: the environment variable {secret_env} is not set (or empty)")
    return ServeKeys({access_key_id: secret}, CONFIG_SOURCE, generated=False)


def _from_environment(environ: Mapping[str, str]) -> ServeKeys | None:
    """The pair of ``$TRAILSQL_SERVE_ACCESS_KEY_ID`` and ``$TRAILSQL_SERVE_SECRET_ACCESS_KEY``."""
    access_key_id = environ.get(ACCESS_KEY_ENV)
    secret = environ.get(SECRET_ENV)
    if not access_key_id and not secret:
        return None
    if not access_key_id or not secret:
        given, missing = (ACCESS_KEY_ENV, SECRET_ENV) if access_key_id else (SECRET_ENV, ACCESS_KEY_ENV)
        raise UsageError(f"${given} is set but ${missing} is not: set both or neither")
    return ServeKeys({access_key_id: secret}, f"${ACCESS_KEY_ENV}", generated=False)


def _create(path: Path) -> ServeKeys:
    """Write a new pair to ``path``, atomically and readable by its owner only.

    The text goes to a temporary file made with O_EXCL and mode 0600 (never readable by
    others, not even for a moment), which is then hard-linked to ``path``: a link never
    replaces a file, so of two servers starting at once one writes and the other reads that
    pair, and no reader sees a half-written file.
    """
    access_key_id, secret = new_pair()
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    _write_new(temporary, profile_text(access_key_id, secret))
    try:
        os.link(temporary, path)
    except FileExistsError:
        return ServeKeys(read_file(path), str(path), generated=False)
    except OSError:  # a file system without hard links: create the file itself exclusively
        try:
            _write_new(path, profile_text(access_key_id, secret))
        except FileExistsError:
            return ServeKeys(read_file(path), str(path), generated=False)
    finally:
        temporary.unlink(missing_ok=True)
    return ServeKeys({access_key_id: secret}, str(path), generated=True)


def _write_new(path: Path, text: str) -> None:
    """Create ``path`` (it must not exist) with mode 0600 and write ``text`` to it."""
    descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
