"""The summaries on top of a timeline, from its rows alone (plain dicts, as the timeline's
query returns them), so they can be checked against rows written by hand.

An API is ``service:eventName`` with the service as IAM's actions name it
(``iam.amazonaws.com`` -> ``iam:ListUsers``). What was *new* is what the window's events
have and the subject's events before the window (:class:`History`) lack; with no history
to compare with (no ``--since``) nothing is called new.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

Row = Mapping[str, Any]


def api(row: Row) -> str | None:
    """``iam:ListUsers`` for an event of ``iam.amazonaws.com`` named ``ListUsers``.

    >>> api({"eventsource": "sts.amazonaws.com", "eventname": "AssumeRole"})
    'sts:AssumeRole'
    """
    source, name = row.get("eventsource"), row.get("eventname")
    if not source or not name:
        return None
    return f"{source.removesuffix('.amazonaws.com')}:{name}"


@dataclass(frozen=True)
class History:
    """What the subject did before the window: its APIs, addresses, regions and user agents."""

    events: int = 0
    first_seen: str | None = None
    apis: frozenset[str] = frozenset()
    addresses: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    user_agents: frozenset[str] = frozenset()


@dataclass(frozen=True)
class New:
    """First seen in the window: absent from the subject's history before it."""

    apis: list[str]
    addresses: list[str]
    regions: list[str]
    user_agents: list[str]
    #: The history compared with: its events and first one.
    prior_events: int
    prior_first_seen: str | None


@dataclass(frozen=True)
class Summary:
    """Counts are ``{value: count}``, most frequent first (then by value)."""

    events: int
    first_seen: str | None
    last_seen: str | None
    accounts: dict[str, int] = field(default_factory=dict)
    regions: dict[str, int] = field(default_factory=dict)
    addresses: dict[str, int] = field(default_factory=dict)
    user_agents: dict[str, int] = field(default_factory=dict)
    access_keys: dict[str, int] = field(default_factory=dict)
    services: dict[str, int] = field(default_factory=dict)
    apis: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    #: None: nothing to compare with (no window start, so no "before").
    new: New | None = None


def _counts(values: Iterable[str | None]) -> dict[str, int]:
    counted = Counter(v for v in values if v is not None)
    return dict(sorted(counted.items(), key=lambda item: (-item[1], item[0])))


def summarize(rows: Iterable[Row], history: History | None) -> Summary:
    """The summary of ``rows`` (each with the timeline's columns), and what is new in them
    compared with ``history`` (None: no history to compare with)."""
    rows = list(rows)
    times = sorted(r["eventtime"] for r in rows if r.get("eventtime"))
    summary = Summary(
        events=len(rows),
        first_seen=times[0] if times else None,
        last_seen=times[-1] if times else None,
        accounts=_counts(r.get("account") for r in rows),
        regions=_counts(r.get("region") for r in rows),
        addresses=_counts(r.get("sourceipaddress") for r in rows),
        user_agents=_counts(r.get("useragent") for r in rows),
        access_keys=_counts(r.get("accesskeyid") for r in rows),
        services=_counts(r.get("eventsource") for r in rows),
        apis=_counts(api(r) for r in rows),
        errors=_counts(r.get("errorcode") for r in rows),
    )
    if history is None:
        return summary
    new = New(
        apis=sorted(set(summary.apis) - history.apis),
        addresses=sorted(set(summary.addresses) - history.addresses),
        regions=sorted(set(summary.regions) - history.regions),
        user_agents=sorted(set(summary.user_agents) - history.user_agents),
        prior_events=history.events,
        prior_first_seen=history.first_seen,
    )
    return replace(summary, new=new)
