"""A subject's timeline: its events in the window, the summaries on top, and with ``follow``
the tree of the sessions it opened (:mod:`.chain`) and their merged events."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from trailsql.enrich import IpInfo, enricher_for
from trailsql.errors import BadInputError
from trailsql.investigate.chain import Node, follow
from trailsql.investigate.events import EventQuery
from trailsql.investigate.history import prior_history
from trailsql.investigate.subject import Subject
from trailsql.investigate.summary import Summary, summarize
from trailsql.library.window import Window
from trailsql.session import Session

#: How many levels of sessions ``--follow`` goes down by default.
DEFAULT_DEPTH = 5


@dataclass
class Timeline:
    """What ``trailsql timeline`` shows: ``events`` in time order (each a dict of
    :data:`~.events.COLUMNS`, and ``node`` when followed), their summary, the tree."""

    subject: Subject
    window: Window | None
    events: list[dict[str, Any]]
    summary: Summary
    tree: Node | None = None
    #: What the reader must know: log files skipped, warnings.
    notes: list[str] = field(default_factory=list)
    #: What each address of the events is (``ip_info``: AWS range, private, country, ASN).
    addresses: dict[str, IpInfo] = field(default_factory=dict)


def build_timeline(
    session: Session,
    subject: Subject,
    window: Window | None,
    *,
    follow_sessions: bool = False,
    depth: int = DEFAULT_DEPTH,
) -> Timeline:
    """The timeline of ``subject`` in ``window`` (None: every event). What is new is measured
    against the subject's own events before the window's start (the root's, when following);
    with no window there is nothing before it, and nothing is called new."""
    query = EventQuery(session, window)
    tree = None
    if follow_sessions:
        tree, events = follow(query, subject, depth)
    else:
        events = query.rows([subject])
    history = prior_history(session, subject, window.start, query.notes) if window is not None else None
    notes = list(dict.fromkeys(query.notes))  # a file skipped by each query is said once
    summary = summarize(events, history)
    return Timeline(subject, window, events, summary, tree, notes, _enriched(session, summary.addresses, notes))


def _enriched(session: Session, addresses: Iterable[str], notes: list[str]) -> dict[str, IpInfo]:
    """What each address is, with the workspace's ``[enrich]`` data; data that cannot be loaded
    is a note (the timeline is still worth having), and the addresses get their kinds alone."""
    try:
        enricher = enricher_for(session.workspace.enrich_sources)
    except BadInputError as error:
        notes.append(f"addresses not enriched: {error}")
        enricher = enricher_for(None)
    return {address: enricher.classify(address) for address in addresses}
