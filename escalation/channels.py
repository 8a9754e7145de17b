"""Notification channels, pluggable like Django's e-mail backends (QRQC_CHANNEL_BACKENDS).

Each backend's send() returns a Result: delivered, transient (retried with back-off) or
permanent (the next channel for that person takes over). Backends never raise for a failed
delivery; the provider's answer is kept in the ledger.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

from escalation.messages import Message

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from escalation.models import Notification

DELIVERED, TRANSIENT, PERMANENT = "delivered", "transient", "permanent"


@dataclass(frozen=True)
class Result:
    outcome: str
    response: str = ""
    destination: str = ""


class Backend(Protocol):
    """What QRQC_CHANNEL_BACKENDS names: sends one notification, never raises for a failed delivery."""

    def send(self, notification: Notification, message: Message) -> Result: ...


class InApp:
    """The notification row is the in-app message; the bell counts the unread ones."""

    def send(self, notification: Notification, message: Message) -> Result:
        return Result(DELIVERED, "stored in the notification centre", person(notification).get_username())


class Email:
    def send(self, notification: Notification, message: Message) -> Result:
        address = person(notification).email
        if not address:
            return Result(PERMANENT, "no e-mail address on the profile")
        try:
            send_mail(message.subject, message.text, None, [address])
        except (OSError, ConnectionError) as exc:
            return Result(TRANSIENT, f"{type(exc).__name__}: {exc}", address)
        return Result(DELIVERED, "accepted by the mail server", address)


def person(notification: Notification) -> User:
    """Who a person's channel tells: a notification is either a person's or a group chat's."""
    if notification.recipient is None:
        raise ValueError(f"notification {notification.pk} has no recipient")  # dispatch records the failed try
    return notification.recipient


def post_json(url: str, payload: dict, headers: dict | None = None) -> Result:
    """POST JSON; 2xx delivered, 429/5xx/timeouts transient, other 4xx permanent."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.QRQC_HTTP_TIMEOUT) as response:
            return Result(DELIVERED, f"{response.status} {response.read(2000).decode(errors='replace')}", url)
    except urllib.error.HTTPError as exc:
        text = f"{exc.code} {exc.read(2000).decode(errors='replace')}"
        return Result(TRANSIENT if exc.code == 429 or exc.code >= 500 else PERMANENT, text, url)
    except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
        return Result(TRANSIENT, f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}", url)


class Gateway:
    """An HTTP gateway to the plant's SMS carrier or PBX (QRQC_GATEWAY): POSTs
    {"to", "type", "text", "id"} (field names configurable) with a bearer token."""

    kind = "sms"

    def send(self, notification: Notification, message: Message) -> Result:
        config: dict[str, Any] = settings.QRQC_GATEWAY  # "FIELDS" too, where the gateway names them otherwise
        phone = getattr(getattr(notification.recipient, "profile", None), "phone", "")
        if not config.get("URL"):
            return Result(PERMANENT, "no phone/SMS gateway configured (QRQC_GATEWAY_URL)")
        if not phone:
            return Result(PERMANENT, "no phone number on the profile")
        fields = {"to": "to", "type": "type", "text": "text", "id": "id", **config.get("FIELDS", {})}
        payload = {
            fields["to"]: phone,
            fields["type"]: self.kind,
            fields["text"]: message.sms if self.kind == "sms" else message.text,
            fields["id"]: str(notification.uid),
        }
        headers = {"Authorization": f"Bearer {config['TOKEN']}"} if config.get("TOKEN") else {}
        result = post_json(config["URL"], payload, headers)
        return Result(result.outcome, result.response, phone)


class GatewaySMS(Gateway):
    kind = "sms"


class GatewayCall(Gateway):
    kind = "call"


class GroupWebhook:
    """WeCom and DingTalk group robots, or a generic JSON endpoint. Robots answer 200 with an
    errcode; anything but 0 is a failure (rate limits transient, the rest permanent)."""

    def send(self, notification: Notification, message: Message) -> Result:
        endpoint = notification.endpoint
        if endpoint is None:
            raise ValueError(f"notification {notification.pk} has no group chat")  # dispatch records the failed try
        if endpoint.kind == endpoint.Kind.GENERIC:
            return post_json(
                endpoint.url, generic_payload(notification, message), {"X-QRQC-Delivery": str(notification.uid)}
            )
        # Markdown of our own around the words; what people typed is escaped in them (markdown_text).
        subject, text = message.markdown_subject, message.markdown_text
        if endpoint.kind == endpoint.Kind.WECOM:
            payload = {"msgtype": "markdown", "markdown": {"content": f"**{subject}**\n{text}"}}
            url = endpoint.url
        else:
            payload = {
                "msgtype": "markdown",
                "markdown": {"title": message.subject, "text": f"#### {subject}\n{text}"},
            }
            url = dingtalk_signed_url(endpoint.url, endpoint.secret) if endpoint.secret else endpoint.url
        result = post_json(url, payload)
        if result.outcome != DELIVERED:
            return result
        return robot_answer(result)


def robot_answer(result: Result) -> Result:
    try:
        answer = json.loads(result.response.split(" ", 1)[1])
    except (IndexError, ValueError):
        return Result(PERMANENT, f"unreadable answer: {result.response}", result.destination)
    code = answer.get("errcode", 0)
    if code == 0:
        return result
    # 45009 (WeCom) and 130101 (DingTalk): sending too fast, try again later
    return Result(TRANSIENT if code in (45009, 130101) else PERMANENT, result.response, result.destination)


def dingtalk_signed_url(url: str, secret: str, now_ms: int | None = None) -> str:
    timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest).decode())
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}"


def generic_payload(notification: Notification, message: Message) -> dict:
    event, problem = notification.event, notification.event.problem
    return {
        "id": str(notification.uid),
        "kind": event.kind,
        "level": event.level,
        "problem": {
            "id": problem.pk,
            "number": problem.number,
            "grade": problem.grade,
            "category": problem.category,
            "line": str(problem.line),
            "title": problem.title,
            "occurred_at": problem.occurred_at.isoformat(),
        },
        "recipients": [person["username"] for person in event.recipients],
        "subject": message.subject,
        "text": message.text,
        "link": message.link,
        "fired_at": event.fired_at.isoformat(),
    }


def backend(channel: str) -> Backend:
    return import_string(settings.QRQC_CHANNEL_BACKENDS[channel])()
