"""The channels (escalation/channels.py) against a real HTTP server on 127.0.0.1: what each one
sends, and how each answer is read (delivered, transient, permanent). Mail goes through
Django's locmem backend. Every try is driven by dispatch, so the ledger is checked too."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import time
import urllib.parse

import pytest
from django.core import mail

from escalation.channels import dingtalk_signed_url
from escalation.dispatch import deliver_due, expand_events
from escalation.messages import compose
from escalation.models import Channel, DeliveryAttempt, Notification, WebhookEndpoint
from tests.escalation.http_receiver import Reply, refused_url

PHONE = "13800000001"


@pytest.fixture
def fired_at(occurred):
    return occurred + dt.timedelta(minutes=5)


@pytest.fixture
def problem(log_problem, team_leader):
    return log_problem(team_leader, title="Burr on housing")


@pytest.fixture
def outbox(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    return mail.outbox


@pytest.fixture
def send(problem, fire_event, fired_at):
    """send(people, channels): fire a tier to them and run one dispatch at its time."""

    def run(people, channels, *, now=None):
        event = fire_event(problem, people, channels, now=fired_at)
        expand_events(now or fired_at)
        deliver_due(now or fired_at)
        return event

    return run


def only_attempt(channel: str) -> DeliveryAttempt:
    (attempt,) = DeliveryAttempt.objects.filter(channel=channel)
    return attempt


def robot(world, receiver, kind: str, *, path: str, secret: str = "", language: str = "en", **fields):
    return WebhookEndpoint.objects.create(
        plant=world.plant,
        name=f"{kind} robot",
        kind=kind,
        url=receiver.url(path),
        secret=secret,
        language=language,
        **fields,
    )


# --- in-app and e-mail ---------------------------------------------------------------------------


def test_an_in_app_notification_is_delivered_at_once(person, send, fired_at):
    reader = person("li", language="en")
    event = send([reader], ["inapp"])

    notification = Notification.objects.get(event=event, recipient=reader)
    assert (notification.status, notification.sent_at, notification.attempts) == ("sent", fired_at, 1)
    assert notification.subject.startswith("[QRQC] A ")
    attempt = only_attempt("inapp")
    assert (attempt.outcome, attempt.destination, attempt.at) == ("delivered", "li", fired_at)


def test_an_e_mail_goes_through_the_django_mail_backend_in_the_readers_language(
    person, send, outbox, problem, fired_at, settings
):
    english = person("smith", language="en", email="smith@example.com")
    chinese = person("zhang", language="zh-hans", email="zhang@example.com")
    event = send([english, chinese], ["email"])

    by_address = {message.to[0]: message for message in outbox}
    assert sorted(by_address) == ["smith@example.com", "zhang@example.com"]
    to_smith = by_address["smith@example.com"]
    assert to_smith.subject == f"[QRQC] A {problem.number} escalated to level 4 (line)"
    assert "Assembly 1: Burr on housing" in to_smith.body
    assert f"/p/{problem.pk}/" in to_smith.body
    assert to_smith.from_email == settings.DEFAULT_FROM_EMAIL
    to_zhang = by_address["zhang@example.com"]
    in_chinese = compose(event, "zh-hans", fired_at)
    assert (to_zhang.subject, to_zhang.body) == (in_chinese.subject, in_chinese.text)
    assert "总装一线" in to_zhang.body
    assert set(DeliveryAttempt.objects.values_list("outcome", "destination")) == {
        ("delivered", "smith@example.com"),
        ("delivered", "zhang@example.com"),
    }


def test_no_e_mail_address_fails_for_good_and_falls_back_to_in_app(person, send, outbox, fired_at):
    nameless = person("wu", language="en")
    send([nameless], ["email"])

    email = Notification.objects.get(channel=Channel.EMAIL)
    assert email.status == "failed"
    attempt = only_attempt("email")
    assert (attempt.outcome, attempt.response) == ("permanent", "no e-mail address on the profile")
    assert outbox == []

    deliver_due(fired_at)
    inapp = Notification.objects.get(channel=Channel.INAPP)
    assert (inapp.recipient, inapp.fallback_from, inapp.status) == (nameless, "email", "sent")


# --- the phone/SMS gateway -------------------------------------------------------------------------


def test_an_sms_is_posted_to_the_gateway_as_json_with_the_bearer_token(person, send, gateway, fired_at):
    reader = person("li", language="en", phone=PHONE)
    event = send([reader], ["sms"])

    (request,) = gateway.wait_for(1)
    notification = Notification.objects.get(event=event)
    assert (request.method, request.path) == ("POST", "/gateway/send")
    assert request.header("Authorization") == "Bearer gw-secret-token"
    assert request.header("Content-Type").startswith("application/json")
    assert request.json() == {
        "to": PHONE,
        "type": "sms",
        "text": compose(event, "en", fired_at).sms,
        "id": str(notification.uid),
    }
    assert len(request.json()["text"]) <= 70
    attempt = only_attempt("sms")
    assert (attempt.outcome, attempt.destination) == ("delivered", PHONE)
    assert attempt.response.startswith("200 ")
    assert notification.status == "sent"


def test_a_phone_call_sends_the_full_text_with_type_call(person, send, gateway, fired_at):
    reader = person("li", language="en", phone=PHONE)
    event = send([reader], ["phone"])

    (request,) = gateway.wait_for(1)
    assert request.json()["type"] == "call"
    assert request.json()["text"] == compose(event, "en", fired_at).text


def test_the_gateways_field_names_are_configurable(person, send, gateway, settings):
    settings.QRQC_GATEWAY = {
        **settings.QRQC_GATEWAY,
        "FIELDS": {"to": "mobile", "type": "msg_type", "text": "content", "id": "request_id"},
    }
    send([person("li", phone=PHONE)], ["sms"])

    (request,) = gateway.wait_for(1)
    assert sorted(request.json()) == ["content", "mobile", "msg_type", "request_id"]
    assert (request.json()["mobile"], request.json()["msg_type"]) == (PHONE, "sms")


def test_a_gateway_without_a_token_gets_no_authorization_header(person, send, gateway, settings):
    settings.QRQC_GATEWAY = {"URL": gateway.url("/gateway/send"), "TOKEN": ""}
    send([person("li", phone=PHONE)], ["sms"])

    (request,) = gateway.wait_for(1)
    assert request.header("Authorization") is None


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        *[(status, "transient") for status in (500, 502, 503, 429)],
        *[(status, "permanent") for status in (400, 401, 403, 404)],
    ],
)
def test_the_gateways_http_status_decides_whether_to_retry(person, send, gateway, status, outcome):
    gateway.script(Reply(status, {"error": f"status {status}"}))
    send([person("li", phone=PHONE)], ["sms"])

    attempt = only_attempt("sms")
    assert attempt.outcome == outcome
    assert attempt.response.startswith(f"{status} ")
    assert f"status {status}" in attempt.response
    expected = "pending" if outcome == "transient" else "failed"
    assert Notification.objects.get(channel="sms").status == expected


def test_no_gateway_url_fails_for_good_with_a_clear_reason(person, send, settings, http_receiver):
    settings.QRQC_GATEWAY = {"URL": "", "TOKEN": "gw-secret-token"}
    send([person("li", phone=PHONE)], ["sms"])

    attempt = only_attempt("sms")
    assert attempt.outcome == "permanent"
    assert attempt.response == "no phone/SMS gateway configured (QRQC_GATEWAY_URL)"
    assert http_receiver.requests == []


def test_no_phone_number_on_the_profile_fails_for_good(person, send, gateway):
    send([person("li")], ["phone"])

    attempt = only_attempt("phone")
    assert (attempt.outcome, attempt.response) == ("permanent", "no phone number on the profile")
    assert gateway.requests == []


def test_a_refused_connection_is_transient(person, send, settings):
    settings.QRQC_GATEWAY = {"URL": refused_url("/gateway/send"), "TOKEN": "t"}
    send([person("li", phone=PHONE)], ["sms"])

    attempt = only_attempt("sms")
    assert attempt.outcome == "transient"
    assert "refused" in attempt.response.lower()


def test_a_gateway_that_does_not_answer_in_time_is_transient(person, send, gateway, settings):
    settings.QRQC_HTTP_TIMEOUT = 0.3
    gateway.script(Reply(200, {"ok": True}, delay=5))
    started = time.monotonic()
    send([person("li", phone=PHONE)], ["sms"])

    assert time.monotonic() - started < 3
    attempt = only_attempt("sms")
    assert attempt.outcome == "transient"
    assert "timed out" in attempt.response.lower()


# --- group robots and the generic webhook ------------------------------------------------------------


def test_a_wecom_robot_gets_a_markdown_message(world, problem, send, http_receiver, fired_at):
    robot(world, http_receiver, "wecom", path="/cgi-bin/webhook/send?key=wecom-key")
    event = send([], ["webhook"])

    (request,) = http_receiver.wait_for(1)
    assert request.path == "/cgi-bin/webhook/send"
    assert request.query == {"key": ["wecom-key"]}
    message = compose(event, "en", fired_at)
    content = f"**{message.markdown_subject}**\n{message.markdown_text}"
    assert request.json() == {"msgtype": "markdown", "markdown": {"content": content}}
    assert problem.number in request.json()["markdown"]["content"]
    assert only_attempt("webhook").outcome == "delivered"


@pytest.mark.parametrize(
    ("errcode", "outcome"),
    [(0, "delivered"), (45009, "transient"), (93000, "permanent"), (40008, "permanent")],
)
def test_a_wecom_errcode_other_than_0_is_a_failure_and_45009_is_retried(world, send, http_receiver, errcode, outcome):
    robot(world, http_receiver, "wecom", path="/cgi-bin/webhook/send?key=k")
    http_receiver.script(Reply(200, {"errcode": errcode, "errmsg": f"reason {errcode}"}))
    send([], ["webhook"])

    attempt = only_attempt("webhook")
    assert attempt.outcome == outcome
    assert f"reason {errcode}" in attempt.response
    expected = {"delivered": "sent", "transient": "pending", "permanent": "failed"}[outcome]
    assert Notification.objects.get().status == expected


def test_a_robot_that_answers_something_unreadable_has_failed(world, send, http_receiver):
    robot(world, http_receiver, "wecom", path="/send?key=k")
    http_receiver.script(Reply(200, "<html>gateway portal</html>"))
    send([], ["webhook"])

    attempt = only_attempt("webhook")
    assert attempt.outcome == "permanent"
    assert attempt.response.startswith("unreadable answer")


HOSTILE_TITLE = "[Acknowledge here](http://evil.example) @all\n# Urgent <@everyone> **now**"


@pytest.mark.parametrize(
    ("kind", "path", "body"),
    [
        ("wecom", "/cgi-bin/webhook/send?key=k", lambda payload: payload["markdown"]["content"]),
        ("dingtalk", "/robot/send?access_token=t", lambda payload: payload["markdown"]["text"]),
    ],
)
def test_a_robot_message_carries_no_link_or_mention_typed_into_the_title(
    world, log_problem, team_leader, fire_event, fired_at, http_receiver, kind, path, body
):
    problem = log_problem(team_leader, title=HOSTILE_TITLE)
    robot(world, http_receiver, kind, path=path)
    fire_event(problem, [], ["webhook"], now=fired_at)
    expand_events(fired_at)
    deliver_due(fired_at)

    (request,) = http_receiver.wait_for(1)
    text = body(request.json())
    ours = f"[http://127.0.0.1:8000/p/{problem.pk}/](http://127.0.0.1:8000/p/{problem.pk}/)"
    assert text.count("](") == 1 and text.endswith(" " + ours)  # the one link is ours, and it is live
    for mention in ("@all", "@everyone", "<@"):
        assert mention not in text, mention
    assert "**now" not in text
    assert text.count("\n") == 1  # our heading, then the words: the title starts no line of its own
    assert "［Acknowledge here］（http：//evil.example） ＠all ＃ Urgent ＜＠everyone＞ ＊＊now＊＊" in text
    assert Notification.objects.get().body.startswith("A problem")  # the notification centre keeps the words as typed
    assert HOSTILE_TITLE in Notification.objects.get().body


def test_a_dingtalk_robot_gets_markdown_on_a_signed_url(world, send, http_receiver, fired_at):
    secret = "SEC0123456789abcdef"
    robot(world, http_receiver, "dingtalk", path="/robot/send?access_token=ding-token", secret=secret)
    before_ms = int(time.time() * 1000)
    event = send([], ["webhook"])
    after_ms = int(time.time() * 1000)

    (request,) = http_receiver.wait_for(1)
    message = compose(event, "en", fired_at)
    assert request.json() == {
        "msgtype": "markdown",
        "markdown": {"title": message.subject, "text": f"#### {message.markdown_subject}\n{message.markdown_text}"},
    }
    assert request.path == "/robot/send"
    assert sorted(request.query) == ["access_token", "sign", "timestamp"]
    assert request.query["access_token"] == ["ding-token"]
    (timestamp,) = request.query["timestamp"]
    assert before_ms <= int(timestamp) <= after_ms
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    assert request.query["sign"] == [base64.b64encode(digest).decode()]
    assert only_attempt("webhook").outcome == "delivered"


def test_a_dingtalk_robot_without_a_secret_gets_the_url_as_it_is(world, send, http_receiver):
    robot(world, http_receiver, "dingtalk", path="/robot/send?access_token=ding-token")
    send([], ["webhook"])

    (request,) = http_receiver.wait_for(1)
    assert request.query == {"access_token": ["ding-token"]}


def test_the_dingtalk_signature_is_the_documented_hmac_sha256():
    secret = "SECabc+/="
    signed = dingtalk_signed_url("https://oapi.dingtalk.com/robot/send?access_token=x", secret, now_ms=1700000000000)
    digest = hmac.new(secret.encode(), b"1700000000000\n" + secret.encode(), hashlib.sha256).digest()

    sign = base64.b64encode(digest).decode()
    url, query = signed.split("?")
    assert url == "https://oapi.dingtalk.com/robot/send"
    assert urllib.parse.parse_qs(query) == {"access_token": ["x"], "timestamp": ["1700000000000"], "sign": [sign]}
    assert query.endswith(f"&sign={urllib.parse.quote_plus(sign)}")  # url-encoded: base64 has + / =
    assert dingtalk_signed_url("https://h/robot/send", secret, now_ms=1).startswith("https://h/robot/send?timestamp=1&")


@pytest.mark.parametrize(("errcode", "outcome"), [(130101, "transient"), (310000, "permanent")])
def test_a_dingtalk_errcode_other_than_0_is_a_failure_and_130101_is_retried(
    world, send, http_receiver, errcode, outcome
):
    robot(world, http_receiver, "dingtalk", path="/robot/send?access_token=t")
    http_receiver.script(Reply(200, {"errcode": errcode, "errmsg": "no"}))
    send([], ["webhook"])

    assert only_attempt("webhook").outcome == outcome


def test_a_generic_webhook_gets_the_whole_story_as_json(world, problem, person, send, http_receiver, fired_at):
    robot(world, http_receiver, "generic", path="/hooks/qrqc", language="en")
    leader = person("li")
    event = send([leader], ["inapp", "webhook"])

    (request,) = http_receiver.wait_for(1)
    notification = Notification.objects.get(channel=Channel.WEBHOOK)
    body = request.json()
    assert body["id"] == str(notification.uid)
    assert request.header("X-QRQC-Delivery") == str(notification.uid)
    assert (body["kind"], body["level"], body["recipients"]) == ("tier", 4, ["li"])
    assert body["problem"] == {
        "id": problem.pk,
        "number": problem.number,
        "grade": "A",
        "category": "quality",
        "line": "Assembly 1",
        "title": "Burr on housing",
        "occurred_at": problem.occurred_at.isoformat(),
    }
    message = compose(event, "en", fired_at)
    assert (body["subject"], body["text"], body["link"]) == (message.subject, message.text, message.link)
    assert body["fired_at"] == fired_at.isoformat()


def test_a_generic_webhook_keeps_its_delivery_id_across_retries(world, send, http_receiver, fired_at):
    robot(world, http_receiver, "generic", path="/hooks/qrqc")
    http_receiver.script(Reply(500, "busy"))
    send([], ["webhook"])
    deliver_due(fired_at + dt.timedelta(seconds=5))

    first, second = http_receiver.wait_for(2)
    assert first.header("X-QRQC-Delivery") == second.header("X-QRQC-Delivery")
    assert first.json()["id"] == second.json()["id"] == first.header("X-QRQC-Delivery")
    assert list(DeliveryAttempt.objects.values_list("outcome", flat=True)) == ["transient", "delivered"]


def test_a_generic_webhook_needs_no_errcode_in_its_answer(world, send, http_receiver):
    robot(world, http_receiver, "generic", path="/hooks/qrqc")
    http_receiver.script(Reply(204))
    send([], ["webhook"])

    assert only_attempt("webhook").outcome == "delivered"
