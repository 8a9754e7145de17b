"""The 8D section forms (issues.eightd.sections): drafts keep whatever is filled, submits need a
complete answer and its cross-field rules, person fields take only the plant's people, and the
stored JSON is plain (ids, ISO dates)."""

from __future__ import annotations

import datetime as dt

import pytest
from django import forms
from django.utils import translation

from issues.common.people import people_of
from issues.eightd import sections
from issues.eightd.rules import SECTIONS, checklist_errors, checklist_from
from tests.issues.eightd_factory import as_post, valid_content

pytestmark = pytest.mark.django_db

PERSON = object()  # stands for a person of the plant, whose id the test knows only at run time

# One field of each section, filled alone.
ONE_FIELD = {
    "D0": ("symptom", "Burr on flange"),
    "D1": ("leader", PERSON),
    "D2": ("what", "Burr"),
    "D3": ("summary", "Sorting started"),
    "D4": ("occurrence_cause", "Worn tool"),
    "D5": ("short_term", "Change tool each shift"),
    "D6": ("validation_summary", "Running"),
    "D7": ("lesson", "Count tool life"),
    "D8": ("summary", "Done"),
}


@pytest.fixture
def people(world, quality_engineer, team_leader):
    return people_of(world.plant.pk)


@pytest.fixture
def team(quality_engineer, team_leader):
    return [quality_engineer, team_leader]


def clean(code, content, people, *, complete=True):
    return sections.clean_section(code, as_post(code, content), people=people, complete=complete)


def errors_of(form, formsets) -> dict:
    """Every error message by where it is shown: a field name, "__all__", or "table.field"."""
    found = {name: list(messages) for name, messages in form.errors.items()}
    for table, formset in formsets.items():
        for row in formset.errors:
            for name, messages in row.items():
                found.setdefault(f"{table}.{name}", []).extend(messages)
    return found


@pytest.mark.parametrize("code", SECTIONS)
def test_a_draft_with_one_field_saves_but_the_same_answer_cannot_be_submitted(code, people, team):
    name, value = ONE_FIELD[code]
    content = {name: team[0].pk if value is PERSON else value}

    draft, _, _ = clean(code, content, people, complete=False)
    submitted, form, formsets = clean(code, content, people)

    assert draft[name] == content[name]
    assert all(table in draft and draft[table] == [] for table in sections.FORMS[code].tables)
    assert submitted is None
    assert errors_of(form, formsets)


@pytest.mark.parametrize("code", SECTIONS)
def test_a_complete_answer_is_stored_exactly_as_given(code, people, team):
    content = valid_content(code, team)

    cleaned, form, formsets = clean(code, content, people)

    assert errors_of(form, formsets) == {}
    assert cleaned == content


def test_the_d7_answer_is_a_complete_closure_checklist(team):
    checklist = checklist_from(valid_content("D7", team))

    assert checklist["pfmea"] == {"status": "updated", "reference": "PFMEA-12 rev C", "reason": ""}
    assert checklist["dfmea"] == {"status": "na", "reference": "", "reason": "Design not concerned"}
    assert checklist_errors(checklist) == {}


def first_row(table: str, **changes):
    def change(content):
        content[table][0].update(changes)

    return change


def scalar(**changes):
    return lambda content: content.update(changes)


def no_rows(table: str):
    return scalar(**{table: []})


ADD_A_ROW = "Add at least one row"

