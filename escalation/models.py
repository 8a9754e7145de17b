"""Escalation (docs/escalation.md): policies the plant edits, and the ledger of what was sent.

Policy rows are data with history; the policy in force is copied onto a problem when it is
graded (Problem.escalation_plan), so editing a policy never changes a problem already climbing.
The ledger is EscalationEvent (one per problem and tier or alarm), Notification (one per
event, recipient and channel) and DeliveryAttempt (every try, with the provider's answer).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from issues.models import Category, Role
from issues.models.place import PlacePath


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone call")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")
    INAPP = "inapp", _("In-app")
    WEBHOOK = "webhook", _("Group webhook")


# A channel that fails for good hands the message to the next one for that person.
FALLBACK: dict[str, Channel] = {Channel.PHONE: Channel.SMS, Channel.SMS: Channel.EMAIL, Channel.EMAIL: Channel.INAPP}

LEVELS = [(4, _("Level 4 — line")), (3, _("Level 3 — workshop")), (2, _("Level 2 — managers")), (1, _("Level 1 — GM"))]


def validate_roles(value: object) -> None:
    if not isinstance(value, list) or not value or any(role not in Role.values for role in value):
        raise ValidationError(_("Give one or more roles from: %(roles)s.") % {"roles": ", ".join(Role.values)})


def validate_role_list(value: object) -> None:
    """Roles an alarm or notice rule reaches; AlarmRule.clean says when the list may be empty."""
    if not isinstance(value, list) or any(role not in Role.values for role in value):
        raise ValidationError(_("Give roles from: %(roles)s.") % {"roles": ", ".join(Role.values)})


def validate_channels(value: object) -> None:
    person_channels = [Channel.PHONE, Channel.SMS, Channel.EMAIL, Channel.INAPP, Channel.WEBHOOK]
    if not isinstance(value, list) or not value or any(channel not in person_channels for channel in value):
        raise ValidationError(
            _("Give one or more channels from: %(channels)s.") % {"channels": ", ".join(Channel.values)}
        )


class EscalationPolicy(models.Model):
    """How problems of one category climb in one plant, and how far each grade may climb."""

    plant = models.ForeignKey("issues.Plant", on_delete=models.CASCADE, related_name="escalation_policies")
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    ceiling_a = models.PositiveSmallIntegerField(_("A climbs up to level"), default=1, choices=LEVELS)
    ceiling_b = models.PositiveSmallIntegerField(_("B climbs up to level"), default=3, choices=LEVELS)
    ceiling_c = models.PositiveSmallIntegerField(_("C climbs up to level"), default=4, choices=LEVELS)
    history = HistoricalRecords()

    place_path = PlacePath(plant="plant")

    class Meta:
        ordering = ["plant", "category"]
        verbose_name = _("escalation policy")
        verbose_name_plural = _("escalation policies")
        constraints = [models.UniqueConstraint(fields=["plant", "category"], name="escalation_policy_unique")]

    def __str__(self) -> str:
        return f"{self.plant} · {self.get_category_display()}"


class EscalationTier(models.Model):
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="tiers")
    level = models.PositiveSmallIntegerField(_("level"), choices=LEVELS)
    after_minutes = models.PositiveIntegerField(_("minutes after occurrence"))
    roles = models.JSONField(_("roles to reach"), validators=[validate_roles])
    channels = models.JSONField(_("channels"), validators=[validate_channels])
    history = HistoricalRecords()

    place_path = PlacePath(plant="policy__plant")

    class Meta:
        ordering = ["policy", "-level"]
        verbose_name = _("escalation tier")
        verbose_name_plural = _("escalation tiers")
        constraints = [models.UniqueConstraint(fields=["policy", "level"], name="escalation_tier_unique")]

    def __str__(self) -> str:
        return f"L{self.level} +{self.after_minutes} min"


class AlarmKind(models.TextChoices):
    NO_OWNER = "no_owner", _("No owner")
    REJECTED_TWICE = "rejected_twice", _("Answer rejected twice")
    UNRESOLVED_WEEK = "unresolved_week", _("Unresolved after a week")


class NoticeKind(models.TextChoices):
    """8D deadline notices (issues.eightd.rules.next_notice), sent through the same ledger; the
    event's level is issues.eightd.rules.notice_level(section, rework round)."""

    SECTION_DUE_SOON = "section_due_soon", _("8D answer due soon")
    SECTION_OVERDUE = "section_overdue", _("8D answer overdue")


