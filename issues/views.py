from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required, permission_required
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from issues.common.export import problem_rows
from issues.common.filters import ProblemFilter
from issues.common.lists import Export, list_page
from issues.common.scope import scope_of, visible_lines, visible_plants, visible_problems
from issues.forms import ProblemForm
from issues.grading.facts import clean_facts, facts_for
from issues.intake import IdempotencyConflict, Report, failure_mode_named, grade_report, report_problem, shift_at
from issues.lifecycle_views import flag, lifecycle_context
from issues.models import FailureMode, Line, Problem, ProblemPhoto, Profile
from issues.photos import staged_photos, store_photo

# Bookkeeping of the escalation clock, and the checklist the status card already shows in full.
HISTORY_UNSHOWN = ["escalate_at", "alarm_at", "closure_checklist"]
PROBLEM_RELATED = (
    "plant",
    "line__workshop",
    "shift",
    "failure_mode",
    "reported_by",
    "threshold_table",
    "owner__profile",
)


def home(request):
    since = timezone.now() - dt.timedelta(hours=24)
    visible = visible_problems(request.user)
    recent = flag(visible.filter(occurred_at__gte=since).select_related(*PROBLEM_RELATED)[:20], timezone.now())
    counts = visible.open().aggregate(
        a=Count("pk", filter=Q(grade="A")), b=Count("pk", filter=Q(grade="B")), c=Count("pk", filter=Q(grade="C"))
    )
    return render(
        request, "issues/home.html", {"recent": recent, "open_counts": counts, "no_scope": scope_of(request.user).empty}
    )


def default_line(user) -> Line | None:
    lines = visible_lines(user, "issues.add_problem").filter(active=True)
    profile = Profile.objects.filter(user=user).select_related("home_line").first()
    if profile and profile.home_line and lines.filter(pk=profile.home_line_id).exists():
        return profile.home_line
    assigned = lines.filter(pk__in=scope_of(user).line_ids).first()
    if assigned:
        return assigned
    return lines.first() if lines.count() == 1 else None


def _intake_context(request, form, staged):
    plant_ids = visible_plants(request.user).values("pk")
    return {
        "form": form,
        "staged": staged,
        "failure_modes": FailureMode.objects.filter(plant__in=plant_ids).order_by("name_en"),
        "max_photos": settings.QRQC_PHOTO_MAX_COUNT,
    }


@permission_required("issues.add_problem", raise_exception=True)
def problem_new(request):
    staged: list[ProblemPhoto] = []
    if request.method == "POST":
        form = ProblemForm(request.POST, request.FILES, user=request.user)
        staged = staged_photos(request.user, request.POST.getlist("staged_photo"))
        valid = form.is_valid()
        new_photos = [store_photo(jpeg, name=name, user=request.user) for name, jpeg in form.processed_photos]
        if valid:
            try:
                problem, created = report_problem(
                    form.to_report(),
                    reporter=request.user,
                    idempotency_key=form.cleaned_data["idempotency_key"],
                    photos=staged + new_photos,
                )
            except IdempotencyConflict as conflict:
                form.refuse_spent_key(conflict.problem.number)
            else:
                if created:
                    messages.success(
                        request,
                        _("%(number)s logged as grade %(grade)s.") % {"number": problem.number, "grade": problem.grade},
                    )
                else:
                    messages.info(
                        request, _("%(number)s was already logged; nothing was added.") % {"number": problem.number}
                    )
                return redirect("problem_detail", pk=problem.pk)
        staged += new_photos
        status = 400
    else:
        line = default_line(request.user)
        now = timezone.now()
        initial = {"occurred_at": timezone.localtime(now).replace(second=0, microsecond=0), "line": line}
        if line:
            initial["shift"] = shift_at(line.workshop.plant, now)
        form = ProblemForm(user=request.user, initial=initial)
        status = 200
    return render(request, "issues/problem_form.html", _intake_context(request, form, staged), status=status)


@permission_required("issues.add_problem", raise_exception=True)
@require_POST
def grade_preview(request):
    """The live grade while the form is being typed (htmx); stores nothing."""
    category = request.POST.get("category", "")
    line_id = request.POST.get("line", "")
    # Only digits reach the query: "abc" or "1.5" made Django raise ValueError (a 500) on filter(pk=...).
    lines = visible_lines(request.user, "issues.add_problem")
    line = lines.filter(pk=int(line_id)).first() if line_id.isdecimal() else None
    context = {"grading": None, "errors": {}}
    if line and category:
        submitted = {fact.name: request.POST.get(fact.name, "") for fact in facts_for(category)}
        facts, errors = clean_facts(category, submitted)
        context["errors"] = errors
        if not errors:
            report = Report(
                line=line,
                category=category,
                title="",
                occurred_at=timezone.now(),
                facts=facts,
                cause_family=request.POST.get("cause_family", ""),
                failure_mode=failure_mode_named(
                    line.workshop.plant, request.POST.get("failure_mode", ""), create=False
                ),
            )
            grading, table = grade_report(report)
            context.update(grading=grading, table=table, explanation=grading.explanation(get_language() or "en"))
    return render(request, "issues/_grade_preview.html", context)


