"""Dispatch (escalation/dispatch.py): one notification per (event, recipient, channel) and per
group webhook in scope; retries with back-off; every try in the ledger; a channel that fails
for good hands over to the next one for that person; phone calls repeat until acknowledged;
a lease held by a dead worker is taken over only when it runs out. `now` is always passed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from escalation import dispatch
from escalation.channels import GatewaySMS
from escalation.dispatch import MAX_ATTEMPTS, acknowledge, backoff, deliver_due, expand_events
from escalation.models import Channel, DeliveryAttempt, EscalationEvent, Notification, WebhookEndpoint
from issues.models import Role
from issues.problems.lifecycle import cancel_as_duplicate, contain
from tests.escalation.http_receiver import Reply

SECONDS = dt.timedelta(seconds=1)
MINUTES = dt.timedelta(minutes=1)


@pytest.fixture
def t0(occurred):
    """When the tier fired: five minutes after the problem occurred."""
    return occurred + 5 * MINUTES


@pytest.fixture
def problem(log_problem, team_leader):
    return log_problem(team_leader, title="Burr on housing")


@pytest.fixture
def fire(problem, fire_event, t0):
    def run(people, channels, *, level: int = 4, now=None):
        event = fire_event(problem, people, channels, now=now or t0, level=level)
        expand_events(now or t0)
        return event

    return run


@pytest.fixture
def outbox(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    return mail.outbox


@pytest.fixture
def phone_repeats(settings):
    settings.QRQC_PHONE_REPEATS = 2
    settings.QRQC_PHONE_REPEAT_MINUTES = 5


def ledger(notification: Notification) -> list[tuple]:
    return list(
        DeliveryAttempt.objects.filter(notification=notification).values_list("at", "channel", "outcome", "destination")
    )


def calls_to(receiver, phone: str) -> int:
    return sum(1 for request in receiver.requests if request.json()["to"] == phone)


def webhook(world, name, *, workshop=None, active=True, plant=None):
    return WebhookEndpoint.objects.create(
        plant=plant or world.plant,
        workshop=workshop,
        name=name,
        kind="generic",
        url=f"http://127.0.0.1:9/{name}",
        active=active,
    )


# --- expansion -------------------------------------------------------------------------------------


def test_expansion_makes_one_notification_per_recipient_and_channel_and_per_webhook_in_scope(
    world, other_world, problem, fire_event, person, t0
):
    leader, engineer = person("li"), person("qe", Role.QUALITY_ENGINEER)
    plant_wide = webhook(world, "plant-wide")
    assembly = webhook(world, "assembly", workshop=world.assembly)
    webhook(world, "machining", workshop=world.machining)
    webhook(world, "switched-off", active=False)
    webhook(world, "other-plant", plant=other_world.plant)
    event = fire_event(problem, [leader, engineer], ["phone", "inapp", "webhook"], now=t0)

    assert expand_events(t0) == 6

    rows = Notification.objects.filter(event=event)
    people = sorted((row.recipient.username, row.channel) for row in rows if row.recipient_id)
    assert people == [("li", "inapp"), ("li", "phone"), ("qe", "inapp"), ("qe", "phone")]
    assert sorted(row.endpoint.name for row in rows if row.endpoint_id) == sorted([plant_wide.name, assembly.name])
    assert all(row.channel == Channel.WEBHOOK for row in rows if row.endpoint_id)
    assert {(row.status, row.next_attempt_at, row.attempts) for row in rows} == {("pending", t0, 0)}
    event.refresh_from_db()
    assert event.expanded_at == t0


def test_expanding_twice_adds_nothing(world, problem, fire_event, person, t0):
    webhook(world, "plant-wide")
    fire_event(problem, [person("li")], ["sms", "inapp", "webhook"], now=t0)

    assert expand_events(t0) == 3
    assert expand_events(t0 + SECONDS) == 0
    assert Notification.objects.count() == 3


def test_a_tier_without_the_webhook_channel_tells_no_group(world, problem, fire_event, person, t0):
    webhook(world, "plant-wide")
    fire_event(problem, [person("li")], ["inapp"], now=t0)

    expand_events(t0)
    assert list(Notification.objects.values_list("channel", flat=True)) == ["inapp"]


def test_each_event_is_expanded_on_its_own(problem, fire_event, person, t0):
    leader = person("li")
    fire_event(problem, [leader], ["inapp"], now=t0, level=4)
    fire_event(problem, [leader], ["inapp"], now=t0, level=3)

    assert expand_events(t0) == 2
    assert EscalationEvent.objects.undispatched().count() == 0


def test_dispatch_expands_and_delivers_in_one_call(problem, fire_event, person, t0):
    fire_event(problem, [person("li")], ["inapp"], now=t0)

    assert dispatch.dispatch(t0) == 1
    assert Notification.objects.get().status == "sent"


# --- retries and back-off ------------------------------------------------------------------------


def test_back_off_grows_threefold_from_five_seconds():
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4, 5)] == [5, 15, 45, 135, 405]


def test_a_gateway_answering_500_is_retried_after_back_off_and_delivered_once(fire, person, gateway, t0):
    gateway.script(Reply(500, "carrier busy"), Reply(500, "carrier busy"), Reply(200, {"ok": True}))
    fire([person("li", phone="13800000001")], ["sms"])

    assert deliver_due(t0) == 0
    notification = Notification.objects.get()
    assert (notification.status, notification.attempts, notification.next_attempt_at) == (
        "pending",
        1,
        t0 + 5 * SECONDS,
    )

    assert deliver_due(t0 + 4 * SECONDS) == 0  # not before its back-off
    assert len(gateway.requests) == 1
    assert deliver_due(t0 + 5 * SECONDS) == 0
    notification.refresh_from_db()
    assert notification.next_attempt_at == t0 + 20 * SECONDS  # 5 s, then 15 s

    assert deliver_due(t0 + 19 * SECONDS) == 0
    assert deliver_due(t0 + 20 * SECONDS) == 1
    assert deliver_due(t0 + 10 * MINUTES) == 0  # delivered once, never again

    requests = gateway.wait_for(3)
    assert len(requests) == 3
    assert len({request.json()["id"] for request in requests}) == 1  # the gateway can drop duplicates
    notification.refresh_from_db()
    assert (notification.status, notification.sent_at, notification.attempts) == ("sent", t0 + 20 * SECONDS, 3)
    assert ledger(notification) == [
        (t0, "sms", "transient", "13800000001"),
        (t0 + 5 * SECONDS, "sms", "transient", "13800000001"),
        (t0 + 20 * SECONDS, "sms", "delivered", "13800000001"),
    ]
    responses = list(notification.delivery_attempts.values_list("response", flat=True))
    assert responses[0] == "500 carrier busy"
    assert responses[2].startswith("200 ")


def test_after_max_attempts_of_transient_failures_the_channel_fails_and_falls_back(fire, person, gateway, outbox, t0):
    gateway.default = Reply(503, "down")
    fire([person("li", phone="13800000001", email="li@example.com")], ["sms"])

    now = t0
    delivered = [deliver_due(now + hours * dt.timedelta(hours=1)) for hours in range(MAX_ATTEMPTS)]

    sms = Notification.objects.get(channel="sms")
    assert (sms.status, sms.attempts) == ("failed", MAX_ATTEMPTS)
    assert len(gateway.requests) == MAX_ATTEMPTS
    assert [attempt.outcome for attempt in sms.delivery_attempts.all()] == ["transient"] * MAX_ATTEMPTS
    assert delivered == [0] * (MAX_ATTEMPTS - 1) + [1]  # the last call hands over to e-mail at once
    email = Notification.objects.get(channel="email")
    assert (email.fallback_from, email.status) == ("sms", "sent")
    assert [message.to for message in outbox] == [["li@example.com"]]
    assert len(gateway.requests) == MAX_ATTEMPTS


def test_a_backend_that_raises_is_a_recorded_transient_failure(fire, person, settings, t0):
    settings.QRQC_CHANNEL_BACKENDS = {**settings.QRQC_CHANNEL_BACKENDS, "inapp": f"{__name__}.BrokenBackend"}
    fire([person("li")], ["inapp"])

    assert deliver_due(t0) == 0
    notification = Notification.objects.get()
    assert (notification.status, notification.next_attempt_at) == ("pending", t0 + 5 * SECONDS)
    (attempt,) = notification.delivery_attempts.all()
    assert (attempt.outcome, attempt.response) == ("transient", "RuntimeError: provider SDK exploded")


class BrokenBackend:
    def send(self, notification, message):
        raise RuntimeError("provider SDK exploded")


# --- fallback ---------------------------------------------------------------------------------------


def test_a_permanent_failure_walks_the_chain_phone_sms_email_in_app(fire, person, gateway, t0):
    gateway.default = Reply(400, {"error": "number not in service"})
    reader = person("li", phone="13800000001")  # no e-mail address
    fire([reader], ["phone"])

    for _ in range(4):
        deliver_due(t0)

    chain = list(Notification.objects.order_by("id").values_list("channel", "fallback_from", "status"))
    assert chain == [
        ("phone", "", "failed"),
        ("sms", "phone", "failed"),
        ("email", "sms", "failed"),
        ("inapp", "email", "sent"),
    ]
    assert [request.json()["type"] for request in gateway.requests] == ["call", "sms"]
    outcomes = list(DeliveryAttempt.objects.order_by("id").values_list("channel", "outcome"))
    assert outcomes == [("phone", "permanent"), ("sms", "permanent"), ("email", "permanent"), ("inapp", "delivered")]
    assert set(Notification.objects.values_list("recipient", flat=True)) == {reader.pk}


def test_the_chain_stops_at_the_first_channel_that_delivers(fire, person, gateway, outbox, t0):
    gateway.default = Reply(400, "bad number")
    fire([person("li", phone="13800000001", email="li@example.com")], ["phone"])

    for _ in range(4):
        deliver_due(t0)

    assert list(Notification.objects.order_by("id").values_list("channel", "status")) == [
        ("phone", "failed"),
        ("sms", "failed"),
        ("email", "sent"),
    ]
    assert len(outbox) == 1


def test_a_fallback_to_a_channel_the_tier_already_uses_adds_no_second_notification(fire, person, settings, t0):
    settings.QRQC_GATEWAY = {"URL": "", "TOKEN": ""}
    reader = person("li", phone="13800000001")
    fire([reader], ["phone", "sms", "inapp"])

    for _ in range(4):
        deliver_due(t0)

    assert sorted(Notification.objects.values_list("channel", "status")) == [
        ("email", "failed"),
        ("inapp", "sent"),
        ("phone", "failed"),
        ("sms", "failed"),
    ]
    assert Notification.objects.get(channel="email").fallback_from == "sms"


def test_a_group_webhook_that_fails_for_good_has_no_fallback(world, fire, http_receiver, t0):
    WebhookEndpoint.objects.create(plant=world.plant, name="chat", kind="generic", url=http_receiver.url("/x"))
    http_receiver.script(Reply(404, "gone"))
    fire([], ["webhook"])

    deliver_due(t0)
    deliver_due(t0)

    assert list(Notification.objects.values_list("channel", "status")) == [("webhook", "failed")]


# --- phone repeats and acknowledgement ----------------------------------------------------------


def test_a_phone_call_repeats_until_the_person_acknowledges_and_only_for_them(
    fire, person, gateway, phone_repeats, problem, t0
):
    leader = person("li", phone="13800000001")
    engineer = person("qe", Role.QUALITY_ENGINEER, phone="13800000002")
    event = fire([leader, engineer], ["phone"])
    escalate_at, level = problem.escalate_at, problem.escalation_level

    assert deliver_due(t0) == 2
    assert deliver_due(t0 + 5 * MINUTES - SECONDS) == 0  # not before the repeat is due
    assert deliver_due(t0 + 5 * MINUTES) == 2  # first repeat, both
    assert acknowledge(leader, event, t0 + 6 * MINUTES) == 1
    deliver_due(t0 + 10 * MINUTES)  # second repeat: only the one who did not acknowledge
    deliver_due(t0 + 15 * MINUTES)  # QRQC_PHONE_REPEATS reached: no more
    deliver_due(t0 + 60 * MINUTES)

    gateway.wait_for(5)
    assert calls_to(gateway, "13800000001") == 2
    assert calls_to(gateway, "13800000002") == 3
    assert all(request.json()["type"] == "call" for request in gateway.requests)
    acknowledged = Notification.objects.get(recipient=leader)
    assert (acknowledged.acknowledged_at, acknowledged.repeat_at) == (t0 + 6 * MINUTES, None)
    other = Notification.objects.get(recipient=engineer)
    assert (other.repeats_done, other.repeat_at, other.acknowledged_at) == (2, None, None)
    problem.refresh_from_db()  # acknowledging stops the calls, not the clock
    assert (problem.escalate_at, problem.escalation_level) == (escalate_at, level)


@pytest.mark.parametrize("stop", ["contain", "cancel"])
def test_calls_stop_repeating_once_the_problem_is_contained_or_cancelled(
    fire, person, gateway, phone_repeats, problem, log_problem, team_leader, t0, stop
):
    leader = person("li", phone="13800000001")
    fire([leader], ["phone"])
    assert deliver_due(t0) == 1

    if stop == "contain":
        contain(problem, action="quarantined", done_by="Li", quantity_secured=5, user=team_leader, now=t0 + MINUTES)
    else:
        kept = log_problem(team_leader, title="the same burr, logged first")
        cancel_as_duplicate(problem, user=team_leader, duplicate_of=kept)

    assert deliver_due(t0 + 5 * MINUTES) == 0
    gateway.wait_for(1)
    assert calls_to(gateway, "13800000001") == 1
    assert Notification.objects.get(recipient=leader).repeat_at is None


def test_acknowledging_one_tier_does_not_silence_the_next(fire, person, gateway, phone_repeats, t0):
    leader = person("li", phone="13800000001")
    line_tier = fire([leader], ["phone"], level=4)
    workshop_tier = fire([leader], ["phone"], level=3)

    deliver_due(t0)
    acknowledge(leader, line_tier, t0 + MINUTES)
    deliver_due(t0 + 5 * MINUTES)

    gateway.wait_for(3)
    assert len(gateway.requests) == 3
    assert Notification.objects.get(event=line_tier).repeats_done == 0
    assert Notification.objects.get(event=workshop_tier).repeats_done == 1


def test_only_phone_calls_repeat(fire, person, gateway, phone_repeats, t0):
    fire([person("li", phone="13800000001")], ["sms", "inapp"])

    assert deliver_due(t0) == 2
    assert deliver_due(t0 + 5 * MINUTES) == 0
    assert Notification.objects.filter(repeat_at__isnull=False).count() == 0


def test_no_repeats_when_none_are_configured(fire, person, gateway, settings, t0):
    settings.QRQC_PHONE_REPEATS = 0
    fire([person("li", phone="13800000001")], ["phone"])

    deliver_due(t0)
    deliver_due(t0 + 5 * MINUTES)

    assert len(gateway.requests) == 1


def test_acknowledging_before_the_call_goes_out_means_no_repeat(fire, person, gateway, phone_repeats, t0):
    leader = person("li", phone="13800000001")
    event = fire([leader], ["phone", "inapp"])

    acknowledge(leader, event, t0)  # seen in the app already
    deliver_due(t0)
    deliver_due(t0 + 5 * MINUTES)
    deliver_due(t0 + 10 * MINUTES)

    assert len(gateway.requests) == 1


# --- leases: several dispatchers, and a worker that died -----------------------------------------


class WorkerKilled(BaseException):
    """What SIGKILL looks like from inside: nothing after this line runs."""


class DyingGatewaySMS(GatewaySMS):
    """Sends, then dies before the answer is recorded."""

    def send(self, notification, message):
        super().send(notification, message)
        raise WorkerKilled


def test_a_lease_held_by_a_dead_worker_is_not_taken_until_it_expires(fire, person, gateway, settings, t0):
    backends = dict(settings.QRQC_CHANNEL_BACKENDS)
    settings.QRQC_CHANNEL_BACKENDS = {**backends, "sms": f"{__name__}.DyingGatewaySMS"}
    fire([person("li", phone="13800000001")], ["sms"])
    notification = Notification.objects.get()

    with pytest.raises(WorkerKilled):
        deliver_due(t0)
    settings.QRQC_CHANNEL_BACKENDS = backends  # the restarted worker is healthy

    notification.refresh_from_db()
    lease_until = notification.lease_until
    assert lease_until > t0
    assert (notification.status, notification.attempts) == ("pending", 1)
    (crashed,) = notification.delivery_attempts.all()
    assert (crashed.at, crashed.outcome, crashed.response) == (t0, "started", "")

    assert deliver_due(t0 + SECONDS) == 0
    assert deliver_due(lease_until - SECONDS) == 0  # still held a second before it ends
    assert len(gateway.requests) == 1
    assert notification.delivery_attempts.count() == 1

    assert deliver_due(lease_until + SECONDS) == 1

    first, second = gateway.wait_for(2)
    assert first.json()["id"] == second.json()["id"] == str(notification.uid)
    notification.refresh_from_db()
    assert (notification.status, notification.attempts, notification.lease_until) == ("sent", 2, None)
    assert ledger(notification) == [
        (t0, "sms", "started", ""),
        (lease_until + SECONDS, "sms", "delivered", "13800000001"),
    ]


def test_a_notification_another_dispatcher_is_sending_is_left_alone(fire, person, t0):
    fire([person("li")], ["inapp"])
    notification = Notification.objects.get()
    Notification.objects.filter(pk=notification.pk).update(lease_until=t0 + 30 * SECONDS)

    assert deliver_due(t0) == 0
    assert DeliveryAttempt.objects.count() == 0
    assert deliver_due(t0 + 31 * SECONDS) == 1


def test_a_delivered_notification_is_not_claimed_again(fire, person, t0):
    fire([person("li")], ["inapp"])
    notification = Notification.objects.get()

    assert deliver_due(t0) == 1
    assert deliver_due(t0 + SECONDS) == 0
    assert notification.delivery_attempts.count() == DeliveryAttempt.objects.count() == 1


# --- two dispatchers at once: one lists, the other sends first ------------------------------------


def test_a_dispatcher_with_a_stale_list_does_not_retry_before_the_back_off(fire, person, gateway, t0):
    """A sends, fails and schedules a retry in 5 s; B, which saw the notification due before A
    sent, claims a second later: the claim asks again whether it is due, so B sends nothing."""
    gateway.script(Reply(500, "busy"))
    fire([person("li", phone="13800000001")], ["sms"])
    assert Notification.objects.filter(next_attempt_at__lte=t0 + SECONDS).count() == 1  # what B saw

    deliver_due(t0)  # A
    assert deliver_due(t0 + SECONDS) == 0  # B
    assert len(gateway.requests) == 1
    assert Notification.objects.get().attempts == 1


def test_a_dispatcher_with_a_stale_list_does_not_repeat_a_call_just_repeated(fire, person, gateway, phone_repeats, t0):
    fire([person("li", phone="13800000001")], ["phone"])
    deliver_due(t0)
    repeat_due = t0 + 5 * MINUTES
    assert Notification.objects.filter(repeat_at__lte=repeat_due).exists()  # what B saw

    deliver_due(repeat_due)  # A repeats the call
    assert deliver_due(repeat_due) == 0  # B
    assert len(gateway.requests) == 2
    assert Notification.objects.get().repeats_done == 1


def test_a_call_acknowledged_after_the_dispatcher_listed_it_is_not_repeated(fire, person, gateway, phone_repeats, t0):
    leader = person("li", phone="13800000001")
    event = fire([leader], ["phone"])
    deliver_due(t0)
    repeat_due = t0 + 5 * MINUTES
    assert Notification.objects.filter(repeat_at__lte=repeat_due).exists()  # what the dispatcher saw

    acknowledge(leader, event, repeat_due)  # "I'm on it" just before the dispatcher claims
    assert deliver_due(repeat_due) == 0
    assert len(gateway.requests) == 1