class AlarmRule(models.Model):
    """The other alarms and the 8D deadline notices (docs/escalation.md §Alarm rules and 8D notices),
    sent through the same ledger as the tiers. A notice always reaches the problem's owner and
    8D team; its roles are the people told besides them (none is allowed)."""

    plant = models.ForeignKey("issues.Plant", on_delete=models.CASCADE, related_name="alarm_rules")
    kind = models.CharField(_("alarm or notice"), max_length=20, choices=[*AlarmKind.choices, *NoticeKind.choices])
    after_minutes = models.PositiveIntegerField(
        _("minutes after occurrence"),
        null=True,
        blank=True,
        help_text=_("Empty for alarms raised by an event and for 8D notices."),
    )
    roles = models.JSONField(_("roles to reach"), blank=True, validators=[validate_role_list])
    channels = models.JSONField(_("channels"), validators=[validate_channels])
    history = HistoricalRecords()

    place_path = PlacePath(plant="plant")

    class Meta:
        ordering = ["plant", "kind"]
        verbose_name = _("alarm rule")
        verbose_name_plural = _("alarm rules")
        constraints = [models.UniqueConstraint(fields=["plant", "kind"], name="alarm_rule_unique")]

    def __str__(self) -> str:
        return f"{self.plant} · {self.get_kind_display()}"

    def clean(self) -> None:
        if self.kind in NoticeKind.values:
            # A notice is timed by the section's deadline (issues.eightd.rules.next_notice); minutes
            # here would also make ladder.timed_alarms fire it as a problem alarm.
            if self.after_minutes is not None:
                raise ValidationError({"after_minutes": _("8D notices follow the section's deadline: leave empty.")})
        elif not self.roles:
            raise ValidationError({"roles": _("An alarm must reach at least one role.")})


class WebhookEndpoint(models.Model):
    """A group robot (WeCom, DingTalk) or any JSON endpoint told of every escalation in scope."""

    class Kind(models.TextChoices):
        WECOM = "wecom", _("WeCom group robot (企业微信)")
        DINGTALK = "dingtalk", _("DingTalk group robot (钉钉)")
        GENERIC = "generic", _("Generic JSON webhook")

    plant = models.ForeignKey("issues.Plant", on_delete=models.CASCADE, related_name="webhooks")
    workshop = models.ForeignKey(
        "issues.Workshop",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhooks",
        help_text=_("Empty: the whole plant."),
    )
    name = models.CharField(_("name"), max_length=80)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=200, blank=True, help_text=_("DingTalk 加签 secret."))
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="zh-hans")
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords(excluded_fields=["secret"])

    place_path = PlacePath(plant="plant", workshop="workshop")

    class Meta:
        ordering = ["plant", "name"]
        verbose_name = _("group webhook")
        verbose_name_plural = _("group webhooks")

    def __str__(self) -> str:
        return self.name


class EscalationEventQuerySet(models.QuerySet["EscalationEvent"]):
    def undispatched(self) -> EscalationEventQuerySet:
        return self.filter(expanded_at__isnull=True)


