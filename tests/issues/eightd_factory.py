"""Filling an 8D report in tests: a complete answer per section (as issues.eightd.sections stores it),
the POST an editor would send for it, and a whole report submitted and accepted.

    content = valid_content("D3", [author, reviewer])
    data = as_post("D3", content)                 # what the section editor posts
    report = complete_report(problem, author=qe, reviewer=manager)   # every section accepted
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from issues.common.people import people_of
from issues.eightd import sections, solving
from issues.models import EightDReport, Problem
from issues.problems.intake import Report, report_problem

OCCURRED = dt.datetime(2025, 3, 4, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai, the day shift
DAY = "2025-03-04"
LATER = "2025-03-10"

# A-class defects, intermittent: 10 stays C, 15 is a B, 21 is past the A limit
# (docs/grading.md §Default threshold table).
DEFECTS = {"C": 10, "B": 15, "A": 21}


def graded_problem(line, reporter, grade: str = "A", *, occurred_at: dt.datetime = OCCURRED) -> Problem:
    """A quality problem of `grade` on `line`, stored the way intake stores it."""
    report = Report(
        line=line,
        category="quality",
        title=f"Burr on housing ({grade})",
        occurred_at=occurred_at,
        facts={"defect_class": "A", "defect_count": DEFECTS[grade]},
    )
    problem, _created = report_problem(report, reporter=reporter)
    assert problem.grade == grade
    return problem


def copied(template: Problem, suffix: str, **changes) -> Problem:
    """An unsaved copy of a logged problem, numbered `<number>-<suffix>`, for bulk_create: tests
    that only read problems (query counts, charts) store hundreds in one go."""
    fields = {
        field.attname: getattr(template, field.attname)
        for field in Problem._meta.concrete_fields
        if field.attname not in ("id", "number", "idempotency_key")
    }
    return Problem(**{**fields, **changes}, number=f"{template.number}-{suffix}")


def valid_content(code: str, people: Sequence) -> dict:
    """A complete answer to section `code` naming `people` (users of the plant; the first leads).
    It is exactly what sections.clean_section(complete=True) returns for as_post(code, it)."""
    first, last = people[0].pk, people[-1].pk
    answers = {
        "D0": {
            "symptom": "Burr on the housing flange",
            "emergency_response": "Line stopped, parts quarantined",
            "safety_risk": "no",
            "customer_informed": "yes",
            "actions": [{"action": "Quarantine the shift's output", "owner": first, "done_on": DAY}],
        },
        "D1": {
            "leader": first,
            "champion": last,
            "members": [{"person": person.pk, "department": "Quality", "role_in_team": "member"} for person in people],
        },
        "D2": {
            "what": "Housing 4711, burr on flange",
            "where": "Assembly 1, station 3",
            "when": "Day shift, batch 12",
            "who": "Final inspection",
            "why": "Drawing requires a burr-free edge",
            "how": "Visual check",
            "how_many": "25 of 200",
            "quantity_suspect": 200,
            "quantity_defective": 25,
            "is_is_not": [{"dimension": "where", "is_case": "Line A1", "is_not_case": "Line A2"}],
        },
        "D3": {
            "summary": "All suspect stock sorted",
            "actions": [
                {
                    "action": "Sort the warehouse stock",
                    "location": "warehouse",
                    "quantity_checked": 200,
                    "quantity_bad": 3,
                    "owner": first,
                    "done_on": DAY,
                    "effective": "yes",
                }
            ],
        },
        "D4": {
            "occurrence_cause": "Worn deburring tool",
            "occurrence_verified": "yes",
            "occurrence_evidence": "Tool wear measured 0.3 mm",
            "escape_cause": "No edge check at final inspection",
            "escape_verified": "yes",
            "escape_evidence": "Inspection plan has no edge check",
            "occurrence_whys": [{"why": "The tool was not changed"}],
            "escape_whys": [{"why": "The check was never planned"}],
            "fishbone": [{"family": "machine", "side": "occurrence", "cause": "Tool wear", "confirmed": True}],
        },
        "D5": {
            "short_term": "Change the tool every shift",
            "risk": "",
            "actions": [{"action": "Tool life counter", "addresses": "occurrence", "owner": first, "due_on": LATER}],
        },
        "D6": {
            "validation_summary": "Three weeks without a burr",
            "actions": [
                {
                    "action": "Tool life counter",
                    "owner": first,
                    "due_on": LATER,
                    "status": "done",
                    "done_on": LATER,
                    "evidence": "Counter installed, log attached",
                    "validation": "yes",
                }
            ],
        },
        "D7": {
            "lesson": "Deburring tools need a life counter",
            "product": "Housing 4711",
            "pfmea_status": "updated",
            "pfmea_reference": "PFMEA-12 rev C",
            "pfmea_reason": "",
            "dfmea_status": "na",
            "dfmea_reference": "",
            "dfmea_reason": "Design not concerned",
            "control_plan_status": "updated",
            "control_plan_reference": "CP-7 rev D",
            "control_plan_reason": "",
            "work_instruction_status": "updated",
            "work_instruction_reference": "WI-33 rev B",
            "work_instruction_reason": "",
            "deployment": [{"target": "Line A2", "action": "Same counter", "owner": last, "status": "in_progress"}],
        },
        "D8": {
            "summary": "Closed with the customer's agreement",
            "recognition": "Thanks to the night shift",
            "signoffs": [{"person": last, "function": "Quality manager", "signed_on": LATER}],
        },
    }
    return answers[code]


def _posted(value) -> str | None:
    """A stored value as a browser posts it (None: the field is absent, as an unticked box)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else None
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def as_post(code: str, content: dict) -> dict[str, str]:
    """The editor's POST for `content`: scalars under the prefix "s", each table as a formset
    (a row with "DELETE": True is posted as deleted)."""
    tables = sections.FORMS[code].tables
    data: dict[str, str] = {}
    fields = [(f"s-{name}", value) for name, value in content.items() if name not in tables]
    for table in tables:
        rows = content.get(table) or []
        data |= {
            f"{table}-TOTAL_FORMS": str(len(rows)),
            f"{table}-INITIAL_FORMS": "0",
            f"{table}-MIN_NUM_FORMS": "0",
            f"{table}-MAX_NUM_FORMS": str(sections.MAX_ROWS),
        }
        fields += [(f"{table}-{index}-{key}", value) for index, row in enumerate(rows) for key, value in row.items()]
    for key, value in fields:
        posted = _posted(value)
        if posted is not None:
            data[key] = posted
    return data


def clean_answer(problem: Problem, code: str, content: dict) -> dict:
    """`content` through the section's form, as a submit would store it; fails the test with
    the form's errors when the answer is not complete."""
    cleaned, form, formsets = sections.clean_section(
        code, as_post(code, content), people=people_of(problem.plant_id), complete=True
    )
    errors = [form.errors, *(formset.errors for formset in formsets.values())]
    assert cleaned is not None, f"{code} is not complete: {errors}"
    return cleaned


def complete_report(problem: Problem, author, reviewer, *, now: dt.datetime | None = None) -> EightDReport:
    """Start the problem's 8D and have `author` submit every section with valid content and
    `reviewer` accept it, D0 to D8 (the problem moves on to "verifying" on the way)."""
    report = solving.start_report(problem, user=author, now=now)
    for section in report.sections.order_by("code"):
        content = clean_answer(problem, section.code, valid_content(section.code, [author, reviewer]))
        solving.submit(section, user=author, content=content, now=now)
        solving.accept(section, user=reviewer, now=now)
    return report
