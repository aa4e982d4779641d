"""Where alerts go: Amazon SNS, Slack, a generic webhook, email over SMTP.

Channels are named in the workspace's ``trailsql.toml``; secrets can stay out of the file
(``password_env``, ``url_env``, ``secret_env`` name environment variables)::

    [channels.secops]
    type = "email"            # host, port = 587, starttls = true, username, password_env, from, to = [...]
    [channels.chat]
    type = "slack"            # url (an incoming webhook) or url_env
    [channels.siem]
    type = "webhook"          # url; secret_env signs the body: X-Trailsql-Signature: sha256=<HMAC-SHA256>
    [channels.pager]
    type = "sns"              # topic_arn; region, profile, endpoint_url as for S3

Each channel sends one :class:`Message` per run: the new findings with their rows (a
threshold detection's rows carry its counts). Slack gets it as Block Kit: a summary
(counts by severity, the window), then one message per finding, at most
:data:`SLACK_MAX_FINDINGS` with an "and N more" line.

A channel can take only some findings (:class:`ChannelFilter`; all the settings given must
hold, and a channel none passes gets no message)::

    [channels.pager]
    min_severity = "high"     # info, low, medium, high, critical
    detections = ["cloudtrail-tampering"]   # query ids
    tags = ["attack.persistence"]           # any of the query's tags

Every channel takes ``timeout`` (seconds, default :data:`TIMEOUT`): the whole delivery,
not each socket read, must finish within it, so a peer that drips one header line at a
time cannot hold a run. Whatever a peer answers (garbage, a short body, a dropped
connection) is a :class:`DeliveryError`; a URL or a type that cannot work is a
:class:`ChannelConfigError` when the settings are loaded, before anything runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import math
import os
import smtplib
import socket
import ssl
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Protocol

from trailsql.errors import CatalogError
from trailsql.library.query import SEVERITIES

#: Seconds a whole delivery may take before it counts as failed (and is spooled); ``timeout`` per channel.
TIMEOUT = 30.0
#: Findings a run posts to Slack one message each; the rest are counted in the summary.
SLACK_MAX_FINDINGS = 20


class DeliveryError(Exception):
    """A channel could not deliver: the message is spooled and sent again on the next run."""


class ChannelConfigError(CatalogError):
    """A channel's settings cannot work (bad URL, unknown type): wrong usage, exit code 2."""

    exit_code = 2


@dataclass(frozen=True)
class Message:
    """What a run tells people: a subject, plain text (Markdown-ish), optional HTML, and the findings.

    ``window`` (``start``, ``end``, ``text``) is set on an alert run's message, which Slack
    then shows as Block Kit; a message without one (a report, a spooled message of an
    older version) is shown as its text."""

    subject: str
    text: str
    findings: list[dict[str, Any]] = field(default_factory=list)
    html: str | None = None
    window: dict[str, str] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "text": self.text,
            "findings": self.findings,
            "html": self.html,
            "window": self.window,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        return cls(data["subject"], data["text"], data.get("findings", []), data.get("html"), data.get("window"))


@dataclass(frozen=True)
class ChannelFilter:
    """Which findings a channel takes: each setting given must hold; none given, every finding.

    >>> only = ChannelFilter(min_severity="high", tags=("attack.persistence",))
    >>> only.passes("critical", "iam-backdoor", ("attack.persistence", "iam"))
    True
    >>> only.passes("medium", "iam-backdoor", ("attack.persistence",)), only.passes("high", "x", ())
    (False, False)
    """

    min_severity: str | None = None
    detections: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None

    def passes(self, severity: str, query_id: str, tags: Iterable[str]) -> bool:
        if self.min_severity and SEVERITIES.index(severity) < SEVERITIES.index(self.min_severity):
            return False
        if self.detections is not None and query_id not in self.detections:
            return False
        return self.tags is None or bool(set(self.tags) & set(tags))


class Channel(Protocol):
    name: str
    only: ChannelFilter

    def send(self, message: Message) -> None:
        """Deliver or raise :class:`DeliveryError`."""


def _secret(config: dict[str, Any], key: str, required: bool = True) -> str | None:
    """``key`` from the config, or from the environment variable ``<key>_env`` names."""
    if config.get(key):
        return str(config[key])
    variable = config.get(f"{key}_env")
    if variable:
        value = os.environ.get(str(variable))
        if value is None and required:
            raise ChannelConfigError(f"channel setting {key}: environment variable {variable} is not set")
        return value
    if required:
        raise ChannelConfigError(f"channel setting {key} (or {key}_env) is missing")
    return None


