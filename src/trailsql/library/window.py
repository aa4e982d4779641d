"""A time window (``--since 24h``) as the predicates a CloudTrail query needs.

The window becomes two predicates: one on ``eventTime`` (the events in the window) and
one on the partition columns ``year``/``month``/``day`` (the folders that can hold
them), so partition pruning still opens only those days' folders. CloudTrail files an
event in the folder of the day it *delivers* it, minutes after the event: a window's
folders run from its first day to the day after its end.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from itertools import groupby

from trailsql.errors import UsageError

#: A duration: ``90m``, ``24h``, ``7d``, ``2w``, or the unit as a word (``30days``, ``1 week``).
_DURATION = re.compile(r"^\s*(\d+)\s*(m|min|mins|minutes?|h|hr|hrs|hours?|d|days?|w|wk|wks|weeks?)\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> dt.timedelta | None:
    """A duration in any of the forms :data:`_DURATION` takes; None if ``text`` is not one.

    >>> [parse_duration(t) for t in ("90m", "30days", "2 weeks", "2025-02-01")]
    [datetime.timedelta(seconds=5400), datetime.timedelta(days=30), datetime.timedelta(days=14), None]
    """
    match = _DURATION.match(text)
    if not match:
        return None
    return dt.timedelta(**{_UNITS[match.group(2)[0].lower()]: int(match.group(1))})


#: The instants a window may hold: CloudTrail began in 2013, and a window's folders run to the
#: day after its end, which must still be a date (Python's last is 9999-12-31).
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)


def parse_instant(text: str, now: dt.datetime) -> dt.datetime:
    """``24h``/``7d``/``90m``/``2w``/``30days`` before ``now``, or an ISO date or date-time (UTC).

    >>> now = dt.datetime(2025, 2, 12, 12, tzinfo=dt.UTC)
    >>> parse_instant("36h", now).isoformat()
    '2025-02-11T00:00:00+00:00'
    >>> parse_instant("2025-02-01", now).isoformat()
    '2025-02-01T00:00:00+00:00'
    """
    try:
        duration = parse_duration(text)
        if duration is not None:
            moment = now - duration
        else:
            moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
            moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    except ValueError:
        raise UsageError(f"expected a duration (24h, 7d) or an ISO date, got {text!r}") from None
    except OverflowError:
        moment = EARLIEST - dt.timedelta(days=1)
    if not EARLIEST <= moment <= LATEST:
        raise UsageError(f"{text!r} is out of range: a window lies between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    return moment


@dataclass(frozen=True)
class Window:
    """Events from ``start`` (included) to ``end`` (excluded), UTC."""

    start: dt.datetime
    end: dt.datetime

    @classmethod
    def parse(cls, since: str, until: str | None = None, now: dt.datetime | None = None) -> Window:
        now = now or dt.datetime.now(dt.UTC)
        end = parse_instant(until, now) if until else now
        start = parse_instant(since, end if _DURATION.match(since) else now)
        if start >= end:
            raise UsageError(f"the window is empty: {start:%Y-%m-%dT%H:%M:%SZ} is not before {end:%Y-%m-%dT%H:%M:%SZ}")
        return cls(start.astimezone(dt.UTC), end.astimezone(dt.UTC))

    def text(self) -> str:
        """``2025-02-12 00:00 to 2025-02-13 00:00 UTC``: the window for people."""
        return f"{self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M} UTC"

    def days(self) -> list[dt.date]:
        """The folders' days: the window's days and the day after (late deliveries)."""
        last = (self.end - dt.timedelta(microseconds=1)).date() + dt.timedelta(days=1)
        count = (last - self.start.date()).days + 1
        return [self.start.date() + dt.timedelta(days=n) for n in range(count)]

    def predicate(self) -> str:
        """The window as Athena SQL over a CloudTrail table's columns.

        >>> w = Window(dt.datetime(2025, 1, 31, 12, tzinfo=dt.UTC), dt.datetime(2025, 2, 1, tzinfo=dt.UTC))
        >>> print(w.predicate())
        ((year = '2025' AND month = '01' AND day IN ('31')) OR (year = '2025' AND month = '02' AND day IN ('01'))) AND eventtime >= '2025-01-31T12:00:00Z' AND eventtime < '2025-02-01T00:00:00Z'
        """
        folders = []
        for (year, month), days in groupby(self.days(), key=lambda d: (d.year, d.month)):
            listed = ", ".join(f"'{d:%d}'" for d in days)
            folders.append(f"(year = '{year:04d}' AND month = '{month:02d}' AND day IN ({listed}))")
        return f"({' OR '.join(folders)}) AND {self.event_predicate()}"

    def event_predicate(self) -> str:
        """The window on ``eventTime`` alone (a table without year/month/day partitions)."""
        return f"eventtime >= '{self.start:%Y-%m-%dT%H:%M:%SZ}' AND eventtime < '{self.end:%Y-%m-%dT%H:%M:%SZ}'"
