"""``trailsql report``: library queries over a window, as HTML, Markdown, JSON or CSV.

The window is fixed once (``--since 24h`` becomes two instants) so every query, chart and
deep link of a report covers the same events. HTML is one self-contained file: inline
CSS and SVG charts, no script, nothing fetched, so it reads in a mail client.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import jinja2
import markupsafe

from trailsql import output
from trailsql.alerts import charts
from trailsql.alerts.shared_scan import shared_scan
from trailsql.library.findings import Finding
from trailsql.library.query import SEVERITIES, LibraryQuery
from trailsql.library.run import QueryRun, run_queries
from trailsql.library.suppress import Suppressed, load_suppressions, suppress
from trailsql.library.window import Window
from trailsql.session import Session

FORMATS = ("html", "md", "json", "csv")

#: The overview's queries, over the report's window.
_OVERVIEW = {
    "events_per_hour": "SELECT substr(eventtime, 1, 13) AS hour, count(*) AS n FROM cloudtrail_logs WHERE {w} GROUP BY 1 ORDER BY 1",
    "top_principals": (
        "SELECT coalesce(useridentity.arn, useridentity.type, 'unknown') AS principal, count(*) AS n "
        "FROM cloudtrail_logs WHERE {w} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10"
    ),
    "errors_by_code": (
        "SELECT errorcode AS code, count(*) AS n FROM cloudtrail_logs WHERE {w} AND errorcode IS NOT NULL "
        "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10"
    ),
}


@dataclass
class Report:
    """What a report says: its window, every query's run, and the overview's figures."""

    window: Window
    generated: dt.datetime
    runs: list[QueryRun]
    overview: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    #: Findings the workspace's ``[suppress.*]`` rules dropped, and the rules expired.
    suppressed: Suppressed = field(default_factory=lambda: Suppressed(kept=[]))

    def suppression_text(self) -> str:
        """One line on what was suppressed (empty when nothing was, and no rule expired)."""
        parts = []
        if self.suppressed.count:
            rules = ", ".join(f"{name}: {n}" for name, n in sorted(self.suppressed.by_rule.items()))
            parts.append(f"{self.suppressed.count} finding(s) suppressed ({rules})")
        if self.suppressed.expired:
            parts.append(f"expired suppressions ignored: {', '.join(self.suppressed.expired)}")
        return "; ".join(parts)

    @property
    def findings(self) -> list[Finding]:
        """All findings, worst severity first."""
        found = [f for run in self.runs for f in run.findings]
        return sorted(found, key=lambda f: (-SEVERITIES.index(f.severity), f.query_id, finding_time(f) or ""))

    @property
    def notes(self) -> list[str]:
        """What a reader must know to read the report right (a baseline with no events)."""
        return [note for run in self.runs for note in run.notes]

    def needs_action(self) -> list[Finding]:
        """The findings a responder acts on now or today: critical and high (docs/severity.md)."""
        return [f for f in self.findings if f.severity in ("critical", "high")]

    @property
    def events(self) -> int:
        return sum(n for _, n in self.overview.get("events_per_hour", []))

    def by_severity(self) -> list[tuple[str, int]]:
        counts = Counter(f.severity for f in self.findings)
        return [(s, counts[s]) for s in reversed(SEVERITIES) if counts[s]]

    def timeline(self) -> list[tuple[str, int]]:
        """Findings per hour of the window (hours without findings included)."""
        return self.hourly(Counter((finding_time(f) or "")[:13] for f in self.findings))

    def events_per_hour(self) -> list[tuple[str, int]]:
        return self.hourly(dict(self.overview.get("events_per_hour", [])))

    def hourly(self, counts: Mapping[str, int]) -> list[tuple[str, int]]:
        """``counts`` by hour label (``2025-02-12T07``) over every hour of the window; by day
        (``2025-02-12``) when the window is longer than 31 days."""
        by_day = self.window.end - self.window.start > dt.timedelta(days=31)
        if by_day:
            daily: Counter[str] = Counter()
            for label, n in counts.items():
                daily[label[:10]] += n
            counts = daily
        step = dt.timedelta(days=1) if by_day else dt.timedelta(hours=1)
        moment = self.window.start.replace(minute=0, second=0, microsecond=0)
        if by_day:
            moment = moment.replace(hour=0)
        buckets: list[tuple[str, int]] = []
        while moment < self.window.end:
            label = f"{moment:%Y-%m-%d}" if by_day else f"{moment:%Y-%m-%dT%H}"
            buckets.append((label, counts.get(label, 0)))
            moment += step
        return buckets


def finding_time(finding: Finding) -> str | None:
    """When a finding happened: the first event of its evidence."""
    return finding.first_seen


def build_report(
    session: Session,
    queries: Iterable[LibraryQuery],
    given: Mapping[str, str | None],
    now: dt.datetime | None = None,
) -> Report:
    """Run ``queries`` and the overview over one window (``given['since']``, ``given['until']``)."""
    now = now or dt.datetime.now(dt.UTC)
    window = Window.parse(given.get("since") or "24h", given.get("until"), now)
    fixed = {
        **given,
        "since": f"{window.start:%Y-%m-%dT%H:%M:%SZ}",
        "until": f"{window.end:%Y-%m-%dT%H:%M:%SZ}",
    }
    queries = list(queries)
    with shared_scan(session, window, len(queries)):
        runs = run_queries(session, queries, fixed, now)
        overview = _overview(session, window, given)
    suppressed = suppress(
        [f for run in runs for f in run.findings], load_suppressions(session.workspace.config), now.date()
    )
    kept = {id(f) for f in suppressed.kept}
    for run in runs:
        run.findings = [f for f in run.findings if id(f) in kept]
    return Report(window, now, runs, overview, suppressed)


def _overview(session: Session, window: Window, given: Mapping[str, str | None]) -> dict[str, list[tuple[str, int]]]:
    """The overview's figures (events per hour, top principals, errors) over the window."""
    scope = "".join(
        f" AND {c} = '{v.replace(chr(39), chr(39) * 2)}'" for c in ("account", "region") if (v := given.get(c))
    )
    overview = {}
    for name, sql in _OVERVIEW.items():
        table = session.execute(sql.format(w=f"({window.predicate()}){scope}")).table
        overview[name] = [
            (str(label), int(n)) for label, n in zip(*(c.to_pylist() for c in table.columns), strict=True)
        ]
    return overview


