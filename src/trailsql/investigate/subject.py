"""What a timeline is about, and the Athena SQL predicate that selects its events.

A subject is one of ``trailsql timeline``'s ``--access-key``, ``--principal``, ``--session``,
``--ip`` or ``--resource``, or one of the nodes a chain follows (an access key, a console
session). Each gives a predicate over the CloudTrail table's columns and, where SQL cannot
say it exactly on every engine (an address in a CIDR, a name as a JSON string value of
``requestParameters``), a wider predicate and an exact test of each row (:meth:`Subject.keep`):
the rows are never fewer than the subject's, then exactly the subject's.

Values are checked before they reach SQL (a malformed ARN, address or key is a usage error),
and quoted as SQL string literals.
"""

from __future__ import annotations

import ipaddress
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from trailsql.errors import UsageError

Row = Mapping[str, Any]

#: An access key id as IAM's API documents it (``[\w]+``, 16 to 128 characters).
_ACCESS_KEY = re.compile(r"^\w{16,128}$", re.ASCII)
#: An IAM or STS principal's ARN: partition, service, account, resource.
_PRINCIPAL = re.compile(r"^arn:(aws[a-z-]*):(iam|sts)::(\d{12}):(.+)$")
#: A role session name or source identity as STS documents them (``[\w+=,.@-]*``, 2 to 64).
_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$", re.ASCII)
#: Any ARN: ``arn:partition:service:region:account:resource``.
_ARN = re.compile(r"^arn:[^:\s]+:[^:\s]*:[^:\s]*:[^:\s]*:\S+$")


def literal(value: str) -> str:
    """``value`` as an SQL string literal.

    >>> literal("it's")
    "'it''s'"
    """
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class Subject(ABC):
    """Events selected by an SQL predicate, exact unless :meth:`keep` tests each row."""

    kind: str
    value: str

    @abstractmethod
    def predicate(self) -> str:
        """Athena SQL over the table's columns selecting (at least) the subject's events."""

    def columns(self) -> dict[str, str]:
        """Extra columns (alias -> SQL) that :meth:`keep` reads, beyond the timeline's own."""
        return {}

    def keep(self, row: Row) -> bool:
        """Whether a row the predicate selected is the subject's (the predicate is exact: yes)."""
        return True

    def text(self) -> str:
        """The subject for people: ``access key AKIA...``."""
        return f"{self.kind.replace('-', ' ')} {self.value}"


@dataclass(frozen=True)
class AccessKey(Subject):
    """``userIdentity.accessKeyId``. Its row test is exact too, so several keys can share one
    query (a chain's level) and each row still finds its key."""

    def predicate(self) -> str:
        return f"useridentity.accesskeyid = {literal(self.value)}"

    def columns(self) -> dict[str, str]:
        return {"accesskeyid": "useridentity.accesskeyid"}

    def keep(self, row: Row) -> bool:
        return bool(row.get("accesskeyid") == self.value)


@dataclass(frozen=True)
class Principal(Subject):
    """A caller by ARN: a user, root or federated user, or one assumed-role session, by
    ``userIdentity.arn``; a role by its sessions too (their ARN
    ``arn:aws:sts::ACCT:assumed-role/NAME/*`` and ``sessionContext.sessionIssuer.arn``)."""

    def predicate(self) -> str:
        exact = f"useridentity.arn = {literal(self.value)}"
        match = _PRINCIPAL.match(self.value)
        if match is None or match.group(2) != "iam" or not match.group(4).startswith("role/"):
            return exact
        partition, account, name = match.group(1), match.group(3), match.group(4).rsplit("/", 1)[-1]
        sessions = f"arn:{partition}:sts::{account}:assumed-role/{name}/"
        issuer = f"useridentity.sessioncontext.sessionissuer.arn = {literal(self.value)}"
        return f"({exact} OR {issuer} OR substr(useridentity.arn, 1, {len(sessions)}) = {literal(sessions)})"


@dataclass(frozen=True)
class SessionName(Subject):
    """An assumed-role session name (the last part of an assumed-role ARN) or a
    ``sessionContext.sourceIdentity``. Neither holds a ``/``, so the ARN's tail after its last
    ``/`` is the session name exactly."""

    def predicate(self) -> str:
        tail = "/" + self.value
        assumed = (
            f"(strpos(useridentity.arn, ':assumed-role/') > 0"
            f" AND substr(useridentity.arn, -{len(tail)}) = {literal(tail)})"
        )
        return f"({assumed} OR useridentity.sessioncontext.sourceidentity = {literal(self.value)})"


@dataclass(frozen=True)
class Address(Subject):
    """``sourceIPAddress``: one address, or every address of a network. IPv4 addresses are
    matched in SQL by their text (CloudTrail writes dotted quads without leading zeros), a
    network by the text of its whole octets, then each row's address is tested with Python's
    :mod:`ipaddress` (IPv6 has several spellings: always tested so)."""

    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.value)

    def predicate(self) -> str:
        network = self.network()
        if network.version == 6:
            return "strpos(sourceipaddress, ':') > 0"
        if network.prefixlen == 32:
            return f"sourceipaddress = {literal(str(network.network_address))}"
        octets = network.prefixlen // 8
        if octets == 0:
            return "strpos(sourceipaddress, '.') > 0"
        prefix = ".".join(str(network.network_address).split(".")[:octets]) + "."
        return f"substr(sourceipaddress, 1, {len(prefix)}) = {literal(prefix)}"

    def keep(self, row: Row) -> bool:
        try:
            return ipaddress.ip_address(row.get("sourceipaddress") or "") in self.network()
        except ValueError:  # "AWS Internal", a service's name
            return False


