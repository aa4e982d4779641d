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
threshold detection's rows carry its counts).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Protocol

from trailsql.errors import CatalogError

#: Seconds a channel waits for its peer before the delivery counts as failed (and is spooled).
TIMEOUT = 15


class DeliveryError(Exception):
    """A channel could not deliver: the message is spooled and sent again on the next run."""


@dataclass(frozen=True)
class Message:
    """What a run tells people: a subject, plain text (Markdown-ish), optional HTML, and the findings."""

    subject: str
    text: str
    findings: list[dict[str, Any]] = field(default_factory=list)
    html: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "text": self.text, "findings": self.findings, "html": self.html}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        return cls(data["subject"], data["text"], data.get("findings", []), data.get("html"))


class Channel(Protocol):
    name: str

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
            raise CatalogError(f"channel setting {key}: environment variable {variable} is not set")
        return value
    if required:
        raise CatalogError(f"channel setting {key} (or {key}_env) is missing")
    return None


def _post(url: str, body: bytes, headers: dict[str, str]) -> None:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            response.read()
    except (urllib.error.URLError, OSError) as error:
        raise DeliveryError(f"POST {url}: {error}") from None


@dataclass
class SlackChannel:
    """A Slack incoming webhook: the message as Slack mrkdwn text."""

    name: str
    url: str

    def send(self, message: Message) -> None:
        text = f"*{message.subject}*\n{message.text}"
        _post(self.url, json.dumps({"text": text[:39_000]}).encode(), {})


@dataclass
class WebhookChannel:
    """A JSON POST of the message; signed with HMAC-SHA256 of ``<timestamp>.<body>`` when a secret is set."""

    name: str
    url: str
    secret: str | None = None

    def send(self, message: Message) -> None:
        body = json.dumps({"subject": message.subject, "text": message.text, "findings": message.findings}, default=str)
        headers = {}
        if self.secret:
            stamp = str(int(time.time()))
            digest = hmac.new(self.secret.encode(), f"{stamp}.{body}".encode(), hashlib.sha256).hexdigest()
            headers = {"X-Trailsql-Timestamp": stamp, "X-Trailsql-Signature": f"sha256={digest}"}
        _post(self.url, body.encode(), headers)


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver checks (constant-time): ``signature`` is ``sha256=<hex>`` of ``<timestamp>.<body>``."""
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"sha256={expected}", signature)


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

    def send(self, message: Message) -> None:
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.to)
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=TIMEOUT) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context(cafile=self.cafile))
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(mail)
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"SMTP {self.host}:{self.port}: {error}") from None


@dataclass
class SnsChannel:
    """An Amazon SNS topic (boto3, the standard credential chain)."""

    name: str
    topic_arn: str
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None

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
    kind = config.get("type")
    if kind == "slack":
        return SlackChannel(name, _secret(config, "url") or "")
    if kind == "webhook":
        return WebhookChannel(name, _secret(config, "url") or "", _secret(config, "secret", required=False))
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
        )
    if kind == "sns":
        return SnsChannel(
            name,
            topic_arn=str(config.get("topic_arn") or ""),
            region=config.get("region"),
            profile=config.get("profile"),
            endpoint_url=config.get("endpoint_url"),
        )
    raise CatalogError(f"channel {name}: type must be one of sns, slack, webhook, email (got {kind!r})")


def channels_from_config(config: dict[str, Any]) -> dict[str, Channel]:
    """The ``[channels.*]`` tables of a workspace's settings."""
    return {name: channel_from_config(name, dict(table)) for name, table in config.get("channels", {}).items()}
