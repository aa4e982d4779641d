"""Suppressions: findings a team has judged and silenced, dropped before reports and alerts.

A workspace's ``trailsql.toml`` holds them as ``[suppress.<name>]`` tables::

    [suppress.scanner]
    detections = ["*"]                                   # detection ids, or * for all
    principals = ["arn:aws:sts::*:assumed-role/SecurityScanner/*"]  # shell-style patterns
    addresses = ["10.0.0.0/8", "203.0.113.7"]            # CIDRs (a bare address is a /32)
    accounts = ["123456789012"]
    events = ["GetCallerIdentity"]
    expires = 2027-01-31                                 # optional: ignored (and said) after
    reason = "the security team's nightly scan"

A finding is suppressed by a rule when it matches every criterion the rule gives: its
detection is listed, its actor matches a pattern, all its addresses are in the CIDRs, its
account is listed, all its actions are listed. A rule needs ``reason`` and at least one
criterion besides ``detections``: silencing a whole detection is done by not running it.
Reports and ``trailsql alert`` say how many findings each rule suppressed, and which rules
have expired (an expired rule suppresses nothing, so its findings come back).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from trailsql.errors import UsageError
from trailsql.library.findings import Finding

_LISTS = ("detections", "principals", "addresses", "accounts", "events")
_KNOWN = {*_LISTS, "expires", "reason"}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Suppression:
    """One ``[suppress.<name>]`` rule (see the module's docstring)."""

    name: str
    reason: str
    detections: tuple[str, ...] = ("*",)
    principals: tuple[str, ...] = ()
    addresses: tuple[Network, ...] = ()
    accounts: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    expires: dt.date | None = None

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and today > self.expires

    def matches(self, finding: Finding) -> bool:
        if "*" not in self.detections and finding.query_id not in self.detections:
            return False
        if self.principals and not any(fnmatch.fnmatchcase(finding.actor or "", p) for p in self.principals):
            return False
        if self.addresses and not (finding.addresses and all(_within(a, self.addresses) for a in finding.addresses)):
            return False
        if self.accounts and _account(finding) not in self.accounts:
            return False
        return not self.events or bool(finding.actions and set(finding.actions) <= set(self.events))


@dataclass
class Suppressed:
    """What suppression did to a run's findings: those kept, how many each rule dropped,
    and the rules past their expiry (ignored)."""

    kept: list[Finding]
    by_rule: dict[str, int] = field(default_factory=dict)
    expired: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(self.by_rule.values())

    def as_dict(self) -> dict[str, Any]:
        return {"suppressed": self.count, "by_rule": self.by_rule, "expired_rules": self.expired}


def load_suppressions(config: Mapping[str, Any]) -> list[Suppression]:
    """The ``[suppress.*]`` rules of a workspace's configuration; a bad rule is a usage error
    naming it (a typo must not silently suppress nothing, or everything)."""
    rules = []
    for name, table in (config.get("suppress") or {}).items():
        if not isinstance(table, dict):
            raise UsageError(f"[suppress.{name}] must be a table")
        unknown = set(table) - _KNOWN
        if unknown:
            raise UsageError(
                f"[suppress.{name}]: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(_KNOWN))})"
            )
        lists = {key: _strings(name, key, table.get(key)) for key in _LISTS}
        if not any(lists[key] for key in _LISTS if key != "detections"):
            raise UsageError(f"[suppress.{name}] needs principals, addresses, accounts or events, not only detections")
        if not str(table.get("reason") or "").strip():
            raise UsageError(f"[suppress.{name}] needs a reason")
        rules.append(
            Suppression(
                name=name,
                reason=str(table["reason"]),
                detections=lists["detections"] or ("*",),
                principals=lists["principals"],
                addresses=tuple(_network(name, a) for a in lists["addresses"]),
                accounts=lists["accounts"],
                events=lists["events"],
                expires=_date(name, table.get("expires")),
            )
        )
    return rules


def suppress(findings: Iterable[Finding], rules: Iterable[Suppression], today: dt.date) -> Suppressed:
    """``findings`` without those a live rule matches (the first matching rule counts it)."""
    live = [r for r in rules if not r.expired(today)]
    result = Suppressed(kept=[], expired=[r.name for r in rules if r.expired(today)])
    for finding in findings:
        rule = next((r for r in live if r.matches(finding)), None)
        if rule is None:
            result.kept.append(finding)
        else:
            result.by_rule[rule.name] = result.by_rule.get(rule.name, 0) + 1
    return result


def _strings(name: str, key: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"[suppress.{name}] {key} must be a list of strings")
    return tuple(value)


def _network(name: str, text: str) -> Network:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise UsageError(f"[suppress.{name}] addresses: {text!r} is not an address or CIDR") from None


def _date(name: str, value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value.date() if isinstance(value, dt.datetime) else value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise UsageError(f"[suppress.{name}] expires must be a date (YYYY-MM-DD), not {value!r}") from None


def _within(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:  # a service name ("ec2.amazonaws.com"): in no CIDR
        return False
    return any(ip in n for n in networks)


def _account(finding: Finding) -> str | None:
    found = finding.group.get("account_id") or next(
        (r.get("account_id") for r in finding.rows if r.get("account_id")), None
    )
    return None if found is None else str(found)
