""" "Copy from an earlier 8D" at /problems/<pk>/8d/copy/: the ranked candidates of the plant,
what a copy fills in and what it leaves alone, who may copy, and bad input."""

from __future__ import annotations

import pytest

from issues.eightd import solving
from issues.models import EightDReport, FailureMode, Problem, Section
from tests.issues.eightd_factory import clean_answer, valid_content
from tests.issues.test_lessons import log

pytestmark = pytest.mark.django_db

COPIED = ("D4", "D5", "D6", "D7")


def copy_url(problem: Problem) -> str:
    return f"/problems/{problem.pk}/8d/copy/"


@pytest.fixture
def paint(world):
    return FailureMode.objects.create(plant=world.plant, category="quality", name_en="Paint run", name_zh="流挂")


@pytest.fixture
def target(world, team_leader, quality_engineer, failure_mode) -> EightDReport:
    """The 8D being written: a burr (machine) on line A1, led by the quality engineer."""
    problem = log(world.line_a1, team_leader, failure_mode=failure_mode, cause_family="machine", title="Burr again")
    return solving.start_report(problem, user=quality_engineer)


@pytest.fixture
def source(world, quality_engineer, workshop_director, failure_mode) -> EightDReport:
    """An earlier 8D of the same failure mode with its analysis and actions answered."""
    problem = log(world.line_m1, quality_engineer, failure_mode=failure_mode, cause_family="material", title="Old burr")
    report = solving.start_report(problem, user=quality_engineer)
    for section in report.sections.filter(code__in=COPIED):
        content = clean_answer(
            problem, section.code, valid_content(section.code, [quality_engineer, workshop_director])
        )
        solving.save_answer(section, user=quality_engineer, content=content)
    return report


@pytest.fixture
def qe_client(client, quality_engineer):
    client.force_login(quality_engineer)
    return client


def candidates(response) -> list[int]:
    assert response.status_code == 200
    return [report.pk for report in response.context["page"]]


def sections_of(report: EightDReport) -> dict[str, Section]:
    return {section.code: section for section in report.sections.all()}


# --- the candidates --------------------------------------------------------------------------


def test_candidates_rank_same_failure_mode_then_same_line_then_same_cause_family(
    world, other_world, team_leader, quality_engineer, outsider, paint, target, source, qe_client
):
    def started(line, reporter, **kwargs) -> EightDReport:
        return solving.start_report(log(line, reporter, **kwargs), user=reporter)

    unrelated = started(world.line_m1, quality_engineer, title="Loose screw")
    same_family = started(world.line_a2, quality_engineer, failure_mode=paint, cause_family="machine")
    same_line = started(world.line_a1, quality_engineer, failure_mode=paint, cause_family="material")
    theirs = started(other_world.line_a1, outsider, title="Burr again")

    response = qe_client.get(copy_url(target.problem))

    # `source` shares the failure mode (on line M1, cause family material).
    assert candidates(response) == [source.pk, same_line.pk, same_family.pk, unrelated.pk]
    html = response.content.decode()
    assert "Worn deburring tool / No edge check at final inspection" in html  # source's D4, as an excerpt
    assert theirs.problem.number not in html
    assert f'value="{target.pk}"' not in html  # not itself


def test_the_search_box_narrows_the_candidates_by_number_or_title(
    world, quality_engineer, paint, target, source, qe_client
):
    other = solving.start_report(
        log(world.line_a2, quality_engineer, title="Paint run on cover"), user=quality_engineer
    )

    assert candidates(qe_client.get(copy_url(target.problem), {"q": "cover"})) == [other.pk]
    assert candidates(qe_client.get(copy_url(target.problem), {"q": source.problem.number})) == [source.pk]
    assert candidates(qe_client.get(copy_url(target.problem), {"q": "old BURR"})) == [source.pk]


# --- copying ---------------------------------------------------------------------------------