def checked_url(name: str, url: str) -> str:
    """``url`` if a POST to it can work (http or https, a host, a valid port), else a
    configuration error naming the channel: found when the settings load, not at 3 a.m.

    >>> checked_url("chat", "https://hooks.slack.com/services/T/B/X")
    'https://hooks.slack.com/services/T/B/X'
    >>> checked_url("chat", "hooks.slack.com/services/T")
    Traceback (most recent call last):
    ...
    trailsql.alerts.channels.ChannelConfigError: channel chat: url must be http:// or https:// with a host (got 'hooks.slack.com/services/T')
    """
    try:
        parts = urllib.parse.urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        parts, port_ok = urllib.parse.urlsplit(""), False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise ChannelConfigError(f"channel {name}: url must be http:// or https:// with a host (got {url!r})")
    return url


def checked_timeout(name: str, config: dict[str, Any]) -> float:
    """The channel's ``timeout``: a positive, finite number of seconds."""
    value = config.get("timeout", TIMEOUT)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ChannelConfigError(f"channel {name}: timeout must be a positive number of seconds (got {value!r})")
    return float(value)


def _names(name: str, config: dict[str, Any], key: str) -> tuple[str, ...] | None:
    """The channel's ``key``: a non-empty list of non-empty strings, or absent (None)."""
    value = config.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ChannelConfigError(f"channel {name}: {key} must be a non-empty list of names (got {value!r})")
    return tuple(value)


def checked_filter(name: str, config: dict[str, Any]) -> ChannelFilter:
    """The channel's ``min_severity``, ``detections`` and ``tags``, refused when they cannot
    mean anything: a misspelt severity would otherwise route nothing, silently.

    >>> checked_filter("pager", {"min_severity": "urgent"})
    Traceback (most recent call last):
    ...
    trailsql.alerts.channels.ChannelConfigError: channel pager: min_severity must be one of info, low, medium, high, critical (got 'urgent')
    """
    severity = config.get("min_severity")
    if severity is not None and severity not in SEVERITIES:
        raise ChannelConfigError(
            f"channel {name}: min_severity must be one of {', '.join(SEVERITIES)} (got {severity!r})"
        )
    return ChannelFilter(severity, _names(name, config, "detections"), _names(name, config, "tags"))


