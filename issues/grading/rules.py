"""A/B/C grading against a threshold table (docs/grading.md §How a grade is decided). Pure: no ORM, no clock.

`grade(category, facts, table, prior_occurrences)` evaluates every rule of the category,
then the recurrence rules (docs/grading.md §Recurrence) against the base grade; the highest grade wins and a
problem that fires no rule is C.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from decimal import Decimal

GRADE_ORDER = {"C": 0, "B": 1, "A": 2}
RECURRENCE = "recurrence"


@dataclass(frozen=True)
class Rule:
    code: str
    category: str
    grade: str
    fact: str
    operator: str  # gt | gte | between | true | equals
    limit: Decimal | None = None
    upper_limit: Decimal | None = None
    match: str = ""
    when_fact: str = ""
    when_value: str = ""
    label_en: str = ""
    label_zh: str = ""


@dataclass(frozen=True)
class Table:
    version: int
    rules: tuple[Rule, ...]
    id: int | None = None


@dataclass(frozen=True)
class FiredRule:
    code: str
    grade: str
    fact: str
    value: object
    operator: str
    limit: Decimal | None
    upper_limit: Decimal | None
    label_en: str
    label_zh: str

    def limit_text(self) -> str:
        low, high = _number(self.limit), _number(self.upper_limit)
        return {
            "gt": f"n > {low}",
            "gte": f"n ≥ {low}",
            "between": f"{low} < n ≤ {high}",
        }.get(self.operator, "")

    def explanation(self, language: str = "en") -> str:
        chinese = language.startswith("zh") and bool(self.label_zh)
        label = (self.label_zh if chinese else self.label_en).replace("{n}", _number(self.value))
        limit = self.limit_text()
        if not limit:
            return f"{self.grade}: {label}"
        return f"{self.grade}: {label}，限值 {limit}" if chinese else f"{self.grade}: {label}, limit {limit}"

    def as_json(self) -> dict:
        data = asdict(self)
        data["limit"] = None if self.limit is None else str(self.limit)
        data["upper_limit"] = None if self.upper_limit is None else str(self.upper_limit)
        data["value"] = self.value if isinstance(self.value, (bool, int, str)) else _number(self.value)
        return data

    @classmethod
    def from_json(cls, data: dict) -> FiredRule:
        return cls(
            code=data["code"],
            grade=data["grade"],
            fact=data["fact"],
            value=data["value"],
            operator=data["operator"],
            limit=None if data.get("limit") is None else Decimal(data["limit"]),
            upper_limit=None if data.get("upper_limit") is None else Decimal(data["upper_limit"]),
            label_en=data.get("label_en", ""),
            label_zh=data.get("label_zh", ""),
        )


@dataclass(frozen=True)
class Grading:
    grade: str
    base_grade: str
    rules: tuple[FiredRule, ...] = field(default_factory=tuple)
    table_version: int | None = None
    prior_occurrences: int = 0

    def explanation(self, language: str = "en") -> str:
        deciding = [rule for rule in self.rules if rule.grade == self.grade]
        if not deciding:
            if language.startswith("zh"):
                return "C: 未达到任何 B 或 A 报警限值，跟踪改进"
            return "C: no B or A alarm limit reached; tracked and improved"
        return "; ".join(rule.explanation(language) for rule in deciding)


def _number(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, str)):
        return str(value)
    number = Decimal(str(value))
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def _holds(rule: Rule, value) -> bool:
    if rule.operator == "true":
        return value is True
    if rule.operator == "equals":
        return value is not None and str(value).upper() == rule.match.upper()
    if value is None or isinstance(value, bool):
        return False
    number = Decimal(str(value))
    if rule.operator == "gt":
        return number > _bound(rule.limit, rule)
    if rule.operator == "gte":
        return number >= _bound(rule.limit, rule)
    if rule.operator == "between":
        return _bound(rule.limit, rule) < number <= _bound(rule.upper_limit, rule)
    raise ValueError(f"unknown operator {rule.operator!r} in rule {rule.code}")


def _bound(limit: Decimal | None, rule: Rule) -> Decimal:
    # The admin refuses a test without its limits (issues.admin); a rule written otherwise is as
    # broken as one with an unknown operator.
    if limit is None:
        raise ValueError(f"rule {rule.code} has no limit for its test {rule.operator!r}")
    return limit


def _condition_holds(rule: Rule, facts: dict) -> bool:
    if not rule.when_fact:
        return True
    actual = facts.get(rule.when_fact)
    if isinstance(actual, bool) or actual is None:
        actual = "true" if actual else "false"
    wanted = {option.strip().lower() for option in rule.when_value.split("|")}
    return str(actual).lower() in wanted


def _fire(rules, facts: dict) -> list[FiredRule]:
    fired = []
    for rule in rules:
        value = facts.get(rule.fact)
        if _condition_holds(rule, facts) and _holds(rule, value):
            fired.append(
                FiredRule(
                    code=rule.code,
                    grade=rule.grade,
                    fact=rule.fact,
                    value=value,
                    operator=rule.operator,
                    limit=rule.limit,
                    upper_limit=rule.upper_limit,
                    label_en=rule.label_en,
                    label_zh=rule.label_zh,
                )
            )
    return fired


def highest(grades: Iterable[str]) -> str:
    return max(grades, key=GRADE_ORDER.__getitem__, default="C")


def grade(category: str, facts: dict, table: Table, prior_occurrences: int = 0) -> Grading:
    """Grade a problem of `category` with `facts`; `prior_occurrences` counts earlier problems
    with the same failure mode, line and cause family inside the plant's recurrence window."""
    fired = _fire((rule for rule in table.rules if rule.category == category), facts)
    base = highest(rule.grade for rule in fired)
    recurrence_facts = {"prior_occurrences": prior_occurrences, "base_grade": base}
    fired += _fire((rule for rule in table.rules if rule.category == RECURRENCE), recurrence_facts)
    fired.sort(key=lambda rule: (-GRADE_ORDER[rule.grade], rule.code))
    return Grading(
        grade=highest(rule.grade for rule in fired),
        base_grade=base,
        rules=tuple(fired),
        table_version=table.version,
        prior_occurrences=prior_occurrences,
    )