def test_copying_fills_d4_to_d7_as_drafts_and_d6_actions_start_again_as_planned(
    target, source, quality_engineer, qe_client
):
    response = qe_client.post(copy_url(target.problem), {"source": source.pk}, follow=True)

    assert response.redirect_chain[-1] == (f"/problems/{target.problem.pk}/8d/", 302)
    assert f"Copied from {source.problem.number} as drafts: D4, D5, D6, D7." in response.content.decode()
    copied, earlier = sections_of(target), sections_of(source)
    for code in ("D4", "D5", "D7"):
        assert (copied[code].state, copied[code].content) == (Section.State.DRAFT, earlier[code].content)
    [action] = copied["D6"].content["actions"]
    [done] = earlier["D6"].content["actions"]
    assert (action["action"], action["owner"], action["due_on"]) == (done["action"], done["owner"], done["due_on"])
    assert (action["status"], action["done_on"], action["evidence"], action["validation"]) == ("planned", None, "", "")
    assert copied["D6"].state == Section.State.DRAFT
    for code in ("D0", "D1", "D2", "D3", "D8"):  # this occurrence's own story is not copied
        assert (copied[code].state, copied[code].content) == (Section.State.TODO, {})
    target.refresh_from_db()
    assert target.copied_from == source
    history = copied["D4"].history.first()
    assert (history.history_user, history.history_change_reason) == (
        quality_engineer,
        f"copied from {source.problem.number}",
    )


def test_a_submitted_answer_is_not_overwritten_by_a_copy(
    target, source, quality_engineer, workshop_director, qe_client
):
    mine = clean_answer(target.problem, "D5", valid_content("D5", [workshop_director, quality_engineer]))
    mine["short_term"] = "Our own short-term action"
    solving.submit(target.sections.get(code="D5"), user=quality_engineer, content=mine)

    response = qe_client.post(copy_url(target.problem), {"source": source.pk}, follow=True)

    assert "as drafts: D4, D6, D7." in response.content.decode()
    d5 = target.sections.get(code="D5")
    assert (d5.state, d5.content["short_term"]) == (Section.State.SUBMITTED, "Our own short-term action")
    assert target.sections.get(code="D4").state == Section.State.DRAFT


def test_copying_an_unanswered_report_says_that_nothing_was_copied(world, quality_engineer, target, qe_client):
    empty = solving.start_report(log(world.line_a2, quality_engineer, title="Not analysed yet"), user=quality_engineer)

    response = qe_client.post(copy_url(target.problem), {"source": empty.pk}, follow=True)

    assert f"Nothing was copied from {empty.problem.number}" in response.content.decode()
    assert set(target.sections.values_list("state", flat=True)) == {Section.State.TODO}


# --- rights ----------------------------------------------------------------------------------


def test_a_team_leader_who_is_not_on_the_team_may_not_copy(target, source, team_leader, client):
    client.force_login(team_leader)  # sees line A1's problems, but is neither on the team nor a reviewer

    assert client.get(copy_url(target.problem)).status_code == 403
    assert client.post(copy_url(target.problem), {"source": source.pk}).status_code == 403
    assert target.sections.get(code="D4").state == Section.State.TODO

    target.members.add(team_leader)
    assert client.get(copy_url(target.problem)).status_code == 200


def test_an_outsider_gets_not_found(target, source, outsider, client):
    client.force_login(outsider)

    assert client.get(copy_url(target.problem)).status_code == 404
    assert client.post(copy_url(target.problem), {"source": source.pk}).status_code == 404


def test_a_problem_without_an_8d_has_nothing_to_copy_into(world, team_leader, qe_client):
    problem = log(world.line_a1, team_leader)

    assert qe_client.get(copy_url(problem)).status_code == 404


# --- bad input -------------------------------------------------------------------------------


def test_a_bad_source_is_refused_with_a_message_and_nothing_changes(
    world, other_world, outsider, target, source, qe_client
):
    theirs = solving.start_report(log(other_world.line_a1, outsider), user=outsider)
    bad_sources = ["", "abc", "1.5", "-1", "9" * 30, str(target.pk), str(theirs.pk), str(source.pk + 10_000)]

    for bad in bad_sources:
        response = qe_client.post(copy_url(target.problem), {"source": bad})
        assert response.status_code == 400, bad
        assert "Choose one of the earlier 8D reports listed." in response.content.decode()
    assert qe_client.post(copy_url(target.problem)).status_code == 400  # no source at all
    assert set(target.sections.values_list("state", flat=True)) == {Section.State.TODO}
    target.refresh_from_db()
    assert target.copied_from is None


def test_a_cancelled_problems_8d_is_not_filled_from_another(target, source, qe_client):
    Problem.objects.filter(pk=target.problem.pk).update(status=Problem.Status.CANCELLED)

    response = qe_client.post(copy_url(target.problem), {"source": source.pk})

    assert response.status_code == 400
    assert set(target.sections.values_list("state", flat=True)) == {Section.State.TODO}
