"""The 8D report editor: the report page, the section pages with their answer, review,
reopen and not-applicable actions, rights per role, and the strip on the problem page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from issues.eightd import solving
from issues.eightd.sections import FORMS
from issues.eightd.summary import summary_context
from issues.models import EightDReport, Role, Section
from tests.conftest import make_person
from tests.issues.eightd_factory import as_post, clean_answer, graded_problem, valid_content

pytestmark = pytest.mark.django_db

State = Section.State
EMPTY_TABLE = {"TOTAL_FORMS": "0", "INITIAL_FORMS": "0", "MIN_NUM_FORMS": "0", "MAX_NUM_FORMS": "30"}


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def reviewer(world):
    """A second reviewer: the quality engineer cannot review an answer they submitted."""
    return make_person("qm", Role.QUALITY_MANAGER, plant=world.plant)


@pytest.fixture
def problem(world, team_leader):
    return graded_problem(world.line_a1, team_leader, "A")


@pytest.fixture
def report(problem, quality_engineer, reviewer):
    """Started by the quality engineer, who leads the team."""
    return solving.start_report(problem, user=quality_engineer)


def section_of(report, code) -> Section:
    return Section.objects.get(report=report, code=code)


def url(name, problem, *args) -> str:
    return reverse(name, args=[problem.pk, *args])


def as_user(client, user):
    client.force_login(user)
    return client


def draft_post(code: str, **scalars) -> dict:
    """A draft as the editor posts it: a few scalars and the section's tables left empty."""
    data = {f"s-{name}": value for name, value in scalars.items()}
    for table in FORMS[code].tables:
        data |= {f"{table}-{key}": value for key, value in EMPTY_TABLE.items()}
    return data


def submitted(report, code, author):
    section = section_of(report, code)
    content = clean_answer(report.problem, code, valid_content(code, [author]))
    return solving.submit(section, user=author, content=content)


# --- who sees and does what ---------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_login_page(client, problem, report):
    for page in (url("eightd:report", problem), url("eightd:section", problem, "D2")):
        response = client.get(page)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_an_outsider_finds_no_8d_pages(client, problem, report, outsider):
    as_user(client, outsider)

    assert client.get(url("eightd:report", problem)).status_code == 404
    assert client.get(url("eightd:section", problem, "D0")).status_code == 404
    assert client.post(url("eightd:section_action", problem, "D0", "save"), draft_post("D0")).status_code == 404
    assert client.post(url("eightd:start", problem)).status_code == 404
    assert section_of(report, "D0").state == State.TODO


def test_an_unknown_section_code_is_not_found(client, problem, report, quality_engineer):
    as_user(client, quality_engineer)

    assert client.get(f"/problems/{problem.pk}/8d/D9/").status_code == 404
    assert client.get(f"/problems/{problem.pk}/8d/d1/").status_code == 404


def test_a_team_leader_in_scope_reads_the_sections_but_gets_no_forms(client, problem, report, team_leader):
    as_user(client, team_leader)

    page = client.get(url("eightd:section", problem, "D0"))
    assert page.status_code == 200
    assert 'data-testid="answer-form"' not in page.content.decode()
    assert 'data-testid="answer"' in page.content.decode()
    assert client.post(url("eightd:section_action", problem, "D0", "save"), draft_post("D0")).status_code == 403
    assert client.post(url("eightd:header", problem), {"customer": "X"}).status_code == 403


def test_an_operator_cannot_answer_or_review(client, problem, report, operator, quality_engineer):
    submitted(report, "D1", quality_engineer)
    as_user(client, operator)

    assert client.post(url("eightd:section_action", problem, "D0", "save"), draft_post("D0")).status_code == 403
    assert client.post(url("eightd:section_action", problem, "D1", "accept"), {}).status_code == 403
    assert section_of(report, "D1").state == State.SUBMITTED