@dataclass(frozen=True)
class Resource(Subject):
    """A resource by ARN or name: an element of ``resources[]`` with that ARN, or a string
    value anywhere in ``requestParameters`` (JSON) equal to it, whole (not a substring). SQL
    narrows to the events whose parameters hold the quoted text; each row's JSON is then read."""

    def columns(self) -> dict[str, str]:
        listed = f"coalesce(any_match(resources, r -> r.arn = {literal(self.value)}), false)"
        return {"inresources": listed, "requestparameters": "requestparameters"}

    def predicate(self) -> str:
        listed = f"any_match(resources, r -> r.arn = {literal(self.value)})"
        quoted = json.dumps(self.value)
        if self.value.isascii() and quoted[1:-1] == self.value:
            named = f"strpos(requestparameters, {literal(quoted)}) > 0"
        else:  # escaped in JSON text, where engines may spell it differently: read every row
            named = "requestparameters IS NOT NULL"
        return f"({listed} OR {named})"

    def keep(self, row: Row) -> bool:
        if row.get("inresources"):
            return True
        text = row.get("requestparameters")
        if not text:
            return False
        try:
            parameters = json.loads(text)
        except ValueError:
            return False
        return any(value == self.value for value in _strings(parameters))


@dataclass(frozen=True)
class ConsoleSession(Subject):
    """The calls of one console sign-in. In CloudTrail's logs a console session's calls carry
    many access keys (21 for one sign-in in the bundled samples), and not all of them
    ``sessionCredentialFromConsole``; what they share is the signed-in ARN and
    ``sessionContext.attributes.creationDate``, which is the ``ConsoleLogin`` event's
    ``eventTime`` to the second. ``value`` is that time, ``arn`` the ARN."""

    arn: str = ""

    def predicate(self) -> str:
        created = f"useridentity.sessioncontext.attributes.creationdate = {literal(self.value)}"
        return f"(useridentity.arn = {literal(self.arn)} AND {created})"

    def columns(self) -> dict[str, str]:
        return {"arn": "useridentity.arn", "creationdate": "useridentity.sessioncontext.attributes.creationdate"}

    def keep(self, row: Row) -> bool:
        return bool(row.get("arn") == self.arn and row.get("creationdate") == self.value)

    def text(self) -> str:
        return f"console session of {self.arn} signed in at {self.value}"


def _strings(value: Any) -> Iterator[str]:
    """Every string value in a JSON document (not its keys)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def access_key(value: str) -> AccessKey:
    if not _ACCESS_KEY.match(value):
        raise UsageError(f"--access-key: not an access key id (16 to 128 letters and digits): {value!r}")
    return AccessKey("access-key", value)


def principal(value: str) -> Principal:
    match = _PRINCIPAL.match(value)
    resource = match.group(4) if match else ""
    service = match.group(2) if match else ""
    known = (
        (service == "iam" and (resource == "root" or resource.startswith(("user/", "role/"))))
        or (service == "sts" and re.match(r"^assumed-role/[^/]+/[^/]+$", resource) is not None)
        or (service == "sts" and resource.startswith("federated-user/"))
    )
    if not known:
        raise UsageError(
            "--principal: not a principal ARN (arn:aws:iam::ACCOUNT:user/NAME, :role/NAME, :root,"
            f" arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION): {value!r}"
        )
    return Principal("principal", value)


def session_name(value: str) -> SessionName:
    if not _SESSION_NAME.match(value):
        raise UsageError(f"--session: not a role session name or source identity ([\\w+=,.@-], 2 to 64): {value!r}")
    return SessionName("session", value)


def address(value: str) -> Address:
    try:
        network = ipaddress.ip_network(value.strip())
    except ValueError as error:
        raise UsageError(f"--ip: not an address or CIDR: {error}") from None
    return Address("ip", str(network) if "/" in value else str(network.network_address))


def resource(value: str) -> Resource:
    if value.startswith("arn:") and not _ARN.match(value):
        raise UsageError(f"--resource: not an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE): {value!r}")
    if not value.strip() or not value.isprintable():
        raise UsageError(f"--resource: not a resource name: {value!r}")
    return Resource("resource", value)


#: The options of ``trailsql timeline`` naming a subject, and how each value is read.
PARSERS = {
    "access_key": access_key,
    "principal": principal,
    "session": session_name,
    "ip": address,
    "resource": resource,
}


def from_options(given: Mapping[str, str | None]) -> Subject:
    """The one subject among ``given`` (option name -> value or None)."""
    chosen = [(name, value) for name, value in given.items() if value is not None]
    if len(chosen) != 1:
        names = ", ".join("--" + name.replace("_", "-") for name in PARSERS)
        raise UsageError(f"name exactly one subject: {names}")
    name, value = chosen[0]
    return PARSERS[name](value)
