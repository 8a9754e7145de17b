"""Grading (docs/grading.md §How a grade is decided; the rules of docs/grading.md §Default threshold table).

The first part grades with the table the data migration seeded (the plant's own copy,
loaded as production loads it); the second part tests `grading.grade` as a pure function
with a small hand-built table, independent of the seed.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from issues.grading import rules as grading
from issues.grading.facts import FACTS, clean_facts
from issues.grading.rules import Rule, Table
from issues.grading.thresholds import as_grading_table, current_table
from tests.conftest import build_plant

pytestmark = pytest.mark.django_db  # the seeded table is read from the test database


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker) -> Table:
    """A new plant's current table: its copy of the default template seeded by migration 0002.
    A plain value, so one plant serves the whole module (in a transaction rolled back at once)."""
    with django_db_blocker.unblock(), transaction.atomic():
        table = as_grading_table(current_table(build_plant().plant))
        transaction.set_rollback(True)
    return table


def case(description: str, category: str, facts: dict, expected: str):
    return pytest.param(category, facts, expected, id=description)


# (defect class, intermittent B band, consecutive B band), as in docs/grading.md §Default threshold table.
DEFECT_BANDS = [("A", (10, 20), (5, 10)), ("B", (20, 40), (10, 20)), ("C", (40, 60), (20, 40))]


def defect_band_cases():
    for defect_class, (i_low, i_high), (c_low, c_high) in DEFECT_BANDS:
        for count, expected in ((i_low, "C"), (i_low + 1, "B"), (i_high, "B"), (i_high + 1, "A")):
            yield case(
                f"{defect_class}-class defects {count} intermittent is {expected}",
                "quality",
                {"defect_class": defect_class, "defect_count": count},
                expected,
            )
        for run, expected in ((c_low, "C"), (c_low + 1, "B"), (c_high, "B"), (c_high + 1, "A")):
            yield case(
                f"{defect_class}-class defects {run} consecutive is {expected}",
                "quality",
                {"defect_class": defect_class, "consecutive_count": run},
                expected,
            )
        yield case(
            f"{defect_class}-class defects at both C limits together stay C",
            "quality",
            {"defect_class": defect_class, "defect_count": i_low, "consecutive_count": c_low},
            "C",
        )
        yield case(
            f"{defect_class}-class defects in the B band with a run above the A limit is A",
            "quality",
            {"defect_class": defect_class, "defect_count": i_high, "consecutive_count": c_high + 1},
            "A",
        )


@pytest.mark.parametrize(("category", "facts", "expected"), list(defect_band_cases()))
def test_quality_defect_counts_are_graded_by_the_band_of_their_defect_class(seeded, category, facts, expected):
    assert grading.grade(category, facts, seeded).grade == expected


@pytest.mark.parametrize(
    ("defect_class", "count", "expected"),
    [
        pytest.param("A", 15, "B", id="15 defects are B for an A-class characteristic"),
        pytest.param("B", 15, "C", id="15 defects are C for a B-class characteristic"),
        pytest.param("C", 15, "C", id="15 defects are C for a C-class characteristic"),
        pytest.param("A", 45, "A", id="45 defects are A for an A-class characteristic"),
        pytest.param("B", 45, "A", id="45 defects are A for a B-class characteristic"),
        pytest.param("C", 45, "B", id="45 defects are B for a C-class characteristic"),
        pytest.param(None, 500, "C", id="a count without a defect class fires no band"),
    ],
)
def test_the_defect_class_of_the_characteristic_chooses_the_band(seeded, defect_class, count, expected):
    facts = {"defect_count": count} | ({"defect_class": defect_class} if defect_class else {})

    assert grading.grade("quality", facts, seeded).grade == expected


@pytest.mark.parametrize(
    ("category", "facts", "expected"),
    [
        case("a customer complaint is A", "quality", {"customer_complaint": True}, "A"),
        case("no customer complaint is C", "quality", {"customer_complaint": False}, "C"),
        case("4 customer returns are not A", "quality", {"customer_return_count": 4}, "C"),
        case("5 customer returns are A", "quality", {"customer_return_count": 5}, "A"),
        case("a failed poka-yoke station is A", "quality", {"poka_yoke_failure": True}, "A"),
        case("a batch problem is A", "quality", {"batch_problem": True}, "A"),
        case("1 teardown hard failure is not A", "quality", {"teardown_hard_failures": 1}, "C"),
        case("2 teardown hard failures are A", "quality", {"teardown_hard_failures": 2}, "A"),
        case("0 zero-tolerance defects are C", "quality", {"zero_tolerance_count": 0}, "C"),
        case("1 zero-tolerance defect is B", "quality", {"zero_tolerance_count": 1}, "B"),
        case("missing records are C", "quality", {"records_missing": True}, "C"),
        case("an operation off the standard work is C", "quality", {"nonstandard_operation": True}, "C"),
    ],
)
def test_other_quality_rules_fire_on_the_right_side_of_each_limit(seeded, category, facts, expected):
    assert grading.grade(category, facts, seeded).grade == expected


@pytest.mark.parametrize(
    ("category", "facts", "expected"),
    [
        case("a failed function for A-class characteristics is A", "equipment", {"characteristic_class": "A"}, "A"),
        case("a failed function for B-class characteristics is B", "equipment", {"characteristic_class": "B"}, "B"),
        case("a failed function for C-class characteristics is C", "equipment", {"characteristic_class": "C"}, "C"),
        case("60 min downtime is C", "equipment", {"downtime_minutes": 60}, "C"),
        case("60.5 min downtime is B", "equipment", {"downtime_minutes": 60.5}, "B"),
        case("61 min downtime is B", "equipment", {"downtime_minutes": 61}, "B"),
        case("120 min downtime is B", "equipment", {"downtime_minutes": 120}, "B"),
        case("121 min downtime is A", "equipment", {"downtime_minutes": 121}, "A"),
        case("a missing critical spare is B", "equipment", {"critical_spare_missing": True}, "B"),
        case("a missed efficiency target is C", "equipment", {"efficiency_missed": True}, "C"),
        case("missed planned maintenance is C", "equipment", {"maintenance_missed": True}, "C"),
    ],
)
def test_equipment_rules_fire_on_the_right_side_of_each_limit(seeded, category, facts, expected):
    assert grading.grade(category, facts, seeded).grade == expected


@pytest.mark.parametrize(
    ("category", "facts", "expected"),
    [
        case("environment out of limits 60 min is C", "utilities", {"environment_out_minutes": 60}, "C"),
        case("environment out of limits 61 min is B", "utilities", {"environment_out_minutes": 61}, "B"),
        case("environment out of limits 120 min is B", "utilities", {"environment_out_minutes": 120}, "B"),
        case("environment out of limits 121 min is A", "utilities", {"environment_out_minutes": 121}, "A"),
        case("a 60 min interruption is C", "utilities", {"interruption_minutes": 60}, "C"),
        case("a 61 min interruption is B", "utilities", {"interruption_minutes": 61}, "B"),
        case("a 120 min interruption is B", "utilities", {"interruption_minutes": 120}, "B"),
        case("a 121 min interruption is A", "utilities", {"interruption_minutes": 121}, "A"),
        case("utility maintenance missed is C", "utilities", {"maintenance_missed": True}, "C"),
        case("special equipment not inspected is C", "utilities", {"special_equipment_uninspected": True}, "C"),
    ],
)
def test_utilities_rules_fire_on_the_right_side_of_each_limit(seeded, category, facts, expected):
    assert grading.grade(category, facts, seeded).grade == expected


@pytest.mark.parametrize(
    ("category", "facts", "expected"),
    [
        case("a 60 min material line stop is C", "material", {"line_stop_minutes": 60}, "C"),
        case("a 61 min material line stop is B", "material", {"line_stop_minutes": 61}, "B"),
        case("a 120 min material line stop is B", "material", {"line_stop_minutes": 120}, "B"),
        case("a 121 min material line stop is A", "material", {"line_stop_minutes": 121}, "A"),
        case("waiting 30 min for material is C", "material", {"waiting_minutes": 30}, "C"),
        case("waiting 31 min for material is B", "material", {"waiting_minutes": 31}, "B"),
        case(
            "abnormal incoming material affecting delivery is A",
            "material",
            {"incoming_abnormal": True, "delivery_affected": True},
            "A",
        ),
        case(
            "abnormal incoming material not affecting delivery is B",
            "material",
            {"incoming_abnormal": True, "delivery_affected": False},
            "B",
        ),
        case(
            "abnormal incoming material with delivery not mentioned is B", "material", {"incoming_abnormal": True}, "B"
        ),
        case("delivery affected without abnormal incoming material is C", "material", {"delivery_affected": True}, "C"),
        case("a packaging issue only is C", "material", {"packaging_issue": True}, "C"),
    ],
)
def test_material_rules_fire_on_the_right_side_of_each_limit(seeded, category, facts, expected):
    assert grading.grade(category, facts, seeded).grade == expected


@pytest.mark.parametrize(
    ("category", "facts", "expected"),
    [
        case("a major hazard is A", "safety", {"major_hazard": True}, "A"),
        case("an accident is A", "safety", {"accident": True}, "A"),
        case("risk score 150 is C", "safety", {"hazard_risk_score": 150}, "C"),
        case("risk score 150.5 is B", "safety", {"hazard_risk_score": 150.5}, "B"),
        case("risk score 151 is B", "safety", {"hazard_risk_score": 151}, "B"),
        case("an incident is B", "safety", {"incident": True}, "B"),
        case("a procedure violation is C", "safety", {"procedure_violation": True}, "C"),
        case("a staff shortage of 10 % is C", "people", {"shortage_percent": 10}, "C"),
        case("a staff shortage of 10.5 % is A", "people", {"shortage_percent": 10.5}, "A"),
        case("a staff shortage of 11 % is A", "people", {"shortage_percent": 11}, "A"),
        case("a serious discipline breach is A", "people", {"discipline_breach": True}, "A"),
        case("A/B process requirements not executed is B", "people", {"ab_process_not_executed": True}, "B"),
        case("an individual absence is C", "people", {"individual_absence": True}, "C"),
    ],
)
def test_safety_and_people_rules_fire_on_the_right_side_of_each_limit(seeded, category, facts, expected):
    assert grading.grade(category, facts, seeded).grade == expected


@pytest.mark.parametrize(
    ("category", "facts"),
    [
        pytest.param("quality", {}, id="quality"),
        pytest.param("equipment", {}, id="equipment"),
        pytest.param("utilities", {}, id="utilities"),
        pytest.param("material", {}, id="material"),
        pytest.param("safety", {}, id="safety"),
        pytest.param("people", {}, id="people"),
        pytest.param("equipment", {"customer_complaint": True}, id="equipment with a quality fact"),
        pytest.param("people", {"downtime_minutes": 500}, id="people with an equipment fact"),
    ],
)
def test_a_problem_that_fires_no_rule_of_its_category_is_c_with_the_plain_explanation(seeded, category, facts):
    result = grading.grade(category, facts, seeded)

    assert (result.grade, result.base_grade, result.rules) == ("C", "C", ())
    assert result.explanation("en") == "C: no B or A alarm limit reached; tracked and improved"
    assert result.explanation("zh-hans") == "C: 未达到任何 B 或 A 报警限值，跟踪改进"


BOOLEAN_FACTS = [
    pytest.param(category, fact.name, id=f"{category} {fact.name}")
    for category, facts in FACTS.items()
    for fact in facts
    if fact.kind == "bool"
]


@pytest.mark.parametrize(("category", "fact"), BOOLEAN_FACTS)
def test_a_yes_no_fact_fires_only_when_it_is_true(seeded, category, fact):
    assert grading.grade(category, {fact: False}, seeded).rules == ()
    assert grading.grade(category, {fact: None}, seeded).rules == ()
    assert grading.grade(category, {fact: "yes"}, seeded).rules == (), "uncleaned text is not True"


def test_every_seeded_rule_reads_a_fact_the_intake_can_supply(seeded):
    recurrence_facts = {"prior_occurrences", "base_grade"}
    for rule in seeded.rules:
        known = recurrence_facts if rule.category == "recurrence" else {fact.name for fact in FACTS[rule.category]}
        assert rule.fact in known, rule.code
        assert not rule.when_fact or rule.when_fact in known, rule.code


def test_facts_cleaned_from_form_text_grade_like_typed_values(seeded):
    facts, errors = clean_facts("quality", {"defect_class": "a", "defect_count": "15", "records_missing": "on"})

    assert errors == {}
    assert grading.grade("quality", facts, seeded).explanation("en") == (
        "B: 15 A-class defects intermittently this shift, limit 10 < n ≤ 20"
    )


def test_the_explanation_names_the_value_and_the_limit_in_english_and_chinese(seeded):
    result = grading.grade("quality", {"defect_class": "A", "defect_count": 15}, seeded)

    assert result.explanation("en") == "B: 15 A-class defects intermittently this shift, limit 10 < n ≤ 20"
    assert result.explanation("zh-hans") == "B: 本班 A 类缺陷间断性 15 件，限值 10 < n ≤ 20"


@pytest.mark.parametrize(
    ("category", "facts", "english"),
    [
        case(
            "a run above the A limit shows n > limit",
            "quality",
            {"defect_class": "B", "consecutive_count": 21},
            "A: 21 B-class defects in a row, limit n > 20",
        ),
        case(
            "an at-least rule shows n ≥ limit",
            "quality",
            {"customer_return_count": 7},
            "A: 7 pieces returned by the customer, same batch and failure, limit n ≥ 5",
        ),
        case(
            "a fractional value is printed as given",
            "people",
            {"shortage_percent": 12.5},
            "A: workshop short of staff by 12.5 %, limit n > 10",
        ),
        case(
            "a yes/no rule has no limit",
            "safety",
            {"incident": True},
            "B: a safety or environmental incident (no injury or damage)",
        ),
    ],
)
def test_explanations_print_limits_without_trailing_decimals(seeded, category, facts, english):
    assert grading.grade(category, facts, seeded).explanation("en") == english


def test_the_highest_grade_wins_and_every_fired_rule_is_listed_highest_first(seeded):
    facts = {"defect_class": "A", "defect_count": 15, "consecutive_count": 11, "records_missing": True}

    result = grading.grade("quality", facts, seeded)

    assert result.grade == "A"
    assert [(rule.code, rule.grade, rule.value) for rule in result.rules] == [
        ("quality-a-defects-consecutive-a", "A", 11),
        ("quality-a-defects-intermittent-b", "B", 15),
        ("quality-records-missing", "C", True),
    ]
    assert result.explanation("en") == "A: 11 A-class defects in a row, limit n > 10"


def test_several_rules_at_the_winning_grade_are_all_in_the_explanation(seeded):
    result = grading.grade("quality", {"customer_complaint": True, "batch_problem": True}, seeded)

    assert result.explanation("en") == "A: a batch quality problem; A: causes a customer complaint"


def test_a_c_band_rule_that_fires_explains_the_c_grade(seeded):
    result = grading.grade("quality", {"defect_class": "C", "defect_count": 3}, seeded)

    assert [rule.code for rule in result.rules] == ["quality-c-defects-intermittent-c"]
    assert result.explanation("en") == "C: 3 C-class defects intermittently this shift, limit 0 < n ≤ 40"


def test_the_grading_records_the_table_version(seeded):
    assert grading.grade("quality", {}, seeded).table_version == 1


@pytest.mark.parametrize(
    ("facts", "prior", "expected", "recurrence_rule"),
    [
        pytest.param({}, 0, "C", None, id="a first C problem stays C"),
        pytest.param({}, 1, "B", "recurrence-c-second-time", id="a C problem the second time is B"),
        pytest.param({}, 2, "A", "recurrence-c-keeps-recurring", id="a C problem the third time is A"),
        pytest.param({}, 5, "A", "recurrence-c-keeps-recurring", id="a C problem the sixth time is A"),
        pytest.param({"zero_tolerance_count": 1}, 0, "B", None, id="a first B problem stays B"),
        pytest.param({"zero_tolerance_count": 1}, 1, "A", "recurrence-ab-repeated", id="a repeated B problem is A"),
        pytest.param({"batch_problem": True}, 1, "A", "recurrence-ab-repeated", id="a repeated A problem is A"),
    ],
)
def test_recurrence_rules_raise_the_base_grade(seeded, facts, prior, expected, recurrence_rule):
    result = grading.grade("quality", facts, seeded, prior_occurrences=prior)

    assert result.grade == expected
    assert result.prior_occurrences == prior
    fired_recurrence = [rule.code for rule in result.rules if rule.code.startswith("recurrence-")]
    assert fired_recurrence == ([recurrence_rule] if recurrence_rule else [])


def test_recurrence_keeps_the_grade_before_recurrence_and_explains_the_count(seeded):
    result = grading.grade("quality", {"records_missing": True}, seeded, prior_occurrences=1)

    assert (result.base_grade, result.grade) == ("C", "B")
    assert result.explanation("en") == (
        "B: C problem occurring again: 1 earlier occurrence in the window (same failure mode, line and cause), "
        "limit 0 < n ≤ 1"
    )


# --- grading.grade as a pure function, with a hand-built table -------------------------------------------


def rule(code, grade, fact, operator, limit=None, upper=None, *, category="widget", match="", when=("", "")):
    return Rule(
        code=code,
        category=category,
        grade=grade,
        fact=fact,
        operator=operator,
        limit=None if limit is None else Decimal(limit),
        upper_limit=None if upper is None else Decimal(upper),
        match=match,
        when_fact=when[0],
        when_value=when[1],
        label_en=f"{fact} is {{n}}",
        label_zh=f"{fact} 为 {{n}}",
    )


SMALL = Table(
    version=7,
    rules=(
        rule("width-b", "B", "width", "between", "2.5", "5"),
        rule("width-a", "A", "width", "gt", "5"),
        rule("holes-b", "B", "holes", "gte", "3"),
        rule("colour-a", "A", "colour", "equals", match="red"),
        rule("flag-c", "C", "flag", "true"),
        rule("weight-a-heavy-kind", "A", "weight", "gt", "10", when=("kind", "heavy|huge")),
        rule("other-category", "A", "width", "gt", "0", category="gadget"),
        rule("again-b", "B", "prior_occurrences", "gte", "1", category="recurrence", when=("base_grade", "C")),
    ),
)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        pytest.param({"width": Decimal("2.5")}, "C", id="between excludes its lower limit"),
        pytest.param({"width": 2.6}, "B", id="between is above its lower limit"),
        pytest.param({"width": 5}, "B", id="between includes its upper limit"),
        pytest.param({"width": Decimal("5.01")}, "A", id="gt is strictly above its limit"),
        pytest.param({"holes": 2}, "C", id="gte below its limit"),
        pytest.param({"holes": 3}, "B", id="gte at its limit"),
        pytest.param({"colour": "RED"}, "A", id="equals ignores case"),
        pytest.param({"colour": "blue"}, "C", id="equals other text"),
        pytest.param({"flag": True}, "C", id="true fires on True"),
        pytest.param({"width": True}, "C", id="a boolean is never a number"),
        pytest.param({"weight": 11, "kind": "huge"}, "A", id="a condition accepts any of its alternatives"),
        pytest.param({"weight": 11, "kind": "light"}, "C", id="a condition that does not hold stops the rule"),
        pytest.param({"weight": 11}, "C", id="an absent condition fact does not hold"),
        pytest.param({"width": 6, "holes": 4, "flag": True}, "A", id="the highest fired grade wins"),
    ],
)
def test_grade_applies_each_operator_on_a_hand_built_table(facts, expected):
    assert grading.grade("widget", facts, SMALL).grade == expected


def test_grade_evaluates_only_the_rules_of_the_category():
    assert grading.grade("gadget", {"width": 1}, SMALL).grade == "A"
    assert grading.grade("gizmo", {"width": 1}, SMALL).grade == "C"


def test_grade_runs_recurrence_rules_against_the_base_grade():
    again = grading.grade("widget", {}, SMALL, prior_occurrences=1)
    repeated_b = grading.grade("widget", {"holes": 3}, SMALL, prior_occurrences=1)

    assert (again.base_grade, again.grade, [r.code for r in again.rules]) == ("C", "B", ["again-b"])
    assert (repeated_b.base_grade, repeated_b.grade, [r.code for r in repeated_b.rules]) == ("B", "B", ["holes-b"])


def test_grade_lists_fired_rules_by_grade_then_code_and_keeps_the_table_version():
    result = grading.grade("widget", {"width": 6, "colour": "red", "holes": 3, "flag": True}, SMALL)

    assert [rule.code for rule in result.rules] == ["colour-a", "width-a", "holes-b", "flag-c"]
    assert result.table_version == 7


def test_grade_explains_fractional_limits_exactly():
    result = grading.grade("widget", {"width": 3}, SMALL)

    assert result.explanation("en") == "B: width is 3, limit 2.5 < n ≤ 5"
    assert result.explanation("zh-hans") == "B: width 为 3，限值 2.5 < n ≤ 5"


def test_a_rule_without_a_chinese_label_explains_itself_in_english():
    table = Table(version=1, rules=(Rule("x", "widget", "B", "holes", "gte", Decimal(1), label_en="{n} holes"),))

    assert grading.grade("widget", {"holes": 2}, table).explanation("zh-hans") == "B: 2 holes, limit n ≥ 1"


def test_grade_rejects_an_unknown_operator():
    table = Table(version=1, rules=(Rule("odd", "widget", "B", "holes", "almost", Decimal(1)),))

    with pytest.raises(ValueError, match="unknown operator 'almost' in rule odd"):
        grading.grade("widget", {"holes": 2}, table)


@pytest.mark.parametrize("width", [3, 3.5, Decimal("4.25")])
def test_fired_rules_explain_the_same_after_the_json_round_trip_the_problem_stores(width):
    fired = grading.grade("widget", {"width": width, "flag": True}, SMALL).rules

    restored = [grading.FiredRule.from_json(rule.as_json()) for rule in fired]

    assert [rule.explanation("en") for rule in restored] == [rule.explanation("en") for rule in fired]
    assert [rule.explanation("zh-hans") for rule in restored] == [rule.explanation("zh-hans") for rule in fired]