def test_a_reviewer_off_the_team_may_edit_and_sees_the_review_buttons(
    client, problem, report, reviewer, quality_engineer
):
    submitted(report, "D2", quality_engineer)
    as_user(client, reviewer)

    draft = client.get(url("eightd:section", problem, "D0")).content.decode()
    review = client.get(url("eightd:section", problem, "D2")).content.decode()

    assert 'data-testid="answer-form"' in draft
    assert 'data-testid="review"' in review
    assert 'data-testid="answer-form"' not in review


# --- starting a report --------------------------------------------------------------------


def test_a_problem_without_a_report_offers_the_start_to_the_quality_engineer_only(
    client, problem, quality_engineer, team_leader
):
    as_user(client, team_leader)
    reader = client.get(url("eightd:report", problem)).content.decode()
    assert "This grade needs an 8D report." in reader
    assert 'data-testid="eightd-start"' not in reader
    assert client.post(url("eightd:start", problem)).status_code == 403

    as_user(client, quality_engineer)
    assert 'data-testid="eightd-start"' in client.get(url("eightd:report", problem)).content.decode()


def test_starting_twice_gives_one_report(client, problem, quality_engineer):
    as_user(client, quality_engineer)

    first = client.post(url("eightd:start", problem))
    second = client.post(url("eightd:start", problem))

    assert first.status_code == second.status_code == 302
    assert first["Location"] == url("eightd:report", problem)
    assert EightDReport.objects.filter(problem=problem).count() == 1
    assert Section.objects.filter(report__problem=problem).count() == 9


# --- the report page ----------------------------------------------------------------------


def test_the_report_page_lists_the_nine_sections_with_due_times_in_the_plants_zone(
    client, problem, report, quality_engineer
):
    as_user(client, quality_engineer)

    page = client.get(url("eightd:report", problem)).content.decode()

    assert page.count('data-section="D') == 9
    # D3: 1 day after the occurrence (2025-03-04 01:00 UTC), shown at 09:00 in Shanghai.
    assert "2025-03-05 09:00" in page
    assert 'class="timing-overdue" data-section="D3"' in page
    assert '<span class="rag rag-red">R</span>' in page
    assert url("eightd:pdf", problem) + "?language=zh-hans" in page
    assert "Qe" in page  # the leader


def test_sections_due_soon_and_overdue_are_highlighted(client, world, team_leader, quality_engineer):
    # Occurred 20 hours ago: the 1-day sections are due in 4 hours (due soon, policy 12 h),
    # the 3-day ones later; a returned one got no extra time yet and is done by hand.
    problem = graded_problem(world.line_a1, team_leader, "A", occurred_at=timezone.now() - dt.timedelta(hours=20))
    report = solving.start_report(problem, user=quality_engineer)
    Section.objects.filter(report=report, code="D8").update(due_at=timezone.now() - dt.timedelta(minutes=5))
    as_user(client, quality_engineer)

    page = client.get(url("eightd:report", problem)).content.decode()

    assert 'class="timing-due_soon" data-section="D0"' in page
    assert 'class="timing-on_time" data-section="D4"' in page
    assert 'class="timing-overdue" data-section="D8"' in page


def test_an_editor_saves_the_header_and_a_bad_one_is_shown_again(client, problem, report, quality_engineer):
    as_user(client, quality_engineer)

    saved = client.post(
        url("eightd:header", problem), {"customer": "ACME", "part_number": "4711", "part_name": "Housing"}
    )
    refused = client.post(url("eightd:header", problem), {"customer": "x" * 200, "part_number": "", "part_name": ""})

    assert saved.status_code == 302
    assert refused.status_code == 400
    assert "Ensure this value has at most 120 characters" in refused.content.decode()
    report.refresh_from_db()
    assert (report.customer, report.part_number, report.part_name) == ("ACME", "4711", "Housing")


# --- answering ----------------------------------------------------------------------------