# (code, how the complete answer is spoiled, where the error shows, what it says, also in a draft?)
BROKEN = {
    "D2 more defective than suspect": (
        "D2",
        scalar(quantity_suspect=10, quantity_defective=11),
        "quantity_defective",
        "More defective than suspect parts.",
        True,
    ),
    "D3 more bad than checked": (
        "D3",
        first_row("actions", quantity_checked=5, quantity_bad=6),
        "actions.quantity_bad",
        "More found bad than checked.",
        True,
    ),
    "D3 action without owner": (
        "D3",
        first_row("actions", owner=None),
        "__all__",
        "Every containment action needs an owner, a date and its effectiveness.",
        False,
    ),
    "D3 action without date": (
        "D3",
        first_row("actions", done_on=None),
        "__all__",
        "Every containment action needs an owner, a date and its effectiveness.",
        False,
    ),
    "D3 action without effectiveness": (
        "D3",
        first_row("actions", effective=""),
        "__all__",
        "Every containment action needs an owner, a date and its effectiveness.",
        False,
    ),
    "D4 occurrence verified without evidence": (
        "D4",
        scalar(occurrence_evidence=""),
        "occurrence_evidence",
        "A verified cause needs its evidence.",
        False,
    ),
    "D4 escape verified without evidence": (
        "D4",
        scalar(escape_evidence=""),
        "escape_evidence",
        "A verified cause needs its evidence.",
        False,
    ),
    "D6 action not done": (
        "D6",
        first_row("actions", status="in_progress"),
        "__all__",
        "Every action must be done, with evidence, and validated as effective.",
        False,
    ),
    "D6 action not validated": (
        "D6",
        first_row("actions", validation="pending"),
        "__all__",
        "Every action must be done, with evidence, and validated as effective.",
        False,
    ),
    "D6 action without evidence": (
        "D6",
        first_row("actions", evidence=""),
        "__all__",
        "Every action must be done, with evidence, and validated as effective.",
        False,
    ),
    "D7 updated without reference": (
        "D7",
        scalar(pfmea_reference=" "),
        "pfmea_status",
        "Give the reference of the updated document.",
        False,
    ),
    "D7 not applicable without reason": (
        "D7",
        scalar(dfmea_reason=""),
        "dfmea_status",
        "Say why it does not apply.",
        False,
    ),
    "D7 document not answered": (
        "D7",
        scalar(control_plan_status=""),
        "control_plan_status",
        "Updated or not applicable?",
        False,
    ),
    "D1 without members": ("D1", no_rows("members"), "__all__", ADD_A_ROW, False),
    "D2 without is/is not": ("D2", no_rows("is_is_not"), "__all__", ADD_A_ROW, False),
    "D3 without actions": ("D3", no_rows("actions"), "__all__", ADD_A_ROW, False),
    "D4 without whys of occurrence": ("D4", no_rows("occurrence_whys"), "__all__", ADD_A_ROW, False),
    "D4 without whys of escape": ("D4", no_rows("escape_whys"), "__all__", ADD_A_ROW, False),
    "D5 without actions": ("D5", no_rows("actions"), "__all__", ADD_A_ROW, False),
    "D6 without actions": ("D6", no_rows("actions"), "__all__", ADD_A_ROW, False),
    "D8 without sign-offs": ("D8", no_rows("signoffs"), "__all__", ADD_A_ROW, False),
}


@pytest.mark.parametrize(("code", "spoil", "where", "message", "in_draft"), BROKEN.values(), ids=BROKEN.keys())
def test_a_submit_breaking_a_rule_is_refused_with_the_error_where_it_belongs(
    code, spoil, where, message, in_draft, people, team
):
    content = valid_content(code, team)
    spoil(content)

    submitted, form, formsets = clean(code, content, people)
    draft, draft_form, draft_formsets = clean(code, content, people, complete=False)

    assert submitted is None
    assert any(text.startswith(message) for text in errors_of(form, formsets).get(where, []))
    assert (draft is None) is in_draft, errors_of(draft_form, draft_formsets)


# (code, table or None for a scalar, person field)
PERSON_FIELDS = {
    "D1 leader": ("D1", None, "leader"),
    "D1 member": ("D1", "members", "person"),
    "D3 containment owner": ("D3", "actions", "owner"),
    "D8 sign-off": ("D8", "signoffs", "person"),
}


@pytest.mark.parametrize(("code", "table", "field"), PERSON_FIELDS.values(), ids=PERSON_FIELDS.keys())
def test_a_person_outside_the_given_people_is_an_error(code, table, field, people, team, outsider):
    content = valid_content(code, team)
    (content[table][0] if table else content)[field] = outsider.pk

    cleaned, form, formsets = clean(code, content, people)

    assert cleaned is None
    assert list(errors_of(form, formsets)) == [f"{table}.{field}" if table else field]


def test_the_same_person_is_accepted_when_the_given_people_include_them(people, team, outsider, other_world):
    content = valid_content("D1", team)
    content["members"][0]["person"] = outsider.pk

    cleaned, _, _ = clean("D1", content, people | people_of(other_world.plant.pk))

    assert cleaned["members"][0]["person"] == outsider.pk