def _cut(sock: socket.socket | None) -> None:
    """Unblock whatever reads or writes ``sock`` (it then raises OSError)."""
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def deadline(seconds: float, sock: Callable[[], socket.socket | None], what: str) -> Iterator[None]:
    """Run the block within ``seconds`` overall, any failure a DeliveryError: per-read
    timeouts restart on every byte a dripping peer sends, so a timer cuts the connection
    when the time is up; and whatever a peer's answer makes the client raise
    (BadStatusLine, IncompleteRead, a dropped connection, nonsense) fails this channel only."""
    fired = threading.Event()

    def cut() -> None:
        fired.set()
        _cut(sock())

    timer = threading.Timer(seconds, cut)
    timer.daemon = True
    timer.start()
    try:
        yield
        if fired.is_set():  # a cut connection can read as a complete answer: it is not one
            raise DeliveryError(f"{what}: no complete answer within {seconds:g} s")
    except Exception as error:
        if fired.is_set():
            raise DeliveryError(f"{what}: no complete answer within {seconds:g} s") from None
        if isinstance(error, DeliveryError):
            raise
        raise DeliveryError(f"{what}: {type(error).__name__}: {error}") from None
    finally:
        timer.cancel()


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float = TIMEOUT) -> None:
    """POST ``body``; any answer but a complete 2xx within ``timeout`` is a DeliveryError."""
    parts = urllib.parse.urlsplit(url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname or "", parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        with deadline(timeout, lambda: connection.sock, f"POST {url}"):
            connection.request("POST", path, body, {"Content-Type": "application/json", **headers})
            response = connection.getresponse()
            response.read()
            if not 200 <= response.status < 300:
                raise DeliveryError(f"POST {url}: HTTP {response.status} {response.reason}")
    finally:
        connection.close()


def slack_escape(text: str) -> str:
    """``text`` shown as written in Slack: ``&``, ``<`` and ``>`` escaped as Slack's docs ask,
    so a log field cannot ping ``<!channel>`` or plant a disguised link ``<http://evil|click>``.

    >>> slack_escape("<!channel> & <http://evil|click>")
    '&lt;!channel&gt; &amp; &lt;http://evil|click&gt;'
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text[:3000])}  # Slack refuses a longer section


def _code(text: str) -> str:
    """``text`` as a Slack code span, unless a backtick in it would end the span early."""
    return f"`{slack_escape(text)}`" if "`" not in text else slack_escape(text)


def slack_summary(message: Message) -> dict[str, Any]:
    """The run's first Slack message: the subject, counts by severity, the window, what is not shown."""
    window = message.window or {}
    counts = Counter(str(f.get("severity")) for f in message.findings)
    tally = ", ".join(f"{counts[s]} {s}" for s in reversed(SEVERITIES) if counts[s])
    blocks = [
        _section(f"*{slack_escape(message.subject)}*"),
        {"type": "context", "elements": [_mrkdwn(f"{tally} · {slack_escape(window.get('text', ''))}")]},
    ]
    hidden = len(message.findings) - SLACK_MAX_FINDINGS
    if hidden > 0:
        report = f"trailsql report --since {window.get('start')} --until {window.get('end')}"
        more = f"The worst {SLACK_MAX_FINDINGS} follow; and {hidden} more, all in {_code(report)}."
        blocks.append({"type": "context", "elements": [_mrkdwn(more)]})
    return {"text": slack_escape(message.subject), "blocks": blocks}


def slack_finding(finding: dict[str, Any]) -> dict[str, Any]:
    """One finding's Slack message: title and severity, why, when, who, and the command to see its rows."""
    title, severity = slack_escape(str(finding.get("title"))), slack_escape(str(finding.get("severity")))
    # A threshold finding's times are its window's (message_for): labelled so, not as events'.
    start, end = (
        ("Window start", "Window end") if finding.get("time_basis") == "window" else ("First seen", "Last seen")
    )
    facts = {
        start: finding.get("first_seen"),
        end: finding.get("last_seen"),
        "Actor": finding.get("actor"),
        "Events": finding.get("count"),
    }
    fields = [_mrkdwn(f"*{label}*\n{slack_escape(str(value or '-')[:1000])}") for label, value in facts.items()]
    blocks = [
        _section(f"*{title} · {severity}* ({_code(str(finding.get('query')))})"),
        _section(slack_escape(str(finding.get("summary") or "")[:1000])),
        {"type": "section", "fields": fields},
        {"type": "context", "elements": [_mrkdwn(f"Rows: {_code(str(finding.get('link') or ''))}"[:3000])]},
    ]
    return {"text": f"[{severity}] {title}", "blocks": blocks}


def slack_payloads(message: Message) -> list[dict[str, Any]]:
    """What Slack is sent for ``message``, in order. An alert run's findings as Block Kit; any
    other message as one mrkdwn text. Every log-derived string is escaped: nothing is markup."""
    if message.window is None or not message.findings:
        text = f"*{slack_escape(message.subject)}*\n{slack_escape(message.text)}"
        return [{"text": text[:39_000]}]
    shown = message.findings[:SLACK_MAX_FINDINGS]
    return [slack_summary(message)] + [slack_finding(f) for f in shown]


@dataclass
class SlackChannel:
    """A Slack incoming webhook. A failure part-way sends the whole message again from the spool:
    a few Slack messages may then arrive twice (delivery is at least once)."""

    name: str
    url: str
    timeout: float = TIMEOUT
    only: ChannelFilter = field(default_factory=ChannelFilter)

    def send(self, message: Message) -> None:
        payloads = slack_payloads(message)
        # ``timeout`` bounds the whole delivery, however many posts it takes.
        ends = time.monotonic() + self.timeout
        for number, payload in enumerate(payloads):
            try:
                _post(self.url, json.dumps(payload).encode(), {}, max(ends - time.monotonic(), 0.001))
            except DeliveryError as error:
                late = time.monotonic() >= ends
                why = f"POST {self.url}: no complete answer within {self.timeout:g} s" if late else str(error)
                raise DeliveryError(f"{why} (Slack message {number + 1} of {len(payloads)})") from None


@dataclass
class WebhookChannel:
    """A JSON POST of the message; signed with HMAC-SHA256 of ``<timestamp>.<body>`` when a secret is set."""

    name: str
    url: str
    secret: str | None = None
    timeout: float = TIMEOUT
    only: ChannelFilter = field(default_factory=ChannelFilter)

    def send(self, message: Message) -> None:
        body = json.dumps({"subject": message.subject, "text": message.text, "findings": message.findings}, default=str)
        headers = {}
        if self.secret:
            stamp = str(int(time.time()))
            digest = hmac.new(self.secret.encode(), f"{stamp}.{body}".encode(), hashlib.sha256).hexdigest()
            headers = {"X-Trailsql-Timestamp": stamp, "X-Trailsql-Signature": f"sha256={digest}"}
        _post(self.url, body.encode(), headers, self.timeout)


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver checks (constant-time): ``signature`` is ``sha256=<hex>`` of ``<timestamp>.<body>``."""
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"sha256={expected}", signature)


class _SMTP(smtplib.SMTP):
    """An SMTP client connected later, inside the deadline that can cut a dripping greeting
    (``SMTP(host)`` connects in its constructor), that still knows its host as STARTTLS's
    certificate check needs."""

    def __init__(self, host: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._host = host


@dataclass
class EmailChannel:
    """Email over SMTP, STARTTLS unless told otherwise, with login when a username is set."""

    name: str
    host: str
    sender: str
    to: list[str]
    port: int = 587
    starttls: bool = True
    username: str | None = None
    password: str | None = None
    cafile: str | None = None
    timeout: float = TIMEOUT
    only: ChannelFilter = field(default_factory=ChannelFilter)

    def send(self, message: Message) -> None:
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.to)
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        smtp = _SMTP(self.host, self.timeout)
        try:
            with deadline(self.timeout, lambda: getattr(smtp, "sock", None), f"SMTP {self.host}:{self.port}"):
                smtp.connect(self.host, self.port)
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context(cafile=self.cafile))
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(mail)
                smtp.quit()
        finally:
            smtp.close()


@dataclass
class SnsChannel:
    """An Amazon SNS topic (boto3, the standard credential chain)."""

    name: str
    topic_arn: str
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    only: ChannelFilter = field(default_factory=ChannelFilter)

    def send(self, message: Message) -> None:
        import boto3
        import botocore.exceptions

        try:
            session = boto3.Session(profile_name=self.profile, region_name=self.region)
            client = session.client("sns", endpoint_url=self.endpoint_url)
            client.publish(TopicArn=self.topic_arn, Subject=message.subject[:100], Message=message.text[:250_000])
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
            raise DeliveryError(f"SNS {self.topic_arn}: {error}") from None


def channel_from_config(name: str, config: dict[str, Any]) -> Channel:
    """The channel ``[channels.<name>]`` describes; settings that cannot work are refused here."""
    kind = config.get("type")
    timeout = checked_timeout(name, config)
    only = checked_filter(name, config)
    if kind == "slack":
        return SlackChannel(name, checked_url(name, _secret(config, "url") or ""), timeout, only)
    if kind == "webhook":
        url = checked_url(name, _secret(config, "url") or "")
        return WebhookChannel(name, url, _secret(config, "secret", required=False), timeout, only)
    if kind == "email":
        to = config.get("to") or []
        return EmailChannel(
            name,
            host=str(config.get("host") or "localhost"),
            sender=str(config.get("from") or "trailsql@localhost"),
            to=[to] if isinstance(to, str) else list(to),
            port=int(config.get("port", 587)),
            starttls=bool(config.get("starttls", True)),
            username=config.get("username"),
            password=_secret(config, "password", required=False),
            cafile=config.get("cafile"),
            timeout=timeout,
            only=only,
        )
    if kind == "sns":
        return SnsChannel(
            name,
            topic_arn=str(config.get("topic_arn") or ""),
            region=config.get("region"),
            profile=config.get("profile"),
            endpoint_url=config.get("endpoint_url"),
            only=only,
        )
    raise ChannelConfigError(f"channel {name}: type must be one of sns, slack, webhook, email (got {kind!r})")


def channels_from_config(config: dict[str, Any]) -> dict[str, Channel]:
    """The ``[channels.*]`` tables of a workspace's settings."""
    return {name: channel_from_config(name, dict(table)) for name, table in config.get("channels", {}).items()}
