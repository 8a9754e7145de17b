"""Threshold tables are versioned per plant (docs/grading.md §The threshold table), and problems are numbered and
stored once (issues.problems.intake).

Editing goes through the real admin change view: a superuser (pytest-django's admin_client)
POSTs the table's rule formset, which writes a new version; the version earlier problems were
graded with stays.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.admin.sites import site
from django.contrib.messages import get_messages
from django.test import RequestFactory
from django.urls import reverse

from issues.grading.thresholds import RULE_FIELDS, current_table
from issues.models import Plant, Problem, ThresholdTable
from issues.plant_setup import set_up_plant
from issues.problems.intake import IdempotencyConflict, Report, report_problem

SHANGHAI = ZoneInfo("Asia/Shanghai")


def rules_of(table: ThresholdTable) -> dict[str, tuple]:
    return {rule.code: tuple(getattr(rule, name) for name in RULE_FIELDS) for rule in table.rules.all()}


def change_url(table: ThresholdTable) -> str:
    return reverse("admin:issues_thresholdtable_change", args=[table.pk])


def change_form_data(client, table: ThresholdTable) -> dict:
    """What the browser would POST back unchanged: the table's form and its rule formset,
    read from the change page the admin renders."""
    response = client.get(change_url(table))
    assert response.status_code == 200
    data = {"note": response.context["adminform"].form["note"].value() or "", "_save": "Save"}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS"):
            data[management.add_prefix(name)] = management[name].value()
        for form in formset.forms:
            for name in form.fields:
                value = form[name].value()
                if value is None or value is False:
                    continue
                data[form.add_prefix(name)] = "on" if value is True else str(value)
    return data


def row_prefix(data: dict, code: str) -> str:
    key = next(key for key, value in data.items() if key.endswith("-code") and value == code)
    return key.removesuffix("code")


def edit_rule(data: dict, code: str, **changes) -> dict:
    prefix = row_prefix(data, code)
    for name, value in changes.items():
        data[prefix + name] = str(value)
    return data


@pytest.fixture
def log(world, team_leader):
    def log(category="material", facts=None, *, when=None, reporter=None, key="") -> Problem:
        report = Report(
            line=world.line_a1,
            category=category,
            title="Waiting for housings",
            occurred_at=when or dt.datetime(2025, 3, 3, 10, 0, tzinfo=SHANGHAI),
            facts=facts or {},
        )
        problem, _created = report_problem(report, reporter=reporter or team_leader, idempotency_key=key)
        return problem

    return log


# --- a plant's first table ------------------------------------------------------------------------------


def test_a_new_plant_gets_version_1_copied_from_the_default_template(db):
    template = ThresholdTable.objects.get(plant__isnull=True, version=1)

    plant = Plant.objects.create(code="np1", name_en="New Plant")
    set_up_plant(plant)

    tables = list(ThresholdTable.objects.filter(plant=plant))
    assert [table.version for table in tables] == [1]
    assert tables[0].rules.count() == template.rules.count() == 59
    assert rules_of(tables[0]) == rules_of(template)
    assert current_table(plant) == tables[0]


def test_each_plant_gets_its_own_copy_of_the_template(world, other_world):
    mine, theirs = current_table(world.plant), current_table(other_world.plant)

    assert mine.pk != theirs.pk
    assert (mine.version, theirs.version) == (1, 1)
    assert not set(mine.rules.values_list("pk", flat=True)) & set(theirs.rules.values_list("pk", flat=True))


def test_the_template_carries_the_domain_limits_as_data(db):
    template = ThresholdTable.objects.get(plant__isnull=True, version=1)
    limits = {rule.code: (rule.limit, rule.upper_limit) for rule in template.rules.all()}

    assert limits["quality-a-defects-intermittent-b"] == (Decimal(10), Decimal(20))
    assert limits["quality-c-defects-consecutive-b"] == (Decimal(20), Decimal(40))
    assert limits["material-waiting"] == (Decimal(30), None)
    assert limits["safety-hazard-risk"] == (Decimal(150), None)


# --- editing through the admin --------------------------------------------------------------------------


def test_saving_an_edit_in_the_admin_writes_version_2_and_leaves_version_1_alone(world, admin_client, admin_user):
    version_1 = current_table(world.plant)
    before = rules_of(version_1)
    data = edit_rule(change_form_data(admin_client, version_1), "material-waiting", limit="45")
    data["note"] = "waiting limit raised to 45 min"

    response = admin_client.post(change_url(version_1), data)

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    version_2 = current_table(world.plant)
    assert (version_2.version, version_2.note, version_2.created_by) == (
        2,
        "waiting limit raised to 45 min",
        admin_user,
    )
    after = rules_of(version_2)
    assert after["material-waiting"][RULE_FIELDS.index("limit")] == Decimal(45)
    assert {code: rule for code, rule in after.items() if code != "material-waiting"} == {
        code: rule for code, rule in before.items() if code != "material-waiting"
    }
    version_1.refresh_from_db()
    assert rules_of(version_1) == before
    assert ThresholdTable.objects.filter(plant=world.plant).count() == 2
    entry = LogEntry.objects.get(object_id=str(version_2.pk))
    assert "material-waiting" in entry.get_change_message()
    assert "Saved as version 2; earlier problems keep their version." in [
        str(message) for message in get_messages(response.wsgi_request)
    ]


def test_a_problem_keeps_the_version_and_grade_it_was_given_and_later_problems_use_the_edit(world, admin_client, log):
    earlier = log(facts={"waiting_minutes": 40})
    version_1 = earlier.threshold_table
    admin_client.post(
        change_url(version_1), edit_rule(change_form_data(admin_client, version_1), "material-waiting", limit="45")
    )

    earlier.refresh_from_db()
    later = log(facts={"waiting_minutes": 40})
    over_new_limit = log(facts={"waiting_minutes": 46})

    assert (earlier.threshold_table.version, earlier.grade) == (1, "B")
    assert earlier.explanation("en") == "B: workshop waited 40 min for material, limit n > 30"
    assert (later.threshold_table.version, later.grade) == (2, "C")
    assert (over_new_limit.threshold_table.version, over_new_limit.grade) == (2, "B")
    assert over_new_limit.explanation("en") == "B: workshop waited 46 min for material, limit n > 45"


def test_a_rule_deleted_in_the_admin_is_missing_only_from_the_new_version(world, admin_client, log):
    version_1 = current_table(world.plant)
    data = change_form_data(admin_client, version_1)
    data[row_prefix(data, "safety-incident") + "DELETE"] = "on"

    admin_client.post(change_url(version_1), data)

    version_2 = current_table(world.plant)
    assert version_2.version == 2
    assert set(rules_of(version_1)) - set(rules_of(version_2)) == {"safety-incident"}
    assert log("safety", {"incident": True}).grade == "C"


def test_a_rule_added_in_the_admin_is_only_in_the_new_version(world, admin_client, log):
    version_1 = current_table(world.plant)
    data = change_form_data(admin_client, version_1)
    total_key = next(key for key in data if key.endswith("-TOTAL_FORMS"))
    prefix = f"{total_key.removesuffix('TOTAL_FORMS')}{data[total_key]}-"
    data[total_key] = str(int(data[total_key]) + 1)
    data.update(
        {
            prefix + "category": "material",
            prefix + "code": "material-waiting-long",
            prefix + "grade": "A",
            prefix + "fact": "waiting_minutes",
            prefix + "operator": "gt",
            prefix + "limit": "240",
            prefix + "label_en": "workshop waited {n} min for material",
        }
    )

    response = admin_client.post(change_url(version_1), data)

    assert response.status_code == 302
    assert "material-waiting-long" in rules_of(current_table(world.plant))
    assert "material-waiting-long" not in rules_of(version_1)
    assert log(facts={"waiting_minutes": 241}).grade == "A"


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        pytest.param(
            {"operator": "between"},
            "upper_limit",
            "This test needs an upper limit.",
            id="a band without an upper limit",
        ),
        pytest.param({"limit": ""}, "limit", "This test needs a limit.", id="a greater-than test without a limit"),
        pytest.param(
            {"operator": "between", "upper_limit": "30"},
            "upper_limit",
            "The upper limit must be above the limit.",
            id="a band whose upper limit is not above its limit",
        ),
    ],
)
def test_a_rule_grading_could_not_evaluate_is_refused_and_no_version_is_written(
    world, admin_client, log, changes, field, error
):
    version_1 = current_table(world.plant)

    response = admin_client.post(
        change_url(version_1), edit_rule(change_form_data(admin_client, version_1), "material-waiting", **changes)
    )

    assert response.status_code == 200
    row_errors = [form.errors for form in response.context["inline_admin_formsets"][0].formset.forms if form.errors]
    assert row_errors == [{field: [error]}]
    assert current_table(world.plant) == version_1
    assert log(facts={"waiting_minutes": 40}).grade == "B"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"fact": "waiting_minuts"}, "fact", id="a misspelt fact"),
        pytest.param({"fact": "downtime_minutes"}, "fact", id="another category's fact"),
        pytest.param({"when_fact": "delivery_afected", "when_value": "true"}, "when_fact", id="a misspelt condition"),
    ],
)
def test_a_rule_reading_a_fact_the_category_does_not_have_is_refused(world, admin_client, changes, field):
    version_1 = current_table(world.plant)

    response = admin_client.post(
        change_url(version_1), edit_rule(change_form_data(admin_client, version_1), "material-waiting", **changes)
    )

    assert response.status_code == 200
    row_errors = [form.errors for form in response.context["inline_admin_formsets"][0].formset.forms if form.errors]
    assert list(row_errors[0]) == [field]
    assert current_table(world.plant) == version_1


def test_saving_an_unchanged_table_writes_no_new_version(world, admin_client):
    version_1 = current_table(world.plant)

    response = admin_client.post(change_url(version_1), change_form_data(admin_client, version_1))

    assert response.status_code == 302
    assert current_table(world.plant) == version_1
    assert ThresholdTable.objects.filter(plant=world.plant).count() == 1


def test_an_edit_to_version_2_writes_version_3(world, admin_client):
    version_1 = current_table(world.plant)
    admin_client.post(
        change_url(version_1), edit_rule(change_form_data(admin_client, version_1), "material-waiting", limit="45")
    )
    version_2 = current_table(world.plant)

    admin_client.post(
        change_url(version_2), edit_rule(change_form_data(admin_client, version_2), "material-waiting", limit="50")
    )

    limits = {
        table.version: table.rules.get(code="material-waiting").limit
        for table in ThresholdTable.objects.filter(plant=world.plant)
    }
    assert limits == {1: Decimal(30), 2: Decimal(45), 3: Decimal(50)}


def test_editing_one_plant_leaves_the_other_plant_and_the_template_alone(world, other_world, admin_client):
    version_1 = current_table(world.plant)
    admin_client.post(
        change_url(version_1), edit_rule(change_form_data(admin_client, version_1), "material-waiting", limit="45")
    )

    assert current_table(other_world.plant).version == 1
    assert current_table(other_world.plant).rules.get(code="material-waiting").limit == Decimal(30)
    assert ThresholdTable.objects.filter(plant__isnull=True).count() == 1


def test_an_old_version_cannot_be_changed_in_the_admin(world, admin_client, admin_user):
    version_1 = current_table(world.plant)
    data = edit_rule(change_form_data(admin_client, version_1), "material-waiting", limit="45")
    admin_client.post(change_url(version_1), data)

    refused = admin_client.post(change_url(version_1), edit_rule(data, "material-waiting", limit="99"))
    shown = admin_client.get(change_url(version_1))

    assert refused.status_code == 403
    assert ThresholdTable.objects.filter(plant=world.plant).count() == 2
    assert version_1.rules.get(code="material-waiting").limit == Decimal(30)
    assert shown.status_code == 200
    assert shown.context["has_change_permission"] is False
    request = RequestFactory().get("/")
    request.user = admin_user
    table_admin = site._registry[ThresholdTable]
    assert table_admin.has_change_permission(request, version_1) is False
    assert table_admin.has_change_permission(request, current_table(world.plant)) is True
    rule_permissions = [
        (
            inline.has_add_permission(request, version_1),
            inline.has_change_permission(request, version_1),
            inline.has_delete_permission(request, version_1),
        )
        for inline in table_admin.get_inline_instances(request, version_1)
    ]
    assert rule_permissions in ([], [(False, False, False)])


def test_tables_cannot_be_added_or_deleted_in_the_admin(world, admin_client):
    table = current_table(world.plant)

    assert admin_client.get(reverse("admin:issues_thresholdtable_add")).status_code == 403
    assert (
        admin_client.post(reverse("admin:issues_thresholdtable_delete", args=[table.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert ThresholdTable.objects.filter(pk=table.pk).exists()


# --- numbering and idempotency --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("occurred_at", "number"),
    [
        pytest.param(dt.datetime(2025, 3, 3, 10, 0, tzinfo=SHANGHAI), "TP1-20250303-001", id="a morning in Shanghai"),
        pytest.param(
            dt.datetime(2025, 3, 2, 17, 30, tzinfo=dt.UTC),
            "TP1-20250303-001",
            id="17:30 UTC is already the next day in Shanghai",
        ),
        pytest.param(
            dt.datetime(2025, 3, 3, 15, 59, tzinfo=dt.UTC),
            "TP1-20250303-001",
            id="15:59 UTC is still 23:59 the same day in Shanghai",
        ),
        pytest.param(
            dt.datetime(2025, 12, 31, 16, 0, tzinfo=dt.UTC),
            "TP1-20260101-001",
            id="midnight in Shanghai starts a new year",
        ),
    ],
)
def test_a_problem_number_is_plant_code_and_local_date_and_serial(log, occurred_at, number):
    assert log(when=occurred_at).number == number


def test_serials_increase_within_a_local_day_and_restart_the_next_day(log):
    day = dt.datetime(2025, 3, 3, 8, 0, tzinfo=SHANGHAI)

    numbers = [
        log(when=day).number,
        log(when=day + dt.timedelta(hours=15, minutes=59)).number,
        log(when=day - dt.timedelta(hours=1)).number,
        log(when=day + dt.timedelta(hours=16)).number,
        log(when=day + dt.timedelta(hours=2)).number,
    ]

    assert numbers == [
        "TP1-20250303-001",
        "TP1-20250303-002",
        "TP1-20250303-003",
        "TP1-20250304-001",
        "TP1-20250303-004",
    ]


def test_each_plant_numbers_its_own_problems(log, other_world, team_leader):
    when = dt.datetime(2025, 3, 3, 10, 0, tzinfo=SHANGHAI)
    log(when=when)
    report = Report(line=other_world.line_a1, category="material", title="Waiting", occurred_at=when)

    theirs, _created = report_problem(report, reporter=team_leader)

    assert theirs.number == "OP2-20250303-001"
    assert log(when=when).number == "TP1-20250303-002"


def test_the_same_idempotency_key_from_the_same_reporter_returns_the_first_problem(log):
    first = log(facts={"waiting_minutes": 40}, key="tablet-7-0001")
    resent = Report(
        line=first.line,
        category="material",
        title="Waiting for housings",
        occurred_at=first.occurred_at,
        facts={"waiting_minutes": 40},
    )

    again, created = report_problem(resent, reporter=first.reported_by, idempotency_key="tablet-7-0001")

    assert (again.pk, created) == (first.pk, False)
    assert (again.number, again.grade) == (first.number, "B")
    assert Problem.objects.count() == 1


def test_the_same_idempotency_key_with_another_report_is_a_conflict_that_stores_nothing(log):
    first = log(facts={"waiting_minutes": 40}, key="tablet-7-0001")
    other = Report(
        line=first.line, category="material", title="Waiting", occurred_at=first.occurred_at, facts={"accident": True}
    )

    with pytest.raises(IdempotencyConflict) as conflict:
        report_problem(other, reporter=first.reported_by, idempotency_key="tablet-7-0001")

    assert conflict.value.problem.pk == first.pk
    assert Problem.objects.count() == 1


def test_another_key_or_another_reporter_makes_a_new_problem(log, operator):
    first = log(key="tablet-7-0001")

    other_key = log(key="tablet-7-0002")
    other_reporter = log(key="tablet-7-0001", reporter=operator)
    without_key = [log(), log()]

    assert len({problem.pk for problem in (first, other_key, other_reporter, *without_key)}) == 5
    assert [problem.number[-3:] for problem in (first, other_key, other_reporter, *without_key)] == [
        "001",
        "002",
        "003",
        "004",
        "005",
    ]