def test_dates_are_stored_as_iso_text_and_people_as_ids(people, team):
    cleaned, _, _ = clean("D8", valid_content("D8", team), people)

    assert cleaned["signoffs"][0]["signed_on"] == "2025-03-10"
    assert cleaned["signoffs"][0]["person"] == team[-1].pk


def test_rows_marked_deleted_are_dropped_even_when_they_are_incomplete(people, team):
    content = valid_content("D1", team)
    content["members"].append({"person": None, "department": "Logistics", "DELETE": True})

    cleaned, form, formsets = clean("D1", content, people)

    assert errors_of(form, formsets) == {}
    assert [row["person"] for row in cleaned["members"]] == [person.pk for person in team]


def test_a_stored_answer_fills_the_editor_again(people, team):
    content = valid_content("D3", team)

    form, formsets = sections.build("D3", content=content, people=people)

    assert form.initial == {"summary": "All suspect stock sorted"}
    assert formsets["actions"].initial == content["actions"]
    assert len(formsets["actions"].forms) == 2  # the stored row and one empty row to add


PEOPLE_NAMED = [
    ("D1", lambda team: {"leader": team[0].pk, "members": [{"person": team[1].pk}, {"person": None}]}, [0, 1]),
    ("D1", lambda team: {"leader": "7", "champion": None, "members": [{"person": "x"}]}, []),
    ("D3", lambda team: {"actions": [{"owner": team[1].pk}, {"owner": None}, {}]}, [1]),
    ("D7", lambda team: valid_content("D7", team), [1]),
    ("D8", lambda team: {"signoffs": [{"person": team[0].pk}, {"person": team[1].pk}]}, [0, 1]),
    ("D2", lambda team: valid_content("D2", team), []),
]


@pytest.mark.parametrize(("code", "content", "named"), PEOPLE_NAMED)
def test_people_ids_finds_every_person_an_answer_names_in_fields_and_rows(code, content, named, team):
    assert sections.people_ids(code, content(team)) == {team[index].pk for index in named}


# One rule for how an answer reads, on the section page (language None: the active one) and in
# the printout ("en", "zh-hans", "both").
PERSON_FIELD = sections.D1Form.base_fields["leader"]
CHOICE_FIELD = sections.FORMS["D0"].base_fields["customer_informed"]
YES_NO_FIELD = sections.FishboneRow.base_fields["confirmed"]
TEXT_FIELD = sections.FORMS["D0"].base_fields["symptom"]


@pytest.mark.parametrize(
    ("field", "value", "language", "shown"),
    [
        (TEXT_FIELD, None, None, ""),
        (TEXT_FIELD, "", "en", ""),
        (TEXT_FIELD, [], "both", ""),
        (TEXT_FIELD, "Burr <b>", None, "Burr <b>"),
        (PERSON_FIELD, 7, None, "Wang Wei"),
        (PERSON_FIELD, 7, "zh-hans", "Wang Wei"),
        (PERSON_FIELD, 8, None, "#8"),  # somebody no longer among the names read
        (YES_NO_FIELD, True, "en", "Yes"),
        (YES_NO_FIELD, False, "en", "No"),
        (YES_NO_FIELD, False, "zh-hans", "否"),
        (YES_NO_FIELD, True, "both", "Yes / 是"),
        (YES_NO_FIELD, None, "en", ""),  # never answered is not "No"
        (CHOICE_FIELD, "na", "en", "Not applicable"),
        (CHOICE_FIELD, "yes", "zh-hans", "是"),
        (CHOICE_FIELD, "retired", "en", "retired"),  # a choice removed since: the stored value
        (forms.DateField(), "2025-03-10", None, "2025-03-10"),
        (forms.DateField(), dt.date(2025, 3, 9), "en", "2025-03-09"),
        (forms.DateField(), "next week", "en", "next week"),
    ],
)
def test_an_answer_reads_the_same_on_the_page_and_in_the_printout(field, value, language, shown):
    with translation.override("en"):
        assert sections.answer_text(field, value, {7: "Wang Wei"}, language) == shown


def test_on_the_page_an_answer_reads_in_the_readers_language():
    with translation.override("zh-hans"):
        assert sections.answer_text(CHOICE_FIELD, "yes", {}) == "是"