@permission_required("issues.view_problem", raise_exception=True)
def problem_detail(request, pk: int, containment_form=None, lifecycle_forms=None):
    """`containment_form`: a bound form with errors, when escalation.views.contain_problem re-renders;
    `lifecycle_forms`: the same for the actions of issues.lifecycle_views."""
    from escalation.views import problem_context
    from issues.eightd_views import summary_context

    problem = get_object_or_404(visible_problems(request.user).select_related(*PROBLEM_RELATED), pk=pk)
    language = get_language() or "en"
    history = problem.history.select_related("history_user").order_by("-history_date")[:50]
    changes = []
    for record in history:
        previous = record.prev_record
        diff = record.diff_against(previous, excluded_fields=HISTORY_UNSHOWN).changes if previous else []
        changes.append({"record": record, "changes": [_readable_change(change) for change in diff]})
    return render(
        request,
        "issues/problem_detail.html",
        {
            "problem": problem,
            "rules": [(rule, rule.explanation(language)) for rule in problem.grading.rules],
            "explanation": problem.explanation(language),
            "photos": problem.photos.all(),
            "changes": changes,
            "facts": _readable_facts(problem),
            **problem_context(request, problem, containment_form),
            **summary_context(request, problem),
            "lifecycle": lifecycle_context(request, problem, lifecycle_forms),
            "meeting_decisions": _meeting_decisions(problem),
        },
    )


def _meeting_decisions(problem: Problem) -> list:
    """What the daily meetings decided on this problem, newest first (issue #5)."""
    return list(
        problem.agenda_items.exclude(decision="", closure_confirmed_at__isnull=True)
        .select_related("meeting__plant", "meeting__workshop")
        .order_by("-meeting__day", "-discussed_at")[:20]
    )


def _readable_change(change) -> tuple[str, object, object]:
    """(field name, old, new) in the reader's words: a status shows "Closed", not "closed"."""
    field = Problem._meta.get_field(change.field)
    if change.field == "board_status":  # the meeting chair's colours, as words rather than JSON
        return field.verbose_name, _board_status_text(change.old), _board_status_text(change.new)
    labels = dict(field.flatchoices) if field.choices else {}
    return field.verbose_name, labels.get(change.old, change.old), labels.get(change.new, change.new)


def _board_status_text(value) -> str:
    from issues.board import STEP_LABELS
    from issues.eightd import COLOUR_LETTERS

    if not isinstance(value, dict):
        return ""
    return ", ".join(
        f"{STEP_LABELS.get(step, step)} {COLOUR_LETTERS.get(colour, colour)}" for step, colour in value.items()
    )


def _readable_facts(problem: Problem) -> list[tuple[str, object]]:
    labels = {fact.name: fact for fact in facts_for(problem.category)}
    rows = []
    for name, value in problem.facts.items():
        fact = labels.get(name)
        shown = _("yes") if value is True else value
        rows.append((fact.label if fact else name, shown))
    return rows


@permission_required("issues.view_problem", raise_exception=True)
def problem_list(request):
    return list_page(
        request,
        ProblemFilter,
        visible_problems(request.user).select_related(*PROBLEM_RELATED),
        template="issues/problem_list.html",
        export=Export(problem_rows, "qrqc-problems"),
        rows=lambda problems: flag(problems, timezone.now()),
    )


def photo(request, token: str, size: str = "full"):
    if not token.isalnum():  # tokens are hex; a NUL byte in the URL made PostgreSQL raise (a 500)
        raise Http404
    photo = get_object_or_404(ProblemPhoto.objects.select_related("problem__line__workshop"), token=token)
    if photo.problem is None:
        if photo.uploaded_by_id != request.user.pk:
            raise Http404
    elif not request.user.has_perm("issues.view_problem", photo.problem):
        raise Http404
    image = photo.thumbnail if size == "thumb" and photo.thumbnail else photo.image
    response = FileResponse(image.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=86400"  # a token's photo never changes
    return response


class LoginView(auth_views.LoginView):
    """After login, the language the person chose last time (stored on the profile) applies on
    this device too; without a choice the browser's language is used."""

    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        language = Profile.objects.filter(user=form.get_user()).values_list("language", flat=True).first()
        if language:
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax")
        return response


@login_not_required
def switch_language(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        Profile.objects.update_or_create(user=request.user, defaults={"language": language})
    return response
