"""Who may do what to a problem and its 8D, beyond seeing it: a role whose group carries the
permission, held over the problem's line, workshop or plant (issues.common.scope.holds), and team
membership for the 8D."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeGuard

from issues.common.scope import can_see_line, holds
from issues.models import EightDReport, Problem

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


def _in_scope(user: User | AnonymousUser, problem: Problem) -> TypeGuard[User]:
    return user.is_authenticated and can_see_line(user, problem.line)


def can_assign(user: User | AnonymousUser, problem: Problem) -> bool:
    return holds(user, "issues.assign_problem", problem)


def can_close(user: User | AnonymousUser, problem: Problem) -> bool:
    """The quality department closes, cancels and reopens."""
    return holds(user, "issues.close_problem", problem)


def can_review(user: User | AnonymousUser, problem: Problem) -> bool:
    return holds(user, "issues.review_eightdreport", problem)


def can_contain(user: User | AnonymousUser, problem: Problem) -> bool:
    """Whoever may report a problem on the line records its containment."""
    return holds(user, "issues.add_problem", problem)


def on_team(user: User, report: EightDReport) -> bool:
    if user.pk in (report.problem.owner_id, report.leader_id):
        return True
    return report.members.filter(pk=user.pk).exists()


def can_edit(user: User | AnonymousUser, report: EightDReport) -> bool:
    return _in_scope(user, report.problem) and (on_team(user, report) or can_review(user, report.problem))


def can_start_report(user: User | AnonymousUser, problem: Problem) -> bool:
    if not _in_scope(user, problem):
        return False
    return user.pk == problem.owner_id or can_review(user, problem) or can_assign(user, problem)
