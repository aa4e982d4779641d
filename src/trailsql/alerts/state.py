"""What alerts remember, in ``<workspace>/alerts.sqlite``: findings already sent, messages a
channel could not take (the spool), and when each scheduled job last ran.

Delivery is at least once: a finding is marked sent after its message went out or was
spooled, so a run killed between the two may send it again; no finding is lost.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
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

    def spool_size(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM spool").fetchone()[0])

    def last_scheduled(self, job: str) -> dt.datetime | None:
        row = self.db.execute("SELECT last_scheduled FROM job_runs WHERE job = ?", (job,)).fetchone()
        return dt.datetime.fromisoformat(row[0]) if row else None

    def record_run(self, job: str, scheduled: dt.datetime) -> None:
        self.db.execute("INSERT OR REPLACE INTO job_runs VALUES (?, ?)", (job, scheduled.isoformat()))
