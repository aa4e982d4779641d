"""What alerts remember, in ``<workspace>/alerts.sqlite``: findings already sent, messages a
channel could not take (the spool), and when each scheduled job last ran.

The spool is bounded (:class:`SpoolLimits`: attempts, age, messages per channel): a
message past a limit is dropped, and what was dropped is returned so the run reports it.

Delivery is at least once: a finding is marked sent after its message went out or was
spooled, so a run killed between the two may send it again; no finding is lost.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from trailsql.alerts.channels import Message

STATE_NAME = "alerts.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sent (key TEXT PRIMARY KEY, query TEXT NOT NULL, first_sent TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS spool (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    message TEXT NOT NULL,
    queued TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS job_runs (job TEXT PRIMARY KEY, last_scheduled TEXT NOT NULL);
"""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class SpoolLimits:
    """How long a spooled message is kept: a peer down for good must not grow the spool forever
    nor make every run retry a week of messages."""

    attempts: int = 24
    age: dt.timedelta = dt.timedelta(days=7)
    per_channel: int = 100


def _too_old(queued: str, now: dt.datetime, age: dt.timedelta) -> bool:
    """Whether a message queued at ``queued`` (ISO, UTC) is older than ``age`` at ``now``."""
    moment = dt.datetime.fromisoformat(queued)
    return now - (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)) > age


class AlertState:
    def __init__(self, workspace: str | Path) -> None:
        Path(workspace).mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(Path(workspace) / STATE_NAME, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def unsent(self, keys: list[str]) -> set[str]:
        """Those of ``keys`` not sent yet."""
        sent = {row[0] for row in self.db.execute("SELECT key FROM sent")}
        return {k for k in keys if k not in sent}

    def mark_sent(self, findings: list[tuple[str, str]]) -> None:
        """Record (key, query id) pairs as sent."""
        self.db.executemany(
            "INSERT OR IGNORE INTO sent VALUES (?, ?, ?)", [(key, query, _now()) for key, query in findings]
        )

    def spool(self, channel: str, message: Message, error: str) -> None:
        self.db.execute(
            "INSERT INTO spool (channel, message, queued, last_error) VALUES (?, ?, ?, ?)",
            (channel, json.dumps(message.as_dict(), default=str), _now(), error),
        )

    def spooled(self, channel: str) -> list[tuple[int, Message]]:
        rows = self.db.execute("SELECT id, message FROM spool WHERE channel = ? ORDER BY id", (channel,))
        return [(id_, Message.from_dict(json.loads(text))) for id_, text in rows]

    def delivered(self, spool_id: int) -> None:
        self.db.execute("DELETE FROM spool WHERE id = ?", (spool_id,))

    def failed_again(self, spool_id: int, error: str) -> None:
        self.db.execute("UPDATE spool SET attempts = attempts + 1, last_error = ? WHERE id = ?", (error, spool_id))

    def prune(self, limits: SpoolLimits, now: dt.datetime | None = None) -> list[str]:
        """Drop the messages past ``limits`` (the oldest first when a channel has too many);
        one line per dropped message saying which and why."""
        now = now or dt.datetime.now(dt.UTC)
        rows = self.db.execute("SELECT id, channel, queued, attempts, last_error FROM spool ORDER BY id DESC")
        kept: dict[str, int] = {}
        dropped: list[tuple[int, str]] = []
        for id_, channel, queued, attempts, error in rows.fetchall():
            why = None
            if attempts >= limits.attempts:
                why = f"{attempts} failed attempts"
            elif _too_old(queued, now, limits.age):
                why = f"queued {queued}, older than {limits.age}"
            elif kept.get(channel, 0) >= limits.per_channel:
                why = f"more than {limits.per_channel} messages wait for {channel}"
            if why is None:
                kept[channel] = kept.get(channel, 0) + 1
            else:
                dropped.append((id_, f"{channel}: DROPPED spooled message {id_} ({why}; last error: {error})"))
        self.db.executemany("DELETE FROM spool WHERE id = ?", [(id_,) for id_, _ in dropped])
        return [line for _, line in reversed(dropped)]

    def spool_size(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM spool").fetchone()[0])

    def last_scheduled(self, job: str) -> dt.datetime | None:
        row = self.db.execute("SELECT last_scheduled FROM job_runs WHERE job = ?", (job,)).fetchone()
        return dt.datetime.fromisoformat(row[0]) if row else None

    def record_run(self, job: str, scheduled: dt.datetime) -> None:
        self.db.execute("INSERT OR REPLACE INTO job_runs VALUES (?, ?)", (job, scheduled.isoformat()))
