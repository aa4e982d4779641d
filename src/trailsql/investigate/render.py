"""A timeline as people and programs read it: text for the terminal (summaries, the tree
indented, the events as a table), JSON (one document; the tree as nested objects), CSV (the
events, as Athena's result files quote them) and HTML (one self-contained page like the
report's: inline CSS, no script, nothing fetched; every log value escaped).

Log values are attacker-controlled (a user agent is whatever the caller sent): text output
removes terminal escapes and control characters (:func:`trailsql.output.terminal_text`), the
page is autoescaped.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Any

import jinja2
import pyarrow as pa

from trailsql import output
from trailsql.enrich import IpInfo
from trailsql.investigate.chain import FOLLOWED, Node
from trailsql.investigate.events import COLUMNS
from trailsql.investigate.subject import ConsoleSession, Subject
from trailsql.investigate.summary import Summary
from trailsql.investigate.timeline import Timeline

FORMATS = ("table", "json", "csv", "html")

#: The summary's counted fields, as headed for people.
COUNTED = {
    "accounts": "Accounts",
    "regions": "Regions",
    "addresses": "Addresses",
    "user_agents": "User agents",
    "access_keys": "Access keys",
    "services": "Services",
    "apis": "APIs",
    "errors": "Errors",
}
#: What "new" lists, as headed for people.
NEW = {"apis": "APIs", "addresses": "addresses", "regions": "regions", "user_agents": "user agents"}
#: Values listed per line of the text summary, and the characters of each.
SHOWN = 10
LONGEST = 100


def columns(timeline: Timeline) -> list[str]:
    """The events' columns shown: the timeline's, and the node when followed."""
    return [*COLUMNS, "node"] if timeline.tree is not None else list(COLUMNS)


def subject_json(subject: Subject) -> dict[str, Any]:
    described = {"kind": subject.kind, "value": subject.value}
    if isinstance(subject, ConsoleSession):
        described["arn"] = subject.arn
    return described


def node_json(node: Node) -> dict[str, Any]:
    return {
        "node": node.id,
        **subject_json(node.subject),
        "status": node.status,
        "events": len(node.events),
        "via": dataclasses.asdict(node.via) if node.via is not None else None,
        "children": [node_json(child) for child in node.children],
    }


def as_json(timeline: Timeline) -> dict[str, Any]:
    """The JSON document: subject, window, summary, what each address is, tree (None without
    ``--follow``), events."""
    window = timeline.window
    return {
        "subject": subject_json(timeline.subject),
        "window": {"since": _instant(window.start), "until": _instant(window.end)} if window else None,
        "summary": dataclasses.asdict(timeline.summary),
        "addresses": {address: dataclasses.asdict(info) for address, info in timeline.addresses.items()},
        "tree": node_json(timeline.tree) if timeline.tree is not None else None,
        "events": [{name: row.get(name) for name in columns(timeline)} for row in timeline.events],
        "notes": timeline.notes,
    }


def _instant(moment: dt.datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}"


def events_table(timeline: Timeline) -> pa.Table:
    names = columns(timeline)
    return pa.table({name: pa.array([row.get(name) for row in timeline.events], pa.string()) for name in names})


def render_csv(timeline: Timeline) -> str:
    out = io.StringIO()
    output.write(events_table(timeline), "csv", out)
    return out.getvalue()


def _short(value: str) -> str:
    """A value for a summary line: terminal-safe, and cut past :data:`LONGEST` characters."""
    text = output.terminal_text(value)
    return text if len(text) <= LONGEST else text[: LONGEST - 1] + "…"


def _some(values: list[str]) -> str:
    """The first :data:`SHOWN` of ``values``, and how many more (JSON and HTML list them all)."""
    more = len(values) - SHOWN
    return ", ".join(values[:SHOWN]) + (f", and {more} more" if more > 0 else "") if values else "none"


def _listed(counts: dict[str, int]) -> str:
    return _some([f"{_short(value)} ({count})" for value, count in counts.items()])


def what(info: IpInfo | None) -> str:
    """What an address is, in a few words.

    >>> what(IpInfo("aws", "us-east-1", "EC2", "3.224.0.0/12"))
    'aws EC2 us-east-1'
    >>> what(IpInfo("public", country="DE", asn=64500, as_org="Example GmbH"))
    'public DE AS64500 Example GmbH'
    """
    if info is None:
        return ""
    parts = [info.kind, info.aws_service, info.aws_region, info.country]
    if info.asn is not None:
        parts.append(f"AS{info.asn}")
    return " ".join(p for p in [*parts, info.as_org] if p)


def address_counts(timeline: Timeline) -> dict[str, int]:
    """The summary's addresses, each with what it is: ``3.225.16.109 [aws EC2 us-east-1]``."""
    return {f"{a} [{what(timeline.addresses.get(a))}]": n for a, n in timeline.summary.addresses.items()}


