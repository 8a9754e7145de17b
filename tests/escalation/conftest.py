"""Fixtures for escalation tests: a local HTTP server for the channels, a problem logged at a
known time, and events written as the sweep writes them."""

from __future__ import annotations

import datetime as dt

import pytest

from escalation.models import EscalationEvent
from issues.models import Role
from issues.problems.intake import Report, report_problem
from tests.conftest import make_person
from tests.escalation.http_receiver import HttpReceiver

OCCURRED = dt.datetime(2025, 3, 4, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai, the day shift


@pytest.fixture
def http_receiver():
    """A real HTTP server on 127.0.0.1 (free port, own thread) that answers from a script and
    records every request; see tests/escalation/http_receiver.py."""
    receiver = HttpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def gateway(settings, http_receiver):
    """The phone/SMS gateway (QRQC_GATEWAY) pointed at the local receiver, with a bearer token."""
    settings.QRQC_GATEWAY = {"URL": http_receiver.url("/gateway/send"), "TOKEN": "gw-secret-token"}
    return http_receiver


@pytest.fixture
def person(world):
    """person(username, role=..., language=..., phone=..., email=...): someone of the test plant,
    reachable the way their profile says."""

    def make(username, role=Role.TEAM_LEADER, *, language="", phone="", email="", line=None):
        user = make_person(username, role, plant=world.plant, line=line or world.line_a1, language=language)
        if email:
            user.email = email
            user.save(update_fields=["email"])
        if phone:
            user.profile.phone = phone
            user.profile.save(update_fields=["phone"])
        return user

    return make


@pytest.fixture
def occurred() -> dt.datetime:
    """When the problems of these tests occurred; tests pass `now` relative to it."""
    return OCCURRED


@pytest.fixture
def log_problem(world, occurred):
    """log_problem(reporter, title=..., line=...): an A problem stored the way intake stores it."""

    def log(reporter, *, title: str = "Burr on housing", line=None, category: str = "quality", when=None):
        report = Report(
            line=line or world.line_a1,
            category=category,
            title=title,
            occurred_at=when or occurred,
            facts={"defect_class": "A", "defect_count": 25},
        )
        return report_problem(report, reporter=reporter)[0]

    return log


@pytest.fixture
def fire_event():
    """fire_event(problem, people, channels, now=..., level=4): the EscalationEvent the sweep would
    write for that tier, with these people as its recipients."""

    def fire(problem, people, channels, *, now, level: int = 4, kind: str = EscalationEvent.TIER):
        return EscalationEvent.objects.create(
            problem=problem,
            kind=kind,
            level=level,
            due_at=now,
            fired_at=now,
            recipients=[
                {"user": person.pk, "username": person.get_username(), "name": person.get_username(), "role": ""}
                for person in people
            ],
            channels=list(channels),
        )

    return fire
