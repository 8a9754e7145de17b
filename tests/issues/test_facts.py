"""clean_facts: the one validator the intake form and the API share (issues/grading/facts.py)."""

from __future__ import annotations

import pytest

from issues.grading.facts import clean_facts


def case(description: str, category: str, raw: dict, expected: dict):
    return pytest.param(category, raw, expected, id=description)


@pytest.mark.parametrize(
    ("category", "raw", "expected"),
    [
        case(
            "a count given as text is a whole number",
            "quality",
            {"customer_return_count": "5"},
            {"customer_return_count": 5},
        ),
        case(
            "a count with spaces around is accepted",
            "quality",
            {"teardown_hard_failures": " 2 "},
            {"teardown_hard_failures": 2},
        ),
        case(
            "a count written 3.0 is the whole number 3",
            "quality",
            {"zero_tolerance_count": "3.0"},
            {"zero_tolerance_count": 3},
        ),
        case("zero is a count, not an absence", "quality", {"zero_tolerance_count": 0}, {"zero_tolerance_count": 0}),
        case("minutes may be fractional", "equipment", {"downtime_minutes": "60.5"}, {"downtime_minutes": 60.5}),
        case("whole minutes stay whole", "equipment", {"downtime_minutes": "121"}, {"downtime_minutes": 121}),
        case("a percentage may be fractional", "people", {"shortage_percent": 10.5}, {"shortage_percent": 10.5}),
        case(
            "one million is the largest number",
            "safety",
            {"hazard_risk_score": "1000000"},
            {"hazard_risk_score": 1000000},
        ),
        case("an empty number is absent", "equipment", {"downtime_minutes": ""}, {}),
        case("a blank number is absent", "equipment", {"downtime_minutes": "   "}, {}),
        case("a None number is absent", "equipment", {"downtime_minutes": None}, {}),
        case("a lower-case defect class is upper-cased", "quality", {"defect_class": " b "}, {"defect_class": "B"}),
        case(
            "a class without counts is accepted",
            "equipment",
            {"characteristic_class": "a"},
            {"characteristic_class": "A"},
        ),
        case(
            "a defect count with its class is accepted",
            "quality",
            {"defect_class": "A", "defect_count": "15"},
            {"defect_class": "A", "defect_count": 15},
        ),
        case(
            "a run equal to the total is accepted",
            "quality",
            {"defect_class": "C", "defect_count": 6, "consecutive_count": 6},
            {"defect_class": "C", "defect_count": 6, "consecutive_count": 6},
        ),
        case(
            "a run without a total is accepted",
            "quality",
            {"defect_class": "C", "consecutive_count": 6},
            {"defect_class": "C", "consecutive_count": 6},
        ),
        case("no facts at all is fine", "safety", {}, {}),
    ],
)
def test_valid_facts_are_cleaned_to_typed_values(category, raw, expected):
    facts, errors = clean_facts(category, raw)

    assert errors == {}
    assert facts == expected
    assert {type(value) for value in facts.values()} == {type(value) for value in expected.values()}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(True, True, id="True"),
        pytest.param("true", True, id="true"),
        pytest.param("TRUE", True, id="TRUE"),
        pytest.param("yes", True, id="yes"),
        pytest.param(" Yes ", True, id="Yes with spaces"),
        pytest.param("on", True, id="on (an HTML checkbox)"),
        pytest.param("1", True, id="the text 1"),
        pytest.param(1, True, id="the number 1"),
        pytest.param(False, None, id="False"),
        pytest.param("false", None, id="false"),
        pytest.param("No", None, id="No"),
        pytest.param("off", None, id="off"),
        pytest.param("0", None, id="the text 0"),
        pytest.param(0, None, id="the number 0"),
        pytest.param("", None, id="an empty string"),
        pytest.param(None, None, id="None"),
    ],
)
def test_yes_no_facts_accept_several_spellings_and_drop_no(raw, expected):
    facts, errors = clean_facts("safety", {"incident": raw})

    assert errors == {}
    assert facts.get("incident") is expected