def test_a_draft_keeps_a_partial_answer(client, problem, report, quality_engineer):
    as_user(client, quality_engineer)

    response = client.post(url("eightd:section_action", problem, "D2", "save"), draft_post("D2", what="Burr on flange"))

    assert response.status_code == 302
    section = section_of(report, "D2")
    assert section.state == State.DRAFT
    assert section.content["what"] == "Burr on flange"
    assert "Burr on flange" in client.get(url("eightd:section", problem, "D2")).content.decode()


def test_an_untouched_empty_row_does_not_block_a_draft(client, problem, report, quality_engineer):
    # The browser posts the first choice of a select without a blank ("On the line") even in
    # the empty row the editor adds at the end of a table.
    data = draft_post("D3", summary="Sorting")
    data |= {"actions-TOTAL_FORMS": "1", "actions-0-location": "line", "actions-0-action": ""}
    as_user(client, quality_engineer)

    response = client.post(url("eightd:section_action", problem, "D3", "save"), data)

    assert response.status_code == 302
    assert section_of(report, "D3").content == {"summary": "Sorting", "actions": []}


def test_submitting_an_incomplete_answer_shows_the_errors_and_changes_nothing(
    client, problem, report, quality_engineer
):
    as_user(client, quality_engineer)

    scalars = {k: v for k, v in valid_content("D2", [quality_engineer]).items() if k != "is_is_not"}
    action = url("eightd:section_action", problem, "D2", "submit")

    response = client.post(action, draft_post("D2", what="Burr"))
    no_rows = client.post(action, draft_post("D2", **scalars))

    assert response.status_code == no_rows.status_code == 400
    page = response.content.decode()
    assert "This field is required." in page
    assert ">\nBurr</textarea>" in page  # what was typed is still there
    assert "Add at least one row to “Is / is not”." in no_rows.content.decode()
    section = section_of(report, "D2")
    assert (section.state, section.content) == (State.TODO, {})


def test_an_answer_is_submitted_accepted_and_then_locked(client, problem, report, quality_engineer, reviewer):
    data = as_post("D0", valid_content("D0", [quality_engineer]))
    editor = as_user(client, quality_engineer)
    assert editor.post(url("eightd:section_action", problem, "D0", "submit"), data).status_code == 302

    as_user(client, reviewer)
    accepted = client.post(url("eightd:section_action", problem, "D0", "accept"), {"accept-text": "Good"})
    assert accepted.status_code == 302

    as_user(client, quality_engineer)
    refused = client.post(url("eightd:section_action", problem, "D0", "save"), draft_post("D0", symptom="changed"))
    assert refused.status_code == 400
    assert "cannot be edited now" in refused.content.decode()
    section = section_of(report, "D0")
    assert section.state == State.ACCEPTED
    assert section.content["symptom"] == "Burr on the housing flange"
    page = client.get(url("eightd:section", problem, "D0")).content.decode()
    assert 'data-testid="answer-form"' not in page
    # Read-only: the owner's name rather than an id, a choice's label rather than its value.
    assert "<dd>Yes</dd>" in page  # customer informed
    assert '<td data-label="Owner">Qe</td>' in page
    assert "Good" in page


def test_the_author_of_an_answer_is_told_someone_else_reviews_it(client, problem, report, quality_engineer):
    submitted(report, "D1", quality_engineer)
    as_user(client, quality_engineer)

    response = client.post(url("eightd:section_action", problem, "D1", "accept"), {"accept-text": ""})

    assert response.status_code == 400
    assert "Someone other than the author of the answer reviews it." in response.content.decode()
    assert section_of(report, "D1").state == State.SUBMITTED


def test_returning_an_answer_needs_a_reason(client, problem, report, quality_engineer, reviewer):
    submitted(report, "D4", quality_engineer)
    as_user(client, reviewer)
    action = url("eightd:section_action", problem, "D4", "return")

    without = client.post(action, {"return-text": "  "})
    assert without.status_code == 400
    assert section_of(report, "D4").state == State.SUBMITTED

    with_reason = client.post(action, {"return-text": "Escape cause not verified"})
    assert with_reason.status_code == 302
    section = section_of(report, "D4")
    assert (section.state, section.returns) == (State.RETURNED, 1)
    page = client.get(url("eightd:section", problem, "D4")).content.decode()
    assert "Escape cause not verified" in page
    assert 'data-testid="answer-form"' in page  # the team works on it again


