"""``trailsql alert``: run the detections and send each new finding once to every channel.

A run first delivers what earlier runs spooled, then finds, then sends the findings not
sent before as one message per channel, of the findings its filter passes
(:class:`~trailsql.alerts.channels.ChannelFilter`). A channel that fails gets the message spooled in
the workspace, and the run says so; the next run delivers it. A channel's failure, whatever
it is, stays that channel's: the others are still served. The spool is bounded
(:class:`~trailsql.alerts.state.SpoolLimits`); what it drops is in the run's summary.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from trailsql.alerts.channels import Channel, DeliveryError, Message
from trailsql.alerts.report import Report, build_report, render_html, render_markdown
from trailsql.alerts.state import AlertState, SpoolLimits
from trailsql.library.findings import Finding
from trailsql.library.query import LibraryQuery
from trailsql.library.window import Window
from trailsql.session import Session


@dataclass
class AlertReport:
    """What a run did: findings, new ones, and per channel what was sent, spooled, caught up."""

    findings: int = 0
    new: int = 0
    sent: dict[str, int] = field(default_factory=dict)
    spooled: dict[str, str] = field(default_factory=dict)
    caught_up: dict[str, int] = field(default_factory=dict)
    still_failing: dict[str, str] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    failed_queries: list[str] = field(default_factory=list)
    still_spooled: int = 0
    #: What the workspace's suppressions dropped (see :mod:`trailsql.library.suppress`).
    suppression: str = ""

    def lines(self) -> list[str]:
        out = [f"{self.findings} findings, {self.new} new"]
        out += [self.suppression] if self.suppression else []
        out += [f"{name}: delivered {n} spooled message(s) from earlier runs" for name, n in self.caught_up.items()]
        out += [f"{name}: sent {n} finding(s)" for name, n in self.sent.items()]
        out += [f"{name}: FAILED, message spooled for the next run ({error})" for name, error in self.spooled.items()]
        out += [f"{name}: spooled message(s) FAILED again ({error})" for name, error in self.still_failing.items()]
        out += self.dropped
        out += [f"query failed: {q}" for q in self.failed_queries]
        if self.still_spooled:
            out.append(f"{self.still_spooled} message(s) wait in the spool")
        return out

    @property
    def undelivered(self) -> bool:
        """A channel failed this run (new findings or the spool's): the run exits 3."""
        return bool(self.spooled or self.still_failing or self.dropped)


def _timed(finding: Finding, window: Window) -> dict[str, Any]:
    """A finding as a message carries it: its actor, and its times, or (a threshold finding,
    whose rows count events without a time) its window's span, said so by ``time_basis``."""
    timed = finding.first_seen is not None
    return {
        **finding.as_dict(),
        "actor": finding.actor,
        "first_seen": finding.first_seen if timed else f"{window.start:%Y-%m-%dT%H:%M:%SZ}",
        "last_seen": finding.last_seen if timed else f"{window.end:%Y-%m-%dT%H:%M:%SZ}",
        "time_basis": "events" if timed else "window",
    }


def message_for(findings: list[Finding], window: Window, html: str | None = None) -> Message:
    """One message for a run's new findings: a line per finding saying why, when and the evidence."""
    worst = findings[0].severity if findings else "info"
    subject = f"[trailsql] {len(findings)} new finding{'s' if len(findings) != 1 else ''} ({worst}), {window.text()}"
    carried = [_timed(f, window) for f in findings]
    lines = []
    for f, d in zip(findings, carried, strict=True):
        seen = d["first_seen"] + (f" to {d['last_seen']}" if d["last_seen"] != d["first_seen"] else "")
        seen += " (the window)" if d["time_basis"] == "window" else ""
        evidence = f"; events {' '.join(f.event_ids[:5])}" + (f" (of {f.event_total})" if f.event_total > 5 else "")
        lines.append(
            f"- [{f.severity}] {f.title} ({f.query_id}) {seen}\n  {f.summary[:600]}"
            f"\n  {f.count} events{evidence if f.event_ids else ''}\n  again: {f.link}"
            + (f"\n  console: {f.console}" if f.console else "")
        )
    span = {
        "start": f"{window.start:%Y-%m-%dT%H:%M:%SZ}",
        "end": f"{window.end:%Y-%m-%dT%H:%M:%SZ}",
        "text": window.text(),
    }
    return Message(subject, "\n".join(lines), carried, html, span)


def html_of(report: Report, findings: list[Finding]) -> str:
    """The report's HTML with ``findings`` as its only findings: what this run tells this channel."""
    keys = {f.key for f in findings}
    runs = [replace(run, findings=[f for f in run.findings if f.key in keys]) for run in report.runs]
    return render_html(replace(report, runs=runs))


def deliver(channel: Channel, message: Message) -> str | None:
    """None if delivered, else why not. Channels raise DeliveryError for what peers do; anything
    else (a channel's own bug, a library's surprise) must not stop the other channels either."""
    try:
        channel.send(message)
    except DeliveryError as error:
        return str(error)
    except Exception as error:
        return f"{channel.name}: {type(error).__name__}: {error}"
    return None


def send_report(
    report: Report, title: str, channels: Mapping[str, Channel], state: AlertState
) -> dict[str, str | None]:
    """A report to ``channels`` (Markdown text, the HTML as its alternative); spooled where it
    fails. Per channel: None if delivered, else why not."""
    subject = f"[trailsql] {title}: {len(report.findings)} findings, {report.window.text()}"
    message = Message(subject, render_markdown(report), [f.as_dict() for f in report.findings], render_html(report))
    errors: dict[str, str | None] = {}
    for name, channel in channels.items():
        error = errors[name] = deliver(channel, message)
        if error is not None:
            state.spool(name, message, error)
    return errors


def deliver_spooled(channels: Mapping[str, Channel], state: AlertState, result: AlertReport) -> None:
    """Send what earlier runs spooled: per channel how many it took (``caught_up``), or why it
    failed again (``still_failing``: a channel that fails once is not tried again this run)."""
    for name, channel in channels.items():
        for spool_id, message in state.spooled(name):
            error = deliver(channel, message)
            if error is not None:
                state.failed_again(spool_id, error)
                result.still_failing[name] = error
                break
            state.delivered(spool_id)
            result.caught_up[name] = result.caught_up.get(name, 0) + 1


def send_new(
    report: Report,
    new: list[Finding],
    channels: Mapping[str, Channel],
    state: AlertState,
    result: AlertReport,
    with_html: bool,
) -> None:
    """Each channel the new findings its filter passes (none pass: no message); spooled where it fails."""
    tags = {run.query.id: run.query.tags for run in report.runs}
    pages: dict[frozenset[str], str] = {}  # channels taking the same findings share one rendering
    for name, channel in channels.items():
        chosen = [f for f in new if channel.only.passes(f.severity, f.query_id, tags.get(f.query_id, ()))]
        if not chosen:
            continue
        html = None
        if with_html:
            keys = frozenset(f.key for f in chosen)
            html = pages[keys] = pages.get(keys) or html_of(report, chosen)
        message = message_for(chosen, report.window, html)
        error = deliver(channel, message)
        if error is None:
            result.sent[name] = len(chosen)
        else:
            state.spool(name, message, error)
            result.spooled[name] = error


def run_alerts(
    session: Session,
    queries: Iterable[LibraryQuery],
    given: Mapping[str, str | None],
    channels: Mapping[str, Channel],
    state: AlertState,
    now: dt.datetime | None = None,
    with_html: bool = True,
    limits: SpoolLimits | None = None,
) -> AlertReport:
    """Deliver the spool, run ``queries``, send the new findings; the spool is then pruned to ``limits``."""
    result = AlertReport()
    deliver_spooled(channels, state, result)
    report = build_report(session, queries, given, now)
    result.failed_queries = [f"{run.query.id}: {run.error}" for run in report.runs if run.error]
    result.suppression = report.suppression_text()
    findings = report.findings
    result.findings = len(findings)
    unsent = state.unsent([f.key for f in findings])
    new = [f for f in findings if f.key in unsent]
    new = list({f.key: f for f in new}.values())  # the same finding twice in one run is sent once
    result.new = len(new)
    if new:
        send_new(report, new, channels, state, result, with_html)
        state.mark_sent([(f.key, f.query_id) for f in new])
    result.dropped = state.prune(limits or SpoolLimits())
    result.still_spooled = state.spool_size()
    return result
