"""The five steps the board, the meeting and the minutes show for a problem, and the R/Y/G/N-A
colour of each.

A step's colour comes from the problem's 8D sections when it has a report:
containment from D0–D3, root cause from D4, actions from D5 (the actions chosen),
verification from D6 (implemented and validated), closure from D7 and D8, green only once
the problem is closed. Without a report the colour follows the problem's status, and what the
meeting's chair set."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from django.utils.translation import gettext_lazy

from issues.eightd.rules import Colour
from issues.models import Problem

STEPS = ("containment", "root_cause", "actions", "verification", "closure")
STEP_LABELS = {
    "containment": gettext_lazy("Containment"),
    "root_cause": gettext_lazy("Root cause"),
    "actions": gettext_lazy("Actions"),
    "verification": gettext_lazy("Verification"),
    "closure": gettext_lazy("Closure"),
}
STEP_SECTIONS = {
    "containment": ("D0", "D1", "D2", "D3"),
    "root_cause": ("D4",),
    "actions": ("D5",),
    "verification": ("D6",),
    "closure": ("D7", "D8"),
}
Status = Problem.Status
# The step a status is working on; the steps before it are done (green).
STATUS_STEP: dict[str, str] = {
    Status.OPEN: "containment",
    Status.CONTAINED: "root_cause",
    Status.ANALYSED: "actions",
    Status.ACTING: "actions",
    Status.VERIFYING: "verification",
}
# Statuses whose step has started (yellow) rather than merely being next (red).
IN_PROGRESS = {Status.ACTING, Status.VERIFYING}
DONE = {"accepted", "na"}


def _sections_colour(states: Iterable[str]) -> Colour:
    states = list(states)
    if all(state == "na" for state in states):
        return Colour.WHITE
    if all(state in DONE for state in states):
        return Colour.GREEN
    if any(state != "todo" for state in states):
        return Colour.YELLOW
    return Colour.RED


def _from_sections(status: str, states: Mapping[str, str]) -> dict[str, Colour]:
    colours = {
        step: _sections_colour(states.get(code, "todo") for code in codes) for step, codes in STEP_SECTIONS.items()
    }
    if colours["closure"] == Colour.GREEN and status != Status.CLOSED:
        colours["closure"] = Colour.YELLOW  # answered, but the quality department has not closed yet
    return colours


def _from_status(status: str, contained: bool, needs_eightd: bool) -> dict[str, Colour]:
    if status == Status.CLOSED:
        colours = dict.fromkeys(STEPS, Colour.GREEN)
    else:
        current = STEPS.index(STATUS_STEP[status])
        colours = {step: Colour.GREEN if index < current else Colour.RED for index, step in enumerate(STEPS)}
        if status in IN_PROGRESS:
            colours[STEPS[current]] = Colour.YELLOW
        if contained:  # a reopened problem keeps its containment
            colours["containment"] = Colour.GREEN
    if not needs_eightd and status not in IN_PROGRESS:
        # Such a problem closes from contained or analysed with a cause note: no actions to verify.
        colours["actions"] = colours["verification"] = Colour.WHITE
    return colours


def step_colours(
    status: str,
    contained: bool,
    section_states: Mapping[str, str] | None,
    needs_eightd: bool,
    board_status: Mapping[str, str] | None = None,
) -> dict[str, Colour]:
    """Colour per step of STEPS. `section_states` maps D0..D8 to Section.State values, None
    when the problem has no 8D report. Without one, `board_status` (what the meeting's chair
    set, Problem.board_status) overrides the colours the status gives; closure turns green only
    when the problem is closed. Cancelled problems are not on the board."""
    if status == Status.CANCELLED:
        raise ValueError("cancelled problems are not on the board")
    if section_states:
        return _from_sections(status, section_states)
    colours = _from_status(status, contained, needs_eightd)
    for step, colour in (board_status or {}).items():
        if step in colours and colour in Colour.__members__.values():
            colours[step] = Colour(colour)
    if colours["closure"] == Colour.GREEN and status != Status.CLOSED:
        colours["closure"] = Colour.YELLOW
    return colours


class ProblemState(Protocol):
    """What colours_of reads of a problem: a Problem, or its historical row (the minutes)."""

    @property
    def status(self) -> str: ...
    @property
    def contained_at(self) -> dt.datetime | None: ...
    @property
    def board_status(self) -> Any: ...


def colours_of(
    problem: ProblemState, section_states: Mapping[str, str] | None, needs_eightd: bool
) -> dict[str, Colour]:
    """step_colours for a problem row (live, or its historical row in the minutes)."""
    return step_colours(
        problem.status, problem.contained_at is not None, section_states, needs_eightd, problem.board_status
    )