def test_reopening_an_accepted_answer_needs_a_reason(client, problem, report, quality_engineer, reviewer):
    solving.accept(submitted(report, "D2", quality_engineer), user=reviewer)
    as_user(client, reviewer)
    action = url("eightd:section_action", problem, "D2", "reopen")

    assert client.post(action, {"reopen-text": ""}).status_code == 400
    assert section_of(report, "D2").state == State.ACCEPTED

    assert client.post(action, {"reopen-text": "Customer found more"}).status_code == 302
    assert section_of(report, "D2").state == State.DRAFT
    history = client.get(url("eightd:section", problem, "D2")).content.decode()
    assert "reopened: Customer found more" in history


def test_only_some_sections_may_be_declared_not_applicable(client, problem, report, quality_engineer):
    as_user(client, quality_engineer)

    assert (
        'action="' + url("eightd:section_action", problem, "D4", "na")
        not in client.get(url("eightd:section", problem, "D4")).content.decode()
    )
    refused = client.post(url("eightd:section_action", problem, "D4", "na"), {"na-text": "No cause"})
    no_reason = client.post(url("eightd:section_action", problem, "D3", "na"), {"na-text": ""})
    done = client.post(url("eightd:section_action", problem, "D3", "na"), {"na-text": "Nothing left to sort"})

    assert refused.status_code == 400
    assert "D4 is part of every 8D." in refused.content.decode()
    assert no_reason.status_code == 400
    assert done.status_code == 302
    assert section_of(report, "D4").state == State.TODO
    d3 = section_of(report, "D3")
    assert (d3.state, d3.na_reason) == (State.NOT_APPLICABLE, "Nothing left to sort")


def test_an_answer_with_a_script_is_shown_as_text(client, problem, report, quality_engineer, reviewer):
    script = "<script>alert(1)</script>"
    as_user(client, quality_engineer)
    client.post(url("eightd:section_action", problem, "D0", "save"), draft_post("D0", symptom=script))

    in_form = client.get(url("eightd:section", problem, "D0")).content.decode()
    solving.submit(section_of(report, "D0"), user=quality_engineer, content=section_of(report, "D0").content)
    as_user(client, reviewer)
    read_only = client.get(url("eightd:section", problem, "D0")).content.decode()

    for page in (in_form, read_only):
        assert script not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --- the problem page ---------------------------------------------------------------------


def test_the_problem_page_shows_the_strip_or_the_start(client, problem, quality_engineer):
    as_user(client, quality_engineer)
    before = client.get(url("problems:detail", problem)).content.decode()
    solving.start_report(problem, user=quality_engineer)
    after = client.get(url("problems:detail", problem)).content.decode()

    assert 'data-testid="eightd-start"' in before
    assert "This grade needs an 8D report; none has been started." in before
    assert 'data-testid="eightd-start"' not in after
    for code in ("D0", "D4", "D8"):
        assert url("eightd:section", problem, code) in after


def test_the_strip_reads_the_sections_in_one_query(rf, problem, report, quality_engineer, reviewer):
    solving.accept(submitted(report, "D0", quality_engineer), user=reviewer)
    request = rf.get("/")
    request.user = quality_engineer

    with CaptureQueriesContext(connection) as queries:
        strip = summary_context(request, problem)["eightd_strip"]

    section_queries = [query for query in queries if '"issues_section"' in query["sql"]]
    assert len(section_queries) == 1
    assert len(queries) <= 2  # and the plant's policy (due-soon hours)
    assert [(row.section.code, row.letter) for row in strip][:2] == [("D0", "G"), ("D1", "R")]
