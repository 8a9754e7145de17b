"""The in-app notification centre, the header's bell, and "I'm on it"."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from escalation.dispatch import acknowledge
from escalation.inbox.queries import inbox
from escalation.models import EscalationEvent


def notifications(request):
    items = (
        inbox(request.user)
        .select_related("event__problem__line", "event__problem__plant")
        .order_by("-created_at", "-id")
    )
    page = Paginator(items, 30).get_page(request.GET.get("page"))
    rows = list(page)
    for row in rows:
        row.was_unread = row.read_at is None
    # Opening the centre reads what it lists; the bell in this page's header already shows it.
    inbox(request.user).filter(read_at__isnull=True).update(read_at=timezone.now())
    return render(request, "escalation/notifications.html", {"page": page, "rows": rows})


@login_not_required
def notification_bell(request):
    """The header's bell, polled by htmx. Signed out (session over): 286 stops the polling."""
    if not request.user.is_authenticated:
        return HttpResponse(status=286)
    return render(request, "escalation/_bell.html")


@require_POST
def acknowledge_event(request, event_id: int):
    """ "I'm on it": stops repeat calls to this person for this tier; the clock goes on."""
    event = (
        EscalationEvent.objects.filter(pk=event_id, notifications__recipient=request.user)
        .select_related("problem")
        .distinct()
        .first()
    )
    if event is None:
        raise Http404
    acknowledge(request.user, event)
    if request.htmx:
        row = (
            inbox(request.user)
            .filter(event=event)
            .select_related("event__problem__line", "event__problem__plant")
            .first()
        )
        if row is None:
            return HttpResponse(status=204, headers={"HX-Trigger": "notifications-changed"})
        row.was_unread = False
        response = render(request, "escalation/_notification.html", {"row": row})
        response["HX-Trigger"] = "notifications-changed"
        return response
    messages.success(
        request,
        _("Thank you: %(number)s is yours. Repeat calls for this tier stop.") % {"number": event.problem.number},
    )
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        target = reverse("inbox:notifications")
    return redirect(target)
