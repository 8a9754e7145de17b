"""Who may do what to a problem and its 8D, beyond seeing it: role permissions (Django groups,
issues.scope.ROLE_PERMISSIONS) narrowed by scope, and team membership for the 8D."""

from __future__ import annotations

from issues.models import EightDReport, Problem
from issues.scope import can_see_line


def _in_scope(user, problem: Problem) -> bool:
    return user.is_authenticated and can_see_line(user, problem.line)


def can_assign(user, problem: Problem) -> bool:
    return user.has_perm("issues.assign_problem") and _in_scope(user, problem)


def can_close(user, problem: Problem) -> bool:
    """The quality department closes, cancels and reopens (DOMAIN.md §1)."""
    return user.has_perm("issues.close_problem") and _in_scope(user, problem)


def can_review(user, problem: Problem) -> bool:
    return user.has_perm("issues.review_eightdreport") and _in_scope(user, problem)


def on_team(user, report: EightDReport) -> bool:
    if user.pk in (report.problem.owner_id, report.leader_id):
        return True
    return report.members.filter(pk=user.pk).exists()


def can_edit(user, report: EightDReport) -> bool:
    return _in_scope(user, report.problem) and (on_team(user, report) or can_review(user, report.problem))


def can_start_report(user, problem: Problem) -> bool:
    if not _in_scope(user, problem):
        return False
    return user.pk == problem.owner_id or can_review(user, problem) or can_assign(user, problem)
