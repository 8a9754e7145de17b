"""The facts vocabulary (issue #2): what each category's threshold table reads.

Form fields and the API use these names. Every fact is optional; numbers are non-negative.
`clean_facts` is the one validator both the form and the API call.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


@dataclass(frozen=True)
class Fact:
    name: str
    kind: str  # "count" | "number" | "bool" | "class"
    label: StrOrPromise
    common: bool = True  # shown at once; the others sit behind "more facts" to keep the form short


CLASS_CHOICES = ("A", "B", "C")

FACTS: dict[str, tuple[Fact, ...]] = {
    "quality": (
        Fact("defect_class", "class", _("Defect class of the characteristic")),
        Fact("defect_count", "count", _("Defects this shift (intermittent total)")),
        Fact("consecutive_count", "count", _("Longest consecutive run")),
        Fact("customer_complaint", "bool", _("Causes a customer complaint"), common=False),
        Fact("customer_return_count", "count", _("Customer returns, same batch and failure (pcs)"), common=False),
        Fact("poka_yoke_failure", "bool", _("Error-proofing (poka-yoke) station failed"), common=False),
        Fact("batch_problem", "bool", _("Batch quality problem"), common=False),
        Fact("teardown_hard_failures", "count", _("Hard failures found by teardown (pcs)"), common=False),
        Fact(
            "zero_tolerance_count",
            "count",
            _("Zero-tolerance defects: leak, wrong or missing part (pcs)"),
            common=False,
        ),
        Fact("records_missing", "bool", _("Records not kept as required"), common=False),
        Fact("nonstandard_operation", "bool", _("Operation not matching standard work"), common=False),
    ),
    "equipment": (
        Fact("characteristic_class", "class", _("Class of the characteristics the failed function controls")),
        Fact("downtime_minutes", "number", _("Unplanned downtime (min)")),
        Fact("critical_spare_missing", "bool", _("Critical spare part missing")),
        Fact("efficiency_missed", "bool", _("Equipment efficiency target missed")),
        Fact("maintenance_missed", "bool", _("Planned checks or maintenance not done")),
    ),
    "utilities": (
        Fact("environment_out_minutes", "number", _("Environment control out of limits for (min)")),
        Fact("interruption_minutes", "number", _("Unplanned utility interruption (min)")),
        Fact("maintenance_missed", "bool", _("Utility equipment not maintained on its cycle")),
        Fact("special_equipment_uninspected", "bool", _("Special equipment not inspected as required")),
    ),
    "material": (
        Fact("line_stop_minutes", "number", _("Line stopped by material for (min)")),
        Fact("waiting_minutes", "number", _("Workshop waiting for material (min)")),
        Fact("incoming_abnormal", "bool", _("Incoming material abnormal")),
        Fact("delivery_affected", "bool", _("Delivery to the customer affected")),
        Fact("packaging_issue", "bool", _("Packaging or labelling issue only")),
    ),
    "safety": (
        Fact("major_hazard", "bool", _("Major safety hazard")),
        Fact("accident", "bool", _("Safety or environmental accident")),
        Fact("hazard_risk_score", "number", _("Risk score of an unidentified hazard")),
        Fact("incident", "bool", _("Incident without injury or damage")),
        Fact("procedure_violation", "bool", _("Work not done to the operating procedure")),
    ),
    "people": (
        Fact("shortage_percent", "number", _("Staff shortage (%)")),
        Fact("discipline_breach", "bool", _("Serious discipline breach (fight, theft)")),
        Fact("ab_process_not_executed", "bool", _("Process requirement for A/B characteristics not executed")),
        Fact("individual_absence", "bool", _("Individual absence or stand-in at a post")),
    ),
}

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def facts_for(category: str) -> tuple[Fact, ...]:
    return FACTS.get(category, ())


def _clean_value(fact: Fact, raw) -> object:
    """Return the cleaned value, or None when the fact is absent; raise ValueError on bad input."""
    if raw is None or (isinstance(raw, str) and raw.strip() == "" and fact.kind != "bool"):
        return None
    if fact.kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
        raise ValueError(_("Must be true or false."))
    if fact.kind == "class":
        text = str(raw).strip().upper()
        if text not in CLASS_CHOICES:
            raise ValueError(_("Must be A, B or C."))
        return text
    if isinstance(raw, bool):
        raise ValueError(_("Must be a number."))
    try:
        number = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ValueError(_("Must be a number.")) from None
    if not number.is_finite():
        raise ValueError(_("Must be a number."))
    if number < 0:
        raise ValueError(_("Must be zero or more."))
    if number > Decimal("1000000"):
        raise ValueError(_("Must be at most 1,000,000."))
    if fact.kind == "count":
        if number != number.to_integral_value():
            raise ValueError(_("Must be a whole number."))
        return int(number)
    return int(number) if number == number.to_integral_value() else float(number)


# Unknown names are errors one by one up to this many; the rest are counted in one more error,
# so a payload of 200,000 made-up names gets a short answer.
NAMED_UNKNOWN = 5
OTHER_UNKNOWN = "non_field_errors"


def clean_facts(category: str, raw: dict, *, strict: bool = True) -> tuple[dict, dict]:
    """Validate raw facts for a category; return (facts, errors). Absent facts are dropped,
    false booleans too (absent means "no"). With strict, unknown names are errors."""
    known = {fact.name: fact for fact in facts_for(category)}
    facts: dict = {}
    errors: dict = {}
    unknown = 0
    for name, value in raw.items():
        fact = known.get(name)
        if fact is None:
            unknown += 1
            if strict and unknown <= NAMED_UNKNOWN:
                errors[name] = [str(_("Not a fact of this category."))]
            continue
        try:
            cleaned = _clean_value(fact, value)
        except ValueError as exc:
            errors[name] = [str(exc)]
            continue
        if cleaned is not None and cleaned is not False:
            facts[name] = cleaned
    if strict and unknown > NAMED_UNKNOWN:
        errors[OTHER_UNKNOWN] = [
            str(_("%(count)d more names are not facts of this category either.") % {"count": unknown - NAMED_UNKNOWN})
        ]
    if not errors:
        errors.update(_cross_check(category, facts))
    return facts, errors


def _cross_check(category: str, facts: dict) -> dict:
    errors: dict = {}
    if category == "quality":
        counted = "defect_count" in facts or "consecutive_count" in facts
        if counted and "defect_class" not in facts:
            errors["defect_class"] = [str(_("Give the defect class (A, B or C) so the count can be graded."))]
        if facts.get("consecutive_count", 0) > facts.get("defect_count", facts.get("consecutive_count", 0)):
            errors["consecutive_count"] = [str(_("A consecutive run cannot exceed the shift's total defects."))]
    return errors