def heading(timeline: Timeline) -> str:
    window = timeline.window.text() if timeline.window is not None else "every event of the logs"
    return f"Timeline of {timeline.subject.text()}, {window}"


def new_lines(summary: Summary) -> list[str]:
    """What was new, for people; with no history, why nothing is called new."""
    new = summary.new
    if new is None:
        return ["New: nothing to compare with (no --since: there is no history before the window)."]
    if not new.prior_events:
        return ["New: everything (no event of the subject before the window)."]
    lines = [f"New since its history ({new.prior_events} events before the window, from {new.prior_first_seen}):"]
    for name, title in NEW.items():
        values: list[str] = getattr(new, name)
        lines.append(f"  {title}: {_some([_short(v) for v in values])}")
    return lines


def summary_lines(timeline: Timeline) -> list[str]:
    summary = timeline.summary
    if not summary.events:
        return ["No events."]
    lines = [f"{summary.events} events, first {summary.first_seen}, last {summary.last_seen}"]
    for name, title in COUNTED.items():
        counts = address_counts(timeline) if name == "addresses" else getattr(summary, name)
        lines.append(f"{title}: {_listed(counts)}")
    return lines + new_lines(summary)


def node_text(node: Node) -> str:
    """One line of the tree: how the node was opened, what it is, what became of it."""
    via = node.via
    opened = ""
    if via is not None:
        parts = [via.event, f"at {via.time}"]
        if via.role:
            parts.append(f"of {via.role}")
        if via.session_name:
            parts.append(f"session {via.session_name}")
        if via.source_identity:
            parts.append(f"source identity {via.source_identity}")
        if via.account:
            parts.append(f"(logged in {via.account})")
        opened = " ".join(parts) + " -> "
    what = node.subject.text() if via is None or via.event != "ConsoleLogin" else "console session"
    count = len(node.events)
    state = f"{count} event{'' if count == 1 else 's'}" if node.status == FOLLOWED else f"{node.status}: not followed"
    return output.terminal_text(f"{node.id} {opened}{what} ({state})")


def tree_lines(node: Node) -> Iterator[str]:
    yield "  " * node.depth + node_text(node)
    for child in node.children:
        yield from tree_lines(child)


def head_lines(timeline: Timeline) -> list[str]:
    """The text form's lines above the events: heading, summaries, the tree."""
    lines = [heading(timeline), "", *summary_lines(timeline), ""]
    if timeline.tree is not None:
        lines += ["Sessions:", *tree_lines(timeline.tree), ""]
    return lines


def render_html(timeline: Timeline) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("trailsql.investigate", "templates"), autoescape=True, trim_blocks=True
    )
    env.filters["cell"] = output.terminal_text
    return env.get_template("timeline.html").render(
        heading=heading(timeline),
        timeline=timeline,
        summary=timeline.summary,
        counted=COUNTED,
        addresses=address_counts(timeline),
        new=NEW,
        new_lines=new_lines(timeline.summary),
        nodes=[(node, node_text(node)) for node in timeline.tree.walk()] if timeline.tree is not None else [],
        columns=columns(timeline),
    )


def render(timeline: Timeline, fmt: str) -> str:
    """``json``, ``csv`` or ``html`` (the terminal's table is laid out by the CLI, to its width)."""
    if fmt == "json":
        return json.dumps(as_json(timeline), indent=2) + "\n"
    if fmt == "csv":
        return render_csv(timeline)
    if fmt == "html":
        return render_html(timeline)
    raise ValueError(f"unknown format {fmt}")