@pytest.mark.parametrize(
    ("category", "raw", "field", "message"),
    [
        pytest.param(
            "quality",
            {"customer_return_count": "-1"},
            "customer_return_count",
            "Must be zero or more.",
            id="a negative count",
        ),
        pytest.param(
            "equipment", {"downtime_minutes": -0.5}, "downtime_minutes", "Must be zero or more.", id="negative minutes"
        ),
        pytest.param(
            "quality",
            {"customer_return_count": "five"},
            "customer_return_count",
            "Must be a number.",
            id="a word for a count",
        ),
        pytest.param(
            "equipment",
            {"downtime_minutes": "1h"},
            "downtime_minutes",
            "Must be a number.",
            id="a unit after the minutes",
        ),
        pytest.param("equipment", {"downtime_minutes": "NaN"}, "downtime_minutes", "Must be a number.", id="NaN"),
        pytest.param(
            "equipment", {"downtime_minutes": "Infinity"}, "downtime_minutes", "Must be a number.", id="infinity"
        ),
        pytest.param(
            "equipment", {"downtime_minutes": True}, "downtime_minutes", "Must be a number.", id="a boolean for minutes"
        ),
        pytest.param(
            "equipment",
            {"downtime_minutes": "1000001"},
            "downtime_minutes",
            "Must be at most 1,000,000.",
            id="more than a million",
        ),
        pytest.param(
            "quality",
            {"customer_return_count": "2.5"},
            "customer_return_count",
            "Must be a whole number.",
            id="a fraction for a count",
        ),
        pytest.param(
            "quality",
            {"defect_count": 0.1, "defect_class": "A"},
            "defect_count",
            "Must be a whole number.",
            id="a small fraction for a defect count",
        ),
        pytest.param("quality", {"defect_class": "D"}, "defect_class", "Must be A, B or C.", id="defect class D"),
        pytest.param("quality", {"defect_class": "AB"}, "defect_class", "Must be A, B or C.", id="defect class AB"),
        pytest.param(
            "equipment",
            {"characteristic_class": "1"},
            "characteristic_class",
            "Must be A, B or C.",
            id="characteristic class 1",
        ),
        pytest.param("safety", {"incident": "maybe"}, "incident", "Must be true or false.", id="maybe for yes/no"),
        pytest.param("safety", {"incident": 2}, "incident", "Must be true or false.", id="2 for yes/no"),
        pytest.param(
            "quality",
            {"downtime_minutes": 5},
            "downtime_minutes",
            "Not a fact of this category.",
            id="an equipment fact on a quality problem",
        ),
        pytest.param(
            "quality", {"defect_cnt": 5}, "defect_cnt", "Not a fact of this category.", id="a misspelt fact name"
        ),
        pytest.param(
            "widgets",
            {"defect_count": 5},
            "defect_count",
            "Not a fact of this category.",
            id="any fact of an unknown category",
        ),
        pytest.param(
            "quality",
            {"defect_count": 15},
            "defect_class",
            "Give the defect class (A, B or C) so the count can be graded.",
            id="a count without class",
        ),
        pytest.param(
            "quality",
            {"consecutive_count": 3},
            "defect_class",
            "Give the defect class (A, B or C) so the count can be graded.",
            id="a run without class",
        ),
        pytest.param(
            "quality",
            {"defect_class": "A", "defect_count": 5, "consecutive_count": 6},
            "consecutive_count",
            "A consecutive run cannot exceed the shift's total defects.",
            id="a run longer than the total",
        ),
    ],
)
def test_invalid_facts_are_reported_against_the_field(category, raw, field, message):
    _facts, errors = clean_facts(category, raw)

    assert errors == {field: [message]}


def test_unknown_fact_names_are_dropped_silently_when_not_strict():
    facts, errors = clean_facts("quality", {"defect_cnt": 5, "customer_complaint": "yes"}, strict=False)

    assert (facts, errors) == ({"customer_complaint": True}, {})


def test_every_bad_field_is_reported_at_once():
    _facts, errors = clean_facts(
        "quality", {"defect_count": "-3", "customer_complaint": "perhaps", "defect_class": "Z", "colour": "red"}
    )

    assert set(errors) == {"defect_count", "customer_complaint", "defect_class", "colour"}


def test_the_cross_checks_wait_until_every_field_is_valid():
    _facts, errors = clean_facts("quality", {"defect_count": "15", "customer_return_count": "x"})

    assert errors == {"customer_return_count": ["Must be a number."]}