class EscalationEvent(models.Model):
    """One tier (or alarm) reached by one problem; unique, so it can be written only once."""

    TIER = "tier"
    KINDS = [(TIER, _("Escalation tier")), *AlarmKind.choices, *NoticeKind.choices]

    problem = models.ForeignKey("issues.Problem", on_delete=models.CASCADE, related_name="escalation_events")
    kind = models.CharField(_("kind"), max_length=20, choices=KINDS, default=TIER)
    level = models.PositiveSmallIntegerField(_("level"), default=0)
    due_at = models.DateTimeField(_("due at"))
    fired_at = models.DateTimeField(_("fired at"))
    recipients = models.JSONField(_("recipients"), default=list)
    channels = models.JSONField(_("channels"), default=list)
    missing_roles = models.JSONField(_("roles nobody holds"), default=list)
    fell_through = models.BooleanField(
        _("fell through"), default=False, help_text=_("Nobody held this tier's roles: the next holder up was told.")
    )
    expanded_at = models.DateTimeField(null=True, blank=True)

    objects = EscalationEventQuerySet.as_manager()

    place_path = PlacePath(plant="problem__plant", workshop="problem__line__workshop", line="problem__line")

    class Meta:
        ordering = ["problem", "fired_at", "-level"]
        verbose_name = _("escalation event")
        verbose_name_plural = _("escalation events")
        constraints = [
            models.UniqueConstraint(fields=["problem", "kind", "level"], name="escalation_event_once_per_tier")
        ]
        indexes = [
            models.Index(fields=["expanded_at"], name="event_undispatched", condition=Q(expanded_at__isnull=True)),
            models.Index(fields=["fired_at"], name="event_fired_at"),
        ]

    def __str__(self) -> str:
        return f"{self.problem_id} {self.kind} L{self.level}"


class Notification(models.Model):
    class Status(models.TextChoices):
        """pending → sent; pending → (transient failure, retried) → sent | failed;
        failed → a fallback notification on the next channel for the same person."""

        PENDING = "pending", _("Pending")
        SENT = "sent", _("Delivered")
        FAILED = "failed", _("Failed")

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.ForeignKey(EscalationEvent, on_delete=models.CASCADE, related_name="notifications")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    fallback_from = models.CharField(_("fallback from"), max_length=10, choices=Channel.choices, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    repeat_at = models.DateTimeField(null=True, blank=True)
    repeats_done = models.PositiveSmallIntegerField(default=0)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    place_path = PlacePath(
        plant="event__problem__plant", workshop="event__problem__line__workshop", line="event__problem__line"
    )

    # Set by escalation.timeline on the notifications its page lists; not a column.
    last_attempt: DeliveryAttempt | None

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(
                fields=["event", "recipient", "channel"],
                condition=Q(recipient__isnull=False),
                name="notification_once_per_person_channel",
            ),
            models.UniqueConstraint(
                fields=["event", "endpoint"], condition=Q(endpoint__isnull=False), name="notification_once_per_webhook"
            ),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="notification_due", condition=Q(status="pending")),
            models.Index(fields=["repeat_at"], name="notification_repeat_due", condition=Q(repeat_at__isnull=False)),
            models.Index(fields=["recipient", "read_at"], name="notification_inbox", condition=Q(channel="inapp")),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.recipient or self.endpoint} by {self.channel}"


class DeliveryAttempt(models.Model):
    class Outcome(models.TextChoices):
        DELIVERED = "delivered", _("Delivered")
        TRANSIENT = "transient", _("Failed, will retry")
        PERMANENT = "permanent", _("Failed for good")
        STARTED = "started", _("No answer recorded")

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="delivery_attempts")
    at = models.DateTimeField(_("at"))
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    destination = models.CharField(_("to"), max_length=300, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.STARTED)
    response = models.TextField(_("provider response"), blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    place_path = PlacePath(
        plant="notification__event__problem__plant",
        workshop="notification__event__problem__line__workshop",
        line="notification__event__problem__line",
    )

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")

    def __str__(self) -> str:
        return f"{self.notification_id} {self.outcome} at {self.at:%H:%M:%S}"


class SweepRun(models.Model):
    """The sweep's last run, for /healthz and the stalled-escalation banner."""

    name = models.CharField(max_length=20, primary_key=True)
    last_run_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    fired = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} {self.last_run_at:%H:%M:%S}"
