"""The admin pages of problem solving: the plant's policy and deadlines, 8D reports (read
only), and the lessons library, each kept to the plants the staff user works in."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from issues.eightd import solving
from issues.models import Lesson, Role, SolvingPolicy
from tests.conftest import make_person
from tests.issues.eightd_factory import graded_problem


def staff(user):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


@pytest.fixture
def quality_manager(world):
    return staff(make_person("qm", Role.QUALITY_MANAGER, plant=world.plant))


@pytest.fixture
def policy(world) -> SolvingPolicy:
    return world.plant.solving_policy


def policy_url(policy: SolvingPolicy) -> str:
    return reverse("admin:issues_solvingpolicy_change", args=[policy.pk])


def policy_form(client, policy: SolvingPolicy, **changes) -> dict:
    """What the browser posts back from the policy page: its fields and the deadline rows,
    read from the rendered page, with `changes` applied (section code → days, or a field)."""
    response = client.get(policy_url(policy))
    assert response.status_code == 200
    form = response.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    (inline,) = response.context["inline_admin_formsets"]
    formset = inline.formset
    for name in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS"):
        data[formset.management_form.add_prefix(name)] = formset.management_form[name].value()
    for row in formset.forms:
        data[row.add_prefix("id")] = row.instance.pk
        data[row.add_prefix("policy")] = policy.pk
        data[row.add_prefix("days")] = changes.pop(row.instance.section, row.instance.days)
    return {**data, **changes}


def test_a_quality_manager_changes_a_deadline_and_its_history_says_who(world, quality_manager, policy, client):
    client.force_login(quality_manager)

    response = client.post(policy_url(policy), policy_form(client, policy, D3=2))

    assert response.status_code == 302, response.context and response.context["errors"]
    d3 = policy.deadlines.get(section="D3")
    assert d3.days == 2
    latest = d3.history.first()
    assert (latest.history_type, latest.days, latest.history_user) == ("~", 2, quality_manager)
    assert policy.deadlines.get(section="D4").history.count() == 1  # untouched rows get no record


@pytest.mark.parametrize("grades", ["ABX", "AA", "A B"])
def test_grades_needing_an_8d_must_be_distinct_letters_a_b_c(world, quality_manager, policy, client, grades):
    client.force_login(quality_manager)

    response = client.post(policy_url(policy), policy_form(client, policy, eightd_grades=grades))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["eightd_grades"] == [
        "Use the letters A, B and C, each at most once (for example AB)."
    ]
    policy.refresh_from_db()
    assert policy.eightd_grades == "AB"


def test_grades_are_stored_as_capitals_in_order(world, quality_manager, policy, client):
    client.force_login(quality_manager)

    client.post(policy_url(policy), policy_form(client, policy, eightd_grades="cba"))

    policy.refresh_from_db()
    assert policy.eightd_grades == "ABC"
    assert policy.history.first().history_user == quality_manager


def test_a_plant_keeps_its_policy(world, quality_manager, policy, admin_client):
    response = admin_client.post(reverse("admin:issues_solvingpolicy_delete", args=[policy.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert SolvingPolicy.objects.filter(pk=policy.pk).exists()


@pytest.fixture
def lesson(world, team_leader, quality_engineer) -> Lesson:
    problem = graded_problem(world.line_a1, team_leader)
    return Lesson.objects.create(
        plant=world.plant,
        problem=problem,
        line=world.line_a1,
        title="法兰毛刺 / burr on flange",
        lesson="去毛刺刀具按计数寿命更换 / change deburring tools by counted life",
        root_cause="刀具磨损 / worn tool",
        actions="刀具寿命计数器 / tool-life counter",
        learned_on=dt.date(2025, 3, 20),
    )


def test_the_lesson_library_finds_chinese_text(world, quality_manager, lesson, client):
    other = Lesson.objects.create(
        plant=world.plant,
        problem=graded_problem(world.line_a2, quality_manager),
        title="壳体泄漏 / housing leak",
        lesson="密封圈装配前润滑 / grease seals before fitting",
        learned_on=dt.date(2025, 3, 21),
    )
    client.force_login(quality_manager)
    url = reverse("admin:issues_lesson_changelist")

    found = {
        query: set(client.get(url, {"q": query}).context["cl"].queryset)
        for query in ("寿命", "刀具磨损", "润滑", "泄漏")
    }

    assert found == {"寿命": {lesson}, "刀具磨损": {lesson}, "润滑": {other}, "泄漏": {other}}


def test_the_quality_department_corrects_a_lesson(world, quality_manager, lesson, client):
    client.force_login(quality_manager)
    url = reverse("admin:issues_lesson_change", args=[lesson.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data["lesson"] = "去毛刺刀具按计数寿命更换，并纳入TPM / counted tool life, in the TPM plan"

    response = client.post(url, data)

    assert response.status_code == 302
    lesson.refresh_from_db()
    assert lesson.lesson.endswith("in the TPM plan")
    assert lesson.history.first().history_user == quality_manager


def test_the_report_page_shows_where_each_answer_stands_but_edits_none(
    world, quality_manager, quality_engineer, team_leader, client
):
    report = solving.start_report(graded_problem(world.line_a1, team_leader), user=quality_engineer)
    client.force_login(quality_manager)

    response = client.get(reverse("admin:issues_eightdreport_change", args=[report.pk]))

    assert response.status_code == 200
    (inline,) = response.context["inline_admin_formsets"]
    assert [row.instance.code for row in inline.formset.forms] == [f"D{n}" for n in range(9)]
    assert not inline.has_change_permission and not inline.has_add_permission
    assert "sections-0-state" not in response.content.decode()


def test_a_staff_user_of_another_plant_sees_nothing_of_this_plant(
    world, other_world, policy, lesson, quality_engineer, team_leader, client
):
    report = solving.start_report(graded_problem(world.line_a1, team_leader), user=quality_engineer)
    outsider = staff(make_person("outsider", Role.QUALITY_MANAGER, plant=other_world.plant))
    client.force_login(outsider)
    mine = {"solvingpolicy": other_world.plant.solving_policy}
    theirs = {"solvingpolicy": policy, "eightdreport": report, "lesson": lesson}

    for model, obj in theirs.items():
        listed = set(client.get(reverse(f"admin:issues_{model}_changelist")).context["cl"].queryset)
        assert listed == ({mine[model]} if model in mine else set())
        change = client.get(reverse(f"admin:issues_{model}_change", args=[obj.pk]))
        assert change.status_code == 302 and change.url == reverse("admin:index")  # "does not exist"
        assert client.get(reverse(f"admin:issues_{model}_history", args=[obj.pk])).status_code == 404
        version = obj.history.first().history_id
        assert client.get(reverse(f"admin:issues_{model}_simple_history", args=[obj.pk, version])).status_code == 404
    assert world.plant.name_en not in client.get(reverse("admin:issues_lesson_changelist")).content.decode()