# --------------------------------------------------------------------------- rendering


def render(report: Report, fmt: str) -> str:
    if fmt == "html":
        return render_html(report)
    if fmt == "md":
        return render_markdown(report)
    if fmt == "json":
        return json.dumps(as_json(report), indent=2, default=str) + "\n"
    if fmt == "csv":
        return render_csv(report)
    raise ValueError(f"unknown report format {fmt}")


def as_json(report: Report) -> dict[str, Any]:
    return {
        "window": {"start": report.window.start.isoformat(), "end": report.window.end.isoformat()},
        "generated": report.generated.isoformat(),
        "events": report.events,
        "findings_by_severity": dict(report.by_severity()),
        "suppressed": report.suppressed.as_dict(),
        "notes": report.notes,
        "findings": [f.as_dict() for f in report.findings],
        "queries": [
            {
                "id": run.query.id,
                "title": run.query.title,
                "kind": run.query.kind,
                "severity": run.query.severity,
                "rows": [{k: output.json_value(v) for k, v in row.items()} for row in run.rows],
                "error": run.error,
                "link": run.command,
            }
            for run in report.runs
        ],
        "overview": {
            name: [{"label": label, "count": n} for label, n in items] for name, items in report.overview.items()
        },
    }


def render_csv(report: Report) -> str:
    """One line per finding: for spreadsheets and ticket imports."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "severity",
            "query",
            "title",
            "technique",
            "first_seen",
            "last_seen",
            "events",
            "summary",
            "event_ids",
            "key",
            "link",
        ]
    )
    for f in report.findings:
        writer.writerow(
            [
                f.severity,
                f.query_id,
                f.title,
                f.technique or "",
                f.first_seen or "",
                f.last_seen or "",
                f.count,
                f.summary,
                " ".join(f.event_ids),
                f.key,
                f.link,
            ]
        )
    return out.getvalue()


def _cell(value: Any) -> str:
    """A value for the HTML report (autoescaped there): control characters and terminal escapes
    removed, as nothing in a page should carry them."""
    return output.terminal_text(value)


#: What Markdown would read as markup in a table cell: HTML and entities, links and images,
#: emphasis, code spans, the cell separator. Each is shown as written, backslash-escaped.
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]()!|#~"} | {"<": "&lt;", ">": "&gt;", "&": "&amp;"})


def md_text(value: Any, limit: int | None = None) -> str:
    r"""A log value as inert Markdown text on one line: no HTML, link, code span or cell break
    a log field could plant; control characters (``\r`` too) and terminal escapes removed.

    >>> md_text("[x](javascript:alert(1)) <script>|`")
    '\\[x\\]\\(javascript:alert\\(1\\)\\) &lt;script&gt;\\|\\`'
    """
    text = " ".join(output.terminal_text(value).split("\n"))[:limit]
    return text.replace("\t", " ").translate(_MD_SPECIAL)


def render_markdown(report: Report, max_rows: int = 20) -> str:
    """Markdown for chat and tickets: the summary, then each query with findings or rows."""
    lines = [f"# CloudTrail report, {report.window.text()}", ""]
    summary = ", ".join(f"{n} {s}" for s, n in report.by_severity()) or "none"
    lines += [f"{report.events:,} events; findings: {summary}.", ""]
    if report.suppression_text():
        lines += [md_text(report.suppression_text()) + ".", ""]
    lines += [f"Note: {md_text(note)}." for note in report.notes] + ([""] if report.notes else [])
    urgent = report.needs_action()
    if urgent:
        lines += ["## Needs action (critical: now; high: today)", ""]
        lines += [
            f"- **{f.severity}** {md_text(f.summary, 300)} (`{f.query_id}`, {f.first_seen or ''})" for f in urgent[:20]
        ]
        lines += [f"- …and {len(urgent) - 20} more."] if len(urgent) > 20 else []
        lines.append("")
    for run in sorted(report.runs, key=lambda r: (r.query.kind != "detection", -SEVERITIES.index(r.query.severity))):
        if run.query.kind == "detection" and not run.findings and run.error is None:
            continue
        lines += [f"## {run.query.title} ({run.query.severity}, `{run.query.id}`)", ""]
        if run.error:
            lines += [f"**failed:** {md_text(run.error)}", ""]
            continue
        if run.findings:
            for f in run.findings[:max_rows]:
                seen = f.first_seen or ""
                if f.last_seen and f.last_seen != f.first_seen:
                    seen += f" to {f.last_seen}"
                evidence = f", events {md_text(' '.join(f.event_ids[:5]))}" if f.event_ids else ""
                lines.append(f"- {md_text(f.summary, 400)} ({seen}; {f.count} events{evidence})")
            if len(run.findings) > max_rows:
                lines.append(f"\n…and {len(run.findings) - max_rows} more findings.")
            lines += ["", f"Rows: `{run.command}`", ""]
            continue
        rows = run.rows
        if not rows:
            lines += ["No rows.", ""]
            continue
        names = list(rows[0])
        lines.append("| " + " | ".join(md_text(n) for n in names) + " |")
        lines.append("|" + "---|" * len(names))
        for row in rows[:max_rows]:
            lines.append("| " + " | ".join(md_text(row[n], 120) for n in names) + " |")
        if len(rows) > max_rows:
            lines.append(f"\n…and {len(rows) - max_rows} more rows.")
        lines += ["", f"Again: `{run.command}`", ""]
    quiet = [r.query.id for r in report.runs if r.query.kind == "detection" and not r.findings and r.error is None]
    if quiet:
        lines += [f"No findings from: {', '.join(quiet)}.", ""]
    return "\n".join(lines)


def render_html(report: Report, max_rows: int = 50) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resources.files("trailsql.alerts").joinpath("templates"))),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cell"] = _cell
    detections = [r for r in report.runs if r.query.kind == "detection"]
    hunts = [r for r in report.runs if r.query.kind == "hunt"]
    return env.get_template("report.html").render(
        report=report,
        window=report.window.text(),
        findings=report.findings,
        by_severity=report.by_severity(),
        finding_time=finding_time,
        detections=sorted(detections, key=lambda r: (-len(r.findings), -SEVERITIES.index(r.query.severity))),
        hunts=hunts,
        max_rows=max_rows,
        charts={
            "events_per_hour": markupsafe.Markup(charts.columns(report.events_per_hour())),
            "top_principals": markupsafe.Markup(charts.bars(report.overview.get("top_principals", []))),
            "errors_by_code": markupsafe.Markup(charts.bars(report.overview.get("errors_by_code", []))),
            "timeline": markupsafe.Markup(charts.columns(report.timeline(), color="#c0392b")),
        },
    )
