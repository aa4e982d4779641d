"""Following the sessions a subject opened (``trailsql timeline --follow``).

A node is a subject whose events are read; its children are what those events opened:

- an STS call that issues credentials (:data:`ISSUERS`), successful (no ``errorCode``), gives
  a new access key in ``responseElements.credentials.accessKeyId`` (with the role, the session
  name and ``sourceIdentity``): a child :class:`~.subject.AccessKey`, whose events are read in
  every account (the AssumeRole of account A names a role of account B, whose key's calls are
  logged in B);
- a successful ``ConsoleLogin`` opens a console session: a child
  :class:`~.subject.ConsoleSession`, the calls sharing the signed-in ARN and the sign-in time
  as ``sessionContext.attributes.creationDate``.

Nodes are read a level at a time (one query per level). A subject met again (a key issued
twice, or a cycle back to an ancestor) is listed but not followed again; below ``depth``
levels, children are listed but not followed. The merged timeline holds every event of the
tree once, marked with the deepest node it belongs to.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from trailsql.investigate.events import EventQuery
from trailsql.investigate.subject import AccessKey, ConsoleSession, Subject

#: The STS calls whose response holds new credentials.
ISSUERS = ("AssumeRole", "AssumeRoleWithWebIdentity", "AssumeRoleWithSAML", "GetSessionToken", "GetFederationToken")

FOLLOWED = "followed"
SEEN_BEFORE = "seen before"
DEPTH_LIMIT = "depth limit"

_ISSUED = (
    "eventsource = 'sts.amazonaws.com' AND eventname IN ("
    + ", ".join(f"'{name}'" for name in ISSUERS)
    + ") AND errorcode IS NULL"
)


def _issued(sql: str) -> str:
    return f"CASE WHEN {_ISSUED} THEN {sql} END"


#: What a chain reads of each event beyond the timeline's columns.
LINKS: dict[str, str] = {
    "creationdate": "useridentity.sessioncontext.attributes.creationdate",
    "issuedkey": _issued("json_extract_scalar(responseelements, '$.credentials.accessKeyId')"),
    "issuedarn": _issued(
        "coalesce(json_extract_scalar(responseelements, '$.assumedRoleUser.arn'),"
        " json_extract_scalar(responseelements, '$.federatedUser.arn'))"
    ),
    "rolearn": _issued("json_extract_scalar(requestparameters, '$.roleArn')"),
    "sessionname": _issued(
        "coalesce(json_extract_scalar(requestparameters, '$.roleSessionName'),"
        " json_extract_scalar(requestparameters, '$.name'))"
    ),
    "sourceidentity": _issued(
        "coalesce(json_extract_scalar(responseelements, '$.sourceIdentity'),"
        " json_extract_scalar(requestparameters, '$.sourceIdentity'))"
    ),
    "signedin": (
        "coalesce(eventsource = 'signin.amazonaws.com' AND eventname = 'ConsoleLogin'"
        " AND json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Success', false)"
    ),
}


@dataclass(frozen=True)
class Link:
    """The event(s) that opened a node: an STS call (logged in ``account``), or a sign-in."""

    event: str
    event_ids: tuple[str, ...]
    time: str
    account: str | None
    #: The role asked for (``requestParameters.roleArn``).
    role: str | None = None
    #: The session's ARN (the assumed-role or federated user; a console session's signed-in ARN).
    arn: str | None = None
    session_name: str | None = None
    source_identity: str | None = None


@dataclass
class Node:
    """A subject of the tree: ``id`` is its path (``1``, ``1.2``, ``1.2.1``)."""

    id: str
    subject: Subject
    depth: int
    via: Link | None = None
    status: str = FOLLOWED
    #: The ids of its events (none for a node not followed).
    events: list[str] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()


def _console(row: dict[str, Any]) -> ConsoleSession | None:
    """The console session a successful sign-in opened."""
    if not row.get("signedin") or not row.get("arn"):
        return None
    return ConsoleSession("console-session", row["eventtime"], arn=row["arn"])


def _children(node: Node, rows: list[dict[str, Any]]) -> Iterator[Node]:
    """What ``node``'s events opened, in time order; a key issued by several of its events
    (a cross-account call logged in both accounts) is one child. What a console session of
    the node opened (a role switched to in the console) is that session's, not the node's."""
    consoles = [console for row in rows if (console := _console(row)) is not None]
    opened: dict[Subject, Link] = {}
    for row in rows:
        subject: Subject | None = _console(row)
        if subject is not None:
            link = Link("ConsoleLogin", (row["eventid"],), row["eventtime"], row["account"], arn=row["arn"])
        elif row.get("issuedkey") and not any(console.keep(row) for console in consoles):
            subject = AccessKey("access-key", row["issuedkey"])
            link = Link(
                event=row["eventname"],
                event_ids=(row["eventid"],),
                time=row["eventtime"],
                account=row["account"],
                role=row["rolearn"],
                arn=row["issuedarn"],
                session_name=row["sessionname"],
                source_identity=row["sourceidentity"],
            )
        else:
            continue
        first = opened.get(subject)
        opened[subject] = link if first is None else replace(first, event_ids=(*first.event_ids, row["eventid"]))
    for number, (subject, link) in enumerate(opened.items(), 1):
        yield Node(f"{node.id}.{number}", subject, node.depth + 1, via=link)


def follow(query: EventQuery, root: Subject, depth: int) -> tuple[Node, list[dict[str, Any]]]:
    """The tree under ``root`` (followed ``depth`` levels down) and its merged timeline: every
    event of the tree once, in time order, with a ``node`` column."""
    tree = Node("1", root, 0)
    seen: set[Subject] = {root}
    merged: dict[str, dict[str, Any]] = {}
    level = [tree]
    while level:
        rows = query.rows([node.subject for node in level], LINKS)
        following = []
        for node in level:
            mine = [row for row in rows if node.subject.keep(row)]
            node.events = [row["eventid"] for row in mine]
            for row in mine:  # a deeper level comes later: its node wins
                merged[row["eventid"] or f"#{len(merged)}"] = {**row, "node": node.id}
            for child in _children(node, mine):
                if child.subject in seen:
                    child.status = SEEN_BEFORE
                elif child.depth > depth:
                    child.status = DEPTH_LIMIT
                else:
                    seen.add(child.subject)
                    following.append(child)
                node.children.append(child)
        level = following
    return tree, sorted(merged.values(), key=lambda row: (row["eventtime"] or "", row["eventid"] or ""))
